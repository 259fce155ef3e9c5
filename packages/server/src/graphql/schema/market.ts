import { Decimal, InvalidCommand, canonicalInstant, type OrderOutcome, type OrderType, type ProductMode, type ProductTemplate, type Side } from '@v2g/domain';
import type { AppendResult } from '@v2g/event-store';
import { MARKET_ORDER_STATUSES, tradeOf, whToKWh, type MarketReadModel, type BookRef, type MarketHandled, type OrderInput, type RecordedBookEvent } from '@v2g/ledger';
import type { DepthLevel, MarketBook, MarketOrder, MarketOrderStatus, MarketTrade, TradeFilter, TraderPosition } from '@v2g/projection-market';
import { builder, type BuilderTypes } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { positionCursor } from '../cursor.ts';
import { InvalidArgument } from '../errors.ts';
import { inClientTerms } from './market-client-terms.ts';
import { bookCommandErrors, ZONE_COMMAND_ERRORS } from './market-errors.ts';
import { Money } from './money.ts';
import { connectionArgs, connectionOf, connectionType, type ConnectionArgs } from './pagination.ts';
import { MARKET_READERS, OPERATOR, PLATFORM_READERS, seesTradeParty, traderReaders, traderWriters } from '../access.ts';
import { commandContext } from '../command-context.ts';
import { recorded, recordedFields, type Recorded } from './command-payload.ts';

/**
 * The energy market: a zone's products and participants (`marketzone-<zone>`), one order book per
 * product and delivery interval (`market-<zone>-<start>-<m>m`), orders, trades and positions.
 * Commands go through the MarketService (which resolves the product and checks the traders) to
 * the book's decider; the book, the tape, orders and positions are read from the market read model
 * (projections/market), eventually consistent: a mutation's `position` says when they include it.
 *
 * Quantities are kWh here (decimal strings; an order is a whole number of Wh), prices minor units of
 * the zone's currency per MWh ("5000" is 50.00 EUR/MWh).
 */

const kWh = (wh: string): string => whToKWh(wh);

// ---- enums ----------------------------------------------------------------------------------------

const MarketSideRef = builder.enumType('MarketSide', { values: { BUY: { value: 'buy' }, SELL: { value: 'sell' } } as const });

const OrderTypeRef = builder.enumType('MarketOrderType', {
  values: {
    LIMIT: { value: 'limit', description: 'Rests until filled, cancelled or the gate closes.' },
    MARKET: {
      value: 'market',
      description:
        "No price. Continuous: takes what the book offers (within the product's price limits), the rest is cancelled. Auction: a price-taker; it sets no price and trades at the clearing price the limit orders set, ahead of every limit order of its side; when the book holds no limit order nothing determines a price, and it expires at the gate.",
    },
    IOC: { value: 'ioc', description: 'Immediate or cancel: a limit price, the rest is cancelled, never rests.' },
    FOK: { value: 'fok', description: 'Fill or kill: filled in full at once, or refused.' },
  } as const,
});

const ProductModeRef = builder.enumType('MarketProductMode', {
  values: {
    CONTINUOUS: { value: 'continuous', description: "Continuous matching, price-time priority, at the resting order's price." },
    AUCTION: {
      value: 'auction',
      description:
        'A call auction at gate closure: one clearing price, set by the limit orders alone (chosen between the lowest and highest limit price: the most volume, then the smallest surplus, then the market pressure, else the midpoint); market orders count in the volume at every price, set none, and are served first.',
    },
  } as const,
});

const OrderStatusRef = builder.enumType('MarketOrderStatus', {
  values: Object.fromEntries(MARKET_ORDER_STATUSES.map((s) => [s.toUpperCase(), { value: s }])) as Record<Uppercase<MarketOrderStatus>, { value: MarketOrderStatus }>,
});

const BookStatusRef = builder.enumType('OrderBookStatus', { values: { OPEN: { value: 'open' }, CLOSED: { value: 'closed', description: 'The gate has closed.' } } as const });

const MemberKindRef = builder.enumType('PortfolioMemberKind', {
  values: { FLEET: { value: 'fleet' }, CUSTOMER: { value: 'customer' }, SITE: { value: 'site' } } as const,
});

// ---- read model types -----------------------------------------------------------------------------

const DepthLevelRef = builder.objectRef<DepthLevel>('DepthLevel').implement({
  description: 'The resting orders at one price.',
  fields: (t) => ({
    priceMinorPerMWh: t.field({ type: 'Decimal', resolve: (l) => l.priceMinorPerMWh }),
    quantityKWh: t.field({ type: 'Decimal', description: 'Their remaining quantity, summed.', resolve: (l) => kWh(l.quantityWh) }),
    orders: t.exposeInt('orders', { description: 'How many orders rest at this price.' }),
  }),
});

type DepthShape = { bookId: string; levels: number | null };

const BookDepthRef = builder.objectRef<DepthShape>('BookDepth').implement({
  description: 'Depth per price level: limit orders resting in the book.',
  fields: (t) => ({
    bids: t.field({ type: [DepthLevelRef], description: 'Buy side, best (highest) first.', resolve: async (d, _a, ctx) => (await depthOf(ctx, d)).bids }),
    asks: t.field({ type: [DepthLevelRef], description: 'Sell side, best (lowest) first.', resolve: async (d, _a, ctx) => (await depthOf(ctx, d)).asks }),
  }),
});

