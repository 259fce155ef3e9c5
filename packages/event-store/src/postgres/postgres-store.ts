import { EventStoreUnavailable, StreamVersionConflict } from '../errors.ts';
import { GENESIS_HASH } from '../hash-chain.ts';
import { checkExpectedVersion, isStorableText, prepareEvents, validateAppend } from '../prepare-append.ts';
import type { SchemaRegistry } from '../schema-registry.ts';
import { catchUpThenLive, Notifier } from '../subscription.ts';
import {
  categoryOf,
  checkRecordedCommand,
  streamPageLimit,
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ListStreamsOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamPage,
  type SubscribeOptions,
} from '../types.ts';
import { DEFAULT_SCHEMA, migrate, schemaNames, type SchemaNames } from './migrations.ts';
import type { SqlClient, SqlExecutor } from './sql-client.ts';

export type PostgresStoreOptions = {
  sql: SqlClient;
  /** Schema holding the store's tables (default 'v2g'); lowercase letters, digits and _. */
  schema?: string;
  registry: SchemaRegistry;
  /** Stamps recordedAt (default: the system clock). */
  clock?: () => Date;
  /**
   * How often an idle subscription looks again without a notification (default 500 ms). NOTIFY
   * wakes it when an append commits; the poll covers a notification lost with a dropped LISTEN
   * connection, and an append that rolls back (it notifies no one) after holding events back.
   */
  pollMs?: number;
};

/** Migrates the schema, then opens the store on it. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresEventStore> {
  await migrate(options.sql, options.schema ?? DEFAULT_SCHEMA);
  return new PostgresEventStore(options);
}

type AppendContext = {
  sql: SqlClient;
  names: SchemaNames;
  registry: SchemaRegistry;
  clock: () => Date;
};

type EventRow = {
  global_position: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  hash: string;
};

type LockedStreamRow = {
  command_stream_id: string | null;
  command_next_expected_version: number | null;
  command_first_version: number | null;
  command_first_position: string | null;
  command_last_position: string | null;
  command_fingerprint: string | null;
  stream_version: number | null;
  last_hash: string | null;
};

type CommandRow = {
  command_id: string;
  stream_id: string;
  next_expected_version: number;
  first_version: number | null;
  first_position: string | null;
  last_position: string | null;
  fingerprint: string | null;
};

const EVENT_COLUMNS = 'global_position, stream_id, stream_version, type, schema_version, data, metadata, hash';

/**
 * The log is read through read_events() and readable_head() (migration 2): an event is readable
 * once every appender of this store that could still commit a lower position has ended. They wait
 * for the store's own open appenders (which hold the appender lock), not for every transaction on
 * the server: a long transaction in another database or application does not hold readers back.
 * Appends take xids in position order (see write_append in migrations.ts), so a reader that has
 * seen position P can never later meet an event with a lower position.
 */
// Module-private access for beginHeldAppend(), which must run the very same append code.
const contexts = new WeakMap<PostgresEventStore, AppendContext>();

/**
 * The event store on PostgreSQL: a server through `pg`, or PGlite in-process; same SQL for both.
 * It does not own the SqlClient it is given: close() stops its listener and its subscriptions, and
 * the caller closes the client (which projections may share).
 */
export class PostgresEventStore implements EventStore {
  private readonly sql: SqlClient;
  private readonly names: SchemaNames;
  private readonly registry: SchemaRegistry;
  private readonly clock: () => Date;
  private readonly pollMs: number;
  private readonly notifier = new Notifier();
  private readonly closing = new AbortController();
  private listening: Promise<() => Promise<void>> | undefined;

