/**
 * Invoicing: one account's charges of one UTC month as invoice lines. This is the only place money
 * is rounded. The total is the exact sum rounded half-even to a whole minor unit; each line is its
 * exact amount rounded half-even, and the difference between the total and the sum of the rounded
 * lines (a whole number of minor units) is allocated one unit at a time to the lines whose rounding
 * moved them furthest the other way (ties: the earlier line), so the lines add up to the total
 * exactly and each stays within one minor unit of its exact amount.
 */
import { InvalidCommand } from '../errors.ts';
import { Decimal, parseInstant, parseId, compareText, decimalText, exactDecimal, ExactDecimal, sortedPositions } from '../values/index.ts';
import { MixedInvoiceCurrencies } from './billing-errors.ts';
import type { BillableSession, BillingInput, Charge, IntervalEnergy, Invoice, InvoiceLine } from './billing-types.ts';
import { CHARGE_COMPONENTS, exactSessionCharges, newPricingCache, type ExactCharge, type UnpricedCharge } from './pricing.ts';

/** ISO 4217's code for "no currency": an account with no known tariff. */
export const NO_CURRENCY = 'XXX';

const MONTH = /^([0-9]{4})-(0[1-9]|1[0-2])$/;

/** The UTC month "2026-11" as [start, end) in epoch ms. */
export function monthRange(month: string, field = 'month'): { startMs: number; endMs: number } {
  const match = typeof month === 'string' ? MONTH.exec(month) : null;
  if (!match) throw new InvalidCommand(field, `${JSON.stringify(month)} is not a month such as "2026-11"`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { startMs: Date.UTC(year, index, 1), endMs: Date.UTC(year, index + 1, 1) };
}

const roundHalfEven = (value: Decimal): Decimal => value.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN);

/**
 * Rounds exact amounts (minor units) to whole minor units that add up to the half-even rounding
 * of their exact sum. Each amount is rounded half-even; the difference to the total goes one unit
 * at a time to the amounts with the largest rounding remainder in the needed direction, ties to
 * the earlier amount. Each result differs from its exact amount by less than one unit.
 */
export function allocateRounding(exactAmounts: readonly Decimal[]): { totalMinor: Decimal; amountsMinor: Decimal[] } {
  const exact = exactAmounts.map((a) => new ExactDecimal(a));
  const total = roundHalfEven(exact.reduce((sum, a) => sum.plus(a), new ExactDecimal(0)));
  const rounded = exact.map(roundHalfEven);
  // A whole number of minor units, at most half the number of amounts plus one: a count, not money.
  const difference = total.minus(rounded.reduce((sum, a) => sum.plus(a), new ExactDecimal(0))).toNumber();
  if (difference !== 0) {
    const step = Math.sign(difference);
    // How far rounding moved each amount against the direction the total needs.
    const remainders = exact.map((a, i) => ({ i, remainder: a.minus(rounded[i]!).times(step) }));
    remainders.sort((a, b) => b.remainder.comparedTo(a.remainder) || a.i - b.i);
    for (const { i } of remainders.slice(0, Math.abs(difference))) rounded[i] = rounded[i]!.plus(step);
  }
  return { totalMinor: total, amountsMinor: rounded };
}

type LineOrder = { pluggedInAtMs: number; sessionId: string; component: number; priceLabel: string; tariffId: string };

function compareLines(a: LineOrder, b: LineOrder): number {
  return (
    a.pluggedInAtMs - b.pluggedInAtMs ||
    compareText(a.sessionId, b.sessionId) ||
    a.component - b.component ||
    compareText(a.priceLabel, b.priceLabel) ||
    compareText(a.tariffId, b.tariffId)
  );
}

/**
 * Groups exact charges into invoice lines by (session, component, tariff, price label) and rounds
 * them (see allocateRounding). Lines come by the session's pluggedInAt (from `pluggedInAt`, by
 * session id; a session not in it comes last), session id, component (energy, speed, session fee,
 * export credit), price label, tariff.
 */
export function invoiceLines(charges: readonly Charge[], pluggedInAt: ReadonlyMap<string, string>): { lines: InvoiceLine[]; totalMinor: string } {
  return exactInvoiceLines(
    charges.map((charge) => ({ charge, energyWh: exactDecimal('energyWh', charge.energyWh), amountMinor: exactDecimal('amountMinor', charge.amountMinor) })),
    pluggedInAt,
  );
}

/** invoiceLines of charges whose exact energy and amount are at hand (not parsed again from their text). */
function exactInvoiceLines(charges: readonly ExactCharge[], pluggedInAt: ReadonlyMap<string, string>): { lines: InvoiceLine[]; totalMinor: string } {
  type Group = LineOrder & { energyWh: Decimal; exactAmount: Decimal; justifiedBy: Set<string> };
  const groups = new Map<string, Group>();
  for (const { charge, energyWh, amountMinor } of charges) {
    const key = JSON.stringify([charge.sessionId, charge.component, charge.tariffId, charge.priceLabel]);
    let group = groups.get(key);
    if (group === undefined) {
      const plugged = pluggedInAt.get(charge.sessionId);
      group = {
        pluggedInAtMs: plugged === undefined ? Number.POSITIVE_INFINITY : parseInstant('pluggedInAt', plugged),
        sessionId: charge.sessionId,
        component: CHARGE_COMPONENTS.indexOf(charge.component),
        priceLabel: charge.priceLabel,
        tariffId: charge.tariffId,
        energyWh: new ExactDecimal(0),
        exactAmount: new ExactDecimal(0),
        justifiedBy: new Set(),
      };
      groups.set(key, group);
    }
    group.energyWh = group.energyWh.plus(energyWh);
    group.exactAmount = group.exactAmount.plus(amountMinor);
    for (const position of charge.justifiedBy) group.justifiedBy.add(position);
  }
  const sorted = [...groups.values()].sort(compareLines);
  const { totalMinor, amountsMinor } = allocateRounding(sorted.map((g) => g.exactAmount));
  const lines = sorted.map((g, i): InvoiceLine => ({
    sessionId: g.sessionId,
    component: CHARGE_COMPONENTS[g.component]!,
    tariffId: g.tariffId,
    priceLabel: g.priceLabel,
    energyWh: decimalText(g.energyWh),
    exactAmountMinor: decimalText(g.exactAmount),
    amountMinor: decimalText(amountsMinor[i]!),
    justifiedBy: sortedPositions(g.justifiedBy),
  }));
  return { lines, totalMinor: decimalText(totalMinor) };
}

