import { Decimal } from 'decimal.js';
import { InvalidCommand } from '../errors.ts';

export { Decimal };

/** A decimal string as the edge and events carry it: an optional minus, no exponent, no leading zeros. */
export const DECIMAL_PATTERN = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Parses a decimal string from the edge (GraphQL, JSON); a JS number is refused on purpose. */
export function parseDecimal(field: string, value: unknown): Decimal {
  return new Decimal(checkDecimalText(field, value));
}

/** The value if it is a decimal string (what parseDecimal accepts), else parseDecimal's refusal; nothing is built. */
export function checkDecimalText(field: string, value: unknown): string {
  if (typeof value !== 'string' || !DECIMAL_PATTERN.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not a decimal string such as "11000" or "7.4"`);
  }
  return value;
}

export function parseNonNegative(field: string, value: unknown): Decimal {
  const parsed = parseDecimal(field, value);
  if (parsed.isNegative()) throw new InvalidCommand(field, `${value as string} is negative`);
  return parsed;
}

/** The canonical string form stored in events: no exponent, no trailing zeros. */
export function toDecimalString(value: Decimal): string {
  return value.toFixed();
}

/**
 * What a quantity can mean, by its kind: the largest magnitude and the most decimals a client may
 * state. A field's kind is the unit its name ends with (`importLimitW`, `energyImportWh`,
 * `quantityKWh`, `limitPriceMinorPerMWh`, `socPercent`): names carry their units, so the bound
 * follows the name. Refusals say the bound.
 */
export type QuantityKind = 'powerW' | 'energyWh' | 'energyKWh' | 'perMWh' | 'perKWh' | 'percent' | 'decimal';

export type QuantityBound = {
  /** Largest magnitude allowed (inclusive). */
  maxAbs: Decimal;
  /** Most digits after the point. */
  maxDecimals: number;
  /** How the bound reads in a message. */
  described: string;
};

/** Significant digits decimal.js keeps (its precision): more would be rounded without a word. */
export const MAX_SIGNIFICANT_DIGITS = 20;
/** No decimal string a client sends is longer: the longest bound below needs 22 characters. */
export const MAX_DECIMAL_LENGTH = 40;

export const QUANTITY_BOUNDS: Readonly<Record<QuantityKind, QuantityBound>> = {
  // A node's flow, a charger's power: 1 GW is beyond any grid connection a site can have.
  powerW: { maxAbs: new Decimal('1e9'), maxDecimals: 3, described: '1000000000 W (1 GW, more than any node carries)' },
  // A register, a reading, a need: 10^12 Wh (1 TWh) is beyond any meter's register.
  energyWh: { maxAbs: new Decimal('1e12'), maxDecimals: 3, described: "1000000000000 Wh (1 TWh, beyond any meter's register)" },
  energyKWh: { maxAbs: new Decimal('1e9'), maxDecimals: 3, described: '1000000000 kWh (1 TWh)' },
  // A price per MWh in minor units: the market's own bound (MAX_PRICE_MAGNITUDE).
  perMWh: { maxAbs: new Decimal('1e15'), maxDecimals: 6, described: '1000000000000000 per MWh' },
  perKWh: { maxAbs: new Decimal('1e12'), maxDecimals: 6, described: '1000000000000 per kWh' },
  percent: { maxAbs: new Decimal(100), maxDecimals: 3, described: '100 %' },
  decimal: { maxAbs: new Decimal('1e15'), maxDecimals: 12, described: '1000000000000000' },
};

/** The kind of quantity a field holds, by the unit its name (the last segment of a path) ends with. */
export function quantityKindOf(field: string): QuantityKind {
  const name =
    field
      .replace(/\[\d+\]$/, '')
      .split('.')
      .at(-1) ?? field;
  if (/PerMWh$/.test(name)) return 'perMWh';
  if (/PerKWh$/.test(name)) return 'perKWh';
  if (/KWh$/.test(name)) return 'energyKWh';
  if (/Wh$/.test(name)) return 'energyWh';
  if (/W$/.test(name)) return 'powerW';
  if (/Percent$/.test(name)) return 'percent';
  return 'decimal';
}

/** Why `value` is not a plausible quantity for `field` (a reason naming the bound), or null when it is one. */
export function quantityProblem(field: string, value: unknown, kind: QuantityKind = quantityKindOf(field)): string | null {
  if (typeof value !== 'string') return `${JSON.stringify(value) ?? String(value)} is not a decimal string`;
  if (value.length > MAX_DECIMAL_LENGTH) return `is ${value.length} characters long; a decimal has at most ${MAX_DECIMAL_LENGTH}`;
  if (!DECIMAL_PATTERN.test(value)) return `${JSON.stringify(value)} is not a decimal string such as "11000" or "7.4"`;
  const parsed = new Decimal(value);
  const digits = value.replace(/^-/, '').replace('.', '').replace(/^0+/, '').length;
  if (digits > MAX_SIGNIFICANT_DIGITS) return `${value} has ${digits} digits; at most ${MAX_SIGNIFICANT_DIGITS}`;
  const bound = QUANTITY_BOUNDS[kind];
  if (parsed.decimalPlaces() > bound.maxDecimals) return `${value} has ${parsed.decimalPlaces()} decimals; at most ${bound.maxDecimals} for this quantity`;
  if (parsed.abs().gt(bound.maxAbs)) return `${value} is beyond ${bound.described}`;
  return null;
}

/** A plausible quantity for `field`, or InvalidCommand naming it and the bound it breaks. */
export function parseQuantity(field: string, value: unknown, kind: QuantityKind = quantityKindOf(field)): Decimal {
  const problem = quantityProblem(field, value, kind);
  if (problem !== null) throw new InvalidCommand(field, problem);
  return new Decimal(value as string);
}

/** A plausible quantity for `field` that is not negative. */
export function parseNonNegativeQuantity(field: string, value: unknown, kind: QuantityKind = quantityKindOf(field)): Decimal {
  const parsed = parseQuantity(field, value, kind);
  if (parsed.isNegative()) throw new InvalidCommand(field, `${value as string} is negative`);
  return parsed;
}

/** `value` when it is a plausible quantity for `field` (the string as sent), else InvalidCommand naming the bound it breaks. */
export function checkQuantity(field: string, value: unknown, kind: QuantityKind = quantityKindOf(field)): string {
  parseQuantity(field, value, kind);
  return value as string;
}
