import { SITE_EVENT_TYPES, siteDecider, type ChargerSpec, type SiteCommand, type SiteEvent } from '@v2g/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventSchemaViolation } from '../src/errors.ts';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { emitted } from './event-schema-checks.ts';

const S = 'depot.north:1';
const BIDI: ChargerSpec = { minPowerW: '1380.5', maxPowerW: '22000.0', bidirectional: true, minDischargePowerW: '0', maxDischargePowerW: '11000' };
const UNI: ChargerSpec = { minPowerW: '0', maxPowerW: '7400', bidirectional: false, minDischargePowerW: null, maxDischargePowerW: null };

const node = (
  nodeId: string,
  parentId: string,
  kind: 'feeder' | 'circuit' | 'charger' | 'connector',
  charger: ChargerSpec | null = null,
): Extract<SiteCommand, { type: 'AddNode' }> => ({
  type: 'AddNode',
  siteId: S,
  at: '2026-11-27T17:00Z',
  nodeId,
  parentId,
  kind,
  name: ` ${nodeId} ü `,
  importLimitW: '40000.25',
  exportLimitW: '20000.000',
  charger,
});

/** Every site event type, with the nulls and edge values the decider can produce. */
function everySiteEvent(): SiteEvent[] {
  return emitted(siteDecider, [
    { type: 'RegisterSite', siteId: S, name: 'North depot', importLimitW: '250000', exportLimitW: '100000.5' },
    { type: 'RenameSite', siteId: S, name: 'North' },
    { type: 'ConfigureSite', siteId: S, rotationIntervalS: 60, promoteAfterS: 86_400, dischargePriceThresholdMinorPerKWh: '-2.50', priceZone: 'DE-LU' },
    { type: 'ConfigureSite', siteId: S, rotationIntervalS: 86_400, promoteAfterS: 86_400, dischargePriceThresholdMinorPerKWh: null, priceZone: null },
    node('f1', S, 'feeder'),
    { ...node('c1', 'f1', 'circuit'), importLimitW: '60000', exportLimitW: '30000' },
    { ...node('ch1', 'c1', 'charger', BIDI), importLimitW: '44000', exportLimitW: '22000' },
    { ...node('k1', 'ch1', 'connector'), importLimitW: '22000', exportLimitW: '11000' },
    { ...node('k2', 'ch1', 'connector'), importLimitW: '22000', exportLimitW: '11000' },
    node('ch2', S, 'charger', UNI),
    node('k3', 'ch2', 'connector'),
    { type: 'ChangeNodeLimits', siteId: S, at: '2026-11-27T17:00Z', nodeId: 'ch2', importLimitW: '7400', exportLimitW: '0' },
    { type: 'ChangeCharger', siteId: S, at: '2026-11-27T17:00Z', nodeId: 'ch2', charger: { ...UNI, maxPowerW: '7000' } },
    { type: 'RemoveNode', siteId: S, at: '2026-11-27T17:00Z', nodeId: 'k3' },
    { type: 'RecordNodeLoad', siteId: S, at: '2026-11-27T17:00Z', nodeId: 'f1', occurredAt: '2026-11-27T16:59:59.5Z', otherLoadW: '1234.567', generationW: '0' },
    {
      type: 'AddCongestionRule',
      siteId: S,
      at: '2026-11-27T17:00Z',
      rule: {
        ruleId: 'dso:42',
        priority: -3,
        scope: { kind: 'area', areaId: 'nl-ams-3' },
        window: { start: '2026-11-27T18:00Z', end: null, daysOfWeek: [7, 1], dailyFrom: '22:00', dailyTo: '06:00' },
        importCapW: null,
        exportCapW: '0',
        reason: null,
        source: null,
      },
    },
    {
      type: 'AddCongestionRule',
      siteId: S,
      at: '2026-11-27T17:00Z',
      rule: {
        ruleId: 'feeder-maintenance',
        priority: 100,
        scope: { kind: 'node', nodeId: 'f1' },
        window: { start: '2026-11-28T00:00Z', end: '2026-11-28T12:00:00.001Z', daysOfWeek: null, dailyFrom: null, dailyTo: null },
        importCapW: '30000.5',
        exportCapW: null,
        reason: 'transformer works',
        source: 'dso:req-7',
      },
    },
    { type: 'RemoveCongestionRule', siteId: S, at: '2026-11-27T17:00Z', ruleId: 'dso:42' },
    {
      type: 'RequestDischarge',
      siteId: S,
      at: '2026-11-27T17:00Z',
      requestId: 'flex-1',
      nodeId: 'c1',
      start: '2026-11-27T18:00Z',
      end: '2026-11-27T19:00Z',
      powerW: '15000.5',
      source: 'dso',
    },
    {
      type: 'RequestDischarge',
      siteId: S,
      at: '2026-11-27T17:00Z',
      requestId: 'flex-2',
      nodeId: S,
      start: '2026-11-27T16:00Z',
      end: '2026-11-27T19:00Z',
      powerW: '1',
      source: null,
    },
    { type: 'CancelDischargeRequest', siteId: S, at: '2026-11-27T17:00Z', requestId: 'flex-1' },
    { type: 'OccupyConnector', siteId: S, at: '2026-11-27T17:01Z', connectorId: 'k1', sessionId: 'c0ffee-1', minPowerW: '0', maxPowerW: '30000', maxDischargePowerW: '7400.5' },
    { type: 'OccupyConnector', siteId: S, at: '2026-11-27T17:01Z', connectorId: 'k2', sessionId: 'c0ffee-2', minPowerW: '1000', maxPowerW: '11000', maxDischargePowerW: null },
    {
      type: 'AssignSetpoints',
      siteId: S,
      at: '2026-11-27T17:02Z',
      trigger: 'plug_in',
      setpoints: [
        { sessionId: 'c0ffee-1', powerW: '-7400.5', status: 'discharging', reason: 'discharge:request:flex-2' },
        { sessionId: 'c0ffee-2', powerW: '0', status: 'on_hold', reason: null },
      ],
    },
    {
      type: 'AssignSetpoints',
      siteId: S,
      at: '2026-11-27T17:03Z',
      trigger: 'rotation',
      setpoints: [
        { sessionId: 'c0ffee-1', powerW: '0', status: 'done', reason: 'energy_delivered' },
        { sessionId: 'c0ffee-2', powerW: '11000.0', status: 'charging', reason: null },
      ],
    },
    // Curtailment: the circuit drops below what c0ffee-2 draws.
    { type: 'ChangeNodeLimits', siteId: S, at: '2026-11-27T17:04Z', nodeId: 'c1', importLimitW: '5000', exportLimitW: '5000' },
    { type: 'ReleaseConnector', siteId: S, at: '2026-11-27T17:05Z', connectorId: 'k2', sessionId: 'c0ffee-2' },
  ]);
}

