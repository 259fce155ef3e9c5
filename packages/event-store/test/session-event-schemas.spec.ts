import { sessionDecider, type PlugIn, type SessionCommand, type SessionEvent } from '@v2g/domain';
import { describe, expect, it } from 'vitest';
import { EventSchemaViolation } from '../src/errors.ts';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { emitted, expectRefused } from './event-schema-checks.ts';

const SESSION_EVENT_TYPES: SessionEvent['type'][] = [
  'SessionPluggedIn',
  'SessionSuspended',
  'SessionReactivated',
  'SessionStopped',
  'SessionDepartureChanged',
  'SessionMeterReadingRecorded',
  'SessionMeterReadingCorrected',
  'SessionMeterReset',
];

const plugIn: PlugIn = {
  type: 'PlugIn',
  sessionId: 'schema-1',
  siteId: 'depot',
  connectorId: 'depot.charger-1:1',
  at: '2026-11-27T17:00Z',
  vehicleId: 'WVW-123',
  customerId: 'cust-9',
  fleetId: 'fleet-3',
  tier: 'high',
  departureAt: '2026-11-28T07:30:00.25Z',
  energyNeededWh: null,
  targetSocPercent: '80.0',
  batteryCapacityWh: '77000',
  socPercent: '21.5',
  minPowerW: '1380',
  maxPowerW: '11000.0',
  v2g: { minSocPercent: '40', maxDischargePowerW: '7400' },
  meterStartImportWh: '123456.7',
  meterStartExportWh: null,
};

const reading = (occurredAt: string, energyImportWh: string, extra: Partial<Extract<SessionCommand, { type: 'RecordSessionMeterReading' }>> = {}): SessionCommand => ({
  type: 'RecordSessionMeterReading',
  sessionId: 'schema-1',
  at: '2026-11-27T23:00Z',
  occurredAt,
  energyImportWh,
  energyExportWh: '0',
  powerW: null,
  socPercent: null,
  ...extra,
});

describe('session events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for every session event', () => {
    for (const type of SESSION_EVENT_TYPES) expect(registry.latestVersion(type)).toBe(1);
  });

  it('accepts every event the decider emits', () => {
    const events = emitted(sessionDecider, [
      plugIn,
      reading('2026-11-27T17:15Z', '125000', { powerW: '7350.25', socPercent: '24' }),
      reading('2026-11-27T17:10Z', '124000', { powerW: '-3000', socPercent: '100' }),
      reading('2026-11-27T17:20Z', '125000.125', { energyExportWh: '0.5' }),
      {
        type: 'CorrectSessionMeterReading',
        sessionId: 'schema-1',
        at: '2026-11-27T23:00Z',
        occurredAt: '2026-11-27T17:15Z',
        energyImportWh: '124999.999',
        energyExportWh: '0',
        powerW: null,
        socPercent: '24.5',
        reason: 'meter re-read on site',
      },
      {
        type: 'ResetSessionMeter',
        sessionId: 'schema-1',
        at: '2026-11-27T23:00Z',
        occurredAt: '2026-11-27T17:30Z',
        energyImportWh: '0',
        energyExportWh: '12.001',
        reason: 'meter replaced',
      },
      reading('2026-11-27T17:45Z', '1500', { energyExportWh: '12.001' }),
      { type: 'SuspendSession', sessionId: 'schema-1', at: '2026-11-27T18:00Z' },
      { type: 'ReactivateSession', sessionId: 'schema-1', at: '2026-11-27T18:05:00.001Z' },
      { type: 'ChangeDeparture', sessionId: 'schema-1', at: '2026-11-27T18:10Z', departureAt: '2026-11-28T06:00Z' },
      { type: 'StopSession', sessionId: 'schema-1', at: '2026-11-27T19:00Z', reason: 'EVDisconnected' },
      reading('2026-11-27T18:59:59.999Z', '4000.5', { energyExportWh: '12.001' }),
    ]);
    // A plug-in with the nulls the first one has not.
    const other = emitted(sessionDecider, [
      { ...plugIn, sessionId: 'schema-2', fleetId: null, energyNeededWh: '15000', targetSocPercent: null, batteryCapacityWh: null, socPercent: null, v2g: null, minPowerW: '0' },
    ]);
    expect(new Set([...events, ...other].map((e) => e.type))).toEqual(new Set(SESSION_EVENT_TYPES));
    for (const event of [...events, ...other]) expect(() => registry.validate(event.type, 1, event.data), event.type).not.toThrow();
  });

  it('refuses what the decider never emits', () => {
    const [pluggedIn] = emitted(sessionDecider, [plugIn]) as [Extract<SessionEvent, { type: 'SessionPluggedIn' }>];
    const refusals: [string, Record<string, unknown>, string][] = [
      ['an instant without milliseconds', { ...pluggedIn.data, pluggedInAt: '2026-11-27T17:00:00Z' }, '/pluggedInAt'],
      ['an extra field', { ...pluggedIn.data, colour: 'red' }, '/colour'],
      ['a missing field', { ...pluggedIn.data, meterStartExportWh: undefined }, '/meterStartExportWh'],
      ['a negative energy', { ...pluggedIn.data, meterStartImportWh: '-1' }, '/meterStartImportWh'],
      ['a SoC over 100', { ...pluggedIn.data, socPercent: '100.5' }, '/socPercent'],
      ['a maximum power of 0', { ...pluggedIn.data, maxPowerW: '0' }, '/maxPowerW'],
      ['an unknown tier', { ...pluggedIn.data, tier: 'vip' }, '/tier'],
      ['a number for a power', { ...pluggedIn.data, minPowerW: 1380 }, '/minPowerW'],
    ];
    for (const [what, data, field] of refusals) {
      const defined = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
      expectRefused(registry, 'SessionPluggedIn', defined, what, field);
    }
    expect(() =>
      registry.validate('SessionMeterReadingRecorded', 1, {
        sessionId: 'x',
        occurredAt: '2026-11-27T17:00:00.000Z',
        energyImportWh: '1',
        energyExportWh: '0',
        powerW: '-1.5',
        socPercent: null,
        extra: 1,
      }),
    ).toThrow(EventSchemaViolation);
    const correctedData = { sessionId: 'x', occurredAt: '2026-11-27T17:00:00.000Z', energyImportWh: '1', energyExportWh: '0', powerW: null, socPercent: null, reason: 'r' };
    const resetData = { sessionId: 'x', occurredAt: '2026-11-27T17:00:00.000Z', energyImportWh: '1', energyExportWh: '0', reason: 'r' };
    const moreRefusals: [string, Record<string, unknown>, string][] = [
      ['SessionMeterReadingCorrected', { ...correctedData, energyImportWh: '1.0001' }, '/energyImportWh'],
      ['SessionMeterReadingCorrected', { ...correctedData, reason: '' }, '/reason'],
      ['SessionMeterReadingCorrected', { ...correctedData, occurredAt: '2026-11-27T17:00Z' }, '/occurredAt'],
      ['SessionMeterReset', { ...resetData, energyExportWh: '-1' }, '/energyExportWh'],
      ['SessionMeterReset', { ...resetData, energyImportWh: '0.1234' }, '/energyImportWh'],
      ['SessionMeterReset', { ...resetData, powerW: null }, '/powerW'],
    ];
    for (const [type, data, field] of moreRefusals) expectRefused(registry, type, data, `${type} ${field}`, field);
    expect(() => registry.validate('SessionMeterReadingCorrected', 1, correctedData)).not.toThrow();
    expect(() => registry.validate('SessionMeterReset', 1, resetData)).not.toThrow();
  });
});
