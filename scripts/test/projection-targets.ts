import { randomUUID } from 'node:crypto';
import { connectPostgres, openPglite, type SqlClient } from '@v2g/event-store';
import { describe, inject } from 'vitest';

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
export function describeProjectionSuite<S extends string>(
  projection: string,
  others: readonly S[],
  suite: (open: () => Promise<ProjectionTarget<S>>) => void,
): void {
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
