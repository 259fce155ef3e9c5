/** The billing code as it was before it was made lean (2026-12-08): the reference pricing.property.spec.ts holds the lean code to, output for output. Test-only. */
/**
 * REFERENCE ONLY (tests): pricing as it was before the lean path of invoice.ts / pricing.ts, kept
 * verbatim so that a property test can hold the lean path to the same output, digit for digit.
 */
/**
 * Pricing: the exact charges of a session under the tariffs its account was assigned. Pure and
 * exact (nothing is rounded here: see invoice.ts), and independent of the order of the input's
 * intervals, prices and assignments.
 *
 * Per 15-minute interval of the session, with the tariff in force at the interval's start:
 * - energy: importWh/1000 × the energy price (fixed; time-of-use by the local time of the
 *   interval's start; dynamic: clamp(spot + margin, floor, cap));
 * - speed: importWh/1000 × the surcharge of the band the interval's average import power
 *   (importWh × 4, W) falls in;
 * - export credit: −exportWh/1000 × the credit (fixed; spot + margin, at least the floor).
 * Once per session, with the tariff in force at pluggedInAt: the session fee.
 *
 * An interval that needs a spot price not known (yet) is charged nothing and reported unpriced;
 * an interval (or fee) that no tariff covers is reported untariffed. Neither is an error: billing
 * says what it could not price, and prices it once the price or the assignment is known.
 */
import type { Decimal } from '../../src/values/index.ts';
import { parseInstant } from '../../src/values/index.ts';
import { SessionNotInBillingInput, SpotPriceCurrencyMismatch } from '../../src/billing/billing-errors.ts';
import { canonicalInstant, compareText, decimalText, ExactDecimal } from '../../src/values/index.ts';
import { compareDecimalText, exactDecimal, sortedPositions } from './fields-v1.ts';
import type {
  BillableSession,
  BillingInput,
  Charge,
  ChargeComponent,
  IntervalEnergy,
  SpotPrice,
  TariffAssignmentPeriod,
  TariffDefinition,
} from '../../src/billing/billing-types.ts';
import { timeOfUsePrice } from '../../src/billing/time-of-use.ts';

/** Something pricing could not charge, and why. `at` is the instant looked up (interval start or pluggedInAt). */
export type UnpricedCharge =
  /** The interval needs the zone's spot price for it, not known (yet): nothing of the interval is charged. */
  | { reason: 'no_spot_price'; sessionId: string; intervalStart: string; at: string; tariffId: string; zone: string }
  /** No tariff is assigned to the session's account at `at`; intervalStart null is the session fee. */
  | { reason: 'no_tariff'; sessionId: string; intervalStart: string | null; at: string; accountId: string }
  /** The tariff assigned at `at` is not among the input's tariffs. */
  | { reason: 'unknown_tariff'; sessionId: string; intervalStart: string | null; at: string; accountId: string; tariffId: string };

export type SessionCharges = { charges: Charge[]; unpriced: UnpricedCharge[] };

/** The order of components within an interval and on an invoice. */
export const CHARGE_COMPONENTS: readonly ChargeComponent[] = ['energy', 'speed', 'session_fee', 'export_credit'];

const SESSION_FEE_LABEL = 'session fee';
const FIXED_LABEL = 'fixed';

type PricedTariff = TariffDefinition & { position: string };

const KWH_PER_WH = new ExactDecimal('0.001');
/** 15-minute intervals: average power (W) = energy (Wh) × 4. */
const INTERVALS_PER_HOUR = 4;

type CompiledAssignment = { assignment: TariffAssignmentPeriod; fromMs: number; toMs: number };

/** The account's assignments with their instants parsed once. */
function compileAssignments(assignments: readonly TariffAssignmentPeriod[], accountId: string): CompiledAssignment[] {
  return assignments
    .filter((a) => a.accountId === accountId)
    .map((assignment) => ({
      assignment,
      fromMs: parseInstant('validFrom', assignment.validFrom),
      toMs: assignment.validTo === null ? Number.POSITIVE_INFINITY : parseInstant('validTo', assignment.validTo),
    }));
}

