import type { Decider, DomainEvent } from '@v2g/domain';
import { checkRecordedCommand, StreamVersionConflict, type AppendResult, type EventStore } from '@v2g/event-store';

/** Who sent a command and under which id: the id makes a retried command harmless. */
export type CommandContext = {
  commandId: string;
  /**
   * A hash of what the client asked for (its canonical input, never the clock-stamped command):
   * the same commandId with another fingerprint is another command, refused (COMMAND_ID_REUSED).
   * Absent for commands the ledger issues itself.
   */
  fingerprint?: string;
  actor: string;
  correlationId?: string;
  causationId?: string;
};

export type HandleResult<E> = {
  result: AppendResult;
  /** The events this call decided; empty when the command was a retry of one already recorded. */
  events: E[];
};

type Cached = { version: number; state: unknown };

export type CommandHandlerOptions = {
  /** How often a command is decided again after a concurrent writer moved the stream. */
  maxAttempts?: number;
  /** Aggregate states kept in memory (least recently used are dropped). */
  cacheSize?: number;
};

/**
 * Loads an aggregate (cached state plus newer events), asks its decider, appends with the
 * version it decided on, and decides again when another writer got there first.
 */
export class CommandHandler {
  private readonly cache = new Map<string, Cached>();
  private readonly maxAttempts: number;
  private readonly cacheSize: number;

  constructor(
    private readonly store: EventStore,
    options: CommandHandlerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  async handle<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, streamId: string, command: C, context: CommandContext): Promise<HandleResult<E>> {
    // A retry of a recorded command returns what was recorded, before deciding again: the state
    // has moved on since, and deciding now could refuse what was already accepted.
    const recorded = await this.store.commandResult(context.commandId);
    if (recorded) {
      checkRecordedCommand(recorded, context.commandId, streamId, context.fingerprint);
      return { result: recorded, events: [] };
    }

    for (let attempt = 1; ; attempt++) {
      const { version, state } = await this.load(decider, streamId);
      const events = decider.decide(command, state);
      try {
        const result = await this.store.append(
          streamId,
          events.map((e) => ({ type: e.type, data: e.data })),
          { ...context, expectedVersion: version === 0 ? 'no_stream' : version },
        );
        if (!result.duplicate) {
          this.remember(streamId, { version: result.nextExpectedVersion, state: fold(decider, state, events) });
        }
        return { result, events: result.duplicate ? [] : events };
      } catch (error) {
        this.cache.delete(streamId);
        if (!(error instanceof StreamVersionConflict) || attempt >= this.maxAttempts) throw error;
      }
    }
  }

  /** The aggregate's current state and version, from cache plus whatever was appended since. */
  async load<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, streamId: string): Promise<{ version: number; state: S }> {
    const cached = this.cache.get(streamId);
    let version = cached?.version ?? 0;
    let state = (cached?.state as S | undefined) ?? decider.initialState();
    const newer = await this.store.readStream(streamId, { fromVersion: version + 1 });
    // The decider's own union describes every event its stream holds; the store validated them.
    const events = newer.map((event) => ({ type: event.type, data: event.data }) as E);
    state = fold(decider, state, events);
    version = newer.at(-1)?.streamVersion ?? version;
    if (newer.length > 0) this.remember(streamId, { version, state });
    return { version, state };
  }

  private remember(streamId: string, entry: Cached): void {
    this.cache.delete(streamId);
    this.cache.set(streamId, entry);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }
}

function fold<S, C, E>(decider: Decider<S, C, E>, state: S, events: readonly E[]): S {
  return decider.evolveAll ? decider.evolveAll(state, events) : events.reduce(decider.evolve, state);
}
