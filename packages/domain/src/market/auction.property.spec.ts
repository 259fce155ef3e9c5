/**
 * Properties of the call auction on small random books (up to 12 orders, 4 traders, limit prices
 * on 11 ticks, market orders, partly filled ones):
 * - the clearing price maximises the executable volume: brute force over EVERY tick of the
 *   product's price range, not only the order prices;
 * - the documented tie-break, checked against a naive re-statement of it;
 * - every trade is at the clearing price, within both orders' limits, never buyer == seller;
 * - no order trades more than it has open; buys = sells = the reported volume;
 * - the volume is the largest that can be paired without self-trades (closed form of the max flow
 *   between the eligible buys and sells), and so the executable volume when nobody is on both sides;
 * - rationing: with distinct traders, each side is served in price-time priority (an order trades
 *   only when every order ahead of it is filled in full);
 * - through the decider: CloseGate emits exactly those trades, GateClosed reports them, and every
 *   order ends filled or expired with filled + expired = quantity; decide leaves the state alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURE_AUCTION_PRODUCT, FIXTURE_GATE, orderRequest, runBook, submitOrders } from './market-fixtures.ts';
import type { OrderBookEvent, ProductSpec, Side } from './market-types.ts';
import { auctionCurve, clearAuction, clearingPoint, newEngineOrder, type EngineOrder, type PriceLimits } from './matching-engine.ts';
import { orderBookDecider } from './order-book.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const MIN = 90;
const MAX = 110;
const LIMITS: PriceLimits = { minTicks: MIN, maxTicks: MAX };
const PRODUCT: ProductSpec = { ...FIXTURE_AUCTION_PRODUCT, minPriceMinorPerMWh: String(MIN), maxPriceMinorPerMWh: String(MAX) };
const STEP = 100;

type Gen = { trader: number; side: Side; market: boolean; price: number; steps: number; filledSteps: number };
const genOrder: fc.Arbitrary<Gen> = fc.record({
  trader: fc.integer({ min: 0, max: 3 }),
  side: fc.constantFrom<Side>('buy', 'sell'),
  market: fc.constantFrom(false, false, false, true),
  price: fc.integer({ min: 95, max: 105 }),
  steps: fc.integer({ min: 1, max: 10 }),
  filledSteps: fc.constantFrom(0, 0, 0, 1, 2),
});
const books = fc.array(genOrder, { minLength: 1, maxLength: 12 });

function engineOrders(gens: Gen[]): EngineOrder[] {
  return gens.map((g, i) => {
    const o = newEngineOrder(`o${i}`, `t${g.trader}`, g.side, g.market ? 'market' : 'limit', g.market ? null : g.price, g.steps * STEP);
    o.filledWh = Math.min(g.filledSteps, g.steps - 1) * STEP;
    o.seq = i + 1;
    return o;
  });
}

const effective = (o: EngineOrder) => o.priceTicks ?? (o.side === 'buy' ? MAX : MIN);
const open = (o: EngineOrder) => o.quantityWh - o.filledWh;
const demandAt = (orders: EngineOrder[], p: number) => orders.filter((o) => o.side === 'buy' && effective(o) >= p).reduce((s, o) => s + open(o), 0);
const supplyAt = (orders: EngineOrder[], p: number) => orders.filter((o) => o.side === 'sell' && effective(o) <= p).reduce((s, o) => s + open(o), 0);
const volumeAt = (orders: EngineOrder[], p: number) => Math.min(demandAt(orders, p), supplyAt(orders, p));

/** The tie-break, restated naively over every tick: max volume, min |surplus|, market pressure, midpoint (rounded down) or nearest (lower). */
function naiveClearingPrice(orders: EngineOrder[]): number | null {
  const ticks = Array.from({ length: MAX - MIN + 1 }, (_, i) => MIN + i);
  const best = Math.max(...ticks.map((p) => volumeAt(orders, p)));
  if (best === 0) return null;
  let rest = ticks.filter((p) => volumeAt(orders, p) === best);
  const surplus = (p: number) => demandAt(orders, p) - supplyAt(orders, p);
  const least = Math.min(...rest.map((p) => Math.abs(surplus(p))));
  rest = rest.filter((p) => Math.abs(surplus(p)) === least);
  if (rest.every((p) => surplus(p) > 0)) return Math.max(...rest);
  if (rest.every((p) => surplus(p) < 0)) return Math.min(...rest);
  const mid = Math.floor((Math.min(...rest) + Math.max(...rest)) / 2);
  return rest.reduce((chosen, p) => (Math.abs(p - mid) < Math.abs(chosen - mid) ? p : chosen));
}

/** Max flow from eligible buys to eligible sells of other traders: min(ΣB, ΣS, min over t of ΣB − B_t + ΣS − S_t). */
function maxPairable(orders: EngineOrder[], price: number): number {
  const buys = new Map<string, number>();
  const sells = new Map<string, number>();
  for (const o of orders) {
    if (o.side === 'buy' && effective(o) >= price) buys.set(o.traderId, (buys.get(o.traderId) ?? 0) + open(o));
    if (o.side === 'sell' && effective(o) <= price) sells.set(o.traderId, (sells.get(o.traderId) ?? 0) + open(o));
  }
  const totalB = [...buys.values()].reduce((a, b) => a + b, 0);
  const totalS = [...sells.values()].reduce((a, b) => a + b, 0);
  let best = Math.min(totalB, totalS);
  for (const t of new Set([...buys.keys(), ...sells.keys()])) best = Math.min(best, totalB - (buys.get(t) ?? 0) + totalS - (sells.get(t) ?? 0));
  return best;
}

