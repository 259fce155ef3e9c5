/**
 * Validation of market input from the edge, and the conversion between the decimal strings of
 * commands and events and the integers the matching engine works in (price ticks, Wh).
 */
import { InvalidCommand } from '../errors.ts';
import {
  Decimal,
  canonicalInstant,
  checkCurrency,
  checkObject,
  checkZone,
  decimalText,
  exactDecimal,
  ExactDecimal,
  parseInstant,
  QUARTER_HOUR_MS,
  MAX_DECIMAL_LENGTH,
} from '../values/index.ts';
import { PriceNotOnTick, PriceOutOfBounds, QuantityAboveMaximum, QuantityNotOnStep } from './market-errors.ts';
import type { ProductMode, ProductSpec, ProductTemplate } from './market-types.ts';

/** Largest order quantity a template may allow: 1 TWh. Keeps every sum of a book's Wh a safe integer. */
export const MAX_ORDER_WH = 1_000_000_000_000;
/** Largest price magnitude, minor per MWh: keeps every price a safe integer number of ticks. */
export const MAX_PRICE_MAGNITUDE = new Decimal('1e15');

const WH_INTEGER = /^(0|[1-9][0-9]*)$/;

/** A whole, positive number of Wh as a string (e.g. "2500"), returned as a safe integer. */
export function checkPositiveWh(field: string, value: unknown, max: number = MAX_ORDER_WH): number {
  if (typeof value !== 'string' || !WH_INTEGER.test(value)) {
    if (typeof value === 'string' && /^-/.test(value)) throw new InvalidCommand(field, `${value} is negative: a quantity is a positive number of Wh`);
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not a whole number of Wh such as "2500"`);
  }
  if (value.length > 16 || Number(value) > max) throw new InvalidCommand(field, `${value} Wh is more than ${max} Wh`);
  const wh = Number(value);
  if (wh === 0) throw new InvalidCommand(field, 'must be more than 0 Wh');
  return wh;
}

/** A decimal string, bounded in length, as an exact value. */
function boundedDecimal(field: string, value: unknown): Decimal {
  if (typeof value === 'string' && value.length > MAX_DECIMAL_LENGTH) throw new InvalidCommand(field, `has more than ${MAX_DECIMAL_LENGTH} characters`);
  return exactDecimal(field, value);
}

function checkWholeMinutes(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} must be a whole number of minutes from ${min} to ${max}`);
  }
  return value;
}

const MODES: readonly ProductMode[] = ['continuous', 'auction'];
function checkMode(field: string, value: unknown): ProductMode {
  if (!MODES.includes(value as ProductMode)) throw new InvalidCommand(field, `${JSON.stringify(value)} must be "continuous" or "auction"`);
  return value as ProductMode;
}

const MINUTES_PER_DAY = 1440;
/** Books open at most a year ahead. */
const MAX_OPEN_MINUTES = 366 * MINUTES_PER_DAY;

type PriceRules = {
  tickMinorPerMWh: string;
  minPriceMinorPerMWh: string;
  maxPriceMinorPerMWh: string;
  quantityStepWh: string;
  maxQuantityWh: string;
};

/** The price and quantity rules shared by templates and product specs, canonical. */
function checkPriceRules(field: string, raw: Record<string, unknown>): PriceRules {
  const tick = boundedDecimal(`${field}.tickMinorPerMWh`, raw.tickMinorPerMWh);
  if (tick.lte(0)) throw new InvalidCommand(`${field}.tickMinorPerMWh`, `${raw.tickMinorPerMWh as string} must be more than 0`);
  const min = boundedDecimal(`${field}.minPriceMinorPerMWh`, raw.minPriceMinorPerMWh);
  const max = boundedDecimal(`${field}.maxPriceMinorPerMWh`, raw.maxPriceMinorPerMWh);
  for (const [name, value] of [
    ['minPriceMinorPerMWh', min],
    ['maxPriceMinorPerMWh', max],
  ] as const) {
    if (value.abs().gt(MAX_PRICE_MAGNITUDE)) throw new InvalidCommand(`${field}.${name}`, `${decimalText(value)} is beyond ±${MAX_PRICE_MAGNITUDE.toFixed()}`);
    if (!value.mod(tick).isZero()) throw new InvalidCommand(`${field}.${name}`, `${decimalText(value)} is not a multiple of the tick ${decimalText(tick)}`);
  }
  if (!min.lt(max)) throw new InvalidCommand(`${field}.maxPriceMinorPerMWh`, `${decimalText(max)} must be more than minPriceMinorPerMWh ${decimalText(min)}`);
  const step = checkPositiveWh(`${field}.quantityStepWh`, raw.quantityStepWh);
  const maxWh = checkPositiveWh(`${field}.maxQuantityWh`, raw.maxQuantityWh);
  if (maxWh % step !== 0) throw new InvalidCommand(`${field}.maxQuantityWh`, `${maxWh} is not a multiple of quantityStepWh ${step}`);
  return {
    tickMinorPerMWh: decimalText(tick),
    minPriceMinorPerMWh: decimalText(min),
    maxPriceMinorPerMWh: decimalText(max),
    quantityStepWh: String(step),
    maxQuantityWh: String(maxWh),
  };
}

