import type { OrderBookEvent, OrderType, Side } from './market-types.ts';

/** An order as the submit that placed it left it: what filled at once, what was cancelled (and why); the rest rests. */
export type OrderOutcome = {
  orderId: string;
  clientOrderId: string;
  traderId: string;
  side: Side;
  orderType: OrderType;
  limitPriceMinorPerMWh: string | null;
  quantityWh: bigint;
  filledWh: bigint;
  cancelledWh: bigint;
  cancelReason: string | null;
};

/**
 * The orders a submit accepted, in the order of its events, with what its own trades filled and its
 * own cancellations (an IOC's rest, say) took. Orders of other submits a trade touched are not listed.
 */
export function orderOutcomes(events: readonly OrderBookEvent[]): OrderOutcome[] {
  const orders = new Map<string, OrderOutcome>();
  for (const e of events) {
    switch (e.type) {
      case 'OrderAccepted':
        orders.set(e.data.orderId, {
          orderId: e.data.orderId,
          clientOrderId: e.data.clientOrderId,
          traderId: e.data.traderId,
          side: e.data.side,
          orderType: e.data.orderType,
          limitPriceMinorPerMWh: e.data.limitPriceMinorPerMWh,
          quantityWh: BigInt(e.data.quantityWh),
          filledWh: 0n,
          cancelledWh: 0n,
          cancelReason: null,
        });
        break;
      case 'TradeExecuted':
        for (const id of [e.data.buyOrderId, e.data.sellOrderId]) {
          const order = orders.get(id);
          if (order) order.filledWh += BigInt(e.data.quantityWh);
        }
        break;
      case 'OrderCancelled': {
        const order = orders.get(e.data.orderId);
        if (order) {
          order.cancelledWh += BigInt(e.data.remainingWh);
          order.cancelReason = e.data.reason;
        }
        break;
      }
      default:
        break;
    }
  }
  return [...orders.values()];
}
