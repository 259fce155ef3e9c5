import {
  AccountNotFound,
  Decimal,
  formatInstant,
  MixedInvoiceCurrencies,
  parseInstant,
  SpotPriceCurrencyMismatch,
  TariffAlreadyDefined,
  TariffAssignmentConflict,
  ZoneCurrencyMismatch,
  type Charge,
  type Invoice,
  type InvoiceLine,
  type TariffDefinition,
  QUARTER_HOUR_MS,
} from '@v2g/domain';
import { type PriceVersion } from '@v2g/projection-billing';
import type { AppendResult } from '@v2g/event-store';
import { asOfInvoices } from '../../as-of.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { COMMAND_ERRORS, ErrorInterface } from './errors.ts';
import { TariffInput, tariffFromInput } from './tariff-input.ts';
import { Money } from './money.ts';
import { EVERY_ROLE, PLATFORM_WRITERS, accountReaders, sessionReaders } from '../access.ts';
import { commandContext } from '../command-context.ts';
import { recorded, recordedFields, type Recorded } from './command-payload.ts';

/**
 * Prices, tariffs and bills. Commands go to their aggregates (prices-<zone>, tariff-<id>,
 * account-<id>); prices and bills are read from the billing read model, and a bill is computed
 * by the pure pricing in packages/domain/src/billing from what that model holds, so it is the same
 * every time it is asked for with the same knowledge.
 */

// ---- errors -------------------------------------------------------------------------------------

const text = (key: string) => (error: { details: Readonly<Record<string, unknown>> }) => String(error.details[key]);

builder.objectType(ZoneCurrencyMismatch, {
  name: 'ZoneCurrencyMismatchError',
  description: "A zone's prices all have the currency of its first publication.",
  interfaces: [ErrorInterface],
  fields: (t) => ({ zone: t.string({ resolve: text('zone') }), currency: t.string({ resolve: text('currency') }), requested: t.string({ resolve: text('requested') }) }),
});
builder.objectType(TariffAlreadyDefined, {
  name: 'TariffAlreadyDefinedError',
  description: 'A tariff is never changed: define a new one and assign it.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ tariffId: t.string({ resolve: text('tariffId') }) }),
});
builder.objectType(TariffAssignmentConflict, {
  name: 'TariffAssignmentConflictError',
  description: 'The period overlaps one already assigned.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    accountId: t.string({ resolve: text('accountId') }),
    requested: t.field({ type: 'JSON', resolve: (e) => e.details['requested'] }),
    existing: t.field({ type: 'JSON', resolve: (e) => e.details['existing'] }),
  }),
});

builder.objectType(AccountNotFound, {
  name: 'AccountNotFoundError',
  description: 'No such account is known: it was never assigned a tariff nor billed for a session.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.string({ resolve: text('field') }), accountId: t.string({ resolve: text('accountId') }) }),
});

builder.objectType(MixedInvoiceCurrencies, {
  name: 'MixedInvoiceCurrenciesError',
  description: "The account's tariffs are in more than one currency: one invoice cannot hold them.",
  interfaces: [ErrorInterface],
  fields: (t) => ({ accountId: t.string({ resolve: text('accountId') }), currencies: t.field({ type: 'JSON', resolve: (e) => e.details['currencies'] }) }),
});
builder.objectType(SpotPriceCurrencyMismatch, {
  name: 'SpotPriceCurrencyMismatchError',
  description: 'A tariff indexed on a zone whose prices are in another currency.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    tariffId: t.string({ resolve: text('tariffId') }),
    tariffCurrency: t.string({ resolve: text('tariffCurrency') }),
    zone: t.string({ resolve: text('zone') }),
    priceCurrency: t.string({ resolve: text('priceCurrency') }),
    intervalStart: t.string({ resolve: text('intervalStart') }),
  }),
});

// ---- prices -------------------------------------------------------------------------------------

