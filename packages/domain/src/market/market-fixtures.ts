/**
 * Test fixtures of the market (used by the specs next to it and by the event-store schema test):
 * a product, order requests, commands, and a runner that decides and evolves a list of commands.
 * Pure, like the rest of the domain.
 */
import { orderBookDecider, type OrderBookState } from './order-book.ts';
import type { OrderBookCommand, OrderBookEvent, OrderRequest, OrderType, ProductSpec, Side } from './market-types.ts';

export const FIXTURE_PRODUCT: ProductSpec = {
  zone: 'NL',
  currency: 'EUR',
  deliveryStart: '2026-11-28T10:00:00.000Z',
  deliveryEnd: '2026-11-28T10:15:00.000Z',
  mode: 'continuous',
  openAt: '2026-11-27T10:00:00.000Z',
  gateClosureAt: '2026-11-28T09:55:00.000Z',
  tickMinorPerMWh: '1',
  minPriceMinorPerMWh: '-50000',
  maxPriceMinorPerMWh: '400000',
  quantityStepWh: '100',
  maxQuantityWh: '100000000',
};

export const FIXTURE_AUCTION_PRODUCT: ProductSpec = { ...FIXTURE_PRODUCT, mode: 'auction' };

/** An instant while the fixture book is open, and one at its gate closure. */
export const FIXTURE_AT = '2026-11-28T08:00:00.000Z';
export const FIXTURE_GATE = '2026-11-28T09:55:00.000Z';

export function orderRequest(orderId: string, traderId: string, side: Side, orderType: OrderType, quantityWh: number | string, price: number | string | null): OrderRequest {
  return {
    orderId,
    clientOrderId: `c-${orderId}`,
    traderId,
    side,
    orderType,
    quantityWh: String(quantityWh),
    limitPriceMinorPerMWh: price === null ? null : String(price),
  };
}

export const limitOrder = (orderId: string, traderId: string, side: Side, quantityWh: number, price: number): OrderRequest =>
  orderRequest(orderId, traderId, side, 'limit', quantityWh, price);

export function submitOrders(orders: OrderRequest[], product: ProductSpec = FIXTURE_PRODUCT, at: string = FIXTURE_AT): OrderBookCommand {
  return { type: 'SubmitOrders', at, product, orders };
}

/** Decides and evolves each command in turn (a refused command throws). */
export function runBook(commands: OrderBookCommand[], state: OrderBookState = orderBookDecider.initialState()): { state: OrderBookState; events: OrderBookEvent[] } {
  const events: OrderBookEvent[] = [];
  for (const command of commands) {
    const decided = orderBookDecider.decide(command, state);
    events.push(...decided);
    state = orderBookDecider.evolveAll(state, decided);
  }
  return { state, events };
}