function inForceAt(compiled: readonly CompiledAssignment[], atMs: number): TariffAssignmentPeriod | null {
  let found: CompiledAssignment | null = null;
  for (const candidate of compiled) {
    if (atMs < candidate.fromMs || atMs >= candidate.toMs) continue;
    const later =
      found === null ||
      candidate.fromMs > found.fromMs ||
      (candidate.fromMs === found.fromMs &&
        (compareDecimalText(candidate.assignment.position, found.assignment.position) || compareText(candidate.assignment.tariffId, found.assignment.tariffId)) > 0);
    if (later) found = candidate;
  }
  return found?.assignment ?? null;
}

type Resolved = { ok: true; tariff: PricedTariff; assignment: TariffAssignmentPeriod } | { ok: false; unpriced: UnpricedCharge };

type SessionContext = { input: BillingInput; session: BillableSession; assignments: readonly CompiledAssignment[] };

function resolveTariff({ input, session, assignments }: SessionContext, intervalStart: string | null, at: string): Resolved {
  const assignment = inForceAt(assignments, parseInstant('at', at));
  const base = { sessionId: session.sessionId, intervalStart, at, accountId: session.accountId };
  if (assignment === null) return { ok: false, unpriced: { reason: 'no_tariff', ...base } };
  const tariff = input.tariffs.get(assignment.tariffId);
  if (tariff === undefined) return { ok: false, unpriced: { reason: 'unknown_tariff', ...base, tariffId: assignment.tariffId } };
  return { ok: true, tariff, assignment };
}

/** "spot 8.21 + 2.5", "spot -3 - 1". */
function spotLabel(spot: Decimal, margin: Decimal): string {
  return margin.isNegative() && !margin.isZero() ? `spot ${decimalText(spot)} - ${decimalText(margin.abs())}` : `spot ${decimalText(spot)} + ${decimalText(margin)}`;
}

type UnitPrice = { unit: Decimal; label: string; price: SpotPrice | null };

/** A spot-indexed price, or the zone whose price is missing. */
type SpotLookup = { ok: true; price: SpotPrice; spot: Decimal } | { ok: false; zone: string };

function lookUpSpot(input: BillingInput, tariff: PricedTariff, zone: string, intervalStart: string): SpotLookup {
  const price = input.prices.get(zone)?.get(intervalStart);
  if (price === undefined) return { ok: false, zone };
  if (price.currency !== tariff.currency) {
    throw new SpotPriceCurrencyMismatch({ tariffId: tariff.tariffId, tariffCurrency: tariff.currency, zone, priceCurrency: price.currency, intervalStart });
  }
  return { ok: true, price, spot: exactDecimal('priceMinorPerKWh', price.priceMinorPerKWh) };
}

function energyPrice(input: BillingInput, tariff: PricedTariff, intervalStart: string, startMs: number): UnitPrice | { missingZone: string } {
  const energy = tariff.energy;
  switch (energy.kind) {
    case 'fixed':
      return { unit: exactDecimal('priceMinorPerKWh', energy.priceMinorPerKWh), label: FIXED_LABEL, price: null };
    case 'time_of_use': {
      const { name, priceMinorPerKWh } = timeOfUsePrice(energy, startMs);
      return { unit: exactDecimal('priceMinorPerKWh', priceMinorPerKWh), label: name, price: null };
    }
    case 'dynamic': {
      const spot = lookUpSpot(input, tariff, energy.zone, intervalStart);
      if (!spot.ok) return { missingZone: spot.zone };
      const margin = exactDecimal('marginMinorPerKWh', energy.marginMinorPerKWh);
      const unit = spot.spot.plus(margin);
      if (energy.floorMinorPerKWh !== null && unit.lt(energy.floorMinorPerKWh)) {
        return { unit: exactDecimal('floorMinorPerKWh', energy.floorMinorPerKWh), label: `floor ${energy.floorMinorPerKWh}`, price: spot.price };
      }
      if (energy.capMinorPerKWh !== null && unit.gt(energy.capMinorPerKWh)) {
        return { unit: exactDecimal('capMinorPerKWh', energy.capMinorPerKWh), label: `cap ${energy.capMinorPerKWh}`, price: spot.price };
      }
      return { unit, label: spotLabel(spot.spot, margin), price: spot.price };
    }
    default: {
      const unreachable: never = energy;
      throw new Error(`unknown energy price ${String(unreachable)}`);
    }
  }
}

