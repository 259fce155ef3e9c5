import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { assign, at, BIDI, curtailment, depot, occupy, registeredOf, run, setpointsAssigned, SITE, T0 } from '../../test/site-fixtures.ts';
import { InvalidCommand } from '../errors.ts';
import {
  AllocationOutOfOrder,
  ConnectorInUse,
  DischargeNotSupported,
  GridLimitExceeded,
  NoCommonPower,
  NotAConnector,
  SessionAlreadyAtSite,
  SessionNotAtConnector,
  SessionNotAtSite,
  SetpointOutOfRange,
  UnknownNode,
} from './site-errors.ts';
import { siteDecider, UnknownSite, type SiteCommand, type SiteEvent } from './site.ts';

const given = givenFor(siteDecider);

describe('site decider: OccupyConnector', () => {
  it('plugs a session in with its bounds intersected with the charger bounds', () => {
    given(depot())
      .when(occupy('k1', 's1', '30000', '20000', '1000'))
      .then([
        { type: 'ConnectorOccupied', data: { siteId: SITE, connectorId: 'k1', sessionId: 's1', at: T0, minPowerW: '1400', maxPowerW: '22000', maxDischargePowerW: '11000' } },
      ]);
    given(depot())
      .when(occupy('k3', 's3', '7400.0', null, '2000'))
      .then([{ type: 'ConnectorOccupied', data: { siteId: SITE, connectorId: 'k3', sessionId: 's3', at: T0, minPowerW: '2000', maxPowerW: '7400', maxDischargePowerW: null } }]);
    const site = registeredOf(run([occupy('k1', 's1', '30000', '5000')], depot()));
    expect(site.sessions.get('s1')).toEqual({
      sessionId: 's1',
      connectorId: 'k1',
      occupiedAt: T0,
      minPowerW: '1400',
      maxPowerW: '22000',
      maxDischargePowerW: '5000',
      setpointW: '0',
      status: 'pending',
      reason: null,
      since: T0,
    });
    expect(site.connectors.get('k1')).toBe('s1');
  });

  it('refuses a node that is not a free connector', () => {
    const plugged = run([occupy('k1', 's1')], depot());
    given(depot()).when(occupy('k9', 's1')).thenThrows(UnknownNode, { nodeId: 'k9' });
    given(depot()).when(occupy('ch1', 's1')).thenThrows(NotAConnector, { nodeId: 'ch1', kind: 'charger' });
    given(plugged).when(occupy('k1', 's2')).thenThrows(ConnectorInUse, { connectorId: 'k1', sessionId: 's1' });
    given(plugged).when(occupy('k2', 's1')).thenThrows(SessionAlreadyAtSite, { sessionId: 's1', connectorId: 'k1' });
    given([]).when(occupy('k1', 's1')).thenThrows(UnknownSite);
  });

  it('refuses bad session bounds', () => {
    given(depot())
      .when(occupy('k1', 's1', '1000', null, '2000'))
      .thenThrows(InvalidCommand, { field: 'minPowerW' });
    given(depot())
      .when(occupy('k1', 's1', '-1'))
      .thenThrows(InvalidCommand, { field: 'maxPowerW' });
    given(depot())
      .when(occupy('k1', 's1', '7000', '0'))
      .thenThrows(InvalidCommand, { field: 'maxDischargePowerW' });
    given(depot())
      .when(occupy('k1', 'bad id', '7000'))
      .thenThrows(InvalidCommand, { field: 'sessionId' });
  });

  it('refuses V2G at a charger that cannot discharge', () => {
    given(depot())
      .when(occupy('k3', 's3', '7000', '5000'))
      .thenThrows(DischargeNotSupported, { sessionId: 's3', connectorId: 'k3', chargerId: 'ch2' });
  });

  it('refuses a vehicle and charger with no power in common', () => {
    given(depot())
      .when(occupy('k3', 's3', '1000', null, '500'))
      .thenThrows(NoCommonPower, {
        sessionId: 's3',
        connectorId: 'k3',
        chargerId: 'ch2',
        direction: 'charge',
        sessionMinW: '500',
        sessionMaxW: '1000',
        chargerMinW: '1400',
        chargerMaxW: '11000',
      });
    given(depot())
      .when(occupy('k3', 's3', '30000', null, '12000'))
      .thenThrows(NoCommonPower, { direction: 'charge', sessionMinW: '12000', chargerMaxW: '11000' });
    given(depot())
      .when(occupy('k1', 's1', '7000', '500'))
      .thenThrows(NoCommonPower, { direction: 'discharge', sessionMaxW: '500', chargerMinW: '1000', chargerMaxW: '11000' });
  });
});

