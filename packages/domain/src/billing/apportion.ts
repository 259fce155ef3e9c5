/**
 * Spreads the energy measured between two meter readings over the 15-minute billing intervals.
 *
 * The registers between two readings are assumed to have moved linearly in time, so each interval
 * gets the share of the energy that its overlap with the span [from.at, to.at) is of the whole span
 * (by overlap time, in milliseconds). Shares are in mWh (3 decimals, the registers' resolution);
 * the exact shares are rounded down and the mWh left over go one each to the intervals with the
 * largest remainders (ties: the earlier interval), so the shares add up to the register difference
 * exactly. The arithmetic is on integers (bigint mWh), never on floats.
 *
 * Pure: no clock, no I/O.
 */
import type { Decimal } from '../values/index.ts';
import { DECIMAL_PATTERN, formatInstant, intervalStartOf, parseInstant, QUARTER_HOUR_MS } from '../values/index.ts';

/** A reading of both energy registers at an instant (Wh, at most 3 decimals). */
export type RegisterReading = { at: string; importWh: string | Decimal; exportWh: string | Decimal };

export type IntervalShare = { intervalStart: string; importWh: string; exportWh: string };

/** The same, in epoch ms and integer mWh: the form the billing projection computes in. */
export type MilliShare = { startMs: number; importMilli: bigint; exportMilli: bigint };

/**
 * A decimal (string or Decimal) in thousandths, exactly: "1234.5" → 1234500n. Throws a RangeError
 * for more than 3 significant decimals (an energy register reads whole mWh at most).
 */
export function toMilli(value: string | Decimal): bigint {
  const text = typeof value === 'string' ? value : value.toFixed();
  if (!DECIMAL_PATTERN.test(text)) throw new RangeError(`${JSON.stringify(text)} is not a decimal string`);
  const dot = text.indexOf('.');
  if (dot < 0) return BigInt(text) * 1000n;
  let fraction = text.slice(dot + 1);
  if (fraction.length > 3) {
    fraction = fraction.replace(/0+$/, '');
    if (fraction.length > 3) throw new RangeError(`${text} has more than 3 decimals: energy registers read whole mWh at most`);
  }
  // "-0.5" → "-0" + "500": the sign stays with the digits.
  return BigInt(text.slice(0, dot) + fraction.padEnd(3, '0'));
}

/** Thousandths back to the canonical decimal string (no exponent, no trailing zeros). */
export function fromMilli(milli: bigint): string {
  const negative = milli < 0n;
  // At least one whole digit and three decimals: 5n → "0005" → "0.005".
  const digits = (negative ? -milli : milli).toString().padStart(4, '0');
  const point = digits.length - 3;
  let end = digits.length;
  while (end > point && digits.charCodeAt(end - 1) === 48 /* "0" */) end--;
  const text = end === point ? digits.slice(0, point) : `${digits.slice(0, point)}.${digits.slice(point, end)}`;
  return negative ? `-${text}` : text;
}

/**
 * The integer core of `apportion`: spreads `importMilli` and `exportMilli` (mWh) over the
 * intervals [fromMs, toMs) overlaps. A zero-length span (fromMs === toMs) puts everything in the
 * interval containing the instant; a negative difference is spread as the mirror image of the
 * positive one. Throws a RangeError when toMs < fromMs.
 */
export function apportionMilli(fromMs: number, toMs: number, importMilli: bigint, exportMilli: bigint): MilliShare[] {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs)) throw new RangeError(`span [${fromMs}, ${toMs}) is not in whole milliseconds`);
  if (toMs < fromMs) throw new RangeError(`span ends (${formatInstant(toMs)}) before it starts (${formatInstant(fromMs)})`);
  const firstStart = intervalStartOf(fromMs);
  if (toMs === fromMs) return [{ startMs: firstStart, importMilli, exportMilli }];
  // The common case, a span inside one interval, without the general machinery.
  if (toMs <= firstStart + QUARTER_HOUR_MS) return [{ startMs: firstStart, importMilli, exportMilli }];
  const starts: number[] = [];
  const overlaps: bigint[] = [];
  for (let start = firstStart; start < toMs; start += QUARTER_HOUR_MS) {
    starts.push(start);
    overlaps.push(BigInt(Math.min(start + QUARTER_HOUR_MS, toMs) - Math.max(start, fromMs)));
  }
  const total = BigInt(toMs - fromMs);
  const imports = spread(importMilli, overlaps, total);
  const exports = spread(exportMilli, overlaps, total);
  return starts.map((startMs, k) => ({ startMs, importMilli: imports[k]!, exportMilli: exports[k]! }));
}

/** Largest remainder: floor of each exact share, then +1 to the largest remainders (ties: earlier). */
function spread(amount: bigint, weights: readonly bigint[], total: bigint): bigint[] {
  if (amount < 0n) return spread(-amount, weights, total).map((share) => -share);
  const shares: bigint[] = [];
  const remainders: bigint[] = [];
  let left = amount;
  for (const weight of weights) {
    const exact = amount * weight;
    const share = exact / total;
    shares.push(share);
    remainders.push(exact % total);
    left -= share;
  }
  if (left > 0n) {
    const order = remainders.map((_, k) => k).sort((a, b) => (remainders[a]! === remainders[b]! ? a - b : remainders[a]! > remainders[b]! ? -1 : 1));
    // left < weights.length: each floor loses less than one.
    for (let i = 0; i < Number(left); i++) shares[order[i]!]! += 1n;
  }
  return shares;
}

/**
 * The energy between two readings, per 15-minute UTC interval their span [from.at, to.at)
 * overlaps, spread linearly by overlap time. Each register's shares are in whole mWh and add up
 * exactly to `to - from`; every share has the sign of the difference (so none is negative for
 * readings that do not go backwards). A zero-length span puts the whole difference in the
 * interval containing its instant. Throws a RangeError when `to.at` is before `from.at`, or when a
 * register has more than 3 decimals; an InvalidCommand for an instant that is not UTC ISO-8601.
 */
export function apportion(from: RegisterReading, to: RegisterReading): IntervalShare[] {
  const fromMs = parseInstant('from.at', from.at);
  const toMs = parseInstant('to.at', to.at);
  const importMilli = toMilli(to.importWh) - toMilli(from.importWh);
  const exportMilli = toMilli(to.exportWh) - toMilli(from.exportWh);
  return apportionMilli(fromMs, toMs, importMilli, exportMilli).map((share) => ({
    intervalStart: formatInstant(share.startMs),
    importWh: fromMilli(share.importMilli),
    exportWh: fromMilli(share.exportMilli),
  }));
}
