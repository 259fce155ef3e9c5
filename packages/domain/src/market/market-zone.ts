/**
 * The market zone aggregate (`marketzone-<zone>`): the products the zone trades (templates), its
 * participants (traders, aggregators: balance responsible parties) and their portfolios (which
 * fleets, customers and sites' energy is theirs, from when). Plus the pure helpers the services
 * build on: `productFor` (a product template made concrete for a delivery interval) and
 * `attributeSession` (whose energy a charging session is).
 *
 * Unlike the order book, evolve returns a new state and leaves its input alone.
 */
import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import { canonicalInstant, checkArray, checkCurrency, checkText, checkZone, formatInstant, parseId, parseInstant } from '../values/index.ts';
import { MarketZoneNotConfigured, ParticipantExists, UnknownParticipant, UnknownProduct } from './market-errors.ts';
import { checkProductTemplate } from './market-fields.ts';
import type { MarketZoneCommand, MarketZoneEvent, ProductSpec, ProductTemplate } from './market-types.ts';

export type MemberKind = 'fleet' | 'customer' | 'site';

export type PortfolioAssignment = { participantId: string; memberKind: MemberKind; memberId: string; validFrom: string };

export type MarketZoneState = {
  /** Null until the zone is configured. */
  zone: string | null;
  currency: string | null;
  imbalancePriceZone: string | null;
  products: readonly ProductTemplate[];
  participants: ReadonlyMap<string, { participantId: string; name: string }>;
  /**
   * `<kind>:<memberId>` → the member's assignments, by validFrom (the same validFrom twice: the
   * later assignment replaces the earlier, a correction).
   */
  portfolio: ReadonlyMap<string, readonly PortfolioAssignment[]>;
};

export const marketZoneStreamId = (zone: string): string => `marketzone-${zone}`;

const memberKey = (kind: MemberKind, memberId: string): string => `${kind}:${memberId}`;

const MEMBER_KINDS: readonly MemberKind[] = ['fleet', 'customer', 'site'];

function initialState(): MarketZoneState {
  return { zone: null, currency: null, imbalancePriceZone: null, products: [], participants: new Map(), portfolio: new Map() };
}

/** The same zone as the stream's, or an InvalidCommand. */
function checkStreamZone(state: MarketZoneState, value: unknown): string {
  const zone = checkZone('zone', value);
  if (state.zone !== null && state.zone !== zone) throw new InvalidCommand('zone', `${zone} is not this stream's zone (${state.zone})`);
  return zone;
}

function configuredZone(state: MarketZoneState, value: unknown): string {
  const zone = checkStreamZone(state, value);
  if (state.zone === null) throw new MarketZoneNotConfigured(zone);
  return zone;
}

const templateText = (t: ProductTemplate): string =>
  [t.lengthMinutes, t.mode, t.tickMinorPerMWh, t.minPriceMinorPerMWh, t.maxPriceMinorPerMWh, t.quantityStepWh, t.maxQuantityWh, t.gateClosureMinutes, t.openMinutes].join('|');

