import type { Decider } from '../decider.ts';
import { DomainError, InvalidCommand } from '../errors.ts';
import { Decimal, parseDecimal, parseNonNegative, toDecimalString, formatInstant, parseInstant, checkZone, parseId } from '../values/index.ts';
import type { SessionStatus } from '../allocation/types.ts';
import { decimalString, limitViolations, nonZeroFlows, sessionBounds } from './effective-limits.ts';
import { checkRuleWindow } from './rule-window.ts';
import { MAX_READING_AHEAD_MS } from '../metering/register-series.ts';
import {
  AllocationOutOfOrder,
  CannotRemoveRoot,
  ConnectorInUse,
  DischargeNotSupported,
  DischargeRequestAlreadyExists,
  GridLimitExceeded,
  InvalidNodePlacement,
  NoCommonPower,
  NodeAlreadyExists,
  NodeHasChildren,
  NotACharger,
  NotAConnector,
  ReadingFromFuture,
  RuleAlreadyExists,
  SessionAlreadyAtSite,
  SessionNotAtConnector,
  SessionNotAtSite,
  SetpointOutOfRange,
  UnknownDischargeRequest,
  UnknownNode,
  UnknownRule,
} from './site-errors.ts';
import type {
  ChargerSpec,
  CongestionRule,
  NodeKind,
  Occupancy,
  RegisteredSite,
  SetpointChange,
  SiteCommand,
  SiteEvent,
  SiteNode,
  SiteState,
} from './site-types.ts';

/**
 * The site aggregate (`site-<id>` stream): a grid connection, its electrical tree, what limits it
 * in time, which session occupies which connector, and the setpoints in force. Its invariant: the
 * recorded setpoints never break an effective limit at the instant they were recorded. An
 * allocation that would is refused; a command that lowers a limit below the setpoints in force is
 * followed, in the same append, by a curtailment that puts the sessions below the node on hold.
 */
export type * from './site-types.ts';
export { SITE_EVENT_TYPES } from './site-types.ts';

export class SiteAlreadyRegistered extends DomainError {
  readonly code = 'SITE_ALREADY_REGISTERED';
  constructor(siteId: string) {
    super(`site ${siteId} is already registered`, { siteId });
  }
}

export class UnknownSite extends DomainError {
  readonly code = 'UNKNOWN_SITE';
  constructor(siteId: string) {
    super(`site ${siteId} is not registered`, { siteId });
  }
}

const ZERO = new Decimal(0);
const NODE_KINDS: readonly NodeKind[] = ['feeder', 'circuit', 'charger', 'connector'];
const SETPOINT_STATUSES: readonly SessionStatus[] = ['charging', 'discharging', 'on_hold', 'done'];

export const DEFAULT_ROTATION_INTERVAL_S = 900;
export const DEFAULT_PROMOTE_AFTER_S = 3600;

export const siteStreamId = (siteId: string): string => `site-${siteId}`;

export function checkSiteId(siteId: unknown): string {
  return parseId('siteId', siteId);
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    throw new InvalidCommand('name', 'must be a non-empty text of at most 200 characters');
  }
  return name.trim();
}

function checkText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) {
    throw new InvalidCommand(field, `must be a non-empty text of at most ${maxLength} characters`);
  }
  return value;
}

function checkOptionalText(field: string, value: unknown, maxLength: number): string | null {
  return value === null || value === undefined ? null : checkText(field, value, maxLength);
}

function checkPositive(field: string, value: unknown): Decimal {
  const parsed = parseNonNegative(field, value);
  if (parsed.isZero()) throw new InvalidCommand(field, 'must be positive');
  return parsed;
}

