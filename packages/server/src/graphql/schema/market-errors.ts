import {
  AccountNotFound,
  UnknownSite,
  DuplicateClientOrderId,
  DuplicateOrderId,
  GateClosed,
  GateNotReached,
  InsufficientQuantity,
  MarketNotOpen,
  MarketZoneNotConfigured,
  OrderNotOpen,
  OrderNotOwned,
  OrderTypeNotAllowed,
  ParticipantExists,
  PriceNotOnTick,
  PriceOutOfBounds,
  QuantityAboveMaximum,
  QuantityBelowFilled,
  QuantityNotOnStep,
  UnknownOrder,
  UnknownParticipant,
  UnknownProduct,
  ORDER_BOOK_REFUSALS,
  type OrderBookCommand,
  type RefusalClass,
} from '@v2g/domain';
import { COMMAND_ERRORS } from './errors.ts';
import { errorType } from './grid-errors.ts';

/**
 * The market's refusals as GraphQL types (see grid-errors.ts for the pattern): each keeps its code
 * and shows its facts as fields. An order-level refusal inside a batch says which order sank it
 * (`orderIndex`, the position in `orders`; null outside a batch) and, where a field is at fault,
 * which (`orders[3].limitPriceMinorPerMWh`).
 */

const orderIndex = { about: 'Which order of the batch (0-based); null outside a batch.', shape: 'optional' } as const;

