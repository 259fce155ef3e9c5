import { createHash } from 'node:crypto';
import {
  Decimal,
  DomainError,
  formatInstant,
  InvalidCommand,
  marketZoneDecider,
  marketZoneStreamId,
  canonicalInstant,
  orderBookDecider,
  orderBookStreamId,
  parseDecimal,
  productFor,
  UnknownParticipant,
  UnknownSite,
  checkSiteId,
  siteDecider,
  siteStreamId,
  type MarketZoneCommand,
  type MarketZoneEvent,
  type OrderBookCommand,
  orderOutcomes,
  type OrderBookEvent,
  type OrderOutcome,
  type OrderRequest,
  type OrderType,
  type ProductSpec,
  type Side,
} from '@v2g/domain';
import { checkRecordedCommand, type EventStore } from '@v2g/event-store';
import type { CommandContext, CommandHandler, HandleResult } from '../../command-handler.ts';
import { checkKnownAccount } from '../billing/index.ts';

export type MarketServiceOptions = {
  /** Epoch ms now; tests and benchmarks drive their own clock. */
  clock?: () => number;
  /** Called once a book is known to be open (after each accepted submit): the gate scheduler listens. */
  onBookOpen?: (book: OpenBookRef) => void;
};

/** Which book: a zone's product delivered over [deliveryStart, deliveryStart + lengthMinutes). */
export type BookRef = { zone: string; deliveryStart: string; lengthMinutes: number };

export type OpenBookRef = BookRef & { streamId: string; gateClosureAt: string };

/** An order as a client sends it: kWh (converted exactly to Wh), a price in minor units per MWh. */
export type OrderInput = {
  clientOrderId: string;
  traderId: string;
  side: Side;
  orderType: OrderType;
  /** A decimal string, a whole number of Wh (e.g. "1.5" is 1500 Wh; "0.0005" is refused). */
  quantityKWh: string;
  /** null for a market order. */
  limitPriceMinorPerMWh: string | null;
};

export type SubmitOrdersInput = BookRef & { orders: OrderInput[] };

export type AmendOrderInput = BookRef & {
  orderId: string;
  traderId: string;
  /** The new total quantity, kWh; null keeps it. */
  quantityKWh: string | null;
  /** The new limit price; null keeps it. */
  limitPriceMinorPerMWh: string | null;
};

export type CancelOrderInput = BookRef & { orderId: string; traderId: string };

export type MarketHandled = HandleResult<OrderBookEvent> & { streamId: string };

/** An event a market command recorded, with its log position (null when the store gave none). */
export type RecordedBookEvent = { event: OrderBookEvent; position: bigint | null };

export type SubmitOrdersResult = MarketHandled & {
  /** The ids the book knows the orders by, in the order sent: `<commandId>:<index>` (see orderIdFor). */
  orderIds: string[];
};

/** A command as a caller sends it: without its time, which is the ledger's clock. */
type WithoutTime<C> = C extends { at: string } ? Omit<C, 'at' | 'type'> : never;

/** Whole Wh from a kWh decimal string, exactly; `field` names the input in the error. */
export function kWhToWh(field: string, quantityKWh: string): string {
  const kWh = parseDecimal(field, quantityKWh);
  if (!kWh.isPositive() || kWh.isZero()) throw new InvalidCommand(field, `${quantityKWh} kWh: a quantity must be positive`);
  const wh = kWh.times(1000);
  if (!wh.isInteger()) throw new InvalidCommand(field, `${quantityKWh} kWh is not a whole number of Wh`);
  return wh.toFixed();
}

/** Wh as kWh, exactly (a decimal string). */
export function whToKWh(wh: string): string {
  return new Decimal(wh).div(1000).toFixed();
}

const SAFE_COMMAND_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,52}$/;

/**
 * The id of the index-th order of a submit command: `<commandId>:<index>`, deterministic, so a
 * retry names the same orders. Order ids follow the market's id rule (1-64 letters, digits or
 * _ . : @ -); a command id that cannot be part of one (too long, other characters) is replaced by
 * `h` and 40 hex digits of its SHA-256.
 */
export function orderIdFor(commandId: string, index: number): string {
  const base = SAFE_COMMAND_ID.test(commandId) ? commandId : `h${createHash('sha256').update(commandId).digest('hex').slice(0, 40)}`;
  return `${base}:${index}`;
}

/**
 * The market's use cases. A zone (`marketzone-<zone>`) says which products it trades and who may
 * trade; each product instance is a book (`market-<zone>-<start>-<m>m`). Submitting orders
 * resolves the product from the zone's templates, checks that every trader is a registered
 * participant, names the orders after the command id, and hands the batch to the book's decider,
 * which matches it and records the orders and trades in one append (all or nothing).
 *
 * Commands on one book run one at a time in this process (a promise chain per book), so a burst of
 * orders on a busy book queues instead of deciding on stale state and retrying on version
 * conflicts. A book is written by one process (zones are the unit of sharding); another writer
 * is still safe: the command handler decides again on a conflict.
 *
 * Anything refused (malformed input, an unknown product or participant, the decider's own
 * refusals) throws before the append: nothing is written.
 */
