import { TIERS, type Tier } from '../allocation/types.ts';
import type { Decider } from '../decider.ts';
import { DomainError, InvalidCommand } from '../errors.ts';
import { Decimal, toDecimalString, formatInstant, parseInstant, parseId, parseQuantity, parseNonNegativeQuantity } from '../values/index.ts';
import {
  checkNotFromFuture,
  decideCorrection,
  decideReading,
  decideReset,
  deliveredEnergy,
  parseRegister,
  segmentsOf,
  withReading,
  withReset,
  type RegisterSegment,
  type RegisterSeries,
  type SegmentStart,
} from '../metering/register-series.ts';
import type { MeterReading, PlugIn, SessionCommand, SessionEvent, SessionNeeds, SessionPluggedInData, SessionState, V2gConsent } from './session-types.ts';

/** A session that has plugged in (whatever became of it since). */
export type PluggedInSession = Exclude<SessionState, { status: 'none' }>;

/** A field of a session command is missing, malformed or out of range; `field` names it. */
export class InvalidSessionRequest extends DomainError {
  readonly code = 'INVALID_SESSION_REQUEST';
  constructor(field: string, reason: string) {
    super(`invalid ${field}: ${reason}`, { field, reason });
  }
}

export class SessionAlreadyExists extends DomainError {
  readonly code = 'SESSION_ALREADY_EXISTS';
  constructor(sessionId: string) {
    super(`session ${sessionId} already exists`, { sessionId });
  }
}

export class UnknownSession extends DomainError {
  readonly code = 'UNKNOWN_SESSION';
  constructor(sessionId: string) {
    super(`session ${sessionId} does not exist`, { sessionId });
  }
}

/** A command on a stopped session (or a reading taken after it stopped). */
export class SessionClosed extends DomainError {
  readonly code = 'SESSION_CLOSED';
  constructor(sessionId: string, stoppedAt: string | null, command: SessionCommand['type']) {
    super(`session ${sessionId} stopped at ${stoppedAt ?? 'an unknown time'}: ${command} refused`, { sessionId, stoppedAt, command });
  }
}

/** Suspend of a session that is not active, or Reactivate of one that is not suspended. */
export class InvalidSessionTransition extends DomainError {
  readonly code = 'INVALID_SESSION_TRANSITION';
  constructor(sessionId: string, status: string, command: SessionCommand['type']) {
    super(`session ${sessionId} is ${status}: ${command} refused`, { sessionId, status, command });
  }
}

export const sessionStreamId = (sessionId: string): string => `session-${sessionId}`;

export function checkSessionId(sessionId: unknown): string {
  return field(() => parseId('sessionId', sessionId));
}

/** Runs a parser from quantities.ts or time.ts and gives its refusal the session's error code. */
function field<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidCommand) throw new InvalidSessionRequest(String(error.details.field), String(error.details.reason));
    throw error;
  }
}

const decimal = (name: string, value: unknown) => field(() => parseQuantity(name, value));
const nonNegative = (name: string, value: unknown) => field(() => parseNonNegativeQuantity(name, value));
const instant = (name: string, value: unknown) => field(() => parseInstant(name, value));
const instantText = (name: string, value: unknown) => formatInstant(instant(name, value));
/** An energy register: ≥ 0, at most 3 decimals (mWh), canonical. */
const register = (name: string, value: unknown) => field(() => parseRegister(name, value));

function positive(name: string, value: unknown): Decimal {
  const parsed = nonNegative(name, value);
  if (parsed.isZero()) throw new InvalidSessionRequest(name, 'must be more than 0');
  return parsed;
}

/** A percentage: 0 to 100 (the percent quantity's bound). */
const percent = (name: string, value: unknown): Decimal => field(() => parseNonNegativeQuantity(name, value, 'percent'));

function id(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.trim() !== value || value.length > 200) {
    throw new InvalidSessionRequest(name, 'must be a non-empty text of at most 200 characters, without surrounding spaces');
  }
  return value;
}

