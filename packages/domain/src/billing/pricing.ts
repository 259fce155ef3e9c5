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
import type { Decimal } from '../values/index.ts';
import { compareDecimalText, compareText, decimalText, exactDecimal, ExactDecimal, formatInstant, parseInstant, sortedPositions } from '../values/index.ts';
import { SessionNotInBillingInput, SpotPriceCurrencyMismatch } from './billing-errors.ts';
import type { BillableSession, BillingInput, Charge, ChargeComponent, IntervalEnergy, SpotPrice, TariffAssignmentPeriod, TariffDefinition } from './billing-types.ts';
import { timeOfUsePrice } from './time-of-use.ts';

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

export const SESSION_FEE_LABEL = 'session fee';
export const FIXED_LABEL = 'fixed';

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

/**
 * The assignment in force for `accountId` at `atMs`. Periods of one account never overlap when
 * they come from the account stream; should they, the latest validFrom wins (then the latest
 * position), so that the answer does not depend on the order of the input.
 */
export function assignmentAt(assignments: readonly TariffAssignmentPeriod[], accountId: string, atMs: number): TariffAssignmentPeriod | null {
  return inForceAt(compileAssignments(assignments, accountId), atMs);
}

type Resolved = { ok: true; tariff: PricedTariff; assignment: TariffAssignmentPeriod } | { ok: false; unpriced: UnpricedCharge };

/**
 * What pricing works out once per tariff rather than once per interval: its energy price and
 * export credit per interval start (spot lookups, time-of-use windows, clamps: a function of the
 * tariff and the start alone) and its speed bands' figures as exact decimals. Lives for one
 * computation (one invoice, one session's charges): nothing is kept between calls.
 */
type CompiledTariff = {
  energyAt: Map<string, UnitPrice | { missingZone: string }>;
  creditAt: Map<string, UnitPrice | { missingZone: string } | null>;
  /** Parsed on first use, each surcharge when a power first falls in its band: what was parsed when. */
  bands: { name: string; fromPowerW: Decimal; surchargeMinorPerKWh: string; surcharge: Decimal | null }[] | null;
};

/** Per computation on one input: compiled tariffs (by the tariff object) and compiled assignments (by account). */
export type PricingCache = { input: BillingInput; tariffs: Map<PricedTariff, CompiledTariff>; assignments: Map<string, CompiledAssignment[]> };

export const newPricingCache = (input: BillingInput): PricingCache => ({ input, tariffs: new Map(), assignments: new Map() });

function compiledTariff(cache: PricingCache, tariff: PricedTariff): CompiledTariff {
  let compiled = cache.tariffs.get(tariff);
  if (compiled === undefined) {
    compiled = { energyAt: new Map(), creditAt: new Map(), bands: null };
    cache.tariffs.set(tariff, compiled);
  }
  return compiled;
}

type SessionContext = { input: BillingInput; session: BillableSession; assignments: readonly CompiledAssignment[]; cache: PricingCache };

