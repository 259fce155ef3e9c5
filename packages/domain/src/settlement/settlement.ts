/**
 * The settlement aggregate: one stream per zone and 15-minute period,
 * `settlement-<zone>-<YYYYMMDDTHHMMZ>`, holding every revision of the period's statement.
 *
 * CloseSettlementPeriod carries a statement the service derived (deriveSettlement). The decider
 * checks its shape, that the period is over, that it is the next revision, and that its transfers
 * post on the period's ledger: replaying the earlier revisions and then this one on a fresh ledger
 * (ledger.ts; the pending trade transfers a revision posts are recorded first, from the postings
 * that name them), every transfer is valid, each ledger sums to zero, every posting of the last
 * revision is reversed, and every Wh account but `grid:metered` and `grid:imbalance` nets to zero.
 * A statement with the last revision's inputsHash has nothing new: no event.
 */
import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import {
  DECIMAL_PATTERN,
  formatInstant,
  parseInstant,
  checkArray,
  checkCurrency,
  checkObject,
  checkZone,
  compareDecimalText,
  compareText,
  QUARTER_HOUR_MS,
} from '../values/index.ts';
import { GRID_IMBALANCE_ACCOUNT, GRID_METERED_ACCOUNT, participantAccount, settlementTransferPrefix } from './derive-settlement.ts';
import { emptyLedger, ledgerSums, postTransfers, recordPending, type LedgerState } from './ledger.ts';
import { PeriodNotOver, SettlementRevisionConflict, SettlementUnbalanced } from './settlement-errors.ts';
import type { SettlementCommand, SettlementEvent, SettlementLine, SettlementStatement, Transfer } from './settlement-types.ts';
import { ENERGY_LEDGER } from './trade-parts.ts';

export type SettlementState = {
  /** Null before the first close. */
  zone: string | null;
  periodStart: string | null;
  /** Every revision, oldest first. */
  revisions: readonly SettlementStatement[];
};

