import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestServer, TEST_OPERATOR_KEY, type TestServer, type TestServerOptions } from './harness.ts';

/**
 * Bad input is refused at the edge with a typed error, before any I/O, and changes nothing: ids
 * with a NUL (which PostgreSQL's text cannot hold), too long or with other characters. Run once
 * per database by the input-hardening-*.e2e.spec.ts files.
 */
export function describeInputHardening(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`input hardening over ${label}`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer(options!);
    });
    afterAll(async () => {
      await server?.close();
    });

    const at = () => new Date(Date.now() - 60_000).toISOString();
    const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
    const quarter = (offsetMs: number) => new Date(Math.floor((Date.now() + offsetMs) / 900_000) * 900_000).toISOString();

    /** Each mutation with a valid input, and the id field under test (a path inside `input`). */
    const mutations: { name: string; inputType: string; field: string; input: () => Record<string, unknown> }[] = [
      {
        name: 'registerSite',
        inputType: 'RegisterSiteInput',
        field: 'commandId',
        input: () => ({ commandId: randomUUID(), siteId: `s${randomUUID().slice(0, 8)}`, name: 'Depot', importLimitW: '11000', exportLimitW: '0' }),
      },
      {
        name: 'registerSite',
        inputType: 'RegisterSiteInput',
        field: 'siteId',
        input: () => ({ commandId: randomUUID(), siteId: 'x', name: 'Depot', importLimitW: '11000', exportLimitW: '0' }),
      },
      {
        name: 'plugIn',
        inputType: 'PlugInInput',
        field: 'sessionId',
        input: () => ({
          commandId: randomUUID(),
          sessionId: 'x',
          siteId: 'depot-1',
          connectorId: 'c1',
          vehicleId: 'ev-1',
          customerId: 'driver-1',
          tier: 'NORMAL',
          departureAt: inAnHour(),
          energyNeededWh: '1000',
          minPowerW: '1400',
          maxPowerW: '11000',
        }),
      },
      {
        name: 'recordSessionMeterReading',
        inputType: 'RecordSessionMeterReadingInput',
        field: 'sessionId',
        input: () => ({ commandId: randomUUID(), sessionId: 'x', occurredAt: at(), energyImportWh: '10', energyExportWh: '0' }),
      },
      {
        name: 'publishPrices',
        inputType: 'PublishPricesInput',
        field: 'zone',
        input: () => ({ commandId: randomUUID(), zone: 'x', currency: 'EUR', source: 'test', points: [{ start: quarter(0), end: quarter(900_000), priceMinorPerKWh: '25' }] }),
      },
      {
        name: 'submitOrder',
        inputType: 'SubmitOrderInput',
        field: 'zone',
        input: () => ({
          commandId: randomUUID(),
          zone: 'x',
          clientOrderId: 'o1',
          traderId: 't1',
          side: 'BUY',
          orderType: 'LIMIT',
          quantityKWh: '1',
          limitPriceMinorPerMWh: '5000',
          deliveryStart: quarter(86_400_000),
          lengthMinutes: 15,
        }),
      },
    ];

    const BAD_IDS: { what: string; value: string }[] = [
      { what: 'a NUL character', value: 'c\u0000' },
      { what: 'a NUL alone', value: '\u0000' },
      { what: 'a lone surrogate', value: 'c\uD800' },
      { what: 'a space', value: 'has space' },
      { what: 'a newline', value: 'line\nbreak' },
      { what: 'nothing', value: '' },
      { what: 'too many characters', value: 'a'.repeat(300) },
    ];

    const setAt = (input: Record<string, unknown>, path: string, value: unknown) => ({ ...input, [path]: value });

    for (const mutation of mutations) {
      it(`refuses a bad ${mutation.name}.${mutation.field} with INVALID_COMMAND naming it, and writes nothing`, async () => {
        for (const bad of BAD_IDS) {
          const before = await server.settledHead();
          const query = `mutation($input: ${mutation.inputType}!) { ${mutation.name}(input: $input) { __typename ... on Error { code message } } }`;
          const { status, body } = await server.gql(query, { input: setAt(mutation.input(), mutation.field, bad.value) });
          expect(status, `${bad.what}: ${JSON.stringify(body)}`).toBe(200);
          expect(body.data, bad.what).toBeNull();
          expect(body.errors, bad.what).toHaveLength(1);
          expect(body.errors![0], bad.what).toMatchObject({
            path: [mutation.name],
            extensions: { code: 'INVALID_COMMAND', details: { field: mutation.field, coordinate: `Mutation.${mutation.name}` } },
          });
          expect(body.errors![0]!.message).toContain(`invalid ${mutation.field}:`);
          expect(await server.settledHead(), bad.what).toBe(before);
        }
      });
    }

    it('names an id inside a list as the client wrote it, and a NUL inline as well as in a variable', async () => {
      const before = await server.settledHead();
      const { body } = await server.gql(`mutation { publishPrices(input: { commandId: "c\\u0000", zone: "NL", currency: "EUR", source: "s", points: [] }) { __typename } }`);
      expect(body.errors![0]).toMatchObject({ extensions: { code: 'INVALID_COMMAND', details: { field: 'commandId' } } });
      const orders = await server.gql(`mutation($input: SubmitOrdersInput!) { submitOrders(input: $input) { __typename } }`, {
        input: {
          commandId: randomUUID(),
          zone: 'NL',
          deliveryStart: quarter(86_400_000),
          lengthMinutes: 15,
          orders: [
            { clientOrderId: 'a', traderId: 't1', side: 'BUY', orderType: 'LIMIT', quantityKWh: '1', limitPriceMinorPerMWh: '1' },
            { clientOrderId: 'b', traderId: 't\u0000', side: 'BUY', orderType: 'LIMIT', quantityKWh: '1', limitPriceMinorPerMWh: '1' },
          ],
        },
      });
      expect(orders.body.errors![0]).toMatchObject({ extensions: { code: 'INVALID_COMMAND', details: { field: 'orders[1].traderId' } } });
      expect(await server.settledHead()).toBe(before);
    });

    it("refuses a NUL in a String and in a query's id argument, never reaching SQL", async () => {
      const before = await server.settledHead();
      const rename = await server.gql(`mutation($input: RenameSiteInput!) { renameSite(input: $input) { __typename } }`, {
        input: { commandId: randomUUID(), siteId: 'depot-1', name: 'De\u0000pot' },
      });
      expect(rename.body.errors![0]).toMatchObject({ extensions: { code: 'INVALID_COMMAND', details: { field: 'name' } } });
      for (const query of [
        `query($id: ID!) { session(sessionId: $id) { sessionId } }`,
        `query($id: ID!) { gridSession(sessionId: $id) { sessionId } }`,
        `query($id: ID!) { meter(meterId: $id) { meterId } }`,
        `query($id: ID!) { stream(id: $id) { streamId } }`,
        `query($id: ID!) { marketZone(zone: $id) { zone } }`,
      ]) {
        const { body } = await server.gql(query, { id: 'x\u0000' });
        // A query's argument: INVALID_ARGUMENT (a mutation's input would be INVALID_COMMAND).
        expect(body.errors?.[0]?.extensions, query).toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect(JSON.stringify(body), query).not.toContain('INTERNAL_SERVER_ERROR');
      }
      // A subscription is checked before it starts, too.
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(TEST_OPERATOR_KEY) },
        body: JSON.stringify({ query: 'subscription($id: ID!) { setpointsChanged(siteId: $id) { at } }', variables: { id: 'x\u0000' } }),
      });
      const text = await response.text();
      expect(text).toContain('INVALID_ARGUMENT');
      expect(text).toContain('siteId');
      expect(text).not.toContain('INTERNAL_SERVER_ERROR');
      expect(await server.settledHead()).toBe(before);
    });

    describe('a commandId names one command', () => {
      const RENAME = `mutation($input: RenameSiteInput!) {
        renameSite(input: $input) {
          __typename
          ... on RenameSitePayload { commandId duplicate streamVersion position site { name } }
          ... on CommandIdReusedError { code message commandId firstStreamId streamId }
        }
      }`;
      const REGISTER = `mutation($input: RegisterSiteInput!) {
        registerSite(input: $input) {
          __typename
          ... on RegisterSitePayload { duplicate streamVersion site { name importLimitW } }
          ... on CommandIdReusedError { code message commandId firstStreamId streamId }
        }
      }`;

      it('answers a resend of the same input with the first result, and another input under the same id with COMMAND_ID_REUSED, writing nothing', async () => {
        const siteId = `s${randomUUID().slice(0, 8)}`;
        const register = { commandId: randomUUID(), siteId, name: 'Depot', importLimitW: '11000', exportLimitW: '0' };
        const registered = await server.gql(REGISTER, { input: register });
        expect(registered.body.data!.registerSite).toMatchObject({ __typename: 'RegisterSitePayload', duplicate: false });
        const commandId = randomUUID();
        const first = await server.gql(RENAME, { input: { commandId, siteId, name: 'Depot West' } });
        expect(first.body.data!.renameSite).toMatchObject({ __typename: 'RenameSitePayload', duplicate: false, streamVersion: 2 });
        const before = await server.settledHead();

        const resent = await server.gql(RENAME, { input: { siteId, name: 'Depot West', commandId } });
        expect(resent.body.data!.renameSite).toMatchObject({ __typename: 'RenameSitePayload', duplicate: true, streamVersion: 2, position: first.body.data!.renameSite.position });

        const other = await server.gql(RENAME, { input: { commandId, siteId, name: 'Depot East' } });
        expect(other.body.data!.renameSite).toMatchObject({
          __typename: 'CommandIdReusedError',
          code: 'COMMAND_ID_REUSED',
          commandId,
          firstStreamId: `site-${siteId}`,
          streamId: `site-${siteId}`,
        });
        expect(other.body.data!.renameSite.message).toContain(commandId);
        expect(other.body.data!.renameSite.message).toContain('payload');

        const registerAgain = await server.gql(REGISTER, { input: { ...register, importLimitW: '22000' } });
        expect(registerAgain.body.data!.registerSite).toMatchObject({ __typename: 'CommandIdReusedError', commandId: register.commandId });
        const registerResent = await server.gql(REGISTER, { input: register });
        expect(registerResent.body.data!.registerSite).toMatchObject({ __typename: 'RegisterSitePayload', duplicate: true });

        expect(await server.settledHead()).toBe(before);
        const { body } = await server.gql(`query($id: ID!) { site(siteId: $id) { name importLimitW version } }`, { id: siteId });
        expect(body.data!.site).toEqual({ name: 'Depot West', importLimitW: '11000', version: 2 });
      });

      it("tells another principal's command under a used commandId apart from a retry", async () => {
        const siteId = `s${randomUUID().slice(0, 8)}`;
        const register = { commandId: randomUUID(), siteId, name: 'Depot', importLimitW: '11000', exportLimitW: '0' };
        await server.gql(REGISTER, { input: register });
        const otherOperator = await server.as('operator', null, 'another operator');
        const before = await server.settledHead();
        const theirs = await server.gql(REGISTER, { input: register }, otherOperator.headers);
        expect(theirs.body.data!.registerSite).toMatchObject({ __typename: 'CommandIdReusedError', code: 'COMMAND_ID_REUSED', commandId: register.commandId });
        expect(await server.settledHead()).toBe(before);
      });
    });

    describe('quantities and times no field can mean', () => {
      const DEFAULT_LIMITS = { maxDecimals: 3, maxAbs: 10n ** 12n };
      /** Malformed decimals for a quantity: too long, too many decimals, too many digits, beyond the bound. */
      const badDecimal = (bound: { maxDecimals: number; maxAbs: bigint } = DEFAULT_LIMITS, negative = true) =>
        fc.oneof(
          fc.integer({ min: 41, max: 10_000 }).map((n) => '9'.repeat(n)),
          fc.integer({ min: bound.maxDecimals + 1, max: 50 }).map((n) => `7.${'5'.repeat(n)}`),
          fc.integer({ min: 21, max: 39 }).map((n) => `1${'0'.repeat(n)}`),
          fc.bigInt({ min: bound.maxAbs + 1n, max: 10n ** 19n }).map((n) => String(n)),
          ...(negative ? [fc.bigInt({ min: bound.maxAbs + 1n, max: 10n ** 19n }).map((n) => `-${n}`)] : []),
        );
      const badTime = fc.oneof(fc.integer({ min: 0, max: 1999 }), fc.integer({ min: 2100, max: 9999 })).map((year) => `${String(year).padStart(4, '0')}-06-15T12:00:00Z`);
      const W = { maxDecimals: 3, maxAbs: 10n ** 9n };
      const WH = { maxDecimals: 3, maxAbs: 10n ** 12n };
      const PER_KWH = { maxDecimals: 6, maxAbs: 10n ** 12n };

      it('refuses every malformed quantity or time through GraphQL with INVALID_COMMAND naming the field and its bound, and writes nothing (property)', async () => {
        const siteId = `s${randomUUID().slice(0, 8)}`;
        const meterId = `m${randomUUID().slice(0, 8)}`;
        const site = await server.gql(`mutation($input: RegisterSiteInput!) { registerSite(input: $input) { __typename } }`, {
          input: { commandId: randomUUID(), siteId, name: 'Depot', importLimitW: '11000', exportLimitW: '0' },
        });
        expect(site.body.data!.registerSite.__typename).toBe('RegisterSitePayload');
        const meter = await server.gql(`mutation($input: RegisterMeterInput!) { registerMeter(input: $input) { __typename ... on Error { code message } } }`, {
          input: { commandId: randomUUID(), meterId, siteId, nodeId: siteId, measures: 'GENERATION' },
        });
        expect(meter.body.data!.registerMeter.__typename).toBe('MeterCommandPayload');
        const now = () => new Date(Date.now() - 60_000).toISOString();
        const quarter = Math.floor(Date.now() / 900_000) * 900_000;
        const point = { start: new Date(quarter).toISOString(), end: new Date(quarter + 900_000).toISOString(), priceMinorPerKWh: '25' };

        type Case = { mutation: string; inputType: string; field: string; input: Record<string, unknown> };
        const cases = fc.oneof(
          fc.tuple(fc.constantFrom('importLimitW', 'exportLimitW'), badDecimal(W, false)).map(([field, value]): Case => ({
            mutation: 'registerSite',
            inputType: 'RegisterSiteInput',
            field,
            input: { siteId: `s${randomUUID().slice(0, 8)}`, name: 'Depot', importLimitW: '11000', exportLimitW: '0', [field]: value },
          })),
          fc.tuple(fc.constantFrom('energyImportWh', 'energyExportWh'), badDecimal(WH, false)).map(([field, value]): Case => ({
            mutation: 'recordMeterReading',
            inputType: 'RecordMeterReadingInput',
            field,
            input: { meterId, occurredAt: now(), energyImportWh: '1000', energyExportWh: '0', [field]: value },
          })),
          badDecimal(W).map((value): Case => ({
            mutation: 'recordMeterReading',
            inputType: 'RecordMeterReadingInput',
            field: 'powerW',
            input: { meterId, occurredAt: now(), energyImportWh: '1000', energyExportWh: '0', powerW: value },
          })),
          badTime.map((value): Case => ({
            mutation: 'recordMeterReading',
            inputType: 'RecordMeterReadingInput',
            field: 'occurredAt',
            input: { meterId, occurredAt: value, energyImportWh: '1000', energyExportWh: '0' },
          })),
          fc.tuple(fc.constantFrom('otherLoadW', 'generationW'), badDecimal(W)).map(([field, value]): Case => ({
            mutation: 'recordNodeLoad',
            inputType: 'RecordNodeLoadInput',
            field,
            input: { siteId, nodeId: siteId, occurredAt: now(), otherLoadW: '1000', generationW: '0', [field]: value },
          })),
          badDecimal(PER_KWH).map((value): Case => ({
            mutation: 'publishPrices',
            inputType: 'PublishPricesInput',
            field: 'points[0].priceMinorPerKWh',
            input: { zone: 'NL', currency: 'EUR', source: 'test', points: [{ ...point, priceMinorPerKWh: value }] },
          })),
          fc.tuple(fc.constantFrom('start', 'end'), badTime).map(([field, value]): Case => ({
            mutation: 'publishPrices',
            inputType: 'PublishPricesInput',
            field: `points[0].${field}`,
            input: { zone: 'NL', currency: 'EUR', source: 'test', points: [{ ...point, [field]: value }] },
          })),
        );

        const before = await server.settledHead();
        await fc.assert(
          fc.asyncProperty(cases, async ({ mutation, inputType, field, input }) => {
            const query = `mutation($input: ${inputType}!) { ${mutation}(input: $input) { __typename ... on InvalidCommandError { code field reason } ... on Error { code message } } }`;
            const { body } = await server.gql(query, { input: { commandId: randomUUID(), ...input } });
            expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
            const answer = body.data![mutation];
            expect(answer, `${field} = ${JSON.stringify(input).slice(0, 200)}`).toMatchObject({ __typename: 'InvalidCommandError', code: 'INVALID_COMMAND', field });
            expect(answer.reason).toMatch(/at most|beyond|outside the times the ledger records: from 2000-01-01T00:00:00.000Z to before 2100-01-01T00:00:00.000Z/);
          }),
          { numRuns: 120 },
        );
        expect(await server.settledHead()).toBe(before);
      }, 120_000);

      it("bounds the decimals of a typed tariff by their fields' units too", async () => {
        const before = await server.settledHead();
        for (const [price, reason] of [
          ['1'.repeat(10_000), /at most 40/],
          ['0.1234567', /7 decimals; at most 6/],
          ['2000000000000', /beyond 1000000000000 per kWh/],
        ] as const) {
          const { body } = await server.gql(
            `mutation($input: DefineTariffInput!) { defineTariff(input: $input) { __typename ... on InvalidCommandError { code field reason } } }`,
            {
              input: {
                commandId: randomUUID(),
                tariff: { tariffId: `t${randomUUID().slice(0, 8)}`, name: 'x', currency: 'EUR', energy: { fixed: { priceMinorPerKWh: price } }, speedBands: [] },
              },
            },
          );
          expect(body.data!.defineTariff).toMatchObject({ __typename: 'InvalidCommandError', code: 'INVALID_COMMAND', field: 'tariff.energy.fixed.priceMinorPerKWh' });
          expect(body.data!.defineTariff.reason).toMatch(reason);
        }
        expect(await server.settledHead()).toBe(before);
      });

      it("refuses a query's time no field can mean with a coded error", async () => {
        const { body } = await server.gql(`query { siteLoadHistory(siteId: "depot-1", from: "0000-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { at } }`);
        expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_ARGUMENT', details: { argument: 'from' } } });
      });
    });
  });
}
