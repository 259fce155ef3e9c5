import { sleep } from '@v2g/event-store';
import type { EventStore, RecordedEvent, SqlClient, SqlExecutor } from '@v2g/event-store';
import { BatchApplier } from './batches.ts';
import { createProjectionBookkeeping, parseFailure, serializeFailure, type ProjectionFailure, type SerializedFailure } from './bookkeeping.ts';
import { quoteIdent, setupProjection, tableNames, type Projection, type TableNames } from './projection.ts';
import type { Logger } from 'pino';
import {
  activeRebuilds,
  claimProgress,
  latestRebuilds,
  ProjectionNeedsRebuild,
  ProjectionRebuilder,
  RebuildInProgress,
  UnknownProjection,
  type RebuildClaim,
  type RebuildProgress,
} from './projection-rebuild.ts';
import type { ProjectionState, ProjectionStatus } from './projection-status.ts';

/** A rebuild started in this process: where it stands now, and its end (it never rejects). */
export type RebuildTicket = { rebuild: RebuildProgress; done: Promise<RebuildProgress> };

export type ProjectionRunnerOptions = {
  store: EventStore;
  sql: SqlClient;
  /** The schema its checkpoint table and read-model tables live in. */
  schema: string;
  projections: readonly Projection[];
  logger: Logger;
  /** Events applied per transaction while catching up (default 500). */
  batchSize?: number;
  /** Events per transaction of a rebuild (default 2,000). */
  rebuildBatchSize?: number;
  /** On start, take over rebuilds that were interrupted (their lease given back or run out). Default true. */
  resumeRebuilds?: boolean;
};

const NOT_YET = Symbol('not yet');
const LANDED = Symbol('landed');

/**
 * Runs projections: catch-up then live, each event batch and its checkpoint in one transaction,
 * so a crash never loses or doubles an event. A failing event stops its projection there, with
 * the position and the error in its status; nothing is skipped.
 */
