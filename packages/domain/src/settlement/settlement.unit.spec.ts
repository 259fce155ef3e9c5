import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { handExample, sha256, T } from '../../test/settlement-fixtures.ts';
import { InvalidCommand } from '../errors.ts';
import { deriveSettlement } from './derive-settlement.ts';
import { PendingTransferInvalid, PeriodNotOver, ReversalInvalid, SettlementRevisionConflict, SettlementUnbalanced, TransferAmountInvalid } from './settlement-errors.ts';
import { settlementDecider, settlementStreamId } from './settlement.ts';
import type { SettlementEvent, SettlementStatement } from './settlement-types.ts';

const given = givenFor(settlementDecider);
const close = (statement: SettlementStatement, at = T('10:30')) => ({ type: 'CloseSettlementPeriod' as const, at, statement });
const closed = (statement: SettlementStatement): SettlementEvent => ({ type: 'SettlementPeriodClosed', data: statement });

const ex = handExample();
const r1 = deriveSettlement({ zone: 'NL', periodStart: T('10:00'), knownAt: T('10:20'), inputsThrough: ex.reading.position, events: ex.log.events, previous: null, sha256 });
const late = ex.log.correction('s1', T('10:15'), '0', '9000', T('10:40'));
const r2 = deriveSettlement({ zone: 'NL', periodStart: T('10:00'), knownAt: T('10:45'), inputsThrough: late.position, events: ex.log.events, previous: r1, sha256 });

describe('settlementDecider', () => {
  it('names the stream by zone and period', () => {
    expect(settlementStreamId('NL', T('10:00'))).toBe('settlement-NL-20261128T1000Z');
    expect(settlementStreamId('DE-LU', '2026-01-02T23:45Z')).toBe('settlement-DE-LU-20260102T2345Z');
  });

  it('closes a period that is over with the statement', () => {
    given([])
      .when(close(r1))
      .then([closed(r1)]);
    given([])
      .when(close(r1, T('10:20')))
      .then([closed(r1)]); // knownAt = at
  });

  it('refuses to close a period that is not over', () => {
    given([])
      .when(close(r1, T('10:14:59')))
      .thenThrows(PeriodNotOver, { periodEnd: T('10:15'), at: '2026-11-28T10:14:59.000Z' });
  });

  it('re-settles: the next revision reverses and re-posts; every revision stays in the state', () => {
    given([closed(r1)])
      .when(close(r2, T('10:50')))
      .then([closed(r2)]);
    const state = [closed(r1), closed(r2)].reduce(settlementDecider.evolve, settlementDecider.initialState());
    expect(state.revisions).toEqual([r1, r2]);
  });

  it('has nothing to do for a statement with the inputs of the last revision', () => {
    given([closed(r1)])
      .when(close(r1, T('11:00')))
      .then([]);
    given([closed(r1)])
      .when(close({ ...r1, knownAt: T('10:50') }, T('11:00')))
      .then([]);
  });

  it('refuses a revision that is not the next one', () => {
    given([])
      .when(close(r2, T('10:50')))
      .thenThrows(SettlementRevisionConflict, { expected: 1, requested: 2 });
    given([closed(r1), closed(r2)])
      .when(close({ ...r2, inputsHash: 'f'.repeat(64) }, T('10:50')))
      .thenThrows(SettlementRevisionConflict, { expected: 3, requested: 2 });
  });

  it('refuses transfers that do not balance the period', () => {
    // A posting of revision 1 not reversed.
    given([closed(r1)])
      .when(close({ ...r2, transfers: r2.transfers.slice(1) }, T('10:50')))
      .thenThrows(SettlementUnbalanced, { unreversed: [r1.transfers[0]!.transferId] });
    // An imbalance that leaves the trader's Wh account short.
    const skewed = r1.transfers.map((t) => (t.transferId.endsWith('imbalance/agg/energy') ? { ...t, amount: '1999' } : t));
    given([])
      .when(close({ ...r1, transfers: skewed }))
      .thenThrows(SettlementUnbalanced, { account: 'trader:agg', balance: '-1' });
    // A reversal that is not one.
    const badReversal = r2.transfers.map((t, i) => (i === 0 ? { ...t, amount: String(Number(t.amount) + 1) } : t));
    given([closed(r1)])
      .when(close({ ...r2, transfers: badReversal }, T('10:50')))
      .thenThrows(ReversalInvalid, { problem: 'mismatch' });
    // A pending trade transfer posted twice.
    const repost = r2.transfers.map((t) => (t.kind === 'trade_energy' ? { ...t, postsPending: `trade/T1/${T('10:00')}/energy` } : t));
    given([closed(r1)])
      .when(close({ ...r2, transfers: repost }, T('10:50')))
      .thenThrows(PendingTransferInvalid, { problem: 'already_posted' });
    const zeroAmount = r1.transfers.map((t, i) => (i === 0 ? { ...t, amount: '0' } : t));
    given([])
      .when(close({ ...r1, transfers: zeroAmount }))
      .thenThrows(TransferAmountInvalid);
  });

  it('refuses a statement of the wrong shape', () => {
    const bad: [Partial<SettlementStatement>, string][] = [
      [{ periodStart: T('10:05'), periodEnd: T('10:20') }, 'statement.periodStart'],
      [{ periodEnd: T('10:30') }, 'statement.periodEnd'],
      [{ periodStart: '2026-11-28T10:00Z' }, 'statement.periodStart'],
      [{ revision: 0 }, 'statement.revision'],
      [{ inputsHash: 'abc' }, 'statement.inputsHash'],
      [{ inputsThrough: '-1' }, 'statement.inputsThrough'],
      [{ currency: 'eur' }, 'statement.currency'],
      [{ knownAt: T('10:40') }, 'statement.knownAt'],
      [{ lines: [...r1.lines].reverse() }, 'statement.lines'],
      [{ lines: [{ ...r1.lines[0]!, imbalanceWh: '1.50' }] }, 'statement.lines[0].imbalanceWh'],
      [{ lines: [{ ...r1.lines[0]!, account: 'operator' }] }, 'statement.lines[0].account'],
      [{ transfers: [{ ...r1.transfers[0]!, transferId: 'settlement/NL/x/r1/a' }] }, 'statement.transfers[0].transferId'],
      [{ transfers: [{ ...r1.transfers[1]!, ledger: 'USD' }] }, 'statement.transfers[0].ledger'],
    ];
    for (const [change, field] of bad)
      given([])
        .when(close({ ...r1, ...change }))
        .thenThrows(InvalidCommand, { field });
    // Another period's statement on this stream.
    const other = deriveSettlement({ zone: 'NL', periodStart: T('10:15'), knownAt: T('10:35'), inputsThrough: ex.reading.position, events: ex.log.events, previous: null, sha256 });
    given([closed(r1)])
      .when(close({ ...other, revision: 2 }, T('10:40')))
      .thenThrows(InvalidCommand, { field: 'statement' });
  });
});
