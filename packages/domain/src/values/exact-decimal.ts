/**
 * Exact decimal arithmetic for money and energy, and the canonical text of a decimal in events.
 */
import { Decimal, parseDecimal } from './quantities.ts';
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
  parseDecimal(field, value);
  return new ExactDecimal(value as string);
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

/** Orders decimal strings (event positions) by value. */
export function compareDecimalText(a: string, b: string): number {
  return new ExactDecimal(a).comparedTo(new ExactDecimal(b));
}

/** Distinct positions in ascending order. */
export function sortedPositions(positions: Iterable<string>): string[] {
  return [...new Set(positions)].sort(compareDecimalText);
}