export class ProjectionRunner {
  private readonly states = new Map<string, ProjectionState>();
  private readonly controller = new AbortController();
  private readonly running: Promise<void>[] = [];
  /** Projections whose run loop is active in this process. */
  private readonly following = new Set<string>();
  /** needs_rebuild: the version the database holds. */
  private readonly tablesVersions = new Map<string, number>();
  /** Rebuilds running in this process, by projection. */
  private readonly rebuilding = new Map<string, { latest: RebuildProgress; done: Promise<RebuildProgress> }>();
  private rebuilder: ProjectionRebuilder | undefined;
  /** Per projection: the tail of its in-process lock (a batch being applied, or a switch holding it). */
  private readonly exclusive = new Map<string, Promise<void>>();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly batchSize: number;
  private readonly checkpoints: string;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.checkpoints = `${quoteIdent(options.schema)}.projection_checkpoints`;
  }

  /**
   * Creates the checkpoint and read-model tables, then runs every projection in the background.
   * A projection with no checkpoint row at all (a fresh database, or a projection new to it) is
   * built from the beginning. One whose rows are all of other versions (its code version changed)
   * is not: it is `needs_rebuild` until an operator asks for the rebuild (`rebuild()`).
   */
  async start(): Promise<void> {
    const toFollow: Projection[] = [];
    await this.options.sql.transaction(async (tx) => {
      await createProjectionBookkeeping(tx, this.options.schema);
      const { rows } = await tx.query<{ name: string; version: number }>(`SELECT name, version FROM ${this.checkpoints}`);
      for (const projection of this.options.projections) {
        const versions = rows.filter((r) => r.name === projection.name).map((r) => r.version);
        if (versions.length > 0 && !versions.includes(projection.version)) {
          this.states.set(projection.name, 'needs_rebuild');
          this.tablesVersions.set(projection.name, Math.max(...versions));
          this.options.logger.warn(
            { projection: projection.name, version: projection.version, tablesVersion: Math.max(...versions) },
            `projection ${projection.name} needs a rebuild: the database holds version ${Math.max(...versions)}, the code is version ${projection.version}; not served until it is rebuilt`,
          );
          continue;
        }
        this.states.set(projection.name, 'starting');
        await setupProjection(tx, projection, this.liveTables(projection));
        await tx.query(`INSERT INTO ${this.checkpoints} (name, version) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [projection.name, projection.version]);
        toFollow.push(projection);
      }
    });
    this.rebuilder = new ProjectionRebuilder({
      store: this.options.store,
      sql: this.options.sql,
      schema: this.options.schema,
      logger: this.options.logger,
      batchSize: this.options.rebuildBatchSize,
      holdLive: (name) => this.acquire(name),
    });
    for (const projection of toFollow) this.startFollowing(projection);
    this.watchIdle();
    if (this.options.resumeRebuilds !== false) await this.resumeRebuilds();
  }

  /** Finishes the batch in hand, commits its checkpoint, and stops every projection and rebuild. */
  async stop(): Promise<void> {
    this.controller.abort();
    clearTimeout(this.idleTimer);
    await Promise.all(this.running);
    await Promise.all([...this.rebuilding.values()].map((r) => r.done));
  }

  async status(): Promise<ProjectionStatus[]> {
    // States first: a state set after a commit (failed) then always comes with what that commit wrote.
    const states = new Map(this.states);
    const [{ rows }, rebuilds] = await Promise.all([
      this.options.sql.query<{ name: string; version: number; position: string; failure: SerializedFailure | null }>(
        `SELECT name, version, position::text AS position, failure FROM ${this.checkpoints}`,
      ),
      latestRebuilds(this.options.sql, this.options.schema),
    ]);
    return this.options.projections.map((projection) => {
      const row = rows.find((r) => r.name === projection.name && r.version === projection.version);
      const failure = row?.failure ? parseFailure(row.failure) : null;
      const state = states.get(projection.name) ?? 'stopped';
      return {
        name: projection.name,
        version: projection.version,
        state,
        checkpoint: BigInt(row?.position ?? 0),
        failure,
        tablesVersion: state === 'needs_rebuild' ? (this.tablesVersions.get(projection.name) ?? null) : null,
        rebuild: rebuilds.get(projection.name) ?? null,
      };
    });
  }

  /**
   * The projection's live table names, for queries. While it needs a rebuild they refuse with
   * ProjectionNeedsRebuild: its tables are of another version (or none), nothing to serve.
   */
  tables(projection: Projection): TableNames {
    const live = this.liveTables(projection);
    const serving = (logical: string) => {
      if (this.states.get(projection.name) === 'needs_rebuild') {
        throw new ProjectionNeedsRebuild(projection.name, projection.version, this.tablesVersions.get(projection.name) ?? null);
      }
      return live(logical);
    };
    return Object.assign(serving, { index: live.index });
  }

  /**
   * Starts a blue/green rebuild of the projection in this process (or resumes its interrupted one),
   * in the background: the live tables keep serving until the switch. Throws UnknownProjection, or
   * RebuildInProgress when another process holds it; a second call while it runs here gets the same.
   */
  async rebuild(name: string, options: { requestedBy?: string; onProgress?: (progress: RebuildProgress) => void } = {}): Promise<RebuildTicket> {
    const projection = this.options.projections.find((p) => p.name === name);
    if (!projection)
      throw new UnknownProjection(
        name,
        this.options.projections.map((p) => p.name),
      );
    if (!this.rebuilder) throw new Error('the projection runner is not started');
    if (this.controller.signal.aborted) throw new Error('the projection runner is stopping');
    const current = this.rebuilding.get(name);
    if (current) return { rebuild: current.latest, done: current.done };
    const claim = await this.rebuilder.claim(projection, options.requestedBy ?? 'server');
    return this.launch(projection, claim, options.onProgress);
  }

  /** Runs a claimed rebuild in the background; after its switch, the projection follows its new tables. */
  private launch(projection: Projection, claim: RebuildClaim, onProgress?: (progress: RebuildProgress) => void): RebuildTicket {
    const rebuilder = this.rebuilder!;
    const name = projection.name;
    const log = this.options.logger.child({ projection: name, rebuild: claim.id });
    const entry: { latest: RebuildProgress; done: Promise<RebuildProgress> } = {
      // Nothing done by this run yet: no estimate.
      latest: claimProgress(claim, 'building', { position: claim.position, head: claim.head, eventsPerSecond: 0 }, { etaSeconds: null }),
      done: Promise.resolve(null as unknown as RebuildProgress),
    };
    const first = entry.latest;
    entry.done = rebuilder
      .run(claim, {
        signal: this.controller.signal,
        onProgress: (progress) => {
          entry.latest = progress;
          onProgress?.(progress);
        },
      })
      .then((progress) => {
        if (progress.state === 'switched') this.afterSwitch(projection);
        return progress;
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'rebuild interrupted by an error; ask again to resume it from its checkpoint');
        entry.latest = { ...entry.latest, state: 'interrupted', error: error instanceof Error ? error.message : String(error) };
        return entry.latest;
      })
      .finally(() => this.rebuilding.delete(name));
    this.rebuilding.set(name, entry);
    return { rebuild: first, done: entry.done };
  }

  /** Waits for the projection's in-process lock (FIFO); resolves to its release. */
  private async acquire(name: string): Promise<() => void> {
    const before = this.exclusive.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.exclusive.set(name, tail);
    await before;
    return () => {
      release();
      if (this.exclusive.get(name) === tail) this.exclusive.delete(name);
    };
  }

  private liveTables(projection: Projection): TableNames {
    return tableNames(this.options.schema, projection);
  }

  /** Starts following a projection, unless it already runs here. */
  private startFollowing(projection: Projection): void {
    if (this.following.has(projection.name) || this.controller.signal.aborted) return;
    this.following.add(projection.name);
    this.states.set(projection.name, 'starting');
    this.tablesVersions.delete(projection.name);
    this.running.push(this.run(projection).finally(() => this.following.delete(projection.name)));
  }

  /** After a switch made here: a projection that did not run (needs_rebuild, failed) follows its new tables. */
  private afterSwitch(projection: Projection): void {
    if (!this.following.has(projection.name)) this.startFollowing(projection);
  }

  /**
   * A projection that does not run here (it needs a rebuild, or stopped at a failing event) starts
   * following once a switch made anywhere (the CLI, another server) gave it a clean checkpoint of
   * its version.
   */
  private watchIdle(): void {
    const check = async () => {
      const idle = this.options.projections.filter((p) => !this.following.has(p.name) && ['needs_rebuild', 'failed'].includes(this.states.get(p.name) ?? ''));
      if (idle.length === 0) return;
      const { rows } = await this.options.sql.query<{ name: string; version: number; failed: boolean; updated_at: string }>(
        `SELECT name, version, failure IS NOT NULL AS failed, updated_at::text AS updated_at FROM ${this.checkpoints}`,
      );
      for (const projection of idle) {
        const row = rows.find((r) => r.name === projection.name && r.version === projection.version);
        if (row && !row.failed) {
          this.options.logger.info({ projection: projection.name, version: projection.version }, 'projection switched to rebuilt tables; following them');
          this.startFollowing(projection);
        }
      }
    };
    const tick = () => {
      if (this.controller.signal.aborted) return;
      this.idleTimer = setTimeout(() => {
        check()
          .catch((error: unknown) => this.options.logger.debug({ err: error }, 'idle projection check failed'))
          .finally(tick);
      }, 1000);
      this.idleTimer.unref?.();
    };
    tick();
  }

  /** Takes over rebuilds of our versions left interrupted (a crash, an abort); one still leased is retried when its lease runs out. */
  private async resumeRebuilds(): Promise<void> {
    const active = await activeRebuilds(this.options.sql, this.options.schema);
    for (const rebuild of active) {
      const projection = this.options.projections.find((p) => p.name === rebuild.name && p.version === rebuild.version);
      if (!projection || rebuild.state === 'failed') continue;
      const attempt = async (): Promise<void> => {
        if (this.controller.signal.aborted || this.rebuilding.has(rebuild.name)) return;
        try {
          const claim = await this.rebuilder!.claim(projection, rebuild.requestedBy, rebuild.id);
          if (!claim) return; // finished (or cancelled) meanwhile, by whoever held it
          this.launch(projection, claim);
          this.options.logger.info({ projection: rebuild.name, rebuild: rebuild.id, from: claim.position.toString() }, 'resumed an interrupted rebuild');
        } catch (error) {
          if (error instanceof RebuildInProgress) {
            const retry = setTimeout(() => void attempt(), 5000);
            retry.unref?.();
            return;
          }
          this.options.logger.error({ err: error, projection: rebuild.name }, 'could not resume an interrupted rebuild');
        }
      };
      await attempt();
    }
  }

  /**
   * Runs one projection until stopped or stopped by a failing event. Anything else that goes wrong
   * (the database restarting, a dropped connection) is retried from the checkpoint with backoff.
   */
  private async run(projection: Projection): Promise<void> {
    const log = this.options.logger.child({ projection: projection.name, version: projection.version });
    for (let attempt = 0; !this.controller.signal.aborted; attempt++) {
      try {
        const outcome = await this.follow(projection, log);
        if (outcome === 'failed') return;
      } catch (error) {
        if (error instanceof ProjectionSuperseded) {
          this.states.set(projection.name, 'stopped');
          log.error(error.message);
          return;
        }
        const delayMs = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
        this.states.set(projection.name, 'starting');
        log.warn({ err: error, retryInMs: delayMs }, 'projection interrupted; resuming from its checkpoint');
        await sleep(delayMs, this.controller.signal);
      }
    }
    this.states.set(projection.name, 'stopped');
    log.info('projection stopped');
  }

  private async follow(projection: Projection, log: Logger): Promise<'failed' | 'stopped'> {
    const { rows } = await this.options.sql.query<{ position: string }>(`SELECT position::text AS position FROM ${this.checkpoints} WHERE name = $1 AND version = $2`, [
      projection.name,
      projection.version,
    ]);
    if (!rows[0]) throw new ProjectionSuperseded(projection);
    const after = BigInt(rows[0].position);
    // A failure recorded by an earlier run is retried from its event: the code may be fixed now.
    this.states.set(projection.name, 'catching_up');
    log.info({ checkpoint: after.toString() }, 'projection following the log');
    const applier = this.batchApplier(projection, log);
    const subscription = this.options.store.subscribe({ after, signal: this.controller.signal, batchSize: this.batchSize });
    const events = subscription[Symbol.asyncIterator]();
    let batch: RecordedEvent[] = [];
    // The batch being committed while the next one fills (one at a time: transactions stay in order).
    let inFlight: Promise<{ failure: ProjectionFailure | null } | { error: unknown }> | undefined;
    let landed: Promise<typeof LANDED> | undefined;
    const start = () => {
      if (batch.length === 0) return;
      const applying = batch;
      batch = [];
      inFlight = this.flush(projection, applier, applying).then(
        (failure) => ({ failure }),
        (error: unknown) => ({ error }),
      );
      landed = inFlight.then(() => LANDED);
    };
    // Waits for the batch in flight; false when an event failed and the projection must stop.
    const settle = async (): Promise<boolean> => {
      if (!inFlight) return true;
      const outcome = await inFlight;
      inFlight = undefined;
      landed = undefined;
      if ('error' in outcome) throw outcome.error;
      const failed = outcome.failure;
      if (!failed) return true;
      this.states.set(projection.name, 'failed');
      log.error({ failure: { ...failed, position: failed.position.toString() } }, 'projection stopped at a failing event');
      return false;
    };
    try {
      let next = events.next();
      // One timer for a whole run of events at hand (they arrive in microtasks, before it can fire),
      // not one per event; a new one once it has fired or after I/O.
      let soon: Promise<typeof NOT_YET> | undefined;
      for (;;) {
        // Keep filling while the next event is already at hand; apply as soon as we would wait.
        soon ??= settleSoon();
        let item = await Promise.race(landed ? [next, soon, landed] : [next, soon]);
        if (item === LANDED) {
          if (!(await settle())) return 'failed';
          continue;
        }
        if (item === NOT_YET) {
          soon = undefined;
          if (landed) {
            // A batch is committing: more events (the next batch filling) or its end, whichever comes first.
            item = await Promise.race([next, landed]);
            if (item === LANDED) {
              if (!(await settle())) return 'failed';
              continue;
            }
          } else {
            start();
            if (!(await settle())) return 'failed';
            if (!this.controller.signal.aborted) this.states.set(projection.name, 'live');
            item = await next;
          }
        }
        if (item.done) break;
        batch.push(item.value);
        next = events.next();
        if (batch.length >= this.batchSize) {
          this.states.set(projection.name, 'catching_up');
          // Planned while the batch in flight commits; applied once it has.
          applier.prepare(batch);
          if (!(await settle())) return 'failed';
          start();
          soon = undefined;
        }
      }
      if (!(await settle())) return 'failed';
      start();
      if (!(await settle())) return 'failed';
      return 'stopped';
    } finally {
      // A batch still in flight (an error above, an abort) ends before the subscription does.
      await inFlight;
      await events.return?.();
    }
  }

  /** The batch routine of a projection's live tables, with its checkpoint as bookkeeping. */
  private batchApplier(projection: Projection, log: Logger): BatchApplier {
    return new BatchApplier({
      sql: this.options.sql,
      projection,
      table: this.liveTables(projection),
      bookkeeping: {
        begin: (tx, batch) => this.remainder(tx, projection, batch),
        end: (tx, through, failure) => this.saveCheckpoint(tx, projection, through, failure),
        fatal: (error) => error instanceof ProjectionSuperseded,
        // Rolled back. Event by event: finds the failing event, or throws the same connection
        // trouble again (the caller retries from the checkpoint).
        onFallback: (error, batch) =>
          log.warn({ err: error, from: batch[0]!.globalPosition.toString(), to: batch.at(-1)!.globalPosition.toString() }, 'batch apply failed; applying the batch event by event'),
      },
    });
  }

  /**
   * Applies a batch with its checkpoint (the batch routine: through `applyBatch` when the
   * projection has one; on a failing event, commits what came before it and returns the failure).
   *
   * Every transaction first locks the projection's checkpoint row and drops the events at or below
   * the position it finds: a rebuild's switch (in this process or another) may have moved the
   * checkpoint past them, with their effects in the tables it switched in. The switch holds that
   * same lock, so a batch commits entirely before it or entirely after it, and never applies an
   * event twice nor to tables that are gone.
   */
  private async flush(projection: Projection, applier: BatchApplier, batch: readonly RecordedEvent[]): Promise<ProjectionFailure | null> {
    // A switch made in this process holds this lock from its read of the log to its commit.
    const release = await this.acquire(projection.name);
    try {
      return (await applier.apply(batch)).failure;
    } finally {
      release();
    }
  }

  /** Locks the checkpoint row (FOR UPDATE) and returns the events of the batch after it. */
  private async remainder(tx: SqlExecutor, projection: Projection, batch: readonly RecordedEvent[]): Promise<readonly RecordedEvent[]> {
    const { rows } = await tx.query<{ position: string }>(`SELECT position::text AS position FROM ${this.checkpoints} WHERE name = $1 AND version = $2 FOR UPDATE`, [
      projection.name,
      projection.version,
    ]);
    if (!rows[0]) throw new ProjectionSuperseded(projection);
    const at = BigInt(rows[0].position);
    return at < batch[0]!.globalPosition ? batch : batch.filter((e) => e.globalPosition > at);
  }

  private async saveCheckpoint(tx: SqlExecutor, projection: Projection, position: bigint | undefined, failure: ProjectionFailure | null) {
    await tx.query(
      `UPDATE ${this.checkpoints}
          SET position = COALESCE($3::bigint, position), failure = $4::jsonb, updated_at = now()
        WHERE name = $1 AND version = $2`,
      [projection.name, projection.version, position === undefined ? null : position.toString(), failure ? serializeFailure(failure) : null],
    );
  }
}

/** The checkpoint row of this version is gone: a rebuild of another version switched the projection to its tables. */
class ProjectionSuperseded extends Error {
  constructor(projection: Projection) {
    super(`projection ${projection.name} v${projection.version}: its checkpoint is gone (a rebuild of another version replaced it); this process stops following it`);
    this.name = 'ProjectionSuperseded';
  }
}

/** Resolves after pending I/O callbacks have run: long enough for an already-read event to arrive. */
function settleSoon(): Promise<typeof NOT_YET> {
  return new Promise((resolve) => setImmediate(() => resolve(NOT_YET)));
}
