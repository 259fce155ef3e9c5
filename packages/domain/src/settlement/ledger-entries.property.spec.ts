import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLog, sha256, T } from '../../test/settlement-fixtures.ts';
import { Decimal } from '../values/index.ts';
import { deriveSettlement } from './derive-settlement.ts';
import { accountEntries } from './ledger-entries.ts';
import { balanceOf, emptyLedger, pendingBalanceOf, postTransfers, recordPending, type LedgerState } from './ledger.ts';
import { settlementDecider, type SettlementState } from './settlement.ts';
import type { SettlementStatement, SettlementTrade, Transfer } from './settlement-types.ts';
import { tradeParts } from './trade-parts.ts';

/**
 * Random days of trading and settling: trades of 15-, 30- and 45-minute products over three
 * periods, arriving before, between and after the closes of the periods they deliver in (a trade
 * a close did not know is settled by a later revision), and closes (first closes and
 * re-settlements) in any order; the ledger records each trade's holds when it executes and posts
 * each revision the decider accepts. After every step, each account's entries (accountEntries)
 * add up to its balances, posted and pending. Once every period is settled with every trade known,
 * nothing is pending any more (each hold cleared by the revision that first settled its trade) and
 * each trader's money is what the last revisions' lines say: its trades plus its imbalances.
 */
const RUNS = { numRuns: 150 };
const BASE_MS = Date.parse(T('10:00'));
const MIN = 60_000;
const at = (minute: number) => new Date(BASE_MS + minute * MIN).toISOString();
const PERIODS = [at(0), at(15), at(30)];
const TRADERS = ['a', 'b', 'c'];
const PRODUCTS: [startMinute: number, endMinute: number][] = [
  [0, 15],
  [15, 30],
  [30, 45],
  [0, 30],
  [0, 45],
];

type Step = { kind: 'trade'; seller: number; offset: number; quantityWh: number; priceCents: number; product: number } | { kind: 'close'; period: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('trade' as const),
    seller: fc.nat(TRADERS.length - 1),
    offset: fc.integer({ min: 1, max: TRADERS.length - 1 }),
    quantityWh: fc.integer({ min: 1, max: 9_000 }),
    priceCents: fc.integer({ min: -5_000_000, max: 40_000_000 }),
    product: fc.nat(PRODUCTS.length - 1),
  }),
  fc.record({ kind: fc.constant('close' as const), period: fc.nat(PERIODS.length - 1) }),
);

const ACCOUNTS = [...TRADERS.map((t) => `trader:${t}`), 'grid:imbalance'];

function expectEntriesSumToBalances(ledger: LedgerState): void {
  for (const code of ['Wh', 'EUR']) {
    for (const account of ACCOUNTS) {
      const entries = accountEntries(ledger, code, account);
      const posted = entries.reduce((sum, e) => sum.plus(e.change), new Decimal(0));
      const pending = entries.reduce((sum, e) => sum.plus(e.pendingChange), new Decimal(0));
      expect(posted.toFixed(), `${code} ${account} posted`).toBe(balanceOf(ledger, code, account));
      expect(pending.toFixed(), `${code} ${account} pending`).toBe(pendingBalanceOf(ledger, code, account));
    }
  }
}

describe('ledger entries (properties)', () => {
  it("add up to every account's balances over random trades and settlements; once all is settled nothing is pending", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 14 }), (steps) => {
        const log = new EventLog();
        // All after the last period's end: the closes may happen at any step; trades arrive when they arrive.
        let minute = 60;
        log.configure('NL', 'EUR', 'NLP', at(minute));
        for (const p of TRADERS) log.register('NL', p, at(minute));
        log.prices(
          'NLP',
          'EUR',
          PERIODS.map((p, i): [string, string] => [p, ['12.5', '-3', '7'][i]!]),
          at(minute),
        );
        let ledger = emptyLedger();
        const streams = PERIODS.map((): SettlementState => settlementDecider.initialState());
        let trades = 0;

        const close = (period: number) => {
          minute += 1;
          const state = streams[period]!;
          const previous: SettlementStatement | null = state.revisions.at(-1) ?? null;
          const statement = deriveSettlement({
            zone: 'NL',
            periodStart: PERIODS[period]!,
            knownAt: at(minute),
            inputsThrough: log.events.at(-1)!.position,
            events: log.events,
            previous,
            sha256,
          });
          const events = settlementDecider.decide({ type: 'CloseSettlementPeriod', at: at(minute), statement }, state);
          if (statement === previous) {
            expect(events).toEqual([]);
            return;
          }
          expect(events).toEqual([{ type: 'SettlementPeriodClosed', data: statement }]);
          streams[period] = settlementDecider.evolve(state, events[0]!);
          ledger = postTransfers(ledger, statement.transfers);
        };

        for (const step of steps) {
          if (step.kind === 'trade') {
            minute += 1;
            const [start, end] = PRODUCTS[step.product]!;
            const event = log.trade(
              {
                tradeId: `t${trades++}`,
                sellerId: TRADERS[step.seller]!,
                buyerId: TRADERS[(step.seller + step.offset) % TRADERS.length]!,
                quantityWh: String(step.quantityWh),
                priceMinorPerMWh: new Decimal(step.priceCents).div(100).toFixed(),
                deliveryStart: at(start),
                deliveryEnd: at(end),
              },
              at(minute),
            );
            const holds = tradeParts(event.data as SettlementTrade)
              .flatMap((p) => [p.energyTransfer, p.moneyTransfer])
              .filter((x): x is Transfer => x !== null);
            ledger = recordPending(ledger, holds);
          } else {
            close(step.period);
          }
          expectEntriesSumToBalances(ledger);
        }

        // Every period settled with every trade known.
        PERIODS.forEach((_, period) => close(period));
        expectEntriesSumToBalances(ledger);
        for (const code of ['Wh', 'EUR']) for (const account of ACCOUNTS) expect(pendingBalanceOf(ledger, code, account), `${code} ${account} pending`).toBe('0');
        for (const [id, held] of ledger.pending) {
          expect(held.status, id).toBe('posted');
          // Posted by the first revision of its period that settles the trade: that revision's own posting of it.
          const [, tradeId, periodStart, leg] = /^trade\/(.+)\/([^/]+)\/(energy|money)$/.exec(id)!;
          const revisions = streams[PERIODS.indexOf(periodStart!)]!.revisions;
          const first = revisions.find((r) => r.transfers.some((t) => t.transferId.endsWith(`/trade/${tradeId}/${leg}`) && t.kind !== 'reversal'))!;
          expect(held.postedBy).toBe(`settlement/NL/${periodStart}/r${first.revision}/trade/${tradeId}/${leg}`);
        }
        // Each trader's money and energy: what the last revisions' lines say.
        for (const trader of TRADERS) {
          const lines = streams.flatMap((s) => s.revisions.at(-1)?.lines ?? []).filter((l) => l.participantId === trader);
          const money = lines.reduce((sum, l) => sum + BigInt(l.tradeAmountMinor) + BigInt(l.imbalanceAmountMinor), 0n);
          expect(balanceOf(ledger, 'EUR', `trader:${trader}`)).toBe(money.toString());
          expect(balanceOf(ledger, 'Wh', `trader:${trader}`)).toBe('0');
        }
      }),
      RUNS,
    );
  });
});
