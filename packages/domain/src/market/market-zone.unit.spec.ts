import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import { MarketZoneNotConfigured, ParticipantExists, UnknownParticipant, UnknownProduct } from './market-errors.ts';
import { attributeSession, marketZoneDecider, marketZoneStreamId, productFor, type MarketZoneState } from './market-zone.ts';
import type { MarketZoneCommand, MarketZoneEvent, ProductTemplate } from './market-types.ts';

const given = givenFor(marketZoneDecider);
const AT = '2026-11-27T09:00Z';

const quarter: ProductTemplate = {
  lengthMinutes: 15,
  mode: 'continuous',
  tickMinorPerMWh: '1',
  minPriceMinorPerMWh: '-50000',
  maxPriceMinorPerMWh: '400000',
  quantityStepWh: '100',
  maxQuantityWh: '100000000',
  gateClosureMinutes: 5,
  openMinutes: 1440,
};
const hourAuction: ProductTemplate = { ...quarter, lengthMinutes: 60, mode: 'auction', gateClosureMinutes: 60, openMinutes: 2880 };

const configure = (products: ProductTemplate[] = [quarter, hourAuction]): MarketZoneCommand => ({
  type: 'ConfigureMarketZone',
  at: AT,
  zone: 'NL',
  currency: 'EUR',
  imbalancePriceZone: 'NL',
  products,
});
const configured = (products: ProductTemplate[] = [quarter, hourAuction]): MarketZoneEvent => ({
  type: 'MarketZoneConfigured',
  data: { zone: 'NL', currency: 'EUR', imbalancePriceZone: 'NL', products },
});
const registered = (participantId: string): MarketZoneEvent => ({ type: 'ParticipantRegistered', data: { zone: 'NL', participantId, name: participantId.toUpperCase() } });
const assigned = (participantId: string, memberKind: 'fleet' | 'customer' | 'site', memberId: string, validFrom: string): MarketZoneEvent => ({
  type: 'PortfolioMemberAssigned',
  data: { zone: 'NL', participantId, memberKind, memberId, validFrom },
});
const stateOf = (events: MarketZoneEvent[]): MarketZoneState => marketZoneDecider.evolveAll(marketZoneDecider.initialState(), events);

describe('market zone decider', () => {
  it('names its stream by zone', () => {
    expect(marketZoneStreamId('NL')).toBe('marketzone-NL');
  });

  it('configures the zone with canonical templates; the same again is a no-op, a change emits again', () => {
    given([])
      .when(configure([hourAuction, { ...quarter, tickMinorPerMWh: '1.00' }]))
      .then([configured([quarter, hourAuction])]);
    given([configured()])
      .when(configure([hourAuction, quarter]))
      .then([]);
    given([configured()])
      .when(configure([quarter]))
      .then([configured([quarter])]);
  });

  it('refuses templates that cannot make products', () => {
    const bad: [Partial<ProductTemplate>, string][] = [
      [{ lengthMinutes: 20 }, 'products[0].lengthMinutes'],
      [{ lengthMinutes: 105 }, 'products[0].lengthMinutes'], // a multiple of 15 that does not divide a day
      [{ tickMinorPerMWh: '0' }, 'products[0].tickMinorPerMWh'],
      [{ minPriceMinorPerMWh: '400000' }, 'products[0].maxPriceMinorPerMWh'],
      [{ tickMinorPerMWh: '7' }, 'products[0].minPriceMinorPerMWh'],
      [{ quantityStepWh: '0' }, 'products[0].quantityStepWh'],
      [{ quantityStepWh: '1.5' }, 'products[0].quantityStepWh'],
      [{ maxQuantityWh: '150' }, 'products[0].maxQuantityWh'],
      [{ gateClosureMinutes: -1 }, 'products[0].gateClosureMinutes'],
      [{ openMinutes: 5 }, 'products[0].openMinutes'],
      [{ mode: 'dark-pool' as 'auction' }, 'products[0].mode'],
    ];
    for (const [change, field] of bad)
      given([])
        .when(configure([{ ...quarter, ...change }]))
        .thenThrows(InvalidCommand, { field });
    given([])
      .when(configure([quarter, { ...quarter }]))
      .thenThrows(InvalidCommand, { field: 'products' });
    given([]).when(configure([])).thenThrows(InvalidCommand, { field: 'products' });
    given([])
      .when({ ...(configure() as Extract<MarketZoneCommand, { type: 'ConfigureMarketZone' }>), currency: 'eur' })
      .thenThrows(InvalidCommand, { field: 'currency' });
    given([configured()])
      .when({ ...(configure() as Extract<MarketZoneCommand, { type: 'ConfigureMarketZone' }>), zone: 'BE' })
      .thenThrows(InvalidCommand, { field: 'zone' });
  });

  it('registers participants once', () => {
    const register = (participantId: string): MarketZoneCommand => ({ type: 'RegisterParticipant', at: AT, zone: 'NL', participantId, name: participantId.toUpperCase() });
    given([configured()])
      .when(register('aggr-1'))
      .then([registered('aggr-1')]);
    given([configured(), registered('aggr-1')])
      .when(register('aggr-1'))
      .thenThrows(ParticipantExists, { zone: 'NL', participantId: 'aggr-1' });
    given([]).when(register('aggr-1')).thenThrows(MarketZoneNotConfigured);
    given([configured()]).when(register('not an id')).thenThrows(InvalidCommand, { field: 'participantId' });
    given([configured()]).when(register('operator')).thenThrows(InvalidCommand, { field: 'participantId' });
  });

  it('assigns portfolio members to registered participants only', () => {
    const assign = (participantId: string): MarketZoneCommand => ({
      type: 'AssignPortfolioMember',
      at: AT,
      zone: 'NL',
      participantId,
      memberKind: 'fleet',
      memberId: 'fleet-7',
      validFrom: '2026-11-01T00:00Z',
    });
    const history = [configured(), registered('aggr-1')];
    given(history)
      .when(assign('aggr-1'))
      .then([assigned('aggr-1', 'fleet', 'fleet-7', '2026-11-01T00:00:00.000Z')]);
    given(history).when(assign('aggr-2')).thenThrows(UnknownParticipant, { zone: 'NL', participantId: 'aggr-2' });
    given([...history, assigned('aggr-1', 'fleet', 'fleet-7', '2026-11-01T00:00:00.000Z')])
      .when(assign('aggr-1'))
      .then([]);
  });

  it('evolves without touching its input state', () => {
    const state = stateOf([configured(), registered('a')]);
    const before = structuredClone(state);
    marketZoneDecider.evolve(state, registered('b'));
    expect(state).toEqual(before);
  });
});

