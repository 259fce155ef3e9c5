/**
 * What each entry of the ledger did to one account, so that an account's entries add up to its
 * balances: the sum of `change` over them is its posted balance, the sum of `pendingChange` its
 * pending balance (ledger.ts; balance = credits − debits).
 *
 * An entry is a posted transfer or a hold (a pending transfer recorded at match time):
 * - `posted`: a posted transfer; change ±amount (credited +, debited −), pendingChange 0;
 * - `pending`: a hold not posted yet; change 0, pendingChange ±amount;
 * - `cleared`: a hold a posting posted (`postedBy`): change 0 and pendingChange 0, since that
 *   posting carries the amount (listing the hold with its amount too would count it twice);
 * - `voided`: a hold dropped; change 0, pendingChange 0.
 *
 * Pure; the settlement read model lists its rows with the same function.
 */
import type { LedgerState } from './ledger.ts';
import type { AccountId, LedgerCode, Transfer } from './settlement-types.ts';

export type EntryStatus = 'pending' | 'posted' | 'cleared' | 'voided';

export type EntryChanges = {
  /** What the entry adds to the account's posted balance now (decimal string). */
  change: string;
  /** What it adds to the account's pending balance now. */
  pendingChange: string;
};

const negate = (amount: string): string => (amount === '0' ? '0' : amount.startsWith('-') ? amount.slice(1) : `-${amount}`);

/** An entry's effect on one of its two accounts (see the module comment). */
export function entryChanges(transfer: Pick<Transfer, 'debitAccount' | 'creditAccount' | 'amount'>, status: EntryStatus, account: AccountId): EntryChanges {
  if (account !== transfer.debitAccount && account !== transfer.creditAccount) throw new RangeError(`account ${account} is neither side of the transfer`);
  const signed = account === transfer.creditAccount ? transfer.amount : negate(transfer.amount);
  if (status === 'posted') return { change: signed, pendingChange: '0' };
  if (status === 'pending') return { change: '0', pendingChange: signed };
  return { change: '0', pendingChange: '0' };
}

export type LedgerEntry = EntryChanges & {
  transfer: Transfer;
  status: EntryStatus;
  /** A cleared hold: the posting that posted it; else null. */
  postedBy: string | null;
};

/** The entries of one account in one ledger: its holds (whatever became of them), then its posted transfers, each in the order recorded. */
export function accountEntries(state: LedgerState, ledger: LedgerCode, account: AccountId): LedgerEntry[] {
  const touches = (t: Transfer) => t.ledger === ledger && (t.debitAccount === account || t.creditAccount === account);
  const entries: LedgerEntry[] = [];
  for (const held of state.pending.values()) {
    if (!touches(held.transfer)) continue;
    const status: EntryStatus = held.status === 'posted' ? 'cleared' : held.status;
    entries.push({ transfer: held.transfer, status, postedBy: held.postedBy, ...entryChanges(held.transfer, status, account) });
  }
  for (const t of state.transfers.values()) {
    if (!touches(t)) continue;
    entries.push({ transfer: t, status: 'posted', postedBy: null, ...entryChanges(t, 'posted', account) });
  }
  return entries;
}
