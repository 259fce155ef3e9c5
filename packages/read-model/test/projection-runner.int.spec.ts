import { randomUUID } from 'node:crypto';
import { openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import pino from 'pino';
import { describeOnEachDatabase, type TestDatabase } from '@v2g/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Projection } from '../src/index.ts';
import { ProjectionRunner } from '../src/projection-runner.ts';
import type { ProjectionStatus } from '../src/projection-status.ts';

const registry = SchemaRegistry.fromDirectory();
const logger = pino({ level: 'silent' });

/** Counts events per stream; the primary key on position makes a doubled event fail loudly. */
function countingProjection(name: string, failOn?: (siteName: string) => boolean): Projection {
  return {
    name,
    version: 1,
    tables: ['seen'],
    async setup(tx, table) {
      await tx.query(`CREATE TABLE IF NOT EXISTS ${table('seen')} (position bigint PRIMARY KEY, stream_id text NOT NULL)`);
    },
    async apply(tx, event, table) {
      const siteName = (event.data as { name?: string }).name ?? '';
      if (failOn?.(siteName)) throw new Error(`cannot project ${siteName}`);
      await tx.query(`INSERT INTO ${table('seen')} (position, stream_id) VALUES ($1, $2)`, [event.globalPosition.toString(), event.streamId]);
    },
  };
}

/**
 * The same, with a batch hook: one multi-row INSERT per batch. `calls` counts what the runner used;
 * the hook refuses a batch holding the poison, so the runner must fall back to event by event.
 */
function batchingProjection(name: string, failOn: (siteName: string) => boolean, calls: { batches: number; events: number }): Projection {
  const plain = countingProjection(name, failOn);
  return {
    ...plain,
    async apply(tx, event, table) {
      calls.events += 1;
      await plain.apply(tx, event, table);
    },
    async applyBatch(tx, events, table) {
      calls.batches += 1;
      if (events.some((event) => failOn((event.data as { name?: string }).name ?? ''))) throw new Error('batch refused');
      await tx.query(`INSERT INTO ${table('seen')} (position, stream_id) SELECT * FROM unnest($1::bigint[], $2::text[])`, [
        events.map((event) => event.globalPosition.toString()),
        events.map((event) => event.streamId),
      ]);
    },
  };
}

function runnerSuite(label: string, open: () => Promise<TestDatabase>) {
  describe(`ProjectionRunner on ${label}`, () => {
    let sql: SqlClient;
    let schema: string;
    let store: EventStore;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ sql, schema, cleanup } = await open());
      store = await openPostgresStore({ sql, schema, registry, pollMs: 100 });
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    const register = (siteId: string, name = `Site ${siteId}`) =>
      store.append(`site-${siteId}`, [{ type: 'SiteRegistered', data: { siteId, name, importLimitW: '1000', exportLimitW: '0' } }], {
        expectedVersion: 'no_stream',
        commandId: randomUUID(),
        actor: 'test',
      });

    const runner = (...projections: Projection[]) => new ProjectionRunner({ store, sql, schema, projections, logger, batchSize: 7 });

    async function until(r: ProjectionRunner, name: string, check: (s: ProjectionStatus) => boolean): Promise<ProjectionStatus> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const status = (await r.status()).find((s) => s.name === name)!;
        if (check(status)) return status;
        if (Date.now() > deadline) throw new Error(`projection ${name} never reached the state: ${JSON.stringify(status, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('catches up, goes live, and commits its checkpoint with its rows', async () => {
      const name = `follow_${randomUUID().slice(0, 8)}`;
      let last = 0n;
      for (let i = 0; i < 15; i++) last = (await register(randomUUID())).lastPosition!;
      const r = runner(countingProjection(name));
      await r.start();
      // Wait for positions we appended, not headPosition(): a concurrent test's open transaction
      // may hold the readable head below what has committed.
      const reached = (position: bigint) => (s: ProjectionStatus) => s.checkpoint >= position;
      await until(r, name, (s) => reached(last)(s) && s.state === 'live');
      for (let i = 0; i < 5; i++) last = (await register(randomUUID())).lastPosition!;
      const { checkpoint } = await until(r, name, reached(last));
      const table = r.tables(countingProjection(name));
      const { rows } = await sql.query<{ p: string }>(`SELECT position::text AS p FROM ${table('seen')} ORDER BY position`);
      const expected = (await store.readAll()).filter((e) => e.globalPosition <= checkpoint).map((e) => e.globalPosition.toString());
      expect(rows.map((row) => row.p)).toEqual(expected);
      await r.stop();
      expect((await r.status())[0]!.state).toBe('stopped');
    });

    it('stops at a failing event with its position and error, applies what came before, skips nothing', async () => {
      const name = `failing_${randomUUID().slice(0, 8)}`;
      const poison = `poison ${randomUUID()}`;
      await register(randomUUID());
      await register(randomUUID());
      const bad = await register(randomUUID(), poison);
      const last = await register(randomUUID());
      const r = runner(countingProjection(name, (n) => n === poison));
      await r.start();
      const status = await until(r, name, (s) => s.state === 'failed');
      expect(status.failure).toMatchObject({ position: bad.firstPosition, eventType: 'SiteRegistered', message: `cannot project ${poison}` });
      expect(status.checkpoint).toBe(bad.firstPosition! - 1n);
      const table = r.tables(countingProjection(name));
      const { rows } = await sql.query<{ n: string; max: string }>(`SELECT count(*)::text AS n, max(position)::text AS max FROM ${table('seen')}`);
      expect(BigInt(rows[0]!.max)).toBe(bad.firstPosition! - 1n);
      expect(BigInt(rows[0]!.n)).toBe(BigInt((await store.readAll({ after: 0n })).filter((e) => e.globalPosition < bad.firstPosition!).length));
      await r.stop();

      // Fixed code, same projection version: it resumes at the failing event and clears the failure.
      const fixed = runner(countingProjection(name));
      await fixed.start();
      // Our last append, not headPosition(): on the server the head can lag behind it for a moment.
      const head = last.lastPosition!;
      const recovered = await until(fixed, name, (s) => s.checkpoint >= head);
      expect(recovered.failure).toBeNull();
      const after = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table('seen')}`);
      expect(BigInt(after.rows[0]!.n)).toBe(BigInt((await store.readAll()).length));
      await fixed.stop();
    });

    it('applies whole batches through applyBatch, and falls back to event by event to report a failing event', async () => {
      const name = `batching_${randomUUID().slice(0, 8)}`;
      const poison = `poison ${randomUUID()}`;
      const calls = { batches: 0, events: 0 };
      let last = 0n;
      for (let i = 0; i < 20; i++) last = (await register(randomUUID())).lastPosition!;
      const r = runner(batchingProjection(name, (n) => n === poison, calls));
      await r.start();
      await until(r, name, (s) => s.checkpoint >= last);
      expect(calls.batches).toBeGreaterThan(0);
      expect(calls.events).toBe(0);
      const table = r.tables(countingProjection(name));
      const count = async () => BigInt((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table('seen')}`)).rows[0]!.n);
      const { checkpoint } = (await r.status())[0]!;
      expect(await count()).toBe(BigInt((await store.readAll()).filter((e) => e.globalPosition <= checkpoint).length));

      // A poisoned batch: rolled back, then event by event up to the poison, which is reported as today.
      await register(randomUUID());
      const bad = await register(randomUUID(), poison);
      await register(randomUUID());
      const status = await until(r, name, (s) => s.state === 'failed');
      expect(status.failure).toMatchObject({ position: bad.firstPosition, eventType: 'SiteRegistered', message: `cannot project ${poison}` });
      expect(status.checkpoint).toBe(bad.firstPosition! - 1n);
      expect(calls.events).toBeGreaterThan(0);
      const { rows } = await sql.query<{ max: string }>(`SELECT max(position)::text AS max FROM ${table('seen')}`);
      expect(BigInt(rows[0]!.max)).toBe(bad.firstPosition! - 1n);
      expect(await count()).toBe(BigInt((await store.readAll()).filter((e) => e.globalPosition < bad.firstPosition!).length));
      await r.stop();
    });

    it('catching up, plans each full batch while the one before commits (on the server: PGlite reads wait for the transaction), in order, every event once; a stop leaves the checkpoint at the last batch committed', async () => {
      const name = `pipelined_${randomUUID().slice(0, 8)}`;
      const trace: string[] = [];
      let last = 0n;
      for (let i = 0; i < 40; i++) last = (await register(randomUUID())).lastPosition!;
      const plain = countingProjection(name);
      const projection: Projection = {
        ...plain,
        async applyBatch(tx, events, table, prepared) {
          const plan = prepared as { first: bigint; last: bigint } | undefined;
          if (plan) expect([plan.first, plan.last]).toEqual([events[0]!.globalPosition, events.at(-1)!.globalPosition]);
          trace.push(plan ? 'planned' : 'unplanned');
          // Long enough for the next page of the log to come in while this batch is in hand.
          await new Promise((resolve) => setTimeout(resolve, 30));
          for (const event of events) await plain.apply(tx, event, table);
        },
        prepareBatch: (events) => ({ first: events[0]!.globalPosition, last: events.at(-1)!.globalPosition }),
      };
      const r = runner(projection);
      await r.start();
      const status = await until(r, name, (s) => s.checkpoint >= last || s.state === 'failed');
      expect(status.failure).toBeNull();
      const table = r.tables(projection);
      const { rows } = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table('seen')}`);
      expect(BigInt(rows[0]!.n)).toBe(BigInt((await store.readAll()).filter((e) => e.globalPosition <= status.checkpoint).length));
      if (sql.kind === 'server') expect(trace.filter((t) => t === 'planned').length).toBeGreaterThan(0);
      // Stopped while batches come: whatever was in flight commits with its checkpoint; nothing past it.
      for (let i = 0; i < 20; i++) await register(randomUUID());
      await r.stop();
      const [stopped] = await r.status();
      const { rows: after } = await sql.query<{ n: string; max: string | null }>(`SELECT count(*)::text AS n, max(position)::text AS max FROM ${table('seen')}`);
      expect(BigInt(after[0]!.max ?? 0)).toBe(stopped!.checkpoint);
      expect(BigInt(after[0]!.n)).toBe(BigInt((await store.readAll()).filter((e) => e.globalPosition <= stopped!.checkpoint).length));
    });

    it('resumes after a stop from its checkpoint without doubling an event', async () => {
      const name = `resume_${randomUUID().slice(0, 8)}`;
      const first = runner(countingProjection(name));
      await first.start();
      for (let i = 0; i < 10; i++) await register(randomUUID());
      await first.stop();
      let last = 0n;
      for (let i = 0; i < 10; i++) last = (await register(randomUUID())).lastPosition!;
      const second = runner(countingProjection(name));
      await second.start(); // a doubled event would violate the primary key and fail the projection
      const head = last;
      const status = await until(second, name, (s) => s.checkpoint >= head || s.state === 'failed');
      expect(status.failure).toBeNull();
      const table = second.tables(countingProjection(name));
      const { rows } = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table('seen')}`);
      expect(BigInt(rows[0]!.n)).toBe(BigInt((await store.readAll()).length));
      await second.stop();
    });
  });
}

describeOnEachDatabase('runner', runnerSuite);
