/**
 * Event store append and read throughput, each beside a raw INSERT/SELECT of the same rows into a
 * plain table in the same run, so the store's overhead is a ratio rather than a machine-dependent
 * number. Runs on PGlite (a temporary data folder) and on the PostgreSQL server (DATABASE_URL,
 * else TEST_DATABASE_URL, else the local test server; skipped with a note when unreachable).
 *
 * The last line printed is one JSON object; `value` is batched appends on the server in events/s
 * and `baseline` the raw batched INSERT it is measured against (the goal: ratio >= 0.5).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { connectPostgres, openPglite, openPostgresStore, SchemaRegistry, type NewEvent, type SqlClient, type SqlExecutor } from '@v2g/event-store';

const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE ?? 2000);
const BATCHED_EVENTS = Number(process.env.BENCH_BATCHED ?? 50_000);
const BATCH = 100;
const READ_BATCH = 1000;
const STREAMS = 50;
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

const registry = new SchemaRegistry([
  {
    type: 'MeterSampled',
    version: 1,
    schema: {
      type: 'object',
      required: ['connectorId', 'energyWh', 'powerW', 'sampledAt'],
      additionalProperties: false,
      properties: {
        connectorId: { type: 'string' },
        energyWh: { type: 'string', pattern: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$' },
        powerW: { type: 'string', pattern: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$' },
        sampledAt: { type: 'string' },
      },
    },
  },
]);

type Figures = { store: number; raw: number };
type EngineResult = { single: Figures; batched: Figures; read: Figures; readEvents: number };

function sample(i: number): NewEvent {
  const sampledAt = new Date(Date.UTC(2026, 10, 27, 10, 0, 0) + i * 1000).toISOString();
  return {
    type: 'MeterSampled',
    data: { connectorId: `CP-${i % 500}-1`, energyWh: `${1000 + i}.25`, powerW: `${7000 + (i % 400)}`, sampledAt },
    occurredAt: sampledAt,
  };
}

/** The row a raw INSERT writes: the same columns and comparable content as the store's events row. */
function rawRow(streamId: string, version: number, i: number): unknown[] {
  const event = sample(i);
  const metadata = {
    commandId: randomUUID(),
    correlationId: 'bench',
    causationId: 'bench',
    actor: 'bench',
    occurredAt: event.occurredAt,
    recordedAt: new Date().toISOString(),
  };
  return [streamId, version, 'meter', event.type, 1, JSON.stringify(event.data), JSON.stringify(metadata), 'f'.repeat(64)];
}

const RAW_COLUMNS = '(stream_id, stream_version, category, type, schema_version, data, metadata, hash)';

