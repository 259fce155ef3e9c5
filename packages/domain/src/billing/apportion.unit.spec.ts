import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import { Decimal, intervalStartOf } from '../values/index.ts';
import { apportion, apportionMilli, fromMilli, toMilli } from './apportion.ts';

const at = (hhmmss: string) => `2026-11-27T${hhmmss}.000Z`;
const reading = (hhmmss: string, importWh: string, exportWh = '0') => ({ at: at(hhmmss), importWh, exportWh });
const share = (hhmm: string, importWh: string, exportWh = '0') => ({ intervalStart: at(`${hhmm}:00`), importWh, exportWh });

describe('apportion', () => {
  it('given a span inside one interval, then that interval gets all of it', () => {
    expect(apportion(reading('10:01:00', '1000'), reading('10:05:00', '1500.5'))).toEqual([share('10:00', '500.5')]);
  });

  it('given a span ending on an interval boundary, then the interval it ends at gets nothing (half-open)', () => {
    expect(apportion(reading('10:00:00', '0'), reading('10:15:00', '900'))).toEqual([share('10:00', '900')]);
  });

  it('given a span across a boundary, then each side gets its share of the time', () => {
    // 10:10 → 10:20: 5 minutes in each interval.
    expect(apportion(reading('10:10:00', '1000'), reading('10:20:00', '2000'))).toEqual([share('10:00', '500'), share('10:15', '500')]);
  });

  it('given thirds, then the mWh left over goes to the largest remainder', () => {
    // 1000 Wh over 10:10 → 10:25: 5/15 = 333.333.., 10/15 = 666.666..; floors 333.333 + 666.666 leave
    // 1 mWh; remainders 0.33 and 0.67 mWh: the second interval gets it.
    expect(apportion(reading('10:10:00', '1000'), reading('10:25:00', '2000'))).toEqual([share('10:00', '333.333'), share('10:15', '666.667')]);
  });

  it('given a tie on the remainder, then the earlier interval gets the mWh', () => {
    // 1 mWh over 10:10 → 10:20: 0.5 mWh each way.
    expect(apportion(reading('10:10:00', '1000'), reading('10:20:00', '1000.001'))).toEqual([share('10:00', '0.001'), share('10:15', '0')]);
  });

  it('given three intervals, then each gets floor or ceil of its exact share and they add up', () => {
    // 2 mWh over 10:10 → 10:40 (5, 15 and 10 minutes): exact 0.333, 1 and 0.667 mWh → 0, 1, 1.
    expect(apportion(reading('10:10:00', '5'), reading('10:40:00', '5.002'))).toEqual([share('10:00', '0'), share('10:15', '0.001'), share('10:30', '0.001')]);
    // 7000 Wh over 10:05 → 11:00 (10, 15, 15, 15 of 55 minutes): 1272.727.., 1909.0909.. ×3.
    // Floors 1272.727 + 3 × 1909.090 = 6999.997: the 3 mWh left go to the largest remainders
    // (0.2727 mWh for the first, 0.909 for each of the others: the three later ones, ties by time).
    expect(apportion(reading('10:05:00', '0'), reading('11:00:00', '7000'))).toEqual([
      share('10:00', '1272.727'),
      share('10:15', '1909.091'),
      share('10:30', '1909.091'),
      share('10:45', '1909.091'),
    ]);
  });

  it('apportions the two registers independently', () => {
    // V2G: discharged 600 Wh and charged 30 Wh over 10:12 → 10:18 (3 minutes each side).
    expect(apportion({ at: at('10:12:00'), importWh: '100', exportWh: '2000' }, { at: at('10:18:00'), importWh: '130', exportWh: '2600' })).toEqual([
      share('10:00', '15', '300'),
      share('10:15', '15', '300'),
    ]);
  });

  it('counts milliseconds: one past a boundary makes a sliver of an interval', () => {
    // 900.001 s over 10:00:00.000 → 10:15:00.001: the last ms is 1/900001 of the 900001 mWh.
    expect(apportion({ at: at('10:00:00'), importWh: '0', exportWh: '0' }, { at: '2026-11-27T10:15:00.001Z', importWh: '900.001', exportWh: '0' })).toEqual([
      share('10:00', '900'),
      share('10:15', '0.001'),
    ]);
  });

  it('takes Decimal values, and instants with or without milliseconds', () => {
    expect(
      apportion(
        { at: '2026-11-27T10:01:00Z', importWh: new Decimal('1.5'), exportWh: new Decimal(0) },
        { at: '2026-11-27T10:02:00Z', importWh: new Decimal('2.25'), exportWh: new Decimal(0) },
      ),
    ).toEqual([share('10:00', '0.75')]);
  });

  it('puts a zero-length span in the interval containing its instant', () => {
    expect(apportion(reading('10:20:00', '10'), reading('10:20:00', '12'))).toEqual([share('10:15', '2')]);
  });

  it('mirrors a negative difference (a register read lower) rather than refusing it', () => {
    expect(apportion(reading('10:10:00', '2000'), reading('10:25:00', '1000'))).toEqual([share('10:00', '-333.333'), share('10:15', '-666.667')]);
  });

  it('refuses a span that ends before it starts, a register below the mWh, and a malformed instant', () => {
    expect(() => apportion(reading('10:20:00', '0'), reading('10:10:00', '1'))).toThrow(RangeError);
    expect(() => apportion(reading('10:10:00', '0'), reading('10:20:00', '1.0005'))).toThrow(/more than 3 decimals/);
    expect(() => apportion({ ...reading('10:10:00', '0'), at: '27/11/2026 10:10' }, reading('10:20:00', '1'))).toThrow(InvalidCommand);
    // Trailing zeros are not extra precision.
    expect(apportion(reading('10:10:00', '0'), reading('10:11:00', '1.500000'))).toEqual([share('10:00', '1.5')]);
  });
});

describe('mWh helpers', () => {
  it('convert decimal strings to thousandths and back, exactly', () => {
    expect(toMilli('0')).toBe(0n);
    expect(toMilli('1234.5')).toBe(1_234_500n);
    expect(toMilli('-0.001')).toBe(-1n);
    expect(toMilli('123456789012345678.999')).toBe(123_456_789_012_345_678_999n);
    expect(fromMilli(1_234_500n)).toBe('1234.5');
    expect(fromMilli(-1n)).toBe('-0.001');
    expect(fromMilli(0n)).toBe('0');
    expect(fromMilli(-2000n)).toBe('-2');
    expect(() => toMilli('1e3')).toThrow(RangeError);
  });

  it('aligns intervals to the UTC quarter hour', () => {
    expect(new Date(intervalStartOf(Date.parse('2026-11-27T10:29:59.999Z'))).toISOString()).toBe('2026-11-27T10:15:00.000Z');
    expect(new Date(intervalStartOf(Date.parse('2026-11-27T10:30:00.000Z'))).toISOString()).toBe('2026-11-27T10:30:00.000Z');
    expect(apportionMilli(0, 60 * 60 * 1000, 4n, 0n).map((s) => s.importMilli)).toEqual([1n, 1n, 1n, 1n]);
  });
});
