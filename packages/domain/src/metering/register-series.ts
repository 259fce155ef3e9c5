/**
 * The rules of a meter's cumulative energy registers, held once for every meter the ledger knows
 * (a session's connector, a site or node meter).
 *
 * A series is every accepted reading sorted by its meter timestamp (`occurredAt`, one reading per
 * instant), split into segments by resets: a replaced or reset meter starts counting again from
 * the values a reset command gives, at the instant it gives. Segment 0 runs from the beginning of
 * time up to the first reset and starts from the series' origin (a session's meter start at
 * plug-in), or from its own first reading when there is no origin (a node meter); segment k runs
 * from the k-th reset (included) to the next one (excluded).
 *
 * Within a segment each register is non-decreasing in time. Readings arrive late and out of
 * order, so a new one is checked against its neighbours in time on both sides. Energy delivered is
 * the sum over segments of (last − first) per register, so a reset never shows as energy going
 * backwards, and the order readings arrived in never changes it.
 *
 * Registers are decimal strings ≥ 0 counted to the mWh (at most 3 decimals): billing apportions to
 * the mWh, and sums of registers must be exact.
 */
import { InvalidCommand } from '../errors.ts';
import { Decimal, parseNonNegative, QUANTITY_BOUNDS, toDecimalString } from '../values/index.ts';
import {
  ConflictingMeterReading,
  MeterReadingFromFuture,
  MeterRegisterWentBackwards,
  ReadingsAfterMeterReset,
  UnknownMeterReading,
  type MeterRegister,
  type MeterSubject,
  type MeterValues,
} from './metering-errors.ts';

/** A meter's clock may run a little ahead of ours, not more. */
export const MAX_READING_AHEAD_MS = 5 * 60_000;

/** The most decimals a register may have: Wh to the mWh. */
export const REGISTER_DECIMALS = 3;

export const REGISTERS: readonly MeterRegister[] = ['energyImportWh', 'energyExportWh'];

/** What every reading has; a meter's readings may carry more (power, SoC), compared as text. */
export type SeriesReading = { occurredAt: string; energyImportWh: string; energyExportWh: string };

/** Where a segment starts: an instant and the register values there (an origin or a reset). */
export type SegmentStart = { occurredAt: string; energyImportWh: string; energyExportWh: string };

export type RegisterSeries<R extends SeriesReading> = {
  /** The values segment 0 starts from (a session's meter start at plug-in); null: its first reading. */
  origin: SegmentStart | null;
  /** Every reset, sorted by occurredAt: segment k + 1 starts at resets[k]. */
  resets: readonly SegmentStart[];
  /** Every accepted reading, sorted by occurredAt, one per instant (a correction replaces it). */
  readings: readonly R[];
};

/** One segment of a series: where it starts, its readings, and the energy each register counted. */
export type RegisterSegment<R extends SeriesReading> = {
  /** null for segment 0 of a series without an origin: its first reading opens it. */
  start: SegmentStart | null;
  startedBy: 'origin' | 'reset' | 'first_reading';
  readings: readonly R[];
  /** last − first of each register within the segment, Wh. */
  deliveredImportWh: string;
  deliveredExportWh: string;
};

export const emptySeries = <R extends SeriesReading>(origin: SegmentStart | null): RegisterSeries<R> => ({ origin, resets: [], readings: [] });

/**
 * Parses a register from the edge: a decimal string ≥ 0 with at most 3 decimals, returned in
 * canonical form. Refusals are InvalidCommand naming the field.
 */
export function parseRegister(field: string, value: unknown): string {
  const parsed = parseNonNegative(field, value);
  if (parsed.decimalPlaces() > REGISTER_DECIMALS) {
    throw new InvalidCommand(field, `${value as string} has more than ${REGISTER_DECIMALS} decimals: registers count to the mWh`);
  }
  if (parsed.gt(QUANTITY_BOUNDS.energyWh.maxAbs)) throw new InvalidCommand(field, `${value as string} is beyond ${QUANTITY_BOUNDS.energyWh.described}`);
  return toDecimalString(parsed);
}

/** Refuses a meter timestamp more than MAX_READING_AHEAD_MS after the command's time. */
export function checkNotFromFuture(subject: MeterSubject, occurredAtMs: number, atMs: number, occurredAt: string, at: string): void {
  if (occurredAtMs - atMs > MAX_READING_AHEAD_MS) throw new MeterReadingFromFuture(subject, occurredAt, at);
}

