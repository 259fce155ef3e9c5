import { siteDecider, type ChargerSpec, type NodeKind, type RegisteredSite, type SiteCommand, type SiteEvent, type SiteState } from '../src/site/site.ts';
import type { SessionStatus } from '../src/allocation/types.ts';
import { formatInstant, parseInstant } from '../src/values/time.ts';

/** Fixtures for the site aggregate's tests: a depot with a small tree, and helpers to drive the decider. */

export const SITE = 'depot-1';
/** A Friday, 17:00 UTC. */
export const T0 = '2026-11-27T17:00:00.000Z';
export const T0_MS = parseInstant('T0', T0);
export const at = (minutes: number): string => formatInstant(T0_MS + minutes * 60_000);

export const BIDI: ChargerSpec = { minPowerW: '1400', maxPowerW: '22000', bidirectional: true, minDischargePowerW: '1000', maxDischargePowerW: '11000' };
export const UNI: ChargerSpec = { minPowerW: '1400', maxPowerW: '11000', bidirectional: false, minDischargePowerW: null, maxDischargePowerW: null };

export const register: SiteCommand = { type: 'RegisterSite', siteId: SITE, name: 'Depot 1', importLimitW: '100000', exportLimitW: '50000' };

export function addNode(
  nodeId: string,
  parentId: string,
  kind: NodeKind,
  importLimitW = '100000',
  exportLimitW = '100000',
  charger: ChargerSpec | null = null,
): Extract<SiteCommand, { type: 'AddNode' }> {
  return { type: 'AddNode', siteId: SITE, at: T0, nodeId, parentId, kind, name: nodeId.toUpperCase(), importLimitW, exportLimitW, charger };
}

export function occupy(connectorId: string, sessionId: string, maxPowerW = '22000', maxDischargePowerW: string | null = null, minPowerW = '1000'): SiteCommand {
  return { type: 'OccupyConnector', siteId: SITE, at: T0, connectorId, sessionId, minPowerW, maxPowerW, maxDischargePowerW };
}

export function assign(atTime: string, ...setpoints: Array<[sessionId: string, powerW: string, reason?: string | null]>): SiteCommand {
  return {
    type: 'AssignSetpoints',
    siteId: SITE,
    at: atTime,
    trigger: 'test',
    setpoints: setpoints.map(([sessionId, powerW, reason = null]) => ({
      sessionId,
      powerW,
      reason,
      status: powerW.startsWith('-') ? 'discharging' : /^0(\.0+)?$/.test(powerW) ? 'on_hold' : 'charging',
    })),
  };
}

/** The SetpointsAssigned event of an allocation at `atTime` by `trigger`, each setpoint as [session, power, status, reason]. */
export function setpointsAssigned(
  atTime: string,
  trigger: string,
  ...setpoints: Array<[sessionId: string, powerW: string, status: SessionStatus, reason: string | null]>
): SiteEvent {
  return {
    type: 'SetpointsAssigned',
    data: { siteId: SITE, at: atTime, trigger, setpoints: setpoints.map(([sessionId, powerW, status, reason]) => ({ sessionId, powerW, status, reason })) },
  };
}

/**
 * What a curtailment at `atTime` decides: the held sessions' setpoints to 0 (on hold, for the
 * reason given: `curtailed:<node>`), then a SessionPutOnHold for each, in the same order.
 */
export function curtailment(atTime: string, ...held: Array<[sessionId: string, reason: string]>): SiteEvent[] {
  return [
    {
      type: 'SetpointsAssigned',
      data: { siteId: SITE, at: atTime, trigger: 'curtailment', setpoints: held.map(([sessionId, reason]) => ({ sessionId, powerW: '0', status: 'on_hold', reason })) },
    },
    ...held.map(([sessionId, reason]): SiteEvent => ({ type: 'SessionPutOnHold', data: { siteId: SITE, sessionId, at: atTime, reason } })),
  ];
}

/** Runs commands through the decider after `history`; returns the whole history. Throws what decide throws. */
export function run(commands: SiteCommand[], history: SiteEvent[] = []): SiteEvent[] {
  const events = [...history];
  let state = stateOf(history);
  for (const command of commands) {
    const produced = siteDecider.decide(command, state);
    for (const event of produced) state = siteDecider.evolve(state, event);
    events.push(...produced);
  }
  return events;
}

function stateOf(events: SiteEvent[]): SiteState {
  return events.reduce(siteDecider.evolve, siteDecider.initialState());
}

export function registeredOf(events: SiteEvent[]): RegisteredSite {
  const state = stateOf(events);
  if (state.status !== 'registered') throw new Error('site not registered');
  return state;
}

/**
 * depot-1 (import 100 kW, export 50 kW)
 *  ├─ f1 feeder (60/30 kW) └─ c1 circuit (40/20 kW) └─ ch1 bidirectional charger (44/22 kW) ├─ k1 └─ k2
 *  └─ ch2 charger, charge only (11/0 kW) └─ k3
 */
export function depot(): SiteEvent[] {
  return run([
    register,
    addNode('f1', SITE, 'feeder', '60000', '30000'),
    addNode('c1', 'f1', 'circuit', '40000', '20000'),
    addNode('ch1', 'c1', 'charger', '44000', '22000', BIDI),
    addNode('k1', 'ch1', 'connector', '22000', '11000'),
    addNode('k2', 'ch1', 'connector', '22000', '11000'),
    addNode('ch2', SITE, 'charger', '11000', '0', UNI),
    addNode('k3', 'ch2', 'connector', '11000', '0'),
  ]);
}
