/**
 * Refusals of the market aggregates (order books and market zones). Each has a stable `code` and
 * `details` that name what was wrong; malformed input is an `InvalidCommand(field, reason)` instead.
 *
 * An order-level refusal inside a SubmitOrders batch carries `orderIndex` (the position in
 * `orders`) and, where a field is at fault, `field` (e.g. `orders[3].limitPriceMinorPerMWh`): the
 * batch is atomic, so the index says which order sank it. Outside a batch `orderIndex` is null.
 */
import { DomainError } from '../errors.ts';
import type { OrderType, ProductMode } from './market-types.ts';

const where = (orderIndex: number | null): string => (orderIndex === null ? '' : `orders[${orderIndex}]: `);

/** An order, amendment or cancel at or after the gate closure, or any command once the gate closed. */
export class GateClosed extends DomainError {
  readonly code = 'GATE_CLOSED';
  constructor(details: { gateClosureAt: string; at: string }) {
    super(`the gate closed at ${details.gateClosureAt}: nothing more is accepted (at ${details.at})`, details);
  }
}

/** An order, amendment or cancel before the book opens (delivery start minus the template's openMinutes). */
export class MarketNotOpen extends DomainError {
  readonly code = 'MARKET_NOT_OPEN';
  constructor(details: { openAt: string; at: string }) {
    super(`the book opens at ${details.openAt}; it is ${details.at}`, details);
  }
}

/** A fill-or-kill order the book cannot fill in full, or a market order facing an empty book. */
export class InsufficientQuantity extends DomainError {
  readonly code = 'INSUFFICIENT_QUANTITY';
  constructor(details: { orderId: string; orderIndex: number | null; orderType: OrderType; requestedWh: string; availableWh: string }) {
    const what =
      details.orderType === 'fok'
        ? `fill-or-kill order ${details.orderId} needs ${details.requestedWh} Wh at once; the book offers ${details.availableWh} Wh at acceptable prices (before any own order)`
        : `market order ${details.orderId} finds nothing to trade against`;
    super(`${where(details.orderIndex)}${what}`, details);
  }
}

/** A limit price outside the product's price limits (inclusive). */
export class PriceOutOfBounds extends DomainError {
  readonly code = 'PRICE_OUT_OF_BOUNDS';
  constructor(details: { field: string; orderIndex: number | null; priceMinorPerMWh: string; minPriceMinorPerMWh: string; maxPriceMinorPerMWh: string }) {
    super(
      `${details.field}: ${details.priceMinorPerMWh} is outside the product's limits [${details.minPriceMinorPerMWh}, ${details.maxPriceMinorPerMWh}] (minor per MWh)`,
      details,
    );
  }
}

export class PriceNotOnTick extends DomainError {
  readonly code = 'PRICE_NOT_ON_TICK';
  constructor(details: { field: string; orderIndex: number | null; priceMinorPerMWh: string; tickMinorPerMWh: string }) {
    super(`${details.field}: ${details.priceMinorPerMWh} is not a multiple of the price tick ${details.tickMinorPerMWh} (minor per MWh)`, details);
  }
}

export class QuantityNotOnStep extends DomainError {
  readonly code = 'QUANTITY_NOT_ON_STEP';
  constructor(details: { field: string; orderIndex: number | null; quantityWh: string; quantityStepWh: string }) {
    super(`${details.field}: ${details.quantityWh} Wh is not a multiple of the quantity step ${details.quantityStepWh} Wh`, details);
  }
}

/** An order larger than the product's maxQuantityWh. */
export class QuantityAboveMaximum extends DomainError {
  readonly code = 'QUANTITY_ABOVE_MAXIMUM';
  constructor(details: { field: string; orderIndex: number | null; quantityWh: string; maxQuantityWh: string }) {
    super(`${details.field}: ${details.quantityWh} Wh is more than the largest order the product takes (${details.maxQuantityWh} Wh)`, details);
  }
}

export type UnknownProductReason =
  /** The zone has no MarketZoneConfigured yet. */
  | 'zone_not_configured'
  /** The zone trades no product of that length. */
  | 'no_template'
  /** The delivery start is not a multiple of the length since midnight UTC. */
  | 'not_aligned'
  /** The command's product differs from the one the book was opened with. */
  | 'product_mismatch';

