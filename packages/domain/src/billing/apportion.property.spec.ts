import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apportion, fromMilli, toMilli, type IntervalShare } from './apportion.ts';
import { QUARTER_HOUR_MS, intervalStartOf } from '../values/index.ts';

/**
 * Properties of apportion over random spans. Figures are compared in integer mWh (toMilli), never
 * as floats.
 */
const RUNS = { numRuns: 500 };
const BASE = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;

/** Spans from 0 ms to a few days, mostly under an hour; starts anywhere in a month, to the ms. */
const durationArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 60 * MINUTE }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 * 24 * 60 * MINUTE }) },
);
const mwhArb = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 10n ** 12n }));

type Span = { fromMs: number; toMs: number; fromImport: bigint; fromExport: bigint; importDelta: bigint; exportDelta: bigint };

const spanArb: fc.Arbitrary<Span> = fc
  .record({
    fromMs: fc.integer({ min: BASE, max: BASE + 30 * 24 * 60 * MINUTE }),
    duration: durationArb,
    fromImport: mwhArb,
    fromExport: mwhArb,
    importDelta: mwhArb,
    exportDelta: mwhArb,
  })
  .map(({ fromMs, duration, ...rest }) => ({ fromMs, toMs: fromMs + duration, ...rest }));

const point = (ms: number, importMilli: bigint, exportMilli: bigint) => ({ at: new Date(ms).toISOString(), importWh: fromMilli(importMilli), exportWh: fromMilli(exportMilli) });
const run = (s: Span) => apportion(point(s.fromMs, s.fromImport, s.fromExport), point(s.toMs, s.fromImport + s.importDelta, s.fromExport + s.exportDelta));
const sum = (shares: IntervalShare[], register: 'importWh' | 'exportWh') => shares.reduce((total, share) => total + toMilli(share[register]), 0n);

/** Adds shares per interval. */
function merge(...lists: IntervalShare[][]): Map<string, { importMilli: bigint; exportMilli: bigint }> {
  const merged = new Map<string, { importMilli: bigint; exportMilli: bigint }>();
  for (const share of lists.flat()) {
    const row = merged.get(share.intervalStart) ?? { importMilli: 0n, exportMilli: 0n };
    row.importMilli += toMilli(share.importWh);
    row.exportMilli += toMilli(share.exportWh);
    merged.set(share.intervalStart, row);
  }
  return merged;
}

