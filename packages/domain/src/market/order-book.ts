/**
 * The order book aggregate: one stream per product and delivery interval,
 * `market-<zone>-<YYYYMMDDTHHMMZ>-<minutes>m`. See market-types.ts for the commands and events and
 * matching-engine.ts for how orders match.
 *
 * decide(command, state) validates, converts the decimal edges to ticks and Wh, plans the matching
 * (read-only, through a PlanOverlay so that the orders of a batch see each other) and returns the
 * events in order: OrderAccepted, its TradeExecuted…, then OrderCancelled for a remainder that does
 * not rest; for the next order of the batch the same again. A batch is atomic: the first refused
 * order throws (its error names `orderIndex`) and nothing is emitted. decide never mutates `state`.
 *
 * evolve(state, event) TAKES OWNERSHIP of `state`: for speed it updates the state in place (the
 * book's queues, the order records) and returns the same object. Whoever keeps a state must evolve
 * only a state nobody else reads: the command handler evolves its own cached copy, after a
 * successful append. `cloneOrderBookState` makes an independent copy when one is needed.
 *
 * evolve applies events one at a time, with the engine's primitive operations: an accepted limit
 * order joins the back of its level at once (its trades follow as TradeExecuted and take it out
 * again when it fills; an OrderCancelled takes out a remainder that must not rest), so the final
 * book is exactly the one the plan described.
 */
import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import { canonicalInstant, checkArray, checkObject, QUARTER_HOUR_MS, formatInstant, parseInstant, parseId } from '../values/index.ts';
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
  QuantityBelowFilled,
  UnknownOrder,
  UnknownProduct,
} from './market-errors.ts';
import { checkLimitPrice, checkOrderQuantity, checkProductSpec, priceToTicks, productUnits, sameProduct, ticksToPrice, type ProductUnits } from './market-fields.ts';
import type { CancelReason, OrderBookCommand, OrderBookEvent, OrderRequest, OrderType, ProductSpec, Side } from './market-types.ts';
import {
  addResting,
  clearAuction,
  createMatchingBook,
  fillResting,
  newPlanOverlay,
  planOrder,
  recordInOverlay,
  reduceResting,
  removeResting,
  restingOrders,
  type EngineOrder,
  type MatchingBook,
  type MatchPlan,
  type OrderStatus,
  type PlanOverlay,
} from './matching-engine.ts';

/** An order of the book: the engine's view plus what the service and read models need. */
export type BookOrder = EngineOrder & {
  readonly clientOrderId: string;
  /** The limit price as recorded (canonical decimal string); null for a market order. */
  limitPriceMinorPerMWh: string | null;
  readonly acceptedAt: string;
  /** Trades this order made as the aggressor so far: numbers its trade ids `<orderId>-<n>`. */
  aggressorTrades: number;
};

export type OrderBookStatus = 'empty' | 'open' | 'closed';

export type OrderBookState = {
  /** empty: no event yet; open: OrderBookOpened; closed: GateClosed. */
  status: OrderBookStatus;
  product: ProductSpec | null;
  /** The product's rules in ticks and Wh (derived from `product`). */
  units: ProductUnits | null;
  /** Every order the book ever accepted, by id (filled, cancelled and expired ones too). */
  orders: Map<string, BookOrder>;
  /** `<traderId> <clientOrderId>` → orderId (a space appears in neither id). */
  clientOrderIds: Map<string, string>;
  /** Resting orders (continuous mode only; auction orders wait in `orders`). */
  book: MatchingBook;
  /** The next time-priority number. */
  nextSeq: number;
  /** Trades of the auction so far (`auction-<n>`). */
  auctionTrades: number;
  closedAt: string | null;
};

/** Most orders one SubmitOrders takes. */
export const MAX_ORDERS_PER_COMMAND = 1000;

const compactInstant = (iso: string): string => {
  const d = new Date(parseInstant('deliveryStart', iso));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
};

/** `market-NL-20261128T1000Z-15m`: the book of zone NL's 15-minute product delivering from 10:00 UTC. */
export function orderBookStreamId(zone: string, deliveryStartIso: string, lengthMinutes: number): string {
  return `market-${zone}-${compactInstant(deliveryStartIso)}-${lengthMinutes}m`;
}

const clientKey = (traderId: string, clientOrderId: string): string => `${traderId} ${clientOrderId}`;

