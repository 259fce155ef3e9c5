import { CommandIdReused } from './errors.ts';
import type { ExpectedVersion } from './expected-version.ts';

/**
 * The event store contract. Every adapter (PostgreSQL server, PGlite, KurrentDB, memory) implements
 * it and runs the same contract suite (`contract-suite.ts`).
 *
 * Stream versions count from 1: the first event of a stream has version 1, and a stream's version is
 * the number of events in it. Global positions are bigints that grow along the global log; reading
 * the log "after" a position never skips an event that commits later with a lower position.
 */

export type { ExpectedVersion };

/** Metadata every recorded event carries. */
export type EventMetadata = {
  /** The command that produced the event: a retried command is recognised by it. */
  commandId: string;
  /** The conversation the command belongs to (defaults to the commandId). */
  correlationId: string;
  /** What caused this command (an event id or another command; defaults to the commandId). */
  causationId: string;
  /** Who issued the command: a user, a charger, a process manager. */
  actor: string;
  /** When it happened in the world (ISO 8601, UTC). A meter's timestamp, say. */
  occurredAt: string;
  /** When the ledger learned it (ISO 8601, UTC), stamped by the store. */
  recordedAt: string;
};

/** An event as a writer hands it to the store. */
export type NewEvent = {
  type: string;
  data: unknown;
  /** Defaults to the newest schema version of the type. */
  schemaVersion?: number;
  /** Defaults to the append's recordedAt. */
  occurredAt?: string;
};

export type AppendOptions = {
  expectedVersion: ExpectedVersion;
  /** Idempotency key: a second append with the same id returns the first result, writes nothing. */
  commandId: string;
  /**
   * What the command asked for, hashed (the client's canonical input, not the clock-stamped
   * command): recorded with the command. A later append under the same commandId with another
   * fingerprint is a different command, refused with CommandIdReused; one with the same (or
   * without one, as internal retries are) gets the first result.
   */
  fingerprint?: string;
  actor: string;
  correlationId?: string;
  causationId?: string;
};

export type AppendResult = {
  streamId: string;
  commandId: string;
  /** The stream's version after the append (the version of its last event). */
  nextExpectedVersion: number;
  /** Versions and positions of the appended events; empty (null) when nothing was appended. */
  firstVersion: number | null;
  firstPosition: bigint | null;
  lastPosition: bigint | null;
  /** True when this result is the recorded outcome of an earlier append with the same commandId. */
  duplicate: boolean;
  /** The fingerprint recorded with the command, when it had one. */
  fingerprint?: string;
};

/** An event as stored, in its envelope. */
export type RecordedEvent = {
  streamId: string;
  streamVersion: number;
  globalPosition: bigint;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  /** sha256 hex of (previous event's hash + canonical form of this event): see hash-chain.ts. */
  hash: string;
  /**
   * When the event was upcast on read, what was stored (the hash chain covers this form). Absent
   * when the stored version is the newest.
   */
  stored?: { schemaVersion: number; data: unknown };
};

export type Direction = 'forwards' | 'backwards';

export type ReadStreamOptions = {
  /** Forwards: the first version to return (default 1). Backwards: the highest (default last). */
  fromVersion?: number;
  direction?: Direction;
  limit?: number;
};

export type ReadAllOptions = {
  /** Return events strictly after this position (a checkpoint). Default: from the beginning. */
  after?: bigint;
  limit?: number;
};

export type ReadCategoryOptions = ReadAllOptions;

export type SubscribeOptions = {
  after?: bigint;
  /** Only events of streams in this category (the part of the stream id before the first '-'). */
  category?: string;
  /** Ends the subscription; the iterator then returns. */
  signal?: AbortSignal;
  /** Events per read while catching up (default 500). */
  batchSize?: number;
};

/** A stream's head as the store records it: what an auditor compares the stream's events with. */
export type StreamHead = {
  streamId: string;
  /** The stream's version (the version of its last event, >= 1). */
  version: number;
  /** The hash of its last event. */
  lastHash: string;
};

export type ListStreamsOptions = {
  /** The `next` cursor of the previous page (opaque); absent for the first page. */
  after?: string;
  /** Streams per page (default 1000). */
  limit?: number;
};

export type StreamPage = {
  streams: StreamHead[];
  /** Where the next page starts; null when there is none. */
  next: string | null;
};

export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Every event of streams `<category>-*`, in global order. */
  readCategory(category: string, options?: ReadCategoryOptions): Promise<RecordedEvent[]>;
  /** Catch-up, then live; resumable from any position the caller has checkpointed. */
  subscribe(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;
  /** The recorded outcome of a command, or null when that commandId was never appended. */
  commandResult(commandId: string): Promise<AppendResult | null>;
  /** The stream's current version (0 when it has no events). */
  streamVersion(streamId: string): Promise<number>;
  /**
   * Every stream that has events, page by page, with its head as the store records it (on
   * PostgreSQL from its own table, apart from the events). Each stream once; the order is the
   * adapter's (by stream id on PostgreSQL and in memory, by first event on KurrentDB). A stream
   * created while paging may or may not show up. `ledger verify` walks the streams this way, in
   * bounded memory, however many there are.
   */
  listStreams(options?: ListStreamsOptions): Promise<StreamPage>;
  /** The position of the newest event that readAll can return now (0n for an empty log). */
  headPosition(): Promise<bigint>;
  /**
   * The position of the newest committed event, readable yet or not (0n for an empty log). On a
   * PostgreSQL server headPosition() may trail it while an append with a lower position is still
   * open; once headPosition() reaches it, every event committed when it was asked is readable.
   */
  committedPosition(): Promise<bigint>;
  /** Reachability check for /readyz: throws when the backing store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Whether a command recorded under `commandId` answers an append of `streamId` with `fingerprint`:
 * throws CommandIdReused when it was for another stream, or for another payload (both
 * fingerprints known and different). Every adapter and every early retry check uses it.
 */
export function checkRecordedCommand(recorded: AppendResult, commandId: string, streamId: string, fingerprint: string | undefined): void {
  if (recorded.streamId !== streamId) throw new CommandIdReused(commandId, recorded.streamId, streamId);
  if (fingerprint !== undefined && recorded.fingerprint !== undefined && recorded.fingerprint !== fingerprint) {
    throw new CommandIdReused(commandId, recorded.streamId, streamId, 'payload');
  }
}

/** The category of a stream: what comes before the first '-' (`session-42` → `session`). */
export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash < 0 ? streamId : streamId.slice(0, dash);
}

/** Streams per listStreams page: 1000 by default, from 1 to 10,000. */
export function streamPageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return 1000;
  return Math.min(10_000, Math.max(1, Math.floor(limit)));
}
