import { randomUUID } from 'node:crypto';
import { openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import pino from 'pino';
import { describeOnEachDatabase, settled, type TestDatabase } from '@v2g/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Projection } from '../src/index.ts';
import { ProjectionRunner } from '../src/projection-runner.ts';
import { replayProjection, ReplayFailed } from '../src/replay.ts';

const registry = SchemaRegistry.fromDirectory();

/** Records every event it is given (position, stream, name, recordedAt); counts how it was called. */
function recordingProjection(calls = { batches: 0, events: 0 }, failOn?: string, withBatch = true, forgotten: string[] = []): Projection {
  const insert = (tx: Parameters<Projection['apply']>[0], events: readonly Parameters<Projection['apply']>[1][], table: Parameters<Projection['apply']>[2]) =>
    tx.query(`INSERT INTO ${table('seen')} (position, stream_id, name, recorded_at) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[])`, [
      events.map((e) => e.globalPosition.toString()),
      events.map((e) => e.streamId),
      events.map((e) => (e.data as { name: string }).name),
      events.map((e) => e.metadata.recordedAt),
    ]);
  const projection: Projection = {
    name: 'recorder',
    version: 3,
    tables: ['seen'],
    async setup(tx, table) {
      await tx.query(`CREATE TABLE IF NOT EXISTS ${table('seen')} (position bigint PRIMARY KEY, stream_id text NOT NULL, name text NOT NULL, recorded_at timestamptz NOT NULL)`);
    },
    async apply(tx, event, table) {
      calls.events += 1;
      if ((event.data as { name: string }).name === failOn) throw new Error(`cannot project ${failOn}`);
      await insert(tx, [event], table);
    },
    forget(table) {
      forgotten.push(table('seen'));
    },
  };
  if (withBatch) {
    projection.applyBatch = async (tx, events, table) => {
      calls.batches += 1;
      if (events.some((e) => (e.data as { name: string }).name === failOn)) throw new Error('batch refused');
      await insert(tx, events, table);
    };
  }
  return projection;
}

function replaySuite(label: string, open: () => Promise<TestDatabase>) {
  describe(`replayProjection on ${label}`, () => {
    let sql: SqlClient;
    let schema: string;
    let store: EventStore;
    let cleanup: () => Promise<void>;
    // The store's clock: each append is stamped with what the test sets, as writers on machines whose clocks disagree would.
    let now = Date.parse('2026-11-01T10:00:00.000Z');
    const at = (hhmm: string) => `2026-11-01T${hhmm}:00.000Z`;
    const positions: Record<string, bigint> = {};

    const rename = async (name: string, recordedAt: string) => {
      now = Date.parse(recordedAt);
      const result = await store.append(`site-${name.split('.')[0]}`, [{ type: 'SiteRenamed', data: { siteId: name.split('.')[0], name } }], {
        expectedVersion: 'any',
        commandId: randomUUID(),
        actor: 'test',
      });
      positions[name] = result.lastPosition!;
    };
    const seen = async (replay: { tables: (t: string) => string }) =>
      (await sql.query<{ name: string }>(`SELECT name FROM ${replay.tables('seen')} ORDER BY position`)).rows.map((r) => r.name);
    const schemaExists = async (name: string) =>
      (await sql.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found`, [name])).rows[0]!.found;

    beforeAll(async () => {
      ({ sql, schema, cleanup } = await open());
      store = await openPostgresStore({ sql, schema, registry, clock: () => new Date(now) });
      // Positions follow the log; recordedAt does not: b.1 sits after a.2 but was stamped earlier (another writer's clock).
      await rename('a.1', at('10:00'));
      await rename('a.2', at('10:10'));
      await rename('b.1', at('10:05'));
      await rename('a.3', at('10:20'));
      await rename('b.2', at('10:04'));
      await rename('a.4', at('10:30'));
      // On a server the log's readable head may trail our appends while other transactions are open.
      await settled(store, positions['a.4']!);
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    it('applies every event recorded by the instant, event by event over the whole log, not stopping at the first later one', async () => {
      const replay = await replayProjection({ store, sql, projection: recordingProjection(), asOf: { instant: '2026-11-01T10:05Z' } });
      try {
        expect(replay.schema).toMatch(/^replay_[0-9a-f]{16}$/);
        expect(await seen(replay)).toEqual(['a.1', 'b.1', 'b.2']);
        expect(replay).toMatchObject({ asOf: { instant: '2026-11-01T10:05:00.000Z', position: null }, events: 3, lastApplied: positions['b.2'] });
        // Read to the readable head: an event stamped earlier may come at any position.
        expect(replay.through).toBe(await store.headPosition());
      } finally {
        await replay.drop();
      }
      expect(await schemaExists(replay.schema)).toBe(false);
    });

    it('stops at a position, and takes both cuts together', async () => {
      const byPosition = await replayProjection({ store, sql, projection: recordingProjection(), asOf: { position: positions['b.1']! } });
      expect(await seen(byPosition)).toEqual(['a.1', 'a.2', 'b.1']);
      expect(byPosition).toMatchObject({ through: positions['b.1'], events: 3, lastApplied: positions['b.1'] });
      await byPosition.drop();

      const both = await replayProjection({ store, sql, projection: recordingProjection(), asOf: { instant: at('10:10'), position: positions['a.3']! } });
      expect(await seen(both)).toEqual(['a.1', 'a.2', 'b.1']);
      expect(both.through).toBe(positions['a.3']);
      await both.drop();

      // A position beyond the head reads to the head; nothing known yet at an instant before the first event.
      const beyond = await replayProjection({ store, sql, projection: recordingProjection(), asOf: { position: 10n ** 15n } });
      expect(beyond.through).toBe(await store.headPosition());
      expect(beyond.events).toBe(6);
      await beyond.drop();
      const before = await replayProjection({ store, sql, projection: recordingProjection(), asOf: { instant: '2026-11-01T09:59:59.999Z' } });
      expect(before).toMatchObject({ events: 0, lastApplied: 0n });
      expect(await seen(before)).toEqual([]);
      await before.drop();
    });

    it('applies in batches through applyBatch, with progress, and leaves the rows apply leaves; never touches the live checkpoints', async () => {
      const runner = new ProjectionRunner({ store, sql, schema, projections: [], logger: pino({ level: 'silent' }) });
      await runner.start();
      await runner.stop();
      const calls = { batches: 0, events: 0 };
      const progress: bigint[] = [];
      const batched = await replayProjection({
        store,
        sql,
        projection: recordingProjection(calls),
        asOf: { instant: at('10:20') },
        batchSize: 2,
        onProgress: (p) => progress.push(p.scannedThrough),
      });
      const plain = await replayProjection({ store, sql, projection: recordingProjection(undefined, undefined, false), asOf: { instant: at('10:20') } });
      try {
        expect(calls).toEqual({ batches: 3, events: 0 });
        expect(progress).toEqual([positions['a.2'], positions['a.3'], positions['a.4']]);
        const dump = async (table: string) => (await sql.query<{ line: string }>(`SELECT t::text AS line FROM ${table} t ORDER BY position`)).rows.map((r) => r.line);
        expect(await dump(batched.tables('seen'))).toEqual(await dump(plain.tables('seen')));
        expect(await seen(batched)).toEqual(['a.1', 'a.2', 'b.1', 'a.3', 'b.2']);
        const { rows } = await sql.query<{ name: string }>(`SELECT name FROM "${schema}".projection_checkpoints`);
        expect(rows).toEqual([]);
        expect((await sql.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [`"${batched.schema}".projection_checkpoints`])).rows[0]!.t).toBeNull();
      } finally {
        await batched.drop();
        await plain.drop();
      }
    });

    it('builds into a schema it is given, refuses one that holds the tables already, and drops only its tables there', async () => {
      const given = `replay_given_${randomUUID().slice(0, 8)}`;
      await sql.query(`CREATE SCHEMA "${given}"`);
      await sql.query(`CREATE TABLE "${given}".keep_me (x int)`);
      const forgotten: string[] = [];
      try {
        const replay = await replayProjection({ store, sql, projection: recordingProjection(undefined, undefined, true, forgotten), asOf: {}, schema: given });
        expect(replay.schema).toBe(given);
        expect(replay.tables('seen')).toBe(`"${given}"."recorder_v3_seen"`);
        expect((await seen(replay)).length).toBe(6);
        await expect(replayProjection({ store, sql, projection: recordingProjection(), asOf: {}, schema: given })).rejects.toThrow(/already holds recorder_v3_seen/);
        await replay.drop();
        await replay.drop();
        expect(forgotten).toEqual([`"${given}"."recorder_v3_seen"`]);
        expect(await schemaExists(given)).toBe(true);
        expect((await sql.query(`SELECT * FROM "${given}".keep_me`)).rows).toEqual([]);
        expect((await sql.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [`"${given}".recorder_v3_seen`])).rows[0]!.t).toBeNull();
      } finally {
        await sql.query(`DROP SCHEMA IF EXISTS "${given}" CASCADE`);
      }
    });

    it('names the event a projection fails on, and drops what it built', async () => {
      const schemaName = `replay_fail_${randomUUID().slice(0, 8)}`;
      const failure = replayProjection({ store, sql, projection: recordingProjection(undefined, 'a.3'), asOf: {}, schema: schemaName });
      await expect(failure).rejects.toBeInstanceOf(ReplayFailed);
      await expect(failure).rejects.toThrow(`replay of recorder failed at position ${positions['a.3']} (site-a version 3, SiteRenamed): cannot project a.3`);
      expect(await schemaExists(schemaName)).toBe(false);
      await expect(replayProjection({ store, sql, projection: recordingProjection(), asOf: { instant: 'yesterday' } })).rejects.toThrow(/not a UTC instant/);
    });
  });
}

describeOnEachDatabase('replay', replaySuite);
