import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { addNode, assign, at, BIDI, curtailment, depot, occupy, register, registeredOf, run, SITE, T0, UNI } from '../../test/site-fixtures.ts';
import { InvalidCommand } from '../errors.ts';
import {
  CannotRemoveRoot,
  ConnectorInUse,
  InvalidNodePlacement,
  NoCommonPower,
  NodeAlreadyExists,
  NodeHasChildren,
  NotACharger,
  ReadingFromFuture,
  UnknownNode,
} from './site-errors.ts';
import { siteDecider, UnknownSite, type SiteCommand, type SiteEvent } from './site.ts';

const given = givenFor(siteDecider);
const registered = run([register]);

describe('site decider: registration and configuration', () => {
  it('starts a site with its root node and default settings', () => {
    const site = registeredOf(registered);
    expect(site).toMatchObject({ siteId: SITE, rotationIntervalS: 900, promoteAfterS: 3600, dischargePriceThresholdMinorPerKWh: null, lastAllocationAt: null });
    expect(site.nodes.get(SITE)).toEqual({
      nodeId: SITE,
      parentId: null,
      kind: 'site',
      name: 'Depot 1',
      importLimitW: '100000',
      exportLimitW: '50000',
      charger: null,
      children: [],
    });
    expect([site.loads.size, site.rules.size, site.dischargeRequests.size, site.sessions.size, site.connectors.size]).toEqual([0, 0, 0, 0, 0]);
  });

  it('renaming the site renames its root node', () => {
    const site = registeredOf(run([{ type: 'RenameSite', siteId: SITE, name: 'North' }], registered));
    expect(site.nodes.get(SITE)?.name).toBe('North');
  });

  const configure: SiteCommand = { type: 'ConfigureSite', siteId: SITE, rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: '25.50', priceZone: 'NL' };

  it('configures rotation, promotion and the discharge price threshold', () => {
    given(registered)
      .when(configure)
      .then([{ type: 'SiteConfigured', data: { siteId: SITE, rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: '25.5', priceZone: 'NL' } }]);
    expect(registeredOf(run([configure], registered))).toMatchObject({ rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: '25.5' });
    given(run([configure], registered))
      .when(configure)
      .then([]);
    given(registered)
      .when({ ...configure, dischargePriceThresholdMinorPerKWh: '-3' })
      .then([{ type: 'SiteConfigured', data: { siteId: SITE, rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: '-3', priceZone: 'NL' } }]);
  });

  it('refuses a rotation outside 60..86400 s, fractions, and promotion before one rotation', () => {
    given(registered)
      .when({ ...configure, rotationIntervalS: 59 })
      .thenThrows(InvalidCommand, { field: 'rotationIntervalS' });
    given(registered)
      .when({ ...configure, rotationIntervalS: 86_401, promoteAfterS: 90_000 })
      .thenThrows(InvalidCommand, { field: 'rotationIntervalS' });
    given(registered)
      .when({ ...configure, rotationIntervalS: 600.5 })
      .thenThrows(InvalidCommand, { field: 'rotationIntervalS' });
    given(registered)
      .when({ ...configure, promoteAfterS: 599 })
      .thenThrows(InvalidCommand, { field: 'promoteAfterS' });
    given(registered)
      .when({ ...configure, promoteAfterS: 1800.5 })
      .thenThrows(InvalidCommand, { field: 'promoteAfterS' });
    given(registered)
      .when({ ...configure, dischargePriceThresholdMinorPerKWh: '1e3' })
      .thenThrows(InvalidCommand, { field: 'dischargePriceThresholdMinorPerKWh' });
    given(registered)
      .when({ ...configure, priceZone: null })
      .thenThrows(InvalidCommand, { field: 'priceZone' });
    given(registered)
      .when({ ...configure, priceZone: 'has space' })
      .thenThrows(InvalidCommand, { field: 'priceZone' });
    given([]).when(configure).thenThrows(UnknownSite, { siteId: SITE });
    given(registered)
      .when({ ...configure, siteId: 'other' })
      .thenThrows(InvalidCommand, { field: 'siteId' });
  });

  it('accepts the bounds 60 s and 86400 s', () => {
    given(registered)
      .when({ ...configure, rotationIntervalS: 60, promoteAfterS: 60 })
      .then([{ type: 'SiteConfigured', data: { siteId: SITE, rotationIntervalS: 60, promoteAfterS: 60, dischargePriceThresholdMinorPerKWh: '25.5', priceZone: 'NL' } }]);
    given(registered)
      .when({ ...configure, rotationIntervalS: 86_400, promoteAfterS: 86_400 })
      .then([{ type: 'SiteConfigured', data: { siteId: SITE, rotationIntervalS: 86_400, promoteAfterS: 86_400, dischargePriceThresholdMinorPerKWh: '25.5', priceZone: 'NL' } }]);
  });
});

