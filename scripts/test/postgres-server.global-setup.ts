import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  interface ProvidedContext {
    /** Connection string of the PostgreSQL server the server-mode suites use; null when absent. */
    postgresUrl: string | null;
  }
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Finds the PostgreSQL server for the server-mode suites (TEST_DATABASE_URL, else the local one).
 * Without one the suites are skipped and this says so plainly; with CI=true a missing server fails.
 */
export async function setup(project: TestProject): Promise<void> {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    project.provide('postgresUrl', url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.CI === 'true') {
      throw new Error(`CI=true and no PostgreSQL server at ${url} (${reason}): the server-mode suites cannot be skipped in CI`, { cause: error });
    }
    console.warn(
      `\n*** PostgreSQL server not reachable at ${url} (${reason}).\n` +
        `*** SKIPPING the PostgreSQL-server suites; PGlite and in-memory suites still run.\n` +
        `*** Set TEST_DATABASE_URL or start a server to run them.\n`,
    );
    project.provide('postgresUrl', null);
  } finally {
    await client.end().catch(() => {});
  }
}
