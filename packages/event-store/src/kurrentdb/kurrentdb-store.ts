/**
 * The EventStore interface over KurrentDB / EventStoreDB (gRPC, through `@eventstore/db-client`).
 *
 * Every import of the client library lives in this file: switching to `@kurrent/kurrentdb-client`
 * (the renamed successor, same gRPC protocol) changes this file only. Library errors are translated
 * here, where they cross into our code (`translateClientError`).
 *
 * How our model maps onto KurrentDB:
 * - Stream versions count from 1, KurrentDB revisions from 0: `version = revision + 1`.
 * - `globalPosition` is the event's commit position in the transaction log. For events written by a
 *   regular append (gRPC `Append`/`BatchAppend`, i.e. everything this adapter writes) KurrentDB
 *   writes each event as a self-committed prepare record (`PrepareFlags.IsCommitted`), and `$all`
 *   reports `commit == prepare == the record's own log position` (KurrentDB `AllReader`: an
 *   implicitly committed prepare yields `CommitEventRecord(event, prepare.LogPosition)`). Only the
 *   legacy TCP explicit transactions give several events one shared commit position; this adapter
 *   never writes those, and it skips streams it did not write. Consequences the callers must know:
 *     * positions grow along the log but are byte offsets: they are NOT dense (two events of one
 *       append differ by their record size, not by 1);
 *     * a position is a valid checkpoint only when it came from this store (an event's
 *       globalPosition, an AppendResult position, headPosition()) or is 0n. KurrentDB cannot start a
 *       read in the middle of a record (it answers with an error), so `position - 1n` is not a
 *       usable checkpoint here.
 * - The event's JSON metadata carries our envelope metadata plus `schemaVersion`, `streamVersion`
 *   and `hash` (see `toKurrentEventData`).
 * - Idempotency by commandId works on two levels (see `append`):
 *     1. every event gets a deterministic id (UUID v5 of stream, commandId and index), so resending
 *        the identical append after an unknown outcome is answered by KurrentDB's own idempotency
 *        check (same ids at the same expected revision → "already committed", nothing written);
 *     2. the outcome of every command is recorded in its own stream `_command-<commandId>`. Stream
 *        ids we accept must start with a letter (`validateAppend`), so no ledger stream can ever be
 *        named like that; and it is deliberately not a `$` stream: those are system streams whose
 *        default ACL needs an admin, which an application user should not need to be.
 *   KurrentDB has no transaction across two streams (not in this client version), so the command
 *   record is written after the events. If the process dies between the two, the next attempt of
 *   the same command finds its events among the last RECOVERY_WINDOW events of the stream (every
 *   event carries its commandId), writes the missing record and answers "duplicate".
 * - The global log (`readAll`, `readCategory`, `headPosition`, `subscribe`) shows only streams our
 *   stream-id rules produce: no `$` system streams or events, no `_command-` records.
 */
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type JSONType,
  type Position,
  type ReadPosition,
  type ReadRevision,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { EventStoreUnavailable, StreamVersionConflict } from '../errors.ts';
import { GENESIS_HASH } from '../hash-chain.ts';
import { mapWithConcurrency } from '../map-with-concurrency.ts';
import { checkExpectedVersion, prepareEvents, validateAppend, type PreparedEvent } from '../prepare-append.ts';
import type { SchemaRegistry } from '../schema-registry.ts';
import {
  categoryOf,
  checkRecordedCommand,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type ListStreamsOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadCategoryOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamHead,
  type StreamPage,
  type SubscribeOptions,
  streamPageLimit,
} from '../types.ts';

import {
  COMMAND_RECORDED,
  commandRecordIdFor,
  commandStreamOf,
  decodeCommandResult,
  encodeCommandResult,
  expectedRevisionFor,
  fromKurrentRecord,
  isLedgerRecord,
  LEDGER_FORMAT,
  LEDGER_STREAM_PATTERN,
  revisionToVersion,
  toKurrentEventData,
  translateClientError,
  versionToRevision,
  withFingerprint,
  asClientError,
  isUnknownOutcome,
} from './kurrentdb-codec.ts';

export type KurrentDbStoreOptions = {
  /** `esdb://host:2113?tls=false`, `esdb+discover://…` for a cluster (never logged: it may hold a password). */
  connectionString: string;
  registry: SchemaRegistry;
  /** Stamps recordedAt. Default: the system clock. */
  clock?: () => Date;
  /** Ping the server before returning, so a bad URL fails at start (default true). */
  verify?: boolean;
};

