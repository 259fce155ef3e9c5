/**
 * The pure matching engine (`submitOrder`: plan + apply, integer ticks and Wh, no I/O) against the
 * npm library nodejs-order-book, on the same stream in the same run: 1,000,000 random limit orders
 * around a drifting, mean-reverting mid price. Most orders are quotes: 80% get a lifetime
 * (exponential, mean 1,000 orders) after which their trader cancels them, whether or not they still
 * rest, so the book keeps a steady, realistic size (~80 price levels a side) instead of piling up
 * stale orders. The cancels are extra operations: orders/s is the orders over the whole time.
 *
 * The stream is generated first (seeded, deterministic) and is not timed; each engine then runs it
 * from an empty book, the engines alternating run by run so that both see the same machine load
 * (this machine is shared). Reported: the median of RUNS runs after one warm-up run of each.
 *
 * Both engines must agree: the same traded volume, the same number of orders that traded on entry,
 * the same resting volume and best prices at the end (checked, and printed). To make them comparable
 * the stream avoids what they do differently:
 * - self-trade prevention: every order is its own trader's (our engine still compares the trader
 *   of every resting order it meets; the library skips its STP when given no accountId);
 * - prices are positive whole ticks (the library refuses prices <= 0), quantities whole steps;
 * - a cancel of an order that no longer rests is a no-op in both.
 *
 * Phases: each engine is a `Phase` in PHASES. ── To add a phase (e.g. end-to-end through the event
 * store), append a Phase to PHASES: it gets the same stream and reports its time and outcome; the
 * table, the agreement check and the JSON line pick it up. ──
 *
 * Settings (environment): BENCH_ORDERS (1,000,000), BENCH_RUNS (3), BENCH_QUOTE_SHARE (0.8) and
 * BENCH_MEAN_LIFETIME (1,000 orders). The library slows down as its book grows: with short-lived
 * quotes (BENCH_QUOTE_SHARE=1 BENCH_MEAN_LIFETIME=100, a book of ~40 orders) it runs near its
 * published figure; without cancels (BENCH_QUOTE_SHARE=0) the book reaches ~300,000 orders.
 *
 * The last line printed is one JSON object: `value` is our orders/s, `baseline` the library's.
 */
import { bookDepth, cancelResting, createMatchingBook, newEngineOrder, submitOrder, type EngineOrder, type PriceLimits } from '@v2g/domain';
import { OrderBook, Side } from 'nodejs-order-book';
import { prng } from '@v2g/testing/workloads';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEED = 0x6d61_7463;
const LIMITS: PriceLimits = { minTicks: 1, maxTicks: 1_000_000 };
/** Share of orders that are quotes with a lifetime, and its mean, in orders. */
const QUOTE_SHARE = Number(process.env.BENCH_QUOTE_SHARE ?? 0.8);
const MEAN_LIFETIME = Number(process.env.BENCH_MEAN_LIFETIME ?? 1000);

/** The stream: orders (side, price in ticks, quantity in Wh) and, after each, the cancels due. */
type Stream = {
  ids: string[];
  buy: Uint8Array;
  price: Int32Array;
  quantityWh: Int32Array;
  /** The cancels due after order i are the orders cancelVictims[cancelStart[i] .. cancelStart[i + 1]). */
  cancelStart: Int32Array;
  cancelVictims: Int32Array;
  /** 1 when a cancel of order i is due later: only those orders need to be kept at hand. */
  cancelled: Uint8Array;
};

