import { nextRuleBoundary, parseInstant, type RegisteredSite } from '@v2g/domain';
import type { Logger } from 'pino';
import type { AllocationOutcome, GridService } from './grid-service.ts';

export type AllocationSchedulerOptions = {
  /** Longest time between two allocations of a site with sessions: needs and laxity drift. */
  refreshMs?: number;
  /** How long chargers take to follow a setpoint (see GridServiceOptions.chargerResponseMs); the grid's by default. */
  leadMs?: number;
  logger?: Logger;
};

/**
 * Re-runs a site's allocation when time alone changes the answer: a congestion rule or a discharge
 * request starts or ends, a turn expires while others wait, and at least every `refreshMs` while
 * sessions are plugged in. A rule boundary is met twice: `leadMs` before it (the chargers' response
 * time), so that a lower limit holds from its first instant, and at it, so that a higher one is used
 * at once. Commands re-allocate by themselves (GridService); this covers the clock.
 */
export class AllocationScheduler {
  private readonly timers = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly refreshMs: number;
  private readonly leadMs: number;
  private stopped = false;

  constructor(
    private readonly grid: GridService,
    private readonly options: AllocationSchedulerOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 60_000;
    this.leadMs = options.leadMs ?? grid.leadMs;
  }

  /** Plans the next run for a site after an allocation was recorded. */
  async allocated(outcome: AllocationOutcome): Promise<void> {
    if (this.stopped) return;
    const { site } = await this.grid.loadSite(outcome.siteId);
    if (!site) return;
    const due = nextAllocationDue(site, parseInstant('at', outcome.at), this.refreshMs, this.leadMs);
    this.schedule(outcome.siteId, due);
  }

  /** Makes sure a site is allocated soon (e.g. every site with sessions, at start). */
  watch(siteId: string): void {
    this.schedule(siteId, this.grid.now());
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(siteId: string, due: number | null): void {
    if (this.stopped) return;
    const current = this.timers.get(siteId);
    if (current) clearTimeout(current.timer);
    if (due === null) {
      this.timers.delete(siteId);
      return;
    }
    const timer = setTimeout(
      () => {
        this.timers.delete(siteId);
        this.grid.allocate(siteId, 'schedule').then(
          (outcome) => this.allocated(outcome),
          (error: unknown) => {
            this.options.logger?.error({ err: error, siteId }, 'scheduled allocation failed; retrying later');
            this.schedule(siteId, this.grid.now() + this.refreshMs);
          },
        );
      },
      Math.max(0, due - this.grid.now()),
    );
    timer.unref();
    this.timers.set(siteId, { due, timer });
  }
}

/**
 * The next instant at which time alone may change the site's allocation; null when nothing is
 * plugged in. An allocation at `atMs` already keeps the rules in force until `atMs + leadMs`; each
 * later rule boundary b is due at b - leadMs (the setpoints are lowered in time) and at b (where a
 * limit rises, its room is used).
 */
export function nextAllocationDue(site: RegisteredSite, atMs: number, refreshMs: number, leadMs: number): number | null {
  if (site.sessions.size === 0) return null;
  let due = atMs + refreshMs;
  const consider = (instant: number | null) => {
    if (instant !== null && instant > atMs && instant < due) due = instant;
  };
  for (const rule of site.rules.values()) {
    consider(nextRuleBoundary(rule.window, atMs));
    const ahead = nextRuleBoundary(rule.window, atMs + leadMs);
    if (ahead !== null) consider(ahead - leadMs);
  }
  for (const request of site.dischargeRequests.values()) {
    consider(parseInstant('start', request.start));
    consider(parseInstant('end', request.end));
  }
  const waiting = [...site.sessions.values()].some((s) => s.status === 'on_hold' || s.status === 'pending');
  if (waiting) {
    for (const s of site.sessions.values()) {
      const since = parseInstant('since', s.since);
      if (s.status === 'charging' || s.status === 'discharging') consider(since + site.rotationIntervalS * 1000);
      else consider(since + site.promoteAfterS * 1000);
    }
  }
  return due;
}