function initialState(): OrderBookState {
  return {
    status: 'empty',
    product: null,
    units: null,
    orders: new Map(),
    clientOrderIds: new Map(),
    book: createMatchingBook(),
    nextSeq: 1,
    auctionTrades: 0,
    closedAt: null,
  };
}

function newBookOrder(request: OrderRequest, priceTicks: number | null, quantityWh: number, acceptedAt: string): BookOrder {
  return {
    orderId: request.orderId,
    traderId: request.traderId,
    side: request.side,
    orderType: request.orderType,
    priceTicks,
    quantityWh,
    filledWh: 0,
    seq: 0,
    status: 'open',
    resting: false,
    clientOrderId: request.clientOrderId,
    limitPriceMinorPerMWh: request.limitPriceMinorPerMWh,
    acceptedAt,
    aggressorTrades: 0,
  };
}

/** A copy of an order with a new price and quantity, for a re-entry: never the same object twice in a queue. */
function reentered(order: BookOrder, priceTicks: number | null, limitPrice: string | null, quantityWh: number, seq: number): BookOrder {
  return {
    orderId: order.orderId,
    traderId: order.traderId,
    side: order.side,
    orderType: order.orderType,
    priceTicks,
    quantityWh,
    filledWh: order.filledWh,
    seq,
    status: 'open',
    resting: false,
    clientOrderId: order.clientOrderId,
    limitPriceMinorPerMWh: limitPrice,
    acceptedAt: order.acceptedAt,
    aggressorTrades: order.aggressorTrades,
  };
}

// ---- decide ---------------------------------------------------------------------------------------

type Open = { product: ProductSpec; units: ProductUnits };

/** The instant of a command and the checks every trading command shares: the book is open for orders. */
function checkWindow(open: Open, state: OrderBookState, at: string): void {
  if (state.status === 'closed') throw new GateClosed({ gateClosureAt: open.product.gateClosureAt, at });
  const atMs = parseInstant('at', at);
  if (atMs < open.units.openAtMs) throw new MarketNotOpen({ openAt: open.product.openAt, at });
  if (atMs >= open.units.gateClosureAtMs) throw new GateClosed({ gateClosureAt: open.product.gateClosureAt, at });
}

const SIDES: readonly Side[] = ['buy', 'sell'];
const ORDER_TYPES: readonly OrderType[] = ['limit', 'market', 'ioc', 'fok'];

type CheckedOrder = { request: OrderRequest; priceTicks: number | null; quantityWh: number };

function checkOrderRequest(open: Open, index: number, value: unknown): CheckedOrder {
  const field = `orders[${index}]`;
  const raw = checkObject(field, value);
  const orderId = parseId(`${field}.orderId`, raw.orderId);
  const clientOrderId = parseId(`${field}.clientOrderId`, raw.clientOrderId);
  const traderId = parseId(`${field}.traderId`, raw.traderId);
  if (!SIDES.includes(raw.side as Side)) throw new InvalidCommand(`${field}.side`, `${JSON.stringify(raw.side)} must be "buy" or "sell"`);
  const side = raw.side as Side;
  if (!ORDER_TYPES.includes(raw.orderType as OrderType)) {
    throw new InvalidCommand(`${field}.orderType`, `${JSON.stringify(raw.orderType)} must be "limit", "market", "ioc" or "fok"`);
  }
  const orderType = raw.orderType as OrderType;
  const quantityWh = checkOrderQuantity(open.units, open.product, `${field}.quantityWh`, index, raw.quantityWh);
  let priceTicks: number | null = null;
  let limitPriceMinorPerMWh: string | null = null;
  if (orderType === 'market') {
    if (raw.limitPriceMinorPerMWh !== null && raw.limitPriceMinorPerMWh !== undefined) {
      throw new InvalidCommand(`${field}.limitPriceMinorPerMWh`, 'a market order has no limit price: give null');
    }
  } else {
    if (raw.limitPriceMinorPerMWh === null || raw.limitPriceMinorPerMWh === undefined) {
      throw new InvalidCommand(`${field}.limitPriceMinorPerMWh`, `a ${orderType} order needs a limit price`);
    }
    const price = checkLimitPrice(open.units, open.product, `${field}.limitPriceMinorPerMWh`, index, raw.limitPriceMinorPerMWh);
    priceTicks = price.ticks;
    limitPriceMinorPerMWh = price.text;
  }
  if (open.product.mode === 'auction' && (orderType === 'ioc' || orderType === 'fok')) {
    throw new OrderTypeNotAllowed({ orderType, mode: 'auction', orderIndex: index });
  }
  return {
    request: { orderId, clientOrderId, traderId, side, orderType, quantityWh: String(quantityWh), limitPriceMinorPerMWh },
    priceTicks,
    quantityWh,
  };
}

