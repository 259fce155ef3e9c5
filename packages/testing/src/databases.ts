import { randomUUID } from 'node:crypto';
import { connectPostgres, openPglite, type SqlClient } from '@v2g/event-store';
import { afterAll, beforeAll, describe, inject } from 'vitest';

/** A database for one suite: a client, the schema the suite works in, and what frees both. */
export type TestDatabase = { sql: SqlClient; schema: string; cleanup(): Promise<void> };

/**
 * Runs `suite` twice: on a fresh in-memory PGlite (schema `v2g`), and, when the global setup found
 * a PostgreSQL server, there in a schema of its own (`test_<prefix>_<pid>_<random>`), dropped by
 * `cleanup`. The suite opens its database with `open` (in its beforeAll) and calls `cleanup` after.
 */
export function describeOnEachDatabase(prefix: string, suite: (label: string, open: () => Promise<TestDatabase>) => void): void {
  const url = inject('postgresUrl');
  suite('PGlite', async () => {
    const sql = await openPglite(undefined);
    return { sql, schema: 'v2g', cleanup: () => sql.close() };
  });
  describe.skipIf(url === null)('on the PostgreSQL server', () => {
    suite('the PostgreSQL server', async () => {
      const sql = await connectPostgres(url!);
      const schema = `test_${prefix}_${process.pid}_${randomUUID().slice(0, 8)}`;
      return {
        sql,
        schema,
        cleanup: async () => {
          await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await sql.close();
        },
      };
    });
  });
}

/**
 * One in-memory PGlite for the test file that calls this (PGlite takes about a second and hundreds
 * of MB to open), opened before its tests and closed after them. Returns the client's getter: the
 * client exists only once the file's beforeAll hooks have run.
 */
export function pgliteForFile(): () => SqlClient {
  let sql: SqlClient | undefined;
  beforeAll(async () => {
    sql = await openPglite(undefined);
  });
  afterAll(async () => {
    await sql?.close();
  });
  return () => {
    if (!sql) throw new Error('the PGlite of this file is not open yet (use it inside a test or hook)');
    return sql;
  };
}

/** Runs `body` on a fresh in-memory PGlite, in `schema`, and closes it after. */
export async function inFreshPglite(schema: string, body: (sql: SqlClient, schema: string) => Promise<void>): Promise<void> {
  const sql = await openPglite(undefined);
  try {
    await body(sql, schema);
  } finally {
    await sql.close();
  }
}

/**
 * Runs `body` on the PostgreSQL server at `url` in a fresh schema (`test_<prefix>_<random>`), then
 * drops it and the schemas named after it with each of `suffixes` (a rebuild's `_rm`, …).
 */
export async function inFreshServerSchema(
  url: string,
  prefix: string,
  options: { applicationName: string; suffixes?: readonly string[] },
  body: (sql: SqlClient, schema: string) => Promise<void>,
): Promise<void> {
  const sql = await connectPostgres(url, { applicationName: options.applicationName });
  const schema = `test_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  try {
    await body(sql, schema);
  } finally {
    for (const suffix of ['', ...(options.suffixes ?? [])]) await sql.query(`DROP SCHEMA IF EXISTS ${schema}${suffix} CASCADE`);
    await sql.close();
  }
}
