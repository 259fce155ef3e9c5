/**
 * Properties of continuous matching, attacked with random command sequences on a small, busy book
 * (4 traders, 11 price ticks, every order type, amendments, cancels, batches):
 * - every trade is within both orders' limits and never between one trader's own orders;
 * - quantities are conserved per order (filled + resting + cancelled + expired = quantity) and
 *   each trade fills a buy and a sell by the same amount;
 * - the book is never crossed at rest;
 * - price-time priority: the decider and the bare engine make exactly the fills of a naive
 *   reference matcher (a sort of the whole opposite side per order: obviously right, O(n²));
 * - a FOK order fills in full or not at all; an IOC order never rests;
 * - decide never mutates its input state; a batch decides like its orders one by one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { FIXTURE_AT, FIXTURE_GATE, FIXTURE_PRODUCT, orderRequest, submitOrders } from './market-fixtures.ts';
import type { OrderBookCommand, OrderBookEvent, OrderRequest, OrderType, ProductSpec, Side } from './market-types.ts';
import { bestPriceTicks, createMatchingBook, newEngineOrder, submitOrder, cancelResting, restingOrders, type EngineOrder } from './matching-engine.ts';
import { orderBookDecider, type OrderBookState } from './order-book.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const MIN = 90;
const MAX = 110;
const STEP = 100;
const PRODUCT: ProductSpec = { ...FIXTURE_PRODUCT, minPriceMinorPerMWh: String(MIN), maxPriceMinorPerMWh: String(MAX) };
const TRADERS = ['t0', 't1', 't2', 't3'];

// ---- the naive reference matcher ----------------------------------------------------------------

type RefOrder = { id: string; trader: string; side: Side; type: OrderType; price: number | null; quantity: number; filled: number; seq: number };
type RefFill = { restingId: string; quantityWh: number; priceTicks: number };
type RefResult = { refused: boolean; fills: RefFill[]; rests: boolean; cancelled: { remainingWh: number; reason: string } | null };

/** Keeps the resting orders in a plain list; every incoming order sorts the whole opposite side. */
class ReferenceBook {
  resting: RefOrder[] = [];
  private seq = 0;

  submit(order: RefOrder): RefResult {
    const buy = order.side === 'buy';
    const limit = order.price ?? (buy ? MAX : MIN);
    const opposite = this.resting.filter((r) => r.side !== order.side).sort((a, b) => (buy ? a.price! - b.price! : b.price! - a.price!) || a.seq - b.seq);
    let remaining = order.quantity - order.filled;
    const fills: RefFill[] = [];
    let selfTrade = false;
    let sawAny = false;
    for (const r of opposite) {
      if (buy ? r.price! > limit : r.price! < limit) break;
      sawAny = true;
      if (r.trader === order.trader) {
        selfTrade = true;
        break;
      }
      const q = Math.min(remaining, r.quantity - r.filled);
      fills.push({ restingId: r.id, quantityWh: q, priceTicks: r.price! });
      remaining -= q;
      if (remaining === 0) break;
    }
    if (order.type === 'fok' && remaining > 0) return { refused: true, fills: [], rests: false, cancelled: null };
    if (order.type === 'market' && !sawAny) return { refused: true, fills: [], rests: false, cancelled: null };
    for (const f of fills) {
      const r = this.resting.find((x) => x.id === f.restingId)!;
      r.filled += f.quantityWh;
      if (r.filled === r.quantity) this.resting = this.resting.filter((x) => x !== r);
    }
    order.filled = order.quantity - remaining;
    if (remaining === 0) return { refused: false, fills, rests: false, cancelled: null };
    if (selfTrade) return { refused: false, fills, rests: false, cancelled: { remainingWh: remaining, reason: 'self_trade_prevented' } };
    if (order.type === 'limit') {
      order.seq = ++this.seq;
      this.resting.push(order);
      return { refused: false, fills, rests: true, cancelled: null };
    }
    return { refused: false, fills, rests: false, cancelled: { remainingWh: remaining, reason: 'unfilled_remainder' } };
  }

  find(id: string): RefOrder | undefined {
    return this.resting.find((r) => r.id === id);
  }

