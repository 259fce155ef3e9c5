import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { register, registeredOf, run, SITE } from '../../test/site-fixtures.ts';
import { pricesDecider } from '../billing/prices.ts';
import type { PricesCommand } from '../billing/billing-types.ts';
import { siteDecider } from '../site/site.ts';
import { InvalidCommand } from '../errors.ts';
import { checkZone } from './zone.ts';

/** Whether a decider refuses a command with InvalidCommand naming `field`. */
function refusesField(decide: () => unknown, field: string): boolean {
  try {
    decide();
    return false;
  } catch (error) {
    return error instanceof InvalidCommand && error.details.field === field;
  }
}

const registered = registeredOf(run([register]));
const configure = (priceZone: string) => () =>
  siteDecider.decide({ type: 'ConfigureSite', siteId: SITE, rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: null, priceZone }, registered);
const publish = (zone: string) => () =>
  pricesDecider.decide(
    {
      type: 'PublishPrices',
      zone,
      at: '2026-11-26T12:00Z',
      currency: 'EUR',
      source: 'test',
      points: [{ start: '2026-11-27T17:00Z', end: '2026-11-27T17:15Z', priceMinorPerKWh: '25', carbonGPerKWh: null }],
    } as PricesCommand,
    pricesDecider.initialState(),
  );

describe('one zone rule', () => {
  // Zone-like strings, with the characters one rule allowed and the other did not ('.' and ':').
  const zoneLike = fc.stringMatching(/^[A-Za-z0-9_.:@ -]{0,34}$/);

  it('a site names a price zone exactly when a price publication accepts that zone', () => {
    fc.assert(
      fc.property(zoneLike, (zone) => {
        const siteRefuses = refusesField(configure(zone), 'priceZone');
        const pricesRefuse = refusesField(publish(zone), 'zone');
        expect(siteRefuses).toBe(pricesRefuse);
        expect(siteRefuses).toBe(refusesField(() => checkZone('zone', zone), 'zone'));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a site price zone with "." or ":", which no price publication or market zone accepts', () => {
    for (const zone of ['NL.1', 'DE:LU']) {
      expect(refusesField(configure(zone), 'priceZone')).toBe(true);
      expect(refusesField(publish(zone), 'zone')).toBe(true);
    }
    expect(refusesField(configure('DE-LU'), 'priceZone')).toBe(false);
  });
});
