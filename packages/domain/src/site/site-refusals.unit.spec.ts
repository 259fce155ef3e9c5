/**
 * The refusal lists of SITE_REFUSALS against the decider itself: every command type, with fields
 * drawn from pools of good, unknown and malformed values, against an unregistered site and a
 * site with a tree, an occupied connector, a rule and a discharge request. Any refusal a list
 * lacks fails here (the API's result unions are built from these lists).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refusalsMet } from '../../test/refusals.ts';
import { formatInstant, parseInstant } from '../values/index.ts';
import { SITE_REFUSALS } from './site-refusals.ts';
import { foldSiteEvents, siteDecider, type SiteCommand, type SiteState } from './site.ts';

const T0_MS = parseInstant('t', '2026-11-27T17:00:00Z');
const T0 = formatInstant(T0_MS);
const at = (minutes: number) => formatInstant(T0_MS + minutes * 60_000);

const BIDIRECTIONAL = { minPowerW: '1400', maxPowerW: '22000', bidirectional: true, minDischargePowerW: '1000', maxDischargePowerW: '11000' };
const ONE_WAY = { minPowerW: '4140', maxPowerW: '11000', bidirectional: false, minDischargePowerW: null, maxDischargePowerW: null };

/** A registered site: feeder f1, bidirectional charger c1 with connectors k1 (s1 plugged in) and k2, rule r1, discharge request d1. */
function builtSite(): SiteState {
  const commands: SiteCommand[] = [
    { type: 'RegisterSite', siteId: 'p', name: 'P', importLimitW: '100000', exportLimitW: '50000' },
    { type: 'AddNode', siteId: 'p', at: T0, nodeId: 'f1', parentId: 'p', kind: 'feeder', name: 'F1', importLimitW: '60000', exportLimitW: '30000', charger: null },
    { type: 'AddNode', siteId: 'p', at: T0, nodeId: 'c1', parentId: 'f1', kind: 'charger', name: 'C1', importLimitW: '22000', exportLimitW: '11000', charger: BIDIRECTIONAL },
    { type: 'AddNode', siteId: 'p', at: T0, nodeId: 'k1', parentId: 'c1', kind: 'connector', name: 'K1', importLimitW: '22000', exportLimitW: '11000', charger: null },
    { type: 'AddNode', siteId: 'p', at: T0, nodeId: 'k2', parentId: 'c1', kind: 'connector', name: 'K2', importLimitW: '22000', exportLimitW: '11000', charger: null },
    { type: 'OccupyConnector', siteId: 'p', at: T0, connectorId: 'k1', sessionId: 's1', minPowerW: '1400', maxPowerW: '11000', maxDischargePowerW: '5000' },
    {
      type: 'AddCongestionRule',
      siteId: 'p',
      at: T0,
      rule: {
        ruleId: 'r1',
        priority: 1,
        scope: { kind: 'node', nodeId: 'f1' },
        window: { start: T0, end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null },
        importCapW: '40000',
        exportCapW: null,
        reason: null,
        source: null,
      },
    },
    { type: 'RequestDischarge', siteId: 'p', at: T0, requestId: 'd1', nodeId: 'f1', start: T0, end: at(60), powerW: '5000', source: null },
  ];
  let state = siteDecider.initialState();
  for (const command of commands) state = foldSiteEvents(state, siteDecider.decide(command, state));
  expect(state.status).toBe('registered');
  return state;
}

// Weighted toward what gets past the input checks, so that the state's refusals are reached too.
const siteId = fc.constantFrom('p', 'p', 'p', 'p', 'other', 'bad id!');
const id = fc.constantFrom('p', 'f1', 'c1', 'k1', 'k2', 's1', 's2', 'r1', 'r2', 'd1', 'd2', 'nope', 'bad id!', '');
const watts = fc.constantFrom('0', '100', '1400', '4140', '5000', '11000', '22000', '-5', 'abc', '99999999');
const optionalWatts = fc.option(watts, { nil: null });
const time = fc.constantFrom(T0, at(1), at(-60), at(60), at(60 * 24), 'not-a-time');
const kind = fc.constantFrom('feeder', 'circuit', 'charger', 'connector', 'site', 'bogus') as fc.Arbitrary<'feeder'>;
const charger = fc.constantFrom(
  null,
  null,
  null,
  ONE_WAY,
  BIDIRECTIONAL,
  { ...ONE_WAY, minPowerW: '30000' },
  { ...ONE_WAY, maxPowerW: '100' },
  { ...ONE_WAY, bidirectional: true },
) as fc.Arbitrary<typeof ONE_WAY | null>;
const rule = fc.record({
  ruleId: id,
  priority: fc.constantFrom(0, 1, 1.5),
  scope: fc.oneof(fc.record({ kind: fc.constant('node' as const), nodeId: id }), fc.constant({ kind: 'area' as const, areaId: 'a1' })),
  window: fc.record({ start: time, end: fc.option(time, { nil: null }), daysOfWeek: fc.constant(null), dailyFrom: fc.constant(null), dailyTo: fc.constant(null) }),
  importCapW: optionalWatts,
  exportCapW: optionalWatts,
  reason: fc.constant(null),
  source: fc.constant(null),
});
const setpoint = fc.record({
  sessionId: id,
  powerW: fc.constantFrom('0', '5000', '-3000', '11000', '50000', '-20000'),
  status: fc.constantFrom('charging', 'discharging', 'on_hold', 'done', 'bogus'),
});

