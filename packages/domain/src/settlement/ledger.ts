/**
 * A pure double-entry ledger. Every transfer moves a positive whole amount from a debit account to
 * a credit account within one ledger (a currency in minor units, or "Wh"); an account's balance is
 * credits − debits, so the balances of every ledger sum to zero after every operation, whatever is
 * posted. Nothing is ever edited: a mistake is undone by a reversal (the same ledger and amount,
 * accounts swapped), which references the transfer it undoes and may be posted once.
 *
 * Ids are idempotency keys across posted and pending transfers: the same id with the same content
 * is skipped (a retry posts nothing new), with other content it is refused (TRANSFER_ID_CONFLICT).
 *
 * Two-phase: `recordPending` holds a transfer (it counts in the pending balances only); a later
 * transfer with `postsPending` = its id and the same ledger, accounts and amount posts it (moves
 * it from the pending balances to the posted ones); `voidPending` drops it.
 *
 * Every operation takes a batch and is all-or-nothing: it returns the new state or throws a
 * DomainError (settlement-errors.ts), leaving the given state untouched. Pure.
 */
import { ExactDecimal } from '../values/index.ts';
import type { Decimal } from '../values/index.ts';
import { InvalidTransfer, PendingTransferInvalid, ReversalInvalid, TransferAccountsSame, TransferAmountInvalid, TransferIdConflict } from './settlement-errors.ts';
import type { AccountId, LedgerCode, Transfer } from './settlement-types.ts';

export type PendingStatus = 'pending' | 'posted' | 'voided';

export type PendingEntry = {
  transfer: Transfer;
  status: PendingStatus;
  /** The transfer that posted it (status posted), else null. */
  postedBy: string | null;
};

type Balances = ReadonlyMap<LedgerCode, ReadonlyMap<AccountId, Decimal>>;

export type LedgerState = {
  /** Posted balances, ledger → account → credits − debits (exact, whole numbers). */
  balances: Balances;
  /** The same over the pending transfers still pending. */
  pendingBalances: Balances;
  /** Posted transfers by id. */
  transfers: ReadonlyMap<string, Transfer>;
  /** Pending transfers by id, with what became of them. */
  pending: ReadonlyMap<string, PendingEntry>;
  /** A reversed transfer's id → the reversal's id. */
  reversedBy: ReadonlyMap<string, string>;
};

export function emptyLedger(): LedgerState {
  return { balances: new Map(), pendingBalances: new Map(), transfers: new Map(), pending: new Map(), reversedBy: new Map() };
}

const WHOLE_POSITIVE = /^[1-9][0-9]*$/;

const TRANSFER_KINDS: ReadonlySet<string> = new Set<Transfer['kind']>([
  'trade_energy',
  'trade_money',
  'metered_export',
  'metered_import',
  'physical',
  'imbalance_energy',
  'imbalance_money',
  'reversal',
]);

/** Checks one transfer's own shape (nothing about the state). */
export function checkTransfer(transfer: Transfer): void {
  const id = typeof transfer.transferId === 'string' ? transfer.transferId : JSON.stringify(transfer.transferId);
  if (typeof transfer.transferId !== 'string' || transfer.transferId === '') throw new InvalidTransfer(id, 'transferId', 'must be a non-empty text');
  if (typeof transfer.amount !== 'string' || !WHOLE_POSITIVE.test(transfer.amount)) throw new TransferAmountInvalid(id, transfer.amount);
  for (const field of ['ledger', 'debitAccount', 'creditAccount'] as const) {
    if (typeof transfer[field] !== 'string' || transfer[field] === '') throw new InvalidTransfer(id, field, 'must be a non-empty text');
  }
  if (transfer.debitAccount === transfer.creditAccount) throw new TransferAccountsSame(id, transfer.debitAccount);
  if (!TRANSFER_KINDS.has(transfer.kind)) throw new InvalidTransfer(id, 'kind', `${JSON.stringify(transfer.kind)} is not a transfer kind`);
  for (const field of ['reverses', 'postsPending'] as const) {
    const value = transfer[field];
    if (value !== null && (typeof value !== 'string' || value === '')) throw new InvalidTransfer(id, field, 'must be null or a transfer id');
  }
  if ((transfer.kind === 'reversal') !== (transfer.reverses !== null)) throw new InvalidTransfer(id, 'reverses', 'is set exactly when the kind is reversal');
  if (transfer.reverses !== null && transfer.postsPending !== null) throw new InvalidTransfer(id, 'postsPending', 'must be null for a reversal');
}

export const sameTransfer = (a: Transfer, b: Transfer): boolean =>
  a.transferId === b.transferId &&
  a.ledger === b.ledger &&
  a.debitAccount === b.debitAccount &&
  a.creditAccount === b.creditAccount &&
  a.amount === b.amount &&
  a.kind === b.kind &&
  a.reverses === b.reverses &&
  a.postsPending === b.postsPending;