function checkChargerSpec(field: string, value: unknown): ChargerSpec {
  if (typeof value !== 'object' || value === null) throw new InvalidCommand(field, 'must be an object');
  const spec = value as Record<string, unknown>;
  const min = parseNonNegative(`${field}.minPowerW`, spec['minPowerW']);
  const max = checkPositive(`${field}.maxPowerW`, spec['maxPowerW']);
  if (min.gt(max)) throw new InvalidCommand(`${field}.minPowerW`, `${min.toFixed()} is above maxPowerW ${max.toFixed()}`);
  const bidirectional = spec['bidirectional'];
  if (typeof bidirectional !== 'boolean') throw new InvalidCommand(`${field}.bidirectional`, 'must be true or false');
  if (!bidirectional) {
    for (const key of ['minDischargePowerW', 'maxDischargePowerW']) {
      if (spec[key] !== null && spec[key] !== undefined) throw new InvalidCommand(`${field}.${key}`, 'must be null unless the charger is bidirectional');
    }
    return { minPowerW: toDecimalString(min), maxPowerW: toDecimalString(max), bidirectional, minDischargePowerW: null, maxDischargePowerW: null };
  }
  for (const key of ['minDischargePowerW', 'maxDischargePowerW']) {
    if (spec[key] === null || spec[key] === undefined) throw new InvalidCommand(`${field}.${key}`, 'is required for a bidirectional charger');
  }
  const minD = parseNonNegative(`${field}.minDischargePowerW`, spec['minDischargePowerW']);
  const maxD = checkPositive(`${field}.maxDischargePowerW`, spec['maxDischargePowerW']);
  if (minD.gt(maxD)) throw new InvalidCommand(`${field}.minDischargePowerW`, `${minD.toFixed()} is above maxDischargePowerW ${maxD.toFixed()}`);
  return {
    minPowerW: toDecimalString(min),
    maxPowerW: toDecimalString(max),
    bidirectional,
    minDischargePowerW: toDecimalString(minD),
    maxDischargePowerW: toDecimalString(maxD),
  };
}

function checkRule(value: unknown): CongestionRule {
  if (typeof value !== 'object' || value === null) throw new InvalidCommand('rule', 'must be an object');
  const rule = value as Record<string, unknown>;
  const ruleId = parseId('rule.ruleId', rule['ruleId']);
  const priority = rule['priority'];
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) throw new InvalidCommand('rule.priority', `${JSON.stringify(priority)} is not an integer`);
  const scopeRaw = rule['scope'];
  if (typeof scopeRaw !== 'object' || scopeRaw === null) throw new InvalidCommand('rule.scope', 'must be an object');
  const scopeKind = (scopeRaw as Record<string, unknown>)['kind'];
  let scope: CongestionRule['scope'];
  if (scopeKind === 'node') scope = { kind: 'node', nodeId: parseId('rule.scope.nodeId', (scopeRaw as Record<string, unknown>)['nodeId']) };
  else if (scopeKind === 'area') scope = { kind: 'area', areaId: parseId('rule.scope.areaId', (scopeRaw as Record<string, unknown>)['areaId']) };
  else throw new InvalidCommand('rule.scope.kind', `${JSON.stringify(scopeKind)} is neither "node" nor "area"`);
  const window = checkRuleWindow('rule.window', rule['window']);
  const importCap = rule['importCapW'] === null || rule['importCapW'] === undefined ? null : parseNonNegative('rule.importCapW', rule['importCapW']);
  const exportCap = rule['exportCapW'] === null || rule['exportCapW'] === undefined ? null : parseNonNegative('rule.exportCapW', rule['exportCapW']);
  if (importCap === null && exportCap === null) throw new InvalidCommand('rule', 'needs an importCapW, an exportCapW or both');
  return {
    ruleId,
    priority,
    scope,
    window,
    importCapW: importCap === null ? null : toDecimalString(importCap),
    exportCapW: exportCap === null ? null : toDecimalString(exportCap),
    reason: checkOptionalText('rule.reason', rule['reason'], 500),
    source: checkOptionalText('rule.source', rule['source'], 200),
  };
}

function registered(state: SiteState, siteIdRaw: unknown): RegisteredSite {
  const siteId = checkSiteId(siteIdRaw);
  if (state.status !== 'registered') throw new UnknownSite(siteId);
  if (state.siteId !== siteId) throw new InvalidCommand('siteId', `${siteId} is not this stream's site (${state.siteId})`);
  return state;
}

function nodeOf(site: RegisteredSite, nodeId: string): SiteNode {
  const node = site.nodes.get(nodeId);
  if (!node) throw new UnknownNode(site.siteId, nodeId);
  return node;
}

