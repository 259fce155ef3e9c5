import { entryChanges, type SettlementLine, type SettlementStatement, type TransferKind } from '@v2g/domain';
import { keysetClauses, type KeysetWindow, type SqlClient, type SqlExecutor } from '@v2g/event-store';
import type { TableNames } from '@v2g/read-model';
import type { TransferRowStatus } from './settlement-projection.ts';

/** Figures are decimal strings (Wh, minor units), instants canonical ISO-8601 UTC, positions decimal strings. */

type Instant = Date | string;
const iso = (value: Instant): string => new Date(value).toISOString();

/** numeric as its shortest decimal string: no trailing zeros, "0" for zero. */
const fig = (column: string, as: string) => `trim_scale(${column})::text AS ${as}`;

/** Runs the queries of one answer on one snapshot (a batch the projection commits meanwhile is all in or all out). */
async function onOneSnapshot<T>(sql: SqlExecutor | SqlClient, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  if (!('transaction' in sql)) return fn(sql);
  return sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(tx);
  });
}

export type StatementRevision = {
  zone: string;
  periodStart: string;
  periodEnd: string;
  revision: number;
  currency: string;
  knownAt: string;
  inputsThrough: string;
  inputsHash: string;
  inputCount: number;
  /** The SettlementPeriodClosed event's position. */
  position: string;
};

export type StoredStatement = StatementRevision & {
  /** The statement as recorded in the event. */
  statement: SettlementStatement;
};

type RevisionRow = {
  zone: string;
  period_start: Instant;
  period_end: Instant;
  revision: number;
  currency: string;
  known_at: Instant;
  inputs_through: string;
  inputs_hash: string;
  input_count: number;
  position: string;
};

const REVISION_COLUMNS = `zone, period_start, period_end, revision, currency, known_at, inputs_through::text AS inputs_through, inputs_hash, input_count, position::text AS position`;

const revisionOf = (row: RevisionRow): StatementRevision => ({
  zone: row.zone,
  periodStart: iso(row.period_start),
  periodEnd: iso(row.period_end),
  revision: row.revision,
  currency: row.currency,
  knownAt: iso(row.known_at),
  inputsThrough: row.inputs_through,
  inputsHash: row.inputs_hash,
  inputCount: row.input_count,
  position: row.position,
});

/** A period's statement: the revision asked for, or the latest; null when the period was never closed (or has no such revision). */
export async function settlementStatement(sql: SqlExecutor, table: TableNames, zone: string, periodStart: string, revision?: number | null): Promise<StoredStatement | null> {
  const { rows } = await sql.query<RevisionRow & { statement: SettlementStatement }>(
    `SELECT ${REVISION_COLUMNS}, statement FROM ${table('statements')}
      WHERE zone = $1 AND period_start = $2 AND ($3::integer IS NULL OR revision = $3::integer)
      ORDER BY revision DESC LIMIT 1`,
    [zone, periodStart, revision ?? null],
  );
  const row = rows[0];
  return row ? { ...revisionOf(row), statement: row.statement } : null;
}

/**
 * The statement in force as of `asOf`: the period's highest revision whose SettlementPeriodClosed
 * was recorded (metadata.recordedAt) at or before it, or, with `revision`, that revision if it was
 * recorded by then; null when none was. An index lookup (statements by zone, period, recorded_at);
 * the same answer as reading the period's settlement stream (SettlementService.statementInForce).
 */
export async function statementInForceAt(
  sql: SqlExecutor,
  table: TableNames,
  zone: string,
  periodStart: string,
  asOf: string,
  revision?: number | null,
): Promise<{ statement: SettlementStatement; position: bigint; recordedAt: string } | null> {
  const { rows } = await sql.query<{ statement: SettlementStatement; position: string; recorded_at: Instant }>(
    `SELECT statement, position::text AS position, recorded_at FROM ${table('statements')}
      WHERE zone = $1 AND period_start = $2 AND recorded_at <= $3 AND ($4::integer IS NULL OR revision = $4::integer)
      ORDER BY revision DESC LIMIT 1`,
    [zone, periodStart, asOf, revision ?? null],
  );
  const row = rows[0];
  return row ? { statement: row.statement, position: BigInt(row.position), recordedAt: iso(row.recorded_at) } : null;
}

