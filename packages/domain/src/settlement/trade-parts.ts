/**
 * A trade's share of each settlement period it delivers in. A trade for [deliveryStart,
 * deliveryEnd) delivers evenly over its periods: its quantity (whole Wh) and its money total are
 * each split into whole parts by largest remainder (every part gets the floor of the even share,
 * the units left over go one each to the earliest periods), so the parts add up exactly.
 *
 * Money: the total is the trade's amount (tradeAmountMinor, market/trade-amount.ts: quantityWh ×
 * priceMinorPerMWh / 1,000,000 rounded half-even to a whole minor unit, as the tape and the
 * positions show it); the buyer pays it to the seller. A negative price makes it negative: the seller pays the
 * buyer (the money transfer runs the other way).
 *
 * Pure.
 */
import { InvalidCommand } from '../errors.ts';
import { DECIMAL_PATTERN, formatInstant, parseInstant } from '../values/index.ts';
import { tradeAmountMinor } from '../market/trade-amount.ts';
import type { SettlementTrade, TradePart, Transfer } from './settlement-types.ts';

/** Energy ledger code. */
export const ENERGY_LEDGER = 'Wh';

export const traderAccount = (participantId: string): string => `trader:${participantId}`;

/** Id of a trade part's pending transfer: `trade/<tradeId>/<periodStart>/energy` or `.../money`. */
export const tradePartTransferId = (tradeId: string, periodStart: string, leg: 'energy' | 'money'): string => `trade/${tradeId}/${periodStart}/${leg}`;

const WHOLE = /^(0|[1-9][0-9]*)$/;

/**
 * Splits a whole amount into `count` whole parts by largest remainder over equal weights: each part
 * is trunc(total / count), and the |total| mod count units left over go one each to the first
 * parts (all remainders tie: the earlier part). Parts have the total's sign and add up to it.
 */
export function splitEvenly(total: bigint, count: number): bigint[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`cannot split into ${count} parts`);
  const n = BigInt(count);
  const magnitude = total < 0n ? -total : total;
  const base = magnitude / n;
  const left = magnitude % n;
  const sign = total < 0n ? -1n : 1n;
  return Array.from({ length: count }, (_, k) => sign * (base + (BigInt(k) < left ? 1n : 0n)));
}

/**
 * The trade's parts, one per period of `periodMinutes` (default 15) in [deliveryStart, deliveryEnd),
 * oldest first, each with its pending transfers: energy seller → buyer (`trader:<sellerId>` debit,
 * `trader:<buyerId>` credit, ledger "Wh") and money buyer → seller in the trade's currency (accounts
 * swapped when the amount is negative). A zero part has no transfer (null).
 */
export function tradeParts(trade: SettlementTrade, periodMinutes = 15): TradePart[] {
  if (!Number.isSafeInteger(periodMinutes) || periodMinutes < 1) throw new RangeError(`periodMinutes ${periodMinutes} is not a whole number of minutes`);
  const periodMs = periodMinutes * 60_000;
  const startMs = parseInstant('trade.deliveryStart', trade.deliveryStart);
  const endMs = parseInstant('trade.deliveryEnd', trade.deliveryEnd);
  if (startMs % periodMs !== 0) throw new InvalidCommand('trade.deliveryStart', `${trade.deliveryStart} is not aligned to ${periodMinutes} minutes`);
  if (endMs <= startMs || (endMs - startMs) % periodMs !== 0) {
    throw new InvalidCommand('trade.deliveryEnd', `${trade.deliveryEnd} must be a whole number of ${periodMinutes}-minute periods after ${trade.deliveryStart}`);
  }
  if (typeof trade.quantityWh !== 'string' || !WHOLE.test(trade.quantityWh))
    throw new InvalidCommand('trade.quantityWh', `${JSON.stringify(trade.quantityWh)} is not a whole number of Wh`);
  if (typeof trade.priceMinorPerMWh !== 'string' || !DECIMAL_PATTERN.test(trade.priceMinorPerMWh)) {
    throw new InvalidCommand('trade.priceMinorPerMWh', `${JSON.stringify(trade.priceMinorPerMWh)} is not a decimal`);
  }
  const count = (endMs - startMs) / periodMs;
  const energy = splitEvenly(BigInt(trade.quantityWh), count);
  const money = splitEvenly(tradeAmountMinor(trade.quantityWh, trade.priceMinorPerMWh), count);
  const seller = traderAccount(trade.sellerId);
  const buyer = traderAccount(trade.buyerId);
  return energy.map((energyWh, k): TradePart => {
    const periodStart = formatInstant(startMs + k * periodMs);
    const amountMinor = money[k]!;
    const transfer = (leg: 'energy' | 'money', ledger: string, debit: string, credit: string, amount: bigint): Transfer => ({
      transferId: tradePartTransferId(trade.tradeId, periodStart, leg),
      ledger,
      debitAccount: debit,
      creditAccount: credit,
      amount: amount.toString(),
      kind: leg === 'energy' ? 'trade_energy' : 'trade_money',
      reverses: null,
      postsPending: null,
    });
    return {
      tradeId: trade.tradeId,
      periodStart,
      energyWh: energyWh.toString(),
      amountMinor: amountMinor.toString(),
      energyTransfer: energyWh > 0n ? transfer('energy', ENERGY_LEDGER, seller, buyer, energyWh) : null,
      moneyTransfer:
        amountMinor > 0n ? transfer('money', trade.currency, buyer, seller, amountMinor) : amountMinor < 0n ? transfer('money', trade.currency, seller, buyer, -amountMinor) : null,
    };
  });
}
