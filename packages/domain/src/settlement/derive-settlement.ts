/**
 * Derives one zone's settlement statement for one 15-minute period from the events the caller
 * read: what each participant contracted (trades) against what its portfolio was metered, the
 * imbalance priced at the imbalance price, and the transfers that post it all on the double-entry
 * ledger (ledger.ts). Pure and deterministic: the same events in any order (and any duplicates)
 * give a byte-identical statement (JSON.stringify).
 *
 * Inputs. Only events with position <= inputsThrough and recordedAt <= knownAt count ("as known at
 * knownAt"). Of those, the statement USES, and hashes exactly (inputsHash = sha256 of the lines
 * `<position>:<hash>\n`, in position order; inputCount = how many):
 * - the zone's configuration: the last MarketZoneConfigured of `marketzone-<zone>` (currency,
 *   imbalance price zone);
 * - the imbalance price: the last PricesPublished/PricesRevised of the imbalance price zone that
 *   prices the interval starting at periodStart;
 * - every TradeExecuted of the zone whose delivery [deliveryStart, deliveryEnd) overlaps the period;
 * - of each session stream whose meter puts energy into the period (sessionEnergyIn: a span of its
 *   time line reaches into it), the events whose points bound those spans, and its SessionPluggedIn
 *   (who the session is: customer, fleet, site);
 * - the PortfolioMemberAssigned that attributes such a session to its participant.
 * A session stream with no SessionPluggedIn known is left out (nobody to attribute it to). Which
 * sessions belong to the zone (by site) is the caller's choice: every session stream given counts.
 * The zone's configuration and the period's imbalance price are always required
 * (MARKET_ZONE_NOT_CONFIGURED, IMBALANCE_PRICE_MISSING), even for a period with no line.
 *
 * Attribution. A session's energy belongs to the participant whose portfolio holds, at periodStart,
 * its fleet, else its customer, else its site (the assignment of that member with the latest
 * validFrom <= periodStart; equal validFrom: the later event), else to the operator (participantId
 * "operator", account `operator`). Its billing account (customer side) is fleetId ?? customerId.
 *
 * Figures and sign conventions (see settlement-types.ts): energy delivered to the grid is positive.
 * contractedWh = soldWh − boughtWh (the trade parts of the period, tradeParts); meteredNetWh =
 * meteredExportWh − meteredImportWh (exact, to the mWh); imbalanceWh = meteredNetWh − contractedWh
 * (exact). Posted energy is whole Wh: per participant, its exports (and, apart, its imports) are
 * rounded half-even as a total and the total allocated to its customers by allocateRounding, so
 * the customer parts add up to it; postedImbalanceWh = posted exports − posted imports −
 * contractedWh, which is exactly what brings the participant's Wh account for the period to zero.
 * imbalanceAmountMinor = postedImbalanceWh × imbalancePriceMinorPerKWh / 1000, rounded half-even:
 * positive is paid to the participant (it delivered more than it sold), negative it pays.
 * tradeAmountMinor = what it receives for the trade parts it sold minus what it pays for those it
 * bought (a negative price turns both round).
 *
 * Transfers (balance = credits − debits; every transfer moves a positive amount from its debit
 * account to its credit account), ids prefixed `settlement/<zone>/<periodStart>/r<revision>/`:
 * - `trade/<tradeId>/energy` (Wh) seller → buyer and `trade/<tradeId>/money` (currency) buyer →
 *   seller (seller → buyer for a negative amount): the period's trade parts; the first revision
 *   that settles a trade (revision 1, or a later one for a trade it did not know) posts the
 *   pending transfer recorded at match time (postsPending = `trade/<tradeId>/<periodStart>/…`),
 *   which the ledger then lists as cleared;
 * - `metered/<participant>/<billing account>/export`: `customer:<acc>` → participant, Wh, and
 *   `.../import`: participant → `customer:<acc>`;
 * - `physical/<billing account>`: `grid:metered` → `customer:<acc>` for the customer's net export
 *   (the other way for a net import), so the customer's Wh account nets to zero;
 * - `imbalance/<participant>/energy`: participant → `grid:imbalance` for a positive
 *   postedImbalanceWh (the surplus is handed to the grid), the other way for a negative one;
 *   `imbalance/<participant>/money`: `grid:imbalance` → participant for a positive amount (paid),
 *   the other way for a negative one (it pays).
 * Participant and billing account ids are URI-component encoded inside transfer ids; zero amounts
 * post nothing; postings are sorted by transferId. Every account but `grid:metered` and
 * `grid:imbalance` nets to zero in the Wh ledger for the period.
 *
 * Revisions. With `previous` (the period's last revision) the statement is revision
 * previous.revision + 1: first a `reversal/<original id>` of every posting of `previous`, in its
 * order (its transfers that are not themselves reversals: the revision before it is already
 * undone), then this revision's postings, with postsPending only for the trades previous did not
 * settle (an earlier revision posted the others' pending transfers). When the inputs are the same as previous's (equal inputsHash), `previous` itself is
 * returned: there is nothing to do.
 */
