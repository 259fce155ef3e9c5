import { randomUUID } from 'node:crypto';
import {
  marketZoneDecider,
  marketZoneStreamId,
  orderBookDecider,
  orderBookStreamId,
  productFor,
  type MarketZoneCommand,
  type OrderBookCommand,
  type OrderRequest,
} from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';
import { ProjectionRunner, type TableNames } from '@v2g/read-model';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MARKET_TABLES, marketProjection } from './market-projection.ts';
import { bookDepth, countOrders, countTrades, findBook, findOrder, listOrders, listTrades, openBooks, participantsOfZone, traderPositions } from './market-queries.ts';
import { caughtUp, continuousQuarterHour, describeProjectionSuite, expectSameRows, startProjection, type ProjectionTarget, type RunningProjection } from '@v2g/testing';

const logger = pino({ level: 'silent' });

type Target = ProjectionTarget<'bigBatches' | 'byEvent'>;

describeProjectionSuite('market', ['bigBatches', 'byEvent'], marketSuite);

const CONTINUOUS = continuousQuarterHour({ maxQuantityWh: '10000000', openMinutes: 24 * 60 });

const DELIVERY = '2026-11-28T10:00:00.000Z';
const BEFORE = '2026-11-28T09:00:00.000Z';
const GATE_PASSED = '2026-11-28T09:56:00.000Z';

