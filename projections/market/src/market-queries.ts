import { Decimal } from '@v2g/domain';
import type { KeysetWindow, SqlExecutor } from '@v2g/event-store';
import { keysetPage, type TableNames } from '@v2g/read-model';

/**
 * Reads of the market read model. Quantities are Wh and prices minor units per MWh, as decimal
 * strings without trailing zeros; instants ISO-8601 UTC; positions bigint. Lists are read by keyset
 * (the log position of the row), a page at a time.
 */

export type MarketSide = 'buy' | 'sell';
export type MarketOrderStatus = 'open' | 'filled' | 'cancelled' | 'expired';
export const MARKET_ORDER_STATUSES: readonly MarketOrderStatus[] = ['open', 'filled', 'cancelled', 'expired'];

export type MarketBook = {
  /** The book's stream id, `market-<zone>-<YYYYMMDDTHHMMZ>-<m>m`. */
  bookId: string;
  zone: string;
  currency: string;
  deliveryStart: string;
  deliveryEnd: string;
  lengthMinutes: number;
  mode: 'continuous' | 'auction';
  status: 'open' | 'closed';
  openAt: string;
  gateClosureAt: string;
  closedAt: string | null;
  tickMinorPerMWh: string;
  minPriceMinorPerMWh: string;
  maxPriceMinorPerMWh: string;
  quantityStepWh: string;
  maxQuantityWh: string;
  /** The highest resting buy price and the lowest resting sell price; null when that side is empty. */
  bestBidMinorPerMWh: string | null;
  bestAskMinorPerMWh: string | null;
  /** Auction mode, once the gate closed: the uniform price and volume (null when nothing crossed). */
  clearingPriceMinorPerMWh: string | null;
  auctionVolumeWh: string | null;
  tradedWh: string;
  tradeCount: bigint;
  lastPriceMinorPerMWh: string | null;
  lastTradeAt: string | null;
};

export type DepthLevel = { priceMinorPerMWh: string; quantityWh: string; orders: number };

/** Bids best (highest) first, asks best (lowest) first. */
export type BookDepth = { bids: DepthLevel[]; asks: DepthLevel[] };

export type MarketOrder = {
  bookId: string;
  orderId: string;
  clientOrderId: string;
  traderId: string;
  side: MarketSide;
  orderType: 'limit' | 'market' | 'ioc' | 'fok';
  /** null for a market order. */
  limitPriceMinorPerMWh: string | null;
  /** The order's quantity now (an amendment changes it): filled + remaining + cancelled. */
  quantityWh: string;
  filledWh: string;
  /** What still rests (0 unless open). */
  remainingWh: string;
  /** Cancelled (by the trader, as an unfilled remainder, by self-trade prevention) or expired at the gate. */
  cancelledWh: string;
  status: MarketOrderStatus;
  cancelReason: string | null;
  acceptedAt: string;
  /** When its time priority began: acceptance, or the last amendment that lost priority. */
  priorityAt: string;
  acceptedPosition: bigint;
  zone: string;
  deliveryStart: string;
  deliveryEnd: string;
};

export type MarketTrade = {
  position: bigint;
  tradeId: string;
  bookId: string;
  zone: string;
  currency: string;
  deliveryStart: string;
  deliveryEnd: string;
  buyOrderId: string;
  sellOrderId: string;
  buyerId: string;
  sellerId: string;
  aggressorSide: MarketSide | null;
  quantityWh: string;
  priceMinorPerMWh: string;
  /** What the buyer pays the seller, whole minor units (tradeAmountMinor: quantity × price, half-even, as settled). */
  amountMinor: string;
  executedAt: string;
};

export type TraderPosition = {
  traderId: string;
  zone: string;
  currency: string;
  deliveryStart: string;
  deliveryEnd: string;
  boughtWh: string;
  soldWh: string;
  /** sold − bought, settlement's sign: positive the trader delivers energy (short), negative it takes energy (long). */
  contractedWh: string;
  /** Paid for the energy bought and received for the energy sold: sums of the trades' amounts (whole minor units, as settled). */
  boughtAmountMinor: string;
  soldAmountMinor: string;
  /** sold − bought amounts: positive received (settlement's tradeAmount). */
  tradeAmountMinor: string;
  /** Volume-weighted averages, minor per MWh, rounded half-even to 4 decimals; null without volume. */
  averageBuyPriceMinorPerMWh: string | null;
  averageSellPriceMinorPerMWh: string | null;
  averagePriceMinorPerMWh: string | null;
  tradeCount: bigint;
};