/** Both sides from one query, shared by the `bids` and `asks` of one depth. */
const depths = new WeakMap<DepthShape, ReturnType<MarketReadModel['bookDepth']>>();
function depthOf(ctx: GraphQLContext, shape: DepthShape) {
  let depth = depths.get(shape);
  if (!depth) {
    depth = ctx.ledger.market.readModel.bookDepth(shape.bookId, shape.levels ?? undefined);
    depths.set(shape, depth);
  }
  return depth;
}

const MarketTradeRef = builder.objectRef<MarketTrade>('MarketTrade').implement({
  description: "A trade: at the resting order's price (continuous) or the clearing price (auction).",
  fields: (t) => ({
    tradeId: t.exposeID('tradeId'),
    bookId: t.exposeID('bookId', { description: "The book's stream id." }),
    zone: t.exposeID('zone'),
    deliveryStart: t.field({ type: 'DateTime', resolve: (tr) => tr.deliveryStart }),
    deliveryEnd: t.field({ type: 'DateTime', resolve: (tr) => tr.deliveryEnd }),
    // The tape is anonymous to traders: each sees the ids of its own side of a trade only.
    buyOrderId: t.id({
      nullable: true,
      description: 'Null for a trader that is not the buyer.',
      resolve: (tr, _a, ctx) => (seesTradeParty(ctx, tr.buyerId) ? tr.buyOrderId : null),
    }),
    sellOrderId: t.id({
      nullable: true,
      description: 'Null for a trader that is not the seller.',
      resolve: (tr, _a, ctx) => (seesTradeParty(ctx, tr.sellerId) ? tr.sellOrderId : null),
    }),
    buyerId: t.id({
      nullable: true,
      description: 'Null for a trader that is not the buyer (the tape is anonymous).',
      resolve: (tr, _a, ctx) => (seesTradeParty(ctx, tr.buyerId) ? tr.buyerId : null),
    }),
    sellerId: t.id({
      nullable: true,
      description: 'Null for a trader that is not the seller (the tape is anonymous).',
      resolve: (tr, _a, ctx) => (seesTradeParty(ctx, tr.sellerId) ? tr.sellerId : null),
    }),
    aggressorSide: t.field({ type: MarketSideRef, nullable: true, description: 'The side of the incoming order; null in an auction.', resolve: (tr) => tr.aggressorSide }),
    quantityKWh: t.field({ type: 'Decimal', resolve: (tr) => kWh(tr.quantityWh) }),
    priceMinorPerMWh: t.field({ type: 'Decimal', resolve: (tr) => tr.priceMinorPerMWh }),
    amount: t.field({
      type: Money,
      description:
        'What the buyer pays the seller: quantity × price rounded half-even to a whole minor unit, once per trade (negative for a negative price: the seller pays). The same figure positions sum and settlement posts, so they reconcile to the cent.',
      resolve: (tr) => ({ amountMinor: tr.amountMinor, currency: tr.currency }),
    }),
    executedAt: t.field({ type: 'DateTime', resolve: (tr) => tr.executedAt }),
    position: t.field({ type: 'Position', description: "Its event's position in the log.", resolve: (tr) => tr.position }),
  }),
});

const MarketOrderRef = builder.objectRef<MarketOrder>('MarketOrder').implement({
  description: 'An order as the market read model holds it: quantity = filled + remaining + cancelled.',
  fields: (t) => ({
    orderId: t.exposeID('orderId'),
    clientOrderId: t.exposeID('clientOrderId'),
    bookId: t.exposeID('bookId'),
    traderId: t.exposeID('traderId'),
    zone: t.exposeID('zone'),
    deliveryStart: t.field({ type: 'DateTime', resolve: (o) => o.deliveryStart }),
    deliveryEnd: t.field({ type: 'DateTime', resolve: (o) => o.deliveryEnd }),
    side: t.field({ type: MarketSideRef, resolve: (o) => o.side }),
    orderType: t.field({ type: OrderTypeRef, resolve: (o) => o.orderType }),
    limitPriceMinorPerMWh: t.field({ type: 'Decimal', nullable: true, description: 'Null for a market order.', resolve: (o) => o.limitPriceMinorPerMWh }),
    quantityKWh: t.field({ type: 'Decimal', description: 'Its quantity now (after amendments).', resolve: (o) => kWh(o.quantityWh) }),
    filledKWh: t.field({ type: 'Decimal', resolve: (o) => kWh(o.filledWh) }),
    remainingKWh: t.field({ type: 'Decimal', description: 'What still rests (0 unless open).', resolve: (o) => kWh(o.remainingWh) }),
    cancelledKWh: t.field({ type: 'Decimal', description: 'Cancelled, or expired at the gate.', resolve: (o) => kWh(o.cancelledWh) }),
    status: t.field({ type: OrderStatusRef, resolve: (o) => o.status }),
    cancelReason: t.exposeString('cancelReason', { nullable: true, description: 'cancelled_by_trader, unfilled_remainder or self_trade_prevented.' }),
    acceptedAt: t.field({ type: 'DateTime', resolve: (o) => o.acceptedAt }),
    priorityAt: t.field({
      type: 'DateTime',
      description: 'Where it stands in the queue at its price: acceptance, or the last amendment that lost priority.',
      resolve: (o) => o.priorityAt,
    }),
  }),
});

