import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import { parseRegister } from '../metering/register-series.ts';
import { Decimal, MAX_DECIMAL_LENGTH, parseQuantity, QUANTITY_BOUNDS, quantityKindOf, quantityProblem, type QuantityKind } from './quantities.ts';
import { instantProblem } from '../time-bounds.ts';

describe('quantity bounds', () => {
  it("reads a field's kind from the unit its name ends with, also inside a path", () => {
    const kinds: [string, QuantityKind][] = [
      ['importLimitW', 'powerW'],
      ['charger.maxDischargePowerW', 'powerW'],
      ['setpoints[3].powerW', 'powerW'],
      ['energyImportWh', 'energyWh'],
      ['meterStartExportWh', 'energyWh'],
      ['orders[1].quantityKWh', 'energyKWh'],
      ['limitPriceMinorPerMWh', 'perMWh'],
      ['points[0].priceMinorPerKWh', 'perKWh'],
      ['carbonGPerKWh', 'perKWh'],
      ['targetSocPercent', 'percent'],
      ['amount', 'decimal'],
    ];
    for (const [field, kind] of kinds) expect(quantityKindOf(field), field).toBe(kind);
  });

  it('refuses what no field can mean, saying the bound', () => {
    const refused: [string, string, RegExp][] = [
      ['powerW', '1'.repeat(10_000), /10000 characters long; a decimal has at most 40/],
      ['powerW', `0.${'1'.repeat(50)}`, /at most 40/],
      ['powerW', '7.12345', /5 decimals; at most 3/],
      ['importLimitW', '1000000000.001', /beyond 1000000000 W \(1 GW/],
      ['otherLoadW', '-2000000000', /beyond 1000000000 W/],
      ['energyImportWh', '1000000000001', /beyond 1000000000000 Wh \(1 TWh, beyond any meter's register\)/],
      ['energyImportWh', '1.0001', /4 decimals; at most 3/],
      ['quantityKWh', '1000000001', /beyond 1000000000 kWh/],
      ['quantityKWh', '0.0001', /at most 3/],
      ['limitPriceMinorPerMWh', '1e3', /not a decimal string/],
      ['limitPriceMinorPerMWh', '10000000000000000', /beyond 1000000000000000 per MWh/],
      ['priceMinorPerKWh', '0.1234567', /7 decimals; at most 6/],
      ['socPercent', '100.5', /beyond 100 %/],
      ['amount', '123456789012345678901', /21 digits; at most 20/],
      ['amount', 12 as unknown as string, /not a decimal string/],
    ];
    for (const [field, value, message] of refused) {
      expect(() => parseQuantity(field, value), `${field} ${String(value).slice(0, 20)}`).toThrow(InvalidCommand);
      expect(quantityProblem(field, value), field).toMatch(message);
    }
  });

  it("accepts every decimal within its kind's bounds (property)", () => {
    const kinds = Object.keys(QUANTITY_BOUNDS) as QuantityKind[];
    const within = fc.constantFrom(...kinds).chain((kind) => {
      const bound = QUANTITY_BOUNDS[kind];
      const scale = 10 ** bound.maxDecimals;
      // Whole multiples of the smallest step, up to the bound (in steps that a double holds exactly).
      const maxSteps = Math.min(Number(bound.maxAbs.times(scale).toFixed()), Number.MAX_SAFE_INTEGER);
      return fc.tuple(fc.constant(kind), fc.integer({ min: -Math.min(maxSteps, 2 ** 53 - 1), max: maxSteps }));
    });
    fc.assert(
      fc.property(within, ([kind, steps]) => {
        const bound = QUANTITY_BOUNDS[kind];
        const value = new Decimal(steps).div(10 ** bound.maxDecimals).toFixed();
        if (value.replace(/^-/, '').replace('.', '').replace(/^0+/, '').length > 20) return;
        expect(quantityProblem('x', value, kind)).toBeNull();
      }),
    );
  });

  it('refuses every decimal one step beyond a bound, or with one decimal too many (property)', () => {
    const kinds = Object.keys(QUANTITY_BOUNDS) as QuantityKind[];
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.boolean(), fc.integer({ min: 1, max: 9 }), (kind, negative, digit) => {
        const bound = QUANTITY_BOUNDS[kind];
        // One smallest step beyond the bound; where that needs more than 20 digits, the digits refuse it.
        const beyond = `${bound.maxAbs.toFixed()}.${'0'.repeat(bound.maxDecimals - 1)}1`;
        expect(quantityProblem('x', `${negative ? '-' : ''}${beyond}`, kind)).toMatch(/is beyond|digits; at most 20/);
        expect(quantityProblem('x', `${negative ? '-' : ''}${bound.maxAbs.plus(1).toFixed()}`, kind)).toMatch(/is beyond/);
        expect(quantityProblem('x', `1.${'0'.repeat(bound.maxDecimals)}${digit}`, kind)).toMatch(/decimals; at most/);
      }),
    );
    expect(MAX_DECIMAL_LENGTH).toBeGreaterThanOrEqual('-1000000000000000.000000'.length);
  });

  it('bounds a meter register at 10^12 Wh', () => {
    expect(parseRegister('energyImportWh', '1000000000000')).toBe('1000000000000');
    expect(() => parseRegister('energyImportWh', '1000000000000.001')).toThrow(/beyond 1000000000000 Wh/);
  });
});

describe('the times the ledger records', () => {
  it('takes 2000-01-01 up to (not including) 2100-01-01, and refuses year 0000, 1999 and 2100 naming the bounds', () => {
    expect(instantProblem('2000-01-01T00:00:00Z')).toBeNull();
    expect(instantProblem('2099-12-31T23:59:59.999Z')).toBeNull();
    for (const value of ['0000-01-01T00:00:00Z', '1999-12-31T23:59:59.999Z', '2100-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
      expect(instantProblem(value), value).toBe(`${value} is outside the times the ledger records: from 2000-01-01T00:00:00.000Z to before 2100-01-01T00:00:00.000Z`);
    }
    expect(instantProblem('yesterday')).toMatch(/not a UTC instant/);
  });
});