/** A product template from ConfigureMarketZone, canonical (decimals without trailing zeros). */
export function checkProductTemplate(field: string, value: unknown): ProductTemplate {
  const raw = checkObject(field, value);
  const lengthMinutes = checkWholeMinutes(`${field}.lengthMinutes`, raw.lengthMinutes, 15, MINUTES_PER_DAY);
  if (lengthMinutes % 15 !== 0 || MINUTES_PER_DAY % lengthMinutes !== 0) {
    throw new InvalidCommand(`${field}.lengthMinutes`, `${lengthMinutes} must be a multiple of 15 that divides a day (1440), such as 15, 60 or 240`);
  }
  const mode = checkMode(`${field}.mode`, raw.mode);
  const rules = checkPriceRules(field, raw);
  const gateClosureMinutes = checkWholeMinutes(`${field}.gateClosureMinutes`, raw.gateClosureMinutes, 0, MAX_OPEN_MINUTES - 1);
  const openMinutes = checkWholeMinutes(`${field}.openMinutes`, raw.openMinutes, 1, MAX_OPEN_MINUTES);
  if (openMinutes <= gateClosureMinutes) {
    throw new InvalidCommand(`${field}.openMinutes`, `${openMinutes} must be more than gateClosureMinutes ${gateClosureMinutes}: the book must be open for a while`);
  }
  return {
    lengthMinutes,
    mode,
    tickMinorPerMWh: rules.tickMinorPerMWh,
    minPriceMinorPerMWh: rules.minPriceMinorPerMWh,
    maxPriceMinorPerMWh: rules.maxPriceMinorPerMWh,
    quantityStepWh: rules.quantityStepWh,
    maxQuantityWh: rules.maxQuantityWh,
    gateClosureMinutes,
    openMinutes,
  };
}

/** A product spec (from a SubmitOrders command), canonical. */
export function checkProductSpec(field: string, value: unknown): ProductSpec {
  const raw = checkObject(field, value);
  const zone = checkZone(`${field}.zone`, raw.zone);
  const currency = checkCurrency(`${field}.currency`, raw.currency);
  const deliveryStart = canonicalInstant(`${field}.deliveryStart`, raw.deliveryStart);
  const deliveryEnd = canonicalInstant(`${field}.deliveryEnd`, raw.deliveryEnd);
  if (parseInstant('', deliveryStart) % QUARTER_HOUR_MS !== 0) throw new InvalidCommand(`${field}.deliveryStart`, `${deliveryStart} is not on a quarter hour`);
  const lengthMs = parseInstant('', deliveryEnd) - parseInstant('', deliveryStart);
  if (lengthMs <= 0 || lengthMs % QUARTER_HOUR_MS !== 0 || lengthMs > MINUTES_PER_DAY * 60_000) {
    throw new InvalidCommand(`${field}.deliveryEnd`, `${deliveryEnd} must be 15 minutes to a day after deliveryStart ${deliveryStart}, in quarter hours`);
  }
  const mode = checkMode(`${field}.mode`, raw.mode);
  const openAt = canonicalInstant(`${field}.openAt`, raw.openAt);
  const gateClosureAt = canonicalInstant(`${field}.gateClosureAt`, raw.gateClosureAt);
  if (parseInstant('', openAt) >= parseInstant('', gateClosureAt)) throw new InvalidCommand(`${field}.gateClosureAt`, `${gateClosureAt} must be after openAt ${openAt}`);
  if (parseInstant('', gateClosureAt) > parseInstant('', deliveryStart)) {
    throw new InvalidCommand(`${field}.gateClosureAt`, `${gateClosureAt} must be at or before deliveryStart ${deliveryStart}`);
  }
  const rules = checkPriceRules(field, raw);
  return { zone, currency, deliveryStart, deliveryEnd, mode, openAt, gateClosureAt, ...rules };
}

