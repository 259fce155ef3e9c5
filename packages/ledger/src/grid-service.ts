import {
  allocationCommand,
  checkDeparture,
  checkFieldTime,
  checkNotTooLongAgo,
  checkSiteId,
  DEFAULT_TIME_BOUNDS,
  DomainError,
  formatInstant,
  parseInstant,
  sessionDecider,
  sessionStreamId,
  siteDecider,
  siteStreamId,
  SessionClosed,
  UnknownSession,
  UnknownSite,
  type AllocationResult,
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
import type { CommandContext, CommandHandler, HandleResult } from './command-handler.ts';

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
  /** How far field times (readings, plug-in, unplug) and departures may stray from the clock. */
  timeBounds?: TimeBounds;
  /** The energy price in force at a site, for discharging above the site's price threshold. */
  priceAt?: (siteId: string, at: number) => Promise<string | null>;
  logger?: Logger;
  /** Called after every recorded allocation (the scheduler and live subscriptions listen). */
  onAllocated?: (outcome: AllocationOutcome) => void;
};

/** A command as a caller sends it: its `at` is the ledger's clock, never the caller's. */
type WithoutTime<C> = C extends { at: string } ? Omit<C, 'at'> : C;

/** Site commands whose effect can change what sessions may draw: each is followed by an allocation. */
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
  private readonly bounds: TimeBounds;
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    private readonly options: GridServiceOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
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
    const handled = await this.commands.handle(siteDecider, siteStreamId(siteId), full, context);
    if (REALLOCATE_AFTER.has(full.type) && handled.events.length > 0) await this.reallocate(siteId, full.type);
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
    const { site } = await this.loadSite(session.siteId);
    if (site?.sessions.has(command.sessionId)) {
      await this.commands.handle(
        siteDecider,
        siteStreamId(session.siteId),
        { type: 'ReleaseConnector', siteId: session.siteId, at, connectorId: session.connectorId, sessionId: command.sessionId },
        { ...context, commandId: `${context.commandId}/site` },
      );
    }
    const stopped = await this.commands.handle(
      sessionDecider,
      sessionStreamId(command.sessionId),
      { type: 'StopSession', sessionId: command.sessionId, at, reason: command.reason },
      context,
    );
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
    const handled = await this.commands.handle(sessionDecider, sessionStreamId(command.sessionId), full, context);
    // Meter readings, corrections and resets change what a session has received, not what it may
    // draw now: the site's next allocation (clock-driven or after a command) reads them.
    if (handled.events.length > 0 && !METER_COMMANDS.has(command.type)) {
      const { session } = await this.loadSession(command.sessionId);
      if (session.status !== 'none') await this.reallocate(session.siteId, command.type);
    }
    return handled;
  }

  /**
   * Computes and records an allocation for the site now. Runs of one site are serialised; when the
   * site moved between planning and recording (another command got in), the run plans again.
   */
  allocate(siteId: string, trigger: string): Promise<AllocationOutcome> {
    const previous = this.running.get(siteId) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => this.allocateNow(siteId, trigger));
    this.running.set(siteId, run);
    void run.finally(() => {
      if (this.running.get(siteId) === run) this.running.delete(siteId);
    }).catch(() => {});
    return run;
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
    const atMs = Math.max(this.clock(), site.lastAllocationAt === null ? 0 : parseInstant('lastAllocationAt', site.lastAllocationAt));
    const at = formatInstant(atMs);
    if (site.sessions.size === 0) return { siteId, at, trigger, result: null, append: null, events: [] };

    const sessions = new Map<string, SessionState>();
    await Promise.all(
      [...site.sessions.keys()].map(async (sessionId) => {
        sessions.set(sessionId, (await this.loadSession(sessionId)).session);
      }),
    );
    const priceMinorPerKWh = this.options.priceAt ? await this.options.priceAt(siteId, atMs) : null;
    const { command, result } = allocationCommand({ site, sessions, at: atMs, priceMinorPerKWh }, trigger);
    const handled = await this.commands.handle(siteDecider, siteStreamId(siteId), command, {
      commandId: `allocate/${siteId}/${at}/${crypto.randomUUID()}`,
      actor: 'allocator',
    });
    const outcome: AllocationOutcome = { siteId, at, trigger, result, append: handled.result, events: handled.events };
    this.options.logger?.debug(
      { siteId, at, trigger, sessions: result.sessions.length, changed: handled.events.length },
      'allocation recorded',
    );
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
