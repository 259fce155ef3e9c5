import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { billingInput, interval, period, session, spot, type PricedTariff } from '../../test/billing-fixtures.ts';
import { Decimal } from '../values/index.ts';
import type { BillableSession, EnergyPrice, ExportCredit, IntervalEnergy, SpotPrice, TariffAssignmentPeriod } from './billing-types.ts';
import { compareDecimalText, sortedPositions } from '../values/index.ts';
import { buildInvoice } from './invoice.ts';
import { chargesFor } from './pricing.ts';
import { compareDecimalText as compareDecimalTextV1, sortedPositions as sortedPositionsV1 } from '../../test/billing-reference/fields-v1.ts';
import { buildInvoice as buildInvoiceV1 } from '../../test/billing-reference/invoice-v1.ts';
import { chargesFor as chargesForV1 } from '../../test/billing-reference/pricing-v1.ts';

/** Two days from 2026-11-30 00:00Z: 192 intervals, across the end of November. */
const START_MS = Date.UTC(2026, 10, 30);
const QUARTER_MS = 15 * 60_000;
const INTERVALS = 192;
const ACCOUNT = 'acc';
const instantOf = (index: number, minutes = 0): string => new Date(START_MS + index * QUARTER_MS + minutes * 60_000).toISOString();

const decimal = (min: number, max: number, decimals: number) =>
  fc.integer({ min: min * 10 ** decimals, max: max * 10 ** decimals }).map((n) => new Decimal(n).div(10 ** decimals).toFixed());

const energyPrice: fc.Arbitrary<EnergyPrice> = fc.oneof(
  decimal(0, 60, 3).map((priceMinorPerKWh): EnergyPrice => ({ kind: 'fixed', priceMinorPerKWh })),
  fc.tuple(decimal(0, 60, 2), decimal(0, 60, 2), decimal(0, 60, 2)).map(([peak, night, rest]): EnergyPrice => ({
    kind: 'time_of_use',
    timeZone: 'Europe/Amsterdam',
    defaultName: 'off-peak',
    defaultMinorPerKWh: rest,
    windows: [
      { name: 'peak', daysOfWeek: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', priceMinorPerKWh: peak },
      { name: 'night', daysOfWeek: null, from: '23:00', to: '06:00', priceMinorPerKWh: night },
    ],
  })),
  fc
    .tuple(fc.constantFrom('NL', 'BE'), decimal(-5, 5, 2), fc.option(decimal(-20, 10, 1)), fc.option(decimal(10, 80, 1)))
    .map(([zone, marginMinorPerKWh, floorMinorPerKWh, capMinorPerKWh]): EnergyPrice => ({ kind: 'dynamic', zone, marginMinorPerKWh, floorMinorPerKWh, capMinorPerKWh })),
);

const exportCredit: fc.Arbitrary<ExportCredit | null> = fc.oneof(
  fc.constant(null),
  decimal(0, 30, 2).map((creditMinorPerKWh): ExportCredit => ({ kind: 'fixed', creditMinorPerKWh })),
  fc
    .tuple(fc.constantFrom('NL', 'BE'), decimal(-5, 5, 2), fc.option(decimal(-5, 5, 1)))
    .map(([zone, marginMinorPerKWh, floorMinorPerKWh]): ExportCredit => ({ kind: 'spot', zone, marginMinorPerKWh, floorMinorPerKWh })),
);

const tariff = (tariffId: string, position: string): fc.Arbitrary<PricedTariff> =>
  fc
    .record({
      energy: energyPrice,
      bands: fc.boolean(),
      surcharges: fc.tuple(decimal(0, 3, 1), decimal(0, 9, 1), decimal(0, 20, 1)),
      sessionFeeMinor: fc.option(decimal(0, 100, 2)),
      exportCredit,
    })
    .map(({ energy, bands, surcharges, sessionFeeMinor, exportCredit }) => ({
      tariffId,
      name: tariffId,
      currency: 'EUR',
      energy,
      speedBands: bands
        ? [
            { name: 'slow', fromPowerW: '0', surchargeMinorPerKWh: surcharges[0] },
            { name: 'fast', fromPowerW: '11000', surchargeMinorPerKWh: surcharges[1] },
            { name: 'ultra_fast', fromPowerW: '50000', surchargeMinorPerKWh: surcharges[2] },
          ]
        : [],
      sessionFeeMinor,
      exportCredit,
      position,
    }));

/** Non-overlapping periods between sorted boundaries, some left as gaps, the last maybe open-ended. */
const assignments: fc.Arbitrary<TariffAssignmentPeriod[]> = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: -4, max: INTERVALS + 4 }), { minLength: 1, maxLength: 5 }),
    fc.array(fc.constantFrom('t1', 't2', 't3', 't1', 't2', 't3', 'gap'), { minLength: 6, maxLength: 6 }),
    fc.constantFrom(true, true, true, false),
    fc.constantFrom(true, true, true, false),
  )
  .map(([boundaries, tariffs, openEnded, fromTheStart]) => {
    // Mostly from before the first interval on, so that most intervals have a tariff.
    const sorted = [...new Set([...(fromTheStart ? [-4] : []), ...boundaries])].sort((a, b) => a - b);
    const periods: TariffAssignmentPeriod[] = [];
    sorted.forEach((from, i) => {
      const to = sorted[i + 1];
      const tariffId = tariffs[i]!;
      if (tariffId === 'gap' || (to === undefined && !openEnded && !fromTheStart)) return;
      periods.push(period(ACCOUNT, tariffId, instantOf(from, i % 3 === 0 ? 0 : 7), to === undefined ? null : instantOf(to, (i + 1) % 3 === 0 ? 0 : 7), String(500 + i)));
    });
    return periods;
  });

