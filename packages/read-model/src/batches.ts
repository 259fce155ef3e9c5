import type { RecordedEvent, SqlClient, SqlExecutor } from '@v2g/event-store';
import { failureOf, type ProjectionFailure } from './bookkeeping.ts';
import type { Projection, TableNames } from './projection.ts';
import { StatementPipeline } from './statement-pipeline.ts';

/**
 * What a batch moves besides the projection's tables: the live checkpoint (the runner), a
 * rebuild's checkpoint and lease (the rebuilder), nothing (a throw-away replay).
 */
export type BatchBookkeeping = {
  /**
   * First in every transaction of a batch: locks the row the batch moves and returns the events
   * still to apply (the batch, or what comes after a checkpoint found further on; none: nothing to
   * do). Throws to stop (a lease lost, a checkpoint gone): that is not retried event by event.
   */
  begin(tx: SqlExecutor, batch: readonly RecordedEvent[]): Promise<readonly RecordedEvent[]>;
  /** Last in the transaction: the checkpoint through `through` (undefined: where it is) and the failure (null: none). */
  end(tx: SqlExecutor, through: bigint | undefined, failure: ProjectionFailure | null): Promise<void>;
  /** An error of the batch hook's transaction to throw as it is rather than retry event by event. */
  fatal?(error: unknown): boolean;
  /** The batch hook's transaction failed (rolled back); the batch goes event by event. */
  onFallback?(error: unknown, batch: readonly RecordedEvent[]): void;
};

export type BatchOutcome = {
  /** The position of the last event this call committed; undefined when it committed none. */
  through: bigint | undefined;
  /** The event the projection threw on (committed with the events before it), or null. */
  failure: ProjectionFailure | null;
  /** What that event threw. */
  cause?: unknown;
};

export type BatchApplierOptions = {
  sql: SqlClient;
  projection: Projection;
  table: TableNames;
  bookkeeping: BatchBookkeeping;
};

type Ahead = { first: bigint; last: bigint; length: number; prepared: unknown };

/**
 * The one "apply a batch, else fall back to one event at a time" routine of the runner, the
 * rebuild and the replay. A batch is one transaction: `begin`, the projection's `applyBatch`
 * (when it has one), `end` with the checkpoint through the batch. When that throws (and is not
 * fatal) it is rolled back and the batch is applied again event by event, in a transaction of its
 * own: that finds the failing event (or meets the same connection trouble again, and throws it);
 * the events before the failing one are then committed with the failure, in a third transaction.
 *
 * Pipelined: the caller hands over the next batch (`prepare`) while this one is applied; once
 * this batch's `applyBatch` has returned, while the database runs what it sent and commits, the
 * projection's `prepareBatch` plans that next batch (decoding, planning from memory, building
 * statements), so that Node works while PostgreSQL does. Transactions stay strictly one after the
 * other: the next batch's reads run after this one's commit and see its rows; what the plan took
 * from memory is checked against the tables by `applyBatch` (see Projection.prepareBatch). A
 * batch that does not commit through the batch hook drops the plan made after it.
 *
 * One batch at a time: `apply` must not be called again before the last call has settled.
 */
export class BatchApplier {
  private phase: 'idle' | 'applying' | 'committing' = 'idle';
  private upcoming: readonly RecordedEvent[] | undefined;
  private ahead: Ahead | undefined;
  /** The last position of the batch being applied. */
  private current = -1n;

  constructor(private readonly options: BatchApplierOptions) {}

  /**
   * Hands over the batch that comes after the one being applied: planned once that one's
   * statements are sent (at once when it is committing already). Nothing happens while idle: the
   * plan is then made by `apply` itself.
   */
  prepare(events: readonly RecordedEvent[]): void {
    if (!this.options.projection.applyBatch || !this.options.projection.prepareBatch || events.length === 0) return;
    this.upcoming = events;
    if (this.phase === 'committing' && events[0]!.globalPosition > this.current) this.planUpcoming();
  }

  /** Applies a batch (consecutive events in log order) with its bookkeeping; see the class. */
  async apply(batch: readonly RecordedEvent[]): Promise<BatchOutcome> {
    if (this.phase !== 'idle') throw new Error('BatchApplier.apply: a batch is still being applied');
    if (batch.length === 0) return { through: undefined, failure: null };
    this.phase = 'applying';
    this.current = batch.at(-1)!.globalPosition;
    try {
      return await this.applyHeld(batch);
    } finally {
      this.phase = 'idle';
    }
  }

