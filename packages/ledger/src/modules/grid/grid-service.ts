import {
  allocationCommand,
  checkDeparture,
  checkFieldTime,
  checkNotTooLongAgo,
  checkSiteId,
  decideWithAllocation,
  DEFAULT_TIME_BOUNDS,
  DomainError,
  InvalidCommand,
  formatInstant,
  meterDataChangesAllocation,
  parseInstant,
  sessionDecider,
  sessionStreamId,
  siteDecider,
  siteStreamId,
  SessionClosed,
  UnknownSession,
  UnknownSite,
  type AllocationResult,
  type CongestionRule,
  type PlugIn,
  type RegisteredSite,
  type SessionCommand,
  type SessionEvent,
  type SessionState,
  type SiteCommand,
  type SiteEvent,
  type TimeBounds,
} from '@v2g/domain';
import type { AppendResult, EventStore } from '@v2g/event-store';
import type { Logger } from 'pino';
import type { CommandContext, CommandHandler, HandleResult } from '../../command-handler.ts';
import { checkKnownAccount } from '../billing/index.ts';

/** What an allocation run recorded: null result when the site had nothing to allocate. */
export type AllocationOutcome = {
  siteId: string;
  at: string;
  trigger: string;
  result: AllocationResult | null;
  append: AppendResult | null;
  events: SiteEvent[];
};

export type GridServiceOptions = {
  /** Epoch ms now; tests and simulations drive their own clock. */
  clock?: () => number;
  /**
   * How long a charger takes to follow a new setpoint, ms: each allocation keeps every limit in
   * force during that long after it (see planAllocation). Default DEFAULT_CHARGER_RESPONSE_MS.
   */
  chargerResponseMs?: number;
  /** How far field times (readings, plug-in, unplug) and departures may stray from the clock. */
  timeBounds?: TimeBounds;
  /** The energy price in force at a site, for discharging above the site's price threshold. */
  priceAt?: (siteId: string, at: number) => Promise<string | null>;
  logger?: Logger;
  /** Called after every recorded allocation (the scheduler and live subscriptions listen). */
  onAllocated?: (outcome: AllocationOutcome) => void;
};

/** OCPP chargers typically follow a new charging profile within a few seconds. */
export const DEFAULT_CHARGER_RESPONSE_MS = 5_000;

/** A command as a caller sends it: its `at` is the ledger's clock, never the caller's. */
type WithoutTime<C> = C extends { at: string } ? Omit<C, 'at'> : C;

/** Site commands whose effect can change what sessions may draw: each is decided with an allocation, in one append. */
const REALLOCATE_AFTER = new Set<SiteCommand['type']>([
  'ConfigureSite',
  'AddNode',
  'ChangeNodeLimits',
  'ChangeCharger',
  'RemoveNode',
  'RecordNodeLoad',
  'AddCongestionRule',
  'RemoveCongestionRule',
  'RequestDischarge',
  'CancelDischargeRequest',
]);

/**
 * The grid's use cases. A plug-in touches two aggregates: the site (which connector, under which
 * limits) and the session (what the driver asked for). There is no transaction across streams,
 * so the site is written first, under the client's command id, and the session second, under a
 * derived id: a retry of the same command completes whichever half is missing, and a site
 * occupancy without a session record gets no power until then.
 *
 * Allocations of one site run one at a time in this process; a site is written by one process
 * (sites are the unit of sharding).
 */
