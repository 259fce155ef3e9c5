import type { PGlite } from '@electric-sql/pglite';
import { EventStoreError, EventStoreUnavailable } from '../errors.ts';
import { DataDirInUse, lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { schemaNames } from './migrations.ts';
import { copyTemplate, dropTemplate, emptyDir, isFreshDataDir, makeTemplate, templateDir, type OpenTemplate } from './pglite-template.ts';
import type { SqlClient, SqlExecutor, SqlRow } from './sql-client.ts';

const INT8_OID = 20;

export type PgliteOptions = {
  /** What this process is, for another process's refusal (default: the command line). */
  holder?: string;
  /**
   * The event store's schema (DB_SCHEMA): a fresh folder then starts with it migrated, copied from
   * a template kept for that schema and those migrations (the caller's migrate() finds nothing to do).
   */
  schema?: string;
};

/**
 * Opens an embedded PostgreSQL (PGlite) in `dataDir`, or in memory when it is undefined. A data
 * folder is locked for this process until close() (data-dir-lock.ts): when another process holds
 * it, this throws DataDirInUse before anything is read. `holder` says what this process is, for
 * that refusal (default: the command line).
 *
 * PGlite serves one connection. Its transaction() holds the instance's transaction mutex from BEGIN
 * to COMMIT, and its top-level query() waits for that same mutex, so a query issued from outside
 * while a transaction runs simply waits for the COMMIT: nothing interleaves. The flip side: code
 * inside `transaction(fn)` must use the `tx` it is given, never this client, or it waits forever.
 */
export async function openPglite(dataDir: string | undefined, options: PgliteOptions = {}): Promise<SqlClient> {
  const where = dataDir === undefined ? 'PGlite in memory' : `PGlite in ${dataDir}`;
  let lock: DataDirLock | null = null;
  try {
    if (dataDir !== undefined) lock = await lockDataDir(dataDir, options.holder ?? process.argv.slice(1).join(' '));
  } catch (error) {
    throw error instanceof DataDirInUse ? error : unavailable(where, error);
  }
  let db: PGlite;
  try {
    // Loaded on demand: a process that talks to a server never pays for the WASM module.
    const { PGlite } = await import('@electric-sql/pglite');
    // int8 as a string, as with pg: PGlite's own parser turns large values into lossy numbers.
    const parsers = { [INT8_OID]: (value: string) => value };
    if (dataDir !== undefined && isFreshDataDir(dataDir)) {
      // A new folder: a copy of a kept template (pglite-template.ts).
      db = await fromTemplate(dataDir, options.schema, (dir) => PGlite.create(dir, { parsers }));
    } else {
      db = await PGlite.create(dataDir, { parsers });
    }
  } catch (error) {
    await lock?.release();
    throw unavailable(where, error);
  }
  return new PgliteClient(db, where, lock);
}

class PgliteClient implements SqlClient {
  readonly kind = 'embedded' as const;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly db: PGlite,
    private readonly where: string,
    private readonly lock: DataDirLock | null,
  ) {}

  async query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }> {
    this.checkOpen();
    try {
      const result = await this.db.query<R>(text, params as unknown[] | undefined);
      return { rows: result.rows };
    } catch (error) {
      throw this.translate(error);
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.checkOpen();
    try {
      return await this.db.transaction(async (inner) => {
        const tx: SqlExecutor = {
          query: async <R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]) => {
            const result = await inner.query<R>(text, params as unknown[] | undefined);
            return { rows: result.rows };
          },
        };
        return fn(tx);
      });
    } catch (error) {
      // PGlite has rolled back; a session-level advisory lock taken by a failed statement survives
      // a ROLLBACK (see migrations.ts, write_append) and is dropped here, as the pg connector does.
      if (!this.db.closed) await this.db.query('SELECT pg_advisory_unlock_all()').catch(() => {});
      throw this.translate(error);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    this.checkOpen();
    let stop: () => Promise<void>;
    try {
      stop = await this.db.listen(channel, onNotify);
    } catch (error) {
      throw this.translate(error);
    }
    let stopped = false;
    return async () => {
      if (stopped || this.db.closed) return;
      stopped = true;
      await stop().catch(() => {});
    };
  }

  /** Safe to call more than once and concurrently: PGlite's own close() throws the second time. The folder's lock goes last. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (!this.db.closed) await this.db.close();
      } finally {
        await this.lock?.release();
      }
    })();
    return this.closing;
  }

  private checkOpen(): void {
    if (this.closing !== undefined || this.db.closed) throw new EventStoreUnavailable(`${this.where} is closed`);
  }

  /** Statement errors (with a SQLSTATE) and our own errors pass through; anything else means the engine is gone. */
  private translate(error: unknown): unknown {
    if (error instanceof EventStoreError) return error;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return error;
    if (this.db.closed || (error instanceof Error && /closed/i.test(error.message))) return unavailable(this.where, error);
    return error;
  }
}

/**
 * A fresh folder from its template, the template made first when none is kept. A kept template that
 * does not open is dropped and made again; when no template can be made or used, the folder is
 * initialised as PGlite does (`initdb`).
 */
async function fromTemplate(dataDir: string, schema: string | undefined, create: (dir: string) => Promise<PGlite>): Promise<PGlite> {
  const template = templateDir(schema);
  const open: OpenTemplate = async (dir) => new PgliteClient(await create(dir), `PGlite in ${dir}`, null);
  for (let attempt = 0; attempt < 2; attempt++) {
    let made = false;
    try {
      if (!copyTemplate(template, dataDir)) {
        made = true;
        await makeTemplate(open, schema);
        copyTemplate(template, dataDir);
      }
      const db = await create(dataDir);
      try {
        // The migrations were applied to this database when it was copied, not when the template was made.
        if (schema !== undefined) await db.query(`UPDATE ${schemaNames(schema).schema}.schema_migrations SET applied_at = now()`);
      } catch (error) {
        await db.close().catch(() => {});
        throw error;
      }
      return db;
    } catch {
      emptyDir(dataDir);
      // One made just now that does not work (a read-only cache, say): no template, PGlite's own initdb.
      if (made) break;
      dropTemplate(template);
    }
  }
  return create(dataDir);
}

function unavailable(where: string, error: unknown): EventStoreUnavailable {
  const reason = error instanceof Error ? error.message : String(error);
  return new EventStoreUnavailable(`cannot use ${where}: ${reason}`);
}
