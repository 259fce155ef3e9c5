/**
 * The reference's arithmetic helpers as they were before the lean path: every
 * position compared as two exact decimals, every decimal string parsed twice.
 */
import { Decimal, parseDecimal } from '../../src/values/index.ts';
import { ExactDecimal } from '../../src/values/index.ts';

export function exactDecimal(field: string, value: unknown): Decimal {
  parseDecimal(field, value);
  return new ExactDecimal(value as string);
}

export function compareDecimalText(a: string, b: string): number {
  return new ExactDecimal(a).comparedTo(new ExactDecimal(b));
}

export function sortedPositions(positions: Iterable<string>): string[] {
  return [...new Set(positions)].sort(compareDecimalText);
}
