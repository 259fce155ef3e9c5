import { describe, expect, it } from 'vitest';
import { accountEntries, entryChanges } from './ledger-entries.ts';
import { emptyLedger, postTransfers, recordPending, voidPending } from './ledger.ts';
import type { Transfer } from './settlement-types.ts';

const transfer = (transferId: string, amount: string, extra: Partial<Transfer> = {}): Transfer => ({
  transferId,
  ledger: 'EUR',
  debitAccount: 'trader:buyer',
  creditAccount: 'trader:seller',
  amount,
  kind: 'trade_money',
  reverses: null,
  postsPending: null,
  ...extra,
});

describe('ledger entries', () => {
  it('count a hold in the pending balance while it is pending, in neither once its posting carries it, in neither once voided', () => {
    const hold = transfer('trade/T1/p/money', '30');
    const other = transfer('trade/T2/p/money', '5');
    let ledger = recordPending(emptyLedger(), [hold, other]);
    const view = (account: string) => accountEntries(ledger, 'EUR', account).map((e) => [e.transfer.transferId, e.status, e.change, e.pendingChange, e.postedBy]);
    expect(view('trader:seller')).toEqual([
      ['trade/T1/p/money', 'pending', '0', '30', null],
      ['trade/T2/p/money', 'pending', '0', '5', null],
    ]);
    ledger = postTransfers(ledger, [transfer('settlement/r1/trade/T1/money', '30', { postsPending: hold.transferId })]);
    ledger = voidPending(ledger, [other.transferId]);
    expect(view('trader:seller')).toEqual([
      ['trade/T1/p/money', 'cleared', '0', '0', 'settlement/r1/trade/T1/money'],
      ['trade/T2/p/money', 'voided', '0', '0', null],
      ['settlement/r1/trade/T1/money', 'posted', '30', '0', null],
    ]);
    expect(view('trader:buyer').map(([id, status, change]) => [id, status, change])).toEqual([
      ['trade/T1/p/money', 'cleared', '0'],
      ['trade/T2/p/money', 'voided', '0'],
      ['settlement/r1/trade/T1/money', 'posted', '-30'],
    ]);
    expect(accountEntries(ledger, 'Wh', 'trader:seller')).toEqual([]);
  });

  it('refuses an account that is neither side of the transfer', () => {
    expect(() => entryChanges(transfer('t', '1'), 'posted', 'trader:someone')).toThrow(RangeError);
  });
});