/** Attempts of one append when someone else appended between our read of the tail and our write. */
const MAX_APPEND_ATTEMPTS = 5;
/** Identical resends of one write after an unknown outcome (connection lost, deadline passed). */
const MAX_RESENDS = 2;
const RESEND_DELAY_MS = 200;
/** How many of a stream's newest events an append inspects for an unrecorded earlier attempt. */
const RECOVERY_WINDOW = 16;
/** Records read per page when scanning $all (which also holds system events we skip). */
const PAGE_SIZE = 256;
const PING_TIMEOUT_MS = 5_000;

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

function positionAfter(after: bigint | undefined): ReadPosition {
  return after === undefined || after <= 0n ? START : { commit: after, prepare: after };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

export class KurrentDbEventStore implements EventStore {
  private readonly registry: SchemaRegistry;
  private readonly clock: () => Date;
  private readonly subscriptions = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly client: EventStoreDBClient,
    options: { registry: SchemaRegistry; clock?: () => Date },
  ) {
    this.registry = options.registry;
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Validates first (no I/O), then: the command's recorded outcome or its unrecorded events answer a
   * retry; otherwise read the stream's tail (version and last hash), check the caller's expectation,
   * chain the new events onto that tail and append them expecting exactly that revision, so the
   * chain cannot fork. When someone else appended in between, start over from the new tail: with
   * 'any'/'exists' that succeeds on a later attempt, with an exact expectation it ends in
   * StreamVersionConflict (or in the first result, when the other writer was this very command).
   */
  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    validateAppend(this.registry, streamId, events, options);
    this.ensureOpen();
    let conflict: StreamVersionConflict | undefined;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const [recorded, tail] = await Promise.all([this.readCommandRecord(options.commandId), this.readTail(streamId, RECOVERY_WINDOW)]);
      if (recorded) {
        checkRecordedCommand(recorded, options.commandId, streamId, options.fingerprint);
        return recorded;
      }
      // Events written by an earlier attempt whose record is missing: the record gets this
      // attempt's fingerprint (the events do not carry one).
      const unrecorded = await this.unrecordedOutcome(streamId, options.commandId, tail);
      if (unrecorded) return this.recordCommand(withFingerprint(unrecorded, options), streamId, 'recovered');

      const version = tail[0]?.streamVersion ?? 0;
      checkExpectedVersion(streamId, options.expectedVersion, version);
      if (events.length === 0) {
        const result: AppendResult = {
          streamId,
          commandId: options.commandId,
          nextExpectedVersion: version,
          firstVersion: null,
          firstPosition: null,
          lastPosition: null,
          duplicate: false,
        };
        return this.recordCommand(withFingerprint(result, options), streamId, 'empty');
      }
      const prepared = prepareEvents(this.registry, streamId, events, options, { version, lastHash: tail[0]?.hash ?? GENESIS_HASH }, this.clock().toISOString());
      try {
        const [first, last] = await this.appendPrepared(streamId, prepared, version, options.expectedVersion);
        const result: AppendResult = {
          streamId,
          commandId: options.commandId,
          nextExpectedVersion: last.streamVersion,
          firstVersion: first.streamVersion,
          firstPosition: first.globalPosition,
          lastPosition: last.globalPosition,
          duplicate: false,
        };
        return await this.recordCommand(withFingerprint(result, options), streamId, 'appended');
      } catch (error) {
        if (!(error instanceof StreamVersionConflict)) throw error;
        conflict = error;
      }
    }
    throw conflict ?? new StreamVersionConflict(streamId, options.expectedVersion, await this.streamVersion(streamId));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.ensureOpen();
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    if (limit <= 0) return [];
    let fromRevision: ReadRevision;
    if (options.direction === 'backwards') {
      fromRevision = END;
      if (options.fromVersion !== undefined) {
        const from = Math.floor(options.fromVersion);
        if (from < 1) return [];
        // KurrentDB reads backwards over [from - limit + 1, from] without clamping `from` to the
        // stream's end: start at the real last event so a limit past the end still fills up.
        const head = await this.streamVersion(streamId);
        if (head === 0) return [];
        fromRevision = versionToRevision(Math.min(from, head));
      }
    } else {
      const from = Math.ceil(options.fromVersion ?? 1);
      fromRevision = from <= 1 ? START : versionToRevision(from);
    }
    const events = await this.readStreamRaw(streamId, {
      direction: options.direction === 'backwards' ? BACKWARDS : FORWARDS,
      fromRevision,
      maxCount: limit,
    });
    return events.map((e) => this.registry.upcast(e));
  }

  /**
   * Pages through $all from the checkpoint, keeping ledger events. The client (6.2.1) offers
   * server-side filters only on subscriptions, not on reads, so the filter runs here.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.scanAll(options, () => true);
  }

  /**
   * Streams `<category>-*` in global order. Not through `$ce-<category>`: that stream is written by
   * the `$by_category` system projection, and projections are off on a default server (and the
   * links it holds carry the link's position, not the event's commit position). Scanning $all with
   * a stream-name test works on every server; live consumers should use `subscribe({ category })`,
   * which the server filters by stream prefix.
   */
  async readCategory(category: string, options: ReadCategoryOptions = {}): Promise<RecordedEvent[]> {
    return this.scanAll(options, (streamId) => categoryOf(streamId) === category);
  }

  /**
   * A KurrentDB catch-up subscription to $all (it reads history, then switches to live by itself),
   * filtered on the server by stream name: the ledger's stream shape, or `<category>-`. Ends when
   * the signal aborts or the store closes; a dropped connection surfaces as EventStoreUnavailable,
   * after which the caller resubscribes from its checkpoint.
   */
  subscribe(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    return this.subscription(options);
  }

  async commandResult(commandId: string): Promise<AppendResult | null> {
    this.ensureOpen();
    return this.readCommandRecord(commandId);
  }

  async streamVersion(streamId: string): Promise<number> {
    this.ensureOpen();
    const [last] = await this.readResolved(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1, requiresLeader: true });
    return last?.event ? revisionToVersion(last.event.revision) : 0;
  }

  /**
   * Streams in the order of their first event: $all scanned forwards for the revision-0 records of
   * ledger streams (no `$streams` system projection needed, which is off on a default server), then
   * each stream's head read from its end. The cursor is the commit position of the last first event
   * listed. KurrentDB keeps no head apart from the events, so here the head is the last event.
   */
  async listStreams(options: ListStreamsOptions = {}): Promise<StreamPage> {
    this.ensureOpen();
    const limit = streamPageLimit(options.limit);
    if (options.after !== undefined && !/^[0-9]{1,20}$/.test(options.after)) {
      throw new RangeError(`listStreams: ${JSON.stringify(options.after)} is not a cursor this store returned`);
    }
    const after = options.after === undefined ? 0n : BigInt(options.after);
    const firsts: { streamId: string; position: bigint }[] = [];
    for await (const event of this.recordsAfter(after)) {
      if (event.revision !== 0n || !isLedgerRecord(event.streamId, event.type)) continue;
      firsts.push({ streamId: event.streamId, position: event.position.commit });
      if (firsts.length >= limit) break;
    }
    const heads = await mapWithConcurrency(firsts, 16, async ({ streamId }): Promise<StreamHead | undefined> => {
      const [last] = await this.readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
      return last ? { streamId, version: last.streamVersion, lastHash: last.hash } : undefined;
    });
    return {
      streams: heads.filter((head): head is StreamHead => head !== undefined),
      next: firsts.length >= limit ? firsts.at(-1)!.position.toString() : null,
    };
  }

  /** Reads $all backwards from its end to the first ledger event. */
  async headPosition(): Promise<bigint> {
    this.ensureOpen();
    let from: ReadPosition = END;
    let cursor: Position | undefined;
    for (;;) {
      const page = await this.readAllPage({ direction: BACKWARDS, fromPosition: from, maxCount: PAGE_SIZE });
      let fresh = 0;
      for (const resolved of page) {
        const event = resolved.event;
        if (!event) continue;
        if (cursor && comparePositions(event.position, cursor) >= 0) continue;
        cursor = event.position;
        fresh += 1;
        if (isLedgerRecord(event.streamId, event.type)) return event.position.commit;
      }
      if (page.length < PAGE_SIZE || fresh === 0 || !cursor) return 0n;
      from = cursor;
    }
  }

  /** KurrentDB assigns positions as it commits: everything committed is readable. */
  async committedPosition(): Promise<bigint> {
    return this.headPosition();
  }

  /** One backwards read of one record of $all, bounded in time. */
  async ping(): Promise<void> {
    this.ensureOpen();
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EventStoreUnavailable(`KurrentDB did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        (async () => {
          for await (const _ of read) break;
        })(),
        timeout,
      ]);
    } catch (error) {
      throw translateClientError(error);
    } finally {
      clearTimeout(timer);
      await read.cancel().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.subscriptions) controller.abort();
    await this.client.dispose();
  }

  // --- append helpers -----------------------------------------------------------------------

  /**
   * Appends prepared events expecting exactly the revision they were chained onto. After an unknown
   * outcome the identical request (same ids, same expected revision) is resent: if the first one was
   * committed, KurrentDB recognises the ids and answers "already committed" without writing again.
   * Returns the first and last appended event as read back (their positions, their hashes checked).
   */
  private async appendPrepared(streamId: string, prepared: readonly PreparedEvent[], version: number, expected: ExpectedVersion): Promise<[RecordedEvent, RecordedEvent]> {
    const data = prepared.map((event, i) => toKurrentEventData(streamId, event, i));
    const expectedRevision = expectedRevisionFor(version);
    for (let resend = 0; ; resend++) {
      try {
        await this.client.appendToStream(streamId, data, { expectedRevision, requiresLeader: true });
        break;
      } catch (error) {
        if (resend < MAX_RESENDS && isUnknownOutcome(error)) {
          await sleep(RESEND_DELAY_MS * (resend + 1));
          continue;
        }
        throw translateClientError(error, { expected });
      }
    }
    // The append's own position answer is one position for the whole batch; read the first and
    // last event back instead, which also proves what was stored is what was chained.
    const firstPrepared = prepared[0]!;
    const lastPrepared = prepared.at(-1)!;
    const [first, last] = await Promise.all([
      this.readAt(streamId, firstPrepared.streamVersion),
      prepared.length === 1 ? undefined : this.readAt(streamId, lastPrepared.streamVersion),
    ]);
    const end = last ?? first;
    if (first?.hash !== firstPrepared.hash || end?.hash !== lastPrepared.hash) {
      throw new EventStoreUnavailable(`KurrentDB stream ${streamId}: the appended events read back differently`, { streamId });
    }
    return [first, end];
  }

  /**
   * Records a command's outcome (once: the record stream must not exist yet). When it does exist,
   * another attempt of the same command recorded first: its record is the answer, unless it names
   * another stream (two concurrent first attempts of one commandId on two streams; the events of
   * this one are then already written, which KurrentDB cannot undo: reported as CommandIdReused).
   * `how`: this call appended the events, or the command had none, or an earlier attempt wrote them.
   */
  private async recordCommand(result: AppendResult, streamId: string, how: 'appended' | 'empty' | 'recovered'): Promise<AppendResult> {
    const stream = commandStreamOf(result.commandId);
    const record = jsonEvent({
      id: commandRecordIdFor(result.commandId),
      type: COMMAND_RECORDED,
      data: encodeCommandResult(result) as JSONType,
      metadata: { ledgerFormat: LEDGER_FORMAT, recordedAt: this.clock().toISOString() },
    });
    for (let resend = 0; ; resend++) {
      try {
        await this.client.appendToStream(stream, record, { expectedRevision: NO_STREAM, requiresLeader: true });
        return { ...result, duplicate: how === 'recovered' };
      } catch (error) {
        const converted = asClientError(error);
        if (converted instanceof WrongExpectedVersionError) break;
        if (resend < MAX_RESENDS && isUnknownOutcome(error)) {
          await sleep(RESEND_DELAY_MS * (resend + 1));
          continue;
        }
        throw translateClientError(error);
      }
    }
    const earlier = await this.readCommandRecord(result.commandId);
    if (!earlier) throw new EventStoreUnavailable(`KurrentDB command record ${stream} exists but cannot be read`);
    checkRecordedCommand(earlier, result.commandId, streamId, result.fingerprint);
    // Only the attempt whose append wrote the events is not a duplicate.
    return { ...earlier, duplicate: how !== 'appended' };
  }

  /** `outcomeFromTail`, reading further back when the command's events reach past the tail read. */
  private async unrecordedOutcome(streamId: string, commandId: string, tail: readonly RecordedEvent[]): Promise<AppendResult | null> {
    let events = tail;
    let outcome = outcomeFromTail(streamId, commandId, events);
    for (;;) {
      const oldest = events.at(-1);
      if (!outcome || !oldest || oldest.metadata.commandId !== commandId || oldest.streamVersion <= 1) return outcome;
      const older = await this.readStreamRaw(streamId, {
        direction: BACKWARDS,
        fromRevision: versionToRevision(oldest.streamVersion - 1),
        maxCount: PAGE_SIZE,
        requiresLeader: true,
      });
      if (older.length === 0) return outcome;
      events = [...events, ...older];
      outcome = outcomeFromTail(streamId, commandId, events);
    }
  }

  private async readCommandRecord(commandId: string): Promise<AppendResult | null> {
    const [last] = await this.readResolved(commandStreamOf(commandId), {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
      requiresLeader: true,
    });
    if (!last?.event) return null;
    if (last.event.type !== COMMAND_RECORDED) throw new EventStoreUnavailable(`KurrentDB stream ${commandStreamOf(commandId)} holds a ${last.event.type}`);
    return decodeCommandResult(last.event.data);
  }

  /** The stream's newest events, newest first, as stored (for version, hash and recovery). */
  private readTail(streamId: string, count: number): Promise<RecordedEvent[]> {
    return this.readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: count, requiresLeader: true });
  }

  private async readAt(streamId: string, version: number): Promise<RecordedEvent | undefined> {
    const [event] = await this.readStreamRaw(streamId, {
      direction: FORWARDS,
      fromRevision: versionToRevision(version),
      maxCount: 1,
      requiresLeader: true,
    });
    return event?.streamVersion === version ? event : undefined;
  }

  // --- read helpers -------------------------------------------------------------------------

  private async readStreamRaw(
    streamId: string,
    options: { direction: typeof FORWARDS | typeof BACKWARDS; fromRevision: ReadRevision; maxCount: number; requiresLeader?: boolean },
  ): Promise<RecordedEvent[]> {
    const resolved = await this.readResolved(streamId, options);
    const out: RecordedEvent[] = [];
    for (const r of resolved) if (r.event) out.push(fromKurrentRecord(r.event, r.commitPosition));
    return out;
  }

  /** A stream's resolved events; a stream that does not exist reads as empty. */
  private async readResolved(
    streamId: string,
    options: { direction: typeof FORWARDS | typeof BACKWARDS; fromRevision: ReadRevision; maxCount: number; requiresLeader?: boolean },
  ): Promise<ResolvedEvent[]> {
    const read = this.client.readStream(streamId, { ...options, resolveLinkTos: false });
    const out: ResolvedEvent[] = [];
    try {
      for await (const resolved of read) out.push(resolved);
    } catch (error) {
      const converted = asClientError(error);
      if (converted instanceof StreamNotFoundError) return [];
      if (converted instanceof StreamDeletedError) {
        throw new EventStoreUnavailable(`KurrentDB stream ${streamId} was deleted outside the ledger`, { streamId });
      }
      throw translateClientError(error);
    }
    return out;
  }

  private async readAllPage(options: { direction: typeof FORWARDS | typeof BACKWARDS; fromPosition: ReadPosition; maxCount: number }): Promise<AllStreamResolvedEvent[]> {
    const out: AllStreamResolvedEvent[] = [];
    try {
      for await (const resolved of this.client.readAll({ ...options, resolveLinkTos: false })) out.push(resolved);
    } catch (error) {
      throw translateClientError(error);
    }
    return out;
  }

  private async scanAll(options: ReadAllOptions, keep: (streamId: string) => boolean): Promise<RecordedEvent[]> {
    this.ensureOpen();
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    if (limit <= 0) return [];
    const out: RecordedEvent[] = [];
    for await (const event of this.recordsAfter(options.after ?? 0n)) {
      if (!isLedgerRecord(event.streamId, event.type) || !keep(event.streamId)) continue;
      out.push(this.registry.upcast(fromKurrentRecord(event)));
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Every record of $all after the position `after`, forwards, read PAGE_SIZE at a time; the next
   * page is read only when the caller asks past this one. Ends at the end of $all.
   */
  private async *recordsAfter(after: bigint): AsyncGenerator<NonNullable<AllStreamResolvedEvent['event']>> {
    // Forward reads of $all include the record at the start position: `cursor` drops it.
    let cursor: Position | undefined = after > 0n ? { commit: after, prepare: after } : undefined;
    let from: ReadPosition = positionAfter(after);
    for (;;) {
      const page = await this.readAllPage({ direction: FORWARDS, fromPosition: from, maxCount: PAGE_SIZE });
      let fresh = 0;
      for (const resolved of page) {
        const event = resolved.event;
        if (!event) continue;
        if (cursor && comparePositions(event.position, cursor) <= 0) continue;
        cursor = event.position;
        fresh += 1;
        yield event;
      }
      if (page.length < PAGE_SIZE || fresh === 0 || !cursor) return;
      from = cursor;
    }
  }

  private async *subscription(options: SubscribeOptions): AsyncGenerator<RecordedEvent> {
    this.ensureOpen();
    const { category, signal } = options;
    if (signal?.aborted) return;
    // Ends on the caller's signal and on close().
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.subscriptions.add(controller);
    const aborted = new Promise<'aborted'>((resolve) => {
      controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });

    let cursor = options.after ?? 0n;
    const filter = category === undefined ? streamNameFilter({ regex: LEDGER_STREAM_PATTERN }) : streamNameFilter({ prefixes: [`${category}-`] });
    const subscription = this.client.subscribeToAll(
      { fromPosition: positionAfter(cursor), filter, resolveLinkTos: false },
      { highWaterMark: Math.max(1, options.batchSize ?? 500) },
    );
    const iterator = subscription[Symbol.asyncIterator]();
    try {
      for (;;) {
        const pending = iterator.next();
        // Once we stop listening, a late rejection of this read must not go unhandled.
        pending.catch(() => undefined);
        const next = await Promise.race([pending, aborted]);
        if (next === 'aborted' || controller.signal.aborted) return;
        if (next.done) throw new EventStoreUnavailable('KurrentDB ended the subscription to $all');
        const record = next.value.event;
        if (!record || !isLedgerRecord(record.streamId, record.type)) continue;
        if (category !== undefined && categoryOf(record.streamId) !== category) continue;
        const event = this.registry.upcast(fromKurrentRecord(record));
        // The subscription starts after `fromPosition`; this also guards a server that includes it.
        if (event.globalPosition <= cursor) continue;
        cursor = event.globalPosition;
        yield event;
        if (controller.signal.aborted) return;
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      throw translateClientError(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.subscriptions.delete(controller);
      controller.abort();
      await subscription.unsubscribe().catch(() => undefined);
      subscription.destroy();
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new EventStoreUnavailable('the KurrentDB event store is closed');
  }
}

/**
 * When the stream's newest events include this command's (an earlier attempt wrote them, then
 * stopped before recording the outcome), the outcome they imply. Events of one append are
 * contiguous, so the command's run is the consecutive events carrying its commandId.
 */
export function outcomeFromTail(streamId: string, commandId: string, newestFirst: readonly RecordedEvent[]): AppendResult | null {
  const lastIndex = newestFirst.findIndex((e) => e.metadata.commandId === commandId);
  if (lastIndex < 0) return null;
  let firstIndex = lastIndex;
  while (newestFirst[firstIndex + 1]?.metadata.commandId === commandId) firstIndex += 1;
  const last = newestFirst[lastIndex]!;
  const first = newestFirst[firstIndex]!;
  return {
    streamId,
    commandId,
    nextExpectedVersion: last.streamVersion,
    firstVersion: first.streamVersion,
    firstPosition: first.globalPosition,
    lastPosition: last.globalPosition,
    duplicate: true,
  };
}

/** Opens a store on a KurrentDB / EventStoreDB server (or cluster) and, by default, checks it answers. */
export async function openKurrentDbStore(options: KurrentDbStoreOptions): Promise<KurrentDbEventStore> {
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(options.connectionString);
  } catch (error) {
    // The parser's message names the offending character, never the whole (secret-bearing) string.
    const reason = error instanceof Error ? error.message : String(error);
    throw new EventStoreUnavailable(`invalid KurrentDB connection string: ${reason}`, { reason });
  }
  const store = new KurrentDbEventStore(client, options);
  if (options.verify ?? true) {
    try {
      await store.ping();
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  }
  return store;
}
