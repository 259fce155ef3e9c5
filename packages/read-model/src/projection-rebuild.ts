import { sleep } from '@v2g/event-store';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CodedError } from '@v2g/domain';
import type { EventStore, SqlClient, SqlExecutor } from '@v2g/event-store';
import type { Logger } from 'pino';
import { BatchApplier } from './batches.ts';
import { ACTIVE_REBUILD_STATES as ACTIVE, createProjectionBookkeeping, parseFailure, serializeFailure, type ProjectionFailure, type SerializedFailure } from './bookkeeping.ts';
import { quoteIdent, tableNames, tablePrefix, type Projection, type TableNames } from './projection.ts';

/**
 * Blue/green rebuild of a projection, while its live tables keep serving and the live runner (in
 * this process or another) keeps applying:
 *
 * 1. **Claim.** A row in `<schema>.projection_rebuilds` (one active per projection) holds the next
 *    build's checkpoint and a lease (owner, lease_until). Claiming an active row whose lease has
 *    run out (a crash) or was given back (an abort) resumes it from its checkpoint; a row leased by
 *    someone else is a `RebuildInProgress`. A new rebuild creates the next tables
 *    (`<name>_v<version>_next_<table>`) in the claim's transaction.
 * 2. **Build.** Events from the log in batches (the next batch read while the last one is applied),
 *    each applied to the next tables in the transaction that moves the rebuild's checkpoint and
 *    renews its lease: a crash loses nothing and doubles nothing. The indexes only queries read
 *    (Projection.queryIndexes) are not there yet: they are built once, when a read comes back short.
 * 3. **Switch**, once a read comes back short (near the head), in one transaction: lock the rebuild
 *    row and the live checkpoint row (`FOR UPDATE`: the runner's batches lock it first, so they wait
 *    here and never apply across the switch); apply the events between the two checkpoints to the
 *    next tables; lock the live tables (bounded by a statement timeout, so that a reader that would
 *    deadlock with us never waits out the deadlock timeout: we give up first and try again); rename
 *    live to `_old_` and next to the live names, tables, indexes, constraints and sequences alike;
 *    set the live checkpoint to the next one; delete checkpoint rows of other versions. Readers see
 *    the old tables or the new ones, never a mix.
 * 4. **Drop** the old tables (and those of other versions) in a transaction of their own.
 */

export type RebuildState = 'building' | 'switching' | 'interrupted' | 'failed' | 'switched' | 'cancelled';

/** A rebuild as `projectionStatus` shows it; positions of the global log count the events. */
export type RebuildProgress = {
  id: string;
  name: string;
  version: number;
  state: RebuildState;
  /** Positions rebuilt so far: the next tables' checkpoint minus where the rebuild started. */
  done: bigint;
  /** Positions to rebuild: the head of the log (as last seen) minus where the rebuild started. */
  total: bigint;
  /** The next tables' checkpoint (after the switch: the live one it set). */
  position: bigint;
  /** Of this run (since it started or resumed). */
  eventsPerSecond: number;
  /** null when unknown (nothing done yet) or over. */
  etaSeconds: number | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Where this run took over an interrupted one; null when it started from the beginning. */
  resumedFrom: bigint | null;
  requestedBy: string;
  /** The event it stopped at (state failed); it is retried when the rebuild is asked for again. */
  failure: ProjectionFailure | null;
  /** The last problem that was not an event (a switch that could not take its locks, a lost lease). */
  error: string | null;
};

/** No projection by that name. */
export class UnknownProjection extends CodedError {
  readonly code = 'UNKNOWN_PROJECTION';
  constructor(name: string, known: readonly string[]) {
    super(`no projection ${JSON.stringify(name)}; projections: ${known.join(', ')}`, { name, known: known.join(', ') });
  }
}

/** Another process (or this one) holds the lease of the projection's active rebuild. */
export class RebuildInProgress extends CodedError {
  readonly code = 'REBUILD_IN_PROGRESS';
  constructor(name: string, rebuildId: string, owner: string, leaseUntil: string) {
    super(`a rebuild of ${name} is already running (${rebuildId}, by ${owner}, lease until ${leaseUntil})`, { name, rebuildId, owner, leaseUntil });
  }
}

/**
 * The projection's code version differs from the version whose tables the database holds: its
 * queries are refused (nothing stale is served) until an operator asks for the rebuild.
 */
