import { randomUUID } from 'node:crypto';
import { auditSettlement, billingReadModel, listSettlementRevisions, replayProjection, type Projection, type Replay } from '@v2g/ledger';
import { BILLING_READ_MODEL_TABLES, billingProjection } from '@v2g/projection-billing';
import { catalogueProjection } from '@v2g/projection-catalogue';
import { gridProjection } from '@v2g/projection-grid';
import { marketProjection } from '@v2g/projection-market';
import { accountBalances, settlementProjection, settlementRevisions, settlementStatement } from '@v2g/projection-settlement';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asOfInvoices, invoiceByReplay } from '../src/as-of.ts';
import { runLedgerCli } from './child-server.ts';
import {
  freshSiteId,
  movableClock,
  queryData,
  registerSite,
  sendCommand,
  settlementParties,
  startTestServer,
  type TestServer,
  type TestServerOptions,
  waitForProjections,
  waitForStream,
} from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * As-of replay and audit, end to end. A market zone whose imbalances are priced by price zone P;
 * a seller holding a fleet; a trade of 2 kWh for 10:00–10:15; the fleet's V2G session exporting
 * 3 kWh from 10:00 to 10:30, billed to the fleet on a tariff whose export credit is P's spot price;
 * the period closed (revision 1). Then, after the moment T1, a late meter reading (the watcher
 * settles again: revision 2) and, after T2, a revision of P's 10:15 price. Replays as of T1 and T2
 * give what was known then (hand-computed below), which the live read models no longer say; the
 * audit re-derives both revisions identical, then finds the line an attacker edited in the log.
 */