const MarketPositionRef = builder.objectRef<TraderPosition>('MarketPosition').implement({
  description:
    "A trader's position for one delivery interval of a zone, from its trades. Signs as in settlement (SettlementLine): energy the trader must deliver and money it receives are positive — contractedKWh = sold − bought, tradeAmount = sold − bought amounts.",
  fields: (t) => ({
    traderId: t.exposeID('traderId'),
    zone: t.exposeID('zone'),
    deliveryStart: t.field({ type: 'DateTime', resolve: (p) => p.deliveryStart }),
    deliveryEnd: t.field({ type: 'DateTime', resolve: (p) => p.deliveryEnd }),
    boughtKWh: t.field({ type: 'Decimal', resolve: (p) => kWh(p.boughtWh) }),
    soldKWh: t.field({ type: 'Decimal', resolve: (p) => kWh(p.soldWh) }),
    contractedKWh: t.field({
      type: 'Decimal',
      description: "Sold − bought, settlement's sign (SettlementLine.contractedWh): positive the trader must deliver (short), negative it takes energy (long).",
      resolve: (p) => kWh(p.contractedWh),
    }),
    bought: t.field({
      type: Money,
      description: "Paid for what it bought: the sum of those trades' amounts (whole minor units, as settled).",
      resolve: (p) => ({ amountMinor: p.boughtAmountMinor, currency: p.currency }),
    }),
    sold: t.field({
      type: Money,
      description: "Received for what it sold: the sum of those trades' amounts (whole minor units, as settled).",
      resolve: (p) => ({ amountMinor: p.soldAmountMinor, currency: p.currency }),
    }),
    tradeAmount: t.field({
      type: Money,
      description: "Sold − bought amounts: positive is received. Over the interval's periods it is what settlement posts (the sum of SettlementLine.tradeAmount).",
      resolve: (p) => ({ amountMinor: p.tradeAmountMinor, currency: p.currency }),
    }),
    averageBuyPriceMinorPerMWh: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'Volume-weighted, half-even to 4 decimals.',
      resolve: (p) => p.averageBuyPriceMinorPerMWh,
    }),
    averageSellPriceMinorPerMWh: t.field({ type: 'Decimal', nullable: true, resolve: (p) => p.averageSellPriceMinorPerMWh }),
    averagePriceMinorPerMWh: t.field({ type: 'Decimal', nullable: true, description: 'Over everything it traded, both sides.', resolve: (p) => p.averagePriceMinorPerMWh }),
    tradeCount: t.field({ type: 'BigInt', resolve: (p) => p.tradeCount }),
  }),
});

const MarketTradeConnection = connectionType('MarketTrade', MarketTradeRef, 'Trades by log position (the tape).');
const MarketOrderConnection = connectionType('MarketOrder', MarketOrderRef, 'Orders in the order they were accepted.');

const OrderBookRef = builder.objectRef<MarketBook & { levels: number | null }>('OrderBook').implement({
  description: 'One product instance of a zone: its rules, its state and its depth, from the market read model.',
  fields: (t) => ({
    bookId: t.exposeID('bookId', { description: "The book's stream id, market-<zone>-<YYYYMMDDTHHMMZ>-<m>m." }),
    zone: t.exposeID('zone'),
    currency: t.exposeString('currency'),
    deliveryStart: t.field({ type: 'DateTime', resolve: (b) => b.deliveryStart }),
    deliveryEnd: t.field({ type: 'DateTime', resolve: (b) => b.deliveryEnd }),
    lengthMinutes: t.exposeInt('lengthMinutes'),
    mode: t.field({ type: ProductModeRef, resolve: (b) => b.mode }),
    status: t.field({ type: BookStatusRef, resolve: (b) => b.status }),
    openAt: t.field({ type: 'DateTime', resolve: (b) => b.openAt }),
    gateClosureAt: t.field({ type: 'DateTime', description: 'Orders at or after it are refused.', resolve: (b) => b.gateClosureAt }),
    closedAt: t.field({ type: 'DateTime', nullable: true, resolve: (b) => b.closedAt }),
    tickMinorPerMWh: t.field({ type: 'Decimal', resolve: (b) => b.tickMinorPerMWh }),
    minPriceMinorPerMWh: t.field({ type: 'Decimal', resolve: (b) => b.minPriceMinorPerMWh }),
    maxPriceMinorPerMWh: t.field({ type: 'Decimal', resolve: (b) => b.maxPriceMinorPerMWh }),
    quantityStepKWh: t.field({ type: 'Decimal', resolve: (b) => kWh(b.quantityStepWh) }),
    maxQuantityKWh: t.field({ type: 'Decimal', resolve: (b) => kWh(b.maxQuantityWh) }),
    bestBid: t.field({ type: 'Decimal', nullable: true, description: 'The highest resting buy price, minor per MWh.', resolve: (b) => b.bestBidMinorPerMWh }),
    bestAsk: t.field({ type: 'Decimal', nullable: true, description: 'The lowest resting sell price, minor per MWh.', resolve: (b) => b.bestAskMinorPerMWh }),
    lastPriceMinorPerMWh: t.field({ type: 'Decimal', nullable: true, resolve: (b) => b.lastPriceMinorPerMWh }),
    tradedKWh: t.field({ type: 'Decimal', resolve: (b) => kWh(b.tradedWh) }),
    tradeCount: t.field({ type: 'BigInt', resolve: (b) => b.tradeCount }),
    clearingPriceMinorPerMWh: t.field({
      type: 'Decimal',
      nullable: true,
      description:
        'Auction mode, once the gate closed: the uniform price set by the limit orders (never by a market order). Null when nothing crossed, e.g. when only market orders were in the book.',
      resolve: (b) => b.clearingPriceMinorPerMWh,
    }),
    auctionVolumeKWh: t.field({ type: 'Decimal', nullable: true, resolve: (b) => (b.auctionVolumeWh === null ? null : kWh(b.auctionVolumeWh)) }),
    depth: t.field({ type: BookDepthRef, resolve: (b) => ({ bookId: b.bookId, levels: b.levels }) }),
  }),
});