export type Page<T> = { nodes: T[]; hasNextPage: boolean };

type Instant = Date | string;
const iso = (value: Instant): string => new Date(value).toISOString();
const isoOrNull = (value: Instant | null): string | null => (value === null ? null : iso(value));
const fig = (column: string, as: string) => `trim_scale(${column})::text AS ${as}`;

export const MAX_PAGE_SIZE = 500;

function checkPage(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw new RangeError(`first must be a whole number from 1 to ${MAX_PAGE_SIZE}, not ${first}`);
}

function checkAfter(after: bigint | null | undefined): string | null {
  if (after === null || after === undefined) return null;
  if (after < 0n) throw new RangeError(`not a cursor of this list: ${after}`);
  return after.toString();
}

// ---- zones ----------------------------------------------------------------------------------------

export type MarketZoneSummary = { zone: string; currency: string; imbalancePriceZone: string; products: unknown[]; position: bigint };

/** Zones by id (byte order), `first` rows of a keyset window in reading order; optionally of one currency. */
export async function listZones(
  sql: SqlExecutor,
  table: TableNames,
  filter: { currency?: string | null },
  page: { first: number } & KeysetWindow<string>,
): Promise<MarketZoneSummary[]> {
  const params: unknown[] = [filter.currency ?? null, page.first];
  const { where, orderBy } = keysetPage(params, 'z.zone COLLATE "C"', 'text', page);
  const { rows } = await sql.query<{ zone: string; currency: string; imbalance_price_zone: string; products: unknown[]; position: string }>(
    `SELECT z.zone, z.currency, z.imbalance_price_zone, z.products, z.position::text AS position FROM ${table('zones')} z
      WHERE ($1::text IS NULL OR z.currency = $1) AND ${where} ORDER BY ${orderBy} LIMIT $2`,
    params,
  );
  return rows.map((r) => ({ zone: r.zone, currency: r.currency, imbalancePriceZone: r.imbalance_price_zone, products: r.products, position: BigInt(r.position) }));
}