const sessionWithIntervals = (sessionId: string, position: number): fc.Arbitrary<{ session: BillableSession; intervals: IntervalEnergy[] }> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: INTERVALS - 1 }),
      fc.integer({ min: 0, max: 14 }),
      fc.uniqueArray(fc.integer({ min: 0, max: INTERVALS - 1 }), { minLength: 2, maxLength: 24 }),
      fc.array(fc.tuple(decimal(0, 20_000, 3), fc.oneof(fc.constant('0'), decimal(0, 5_000, 3))), { minLength: 24, maxLength: 24 }),
    )
    .map(([plugged, minutes, indices, energies]) => ({
      session: session(sessionId, ACCOUNT, instantOf(plugged, minutes), String(position)),
      intervals: indices.map((index, i) => interval(sessionId, instantOf(index), energies[i]![0], energies[i]![1], [String(position + 1 + i), String(position + 2 + i)])),
    }));

const prices: fc.Arbitrary<SpotPrice[]> = fc
  .tuple(
    // Most intervals priced in both zones; some not (yet).
    fc.uniqueArray(fc.integer({ min: 0, max: INTERVALS - 1 }), { minLength: 120, maxLength: INTERVALS }),
    fc.uniqueArray(fc.integer({ min: 0, max: INTERVALS - 1 }), { minLength: 120, maxLength: INTERVALS }),
    fc.array(decimal(-50, 100, 4), { minLength: INTERVALS, maxLength: INTERVALS }),
  )
  .map(([nl, be, values]) => [
    ...nl.map((index, i) => spot('NL', instantOf(index), values[i]!, String(1000 + i))),
    ...be.map((index, i) => spot('BE', instantOf(index), values[INTERVALS - 1 - i]!, String(2000 + i))),
  ]);

