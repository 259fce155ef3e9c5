/**
 * The site aggregate (`site-<id>` stream): the grid connection, its electrical tree, what limits it
 * in time (measured non-EV load, congestion rules, discharge requests), which session occupies
 * which connector, and the setpoints in force. Everything that must hold at once for the limits to
 * hold lives here, so one stream's expected version is enough to keep it consistent.
 *
 * Power is in W, as decimal strings; instants are ISO-8601 UTC strings ("2026-11-27T17:00:00Z").
 */
import type { SessionStatus } from '../allocation/types.ts';

export type NodeKind = 'feeder' | 'circuit' | 'charger' | 'connector';

export type ChargerSpec = {
  /** The least power the charger can deliver when it charges at all, W. */
  minPowerW: string;
  maxPowerW: string;
  bidirectional: boolean;
  /** Discharge bounds, W (positive figures); both null unless bidirectional. */
  minDischargePowerW: string | null;
  maxDischargePowerW: string | null;
};

/** When a rule is in force: [start, end) and, within it, optional days of week and a daily window (UTC). */
export type RuleWindow = {
  start: string;
  end: string | null;
  /** ISO days, 1 = Monday … 7 = Sunday; null = every day. */
  daysOfWeek: number[] | null;
  /** "HH:MM" UTC; both null = all day; dailyTo <= dailyFrom wraps midnight (22:00–06:00). */
  dailyFrom: string | null;
  dailyTo: string | null;
};

/** A rule on one node of this site, or on an area (a set of sites): an area rule caps each site's connection. */
export type RuleScope = { kind: 'node'; nodeId: string } | { kind: 'area'; areaId: string };

export type CongestionRule = {
  ruleId: string;
  /** Higher wins when two rules bind with the same figure (only matters for the reason shown). */
  priority: number;
  scope: RuleScope;
  window: RuleWindow;
  importCapW: string | null;
  exportCapW: string | null;
  reason: string | null;
  /** Who asked, e.g. a grid operator's flexibility request id. */
  source: string | null;
};

export type SetpointChange = { sessionId: string; powerW: string; status: SessionStatus; reason: string | null };

export type SiteCommand =
  | { type: 'RegisterSite'; siteId: string; name: string; importLimitW: string; exportLimitW: string }
  | { type: 'RenameSite'; siteId: string; name: string }
  | {
      type: 'ConfigureSite';
      siteId: string;
      rotationIntervalS: number;
      promoteAfterS: number;
      dischargePriceThresholdMinorPerKWh: string | null;
      /** The price zone whose spot price is compared with the threshold; required with a threshold. */
      priceZone: string | null;
    }
  | {
      type: 'AddNode';
      siteId: string;
      at: string;
      nodeId: string;
      parentId: string;
      kind: NodeKind;
      name: string;
      importLimitW: string;
      exportLimitW: string;
      charger: ChargerSpec | null;
    }
  | { type: 'ChangeNodeLimits'; siteId: string; at: string; nodeId: string; importLimitW: string; exportLimitW: string }
  | { type: 'ChangeCharger'; siteId: string; at: string; nodeId: string; charger: ChargerSpec }
  | { type: 'RemoveNode'; siteId: string; at: string; nodeId: string }
  | { type: 'RecordNodeLoad'; siteId: string; at: string; nodeId: string; occurredAt: string; otherLoadW: string; generationW: string }
  | { type: 'AddCongestionRule'; siteId: string; at: string; rule: CongestionRule }
  | { type: 'RemoveCongestionRule'; siteId: string; at: string; ruleId: string }
  | { type: 'RequestDischarge'; siteId: string; at: string; requestId: string; nodeId: string; start: string; end: string; powerW: string; source: string | null }
  | { type: 'CancelDischargeRequest'; siteId: string; at: string; requestId: string }
  | {
      type: 'OccupyConnector';
      siteId: string;
      at: string;
      connectorId: string;
      sessionId: string;
      /** The session's own bounds (the vehicle's); the site intersects them with the charger's. */
      minPowerW: string;
      maxPowerW: string;
      /** null unless the driver consented to V2G. */
      maxDischargePowerW: string | null;
    }
  | { type: 'ReleaseConnector'; siteId: string; at: string; connectorId: string; sessionId: string }
  /** Records an allocation: `setpoints` may list every session or only some; the rest keep theirs. */
  | { type: 'AssignSetpoints'; siteId: string; at: string; trigger: string; setpoints: SetpointChange[] };

