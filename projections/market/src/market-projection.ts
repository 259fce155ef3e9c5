import { Decimal, tradeAmountMinor, type MarketZoneEvent, type OrderBookEvent } from '@v2g/domain';
import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';
import { pipelineOf, type Projection, type StatementSink, type TableNames } from '@v2g/read-model';

/**
 * The market read model: per zone its products and participants; per order book (one stream
 * `market-<zone>-<start>-<m>m` per product and delivery interval) its product, status and gate
 * closure; every order with what was filled, what rests and what was cancelled or expired; the
 * depth per price level; the trade tape; and each trader's position per delivery interval.
 *
 * A trade's money is tradeAmountMinor (the domain's, as settlement posts it): quantity × price
 * rounded half-even to a whole minor unit once per trade; the tape shows it and a position sums
 * it, so both reconcile with settlement to the cent.
 *
 * Quantities are NUMERIC Wh, prices NUMERIC minor units per MWh (never float), instants
 * timestamptz, positions bigint. Every row is a function of the events in log order only (no
 * clock), so a rebuild from zero gives the same rows.
 *
 * Depth counts the orders that rest: limit orders (with a price) still open. Market, IOC and FOK
 * orders never rest (their remainder is cancelled in the append that accepted them), so they never
 * show in the depth, even when a batch of the runner ends between an order and its cancellation.
 *
 * `applyBatch` does a batch in one read and a handful of multi-row statements: it loads the orders
 * the batch touches that it did not create, replays the batch in memory, then writes the orders it
 * changed, the depth as deltas per level, the trades, and the positions as sums computed by
 * PostgreSQL (exact NUMERIC arithmetic). `apply` is the same code on a batch of one.
 */
export const MARKET_TABLES = ['zones', 'participants', 'portfolio_members', 'books', 'orders', 'levels', 'trades', 'positions'] as const;

export type MarketEvent = OrderBookEvent | MarketZoneEvent;

/** Every event type the market read model reads (exhaustive by construction: `satisfies`). */
const TYPES = {
  MarketZoneConfigured: true,
  ParticipantRegistered: true,
  PortfolioMemberAssigned: true,
  OrderBookOpened: true,
  OrderAccepted: true,
  TradeExecuted: true,
  OrderAmended: true,
  OrderCancelled: true,
  GateClosed: true,
} as const satisfies Record<MarketEvent['type'], true>;

export const MARKET_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(TYPES));

