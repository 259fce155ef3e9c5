import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CommandIdReused, EventStoreUnavailable, InvalidAppend, StreamVersionConflict } from '../src/errors.ts';
import { verifyChain } from '../src/hash-chain.ts';
import { APPENDER_LOCK, migrate, MIGRATIONS } from '../src/postgres/migrations.ts';
import { connectPostgres } from '../src/postgres/pg-client.ts';
import { beginHeldAppend, openPostgresStore, type PostgresEventStore } from '../src/postgres/postgres-store.ts';
import type { SqlClient } from '../src/postgres/sql-client.ts';
import { sleep } from '../src/sleep.ts';
import { runEventStoreContract } from './contract-suite.ts';
import { describeUpgradeFromVersion1 } from './upgrade.scenarios.ts';
import { appendOptionsFor, counted } from './fixtures/appends.ts';
import { testRegistry } from './fixtures/registry.ts';
import { withTimeout } from './with-timeout.ts';

const url = inject('postgresUrl');
const run = `${process.pid}_${randomUUID().slice(0, 8)}`;
/** Every schema this file creates, dropped in afterAll. */
const schemas: string[] = [];
const freshSchema = (purpose: string) => {
  const schema = `test_${purpose}_${run}`;
  schemas.push(schema);
  return schema;
};

const opts = appendOptionsFor('postgres-int');

