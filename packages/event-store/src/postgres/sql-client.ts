/**
 * The small SQL surface the PostgreSQL event store and the projections need. Two connectors
 * implement it with the same SQL: `pg` against a server (DATABASE_URL) and PGlite in-process.
 */
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

export interface SqlClient extends SqlExecutor {
  /** 'server' for a PostgreSQL server through pg, 'embedded' for PGlite. */
  readonly kind: 'server' | 'embedded';
  /** Runs fn in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves to a function that stops listening. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