const PriceIntervalRef = builder.objectRef<PriceVersion>('PriceInterval').implement({
  description: "A zone's energy price for one 15-minute interval, in the version known at the instant asked for.",
  fields: (t) => ({
    zone: t.exposeID('zone'),
    start: t.field({ type: 'DateTime', resolve: (p) => p.intervalStart }),
    end: t.field({ type: 'DateTime', resolve: (p) => formatInstant(parseInstant('start', p.intervalStart) + QUARTER_HOUR_MS) }),
    priceMinorPerKWh: t.field({ type: 'Decimal', description: 'Minor units (cents) per kWh; may be negative.', resolve: (p) => p.priceMinorPerKWh }),
    currency: t.exposeString('currency'),
    carbonGPerKWh: t.field({ type: 'Decimal', nullable: true, description: 'g CO2e per kWh, when the source gave it.', resolve: (p) => p.carbonGPerKWh }),
    source: t.exposeString('source'),
    recordedAt: t.field({ type: 'DateTime', description: 'When the ledger learned this version.', resolve: (p) => p.recordedAt }),
    position: t.field({ type: 'Position', resolve: (p) => p.position }),
    versions: t.exposeInt('versions', { description: 'Versions known by then: above 1, the price was revised.' }),
  }),
});

builder.queryField('priceCurve', (t) =>
  t.field({
    type: [PriceIntervalRef],
    description: "A zone's prices over [from, to), as known now or as known at `knownAt` (an earlier version stays visible after a revision).",
    args: {
      zone: t.arg.id({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      knownAt: t.arg({ type: 'DateTime' }),
    },
    authScopes: EVERY_ROLE,
    resolve: (_root, args, { ledger }) => ledger.billing.service.priceCurve(String(args.zone), { from: args.from, to: args.to, knownAt: args.knownAt ?? null }),
  }),
);

// ---- commands -----------------------------------------------------------------------------------

type RecordedShape = Recorded & { events: number };

const CommandRecorded = builder.objectRef<RecordedShape>('CommandRecorded').implement({
  description: 'A command recorded (or found recorded under its commandId).',
  fields: (t) => ({
    ...recordedFields(t),
    events: t.exposeInt('events', { description: 'How many events it wrote (0: nothing changed, or a duplicate).' }),
  }),
});

function commandRecorded(ctx: GraphQLContext, commandId: string, command: string, result: AppendResult, events: number): RecordedShape {
  return { ...recorded(ctx, commandId, command, result), events };
}

const PricePointInput = builder.inputType('PricePointInput', {
  fields: (t) => ({
    start: t.field({ type: 'DateTime', required: true, description: 'On a quarter hour.' }),
    end: t.field({ type: 'DateTime', required: true }),
    priceMinorPerKWh: t.field({ type: 'Decimal', required: true }),
    carbonGPerKWh: t.field({ type: 'Decimal' }),
  }),
});

const PublishPricesInput = builder.inputType('PublishPricesInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    zone: t.id({ required: true, description: 'A bidding zone, e.g. "NL" or "DE-LU".' }),
    currency: t.string({ required: true }),
    source: t.string({ required: true, description: 'E.g. "day-ahead" or "intraday".' }),
    points: t.field({
      type: [PricePointInput],
      required: true,
      description: 'Each [start, end) is split into 15-minute intervals; an interval priced before with another figure is a revision.',
    }),
  }),
});

builder.mutationField('publishPrices', (t) =>
  t.field({
    type: CommandRecorded,
    description: "Publishes (or revises) a zone's prices.",
    args: { input: t.arg({ type: PublishPricesInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, ZoneCurrencyMismatch], directResult: true, union: { name: 'PublishPricesResult' } },
    authScopes: PLATFORM_WRITERS,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const zone = String(input.zone);
      const { result, events } = await ctx.ledger.billing.service.publishPrices(
        {
          zone,
          currency: input.currency,
          source: input.source,
          points: input.points.map((p) => ({ start: p.start, end: p.end, priceMinorPerKWh: p.priceMinorPerKWh, carbonGPerKWh: p.carbonGPerKWh ?? null })),
        },
        commandContext(ctx, commandId),
      );
      return commandRecorded(ctx, commandId, 'PublishPrices', result, events.length);
    },
  }),
);

