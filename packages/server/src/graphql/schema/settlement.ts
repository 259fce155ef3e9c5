import {
  formatInstant,
  ImbalancePriceMissing,
  InvalidCommand,
  parseInstant,
  PeriodNotOver,
  SettlementCurrencyMismatch,
  SettlementRevisionConflict,
  SettlementZoneNotConfigured,
  type SettlementLine,
  type SettlementStatement,
  type Transfer,
  type TransferKind,
  QUARTER_HOUR_MS,
} from '@v2g/domain';
import type { CloseOutcome } from '@v2g/ledger';
import { type AccountBalance, type LedgerTotal, type Posting, type StatementRevision, type TransferRowStatus } from '@v2g/projection-settlement';
import { builder } from '../builder.ts';
import { positionOrdinalCursor } from '../cursor.ts';
import { InvalidArgument } from '../errors.ts';
import { COMMAND_ERRORS } from './errors.ts';
import { errorType } from './grid-errors.ts';
import { Money } from './money.ts';
import { connectionArgs, connectionOf, connectionType } from './pagination.ts';
import { OPERATOR, OPERATOR_AUDITOR, ledgerAccountReaders } from '../access.ts';
import { commandContext } from '../command-context.ts';
import { asOfInvoices } from '../../as-of.ts';

/**
 * Settlement and the double-entry ledger. Closing a period is a command on its settlement stream
 * (`settlement-<zone>-<period>`): the service reads what the period depends on and records the
 * statement derived from it; a re-settlement is a new revision. Statements, balances and postings
 * are read from the settlement read model (projections/settlement).
 *
 * Amounts in a currency ledger are minor units (cents), in the "Wh" ledger watt-hours, as decimal
 * strings; an account's balance is credits − debits.
 */

// ---- errors -------------------------------------------------------------------------------------

errorType(PeriodNotOver, 'PeriodNotOverError', 'A period is closed only once it is over.', {
  periodEnd: 'The end of the period.',
  at: 'The time of the close.',
});
errorType(ImbalancePriceMissing, 'ImbalancePriceMissingError', "No price of the zone's imbalance price zone for the period is known at the close.", {
  zone: 'The market zone.',
  priceZone: 'The zone whose prices price imbalances.',
  periodStart: 'The period.',
  knownAt: 'The knowledge cut-off of the close.',
});
errorType(SettlementZoneNotConfigured, 'SettlementZoneNotConfiguredError', 'The market zone was not configured as known at the close (code MARKET_ZONE_NOT_CONFIGURED).', {
  zone: 'The zone.',
  knownAt: 'The knowledge cut-off of the close.',
});
errorType(SettlementCurrencyMismatch, 'SettlementCurrencyMismatchError', "A trade or a price in another currency than the zone's.", {
  zone: 'The zone.',
  currency: "The zone's currency.",
  source: 'What is in another currency.',
  sourceCurrency: 'Its currency.',
});
errorType(SettlementRevisionConflict, 'SettlementRevisionConflictError', 'Another close of the period was recorded meanwhile; send the command again.', {
  expected: 'The next revision.',
  requested: 'The revision this close derived.',
});

// ---- statements ---------------------------------------------------------------------------------

const TransferKindRef = builder.enumType('TransferKind', {
  values: {
    TRADE_ENERGY: { value: 'trade_energy', description: "A trade's energy, seller to buyer (held pending at match time)." },
    TRADE_MONEY: { value: 'trade_money', description: "A trade's money, buyer to seller (held pending at match time)." },
    METERED_EXPORT: { value: 'metered_export', description: "Energy a participant's sessions fed to the grid." },
    METERED_IMPORT: { value: 'metered_import', description: "Energy a participant's sessions drew." },
    PHYSICAL: { value: 'physical' },
    IMBALANCE_ENERGY: { value: 'imbalance_energy', description: 'What was metered against what was contracted, settled with the grid.' },
    IMBALANCE_MONEY: { value: 'imbalance_money', description: 'The imbalance priced at the imbalance price.' },
    REVERSAL: { value: 'reversal', description: 'Undoes a posting of an earlier revision (same amount, accounts swapped).' },
  } satisfies Record<string, { value: TransferKind; description?: string }>,
});