describe.skipIf(url === null)('PostgreSQL server store', () => {
  let sql: SqlClient;

  beforeAll(async () => {
    sql = await connectPostgres(url!, { applicationName: `v2g-test-${run}`, maxConnections: 30 });
  });
  afterAll(async () => {
    for (const schema of schemas) await sql?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql?.close();
  });

  const contractSchema = freshSchema('contract');
  runEventStoreContract('PostgreSQL server', {
    create: (registry, clock) => openPostgresStore({ sql, schema: contractSchema, registry, clock }),
    beginHeldAppend: (store, streamId, events, options) => beginHeldAppend(store as PostgresEventStore, streamId, events, options),
  });

  describeUpgradeFromVersion1('PostgreSQL server', {
    sql: () => sql,
    schema: () => freshSchema('upgrade'),
    beginHeldAppend: (store, streamId, events, options) => beginHeldAppend(store, streamId, events, options),
  });

  describe('readers and the other transactions on the server', () => {
    let store: PostgresEventStore;
    let schema: string;
    /** A connection to another database on the same server, holding a transaction with an xid open. */
    let foreign: pg.Client;
    let foreignXid: bigint;
    beforeAll(async () => {
      schema = freshSchema('foreign');
      store = await openPostgresStore({ sql, schema, registry: testRegistry() });
      const otherUrl = await otherDatabase(sql, url!);
      foreign = new pg.Client({ connectionString: otherUrl, application_name: `v2g-test-${run}:foreign` });
      await foreign.connect();
      await foreign.query('BEGIN');
      // Held for as long as this block runs (a minute and more would change nothing).
      foreignXid = BigInt((await foreign.query<{ xid: string }>('SELECT txid_current()::text AS xid')).rows[0]!.xid);
    });
    afterAll(async () => {
      await foreign?.query('ROLLBACK').catch(() => {});
      await foreign?.end().catch(() => {});
      await store?.close();
    });

    it('sees appends within a second while a transaction in another database stays open', async () => {
      // The open transaction does hold the server-wide horizon back (what readers used to wait for).
      const { rows } = await sql.query<{ xmin: string }>(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`);
      expect(BigInt(rows[0]!.xmin)).toBeLessThanOrEqual(foreignXid);

      const category = `foreign${randomUUID().replaceAll('-', '')}`;
      const seen: bigint[] = [];
      const controller = new AbortController();
      let wake: () => void = () => {};
      const subscribing = (async () => {
        for await (const event of store.subscribe({ category, signal: controller.signal })) {
          seen.push(event.globalPosition);
          wake();
        }
      })();
      try {
        for (let i = 0; i < 10; i++) {
          const appended = await store.append(`${category}-${i % 3}`, [counted(i), counted(i)], opts('any'));
          const started = Date.now();
          await withTimeout(
            new Promise<void>((resolve) => {
              wake = () => seen.includes(appended.lastPosition!) && resolve();
              wake();
            }),
            1000,
            `append ${i} (position ${appended.lastPosition}) not delivered within 1 s; saw ${seen.length} events`,
          );
          expect(Date.now() - started).toBeLessThan(1000);
          expect(await store.headPosition()).toBeGreaterThanOrEqual(appended.lastPosition!);
        }
      } finally {
        controller.abort();
        await subscribing;
      }
      expect(seen).toHaveLength(20);
    });

    it('does not wait for an unrelated transaction in its own database, nor for appenders of another schema', async () => {
      const otherStore = await openPostgresStore({ sql, schema: freshSchema('neighbour'), registry: testRegistry() });
      const held = await beginHeldAppend(otherStore, `neighbour-${randomUUID()}`, [counted(1)], opts('no_stream'));
      const local = await sql.transaction(async (tx) => {
        await tx.query('SELECT txid_current()');
        const appended = await store.append(`local-${randomUUID()}`, [counted(1)], opts('no_stream'));
        // Both transactions are still open: this store's readers need neither to end.
        return { appended, head: await store.headPosition(), log: await store.readAll({ after: appended.lastPosition! - 1n }) };
      });
      try {
        expect(local.head).toBeGreaterThanOrEqual(local.appended.lastPosition!);
        expect(local.log.map((e) => e.globalPosition)).toEqual([local.appended.lastPosition]);
      } finally {
        await held.commit();
        await otherStore.close();
      }
    });

    it('still holds back its own late commit while the foreign transaction is open', async () => {
      const category = `latefx${randomUUID().replaceAll('-', '')}`;
      const head = await store.headPosition();
      const held = await beginHeldAppend(store, `${category}-a`, [counted(1)], opts('no_stream'));
      const b = await store.append(`${category}-b`, [counted(2)], opts('no_stream'));
      try {
        expect(await store.readCategory(category, { after: head })).toEqual([]);
        expect(await store.headPosition()).toBeLessThan(held.result.firstPosition!);
        expect(await store.committedPosition()).toBeGreaterThanOrEqual(b.lastPosition!);
      } finally {
        await held.commit();
      }
      const deadline = Date.now() + 1000;
      while ((await store.headPosition()) < b.lastPosition! && Date.now() < deadline) await sleep(10);
      expect((await store.readCategory(category, { after: head })).map((e) => e.globalPosition)).toEqual([held.result.firstPosition, b.firstPosition]);
    });

    it('refuses an append that is not the first write of its transaction, and writes nothing', async () => {
      const streamId = `second-${randomUUID()}`;
      const events = JSON.stringify([{ stream_version: 1, type: 'Counted', schema_version: 1, data: { n: 1, amountWh: '1' }, metadata: {}, hash: 'h' }]);
      const error = await sql
        .transaction(async (tx) => {
          await tx.query('SELECT pg_current_xact_id()');
          await tx.query(`SELECT * FROM "${schema}".write_append($1, 'second', $2, 1, 'h', $3::jsonb, NULL)`, [streamId, randomUUID(), events]);
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '55000' });
      expect((error as Error).message).toContain('first write of its transaction');
      expect(await store.streamVersion(streamId)).toBe(0);
      const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".events WHERE stream_id = $1`, [streamId]);
      expect(rows[0]!.n).toBe(0);
    });

    it('holds the appender lock from the first write to the end of the transaction', async () => {
      const held = await beginHeldAppend(store, `lock-${randomUUID()}`, [counted(1)], opts('no_stream'));
      const holders = () =>
        sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = 'ShareLock'
             AND objid = $2 AND objsubid = 2 AND classid::bigint = (hashtext($1)::bigint & 4294967295)`,
          [schema, APPENDER_LOCK],
        );
      try {
        expect((await holders()).rows[0]!.n).toBe(1);
      } finally {
        await held.commit();
      }
      expect((await holders()).rows[0]!.n).toBe(0);
    });
  });

  describe('adapter', () => {
    let store: PostgresEventStore;
    let schema: string;
    beforeAll(async () => {
      schema = freshSchema('adapter');
      store = await openPostgresStore({ sql, schema, registry: testRegistry() });
    });
    afterAll(async () => {
      await store?.close();
    });

    it('migrates idempotently, also when two processes start at once', async () => {
      expect(await migrate(sql, schema)).toEqual([]);
      const racing = freshSchema('race');
      const other = await connectPostgres(url!);
      try {
        const applied = await Promise.all([migrate(sql, racing), migrate(other, racing), migrate(sql, racing)]);
        expect(applied.flat().sort((x, y) => x - y)).toEqual(MIGRATIONS.map((m) => m.version));
      } finally {
        await other.close();
      }
      const { rows } = await sql.query<{ version: number }>(`SELECT version FROM "${racing}".schema_migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    });

    it('refuses UPDATE, DELETE and TRUNCATE of events; an edit made anyway breaks the hash chain', async () => {
      const streamId = `tamper-${randomUUID()}`;
      await store.append(streamId, [counted(1), counted(2)], opts('no_stream'));
      for (const statement of [`UPDATE "${schema}".events SET data = '{"n":2,"amountWh":"999"}' WHERE stream_id = $1`, `DELETE FROM "${schema}".events WHERE stream_id = $1`]) {
        await expect(sql.query(statement, [streamId])).rejects.toMatchObject({ code: '42501' });
      }
      await expect(sql.query(`TRUNCATE "${schema}".events CASCADE`)).rejects.toMatchObject({ code: '42501' });

      // A superuser can switch triggers off: the chain still shows the edit.
      await sql.transaction(async (tx) => {
        await tx.query(`SET LOCAL session_replication_role = replica`);
        await tx.query(`UPDATE "${schema}".events SET data = '{"n":2,"amountWh":"999"}' WHERE stream_id = $1 AND stream_version = 2`, [streamId]);
      });
      expect(verifyChain(streamId, await store.readStream(streamId))).toMatchObject({ ok: false, brokenAtVersion: 2 });
    });

    it('keeps positions beyond 2^53 exact', async () => {
      const big = freshSchema('bigpos');
      const bigStore = await openPostgresStore({ sql, schema: big, registry: testRegistry() });
      await sql.query(`ALTER TABLE "${big}".events ALTER COLUMN global_position RESTART WITH 9007199254740993`);
      const result = await bigStore.append(`big-${randomUUID()}`, [counted(1), counted(2)], opts('no_stream'));
      expect(result.firstPosition).toBe(9007199254740993n);
      expect(result.lastPosition).toBe(9007199254740994n);
      // Readers wait for every older transaction on the server to end (tests in other schemas run
      // beside this one): wait until the head shows the append, as a subscriber would.
      const deadline = Date.now() + 10_000;
      while ((await bigStore.headPosition()) < result.lastPosition! && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const events = await bigStore.readAll({ after: 9007199254740992n });
      expect(events.map((e) => e.globalPosition)).toEqual([9007199254740993n, 9007199254740994n]);
      expect(await bigStore.headPosition()).toBe(9007199254740994n);
      expect(await bigStore.commandResult(result.commandId)).toMatchObject({ firstPosition: 9007199254740993n });
      await bigStore.close();
    });

    it('turns a unique violation into StreamVersionConflict and leaves no advisory lock behind', async () => {
      const streamId = `bypass-${randomUUID()}`;
      // A row written past the store (no streams row): the store's next append collides with it
      // inside write_append, while the session-level append lock is held.
      await sql.query(
        `INSERT INTO "${schema}".events (stream_id, stream_version, category, type, schema_version, data, metadata, hash)
         VALUES ($1, 1, 'bypass', 'Counted', 1, '{}', '{}', 'x')`,
        [streamId],
      );
      const error = await store.append(streamId, [counted(1)], opts('any')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamVersionConflict);
      const { rows } = await sql.query<{ held: string }>(
        `SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND objid = 1
           AND classid::bigint = (hashtext($1)::bigint & 4294967295)`,
        [schema],
      );
      expect(rows[0]!.held).toBe(0);
      // Every pooled connection can still append (a leaked session lock would block them all).
      await Promise.all(Array.from({ length: 30 }, () => store.append(`after-${randomUUID()}`, [counted(1)], opts('no_stream'))));
    });

    it('refuses one of two racing appends that reuse a commandId on different streams', async () => {
      for (let i = 0; i < 20; i++) {
        const commandId = randomUUID();
        const streams = [`race-${randomUUID()}`, `race-${randomUUID()}`];
        const outcomes = await Promise.allSettled(streams.map((streamId) => store.append(streamId, [counted(1)], opts('any', { commandId }))));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const refused = outcomes.find((o) => o.status === 'rejected')!;
        expect(refused.reason).toBeInstanceOf(CommandIdReused);
        const versions = await Promise.all(streams.map((streamId) => store.streamVersion(streamId)));
        expect(versions.sort()).toEqual([0, 1]);
      }
    });

    it('refuses data that jsonb cannot store before touching the database', async () => {
      const streamId = `nul-${randomUUID()}`;
      for (const name of ['a\u0000b', 'lone \ud800 surrogate']) {
        const options = opts('any');
        const error = await store.append(streamId, [{ type: 'Renamed', data: { displayName: name } }], options).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidAppend);
        expect((error as Error).message).toContain('events[0].data');
        expect(await store.commandResult(options.commandId)).toBeNull();
      }
      // A surrogate pair (an emoji) is fine.
      await store.append(streamId, [{ type: 'Renamed', data: { displayName: 'depot \u{1F50C}' } }], opts('any'));
      expect((await store.readStream(streamId))[0]!.data).toEqual({ displayName: 'depot \u{1F50C}' });
    });

    it('names the host, never the password, when the server cannot be reached', async () => {
      const error = await connectPostgres('postgres://ledger:s3cret-pw@127.0.0.1:1/nowhere', { connectionTimeoutMs: 2000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailable);
      expect((error as Error).message).toContain('127.0.0.1:1/nowhere');
      expect((error as Error).message).not.toContain('s3cret-pw');
    });

    it('delivers every event of 20 concurrent writers exactly once, in position order', async () => {
      const category = `many${randomUUID().replaceAll('-', '')}`;
      const streams = Array.from({ length: 8 }, () => `${category}-${randomUUID()}`);
      const writers = 20;
      const appendsPerWriter = 50;
      const committed = new Set<bigint>();
      let conflicts = 0;

      const seen: bigint[] = [];
      const controller = new AbortController();
      const subscribing = (async () => {
        for await (const event of store.subscribe({ category, signal: controller.signal, batchSize: 37 })) {
          seen.push(event.globalPosition);
          if (seen.length === writers * appendsPerWriter * 2) controller.abort();
        }
      })();

      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < appendsPerWriter; i++) {
            const streamId = streams[Math.floor(Math.random() * streams.length)]!;
            const commandId = randomUUID();
            // Read, decide, append with the version read: writers of one stream collide and retry.
            for (;;) {
              const version = await store.streamVersion(streamId);
              try {
                const result = await store.append(streamId, [counted(w * 1000 + i), counted(w * 1000 + i)], opts(version, { commandId }));
                for (let p = result.firstPosition!; p <= result.lastPosition!; p++) committed.add(p);
                break;
              } catch (error) {
                if (!(error instanceof StreamVersionConflict)) throw error;
                conflicts += 1;
              }
            }
          }
        }),
      );
      await withTimeout(subscribing, 20_000, `saw ${seen.length} of ${committed.size}`);
      expect(committed.size).toBe(writers * appendsPerWriter * 2);
      expect(seen).toHaveLength(committed.size);
      expect(new Set(seen)).toEqual(committed);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      for (const streamId of streams) expect(verifyChain(streamId, await store.readStream(streamId)).ok).toBe(true);
      expect(conflicts).toBeGreaterThan(0);
    });

    it('keeps a subscription live across a dropped LISTEN connection', async () => {
      const category = `relisten${randomUUID().replaceAll('-', '')}`;
      const streamId = `${category}-1`;
      const seen: number[] = [];
      const controller = new AbortController();
      const subscribing = (async () => {
        for await (const event of store.subscribe({ category, signal: controller.signal })) {
          seen.push(event.streamVersion);
          if (seen.length === 2) controller.abort();
        }
      })();
      await store.append(streamId, [counted(1)], opts('no_stream'));
      await waitFor(() => seen.length === 1, 5000);
      const { rows } = await sql.query<{ ended: boolean }>(`SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1`, [
        `v2g-test-${run}:listen`,
      ]);
      expect(rows.map((r) => r.ended)).toEqual([true]);
      await store.append(streamId, [counted(2)], opts(1));
      await withTimeout(subscribing, 5000, 'event after the LISTEN connection dropped');
      expect(seen).toEqual([1, 2]);
      await waitFor(async () => {
        const listening = await sql.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'`, [`v2g-test-${run}:listen`]);
        return listening.rows.length === 1;
      }, 5000);
    });

    it('ends its subscriptions on close and leaves the SqlClient to its owner', async () => {
      const own = await openPostgresStore({ sql, schema, registry: testRegistry() });
      const reading = (async () => {
        for await (const _ of own.subscribe({ category: `closing${randomUUID().replaceAll('-', '')}` })) {
          // nothing arrives
        }
      })();
      await sleep(100);
      await own.close();
      await own.close();
      await withTimeout(reading, 2000, 'subscription did not end on close');
      await expect(own.readAll()).rejects.toBeInstanceOf(EventStoreUnavailable);
      expect((await sql.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });
});

/**
 * Another database on the same server as `url` (`<database>b`), created when missing: what a
 * shared server's other applications look like to this store.
 */
async function otherDatabase(sql: SqlClient, url: string): Promise<string> {
  const parsed = new URL(url);
  const name = `${decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'}b`;
  const { rows } = await sql.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
  if (rows.length === 0) {
    await sql.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch((error: unknown) => {
      // Created meanwhile by a test beside this one.
      if ((error as { code?: unknown }).code !== '42P04' && (error as { code?: unknown }).code !== '23505') throw error;
    });
  }
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(25);
  }
}