describe('site decider: AddNode', () => {
  it('adds feeders, circuits (any depth), chargers and connectors, normalising limits', () => {
    given(registered)
      .when(addNode('f1', SITE, 'feeder', '60000.0', '30000'))
      .then([{ type: 'NodeAdded', data: { siteId: SITE, nodeId: 'f1', parentId: SITE, kind: 'feeder', name: 'F1', importLimitW: '60000', exportLimitW: '30000', charger: null } }]);
    const tree = depot();
    const site = registeredOf(tree);
    expect(site.nodes.get(SITE)?.children).toEqual(['f1', 'ch2']);
    expect(site.nodes.get('ch1')).toMatchObject({ parentId: 'c1', kind: 'charger', charger: BIDI, children: ['k1', 'k2'] });
    expect(site.nodes.get('k1')).toMatchObject({ parentId: 'ch1', kind: 'connector', charger: null, children: [] });
    given(tree)
      .when(addNode('c2', 'c1', 'circuit'))
      .then([
        { type: 'NodeAdded', data: { siteId: SITE, nodeId: 'c2', parentId: 'c1', kind: 'circuit', name: 'C2', importLimitW: '100000', exportLimitW: '100000', charger: null } },
      ]);
    given(tree)
      .when(addNode('f2', 'f1', 'feeder'))
      .then([
        { type: 'NodeAdded', data: { siteId: SITE, nodeId: 'f2', parentId: 'f1', kind: 'feeder', name: 'F2', importLimitW: '100000', exportLimitW: '100000', charger: null } },
      ]);
  });

  it('allows a node limit above its parent (the parent still binds)', () => {
    given(depot())
      .when(addNode('c2', 'c1', 'circuit', '999999', '999999'))
      .then([
        { type: 'NodeAdded', data: { siteId: SITE, nodeId: 'c2', parentId: 'c1', kind: 'circuit', name: 'C2', importLimitW: '999999', exportLimitW: '999999', charger: null } },
      ]);
  });

  it('refuses a taken id, an unknown parent and a bad id', () => {
    const tree = depot();
    given(tree)
      .when(addNode('f1', SITE, 'feeder'))
      .thenThrows(NodeAlreadyExists, { siteId: SITE, nodeId: 'f1' });
    given(tree)
      .when(addNode(SITE, 'f1', 'circuit'))
      .thenThrows(NodeAlreadyExists, { nodeId: SITE });
    given(tree)
      .when(addNode('c9', 'nowhere', 'circuit'))
      .thenThrows(UnknownNode, { siteId: SITE, nodeId: 'nowhere' });
    given(tree)
      .when(addNode('has space', 'f1', 'circuit'))
      .thenThrows(InvalidCommand, { field: 'nodeId' });
    given(tree)
      .when({ ...addNode('x', 'f1', 'circuit'), kind: 'transformer' as 'circuit' })
      .thenThrows(InvalidCommand, { field: 'kind' });
    given(tree)
      .when({ ...addNode('x', 'f1', 'circuit'), name: '' })
      .thenThrows(InvalidCommand, { field: 'name' });
    given([])
      .when(addNode('f1', SITE, 'feeder'))
      .thenThrows(UnknownSite);
  });

  it('refuses nodes in the wrong place, naming both kinds', () => {
    const tree = depot();
    given(tree)
      .when(addNode('k9', 'f1', 'connector'))
      .thenThrows(InvalidNodePlacement, { nodeId: 'k9', kind: 'connector', parentId: 'f1', parentKind: 'feeder' });
    given(tree)
      .when(addNode('k9', SITE, 'connector'))
      .thenThrows(InvalidNodePlacement, { parentKind: 'site' });
    given(tree)
      .when(addNode('f9', 'ch1', 'feeder'))
      .thenThrows(InvalidNodePlacement, { kind: 'feeder', parentKind: 'charger' });
    given(tree)
      .when(addNode('c9', 'k1', 'circuit'))
      .thenThrows(InvalidNodePlacement, { kind: 'circuit', parentKind: 'connector' });
    given(tree)
      .when(addNode('ch9', 'ch1', 'charger', '1', '1', UNI))
      .thenThrows(InvalidNodePlacement, { kind: 'charger', parentKind: 'charger' });
    given(tree)
      .when(addNode('ch9', 'k1', 'charger', '1', '1', UNI))
      .thenThrows(InvalidNodePlacement, { kind: 'charger', parentKind: 'connector' });
  });

  it('requires a valid charger spec for a charger and refuses one elsewhere', () => {
    const tree = depot();
    const charger = (spec: unknown) => addNode('ch9', 'c1', 'charger', '22000', '0', spec as typeof UNI);
    given(tree).when(charger(null)).thenThrows(InvalidCommand, { field: 'charger' });
    given(tree)
      .when(addNode('c9', 'c1', 'circuit', '1', '1', UNI))
      .thenThrows(InvalidCommand, { field: 'charger' });
    given(tree)
      .when(charger({ ...UNI, minPowerW: '12000' }))
      .thenThrows(InvalidCommand, { field: 'charger.minPowerW' });
    given(tree)
      .when(charger({ ...UNI, maxPowerW: '0', minPowerW: '0' }))
      .thenThrows(InvalidCommand, { field: 'charger.maxPowerW' });
    given(tree)
      .when(charger({ ...UNI, maxPowerW: 11000 }))
      .thenThrows(InvalidCommand, { field: 'charger.maxPowerW' });
    given(tree)
      .when(charger({ ...UNI, maxDischargePowerW: '5000' }))
      .thenThrows(InvalidCommand, { field: 'charger.maxDischargePowerW' });
    given(tree)
      .when(charger({ ...BIDI, minDischargePowerW: null }))
      .thenThrows(InvalidCommand, { field: 'charger.minDischargePowerW' });
    given(tree)
      .when(charger({ ...BIDI, maxDischargePowerW: null }))
      .thenThrows(InvalidCommand, { field: 'charger.maxDischargePowerW' });
    given(tree)
      .when(charger({ ...BIDI, minDischargePowerW: '12000' }))
      .thenThrows(InvalidCommand, { field: 'charger.minDischargePowerW' });
    given(tree)
      .when(charger({ ...BIDI, bidirectional: 'yes' }))
      .thenThrows(InvalidCommand, { field: 'charger.bidirectional' });
    given(tree)
      .when(charger({ minPowerW: '1400.0', maxPowerW: '7400', bidirectional: true, minDischargePowerW: '0', maxDischargePowerW: '7400.00' }))
      .then([
        {
          type: 'NodeAdded',
          data: {
            siteId: SITE,
            nodeId: 'ch9',
            parentId: 'c1',
            kind: 'charger',
            name: 'CH9',
            importLimitW: '22000',
            exportLimitW: '0',
            charger: { minPowerW: '1400', maxPowerW: '7400', bidirectional: true, minDischargePowerW: '0', maxDischargePowerW: '7400' },
          },
        },
      ]);
  });

  it('refuses negative or non-decimal limits, naming the field', () => {
    given(depot())
      .when(addNode('c9', 'c1', 'circuit', '-1'))
      .thenThrows(InvalidCommand, { field: 'importLimitW' });
    given(depot())
      .when(addNode('c9', 'c1', 'circuit', '1', '2e3'))
      .thenThrows(InvalidCommand, { field: 'exportLimitW' });
  });
});

