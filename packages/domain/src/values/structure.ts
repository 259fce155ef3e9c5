import { InvalidCommand } from '../errors.ts';

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