/** Index of the first item at or after `occurredAt` (canonical instants sort as text). */
export function searchByTime(items: readonly { occurredAt: string }[], occurredAt: string): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (items[mid]!.occurredAt < occurredAt) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The segment an instant belongs to: how many resets are at or before it. */
export function segmentIndexAt(series: RegisterSeries<SeriesReading>, occurredAt: string): number {
  const index = searchByTime(series.resets, occurredAt);
  return series.resets[index]?.occurredAt === occurredAt ? index + 1 : index;
}

/** Every field of two readings equal (canonical strings or null). */
function sameValues(a: object, b: object): boolean {
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) if (left[key] !== right[key]) return false;
  return true;
}

function valuesOf(reading: object): MeterValues {
  const { occurredAt: _occurredAt, ...values } = reading as SeriesReading & Record<string, string | null>;
  return values as MeterValues;
}

/**
 * Checks a reading against its neighbours in time within its segment: the reading before it (or
 * the values the segment starts from) and the reading after it. `replacing`: the reading at the
 * same instant is the one being corrected, so it is no bound.
 */
function checkFits<R extends SeriesReading>(series: RegisterSeries<R>, reading: R, subject: MeterSubject, replacing: boolean): void {
  const at = searchByTime(series.readings, reading.occurredAt);
  const segment = segmentIndexAt(series, reading.occurredAt);
  const start = segment === 0 ? series.origin : series.resets[segment - 1]!;
  const startAt = segment === 0 ? null : start!.occurredAt;
  const endAt = series.resets[segment]?.occurredAt ?? null;
  const previous = series.readings[at - 1];
  const before = previous && (startAt === null || previous.occurredAt >= startAt) ? previous : undefined;
  const next = series.readings[replacing ? at + 1 : at];
  const after = next && (endAt === null || next.occurredAt < endAt) ? next : undefined;
  const floor: SeriesReading | null = before ?? start;
  for (const register of REGISTERS) {
    const value = new Decimal(reading[register]);
    if (floor && value.lessThan(floor[register])) {
      throw new MeterRegisterWentBackwards(subject, register, { at: floor.occurredAt, wh: floor[register] }, { at: reading.occurredAt, wh: reading[register] });
    }
    if (after && value.greaterThan(after[register])) {
      throw new MeterRegisterWentBackwards(subject, register, { at: reading.occurredAt, wh: reading[register] }, { at: after.occurredAt, wh: after[register] });
    }
  }
}

/**
 * A new reading (canonical form): true when it is to be recorded, false when the very same reading
 * is already there. Throws ConflictingMeterReading when the instant has a reading with other values,
 * MeterRegisterWentBackwards when it does not fit between its neighbours.
 */
export function decideReading<R extends SeriesReading>(series: RegisterSeries<R>, reading: R, subject: MeterSubject): boolean {
  const existing = series.readings[searchByTime(series.readings, reading.occurredAt)];
  if (existing?.occurredAt === reading.occurredAt) {
    if (sameValues(existing, reading)) return false;
    throw new ConflictingMeterReading(subject, 'reading', reading.occurredAt, valuesOf(existing), valuesOf(reading));
  }
  checkFits(series, reading, subject, false);
  return true;
}

/**
 * A correction of the reading at `reading.occurredAt`: true when it changes it, false when the
 * values are those recorded. Throws UnknownMeterReading when there is no reading there, and
 * MeterRegisterWentBackwards when the corrected values do not fit between its neighbours.
 */
export function decideCorrection<R extends SeriesReading>(series: RegisterSeries<R>, reading: R, subject: MeterSubject): boolean {
  const existing = series.readings[searchByTime(series.readings, reading.occurredAt)];
  if (existing?.occurredAt !== reading.occurredAt) throw new UnknownMeterReading(subject, reading.occurredAt);
  if (sameValues(existing, reading)) return false;
  checkFits(series, reading, subject, true);
  return true;
}

/**
 * A reset (a replaced or reset meter): from `start.occurredAt` the registers continue from its
 * values. True when it is to be recorded, false when the same reset is already there. Throws
 * InvalidCommand(occurredAt) for a reset at or before the origin, ConflictingMeterReading for
 * another reset at the same instant, ReadingsAfterMeterReset when the segment it splits has
 * readings at or after it.
 */