function connectorOf(site: RegisteredSite, connectorId: string): SiteNode {
  const node = nodeOf(site, connectorId);
  if (node.kind !== 'connector') throw new NotAConnector(connectorId, node.kind);
  return node;
}

const isPowered = (status: Occupancy['status']): boolean => status === 'charging' || status === 'discharging';

/** Whether a non-zero setpoint is allowed for its status by the session's current bounds. */
function setpointFits(site: RegisteredSite, occupancy: Occupancy, power: Decimal, status: Occupancy['status']): boolean {
  const bounds = sessionBounds(site, occupancy);
  if (status === 'charging') return power.gt(ZERO) && power.gte(bounds.charge.minW) && power.lte(bounds.charge.maxW);
  if (status === 'discharging') {
    if (bounds.discharge === null || !power.lt(ZERO)) return false;
    const fed = power.negated();
    return fed.gte(bounds.discharge.minW) && fed.lte(bounds.discharge.maxW);
  }
  return power.isZero();
}

/** All connectors in the subtree of `nodeId` (itself included). */
function connectorsBelow(site: RegisteredSite, nodeId: string): string[] {
  const found: string[] = [];
  const stack = [nodeId];
  while (stack.length > 0) {
    const node = site.nodes.get(stack.pop()!);
    if (!node) continue;
    if (node.kind === 'connector') found.push(node.nodeId);
    for (const child of node.children) stack.push(child);
  }
  return found;
}

/**
 * The curtailment the site needs at `atMs` to keep its invariant: every powered session below a
 * node whose effective limit the setpoints break goes to 0 and on hold (and, after a charger change,
 * every session at that charger whose setpoint no longer fits its narrowed bounds). Repeats until no
 * node is violated (holding a discharging session raises the flow of its ancestors); terminates
 * because all-zero breaks no limit (limits are >= 0).
 */
function curtailment(site: RegisteredSite, atMs: number, changedChargerId: string | null): SiteEvent[] {
  const powered = new Map<string, Decimal>();
  const reasons = new Map<string, string>();
  const atCharger = new Set(changedChargerId === null ? [] : (site.nodes.get(changedChargerId)?.children ?? []));
  for (const occupancy of site.sessions.values()) {
    if (occupancy.setpointW === '0') continue;
    const power = new Decimal(occupancy.setpointW);
    if (power.isZero()) continue;
    if (atCharger.has(occupancy.connectorId) && !setpointFits(site, occupancy, power, occupancy.status)) reasons.set(occupancy.sessionId, `curtailed:${changedChargerId}`);
    else powered.set(occupancy.sessionId, power);
  }
  for (;;) {
    const flows = nonZeroFlows(site, (o) => powered.get(o.sessionId) ?? null);
    const violations = limitViolations(site, flows, atMs);
    if (violations.length === 0) break;
    for (const violation of violations) {
      for (const connectorId of connectorsBelow(site, violation.nodeId)) {
        const sessionId = site.connectors.get(connectorId);
        if (sessionId !== undefined && powered.delete(sessionId)) reasons.set(sessionId, `curtailed:${violation.nodeId}`);
      }
    }
  }
  if (reasons.size === 0) return [];
  const at = formatInstant(atMs);
  const setpoints: SetpointChange[] = [];
  for (const occupancy of site.sessions.values()) {
    const reason = reasons.get(occupancy.sessionId);
    if (reason !== undefined) setpoints.push({ sessionId: occupancy.sessionId, powerW: '0', status: 'on_hold', reason });
  }
  return [
    { type: 'SetpointsAssigned', data: { siteId: site.siteId, at, trigger: 'curtailment', setpoints } },
    ...setpoints.map((s): SiteEvent => ({ type: 'SessionPutOnHold', data: { siteId: site.siteId, sessionId: s.sessionId, at, reason: s.reason! } })),
  ];
}

/** The change, then whatever curtailment the state after it needs at `atMs`. */
function withCurtailment(site: RegisteredSite, events: SiteEvent[], atMs: number, changedChargerId: string | null = null): SiteEvent[] {
  if (events.length === 0) return events;
  const after = foldSiteEvents(site, events);
  if (after.status !== 'registered') return events;
  return [...events, ...curtailment(after, atMs, changedChargerId)];
}

