import { describe, expect, it } from 'vitest';
import { EventLog, handExample, sha256, T } from '../../test/settlement-fixtures.ts';
import { DomainError } from '../errors.ts';
import { deriveSettlement, inputsHashText, type DeriveSettlementArgs } from './derive-settlement.ts';
import { emptyLedger, ledgerBalances, ledgerSums, postTransfers, recordPending, type LedgerState } from './ledger.ts';
import type { InputEvent, SettlementStatement, Transfer } from './settlement-types.ts';
import { tradeParts } from './trade-parts.ts';

const P = 'settlement/NL/2026-11-28T10:00:00.000Z/r1/';
const P2 = 'settlement/NL/2026-11-28T10:00:00.000Z/r2/';
const t = (
  transferId: string,
  ledger: string,
  debitAccount: string,
  creditAccount: string,
  amount: string,
  kind: Transfer['kind'],
  postsPending: string | null = null,
): Transfer => ({
  transferId,
  ledger,
  debitAccount,
  creditAccount,
  amount,
  kind,
  reverses: null,
  postsPending,
});

const derive = (events: readonly InputEvent[], extra: Partial<DeriveSettlementArgs> = {}): SettlementStatement =>
  deriveSettlement({ zone: 'NL', periodStart: T('10:00'), knownAt: T('10:20'), inputsThrough: events.at(-1)!.position, events, previous: null, sha256, ...extra });

/** Records the pending trade transfers of every trade among `events`, as the market would at match time. */
function withPendingTrades(events: readonly InputEvent[]): LedgerState {
  const pending = events
    .filter((e) => e.type === 'TradeExecuted')
    .flatMap((e) => tradeParts(e.data as Parameters<typeof tradeParts>[0]))
    .flatMap((part) => [part.energyTransfer, part.moneyTransfer])
    .filter((x): x is Transfer => x !== null);
  return recordPending(emptyLedger(), pending);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return (error as DomainError & { code: string }).code;
  }
  throw new Error('expected a refusal');
}

