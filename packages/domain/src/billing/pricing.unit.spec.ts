import { describe, expect, it } from 'vitest';
import { billingInput, fixedTariff, homeTouTariff, interval, period, session, spot, type PricedTariff } from '../../test/billing-fixtures.ts';
import { accountDecider, withAssignment } from './account.ts';
import { SessionNotInBillingInput, SpotPriceCurrencyMismatch } from './billing-errors.ts';
import type { AccountEvent, Charge, TariffAssignmentPeriod } from './billing-types.ts';
import { assignmentAt, chargesFor } from './pricing.ts';

const ACCOUNT = 'cust-1';
const NOV = '2026-11-01T00:00:00.000Z';

const touTariff = homeTouTariff('5');

const dynamicTariff: PricedTariff = {
  tariffId: 'dyn',
  name: 'Dynamic',
  currency: 'EUR',
  energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '2.5', floorMinorPerKWh: '0', capMinorPerKWh: '40' },
  speedBands: [],
  sessionFeeMinor: null,
  exportCredit: null,
  position: '3',
};

describe('chargesFor', () => {
  it('prices a session across the peak/off-peak boundary by local time, with speed surcharge and session fee', () => {
    const input = billingInput({
      sessions: [session('s1', ACCOUNT, '2026-11-27T15:40:00.000Z', '100')],
      intervals: [
        // Given out of order on purpose.
        interval('s1', '2026-11-27T16:15:00.000Z', '1234.567', '0', ['104']),
        interval('s1', '2026-11-27T15:30:00.000Z', '1375', '0', ['101']),
        interval('s1', '2026-11-27T16:00:00.000Z', '2750', '0', ['102', '103']),
        interval('s1', '2026-11-27T15:45:00.000Z', '2750', '0', ['101', '102']),
      ],
      tariffs: [touTariff],
      assignments: [period(ACCOUNT, 'home-tou', NOV, null, '6')],
    });
    const base = { sessionId: 's1', tariffId: 'home-tou' };
    expect(chargesFor(input, 's1')).toEqual({
      charges: [
        // The fee once, at pluggedInAt: 50.
        {
          ...base,
          component: 'session_fee',
          intervalStart: null,
          energyWh: '0',
          unitPriceMinorPerKWh: null,
          priceLabel: 'session fee',
          amountMinor: '50',
          justifiedBy: ['5', '6', '100'],
        },
        // 15:30Z = 16:30 local, off-peak: 1.375 kWh × 20 = 27.5; 1375 Wh × 4 = 5500 W: slow, surcharge 0, no charge.
        {
          ...base,
          component: 'energy',
          intervalStart: '2026-11-27T15:30:00.000Z',
          energyWh: '1375',
          unitPriceMinorPerKWh: '20',
          priceLabel: 'off-peak',
          amountMinor: '27.5',
          justifiedBy: ['5', '6', '101'],
        },
        // 15:45Z = 16:45 local, off-peak: 2.75 × 20 = 55; 2750 × 4 = 11000 W: fast, 2.75 × 5 = 13.75.
        {
          ...base,
          component: 'energy',
          intervalStart: '2026-11-27T15:45:00.000Z',
          energyWh: '2750',
          unitPriceMinorPerKWh: '20',
          priceLabel: 'off-peak',
          amountMinor: '55',
          justifiedBy: ['5', '6', '101', '102'],
        },
        {
          ...base,
          component: 'speed',
          intervalStart: '2026-11-27T15:45:00.000Z',
          energyWh: '2750',
          unitPriceMinorPerKWh: '5',
          priceLabel: 'fast',
          amountMinor: '13.75',
          justifiedBy: ['5', '6', '101', '102'],
        },
        // 16:00Z = 17:00 local, peak: 2.75 × 35 = 96.25; fast: 13.75.
        {
          ...base,
          component: 'energy',
          intervalStart: '2026-11-27T16:00:00.000Z',
          energyWh: '2750',
          unitPriceMinorPerKWh: '35',
          priceLabel: 'peak',
          amountMinor: '96.25',
          justifiedBy: ['5', '6', '102', '103'],
        },
        {
          ...base,
          component: 'speed',
          intervalStart: '2026-11-27T16:00:00.000Z',
          energyWh: '2750',
          unitPriceMinorPerKWh: '5',
          priceLabel: 'fast',
          amountMinor: '13.75',
          justifiedBy: ['5', '6', '102', '103'],
        },
        // 16:15Z, peak: 1.234567 × 35 = 43.209845 (exact, not rounded); 4938.268 W: slow.
        {
          ...base,
          component: 'energy',
          intervalStart: '2026-11-27T16:15:00.000Z',
          energyWh: '1234.567',
          unitPriceMinorPerKWh: '35',
          priceLabel: 'peak',
          amountMinor: '43.209845',
          justifiedBy: ['5', '6', '104'],
        },
      ],
      unpriced: [],
    });
  });

  describe('a dynamic tariff over a price revision', () => {
    const sessions = [session('s2', ACCOUNT, '2026-11-27T16:55:00.000Z', '200')];
    const intervals = [interval('s2', '2026-11-27T17:00:00.000Z', '2000', '0', ['201']), interval('s2', '2026-11-27T17:15:00.000Z', '3000', '0', ['202'])];
    const assignments = [period(ACCOUNT, 'dyn', NOV, null, '4')];
    const energyAt = (charges: Charge[], start: string) => charges.find((c) => c.intervalStart === start && c.component === 'energy');

    it('prices with the prices as known before the revision', () => {
      const before = billingInput({
        sessions,
        intervals,
        tariffs: [dynamicTariff],
        assignments,
        prices: [spot('NL', '2026-11-27T17:00:00.000Z', '8.21', '21'), spot('NL', '2026-11-27T17:15:00.000Z', '36', '22')],
      });
      const { charges, unpriced } = chargesFor(before, 's2');
      expect(unpriced).toEqual([]);
      // 8.21 + 2.5 = 10.71 per kWh; 2 kWh × 10.71 = 21.42.
      expect(energyAt(charges, '2026-11-27T17:00:00.000Z')).toMatchObject({
        unitPriceMinorPerKWh: '10.71',
        priceLabel: 'spot 8.21 + 2.5',
        amountMinor: '21.42',
        justifiedBy: ['3', '4', '21', '201'],
      });
      // 36 + 2.5 = 38.5, under the cap of 40; 3 kWh × 38.5 = 115.5.
      expect(energyAt(charges, '2026-11-27T17:15:00.000Z')).toMatchObject({
        unitPriceMinorPerKWh: '38.5',
        priceLabel: 'spot 36 + 2.5',
        amountMinor: '115.5',
        justifiedBy: ['3', '4', '22', '202'],
      });
    });

    it('prices with the revised price once it is known', () => {
      const after = billingInput({
        sessions,
        intervals,
        tariffs: [dynamicTariff],
        assignments,
        prices: [spot('NL', '2026-11-27T17:00:00.000Z', '9.5', '40'), spot('NL', '2026-11-27T17:15:00.000Z', '36', '22')],
      });
      const { charges } = chargesFor(after, 's2');
      // 9.5 + 2.5 = 12; 2 kWh × 12 = 24, justified by the revision (position 40).
      expect(energyAt(charges, '2026-11-27T17:00:00.000Z')).toMatchObject({
        unitPriceMinorPerKWh: '12',
        priceLabel: 'spot 9.5 + 2.5',
        amountMinor: '24',
        justifiedBy: ['3', '4', '40', '201'],
      });
      expect(energyAt(charges, '2026-11-27T17:15:00.000Z')).toMatchObject({ amountMinor: '115.5' });
    });

    it('clamps to the cap and the floor, and reports an interval without a spot price as unpriced', () => {
      const input = billingInput({
        sessions,
        intervals: [
          interval('s2', '2026-11-27T17:30:00.000Z', '1000', '0', ['203']),
          interval('s2', '2026-11-27T17:45:00.000Z', '1000', '0', ['204']),
          interval('s2', '2026-11-27T18:00:00.000Z', '1000', '0', ['205']),
        ],
        tariffs: [dynamicTariff],
        assignments,
        prices: [spot('NL', '2026-11-27T17:30:00.000Z', '39', '23'), spot('NL', '2026-11-27T17:45:00.000Z', '-5', '24')],
      });
      const { charges, unpriced } = chargesFor(input, 's2');
      // 39 + 2.5 = 41.5 > cap 40: 1 kWh × 40 = 40.
      expect(energyAt(charges, '2026-11-27T17:30:00.000Z')).toMatchObject({ unitPriceMinorPerKWh: '40', priceLabel: 'cap 40', amountMinor: '40' });
      // -5 + 2.5 = -2.5 < floor 0: 1 kWh × 0 = 0.
      expect(energyAt(charges, '2026-11-27T17:45:00.000Z')).toMatchObject({ unitPriceMinorPerKWh: '0', priceLabel: 'floor 0', amountMinor: '0' });
      expect(energyAt(charges, '2026-11-27T18:00:00.000Z')).toBeUndefined();
      expect(unpriced).toEqual([
        { reason: 'no_spot_price', sessionId: 's2', intervalStart: '2026-11-27T18:00:00.000Z', at: '2026-11-27T18:00:00.000Z', tariffId: 'dyn', zone: 'NL' },
      ]);
    });

    it('passes a negative spot price on when there is no floor', () => {
      const input = billingInput({
        sessions,
        intervals: [interval('s2', '2026-11-27T17:45:00.000Z', '1000', '0', ['204'])],
        tariffs: [{ ...dynamicTariff, energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '-1', floorMinorPerKWh: null, capMinorPerKWh: null } }],
        assignments,
        prices: [spot('NL', '2026-11-27T17:45:00.000Z', '-5', '24')],
      });
      // -5 - 1 = -6 per kWh: 1 kWh earns the account 6.
      expect(chargesFor(input, 's2').charges).toMatchObject([{ unitPriceMinorPerKWh: '-6', priceLabel: 'spot -5 - 1', amountMinor: '-6' }]);
    });
  });

  it('prices a V2G session that imports and exports', () => {
    const v2g = fixedTariff('v2g', '30', '7', { exportCredit: { kind: 'spot', zone: 'NL', marginMinorPerKWh: '-1', floorMinorPerKWh: '0' } });
    const input = billingInput({
      sessions: [session('s3', ACCOUNT, '2026-11-27T17:50:00.000Z', '300')],
      intervals: [
        interval('s3', '2026-11-27T18:00:00.000Z', '0', '2500', ['301']),
        interval('s3', '2026-11-27T18:15:00.000Z', '1500', '500', ['302']),
        interval('s3', '2026-11-27T18:30:00.000Z', '0', '1000', ['303']),
        interval('s3', '2026-11-28T03:00:00.000Z', '4000', '0', ['304']),
      ],
      tariffs: [v2g],
      assignments: [period(ACCOUNT, 'v2g', NOV, null, '8')],
      prices: [spot('NL', '2026-11-27T18:00:00.000Z', '12.4', '31'), spot('NL', '2026-11-27T18:15:00.000Z', '0.5', '32')],
    });
    const base = { sessionId: 's3', tariffId: 'v2g' };
    expect(chargesFor(input, 's3')).toEqual({
      charges: [
        // 18:00: exports 2.5 kWh at spot 12.4 - 1 = 11.4: credit -2.5 × 11.4 = -28.5.
        {
          ...base,
          component: 'export_credit',
          intervalStart: '2026-11-27T18:00:00.000Z',
          energyWh: '2500',
          unitPriceMinorPerKWh: '-11.4',
          priceLabel: 'spot 12.4 - 1',
          amountMinor: '-28.5',
          justifiedBy: ['7', '8', '31', '301'],
        },
        // 18:15: imports 1.5 kWh × 30 = 45; exports 0.5 kWh at 0.5 - 1 = -0.5, floored at 0: credit 0.
        {
          ...base,
          component: 'energy',
          intervalStart: '2026-11-27T18:15:00.000Z',
          energyWh: '1500',
          unitPriceMinorPerKWh: '30',
          priceLabel: 'fixed',
          amountMinor: '45',
          justifiedBy: ['7', '8', '302'],
        },
        {
          ...base,
          component: 'export_credit',
          intervalStart: '2026-11-27T18:15:00.000Z',
          energyWh: '500',
          unitPriceMinorPerKWh: '0',
          priceLabel: 'floor 0',
          amountMinor: '0',
          justifiedBy: ['7', '8', '32', '302'],
        },
        // 03:00 next day: imports 4 kWh × 30 = 120; no export, so no spot price is needed.
        {
          ...base,
          component: 'energy',
          intervalStart: '2026-11-28T03:00:00.000Z',
          energyWh: '4000',
          unitPriceMinorPerKWh: '30',
          priceLabel: 'fixed',
          amountMinor: '120',
          justifiedBy: ['7', '8', '304'],
        },
      ],
      // 18:30: exports without a spot price: not charged, reported.
      unpriced: [{ reason: 'no_spot_price', sessionId: 's3', intervalStart: '2026-11-27T18:30:00.000Z', at: '2026-11-27T18:30:00.000Z', tariffId: 'v2g', zone: 'NL' }],
    });
  });

  it('charges nothing of an interval whose export credit lacks its spot price, even the energy', () => {
    const v2g = fixedTariff('v2g', '30', '7', { exportCredit: { kind: 'spot', zone: 'BE', marginMinorPerKWh: '0', floorMinorPerKWh: null } });
    const input = billingInput({
      sessions: [session('s3', ACCOUNT, '2026-11-27T17:50:00.000Z', '300')],
      intervals: [interval('s3', '2026-11-27T18:15:00.000Z', '1500', '500', ['302'])],
      tariffs: [v2g],
      assignments: [period(ACCOUNT, 'v2g', NOV, null, '8')],
      prices: [spot('NL', '2026-11-27T18:15:00.000Z', '0.5', '32')],
    });
    expect(chargesFor(input, 's3')).toEqual({
      charges: [],
      unpriced: [{ reason: 'no_spot_price', sessionId: 's3', intervalStart: '2026-11-27T18:15:00.000Z', at: '2026-11-27T18:15:00.000Z', tariffId: 'v2g', zone: 'BE' }],
    });
  });

  it('prices the intervals before and after a tariff change mid-month by the two tariffs', () => {
    // The periods as the account stream gives them: home from Nov 1, night from Nov 15 12:00 (ending home).
    const events: AccountEvent[] = [
      { type: 'TariffAssigned', data: { accountId: ACCOUNT, tariffId: 'home', validFrom: NOV, validTo: null } },
      { type: 'TariffAssigned', data: { accountId: ACCOUNT, tariffId: 'night', validFrom: '2026-11-15T12:00:00.000Z', validTo: null } },
    ];
    const periods = events.reduce(accountDecider.evolve, accountDecider.initialState()).periods;
    const positions = ['11', '12'];
    const assignments = periods.map((p, i): TariffAssignmentPeriod => ({ ...p, accountId: ACCOUNT, position: positions[i]! }));
    expect(assignments.map((a) => [a.tariffId, a.validFrom, a.validTo])).toEqual([
      ['home', NOV, '2026-11-15T12:00:00.000Z'],
      ['night', '2026-11-15T12:00:00.000Z', null],
    ]);
    const input = billingInput({
      sessions: [session('s4', ACCOUNT, '2026-11-15T11:50:00.000Z', '400')],
      intervals: [interval('s4', '2026-11-15T11:45:00.000Z', '2000', '0', ['401']), interval('s4', '2026-11-15T12:00:00.000Z', '2000', '0', ['402'])],
      tariffs: [fixedTariff('home', '25', '9', { sessionFeeMinor: '50' }), fixedTariff('night', '30', '10', { sessionFeeMinor: '99' })],
      assignments,
    });
    expect(chargesFor(input, 's4').charges.map((c) => [c.component, c.intervalStart, c.tariffId, c.amountMinor, c.justifiedBy])).toEqual([
      // The fee by the tariff in force at pluggedInAt (11:50): home's 50.
      ['session_fee', null, 'home', '50', ['9', '11', '400']],
      // 11:45: home, 2 kWh × 25 = 50.
      ['energy', '2026-11-15T11:45:00.000Z', 'home', '50', ['9', '11', '401']],
      // 12:00: night, 2 kWh × 30 = 60.
      ['energy', '2026-11-15T12:00:00.000Z', 'night', '60', ['10', '12', '402']],
    ]);
  });

  it('reports what no tariff covers instead of failing', () => {
    const input = billingInput({
      sessions: [session('s5', ACCOUNT, '2026-10-31T23:50:00.000Z', '500')],
      intervals: [
        interval('s5', '2026-10-31T23:45:00.000Z', '1000', '0', ['501']),
        interval('s5', '2026-11-01T00:00:00.000Z', '1000', '0', ['502']),
        interval('s5', '2026-12-01T00:00:00.000Z', '1000', '0', ['503']),
      ],
      tariffs: [fixedTariff('home', '25', '9')],
      assignments: [period(ACCOUNT, 'home', NOV, '2026-12-01T00:00:00.000Z', '11'), period(ACCOUNT, 'gone', '2026-12-01T00:00:00.000Z', null, '12')],
    });
    expect(chargesFor(input, 's5')).toEqual({
      charges: [
        {
          sessionId: 's5',
          component: 'energy',
          intervalStart: NOV,
          tariffId: 'home',
          energyWh: '1000',
          unitPriceMinorPerKWh: '25',
          priceLabel: 'fixed',
          amountMinor: '25',
          justifiedBy: ['9', '11', '502'],
        },
      ],
      unpriced: [
        { reason: 'no_tariff', sessionId: 's5', intervalStart: null, at: '2026-10-31T23:50:00.000Z', accountId: ACCOUNT },
        { reason: 'no_tariff', sessionId: 's5', intervalStart: '2026-10-31T23:45:00.000Z', at: '2026-10-31T23:45:00.000Z', accountId: ACCOUNT },
        { reason: 'unknown_tariff', sessionId: 's5', intervalStart: '2026-12-01T00:00:00.000Z', at: '2026-12-01T00:00:00.000Z', accountId: ACCOUNT, tariffId: 'gone' },
      ],
    });
  });

  it("ignores other accounts' assignments and other sessions' intervals", () => {
    const input = billingInput({
      sessions: [session('s6', ACCOUNT, '2026-11-02T10:00:00.000Z', '600'), session('x', 'other', '2026-11-02T10:00:00.000Z', '601')],
      intervals: [interval('s6', '2026-11-02T10:00:00.000Z', '1000', '0', ['602']), interval('x', '2026-11-02T10:00:00.000Z', '1000', '0', ['603'])],
      tariffs: [fixedTariff('home', '25', '9'), fixedTariff('theirs', '99', '10')],
      assignments: [period('other', 'theirs', NOV, null, '13'), period(ACCOUNT, 'home', NOV, null, '11')],
    });
    expect(chargesFor(input, 's6').charges.map((c) => [c.sessionId, c.tariffId, c.amountMinor])).toEqual([['s6', 'home', '25']]);
  });

  it('refuses a spot price in another currency than the tariff, and a session the input does not hold', () => {
    const input = billingInput({
      sessions: [session('s7', ACCOUNT, '2026-11-27T17:00:00.000Z', '700')],
      intervals: [interval('s7', '2026-11-27T17:00:00.000Z', '1000', '0', ['701'])],
      tariffs: [dynamicTariff],
      assignments: [period(ACCOUNT, 'dyn', NOV, null, '4')],
      prices: [spot('NL', '2026-11-27T17:00:00.000Z', '8', '21', 'DKK')],
    });
    expect(() => chargesFor(input, 's7')).toThrow(SpotPriceCurrencyMismatch);
    expect(() => chargesFor(input, 'nope')).toThrow(SessionNotInBillingInput);
  });

  it('stays exact where 20 significant digits would not', () => {
    const input = billingInput({
      sessions: [session('s8', ACCOUNT, '2026-11-27T17:00:00.000Z', '800')],
      intervals: [interval('s8', '2026-11-27T17:00:00.000Z', '12345.6789012345678901', '0', ['801'])],
      tariffs: [fixedTariff('home', '8.21123456789012345', '9')],
      assignments: [period(ACCOUNT, 'home', NOV, null, '11')],
    });
    // 12.3456789012345678901 × 8.21123456789012345 = 101.373265357889041130656499916295032845 (39 significant digits).
    expect(chargesFor(input, 's8').charges[0]?.amountMinor).toBe('101.373265357889041130656499916295032845');
  });

  it('assignmentAt: [validFrom, validTo) per account', () => {
    const assignments = [period(ACCOUNT, 'a', NOV, '2026-11-15T00:00:00.000Z', '1'), period(ACCOUNT, 'b', '2026-11-15T00:00:00.000Z', null, '2')];
    expect(assignmentAt(assignments, ACCOUNT, Date.parse('2026-11-14T23:59:59.999Z'))?.tariffId).toBe('a');
    expect(assignmentAt(assignments, ACCOUNT, Date.parse('2026-11-15T00:00:00.000Z'))?.tariffId).toBe('b');
    expect(assignmentAt(assignments, ACCOUNT, Date.parse('2026-10-31T23:59:59.999Z'))).toBeNull();
    expect(assignmentAt(assignments, 'other', Date.parse('2026-11-20T00:00:00.000Z'))).toBeNull();
    // withAssignment is what turns TariffAssigned events into these periods.
    expect(withAssignment([], assignments[0]!)).toEqual([assignments[0]]);
  });
});