function resolveTariff({ input, session, assignments }: SessionContext, intervalStart: string | null, at: string, atMs: number): Resolved {
  const assignment = inForceAt(assignments, atMs);
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
function speedBand(tariff: PricedTariff, compiled: CompiledTariff, powerW: Decimal): { name: string; surcharge: Decimal } | null {
  compiled.bands ??= tariff.speedBands.map((b) => ({ name: b.name, fromPowerW: new ExactDecimal(b.fromPowerW), surchargeMinorPerKWh: b.surchargeMinorPerKWh, surcharge: null }));
  let band: { name: string; surcharge: Decimal } | null = null;
  for (const candidate of compiled.bands) {
    if (powerW.gte(candidate.fromPowerW))
      band = { name: candidate.name, surcharge: (candidate.surcharge ??= exactDecimal('surchargeMinorPerKWh', candidate.surchargeMinorPerKWh)) };
  }
  return band;
}

/** Canonical interval start, epoch ms and (when two share a start) a key that orders them deterministically. */
type OrderedInterval = { interval: IntervalEnergy; start: string; startMs: number };

const tieKey = (interval: IntervalEnergy): string => JSON.stringify([interval.importWh, interval.exportWh, sortedPositions(interval.justifiedBy)]);

function ordered(intervals: readonly IntervalEnergy[]): OrderedInterval[] {
  return intervals
    .map((interval) => {
      const startMs = parseInstant('intervalStart', interval.intervalStart);
      return { interval, start: formatInstant(startMs), startMs };
    })
    .sort((a, b) => a.startMs - b.startMs || compareText(tieKey(a.interval), tieKey(b.interval)));
}

/** A charge with its exact energy and amount beside their text (invoiceLines sums the exact ones). */
export type ExactCharge = { charge: Charge; energyWh: Decimal; amountMinor: Decimal };

type ExactSessionCharges = { charges: ExactCharge[]; unpriced: UnpricedCharge[] };

function intervalCharges(context: SessionContext, item: OrderedInterval, out: ExactSessionCharges): void {
  const { input, session } = context;
  const { interval, start, startMs } = item;
  const resolved = resolveTariff(context, start, start, startMs);
  if (!resolved.ok) {
    out.unpriced.push(resolved.unpriced);
    return;
  }
  const { tariff, assignment } = resolved;
  const compiled = compiledTariff(context.cache, tariff);
  const importWh = exactDecimal('importWh', interval.importWh);
  const exportWh = exactDecimal('exportWh', interval.exportWh);
  const base = { sessionId: session.sessionId, intervalStart: start, tariffId: tariff.tariffId };
  const positions = [...interval.justifiedBy, tariff.position, assignment.position];
  let withoutPrice: string[] | undefined;
  const justify = (price: SpotPrice | null): string[] => (price === null ? [...(withoutPrice ??= sortedPositions(positions))] : sortedPositions([...positions, price.position]));

  const charges: ExactCharge[] = [];
  const missing = new Set<string>();
  if (!importWh.isZero()) {
    const importText = decimalText(importWh);
    const importKWh = importWh.times(KWH_PER_WH);
    let energy = compiled.energyAt.get(start);
    if (energy === undefined) compiled.energyAt.set(start, (energy = energyPrice(input, tariff, start, startMs)));
    if ('missingZone' in energy) missing.add(energy.missingZone);
    else {
      const amount = importKWh.times(energy.unit);
      charges.push({
        charge: {
          ...base,
          component: 'energy',
          energyWh: importText,
          unitPriceMinorPerKWh: decimalText(energy.unit),
          priceLabel: energy.label,
          amountMinor: decimalText(amount),
          justifiedBy: justify(energy.price),
        },
        energyWh: importWh,
        amountMinor: amount,
      });
    }
    const band = speedBand(tariff, compiled, importWh.times(INTERVALS_PER_HOUR));
    if (band !== null && !band.surcharge.isZero()) {
      const amount = importKWh.times(band.surcharge);
      charges.push({
        charge: {
          ...base,
          component: 'speed',
          energyWh: importText,
          unitPriceMinorPerKWh: decimalText(band.surcharge),
          priceLabel: band.name,
          amountMinor: decimalText(amount),
          justifiedBy: justify(null),
        },
        energyWh: importWh,
        amountMinor: amount,
      });
    }
  }
  if (!exportWh.isZero()) {
    let credit = compiled.creditAt.get(start);
    if (credit === undefined) compiled.creditAt.set(start, (credit = exportCredit(input, tariff, start)));
    if (credit !== null && 'missingZone' in credit) missing.add(credit.missingZone);
    else if (credit !== null) {
      // The unit price is what a kWh costs the account: minus the credit, so amount = energy × unit price.
      const unit = credit.unit.negated();
      const amount = exportWh.times(KWH_PER_WH).times(unit);
      charges.push({
        charge: {
          ...base,
          component: 'export_credit',
          energyWh: decimalText(exportWh),
          unitPriceMinorPerKWh: decimalText(unit),
          priceLabel: credit.label,
          amountMinor: decimalText(amount),
          justifiedBy: justify(credit.price),
        },
        energyWh: exportWh,
        amountMinor: amount,
      });
    }
  }
  if (missing.size > 0) {
    for (const zone of [...missing].sort())
      out.unpriced.push({ reason: 'no_spot_price', sessionId: session.sessionId, intervalStart: start, at: start, tariffId: tariff.tariffId, zone });
    return;
  }
  out.charges.push(...charges);
}

function sessionFee(context: SessionContext, out: ExactSessionCharges): void {
  const { session } = context;
  const atMs = parseInstant('pluggedInAt', session.pluggedInAt);
  const at = formatInstant(atMs);
  const resolved = resolveTariff(context, null, at, atMs);
  if (!resolved.ok) {
    out.unpriced.push(resolved.unpriced);
    return;
  }
  const { tariff, assignment } = resolved;
  if (tariff.sessionFeeMinor === null) return;
  const amount = exactDecimal('sessionFeeMinor', tariff.sessionFeeMinor);
  const fee: Charge = {
    sessionId: session.sessionId,
    component: 'session_fee',
    intervalStart: null,
    tariffId: tariff.tariffId,
    energyWh: '0',
    unitPriceMinorPerKWh: null,
    priceLabel: SESSION_FEE_LABEL,
    amountMinor: decimalText(amount),
    justifiedBy: sortedPositions([session.position, tariff.position, assignment.position]),
  };
  out.charges.push({ charge: fee, energyWh: new ExactDecimal(0), amountMinor: amount });
}

/**
 * The charges of `session` for the given intervals (of that session) and, when `includeFee`, its
 * session fee. Charges come fee first, then by interval, then energy, speed, export credit.
 */
export function sessionCharges(input: BillingInput, session: BillableSession, intervals: readonly IntervalEnergy[], includeFee: boolean): SessionCharges {
  const { charges, unpriced } = exactSessionCharges(input, session, intervals, includeFee, newPricingCache(input));
  return { charges: charges.map((c) => c.charge), unpriced };
}

/**
 * sessionCharges with each charge's exact energy and amount beside it, and a cache that one
 * computation (an invoice) shares between its sessions (a cache made for another input is not used).
 */
export function exactSessionCharges(
  input: BillingInput,
  session: BillableSession,
  intervals: readonly IntervalEnergy[],
  includeFee: boolean,
  shared: PricingCache,
): { charges: ExactCharge[]; unpriced: UnpricedCharge[] } {
  const cache = shared.input === input ? shared : newPricingCache(input);
  let assignments = cache.assignments.get(session.accountId);
  if (assignments === undefined) cache.assignments.set(session.accountId, (assignments = compileAssignments(input.assignments, session.accountId)));
  const context: SessionContext = { input, session, assignments, cache };
  const result: ExactSessionCharges = { charges: [], unpriced: [] };
  if (includeFee) sessionFee(context, result);
  for (const item of ordered(intervals.filter((i) => i.sessionId === session.sessionId))) intervalCharges(context, item, result);
  return result;
}

/** Looks a session up; SessionNotInBillingInput if the input does not hold it. */
export function billableSession(input: BillingInput, sessionId: string): BillableSession {
  const session = input.sessions.find((s) => s.sessionId === sessionId);
  if (session === undefined) throw new SessionNotInBillingInput(sessionId);
  return session;
}

/** Every exact charge of a session (its fee and all its intervals), and what could not be priced. */
export function chargesFor(input: BillingInput, sessionId: string): SessionCharges {
  return sessionCharges(input, billableSession(input, sessionId), input.intervals, true);
}
