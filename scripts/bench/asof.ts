/**
 * As-of answers on a big log: an invoice "as known at" a moment and the settlement statement in
 * force then, from the read models (billing's history tables, settlement's statements by
 * recorded_at: index lookups), beside today's reference in the same run: the same invoice from a
 * replay of the whole log into a throw-away schema (what `invoice(asOf)` did before), and the
 * statement from a read of the period's settlement stream (what `settlementStatement(asOf)` did).
 * Every replayed invoice is compared with the indexed one: the bench fails if they differ.
 *
 * On the PostgreSQL server (DATABASE_URL, else TEST_DATABASE_URL, else the local test server), in
 * a fresh schema dropped afterwards. The log: ASOF_EVENTS events (default 1,000,000; the billing
 * fill's sessions and readings with history woven in, scripts/bench/lib/asof-fill.ts) over
 * ASOF_SESSIONS sessions (default 5,000), ASOF_CHUNK events per append (default 200); then the
 * billing and settlement projections catch up from zero. Then ASOF_QUERIES as-of invoices (default
 * 200: half of fleets with ~100 sessions, half of drivers with one or two; half at random moments
 * of the log, half near its end) and as many statements, and ASOF_REPLAYS replays (default 3).
 *
 * The last line printed is one JSON object: `value` the indexed invoice's p50 (ms), `baseline` the
 * replay's p50 (ms), `ratio` value / baseline, and the statement's figures beside them.
 */