const scenario = fc.record({
  tariffs: fc.tuple(tariff('t1', '1'), tariff('t2', '2'), tariff('t3', '3')),
  assignments,
  sessions: fc.tuple(sessionWithIntervals('s1', 100), sessionWithIntervals('s2', 200), sessionWithIntervals('s3', 300)),
  prices,
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

/** A scenario with a permutation of every list in it. */
const permuted = <T>(list: readonly T[]) => fc.shuffledSubarray([...list], { minLength: list.length, maxLength: list.length });

const withPermutation = scenario.chain((s) => {
  const intervals = s.sessions.flatMap((x) => x.intervals);
  return fc.tuple(
    fc.constant(s),
    fc.record({
      tariffs: permuted(s.tariffs),
      assignments: permuted(s.assignments),
      sessions: permuted(s.sessions.map((x) => x.session)),
      intervals: permuted(intervals),
      prices: permuted(s.prices),
    }),
  );
});

const inputOf = (s: Scenario) =>
  billingInput({
    sessions: s.sessions.map((x) => x.session),
    intervals: s.sessions.flatMap((x) => x.intervals),
    tariffs: [...s.tariffs],
    assignments: s.assignments,
    prices: s.prices,
  });

describe('pricing (properties)', () => {
  it('does not depend on the order of intervals, prices, assignments, sessions or tariffs', () => {
    fc.assert(
      fc.property(withPermutation, ([s, p]) => {
        const input = inputOf(s);
        const shuffled = billingInput(p);
        for (const sessionId of ['s1', 's2', 's3']) expect(chargesFor(shuffled, sessionId)).toEqual(chargesFor(input, sessionId));
        for (const month of ['2026-11', '2026-12']) expect(buildInvoice(shuffled, ACCOUNT, month)).toEqual(buildInvoice(input, ACCOUNT, month));
      }),
      { numRuns: 100 },
    );
  });

  it('bills each charge in exactly one month, and each invoice adds up to its rounded exact total', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const input = inputOf(s);
        const charges = ['s1', 's2', 's3'].flatMap((id) => chargesFor(input, id).charges);
        let exactOfInvoices = new Decimal(0);
        for (const month of ['2026-11', '2026-12']) {
          const invoice = buildInvoice(input, ACCOUNT, month);
          const exact = invoice.lines.reduce((sum, l) => sum.plus(l.exactAmountMinor), new Decimal(0));
          exactOfInvoices = exactOfInvoices.plus(exact);
          expect(invoice.totalMinor).toBe(exact.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed().replace(/^-0$/, '0'));
          const rounded = invoice.lines.reduce((sum, l) => sum.plus(l.amountMinor), new Decimal(0));
          expect(rounded.toFixed()).toBe(invoice.totalMinor);
          for (const line of invoice.lines) {
            expect(new Decimal(line.amountMinor).isInteger()).toBe(true);
            expect(new Decimal(line.amountMinor).minus(line.exactAmountMinor).abs().lt(1)).toBe(true);
          }
        }
        // Sessions plugged in on 2026-11-30 or 2026-12-01: all their charges fall in one of the two months.
        const exactOfCharges = charges.reduce((sum, c) => sum.plus(c.amountMinor), new Decimal(0));
        expect(exactOfInvoices.eq(exactOfCharges)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('the lean path (compiled tariffs, exact charges not re-parsed, positions compared as digits) gives what the reference gave, digit for digit', () => {
    fc.assert(
      fc.property(withPermutation, ([s, p]) => {
        for (const input of [inputOf(s), billingInput(p)]) {
          for (const sessionId of ['s1', 's2', 's3']) expect(JSON.stringify(chargesFor(input, sessionId))).toBe(JSON.stringify(chargesForV1(input, sessionId)));
          for (const month of ['2026-11', '2026-12']) expect(JSON.stringify(buildInvoice(input, ACCOUNT, month))).toBe(JSON.stringify(buildInvoiceV1(input, ACCOUNT, month)));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('positions: comparing canonical naturals as digits orders them as exact decimals do, and other decimals still compare by value', () => {
    const natural = fc.oneof(fc.nat({ max: 2000 }).map(String), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String));
    const other = fc.oneof(
      natural,
      decimal(-50, 50, 3),
      natural.map((n) => `0${n}`),
      natural.map((n) => `${n}.0`),
    );
    fc.assert(
      fc.property(other, other, (a, b) => {
        expect(Math.sign(compareDecimalText(a, b))).toBe(Math.sign(compareDecimalTextV1(a, b)));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(other, { maxLength: 30 }), (positions) => {
        // Equal values in other spellings ("7", "07") may sit in either order: compare the values' order.
        const values = (list: string[]) => list.map((x) => new Decimal(x).toFixed());
        expect(values(sortedPositions(positions))).toEqual(values(sortedPositionsV1(positions)));
      }),
      { numRuns: 500 },
    );
  });
});
