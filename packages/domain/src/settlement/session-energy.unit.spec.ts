import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLog, T } from '../../test/settlement-fixtures.ts';
import { fromMilli, toMilli } from '../billing/apportion.ts';
import { sessionEnergyIn, sessionTimeline } from './session-energy.ts';
import type { InputEvent } from './settlement-types.ts';

const Q = 15 * 60_000;
const ms = (instant: string) => Date.parse(instant);
const day = '2026-11-27';

describe('sessionEnergyIn', () => {
  // The session of projections/billing/src/billing.int.spec.ts ("session A"), whose rows are pinned there by hand.
  const log = new EventLog();
  const at = (hhmm: string) => T(hhmm, day);
  const rec = at('12:00');
  const plugIn = log.plugIn('A', { customerId: 'cust-a', fleetId: 'fleet' }, at('10:05'), rec, ['1000', '0']);
  const r1010 = log.reading('A', at('10:10'), '1500', '0', rec);
  const r1025 = log.reading('A', at('10:25'), '3000', '0', rec);
  const r1020 = log.reading('A', at('10:20'), '2800', '0', rec); // late
  const c1025 = log.correction('A', at('10:25'), '3100.001', '0', rec);
  const r1040 = log.reading('A', at('10:40'), '3400.001', '0', rec);
  const reset = log.reset('A', at('10:41'), '0', '0', rec);
  const r1044 = log.reading('A', at('10:44'), '90', '0', rec);
  const dup1044 = log.reading('A', at('10:44'), '90', '0', rec); // sent twice: changes nothing
  const r1059 = log.reading('A', at('10:59'), '190', '0', rec);
  log.stop('A', at('11:00'), rec);
  const events = log.events;
  const positions = (...es: InputEvent[]) => es.map((e) => e.position).sort((a, b) => Number(a) - Number(b));

  it('gives billing session_intervals rows, interval by interval (hand-computed in the billing projection test)', () => {
    const interval = (hhmm: string) => sessionEnergyIn(events, ms(at(hhmm)), ms(at(hhmm)) + Q);
    expect(interval('10:00')).toEqual({ importWh: '1150', exportWh: '0', justifiedBy: positions(plugIn, r1010, r1020) });
    expect(interval('10:15')).toEqual({ importWh: '1050.001', exportWh: '0', justifiedBy: positions(r1010, r1020, r1025, c1025, r1040) });
    expect(interval('10:30')).toEqual({ importWh: '296.667', exportWh: '0', justifiedBy: positions(r1025, c1025, r1040, reset, r1044, r1059) });
    expect(interval('10:45')).toEqual({ importWh: '93.333', exportWh: '0', justifiedBy: positions(r1044, r1059) });
    expect(interval('11:00')).toEqual({ importWh: '0', exportWh: '0', justifiedBy: [] });
    expect(interval('09:45')).toEqual({ importWh: '0', exportWh: '0', justifiedBy: [] });
    expect(dup1044.position).not.toBe(r1044.position);
  });

  it('sums a range of intervals, and does not depend on the order (or repetition) of the events given', () => {
    const whole = sessionEnergyIn(events, ms(at('10:00')), ms(at('11:00')));
    expect(whole.importWh).toBe('2590.001'); // 3400.001 - 1000 in segment 0, 190 in segment 1
    const shuffled = [...events].reverse().concat(events.slice(0, 4));
    expect(sessionEnergyIn(shuffled, ms(at('10:00')), ms(at('11:00')))).toEqual(whole);
  });

  it('refuses a range that is not made of whole 15-minute intervals, or events of two streams', () => {
    expect(() => sessionEnergyIn(events, ms(at('10:05')), ms(at('11:00')))).toThrow(RangeError);
    const other = new EventLog(100n).plugIn('B', { customerId: 'c' }, at('10:00'), rec);
    expect(() => sessionEnergyIn([...events, other], ms(at('10:00')), ms(at('11:00')))).toThrow(RangeError);
  });

  /**
   * Random sessions: a plug-in, readings (some dated before the plug-in, some sent twice, some
   * corrected, some late), resets, in a random log order. Per interval, sessionEnergyIn adds up to
   * the energy over the whole range; every segment's total is its last register minus its start
   * (the final values: the last event at an instant wins), computed here without the time line.
   */
  it('adds up per interval to each segment register difference, in any log order (property)', () => {
    const base = ms(T('10:00', day));
    type Op = { kind: 'reading' | 'correct' | 'reset'; minute: number; second: number; importMilli: bigint; exportMilli: bigint };
    const opArb: fc.Arbitrary<Op> = fc.record({
      kind: fc.constantFrom<Op['kind']>('reading', 'reading', 'reading', 'correct', 'reset'),
      minute: fc.integer({ min: -10, max: 120 }),
      second: fc.constantFrom(0, 0, 0, 30),
      importMilli: fc.bigInt({ min: 0n, max: 50_000_000n }),
      exportMilli: fc.bigInt({ min: 0n, max: 5_000_000n }),
    });
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 14 }), fc.integer({ min: 0, max: 14 }), fc.integer({ min: 0, max: 1000 }), (ops, plugInIndex, seed) => {
        const log = new EventLog();
        const instant = (op: Op) => new Date(base + op.minute * 60_000 + op.second * 1000).toISOString();
        const all: InputEvent[] = [];
        const planned = ops.map((op) => () => {
          const wh = [fromMilli(op.importMilli), fromMilli(op.exportMilli)] as const;
          if (op.kind === 'reset') return log.reset('s', instant(op), ...wh, rec);
          if (op.kind === 'correct') return log.correction('s', instant(op), ...wh, rec);
          return log.reading('s', instant(op), ...wh, rec);
        });
        planned.splice(Math.min(plugInIndex, planned.length), 0, () => log.plugIn('s', { customerId: 'c' }, new Date(base).toISOString(), rec, ['0', '0']));
        for (const append of planned) all.push(append());

        // Independent reckoning: final values per point (last event wins), points in time-line order.
        const points = sessionTimeline(all);
        let expectedImport = 0n;
        let expectedExport = 0n;
        let start: (typeof points)[number] | null = null;
        let last: (typeof points)[number] | null = null;
        const close = () => {
          if (start && last) {
            expectedImport += last.importMilli - start.importMilli;
            expectedExport += last.exportMilli - start.exportMilli;
          }
        };
        for (const p of points) {
          if (p.kind !== 'reading') {
            close();
            start = p;
            last = p;
          } else if (start) last = p;
        }
        close();

        const first = Math.floor((base - 20 * 60_000) / Q) * Q;
        const end = base + 135 * 60_000;
        let importMilli = 0n;
        let exportMilli = 0n;
        for (let s = first; s < end; s += Q) {
          const e = sessionEnergyIn(all, s, s + Q);
          importMilli += toMilli(e.importWh);
          exportMilli += toMilli(e.exportWh);
        }
        expect([importMilli, exportMilli]).toEqual([expectedImport, expectedExport]);
        const whole = sessionEnergyIn(all, first, end);
        expect([toMilli(whole.importWh), toMilli(whole.exportWh)]).toEqual([expectedImport, expectedExport]);
        // Any order of the array, with repeats: the same answer.
        const shuffled = [...all].sort((a, b) => ((Number(a.position) * 7919 + seed) % 101) - ((Number(b.position) * 7919 + seed) % 101));
        expect(sessionEnergyIn([...shuffled, ...all.slice(0, 2)], first, end)).toEqual(whole);
      }),
      { numRuns: 400 },
    );
  });
});