describe('site decider: ChangeNodeLimits', () => {
  const change = (nodeId: string, importLimitW: string, exportLimitW: string, atTime = T0): Extract<SiteCommand, { type: 'ChangeNodeLimits' }> => ({
    type: 'ChangeNodeLimits',
    siteId: SITE,
    at: atTime,
    nodeId,
    importLimitW,
    exportLimitW,
  });

  it('changes a node limits, and the site limits through the root', () => {
    given(depot())
      .when(change('f1', '50000', '25000'))
      .then([{ type: 'NodeLimitsChanged', data: { siteId: SITE, nodeId: 'f1', importLimitW: '50000', exportLimitW: '25000' } }]);
    const site = registeredOf(run([change(SITE, '80000', '40000.0')], depot()));
    expect(site).toMatchObject({ importLimitW: '80000', exportLimitW: '40000' });
    expect(site.nodes.get(SITE)).toMatchObject({ importLimitW: '80000', exportLimitW: '40000' });
    given(depot())
      .when(change('f1', '60000.00', '30000'))
      .then([]);
  });

  it('refuses an unknown node and bad limits', () => {
    given(depot())
      .when(change('f9', '1', '1'))
      .thenThrows(UnknownNode, { nodeId: 'f9' });
    given(depot())
      .when(change('f1', '-1', '1'))
      .thenThrows(InvalidCommand, { field: 'importLimitW' });
    given(depot())
      .when({ ...change('f1', '1', '1'), at: 'yesterday' })
      .thenThrows(InvalidCommand, { field: 'at' });
  });

  it('curtails the sessions below a node whose new limit the setpoints break', () => {
    const charging = run([occupy('k1', 's1'), occupy('k2', 's2'), occupy('k3', 's3'), assign(at(1), ['s1', '15000'], ['s2', '15000'], ['s3', '10000'])], depot());
    given(charging)
      .when(change('c1', '20000', '20000', at(2)))
      .then([
        { type: 'NodeLimitsChanged', data: { siteId: SITE, nodeId: 'c1', importLimitW: '20000', exportLimitW: '20000' } },
        ...curtailment(at(2), ['s1', 'curtailed:c1'], ['s2', 'curtailed:c1']),
      ]);
    // Still within the new limit: nothing to curtail.
    given(charging)
      .when(change('c1', '30000', '20000', at(2)))
      .then([{ type: 'NodeLimitsChanged', data: { siteId: SITE, nodeId: 'c1', importLimitW: '30000', exportLimitW: '20000' } }]);
    const after = registeredOf(run([change('c1', '20000', '20000', at(2))], charging));
    expect(after.sessions.get('s1')).toMatchObject({ setpointW: '0', status: 'on_hold', reason: 'curtailed:c1', since: at(2) });
    expect(after.sessions.get('s3')).toMatchObject({ setpointW: '10000', status: 'charging' });
    expect(after.lastAllocationAt).toBe(at(2));
  });
});