function marketSuite(open: () => Promise<Target>) {
  let target: Target;
  let store: EventStore;
  let runner: ProjectionRunner;
  let table: TableNames;
  // Fresh ids for every run: the server keeps what earlier runs wrote in other schemas.
  const tag = randomUUID().slice(0, 8).toUpperCase();
  const zone = `Z${tag}`;
  const [A, B, C] = ['alice', 'bob', 'carol'].map((name) => `${name}-${tag}`) as [string, string, string];
  const streamId = orderBookStreamId(zone, DELIVERY, 15);
  let zoneState = marketZoneDecider.initialState();
  const books = new Map<string, { state: ReturnType<typeof orderBookDecider.initialState>; version: number }>();
  let zoneVersion = 0;
  let lastPosition = 0n;
  let n = 0;

  let running: RunningProjection<Target> | undefined;
  beforeAll(async () => {
    running = await startProjection(open, marketProjection, logger);
    ({ target, store, runner, table } = running);
  });
  afterAll(() => running?.stop());

  async function zoneCommand(command: MarketZoneCommand): Promise<void> {
    const events = marketZoneDecider.decide(command, zoneState);
    const result = await store.append(marketZoneStreamId(zone), events, {
      expectedVersion: zoneVersion === 0 ? 'no_stream' : zoneVersion,
      commandId: randomUUID(),
      actor: 'market-int',
    });
    zoneState = events.reduce(marketZoneDecider.evolve, zoneState);
    zoneVersion = result.nextExpectedVersion;
    lastPosition = result.lastPosition ?? lastPosition;
  }

  /** Decides a book command on the state so far and appends what it emits. */
  async function bookCommand(command: OrderBookCommand, delivery = DELIVERY): Promise<string[]> {
    const id = orderBookStreamId(zone, delivery, 15);
    const book = books.get(id) ?? { state: orderBookDecider.initialState(), version: 0 };
    const events = orderBookDecider.decide(command, book.state);
    const result = await store.append(id, events, { expectedVersion: book.version === 0 ? 'no_stream' : book.version, commandId: randomUUID(), actor: 'market-int' });
    books.set(id, { state: events.reduce(orderBookDecider.evolve, book.state), version: result.nextExpectedVersion });
    lastPosition = result.lastPosition ?? lastPosition;
    return events.map((e) => e.type);
  }

  const order = (traderId: string, side: 'buy' | 'sell', quantityWh: string, price: string | null, orderType: OrderRequest['orderType'] = 'limit'): OrderRequest => {
    n += 1;
    return { orderId: `o${n}`, clientOrderId: `c${n}`, traderId, side, orderType, quantityWh, limitPriceMinorPerMWh: price };
  };
  const submit = (at: string, ...orders: OrderRequest[]) => submitTo(DELIVERY, at, ...orders);
  const submitTo = (delivery: string, at: string, ...orders: OrderRequest[]) =>
    bookCommand({ type: 'SubmitOrders', at, product: productFor(zoneState, delivery, 15), orders }, delivery);

  it('projects depth, best prices, orders, the tape and positions from decided events', async () => {
    await zoneCommand({ type: 'ConfigureMarketZone', at: BEFORE, zone, currency: 'EUR', imbalancePriceZone: zone, products: [CONTINUOUS] });
    for (const [id, name] of [
      [A, 'Alice'],
      [B, 'Bob'],
      [C, 'Carol'],
    ] as const)
      await zoneCommand({ type: 'RegisterParticipant', at: BEFORE, zone, participantId: id, name });
    await zoneCommand({ type: 'AssignPortfolioMember', at: BEFORE, zone, participantId: A, memberKind: 'fleet', memberId: `fleet-${tag}`, validFrom: BEFORE });

    // Two asks rest; a bid crosses both: 10 kWh at 5000 (A), then 2 kWh at 5100 (B), at the resting prices.
    await submit('2026-11-28T09:01:00.000Z', order(A, 'sell', '10000', '5000'), order(B, 'sell', '5000', '5100'));
    expect(await submit('2026-11-28T09:02:00.000Z', order(C, 'buy', '12000', '5200'))).toEqual(['OrderAccepted', 'TradeExecuted', 'TradeExecuted']);
    // Bids rest below the ask; an IOC sell takes 3 kWh of the oldest best bid (A's).
    await submit('2026-11-28T09:03:00.000Z', order(A, 'buy', '4000', '4900'), order(C, 'buy', '1000', '4800'), order(C, 'buy', '2000', '4900'));
    expect(await submit('2026-11-28T09:04:00.000Z', order(B, 'sell', '3000', '4900', 'ioc'))).toEqual(['OrderAccepted', 'TradeExecuted']);
    // A lowers its bid (keeps priority); C cancels its 4800 bid; an IOC that meets nothing is cancelled whole.
    await bookCommand({ type: 'AmendOrder', at: '2026-11-28T09:05:00.000Z', orderId: 'o4', traderId: A, quantityWh: '3500', limitPriceMinorPerMWh: null });
    await bookCommand({ type: 'CancelOrder', at: '2026-11-28T09:06:00.000Z', orderId: 'o5', traderId: C });
    expect(await submit('2026-11-28T09:07:00.000Z', order(B, 'sell', '1000', '4950', 'ioc'))).toEqual(['OrderAccepted', 'OrderCancelled']);
    await caughtUp(runner, lastPosition);

    const book = await findBook(target.sql, table, { zone, deliveryStart: DELIVERY, lengthMinutes: 15 });
    expect(book).toMatchObject({
      bookId: streamId,
      zone,
      currency: 'EUR',
      deliveryStart: DELIVERY,
      deliveryEnd: '2026-11-28T10:15:00.000Z',
      lengthMinutes: 15,
      mode: 'continuous',
      status: 'open',
      gateClosureAt: '2026-11-28T09:55:00.000Z',
      tickMinorPerMWh: '1',
      bestBidMinorPerMWh: '4900',
      bestAskMinorPerMWh: '5100',
      tradedWh: '15000',
      tradeCount: 3n,
      lastPriceMinorPerMWh: '4900',
    });
    expect(await bookDepth(target.sql, table, streamId)).toEqual({
      // o4: 4000 − 3000 (amended to 3500 total, 3000 filled by the IOC) = 500; o6: 2000.
      bids: [{ priceMinorPerMWh: '4900', quantityWh: '2500', orders: 2 }],
      asks: [{ priceMinorPerMWh: '5100', quantityWh: '3000', orders: 1 }],
    });
    expect(await bookDepth(target.sql, table, streamId, 1)).toEqual(await bookDepth(target.sql, table, streamId));

    expect(await findOrder(target.sql, table, streamId, 'o4')).toMatchObject({
      traderId: A,
      side: 'buy',
      orderType: 'limit',
      limitPriceMinorPerMWh: '4900',
      quantityWh: '3500',
      filledWh: '3000',
      remainingWh: '500',
      cancelledWh: '0',
      status: 'open',
      acceptedAt: '2026-11-28T09:03:00.000Z',
      priorityAt: '2026-11-28T09:03:00.000Z',
    });
    expect(await findOrder(target.sql, table, streamId, 'o3')).toMatchObject({ status: 'filled', filledWh: '12000', remainingWh: '0' });
    expect(await findOrder(target.sql, table, streamId, 'o5')).toMatchObject({ status: 'cancelled', cancelReason: 'cancelled_by_trader', cancelledWh: '1000', remainingWh: '0' });
    expect(await findOrder(target.sql, table, streamId, 'o7')).toMatchObject({ orderType: 'ioc', status: 'filled', filledWh: '3000', cancelledWh: '0' });
    expect(await findOrder(target.sql, table, streamId, 'o8')).toMatchObject({
      orderType: 'ioc',
      status: 'cancelled',
      cancelReason: 'unfilled_remainder',
      filledWh: '0',
      cancelledWh: '1000',
    });

    const tape = await listTrades(target.sql, table, { bookId: streamId }, { first: 10 });
    // Each trade's amount in whole cents, half-even (tradeAmountMinor): 50, 10.2 → 10, 14.7 → 15.
    expect(tape.nodes.map((t) => [t.sellerId, t.buyerId, t.quantityWh, t.priceMinorPerMWh, t.aggressorSide, t.amountMinor])).toEqual([
      [A, C, '10000', '5000', 'buy', '50'],
      [B, C, '2000', '5100', 'buy', '10'],
      [B, A, '3000', '4900', 'sell', '15'],
    ]);
    const newest = await listTrades(target.sql, table, { bookId: streamId }, { first: 2, newestFirst: true });
    expect(newest.nodes.map((t) => t.priceMinorPerMWh)).toEqual(['4900', '5100']);
    expect(newest.hasNextPage).toBe(true);
    const rest = await listTrades(target.sql, table, { bookId: streamId }, { first: 2, newestFirst: true, after: newest.nodes.at(-1)!.position });
    expect(rest).toMatchObject({ hasNextPage: false, nodes: [{ priceMinorPerMWh: '5000' }] });
    expect((await listTrades(target.sql, table, { traderId: B }, { first: 10 })).nodes.map((t) => t.quantityWh)).toEqual(['2000', '3000']);
    expect(await countTrades(target.sql, table, { traderId: C })).toBe(2n);

    expect((await listOrders(target.sql, table, { traderId: C, status: 'open' }, { first: 10 })).nodes.map((o) => o.orderId)).toEqual(['o6']);
    expect(await countOrders(target.sql, table, { traderId: C })).toBe(3n);
    const page = await listOrders(target.sql, table, { bookId: streamId }, { first: 4 });
    expect(page.hasNextPage).toBe(true);
    expect((await listOrders(target.sql, table, { bookId: streamId }, { first: 4, after: page.nodes.at(-1)!.acceptedPosition })).nodes.map((o) => o.orderId)).toEqual([
      'o5',
      'o6',
      'o7',
      'o8',
    ]);

    const range = { from: '2026-11-28T00:00:00Z', to: '2026-11-29T00:00:00Z' };
    expect(await traderPositions(target.sql, table, C, range)).toEqual([
      {
        traderId: C,
        zone,
        currency: 'EUR',
        deliveryStart: DELIVERY,
        deliveryEnd: '2026-11-28T10:15:00.000Z',
        boughtWh: '12000',
        soldWh: '0',
        contractedWh: '-12000',
        // 10 kWh × 50.00 EUR/MWh + 2 kWh × 51.00 EUR/MWh: 50 + 10 cents (10.2 rounded per trade, as settled).
        boughtAmountMinor: '60',
        soldAmountMinor: '0',
        tradeAmountMinor: '-60',
        averageBuyPriceMinorPerMWh: '5016.6667',
        averageSellPriceMinorPerMWh: null,
        averagePriceMinorPerMWh: '5016.6667',
        tradeCount: 2n,
      },
    ]);
    expect(await traderPositions(target.sql, table, B, range)).toMatchObject([
      { boughtWh: '0', soldWh: '5000', contractedWh: '5000', soldAmountMinor: '25', tradeAmountMinor: '25', averageSellPriceMinorPerMWh: '4980' },
    ]);
    expect(await traderPositions(target.sql, table, A, range)).toMatchObject([
      { boughtWh: '3000', soldWh: '10000', contractedWh: '7000', boughtAmountMinor: '15', soldAmountMinor: '50', tradeAmountMinor: '35', averagePriceMinorPerMWh: '4976.9231' },
    ]);
    expect(await traderPositions(target.sql, table, A, { from: '2026-11-28T10:15:00Z', to: '2026-11-28T11:00:00Z' })).toEqual([]);
    // Buy fills equal sell fills.
    const all = await Promise.all([A, B, C].map((id) => traderPositions(target.sql, table, id, range)));
    const sum = (key: 'boughtWh' | 'soldWh') => all.flat().reduce((s, p) => s + BigInt(p[key]), 0n);
    expect(sum('boughtWh')).toBe(sum('soldWh'));

    expect((await participantsOfZone(target.sql, table, zone)).map((p) => p.name)).toEqual(['Alice', 'Bob', 'Carol']);
    expect((await openBooks(target.sql, table)).map((b) => b.bookId)).toContain(streamId);
  });

  it('expires what rests at the gate: the depth empties and the book closes', async () => {
    const events = await bookCommand({ type: 'CloseGate', at: GATE_PASSED });
    expect(events).toEqual(['GateClosed']);
    await caughtUp(runner, lastPosition);
    expect(await bookDepth(target.sql, table, streamId)).toEqual({ bids: [], asks: [] });
    expect(await findBook(target.sql, table, { zone, deliveryStart: DELIVERY, lengthMinutes: 15 })).toMatchObject({
      status: 'closed',
      closedAt: GATE_PASSED,
      bestBidMinorPerMWh: null,
      bestAskMinorPerMWh: null,
    });
    expect(await findOrder(target.sql, table, streamId, 'o4')).toMatchObject({ status: 'expired', remainingWh: '0', cancelledWh: '500', filledWh: '3000' });
    expect(await listOrders(target.sql, table, { bookId: streamId, status: 'open' }, { first: 10 })).toEqual({ nodes: [], hasNextPage: false });
    expect((await openBooks(target.sql, table)).map((b) => b.bookId)).not.toContain(streamId);
    // Conservation: filled + remaining + cancelled = quantity, for every order.
    for (const o of (await listOrders(target.sql, table, { bookId: streamId }, { first: 100 })).nodes) {
      expect(BigInt(o.filledWh) + BigInt(o.remainingWh) + BigInt(o.cancelledWh), o.orderId).toBe(BigInt(o.quantityWh));
    }
  });

  it('keeps the books of other delivery intervals apart', async () => {
    const next = '2026-11-28T10:15:00.000Z';
    await submitTo(next, GATE_PASSED, order(A, 'sell', '2000', '6000'), order(A, 'sell', '1000', '6000'), order(B, 'buy', '500', '5000'), order(C, 'sell', '700', '5900'));
    await submitTo(next, GATE_PASSED, order(B, 'buy', '1000', '5950'));
    await caughtUp(runner, lastPosition);
    const id = orderBookStreamId(zone, next, 15);
    expect(await bookDepth(target.sql, table, id)).toEqual({
      bids: [
        { priceMinorPerMWh: '5950', quantityWh: '300', orders: 1 },
        { priceMinorPerMWh: '5000', quantityWh: '500', orders: 1 },
      ],
      asks: [{ priceMinorPerMWh: '6000', quantityWh: '3000', orders: 2 }],
    });
    expect(await bookDepth(target.sql, table, streamId)).toEqual({ bids: [], asks: [] });
    const range = { from: next, to: '2026-11-28T10:30:00Z' };
    expect(await traderPositions(target.sql, table, B, range)).toMatchObject([{ deliveryStart: next, boughtWh: '700', contractedWh: '-700', averageBuyPriceMinorPerMWh: '5900' }]);
    expect((await traderPositions(target.sql, table, B, { from: DELIVERY, to: range.to })).map((p) => p.deliveryStart)).toEqual([DELIVERY, next]);
  });

  it('rebuilds from zero to identical rows, in one batch or event by event', async () => {
    await expectSameRows(
      { target, store, table },
      lastPosition,
      MARKET_TABLES,
      [
        { name: 'batches of 500', schema: target.schemas.bigBatches, projection: marketProjection, batchSize: 500 },
        { name: 'batches of 1', schema: target.schemas.byEvent, projection: marketProjection, batchSize: 1 },
      ],
      { logger, mayBeEmpty: ['levels'] },
    );
  });
}
