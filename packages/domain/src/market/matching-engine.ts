/**
 * The pure matching engine: an integer limit order book (prices in ticks, quantities in Wh, both
 * JS safe integers), continuous matching with price-time priority, and the call auction.
 *
 * ## The book
 * Each side keeps its price levels in a sorted array of keys (`sign * price`, ascending, so the
 * best level is always the LAST element: taking or emptying the best level is a pop) beside the
 * levels themselves, and a Map from price to level. A level is a FIFO queue with a head index;
 * an order leaving the book mid-queue is only flagged (`resting = false`) and skipped when the
 * head reaches it (lazy removal), so a cancel is O(1) plus, when the level empties, one binary
 * search and splice. The queue is compacted when more than half of it is dead.
 * An order object that left the book is never put back: an amendment that loses priority re-enters
 * as a copy, so a dead queue entry can never come alive again.
 *
 * ## Matching (continuous)
 * An incoming order walks the opposite side from the best price while the price is acceptable
 * (at or below a buy's limit, at or above a sell's; a market order's limit is the product's
 * price limit), and within a level in time order. Every trade executes at the RESTING order's price.
 * Self-trade prevention, "cancel newest": the walk stops at the first resting order of the
 * incoming order's own trader; what the incoming order has not filled by then is cancelled
 * (`self_trade_prevented`) and never rests, so the book is never crossed at rest and the older
 * order keeps its place. The remainder of a limit order rests; of a market or IOC order it is
 * cancelled (`unfilled_remainder`); a FOK order that the walk cannot fill in full is refused (no
 * trade, no event); a market order facing an empty opposite side is refused.
 *
 * Planning is read-only (`planOrder`) and applying is separate (`applyPlan`, or the primitive
 * operations that the order book's evolve uses event by event). A plan can see through a
 * `PlanOverlay`: what earlier orders of the same command took, removed or added, so that a batch
 * is planned in sequence without touching the book. `submitOrder` = plan + apply, for the benchmark.
 *
 * ## Call auction
 * See `clearAuction`.
 */
import type { OrderType, Side } from './market-types.ts';

export type OrderStatus = 'open' | 'filled' | 'cancelled' | 'expired';

/** An order as the engine sees it. The order book's records extend it. */
export type EngineOrder = {
  readonly orderId: string;
  readonly traderId: string;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit price in ticks; null for a market order. */
  priceTicks: number | null;
  /** Total quantity, Wh. */
  quantityWh: number;
  filledWh: number;
  /** Time priority: lower is earlier. */
  seq: number;
  status: OrderStatus;
  /** Whether it sits in a level's queue. */
  resting: boolean;
};

export type PriceLevel = {
  readonly priceTicks: number;
  orders: EngineOrder[];
  /** Index of the first entry that may still rest; entries before it left the book. */
  head: number;
  /** Resting orders in the level. */
  openCount: number;
  /** Their unfilled quantity, Wh. */
  openWh: number;
};

export type BookSide = {
  readonly side: Side;
  /** +1 for bids (higher is better), -1 for asks (lower is better). */
  readonly sign: 1 | -1;
  /** `sign * priceTicks` of each level, ascending: the best level is last. */
  readonly keys: number[];
  /** The levels, in the order of `keys`. */
  readonly list: PriceLevel[];
  readonly byPrice: Map<number, PriceLevel>;
};

export type MatchingBook = { readonly bids: BookSide; readonly asks: BookSide; nextSeq: number };

/** The product's price limits in ticks (inclusive); market orders trade within them. */
export type PriceLimits = { readonly minTicks: number; readonly maxTicks: number };

export type MatchFill = { readonly resting: EngineOrder; readonly quantityWh: number; readonly priceTicks: number };

/**
 * What becomes of an incoming order: `filled` in full; `rests` (a limit order's remainder joins the
 * book); `cancelled` (the remainder, see `cancelReason`); `refused` (a FOK not fillable in full, a
 * market order facing an empty book: nothing happens at all, see `refusal`).
 */
export type PlanOutcome = 'filled' | 'rests' | 'cancelled' | 'refused';

export type MatchPlan = {
  readonly fills: readonly MatchFill[];
  /** Wh the fills add up to (for a refused FOK: what the book could have given). */
  readonly filledWh: number;
  /** Wh left unfilled. */
  readonly remainingWh: number;
  readonly outcome: PlanOutcome;
  readonly cancelReason: 'unfilled_remainder' | 'self_trade_prevented' | null;
  readonly refusal: 'fok_insufficient' | 'no_liquidity' | null;
};