export class GridService {
  private readonly clock: () => number;
  /** The chargers' response time, ms: the lead with which known limits are met. */
  readonly leadMs: number;
  private readonly bounds: TimeBounds;
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    private readonly options: GridServiceOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.leadMs = options.chargerResponseMs ?? DEFAULT_CHARGER_RESPONSE_MS;
    if (!Number.isSafeInteger(this.leadMs) || this.leadMs < 0) throw new Error(`chargerResponseMs must be a whole number of ms >= 0, got ${String(this.leadMs)}`);
    this.bounds = options.timeBounds ?? DEFAULT_TIME_BOUNDS;
  }

  now(): number {
    return this.clock();
  }

  /**
   * A site command at the ledger's now. A node load reading's occurredAt (the meter's time) may be
   * up to the field backdate bound old; the decider refuses one ahead of now beyond the skew.
   * Re-allocates when the command can change what sessions may draw.
   */
  async site(command: WithoutTime<SiteCommand>, context: CommandContext): Promise<HandleResult<SiteEvent>> {
    const siteId = checkSiteId(command.siteId);
    const nowMs = this.clock();
    if (command.type === 'RecordNodeLoad') checkNotTooLongAgo('occurredAt', command.occurredAt, nowMs, this.bounds);
    const full = (needsTime(command.type) ? { ...command, at: formatInstant(nowMs) } : command) as SiteCommand;
    if (!REALLOCATE_AFTER.has(full.type)) return this.commands.handle(siteDecider, siteStreamId(siteId), full, context);
    const { handled, refused } = await this.serialised(siteId, () => this.decideAndAllocate(siteId, full, context));
    // The site refused the plan (another command got in between): allocate on its own.
    if (refused) await this.reallocate(siteId, full.type);
    return handled;
  }

  /**
   * A command that can change what sessions may draw, decided with the allocation on the state it
   * leaves (decideWithAllocation): one append, and a lower limit curtails only what it must.
   */
  private async decideAndAllocate(siteId: string, command: SiteCommand, context: CommandContext): Promise<{ handled: HandleResult<SiteEvent>; refused: boolean }> {
    const { site } = await this.loadSite(siteId);
    const inputs = site === null || site.sessions.size === 0 ? null : await this.allocationInputs(site, this.clock());
    let planned: { at: string; result: AllocationResult } | null = null;
    let refused: DomainError | null = null;
    const decider: typeof siteDecider = {
      ...siteDecider,
      decide: (c, state) => {
        planned = null;
        refused = null;
        return decideWithAllocation(
          c,
          state,
          (after) => {
            if (inputs === null || after.sessions.size === 0) return null;
            const atMs = this.allocationTime(after);
            const { command: assign, result } = allocationCommand(
              { site: after, sessions: inputs.sessions, at: atMs, leadMs: this.leadMs, priceMinorPerKWh: inputs.priceMinorPerKWh },
              command.type,
            );
            planned = { at: assign.at, result };
            return assign;
          },
          (error) => (refused = error),
        );
      },
    };
    const handled = await this.commands.handle(decider, siteStreamId(siteId), command, context);
    if (handled.events.length === 0) return { handled, refused: false };
    const allocation = planned as { at: string; result: AllocationResult } | null;
    if (refused === null && allocation !== null) {
      this.options.onAllocated?.({ siteId, at: allocation.at, trigger: command.type, result: allocation.result, append: handled.result, events: handled.events });
    }
    return { handled, refused: refused !== null };
  }

  /**
   * One congestion rule over an area: the same rule (scope `area`) on every site of the area, each
   * recorded on its own stream under `<commandId>/<siteId>`. Every site is checked first (listed
   * once, registered), so a mistyped id writes nothing; a retry with the same command id completes
   * any site a failure left out and changes nothing on the others.
   */
  async addAreaCongestionRule(
    input: { areaId: string; siteIds: readonly string[]; rule: Omit<CongestionRule, 'scope'> },
    context: CommandContext,
  ): Promise<{ siteId: string; commandId: string; handled: HandleResult<SiteEvent> }[]> {
    const { siteIds } = input;
    if (siteIds.length === 0 || new Set(siteIds).size !== siteIds.length) throw new InvalidCommand('siteIds', 'must list at least one site, each once');
    for (const siteId of siteIds) {
      if (!(await this.loadSite(siteId)).site) throw new InvalidCommand('siteIds', `site ${siteId} is not registered`);
    }
    const rule: CongestionRule = { ...input.rule, scope: { kind: 'area', areaId: input.areaId } };
    const handled: { siteId: string; commandId: string; handled: HandleResult<SiteEvent> }[] = [];
    for (const siteId of siteIds) {
      const commandId = `${context.commandId}/${siteId}`;
      handled.push({ siteId, commandId, handled: await this.site({ type: 'AddCongestionRule', siteId, rule }, { ...context, commandId }) });
    }
    return handled;
  }

  async loadSite(siteId: string): Promise<{ version: number; site: RegisteredSite | null }> {
    const { version, state } = await this.commands.load(siteDecider, siteStreamId(checkSiteId(siteId)));
    return { version, site: state.status === 'registered' ? state : null };
  }

  async loadSession(sessionId: string): Promise<{ version: number; session: SessionState }> {
    const { version, state } = await this.commands.load(sessionDecider, sessionStreamId(sessionId));
    return { version, session: state };
  }

  /**
   * Plugs a vehicle in: occupies the connector, opens the session, allocates. `at` is the plug-in
   * time a charger or operator reports (a fact from the field, within the field bounds), default
   * now; the departure must be after the ledger's now and within the departure horizon.
   */
  async plugIn(command: Omit<PlugIn, 'type' | 'at'> & { at?: string }, context: CommandContext): Promise<{ site: HandleResult<SiteEvent>; session: HandleResult<SessionEvent> }> {
    // The session is billed to its fleet when it has one, else to its customer: that account must exist.
    if (command.fleetId == null) await checkKnownAccount(this.commands, 'customerId', command.customerId);
    else await checkKnownAccount(this.commands, 'fleetId', command.fleetId);
    const nowMs = this.clock();
    const plugIn: PlugIn = {
      ...command,
      type: 'PlugIn',
      at: command.at === undefined ? formatInstant(nowMs) : checkFieldTime('at', command.at, nowMs, this.bounds),
      departureAt: checkDeparture('departureAt', command.departureAt, nowMs, this.bounds),
    };
    const sessionContext = { ...context, commandId: `${context.commandId}/session` };
    const sessionStream = sessionStreamId(plugIn.sessionId);
    const retried = await this.store.commandResult(sessionContext.commandId);
    if (!retried) {
      // Refuse bad input before either stream is touched.
      const { state } = await this.commands.load(sessionDecider, sessionStream);
      sessionDecider.decide(plugIn, state);
    }
    const { site } = await this.loadSite(plugIn.siteId);
    if (!site) throw new UnknownSite(plugIn.siteId);
    const occupied = await this.commands.handle(
      siteDecider,
      siteStreamId(plugIn.siteId),
      {
        type: 'OccupyConnector',
        siteId: plugIn.siteId,
        at: plugIn.at,
        connectorId: plugIn.connectorId,
        sessionId: plugIn.sessionId,
        minPowerW: plugIn.minPowerW,
        maxPowerW: plugIn.maxPowerW,
        maxDischargePowerW: plugIn.v2g?.maxDischargePowerW ?? null,
      },
      context,
    );
    const opened = await this.commands.handle(sessionDecider, sessionStream, plugIn, sessionContext);
    await this.reallocate(plugIn.siteId, 'plug_in');
    return { site: occupied, session: opened };
  }

  /**
   * Ends a session: frees the connector, closes the session, allocates what it leaves. `at` is the
   * unplug time a charger or operator reports (within the field bounds), default now.
   */
  async stopSession(command: { sessionId: string; at?: string; reason: string }, context: CommandContext): Promise<HandleResult<SessionEvent>> {
    const nowMs = this.clock();
    const at = command.at === undefined ? formatInstant(nowMs) : checkFieldTime('at', command.at, nowMs, this.bounds);
    const { session } = await this.loadSession(command.sessionId);
    if (session.status === 'none') throw new UnknownSession(command.sessionId);
    const retried = await this.store.commandResult(context.commandId);
    if (session.status === 'stopped' && !retried) throw new SessionClosed(command.sessionId, session.stoppedAt, 'StopSession');
    const stop = { type: 'StopSession', sessionId: command.sessionId, at, reason: command.reason } as const;
    // A stop the session would refuse (an empty reason, a time before its plug-in) is refused before
    // the site's connector is released: a refused command writes nothing.
    if (session.status !== 'stopped') sessionDecider.decide(stop, session);
    const { site } = await this.loadSite(session.siteId);
    if (site?.sessions.has(command.sessionId)) {
      await this.commands.handle(
        siteDecider,
        siteStreamId(session.siteId),
        { type: 'ReleaseConnector', siteId: session.siteId, at, connectorId: session.connectorId, sessionId: command.sessionId },
        { ...context, commandId: `${context.commandId}/site` },
      );
    }
    const stopped = await this.commands.handle(sessionDecider, sessionStreamId(command.sessionId), stop, context);
    await this.reallocate(session.siteId, 'stop');
    return stopped;
  }

  /**
   * Suspend, reactivate, change departure; record, correct a meter reading or reset the meter: the
   * session alone, then allocate when it matters. The command's `at` is the ledger's now (the
   * decider refuses a meter time ahead of it beyond the skew); a new reading or reset may be up to
   * the field backdate bound old; a departure must be after now, within the horizon.
   */
  async session(command: WithoutTime<Exclude<SessionCommand, PlugIn | { type: 'StopSession' }>>, context: CommandContext): Promise<HandleResult<SessionEvent>> {
    const nowMs = this.clock();
    if (command.type === 'RecordSessionMeterReading' || command.type === 'ResetSessionMeter') checkNotTooLongAgo('occurredAt', command.occurredAt, nowMs, this.bounds);
    const checked = command.type === 'ChangeDeparture' ? { ...command, departureAt: checkDeparture('departureAt', command.departureAt, nowMs, this.bounds) } : command;
    const full = { ...checked, at: formatInstant(nowMs) } as SessionCommand;
    const meterData = METER_COMMANDS.has(command.type);
    const before = meterData ? (await this.loadSession(command.sessionId)).session : null;
    const handled = await this.commands.handle(sessionDecider, sessionStreamId(command.sessionId), full, context);
    if (handled.events.length === 0) return handled;
    const { session } = await this.loadSession(command.sessionId);
    if (session.status === 'none') return handled;
    // Meter data changes what a session has received; it changes what it may draw only when it
    // meets (or reopens) its need or crosses its reserve: then at once, else at the next allocation.
    if (before === null || meterDataChangesAllocation(before, session, this.clock())) await this.reallocate(session.siteId, command.type);
    return handled;
  }

  /**
   * Computes and records an allocation for the site now. Runs of one site are serialised; when the
   * site moved between planning and recording (another command got in), the run plans again.
   */
  allocate(siteId: string, trigger: string): Promise<AllocationOutcome> {
    return this.serialised(siteId, () => this.allocateNow(siteId, trigger));
  }

  /** Runs `work` after every allocation of the site already queued in this process. */
  private serialised<T>(siteId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.running.get(siteId) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(work);
    this.running.set(siteId, run);
    void run
      .finally(() => {
        if (this.running.get(siteId) === run) this.running.delete(siteId);
      })
      .catch(() => {});
    return run;
  }

  /** The instant an allocation of the site is for: now, never before the site's last one. */
  private allocationTime(site: RegisteredSite): number {
    return Math.max(this.clock(), site.lastAllocationAt === null ? 0 : parseInstant('lastAllocationAt', site.lastAllocationAt));
  }

  /** The session aggregates at the site's connectors and the energy price in force. */
  private async allocationInputs(site: RegisteredSite, atMs: number): Promise<{ sessions: Map<string, SessionState>; priceMinorPerKWh: string | null }> {
    const sessions = new Map<string, SessionState>();
    await Promise.all(
      [...site.sessions.keys()].map(async (sessionId) => {
        sessions.set(sessionId, (await this.loadSession(sessionId)).session);
      }),
    );
    const priceMinorPerKWh = this.options.priceAt ? await this.options.priceAt(site.siteId, atMs) : null;
    return { sessions, priceMinorPerKWh };
  }

  /**
   * The allocation that follows a recorded command. The command stands whatever happens here: a
   * failure is logged, and the site's next command or scheduled run allocates again.
   */
  private async reallocate(siteId: string, trigger: string): Promise<void> {
    try {
      await this.allocate(siteId, trigger);
    } catch (error) {
      this.options.logger?.error({ err: error, siteId, trigger }, 'allocation after a command failed');
    }
  }

  private async allocateNow(siteId: string, trigger: string): Promise<AllocationOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.planAndRecord(siteId, trigger);
      } catch (error) {
        // Another command (a lower limit, a stop) changed the site between planning and
        // recording, and the site refused the stale plan: plan again from the new state.
        if (!(error instanceof DomainError) || error instanceof UnknownSite || attempt >= MAX_PLANS) throw error;
        this.options.logger?.debug({ siteId, trigger, attempt, refused: error.code }, 'allocation refused; planning again');
      }
    }
  }

  private async planAndRecord(siteId: string, trigger: string): Promise<AllocationOutcome> {
    const { site } = await this.loadSite(siteId);
    if (!site) throw new UnknownSite(siteId);
    const atMs = this.allocationTime(site);
    const at = formatInstant(atMs);
    if (site.sessions.size === 0) return { siteId, at, trigger, result: null, append: null, events: [] };

    const { sessions, priceMinorPerKWh } = await this.allocationInputs(site, atMs);
    const { command, result } = allocationCommand({ site, sessions, at: atMs, leadMs: this.leadMs, priceMinorPerKWh }, trigger);
    const handled = await this.commands.handle(siteDecider, siteStreamId(siteId), command, {
      commandId: `allocate/${siteId}/${at}/${crypto.randomUUID()}`,
      actor: 'allocator',
    });
    const outcome: AllocationOutcome = { siteId, at, trigger, result, append: handled.result, events: handled.events };
    this.options.logger?.debug({ siteId, at, trigger, sessions: result.sessions.length, changed: handled.events.length }, 'allocation recorded');
    if (handled.events.length > 0) this.options.onAllocated?.(outcome);
    return outcome;
  }
}

const METER_COMMANDS = new Set<SessionCommand['type']>(['RecordSessionMeterReading', 'CorrectSessionMeterReading', 'ResetSessionMeter']);

/** How often one allocation run plans again after the site refused a plan made on stale state. */
const MAX_PLANS = 3;

function needsTime(type: SiteCommand['type']): boolean {
  return type !== 'RegisterSite' && type !== 'RenameSite' && type !== 'ConfigureSite';
}
