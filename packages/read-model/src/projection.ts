import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';

/**
 * Maps a projection's logical table name to its quoted, schema-qualified, versioned name; `index`
 * names an index of that table the same way (unqualified: an index lives in its table's schema).
 */
export type TableNames = ((logical: string) => string) & { index: (logical: string, suffix: string) => string };

/**
 * A named, versioned read model. Its tables carry its version in their names, so a new version
 * can be built beside the old one. It never refuses a recorded event on business grounds: it
 * records what happened; a throw means a bug, and stops the projection at that event.
 */
export interface Projection {
  readonly name: string;
  readonly version: number;
  readonly tables: readonly string[];
  /** Creates its tables; must be idempotent (CREATE ... IF NOT EXISTS). */
  setup(tx: SqlExecutor, table: TableNames): Promise<void>;
  /**
   * Optional: creates the indexes that only its queries read (never `apply` or `applyBatch`, and
   * none that an ON CONFLICT needs); must be idempotent. A projection that has it leaves them out
   * of `setup`. The runner creates them with the tables (`setupProjection`); a blue/green rebuild
   * and a throw-away replay create them once their tables have caught up, so that filling the
   * tables from the log does not maintain them row by row.
   */
  queryIndexes?(tx: SqlExecutor, table: TableNames): Promise<void>;
  apply(tx: SqlExecutor, event: RecordedEvent, table: TableNames): Promise<void>;
  /**
   * Optional: applies a batch of consecutive events (in log order) at once, in the transaction that
   * also commits the batch's checkpoint. It must leave exactly the rows `apply` would, event after
   * event; it exists so that a projection can load what it needs for the whole batch in a query or
   * two and write with multi-row statements. When it throws, the runner rolls the batch back and
   * applies it again event by event, to stop at (and report) the failing event as it always does.
   */
  applyBatch?(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames, prepared?: unknown): Promise<void>;
  /**
   * Optional, with `applyBatch`: the part of a batch that needs no database (decoding the events,
   * planning from them and from what the projection keeps in memory, building statements). The
   * batch routine (batches.ts) calls it for the next batch while the one before it is written and
   * committed, once that one's `applyBatch` has returned, and hands the result to `applyBatch` of
   * exactly these events; it may call `applyBatch` without it (a plan made for other events, the
   * first batch, the event-by-event fallback). What it plans from memory assumes the batch before
   * commits: `applyBatch` must check that the tables say so (that batch may have been rolled back)
   * and plan again from the tables when they do not. It must not throw on events `applyBatch`
   * would accept; a throw (or a rejected promise) is taken as "no plan". It may return a promise:
   * the routine waits for it when the batch comes. Planning runs in the thread that feeds the
   * database the statements of the batch before (one after the other, each when the one before
   * has run): a plan that yields to the event loop between its parts (setImmediate) lets those go
   * out meanwhile, so that the database and Node work at the same time.
   *
   * `applyBatch` may also return before the statements it sent without waiting for them have run
   * (the `tx` the routine passes queues them, see StatementPipeline): the routine waits for them,
   * and throws their first failure, before it writes the checkpoint and commits.
   */
  prepareBatch?(events: readonly RecordedEvent[], table: TableNames): unknown;
  /**
   * Optional: forgets what the process keeps in memory about these tables (a cache keyed by their
   * names), once they are dropped: a throw-away replay (replay.ts) calls it when it drops its tables.
   */
  forget?(table: TableNames): void;
}

/** The projection's tables with every index, query indexes included: what live tables need. */
export async function setupProjection(tx: SqlExecutor, projection: Projection, table: TableNames): Promise<void> {
  await projection.setup(tx, table);
  await projection.queryIndexes?.(tx, table);
}

const IDENTIFIER = /^[a-z][a-z0-9_]*$/;

export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name) || name.length > 63) throw new Error(`not a safe SQL identifier: ${name}`);
  return `"${name}"`;
}

/**
 * Which set of a projection's tables: the live one that queries read (`<name>_v<version>_<table>`),
 * the `next` one a blue/green rebuild fills (`<name>_v<version>_next_<table>`), or the `old` one the
 * live tables become at the switch, until they are dropped (`<name>_v<version>_old_<table>`).
 */
export type TableSet = 'live' | 'next' | 'old';

export function tableNames(schema: string, projection: Pick<Projection, 'name' | 'version' | 'tables'>, set: TableSet = 'live'): TableNames {
  const known = new Set(projection.tables);
  const prefix = tablePrefix(projection, set);
  const base = (logical: string) => {
    if (!known.has(logical)) throw new Error(`projection ${projection.name} declares no table ${logical}`);
    return `${prefix}${logical}`;
  };
  const table = (logical: string) => `${quoteIdent(schema)}.${quoteIdent(base(logical))}`;
  return Object.assign(table, { index: (logical: string, suffix: string) => quoteIdent(`${base(logical)}_${suffix}`) });
}

/** What every table (and index) name of one set of a projection's tables starts with. */
export function tablePrefix(projection: Pick<Projection, 'name' | 'version'>, set: TableSet = 'live'): string {
  return `${projection.name}_v${projection.version}_${set === 'live' ? '' : `${set}_`}`;
}
