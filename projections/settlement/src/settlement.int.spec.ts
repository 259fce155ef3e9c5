import { randomUUID } from 'node:crypto';
import {
  balanceOf,
  emptyLedger,
  pendingBalanceOf,
  postTransfers,
  recordPending,
  tradeParts,
  type LedgerState,
  type SettlementLine,
  type SettlementStatement,
  type SettlementTrade,
  type Transfer,
} from '@v2g/domain';
import { type EventStore, type NewEvent } from '@v2g/event-store';
import { ProjectionRunner, type Projection, type TableNames } from '@v2g/read-model';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SETTLEMENT_TABLES, settlementProjection } from './settlement-projection.ts';
import {
  accountBalances,
  accountPostings,
  closedPeriods,
  countAccountPostings,
  ledgerTotals,
  periodTransfers,
  settlementRevisions,
  settlementStatement,
  statementLines,
  statementTransfers,
} from './settlement-queries.ts';
import { caughtUp, describeProjectionSuite, dumpTable, expectSameRows, startProjection, type ProjectionTarget, type RunningProjection } from '@v2g/testing';

const logger = pino({ level: 'silent' });

type Target = ProjectionTarget<'rebuild' | 'perEvent' | 'smallBatches'>;

describeProjectionSuite('settlement', ['rebuild', 'perEvent', 'smallBatches'], settlementSuite);

const T = (hhmm: string) => `2026-11-20T${hhmm}:00.000Z`;

/** The per-event path: the same projection without its batch hook. */
const perEventProjection: Projection = { ...settlementProjection, applyBatch: undefined };

const transfer = (
  transferId: string,
  ledger: string,
  debitAccount: string,
  creditAccount: string,
  amount: string,
  kind: Transfer['kind'],
  extra: Partial<Transfer> = {},
): Transfer => ({
  transferId,
  ledger,
  debitAccount,
  creditAccount,
  amount,
  kind,
  reverses: null,
  postsPending: null,
  ...extra,
});

const reversal = (of: Transfer, transferId: string): Transfer =>
  transfer(transferId, of.ledger, of.creditAccount, of.debitAccount, of.amount, 'reversal', { reverses: of.transferId });