const TransferStatusRef = builder.enumType('TransferStatus', {
  values: {
    PENDING: { value: 'pending', description: 'A hold recorded at match time, not posted yet: it counts in the pending balance (pendingChange), not the posted one.' },
    POSTED: { value: 'posted', description: 'A posted transfer: it counts in the posted balance (change).' },
    CLEARED: {
      value: 'cleared',
      description:
        'A hold a settlement revision posted (postedBy): that posting carries its amount, so the hold itself no longer counts in any balance (change and pendingChange 0).',
    },
  } satisfies Record<string, { value: TransferRowStatus; description: string }>,
});

const TransferRef = builder.objectRef<Transfer>('SettlementTransfer').implement({
  description: 'A transfer a statement posts: amount moves from the debit account to the credit account of one ledger.',
  fields: (t) => ({
    transferId: t.exposeID('transferId', { description: 'Its idempotency id: posting it again posts nothing.' }),
    ledger: t.exposeString('ledger', { description: 'A currency ("EUR", amounts in minor units) or "Wh".' }),
    debitAccount: t.exposeString('debitAccount'),
    creditAccount: t.exposeString('creditAccount'),
    amount: t.field({ type: 'Decimal', resolve: (x) => x.amount }),
    kind: t.field({ type: TransferKindRef, resolve: (x) => x.kind }),
    reverses: t.exposeID('reverses', { nullable: true, description: 'For a reversal: the transfer it undoes.' }),
    postsPending: t.exposeID('postsPending', { nullable: true, description: "The pending transfer (a trade's, recorded at match time) it posts." }),
  }),
});

type LineShape = SettlementLine & { currency: string };

const SettlementLineRef = builder.objectRef<LineShape>('SettlementLine').implement({
  description: "One participant's period: what it contracted (sold − bought) against what its portfolio was metered to deliver (exports − imports).",
  fields: (t) => ({
    participantId: t.exposeID('participantId'),
    account: t.exposeString('account', { description: '`trader:<id>`, or `operator` for energy nobody claims.' }),
    boughtWh: t.field({ type: 'Decimal', resolve: (l) => l.boughtWh }),
    soldWh: t.field({ type: 'Decimal', resolve: (l) => l.soldWh }),
    contractedWh: t.field({ type: 'Decimal', description: 'sold − bought.', resolve: (l) => l.contractedWh }),
    meteredExportWh: t.field({ type: 'Decimal', resolve: (l) => l.meteredExportWh }),
    meteredImportWh: t.field({ type: 'Decimal', resolve: (l) => l.meteredImportWh }),
    meteredNetWh: t.field({ type: 'Decimal', description: 'exports − imports.', resolve: (l) => l.meteredNetWh }),
    imbalanceWh: t.field({ type: 'Decimal', description: 'metered net − contracted, exact (positive: delivered more than sold).', resolve: (l) => l.imbalanceWh }),
    postedImbalanceWh: t.field({ type: 'Decimal', description: 'The imbalance posted, whole Wh.', resolve: (l) => l.postedImbalanceWh }),
    imbalancePriceMinorPerKWh: t.field({ type: 'Decimal', resolve: (l) => l.imbalancePriceMinorPerKWh }),
    imbalanceAmount: t.field({ type: Money, description: 'Positive: paid to the participant.', resolve: (l) => ({ amountMinor: l.imbalanceAmountMinor, currency: l.currency }) }),
    tradeAmount: t.field({
      type: Money,
      description: "Net of its trades' money for the period: positive is received.",
      resolve: (l) => ({ amountMinor: l.tradeAmountMinor, currency: l.currency }),
    }),
    justifiedBy: t.field({ type: ['Position'], description: 'The events this line used.', resolve: (l) => l.justifiedBy.map(BigInt) }),
  }),
});

type StatementShape = { statement: SettlementStatement; position: bigint | null };

