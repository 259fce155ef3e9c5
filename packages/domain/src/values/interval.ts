/**
 * The quarter hour: the interval billing prices energy by, settlement settles by and the market
 * delivers in (UTC, aligned to the hour, half-open [start, start + 15 min)).
 */
export const QUARTER_HOUR_MS = 15 * 60_000;

/** True when an instant (epoch ms) starts a quarter hour. */
export const isQuarterHourStart = (epochMs: number): boolean => epochMs % QUARTER_HOUR_MS === 0;

/** The start (epoch ms) of the quarter hour an instant falls in. */
export function intervalStartOf(epochMs: number): number {
  return Math.floor(epochMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
}
