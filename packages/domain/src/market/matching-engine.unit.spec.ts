import { describe, expect, it } from 'vitest';
import {
  bestPriceTicks,
  bookDepth,
  cancelResting,
  clearAuction,
  createMatchingBook,
  newEngineOrder,
  planOrder,
  restingOrders,
  submitOrder,
  type EngineOrder,
  type MatchingBook,
} from './matching-engine.ts';
import type { OrderType, Side } from './market-types.ts';

const LIMITS = { minTicks: -500, maxTicks: 4000 };

let n = 0;
const order = (trader: string, side: Side, quantityWh: number, priceTicks: number | null, type: OrderType = 'limit'): EngineOrder =>
  newEngineOrder(`o${++n}`, trader, side, priceTicks === null ? 'market' : type, priceTicks, quantityWh);

function bookWith(...orders: EngineOrder[]): MatchingBook {
  const book = createMatchingBook();
  for (const o of orders) expect(submitOrder(book, o, LIMITS).outcome).toBe('rests');
  return book;
}

describe('matching engine', () => {
  it('keeps levels sorted, best first, whatever the order they appear in', () => {
    const book = bookWith(
      order('a', 'sell', 100, 52),
      order('a', 'sell', 100, 50),
      order('a', 'sell', 100, 51),
      order('b', 'buy', 100, 40),
      order('b', 'buy', 100, 45),
      order('b', 'buy', 100, 42),
    );
    expect(bookDepth(book, 'sell').map((l) => l.priceTicks)).toEqual([50, 51, 52]);
    expect(bookDepth(book, 'buy').map((l) => l.priceTicks)).toEqual([45, 42, 40]);
    expect(bestPriceTicks(book, 'sell')).toBe(50);
    expect(bestPriceTicks(book, 'buy')).toBe(45);
  });

  it('removes an emptied level from the middle, and a cancelled order lazily from its queue', () => {
    const a = order('a', 'sell', 100, 50);
    const b = order('a', 'sell', 100, 51);
    const c = order('b', 'sell', 200, 51);
    const d = order('a', 'sell', 100, 52);
    const book = bookWith(a, b, c, d);
    expect(cancelResting(book, b)).toBe(true);
    expect(cancelResting(book, b)).toBe(false);
    expect(bookDepth(book, 'sell')).toEqual([
      { priceTicks: 50, openWh: 100, orders: 1 },
      { priceTicks: 51, openWh: 200, orders: 1 },
      { priceTicks: 52, openWh: 100, orders: 1 },
    ]);
    cancelResting(book, c);
    expect(bookDepth(book, 'sell').map((l) => l.priceTicks)).toEqual([50, 52]);
    expect(b.status).toBe('cancelled');
  });

  it('compacts a queue whose head has passed many dead entries, keeping the order of the live ones', () => {
    const orders = Array.from({ length: 100 }, (_, i) => order(`t${i}`, 'buy', 100, 30));
    const book = bookWith(...orders);
    for (const o of orders.slice(0, 70)) cancelResting(book, o);
    const level = book.bids.byPrice.get(30)!;
    expect(level.head).toBeLessThan(level.orders.length);
    expect(level.orders.length).toBeLessThan(100);
    expect(restingOrders(book, 'buy')).toEqual(orders.slice(70));
    // Fills go on in time order after compaction.
    const plan = submitOrder(book, order('x', 'sell', 250, 30), LIMITS);
    expect(plan.fills.map((f) => [f.resting.orderId, f.quantityWh])).toEqual([
      [orders[70]!.orderId, 100],
      [orders[71]!.orderId, 100],
      [orders[72]!.orderId, 50],
    ]);
  });

  it('plans without touching the book', () => {
    const book = bookWith(order('a', 'sell', 100, 50), order('b', 'sell', 100, 51));
    const before = structuredClone(book);
    const plan = planOrder(book, order('c', 'buy', 150, 51), LIMITS);
    expect(plan).toMatchObject({ filledWh: 150, remainingWh: 0, outcome: 'filled' });
    expect(book).toEqual(before);
  });

  it('fills a market order across the whole book, at each resting price', () => {
    const book = bookWith(order('a', 'sell', 100, 50), order('b', 'sell', 100, 3999));
    const plan = submitOrder(book, order('c', 'buy', 300, null), LIMITS);
    expect(plan.fills.map((f) => f.priceTicks)).toEqual([50, 3999]);
    expect(plan).toMatchObject({ outcome: 'cancelled', cancelReason: 'unfilled_remainder', remainingWh: 100 });
  });

  it('refuses a FOK order without changing anything', () => {
    const book = bookWith(order('a', 'sell', 100, 50));
    const fok = order('c', 'buy', 200, 60, 'fok');
    const before = structuredClone(book);
    expect(submitOrder(book, fok, LIMITS)).toMatchObject({ outcome: 'refused', refusal: 'fok_insufficient', filledWh: 100 });
    expect(book).toEqual(before);
  });
});

