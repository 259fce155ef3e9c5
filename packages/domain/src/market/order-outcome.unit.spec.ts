import { describe, expect, it } from 'vitest';
import { orderOutcomes } from './order-outcome.ts';
import type { OrderBookEvent } from './market-types.ts';

const accepted = (orderId: string, side: 'buy' | 'sell', quantityWh: string, orderType: 'limit' | 'ioc' = 'limit') =>
  ({
    type: 'OrderAccepted',
    data: { orderId, clientOrderId: `c-${orderId}`, traderId: `t-${orderId}`, side, orderType, limitPriceMinorPerMWh: '5000', quantityWh },
  }) as unknown as OrderBookEvent;

describe('orderOutcomes', () => {
  it("lists the submit's own orders with what its trades filled and its cancellations took, not the resting orders its trades hit", () => {
    const events = [
      accepted('a', 'buy', '3000', 'ioc'),
      { type: 'TradeExecuted', data: { buyOrderId: 'a', sellOrderId: 'resting', quantityWh: '1000' } },
      { type: 'TradeExecuted', data: { buyOrderId: 'a', sellOrderId: 'resting2', quantityWh: '500' } },
      { type: 'OrderCancelled', data: { orderId: 'a', remainingWh: '1500', reason: 'ioc_remainder' } },
      accepted('b', 'sell', '2000'),
    ] as unknown as OrderBookEvent[];
    expect(orderOutcomes(events).map((o) => [o.orderId, o.quantityWh, o.filledWh, o.cancelledWh, o.cancelReason])).toEqual([
      ['a', 3000n, 1500n, 1500n, 'ioc_remainder'],
      ['b', 2000n, 0n, 0n, null],
    ]);
  });
});
