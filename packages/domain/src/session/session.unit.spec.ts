import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { parseInstant, Decimal } from '../values/index.ts';
import { ConflictingMeterReading, MeterReadingFromFuture, MeterRegisterWentBackwards, ReadingsAfterMeterReset, UnknownMeterReading } from '../metering/metering-errors.ts';
import {
  checkSessionId,
  InvalidSessionRequest,
  InvalidSessionTransition,
  SessionAlreadyExists,
  SessionClosed,
  sessionDecider,
  sessionMeterSegments,
  sessionNeeds,
  sessionStreamId,
  UnknownSession,
  type PluggedInSession,
} from './session.ts';
import type { MeterReading, PlugIn, SessionCommand, SessionEvent, SessionPluggedInData, SessionState } from './session-types.ts';

const given = givenFor(sessionDecider);

/** What the plug-in command asks for and the event records as it is (figures already canonical). */
const asked = {
  sessionId: 's1',
  siteId: 'depot',
  connectorId: 'c1',
  vehicleId: 'v1',
  customerId: 'cust1',
  fleetId: null,
  tier: 'normal',
  energyNeededWh: '20000',
  targetSocPercent: null,
  batteryCapacityWh: null,
  socPercent: null,
  minPowerW: '1400',
  maxPowerW: '11000',
  v2g: null,
} as const;

const plugIn: PlugIn = { type: 'PlugIn', ...asked, at: '2026-11-27T17:00:00Z', departureAt: '2026-11-28T07:00:00Z', meterStartImportWh: null, meterStartExportWh: null };

const pluggedInData: SessionPluggedInData = {
  ...asked,
  pluggedInAt: '2026-11-27T17:00:00.000Z',
  departureAt: '2026-11-28T07:00:00.000Z',
  meterStartImportWh: '0',
  meterStartExportWh: '0',
};

const pluggedIn = (data: Partial<SessionPluggedInData> = {}): SessionEvent => ({ type: 'SessionPluggedIn', data: { ...pluggedInData, ...data } });
const suspended: SessionEvent = { type: 'SessionSuspended', data: { sessionId: 's1', at: '2026-11-27T18:00:00.000Z' } };
const stopped: SessionEvent = { type: 'SessionStopped', data: { sessionId: 's1', at: '2026-11-27T20:00:00.000Z', reason: 'unplugged' } };

