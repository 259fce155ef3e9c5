import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStoreUnavailable, StreamVersionConflict } from '../src/errors.ts';
import { verifyChain } from '../src/hash-chain.ts';
import { GENESIS_HASH } from '../src/hash-chain.ts';
import { migrate, MIGRATIONS, schemaNames } from '../src/postgres/migrations.ts';
import { openPglite } from '../src/postgres/pglite-client.ts';
import { beginHeldAppend, openPostgresStore, type PostgresEventStore } from '../src/postgres/postgres-store.ts';
import type { SqlClient } from '../src/postgres/sql-client.ts';
import { sleep } from '../src/sleep.ts';
import { runEventStoreContract } from './contract-suite.ts';
import { describeUpgradeFromVersion1 } from './upgrade.scenarios.ts';
import { appendOptionsFor, counted } from './fixtures/appends.ts';
import { testRegistry } from './fixtures/registry.ts';

const opts = appendOptionsFor('pglite-int');

describe('PGlite store', () => {
  // One in-memory instance for the whole file: PGlite takes seconds and hundreds of MB to open.
  let sql: SqlClient;
  beforeAll(async () => {
    sql = await openPglite(undefined);
  });
  afterAll(async () => {
    await sql?.close();
  });

  runEventStoreContract('PGlite (in memory)', {
    create: (registry, clock) => openPostgresStore({ sql, schema: 'contract', registry, clock }),
  });

  describeUpgradeFromVersion1('PGlite (in memory)', { sql: () => sql, schema: () => 'upgrade' });

  describe('adapter', () => {
    let store: PostgresEventStore;
    beforeAll(async () => {
      store = await openPostgresStore({ sql, registry: testRegistry() });
    });
    afterAll(async () => {
      await store?.close();
    });

    it('upgrades a log written before command fingerprints: its commands still answer their retries, new ones record theirs', async () => {
      const schema = 'before_fingerprints';
      const names = schemaNames(schema);
      const [first] = MIGRATIONS;
      await sql.transaction(async (tx) => {
        await tx.query(`CREATE SCHEMA ${names.schema}`);
        await tx.query(`CREATE TABLE ${names.schema}.schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        for (const statement of first!.statements(names)) await tx.query(statement);
        await tx.query(`INSERT INTO ${names.schema}.schema_migrations (version, name) VALUES (1, $1)`, [first!.name]);
      });
      // A command recorded as the code before migration 2 did it: lock_stream, then write_append without a fingerprint.
      const commandId = randomUUID();
      const streamId = `old-${randomUUID()}`;
      await sql.transaction(async (tx) => {
        await tx.query(`SELECT * FROM ${names.schema}.lock_stream($1, $2)`, [streamId, commandId]);
        await tx.query(`SELECT * FROM ${names.schema}.write_append($1, $2, $3, $4, $5, $6::jsonb)`, [streamId, 'old', commandId, 0, GENESIS_HASH, '[]']);
      });
      expect(await migrate(sql, schema)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
      const upgraded = await openPostgresStore({ sql, schema, registry: testRegistry() });
      try {
        const retry = await upgraded.append(streamId, [], opts('any', { commandId, fingerprint: 'sha256:new' }));
        expect(retry).toMatchObject({ duplicate: true, streamId, nextExpectedVersion: 0 });
        expect(retry.fingerprint).toBeUndefined();
        const fresh = randomUUID();
        await upgraded.append(streamId, [counted(1)], opts('any', { commandId: fresh, fingerprint: 'sha256:a' }));
        await expect(upgraded.append(streamId, [counted(2)], opts('any', { commandId: fresh, fingerprint: 'sha256:b' }))).rejects.toMatchObject({
          code: 'COMMAND_ID_REUSED',
          reason: 'payload',
        });
        expect(await upgraded.streamVersion(streamId)).toBe(1);
      } finally {
        await upgraded.close();
      }
    });

    it('finds its events again after the data folder is closed and reopened', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'v2g-pglite-'));
      try {
        const streamId = `reopen-${randomUUID()}`;
        const first = await openPglite(dataDir);
        const before = await openPostgresStore({ sql: first, registry: testRegistry() });
        const appended = await before.append(streamId, [counted(1), counted(2)], opts('no_stream'));
        await before.close();
        await first.close();

        const second = await openPglite(dataDir);
        try {
          const after = await openPostgresStore({ sql: second, registry: testRegistry() });
          const events = await after.readStream(streamId);
          expect(events.map((e) => e.streamVersion)).toEqual([1, 2]);
          expect(verifyChain(streamId, events).ok).toBe(true);
          expect(await after.commandResult(appended.commandId)).toEqual({ ...appended, duplicate: true });
          expect(await after.headPosition()).toBe(appended.lastPosition);
          await after.append(streamId, [counted(3)], opts(2));
          expect(await migrate(second)).toEqual([]);
          await after.close();
        } finally {
          await second.close();
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }, 120_000); // two PGlite opens of a data folder: seconds each, far more on a loaded machine

    it('runs a query issued during a transaction after its COMMIT, never inside it', async () => {
      await sql.query('CREATE TABLE IF NOT EXISTS public.serial_check (n int)');
      const order: string[] = [];
      const inTransaction = sql.transaction(async (tx) => {
        await tx.query('INSERT INTO public.serial_check VALUES (1)');
        order.push('tx: inserted');
        await sleep(100);
        await tx.query('INSERT INTO public.serial_check VALUES (2)');
        order.push('tx: done');
      });
      await sleep(10);
      const outside = sql.query<{ n: number }>('SELECT count(*)::int AS n FROM public.serial_check').then(({ rows }) => {
        order.push(`outside: saw ${rows[0]!.n}`);
      });
      await Promise.all([inTransaction, outside]);
      expect(order).toEqual(['tx: inserted', 'tx: done', 'outside: saw 2']);
    });

    it('rolls back a failed transaction and keeps serving', async () => {
      await sql.query('CREATE TABLE IF NOT EXISTS public.rollback_check (n int)');
      await expect(
        sql.transaction(async (tx) => {
          await tx.query('INSERT INTO public.rollback_check VALUES (1)');
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM public.rollback_check')).rows[0]!.n).toBe(0);
    });

    it('turns a unique violation into StreamVersionConflict and releases the append lock', async () => {
      const streamId = `bypass-${randomUUID()}`;
      await sql.query(
        `INSERT INTO v2g.events (stream_id, stream_version, category, type, schema_version, data, metadata, hash)
         VALUES ($1, 1, 'bypass', 'Counted', 1, '{}', '{}', 'x')`,
        [streamId],
      );
      await expect(store.append(streamId, [counted(1)], opts('any'))).rejects.toBeInstanceOf(StreamVersionConflict);
      const { rows } = await sql.query<{ held: number }>(`SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory'`);
      expect(rows[0]!.held).toBe(0);
    });

    it('refuses UPDATE, DELETE and TRUNCATE of events', async () => {
      const streamId = `tamper-${randomUUID()}`;
      await store.append(streamId, [counted(1)], opts('no_stream'));
      await expect(sql.query(`UPDATE v2g.events SET hash = 'x' WHERE stream_id = $1`, [streamId])).rejects.toMatchObject({ code: '42501' });
      await expect(sql.query(`DELETE FROM v2g.events WHERE stream_id = $1`, [streamId])).rejects.toMatchObject({ code: '42501' });
      await expect(sql.query(`TRUNCATE v2g.events CASCADE`)).rejects.toMatchObject({ code: '42501' });
      expect(await store.streamVersion(streamId)).toBe(1);
    });

    it('keeps positions beyond 2^53 exact', async () => {
      const big = await openPostgresStore({ sql, schema: 'bigpos', registry: testRegistry() });
      await sql.query(`ALTER TABLE bigpos.events ALTER COLUMN global_position RESTART WITH 9007199254740993`);
      const result = await big.append(`big-${randomUUID()}`, [counted(1), counted(2)], opts('no_stream'));
      expect([result.firstPosition, result.lastPosition]).toEqual([9007199254740993n, 9007199254740994n]);
      expect((await big.readAll({ after: 9007199254740992n })).map((e) => e.globalPosition)).toEqual([9007199254740993n, 9007199254740994n]);
      expect(await big.headPosition()).toBe(9007199254740994n);
      await big.close();
    });

    it('has no held-append helper: one connection cannot hold a transaction open beside others', async () => {
      await expect(beginHeldAppend(store, `held-${randomUUID()}`, [counted(1)], opts('any'))).rejects.toThrow(/PGlite/);
    });

    it('closes safely twice and then reports itself unavailable', async () => {
      const own = await openPglite(undefined);
      await Promise.all([own.close(), own.close()]);
      await own.close();
      await expect(own.query('SELECT 1')).rejects.toBeInstanceOf(EventStoreUnavailable);
    });
  });
});
