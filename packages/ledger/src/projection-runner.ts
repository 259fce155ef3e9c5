import type { EventStore, RecordedEvent, SqlClient, SqlExecutor } from '@v2g/event-store';
import type { Logger } from 'pino';
import { quoteIdent, tableNames, type Projection, type TableNames } from './projection.ts';

export type ProjectionState = 'starting' | 'catching_up' | 'live' | 'failed' | 'stopped';

export type ProjectionFailure = {
  position: bigint;
  streamId: string;
  streamVersion: number;
  eventType: string;
  message: string;
  failedAt: string;
};

export type ProjectionStatus = {
  name: string;
  version: number;
  state: ProjectionState;
  /** The position of the last event applied (0n before the first). */
  checkpoint: bigint;
  failure: ProjectionFailure | null;
};

export type ProjectionRunnerOptions = {
  store: EventStore;
  sql: SqlClient;
  /** The schema its checkpoint table and read-model tables live in. */
  schema: string;
  projections: readonly Projection[];
  logger: Logger;
  /** Events applied per transaction while catching up (default 500). */
  batchSize?: number;
};

const NOT_YET = Symbol('not yet');

/**
 * Runs projections: catch-up then live, each event batch and its checkpoint in one transaction,
 * so a crash never loses or doubles an event. A failing event stops its projection there, with
 * the position and the error in its status; nothing is skipped.
 */
