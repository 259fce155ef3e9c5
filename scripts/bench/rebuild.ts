/**
 * Blue/green rebuild of every projection from zero, beside the event store's own readAll of the
 * same log in the same run: the ratio says how much of the raw read throughput each rebuild keeps,
 * whatever the machine.
 *
 * On the PostgreSQL server (DATABASE_URL, else TEST_DATABASE_URL, else the local test server), in a
 * fresh schema dropped afterwards: fills the log with about BENCH_REBUILD_EVENTS events (default
 * 1,000,000) of mixed kinds (packages/testing/src/workloads/mixed-fill.ts: the billing fill's sessions, meter
 * readings, prices and tariffs, ~87% of the log; 100 sites with their trees and building load
 * measurements, ~5%; a market zone with random orders and their trades, ~6%), so that every
 * projection has work. Then times
 *   (a) readAll of the whole log, BENCH_REBUILD_BATCH events a read (the baseline), and
 *   (b) for each projection, ProjectionRebuilder.rebuild: claim, next tables filled in batches of
 *       BENCH_REBUILD_BATCH (default 5,000; projections without a batch hook commit every 250
 *       events, to keep the log's readers unblocked), the switch, the drop. From zero: the clock
 *       runs from the claim to the end of the drop.
 * It checks that the billing intervals hold the energy the readings add up to, and that the
 * catalogue counted every event.
 *
 * The last line printed is one JSON object: `value` is the slowest projection's rebuild in
 * events/s, `baseline` the store's readAll in events/s, `projections` each one's events/s.
 */
import { connectPostgres, openPostgresStore, SchemaRegistry, type SqlClient } from '@v2g/event-store';
import { ProjectionRebuilder, tableNames, type Projection } from '@v2g/ledger';
import { billingProjection } from '@v2g/projection-billing';
import { catalogueProjection } from '@v2g/projection-catalogue';
import { gridProjection } from '@v2g/projection-grid';
import { marketProjection } from '@v2g/projection-market';
import { settlementProjection } from '@v2g/projection-settlement';
import { pino } from 'pino';
import { fillMixed, SITES } from '@v2g/testing/workloads';

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_REBUILD_BATCH ?? 5_000);
const ONLY = process.env.BENCH_REBUILD_ONLY?.split(',').map((s) => s.trim());
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const PROJECTIONS: Projection[] = [catalogueProjection, gridProjection, billingProjection, settlementProjection, marketProjection].filter((p) => !ONLY || ONLY.includes(p.name));

const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

// The mix: readings ~87%, site loads ~5%, market orders ~4% (each appends ~1.4 events).
const readings = Math.round(EVENTS * 0.87);
const sessions = Math.max(10, Math.round(readings / 200));
const loadsPerSite = Math.max(1, Math.round((EVENTS * 0.05) / SITES));
const orders = Math.max(100, Math.round(EVENTS * 0.04));

log(
  `rebuild bench: ~${thousands(EVENTS)} events (${thousands(readings)} readings over ${thousands(sessions)} sessions, ${SITES} sites x ${loadsPerSite} loads, ${thousands(orders)} orders); batches of ${BATCH}`,
);
let sql: SqlClient;
try {
  sql = await connectPostgres(url, { applicationName: 'v2g-bench-rebuild' });
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stdout.write(`server: skipped (${reason})\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'rebuild', unit: 'events/s', value: null, baseline: null, ratio: null, server_skipped: reason })}\n`);
  process.exit(0);
}

