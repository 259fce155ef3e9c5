import { InvalidCommand } from '../errors.ts';

/** An ISO 4217 currency code ("EUR"). Amounts are decimal strings in the currency's minor unit. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

export function checkCurrency(field: string, value: unknown): string {
  if (typeof value !== 'string' || !CURRENCY_PATTERN.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not an ISO 4217 currency code such as "EUR"`);
  }
  return value;
}