export const marketProjection: Projection = {
  name: 'market',
  // 2: a trade's money is tradeAmountMinor (whole minor units, as settled): trades.amount_minor,
  // positions.bought_amount_minor and sold_amount_minor.
  version: 2,
  tables: MARKET_TABLES,

  async setup(tx, table) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('zones')} (
      zone text PRIMARY KEY,
      currency text NOT NULL,
      imbalance_price_zone text NOT NULL,
      products jsonb NOT NULL,
      position bigint NOT NULL
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('participants')} (
      zone text NOT NULL,
      participant_id text NOT NULL,
      name text NOT NULL,
      position bigint NOT NULL,
      PRIMARY KEY (zone, participant_id)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('portfolio_members')} (
      zone text NOT NULL,
      member_kind text NOT NULL,
      member_id text NOT NULL,
      position bigint NOT NULL,
      participant_id text NOT NULL,
      valid_from timestamptz NOT NULL,
      PRIMARY KEY (zone, member_kind, member_id, position)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('books')} (
      book_id text PRIMARY KEY,
      zone text NOT NULL,
      currency text NOT NULL,
      delivery_start timestamptz NOT NULL,
      delivery_end timestamptz NOT NULL,
      length_minutes integer NOT NULL,
      mode text NOT NULL,
      open_at timestamptz NOT NULL,
      gate_closure_at timestamptz NOT NULL,
      tick_minor_per_mwh numeric NOT NULL,
      min_price_minor_per_mwh numeric NOT NULL,
      max_price_minor_per_mwh numeric NOT NULL,
      quantity_step_wh numeric NOT NULL,
      max_quantity_wh numeric NOT NULL,
      status text NOT NULL CHECK (status IN ('open', 'closed')),
      closed_at timestamptz,
      clearing_price_minor_per_mwh numeric,
      auction_volume_wh numeric,
      traded_wh numeric NOT NULL DEFAULT 0,
      trade_count bigint NOT NULL DEFAULT 0,
      last_price_minor_per_mwh numeric,
      last_trade_at timestamptz,
      opened_position bigint NOT NULL
    )`);
    await tx.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${table.index('books', 'product')} ON ${table('books')} (zone, delivery_start, length_minutes)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('books', 'open')} ON ${table('books')} (gate_closure_at) WHERE status = 'open'`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('orders')} (
      book_id text NOT NULL,
      order_id text NOT NULL,
      client_order_id text NOT NULL,
      trader_id text NOT NULL,
      side text NOT NULL CHECK (side IN ('buy', 'sell')),
      order_type text NOT NULL,
      limit_price_minor_per_mwh numeric,
      quantity_wh numeric NOT NULL,
      filled_wh numeric NOT NULL,
      remaining_wh numeric NOT NULL,
      -- Cancelled by the trader, an unfilled remainder, self-trade prevention, or expired at the gate.
      cancelled_wh numeric NOT NULL,
      status text NOT NULL CHECK (status IN ('open', 'filled', 'cancelled', 'expired')),
      cancel_reason text,
      accepted_at timestamptz NOT NULL,
      priority_at timestamptz NOT NULL,
      priority_position bigint NOT NULL,
      accepted_position bigint NOT NULL,
      updated_position bigint NOT NULL,
      PRIMARY KEY (book_id, order_id)
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('orders', 'trader')} ON ${table('orders')} (trader_id, accepted_position)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('orders', 'book')} ON ${table('orders')} (book_id, accepted_position)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('levels')} (
      book_id text NOT NULL,
      side text NOT NULL CHECK (side IN ('buy', 'sell')),
      price_minor_per_mwh numeric NOT NULL,
      quantity_wh numeric NOT NULL,
      order_count integer NOT NULL,
      PRIMARY KEY (book_id, side, price_minor_per_mwh)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('trades')} (
      position bigint PRIMARY KEY,
      trade_id text NOT NULL,
      book_id text NOT NULL,
      zone text NOT NULL,
      currency text NOT NULL,
      delivery_start timestamptz NOT NULL,
      delivery_end timestamptz NOT NULL,
      buy_order_id text NOT NULL,
      sell_order_id text NOT NULL,
      buyer_id text NOT NULL,
      seller_id text NOT NULL,
      aggressor_side text,
      quantity_wh numeric NOT NULL,
      price_minor_per_mwh numeric NOT NULL,
      amount_minor numeric NOT NULL,
      executed_at timestamptz NOT NULL
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('trades', 'book')} ON ${table('trades')} (book_id, position)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('trades', 'buyer')} ON ${table('trades')} (buyer_id, position)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('trades', 'seller')} ON ${table('trades')} (seller_id, position)`);
    // bought_value and sold_value: the sum of quantity × price (Wh × minor/MWh), exact, for the average
    // prices; bought_amount_minor and sold_amount_minor: the sum of the trades' amounts (tradeAmountMinor,
    // whole minor units), the money settlement posts.
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('positions')} (
      trader_id text NOT NULL,
      zone text NOT NULL,
      delivery_start timestamptz NOT NULL,
      delivery_end timestamptz NOT NULL,
      currency text NOT NULL,
      bought_wh numeric NOT NULL,
      sold_wh numeric NOT NULL,
      bought_value numeric NOT NULL,
      sold_value numeric NOT NULL,
      bought_amount_minor numeric NOT NULL,
      sold_amount_minor numeric NOT NULL,
      trade_count bigint NOT NULL,
      PRIMARY KEY (trader_id, zone, delivery_start, delivery_end)
    )`);
  },

  apply(tx, event, table) {
    return applyMarketEvents(tx, [event], table);
  },

  applyBatch(tx, events, table) {
    return applyMarketEvents(tx, events, table);
  },
};

// ---- replaying a batch in memory ----------------------------------------------------------------

type Side = 'buy' | 'sell';
type OrderStatus = 'open' | 'filled' | 'cancelled' | 'expired';

type OrderRow = {
  bookId: string;
  orderId: string;
  clientOrderId: string;
  traderId: string;
  side: Side;
  orderType: string;
  limitPrice: string | null;
  quantityWh: bigint;
  filledWh: bigint;
  remainingWh: bigint;
  cancelledWh: bigint;
  status: OrderStatus;
  cancelReason: string | null;
  acceptedAt: string;
  priorityAt: string;
  priorityPosition: bigint;
  acceptedPosition: bigint;
  updatedPosition: bigint;
};

/** What an order adds to the depth: only a limit order that is open rests in the book. */
type Contribution = { key: string; bookId: string; side: Side; price: string; quantityWh: bigint } | null;

const orderKey = (bookId: string, orderId: string) => `${bookId}\u0000${orderId}`;
/** Prices as NUMERIC compares them: "100" and "100.0" are one level. */
const canonicalPrice = (price: string) => new Decimal(price).toFixed();