function decideAddNode(site: RegisteredSite, c: Extract<SiteCommand, { type: 'AddNode' }>): SiteEvent[] {
  const nodeId = parseId('nodeId', c.nodeId);
  const parentId = parseId('parentId', c.parentId);
  const kind = c.kind;
  if (!NODE_KINDS.includes(kind)) throw new InvalidCommand('kind', `${JSON.stringify(kind)} is not one of ${NODE_KINDS.join(', ')}`);
  const name = checkName(c.name);
  const importLimitW = toDecimalString(parseNonNegative('importLimitW', c.importLimitW));
  const exportLimitW = toDecimalString(parseNonNegative('exportLimitW', c.exportLimitW));
  let charger: ChargerSpec | null = null;
  if (kind === 'charger') {
    if (c.charger === null || c.charger === undefined) throw new InvalidCommand('charger', 'is required for a charger node');
    charger = checkChargerSpec('charger', c.charger);
  } else if (c.charger !== null && c.charger !== undefined) {
    throw new InvalidCommand('charger', `only a charger node has a charger spec, not a ${kind}`);
  }
  if (site.nodes.has(nodeId)) throw new NodeAlreadyExists(site.siteId, nodeId);
  const parent = nodeOf(site, parentId);
  const allowed = kind === 'connector' ? parent.kind === 'charger' : parent.kind === 'site' || parent.kind === 'feeder' || parent.kind === 'circuit';
  if (!allowed) throw new InvalidNodePlacement(nodeId, kind, parentId, parent.kind);
  return [{ type: 'NodeAdded', data: { siteId: site.siteId, nodeId, parentId, kind, name, importLimitW, exportLimitW, charger } }];
}

function decideChangeCharger(site: RegisteredSite, c: Extract<SiteCommand, { type: 'ChangeCharger' }>): SiteEvent[] {
  const nodeId = parseId('nodeId', c.nodeId);
  const charger = checkChargerSpec('charger', c.charger);
  const node = nodeOf(site, nodeId);
  if (node.kind !== 'charger') throw new NotACharger(nodeId, node.kind);
  if (JSON.stringify(node.charger) === JSON.stringify(charger)) return [];
  for (const connectorId of node.children) {
    const sessionId = site.connectors.get(connectorId);
    const occupancy = sessionId === undefined ? undefined : site.sessions.get(sessionId);
    if (!occupancy) continue;
    const narrowed = narrowToCharger(occupancy, charger);
    if (new Decimal(narrowed.minPowerW).gt(narrowed.maxPowerW)) {
      throw new NoCommonPower({
        sessionId: occupancy.sessionId,
        connectorId,
        chargerId: nodeId,
        direction: 'charge',
        sessionMinW: occupancy.minPowerW,
        sessionMaxW: occupancy.maxPowerW,
        chargerMinW: charger.minPowerW,
        chargerMaxW: charger.maxPowerW,
      });
    }
  }
  return [{ type: 'ChargerChanged', data: { siteId: site.siteId, nodeId, charger } }];
}

