import {
  connectPostgres,
  openKurrentDbStore,
  openPglite,
  openPostgresStore,
  SchemaRegistry,
  type EventStore,
  type SqlClient,
} from '@v2g/event-store';
import { AllocationScheduler, CommandHandler, GridService, MeteringService, ProjectionRunner, type ProjectionStatus, type RebuildTicket, type TableNames } from '@v2g/ledger';
import { ReadModelBehind, SettlementService, SettlementWatcher } from '@v2g/ledger';
import { catalogueProjection } from '@v2g/projection-catalogue';
import { billingProjection, priceAt, sessionsReaching } from '@v2g/projection-billing';
import { gridProjection, sitesWithSessionsAtConnectors } from '@v2g/projection-grid';
import { GateScheduler, MarketService } from '@v2g/ledger';
import { marketProjection, openBooks } from '@v2g/projection-market';
import { closedPeriods, settledZones, settlementProjection } from '@v2g/projection-settlement';
import { Checkpointer, FileCheckpointSink } from '@v2g/ledger';
import { ApiKeyService } from '@v2g/ledger';
import type { TimeBounds } from '@v2g/domain';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

/** What the HTTP and GraphQL layers use of the ledger; tests may hand in their own parts. */
export type LedgerDeps = {
  store: EventStore;
  /** Where the read models live (PostgreSQL server or PGlite). */
  sql: SqlClient;
  commands: CommandHandler;
  /** Status of every projection; `rebuild` starts a blue/green rebuild in this process (see ProjectionRunner.rebuild). */
  projections: { status(): Promise<ProjectionStatus[]>; rebuild?(name: string, options?: { requestedBy?: string }): Promise<RebuildTicket> };
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
  /** Order books, orders and market zones: the market's use cases. */
  market: MarketService;
  /** Table names of the market read model (books, depth, orders, trades, positions). */
  marketTables: TableNames;
  /** Closing settlement periods (and settling them again), auditing a revision. */
  settlement: SettlementService;
  /** Table names of the settlement read model (statements, transfers, balances). */
  settlementTables: TableNames;
  /** API keys: created and revoked by operators, checked on every request. */
  apiKeys: ApiKeyService;
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

/** Every read model the server builds and serves, in the order status lists them. */
export const PROJECTIONS = [catalogueProjection, gridProjection, billingProjection, settlementProjection, marketProjection] as const;

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
  const commands = new CommandHandler(store);
  const billingTables = projections.tables(billingProjection);
  const timeBounds = config.timeBounds;
  const grid: GridService = new GridService(store, commands, {
    chargerResponseMs: config.chargerResponseMs,
    clock,
    ...(timeBounds ? { timeBounds } : {}),
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
  const metering = new MeteringService(store, commands, { clock, ...(timeBounds ? { timeBounds } : {}) });
  const scheduler = new AllocationScheduler(grid, { logger: logger.child({ component: 'allocation-scheduler' }) });
  const gridTables = projections.tables(gridProjection);
  // Every accepted submit tells the gate scheduler about its book; it closes each gate on time.
  const market: MarketService = new MarketService(store, commands, { clock, onBookOpen: (book) => gateScheduler.watch(book) });
  const gateScheduler = new GateScheduler(market, { logger: logger.child({ component: 'gate-scheduler' }) });
  const marketTables = projections.tables(marketProjection);
  const apiKeys = new ApiKeyService(store, commands, { logger: logger.child({ component: 'api-keys' }) });
  let closing: Promise<void> | undefined;

  // Settlement lists a period's candidate sessions from the billing read model: it waits until
  // that model includes everything the close reads.
  const settlementTables = projections.tables(settlementProjection);
  const settlement = new SettlementService(store, commands, {
    clock,
    sessionsReaching: (range) => sessionsReaching(sql, billingTables, range),
    readModelsAt: async (position) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const status = (await projections.status()).find((p) => p.name === billingProjection.name);
        if (status && status.checkpoint >= position) return;
        if (!status || status.state === 'failed' || status.state === 'stopped' || closing || Date.now() > deadline) {
          throw new ReadModelBehind(billingProjection.name, position, status?.checkpoint ?? 0n, status?.state ?? 'unknown');
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  });
  // Settles a closed period again when a late reading, a price revision or a portfolio change touches it.
  const settlementWatcher = new SettlementWatcher({
    store,
    commands,
    settlement,
    sql,
    schema: config.dbSchema,
    closedPeriods: (zone, endsAfter) => closedPeriods(sql, settlementTables, zone, endsAfter),
    settledZones: () => settledZones(sql, settlementTables),
    logger: logger.child({ component: 'settlement-watcher' }),
  });

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
    const siteIds = await sitesWithSessionsAtConnectors(sql, gridTables);
    for (const siteId of siteIds) scheduler.watch(siteId);
    logger.info({ sites: siteIds.length }, 'clock-driven allocations resumed');
  }

  /** After a restart, the books whose gate is still open come from the market read model once it is live. */
  async function resumeGates(): Promise<void> {
    for (;;) {
      if (closing) return;
      const status = (await projections.status()).find((p) => p.name === marketProjection.name);
      if (status?.state === 'live') break;
      if (status?.state === 'failed' || status?.state === 'stopped') {
        logger.warn({ projection: marketProjection.name, state: status.state }, 'market read model not live: gates close as their books get orders again');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const books = await openBooks(sql, marketTables);
    for (const book of books) gateScheduler.watch({ ...book, streamId: book.bookId });
    logger.info({ books: books.length }, 'gate closures scheduled');
  }

  /** Follows key changes in the log, and records the bootstrap operator key when it is new. */
  async function startApiKeys(): Promise<void> {
    await apiKeys.start();
    const bootstrap = config.bootstrapOperatorKey;
    if (bootstrap) {
      const outcome = await apiKeys.ensureBootstrapKey(bootstrap, { actor: 'system:bootstrap' });
      // The key id only: the key is a secret.
      if (outcome === 'revoked') logger.warn({ keyId: bootstrap.keyId }, 'AUTH_BOOTSTRAP_OPERATOR_KEY names a revoked key: it stays revoked');
      else logger.info({ keyId: bootstrap.keyId, outcome }, 'bootstrap operator key in place');
    }
  }

  // Tamper evidence: a Merkle checkpoint of the log every N events or T seconds (see `ledger verify`).
  const checkpointer = config.checkpoint
    ? new Checkpointer({
        store,
        signingKey: config.checkpoint.signingKey,
        everyEvents: config.checkpoint.everyEvents,
        everyMs: config.checkpoint.everyMs,
        sink: config.checkpoint.sinkFile ? new FileCheckpointSink(config.checkpoint.sinkFile) : null,
        logger: logger.child({ component: 'checkpointer' }),
      })
    : undefined;

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
    settlement,
    settlementTables,
    market,
    marketTables,
    apiKeys,
    clock,
    ...(config.asOfMaxInFlightPerPrincipal === undefined ? {} : { asOfMaxInFlightPerPrincipal: config.asOfMaxInFlightPerPrincipal }),
    async start() {
      await startApiKeys();
      await projections.start();
      // Rebuilds the operator asked for at start: blue/green in the background, progress in status.
      for (const name of config.rebuildProjections ?? []) {
        await projections.rebuild(name, { requestedBy: 'start' }).then(
          ({ rebuild }) => logger.info({ projection: name, rebuild: rebuild.id, resumedFrom: rebuild.resumedFrom?.toString() ?? null }, 'rebuild asked for at start'),
          (error: unknown) => logger.warn({ err: error, projection: name }, 'rebuild asked for at start not started'),
        );
      }
      checkpointer?.start();
      await settlementWatcher.start();
      void resumeAllocations().catch((error: unknown) => {
        if (!closing) logger.error({ err: error }, 'could not resume clock-driven allocations');
      });
      void resumeGates().catch((error: unknown) => {
        if (!closing) logger.error({ err: error }, 'could not schedule the gate closures of open books');
      });
    },
    close() {
      closing ??= (async () => {
        await apiKeys.stop();
        scheduler.stop();
        gateScheduler.stop();
        await settlementWatcher.stop();
        await projections.stop();
        await checkpointer?.stop();
        await store.close();
        await sql.close();
      })();
      return closing;
    },
  };
}
