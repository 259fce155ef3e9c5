import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSiteId, movableClock, queryData, registerSite, sendCommand, startTestServer, waitForStream, type TestServer, type TestServerOptions } from './harness.ts';

/**
 * Billing through GraphQL, end to end: a tariff, its assignment, prices and their revision, a
 * session's readings, then the session's cost and the month's invoice from the billing read model.
 */
export function describeBillingApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`billing through GraphQL over ${label}`, () => {
    let server: TestServer;
    // The ledger lives the evening of 2 November: the charger reports the plug-in an hour late, the readings and the unplug.
    const clock = movableClock('2026-11-02T17:31:00Z');
    beforeAll(async () => {
      server = await startTestServer({ ...options!, clock: clock.now });
    });
    afterAll(async () => {
      await server?.close();
    });

    const run = (query: string, variables: Record<string, unknown>) => queryData(server, query, variables);
    const command = (name: string, inputType: string, input: Record<string, unknown>, fields = '') => sendCommand(server, name, inputType, input, fields);

    /** A site with one 22 kW charger; a customer on a time-of-use tariff (off-peak 20, peak 17:00–21:00 at 40 c/kWh, 50 c per session). */
    async function setUp() {
      const siteId = freshSiteId();
      const accountId = `cust-${randomUUID().slice(0, 8)}`;
      const tariffId = `tou-${randomUUID().slice(0, 8)}`;
      await registerSite(server, { siteId, importLimitW: '100000' });
      await command('addNode', 'AddNodeInput', {
        siteId,
        nodeId: 'cp1',
        parentId: siteId,
        kind: 'CHARGER',
        name: 'cp1',
        importLimitW: '22000',
        exportLimitW: '11000',
        charger: { minPowerW: '1400', maxPowerW: '22000', bidirectional: true, minDischargePowerW: '1400', maxDischargePowerW: '11000' },
      });
      await command('addNode', 'AddNodeInput', { siteId, nodeId: 'cp1-1', parentId: 'cp1', kind: 'CONNECTOR', name: 'cp1-1', importLimitW: '22000', exportLimitW: '11000' });
      const defined = await command(
        'defineTariff',
        'DefineTariffInput',
        {
          tariff: {
            tariffId,
            name: 'Evening peak',
            currency: 'EUR',
            energy: {
              timeOfUse: {
                timeZone: 'UTC',
                defaultName: 'off-peak',
                defaultMinorPerKWh: '20',
                windows: [{ name: 'peak', daysOfWeek: null, from: '17:00', to: '21:00', priceMinorPerKWh: '40' }],
              },
            },
            speedBands: [],
            sessionFeeMinor: '50',
            exportCredit: { fixed: { creditMinorPerKWh: '10' } },
          },
        },
        '... on CommandRecorded { events }',
      );
      expect(defined).toMatchObject({ __typename: 'CommandRecorded', events: 1 });
      const assigned = await command('assignTariff', 'AssignTariffInput', { accountId, tariffId, validFrom: '2026-11-01T00:00:00Z' });
      expect(assigned.__typename).toBe('CommandRecorded');
      return { siteId, accountId, tariffId };
    }

    it('bills a session across the peak boundary to the cent, and says which events justify each line', async () => {
      const { siteId, accountId, tariffId } = await setUp();
      const sessionId = `${siteId}-s1`;
      const plugged = await command('plugIn', 'PlugInInput', {
        sessionId,
        siteId,
        connectorId: 'cp1-1',
        at: '2026-11-02T16:30:00Z',
        vehicleId: 'ev',
        customerId: accountId,
        tier: 'NORMAL',
        departureAt: '2026-11-02T20:00:00Z',
        energyNeededWh: '20000',
        minPowerW: '1400',
        maxPowerW: '22000',
      });
      expect(plugged.__typename).toBe('SessionCommandPayload');
      // Sent out of order and once twice: the bill must not care.
      for (const [occurredAt, energyImportWh] of [
        ['2026-11-02T17:30:00Z', '10000'],
        ['2026-11-02T17:00:00Z', '5000'],
        ['2026-11-02T17:30:00Z', '10000'],
      ] as const) {
        const recorded = await command('recordSessionMeterReading', 'RecordSessionMeterReadingInput', { sessionId, occurredAt, energyImportWh, energyExportWh: '0' });
        expect(recorded.__typename).toBe('SessionCommandPayload');
      }
      await command('stopSession', 'StopSessionInput', { sessionId, at: '2026-11-02T17:30:00Z', reason: 'unplugged' });
      await waitForStream(server, `session-${sessionId}`);
      await waitForStream(server, `account-${accountId}`);
      await waitForStream(server, `tariff-${tariffId}`);

      const { invoice } = await run(
        `query($accountId: ID!) { invoice(accountId: $accountId, month: "2026-11") { __typename ... on Invoice {
            currency total { amountMinor amount currency } v2gCredits { amountMinor }
            lines { sessionId component tariffId priceLabel energyWh exactAmount { amountMinor } amount { amountMinor amount } justifiedBy }
            unbilled { why } } } }`,
        { accountId },
      );
      // 16:30–17:00 off-peak: 5 kWh × 20 = 100; 17:00–17:30 peak: 5 kWh × 40 = 200; fee 50.
      expect(invoice).toMatchObject({
        __typename: 'Invoice',
        currency: 'EUR',
        total: { amountMinor: '350', amount: '3.5', currency: 'EUR' },
        v2gCredits: { amountMinor: '0' },
        unbilled: [],
      });
      const byLabel = Object.fromEntries(invoice.lines.map((l: any) => [l.priceLabel, l]));
      expect(byLabel['off-peak']).toMatchObject({ sessionId, component: 'ENERGY', tariffId, energyWh: '5000', amount: { amountMinor: '100' } });
      expect(byLabel['peak']).toMatchObject({ component: 'ENERGY', energyWh: '5000', amount: { amountMinor: '200' } });
      expect(byLabel['session fee']).toMatchObject({ component: 'SESSION_FEE', amount: { amountMinor: '50' } });
      const sum = invoice.lines.reduce((total: bigint, l: any) => total + BigInt(l.amount.amountMinor), 0n);
      expect(String(sum)).toBe(invoice.total.amountMinor);
      // The peak line rests on the two readings that bound it, the tariff and the assignment.
      expect(byLabel['peak'].justifiedBy.length).toBeGreaterThanOrEqual(3);

      const { invoices } = await run(`query($accountId: ID!) { invoices(accountId: $accountId, fromMonth: "2026-10", toMonth: "2026-11") { month total { amountMinor } } }`, {
        accountId,
      });
      expect(invoices).toEqual([
        { month: '2026-10', total: { amountMinor: '0' } },
        { month: '2026-11', total: { amountMinor: '350' } },
      ]);

      const { sessionCost } = await run(
        `query($sessionId: ID!) { sessionCost(sessionId: $sessionId) { __typename ... on SessionCost { total { amountMinor } charges { component intervalStart priceLabel energyWh amount { amountMinor } } } } }`,
        { sessionId },
      );
      expect(sessionCost.total.amountMinor).toBe('350');
      expect(sessionCost.charges.filter((c: any) => c.component === 'ENERGY').map((c: any) => [c.intervalStart, c.energyWh, c.amount.amountMinor])).toEqual([
        ['2026-11-02T16:30:00.000Z', '2500', '50'],
        ['2026-11-02T16:45:00.000Z', '2500', '50'],
        ['2026-11-02T17:00:00.000Z', '2500', '100'],
        ['2026-11-02T17:15:00.000Z', '2500', '100'],
      ]);
    });

    it('shows a price curve as known now and as known before its revision', async () => {
      const zone = `Z${randomUUID().slice(0, 6)}`;
      const publish = (price: string) =>
        command(
          'publishPrices',
          'PublishPricesInput',
          {
            zone,
            currency: 'EUR',
            source: 'day-ahead',
            points: [{ start: '2026-11-03T10:00:00Z', end: '2026-11-03T11:00:00Z', priceMinorPerKWh: price, carbonGPerKWh: '310' }],
          },
          '... on CommandRecorded { events }',
        );
      expect(await publish('8.21')).toMatchObject({ __typename: 'CommandRecorded', events: 1 });
      await waitForStream(server, `prices-${zone}`);
      const before = new Date(clock.now()).toISOString();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await publish('9.5')).toMatchObject({ events: 1 });
      expect(await publish('9.5')).toMatchObject({ events: 0 });
      await waitForStream(server, `prices-${zone}`);
      const curve = `query($zone: ID!, $knownAt: DateTime) { priceCurve(zone: $zone, from: "2026-11-03T10:00:00Z", to: "2026-11-03T11:00:00Z", knownAt: $knownAt) { start end priceMinorPerKWh carbonGPerKWh versions } }`;
      const now = (await run(curve, { zone })).priceCurve;
      expect(now).toHaveLength(4);
      expect(now[0]).toEqual({ start: '2026-11-03T10:00:00.000Z', end: '2026-11-03T10:15:00.000Z', priceMinorPerKWh: '9.5', carbonGPerKWh: '310', versions: 2 });
      const then = (await run(curve, { zone, knownAt: before })).priceCurve;
      expect(then.map((p: any) => [p.priceMinorPerKWh, p.versions])).toEqual([
        ['8.21', 1],
        ['8.21', 1],
        ['8.21', 1],
        ['8.21', 1],
      ]);
    });

    it('refuses a second definition of a tariff and an overlapping assignment, with typed errors', async () => {
      const { accountId, tariffId } = await setUp();
      const again = await command('defineTariff', 'DefineTariffInput', {
        tariff: { tariffId, name: 'x', currency: 'EUR', energy: { fixed: { priceMinorPerKWh: '30' } }, speedBands: [], sessionFeeMinor: null, exportCredit: null },
      });
      expect(again).toMatchObject({ __typename: 'TariffAlreadyDefinedError', code: 'TARIFF_ALREADY_DEFINED' });
      const bad = await command(
        'defineTariff',
        'DefineTariffInput',
        {
          tariff: {
            tariffId: `${tariffId}-2`,
            name: 'x',
            currency: 'EUR',
            energy: { timeOfUse: { timeZone: 'Mars/Olympus', defaultName: 'd', defaultMinorPerKWh: '1', windows: [] } },
            speedBands: [],
            sessionFeeMinor: null,
            exportCredit: null,
          },
        },
        '... on InvalidCommandError { field }',
      );
      // Named as the client sent it: the variant's field, not the domain's tagged union.
      expect(bad).toMatchObject({ __typename: 'InvalidCommandError', field: 'tariff.energy.timeOfUse.timeZone' });
      const overlap = await command('assignTariff', 'AssignTariffInput', { accountId, tariffId, validFrom: '2026-10-01T00:00:00Z', validTo: '2026-11-15T00:00:00Z' });
      expect(overlap).toMatchObject({ __typename: 'TariffAssignmentConflictError', code: 'TARIFF_ASSIGNMENT_CONFLICT' });
      expect(await server.ledger.store.streamVersion(`tariff-${tariffId}-2`)).toBe(0);
      expect(await server.ledger.store.streamVersion(`account-${accountId}`)).toBe(1);
    });

    it('answers an invoice of an account nobody knows with ACCOUNT_NOT_FOUND, not a zero invoice; a known account without sessions gets its zero invoice', async () => {
      const unknown = `nobody-${randomUUID().slice(0, 8)}`;
      const invoice = `query($accountId: ID!) { invoice(accountId: $accountId, month: "2026-11") { __typename
        ... on Error { code message } ... on AccountNotFoundError { field accountId } ... on Invoice { total { amountMinor } } } }`;
      expect((await run(invoice, { accountId: unknown })).invoice).toMatchObject({
        __typename: 'AccountNotFoundError',
        code: 'ACCOUNT_NOT_FOUND',
        field: 'accountId',
        accountId: unknown,
      });
      const { body } = await server.gql<any>(`query($accountId: ID!) { invoices(accountId: $accountId, fromMonth: "2026-10", toMonth: "2026-11") { month } }`, {
        accountId: unknown,
      });
      expect(body.errors?.map((e: any) => e.extensions?.code)).toEqual(['ACCOUNT_NOT_FOUND']);

      const { accountId, tariffId } = await setUp();
      await waitForStream(server, `account-${accountId}`);
      expect((await run(invoice, { accountId })).invoice).toEqual({ __typename: 'Invoice', total: { amountMinor: '0' } });
      // The lists know it too: the account by its tariff, the tariff by its currency.
      const { accounts, tariffs } = await run(
        `query($tariffId: ID!) { accounts(tariffId: $tariffId) { totalCount edges { node { accountId tariffIds sessionCount } } }
           tariffs(currency: "EUR", first: 100) { edges { node { tariffId currency } } } }`,
        { tariffId },
      );
      expect(accounts).toEqual({ totalCount: '1', edges: [{ node: { accountId, tariffIds: [tariffId], sessionCount: '0' } }] });
      expect(tariffs.edges.map((e: any) => e.node)).toContainEqual({ tariffId, currency: 'EUR' });
    });

    it('takes a tariff as a typed input: exactly one variant of energy price and export credit, refusals naming the field as sent, nothing written', async () => {
      const tariffId = `typed-${randomUUID().slice(0, 8)}`;
      const define = (tariff: Record<string, unknown>) =>
        command(
          'defineTariff',
          'DefineTariffInput',
          { tariff: { tariffId, name: 'Typed', currency: 'EUR', speedBands: [], sessionFeeMinor: null, exportCredit: null, ...tariff } },
          '... on InvalidCommandError { field reason }',
        );
      expect(await define({ energy: {} })).toMatchObject({ __typename: 'InvalidCommandError', field: 'tariff.energy', reason: expect.stringContaining('exactly one') });
      expect(await define({ energy: { fixed: { priceMinorPerKWh: '30' }, dynamic: { zone: 'NL', marginMinorPerKWh: '1' } } })).toMatchObject({
        __typename: 'InvalidCommandError',
        field: 'tariff.energy',
        reason: expect.stringContaining('fixed and dynamic'),
      });
      expect(await define({ energy: { dynamic: { zone: 'NL', marginMinorPerKWh: '1', floorMinorPerKWh: '9', capMinorPerKWh: '3' } } })).toMatchObject({
        __typename: 'InvalidCommandError',
        field: expect.stringMatching(/^tariff\.energy\.dynamic\.(floor|cap)MinorPerKWh$/),
      });
      // A malformed id is refused before anything runs (the request's error, not a union member), naming the field as sent.
      const badZone = await server.gql(`mutation($input: DefineTariffInput!) { defineTariff(input: $input) { __typename } }`, {
        input: {
          commandId: randomUUID(),
          tariff: {
            tariffId,
            name: 'Typed',
            currency: 'EUR',
            speedBands: [],
            energy: { fixed: { priceMinorPerKWh: '30' } },
            exportCredit: { spot: { zone: 'not a zone!', marginMinorPerKWh: '0' } },
          },
        },
      });
      expect(badZone.body.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'tariff.exportCredit.spot.zone' } });
      expect(await define({ energy: { fixed: { priceMinorPerKWh: '30' } }, speedBands: [{ name: 'FAST', fromPowerW: '11000', surchargeMinorPerKWh: '5' }] })).toMatchObject({
        __typename: 'InvalidCommandError',
        field: 'tariff.speedBands[0].fromPowerW',
      });
      expect(await server.ledger.store.streamVersion(`tariff-${tariffId}`)).toBe(0);
      expect(
        await define({
          energy: { dynamic: { zone: 'NL', marginMinorPerKWh: '2.5', capMinorPerKWh: '60' } },
          speedBands: [
            { name: 'SLOW', fromPowerW: '0', surchargeMinorPerKWh: '0' },
            { name: 'FAST', fromPowerW: '11000', surchargeMinorPerKWh: '5' },
          ],
          exportCredit: { fixed: { creditMinorPerKWh: '10' } },
        }),
      ).toMatchObject({ __typename: 'CommandRecorded' });
      const { tariff } = await run(`query($tariffId: ID!) { tariff(tariffId: $tariffId) { definition } }`, { tariffId });
      expect(tariff.definition).toEqual({
        tariffId,
        name: 'Typed',
        currency: 'EUR',
        energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '2.5', floorMinorPerKWh: null, capMinorPerKWh: '60' },
        speedBands: [
          { name: 'slow', fromPowerW: '0', surchargeMinorPerKWh: '0' },
          { name: 'fast', fromPowerW: '11000', surchargeMinorPerKWh: '5' },
        ],
        sessionFeeMinor: null,
        exportCredit: { kind: 'fixed', creditMinorPerKWh: '10' },
      });
    });
  });
}
