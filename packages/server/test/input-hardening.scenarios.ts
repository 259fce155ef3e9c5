import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestServerOptions } from './harness.ts';

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
          commandId: randomUUID(), sessionId: 'x', siteId: 'depot-1', connectorId: 'c1', vehicleId: 'ev-1', customerId: 'driver-1',
          tier: 'NORMAL', departureAt: inAnHour(), energyNeededWh: '1000', minPowerW: '1400', maxPowerW: '11000',
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
          commandId: randomUUID(), zone: 'x', clientOrderId: 'o1', traderId: 't1', side: 'BUY', orderType: 'LIMIT',
          quantityKWh: '1', limitPriceMinorPerMWh: '5000', deliveryStart: quarter(86_400_000), lengthMinutes: 15,
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
      const { body } = await server.gql(
        `mutation { publishPrices(input: { commandId: "c\\u0000", zone: "NL", currency: "EUR", source: "s", points: [] }) { __typename } }`,
      );
      expect(body.errors![0]).toMatchObject({ extensions: { code: 'INVALID_COMMAND', details: { field: 'commandId' } } });
      const orders = await server.gql(
        `mutation($input: SubmitOrdersInput!) { submitOrders(input: $input) { __typename } }`,
        {
          input: {
            commandId: randomUUID(), zone: 'NL', deliveryStart: quarter(86_400_000), lengthMinutes: 15,
            orders: [
              { clientOrderId: 'a', traderId: 't1', side: 'BUY', orderType: 'LIMIT', quantityKWh: '1', limitPriceMinorPerMWh: '1' },
              { clientOrderId: 'b', traderId: 't\u0000', side: 'BUY', orderType: 'LIMIT', quantityKWh: '1', limitPriceMinorPerMWh: '1' },
            ],
          },
        },
      );
      expect(orders.body.errors![0]).toMatchObject({ extensions: { code: 'INVALID_COMMAND', details: { field: 'orders[1].traderId' } } });
      expect(await server.settledHead()).toBe(before);
    });

    it('refuses a NUL in a String and in a query\'s id argument, never reaching SQL', async () => {
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
        expect(body.errors?.[0]?.extensions, query).toMatchObject({ code: 'INVALID_COMMAND' });
        expect(JSON.stringify(body), query).not.toContain('INTERNAL_SERVER_ERROR');
      }
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

      it('tells another principal\'s command under a used commandId apart from a retry', async () => {
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
  });
}
