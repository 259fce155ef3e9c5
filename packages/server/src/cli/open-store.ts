import { existsSync } from 'node:fs';
import { connectPostgres, openKurrentDbStore, openPglite, openPostgresStore, PostgresEventStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { ConfigError, type Config } from '../config.ts';

export type OpenedStore = {
  store: EventStore;
  /** Where the log is, in words (never a URL: it may hold a password). */
  where: string;
  close(): Promise<void>;
};

/**
 * The event log alone, for the commands that only read it (verify, checkpoint): with KurrentDB it
 * opens no SQL database at all.
 */
export async function openConfiguredStore(config: Config, holder: string): Promise<OpenedStore> {
  if (config.eventStoreUrl !== null) {
    const store = await openKurrentDbStore({ connectionString: config.eventStoreUrl, registry: SchemaRegistry.fromDirectory() });
    return { store, where: 'KurrentDB (EVENTSTORE_URL)', close: () => store.close() };
  }
  const { store, where, close } = await openConfiguredLedgerDb(config, holder);
  return { store, where, close };
}

export type OpenedLedgerDb = OpenedStore & {
  /** The read models' database (where replays build their throw-away schemas). */
  sql: SqlClient;
  /** The schema of the live read models and their checkpoints (DB_SCHEMA). */
  schema: string;
};

/**
 * The event log and the read models' database the server's configuration points at, for the CLI
 * commands that build tables (replay, audit, projections). Unlike the server it creates nothing: a
 * DATA_DIR or DB_SCHEMA that holds no event log is a configuration error, not an empty ledger that
 * verifies fine. The embedded store is locked for this process (`holder` says what it is, e.g.
 * "ledger verify"): while the server or another command has it, this throws DataDirInUse.
 */
export async function openConfiguredLedgerDb(config: Config, holder: string): Promise<OpenedLedgerDb> {
  const registry = SchemaRegistry.fromDirectory();
  let sql: SqlClient;
  let where: string;
  if (config.databaseUrl === null) {
    if (!existsSync(config.dataDir)) throw new ConfigError('DATA_DIR', `${config.dataDir} does not exist: no embedded ledger there`);
    sql = await openPglite(config.dataDir, { holder });
    where = `PGlite in ${config.dataDir}`;
  } else {
    sql = await connectPostgres(config.databaseUrl, { applicationName: 'v2g-ledger-cli', maxConnections: 8 });
    where = 'PostgreSQL server (DATABASE_URL)';
  }
  const store = await closingOnFailure(sql, async () => {
    if (config.eventStoreUrl !== null) {
      where = `KurrentDB (EVENTSTORE_URL), read models on ${where}, schema ${config.dbSchema}`;
      return openKurrentDbStore({ connectionString: config.eventStoreUrl, registry });
    }
    const { rows } = await sql.query<{ events: string | null }>(`SELECT to_regclass($1)::text AS events`, [`"${config.dbSchema}".events`]);
    if (rows[0]?.events == null) throw new ConfigError('DB_SCHEMA', `${config.dbSchema}: no event log in this database (${where})`);
    where = `${where}, schema ${config.dbSchema}`;
    return new PostgresEventStore({ sql, schema: config.dbSchema, registry });
  });
  return { store, sql, schema: config.dbSchema, where, close: closeBoth(store, sql) };
}

/**
 * The event store the server would open, created when missing, as the server would: an operator's
 * first API key is made before the server has ever run (a fresh install).
 */
export async function openOrCreateConfiguredStore(config: Config, holder: string): Promise<Omit<OpenedStore, 'where'>> {
  const registry = SchemaRegistry.fromDirectory();
  if (config.eventStoreUrl !== null) {
    const store = await openKurrentDbStore({ connectionString: config.eventStoreUrl, registry });
    return { store, close: () => store.close() };
  }
  // A fresh PGlite folder starts with the event log's schema migrated (a copy of a kept template).
  const sql =
    config.databaseUrl === null
      ? await openPglite(config.dataDir, { holder, schema: config.dbSchema })
      : await connectPostgres(config.databaseUrl, { applicationName: 'v2g-ledger-cli' });
  const store = await closingOnFailure(sql, () => openPostgresStore({ sql, schema: config.dbSchema, registry }));
  return { store, close: closeBoth(store, sql) };
}

/** Opens a store on `sql`; if that fails, `sql` is closed before the error goes on. */
async function closingOnFailure(sql: SqlClient, open: () => Promise<EventStore>): Promise<EventStore> {
  try {
    return await open();
  } catch (error) {
    await sql.close().catch(() => {});
    throw error;
  }
}

function closeBoth(store: EventStore, sql: SqlClient): () => Promise<void> {
  return async () => {
    await store.close();
    await sql.close();
  };
}
