import {
  accountDecider,
  accountStreamId,
  AccountNotFound,
  chargesFor,
  formatInstant,
  intervalStartOf,
  InvalidCommand,
  monthRange,
  parseInstant,
  pricesDecider,
  pricesStreamId,
  QUARTER_HOUR_MS,
  tariffDecider,
  tariffStreamId,
  type AccountEvent,
  type Charge,
  type Invoice,
  type PricePoint,
  type PricesEvent,
  type SessionState,
  type TariffDefinition,
  type TariffEvent,
} from '@v2g/domain';
import type { CommandContext, CommandHandler, HandleResult } from '../../command-handler.ts';
import type { BillingReadModel } from './billing-read-model.ts';

/** Energy not billed yet, and why: `no_spot_price:<zone>`, `no_tariff` or `unknown_tariff:<id>`. */
export type Unbilled = { sessionId: string; intervalStart: string | null; why: string };

/** What a session costs, charge by charge, exact (each charge in its tariff's currency). */
export type SessionCost = {
  sessionId: string;
  accountId: string;
  currency: string;
  charges: (Charge & { currency: string })[];
  unbilled: Unbilled[];
};

/** A tariff assignment of an account: [validFrom, validTo). */
export type TariffAssignment = { tariffId: string; validFrom: string; validTo: string | null };

export type BillingServiceOptions = {
  /** The ledger's clock, epoch ms. */
  clock: () => number;
  readModel: BillingReadModel;
  /** A session as the grid records it (the billed party, when it was plugged in and stopped). */
  loadSession(sessionId: string): Promise<{ session: SessionState }>;
};

/** A curve spans at most this long. */
const MAX_CURVE_MS = 366 * 86_400_000;
/** An `invoices` question spans at most this many months. */
const MAX_INVOICE_MONTHS = 24;

/**
 * Prices, tariffs and bills: the commands go to their aggregates (prices-<zone>, tariff-<id>,
 * account-<id>); prices and bills are read from the billing read model, and a bill is computed by
 * the pure pricing of the domain from what that model holds, so it is the same every time it is
 * asked for with the same knowledge.
 */
export class BillingService {
  constructor(
    private readonly commands: CommandHandler,
    private readonly options: BillingServiceOptions,
  ) {}

  /** Publishes (or revises) a zone's prices. */
  publishPrices(command: { zone: string; currency: string; source: string; points: PricePoint[] }, context: CommandContext): Promise<HandleResult<PricesEvent>> {
    return this.commands.handle(pricesDecider, pricesStreamId(command.zone), { type: 'PublishPrices', at: this.now(), ...command }, context);
  }

  /** Defines a tariff, once: a tariff is never edited, a new one is assigned instead. */
  defineTariff(tariff: TariffDefinition, context: CommandContext): Promise<HandleResult<TariffEvent>> {
    return this.commands.handle(tariffDecider, tariffStreamId(tariff.tariffId), { type: 'DefineTariff', at: this.now(), tariff }, context);
  }

  /** A tariff as defined; null when it is not. */
  async tariff(tariffId: string): Promise<TariffDefinition | null> {
    const { state } = await this.commands.load(tariffDecider, tariffStreamId(tariffId));
    return state.status === 'defined' ? state.tariff : null;
  }

  /** The account pays a defined tariff on [validFrom, validTo); this is what opens an account. */
  async assignTariff(command: TariffAssignment & { accountId: string }, context: CommandContext): Promise<HandleResult<AccountEvent>> {
    if ((await this.tariff(command.tariffId)) === null) throw new InvalidCommand('tariffId', `tariff ${command.tariffId} is not defined`);
    return this.commands.handle(accountDecider, accountStreamId(command.accountId), { type: 'AssignTariff', at: this.now(), ...command }, context);
  }

  /** The tariffs an account pays, in time order. */
  async tariffAssignments(accountId: string): Promise<readonly TariffAssignment[]> {
    return (await this.commands.load(accountDecider, accountStreamId(accountId))).state.periods;
  }

