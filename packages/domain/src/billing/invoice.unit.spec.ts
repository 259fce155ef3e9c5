import { describe, expect, it } from 'vitest';
import { billingInput, fixedTariff, homeTouTariff, interval, period, session, spot, type PricedTariff } from '../../test/billing-fixtures.ts';
import { InvalidCommand } from '../errors.ts';
import { Decimal } from '../values/index.ts';
import { MixedInvoiceCurrencies } from './billing-errors.ts';
import type { Charge } from './billing-types.ts';
import { allocateRounding, buildInvoice, invoiceLines, monthRange, NO_CURRENCY } from './invoice.ts';

const ACCOUNT = 'cust-1';
const NOV = '2026-11-01T00:00:00.000Z';
const DEC = '2026-12-01T00:00:00.000Z';

const touTariff = homeTouTariff('5', { exportCredit: { kind: 'fixed', creditMinorPerKWh: '10' } });

const amounts = (values: string[]) => {
  const { totalMinor, amountsMinor } = allocateRounding(values.map((v) => new Decimal(v)));
  return { total: totalMinor.toFixed(), lines: amountsMinor.map((a) => a.toFixed()) };
};

describe('allocateRounding', () => {
  it('gives the units the rounded lines miss to the lines rounded furthest the other way, ties to the earlier line', () => {
    // 0.5 + 0.5 + 0.5 = 1.5 → total 2 (half-even); each 0.5 → 0 (half-even); 2 units to give: lines 1 and 2.
    expect(amounts(['0.5', '0.5', '0.5'])).toEqual({ total: '2', lines: ['1', '1', '0'] });
    // 0.6 × 3 = 1.8 → 2; each → 1, sum 3; one unit too many: taken from the first (all rounded up by 0.4).
    expect(amounts(['0.6', '0.6', '0.6'])).toEqual({ total: '2', lines: ['0', '1', '1'] });
    // 0.2 + 0.45 + 0.3 = 0.95 → 1; each → 0; the unit goes to the largest remainder, 0.45.
    expect(amounts(['0.2', '0.45', '0.3'])).toEqual({ total: '1', lines: ['0', '1', '0'] });
    // Credits: -0.5 - 0.5 + 2.5 = 1.5 → 2; rounded -0, -0, 2 = 2: nothing to move.
    expect(amounts(['-0.5', '-0.5', '2.5'])).toEqual({ total: '2', lines: ['0', '0', '2'] });
    // -0.7 - 0.7 = -1.4 → -1; each → -1, sum -2; one unit back to the first (both rounded down by 0.3).
    expect(amounts(['-0.7', '-0.7'])).toEqual({ total: '-1', lines: ['0', '-1'] });
    expect(amounts([])).toEqual({ total: '0', lines: [] });
  });
});

describe('invoiceLines', () => {
  it('groups by session, component, tariff and label, in a fixed order', () => {
    const charge = (sessionId: string, component: Charge['component'], priceLabel: string, amountMinor: string, justifiedBy: string[]): Charge => ({
      sessionId,
      component,
      intervalStart: component === 'session_fee' ? null : '2026-11-02T00:00:00.000Z',
      tariffId: 't',
      energyWh: component === 'session_fee' ? '0' : '1000',
      unitPriceMinorPerKWh: null,
      priceLabel,
      amountMinor,
      justifiedBy,
    });
    const { lines, totalMinor } = invoiceLines(
      [
        charge('b', 'export_credit', 'fixed', '-1.25', ['9']),
        charge('b', 'energy', 'fixed', '2.5', ['10']),
        charge('a', 'speed', 'fast', '0.25', ['3']),
        charge('b', 'energy', 'fixed', '2.5', ['8']),
        charge('a', 'session_fee', 'session fee', '50', ['1']),
      ],
      new Map([
        ['a', '2026-11-02T10:00:00.000Z'],
        ['b', '2026-11-01T10:00:00.000Z'],
      ]),
    );
    expect(lines.map((l) => [l.sessionId, l.component, l.priceLabel, l.energyWh, l.exactAmountMinor, l.amountMinor, l.justifiedBy])).toEqual([
      // b plugged in first. 2.5 + 2.5 = 5.
      ['b', 'energy', 'fixed', '2000', '5', '5', ['8', '10']],
      // -1.25 → -1.
      ['b', 'export_credit', 'fixed', '1000', '-1.25', '-1', ['9']],
      // 0.25 → 0.
      ['a', 'speed', 'fast', '1000', '0.25', '0', ['3']],
      ['a', 'session_fee', 'session fee', '0', '50', '50', ['1']],
    ]);
    // 5 - 1.25 + 0.25 + 50 = 54 exactly.
    expect(totalMinor).toBe('54');
  });
});