const command = fc.oneof(
  fc.record({ type: fc.constant('RegisterSite' as const), siteId, name: fc.constantFrom('P', ''), importLimitW: watts, exportLimitW: watts }),
  fc.record({ type: fc.constant('RenameSite' as const), siteId, name: fc.constantFrom('Q', '') }),
  fc.record({
    type: fc.constant('ConfigureSite' as const),
    siteId,
    rotationIntervalS: fc.constantFrom(30, 60, 900),
    promoteAfterS: fc.constantFrom(0, 900, 3600),
    dischargePriceThresholdMinorPerKWh: fc.constantFrom(null, '30', 'x'),
    priceZone: fc.constantFrom(null, 'NL', 'bad zone!'),
  }),
  fc.record({
    type: fc.constant('AddNode' as const),
    siteId,
    at: time,
    nodeId: id,
    parentId: id,
    kind,
    name: fc.constantFrom('N', 'N', 'N', ''),
    importLimitW: watts,
    exportLimitW: watts,
    charger,
  }),
  fc.record({ type: fc.constant('ChangeNodeLimits' as const), siteId, at: time, nodeId: id, importLimitW: watts, exportLimitW: watts }),
  fc.record({ type: fc.constant('ChangeCharger' as const), siteId, at: time, nodeId: id, charger: charger.map((c) => c ?? ONE_WAY) }),
  fc.record({ type: fc.constant('RemoveNode' as const), siteId, at: time, nodeId: id }),
  fc.record({ type: fc.constant('RecordNodeLoad' as const), siteId, at: time, nodeId: id, occurredAt: time, otherLoadW: watts, generationW: watts }),
  fc.record({ type: fc.constant('AddCongestionRule' as const), siteId, at: time, rule }),
  fc.record({ type: fc.constant('RemoveCongestionRule' as const), siteId, at: time, ruleId: id }),
  fc.record({ type: fc.constant('RequestDischarge' as const), siteId, at: time, requestId: id, nodeId: id, start: time, end: time, powerW: watts, source: fc.constant(null) }),
  fc.record({ type: fc.constant('CancelDischargeRequest' as const), siteId, at: time, requestId: id }),
  fc.record({
    type: fc.constant('OccupyConnector' as const),
    siteId,
    at: time,
    connectorId: id,
    sessionId: id,
    minPowerW: watts,
    maxPowerW: watts,
    maxDischargePowerW: optionalWatts,
  }),
  fc.record({ type: fc.constant('ReleaseConnector' as const), siteId, at: time, connectorId: id, sessionId: id }),
  fc.record({ type: fc.constant('AssignSetpoints' as const), siteId, at: time, trigger: fc.constant('test'), setpoints: fc.array(setpoint, { maxLength: 3 }) }),
) as fc.Arbitrary<SiteCommand>;

describe('SITE_REFUSALS', () => {
  const states = [siteDecider.initialState(), builtSite()];

  it('lists every refusal the decider makes, per command', () => {
    const seen = refusalsMet({
      decide: siteDecider.decide,
      stateAt: (which) => states[which]!,
      which: fc.constantFrom(0, 1, 1, 1),
      command,
      refusals: SITE_REFUSALS,
      numRuns: 20_000,
      seed: 20_261_207,
    });
    // The generators reach the refusals that tell commands apart (not only malformed input).
    expect(seen.get('AddNode')).toEqual(new Set(['InvalidCommand', 'UnknownSite', 'NodeAlreadyExists', 'UnknownNode', 'InvalidNodePlacement']));
    expect([...(seen.get('RequestDischarge') ?? [])]).toContain('DischargeRequestAlreadyExists');
  });

  it('keeps the site family apart: adding a node cannot meet a discharge request, nor removing a rule a node', () => {
    expect(SITE_REFUSALS.AddNode.map((c) => c.name)).not.toContain('DischargeRequestAlreadyExists');
    expect(SITE_REFUSALS.RemoveCongestionRule.map((c) => c.name)).not.toContain('UnknownNode');
  });
});