export async function countZones(sql: SqlExecutor, table: TableNames, filter: { currency?: string | null }): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table('zones')} WHERE $1::text IS NULL OR currency = $1`, [filter.currency ?? null]);
  return BigInt(rows[0]?.count ?? '0');
}

// ---- books ----------------------------------------------------------------------------------------

type BookDbRow = {
  book_id: string;
  zone: string;
  currency: string;
  delivery_start: Instant;
  delivery_end: Instant;
  length_minutes: number;
  mode: MarketBook['mode'];
  status: MarketBook['status'];
  open_at: Instant;
  gate_closure_at: Instant;
  closed_at: Instant | null;
  tick: string;
  min_price: string;
  max_price: string;
  step: string;
  max_quantity: string;
  best_bid: string | null;
  best_ask: string | null;
  clearing_price: string | null;
  auction_volume: string | null;
  traded_wh: string;
  trade_count: string;
  last_price: string | null;
  last_trade_at: Instant | null;
};

const BOOK_COLUMNS = (table: TableNames) => `b.book_id, b.zone, b.currency, b.delivery_start, b.delivery_end, b.length_minutes, b.mode, b.status, b.open_at,
  b.gate_closure_at, b.closed_at, ${fig('b.tick_minor_per_mwh', 'tick')}, ${fig('b.min_price_minor_per_mwh', 'min_price')},
  ${fig('b.max_price_minor_per_mwh', 'max_price')}, ${fig('b.quantity_step_wh', 'step')}, ${fig('b.max_quantity_wh', 'max_quantity')},
  (SELECT trim_scale(max(l.price_minor_per_mwh))::text FROM ${table('levels')} l WHERE l.book_id = b.book_id AND l.side = 'buy') AS best_bid,
  (SELECT trim_scale(min(l.price_minor_per_mwh))::text FROM ${table('levels')} l WHERE l.book_id = b.book_id AND l.side = 'sell') AS best_ask,
  ${fig('b.clearing_price_minor_per_mwh', 'clearing_price')}, ${fig('b.auction_volume_wh', 'auction_volume')}, ${fig('b.traded_wh', 'traded_wh')},
  b.trade_count::text AS trade_count, ${fig('b.last_price_minor_per_mwh', 'last_price')}, b.last_trade_at`;

function toBook(r: BookDbRow): MarketBook {
  return {
    bookId: r.book_id,
    zone: r.zone,
    currency: r.currency,
    deliveryStart: iso(r.delivery_start),
    deliveryEnd: iso(r.delivery_end),
    lengthMinutes: r.length_minutes,
    mode: r.mode,
    status: r.status,
    openAt: iso(r.open_at),
    gateClosureAt: iso(r.gate_closure_at),
    closedAt: isoOrNull(r.closed_at),
    tickMinorPerMWh: r.tick,
    minPriceMinorPerMWh: r.min_price,
    maxPriceMinorPerMWh: r.max_price,
    quantityStepWh: r.step,
    maxQuantityWh: r.max_quantity,
    bestBidMinorPerMWh: r.best_bid,
    bestAskMinorPerMWh: r.best_ask,
    clearingPriceMinorPerMWh: r.clearing_price,
    auctionVolumeWh: r.auction_volume,
    tradedWh: r.traded_wh,
    tradeCount: BigInt(r.trade_count),
    lastPriceMinorPerMWh: r.last_price,
    lastTradeAt: isoOrNull(r.last_trade_at),
  };
}

/** The book of a zone's product delivered over [deliveryStart, deliveryStart + lengthMinutes); null before its first order. */
export async function findBook(sql: SqlExecutor, table: TableNames, product: { zone: string; deliveryStart: string; lengthMinutes: number }): Promise<MarketBook | null> {
  const { rows } = await sql.query<BookDbRow>(
    `SELECT ${BOOK_COLUMNS(table)} FROM ${table('books')} b WHERE b.zone = $1 AND b.delivery_start = $2::timestamptz AND b.length_minutes = $3`,
    [product.zone, product.deliveryStart, product.lengthMinutes],
  );
  return rows[0] ? toBook(rows[0]) : null;
}

export async function findBookById(sql: SqlExecutor, table: TableNames, bookId: string): Promise<MarketBook | null> {
  const { rows } = await sql.query<BookDbRow>(`SELECT ${BOOK_COLUMNS(table)} FROM ${table('books')} b WHERE b.book_id = $1`, [bookId]);
  return rows[0] ? toBook(rows[0]) : null;
}

/** A zone's books whose delivery overlaps [from, to), by delivery start then length. */
export async function booksOfZone(sql: SqlExecutor, table: TableNames, zone: string, range: { from: string; to: string; status?: MarketBook['status'] }): Promise<MarketBook[]> {
  const { rows } = await sql.query<BookDbRow>(
    `SELECT ${BOOK_COLUMNS(table)} FROM ${table('books')} b
      WHERE b.zone = $1 AND b.delivery_start < $3::timestamptz AND b.delivery_end > $2::timestamptz AND ($4::text IS NULL OR b.status = $4)
      ORDER BY b.delivery_start, b.length_minutes`,
    [zone, range.from, range.to, range.status ?? null],
  );
  return rows.map(toBook);
}

export type OpenBook = { bookId: string; zone: string; deliveryStart: string; lengthMinutes: number; gateClosureAt: string };

/** Every book whose gate has not closed yet (what a gate scheduler watches after a restart). */
export async function openBooks(sql: SqlExecutor, table: TableNames): Promise<OpenBook[]> {
  const { rows } = await sql.query<{ book_id: string; zone: string; delivery_start: Instant; length_minutes: number; gate_closure_at: Instant }>(
    `SELECT book_id, zone, delivery_start, length_minutes, gate_closure_at FROM ${table('books')} WHERE status = 'open' ORDER BY gate_closure_at, book_id`,
  );
  return rows.map((r) => ({ bookId: r.book_id, zone: r.zone, deliveryStart: iso(r.delivery_start), lengthMinutes: r.length_minutes, gateClosureAt: iso(r.gate_closure_at) }));
}

/** The resting orders aggregated per price level: at most `levels` per side (default all). */
export async function bookDepth(sql: SqlExecutor, table: TableNames, bookId: string, levels?: number): Promise<BookDepth> {
  const limit = levels ?? null;
  if (limit !== null && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`levels must be a whole number from 1, not ${limit}`);
  const { rows } = await sql.query<{ side: MarketSide; price: string; quantity_wh: string; order_count: number }>(
    `(SELECT side, ${fig('price_minor_per_mwh', 'price')}, ${fig('quantity_wh', 'quantity_wh')}, order_count FROM ${table('levels')}
       WHERE book_id = $1 AND side = 'buy' ORDER BY price_minor_per_mwh DESC LIMIT $2)
     UNION ALL
     (SELECT side, ${fig('price_minor_per_mwh', 'price')}, ${fig('quantity_wh', 'quantity_wh')}, order_count FROM ${table('levels')}
       WHERE book_id = $1 AND side = 'sell' ORDER BY price_minor_per_mwh ASC LIMIT $2)`,
    [bookId, limit],
  );
  const level = (r: (typeof rows)[number]): DepthLevel => ({ priceMinorPerMWh: r.price, quantityWh: r.quantity_wh, orders: r.order_count });
  return { bids: rows.filter((r) => r.side === 'buy').map(level), asks: rows.filter((r) => r.side === 'sell').map(level) };
}

// ---- orders ---------------------------------------------------------------------------------------

type OrderDbRow = {
  book_id: string;
  order_id: string;
  client_order_id: string;
  trader_id: string;
  side: MarketSide;
  order_type: MarketOrder['orderType'];
  limit_price: string | null;
  quantity_wh: string;
  filled_wh: string;
  remaining_wh: string;
  cancelled_wh: string;
  status: MarketOrderStatus;
  cancel_reason: string | null;
  accepted_at: Instant;
  priority_at: Instant;
  accepted_position: string;
  zone: string;
  delivery_start: Instant;
  delivery_end: Instant;
};

const ORDER_COLUMNS = `o.book_id, o.order_id, o.client_order_id, o.trader_id, o.side, o.order_type, ${fig('o.limit_price_minor_per_mwh', 'limit_price')},
  ${fig('o.quantity_wh', 'quantity_wh')}, ${fig('o.filled_wh', 'filled_wh')}, ${fig('o.remaining_wh', 'remaining_wh')}, ${fig('o.cancelled_wh', 'cancelled_wh')},
  o.status, o.cancel_reason, o.accepted_at, o.priority_at, o.accepted_position::text AS accepted_position, b.zone, b.delivery_start, b.delivery_end`;

function toOrder(r: OrderDbRow): MarketOrder {
  return {
    bookId: r.book_id,
    orderId: r.order_id,
    clientOrderId: r.client_order_id,
    traderId: r.trader_id,
    side: r.side,
    orderType: r.order_type,
    limitPriceMinorPerMWh: r.limit_price,
    quantityWh: r.quantity_wh,
    filledWh: r.filled_wh,
    remainingWh: r.remaining_wh,
    cancelledWh: r.cancelled_wh,
    status: r.status,
    cancelReason: r.cancel_reason,
    acceptedAt: iso(r.accepted_at),
    priorityAt: iso(r.priority_at),
    acceptedPosition: BigInt(r.accepted_position),
    zone: r.zone,
    deliveryStart: iso(r.delivery_start),
    deliveryEnd: iso(r.delivery_end),
  };
}

export type OrderFilter = { traderId?: string | null; bookId?: string | null; status?: MarketOrderStatus | null };

const orderWhere = (first: number) =>
  `($${first}::text IS NULL OR o.trader_id = $${first}) AND ($${first + 1}::text IS NULL OR o.book_id = $${first + 1}) AND ($${first + 2}::text IS NULL OR o.status = $${first + 2})`;
const orderParams = (filter: OrderFilter) => [filter.traderId ?? null, filter.bookId ?? null, filter.status ?? null];

/** Orders in the order they were accepted, in a window of accepted positions (see KeysetWindow). */
export async function listOrders(sql: SqlExecutor, table: TableNames, filter: OrderFilter, page: { first: number } & KeysetWindow<bigint>): Promise<Page<MarketOrder>> {
  checkPage(page.first);
  if (!filter.traderId && !filter.bookId) throw new RangeError('orders are listed by trader or by book');
  const params: unknown[] = [...orderParams(filter), page.first + 1];
  const { where, orderBy } = keysetPage(params, 'o.accepted_position', 'bigint', page, checkAfter);
  const { rows } = await sql.query<OrderDbRow>(
    `SELECT ${ORDER_COLUMNS} FROM ${table('orders')} o JOIN ${table('books')} b ON b.book_id = o.book_id
      WHERE ${orderWhere(1)} AND ${where}
      ORDER BY ${orderBy} LIMIT $4`,
    params,
  );
  return { nodes: rows.slice(0, page.first).map(toOrder), hasNextPage: rows.length > page.first };
}

export async function countOrders(sql: SqlExecutor, table: TableNames, filter: OrderFilter): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table('orders')} o WHERE ${orderWhere(1)}`, orderParams(filter));
  return BigInt(rows[0]?.count ?? '0');
}