/** `20261128T1000Z` for 2026-11-28T10:00:00.000Z. */
function periodKey(periodStart: string): string {
  const iso = formatInstant(parseInstant('periodStart', periodStart));
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

export const settlementStreamId = (zone: string, periodStart: string): string => `settlement-${zone}-${periodKey(periodStart)}`;

const WHOLE = /^(0|[1-9][0-9]*)$/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const SHA256 = /^[0-9a-f]{64}$/;

const LINE_INTEGERS = ['boughtWh', 'soldWh', 'contractedWh', 'postedImbalanceWh', 'imbalanceAmountMinor', 'tradeAmountMinor'] as const;
const LINE_DECIMALS = ['meteredExportWh', 'meteredImportWh', 'meteredNetWh', 'imbalanceWh', 'imbalancePriceMinorPerKWh'] as const;

function checkCanonicalInstant(field: string, value: unknown): number {
  const ms = parseInstant(field, value);
  if (formatInstant(ms) !== value) throw new InvalidCommand(field, `${JSON.stringify(value)} is not canonical (YYYY-MM-DDTHH:MM:SS.sssZ)`);
  return ms;
}

/** A canonical decimal string: no exponent, no "+", no trailing zeros after the point, no "-0". */
function checkFigure(field: string, value: unknown, pattern: RegExp): void {
  if (typeof value !== 'string' || !pattern.test(value) || value === '-0' || /\.[0-9]*0$/.test(value)) {
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not a canonical ${pattern === DECIMAL_PATTERN ? 'decimal' : 'integer'}`);
  }
}

function checkLine(index: number, value: unknown): SettlementLine {
  const field = `statement.lines[${index}]`;
  const line = checkObject(field, value) as SettlementLine;
  if (typeof line.participantId !== 'string' || line.participantId === '') throw new InvalidCommand(`${field}.participantId`, 'must be a non-empty text');
  if (line.account !== participantAccount(line.participantId)) throw new InvalidCommand(`${field}.account`, `must be ${participantAccount(line.participantId)}`);
  for (const name of LINE_INTEGERS) checkFigure(`${field}.${name}`, line[name], INTEGER);
  for (const name of LINE_DECIMALS) checkFigure(`${field}.${name}`, line[name], DECIMAL_PATTERN);
  const positions = checkArray(`${field}.justifiedBy`, line.justifiedBy);
  positions.forEach((p, i) => {
    if (typeof p !== 'string' || !WHOLE.test(p)) throw new InvalidCommand(`${field}.justifiedBy[${i}]`, 'must be a global position');
    if (i > 0 && compareDecimalText(positions[i - 1] as string, p) >= 0) throw new InvalidCommand(`${field}.justifiedBy`, 'must be ascending, each once');
  });
  return line;
}

/** The statement's own shape (nothing about earlier revisions). Returns the period's [start, end) in ms. */
function checkStatement(value: unknown): { startMs: number; endMs: number } {
  const s = checkObject('statement', value) as SettlementStatement;
  checkZone('statement.zone', s.zone);
  checkCurrency('statement.currency', s.currency);
  const startMs = checkCanonicalInstant('statement.periodStart', s.periodStart);
  if (startMs % QUARTER_HOUR_MS !== 0) throw new InvalidCommand('statement.periodStart', `${s.periodStart} is not on a quarter hour`);
  const endMs = checkCanonicalInstant('statement.periodEnd', s.periodEnd);
  if (endMs !== startMs + QUARTER_HOUR_MS) throw new InvalidCommand('statement.periodEnd', `must be ${formatInstant(startMs + QUARTER_HOUR_MS)}, 15 minutes after periodStart`);
  if (!Number.isSafeInteger(s.revision) || s.revision < 1) throw new InvalidCommand('statement.revision', 'must be a whole number >= 1');
  checkCanonicalInstant('statement.knownAt', s.knownAt);
  if (typeof s.inputsThrough !== 'string' || !WHOLE.test(s.inputsThrough)) throw new InvalidCommand('statement.inputsThrough', 'must be a global position');
  if (typeof s.inputsHash !== 'string' || !SHA256.test(s.inputsHash)) throw new InvalidCommand('statement.inputsHash', 'must be a sha256 hex digest');
  if (!Number.isSafeInteger(s.inputCount) || s.inputCount < 0) throw new InvalidCommand('statement.inputCount', 'must be a whole number >= 0');
  const lines = checkArray('statement.lines', s.lines).map((line, i) => checkLine(i, line));
  lines.forEach((line, i) => {
    if (i > 0 && compareText(lines[i - 1]!.participantId, line.participantId) >= 0) throw new InvalidCommand('statement.lines', 'must be sorted by participantId, one each');
  });
  const prefix = settlementTransferPrefix(s.zone, s.periodStart, s.revision);
  checkArray('statement.transfers', s.transfers).forEach((t, i) => {
    const transfer = checkObject(`statement.transfers[${i}]`, t) as Transfer;
    if (typeof transfer.transferId !== 'string' || !transfer.transferId.startsWith(prefix))
      throw new InvalidCommand(`statement.transfers[${i}].transferId`, `must start with ${prefix}`);
    if (transfer.ledger !== ENERGY_LEDGER && transfer.ledger !== s.currency)
      throw new InvalidCommand(`statement.transfers[${i}].ledger`, `must be ${ENERGY_LEDGER} or ${s.currency}`);
  });
  return { startMs, endMs };
}

/** The pending transfers a revision's postings post, as they were recorded at match time. */
const pendingOf = (statement: SettlementStatement): Transfer[] =>
  statement.transfers.filter((t) => t.postsPending !== null).map((t) => ({ ...t, transferId: t.postsPending!, postsPending: null }));

/** Posts a revision on the period's ledger (pending first). */
const postRevision = (ledger: LedgerState, statement: SettlementStatement): LedgerState => postTransfers(recordPending(ledger, pendingOf(statement)), statement.transfers);

/** The ledger check (see the module comment); throws a ledger error or SettlementUnbalanced. */
function checkBalances(revisions: readonly SettlementStatement[], statement: SettlementStatement): void {
  const before = revisions.reduce(postRevision, emptyLedger());
  const after = postRevision(before, statement);
  const last = revisions.at(-1);
  if (last) {
    const unreversed = last.transfers.filter((t) => t.kind !== 'reversal' && !after.reversedBy.has(t.transferId)).map((t) => t.transferId);
    if (unreversed.length > 0) throw new SettlementUnbalanced(`revision ${last.revision}'s postings are not all reversed`, { unreversed });
  }
  for (const [ledger, sum] of ledgerSums(after)) if (sum !== '0') throw new SettlementUnbalanced(`ledger ${ledger} sums to ${sum}`, { ledger, sum });
  for (const [account, balance] of after.balances.get(ENERGY_LEDGER) ?? []) {
    if (account === GRID_METERED_ACCOUNT || account === GRID_IMBALANCE_ACCOUNT || balance.isZero()) continue;
    throw new SettlementUnbalanced(`account ${account} does not net to zero in ${ENERGY_LEDGER}`, { ledger: ENERGY_LEDGER, account, balance: balance.toFixed() });
  }
}

export const settlementDecider: Decider<SettlementState, SettlementCommand, SettlementEvent> = {
  initialState: () => ({ zone: null, periodStart: null, revisions: [] }),

  decide(command, state) {
    switch (command.type) {
      case 'CloseSettlementPeriod': {
        const atMs = parseInstant('at', command.at);
        const { endMs } = checkStatement(command.statement);
        const statement = command.statement;
        if (state.zone !== null && (statement.zone !== state.zone || statement.periodStart !== state.periodStart)) {
          throw new InvalidCommand('statement', `is for ${statement.zone} ${statement.periodStart}, this stream settles ${state.zone} ${state.periodStart}`);
        }
        if (atMs < endMs) throw new PeriodNotOver(statement.periodEnd, formatInstant(atMs));
        if (parseInstant('statement.knownAt', statement.knownAt) > atMs)
          throw new InvalidCommand('statement.knownAt', `${statement.knownAt} is after the close (${formatInstant(atMs)})`);
        const last = state.revisions.at(-1);
        if (last && statement.inputsHash === last.inputsHash) return [];
        const expected = (last?.revision ?? 0) + 1;
        if (statement.revision !== expected) throw new SettlementRevisionConflict(expected, statement.revision);
        if (last) {
          if (statement.currency !== last.currency) throw new InvalidCommand('statement.currency', `the period settles in ${last.currency}`);
          if (parseInstant('statement.knownAt', statement.knownAt) < parseInstant('knownAt', last.knownAt)) {
            throw new InvalidCommand('statement.knownAt', `a re-settlement cannot know less than revision ${last.revision} (known at ${last.knownAt})`);
          }
          if (compareDecimalText(statement.inputsThrough, last.inputsThrough) < 0) {
            throw new InvalidCommand('statement.inputsThrough', `a re-settlement cannot read less than revision ${last.revision} (through ${last.inputsThrough})`);
          }
        }
        checkBalances(state.revisions, statement);
        return [{ type: 'SettlementPeriodClosed', data: statement }];
      }
      default: {
        const unreachable: never = command.type;
        throw new Error(`unknown command ${String(unreachable)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'SettlementPeriodClosed':
        return { zone: event.data.zone, periodStart: event.data.periodStart, revisions: [...state.revisions, event.data] };
      default: {
        const unreachable: never = event.type;
        throw new Error(`unknown event ${String(unreachable)}`);
      }
    }
  },
};