describe('apportion (properties)', () => {
  it('shares add up exactly to the register difference, each register on its own', () => {
    fc.assert(
      fc.property(spanArb, (s) => {
        const shares = run(s);
        expect(sum(shares, 'importWh')).toBe(s.importDelta);
        expect(sum(shares, 'exportWh')).toBe(s.exportDelta);
      }),
      RUNS,
    );
  });

  it('no share is negative, and each is the exact linear share rounded down or up (within 1 mWh)', () => {
    fc.assert(
      fc.property(spanArb, (s) => {
        const shares = run(s);
        const total = BigInt(Math.max(1, s.toMs - s.fromMs));
        for (const share of shares) {
          const start = Date.parse(share.intervalStart);
          const overlap = s.toMs === s.fromMs ? total : BigInt(Math.min(start + QUARTER_HOUR_MS, s.toMs) - Math.max(start, s.fromMs));
          for (const [register, delta] of [
            ['importWh', s.importDelta],
            ['exportWh', s.exportDelta],
          ] as const) {
            const milli = toMilli(share[register]);
            expect(milli >= 0n).toBe(true);
            // floor(delta * overlap / total) <= milli <= that + 1
            const floor = (delta * overlap) / total;
            expect(milli === floor || milli === floor + 1n).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('gives a share to exactly the intervals the span overlaps, in order, once each', () => {
    fc.assert(
      fc.property(spanArb, (s) => {
        const starts = run(s).map((share) => Date.parse(share.intervalStart));
        const expected: number[] = [];
        for (let start = intervalStartOf(s.fromMs); start < s.toMs || (s.toMs === s.fromMs && expected.length === 0); start += QUARTER_HOUR_MS) expected.push(start);
        expect(starts).toEqual(expected);
        for (const start of starts) {
          expect(start % QUARTER_HOUR_MS).toBe(0);
          // Overlaps [from, to) (a zero-length span: contains its instant).
          if (s.toMs > s.fromMs) expect(start < s.toMs && start + QUARTER_HOUR_MS > s.fromMs).toBe(true);
          else expect(start <= s.fromMs && s.fromMs < start + QUARTER_HOUR_MS).toBe(true);
        }
      }),
      RUNS,
    );
  });

  /**
   * A reading arriving late splits a span in two. What holds for ANY intermediate reading (registers
   * in between the outer two): the totals per register stay exact, across the whole span and on each
   * side of the split. What does not hold is per-interval equality: the new reading says the energy
   * did not flow evenly, and even an intermediate reading exactly on the straight line moves an
   * interval's figure by rounding: by at most 1 mWh in an interval the split instant is not in, and
   * by at most 2 mWh in the one it is in (two shares rounded there instead of one); see the next test.
   */
  it('splitting a span at any instant keeps the totals per register exact', () => {
    const splitArb = spanArb
      .filter((s) => s.toMs - s.fromMs >= 2)
      .chain((s) =>
        fc.record({
          span: fc.constant(s),
          midMs: fc.integer({ min: s.fromMs + 1, max: s.toMs - 1 }),
          importPart: fc.bigInt({ min: 0n, max: s.importDelta }),
          exportPart: fc.bigInt({ min: 0n, max: s.exportDelta }),
        }),
      );
    fc.assert(
      fc.property(splitArb, ({ span: s, midMs, importPart, exportPart }) => {
        const from = point(s.fromMs, s.fromImport, s.fromExport);
        const mid = point(midMs, s.fromImport + importPart, s.fromExport + exportPart);
        const to = point(s.toMs, s.fromImport + s.importDelta, s.fromExport + s.exportDelta);
        const left = apportion(from, mid);
        const right = apportion(mid, to);
        expect(sum(left, 'importWh')).toBe(importPart);
        expect(sum(right, 'importWh')).toBe(s.importDelta - importPart);
        const whole = [...merge(left, right).values()];
        expect(whole.reduce((t, r) => t + r.importMilli, 0n)).toBe(s.importDelta);
        expect(whole.reduce((t, r) => t + r.exportMilli, 0n)).toBe(s.exportDelta);
        // The split covers the same intervals as the whole span.
        expect([...merge(left, right).keys()]).toEqual(apportion(from, to).map((share) => share.intervalStart));
      }),
      RUNS,
    );
  });

  it('splitting at a reading exactly on the straight line moves an interval by at most 1 mWh (2 where it splits)', () => {
    // Choose the split where delta * (mid - from) / (to - from) is a whole mWh.
    const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
    const onLineArb = spanArb
      .filter((s) => s.toMs - s.fromMs >= 2 && s.importDelta > 0n)
      .chain((s) => {
        const total = BigInt(s.toMs - s.fromMs);
        const g = gcd(s.importDelta, total);
        return fc.record({ span: fc.constant(s), steps: fc.bigInt({ min: 1n, max: g > 1n ? g - 1n : 1n }), g: fc.constant(g) });
      })
      .filter(({ g }) => g > 1n);
    fc.assert(
      fc.property(onLineArb, ({ span: s, steps, g }) => {
        const total = BigInt(s.toMs - s.fromMs);
        const midMs = s.fromMs + Number((total / g) * steps);
        const importPart = (s.importDelta / g) * steps;
        const from = point(s.fromMs, s.fromImport, 0n);
        const mid = point(midMs, s.fromImport + importPart, 0n);
        const to = point(s.toMs, s.fromImport + s.importDelta, 0n);
        const whole = merge(apportion(from, to));
        const split = merge(apportion(from, mid), apportion(mid, to));
        const splitInterval = new Date(intervalStartOf(midMs)).toISOString();
        for (const [start, row] of whole) {
          const diff = split.get(start)!.importMilli - row.importMilli;
          const bound = start === splitInterval ? 2n : 1n;
          expect(diff <= bound && diff >= -bound).toBe(true);
        }
      }),
      RUNS,
    );
  });
});