  cancel(id: string): void {
    this.resting = this.resting.filter((r) => r.id !== id);
  }

  /** Quantity down at the same price keeps the place; anything else re-enters as a new aggressor. */
  amend(id: string, quantity: number, price: number): RefResult {
    const r = this.find(id)!;
    if (price === r.price && quantity < r.quantity) {
      r.quantity = quantity;
      return { refused: false, fills: [], rests: true, cancelled: null };
    }
    this.cancel(id);
    return this.submit({ ...r, quantity, price });
  }
}

// ---- random commands ------------------------------------------------------------------------------

type SubmitOp = { kind: 'submit'; trader: number; side: Side; type: OrderType; steps: number; price: number };
type Op =
  | SubmitOp
  | { kind: 'batch'; orders: SubmitOp[] }
  | { kind: 'cancel'; pick: number; wrongTrader: boolean }
  /** down: a smaller quantity only (keeps priority); up: a larger one; price: a new price only; or a new price with either. */
  | { kind: 'amend'; pick: number; mode: AmendMode; steps: number; price: number };
type AmendMode = 'down' | 'up' | 'price' | 'down+price' | 'up+price';

const submitOp: fc.Arbitrary<SubmitOp> = fc.record({
  kind: fc.constant('submit' as const),
  trader: fc.integer({ min: 0, max: TRADERS.length - 1 }),
  side: fc.constantFrom<Side>('buy', 'sell'),
  type: fc.constantFrom<OrderType>('limit', 'limit', 'limit', 'limit', 'limit', 'ioc', 'fok', 'market'),
  steps: fc.integer({ min: 1, max: 10 }),
  price: fc.integer({ min: 97, max: 103 }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: submitOp },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), orders: fc.array(submitOp, { minLength: 2, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(), wrongTrader: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('amend' as const),
      pick: fc.nat(),
      mode: fc.constantFrom<AmendMode>('down', 'up', 'price', 'down+price', 'up+price'),
      steps: fc.integer({ min: 1, max: 6 }),
      price: fc.integer({ min: 97, max: 103 }),
    }),
  },
);
const ops = fc.array(op, { minLength: 5, maxLength: 50, size: 'max' });

// ---- running both -------------------------------------------------------------------------------

type TradeData = Extract<OrderBookEvent, { type: 'TradeExecuted' }>['data'];
const tradesOf = (events: OrderBookEvent[]): TradeData[] => events.flatMap((e) => (e.type === 'TradeExecuted' ? [e.data] : []));

type Run = {
  state: OrderBookState;
  events: OrderBookEvent[];
  /** Each order's limit price (ticks, null for market) as it was when each of its trades executed. */
  limitAt: Map<string, number | null>;
  tradeLimits: { trade: TradeData; buyLimit: number | null; sellLimit: number | null }[];
};

function request(id: string, o: SubmitOp): OrderRequest {
  return orderRequest(id, TRADERS[o.trader]!, o.side, o.type, o.steps * STEP, o.type === 'market' ? null : o.price);
}

const refOrder = (r: OrderRequest): RefOrder => ({
  id: r.orderId,
  trader: r.traderId,
  side: r.side,
  type: r.orderType,
  price: r.limitPriceMinorPerMWh === null ? null : Number(r.limitPriceMinorPerMWh),
  quantity: Number(r.quantityWh),
  filled: 0,
  seq: 0,
});

/** The reference's answer, in the shape of the decider's events (trades and cancels of `aggressor`). */
function expectedEvents(aggressor: RefOrder, result: RefResult): unknown[] {
  const out: unknown[] = result.fills.map((f) => ({
    buyOrderId: aggressor.side === 'buy' ? aggressor.id : f.restingId,
    sellOrderId: aggressor.side === 'buy' ? f.restingId : aggressor.id,
    quantityWh: String(f.quantityWh),
    priceMinorPerMWh: String(f.priceTicks),
  }));
  if (result.cancelled) out.push({ orderId: aggressor.id, remainingWh: String(result.cancelled.remainingWh), reason: result.cancelled.reason });
  return out;
}