export class ProjectionNeedsRebuild extends CodedError {
  readonly code = 'PROJECTION_NEEDS_REBUILD';
  constructor(name: string, version: number, tablesVersion: number | null) {
    super(
      `the ${name} read model needs a rebuild: the database holds version ${tablesVersion ?? '?'}, the code is version ${version} ` +
        `(start with --rebuild ${name}, run pnpm ledger projections rebuild ${name}, or the rebuildProjection mutation)`,
      { name, version, tablesVersion },
    );
  }
}

/** The lease was taken over (it had run out): this run stops, the other continues. */
class RebuildLost extends Error {}
/** An event failed to apply inside the switch: the switch is abandoned, the batch path finds and records it. */
class SwitchApplyFailed extends Error {}

export type ProjectionRebuilderOptions = {
  store: EventStore;
  sql: SqlClient;
  /** The schema of the checkpoints and of the read-model tables. */
  schema: string;
  logger: Logger;
  /** Events per transaction (default 2,000). */
  batchSize?: number;
  /** A claim is held this long past its last batch (default 30 s); then another may take it over. */
  leaseMs?: number;
  /** Who holds the lease, in status (default host:pid:random). */
  owner?: string;
  /** The switch waits at most this long for the live tables' locks before it tries again (default 500 ms). */
  switchLockTimeoutMs?: number;
  /** Attempts at the switch before the run gives up (resumable; default 60). */
  maxSwitchAttempts?: number;
  /**
   * Holds this process's live runner of the projection between batches, from the switch's read of
   * the log to its commit, and returns the release. The runner passes it: without it a live runner
   * in the same process may get ahead of what the switch read, and on PGlite (no read inside the
   * switch's transaction) the switch would have to try again.
   */
  holdLive?: (projection: string) => Promise<() => void>;
};

export type RebuildClaim = {
  id: string;
  projection: Projection;
  position: bigint;
  startPosition: bigint;
  head: bigint;
  resumedFrom: bigint | null;
  requestedBy: string;
  startedAt: string;
};

export type RebuildRunOptions = {
  /** Aborting stops after the batch in hand and gives the lease back: the rebuild resumes later. */
  signal?: AbortSignal;
  /** After every batch, and at the end. */
  onProgress?: (progress: RebuildProgress) => void;
};

type RebuildRow = {
  id: string;
  name: string;
  version: number;
  state: 'building' | 'switching' | 'failed' | 'switched' | 'cancelled';
  start_position: string;
  position: string;
  head: string;
  resumed_from: string | null;
  run_start_position: string;
  run_seconds: number;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
  owner: string | null;
  lease_until: string | null;
  leased: boolean;
  requested_by: string;
  failure: SerializedFailure | null;
  error: string | null;
};

const ROW_COLUMNS = `id, name, version, state, start_position::text AS start_position, position::text AS position, head::text AS head,
  resumed_from::text AS resumed_from, run_start_position::text AS run_start_position,
  greatest(extract(epoch FROM updated_at - run_started_at), 0)::float8 AS run_seconds,
  to_json(started_at)#>>'{}' AS started_at, to_json(updated_at)#>>'{}' AS updated_at, to_json(finished_at)#>>'{}' AS finished_at,
  owner, to_json(lease_until)#>>'{}' AS lease_until, coalesce(lease_until > clock_timestamp(), false) AS leased, requested_by, failure, error`;

/** A rebuild row as progress; building without a live lease is `interrupted`. */
export function progressOf(row: RebuildRow): RebuildProgress {
  const start = BigInt(row.start_position);
  const position = BigInt(row.position);
  const head = BigInt(row.head) > position ? BigInt(row.head) : position;
  const runDone = Number(position - BigInt(row.run_start_position));
  const eventsPerSecond = row.run_seconds > 0 ? runDone / row.run_seconds : 0;
  const active = row.state === 'building' || row.state === 'switching';
  const state: RebuildState = active && !row.leased ? 'interrupted' : row.state;
  const left = Number(head - position);
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    state,
    done: position - start,
    total: head - start,
    position,
    eventsPerSecond: Math.round(eventsPerSecond * 10) / 10,
    etaSeconds: state === 'building' || state === 'switching' ? (left === 0 ? 0 : eventsPerSecond > 0 ? Math.ceil(left / eventsPerSecond) : null) : null,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    resumedFrom: row.resumed_from === null ? null : BigInt(row.resumed_from),
    requestedBy: row.requested_by,
    failure: row.failure ? parseFailure(row.failure) : null,
    error: row.error,
  };
}

