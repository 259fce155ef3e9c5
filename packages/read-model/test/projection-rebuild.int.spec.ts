import { randomUUID } from 'node:crypto';
import { connectPostgres, openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import pino from 'pino';
import { settled } from '@v2g/testing';
import { afterEach, beforeAll, afterAll, describe, expect, inject, it } from 'vitest';
import { quoteIdent, type Projection, type TableNames } from '../src/index.ts';
import { ProjectionNeedsRebuild, ProjectionRebuilder, RebuildInProgress, type RebuildProgress } from '../src/projection-rebuild.ts';
import { ProjectionRunner } from '../src/projection-runner.ts';
import type { ProjectionStatus } from '../src/projection-status.ts';

/**
 * Blue/green rebuilds at the ledger level, with a projection that records every event it applies
 * under a primary key on the position: an event applied twice fails the projection at once.
 */

const registry = SchemaRegistry.fromDirectory();
const logger = pino({ level: 'silent' });
const postgresUrl = inject('postgresUrl');

type Counting = Projection & { applied: bigint[]; slowLiveMs: number; failOn: Set<bigint> };

/** One row per event, plus an index and a check constraint, so that the switch renames all three kinds. */
function countingProjection(name: string, version = 1): Counting {
  const projection: Counting = {
    name,
    version,
    tables: ['seen', 'streams'],
    applied: [],
    slowLiveMs: 0,
    failOn: new Set(),
    async setup(tx, table) {
      await tx.query(`CREATE TABLE IF NOT EXISTS ${table('seen')} (position bigint PRIMARY KEY, stream_id text NOT NULL CHECK (stream_id <> ''))`);
      await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('seen', 'stream')} ON ${table('seen')} (stream_id, position)`);
      await tx.query(`CREATE TABLE IF NOT EXISTS ${table('streams')} (stream_id text PRIMARY KEY, events integer NOT NULL)`);
    },
    async apply(tx, event, table) {
      if (projection.failOn.has(event.globalPosition)) throw new Error(`cannot project ${event.globalPosition}`);
      // The live runner may be slow; the rebuild (next tables) is not: it overtakes the runner.
      if (projection.slowLiveMs > 0 && !table('seen').includes('_next_')) await new Promise((resolve) => setTimeout(resolve, projection.slowLiveMs));
      if (table('seen').includes('_next_')) projection.applied.push(event.globalPosition);
      await tx.query(`INSERT INTO ${table('seen')} (position, stream_id) VALUES ($1, $2)`, [event.globalPosition.toString(), event.streamId]);
      await tx.query(`INSERT INTO ${table('streams')} (stream_id, events) VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET events = ${table('streams')}.events + 1`, [
        event.streamId,
      ]);
    },
  };
  return projection;
}

type Target = { sql: SqlClient; fresh: () => Promise<string>; close: () => Promise<void> };

function rebuildSuite(label: string, open: () => Promise<Target>) {
  describe(`blue/green rebuild on ${label}`, () => {
    let target: Target;
    let schema: string;
    let store: EventStore;
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      target = await open();
    });
    afterAll(async () => {
      await target?.close();
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    /** A fresh schema with its own log, for each test. */
    async function freshStore(): Promise<void> {
      schema = await target.fresh();
      store = await openPostgresStore({ sql: target.sql, schema, registry, pollMs: 50 });
      cleanups.push(() => store.close());
    }

    const append = async (n: number): Promise<bigint> => {
      let last = 0n;
      for (let i = 0; i < n; i++) {
        const siteId = `s${i % 7}`;
        const result = await store.append(`site-${siteId}`, [{ type: 'SiteRenamed', data: { siteId, name: `Site ${randomUUID().slice(0, 6)}` } }], {
          expectedVersion: 'any',
          commandId: randomUUID(),
          actor: 'test',
        });
        last = result.lastPosition!;
      }
      // On a server the log's readable head may trail these appends while other transactions are
      // open: the tests count batches and pick events by index, so they wait until all are readable.
      await settled(store, last);
      return last;
    };

    const runnerOf = (projection: Projection, batchSize = 7) => {
      const runner = new ProjectionRunner({ store, sql: target.sql, schema, projections: [projection], logger, batchSize, rebuildBatchSize: 25 });
      cleanups.push(() => runner.stop());
      return runner;
    };
    const rebuilderOf = (options: { leaseMs?: number; owner?: string } = {}) => new ProjectionRebuilder({ store, sql: target.sql, schema, logger, batchSize: 25, ...options });

    async function until(runner: ProjectionRunner, check: (s: ProjectionStatus) => boolean, what: string): Promise<ProjectionStatus> {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const status = (await runner.status())[0]!;
        if (check(status)) return status;
        if (status.failure) throw new Error(`projection failed while waiting for ${what}: ${status.failure.message}`);
        if (Date.now() > deadline) throw new Error(`never ${what}: ${JSON.stringify(status, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    /** Every event of the log up to `through`, once, and the per-stream counts that follow from them. */
    async function expectExactly(table: TableNames, through: bigint): Promise<void> {
      const events = (await store.readAll()).filter((e) => e.globalPosition <= through);
      const seen = await target.sql.query<{ p: string }>(`SELECT position::text AS p FROM ${table('seen')} ORDER BY position`);
      expect(seen.rows.map((r) => r.p)).toEqual(events.map((e) => e.globalPosition.toString()));
      const counts = new Map<string, number>();
      for (const e of events) counts.set(e.streamId, (counts.get(e.streamId) ?? 0) + 1);
      const streams = await target.sql.query<{ stream_id: string; events: number }>(`SELECT stream_id, events FROM ${table('streams')} ORDER BY stream_id`);
      expect(streams.rows.map((r) => [r.stream_id, r.events])).toEqual([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
    }

    async function relations(): Promise<string[]> {
      const { rows } = await target.sql.query<{ relname: string }>(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') ORDER BY 1`,
        [schema],
      );
      return rows.map((r) => r.relname);
    }

    it('switches while the live runner applies and appends go on: every event once, the live names and their indexes kept', async () => {
      await freshStore();
      const projection = countingProjection(`bg_${randomUUID().slice(0, 6)}`);
      await append(60);
      const runner = runnerOf(projection);
      await runner.start();
      let appending = true;
      let last = 0n;
      const writer = (async () => {
        while (appending) {
          last = await append(3);
          // In-process PGlite answers without leaving the microtask queue: let timers and I/O in, as a client over a network would.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const progress: RebuildProgress[] = [];
      const ticket = await runner.rebuild(projection.name, { requestedBy: 'test', onProgress: (p) => progress.push(p) });
      expect(ticket.rebuild).toMatchObject({ state: 'building', name: projection.name, resumedFrom: null });
      const done = await ticket.done;
      appending = false;
      await writer;
      expect(done).toMatchObject({ state: 'switched', failure: null, error: null });
      expect(progress.some((p) => p.state === 'building' && p.total > 0n && p.eventsPerSecond >= 0)).toBe(true);
      // Live too: the last batch's flush may still be under way when its checkpoint shows.
      const status = await until(runner, (s) => s.checkpoint >= last && s.state === 'live', `reach ${last}`);
      expect(status).toMatchObject({ state: 'live', failure: null, rebuild: { state: 'switched', id: done.id } });
      await expectExactly(runner.tables(projection), status.checkpoint);
      // Live names only: the next tables became the live ones (indexes and constraints renamed too), the old ones are gone.
      const live = (await relations()).filter((r) => r.startsWith(projection.name));
      expect(live).toEqual(
        [
          `${projection.name}_v1_seen`,
          `${projection.name}_v1_seen_pkey`,
          `${projection.name}_v1_seen_stream`,
          `${projection.name}_v1_streams`,
          `${projection.name}_v1_streams_pkey`,
        ].sort(),
      );
      const { rows: checks } = await target.sql.query<{ conname: string }>(`SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'`, [
        runner.tables(projection)('seen'),
      ]);
      expect(checks.map((c) => c.conname)).toEqual([`${projection.name}_v1_seen_stream_id_check`]);
    });

    it('never applies an event twice across a switch when the rebuild overtakes a slow live runner', async () => {
      await freshStore();
      const projection = countingProjection(`ahead_${randomUUID().slice(0, 6)}`);
      await append(30);
      const runner = runnerOf(projection, 5);
      await runner.start();
      projection.slowLiveMs = 15; // the live runner now lags: the switch moves its checkpoint ahead of it
      let appending = true;
      let last = 0n;
      const writer = (async () => {
        while (appending) {
          last = await append(2);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = (await runner.status())[0]!.checkpoint;
      // A rebuilder of its own, as the CLI (another process) runs it: only the checkpoint row's lock orders it with the runner.
      const done = await rebuilderOf().rebuild(projection);
      expect(done.state).toBe('switched');
      // The switch put the live checkpoint where the rebuild was: ahead of where the runner had got.
      expect(done.position).toBeGreaterThan(before);
      appending = false;
      await writer;
      projection.slowLiveMs = 0;
      // A doubled event would break the primary key and fail the projection (until() throws on failure).
      const status = await until(runner, (s) => s.checkpoint >= last, `reach ${last}`);
      expect(status.failure).toBeNull();
      await expectExactly(runner.tables(projection), status.checkpoint);
    });

    it('resumes a rebuild interrupted after a few batches from its checkpoint, and ends identical', async () => {
      await freshStore();
      const projection = countingProjection(`resume_${randomUUID().slice(0, 6)}`);
      await append(200);
      const runner = runnerOf(projection);
      await runner.start();
      const controller = new AbortController();
      let batches = 0;
      const first = rebuilderOf();
      const interrupted = await first.rebuild(projection, {
        signal: controller.signal,
        onProgress: () => {
          if (++batches === 3) controller.abort();
        },
      });
      expect(interrupted.state).toBe('interrupted');
      expect(interrupted.position).toBeGreaterThan(0n);
      const [status] = await runner.status();
      expect(status!.rebuild).toMatchObject({ id: interrupted.id, state: 'interrupted', position: interrupted.position });
      const appliedBefore = projection.applied.length;

      // A second call (another process: another owner) continues from the checkpoint, not from 0.
      const resumed = await rebuilderOf().rebuild(projection);
      expect(resumed).toMatchObject({ id: interrupted.id, state: 'switched', resumedFrom: interrupted.position });
      const second = projection.applied.slice(appliedBefore);
      expect(second[0]).toBeGreaterThan(interrupted.position);
      expect(new Set(projection.applied).size).toBe(projection.applied.length);
      const last = await append(5);
      const live = await until(runner, (s) => s.checkpoint >= last, `reach ${last}`);
      await expectExactly(runner.tables(projection), live.checkpoint);
    });

    it('refuses a second rebuild while one holds its lease, and takes over one whose lease ran out', async () => {
      await freshStore();
      const projection = countingProjection(`lease_${randomUUID().slice(0, 6)}`);
      await append(80);
      const runner = runnerOf(projection);
      await runner.start();
      const holder = rebuilderOf({ leaseMs: 60_000, owner: 'holder' });
      await holder.claim(projection, 'test'); // claimed, then "crashed": never runs
      await expect(rebuilderOf({ owner: 'other' }).claim(projection, 'test')).rejects.toBeInstanceOf(RebuildInProgress);
      await expect(runner.rebuild(projection.name)).rejects.toMatchObject({ code: 'REBUILD_IN_PROGRESS' });
      // The lease runs out (made to, rather than waited for: a slow machine must not let it lapse early).
      await target.sql.query(`UPDATE ${quoteIdent(schema)}.projection_rebuilds SET lease_until = clock_timestamp() WHERE owner = 'holder'`);
      expect((await runner.status())[0]!.rebuild?.state).toBe('interrupted');
      const done = await (await runner.rebuild(projection.name)).done;
      expect(done).toMatchObject({ state: 'switched', resumedFrom: 0n });
    });

    it('stops a rebuild at a failing event (the live tables keep serving), and resumes it from there once fixed', async () => {
      await freshStore();
      const projection = countingProjection(`fail_${randomUUID().slice(0, 6)}`);
      const last = await append(40);
      const runner = runnerOf(projection);
      await runner.start();
      const live = await until(runner, (s) => s.state === 'live' && s.checkpoint >= last, 'live');
      const poison = (await store.readAll()).at(30)!.globalPosition;
      projection.failOn.add(poison); // only the rebuild meets it: the live runner is past it
      const failed = await (await runner.rebuild(projection.name)).done;
      expect(failed).toMatchObject({ state: 'failed', failure: { position: poison, message: `cannot project ${poison}` } });
      expect((await runner.status())[0]).toMatchObject({ state: 'live', failure: null, rebuild: { state: 'failed' } });
      await expectExactly(runner.tables(projection), live.checkpoint);
      projection.failOn.clear();
      const fixed = await (await runner.rebuild(projection.name)).done;
      expect(fixed).toMatchObject({ id: failed.id, state: 'switched' });
      expect(fixed.resumedFrom).toBe(poison - 1n);
    });

    it('a code version change is never rebuilt silently: needs_rebuild, queries refused, built when asked, the old version dropped', async () => {
      await freshStore();
      const name = `ver_${randomUUID().slice(0, 6)}`;
      const v1 = countingProjection(name, 1);
      await append(50);
      const first = runnerOf(v1);
      await first.start();
      const built = await until(first, (s) => s.state === 'live' && s.checkpoint > 0n, 'live');
      await first.stop();

      const v2 = countingProjection(name, 2);
      const runner = runnerOf(v2);
      await runner.start();
      const [status] = await runner.status();
      expect(status).toMatchObject({ state: 'needs_rebuild', version: 2, tablesVersion: 1, checkpoint: 0n });
      expect(() => runner.tables(v2)('seen')).toThrow(ProjectionNeedsRebuild);
      expect((await relations()).some((r) => r.startsWith(`${name}_v2_`))).toBe(false);
      // Still nothing after a while: no silent rebuild.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await runner.status())[0]!.state).toBe('needs_rebuild');
      expect(v2.applied).toEqual([]);

      const done = await (await runner.rebuild(name, { requestedBy: 'operator' })).done;
      expect(done).toMatchObject({ state: 'switched', version: 2, requestedBy: 'operator' });
      const last = await append(5);
      const live = await until(runner, (s) => s.state === 'live' && s.checkpoint >= last, 'live on v2');
      await expectExactly(runner.tables(v2), live.checkpoint);
      expect(built.checkpoint).toBeGreaterThan(0n);
      // Version 1's tables and checkpoint are gone.
      expect((await relations()).filter((r) => r.startsWith(`${name}_v1_`))).toEqual([]);
      const { rows } = await target.sql.query<{ version: number }>(`SELECT version FROM "${schema}".projection_checkpoints WHERE name = $1`, [name]);
      expect(rows.map((r) => r.version)).toEqual([2]);
    });

    it('on a fresh database (no checkpoint rows) a new version is built normally', async () => {
      await freshStore();
      const projection = countingProjection(`fresh_${randomUUID().slice(0, 6)}`, 3);
      const last = await append(20);
      const runner = runnerOf(projection);
      await runner.start();
      const status = await until(runner, (s) => s.checkpoint >= last && s.state === 'live', 'caught up');
      expect(status).toMatchObject({ state: 'live', tablesVersion: null, rebuild: null });
      await expectExactly(runner.tables(projection), status.checkpoint);
    });

    it('resumes an interrupted rebuild by itself when the runner starts', async () => {
      await freshStore();
      const projection = countingProjection(`restart_${randomUUID().slice(0, 6)}`);
      await append(150);
      const controller = new AbortController();
      let batches = 0;
      const interrupted = await (async () => {
        const runner = runnerOf(projection);
        await runner.start();
        return rebuilderOf().rebuild(projection, { signal: controller.signal, onProgress: () => void (++batches === 2 && controller.abort()) });
      })();
      expect(interrupted.state).toBe('interrupted');
      const restarted = runnerOf(projection);
      await restarted.start();
      const status = await until(restarted, (s) => s.rebuild?.state === 'switched', 'switched');
      expect(status.rebuild).toMatchObject({ id: interrupted.id, resumedFrom: interrupted.position });
    });
  });
}

rebuildSuite('PGlite', async () => {
  const sql = await openPglite(undefined);
  let n = 0;
  return { sql, fresh: async () => `rebuild_${++n}`, close: () => sql.close() };
});

describe.skipIf(postgresUrl === null)('on the PostgreSQL server', () => {
  rebuildSuite('the PostgreSQL server', async () => {
    const sql = await connectPostgres(postgresUrl!);
    const schemas: string[] = [];
    return {
      sql,
      fresh: async () => {
        const schema = `test_rebuild_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        schemas.push(schema);
        return schema;
      },
      close: async () => {
        for (const schema of schemas) await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await sql.close();
      },
    };
  });
});
