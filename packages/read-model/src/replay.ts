import { randomBytes } from 'node:crypto';
import { formatInstant, parseInstant } from '@v2g/domain';
import type { EventStore, RecordedEvent, SqlClient } from '@v2g/event-store';
import { BatchApplier } from './batches.ts';
import { quoteIdent, tableNames, type Projection, type TableNames } from './projection.ts';

/**
 * What a replay may know: the events recorded at or before `instant` (metadata.recordedAt, "as
 * known at"), at or below log position `position`; either or both. Neither: everything readable.
 */
export type AsOf = { instant?: string; position?: bigint };

export type ReplayProgress = {
  /** The log position read up to so far. */
  scannedThrough: bigint;
  /** Where the scan ends (the `through` of the result). */
  target: bigint;
  /** Events applied so far (those the as-of cut lets in). */
  applied: number;
};

export type ReplayOptions = {
  store: EventStore;
  /** Where the throw-away tables go (the read models' database). */
  sql: SqlClient;
  projection: Projection;
  asOf: AsOf;
  /**
   * The schema to build into: created when missing, refused when it already holds one of the
   * projection's tables. Default: a new `replay_<random>` schema.
   */
  schema?: string;
  /** Events read and applied per transaction (default 1000). */
  batchSize?: number;
  onProgress?: (progress: ReplayProgress) => void;
  signal?: AbortSignal;
};

export type Replay = {
  schema: string;
  /** The projection's tables in the replay schema: its own query functions work on them as on the live ones. */
  tables: TableNames;
  /** The as-of cut, canonical (null: no cut of that kind). */
  asOf: { instant: string | null; position: bigint | null };
  /**
   * The log position the replay read up to: the given position, or the log's readable head when
   * the replay started if that is lower (or when no position was given). Every event at or below
   * it that the instant lets in was applied; nothing above it.
   */
  through: bigint;
  /** Events applied. */
  events: number;
  /** The position of the last event applied (0n when none). */
  lastApplied: bigint;
  /** Drops the replay's tables (and its schema, when the replay created it). Idempotent. */
  drop(): Promise<void>;
};

