/**
 * A session's meter as the billing read model (and settlement, through sessionEnergyIn) sees it:
 * a time line of points, and the energy of each span between two consecutive points spread over
 * the 15-minute intervals (`apportion`).
 *
 * The points of a session are its meter start at plug-in (kind `plug_in`), its meter resets
 * (`reset`) and its readings (`reading`: one per instant; a correction replaces the values of the
 * reading at its instant). Plug-in and resets start a segment; energy is never counted across a
 * segment start, so a reset contributes no span from the reading before it.
 *
 * Order: by `spanAt` (the instant, or the plug-in instant for a point dated before it: a meter
 * clock behind ours must not make a span run backwards), then segment starts before readings,
 * then the instant itself. A span runs from each point to the next when the next is a reading and
 * the first is in a segment (after a start). So the intervals depend only on the set of points,
 * never on the order their events arrived in.
 *
 * Pure: integers in mWh (bigint) and epoch ms; no I/O.
 */
import { apportionMilli } from '../billing/apportion.ts';
import { QUARTER_HOUR_MS, intervalStartOf } from '../values/index.ts';

export type PointKind = 'plug_in' | 'reset' | 'reading';

export type TimelinePoint = {
  kind: PointKind;
  occurredAtMs: number;
  /** max(occurredAt, pluggedInAt): where the point sits on the session's time line. */
  spanAtMs: number;
  importMilli: bigint;
  exportMilli: bigint;
  /** 0 from the plug-in, k after the k-th reset; -1 before any start (no plug-in known). */
  segment: number;
  /** The event that recorded the point first. */
  position: bigint;
  /** The event that last changed its values (a correction), if any. */
  correctedPosition: bigint | null;
};

export const isStart = (point: Pick<TimelinePoint, 'kind'>): boolean => point.kind !== 'reading';

/** Points compare by (spanAt, start before reading, occurredAt). */
export function compareKeys(a: Pick<TimelinePoint, 'spanAtMs' | 'kind' | 'occurredAtMs'>, b: Pick<TimelinePoint, 'spanAtMs' | 'kind' | 'occurredAtMs'>): number {
  if (a.spanAtMs !== b.spanAtMs) return a.spanAtMs - b.spanAtMs;
  const ra = isStart(a) ? 0 : 1;
  const rb = isStart(b) ? 0 : 1;
  if (ra !== rb) return ra - rb;
  return a.occurredAtMs - b.occurredAtMs;
}

/** What identifies a point within its session: its instant, and whether it is a reading. */
export const identityOf = (point: Pick<TimelinePoint, 'kind' | 'occurredAtMs'>): string => `${point.occurredAtMs}${isStart(point) ? 's' : 'r'}`;

export const spanAtOf = (occurredAtMs: number, pluggedInAtMs: number | null): number => (pluggedInAtMs === null ? occurredAtMs : Math.max(occurredAtMs, pluggedInAtMs));

/** Energy of one session in one interval, being summed: mWh and the positions behind them (unsorted, may repeat). */
export type IntervalSum = { sessionId: string; startMs: number; importMilli: bigint; exportMilli: bigint; positions: bigint[] };

/** Sums of span shares per (session, interval). */
export class IntervalSums {
  private readonly bySession = new Map<string, Map<number, IntervalSum>>();

  get size(): number {
    let n = 0;
    for (const rows of this.bySession.values()) n += rows.size;
    return n;
  }

  *all(): IterableIterator<IntervalSum> {
    for (const rows of this.bySession.values()) yield* rows.values();
  }

  private row(sessionId: string, startMs: number): IntervalSum {
    let rows = this.bySession.get(sessionId);
    if (!rows) {
      rows = new Map();
      this.bySession.set(sessionId, rows);
    }
    let row = rows.get(startMs);
    if (!row) {
      row = { sessionId, startMs, importMilli: 0n, exportMilli: 0n, positions: [] };
      rows.set(startMs, row);
    }
    return row;
  }

  private add(sessionId: string, startMs: number, importMilli: bigint, exportMilli: bigint, p: TimelinePoint, q: TimelinePoint): void {
    const row = this.row(sessionId, startMs);
    row.importMilli += importMilli;
    row.exportMilli += exportMilli;
    row.positions.push(p.position, q.position);
    if (p.correctedPosition !== null) row.positions.push(p.correctedPosition);
    if (q.correctedPosition !== null) row.positions.push(q.correctedPosition);
  }

  /** Adds the span from `p` to `q`, keeping only intervals starting in [fromMs, toMs). */
  addSpan(sessionId: string, p: TimelinePoint, q: TimelinePoint, fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): void {
    const first = intervalStartOf(p.spanAtMs);
    if (q.spanAtMs <= first + QUARTER_HOUR_MS) {
      // Within one interval (the common case): all of it there, as apportionMilli would.
      if (first >= fromMs && first < toMs) this.add(sessionId, first, q.importMilli - p.importMilli, q.exportMilli - p.exportMilli, p, q);
      return;
    }
    for (const share of apportionMilli(p.spanAtMs, q.spanAtMs, q.importMilli - p.importMilli, q.exportMilli - p.exportMilli)) {
      if (share.startMs >= fromMs && share.startMs < toMs) this.add(sessionId, share.startMs, share.importMilli, share.exportMilli, p, q);
    }
  }

  merge(other: IntervalSums): void {
    for (const [sessionId, rows] of other.bySession) {
      const mine = this.bySession.get(sessionId);
      if (!mine) {
        this.bySession.set(sessionId, rows);
        continue;
      }
      for (const [startMs, row] of rows) {
        const existing = mine.get(startMs);
        if (!existing) {
          mine.set(startMs, row);
          continue;
        }
        existing.importMilli += row.importMilli;
        existing.exportMilli += row.exportMilli;
        existing.positions.push(...row.positions);
      }
    }
  }
}

/** Positions sorted, each once. */
export function distinctPositions(positions: readonly bigint[]): bigint[] {
  const sorted = [...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.filter((position, i) => i === 0 || position !== sorted[i - 1]);
}

/**
 * Numbers the segments of `points` (sorted by key) in place, starting from `before` (the segment of
 * whatever precedes the first point; -1 at the start of a session), and returns the points whose
 * segment changed.
 */
export function numberSegments(points: TimelinePoint[], before: number): TimelinePoint[] {
  const changed: TimelinePoint[] = [];
  let segment = before;
  for (const point of points) {
    if (isStart(point)) segment += 1;
    if (point.segment !== segment) {
      point.segment = segment;
      changed.push(point);
    }
  }
  return changed;
}

/** Adds every span between consecutive `points` (sorted, segments numbered) to `sums`, within [fromMs, toMs). */
export function addSpans(sums: IntervalSums, sessionId: string, points: readonly TimelinePoint[], fromMs?: number, toMs?: number): void {
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1]!;
    const q = points[i]!;
    if (!isStart(q) && p.segment >= 0) sums.addSpan(sessionId, p, q, fromMs, toMs);
  }
}

/** Every interval of a whole time line, from scratch: what the projection's rows must equal. */
export function sessionIntervalSums(sessionId: string, points: readonly TimelinePoint[]): IntervalSums {
  const sorted = points.map((p) => ({ ...p })).sort(compareKeys);
  numberSegments(sorted, -1);
  const sums = new IntervalSums();
  addSpans(sums, sessionId, sorted);
  return sums;
}