function actualEvents(events: OrderBookEvent[]): unknown[] {
  return events.flatMap((e): unknown[] => {
    if (e.type === 'TradeExecuted')
      return [{ buyOrderId: e.data.buyOrderId, sellOrderId: e.data.sellOrderId, quantityWh: e.data.quantityWh, priceMinorPerMWh: e.data.priceMinorPerMWh }];
    if (e.type === 'OrderCancelled') return [{ orderId: e.data.orderId, remainingWh: e.data.remainingWh, reason: e.data.reason }];
    return [];
  });
}

function assertNotCrossed(state: OrderBookState): void {
  const bid = bestPriceTicks(state.book, 'buy');
  const ask = bestPriceTicks(state.book, 'sell');
  if (bid !== null && ask !== null) expect(bid, 'book crossed at rest').toBeLessThan(ask);
}

/** Decides (checking that the input state is left alone), then evolves. */
function step(run: Run, command: OrderBookCommand): OrderBookEvent[] {
  const before = structuredClone(run.state);
  let events: OrderBookEvent[];
  try {
    events = orderBookDecider.decide(command, run.state);
  } finally {
    expect(run.state, 'decide mutated its input state').toEqual(before);
  }
  for (const e of events) {
    if (e.type === 'OrderAccepted') run.limitAt.set(e.data.orderId, e.data.limitPriceMinorPerMWh === null ? null : Number(e.data.limitPriceMinorPerMWh));
    if (e.type === 'OrderAmended') run.limitAt.set(e.data.orderId, e.data.limitPriceMinorPerMWh === null ? null : Number(e.data.limitPriceMinorPerMWh));
    if (e.type === 'TradeExecuted') run.tradeLimits.push({ trade: e.data, buyLimit: run.limitAt.get(e.data.buyOrderId)!, sellLimit: run.limitAt.get(e.data.sellOrderId)! });
  }
  run.state = orderBookDecider.evolveAll(run.state, events);
  run.events.push(...events);
  assertNotCrossed(run.state);
  return events;
}

const isRefusal = (error: unknown) => error instanceof DomainError;