const DefineTariffInput = builder.inputType('DefineTariffInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    tariff: t.field({ type: TariffInput, required: true }),
  }),
});

export const TariffRef = builder.objectRef<TariffDefinition>('Tariff').implement({
  fields: (t) => ({
    tariffId: t.exposeID('tariffId'),
    name: t.exposeString('name'),
    currency: t.exposeString('currency'),
    definition: t.field({ type: 'JSON', description: 'The whole definition, as recorded.', resolve: (d) => d }),
  }),
});

builder.mutationField('defineTariff', (t) =>
  t.field({
    type: CommandRecorded,
    description: 'Defines a tariff (once: a tariff is never edited, a new one is assigned instead).',
    args: { input: t.arg({ type: DefineTariffInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, TariffAlreadyDefined], directResult: true, union: { name: 'DefineTariffResult' } },
    authScopes: PLATFORM_WRITERS,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const tariff = tariffFromInput(input.tariff);
      const { result, events } = await ctx.ledger.billing.service.defineTariff(tariff, commandContext(ctx, commandId));
      return commandRecorded(ctx, commandId, 'DefineTariff', result, events.length);
    },
  }),
);

builder.queryField('tariff', (t) =>
  t.field({
    type: TariffRef,
    nullable: true,
    args: { tariffId: t.arg.id({ required: true }) },
    authScopes: EVERY_ROLE,
    resolve: (_root, args, { ledger }) => ledger.billing.service.tariff(String(args.tariffId)),
  }),
);

const AssignTariffInput = builder.inputType('AssignTariffInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    accountId: t.id({ required: true, description: 'A customer or a fleet: a session is billed to its fleet when it has one.' }),
    tariffId: t.id({ required: true }),
    validFrom: t.field({ type: 'DateTime', required: true }),
    validTo: t.field({ type: 'DateTime', description: 'Exclusive; null: until another assignment ends it.' }),
  }),
});

type AssignmentShape = { tariffId: string; validFrom: string; validTo: string | null };

const TariffAssignmentRef = builder.objectRef<AssignmentShape>('TariffAssignment').implement({
  fields: (t) => ({
    tariffId: t.exposeID('tariffId'),
    validFrom: t.field({ type: 'DateTime', resolve: (a) => a.validFrom }),
    validTo: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.validTo }),
  }),
});

builder.mutationField('assignTariff', (t) =>
  t.field({
    type: CommandRecorded,
    description: 'The account pays the tariff on [validFrom, validTo); starting inside an open-ended assignment ends that one then (a change of tariff mid-month).',
    args: { input: t.arg({ type: AssignTariffInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, TariffAssignmentConflict], directResult: true, union: { name: 'AssignTariffResult' } },
    authScopes: PLATFORM_WRITERS,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const { result, events } = await ctx.ledger.billing.service.assignTariff(
        { accountId: String(input.accountId), tariffId: String(input.tariffId), validFrom: input.validFrom, validTo: input.validTo ?? null },
        commandContext(ctx, commandId),
      );
      return commandRecorded(ctx, commandId, 'AssignTariff', result, events.length);
    },
  }),
);