function contribution(order: OrderRow): Contribution {
  if (order.orderType !== 'limit' || order.limitPrice === null || order.status !== 'open' || order.remainingWh <= 0n) return null;
  const price = canonicalPrice(order.limitPrice);
  return { key: `${order.bookId}\u0000${order.side}\u0000${price}`, bookId: order.bookId, side: order.side, price, quantityWh: order.remainingWh };
}

type LevelDelta = { bookId: string; side: Side; price: string; quantityWh: bigint; orders: number };

type BookRow = {
  bookId: string;
  zone: string;
  currency: string;
  deliveryStart: string;
  deliveryEnd: string;
  lengthMinutes: number;
  mode: string;
  openAt: string;
  gateClosureAt: string;
  tick: string;
  minPrice: string;
  maxPrice: string;
  quantityStepWh: string;
  maxQuantityWh: string;
  position: string;
};

type BookClosure = { bookId: string; closedAt: string; clearingPrice: string | null; auctionVolumeWh: string | null };

type BookTrading = { tradedWh: bigint; trades: number; lastPrice: string; lastTradeAt: string };

type TradeRow = {
  position: string;
  bookId: string;
  data: Extract<OrderBookEvent, { type: 'TradeExecuted' }>['data'];
  /** tradeAmountMinor of the trade: what the buyer pays the seller, whole minor units. */
  amountMinor: string;
};

type Batch = {
  zones: Map<string, [currency: string, imbalancePriceZone: string, products: string, position: string]>;
  participants: Map<string, [zone: string, participantId: string, name: string, position: string]>;
  members: [zone: string, kind: string, memberId: string, position: string, participantId: string, validFrom: string][];
  books: BookRow[];
  closures: BookClosure[];
  trading: Map<string, BookTrading>;
  trades: TradeRow[];
  orders: Map<string, OrderRow>;
  /** Orders the batch changed. */
  touched: Set<string>;
  levels: Map<string, LevelDelta>;
};

const ORDER_TOUCHING = new Set(['TradeExecuted', 'OrderAmended', 'OrderCancelled', 'GateClosed']);

/** The orders a batch touches that it did not create (they must be read first). */
function ordersToLoad(events: readonly RecordedEvent[]): { bookIds: string[]; orderIds: string[] } {
  const created = new Set<string>();
  const wanted = new Map<string, [string, string]>();
  const want = (bookId: string, orderId: string) => {
    const key = orderKey(bookId, orderId);
    if (!created.has(key)) wanted.set(key, [bookId, orderId]);
  };
  for (const recorded of events) {
    if (recorded.type === 'OrderAccepted') {
      created.add(orderKey(recorded.streamId, (recorded.data as { orderId: string }).orderId));
      continue;
    }
    if (!ORDER_TOUCHING.has(recorded.type)) continue;
    const event = recorded as unknown as OrderBookEvent;
    switch (event.type) {
      case 'TradeExecuted':
        want(recorded.streamId, event.data.buyOrderId);
        want(recorded.streamId, event.data.sellOrderId);
        break;
      case 'OrderAmended':
      case 'OrderCancelled':
        want(recorded.streamId, event.data.orderId);
        break;
      case 'GateClosed':
        for (const expired of event.data.expired) want(recorded.streamId, expired.orderId);
        break;
      default:
        break;
    }
  }
  const pairs = [...wanted.values()];
  return { bookIds: pairs.map(([b]) => b), orderIds: pairs.map(([, o]) => o) };
}

