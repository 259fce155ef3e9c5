/**
 * Orders end to end, through the MarketService into the PostgreSQL server event store, beside the
 * store's own single-append rate measured in the same run.
 *
 * On the PostgreSQL server (DATABASE_URL, else TEST_DATABASE_URL, else the local test server), in a
 * fresh schema dropped afterwards:
 * - baseline: BENCH_MARKET_SINGLE appends of one event each (default 2,000), one after the other,
 *   through the same store (schema validation, hash chain, idempotency record): appends/s;
 * - the market: one zone with a 15-minute continuous product, BENCH_MARKET_TRADERS traders (default
 *   20) and BENCH_MARKET_BOOKS books (default 48: twelve hours of quarter hours), then
 *   BENCH_MARKET_ORDERS random orders (default 100,000; 90% limit, 10% immediate-or-cancel, prices
 *   around a mid so that about a third trade at once) in submitOrders batches of BENCH_MARKET_BATCH
 *   (default 100), BENCH_MARKET_CONCURRENCY submits in flight at a time (default 16) spread over the
 *   books. Each submit is the whole use case: the zone's products and participants loaded, the
 *   product resolved, the traders checked, the book loaded (cached), decided (matching), and its
 *   orders, trades and cancels appended in one transaction. Commands on one book queue in the
 *   service; different books run in parallel.
 * It then checks what the log holds: every order accepted once, none filled (and cancelled) beyond
 * its quantity, no trade between one trader's own orders.
 *
 * The last line printed is one JSON object; `value` is orders/s end to end and `baseline` the single
 * appends/s of the same store (issue 5's goal: at least 5,000 orders/s on the server).
 */