describe('site decider: ChangeCharger', () => {
  const change = (nodeId: string, charger: typeof BIDI, atTime = T0): SiteCommand => ({ type: 'ChangeCharger', siteId: SITE, at: atTime, nodeId, charger });

  it('changes a charger spec; unchanged is no event', () => {
    const spec = { ...BIDI, maxPowerW: '11000' };
    given(depot())
      .when(change('ch1', spec))
      .then([{ type: 'ChargerChanged', data: { siteId: SITE, nodeId: 'ch1', charger: spec } }]);
    expect(registeredOf(run([change('ch1', spec)], depot())).nodes.get('ch1')?.charger).toEqual(spec);
    given(depot())
      .when(change('ch1', { ...BIDI, maxPowerW: '22000.0' }))
      .then([]);
  });

  it('refuses a node that is not a charger, an unknown node and a bad spec', () => {
    given(depot()).when(change('c1', UNI)).thenThrows(NotACharger, { nodeId: 'c1', kind: 'circuit' });
    given(depot()).when(change('ch9', UNI)).thenThrows(UnknownNode, { nodeId: 'ch9' });
    given(depot())
      .when(change('ch1', { ...UNI, minPowerW: '20000' }))
      .thenThrows(InvalidCommand, { field: 'charger.minPowerW' });
  });

  it('narrows the bounds of the sessions plugged in, curtailing a setpoint that no longer fits', () => {
    const charging = run([occupy('k1', 's1', '22000', '11000'), occupy('k2', 's2'), assign(at(1), ['s1', '20000'], ['s2', '5000'])], depot());
    const spec = { ...BIDI, maxPowerW: '11000', maxDischargePowerW: '7000' };
    given(charging)
      .when(change('ch1', spec, at(2)))
      .then([{ type: 'ChargerChanged', data: { siteId: SITE, nodeId: 'ch1', charger: spec } }, ...curtailment(at(2), ['s1', 'curtailed:ch1'])]);
    const site = registeredOf(run([change('ch1', spec, at(2))], charging));
    expect(site.sessions.get('s1')).toMatchObject({ minPowerW: '1400', maxPowerW: '11000', maxDischargePowerW: '7000' });
    expect(site.sessions.get('s2')).toMatchObject({ maxPowerW: '11000', maxDischargePowerW: null, setpointW: '5000', status: 'charging' });
  });

  it('takes V2G away when the charger stops being bidirectional, curtailing a discharging session', () => {
    const discharging = run([occupy('k1', 's1', '22000', '11000'), assign(at(1), ['s1', '-5000'])], depot());
    const spec = { ...UNI, maxPowerW: '22000' };
    given(discharging)
      .when(change('ch1', spec, at(2)))
      .then([{ type: 'ChargerChanged', data: { siteId: SITE, nodeId: 'ch1', charger: spec } }, ...curtailment(at(2), ['s1', 'curtailed:ch1'])]);
    expect(registeredOf(run([change('ch1', spec, at(2))], discharging)).sessions.get('s1')?.maxDischargePowerW).toBeNull();
  });

  it('refuses a change that leaves a plugged-in session no power in common', () => {
    const plugged = run([occupy('k1', 's1', '3000')], depot());
    given(plugged)
      .when(change('ch1', { ...BIDI, minPowerW: '4000' }))
      .thenThrows(NoCommonPower, { sessionId: 's1', connectorId: 'k1', chargerId: 'ch1', direction: 'charge', sessionMaxW: '3000', chargerMinW: '4000' });
  });
});

