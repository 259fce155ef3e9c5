import type { SettlementStatement } from '@v2g/domain';
import { describe, expect, it } from 'vitest';
import { compareStatements } from '../src/index.ts';
import { periodsBetween } from '../src/index.ts';

const T = (hhmm: string) => `2026-11-05T${hhmm}:00.000Z`;
const ms = (hhmm: string) => Date.parse(T(hhmm));

describe('the periods a meter point touches', () => {
  it('runs from the period of the point before to the period the point after ends in', () => {
    expect(periodsBetween(ms('10:00'), ms('10:30'))).toEqual([T('10:00'), T('10:15')]);
    expect(periodsBetween(ms('10:07'), ms('10:47'))).toEqual([T('10:00'), T('10:15'), T('10:30'), T('10:45')]);
    // A span ending on a quarter hour does not reach into the period starting there.
    expect(periodsBetween(ms('10:30'), ms('10:45'))).toEqual([T('10:30')]);
    // A single instant: its own period.
    expect(periodsBetween(ms('10:20'), ms('10:20'))).toEqual([T('10:15')]);
    expect(periodsBetween(ms('10:15'), ms('10:15'))).toEqual([T('10:15')]);
  });
});

describe('comparing a recorded statement with one derived again', () => {
  const statement: SettlementStatement = {
    zone: 'NL',
    periodStart: T('10:00'),
    periodEnd: T('10:15'),
    currency: 'EUR',
    revision: 1,
    knownAt: T('11:00'),
    inputsThrough: '42',
    inputsHash: 'a'.repeat(64),
    inputCount: 3,
    lines: [
      {
        participantId: 'p1',
        account: 'trader:p1',
        boughtWh: '0',
        soldWh: '1000',
        contractedWh: '1000',
        meteredExportWh: '900',
        meteredImportWh: '0',
        meteredNetWh: '900',
        imbalanceWh: '-100',
        postedImbalanceWh: '-100',
        imbalancePriceMinorPerKWh: '20',
        imbalanceAmountMinor: '-2',
        tradeAmountMinor: '15',
        justifiedBy: ['1', '2', '3'],
      },
    ],
    transfers: [{ transferId: 'x', ledger: 'Wh', debitAccount: 'a', creditAccount: 'b', amount: '1', kind: 'physical', reverses: null, postsPending: null }],
  };

  it('finds nothing between equal statements, and names each field that differs', () => {
    expect(compareStatements(statement, structuredClone(statement))).toEqual([]);
    const other = structuredClone(statement);
    other.inputsHash = 'b'.repeat(64);
    other.lines[0]!.meteredExportWh = '950';
    other.transfers.push({ ...statement.transfers[0]!, transferId: 'y' });
    expect(compareStatements(statement, other)).toEqual([
      { path: 'inputsHash', recorded: 'a'.repeat(64), derived: 'b'.repeat(64) },
      { path: 'lines[0].meteredExportWh', recorded: '900', derived: '950' },
      { path: 'transfers[1]', recorded: null, derived: { ...statement.transfers[0], transferId: 'y' } },
    ]);
  });
});
