import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { parseInstant } from '../time.ts';
import {
  checkSessionId,
  InvalidSessionRequest,
  InvalidSessionTransition,
  MeterRegisterWentBackwards,
  SessionAlreadyExists,
  SessionClosed,
  sessionDecider,
  sessionNeeds,
  sessionStreamId,
  UnknownSession,
  type PluggedInSession,
} from './session.ts';
import type { MeterReading, PlugIn, SessionCommand, SessionEvent, SessionPluggedInData, SessionState } from './session-types.ts';

const given = givenFor(sessionDecider);

const plugIn: PlugIn = {
  type: 'PlugIn',
  sessionId: 's1',
  siteId: 'depot',
  connectorId: 'c1',
  at: '2026-11-27T17:00:00Z',
  vehicleId: 'v1',
  customerId: 'cust1',
  fleetId: null,
  tier: 'normal',
  departureAt: '2026-11-28T07:00:00Z',
  energyNeededWh: '20000',
  targetSocPercent: null,
  batteryCapacityWh: null,
  socPercent: null,
  minPowerW: '1400',
  maxPowerW: '11000',
  v2g: null,
  meterStartImportWh: null,
  meterStartExportWh: null,
};

const pluggedInData: SessionPluggedInData = {
  sessionId: 's1',
  siteId: 'depot',
  connectorId: 'c1',
  vehicleId: 'v1',
  customerId: 'cust1',
  fleetId: null,
  tier: 'normal',
  pluggedInAt: '2026-11-27T17:00:00.000Z',
  departureAt: '2026-11-28T07:00:00.000Z',
  energyNeededWh: '20000',
  targetSocPercent: null,
  batteryCapacityWh: null,
  socPercent: null,
  minPowerW: '1400',
  maxPowerW: '11000',
  v2g: null,
  meterStartImportWh: '0',
  meterStartExportWh: '0',
};

const pluggedIn = (data: Partial<SessionPluggedInData> = {}): SessionEvent => ({ type: 'SessionPluggedIn', data: { ...pluggedInData, ...data } });
const suspended: SessionEvent = { type: 'SessionSuspended', data: { sessionId: 's1', at: '2026-11-27T18:00:00.000Z' } };
const stopped: SessionEvent = { type: 'SessionStopped', data: { sessionId: 's1', at: '2026-11-27T20:00:00.000Z', reason: 'unplugged' } };

type ReadingCommand = Extract<SessionCommand, { type: 'RecordSessionMeterReading' }>;
const readingCommand = (occurredAt: string, energyImportWh: string, energyExportWh = '0', extra: Partial<ReadingCommand> = {}): ReadingCommand => ({
  type: 'RecordSessionMeterReading',
  sessionId: 's1',
  occurredAt,
  energyImportWh,
  energyExportWh,
  powerW: null,
  socPercent: null,
  ...extra,
});
const recorded = (occurredAt: string, energyImportWh: string, energyExportWh = '0', extra: Partial<MeterReading> = {}): SessionEvent => ({
  type: 'SessionMeterReadingRecorded',
  data: { sessionId: 's1', occurredAt, energyImportWh, energyExportWh, powerW: null, socPercent: null, ...extra },
});

function stateOf(events: SessionEvent[]): PluggedInSession {
  const state = events.reduce(sessionDecider.evolve, sessionDecider.initialState());
  if (state.status === 'none') throw new Error('not plugged in');
  return state;
}

describe('session ids', () => {
  it('names the stream and checks the id', () => {
    expect(sessionStreamId('s1')).toBe('session-s1');
    expect(checkSessionId('ev:42')).toBe('ev:42');
    expect(() => checkSessionId('')).toThrow(InvalidSessionRequest);
    expect(() => checkSessionId('has space')).toThrow(InvalidSessionRequest);
    expect(() => checkSessionId(42)).toThrow(InvalidSessionRequest);
  });
});

