import { Decimal, parseInstant } from '../values/index.ts';
import { decimalString } from './effective-limits.ts';
import type { ChargerSpec, Occupancy, RegisteredSite, SiteEvent, SiteNode, SiteState } from './site-types.ts';

/** The site's evolve: each event applied to a state, folded with one copy per map however long the stream. */
export const DEFAULT_ROTATION_INTERVAL_S = 900;
export const DEFAULT_PROMOTE_AFTER_S = 3600;

export const isPowered = (status: Occupancy['status']): boolean => status === 'charging' || status === 'discharging';

/** A charger change narrows the bounds of the sessions at its connectors (they never widen back). */
export function narrowToCharger(occupancy: Occupancy, charger: ChargerSpec): Occupancy {
  const min = Decimal.max(occupancy.minPowerW, charger.minPowerW);
  const max = Decimal.min(occupancy.maxPowerW, charger.maxPowerW);
  let maxDischarge: string | null = null;
  if (occupancy.maxDischargePowerW !== null && charger.bidirectional && charger.maxDischargePowerW !== null) {
    const narrowed = Decimal.min(occupancy.maxDischargePowerW, charger.maxDischargePowerW);
    if (narrowed.gte(charger.minDischargePowerW ?? '0')) maxDischarge = decimalString(narrowed);
  }
  return { ...occupancy, minPowerW: decimalString(min), maxPowerW: decimalString(max), maxDischargePowerW: maxDischarge };
}

function laterInstant(a: string | null, b: string): string {
  return a === null || parseInstant('at', b) > parseInstant('at', a) ? b : a;
}

type MapKey = 'nodes' | 'loads' | 'rules' | 'dischargeRequests' | 'sessions' | 'connectors';
type MapOf<K extends MapKey> = RegisteredSite[K] extends ReadonlyMap<infer Key, infer Value> ? Map<Key, Value> : never;

/**
 * A state being evolved: a shallow copy whose maps (and nodes) are copied on their first write and
 * then written in place, so folding many events copies each map once, not once per event.
 */
class SiteDraft {
  readonly state: RegisteredSite;
  private readonly ownedMaps = new Set<MapKey>();
  private readonly ownedNodes = new Set<string>();

  constructor(base: RegisteredSite) {
    this.state = { ...base };
  }

  map<K extends MapKey>(key: K): MapOf<K> {
    if (!this.ownedMaps.has(key)) {
      (this.state as Record<MapKey, unknown>)[key] = new Map(this.state[key] as ReadonlyMap<unknown, unknown>);
      this.ownedMaps.add(key);
    }
    return this.state[key] as MapOf<K>;
  }

  /** A node this draft may change in place (copied on first write). */
  node(nodeId: string): SiteNode | undefined {
    const node = this.state.nodes.get(nodeId);
    if (!node || this.ownedNodes.has(nodeId)) return node;
    const copy = { ...node, children: [...node.children] };
    this.map('nodes').set(nodeId, copy);
    this.ownedNodes.add(nodeId);
    return copy;
  }

  addNode(node: SiteNode): void {
    this.map('nodes').set(node.nodeId, node);
    this.ownedNodes.add(node.nodeId);
  }
}

function registeredSite(data: Extract<SiteEvent, { type: 'SiteRegistered' }>['data']): RegisteredSite {
  const { siteId, name, importLimitW, exportLimitW } = data;
  const root: SiteNode = { nodeId: siteId, parentId: null, kind: 'site', name, importLimitW, exportLimitW, charger: null, children: [] };
  return {
    status: 'registered',
    siteId,
    name,
    importLimitW,
    exportLimitW,
    rotationIntervalS: DEFAULT_ROTATION_INTERVAL_S,
    promoteAfterS: DEFAULT_PROMOTE_AFTER_S,
    dischargePriceThresholdMinorPerKWh: null,
    priceZone: null,
    nodes: new Map([[siteId, root]]),
    loads: new Map(),
    rules: new Map(),
    dischargeRequests: new Map(),
    sessions: new Map(),
    connectors: new Map(),
    lastAllocationAt: null,
  };
}

