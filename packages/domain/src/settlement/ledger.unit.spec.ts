import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { balanceOf, emptyLedger, ledgerBalances, ledgerSums, pendingBalanceOf, postTransfers, recordPending, voidPending, type LedgerState } from './ledger.ts';
import type { Transfer } from './settlement-types.ts';

const transfer = (transferId: string, debitAccount: string, creditAccount: string, amount: string, extra: Partial<Transfer> = {}): Transfer => ({
  transferId,
  ledger: 'EUR',
  debitAccount,
  creditAccount,
  amount,
  kind: 'trade_money',
  reverses: null,
  postsPending: null,
  ...extra,
});
const reversal = (transferId: string, of: Transfer): Transfer => ({
  ...of,
  transferId,
  debitAccount: of.creditAccount,
  creditAccount: of.debitAccount,
  kind: 'reversal',
  reverses: of.transferId,
  postsPending: null,
});

function refusal(fn: () => unknown): { code: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError as { code: string; details: Record<string, unknown> };
  }
  throw new Error('expected a refusal');
}

describe('the double-entry ledger', () => {
  const t1 = transfer('t1', 'trader:a', 'trader:b', '80');

  it('posts: the debit account goes down, the credit account up, the ledger sums to zero', () => {
    const s = postTransfers(emptyLedger(), [
      t1,
      transfer('t2', 'trader:b', 'grid:imbalance', '5'),
      transfer('w1', 'trader:b', 'trader:a', '1000', { ledger: 'Wh', kind: 'trade_energy' }),
    ]);
    expect(ledgerBalances(s, 'EUR')).toEqual([
      ['grid:imbalance', '5'],
      ['trader:a', '-80'],
      ['trader:b', '75'],
    ]);
    expect(balanceOf(s, 'Wh', 'trader:a')).toBe('1000');
    expect(balanceOf(s, 'Wh', 'nobody')).toBe('0');
    expect(ledgerSums(s)).toEqual(
      new Map([
        ['EUR', '0'],
        ['Wh', '0'],
      ]),
    );
  });

  it('skips a transfer posted before with the same content, and posts nothing new (the same state)', () => {
    const s = postTransfers(emptyLedger(), [t1]);
    expect(postTransfers(s, [{ ...t1 }])).toBe(s);
    expect(postTransfers(s, [t1, t1])).toBe(s);
    expect(postTransfers(emptyLedger(), [t1, { ...t1 }]).transfers.size).toBe(1);
  });

  it('refuses an id used with other content, and leaves the state as it was', () => {
    const s = postTransfers(emptyLedger(), [t1]);
    const error = refusal(() => postTransfers(s, [transfer('t3', 'x', 'y', '1'), { ...t1, amount: '81' }]));
    expect(error.code).toBe('TRANSFER_ID_CONFLICT');
    expect(error.details).toMatchObject({ transferId: 't1', existing: { amount: '80' }, requested: { amount: '81' } });
    expect(s.transfers.has('t3')).toBe(false);
    expect(balanceOf(s, 'EUR', 'x')).toBe('0');
  });

  it('refuses amounts that are not positive whole numbers, and a transfer to the same account', () => {
    for (const amount of ['0', '-5', '1.5', '01', '1e3', '', ' 1']) {
      expect(refusal(() => postTransfers(emptyLedger(), [transfer('t', 'a', 'b', amount)]))).toMatchObject({
        code: 'TRANSFER_AMOUNT_INVALID',
        details: { transferId: 't', amount },
      });
    }
    expect(refusal(() => postTransfers(emptyLedger(), [transfer('t', 'a', 'a', '1')]))).toMatchObject({ code: 'TRANSFER_ACCOUNTS_SAME', details: { account: 'a' } });
    expect(refusal(() => postTransfers(emptyLedger(), [transfer('t', 'a', 'b', '1', { ledger: '' })])).code).toBe('INVALID_TRANSFER');
    expect(refusal(() => postTransfers(emptyLedger(), [transfer('t', 'a', 'b', '1', { kind: 'reversal' })])).code).toBe('INVALID_TRANSFER');
  });

  it('reverses a posted transfer once; the balances are as before it', () => {
    const before = postTransfers(emptyLedger(), [transfer('t0', 'trader:b', 'trader:c', '7')]);
    const s = postTransfers(before, [t1]);
    const undone = postTransfers(s, [reversal('r1', t1)]);
    expect(ledgerBalances(undone, 'EUR')).toEqual(ledgerBalances(before, 'EUR'));
    expect(undone.reversedBy.get('t1')).toBe('r1');
    // The same reversal again is a retry; another one is refused.
    expect(postTransfers(undone, [reversal('r1', t1)])).toBe(undone);
    expect(refusal(() => postTransfers(undone, [reversal('r2', t1)]))).toMatchObject({ code: 'REVERSAL_INVALID', details: { problem: 'already_reversed', reversedBy: 'r1' } });
    expect(refusal(() => postTransfers(undone, [reversal('r3', reversal('r1', t1))]))).toMatchObject({ code: 'REVERSAL_INVALID', details: { problem: 'reverses_a_reversal' } });
    expect(refusal(() => postTransfers(s, [reversal('r4', transfer('nope', 'a', 'b', '1'))]))).toMatchObject({ code: 'REVERSAL_INVALID', details: { problem: 'not_found' } });
    for (const wrong of [{ amount: '79' }, { ledger: 'Wh' }, { debitAccount: 'trader:a', creditAccount: 'trader:b' }]) {
      expect(refusal(() => postTransfers(s, [{ ...reversal('r5', t1), ...wrong }]))).toMatchObject({ code: 'REVERSAL_INVALID', details: { problem: 'mismatch' } });
    }
    // A reversal in the same batch as what it reverses.
    expect(ledgerBalances(postTransfers(before, [t1, reversal('r1', t1)]), 'EUR')).toEqual(ledgerBalances(before, 'EUR'));
  });

  it('holds pending transfers in the pending balances only, until a transfer of the same content posts them', () => {
    const p = transfer('trade/T1/2026-11-28T10:00:00.000Z/money', 'trader:b', 'trader:a', '80');
    let s: LedgerState = recordPending(emptyLedger(), [p]);
    expect(recordPending(s, [{ ...p }])).toBe(s);
    expect([pendingBalanceOf(s, 'EUR', 'trader:a'), balanceOf(s, 'EUR', 'trader:a')]).toEqual(['80', '0']);
    expect(ledgerSums(s, 'pendingBalances')).toEqual(new Map([['EUR', '0']]));
    const posting = { ...p, transferId: 'settlement/x/r1/trade/T1/money', postsPending: p.transferId };
    for (const wrong of [{ amount: '81' }, { creditAccount: 'trader:c' }, { ledger: 'USD' }]) {
      expect(refusal(() => postTransfers(s, [{ ...posting, ...wrong }]))).toMatchObject({ code: 'PENDING_TRANSFER_INVALID', details: { problem: 'mismatch' } });
    }
    expect(refusal(() => postTransfers(s, [{ ...posting, postsPending: 'other' }]))).toMatchObject({ code: 'PENDING_TRANSFER_INVALID', details: { problem: 'not_found' } });
    s = postTransfers(s, [posting]);
    expect([pendingBalanceOf(s, 'EUR', 'trader:a'), balanceOf(s, 'EUR', 'trader:a')]).toEqual(['0', '80']);
    expect(s.pending.get(p.transferId)).toMatchObject({ status: 'posted', postedBy: posting.transferId });
    expect(postTransfers(s, [posting])).toBe(s); // a retry
    expect(refusal(() => postTransfers(s, [{ ...posting, transferId: 'again' }]))).toMatchObject({ code: 'PENDING_TRANSFER_INVALID', details: { problem: 'already_posted' } });
    // Pending and posted ids are one namespace.
    expect(refusal(() => postTransfers(s, [{ ...p }])).code).toBe('TRANSFER_ID_CONFLICT');
    expect(refusal(() => recordPending(s, [{ ...posting, postsPending: null }])).code).toBe('TRANSFER_ID_CONFLICT');
  });

  it('voids a pending transfer: it is gone from the pending balances and can no longer be posted', () => {
    const p = transfer('p', 'a', 'b', '3');
    const s = voidPending(recordPending(emptyLedger(), [p]), ['p']);
    expect(pendingBalanceOf(s, 'EUR', 'b')).toBe('0');
    expect(voidPending(s, ['p'])).toBe(s);
    expect(refusal(() => postTransfers(s, [{ ...p, transferId: 'q', postsPending: 'p' }]))).toMatchObject({ code: 'PENDING_TRANSFER_INVALID', details: { problem: 'voided' } });
    expect(refusal(() => voidPending(s, ['nope'])).code).toBe('PENDING_TRANSFER_INVALID');
  });
});