const accountId = (name: string, value: unknown): string => field(() => parseId(name, value));

/** Site and node ids (a connector is a node of the site's tree) follow the id rule. */
const siteOrNodeId = (name: 'siteId' | 'connectorId', value: unknown): string => field(() => parseId(name, value));

/** A stop's, a correction's or a reset's reason. */
function reason(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    throw new InvalidSessionRequest('reason', 'must be a non-empty text of at most 200 characters');
  }
  return value.trim();
}

const optional = <T>(value: string | null, parse: (value: string) => T): T | null => (value === null ? null : parse(value));
const str = (value: Decimal | null): string | null => (value === null ? null : toDecimalString(value));

/** Validates a plug-in request field by field and returns the event's data in canonical form. */
function pluggedIn(command: PlugIn): SessionPluggedInData {
  const sessionId = checkSessionId(command.sessionId);
  const siteId = siteOrNodeId('siteId', command.siteId);
  const connectorId = siteOrNodeId('connectorId', command.connectorId);
  const vehicleId = id('vehicleId', command.vehicleId);
  // The customer or the fleet is who pays: an account id, named in its account-<id> stream.
  const customerId = accountId('customerId', command.customerId);
  const fleetId = command.fleetId === null ? null : accountId('fleetId', command.fleetId);
  if (!(TIERS as readonly unknown[]).includes(command.tier)) {
    throw new InvalidSessionRequest('tier', `${JSON.stringify(command.tier)} is not one of ${TIERS.join(', ')}`);
  }
  const tier: Tier = command.tier;
  const atMs = instant('at', command.at);
  const departureMs = instant('departureAt', command.departureAt);
  if (departureMs <= atMs) throw new InvalidSessionRequest('departureAt', `${command.departureAt} is not after ${command.at}: a departure in the past`);

  const minPowerW = nonNegative('minPowerW', command.minPowerW);
  const maxPowerW = positive('maxPowerW', command.maxPowerW);
  if (minPowerW.greaterThan(maxPowerW)) {
    throw new InvalidSessionRequest('minPowerW', `min > max: ${command.minPowerW} W is more than maxPowerW ${command.maxPowerW} W`);
  }

  const batteryCapacityWh = optional(command.batteryCapacityWh, (v) => positive('batteryCapacityWh', v));
  const socPercent = optional(command.socPercent, (v) => percent('socPercent', v));
  let energyNeededWh: Decimal | null = null;
  let targetSocPercent: Decimal | null = null;
  if (command.energyNeededWh !== null && command.targetSocPercent !== null) {
    throw new InvalidSessionRequest('targetSocPercent', 'give either energyNeededWh or targetSocPercent, not both');
  } else if (command.energyNeededWh !== null) {
    energyNeededWh = nonNegative('energyNeededWh', command.energyNeededWh);
  } else if (command.targetSocPercent !== null) {
    targetSocPercent = percent('targetSocPercent', command.targetSocPercent);
    if (batteryCapacityWh === null) throw new InvalidSessionRequest('batteryCapacityWh', 'is required with targetSocPercent');
    if (socPercent === null) throw new InvalidSessionRequest('socPercent', 'is required with targetSocPercent');
    if (targetSocPercent.lessThan(socPercent)) {
      throw new InvalidSessionRequest('targetSocPercent', `${command.targetSocPercent} is below the SoC now (${command.socPercent})`);
    }
  } else {
    throw new InvalidSessionRequest('energyNeededWh', 'give either energyNeededWh or targetSocPercent');
  }

  let v2g: V2gConsent | null = null;
  if (command.v2g !== null) {
    if (batteryCapacityWh === null) throw new InvalidSessionRequest('batteryCapacityWh', 'is required with V2G consent, so the reserve can be kept');
    if (socPercent === null) throw new InvalidSessionRequest('socPercent', 'is required with V2G consent, so the reserve can be kept');
    v2g = {
      minSocPercent: toDecimalString(percent('v2g.minSocPercent', command.v2g.minSocPercent)),
      maxDischargePowerW: toDecimalString(positive('v2g.maxDischargePowerW', command.v2g.maxDischargePowerW)),
    };
  }

  return {
    sessionId,
    siteId,
    connectorId,
    vehicleId,
    customerId,
    fleetId,
    tier,
    departureAt: formatInstant(departureMs),
    energyNeededWh: str(energyNeededWh),
    targetSocPercent: str(targetSocPercent),
    batteryCapacityWh: str(batteryCapacityWh),
    socPercent: str(socPercent),
    minPowerW: toDecimalString(minPowerW),
    maxPowerW: toDecimalString(maxPowerW),
    v2g,
    pluggedInAt: formatInstant(atMs),
    meterStartImportWh: register('meterStartImportWh', command.meterStartImportWh ?? '0'),
    meterStartExportWh: register('meterStartExportWh', command.meterStartExportWh ?? '0'),
  };
}