/** The content of a transfer as an error detail (a copy). */
const contentOf = (t: Transfer): Transfer => ({ ...t });

/** A copy-on-write view of a state: the batch works on it; the original is never touched. */
class Draft {
  private balances: Map<LedgerCode, ReadonlyMap<AccountId, Decimal>> | null = null;
  private pendingBalances: Map<LedgerCode, ReadonlyMap<AccountId, Decimal>> | null = null;
  private transfers: Map<string, Transfer> | null = null;
  private pending: Map<string, PendingEntry> | null = null;
  private reversedBy: Map<string, string> | null = null;
  private readonly copiedLedgers = new Set<string>();

  constructor(private readonly base: LedgerState) {}

  transfer(id: string): Transfer | undefined {
    return (this.transfers ?? this.base.transfers).get(id);
  }
  pendingEntry(id: string): PendingEntry | undefined {
    return (this.pending ?? this.base.pending).get(id);
  }
  reversal(id: string): string | undefined {
    return (this.reversedBy ?? this.base.reversedBy).get(id);
  }

  addTransfer(t: Transfer): void {
    this.transfers ??= new Map(this.base.transfers);
    this.transfers.set(t.transferId, t);
  }
  setPending(id: string, entry: PendingEntry): void {
    this.pending ??= new Map(this.base.pending);
    this.pending.set(id, entry);
  }
  setReversedBy(original: string, reversal: string): void {
    this.reversedBy ??= new Map(this.base.reversedBy);
    this.reversedBy.set(original, reversal);
  }

  /** Moves `amount` from debit to credit in the posted (or pending) balances; `sign` -1 undoes it. */
  move(which: 'balances' | 'pendingBalances', t: Transfer, sign: 1 | -1): void {
    const key = `${which}\u0000${t.ledger}`;
    let outer = which === 'balances' ? this.balances : this.pendingBalances;
    if (outer === null) {
      outer = new Map(this.base[which]);
      if (which === 'balances') this.balances = outer;
      else this.pendingBalances = outer;
    }
    let accounts = outer.get(t.ledger) as Map<AccountId, Decimal> | undefined;
    if (!this.copiedLedgers.has(key)) {
      accounts = new Map(accounts ?? []);
      outer.set(t.ledger, accounts);
      this.copiedLedgers.add(key);
    }
    const amount = new ExactDecimal(t.amount).times(sign);
    accounts!.set(t.debitAccount, (accounts!.get(t.debitAccount) ?? new ExactDecimal(0)).minus(amount));
    accounts!.set(t.creditAccount, (accounts!.get(t.creditAccount) ?? new ExactDecimal(0)).plus(amount));
  }

  result(): LedgerState {
    return {
      balances: this.balances ?? this.base.balances,
      pendingBalances: this.pendingBalances ?? this.base.pendingBalances,
      transfers: this.transfers ?? this.base.transfers,
      pending: this.pending ?? this.base.pending,
      reversedBy: this.reversedBy ?? this.base.reversedBy,
    };
  }
}

/**
 * Posts transfers in order. Each must be well formed (checkTransfer); an id already posted with
 * the same content is skipped, with other content (or an id of a pending transfer) refused; a
 * reversal must undo a posted, non-reversal transfer not reversed yet, with the same ledger and
 * amount and the accounts swapped; `postsPending` must name a pending transfer still pending with
 * the same ledger, accounts and amount. Returns the new state (the same object when nothing is new).
 */
export function postTransfers(state: LedgerState, transfers: readonly Transfer[]): LedgerState {
  const draft = new Draft(state);
  let changed = false;
  for (const t of transfers) {
    checkTransfer(t);
    const existing = draft.transfer(t.transferId);
    if (existing) {
      if (sameTransfer(existing, t)) continue;
      throw new TransferIdConflict(t.transferId, contentOf(existing), contentOf(t));
    }
    const held = draft.pendingEntry(t.transferId);
    if (held) throw new TransferIdConflict(t.transferId, contentOf(held.transfer), contentOf(t));
    if (t.reverses !== null) {
      const original = draft.transfer(t.reverses);
      if (!original) throw new ReversalInvalid(t.transferId, t.reverses, 'not_found');
      if (original.kind === 'reversal') throw new ReversalInvalid(t.transferId, t.reverses, 'reverses_a_reversal');
      if (original.ledger !== t.ledger || original.amount !== t.amount || original.debitAccount !== t.creditAccount || original.creditAccount !== t.debitAccount) {
        throw new ReversalInvalid(t.transferId, t.reverses, 'mismatch', { original: contentOf(original), reversal: contentOf(t) });
      }
      const by = draft.reversal(t.reverses);
      if (by !== undefined) throw new ReversalInvalid(t.transferId, t.reverses, 'already_reversed', { reversedBy: by });
      draft.setReversedBy(t.reverses, t.transferId);
    }
    if (t.postsPending !== null) {
      const entry = draft.pendingEntry(t.postsPending);
      if (!entry) throw new PendingTransferInvalid(t.transferId, t.postsPending, 'not_found');
      if (entry.status === 'posted') throw new PendingTransferInvalid(t.transferId, t.postsPending, 'already_posted', { postedBy: entry.postedBy });
      if (entry.status === 'voided') throw new PendingTransferInvalid(t.transferId, t.postsPending, 'voided');
      const p = entry.transfer;
      if (p.ledger !== t.ledger || p.debitAccount !== t.debitAccount || p.creditAccount !== t.creditAccount || p.amount !== t.amount) {
        throw new PendingTransferInvalid(t.transferId, t.postsPending, 'mismatch', { pending: contentOf(p), posting: contentOf(t) });
      }
      draft.setPending(t.postsPending, { transfer: p, status: 'posted', postedBy: t.transferId });
      draft.move('pendingBalances', p, -1);
    }
    draft.addTransfer(contentOf(t));
    draft.move('balances', t, 1);
    changed = true;
  }
  return changed ? draft.result() : state;
}

