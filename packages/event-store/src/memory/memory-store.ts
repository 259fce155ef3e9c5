import { GENESIS_HASH } from '../hash-chain.ts';
import { checkExpectedVersion, prepareEvents, validateAppend } from '../prepare-append.ts';
import type { SchemaRegistry } from '../schema-registry.ts';
import { catchUpThenLive, Notifier } from '../subscription.ts';
import {
  categoryOf,
  checkRecordedCommand,
  streamPageLimit,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ListStreamsOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamPage,
  type SubscribeOptions,
} from '../types.ts';

export type MemoryStoreOptions = { registry: SchemaRegistry; clock?: () => Date };

/** For fast domain and application tests only: nothing survives the process. */
export class MemoryEventStore implements EventStore {
  private readonly log: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly commands = new Map<string, AppendResult>();
  private readonly notifier = new Notifier();
  private readonly registry: SchemaRegistry;
  private readonly clock: () => Date;

  constructor(options: MemoryStoreOptions) {
    this.registry = options.registry;
    this.clock = options.clock ?? (() => new Date());
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    validateAppend(this.registry, streamId, events, options);
    const earlier = this.commands.get(options.commandId);
    if (earlier) {
      checkRecordedCommand(earlier, options.commandId, streamId, options.fingerprint);
      return { ...earlier, duplicate: true };
    }
    const stream = this.streams.get(streamId) ?? [];
    checkExpectedVersion(streamId, options.expectedVersion, stream.length);
    const prepared = prepareEvents(this.registry, streamId, events, options, { version: stream.length, lastHash: stream.at(-1)?.hash ?? GENESIS_HASH }, this.clock().toISOString());
    const recorded = prepared.map((event, i) => ({
      ...structuredClone(event),
      streamId,
      globalPosition: BigInt(this.log.length + i + 1),
    }));
    this.log.push(...recorded);
    if (recorded.length > 0) this.streams.set(streamId, [...stream, ...recorded]);
    const result: AppendResult = {
      streamId,
      commandId: options.commandId,
      nextExpectedVersion: stream.length + recorded.length,
      firstVersion: recorded[0]?.streamVersion ?? null,
      firstPosition: recorded[0]?.globalPosition ?? null,
      lastPosition: recorded.at(-1)?.globalPosition ?? null,
      duplicate: false,
      ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
    };
    this.commands.set(options.commandId, result);
    if (recorded.length > 0) this.notifier.notify();
    return result;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const stream = this.streams.get(streamId) ?? [];
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const selected =
      options.direction === 'backwards'
        ? stream.filter((e) => e.streamVersion <= (options.fromVersion ?? stream.length)).reverse()
        : stream.filter((e) => e.streamVersion >= (options.fromVersion ?? 1));
    return selected.slice(0, limit).map((e) => this.registry.upcast(structuredClone(e)));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.select(options, () => true);
  }

  async readCategory(category: string, options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.select(options, (e) => categoryOf(e.streamId) === category);
  }

  subscribe(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    const { category } = options;
    const read = (after: bigint, limit: number) => (category === undefined ? this.readAll({ after, limit }) : this.readCategory(category, { after, limit }));
    return catchUpThenLive(read, this.notifier, { ...options, pollMs: 1000 });
  }

  async commandResult(commandId: string): Promise<AppendResult | null> {
    const result = this.commands.get(commandId);
    return result ? { ...result, duplicate: true } : null;
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.streams.get(streamId)?.length ?? 0;
  }

  async headPosition(): Promise<bigint> {
    return BigInt(this.log.length);
  }

  /** One writer at a time: everything committed is readable. */
  async committedPosition(): Promise<bigint> {
    return this.headPosition();
  }

  /** By stream id (UTF-16 code unit order). */
  async listStreams(options: ListStreamsOptions = {}): Promise<StreamPage> {
    const limit = streamPageLimit(options.limit);
    const after = options.after ?? '';
    const ids = [...this.streams.keys()].filter((id) => id > after).sort();
    const page = ids.slice(0, limit).map((streamId) => {
      const last = this.streams.get(streamId)!.at(-1)!;
      return { streamId, version: last.streamVersion, lastHash: last.hash };
    });
    return { streams: page, next: page.length === limit ? page.at(-1)!.streamId : null };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.notifier.notify();
  }

  private select(options: ReadAllOptions, keep: (e: RecordedEvent) => boolean): RecordedEvent[] {
    const after = options.after ?? 0n;
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const out: RecordedEvent[] = [];
    for (let i = Number(after); i < this.log.length && out.length < limit; i++) {
      const event = this.log[i]!;
      if (keep(event)) out.push(this.registry.upcast(structuredClone(event)));
    }
    return out;
  }
}