/** The connector's meter as a register series: segment 0 starts from the meter start at plug-in. */
export function sessionMeterSeries(state: PluggedInSession): RegisterSeries<MeterReading> {
  return {
    origin: { occurredAt: state.pluggedInAt, energyImportWh: state.meterStartImportWh, energyExportWh: state.meterStartExportWh },
    resets: state.meterResets,
    readings: state.readings,
  };
}

/** The segments of the session's meter (one more after each reset), oldest first. */
export const sessionMeterSegments = (state: PluggedInSession): RegisterSegment<MeterReading>[] => segmentsOf(sessionMeterSeries(state));

type MeterCommand = Extract<SessionCommand, { type: 'RecordSessionMeterReading' | 'CorrectSessionMeterReading' | 'ResetSessionMeter' }>;

/**
 * What every meter command checks before the series does: its times (a meter timestamp at most 5
 * minutes after the command's time), and that the session was still open at the meter's time (a
 * reading taken before the stop arrives late and still counts; one taken after it does not).
 */
function meterTimes(state: PluggedInSession, command: MeterCommand): void {
  const atMs = instant('at', command.at);
  const occurredAtMs = instant('occurredAt', command.occurredAt);
  const occurredAt = formatInstant(occurredAtMs);
  checkNotFromFuture({ sessionId: state.sessionId }, occurredAtMs, atMs, occurredAt, formatInstant(atMs));
  if (state.status === 'stopped' && state.stoppedAt !== null && occurredAt > state.stoppedAt) {
    throw new SessionClosed(state.sessionId, state.stoppedAt, command.type);
  }
}

function readingOf(command: Extract<MeterCommand, { powerW: string | null }>, occurredAt: string): MeterReading {
  return {
    occurredAt,
    energyImportWh: register('energyImportWh', command.energyImportWh),
    energyExportWh: register('energyExportWh', command.energyExportWh),
    powerW: str(optional(command.powerW, (v) => decimal('powerW', v))),
    socPercent: str(optional(command.socPercent, (v) => percent('socPercent', v))),
  };
}