describe('PlugIn', () => {
  it('records the request with canonical decimals, instants and meter start "0"', () => {
    given([]).when(plugIn).then([pluggedIn()]);
  });

  it('canonicalises every figure and instant', () => {
    given([])
      .when({
        ...plugIn,
        at: '2026-11-27T17:00Z',
        departureAt: '2026-11-28T07:00:00.5Z',
        fleetId: 'fleet-7',
        tier: 'urgent',
        energyNeededWh: null,
        targetSocPercent: '80.0',
        batteryCapacityWh: '60000.000',
        socPercent: '20.50',
        minPowerW: '0.0',
        maxPowerW: '7400.50',
        v2g: { minSocPercent: '30.00', maxDischargePowerW: '5000.0' },
        meterStartImportWh: '1200.10',
        meterStartExportWh: '300',
      })
      .then([
        pluggedIn({
          pluggedInAt: '2026-11-27T17:00:00.000Z',
          departureAt: '2026-11-28T07:00:00.500Z',
          fleetId: 'fleet-7',
          tier: 'urgent',
          energyNeededWh: null,
          targetSocPercent: '80',
          batteryCapacityWh: '60000',
          socPercent: '20.5',
          minPowerW: '0',
          maxPowerW: '7400.5',
          v2g: { minSocPercent: '30', maxDischargePowerW: '5000' },
          meterStartImportWh: '1200.1',
          meterStartExportWh: '300',
        }),
      ]);
  });

  it('accepts an energy need of 0 and a battery described alongside it', () => {
    given([])
      .when({ ...plugIn, energyNeededWh: '0', batteryCapacityWh: '50000', socPercent: '100' })
      .then([pluggedIn({ energyNeededWh: '0', batteryCapacityWh: '50000', socPercent: '100' })]);
  });

  const targetMode: Partial<PlugIn> = { energyNeededWh: null, targetSocPercent: '80', batteryCapacityWh: '60000', socPercent: '20' };
  const refusals: [string, Partial<PlugIn>, string, RegExp][] = [
    ['an empty session id', { sessionId: '' }, 'sessionId', /letters, digits/],
    ['a site id with a space', { siteId: 'my depot' }, 'siteId', /letters, digits/],
    ['an empty connector id', { connectorId: '' }, 'connectorId', /letters, digits/],
    ['a connector id with a slash', { connectorId: 'charger/1' }, 'connectorId', /letters, digits/],
    ['a blank vehicle id', { vehicleId: '  ' }, 'vehicleId', /non-empty/],
    ['an empty customer id', { customerId: '' }, 'customerId', /non-empty/],
    ['an empty fleet id', { fleetId: '' }, 'fleetId', /non-empty/],
    ['an unknown tier', { tier: 'vip' as PlugIn['tier'] }, 'tier', /not one of urgent, high, normal, low/],
    ['a malformed plug-in time', { at: 'tonight' }, 'at', /not a UTC instant/],
    ['a malformed departure', { departureAt: '2026-11-28 07:00' }, 'departureAt', /not a UTC instant/],
    ['a departure at plug-in', { departureAt: '2026-11-27T17:00:00.000Z' }, 'departureAt', /a departure in the past/],
    ['a departure before plug-in', { departureAt: '2026-11-27T16:59:59Z' }, 'departureAt', /a departure in the past/],
    ['a negative minimum power', { minPowerW: '-1' }, 'minPowerW', /negative/],
    ['a number for a power', { minPowerW: 1400 as unknown as string }, 'minPowerW', /not a decimal string/],
    ['a maximum power of 0', { maxPowerW: '0' }, 'maxPowerW', /more than 0/],
    ['min > max', { minPowerW: '11000.5' }, 'minPowerW', /min > max/],
    ['both an energy need and a target SoC', { targetSocPercent: '80', batteryCapacityWh: '60000', socPercent: '20' }, 'targetSocPercent', /not both/],
    ['neither an energy need nor a target SoC', { energyNeededWh: null }, 'energyNeededWh', /either/],
    ['a negative energy need', { energyNeededWh: '-5' }, 'energyNeededWh', /negative/],
    ['a target SoC without a capacity', { ...targetMode, batteryCapacityWh: null }, 'batteryCapacityWh', /required with targetSocPercent/],
    ['a target SoC without the SoC now', { ...targetMode, socPercent: null }, 'socPercent', /required with targetSocPercent/],
    ['a capacity of 0', { ...targetMode, batteryCapacityWh: '0' }, 'batteryCapacityWh', /more than 0/],
    ['a SoC over 100', { ...targetMode, socPercent: '100.1' }, 'socPercent', /more than 100/],
    ['a target SoC over 100', { ...targetMode, targetSocPercent: '101' }, 'targetSocPercent', /more than 100/],
    ['a negative target SoC', { ...targetMode, targetSocPercent: '-1' }, 'targetSocPercent', /negative/],
    ['a target below the SoC now', { ...targetMode, targetSocPercent: '19.9' }, 'targetSocPercent', /below the SoC now/],
    ['V2G without a capacity', { socPercent: '50', v2g: { minSocPercent: '30', maxDischargePowerW: '5000' } }, 'batteryCapacityWh', /V2G/],
    ['V2G without the SoC now', { batteryCapacityWh: '60000', v2g: { minSocPercent: '30', maxDischargePowerW: '5000' } }, 'socPercent', /V2G/],
    ['a V2G reserve over 100', { ...targetMode, v2g: { minSocPercent: '120', maxDischargePowerW: '5000' } }, 'v2g.minSocPercent', /more than 100/],
    ['a V2G discharge power of 0', { ...targetMode, v2g: { minSocPercent: '30', maxDischargePowerW: '0' } }, 'v2g.maxDischargePowerW', /more than 0/],
    ['a negative import register', { meterStartImportWh: '-1' }, 'meterStartImportWh', /negative/],
    ['a malformed export register', { meterStartExportWh: '1e3' }, 'meterStartExportWh', /not a decimal string/],
  ];
  it.each(refusals)('refuses %s, naming the field', (_, change, fieldName, reason) => {
    given([]).when({ ...plugIn, ...change }).thenThrows(InvalidSessionRequest, { field: fieldName });
    let thrown: unknown;
    try {
      sessionDecider.decide({ ...plugIn, ...change }, sessionDecider.initialState());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_SESSION_REQUEST' });
    expect((thrown as InvalidSessionRequest).details.reason).toMatch(reason);
  });

  it('refuses a second plug-in of the same session, even after it stopped', () => {
    given([pluggedIn()]).when(plugIn).thenThrows(SessionAlreadyExists, { sessionId: 's1' });
    given([pluggedIn(), stopped]).when(plugIn).thenThrows(SessionAlreadyExists, { sessionId: 's1' });
  });
});

describe('lifecycle', () => {
  const suspend: SessionCommand = { type: 'SuspendSession', sessionId: 's1', at: '2026-11-27T18:00:00Z' };
  const reactivate: SessionCommand = { type: 'ReactivateSession', sessionId: 's1', at: '2026-11-27T19:00Z' };
  const stop: SessionCommand = { type: 'StopSession', sessionId: 's1', at: '2026-11-27T20:00:00Z', reason: ' unplugged ' };
  const changeDeparture: SessionCommand = { type: 'ChangeDeparture', sessionId: 's1', at: '2026-11-27T18:00Z', departureAt: '2026-11-28T09:00Z' };

  it.each([suspend, reactivate, stop, changeDeparture, readingCommand('2026-11-27T18:00Z', '1')])('refuses $type on a session that never plugged in', (command) => {
    given([]).when(command).thenThrows(UnknownSession, { sessionId: 's1' });
  });

  it('suspends an active session and reactivates a suspended one', () => {
    given([pluggedIn()]).when(suspend).then([suspended]);
    given([pluggedIn(), suspended])
      .when(reactivate)
      .then([{ type: 'SessionReactivated', data: { sessionId: 's1', at: '2026-11-27T19:00:00.000Z' } }]);
  });

  it('refuses to suspend what is not active or to reactivate what is not suspended', () => {
    given([pluggedIn(), suspended]).when(suspend).thenThrows(InvalidSessionTransition, { status: 'suspended', command: 'SuspendSession' });
    given([pluggedIn()]).when(reactivate).thenThrows(InvalidSessionTransition, { status: 'active', command: 'ReactivateSession' });
  });

  it('stops an active or a suspended session, with the reason trimmed', () => {
    given([pluggedIn()]).when(stop).then([stopped]);
    given([pluggedIn(), suspended]).when(stop).then([stopped]);
    given([pluggedIn()]).when({ ...stop, reason: ' ' }).thenThrows(InvalidSessionRequest, { field: 'reason' });
  });

  it.each([suspend, reactivate, stop, changeDeparture])('refuses $type on a stopped session', (command) => {
    given([pluggedIn(), stopped]).when(command).thenThrows(SessionClosed, { sessionId: 's1', stoppedAt: '2026-11-27T20:00:00.000Z', command: command.type });
  });

  it('changes the departure, refuses one in the past, and ignores the same one again', () => {
    const changed: SessionEvent = {
      type: 'SessionDepartureChanged',
      data: { sessionId: 's1', at: '2026-11-27T18:00:00.000Z', departureAt: '2026-11-28T09:00:00.000Z' },
    };
    given([pluggedIn()]).when(changeDeparture).then([changed]);
    given([pluggedIn(), suspended]).when(changeDeparture).then([changed]);
    given([pluggedIn(), changed]).when(changeDeparture).then([]);
    given([pluggedIn()])
      .when({ ...changeDeparture, departureAt: '2026-11-27T18:00:00Z' })
      .thenThrows(InvalidSessionRequest, { field: 'departureAt', reason: expect.stringMatching(/a departure in the past/) });
    expect(stateOf([pluggedIn(), changed]).departureAt).toBe('2026-11-28T09:00:00.000Z');
  });

  it('evolves the status', () => {
    expect(stateOf([pluggedIn()])).toMatchObject({ status: 'active', stoppedAt: null, lastReading: null, readings: [] });
    expect(stateOf([pluggedIn(), suspended]).status).toBe('suspended');
    expect(stateOf([pluggedIn(), suspended, stopped])).toMatchObject({ status: 'stopped', stoppedAt: '2026-11-27T20:00:00.000Z' });
  });
});

describe('RecordSessionMeterReading', () => {
  const start = pluggedIn({ meterStartImportWh: '1000', meterStartExportWh: '50' });
  const r1 = recorded('2026-11-27T18:00:00.000Z', '3000', '50');
  const r3 = recorded('2026-11-27T19:00:00.000Z', '6000', '80');

  it('records a reading in canonical form', () => {
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000.0', '50', { powerW: '-2500.50', socPercent: '41.0' }))
      .then([recorded('2026-11-27T18:00:00.000Z', '3000', '50', { powerW: '-2500.5', socPercent: '41' })]);
  });

  it('refuses malformed figures, naming the field', () => {
    given([start]).when(readingCommand('soon', '3000')).thenThrows(InvalidSessionRequest, { field: 'occurredAt' });
    given([start]).when(readingCommand('2026-11-27T18:00Z', '-1')).thenThrows(InvalidSessionRequest, { field: 'energyImportWh' });
    given([start]).when(readingCommand('2026-11-27T18:00Z', '3000', 'x')).thenThrows(InvalidSessionRequest, { field: 'energyExportWh' });
    given([start]).when(readingCommand('2026-11-27T18:00Z', '3000', '50', { powerW: '1,5' })).thenThrows(InvalidSessionRequest, { field: 'powerW' });
    given([start]).when(readingCommand('2026-11-27T18:00Z', '3000', '50', { socPercent: '100.5' })).thenThrows(InvalidSessionRequest, { field: 'socPercent' });
  });

  it('refuses a register below the meter start, naming it with both values', () => {
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '999', '50'))
      .thenThrows(MeterRegisterWentBackwards, {
        sessionId: 's1',
        register: 'energyImportWh',
        previousAt: '2026-11-27T17:00:00.000Z',
        previousWh: '1000',
        newAt: '2026-11-27T18:00:00.000Z',
        newWh: '999',
      });
    given([start]).when(readingCommand('2026-11-27T18:00Z', '1000', '49.9')).thenThrows(MeterRegisterWentBackwards, { register: 'energyExportWh', previousWh: '50', newWh: '49.9' });
  });

  it('refuses a register below the reading before it in time', () => {
    given([start, r1])
      .when(readingCommand('2026-11-27T18:30Z', '2999.9', '60'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyImportWh', previousAt: '2026-11-27T18:00:00.000Z', previousWh: '3000', newWh: '2999.9' });
    given([start, r1]).when(readingCommand('2026-11-27T18:30Z', '3100', '40')).thenThrows(MeterRegisterWentBackwards, { register: 'energyExportWh', previousWh: '50', newWh: '40' });
  });

  it('accepts a late reading between its neighbours and keeps the latest as lastReading', () => {
    const late = recorded('2026-11-27T18:30:00.000Z', '4500', '60');
    given([start, r1, r3]).when(readingCommand('2026-11-27T18:30Z', '4500', '60')).then([late]);
    const state = stateOf([start, r1, r3, late]);
    expect(state.lastReading).toEqual({ occurredAt: '2026-11-27T19:00:00.000Z', energyImportWh: '6000', energyExportWh: '80', powerW: null, socPercent: null });
    expect(state.readings.map((r) => r.occurredAt)).toEqual(['2026-11-27T18:00:00.000Z', '2026-11-27T18:30:00.000Z', '2026-11-27T19:00:00.000Z']);
  });

  it('accepts a reading older than every other one, above the meter start', () => {
    const early = recorded('2026-11-27T17:30:00.000Z', '2000', '50');
    given([start, r3]).when(readingCommand('2026-11-27T17:30Z', '2000', '50')).then([early]);
    expect(stateOf([start, r3, early]).lastReading?.occurredAt).toBe('2026-11-27T19:00:00.000Z');
  });

  it('refuses a late reading above the reading after it in time', () => {
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T18:30Z', '6000.1', '60'))
      .thenThrows(MeterRegisterWentBackwards, {
        register: 'energyImportWh',
        previousAt: '2026-11-27T18:30:00.000Z',
        previousWh: '6000.1',
        newAt: '2026-11-27T19:00:00.000Z',
        newWh: '6000',
      });
  });

  it('records nothing for an exact duplicate, the latest or an older one', () => {
    given([start, r1, r3]).when(readingCommand('2026-11-27T19:00:00Z', '6000.00', '80')).then([]);
    given([start, r1, r3]).when(readingCommand('2026-11-27T18:00Z', '3000', '50')).then([]);
  });

  it('records a correction at the same instant, which replaces the reading there', () => {
    const correction = recorded('2026-11-27T19:00:00.000Z', '6000', '80', { socPercent: '55' });
    given([start, r1, r3]).when(readingCommand('2026-11-27T19:00Z', '6000', '80', { socPercent: '55' })).then([correction]);
    const state = stateOf([start, r1, r3, correction]);
    expect(state.readings).toHaveLength(2);
    expect(state.lastReading).toEqual({ occurredAt: '2026-11-27T19:00:00.000Z', energyImportWh: '6000', energyExportWh: '80', powerW: null, socPercent: '55' });
    // A correction is still checked against the neighbours on both sides.
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T18:00Z', '6500', '50'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyImportWh', previousWh: '6500', newWh: '6000' });
    given([start, r1, r3]).when(readingCommand('2026-11-27T18:00Z', '900', '50')).thenThrows(MeterRegisterWentBackwards, { previousWh: '1000', newWh: '900' });
  });

  it('accepts a reading taken up to the stop (arriving late), and refuses one taken after it', () => {
    given([start, r1, stopped])
      .when(readingCommand('2026-11-27T20:00Z', '7000', '80'))
      .then([recorded('2026-11-27T20:00:00.000Z', '7000', '80')]);
    given([start, r1, stopped])
      .when(readingCommand('2026-11-27T20:00:00.001Z', '7000', '80'))
      .thenThrows(SessionClosed, { sessionId: 's1', stoppedAt: '2026-11-27T20:00:00.000Z', command: 'RecordSessionMeterReading' });
  });

  it('records readings on a suspended session', () => {
    given([start, suspended]).when(readingCommand('2026-11-27T18:00Z', '3000', '50')).then([r1]);
  });
});

