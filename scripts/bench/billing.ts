/**
 * Rebuild of the billing read model from zero, beside the event store's own readAll of the same
 * log in the same run: the ratio says how much of the raw read throughput the projection keeps,
 * whatever the machine (issue 4's goal: at least 25%).
 *
 * On the PostgreSQL server (DATABASE_URL, else TEST_DATABASE_URL, else the local test server), in
 * a fresh schema dropped afterwards: fills the store with BENCH_BILLING_READINGS meter readings
 * (default 1,000,000) over BENCH_BILLING_SESSIONS sessions (default 5,000), some late, some sent
 * twice, some corrected, a few meter resets, plus plug-ins, stops, tariffs, assignments and spot
 * prices (packages/testing/src/workloads/billing-fill.ts), BENCH_BILLING_CHUNK events per append (default 25),
 * with a progress line. Then times (a) readAll of the whole log, 1,000 events a read and as many
 * as the rebuild reads at a time (the faster is the baseline), and (b) a ProjectionRunner catching
 * the billing projection up from zero, BENCH_BILLING_BATCH events a transaction (default 5,000),
 * and checks the energy in the intervals against what the readings add up to, to the mWh.
 *
 * The last line printed is one JSON object; `value` is the rebuild in events/s and `baseline` the
 * store's readAll in events/s.
 */
import { connectPostgres, openPostgresStore, SchemaRegistry, type SqlClient } from '@v2g/event-store';
import { ProjectionRunner } from '@v2g/ledger';
import { billingProjection } from '@v2g/projection-billing';
import { pino } from 'pino';
import { fillBilling } from '@v2g/testing/workloads';

const READINGS = Number(process.env.BENCH_BILLING_READINGS ?? 1_000_000);
const SESSIONS = Number(process.env.BENCH_BILLING_SESSIONS ?? 5_000);
const CHUNK = Number(process.env.BENCH_BILLING_CHUNK ?? 25);
const BATCH = Number(process.env.BENCH_BILLING_BATCH ?? 5_000);
const READ_BATCH = 1_000;
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const thousands = (n: number) => n.toLocaleString('en-US');

log(`billing bench: ${thousands(READINGS)} readings over ${thousands(SESSIONS)} sessions, ${CHUNK} events/append, rebuild in batches of ${BATCH}`);
let sql: SqlClient;
try {
  sql = await connectPostgres(url, { applicationName: 'v2g-bench-billing' });
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stdout.write(`server: skipped (${reason})\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'billing', unit: 'events/s', value: null, baseline: null, ratio: null, server_skipped: reason })}\n`);
  process.exit(0);
}