/**
 * Holds transfers as pending: they count in the pending balances only, until a transfer posts them
 * (postsPending) or they are voided. They are plain transfers: no reversal, no postsPending. An id
 * already pending with the same content is skipped; any other reuse of an id is refused.
 */
export function recordPending(state: LedgerState, transfers: readonly Transfer[]): LedgerState {
  const draft = new Draft(state);
  let changed = false;
  for (const t of transfers) {
    checkTransfer(t);
    if (t.reverses !== null) throw new InvalidTransfer(t.transferId, 'reverses', 'must be null for a pending transfer');
    if (t.postsPending !== null) throw new InvalidTransfer(t.transferId, 'postsPending', 'must be null for a pending transfer');
    const posted = draft.transfer(t.transferId);
    if (posted) throw new TransferIdConflict(t.transferId, contentOf(posted), contentOf(t));
    const held = draft.pendingEntry(t.transferId);
    if (held) {
      if (sameTransfer(held.transfer, t)) continue;
      throw new TransferIdConflict(t.transferId, contentOf(held.transfer), contentOf(t));
    }
    draft.setPending(t.transferId, { transfer: contentOf(t), status: 'pending', postedBy: null });
    draft.move('pendingBalances', t, 1);
    changed = true;
  }
  return changed ? draft.result() : state;
}

/** Drops pending transfers (by id) that are still pending; voiding one again is skipped. */
export function voidPending(state: LedgerState, transferIds: readonly string[]): LedgerState {
  const draft = new Draft(state);
  let changed = false;
  for (const id of transferIds) {
    const entry = draft.pendingEntry(id);
    if (!entry) throw new PendingTransferInvalid(id, id, 'not_found');
    if (entry.status === 'voided') continue;
    if (entry.status === 'posted') throw new PendingTransferInvalid(id, id, 'already_posted', { postedBy: entry.postedBy });
    draft.setPending(id, { ...entry, status: 'voided' });
    draft.move('pendingBalances', entry.transfer, -1);
    changed = true;
  }
  return changed ? draft.result() : state;
}

const ZERO = '0';
const text = (value: Decimal | undefined): string => (value === undefined || value.isZero() ? ZERO : value.toFixed());

/** An account's posted balance (credits − debits), a decimal string; "0" for an account never used. */
export function balanceOf(state: LedgerState, ledger: LedgerCode, account: AccountId): string {
  return text(state.balances.get(ledger)?.get(account));
}

/** An account's pending balance (of transfers still pending). */
export function pendingBalanceOf(state: LedgerState, ledger: LedgerCode, account: AccountId): string {
  return text(state.pendingBalances.get(ledger)?.get(account));
}

/** Every account's posted balance in a ledger, by account id (code-unit order), zeros left out. */
export function ledgerBalances(state: LedgerState, ledger: LedgerCode): [AccountId, string][] {
  const accounts = state.balances.get(ledger);
  if (!accounts) return [];
  return [...accounts]
    .filter(([, balance]) => !balance.isZero())
    .map(([account, balance]): [AccountId, string] => [account, balance.toFixed()])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The sum of all balances of each ledger (posted or pending): "0" for every ledger, always. */
export function ledgerSums(state: LedgerState, which: 'balances' | 'pendingBalances' = 'balances'): Map<LedgerCode, string> {
  const sums = new Map<LedgerCode, string>();
  for (const [ledger, accounts] of state[which]) {
    let sum: Decimal = new ExactDecimal(0);
    for (const balance of accounts.values()) sum = sum.plus(balance);
    sums.set(ledger, text(sum));
  }
  return sums;
}