describe('deriveSettlement: the hand-computed example', () => {
  const ex = handExample();
  const r1 = derive(ex.log.events);

  it('has a line per participant with the figures worked out by hand', () => {
    // agg sold 10 kWh (+80 minor) and delivered 8: imbalance -2 kWh × 12 minor/kWh = pays 24.
    // retailer bought 10 kWh (-80 minor) and has no metered energy: +10 kWh surplus, paid 120.
    const common = [ex.config.position, ex.price.position];
    expect(r1.lines).toEqual([
      {
        participantId: 'agg',
        account: 'trader:agg',
        boughtWh: '0',
        soldWh: '10000',
        contractedWh: '10000',
        meteredExportWh: '8000',
        meteredImportWh: '0',
        meteredNetWh: '8000',
        imbalanceWh: '-2000',
        postedImbalanceWh: '-2000',
        imbalancePriceMinorPerKWh: '12',
        imbalanceAmountMinor: '-24',
        tradeAmountMinor: '80',
        justifiedBy: [...common, ex.portfolio.position, ex.trade.position, ex.plugIn.position, ex.reading.position].sort((a, b) => Number(a) - Number(b)),
      },
      {
        participantId: 'retailer',
        account: 'trader:retailer',
        boughtWh: '10000',
        soldWh: '0',
        contractedWh: '-10000',
        meteredExportWh: '0',
        meteredImportWh: '0',
        meteredNetWh: '0',
        imbalanceWh: '10000',
        postedImbalanceWh: '10000',
        imbalancePriceMinorPerKWh: '12',
        imbalanceAmountMinor: '120',
        tradeAmountMinor: '-80',
        justifiedBy: [...common, ex.trade.position].sort((a, b) => Number(a) - Number(b)),
      },
    ]);
  });

  it('pins every transfer', () => {
    expect(r1.transfers).toEqual([
      t(`${P}imbalance/agg/energy`, 'Wh', 'grid:imbalance', 'trader:agg', '2000', 'imbalance_energy'),
      t(`${P}imbalance/agg/money`, 'EUR', 'trader:agg', 'grid:imbalance', '24', 'imbalance_money'),
      t(`${P}imbalance/retailer/energy`, 'Wh', 'trader:retailer', 'grid:imbalance', '10000', 'imbalance_energy'),
      t(`${P}imbalance/retailer/money`, 'EUR', 'grid:imbalance', 'trader:retailer', '120', 'imbalance_money'),
      t(`${P}metered/agg/fleet-1/export`, 'Wh', 'customer:fleet-1', 'trader:agg', '8000', 'metered_export'),
      t(`${P}physical/fleet-1`, 'Wh', 'grid:metered', 'customer:fleet-1', '8000', 'physical'),
      t(`${P}trade/T1/energy`, 'Wh', 'trader:agg', 'trader:retailer', '10000', 'trade_energy', 'trade/T1/2026-11-28T10:00:00.000Z/energy'),
      t(`${P}trade/T1/money`, 'EUR', 'trader:retailer', 'trader:agg', '80', 'trade_money', 'trade/T1/2026-11-28T10:00:00.000Z/money'),
    ]);
  });

  it('hashes exactly the events it used, and says how far it read', () => {
    const used = [ex.config, ex.portfolio, ex.price, ex.trade, ex.plugIn, ex.reading];
    expect(r1).toMatchObject({
      zone: 'NL',
      periodStart: T('10:00'),
      periodEnd: T('10:15'),
      currency: 'EUR',
      revision: 1,
      knownAt: T('10:20'),
      inputsThrough: ex.reading.position,
      inputCount: 6,
      inputsHash: sha256(used.map((e) => `${e.position}:${e.hash}\n`).join('')),
    });
    expect(inputsHashText([...used].reverse())).toBe(used.map((e) => `${e.position}:${e.hash}\n`).join(''));
  });

  it('posts on the ledger after the pending trade transfers: every Wh account but the grid nets to zero', () => {
    const ledger = postTransfers(withPendingTrades(ex.log.events), r1.transfers);
    expect(ledgerBalances(ledger, 'Wh')).toEqual([
      ['grid:imbalance', '8000'],
      ['grid:metered', '-8000'],
    ]);
    expect(ledgerBalances(ledger, 'EUR')).toEqual([
      ['grid:imbalance', '-96'],
      ['trader:agg', '56'],
      ['trader:retailer', '40'],
    ]);
    expect(ledgerSums(ledger, 'pendingBalances')).toEqual(
      new Map([
        ['Wh', '0'],
        ['EUR', '0'],
      ]),
    );
    expect([...ledger.pending.values()].map((p) => p.status)).toEqual(['posted', 'posted']);
  });

  it('ignores what was recorded after knownAt or beyond inputsThrough', () => {
    const log = handExample().log;
    const late = log.correction('s1', T('10:15'), '0', '9000', T('10:40'));
    expect(JSON.stringify(derive(log.events, { inputsThrough: late.position }))).toBe(JSON.stringify({ ...r1, inputsThrough: late.position }));
    expect(JSON.stringify(derive(log.events, { knownAt: T('11:00'), inputsThrough: ex.reading.position }))).toBe(JSON.stringify({ ...r1, knownAt: T('11:00') }));
  });
});

