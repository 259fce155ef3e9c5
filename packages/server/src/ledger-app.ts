import {
  connectPostgres,
  openKurrentDbStore,
  openPglite,
  openPostgresStore,
  SchemaRegistry,
  type EventStore,
  type SqlClient,
} from '@v2g/event-store';
import { CommandHandler, ProjectionRunner, type ProjectionStatus, type TableNames } from '@v2g/ledger';
import { catalogueProjection } from '@v2g/projection-catalogue';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

/** What the HTTP and GraphQL layers use of the ledger; tests may hand in their own parts. */
export type LedgerDeps = {
  store: EventStore;
  /** Where the read models live (PostgreSQL server or PGlite). */
  sql: SqlClient;
  commands: CommandHandler;
  projections: { status(): Promise<ProjectionStatus[]> };
  /** Table names of the catalogue read model. */
  catalogue: TableNames;
};

export type Ledger = LedgerDeps & {
  projections: ProjectionRunner;
  /** Starts the projections (catch-up, then live) in the background. */
  start(): Promise<void>;
  /** Stops projections at a checkpoint, then closes the store, then the SQL client. Idempotent. */
  close(): Promise<void>;
};

export type LedgerConfig = Pick<Config, 'databaseUrl' | 'eventStoreUrl' | 'dbSchema'> & {
  /** PGlite's folder when there is no databaseUrl; undefined keeps it in memory (tests). */
  dataDir: string | undefined;
};

/** Wires the SQL client, the event store, the command handler and the projections. */
export async function openLedger(config: LedgerConfig, logger: Logger): Promise<Ledger> {
  const registry = SchemaRegistry.fromDirectory();
  const sql = config.databaseUrl === null ? await openPglite(config.dataDir) : await connectPostgres(config.databaseUrl);
  let store: EventStore;
  try {
    store =
      config.eventStoreUrl === null
        ? await openPostgresStore({ sql, schema: config.dbSchema, registry })
        : await openKurrentDbStore({ connectionString: config.eventStoreUrl, registry });
    logger.info(
      {
        sql: sql.kind === 'embedded' ? `PGlite in ${config.dataDir ?? 'memory'}` : 'PostgreSQL server',
        eventLog: config.eventStoreUrl === null ? 'PostgreSQL' : 'KurrentDB',
        schema: config.dbSchema,
      },
      'ledger opened',
    );
  } catch (error) {
    await sql.close().catch(() => {});
    throw error;
  }
  const projections = new ProjectionRunner({
    store,
    sql,
    schema: config.dbSchema,
    projections: [catalogueProjection],
    logger,
  });
  let closing: Promise<void> | undefined;
  return {
    store,
    sql,
    commands: new CommandHandler(store),
    projections,
    catalogue: projections.tables(catalogueProjection),
    start: () => projections.start(),
    close() {
      closing ??= (async () => {
        await projections.stop();
        await store.close();
        await sql.close();
      })();
      return closing;
    },
  };
}