/** The fields of two specs, in a fixed order (for comparing a command's product with the book's). */
export const PRODUCT_SPEC_FIELDS: readonly (keyof ProductSpec)[] = [
  'zone',
  'currency',
  'deliveryStart',
  'deliveryEnd',
  'mode',
  'openAt',
  'gateClosureAt',
  'tickMinorPerMWh',
  'minPriceMinorPerMWh',
  'maxPriceMinorPerMWh',
  'quantityStepWh',
  'maxQuantityWh',
];

export const sameProduct = (a: ProductSpec, b: ProductSpec): boolean => PRODUCT_SPEC_FIELDS.every((key) => a[key] === b[key]);

/** A product's rules in the engine's units. Derived from a valid ProductSpec. */
export type ProductUnits = {
  /** The tick, minor per MWh (a string: a state stays plain data that structuredClone copies). */
  readonly tick: string;
  /** The tick when it is a whole number (the usual "1"): prices convert with plain arithmetic. */
  readonly tickInteger: number | null;
  readonly minTicks: number;
  readonly maxTicks: number;
  readonly stepWh: number;
  readonly maxQuantityWh: number;
  readonly openAtMs: number;
  readonly gateClosureAtMs: number;
};

export function productUnits(spec: ProductSpec): ProductUnits {
  const tick = new ExactDecimal(spec.tickMinorPerMWh);
  return {
    tick: spec.tickMinorPerMWh,
    tickInteger: tick.isInteger() ? tick.toNumber() : null,
    minTicks: new ExactDecimal(spec.minPriceMinorPerMWh).div(tick).toNumber(),
    maxTicks: new ExactDecimal(spec.maxPriceMinorPerMWh).div(tick).toNumber(),
    stepWh: Number(spec.quantityStepWh),
    maxQuantityWh: Number(spec.maxQuantityWh),
    openAtMs: parseInstant('openAt', spec.openAt),
    gateClosureAtMs: parseInstant('gateClosureAt', spec.gateClosureAt),
  };
}

/** A limit price from a command, checked against the product: whole ticks within the limits. */
export function checkLimitPrice(units: ProductUnits, spec: ProductSpec, field: string, orderIndex: number | null, value: unknown): { ticks: number; text: string } {
  const price = boundedDecimal(field, value);
  const text = decimalText(price);
  if (price.lt(spec.minPriceMinorPerMWh) || price.gt(spec.maxPriceMinorPerMWh)) {
    throw new PriceOutOfBounds({ field, orderIndex, priceMinorPerMWh: text, minPriceMinorPerMWh: spec.minPriceMinorPerMWh, maxPriceMinorPerMWh: spec.maxPriceMinorPerMWh });
  }
  const tick = new ExactDecimal(units.tick);
  if (!price.mod(tick).isZero()) throw new PriceNotOnTick({ field, orderIndex, priceMinorPerMWh: text, tickMinorPerMWh: spec.tickMinorPerMWh });
  return { ticks: price.div(tick).toNumber(), text };
}

/** An order quantity from a command, checked against the product's step and maximum. */
export function checkOrderQuantity(units: ProductUnits, spec: ProductSpec, field: string, orderIndex: number | null, value: unknown): number {
  const wh = checkPositiveWh(field, value, Number.MAX_SAFE_INTEGER);
  if (wh % units.stepWh !== 0) throw new QuantityNotOnStep({ field, orderIndex, quantityWh: String(wh), quantityStepWh: spec.quantityStepWh });
  if (wh > units.maxQuantityWh) throw new QuantityAboveMaximum({ field, orderIndex, quantityWh: String(wh), maxQuantityWh: spec.maxQuantityWh });
  return wh;
}

/** The decimal string of a price in ticks (canonical). */
export function ticksToPrice(units: ProductUnits, ticks: number): string {
  if (units.tickInteger !== null) return String(ticks * units.tickInteger + 0); // + 0 turns -0 into 0
  return decimalText(new ExactDecimal(units.tick).mul(ticks));
}

/** The ticks of a price recorded in an event (valid by construction). */
export function priceToTicks(units: ProductUnits, price: string): number {
  if (units.tickInteger !== null && WH_INTEGER.test(price.startsWith('-') ? price.slice(1) : price)) return Number(price) / units.tickInteger;
  return new ExactDecimal(price).div(new ExactDecimal(units.tick)).toNumber();
}
