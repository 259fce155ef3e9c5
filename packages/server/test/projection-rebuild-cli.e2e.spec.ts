import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectPostgres, type SqlClient } from '@v2g/event-store';
import { parseApiKeyToken } from '@v2g/ledger';
import { billingProjection } from '@v2g/projection-billing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fillMixed } from '@v2g/testing/workloads';
import { buildApp } from '../src/app.ts';
import { openLedger, type Ledger } from '../src/ledger-app.ts';
import { createLogger } from '../src/logger.ts';
import { runLedgerCli, startMain } from './child-server.ts';
import { postGraphQL, TEST_OPERATOR_KEY } from './harness.ts';

/**
 * The operator's side of rebuilds, on the PostgreSQL server: `ledger projections status|rebuild`
 * as a child process while the server keeps running in this one, and a projection whose code
 * version changed: reported needs_rebuild (status, /readyz 503 naming it, its queries refused),
 * never rebuilt silently, built by the CLI (the running server then follows the new tables) or on
 * start when asked (REBUILD_PROJECTIONS / --rebuild).
 */

const postgresUrl = inject('postgresUrl');

describe('ledger projections (CLI) and code version changes', () => {
  it('refuses unknown projections to rebuild at start, naming the variable or the flag (exit 2)', async () => {
    const byEnv = startMain({ REBUILD_PROJECTIONS: 'billing,bilingg', DATA_DIR: '/nonexistent/never-opened' });
    expect(await byEnv.exit).toBe(2);
    expect(byEnv.stderr()).toContain('REBUILD_PROJECTIONS names no projection \\"bilingg\\"; projections: catalogue, grid, billing, settlement, market');
    const byFlag = startMain({ DATA_DIR: '/nonexistent/never-opened' }, ['--rebuild', 'nope']);
    expect(await byFlag.exit).toBe(2);
    expect(byFlag.stderr()).toContain('--rebuild names no projection \\"nope\\"');
  }, 60_000);

  it('on PGlite: refuses to open DATA_DIR while the server has it (one process only), and rebuilds once it is stopped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'v2g-rebuild-cli-'));
    try {
      const server = await openLedger({ databaseUrl: null, eventStoreUrl: null, dbSchema: 'v2g', dataDir }, createLogger('silent'));
      try {
        await server.start();
        await server.store.append('site-cli', [{ type: 'SiteRegistered', data: { siteId: 'cli', name: 'CLI', importLimitW: '1000', exportLimitW: '0' } }], {
          expectedVersion: 'no_stream',
          commandId: randomUUID(),
          actor: 'test',
        });
        const refused = await runLedgerCli(['projections', 'rebuild', 'catalogue', '--yes'], { DATA_DIR: dataDir });
        expect(refused.code).toBe(3);
        expect(refused.stderr).toContain(`is in use by the ledger server (pnpm start) (pid ${process.pid}`);
        expect(refused.stderr).toContain('Stop the server first, or ask the running server');
        expect(refused.stderr).toContain('rebuildProjection');
      } finally {
        await server.close();
      }
      const rebuilt = await runLedgerCli(['projections', 'rebuild', 'catalogue', '--yes'], { DATA_DIR: dataDir });
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      expect(rebuilt.stdout).toContain('ledger projections rebuild: catalogue v1 switched at position');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  describe.skipIf(postgresUrl === null)('on the PostgreSQL server', () => {
    let sql: SqlClient;
    const schema = `test_rebuild_cli_${process.pid}_${randomUUID().slice(0, 8)}`;
    const env = () => ({ DATABASE_URL: postgresUrl!, DB_SCHEMA: schema });
    let last = 0n;

    const open = async (rebuildProjections: string[] = []) => {
      const ledger = await openLedger(
        { databaseUrl: postgresUrl!, eventStoreUrl: null, dbSchema: schema, dataDir: undefined, bootstrapOperatorKey: parseApiKeyToken(TEST_OPERATOR_KEY), rebuildProjections },
        createLogger('silent'),
      );
      await ledger.start();
      const server: Server = buildApp({ ledger, logger: createLogger('silent'), graphiql: false, readyMaxLag: 1_000_000n }).listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return {
        ledger,
        url,
        close: async () => {
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
          await ledger.close();
        },
      };
    };
    const stateOf = async (ledger: Ledger, name: string) => (await ledger.projections.status()).find((p) => p.name === name)!;
    const until = async (check: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    /** What an older code version would have left: billing's checkpoint and tables of version 0. */
    const downgradeBilling = async () => {
      await sql.transaction(async (tx) => {
        await tx.query(`UPDATE "${schema}".projection_checkpoints SET version = 0 WHERE name = 'billing'`);
        // Its tables and their indexes, as version 0 named them.
        const { rows } = await tx.query<{ relname: string; relkind: string }>(
          `SELECT c.relname, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') AND c.relname LIKE 'billing\\_v${billingProjection.version}\\_%'`,
          [schema],
        );
        for (const { relname, relkind } of rows) {
          await tx.query(
            `ALTER ${relkind === 'i' ? 'INDEX' : 'TABLE'} "${schema}"."${relname}" RENAME TO "${relname.replace(`billing_v${billingProjection.version}_`, 'billing_v0_')}"`,
          );
        }
      });
    };
    const billingTables = async (version: number) =>
      (
        await sql.query<{ relname: string }>(
          `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE $2`,
          [schema, `billing\\_v${version}\\_%`],
        )
      ).rows.length;

    beforeAll(async () => {
      sql = await connectPostgres(postgresUrl!);
      const first = await open();
      try {
        const fill = await fillMixed({ store: first.ledger.store, readings: 600, sessions: 6, loadsPerSite: 1, orders: 200, chunk: 20 });
        last = fill.lastPosition;
        await until(async () => (await first.ledger.projections.status()).every((p) => p.checkpoint >= last), `projections at ${last}`);
      } finally {
        await first.close();
      }
    }, 180_000);
    afterAll(async () => {
      await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql?.close();
    });

    it('status and a rebuild from the CLI while the server runs: exit 0, the server keeps serving and follows the switch', async () => {
      const server = await open();
      try {
        const status = await runLedgerCli(['projections', 'status', '--json'], env());
        expect(status.code, status.stderr).toBe(0);
        const report = JSON.parse(status.stdout) as { projections: { name: string; state: string; lag: string; lagSeconds: number; version: number }[] };
        expect(report.projections.map((p) => p.name)).toEqual(['catalogue', 'grid', 'billing', 'settlement', 'market']);
        expect(report.projections.every((p) => typeof p.lagSeconds === 'number')).toBe(true);

        expect(await runLedgerCli(['projections', 'rebuild', 'nope', '--yes'], env())).toMatchObject({ code: 2, stderr: expect.stringContaining('no projection "nope"') });
        expect(await runLedgerCli(['projections', 'rebuild', 'billing'], env())).toMatchObject({ code: 2, stderr: expect.stringContaining('add --yes') });
        expect(await runLedgerCli(['projections', 'frobnicate'], env())).toMatchObject({ code: 2 });

        const rebuild = await runLedgerCli(['projections', 'rebuild', 'billing', '--yes', '--batch-size', '300'], env());
        expect(rebuild.code, rebuild.stderr).toBe(0);
        expect(rebuild.stdout).toMatch(
          new RegExp(`^ledger projections rebuild: billing v${billingProjection.version} switched at position \\d+ \\([\\d,]+ events, [\\d,]+ events/s`),
        );
        const billing = await stateOf(server.ledger, 'billing');
        expect(billing).toMatchObject({ state: 'live', failure: null, rebuild: { state: 'switched', requestedBy: expect.stringMatching(/^cli:/) } });
        expect(billing.checkpoint).toBeGreaterThanOrEqual(last);
        const table = await runLedgerCli(['projections', 'status'], env());
        expect(table.code).toBe(0);
        expect(table.stdout).toMatch(new RegExp(`billing\\s+${billingProjection.version}\\s+live\\s+[\\d,]+\\s+\\d+\\s+[\\d.]+\\s+switched [\\d,]+/[\\d,]+ \\(100%\\)`));
      } finally {
        await server.close();
      }
    }, 180_000);

    it('a changed code version is reported needs_rebuild and never rebuilt silently; the CLI builds it and the running server follows', async () => {
      await downgradeBilling();
      const server = await open();
      try {
        expect(await stateOf(server.ledger, 'billing')).toMatchObject({ state: 'needs_rebuild', version: billingProjection.version, tablesVersion: 0, checkpoint: 0n });
        const ready = await fetch(`${server.url}/readyz`);
        expect(ready.status).toBe(503);
        const body = (await ready.json()) as { reasons: string[]; projections: { name: string; state: string; tablesVersion: number | null }[] };
        expect(body.reasons.join('\n')).toContain(`projection billing needs a rebuild: the database holds version 0, the code is version ${billingProjection.version}`);
        expect(body.projections.find((p) => p.name === 'billing')).toMatchObject({ state: 'needs_rebuild', tablesVersion: 0 });
        // Its queries are refused with a code; the others serve.
        const refused = await postGraphQL<{ sessionCost: unknown }>(server.url, '{ sessionCost(sessionId: "bench-1") { __typename } }');
        expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'PROJECTION_NEEDS_REBUILD' });
        const served = await postGraphQL<{ streams: { totalCount: string } }>(server.url, '{ streams(first: 1) { totalCount } }');
        expect(served.body.errors).toBeUndefined();
        expect(await billingTables(billingProjection.version)).toBe(0); // no silent build
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect((await stateOf(server.ledger, 'billing')).state).toBe('needs_rebuild');

        const rebuild = await runLedgerCli(['projections', 'rebuild', 'billing', '--yes', '--quiet'], env());
        expect(rebuild.code, rebuild.stderr).toBe(0);
        // The running server notices the switch and follows the new tables.
        await until(async () => (await stateOf(server.ledger, 'billing')).state === 'live', 'billing live after the CLI rebuild');
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
        const answered = await postGraphQL<{ sessionCost: { __typename: string } | null }>(server.url, '{ sessionCost(sessionId: "bench-1") { __typename } }');
        expect(answered.body.errors).toBeUndefined();
        expect(await billingTables(0)).toBe(0); // version 0 dropped
        expect(await billingTables(billingProjection.version)).toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    }, 180_000);

    it('REBUILD_PROJECTIONS (or --rebuild) builds it on start, in the background', async () => {
      await downgradeBilling();
      const server = await open(['billing']);
      try {
        await until(async () => {
          const billing = await stateOf(server.ledger, 'billing');
          return billing.state === 'live' && billing.rebuild?.state === 'switched' && billing.rebuild.requestedBy === 'start';
        }, 'billing rebuilt on start');
        expect(await billingTables(0)).toBe(0);
      } finally {
        await server.close();
      }
    }, 180_000);
  });
});
