import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHandler, MODULES, openModules, ProjectionRunner, PROJECTIONS } from '../src/index.ts';

const MODULES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../src/modules');

describe('the composition root (packages/ledger/src/modules/index.ts)', () => {
  it('lists every module folder once, by the folder name, and no module without a folder', () => {
    const folders = readdirSync(MODULES_DIR).filter((name) => statSync(join(MODULES_DIR, name)).isDirectory());
    expect(folders.length).toBeGreaterThanOrEqual(8);
    expect([...MODULES.map((m) => m.name)].sort()).toEqual([...folders].sort());
    for (const folder of folders) expect(readdirSync(join(MODULES_DIR, folder))).toContain('index.ts');
  });

  it('builds every read model of every module, each once, in the order status lists them', () => {
    expect(PROJECTIONS.map((p) => p.name)).toEqual(['catalogue', 'grid', 'billing', 'settlement', 'market']);
    expect(PROJECTIONS).toEqual(MODULES.flatMap((m) => m.projections));
  });

  describe('opened on PGlite', () => {
    let sql: SqlClient;
    let store: EventStore;
    let runner: ProjectionRunner;
    let closing = false;

    beforeAll(async () => {
      sql = await openPglite(undefined);
      store = await openPostgresStore({ sql, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
      runner = new ProjectionRunner({ store, sql, schema: 'public', projections: PROJECTIONS, logger: pino({ level: 'silent' }) });
    });
    afterAll(async () => {
      closing = true;
      await runner?.stop();
      await store?.close();
      await sql?.close();
    });

    it('opens each module under its name, reaches peers when used, and starts and stops every duty', async () => {
      const opened = openModules({
        store,
        sql,
        schema: 'public',
        commands: new CommandHandler(store),
        clock: () => Date.parse('2026-11-27T12:00:00Z'),
        logger: pino({ level: 'silent' }),
        settings: {},
        tables: (projection) => runner.tables(projection),
        projectionStatus: async (name) => (await runner.status()).find((p) => p.name === name),
        closing: () => closing,
      });
      expect(Object.keys(opened.modules).sort()).toEqual(MODULES.map((m) => m.name).sort());
      await runner.start();
      await opened.start();
      // A question through a facade reaches the read model's tables; one through a peer reaches the other module.
      await expect(opened.modules.grid.readModel.countSites({})).resolves.toBe(0n);
      await expect(opened.modules.billing.readModel.accountKnown('nobody')).resolves.toBe(false);
      await expect(opened.modules.billing.service.sessionCost('no-session')).resolves.toBeNull();
      expect(opened.modules.access.apiKeys).toBeDefined();
      expect(opened.modules.evidence.checkpointer).toBeNull();
      await opened.stop();
    });
  });
});
