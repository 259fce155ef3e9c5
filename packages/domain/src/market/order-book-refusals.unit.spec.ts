/**
 * ORDER_BOOK_REFUSALS against the decider itself: each command type with fields from pools of
 * good, unknown and malformed values, against an empty book, a book with resting and filled
 * orders (continuous and auction) and a closed book. A refusal a list lacks fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refusalsMet } from '../../test/refusals.ts';
import { FIXTURE_AT, FIXTURE_AUCTION_PRODUCT, FIXTURE_GATE, FIXTURE_PRODUCT, orderRequest, runBook, submitOrders } from './market-fixtures.ts';
import { ORDER_BOOK_REFUSALS } from './order-book-refusals.ts';
import type { OrderBookState } from './order-book.ts';
import { orderBookDecider } from './order-book.ts';
import type { OrderBookCommand, OrderType, ProductSpec, Side } from './market-types.ts';

const BEFORE_OPEN = '2026-11-27T09:00:00.000Z';
const AFTER_GATE = '2026-11-28T09:56:00.000Z';

function books(): OrderBookState[] {
  const resting = (product: ProductSpec) =>
    runBook([
      submitOrders(
        [orderRequest('o1', 't1', 'sell', 'limit', 1000, 100), orderRequest('o2', 't2', 'buy', 'limit', 500, 100), orderRequest('o3', 't2', 'buy', 'limit', 1000, 50)],
        product,
      ),
    ]).state;
  const closed = runBook([submitOrders([orderRequest('o1', 't1', 'sell', 'limit', 1000, 100)]), { type: 'CloseGate', at: FIXTURE_GATE }]).state;
  return [orderBookDecider.initialState(), resting(FIXTURE_PRODUCT), resting(FIXTURE_AUCTION_PRODUCT), closed];
}

const at = fc.constantFrom(FIXTURE_AT, FIXTURE_AT, BEFORE_OPEN, FIXTURE_GATE, AFTER_GATE, 'not-a-time');
const orderId = fc.constantFrom('o1', 'o2', 'o3', 'o9', 'bad id!');
const traderId = fc.constantFrom('t1', 't2', 't3', 'bad id!');
const quantityWh = fc.constantFrom('100', '500', '1000', '3000', '50', '0', '-100', '200000000', 'abc');
const price = fc.constantFrom('100', '50', '120', '0.5', '-60000', '500000', 'abc', null);
const product = fc.constantFrom(FIXTURE_PRODUCT, FIXTURE_PRODUCT, FIXTURE_AUCTION_PRODUCT, { ...FIXTURE_PRODUCT, tickMinorPerMWh: '10' });
const request = fc.record({
  orderId: fc.constantFrom('n1', 'n2', 'o1', 'bad id!'),
  clientOrderId: fc.constantFrom('c-n1', 'c-o1', 'c-x'),
  traderId,
  side: fc.constantFrom('buy', 'sell', 'both') as fc.Arbitrary<Side>,
  orderType: fc.constantFrom('limit', 'limit', 'market', 'ioc', 'fok', 'stop') as fc.Arbitrary<OrderType>,
  quantityWh,
  limitPriceMinorPerMWh: price,
});
const command = fc.oneof(
  fc.record({ type: fc.constant('SubmitOrders' as const), at, product, orders: fc.array(request, { minLength: 0, maxLength: 3 }) }),
  fc.record({ type: fc.constant('AmendOrder' as const), at, orderId, traderId, quantityWh: fc.option(quantityWh, { nil: null }), limitPriceMinorPerMWh: price }),
  fc.record({ type: fc.constant('CancelOrder' as const), at, orderId, traderId }),
  fc.record({ type: fc.constant('CloseGate' as const), at }),
) as fc.Arbitrary<OrderBookCommand>;

describe('ORDER_BOOK_REFUSALS', () => {
  it('lists every refusal the decider makes, per command', () => {
    const which = fc.integer({ min: 0, max: books().length - 1 });
    // The book's evolve updates a state in place: decide on a fresh copy of the fixture each time.
    const seen = refusalsMet({ decide: orderBookDecider.decide, stateAt: (w) => books()[w]!, which, command, refusals: ORDER_BOOK_REFUSALS, numRuns: 3_000, seed: 20_261_207 });
    expect([...seen.get('CancelOrder')!].sort()).toEqual(['GateClosed', 'InvalidCommand', 'MarketNotOpen', 'OrderNotOpen', 'OrderNotOwned', 'UnknownOrder']);
    expect([...seen.get('CloseGate')!].sort()).toEqual(['GateClosed', 'GateNotReached', 'InvalidCommand']);
    for (const refusal of ['QuantityNotOnStep', 'PriceNotOnTick', 'DuplicateOrderId', 'UnknownProduct']) expect(seen.get('SubmitOrders'), refusal).toContain(refusal);
  });

  it('keeps cancelling apart from pricing: a cancel meets no price or quantity refusal', () => {
    const names = ORDER_BOOK_REFUSALS.CancelOrder.map((c) => c.name);
    for (const name of ['PriceNotOnTick', 'PriceOutOfBounds', 'QuantityNotOnStep', 'InsufficientQuantity']) expect(names).not.toContain(name);
  });
});