export async function findOrder(sql: SqlExecutor, table: TableNames, bookId: string, orderId: string): Promise<MarketOrder | null> {
  const { rows } = await sql.query<OrderDbRow>(
    `SELECT ${ORDER_COLUMNS} FROM ${table('orders')} o JOIN ${table('books')} b ON b.book_id = o.book_id WHERE o.book_id = $1 AND o.order_id = $2`,
    [bookId, orderId],
  );
  return rows[0] ? toOrder(rows[0]) : null;
}

// ---- trades ---------------------------------------------------------------------------------------

type TradeDbRow = {
  position: string;
  trade_id: string;
  book_id: string;
  zone: string;
  currency: string;
  delivery_start: Instant;
  delivery_end: Instant;
  buy_order_id: string;
  sell_order_id: string;
  buyer_id: string;
  seller_id: string;
  aggressor_side: MarketSide | null;
  quantity_wh: string;
  price: string;
  amount_minor: string;
  executed_at: Instant;
};

const TRADE_COLUMNS = `t.position::text AS position, t.trade_id, t.book_id, t.zone, t.currency, t.delivery_start, t.delivery_end, t.buy_order_id,
  t.sell_order_id, t.buyer_id, t.seller_id, t.aggressor_side, ${fig('t.quantity_wh', 'quantity_wh')}, ${fig('t.price_minor_per_mwh', 'price')},
  ${fig('t.amount_minor', 'amount_minor')}, t.executed_at`;