import { buildInvoice, monthRange, settlementStreamId, type Invoice, type SettlementStatement } from '@v2g/domain';
import { connectPostgres, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { ProjectionRunner, replayProjection, type ReplayProgress, type TableNames } from '@v2g/ledger';
import { billingInput, billingInputAsOf, billingProjection } from '@v2g/projection-billing';
import { settlementProjection, statementInForceAt } from '@v2g/projection-settlement';
import { pino } from 'pino';
import { prng } from '@v2g/testing/workloads';
import { ASOF_ZONE, fillAsOf } from './lib/asof-fill.ts';

const EVENTS = Number(process.env.ASOF_EVENTS ?? 1_000_000);
const SESSIONS = Number(process.env.ASOF_SESSIONS ?? 5_000);
const CHUNK = Number(process.env.ASOF_CHUNK ?? 200);
const QUERIES = Number(process.env.ASOF_QUERIES ?? 200);
const REPLAYS = Number(process.env.ASOF_REPLAYS ?? 3);
const BATCH = 5_000;
const MONTH = '2026-11';
const GOAL_MS = 200;
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
const log = (line: string) => process.stderr.write(`${line}\n`);
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const round = (x: number) => Math.round(x * 10) / 10;

/** A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise. */
function progressBar(label: string): { update(done: number, total: number, extra?: string): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let lastTenth = -1;
  let lastDraw = 0;
  return {
    update(done, total, extra = '') {
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
      const line = `  ${label} [${'#'.repeat(Math.round(fraction * 30)).padEnd(30, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}% ${thousands(done)} / ${thousands(total)} events, ${thousands(rate)} ev/s${extra}`;
      if (tty) {
        if (Date.now() - lastDraw < 100 && fraction < 1) return;
        lastDraw = Date.now();
        process.stderr.write(`\r${line}\u001b[K`);
      } else if (Math.floor(fraction * 10) > lastTenth) {
        lastTenth = Math.floor(fraction * 10);
        log(line);
      }
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The statement in force at asOf as `settlementStatement(asOf)` answered before: from the period's settlement stream. */
async function statementFromStream(store: EventStore, periodStart: string, asOfMs: number): Promise<{ statement: SettlementStatement; position: bigint } | null> {
  let found: { statement: SettlementStatement; position: bigint } | null = null;
  for (const event of await store.readStream(settlementStreamId(ASOF_ZONE, periodStart))) {
    if (event.type !== 'SettlementPeriodClosed' || Date.parse(event.metadata.recordedAt) > asOfMs) continue;
    const statement = event.data as SettlementStatement;
    if (found === null || statement.revision > found.statement.revision) found = { statement, position: event.globalPosition };
  }
  return found;
}

async function invoiceIndexed(sql: SqlClient, table: TableNames, accountId: string, asOf: string): Promise<Invoice> {
  const { startMs, endMs } = monthRange(MONTH);
  const input = await billingInputAsOf(sql, table, accountId, { from: new Date(startMs).toISOString(), to: new Date(endMs).toISOString(), asOf });
  return buildInvoice(input, accountId, MONTH);
}

log(`as-of bench: ~${thousands(EVENTS)} events over ${thousands(SESSIONS)} sessions, ${CHUNK} events/append; ${QUERIES} indexed questions of each kind, ${REPLAYS} replays`);
let sql: SqlClient;
try {
  sql = await connectPostgres(url, { applicationName: 'v2g-bench-asof' });
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stdout.write(`server: skipped (${reason})\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'asof', unit: 'ms', value: null, baseline: null, ratio: null, server_skipped: reason })}\n`);
  process.exit(0);
}

const schema = `bench_asof_${process.pid}`;
const readModel = `${schema}_rm`;
const store = await openPostgresStore({ sql, schema, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
try {
  // 1. The log.
  const fillStart = process.hrtime.bigint();
  const fillBar = progressBar('fill   ');
  const fill = await fillAsOf({ store, events: EVENTS, sessions: SESSIONS, chunk: CHUNK, concurrency: 4, onProgress: (done, total) => fillBar.update(done, total) });
  fillBar.update(fill.events, fill.events);
  fillBar.end();
  const fillS = ms(fillStart) / 1000;
  log(
    `  filled ${thousands(fill.events)} events in ${fillS.toFixed(1)} s (${fill.woven} of them history: tariff switches and re-definitions, ${fill.periods.length} settlement periods)`,
  );
  await sql.query(`VACUUM ANALYZE ${schema}.events`);
  const head = await store.headPosition();

  // 2. The read models, from zero.
  const catchUpStart = process.hrtime.bigint();
  const runner = new ProjectionRunner({
    store,
    sql,
    schema: readModel,
    projections: [billingProjection, settlementProjection],
    logger: pino({ level: 'silent' }),
    batchSize: BATCH,
  });
  await runner.start();
  const catchUpBar = progressBar('catch-up');
  for (;;) {
    const statuses = await runner.status();
    const failed = statuses.find((s) => s.failure);
    if (failed) throw new Error(`${failed.name} failed: ${failed.failure!.message} at ${failed.failure!.position}`);
    const slowest = statuses.reduce((a, b) => (b.checkpoint < a.checkpoint ? b : a));
    catchUpBar.update(Number(slowest.checkpoint), Number(head));
    if (slowest.checkpoint >= head) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  catchUpBar.end();
  await runner.stop();
  const catchUpS = ms(catchUpStart) / 1000;
  const billing = runner.tables(billingProjection);
  const settlement = runner.tables(settlementProjection);
  for (const table of ['session_history', 'tariff_history', 'assignment_history', 'prices']) await sql.query(`ANALYZE ${billing(table)}`);
  await sql.query(`ANALYZE ${settlement('statements')}`);
  const { rows: sizes } = await sql.query<{ history: string }>(`SELECT count(*)::text AS history FROM ${billing('session_history')}`);
  log(`  billing and settlement caught up in ${catchUpS.toFixed(1)} s; ${thousands(Number(sizes[0]!.history))} session history rows`);

  // Moments to ask about: anywhere in the log's recorded time.
  const [first] = await store.readAll({ after: 0n, limit: 1 });
  const [last] = await store.readAll({ after: head - 1n, limit: 1 });
  const fromMs = Date.parse(first!.metadata.recordedAt);
  const toMs = Date.parse(last!.metadata.recordedAt);
  const random = prng(0xa5);
  const moment = () => new Date(fromMs + Math.floor(random() * (toMs - fromMs + 1))).toISOString();
  // Near the end of the log, when almost everything is known: the dearest case for the indexed answer.
  const lateMoment = () => new Date(toMs - Math.floor(random() * (toMs - fromMs + 1) * 0.05)).toISOString();
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;

  // 3. Indexed: invoices (fleets and drivers) and statements.
  log(`  (a) ${QUERIES} as-of invoices and ${QUERIES} as-of statements from the read models`);
  await invoiceIndexed(sql, billing, fill.fleets[0]!, moment()); // warm-up: plans and caches
  const fleetMs: number[] = [];
  const driverMs: number[] = [];
  const lateMs: number[] = [];
  let lines = 0;
  for (let q = 0; q < QUERIES; q++) {
    // Fleets and drivers in turn; every other question about a moment near the end of the log.
    const fleet = q % 2 === 0;
    const late = q % 4 < 2;
    const accountId = pick(fleet ? fill.fleets : fill.customers);
    const start = process.hrtime.bigint();
    const invoice = await invoiceIndexed(sql, billing, accountId, late ? lateMoment() : moment());
    const elapsed = ms(start);
    (fleet ? fleetMs : driverMs).push(elapsed);
    if (late) lateMs.push(elapsed);
    lines += invoice.lines.length;
  }
  const invoiceMs = [...fleetMs, ...driverMs];
  const statementMs: number[] = [];
  const streamMs: number[] = [];
  for (let q = 0; q < QUERIES; q++) {
    const { periodStart } = pick(fill.periods);
    const asOf = moment();
    const start = process.hrtime.bigint();
    const indexed = await statementInForceAt(sql, settlement, ASOF_ZONE, periodStart, asOf);
    statementMs.push(ms(start));
    const streamStart = process.hrtime.bigint();
    const fromStream = await statementFromStream(store, periodStart, Date.parse(asOf));
    streamMs.push(ms(streamStart));
    if ((indexed?.position ?? null) !== (fromStream?.position ?? null)) {
      throw new Error(`statement ${periodStart} as of ${asOf}: the read model says position ${indexed?.position}, the stream ${fromStream?.position}`);
    }
  }

  // 4. The reference: the same invoice from a replay of the whole log as of the moment.
  const replayMs: number[] = [];
  for (let r = 0; r < REPLAYS; r++) {
    const accountId = pick(r % 2 === 0 ? fill.fleets : fill.customers);
    // A replay costs the same at any moment (it reads the whole log); a late one has something to compare.
    const asOf = lateMoment();
    const bar = progressBar(`replay ${r + 1}/${REPLAYS}`);
    const start = process.hrtime.bigint();
    const replay = await replayProjection({
      store,
      sql,
      projection: billingProjection,
      asOf: { instant: asOf },
      batchSize: BATCH,
      onProgress: (p: ReplayProgress) => bar.update(Number(p.scannedThrough), Number(p.target)),
    });
    let replayed: Invoice;
    try {
      const { startMs, endMs } = monthRange(MONTH);
      replayed = buildInvoice(await billingInput(sql, replay.tables, accountId, { from: new Date(startMs).toISOString(), to: new Date(endMs).toISOString() }), accountId, MONTH);
    } finally {
      await replay.drop();
    }
    const elapsed = ms(start);
    bar.end();
    replayMs.push(elapsed);
    const indexed = await invoiceIndexed(sql, billing, accountId, asOf);
    if (JSON.stringify(indexed) !== JSON.stringify(replayed))
      throw new Error(`${accountId} as of ${asOf}: the indexed invoice differs from the replay's\n${JSON.stringify(indexed)}\n${JSON.stringify(replayed)}`);
    log(
      `    ${accountId} as of ${asOf}: replay ${thousands(elapsed)} ms (${thousands(replay.events)} events applied), total ${replayed.totalMinor}: the indexed answer is the same`,
    );
  }

  const p50 = percentile(invoiceMs, 50);
  const baseline = percentile(replayMs, 50);
  const table = [
    ['case', 'n', 'p50 ms', 'p95 ms', 'max ms'],
    ['invoice as of, indexed (all)', invoiceMs],
    ['  of a fleet (~100 sessions)', fleetMs],
    ['  of a driver (1-2 sessions)', driverMs],
    ['  at a moment in the last 5%', lateMs],
    ['invoice as of, replay of the log', replayMs],
    ['statement as of, indexed', statementMs],
    ['statement as of, stream read', streamMs],
  ].map((row) =>
    typeof row[1] === 'string'
      ? (row as string[])
      : [row[0] as string, String((row[1] as number[]).length), ...[50, 95, 100].map((p) => round(percentile(row[1] as number[], p)).toFixed(1))],
  );
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) process.stdout.write(`${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
  process.stdout.write(
    `invoice as of: p50 ${round(p50)} ms (goal < ${GOAL_MS} ms: ${p50 < GOAL_MS ? 'met' : 'MISSED'}), replay p50 ${thousands(baseline)} ms, ${thousands(baseline / p50)}x faster; ${thousands(fill.events)} events\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'asof',
      unit: 'ms',
      value: round(p50),
      baseline: Math.round(baseline),
      ratio: Math.round((p50 / baseline) * 1e5) / 1e5,
      speedup: Math.round(baseline / p50),
      invoice_p95_ms: round(percentile(invoiceMs, 95)),
      invoice_fleet_p50_ms: round(percentile(fleetMs, 50)),
      invoice_driver_p50_ms: round(percentile(driverMs, 50)),
      invoice_late_p50_ms: round(percentile(lateMs, 50)),
      statement_p50_ms: round(percentile(statementMs, 50)),
      statement_p95_ms: round(percentile(statementMs, 95)),
      statement_stream_p50_ms: round(percentile(streamMs, 50)),
      events: fill.events,
      sessions: SESSIONS,
      periods: fill.periods.length,
      queries: QUERIES,
      replays: REPLAYS,
      invoice_lines: lines,
      events_per_append: CHUNK,
      fill_s: round(fillS),
      catch_up_s: round(catchUpS),
    })}\n`,
  );
} finally {
  await store.close();
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await sql.query(`DROP SCHEMA IF EXISTS ${readModel} CASCADE`).catch(() => {});
  await sql.close();
}