builder.queryField('tariffAssignments', (t) =>
  t.field({
    type: [TariffAssignmentRef],
    description: 'The tariffs an account pays, in time order.',
    args: { accountId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => accountReaders(String(args.accountId)),
    resolve: (_root, args, { ledger }) => ledger.billing.service.tariffAssignments(String(args.accountId)),
  }),
);

// ---- bills --------------------------------------------------------------------------------------

const ChargeComponentRef = builder.enumType('ChargeComponent', {
  values: {
    ENERGY: { value: 'energy' },
    SPEED: { value: 'speed', description: 'Surcharge by charging speed.' },
    SESSION_FEE: { value: 'session_fee' },
    EXPORT_CREDIT: { value: 'export_credit', description: 'V2G: energy fed back, credited (negative).' },
  } as const,
});

type Priced<T> = T & { currency: string };

const ChargeRef = builder.objectRef<Priced<Charge>>('Charge').implement({
  description: 'One exact (unrounded) charge of a session: negative for a credit.',
  fields: (t) => ({
    component: t.field({ type: ChargeComponentRef, resolve: (c) => c.component }),
    intervalStart: t.field({ type: 'DateTime', nullable: true, description: 'The 15-minute interval; null for the session fee.', resolve: (c) => c.intervalStart }),
    tariffId: t.exposeID('tariffId'),
    energyWh: t.field({ type: 'Decimal', resolve: (c) => c.energyWh }),
    unitPriceMinorPerKWh: t.field({ type: 'Decimal', nullable: true, resolve: (c) => c.unitPriceMinorPerKWh }),
    priceLabel: t.exposeString('priceLabel', { description: 'E.g. "peak", "spot 8.21 + 2.5", "fast".' }),
    amount: t.field({ type: Money, resolve: (c) => ({ amountMinor: c.amountMinor, currency: c.currency }) }),
    justifiedBy: t.field({ type: ['Position'], description: 'The events it comes from: readings, tariff, assignment, price.', resolve: (c) => c.justifiedBy.map(BigInt) }),
  }),
});

const UnbilledRef = builder.objectRef<{ sessionId: string; intervalStart: string | null; why: string }>('UnbilledInterval').implement({
  description: 'Energy not billed yet: no price, or no tariff, for it.',
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    intervalStart: t.field({ type: 'DateTime', nullable: true, resolve: (u) => u.intervalStart }),
    why: t.exposeString('why', { description: 'no_spot_price:<zone>, no_tariff, unknown_tariff:<id>.' }),
  }),
});

type SessionCostShape = {
  sessionId: string;
  accountId: string;
  currency: string;
  charges: Priced<Charge>[];
  unbilled: { sessionId: string; intervalStart: string | null; why: string }[];
};

const SessionCost = builder.objectRef<SessionCostShape>('SessionCost').implement({
  description: 'What a session costs, charge by charge, exact.',
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    accountId: t.exposeID('accountId'),
    charges: t.field({ type: [ChargeRef], resolve: (s) => s.charges }),
    total: t.field({
      type: Money,
      description: 'The exact sum (rounding happens on the invoice).',
      resolve: (s) => ({ amountMinor: s.charges.reduce((sum, c) => sum.plus(c.amountMinor), new Decimal(0)).toFixed(), currency: s.currency }),
    }),
    unbilled: t.field({ type: [UnbilledRef], resolve: (s) => s.unbilled }),
  }),
});

const InvoiceLineRef = builder.objectRef<Priced<InvoiceLine>>('InvoiceLine').implement({
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    component: t.field({ type: ChargeComponentRef, resolve: (l) => l.component }),
    tariffId: t.exposeID('tariffId'),
    priceLabel: t.exposeString('priceLabel'),
    energyWh: t.field({ type: 'Decimal', resolve: (l) => l.energyWh }),
    exactAmount: t.field({ type: Money, description: 'The sum of the exact charges.', resolve: (l) => ({ amountMinor: l.exactAmountMinor, currency: l.currency }) }),
    amount: t.field({
      type: Money,
      description: 'Rounded half-even to a minor unit, the remainder allocated: the lines add up to the total.',
      resolve: (l) => ({ amountMinor: l.amountMinor, currency: l.currency }),
    }),
    justifiedBy: t.field({ type: ['Position'], resolve: (l) => l.justifiedBy.map(BigInt) }),
  }),
});