export class MarketService {
  private readonly clock: () => number;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    private readonly options: MarketServiceOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  now(): number {
    return this.clock();
  }

  // ---- the zone ----------------------------------------------------------------------------------

  configureZone(command: WithoutTime<Extract<MarketZoneCommand, { type: 'ConfigureMarketZone' }>>, context: CommandContext): Promise<HandleResult<MarketZoneEvent>> {
    return this.zoneCommand({ ...command, type: 'ConfigureMarketZone', at: this.at() }, context);
  }

  registerParticipant(command: WithoutTime<Extract<MarketZoneCommand, { type: 'RegisterParticipant' }>>, context: CommandContext): Promise<HandleResult<MarketZoneEvent>> {
    return this.zoneCommand({ ...command, type: 'RegisterParticipant', at: this.at() }, context);
  }

  /**
   * The member must exist: a fleet or customer is an account the ledger knows (ACCOUNT_NOT_FOUND
   * naming memberId), a site a registered one (UNKNOWN_SITE), so that a mistyped id cannot hand
   * nobody's energy to a participant while the real member's stays unclaimed.
   */
  async assignPortfolioMember(
    command: WithoutTime<Extract<MarketZoneCommand, { type: 'AssignPortfolioMember' }>>,
    context: CommandContext,
  ): Promise<HandleResult<MarketZoneEvent>> {
    const assign: MarketZoneCommand = { ...command, type: 'AssignPortfolioMember', at: this.at() };
    if (!(await this.store.commandResult(context.commandId))) {
      // The form and the zone's own refusals first, then whether the member exists.
      marketZoneDecider.decide(assign, (await this.loadZone(command.zone)).state);
      if (command.memberKind === 'site') {
        const { state: site } = await this.commands.load(siteDecider, siteStreamId(checkSiteId(command.memberId)));
        if (site.status !== 'registered') throw new UnknownSite(command.memberId);
      } else {
        await checkKnownAccount(this.commands, 'memberId', command.memberId);
      }
    }
    return this.zoneCommand(assign, context);
  }

  async loadZone(zone: string) {
    return this.commands.load(marketZoneDecider, marketZoneStreamId(zone));
  }

  private zoneCommand(command: MarketZoneCommand, context: CommandContext): Promise<HandleResult<MarketZoneEvent>> {
    return this.commands.handle(marketZoneDecider, marketZoneStreamId(command.zone), command, context);
  }

  // ---- the books -----------------------------------------------------------------------------------

  /** The book's stream id; deliveryStart in any UTC form ("…T10:00Z", "…T10:00:00.000Z"). */
  streamIdOf(book: BookRef): string {
    return orderBookStreamId(book.zone, canonicalInstant('deliveryStart', book.deliveryStart), book.lengthMinutes);
  }

  /**
   * The book's state now. The book's evolve updates a state in place (it takes ownership), and the
   * command handler caches the state it loads: loading runs in the book's queue like its commands,
   * so no load folds events into a state a command is deciding on. Do not keep the state.
   */
  async loadBook(book: BookRef) {
    const streamId = this.streamIdOf(book);
    return this.serially(streamId, () => this.commands.load(orderBookDecider, streamId));
  }

  /**
   * Submits a batch of orders to one book, atomically: every order is accepted (and matched) or
   * none is, at the ledger's now: the book's opening and gate are judged by its clock, never a client's.
   */
  async submitOrders(input: SubmitOrdersInput, context: CommandContext): Promise<SubmitOrdersResult> {
    const streamId = this.streamIdOf(input);
    const orderIds = input.orders.map((_, i) => orderIdFor(context.commandId, i));
    let command: OrderBookCommand;
    let product: ProductSpec;
    try {
      if (input.orders.length === 0) throw new InvalidCommand('orders', 'a submit holds at least one order');
      const orders: OrderRequest[] = input.orders.map((order, i) => ({
        orderId: orderIds[i]!,
        clientOrderId: order.clientOrderId,
        traderId: order.traderId,
        side: order.side,
        orderType: order.orderType,
        quantityWh: kWhToWh(`orders[${i}].quantityKWh`, order.quantityKWh),
        limitPriceMinorPerMWh: order.limitPriceMinorPerMWh,
      }));
      const { state: zone } = await this.loadZone(input.zone);
      const deliveryStart = canonicalInstant('deliveryStart', input.deliveryStart);
      product = productFor(zone, deliveryStart, input.lengthMinutes);
      for (const order of orders) {
        if (!zone.participants.has(order.traderId)) throw new UnknownParticipant(input.zone, order.traderId);
      }
      command = { type: 'SubmitOrders', at: this.at(), product, orders };
    } catch (error) {
      // A retry of a recorded command gets the recorded result, even if the zone has changed since.
      const retried = error instanceof DomainError ? await this.recorded(streamId, context) : null;
      if (retried) return { ...retried, streamId, orderIds };
      throw error;
    }
    const handled = await this.serially(streamId, () => this.commands.handle(orderBookDecider, streamId, command, context));
    if (handled.events.length > 0) {
      this.options.onBookOpen?.({ zone: input.zone, deliveryStart: product.deliveryStart, lengthMinutes: input.lengthMinutes, streamId, gateClosureAt: product.gateClosureAt });
    }
    return { ...handled, streamId, orderIds };
  }

