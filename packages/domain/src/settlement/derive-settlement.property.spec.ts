import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLog, sha256, T } from '../../test/settlement-fixtures.ts';
import { fromMilli, toMilli } from '../billing/apportion.ts';
import { Decimal } from '../values/index.ts';
import { deriveSettlement, inputsHashText } from './derive-settlement.ts';
import { emptyLedger, ledgerBalances, ledgerSums, postTransfers, recordPending, type LedgerState } from './ledger.ts';
import { sessionEnergyIn } from './session-energy.ts';
import { settlementDecider } from './settlement.ts';
import type { InputEvent, SettlementStatement, SettlementTrade, Transfer } from './settlement-types.ts';
import { tradeParts } from './trade-parts.ts';

/**
 * Random periods: a zone whose imbalance prices come from another price zone, portfolios assigned
 * before and after the period, trades of 15- and 60-minute products (inside, around and beside the
 * period, negative prices too), sessions with readings late, sent twice, corrected and reset, and
 * events recorded after the close. Checked: the statement does not depend on the order (or
 * repetition) of the events given; posted on a ledger holding the trades' pending transfers, every
 * ledger sums to zero and every Wh account but the grid's nets to zero; the decider accepts it;
 * the figures agree with each other and with sessionEnergyIn; a re-settlement with later inputs
 * leaves the ledger exactly as a first close with those inputs would.
 */
const RUNS = { numRuns: 200 };
const PERIOD = T('10:00');
const PERIOD_MS = Date.parse(PERIOD);
const MIN = 60_000;
const at = (minute: number, second = 0) => new Date(PERIOD_MS + minute * MIN + second * 1000).toISOString();

const PARTICIPANTS = ['p1', 'p2', 'p3', 'p 4/x'];
const FLEETS = ['F1', 'F2'];
const CUSTOMERS = ['C1', 'C2', 'C 3'];
const SITES = ['S1', 'S2'];

type Assignment = { participant: number; kind: 'fleet' | 'customer' | 'site'; member: number; validFromMinute: number; recordedMinute: number };
type TradeSpec = { seller: number; offset: number; quantityWh: number; priceCents: number; product: 0 | 1 | 2 | 3; recordedMinute: number };
type MeterSpec = { kind: 'reading' | 'correction' | 'reset'; minute: number; second: number; importMilli: bigint; exportMilli: bigint; recordedMinute: number };
type SessionSpec = { customer: number; fleet: number | null; site: number; plugMinute: number; meterStartMilli: bigint; meter: MeterSpec[] };
type Scenario = { assignments: Assignment[]; trades: TradeSpec[]; sessions: SessionSpec[]; revisedPrice: boolean; late: MeterSpec[] };

const recordedArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -60, max: 19 }) }, { weight: 1, arbitrary: fc.integer({ min: 21, max: 40 }) });
const meterArb: fc.Arbitrary<MeterSpec> = fc.record({
  kind: fc.constantFrom<MeterSpec['kind']>('reading', 'reading', 'reading', 'correction', 'reset'),
  minute: fc.integer({ min: -20, max: 30 }),
  second: fc.constantFrom(0, 0, 15),
  importMilli: fc.bigInt({ min: 0n, max: 8_000_000n }),
  exportMilli: fc.bigInt({ min: 0n, max: 8_000_000n }),
  recordedMinute: recordedArb,
});
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  assignments: fc.array(
    fc.record({
      participant: fc.nat(PARTICIPANTS.length - 1),
      kind: fc.constantFrom<Assignment['kind']>('fleet', 'customer', 'site'),
      member: fc.nat(2),
      validFromMinute: fc.constantFrom(-600, -15, 0, 5, 30),
      recordedMinute: recordedArb,
    }),
    { maxLength: 6 },
  ),
  trades: fc.array(
    fc.record({
      seller: fc.nat(PARTICIPANTS.length - 1),
      offset: fc.integer({ min: 1, max: PARTICIPANTS.length - 1 }),
      quantityWh: fc.integer({ min: 1, max: 40_000 }),
      priceCents: fc.integer({ min: -5_000_000, max: 40_000_000 }),
      product: fc.constantFrom<TradeSpec['product']>(0, 1, 2, 3),
      recordedMinute: recordedArb,
    }),
    { maxLength: 6 },
  ),
  sessions: fc.array(
    fc.record({
      customer: fc.nat(CUSTOMERS.length - 1),
      fleet: fc.option(fc.nat(FLEETS.length - 1), { nil: null }),
      site: fc.nat(SITES.length - 1),
      plugMinute: fc.integer({ min: -20, max: 10 }),
      meterStartMilli: fc.bigInt({ min: 0n, max: 1_000_000n }),
      meter: fc.array(meterArb, { maxLength: 6 }),
    }),
    { maxLength: 4 },
  ),
  revisedPrice: fc.boolean(),
  late: fc.array(meterArb, { maxLength: 3 }),
});