/**
 * What earlier orders of the same command did, for planning the next one without mutating the
 * book: Wh taken from resting orders, orders taken out (an amended order), and orders that will
 * rest (in the order they were planned; their objects belong to the planner, not to the book).
 */
export type PlanOverlay = {
  readonly takenWh: Map<EngineOrder, number>;
  readonly removed: Set<EngineOrder>;
  readonly added: EngineOrder[];
};

export const newPlanOverlay = (): PlanOverlay => ({ takenWh: new Map(), removed: new Set(), added: [] });

const newSide = (side: Side): BookSide => ({ side, sign: side === 'buy' ? 1 : -1, keys: [], list: [], byPrice: new Map() });

export const createMatchingBook = (): MatchingBook => ({ bids: newSide('buy'), asks: newSide('sell'), nextSeq: 1 });

const sideOf = (book: MatchingBook, side: Side): BookSide => (side === 'buy' ? book.bids : book.asks);

/** A new engine order, every field in the same order (one hidden class). */
export function newEngineOrder(orderId: string, traderId: string, side: Side, orderType: OrderType, priceTicks: number | null, quantityWh: number): EngineOrder {
  return { orderId, traderId, side, orderType, priceTicks, quantityWh, filledWh: 0, seq: 0, status: 'open', resting: false };
}

// ---- primitive operations (apply) -------------------------------------------------------------