describe('call auction properties', () => {
  it(`picks the price with the largest executable volume of all ticks, by the documented tie-break, checked tick by tick (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(books, (gens) => {
        const orders = engineOrders(gens);
        const result = clearAuction(orders, LIMITS);
        const point = clearingPoint(auctionCurve(orders, LIMITS));
        let best = 0;
        for (let p = MIN; p <= MAX; p++) best = Math.max(best, volumeAt(orders, p));
        expect(point === null ? 0 : Math.min(point.demandWh, point.supplyWh)).toBe(best);
        expect(result.executableWh).toBe(best);
        expect(point?.priceTicks ?? null).toBe(naiveClearingPrice(orders));
        if (point !== null) {
          expect(point.demandWh).toBe(demandAt(orders, point.priceTicks));
          expect(point.supplyWh).toBe(supplyAt(orders, point.priceTicks));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`trades at the clearing price within both limits, never with oneself, conserving quantities and pairing all that can be paired (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(books, (gens) => {
        const orders = engineOrders(gens);
        const before = structuredClone(orders);
        const result = clearAuction(orders, LIMITS);
        expect(orders, 'clearAuction changed its input').toEqual(before);
        const traded = new Map<EngineOrder, number>();
        let volume = 0;
        for (const t of result.trades) {
          expect(t.buy.side).toBe('buy');
          expect(t.sell.side).toBe('sell');
          expect(t.buy.traderId, 'self-trade').not.toBe(t.sell.traderId);
          expect(t.quantityWh).toBeGreaterThan(0);
          expect(effective(t.buy)).toBeGreaterThanOrEqual(result.clearingPriceTicks!);
          expect(effective(t.sell)).toBeLessThanOrEqual(result.clearingPriceTicks!);
          traded.set(t.buy, (traded.get(t.buy) ?? 0) + t.quantityWh);
          traded.set(t.sell, (traded.get(t.sell) ?? 0) + t.quantityWh);
          volume += t.quantityWh;
        }
        for (const [o, q] of traded) expect(q).toBeLessThanOrEqual(open(o));
        expect(result.volumeWh).toBe(volume);
        const point = clearingPoint(auctionCurve(orders, LIMITS));
        if (point === null) {
          expect(result.trades).toEqual([]);
          return;
        }
        expect(volume).toBe(maxPairable(orders, point.priceTicks));
        const bothSides = orders.some((b) => b.side === 'buy' && orders.some((s) => s.side === 'sell' && s.traderId === b.traderId));
        if (!bothSides) expect(volume).toBe(result.executableWh);
        expect(result.clearingPriceTicks).toBe(volume === 0 ? null : point.priceTicks);
      }),
      { numRuns: RUNS },
    );
  });

  it(`rations each side by price, then time priority (distinct traders, ${RUNS} runs)`, () => {
    const distinct = fc.array(genOrder, { minLength: 1, maxLength: 12 }).map((gens) => gens.map((g, i) => ({ ...g, trader: i })));
    fc.assert(
      fc.property(distinct, (gens) => {
        const orders = engineOrders(gens);
        const result = clearAuction(orders, LIMITS);
        if (result.clearingPriceTicks === null) return;
        const traded = new Map<EngineOrder, number>();
        for (const t of result.trades) {
          traded.set(t.buy, (traded.get(t.buy) ?? 0) + t.quantityWh);
          traded.set(t.sell, (traded.get(t.sell) ?? 0) + t.quantityWh);
        }
        const p = result.clearingPriceTicks;
        for (const side of ['buy', 'sell'] as const) {
          const sign = side === 'buy' ? -1 : 1;
          const queue = orders
            .filter((o) => o.side === side && (side === 'buy' ? effective(o) >= p : effective(o) <= p))
            .sort((a, b) => sign * (effective(a) - effective(b)) || a.seq - b.seq);
          let sawShort = false;
          for (const o of queue) {
            const q = traded.get(o) ?? 0;
            if (sawShort) expect(q, `${o.orderId} trades while an earlier order is not filled`).toBe(0);
            if (q < open(o)) sawShort = true;
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`through the decider: CloseGate emits the auction's trades, GateClosed sums them, every order ends filled or expired (${Math.ceil(RUNS / 2)} runs)`, () => {
    fc.assert(
      fc.property(books, (gens) => {
        const requests = gens.map((g, i) => orderRequest(`o${i}`, `t${g.trader}`, g.side, g.market ? 'market' : 'limit', g.steps * STEP, g.market ? null : g.price));
        const { state } = runBook([submitOrders(requests, PRODUCT)]);
        const before = structuredClone(state);
        const events = orderBookDecider.decide({ type: 'CloseGate', at: FIXTURE_GATE }, state);
        expect(state).toEqual(before);
        const trades = events.flatMap((e) => (e.type === 'TradeExecuted' ? [e.data] : []));
        const closed = events.at(-1) as Extract<OrderBookEvent, { type: 'GateClosed' }>;
        expect(closed.type).toBe('GateClosed');
        const volume = trades.reduce((s, t) => s + Number(t.quantityWh), 0);
        expect(closed.data.auction === null ? 0 : Number(closed.data.auction.volumeWh)).toBe(volume);
        trades.forEach((t, i) => {
          expect(t.tradeId).toBe(`auction-${i + 1}`);
          expect(t.priceMinorPerMWh).toBe(closed.data.auction!.clearingPriceMinorPerMWh);
          expect(t.buyerId).not.toBe(t.sellerId);
          expect(t.aggressorSide).toBeNull();
        });
        const after = orderBookDecider.evolveAll(state, events);
        const expired = new Map(closed.data.expired.map((x) => [x.orderId, Number(x.remainingWh)]));
        for (const o of after.orders.values()) {
          expect(['filled', 'expired']).toContain(o.status);
          expect(o.filledWh + (expired.get(o.orderId) ?? 0)).toBe(o.quantityWh);
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