const PRODUCTS: [startMinute: number, endMinute: number][] = [
  [0, 15],
  [0, 60],
  [-60, 0], // beside the period: not used
  [15, 30],
];

function build(s: Scenario): { log: EventLog; lateEvents: () => void } {
  const log = new EventLog();
  const rec = (minute: number) => at(minute);
  log.configure('NL', 'EUR', 'NLP', rec(-120));
  for (const p of PARTICIPANTS) log.register('NL', p, rec(-119));
  log.prices(
    'NLP',
    'EUR',
    [
      [at(-15), '7'],
      [PERIOD, '12.5'],
      [at(15), '3'],
    ],
    rec(-100),
  );
  if (s.revisedPrice) log.prices('NLP', 'EUR', [[PERIOD, '-4.25']], rec(-50), true);
  log.prices('XX', 'EUR', [[PERIOD, '999']], rec(-100)); // another zone's price: never used
  for (const a of s.assignments) {
    const members = a.kind === 'fleet' ? FLEETS : a.kind === 'customer' ? CUSTOMERS : SITES;
    log.assign('NL', PARTICIPANTS[a.participant]!, a.kind, members[a.member % members.length]!, at(a.validFromMinute), rec(a.recordedMinute));
  }
  s.trades.forEach((t, i) => {
    const [start, end] = PRODUCTS[t.product]!;
    const price = new Decimal(t.priceCents).div(100).toFixed();
    log.trade(
      {
        tradeId: `o${i}-1`,
        sellerId: PARTICIPANTS[t.seller]!,
        buyerId: PARTICIPANTS[(t.seller + t.offset) % PARTICIPANTS.length]!,
        quantityWh: String(t.quantityWh),
        priceMinorPerMWh: price,
        deliveryStart: at(start),
        deliveryEnd: at(end),
      },
      rec(t.recordedMinute),
    );
  });
  const meter = (sessionId: string, m: MeterSpec) => {
    const args = [sessionId, at(m.minute, m.second), fromMilli(m.importMilli), fromMilli(m.exportMilli), rec(m.recordedMinute)] as const;
    if (m.kind === 'reset') log.reset(...args);
    else if (m.kind === 'correction') log.correction(...args);
    else log.reading(...args);
  };
  s.sessions.forEach((session, i) => {
    const id = `s${i}`;
    const who = { customerId: CUSTOMERS[session.customer]!, fleetId: session.fleet === null ? null : FLEETS[session.fleet]!, siteId: SITES[session.site]! };
    const start = fromMilli(session.meterStartMilli);
    log.plugIn(id, who, at(session.plugMinute), rec(Math.min(session.plugMinute, 19)), [start, start]);
    for (const m of session.meter) meter(id, m);
  });
  // Arrives after the first close: recorded at 10:30-10:40.
  const lateEvents = () => s.late.forEach((m, i) => s.sessions.length > 0 && meter(`s${i % s.sessions.length}`, { ...m, recordedMinute: 30 + (m.recordedMinute & 7) }));
  return { log, lateEvents };
}

const derive = (events: readonly InputEvent[], knownAt: string, previous: SettlementStatement | null = null) =>
  deriveSettlement({
    zone: 'NL',
    periodStart: PERIOD,
    knownAt,
    inputsThrough: events.reduce((max, e) => (BigInt(e.position) > max ? BigInt(e.position) : max), 0n).toString(),
    events,
    previous,
    sha256,
  });

function pendingLedger(events: readonly InputEvent[]): LedgerState {
  const pending = events
    .filter((e) => e.type === 'TradeExecuted')
    .flatMap((e) => tradeParts(e.data as SettlementTrade))
    .flatMap((p) => [p.energyTransfer, p.moneyTransfer])
    .filter((x): x is Transfer => x !== null);
  return recordPending(emptyLedger(), pending);
}

/** A deterministic shuffle with repeats, from a seed. */
function scramble<T>(items: readonly T[], seed: number): T[] {
  const keyed = items.map((item, i) => ({ item, key: (i * 2654435761 + seed * 40503) % 1000003 }));
  const shuffled = keyed.sort((a, b) => a.key - b.key).map((k) => k.item);
  return [...shuffled, ...items.filter((_, i) => (i + seed) % 5 === 0)];
}

function checkPosted(ledger: LedgerState): void {
  for (const sum of ledgerSums(ledger).values()) expect(sum).toBe('0');
  for (const sum of ledgerSums(ledger, 'pendingBalances').values()) expect(sum).toBe('0');
  for (const [account] of ledgerBalances(ledger, 'Wh')) expect(['grid:imbalance', 'grid:metered'], `Wh account ${account} nets to zero`).toContain(account);
}