function settlementSuite(open: () => Promise<Target>) {
  let target: Target;
  let store: EventStore;
  let runner: ProjectionRunner;
  let table: TableNames;
  const tag = randomUUID().slice(0, 8);
  const zone = `Z${tag.slice(0, 6)}`;
  const seller = `sell-${tag}`;
  const buyer = `buy-${tag}`;
  const S = `trader:${seller}`;
  const B = `trader:${buyer}`;
  let lastPosition = 0n;
  /** The domain's own ledger, fed the same transfers in the same order. */
  let ledger: LedgerState = emptyLedger();

  let running: RunningProjection<Target> | undefined;
  beforeAll(async () => {
    running = await startProjection(open, settlementProjection, logger);
    ({ target, store, runner, table } = running);
  });
  afterAll(() => running?.stop());

  async function append(streamId: string, events: NewEvent[]): Promise<bigint> {
    const result = await store.append(streamId, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'settlement-int' });
    lastPosition = result.lastPosition!;
    return result.lastPosition!;
  }

  // A 30-minute trade: 2,000 Wh at 120.00 EUR/MWh (12000 minor/MWh) → 24 cents; two periods of 1,000 Wh / 12 cents.
  const trade: SettlementTrade = {
    tradeId: `o-${tag}-1`,
    zone,
    currency: 'EUR',
    deliveryStart: T('10:00'),
    deliveryEnd: T('10:30'),
    buyOrderId: `o-${tag}-0`,
    sellOrderId: `o-${tag}-1`,
    buyerId: buyer,
    sellerId: seller,
    aggressorSide: 'sell',
    quantityWh: '2000',
    priceMinorPerMWh: '12000',
    executedAt: T('08:00'),
  };
  const parts = tradeParts(trade);
  const pendingOf = (periodStart: string) => {
    const part = parts.find((p) => p.periodStart === periodStart)!;
    return { energy: part.energyTransfer!, money: part.moneyTransfer! };
  };

  /**
   * A statement of the 10:00 period, shaped as deriveSettlement makes them: the seller delivered
   * `exportWh` of the 1,000 Wh it sold; the buyer took nothing. Revision 1 posts the trade's pending
   * transfers; revision 2 reverses every posting of revision 1 and posts again (the trade part
   * without postsPending).
   */
  function statement(revision: number, exportWh: string, previous: SettlementStatement | null, position: string): SettlementStatement {
    const id = (name: string) => `settlement/${zone}/${T('10:00')}/r${revision}/${name}`;
    const pending = pendingOf(T('10:00'));
    const posts = [
      transfer(id('trade/energy'), 'Wh', S, B, pending.energy.amount, 'trade_energy', { postsPending: revision === 1 ? pending.energy.transferId : null }),
      transfer(id('trade/money'), 'EUR', B, S, pending.money.amount, 'trade_money', { postsPending: revision === 1 ? pending.money.transferId : null }),
    ];
    const shortfall = (1000 - Number(exportWh)).toString();
    const own = [
      transfer(id('metered'), 'Wh', 'grid:metered', S, exportWh, 'metered_export'),
      transfer(id('imbalance/seller/energy'), 'Wh', 'grid:imbalance', S, shortfall, 'imbalance_energy'),
      transfer(id('imbalance/seller/money'), 'EUR', S, 'grid:imbalance', (Number(shortfall) / 100).toString(), 'imbalance_money'),
      transfer(id('imbalance/buyer/energy'), 'Wh', B, 'grid:imbalance', '1000', 'imbalance_energy'),
      transfer(id('imbalance/buyer/money'), 'EUR', 'grid:imbalance', B, '10', 'imbalance_money'),
    ];
    const reversals = previous === null ? [] : previous.transfers.filter((t) => t.kind !== 'reversal').map((t) => reversal(t, id(`reversal/${t.transferId}`)));
    const line = (participantId: string, extra: Partial<SettlementLine>): SettlementLine => ({
      participantId,
      account: `trader:${participantId}`,
      boughtWh: '0',
      soldWh: '0',
      contractedWh: '0',
      meteredExportWh: '0',
      meteredImportWh: '0',
      meteredNetWh: '0',
      imbalanceWh: '0',
      postedImbalanceWh: '0',
      imbalancePriceMinorPerKWh: '10',
      imbalanceAmountMinor: '0',
      tradeAmountMinor: '0',
      justifiedBy: [position],
      ...extra,
    });
    return {
      zone,
      periodStart: T('10:00'),
      periodEnd: T('10:15'),
      currency: 'EUR',
      revision,
      knownAt: T(revision === 1 ? '11:00' : '12:00'),
      inputsThrough: position,
      inputsHash: `${revision}`.repeat(64),
      inputCount: revision + 2,
      lines: [
        line(buyer, { boughtWh: '1000', contractedWh: '-1000', imbalanceWh: '1000', postedImbalanceWh: '1000', imbalanceAmountMinor: '10', tradeAmountMinor: '-12' }),
        line(seller, {
          soldWh: '1000',
          contractedWh: '1000',
          meteredExportWh: `${exportWh}.25`,
          meteredNetWh: `${exportWh}.25`,
          imbalanceWh: `-${Number(shortfall) - 0.25}`,
          postedImbalanceWh: `-${shortfall}`,
          imbalanceAmountMinor: `-${Number(shortfall) / 100}`,
          tradeAmountMinor: '12',
        }),
      ],
      transfers: [...reversals, ...posts, ...own],
    };
  }

  let rev1: SettlementStatement;
  let rev2: SettlementStatement;
  const settlementStream = `settlement-${zone}-20261120T1000Z`;

  it('holds a trade as pending, posts it at the close, reverses and posts again at a re-settlement', async () => {
    const tradePosition = await append(`market-${zone}-20261120T1000Z-30m`, [{ type: 'TradeExecuted', data: trade }]);
    ledger = recordPending(
      ledger,
      parts.flatMap((p) => [p.energyTransfer, p.moneyTransfer]).filter((t): t is Transfer => t !== null),
    );
    await caughtUp(runner, lastPosition);
    expect(await accountBalances(target.sql, table, { accountPrefix: `trader:`, ledger: 'Wh' }).then((rows) => rows.filter((r) => r.account === S || r.account === B))).toEqual([
      { ledger: 'Wh', account: B, posted: '0', pending: '2000' },
      { ledger: 'Wh', account: S, posted: '0', pending: '-2000' },
    ]);

    rev1 = statement(1, '800', null, tradePosition.toString());
    const rev1Position = await append(settlementStream, [{ type: 'SettlementPeriodClosed', data: rev1 }]);
    ledger = postTransfers(ledger, rev1.transfers);
    rev2 = statement(2, '900', rev1, rev1Position.toString());
    await append(settlementStream, [{ type: 'SettlementPeriodClosed', data: rev2 }]);
    ledger = postTransfers(ledger, rev2.transfers);
    await caughtUp(runner, lastPosition);

    // Both revisions readable; the latest by default.
    expect((await settlementStatement(target.sql, table, zone, T('10:00')))?.statement).toEqual(rev2);
    expect((await settlementStatement(target.sql, table, zone, T('10:00'), 1))?.statement).toEqual(rev1);
    expect(await settlementStatement(target.sql, table, zone, T('10:00'), 3)).toBeNull();
    expect(await settlementStatement(target.sql, table, zone, T('10:15'))).toBeNull();
    const revisions = await settlementRevisions(target.sql, table, zone, T('10:00'));
    expect(revisions.map((r) => [r.revision, r.knownAt, r.inputsThrough, r.inputCount])).toEqual([
      [1, T('11:00'), tradePosition.toString(), 3],
      [2, T('12:00'), rev1Position.toString(), 4],
    ]);
    expect(await closedPeriods(target.sql, table, zone)).toEqual([{ periodStart: T('10:00'), revision: 2 }]);
    expect(await closedPeriods(target.sql, table, zone, T('10:15'))).toEqual([]);
    expect(await statementLines(target.sql, table, zone, T('10:00'), 2)).toEqual(rev2.lines);
    expect(await statementLines(target.sql, table, zone, T('10:00'), 1)).toEqual(rev1.lines);

    // Every balance is the domain ledger's, posted and pending; every ledger sums to zero.
    const balances = await accountBalances(target.sql, table);
    const ours = balances.filter((b) => [S, B, 'grid:metered', 'grid:imbalance'].includes(b.account));
    expect(ours.length).toBe(7);
    for (const b of ours) {
      expect([b.ledger, b.account, b.posted, b.pending]).toEqual([b.ledger, b.account, balanceOf(ledger, b.ledger, b.account), pendingBalanceOf(ledger, b.ledger, b.account)]);
    }
    // Revision 2's figures only: the seller sold 1,000 Wh, metered 900, 100 short; pending: the 10:15 part.
    expect(ours.filter((b) => b.account === S)).toEqual([
      { ledger: 'EUR', account: S, posted: '11', pending: '12' },
      { ledger: 'Wh', account: S, posted: '0', pending: '-1000' },
    ]);
    for (const total of await ledgerTotals(target.sql, table)) expect([total.ledger, total.posted, total.pending]).toEqual([total.ledger, '0', '0']);

    // The holds of the 10:00 part are cleared by revision 1's postings now; the 10:15 ones still pending.
    const period = await periodTransfers(target.sql, table, zone, T('10:00'));
    expect(period.filter((t) => t.revision === null).map((t) => [t.transferId, t.status, t.postedBy, t.postedByRevision])).toEqual([
      [pendingOf(T('10:00')).energy.transferId, 'cleared', `settlement/${zone}/${T('10:00')}/r1/trade/energy`, 1],
      [pendingOf(T('10:00')).money.transferId, 'cleared', `settlement/${zone}/${T('10:00')}/r1/trade/money`, 1],
    ]);
    expect((await periodTransfers(target.sql, table, zone, T('10:15'))).map((t) => t.status)).toEqual(['pending', 'pending']);
    expect((await statementTransfers(target.sql, table, rev2)).map((t) => t.transferId)).toEqual(rev2.transfers.map((t) => t.transferId));

    // The seller's energy postings, two to a page, in ledger order.
    const pages: string[][] = [];
    let after: { position: bigint; ordinal: number } | null = null;
    for (;;) {
      const page = await accountPostings(target.sql, table, { account: S, ledger: 'Wh', first: 2, after });
      pages.push(page.postings.map((p) => `${p.kind}:${p.change}:${p.pendingChange}:${p.status}`));
      if (!page.hasNextPage) break;
      const last = page.postings.at(-1)!;
      after = { position: BigInt(last.position), ordinal: last.ordinal };
    }
    expect(pages.flat()).toEqual([
      'trade_energy:0:0:cleared',
      'trade_energy:0:-1000:pending',
      'trade_energy:-1000:0:posted',
      'metered_export:800:0:posted',
      'imbalance_energy:200:0:posted',
      'reversal:1000:0:posted',
      'reversal:-800:0:posted',
      'reversal:-200:0:posted',
      'trade_energy:-1000:0:posted',
      'metered_export:900:0:posted',
      'imbalance_energy:100:0:posted',
    ]);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
    expect(await countAccountPostings(target.sql, table, S, 'Wh')).toBe(11n);
  });

  const dump = (names: TableNames, logical: string) => dumpTable(target.sql, names, logical);

  it('never posts a transfer twice: the same events applied again change nothing', async () => {
    await caughtUp(runner, lastPosition);
    const before = await Promise.all(SETTLEMENT_TABLES.map((logical) => dump(table, logical)));
    const events = (await store.readAll())
      .filter((e) => e.type === 'TradeExecuted' || e.type === 'SettlementPeriodClosed')
      .filter((e) => (e.data as { zone: string }).zone === zone);
    expect(events.length).toBe(3);
    await target.sql.transaction((tx) => settlementProjection.applyBatch!(tx, events, table));
    for (const event of events) await target.sql.transaction((tx) => settlementProjection.apply(tx, event, table));
    expect(await Promise.all(SETTLEMENT_TABLES.map((logical) => dump(table, logical)))).toEqual(before);
  });

  it('builds identical rows from zero, in big batches, event by event, and in small batches', async () => {
    await caughtUp(runner, lastPosition);
    await expectSameRows(
      { target, store, table },
      lastPosition,
      SETTLEMENT_TABLES,
      [
        { name: 'rebuild', schema: target.schemas.rebuild, projection: settlementProjection, batchSize: 1000 },
        { name: 'per event', schema: target.schemas.perEvent, projection: perEventProjection, batchSize: 500 },
        { name: 'small batches', schema: target.schemas.smallBatches, projection: settlementProjection, batchSize: 1 },
      ],
      { logger },
    );
  });
}