// ---- queries ----------------------------------------------------------------------------------------

function bookRef(args: { zone: string | number; deliveryStart: string; lengthMinutes: number }): BookRef {
  return { zone: String(args.zone), deliveryStart: canonicalInstant('deliveryStart', args.deliveryStart), lengthMinutes: args.lengthMinutes };
}

const TRADE_CURSOR = positionCursor('trade');
const ORDER_CURSOR = positionCursor('order');

function tradeConnection(ctx: GraphQLContext, filter: TradeFilter, args: ConnectionArgs & { newestFirst?: boolean | null }) {
  const newestFirst = args.newestFirst ?? false;
  return connectionOf(args, {
    cursor: TRADE_CURSOR,
    keyOf: (tr: MarketTrade) => tr.position,
    fetch: async ({ after, before, backward, limit }) => (await ctx.ledger.market.readModel.listTrades(filter, { first: limit, after, before, backward, newestFirst })).nodes,
    count: () => ctx.ledger.market.readModel.countTrades(filter),
  });
}

function orderConnection(ctx: GraphQLContext, traderId: string, args: ConnectionArgs & { status?: MarketOrderStatus | null }) {
  const filter = { traderId, status: args.status ?? null };
  return connectionOf(args, {
    cursor: ORDER_CURSOR,
    keyOf: (o: MarketOrder) => o.acceptedPosition,
    fetch: async ({ after, before, backward, limit }) => (await ctx.ledger.market.readModel.listOrders(filter, { first: limit, after, before, backward })).nodes,
    count: () => ctx.ledger.market.readModel.countOrders(filter),
  });
}