const SettlementStatementRef = builder.objectRef<StatementShape>('SettlementStatement').implement({
  description: "One revision of a zone's 15-minute period settlement, as recorded in SettlementPeriodClosed.",
  fields: (t) => ({
    zone: t.id({ resolve: (s) => s.statement.zone }),
    periodStart: t.field({ type: 'DateTime', resolve: (s) => s.statement.periodStart }),
    periodEnd: t.field({ type: 'DateTime', resolve: (s) => s.statement.periodEnd }),
    currency: t.string({ resolve: (s) => s.statement.currency }),
    revision: t.int({ description: '1 for the first close; each re-settlement adds one.', resolve: (s) => s.statement.revision }),
    knownAt: t.field({ type: 'DateTime', description: "The close's knowledge cut-off: only events recorded by then were used.", resolve: (s) => s.statement.knownAt }),
    inputsThrough: t.field({ type: 'Position', description: 'The last log position the close read.', resolve: (s) => BigInt(s.statement.inputsThrough) }),
    inputsHash: t.string({ description: 'sha256 over (position, hash) of exactly the input events used.', resolve: (s) => s.statement.inputsHash }),
    inputCount: t.int({ resolve: (s) => s.statement.inputCount }),
    position: t.field({ type: 'Position', nullable: true, description: 'The SettlementPeriodClosed event.', resolve: (s) => s.position }),
    lines: t.field({ type: [SettlementLineRef], resolve: (s) => s.statement.lines.map((l) => ({ ...l, currency: s.statement.currency })) }),
    transfers: t.field({
      type: [TransferRef],
      description: "Reversals of the previous revision's postings, then this revision's postings.",
      resolve: (s) => s.statement.transfers,
    }),
  }),
});

const SettlementRevisionRef = builder.objectRef<StatementRevision>('SettlementRevision').implement({
  fields: (t) => ({
    revision: t.exposeInt('revision'),
    knownAt: t.field({ type: 'DateTime', resolve: (r) => r.knownAt }),
    inputsThrough: t.field({ type: 'Position', resolve: (r) => BigInt(r.inputsThrough) }),
    inputsHash: t.exposeString('inputsHash'),
    inputCount: t.exposeInt('inputCount'),
    position: t.field({ type: 'Position', resolve: (r) => BigInt(r.position) }),
  }),
});

function periodStartOf(field: string, value: string): string {
  const ms = parseInstant(field, value);
  if (ms % QUARTER_HOUR_MS !== 0) throw new InvalidArgument(field, `${value} is not on a quarter hour (settlement periods are 15 minutes)`);
  return formatInstant(ms);
}

builder.queryFields((t) => ({
  settlementStatement: t.field({
    type: SettlementStatementRef,
    nullable: true,
    description:
      "A period's statement: the revision asked for, or the latest (null when the period was never closed). With `asOf`, as known then: the revision in force at that moment (the last one recorded at or before it; null when none was yet), an index lookup; a caller may have a few as-of questions in progress at once (else TOO_MANY_REQUESTS).",
    args: {
      zone: t.arg.id({ required: true }),
      periodStart: t.arg({ type: 'DateTime', required: true }),
      revision: t.arg.int(),
      asOf: t.arg({ type: 'DateTime', description: 'Only statements recorded at or before this instant.' }),
    },
    authScopes: OPERATOR_AUDITOR,
    resolve: async (_root, args, { ledger, principal }) => {
      if (args.asOf != null) {
        const inForce = await asOfInvoices(ledger).statement(
          principal.id,
          String(args.zone),
          periodStartOf('periodStart', args.periodStart),
          formatInstant(Date.parse(args.asOf)),
          args.revision ?? null,
        );
        return inForce ? { statement: inForce.statement, position: inForce.position } : null;
      }
      const stored = await ledger.settlement.readModel.settlementStatement(String(args.zone), periodStartOf('periodStart', args.periodStart), args.revision ?? null);
      return stored ? { statement: stored.statement, position: BigInt(stored.position) } : null;
    },
  }),
  settlementRevisions: t.field({
    type: [SettlementRevisionRef],
    description: "Every revision of a period's statement, oldest first: each stays readable after a re-settlement.",
    args: { zone: t.arg.id({ required: true }), periodStart: t.arg({ type: 'DateTime', required: true }) },
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, args, { ledger }) => ledger.settlement.readModel.settlementRevisions(String(args.zone), periodStartOf('periodStart', args.periodStart)),
  }),
}));

// ---- the close ----------------------------------------------------------------------------------

