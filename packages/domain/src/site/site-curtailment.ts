import { Decimal, formatInstant } from '../values/index.ts';
import { limitViolations, nonZeroFlows, sessionBounds } from './effective-limits.ts';
import type { Occupancy, RegisteredSite, SetpointChange, SiteEvent } from './site-types.ts';

/**
 * Curtailment: after a change that lowers a limit or raises a flow, the sessions whose setpoints no
 * longer fit are put on hold, in the same append as the change.
 */
import { foldSiteEvents } from './site-evolve.ts';

const ZERO = new Decimal(0);

/** Whether a non-zero setpoint is allowed for its status by the session's current bounds. */
export function setpointFits(site: RegisteredSite, occupancy: Occupancy, power: Decimal, status: Occupancy['status']): boolean {
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
export function curtailment(site: RegisteredSite, atMs: number, changedChargerId: string | null): SiteEvent[] {
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
export function withCurtailment(site: RegisteredSite, events: SiteEvent[], atMs: number, changedChargerId: string | null = null): SiteEvent[] {
  if (events.length === 0) return events;
  const after = foldSiteEvents(site, events);
  if (after.status !== 'registered') return events;
  return [...events, ...curtailment(after, atMs, changedChargerId)];
}
