/**
 * The prices aggregate (`prices-<zone>` stream): the spot price (and carbon intensity) of each
 * 15-minute interval of one bidding zone, in the zone's currency. A publication prices intervals
 * for the first time; a publication with another figure for an interval already priced revises
 * it, and the earlier figure stays in the log ("as known at" an earlier moment still shows it).
 */
import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import {
  formatInstant,
  parseInstant,
  canonicalDecimal,
  canonicalInstant,
  checkArray,
  checkCurrency,
  checkObject,
  checkText,
  checkZone,
  decimalText,
  exactDecimal,
  exactNonNegative,
  QUARTER_HOUR_MS,
  checkQuantity,
} from '../values/index.ts';
import { ZoneCurrencyMismatch } from './billing-errors.ts';
import type { IntervalPrice, PricesCommand, PricesEvent } from './billing-types.ts';

export type PricesState = {
  /** Null until the first publication. */
  zone: string | null;
  /** Fixed by the first publication. */
  currency: string | null;
  /**
   * The current price of every interval priced so far, by UTC day ("2026-11-27") then interval
   * start (canonical instant). Two levels so that evolve copies one day, not the whole history.
   */
  days: ReadonlyMap<string, ReadonlyMap<string, IntervalPrice>>;
};

/** One command may price at most a leap year of intervals. */
export const MAX_INTERVALS_PER_PUBLICATION = 366 * 96;

export const pricesStreamId = (zone: string): string => `prices-${zone}`;

/** The current price of the interval starting at `intervalStart` (canonical instant), if any. */
export function priceOf(state: PricesState, intervalStart: string): IntervalPrice | null {
  return state.days.get(intervalStart.slice(0, 10))?.get(intervalStart) ?? null;
}

type CheckedPoint = { index: number; startMs: number; endMs: number; priceMinorPerKWh: string; carbonGPerKWh: string | null };

function checkPoint(index: number, value: unknown): CheckedPoint {
  const field = `points[${index}]`;
  const point = checkObject(field, value);
  const startMs = parseInstant(`${field}.start`, point['start']);
  const endMs = parseInstant(`${field}.end`, point['end']);
  for (const [name, ms] of [
    ['start', startMs],
    ['end', endMs],
  ] as const) {
    if (ms % QUARTER_HOUR_MS !== 0) throw new InvalidCommand(`${field}.${name}`, `${formatInstant(ms)} is not aligned to 15 minutes`);
  }
  if (endMs <= startMs) throw new InvalidCommand(`${field}.end`, `${formatInstant(endMs)} must be after start ${formatInstant(startMs)}`);
  const carbon = point['carbonGPerKWh'];
  return {
    index,
    startMs,
    endMs,
    priceMinorPerKWh: canonicalDecimal(`${field}.priceMinorPerKWh`, checkQuantity(`${field}.priceMinorPerKWh`, point['priceMinorPerKWh'])),
    carbonGPerKWh: carbon === null || carbon === undefined ? null : decimalText(exactNonNegative(`${field}.carbonGPerKWh`, checkQuantity(`${field}.carbonGPerKWh`, carbon))),
  };
}

/** Validates the points and returns them sorted by start; refuses overlaps between them. */
function checkPoints(value: unknown): CheckedPoint[] {
  const raw = checkArray('points', value);
  if (raw.length === 0) throw new InvalidCommand('points', 'must list at least one price');
  const points = raw.map((p, i) => checkPoint(i, p)).sort((a, b) => a.startMs - b.startMs || a.index - b.index);
  let intervals = 0;
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    const before = points[i - 1];
    if (before !== undefined && point.startMs < before.endMs) {
      throw new InvalidCommand(
        `points[${Math.max(point.index, before.index)}]`,
        `[${formatInstant(point.startMs)}, ${formatInstant(point.endMs)}) overlaps points[${Math.min(point.index, before.index)}] ` +
          `[${formatInstant(before.startMs)}, ${formatInstant(before.endMs)})`,
      );
    }
    intervals += (point.endMs - point.startMs) / QUARTER_HOUR_MS;
    if (intervals > MAX_INTERVALS_PER_PUBLICATION) {
      throw new InvalidCommand('points', `cover more than ${MAX_INTERVALS_PER_PUBLICATION} intervals of 15 minutes: publish them in parts`);
    }
  }
  return points;
}

const sameFigure = (a: string | null, b: string | null): boolean => (a === null || b === null ? a === b : exactDecimal('price', a).eq(exactDecimal('price', b)));

function decide(command: PricesCommand, state: PricesState): PricesEvent[] {
  switch (command.type) {
    case 'PublishPrices': {
      const zone = checkZone('zone', command.zone);
      if (state.zone !== null && state.zone !== zone) throw new InvalidCommand('zone', `${zone} is not this stream's zone (${state.zone})`);
      canonicalInstant('at', command.at);
      const currency = checkCurrency('currency', command.currency);
      if (state.currency !== null && state.currency !== currency) throw new ZoneCurrencyMismatch(zone, state.currency, currency);
      const source = checkText('source', command.source, 200);
      const published: IntervalPrice[] = [];
      const revised: (IntervalPrice & { previousPriceMinorPerKWh: string })[] = [];
      for (const point of checkPoints(command.points)) {
        for (let ms = point.startMs; ms < point.endMs; ms += QUARTER_HOUR_MS) {
          const interval: IntervalPrice = { start: formatInstant(ms), priceMinorPerKWh: point.priceMinorPerKWh, carbonGPerKWh: point.carbonGPerKWh };
          const known = priceOf(state, interval.start);
          if (known === null) published.push(interval);
          else if (!sameFigure(known.priceMinorPerKWh, interval.priceMinorPerKWh) || !sameFigure(known.carbonGPerKWh, interval.carbonGPerKWh)) {
            revised.push({ ...interval, previousPriceMinorPerKWh: known.priceMinorPerKWh });
          }
        }
      }
      const events: PricesEvent[] = [];
      if (published.length > 0) events.push({ type: 'PricesPublished', data: { zone, currency, source, intervals: published } });
      if (revised.length > 0) events.push({ type: 'PricesRevised', data: { zone, currency, source, intervals: revised } });
      return events;
    }
    default: {
      const unreachable: never = command.type;
      throw new Error(`unknown command ${String(unreachable)}`);
    }
  }
}

function withIntervals(state: PricesState, zone: string, currency: string, intervals: readonly IntervalPrice[]): PricesState {
  const days = new Map(state.days);
  const copied = new Set<string>();
  for (const { start, priceMinorPerKWh, carbonGPerKWh } of intervals) {
    const day = start.slice(0, 10);
    let prices = days.get(day) as Map<string, IntervalPrice> | undefined;
    if (prices === undefined || !copied.has(day)) {
      prices = new Map(prices ?? []);
      days.set(day, prices);
      copied.add(day);
    }
    prices.set(start, { start, priceMinorPerKWh, carbonGPerKWh });
  }
  return { zone: state.zone ?? zone, currency: state.currency ?? currency, days };
}

function evolve(state: PricesState, event: PricesEvent): PricesState {
  switch (event.type) {
    case 'PricesPublished':
    case 'PricesRevised':
      return withIntervals(state, event.data.zone, event.data.currency, event.data.intervals);
    default: {
      const unreachable: never = event;
      throw new Error(`unknown event ${String(unreachable)}`);
    }
  }
}

export const pricesDecider: Decider<PricesState, PricesCommand, PricesEvent> = {
  initialState: () => ({ zone: null, currency: null, days: new Map() }),
  decide,
  evolve,
};