export class UnknownProduct extends DomainError {
  readonly code = 'UNKNOWN_PRODUCT';
  constructor(details: { zone: string; deliveryStart: string; lengthMinutes: number; reason: UnknownProductReason; explanation: string }) {
    super(`zone ${details.zone} has no ${details.lengthMinutes}-minute product delivering from ${details.deliveryStart}: ${details.explanation}`, details);
  }
}

export class UnknownOrder extends DomainError {
  readonly code = 'UNKNOWN_ORDER';
  constructor(orderId: string) {
    super(`this book has no order ${orderId}`, { orderId });
  }
}

/** An amend or cancel of another trader's order. Names the requester, never the owner. */
export class OrderNotOwned extends DomainError {
  readonly code = 'ORDER_NOT_OWNED';
  constructor(orderId: string, traderId: string) {
    super(`order ${orderId} is not an order of trader ${traderId}`, { orderId, traderId });
  }
}

/** An amend or cancel of an order that is filled, cancelled or expired. */
export class OrderNotOpen extends DomainError {
  readonly code = 'ORDER_NOT_OPEN';
  constructor(orderId: string, status: 'filled' | 'cancelled' | 'expired') {
    super(`order ${orderId} is ${status}: it can no longer be amended or cancelled`, { orderId, status });
  }
}

/** A client order id the trader already used in this book (or earlier in the same batch). */
export class DuplicateClientOrderId extends DomainError {
  readonly code = 'DUPLICATE_CLIENT_ORDER_ID';
  constructor(details: { traderId: string; clientOrderId: string; orderIndex: number | null }) {
    super(`${where(details.orderIndex)}trader ${details.traderId} already used client order id ${details.clientOrderId} in this book`, details);
  }
}

/** An order id (assigned by the service) already used in this book (or earlier in the same batch). */
export class DuplicateOrderId extends DomainError {
  readonly code = 'DUPLICATE_ORDER_ID';
  constructor(details: { orderId: string; orderIndex: number | null }) {
    super(`${where(details.orderIndex)}order id ${details.orderId} is already used in this book`, details);
  }
}

/** An amendment to a total quantity at or below what the order already filled. */
export class QuantityBelowFilled extends DomainError {
  readonly code = 'QUANTITY_BELOW_FILLED';
  constructor(details: { orderId: string; quantityWh: string; filledWh: string }) {
    super(`order ${details.orderId} has filled ${details.filledWh} Wh: its new quantity ${details.quantityWh} Wh must be more than that`, details);
  }
}

/** CloseGate before the gate closure. */
export class GateNotReached extends DomainError {
  readonly code = 'GATE_NOT_REACHED';
  constructor(details: { gateClosureAt: string; at: string }) {
    super(`the gate closes at ${details.gateClosureAt}, not at ${details.at}`, details);
  }
}

/** ioc and fok orders in an auction product (only limit and market orders wait for the auction). */
export class OrderTypeNotAllowed extends DomainError {
  readonly code = 'ORDER_TYPE_NOT_ALLOWED';
  constructor(details: { orderType: OrderType; mode: ProductMode; orderIndex: number | null }) {
    super(`${where(details.orderIndex)}a ${details.mode} product takes no ${details.orderType} orders (only limit and market orders)`, details);
  }
}

/** A trader (or portfolio owner) the zone has not registered. */
export class UnknownParticipant extends DomainError {
  readonly code = 'UNKNOWN_PARTICIPANT';
  constructor(zone: string, participantId: string) {
    super(`zone ${zone} has no participant ${participantId}`, { zone, participantId });
  }
}

export class ParticipantExists extends DomainError {
  readonly code = 'PARTICIPANT_EXISTS';
  constructor(zone: string, participantId: string) {
    super(`zone ${zone} already has a participant ${participantId}`, { zone, participantId });
  }
}

/** A participant or portfolio command on a zone that was never configured. */
export class MarketZoneNotConfigured extends DomainError {
  readonly code = 'MARKET_ZONE_NOT_CONFIGURED';
  constructor(zone: string) {
    super(`market zone ${zone} is not configured: configure it (ConfigureMarketZone) first`, { zone });
  }
}