/** An event the projection failed on during a replay: what it was, where. */
export class ReplayFailed extends Error {
  constructor(
    readonly projection: string,
    readonly event: Pick<RecordedEvent, 'globalPosition' | 'streamId' | 'streamVersion' | 'type'>,
    cause: unknown,
  ) {
    super(
      `replay of ${projection} failed at position ${event.globalPosition} (${event.streamId} version ${event.streamVersion}, ${event.type}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'ReplayFailed';
  }
}

/** A fresh schema name for a throw-away replay: `replay_` and 16 hex digits. */
export function replaySchemaName(): string {
  return `replay_${randomBytes(8).toString('hex')}`;
}

/** Checks and normalises an as-of cut: a UTC instant (ISO 8601) and/or a non-negative position. */
export function normaliseAsOf(asOf: AsOf): { instant: string | null; instantMs: number | null; position: bigint | null } {
  const instantMs = asOf.instant === undefined ? null : parseInstant('asOf', asOf.instant);
  if (asOf.position !== undefined && asOf.position < 0n) throw new RangeError(`asOf position must not be negative, got ${asOf.position}`);
  return { instant: instantMs === null ? null : formatInstant(instantMs), instantMs, position: asOf.position ?? null };
}

/** Whether an event is known as of the cut: position at most `position`, recordedAt at most `instantMs`. */
export function knownAsOf(event: RecordedEvent, cut: { instantMs: number | null; position: bigint | null }): boolean {
  if (cut.position !== null && event.globalPosition > cut.position) return false;
  return cut.instantMs === null || Date.parse(event.metadata.recordedAt) <= cut.instantMs;
}

/**
 * Builds a projection "as known at" a moment into a throw-away schema: its tables created there,
 * then every event of the log up to `through` that the cut lets in, in log order, in batches
 * (through `applyBatch` when the projection has one), each batch in its own transaction. Nothing
 * is written to the live checkpoints table or to the live read model.
 *
 * Positions follow the log, but recordedAt does not strictly: writers on other machines stamp it
 * with their own clocks, so an event recorded "earlier" may sit after one recorded "later". The
 * cut is therefore applied event by event over the whole range, never by stopping at the first
 * event recorded after the instant.
 *
 * On failure (an event the projection throws on, the connection lost, an abort) the replay's
 * tables are dropped and the error thrown: a `ReplayFailed` names the event.
 */
export async function replayProjection(options: ReplayOptions): Promise<Replay> {
  const { store, sql, projection } = options;
  const cut = normaliseAsOf(options.asOf);
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const schema = options.schema ?? replaySchemaName();
  const tables = tableNames(schema, projection);
  const schemaIdent = quoteIdent(schema);

  const { rows: existing } = await sql.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`,
    [schema, projection.tables.map((logical) => `${projection.name}_v${projection.version}_${logical}`)],
  );
  if (existing.length > 0) throw new Error(`schema ${schema} already holds ${existing.map((r) => r.name).join(', ')}: replay into a new or empty schema`);
  const { rows: schemaRows } = await sql.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS found`, [schema]);
  const createdSchema = schemaRows[0]?.found !== true;

  let dropped: Promise<void> | undefined;
  const drop = (): Promise<void> => {
    dropped ??= (async () => {
      if (createdSchema) {
        await sql.query(`DROP SCHEMA IF EXISTS ${schemaIdent} CASCADE`);
      } else {
        for (const logical of projection.tables) await sql.query(`DROP TABLE IF EXISTS ${tables(logical)} CASCADE`);
      }
      projection.forget?.(tables);
    })();
    return dropped;
  };

  try {
    await sql.transaction(async (tx) => {
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schemaIdent}`);
      await projection.setup(tx, tables);
    });
    const head = await store.headPosition();
    const through = cut.position !== null && cut.position < head ? cut.position : head;
    let after = 0n;
    let applied = 0;
    let lastApplied = 0n;
    // The one batch routine, with nothing to book: a failing event fails the replay.
    const applier = new BatchApplier({ sql, projection, table: tables, bookkeeping: { begin: async (_tx, batch) => batch, end: async () => {} } });
    const read = (from: bigint) => {
      const reading = store.readAll({ after: from, limit: batchSize });
      reading.catch(() => {}); // awaited below, or dropped when the replay stops first
      return reading;
    };
    const cutOf = (page: readonly RecordedEvent[]) => {
      const inRange = page.filter((event) => event.globalPosition <= through);
      return { inRange, batch: inRange.filter((event) => knownAsOf(event, cut)) };
    };
    let pending = after < through ? read(after) : undefined;
    while (pending) {
      options.signal?.throwIfAborted();
      const page = await pending;
      if (page.length === 0) break;
      const { inRange, batch } = cutOf(page);
      after = inRange.length < page.length ? through : page.at(-1)!.globalPosition;
      // The next page read, and planned, while this one is applied.
      pending = after < through ? read(after) : undefined;
      void pending?.then(
        (next) => applier.prepare(cutOf(next).batch),
        () => {},
      );
      if (batch.length > 0) {
        const outcome = await applier.apply(batch);
        if (outcome.failure)
          throw new ReplayFailed(
            projection.name,
            batch.find((e) => e.globalPosition === outcome.failure!.position)!,
            outcome.cause,
          );
        applied += batch.length;
        lastApplied = batch.at(-1)!.globalPosition;
      }
      options.onProgress?.({ scannedThrough: after < through ? after : through, target: through, applied });
    }
    // The indexes only queries read, once the tables are full (one sort each, not row by row).
    if (projection.queryIndexes) await sql.transaction((tx) => projection.queryIndexes!(tx, tables));
    return { schema, tables, asOf: { instant: cut.instant, position: cut.position }, through, events: applied, lastApplied, drop };
  } catch (error) {
    await drop().catch(() => {});
    throw error;
  }
}