describe('deriveSettlement (properties)', () => {
  it('is deterministic, balances, nets every Wh account but the grid to zero, and re-settles to what a first close would give', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(1000), (scenario, seed) => {
        const { log, lateEvents } = build(scenario);
        const knownAt = at(20);
        const r1 = derive(log.events, knownAt);

        // Any order, with repeats: byte-identical.
        expect(JSON.stringify(derive(scramble(log.events, seed), knownAt))).toBe(JSON.stringify(r1));

        // Figures agree with each other.
        let tradeMoney = 0n;
        for (const line of r1.lines) {
          expect(BigInt(line.contractedWh)).toBe(BigInt(line.soldWh) - BigInt(line.boughtWh));
          const net = new Decimal(line.meteredExportWh).minus(line.meteredImportWh);
          expect(line.meteredNetWh).toBe(net.isZero() ? '0' : net.toFixed());
          expect(new Decimal(line.imbalanceWh).equals(net.minus(line.contractedWh))).toBe(true);
          expect(new Decimal(line.postedImbalanceWh).minus(line.imbalanceWh).abs().lte(1)).toBe(true);
          tradeMoney += BigInt(line.tradeAmountMinor);
        }
        expect(tradeMoney).toBe(0n);
        expect(r1.lines.map((l) => l.participantId)).toEqual([...r1.lines.map((l) => l.participantId)].sort());

        // Metered energy is the sessions' own (as billing counts it), all of it attributed once.
        const known = log.events.filter((e) => Date.parse(e.recordedAt) <= Date.parse(knownAt));
        let exportMilli = 0n;
        let importMilli = 0n;
        for (const streamId of new Set(known.filter((e) => e.streamId.startsWith('session-')).map((e) => e.streamId))) {
          const e = sessionEnergyIn(
            known.filter((x) => x.streamId === streamId),
            PERIOD_MS,
            PERIOD_MS + 15 * MIN,
          );
          exportMilli += toMilli(e.exportWh);
          importMilli += toMilli(e.importWh);
        }
        expect(r1.lines.reduce((sum, l) => sum + toMilli(l.meteredExportWh), 0n)).toBe(exportMilli);
        expect(r1.lines.reduce((sum, l) => sum + toMilli(l.meteredImportWh), 0n)).toBe(importMilli);

        // Exactly the inputs used are hashed.
        const used = new Set(r1.lines.flatMap((l) => l.justifiedBy));
        if (r1.lines.length === 0) expect(r1.inputCount).toBe(2);
        else expect(r1.inputCount).toBe(used.size);
        if (r1.lines.length > 0) expect(r1.inputsHash).toBe(sha256(inputsHashText(log.events.filter((e) => used.has(e.position)))));

        // Posted after the pending trade transfers.
        const ledger1 = postTransfers(pendingLedger(log.events), r1.transfers);
        checkPosted(ledger1);
        expect(settlementDecider.decide({ type: 'CloseSettlementPeriod', at: at(20), statement: r1 }, settlementDecider.initialState())).toEqual([
          { type: 'SettlementPeriodClosed', data: r1 },
        ]);

        // Re-settlement with what arrived later.
        lateEvents();
        const knownAt2 = at(45);
        const r2 = derive(log.events, knownAt2, r1);
        const fresh = derive(log.events, knownAt2);
        if (r2 === r1) {
          expect(fresh.inputsHash).toBe(r1.inputsHash);
          return;
        }
        expect(r2.revision).toBe(2);
        expect(JSON.stringify(derive(scramble(log.events, seed + 1), knownAt2, r1))).toBe(JSON.stringify(r2));
        const state = settlementDecider.evolve(settlementDecider.initialState(), { type: 'SettlementPeriodClosed', data: r1 });
        expect(settlementDecider.decide({ type: 'CloseSettlementPeriod', at: knownAt2, statement: r2 }, state)).toEqual([{ type: 'SettlementPeriodClosed', data: r2 }]);
        const ledger2 = postTransfers(ledger1, r2.transfers);
        checkPosted(ledger2);
        const direct = postTransfers(pendingLedger(log.events), fresh.transfers);
        for (const code of ['Wh', 'EUR']) expect(ledgerBalances(ledger2, code)).toEqual(ledgerBalances(direct, code));
        expect(r2.lines).toEqual(fresh.lines);
        // A retried posting of the revision posts nothing new.
        expect(postTransfers(ledger2, r2.transfers)).toBe(ledger2);
      }),
      RUNS,
    );
  });
});
