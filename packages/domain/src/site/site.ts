import type { Decider } from '../decider.ts';
import { DomainError, InvalidCommand } from '../errors.ts';
import { Decimal, toDecimalString, formatInstant, parseInstant, checkZone, parseId, parseNonNegativeQuantity, parseQuantity } from '../values/index.ts';
import type { SessionStatus } from '../allocation/types.ts';
import { decimalString, limitViolations, nonZeroFlows, sessionBounds } from './effective-limits.ts';
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
import type { ChargerSpec, NodeKind, RegisteredSite, SetpointChange, SiteCommand, SiteEvent, SiteNode, SiteState } from './site-types.ts';
import { checkChargerSpec, checkName, checkOptionalText, checkPositive, checkRule, checkSiteId, checkText } from './site-input.ts';
import { curtailment, setpointFits, withCurtailment } from './site-curtailment.ts';
import { evolve, foldSiteEvents, isPowered, narrowToCharger } from './site-evolve.ts';

export { checkSiteId } from './site-input.ts';
export { DEFAULT_PROMOTE_AFTER_S, DEFAULT_ROTATION_INTERVAL_S, foldSiteEvents } from './site-evolve.ts';

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

export const siteStreamId = (siteId: string): string => `site-${siteId}`;

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

function decideAddNode(site: RegisteredSite, c: Extract<SiteCommand, { type: 'AddNode' }>): SiteEvent[] {
  const nodeId = parseId('nodeId', c.nodeId);
  const parentId = parseId('parentId', c.parentId);
  const kind = c.kind;
  if (!NODE_KINDS.includes(kind)) throw new InvalidCommand('kind', `${JSON.stringify(kind)} is not one of ${NODE_KINDS.join(', ')}`);
  const name = checkName(c.name);
  const importLimitW = toDecimalString(parseNonNegativeQuantity('importLimitW', c.importLimitW));
  const exportLimitW = toDecimalString(parseNonNegativeQuantity('exportLimitW', c.exportLimitW));
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
  const sessionMin = parseNonNegativeQuantity('minPowerW', c.minPowerW);
  const sessionMax = parseNonNegativeQuantity('maxPowerW', c.maxPowerW);
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
    const power = parseQuantity(`${field}.powerW`, entry['powerW']);
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
      throw new SetpointOutOfRange(
        sessionId,
        powerW,
        status,
        d === null ? null : decimalString(new Decimal(d.maxW).negated()),
        d === null ? null : decimalString(new Decimal(d.minW).negated()),
      );
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
      const importLimitW = toDecimalString(parseNonNegativeQuantity('importLimitW', command.importLimitW));
      const exportLimitW = toDecimalString(parseNonNegativeQuantity('exportLimitW', command.exportLimitW));
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
        threshold === null || threshold === undefined ? null : decimalString(parseQuantity('dischargePriceThresholdMinorPerKWh', threshold));
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
      const importLimitW = toDecimalString(parseNonNegativeQuantity('importLimitW', command.importLimitW));
      const exportLimitW = toDecimalString(parseNonNegativeQuantity('exportLimitW', command.exportLimitW));
      const node = nodeOf(site, nodeId);
      events =
        node.importLimitW === importLimitW && node.exportLimitW === exportLimitW ? [] : [{ type: 'NodeLimitsChanged', data: { siteId, nodeId, importLimitW, exportLimitW } }];
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
      const otherLoadW = toDecimalString(parseNonNegativeQuantity('otherLoadW', command.otherLoadW));
      const generationW = toDecimalString(parseNonNegativeQuantity('generationW', command.generationW));
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

export const siteDecider: Decider<SiteState, SiteCommand, SiteEvent> = {
  initialState: () => ({ status: 'unregistered' }),
  decide,
  evolve,
  evolveAll: foldSiteEvents,
};
