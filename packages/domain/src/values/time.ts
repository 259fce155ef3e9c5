import { InvalidCommand } from '../errors.ts';

/** Instants cross the edges as ISO-8601 UTC strings; inside, epoch milliseconds. */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z$/;

/** Parses "2026-11-27T17:00:00Z" (seconds and milliseconds optional, UTC only) to epoch ms. */
export function parseInstant(field: string, value: unknown): number {
  const match = typeof value === 'string' ? INSTANT.exec(value) : null;
  if (!match) throw new InvalidCommand(field, `${JSON.stringify(value)} is not a UTC instant such as "2026-11-27T17:00:00Z"`);
  const [, y, mo, d, h, mi, s = '0', ms = '0'] = match;
  const epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms.padEnd(3, '0')));
  // Date.UTC rolls 2026-02-30 over to March: refuse instead of guessing.
  if (new Date(epoch).getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new InvalidCommand(field, `${value as string} is not a valid date and time`);
  }
  return epoch;
}

/** The canonical form stored in events: always with milliseconds, always Z. */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** Parses an instant and returns its canonical form (with milliseconds, Z). */
export function canonicalInstant(field: string, value: unknown): string {
  return formatInstant(parseInstant(field, value));
}