/**
 * A claimed rebuild's progress as this process sees it: at `position`, with the log's head last
 * seen at `head`, going at `eventsPerSecond` (0: not known yet); `extra` overrides what it says.
 */
export function claimProgress(
  claim: RebuildClaim,
  state: RebuildState,
  at: { position: bigint; head: bigint; eventsPerSecond: number },
  extra: Partial<RebuildProgress> = {},
): RebuildProgress {
  const { position, eventsPerSecond: rate } = at;
  const top = at.head > position ? at.head : position;
  const left = Number(top - position);
  return {
    id: claim.id,
    name: claim.projection.name,
    version: claim.projection.version,
    state,
    done: position - claim.startPosition,
    total: top - claim.startPosition,
    position,
    eventsPerSecond: Math.round(rate * 10) / 10,
    etaSeconds: state === 'building' || state === 'switching' ? (left === 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : null) : null,
    startedAt: claim.startedAt,
    updatedAt: new Date().toISOString(),
    finishedAt: null,
    resumedFrom: claim.resumedFrom,
    requestedBy: claim.requestedBy,
    failure: null,
    error: null,
    ...extra,
  };
}

/** The latest rebuild of each projection (the active one, else how the last one ended). */
export async function latestRebuilds(sql: SqlExecutor, schema: string): Promise<Map<string, RebuildProgress>> {
  const { rows } = await sql.query<RebuildRow>(`SELECT DISTINCT ON (name) ${ROW_COLUMNS} FROM ${quoteIdent(schema)}.projection_rebuilds ORDER BY name, started_at DESC, id`);
  return new Map(rows.map((row) => [row.name, progressOf(row)]));
}

/** Active rebuilds (building, switching or failed), whatever their lease. */
export async function activeRebuilds(sql: SqlExecutor, schema: string): Promise<RebuildProgress[]> {
  const { rows } = await sql.query<RebuildRow>(`SELECT ${ROW_COLUMNS} FROM ${quoteIdent(schema)}.projection_rebuilds WHERE state IN ${ACTIVE} ORDER BY name`);
  return rows.map(progressOf);
}

export class ProjectionRebuilder {
  readonly owner: string;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly rebuilds: string;
  private readonly checkpoints: string;

  constructor(private readonly options: ProjectionRebuilderOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.batchSize = options.batchSize ?? 2000;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.rebuilds = `${quoteIdent(options.schema)}.projection_rebuilds`;
    this.checkpoints = `${quoteIdent(options.schema)}.projection_checkpoints`;
  }

  /** Creates the bookkeeping tables when missing. */
  async prepare(): Promise<void> {
    await this.options.sql.transaction((tx) => createProjectionBookkeeping(tx, this.options.schema));
  }

  /** Claims and runs a rebuild to its switch (or failure, or abort). */
  async rebuild(projection: Projection, options: RebuildRunOptions & { requestedBy?: string } = {}): Promise<RebuildProgress> {
    const claim = await this.claim(projection, options.requestedBy ?? this.owner);
    return this.run(claim, options);
  }

