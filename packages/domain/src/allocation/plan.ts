import { Decimal, formatInstant, parseInstant } from '../values/index.ts';
import type { SessionState } from '../session/session-types.ts';
import { sessionNeeds, type PluggedInSession } from '../session/session.ts';
import { activeDischargeRequests, effectiveLimits } from '../site/effective-limits.ts';
import type { RegisteredSite, SetpointChange, SiteCommand } from '../site/site-types.ts';
import { allocate, ceilWatts, floorWatts } from './allocate.ts';
import { latestStartMs, limitSteps, sessionPowerSteps, type LimitStep } from './reachable-energy.ts';
import type { AllocationRequest, AllocationResult, AllocationSession, DischargeTarget } from './types.ts';

/**
 * The capacity adjuster's edges: what the site and its sessions know at an instant becomes the
 * kernel's integer request, and the kernel's answer becomes the site command that records it.
 * Every rounding here leans towards safety: limits and maxima down, minima up.
 */

export type PlanInput = {
  site: RegisteredSite;
  /** The session aggregates of the sessions occupying the site's connectors, by sessionId. */
  sessions: ReadonlyMap<string, SessionState>;
  at: number;
  /**
   * How long chargers take to follow a new setpoint, ms (>= 0). The setpoints decided at `at` may
   * still be in force, or only just taking over, until `at + leadMs`, so they must keep every limit
   * in force anywhere in [at, at + leadMs]; the scheduler allocates again at each rule boundary
   * minus the lead, so the limits beyond are met by the next allocation from their first instant.
   */
  leadMs: number;
  /** The energy price in force, when known; discharging for price needs it and the site's threshold. */
  priceMinorPerKWh: string | null;
};

/** Sessions the kernel never sees, with the setpoint they get and why. */
type Excluded = { sessionId: string; reason: string };

export type Plan = { request: AllocationRequest; excluded: Excluded[] };

const floorW = (value: Decimal | string): number => floorWatts(new Decimal(value));
const ceilW = (value: Decimal | string): number => ceilWatts(new Decimal(value));

/** Builds the kernel's request for one site at one instant. */
export function planAllocation({ site, sessions, at, leadMs, priceMinorPerKWh }: PlanInput): Plan {
  if (!Number.isSafeInteger(leadMs) || leadMs < 0) throw new Error(`planAllocation: leadMs must be a whole number of ms >= 0, got ${String(leadMs)}`);
  const limits = effectiveLimits(site, at, at + leadMs);
  const nodes = [...site.nodes.values()].map((node) => {
    const limit = limits.get(node.nodeId);
    if (!limit) throw new Error(`no effective limit for node ${node.nodeId}`);
    return { id: node.nodeId, parentId: node.parentId, importW: floorW(limit.importW), exportW: floorW(limit.exportW) };
  });

  const rotationIntervalS = site.rotationIntervalS;
  const excluded: Excluded[] = [];
  const planned: AllocationSession[] = [];
  // The limits the known rules set from now to the last departure, computed once for the site.
  let steps: LimitStep[] | null = null;
  const stepsUntil = (): LimitStep[] => (steps ??= limitSteps(site, at, lastDepartureMs(site, sessions, at)));
  for (const occupancy of site.sessions.values()) {
    const session = sessions.get(occupancy.sessionId);
    if (!session || session.status === 'none') {
      // The site recorded the plug-in but the session's own stream is missing (a crash between the
      // two writes): no power until the plug-in is retried.
      excluded.push({ sessionId: occupancy.sessionId, reason: 'no_session_record' });
      continue;
    }
    if (session.status !== 'active') {
      excluded.push({ sessionId: occupancy.sessionId, reason: session.status === 'suspended' ? 'suspended_by_driver' : 'stopped' });
      continue;
    }
    const minW = Math.max(1, ceilW(occupancy.minPowerW));
    const maxW = floorW(occupancy.maxPowerW);
    if (maxW < minW) {
      excluded.push({ sessionId: occupancy.sessionId, reason: 'no_power_range' });
      continue;
    }
    const needs = sessionNeeds(session, at);
    const remainingWh = new Decimal(needs.remainingWh);
    const charger = site.nodes.get(site.nodes.get(occupancy.connectorId)?.parentId ?? '')?.charger ?? null;
    // Time to spare under the power the known rules will allow it, not under its full power.
    const departureMs = parseInstant('departureAt', session.departureAt);
    const powerSteps = sessionPowerSteps(site, stepsUntil(), occupancy.connectorId, maxW);
    const spareS = (fromMs: number, energyWh: number) => (latestStartMs(powerSteps, fromMs, departureMs, energyWh, maxW) - fromMs) / 1000;
    const laxityS = spareS(at, remainingWh.toNumber());
    planned.push({
      id: occupancy.sessionId,
      nodeId: occupancy.connectorId,
      tier: session.tier,
      minW,
      maxW,
      wantsCharge: remainingWh.greaterThan(0),
      requiredW: Math.min(maxW, ceilW(needs.requiredPowerW)),
      laxityS,
      discharge: dischargeBounds(session, occupancy.maxDischargePowerW, charger?.minDischargePowerW ?? null, needs, rotationIntervalS, (dischargeW) =>
        // Discharging for one interval costs that interval, and the energy fed back must be drawn again later.
        spareS(at + rotationIntervalS * 1000, remainingWh.toNumber() + (dischargeW * rotationIntervalS) / 3600),
      ),
      rotation:
        occupancy.status === 'charging' || occupancy.status === 'discharging'
          ? { state: 'powered', since: parseInstant('since', occupancy.since) }
          : { state: 'waiting', since: parseInstant('since', occupancy.since) },
    });
  }

  const discharge: DischargeTarget[] = activeDischargeRequests(site, at).map((request) => ({
    nodeId: request.nodeId,
    targetW: floorW(request.powerW),
    holdOthers: true,
    source: `request:${request.requestId}`,
  }));
  const threshold = site.dischargePriceThresholdMinorPerKWh;
  if (threshold !== null && priceMinorPerKWh !== null && new Decimal(priceMinorPerKWh).greaterThanOrEqualTo(threshold)) {
    const root = limits.get(site.siteId);
    if (root) discharge.push({ nodeId: site.siteId, targetW: floorW(root.exportW), holdOthers: false, source: 'price' });
  }

  return {
    request: {
      at,
      nodes,
      sessions: planned,
      rotationIntervalMs: rotationIntervalS * 1000,
      promoteAfterMs: site.promoteAfterS * 1000,
      discharge,
    },
    excluded,
  };
}

