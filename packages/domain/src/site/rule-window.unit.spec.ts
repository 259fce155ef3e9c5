import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInstant, parseInstant } from '../values/index.ts';
import { isoWeekdayUtc, nextRuleBoundary, ruleInForce } from './rule-window.ts';
import type { RuleWindow } from './site-types.ts';

const ms = (instant: string): number => parseInstant('t', instant);
const iso = (epochMs: number | null): string | null => (epochMs === null ? null : formatInstant(epochMs));
const window = (overrides: Partial<RuleWindow> = {}): RuleWindow => ({
  start: '2026-11-27T17:00:00.000Z',
  end: null,
  daysOfWeek: null,
  dailyFrom: null,
  dailyTo: null,
  ...overrides,
});

// 2026-11-27 is a Friday; 2026-11-30 a Monday.
describe('isoWeekdayUtc', () => {
  it('numbers days 1 = Monday … 7 = Sunday, in UTC, before and after 1970', () => {
    expect(isoWeekdayUtc(ms('2026-11-30T00:00:00Z'))).toBe(1);
    expect(isoWeekdayUtc(ms('2026-11-29T23:59:59.999Z'))).toBe(7);
    expect(isoWeekdayUtc(ms('2026-11-27T12:00:00Z'))).toBe(5);
    expect(isoWeekdayUtc(0)).toBe(4);
    expect(isoWeekdayUtc(-1)).toBe(3);
  });

  it('agrees with Date.getUTCDay (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -4e12, max: 8e12 }), (t) => {
        expect(isoWeekdayUtc(t)).toBe(((new Date(t).getUTCDay() + 6) % 7) + 1);
      }),
    );
  });
});

describe('ruleInForce', () => {
  it('is half-open: in force from start, not at end', () => {
    const w = window({ end: '2026-11-27T19:00:00Z' });
    expect(ruleInForce(w, ms('2026-11-27T16:59:59.999Z'))).toBe(false);
    expect(ruleInForce(w, ms('2026-11-27T17:00:00Z'))).toBe(true);
    expect(ruleInForce(w, ms('2026-11-27T18:59:59.999Z'))).toBe(true);
    expect(ruleInForce(w, ms('2026-11-27T19:00:00Z'))).toBe(false);
    expect(ruleInForce(window(), ms('2099-01-01T00:00:00Z'))).toBe(true);
  });

  it('applies days of week in UTC', () => {
    expect(ruleInForce(window({ daysOfWeek: [5] }), ms('2026-11-27T23:59:00Z'))).toBe(true);
    expect(ruleInForce(window({ daysOfWeek: [5] }), ms('2026-11-28T00:00:00Z'))).toBe(false);
    expect(ruleInForce(window({ daysOfWeek: [6, 7] }), ms('2026-11-29T12:00:00Z'))).toBe(true);
    expect(ruleInForce(window({ daysOfWeek: [1, 2, 3, 4] }), ms('2026-11-27T18:00:00Z'))).toBe(false);
  });

  it('applies a daily window, half-open', () => {
    const w = window({ start: '2026-11-01T00:00:00Z', dailyFrom: '08:00', dailyTo: '18:00' });
    expect(ruleInForce(w, ms('2026-11-27T07:59:59.999Z'))).toBe(false);
    expect(ruleInForce(w, ms('2026-11-27T08:00:00Z'))).toBe(true);
    expect(ruleInForce(w, ms('2026-11-27T17:59:00Z'))).toBe(true);
    expect(ruleInForce(w, ms('2026-11-27T18:00:00Z'))).toBe(false);
  });

  it('wraps midnight when dailyTo <= dailyFrom; the day of week is the day the window started', () => {
    const mondayNights = window({ start: '2026-11-01T00:00:00Z', daysOfWeek: [1], dailyFrom: '22:00', dailyTo: '06:00' });
    expect(ruleInForce(mondayNights, ms('2026-11-30T21:59:00Z'))).toBe(false);
    expect(ruleInForce(mondayNights, ms('2026-11-30T22:00:00Z'))).toBe(true);
    expect(ruleInForce(mondayNights, ms('2026-12-01T03:00:00Z'))).toBe(true); // Tuesday, but the window began on Monday
    expect(ruleInForce(mondayNights, ms('2026-12-01T06:00:00Z'))).toBe(false);
    expect(ruleInForce(mondayNights, ms('2026-11-30T03:00:00Z'))).toBe(false); // Monday, but the window began on Sunday
    expect(ruleInForce(mondayNights, ms('2026-12-01T22:30:00Z'))).toBe(false); // Tuesday night
    // dailyFrom = dailyTo: a 24-hour window starting at dailyFrom.
    const mondayFromSix = window({ start: '2026-11-01T00:00:00Z', daysOfWeek: [1], dailyFrom: '06:00', dailyTo: '06:00' });
    expect(ruleInForce(mondayFromSix, ms('2026-11-30T05:59:00Z'))).toBe(false);
    expect(ruleInForce(mondayFromSix, ms('2026-11-30T06:00:00Z'))).toBe(true);
    expect(ruleInForce(mondayFromSix, ms('2026-12-01T05:59:00Z'))).toBe(true);
    expect(ruleInForce(mondayFromSix, ms('2026-12-01T06:00:00Z'))).toBe(false);
  });

  it('a wrapping window cut by start or end counts only inside [start, end)', () => {
    const w = window({ start: '2026-11-28T00:00:00Z', end: '2026-11-28T04:00:00Z', daysOfWeek: [5], dailyFrom: '22:00', dailyTo: '06:00' });
    expect(ruleInForce(w, ms('2026-11-27T23:00:00Z'))).toBe(false); // before start
    expect(ruleInForce(w, ms('2026-11-28T01:00:00Z'))).toBe(true); // Saturday 01:00 belongs to Friday's window
    expect(ruleInForce(w, ms('2026-11-28T04:00:00Z'))).toBe(false); // end
  });
});

