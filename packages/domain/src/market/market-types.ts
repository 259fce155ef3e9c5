/**
 * The energy market: a zone's products (`marketzone-<zone>`) and one order book per product and
 * delivery interval (`market-<zone>-<YYYYMMDDTHHMMZ>-<minutes>m`, e.g. `market-NL-20261128T1000Z-15m`).
 *
 * At the edges and in events: quantities are Wh as integer decimal strings (the API takes kWh and
 * converts), prices are minor units of the zone's currency per MWh as decimal strings (0.01 EUR/MWh
 * is "1"), instants canonical UTC. Inside the matching engine prices are integer ticks and
 * quantities integer Wh (exact, and fast).
 */

// ---- marketzone-<zone> ----------------------------------------------------------------------------

export type ProductMode = 'continuous' | 'auction';

/** A kind of product the zone trades, e.g. the 15-minute continuous product. */
export type ProductTemplate = {
  /** Delivery length; a multiple of 15 (the settlement period), at most 1440. Delivery starts are aligned to it (UTC). */
  lengthMinutes: number;
  mode: ProductMode;
  /** Price tick, minor per MWh (> 0): every limit price is a multiple of it. */
  tickMinorPerMWh: string;
  /** Price limits, minor per MWh, inclusive (e.g. "-50000" and "400000" for -500..4000 EUR/MWh). */
  minPriceMinorPerMWh: string;
  maxPriceMinorPerMWh: string;
  /** Quantity step, Wh (integer > 0): every quantity is a multiple of it. */
  quantityStepWh: string;
  /** Largest single order, Wh. */
  maxQuantityWh: string;
  /** Gate closure: this many minutes before delivery start nothing more is accepted. */
  gateClosureMinutes: number;
  /** Orders are accepted from this many minutes before delivery start. */
  openMinutes: number;
};

export type MarketZoneCommand =
  | { type: 'ConfigureMarketZone'; at: string; zone: string; currency: string; imbalancePriceZone: string; products: ProductTemplate[] }
  | { type: 'RegisterParticipant'; at: string; zone: string; participantId: string; name: string }
  /**
   * From validFrom on, the energy of sessions of this fleet / customer / site is the participant's
   * (balance responsibility). Attribution looks for the fleet first, then the customer, then the
   * site; a session nobody claims is the operator's.
   */
  | { type: 'AssignPortfolioMember'; at: string; zone: string; participantId: string; memberKind: 'fleet' | 'customer' | 'site'; memberId: string; validFrom: string };

export type MarketZoneEvent =
  | { type: 'MarketZoneConfigured'; data: { zone: string; currency: string; imbalancePriceZone: string; products: ProductTemplate[] } }
  | { type: 'ParticipantRegistered'; data: { zone: string; participantId: string; name: string } }
  | { type: 'PortfolioMemberAssigned'; data: { zone: string; participantId: string; memberKind: 'fleet' | 'customer' | 'site'; memberId: string; validFrom: string } };

// ---- market-<zone>-<start>-<minutes>m -------------------------------------------------------------

/** One product instance: what the book trades. Written once, in OrderBookOpened. */
export type ProductSpec = {
  zone: string;
  currency: string;
  deliveryStart: string;
  deliveryEnd: string;
  mode: ProductMode;
  /** Instant from which orders are accepted, and the gate closure (exclusive: an order at gateClosureAt is refused). */
  openAt: string;
  gateClosureAt: string;
  tickMinorPerMWh: string;
  minPriceMinorPerMWh: string;
  maxPriceMinorPerMWh: string;
  quantityStepWh: string;
  maxQuantityWh: string;
};

export type Side = 'buy' | 'sell';

/**
 * limit: rests until filled, cancelled or the gate closes. market: no price, takes what the book
 * offers (bounded by the product's price limits), the rest is cancelled. ioc: a limit price, the
 * rest is cancelled, never rests. fok: a limit price, filled in full at once or refused.
 * In auction mode only limit and market orders are accepted; they rest until the auction.
 */
export type OrderType = 'limit' | 'market' | 'ioc' | 'fok';

export type OrderRequest = {
  /** Assigned by the service (derived from the command id): unique within the book. */
  orderId: string;
  /** The trader's own reference; unique per trader within the book. */
  clientOrderId: string;
  traderId: string;
  side: Side;
  orderType: OrderType;
  quantityWh: string;
  /** null for a market order. */
  limitPriceMinorPerMWh: string | null;
};

export type OrderBookCommand =
  /** `product` is resolved by the service from the zone's templates; the first command opens the book with it. */
  | { type: 'SubmitOrders'; at: string; product: ProductSpec; orders: OrderRequest[] }
  /**
   * quantityWh is the new total quantity (> filled). Lowering it keeps time priority; raising it or
   * changing the price loses it (the order re-enters at the back, and may trade at once).
   */
  | { type: 'AmendOrder'; at: string; orderId: string; traderId: string; quantityWh: string | null; limitPriceMinorPerMWh: string | null }
  | { type: 'CancelOrder'; at: string; orderId: string; traderId: string }
  /** At or after gateClosureAt: runs the auction (auction mode), expires every resting order. */
  | { type: 'CloseGate'; at: string };

export type CancelReason = 'cancelled_by_trader' | 'unfilled_remainder' | 'self_trade_prevented';

export type OrderBookEvent =
  | { type: 'OrderBookOpened'; data: ProductSpec }
  | { type: 'OrderAccepted'; data: OrderRequest & { acceptedAt: string } }
  /**
   * A trade at the resting order's price (continuous) or the clearing price (auction). Carries the
   * delivery interval and currency so settlement needs nothing else. tradeId = `<aggressor orderId>-<n>`.
   */
  | {
      type: 'TradeExecuted';
      data: {
        tradeId: string;
        zone: string;
        currency: string;
        deliveryStart: string;
        deliveryEnd: string;
        buyOrderId: string;
        sellOrderId: string;
        buyerId: string;
        sellerId: string;
        /** The side of the incoming order; null in an auction. */
        aggressorSide: Side | null;
        quantityWh: string;
        priceMinorPerMWh: string;
        executedAt: string;
      };
    }
  | { type: 'OrderAmended'; data: { orderId: string; quantityWh: string; limitPriceMinorPerMWh: string | null; priorityKept: boolean; amendedAt: string } }
  | { type: 'OrderCancelled'; data: { orderId: string; remainingWh: string; reason: CancelReason; cancelledAt: string } }
  | {
      type: 'GateClosed';
      data: {
        closedAt: string;
        /** The uniform price and matched volume, auction mode only (null when nothing crossed or continuous). */
        auction: { clearingPriceMinorPerMWh: string; volumeWh: string } | null;
        /** Orders left resting, now expired. */
        expired: { orderId: string; remainingWh: string }[];
      };
    };
