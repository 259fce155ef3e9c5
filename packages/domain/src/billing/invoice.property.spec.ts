import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Charge, ChargeComponent } from './billing-types.ts';
import { invoiceLines } from './invoice.ts';

/** Amounts with at most 6 decimals, as a scaled bigint (× 10^6) and as the decimal string. */
const SCALE = 1_000_000n;
const toText = (scaled: bigint): string => {
  const negative = scaled < 0n;
  const abs = negative ? -scaled : scaled;
  const fraction = (abs % SCALE).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / SCALE}${fraction === '' ? '' : `.${fraction}`}`;
};

/** Half-even rounding of scaled/10^6 to a whole number, independently of decimal.js. */
function roundHalfEven(scaled: bigint): bigint {
  const floor = scaled >= 0n ? scaled / SCALE : -((-scaled + SCALE - 1n) / SCALE);
  const remainder = scaled - floor * SCALE; // 0 <= remainder < SCALE
  if (remainder * 2n < SCALE) return floor;
  if (remainder * 2n > SCALE) return floor + 1n;
  return floor % 2n === 0n ? floor : floor + 1n;
}

const scaledAmount = fc.oneof(
  // Halves and quarters: the ties half-even rounding is about.
  fc.integer({ min: -400, max: 400 }).map((n) => BigInt(n) * (SCALE / 4n)),
  fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
  fc.bigInt({ min: -3n * SCALE, max: 3n * SCALE }),
);

const charge = fc.record({
  sessionId: fc.constantFrom('a', 'b', 'c'),
  component: fc.constantFrom<ChargeComponent>('energy', 'speed', 'session_fee', 'export_credit'),
  tariffId: fc.constantFrom('t1', 't2'),
  priceLabel: fc.constantFrom('peak', 'off-peak', 'spot 8.21 + 2.5', 'fast'),
  amount: scaledAmount,
  energyWh: fc.nat({ max: 100_000 }).map(String),
  position: fc.nat({ max: 1000 }).map(String),
});

type GeneratedCharge = typeof charge extends fc.Arbitrary<infer T> ? T : never;

const PLUGGED_IN = new Map([
  ['a', '2026-11-02T00:00:00.000Z'],
  ['b', '2026-11-01T00:00:00.000Z'],
]);

/** A generated charge as the pricing hands it to the invoice (no interval, no unit price). */
const asCharge = (g: GeneratedCharge): Charge => ({
  sessionId: g.sessionId,
  component: g.component,
  intervalStart: null,
  tariffId: g.tariffId,
  energyWh: g.energyWh,
  unitPriceMinorPerKWh: null,
  priceLabel: g.priceLabel,
  amountMinor: toText(g.amount),
  justifiedBy: [g.position],
});

describe('invoice lines (properties)', () => {
  it('add up exactly to the total, which is the half-even rounding of the exact sum, each within one minor unit of its exact amount', () => {
    fc.assert(
      fc.property(fc.array(charge, { maxLength: 60 }), (generated) => {
        const charges = generated.map(asCharge);
        const { lines, totalMinor } = invoiceLines(charges, PLUGGED_IN);
        const exactSum = generated.reduce((sum, g) => sum + g.amount, 0n);
        expect(totalMinor).toBe(roundHalfEven(exactSum).toString());
        const lineSum = lines.reduce((sum, l) => sum + BigInt(l.amountMinor), 0n); // BigInt() throws unless a whole number
        expect(lineSum.toString()).toBe(totalMinor);
        let exactOfLines = 0n;
        for (const line of lines) {
          const exact = generated
            .filter((g) => g.sessionId === line.sessionId && g.component === line.component && g.tariffId === line.tariffId && g.priceLabel === line.priceLabel)
            .reduce((sum, g) => sum + g.amount, 0n);
          expect(line.exactAmountMinor).toBe(toText(exact));
          const difference = BigInt(line.amountMinor) * SCALE - exact;
          expect(difference < SCALE && difference > -SCALE, `${line.amountMinor} vs ${line.exactAmountMinor}`).toBe(true);
          exactOfLines += exact;
        }
        expect(exactOfLines).toBe(exactSum);
        // One line per group, none empty.
        expect(new Set(lines.map((l) => `${l.sessionId}|${l.component}|${l.tariffId}|${l.priceLabel}`)).size).toBe(lines.length);
      }),
      { numRuns: 500 },
    );
  });

  it('do not depend on the order of the charges', () => {
    fc.assert(
      fc.property(
        fc.array(charge, { maxLength: 30 }).chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))),
        ([list, shuffled]) => {
          const asCharges = (items: typeof list): Charge[] => items.map(asCharge);
          expect(invoiceLines(asCharges(shuffled), PLUGGED_IN)).toEqual(invoiceLines(asCharges(list), PLUGGED_IN));
        },
      ),
      { numRuns: 300 },
    );
  });
});
