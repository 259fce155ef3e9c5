import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '../../test/given.ts';
import { DomainError } from '../errors.ts';
import { balanceOf, emptyLedger, ledgerBalances, ledgerSums, pendingBalanceOf, postTransfers, recordPending, voidPending, type LedgerState } from './ledger.ts';
import type { Transfer } from './settlement-types.ts';

/**
 * Random sequences of ledger operations (new postings, retries, id conflicts, reversals, pending
 * transfers posted or voided, in batches), checked after every step against a model kept here
 * with bigints: the posted and the pending balances equal the model's, every ledger sums to zero,
 * a retry returns the very same state, a refused batch changes nothing.
 */
const RUNS = { numRuns: 300 };
const LEDGERS = ['EUR', 'USD', 'Wh'] as const;
const ACCOUNTS = ['trader:a', 'trader:b', 'customer:c', 'grid:imbalance', 'operator'] as const;

type Intent =
  | { op: 'post'; ledger: number; from: number; to: number; amount: bigint; batch: number }
  | { op: 'retry'; pick: number; withNew: boolean }
  | { op: 'conflict'; pick: number }
  | { op: 'reverse'; pick: number }
  | { op: 'pending'; ledger: number; from: number; to: number; amount: bigint }
  | { op: 'postPending'; pick: number }
  | { op: 'void'; pick: number };

const amountArb = fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: 10n ** 30n }));
const accountPair = fc.tuple(fc.nat(ACCOUNTS.length - 1), fc.nat(ACCOUNTS.length - 2)).map(([from, offset]) => ({ from, to: (from + 1 + offset) % ACCOUNTS.length }));
const intentArb: fc.Arbitrary<Intent> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ ledger: fc.nat(LEDGERS.length - 1), pair: accountPair, amount: amountArb, batch: fc.integer({ min: 1, max: 3 }) })
      .map(({ ledger, pair, amount, batch }) => ({ op: 'post' as const, ledger, ...pair, amount, batch })),
  },
  { weight: 2, arbitrary: fc.record({ pick: fc.nat(), withNew: fc.boolean() }).map(({ pick, withNew }) => ({ op: 'retry' as const, pick, withNew })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ op: 'conflict' as const, pick })) },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ op: 'reverse' as const, pick })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ ledger: fc.nat(LEDGERS.length - 1), pair: accountPair, amount: amountArb })
      .map(({ ledger, pair, amount }) => ({ op: 'pending' as const, ledger, ...pair, amount })),
  },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ op: 'postPending' as const, pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ op: 'void' as const, pick })) },
);

type Model = { posted: Transfer[]; pending: Map<string, { transfer: Transfer; status: 'pending' | 'posted' | 'voided' }> };

function modelBalances(transfers: Iterable<Transfer>): Map<string, bigint> {
  const balances = new Map<string, bigint>();
  for (const t of transfers) {
    balances.set(`${t.ledger} ${t.debitAccount}`, (balances.get(`${t.ledger} ${t.debitAccount}`) ?? 0n) - BigInt(t.amount));
    balances.set(`${t.ledger} ${t.creditAccount}`, (balances.get(`${t.ledger} ${t.creditAccount}`) ?? 0n) + BigInt(t.amount));
  }
  return balances;
}

function checkAgainstModel(state: LedgerState, model: Model): void {
  const posted = modelBalances(model.posted);
  const pending = modelBalances([...model.pending.values()].filter((p) => p.status === 'pending').map((p) => p.transfer));
  for (const ledger of LEDGERS) {
    for (const account of ACCOUNTS) {
      expect(balanceOf(state, ledger, account), `${ledger} ${account}`).toBe((posted.get(`${ledger} ${account}`) ?? 0n).toString());
      expect(pendingBalanceOf(state, ledger, account), `pending ${ledger} ${account}`).toBe((pending.get(`${ledger} ${account}`) ?? 0n).toString());
    }
  }
  for (const sum of ledgerSums(state).values()) expect(sum).toBe('0');
  for (const sum of ledgerSums(state, 'pendingBalances').values()) expect(sum).toBe('0');
  expect(state.transfers.size).toBe(model.posted.length);
}

const refused = (fn: () => unknown, code: string) => {
  const thrown = thrownBy(fn);
  expect(thrown).toBeInstanceOf(DomainError);
  expect((thrown as DomainError & { code: string }).code).toBe(code);
};