builder.queryFields((t) => ({
  orderBook: t.field({
    type: OrderBookRef,
    nullable: true,
    description: "A zone's book for one product and delivery interval; null until its first order.",
    args: {
      zone: t.arg.id({ required: true }),
      deliveryStart: t.arg({ type: 'DateTime', required: true }),
      lengthMinutes: t.arg.int({ required: true, description: "The product's length: 15, 60, …" }),
      levels: t.arg.int({ description: 'At most this many price levels per side in `depth` (default all).' }),
    },
    authScopes: MARKET_READERS,
    resolve: async (_root, args, ctx) => {
      if (args.levels != null && args.levels < 1) throw new InvalidArgument('levels', 'must be at least 1');
      const book = await ctx.ledger.market.readModel.findBook(bookRef(args));
      return book ? { ...book, levels: args.levels ?? null } : null;
    },
  }),
  trades: t.field({
    type: MarketTradeConnection,
    description: "The trade tape: every trade, a zone's, a book's (zone, deliveryStart and lengthMinutes) and/or a trader's (as buyer or seller: its fills).",
    args: {
      zone: t.arg.id(),
      deliveryStart: t.arg({ type: 'DateTime' }),
      lengthMinutes: t.arg.int(),
      traderId: t.arg.id(),
      newestFirst: t.arg.boolean({ description: 'Newest first (default oldest first).' }),
      ...connectionArgs,
    },
    authScopes: (_root, args) => (args.traderId == null ? MARKET_READERS : { ...PLATFORM_READERS, traderIs: String(args.traderId) }),
    resolve: (_root, args, ctx) => {
      const zone = args.zone == null ? null : String(args.zone);
      let bookId: string | null = null;
      if (args.deliveryStart != null || args.lengthMinutes != null) {
        if (zone === null || args.deliveryStart == null || args.lengthMinutes == null) {
          throw new InvalidArgument('deliveryStart', 'a book is named by zone, deliveryStart and lengthMinutes together');
        }
        bookId = ctx.ledger.market.service.streamIdOf(bookRef({ zone, deliveryStart: args.deliveryStart, lengthMinutes: args.lengthMinutes }));
      }
      return tradeConnection(ctx, { zone, bookId, traderId: args.traderId == null ? null : String(args.traderId) }, args);
    },
  }),
  orders: t.field({
    type: MarketOrderConnection,
    description: "A trader's orders, optionally with one status (OPEN: what rests now).",
    args: { traderId: t.arg.id({ required: true }), status: t.arg({ type: OrderStatusRef }), ...connectionArgs },
    authScopes: (_root, args) => traderReaders(String(args.traderId)),
    resolve: (_root, args, ctx) => orderConnection(ctx, String(args.traderId), args),
  }),
  myOrders: t.field({
    type: MarketOrderConnection,
    description: 'The orders of the trader asking (a trader key or token: its traderId); operators and auditors use orders(traderId).',
    args: { status: t.arg({ type: OrderStatusRef }), ...connectionArgs },
    authScopes: { trader: true },
    resolve: (_root, args, ctx) => orderConnection(ctx, ctx.principal.subject!, args),
  }),
  positions: t.field({
    type: [MarketPositionRef],
    description: "A trader's position per delivery interval overlapping [from, to): what it bought and sold, contractedKWh = sold − bought (settlement's sign).",
    args: { traderId: t.arg.id({ required: true }), from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    authScopes: (_root, args) => traderReaders(String(args.traderId)),
    resolve: (_root, args, ctx) => {
      if (Date.parse(args.to) <= Date.parse(args.from)) throw new InvalidArgument('to', 'must be after from');
      return ctx.ledger.market.readModel.traderPositions(String(args.traderId), { from: args.from, to: args.to });
    },
  }),
  marketZone: t.field({
    type: MarketZoneRef,
    nullable: true,
    description: "A zone's products and participants, as its stream holds them now.",
    args: { zone: t.arg.id({ required: true }) },
    authScopes: MARKET_READERS,
    resolve: async (_root, args, ctx) => zoneView(ctx, String(args.zone)),
  }),
}));

// ---- the zone ---------------------------------------------------------------------------------------

/** A zone as its stream holds it, or (version null) as the market read model lists it. */
export type ZoneView = { zone: string; currency: string; imbalancePriceZone: string; products: ProductTemplate[]; version: number | null };

const ProductTemplateRef = builder.objectRef<ProductTemplate>('MarketProductTemplate').implement({
  description: 'A kind of product a zone trades, e.g. the 15-minute continuous product.',
  fields: (t) => ({
    lengthMinutes: t.exposeInt('lengthMinutes'),
    mode: t.field({ type: ProductModeRef, resolve: (p) => p.mode }),
    tickMinorPerMWh: t.field({ type: 'Decimal', resolve: (p) => p.tickMinorPerMWh }),
    minPriceMinorPerMWh: t.field({ type: 'Decimal', resolve: (p) => p.minPriceMinorPerMWh }),
    maxPriceMinorPerMWh: t.field({ type: 'Decimal', resolve: (p) => p.maxPriceMinorPerMWh }),
    quantityStepKWh: t.field({ type: 'Decimal', resolve: (p) => kWh(p.quantityStepWh) }),
    maxQuantityKWh: t.field({ type: 'Decimal', resolve: (p) => kWh(p.maxQuantityWh) }),
    gateClosureMinutes: t.exposeInt('gateClosureMinutes', { description: 'Nothing is accepted from this many minutes before delivery start.' }),
    openMinutes: t.exposeInt('openMinutes', { description: 'Orders are accepted from this many minutes before delivery start.' }),
  }),
});

const ParticipantRef = builder.objectRef<{ zone: string; participantId: string; name: string }>('MarketParticipant').implement({
  fields: (t) => ({ participantId: t.exposeID('participantId'), name: t.exposeString('name') }),
});

export const MarketZoneRef = builder.objectRef<ZoneView>('MarketZone').implement({
  fields: (t) => ({
    zone: t.exposeID('zone'),
    currency: t.exposeString('currency'),
    imbalancePriceZone: t.exposeID('imbalancePriceZone', { description: 'Where settlement takes its imbalance price from.' }),
    products: t.field({ type: [ProductTemplateRef], resolve: (z) => z.products }),
    participants: t.field({
      type: [ParticipantRef],
      description: 'From the market read model, by id.',
      resolve: (z, _args, ctx) => ctx.ledger.market.readModel.participantsOfZone(z.zone),
    }),
    version: t.int({
      description: 'The version of the marketzone-<zone> stream this state is at.',
      resolve: async (z, _args, ctx) => z.version ?? (await ctx.ledger.market.service.loadZone(z.zone)).version,
    }),
  }),
});

async function zoneView(ctx: GraphQLContext, zone: string): Promise<ZoneView | null> {
  const { version, state } = await ctx.ledger.market.service.loadZone(zone);
  if (state.zone === null || state.currency === null) return null;
  return { zone, currency: state.currency, imbalancePriceZone: state.imbalancePriceZone ?? state.zone, products: [...state.products], version };
}

// ---- commands ---------------------------------------------------------------------------------------

type RecordedShape = Recorded & { events: number };

const MarketCommandPayload = builder.objectRef<RecordedShape & { trades: MarketTrade[] }>('MarketCommandPayload').implement({
  description: 'A market command recorded (or found recorded under its commandId).',
  fields: (t) => ({
    commandId: t.exposeID('commandId'),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when this commandId was already recorded: nothing new was written.' }),
    streamId: t.exposeID('streamId'),
    streamVersion: t.exposeInt('streamVersion'),
    position: t.field({
      type: 'Position',
      nullable: true,
      description: 'The last event it wrote: the read models include it once their checkpoint reaches it.',
      resolve: (p) => p.position,
    }),
    events: t.exposeInt('events', { description: 'How many events it wrote (0 for a duplicate).' }),
    trades: t.field({ type: [MarketTradeRef], description: 'The trades it executed (an amendment that re-enters the book, an auction at the gate).', resolve: (p) => p.trades }),
  }),
});

const MarketZonePayload = builder.objectRef<RecordedShape>('MarketZonePayload').implement({
  description: 'A zone command recorded (or found recorded under its commandId), and the zone after it.',
  fields: (t) => ({
    ...recordedFields(t),
    events: t.exposeInt('events'),
    zone: t.field({ type: MarketZoneRef, nullable: true, resolve: (p, _args, ctx) => zoneView(ctx, p.streamId.slice('marketzone-'.length)) }),
  }),
});

type SubmittedOrder = OrderOutcome;

const SubmittedOrderRef = builder.objectRef<SubmittedOrder>('SubmittedOrder').implement({
  description: 'An order as its submit left it: what it filled at once, what rests, what was cancelled.',
  fields: (t) => ({
    orderId: t.exposeID('orderId', { description: 'The id the book knows it by: amend and cancel with it.' }),
    clientOrderId: t.exposeID('clientOrderId'),
    traderId: t.exposeID('traderId'),
    side: t.field({ type: MarketSideRef, resolve: (o) => o.side }),
    orderType: t.field({ type: OrderTypeRef, resolve: (o) => o.orderType }),
    limitPriceMinorPerMWh: t.field({ type: 'Decimal', nullable: true, resolve: (o) => o.limitPriceMinorPerMWh }),
    quantityKWh: t.field({ type: 'Decimal', resolve: (o) => kWh(o.quantityWh.toString()) }),
    filledKWh: t.field({ type: 'Decimal', description: 'Filled by this submit.', resolve: (o) => kWh(o.filledWh.toString()) }),
    restingKWh: t.field({ type: 'Decimal', description: 'Left resting in the book.', resolve: (o) => kWh((o.quantityWh - o.filledWh - o.cancelledWh).toString()) }),
    cancelledKWh: t.field({ type: 'Decimal', resolve: (o) => kWh(o.cancelledWh.toString()) }),
    status: t.field({
      type: OrderStatusRef,
      description: 'Right after the submit.',
      resolve: (o) => (o.filledWh === o.quantityWh ? 'filled' : o.cancelledWh > 0n ? 'cancelled' : 'open'),
    }),
    cancelReason: t.exposeString('cancelReason', { nullable: true }),
  }),
});

type SubmitShape = RecordedShape & { orders: SubmittedOrder[]; trades: MarketTrade[] };

const submitFields = (t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, SubmitShape>) => ({
  commandId: t.exposeID('commandId'),
  duplicate: t.exposeBoolean('duplicate', {
    description: 'True when this commandId was already recorded: nothing new was written (the orders and trades shown are the recorded ones).',
  }),
  streamId: t.exposeID('streamId', { description: "The book's stream." }),
  streamVersion: t.exposeInt('streamVersion'),
  position: t.field({ type: 'Position', nullable: true, resolve: (p: SubmitShape) => p.position }),
  events: t.exposeInt('events'),
  trades: t.field({ type: [MarketTradeRef], description: 'The trades the submit executed, in order.', resolve: (p: SubmitShape) => p.trades }),
});

const SubmitOrdersPayload = builder.objectRef<SubmitShape>('SubmitOrdersPayload').implement({
  description: 'A batch of orders accepted together (and matched) in one append, or refused together.',
  fields: (t) => ({ ...submitFields(t), orders: t.field({ type: [SubmittedOrderRef], description: 'In the order sent.', resolve: (p) => p.orders }) }),
});

const SubmitOrderPayload = builder.objectRef<SubmitShape>('SubmitOrderPayload').implement({
  description: 'An order accepted (and matched).',
  fields: (t) => ({ ...submitFields(t), order: t.field({ type: SubmittedOrderRef, resolve: (p) => p.orders[0]! }) }),
});

async function marketPayload(ctx: GraphQLContext, commandId: string, command: string, handled: MarketHandled, bookEvents?: RecordedBookEvent[]) {
  const events = bookEvents ?? (await ctx.ledger.market.service.recordedEvents(handled));
  const trades = events.flatMap(({ event, position }) => (event.type === 'TradeExecuted' ? [tradeOf(handled.streamId, event.data, position)] : []));
  return { ...recorded(ctx, commandId, command, handled.result), events: handled.events.length, trades };
}

async function submitPayload(ctx: GraphQLContext, commandId: string, handled: MarketHandled): Promise<SubmitShape> {
  const { recorded, orders } = await ctx.ledger.market.service.submitOutcome(handled);
  return { ...(await marketPayload(ctx, commandId, 'SubmitOrders', handled, recorded)), orders };
}

const bookInputFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  commandId: t.id({ required: true, description: 'Chosen by the client, unique per command: resending it is safe.' }),
  zone: t.id({ required: true }),
  deliveryStart: t.field({ type: 'DateTime', required: true, description: "The delivery interval's start (aligned to the product length, UTC)." }),
  lengthMinutes: t.int({ required: true, description: 'The product: 15, 60, …' }),
});

const orderInputFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  clientOrderId: t.id({ required: true, description: 'Your reference: unique per trader within the book.' }),
  traderId: t.id({ required: true, description: 'A participant registered in the zone.' }),
  side: t.field({ type: MarketSideRef, required: true }),
  orderType: t.field({ type: OrderTypeRef, required: true }),
  quantityKWh: t.field({ type: 'Decimal', required: true, description: "A positive, whole number of Wh, on the product's quantity step." }),
  limitPriceMinorPerMWh: t.field({ type: 'Decimal', description: "On the product's tick, within its limits; null (left out) for a market order." }),
});

const OrderInputRef = builder.inputType('MarketOrderInput', { fields: (t) => orderInputFields(t) });

const SubmitOrdersInput = builder.inputType('SubmitOrdersInput', {
  fields: (t) => ({
    ...bookInputFields(t),
    orders: t.field({ type: [OrderInputRef], required: true, description: 'Accepted together or refused together; order ids are `<commandId>:<index>`.' }),
  }),
});

const SubmitOrderInput = builder.inputType('SubmitOrderInput', { fields: (t) => ({ ...bookInputFields(t), ...orderInputFields(t) }) });

const AmendOrderInput = builder.inputType('AmendOrderInput', {
  fields: (t) => ({
    ...bookInputFields(t),
    orderId: t.id({ required: true }),
    traderId: t.id({ required: true, description: "Who asks: it must be the order's trader." }),
    quantityKWh: t.field({ type: 'Decimal', description: 'The new total quantity (more than filled); lower keeps time priority, higher loses it.' }),
    limitPriceMinorPerMWh: t.field({ type: 'Decimal', description: 'A new price loses time priority.' }),
  }),
});

const CancelOrderInput = builder.inputType('CancelOrderInput', {
  fields: (t) => ({ ...bookInputFields(t), orderId: t.id({ required: true }), traderId: t.id({ required: true, description: "Who asks: it must be the order's trader." }) }),
});

const CloseGateInput = builder.inputType('CloseGateInput', { fields: (t) => bookInputFields(t) });

type OrderInputShape = {
  clientOrderId: string | number;
  traderId: string | number;
  side: Side;
  orderType: OrderType;
  quantityKWh: string;
  limitPriceMinorPerMWh?: string | null;
};

