import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import { Decimal } from '../values/index.ts';
import { checkMeterId, meterDecider, meterStreamId } from './meter.ts';
import type { MeterCommand, MeterEvent, MeterState, RegisteredMeter } from './meter-types.ts';
import {
  ConflictingMeterReading,
  MeterAlreadyRegistered,
  MeterReadingFromFuture,
  MeterRegisterWentBackwards,
  ReadingsAfterMeterReset,
  UnknownMeter,
  UnknownMeterReading,
} from './metering-errors.ts';
import { deliveredEnergy, segmentsOf } from './register-series.ts';

const given = givenFor(meterDecider);
const T = (hhmm: string) => `2026-11-27T${hhmm}:00.000Z`;
const RECEIVED_AT = '2026-11-27T23:00:00Z';

const register: MeterCommand = { type: 'RegisterMeter', meterId: 'm1', at: '2026-11-27T08:00Z', siteId: 'depot', nodeId: 'f1', measures: 'generation' };
const registered: MeterEvent = { type: 'MeterRegistered', data: { meterId: 'm1', siteId: 'depot', nodeId: 'f1', measures: 'generation', registeredAt: T('08:00') } };

/** What a reading, a correction and a reset of meter m1 at hh:mm (received at RECEIVED_AT) carry. */
const registers = (hhmm: string, energyImportWh: string, energyExportWh: string) => ({
  meterId: 'm1',
  at: RECEIVED_AT,
  occurredAt: `2026-11-27T${hhmm}Z`,
  energyImportWh,
  energyExportWh,
});
const readingCommand = (hhmm: string, energyImportWh: string, energyExportWh = '0', extra: Partial<Extract<MeterCommand, { type: 'RecordMeterReading' }>> = {}): MeterCommand => ({
  type: 'RecordMeterReading',
  ...registers(hhmm, energyImportWh, energyExportWh),
  powerW: null,
  ...extra,
});
const correctCommand = (hhmm: string, energyImportWh: string, energyExportWh = '0', extra: Partial<Extract<MeterCommand, { type: 'CorrectMeterReading' }>> = {}): MeterCommand => ({
  type: 'CorrectMeterReading',
  ...registers(hhmm, energyImportWh, energyExportWh),
  powerW: null,
  reason: 'meter re-read',
  ...extra,
});
const resetCommand = (hhmm: string, energyImportWh: string, energyExportWh = '0', extra: Partial<Extract<MeterCommand, { type: 'ResetMeter' }>> = {}): MeterCommand => ({
  type: 'ResetMeter',
  ...registers(hhmm, energyImportWh, energyExportWh),
  reason: 'meter replaced',
  ...extra,
});
const recorded = (hhmm: string, energyImportWh: string, energyExportWh = '0', powerW: string | null = null): MeterEvent => ({
  type: 'MeterReadingRecorded',
  data: { meterId: 'm1', occurredAt: T(hhmm), energyImportWh, energyExportWh, powerW },
});
const corrected = (hhmm: string, energyImportWh: string, energyExportWh = '0', powerW: string | null = null): MeterEvent => ({
  type: 'MeterReadingCorrected',
  data: { meterId: 'm1', occurredAt: T(hhmm), energyImportWh, energyExportWh, powerW, reason: 'meter re-read' },
});
const reset = (hhmm: string, energyImportWh: string, energyExportWh = '0'): MeterEvent => ({
  type: 'MeterReset',
  data: { meterId: 'm1', occurredAt: T(hhmm), energyImportWh, energyExportWh, reason: 'meter replaced' },
});

function stateOf(events: MeterEvent[]): RegisteredMeter {
  const state = events.reduce(meterDecider.evolve, meterDecider.initialState());
  if (state.status !== 'registered') throw new Error('not registered');
  return state;
}

describe('meter ids', () => {
  it('names the stream and checks the id', () => {
    expect(meterStreamId('m1')).toBe('meter-m1');
    expect(checkMeterId('depot.pv:1')).toBe('depot.pv:1');
    expect(() => checkMeterId('a b')).toThrow(InvalidCommand);
  });
});

describe('RegisterMeter', () => {
  it('registers a meter at a node with what it measures', () => {
    given([]).when(register).then([registered]);
    expect(stateOf([registered])).toMatchObject({ status: 'registered', measures: 'generation', lastReading: null, series: { origin: null, resets: [], readings: [] } });
  });

  it.each([
    ['meterId', { meterId: '' }],
    ['siteId', { siteId: 'my depot' }],
    ['nodeId', { nodeId: 7 as unknown as string }],
    ['measures', { measures: 'wind' as 'generation' }],
    ['at', { at: 'today' }],
  ])('refuses a malformed %s, naming it', (fieldName, change) => {
    given([])
      .when({ ...register, ...change } as MeterCommand)
      .thenThrows(InvalidCommand, { field: fieldName });
  });

  it('refuses a second registration of the same meter', () => {
    given([registered])
      .when({ ...register, nodeId: 'f2' })
      .thenThrows(MeterAlreadyRegistered, { meterId: 'm1', siteId: 'depot', nodeId: 'f1' });
  });
});

