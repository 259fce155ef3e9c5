import { randomUUID } from 'node:crypto';
import { InvalidCommand, ID_PATTERN, orderBookStreamId, UnknownParticipant, UnknownProduct } from '@v2g/domain';
import { MemoryEventStore, SchemaRegistry, type EventStore } from '@v2g/event-store';
import { continuousQuarterHour } from '@v2g/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { CommandHandler } from '../src/command-handler.ts';
import { GateScheduler } from '../src/index.ts';
import { kWhToWh, MarketService, orderIdFor, whToKWh, type OrderInput } from '../src/index.ts';

const T = (hhmm: string) => `2026-11-28T${hhmm}:00.000Z`;

const PRODUCT = continuousQuarterHour({ maxQuantityWh: '1000000', openMinutes: 600 });

describe('kWh to Wh at the edge', () => {
  it('converts exactly and refuses what is not a positive whole number of Wh, naming the field', () => {
    expect(kWhToWh('q', '1.5')).toBe('1500');
    expect(kWhToWh('q', '0.001')).toBe('1');
    expect(kWhToWh('q', '123456789.123')).toBe('123456789123');
    for (const bad of ['0', '-1', '0.0005', '1e3', 'x', '']) {
      expect(() => kWhToWh('orders[2].quantityKWh', bad), bad).toThrow(InvalidCommand);
    }
    try {
      kWhToWh('orders[2].quantityKWh', '-1');
    } catch (error) {
      expect((error as InvalidCommand).details).toMatchObject({ field: 'orders[2].quantityKWh' });
    }
    expect(whToKWh('1500')).toBe('1.5');
    expect(whToKWh('1')).toBe('0.001');
  });

  it('names orders after the command id, within the market id rule, the same on a retry', () => {
    expect(orderIdFor('cmd-1', 3)).toBe('cmd-1:3');
    const odd = orderIdFor('a command id with spaces / and slashes', 0);
    const long = orderIdFor('x'.repeat(200), 999);
    for (const id of [odd, long, orderIdFor(randomUUID(), 12345)]) expect(id).toMatch(ID_PATTERN);
    expect(orderIdFor('x'.repeat(200), 999)).toBe(long);
    expect(orderIdFor('x'.repeat(201), 999)).not.toBe(long);
  });
});