/** Runs the ops through the decider and the reference in lock-step, comparing every command's outcome. */
function runAgainstReference(list: Op[]): Run {
  const run: Run = { state: orderBookDecider.initialState(), events: [], limitAt: new Map(), tradeLimits: [] };
  const ref = new ReferenceBook();
  const ids: string[] = [];
  let next = 0;
  step(run, submitOrders([orderRequest('seed', 't0', 'sell', 'limit', STEP, 110)], PRODUCT));
  ref.submit(refOrder(orderRequest('seed', 't0', 'sell', 'limit', STEP, 110)));
  ids.push('seed');

  const submitOne = (o: SubmitOp) => {
    const id = `o${next++}`;
    const r = request(id, o);
    const refO = refOrder(r);
    const expected = ref.submit(refO);
    let events: OrderBookEvent[] | null = null;
    try {
      events = step(run, submitOrders([r], PRODUCT));
    } catch (error) {
      if (!isRefusal(error)) throw error;
    }
    expect(events === null, `order ${id} refused by one matcher only`).toBe(expected.refused);
    if (events === null) return;
    ids.push(id);
    expect(actualEvents(events)).toEqual(expectedEvents(refO, expected));
    // FOK: all or nothing; IOC (and market, FOK): never rests.
    const filled = tradesOf(events).reduce((sum, t) => sum + Number(t.quantityWh), 0);
    if (o.type === 'fok') expect(filled).toBe(o.steps * STEP);
    if (o.type !== 'limit') expect(run.state.orders.get(id)!.status).not.toBe('open');
  };

  for (const o of list) {
    switch (o.kind) {
      case 'submit':
        submitOne(o);
        break;
      case 'batch': {
        // Decided as one command, it must give what the orders give one by one (when none is refused).
        const requests = o.orders.map((s) => request(`o${next++}`, s));
        let batched: OrderBookEvent[] | null = null;
        try {
          batched = orderBookDecider.decide(submitOrders(requests, PRODUCT), run.state);
        } catch (error) {
          if (!isRefusal(error)) throw error;
        }
        let sequential: OrderBookEvent[] | null = [];
        let state = structuredClone(run.state);
        try {
          for (const r of requests) {
            const events = orderBookDecider.decide(submitOrders([r], PRODUCT), state);
            sequential.push(...events);
            state = orderBookDecider.evolveAll(state, events);
          }
        } catch (error) {
          if (!isRefusal(error)) throw error;
          sequential = null;
        }
        expect(batched).toEqual(sequential);
        if (batched !== null) {
          step(run, submitOrders(requests, PRODUCT));
          for (const r of requests) {
            const refO = refOrder(r);
            ref.submit(refO);
            ids.push(r.orderId);
          }
        }
        break;
      }
      case 'cancel': {
        const id = ids[o.pick % ids.length]!;
        const order = run.state.orders.get(id)!;
        const trader = o.wrongTrader ? TRADERS[(TRADERS.indexOf(order.traderId) + 1) % TRADERS.length]! : order.traderId;
        const valid = !o.wrongTrader && ref.find(id) !== undefined;
        let ok = true;
        try {
          const events = step(run, { type: 'CancelOrder', at: FIXTURE_AT, orderId: id, traderId: trader });
          expect(events).toEqual([
            { type: 'OrderCancelled', data: { orderId: id, remainingWh: String(order.quantityWh - order.filledWh), reason: 'cancelled_by_trader', cancelledAt: FIXTURE_AT } },
          ]);
        } catch (error) {
          if (!isRefusal(error)) throw error;
          ok = false;
        }
        expect(ok).toBe(valid);
        if (ok) ref.cancel(id);
        break;
      }
      case 'amend': {
        const id = ids[o.pick % ids.length]!;
        const refO = ref.find(id);
        const order = run.state.orders.get(id)!;
        const quantity = o.mode.startsWith('down') ? order.quantityWh - o.steps * STEP : o.mode.startsWith('up') ? order.quantityWh + o.steps * STEP : order.quantityWh;
        const newPrice = o.mode.endsWith('price') ? o.price : null;
        const price = newPrice ?? order.priceTicks;
        const command: OrderBookCommand = {
          type: 'AmendOrder',
          at: FIXTURE_AT,
          orderId: id,
          traderId: order.traderId,
          quantityWh: o.mode === 'price' ? null : String(quantity),
          limitPriceMinorPerMWh: newPrice === null ? null : String(newPrice),
        };
        if (quantity <= 0) {
          expect(() => orderBookDecider.decide(command, run.state)).toThrow(DomainError);
          break;
        }
        const valid = refO !== undefined && quantity > order.filledWh;
        let events: OrderBookEvent[] | null = null;
        try {
          events = step(run, command);
        } catch (error) {
          if (!isRefusal(error)) throw error;
        }
        expect(events !== null, `amend ${JSON.stringify(command)}`).toBe(valid);
        if (events === null || refO === undefined || events.length === 0) break;
        const expected = ref.amend(id, quantity, price!);
        expect(actualEvents(events)).toEqual(expectedEvents(refO, expected));
        break;
      }
      default: {
        const unreachable: never = o;
        throw new Error(String(unreachable));
      }
    }
    // The resting orders, in priority order, are the reference's.
    for (const side of ['buy', 'sell'] as const) {
      const sorted = ref.resting
        .filter((r) => r.side === side)
        .sort((a, b) => (side === 'buy' ? b.price! - a.price! : a.price! - b.price!) || a.seq - b.seq)
        .map((r) => [r.id, r.quantity - r.filled]);
      expect(restingOrders(run.state.book, side).map((r) => [r.orderId, r.quantityWh - r.filledWh])).toEqual(sorted);
    }
  }
  step(run, { type: 'CloseGate', at: FIXTURE_GATE });
  return run;
}