export function describeAsOfReplay(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`as-of replay and settlement audit over ${label}`, () => {
    let server: TestServer;
    // The ledger lives the morning of the period (orders before its gate, the plug-in, readings, the close after it).
    const clock = movableClock('2026-11-05T09:00:00Z');
    const ledgerNow = () => new Date(clock.now()).toISOString();
    beforeAll(async () => {
      server = await startTestServer({ ...options!, clock: clock.now });
    });
    afterAll(async () => {
      await server?.close();
    });

    const run = (query: string, variables: Record<string, unknown>) => queryData(server, query, variables);
    const command = async (name: string, inputType: string, input: Record<string, unknown>) => {
      const payload = await sendCommand(server, name, inputType, input);
      expect(payload.__typename, JSON.stringify(payload)).not.toMatch(/Error$/);
      return payload;
    };

    const tag = randomUUID().slice(0, 6);
    const { zone, priceZone, seller, buyer, fleet } = settlementParties(tag);
    const tariffId = `spot-credit-${tag}`;
    const sessionId = `sess-${tag}`;
    const period = '2026-11-05T10:00:00.000Z';
    const settlementStream = `settlement-${zone}-20261105T1000Z`;
    const bookStream = `market-${zone}-20261105T1000Z-15m`;
    const streams = [`marketzone-${zone}`, `prices-${priceZone}`, bookStream, `session-${sessionId}`, `tariff-${tariffId}`, `account-${fleet}`, settlementStream];
    let beforeClose: string;
    let t1: string;
    let t2: string;

    const waitFor = async (what: string, ok: () => Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(25);
      }
    };
    const waitForOurStreams = async () => {
      for (const streamId of streams) await waitForStream(server, streamId);
    };
    /** The live schema (DB_SCHEMA of the test server), from a live table's qualified name. */
    const liveSchema = () => /^"([^"]+)"\./.exec(server.ledger.projections.tables(settlementProjection)('statements'))![1]!;

    const STATEMENT = `query($zone: ID!, $p: DateTime!, $revision: Int, $asOf: DateTime) { settlementStatement(zone: $zone, periodStart: $p, revision: $revision, asOf: $asOf) {
      revision position inputsHash lines { participantId meteredExportWh imbalanceWh imbalanceAmount { amountMinor } tradeAmount { amountMinor } } } }`;
    const statement = async (asOf?: string, revision?: number) => (await run(STATEMENT, { zone, p: period, revision: revision ?? null, asOf: asOf ?? null })).settlementStatement;
    const figures = (s: { lines: any[] }) => s.lines.map((l) => [l.participantId, l.meteredExportWh, l.imbalanceWh, l.imbalanceAmount.amountMinor, l.tradeAmount.amountMinor]);

    const INVOICE = `query($accountId: ID!, $asOf: DateTime) { invoice(accountId: $accountId, month: "2026-11", asOf: $asOf) { __typename
      ... on Invoice { total { amountMinor } lines { component energyWh amount { amountMinor } } } ... on Error { code message } } }`;
    const invoice = async (asOf?: string) => (await run(INVOICE, { accountId: fleet, asOf: asOf ?? null })).invoice;
    const credits = (i: { lines: any[] }) =>
      i.lines
        .filter((l) => l.component === 'EXPORT_CREDIT')
        .map((l) => [l.energyWh, l.amount.amountMinor])
        .sort();

    it('records a period closed, then a late reading and a price revision after it', async () => {
      await command('configureMarketZone', 'ConfigureMarketZoneInput', {
        zone,
        currency: 'EUR',
        imbalancePriceZone: priceZone,
        products: [
          {
            lengthMinutes: 15,
            mode: 'CONTINUOUS',
            tickMinorPerMWh: '1',
            minPriceMinorPerMWh: '-50000',
            maxPriceMinorPerMWh: '400000',
            quantityStepKWh: '0.1',
            maxQuantityKWh: '1000',
            gateClosureMinutes: 5,
            openMinutes: 1440,
          },
        ],
      });
      for (const participantId of [seller, buyer]) await command('registerParticipant', 'RegisterParticipantInput', { zone, participantId, name: participantId });
      // P: 20 c/kWh for 10:00–10:15 (the period's imbalance price), 10 for 10:15–10:30.
      await command('publishPrices', 'PublishPricesInput', {
        zone: priceZone,
        currency: 'EUR',
        source: 'imbalance',
        points: [
          { start: '2026-11-05T10:00:00Z', end: '2026-11-05T10:15:00Z', priceMinorPerKWh: '20' },
          { start: '2026-11-05T10:15:00Z', end: '2026-11-05T10:30:00Z', priceMinorPerKWh: '10' },
        ],
      });
      // The fleet's tariff: energy at 30 c/kWh, exports credited at P's spot price.
      await command('defineTariff', 'DefineTariffInput', {
        tariff: {
          tariffId,
          name: 'Spot credit',
          currency: 'EUR',
          energy: { fixed: { priceMinorPerKWh: '30' } },
          speedBands: [],
          sessionFeeMinor: null,
          exportCredit: { spot: { zone: priceZone, marginMinorPerKWh: '0', floorMinorPerKWh: null } },
        },
      });
      await command('assignTariff', 'AssignTariffInput', { accountId: fleet, tariffId, validFrom: '2026-11-01T00:00:00Z' });
      // The fleet in the seller's portfolio: once it is a known account (it has its tariff).
      expect(
        (
          await command('assignPortfolioMember', 'AssignPortfolioMemberInput', {
            zone,
            participantId: seller,
            memberKind: 'FLEET',
            memberId: fleet,
            validFrom: '2026-11-01T00:00:00Z',
          })
        ).__typename,
      ).toBe('MarketZonePayload');

      // The seller sells 2 kWh for 10:00–10:15 at 150.00 EUR/MWh to the buyer (30 cents) at 09:00; the gate closes at 09:55.
      const order = (traderId: string, side: string) => ({ clientOrderId: `${side}-1`, traderId, side, orderType: 'LIMIT', quantityKWh: '2', limitPriceMinorPerMWh: '15000' });
      await command('submitOrders', 'SubmitOrdersInput', { zone, deliveryStart: '2026-11-05T10:00:00Z', lengthMinutes: 15, orders: [order(buyer, 'BUY'), order(seller, 'SELL')] });
      clock.moveTo('2026-11-05T09:56:00Z');
      await command('closeGate', 'CloseGateInput', { zone, deliveryStart: '2026-11-05T10:00:00Z', lengthMinutes: 15 });
      await waitFor('the gate closure', async () => (await server.ledger.store.readStream(bookStream)).some((e) => e.type === 'GateClosed'));

      // A site of the zone; the fleet's car exports 3 kWh from 10:00 to 10:30, then is unplugged.
      const siteId = freshSiteId();
      await registerSite(server, { siteId, importLimitW: '100000', exportLimitW: '50000' });
      await command('configureSite', 'ConfigureSiteInput', { siteId, rotationIntervalS: 900, promoteAfterS: 3600, priceZone: zone });
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
      await command('plugIn', 'PlugInInput', {
        sessionId,
        siteId,
        connectorId: 'cp1-1',
        at: '2026-11-05T09:50:00Z',
        vehicleId: `ev-${tag}`,
        customerId: `driver-${tag}`,
        fleetId: fleet,
        tier: 'NORMAL',
        departureAt: '2026-11-05T18:00:00Z',
        targetSocPercent: '80',
        batteryCapacityWh: '60000',
        socPercent: '50',
        minPowerW: '1400',
        maxPowerW: '11000',
        v2g: { minSocPercent: '30', maxDischargePowerW: '11000' },
      });
      // The meter's readings and the unplug arrive after the last of them; the period is over.
      clock.moveTo('2026-11-05T10:31:00Z');
      for (const [occurredAt, energyExportWh] of [
        ['2026-11-05T10:00:00Z', '0'],
        ['2026-11-05T10:30:00Z', '3000'],
      ] as const) {
        await command('recordSessionMeterReading', 'RecordSessionMeterReadingInput', { sessionId, occurredAt, energyImportWh: '0', energyExportWh });
      }
      await command('stopSession', 'StopSessionInput', { sessionId, at: '2026-11-05T10:30:00Z', reason: 'unplugged' });
      await waitForOurStreams();
      beforeClose = ledgerNow();
      await sleep(5);

      const closed = (
        await run(
          `mutation($input: CloseSettlementPeriodInput!) { closeSettlementPeriod(input: $input) { __typename ... on CloseSettlementPeriodPayload { outcome } ... on Error { code message } } }`,
          {
            input: { commandId: randomUUID(), zone, periodStart: period },
          },
        )
      ).closeSettlementPeriod;
      expect(closed).toEqual({ __typename: 'CloseSettlementPeriodPayload', outcome: 'CLOSED' });
      await waitForOurStreams();
      await sleep(5);
      t1 = ledgerNow();
      await sleep(5);

      // After T1: the reading at 10:15 arrives late (1,800 of the 3,000 Wh were exported by then); the watcher settles again.
      await command('recordSessionMeterReading', 'RecordSessionMeterReadingInput', { sessionId, occurredAt: '2026-11-05T10:15:00Z', energyImportWh: '0', energyExportWh: '1800' });
      await waitFor('revision 2', async () => (await server.ledger.store.streamVersion(settlementStream)) >= 2);
      await waitForOurStreams();
      await sleep(5);
      t2 = ledgerNow();
      await sleep(5);
      // After T2: P's 10:15–10:30 price is revised from 10 to 30 (not the settled period's: no re-settlement).
      await command('publishPrices', 'PublishPricesInput', {
        zone: priceZone,
        currency: 'EUR',
        source: 'imbalance',
        points: [{ start: '2026-11-05T10:15:00Z', end: '2026-11-05T10:30:00Z', priceMinorPerKWh: '30' }],
      });
      await waitForOurStreams();
      expect(await server.ledger.store.streamVersion(settlementStream)).toBe(2);
    });

    it('answers settlementStatement as of a moment with the revision in force then', async () => {
      // Now: revision 2, with the late reading: the seller exported 1,800 Wh in the period, 200 short of the 2,000 sold, pays 4 cents.
      const now = await statement();
      expect(now.revision).toBe(2);
      expect(figures(now)).toEqual([
        [buyer, '0', '2000', '40', '-30'],
        [seller, '1800', '-200', '-4', '30'],
      ]);
      // As known at T1: revision 1: 1,500 Wh exported (half of 3,000 spread over 10:00–10:30), 500 short at 20 c/kWh: 10 cents.
      const then = await statement(t1);
      expect(then.revision).toBe(1);
      expect(figures(then)).toEqual([
        [buyer, '0', '2000', '40', '-30'],
        [seller, '1500', '-500', '-10', '30'],
      ]);
      expect(then).toEqual(await statement(undefined, 1));
      expect((await statement(t2)).revision).toBe(2);
      // Before the first close nothing was in force; revision 2 was not known at T1.
      expect(await statement(beforeClose)).toBeNull();
      expect(await statement(t1, 2)).toBeNull();
      expect((await statement(t1, 1)).revision).toBe(1);
    });

    it("answers an invoice as of a moment from the billing read model's history: the readings and prices known then, as a replay of the log says", async () => {
      // Now: 1,800 Wh credited at 20 and 1,200 at the revised 30: −36 − 36.
      // Replay schemas on the database (another run's, killed mid-replay, may have left one): this test's replays leave none.
      const replaySchemas = async () =>
        (
          await server.ledger.sql.query<{ nspname: string }>(
            `SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE n.nspname LIKE 'replay\\_%' AND c.relname = 'billing_v${billingProjection.version}_sessions' ORDER BY 1`,
          )
        ).rows.map((r) => r.nspname);
      const replaySchemasBefore = await replaySchemas();
      const now = await invoice();
      expect(now, JSON.stringify(now)).toMatchObject({ __typename: 'Invoice', total: { amountMinor: '-72' } });
      expect(credits(now)).toEqual([
        ['1200', '-36'],
        ['1800', '-36'],
      ]);
      // As known at T1: no 10:15 reading (1,500 Wh in each quarter hour), P at 20 then 10: −30 − 15.
      const cache = asOfInvoices(server.ledger);
      const replays = cache.replays;
      const atT1 = await invoice(t1);
      expect(atT1).toMatchObject({ __typename: 'Invoice', total: { amountMinor: '-45' } });
      expect(credits(atT1)).toEqual([
        ['1500', '-15'],
        ['1500', '-30'],
      ]);
      // As known at T2: the late reading, but not the price revision yet: −36 − 12.
      const atT2 = await invoice(t2);
      expect(atT2).toMatchObject({ total: { amountMinor: '-48' } });
      expect(credits(atT2)).toEqual([
        ['1200', '-12'],
        ['1800', '-36'],
      ]);
      // From the billing read model's history (an index lookup), not from a replay of the log.
      expect(cache.replays).toBe(replays);
      expect(await invoice(t1)).toEqual(atT1);
      expect(cache.replays).toBe(replays);
      // The same answers as the reference, a replay of the whole log as of T1 and T2.
      for (const [at, answer] of [
        [t1, atT1],
        [t2, atT2],
      ] as const) {
        const replayed = await invoiceByReplay(server.ledger, fleet, '2026-11', at);
        expect(replayed.totalMinor).toBe(answer.total.amountMinor);
        expect(await server.ledger.billing.readModel.invoiceAsOf(fleet, '2026-11', at)).toEqual(replayed);
      }
      // No replay schema is left behind.
      expect(await replaySchemas()).toEqual(replaySchemasBefore);
      // An instant in the future is refused: nothing is known at it yet.
      const { body } = await server.gql<any>(INVOICE, { accountId: fleet, asOf: new Date(clock.now() + 3_600_000).toISOString() });
      expect(body.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    });

    it('replays settlement and billing as of T1 into throw-away schemas: what was known then, not what the live models say now', async () => {
      const { store, sql } = server.ledger;
      const settlement = await replayProjection({ store, sql, projection: settlementProjection, asOf: { instant: t1 } });
      const billing = await replayProjection({ store, sql, projection: billingProjection, asOf: { instant: t1 } });
      try {
        const then = await settlementStatement(sql, settlement.tables, zone, period);
        expect(then?.revision).toBe(1);
        expect(then?.statement.lines.map((l) => [l.participantId, l.meteredExportWh, l.imbalanceAmountMinor])).toEqual([
          [buyer, '0', '40'],
          [seller, '1500', '-10'],
        ]);
        expect((await settlementRevisions(sql, settlement.tables, zone, period)).map((r) => r.revision)).toEqual([1]);
        expect((await settlementRevisions(sql, server.ledger.projections.tables(settlementProjection), zone, period)).map((r) => r.revision)).toEqual([1, 2]);
        // Balances as they stood: revision 1 posted (seller +30 −10), not revision 2 (seller +30 −4).
        const eur = async (tables: Replay['tables']) =>
          (await accountBalances(sql, tables, { ledger: 'EUR' }))
            .filter((a) => a.account === `trader:${seller}` || a.account === `trader:${buyer}`)
            .map((a) => [a.account, a.posted]);
        expect(await eur(settlement.tables)).toEqual([
          [`trader:${buyer}`, '10'],
          [`trader:${seller}`, '20'],
        ]);
        expect(await eur(server.ledger.projections.tables(settlementProjection))).toEqual([
          [`trader:${buyer}`, '10'],
          [`trader:${seller}`, '26'],
        ]);

        const invoiceThen = await billingReadModel(sql, billing.tables).invoice(fleet, '2026-11');
        const invoiceNow = await server.ledger.billing.readModel.invoice(fleet, '2026-11');
        expect(invoiceThen.totalMinor).toBe('-45');
        expect(invoiceNow.totalMinor).toBe('-72');
        expect(billing.through).toBeGreaterThan(billing.lastApplied);
      } finally {
        await settlement.drop();
        await billing.drop();
      }
    });

    it('replays every projection: as of now equal to the live read model, as of T1 fewer events', async () => {
      const { store, sql } = server.ledger;
      const projections: Projection[] = [catalogueProjection, gridProjection, billingProjection, settlementProjection, marketProjection];
      const live = (p: Projection) => server.ledger.projections.tables(p);
      const logicalTables = (p: Projection) => (p === billingProjection ? [...BILLING_READ_MODEL_TABLES] : [...p.tables]);
      const dump = async (table: string) => (await sql.query<{ line: string }>(`SELECT t::text AS line FROM ${table} t ORDER BY 1`)).rows.map((r) => r.line);
      await waitForOurStreams();
      // The cut: the last of our events (nothing else writes to this ledger now); the live models have reached it.
      const last = (await Promise.all(streams.map(async (s) => (await store.readStream(s)).at(-1)!.globalPosition))).reduce((a, b) => (a > b ? a : b));
      await waitForProjections(server, last.toString());
      for (const projection of projections) {
        const status = (await server.ledger.projections.status()).find((s) => s.name === projection.name)!;
        const now = await replayProjection({ store, sql, projection, asOf: { position: status.checkpoint } });
        const then = await replayProjection({ store, sql, projection, asOf: { instant: t1 } });
        try {
          expect(now.events, projection.name).toBeGreaterThan(then.events);
          expect(then.events, projection.name).toBeGreaterThan(0);
          for (const logical of logicalTables(projection)) {
            expect(await dump(now.tables(logical)), `${projection.name}.${logical}`).toEqual(await dump(live(projection)(logical)));
          }
        } finally {
          await now.drop();
          await then.drop();
        }
      }
    });

    it('audits both revisions identical, then reports the line an attacker edited in the recorded statement', async () => {
      const { store, sql } = server.ledger;
      const revisions = await listSettlementRevisions(store, { zone });
      expect(revisions.map((r) => [r.periodStart, r.revision])).toEqual([
        [period, 1],
        [period, 2],
      ]);
      const clean = await auditSettlement(server.ledger.settlement.service, revisions);
      expect(clean).toMatchObject({ ok: true, audited: 2, identical: 2, different: 0, errors: 0 });

      const env = sql.kind === 'server' ? { DATABASE_URL: options!.databaseUrl!, DB_SCHEMA: liveSchema() } : null;
      if (env) {
        const cli = await runLedgerCli(['audit', 'settlement', '--zone', zone, '--period', '2026-11-05T10:00Z'], env);
        expect(cli, cli.stderr).toMatchObject({ code: 0, stderr: '' });
        expect(cli.stdout).toMatch(/^ledger audit settlement: OK, 2 revisions re-derived, every one identical/);
        expect(cli.stdout).toContain(`${zone} ${period} revision 1 (${settlementStream}, position`);
        expect(cli.stdout).toContain('sessions listed from the live billing read model');
        // From a replay of billing instead of the live model: the same verdict.
        const fromLog = await runLedgerCli(['audit', 'settlement', '--all', '--zone', zone, '--from-log', '--json'], env);
        expect(fromLog.code, fromLog.stderr).toBe(0);
        expect(JSON.parse(fromLog.stdout)).toMatchObject({ ok: true, audited: 2, identical: 2, sessionsFrom: expect.stringMatching(/^a replay of the billing projection/) });
        // The replay CLI: the statement and the invoice as known at T1.
        const replayed = await runLedgerCli(['replay', '--as-of', t1, '--projection', 'settlement', '--zone', zone, '--period', period, '--json', '--quiet'], env);
        expect(replayed.code, replayed.stderr).toBe(0);
        const settled = JSON.parse(replayed.stdout);
        expect(settled).toMatchObject({ projection: 'settlement', schema: null, settlement: { statement: { revision: 1 }, revisions: [{ revision: 1 }] } });
        expect(settled.rows.statements).toBeGreaterThan(0);
        const billed = await runLedgerCli(['replay', '--as-of', t1, '--projection', 'billing', '--account', fleet, '--month', '2026-11', '--keep'], env);
        expect(billed.code, billed.stderr).toBe(0);
        expect(billed.stdout).toContain(`invoice ${fleet} 2026-11 as known then: total -45`);
        const kept = /kept in schema (replay_[0-9a-f]{16})/.exec(billed.stdout)![1]!;
        expect((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${kept}".billing_v${billingProjection.version}_sessions`)).rows[0]!.n).not.toBe('0');
        await sql.query(`DROP SCHEMA "${kept}" CASCADE`);
      }

      // An attacker with superuser rights edits revision 1 in the log: the seller's imbalance amount −10 becomes −11.
      await sql.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(`UPDATE "${liveSchema()}".events SET data = jsonb_set(data, '{lines,1,imbalanceAmountMinor}', '"-11"') WHERE stream_id = $1 AND stream_version = 1`, [
          settlementStream,
        ]);
      });
      const tampered = await auditSettlement(server.ledger.settlement.service, revisions);
      expect(tampered).toMatchObject({ ok: false, audited: 2, identical: 1, different: 1 });
      expect(tampered.revisions[0]).toMatchObject({
        revision: 1,
        verdict: 'different',
        differences: [{ path: 'lines[1].imbalanceAmountMinor', subject: seller, recorded: '-11', derived: '-10' }],
      });
      if (env) {
        const cli = await runLedgerCli(['audit', 'settlement', '--zone', zone, '--period', period], env);
        expect(cli.code, cli.stderr).toBe(1);
        expect(cli.stdout).toMatch(/^ledger audit settlement: DIFFERENT, 1 of 2 revisions not identical/);
        expect(cli.stdout).toContain(`${zone} ${period} revision 1 (${settlementStream}, position`);
        expect(cli.stdout).toContain(`    lines[1].imbalanceAmountMinor (${seller}): recorded "-11", re-derived "-10"`);
        const one = await runLedgerCli(['audit', 'settlement', '--zone', zone, '--period', period, '--revision', '2', '--json'], env);
        expect(one.code).toBe(0);
        expect(JSON.parse(one.stdout)).toMatchObject({ ok: true, audited: 1, revisions: [{ revision: 2, verdict: 'identical' }] });
        expect(await runLedgerCli(['audit', 'settlement', '--zone', zone, '--period', '2026-11-05T11:00Z'], env)).toMatchObject({
          code: 2,
          stderr: expect.stringContaining('was never closed'),
        });
      }
    }, 180_000);
  });
}
