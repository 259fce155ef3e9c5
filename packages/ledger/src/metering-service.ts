import {
  checkMeterId,
  checkSiteId,
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
} from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';
import type { CommandContext, CommandHandler, HandleResult } from './command-handler.ts';

export type MeteringServiceOptions = {
  /** Epoch ms now; tests and simulations drive their own clock. */
  clock?: () => number;
};

/** A command whose `at` (when the ledger receives it) may be left out: it then means now. */
type WithOptionalTime<C> = C extends { at: string } ? Omit<C, 'at'> & { at?: string } : C;

/**
 * Site and node meters (building load, generation, storage), each its own `meter-<id>` stream.
 * Registering one checks that its site and node exist, which the meter's decider cannot see; the
 * readings, corrections and resets are the meter's alone.
 */
export class MeteringService {
  private readonly clock: () => number;

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    options: MeteringServiceOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Registers a meter at a node of a site: UnknownSite / UnknownNode when either does not exist.
   * A retry of a recorded command returns the first result, even if the node has gone since.
   */
  async registerMeter(command: Omit<RegisterMeter, 'type' | 'at'> & { at?: string }, context: CommandContext): Promise<HandleResult<MeterEvent>> {
    const full: RegisterMeter = { ...command, type: 'RegisterMeter', at: command.at ?? formatInstant(this.clock()) };
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

  /** Records or corrects a reading, or resets the meter; `at` defaults to now. */
  async meter(command: WithOptionalTime<Exclude<MeterCommand, RegisterMeter>>, context: CommandContext): Promise<HandleResult<MeterEvent>> {
    const full = { ...command, at: command.at ?? formatInstant(this.clock()) } as MeterCommand;
    return this.commands.handle(meterDecider, meterStreamId(checkMeterId(command.meterId)), full, context);
  }

  async loadMeter(meterId: string): Promise<{ version: number; meter: RegisteredMeter | null }> {
    const { version, state } = await this.commands.load(meterDecider, meterStreamId(checkMeterId(meterId)));
    return { version, meter: state.status === 'registered' ? state : null };
  }
}