function stream(n: number): Stream {
  const random = prng(SEED);
  const buy = new Uint8Array(n);
  const price = new Int32Array(n);
  const quantityWh = new Int32Array(n);
  const due: [at: number, victim: number][] = [];
  // The mid takes a step of one tick now and then, pulled back towards 5,000; an order sits at a
  // distance from the mid that is mostly passive (0..39 ticks on its own side, most near the mid)
  // and now and then aggressive (1..10 ticks through it): about 40% of the orders trade on entry.
  let mid = 5000;
  for (let i = 0; i < n; i++) {
    if (random() < 0.2) mid += random() < 0.5 + 0.001 * (5000 - mid) ? 1 : -1;
    const isBuy = random() < 0.5;
    const distance = random() < 0.75 ? Math.floor(random() * random() * 40) : -1 - Math.floor(random() * 10);
    buy[i] = isBuy ? 1 : 0;
    price[i] = isBuy ? mid - distance : mid + distance;
    quantityWh[i] = (1 + Math.floor(random() * random() * 50)) * 100;
    if (random() < QUOTE_SHARE) {
      const at = i + 1 + Math.floor(-Math.log(1 - random()) * MEAN_LIFETIME);
      if (at < n) due.push([at, i]);
    }
  }
  due.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cancelled = new Uint8Array(n);
  for (const [, victim] of due) cancelled[victim] = 1;
  const cancelStart = new Int32Array(n + 1);
  for (const [at] of due) cancelStart[at + 1]!++;
  for (let i = 0; i < n; i++) cancelStart[i + 1]! += cancelStart[i]!;
  return { ids: Array.from({ length: n }, (_, i) => `o${i}`), buy, price, quantityWh, cancelStart, cancelVictims: Int32Array.from(due, ([, victim]) => victim), cancelled };
}

const cancelsIn = (s: Stream, n: number): number => s.cancelStart[n]!;

type PhaseResult = {
  ms: number;
  tradedWh: number;
  /** Incoming orders that traded at least once. */
  takers: number;
  /** Fills (one per resting order met), when the engine tells. */
  fills: number | null;
  restingBuyWh: number;
  restingSellWh: number;
  bestBid: number | null;
  bestAsk: number | null;
};

type Phase = { name: string; run: (s: Stream, n: number) => PhaseResult };

const ours: Phase = {
  name: 'ours: submitOrder (pure)',
  run(s, n) {
    const book = createMatchingBook();
    // The orders a cancel will name, until it does (the library keeps its own index of resting orders).
    const pending: (EngineOrder | null)[] = new Array<EngineOrder | null>(n).fill(null);
    let tradedWh = 0;
    let takers = 0;
    let fills = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const id = s.ids[i]!;
      // Every order is its own trader's: see the header.
      const order = newEngineOrder(id, id, s.buy[i] === 1 ? 'buy' : 'sell', 'limit', s.price[i]!, s.quantityWh[i]!);
      const plan = submitOrder(book, order, LIMITS);
      if (plan.filledWh > 0) {
        tradedWh += plan.filledWh;
        takers++;
        fills += plan.fills.length;
      }
      if (s.cancelled[i] === 1) pending[i] = order;
      for (let c = s.cancelStart[i]!, end = s.cancelStart[i + 1]!; c < end; c++) {
        const victim = s.cancelVictims[c]!;
        cancelResting(book, pending[victim]!);
        pending[victim] = null;
      }
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const bids = bookDepth(book, 'buy');
    const asks = bookDepth(book, 'sell');
    return {
      ms,
      tradedWh,
      takers,
      fills,
      restingBuyWh: bids.reduce((sum, l) => sum + l.openWh, 0),
      restingSellWh: asks.reduce((sum, l) => sum + l.openWh, 0),
      bestBid: bids[0]?.priceTicks ?? null,
      bestAsk: asks[0]?.priceTicks ?? null,
    };
  },
};