  /** Expects a migrated schema: use openPostgresStore(). */
  constructor(options: PostgresStoreOptions) {
    this.sql = options.sql;
    this.names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
    this.registry = options.registry;
    this.clock = options.clock ?? (() => new Date());
    this.pollMs = options.pollMs ?? 500;
    contexts.set(this, { sql: this.sql, names: this.names, registry: this.registry, clock: this.clock });
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    this.checkOpen();
    const context = contexts.get(this)!;
    validateAppend(context.registry, streamId, events, options);
    try {
      return await this.sql.transaction((tx) => appendWithin(context, tx, streamId, events, options));
    } catch (error) {
      return this.recoverFromUniqueViolation(error, streamId, options);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    // No stream, command or category can have a name text cannot hold: nothing to ask SQL about.
    if (!isStorableText(streamId)) return [];
    const backwards = options.direction === 'backwards';
    const { rows } = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.names.schema}.events
       WHERE stream_id = $1 AND ${backwards ? 'stream_version <= coalesce($2, 2147483647)' : 'stream_version >= coalesce($2, 1)'}
       ORDER BY stream_version ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [streamId, options.fromVersion ?? null, limitParam(options.limit)],
    );
    return rows.map((row) => this.toRecorded(row));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    const { rows } = await this.sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM ${this.names.schema}.read_events($1, NULL, $2)`, [
      (options.after ?? 0n).toString(),
      limitParam(options.limit),
    ]);
    return rows.map((row) => this.toRecorded(row));
  }

  async readCategory(category: string, options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.checkOpen();
    if (!isStorableText(category)) return [];
    const { rows } = await this.sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM ${this.names.schema}.read_events($1, $2, $3)`, [
      (options.after ?? 0n).toString(),
      category,
      limitParam(options.limit),
    ]);
    return rows.map((row) => this.toRecorded(row));
  }

  subscribe(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    return this.subscription(options);
  }

  async commandResult(commandId: string): Promise<AppendResult | null> {
    this.checkOpen();
    if (!isStorableText(commandId)) return null;
    const { rows } = await this.sql.query<CommandRow>(
      `SELECT command_id, stream_id, next_expected_version, first_version, first_position, last_position, fingerprint
       FROM ${this.names.schema}.commands WHERE command_id = $1`,
      [commandId],
    );
    const row = rows[0];
    return row ? commandToResult(row.command_id, row.stream_id, row.next_expected_version, row.first_version, row.first_position, row.last_position, row.fingerprint) : null;
  }

  async streamVersion(streamId: string): Promise<number> {
    this.checkOpen();
    if (!isStorableText(streamId)) return 0;
    const { rows } = await this.sql.query<{ version: number }>(`SELECT version FROM ${this.names.schema}.streams WHERE stream_id = $1`, [streamId]);
    return rows[0]?.version ?? 0;
  }

  /**
   * From the streams table, which the append writes apart from the events: a head that the events
   * no longer reach is how `ledger verify` sees a truncated stream. Keyset paging on the primary key.
   */
  async listStreams(options: ListStreamsOptions = {}): Promise<StreamPage> {
    this.checkOpen();
    const limit = streamPageLimit(options.limit);
    const { rows } = await this.sql.query<{ stream_id: string; version: number; last_hash: string }>(
      `SELECT stream_id, version, last_hash FROM ${this.names.schema}.streams
       WHERE stream_id > $1 ORDER BY stream_id LIMIT $2`,
      // Every stream id starts with a letter, so '' sorts before all of them in any collation.
      [options.after ?? '', limit],
    );
    return {
      streams: rows.map((row) => ({ streamId: row.stream_id, version: Number(row.version), lastHash: row.last_hash })),
      next: rows.length === limit ? rows.at(-1)!.stream_id : null,
    };
  }

  async headPosition(): Promise<bigint> {
    this.checkOpen();
    const { rows } = await this.sql.query<{ head: string }>(`SELECT ${this.names.schema}.readable_head() AS head`);
    return toBigInt(rows[0]?.head ?? 0);
  }

  async committedPosition(): Promise<bigint> {
    this.checkOpen();
    const { rows } = await this.sql.query<{ head: string | null }>(`SELECT max(global_position) AS head FROM ${this.names.schema}.events`);
    return toBigInt(rows[0]?.head ?? 0);
  }

  async ping(): Promise<void> {
    this.checkOpen();
    await this.sql.query(`SELECT 1 FROM ${this.names.schema}.schema_migrations LIMIT 1`);
  }

  /** Ends subscriptions and the LISTEN; leaves the SqlClient open for its owner to close. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    this.notifier.notify();
    const listening = this.listening;
    this.listening = undefined;
    const stop = await listening?.catch(() => undefined);
    await stop?.();
  }

  private async *subscription(options: SubscribeOptions): AsyncGenerator<RecordedEvent> {
    this.checkOpen();
    // LISTEN before the first read: a commit between that read and the first wait still wakes us.
    await this.listenOnce();
    const { category } = options;
    const read = (after: bigint, limit: number) => (category === undefined ? this.readAll({ after, limit }) : this.readCategory(category, { after, limit }));
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    yield* catchUpThenLive(read, this.notifier, { ...options, signal, pollMs: this.pollMs });
  }

  /** One LISTEN per store, shared by all its subscriptions. */
  private listenOnce(): Promise<() => Promise<void>> {
    this.listening ??= this.sql
      .listen(this.names.channel, () => this.notifier.notify())
      .catch((error: unknown) => {
        this.listening = undefined;
        throw error;
      });
    return this.listening;
  }

  /**
   * The lock in lock_stream makes same-stream races impossible, so a unique violation means a writer
   * that bypassed it, or the same commandId raced on two streams: translate, never leak 23505.
   */
  private async recoverFromUniqueViolation(error: unknown, streamId: string, options: AppendOptions): Promise<AppendResult> {
    if ((error as { code?: unknown } | null)?.code !== '23505') throw error;
    const constraint = (error as { constraint?: unknown }).constraint;
    if (constraint === 'commands_pkey') {
      const earlier = await this.commandResult(options.commandId);
      if (earlier) {
        checkRecordedCommand(earlier, options.commandId, streamId, options.fingerprint);
        return earlier;
      }
    }
    throw new StreamVersionConflict(streamId, options.expectedVersion, await this.streamVersion(streamId));
  }

  private toRecorded(row: EventRow): RecordedEvent {
    return this.registry.upcast({
      streamId: row.stream_id,
      streamVersion: row.stream_version,
      globalPosition: toBigInt(row.global_position),
      type: row.type,
      schemaVersion: row.schema_version,
      data: row.data,
      metadata: row.metadata,
      hash: row.hash,
    });
  }

  private checkOpen(): void {
    if (this.closing.signal.aborted) throw new EventStoreUnavailable('the event store is closed');
  }
}

