/**
 * Refusals of the double-entry ledger and of settlement. Each has a stable `code` and `details`
 * naming what was wrong; a malformed command field is an `InvalidCommand(field, reason)` instead.
 */
import { DomainError } from '../errors.ts';

/** A transfer amount is a positive whole number of minor units or Wh, as a canonical decimal string. */
export class TransferAmountInvalid extends DomainError {
  readonly code = 'TRANSFER_AMOUNT_INVALID';
  constructor(transferId: string, amount: unknown) {
    super(`transfer ${transferId}: amount ${JSON.stringify(amount)} is not a positive whole number such as "80"`, { transferId, amount });
  }
}

/** A transfer moves value between two different accounts. */
export class TransferAccountsSame extends DomainError {
  readonly code = 'TRANSFER_ACCOUNTS_SAME';
  constructor(transferId: string, account: string) {
    super(`transfer ${transferId}: debit and credit are both ${account}`, { transferId, account });
  }
}

/** A transfer whose shape is wrong otherwise (an empty ledger or account, a reversal without `reverses`, ...). */
export class InvalidTransfer extends DomainError {
  readonly code = 'INVALID_TRANSFER';
  constructor(transferId: string, field: string, reason: string) {
    super(`transfer ${transferId}: ${field} ${reason}`, { transferId, field, reason });
  }
}

/** The id was used before (posted or pending) with other content: ids are idempotency keys, never reused. */
export class TransferIdConflict extends DomainError {
  readonly code = 'TRANSFER_ID_CONFLICT';
  constructor(transferId: string, existing: unknown, requested: unknown) {
    super(`transfer id ${transferId} is already used with other content`, { transferId, existing, requested });
  }
}

export type ReversalProblem = 'not_found' | 'mismatch' | 'already_reversed' | 'reverses_a_reversal';

/** A reversal must undo an existing posted transfer (same ledger and amount, accounts swapped), at most once. */
export class ReversalInvalid extends DomainError {
  readonly code = 'REVERSAL_INVALID';
  constructor(transferId: string, reverses: string, problem: ReversalProblem, facts: Record<string, unknown> = {}) {
    const why: Record<ReversalProblem, string> = {
      not_found: 'is not a posted transfer',
      mismatch: 'has another ledger or amount, or its accounts are not the reversal swapped',
      already_reversed: 'is already reversed',
      reverses_a_reversal: 'is itself a reversal: post the original again instead',
    };
    super(`reversal ${transferId}: ${reverses} ${why[problem]}`, { transferId, reverses, problem, ...facts });
  }
}

export type PendingProblem = 'not_found' | 'mismatch' | 'already_posted' | 'voided';

/** `postsPending` must name a pending transfer with the same ledger, accounts and amount that is neither posted nor voided. */
export class PendingTransferInvalid extends DomainError {
  readonly code = 'PENDING_TRANSFER_INVALID';
  constructor(transferId: string, pendingId: string, problem: PendingProblem, facts: Record<string, unknown> = {}) {
    const why: Record<PendingProblem, string> = {
      not_found: 'is not a pending transfer',
      mismatch: 'has another ledger, accounts or amount',
      already_posted: 'is already posted',
      voided: 'was voided',
    };
    super(`transfer ${transferId}: pending ${pendingId} ${why[problem]}`, { transferId, pendingId, problem, ...facts });
  }
}

/** The zone has no MarketZoneConfigured known at the close. */
export class SettlementZoneNotConfigured extends DomainError {
  readonly code = 'MARKET_ZONE_NOT_CONFIGURED';
  constructor(zone: string, knownAt: string) {
    super(`market zone ${zone} is not configured as known at ${knownAt}`, { zone, knownAt });
  }
}

/** No price of the zone's imbalance price zone for the period's interval is known at the close. */
export class ImbalancePriceMissing extends DomainError {
  readonly code = 'IMBALANCE_PRICE_MISSING';
  constructor(zone: string, priceZone: string, periodStart: string, knownAt: string) {
    super(`no imbalance price of ${priceZone} for ${periodStart} is known at ${knownAt} (zone ${zone})`, { zone, priceZone, periodStart, knownAt });
  }
}

/** A trade or a price in another currency than the zone's. */
export class SettlementCurrencyMismatch extends DomainError {
  readonly code = 'SETTLEMENT_CURRENCY_MISMATCH';
  constructor(zone: string, currency: string, source: string, sourceCurrency: string) {
    super(`zone ${zone} settles in ${currency}, but ${source} is in ${sourceCurrency}`, { zone, currency, source, sourceCurrency });
  }
}

/** A period is closed only once it is over. */
export class PeriodNotOver extends DomainError {
  readonly code = 'PERIOD_NOT_OVER';
  constructor(periodEnd: string, at: string) {
    super(`the period ending ${periodEnd} is not over at ${at}`, { periodEnd, at });
  }
}

/** The statement is not the next revision of the period (someone else closed it meanwhile, or it skips one). */
export class SettlementRevisionConflict extends DomainError {
  readonly code = 'SETTLEMENT_REVISION_CONFLICT';
  constructor(expected: number, requested: number) {
    super(`the next revision of this period is ${expected}, not ${requested}`, { expected, requested });
  }
}

/** The statement's transfers do not settle the period: an account that must net to zero does not, or a previous posting is not reversed. */
export class SettlementUnbalanced extends DomainError {
  readonly code = 'SETTLEMENT_UNBALANCED';
  constructor(reason: string, facts: Record<string, unknown>) {
    super(`the statement does not balance: ${reason}`, { reason, ...facts });
  }
}
