/**
 * SESSION_REFUSALS against the decider itself: every command type, with fields drawn from pools of
 * good, unknown and malformed values, against no session, an active session with readings and a
 * meter reset, a suspended one and a stopped one. Any refusal a list lacks fails here, and every
 * refusal a list names must be met (the API's result unions are built from these lists).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectEveryRefusalMet, refusalsMet } from '../../test/refusals.ts';
import { formatInstant, parseInstant } from '../values/index.ts';
import { SESSION_REFUSALS } from './session-refusals.ts';
import { sessionDecider } from './session.ts';
import type { PlugIn, SessionCommand, SessionState } from './session-types.ts';

const T0_MS = parseInstant('t', '2026-11-27T17:00:00Z');
const at = (minutes: number) => formatInstant(T0_MS + minutes * 60_000);

const PLUG_IN: PlugIn = {
  type: 'PlugIn',
  sessionId: 's1',
  siteId: 'p',
  connectorId: 'k1',
  at: at(0),
  vehicleId: 'v1',
  customerId: 'c1',
  fleetId: null,
  tier: 'normal',
  departureAt: at(600),
  energyNeededWh: null,
  targetSocPercent: '80',
  batteryCapacityWh: '60000',
  socPercent: '20',
  minPowerW: '1400',
  maxPowerW: '11000',
  v2g: { minSocPercent: '30', maxDischargePowerW: '5000' },
  meterStartImportWh: '1000',
  meterStartExportWh: '0',
};

const reading = (minutes: number, importWh: string): SessionCommand => ({
  type: 'RecordSessionMeterReading',
  sessionId: 's1',
  at: at(minutes),
  occurredAt: at(minutes),
  energyImportWh: importWh,
  energyExportWh: '0',
  powerW: null,
  socPercent: null,
});

function run(commands: SessionCommand[]): SessionState {
  let state = sessionDecider.initialState();
  for (const command of commands) for (const event of sessionDecider.decide(command, state)) state = sessionDecider.evolve(state, event);
  return state;
}

/** Readings at +10 and +20 min, a reset at +30, a reading at +40. */
const ACTIVE: SessionCommand[] = [
  PLUG_IN,
  reading(10, '2000'),
  reading(20, '3000'),
  { type: 'ResetSessionMeter', sessionId: 's1', at: at(30), occurredAt: at(30), energyImportWh: '0', energyExportWh: '0', reason: 'replaced' },
  reading(40, '500'),
];

function states(): SessionState[] {
  const states = [
    sessionDecider.initialState(),
    run(ACTIVE),
    run([...ACTIVE, { type: 'SuspendSession', sessionId: 's1', at: at(45) }]),
    run([...ACTIVE, { type: 'StopSession', sessionId: 's1', at: at(60), reason: 'unplugged' }]),
  ];
  expect(states.map((s) => s.status)).toEqual(['none', 'active', 'suspended', 'stopped']);
  return states;
}

// Weighted toward what gets past the input checks, so that the state's refusals are reached too.
const sessionId = fc.constantFrom('s1', 's1', 's1', 's1', 's2', 'bad id!');
const commandAt = fc.constantFrom(at(120), at(120), at(120), at(0), 'not-a-time');
const occurredAt = fc.constantFrom(at(-10), at(5), at(10), at(15), at(20), at(25), at(30), at(40), at(50), at(90), at(200), 'not-a-time');
const register = fc.constantFrom('0', '500', '1500', '2000', '3000', '5000', '-1', '1.2345', 'abc');
const optionalValue = fc.constantFrom(null, null, null, '50', '150', 'abc');
const reason = fc.constantFrom('why', 'why', 'why', '');
const good = <T>(value: T, ...bad: unknown[]) => fc.constantFrom(value, value, value, value, value, value, value, ...bad) as fc.Arbitrary<T>;

const plugIn = fc.record({
  type: fc.constant('PlugIn' as const),
  sessionId: good('s1', 's2', 'bad id!'),
  siteId: good('p', 'bad id!'),
  connectorId: good('k1', ''),
  at: good(at(0), 'not-a-time'),
  vehicleId: good('v1', ' v1'),
  customerId: good('c1', 'bad id!'),
  fleetId: good(null, 'f1', 'bad id!'),
  tier: good('normal', 'urgent', 'bogus'),
  departureAt: good(at(600), at(-5), 'not-a-time'),
  energyNeededWh: good(null, '20000', '-1'),
  targetSocPercent: good('80', null, '10', '120'),
  batteryCapacityWh: good('60000', null, '0'),
  socPercent: good('20', null, '150'),
  minPowerW: good('1400', '20000', '-1'),
  maxPowerW: good('11000', '0'),
  v2g: good(PLUG_IN.v2g, null, { minSocPercent: '130', maxDischargePowerW: '5000' }, { minSocPercent: '30', maxDischargePowerW: '0' }),
  meterStartImportWh: good('1000', null, '0.0001', '-5'),
  meterStartExportWh: good('0', null, 'abc'),
}) as fc.Arbitrary<PlugIn>;

const meterValues = { sessionId, at: commandAt, occurredAt, energyImportWh: register, energyExportWh: fc.constantFrom('0', '0', '0', '10', 'abc') };
const command = fc.oneof(
  plugIn,
  fc.record({ type: fc.constant('SuspendSession' as const), sessionId, at: commandAt }),
  fc.record({ type: fc.constant('ReactivateSession' as const), sessionId, at: commandAt }),
  fc.record({ type: fc.constant('StopSession' as const), sessionId, at: commandAt, reason }),
  fc.record({ type: fc.constant('ChangeDeparture' as const), sessionId, at: commandAt, departureAt: fc.constantFrom(at(600), at(700), at(60), 'not-a-time') }),
  fc.record({ type: fc.constant('RecordSessionMeterReading' as const), ...meterValues, powerW: optionalValue, socPercent: optionalValue }),
  fc.record({ type: fc.constant('CorrectSessionMeterReading' as const), ...meterValues, powerW: optionalValue, socPercent: optionalValue, reason }),
  fc.record({ type: fc.constant('ResetSessionMeter' as const), ...meterValues, reason }),
) as fc.Arbitrary<SessionCommand>;

describe('SESSION_REFUSALS', () => {
  it('lists every refusal the decider makes, per command, and each one listed is met', () => {
    const pool = states();
    const which = fc.integer({ min: 0, max: pool.length - 1 });
    const seen = refusalsMet({ decide: sessionDecider.decide, stateAt: (w) => pool[w]!, which, command, refusals: SESSION_REFUSALS, numRuns: 20_000, seed: 20_261_208 });
    expectEveryRefusalMet(seen, SESSION_REFUSALS);
  });

  it('keeps the session apart from the connector: suspending meets no site refusal, plugging in no meter refusal', () => {
    expect(SESSION_REFUSALS.SuspendSession.map((c) => c.name)).not.toContain('ConnectorInUse');
    expect(SESSION_REFUSALS.PlugIn.map((c) => c.name)).not.toContain('MeterRegisterWentBackwards');
  });
});
