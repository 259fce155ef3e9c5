/**
 * The energy one session's meter recorded in a period, exactly as the billing read model counts it
 * (projections/billing: its `session_intervals` rows), computed from the session's events alone.
 *
 * The session's meter is a time line (metering/meter-timeline.ts) built from its events in log
 * (position) order, with the billing projection's rules:
 * - SessionPluggedIn: a segment start (kind `plug_in`) at pluggedInAt with the meter start
 *   registers; the last plug-in's instant is the session's plug-in instant, where every point
 *   dated before it sits (`spanAtOf`);
 * - SessionMeterReset: a segment start (kind `reset`) at occurredAt;
 * - SessionMeterReadingRecorded and SessionMeterReadingCorrected: a reading at occurredAt.
 * A point is identified by its instant and whether it is a segment start (`identityOf`): the first
 * event at an identity creates the point (its `position`); a later one with other register values
 * replaces them (its position becomes `correctedPosition`; the kind stays); one with the same values
 * changes nothing (a duplicate). So readings arriving out of order, twice or corrected give the
 * same time line as in order. Registers with more than 3 decimals (older event versions allowed
 * them) are rounded half-even to the mWh, as billing does.
 *
 * Pure: no clock, no I/O.
 */
import { fromMilli, toMilli } from '../billing/apportion.ts';
import { intervalStartOf, compareDecimalText, Decimal, formatInstant } from '../values/index.ts';
import { addSpans, compareKeys, distinctPositions, identityOf, IntervalSums, numberSegments, spanAtOf, type PointKind, type TimelinePoint } from '../metering/meter-timeline.ts';
import type { InputEvent } from './settlement-types.ts';

/** A session's energy in a period: exact decimal strings (mWh precision) and the events behind it. */
export type SessionEnergy = {
  importWh: string;
  exportWh: string;
  /** Positions (decimal strings, ascending, each once) of the events whose points bound a span that reaches into the period. */
  justifiedBy: string[];
};

/** The session event types that make the meter's time line. */
export const SESSION_METER_EVENT_TYPES: ReadonlySet<string> = new Set(['SessionPluggedIn', 'SessionMeterReadingRecorded', 'SessionMeterReadingCorrected', 'SessionMeterReset']);

type MeterOp = { kind: PointKind; occurredAtMs: number; importMilli: bigint; exportMilli: bigint; position: bigint };

/** Billing's register rule: exact mWh, or rounded half-even to the mWh for an older event with more decimals. */
function registerMilli(value: string): bigint {
  try {
    return toMilli(value);
  } catch {
    return toMilli(new Decimal(value).toDecimalPlaces(3, Decimal.ROUND_HALF_EVEN));
  }
}

function opOf(event: InputEvent): MeterOp | null {
  if (!SESSION_METER_EVENT_TYPES.has(event.type)) return null;
  const d = event.data as Record<string, string>;
  const position = BigInt(event.position);
  if (event.type === 'SessionPluggedIn') {
    return {
      kind: 'plug_in',
      occurredAtMs: Date.parse(d['pluggedInAt']!),
      importMilli: registerMilli(d['meterStartImportWh']!),
      exportMilli: registerMilli(d['meterStartExportWh']!),
      position,
    };
  }
  return {
    kind: event.type === 'SessionMeterReset' ? 'reset' : 'reading',
    occurredAtMs: Date.parse(d['occurredAt']!),
    importMilli: registerMilli(d['energyImportWh']!),
    exportMilli: registerMilli(d['energyExportWh']!),
    position,
  };
}

/**
 * The session's meter time line from its events (any order; each position counted once): the
 * points sorted by key, segments numbered, as the billing read model holds them.
 */
export function sessionTimeline(events: readonly InputEvent[]): TimelinePoint[] {
  const byPosition = new Map<string, InputEvent>();
  for (const event of events) if (!byPosition.has(event.position)) byPosition.set(event.position, event);
  const ops = [...byPosition.values()]
    .sort((a, b) => compareDecimalText(a.position, b.position))
    .map(opOf)
    .filter((op): op is MeterOp => op !== null);
  let pluggedInAtMs: number | null = null;
  for (const op of ops) if (op.kind === 'plug_in') pluggedInAtMs = op.occurredAtMs;
  const byIdentity = new Map<string, TimelinePoint>();
  for (const op of ops) {
    const point: TimelinePoint = {
      kind: op.kind,
      occurredAtMs: op.occurredAtMs,
      spanAtMs: spanAtOf(op.occurredAtMs, pluggedInAtMs),
      importMilli: op.importMilli,
      exportMilli: op.exportMilli,
      segment: 0,
      position: op.position,
      correctedPosition: null,
    };
    const existing = byIdentity.get(identityOf(point));
    if (!existing) {
      byIdentity.set(identityOf(point), point);
    } else if (existing.importMilli !== point.importMilli || existing.exportMilli !== point.exportMilli) {
      existing.importMilli = point.importMilli;
      existing.exportMilli = point.exportMilli;
      existing.correctedPosition = op.position;
    }
  }
  const points = [...byIdentity.values()].sort(compareKeys);
  numberSegments(points, -1);
  return points;
}

/**
 * The energy the events of ONE session stream put into the 15-minute intervals starting in
 * [fromMs, toMs) (both aligned to 15 minutes; a RangeError otherwise): the sum of billing's
 * `session_intervals` rows of those intervals, and their `justified_by` positions.
 */
export function sessionEnergyIn(events: readonly InputEvent[], fromMs: number, toMs: number): SessionEnergy {
  if (intervalStartOf(fromMs) !== fromMs || intervalStartOf(toMs) !== toMs || toMs < fromMs) {
    throw new RangeError(`sessionEnergyIn: [${formatInstant(fromMs)}, ${formatInstant(toMs)}) is not a range of whole 15-minute intervals`);
  }
  const streams = new Set(events.map((e) => e.streamId));
  if (streams.size > 1) throw new RangeError(`sessionEnergyIn: events of one session stream expected, got ${[...streams].sort().join(', ')}`);
  const sums = new IntervalSums();
  addSpans(sums, 'session', sessionTimeline(events), fromMs, toMs);
  let importMilli = 0n;
  let exportMilli = 0n;
  const positions: bigint[] = [];
  for (const row of sums.all()) {
    importMilli += row.importMilli;
    exportMilli += row.exportMilli;
    positions.push(...row.positions);
  }
  return { importWh: fromMilli(importMilli), exportWh: fromMilli(exportMilli), justifiedBy: distinctPositions(positions).map(String) };
}