describe('site decider: RemoveNode', () => {
  const remove = (nodeId: string): SiteCommand => ({ type: 'RemoveNode', siteId: SITE, at: T0, nodeId });

  it('removes a leaf, with its load reading, rules and discharge requests', () => {
    const tree = run(
      [
        addNode('c2', 'f1', 'circuit'),
        { type: 'RecordNodeLoad', siteId: SITE, at: T0, nodeId: 'c2', occurredAt: T0, otherLoadW: '1000', generationW: '0' },
        {
          type: 'AddCongestionRule',
          siteId: SITE,
          at: T0,
          rule: {
            ruleId: 'r1',
            priority: 1,
            scope: { kind: 'node', nodeId: 'c2' },
            window: { start: at(60), end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null },
            importCapW: '1',
            exportCapW: null,
            reason: null,
            source: null,
          },
        },
        { type: 'RequestDischarge', siteId: SITE, at: T0, requestId: 'q1', nodeId: 'c2', start: at(60), end: at(120), powerW: '1000', source: null },
      ],
      depot(),
    );
    given(tree)
      .when(remove('c2'))
      .then([{ type: 'NodeRemoved', data: { siteId: SITE, nodeId: 'c2' } }]);
    const site = registeredOf(run([remove('c2')], tree));
    expect(site.nodes.has('c2')).toBe(false);
    expect(site.nodes.get('f1')?.children).toEqual(['c1']);
    expect([site.loads.has('c2'), site.rules.has('r1'), site.dischargeRequests.has('q1')]).toEqual([false, false, false]);
    given(depot())
      .when(remove('k2'))
      .then([{ type: 'NodeRemoved', data: { siteId: SITE, nodeId: 'k2' } }]);
  });

  it('refuses the root, a node with children, an occupied connector and an unknown node', () => {
    given(depot()).when(remove(SITE)).thenThrows(CannotRemoveRoot, { nodeId: SITE });
    given(depot())
      .when(remove('ch1'))
      .thenThrows(NodeHasChildren, { nodeId: 'ch1', children: ['k1', 'k2'] });
    given(run([occupy('k1', 's1')], depot()))
      .when(remove('k1'))
      .thenThrows(ConnectorInUse, { connectorId: 'k1', sessionId: 's1' });
    given(depot()).when(remove('zz')).thenThrows(UnknownNode, { nodeId: 'zz' });
  });
});

