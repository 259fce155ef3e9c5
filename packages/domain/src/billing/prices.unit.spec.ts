import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import { ZoneCurrencyMismatch } from './billing-errors.ts';
import type { PricesCommand, PricesEvent } from './billing-types.ts';
import { MAX_INTERVALS_PER_PUBLICATION, priceOf, pricesDecider, pricesStreamId } from './prices.ts';

const given = givenFor(pricesDecider);

const publish = (points: PricesCommand['points'], overrides: Partial<PricesCommand> = {}): PricesCommand => ({
  type: 'PublishPrices',
  zone: 'NL',
  at: '2026-11-26T12:00Z',
  currency: 'EUR',
  source: 'epex-day-ahead',
  points,
  ...overrides,
});

const half = (priceMinorPerKWh: string, carbonGPerKWh: string | null = null) => ({ start: '2026-11-27T17:00Z', end: '2026-11-27T17:30Z', priceMinorPerKWh, carbonGPerKWh });

/** A prices event of zone NL in EUR. */
const nlPrices = (type: 'PricesPublished' | 'PricesRevised', source: string, intervals: Extract<PricesEvent, { type: typeof type }>['data']['intervals']): PricesEvent =>
  ({ type, data: { zone: 'NL', currency: 'EUR', source, intervals } }) as PricesEvent;

const published = nlPrices('PricesPublished', 'epex-day-ahead', [
  { start: '2026-11-27T17:00:00.000Z', priceMinorPerKWh: '8.21', carbonGPerKWh: '310' },
  { start: '2026-11-27T17:15:00.000Z', priceMinorPerKWh: '8.21', carbonGPerKWh: '310' },
]);