type TradeContext = { product: ProductSpec; units: ProductUnits; at: string };

/** The events of a plan for `order`: its trades (numbered from `firstTrade`), then the cancel of a remainder. */
function planEvents(ctx: TradeContext, order: EngineOrder, plan: MatchPlan, firstTrade: number, out: OrderBookEvent[]): void {
  const { product, units, at } = ctx;
  const buy = order.side === 'buy';
  let n = firstTrade;
  for (const fill of plan.fills) {
    out.push({
      type: 'TradeExecuted',
      data: {
        tradeId: `${order.orderId}-${n++}`,
        zone: product.zone,
        currency: product.currency,
        deliveryStart: product.deliveryStart,
        deliveryEnd: product.deliveryEnd,
        buyOrderId: buy ? order.orderId : fill.resting.orderId,
        sellOrderId: buy ? fill.resting.orderId : order.orderId,
        buyerId: buy ? order.traderId : fill.resting.traderId,
        sellerId: buy ? fill.resting.traderId : order.traderId,
        aggressorSide: order.side,
        quantityWh: String(fill.quantityWh),
        priceMinorPerMWh: ticksToPrice(units, fill.priceTicks),
        executedAt: at,
      },
    });
  }
  if (plan.outcome === 'cancelled') {
    out.push({ type: 'OrderCancelled', data: { orderId: order.orderId, remainingWh: String(plan.remainingWh), reason: plan.cancelReason as CancelReason, cancelledAt: at } });
  }
}

function decideSubmit(command: Extract<OrderBookCommand, { type: 'SubmitOrders' }>, state: OrderBookState): OrderBookEvent[] {
  const at = canonicalInstant('at', command.at);
  const product = checkProductSpec('product', command.product);
  const events: OrderBookEvent[] = [];
  let open: Open;
  if (state.status === 'empty') {
    open = { product, units: productUnits(product) };
  } else {
    open = { product: state.product!, units: state.units! };
    if (!sameProduct(product, open.product)) {
      const lengthMinutes = (parseInstant('', product.deliveryEnd) - parseInstant('', product.deliveryStart)) / 60_000;
      const differ = (Object.keys(product) as (keyof ProductSpec)[]).filter((key) => product[key] !== open.product[key]);
      throw new UnknownProduct({
        zone: product.zone,
        deliveryStart: product.deliveryStart,
        lengthMinutes,
        reason: 'product_mismatch',
        explanation: `this book trades another product (it differs in ${differ.join(', ')})`,
      });
    }
  }
  checkWindow(open, state, at);
  const orders = checkArray('orders', command.orders);
  if (orders.length === 0) throw new InvalidCommand('orders', 'must hold at least one order');
  if (orders.length > MAX_ORDERS_PER_COMMAND) throw new InvalidCommand('orders', `holds ${orders.length} orders; at most ${MAX_ORDERS_PER_COMMAND} go in one command`);
  if (state.status === 'empty') events.push({ type: 'OrderBookOpened', data: product });

  const continuous = open.product.mode === 'continuous';
  const limits = { minTicks: open.units.minTicks, maxTicks: open.units.maxTicks };
  const ctx: TradeContext = { product: open.product, units: open.units, at };
  const overlay: PlanOverlay = newPlanOverlay();
  const batchOrderIds = new Set<string>();
  const batchClientIds = new Set<string>();
  let seq = state.nextSeq;
  orders.forEach((value, index) => {
    const { request, priceTicks, quantityWh } = checkOrderRequest(open, index, value);
    if (state.orders.has(request.orderId) || batchOrderIds.has(request.orderId)) throw new DuplicateOrderId({ orderId: request.orderId, orderIndex: index });
    const key = clientKey(request.traderId, request.clientOrderId);
    if (state.clientOrderIds.has(key) || batchClientIds.has(key)) {
      throw new DuplicateClientOrderId({ traderId: request.traderId, clientOrderId: request.clientOrderId, orderIndex: index });
    }
    batchOrderIds.add(request.orderId);
    batchClientIds.add(key);
    const accepted: OrderBookEvent = { type: 'OrderAccepted', data: { ...request, acceptedAt: at } };
    if (!continuous) {
      events.push(accepted);
      return;
    }
    const order = newBookOrder(request, priceTicks, quantityWh, at);
    order.seq = seq++;
    const plan = planOrder(state.book, order, limits, overlay);
    if (plan.outcome === 'refused') {
      throw new InsufficientQuantity({
        orderId: request.orderId,
        orderIndex: index,
        orderType: request.orderType,
        requestedWh: request.quantityWh,
        availableWh: String(plan.filledWh),
      });
    }
    events.push(accepted);
    planEvents(ctx, order, plan, 1, events);
    order.filledWh = plan.filledWh;
    recordInOverlay(overlay, order, plan);
  });
  return events;
}