describe('sessionNeeds', () => {
  const at = parseInstant('at', '2026-11-27T17:00:00Z');
  // 14 h to departure: 50,400 s.

  it('before any reading: the whole need, laxity and the average power to meet it', () => {
    const needs = sessionNeeds(stateOf([pluggedIn()]), at);
    // 20,000 Wh at 11,000 W takes 6,545.4545… s; 20,000 Wh over 50,400 s is 1,428.57… W, rounded up.
    expect(needs).toEqual({ deliveredWh: '0', remainingWh: '20000', socPercent: null, laxityS: 50400 - (20000 / 11000) * 3600, requiredPowerW: '1429' });
    expect(needs.laxityS).toBeCloseTo(43854.545454, 5);
  });

  it('counts net energy from the meter start: import minus export', () => {
    const state = stateOf([
      pluggedIn({ meterStartImportWh: '1000', meterStartExportWh: '200' }),
      recorded('2026-11-27T19:00:00.000Z', '6000', '700'),
    ]);
    // delivered = (6000 − 1000) − (700 − 200) = 4500; remaining = 15,500 Wh; 12 h = 43,200 s left.
    const needs = sessionNeeds(state, parseInstant('at', '2026-11-27T19:00Z'));
    expect(needs).toEqual({
      deliveredWh: '4500',
      remainingWh: '15500',
      socPercent: null,
      laxityS: 43200 - (15500 * 3600) / 11000,
      requiredPowerW: '1292', // 15,500 × 3600 / 43,200 = 1,291.67 → 1,292
    });
  });

  it('uses the latest reading by occurredAt, whatever order they arrived in', () => {
    const state = stateOf([pluggedIn(), recorded('2026-11-27T19:00:00.000Z', '8000'), recorded('2026-11-27T18:00:00.000Z', '2000')]);
    expect(sessionNeeds(state, at).deliveredWh).toBe('8000');
  });

  it('a target SoC: estimates the SoC from the energy delivered, and the energy still needed', () => {
    const state = stateOf([
      pluggedIn({ energyNeededWh: null, targetSocPercent: '80', batteryCapacityWh: '60000', socPercent: '20' }),
      recorded('2026-11-27T19:00:00.000Z', '6000'),
    ]);
    // In the battery: 20 % of 60,000 = 12,000 + 6,000 = 18,000 Wh = 30 %; target 48,000 Wh → 30,000 Wh to go.
    const needs = sessionNeeds(state, parseInstant('at', '2026-11-27T19:00Z'));
    expect(needs).toEqual({
      deliveredWh: '6000',
      remainingWh: '30000',
      socPercent: '30',
      laxityS: 43200 - (30000 * 3600) / 11000,
      requiredPowerW: '2500', // 30,000 × 3600 / 43,200 exactly
    });
  });

  it('a target SoC: the SoC the latest reading reports wins over the estimate', () => {
    const state = stateOf([
      pluggedIn({ energyNeededWh: null, targetSocPercent: '80', batteryCapacityWh: '60000', socPercent: '20' }),
      recorded('2026-11-27T19:00:00.000Z', '6000', '0', { socPercent: '35' }),
    ]);
    // (80 − 35) % of 60,000 = 27,000 Wh.
    expect(sessionNeeds(state, parseInstant('at', '2026-11-27T19:00Z'))).toMatchObject({ socPercent: '35', remainingWh: '27000', requiredPowerW: '2250' });
  });

  it('an estimate that is not a whole percent keeps its decimals', () => {
    const state = stateOf([pluggedIn({ batteryCapacityWh: '60000', socPercent: '20' }), recorded('2026-11-27T19:00:00.000Z', '1000')]);
    // 12,000 + 1,000 = 13,000 of 60,000 = 21.666… %
    expect(sessionNeeds(state, at).socPercent).toBe('21.666666666666666667');
  });

  it('bounds the estimate by an empty and a full battery', () => {
    const discharged = stateOf([
      pluggedIn({ batteryCapacityWh: '60000', socPercent: '5', v2g: { minSocPercent: '0', maxDischargePowerW: '5000' } }),
      recorded('2026-11-27T19:00:00.000Z', '0', '6000'),
    ]);
    expect(sessionNeeds(discharged, at)).toMatchObject({ deliveredWh: '-6000', socPercent: '0', remainingWh: '26000' });
    const overfull = stateOf([
      pluggedIn({ energyNeededWh: null, targetSocPercent: '100', batteryCapacityWh: '60000', socPercent: '95' }),
      recorded('2026-11-27T19:00:00.000Z', '6000'),
    ]);
    expect(sessionNeeds(overfull, at)).toMatchObject({ socPercent: '100', remainingWh: '0', requiredPowerW: '0' });
  });

  it('a need already met: nothing remaining and no power required', () => {
    const state = stateOf([pluggedIn(), recorded('2026-11-27T19:00:00.000Z', '20500')]);
    expect(sessionNeeds(state, at)).toEqual({ deliveredWh: '20500', remainingWh: '0', socPercent: null, laxityS: 50400, requiredPowerW: '0' });
  });

  it('caps the required power at maxPowerW; laxity goes negative when it cannot make it', () => {
    const needs = sessionNeeds(stateOf([pluggedIn()]), parseInstant('at', '2026-11-28T06:00Z'));
    expect(needs.requiredPowerW).toBe('11000');
    expect(needs.laxityS).toBeCloseTo(3600 - 6545.4545454545, 6);
  });

  it('a whole quotient is not rounded up', () => {
    // 11,000 Wh over 2 h is exactly 5,500 W.
    const needs = sessionNeeds(stateOf([pluggedIn({ energyNeededWh: '11000' })]), parseInstant('at', '2026-11-28T05:00Z'));
    expect(needs).toMatchObject({ requiredPowerW: '5500', laxityS: 3600 });
  });

  it('a departure passed with energy remaining: full power', () => {
    const needs = sessionNeeds(stateOf([pluggedIn()]), parseInstant('at', '2026-11-28T08:00Z'));
    expect(needs).toMatchObject({ remainingWh: '20000', requiredPowerW: '11000' });
    expect(needs.laxityS).toBeCloseTo(-3600 - 6545.4545454545, 6);
    expect(sessionNeeds(stateOf([pluggedIn()]), parseInstant('at', '2026-11-28T07:00Z')).requiredPowerW).toBe('11000');
  });
});