describe('continuous matching properties', () => {
  it(`matches like the naive reference matcher (price-time priority, STP, FOK, IOC, amend), never crossed at rest, decide pure; batch = one by one (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(ops, (list) => {
        runAgainstReference(list);
      }),
      { numRuns: RUNS },
    );
  }, 120_000); // many property runs: seconds here, far more on a loaded machine

  it(`trades only within both limits, never with oneself, and conserves every order's quantity (${Math.ceil(RUNS / 2)} runs)`, () => {
    fc.assert(
      fc.property(ops, (list) => {
        const run = runAgainstReference(list);
        const filled = new Map<string, number>();
        let bought = 0;
        let sold = 0;
        for (const { trade, buyLimit, sellLimit } of run.tradeLimits) {
          const price = Number(trade.priceMinorPerMWh);
          expect(trade.buyerId, `self-trade ${trade.tradeId}`).not.toBe(trade.sellerId);
          expect(price).toBeLessThanOrEqual(buyLimit ?? MAX);
          expect(price).toBeGreaterThanOrEqual(sellLimit ?? MIN);
          expect(price).toBeGreaterThanOrEqual(MIN);
          expect(price).toBeLessThanOrEqual(MAX);
          const q = Number(trade.quantityWh);
          expect(q).toBeGreaterThan(0);
          filled.set(trade.buyOrderId, (filled.get(trade.buyOrderId) ?? 0) + q);
          filled.set(trade.sellOrderId, (filled.get(trade.sellOrderId) ?? 0) + q);
          bought += q;
          sold += q;
        }
        expect(bought).toBe(sold);
        // After the gate: filled + cancelled + expired = quantity, for every order.
        const ended = new Map<string, number>();
        for (const e of run.events) {
          if (e.type === 'OrderCancelled') ended.set(e.data.orderId, (ended.get(e.data.orderId) ?? 0) + Number(e.data.remainingWh));
          if (e.type === 'GateClosed') for (const x of e.data.expired) ended.set(x.orderId, (ended.get(x.orderId) ?? 0) + Number(x.remainingWh));
        }
        for (const order of run.state.orders.values()) {
          expect(order.status).not.toBe('open');
          expect(order.filledWh, `filled of ${order.orderId}`).toBe(filled.get(order.orderId) ?? 0);
          expect((filled.get(order.orderId) ?? 0) + (ended.get(order.orderId) ?? 0), `quantity of ${order.orderId}`).toBe(order.quantityWh);
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 120_000); // many property runs: seconds here, far more on a loaded machine

  it(`the bare engine (submitOrder, the benchmark's function) makes the reference's fills (${RUNS * 3} runs)`, () => {
    const engineOps = fc.array(fc.oneof({ weight: 6, arbitrary: submitOp }, { weight: 1, arbitrary: fc.nat() }), { minLength: 10, maxLength: 150, size: 'max' });
    fc.assert(
      fc.property(engineOps, (list) => {
        const book = createMatchingBook();
        const ref = new ReferenceBook();
        const live: EngineOrder[] = [];
        list.forEach((o, i) => {
          if (typeof o === 'number') {
            const open = live.filter((x) => x.resting);
            if (open.length === 0) return;
            const victim = open[o % open.length]!;
            expect(cancelResting(book, victim)).toBe(true);
            ref.cancel(victim.orderId);
            return;
          }
          const r = request(`e${i}`, o);
          const order = newEngineOrder(r.orderId, r.traderId, r.side, r.orderType, r.limitPriceMinorPerMWh === null ? null : Number(r.limitPriceMinorPerMWh), Number(r.quantityWh));
          const refO = refOrder(r);
          const plan = submitOrder(book, order, { minTicks: MIN, maxTicks: MAX });
          const expected = ref.submit(refO);
          expect(plan.outcome === 'refused').toBe(expected.refused);
          if (!expected.refused) expect(plan.fills.map((f) => ({ restingId: f.resting.orderId, quantityWh: f.quantityWh, priceTicks: f.priceTicks }))).toEqual(expected.fills);
          expect(plan.outcome === 'rests').toBe(expected.rests);
          if (plan.outcome === 'rests') live.push(order);
          const bid = bestPriceTicks(book, 'buy');
          const ask = bestPriceTicks(book, 'sell');
          if (bid !== null && ask !== null) expect(bid).toBeLessThan(ask);
        });
        for (const side of ['buy', 'sell'] as const) {
          expect(
            restingOrders(book, side)
              .map((r) => r.orderId)
              .sort(),
          ).toEqual(
            ref.resting
              .filter((r) => r.side === side)
              .map((r) => r.id)
              .sort(),
          );
        }
      }),
      { numRuns: RUNS * 3 },
    );
  }, 120_000); // many property runs: seconds here, far more on a loaded machine
});