const schema = `bench_billing_${process.pid}`;
const readModel = `${schema}_rm`;
const store = await openPostgresStore({ sql, schema, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
try {
  const fillStart = process.hrtime.bigint();
  const fill = await fillBilling({
    store,
    readings: READINGS,
    sessions: SESSIONS,
    chunk: CHUNK,
    concurrency: 4,
    onProgress: (appended, total) => {
      const elapsed = seconds(fillStart);
      log(`  fill: ${thousands(appended)} / ~${thousands(total)} events (${((appended / total) * 100).toFixed(0)}%), ${thousands(Math.round(appended / elapsed))} ev/s`);
    },
  });
  const fillS = seconds(fillStart);
  log(`  filled ${thousands(fill.events)} events in ${fillS.toFixed(1)} s (${fill.late} late, ${fill.duplicates} doubled, ${fill.corrections} corrected, ${fill.resets} resets)`);
  // Hint bits and statistics: the first scan after a bulk load would write them, whichever comes first.
  await sql.query(`VACUUM ANALYZE ${schema}.events`);
  // The fill's dirty pages written out now, not during whichever measurement comes first.
  await sql.query('CHECKPOINT').catch((error: unknown) => log(`  (no CHECKPOINT: ${error instanceof Error ? error.message : String(error)})`));

  // (a) The store's own readAll of the whole log: 1,000 events a read (as the append bench reads),
  // and as many as the rebuild reads a time. The faster of the two is the baseline.
  const readAll = async (limit: number) => {
    log(`  (a) readAll of the whole log, ${thousands(limit)} events a read`);
    let read = 0;
    const start = process.hrtime.bigint();
    for (let after = 0n; ;) {
      const events = await store.readAll({ after, limit });
      if (events.length === 0) break;
      read += events.length;
      after = events.at(-1)!.globalPosition;
    }
    if (read !== fill.events) throw new Error(`readAll returned ${read} events, the fill appended ${fill.events}`);
    return { limit, seconds: seconds(start) };
  };
  const reads = [await readAll(READ_BATCH), ...(BATCH === READ_BATCH ? [] : [await readAll(BATCH)])];
  const fastest = reads.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const read = fill.events;
  const readS = fastest.seconds;

  // (b) The billing projection rebuilt from zero.
  log('  (b) billing rebuild from zero');
  const head = await store.headPosition();
  const runner = new ProjectionRunner({ store, sql, schema: readModel, projections: [billingProjection], logger: pino({ level: 'silent' }), batchSize: BATCH });
  const rebuildStart = process.hrtime.bigint();
  await runner.start();
  let lastLog = Date.now();
  for (;;) {
    const [status] = await runner.status();
    if (status!.failure) throw new Error(`billing projection failed: ${status!.failure.message} at ${status!.failure.position}`);
    if (status!.checkpoint >= head) break;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`  rebuild: at ${thousands(Number(status!.checkpoint))} / ${thousands(Number(head))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const rebuildS = seconds(rebuildStart);
  await runner.stop();

  // The energy the intervals hold is what the readings count, to the mWh.
  const table = runner.tables(billingProjection);
  const { rows } = await sql.query<{ import_wh: string; export_wh: string; intervals: string; points: string }>(
    `SELECT trim_scale(sum(import_wh))::text AS import_wh, trim_scale(sum(export_wh))::text AS export_wh, count(*)::text AS intervals,
            (SELECT count(*) FROM ${table('readings')})::text AS points
       FROM ${table('session_intervals')}`,
  );
  const totals = rows[0]!;
  if (totals.import_wh !== fill.importWh || totals.export_wh !== fill.exportWh) {
    throw new Error(`intervals hold ${totals.import_wh} Wh imported and ${totals.export_wh} exported; the readings count ${fill.importWh} and ${fill.exportWh}`);
  }

  const readRate = read / readS;
  const rebuildRate = fill.events / rebuildS;
  const ratio = Math.round((rebuildRate / readRate) * 1000) / 1000;
  const table_ = [
    ['case', 'events', 'seconds', 'events/s'],
    ...reads.map((r) => [`store readAll (${r.limit}/read)`, thousands(read), r.seconds.toFixed(2), thousands(Math.round(read / r.seconds))]),
    [`billing rebuild (${BATCH}/batch)`, thousands(fill.events), rebuildS.toFixed(2), thousands(Math.round(rebuildRate))],
  ];
  const widths = table_[0]!.map((_, c) => Math.max(...table_.map((r) => r[c]!.length)));
  for (const r of table_) process.stdout.write(`${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
  process.stdout.write(
    `rebuild/readAll (the faster) = ${ratio.toFixed(3)} (goal >= 0.25: ${ratio >= 0.25 ? 'met' : 'MISSED'}); ${thousands(Number(totals.intervals))} interval rows, ` +
      `${thousands(Number(totals.points))} meter points; energy checked: ${totals.import_wh} Wh in, ${totals.export_wh} Wh out\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'billing',
      unit: 'events/s',
      value: Math.round(rebuildRate),
      baseline: Math.round(readRate),
      ratio,
      events: fill.events,
      meter_events: fill.meterEvents,
      readings: READINGS,
      sessions: SESSIONS,
      late: fill.late,
      duplicates: fill.duplicates,
      corrections: fill.corrections,
      resets: fill.resets,
      events_per_append: CHUNK,
      batch: BATCH,
      rebuild_s: Math.round(rebuildS * 100) / 100,
      read_s: Math.round(readS * 100) / 100,
      ...Object.fromEntries(reads.map((r) => [`read_${r.limit}`, Math.round(read / r.seconds)])),
      fill_s: Math.round(fillS * 10) / 10,
      interval_rows: Number(totals.intervals),
    })}\n`,
  );
} finally {
  await store.close();
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await sql.query(`DROP SCHEMA IF EXISTS ${readModel} CASCADE`).catch(() => {});
  await sql.close();
}
