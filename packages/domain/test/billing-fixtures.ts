import type { BillableSession, BillingInput, IntervalEnergy, SpotPrice, TariffAssignmentPeriod, TariffDefinition } from '../src/billing/billing-types.ts';

export type PricedTariff = TariffDefinition & { position: string };

export const fixedTariff = (tariffId: string, priceMinorPerKWh: string, position: string, overrides: Partial<TariffDefinition> = {}): PricedTariff => ({
  tariffId,
  name: tariffId,
  currency: 'EUR',
  energy: { kind: 'fixed', priceMinorPerKWh },
  speedBands: [],
  sessionFeeMinor: null,
  exportCredit: null,
  position,
  ...overrides,
});

/**
 * The home time-of-use tariff in Amsterdam (UTC+1 in November): 20 off-peak, 35 at the peak
 * 17:00-21:00 local every day, 5 on top from 11 kW, a session fee of 50, no export credit.
 */
export const HOME_TOU_TARIFF = {
  tariffId: 'home-tou',
  name: 'Home time-of-use',
  currency: 'EUR',
  energy: {
    kind: 'time_of_use',
    timeZone: 'Europe/Amsterdam',
    defaultName: 'off-peak',
    defaultMinorPerKWh: '20',
    windows: [{ name: 'peak', daysOfWeek: null, from: '17:00', to: '21:00', priceMinorPerKWh: '35' }],
  },
  speedBands: [
    { name: 'slow', fromPowerW: '0', surchargeMinorPerKWh: '0' },
    { name: 'fast', fromPowerW: '11000', surchargeMinorPerKWh: '5' },
  ],
  sessionFeeMinor: '50',
  exportCredit: null,
} satisfies TariffDefinition;

/** HOME_TOU_TARIFF at a log position, with `overrides` on top. */
export const homeTouTariff = (position: string, overrides: Partial<TariffDefinition> = {}): PricedTariff => ({ ...HOME_TOU_TARIFF, position, ...overrides });

export const session = (sessionId: string, accountId: string, pluggedInAt: string, position: string): BillableSession => ({
  sessionId,
  accountId,
  siteId: 'depot',
  pluggedInAt,
  stoppedAt: null,
  position,
});

export const interval = (sessionId: string, intervalStart: string, importWh: string, exportWh: string, justifiedBy: string[]): IntervalEnergy => ({
  sessionId,
  intervalStart,
  importWh,
  exportWh,
  justifiedBy,
});

export const period = (accountId: string, tariffId: string, validFrom: string, validTo: string | null, position: string): TariffAssignmentPeriod => ({
  accountId,
  tariffId,
  validFrom,
  validTo,
  position,
});

export const spot = (zone: string, intervalStart: string, priceMinorPerKWh: string, position: string, currency = 'EUR'): SpotPrice => ({
  zone,
  intervalStart,
  priceMinorPerKWh,
  currency,
  position,
});

/** Builds the nested price map from a flat list (in the list's order). */
function priceMap(prices: readonly SpotPrice[]): Map<string, Map<string, SpotPrice>> {
  const map = new Map<string, Map<string, SpotPrice>>();
  for (const price of prices) {
    const zone = map.get(price.zone) ?? new Map<string, SpotPrice>();
    zone.set(price.intervalStart, price);
    map.set(price.zone, zone);
  }
  return map;
}

export function billingInput(parts: {
  sessions: BillableSession[];
  intervals: IntervalEnergy[];
  tariffs: PricedTariff[];
  assignments: TariffAssignmentPeriod[];
  prices?: SpotPrice[];
}): BillingInput {
  return {
    sessions: parts.sessions,
    intervals: parts.intervals,
    tariffs: new Map(parts.tariffs.map((t) => [t.tariffId, t])),
    assignments: parts.assignments,
    prices: priceMap(parts.prices ?? []),
  };
}