type ReadingCommand = Extract<SessionCommand, { type: 'RecordSessionMeterReading' }>;
/** When the ledger receives the readings of these tests: after all of them, so none is from the future. */
const RECEIVED_AT = '2026-11-28T07:00:00Z';
const readingCommand = (occurredAt: string, energyImportWh: string, energyExportWh = '0', extra: Partial<ReadingCommand> = {}): ReadingCommand => ({
  type: 'RecordSessionMeterReading',
  sessionId: 's1',
  at: RECEIVED_AT,
  occurredAt,
  energyImportWh,
  energyExportWh,
  powerW: null,
  socPercent: null,
  ...extra,
});
type CorrectCommand = Extract<SessionCommand, { type: 'CorrectSessionMeterReading' }>;
const correctCommand = (occurredAt: string, energyImportWh: string, energyExportWh = '0', extra: Partial<CorrectCommand> = {}): CorrectCommand => ({
  ...readingCommand(occurredAt, energyImportWh, energyExportWh),
  type: 'CorrectSessionMeterReading',
  reason: 'meter re-read',
  ...extra,
});
type ResetCommand = Extract<SessionCommand, { type: 'ResetSessionMeter' }>;
const resetCommand = (occurredAt: string, energyImportWh: string, energyExportWh = '0', extra: Partial<ResetCommand> = {}): ResetCommand => ({
  type: 'ResetSessionMeter',
  sessionId: 's1',
  at: RECEIVED_AT,
  occurredAt,
  energyImportWh,
  energyExportWh,
  reason: 'meter replaced',
  ...extra,
});
const corrected = (occurredAt: string, energyImportWh: string, energyExportWh = '0', extra: Partial<MeterReading & { reason: string }> = {}): SessionEvent => ({
  type: 'SessionMeterReadingCorrected',
  data: { sessionId: 's1', occurredAt, energyImportWh, energyExportWh, powerW: null, socPercent: null, reason: 'meter re-read', ...extra },
});
const reset = (occurredAt: string, energyImportWh: string, energyExportWh = '0', reason = 'meter replaced'): SessionEvent => ({
  type: 'SessionMeterReset',
  data: { sessionId: 's1', occurredAt, energyImportWh, energyExportWh, reason },
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
    ['an empty customer id', { customerId: '' }, 'customerId', /letters, digits/],
    ['an empty fleet id', { fleetId: '' }, 'fleetId', /letters, digits/],
    ['a customer id with a space (it names an account stream)', { customerId: 'driver 1' }, 'customerId', /letters, digits/],
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
    ['a SoC over 100', { ...targetMode, socPercent: '100.1' }, 'socPercent', /beyond 100 %/],
    ['a target SoC over 100', { ...targetMode, targetSocPercent: '101' }, 'targetSocPercent', /beyond 100 %/],
    ['a negative target SoC', { ...targetMode, targetSocPercent: '-1' }, 'targetSocPercent', /negative/],
    ['a target below the SoC now', { ...targetMode, targetSocPercent: '19.9' }, 'targetSocPercent', /below the SoC now/],
    ['V2G without a capacity', { socPercent: '50', v2g: { minSocPercent: '30', maxDischargePowerW: '5000' } }, 'batteryCapacityWh', /V2G/],
    ['V2G without the SoC now', { batteryCapacityWh: '60000', v2g: { minSocPercent: '30', maxDischargePowerW: '5000' } }, 'socPercent', /V2G/],
    [
      'a maximum power beyond any grid connection (the bound holds in the domain, whatever door the command came through)',
      { maxPowerW: '2000000000' },
      'maxPowerW',
      /beyond 1000000000 W/,
    ],
    ['an energy need with more decimals than a register counts', { energyNeededWh: '1.0001' }, 'energyNeededWh', /4 decimals; at most 3/],
    ['a V2G reserve over 100', { ...targetMode, v2g: { minSocPercent: '120', maxDischargePowerW: '5000' } }, 'v2g.minSocPercent', /beyond 100 %/],
    ['a V2G discharge power of 0', { ...targetMode, v2g: { minSocPercent: '30', maxDischargePowerW: '0' } }, 'v2g.maxDischargePowerW', /more than 0/],
    ['a negative import register', { meterStartImportWh: '-1' }, 'meterStartImportWh', /negative/],
    ['a malformed export register', { meterStartExportWh: '1e3' }, 'meterStartExportWh', /not a decimal string/],
  ];
  it.each(refusals)('refuses %s, naming the field', (_, change, fieldName, reason) => {
    given([])
      .when({ ...plugIn, ...change })
      .thenThrows(InvalidSessionRequest, { field: fieldName });
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
    given([pluggedIn()])
      .when({ ...stop, reason: ' ' })
      .thenThrows(InvalidSessionRequest, { field: 'reason' });
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
    expect(stateOf([pluggedIn()])).toMatchObject({ status: 'active', stoppedAt: null, lastReading: null, readings: [], meterResets: [] });
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
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000', 'x'))
      .thenThrows(InvalidSessionRequest, { field: 'energyExportWh' });
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000', '50', { powerW: '1,5' }))
      .thenThrows(InvalidSessionRequest, { field: 'powerW' });
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000', '50', { socPercent: '100.5' }))
      .thenThrows(InvalidSessionRequest, { field: 'socPercent' });
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
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '1000', '49.9'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyExportWh', previousWh: '50', newWh: '49.9' });
  });

  it('refuses a register below the reading before it in time', () => {
    given([start, r1])
      .when(readingCommand('2026-11-27T18:30Z', '2999.9', '60'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyImportWh', previousAt: '2026-11-27T18:00:00.000Z', previousWh: '3000', newWh: '2999.9' });
    given([start, r1])
      .when(readingCommand('2026-11-27T18:30Z', '3100', '40'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyExportWh', previousWh: '50', newWh: '40' });
  });

  it('accepts a late reading between its neighbours and keeps the latest as lastReading', () => {
    const late = recorded('2026-11-27T18:30:00.000Z', '4500', '60');
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T18:30Z', '4500', '60'))
      .then([late]);
    const state = stateOf([start, r1, r3, late]);
    expect(state.lastReading).toEqual({ occurredAt: '2026-11-27T19:00:00.000Z', energyImportWh: '6000', energyExportWh: '80', powerW: null, socPercent: null });
    expect(state.readings.map((r) => r.occurredAt)).toEqual(['2026-11-27T18:00:00.000Z', '2026-11-27T18:30:00.000Z', '2026-11-27T19:00:00.000Z']);
  });

  it('accepts a reading older than every other one, above the meter start', () => {
    const early = recorded('2026-11-27T17:30:00.000Z', '2000', '50');
    given([start, r3])
      .when(readingCommand('2026-11-27T17:30Z', '2000', '50'))
      .then([early]);
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
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T19:00:00Z', '6000.00', '80'))
      .then([]);
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T18:00Z', '3000', '50'))
      .then([]);
  });

  it('refuses a reading at an instant already recorded with other values, naming both, instead of taking it as a correction', () => {
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T19:00Z', '6000', '80', { socPercent: '55' }))
      .thenThrows(ConflictingMeterReading, {
        sessionId: 's1',
        what: 'reading',
        occurredAt: '2026-11-27T19:00:00.000Z',
        recorded: { energyImportWh: '6000', energyExportWh: '80', powerW: null, socPercent: null },
        sent: { energyImportWh: '6000', energyExportWh: '80', powerW: null, socPercent: '55' },
      });
    given([start, r1, r3])
      .when(readingCommand('2026-11-27T18:00Z', '3000.001', '50'))
      .thenThrows(ConflictingMeterReading, { recorded: { energyImportWh: '3000' }, sent: { energyImportWh: '3000.001' } });
    expect(() => sessionDecider.decide(readingCommand('2026-11-27T18:00Z', '3001', '50'), stateOf([start, r1]))).toThrow(
      /a reading at 2026-11-27T18:00:00.000Z is already recorded with import 3000 Wh, export 50 Wh, power none W, SoC none %; the one sent has import 3001 Wh/,
    );
  });

  it('replays a legacy correction (a second SessionMeterReadingRecorded at the same instant) as a replacement', () => {
    const legacy = recorded('2026-11-27T19:00:00.000Z', '6000', '80', { socPercent: '55' });
    const state = stateOf([start, r1, r3, legacy]);
    expect(state.readings).toHaveLength(2);
    expect(state.lastReading).toEqual({ occurredAt: '2026-11-27T19:00:00.000Z', energyImportWh: '6000', energyExportWh: '80', powerW: null, socPercent: '55' });
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
    given([start, suspended])
      .when(readingCommand('2026-11-27T18:00Z', '3000', '50'))
      .then([r1]);
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
    const state = stateOf([pluggedIn({ meterStartImportWh: '1000', meterStartExportWh: '200' }), recorded('2026-11-27T19:00:00.000Z', '6000', '700')]);
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
    const arbitrary = fc.array(fc.record({ s: fc.integer({ min: 0, max: 100 }), imported: fc.integer({ min: 0, max: 400 }), exported: fc.integer({ min: 0, max: 50 }) }), {
      maxLength: 20,
    });
    fc.assert(
      fc.property(arbitrary, (raw) => {
        let state = sessionDecider.evolve(sessionDecider.initialState(), start) as PluggedInSession;
        for (const { s, imported, exported } of raw) {
          try {
            for (const event of sessionDecider.decide(readingCommand(new Date(base + s * 1000).toISOString(), `${imported}`, `${exported}`), state)) {
              state = sessionDecider.evolve(state, event) as PluggedInSession;
            }
          } catch (error) {
            // Backwards against a neighbour, or another value at an instant already recorded.
            expect(error instanceof MeterRegisterWentBackwards || error instanceof ConflictingMeterReading, String(error)).toBe(true);
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

describe('meter commands: time, closed sessions, mWh', () => {
  const start = pluggedIn({ meterStartImportWh: '1000', meterStartExportWh: '50' });
  const r1 = recorded('2026-11-27T18:00:00.000Z', '3000', '50');

  it('accepts a meter clock up to 5 minutes ahead of the ledger, and refuses one further ahead, naming both times', () => {
    given([start])
      .when(readingCommand('2026-11-27T18:05:00Z', '3000', '50', { at: '2026-11-27T18:00:00Z' }))
      .then([recorded('2026-11-27T18:05:00.000Z', '3000', '50')]);
    given([start])
      .when(readingCommand('2026-11-27T18:05:00.001Z', '3000', '50', { at: '2026-11-27T18:00Z' }))
      .thenThrows(MeterReadingFromFuture, { sessionId: 's1', occurredAt: '2026-11-27T18:05:00.001Z', at: '2026-11-27T18:00:00.000Z' });
    given([start, r1])
      .when(correctCommand('2026-11-27T18:00Z', '3100', '50', { at: '2026-11-27T17:50Z' }))
      .thenThrows(MeterReadingFromFuture, { occurredAt: '2026-11-27T18:00:00.000Z', at: '2026-11-27T17:50:00.000Z' });
    given([start])
      .when(resetCommand('2026-11-27T18:00Z', '0', '0', { at: '2026-11-27T17:54:59.999Z' }))
      .thenThrows(MeterReadingFromFuture);
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000', '50', { at: 'now' }))
      .thenThrows(InvalidSessionRequest, { field: 'at' });
  });

  it('refuses registers with more than 3 decimals (mWh), naming the field; trailing zeros do not count', () => {
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000.0001', '50'))
      .thenThrows(InvalidSessionRequest, { field: 'energyImportWh', reason: expect.stringMatching(/more than 3 decimals/) });
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000', '50.1234'))
      .thenThrows(InvalidSessionRequest, { field: 'energyExportWh' });
    given([start])
      .when(readingCommand('2026-11-27T18:00Z', '3000.123000', '50'))
      .then([recorded('2026-11-27T18:00:00.000Z', '3000.123', '50')]);
    given([start, r1])
      .when(correctCommand('2026-11-27T18:00Z', '3000.0005', '50'))
      .thenThrows(InvalidSessionRequest, { field: 'energyImportWh' });
    given([start])
      .when(resetCommand('2026-11-27T18:00Z', '0.0001', '0'))
      .thenThrows(InvalidSessionRequest, { field: 'energyImportWh' });
    given([])
      .when({ ...plugIn, meterStartImportWh: '1.2345' })
      .thenThrows(InvalidSessionRequest, { field: 'meterStartImportWh' });
  });

  it('refuses corrections and resets of a stopped session after its stop, and accepts them up to it', () => {
    given([start, r1, stopped])
      .when(correctCommand('2026-11-27T18:00Z', '3100', '50'))
      .then([corrected('2026-11-27T18:00:00.000Z', '3100', '50')]);
    given([start, r1, stopped])
      .when(resetCommand('2026-11-27T20:00Z', '0', '0'))
      .then([reset('2026-11-27T20:00:00.000Z', '0', '0')]);
    given([start, r1, stopped])
      .when(correctCommand('2026-11-27T20:30Z', '3100', '50'))
      .thenThrows(SessionClosed, { sessionId: 's1', stoppedAt: '2026-11-27T20:00:00.000Z', command: 'CorrectSessionMeterReading' });
    given([start, r1, stopped])
      .when(resetCommand('2026-11-27T20:00:00.001Z', '0', '0'))
      .thenThrows(SessionClosed, { stoppedAt: '2026-11-27T20:00:00.000Z', command: 'ResetSessionMeter' });
  });

  it.each([
    ['CorrectSessionMeterReading', () => correctCommand('2026-11-27T18:00Z', '1', '0')],
    ['ResetSessionMeter', () => resetCommand('2026-11-27T18:00Z', '0', '0')],
  ])('refuses %s on a session that never plugged in', (_, command) => {
    given([]).when(command()).thenThrows(UnknownSession, { sessionId: 's1' });
  });
});

describe('CorrectSessionMeterReading', () => {
  const start = pluggedIn({ meterStartImportWh: '1000', meterStartExportWh: '50' });
  const r1 = recorded('2026-11-27T18:00:00.000Z', '3000', '50');
  const r2 = recorded('2026-11-27T18:30:00.000Z', '4500', '60');
  const r3 = recorded('2026-11-27T19:00:00.000Z', '6000', '80');

  it('records a correction (a new event, with its reason) that replaces the reading at its instant', () => {
    const correction = corrected('2026-11-27T18:30:00.000Z', '4000', '70', { powerW: '7000', socPercent: '40' });
    given([start, r1, r2, r3])
      .when(correctCommand('2026-11-27T18:30Z', '4000.000', '70', { powerW: '7000.0', socPercent: '40', reason: ' meter re-read ' }))
      .then([correction]);
    const state = stateOf([start, r1, r2, r3, correction]);
    expect(state.readings.map((r) => r.energyImportWh)).toEqual(['3000', '4000', '6000']);
    expect(state.readings[1]).toEqual({ occurredAt: '2026-11-27T18:30:00.000Z', energyImportWh: '4000', energyExportWh: '70', powerW: '7000', socPercent: '40' });
  });

  it('corrects the latest reading, which changes lastReading and the energy delivered', () => {
    const correction = corrected('2026-11-27T19:00:00.000Z', '5000', '80');
    given([start, r1, r3])
      .when(correctCommand('2026-11-27T19:00Z', '5000', '80'))
      .then([correction]);
    const state = stateOf([start, r1, r3, correction]);
    expect(state.lastReading?.energyImportWh).toBe('5000');
    // (5000 − 1000) − (80 − 50)
    expect(sessionNeeds(state, parseInstant('at', '2026-11-27T19:00Z')).deliveredWh).toBe('3970');
  });

  it('records nothing when the values are those recorded', () => {
    given([start, r1, r3])
      .when(correctCommand('2026-11-27T19:00:00.000Z', '6000.0', '80'))
      .then([]);
  });

  it('refuses a correction of a reading that was never recorded', () => {
    given([start, r1, r3])
      .when(correctCommand('2026-11-27T18:30Z', '4500', '60'))
      .thenThrows(UnknownMeterReading, { sessionId: 's1', occurredAt: '2026-11-27T18:30:00.000Z' });
  });

  it('refuses corrected values that no longer fit between the neighbours', () => {
    given([start, r1, r2, r3])
      .when(correctCommand('2026-11-27T18:30Z', '2999', '60'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyImportWh', previousAt: '2026-11-27T18:00:00.000Z', previousWh: '3000', newWh: '2999' });
    given([start, r1, r2, r3])
      .when(correctCommand('2026-11-27T18:30Z', '4500', '81'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyExportWh', previousWh: '81', newAt: '2026-11-27T19:00:00.000Z', newWh: '80' });
    given([start, r1])
      .when(correctCommand('2026-11-27T18:00Z', '999', '50'))
      .thenThrows(MeterRegisterWentBackwards, { previousWh: '1000', newWh: '999' });
  });

  it('refuses a missing reason, and malformed figures, naming the field', () => {
    given([start, r1])
      .when(correctCommand('2026-11-27T18:00Z', '3100', '50', { reason: ' ' }))
      .thenThrows(InvalidSessionRequest, { field: 'reason' });
    given([start, r1])
      .when(correctCommand('2026-11-27T18:00Z', '3100', '50', { socPercent: '101' }))
      .thenThrows(InvalidSessionRequest, { field: 'socPercent' });
    given([start, r1])
      .when(correctCommand('yesterday', '3100', '50'))
      .thenThrows(InvalidSessionRequest, { field: 'occurredAt' });
  });
});

describe('ResetSessionMeter', () => {
  const start = pluggedIn({ meterStartImportWh: '1000', meterStartExportWh: '50' });
  const r1 = recorded('2026-11-27T18:00:00.000Z', '3000', '50');
  const r3 = recorded('2026-11-27T19:00:00.000Z', '6000', '80');
  const replaced = reset('2026-11-27T18:30:00.000Z', '10', '0');

  it('records a reset, after which readings continue from its values', () => {
    given([start, r1])
      .when(resetCommand('2026-11-27T18:30Z', '10.000', '0', { reason: ' meter replaced ' }))
      .then([replaced]);
    const after = recorded('2026-11-27T19:00:00.000Z', '1010', '5');
    given([start, r1, replaced])
      .when(readingCommand('2026-11-27T19:00Z', '1010', '5'))
      .then([after]);
    const state = stateOf([start, r1, replaced, after]);
    expect(state.meterResets).toEqual([{ occurredAt: '2026-11-27T18:30:00.000Z', energyImportWh: '10', energyExportWh: '0' }]);
    expect(state.lastReading).toMatchObject({ occurredAt: '2026-11-27T19:00:00.000Z', energyImportWh: '1010' });
    // Segment 0: 3000 − 1000 imported, 0 exported; segment 1: 1000 imported, 5 exported.
    expect(sessionNeeds(state, parseInstant('at', '2026-11-27T19:00Z')).deliveredWh).toBe('2995');
    expect(sessionMeterSegments(state)).toEqual([
      {
        start: { occurredAt: '2026-11-27T17:00:00.000Z', energyImportWh: '1000', energyExportWh: '50' },
        startedBy: 'origin',
        readings: [state.readings[0]],
        deliveredImportWh: '2000',
        deliveredExportWh: '0',
      },
      {
        start: { occurredAt: '2026-11-27T18:30:00.000Z', energyImportWh: '10', energyExportWh: '0' },
        startedBy: 'reset',
        readings: [state.readings[1]],
        deliveredImportWh: '1000',
        deliveredExportWh: '5',
      },
    ]);
  });

  it('checks a reading against its own segment only: after the reset, from the reset values; before it, from the old meter', () => {
    given([start, r1, replaced])
      .when(readingCommand('2026-11-27T18:45Z', '9', '0'))
      .thenThrows(MeterRegisterWentBackwards, { register: 'energyImportWh', previousAt: '2026-11-27T18:30:00.000Z', previousWh: '10', newWh: '9' });
    // A late reading of the old meter, between its last one and the reset: bounded below by 3000 only.
    given([start, r1, replaced])
      .when(readingCommand('2026-11-27T18:15Z', '3500', '50'))
      .then([recorded('2026-11-27T18:15:00.000Z', '3500', '50')]);
    given([start, r1, replaced])
      .when(readingCommand('2026-11-27T18:15Z', '2000', '50'))
      .thenThrows(MeterRegisterWentBackwards, { previousWh: '3000', newWh: '2000' });
    // A reading at the reset instant belongs to the new meter.
    given([start, r1, replaced])
      .when(readingCommand('2026-11-27T18:30Z', '10', '0'))
      .then([recorded('2026-11-27T18:30:00.000Z', '10', '0')]);
    // The old meter's last reading is no upper bound for the new one's first.
    given([start, r1, replaced])
      .when(readingCommand('2026-11-27T18:45Z', '11', '0'))
      .then([recorded('2026-11-27T18:45:00.000Z', '11', '0')]);
  });

  it('records nothing for the same reset again, and refuses another one at the same instant, naming both', () => {
    given([start, r1, replaced])
      .when(resetCommand('2026-11-27T18:30:00.000Z', '10', '0'))
      .then([]);
    given([start, r1, replaced])
      .when(resetCommand('2026-11-27T18:30Z', '0', '0'))
      .thenThrows(ConflictingMeterReading, {
        sessionId: 's1',
        what: 'reset',
        occurredAt: '2026-11-27T18:30:00.000Z',
        recorded: { energyImportWh: '10', energyExportWh: '0' },
        sent: { energyImportWh: '0', energyExportWh: '0' },
      });
  });

  it('refuses a reset before which the old meter has readings at or after its instant, naming them', () => {
    given([start, r1, r3])
      .when(resetCommand('2026-11-27T18:00Z', '0', '0'))
      .thenThrows(ReadingsAfterMeterReset, {
        sessionId: 's1',
        occurredAt: '2026-11-27T18:00:00.000Z',
        readingsAt: ['2026-11-27T18:00:00.000Z', '2026-11-27T19:00:00.000Z'],
      });
    // A second reset before a first one only looks at the segment it splits.
    given([start, r1, reset('2026-11-27T19:00:00.000Z', '0', '0'), recorded('2026-11-27T19:30:00.000Z', '500', '0')])
      .when(resetCommand('2026-11-27T18:30Z', '7', '0'))
      .then([reset('2026-11-27T18:30:00.000Z', '7', '0')]);
  });

  it('refuses a reset at or before the plug-in (the meter start opens the first segment) and a missing reason', () => {
    given([start])
      .when(resetCommand('2026-11-27T17:00Z', '0', '0'))
      .thenThrows(InvalidSessionRequest, { field: 'occurredAt', reason: expect.stringMatching(/not after 2026-11-27T17:00:00.000Z/) });
    given([start])
      .when(resetCommand('2026-11-27T18:00Z', '0', '0', { reason: '' }))
      .thenThrows(InvalidSessionRequest, { field: 'reason' });
    given([start])
      .when(resetCommand('2026-11-27T18:00Z', '-1', '0'))
      .thenThrows(InvalidSessionRequest, { field: 'energyImportWh' });
  });

  it('corrects a reading of either segment against its own segment', () => {
    const after = recorded('2026-11-27T19:00:00.000Z', '1010', '5');
    given([start, r1, replaced, after])
      .when(correctCommand('2026-11-27T19:00Z', '9', '5'))
      .thenThrows(MeterRegisterWentBackwards, { previousWh: '10', newWh: '9' });
    given([start, r1, replaced, after])
      .when(correctCommand('2026-11-27T18:00Z', '5000', '50'))
      .then([corrected('2026-11-27T18:00:00.000Z', '5000', '50')]);
  });
});

describe('meter readings, corrections and resets (properties)', () => {
  const base = parseInstant('at', '2026-11-27T17:00:00Z');
  const at = (s: number) => new Date(base + s * 1000).toISOString();
  const start = pluggedIn({ meterStartImportWh: '100.5', meterStartExportWh: '20' });

  /** Segments of increasing registers: resets at some of the instants, each with its own start values. */
  const historyArb = fc
    .uniqueArray(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 16 })
    .chain((seconds) =>
      fc.tuple(
        fc.constant([...seconds].sort((a, b) => a - b)),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 500 })), {
          minLength: seconds.length,
          maxLength: seconds.length,
        }),
      ),
    )
    .map(([seconds, steps]) => {
      let imported = new Decimal('100.5');
      let exported = new Decimal('20');
      const commands: SessionCommand[] = [];
      let expectedWh = new Decimal(0);
      seconds.forEach((s, i) => {
        const [isReset, resetMilli, di, de] = steps[i]!;
        if (isReset) {
          imported = new Decimal(resetMilli).div(1000);
          exported = new Decimal(0);
          commands.push(resetCommand(at(s), imported.toFixed(), exported.toFixed()));
        } else {
          imported = imported.plus(new Decimal(di).div(1000));
          exported = exported.plus(de);
          expectedWh = expectedWh.plus(new Decimal(di).div(1000)).minus(de);
          commands.push(readingCommand(at(s), imported.toFixed(), exported.toFixed()));
        }
      });
      return { commands, expectedWh };
    });

  const replay = (commands: SessionCommand[]): PluggedInSession => {
    let state = sessionDecider.evolve(sessionDecider.initialState(), start);
    for (const command of commands) for (const event of sessionDecider.decide(command, state)) state = sessionDecider.evolve(state, event);
    return state as PluggedInSession;
  };

  it('resets recorded first, then readings in any order and with duplicates: the same state and delivered energy', () => {
    fc.assert(
      fc.property(historyArb, fc.infiniteStream(fc.nat()), fc.array(fc.nat(), { maxLength: 4 }), ({ commands, expectedWh }, seeds, resend) => {
        const resets = commands.filter((c) => c.type === 'ResetSessionMeter');
        const readings = commands.filter((c) => c.type === 'RecordSessionMeterReading');
        const shuffled = [...readings];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = seeds.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const duplicates = readings.length === 0 ? [] : resend.map((n) => readings[n % readings.length]!);
        const inOrder = replay(commands);
        const anyOrder = replay([...resets, ...shuffled, ...duplicates]);
        expect(anyOrder.readings).toEqual(inOrder.readings);
        expect(anyOrder.meterResets).toEqual(inOrder.meterResets);
        expect(anyOrder.lastReading).toEqual(inOrder.lastReading);
        const now = base + 50_000_000;
        expect(sessionNeeds(anyOrder, now)).toEqual(sessionNeeds(inOrder, now));
        expect(sessionNeeds(inOrder, now).deliveredWh).toBe(expectedWh.toFixed());
      }),
    );
  });

  it('after corrections and resets, delivered energy is the sum of the segment deltas, and no register goes backwards within a segment', () => {
    const arbitrary = fc.array(
      fc.record({
        kind: fc.constantFrom('reading', 'reading', 'reading', 'correction', 'reset'),
        s: fc.integer({ min: 0, max: 40 }),
        /** For a correction: which recorded reading. */
        pick: fc.nat(),
        imported: fc.integer({ min: 0, max: 200_000 }),
        exported: fc.integer({ min: 0, max: 50 }),
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(arbitrary, (raw) => {
        let state = replay([]);
        for (const { kind, s, pick, imported, exported } of raw) {
          // Mostly rising with time (so that many readings fit), a little noise, small values at resets;
          // a correction moves a recorded reading by up to ±1 Wh.
          const noise = new Decimal(imported % 5000).div(1000);
          const target = state.readings[pick % Math.max(1, state.readings.length)];
          let command: SessionCommand;
          if (kind === 'reading') command = readingCommand(at(s), noise.plus(101 + s * 5).toFixed(), `${20 + Math.floor(s / 4) + (exported % 2)}`);
          else if (kind === 'reset') command = resetCommand(at(s), noise.toFixed(), `${exported % 3}`);
          else if (!target) command = correctCommand(at(s), noise.toFixed(), '0');
          else {
            const importWh = Decimal.max(0, new Decimal(target.energyImportWh).plus(new Decimal((imported % 2001) - 1000).div(1000)));
            command = correctCommand(target.occurredAt, importWh.toFixed(), `${Math.max(0, Number(target.energyExportWh) + (exported % 3) - 1)}`);
          }
          try {
            for (const event of sessionDecider.decide(command, state)) state = sessionDecider.evolve(state, event) as PluggedInSession;
          } catch (error) {
            expect(
              [MeterRegisterWentBackwards, ConflictingMeterReading, UnknownMeterReading, ReadingsAfterMeterReset, InvalidSessionRequest].some((c) => error instanceof c),
              String(error),
            ).toBe(true);
          }
        }
        const segments = sessionMeterSegments(state);
        expect(segments).toHaveLength(state.meterResets.length + 1);
        let importWh = new Decimal(0);
        let exportWh = new Decimal(0);
        for (const segment of segments) {
          const first = segment.start ?? segment.readings[0];
          const last = segment.readings.at(-1) ?? first;
          let previous = first!;
          for (const reading of segment.readings) {
            expect(new Decimal(reading.energyImportWh).greaterThanOrEqualTo(previous.energyImportWh)).toBe(true);
            expect(new Decimal(reading.energyExportWh).greaterThanOrEqualTo(previous.energyExportWh)).toBe(true);
            if (segment.start) expect(reading.occurredAt >= segment.start.occurredAt || segment.startedBy === 'origin').toBe(true);
            previous = reading;
          }
          importWh = importWh.plus(new Decimal(last!.energyImportWh).minus(first!.energyImportWh));
          exportWh = exportWh.plus(new Decimal(last!.energyExportWh).minus(first!.energyExportWh));
        }
        expect(sessionNeeds(state, base).deliveredWh).toBe(importWh.minus(exportWh).toFixed());
        expect(segments.flatMap((segment) => segment.readings)).toEqual(state.readings);
        expect(state.lastReading).toEqual(state.readings.at(-1) ?? null);
      }),
    );
  });
});