  /**
   * Starts a rebuild of the projection's code version, or takes over its active one (same version)
   * when nobody holds its lease: it then resumes from that rebuild's checkpoint. An active rebuild
   * of another version is cancelled (its next tables dropped): it built code that is gone.
   */
  async claim(projection: Projection, requestedBy: string): Promise<RebuildClaim>;
  /** Only resumes that rebuild: null when it is no longer active (it switched, or was cancelled). */
  async claim(projection: Projection, requestedBy: string, resumeId: string): Promise<RebuildClaim | null>;
  async claim(projection: Projection, requestedBy: string, resumeId?: string): Promise<RebuildClaim | null> {
    const head = await this.options.store.headPosition();
    const next = tableNames(this.options.schema, projection, 'next');
    const log = this.options.logger.child({ projection: projection.name, version: projection.version });
    try {
      return await this.options.sql.transaction(async (tx) => {
        await this.dropStrays(tx, projection);
        const { rows } = await tx.query<RebuildRow>(`SELECT ${ROW_COLUMNS} FROM ${this.rebuilds} WHERE name = $1 AND state IN ${ACTIVE} FOR UPDATE`, [projection.name]);
        const active = rows[0];
        if (resumeId !== undefined && active?.id !== resumeId) return null;
        if (active && active.version !== projection.version) {
          log.warn({ rebuild: active.id, rebuildVersion: active.version }, 'cancelling a rebuild of another version');
          await tx.query(`UPDATE ${this.rebuilds} SET state = 'cancelled', finished_at = now(), updated_at = now(), owner = NULL, lease_until = NULL WHERE id = $1`, [active.id]);
          await this.dropTablesWithPrefix(tx, tablePrefix({ name: projection.name, version: active.version }, 'next'));
        } else if (active) {
          if (active.leased && active.owner !== this.owner) throw new RebuildInProgress(projection.name, active.id, active.owner ?? '?', active.lease_until ?? '?');
          await projection.setup(tx, next);
          const { rows: resumed } = await tx.query<RebuildRow>(
            `UPDATE ${this.rebuilds}
                SET state = 'building', owner = $2, lease_until = clock_timestamp() + $3 * interval '1 millisecond', resumed_from = position, failure = NULL,
                    run_start_position = position, run_started_at = clock_timestamp(), updated_at = clock_timestamp(), head = GREATEST(head, $4::bigint), error = NULL
              WHERE id = $1 RETURNING ${ROW_COLUMNS}`,
            [active.id, this.owner, this.leaseMs, head.toString()],
          );
          const row = resumed[0]!;
          log.info({ rebuild: row.id, from: row.position }, 'resuming a rebuild from its checkpoint');
          return this.claimOf(projection, row);
        }
        // A fresh start: no next tables can exist without their row, but a crash between versions of this code might have left some.
        for (const logical of projection.tables) await tx.query(`DROP TABLE IF EXISTS ${next(logical)}`);
        await projection.setup(tx, next);
        const { rows: created } = await tx.query<RebuildRow>(
          `INSERT INTO ${this.rebuilds} (id, name, version, state, start_position, position, head, run_start_position, run_started_at, started_at, updated_at,
                                          owner, lease_until, requested_by)
           VALUES ($1, $2, $3, 'building', 0, 0, $4, 0, clock_timestamp(), clock_timestamp(), clock_timestamp(), $5, clock_timestamp() + $6 * interval '1 millisecond', $7)
           RETURNING ${ROW_COLUMNS}`,
          [randomUUID(), projection.name, projection.version, head.toString(), this.owner, this.leaseMs, requestedBy],
        );
        log.info({ rebuild: created[0]!.id, head: head.toString() }, 'rebuild started');
        return this.claimOf(projection, created[0]!);
      });
    } catch (error) {
      // Two claims at once: the unique index on the active rebuild lets one in.
      if ((error as { code?: unknown }).code === '23505') {
        const active = (await activeRebuilds(this.options.sql, this.options.schema)).find((r) => r.name === projection.name);
        throw new RebuildInProgress(projection.name, active?.id ?? '?', '?', '?');
      }
      throw error;
    }
  }