describe('productFor', () => {
  const zone = stateOf([configured()]);

  it('makes the template concrete for a delivery interval', () => {
    expect(productFor(zone, '2026-11-28T10:15Z', 15)).toEqual({
      zone: 'NL',
      currency: 'EUR',
      deliveryStart: '2026-11-28T10:15:00.000Z',
      deliveryEnd: '2026-11-28T10:30:00.000Z',
      mode: 'continuous',
      openAt: '2026-11-27T10:15:00.000Z',
      gateClosureAt: '2026-11-28T10:10:00.000Z',
      tickMinorPerMWh: '1',
      minPriceMinorPerMWh: '-50000',
      maxPriceMinorPerMWh: '400000',
      quantityStepWh: '100',
      maxQuantityWh: '100000000',
    });
    expect(productFor(zone, '2026-11-28T10:00Z', 60)).toMatchObject({ mode: 'auction', gateClosureAt: '2026-11-28T09:00:00.000Z', openAt: '2026-11-26T10:00:00.000Z' });
  });

  it('refuses an unknown product, saying why', () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(UnknownProduct);
        return (error as UnknownProduct).details.reason;
      }
      throw new Error('not refused');
    };
    expect(refusal(() => productFor(marketZoneDecider.initialState(), '2026-11-28T10:00Z', 15))).toBe('zone_not_configured');
    expect(refusal(() => productFor(zone, '2026-11-28T10:00Z', 30))).toBe('no_template');
    expect(refusal(() => productFor(zone, '2026-11-28T10:15Z', 60))).toBe('not_aligned');
    expect(refusal(() => productFor(zone, '2026-11-28T10:05Z', 15))).toBe('not_aligned');
    expect(() => productFor(zone, 'tomorrow', 15)).toThrow(InvalidCommand);
  });
});

describe('attributeSession', () => {
  const zone = stateOf([
    configured(),
    registered('fleet-owner'),
    registered('retailer'),
    registered('site-aggr'),
    assigned('fleet-owner', 'fleet', 'f1', '2026-11-01T00:00:00.000Z'),
    assigned('retailer', 'customer', 'c1', '2026-11-01T00:00:00.000Z'),
    assigned('site-aggr', 'site', 's1', '2026-11-01T00:00:00.000Z'),
    assigned('retailer', 'fleet', 'f1', '2026-11-20T00:00:00.000Z'),
  ]);

  it('looks for the fleet first, then the customer, then the site, else the operator', () => {
    const at = '2026-11-10T12:00Z';
    expect(attributeSession(zone, { fleetId: 'f1', customerId: 'c1', siteId: 's1' }, at)).toBe('fleet-owner');
    expect(attributeSession(zone, { fleetId: null, customerId: 'c1', siteId: 's1' }, at)).toBe('retailer');
    expect(attributeSession(zone, { fleetId: 'f9', customerId: 'c9', siteId: 's1' }, at)).toBe('site-aggr');
    expect(attributeSession(zone, { fleetId: null, customerId: 'c9', siteId: 's9' }, at)).toBe('operator');
  });

  it('follows assignments in time: from validFrom on, not before', () => {
    const s = { fleetId: 'f1', customerId: null, siteId: null };
    expect(attributeSession(zone, s, '2026-10-31T23:59:59.999Z')).toBe('operator');
    expect(attributeSession(zone, s, '2026-11-01T00:00Z')).toBe('fleet-owner');
    expect(attributeSession(zone, s, '2026-11-19T23:59:59.999Z')).toBe('fleet-owner');
    expect(attributeSession(zone, s, '2026-11-20T00:00Z')).toBe('retailer');
  });
});