const library: Phase = {
  name: 'nodejs-order-book',
  run(s, n) {
    const book = new OrderBook();
    let tradedWh = 0;
    let takers = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const size = s.quantityWh[i]!;
      const result = book.limit({ id: s.ids[i]!, side: s.buy[i] === 1 ? Side.BUY : Side.SELL, size, price: s.price[i]! });
      if (result.err !== null) throw new Error(`nodejs-order-book refused order ${i}: ${result.err.message}`);
      const traded = size - result.quantityLeft;
      if (traded > 0) {
        tradedWh += traded;
        takers++;
      }
      for (let c = s.cancelStart[i]!, end = s.cancelStart[i + 1]!; c < end; c++) book.cancel(s.ids[s.cancelVictims[c]!]!);
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const [asks, bids] = book.depth();
    return {
      ms,
      tradedWh,
      takers,
      fills: null,
      restingBuyWh: bids.reduce((sum, [, size]) => sum + size, 0),
      restingSellWh: asks.reduce((sum, [, size]) => sum + size, 0),
      bestBid: bids.length === 0 ? null : Math.max(...bids.map(([price]) => price)),
      bestAsk: asks.length === 0 ? null : Math.min(...asks.map(([price]) => price)),
    };
  },
};

/** Every phase runs the same stream. ── Add further phases (end-to-end through the event store) here. ── */
const PHASES: Phase[] = [ours, library];

const s = stream(ORDERS);
const warmup = Math.min(ORDERS, 200_000);
for (const phase of PHASES) phase.run(s, warmup);
const results = PHASES.map(() => [] as PhaseResult[]);
for (let r = 0; r < RUNS; r++) PHASES.forEach((phase, p) => results[p]!.push(phase.run(s, ORDERS)));

const median = (rs: PhaseResult[]): PhaseResult => rs.slice().sort((a, b) => a.ms - b.ms)[Math.floor(rs.length / 2)]!;
const rows = PHASES.map((phase, p) => ({ phase, result: median(results[p]!) }));
const perSecond = (r: PhaseResult) => Math.round(ORDERS / (r.ms / 1000));

const reference = rows[0]!.result;
const agree = (r: PhaseResult) =>
  r.tradedWh === reference.tradedWh &&
  r.takers === reference.takers &&
  r.restingBuyWh === reference.restingBuyWh &&
  r.restingSellWh === reference.restingSellWh &&
  r.bestBid === reference.bestBid &&
  r.bestAsk === reference.bestAsk;

const header = ['engine', 'orders/s', 'median ms', 'traded Wh', 'takers', 'fills', 'resting buy/sell Wh', 'best bid/ask', 'agrees'];
const table = [
  header,
  ...rows.map(({ phase, result: r }) => [
    phase.name,
    perSecond(r).toLocaleString('en'),
    r.ms.toFixed(0),
    r.tradedWh.toLocaleString('en'),
    r.takers.toLocaleString('en'),
    r.fills === null ? '' : r.fills.toLocaleString('en'),
    `${r.restingBuyWh.toLocaleString('en')} / ${r.restingSellWh.toLocaleString('en')}`,
    `${r.bestBid} / ${r.bestAsk}`,
    agree(r) ? 'yes' : 'NO',
  ]),
];
const widths = header.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
process.stdout.write(
  `matching bench: ${ORDERS.toLocaleString('en')} limit orders and ${cancelsIn(s, ORDERS).toLocaleString('en')} cancels (seed ${SEED}), median of ${RUNS} runs after a ${warmup.toLocaleString('en')}-order warm-up\n`,
);
for (const row of table) process.stdout.write(`${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}\n`);
const disagreeing = rows.filter(({ result }) => !agree(result));
if (disagreeing.length > 0) {
  process.stderr.write(`engines disagree on the outcome of the same stream: ${disagreeing.map((r) => r.phase.name).join(', ')}\n`);
  process.exitCode = 1;
}

const value = perSecond(rows[0]!.result);
const baseline = perSecond(rows[1]!.result);
process.stdout.write(
  `${JSON.stringify({
    bench: 'matching',
    unit: 'orders/s',
    value,
    baseline,
    ratio: Math.round((value / baseline) * 100) / 100,
    trades: reference.fills,
    tradedWh: reference.tradedWh,
    orders: ORDERS,
    cancels: cancelsIn(s, ORDERS),
    runs: RUNS,
    agrees: disagreeing.length === 0,
  })}\n`,
);