  /** Builds, switches, drops the old tables. Resolves with the final progress; throws only when the database does. */
  async run(claim: RebuildClaim, options: RebuildRunOptions = {}): Promise<RebuildProgress> {
    const { projection } = claim;
    const log = this.options.logger.child({ projection: projection.name, version: projection.version, rebuild: claim.id });
    const next = tableNames(this.options.schema, projection, 'next');
    const started = Date.now();
    const runFrom = claim.position;
    let position = claim.position;
    let head = claim.head;
    let headAt = Date.now();
    const report = (state: RebuildState, extra: Partial<RebuildProgress> = {}): RebuildProgress => {
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? Number(position - runFrom) / seconds : 0;
      const progress = claimProgress(claim, state, { position, head, eventsPerSecond: rate }, extra);
      options.onProgress?.(progress);
      return progress;
    };
    const read = (after: bigint) => {
      const reading = this.options.store.readAll({ after, limit: this.batchSize });
      reading.catch(() => {}); // awaited below, or dropped when the run stops first
      return reading;
    };

    const at = { position, head };
    const applier = this.batchApplier(claim.id, projection, next, at);
    let pending = read(position);
    let attempts = 0;
    let indexed = false;
    try {
      for (;;) {
        if (options.signal?.aborted) {
          await this.release(claim.id, null);
          log.info({ position: position.toString() }, 'rebuild interrupted; it resumes from its checkpoint');
          return report('interrupted');
        }
        const events = await pending;
        if (Date.now() - headAt > 1000 || head < position) {
          const now = await this.options.store.headPosition();
          if (now > head) head = now;
          headAt = Date.now();
        }
        const full = events.length === this.batchSize;
        // A write transaction holds back every reader of the log on PostgreSQL until it ends (see the
        // event store): a projection applied event by event gets short ones.
        const perTransaction = projection.applyBatch ? this.batchSize : Math.min(this.batchSize, 250);
        if (full) {
          pending = read(events.at(-1)!.globalPosition);
          // The next batch planned while this one commits (when it is read by then).
          if (perTransaction === this.batchSize)
            void pending.then(
              (ahead) => applier.prepare(ahead),
              () => {},
            );
        }
        for (let from = 0; from < events.length; from += perTransaction) {
          at.position = position;
          at.head = head;
          const applied = await applier.apply(events.slice(from, from + perTransaction));
          position = applied.through ?? position;
          if (applied.failure) {
            const { failure } = applied;
            log.error({ failure: { ...failure, position: failure.position.toString() } }, 'rebuild stopped at a failing event');
            return report('failed', { failure });
          }
          if (position > head) head = position;
          report('building');
          // PGlite runs in this thread and answers without leaving the microtask queue: let the
          // server's I/O and timers in between two transactions.
          if (this.options.sql.kind === 'embedded') await new Promise((resolve) => setImmediate(resolve));
        }
        if (full) continue;
        // Near the head: the indexes only queries read, built once on the full tables (the catch-up
        // did not maintain them row by row; a resumed run finds those an earlier one built), then
        // the switch, unless more came meanwhile.
        if (!indexed && projection.queryIndexes) {
          await this.options.sql.transaction((tx) => projection.queryIndexes!(tx, next));
          log.debug({ position: position.toString() }, 'query indexes built on the next tables');
        }
        indexed = true;
        const outcome = await this.trySwitch(claim.id, projection, next, position, log);
        if (outcome.kind === 'switched') {
          position = outcome.position;
          head = head > position ? head : position;
          log.info({ position: position.toString(), seconds: (Date.now() - started) / 1000 }, 'rebuild switched');
          await this.dropAfterSwitch(projection, log);
          return report('switched', { finishedAt: new Date().toISOString(), etaSeconds: null });
        }
        if (outcome.kind === 'locked') {
          attempts += 1;
          if (attempts >= (this.options.maxSwitchAttempts ?? 60)) {
            const message = `could not take the locks for the switch in ${attempts} attempts (${outcome.reason}); long queries on the live tables? Ask again to resume.`;
            await this.release(claim.id, message);
            log.error(message);
            return report('interrupted', { error: message });
          }
          report('switching');
          // The attempt rolled back: its lease is renewed here, so that nobody takes over a rebuild that is only waiting.
          await this.options.sql.query(`UPDATE ${this.rebuilds} SET lease_until = clock_timestamp() + $3 * interval '1 millisecond' WHERE id = $1 AND owner = $2`, [
            claim.id,
            this.owner,
            this.leaseMs,
          ]);
          await sleep(50 + Math.floor(Math.random() * 200), options.signal);
        }
        pending = read(position);
      }
    } catch (error) {
      if (error instanceof RebuildLost) {
        log.warn({ err: error }, 'rebuild taken over by another process');
        return report('interrupted', { error: error.message });
      }
      await this.release(claim.id, error instanceof Error ? error.message : String(error)).catch(() => {});
      throw error;
    }
  }

  private claimOf(projection: Projection, row: RebuildRow): RebuildClaim {
    return {
      id: row.id,
      projection,
      position: BigInt(row.position),
      startPosition: BigInt(row.start_position),
      head: BigInt(row.head),
      resumedFrom: row.resumed_from === null ? null : BigInt(row.resumed_from),
      requestedBy: row.requested_by,
      startedAt: row.started_at,
    };
  }