describe('site decider: ReleaseConnector', () => {
  const release = (connectorId: string, sessionId: string, atTime = T0): SiteCommand => ({ type: 'ReleaseConnector', siteId: SITE, at: atTime, connectorId, sessionId });

  it('frees the connector', () => {
    const plugged = run([occupy('k1', 's1')], depot());
    given(plugged)
      .when(release('k1', 's1'))
      .then([{ type: 'ConnectorReleased', data: { siteId: SITE, connectorId: 'k1', sessionId: 's1', at: T0 } }]);
    const site = registeredOf(run([release('k1', 's1')], plugged));
    expect(site.sessions.has('s1')).toBe(false);
    expect(site.connectors.has('k1')).toBe(false);
    given(run([release('k1', 's1')], plugged))
      .when(occupy('k1', 's2'))
      .then([{ type: 'ConnectorOccupied', data: { siteId: SITE, connectorId: 'k1', sessionId: 's2', at: T0, minPowerW: '1400', maxPowerW: '22000', maxDischargePowerW: null } }]);
  });

  it('refuses a session that is not at that connector', () => {
    const plugged = run([occupy('k1', 's1')], depot());
    given(plugged).when(release('k1', 's2')).thenThrows(SessionNotAtConnector, { connectorId: 'k1', sessionId: 's2', occupiedBy: 's1' });
    given(plugged).when(release('k2', 's1')).thenThrows(SessionNotAtConnector, { connectorId: 'k2', sessionId: 's1', occupiedBy: null });
    given(plugged).when(release('ch1', 's1')).thenThrows(NotAConnector, { nodeId: 'ch1' });
    given(plugged).when(release('k9', 's1')).thenThrows(UnknownNode, { nodeId: 'k9' });
  });

  it('curtails when a discharging session leaves and the others would break a limit', () => {
    const tight = run([occupy('k1', 's1', '22000', '11000'), occupy('k2', 's2', '22000', '11000'), assign(at(1), ['s1', '22000'], ['s2', '-8000'])], depot());
    expect(registeredOf(tight).sessions.get('s2')?.setpointW).toBe('-8000');
    given(tight)
      .when(release('k2', 's2', at(2)))
      .then([{ type: 'ConnectorReleased', data: { siteId: SITE, connectorId: 'k2', sessionId: 's2', at: at(2) } }]);
    // c1 may now import 15 kW: 22 kW charging at k1 fits only with the 8 kW fed back at k2.
    const tighter = run([{ type: 'ChangeNodeLimits', siteId: SITE, at: at(1), nodeId: 'c1', importLimitW: '15000', exportLimitW: '20000' }], tight);
    given(tighter)
      .when(release('k2', 's2', at(2)))
      .then([{ type: 'ConnectorReleased', data: { siteId: SITE, connectorId: 'k2', sessionId: 's2', at: at(2) } }, ...curtailment(at(2), ['s1', 'curtailed:c1'])]);
  });
});