/** What one exported kWh is credited (positive: the account receives it). */
function exportCredit(input: BillingInput, tariff: PricedTariff, intervalStart: string): UnitPrice | { missingZone: string } | null {
  const credit = tariff.exportCredit;
  if (credit === null) return null;
  switch (credit.kind) {
    case 'fixed':
      return { unit: exactDecimal('creditMinorPerKWh', credit.creditMinorPerKWh), label: FIXED_LABEL, price: null };
    case 'spot': {
      const spot = lookUpSpot(input, tariff, credit.zone, intervalStart);
      if (!spot.ok) return { missingZone: spot.zone };
      const margin = exactDecimal('marginMinorPerKWh', credit.marginMinorPerKWh);
      const unit = spot.spot.plus(margin);
      if (credit.floorMinorPerKWh !== null && unit.lt(credit.floorMinorPerKWh)) {
        return { unit: exactDecimal('floorMinorPerKWh', credit.floorMinorPerKWh), label: `floor ${credit.floorMinorPerKWh}`, price: spot.price };
      }
      return { unit, label: spotLabel(spot.spot, margin), price: spot.price };
    }
    default: {
      const unreachable: never = credit;
      throw new Error(`unknown export credit ${String(unreachable)}`);
    }
  }
}

/** The speed band (name and surcharge) an average import power falls in, if the tariff has bands. */
function speedBand(tariff: PricedTariff, powerW: Decimal): { name: string; surcharge: Decimal } | null {
  let band: { name: string; surcharge: Decimal } | null = null;
  for (const candidate of tariff.speedBands) {
    if (powerW.gte(candidate.fromPowerW)) band = { name: candidate.name, surcharge: exactDecimal('surchargeMinorPerKWh', candidate.surchargeMinorPerKWh) };
  }
  return band;
}

/** Canonical interval start, epoch ms and a key that orders duplicates deterministically. */
type OrderedInterval = { interval: IntervalEnergy; start: string; startMs: number; key: string };

function ordered(intervals: readonly IntervalEnergy[]): OrderedInterval[] {
  return intervals
    .map((interval) => {
      const start = canonicalInstant('intervalStart', interval.intervalStart);
      return { interval, start, startMs: parseInstant('intervalStart', start), key: JSON.stringify([interval.importWh, interval.exportWh, sortedPositions(interval.justifiedBy)]) };
    })
    .sort((a, b) => a.startMs - b.startMs || compareText(a.key, b.key));
}