import { InvalidCommand } from '../errors.ts';
import { Decimal, formatInstant, parseInstant, checkZone, compareDecimalText, compareText, decimalText, ExactDecimal, QUARTER_HOUR_MS } from '../values/index.ts';
import { allocateRounding } from '../billing/invoice.ts';
import type { MarketZoneEvent } from '../market/market-types.ts';
import type { SessionPluggedInData } from '../session/session-types.ts';
import type { PricesEvent } from '../billing/billing-types.ts';
import { sessionEnergyIn } from './session-energy.ts';
import { ImbalancePriceMissing, SettlementCurrencyMismatch, SettlementZoneNotConfigured } from './settlement-errors.ts';
import type { InputEvent, SettlementLine, SettlementStatement, SettlementTrade, Transfer } from './settlement-types.ts';
import { ENERGY_LEDGER, tradeParts, traderAccount } from './trade-parts.ts';

export type DeriveSettlementArgs = {
  zone: string;
  /** The period's start, on a quarter hour (UTC). */
  periodStart: string;
  /** Inputs are the events recorded at or before this instant... */
  knownAt: string;
  /** ...and at or below this global position (decimal string). */
  inputsThrough: string;
  /** Every event the caller read (any order; duplicates are counted once). */
  events: readonly InputEvent[];
  /** The period's last revision, or null for the first close. */
  previous: SettlementStatement | null;
  /** sha256 hex of a UTF-8 text (the domain has no crypto of its own). */
  sha256: (text: string) => string;
};

export const OPERATOR_PARTICIPANT = 'operator';
export const OPERATOR_ACCOUNT = 'operator';
export const GRID_IMBALANCE_ACCOUNT = 'grid:imbalance';
export const GRID_METERED_ACCOUNT = 'grid:metered';

export const customerAccount = (billingAccountId: string): string => `customer:${billingAccountId}`;
export const participantAccount = (participantId: string): string => (participantId === OPERATOR_PARTICIPANT ? OPERATOR_ACCOUNT : traderAccount(participantId));

/** The id prefix of a revision's transfers. */
export const settlementTransferPrefix = (zone: string, periodStart: string, revision: number): string => `settlement/${zone}/${periodStart}/r${revision}/`;

const WHOLE = /^(0|[1-9][0-9]*)$/;

type ZoneConfigured = Extract<MarketZoneEvent, { type: 'MarketZoneConfigured' }>['data'];
type MemberAssigned = Extract<MarketZoneEvent, { type: 'PortfolioMemberAssigned' }>['data'];
type Prices = PricesEvent['data'];

type CustomerEnergy = { exportWh: Decimal; importWh: Decimal };

type LineDraft = {
  participantId: string;
  boughtWh: bigint;
  soldWh: bigint;
  tradeAmountMinor: bigint;
  customers: Map<string, CustomerEnergy>;
  positions: Set<string>;
};

const zero = (): Decimal => new ExactDecimal(0);
const roundHalfEven = (value: Decimal): Decimal => value.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN);
const seg = (id: string): string => encodeURIComponent(id);

/** The canonical text inputsHash is the sha256 of: `<position>:<hash>\n` per event, in position order. */
export function inputsHashText(events: readonly Pick<InputEvent, 'position' | 'hash'>[]): string {
  return [...events]
    .sort((a, b) => compareDecimalText(a.position, b.position))
    .map((e) => `${e.position}:${e.hash}\n`)
    .join('');
}

/** Events as known: position <= inputsThrough, recordedAt <= knownAt; each position once; in position order. */
function knownEvents(events: readonly InputEvent[], inputsThrough: bigint, knownAtMs: number): InputEvent[] {
  const byPosition = new Map<string, InputEvent>();
  for (const event of events) {
    if (BigInt(event.position) > inputsThrough) continue;
    if (parseInstant('event.recordedAt', event.recordedAt) > knownAtMs) continue;
    if (!byPosition.has(event.position)) byPosition.set(event.position, event);
  }
  return [...byPosition.values()].sort((a, b) => compareDecimalText(a.position, b.position));
}