/** The latest departure of the site's active sessions (at least `at`): how far ahead the rules matter. */
function lastDepartureMs(site: RegisteredSite, sessions: ReadonlyMap<string, SessionState>, at: number): number {
  let last = at;
  for (const { sessionId } of site.sessions.values()) {
    const session = sessions.get(sessionId);
    if (session?.status === 'active') last = Math.max(last, parseInstant('departureAt', session.departureAt));
  }
  return last;
}

/**
 * A session may feed power back only with consent, on a bidirectional charger, above its SoC
 * reserve, and when discharging for one rotation interval still leaves time to reach its
 * departure energy with the power the known rules will allow it (`spareAfterS`: its time to spare
 * after discharging that much for the interval). The most it may discharge is also bounded by the
 * energy above its reserve over that interval.
 */
function dischargeBounds(
  session: PluggedInSession,
  occupancyMaxDischargeW: string | null,
  chargerMinDischargeW: string | null,
  needs: ReturnType<typeof sessionNeeds>,
  intervalS: number,
  spareAfterS: (dischargeW: number) => number,
): { minW: number; maxW: number } | null {
  if (occupancyMaxDischargeW === null || session.v2g === null || needs.socPercent === null || session.batteryCapacityWh === null) return null;
  const aboveReserveWh = new Decimal(needs.socPercent).minus(session.v2g.minSocPercent).div(100).times(session.batteryCapacityWh);
  if (aboveReserveWh.lessThanOrEqualTo(0)) return null;
  const byReserveW = aboveReserveWh.times(3600).div(intervalS);
  const maxW = floorW(Decimal.min(occupancyMaxDischargeW, byReserveW));
  const minW = Math.max(1, chargerMinDischargeW === null ? 1 : ceilW(chargerMinDischargeW));
  if (maxW < minW) return null;
  return spareAfterS(maxW) >= 0 ? { minW, maxW } : null;
}

/**
 * Whether new meter data (a reading, a correction, a reset) changes what an allocation decides for
 * the session at `atMs`: its need met, or open again (it stops or starts drawing), or its SoC
 * crossing its V2G reserve (it may no longer, or may again, feed back). Other readings only move
 * its share a little, which the next allocation picks up.
 */
export function meterDataChangesAllocation(before: SessionState, after: SessionState, atMs: number): boolean {
  if (before.status !== 'active' || after.status !== 'active') return false;
  const was = sessionNeeds(before, atMs);
  const is = sessionNeeds(after, atMs);
  if (new Decimal(was.remainingWh).isZero() !== new Decimal(is.remainingWh).isZero()) return true;
  const reserve = after.v2g?.minSocPercent ?? null;
  if (reserve === null || was.socPercent === null || is.socPercent === null) return false;
  return new Decimal(was.socPercent).greaterThan(reserve) !== new Decimal(is.socPercent).greaterThan(reserve);
}

/** Runs the kernel and turns its answer, with the excluded sessions, into the site command. */
export function allocationCommand(input: PlanInput, trigger: string): { command: Extract<SiteCommand, { type: 'AssignSetpoints' }>; result: AllocationResult } {
  const { request, excluded } = planAllocation(input);
  const result = allocate(request);
  const setpoints: SetpointChange[] = result.sessions.map((s) => ({
    sessionId: s.sessionId,
    powerW: String(s.powerW),
    status: s.status,
    reason: s.reason,
  }));
  for (const { sessionId, reason } of excluded) setpoints.push({ sessionId, powerW: '0', status: 'on_hold', reason });
  return {
    command: { type: 'AssignSetpoints', siteId: input.site.siteId, at: formatInstant(input.at), trigger, setpoints },
    result,
  };
}
