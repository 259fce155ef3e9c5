import { connectPostgres, openKurrentDbStore, openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { CommandHandler, openModules, ProjectionRunner, PROJECTIONS, type Modules, type ProjectionStatus, type RebuildTicket } from '@v2g/ledger';
import type { TimeBounds } from '@v2g/domain';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

/**
 * What the HTTP and GraphQL layers use of the ledger: its modules (each a service, a read-model
 * facade, feeds), the projections' status, the log for health checks; tests may hand in their own parts.
 */
export type LedgerDeps = Modules & {
  store: EventStore;
  /** Where the read models live (PostgreSQL server or PGlite): the as-of replay and the CLI use it. */
  sql: SqlClient;
  /** Status of every projection; `rebuild` starts a blue/green rebuild in this process (see ProjectionRunner.rebuild). */
  projections: { status(): Promise<ProjectionStatus[]>; rebuild?(name: string, options?: { requestedBy?: string }): Promise<RebuildTicket> };
  /** The ledger's clock, epoch ms: what "now" is for every rule (and for GraphiQL's example dates). */
  clock: () => number;
  /** As-of questions one principal may have in progress at once (ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL); absent: 4. */
  asOfMaxInFlightPerPrincipal?: number;
};

export type Ledger = LedgerDeps & {
  projections: ProjectionRunner;
  /** Starts the projections (catch-up, then live) in the background. */
  start(): Promise<void>;
  /** Stops projections at a checkpoint, then closes the store, then the SQL client. Idempotent. */
  close(): Promise<void>;
};

export type LedgerConfig = Pick<Config, 'databaseUrl' | 'eventStoreUrl' | 'dbSchema'> & {
  /** How long chargers take to follow a setpoint (CHARGER_RESPONSE_MS); absent: the grid's default. */
  chargerResponseMs?: number;
  /** As-of questions one principal may have in progress (ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL); absent: 4. */
  asOfMaxInFlightPerPrincipal?: number;
  /** PGlite's folder when there is no databaseUrl; undefined keeps it in memory (tests). */
  dataDir: string | undefined;
  /** Log checkpoints (tamper evidence) appended in the background; absent: none (tests). */
  checkpoint?: Config['checkpoint'];
  /** Projections to rebuild blue/green once started (--rebuild, REBUILD_PROJECTIONS); names checked by the caller. */
  rebuildProjections?: readonly string[];
  /** An operator key chosen at install time, recorded (hashed) at start when new; absent: none. */
  bootstrapOperatorKey?: Config['auth']['bootstrapOperatorKey'];
  /** The ledger's clock, epoch ms (default Date.now): it decides "now" for every rule; a demo, a simulation or a test injects its own. */
  clock?: () => number;
  /** How far field times and departures may stray from the clock (default DEFAULT_TIME_BOUNDS). */
  timeBounds?: TimeBounds;
};

/** Wires the SQL client, the event store, the command handler and the projections. */
export async function openLedger(config: LedgerConfig, logger: Logger): Promise<Ledger> {
  const registry = SchemaRegistry.fromDirectory();
  // One clock for every rule and for the recordedAt the log stamps.
  const clock = config.clock ?? Date.now;
  const recordedAtClock = () => new Date(clock());
  // A PGlite folder is locked while the server runs: a CLI command or a second server is refused (DataDirInUse).
  // A fresh PGlite folder starts with the event log's schema migrated (a copy of a kept template), unless the log is KurrentDB's.
  const sql =
    config.databaseUrl === null
      ? await openPglite(config.dataDir, { holder: 'the ledger server (pnpm start)', ...(config.eventStoreUrl === null ? { schema: config.dbSchema } : {}) })
      : await connectPostgres(config.databaseUrl);
  let store: EventStore;
  try {
    store =
      config.eventStoreUrl === null
        ? await openPostgresStore({ sql, schema: config.dbSchema, registry, clock: recordedAtClock })
        : await openKurrentDbStore({ connectionString: config.eventStoreUrl, registry, clock: recordedAtClock });
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
    projections: PROJECTIONS,
    logger,
  });
  let closing: Promise<void> | undefined;
  const opened = openModules({
    store,
    sql,
    schema: config.dbSchema,
    commands: new CommandHandler(store),
    clock,
    logger,
    settings: {
      ...(config.chargerResponseMs === undefined ? {} : { chargerResponseMs: config.chargerResponseMs }),
      ...(config.timeBounds ? { timeBounds: config.timeBounds } : {}),
      ...(config.bootstrapOperatorKey ? { bootstrapOperatorKey: config.bootstrapOperatorKey } : {}),
      ...(config.checkpoint ? { checkpoint: config.checkpoint } : {}),
    },
    tables: (projection) => projections.tables(projection),
    projectionStatus: async (name) => (await projections.status()).find((p) => p.name === name),
    closing: () => closing !== undefined,
  });

  return {
    ...opened.modules,
    store,
    sql,
    projections,
    clock,
    ...(config.asOfMaxInFlightPerPrincipal === undefined ? {} : { asOfMaxInFlightPerPrincipal: config.asOfMaxInFlightPerPrincipal }),
    async start() {
      await projections.start();
      // Rebuilds the operator asked for at start: blue/green in the background, progress in status.
      for (const name of config.rebuildProjections ?? []) {
        await projections.rebuild(name, { requestedBy: 'start' }).then(
          ({ rebuild }) => logger.info({ projection: name, rebuild: rebuild.id, resumedFrom: rebuild.resumedFrom?.toString() ?? null }, 'rebuild asked for at start'),
          (error: unknown) => logger.warn({ err: error, projection: name }, 'rebuild asked for at start not started'),
        );
      }
      await opened.start();
    },
    close() {
      closing ??= (async () => {
        await opened.stop();
        await projections.stop();
        await store.close();
        await sql.close();
      })();
      return closing;
    },
  };
}