import { randomUUID } from 'node:crypto';
import { connectPostgres, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { CommandHandler, MarketService, type OrderInput } from '@v2g/ledger';
import { BENCH_PRODUCT, prng } from '@v2g/testing/workloads';

const SINGLE = Number(process.env.BENCH_MARKET_SINGLE ?? 2_000);
const ORDERS = Number(process.env.BENCH_MARKET_ORDERS ?? 100_000);
const BATCH = Number(process.env.BENCH_MARKET_BATCH ?? 100);
const BOOKS = Number(process.env.BENCH_MARKET_BOOKS ?? 48);
const TRADERS = Number(process.env.BENCH_MARKET_TRADERS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_MARKET_CONCURRENCY ?? 16);
const GOAL = 5_000;
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

const url = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

const ZONE = 'BENCH';
/** The books deliver from here on, a quarter hour each; the service's clock stays an hour before. */
const FIRST_DELIVERY = Date.UTC(2026, 10, 28, 12, 0, 0);
const NOW = FIRST_DELIVERY - 3_600_000;
const MID = 8_000;

/** Random limit (90%) and IOC (10%) orders: buys mostly below the mid, sells mostly above, some crossing. */
function batchOf(random: () => number, size: number, next: () => number): OrderInput[] {
  return Array.from({ length: size }, () => {
    const buy = random() < 0.5;
    const ticks = Math.floor(random() * 50);
    const price = buy ? MID - 40 + ticks : MID - 10 + ticks;
    return {
      clientOrderId: `c${next()}`,
      traderId: `trader-${Math.floor(random() * TRADERS)}`,
      side: buy ? 'buy' : 'sell',
      orderType: random() < 0.9 ? 'limit' : 'ioc',
      quantityKWh: String((1 + Math.floor(random() * 100)) / 10),
      limitPriceMinorPerMWh: String(price),
    };
  });
}

async function singleAppends(store: EventStore, count: number): Promise<number> {
  const streams = Array.from({ length: 50 }, () => `marketzone-base${randomUUID().slice(0, 8)}`);
  const append = (i: number) =>
    store.append(streams[Math.abs(i) % streams.length]!, [{ type: 'ParticipantRegistered', data: { zone: 'BASE', participantId: `p-${i}`, name: `Participant ${i}` } }], {
      expectedVersion: 'any',
      commandId: randomUUID(),
      actor: 'bench',
    });
  for (let i = 0; i < 50; i++) await append(-1 - i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await append(i);
  return count / seconds(start);
}

type MarketRun = { orders: number; batches: number; seconds: number; events: number; trades: number; tradedWh: string };

async function market(store: EventStore, sql: SqlClient, schema: string): Promise<MarketRun> {
  const commands = new CommandHandler(store);
  const service = new MarketService(store, commands, { clock: () => NOW });
  const ctx = () => ({ commandId: randomUUID(), actor: 'bench' });
  await service.configureZone({ zone: ZONE, currency: 'EUR', imbalancePriceZone: ZONE, products: [BENCH_PRODUCT] }, ctx());
  for (let t = 0; t < TRADERS; t++) await service.registerParticipant({ zone: ZONE, participantId: `trader-${t}`, name: `Trader ${t}` }, ctx());
  const books = Array.from({ length: BOOKS }, (_, b) => ({ zone: ZONE, deliveryStart: new Date(FIRST_DELIVERY + b * 900_000).toISOString(), lengthMinutes: 15 }));
  const random = prng(0x5eed);
  let counter = 0;
  const next = () => ++counter;

  // Warm-up: every book opened with a small batch (JIT, plan caches, the pool's connections).
  await Promise.all(books.map((book) => service.submitOrders({ ...book, orders: batchOf(random, 10, next) }, ctx())));
  const warmOrders = BOOKS * 10;

  const batches = Math.ceil(ORDERS / BATCH);
  let issued = 0;
  let done = 0;
  let lastLog = Date.now();
  const start = process.hrtime.bigint();
  const worker = async () => {
    for (;;) {
      const i = issued++;
      if (i >= batches) return;
      const size = Math.min(BATCH, ORDERS - i * BATCH);
      await service.submitOrders({ ...books[i % BOOKS]!, orders: batchOf(random, size, next) }, ctx());
      done += size;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`  ${thousands(done)} / ${thousands(ORDERS)} orders, ${thousands(done / seconds(start))} orders/s`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = seconds(start);

  const { rows } = await sql.query<{ type: string; count: string }>(
    `SELECT type, count(*)::text AS count FROM ${schema}.events
      WHERE stream_id LIKE 'market-%' GROUP BY type`,
  );
  const count = (type: string) => Number(rows.find((r) => r.type === type)?.count ?? 0);
  const accepted = count('OrderAccepted');
  if (accepted !== ORDERS + warmOrders) throw new Error(`the log holds ${accepted} accepted orders; ${ORDERS + warmOrders} were submitted`);
  // No order filled (and cancelled) beyond its quantity; no trade between one trader's own orders.
  const E = `${schema}.events`;
  const checks = await sql.query<{ overfilled: string; self_trades: string; traded_wh: string | null }>(
    `WITH accepted AS (SELECT stream_id, data->>'orderId' AS id, (data->>'quantityWh')::numeric AS q FROM ${E} WHERE type = 'OrderAccepted'),
          used AS (SELECT stream_id, data->>'buyOrderId' AS id, (data->>'quantityWh')::numeric AS q FROM ${E} WHERE type = 'TradeExecuted'
                   UNION ALL SELECT stream_id, data->>'sellOrderId', (data->>'quantityWh')::numeric FROM ${E} WHERE type = 'TradeExecuted'
                   UNION ALL SELECT stream_id, data->>'orderId', (data->>'remainingWh')::numeric FROM ${E} WHERE type = 'OrderCancelled'),
          per_order AS (SELECT stream_id, id, sum(q) AS q FROM used GROUP BY stream_id, id)
     SELECT (SELECT count(*) FROM accepted a JOIN per_order u USING (stream_id, id) WHERE u.q > a.q)::text AS overfilled,
            (SELECT count(*) FROM ${E} WHERE type = 'TradeExecuted' AND data->>'buyerId' = data->>'sellerId')::text AS self_trades,
            (SELECT sum((data->>'quantityWh')::numeric) FROM ${E} WHERE type = 'TradeExecuted')::text AS traded_wh`,
  );
  const check = checks.rows[0]!;
  if (check.overfilled !== '0' || check.self_trades !== '0') throw new Error(`${check.overfilled} orders filled beyond their quantity, ${check.self_trades} self-trades`);
  return {
    orders: ORDERS,
    batches,
    seconds: elapsed,
    events: rows.reduce((sum, r) => sum + Number(r.count), 0),
    trades: count('TradeExecuted'),
    tradedWh: check.traded_wh ?? '0',
  };
}

log(`market bench: ${thousands(SINGLE)} single appends; ${thousands(ORDERS)} orders in batches of ${BATCH} over ${BOOKS} books, ${CONCURRENCY} in flight, ${TRADERS} traders`);
let sql: SqlClient;
try {
  sql = await connectPostgres(url, { applicationName: 'v2g-bench-market', maxConnections: Math.max(10, CONCURRENCY) });
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stdout.write(`server: skipped (${reason})\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'market', unit: 'orders/s', value: null, baseline: null, ratio: null, server_skipped: reason })}\n`);
  process.exit(0);
}
const schema = `bench_market_${process.pid}`;
const store = await openPostgresStore({ sql, schema, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
try {
  log('  baseline: single appends');
  const single = await singleAppends(store, SINGLE);
  log(`  ${thousands(single)} appends/s`);
  log('  orders through the MarketService');
  const run = await market(store, sql, schema);
  const rate = run.orders / run.seconds;
  const ratio = Math.round((rate / single) * 1000) / 1000;
  const table = [
    ['case', 'count', 'seconds', 'per second'],
    ['store: single appends (1 event each)', thousands(SINGLE), (SINGLE / single).toFixed(2), thousands(single)],
    [`market: orders (${BATCH}/submitOrders, ${BOOKS} books)`, thousands(run.orders), run.seconds.toFixed(2), thousands(rate)],
    ['  events they appended', thousands(run.events), '', thousands(run.events / run.seconds)],
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) process.stdout.write(`${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
  process.stdout.write(
    `orders/s = ${thousands(rate)} (goal >= ${thousands(GOAL)}: ${rate >= GOAL ? 'met' : 'MISSED'}), ${ratio.toFixed(1)}x the single-append rate; ` +
      `${thousands(run.trades)} trades (${run.tradedWh} Wh); every order in the log once, none filled beyond its quantity, no self-trade\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'market',
      unit: 'orders/s',
      value: Math.round(rate),
      baseline: Math.round(single),
      ratio,
      orders: run.orders,
      batch: BATCH,
      books: BOOKS,
      concurrency: CONCURRENCY,
      trades: run.trades,
      events: run.events,
      seconds: Math.round(run.seconds * 100) / 100,
    })}\n`,
  );
} finally {
  await store.close();
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await sql.close();
}
