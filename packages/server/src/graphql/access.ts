import { CodedError, type Role } from '@v2g/domain';
import type { GraphQLContext } from './context.ts';

/**
 * Who may use which field: the scopes every Query, Mutation and Subscription field names in its
 * `authScopes` (Pothos scope-auth), and the loaders behind them. A scope map passes when any of
 * its scopes does. Roles:
 * - operator: everything (sites, limits, rules, prices, tariffs, market zones, participants, keys,
 *   rebuilds, settlement closes);
 * - integrator: reads and writes the grid's live signals, sessions, metering, prices and tariffs;
 *   reads billing and the public market; never keys, rebuilds, the raw log or traders' orders;
 * - auditor: reads everything, writes nothing;
 * - trader: its own orders, fills and positions (subject = traderId), the public book and an
 *   anonymous tape;
 * - fleet_manager / driver: plug in for their fleet / as themselves, their sessions and invoices.
 */
export type AuthScopes = {
  operator: boolean;
  integrator: boolean;
  auditor: boolean;
  trader: boolean;
  fleetManager: boolean;
  driver: boolean;
  /** The caller is this trader (a trader whose subject is this id). */
  traderIs: string;
  /** The caller manages this fleet. */
  fleetIs: string;
  /** The caller is this customer (a driver). */
  customerIs: string;
  /** The caller is the fleet manager or the driver of this session (loads the session). */
  sessionOf: string;
};

/** Why a request was refused: its role may not use the field at all, or only for its own trader, fleet, customer or sessions. */
export type ForbiddenReason = 'ROLE_NOT_ALLOWED' | 'NOT_OWN_ACCOUNT';

/**
 * A role's request for a field it may not use: `extensions.code` FORBIDDEN, and nothing ran.
 * `details.reason` says which refusal; the message says what was refused and why.
 */
export class Forbidden extends CodedError {
  readonly code = 'FORBIDDEN';
  constructor(
    field: string,
    role: Role,
    refusal: { reason: ForbiddenReason; message: string; facts?: Record<string, unknown> } = { reason: 'ROLE_NOT_ALLOWED', message: `the role ${role} may not use ${field}` },
  ) {
    super(refusal.message, { field, role, reason: refusal.reason, ...refusal.facts });
  }
}

/** A scope-auth failure tree (Pothos's AuthFailure), as far as it is read here. */
export type ScopeFailure = { kind: string; scope?: string; parameter?: unknown; failures?: readonly ScopeFailure[] };

/** The scopes that ask "is it the caller's own …?", with the role each serves and what it names. */
const OWN_SCOPES: Record<string, { roles: readonly Role[]; who: string; own: string }> = {
  traderIs: { roles: ['trader'], who: 'a trader', own: 'their own trader id' },
  fleetIs: { roles: ['fleet_manager'], who: 'a fleet manager', own: 'their own fleet' },
  customerIs: { roles: ['driver'], who: 'a driver', own: 'their own customer id' },
  sessionOf: { roles: ['fleet_manager', 'driver'], who: 'a fleet manager or driver', own: 'their own sessions' },
};
const ROLE_SCOPES: Record<string, Role> = { operator: 'operator', integrator: 'integrator', auditor: 'auditor', trader: 'trader', fleetManager: 'fleet_manager', driver: 'driver' };

/**
 * The refusal a scope-auth failure means for this principal: when one of the scopes that failed
 * was "the caller's own" for the caller's role (a trader ordering for another trader), it says so,
 * naming both ids (NOT_OWN_ACCOUNT); otherwise the role may not use the field, and the roles that
 * may are named (ROLE_NOT_ALLOWED).
 */
export function forbiddenFor(field: string, principal: { role: Role; subject: string | null }, failure: ScopeFailure | undefined): Forbidden {
  const tried: ScopeFailure[] = [];
  const walk = (f: ScopeFailure | undefined) => {
    if (!f) return;
    if (f.scope !== undefined) tried.push(f);
    for (const inner of f.failures ?? []) walk(inner);
  };
  walk(failure);
  const { role, subject } = principal;
  const own = tried.find((f) => OWN_SCOPES[f.scope!]?.roles.includes(role));
  if (own) {
    const scope = OWN_SCOPES[own.scope!]!;
    const requested = String(own.parameter);
    const you = subject ?? '(no subject)';
    const message =
      own.scope === 'sessionOf'
        ? `${scope.who} may use ${field} only for ${scope.own}; you are ${you}, and session ${requested} is not one of yours`
        : `${scope.who} may use ${field} only for ${scope.own}; you are ${you}, the request is for ${requested}`;
    return new Forbidden(field, role, { reason: 'NOT_OWN_ACCOUNT', message, facts: { subject, requested } });
  }
  const allowed = [
    ...new Set(tried.flatMap((f) => (ROLE_SCOPES[f.scope!] ? [ROLE_SCOPES[f.scope!]!] : OWN_SCOPES[f.scope!] ? OWN_SCOPES[f.scope!]!.roles.map((r) => `${r} (own)`) : []))),
  ];
  const message = allowed.length > 0 ? `the role ${role} may not use ${field}: it is open to ${allowed.join(', ')}` : `the role ${role} may not use ${field}`;
  return new Forbidden(field, role, { reason: 'ROLE_NOT_ALLOWED', message, facts: allowed.length > 0 ? { allowedRoles: allowed } : {} });
}