describe('deriveSettlement: re-settlement after a late reading', () => {
  const ex = handExample();
  const r1 = derive(ex.log.events);
  const correction = ex.log.correction('s1', T('10:15'), '0', '9000', T('10:40'));
  const r2 = derive(ex.log.events, { knownAt: T('10:45'), inputsThrough: correction.position, previous: r1 });

  it('reverses every posting of the previous revision, then posts again without postsPending', () => {
    expect(r2.revision).toBe(2);
    expect(r2.inputCount).toBe(7);
    const reversals = r1.transfers.map((x) => ({
      ...x,
      transferId: `${P2}reversal/${x.transferId}`,
      debitAccount: x.creditAccount,
      creditAccount: x.debitAccount,
      kind: 'reversal',
      reverses: x.transferId,
      postsPending: null,
    }));
    expect(r2.transfers).toEqual([
      ...reversals,
      t(`${P2}imbalance/agg/energy`, 'Wh', 'grid:imbalance', 'trader:agg', '1000', 'imbalance_energy'),
      t(`${P2}imbalance/agg/money`, 'EUR', 'trader:agg', 'grid:imbalance', '12', 'imbalance_money'),
      t(`${P2}imbalance/retailer/energy`, 'Wh', 'trader:retailer', 'grid:imbalance', '10000', 'imbalance_energy'),
      t(`${P2}imbalance/retailer/money`, 'EUR', 'grid:imbalance', 'trader:retailer', '120', 'imbalance_money'),
      t(`${P2}metered/agg/fleet-1/export`, 'Wh', 'customer:fleet-1', 'trader:agg', '9000', 'metered_export'),
      t(`${P2}physical/fleet-1`, 'Wh', 'grid:metered', 'customer:fleet-1', '9000', 'physical'),
      t(`${P2}trade/T1/energy`, 'Wh', 'trader:agg', 'trader:retailer', '10000', 'trade_energy'),
      t(`${P2}trade/T1/money`, 'EUR', 'trader:retailer', 'trader:agg', '80', 'trade_money'),
    ]);
    expect(r2.lines[0]).toMatchObject({ participantId: 'agg', meteredExportWh: '9000', imbalanceWh: '-1000', imbalanceAmountMinor: '-12' });
    expect(r2.lines[0]!.justifiedBy).toContain(correction.position);
  });

  it('leaves the ledger as a first close with all the inputs would', () => {
    const resettled = postTransfers(postTransfers(withPendingTrades(ex.log.events), r1.transfers), r2.transfers);
    const direct = postTransfers(withPendingTrades(ex.log.events), derive(ex.log.events, { knownAt: T('10:45'), inputsThrough: correction.position }).transfers);
    for (const ledger of ['Wh', 'EUR']) expect(ledgerBalances(resettled, ledger)).toEqual(ledgerBalances(direct, ledger));
  });

  it('a third revision reverses only the second revision postings', () => {
    const again = ex.log.correction('s1', T('10:15'), '0', '8500', T('10:50'));
    const r3 = derive(ex.log.events, { knownAt: T('10:55'), inputsThrough: again.position, previous: r2 });
    expect(r3.revision).toBe(3);
    expect(r3.transfers.filter((x) => x.kind === 'reversal').map((x) => x.reverses)).toEqual(r2.transfers.filter((x) => x.kind !== 'reversal').map((x) => x.transferId));
    let ledger = withPendingTrades(ex.log.events);
    for (const s of [r1, r2, r3]) ledger = postTransfers(ledger, s.transfers);
    expect(ledgerBalances(ledger, 'Wh')).toEqual([
      ['grid:imbalance', '8500'],
      ['grid:metered', '-8500'],
    ]);
  });

  it('returns the previous statement itself when nothing it uses changed', () => {
    const log = handExample().log;
    const first = derive(log.events);
    log.register('NL', 'newcomer', T('10:30')); // not used
    log.reading('s1', T('10:15'), '0', '8000', T('10:31')); // sent again: changes nothing
    log.reading('s1', T('10:40'), '0', '8100', T('10:41')); // the next period's
    expect(derive(log.events, { knownAt: T('10:45'), inputsThrough: log.events.at(-1)!.position, previous: first })).toBe(first);
  });
});