/** The book as it stands, for an amend or cancel: the order, owned by the trader and still open. */
function ownOpenOrder(state: OrderBookState, at: string, orderIdValue: unknown, traderIdValue: unknown): { open: Open; order: BookOrder } {
  const orderId = parseId('orderId', orderIdValue);
  const traderId = parseId('traderId', traderIdValue);
  if (state.status === 'empty') throw new UnknownOrder(orderId);
  const open: Open = { product: state.product!, units: state.units! };
  checkWindow(open, state, at);
  const order = state.orders.get(orderId);
  if (order === undefined) throw new UnknownOrder(orderId);
  if (order.traderId !== traderId) throw new OrderNotOwned(orderId, traderId);
  if (order.status !== 'open') throw new OrderNotOpen(orderId, order.status);
  return { open, order };
}

function decideAmend(command: Extract<OrderBookCommand, { type: 'AmendOrder' }>, state: OrderBookState): OrderBookEvent[] {
  const at = canonicalInstant('at', command.at);
  const { open, order } = ownOpenOrder(state, at, command.orderId, command.traderId);
  const quantityGiven = command.quantityWh !== null && command.quantityWh !== undefined;
  const priceGiven = command.limitPriceMinorPerMWh !== null && command.limitPriceMinorPerMWh !== undefined;
  if (!quantityGiven && !priceGiven) throw new InvalidCommand('quantityWh', 'give a new quantity, a new limit price or both');
  const quantityWh = quantityGiven ? checkOrderQuantity(open.units, open.product, 'quantityWh', null, command.quantityWh) : order.quantityWh;
  let priceTicks = order.priceTicks;
  let limitPrice = order.limitPriceMinorPerMWh;
  if (priceGiven) {
    if (order.orderType === 'market') throw new InvalidCommand('limitPriceMinorPerMWh', `order ${order.orderId} is a market order: it has no limit price`);
    const price = checkLimitPrice(open.units, open.product, 'limitPriceMinorPerMWh', null, command.limitPriceMinorPerMWh);
    priceTicks = price.ticks;
    limitPrice = price.text;
  }
  if (quantityWh <= order.filledWh) {
    throw new QuantityBelowFilled({ orderId: order.orderId, quantityWh: String(quantityWh), filledWh: String(order.filledWh) });
  }
  if (quantityWh === order.quantityWh && priceTicks === order.priceTicks) return [];
  const priorityKept = priceTicks === order.priceTicks && quantityWh < order.quantityWh;
  const events: OrderBookEvent[] = [
    { type: 'OrderAmended', data: { orderId: order.orderId, quantityWh: String(quantityWh), limitPriceMinorPerMWh: limitPrice, priorityKept, amendedAt: at } },
  ];
  if (!priorityKept && open.product.mode === 'continuous') {
    // It re-enters at the back: as a new aggressor, against the book without itself.
    const copy = reentered(order, priceTicks, limitPrice, quantityWh, state.nextSeq);
    const overlay = newPlanOverlay();
    overlay.removed.add(order);
    const plan = planOrder(state.book, copy, { minTicks: open.units.minTicks, maxTicks: open.units.maxTicks }, overlay);
    planEvents({ product: open.product, units: open.units, at }, copy, plan, order.aggressorTrades + 1, events);
  }
  return events;
}

