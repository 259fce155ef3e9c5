/**
 * Refusals of the billing aggregates and of invoicing. Each has a stable `code` and `details` that
 * name what was wrong; malformed input is an `InvalidCommand(field, reason)` instead.
 */
import { DomainError } from '../errors.ts';

/** A zone's currency is fixed by its first publication. */
export class ZoneCurrencyMismatch extends DomainError {
  readonly code = 'ZONE_CURRENCY_MISMATCH';
  constructor(zone: string, currency: string, requested: string) {
    super(`prices of zone ${zone} are in ${currency}, not ${requested}`, { zone, currency, requested });
  }
}

export class TariffAlreadyDefined extends DomainError {
  readonly code = 'TARIFF_ALREADY_DEFINED';
  constructor(tariffId: string) {
    super(`tariff ${tariffId} is already defined: define a new tariff and assign it instead`, { tariffId });
  }
}

export type AssignmentPeriod = { tariffId: string; validFrom: string; validTo: string | null };

const period = (p: AssignmentPeriod): string => `${p.tariffId} [${p.validFrom}, ${p.validTo ?? '∞'})`;

/**
 * A tariff assignment that overlaps a closed one, or that overlaps the open-ended one without
 * starting inside it (only an assignment starting after the open one's validFrom can end it).
 */
export class TariffAssignmentConflict extends DomainError {
  readonly code = 'TARIFF_ASSIGNMENT_CONFLICT';
  constructor(accountId: string, requested: AssignmentPeriod, existing: AssignmentPeriod) {
    const why = existing.validTo === null ? `starts at or before ${existing.validFrom}, when the open-ended ${existing.tariffId} starts, so it cannot end it` : 'overlaps it';
    super(`account ${accountId}: ${period(requested)} conflicts with ${period(existing)}: it ${why}`, {
      accountId,
      requested: { ...requested },
      existing: { ...existing },
    });
  }
}

/** A spot price found for a tariff is in another currency than the tariff. */
export class SpotPriceCurrencyMismatch extends DomainError {
  readonly code = 'SPOT_PRICE_CURRENCY_MISMATCH';
  constructor(details: { tariffId: string; tariffCurrency: string; zone: string; priceCurrency: string; intervalStart: string }) {
    super(`tariff ${details.tariffId} is in ${details.tariffCurrency} but the spot price of ${details.zone} at ${details.intervalStart} is in ${details.priceCurrency}`, details);
  }
}

/** An invoice is in one currency: every tariff assigned to the account must share it. */
export class MixedInvoiceCurrencies extends DomainError {
  readonly code = 'MIXED_INVOICE_CURRENCIES';
  constructor(accountId: string, currencies: Record<string, string>) {
    const list = Object.entries(currencies)
      .map(([tariffId, currency]) => `${tariffId}: ${currency}`)
      .join(', ');
    super(`account ${accountId} has tariffs in more than one currency (${list}): one invoice cannot add them up`, {
      accountId,
      currencies: { ...currencies },
    });
  }
}

/** chargesFor was asked about a session the billing input does not hold. */
export class SessionNotInBillingInput extends DomainError {
  readonly code = 'SESSION_NOT_IN_BILLING_INPUT';
  constructor(sessionId: string) {
    super(`session ${sessionId} is not among the billing input's sessions`, { sessionId });
  }
}

/**
 * An account (a customer or a fleet) the ledger does not know: never assigned a tariff and never
 * billed for a session. `field` is the argument or input field that named it.
 */
export class AccountNotFound extends DomainError {
  readonly code = 'ACCOUNT_NOT_FOUND';
  constructor(field: string, accountId: string) {
    super(`${field}: no account ${accountId} is known (assign it a tariff first)`, { field, accountId });
  }
}