function decideOccupy(site: RegisteredSite, c: Extract<SiteCommand, { type: 'OccupyConnector' }>, at: string): SiteEvent[] {
  const connectorId = parseId('connectorId', c.connectorId);
  const sessionId = parseId('sessionId', c.sessionId);
  const sessionMin = parseNonNegative('minPowerW', c.minPowerW);
  const sessionMax = parseNonNegative('maxPowerW', c.maxPowerW);
  if (sessionMin.gt(sessionMax)) throw new InvalidCommand('minPowerW', `${sessionMin.toFixed()} is above maxPowerW ${sessionMax.toFixed()}`);
  const sessionMaxDischarge = c.maxDischargePowerW === null || c.maxDischargePowerW === undefined ? null : checkPositive('maxDischargePowerW', c.maxDischargePowerW);
  const connector = connectorOf(site, connectorId);
  const already = site.sessions.get(sessionId);
  if (already) throw new SessionAlreadyAtSite(sessionId, already.connectorId);
  const occupant = site.connectors.get(connectorId);
  if (occupant !== undefined) throw new ConnectorInUse(connectorId, occupant);
  const chargerId = connector.parentId!;
  const spec = nodeOf(site, chargerId).charger!;
  const min = Decimal.max(sessionMin, spec.minPowerW);
  const max = Decimal.min(sessionMax, spec.maxPowerW);
  if (min.gt(max)) {
    throw new NoCommonPower({
      sessionId,
      connectorId,
      chargerId,
      direction: 'charge',
      sessionMinW: toDecimalString(sessionMin),
      sessionMaxW: toDecimalString(sessionMax),
      chargerMinW: spec.minPowerW,
      chargerMaxW: spec.maxPowerW,
    });
  }
  let maxDischarge: Decimal | null = null;
  if (sessionMaxDischarge !== null) {
    if (!spec.bidirectional || spec.minDischargePowerW === null || spec.maxDischargePowerW === null) throw new DischargeNotSupported(sessionId, connectorId, chargerId);
    maxDischarge = Decimal.min(sessionMaxDischarge, spec.maxDischargePowerW);
    if (maxDischarge.lt(spec.minDischargePowerW)) {
      throw new NoCommonPower({
        sessionId,
        connectorId,
        chargerId,
        direction: 'discharge',
        sessionMinW: '0',
        sessionMaxW: toDecimalString(sessionMaxDischarge),
        chargerMinW: spec.minDischargePowerW,
        chargerMaxW: spec.maxDischargePowerW,
      });
    }
  }
  return [
    {
      type: 'ConnectorOccupied',
      data: {
        siteId: site.siteId,
        connectorId,
        sessionId,
        at,
        minPowerW: decimalString(min),
        maxPowerW: decimalString(max),
        maxDischargePowerW: maxDischarge === null ? null : decimalString(maxDischarge),
      },
    },
  ];
}