describe('buildInvoice', () => {
  it('bills the peak/off-peak session of a month in rounded lines that add up to the total', () => {
    const input = billingInput({
      sessions: [session('s1', ACCOUNT, '2026-11-27T15:40:00.000Z', '100')],
      intervals: [
        interval('s1', '2026-11-27T15:30:00.000Z', '1375', '0', ['101']),
        interval('s1', '2026-11-27T15:45:00.000Z', '2750', '0', ['101', '102']),
        interval('s1', '2026-11-27T16:00:00.000Z', '2750', '0', ['102', '103']),
        interval('s1', '2026-11-27T16:15:00.000Z', '1234.567', '500', ['104']),
      ],
      tariffs: [touTariff],
      assignments: [period(ACCOUNT, 'home-tou', NOV, null, '6')],
    });
    const line = (component: string, priceLabel: string, energyWh: string, exactAmountMinor: string, amountMinor: string, justifiedBy: string[]) => ({
      sessionId: 's1',
      component,
      tariffId: 'home-tou',
      priceLabel,
      energyWh,
      exactAmountMinor,
      amountMinor,
      justifiedBy,
    });
    expect(buildInvoice(input, ACCOUNT, '2026-11')).toEqual({
      accountId: ACCOUNT,
      month: '2026-11',
      currency: 'EUR',
      lines: [
        // off-peak: 1.375 × 20 + 2.75 × 20 = 27.5 + 55 = 82.5 → 82 (half-even).
        line('energy', 'off-peak', '4125', '82.5', '82', ['5', '6', '101', '102']),
        // peak: 2.75 × 35 + 1.234567 × 35 = 96.25 + 43.209845 = 139.459845 → 139.
        line('energy', 'peak', '3984.567', '139.459845', '139', ['5', '6', '102', '103', '104']),
        // fast (11000 W, 2 intervals): 2.75 × 5 × 2 = 27.5 → 28 (half-even).
        line('speed', 'fast', '5500', '27.5', '28', ['5', '6', '101', '102', '103']),
        line('session_fee', 'session fee', '0', '50', '50', ['5', '6', '100']),
        // export: -0.5 × 10 = -5.
        line('export_credit', 'fixed', '500', '-5', '-5', ['5', '6', '104']),
      ],
      // 82.5 + 139.459845 + 27.5 + 50 - 5 = 294.459845 → 294 = 82 + 139 + 28 + 50 - 5.
      totalMinor: '294',
      unpricedIntervals: [],
      untariffedIntervals: [],
    });
  });

  it('allocates the remainder: three lines of 0.5 minor units', () => {
    const penny = fixedTariff('penny', '1', '2');
    const input = billingInput({
      sessions: [
        session('s-c', ACCOUNT, '2026-11-03T08:00:00.000Z', '30'),
        session('s-a', ACCOUNT, '2026-11-01T08:00:00.000Z', '10'),
        session('s-b', ACCOUNT, '2026-11-02T08:00:00.000Z', '20'),
      ],
      intervals: [
        // 0.5 kWh × 1 = 0.5 each.
        interval('s-a', '2026-11-01T08:00:00.000Z', '500', '0', ['11']),
        interval('s-b', '2026-11-02T08:00:00.000Z', '500', '0', ['21']),
        interval('s-c', '2026-11-03T08:00:00.000Z', '500', '0', ['31']),
      ],
      tariffs: [penny],
      assignments: [period(ACCOUNT, 'penny', NOV, null, '3')],
    });
    const invoice = buildInvoice(input, ACCOUNT, '2026-11');
    // Exact 1.5 → total 2; each 0.5 → 0; the 2 missing units go to the first two lines (equal remainders).
    expect(invoice.lines.map((l) => [l.sessionId, l.exactAmountMinor, l.amountMinor])).toEqual([
      ['s-a', '0.5', '1'],
      ['s-b', '0.5', '1'],
      ['s-c', '0.5', '0'],
    ]);
    expect(invoice.totalMinor).toBe('2');
  });

  it('bills a mid-month tariff change, and only what falls in the month', () => {
    const input = billingInput({
      sessions: [
        session('s4', ACCOUNT, '2026-11-15T11:50:00.000Z', '400'),
        // Plugged in October: its fee belongs to October, its November intervals to November.
        session('s0', ACCOUNT, '2026-10-31T23:40:00.000Z', '300'),
      ],
      intervals: [
        interval('s0', '2026-10-31T23:45:00.000Z', '1000', '0', ['301']),
        interval('s0', '2026-11-01T00:00:00.000Z', '1000', '0', ['302']),
        interval('s4', '2026-11-15T11:45:00.000Z', '2000', '0', ['401']),
        interval('s4', '2026-11-15T12:00:00.000Z', '2000', '0', ['402']),
        interval('s4', '2026-12-01T00:00:00.000Z', '2000', '0', ['403']),
      ],
      tariffs: [fixedTariff('home', '25', '9', { sessionFeeMinor: '50' }), fixedTariff('night', '30', '10', { sessionFeeMinor: '99' })],
      assignments: [period(ACCOUNT, 'home', '2026-10-01T00:00:00.000Z', '2026-11-15T12:00:00.000Z', '11'), period(ACCOUNT, 'night', '2026-11-15T12:00:00.000Z', null, '12')],
    });
    const invoice = buildInvoice(input, ACCOUNT, '2026-11');
    expect(invoice.lines.map((l) => [l.sessionId, l.component, l.tariffId, l.exactAmountMinor, l.amountMinor])).toEqual([
      // s0: only its November interval, 1 kWh × 25.
      ['s0', 'energy', 'home', '25', '25'],
      // s4: 11:45 by home (2 × 25 = 50), 12:00 by night (2 × 30 = 60); the fee by home (at 11:50).
      ['s4', 'energy', 'home', '50', '50'],
      ['s4', 'energy', 'night', '60', '60'],
      ['s4', 'session_fee', 'home', '50', '50'],
    ]);
    expect(invoice.totalMinor).toBe('185');
    const october = buildInvoice(input, ACCOUNT, '2026-10');
    expect(october.lines.map((l) => [l.sessionId, l.component, l.amountMinor])).toEqual([
      ['s0', 'energy', '25'],
      ['s0', 'session_fee', '50'],
    ]);
  });

  it('lists what it could not price or has no tariff for, without billing it', () => {
    const dyn: PricedTariff = { ...fixedTariff('dyn', '0', '3'), energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '0', floorMinorPerKWh: null, capMinorPerKWh: null } };
    const input = billingInput({
      sessions: [session('s1', ACCOUNT, '2026-11-30T23:20:00.000Z', '100')],
      intervals: [
        interval('s1', '2026-11-30T23:15:00.000Z', '1000', '0', ['101']),
        interval('s1', '2026-11-30T23:30:00.000Z', '1000', '0', ['102']),
        interval('s1', '2026-11-30T23:45:00.000Z', '1000', '0', ['103']),
      ],
      tariffs: [dyn],
      assignments: [period(ACCOUNT, 'dyn', '2026-11-30T23:30:00.000Z', '2026-11-30T23:45:00.000Z', '4'), period(ACCOUNT, 'unknown', '2026-11-30T23:45:00.000Z', null, '5')],
      prices: [spot('NL', '2026-11-30T23:15:00.000Z', '10', '20')],
    });
    const invoice = buildInvoice(input, ACCOUNT, '2026-11');
    expect(invoice.lines).toEqual([]);
    expect(invoice.totalMinor).toBe('0');
    expect(invoice.unpricedIntervals).toEqual([{ sessionId: 's1', intervalStart: '2026-11-30T23:30:00.000Z', zone: 'NL' }]);
    expect(invoice.untariffedIntervals).toEqual([
      { sessionId: 's1', intervalStart: '2026-11-30T23:15:00.000Z', tariffId: null },
      { sessionId: 's1', intervalStart: null, tariffId: null },
      { sessionId: 's1', intervalStart: '2026-11-30T23:45:00.000Z', tariffId: 'unknown' },
    ]);
  });

  it('is in the currency of the account tariffs, "XXX" without any, and refuses tariffs in two currencies', () => {
    const input = billingInput({
      sessions: [],
      intervals: [],
      tariffs: [fixedTariff('eur', '1', '1'), { ...fixedTariff('dkk', '1', '2'), currency: 'DKK' }],
      assignments: [period(ACCOUNT, 'eur', NOV, DEC, '3'), period(ACCOUNT, 'dkk', DEC, null, '4'), period('other', 'eur', NOV, null, '5')],
    });
    let thrown: unknown;
    try {
      buildInvoice(input, ACCOUNT, '2026-11');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MixedInvoiceCurrencies);
    expect(thrown).toMatchObject({ code: 'MIXED_INVOICE_CURRENCIES', details: { accountId: ACCOUNT, currencies: { dkk: 'DKK', eur: 'EUR' } } });
    expect(buildInvoice(input, 'other', '2026-11')).toMatchObject({ currency: 'EUR', lines: [], totalMinor: '0' });
    expect(buildInvoice(input, 'nobody', '2026-11')).toMatchObject({ currency: NO_CURRENCY, lines: [], totalMinor: '0' });
  });

  it('refuses a malformed month or account id', () => {
    const input = billingInput({ sessions: [], intervals: [], tariffs: [], assignments: [] });
    for (const month of ['2026-13', '2026-1', '26-11', '2026-11-01']) expect(() => buildInvoice(input, ACCOUNT, month)).toThrow(InvalidCommand);
    expect(() => buildInvoice(input, ' ', '2026-11')).toThrow(InvalidCommand);
    expect(monthRange('2026-12')).toEqual({ startMs: Date.parse(DEC), endMs: Date.parse('2027-01-01T00:00:00.000Z') });
  });
});