describe('MarketService and GateScheduler (memory store)', () => {
  let store: EventStore;
  let market: MarketService;
  let scheduler: GateScheduler;
  let now: number;
  const zone = 'NL';
  const delivery = T('10:00');
  const book = { zone, deliveryStart: delivery, lengthMinutes: 15 };
  const streamId = orderBookStreamId(zone, delivery, 15);
  const ctx = (commandId: string = randomUUID()) => ({ commandId, actor: 'test' });
  const thrown = async (run: () => Promise<unknown>) =>
    run().then(
      () => undefined,
      (error: unknown) => error,
    );
  let n = 0;
  const order = (traderId: string, side: 'buy' | 'sell', quantityKWh: string, price: string | null, orderType: OrderInput['orderType'] = 'limit'): OrderInput => ({
    clientOrderId: `c${++n}`,
    traderId,
    side,
    orderType,
    quantityKWh,
    limitPriceMinorPerMWh: price,
  });

  beforeEach(async () => {
    store = new MemoryEventStore({ registry: SchemaRegistry.fromDirectory() });
    const commands = new CommandHandler(store);
    now = Date.parse(T('09:00'));
    market = new MarketService(store, commands, { clock: () => now, onBookOpen: (b) => scheduler.watch(b) });
    scheduler = new GateScheduler(market);
    await market.configureZone({ zone, currency: 'EUR', imbalancePriceZone: zone, products: [PRODUCT] }, ctx());
    for (const participantId of ['alice', 'bob']) await market.registerParticipant({ zone, participantId, name: participantId }, ctx());
  });

  it('resolves the product, converts kWh and names the orders; refusals write nothing', async () => {
    const submitted = await market.submitOrders({ ...book, orders: [order('alice', 'sell', '2.5', '5000'), order('bob', 'buy', '1', '5100')] }, ctx('first'));
    expect(submitted.streamId).toBe(streamId);
    expect(submitted.orderIds).toEqual(['first:0', 'first:1']);
    expect(submitted.events.map((e) => e.type)).toEqual(['OrderBookOpened', 'OrderAccepted', 'OrderAccepted', 'TradeExecuted']);
    expect(submitted.events[1]).toMatchObject({ data: { orderId: 'first:0', quantityWh: '2500', acceptedAt: T('09:00') } });
    const version = await store.streamVersion(streamId);

    expect(await thrown(() => market.submitOrders({ ...book, orders: [order('alice', 'sell', '1', '5000'), order('mallory', 'sell', '1', '5000')] }, ctx()))).toBeInstanceOf(
      UnknownParticipant,
    );
    expect(await thrown(() => market.submitOrders({ ...book, lengthMinutes: 60, orders: [order('alice', 'sell', '1', '5000')] }, ctx()))).toBeInstanceOf(UnknownProduct);
    expect(await thrown(() => market.submitOrders({ ...book, orders: [order('alice', 'sell', '0.00001', '5000')] }, ctx()))).toMatchObject({
      details: { field: 'orders[0].quantityKWh' },
    });
    expect(await thrown(() => market.submitOrders({ ...book, orders: [] }, ctx()))).toMatchObject({ details: { field: 'orders' } });
    expect(await store.streamVersion(streamId)).toBe(version);

    // A retry is answered with the recorded result, even one that deciding again would refuse.
    const retried = await market.submitOrders({ ...book, orders: [order('mallory', 'sell', '1', '5000')] }, ctx('first'));
    expect(retried).toMatchObject({ streamId, orderIds: ['first:0'], events: [], result: { duplicate: true, nextExpectedVersion: 4 } });
    expect(await store.streamVersion(streamId)).toBe(version);
  });

  it('queues concurrent commands on one book instead of failing on version conflicts', async () => {
    await market.submitOrders({ ...book, orders: [order('alice', 'sell', '1', '9000')] }, ctx());
    const submits = Array.from({ length: 60 }, (_, i) =>
      market.submitOrders({ ...book, orders: [order(i % 2 === 0 ? 'alice' : 'bob', i % 2 === 0 ? 'sell' : 'buy', '1', String(5000 + (i % 7)))] }, ctx()),
    );
    const results = await Promise.all(submits);
    expect(results.every((r) => r.events.length > 0)).toBe(true);
    const events = await store.readStream(streamId);
    expect(events.filter((e) => e.type === 'OrderAccepted')).toHaveLength(61);
    // The cached state stayed consistent: a cancel of a resting order is decided on the latest book.
    const { state } = await market.loadBook(book);
    const resting = [...state.orders.values()].find((o) => o.status === 'open')!;
    const cancelled = await market.cancelOrder({ ...book, orderId: resting.orderId, traderId: resting.traderId }, ctx());
    expect(cancelled.events.map((e) => e.type)).toEqual(['OrderCancelled']);
  });

  it('closes a gate once its time has passed, by the injected clock, and only once', async () => {
    await market.submitOrders({ ...book, orders: [order('alice', 'sell', '1', '5000')] }, ctx());
    expect(scheduler.watching()).toEqual([streamId]);
    now = Date.parse(T('09:54'));
    expect(await scheduler.closeDue()).toEqual([]);
    now = Date.parse(T('09:55'));
    expect(await scheduler.closeDue()).toEqual([streamId]);
    const events = await store.readStream(streamId);
    expect(events.at(-1)).toMatchObject({
      type: 'GateClosed',
      data: { closedAt: T('09:55'), expired: [{ remainingWh: '1000' }] },
      metadata: { commandId: `close-gate/${streamId}`, actor: 'gate-scheduler' },
    });
    expect(scheduler.watching()).toEqual([]);
    expect(await scheduler.closeDue()).toEqual([]);

    // A book whose gate someone else closed is forgotten without a second event.
    const later = { ...book, deliveryStart: T('10:15') };
    await market.submitOrders({ ...later, orders: [order('bob', 'buy', '1', '4000')] }, ctx());
    now = Date.parse(T('10:11'));
    await market.closeGate(later, ctx());
    const id = orderBookStreamId(zone, T('10:15'), 15);
    const version = await store.streamVersion(id);
    expect(await scheduler.closeDue()).toEqual([]);
    expect(scheduler.watching()).toEqual([]);
    expect(await store.streamVersion(id)).toBe(version);
    scheduler.stop();
  });
});