const SettlementOutcomeRef = builder.enumType('SettlementOutcome', {
  values: {
    CLOSED: { value: 'closed', description: 'The first revision was recorded.' },
    RESETTLED: { value: 'resettled', description: 'A new revision was recorded: the previous postings reversed, posted again.' },
    UNCHANGED: { value: 'unchanged', description: 'The inputs are those of the last revision: nothing written.' },
    DUPLICATE: { value: 'duplicate', description: 'The commandId was recorded before: its result, nothing written.' },
  } satisfies Record<string, { value: CloseOutcome['outcome']; description: string }>,
});

type ClosedShape = { commandId: string; outcome: CloseOutcome['outcome']; streamId: string; statement: StatementShape };

const CloseSettlementPeriodPayload = builder.objectRef<ClosedShape>('CloseSettlementPeriodPayload').implement({
  fields: (t) => ({
    commandId: t.exposeID('commandId'),
    outcome: t.field({ type: SettlementOutcomeRef, resolve: (c) => c.outcome }),
    streamId: t.exposeID('streamId'),
    statement: t.field({ type: SettlementStatementRef, description: 'The statement in force after the command.', resolve: (c) => c.statement }),
  }),
});

const CloseSettlementPeriodInput = builder.inputType('CloseSettlementPeriodInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    zone: t.id({ required: true, description: 'A configured market zone.' }),
    periodStart: t.field({ type: 'DateTime', required: true, description: 'On a quarter hour.' }),
    at: t.field({ type: 'DateTime', description: 'The knowledge cut-off (events recorded by then); default now, never later.' }),
  }),
});

builder.mutationField('closeSettlementPeriod', (t) =>
  t.field({
    type: CloseSettlementPeriodPayload,
    description:
      "Closes a period, or settles it again (an operator's re-settlement): derives the statement from the trades, meter readings, imbalance price and portfolios known now, and records it when its inputs differ from the last revision's.",
    args: { input: t.arg({ type: CloseSettlementPeriodInput, required: true }) },
    errors: {
      types: [...COMMAND_ERRORS, PeriodNotOver, ImbalancePriceMissing, SettlementZoneNotConfigured, SettlementCurrencyMismatch, SettlementRevisionConflict],
      directResult: true,
      union: { name: 'CloseSettlementPeriodResult' },
    },
    authScopes: OPERATOR,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const now = ctx.ledger.settlement.service.now();
      if (input.at != null && parseInstant('at', input.at) > now) throw new InvalidCommand('at', `${input.at} is in the future: nothing is known at it yet`);
      const outcome = await ctx.ledger.settlement.service.closePeriod(
        { zone: String(input.zone), periodStart: input.periodStart, ...(input.at == null ? {} : { at: input.at }) },
        commandContext(ctx, commandId),
      );
      ctx.log.info({ commandId, command: 'CloseSettlementPeriod', streamId: outcome.streamId, outcome: outcome.outcome, revision: outcome.statement.revision }, 'command handled');
      return { commandId, outcome: outcome.outcome, streamId: outcome.streamId, statement: { statement: outcome.statement, position: outcome.result?.lastPosition ?? null } };
    },
  }),
);

// ---- the ledger -----------------------------------------------------------------------------------

const LedgerAccountRef = builder.objectRef<AccountBalance>('LedgerAccount').implement({
  description: 'An account of one ledger: credits − debits.',
  fields: (t) => ({
    ledger: t.exposeString('ledger'),
    account: t.exposeID('account'),
    posted: t.field({ type: 'Decimal', description: 'Over its posted transfers.', resolve: (a) => a.posted }),
    pending: t.field({ type: 'Decimal', description: 'Over its transfers still pending (trades not settled yet).', resolve: (a) => a.pending }),
  }),
});

