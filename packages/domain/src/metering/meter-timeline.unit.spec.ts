import { apportionMilli, fromMilli, toMilli } from '../billing/apportion.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, distinctPositions, IntervalSums, numberSegments, sessionIntervalSums, spanAtOf, type PointKind, type TimelinePoint } from './meter-timeline.ts';

const at = (hhmm: string) => Date.parse(`2026-11-27T${hhmm}:00.000Z`);
let nextPosition = 1n;
const point = (kind: PointKind, hhmm: string, importWh: string, pluggedIn: string | null = '10:00', exportWh = '0'): TimelinePoint => ({
  kind,
  occurredAtMs: at(hhmm),
  spanAtMs: spanAtOf(at(hhmm), pluggedIn === null ? null : at(pluggedIn)),
  importMilli: toMilli(importWh),
  exportMilli: toMilli(exportWh),
  segment: 0,
  position: nextPosition++,
  correctedPosition: null,
});
const rows = (sums: IntervalSums) =>
  [...sums.all()]
    .sort((a, b) => a.startMs - b.startMs)
    .map((row) => ({
      start: new Date(row.startMs).toISOString().slice(11, 16),
      importWh: fromMilli(row.importMilli),
      exportWh: fromMilli(row.exportMilli),
      positions: distinctPositions(row.positions),
    }));

describe('the meter time line', () => {
  it('orders by where a point sits, segment starts before readings at the same instant, then by the instant', () => {
    const plugIn = point('plug_in', '10:00', '0');
    const early = point('reading', '09:58', '0'); // before the plug-in: sits at the plug-in
    const reading = point('reading', '10:00', '1');
    const reset = point('reset', '10:30', '0');
    const atReset = point('reading', '10:30', '0.5');
    const sorted = [atReset, reading, reset, early, plugIn].sort(compareKeys);
    expect(sorted).toEqual([plugIn, early, reading, reset, atReset]);
  });

  it('numbers segments from each start; readings before any start are in none', () => {
    const points = [
      point('reading', '09:00', '0', null),
      point('plug_in', '10:00', '0'),
      point('reading', '10:05', '1'),
      point('reset', '10:10', '0'),
      point('reading', '10:12', '1'),
    ];
    expect(numberSegments(points, -1).length).toBe(3); // the plug-in and the reading after it were already in 0
    expect(points.map((p) => p.segment)).toEqual([-1, 0, 0, 1, 1]);
    // Continuing from a point in segment 3.
    const more = [point('reading', '11:00', '5'), point('reset', '11:05', '0')];
    numberSegments(more, 3);
    expect(more.map((p) => p.segment)).toEqual([3, 4]);
  });

  it('sums the spans within each segment, never across a reset, and clamps a reading dated before the plug-in', () => {
    const plugIn = point('plug_in', '10:05', '1000', '10:05');
    const early = point('reading', '10:01', '1010', '10:05'); // the meter's clock behind: 10 Wh at 10:05, zero-length
    const r1 = point('reading', '10:25', '1310', '10:05');
    const reset = point('reset', '10:40', '0', '10:05');
    const r2 = point('reading', '10:50', '60', '10:05');
    const sums = sessionIntervalSums('s', [r2, reset, r1, early, plugIn]);
    // 10:05→10:05 10 Wh | 10:05→10:25 300 Wh: 10 minutes each side of 10:15 | no span 10:25→10:40 | 10:40→10:50 60 Wh.
    expect(rows(sums)).toEqual([
      { start: '10:00', importWh: '160', exportWh: '0', positions: [plugIn.position, early.position, r1.position] },
      { start: '10:15', importWh: '150', exportWh: '0', positions: [early.position, r1.position] },
      // 10:40→10:50: 5 minutes in 10:30, 5 in 10:45.
      { start: '10:30', importWh: '30', exportWh: '0', positions: [reset.position, r2.position] },
      { start: '10:45', importWh: '30', exportWh: '0', positions: [reset.position, r2.position] },
    ]);
  });

  it('adds a span exactly as apportionMilli spreads it, within the bounds asked for', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: at('00:00'), max: at('23:00') }),
        fc.integer({ min: 0, max: 4 * 3600_000 }),
        fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined }),
        (fromMs, duration, importMilli, exportMilli, skip) => {
          const p: TimelinePoint = { kind: 'reading', occurredAtMs: fromMs, spanAtMs: fromMs, importMilli: 0n, exportMilli: 0n, segment: 0, position: 1n, correctedPosition: null };
          const q: TimelinePoint = { ...p, occurredAtMs: fromMs + duration, spanAtMs: fromMs + duration, importMilli, exportMilli, position: 2n, correctedPosition: 3n };
          const shares = apportionMilli(fromMs, fromMs + duration, importMilli, exportMilli);
          const lower = skip === undefined ? Number.NEGATIVE_INFINITY : (shares[Math.min(skip, shares.length - 1)]?.startMs ?? 0);
          const sums = new IntervalSums();
          sums.addSpan('s', p, q, lower);
          const expected = shares.filter((share) => share.startMs >= lower);
          expect([...sums.all()].map((row) => [row.startMs, row.importMilli, row.exportMilli])).toEqual(
            expected.map((share) => [share.startMs, share.importMilli, share.exportMilli]),
          );
          for (const row of sums.all()) expect(distinctPositions(row.positions)).toEqual([1n, 2n, 3n]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('merges sums of the same interval', () => {
    const a = new IntervalSums();
    const b = new IntervalSums();
    a.addSpan('s', point('reading', '10:00', '0'), point('reading', '10:05', '1'));
    b.addSpan('s', point('reading', '10:05', '1'), point('reading', '10:10', '3'));
    b.addSpan('t', point('reading', '10:05', '1'), point('reading', '10:10', '3'));
    a.merge(b);
    expect(a.size).toBe(2);
    expect([...a.all()].map((row) => [row.sessionId, fromMilli(row.importMilli)])).toEqual([
      ['s', '3'],
      ['t', '2'],
    ]);
  });
});