  /** Lowers a quantity (keeps time priority), raises it or changes the price (loses it). */
  async amendOrder(input: AmendOrderInput, context: CommandContext): Promise<MarketHandled> {
    const streamId = this.streamIdOf(input);
    let command: OrderBookCommand;
    try {
      if (input.quantityKWh === null && input.limitPriceMinorPerMWh === null) {
        throw new InvalidCommand('quantityKWh', 'an amendment changes the quantity, the price or both');
      }
      command = {
        type: 'AmendOrder',
        at: this.at(),
        orderId: input.orderId,
        traderId: input.traderId,
        quantityWh: input.quantityKWh === null ? null : kWhToWh('quantityKWh', input.quantityKWh),
        limitPriceMinorPerMWh: input.limitPriceMinorPerMWh,
      };
    } catch (error) {
      const retried = error instanceof DomainError ? await this.recorded(streamId, context) : null;
      if (retried) return { ...retried, streamId };
      throw error;
    }
    return { ...(await this.serially(streamId, () => this.commands.handle(orderBookDecider, streamId, command, context))), streamId };
  }

  async cancelOrder(input: CancelOrderInput, context: CommandContext): Promise<MarketHandled> {
    const streamId = this.streamIdOf(input);
    const command: OrderBookCommand = { type: 'CancelOrder', at: this.at(), orderId: input.orderId, traderId: input.traderId };
    return { ...(await this.serially(streamId, () => this.commands.handle(orderBookDecider, streamId, command, context))), streamId };
  }

  /** At or after the gate closure: runs the auction (auction mode) and expires what rests. */
  async closeGate(input: BookRef, context: CommandContext): Promise<MarketHandled> {
    const streamId = this.streamIdOf(input);
    const command: OrderBookCommand = { type: 'CloseGate', at: this.at() };
    return { ...(await this.serially(streamId, () => this.commands.handle(orderBookDecider, streamId, command, context))), streamId };
  }

  /**
   * What a market command recorded, with log positions: the events it decided now, or, for a
   * command sent again, the ones recorded the first time (read back from the book's stream).
   */
  async recordedEvents(handled: MarketHandled): Promise<RecordedBookEvent[]> {
    const { result } = handled;
    if (!result.duplicate) {
      const first = result.firstPosition;
      return handled.events.map((event, i) => ({ event, position: first === null ? null : first + BigInt(i) }));
    }
    if (result.firstVersion === null) return [];
    const events = await this.store.readStream(result.streamId, { fromVersion: result.firstVersion, limit: result.nextExpectedVersion - result.firstVersion + 1 });
    return events.map((e) => ({ event: { type: e.type, data: e.data } as OrderBookEvent, position: e.globalPosition }));
  }

  /** A submit's outcome: what it recorded and each of its orders as it left them (orderOutcomes). */
  async submitOutcome(handled: MarketHandled): Promise<{ recorded: RecordedBookEvent[]; orders: OrderOutcome[] }> {
    const recorded = await this.recordedEvents(handled);
    return { recorded, orders: orderOutcomes(recorded.map((r) => r.event)) };
  }

  /** Every market command's time: the ledger's clock (an order's time is not a fact a client states). */
  private at(): string {
    return formatInstant(this.clock());
  }

  /** The recorded outcome of this command id on this stream, if it was recorded. */
  private async recorded(streamId: string, context: CommandContext): Promise<HandleResult<OrderBookEvent> | null> {
    const recorded = await this.store.commandResult(context.commandId);
    if (!recorded) return null;
    checkRecordedCommand(recorded, context.commandId, streamId, context.fingerprint);
    return { result: recorded, events: [] };
  }

  /** Runs `fn` after every earlier command on the same book in this process has finished. */
  private serially<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(streamId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.queues.set(streamId, tail);
    void tail.then(() => {
      if (this.queues.get(streamId) === tail) this.queues.delete(streamId);
    });
    return run;
  }
}
