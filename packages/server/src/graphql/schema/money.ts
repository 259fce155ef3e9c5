import { Decimal } from '@v2g/domain';
import { builder } from '../builder.ts';

/**
 * An amount with its currency. The ledger counts in minor units (cents); `amount` is the same
 * figure in major units, with as many decimals as the currency has (ISO 4217, from ICU).
 */
export type MoneyShape = { amountMinor: string; currency: string };

const minorDigits = new Map<string, number>();

function minorUnitDigits(currency: string): number {
  let digits = minorDigits.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    minorDigits.set(currency, digits);
  }
  return digits;
}

export const Money = builder.objectRef<MoneyShape>('Money').implement({
  description: 'An amount of money: exact, as decimal strings, with its currency.',
  fields: (t) => ({
    amountMinor: t.field({ type: 'Decimal', description: 'In minor units (cents for EUR); whole on invoice lines and totals.', resolve: (m) => m.amountMinor }),
    amount: t.field({
      type: 'Decimal',
      description: 'In major units (euros for EUR).',
      resolve: (m) => new Decimal(m.amountMinor).div(new Decimal(10).pow(minorUnitDigits(m.currency))).toFixed(),
    }),
    currency: t.exposeString('currency', { description: 'ISO 4217, e.g. "EUR".' }),
  }),
});