  /** Locks the rebuild row; throws RebuildLost when another owner took it or it moved on without us. */
  private async own(tx: SqlExecutor, id: string, expected: bigint): Promise<void> {
    const { rows } = await tx.query<{ owner: string | null; position: string; state: string }>(
      `SELECT owner, position::text AS position, state FROM ${this.rebuilds} WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const row = rows[0];
    if (!row || row.owner !== this.owner || BigInt(row.position) !== expected || (row.state !== 'building' && row.state !== 'switching')) {
      throw new RebuildLost(`rebuild ${id} is now ${row ? `${row.state}, held by ${row.owner ?? 'nobody'} at ${row.position}` : 'gone'}`);
    }
  }

  private async saveProgress(tx: SqlExecutor, id: string, position: bigint | undefined, head: bigint, failure: ProjectionFailure | null): Promise<void> {
    await tx.query(
      `UPDATE ${this.rebuilds}
          SET position = COALESCE($2::bigint, position), head = GREATEST(head, $3::bigint), updated_at = clock_timestamp(),
              state = CASE WHEN $4::jsonb IS NULL THEN 'building' ELSE 'failed' END, failure = $4::jsonb,
              owner = CASE WHEN $4::jsonb IS NULL THEN owner END,
              lease_until = CASE WHEN $4::jsonb IS NULL THEN clock_timestamp() + $5 * interval '1 millisecond' END
        WHERE id = $1`,
      [id, position?.toString() ?? null, head.toString(), failure ? serializeFailure(failure) : null, this.leaseMs],
    );
  }

  /** Gives the lease back (an abort, an error): the rebuild is resumable at once. */
  private async release(id: string, error: string | null): Promise<void> {
    await this.options.sql.query(
      `UPDATE ${this.rebuilds} SET owner = NULL, lease_until = NULL, updated_at = clock_timestamp(), error = $3,
              state = CASE WHEN state = 'switching' THEN 'building' ELSE state END
        WHERE id = $1 AND owner = $2`,
      [id, this.owner, error],
    );
  }

  /**
   * Applies batches to the next tables with the rebuild's checkpoint, as the runner does (the one
   * batch routine): every transaction first checks that this run still owns the rebuild at the
   * position it expects (`own`), and moves it with the batch.
   */
  private batchApplier(id: string, projection: Projection, next: TableNames, at: { position: bigint; head: bigint }): BatchApplier {
    return new BatchApplier({
      sql: this.options.sql,
      projection,
      table: next,
      bookkeeping: {
        begin: async (tx, batch) => {
          await this.own(tx, id, at.position);
          return batch;
        },
        end: (tx, through, failure) => this.saveProgress(tx, id, through, at.head, failure),
        fatal: (error) => error instanceof RebuildLost,
        onFallback: (error) => this.options.logger.warn({ err: error, projection: projection.name, rebuild: id }, 'rebuild batch failed; applying it event by event'),
      },
    });
  }

  /**
   * The switch (see the top of this file). `behind`: more events than a batch came, or (PGlite) the
   * live runner got past what was read; `locked`: the live tables' locks were not had in time.
   */
  private async trySwitch(
    id: string,
    projection: Projection,
    next: TableNames,
    position: bigint,
    log: Logger,
  ): Promise<{ kind: 'switched'; position: bigint } | { kind: 'behind' } | { kind: 'locked'; reason: string }> {
    const { sql, store, schema } = this.options;
    const release = (await this.options.holdLive?.(projection.name)) ?? (() => {});
    try {
      return await this.switchHeld(id, projection, next, position, log, sql, store, schema);
    } finally {
      release();
    }
  }

  private async switchHeld(
    id: string,
    projection: Projection,
    next: TableNames,
    position: bigint,
    log: Logger,
    sql: SqlClient,
    store: EventStore,
    schema: string,
  ): Promise<{ kind: 'switched'; position: bigint } | { kind: 'behind' } | { kind: 'locked'; reason: string }> {
    // Read before any lock: on PGlite a read from inside the transaction would wait for the transaction.
    let events = await store.readAll({ after: position, limit: this.batchSize });
    if (events.length === this.batchSize) return { kind: 'behind' };
    const live = tableNames(schema, projection, 'live');
    try {
      return await sql.transaction(async (tx) => {
        await this.own(tx, id, position);
        const { rows } = await tx.query<{ version: number; position: string }>(
          `SELECT version, position::text AS position FROM ${this.checkpoints} WHERE name = $1 ORDER BY version FOR UPDATE`,
          [projection.name],
        );
        const liveRow = rows.find((r) => r.version === projection.version);
        let through = events.at(-1)?.globalPosition ?? position;
        if (liveRow && BigInt(liveRow.position) > through) {
          // The live runner got further than what we read (it waits for our lock now, the log does not).
          if (sql.kind === 'embedded') return { kind: 'behind' as const };
          const liveAt = BigInt(liveRow.position);
          while (through < liveAt) {
            const more = await store.readAll({ after: through, limit: this.batchSize });
            if (more.length === 0) throw new Error(`the log does not reach the live checkpoint ${liveAt} of ${projection.name} (read to ${through})`);
            events = events.concat(more);
            through = more.at(-1)!.globalPosition;
          }
        }
        if (events.length > 0) {
          try {
            if (projection.applyBatch) await projection.applyBatch(tx, events, next);
            else for (const event of events) await projection.apply(tx, event, next);
          } catch (error) {
            throw new SwitchApplyFailed(error instanceof Error ? error.message : String(error));
          }
        }
        const existing: string[] = [];
        for (const logical of projection.tables) {
          const { rows: found } = await tx.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid::text AS oid`, [live(logical)]);
          if (found[0]?.oid) existing.push(live(logical));
        }
        if (existing.length > 0) {
          // Bounded: a reader holding one of these while waiting for another we hold would deadlock
          // with us; we give up well before PostgreSQL's deadlock check (1 s) picks a victim.
          await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(this.options.switchLockTimeoutMs ?? 500))}`);
          await tx.query(`LOCK TABLE ${existing.join(', ')} IN ACCESS EXCLUSIVE MODE`);
          await tx.query(`SET LOCAL statement_timeout = 0`);
        }
        const livePrefix = tablePrefix(projection, 'live');
        const oldPrefix = tablePrefix(projection, 'old');
        const nextPrefix = tablePrefix(projection, 'next');
        for (const logical of projection.tables) await renameTable(tx, schema, `${livePrefix}${logical}`, `${oldPrefix}${logical}`);
        for (const logical of projection.tables) {
          if (!(await renameTable(tx, schema, `${nextPrefix}${logical}`, `${livePrefix}${logical}`))) {
            throw new Error(`rebuild of ${projection.name}: next table ${nextPrefix}${logical} is missing`);
          }
        }
        await tx.query(
          `INSERT INTO ${this.checkpoints} (name, version, position, failure, updated_at) VALUES ($1, $2, $3, NULL, now())
           ON CONFLICT (name, version) DO UPDATE SET position = EXCLUDED.position, failure = NULL, updated_at = now()`,
          [projection.name, projection.version, through.toString()],
        );
        await tx.query(`DELETE FROM ${this.checkpoints} WHERE name = $1 AND version <> $2`, [projection.name, projection.version]);
        await tx.query(
          `UPDATE ${this.rebuilds} SET state = 'switched', position = $2, head = GREATEST(head, $2::bigint), updated_at = clock_timestamp(), finished_at = clock_timestamp(),
                  owner = NULL, lease_until = NULL, error = NULL WHERE id = $1`,
          [id, through.toString()],
        );
        log.debug({ through: through.toString(), gap: events.length, live: liveRow?.position ?? null }, 'switching');
        return { kind: 'switched' as const, position: through };
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '57014' || code === '55P03' || code === '40P01') {
        return { kind: 'locked', reason: error instanceof Error ? error.message : String(error) };
      }
      if (error instanceof SwitchApplyFailed) {
        log.warn({ err: error }, 'an event failed inside the switch; building on event by event');
        return { kind: 'behind' };
      }
      throw error;
    }
  }

  /** The old tables, and those of versions no checkpoint names any more, dropped in transactions of their own. */
  private async dropAfterSwitch(projection: Projection, log: Logger): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.sql.transaction(async (tx) => {
          await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(this.options.switchLockTimeoutMs ?? 500))}`);
          await this.dropStrays(tx, projection);
        });
        return;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if ((code !== '57014' && code !== '55P03' && code !== '40P01') || attempt >= 20) {
          // Harmless: the next rebuild (or the next start) drops them.
          log.warn({ err: error }, 'could not drop the old tables after the switch; they go with the next rebuild');
          return;
        }
        await sleep(100 + Math.floor(Math.random() * 200));
      }
    }
  }

  /**
   * Drops what a switch left behind: the `_old_` tables of this version, and tables of other
   * versions that no checkpoint row and no active rebuild names any more.
   */
  private async dropStrays(tx: SqlExecutor, projection: Projection): Promise<void> {
    const old = tableNames(this.options.schema, projection, 'old');
    for (const logical of projection.tables) await tx.query(`DROP TABLE IF EXISTS ${old(logical)}`);
    const { rows } = await tx.query<{ version: number }>(
      `SELECT version FROM ${this.checkpoints} WHERE name = $1 UNION SELECT version FROM ${this.rebuilds} WHERE name = $1 AND state IN ${ACTIVE}`,
      [projection.name],
    );
    const kept = new Set([projection.version, ...rows.map((r) => r.version)]);
    const { rows: tables } = await tx.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND starts_with(c.relname, $2)`,
      [this.options.schema, `${projection.name}_v`],
    );
    const pattern = new RegExp(`^${projection.name}_v([0-9]+)_`);
    const stray = tables
      .map((t) => t.relname)
      .filter((name) => {
        const match = pattern.exec(name);
        return match !== null && !kept.has(Number(match[1]));
      });
    if (stray.length > 0) await tx.query(`DROP TABLE IF EXISTS ${stray.map((name) => `${quoteIdent(this.options.schema)}.${quoteName(name)}`).join(', ')}`);
  }

  private async dropTablesWithPrefix(tx: SqlExecutor, prefix: string): Promise<void> {
    const { rows } = await tx.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND starts_with(c.relname, $2)`,
      [this.options.schema, prefix],
    );
    if (rows.length > 0) await tx.query(`DROP TABLE IF EXISTS ${rows.map((r) => `${quoteIdent(this.options.schema)}.${quoteName(r.relname)}`).join(', ')}`);
  }
}

