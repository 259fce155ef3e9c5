import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../src/hash-chain.ts';
import { migrate, MIGRATIONS } from '../src/postgres/migrations.ts';
import { openPostgresStore, PostgresEventStore, type HeldAppend } from '../src/postgres/postgres-store.ts';
import type { SqlClient } from '../src/postgres/sql-client.ts';
import type { AppendOptions, NewEvent } from '../src/types.ts';
import { testRegistry } from './fixtures/registry.ts';

export type UpgradeFactory = {
  sql: () => SqlClient;
  /** A schema no other test uses (dropped by the caller). */
  schema: () => string;
  /** Server only: an append held open on a connection of its own. */
  beginHeldAppend?: (store: PostgresEventStore, streamId: string, events: readonly NewEvent[], options: AppendOptions) => Promise<HeldAppend>;
};

const counted = (n: number): NewEvent => ({ type: 'Counted', data: { n, amountWh: `${n}` } });
const opts = (expectedVersion: AppendOptions['expectedVersion']): AppendOptions => ({ expectedVersion, commandId: randomUUID(), actor: 'upgrade-test' });

/**
 * A database as the release before the readers' bound left it (migrations 1 and 2, with events
 * written by its append functions) is brought up to the newest migration by openPostgresStore, and
 * goes on as before. (Commands recorded on migration 1 alone: see the PGlite store's fingerprint upgrade.)
 */
export function describeUpgradeFromVersion1(name: string, factory: UpgradeFactory): void {
  describe(`upgrade from migration 2: ${name}`, () => {
    it('migrates a log written on migration 2 and keeps reading and appending it', async () => {
      const sql = factory.sql();
      const schema = factory.schema();
      expect(await migrate(sql, schema, { throughVersion: 2 })).toEqual([1, 2]);
      // That release's append (lock_stream, write_append of migration 2); its readers are gone with it.
      const old = new PostgresEventStore({ sql, schema, registry: testRegistry() });
      const streamId = `upgraded-${randomUUID()}`;
      await old.append(streamId, [counted(1), counted(2)], opts('no_stream'));
      await old.append(`other-${randomUUID()}`, [counted(3)], opts('no_stream'));
      await old.close();
      await expect(sql.query(`SELECT "${schema}".readable_head()`)).rejects.toMatchObject({ code: '42883' });

      const store = await openPostgresStore({ sql, schema, registry: testRegistry() });
      try {
        const { rows } = await sql.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
        expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
        expect(await migrate(sql, schema)).toEqual([]);

        await store.append(streamId, [counted(4)], opts(2));
        const deadline = Date.now() + 10_000;
        while ((await store.headPosition()) < 4n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(await store.headPosition()).toBe(4n);
        expect((await store.readAll()).map((e) => [e.globalPosition, e.streamId === streamId])).toEqual([
          [1n, true],
          [2n, true],
          [3n, false],
          [4n, true],
        ]);
        const events = await store.readStream(streamId);
        expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
        expect(verifyChain(streamId, events).ok).toBe(true);
        expect((await store.readCategory('upgraded')).map((e) => e.globalPosition)).toEqual([1n, 2n, 4n]);

        if (factory.beginHeldAppend) {
          // The upgraded append holds the appender lock: its late commit is held back as before.
          const held = await factory.beginHeldAppend(store, `upgraded-${randomUUID()}`, [counted(5)], opts('no_stream'));
          const later = await store.append(`upgraded-${randomUUID()}`, [counted(6)], opts('no_stream'));
          try {
            expect(await store.headPosition()).toBe(4n);
            expect(await store.committedPosition()).toBe(later.lastPosition);
          } finally {
            await held.commit();
          }
          expect(await store.headPosition()).toBe(later.lastPosition);
        }
      } finally {
        await store.close();
      }
    });
  });
}