const toOrderInput = (o: OrderInputShape): OrderInput => ({
  clientOrderId: String(o.clientOrderId),
  traderId: String(o.traderId),
  side: o.side,
  orderType: o.orderType,
  quantityKWh: o.quantityKWh,
  limitPriceMinorPerMWh: o.limitPriceMinorPerMWh ?? null,
});

const context = (ctx: GraphQLContext, commandId: string) => commandContext(ctx, commandId);

builder.mutationFields((t) => ({
  submitOrders: t.field({
    type: SubmitOrdersPayload,
    description: 'Submits orders to one book, atomically: all are accepted (and matched at once, price-time priority) or none.',
    args: { input: t.arg({ type: SubmitOrdersInput, required: true }) },
    errors: { types: bookCommandErrors('SubmitOrders'), directResult: true, union: { name: 'SubmitOrdersResult' } },
    authScopes: (_root, { input }, ctx) =>
      traderWriters(
        input.orders.map((o) => String(o.traderId)),
        ctx,
      ),
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await inClientTerms({ single: false }, () =>
        ctx.ledger.market.service.submitOrders({ ...bookRef(input), orders: input.orders.map(toOrderInput) }, context(ctx, commandId)),
      );
      return submitPayload(ctx, commandId, handled);
    },
  }),
  submitOrder: t.field({
    type: SubmitOrderPayload,
    description: 'Submits one order (see submitOrders).',
    args: { input: t.arg({ type: SubmitOrderInput, required: true }) },
    errors: { types: bookCommandErrors('SubmitOrders'), directResult: true, union: { name: 'SubmitOrderResult' } },
    authScopes: (_root, { input }) => traderWriters([String(input.traderId)]),
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await inClientTerms({ single: true }, () =>
        ctx.ledger.market.service.submitOrders({ ...bookRef(input), orders: [toOrderInput(input)] }, context(ctx, commandId)),
      );
      return submitPayload(ctx, commandId, handled);
    },
  }),
  amendOrder: t.field({
    type: MarketCommandPayload,
    description: "Changes an open order's quantity and/or price.",
    args: { input: t.arg({ type: AmendOrderInput, required: true }) },
    errors: { types: bookCommandErrors('AmendOrder'), directResult: true, union: { name: 'AmendOrderResult' } },
    authScopes: (_root, { input }) => traderWriters([String(input.traderId)]),
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await inClientTerms({ single: true }, () =>
        ctx.ledger.market.service.amendOrder(
          {
            ...bookRef(input),
            orderId: String(input.orderId),
            traderId: String(input.traderId),
            quantityKWh: input.quantityKWh ?? null,
            limitPriceMinorPerMWh: input.limitPriceMinorPerMWh ?? null,
          },
          context(ctx, commandId),
        ),
      );
      return marketPayload(ctx, commandId, 'AmendOrder', handled);
    },
  }),
  cancelOrder: t.field({
    type: MarketCommandPayload,
    description: 'Cancels what rests of an open order.',
    args: { input: t.arg({ type: CancelOrderInput, required: true }) },
    errors: { types: bookCommandErrors('CancelOrder'), directResult: true, union: { name: 'CancelOrderResult' } },
    authScopes: (_root, { input }) => traderWriters([String(input.traderId)]),
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await inClientTerms({ single: true }, () =>
        ctx.ledger.market.service.cancelOrder({ ...bookRef(input), orderId: String(input.orderId), traderId: String(input.traderId) }, context(ctx, commandId)),
      );
      return marketPayload(ctx, commandId, 'CancelOrder', handled);
    },
  }),
  closeGate: t.field({
    type: MarketCommandPayload,
    description:
      "Closes a book's gate (at or after its gate closure; the gate scheduler does it by itself): runs the auction of an auction product (limit orders set the clearing price, market orders take it; see MarketProductMode.AUCTION), expires what rests.",
    args: { input: t.arg({ type: CloseGateInput, required: true }) },
    errors: { types: bookCommandErrors('CloseGate'), directResult: true, union: { name: 'CloseGateResult' } },
    authScopes: OPERATOR,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await ctx.ledger.market.service.closeGate({ ...bookRef(input) }, context(ctx, commandId));
      return marketPayload(ctx, commandId, 'CloseGate', handled);
    },
  }),
}));

const ProductTemplateInput = builder.inputType('MarketProductTemplateInput', {
  fields: (t) => ({
    lengthMinutes: t.int({ required: true, description: 'A multiple of 15 that divides a day: 15, 60, 240, …' }),
    mode: t.field({ type: ProductModeRef, required: true }),
    tickMinorPerMWh: t.field({ type: 'Decimal', required: true, description: 'E.g. "1": 0.01 EUR/MWh.' }),
    minPriceMinorPerMWh: t.field({ type: 'Decimal', required: true, description: 'E.g. "-50000": -500 EUR/MWh.' }),
    maxPriceMinorPerMWh: t.field({ type: 'Decimal', required: true, description: 'E.g. "400000": 4000 EUR/MWh.' }),
    quantityStepKWh: t.field({ type: 'Decimal', required: true, description: 'A whole number of Wh, e.g. "0.1".' }),
    maxQuantityKWh: t.field({ type: 'Decimal', required: true }),
    gateClosureMinutes: t.int({ required: true, description: 'Nothing is accepted from this many minutes before delivery start.' }),
    openMinutes: t.int({ required: true, description: 'Orders are accepted from this many minutes before delivery start.' }),
  }),
});