/** The scope loaders of one request. */
export function scopesOf(ctx: GraphQLContext): { [K in keyof AuthScopes]: AuthScopes[K] extends boolean ? boolean : (param: string) => boolean | Promise<boolean> } {
  const { role, subject } = ctx.principal;
  return {
    operator: role === 'operator',
    integrator: role === 'integrator',
    auditor: role === 'auditor',
    trader: role === 'trader',
    fleetManager: role === 'fleet_manager',
    driver: role === 'driver',
    traderIs: (traderId) => role === 'trader' && subject === traderId,
    fleetIs: (fleetId) => role === 'fleet_manager' && subject === fleetId,
    customerIs: (customerId) => role === 'driver' && subject === customerId,
    sessionOf: async (sessionId) => {
      if (role !== 'fleet_manager' && role !== 'driver') return false;
      const { session } = await ctx.ledger.grid.service.loadSession(sessionId);
      if (session.status === 'none') return false;
      return role === 'fleet_manager' ? session.fleetId === subject : session.customerId === subject;
    },
  };
}

// ---- the scope maps fields use -------------------------------------------------------------------

/** Every authenticated role: public information (prices, tariffs). */
export const EVERY_ROLE = { operator: true, integrator: true, auditor: true, trader: true, fleetManager: true, driver: true } as const;
/** Configuration of the platform: sites, limits, rules, market zones, keys, closes. */
export const OPERATOR = { operator: true } as const;
/** The platform's internals and everybody's money: the raw log, settlement, ledgers, keys. */
export const OPERATOR_AUDITOR = { operator: true, auditor: true } as const;
/** The grid, sessions, metering, prices, tariffs, billing: integrators read them too. */
export const PLATFORM_READERS = { operator: true, auditor: true, integrator: true } as const;
/** Live grid signals, sessions, metering, prices and tariffs: integrators write them too. */
export const PLATFORM_WRITERS = { operator: true, integrator: true } as const;
/** The public side of the market: the book, the anonymous tape, the zone. */
export const MARKET_READERS = { ...PLATFORM_READERS, trader: true } as const;

/** A session's data: platform readers, and its own fleet manager or driver. */
export const sessionReaders = (sessionId: string) => ({ ...PLATFORM_READERS, sessionOf: sessionId });
/** A command on one session: platform writers, and its own fleet manager or driver. */
export const sessionWriters = (sessionId: string) => ({ ...PLATFORM_WRITERS, sessionOf: sessionId });
/** A billing account's data (a fleet or a customer): platform readers, and that fleet's manager or that driver. */
export const accountReaders = (accountId: string) => ({ ...PLATFORM_READERS, fleetIs: accountId, customerIs: accountId });
/** A trader's orders and positions: operators, auditors and that trader. */
export const traderReaders = (traderId: string) => ({ ...OPERATOR_AUDITOR, traderIs: traderId });
/**
 * Orders for these traders: operators, or the trader itself when they are all its own. With
 * several traders the scope names one that is not the caller's (there is one), so that a refusal
 * says which: "you are alice, the request is for bob".
 */
export function traderWriters(traderIds: readonly string[], ctx?: Pick<GraphQLContext, 'principal'>) {
  const traders = [...new Set(traderIds)];
  if (traders.length === 1) return { operator: true, traderIs: traders[0]! };
  const notOwn = traders.find((id) => id !== ctx?.principal.subject) ?? traders[0]!;
  return traders.length === 0 ? OPERATOR : { operator: true, traderIs: notOwn };
}
/** A settlement ledger account: `trader:<id>` is that trader's too, `customer:<account>` that fleet's or driver's. */
export function ledgerAccountReaders(account: string) {
  if (account.startsWith('trader:')) return { ...OPERATOR_AUDITOR, traderIs: account.slice('trader:'.length) };
  if (account.startsWith('customer:')) return { ...OPERATOR_AUDITOR, fleetIs: account.slice('customer:'.length), customerIs: account.slice('customer:'.length) };
  return OPERATOR_AUDITOR;
}

/** What a trader may see of a trade it was not party to: nothing that names the other side. */
export function seesTradeParty(ctx: GraphQLContext, partyId: string): boolean {
  return ctx.principal.role !== 'trader' || ctx.principal.subject === partyId;
}