export function decideReset<R extends SeriesReading>(series: RegisterSeries<R>, start: SegmentStart, subject: MeterSubject): boolean {
  if (series.origin && start.occurredAt <= series.origin.occurredAt) {
    throw new InvalidCommand('occurredAt', `${start.occurredAt} is not after ${series.origin.occurredAt}, where the registers start`);
  }
  const existing = series.resets[searchByTime(series.resets, start.occurredAt)];
  if (existing?.occurredAt === start.occurredAt) {
    if (sameValues(existing, start)) return false;
    throw new ConflictingMeterReading(subject, 'reset', start.occurredAt, valuesOf(existing), valuesOf(start));
  }
  const endAt = series.resets[segmentIndexAt(series, start.occurredAt)]?.occurredAt ?? null;
  const later: string[] = [];
  for (let i = searchByTime(series.readings, start.occurredAt); i < series.readings.length; i++) {
    const { occurredAt } = series.readings[i]!;
    if (endAt !== null && occurredAt >= endAt) break;
    later.push(occurredAt);
  }
  if (later.length > 0) throw new ReadingsAfterMeterReset(subject, start.occurredAt, later);
  return true;
}

/** The series with a reading recorded, or the reading at its instant replaced (a correction). */
export function withReading<R extends SeriesReading>(series: RegisterSeries<R>, reading: R): RegisterSeries<R> {
  const at = searchByTime(series.readings, reading.occurredAt);
  const replaces = series.readings[at]?.occurredAt === reading.occurredAt ? 1 : 0;
  return { ...series, readings: [...series.readings.slice(0, at), reading, ...series.readings.slice(at + replaces)] };
}

/** The series with a reset recorded. */
export function withReset<R extends SeriesReading>(series: RegisterSeries<R>, start: SegmentStart): RegisterSeries<R> {
  const at = searchByTime(series.resets, start.occurredAt);
  const replaces = series.resets[at]?.occurredAt === start.occurredAt ? 1 : 0;
  const reset: SegmentStart = { occurredAt: start.occurredAt, energyImportWh: start.energyImportWh, energyExportWh: start.energyExportWh };
  return { ...series, resets: [...series.resets.slice(0, at), reset, ...series.resets.slice(at + replaces)] };
}

type SegmentRange = { start: SegmentStart | null; startedBy: RegisterSegment<SeriesReading>['startedBy']; from: number; to: number };

/** Each segment's start and the range of its readings in `series.readings`. */
function segmentRanges(series: RegisterSeries<SeriesReading>): SegmentRange[] {
  const ranges: SegmentRange[] = [];
  let from = 0;
  for (let k = 0; k <= series.resets.length; k++) {
    const endAt = series.resets[k]?.occurredAt ?? null;
    let to = from;
    while (to < series.readings.length && (endAt === null || series.readings[to]!.occurredAt < endAt)) to++;
    const start = k === 0 ? series.origin : series.resets[k - 1]!;
    ranges.push({ start, startedBy: k > 0 ? 'reset' : start ? 'origin' : 'first_reading', from, to });
    from = to;
  }
  return ranges;
}

function rangeDelivered(series: RegisterSeries<SeriesReading>, range: SegmentRange): { importWh: Decimal; exportWh: Decimal } {
  const first = range.start ?? series.readings[range.from] ?? null;
  const last = range.to > range.from ? series.readings[range.to - 1]! : first;
  if (!first || !last) return { importWh: new Decimal(0), exportWh: new Decimal(0) };
  return {
    importWh: new Decimal(last.energyImportWh).minus(first.energyImportWh),
    exportWh: new Decimal(last.energyExportWh).minus(first.energyExportWh),
  };
}

/** Energy each register counted: the sum over segments of (last − first), Wh. */
export function deliveredEnergy(series: RegisterSeries<SeriesReading>): { importWh: Decimal; exportWh: Decimal } {
  let importWh = new Decimal(0);
  let exportWh = new Decimal(0);
  for (const range of segmentRanges(series)) {
    const delivered = rangeDelivered(series, range);
    importWh = importWh.plus(delivered.importWh);
    exportWh = exportWh.plus(delivered.exportWh);
  }
  return { importWh, exportWh };
}

/** The segments of a series, oldest first. */
export function segmentsOf<R extends SeriesReading>(series: RegisterSeries<R>): RegisterSegment<R>[] {
  return segmentRanges(series).map((range) => {
    const delivered = rangeDelivered(series, range);
    return {
      start: range.start,
      startedBy: range.startedBy,
      readings: series.readings.slice(range.from, range.to),
      deliveredImportWh: toDecimalString(delivered.importWh),
      deliveredExportWh: toDecimalString(delivered.exportWh),
    };
  });
}