function rawInsert(schema: string, rows: number): string {
  const values = Array.from({ length: rows }, (_, r) => {
    const p = r * 8;
    return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}::jsonb, $${p + 7}::jsonb, $${p + 8})`;
  });
  return `INSERT INTO ${schema}.raw_events ${RAW_COLUMNS} VALUES ${values.join(', ')}`;
}

/** What a raw client needs: a transaction and a query, on a connection of its own. */
type Raw = { transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>; query: SqlExecutor['query'] };

async function runEngine(name: string, sql: SqlClient, raw: Raw, schema: string): Promise<EngineResult> {
  const store = await openPostgresStore({ sql, schema, registry });
  await sql.query(`CREATE TABLE ${schema}.raw_events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text, stream_version int, category text, type text, schema_version int, data jsonb, metadata jsonb, hash text)`);
  const streams = Array.from({ length: STREAMS }, () => `meter-${randomUUID()}`);
  const versions = new Map<string, number>(streams.map((s) => [s, 0]));
  let n = 0;
  const append = async (events: number) => {
    const streamId = streams[n % STREAMS]!;
    const version = versions.get(streamId)!;
    const batch = Array.from({ length: events }, () => sample(n++));
    await store.append(streamId, batch, { expectedVersion: version, commandId: randomUUID(), actor: 'bench' });
    versions.set(streamId, version + events);
  };
  let rawN = 0;
  const rawVersions = new Map<string, number>(streams.map((s) => [s, 0]));
  const single = rawInsert(schema, 1);
  const batched = rawInsert(schema, BATCH);
  const rawAppend = async (events: number) => {
    const streamId = streams[rawN % STREAMS]!;
    const version = rawVersions.get(streamId)!;
    const params = Array.from({ length: events }, (_, k) => rawRow(streamId, version + k + 1, rawN++)).flat();
    await raw.transaction((tx) => tx.query(events === 1 ? single : batched, params));
    rawVersions.set(streamId, version + events);
  };

  // Warm-up: JIT, plan caches, the pool's connections.
  for (let i = 0; i < 50; i++) {
    await append(1);
    await rawAppend(1);
  }

  const log = (what: string) => process.stderr.write(`  ${name}: ${what}\n`);
  log(`single appends (${SINGLE_EVENTS})`);
  const singleStore = await rate(SINGLE_EVENTS, async () => {
    for (let i = 0; i < SINGLE_EVENTS; i++) await append(1);
  });
  const singleRaw = await rate(SINGLE_EVENTS, async () => {
    for (let i = 0; i < SINGLE_EVENTS; i++) await rawAppend(1);
  });
  log(`batched appends (${BATCHED_EVENTS} in ${BATCH}s)`);
  const batchedStore = await rate(BATCHED_EVENTS, async () => {
    for (let i = 0; i < BATCHED_EVENTS / BATCH; i++) await append(BATCH);
  });
  const batchedRaw = await rate(BATCHED_EVENTS, async () => {
    for (let i = 0; i < BATCHED_EVENTS / BATCH; i++) await rawAppend(BATCH);
  });

  log('reading everything back');
  let readEvents = 0;
  const readStore = await timed(async () => {
    for (let after = 0n; ;) {
      const events = await store.readAll({ after, limit: READ_BATCH });
      if (events.length === 0) break;
      readEvents += events.length;
      after = events.at(-1)!.globalPosition;
    }
  });
  let rawRead = 0;
  const readRaw = await timed(async () => {
    for (let after = '0'; ;) {
      const { rows } = await raw.query<{ global_position: string }>(
        `SELECT global_position, stream_id, stream_version, type, schema_version, data, metadata, hash
         FROM ${schema}.raw_events WHERE global_position > $1 ORDER BY global_position LIMIT ${READ_BATCH}`,
        [after],
      );
      if (rows.length === 0) break;
      rawRead += rows.length;
      after = String(rows.at(-1)!.global_position);
    }
  });
  await store.close();
  if (rawRead !== readEvents) throw new Error(`${name}: the store read ${readEvents} events, the raw table ${rawRead} rows`);
  return {
    single: { store: singleStore, raw: singleRaw },
    batched: { store: batchedStore, raw: batchedRaw },
    read: { store: readEvents / readStore, raw: rawRead / readRaw },
    readEvents,
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function rate(events: number, fn: () => Promise<void>): Promise<number> {
  return events / (await timed(fn));
}

async function onServer(url: string): Promise<EngineResult | string> {
  const schema = `bench_${process.pid}`;
  let sql: SqlClient;
  try {
    sql = await connectPostgres(url, { applicationName: 'v2g-bench' });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const client = new pg.Client({ connectionString: url, application_name: 'v2g-bench-raw' });
  await client.connect();
  const raw: Raw = {
    query: async (text, params) => ({ rows: (await client.query(text, params as unknown[])).rows }),
    transaction: async (fn) => {
      await client.query('BEGIN');
      try {
        const result = await fn({ query: async (text, params) => ({ rows: (await client.query(text, params as unknown[])).rows }) });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
  };
  try {
    return await runEngine('server', sql, raw, schema);
  } finally {
    await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await client.end();
    await sql.close();
  }
}

async function onPglite(): Promise<EngineResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'v2g-bench-'));
  const sql = await openPglite(dataDir);
  try {
    // The same PGlite instance serves the raw statements (one connection: there is no other).
    return await runEngine('pglite', sql, sql, 'bench');
  } finally {
    await sql.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x);
const ratio = (f: Figures) => Math.round((f.store / f.raw) * 1000) / 1000;

const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
process.stderr.write(`append bench: ${SINGLE_EVENTS} single, ${BATCHED_EVENTS} batched (${BATCH}/append), reads of ${READ_BATCH}\n`);
const started = Date.now();
const pglite = await onPglite();
const server = await onServer(url);

const rows: Array<[string, string, Figures]> = [
  ['pglite', 'single (1 event/append)', pglite.single],
  ['pglite', `batched (${BATCH} events/append)`, pglite.batched],
  ['pglite', `readAll (${READ_BATCH}/read)`, pglite.read],
];
if (typeof server !== 'string') {
  rows.push(
    ['server', 'single (1 event/append)', server.single],
    ['server', `batched (${BATCH} events/append)`, server.batched],
    ['server', `readAll (${READ_BATCH}/read)`, server.read],
  );
}
const header = ['engine', 'case', 'store ev/s', 'raw ev/s', 'store/raw'];
const table = [header, ...rows.map(([engine, what, f]) => [engine, what, String(round(f.store)), String(round(f.raw)), ratio(f).toFixed(3)])];
const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
for (const r of table) process.stdout.write(`${r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
if (typeof server === 'string') process.stdout.write(`server: skipped (${server})\n`);
process.stdout.write(
  `(raw single = one INSERT per transaction; raw batched = one ${BATCH}-row INSERT per transaction; raw read = SELECT of the same rows, parsed; ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
);

const figures = (prefix: string, result: EngineResult) => ({
  [`${prefix}_single`]: round(result.single.store),
  [`${prefix}_single_raw`]: round(result.single.raw),
  [`${prefix}_single_ratio`]: ratio(result.single),
  [`${prefix}_batched`]: round(result.batched.store),
  [`${prefix}_batched_raw`]: round(result.batched.raw),
  [`${prefix}_batched_ratio`]: ratio(result.batched),
  [`${prefix}_read`]: round(result.read.store),
  [`${prefix}_read_raw`]: round(result.read.raw),
  [`${prefix}_read_ratio`]: ratio(result.read),
});
const json =
  typeof server === 'string'
    ? { bench: 'append', unit: 'events/s', value: null, baseline: null, ratio: null, server_skipped: server, ...figures('pglite', pglite) }
    : {
        bench: 'append',
        unit: 'events/s',
        value: round(server.batched.store),
        baseline: round(server.batched.raw),
        ratio: ratio(server.batched),
        ...figures('server', server),
        ...figures('pglite', pglite),
        events_single: SINGLE_EVENTS,
        events_batched: BATCHED_EVENTS,
        events_read: server.readEvents,
      };
process.stdout.write(`${JSON.stringify(json)}\n`);