export type SiteEvent =
  | { type: 'SiteRegistered'; data: { siteId: string; name: string; importLimitW: string; exportLimitW: string } }
  | { type: 'SiteRenamed'; data: { siteId: string; name: string } }
  | {
      type: 'SiteConfigured';
      data: { siteId: string; rotationIntervalS: number; promoteAfterS: number; dischargePriceThresholdMinorPerKWh: string | null; priceZone: string | null };
    }
  | {
      type: 'NodeAdded';
      data: { siteId: string; nodeId: string; parentId: string; kind: NodeKind; name: string; importLimitW: string; exportLimitW: string; charger: ChargerSpec | null };
    }
  | { type: 'NodeLimitsChanged'; data: { siteId: string; nodeId: string; importLimitW: string; exportLimitW: string } }
  | { type: 'ChargerChanged'; data: { siteId: string; nodeId: string; charger: ChargerSpec } }
  | { type: 'NodeRemoved'; data: { siteId: string; nodeId: string } }
  | { type: 'NodeLoadMeasured'; data: { siteId: string; nodeId: string; occurredAt: string; otherLoadW: string; generationW: string } }
  | { type: 'CongestionRuleAdded'; data: { siteId: string; rule: CongestionRule } }
  | { type: 'CongestionRuleRemoved'; data: { siteId: string; ruleId: string } }
  | { type: 'DischargeRequested'; data: { siteId: string; requestId: string; nodeId: string; start: string; end: string; powerW: string; source: string | null } }
  | { type: 'DischargeRequestCancelled'; data: { siteId: string; requestId: string } }
  | {
      type: 'ConnectorOccupied';
      data: { siteId: string; connectorId: string; sessionId: string; at: string; minPowerW: string; maxPowerW: string; maxDischargePowerW: string | null };
    }
  | { type: 'ConnectorReleased'; data: { siteId: string; connectorId: string; sessionId: string; at: string } }
  | { type: 'SetpointsAssigned'; data: { siteId: string; at: string; trigger: string; setpoints: SetpointChange[] } }
  | { type: 'SessionPutOnHold'; data: { siteId: string; sessionId: string; at: string; reason: string } }
  | { type: 'SessionResumed'; data: { siteId: string; sessionId: string; at: string } };

/** Every site event type, once: a Record so that an event added to SiteEvent must be listed here. */
const SITE_EVENT_TYPE_SET: Record<SiteEvent['type'], true> = {
  SiteRegistered: true,
  SiteRenamed: true,
  SiteConfigured: true,
  NodeAdded: true,
  NodeLimitsChanged: true,
  ChargerChanged: true,
  NodeRemoved: true,
  NodeLoadMeasured: true,
  CongestionRuleAdded: true,
  CongestionRuleRemoved: true,
  DischargeRequested: true,
  DischargeRequestCancelled: true,
  ConnectorOccupied: true,
  ConnectorReleased: true,
  SetpointsAssigned: true,
  SessionPutOnHold: true,
  SessionResumed: true,
};

export const SITE_EVENT_TYPES = Object.keys(SITE_EVENT_TYPE_SET) as readonly SiteEvent['type'][];

export type SiteNode = {
  nodeId: string;
  /** null for the root, whose nodeId is the siteId. */
  parentId: string | null;
  kind: 'site' | NodeKind;
  name: string;
  importLimitW: string;
  exportLimitW: string;
  charger: ChargerSpec | null;
  children: string[];
};

export type NodeLoad = { occurredAt: string; otherLoadW: string; generationW: string };

export type DischargeRequest = { requestId: string; nodeId: string; start: string; end: string; powerW: string; source: string | null };

/** A session plugged in at a connector, and what the last allocation gave it. */
export type Occupancy = {
  sessionId: string;
  connectorId: string;
  occupiedAt: string;
  minPowerW: string;
  maxPowerW: string;
  maxDischargePowerW: string | null;
  setpointW: string;
  /** 'pending' until the first allocation after plug-in. */
  status: SessionStatus | 'pending';
  reason: string | null;
  /** When the current status began: a turn's start while powered, waiting-since otherwise. */
  since: string;
};

export type RegisteredSite = {
  status: 'registered';
  siteId: string;
  name: string;
  importLimitW: string;
  exportLimitW: string;
  rotationIntervalS: number;
  promoteAfterS: number;
  dischargePriceThresholdMinorPerKWh: string | null;
  priceZone: string | null;
  /** Every node by id, the root (id = siteId) included. */
  nodes: ReadonlyMap<string, SiteNode>;
  /** Latest measured non-EV load per node (by occurredAt). */
  loads: ReadonlyMap<string, NodeLoad>;
  rules: ReadonlyMap<string, CongestionRule>;
  dischargeRequests: ReadonlyMap<string, DischargeRequest>;
  /** By sessionId. */
  sessions: ReadonlyMap<string, Occupancy>;
  /** connectorId -> sessionId */
  connectors: ReadonlyMap<string, string>;
  /** `at` of the last recorded allocation: a later one may not go back in time. */
  lastAllocationAt: string | null;
};

export type SiteState = { status: 'unregistered' } | RegisteredSite;

/** The limits in force at a node at one instant, and what sets each. */
export type EffectiveLimit = {
  nodeId: string;
  importW: string;
  exportW: string;
  /** 'static', 'headroom' or 'rule:<ruleId>' */
  importBoundBy: string;
  exportBoundBy: string;
};