describe('nextRuleBoundary', () => {
  const next = (w: RuleWindow, after: string) => iso(nextRuleBoundary(w, ms(after)));

  it('is start before the rule starts, end while it holds, null after end or when nothing changes again', () => {
    const w = window({ end: '2026-11-27T19:00:00Z' });
    expect(next(w, '2026-11-27T10:00:00Z')).toBe('2026-11-27T17:00:00.000Z');
    expect(next(w, '2026-11-27T17:00:00Z')).toBe('2026-11-27T19:00:00.000Z');
    expect(next(w, '2026-11-27T19:00:00Z')).toBeNull();
    expect(next(window(), '2026-11-27T18:00:00Z')).toBeNull();
    expect(next(window({ daysOfWeek: [1, 2, 3, 4, 5, 6, 7] }), '2026-11-27T18:00:00Z')).toBeNull();
    expect(next(window({ dailyFrom: '00:00', dailyTo: '00:00' }), '2026-11-27T18:00:00Z')).toBeNull();
  });

  it('follows the daily window, strictly after the given instant', () => {
    const w = window({ start: '2026-11-01T00:00:00Z', dailyFrom: '08:00', dailyTo: '18:00' });
    expect(next(w, '2026-11-27T17:00:00Z')).toBe('2026-11-27T18:00:00.000Z');
    expect(next(w, '2026-11-27T18:00:00Z')).toBe('2026-11-28T08:00:00.000Z');
    expect(next(w, '2026-11-27T07:59:59.999Z')).toBe('2026-11-27T08:00:00.000Z');
  });

  it('skips days the rule does not hold and midnights inside a wrapping window', () => {
    const weekdaysDaytime = window({ start: '2026-11-01T00:00:00Z', daysOfWeek: [1], dailyFrom: '08:00', dailyTo: '18:00' });
    expect(next(weekdaysDaytime, '2026-11-27T17:00:00Z')).toBe('2026-11-30T08:00:00.000Z');
    const mondayNights = window({ start: '2026-11-01T00:00:00Z', daysOfWeek: [1], dailyFrom: '22:00', dailyTo: '06:00' });
    expect(next(mondayNights, '2026-11-30T23:00:00Z')).toBe('2026-12-01T06:00:00.000Z');
    expect(next(mondayNights, '2026-12-01T06:00:00Z')).toBe('2026-12-07T22:00:00.000Z');
    const weekend = window({ daysOfWeek: [6, 7] });
    expect(next(weekend, '2026-11-27T17:00:00Z')).toBe('2026-11-28T00:00:00.000Z');
    expect(next(weekend, '2026-11-28T00:00:00Z')).toBe('2026-11-30T00:00:00.000Z');
    // Starts on a Saturday, holds on Mondays only: nothing happens at start.
    expect(next(window({ start: '2026-11-28T10:00:00Z', daysOfWeek: [1] }), '2026-11-27T00:00:00Z')).toBe('2026-11-30T00:00:00.000Z');
  });

  const arbitraryWindow = fc
    .record({
      startMin: fc.integer({ min: 0, max: 20 * 1440 }),
      lengthMin: fc.option(fc.integer({ min: 1, max: 20 * 1440 })),
      days: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 })),
      daily: fc.option(fc.tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 1439 }))),
    })
    .map(({ startMin, lengthMin, days, daily }): RuleWindow => {
      const base = ms('2026-11-20T00:00:00Z');
      const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
      return {
        start: formatInstant(base + startMin * 60_000),
        end: lengthMin === null ? null : formatInstant(base + (startMin + lengthMin) * 60_000),
        daysOfWeek: days === null ? null : [...days].sort((a, b) => a - b),
        dailyFrom: daily === null ? null : hhmm(daily[0]),
        dailyTo: daily === null ? null : hhmm(daily[1]),
      };
    });

  it('is exactly the next change: constant before it, different at it (property)', () => {
    fc.assert(
      fc.property(arbitraryWindow, fc.integer({ min: 0, max: 30 * 1440 }), (w, afterMin) => {
        const after = ms('2026-11-20T00:00:00Z') + afterMin * 60_000 + 30_000;
        const now = ruleInForce(w, after);
        const boundary = nextRuleBoundary(w, after);
        const horizon = boundary ?? after + 40 * 86_400_000;
        if (boundary !== null) {
          expect(boundary).toBeGreaterThan(after);
          expect(ruleInForce(w, boundary)).toBe(!now);
        }
        // The status can only change at start, end, midnights and the daily edges: check them all (and 1 ms
        // either side) up to the boundary, or over 40 days when there is none.
        const edges = [ms(w.start), ...(w.end === null ? [] : [ms(w.end)])];
        const minutes = (hhmm: string | null) => (hhmm === null ? [] : [(Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 60_000]);
        for (let day = Math.floor(after / 86_400_000); day * 86_400_000 < horizon; day++) {
          for (const offset of [0, ...minutes(w.dailyFrom), ...minutes(w.dailyTo)]) edges.push(day * 86_400_000 + offset);
        }
        for (const edge of edges) {
          for (const t of [edge - 1, edge, edge + 1]) if (t > after && t < horizon) expect(ruleInForce(w, t)).toBe(now);
        }
        if (boundary !== null) expect(ruleInForce(w, boundary - 1)).toBe(now);
      }),
      { numRuns: 150 },
    );
  });
});