  private async applyHeld(batch: readonly RecordedEvent[]): Promise<BatchOutcome> {
    const { projection, table, bookkeeping } = this.options;
    const last = batch.at(-1)!.globalPosition;
    if (projection.applyBatch) {
      // A plan made for these very events (positions are unique in the log).
      const ahead = this.ahead;
      this.ahead = undefined;
      try {
        const through = await this.transaction(batch, async (tx, rest) => {
          const prepared =
            ahead && ahead.length === rest.length && ahead.first === rest[0]!.globalPosition && ahead.last === rest.at(-1)!.globalPosition ? await ahead.prepared : undefined;
          const w = new StatementPipeline(tx);
          try {
            await projection.applyBatch!(w, rest, table, prepared);
            this.phase = 'committing';
            if (this.upcoming && this.upcoming[0]!.globalPosition > last) this.planUpcoming();
            await w.done();
          } catch (error) {
            // Nothing may still be running on the connection when the transaction rolls back.
            await w.settled();
            throw error;
          }
        });
        return { through, failure: null };
      } catch (error) {
        this.ahead = undefined;
        if (bookkeeping.fatal?.(error)) throw error;
        bookkeeping.onFallback?.(error, batch);
      }
    }
    return this.oneByOne(batch);
  }

  /** Event by event: finds the failing event, or throws the same trouble again (the caller retries). */
  private async oneByOne(batch: readonly RecordedEvent[]): Promise<BatchOutcome> {
    const { sql, projection, table, bookkeeping } = this.options;
    let failing: RecordedEvent | undefined;
    let cause: unknown;
    try {
      const through = await this.transaction(batch, async (tx, rest) => {
        for (const event of rest) {
          try {
            await projection.apply(tx, event, table);
          } catch (error) {
            failing = event;
            cause = error;
            throw error;
          }
        }
      });
      return { through, failure: null };
    } catch (error) {
      if (failing === undefined) throw error;
    }
    const event: RecordedEvent = failing;
    const failure = failureOf(event, cause);
    return sql.transaction(async (tx) => {
      const rest = await bookkeeping.begin(tx, batch);
      // Someone took the checkpoint past the failing event meanwhile (a rebuild's switch): not ours to report.
      if (!rest.some((e) => e.globalPosition === event.globalPosition)) return { through: undefined, failure: null };
      const good = rest.filter((e) => e.globalPosition < event.globalPosition);
      for (const e of good) await projection.apply(tx, e, table);
      const through = good.at(-1)?.globalPosition;
      await bookkeeping.end(tx, through, failure);
      return { through, failure, cause };
    });
  }

  /**
   * One transaction of a batch: `begin`, `apply` on the events still to apply, `end` with the
   * checkpoint through them. Returns that position; undefined when nothing was left to apply.
   */
  private transaction(batch: readonly RecordedEvent[], apply: (tx: SqlExecutor, rest: readonly RecordedEvent[]) => Promise<void>): Promise<bigint | undefined> {
    const { sql, bookkeeping } = this.options;
    return sql.transaction(async (tx) => {
      const rest = await bookkeeping.begin(tx, batch);
      if (rest.length === 0) return undefined;
      await apply(tx, rest);
      const to = rest.at(-1)!.globalPosition;
      await bookkeeping.end(tx, to, null);
      return to;
    });
  }

  private planUpcoming(): void {
    const events = this.upcoming!;
    this.upcoming = undefined;
    let prepared: unknown;
    try {
      prepared = this.options.projection.prepareBatch!(events, this.options.table);
    } catch {
      return; // no plan: applyBatch plans it
    }
    // A plan that comes as a promise (one that yields to the event loop between its parts, so that
    // the connection keeps feeding the database this batch's statements meanwhile) is waited for
    // when its batch comes; one that fails is no plan.
    if (prepared instanceof Promise) prepared = prepared.catch(() => undefined);
    this.ahead = { first: events[0]!.globalPosition, last: events.at(-1)!.globalPosition, length: events.length, prepared };
  }
}