const LedgerPostingRef = builder.objectRef<Posting>('LedgerPosting').implement({
  description:
    "An entry of the ledger that touched the account, with what it adds to its balances: the `change`s of an account's postings add up to its posted balance, the `pendingChange`s to its pending balance.",
  fields: (t) => ({
    transferId: t.exposeID('transferId'),
    ledger: t.exposeString('ledger'),
    account: t.exposeID('account'),
    change: t.field({
      type: 'Decimal',
      description: 'What it adds to the posted balance: +amount when a posted transfer credits the account, −amount when it debits it; 0 for a hold (PENDING or CLEARED).',
      resolve: (p) => p.change,
    }),
    pendingChange: t.field({ type: 'Decimal', description: 'What it adds to the pending balance: ±amount for a hold still PENDING, else 0.', resolve: (p) => p.pendingChange }),
    debitAccount: t.exposeString('debitAccount'),
    creditAccount: t.exposeString('creditAccount'),
    amount: t.field({ type: 'Decimal', resolve: (p) => p.amount }),
    kind: t.field({ type: TransferKindRef, resolve: (p) => p.kind }),
    status: t.field({ type: TransferStatusRef, resolve: (p) => p.status }),
    postedBy: t.exposeID('postedBy', { nullable: true, description: 'A CLEARED hold: the settlement posting that posted it.' }),
    postedByRevision: t.exposeInt('postedByRevision', { nullable: true, description: 'A CLEARED hold: the statement revision that posted it (the first that settled its trade).' }),
    reverses: t.exposeID('reverses', { nullable: true }),
    postsPending: t.exposeID('postsPending', { nullable: true }),
    zone: t.exposeID('zone'),
    periodStart: t.field({ type: 'DateTime', resolve: (p) => p.periodStart }),
    revision: t.exposeInt('revision', {
      nullable: true,
      description: "The statement revision that recorded it; null for a trade's hold (recorded at match time; see postedByRevision).",
    }),
    position: t.field({ type: 'Position', description: 'The event that recorded it.', resolve: (p) => BigInt(p.position) }),
  }),
});

const LedgerTotalRef = builder.objectRef<LedgerTotal>('LedgerTotal').implement({
  description: 'The sum of every account of a ledger: zero when the books balance, as double entry makes them.',
  fields: (t) => ({
    ledger: t.exposeString('ledger'),
    accounts: t.exposeInt('accounts'),
    posted: t.field({ type: 'Decimal', resolve: (l) => l.posted }),
    pending: t.field({ type: 'Decimal', resolve: (l) => l.pending }),
    balanced: t.boolean({ resolve: (l) => l.posted === '0' && l.pending === '0' }),
  }),
});

const LedgerPostingConnection = connectionType('LedgerPosting', LedgerPostingRef, "An account's transfers in the order the ledger recorded them.");

const POSTING_CURSOR = positionOrdinalCursor('posting');

builder.queryFields((t) => ({
  ledgerAccounts: t.field({
    type: [LedgerAccountRef],
    description: 'Account balances, by ledger then account; optionally one ledger\'s, or accounts starting with a prefix ("trader:").',
    args: { ledger: t.arg.string(), accountPrefix: t.arg.string() },
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, args, { ledger }) => ledger.settlement.readModel.accountBalances({ ledger: args.ledger ?? null, accountPrefix: args.accountPrefix ?? null }),
  }),
  ledgerPostings: t.field({
    type: LedgerPostingConnection,
    description:
      "The entries that touched an account of a ledger, oldest first: posted transfers, and trades' holds (PENDING until a settlement revision posts them, then CLEARED). Their `change`s add up to the account's posted balance, their `pendingChange`s to its pending balance.",
    args: { account: t.arg.id({ required: true }), ledger: t.arg.string({ required: true }), ...connectionArgs },
    authScopes: (_root, args) => ledgerAccountReaders(String(args.account)),
    resolve: (_root, args, { ledger }) => {
      const account = String(args.account);
      return connectionOf(args, {
        cursor: POSTING_CURSOR,
        keyOf: (p: Posting) => ({ position: BigInt(p.position), ordinal: p.ordinal }),
        fetch: async ({ after, before, backward, limit }) =>
          (await ledger.settlement.readModel.accountPostings({ account, ledger: args.ledger, first: limit, after, before, backward })).postings,
        count: () => ledger.settlement.readModel.countAccountPostings(account, args.ledger),
      });
    },
  }),
  ledgerTotals: t.field({
    type: [LedgerTotalRef],
    description: 'Per ledger, the sum of all balances: every one is zero (double entry).',
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, _args, { ledger }) => ledger.settlement.readModel.ledgerTotals(),
  }),
}));