describe('site decider: RecordNodeLoad', () => {
  const load = (nodeId: string, occurredAt: string, otherLoadW: string, generationW = '0', atTime = T0): SiteCommand => ({
    type: 'RecordNodeLoad',
    siteId: SITE,
    at: atTime,
    nodeId,
    occurredAt,
    otherLoadW,
    generationW,
  });

  it('records a reading and keeps the latest by occurredAt', () => {
    given(depot())
      .when(load('f1', '2026-11-27T16:59:30Z', '12000.50', '300'))
      .then([{ type: 'NodeLoadMeasured', data: { siteId: SITE, nodeId: 'f1', occurredAt: '2026-11-27T16:59:30.000Z', otherLoadW: '12000.5', generationW: '300' } }]);
    const newer = run([load('f1', at(-1), '5000')], depot());
    const older: SiteEvent = { type: 'NodeLoadMeasured', data: { siteId: SITE, nodeId: 'f1', occurredAt: at(-5), otherLoadW: '9000', generationW: '0' } };
    given(newer)
      .when(load('f1', at(-5), '9000'))
      .then([older]);
    expect(registeredOf([...newer, older]).loads.get('f1')).toEqual({ occurredAt: at(-1), otherLoadW: '5000', generationW: '0' });
    expect(registeredOf(run([load('f1', at(0), '7000')], newer)).loads.get('f1')).toEqual({ occurredAt: at(0), otherLoadW: '7000', generationW: '0' });
  });

  it('accepts a reading up to 5 minutes ahead and refuses one further in the future', () => {
    given(depot())
      .when(load('f1', at(5), '1'))
      .then([{ type: 'NodeLoadMeasured', data: { siteId: SITE, nodeId: 'f1', occurredAt: at(5), otherLoadW: '1', generationW: '0' } }]);
    given(depot())
      .when(load('f1', '2026-11-27T17:05:00.001Z', '1'))
      .thenThrows(ReadingFromFuture, { nodeId: 'f1', occurredAt: '2026-11-27T17:05:00.001Z', at: T0 });
  });

  it('refuses negative figures, an unknown node and a bad instant', () => {
    given(depot())
      .when(load('f1', T0, '-1'))
      .thenThrows(InvalidCommand, { field: 'otherLoadW' });
    given(depot())
      .when(load('f1', T0, '1', '-1'))
      .thenThrows(InvalidCommand, { field: 'generationW' });
    given(depot())
      .when(load('f9', T0, '1'))
      .thenThrows(UnknownNode, { nodeId: 'f9' });
    given(depot())
      .when(load('f1', '2026-11-27 17:00', '1'))
      .thenThrows(InvalidCommand, { field: 'occurredAt' });
  });

  it('curtails when measured load leaves less headroom than the setpoints use', () => {
    const charging = run([occupy('k1', 's1'), occupy('k3', 's3'), assign(at(1), ['s1', '20000'], ['s3', '10000'])], depot());
    // Root: 100 kW - 75 kW of building load = 25 kW < 30 kW in use.
    given(charging)
      .when(load(SITE, at(2), '75000', '0', at(2)))
      .then([
        { type: 'NodeLoadMeasured', data: { siteId: SITE, nodeId: SITE, occurredAt: at(2), otherLoadW: '75000', generationW: '0' } },
        ...curtailment(at(2), ['s1', `curtailed:${SITE}`], ['s3', `curtailed:${SITE}`]),
      ]);
    // Local generation below c1 gives headroom back: nothing to curtail.
    given(charging)
      .when(load('c1', at(2), '0', '5000', at(2)))
      .then([{ type: 'NodeLoadMeasured', data: { siteId: SITE, nodeId: 'c1', occurredAt: at(2), otherLoadW: '0', generationW: '5000' } }]);
  });

  describe('site decider: quantities bounded by what they can mean', () => {
    it('refuses a limit or a load beyond 1 GW and watts finer than a milliwatt, naming the field and the bound', () => {
      expect(() => siteDecider.decide({ ...register, importLimitW: '1000000001' } as SiteCommand, siteDecider.initialState())).toThrow(
        /importLimitW: 1000000001 is beyond 1000000000 W/,
      );
      expect(() => siteDecider.decide({ ...register, exportLimitW: '0.0001' } as SiteCommand, siteDecider.initialState())).toThrow(
        /exportLimitW: 0.0001 has 4 decimals; at most 3/,
      );
    });
  });
});