function replay(events: readonly RecordedEvent[], loaded: Map<string, OrderRow>): Batch {
  const batch: Batch = {
    zones: new Map(),
    participants: new Map(),
    members: [],
    books: [],
    closures: [],
    trading: new Map(),
    trades: [],
    orders: loaded,
    touched: new Set(),
    levels: new Map(),
  };
  // What each touched order added to the depth before the batch; the deltas are computed at the end.
  const before = new Map<string, Contribution>();
  for (const [key, order] of loaded) before.set(key, contribution(order));
  const orderOf = (recorded: RecordedEvent, orderId: string): OrderRow => {
    const key = orderKey(recorded.streamId, orderId);
    const order = batch.orders.get(key);
    // The decider refuses anything about an order it does not know: this is a bug, not bad input.
    if (!order) throw new Error(`market: ${recorded.type} at ${recorded.globalPosition} names order ${orderId}, unknown in ${recorded.streamId}`);
    batch.touched.add(key);
    order.updatedPosition = recorded.globalPosition;
    return order;
  };

  for (const recorded of events) {
    if (!MARKET_EVENT_TYPES.has(recorded.type)) continue;
    // The store validated the data against schemas/events on append.
    const event = { type: recorded.type, data: recorded.data } as MarketEvent;
    const position = recorded.globalPosition;
    switch (event.type) {
      case 'MarketZoneConfigured': {
        const d = event.data;
        batch.zones.set(d.zone, [d.currency, d.imbalancePriceZone, JSON.stringify(d.products), position.toString()]);
        break;
      }
      case 'ParticipantRegistered': {
        const d = event.data;
        batch.participants.set(`${d.zone}\u0000${d.participantId}`, [d.zone, d.participantId, d.name, position.toString()]);
        break;
      }
      case 'PortfolioMemberAssigned': {
        const d = event.data;
        batch.members.push([d.zone, d.memberKind, d.memberId, position.toString(), d.participantId, d.validFrom]);
        break;
      }
      case 'OrderBookOpened': {
        const d = event.data;
        batch.books.push({
          bookId: recorded.streamId,
          zone: d.zone,
          currency: d.currency,
          deliveryStart: d.deliveryStart,
          deliveryEnd: d.deliveryEnd,
          lengthMinutes: Math.round((Date.parse(d.deliveryEnd) - Date.parse(d.deliveryStart)) / 60_000),
          mode: d.mode,
          openAt: d.openAt,
          gateClosureAt: d.gateClosureAt,
          tick: d.tickMinorPerMWh,
          minPrice: d.minPriceMinorPerMWh,
          maxPrice: d.maxPriceMinorPerMWh,
          quantityStepWh: d.quantityStepWh,
          maxQuantityWh: d.maxQuantityWh,
          position: position.toString(),
        });
        break;
      }
      case 'OrderAccepted': {
        const d = event.data;
        const key = orderKey(recorded.streamId, d.orderId);
        const quantityWh = BigInt(d.quantityWh);
        batch.orders.set(key, {
          bookId: recorded.streamId,
          orderId: d.orderId,
          clientOrderId: d.clientOrderId,
          traderId: d.traderId,
          side: d.side,
          orderType: d.orderType,
          limitPrice: d.limitPriceMinorPerMWh,
          quantityWh,
          filledWh: 0n,
          remainingWh: quantityWh,
          cancelledWh: 0n,
          status: 'open',
          cancelReason: null,
          acceptedAt: d.acceptedAt,
          priorityAt: d.acceptedAt,
          priorityPosition: position,
          acceptedPosition: position,
          updatedPosition: position,
        });
        if (!before.has(key)) before.set(key, null);
        batch.touched.add(key);
        break;
      }
      case 'TradeExecuted': {
        const d = event.data;
        const quantityWh = BigInt(d.quantityWh);
        for (const orderId of [d.buyOrderId, d.sellOrderId]) {
          const order = orderOf(recorded, orderId);
          order.filledWh += quantityWh;
          order.remainingWh -= quantityWh;
          if (order.remainingWh <= 0n) {
            order.remainingWh = 0n;
            order.status = 'filled';
          }
        }
        batch.trades.push({ position: position.toString(), bookId: recorded.streamId, data: d, amountMinor: tradeAmountMinor(d.quantityWh, d.priceMinorPerMWh).toString() });
        const trading = batch.trading.get(recorded.streamId) ?? { tradedWh: 0n, trades: 0, lastPrice: d.priceMinorPerMWh, lastTradeAt: d.executedAt };
        trading.tradedWh += quantityWh;
        trading.trades += 1;
        trading.lastPrice = d.priceMinorPerMWh;
        trading.lastTradeAt = d.executedAt;
        batch.trading.set(recorded.streamId, trading);
        break;
      }
      case 'OrderAmended': {
        const d = event.data;
        const order = orderOf(recorded, d.orderId);
        order.quantityWh = BigInt(d.quantityWh);
        order.remainingWh = order.quantityWh - order.filledWh - order.cancelledWh;
        order.limitPrice = d.limitPriceMinorPerMWh;
        if (!d.priorityKept) {
          order.priorityAt = d.amendedAt;
          order.priorityPosition = position;
        }
        break;
      }
      case 'OrderCancelled': {
        const d = event.data;
        const order = orderOf(recorded, d.orderId);
        order.cancelledWh += BigInt(d.remainingWh);
        order.remainingWh = 0n;
        order.status = 'cancelled';
        order.cancelReason = d.reason;
        break;
      }
      case 'GateClosed': {
        const d = event.data;
        for (const expired of d.expired) {
          const order = orderOf(recorded, expired.orderId);
          order.cancelledWh += BigInt(expired.remainingWh);
          order.remainingWh = 0n;
          order.status = 'expired';
        }
        batch.closures.push({
          bookId: recorded.streamId,
          closedAt: d.closedAt,
          clearingPrice: d.auction?.clearingPriceMinorPerMWh ?? null,
          auctionVolumeWh: d.auction?.volumeWh ?? null,
        });
        break;
      }
      default: {
        const unreachable: never = event;
        throw new Error(`unknown market event ${JSON.stringify(unreachable)}`);
      }
    }
  }

  // The depth moves by what each touched order rests with now, minus what it rested with before.
  const add = (c: Contribution, sign: 1n | -1n) => {
    if (!c) return;
    const level = batch.levels.get(c.key) ?? { bookId: c.bookId, side: c.side, price: c.price, quantityWh: 0n, orders: 0 };
    level.quantityWh += sign * c.quantityWh;
    level.orders += sign === 1n ? 1 : -1;
    batch.levels.set(c.key, level);
  };
  for (const key of batch.touched) {
    add(before.get(key) ?? null, -1n);
    add(contribution(batch.orders.get(key)!), 1n);
  }
  for (const [key, level] of batch.levels) if (level.quantityWh === 0n && level.orders === 0) batch.levels.delete(key);
  return batch;
}

