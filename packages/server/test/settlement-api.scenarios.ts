import { randomUUID } from 'node:crypto';
import { connectPostgres, type SqlClient } from '@v2g/event-store';
import { CommandHandler, MarketService, ProjectionRunner } from '@v2g/ledger';
import { SETTLEMENT_TABLES, settlementProjection } from '@v2g/projection-settlement';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshSiteId,
  movableClock,
  openAccounts,
  queryData,
  registerSite,
  sendCommand,
  settlementParties,
  startTestServer,
  type TestServer,
  type TestServerOptions,
  waitForStream,
} from './harness.ts';

/**
 * Settlement through GraphQL, end to end: a market zone whose imbalances are priced by another
 * price zone, a seller whose portfolio holds a fleet, a trade for one 15-minute period, a V2G
 * session of that fleet at a site of the zone exporting in the period; the period closed, its
 * statement and postings checked to the Wh and the cent; then a late meter reading that the
 * settlement watcher settles again (revision 2 reverses and posts again), a retried close, a
 * rebuild of the settlement read model from zero, and refusals.
 */
export function describeSettlementApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`settlement through GraphQL over ${label}`, () => {
    let server: TestServer;
    // The ledger lives the morning of the period: orders before its gate, the plug-in, the readings, the close after it.
    const clock = movableClock('2026-11-05T09:00:00Z');
    beforeAll(async () => {
      server = await startTestServer({ ...options!, clock: clock.now });
      // The fleet's session is billed to the fleet: a known account.
      await openAccounts(server, fleet);
    });
    afterAll(async () => {
      await server?.close();
    });

    const run = (query: string, variables: Record<string, unknown>) => queryData(server, query, variables);
    const command = (name: string, inputType: string, input: Record<string, unknown>, fields = '') => sendCommand(server, name, inputType, input, fields);

    const tag = randomUUID().slice(0, 6);
    const { zone, priceZone, seller, buyer, fleet } = settlementParties(tag);
    const period = '2026-11-05T10:00:00.000Z';
    const settlementStream = `settlement-${zone}-20261105T1000Z`;
    const bookStream = `market-${zone}-20261105T1000Z-15m`;
    const sessionId = `sess-${tag}`;
    const firstClose = randomUUID();
    const prefix = (revision: number) => `settlement/${zone}/${period}/r${revision}/`;

    const CLOSE = `mutation($input: CloseSettlementPeriodInput!) { closeSettlementPeriod(input: $input) {
      __typename ... on Error { code message }
      ... on InvalidCommandError { field }
      ... on CloseSettlementPeriodPayload { commandId outcome streamId statement { revision position inputCount knownAt } } } }`;
    const close = async (input: Record<string, unknown>) => (await run(CLOSE, { input: { commandId: randomUUID(), zone, periodStart: period, ...input } })).closeSettlementPeriod;

    const STATEMENT = `query($zone: ID!, $periodStart: DateTime!, $revision: Int) { settlementStatement(zone: $zone, periodStart: $periodStart, revision: $revision) {
      zone periodStart periodEnd currency revision knownAt inputsThrough inputsHash inputCount position
      lines { participantId account boughtWh soldWh contractedWh meteredExportWh meteredImportWh meteredNetWh imbalanceWh postedImbalanceWh
              imbalancePriceMinorPerKWh imbalanceAmount { amountMinor amount currency } tradeAmount { amountMinor } justifiedBy }
      transfers { transferId ledger debitAccount creditAccount amount kind reverses postsPending } } }`;
    const statement = async (revision?: number) => (await run(STATEMENT, { zone, periodStart: period, revision: revision ?? null })).settlementStatement;

    const balances = async () => {
      const { ledgerAccounts } = await run(`{ ledgerAccounts { ledger account posted pending } }`, {});
      const ours = new Set([`trader:${seller}`, `trader:${buyer}`, `customer:${fleet}`, 'grid:metered', 'grid:imbalance']);
      return (ledgerAccounts as { ledger: string; account: string; posted: string; pending: string }[]).filter((a) => ours.has(a.account));
    };
    const totals = async () => (await run(`{ ledgerTotals { ledger accounts posted pending balanced } }`, {})).ledgerTotals;

    /**
     * Every account of ours, in both ledgers: its postings, walked page by page to the end, add up to
     * its balances (changes to the posted balance, pendingChanges to the pending one).
     */
    const SUM_POSTINGS = `query($account: ID!, $ledger: String!, $after: String) { ledgerPostings(account: $account, ledger: $ledger, first: 3, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { change pendingChange } } } }`;
    async function expectPostingsSumToBalances(): Promise<void> {
      const accounts = await balances();
      expect(accounts.length).toBeGreaterThan(0);
      for (const { ledger, account, posted, pending } of accounts) {
        let change = 0n;
        let pendingChange = 0n;
        let after: string | null = null;
        for (;;) {
          const { ledgerPostings }: any = await run(SUM_POSTINGS, { account, ledger, after });
          for (const { node } of ledgerPostings.edges) {
            change += BigInt(node.change);
            pendingChange += BigInt(node.pendingChange);
          }
          if (!ledgerPostings.pageInfo.hasNextPage) break;
          after = ledgerPostings.pageInfo.endCursor;
        }
        expect({ ledger, account, posted: change.toString(), pending: pendingChange.toString() }).toEqual({ ledger, account, posted, pending });
      }
    }

    /** Positions of a stream's events by type (the last of each type, or all with `all`). */
    const positionsOf = async (streamId: string) => {
      const events = await server.ledger.store.readStream(streamId);
      return events.map((e) => ({ type: e.type, position: e.globalPosition.toString(), data: e.data as Record<string, unknown> }));
    };

    async function waitForRevision(revision: number): Promise<void> {
      const deadline = Date.now() + 20_000;
      while ((await server.ledger.store.streamVersion(settlementStream)) < revision) {
        if (Date.now() > deadline) throw new Error(`${settlementStream} did not reach revision ${revision}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await waitForStream(server, settlementStream);
    }

    it('closes a period: the trade against what the fleet exported, priced at the imbalance price, posted on the ledger', async () => {
      // The zone, its imbalance price (20 c/kWh for 10:00–10:15), two traders, the fleet in the seller's portfolio.
      const configured = await command('configureMarketZone', 'ConfigureMarketZoneInput', {
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
      expect(configured.__typename, JSON.stringify(configured)).not.toMatch(/Error$/);
      for (const participantId of [seller, buyer]) {
        expect((await command('registerParticipant', 'RegisterParticipantInput', { zone, participantId, name: participantId })).__typename).not.toMatch(/Error$/);
      }
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
      ).not.toMatch(/Error$/);
      const published = await command(
        'publishPrices',
        'PublishPricesInput',
        {
          zone: priceZone,
          currency: 'EUR',
          source: 'imbalance',
          points: [{ start: '2026-11-05T10:00:00Z', end: '2026-11-05T10:15:00Z', priceMinorPerKWh: '20' }],
        },
        '... on CommandRecorded { events }',
      );
      expect(published).toMatchObject({ __typename: 'CommandRecorded', events: 1 });

      // The seller sells 2 kWh for 10:00–10:15 at 150.00 EUR/MWh to the buyer's bid: 30 cents. Both orders in one
      // submit, at the ledger's now (09:00), before the gate closure.
      const order = (traderId: string, side: string) => ({ clientOrderId: `${side}-1`, traderId, side, orderType: 'LIMIT', quantityKWh: '2', limitPriceMinorPerMWh: '15000' });
      const submitted = await command('submitOrders', 'SubmitOrdersInput', {
        zone,
        deliveryStart: '2026-11-05T10:00:00Z',
        lengthMinutes: 15,
        orders: [order(buyer, 'BUY'), order(seller, 'SELL')],
      });
      expect(submitted.__typename, JSON.stringify(submitted)).not.toMatch(/Error$/);
      const trade = (await positionsOf(bookStream)).find((e) => e.type === 'TradeExecuted')!;
      expect(trade.data).toMatchObject({ sellerId: seller, buyerId: buyer, quantityWh: '2000', priceMinorPerMWh: '15000' });
      const tradeId = trade.data['tradeId'] as string;
      // Held at match time: the traders' postings add up to their pending balances (seller −2,000 Wh, +30 cents).
      await waitForStream(server, bookStream);
      expect((await balances()).filter((a) => a.account === `trader:${seller}`)).toEqual([
        { ledger: 'EUR', account: `trader:${seller}`, posted: '0', pending: '30' },
        { ledger: 'Wh', account: `trader:${seller}`, posted: '0', pending: '-2000' },
      ]);
      await expectPostingsSumToBalances();

      // A site of the zone, a bidirectional charger; the fleet's car plugged in at 09:50, exporting 3 kWh from 10:00 to 10:30.
      const siteId = freshSiteId();
      await registerSite(server, { siteId, importLimitW: '100000', exportLimitW: '50000' });
      expect((await command('configureSite', 'ConfigureSiteInput', { siteId, rotationIntervalS: 900, promoteAfterS: 3600, priceZone: zone })).__typename).toBe(
        'SiteCommandPayload',
      );
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
      clock.moveTo('2026-11-05T09:50:00Z');
      const plugged = await command('plugIn', 'PlugInInput', {
        sessionId,
        siteId,
        connectorId: 'cp1-1',
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
      expect(plugged.__typename, JSON.stringify(plugged)).toBe('SessionCommandPayload');
      // The meter's readings arrive after the last of them; the period is over.
      clock.moveTo('2026-11-05T10:31:00Z');
      for (const [occurredAt, energyExportWh] of [
        ['2026-11-05T10:00:00Z', '0'],
        ['2026-11-05T10:30:00Z', '3000'],
      ] as const) {
        const recorded = await command('recordSessionMeterReading', 'RecordSessionMeterReadingInput', { sessionId, occurredAt, energyImportWh: '0', energyExportWh });
        expect(recorded.__typename, JSON.stringify(recorded)).toBe('SessionCommandPayload');
      }

      // On a busy server the readable end of the log can trail the last acknowledged append: the close reads
      // what is readable, so wait until the session's readings are (the watcher would settle them again otherwise).
      await waitForStream(server, `session-${sessionId}`);
      const closed = await close({ commandId: firstClose });
      expect(closed).toMatchObject({
        __typename: 'CloseSettlementPeriodPayload',
        commandId: firstClose,
        outcome: 'CLOSED',
        streamId: settlementStream,
        statement: { revision: 1, inputCount: 7 },
      });
      await waitForStream(server, settlementStream);

      const zoneEvents = await positionsOf(`marketzone-${zone}`);
      const session = await positionsOf(`session-${sessionId}`);
      const at = (events: { type: string; position: string; data: Record<string, unknown> }[], type: string, occurredAt?: string) =>
        events.find((e) => e.type === type && (occurredAt === undefined || e.data['occurredAt'] === occurredAt))!.position;
      const common = [at(zoneEvents, 'MarketZoneConfigured'), at(await positionsOf(`prices-${priceZone}`), 'PricesPublished')];
      const sorted = (positions: string[]) => [...new Set(positions)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));

      const first = await statement();
      expect(first).toMatchObject({
        zone,
        periodStart: period,
        periodEnd: '2026-11-05T10:15:00.000Z',
        currency: 'EUR',
        revision: 1,
        inputCount: 7,
        position: closed.statement.position,
      });
      expect(first.inputsHash).toMatch(/^[0-9a-f]{64}$/);
      // 10:00–10:30 exported 3,000 Wh: 1,500 in the period. The seller sold 2,000: 500 short, at 20 c/kWh it pays 10 cents.
      // The buyer bought 2,000 and its portfolio drew nothing: 2,000 handed back, paid 40 cents.
      expect(first.lines).toEqual([
        {
          participantId: buyer,
          account: `trader:${buyer}`,
          boughtWh: '2000',
          soldWh: '0',
          contractedWh: '-2000',
          meteredExportWh: '0',
          meteredImportWh: '0',
          meteredNetWh: '0',
          imbalanceWh: '2000',
          postedImbalanceWh: '2000',
          imbalancePriceMinorPerKWh: '20',
          imbalanceAmount: { amountMinor: '40', amount: '0.4', currency: 'EUR' },
          tradeAmount: { amountMinor: '-30' },
          justifiedBy: sorted([...common, trade.position]),
        },
        {
          participantId: seller,
          account: `trader:${seller}`,
          boughtWh: '0',
          soldWh: '2000',
          contractedWh: '2000',
          meteredExportWh: '1500',
          meteredImportWh: '0',
          meteredNetWh: '1500',
          imbalanceWh: '-500',
          postedImbalanceWh: '-500',
          imbalancePriceMinorPerKWh: '20',
          imbalanceAmount: { amountMinor: '-10', amount: '-0.1', currency: 'EUR' },
          tradeAmount: { amountMinor: '30' },
          justifiedBy: sorted([
            ...common,
            trade.position,
            at(zoneEvents, 'PortfolioMemberAssigned'),
            at(session, 'SessionPluggedIn'),
            at(session, 'SessionMeterReadingRecorded', '2026-11-05T10:00:00.000Z'),
            at(session, 'SessionMeterReadingRecorded', '2026-11-05T10:30:00.000Z'),
          ]),
        },
      ]);
      const t = (suffix: string, ledger: string, debitAccount: string, creditAccount: string, amount: string, kind: string, postsPending: string | null = null, revision = 1) => ({
        transferId: prefix(revision) + suffix,
        ledger,
        debitAccount,
        creditAccount,
        amount,
        kind,
        reverses: null,
        postsPending,
      });
      const S = `trader:${seller}`;
      const B = `trader:${buyer}`;
      const F = `customer:${fleet}`;
      expect(first.transfers).toEqual([
        t(`imbalance/${buyer}/energy`, 'Wh', B, 'grid:imbalance', '2000', 'IMBALANCE_ENERGY'),
        t(`imbalance/${buyer}/money`, 'EUR', 'grid:imbalance', B, '40', 'IMBALANCE_MONEY'),
        t(`imbalance/${seller}/energy`, 'Wh', 'grid:imbalance', S, '500', 'IMBALANCE_ENERGY'),
        t(`imbalance/${seller}/money`, 'EUR', S, 'grid:imbalance', '10', 'IMBALANCE_MONEY'),
        t(`metered/${seller}/${fleet}/export`, 'Wh', F, S, '1500', 'METERED_EXPORT'),
        t(`physical/${fleet}`, 'Wh', 'grid:metered', F, '1500', 'PHYSICAL'),
        t(`trade/${tradeId}/energy`, 'Wh', S, B, '2000', 'TRADE_ENERGY', `trade/${tradeId}/${period}/energy`),
        t(`trade/${tradeId}/money`, 'EUR', B, S, '30', 'TRADE_MONEY', `trade/${tradeId}/${period}/money`),
      ]);

      // Every account of the period nets to zero in Wh but the grid's; money: seller +30 −10, buyer −30 +40.
      expect(await balances()).toEqual([
        { ledger: 'EUR', account: 'grid:imbalance', posted: '-30', pending: '0' },
        { ledger: 'EUR', account: B, posted: '10', pending: '0' },
        { ledger: 'EUR', account: S, posted: '20', pending: '0' },
        { ledger: 'Wh', account: F, posted: '0', pending: '0' },
        { ledger: 'Wh', account: 'grid:imbalance', posted: '1500', pending: '0' },
        { ledger: 'Wh', account: 'grid:metered', posted: '-1500', pending: '0' },
        { ledger: 'Wh', account: B, posted: '0', pending: '0' },
        { ledger: 'Wh', account: S, posted: '0', pending: '0' },
      ]);
      expect(await totals()).toEqual([
        { ledger: 'EUR', accounts: 3, posted: '0', pending: '0', balanced: true },
        { ledger: 'Wh', accounts: 5, posted: '0', pending: '0', balanced: true },
      ]);
      // The trade counted once: its holds cleared by revision 1's postings, every account's postings adding up to its balances.
      await expectPostingsSumToBalances();
      const revisions = (await run(`query($zone: ID!, $p: DateTime!) { settlementRevisions(zone: $zone, periodStart: $p) { revision inputCount position } }`, { zone, p: period }))
        .settlementRevisions;
      expect(revisions).toEqual([{ revision: 1, inputCount: 7, position: closed.statement.position }]);

      // Nothing new since: an operator's re-settle writes nothing.
      expect(await close({})).toMatchObject({ outcome: 'UNCHANGED', statement: { revision: 1 } });
      expect(await server.ledger.store.streamVersion(settlementStream)).toBe(1);
    });

    it('settles again after a late meter reading: reverses, posts again, both revisions readable', async () => {
      // The reading at 10:15 arrives late: 1,800 Wh of the 3,000 were exported in the period, not 1,500.
      const late = await command('recordSessionMeterReading', 'RecordSessionMeterReadingInput', {
        sessionId,
        occurredAt: '2026-11-05T10:15:00Z',
        energyImportWh: '0',
        energyExportWh: '1800',
      });
      expect(late.__typename).toBe('SessionCommandPayload');
      await waitForRevision(2);
      // The watcher did it, for the late reading.
      const rederived = server.logs.filter((l) => l.component === 'settlement-watcher' && l.msg === 'settlement re-derived after a late input' && l['outcome'] === 'resettled');
      expect(rederived).toMatchObject([{ zone, periodStart: period, revision: 2, trigger: expect.stringMatching(/^SessionMeterReadingRecorded@/) }]);

      const second = await statement();
      const first = await statement(1);
      expect(first.revision).toBe(1);
      expect(second).toMatchObject({ revision: 2, inputCount: 7 });
      expect(second.inputsHash).not.toBe(first.inputsHash);
      expect(second.lines.map((l: any) => [l.participantId, l.meteredExportWh, l.imbalanceWh, l.imbalanceAmount.amountMinor, l.tradeAmount.amountMinor])).toEqual([
        [buyer, '0', '2000', '40', '-30'],
        [seller, '1800', '-200', '-4', '30'],
      ]);
      // Every posting of revision 1 reversed (accounts swapped), then revision 2's: the trade no longer posts a pending transfer.
      const reversals = second.transfers.filter((x: any) => x.kind === 'REVERSAL');
      expect(reversals).toEqual(
        first.transfers.map((x: any) => ({
          transferId: `${prefix(2)}reversal/${x.transferId}`,
          ledger: x.ledger,
          debitAccount: x.creditAccount,
          creditAccount: x.debitAccount,
          amount: x.amount,
          kind: 'REVERSAL',
          reverses: x.transferId,
          postsPending: null,
        })),
      );
      const postings = second.transfers.filter((x: any) => x.kind !== 'REVERSAL');
      expect(postings.map((x: any) => [x.transferId.slice(prefix(2).length), x.debitAccount, x.creditAccount, x.amount, x.postsPending])).toEqual([
        [`imbalance/${buyer}/energy`, `trader:${buyer}`, 'grid:imbalance', '2000', null],
        [`imbalance/${buyer}/money`, 'grid:imbalance', `trader:${buyer}`, '40', null],
        [`imbalance/${seller}/energy`, 'grid:imbalance', `trader:${seller}`, '200', null],
        [`imbalance/${seller}/money`, `trader:${seller}`, 'grid:imbalance', '4', null],
        [`metered/${seller}/${fleet}/export`, `customer:${fleet}`, `trader:${seller}`, '1800', null],
        [`physical/${fleet}`, 'grid:metered', `customer:${fleet}`, '1800', null],
        [expect.stringMatching(/^trade\/.*\/energy$/), `trader:${seller}`, `trader:${buyer}`, '2000', null],
        [expect.stringMatching(/^trade\/.*\/money$/), `trader:${buyer}`, `trader:${seller}`, '30', null],
      ]);

      // Balances hold revision 2's figures only; every ledger still sums to zero.
      expect(await balances()).toEqual([
        { ledger: 'EUR', account: 'grid:imbalance', posted: '-36', pending: '0' },
        { ledger: 'EUR', account: `trader:${buyer}`, posted: '10', pending: '0' },
        { ledger: 'EUR', account: `trader:${seller}`, posted: '26', pending: '0' },
        { ledger: 'Wh', account: `customer:${fleet}`, posted: '0', pending: '0' },
        { ledger: 'Wh', account: 'grid:imbalance', posted: '1800', pending: '0' },
        { ledger: 'Wh', account: 'grid:metered', posted: '-1800', pending: '0' },
        { ledger: 'Wh', account: `trader:${buyer}`, posted: '0', pending: '0' },
        { ledger: 'Wh', account: `trader:${seller}`, posted: '0', pending: '0' },
      ]);
      for (const total of await totals()) expect(total).toMatchObject({ posted: '0', pending: '0', balanced: true });
      await expectPostingsSumToBalances();
      const revisions = (await run(`query($zone: ID!, $p: DateTime!) { settlementRevisions(zone: $zone, periodStart: $p) { revision } }`, { zone, p: period })).settlementRevisions;
      expect(revisions).toEqual([{ revision: 1 }, { revision: 2 }]);

      // The seller's energy postings, four to a page, in ledger order: held (cleared by revision 1), posted, reversed, posted again.
      const POSTINGS = `query($account: ID!, $after: String) { ledgerPostings(account: $account, ledger: "Wh", first: 4, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { kind change pendingChange status revision postedBy postedByRevision } } } }`;
      const tradeId = (await positionsOf(bookStream)).find((e) => e.type === 'TradeExecuted')!.data['tradeId'] as string;
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 5; page++) {
        const { ledgerPostings }: any = await run(POSTINGS, { account: `trader:${seller}`, after });
        expect(ledgerPostings.totalCount).toBe('10');
        seen.push(
          ...ledgerPostings.edges.map(
            (e: any) =>
              `${e.node.kind} ${e.node.change} ${e.node.pendingChange} ${e.node.status} r${e.node.revision ?? '-'}${e.node.postedBy === null ? '' : ` by ${e.node.postedBy.slice(prefix(e.node.postedByRevision).length)} r${e.node.postedByRevision}`}`,
          ),
        );
        if (!ledgerPostings.pageInfo.hasNextPage) break;
        after = ledgerPostings.pageInfo.endCursor;
      }
      expect(seen).toEqual([
        `TRADE_ENERGY 0 0 CLEARED r- by trade/${tradeId}/energy r1`,
        'IMBALANCE_ENERGY 500 0 POSTED r1',
        'METERED_EXPORT 1500 0 POSTED r1',
        'TRADE_ENERGY -2000 0 POSTED r1',
        'REVERSAL -500 0 POSTED r2',
        'REVERSAL -1500 0 POSTED r2',
        'REVERSAL 2000 0 POSTED r2',
        'IMBALANCE_ENERGY 200 0 POSTED r2',
        'METERED_EXPORT 1800 0 POSTED r2',
        'TRADE_ENERGY -2000 0 POSTED r2',
      ]);

      // An auditor derives both revisions again from the log: field for field the same.
      for (const revision of [1, 2]) {
        const audit = await server.ledger.settlement.service.rederive(zone, period, revision);
        expect(audit.differences).toEqual([]);
        expect(audit.matches).toBe(true);
      }
    });

    it('posts nothing new for a retried close command', async () => {
      const before = await balances();
      const retried = await close({ commandId: firstClose });
      expect(retried).toMatchObject({ __typename: 'CloseSettlementPeriodPayload', outcome: 'DUPLICATE', statement: { revision: 1 } });
      expect(await server.ledger.store.streamVersion(settlementStream)).toBe(2);
      await waitForStream(server, settlementStream);
      expect(await balances()).toEqual(before);
    });

    it('rebuilds the settlement read model from zero with byte-identical rows', async () => {
      await waitForStream(server, settlementStream);
      const { sql, store } = server.ledger;
      const schema = sql.kind === 'embedded' ? 'v2g_settlement_rebuild' : `e2e_settlement_rebuild_${randomUUID().slice(0, 8)}`;
      const rebuild = new ProjectionRunner({ store, sql, schema, projections: [settlementProjection], logger: pino({ level: 'silent' }), batchSize: 3 });
      await rebuild.start();
      try {
        const live = server.ledger.projections.tables(settlementProjection);
        const rebuilt = rebuild.tables(settlementProjection);
        // As far as the live model got (at least the last revision).
        const liveStatus = (await server.ledger.projections.status()).find((p) => p.name === settlementProjection.name)!;
        expect(liveStatus.checkpoint).toBeGreaterThanOrEqual((await store.readStream(settlementStream)).at(-1)!.globalPosition);
        const deadline = Date.now() + 20_000;
        while ((await rebuild.status())[0]!.checkpoint < liveStatus.checkpoint) {
          if (Date.now() > deadline) throw new Error('the rebuild did not catch up');
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const dump = async (table: string) => (await sql.query<{ line: string }>(`SELECT t::text AS line FROM ${table} t ORDER BY 1`)).rows.map((r) => r.line);
        for (const logical of SETTLEMENT_TABLES) {
          const rows = await dump(live(logical));
          expect(rows.length, logical).toBeGreaterThan(0);
          expect(await dump(rebuilt(logical)), logical).toEqual(rows);
        }
        const statements = await dump(rebuilt('statements'));
        expect(statements.filter((line) => line.includes(zone)).length).toBe(2);
      } finally {
        await rebuild.stop();
        if (sql.kind === 'server') {
          const admin = await connectPostgres(options!.databaseUrl!);
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await admin.close();
        }
      }
    });

    it('logged no trouble in the settlement watcher', () => {
      expect(server.logs.filter((l) => l.component === 'settlement-watcher' && l.level !== 'info' && l.level !== 'debug')).toEqual([]);
    });

    it('refuses a period not over, a zone never configured and a period off the quarter hour, with typed errors and no event', async () => {
      const now = Date.now();
      // The next period: not over for 15 minutes at least.
      const current = new Date(now - (now % 900_000) + 900_000).toISOString();
      const notOver = await close({ periodStart: current });
      expect(notOver).toMatchObject({ __typename: 'PeriodNotOverError', code: 'PERIOD_NOT_OVER' });
      expect(
        await server.ledger.store.streamVersion(
          `settlement-${zone}-${current.slice(0, 4)}${current.slice(5, 7)}${current.slice(8, 10)}T${current.slice(11, 13)}${current.slice(14, 16)}Z`,
        ),
      ).toBe(0);

      const unknown = await close({ zone: `NOPE${tag}` });
      expect(unknown).toMatchObject({ __typename: 'SettlementZoneNotConfiguredError', code: 'MARKET_ZONE_NOT_CONFIGURED' });
      expect(await server.ledger.store.streamVersion(`settlement-NOPE${tag}-20261105T1000Z`)).toBe(0);

      const offQuarter = await close({ periodStart: '2026-11-05T10:07:00Z' });
      expect(offQuarter).toMatchObject({ __typename: 'InvalidCommandError', code: 'INVALID_COMMAND', field: 'periodStart' });
      const future = await close({ at: new Date(now + 3_600_000).toISOString() });
      expect(future).toMatchObject({ __typename: 'InvalidCommandError', code: 'INVALID_COMMAND', field: 'at' });
      expect(await server.ledger.store.streamVersion(settlementStream)).toBe(2);
    });

    it('closes on every input committed before it was asked for, also one an open append still holds back', async () => {
      const periodStart = '2026-11-05T13:00:00.000Z';
      clock.moveTo('2026-11-05T13:20:00Z');
      // On a server: an append left open (its transaction holds a lower position) keeps what commits
      // after it unreadable. PGlite serves one writer at a time: there nothing can be held back.
      let held: { client: SqlClient; rollback: () => void; ended: Promise<unknown> } | null = null;
      if (server.ledger.sql.kind === 'server') {
        const client = await connectPostgres(options!.databaseUrl!);
        let rollback!: () => void;
        const decided = new Promise<void>((resolve) => (rollback = resolve));
        let written!: () => void;
        const open = new Promise<void>((resolve) => (written = resolve));
        const events = [{ stream_version: 1, type: 'Held', schema_version: 1, data: {}, metadata: {}, hash: 'h' }];
        const ended = client
          .transaction(async (tx) => {
            await tx.query(`SELECT * FROM "${server.dbSchema}".write_append($1, 'held', $2, 1, 'h', $3::jsonb, NULL)`, [`held-${tag}`, randomUUID(), JSON.stringify(events)]);
            written();
            await decided;
            throw new Error('rolled back on purpose');
          })
          .catch((error: unknown) => error);
        await open;
        held = { client, rollback, ended };
      }
      try {
        // The period's imbalance price, committed (above the open append) before the close is asked for.
        const published = await command(
          'publishPrices',
          'PublishPricesInput',
          {
            zone: priceZone,
            currency: 'EUR',
            source: 'imbalance',
            points: [{ start: '2026-11-05T13:00:00Z', end: '2026-11-05T13:15:00Z', priceMinorPerKWh: '25' }],
          },
          '... on CommandRecorded { events position }',
        );
        expect(published).toMatchObject({ __typename: 'CommandRecorded', events: 1 });
        const closing = close({ periodStart });
        if (held) {
          // The close waits for the open append (here, until it rolls back), however long it stays open.
          const early = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 500, 'waiting'))]);
          expect(early).toBe('waiting');
          held.rollback();
          await held.ended;
        }
        const closed = await closing;
        expect(closed, JSON.stringify(closed)).toMatchObject({ __typename: 'CloseSettlementPeriodPayload', outcome: 'CLOSED', statement: { revision: 1 } });
        await waitForStream(server, closed.streamId);
        const recorded = (await run(STATEMENT, { zone, periodStart, revision: 1 })).settlementStatement;
        expect(BigInt(recorded.inputsThrough)).toBeGreaterThanOrEqual(BigInt(published.position));
      } finally {
        held?.rollback();
        await held?.ended;
        await held?.client.close();
      }
    });

    it('settles a closed period again when a trade delivering in it is recorded after the close', async () => {
      // The ledger's clock keeps every gate before delivery; only a writer whose clock lags records a
      // trade into a settled period. The watcher must settle it again.
      const late = '2026-11-05T12:00:00.000Z';
      const lateStream = `settlement-${zone}-20261105T1200Z`;
      clock.moveTo('2026-11-05T12:20:00Z');
      await command('publishPrices', 'PublishPricesInput', {
        zone: priceZone,
        currency: 'EUR',
        source: 'imbalance',
        points: [{ start: '2026-11-05T12:00:00Z', end: '2026-11-05T12:15:00Z', priceMinorPerKWh: '20' }],
      });
      // The close reads what is readable: wait until the price is (a busy server's readable end can trail the append).
      await waitForStream(server, `prices-${priceZone}`);
      const first = await close({ periodStart: late });
      expect(first).toMatchObject({ __typename: 'CloseSettlementPeriodPayload', outcome: 'CLOSED', statement: { revision: 1 } });

      // Another writer of the same log whose clock lags by 80 minutes: its book is still open for 12:00.
      const lagging = new MarketService(server.ledger.store, new CommandHandler(server.ledger.store), { clock: () => Date.parse('2026-11-05T11:00:00Z') });
      const order = (traderId: string, side: 'buy' | 'sell') => ({
        clientOrderId: `late-${side}`,
        traderId,
        side,
        orderType: 'limit' as const,
        quantityKWh: '1',
        limitPriceMinorPerMWh: '15000',
      });
      const submitted = await lagging.submitOrders(
        { zone, deliveryStart: late, lengthMinutes: 15, orders: [order(buyer, 'buy'), order(seller, 'sell')] },
        { commandId: randomUUID(), actor: 'lagging-writer' },
      );
      expect(submitted.events.map((e) => e.type)).toContain('TradeExecuted');

      const deadline = Date.now() + 20_000;
      while ((await server.ledger.store.streamVersion(lateStream)) < 2) {
        if (Date.now() > deadline) throw new Error(`${lateStream} was not settled again after the trade`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await waitForStream(server, lateStream);
      const revised = (await run(STATEMENT, { zone, periodStart: late, revision: 2 })).settlementStatement;
      expect(revised.lines).toEqual(
        expect.arrayContaining([expect.objectContaining({ participantId: seller, soldWh: '1000' }), expect.objectContaining({ participantId: buyer, boughtWh: '1000' })]),
      );
      // Revision 2 is the first to settle the late trade: it posts the trade's holds, which are cleared, nothing left pending.
      const tradeId = (await positionsOf(`market-${zone}-20261105T1200Z-15m`)).find((e) => e.type === 'TradeExecuted')!.data['tradeId'] as string;
      expect(revised.transfers.filter((x: any) => x.kind === 'TRADE_ENERGY' || x.kind === 'TRADE_MONEY').map((x: any) => x.postsPending)).toEqual([
        `trade/${tradeId}/${late}/energy`,
        `trade/${tradeId}/${late}/money`,
      ]);
      for (const account of await balances()) expect(account).toMatchObject({ pending: '0' });
      await expectPostingsSumToBalances();
      // An auditor derives both revisions of the late period again: the same, holds posted where they were.
      for (const revision of [1, 2]) expect(await server.ledger.settlement.service.rederive(zone, late, revision)).toMatchObject({ matches: true, differences: [] });
    });
  });
}
