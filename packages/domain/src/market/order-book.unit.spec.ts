import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import {
  FIXTURE_AT as AT,
  FIXTURE_AUCTION_PRODUCT as AUCTION,
  FIXTURE_GATE as GATE,
  FIXTURE_PRODUCT as PRODUCT,
  limitOrder,
  orderRequest,
  runBook,
  submitOrders,
} from './market-fixtures.ts';
import {
  DuplicateClientOrderId,
  DuplicateOrderId,
  GateClosed,
  GateNotReached,
  InsufficientQuantity,
  MarketNotOpen,
  OrderNotOpen,
  OrderNotOwned,
  OrderTypeNotAllowed,
  PriceNotOnTick,
  PriceOutOfBounds,
  QuantityAboveMaximum,
  QuantityBelowFilled,
  QuantityNotOnStep,
  UnknownOrder,
  UnknownProduct,
} from './market-errors.ts';
import type { OrderBookCommand, OrderBookEvent, OrderRequest } from './market-types.ts';
import { bookDepth, restingOrders } from './matching-engine.ts';
import { cloneOrderBookState, orderBookDecider, orderBookStreamId, type OrderBookState } from './order-book.ts';

const given = givenFor(orderBookDecider);

const opened: OrderBookEvent = { type: 'OrderBookOpened', data: PRODUCT };
const accepted = (o: ReturnType<typeof limitOrder>, at = AT): OrderBookEvent => ({ type: 'OrderAccepted', data: { ...o, acceptedAt: at } });
const trade = (
  tradeId: string,
  buyOrderId: string,
  sellOrderId: string,
  buyerId: string,
  sellerId: string,
  aggressorSide: 'buy' | 'sell' | null,
  quantityWh: number,
  price: number,
  at = AT,
): OrderBookEvent => ({
  type: 'TradeExecuted',
  data: {
    tradeId,
    zone: 'NL',
    currency: 'EUR',
    deliveryStart: PRODUCT.deliveryStart,
    deliveryEnd: PRODUCT.deliveryEnd,
    buyOrderId,
    sellOrderId,
    buyerId,
    sellerId,
    aggressorSide,
    quantityWh: String(quantityWh),
    priceMinorPerMWh: String(price),
    executedAt: at,
  },
});
const cancelled = (orderId: string, remainingWh: number, reason: 'cancelled_by_trader' | 'unfilled_remainder' | 'self_trade_prevented', at = AT): OrderBookEvent => ({
  type: 'OrderCancelled',
  data: { orderId, remainingWh: String(remainingWh), reason, cancelledAt: at },
});

const amend = (orderId: string, traderId: string, quantityWh: number | null, price: number | null, at = AT): OrderBookCommand => ({
  type: 'AmendOrder',
  at,
  orderId,
  traderId,
  quantityWh: quantityWh === null ? null : String(quantityWh),
  limitPriceMinorPerMWh: price === null ? null : String(price),
});
const cancelCommand = (orderId: string, traderId: string, at = AT): OrderBookCommand => ({ type: 'CancelOrder', at, orderId, traderId });

const s1 = limitOrder('s1', 'alice', 'sell', 1000, 5000);
const s2 = limitOrder('s2', 'bob', 'sell', 1000, 5000);
const s3 = limitOrder('s3', 'carol', 'sell', 2000, 5100);
/** Three asks: 1000 @ 5000 (alice), 1000 @ 5000 (bob, later), 2000 @ 5100 (carol). */
const asks = [opened, accepted(s1), accepted(s2), accepted(s3)];

/** The GateClosed event at GATE: the auction's [clearing price, volume] (or null), then each expired order as [orderId, remainingWh]. */
const gateClosed = (auction: [price: string, volumeWh: string] | null, ...expired: Array<[orderId: string, remainingWh: string]>): OrderBookEvent => ({
  type: 'GateClosed',
  data: {
    closedAt: GATE,
    auction: auction && { clearingPriceMinorPerMWh: auction[0], volumeWh: auction[1] },
    expired: expired.map(([orderId, remainingWh]) => ({ orderId, remainingWh })),
  },
});
/** Submits `order` to the book of the three asks: expects it accepted, then `after` (its trades, a cancel). */
const againstAsks = (order: OrderRequest, ...after: OrderBookEvent[]) =>
  given(asks)
    .when(submitOrders([order]))
    .then([accepted(order), ...after]);

