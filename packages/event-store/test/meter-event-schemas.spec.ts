import { meterDecider, type MeterCommand, type MeterEvent } from '@v2g/domain';
import { describe, expect, it } from 'vitest';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { emitted, expectRefused } from './event-schema-checks.ts';

const METER_EVENT_TYPES: MeterEvent['type'][] = ['MeterRegistered', 'MeterReadingRecorded', 'MeterReadingCorrected', 'MeterReset'];

const M = 'depot.pv:1';
const AT = '2026-11-27T23:00Z';
const reading = (occurredAt: string, energyImportWh: string, energyExportWh: string, powerW: string | null = null): MeterCommand => ({
  type: 'RecordMeterReading',
  meterId: M,
  at: AT,
  occurredAt,
  energyImportWh,
  energyExportWh,
  powerW,
});

describe('meter events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for every meter event', () => {
    for (const type of METER_EVENT_TYPES) expect(registry.latestVersion(type)).toBe(1);
  });

  it('accepts every event the decider emits, for every kind of meter', () => {
    const events = (['building_load', 'generation', 'storage'] as const).flatMap((measures, i) =>
      emitted(meterDecider, [
        { type: 'RegisterMeter', meterId: `${M}-${i}`, at: '2026-11-27T08:00Z', siteId: 'depot', nodeId: 'depot', measures },
        { ...reading('2026-11-27T10:00Z', '0', '0'), meterId: `${M}-${i}` } as MeterCommand,
      ]),
    );
    events.push(
      ...emitted(meterDecider, [
        { type: 'RegisterMeter', meterId: M, at: '2026-11-27T08:00:00.5Z', siteId: 'depot', nodeId: 'feeder-1', measures: 'storage' },
        reading('2026-11-27T12:00Z', '12345.678', '0.001', '-7400.25'),
        reading('2026-11-27T11:00Z', '12000', '0', '3000'),
        { type: 'CorrectMeterReading', meterId: M, at: AT, occurredAt: '2026-11-27T11:00Z', energyImportWh: '12000.5', energyExportWh: '0', powerW: null, reason: 'misread' },
        { type: 'ResetMeter', meterId: M, at: AT, occurredAt: '2026-11-27T13:00Z', energyImportWh: '0', energyExportWh: '99.999', reason: 'meter replaced' },
        reading('2026-11-27T14:00Z', '100', '100'),
      ]),
    );
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(METER_EVENT_TYPES));
    for (const event of events) expect(() => registry.validate(event.type, 1, event.data), event.type).not.toThrow();
  });

  it('refuses what the decider never emits', () => {
    const registeredData = { meterId: M, siteId: 'depot', nodeId: 'f1', measures: 'generation', registeredAt: '2026-11-27T08:00:00.000Z' };
    const readingData = { meterId: M, occurredAt: '2026-11-27T10:00:00.000Z', energyImportWh: '1', energyExportWh: '0', powerW: null };
    const resetData = { meterId: M, occurredAt: '2026-11-27T10:00:00.000Z', energyImportWh: '1', energyExportWh: '0', reason: 'replaced' };
    const refusals: [string, Record<string, unknown>, string][] = [
      ['MeterRegistered', { ...registeredData, measures: 'wind' }, '/measures'],
      ['MeterRegistered', { ...registeredData, siteId: 'my depot' }, '/siteId'],
      ['MeterRegistered', { ...registeredData, registeredAt: '2026-11-27T08:00:00Z' }, '/registeredAt'],
      ['MeterReadingRecorded', { ...readingData, energyImportWh: '1.0001' }, '/energyImportWh'],
      ['MeterReadingRecorded', { ...readingData, energyExportWh: 0 }, '/energyExportWh'],
      ['MeterReadingRecorded', { ...readingData, socPercent: null }, '/socPercent'],
      ['MeterReadingCorrected', readingData, '/reason'],
      ['MeterReadingCorrected', { ...readingData, powerW: '1e3', reason: 'r' }, '/powerW'],
      ['MeterReset', { ...resetData, reason: '' }, '/reason'],
      ['MeterReset', { ...resetData, energyImportWh: '-0.5' }, '/energyImportWh'],
    ];
    for (const [type, data, field] of refusals) expectRefused(registry, type, data, `${type} ${field}`, field);
    expect(() => registry.validate('MeterRegistered', 1, registeredData)).not.toThrow();
    expect(() => registry.validate('MeterReadingRecorded', 1, readingData)).not.toThrow();
    expect(() => registry.validate('MeterReset', 1, resetData)).not.toThrow();
  });
});
