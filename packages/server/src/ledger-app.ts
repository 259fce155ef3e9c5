import {
  connectPostgres,
  openKurrentDbStore,
  openPglite,
  openPostgresStore,
  SchemaRegistry,
  type EventStore,
  type SqlClient,
} from '@v2g/event-store';
import { AllocationScheduler, CommandHandler, GridService, MeteringService, ProjectionRunner, type ProjectionStatus, type TableNames } from '@v2g/ledger';
import { catalogueProjection } from '@v2g/projection-catalogue';
import { billingProjection, priceAt } from '@v2g/projection-billing';
import { gridProjection } from '@v2g/projection-grid';
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
  /** Sites, sessions and allocation: the grid's use cases. */
  grid: GridService;
  /** Table names of the grid read model. */
  gridTables: TableNames;
  /** Site and node meters (building load, generation, storage). */
  metering: MeteringService;
  /** Table names of the billing read model (energy by interval, prices, tariffs). */
  billingTables: TableNames;
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
    projections: [catalogueProjection, gridProjection, billingProjection],
    logger,
  });
  const commands = new CommandHandler(store);
  const billingTables = projections.tables(billingProjection);
  const grid: GridService = new GridService(store, commands, {
    logger: logger.child({ component: 'grid' }),
    // The price a site's discharge threshold is compared with: the latest known for its zone.
    priceAt: async (siteId, at) => {
      const { site } = await grid.loadSite(siteId);
      if (!site?.priceZone || site.dischargePriceThresholdMinorPerKWh === null) return null;
      return (await priceAt(sql, billingTables, site.priceZone, at))?.priceMinorPerKWh ?? null;
    },
    // Every recorded allocation plans the site's next clock-driven one.
    onAllocated: (outcome) => void scheduler.allocated(outcome),
  });
  const metering = new MeteringService(store, commands);
  const scheduler = new AllocationScheduler(grid, { logger: logger.child({ component: 'allocation-scheduler' }) });
  const gridTables = projections.tables(gridProjection);
  let closing: Promise<void> | undefined;

  /**
   * After a restart, sites with vehicles plugged in need their clock-driven allocations again
   * (turns expire, rules start): once the grid read model has caught up, it says which sites.
   */
  async function resumeAllocations(): Promise<void> {
    for (;;) {
      if (closing) return;
      const status = (await projections.status()).find((p) => p.name === gridProjection.name);
      if (status?.state === 'live') break;
      if (status?.state === 'failed' || status?.state === 'stopped') {
        logger.warn({ projection: gridProjection.name, state: status.state }, 'grid read model not live: clock-driven allocations resume with the next command of each site');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { rows } = await sql.query<{ site_id: string }>(`SELECT DISTINCT site_id FROM ${gridTables('sessions')} WHERE status <> 'stopped' AND released_at IS NULL`);
    for (const { site_id } of rows) scheduler.watch(site_id);
    logger.info({ sites: rows.length }, 'clock-driven allocations resumed');
  }

  return {
    store,
    sql,
    commands,
    projections,
    catalogue: projections.tables(catalogueProjection),
    grid,
    gridTables,
    billingTables,
    metering,
    async start() {
      await projections.start();
      void resumeAllocations().catch((error: unknown) => {
        if (!closing) logger.error({ err: error }, 'could not resume clock-driven allocations');
      });
    },
    close() {
      closing ??= (async () => {
        scheduler.stop();
        await projections.stop();
        await store.close();
        await sql.close();
      })();
      return closing;
    },
  };
}