describe('site events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for every site event', () => {
    for (const type of SITE_EVENT_TYPES) expect(registry.latestVersion(type)).toBe(1);
  });

  it('accepts every event the decider emits, and the scenario emits every type', () => {
    const events = everySiteEvent();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(SITE_EVENT_TYPES));
    const curtailment = events.find((e) => e.type === 'SetpointsAssigned' && e.data.trigger === 'curtailment');
    expect(curtailment).toBeDefined();
    for (const event of events) expect(() => registry.validate(event.type, 1, event.data), JSON.stringify(event)).not.toThrow();
  });

  it('accepts what the decider emits for random limits, powers and names (property)', () => {
    const decimal = fc.oneof(
      fc.bigInt({ min: 0n, max: 10n ** 12n }).map(String),
      fc.tuple(fc.nat({ max: 1_000_000 }), fc.stringMatching(/^[0-9]{1,6}$/)).map(([i, f]) => `${i}.${f}`),
    );
    fc.assert(
      fc.property(decimal, decimal, decimal, fc.string({ minLength: 1, maxLength: 200 }), (a, b, c, name) => {
        let events: SiteEvent[];
        try {
          events = emitted(siteDecider, [
            { type: 'RegisterSite', siteId: S, name, importLimitW: a, exportLimitW: b },
            { type: 'AddNode', siteId: S, at: '2026-11-27T17:00Z', nodeId: 'n1', parentId: S, kind: 'feeder', name, importLimitW: c, exportLimitW: a, charger: null },
            { type: 'RecordNodeLoad', siteId: S, at: '2026-11-27T17:00Z', nodeId: 'n1', occurredAt: '2026-11-27T17:00Z', otherLoadW: b, generationW: c },
          ]);
        } catch {
          return; // a refused command emits nothing to validate
        }
        for (const event of events) registry.validate(event.type, 1, event.data);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses data the decider would never emit', () => {
    const [registered] = everySiteEvent();
    expect(registered?.type).toBe('SiteRegistered');
    const occupied = { siteId: S, connectorId: 'k1', sessionId: 's1', at: '2026-11-27T17:00:00.000Z', minPowerW: '0', maxPowerW: '22000', maxDischargePowerW: null };
    registry.validate('ConnectorOccupied', 1, occupied);
    expect(() => registry.validate('ConnectorOccupied', 1, { ...occupied, maxPowerW: 22000 })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('ConnectorOccupied', 1, { ...occupied, at: '2026-11-27T17:00Z' })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('ConnectorOccupied', 1, { ...occupied, extra: true })).toThrow(EventSchemaViolation);
    const assigned = { siteId: S, at: '2026-11-27T17:00:00.000Z', trigger: 't', setpoints: [{ sessionId: 's1', powerW: '-5', status: 'discharging', reason: null }] };
    registry.validate('SetpointsAssigned', 1, assigned);
    expect(() => registry.validate('SetpointsAssigned', 1, { ...assigned, setpoints: [] })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('SetpointsAssigned', 1, { ...assigned, setpoints: [{ ...assigned.setpoints[0], status: 'pending' }] })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('NodeLimitsChanged', 1, { siteId: S, nodeId: 'n', importLimitW: '-1', exportLimitW: '0' })).toThrow(EventSchemaViolation);
  });
});
