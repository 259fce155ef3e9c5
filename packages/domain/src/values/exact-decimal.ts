/**
 * Exact decimal arithmetic for money and energy, and the canonical text of a decimal in events.
 */
import { checkDecimalText, Decimal } from './quantities.ts';
import { InvalidCommand } from '../errors.ts';

/**
 * Billing, settlement and the market compute exactly: decimal.js rounds every result to `precision`
 * significant digits (20 by default), so they compute with a clone whose precision no product or
 * sum of real figures reaches. They only add, multiply and scale by powers of ten (never divide),
 * so nothing is ever rounded until an invoice or statement line is.
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