function decide(command: MarketZoneCommand, state: MarketZoneState): MarketZoneEvent[] {
  switch (command.type) {
    case 'ConfigureMarketZone': {
      canonicalInstant('at', command.at);
      const zone = checkStreamZone(state, command.zone);
      const currency = checkCurrency('currency', command.currency);
      const imbalancePriceZone = checkZone('imbalancePriceZone', command.imbalancePriceZone);
      const raw = checkArray('products', command.products);
      if (raw.length === 0) throw new InvalidCommand('products', 'must hold at least one product template');
      if (raw.length > 96) throw new InvalidCommand('products', `holds ${raw.length} templates; at most 96`);
      const products = raw.map((t, i) => checkProductTemplate(`products[${i}]`, t)).sort((a, b) => a.lengthMinutes - b.lengthMinutes);
      for (let i = 1; i < products.length; i++) {
        if (products[i]!.lengthMinutes === products[i - 1]!.lengthMinutes) {
          throw new InvalidCommand('products', `two templates for ${products[i]!.lengthMinutes}-minute products: one per length`);
        }
      }
      const unchanged =
        state.zone === zone &&
        state.currency === currency &&
        state.imbalancePriceZone === imbalancePriceZone &&
        state.products.length === products.length &&
        state.products.every((t, i) => templateText(t) === templateText(products[i]!));
      if (unchanged) return [];
      return [{ type: 'MarketZoneConfigured', data: { zone, currency, imbalancePriceZone, products } }];
    }
    case 'RegisterParticipant': {
      canonicalInstant('at', command.at);
      const zone = configuredZone(state, command.zone);
      const participantId = parseId('participantId', command.participantId);
      if (participantId === 'operator') throw new InvalidCommand('participantId', '"operator" is reserved: energy nobody claims is the operator\'s');
      const name = checkText('name', command.name, 200);
      if (state.participants.has(participantId)) throw new ParticipantExists(zone, participantId);
      return [{ type: 'ParticipantRegistered', data: { zone, participantId, name } }];
    }
    case 'AssignPortfolioMember': {
      canonicalInstant('at', command.at);
      const zone = configuredZone(state, command.zone);
      const participantId = parseId('participantId', command.participantId);
      if (!MEMBER_KINDS.includes(command.memberKind)) throw new InvalidCommand('memberKind', `${JSON.stringify(command.memberKind)} must be "fleet", "customer" or "site"`);
      const memberId = parseId('memberId', command.memberId);
      const validFrom = canonicalInstant('validFrom', command.validFrom);
      if (!state.participants.has(participantId)) throw new UnknownParticipant(zone, participantId);
      const current = state.portfolio.get(memberKey(command.memberKind, memberId))?.find((a) => a.validFrom === validFrom);
      if (current?.participantId === participantId) return []; // the same assignment again
      return [{ type: 'PortfolioMemberAssigned', data: { zone, participantId, memberKind: command.memberKind, memberId, validFrom } }];
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${String((unreachable as { type: unknown }).type)}`);
    }
  }
}

/** Applies events to a state whose maps this call owns (copied once by evolve / evolveAll). */
function applyOwned(
  state: MarketZoneState & { participants: Map<string, { participantId: string; name: string }>; portfolio: Map<string, readonly PortfolioAssignment[]> },
  event: MarketZoneEvent,
): void {
  switch (event.type) {
    case 'MarketZoneConfigured':
      state.zone = event.data.zone;
      state.currency = event.data.currency;
      state.imbalancePriceZone = event.data.imbalancePriceZone;
      state.products = event.data.products;
      return;
    case 'ParticipantRegistered':
      state.participants.set(event.data.participantId, { participantId: event.data.participantId, name: event.data.name });
      return;
    case 'PortfolioMemberAssigned': {
      const { participantId, memberKind, memberId, validFrom } = event.data;
      const key = memberKey(memberKind, memberId);
      const list = (state.portfolio.get(key) ?? []).filter((a) => a.validFrom !== validFrom);
      list.push({ participantId, memberKind, memberId, validFrom });
      list.sort((a, b) => parseInstant('validFrom', a.validFrom) - parseInstant('validFrom', b.validFrom));
      state.portfolio.set(key, list);
      return;
    }
    default: {
      const unreachable: never = event;
      throw new Error(`unknown event ${String((unreachable as { type: unknown }).type)}`);
    }
  }
}

function evolveAll(state: MarketZoneState, events: readonly MarketZoneEvent[]): MarketZoneState {
  const next = { ...state, participants: new Map(state.participants), portfolio: new Map(state.portfolio) };
  for (const event of events) applyOwned(next, event);
  return next;
}

const evolve = (state: MarketZoneState, event: MarketZoneEvent): MarketZoneState => evolveAll(state, [event]);

export const marketZoneDecider: Decider<MarketZoneState, MarketZoneCommand, MarketZoneEvent> & {
  evolveAll: (state: MarketZoneState, events: readonly MarketZoneEvent[]) => MarketZoneState;
} = { initialState, decide, evolve, evolveAll };

// ---- helpers ----------------------------------------------------------------------------------

/**
 * The product a zone trades for the delivery interval [deliveryStart, + lengthMinutes): the
 * template of that length made concrete (openAt = start − openMinutes, gateClosureAt = start −
 * gateClosureMinutes). UnknownProduct when the zone is not configured, trades no product of that
 * length, or the start is not a multiple of the length from midnight UTC. Whether the book is
 * open yet (or still) is the order book's to say (MARKET_NOT_OPEN, GATE_CLOSED): it knows `at`.
 */
export function productFor(zoneState: MarketZoneState, deliveryStart: string, lengthMinutes: number): ProductSpec {
  const start = canonicalInstant('deliveryStart', deliveryStart);
  const zone = zoneState.zone ?? '?';
  const unknown = (reason: 'zone_not_configured' | 'no_template' | 'not_aligned', explanation: string) =>
    new UnknownProduct({ zone, deliveryStart: start, lengthMinutes, reason, explanation });
  if (zoneState.zone === null || zoneState.currency === null) throw unknown('zone_not_configured', 'the zone is not configured');
  const template = zoneState.products.find((t) => t.lengthMinutes === lengthMinutes);
  if (template === undefined) {
    throw unknown('no_template', `it trades ${zoneState.products.map((t) => `${t.lengthMinutes}-minute`).join(', ')} products`);
  }
  const startMs = parseInstant('deliveryStart', start);
  const lengthMs = lengthMinutes * 60_000;
  if (startMs % lengthMs !== 0) throw unknown('not_aligned', `${lengthMinutes}-minute products start every ${lengthMinutes} minutes from midnight UTC`);
  return {
    zone: zoneState.zone,
    currency: zoneState.currency,
    deliveryStart: start,
    deliveryEnd: formatInstant(startMs + lengthMs),
    mode: template.mode,
    openAt: formatInstant(startMs - template.openMinutes * 60_000),
    gateClosureAt: formatInstant(startMs - template.gateClosureMinutes * 60_000),
    tickMinorPerMWh: template.tickMinorPerMWh,
    minPriceMinorPerMWh: template.minPriceMinorPerMWh,
    maxPriceMinorPerMWh: template.maxPriceMinorPerMWh,
    quantityStepWh: template.quantityStepWh,
    maxQuantityWh: template.maxQuantityWh,
  };
}

/** Whose a member's energy is at `atMs`: the assignment with the latest validFrom at or before it. */
function holderAt(zoneState: MarketZoneState, kind: MemberKind, memberId: string, atMs: number): string | null {
  const list = zoneState.portfolio.get(memberKey(kind, memberId));
  if (list === undefined) return null;
  let holder: string | null = null;
  for (const a of list) {
    if (parseInstant('validFrom', a.validFrom) > atMs) break;
    holder = a.participantId;
  }
  return holder;
}

/**
 * The participant a session's energy at `at` belongs to: the holder of its fleet, else of its
 * customer, else of its site; `'operator'` when nobody holds any of them.
 */
export function attributeSession(zoneState: MarketZoneState, session: { fleetId: string | null; customerId: string | null; siteId: string | null }, at: string): string {
  const atMs = parseInstant('at', at);
  const candidates: [MemberKind, string | null][] = [
    ['fleet', session.fleetId],
    ['customer', session.customerId],
    ['site', session.siteId],
  ];
  for (const [kind, id] of candidates) {
    if (id === null || id === undefined) continue;
    const holder = holderAt(zoneState, kind, id, atMs);
    if (holder !== null) return holder;
  }
  return 'operator';
}