describe('meter readings', () => {
  const r1 = recorded('10:00', '1000', '5');
  const r3 = recorded('12:00', '3000', '9');

  it.each([readingCommand('10:00', '1'), correctCommand('10:00', '1'), resetCommand('10:00', '0')])('refuses $type for a meter never registered', (command) => {
    given([]).when(command).thenThrows(UnknownMeter, { meterId: 'm1' });
  });

  it('records a reading in canonical form, and places late ones by occurredAt', () => {
    given([registered])
      .when(readingCommand('10:00', '1000.000', '5', { powerW: '-2500.50' }))
      .then([recorded('10:00', '1000', '5', '-2500.5')]);
    given([registered, r3])
      .when(readingCommand('10:00', '1000', '5'))
      .then([r1]);
    const state = stateOf([registered, r3, r1, recorded('11:00', '2000', '7')]);
    expect(state.series.readings.map((r) => r.occurredAt)).toEqual([T('10:00'), T('11:00'), T('12:00')]);
    expect(state.lastReading).toEqual({ occurredAt: T('12:00'), energyImportWh: '3000', energyExportWh: '9', powerW: null });
  });

  it('records the same reading sent twice once', () => {
    given([registered, r1, r3])
      .when(readingCommand('10:00:00.000', '1000', '5'))
      .then([]);
  });

  it('refuses a conflicting duplicate, naming both values', () => {
    given([registered, r1, r3])
      .when(readingCommand('10:00', '1000', '6'))
      .thenThrows(ConflictingMeterReading, {
        meterId: 'm1',
        what: 'reading',
        occurredAt: T('10:00'),
        recorded: { energyImportWh: '1000', energyExportWh: '5', powerW: null },
        sent: { energyImportWh: '1000', energyExportWh: '6', powerW: null },
      });
  });

  it('refuses a register that goes backwards against either neighbour', () => {
    given([registered, r1, r3])
      .when(readingCommand('11:00', '999', '6'))
      .thenThrows(MeterRegisterWentBackwards, { meterId: 'm1', register: 'energyImportWh', previousAt: T('10:00'), previousWh: '1000', newAt: T('11:00'), newWh: '999' });
    given([registered, r1, r3])
      .when(readingCommand('11:00', '2000', '10'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyExportWh', previousWh: '10', newWh: '9' });
  });

  it('refuses a timestamp more than 5 minutes after the command, naming both', () => {
    given([registered])
      .when(readingCommand('10:05', '1', '0', { at: '2026-11-27T10:00Z' }))
      .then([recorded('10:05', '1')]);
    given([registered])
      .when(readingCommand('10:05:01', '1', '0', { at: '2026-11-27T10:00Z' }))
      .thenThrows(MeterReadingFromFuture, { meterId: 'm1', occurredAt: '2026-11-27T10:05:01.000Z', at: T('10:00') });
  });

  it('refuses malformed figures, naming the field', () => {
    given([registered]).when(readingCommand('10:00', '1.0001')).thenThrows(InvalidCommand, { field: 'energyImportWh' });
    given([registered])
      .when(readingCommand('10:00', '1', '-1'))
      .thenThrows(InvalidCommand, { field: 'energyExportWh' });
    given([registered])
      .when(readingCommand('10:00', '1', '0', { powerW: '1 kW' }))
      .thenThrows(InvalidCommand, { field: 'powerW' });
    given([registered]).when(readingCommand('25:00', '1')).thenThrows(InvalidCommand, { field: 'occurredAt' });
    given([registered])
      .when(readingCommand('10:00', '1', '0', { at: '' }))
      .thenThrows(InvalidCommand, { field: 'at' });
  });
});

describe('meter corrections and resets', () => {
  const r1 = recorded('10:00', '1000', '5');
  const r3 = recorded('12:00', '3000', '9');

  it('corrects a recorded reading with a new event, and records nothing for the same values', () => {
    given([registered, r1, r3])
      .when(correctCommand('10:00', '1500', '5', { reason: '  meter re-read  ' }))
      .then([corrected('10:00', '1500', '5')]);
    given([registered, r1, r3])
      .when(correctCommand('10:00', '1000', '5'))
      .then([]);
    const state = stateOf([registered, r1, r3, corrected('12:00', '3500', '9')]);
    expect(state.lastReading?.energyImportWh).toBe('3500');
    expect(deliveredEnergy(state.series).importWh.toFixed()).toBe('2500');
  });

  it('refuses a correction of no reading, one that does not fit, and one without a reason', () => {
    given([registered, r1])
      .when(correctCommand('11:00', '1500'))
      .thenThrows(UnknownMeterReading, { meterId: 'm1', occurredAt: T('11:00') });
    given([registered, r1, r3])
      .when(correctCommand('10:00', '3001', '5'))
      .thenThrows(MeterRegisterWentBackwards, { previousWh: '3001', newWh: '3000' });
    given([registered, r1])
      .when(correctCommand('10:00', '1500', '5', { reason: '' }))
      .thenThrows(InvalidCommand, { field: 'reason' });
    given([registered, r1])
      .when(correctCommand('10:10', '1500', '5', { at: '2026-11-27T10:00Z' }))
      .thenThrows(MeterReadingFromFuture);
  });

  it('resets the meter: readings after the reset continue from its values, and delivered energy spans both', () => {
    given([registered, r1])
      .when(resetCommand('11:00', '0'))
      .then([reset('11:00', '0')]);
    given([registered, r1, reset('11:00', '0')])
      .when(readingCommand('12:00', '800', '1'))
      .then([recorded('12:00', '800', '1')]);
    const state = stateOf([registered, recorded('09:00', '200', '1'), r1, reset('11:00', '0'), recorded('12:00', '800', '1')]);
    // (1000 − 200) + (800 − 0) imported; (5 − 1) + (1 − 0) exported.
    expect(deliveredEnergy(state.series).importWh.toFixed()).toBe('1600');
    expect(deliveredEnergy(state.series).exportWh.toFixed()).toBe('5');
    expect(segmentsOf(state.series).map((s) => s.startedBy)).toEqual(['first_reading', 'reset']);
  });

  it('records the same reset once; refuses another at the same instant, one before readings of the old meter, one without a reason', () => {
    given([registered, r1, reset('11:00', '0')])
      .when(resetCommand('11:00', '0'))
      .then([]);
    given([registered, r1, reset('11:00', '0')])
      .when(resetCommand('11:00', '10'))
      .thenThrows(ConflictingMeterReading, { what: 'reset', recorded: { energyImportWh: '0' }, sent: { energyImportWh: '10' } });
    given([registered, r1, r3])
      .when(resetCommand('11:00', '0'))
      .thenThrows(ReadingsAfterMeterReset, { meterId: 'm1', occurredAt: T('11:00'), readingsAt: [T('12:00')] });
    given([registered])
      .when(resetCommand('11:00', '0', '0', { reason: ' ' }))
      .thenThrows(InvalidCommand, { field: 'reason' });
  });

  it('accepts a reset of a meter without readings at any instant (a node meter has no origin)', () => {
    given([registered])
      .when(resetCommand('07:00', '12.5'))
      .then([reset('07:00', '12.5')]);
  });
});

describe('meter readings (properties)', () => {
  const base = Date.parse('2026-11-27T08:00:00Z');
  const at = (s: number) => new Date(base + s * 1000).toISOString().replace('.000Z', 'Z').slice(11, -1);

  const replay = (commands: MeterCommand[]): RegisteredMeter => {
    let state: MeterState = meterDecider.evolve(meterDecider.initialState(), registered);
    for (const command of commands) for (const event of meterDecider.decide(command, state)) state = meterDecider.evolve(state, event);
    return state as RegisteredMeter;
  };

  it('readings in any order and with duplicates: the same state and the same delivered energy', () => {
    const arb = fc
      .uniqueArray(fc.integer({ min: 0, max: 40_000 }), { minLength: 1, maxLength: 15 })
      .chain((seconds) =>
        fc.tuple(
          fc.constant([...seconds].sort((a, b) => a - b)),
          fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 999 })), { minLength: seconds.length, maxLength: seconds.length }),
          fc.infiniteStream(fc.nat()),
          fc.array(fc.nat(), { maxLength: 5 }),
        ),
      );
    fc.assert(
      fc.property(arb, ([seconds, steps, seeds, resend]) => {
        let imported = new Decimal(0);
        let exported = new Decimal(0);
        const resets: MeterCommand[] = [];
        const readings: MeterCommand[] = [];
        seconds.forEach((s, i) => {
          const [isReset, milli, e] = steps[i]!;
          if (isReset && i > 0) {
            imported = new Decimal(milli).div(1000);
            exported = new Decimal(0);
            resets.push(resetCommand(at(s), imported.toFixed(), exported.toFixed()));
          } else {
            imported = imported.plus(new Decimal(milli).div(1000));
            exported = exported.plus(e);
            readings.push(readingCommand(at(s), imported.toFixed(), exported.toFixed(), { powerW: `${e}` }));
          }
        });
        const occurredAt = (command: MeterCommand) => ('occurredAt' in command ? command.occurredAt : '');
        const inOrder = replay([...readings, ...resets].sort((a, b) => (occurredAt(a) < occurredAt(b) ? -1 : 1)));
        const shuffled = [...readings];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = seeds.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const anyOrder = replay([...resets, ...shuffled, ...resend.map((n) => readings[n % readings.length]!)]);
        expect(anyOrder).toEqual(inOrder);
        expect(deliveredEnergy(anyOrder.series)).toEqual(deliveredEnergy(inOrder.series));
        const sum = segmentsOf(inOrder.series).reduce((total, s) => total.plus(s.deliveredImportWh), new Decimal(0));
        expect(deliveredEnergy(inOrder.series).importWh.equals(sum)).toBe(true);
      }),
    );
  });
});