describe('deriveSettlement: attribution and refusals', () => {
  it('gives a session to the portfolio of its fleet, else its customer, else its site, else the operator, as assigned at periodStart', () => {
    const log = new EventLog();
    log.configure('NL', 'EUR', 'NL', T('08:00'));
    log.prices('NL', 'EUR', [[T('10:00'), '10']], T('08:00'));
    log.assign('NL', 'by-fleet', 'fleet', 'F', T('00:00'), T('08:00'));
    log.assign('NL', 'by-customer', 'customer', 'C', T('00:00'), T('08:00'));
    log.assign('NL', 'by-site', 'site', 'S', T('00:00'), T('08:00'));
    log.assign('NL', 'too-late', 'customer', 'C', T('10:05'), T('08:00')); // from after periodStart: not yet
    log.assign('NL', 'moved', 'site', 'S2', T('00:00'), T('08:00'));
    log.assign('NL', 'moved-again', 'site', 'S2', T('00:00'), T('08:05')); // same validFrom, later: wins
    const session = (id: string, who: { customerId: string; fleetId?: string | null; siteId?: string }, exportWh: string) => {
      log.plugIn(id, who, T('10:00'), T('10:00'));
      log.reading(id, T('10:10'), '0', exportWh, T('10:10'));
    };
    session('a', { customerId: 'C', fleetId: 'F', siteId: 'S' }, '1');
    session('b', { customerId: 'C', fleetId: 'other', siteId: 'S' }, '2');
    session('c', { customerId: 'other', siteId: 'S' }, '4');
    session('d', { customerId: 'other', siteId: 'S2' }, '8');
    session('e', { customerId: 'nobody', siteId: 'nowhere' }, '16');
    const s = derive(log.events);
    expect(s.lines.map((l) => [l.participantId, l.account, l.meteredExportWh])).toEqual([
      ['by-customer', 'trader:by-customer', '2'],
      ['by-fleet', 'trader:by-fleet', '1'],
      ['by-site', 'trader:by-site', '4'],
      ['moved-again', 'trader:moved-again', '8'],
      ['operator', 'operator', '16'],
    ]);
    // Billing accounts: fleetId ?? customerId.
    expect(s.transfers.filter((x) => x.kind === 'metered_export').map((x) => x.debitAccount)).toEqual([
      'customer:other',
      'customer:F',
      'customer:other',
      'customer:other',
      'customer:nobody',
    ]);
  });

  it('rounds each participant total half-even and allocates it to its customers so the parts add up', () => {
    const log = new EventLog();
    log.configure('NL', 'EUR', 'NL', T('08:00'));
    log.prices('NL', 'EUR', [[T('10:00'), '10']], T('08:00'));
    log.assign('NL', 'p', 'site', 'S', T('00:00'), T('08:00'));
    for (const [id, customerId] of [
      ['a', 'A'],
      ['b', 'B'],
      ['c', 'C'],
    ] as const) {
      log.plugIn(id, { customerId, siteId: 'S' }, T('10:00'), T('10:00'));
      log.reading(id, T('10:10'), '0', '1.5', T('10:10')); // 1.5 Wh each: 4.5 → 4 in all
    }
    const s = derive(log.events);
    expect(s.lines[0]).toMatchObject({ meteredExportWh: '4.5', imbalanceWh: '4.5', postedImbalanceWh: '4', imbalanceAmountMinor: '0' });
    const exports = s.transfers.filter((x) => x.kind === 'metered_export');
    expect(exports.reduce((sum, x) => sum + BigInt(x.amount), 0n)).toBe(4n);
    expect(exports.every((x) => x.amount === '1' || x.amount === '2')).toBe(true);
  });

  it('refuses without a zone configuration or an imbalance price known at the close', () => {
    const ex = handExample();
    const withoutConfig = ex.log.events.filter((e) => e !== ex.config);
    expect(codeOf(() => derive(withoutConfig))).toBe('MARKET_ZONE_NOT_CONFIGURED');
    const withoutPrice = ex.log.events.filter((e) => e !== ex.price);
    expect(codeOf(() => derive(withoutPrice))).toBe('IMBALANCE_PRICE_MISSING');
    expect(codeOf(() => derive(ex.log.events, { knownAt: T('08:30') }))).toBe('IMBALANCE_PRICE_MISSING');
    expect(codeOf(() => derive(ex.log.events, { knownAt: T('07:00') }))).toBe('MARKET_ZONE_NOT_CONFIGURED');
    expect(codeOf(() => derive(ex.log.events, { periodStart: T('10:05') }))).toBe('INVALID_COMMAND');
  });

  it('uses the last revision of the period price known at the close', () => {
    const ex = handExample();
    const revised = ex.log.prices('NL', 'EUR', [[T('10:00'), '15']], T('10:30'), true);
    expect(derive(ex.log.events, { knownAt: T('10:20'), inputsThrough: revised.position }).lines[0]!.imbalanceAmountMinor).toBe('-24');
    const later = derive(ex.log.events, { knownAt: T('10:30'), inputsThrough: revised.position });
    expect(later.lines[0]).toMatchObject({ imbalancePriceMinorPerKWh: '15', imbalanceAmountMinor: '-30' });
    expect(later.lines[0]!.justifiedBy).toContain(revised.position);
    expect(later.lines[0]!.justifiedBy).not.toContain(ex.price.position);
  });
});