function decideCancel(command: Extract<OrderBookCommand, { type: 'CancelOrder' }>, state: OrderBookState): OrderBookEvent[] {
  const at = canonicalInstant('at', command.at);
  const { order } = ownOpenOrder(state, at, command.orderId, command.traderId);
  return [{ type: 'OrderCancelled', data: { orderId: order.orderId, remainingWh: String(order.quantityWh - order.filledWh), reason: 'cancelled_by_trader', cancelledAt: at } }];
}

/** Open orders by time priority. */
const openOrders = (state: OrderBookState): BookOrder[] => [...state.orders.values()].filter((o) => o.status === 'open').sort((a, b) => a.seq - b.seq);

function decideCloseGate(command: Extract<OrderBookCommand, { type: 'CloseGate' }>, state: OrderBookState): OrderBookEvent[] {
  const at = canonicalInstant('at', command.at);
  if (state.status === 'empty') return []; // nobody traded this product: there is no book to close
  const product = state.product!;
  const units = state.units!;
  if (state.status === 'closed') throw new GateClosed({ gateClosureAt: product.gateClosureAt, at });
  if (parseInstant('at', at) < units.gateClosureAtMs) throw new GateNotReached({ gateClosureAt: product.gateClosureAt, at });
  const orders = openOrders(state);
  const events: OrderBookEvent[] = [];
  let auction: { clearingPriceMinorPerMWh: string; volumeWh: string } | null = null;
  const traded = new Map<BookOrder, number>();
  if (product.mode === 'auction') {
    const result = clearAuction(orders);
    if (result.clearingPriceTicks !== null) {
      const price = ticksToPrice(units, result.clearingPriceTicks);
      auction = { clearingPriceMinorPerMWh: price, volumeWh: String(result.volumeWh) };
      result.trades.forEach((trade, i) => {
        traded.set(trade.buy, (traded.get(trade.buy) ?? 0) + trade.quantityWh);
        traded.set(trade.sell, (traded.get(trade.sell) ?? 0) + trade.quantityWh);
        events.push({
          type: 'TradeExecuted',
          data: {
            tradeId: `auction-${state.auctionTrades + i + 1}`,
            zone: product.zone,
            currency: product.currency,
            deliveryStart: product.deliveryStart,
            deliveryEnd: product.deliveryEnd,
            buyOrderId: trade.buy.orderId,
            sellOrderId: trade.sell.orderId,
            buyerId: trade.buy.traderId,
            sellerId: trade.sell.traderId,
            aggressorSide: null,
            quantityWh: String(trade.quantityWh),
            priceMinorPerMWh: price,
            executedAt: at,
          },
        });
      });
    }
  }
  const expired = orders
    .map((o) => ({ orderId: o.orderId, remainingWh: o.quantityWh - o.filledWh - (traded.get(o) ?? 0) }))
    .filter((o) => o.remainingWh > 0)
    .map((o) => ({ orderId: o.orderId, remainingWh: String(o.remainingWh) }));
  events.push({ type: 'GateClosed', data: { closedAt: at, auction, expired } });
  return events;
}

