import { DomainError } from './errors.ts';
import { MAX_READING_AHEAD_MS } from './metering/register-series.ts';
import { formatInstant, parseInstant } from './values/index.ts';

/**
 * How far a time a client states may stray from the ledger's clock. The ledger's clock (injected)
 * decides "now": a command's own time is always it. A client states a time only for a fact from
 * the field (a meter's reading, a charger's plug-in or unplug), and only within these bounds; a
 * departure is a wish, bounded by the clock and a horizon. Pure: `nowMs` comes from the caller.
 */
export type TimeBounds = {
  /** A field time may be this far after the ledger's now (a meter's clock running a little ahead). */
  clockSkewMs: number;
  /** A field time may be this far before the ledger's now (a charger that was offline). */
  fieldBackdateMaxMs: number;
  /** A departure may be at most this far after the ledger's now. */
  departureHorizonMs: number;
};

export const DEFAULT_TIME_BOUNDS: TimeBounds = {
  clockSkewMs: MAX_READING_AHEAD_MS,
  fieldBackdateMaxMs: 7 * 86_400_000,
  departureHorizonMs: 7 * 86_400_000,
};

/** A time outside what the ledger's clock allows for that field: `field` as the client sent it. */
export class TimeOutOfBounds extends DomainError {
  readonly code = 'TIME_OUT_OF_BOUNDS';
  constructor(field: string, value: string, now: string, earliest: string, latest: string, reason: string) {
    super(`${field} ${value} is ${reason} (the ledger's now is ${now}; allowed from ${earliest} to ${latest})`, { field, value, now, earliest, latest });
  }
}

/** A field time (a reading, a plug-in, an unplug) within [now - fieldBackdateMaxMs, now + clockSkewMs]; its canonical form. */
export function checkFieldTime(field: string, value: string, nowMs: number, bounds: TimeBounds): string {
  return checkWithin(field, value, nowMs, nowMs - bounds.fieldBackdateMaxMs, nowMs + bounds.clockSkewMs, 'too long ago');
}

/**
 * A meter's time within the field backdate bound; its canonical form. The meter deciders refuse
 * one ahead of the command's time (the ledger's now) beyond MAX_READING_AHEAD_MS themselves.
 */
export function checkNotTooLongAgo(field: string, value: string, nowMs: number, bounds: TimeBounds): string {
  return checkWithin(field, value, nowMs, nowMs - bounds.fieldBackdateMaxMs, Number.POSITIVE_INFINITY, 'too long ago');
}

/** A departure strictly after now and at most departureHorizonMs after it; its canonical form. */
export function checkDeparture(field: string, value: string, nowMs: number, bounds: TimeBounds): string {
  return checkWithin(field, value, nowMs, nowMs + 1, nowMs + bounds.departureHorizonMs, 'not after now');
}

function checkWithin(field: string, value: string, nowMs: number, earliestMs: number, latestMs: number, tooEarly: string): string {
  const ms = parseInstant(field, value);
  if (ms < earliestMs || ms > latestMs) {
    const reason = ms > latestMs ? 'too far ahead' : tooEarly;
    throw new TimeOutOfBounds(field, value, formatInstant(nowMs), formatInstant(earliestMs), Number.isFinite(latestMs) ? formatInstant(latestMs) : 'any time', reason);
  }
  return formatInstant(ms);
}

/**
 * The times the ledger can mean at all, whoever states them: from 2000-01-01 (inclusive) to
 * 2100-01-01 (exclusive), UTC. A reading dated year 0000 or 9999 is a typo or an attack, never a
 * fact. Checked at the edge for every time a client sends, before the per-field bounds above.
 */
export const EARLIEST_INSTANT = '2000-01-01T00:00:00.000Z';
export const LATEST_INSTANT_EXCLUSIVE = '2100-01-01T00:00:00.000Z';
const EARLIEST_MS = Date.parse(EARLIEST_INSTANT);
const LATEST_MS = Date.parse(LATEST_INSTANT_EXCLUSIVE);

/**
 * Why `value` (an ISO 8601 UTC time, as the DateTime scalar takes it) is not a time the ledger can
 * mean, naming the bounds; null when it is one.
 */
export function instantProblem(value: unknown): string | null {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) return `${JSON.stringify(value) ?? String(value)} is not a UTC instant such as "2026-11-27T17:00:00Z"`;
  if (ms < EARLIEST_MS || ms >= LATEST_MS) return `${value as string} is outside the times the ledger records: from ${EARLIEST_INSTANT} to before ${LATEST_INSTANT_EXCLUSIVE}`;
  return null;
}