/**
 * The whole append inside the caller's transaction, in two statements besides BEGIN and COMMIT: lock_stream (stream lock,
 * then command and stream state), write_append (events, stream, command, NOTIFY).
 */
async function appendWithin(context: AppendContext, tx: SqlExecutor, streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
  const { schema } = context.names;
  const { rows } = await tx.query<LockedStreamRow>(`SELECT * FROM ${schema}.lock_stream($1, $2)`, [streamId, options.commandId]);
  const locked = rows[0];
  if (!locked) throw new EventStoreUnavailable('lock_stream returned no row');
  if (locked.command_stream_id !== null) {
    const recorded = commandToResult(
      options.commandId,
      locked.command_stream_id,
      locked.command_next_expected_version!,
      locked.command_first_version,
      locked.command_first_position,
      locked.command_last_position,
      locked.command_fingerprint,
    );
    checkRecordedCommand(recorded, options.commandId, streamId, options.fingerprint);
    return recorded;
  }
  const version = locked.stream_version ?? 0;
  checkExpectedVersion(streamId, options.expectedVersion, version);
  const prepared = prepareEvents(context.registry, streamId, events, options, { version, lastHash: locked.last_hash ?? GENESIS_HASH }, context.clock().toISOString());
  const nextVersion = version + prepared.length;
  const rowsJson = JSON.stringify(
    prepared.map((event) => ({
      stream_version: event.streamVersion,
      type: event.type,
      schema_version: event.schemaVersion,
      data: event.data,
      metadata: event.metadata,
      hash: event.hash,
    })),
  );
  const written = await tx.query<{ first_position: string | null; last_position: string | null }>(
    `SELECT first_position, last_position FROM ${schema}.write_append($1, $2, $3, $4, $5, $6::jsonb, $7)`,
    [streamId, categoryOf(streamId), options.commandId, nextVersion, prepared.at(-1)?.hash ?? locked.last_hash ?? GENESIS_HASH, rowsJson, options.fingerprint ?? null],
  );
  const positions = written.rows[0];
  return {
    streamId,
    commandId: options.commandId,
    nextExpectedVersion: nextVersion,
    firstVersion: prepared[0]?.streamVersion ?? null,
    firstPosition: positions?.first_position == null ? null : toBigInt(positions.first_position),
    lastPosition: positions?.last_position == null ? null : toBigInt(positions.last_position),
    duplicate: false,
    ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
  };
}

