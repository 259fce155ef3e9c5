/**
 * A trade's money, the one figure the tape, the positions and settlement all use: quantityWh ×
 * priceMinorPerMWh / 1,000,000, rounded half-even to a whole minor unit, once per trade. The buyer
 * pays it to the seller; a negative price makes it negative (the seller pays the buyer). Sums of
 * it (a position, a settlement period) are sums of whole minor units, so they reconcile to the cent.
 *
 * Pure.
 */
import { ExactDecimal, Decimal } from '../values/index.ts';

/** The trade's money total, whole minor units, half-even: what the buyer pays the seller (negative: the seller pays). */
export function tradeAmountMinor(quantityWh: string, priceMinorPerMWh: string): bigint {
  const exact = new ExactDecimal(quantityWh).times(new ExactDecimal(priceMinorPerMWh)).dividedBy(1_000_000);
  return BigInt(exact.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed());
}