function decideMeter(state: PluggedInSession, command: MeterCommand): SessionEvent[] {
  const sessionId = state.sessionId;
  const subject = { sessionId };
  const series = sessionMeterSeries(state);
  switch (command.type) {
    case 'RecordSessionMeterReading': {
      const reading = readingOf(command, instantText('occurredAt', command.occurredAt));
      meterTimes(state, command);
      return field(() => decideReading(series, reading, subject)) ? [{ type: 'SessionMeterReadingRecorded', data: { sessionId, ...reading } }] : [];
    }
    case 'CorrectSessionMeterReading': {
      const reading = readingOf(command, instantText('occurredAt', command.occurredAt));
      const why = reason(command.reason);
      meterTimes(state, command);
      return field(() => decideCorrection(series, reading, subject)) ? [{ type: 'SessionMeterReadingCorrected', data: { sessionId, ...reading, reason: why } }] : [];
    }
    case 'ResetSessionMeter': {
      const start: SegmentStart = {
        occurredAt: instantText('occurredAt', command.occurredAt),
        energyImportWh: register('energyImportWh', command.energyImportWh),
        energyExportWh: register('energyExportWh', command.energyExportWh),
      };
      const why = reason(command.reason);
      meterTimes(state, command);
      return field(() => decideReset(series, start, subject)) ? [{ type: 'SessionMeterReset', data: { sessionId, ...start, reason: why } }] : [];
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

function refuseIfStopped(state: PluggedInSession, command: SessionCommand): void {
  if (state.status === 'stopped') throw new SessionClosed(state.sessionId, state.stoppedAt, command.type);
}

/**
 * The charging session: plug-in with what the driver asks for, suspend and reactivate, stop, a
 * new departure time, and the connector's meter readings (cumulative registers, which may arrive
 * late and out of order).
 */
export const sessionDecider: Decider<SessionState, SessionCommand, SessionEvent> = {
  initialState: () => ({ status: 'none' }),

  decide(command, state) {
    if (command.type === 'PlugIn') {
      const data = pluggedIn(command);
      if (state.status !== 'none') throw new SessionAlreadyExists(data.sessionId);
      return [{ type: 'SessionPluggedIn', data }];
    }
    const sessionId = checkSessionId(command.sessionId);
    if (state.status === 'none') throw new UnknownSession(sessionId);
    switch (command.type) {
      case 'SuspendSession': {
        const at = formatInstant(instant('at', command.at));
        refuseIfStopped(state, command);
        if (state.status !== 'active') throw new InvalidSessionTransition(sessionId, state.status, command.type);
        return [{ type: 'SessionSuspended', data: { sessionId, at } }];
      }
      case 'ReactivateSession': {
        const at = formatInstant(instant('at', command.at));
        refuseIfStopped(state, command);
        if (state.status !== 'suspended') throw new InvalidSessionTransition(sessionId, state.status, command.type);
        return [{ type: 'SessionReactivated', data: { sessionId, at } }];
      }
      case 'StopSession': {
        const at = formatInstant(instant('at', command.at));
        const why = reason(command.reason);
        refuseIfStopped(state, command);
        return [{ type: 'SessionStopped', data: { sessionId, at, reason: why } }];
      }
      case 'ChangeDeparture': {
        const atMs = instant('at', command.at);
        const departureMs = instant('departureAt', command.departureAt);
        refuseIfStopped(state, command);
        if (departureMs <= atMs) {
          throw new InvalidSessionRequest('departureAt', `${command.departureAt} is not after ${command.at}: a departure in the past`);
        }
        const departureAt = formatInstant(departureMs);
        if (departureAt === state.departureAt) return [];
        return [{ type: 'SessionDepartureChanged', data: { sessionId, at: formatInstant(atMs), departureAt } }];
      }
      case 'RecordSessionMeterReading':
      case 'CorrectSessionMeterReading':
      case 'ResetSessionMeter':
        return decideMeter(state, command);
      default: {
        const unreachable: never = command;
        throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
  },

  evolve(state, event) {
    if (event.type === 'SessionPluggedIn') {
      return { ...event.data, status: 'active', stoppedAt: null, lastReading: null, readings: [], meterResets: [] };
    }
    if (state.status === 'none') return state;
    switch (event.type) {
      case 'SessionSuspended':
        return { ...state, status: 'suspended' };
      case 'SessionReactivated':
        return { ...state, status: 'active' };
      case 'SessionStopped':
        return { ...state, status: 'stopped', stoppedAt: event.data.at };
      case 'SessionDepartureChanged':
        return { ...state, departureAt: event.data.departureAt };
      case 'SessionMeterReadingRecorded':
      case 'SessionMeterReadingCorrected': {
        // A recorded reading at an instant that has one replaces it too: the log may hold
        // corrections recorded that way before SessionMeterReadingCorrected existed.
        const { occurredAt, energyImportWh, energyExportWh, powerW, socPercent } = event.data;
        const { readings } = withReading(sessionMeterSeries(state), { occurredAt, energyImportWh, energyExportWh, powerW, socPercent });
        return { ...state, readings, lastReading: readings.at(-1) ?? null };
      }
      case 'SessionMeterReset': {
        const { occurredAt, energyImportWh, energyExportWh } = event.data;
        return { ...state, meterResets: withReset(sessionMeterSeries(state), { occurredAt, energyImportWh, energyExportWh }).resets };
      }
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  },
};

const HUNDRED = new Decimal(100);

/** ceil(a / b) for a, b > 0, exactly (a rounded quotient could hide a remainder). */
function ceilDiv(a: Decimal, b: Decimal): Decimal {
  const quotient = a.divToInt(b);
  return quotient.times(b).lessThan(a) ? quotient.plus(1) : quotient;
}
const ZERO = new Decimal(0);

/**
 * What the allocation needs to know about a session at `atMs` (epoch ms): energy delivered and
 * still needed, SoC (reported, else estimated from the energy delivered), laxity and the average
 * power that would meet the need by departure.
 */
export function sessionNeeds(state: PluggedInSession, atMs: number): SessionNeeds {
  const last = state.lastReading;
  const delivered = deliveredEnergy(sessionMeterSeries(state));
  const deliveredWh = delivered.importWh.minus(delivered.exportWh);
  const capacityWh = state.batteryCapacityWh === null ? null : new Decimal(state.batteryCapacityWh);

  // Energy in the battery now, when it can be told: from a reported SoC, else estimated from the
  // SoC at plug-in plus what was delivered since (bounded by an empty and a full battery).
  let socPercent: Decimal | null = null;
  let storedWh: Decimal | null = null;
  if (last?.socPercent != null) {
    socPercent = new Decimal(last.socPercent);
    if (capacityWh) storedWh = socPercent.times(capacityWh).div(HUNDRED);
  } else if (capacityWh && state.socPercent !== null) {
    storedWh = Decimal.min(capacityWh, Decimal.max(ZERO, new Decimal(state.socPercent).times(capacityWh).div(HUNDRED).plus(deliveredWh)));
    socPercent = storedWh.times(HUNDRED).div(capacityWh);
  }

  let remainingWh: Decimal;
  if (state.energyNeededWh !== null) {
    remainingWh = new Decimal(state.energyNeededWh).minus(deliveredWh);
  } else {
    // A target SoC comes with the capacity and the SoC at plug-in, so storedWh is known.
    const targetWh = new Decimal(state.targetSocPercent ?? 0).times(capacityWh ?? 0).div(HUNDRED);
    remainingWh = targetWh.minus(storedWh ?? 0);
  }
  remainingWh = Decimal.max(ZERO, remainingWh);

  const maxPowerW = new Decimal(state.maxPowerW);
  const secondsToDeparture = new Decimal(parseInstant('departureAt', state.departureAt) - atMs).div(1000);
  const secondsAtFullPower = remainingWh.times(3600).div(maxPowerW);
  let requiredPowerW: Decimal;
  if (remainingWh.isZero()) requiredPowerW = ZERO;
  else if (secondsToDeparture.lessThanOrEqualTo(0)) requiredPowerW = maxPowerW;
  else requiredPowerW = Decimal.min(maxPowerW, ceilDiv(remainingWh.times(3600), secondsToDeparture));

  return {
    deliveredWh: toDecimalString(deliveredWh),
    remainingWh: toDecimalString(remainingWh),
    socPercent: socPercent === null ? null : toDecimalString(socPercent),
    laxityS: secondsToDeparture.minus(secondsAtFullPower).toNumber(),
    requiredPowerW: toDecimalString(requiredPowerW),
  };
}