function toTrade(r: TradeDbRow): MarketTrade {
  return {
    position: BigInt(r.position),
    tradeId: r.trade_id,
    bookId: r.book_id,
    zone: r.zone,
    currency: r.currency,
    deliveryStart: iso(r.delivery_start),
    deliveryEnd: iso(r.delivery_end),
    buyOrderId: r.buy_order_id,
    sellOrderId: r.sell_order_id,
    buyerId: r.buyer_id,
    sellerId: r.seller_id,
    aggressorSide: r.aggressor_side,
    quantityWh: r.quantity_wh,
    priceMinorPerMWh: r.price,
    amountMinor: r.amount_minor,
    executedAt: iso(r.executed_at),
  };
}

/** The tape: every trade, or a book's, or a trader's (as buyer or seller), or both. */
export type TradeFilter = { bookId?: string | null; traderId?: string | null; zone?: string | null };

const tradeWhere = (first: number) =>
  `($${first}::text IS NULL OR t.book_id = $${first}) AND ($${first + 1}::text IS NULL OR t.buyer_id = $${first + 1} OR t.seller_id = $${first + 1})
   AND ($${first + 2}::text IS NULL OR t.zone = $${first + 2})`;
const tradeParams = (filter: TradeFilter) => [filter.bookId ?? null, filter.traderId ?? null, filter.zone ?? null];

