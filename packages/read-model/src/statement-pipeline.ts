import type { SqlExecutor, SqlRow } from '@v2g/event-store';

/**
 * The statements of a transaction, in order on its connection: each is sent when the one before it
 * has completed, but the caller does not wait for that, so the next statement is built while the
 * database runs the previous one. `query` returns rows (and waits for what is ahead of it); `run`
 * sends and forgets; `done` waits for everything and throws the first failure (the transaction is
 * then rolled back). After a failure the transaction is aborted: whatever follows is not sent.
 *
 * It is a SqlExecutor itself: the batch routine hands one to `applyBatch` as its `tx`, and waits
 * for it before the checkpoint and the commit.
 */
export class StatementPipeline implements SqlExecutor {
  private last: Promise<unknown> = Promise.resolve();
  private readonly sent: Promise<unknown>[] = [];
  constructor(private readonly tx: SqlExecutor) {}

  query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }> {
    const result = this.last.then(() => this.tx.query<R>(text, params));
    this.last = result;
    // Handled here so that a failure is never unhandled; done() (or the caller) reports it.
    result.catch(() => {});
    this.sent.push(result);
    return result;
  }

  run(text: string, params?: readonly unknown[]): void {
    void this.query(text, params);
  }

  /** Waits for every statement sent; throws the first failure. */
  async done(): Promise<void> {
    await Promise.all(this.sent);
  }

  /** Waits until nothing runs on the connection any more, failed or not. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.sent);
  }
}

/** The pipeline `tx` is, else a new one on it. */
export function pipelineOf(tx: SqlExecutor): StatementPipeline {
  return tx instanceof StatementPipeline ? tx : new StatementPipeline(tx);
}

/**
 * Statements recorded for later (built ahead, by `prepareBatch`), then sent in the same order on
 * a transaction's pipeline.
 */
export class StatementList {
  private readonly statements: [text: string, params: readonly unknown[] | undefined][] = [];

  run(text: string, params?: readonly unknown[]): void {
    this.statements.push([text, params]);
  }

  get size(): number {
    return this.statements.length;
  }

  sendTo(w: StatementPipeline): void {
    for (const [text, params] of this.statements) w.run(text, params);
  }
}

/** Where statements go: sent now (a pipeline) or recorded for later (a list). */
export type StatementSink = Pick<StatementPipeline, 'run'>;