// ---- reading and writing --------------------------------------------------------------------------

type OrderDbRow = {
  book_id: string;
  order_id: string;
  client_order_id: string;
  trader_id: string;
  side: Side;
  order_type: string;
  limit_price: string | null;
  quantity_wh: string;
  filled_wh: string;
  remaining_wh: string;
  cancelled_wh: string;
  status: OrderStatus;
  cancel_reason: string | null;
  accepted_at: Date | string;
  priority_at: Date | string;
  priority_position: string;
  accepted_position: string;
  updated_position: string;
};

const iso = (value: Date | string) => new Date(value).toISOString();

async function loadOrders(tx: SqlExecutor, table: TableNames, bookIds: string[], orderIds: string[]): Promise<Map<string, OrderRow>> {
  const orders = new Map<string, OrderRow>();
  if (bookIds.length === 0) return orders;
  const { rows } = await tx.query<OrderDbRow>(
    `SELECT o.book_id, o.order_id, o.client_order_id, o.trader_id, o.side, o.order_type,
            o.limit_price_minor_per_mwh::text AS limit_price, o.quantity_wh::text AS quantity_wh, o.filled_wh::text AS filled_wh,
            o.remaining_wh::text AS remaining_wh, o.cancelled_wh::text AS cancelled_wh, o.status, o.cancel_reason,
            o.accepted_at, o.priority_at, o.priority_position::text AS priority_position,
            o.accepted_position::text AS accepted_position, o.updated_position::text AS updated_position
       FROM unnest($1::text[], $2::text[]) AS u(book_id, order_id)
       JOIN ${table('orders')} o ON o.book_id = u.book_id AND o.order_id = u.order_id`,
    [bookIds, orderIds],
  );
  for (const r of rows) {
    orders.set(orderKey(r.book_id, r.order_id), {
      bookId: r.book_id,
      orderId: r.order_id,
      clientOrderId: r.client_order_id,
      traderId: r.trader_id,
      side: r.side,
      orderType: r.order_type,
      limitPrice: r.limit_price,
      quantityWh: BigInt(r.quantity_wh),
      filledWh: BigInt(r.filled_wh),
      remainingWh: BigInt(r.remaining_wh),
      cancelledWh: BigInt(r.cancelled_wh),
      status: r.status,
      cancelReason: r.cancel_reason,
      acceptedAt: iso(r.accepted_at),
      priorityAt: iso(r.priority_at),
      priorityPosition: BigInt(r.priority_position),
      acceptedPosition: BigInt(r.accepted_position),
      updatedPosition: BigInt(r.updated_position),
    });
  }
  return orders;
}

const columnOf = <T, V>(rows: readonly T[], get: (row: T) => V): V[] => rows.map(get);