function decideAssign(site: RegisteredSite, c: Extract<SiteCommand, { type: 'AssignSetpoints' }>): SiteEvent[] {
  const atMs = parseInstant('at', c.at);
  const at = formatInstant(atMs);
  if (site.lastAllocationAt !== null && atMs < parseInstant('lastAllocationAt', site.lastAllocationAt)) {
    throw new AllocationOutOfOrder(at, site.lastAllocationAt);
  }
  const trigger = checkText('trigger', c.trigger, 100);
  if (!Array.isArray(c.setpoints)) throw new InvalidCommand('setpoints', 'must be a list');
  const assigned = new Map<string, { power: Decimal; change: SetpointChange }>();
  c.setpoints.forEach((raw: unknown, i) => {
    const field = `setpoints[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new InvalidCommand(field, 'must be an object');
    const entry = raw as Record<string, unknown>;
    const sessionId = parseId(`${field}.sessionId`, entry['sessionId']);
    if (assigned.has(sessionId)) throw new InvalidCommand(`${field}.sessionId`, `session ${sessionId} is listed twice`);
    const power = parseDecimal(`${field}.powerW`, entry['powerW']);
    const status = entry['status'] as SessionStatus;
    if (!SETPOINT_STATUSES.includes(status)) throw new InvalidCommand(`${field}.status`, `${JSON.stringify(status)} is not one of ${SETPOINT_STATUSES.join(', ')}`);
    const reason = checkOptionalText(`${field}.reason`, entry['reason'], 200);
    const powerW = decimalString(power);
    if (power.gt(ZERO) && status !== 'charging') throw new InvalidCommand(`${field}.status`, `a positive powerW (${powerW}) means charging, not ${status}`);
    if (power.lt(ZERO) && status !== 'discharging') throw new InvalidCommand(`${field}.status`, `a negative powerW (${powerW}) means discharging, not ${status}`);
    if (power.isZero() && isPowered(status)) throw new InvalidCommand(`${field}.status`, `${status} needs a non-zero powerW: 0 is on_hold or done`);
    const occupancy = site.sessions.get(sessionId);
    if (!occupancy) throw new SessionNotAtSite(site.siteId, sessionId);
    if (!setpointFits(site, occupancy, power, status)) {
      const bounds = sessionBounds(site, occupancy);
      if (status === 'charging') throw new SetpointOutOfRange(sessionId, powerW, status, bounds.charge.minW, bounds.charge.maxW);
      const d = bounds.discharge;
      throw new SetpointOutOfRange(sessionId, powerW, status, d === null ? null : decimalString(new Decimal(d.maxW).negated()), d === null ? null : decimalString(new Decimal(d.minW).negated()));
    }
    assigned.set(sessionId, { power, change: { sessionId, powerW, status, reason } });
  });

  const flows = nonZeroFlows(site, (o) => {
    const entry = assigned.get(o.sessionId);
    if (entry) return entry.power;
    return o.setpointW === '0' ? null : new Decimal(o.setpointW);
  });
  const [violation] = limitViolations(site, flows, atMs);
  if (violation) throw new GridLimitExceeded(violation);

  const changed: SetpointChange[] = [];
  for (const { change } of assigned.values()) {
    const o = site.sessions.get(change.sessionId)!;
    if (o.setpointW !== change.powerW || o.status !== change.status || o.reason !== change.reason) changed.push(change);
  }
  if (changed.length === 0) return [];
  const events: SiteEvent[] = [{ type: 'SetpointsAssigned', data: { siteId: site.siteId, at, trigger, setpoints: changed } }];
  for (const change of changed) {
    const before = site.sessions.get(change.sessionId)!.status;
    if (!isPowered(before) && isPowered(change.status)) {
      events.push({ type: 'SessionResumed', data: { siteId: site.siteId, sessionId: change.sessionId, at } });
    } else if (change.status === 'on_hold' && before !== 'on_hold') {
      events.push({ type: 'SessionPutOnHold', data: { siteId: site.siteId, sessionId: change.sessionId, at, reason: change.reason ?? trigger } });
    }
  }
  return events;
}

function decide(command: SiteCommand, state: SiteState): SiteEvent[] {
  switch (command.type) {
    case 'RegisterSite': {
      const siteId = checkSiteId(command.siteId);
      const name = checkName(command.name);
      const importLimitW = toDecimalString(parseNonNegative('importLimitW', command.importLimitW));
      const exportLimitW = toDecimalString(parseNonNegative('exportLimitW', command.exportLimitW));
      if (state.status === 'registered') throw new SiteAlreadyRegistered(siteId);
      return [{ type: 'SiteRegistered', data: { siteId, name, importLimitW, exportLimitW } }];
    }
    case 'RenameSite': {
      const siteId = checkSiteId(command.siteId);
      const name = checkName(command.name);
      const site = registered(state, siteId);
      if (site.name === name) return [];
      return [{ type: 'SiteRenamed', data: { siteId, name } }];
    }
    case 'ConfigureSite': {
      const site = registered(state, command.siteId);
      const { rotationIntervalS, promoteAfterS } = command;
      if (typeof rotationIntervalS !== 'number' || !Number.isInteger(rotationIntervalS) || rotationIntervalS < 60 || rotationIntervalS > 86_400) {
        throw new InvalidCommand('rotationIntervalS', `${JSON.stringify(rotationIntervalS)} must be a whole number of seconds from 60 to 86400`);
      }
      if (typeof promoteAfterS !== 'number' || !Number.isSafeInteger(promoteAfterS) || promoteAfterS < rotationIntervalS) {
        throw new InvalidCommand('promoteAfterS', `${JSON.stringify(promoteAfterS)} must be a whole number of seconds, at least rotationIntervalS (${rotationIntervalS})`);
      }
      const threshold = command.dischargePriceThresholdMinorPerKWh;
      const dischargePriceThresholdMinorPerKWh =
        threshold === null || threshold === undefined ? null : decimalString(parseDecimal('dischargePriceThresholdMinorPerKWh', threshold));
      const priceZone = command.priceZone === null || command.priceZone === undefined ? null : checkZone('priceZone', command.priceZone);
      if (dischargePriceThresholdMinorPerKWh !== null && priceZone === null) {
        throw new InvalidCommand('priceZone', 'is needed with a discharge price threshold: the price of which zone?');
      }
      if (
        site.rotationIntervalS === rotationIntervalS &&
        site.promoteAfterS === promoteAfterS &&
        site.dischargePriceThresholdMinorPerKWh === dischargePriceThresholdMinorPerKWh &&
        site.priceZone === priceZone
      ) {
        return [];
      }
      return [{ type: 'SiteConfigured', data: { siteId: site.siteId, rotationIntervalS, promoteAfterS, dischargePriceThresholdMinorPerKWh, priceZone } }];
    }
    case 'AssignSetpoints':
      return decideAssign(registered(state, command.siteId), command);
    default:
      return decideAt(command, state);
  }
}

/** What follows a change that can lower a limit or raise a flow: by default the curtailment the state after it needs. */
type AfterChange = (site: RegisteredSite, events: SiteEvent[], atMs: number, changedChargerId: string | null) => SiteEvent[];

type TimedCommand = Exclude<SiteCommand, { type: 'RegisterSite' | 'RenameSite' | 'ConfigureSite' | 'AssignSetpoints' }>;

/**
 * Commands with an `at`. Those that can lower an effective limit or raise a flow (node limits, a
 * charger, a load reading, a new rule, a release, a removal) are followed by the curtailment the
 * state after them needs at `at`; the others cannot break a limit that held.
 */
function decideAt(command: TimedCommand, state: SiteState, afterChange: AfterChange = withCurtailment): SiteEvent[] {
  const site = registered(state, command.siteId);
  const atMs = parseInstant('at', command.at);
  const at = formatInstant(atMs);
  const siteId = site.siteId;
  let events: SiteEvent[];
  switch (command.type) {
    case 'AddNode':
      return decideAddNode(site, command);
    case 'ChangeNodeLimits': {
      const nodeId = parseId('nodeId', command.nodeId);
      const importLimitW = toDecimalString(parseNonNegative('importLimitW', command.importLimitW));
      const exportLimitW = toDecimalString(parseNonNegative('exportLimitW', command.exportLimitW));
      const node = nodeOf(site, nodeId);
      events = node.importLimitW === importLimitW && node.exportLimitW === exportLimitW ? [] : [{ type: 'NodeLimitsChanged', data: { siteId, nodeId, importLimitW, exportLimitW } }];
      break;
    }
    case 'ChangeCharger':
      return afterChange(site, decideChangeCharger(site, command), atMs, command.nodeId);
    case 'RemoveNode': {
      const nodeId = parseId('nodeId', command.nodeId);
      const node = nodeOf(site, nodeId);
      if (node.parentId === null) throw new CannotRemoveRoot(nodeId);
      if (node.children.length > 0) throw new NodeHasChildren(nodeId, node.children);
      const occupant = site.connectors.get(nodeId);
      if (occupant !== undefined) throw new ConnectorInUse(nodeId, occupant);
      events = [{ type: 'NodeRemoved', data: { siteId, nodeId } }];
      break;
    }
    case 'RecordNodeLoad': {
      const nodeId = parseId('nodeId', command.nodeId);
      const occurredAtMs = parseInstant('occurredAt', command.occurredAt);
      const otherLoadW = toDecimalString(parseNonNegative('otherLoadW', command.otherLoadW));
      const generationW = toDecimalString(parseNonNegative('generationW', command.generationW));
      nodeOf(site, nodeId);
      const occurredAt = formatInstant(occurredAtMs);
      if (occurredAtMs - atMs > MAX_READING_AHEAD_MS) throw new ReadingFromFuture(nodeId, occurredAt, at);
      events = [{ type: 'NodeLoadMeasured', data: { siteId, nodeId, occurredAt, otherLoadW, generationW } }];
      break;
    }
    case 'AddCongestionRule': {
      const rule = checkRule(command.rule);
      if (site.rules.has(rule.ruleId)) throw new RuleAlreadyExists(rule.ruleId);
      if (rule.scope.kind === 'node') nodeOf(site, rule.scope.nodeId);
      events = [{ type: 'CongestionRuleAdded', data: { siteId, rule } }];
      break;
    }
    case 'RemoveCongestionRule': {
      const ruleId = parseId('ruleId', command.ruleId);
      if (!site.rules.has(ruleId)) throw new UnknownRule(ruleId);
      return [{ type: 'CongestionRuleRemoved', data: { siteId, ruleId } }];
    }
    case 'RequestDischarge': {
      const requestId = parseId('requestId', command.requestId);
      const nodeId = parseId('nodeId', command.nodeId);
      const startMs = parseInstant('start', command.start);
      const endMs = parseInstant('end', command.end);
      if (endMs <= startMs) throw new InvalidCommand('end', `${command.end} must be after start ${command.start}`);
      if (endMs <= atMs) throw new InvalidCommand('end', `${command.end} is already past at ${at}`);
      const powerW = toDecimalString(checkPositive('powerW', command.powerW));
      const source = checkOptionalText('source', command.source, 200);
      nodeOf(site, nodeId);
      if (site.dischargeRequests.has(requestId)) throw new DischargeRequestAlreadyExists(requestId);
      return [{ type: 'DischargeRequested', data: { siteId, requestId, nodeId, start: formatInstant(startMs), end: formatInstant(endMs), powerW, source } }];
    }
    case 'CancelDischargeRequest': {
      const requestId = parseId('requestId', command.requestId);
      if (!site.dischargeRequests.has(requestId)) throw new UnknownDischargeRequest(requestId);
      return [{ type: 'DischargeRequestCancelled', data: { siteId, requestId } }];
    }
    case 'OccupyConnector':
      return decideOccupy(site, command, at);
    case 'ReleaseConnector': {
      const connectorId = parseId('connectorId', command.connectorId);
      const sessionId = parseId('sessionId', command.sessionId);
      connectorOf(site, connectorId);
      const occupant = site.connectors.get(connectorId) ?? null;
      if (occupant !== sessionId) throw new SessionNotAtConnector(connectorId, sessionId, occupant);
      events = [{ type: 'ConnectorReleased', data: { siteId, connectorId, sessionId, at } }];
      break;
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
  return afterChange(site, events, atMs, null);
}

/**
 * A command decided together with the allocation that follows it, as one decision for one append:
 * the change, then the setpoints `plan` makes for the state after it (so a lower limit curtails
 * only what the new room requires, not every session below the node), then whatever curtailment
 * is still needed (none when the plan keeps the limits). When the site refuses the plan (it is
 * stale, or out of order), `refused` hears why and the change is followed by the curtailment alone.
 */
export function decideWithAllocation(
  command: SiteCommand,
  state: SiteState,
  plan: (after: RegisteredSite) => Extract<SiteCommand, { type: 'AssignSetpoints' }> | null,
  refused: (error: DomainError) => void = () => {},
): SiteEvent[] {
  // Where decideAt would curtail; the curtailment is decided here, after the plan.
  const curtail: { atMs: number; changedChargerId: string | null }[] = [];
  const events =
    command.type === 'RegisterSite' || command.type === 'RenameSite' || command.type === 'ConfigureSite' || command.type === 'AssignSetpoints'
      ? decide(command, state)
      : decideAt(command, state, (_site, change, atMs, changedChargerId) => {
          curtail.push({ atMs, changedChargerId });
          return change;
        });
  if (events.length === 0) return events;
  const after = foldSiteEvents(state, events);
  if (after.status !== 'registered') return events;
  let assigned: SiteEvent[] = [];
  const assignment = plan(after);
  if (assignment !== null) {
    try {
      assigned = decideAssign(after, assignment);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      refused(error);
    }
  }
  const allocated = foldSiteEvents(after, assigned) as RegisteredSite;
  const rest = curtail.flatMap(({ atMs, changedChargerId }) => curtailment(allocated, atMs, changedChargerId));
  return [...events, ...assigned, ...rest];
}

/** A charger change narrows the bounds of the sessions at its connectors (they never widen back). */
function narrowToCharger(occupancy: Occupancy, charger: ChargerSpec): Occupancy {
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

function evolve(state: SiteState, event: SiteEvent): SiteState {
  return foldSiteEvents(state, [event]);
}

export const siteDecider: Decider<SiteState, SiteCommand, SiteEvent> = {
  initialState: () => ({ status: 'unregistered' }),
  decide,
  evolve,
  evolveAll: foldSiteEvents,
};
