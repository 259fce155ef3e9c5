/**
 * The account aggregate (`account-<accountId>` stream; an account is a customer or a fleet): which
 * tariff it pays when. Periods are half-open [validFrom, validTo) and never overlap. An assignment
 * that starts inside the open-ended period ends that period at its validFrom (a change of tariff,
 * mid-month if need be); any other overlap is refused, so a period already billed is never
 * silently re-priced.
 */
import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import { parseInstant, canonicalInstant, parseId } from '../values/index.ts';
import { TariffAssignmentConflict, type AssignmentPeriod } from './billing-errors.ts';
import type { AccountCommand, AccountEvent } from './billing-types.ts';

export type { AssignmentPeriod };

export type AccountState = {
  /** Null until the first assignment. */
  accountId: string | null;
  /** The account's tariff periods, by validFrom; at most one (the last) is open-ended. */
  periods: readonly AssignmentPeriod[];
};

export const accountStreamId = (accountId: string): string => `account-${accountId}`;

const ms = (instant: string): number => parseInstant('instant', instant);
const endMs = (validTo: string | null): number => (validTo === null ? Number.POSITIVE_INFINITY : ms(validTo));

/**
 * The periods once `added` is assigned: the open-ended period `added` starts inside ends at
 * `added.validFrom`. Generic, so that a read model can keep its own fields (an event position).
 */
export function withAssignment<P extends AssignmentPeriod>(periods: readonly P[], added: P): P[] {
  const startMs = ms(added.validFrom);
  const next = periods.map((p) => (p.validTo === null && ms(p.validFrom) < startMs ? { ...p, validTo: added.validFrom } : p));
  next.push(added);
  return next.sort((a, b) => ms(a.validFrom) - ms(b.validFrom));
}

/** The period `requested` may not be assigned next to, or null if it may be. */
export function conflictingPeriod(periods: readonly AssignmentPeriod[], requested: AssignmentPeriod): AssignmentPeriod | null {
  const fromMs = ms(requested.validFrom);
  const toMs = endMs(requested.validTo);
  for (const period of periods) {
    const periodFromMs = ms(period.validFrom);
    if (period.validTo === null && periodFromMs < fromMs) continue; // starts inside it: ends it
    if (fromMs < endMs(period.validTo) && periodFromMs < toMs) return period;
  }
  return null;
}

const samePeriod = (a: AssignmentPeriod, b: AssignmentPeriod): boolean => a.tariffId === b.tariffId && a.validFrom === b.validFrom && a.validTo === b.validTo;

function decide(command: AccountCommand, state: AccountState): AccountEvent[] {
  switch (command.type) {
    case 'AssignTariff': {
      const accountId = parseId('accountId', command.accountId);
      if (state.accountId !== null && state.accountId !== accountId) {
        throw new InvalidCommand('accountId', `${accountId} is not this stream's account (${state.accountId})`);
      }
      canonicalInstant('at', command.at);
      const tariffId = parseId('tariffId', command.tariffId);
      const validFrom = canonicalInstant('validFrom', command.validFrom);
      const validTo = command.validTo === null || command.validTo === undefined ? null : canonicalInstant('validTo', command.validTo);
      if (validTo !== null && ms(validTo) <= ms(validFrom)) throw new InvalidCommand('validTo', `${validTo} must be after validFrom ${validFrom}`);
      const requested: AssignmentPeriod = { tariffId, validFrom, validTo };
      // The same assignment again changes nothing.
      if (state.periods.some((p) => samePeriod(p, requested))) return [];
      const conflict = conflictingPeriod(state.periods, requested);
      if (conflict !== null) throw new TariffAssignmentConflict(accountId, requested, conflict);
      return [{ type: 'TariffAssigned', data: { accountId, tariffId, validFrom, validTo } }];
    }
    default: {
      const unreachable: never = command.type;
      throw new Error(`unknown command ${String(unreachable)}`);
    }
  }
}

function evolve(state: AccountState, event: AccountEvent): AccountState {
  switch (event.type) {
    case 'TariffAssigned': {
      const { accountId, tariffId, validFrom, validTo } = event.data;
      return { accountId: state.accountId ?? accountId, periods: withAssignment(state.periods, { tariffId, validFrom, validTo }) };
    }
    default: {
      const unreachable: never = event.type;
      throw new Error(`unknown event ${String(unreachable)}`);
    }
  }
}

export const accountDecider: Decider<AccountState, AccountCommand, AccountEvent> = {
  initialState: () => ({ accountId: null, periods: [] }),
  decide,
  evolve,
};