const ConfigureMarketZoneInput = builder.inputType('ConfigureMarketZoneInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    zone: t.id({ required: true, description: 'A bidding zone, e.g. "NL".' }),
    currency: t.string({ required: true, description: 'ISO 4217, e.g. "EUR".' }),
    imbalancePriceZone: t.id({ required: true, description: 'The price zone whose prices settle imbalances.' }),
    products: t.field({ type: [ProductTemplateInput], required: true }),
  }),
});

const RegisterParticipantInput = builder.inputType('RegisterParticipantInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    zone: t.id({ required: true }),
    participantId: t.id({ required: true, description: 'The trader id orders name.' }),
    name: t.string({ required: true }),
  }),
});

const AssignPortfolioMemberInput = builder.inputType('AssignPortfolioMemberInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    zone: t.id({ required: true }),
    participantId: t.id({ required: true }),
    memberKind: t.field({ type: MemberKindRef, required: true }),
    memberId: t.id({ required: true, description: "The fleet, customer or site whose sessions' energy becomes the participant's." }),
    validFrom: t.field({ type: 'DateTime', required: true }),
  }),
});

function zoneProduct(
  field: string,
  p: {
    lengthMinutes: number;
    mode: ProductMode;
    tickMinorPerMWh: string;
    minPriceMinorPerMWh: string;
    maxPriceMinorPerMWh: string;
    quantityStepKWh: string;
    maxQuantityKWh: string;
    gateClosureMinutes: number;
    openMinutes: number;
  },
): ProductTemplate {
  const wh = (name: string, value: string) => {
    const result = new Decimal(value).times(1000);
    if (!result.isInteger()) throw new InvalidCommand(`${field}.${name}`, `${value} kWh is not a whole number of Wh`);
    return result.toFixed();
  };
  return {
    lengthMinutes: p.lengthMinutes,
    mode: p.mode,
    tickMinorPerMWh: p.tickMinorPerMWh,
    minPriceMinorPerMWh: p.minPriceMinorPerMWh,
    maxPriceMinorPerMWh: p.maxPriceMinorPerMWh,
    quantityStepWh: wh('quantityStepKWh', p.quantityStepKWh),
    maxQuantityWh: wh('maxQuantityKWh', p.maxQuantityKWh),
    gateClosureMinutes: p.gateClosureMinutes,
    openMinutes: p.openMinutes,
  };
}

function zonePayload(ctx: GraphQLContext, commandId: string, command: string, handled: { result: AppendResult; events: unknown[] }): RecordedShape {
  return { ...recorded(ctx, commandId, command, handled.result), events: handled.events.length };
}

builder.mutationFields((t) => ({
  configureMarketZone: t.field({
    type: MarketZonePayload,
    description: "Sets a zone's currency, imbalance price zone and the products it trades (a new configuration replaces the products for books opened after it).",
    args: { input: t.arg({ type: ConfigureMarketZoneInput, required: true }) },
    errors: { types: ZONE_COMMAND_ERRORS.configureMarketZone, directResult: true, union: { name: 'ConfigureMarketZoneResult' } },
    authScopes: OPERATOR,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await ctx.ledger.market.service.configureZone(
        {
          zone: String(input.zone),
          currency: input.currency,
          imbalancePriceZone: String(input.imbalancePriceZone),
          products: input.products.map((p, i) => zoneProduct(`products[${i}]`, p)),
        },
        context(ctx, commandId),
      );
      return zonePayload(ctx, commandId, 'ConfigureMarketZone', handled);
    },
  }),
  registerParticipant: t.field({
    type: MarketZonePayload,
    description: 'Registers a trader (or aggregator) in a zone: only participants may submit orders.',
    args: { input: t.arg({ type: RegisterParticipantInput, required: true }) },
    errors: { types: ZONE_COMMAND_ERRORS.registerParticipant, directResult: true, union: { name: 'RegisterParticipantResult' } },
    authScopes: OPERATOR,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await ctx.ledger.market.service.registerParticipant(
        { zone: String(input.zone), participantId: String(input.participantId), name: input.name },
        context(ctx, commandId),
      );
      return zonePayload(ctx, commandId, 'RegisterParticipant', handled);
    },
  }),
  assignPortfolioMember: t.field({
    type: MarketZonePayload,
    description: "From validFrom on, the energy of this fleet's / customer's / site's sessions is the participant's (balance responsibility, for settlement).",
    args: { input: t.arg({ type: AssignPortfolioMemberInput, required: true }) },
    errors: { types: ZONE_COMMAND_ERRORS.assignPortfolioMember, directResult: true, union: { name: 'AssignPortfolioMemberResult' } },
    authScopes: OPERATOR,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const handled = await ctx.ledger.market.service.assignPortfolioMember(
        { zone: String(input.zone), participantId: String(input.participantId), memberKind: input.memberKind, memberId: String(input.memberId), validFrom: input.validFrom },
        context(ctx, commandId),
      );
      return zonePayload(ctx, commandId, 'AssignPortfolioMember', handled);
    },
  }),
}));

// ---- live trades ------------------------------------------------------------------------------------

builder.subscriptionField('tradesExecuted', (t) =>
  t.field({
    type: MarketTradeRef,
    description: 'Trades of a zone as they are recorded, read from the event log (server-sent events); from now on, or from just after `after` to resume without a gap.',
    args: { zone: t.arg.id({ required: true }), after: t.arg({ type: 'Position', description: 'Resume after this log position; default: the head now.' }) },
    authScopes: MARKET_READERS,
    subscribe: (_root, args, ctx) => ctx.ledger.market.tradesOf(String(args.zone), args.after ?? null),
    resolve: (trade) => trade,
  }),
);
