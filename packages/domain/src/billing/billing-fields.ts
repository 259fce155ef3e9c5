/**
 * Validation of billing input from the edge, and the exact arithmetic billing computes with.
 * Every refusal is an `InvalidCommand(field, reason)` naming the field.
 */
import { InvalidCommand } from '../errors.ts';
import { checkDecimalText, Decimal } from '../quantities.ts';
import { formatInstant, parseInstant } from '../time.ts';
import { ID_PATTERN } from '../ids.ts';

/**
 * Billing arithmetic is exact: decimal.js rounds every result to `precision` significant digits
 * (20 by default), so billing computes with a clone whose precision no product or sum of real
 * figures reaches. Billing only adds, multiplies and scales by 0.001 (never divides), so nothing
 * is ever rounded until an invoice line is.
 */
export const ExactDecimal = Decimal.clone({ precision: 1_000_000_000, rounding: Decimal.ROUND_HALF_EVEN });

/** A decimal string (possibly negative) as an exact value; refuses JS numbers. */
export function exactDecimal(field: string, value: unknown): Decimal {
  return new ExactDecimal(checkDecimalText(field, value));
}

export function exactNonNegative(field: string, value: unknown): Decimal {
  const parsed = exactDecimal(field, value);
  if (parsed.isNegative() && !parsed.isZero()) throw new InvalidCommand(field, `${value as string} is negative`);
  return parsed;
}

/** The canonical string form of a decimal in events: no exponent, no trailing zeros, no "-0". */
export function decimalText(value: Decimal): string {
  return value.isZero() ? '0' : value.toFixed();
}

/** Parses a decimal string and returns its canonical form. */
export const canonicalDecimal = (field: string, value: unknown): string => decimalText(exactDecimal(field, value));

export const MS_15_MIN = 15 * 60_000;

/** Parses an instant and returns its canonical form (with milliseconds, Z). */
export const canonicalInstant = (field: string, value: unknown): string => formatInstant(parseInstant(field, value));

/** Bidding zones: "NL", "DE-LU", "NO1", "IT-NORD", an EIC code such as "10YNL----------L". */
export const ZONE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
export function checkZone(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ZONE_PATTERN.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} must be 1-32 letters, digits, _ or - (starting with a letter or digit), such as "NL" or "DE-LU"`);
  }
  return value;
}

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
export function checkCurrency(field: string, value: unknown): string {
  if (typeof value !== 'string' || !CURRENCY_PATTERN.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not an ISO 4217 currency code such as "EUR"`);
  }
  return value;
}

/** Tariff ids follow the site id's rule. */
export const TARIFF_ID_PATTERN = ID_PATTERN;
export function checkTariffId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !TARIFF_ID_PATTERN.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} must be 1-64 letters, digits or _ . : @ - (starting with a letter or digit)`);
  }
  return value;
}

/** An account is a session's customer or fleet: their ids follow the session's rule for them. */
/** An account (a customer or a fleet) names its `account-<id>` stream, so its id follows the stream id rule. */
export const ACCOUNT_ID = ID_PATTERN;

export function checkAccountId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ACCOUNT_ID.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} must be 1-64 letters, digits or _ . : @ - (starting with a letter or digit)`);
  }
  return value;
}

/** A non-empty text, trimmed. */
export function checkText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) {
    throw new InvalidCommand(field, `must be a non-empty text of at most ${maxLength} characters`);
  }
  return value.trim();
}

export function checkObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidCommand(field, 'must be an object');
  return value as Record<string, unknown>;
}

export function checkArray(field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new InvalidCommand(field, 'must be a list');
  return value;
}

/** Code-unit order: deterministic whatever the locale. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const CANONICAL_NATURAL = /^(0|[1-9][0-9]*)$/;

/**
 * Orders decimal strings (event positions) by value. Two canonical natural numbers (no sign, no
 * leading zero, no fraction: what positions are) compare by length, then digit by digit, which is
 * their order by value; anything else is compared as exact decimals.
 */
export function compareDecimalText(a: string, b: string): number {
  if (CANONICAL_NATURAL.test(a) && CANONICAL_NATURAL.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return new ExactDecimal(a).comparedTo(new ExactDecimal(b));
}

/** Distinct positions in ascending order. */
export function sortedPositions(positions: Iterable<string>): string[] {
  const distinct = [...new Set(positions)];
  // Canonical natural numbers (positions as they come): by length, then digits; no regex per comparison.
  if (distinct.every((p) => CANONICAL_NATURAL.test(p))) return distinct.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return distinct.sort(compareDecimalText);
}