describe('prices decider', () => {
  it('names its stream by zone', () => {
    expect(pricesStreamId('DE-LU')).toBe('prices-DE-LU');
  });

  it('expands each point into 15-minute intervals, canonical and in order', () => {
    given([])
      .when(publish([half('8.210', '310.0')]))
      .then([published]);
    const state = [published].reduce(pricesDecider.evolve, pricesDecider.initialState());
    expect(state.zone).toBe('NL');
    expect(state.currency).toBe('EUR');
    expect(priceOf(state, '2026-11-27T17:15:00.000Z')).toEqual({ start: '2026-11-27T17:15:00.000Z', priceMinorPerKWh: '8.21', carbonGPerKWh: '310' });
    expect(priceOf(state, '2026-11-27T17:30:00.000Z')).toBeNull();
  });

  it('accepts negative spot prices and points given out of order', () => {
    given([])
      .when(
        publish([
          { start: '2026-11-27T13:15Z', end: '2026-11-27T13:30Z', priceMinorPerKWh: '0', carbonGPerKWh: null },
          { start: '2026-11-27T13:00Z', end: '2026-11-27T13:15Z', priceMinorPerKWh: '-3.50', carbonGPerKWh: null },
        ]),
      )
      .then([
        nlPrices('PricesPublished', 'epex-day-ahead', [
          { start: '2026-11-27T13:00:00.000Z', priceMinorPerKWh: '-3.5', carbonGPerKWh: null },
          { start: '2026-11-27T13:15:00.000Z', priceMinorPerKWh: '0', carbonGPerKWh: null },
        ]),
      ]);
  });

  it('revises intervals priced before with another price or carbon figure, publishes new ones, skips identical ones', () => {
    const command = publish(
      [
        { start: '2026-11-27T17:00Z', end: '2026-11-27T17:15Z', priceMinorPerKWh: '8.2100', carbonGPerKWh: '310' }, // identical
        { start: '2026-11-27T17:15Z', end: '2026-11-27T17:30Z', priceMinorPerKWh: '9', carbonGPerKWh: '310' }, // new price
        { start: '2026-11-27T17:30Z', end: '2026-11-27T17:45Z', priceMinorPerKWh: '7', carbonGPerKWh: null }, // never priced
      ],
      { source: 'epex-intraday' },
    );
    given([published])
      .when(command)
      .then([
        {
          type: 'PricesPublished',
          data: { zone: 'NL', currency: 'EUR', source: 'epex-intraday', intervals: [{ start: '2026-11-27T17:30:00.000Z', priceMinorPerKWh: '7', carbonGPerKWh: null }] },
        },
        nlPrices('PricesRevised', 'epex-intraday', [{ start: '2026-11-27T17:15:00.000Z', priceMinorPerKWh: '9', carbonGPerKWh: '310', previousPriceMinorPerKWh: '8.21' }]),
      ]);
    // Only the carbon figure changes: still a revision, the price stays.
    given([published])
      .when(publish([{ ...half('8.21', '290'), end: '2026-11-27T17:15Z' }]))
      .then([
        nlPrices('PricesRevised', 'epex-day-ahead', [{ start: '2026-11-27T17:00:00.000Z', priceMinorPerKWh: '8.21', carbonGPerKWh: '290', previousPriceMinorPerKWh: '8.21' }]),
      ]);
    given([published])
      .when(publish([half('8.21', '310')]))
      .then([]);
  });

  it('keeps the latest figure after a revision', () => {
    const revised: PricesEvent = {
      type: 'PricesRevised',
      data: {
        zone: 'NL',
        currency: 'EUR',
        source: 's',
        intervals: [{ start: '2026-11-27T17:15:00.000Z', priceMinorPerKWh: '9', carbonGPerKWh: null, previousPriceMinorPerKWh: '8.21' }],
      },
    };
    const state = [published, revised].reduce(pricesDecider.evolve, pricesDecider.initialState());
    expect(priceOf(state, '2026-11-27T17:15:00.000Z')?.priceMinorPerKWh).toBe('9');
    expect(priceOf(state, '2026-11-27T17:00:00.000Z')?.priceMinorPerKWh).toBe('8.21');
    // The state before the revision is untouched (evolve copies what it changes).
    const before = [published].reduce(pricesDecider.evolve, pricesDecider.initialState());
    pricesDecider.evolve(before, revised);
    expect(priceOf(before, '2026-11-27T17:15:00.000Z')?.priceMinorPerKWh).toBe('8.21');
  });

  it('fixes the currency with the first publication', () => {
    given([published])
      .when(publish([half('1')], { currency: 'DKK' }))
      .thenThrows(ZoneCurrencyMismatch, { zone: 'NL', currency: 'EUR', requested: 'DKK' });
  });

  it('refuses another zone on this stream', () => {
    given([published])
      .when(publish([half('1')], { zone: 'BE' }))
      .thenThrows(InvalidCommand, { field: 'zone' });
  });

  it.each([
    ['a zone with a space', { zone: 'N L' }, 'zone'],
    ['a lower-case currency', { currency: 'eur' }, 'currency'],
    ['a four-letter currency', { currency: 'EURO' }, 'currency'],
    ['an empty source', { source: ' ' }, 'source'],
    ['a bad at', { at: 'yesterday' }, 'at'],
    ['no points', { points: [] }, 'points'],
    ['points that are not a list', { points: 'x' as unknown as PricesCommand['points'] }, 'points'],
  ])('refuses %s, naming the field', (_, overrides, field) => {
    given([])
      .when(publish([half('1')], overrides as Partial<PricesCommand>))
      .thenThrows(InvalidCommand, { field });
  });

  it.each([
    ['a price that is a number', { priceMinorPerKWh: 8 as unknown as string }, 'points[0].priceMinorPerKWh'],
    ['a price with an exponent', { priceMinorPerKWh: '1e3' }, 'points[0].priceMinorPerKWh'],
    ['a negative carbon figure', { carbonGPerKWh: '-1' }, 'points[0].carbonGPerKWh'],
    ['a start off the quarter hour', { start: '2026-11-27T17:05Z' }, 'points[0].start'],
    ['an end off the quarter hour', { end: '2026-11-27T17:20:00.001Z' }, 'points[0].end'],
    ['an end before the start', { end: '2026-11-27T16:45Z' }, 'points[0].end'],
    ['an empty point', { end: '2026-11-27T17:00Z' }, 'points[0].end'],
    ['an impossible date', { start: '2026-02-30T00:00Z' }, 'points[0].start'],
  ])('refuses %s, naming the field', (_, overrides, field) => {
    given([])
      .when(publish([{ ...half('1'), ...overrides }]))
      .thenThrows(InvalidCommand, { field });
  });

  it('refuses points of one command that overlap, naming the later one', () => {
    given([])
      .when(publish([half('1'), { start: '2026-11-27T17:15Z', end: '2026-11-27T18:00Z', priceMinorPerKWh: '2', carbonGPerKWh: null }]))
      .thenThrows(InvalidCommand, { field: 'points[1]' });
    // Adjacent points do not overlap.
    expect(
      pricesDecider.decide(
        publish([half('1'), { start: '2026-11-27T17:30Z', end: '2026-11-27T18:00Z', priceMinorPerKWh: '2', carbonGPerKWh: null }]),
        pricesDecider.initialState(),
      )[0]?.data.intervals,
    ).toHaveLength(4);
  });

  it('refuses a publication of more than a leap year of intervals', () => {
    const start = Date.UTC(2026, 0, 1);
    const end = new Date(start + (MAX_INTERVALS_PER_PUBLICATION + 1) * 900_000).toISOString();
    given([])
      .when(publish([{ start: '2026-01-01T00:00Z', end, priceMinorPerKWh: '1', carbonGPerKWh: null }]))
      .thenThrows(InvalidCommand, { field: 'points' });
  });
});
