/**
 * What limits each node of a site at one instant, and the net flow the setpoints put through it.
 *
 * A node's effective import (export) limit is the least of: its static limit; its dynamic headroom,
 * the static limit minus (plus) the measured non-EV load of its subtree (other load minus local
 * generation, from the latest readings); and the caps of every congestion rule in force on it
 * (area rules act on the root). It is clamped at 0, and `boundBy` names what set it.
 */
import { Decimal, parseInstant } from '../values/index.ts';
import { ruleInForceDuring } from './rule-window.ts';
import type { CongestionRule, DischargeRequest, EffectiveLimit, Occupancy, RegisteredSite } from './site-types.ts';

const ZERO = new Decimal(0);

/** The canonical decimal string, never "-0". */
export function decimalString(value: Decimal): string {
  return value.isZero() ? '0' : value.toFixed();
}

/** Every node id, parents before children (root first, children in the order they were added). */
export function nodesTopDown(state: RegisteredSite): string[] {
  const order: string[] = [];
  const stack = [state.siteId];
  while (stack.length > 0) {
    const id = stack.pop()!;
    const node = state.nodes.get(id);
    if (!node) continue;
    order.push(id);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return order;
}

type Candidate = { value: Decimal; by: string; rank: number; priority: number; ruleId: string };

/** static < headroom < rule (higher priority first, then ruleId) when the figures tie. */
function better(a: Candidate, b: Candidate): boolean {
  const c = a.value.cmp(b.value);
  if (c !== 0) return c < 0;
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.ruleId < b.ruleId;
}

function least(candidates: Candidate[]): { value: Decimal; by: string } {
  let best = candidates[0]!;
  for (let i = 1; i < candidates.length; i++) if (better(candidates[i]!, best)) best = candidates[i]!;
  return { value: Decimal.max(best.value, ZERO), by: best.by };
}

/** The node a rule acts on: its node, or the root for an area rule. */
export function ruleTarget(state: RegisteredSite, rule: CongestionRule): string {
  return rule.scope.kind === 'area' ? state.siteId : rule.scope.nodeId;
}

/**
 * Rules in force at some instant of [atMs, untilMs] (at `atMs` alone by default), by the node they
 * act on (rules on removed nodes are ignored).
 */
export function rulesInForce(state: RegisteredSite, atMs: number, untilMs: number = atMs): Map<string, CongestionRule[]> {
  const byNode = new Map<string, CongestionRule[]>();
  for (const rule of state.rules.values()) {
    const target = ruleTarget(state, rule);
    if (!state.nodes.has(target) || !ruleInForceDuring(rule.window, atMs, untilMs)) continue;
    const list = byNode.get(target);
    if (list) list.push(rule);
    else byNode.set(target, [rule]);
  }
  return byNode;
}

type Limit = { importW: Decimal; exportW: Decimal; importBoundBy: string; exportBoundBy: string };

/**
 * What the limits of any node at `atMs` are made of, precomputed once: the non-EV load of each
 * subtree that has a reading (summed up the ancestors of each reading) and the rules in force by
 * node. `limitOf` then costs only the node's own candidates, so a check can look at just the nodes
 * that carry a flow.
 *
 * With `untilMs`, the tightest limit in force anywhere in [atMs, untilMs]: static limits and
 * headroom do not change with time and rule caps only lower a limit, so that is the limit with
 * every rule in force at some instant of the interval.
 */
export function limitContext(state: RegisteredSite, atMs: number, untilMs: number = atMs): { limitOf: (nodeId: string) => Limit } {
  const nonEv = new Map<string, Decimal>();
  for (const [nodeId, load] of state.loads) {
    if (!state.nodes.has(nodeId)) continue;
    const net = new Decimal(load.otherLoadW).minus(load.generationW);
    if (net.isZero()) continue;
    for (let id: string | null = nodeId; id !== null; id = state.nodes.get(id)?.parentId ?? null) {
      nonEv.set(id, (nonEv.get(id) ?? ZERO).plus(net));
    }
  }
  const rules = rulesInForce(state, atMs, untilMs);
  const limitOf = (nodeId: string): Limit => {
    const node = state.nodes.get(nodeId)!;
    const load = nonEv.get(nodeId);
    const staticImport = new Decimal(node.importLimitW);
    const staticExport = new Decimal(node.exportLimitW);
    const nodeRules = rules.get(nodeId);
    if (load === undefined && nodeRules === undefined) return { importW: staticImport, exportW: staticExport, importBoundBy: 'static', exportBoundBy: 'static' };
    const imports: Candidate[] = [{ value: staticImport, by: 'static', rank: 0, priority: 0, ruleId: '' }];
    const exports: Candidate[] = [{ value: staticExport, by: 'static', rank: 0, priority: 0, ruleId: '' }];
    if (load !== undefined && !load.isZero()) {
      imports.push({ value: staticImport.minus(load), by: 'headroom', rank: 1, priority: 0, ruleId: '' });
      exports.push({ value: staticExport.plus(load), by: 'headroom', rank: 1, priority: 0, ruleId: '' });
    }
    for (const rule of nodeRules ?? []) {
      const by = `rule:${rule.ruleId}`;
      if (rule.importCapW !== null) imports.push({ value: new Decimal(rule.importCapW), by, rank: 2, priority: rule.priority, ruleId: rule.ruleId });
      if (rule.exportCapW !== null) exports.push({ value: new Decimal(rule.exportCapW), by, rank: 2, priority: rule.priority, ruleId: rule.ruleId });
    }
    const imp = least(imports);
    const exp = least(exports);
    return { importW: imp.value, exportW: exp.value, importBoundBy: imp.by, exportBoundBy: exp.by };
  };
  return { limitOf };
}

/**
 * The effective limits of every node of the site at `atMs` (or the tightest in [atMs, untilMs], see
 * limitContext), as decimal strings (>= 0), parents before children.
 */
export function effectiveLimits(state: RegisteredSite, atMs: number, untilMs: number = atMs): Map<string, EffectiveLimit> {
  const { limitOf } = limitContext(state, atMs, untilMs);
  const result = new Map<string, EffectiveLimit>();
  for (const nodeId of nodesTopDown(state)) {
    const limit = limitOf(nodeId);
    result.set(nodeId, {
      nodeId,
      importW: decimalString(limit.importW),
      exportW: decimalString(limit.exportW),
      importBoundBy: limit.importBoundBy,
      exportBoundBy: limit.exportBoundBy,
    });
  }
  return result;
}

/**
 * Net flow through the nodes that carry one: the sum of the setpoints of the sessions below each
 * (positive draws, negative feeds back); nodes with no flow are left out. `setpointOf` defaults to
 * each occupancy's recorded setpoint; return null to leave a session out.
 */
export function nonZeroFlows(
  state: RegisteredSite,
  setpointOf: (occupancy: Occupancy) => Decimal | null = (o) => (o.setpointW === '0' ? null : new Decimal(o.setpointW)),
): Map<string, Decimal> {
  const flows = new Map<string, Decimal>();
  for (const occupancy of state.sessions.values()) {
    const power = setpointOf(occupancy);
    if (power === null || power.isZero()) continue;
    const before = flows.get(occupancy.connectorId);
    flows.set(occupancy.connectorId, before === undefined ? power : before.plus(power));
  }
  const order = nodesTopDown(state);
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i]!;
    const children = state.nodes.get(id)!.children;
    if (children.length === 0) continue;
    let sum = flows.get(id);
    for (const child of children) {
      const below = flows.get(child);
      if (below !== undefined) sum = sum === undefined ? below : sum.plus(below);
    }
    if (sum === undefined || sum.isZero()) flows.delete(id);
    else flows.set(id, sum);
  }
  return flows;
}