describe('the double-entry ledger (properties)', () => {
  it('every ledger sums to zero after every operation; balances follow the postings; retries post nothing new', () => {
    fc.assert(
      fc.property(fc.array(intentArb, { minLength: 1, maxLength: 40 }), (intents) => {
        let state = emptyLedger();
        const model: Model = { posted: [], pending: new Map() };
        let n = 0;
        const fresh = (ledger: number, from: number, to: number, amount: bigint, kind: Transfer['kind'] = 'trade_money'): Transfer => ({
          transferId: `t${n++}`,
          ledger: LEDGERS[ledger]!,
          debitAccount: ACCOUNTS[from]!,
          creditAccount: ACCOUNTS[to]!,
          amount: amount.toString(),
          kind,
          reverses: null,
          postsPending: null,
        });
        for (const intent of intents) {
          const before = state;
          switch (intent.op) {
            case 'post': {
              const batch = Array.from({ length: intent.batch }, (_, k) =>
                fresh(intent.ledger, (intent.from + k) % ACCOUNTS.length, (intent.to + k * 2) % ACCOUNTS.length, intent.amount + BigInt(k)),
              );
              const valid = batch.filter((t) => t.debitAccount !== t.creditAccount);
              state = postTransfers(state, valid);
              model.posted.push(...valid);
              break;
            }
            case 'retry': {
              if (model.posted.length === 0) break;
              const t = model.posted[intent.pick % model.posted.length]!;
              if (!intent.withNew) {
                expect(postTransfers(state, [{ ...t }])).toBe(state);
                break;
              }
              // Retried together with a new one: only the new one posts.
              const added = fresh(2, 1, 3, 5n);
              state = postTransfers(state, [{ ...t }, added, { ...t }]);
              model.posted.push(added);
              break;
            }
            case 'conflict': {
              if (model.posted.length === 0) break;
              const t = model.posted[intent.pick % model.posted.length]!;
              refused(() => postTransfers(state, [fresh(0, 0, 1, 1n), { ...t, amount: (BigInt(t.amount) + 1n).toString() }]), 'TRANSFER_ID_CONFLICT');
              break;
            }
            case 'reverse': {
              const candidates = model.posted.filter((t) => t.kind !== 'reversal' && !state.reversedBy.has(t.transferId));
              if (candidates.length === 0) break;
              const t = candidates[intent.pick % candidates.length]!;
              const r: Transfer = {
                ...t,
                transferId: `rev-${t.transferId}`,
                debitAccount: t.creditAccount,
                creditAccount: t.debitAccount,
                kind: 'reversal',
                reverses: t.transferId,
                postsPending: null,
              };
              state = postTransfers(state, [r]);
              model.posted.push(r);
              // Reversing it again (another id) is refused.
              refused(() => postTransfers(state, [{ ...r, transferId: `again-${t.transferId}` }]), 'REVERSAL_INVALID');
              break;
            }
            case 'pending': {
              if (intent.from === intent.to) break;
              const t = fresh(intent.ledger, intent.from, intent.to, intent.amount, 'trade_energy');
              state = recordPending(state, [t]);
              expect(recordPending(state, [{ ...t }])).toBe(state);
              model.pending.set(t.transferId, { transfer: t, status: 'pending' });
              break;
            }
            case 'postPending': {
              const open = [...model.pending.values()].filter((p) => p.status === 'pending');
              if (open.length === 0) break;
              const p = open[intent.pick % open.length]!;
              const posting: Transfer = { ...p.transfer, transferId: `post-${p.transfer.transferId}`, postsPending: p.transfer.transferId };
              state = postTransfers(state, [posting]);
              expect(postTransfers(state, [posting])).toBe(state);
              p.status = 'posted';
              model.posted.push(posting);
              refused(() => postTransfers(state, [{ ...posting, transferId: `twice-${p.transfer.transferId}` }]), 'PENDING_TRANSFER_INVALID');
              break;
            }
            case 'void': {
              const open = [...model.pending.values()].filter((p) => p.status === 'pending');
              if (open.length === 0) break;
              const p = open[intent.pick % open.length]!;
              state = voidPending(state, [p.transfer.transferId]);
              p.status = 'voided';
              break;
            }
          }
          // A refused batch or a retry leaves the state (the very object) as it was.
          if ((intent.op === 'retry' && !intent.withNew) || intent.op === 'conflict') expect(state).toBe(before);
          checkAgainstModel(state, model);
        }
      }),
      RUNS,
    );
  });

  it('reversing a batch restores every balance', () => {
    const transferArb = fc.record({ ledger: fc.nat(LEDGERS.length - 1), pair: accountPair, amount: amountArb });
    fc.assert(
      fc.property(fc.array(transferArb, { maxLength: 10 }), fc.array(transferArb, { minLength: 1, maxLength: 10 }), (history, batch) => {
        const toTransfer =
          (prefix: string) =>
          (x: { ledger: number; pair: { from: number; to: number }; amount: bigint }, i: number): Transfer => ({
            transferId: `${prefix}${i}`,
            ledger: LEDGERS[x.ledger]!,
            debitAccount: ACCOUNTS[x.pair.from]!,
            creditAccount: ACCOUNTS[x.pair.to]!,
            amount: x.amount.toString(),
            kind: 'imbalance_money',
            reverses: null,
            postsPending: null,
          });
        const before = postTransfers(emptyLedger(), history.map(toTransfer('h')));
        const posted = batch.map(toTransfer('b'));
        const after = postTransfers(before, posted);
        const reversals = posted.map((t): Transfer => ({
          ...t,
          transferId: `r-${t.transferId}`,
          debitAccount: t.creditAccount,
          creditAccount: t.debitAccount,
          kind: 'reversal',
          reverses: t.transferId,
        }));
        const undone = postTransfers(after, [...reversals].reverse());
        for (const ledger of LEDGERS) expect(ledgerBalances(undone, ledger)).toEqual(ledgerBalances(before, ledger));
      }),
      RUNS,
    );
  });
});