/** Trades by log position: oldest first, or newest first; in a window of positions (see KeysetWindow). */
export async function listTrades(
  sql: SqlExecutor,
  table: TableNames,
  filter: TradeFilter,
  page: { first: number; newestFirst?: boolean } & KeysetWindow<bigint>,
): Promise<Page<MarketTrade>> {
  checkPage(page.first);
  const params: unknown[] = [...tradeParams(filter), page.first + 1];
  const { where, orderBy } = keysetPage(params, 't.position', 'bigint', { ...page, descending: page.newestFirst ?? false }, checkAfter);
  const { rows } = await sql.query<TradeDbRow>(
    `SELECT ${TRADE_COLUMNS} FROM ${table('trades')} t
      WHERE ${tradeWhere(1)} AND ${where}
      ORDER BY ${orderBy} LIMIT $4`,
    params,
  );
  return { nodes: rows.slice(0, page.first).map(toTrade), hasNextPage: rows.length > page.first };
}

export async function countTrades(sql: SqlExecutor, table: TableNames, filter: TradeFilter): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table('trades')} t WHERE ${tradeWhere(1)}`, tradeParams(filter));
  return BigInt(rows[0]?.count ?? '0');
}

// ---- positions ------------------------------------------------------------------------------------

/** Enough digits that a quotient is exact to well past the 4 decimals it is rounded to. */
const Exact = Decimal.clone({ precision: 80 });

/** value / quantity (Wh × minor/MWh over Wh), half-even to 4 decimals; null for no volume. */
function average(value: Decimal, quantityWh: Decimal): string | null {
  return quantityWh.isZero() ? null : new Exact(value).div(quantityWh).toDecimalPlaces(4, Decimal.ROUND_HALF_EVEN).toFixed();
}

/** A trader's position per delivery interval overlapping [from, to), by delivery start, zone, end. */
export async function traderPositions(sql: SqlExecutor, table: TableNames, traderId: string, range: { from: string; to: string }): Promise<TraderPosition[]> {
  const { rows } = await sql.query<{
    zone: string;
    currency: string;
    delivery_start: Instant;
    delivery_end: Instant;
    bought_wh: string;
    sold_wh: string;
    bought_value: string;
    sold_value: string;
    bought_amount: string;
    sold_amount: string;
    trade_count: string;
  }>(
    `SELECT zone, currency, delivery_start, delivery_end, ${fig('bought_wh', 'bought_wh')}, ${fig('sold_wh', 'sold_wh')},
            ${fig('bought_value', 'bought_value')}, ${fig('sold_value', 'sold_value')}, ${fig('bought_amount_minor', 'bought_amount')},
            ${fig('sold_amount_minor', 'sold_amount')}, trade_count::text AS trade_count
       FROM ${table('positions')}
      WHERE trader_id = $1 AND delivery_start < $3::timestamptz AND delivery_end > $2::timestamptz
      ORDER BY delivery_start, zone, delivery_end`,
    [traderId, range.from, range.to],
  );
  return rows.map((r) => {
    const bought = new Exact(r.bought_wh);
    const sold = new Decimal(r.sold_wh);
    const boughtValue = new Decimal(r.bought_value);
    const soldValue = new Decimal(r.sold_value);
    return {
      traderId,
      zone: r.zone,
      currency: r.currency,
      deliveryStart: iso(r.delivery_start),
      deliveryEnd: iso(r.delivery_end),
      boughtWh: r.bought_wh,
      soldWh: r.sold_wh,
      contractedWh: sold.minus(bought).toFixed(),
      boughtAmountMinor: r.bought_amount,
      soldAmountMinor: r.sold_amount,
      tradeAmountMinor: new Decimal(r.sold_amount).minus(r.bought_amount).toFixed(),
      averageBuyPriceMinorPerMWh: average(boughtValue, bought),
      averageSellPriceMinorPerMWh: average(soldValue, sold),
      averagePriceMinorPerMWh: average(boughtValue.plus(soldValue), bought.plus(sold)),
      tradeCount: BigInt(r.trade_count),
    };
  });
}

// ---- participants ---------------------------------------------------------------------------------

export type MarketParticipant = { zone: string; participantId: string; name: string };

export async function participantsOfZone(sql: SqlExecutor, table: TableNames, zone: string): Promise<MarketParticipant[]> {
  const { rows } = await sql.query<{ participant_id: string; name: string }>(`SELECT participant_id, name FROM ${table('participants')} WHERE zone = $1 ORDER BY participant_id`, [
    zone,
  ]);
  return rows.map((r) => ({ zone, participantId: r.participant_id, name: r.name }));
}
