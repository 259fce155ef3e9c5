/**
 * Properties of the call auction on small random books (up to 12 orders, 4 traders, limit prices
 * on 11 ticks inside a product range of 21, market orders, partly filled ones), against a brute
 * force that counts market orders as price-takers (in the volume at every price, setting none):
 * - the clearing price maximises the executable volume: brute force over EVERY tick of the
 *   product's price range, not only the order prices;
 * - the documented tie-break, checked against a naive re-statement of it over every tick from the
 *   lowest to the highest limit price: a market order never moves the price to the product's
 *   limits, and market orders alone trade nothing;
 * - fills: with distinct traders each order gets exactly what a naive walk of its side in priority
 *   (market orders first, then price, then time) leaves it;
 * - every trade is at the clearing price, within both orders' limits, never buyer == seller;
 * - no order trades more than it has open; buys = sells = the reported volume;
 * - the volume is the largest that can be paired without self-trades (closed form of the max flow
 *   between the eligible buys and sells), and so the executable volume when nobody is on both sides;
 * - through the decider: CloseGate emits exactly those trades, GateClosed reports them, and every
 *   order ends filled or expired with filled + expired = quantity; decide leaves the state alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURE_AUCTION_PRODUCT, FIXTURE_GATE, orderRequest, runBook, submitOrders } from './market-fixtures.ts';
import type { OrderBookEvent, ProductSpec, Side } from './market-types.ts';
import { auctionCurve, clearAuction, clearingPoint, newEngineOrder, type EngineOrder } from './matching-engine.ts';
import { orderBookDecider } from './order-book.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const MIN = 90;
const MAX = 110;
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

const open = (o: EngineOrder) => o.quantityWh - o.filledWh;
/** A market order takes any price; a limit order only one within its limit. */
const accepts = (o: EngineOrder, p: number) => o.priceTicks === null || (o.side === 'buy' ? o.priceTicks >= p : o.priceTicks <= p);
const demandAt = (orders: EngineOrder[], p: number) => orders.filter((o) => o.side === 'buy' && accepts(o, p)).reduce((s, o) => s + open(o), 0);
const supplyAt = (orders: EngineOrder[], p: number) => orders.filter((o) => o.side === 'sell' && accepts(o, p)).reduce((s, o) => s + open(o), 0);
const volumeAt = (orders: EngineOrder[], p: number) => Math.min(demandAt(orders, p), supplyAt(orders, p));
const limitPrices = (orders: EngineOrder[]) => orders.flatMap((o) => (o.priceTicks === null ? [] : [o.priceTicks]));

/**
 * The rule, restated naively over every tick from the lowest to the highest limit price (market
 * orders set no price; with no limit order nothing determines one): max volume, min |surplus|,
 * market pressure, midpoint (rounded down) or nearest (lower).
 */
function naiveClearingPrice(orders: EngineOrder[]): number | null {
  const prices = limitPrices(orders);
  if (prices.length === 0) return null;
  const lo = Math.min(...prices);
  const ticks = Array.from({ length: Math.max(...prices) - lo + 1 }, (_, i) => lo + i);
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
    if (o.side === 'buy' && accepts(o, price)) buys.set(o.traderId, (buys.get(o.traderId) ?? 0) + open(o));
    if (o.side === 'sell' && accepts(o, price)) sells.set(o.traderId, (sells.get(o.traderId) ?? 0) + open(o));
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
        const result = clearAuction(orders);
        const point = clearingPoint(auctionCurve(orders));
        // Over the product's whole range: no tick outside the limit prices executes more (only
        // market orders stand there), and with no limit order nothing clears.
        let best = 0;
        for (let p = MIN; p <= MAX; p++) best = Math.max(best, volumeAt(orders, p));
        if (limitPrices(orders).length === 0) best = 0;
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
        const result = clearAuction(orders);
        expect(orders, 'clearAuction changed its input').toEqual(before);
        const traded = new Map<EngineOrder, number>();
        let volume = 0;
        for (const t of result.trades) {
          expect(t.buy.side).toBe('buy');
          expect(t.sell.side).toBe('sell');
          expect(t.buy.traderId, 'self-trade').not.toBe(t.sell.traderId);
          expect(t.quantityWh).toBeGreaterThan(0);
          expect(accepts(t.buy, result.clearingPriceTicks!), 'buy above its limit').toBe(true);
          expect(accepts(t.sell, result.clearingPriceTicks!), 'sell below its limit').toBe(true);
          traded.set(t.buy, (traded.get(t.buy) ?? 0) + t.quantityWh);
          traded.set(t.sell, (traded.get(t.sell) ?? 0) + t.quantityWh);
          volume += t.quantityWh;
        }
        for (const [o, q] of traded) expect(q).toBeLessThanOrEqual(open(o));
        expect(result.volumeWh).toBe(volume);
        const point = clearingPoint(auctionCurve(orders));
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

  it(`fills each side in priority, market orders first, then price, then time: each order exactly what a naive walk leaves it (distinct traders, ${RUNS} runs)`, () => {
    const distinct = fc.array(genOrder, { minLength: 1, maxLength: 12 }).map((gens) => gens.map((g, i) => ({ ...g, trader: i })));
    fc.assert(
      fc.property(distinct, (gens) => {
        const orders = engineOrders(gens);
        const result = clearAuction(orders);
        const traded = new Map<EngineOrder, number>();
        for (const t of result.trades) {
          traded.set(t.buy, (traded.get(t.buy) ?? 0) + t.quantityWh);
          traded.set(t.sell, (traded.get(t.sell) ?? 0) + t.quantityWh);
        }
        const p = naiveClearingPrice(orders);
        expect(result.clearingPriceTicks).toBe(p);
        const volume = p === null ? 0 : volumeAt(orders, p);
        expect(result.volumeWh).toBe(volume);
        for (const side of ['buy', 'sell'] as const) {
          // Priority restated as a rank: market orders before any limit, the better limit first, then seq.
          const rank = (o: EngineOrder) => [o.priceTicks === null ? 0 : 1, o.priceTicks === null ? 0 : side === 'buy' ? -o.priceTicks : o.priceTicks, o.seq];
          const before = (a: EngineOrder, b: EngineOrder) => {
            const [ra, rb] = [rank(a), rank(b)];
            for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]!;
            return false;
          };
          for (const o of orders.filter((x) => x.side === side)) {
            const eligible = p !== null && accepts(o, p);
            const ahead = eligible ? orders.filter((x) => x.side === side && accepts(x, p) && before(x, o)).reduce((s, x) => s + open(x), 0) : 0;
            const expected = eligible ? Math.min(open(o), Math.max(0, volume - ahead)) : 0;
            expect(traded.get(o) ?? 0, `${o.orderId} (${o.priceTicks ?? 'market'})`).toBe(expected);
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