  /** A zone's prices over [from, to), as known now or as known at `knownAt`. */
  priceCurve(zone: string, range: { from: string; to: string; knownAt?: string | null }) {
    const from = parseInstant('from', range.from);
    const to = parseInstant('to', range.to);
    if (to <= from) throw new InvalidCommand('to', 'must be after from');
    if (to - from > MAX_CURVE_MS) throw new InvalidCommand('to', 'a curve spans at most 366 days');
    return this.options.readModel.priceCurve(zone, { from: formatInstant(from), to: formatInstant(to), knownAt: range.knownAt ?? null });
  }

  /** An invoice is only for an account the billing read model knows: ACCOUNT_NOT_FOUND otherwise, not a zero invoice. */
  async checkAccountBilled(accountId: string): Promise<void> {
    if (!(await this.options.readModel.accountKnown(accountId))) throw new AccountNotFound('accountId', accountId);
  }

  /** An account's invoice for a UTC month ("2026-11"), priced with the prices as known now or at `pricesKnownAt`. */
  async invoice(accountId: string, month: string, pricesKnownAt?: string | null): Promise<Invoice> {
    monthRange(month);
    await this.checkAccountBilled(accountId);
    return this.options.readModel.invoice(accountId, month, pricesKnownAt);
  }

  /** An account's invoices for the months from `fromMonth` to `toMonth` (both included, at most 24), oldest first. */
  async invoices(accountId: string, fromMonth: string, toMonth: string): Promise<Invoice[]> {
    const first = monthRange(fromMonth, 'fromMonth').startMs;
    const last = monthRange(toMonth, 'toMonth').startMs;
    const months: string[] = [];
    for (let m = new Date(first); m.getTime() <= last; m.setUTCMonth(m.getUTCMonth() + 1)) months.push(m.toISOString().slice(0, 7));
    if (months.length === 0) throw new InvalidCommand('toMonth', 'must not be before fromMonth');
    if (months.length > MAX_INVOICE_MONTHS) throw new InvalidCommand('toMonth', `at most ${MAX_INVOICE_MONTHS} months at once`);
    await this.checkAccountBilled(accountId);
    const invoices: Invoice[] = [];
    for (const month of months) invoices.push(await this.options.readModel.invoice(accountId, month));
    return invoices;
  }

  /** A session's charges, interval by interval; null when the billing read model does not know it yet. */
  async sessionCost(sessionId: string, pricesKnownAt?: string | null): Promise<SessionCost | null> {
    const { session } = await this.options.loadSession(sessionId);
    if (session.status === 'none') return null;
    const accountId = session.fleetId ?? session.customerId;
    const from = parseInstant('pluggedInAt', session.pluggedInAt);
    const to = (session.stoppedAt === null ? this.options.clock() : parseInstant('stoppedAt', session.stoppedAt)) + QUARTER_HOUR_MS;
    const input = await this.options.readModel.billingInput(accountId, {
      from: formatInstant(intervalStartOf(from)),
      to: formatInstant(Math.max(to, from + QUARTER_HOUR_MS)),
      ...(pricesKnownAt == null ? {} : { pricesKnownAt }),
    });
    if (!input.sessions.some((s) => s.sessionId === sessionId)) return null;
    const { charges, unpriced } = chargesFor(input, sessionId);
    const currency = charges[0] ? (input.tariffs.get(charges[0].tariffId)?.currency ?? 'XXX') : 'XXX';
    return {
      sessionId,
      accountId,
      currency,
      charges: charges.map((c) => ({ ...c, currency: input.tariffs.get(c.tariffId)?.currency ?? currency })),
      unbilled: unpriced.map((u) => ({
        sessionId,
        intervalStart: u.intervalStart,
        why: u.reason === 'no_spot_price' ? `no_spot_price:${u.zone}` : u.reason === 'unknown_tariff' ? `unknown_tariff:${u.tariffId}` : 'no_tariff',
      })),
    };
  }

  /** The ledger's now, as the instant every command records. */
  private now(): string {
    return formatInstant(this.options.clock());
  }
}
