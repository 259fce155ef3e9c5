import { randomUUID } from 'node:crypto';
import { connectPostgres, openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient, type SqlExecutor } from '@v2g/event-store';
import { ProjectionRunner, type Projection, type TableNames } from '@v2g/read-model';
import type { Logger } from 'pino';
import { describe, expect, inject } from 'vitest';

/**
 * Where a projection's integration suite runs: a database and its schemas. `store` and `live` are
 * one schema (the log and the live read model); each other one holds the same rows built another
 * way (from zero, event by event, in small batches, …).
 */
export type ProjectionTarget<S extends string> = {
  sql: SqlClient;
  schemas: Record<'store' | 'live' | S, string>;
  close(): Promise<void>;
};

/**
 * Runs `suite` on PGlite, and on the PostgreSQL server when the global setup found one; there the
 * schemas are named for this run (the server keeps other runs' schemas) and dropped afterwards.
 */
export function describeProjectionSuite<S extends string>(projection: string, others: readonly S[], suite: (open: () => Promise<ProjectionTarget<S>>) => void): void {
  const url = inject('postgresUrl');
  const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const schemasOf = (live: string, other: (name: string) => string) =>
    ({ store: live, live, ...Object.fromEntries(others.map((o) => [o, other(snake(o))])) }) as Record<'store' | 'live' | S, string>;

  describe(`${projection} projection (PGlite)`, () => {
    suite(async () => {
      const sql = await openPglite(undefined);
      return { sql, schemas: schemasOf('v2g', (o) => `v2g_${o}`), close: () => sql.close() };
    });
  });

  describe.skipIf(url === null)(`${projection} projection (PostgreSQL server)`, () => {
    suite(async () => {
      const run = `${process.pid}_${randomUUID().slice(0, 8)}`;
      const sql = await connectPostgres(url!, { applicationName: `v2g-test-${projection}-${run}` });
      const schemas = schemasOf(`test_${projection}_${run}`, (o) => `test_${projection}_${o}_${run}`);
      return {
        sql,
        schemas,
        close: async () => {
          for (const schema of new Set(Object.values<string>(schemas))) await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await sql.close();
        },
      };
    });
  });
}

/** A target with its log open and a runner of one projection following it into the live schema. */
export type RunningProjection<T extends ProjectionTarget<never>> = {
  target: T;
  store: EventStore;
  runner: ProjectionRunner;
  table: TableNames;
  stop(): Promise<void>;
};

/** Opens the target, its log, and starts a runner of `projection` on it. */
export async function startProjection<T extends ProjectionTarget<never>>(open: () => Promise<T>, projection: Projection, logger: Logger): Promise<RunningProjection<T>> {
  const target = await open();
  const store = await openPostgresStore({ sql: target.sql, schema: target.schemas.store, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
  const runner = new ProjectionRunner({ store, sql: target.sql, schema: target.schemas.live, projections: [projection], logger });
  await runner.start();
  return {
    target,
    store,
    runner,
    table: runner.tables(projection),
    async stop() {
      await runner.stop();
      await store.close();
      await target.close();
    },
  };
}

/**
 * Waits until the runner's (only) projection has applied `position`; throws at once if it failed,
 * and when its checkpoint has not moved for `stallMs` (stuck, not merely slow: on a loaded
 * machine a long build keeps moving, however long it takes).
 */
export async function caughtUp(runner: ProjectionRunner, position: bigint, stallMs = 20_000): Promise<void> {
  let last = -1n;
  let movedAt = Date.now();
  for (;;) {
    const [status] = await runner.status();
    const { name, failure, checkpoint } = status!;
    if (failure) throw new Error(`${name} projection failed: ${JSON.stringify({ ...failure, position: String(failure.position) })}`);
    if (checkpoint >= position) return;
    if (checkpoint !== last) {
      last = checkpoint;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      throw new Error(`${name} projection stuck at ${checkpoint} for ${stallMs} ms, waiting for ${position}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every row of a table as text, sorted: two builds of a read model compare row for row. */
export async function dumpTable(sql: SqlExecutor, names: TableNames, logical: string): Promise<string[]> {
  return (await sql.query<{ line: string }>(`SELECT t::text AS line FROM ${names(logical)} t ORDER BY 1`)).rows.map((r) => r.line);
}

/** Another way to build a read model: its own schema, the projection (or a variant of it), a batch size. */
export type OtherBuild = { name: string; schema: string; projection: Projection; batchSize: number };

/**
 * Builds the log up to `position` from zero in each of `builds`, and expects every one of `tables`
 * to hold exactly the live rows; each must hold some, except those named in `mayBeEmpty`.
 */
export async function expectSameRows(
  running: Pick<RunningProjection<ProjectionTarget<never>>, 'target' | 'store' | 'table'>,
  position: bigint,
  tables: readonly string[],
  builds: readonly OtherBuild[],
  options: { logger: Logger; stallMs?: number; mayBeEmpty?: readonly string[] },
): Promise<void> {
  const { target, store, table } = running;
  for (const build of builds) {
    const runner = new ProjectionRunner({ store, sql: target.sql, schema: build.schema, projections: [build.projection], logger: options.logger, batchSize: build.batchSize });
    await runner.start();
    try {
      await caughtUp(runner, position, options.stallMs);
      const rebuilt = runner.tables(build.projection);
      for (const logical of tables) {
        const live = await dumpTable(target.sql, table, logical);
        if (!options.mayBeEmpty?.includes(logical)) expect(live.length, logical).toBeGreaterThan(0);
        expect(await dumpTable(target.sql, rebuilt, logical), `${build.name}: ${logical}`).toEqual(live);
      }
    } finally {
      await runner.stop();
    }
  }
}