const compareSessions = (a: BillableSession, b: BillableSession): number =>
  parseInstant('pluggedInAt', a.pluggedInAt) - parseInstant('pluggedInAt', b.pluggedInAt) || exactDecimal('position', a.position).comparedTo(b.position);

/** The one currency of the tariffs assigned to the account (that the input holds). */
function invoiceCurrency(input: BillingInput, accountId: string): string {
  const currencies: Record<string, string> = {};
  for (const assignment of input.assignments) {
    if (assignment.accountId !== accountId) continue;
    const tariff = input.tariffs.get(assignment.tariffId);
    if (tariff !== undefined) currencies[tariff.tariffId] = tariff.currency;
  }
  const distinct = new Set(Object.values(currencies));
  if (distinct.size > 1) {
    const sorted = Object.fromEntries(Object.entries(currencies).sort(([a], [b]) => compareText(a, b)));
    throw new MixedInvoiceCurrencies(accountId, sorted);
  }
  return [...distinct][0] ?? NO_CURRENCY;
}

/**
 * The invoice of `accountId` for the UTC `month` ("2026-11"): the charges of the account's
 * sessions whose interval starts in the month, and the session fees of the sessions plugged in
 * during the month, as rounded lines that add up to the total. What could not be priced (no spot
 * price yet, no tariff) is listed, not billed.
 */
export function buildInvoice(input: BillingInput, accountId: string, month: string): Invoice {
  parseId('accountId', accountId);
  const { startMs, endMs } = monthRange(month);
  const inMonth = (instant: string): boolean => {
    const ms = parseInstant('instant', instant);
    return ms >= startMs && ms < endMs;
  };
  const currency = invoiceCurrency(input, accountId);

  const sessions = new Map<string, BillableSession>();
  for (const session of input.sessions) {
    if (session.accountId !== accountId) continue;
    const known = sessions.get(session.sessionId);
    // A session listed twice: keep one whatever the order of the input.
    if (known === undefined || compareSessions(session, known) < 0) sessions.set(session.sessionId, session);
  }
  const intervalsOf = new Map<string, IntervalEnergy[]>();
  for (const interval of input.intervals) {
    if (!sessions.has(interval.sessionId) || !inMonth(interval.intervalStart)) continue;
    const list = intervalsOf.get(interval.sessionId) ?? [];
    list.push(interval);
    intervalsOf.set(interval.sessionId, list);
  }

  const charges: ExactCharge[] = [];
  const unpriced: UnpricedCharge[] = [];
  const cache = newPricingCache(input);
  for (const session of sessions.values()) {
    const result = exactSessionCharges(input, session, intervalsOf.get(session.sessionId) ?? [], inMonth(session.pluggedInAt), cache);
    charges.push(...result.charges);
    unpriced.push(...result.unpriced);
  }
  const pluggedInAt = new Map([...sessions.values()].map((s) => [s.sessionId, s.pluggedInAt]));
  const { lines, totalMinor } = exactInvoiceLines(charges, pluggedInAt);

  const sessionOrder = (sessionId: string): LineOrder => ({
    pluggedInAtMs: parseInstant('pluggedInAt', pluggedInAt.get(sessionId)!),
    sessionId,
    component: 0,
    priceLabel: '',
    tariffId: '',
  });
  const byInstant = (a: { sessionId: string; at: string }, b: { sessionId: string; at: string }): number =>
    compareLines(sessionOrder(a.sessionId), sessionOrder(b.sessionId)) || parseInstant('at', a.at) - parseInstant('at', b.at);
  const sortedUnpriced = [...unpriced].sort((a, b) => byInstant(a, b) || compareText(JSON.stringify(a), JSON.stringify(b)));

  const unpricedIntervals: Invoice['unpricedIntervals'] = [];
  const untariffedIntervals: Invoice['untariffedIntervals'] = [];
  for (const entry of sortedUnpriced) {
    if (entry.reason === 'no_spot_price') unpricedIntervals.push({ sessionId: entry.sessionId, intervalStart: entry.intervalStart, zone: entry.zone });
    else untariffedIntervals.push({ sessionId: entry.sessionId, intervalStart: entry.intervalStart, tariffId: entry.reason === 'unknown_tariff' ? entry.tariffId : null });
  }
  return { accountId, month, currency, lines, totalMinor, unpricedIntervals: dedupe(unpricedIntervals), untariffedIntervals: dedupe(untariffedIntervals) };
}

function dedupe<T>(entries: readonly T[]): T[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const key = JSON.stringify(entry);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