export function deriveSettlement(args: DeriveSettlementArgs): SettlementStatement {
  const zone = checkZone('zone', args.zone);
  const periodStartMs = parseInstant('periodStart', args.periodStart);
  if (periodStartMs % QUARTER_HOUR_MS !== 0) throw new InvalidCommand('periodStart', `${args.periodStart} is not on a quarter hour`);
  const periodEndMs = periodStartMs + QUARTER_HOUR_MS;
  const periodStart = formatInstant(periodStartMs);
  const periodEnd = formatInstant(periodEndMs);
  const knownAtMs = parseInstant('knownAt', args.knownAt);
  const knownAt = formatInstant(knownAtMs);
  if (typeof args.inputsThrough !== 'string' || !WHOLE.test(args.inputsThrough))
    throw new InvalidCommand('inputsThrough', `${JSON.stringify(args.inputsThrough)} is not a global position`);
  const previous = args.previous;
  if (previous && (previous.zone !== zone || previous.periodStart !== periodStart)) {
    throw new InvalidCommand('previous', `is the statement of ${previous.zone} ${previous.periodStart}, not of ${zone} ${periodStart}`);
  }
  const events = knownEvents(args.events, BigInt(args.inputsThrough), knownAtMs);

  // ---- the zone's configuration and portfolios -------------------------------------------------
  const zoneStream = `marketzone-${zone}`;
  let config: { event: InputEvent; data: ZoneConfigured } | null = null;
  const assignments: { event: InputEvent; data: MemberAssigned; validFromMs: number }[] = [];
  for (const event of events) {
    if (event.streamId !== zoneStream) continue;
    if (event.type === 'MarketZoneConfigured') {
      const data = event.data as ZoneConfigured;
      if (data.zone === zone) config = { event, data };
    } else if (event.type === 'PortfolioMemberAssigned') {
      const data = event.data as MemberAssigned;
      if (data.zone === zone) assignments.push({ event, data, validFromMs: parseInstant('validFrom', data.validFrom) });
    }
  }
  if (!config) throw new SettlementZoneNotConfigured(zone, knownAt);
  const { currency, imbalancePriceZone } = config.data;

  /** The assignment in force at periodStart for a member (latest validFrom, then latest event), if any. */
  const assignmentOf = (memberKind: MemberAssigned['memberKind'], memberId: string) => {
    let best: (typeof assignments)[number] | null = null;
    for (const a of assignments) {
      if (a.data.memberKind !== memberKind || a.data.memberId !== memberId || a.validFromMs > periodStartMs) continue;
      if (!best || a.validFromMs >= best.validFromMs) best = a;
    }
    return best;
  };

  // ---- the imbalance price ---------------------------------------------------------------------
  let price: { event: InputEvent; priceMinorPerKWh: string; currency: string } | null = null;
  for (const event of events) {
    if (event.type !== 'PricesPublished' && event.type !== 'PricesRevised') continue;
    const data = event.data as Prices;
    if (data.zone !== imbalancePriceZone) continue;
    for (const interval of data.intervals) {
      if (parseInstant('interval.start', interval.start) === periodStartMs) price = { event, priceMinorPerKWh: interval.priceMinorPerKWh, currency: data.currency };
    }
  }
  if (!price) throw new ImbalancePriceMissing(zone, imbalancePriceZone, periodStart, knownAt);
  if (price.currency !== currency)
    throw new SettlementCurrencyMismatch(zone, currency, `the imbalance price of ${imbalancePriceZone} (position ${price.event.position})`, price.currency);
  const priceMinorPerKWh = new ExactDecimal(price.priceMinorPerKWh);

  const lines = new Map<string, LineDraft>();
  const lineOf = (participantId: string): LineDraft => {
    let line = lines.get(participantId);
    if (!line) {
      line = { participantId, boughtWh: 0n, soldWh: 0n, tradeAmountMinor: 0n, customers: new Map(), positions: new Set() };
      lines.set(participantId, line);
    }
    return line;
  };

  // ---- trades ----------------------------------------------------------------------------------
  type UsedTrade = { trade: SettlementTrade; energy: Transfer | null; money: Transfer | null };
  const trades = new Map<string, UsedTrade>();
  for (const event of events) {
    if (event.type !== 'TradeExecuted') continue;
    const trade = event.data as SettlementTrade;
    if (trade.zone !== zone || trades.has(trade.tradeId)) continue;
    if (!(parseInstant('deliveryStart', trade.deliveryStart) < periodEndMs && parseInstant('deliveryEnd', trade.deliveryEnd) > periodStartMs)) continue;
    if (trade.currency !== currency) throw new SettlementCurrencyMismatch(zone, currency, `trade ${trade.tradeId}`, trade.currency);
    const part = tradeParts(trade).find((p) => p.periodStart === periodStart);
    if (!part) continue;
    trades.set(trade.tradeId, { trade, energy: part.energyTransfer, money: part.moneyTransfer });
    const seller = lineOf(trade.sellerId);
    const buyer = lineOf(trade.buyerId);
    seller.soldWh += BigInt(part.energyWh);
    buyer.boughtWh += BigInt(part.energyWh);
    seller.tradeAmountMinor += BigInt(part.amountMinor);
    buyer.tradeAmountMinor -= BigInt(part.amountMinor);
    seller.positions.add(event.position);
    buyer.positions.add(event.position);
  }

  // ---- sessions --------------------------------------------------------------------------------
  const sessions = new Map<string, InputEvent[]>();
  for (const event of events) {
    if (!event.streamId.startsWith('session-')) continue;
    const list = sessions.get(event.streamId);
    if (list) list.push(event);
    else sessions.set(event.streamId, [event]);
  }
  for (const streamEvents of sessions.values()) {
    const plugIn = streamEvents.filter((e) => e.type === 'SessionPluggedIn').at(-1);
    if (!plugIn) continue;
    const energy = sessionEnergyIn(streamEvents, periodStartMs, periodEndMs);
    if (energy.justifiedBy.length === 0) continue;
    const session = plugIn.data as SessionPluggedInData;
    const assignment =
      (session.fleetId !== null ? assignmentOf('fleet', session.fleetId) : null) ?? assignmentOf('customer', session.customerId) ?? assignmentOf('site', session.siteId);
    const line = lineOf(assignment ? assignment.data.participantId : OPERATOR_PARTICIPANT);
    const billingAccount = session.fleetId ?? session.customerId;
    const customer = line.customers.get(billingAccount) ?? { exportWh: zero(), importWh: zero() };
    customer.exportWh = customer.exportWh.plus(energy.exportWh);
    customer.importWh = customer.importWh.plus(energy.importWh);
    line.customers.set(billingAccount, customer);
    for (const position of energy.justifiedBy) line.positions.add(position);
    line.positions.add(plugIn.position);
    if (assignment) line.positions.add(assignment.event.position);
  }

  // ---- the inputs ------------------------------------------------------------------------------
  const common = [config.event.position, price.event.position];
  const used = new Set<string>(common);
  for (const line of lines.values()) for (const position of line.positions) used.add(position);
  const usedEvents = events.filter((e) => used.has(e.position));
  const inputsHash = args.sha256(inputsHashText(usedEvents));
  if (previous && previous.inputsHash === inputsHash) return previous;
  const revision = previous ? previous.revision + 1 : 1;
  const prefix = settlementTransferPrefix(zone, periodStart, revision);

  // ---- lines and postings ----------------------------------------------------------------------
  const postings: Transfer[] = [];
  const post = (suffix: string, ledger: string, debitAccount: string, creditAccount: string, amount: bigint, kind: Transfer['kind'], postsPending: string | null = null) => {
    if (amount === 0n) return;
    const [debit, credit, magnitude] = amount > 0n ? [debitAccount, creditAccount, amount] : [creditAccount, debitAccount, -amount];
    postings.push({ transferId: prefix + suffix, ledger, debitAccount: debit, creditAccount: credit, amount: magnitude.toString(), kind, reverses: null, postsPending });
  };

  // A trade's hold is posted by the first revision that settles the trade: a revision's trades
  // include every earlier revision's (inputs only grow), so the previous revision posts exactly
  // the trade legs settled before; a trade known only now (a late trade) posts its hold here.
  const settledBefore = new Set<string>();
  if (previous) {
    const previousPrefix = settlementTransferPrefix(zone, periodStart, previous.revision);
    for (const t of previous.transfers) {
      if ((t.kind === 'trade_energy' || t.kind === 'trade_money') && t.transferId.startsWith(previousPrefix)) settledBefore.add(t.transferId.slice(previousPrefix.length));
    }
  }
  for (const { trade, energy, money } of [...trades.values()].sort((a, b) => compareText(a.trade.tradeId, b.trade.tradeId))) {
    for (const [leg, pending] of [
      ['energy', energy],
      ['money', money],
    ] as const) {
      if (pending === null) continue;
      const suffix = `trade/${trade.tradeId}/${leg}`;
      postings.push({ ...pending, transferId: prefix + suffix, postsPending: settledBefore.has(suffix) ? null : pending.transferId });
    }
  }

  /** Net posted export of each billing account, over its participants. */
  const physical = new Map<string, bigint>();
  const settlementLines: SettlementLine[] = [];
  for (const line of [...lines.values()].sort((a, b) => compareText(a.participantId, b.participantId))) {
    const account = participantAccount(line.participantId);
    const customers = [...line.customers.entries()].sort(([a], [b]) => compareText(a, b));
    const exportExact = customers.reduce((sum, [, c]) => sum.plus(c.exportWh), zero());
    const importExact = customers.reduce((sum, [, c]) => sum.plus(c.importWh), zero());
    const exports = allocateRounding(customers.map(([, c]) => c.exportWh));
    const imports = allocateRounding(customers.map(([, c]) => c.importWh));
    customers.forEach(([billingAccount], i) => {
      const exportWh = BigInt(exports.amountsMinor[i]!.toFixed());
      const importWh = BigInt(imports.amountsMinor[i]!.toFixed());
      post(`metered/${seg(line.participantId)}/${seg(billingAccount)}/export`, ENERGY_LEDGER, customerAccount(billingAccount), account, exportWh, 'metered_export');
      post(`metered/${seg(line.participantId)}/${seg(billingAccount)}/import`, ENERGY_LEDGER, account, customerAccount(billingAccount), importWh, 'metered_import');
      physical.set(billingAccount, (physical.get(billingAccount) ?? 0n) + exportWh - importWh);
    });
    const contractedWh = line.soldWh - line.boughtWh;
    const meteredNet = exportExact.minus(importExact);
    const postedImbalanceWh = BigInt(exports.totalMinor.toFixed()) - BigInt(imports.totalMinor.toFixed()) - contractedWh;
    const imbalanceAmountMinor = BigInt(roundHalfEven(new ExactDecimal(postedImbalanceWh.toString()).times(priceMinorPerKWh).dividedBy(1000)).toFixed());
    post(`imbalance/${seg(line.participantId)}/energy`, ENERGY_LEDGER, account, GRID_IMBALANCE_ACCOUNT, postedImbalanceWh, 'imbalance_energy');
    post(`imbalance/${seg(line.participantId)}/money`, currency, GRID_IMBALANCE_ACCOUNT, account, imbalanceAmountMinor, 'imbalance_money');
    settlementLines.push({
      participantId: line.participantId,
      account,
      boughtWh: line.boughtWh.toString(),
      soldWh: line.soldWh.toString(),
      contractedWh: contractedWh.toString(),
      meteredExportWh: decimalText(exportExact),
      meteredImportWh: decimalText(importExact),
      meteredNetWh: decimalText(meteredNet),
      imbalanceWh: decimalText(meteredNet.minus(contractedWh.toString())),
      postedImbalanceWh: postedImbalanceWh.toString(),
      imbalancePriceMinorPerKWh: decimalText(priceMinorPerKWh),
      imbalanceAmountMinor: imbalanceAmountMinor.toString(),
      tradeAmountMinor: line.tradeAmountMinor.toString(),
      justifiedBy: [...new Set([...line.positions, ...common])].sort(compareDecimalText),
    });
  }
  for (const [billingAccount, net] of [...physical.entries()].sort(([a], [b]) => compareText(a, b))) {
    post(`physical/${seg(billingAccount)}`, ENERGY_LEDGER, GRID_METERED_ACCOUNT, customerAccount(billingAccount), net, 'physical');
  }
  postings.sort((a, b) => compareText(a.transferId, b.transferId));

  const reversals: Transfer[] = (previous?.transfers ?? [])
    .filter((t) => t.kind !== 'reversal')
    .map((t) => ({
      transferId: `${prefix}reversal/${t.transferId}`,
      ledger: t.ledger,
      debitAccount: t.creditAccount,
      creditAccount: t.debitAccount,
      amount: t.amount,
      kind: 'reversal',
      reverses: t.transferId,
      postsPending: null,
    }));

  return {
    zone,
    periodStart,
    periodEnd,
    currency,
    revision,
    knownAt,
    inputsThrough: args.inputsThrough,
    inputsHash,
    inputCount: usedEvents.length,
    lines: settlementLines,
    transfers: [...reversals, ...postings],
  };
}
