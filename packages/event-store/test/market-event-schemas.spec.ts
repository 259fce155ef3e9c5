import {
  marketZoneDecider,
  orderBookDecider,
  productFor,
  type MarketZoneCommand,
  type MarketZoneEvent,
  type MarketZoneState,
  type OrderBookCommand,
  type OrderBookEvent,
  type OrderBookState,
  type OrderRequest,
  type ProductTemplate,
} from '@v2g/domain';
import { describe, expect, it } from 'vitest';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { expectRefused } from './event-schema-checks.ts';

const ORDER_BOOK_EVENT_TYPES: OrderBookEvent['type'][] = ['OrderBookOpened', 'OrderAccepted', 'TradeExecuted', 'OrderAmended', 'OrderCancelled', 'GateClosed'];
const ZONE_EVENT_TYPES: MarketZoneEvent['type'][] = ['MarketZoneConfigured', 'ParticipantRegistered', 'PortfolioMemberAssigned'];

function emittedZone(commands: MarketZoneCommand[]): { state: MarketZoneState; events: MarketZoneEvent[] } {
  let state = marketZoneDecider.initialState();
  const events: MarketZoneEvent[] = [];
  for (const command of commands) {
    const decided = marketZoneDecider.decide(command, state);
    events.push(...decided);
    state = marketZoneDecider.evolveAll!(state, decided);
  }
  return { state, events };
}

function emittedBook(commands: OrderBookCommand[]): OrderBookEvent[] {
  let state: OrderBookState = orderBookDecider.initialState();
  const events: OrderBookEvent[] = [];
  for (const command of commands) {
    const decided = orderBookDecider.decide(command, state);
    events.push(...decided);
    state = orderBookDecider.evolveAll!(state, decided);
  }
  return events;
}

const AT = '2026-11-28T08:00Z';
const template = (lengthMinutes: number, mode: 'continuous' | 'auction', tick: string): ProductTemplate => ({
  lengthMinutes,
  mode,
  tickMinorPerMWh: tick,
  minPriceMinorPerMWh: '-50000',
  maxPriceMinorPerMWh: '400000',
  quantityStepWh: '100',
  maxQuantityWh: '100000000',
  gateClosureMinutes: 5,
  openMinutes: 1440,
});
const order = (orderId: string, traderId: string, side: 'buy' | 'sell', orderType: OrderRequest['orderType'], quantityWh: string, price: string | null): OrderRequest => ({
  orderId,
  clientOrderId: `client.${orderId}`,
  traderId,
  side,
  orderType,
  quantityWh,
  limitPriceMinorPerMWh: price,
});