/**
 * Renames a table and what is named after it (its indexes, and with them their constraints; its
 * other constraints; its sequences) from one prefix to another. False when there is no such table.
 */
async function renameTable(tx: SqlExecutor, schema: string, from: string, to: string): Promise<boolean> {
  const s = quoteIdent(schema);
  const { rows } = await tx.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid::text AS oid`, [`${s}.${quoteName(from)}`]);
  const oid = rows[0]?.oid;
  if (!oid) return false;
  const { rows: named } = await tx.query<{ kind: 'index' | 'constraint' | 'sequence'; name: string }>(
    `SELECT 'index' AS kind, c.relname::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::oid
     UNION ALL SELECT 'constraint', conname::text FROM pg_constraint WHERE conrelid = $1::oid AND contype IN ('c', 'f')
     UNION ALL SELECT 'sequence', c.relname::text FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                WHERE d.classid = 'pg_class'::regclass AND d.refobjid = $1::oid AND c.relkind = 'S'`,
    [oid],
  );
  await tx.query(`ALTER TABLE ${s}.${quoteName(from)} RENAME TO ${quoteName(to)}`);
  for (const { kind, name } of named) {
    if (!name.startsWith(from)) continue;
    const renamed = fitName(`${to}${name.slice(from.length)}`);
    switch (kind) {
      case 'index':
        await tx.query(`ALTER INDEX ${s}.${quoteName(name)} RENAME TO ${quoteName(renamed)}`);
        break;
      case 'sequence':
        await tx.query(`ALTER SEQUENCE ${s}.${quoteName(name)} RENAME TO ${quoteName(renamed)}`);
        break;
      case 'constraint':
        await tx.query(`ALTER TABLE ${s}.${quoteName(to)} RENAME CONSTRAINT ${quoteName(name)} TO ${quoteName(renamed)}`);
        break;
      default: {
        const unreachable: never = kind;
        throw new Error(`unknown kind ${String(unreachable)}`);
      }
    }
  }
  return true;
}

/** PostgreSQL cuts names at 63 bytes; a longer one keeps its start and gets a hash of the whole. */
function fitName(name: string): string {
  if (Buffer.byteLength(name) <= 63) return name;
  return `${name.slice(0, 50)}_${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/** Any name from the catalogue, quoted. */
function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
