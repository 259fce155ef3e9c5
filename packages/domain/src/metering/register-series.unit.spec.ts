import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import { ConflictingMeterReading, MeterReadingFromFuture, MeterRegisterWentBackwards, ReadingsAfterMeterReset, UnknownMeterReading } from './metering-errors.ts';
import {
  checkNotFromFuture,
  decideCorrection,
  decideReading,
  decideReset,
  deliveredEnergy,
  emptySeries,
  parseRegister,
  segmentIndexAt,
  segmentsOf,
  withReading,
  withReset,
  type RegisterSeries,
  type SegmentStart,
} from './register-series.ts';

type Reading = { occurredAt: string; energyImportWh: string; energyExportWh: string; powerW: string | null };

const T = (hhmm: string) => `2026-11-27T${hhmm}:00.000Z`;
const reading = (hhmm: string, energyImportWh: string, energyExportWh = '0', powerW: string | null = null): Reading => ({
  occurredAt: T(hhmm),
  energyImportWh,
  energyExportWh,
  powerW,
});
const start = (hhmm: string, energyImportWh: string, energyExportWh = '0'): SegmentStart => ({ occurredAt: T(hhmm), energyImportWh, energyExportWh });
const meter = { meterId: 'm1' };

function seriesOf(origin: SegmentStart | null, events: (Reading | ['reset', SegmentStart])[]): RegisterSeries<Reading> {
  let series = emptySeries<Reading>(origin);
  for (const event of events) series = Array.isArray(event) ? withReset(series, event[1]) : withReading(series, event);
  return series;
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('parseRegister', () => {
  it('returns the canonical form of a register of at most 3 decimals', () => {
    expect(parseRegister('energyImportWh', '0')).toBe('0');
    expect(parseRegister('energyImportWh', '12.345')).toBe('12.345');
    expect(parseRegister('energyImportWh', '12.3450000')).toBe('12.345');
  });

  it.each([
    ['more than 3 decimals', '12.3451', /more than 3 decimals/],
    ['a negative register', '-1', /negative/],
    ['a number', 12 as unknown as string, /not a decimal string/],
    ['an exponent', '1e3', /not a decimal string/],
  ])('refuses %s, naming the field', (_, value, reason) => {
    const error = thrown(() => parseRegister('energyExportWh', value));
    expect(error).toBeInstanceOf(InvalidCommand);
    expect(error).toMatchObject({ details: { field: 'energyExportWh', reason: expect.stringMatching(reason) } });
  });
});

describe('checkNotFromFuture', () => {
  it('allows 5 minutes ahead, not one millisecond more', () => {
    const at = Date.parse(T('12:00'));
    expect(() => checkNotFromFuture(meter, at + 300_000, at, 'o', 'a')).not.toThrow();
    expect(thrown(() => checkNotFromFuture(meter, at + 300_001, at, 'o', 'a'))).toMatchObject({
      code: 'METER_READING_FROM_FUTURE',
      details: { meterId: 'm1', occurredAt: 'o', at: 'a' },
    });
    expect(thrown(() => checkNotFromFuture({ sessionId: 's1' }, at + 300_001, at, 'o', 'a'))).toBeInstanceOf(MeterReadingFromFuture);
  });
});

describe('decideReading', () => {
  const series = seriesOf(null, [reading('10:00', '100', '5'), reading('12:00', '300', '9')]);

  it('places a reading by occurredAt, whatever the arrival order', () => {
    expect(decideReading(series, reading('11:00', '200', '7'), meter)).toBe(true);
    expect(withReading(series, reading('11:00', '200', '7')).readings.map((r) => r.occurredAt)).toEqual([T('10:00'), T('11:00'), T('12:00')]);
    expect(decideReading(series, reading('09:00', '0'), meter)).toBe(true);
    expect(decideReading(series, reading('13:00', '300', '9'), meter)).toBe(true);
  });

  it('recognises the same reading sent again', () => {
    expect(decideReading(series, reading('10:00', '100', '5'), meter)).toBe(false);
  });

  it('refuses another value at a recorded instant, naming the meter, the instant and both values', () => {
    const error = thrown(() => decideReading(series, reading('10:00', '100', '5', '7000'), meter));
    expect(error).toBeInstanceOf(ConflictingMeterReading);
    expect(error).toMatchObject({
      code: 'CONFLICTING_METER_READING',
      details: {
        meterId: 'm1',
        what: 'reading',
        occurredAt: T('10:00'),
        recorded: { energyImportWh: '100', energyExportWh: '5', powerW: null },
        sent: { energyImportWh: '100', energyExportWh: '5', powerW: '7000' },
      },
    });
    expect((error as Error).message).toBe(
      `meter m1: a reading at ${T('10:00')} is already recorded with import 100 Wh, export 5 Wh, power none W; the one sent has import 100 Wh, export 5 Wh, power 7000 W (send a correction to change it)`,
    );
  });

  it('refuses a register below the reading before it or above the reading after it', () => {
    expect(thrown(() => decideReading(series, reading('11:00', '99', '7'), meter))).toMatchObject({
      details: { meterId: 'm1', register: 'energyImportWh', previousAt: T('10:00'), previousWh: '100', newAt: T('11:00'), newWh: '99' },
    });
    expect(thrown(() => decideReading(series, reading('11:00', '200', '10'), meter))).toMatchObject({
      details: { register: 'energyExportWh', previousAt: T('11:00'), previousWh: '10', newAt: T('12:00'), newWh: '9' },
    });
    expect(thrown(() => decideReading(series, reading('13:00', '299.999', '9'), meter))).toBeInstanceOf(MeterRegisterWentBackwards);
    expect(thrown(() => decideReading(series, reading('09:00', '100.001'), meter))).toBeInstanceOf(MeterRegisterWentBackwards);
  });

  it('bounds segment 0 below by the origin, whenever the reading was taken', () => {
    const withOrigin = seriesOf(start('10:00', '50'), []);
    expect(thrown(() => decideReading(withOrigin, reading('11:00', '49.999'), meter))).toMatchObject({ details: { previousAt: T('10:00'), previousWh: '50', newWh: '49.999' } });
    expect(decideReading(withOrigin, reading('09:59', '50'), meter)).toBe(true);
  });
});

describe('decideCorrection', () => {
  const series = seriesOf(null, [reading('10:00', '100'), reading('11:00', '200'), reading('12:00', '300')]);

  it('replaces the reading at its instant when the values fit between the neighbours', () => {
    expect(decideCorrection(series, reading('11:00', '250', '0', '5'), meter)).toBe(true);
    expect(withReading(series, reading('11:00', '250')).readings.map((r) => r.energyImportWh)).toEqual(['100', '250', '300']);
    expect(decideCorrection(series, reading('11:00', '100'), meter)).toBe(true);
    expect(decideCorrection(series, reading('11:00', '300'), meter)).toBe(true);
  });

  it('is no change when the values are those recorded', () => {
    expect(decideCorrection(series, reading('11:00', '200'), meter)).toBe(false);
  });

  it('refuses a correction of no reading, and values outside the neighbours', () => {
    expect(thrown(() => decideCorrection(series, reading('11:30', '250'), meter))).toMatchObject({
      code: 'UNKNOWN_METER_READING',
      details: { meterId: 'm1', occurredAt: T('11:30') },
    });
    expect(thrown(() => decideCorrection(series, reading('11:30', '250'), meter))).toBeInstanceOf(UnknownMeterReading);
    expect(thrown(() => decideCorrection(series, reading('11:00', '99.999'), meter))).toBeInstanceOf(MeterRegisterWentBackwards);
    expect(thrown(() => decideCorrection(series, reading('11:00', '300.001'), meter))).toMatchObject({ details: { previousWh: '300.001', newAt: T('12:00'), newWh: '300' } });
  });
});

describe('resets and segments', () => {
  const series = seriesOf(start('09:00', '10'), [reading('10:00', '100'), ['reset', start('11:00', '0')], reading('12:00', '40'), ['reset', start('13:00', '5')]]);

  it('puts an instant in the segment of the last reset at or before it', () => {
    expect(segmentIndexAt(series, T('08:00'))).toBe(0);
    expect(segmentIndexAt(series, T('10:59'))).toBe(0);
    expect(segmentIndexAt(series, T('11:00'))).toBe(1);
    expect(segmentIndexAt(series, T('12:59'))).toBe(1);
    expect(segmentIndexAt(series, T('13:00'))).toBe(2);
  });

  it('checks readings within their segment only', () => {
    expect(decideReading(series, reading('11:30', '0'), meter)).toBe(true);
    expect(decideReading(series, reading('10:30', '150'), meter)).toBe(true);
    expect(decideReading(series, reading('12:30', '40'), meter)).toBe(true);
    expect(thrown(() => decideReading(series, reading('12:30', '39.9'), meter))).toMatchObject({ details: { previousAt: T('12:00'), previousWh: '40', newWh: '39.9' } });
    expect(thrown(() => decideReading(series, reading('13:30', '4'), meter))).toMatchObject({ details: { previousAt: T('13:00'), previousWh: '5', newWh: '4' } });
    expect(thrown(() => decideReading(series, reading('11:30', '41'), meter))).toMatchObject({ details: { previousWh: '41', newAt: T('12:00'), newWh: '40' } });
  });

  it('sums delivered energy over segments: last − first of each', () => {
    // (100 − 10) + (40 − 0) + (5 − 5)
    expect(deliveredEnergy(series).importWh.toFixed()).toBe('130');
    expect(deliveredEnergy(series).exportWh.toFixed()).toBe('0');
    expect(segmentsOf(series).map((s) => [s.startedBy, s.start?.occurredAt, s.readings.length, s.deliveredImportWh])).toEqual([
      ['origin', T('09:00'), 1, '90'],
      ['reset', T('11:00'), 1, '40'],
      ['reset', T('13:00'), 0, '0'],
    ]);
  });

  it('opens segment 0 of a series without origin with its first reading', () => {
    const open = seriesOf(null, [reading('12:00', '250', '3'), reading('10:00', '200', '1')]);
    expect(segmentsOf(open)[0]).toMatchObject({ start: null, startedBy: 'first_reading', deliveredImportWh: '50', deliveredExportWh: '2' });
    expect(deliveredEnergy(emptySeries(null)).importWh.toFixed()).toBe('0');
    expect(deliveredEnergy(seriesOf(null, [reading('12:00', '250')])).importWh.toFixed()).toBe('0');
  });

  it('records a reset once, refuses another at its instant, and refuses one before readings of the meter it replaces', () => {
    expect(decideReset(series, start('11:00', '0'), meter)).toBe(false);
    expect(thrown(() => decideReset(series, start('11:00', '1'), meter))).toMatchObject({
      code: 'CONFLICTING_METER_READING',
      details: { meterId: 'm1', what: 'reset', occurredAt: T('11:00'), recorded: { energyImportWh: '0', energyExportWh: '0' }, sent: { energyImportWh: '1', energyExportWh: '0' } },
    });
    expect(thrown(() => decideReset(series, start('10:00', '0'), meter))).toBeInstanceOf(ReadingsAfterMeterReset);
    expect(thrown(() => decideReset(series, start('09:30', '0'), meter))).toMatchObject({ details: { meterId: 'm1', occurredAt: T('09:30'), readingsAt: [T('10:00')] } });
    expect(decideReset(series, start('10:30', '0'), meter)).toBe(true);
    expect(decideReset(series, start('12:30', '0'), meter)).toBe(true);
    expect(withReset(series, start('12:30', '0')).resets.map((r) => r.occurredAt)).toEqual([T('11:00'), T('12:30'), T('13:00')]);
  });

  it('refuses a reset at or before the origin', () => {
    expect(thrown(() => decideReset(series, start('09:00', '0'), meter))).toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'occurredAt' } });
    expect(thrown(() => decideReset(series, start('08:00', '0'), meter))).toBeInstanceOf(InvalidCommand);
  });
});