describe('site decider: AssignSetpoints', () => {
  const plugged = () => run([occupy('k1', 's1', '22000', '11000'), occupy('k2', 's2'), occupy('k3', 's3', '11000')], depot());

  it('records the setpoints that changed, and starts a turn for each session that gets power', () => {
    given(plugged())
      .when(assign(at(1), ['s1', '11000.0'], ['s2', '0', 'capacity:c1'], ['s3', '7000']))
      .then([
        setpointsAssigned(at(1), 'test', ['s1', '11000', 'charging', null], ['s2', '0', 'on_hold', 'capacity:c1'], ['s3', '7000', 'charging', null]),
        { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's1', at: at(1) } },
        { type: 'SessionPutOnHold', data: { siteId: SITE, sessionId: 's2', at: at(1), reason: 'capacity:c1' } },
        { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's3', at: at(1) } },
      ]);
    const site = registeredOf(run([assign(at(1), ['s1', '11000'], ['s2', '0', 'capacity:c1'])], plugged()));
    expect(site.sessions.get('s1')).toMatchObject({ setpointW: '11000', status: 'charging', reason: null, since: at(1) });
    expect(site.sessions.get('s2')).toMatchObject({ setpointW: '0', status: 'on_hold', reason: 'capacity:c1', since: at(1) });
    expect(site.sessions.get('s3')).toMatchObject({ setpointW: '0', status: 'pending', since: T0 });
    expect(site.lastAllocationAt).toBe(at(1));
  });

  it('lists only what changed, and emits nothing when nothing did', () => {
    const first = run([assign(at(1), ['s1', '11000'], ['s2', '0', 'capacity:c1'])], plugged());
    given(first)
      .when(assign(at(2), ['s1', '11000'], ['s2', '0', 'capacity:c1']))
      .then([]);
    given(first)
      .when(assign(at(2)))
      .then([]);
    given(first)
      .when(assign(at(2), ['s1', '11000'], ['s2', '0', 'rotation']))
      .then([
        { type: 'SetpointsAssigned', data: { siteId: SITE, at: at(2), trigger: 'test', setpoints: [{ sessionId: 's2', powerW: '0', status: 'on_hold', reason: 'rotation' }] } },
      ]);
    // A session that stays powered keeps its turn; charging -> discharging too.
    const second = run([assign(at(2), ['s1', '5000'])], first);
    expect(registeredOf(second).sessions.get('s1')).toMatchObject({ setpointW: '5000', since: at(1) });
    given(second)
      .when(assign(at(3), ['s1', '-5000']))
      .then([
        { type: 'SetpointsAssigned', data: { siteId: SITE, at: at(3), trigger: 'test', setpoints: [{ sessionId: 's1', powerW: '-5000', status: 'discharging', reason: null }] } },
      ]);
    expect(registeredOf(run([assign(at(3), ['s1', '-5000'])], second)).sessions.get('s1')).toMatchObject({ status: 'discharging', since: at(1) });
  });

  it('puts a powered session on hold with its reason, or the trigger when it has none; done is no hold', () => {
    const charging = run([assign(at(1), ['s1', '11000'], ['s3', '7000'])], plugged());
    given(charging)
      .when({
        type: 'AssignSetpoints',
        siteId: SITE,
        at: at(2),
        trigger: 'rotation',
        setpoints: [
          { sessionId: 's1', powerW: '0', status: 'on_hold', reason: null },
          { sessionId: 's3', powerW: '0', status: 'done', reason: 'energy_delivered' },
        ],
      })
      .then([
        setpointsAssigned(at(2), 'rotation', ['s1', '0', 'on_hold', null], ['s3', '0', 'done', 'energy_delivered']),
        { type: 'SessionPutOnHold', data: { siteId: SITE, sessionId: 's1', at: at(2), reason: 'rotation' } },
      ]);
    // done -> charging starts a turn again.
    const done = run([{ type: 'AssignSetpoints', siteId: SITE, at: at(2), trigger: 't', setpoints: [{ sessionId: 's3', powerW: '0', status: 'done', reason: null }] }], charging);
    given(done)
      .when(assign(at(3), ['s3', '2000']))
      .then([
        { type: 'SetpointsAssigned', data: { siteId: SITE, at: at(3), trigger: 'test', setpoints: [{ sessionId: 's3', powerW: '2000', status: 'charging', reason: null }] } },
        { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's3', at: at(3) } },
      ]);
  });

  it('refuses an allocation dated before the last one, and an unknown session', () => {
    const first = run([assign(at(5), ['s1', '11000'])], plugged());
    given(first)
      .when(assign(at(4), ['s1', '5000']))
      .thenThrows(AllocationOutOfOrder, { at: at(4), lastAllocationAt: at(5) });
    given(first)
      .when(assign(at(5), ['s1', '5000']))
      .then([
        { type: 'SetpointsAssigned', data: { siteId: SITE, at: at(5), trigger: 'test', setpoints: [{ sessionId: 's1', powerW: '5000', status: 'charging', reason: null }] } },
      ]);
    given(plugged())
      .when(assign(at(1), ['s9', '5000']))
      .thenThrows(SessionNotAtSite, { siteId: SITE, sessionId: 's9' });
  });

  it('refuses a setpoint outside the session bounds for its status, naming them', () => {
    given(plugged())
      .when(assign(at(1), ['s1', '1000']))
      .thenThrows(SetpointOutOfRange, { sessionId: 's1', powerW: '1000', status: 'charging', minW: '1400', maxW: '22000' });
    given(plugged())
      .when(assign(at(1), ['s3', '11000.5']))
      .thenThrows(SetpointOutOfRange, { sessionId: 's3', powerW: '11000.5', minW: '1400', maxW: '11000' });
    given(plugged())
      .when(assign(at(1), ['s1', '-12000']))
      .thenThrows(SetpointOutOfRange, { sessionId: 's1', status: 'discharging', minW: '-11000', maxW: '-1000' });
    given(plugged())
      .when(assign(at(1), ['s1', '-999']))
      .thenThrows(SetpointOutOfRange, { minW: '-11000', maxW: '-1000' });
    // s2 gave no V2G consent.
    given(plugged())
      .when(assign(at(1), ['s2', '-5000']))
      .thenThrows(SetpointOutOfRange, { sessionId: 's2', powerW: '-5000', status: 'discharging', minW: null, maxW: null });
  });

  it('refuses a status that disagrees with the sign, a session listed twice and a bad power', () => {
    const command = (powerW: string, status: 'charging' | 'discharging' | 'on_hold' | 'done'): Extract<SiteCommand, { type: 'AssignSetpoints' }> => ({
      type: 'AssignSetpoints',
      siteId: SITE,
      at: at(1),
      trigger: 't',
      setpoints: [{ sessionId: 's1', powerW, status, reason: null }],
    });
    given(plugged()).when(command('5000', 'on_hold')).thenThrows(InvalidCommand, { field: 'setpoints[0].status' });
    given(plugged()).when(command('5000', 'discharging')).thenThrows(InvalidCommand, { field: 'setpoints[0].status' });
    given(plugged()).when(command('-5000', 'charging')).thenThrows(InvalidCommand, { field: 'setpoints[0].status' });
    given(plugged()).when(command('0', 'charging')).thenThrows(InvalidCommand, { field: 'setpoints[0].status' });
    given(plugged())
      .when(command('0', 'pending' as 'done'))
      .thenThrows(InvalidCommand, { field: 'setpoints[0].status' });
    given(plugged()).when(command('5e3', 'charging')).thenThrows(InvalidCommand, { field: 'setpoints[0].powerW' });
    given(plugged())
      .when(assign(at(1), ['s1', '5000'], ['s1', '6000']))
      .thenThrows(InvalidCommand, { field: 'setpoints[1].sessionId' });
    given(plugged())
      .when({ ...command('5000', 'charging'), trigger: '' })
      .thenThrows(InvalidCommand, { field: 'trigger' });
    given(plugged())
      .when(command('-0', 'done'))
      .then([{ type: 'SetpointsAssigned', data: { siteId: SITE, at: at(1), trigger: 't', setpoints: [{ sessionId: 's1', powerW: '0', status: 'done', reason: null }] } }]);
  });

  it('refuses an allocation that breaks an effective limit, naming node, direction, flow, limit and what sets it', () => {
    given(plugged())
      .when(assign(at(1), ['s1', '22000'], ['s2', '20000']))
      .thenThrows(GridLimitExceeded, { nodeId: 'c1', direction: 'import', flowW: '42000', limitW: '40000', boundBy: 'static' });
    given(plugged())
      .when(assign(at(1), ['s1', '22000'], ['s2', '18000']))
      .then([
        setpointsAssigned(at(1), 'test', ['s1', '22000', 'charging', null], ['s2', '18000', 'charging', null]),
        { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's1', at: at(1) } },
        { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's2', at: at(1) } },
      ]);
    const withLoad = run([{ type: 'RecordNodeLoad', siteId: SITE, at: T0, nodeId: 'f1', occurredAt: T0, otherLoadW: '30000', generationW: '0' }], plugged());
    given(withLoad)
      .when(assign(at(1), ['s1', '22000'], ['s2', '10000']))
      .thenThrows(GridLimitExceeded, { nodeId: 'f1', direction: 'import', flowW: '32000', limitW: '30000', boundBy: 'headroom' });
    // Export: the site may feed back 50 kW, but f1 (30 kW export) has 30 kW of load to absorb it.
    const exportTight = run([{ type: 'ChangeNodeLimits', siteId: SITE, at: T0, nodeId: 'c1', importLimitW: '40000', exportLimitW: '5000' }], plugged());
    given(exportTight)
      .when(assign(at(1), ['s1', '-6000']))
      .thenThrows(GridLimitExceeded, { nodeId: 'c1', direction: 'export', flowW: '-6000', limitW: '5000', boundBy: 'static' });
  });

  it('checks every node, not only those the command touches: a rule in force since the last allocation binds', () => {
    const charging = run([assign(at(1), ['s1', '20000'])], plugged());
    const rule: SiteCommand = {
      type: 'AddCongestionRule',
      siteId: SITE,
      at: at(1),
      rule: {
        ruleId: 'dso-1',
        priority: 1,
        scope: { kind: 'node', nodeId: 'f1' },
        window: { start: at(10), end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null },
        importCapW: '10000',
        exportCapW: null,
        reason: null,
        source: 'dso',
      },
    };
    const ruled = run([rule], charging);
    expect(ruled.length).toBe(charging.length + 1); // in the future: no curtailment now
    given(ruled)
      .when(assign(at(11), ['s3', '5000']))
      .thenThrows(GridLimitExceeded, { nodeId: 'f1', direction: 'import', flowW: '20000', limitW: '10000', boundBy: 'rule:dso-1' });
    given(ruled)
      .when(assign(at(11), ['s1', '10000'], ['s3', '5000']))
      .then([
        setpointsAssigned(at(11), 'test', ['s1', '10000', 'charging', null], ['s3', '5000', 'charging', null]),
        { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's3', at: at(11) } },
      ]);
  });

  it('uses the charger discharge minimum in force, and evolve survives the notifications alone', () => {
    const events: SiteEvent[] = run([assign(at(1), ['s1', '-1000'])], plugged());
    expect(registeredOf(events).sessions.get('s1')).toMatchObject({ setpointW: '-1000', status: 'discharging' });
    const state = registeredOf(events);
    expect(siteDecider.evolve(state, { type: 'SessionResumed', data: { siteId: SITE, sessionId: 's1', at: at(1) } })).toBe(state);
    given(run([{ type: 'ChangeCharger', siteId: SITE, at: at(2), nodeId: 'ch1', charger: { ...BIDI, minDischargePowerW: '3000' } }], events))
      .when(assign(at(3), ['s1', '-2000']))
      .thenThrows(SetpointOutOfRange, { minW: '-11000', maxW: '-3000' });
  });
});
