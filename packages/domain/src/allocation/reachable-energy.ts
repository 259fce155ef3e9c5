import { Decimal } from '../values/index.ts';
import { effectiveLimits } from '../site/effective-limits.ts';
import { nextRuleBoundary } from '../site/rule-window.ts';
import type { RegisteredSite } from '../site/site-types.ts';
import { floorWatts } from './allocate.ts';

/**
 * What the site's known rules let a session draw between now and its departure. A session's time
 * to spare (its laxity) is how long it may wait and still leave with its energy; at full power that
 * is a division, but a congestion rule known in advance (a feeder's evening cap) lowers the power it
 * can get later, so the time it needs is longer. Here the most power a session can draw at each
 * instant is the least of its own maximum and the effective import limit of every node from its
 * connector up to the root, as if it were alone on that path: an upper bound on what it will get,
 * so a session it calls short of time is short of time.
 *
 * The limits only change at the rules' boundaries, so they are computed once per boundary for the
 * whole site (`limitSteps`) and then read per session along its path.
 */

/** The import limit of every node, W (floored), in force throughout [fromMs, toMs). */
export type LimitStep = { fromMs: number; toMs: number; importW: ReadonlyMap<string, number> };

/** The site's limit steps covering [fromMs, toMs): one per stretch between two rule boundaries. */
export function limitSteps(site: RegisteredSite, fromMs: number, toMs: number): LimitStep[] {
  const boundaries = new Set<number>();
  for (const rule of site.rules.values()) {
    for (let b = nextRuleBoundary(rule.window, fromMs); b !== null && b < toMs; b = nextRuleBoundary(rule.window, b)) boundaries.add(b);
  }
  const starts = [fromMs, ...[...boundaries].sort((a, b) => a - b)];
  return starts.map((start, i) => {
    const importW = new Map<string, number>();
    for (const [nodeId, limit] of effectiveLimits(site, start)) importW.set(nodeId, Math.max(0, floorWatts(new Decimal(limit.importW))));
    return { fromMs: start, toMs: starts[i + 1] ?? toMs, importW };
  });
}

/** The most power a session on `connectorId` (at most `maxW`) can draw in each step, alone on its path. */
export function sessionPowerSteps(site: RegisteredSite, steps: readonly LimitStep[], connectorId: string, maxW: number): { fromMs: number; toMs: number; powerW: number }[] {
  const path: string[] = [];
  for (let id: string | null = connectorId; id !== null; id = site.nodes.get(id)?.parentId ?? null) path.push(id);
  return steps.map(({ fromMs, toMs, importW }) => ({ fromMs, toMs, powerW: path.reduce((least, nodeId) => Math.min(least, importW.get(nodeId) ?? least), maxW) }));
}

const MS_PER_HOUR = 3_600_000;

/**
 * The latest instant from which drawing the most power of each step delivers `energyWh` by
 * `departureMs`, ms. When even starting at `fromMs` is not enough, the instant lies before `fromMs`
 * by the shortfall's time at `maxW` (as if it could have started earlier at full power), so it
 * still orders sessions by how late they are.
 */
export function latestStartMs(
  powerSteps: readonly { fromMs: number; toMs: number; powerW: number }[],
  fromMs: number,
  departureMs: number,
  energyWh: number,
  maxW: number,
): number {
  let needWh = energyWh;
  if (needWh <= 0) return departureMs;
  for (let i = powerSteps.length - 1; i >= 0; i--) {
    const step = powerSteps[i]!;
    const to = Math.min(step.toMs, departureMs);
    const from = Math.max(step.fromMs, fromMs);
    if (to <= from || step.powerW <= 0) continue;
    const stepWh = (step.powerW * (to - from)) / MS_PER_HOUR;
    if (stepWh >= needWh) return to - (needWh / step.powerW) * MS_PER_HOUR;
    needWh -= stepWh;
  }
  return Math.min(fromMs, departureMs) - (maxW > 0 ? (needWh / maxW) * MS_PER_HOUR : Number.MAX_SAFE_INTEGER);
}