const InvoiceRef = builder.objectRef<Invoice>('Invoice').implement({
  description: 'What an account owes for a month (UTC), computed from the billing read model.',
  fields: (t) => ({
    accountId: t.exposeID('accountId'),
    month: t.exposeString('month'),
    currency: t.exposeString('currency'),
    lines: t.field({ type: [InvoiceLineRef], resolve: (i) => i.lines.map((l) => ({ ...l, currency: i.currency })) }),
    total: t.field({ type: Money, resolve: (i) => ({ amountMinor: i.totalMinor, currency: i.currency }) }),
    v2gCredits: t.field({
      type: Money,
      description: 'The sum of the export-credit lines (negative).',
      resolve: (i) => ({
        amountMinor: i.lines
          .filter((l) => l.component === 'export_credit')
          .reduce((sum, l) => sum.plus(l.amountMinor), new Decimal(0))
          .toFixed(),
        currency: i.currency,
      }),
    }),
    unbilled: t.field({
      type: [UnbilledRef],
      resolve: (i) => [
        ...i.unpricedIntervals.map((u) => ({ sessionId: u.sessionId, intervalStart: u.intervalStart, why: `no_spot_price:${u.zone}` })),
        ...i.untariffedIntervals.map((u) => ({ sessionId: u.sessionId, intervalStart: u.intervalStart, why: u.tariffId === null ? 'no_tariff' : `unknown_tariff:${u.tariffId}` })),
      ],
    }),
  }),
});

builder.queryFields((t) => ({
  invoice: t.field({
    type: InvoiceRef,
    description:
      "An account's invoice for a UTC month; with `pricesKnownAt`, priced with the prices as known then; with `asOf`, the invoice as it was known at that moment (readings, prices, tariffs and assignments recorded by then), from the billing read model's history. A caller may have a few as-of questions in progress at once; one more is refused with TOO_MANY_REQUESTS (`extensions.details.retryAfterMs`).",
    args: {
      accountId: t.arg.id({ required: true }),
      month: t.arg.string({ required: true, description: '"2026-11"' }),
      pricesKnownAt: t.arg({ type: 'DateTime' }),
      asOf: t.arg({ type: 'DateTime', description: 'Only what was recorded at or before this instant (not in the future): the invoice as known then.' }),
    },
    errors: { types: [AccountNotFound, MixedInvoiceCurrencies, SpotPriceCurrencyMismatch], directResult: true, union: { name: 'InvoiceResult' } },
    authScopes: (_root, args) => accountReaders(String(args.accountId)),
    resolve: (_root, args, { ledger, principal }) =>
      args.asOf == null
        ? ledger.billing.service.invoice(String(args.accountId), args.month, args.pricesKnownAt)
        : asOfInvoices(ledger).checkedInvoice(principal.id, String(args.accountId), args.month, args.asOf, args.pricesKnownAt),
  }),
  invoices: t.field({
    type: [InvoiceRef],
    description: "An account's invoices for the months from `fromMonth` to `toMonth` (both included, at most 24), oldest first.",
    args: { accountId: t.arg.id({ required: true }), fromMonth: t.arg.string({ required: true }), toMonth: t.arg.string({ required: true }) },
    authScopes: (_root, args) => accountReaders(String(args.accountId)),
    resolve: (_root, args, { ledger }) => ledger.billing.service.invoices(String(args.accountId), args.fromMonth, args.toMonth),
  }),
}));

builder.queryField('sessionCost', (t) =>
  t.field({
    type: SessionCost,
    nullable: true,
    description: "A session's charges, interval by interval (null when the billing read model does not know it yet).",
    args: { sessionId: t.arg.id({ required: true }), pricesKnownAt: t.arg({ type: 'DateTime' }) },
    errors: { types: [SpotPriceCurrencyMismatch], directResult: true, union: { name: 'SessionCostResult' } },
    authScopes: (_root, args) => sessionReaders(String(args.sessionId)),
    resolve: (_root, args, { ledger }) => ledger.billing.service.sessionCost(String(args.sessionId), args.pricesKnownAt),
  }),
);