/** Every revision of a period's statement, oldest first. */
export async function settlementRevisions(sql: SqlExecutor, table: TableNames, zone: string, periodStart: string): Promise<StatementRevision[]> {
  const { rows } = await sql.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM ${table('statements')} WHERE zone = $1 AND period_start = $2 ORDER BY revision`, [
    zone,
    periodStart,
  ]);
  return rows.map(revisionOf);
}

/** The periods of a zone closed at least once whose end is after `endsAfter` (all of them without it), oldest first, with their latest revision. */
export async function closedPeriods(sql: SqlExecutor, table: TableNames, zone: string, endsAfter?: string | null): Promise<{ periodStart: string; revision: number }[]> {
  const { rows } = await sql.query<{ period_start: Instant; revision: number }>(
    `SELECT period_start, max(revision) AS revision FROM ${table('statements')}
      WHERE zone = $1 AND ($2::timestamptz IS NULL OR period_end > $2::timestamptz)
      GROUP BY period_start ORDER BY period_start`,
    [zone, endsAfter ?? null],
  );
  return rows.map((row) => ({ periodStart: iso(row.period_start), revision: row.revision }));
}

/** The zones with at least one closed period. */
export async function settledZones(sql: SqlExecutor, table: TableNames): Promise<string[]> {
  const { rows } = await sql.query<{ zone: string }>(`SELECT DISTINCT zone COLLATE "C" AS zone FROM ${table('statements')} ORDER BY 1`);
  return rows.map((row) => row.zone);
}

/** A statement's lines from the lines table, in the statement's order. */
export async function statementLines(sql: SqlExecutor, table: TableNames, zone: string, periodStart: string, revision: number): Promise<SettlementLine[]> {
  const { rows } = await sql.query<{
    participant_id: string;
    account: string;
    bought_wh: string;
    sold_wh: string;
    contracted_wh: string;
    metered_export_wh: string;
    metered_import_wh: string;
    metered_net_wh: string;
    imbalance_wh: string;
    posted_imbalance_wh: string;
    imbalance_price: string;
    imbalance_amount_minor: string;
    trade_amount_minor: string;
    justified_by: string[];
  }>(
    `SELECT participant_id, account, ${fig('bought_wh', 'bought_wh')}, ${fig('sold_wh', 'sold_wh')}, ${fig('contracted_wh', 'contracted_wh')},
            ${fig('metered_export_wh', 'metered_export_wh')}, ${fig('metered_import_wh', 'metered_import_wh')}, ${fig('metered_net_wh', 'metered_net_wh')},
            ${fig('imbalance_wh', 'imbalance_wh')}, ${fig('posted_imbalance_wh', 'posted_imbalance_wh')},
            ${fig('imbalance_price_minor_per_kwh', 'imbalance_price')}, ${fig('imbalance_amount_minor', 'imbalance_amount_minor')},
            ${fig('trade_amount_minor', 'trade_amount_minor')}, justified_by::text[] AS justified_by
       FROM ${table('statement_lines')} WHERE zone = $1 AND period_start = $2 AND revision = $3 ORDER BY line_no`,
    [zone, periodStart, revision],
  );
  return rows.map((row) => ({
    participantId: row.participant_id,
    account: row.account,
    boughtWh: row.bought_wh,
    soldWh: row.sold_wh,
    contractedWh: row.contracted_wh,
    meteredExportWh: row.metered_export_wh,
    meteredImportWh: row.metered_import_wh,
    meteredNetWh: row.metered_net_wh,
    imbalanceWh: row.imbalance_wh,
    postedImbalanceWh: row.posted_imbalance_wh,
    imbalancePriceMinorPerKWh: row.imbalance_price,
    imbalanceAmountMinor: row.imbalance_amount_minor,
    tradeAmountMinor: row.trade_amount_minor,
    justifiedBy: row.justified_by,
  }));
}

export type LedgerTransfer = {
  transferId: string;
  ledger: string;
  debitAccount: string;
  creditAccount: string;
  amount: string;
  kind: TransferKind;
  reverses: string | null;
  postsPending: string | null;
  /**
   * posted: a posted transfer; pending: a hold recorded at match time, not posted yet; cleared: a
   * hold a revision's posting posted (`postedBy`), which carries its amount.
   */
  status: TransferRowStatus;
  /** A cleared hold: the posting that posted it, and that posting's revision; else null. */
  postedBy: string | null;
  postedByRevision: number | null;
  zone: string;
  periodStart: string;
  /** The statement revision that posted it; null for a trade's pending transfer. */
  revision: number | null;
  position: string;
  /** Its place in the event that recorded it. */
  ordinal: number;
};

type TransferRowOut = {
  transfer_id: string;
  ledger: string;
  debit_account: string;
  credit_account: string;
  amount: string;
  kind: TransferKind;
  reverses: string | null;
  posts_pending: string | null;
  status: TransferRowStatus;
  posted_by: string | null;
  posted_by_revision: number | null;
  zone: string;
  period_start: Instant;
  revision: number | null;
  position: string;
  ordinal: number;
};

const TRANSFER_COLUMNS = (t: string, posting: string) =>
  `${t}.transfer_id, ${t}.ledger, ${t}.debit_account, ${t}.credit_account, ${fig(`${t}.amount`, 'amount')}, ${t}.kind, ${t}.reverses, ${t}.posts_pending,
   ${t}.status, ${t}.posted_by, (SELECT p.revision FROM ${posting} p WHERE p.transfer_id = ${t}.posted_by) AS posted_by_revision,
   ${t}.zone, ${t}.period_start, ${t}.revision, ${t}.position::text AS position, ${t}.ordinal`;

const transferOf = (row: TransferRowOut): LedgerTransfer => ({
  transferId: row.transfer_id,
  ledger: row.ledger,
  debitAccount: row.debit_account,
  creditAccount: row.credit_account,
  amount: row.amount,
  kind: row.kind,
  reverses: row.reverses,
  postsPending: row.posts_pending,
  status: row.status,
  postedBy: row.posted_by,
  postedByRevision: row.posted_by_revision,
  zone: row.zone,
  periodStart: iso(row.period_start),
  revision: row.revision,
  position: row.position,
  ordinal: row.ordinal,
});

/**
 * The transfers a statement revision lists (reversals first, then its postings), as the ledger
 * recorded them (with their status now); a transfer id the ledger already had before keeps the row
 * of its first recording.
 */
export async function statementTransfers(sql: SqlExecutor, table: TableNames, statement: SettlementStatement): Promise<LedgerTransfer[]> {
  const ids = statement.transfers.map((t) => t.transferId);
  const { rows } = await sql.query<TransferRowOut>(`SELECT ${TRANSFER_COLUMNS('t', table('transfers'))} FROM ${table('transfers')} t WHERE t.transfer_id = ANY($1::text[])`, [ids]);
  const byId = new Map(rows.map((row) => [row.transfer_id, transferOf(row)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** The transfers recorded for a period (pending ones of its trades, and every revision's postings), in ledger order. */
export async function periodTransfers(sql: SqlExecutor, table: TableNames, zone: string, periodStart: string): Promise<LedgerTransfer[]> {
  const { rows } = await sql.query<TransferRowOut>(
    `SELECT ${TRANSFER_COLUMNS('t', table('transfers'))} FROM ${table('transfers')} t WHERE t.zone = $1 AND t.period_start = $2 ORDER BY t.position, t.ordinal`,
    [zone, periodStart],
  );
  return rows.map(transferOf);
}

export type AccountBalance = {
  ledger: string;
  account: string;
  /** credits − debits of its posted transfers. */
  posted: string;
  /** credits − debits of its transfers still pending. */
  pending: string;
};

/** Account balances, by ledger then account (code-point order); optionally one ledger's, and accounts starting with a prefix ("trader:"). */
export async function accountBalances(sql: SqlExecutor, table: TableNames, filter: { ledger?: string | null; accountPrefix?: string | null } = {}): Promise<AccountBalance[]> {
  const prefix = filter.accountPrefix ?? null;
  const { rows } = await sql.query<{ ledger: string; account: string; posted: string; pending: string }>(
    `SELECT ledger, account, ${fig('posted', 'posted')}, ${fig('pending', 'pending')} FROM ${table('balances')}
      WHERE ($1::text IS NULL OR ledger = $1::text) AND ($2::text IS NULL OR left(account, length($2::text)) = $2::text)
      ORDER BY ledger COLLATE "C", account COLLATE "C"`,
    [filter.ledger ?? null, prefix],
  );
  return rows;
}

export type Posting = LedgerTransfer & {
  /** The account asked for. */
  account: string;
  /**
   * What the entry adds to the account's posted balance: ±amount for a posted transfer (+ when
   * credited), 0 for a hold (its posting carries the amount). The account's changes add up to its posted balance.
   */
  change: string;
  /** What it adds to the pending balance: ±amount for a hold still pending, else 0. They add up to the pending balance. */
  pendingChange: string;
};

export type PostingsPage = { postings: Posting[]; hasNextPage: boolean };

/** Where a page of postings starts: after this transfer (by ledger order). */
export type PostingCursor = { position: bigint; ordinal: number };

/**
 * The transfers that touched one account of one ledger, posted and pending, in the order the
 * ledger recorded them (by position, then place in the event): keyset pages of `first`.
 */
export async function accountPostings(
  sql: SqlExecutor,
  table: TableNames,
  query: { account: string; ledger: string; first: number } & KeysetWindow<PostingCursor>,
): Promise<PostingsPage> {
  const params: unknown[] = [query.account, query.ledger, query.first + 1];
  const bound = (key: PostingCursor | null | undefined) =>
    key === null || key === undefined ? null : [`$${params.push(key.position.toString())}::bigint`, `$${params.push(key.ordinal)}::integer`];
  const { where, orderBy } = keysetClauses(['t.position', 't.ordinal'], { after: bound(query.after), before: bound(query.before), backward: query.backward ?? false });
  const { rows } = await sql.query<TransferRowOut>(
    `SELECT ${TRANSFER_COLUMNS('t', table('transfers'))} FROM ${table('transfers')} t
      WHERE t.ledger = $2 AND (t.debit_account = $1 OR t.credit_account = $1) AND ${where}
      ORDER BY ${orderBy} LIMIT $3`,
    params,
  );
  const postings = rows.slice(0, query.first).map((row) => {
    const transfer = transferOf(row);
    return { ...transfer, account: query.account, ...entryChanges(transfer, transfer.status, query.account) };
  });
  return { postings, hasNextPage: rows.length > query.first };
}

export async function countAccountPostings(sql: SqlExecutor, table: TableNames, account: string, ledger: string): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM ${table('transfers')} WHERE ledger = $2 AND (debit_account = $1 OR credit_account = $1)`,
    [account, ledger],
  );
  return BigInt(rows[0]?.count ?? 0);
}

export type LedgerTotal = {
  ledger: string;
  accounts: number;
  /** The sum of every account's posted balance: 0 in a double-entry ledger. */
  posted: string;
  /** The sum of the pending balances: 0 as well. */
  pending: string;
};

/** Per ledger: how many accounts, and the sums of their balances (both 0 when the books balance). */
export async function ledgerTotals(sql: SqlExecutor | SqlClient, table: TableNames): Promise<LedgerTotal[]> {
  return onOneSnapshot(sql, async (tx) => {
    const { rows } = await tx.query<{ ledger: string; accounts: number; posted: string; pending: string }>(
      `SELECT ledger, count(*)::integer AS accounts, ${fig('sum(posted)', 'posted')}, ${fig('sum(pending)', 'pending')}
         FROM ${table('balances')} GROUP BY ledger ORDER BY ledger COLLATE "C"`,
    );
    return rows;
  });
}