/** Index of `key` in the ascending `keys`, or -(insertion point) - 1. */
function search(keys: readonly number[], key: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    if (k < key) lo = mid + 1;
    else if (k > key) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** Puts a limit order at the back of its price level. The order must not be in the book. */
export function addResting(book: MatchingBook, order: EngineOrder): void {
  const price = order.priceTicks;
  if (price === null) throw new Error(`order ${order.orderId}: a market order never rests in a continuous book`);
  const side = sideOf(book, order.side);
  let level = side.byPrice.get(price);
  if (level === undefined) {
    level = { priceTicks: price, orders: [], head: 0, openCount: 0, openWh: 0 };
    side.byPrice.set(price, level);
    const key = side.sign * price;
    const n = side.keys.length;
    if (n === 0 || side.keys[n - 1]! < key) {
      side.keys.push(key);
      side.list.push(level);
    } else {
      const at = -search(side.keys, key) - 1;
      side.keys.splice(at, 0, key);
      side.list.splice(at, 0, level);
    }
  }
  level.orders.push(order);
  level.openCount++;
  level.openWh += order.quantityWh - order.filledWh;
  order.resting = true;
  order.status = 'open';
}

function dropLevel(side: BookSide, level: PriceLevel): void {
  side.byPrice.delete(level.priceTicks);
  const key = side.sign * level.priceTicks;
  const last = side.keys.length - 1;
  if (side.keys[last] === key) {
    side.keys.pop();
    side.list.pop();
  } else {
    const at = search(side.keys, key);
    side.keys.splice(at, 1);
    side.list.splice(at, 1);
  }
}

function advanceHead(level: PriceLevel): void {
  const orders = level.orders;
  let head = level.head;
  while (head < orders.length && !orders[head]!.resting) head++;
  if (head > 32 && head * 2 > orders.length) {
    level.orders = orders.slice(head);
    head = 0;
  }
  level.head = head;
}

/** Takes a resting order out of its level (its unfilled Wh already accounted for by the caller). */
function detach(side: BookSide, level: PriceLevel, order: EngineOrder): void {
  order.resting = false;
  if (--level.openCount === 0) dropLevel(side, level);
  else if (level.orders[level.head] === order) advanceHead(level);
}

function levelOf(book: MatchingBook, order: EngineOrder): [BookSide, PriceLevel] {
  const side = sideOf(book, order.side);
  const level = order.priceTicks === null ? undefined : side.byPrice.get(order.priceTicks);
  if (level === undefined || !order.resting) throw new Error(`order ${order.orderId} is not resting in the book`);
  return [side, level];
}

/** Fills `quantityWh` of a resting order; a filled order leaves the book. */
export function fillResting(book: MatchingBook, order: EngineOrder, quantityWh: number): void {
  const [side, level] = levelOf(book, order);
  order.filledWh += quantityWh;
  level.openWh -= quantityWh;
  if (order.filledWh >= order.quantityWh) {
    order.status = 'filled';
    detach(side, level, order);
  }
}

/** Takes a resting order out of the book with the given status (cancelled, expired, or open for a re-entry). */
export function removeResting(book: MatchingBook, order: EngineOrder, status: OrderStatus): void {
  const [side, level] = levelOf(book, order);
  level.openWh -= order.quantityWh - order.filledWh;
  order.status = status;
  detach(side, level, order);
}

/** Lowers a resting order's total quantity in place: it keeps its time priority. */
export function reduceResting(book: MatchingBook, order: EngineOrder, quantityWh: number): void {
  const [, level] = levelOf(book, order);
  if (!(quantityWh > order.filledWh && quantityWh <= order.quantityWh)) throw new Error(`order ${order.orderId}: cannot reduce to ${quantityWh} Wh in place`);
  level.openWh -= order.quantityWh - quantityWh;
  order.quantityWh = quantityWh;
}

// ---- planning (read-only) ---------------------------------------------------------------------

const EMPTY: readonly EngineOrder[] = [];
/** Shared by every plan without fills (most orders that rest): no array allocated for them. */
const NO_FILLS: readonly MatchFill[] = Object.freeze([]);

/**
 * The state of one walk over the opposite side. A class rather than a closure in planOrder: a
 * closure would be created on every call (and, under some bundlers' keep-names option, renamed too).
 */
class Walk {
  fills: readonly MatchFill[] = NO_FILLS;
  filled = 0;
  selfTrade = false;
  sawLiquidity = false;

  constructor(
    readonly trader: string,
    public remaining: number,
    readonly taken: Map<EngineOrder, number> | null,
  ) {}

  /** Takes what it can from one resting candidate; true when the walk must stop. */
  visit(resting: EngineOrder, priceTicks: number): boolean {
    let available = resting.quantityWh - resting.filledWh;
    if (this.taken !== null) available -= this.taken.get(resting) ?? 0;
    if (available <= 0) return false;
    this.sawLiquidity = true;
    if (resting.traderId === this.trader) {
      this.selfTrade = true;
      return true;
    }
    const remaining = this.remaining;
    const quantityWh = available < remaining ? available : remaining;
    const fill: MatchFill = { resting, quantityWh, priceTicks };
    if (this.fills === NO_FILLS) this.fills = [fill];
    else (this.fills as MatchFill[]).push(fill);
    this.filled += quantityWh;
    this.remaining = remaining - quantityWh;
    return this.remaining === 0;
  }
}

/**
 * What would happen to `order` (its unfilled quantity, `quantityWh - filledWh`) against the book as
 * seen through `overlay`. Reads only: neither the book, its orders nor the overlay change.
 */
export function planOrder(book: MatchingBook, order: EngineOrder, limits: PriceLimits, overlay: PlanOverlay | null = null): MatchPlan {
  const buy = order.side === 'buy';
  const opposite = buy ? book.asks : book.bids;
  const sign = opposite.sign;
  const limit = order.priceTicks ?? (buy ? limits.maxTicks : limits.minTicks);
  /** A resting price p is acceptable iff sign * p >= bound. */
  const bound = sign * limit;
  const walk = new Walk(order.traderId, order.quantityWh - order.filledWh, overlay === null ? null : overlay.takenWh);
  const removed = overlay === null ? null : overlay.removed;
  const added = overlay === null || overlay.added.length === 0 ? EMPTY : oppositeAdded(overlay.added, opposite);
  let ai = 0;

  const keys = opposite.keys;
  const list = opposite.list;
  levels: for (let li = keys.length - 1; walk.remaining > 0; li--) {
    const levelKey = li >= 0 ? keys[li]! : -Infinity;
    // Orders added earlier in the command at a strictly better price come first.
    while (ai < added.length) {
      const candidate = added[ai]!;
      const key = sign * candidate.priceTicks!;
      if (key <= levelKey) break;
      if (key < bound) break levels;
      ai++;
      if (walk.visit(candidate, candidate.priceTicks!)) break levels;
    }
    if (li < 0 || levelKey < bound) break;
    const level = list[li]!;
    const price = level.priceTicks;
    const queue = level.orders;
    for (let k = level.head; k < queue.length; k++) {
      const resting = queue[k]!;
      if (!resting.resting || (removed !== null && removed.has(resting))) continue;
      if (walk.visit(resting, price)) break levels;
    }
    // Then the orders added earlier in the command at this same price (they are younger).
    while (ai < added.length && sign * added[ai]!.priceTicks! === levelKey) {
      const candidate = added[ai++]!;
      if (walk.visit(candidate, price)) break levels;
    }
  }

  const { fills, filled, remaining } = walk;
  if (remaining === 0) return { fills, filledWh: filled, remainingWh: 0, outcome: 'filled', cancelReason: null, refusal: null };
  if (order.orderType === 'fok') return { fills, filledWh: filled, remainingWh: remaining, outcome: 'refused', cancelReason: null, refusal: 'fok_insufficient' };
  if (order.orderType === 'market' && !walk.sawLiquidity) {
    return { fills, filledWh: filled, remainingWh: remaining, outcome: 'refused', cancelReason: null, refusal: 'no_liquidity' };
  }
  if (walk.selfTrade) return { fills, filledWh: filled, remainingWh: remaining, outcome: 'cancelled', cancelReason: 'self_trade_prevented', refusal: null };
  if (order.orderType === 'limit') return { fills, filledWh: filled, remainingWh: remaining, outcome: 'rests', cancelReason: null, refusal: null };
  return { fills, filledWh: filled, remainingWh: remaining, outcome: 'cancelled', cancelReason: 'unfilled_remainder', refusal: null };
}

/** The overlay's added orders on `side`, best price first, then earliest. */
function oppositeAdded(added: readonly EngineOrder[], side: BookSide): EngineOrder[] {
  return added.filter((o) => o.side === side.side && o.status === 'open' && o.priceTicks !== null).sort((a, b) => side.sign * (b.priceTicks! - a.priceTicks!) || a.seq - b.seq);
}

/**
 * Records a plan in the overlay, so that the next order of the same command sees its effect.
 * `order` must be the planner's own object (it is added as resting when the plan rests).
 */
export function recordInOverlay(overlay: PlanOverlay, order: EngineOrder, plan: MatchPlan): void {
  for (const fill of plan.fills) overlay.takenWh.set(fill.resting, (overlay.takenWh.get(fill.resting) ?? 0) + fill.quantityWh);
  if (plan.outcome === 'rests') overlay.added.push(order);
}

// ---- apply --------------------------------------------------------------------------------------

/**
 * Applies a plan made against this very book (no overlay): fills the resting orders, then fills,
 * rests or cancels the incoming one. `order` must not be in the book.
 */
export function applyPlan(book: MatchingBook, order: EngineOrder, plan: MatchPlan): void {
  if (plan.outcome === 'refused') throw new Error(`order ${order.orderId} was refused: there is nothing to apply`);
  const fills = plan.fills;
  for (let i = 0; i < fills.length; i++) {
    const fill = fills[i]!;
    fillResting(book, fill.resting, fill.quantityWh);
  }
  order.filledWh += plan.filledWh;
  if (plan.outcome === 'rests') addResting(book, order);
  else order.status = plan.outcome === 'filled' ? 'filled' : 'cancelled';
}

/**
 * The pure matching function: plans and applies one incoming order (its `seq` is assigned from the
 * book). Deterministic, no I/O. Returns the plan (fills and what became of the order); a refused
 * order changes nothing.
 */
export function submitOrder(book: MatchingBook, order: EngineOrder, limits: PriceLimits): MatchPlan {
  const plan = planOrder(book, order, limits, null);
  if (plan.outcome !== 'refused') {
    order.seq = book.nextSeq++;
    applyPlan(book, order, plan);
  }
  return plan;
}

/** Cancels a resting order (returns false when it does not rest). */
export function cancelResting(book: MatchingBook, order: EngineOrder): boolean {
  if (!order.resting) return false;
  removeResting(book, order, 'cancelled');
  return true;
}

// ---- reading ------------------------------------------------------------------------------------

export type DepthLevel = { priceTicks: number; openWh: number; orders: number };

/** A side's levels, best first. */
export function bookDepth(book: MatchingBook, side: Side): DepthLevel[] {
  const s = sideOf(book, side);
  const out: DepthLevel[] = [];
  for (let i = s.list.length - 1; i >= 0; i--) {
    const level = s.list[i]!;
    out.push({ priceTicks: level.priceTicks, openWh: level.openWh, orders: level.openCount });
  }
  return out;
}

/** A side's resting orders in priority order (best price, then earliest). */
export function restingOrders(book: MatchingBook, side: Side): EngineOrder[] {
  const s = sideOf(book, side);
  const out: EngineOrder[] = [];
  for (let i = s.list.length - 1; i >= 0; i--) {
    const level = s.list[i]!;
    for (let k = level.head; k < level.orders.length; k++) if (level.orders[k]!.resting) out.push(level.orders[k]!);
  }
  return out;
}

export const bestPriceTicks = (book: MatchingBook, side: Side): number | null => {
  const s = sideOf(book, side);
  const n = s.list.length;
  return n === 0 ? null : s.list[n - 1]!.priceTicks;
};

// ---- call auction -------------------------------------------------------------------------------

export type AuctionTrade<O extends EngineOrder> = { readonly buy: O; readonly sell: O; readonly quantityWh: number };

export type AuctionResult<O extends EngineOrder> = {
  /** The uniform price; null when no buy and sell cross. */
  readonly clearingPriceTicks: number | null;
  /** Demand and supply at that price, and the volume that could execute there: min of the two. */
  readonly demandWh: number;
  readonly supplyWh: number;
  readonly executableWh: number;
  /** The volume traded: executableWh, less what only a trader's own orders could have paired. */
  readonly volumeWh: number;
  readonly trades: AuctionTrade<O>[];
};

/**
 * Where an order stands in the auction: a market order at no price (it takes whatever price the
 * limit orders set, and comes before every limit order of its side); a limit order at its limit.
 */
const isMarket = (o: EngineOrder): boolean => o.priceTicks === null;
/** Whether an order may trade at `priceTicks`: a market order at any price, a limit order within its limit. */
const acceptsAuctionPrice = (o: EngineOrder, priceTicks: number): boolean => o.priceTicks === null || (o.side === 'buy' ? o.priceTicks >= priceTicks : o.priceTicks <= priceTicks);
/** Auction priority within a side: market orders first, then the better limit, then the earlier `seq`. */
const auctionPriority = (a: EngineOrder, b: EngineOrder): number => {
  if (isMarket(a) !== isMarket(b)) return isMarket(a) ? -1 : 1;
  const sign = a.side === 'buy' ? -1 : 1;
  return (a.priceTicks === null || b.priceTicks === null ? 0 : sign * (a.priceTicks - b.priceTicks)) || a.seq - b.seq;
};

export type AuctionCurvePoint = { priceTicks: number; demandWh: number; supplyWh: number };

/**
 * Demand (market buys, plus limit buys at or above p) and supply (market sells, plus limit sells at
 * or below p) at each candidate price: every distinct LIMIT price of either side, ascending. Market
 * orders set no price: they count in full at every candidate and add none. Demand and supply only
 * change at these prices: strictly between two candidates a < b, demand is demand(b) and supply is
 * supply(a). No limit order: no candidate, an empty curve (nothing determines a price).
 */
export function auctionCurve(orders: readonly EngineOrder[]): AuctionCurvePoint[] {
  const buys: [number, number][] = [];
  const sells: [number, number][] = [];
  let totalDemand = 0;
  let marketSupply = 0;
  for (const o of orders) {
    const open = o.quantityWh - o.filledWh;
    if (o.status !== 'open' || open <= 0) continue;
    if (o.side === 'buy') {
      totalDemand += open;
      if (o.priceTicks !== null) buys.push([o.priceTicks, open]);
    } else if (o.priceTicks === null) marketSupply += open;
    else sells.push([o.priceTicks, open]);
  }
  if (!Number.isSafeInteger(totalDemand)) throw new Error('auction: the demand is not a safe integer number of Wh');
  const byPrice = (a: [number, number], b: [number, number]) => a[0] - b[0];
  buys.sort(byPrice);
  sells.sort(byPrice);
  const prices = [...new Set([...buys.map((b) => b[0]), ...sells.map((s) => s[0])])].sort((a, b) => a - b);
  const curve: AuctionCurvePoint[] = [];
  let demand = totalDemand;
  let supply = marketSupply;
  let bi = 0;
  let si = 0;
  for (const p of prices) {
    while (bi < buys.length && buys[bi]![0] < p) demand -= buys[bi++]![1];
    while (si < sells.length && sells[si]![0] <= p) supply += sells[si++]![1];
    curve.push({ priceTicks: p, demandWh: demand, supplyWh: supply });
  }
  return curve;
}

/**
 * The clearing price, chosen among EVERY tick from the lowest to the highest limit price in the
 * book, either side (demand and supply are constant between two consecutive candidate prices, so
 * the ticks are handled as ranges, never one by one). Market orders never widen that range: a
 * market order accepts any price, so it cannot say which one; the product's price limits are never
 * a clearing price unless a limit order stands there.
 * 1. the largest executable volume min(demand, supply): what an auction is for;
 * 2. then the smallest surplus |demand − supply|: the fewest orders at the price left unfilled;
 * 3. then market pressure: when demand exceeds supply at every remaining price, the highest (the
 *    excess buyers bid the price up to the last buyer's limit); when supply exceeds demand at all
 *    of them, the lowest. Both are always a limit order's price (a market order has none);
 * 4. otherwise (no surplus, or surpluses of both signs): the midpoint of the lowest and highest
 *    remaining prices, rounded down to a tick, or the remaining price nearest to it (the lower of
 *    two equally near). A single buy at 105 and sell at 95 clear at 100: the gain from trade is
 *    split, neither side is systematically favoured (taking the lowest would always favour buyers).
 * Returns null when no volume can execute, and when no limit order is in the book (market orders
 * alone determine no price: they do not trade and expire at the gate; there is no reference price).
 */
export function clearingPoint(curve: readonly AuctionCurvePoint[]): AuctionCurvePoint | null {
  // Ranges of ticks with the same demand and supply: each candidate, and the ticks strictly between
  // two consecutive candidates (demand of the upper one, supply of the lower one). Outside the
  // candidates no limit order stands at a price: only market orders could trade there, and they set
  // none, so those ticks are never candidates.
  type Range = { lo: number; hi: number; demandWh: number; supplyWh: number };
  const ranges: Range[] = [];
  curve.forEach((c, i) => {
    ranges.push({ lo: c.priceTicks, hi: c.priceTicks, demandWh: c.demandWh, supplyWh: c.supplyWh });
    const next = curve[i + 1];
    if (next !== undefined && next.priceTicks - c.priceTicks >= 2) {
      ranges.push({ lo: c.priceTicks + 1, hi: next.priceTicks - 1, demandWh: next.demandWh, supplyWh: c.supplyWh });
    }
  });
  let best = 0;
  for (const r of ranges) best = Math.max(best, Math.min(r.demandWh, r.supplyWh));
  if (best === 0) return null;
  let remaining = ranges.filter((r) => Math.min(r.demandWh, r.supplyWh) === best);
  const surplus = (r: Range) => Math.abs(r.demandWh - r.supplyWh);
  const least = Math.min(...remaining.map(surplus));
  remaining = remaining.filter((r) => surplus(r) === least);
  const at = (r: Range, priceTicks: number): AuctionCurvePoint => ({ priceTicks, demandWh: r.demandWh, supplyWh: r.supplyWh });
  const first = remaining[0]!;
  const last = remaining[remaining.length - 1]!;
  if (remaining.every((r) => r.demandWh > r.supplyWh)) return at(last, last.hi);
  if (remaining.every((r) => r.demandWh < r.supplyWh)) return at(first, first.lo);
  const mid = Math.floor((first.lo + last.hi) / 2);
  let chosen = first;
  let chosenPrice = first.lo;
  for (const r of remaining) {
    const p = Math.min(Math.max(mid, r.lo), r.hi);
    if (Math.abs(p - mid) < Math.abs(chosenPrice - mid)) {
      chosen = r;
      chosenPrice = p;
    }
  }
  return at(chosen, chosenPrice);
}

/**
 * The call auction over the open orders (each for its unfilled quantity), a uniform-price auction in
 * which market orders are price-takers. Pure: the orders are not changed.
 *
 * Price: `clearingPoint`, set by the limit orders alone; market orders count in the volume at every
 * price. Allocation at that price: every market order and every buy at or above it and every sell
 * at or below it is eligible; each side is served in priority: market orders first (they accept
 * any price, so they go before every limit, in time order among themselves), then the better limit
 * price, then the earlier `seq`. So on the long side the orders exactly at the clearing price are
 * rationed by time, earlier first, the last one served partially; and when market orders alone
 * exceed the other side, they take all of it and no limit order of their side trades.
 *
 * Self-trades: buys are paired with sells in that priority, each buy taking the first sells with
 * volume left that belong to ANOTHER trader (a trader's own sell is skipped, and keeps its place for
 * the next buyer). When volume is left on both sides after that, all of it belongs to one trader
 * (any other pair would have been taken); it is then re-routed through the earlier trades between
 * two other traders (X bought s from Y becomes X from the trader and the trader from Y, the same
 * uniform price), which pairs as much as can be paired at all: what stays unpaired is volume only
 * the trader's own orders could have taken. No trade ever has buyer == seller, and the traded
 * volume is the executable volume whenever no trader is on both sides.
 */
export function clearAuction<O extends EngineOrder>(orders: readonly O[]): AuctionResult<O> {
  const point = clearingPoint(auctionCurve(orders));
  if (point === null) return { clearingPriceTicks: null, demandWh: 0, supplyWh: 0, executableWh: 0, volumeWh: 0, trades: [] };
  const price = point.priceTicks;
  const open = (o: O) => o.status === 'open' && o.quantityWh > o.filledWh;
  const buys = orders.filter((o) => o.side === 'buy' && open(o) && acceptsAuctionPrice(o, price)).sort(auctionPriority);
  const sells = orders.filter((o) => o.side === 'sell' && open(o) && acceptsAuctionPrice(o, price)).sort(auctionPriority);
  const buyLeft = buys.map((o) => o.quantityWh - o.filledWh);
  const sellLeft = sells.map((o) => o.quantityWh - o.filledWh);

  type Pair = { buy: number; sell: number; quantityWh: number };
  let pairs: Pair[] = [];
  let firstSell = 0;
  for (let b = 0; b < buys.length; b++) {
    const trader = buys[b]!.traderId;
    for (let s = firstSell; s < sells.length && buyLeft[b]! > 0; s++) {
      if (sellLeft[s] === 0 || sells[s]!.traderId === trader) continue;
      const q = Math.min(buyLeft[b]!, sellLeft[s]!);
      pairs.push({ buy: b, sell: s, quantityWh: q });
      buyLeft[b]! -= q;
      sellLeft[s]! -= q;
    }
    while (firstSell < sells.length && sellLeft[firstSell] === 0) firstSell++;
  }

  // Volume left on both sides belongs to one trader: re-route it through other traders' pairs.
  const leftBuys = buyLeft.flatMap((q, i) => (q > 0 ? [i] : []));
  const leftSells = sellLeft.flatMap((q, i) => (q > 0 ? [i] : []));
  if (leftBuys.length > 0 && leftSells.length > 0) {
    const trader = buys[leftBuys[0]!]!.traderId;
    let bi = 0;
    let si = 0;
    const rerouted: Pair[] = [];
    for (const pair of pairs) {
      rerouted.push(pair);
      if (buys[pair.buy]!.traderId === trader || sells[pair.sell]!.traderId === trader) continue;
      while (pair.quantityWh > 0 && bi < leftBuys.length && si < leftSells.length) {
        const ownBuy = leftBuys[bi]!;
        const ownSell = leftSells[si]!;
        const q = Math.min(pair.quantityWh, buyLeft[ownBuy]!, sellLeft[ownSell]!);
        pair.quantityWh -= q;
        rerouted.push({ buy: pair.buy, sell: ownSell, quantityWh: q }, { buy: ownBuy, sell: pair.sell, quantityWh: q });
        buyLeft[ownBuy]! -= q;
        sellLeft[ownSell]! -= q;
        if (buyLeft[ownBuy] === 0) bi++;
        if (sellLeft[ownSell] === 0) si++;
      }
    }
    // Merge the pieces of the same buy/sell pair, in the order they first appear.
    const merged = new Map<string, Pair>();
    for (const pair of rerouted) {
      if (pair.quantityWh === 0) continue;
      const key = `${pair.buy}/${pair.sell}`;
      const seen = merged.get(key);
      if (seen) seen.quantityWh += pair.quantityWh;
      else merged.set(key, { ...pair });
    }
    pairs = [...merged.values()];
  }

  const trades = pairs.map((p) => ({ buy: buys[p.buy]!, sell: sells[p.sell]!, quantityWh: p.quantityWh }));
  const volumeWh = trades.reduce((sum, t) => sum + t.quantityWh, 0);
  return {
    clearingPriceTicks: volumeWh === 0 ? null : price,
    demandWh: point.demandWh,
    supplyWh: point.supplyWh,
    executableWh: Math.min(point.demandWh, point.supplyWh),
    volumeWh,
    trades,
  };
}