describe('call auction', () => {
  const at = (o: EngineOrder, seq: number) => ((o.seq = seq), o);

  it('splits the gain from trade: a buy at 105 and a sell at 95 clear at 100', () => {
    const result = clearAuction([at(order('a', 'buy', 1000, 105), 1), at(order('b', 'sell', 1000, 95), 2)]);
    expect(result).toMatchObject({ clearingPriceTicks: 100, executableWh: 1000, volumeWh: 1000 });
  });

  it("lets excess demand set the price at the last buyer's limit (market pressure)", () => {
    const result = clearAuction([at(order('a', 'buy', 1000, 105), 1), at(order('c', 'buy', 1000, 101), 2), at(order('b', 'sell', 1500, 95), 3)]);
    // 1500 trade anywhere in [95, 101]; demand exceeds supply everywhere there → the highest, 101.
    expect(result).toMatchObject({ clearingPriceTicks: 101, volumeWh: 1500, demandWh: 2000, supplyWh: 1500 });
    expect(result.trades.map((t) => [t.buy.traderId, t.quantityWh])).toEqual([
      ['a', 1000],
      ['c', 500],
    ]);
  });

  it('rations the orders at the clearing price by time: earlier first', () => {
    const early = at(order('a', 'buy', 600, 100), 1);
    const late = at(order('c', 'buy', 600, 100), 2);
    const result = clearAuction([late, early, at(order('b', 'sell', 1000, 100), 3)]);
    expect(result.trades.map((t) => [t.buy.orderId, t.quantityWh])).toEqual([
      [early.orderId, 600],
      [late.orderId, 400],
    ]);
  });

  it('lets market orders set no price: a market buy against a sell at 3000 clears at 3000, never at the cap', () => {
    const result = clearAuction([at(order('a', 'buy', 500, null), 1), at(order('b', 'sell', 500, 3000), 2)]);
    expect(result).toMatchObject({ clearingPriceTicks: 3000, volumeWh: 500 });
  });

  it('serves market orders before any limit order of their side, even one at a better limit', () => {
    // Candidates 100 and 104: demand 1500 at both (market 1000 + buy at 104), supply 500 (100) or 1000 (104).
    // Volume 1000 at 104 → the market buy takes all 1000; the limit buy at 104 gets nothing.
    const market = at(order('m', 'buy', 1000, null), 3);
    const limit = at(order('l', 'buy', 500, 104), 1);
    const cheap = at(order('s', 'sell', 500, 100), 2);
    const dear = at(order('t', 'sell', 500, 104), 4);
    const result = clearAuction([limit, market, cheap, dear]);
    expect(result).toMatchObject({ clearingPriceTicks: 104, volumeWh: 1000 });
    expect(result.trades.map((t) => [t.buy.orderId, t.sell.orderId, t.quantityWh])).toEqual([
      [market.orderId, cheap.orderId, 500],
      [market.orderId, dear.orderId, 500],
    ]);
  });

  it('determines no price from market orders alone: nothing trades', () => {
    expect(clearAuction([at(order('a', 'buy', 500, null), 1), at(order('b', 'sell', 500, null), 2)])).toMatchObject({ clearingPriceTicks: null, volumeWh: 0, trades: [] });
  });

  it('never pairs a trader with itself, re-routing through others so that everything pairable trades', () => {
    // Greedy pairing would give x←y and leave a's buy facing only a's sell; re-routing gives x←a, a←y.
    const orders = [at(order('x', 'buy', 500, 100), 1), at(order('a', 'buy', 500, 100), 2), at(order('y', 'sell', 500, 100), 3), at(order('a', 'sell', 500, 100), 4)];
    const result = clearAuction(orders);
    expect(result.volumeWh).toBe(1000);
    expect(result.trades.map((t) => [t.buy.traderId, t.sell.traderId, t.quantityWh])).toEqual([
      ['x', 'a', 500],
      ['a', 'y', 500],
    ]);
  });

  it('leaves unpaired what only the trader itself could take', () => {
    const result = clearAuction([at(order('a', 'buy', 500, 100), 1), at(order('a', 'sell', 500, 100), 2)]);
    expect(result).toMatchObject({ executableWh: 500, volumeWh: 0, clearingPriceTicks: null, trades: [] });
  });
});
