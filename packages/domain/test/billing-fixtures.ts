import type {
  BillableSession,
  BillingInput,
  IntervalEnergy,
  SpotPrice,
  TariffAssignmentPeriod,
  TariffDefinition,
} from '../src/billing/billing-types.ts';

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
