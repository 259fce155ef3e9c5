/**
 * METER_REFUSALS against the decider itself: every command type, with fields drawn from pools of
 * good, unknown and malformed values, against an unregistered meter and one with readings and a
 * reset. Any refusal a list lacks fails here, and every refusal a list names must be met (the
 * API's result unions are built from these lists).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectEveryRefusalMet, refusalsMet } from '../../test/refusals.ts';
import { formatInstant, parseInstant } from '../values/index.ts';
import { METER_REFUSALS } from './meter-refusals.ts';
import { meterDecider } from './meter.ts';
import type { MeterCommand, MeterState } from './meter-types.ts';

const T0_MS = parseInstant('t', '2026-11-27T17:00:00Z');
const at = (minutes: number) => formatInstant(T0_MS + minutes * 60_000);

const reading = (minutes: number, importWh: string): MeterCommand => ({
  type: 'RecordMeterReading',
  meterId: 'm1',
  at: at(minutes),
  occurredAt: at(minutes),
  energyImportWh: importWh,
  energyExportWh: '0',
  powerW: null,
});

/** Readings at +10 and +20 min, a reset at +30, a reading at +40. */
function registeredMeter(): MeterState {
  const commands: MeterCommand[] = [
    { type: 'RegisterMeter', meterId: 'm1', at: at(0), siteId: 'p', nodeId: 'f1', measures: 'building_load' },
    reading(10, '2000'),
    reading(20, '3000'),
    { type: 'ResetMeter', meterId: 'm1', at: at(30), occurredAt: at(30), energyImportWh: '0', energyExportWh: '0', reason: 'replaced' },
    reading(40, '500'),
  ];
  let state = meterDecider.initialState();
  for (const command of commands) for (const event of meterDecider.decide(command, state)) state = meterDecider.evolve(state, event);
  expect(state.status).toBe('registered');
  return state;
}

// Weighted toward what gets past the input checks, so that the state's refusals are reached too.
const meterId = fc.constantFrom('m1', 'm1', 'm1', 'm1', 'm2', 'bad id!');
const commandAt = fc.constantFrom(at(120), at(120), at(120), at(0), 'not-a-time');
const occurredAt = fc.constantFrom(at(5), at(10), at(15), at(20), at(25), at(30), at(40), at(50), at(200), 'not-a-time');
const register = fc.constantFrom('0', '500', '1500', '2000', '3000', '5000', '-1', '1.2345', 'abc');
const powerW = fc.constantFrom(null, null, null, '50', 'abc');
const reason = fc.constantFrom('why', 'why', 'why', '');
const values = { meterId, at: commandAt, occurredAt, energyImportWh: register, energyExportWh: fc.constantFrom('0', '0', '0', '10', 'abc') };

const command = fc.oneof(
  fc.record({
    type: fc.constant('RegisterMeter' as const),
    meterId,
    at: commandAt,
    siteId: fc.constantFrom('p', 'p', 'p', 'bad id!'),
    nodeId: fc.constantFrom('f1', 'f1', 'f1', ''),
    measures: fc.constantFrom('building_load', 'generation', 'storage', 'bogus'),
  }),
  fc.record({ type: fc.constant('RecordMeterReading' as const), ...values, powerW }),
  fc.record({ type: fc.constant('CorrectMeterReading' as const), ...values, powerW, reason }),
  fc.record({ type: fc.constant('ResetMeter' as const), ...values, reason }),
) as fc.Arbitrary<MeterCommand>;

describe('METER_REFUSALS', () => {
  it('lists every refusal the decider makes, per command, and each one listed is met', () => {
    const pool = [meterDecider.initialState(), registeredMeter()];
    const seen = refusalsMet({
      decide: meterDecider.decide,
      stateAt: (which) => pool[which]!,
      which: fc.constantFrom(0, 1, 1, 1),
      command,
      refusals: METER_REFUSALS,
      numRuns: 10_000,
      seed: 20_261_208,
    });
    expectEveryRefusalMet(seen, METER_REFUSALS);
  });

  it('keeps corrections apart from new readings: a correction meets no conflict, a new reading no unknown reading', () => {
    expect(METER_REFUSALS.CorrectMeterReading.map((c) => c.name)).not.toContain('ConflictingMeterReading');
    expect(METER_REFUSALS.RecordMeterReading.map((c) => c.name)).not.toContain('UnknownMeterReading');
  });
});
