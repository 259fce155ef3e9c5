import { Decimal } from 'decimal.js';
import { InvalidCommand } from './errors.ts';

export { Decimal };

const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Parses a decimal string from the edge (GraphQL, JSON); a JS number is refused on purpose. */
export function parseDecimal(field: string, value: unknown): Decimal {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not a decimal string such as "11000" or "7.4"`);
  }
  return new Decimal(value);
}

export function parseNonNegative(field: string, value: unknown): Decimal {
  const parsed = parseDecimal(field, value);
  if (parsed.isNegative()) throw new InvalidCommand(field, `${value as string} is negative`);
  return parsed;
}

/** The canonical string form stored in events: no exponent, no trailing zeros. */
export function toDecimalString(value: Decimal): string {
  return value.toFixed();
}
