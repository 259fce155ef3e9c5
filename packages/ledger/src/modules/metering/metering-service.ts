import {
  checkNotTooLongAgo,
  checkMeterId,
  checkSiteId,
  DEFAULT_TIME_BOUNDS,
  formatInstant,
  meterDecider,
  meterStreamId,
  siteDecider,
  siteStreamId,
  UnknownNode,
  UnknownSite,
  type MeterCommand,
  type MeterEvent,
  type RegisteredMeter,
  type RegisterMeter,
  type TimeBounds,
} from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';
import type { CommandContext, CommandHandler, HandleResult } from '../../command-handler.ts';

export type MeteringServiceOptions = {
  /** Epoch ms now; tests and simulations drive their own clock. */
  clock?: () => number;
  /** How far a reading's occurredAt may stray from the clock. */
  timeBounds?: TimeBounds;
};

/** A command as a caller sends it: its `at` (when the ledger receives it) is the ledger's clock. */
type WithoutTime<C> = C extends { at: string } ? Omit<C, 'at'> : C;

/**
 * Site and node meters (building load, generation, storage), each its own `meter-<id>` stream.
 * Registering one checks that its site and node exist, which the meter's decider cannot see; the
 * readings, corrections and resets are the meter's alone.
 */
export class MeteringService {
  private readonly clock: () => number;
  private readonly bounds: TimeBounds;

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    options: MeteringServiceOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.bounds = options.timeBounds ?? DEFAULT_TIME_BOUNDS;
  }

  /**
   * Registers a meter at a node of a site: UnknownSite / UnknownNode when either does not exist.
   * A retry of a recorded command returns the first result, even if the node has gone since.
   */
  async registerMeter(command: Omit<RegisterMeter, 'type' | 'at'>, context: CommandContext): Promise<HandleResult<MeterEvent>> {
    const full: RegisterMeter = { ...command, type: 'RegisterMeter', at: formatInstant(this.clock()) };
    const streamId = meterStreamId(checkMeterId(full.meterId));
    if (!(await this.store.commandResult(context.commandId))) {
      // The form and the meter's own refusals first, then what only the site knows.
      const { state } = await this.commands.load(meterDecider, streamId);
      meterDecider.decide(full, state);
      const { state: site } = await this.commands.load(siteDecider, siteStreamId(checkSiteId(full.siteId)));
      if (site.status !== 'registered') throw new UnknownSite(full.siteId);
      if (!site.nodes.has(full.nodeId)) throw new UnknownNode(full.siteId, full.nodeId);
    }
    return this.commands.handle(meterDecider, streamId, full, context);
  }

  /**
   * Records or corrects a reading, or resets the meter, at the ledger's now: a new reading or reset
   * may be up to the field backdate bound old; the decider refuses a meter time ahead of now beyond the skew.
   */
  async meter(command: WithoutTime<Exclude<MeterCommand, RegisterMeter>>, context: CommandContext): Promise<HandleResult<MeterEvent>> {
    const nowMs = this.clock();
    if (command.type === 'RecordMeterReading' || command.type === 'ResetMeter') checkNotTooLongAgo('occurredAt', command.occurredAt, nowMs, this.bounds);
    const full = { ...command, at: formatInstant(nowMs) } as MeterCommand;
    return this.commands.handle(meterDecider, meterStreamId(checkMeterId(command.meterId)), full, context);
  }

  async loadMeter(meterId: string): Promise<{ version: number; meter: RegisteredMeter | null }> {
    const { version, state } = await this.commands.load(meterDecider, meterStreamId(checkMeterId(meterId)));
    return { version, meter: state.status === 'registered' ? state : null };
  }
}