/** Net flow through every node (0 where nothing flows); see nonZeroFlows. */
export function nodeFlows(state: RegisteredSite, setpointOf?: (occupancy: Occupancy) => Decimal | null): Map<string, Decimal> {
  const sparse = nonZeroFlows(state, setpointOf);
  const flows = new Map<string, Decimal>();
  for (const id of nodesTopDown(state)) flows.set(id, sparse.get(id) ?? ZERO);
  return flows;
}

export type LimitViolation = { nodeId: string; direction: 'import' | 'export'; flowW: string; limitW: string; boundBy: string };

/** The nodes whose flow breaks their effective limit at `atMs`, parents before children. Only nodes with a flow are looked at. */
export function limitViolations(state: RegisteredSite, flows: ReadonlyMap<string, Decimal>, atMs: number): LimitViolation[] {
  const { limitOf } = limitContext(state, atMs);
  const violations: LimitViolation[] = [];
  for (const id of nodesTopDown(state)) {
    const flow = flows.get(id);
    if (flow === undefined || flow.isZero()) continue;
    const limit = limitOf(id);
    if (flow.isPositive()) {
      if (flow.gt(limit.importW))
        violations.push({ nodeId: id, direction: 'import', flowW: decimalString(flow), limitW: decimalString(limit.importW), boundBy: limit.importBoundBy });
    } else if (flow.negated().gt(limit.exportW)) {
      violations.push({ nodeId: id, direction: 'export', flowW: decimalString(flow), limitW: decimalString(limit.exportW), boundBy: limit.exportBoundBy });
    }
  }
  return violations;
}

/** Discharge requests in force at `atMs` ([start, end), on a node that still exists), by start then id. */
export function activeDischargeRequests(state: RegisteredSite, atMs: number): DischargeRequest[] {
  return [...state.dischargeRequests.values()]
    .filter((r) => state.nodes.has(r.nodeId) && parseInstant('start', r.start) <= atMs && atMs < parseInstant('end', r.end))
    .sort((a, b) => (a.start === b.start ? (a.requestId < b.requestId ? -1 : 1) : a.start < b.start ? -1 : 1));
}

export type SessionBounds = {
  /** The charger the session's connector hangs from. */
  chargerId: string;
  /** Charging: a setpoint in [minW, maxW] (and > 0). */
  charge: { minW: string; maxW: string };
  /** Discharging, as positive figures: a setpoint in [-maxW, -minW] (and < 0); null when it may not discharge. */
  discharge: { minW: string; maxW: string } | null;
};

/**
 * What a session may draw or feed back: its occupancy's bounds (already the session's intersected
 * with the charger's) and, for discharge, the charger's current least discharge power.
 */
export function sessionBounds(state: RegisteredSite, occupancy: Occupancy): SessionBounds {
  const connector = state.nodes.get(occupancy.connectorId);
  const chargerId = connector?.parentId ?? occupancy.connectorId;
  const spec = state.nodes.get(chargerId)?.charger ?? null;
  const discharge =
    occupancy.maxDischargePowerW !== null && spec !== null && spec.bidirectional ? { minW: spec.minDischargePowerW ?? '0', maxW: occupancy.maxDischargePowerW } : null;
  return { chargerId, charge: { minW: occupancy.minPowerW, maxW: occupancy.maxPowerW }, discharge };
}