function intervalCharges(context: SessionContext, item: OrderedInterval): SessionCharges {
  const { input, session } = context;
  const { interval, start, startMs } = item;
  const resolved = resolveTariff(context, start, start);
  if (!resolved.ok) return { charges: [], unpriced: [resolved.unpriced] };
  const { tariff, assignment } = resolved;
  const importWh = exactDecimal('importWh', interval.importWh);
  const exportWh = exactDecimal('exportWh', interval.exportWh);
  const base = { sessionId: session.sessionId, intervalStart: start, tariffId: tariff.tariffId };
  const justify = (price: SpotPrice | null): string[] =>
    sortedPositions([...interval.justifiedBy, tariff.position, assignment.position, ...(price === null ? [] : [price.position])]);

  const charges: Charge[] = [];
  const missing = new Set<string>();
  if (!importWh.isZero()) {
    const energy = energyPrice(input, tariff, start, startMs);
    if ('missingZone' in energy) missing.add(energy.missingZone);
    else {
      charges.push({
        ...base,
        component: 'energy',
        energyWh: decimalText(importWh),
        unitPriceMinorPerKWh: decimalText(energy.unit),
        priceLabel: energy.label,
        amountMinor: decimalText(importWh.times(KWH_PER_WH).times(energy.unit)),
        justifiedBy: justify(energy.price),
      });
    }
    const band = speedBand(tariff, importWh.times(INTERVALS_PER_HOUR));
    if (band !== null && !band.surcharge.isZero()) {
      charges.push({
        ...base,
        component: 'speed',
        energyWh: decimalText(importWh),
        unitPriceMinorPerKWh: decimalText(band.surcharge),
        priceLabel: band.name,
        amountMinor: decimalText(importWh.times(KWH_PER_WH).times(band.surcharge)),
        justifiedBy: justify(null),
      });
    }
  }
  if (!exportWh.isZero()) {
    const credit = exportCredit(input, tariff, start);
    if (credit !== null && 'missingZone' in credit) missing.add(credit.missingZone);
    else if (credit !== null) {
      // The unit price is what a kWh costs the account: minus the credit, so amount = energy × unit price.
      const unit = credit.unit.negated();
      charges.push({
        ...base,
        component: 'export_credit',
        energyWh: decimalText(exportWh),
        unitPriceMinorPerKWh: decimalText(unit),
        priceLabel: credit.label,
        amountMinor: decimalText(exportWh.times(KWH_PER_WH).times(unit)),
        justifiedBy: justify(credit.price),
      });
    }
  }
  if (missing.size > 0) {
    const unpriced = [...missing]
      .sort()
      .map((zone): UnpricedCharge => ({ reason: 'no_spot_price', sessionId: session.sessionId, intervalStart: start, at: start, tariffId: tariff.tariffId, zone }));
    return { charges: [], unpriced };
  }
  return { charges, unpriced: [] };
}

function sessionFee(context: SessionContext): SessionCharges {
  const { session } = context;
  const at = canonicalInstant('pluggedInAt', session.pluggedInAt);
  const resolved = resolveTariff(context, null, at);
  if (!resolved.ok) return { charges: [], unpriced: [resolved.unpriced] };
  const { tariff, assignment } = resolved;
  if (tariff.sessionFeeMinor === null) return { charges: [], unpriced: [] };
  const fee: Charge = {
    sessionId: session.sessionId,
    component: 'session_fee',
    intervalStart: null,
    tariffId: tariff.tariffId,
    energyWh: '0',
    unitPriceMinorPerKWh: null,
    priceLabel: SESSION_FEE_LABEL,
    amountMinor: decimalText(exactDecimal('sessionFeeMinor', tariff.sessionFeeMinor)),
    justifiedBy: sortedPositions([session.position, tariff.position, assignment.position]),
  };
  return { charges: [fee], unpriced: [] };
}

/**
 * The charges of `session` for the given intervals (of that session) and, when `includeFee`, its
 * session fee. Charges come fee first, then by interval, then energy, speed, export credit.
 */
export function sessionCharges(input: BillingInput, session: BillableSession, intervals: readonly IntervalEnergy[], includeFee: boolean): SessionCharges {
  const context: SessionContext = { input, session, assignments: compileAssignments(input.assignments, session.accountId) };
  const result: SessionCharges = includeFee ? sessionFee(context) : { charges: [], unpriced: [] };
  for (const item of ordered(intervals.filter((i) => i.sessionId === session.sessionId))) {
    const { charges, unpriced } = intervalCharges(context, item);
    result.charges.push(...charges);
    result.unpriced.push(...unpriced);
  }
  return result;
}

/** Looks a session up; SessionNotInBillingInput if the input does not hold it. */
function billableSession(input: BillingInput, sessionId: string): BillableSession {
  const session = input.sessions.find((s) => s.sessionId === sessionId);
  if (session === undefined) throw new SessionNotInBillingInput(sessionId);
  return session;
}

/** Every exact charge of a session (its fee and all its intervals), and what could not be priced. */
export function chargesFor(input: BillingInput, sessionId: string): SessionCharges {
  return sessionCharges(input, billableSession(input, sessionId), input.intervals, true);
}