export type HeldAppend = {
  /** The append's outcome, as it will be once committed. */
  result: AppendResult;
  commit(): Promise<void>;
  rollback(): Promise<void>;
};

class HeldAppendRolledBack extends Error {}

/**
 * @internal For tests of the late-commit case: runs the same append code as append(), on a
 * connection of its own, and keeps the transaction open until commit() or rollback(). Server only:
 * PGlite has one connection, where a transaction held open blocks every other query.
 */
export async function beginHeldAppend(store: PostgresEventStore, streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<HeldAppend> {
  const context = contexts.get(store);
  if (!context) throw new Error('not a PostgresEventStore');
  if (context.sql.kind !== 'server') throw new Error('beginHeldAppend needs a PostgreSQL server: PGlite serves one connection');
  validateAppend(context.registry, streamId, events, options);
  let decide!: (commit: boolean) => void;
  const decision = new Promise<boolean>((resolve) => (decide = resolve));
  let started!: (result: AppendResult) => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<AppendResult>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  let outcome: unknown;
  const finished = context.sql
    .transaction(async (tx) => {
      const result = await appendWithin(context, tx, streamId, events, options);
      started(result);
      if (!(await decision)) throw new HeldAppendRolledBack();
    })
    .catch((error: unknown) => {
      failed(error);
      if (!(error instanceof HeldAppendRolledBack)) outcome = error;
    });
  const result = await ready;
  const end = async (commit: boolean) => {
    decide(commit);
    await finished;
    if (outcome !== undefined) throw outcome;
  };
  return { result, commit: () => end(true), rollback: () => end(false) };
}

function commandToResult(
  commandId: string,
  streamId: string,
  nextExpectedVersion: number,
  firstVersion: number | null,
  firstPosition: string | null,
  lastPosition: string | null,
  fingerprint: string | null,
): AppendResult {
  return {
    streamId,
    commandId,
    nextExpectedVersion,
    firstVersion,
    firstPosition: firstPosition == null ? null : toBigInt(firstPosition),
    lastPosition: lastPosition == null ? null : toBigInt(lastPosition),
    duplicate: true,
    ...(fingerprint === null ? {} : { fingerprint }),
  };
}

/** Both connectors hand int8 over as a string; a number here would already have lost precision. */
function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value))) return BigInt(value);
  throw new EventStoreUnavailable(`expected an int8 as a string, got ${typeof value} ${String(value)}`);
}

/** LIMIT NULL means no limit; a negative limit would be an SQL error, so it reads nothing. */
function limitParam(limit: number | undefined): number | null {
  if (limit === undefined) return null;
  return Math.max(0, Math.floor(limit));
}