describe('market events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for every market event', () => {
    for (const type of [...ORDER_BOOK_EVENT_TYPES, ...ZONE_EVENT_TYPES]) expect(registry.latestVersion(type), type).toBe(1);
  });

  it('accepts every event the deciders emit', () => {
    const zone = emittedZone([
      { type: 'ConfigureMarketZone', at: AT, zone: 'NL', currency: 'EUR', imbalancePriceZone: 'NL', products: [template(15, 'continuous', '1'), template(60, 'auction', '0.5')] },
      { type: 'RegisterParticipant', at: AT, zone: 'NL', participantId: 'aggr-1', name: 'Aggregator One' },
      { type: 'RegisterParticipant', at: AT, zone: 'NL', participantId: 'trader@x', name: 'Trader X' },
      { type: 'AssignPortfolioMember', at: AT, zone: 'NL', participantId: 'aggr-1', memberKind: 'fleet', memberId: 'fleet-7', validFrom: '2026-11-01T00:00Z' },
    ]);
    const continuous = productFor(zone.state, '2026-11-28T10:00Z', 15);
    const auction = productFor(zone.state, '2026-11-28T10:00Z', 60);
    const events: { type: string; data: unknown }[] = [...zone.events];
    events.push(
      ...emittedBook([
        {
          type: 'SubmitOrders',
          at: AT,
          product: continuous,
          orders: [order('s1', 'aggr-1', 'sell', 'limit', '1000', '-2500'), order('s2', 'trader@x', 'sell', 'limit', '2000', '7250')],
        },
        { type: 'SubmitOrders', at: AT, product: continuous, orders: [order('b1', 'trader@x', 'buy', 'limit', '3000', '8000')] }, // trades s1, STP at s2
        { type: 'SubmitOrders', at: AT, product: continuous, orders: [order('i1', 'aggr-1', 'buy', 'ioc', '2500', '7250')] },
        {
          type: 'SubmitOrders',
          at: AT,
          product: continuous,
          orders: [order('s3', 'aggr-1', 'sell', 'limit', '500', '9000'), order('m1', 'trader@x', 'buy', 'market', '100', null)],
        },
        { type: 'AmendOrder', at: AT, orderId: 's3', traderId: 'aggr-1', quantityWh: '300', limitPriceMinorPerMWh: null },
        { type: 'AmendOrder', at: AT, orderId: 's3', traderId: 'aggr-1', quantityWh: null, limitPriceMinorPerMWh: '9500' },
        { type: 'SubmitOrders', at: AT, product: continuous, orders: [order('b2', 'trader@x', 'buy', 'limit', '100', '100')] },
        { type: 'CancelOrder', at: AT, orderId: 'b2', traderId: 'trader@x' },
        { type: 'CloseGate', at: '2026-11-28T09:55Z' },
      ]),
      ...emittedBook([
        {
          type: 'SubmitOrders',
          at: AT,
          product: auction,
          orders: [
            order('a1', 'aggr-1', 'sell', 'limit', '2000', '4800.5'),
            order('a2', 'trader@x', 'buy', 'market', '1000', null),
            order('a3', 'trader@x', 'buy', 'limit', '5000', '5000'),
          ],
        },
        { type: 'AmendOrder', at: AT, orderId: 'a3', traderId: 'trader@x', quantityWh: '4000', limitPriceMinorPerMWh: '5100' },
        { type: 'CloseGate', at: '2026-11-28T09:55Z' },
      ]),
    );
    expect(new Set(events.map((e) => e.type))).toEqual(new Set([...ORDER_BOOK_EVENT_TYPES, ...ZONE_EVENT_TYPES]));
    expect(
      events
        .filter((e) => e.type === 'OrderCancelled')
        .map((e) => (e.data as { reason: string }).reason)
        .sort(),
    ).toEqual(['cancelled_by_trader', 'self_trade_prevented', 'unfilled_remainder']);
    const closed = events.filter((e) => e.type === 'GateClosed').map((e) => e.data as { auction: unknown; expired: unknown[] });
    expect(closed[0]!.expired.length).toBeGreaterThan(0);
    expect(closed[1]!.auction).not.toBeNull();
    for (const event of events) expect(() => registry.validate(event.type, 1, event.data), `${event.type} ${JSON.stringify(event.data)}`).not.toThrow();
  });

  it('refuses what the deciders never emit', () => {
    const accepted = {
      orderId: 'o1',
      clientOrderId: 'c1',
      traderId: 't1',
      side: 'buy',
      orderType: 'limit',
      quantityWh: '100',
      limitPriceMinorPerMWh: '5000',
      acceptedAt: '2026-11-28T08:00:00.000Z',
    };
    const trade = {
      tradeId: 'o1-1',
      zone: 'NL',
      currency: 'EUR',
      deliveryStart: '2026-11-28T10:00:00.000Z',
      deliveryEnd: '2026-11-28T10:15:00.000Z',
      buyOrderId: 'o1',
      sellOrderId: 'o2',
      buyerId: 't1',
      sellerId: 't2',
      aggressorSide: 'buy',
      quantityWh: '100',
      priceMinorPerMWh: '5000',
      executedAt: '2026-11-28T08:00:00.000Z',
    };
    const refusals: [string, Record<string, unknown>, string][] = [
      ['OrderAccepted', { ...accepted, quantityWh: '0' }, '/quantityWh'],
      ['OrderAccepted', { ...accepted, quantityWh: '100.5' }, '/quantityWh'],
      ['OrderAccepted', { ...accepted, limitPriceMinorPerMWh: '5000.10' }, '/limitPriceMinorPerMWh'],
      ['OrderAccepted', { ...accepted, limitPriceMinorPerMWh: 5000 }, '/limitPriceMinorPerMWh'],
      ['OrderAccepted', { ...accepted, orderType: 'stop' }, '/orderType'],
      ['OrderAccepted', { ...accepted, traderId: 'a b' }, '/traderId'],
      ['OrderAccepted', { ...accepted, acceptedAt: '2026-11-28T08:00Z' }, '/acceptedAt'],
      ['OrderAccepted', { ...accepted, extra: 1 }, '/extra'],
      ['TradeExecuted', { ...trade, aggressorSide: 'both' }, '/aggressorSide'],
      ['TradeExecuted', { ...trade, deliveryStart: '2026-11-28T10:05:00.000Z' }, '/deliveryStart'],
      ['TradeExecuted', { ...trade, priceMinorPerMWh: '-0' }, '/priceMinorPerMWh'],
      ['OrderCancelled', { orderId: 'o1', remainingWh: '0', reason: 'cancelled_by_trader', cancelledAt: '2026-11-28T08:00:00.000Z' }, '/remainingWh'],
      ['OrderCancelled', { orderId: 'o1', remainingWh: '5', reason: 'bored', cancelledAt: '2026-11-28T08:00:00.000Z' }, '/reason'],
      ['GateClosed', { closedAt: '2026-11-28T09:55:00.000Z', auction: { clearingPriceMinorPerMWh: '1', volumeWh: '0' }, expired: [] }, '/auction'],
      ['ParticipantRegistered', { zone: 'NL', participantId: 'p1', name: '' }, '/name'],
      ['PortfolioMemberAssigned', { zone: 'NL', participantId: 'p1', memberKind: 'vehicle', memberId: 'v1', validFrom: '2026-11-01T00:00:00.000Z' }, '/memberKind'],
    ];
    for (const [type, data, field] of refusals) expectRefused(registry, type, data, `${type} ${field}`, field, 'prefix');
    expect(() => registry.validate('OrderAccepted', 1, accepted)).not.toThrow();
    expect(() => registry.validate('TradeExecuted', 1, trade)).not.toThrow();
  });
});