const schema = `bench_rebuild_${process.pid}`;
const store = await openPostgresStore({ sql, schema, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
try {
  const fillStart = process.hrtime.bigint();
  let lastLog = 0;
  const fill = await fillMixed({
    store,
    readings,
    sessions,
    loadsPerSite,
    orders,
    chunk: 25,
    concurrency: 4,
    onProgress: (appended, total) => {
      if (Date.now() - lastLog < 5000) return;
      lastLog = Date.now();
      log(`  fill: ${thousands(appended)} / ~${thousands(total)} events, ${thousands(appended / seconds(fillStart))} ev/s`);
    },
  });
  const fillS = seconds(fillStart);
  const { rows: counted } = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.events`);
  const events = Number(counted[0]!.n);
  log(
    `  filled ${thousands(events)} events in ${fillS.toFixed(1)} s (${thousands(fill.billing.events)} billing, ${thousands(fill.siteEvents)} site, ${thousands(fill.marketEvents)} market)`,
  );
  await sql.query(`VACUUM ANALYZE ${schema}.events`);
  await sql.query('CHECKPOINT').catch((error: unknown) => log(`  (no CHECKPOINT: ${error instanceof Error ? error.message : String(error)})`));

  // (a) The store's own readAll of the whole log, as many events a read as a rebuild batch.
  log(`  (a) readAll of the whole log, ${thousands(BATCH)} events a read`);
  const readStart = process.hrtime.bigint();
  let read = 0;
  for (let after = 0n; ;) {
    const page = await store.readAll({ after, limit: BATCH });
    if (page.length === 0) break;
    read += page.length;
    after = page.at(-1)!.globalPosition;
  }
  const readS = seconds(readStart);
  if (read !== events) throw new Error(`readAll returned ${read} events, the log holds ${events}`);
  const readRate = read / readS;
  log(`      ${thousands(readRate)} events/s`);

  // (b) Each projection rebuilt blue/green from zero.
  const results: { name: string; seconds: number; rate: number }[] = [];
  for (const projection of PROJECTIONS) {
    log(`  (b) ${projection.name}: blue/green rebuild from zero`);
    const rebuilder = new ProjectionRebuilder({ store, sql, schema, logger: pino({ level: 'silent' }), batchSize: BATCH, owner: 'bench' });
    await rebuilder.prepare();
    let shown = 0;
    const start = process.hrtime.bigint();
    const done = await rebuilder.rebuild(projection, {
      requestedBy: 'bench',
      onProgress: (progress) => {
        if (Date.now() - shown < 5000) return;
        shown = Date.now();
        log(
          `      ${thousands(Number(progress.done))} / ${thousands(Number(progress.total))}, ${thousands(progress.eventsPerSecond)} events/s, ETA ${progress.etaSeconds ?? '?'} s`,
        );
      },
    });
    const took = seconds(start);
    if (done.state !== 'switched') throw new Error(`${projection.name}: the rebuild ended ${done.state}: ${done.failure?.message ?? done.error}`);
    results.push({ name: projection.name, seconds: took, rate: events / took });
    log(`      switched at ${done.position} in ${took.toFixed(1)} s: ${thousands(events / took)} events/s`);
  }

  // What the rebuilt models hold: the energy the readings count (billing), every event (catalogue).
  const checks: string[] = [];
  if (PROJECTIONS.includes(billingProjection)) {
    const table = tableNames(schema, billingProjection);
    const { rows } = await sql.query<{ import_wh: string; export_wh: string }>(
      `SELECT trim_scale(sum(import_wh))::text AS import_wh, trim_scale(sum(export_wh))::text AS export_wh FROM ${table('session_intervals')}`,
    );
    if (rows[0]!.import_wh !== fill.billing.importWh || rows[0]!.export_wh !== fill.billing.exportWh) {
      throw new Error(`billing intervals hold ${rows[0]!.import_wh} Wh in, ${rows[0]!.export_wh} out; the readings count ${fill.billing.importWh} and ${fill.billing.exportWh}`);
    }
    checks.push(`billing energy ${fill.billing.importWh} Wh in, ${fill.billing.exportWh} out`);
  }
  if (PROJECTIONS.includes(catalogueProjection)) {
    const table = tableNames(schema, catalogueProjection);
    const { rows } = await sql.query<{ n: string }>(`SELECT sum(count)::text AS n FROM ${table('event_types')}`);
    if (Number(rows[0]!.n) !== events) throw new Error(`the catalogue counted ${rows[0]!.n} events, the log holds ${events}`);
    checks.push(`catalogue ${thousands(events)} events`);
  }

  const slowest = results.reduce((a, b) => (b.rate < a.rate ? b : a));
  const table = [
    ['case', 'events', 'seconds', 'events/s', 'x readAll'],
    [`store readAll (${BATCH}/read)`, thousands(read), readS.toFixed(2), thousands(readRate), '1.00'],
    ...results.map((r) => [`${r.name} rebuild`, thousands(events), r.seconds.toFixed(2), thousands(r.rate), (r.rate / readRate).toFixed(2)]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) process.stdout.write(`${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
  process.stdout.write(`slowest: ${slowest.name}; checked: ${checks.join('; ') || 'nothing'}\n`);
  const round = (n: number) => Math.round(n);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'rebuild',
      unit: 'events/s',
      value: round(slowest.rate),
      baseline: round(readRate),
      ratio: Math.round((slowest.rate / readRate) * 1000) / 1000,
      slowest: slowest.name,
      projections: Object.fromEntries(results.map((r) => [r.name, round(r.rate)])),
      seconds: Object.fromEntries(results.map((r) => [r.name, Math.round(r.seconds * 10) / 10])),
      events,
      batch: BATCH,
      read_s: Math.round(readS * 100) / 100,
      fill_s: Math.round(fillS * 10) / 10,
    })}\n`,
  );
} finally {
  await store.close();
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await sql.close();
}