describe('meter readings in any order (property)', () => {
  const base = parseInstant('at', '2026-11-27T17:00:00Z');
  const readingsArb = fc
    .uniqueArray(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 12 })
    .chain((seconds) =>
      fc.tuple(
        fc.constant([...seconds].sort((a, b) => a - b)),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 500 }), fc.option(fc.integer({ min: 0, max: 100 }), { nil: null })), {
          minLength: seconds.length,
          maxLength: seconds.length,
        }),
      ),
    )
    .map(([seconds, steps]) => {
      let imported = 1000;
      let exported = 0;
      return seconds.map((s, i): ReadingCommand => {
        const [di, de, soc] = steps[i]!;
        imported += di;
        exported += de;
        return readingCommand(new Date(base + s * 1000).toISOString(), `${imported}.5`, `${exported}`, { socPercent: soc === null ? null : `${soc}` });
      });
    });

  const replay = (commands: ReadingCommand[], start: SessionEvent): SessionState => {
    let state = sessionDecider.evolve(sessionDecider.initialState(), start);
    for (const command of commands) for (const event of sessionDecider.decide(command, state)) state = sessionDecider.evolve(state, event);
    return state;
  };

  it('gives the same readings, lastReading and needs whatever the arrival order, and resending changes nothing', () => {
    const start = pluggedIn({ meterStartImportWh: '1000.5', energyNeededWh: null, targetSocPercent: '90', batteryCapacityWh: '60000', socPercent: '10' });
    fc.assert(
      fc.property(readingsArb, fc.infiniteStream(fc.nat()), fc.nat(), (readings, seeds, resend) => {
        const shuffled = [...readings];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = seeds.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const inOrder = replay(readings, start) as PluggedInSession;
        const anyOrder = replay([...shuffled, shuffled[resend % shuffled.length]!], start) as PluggedInSession;
        expect(anyOrder.readings).toEqual(inOrder.readings);
        expect(anyOrder.lastReading).toEqual(inOrder.lastReading);
        expect(inOrder.lastReading?.occurredAt).toBe(readings.at(-1)!.occurredAt);
        const now = base + 60_000_000;
        expect(sessionNeeds(anyOrder, now)).toEqual(sessionNeeds(inOrder, now));
      }),
    );
  });

  it('never accepts a reading that would make a register go backwards in time', () => {
    const start = pluggedIn({ meterStartImportWh: '100' });
    const arbitrary = fc.array(
      fc.record({ s: fc.integer({ min: 0, max: 100 }), imported: fc.integer({ min: 0, max: 400 }), exported: fc.integer({ min: 0, max: 50 }) }),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(arbitrary, (raw) => {
        let state = sessionDecider.evolve(sessionDecider.initialState(), start) as PluggedInSession;
        for (const { s, imported, exported } of raw) {
          try {
            for (const event of sessionDecider.decide(readingCommand(new Date(base + s * 1000).toISOString(), `${imported}`, `${exported}`), state)) {
              state = sessionDecider.evolve(state, event) as PluggedInSession;
            }
          } catch (error) {
            expect(error).toBeInstanceOf(MeterRegisterWentBackwards);
          }
        }
        let previous = { at: '', imported: 100, exported: 0 };
        for (const reading of state.readings) {
          expect(reading.occurredAt > previous.at).toBe(true);
          expect(Number(reading.energyImportWh)).toBeGreaterThanOrEqual(previous.imported);
          expect(Number(reading.energyExportWh)).toBeGreaterThanOrEqual(previous.exported);
          previous = { at: reading.occurredAt, imported: Number(reading.energyImportWh), exported: Number(reading.energyExportWh) };
        }
        expect(state.lastReading).toEqual(state.readings.at(-1) ?? null);
      }),
    );
  });
});