export class ProjectionRunner {
  private readonly states = new Map<string, ProjectionState>();
  private readonly controller = new AbortController();
  private readonly running: Promise<void>[] = [];
  private readonly batchSize: number;
  private readonly checkpoints: string;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.checkpoints = `${quoteIdent(options.schema)}.projection_checkpoints`;
  }

  /** Creates checkpoint and read-model tables, then runs every projection in the background. */
  async start(): Promise<void> {
    await this.options.sql.transaction(async (tx) => {
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.options.schema)}`);
      await tx.query(`CREATE TABLE IF NOT EXISTS ${this.checkpoints} (
        name text NOT NULL,
        version integer NOT NULL,
        position bigint NOT NULL DEFAULT 0,
        failure jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, version)
      )`);
      for (const projection of this.options.projections) {
        this.states.set(projection.name, 'starting');
        await projection.setup(tx, this.tables(projection));
        await tx.query(`INSERT INTO ${this.checkpoints} (name, version) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          projection.name,
          projection.version,
        ]);
      }
    });
    for (const projection of this.options.projections) this.running.push(this.run(projection));
  }

  /** Finishes the batch in hand, commits its checkpoint, and stops every projection. */
  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.running);
  }

  async status(): Promise<ProjectionStatus[]> {
    const { rows } = await this.options.sql.query<{ name: string; version: number; position: string; failure: SerializedFailure | null }>(
      `SELECT name, version, position::text AS position, failure FROM ${this.checkpoints}`,
    );
    return this.options.projections.map((projection) => {
      const row = rows.find((r) => r.name === projection.name && r.version === projection.version);
      const failure = row?.failure ? { ...row.failure, position: BigInt(row.failure.position) } : null;
      return {
        name: projection.name,
        version: projection.version,
        state: this.states.get(projection.name) ?? 'stopped',
        checkpoint: BigInt(row?.position ?? 0),
        failure,
      };
    });
  }

  tables(projection: Projection): TableNames {
    return tableNames(this.options.schema, projection);
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
    const { rows } = await this.options.sql.query<{ position: string }>(
      `SELECT position::text AS position FROM ${this.checkpoints} WHERE name = $1 AND version = $2`,
      [projection.name, projection.version],
    );
    const after = BigInt(rows[0]?.position ?? 0);
    // A failure recorded by an earlier run is retried from its event: the code may be fixed now.
    this.states.set(projection.name, 'catching_up');
    log.info({ checkpoint: after.toString() }, 'projection following the log');
    const events = this.options.store
      .subscribe({ after, signal: this.controller.signal, batchSize: this.batchSize })
      [Symbol.asyncIterator]();
    try {
      let batch: RecordedEvent[] = [];
      // Applies what is in hand; false when an event failed and the projection must stop.
      const apply = async (): Promise<boolean> => {
        if (batch.length === 0) return true;
        const failed = await this.flush(projection, batch, log);
        batch = [];
        if (!failed) return true;
        this.states.set(projection.name, 'failed');
        log.error({ failure: { ...failed, position: failed.position.toString() } }, 'projection stopped at a failing event');
        return false;
      };
      let next = events.next();
      // One timer for a whole run of events at hand (they arrive in microtasks, before it can fire),
      // not one per event; a new one once it has fired or after I/O.
      let soon: Promise<typeof NOT_YET> | undefined;
      for (;;) {
        // Keep filling while the next event is already at hand; apply as soon as we would wait.
        soon ??= settleSoon();
        let item = await Promise.race([next, soon]);
        if (item === NOT_YET) {
          soon = undefined;
          if (!(await apply())) return 'failed';
          if (!this.controller.signal.aborted) this.states.set(projection.name, 'live');
          item = await next;
        }
        if (item.done) break;
        batch.push(item.value);
        next = events.next();
        if (batch.length >= this.batchSize) {
          this.states.set(projection.name, 'catching_up');
          if (!(await apply())) return 'failed';
          soon = undefined;
        }
      }
      if (!(await apply())) return 'failed';
      return 'stopped';
    } finally {
      await events.return?.();
    }
  }

  /**
   * Applies a batch with its checkpoint (through `applyBatch` when the projection has one); on a
   * failing event, commits what came before it.
   */
  private async flush(projection: Projection, batch: RecordedEvent[], log: Logger): Promise<ProjectionFailure | null> {
    const table = this.tables(projection);
    if (projection.applyBatch) {
      try {
        await this.options.sql.transaction(async (tx) => {
          await projection.applyBatch!(tx, batch, table);
          await this.saveCheckpoint(tx, projection, batch.at(-1)!.globalPosition, null);
        });
        return null;
      } catch (error) {
        // Rolled back. Event by event below: finds the failing event, or throws the same
        // connection trouble again (the caller retries from the checkpoint).
        log.warn(
          { err: error, from: batch[0]!.globalPosition.toString(), to: batch.at(-1)!.globalPosition.toString() },
          'batch apply failed; applying the batch event by event',
        );
      }
    }
    let failedAt = -1;
    let cause: unknown;
    try {
      await this.options.sql.transaction(async (tx) => {
        for (const [i, event] of batch.entries()) {
          try {
            await projection.apply(tx, event, table);
          } catch (error) {
            failedAt = i;
            cause = error;
            throw error;
          }
        }
        await this.saveCheckpoint(tx, projection, batch.at(-1)!.globalPosition, null);
      });
      return null;
    } catch (error) {
      if (failedAt < 0) throw error;
    }
    const event = batch[failedAt]!;
    const failure: ProjectionFailure = {
      position: event.globalPosition,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      eventType: event.type,
      message: cause instanceof Error ? cause.message : String(cause),
      failedAt: new Date().toISOString(),
    };
    await this.options.sql.transaction(async (tx) => {
      for (const good of batch.slice(0, failedAt)) await projection.apply(tx, good, table);
      const checkpoint = failedAt > 0 ? batch[failedAt - 1]!.globalPosition : undefined;
      await this.saveCheckpoint(tx, projection, checkpoint, failure);
    });
    return failure;
  }

  private async saveCheckpoint(tx: SqlExecutor, projection: Projection, position: bigint | undefined, failure: ProjectionFailure | null) {
    await tx.query(
      `UPDATE ${this.checkpoints}
          SET position = COALESCE($3::bigint, position), failure = $4::jsonb, updated_at = now()
        WHERE name = $1 AND version = $2`,
      [
        projection.name,
        projection.version,
        position === undefined ? null : position.toString(),
        failure ? JSON.stringify({ ...failure, position: failure.position.toString() }) : null,
      ],
    );
  }
}

type SerializedFailure = Omit<ProjectionFailure, 'position'> & { position: string };

/** Resolves after pending I/O callbacks have run: long enough for an already-read event to arrive. */
function settleSoon(): Promise<typeof NOT_YET> {
  return new Promise((resolve) => setImmediate(() => resolve(NOT_YET)));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