function writeZones(w: StatementSink, table: TableNames, batch: Batch): void {
  if (batch.zones.size > 0) {
    const rows = [...batch.zones];
    w.run(
      `INSERT INTO ${table('zones')} (zone, currency, imbalance_price_zone, products, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[])
       ON CONFLICT (zone) DO UPDATE SET currency = EXCLUDED.currency, imbalance_price_zone = EXCLUDED.imbalance_price_zone,
         products = EXCLUDED.products, position = EXCLUDED.position`,
      [columnOf(rows, ([z]) => z), columnOf(rows, ([, r]) => r[0]), columnOf(rows, ([, r]) => r[1]), columnOf(rows, ([, r]) => r[2]), columnOf(rows, ([, r]) => r[3])],
    );
  }
  if (batch.participants.size > 0) {
    const rows = [...batch.participants.values()];
    w.run(
      `INSERT INTO ${table('participants')} (zone, participant_id, name, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
       ON CONFLICT (zone, participant_id) DO UPDATE SET name = EXCLUDED.name, position = EXCLUDED.position`,
      [0, 1, 2, 3].map((i) => columnOf(rows, (r) => r[i])),
    );
  }
  if (batch.members.length > 0) {
    w.run(
      `INSERT INTO ${table('portfolio_members')} (zone, member_kind, member_id, position, participant_id, valid_from)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [0, 1, 2, 3, 4, 5].map((i) => columnOf(batch.members, (r) => r[i])),
    );
  }
}

function writeBooks(w: StatementSink, table: TableNames, batch: Batch): void {
  if (batch.books.length > 0) {
    const b = batch.books;
    w.run(
      `INSERT INTO ${table('books')} (book_id, zone, currency, delivery_start, delivery_end, length_minutes, mode, open_at, gate_closure_at,
         tick_minor_per_mwh, min_price_minor_per_mwh, max_price_minor_per_mwh, quantity_step_wh, max_quantity_wh, status, opened_position)
       SELECT u.book_id, u.zone, u.currency, u.delivery_start, u.delivery_end, u.length_minutes, u.mode, u.open_at, u.gate_closure_at,
              trim_scale(u.tick), trim_scale(u.min_price), trim_scale(u.max_price), trim_scale(u.step), trim_scale(u.max_quantity), 'open', u.position
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::integer[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                     $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[], $15::bigint[])
           AS u(book_id, zone, currency, delivery_start, delivery_end, length_minutes, mode, open_at, gate_closure_at, tick, min_price, max_price, step, max_quantity, position)
       ON CONFLICT (book_id) DO NOTHING`,
      [
        columnOf(b, (r) => r.bookId),
        columnOf(b, (r) => r.zone),
        columnOf(b, (r) => r.currency),
        columnOf(b, (r) => r.deliveryStart),
        columnOf(b, (r) => r.deliveryEnd),
        columnOf(b, (r) => r.lengthMinutes),
        columnOf(b, (r) => r.mode),
        columnOf(b, (r) => r.openAt),
        columnOf(b, (r) => r.gateClosureAt),
        columnOf(b, (r) => r.tick),
        columnOf(b, (r) => r.minPrice),
        columnOf(b, (r) => r.maxPrice),
        columnOf(b, (r) => r.quantityStepWh),
        columnOf(b, (r) => r.maxQuantityWh),
        columnOf(b, (r) => r.position),
      ],
    );
  }
  if (batch.trading.size > 0) {
    const rows = [...batch.trading];
    w.run(
      `UPDATE ${table('books')} b
          SET traded_wh = b.traded_wh + u.traded_wh, trade_count = b.trade_count + u.trades,
              last_price_minor_per_mwh = trim_scale(u.last_price), last_trade_at = u.last_trade_at
         FROM unnest($1::text[], $2::numeric[], $3::bigint[], $4::numeric[], $5::timestamptz[]) AS u(book_id, traded_wh, trades, last_price, last_trade_at)
        WHERE b.book_id = u.book_id`,
      [
        columnOf(rows, ([id]) => id),
        columnOf(rows, ([, t]) => t.tradedWh.toString()),
        columnOf(rows, ([, t]) => t.trades),
        columnOf(rows, ([, t]) => t.lastPrice),
        columnOf(rows, ([, t]) => t.lastTradeAt),
      ],
    );
  }
  if (batch.closures.length > 0) {
    const c = batch.closures;
    w.run(
      `UPDATE ${table('books')} b
          SET status = 'closed', closed_at = u.closed_at, clearing_price_minor_per_mwh = trim_scale(u.clearing_price), auction_volume_wh = trim_scale(u.volume)
         FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[]) AS u(book_id, closed_at, clearing_price, volume)
        WHERE b.book_id = u.book_id`,
      [columnOf(c, (r) => r.bookId), columnOf(c, (r) => r.closedAt), columnOf(c, (r) => r.clearingPrice), columnOf(c, (r) => r.auctionVolumeWh)],
    );
  }
}

function writeOrders(w: StatementSink, table: TableNames, batch: Batch): void {
  if (batch.touched.size === 0) return;
  const o = [...batch.touched].map((key) => batch.orders.get(key)!);
  w.run(
    `INSERT INTO ${table('orders')} (book_id, order_id, client_order_id, trader_id, side, order_type, limit_price_minor_per_mwh,
       quantity_wh, filled_wh, remaining_wh, cancelled_wh, status, cancel_reason, accepted_at, priority_at, priority_position, accepted_position, updated_position)
     SELECT u.book_id, u.order_id, u.client_order_id, u.trader_id, u.side, u.order_type, trim_scale(u.limit_price),
            u.quantity_wh, u.filled_wh, u.remaining_wh, u.cancelled_wh, u.status, u.cancel_reason, u.accepted_at, u.priority_at,
            u.priority_position, u.accepted_position, u.updated_position
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[],
                   $11::numeric[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::bigint[], $17::bigint[], $18::bigint[])
         AS u(book_id, order_id, client_order_id, trader_id, side, order_type, limit_price, quantity_wh, filled_wh, remaining_wh, cancelled_wh,
              status, cancel_reason, accepted_at, priority_at, priority_position, accepted_position, updated_position)
     ON CONFLICT (book_id, order_id) DO UPDATE
       SET limit_price_minor_per_mwh = EXCLUDED.limit_price_minor_per_mwh, quantity_wh = EXCLUDED.quantity_wh, filled_wh = EXCLUDED.filled_wh,
           remaining_wh = EXCLUDED.remaining_wh, cancelled_wh = EXCLUDED.cancelled_wh, status = EXCLUDED.status, cancel_reason = EXCLUDED.cancel_reason,
           priority_at = EXCLUDED.priority_at, priority_position = EXCLUDED.priority_position, updated_position = EXCLUDED.updated_position`,
    [
      columnOf(o, (r) => r.bookId),
      columnOf(o, (r) => r.orderId),
      columnOf(o, (r) => r.clientOrderId),
      columnOf(o, (r) => r.traderId),
      columnOf(o, (r) => r.side),
      columnOf(o, (r) => r.orderType),
      columnOf(o, (r) => r.limitPrice),
      columnOf(o, (r) => r.quantityWh.toString()),
      columnOf(o, (r) => r.filledWh.toString()),
      columnOf(o, (r) => r.remainingWh.toString()),
      columnOf(o, (r) => r.cancelledWh.toString()),
      columnOf(o, (r) => r.status),
      columnOf(o, (r) => r.cancelReason),
      columnOf(o, (r) => r.acceptedAt),
      columnOf(o, (r) => r.priorityAt),
      columnOf(o, (r) => r.priorityPosition.toString()),
      columnOf(o, (r) => r.acceptedPosition.toString()),
      columnOf(o, (r) => r.updatedPosition.toString()),
    ],
  );
}

function writeLevels(w: StatementSink, table: TableNames, batch: Batch): void {
  if (batch.levels.size === 0) return;
  const l = [...batch.levels.values()];
  const params = [columnOf(l, (r) => r.bookId), columnOf(l, (r) => r.side), columnOf(l, (r) => r.price)];
  w.run(
    `INSERT INTO ${table('levels')} AS t (book_id, side, price_minor_per_mwh, quantity_wh, order_count)
     SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::integer[])
     ON CONFLICT (book_id, side, price_minor_per_mwh) DO UPDATE
       SET quantity_wh = t.quantity_wh + EXCLUDED.quantity_wh, order_count = t.order_count + EXCLUDED.order_count`,
    [...params, columnOf(l, (r) => r.quantityWh.toString()), columnOf(l, (r) => r.orders)],
  );
  w.run(
    `DELETE FROM ${table('levels')} t USING unnest($1::text[], $2::text[], $3::numeric[]) AS u(book_id, side, price)
      WHERE t.book_id = u.book_id AND t.side = u.side AND t.price_minor_per_mwh = u.price AND t.order_count = 0`,
    params,
  );
}

function writeTrades(w: StatementSink, table: TableNames, batch: Batch): void {
  if (batch.trades.length === 0) return;
  const t = batch.trades;
  w.run(
    `INSERT INTO ${table('trades')} (position, trade_id, book_id, zone, currency, delivery_start, delivery_end, buy_order_id, sell_order_id,
       buyer_id, seller_id, aggressor_side, quantity_wh, price_minor_per_mwh, amount_minor, executed_at)
     SELECT u.position, u.trade_id, u.book_id, u.zone, u.currency, u.delivery_start, u.delivery_end, u.buy_order_id, u.sell_order_id,
            u.buyer_id, u.seller_id, u.aggressor_side, trim_scale(u.quantity_wh), trim_scale(u.price), u.amount_minor, u.executed_at
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[],
                   $10::text[], $11::text[], $12::text[], $13::numeric[], $14::numeric[], $15::numeric[], $16::timestamptz[])
         AS u(position, trade_id, book_id, zone, currency, delivery_start, delivery_end, buy_order_id, sell_order_id, buyer_id, seller_id,
              aggressor_side, quantity_wh, price, amount_minor, executed_at)
     ON CONFLICT (position) DO NOTHING`,
    [
      columnOf(t, (r) => r.position),
      columnOf(t, (r) => r.data.tradeId),
      columnOf(t, (r) => r.bookId),
      columnOf(t, (r) => r.data.zone),
      columnOf(t, (r) => r.data.currency),
      columnOf(t, (r) => r.data.deliveryStart),
      columnOf(t, (r) => r.data.deliveryEnd),
      columnOf(t, (r) => r.data.buyOrderId),
      columnOf(t, (r) => r.data.sellOrderId),
      columnOf(t, (r) => r.data.buyerId),
      columnOf(t, (r) => r.data.sellerId),
      columnOf(t, (r) => r.data.aggressorSide),
      columnOf(t, (r) => r.data.quantityWh),
      columnOf(t, (r) => r.data.priceMinorPerMWh),
      columnOf(t, (r) => r.amountMinor),
      columnOf(t, (r) => r.data.executedAt),
    ],
  );
  // Each trade moves two positions: the buyer's and the seller's. PostgreSQL sums (NUMERIC, exact).
  const sides = t.flatMap((r) => [[r.data.buyerId, 'buy', r.data, r.amountMinor] as const, [r.data.sellerId, 'sell', r.data, r.amountMinor] as const]);
  w.run(
    `INSERT INTO ${table('positions')} AS t (trader_id, zone, delivery_start, delivery_end, currency, bought_wh, sold_wh, bought_value, sold_value,
       bought_amount_minor, sold_amount_minor, trade_count)
     SELECT u.trader_id, u.zone, u.delivery_start, u.delivery_end, min(u.currency),
            trim_scale(sum(CASE WHEN u.side = 'buy' THEN u.quantity_wh ELSE 0 END)),
            trim_scale(sum(CASE WHEN u.side = 'sell' THEN u.quantity_wh ELSE 0 END)),
            trim_scale(sum(CASE WHEN u.side = 'buy' THEN u.quantity_wh * u.price ELSE 0 END)),
            trim_scale(sum(CASE WHEN u.side = 'sell' THEN u.quantity_wh * u.price ELSE 0 END)),
            trim_scale(sum(CASE WHEN u.side = 'buy' THEN u.amount_minor ELSE 0 END)),
            trim_scale(sum(CASE WHEN u.side = 'sell' THEN u.amount_minor ELSE 0 END)),
            count(*)
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::numeric[], $8::numeric[], $9::numeric[])
         AS u(trader_id, zone, delivery_start, delivery_end, currency, side, quantity_wh, price, amount_minor)
      GROUP BY u.trader_id, u.zone, u.delivery_start, u.delivery_end
     ON CONFLICT (trader_id, zone, delivery_start, delivery_end) DO UPDATE
       SET bought_wh = trim_scale(t.bought_wh + EXCLUDED.bought_wh), sold_wh = trim_scale(t.sold_wh + EXCLUDED.sold_wh),
           bought_value = trim_scale(t.bought_value + EXCLUDED.bought_value), sold_value = trim_scale(t.sold_value + EXCLUDED.sold_value),
           bought_amount_minor = trim_scale(t.bought_amount_minor + EXCLUDED.bought_amount_minor),
           sold_amount_minor = trim_scale(t.sold_amount_minor + EXCLUDED.sold_amount_minor),
           trade_count = t.trade_count + EXCLUDED.trade_count`,
    [
      columnOf(sides, ([trader]) => trader),
      columnOf(sides, ([, , d]) => d.zone),
      columnOf(sides, ([, , d]) => d.deliveryStart),
      columnOf(sides, ([, , d]) => d.deliveryEnd),
      columnOf(sides, ([, , d]) => d.currency),
      columnOf(sides, ([, side]) => side),
      columnOf(sides, ([, , d]) => d.quantityWh),
      columnOf(sides, ([, , d]) => d.priceMinorPerMWh),
      columnOf(sides, ([, , , amount]) => amount),
    ],
  );
}

/** Applies events (in log order) to the market tables. */
export async function applyMarketEvents(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames): Promise<void> {
  if (!events.some((e) => MARKET_EVENT_TYPES.has(e.type))) return;
  const { bookIds, orderIds } = ordersToLoad(events);
  const loaded = await loadOrders(tx, table, bookIds, orderIds);
  const batch = replay(events, loaded);
  // Statements sent without waiting for each other; on the batch routine's pipeline the routine
  // waits for them (before the checkpoint), on a plain transaction we do.
  const w = pipelineOf(tx);
  writeZones(w, table, batch);
  writeBooks(w, table, batch);
  writeOrders(w, table, batch);
  writeLevels(w, table, batch);
  writeTrades(w, table, batch);
  if (w !== tx) await w.done();
}