errorType(GateClosed, 'GateClosedError', "The book's gate has closed: nothing more is accepted.", {
  gateClosureAt: 'When the gate closed.',
  at: 'The time of the command.',
});
errorType(MarketNotOpen, 'MarketNotOpenError', 'The book does not take orders yet.', { openAt: 'When it opens.', at: 'The time of the command.' });
errorType(InsufficientQuantity, 'InsufficientQuantityError', 'A fill-or-kill order the book cannot fill in full at once, or a market order facing an empty book.', {
  orderId: 'The order.',
  orderIndex,
  orderType: '"fok" or "market".',
  requestedWh: 'What it asked for, Wh.',
  availableWh: 'What the book offered at acceptable prices, Wh.',
  requestedKWh: { about: 'What it asked for, kWh (as orders are sent).', shape: 'optional' },
  availableKWh: { about: 'What the book offered at acceptable prices, kWh.', shape: 'optional' },
});
errorType(PriceOutOfBounds, 'PriceOutOfBoundsError', "A limit price outside the product's price limits.", {
  field: 'The input field at fault.',
  orderIndex,
  priceMinorPerMWh: 'The price asked for.',
  minPriceMinorPerMWh: 'The lowest price the product takes.',
  maxPriceMinorPerMWh: 'The highest price the product takes.',
});
errorType(PriceNotOnTick, 'PriceNotOnTickError', 'A limit price that is not a whole number of price ticks.', {
  field: 'The input field at fault.',
  orderIndex,
  priceMinorPerMWh: 'The price asked for.',
  tickMinorPerMWh: "The product's price tick.",
});
errorType(QuantityNotOnStep, 'QuantityNotOnStepError', "A quantity that is not a whole number of the product's quantity steps.", {
  field: 'The input field at fault.',
  orderIndex,
  quantityWh: 'The quantity, Wh.',
  quantityStepWh: 'The step, Wh.',
  quantityKWh: { about: 'The quantity, kWh (as it was sent).', shape: 'optional' },
  quantityStepKWh: { about: 'The step, kWh.', shape: 'optional' },
});
errorType(QuantityAboveMaximum, 'QuantityAboveMaximumError', 'An order larger than the product allows.', {
  field: 'The input field at fault.',
  orderIndex,
  quantityWh: 'The quantity, Wh.',
  maxQuantityWh: 'The largest order, Wh.',
  quantityKWh: { about: 'The quantity, kWh (as it was sent).', shape: 'optional' },
  maxQuantityKWh: { about: 'The largest order, kWh.', shape: 'optional' },
});
errorType(UnknownProduct, 'UnknownProductError', 'The zone trades no such product (or delivery start).', {
  zone: 'The zone.',
  deliveryStart: 'The delivery start asked for.',
  lengthMinutes: 'The product length asked for.',
  reason: '"zone_not_configured", "no_template", "not_aligned" or "product_mismatch".',
  explanation: 'Why, for humans.',
});
errorType(UnknownOrder, 'UnknownOrderError', 'The book has no such order.', { orderId: 'The order.' });
errorType(OrderNotOwned, 'OrderNotOwnedError', "The order is another trader's.", { orderId: 'The order.', traderId: 'The trader who asked (never the owner).' });
errorType(OrderNotOpen, 'OrderNotOpenError', 'The order is filled, cancelled or expired.', { orderId: 'The order.', status: 'Its status.' });
errorType(DuplicateClientOrderId, 'DuplicateClientOrderIdError', 'The trader already used this client order id in this book.', {
  traderId: 'The trader.',
  clientOrderId: 'The client order id.',
  orderIndex,
});
errorType(DuplicateOrderId, 'DuplicateOrderIdError', 'An order id already used in this book.', { orderId: 'The order id.', orderIndex });
errorType(QuantityBelowFilled, 'QuantityBelowFilledError', 'An amended quantity at or below what the order already filled.', {
  orderId: 'The order.',
  quantityWh: 'The new quantity asked for, Wh.',
  filledWh: 'What it filled, Wh.',
  quantityKWh: { about: 'The new quantity asked for, kWh (as it was sent).', shape: 'optional' },
  filledKWh: { about: 'What it filled, kWh.', shape: 'optional' },
});
errorType(GateNotReached, 'GateNotReachedError', 'The gate closes later.', { gateClosureAt: 'When it closes.', at: 'The time of the command.' });
errorType(OrderTypeNotAllowed, 'OrderTypeNotAllowedError', 'The product takes no orders of this type (an auction takes limit and market orders).', {
  orderType: 'The order type.',
  mode: "The product's mode.",
  orderIndex,
});
errorType(UnknownParticipant, 'UnknownParticipantError', 'The zone has not registered this trader.', { zone: 'The zone.', participantId: 'The participant.' });
errorType(ParticipantExists, 'ParticipantExistsError', 'The participant id is taken in this zone.', { zone: 'The zone.', participantId: 'The participant.' });
errorType(MarketZoneNotConfigured, 'MarketZoneNotConfiguredError', 'The zone has not been configured yet.', { zone: 'The zone.' });

/** Refusals of the ledger's market service before the book decides: the zone's product for the delivery, its participants. */
const BOOK_SERVICE_REFUSALS: Partial<Record<OrderBookCommand['type'], readonly RefusalClass[]>> = { SubmitOrders: [UnknownProduct, UnknownParticipant] };

/**
 * What one order-book command can meet, and nothing else: what the book's decider refuses it with
 * (ORDER_BOOK_REFUSALS, checked against the decider by a property test in the domain), what the
 * market service checks before, and the store's refusals every command meets.
 */
export function bookCommandErrors(type: OrderBookCommand['type']): RefusalClass[] {
  return [...new Set<RefusalClass>([...COMMAND_ERRORS, ...ORDER_BOOK_REFUSALS[type], ...(BOOK_SERVICE_REFUSALS[type] ?? [])])];
}

/** What each zone command can meet (market-zone.ts: configuring checks input only; the others need a configured zone). */
export const ZONE_COMMAND_ERRORS = {
  configureMarketZone: [...COMMAND_ERRORS],
  registerParticipant: [...COMMAND_ERRORS, MarketZoneNotConfigured, ParticipantExists],
  assignPortfolioMember: [...COMMAND_ERRORS, MarketZoneNotConfigured, UnknownParticipant, AccountNotFound, UnknownSite],
};