function decide(command: OrderBookCommand, state: OrderBookState): OrderBookEvent[] {
  switch (command.type) {
    case 'SubmitOrders':
      return decideSubmit(command, state);
    case 'AmendOrder':
      return decideAmend(command, state);
    case 'CancelOrder':
      return decideCancel(command, state);
    case 'CloseGate':
      return decideCloseGate(command, state);
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${String((unreachable as { type: unknown }).type)}`);
    }
  }
}

// ---- evolve (in place) ----------------------------------------------------------------------------

function orderIn(state: OrderBookState, orderId: string): BookOrder {
  const order = state.orders.get(orderId);
  if (order === undefined) throw new Error(`order book: event for unknown order ${orderId}`);
  return order;
}

function fill(state: OrderBookState, order: BookOrder, quantityWh: number): void {
  if (order.resting) fillResting(state.book, order, quantityWh);
  else {
    order.filledWh += quantityWh;
    if (order.filledWh >= order.quantityWh) order.status = 'filled';
  }
}

function end(state: OrderBookState, order: BookOrder, status: OrderStatus): void {
  if (order.resting) removeResting(state.book, order, status);
  else order.status = status;
}

function evolve(state: OrderBookState, event: OrderBookEvent): OrderBookState {
  switch (event.type) {
    case 'OrderBookOpened':
      state.status = 'open';
      state.product = event.data;
      state.units = productUnits(event.data);
      return state;
    case 'OrderAccepted': {
      const data = event.data;
      const units = state.units!;
      const priceTicks = data.limitPriceMinorPerMWh === null ? null : priceToTicks(units, data.limitPriceMinorPerMWh);
      const order = newBookOrder(data, priceTicks, Number(data.quantityWh), data.acceptedAt);
      order.seq = state.nextSeq++;
      state.orders.set(order.orderId, order);
      state.clientOrderIds.set(clientKey(order.traderId, order.clientOrderId), order.orderId);
      if (state.product!.mode === 'continuous' && order.orderType === 'limit') addResting(state.book, order);
      return state;
    }
    case 'TradeExecuted': {
      const { buyOrderId, sellOrderId, aggressorSide } = event.data;
      const quantityWh = Number(event.data.quantityWh);
      const buy = orderIn(state, buyOrderId);
      const sell = orderIn(state, sellOrderId);
      fill(state, buy, quantityWh);
      fill(state, sell, quantityWh);
      if (aggressorSide === 'buy') buy.aggressorTrades++;
      else if (aggressorSide === 'sell') sell.aggressorTrades++;
      else state.auctionTrades++;
      return state;
    }
    case 'OrderAmended': {
      const { orderId, limitPriceMinorPerMWh, priorityKept } = event.data;
      const quantityWh = Number(event.data.quantityWh);
      const order = orderIn(state, orderId);
      if (priorityKept) {
        if (order.resting) reduceResting(state.book, order, quantityWh);
        else order.quantityWh = quantityWh;
        return state;
      }
      if (order.resting) removeResting(state.book, order, 'open');
      const priceTicks = limitPriceMinorPerMWh === null ? null : priceToTicks(state.units!, limitPriceMinorPerMWh);
      const copy = reentered(order, priceTicks, limitPriceMinorPerMWh, quantityWh, state.nextSeq++);
      state.orders.set(orderId, copy);
      if (state.product!.mode === 'continuous' && copy.orderType === 'limit') addResting(state.book, copy);
      return state;
    }
    case 'OrderCancelled':
      end(state, orderIn(state, event.data.orderId), 'cancelled');
      return state;
    case 'GateClosed':
      for (const { orderId } of event.data.expired) end(state, orderIn(state, orderId), 'expired');
      state.status = 'closed';
      state.closedAt = event.data.closedAt;
      return state;
    default: {
      const unreachable: never = event;
      throw new Error(`unknown event ${String((unreachable as { type: unknown }).type)}`);
    }
  }
}

function evolveAll(state: OrderBookState, events: readonly OrderBookEvent[]): OrderBookState {
  let next = state;
  for (const event of events) next = evolve(next, event);
  return next;
}

export const orderBookDecider: Decider<OrderBookState, OrderBookCommand, OrderBookEvent> & {
  evolveAll: (state: OrderBookState, events: readonly OrderBookEvent[]) => OrderBookState;
} = { initialState, decide, evolve, evolveAll };

/** An independent deep copy of a state (same book, same priorities), for whoever must keep one aside. */
export function cloneOrderBookState(state: OrderBookState): OrderBookState {
  const copy: OrderBookState = {
    ...state,
    orders: new Map(),
    clientOrderIds: new Map(state.clientOrderIds),
    book: createMatchingBook(),
  };
  copy.book.nextSeq = state.book.nextSeq;
  for (const [id, order] of state.orders) copy.orders.set(id, { ...order, resting: false });
  for (const side of ['buy', 'sell'] as const) {
    for (const order of restingOrders(state.book, side)) addResting(copy.book, copy.orders.get(order.orderId)!);
  }
  return copy;
}

/** The open orders of a book in time priority (continuous: resting; auction: waiting for the auction). */
export const openOrdersOf = (state: OrderBookState): BookOrder[] => openOrders(state);

/** The delivery length of a book's product, in minutes. */
export const productLengthMinutes = (product: ProductSpec): number => (parseInstant('', product.deliveryEnd) - parseInstant('', product.deliveryStart)) / 60_000;

/** The 15-minute settlement periods (their starts) a product's delivery covers. */
export const settlementPeriodsOf = (product: ProductSpec): string[] => {
  const out: string[] = [];
  for (let t = parseInstant('', product.deliveryStart); t < parseInstant('', product.deliveryEnd); t += QUARTER_HOUR_MS) out.push(formatInstant(t));
  return out;
};