const stateOf = (events: OrderBookEvent[]): OrderBookState => orderBookDecider.evolveAll(orderBookDecider.initialState(), events);

describe('order book decider', () => {
  it('names its stream by zone, delivery start and length', () => {
    expect(orderBookStreamId('NL', '2026-11-28T10:00:00.000Z', 15)).toBe('market-NL-20261128T1000Z-15m');
    expect(orderBookStreamId('DE-LU', '2026-01-02T03:45Z', 60)).toBe('market-DE-LU-20260102T0345Z-60m');
  });

  it('opens the book with the first order, which rests', () => {
    given([])
      .when(submitOrders([s1]))
      .then([opened, accepted(s1)]);
    const state = stateOf([opened, accepted(s1)]);
    expect(state.status).toBe('open');
    expect(state.orders.get('s1')).toMatchObject({ traderId: 'alice', side: 'sell', priceTicks: 5000, quantityWh: 1000, filledWh: 0, status: 'open', clientOrderId: 'c-s1' });
    expect(bookDepth(state.book, 'sell')).toEqual([{ priceTicks: 5000, openWh: 1000, orders: 1 }]);
  });

  it('fills across levels in price-time priority, at the resting prices, and rests the remainder', () => {
    const b1 = limitOrder('b1', 'dave', 'buy', 3000, 5200);
    againstAsks(
      b1,
      trade('b1-1', 'b1', 's1', 'dave', 'alice', 'buy', 1000, 5000),
      trade('b1-2', 'b1', 's2', 'dave', 'bob', 'buy', 1000, 5000),
      trade('b1-3', 'b1', 's3', 'dave', 'carol', 'buy', 1000, 5100),
    );
    const { state } = runBook([submitOrders([s1, s2, s3]), submitOrders([b1])]);
    expect(state.orders.get('s3')).toMatchObject({ filledWh: 1000, status: 'open' });
    expect(state.orders.get('b1')).toMatchObject({ filledWh: 3000, status: 'filled' });
    expect(bookDepth(state.book, 'sell')).toEqual([{ priceTicks: 5100, openWh: 1000, orders: 1 }]);
    expect(bookDepth(state.book, 'buy')).toEqual([]);
  });

  it('rests what a limit order does not fill, below the best ask', () => {
    const b1 = limitOrder('b1', 'dave', 'buy', 2500, 5000);
    const { state, events } = runBook([submitOrders([s1, s2, s3]), submitOrders([b1])]);
    expect(events.filter((e) => e.type === 'TradeExecuted')).toHaveLength(2);
    expect(bookDepth(state.book, 'buy')).toEqual([{ priceTicks: 5000, openWh: 500, orders: 1 }]);
    expect(bookDepth(state.book, 'sell')).toEqual([{ priceTicks: 5100, openWh: 2000, orders: 1 }]);
  });

  it("stops at the trader's own order and cancels the rest of the incoming one (self-trade prevention, cancel newest)", () => {
    const b1 = limitOrder('b1', 'bob', 'buy', 3000, 5200);
    againstAsks(b1, trade('b1-1', 'b1', 's1', 'bob', 'alice', 'buy', 1000, 5000), cancelled('b1', 2000, 'self_trade_prevented'));
    const { state } = runBook([submitOrders([s1, s2, s3]), submitOrders([b1])]);
    // bob's resting ask keeps its place; nothing of b1 rests: the book is not crossed.
    expect(restingOrders(state.book, 'sell').map((o) => o.orderId)).toEqual(['s2', 's3']);
    expect(bookDepth(state.book, 'buy')).toEqual([]);
    expect(state.orders.get('b1')).toMatchObject({ filledWh: 1000, status: 'cancelled' });
  });

  it('does not stop at an own order the incoming price would not reach', () => {
    const b1 = limitOrder('b1', 'carol', 'buy', 3000, 5000);
    againstAsks(b1, trade('b1-1', 'b1', 's1', 'carol', 'alice', 'buy', 1000, 5000), trade('b1-2', 'b1', 's2', 'carol', 'bob', 'buy', 1000, 5000));
  });

  it('cancels what an IOC order does not fill: it never rests', () => {
    const ioc = orderRequest('i1', 'dave', 'buy', 'ioc', 2500, 5000);
    againstAsks(
      ioc,
      trade('i1-1', 'i1', 's1', 'dave', 'alice', 'buy', 1000, 5000),
      trade('i1-2', 'i1', 's2', 'dave', 'bob', 'buy', 1000, 5000),
      cancelled('i1', 500, 'unfilled_remainder'),
    );
    const { state } = runBook([submitOrders([s1, s2, s3]), submitOrders([ioc])]);
    expect(bookDepth(state.book, 'buy')).toEqual([]);
    expect(state.orders.get('i1')).toMatchObject({ status: 'cancelled', filledWh: 2000 });
  });

  it('refuses a FOK order it cannot fill in full, with no event, and fills one it can', () => {
    const fok = orderRequest('f1', 'dave', 'buy', 'fok', 2500, 5000);
    given(asks)
      .when(submitOrders([fok]))
      .thenThrows(InsufficientQuantity, { orderId: 'f1', orderIndex: 0, requestedWh: '2500', availableWh: '2000' });
    // Own orders count as unavailable: bob cannot take past his own ask.
    given(asks)
      .when(submitOrders([orderRequest('f2', 'bob', 'buy', 'fok', 2000, 5000)]))
      .thenThrows(InsufficientQuantity, { availableWh: '1000' });
    const fits = orderRequest('f3', 'dave', 'buy', 'fok', 2500, 5100);
    againstAsks(
      fits,
      trade('f3-1', 'f3', 's1', 'dave', 'alice', 'buy', 1000, 5000),
      trade('f3-2', 'f3', 's2', 'dave', 'bob', 'buy', 1000, 5000),
      trade('f3-3', 'f3', 's3', 'dave', 'carol', 'buy', 500, 5100),
    );
  });

  it('takes everything within the price limits for a market order and cancels the rest; refuses one facing an empty book', () => {
    const m = orderRequest('m1', 'dave', 'buy', 'market', 5000, null);
    againstAsks(
      m,
      trade('m1-1', 'm1', 's1', 'dave', 'alice', 'buy', 1000, 5000),
      trade('m1-2', 'm1', 's2', 'dave', 'bob', 'buy', 1000, 5000),
      trade('m1-3', 'm1', 's3', 'dave', 'carol', 'buy', 2000, 5100),
      cancelled('m1', 1000, 'unfilled_remainder'),
    );
    given(asks)
      .when(submitOrders([orderRequest('m2', 'dave', 'sell', 'market', 100, null)]))
      .thenThrows(InsufficientQuantity, { orderId: 'm2', orderType: 'market', availableWh: '0' });
  });

  it('plans a batch in sequence (later orders see earlier ones) and refuses it whole, naming the index', () => {
    const a = limitOrder('a', 'alice', 'sell', 1000, 5000);
    const b = limitOrder('b', 'bob', 'buy', 400, 5000);
    const c = limitOrder('c', 'carol', 'buy', 1000, 5000);
    given([])
      .when(submitOrders([a, b, c]))
      .then([opened, accepted(a), accepted(b), trade('b-1', 'b', 'a', 'bob', 'alice', 'buy', 400, 5000), accepted(c), trade('c-1', 'c', 'a', 'carol', 'alice', 'buy', 600, 5000)]);
    const fok = orderRequest('f', 'dave', 'buy', 'fok', 1000, 5000);
    given([])
      .when(submitOrders([a, b, fok]))
      .thenThrows(InsufficientQuantity, { orderIndex: 2, availableWh: '600' });
    given([])
      .when(submitOrders([a, { ...b, quantityWh: '-5' }]))
      .thenThrows(InvalidCommand, { field: 'orders[1].quantityWh' });
    given([])
      .when(submitOrders([a, { ...b, orderId: 'a' }]))
      .thenThrows(DuplicateOrderId, { orderId: 'a', orderIndex: 1 });
    given([])
      .when(submitOrders([a, { ...b, traderId: 'alice', clientOrderId: 'c-a' }]))
      .thenThrows(DuplicateClientOrderId, { traderId: 'alice', clientOrderId: 'c-a', orderIndex: 1 });
  });

  it('applies a batch to the same book as the orders one by one', () => {
    const orders = [
      limitOrder('a', 'alice', 'sell', 1000, 5000),
      limitOrder('b', 'bob', 'sell', 700, 4900),
      limitOrder('c', 'carol', 'buy', 1500, 5000),
      limitOrder('d', 'alice', 'buy', 600, 4950),
      limitOrder('e', 'dave', 'sell', 300, 4900),
    ];
    const batched = runBook([submitOrders(orders)]);
    const single = runBook(orders.map((o) => submitOrders([o])));
    expect(batched.events).toEqual(single.events);
    expect(batched.state).toEqual(single.state);
  });

  describe('amend', () => {
    const history = [opened, accepted(s1), accepted(s2)];

    it('keeps time priority when only the quantity goes down', () => {
      const events = orderBookDecider.decide(amend('s1', 'alice', 400, null), stateOf(history));
      expect(events).toEqual([{ type: 'OrderAmended', data: { orderId: 's1', quantityWh: '400', limitPriceMinorPerMWh: '5000', priorityKept: true, amendedAt: AT } }]);
      const state = stateOf([...history, ...events]);
      expect(restingOrders(state.book, 'sell').map((o) => [o.orderId, o.quantityWh])).toEqual([
        ['s1', 400],
        ['s2', 1000],
      ]);
      expect(bookDepth(state.book, 'sell')).toEqual([{ priceTicks: 5000, openWh: 1400, orders: 2 }]);
    });

    it('loses time priority when the quantity goes up or the price changes', () => {
      const up = orderBookDecider.decide(amend('s1', 'alice', 1500, null), stateOf(history));
      expect(up).toEqual([{ type: 'OrderAmended', data: { orderId: 's1', quantityWh: '1500', limitPriceMinorPerMWh: '5000', priorityKept: false, amendedAt: AT } }]);
      expect(restingOrders(stateOf([...history, ...up]).book, 'sell').map((o) => o.orderId)).toEqual(['s2', 's1']);
      const price = orderBookDecider.decide(amend('s1', 'alice', 500, 5001), stateOf(history));
      expect(price[0]).toMatchObject({ data: { priorityKept: false, quantityWh: '500', limitPriceMinorPerMWh: '5001' } });
      const state = stateOf([...history, ...price]);
      expect(bookDepth(state.book, 'sell')).toEqual([
        { priceTicks: 5000, openWh: 1000, orders: 1 },
        { priceTicks: 5001, openWh: 500, orders: 1 },
      ]);
    });

    it('trades at once when the new price crosses, numbering trades after the earlier ones', () => {
      const b1 = limitOrder('b1', 'dave', 'buy', 1500, 4900);
      const base = [...history, accepted(b1)];
      // b1 took nothing yet; raising it to 5000 takes s1 then s2 (500).
      given(base)
        .when(amend('b1', 'dave', null, 5000))
        .then([
          { type: 'OrderAmended', data: { orderId: 'b1', quantityWh: '1500', limitPriceMinorPerMWh: '5000', priorityKept: false, amendedAt: AT } },
          trade('b1-1', 'b1', 's1', 'dave', 'alice', 'buy', 1000, 5000),
          trade('b1-2', 'b1', 's2', 'dave', 'bob', 'buy', 500, 5000),
        ]);
      // b2 rests 500 after taking s1; raising it to 2500 at 5100 re-enters it behind, and it takes s2.
      const after = runBook([
        submitOrders([s1]),
        submitOrders([limitOrder('b2', 'dave', 'buy', 1500, 5000)]),
        submitOrders([limitOrder('s2', 'bob', 'sell', 1000, 5100)]),
        amend('b2', 'dave', 2500, 5100),
      ]);
      expect(after.events.filter((e) => e.type === 'TradeExecuted').map((e) => (e.data as { tradeId: string }).tradeId)).toEqual(['b2-1', 'b2-2']);
      expect(after.state.orders.get('b2')).toMatchObject({ filledWh: 2000, quantityWh: 2500, priceTicks: 5100, status: 'open', seq: 4, aggressorTrades: 2 });
      expect(bookDepth(after.state.book, 'buy')).toEqual([{ priceTicks: 5100, openWh: 500, orders: 1 }]);
    });

    it("refuses to go to or below what is filled, an amendment of someone else's order, of an unknown or closed one", () => {
      const b1 = limitOrder('b1', 'dave', 'buy', 1500, 5000);
      const { state } = runBook([submitOrders([s1]), submitOrders([b1])]);
      expect(() => orderBookDecider.decide(amend('b1', 'dave', 1000, null), state)).toThrow(QuantityBelowFilled);
      expect(() => orderBookDecider.decide(amend('b1', 'mallory', 1000, null), state)).toThrow(OrderNotOwned);
      expect(() => orderBookDecider.decide(amend('s1', 'alice', 500, null), state)).toThrow(OrderNotOpen);
      expect(() => orderBookDecider.decide(amend('zz', 'alice', 500, null), state)).toThrow(UnknownOrder);
      expect(() => orderBookDecider.decide(amend('b1', 'dave', null, null), state)).toThrow(InvalidCommand);
      expect(orderBookDecider.decide(amend('b1', 'dave', 1500, 5000), state)).toEqual([]);
    });
  });

  describe('cancel', () => {
    it("cancels the remainder of the trader's own open order", () => {
      given([opened, accepted(s1)])
        .when(cancelCommand('s1', 'alice'))
        .then([cancelled('s1', 1000, 'cancelled_by_trader')]);
      const state = stateOf([opened, accepted(s1), cancelled('s1', 1000, 'cancelled_by_trader')]);
      expect(state.orders.get('s1')?.status).toBe('cancelled');
      expect(bookDepth(state.book, 'sell')).toEqual([]);
    });

    it("refuses someone else's order without naming its owner", () => {
      let thrown: unknown;
      try {
        orderBookDecider.decide(cancelCommand('s1', 'mallory'), stateOf([opened, accepted(s1)]));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(OrderNotOwned);
      expect((thrown as OrderNotOwned).details).toEqual({ orderId: 's1', traderId: 'mallory' });
      expect(JSON.stringify((thrown as Error).message)).not.toContain('alice');
    });

    it('refuses an unknown order and one already cancelled', () => {
      given([]).when(cancelCommand('s1', 'alice')).thenThrows(UnknownOrder, { orderId: 's1' });
      given([opened, accepted(s1), cancelled('s1', 1000, 'cancelled_by_trader')])
        .when(cancelCommand('s1', 'alice'))
        .thenThrows(OrderNotOpen, { status: 'cancelled' });
    });
  });

  describe('bad input gets a clear error and no event', () => {
    it('refuses prices off the tick or out of bounds, quantities off the step, too large or not positive', () => {
      const cases: [ReturnType<typeof limitOrder>, abstract new (...args: never[]) => Error, Record<string, unknown>][] = [
        [{ ...s1, limitPriceMinorPerMWh: '5000.5' }, PriceNotOnTick, { field: 'orders[0].limitPriceMinorPerMWh', tickMinorPerMWh: '1' }],
        [{ ...s1, limitPriceMinorPerMWh: '400001' }, PriceOutOfBounds, { priceMinorPerMWh: '400001', maxPriceMinorPerMWh: '400000' }],
        [{ ...s1, limitPriceMinorPerMWh: '-50001' }, PriceOutOfBounds, { minPriceMinorPerMWh: '-50000' }],
        [{ ...s1, quantityWh: '150' }, QuantityNotOnStep, { quantityWh: '150', quantityStepWh: '100' }],
        [{ ...s1, quantityWh: '100000100' }, QuantityAboveMaximum, { maxQuantityWh: '100000000' }],
        [{ ...s1, quantityWh: '-100' }, InvalidCommand, { field: 'orders[0].quantityWh' }],
        [{ ...s1, quantityWh: '0' }, InvalidCommand, { field: 'orders[0].quantityWh' }],
        [{ ...s1, quantityWh: '1.5' }, InvalidCommand, { field: 'orders[0].quantityWh' }],
        [{ ...s1, limitPriceMinorPerMWh: 'cheap' }, InvalidCommand, { field: 'orders[0].limitPriceMinorPerMWh' }],
        [{ ...s1, limitPriceMinorPerMWh: null }, InvalidCommand, { field: 'orders[0].limitPriceMinorPerMWh' }],
        [{ ...s1, orderType: 'market' }, InvalidCommand, { field: 'orders[0].limitPriceMinorPerMWh' }],
        [{ ...s1, traderId: 'bad id' }, InvalidCommand, { field: 'orders[0].traderId' }],
        [{ ...s1, side: 'both' as 'buy' }, InvalidCommand, { field: 'orders[0].side' }],
      ];
      for (const [order, errorClass, details] of cases)
        given([opened])
          .when(submitOrders([order]))
          .thenThrows(errorClass, details);
      // A negative price within the limits is fine (energy can have a negative price).
      given([opened])
        .when(submitOrders([{ ...s1, limitPriceMinorPerMWh: '-2500.0' }]))
        .then([accepted({ ...s1, limitPriceMinorPerMWh: '-2500' })]);
    });

    it("refuses orders before the book opens, at or after the gate closure, and a product that is not the book's", () => {
      given([])
        .when(submitOrders([s1], PRODUCT, '2026-11-27T09:59:59.999Z'))
        .thenThrows(MarketNotOpen, { openAt: PRODUCT.openAt });
      given([opened])
        .when(submitOrders([s1], PRODUCT, GATE))
        .thenThrows(GateClosed, { gateClosureAt: GATE, at: GATE });
      given([opened])
        .when(submitOrders([s1], PRODUCT, '2026-11-28T09:54:59.999Z'))
        .then([accepted(s1, '2026-11-28T09:54:59.999Z')]);
      given([opened, accepted(s1)])
        .when(cancelCommand('s1', 'alice', GATE))
        .thenThrows(GateClosed);
      given([opened, accepted(s1)])
        .when(amend('s1', 'alice', 500, null, GATE))
        .thenThrows(GateClosed);
      given([opened])
        .when(submitOrders([s1], { ...PRODUCT, tickMinorPerMWh: '10' }))
        .thenThrows(UnknownProduct, { reason: 'product_mismatch' });
    });

    it('takes only limit and market orders in an auction product', () => {
      given([])
        .when(submitOrders([orderRequest('i', 'a', 'buy', 'ioc', 100, 5)], AUCTION))
        .thenThrows(OrderTypeNotAllowed, { orderType: 'ioc', mode: 'auction', orderIndex: 0 });
      given([])
        .when(submitOrders([orderRequest('f', 'a', 'buy', 'fok', 100, 5)], AUCTION))
        .thenThrows(OrderTypeNotAllowed);
    });
  });

  describe('gate closure', () => {
    it('refuses to close before the gate, expires the resting orders at it, and refuses everything after', () => {
      const b1 = limitOrder('b1', 'dave', 'buy', 500, 4000);
      const { state } = runBook([submitOrders([s1, s2, b1])]);
      expect(() => orderBookDecider.decide({ type: 'CloseGate', at: '2026-11-28T09:54:59.999Z' }, state)).toThrow(GateNotReached);
      const events = orderBookDecider.decide({ type: 'CloseGate', at: GATE }, state);
      expect(events).toEqual([gateClosed(null, ['s1', '1000'], ['s2', '1000'], ['b1', '500'])]);
      const closed = orderBookDecider.evolveAll(state, events);
      expect(closed.status).toBe('closed');
      expect([...closed.orders.values()].map((o) => o.status)).toEqual(['expired', 'expired', 'expired']);
      expect(bookDepth(closed.book, 'sell')).toEqual([]);
      expect(() => orderBookDecider.decide({ type: 'CloseGate', at: GATE }, closed)).toThrow(GateClosed);
      expect(() => orderBookDecider.decide(submitOrders([limitOrder('x', 'a', 'buy', 100, 1)], PRODUCT, GATE), closed)).toThrow(GateClosed);
      expect(() => orderBookDecider.decide(cancelCommand('s1', 'alice', '2026-11-28T09:00:00Z'), closed)).toThrow(GateClosed);
    });

    it('closes nothing on a book nobody opened', () => {
      given([]).when({ type: 'CloseGate', at: GATE }).then([]);
    });
  });

  describe('auction mode', () => {
    it('lets orders rest crossed until the gate, then clears them at one price', () => {
      // Demand: 3000 @ 5200 (b1), 2000 @ 5000 (b2). Supply: 2000 @ 4800 (s1), 2000 @ 5100 (s2).
      const orders = [
        limitOrder('s1', 'alice', 'sell', 2000, 4800),
        limitOrder('s2', 'bob', 'sell', 2000, 5100),
        limitOrder('b1', 'carol', 'buy', 3000, 5200),
        limitOrder('b2', 'dave', 'buy', 2000, 5000),
      ];
      const { state, events } = runBook([submitOrders(orders, AUCTION)]);
      expect(events.map((e) => e.type)).toEqual(['OrderBookOpened', 'OrderAccepted', 'OrderAccepted', 'OrderAccepted', 'OrderAccepted']);
      // At 4800: D=5000 S=2000 → 2000. At 5000: D=5000 S=2000 → 2000. At 5100: D=3000 S=4000 → 3000. At 5200: D=3000 S=4000 → 3000.
      // Max volume 3000 at 5100 and 5200; surplus |-1000| both; supply exceeds demand at both → the lowest, 5100.
      const closing = orderBookDecider.decide({ type: 'CloseGate', at: GATE }, state);
      const tradeAt = (id: string, b: string, s: string, buyer: string, seller: string, q: number) => trade(id, b, s, buyer, seller, null, q, 5100, GATE);
      expect(closing).toEqual([
        tradeAt('auction-1', 'b1', 's1', 'carol', 'alice', 2000),
        tradeAt('auction-2', 'b1', 's2', 'carol', 'bob', 1000),
        gateClosed(['5100', '3000'], ['s2', '1000'], ['b2', '2000']),
      ]);
      const closed = orderBookDecider.evolveAll(state, closing);
      expect([...closed.orders.values()].map((o) => [o.orderId, o.status, o.filledWh])).toEqual([
        ['s1', 'filled', 2000],
        ['s2', 'expired', 1000],
        ['b1', 'filled', 3000],
        ['b2', 'expired', 0],
      ]);
    });

    it('lets market orders take the price the limit orders set: sell 1 kWh at 10000, limit buy 1 kWh at 10500, market buy 2 kWh clear at 10500 (issue 12, item 8)', () => {
      // Candidates are the limit prices only, 10000 and 10500 (never the product's cap, 400000).
      // Both: demand 3000 (market 2000 + limit 1000), supply 1000 → volume 1000, surplus +2000;
      // demand exceeds supply at both → the highest, 10500. Market orders come first: the market
      // buyer takes the 1000 Wh at 10500, the limit buyer's order (at the price, behind it) expires.
      const orders = [limitOrder('s', 'alice', 'sell', 1000, 10000), limitOrder('l', 'bob', 'buy', 1000, 10500), orderRequest('m', 'carol', 'buy', 'market', 2000, null)];
      const { state } = runBook([submitOrders(orders, AUCTION)]);
      const closing = orderBookDecider.decide({ type: 'CloseGate', at: GATE }, state);
      expect(closing).toEqual([trade('auction-1', 'm', 's', 'carol', 'alice', null, 1000, 10500, GATE), gateClosed(['10500', '1000'], ['l', '1000'], ['m', '1000'])]);
    });

    it("prices a side of market orders by the other side's limits, and trades nothing when no limit order sets a price", () => {
      const marketSell = orderRequest('ms', 'alice', 'sell', 'market', 1000, null);
      const limitBuys = [limitOrder('b1', 'bob', 'buy', 600, 9000), limitOrder('b2', 'carol', 'buy', 600, 8000)];
      // Supply 1000 at every price; demand 1200 up to 8000, 600 up to 9000 → 1000 at 8000 (never the floor, −50000).
      const { state } = runBook([submitOrders([marketSell, ...limitBuys], AUCTION)]);
      const closing = orderBookDecider.decide({ type: 'CloseGate', at: GATE }, state);
      expect(closing.at(-1)).toMatchObject({ type: 'GateClosed', data: { auction: { clearingPriceMinorPerMWh: '8000', volumeWh: '1000' } } });
      expect(closing.flatMap((e) => (e.type === 'TradeExecuted' ? [[e.data.buyOrderId, e.data.quantityWh, e.data.priceMinorPerMWh]] : []))).toEqual([
        ['b1', '600', '8000'],
        ['b2', '400', '8000'],
      ]);

      const onlyMarket = runBook([submitOrders([marketSell, orderRequest('mb', 'bob', 'buy', 'market', 1000, null)], AUCTION)]).state;
      expect(orderBookDecider.decide({ type: 'CloseGate', at: GATE }, onlyMarket)).toEqual([gateClosed(null, ['ms', '1000'], ['mb', '1000'])]);
    });
  });

  it('copies a state so that evolving the copy leaves the original alone', () => {
    const { state } = runBook([submitOrders([s1, s2, s3])]);
    const before = structuredClone(state);
    const copy = cloneOrderBookState(state);
    expect(copy).toEqual(state);
    orderBookDecider.evolveAll(copy, orderBookDecider.decide(submitOrders([limitOrder('b', 'dave', 'buy', 1500, 5000)]), copy));
    expect(state).toEqual(before);
    expect(restingOrders(copy.book, 'sell').map((o) => o.orderId)).toEqual(['s2', 's3']);
  });
});