/** Applies one event to a draft. Total: an event that no longer fits the state changes nothing. */
function apply(draft: SiteDraft, event: Exclude<SiteEvent, { type: 'SiteRegistered' }>): void {
  const state = draft.state;
  switch (event.type) {
    case 'SiteRenamed': {
      state.name = event.data.name;
      const root = draft.node(state.siteId);
      if (root) root.name = event.data.name;
      return;
    }
    case 'SiteConfigured':
      state.rotationIntervalS = event.data.rotationIntervalS;
      state.promoteAfterS = event.data.promoteAfterS;
      state.dischargePriceThresholdMinorPerKWh = event.data.dischargePriceThresholdMinorPerKWh;
      state.priceZone = event.data.priceZone;
      return;
    case 'NodeAdded': {
      const { nodeId, parentId, kind, name, importLimitW, exportLimitW, charger } = event.data;
      draft.addNode({ nodeId, parentId, kind, name, importLimitW, exportLimitW, charger, children: [] });
      draft.node(parentId)?.children.push(nodeId);
      return;
    }
    case 'NodeLimitsChanged': {
      const { nodeId, importLimitW, exportLimitW } = event.data;
      const node = draft.node(nodeId);
      if (!node) return;
      node.importLimitW = importLimitW;
      node.exportLimitW = exportLimitW;
      if (nodeId === state.siteId) {
        state.importLimitW = importLimitW;
        state.exportLimitW = exportLimitW;
      }
      return;
    }
    case 'ChargerChanged': {
      const { nodeId, charger } = event.data;
      const node = draft.node(nodeId);
      if (!node) return;
      node.charger = charger;
      for (const connectorId of node.children) {
        const sessionId = state.connectors.get(connectorId);
        const occupancy = sessionId === undefined ? undefined : state.sessions.get(sessionId);
        if (occupancy) draft.map('sessions').set(occupancy.sessionId, narrowToCharger(occupancy, charger));
      }
      return;
    }
    case 'NodeRemoved': {
      const { nodeId } = event.data;
      const node = state.nodes.get(nodeId);
      if (!node || node.parentId === null) return;
      draft.map('nodes').delete(nodeId);
      const parent = draft.node(node.parentId);
      if (parent) parent.children = parent.children.filter((c) => c !== nodeId);
      if (state.loads.has(nodeId)) draft.map('loads').delete(nodeId);
      // Rules and discharge requests on the node go with it.
      for (const rule of state.rules.values()) {
        if (rule.scope.kind === 'node' && rule.scope.nodeId === nodeId) draft.map('rules').delete(rule.ruleId);
      }
      for (const request of state.dischargeRequests.values()) {
        if (request.nodeId === nodeId) draft.map('dischargeRequests').delete(request.requestId);
      }
      const occupant = state.connectors.get(nodeId);
      if (occupant !== undefined) {
        draft.map('connectors').delete(nodeId);
        draft.map('sessions').delete(occupant);
      }
      return;
    }
    case 'NodeLoadMeasured': {
      const { nodeId, occurredAt, otherLoadW, generationW } = event.data;
      const latest = state.loads.get(nodeId);
      if (latest && parseInstant('occurredAt', occurredAt) < parseInstant('occurredAt', latest.occurredAt)) return;
      draft.map('loads').set(nodeId, { occurredAt, otherLoadW, generationW });
      return;
    }
    case 'CongestionRuleAdded':
      draft.map('rules').set(event.data.rule.ruleId, event.data.rule);
      return;
    case 'CongestionRuleRemoved':
      if (state.rules.has(event.data.ruleId)) draft.map('rules').delete(event.data.ruleId);
      return;
    case 'DischargeRequested': {
      const { requestId, nodeId, start, end, powerW, source } = event.data;
      draft.map('dischargeRequests').set(requestId, { requestId, nodeId, start, end, powerW, source });
      return;
    }
    case 'DischargeRequestCancelled':
      if (state.dischargeRequests.has(event.data.requestId)) draft.map('dischargeRequests').delete(event.data.requestId);
      return;
    case 'ConnectorOccupied': {
      const { connectorId, sessionId, at, minPowerW, maxPowerW, maxDischargePowerW } = event.data;
      draft.map('sessions').set(sessionId, {
        sessionId,
        connectorId,
        occupiedAt: at,
        minPowerW,
        maxPowerW,
        maxDischargePowerW,
        setpointW: '0',
        status: 'pending',
        reason: null,
        since: at,
      });
      draft.map('connectors').set(connectorId, sessionId);
      return;
    }
    case 'ConnectorReleased': {
      const { connectorId, sessionId } = event.data;
      if (state.sessions.has(sessionId)) draft.map('sessions').delete(sessionId);
      if (state.connectors.get(connectorId) === sessionId) draft.map('connectors').delete(connectorId);
      return;
    }
    case 'SetpointsAssigned': {
      const { at, setpoints } = event.data;
      const sessions = draft.map('sessions');
      for (const { sessionId, powerW, status, reason } of setpoints) {
        const occupancy = sessions.get(sessionId);
        if (!occupancy) continue;
        // A status keeps its `since`; so does a turn going from charging to discharging or back.
        const keepSince = occupancy.status === status || (isPowered(occupancy.status) && isPowered(status));
        sessions.set(sessionId, { ...occupancy, setpointW: powerW, status, reason, since: keepSince ? occupancy.since : at });
      }
      state.lastAllocationAt = laterInstant(state.lastAllocationAt, at);
      return;
    }
    case 'SessionPutOnHold':
    case 'SessionResumed':
      // Notifications for other streams and read models: the SetpointsAssigned before them already changed the state.
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Folds events into a state, copying each of the state's maps at most once (evolve, one event at a
 * time, copies the maps an event touches every time). Same result as `events.reduce(evolve, state)`:
 * use it to load a long stream.
 */
export function foldSiteEvents(state: SiteState, events: readonly SiteEvent[]): SiteState {
  let current: SiteState = state;
  let draft: SiteDraft | null = null;
  for (const event of events) {
    if (event.type === 'SiteRegistered') {
      current = registeredSite(event.data);
      draft = null;
      continue;
    }
    if (current.status !== 'registered' || event.type === 'SessionPutOnHold' || event.type === 'SessionResumed') continue;
    if (draft === null) {
      draft = new SiteDraft(current);
      current = draft.state;
    }
    apply(draft, event);
  }
  return current;
}

export function evolve(state: SiteState, event: SiteEvent): SiteState {
  return foldSiteEvents(state, [event]);
}
