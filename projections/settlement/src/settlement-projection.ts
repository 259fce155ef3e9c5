import { Decimal, tradeParts, type SettlementStatement, type SettlementTrade, type Transfer } from '@v2g/domain';

import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';
import type { Projection, TableNames } from '@v2g/read-model';

/** A row's status: a posted transfer, or a hold (a trade's pending transfer) still pending or cleared by the posting that posted it. */
export type TransferRowStatus = 'pending' | 'posted' | 'cleared';

/**
 * The settlement read model: every revision of every settlement statement (`statements`, one row
 * per line in `statement_lines`), every transfer of the double-entry ledger (`transfers`), and the
 * balance of each account of each ledger (`balances`), posted and pending, kept in the same
 * transaction as the transfers that move them.
 *
 * - TradeExecuted records the trade's pending transfers, one energy and one money transfer per
 *   15-minute period it delivers in (`tradeParts`): they move the pending balances.
 * - SettlementPeriodClosed records the statement and posts its transfers in order: reversals of
 *   the previous revision's postings, postings of pending transfers, new postings.
 *
 * A transfer id is the table's key: a transfer whose id is already there is not posted again (a
 * replayed or retried event never double-posts; the same id with other content keeps the first, as
 * the domain's ledger refuses it before it is ever recorded). A transfer that posts a pending one
 * moves that pending amount out of the pending balances and marks the pending transfer
 * cleared, naming that posting in `posted_by` (see `ledgerEffects`, which mirrors the pure ledger in
 * packages/domain/src/settlement/ledger.ts). A cleared hold no longer moves any balance: the
 * posting carries its amount, so an account's rows add up to its balances (entryChanges).
 *
 * Amounts are NUMERIC, instants timestamptz, positions bigint. Every row is a function of the
 * events in log order (no clock, no sequence), so a rebuild from zero gives the same rows, in big
 * batches or event by event.
 */
export const SETTLEMENT_TABLES = ['statements', 'statement_lines', 'transfers', 'balances'] as const;

export const settlementProjection: Projection = {
  name: 'settlement',
  // 2: a hold posted by a revision is `cleared` (it was `posted`, listed with its amount beside the
  // posting that carried it), with `posted_by`; statements carry their event's recorded_at (the
  // statement in force as of an instant is an index lookup).
  version: 2,
  tables: SETTLEMENT_TABLES,

  async setup(tx, table) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('statements')} (
      zone text NOT NULL,
      period_start timestamptz NOT NULL,
      revision integer NOT NULL,
      period_end timestamptz NOT NULL,
      currency text NOT NULL,
      known_at timestamptz NOT NULL,
      inputs_hash text NOT NULL,
      inputs_through bigint NOT NULL,
      input_count integer NOT NULL,
      statement jsonb NOT NULL,
      position bigint NOT NULL,
      recorded_at timestamptz NOT NULL,
      PRIMARY KEY (zone, period_start, revision)
    )`);
    // "In force as of T": the period's highest revision recorded at or before T.
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('statements', 'known')} ON ${table('statements')} (zone, period_start, recorded_at, revision)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('statement_lines')} (
      zone text NOT NULL,
      period_start timestamptz NOT NULL,
      revision integer NOT NULL,
      line_no integer NOT NULL,
      participant_id text NOT NULL,
      account text NOT NULL,
      bought_wh numeric NOT NULL,
      sold_wh numeric NOT NULL,
      contracted_wh numeric NOT NULL,
      metered_export_wh numeric NOT NULL,
      metered_import_wh numeric NOT NULL,
      metered_net_wh numeric NOT NULL,
      imbalance_wh numeric NOT NULL,
      posted_imbalance_wh numeric NOT NULL,
      imbalance_price_minor_per_kwh numeric NOT NULL,
      imbalance_amount_minor numeric NOT NULL,
      trade_amount_minor numeric NOT NULL,
      justified_by bigint[] NOT NULL,
      PRIMARY KEY (zone, period_start, revision, line_no)
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('statement_lines', 'participant')} ON ${table('statement_lines')} (participant_id, period_start)`);
    // `ordinal`: the transfer's place in the event that recorded it, so (position, ordinal) orders
    // the ledger as it was written (the postings connection pages by it).
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('transfers')} (
      transfer_id text PRIMARY KEY,
      ledger text NOT NULL,
      debit_account text NOT NULL,
      credit_account text NOT NULL,
      amount numeric NOT NULL,
      kind text NOT NULL,
      reverses text,
      posts_pending text,
      status text NOT NULL CHECK (status IN ('pending', 'posted', 'cleared')),
      posted_by text,
      zone text NOT NULL,
      period_start timestamptz NOT NULL,
      revision integer,
      position bigint NOT NULL,
      ordinal integer NOT NULL,
      UNIQUE (position, ordinal)
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('transfers', 'debit')} ON ${table('transfers')} (debit_account, ledger, position, ordinal)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('transfers', 'credit')} ON ${table('transfers')} (credit_account, ledger, position, ordinal)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('transfers', 'period')} ON ${table('transfers')} (zone, period_start)`);
    // balance = credits − debits: posted counts posted transfers, pending those still pending.
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('balances')} (
      ledger text NOT NULL,
      account text NOT NULL,
      posted numeric NOT NULL,
      pending numeric NOT NULL,
      PRIMARY KEY (ledger, account)
    )`);
  },

  apply(tx, event, table) {
    return applySettlementEvents(tx, [event], table);
  },

  applyBatch(tx, events, table) {
    return applySettlementEvents(tx, events, table);
  },
};

// ---- collecting -----------------------------------------------------------------------------------

type TransferRow = Transfer & {
  status: TransferRowStatus;
  zone: string;
  periodStart: string;
  revision: number | null;
  position: bigint;
  ordinal: number;
};

type Collected = { statements: { statement: SettlementStatement; position: bigint; recordedAt: string }[]; transfers: TransferRow[] };

function collect(events: readonly RecordedEvent[]): Collected {
  const batch: Collected = { statements: [], transfers: [] };
  for (const event of events) {
    // The store validated the data against schemas/events on append.
    switch (event.type) {
      case 'TradeExecuted': {
        const trade = event.data as SettlementTrade;
        let ordinal = 0;
        for (const part of tradeParts(trade)) {
          for (const transfer of [part.energyTransfer, part.moneyTransfer]) {
            // A part of zero energy or money has no transfer.
            if (transfer === null) continue;
            batch.transfers.push({
              ...transfer,
              status: 'pending',
              zone: trade.zone,
              periodStart: part.periodStart,
              revision: null,
              position: event.globalPosition,
              ordinal: ordinal++,
            });
          }
        }
        break;
      }
      case 'SettlementPeriodClosed': {
        const statement = event.data as SettlementStatement;
        batch.statements.push({ statement, position: event.globalPosition, recordedAt: event.metadata.recordedAt });
        statement.transfers.forEach((transfer, ordinal) => {
          batch.transfers.push({
            ...transfer,
            status: 'posted',
            zone: statement.zone,
            periodStart: statement.periodStart,
            revision: statement.revision,
            position: event.globalPosition,
            ordinal,
          });
        });
        break;
      }
      default:
        break;
    }
  }
  return batch;
}

// ---- the ledger's effects -------------------------------------------------------------------------

/** What the ledger knows of a transfer already recorded: enough to post or restore a pending one. */
type Known = { transferId: string; ledger: string; debitAccount: string; creditAccount: string; amount: string; status: TransferRowStatus; postsPending: string | null };

/** A hold cleared in the batch: by which posting. */
type Cleared = { status: 'cleared'; postedBy: string };

type Balances = Map<string, { ledger: string; account: string; posted: Decimal; pending: Decimal }>;

function move(balances: Balances, ledger: string, account: string, column: 'posted' | 'pending', by: Decimal): void {
  const key = `${ledger}\u0000${account}`;
  let row = balances.get(key);
  if (!row) {
    row = { ledger, account, posted: new Decimal(0), pending: new Decimal(0) };
    balances.set(key, row);
  }
  row[column] = row[column].plus(by);
}

/** A transfer's own effect: the debit account goes down, the credit account up, in one column. */
function effect(balances: Balances, t: Pick<Known, 'ledger' | 'debitAccount' | 'creditAccount' | 'amount'>, column: 'posted' | 'pending', sign: 1 | -1): void {
  const amount = new Decimal(t.amount).times(sign);
  move(balances, t.ledger, t.debitAccount, column, amount.neg());
  move(balances, t.ledger, t.creditAccount, column, amount);
}

/**
 * Applies the new transfers in order: each id once (the first wins; one already recorded is
 * skipped). A posted transfer moves the posted balances; a pending one the pending balances; a
 * posting of a pending transfer also takes that transfer out of the pending balances (and marks it
 * cleared, by that posting). A reversal is a posted transfer like any other: reversing the posting of a pending
 * transfer does not make it pending again (the pure ledger posts a pending transfer once): the hold
 * stays cleared, by the revision that first posted it.
 */
export function ledgerEffects(transfers: readonly TransferRow[], known: Map<string, Known>): { inserted: TransferRow[]; balances: Balances; statuses: Map<string, Cleared> } {
  const balances: Balances = new Map();
  const statuses = new Map<string, Cleared>();
  const inserted: TransferRow[] = [];
  const clear = (pending: Known, postedBy: string) => {
    pending.status = 'cleared';
    statuses.set(pending.transferId, { status: 'cleared', postedBy });
  };
  for (const t of transfers) {
    if (known.has(t.transferId)) continue;
    inserted.push(t);
    known.set(t.transferId, {
      transferId: t.transferId,
      ledger: t.ledger,
      debitAccount: t.debitAccount,
      creditAccount: t.creditAccount,
      amount: t.amount,
      status: t.status,
      postsPending: t.postsPending,
    });
    if (t.status === 'pending') {
      effect(balances, t, 'pending', 1);
      continue;
    }
    effect(balances, t, 'posted', 1);
    if (t.postsPending !== null) {
      const pending = known.get(t.postsPending);
      if (pending && pending.status === 'pending') {
        effect(balances, pending, 'pending', -1);
        clear(pending, t.transferId);
      }
    }
  }
  return { inserted, balances, statuses };
}

// ---- writing ----------------------------------------------------------------------------------------

/** Applies events (in log order) to the settlement tables. */
export async function applySettlementEvents(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames): Promise<void> {
  const batch = collect(events);
  if (batch.transfers.length === 0 && batch.statements.length === 0) return;

  if (batch.statements.length > 0) {
    const rows = batch.statements;
    await tx.query(
      `INSERT INTO ${table('statements')} (zone, period_start, revision, period_end, currency, known_at, inputs_hash, inputs_through, input_count, statement, position, recorded_at)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::integer[], $4::timestamptz[], $5::text[], $6::timestamptz[], $7::text[], $8::bigint[], $9::integer[], $10::jsonb[], $11::bigint[], $12::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        rows.map((r) => r.statement.zone),
        rows.map((r) => r.statement.periodStart),
        rows.map((r) => r.statement.revision),
        rows.map((r) => r.statement.periodEnd),
        rows.map((r) => r.statement.currency),
        rows.map((r) => r.statement.knownAt),
        rows.map((r) => r.statement.inputsHash),
        rows.map((r) => r.statement.inputsThrough),
        rows.map((r) => r.statement.inputCount),
        rows.map((r) => JSON.stringify(r.statement)),
        rows.map((r) => r.position.toString()),
        rows.map((r) => r.recordedAt),
      ],
    );
    const lines = rows.flatMap(({ statement: s }) => s.lines.map((line, lineNo) => ({ s, line, lineNo })));
    if (lines.length > 0) {
      const col = <T>(get: (row: (typeof lines)[number]) => T) => lines.map(get);
      await tx.query(
        `INSERT INTO ${table('statement_lines')} (zone, period_start, revision, line_no, participant_id, account, bought_wh, sold_wh, contracted_wh,
           metered_export_wh, metered_import_wh, metered_net_wh, imbalance_wh, posted_imbalance_wh, imbalance_price_minor_per_kwh,
           imbalance_amount_minor, trade_amount_minor, justified_by)
         SELECT u.zone, u.period_start, u.revision, u.line_no, u.participant_id, u.account, u.bought_wh, u.sold_wh, u.contracted_wh,
                u.metered_export_wh, u.metered_import_wh, u.metered_net_wh, u.imbalance_wh, u.posted_imbalance_wh, u.imbalance_price,
                u.imbalance_amount_minor, u.trade_amount_minor, u.justified_by::bigint[]
           FROM unnest($1::text[], $2::timestamptz[], $3::integer[], $4::integer[], $5::text[], $6::text[], $7::numeric[], $8::numeric[], $9::numeric[],
                       $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[], $17::numeric[], $18::text[])
             AS u(zone, period_start, revision, line_no, participant_id, account, bought_wh, sold_wh, contracted_wh, metered_export_wh, metered_import_wh,
                  metered_net_wh, imbalance_wh, posted_imbalance_wh, imbalance_price, imbalance_amount_minor, trade_amount_minor, justified_by)
         ON CONFLICT DO NOTHING`,
        [
          col((r) => r.s.zone),
          col((r) => r.s.periodStart),
          col((r) => r.s.revision),
          col((r) => r.lineNo),
          col((r) => r.line.participantId),
          col((r) => r.line.account),
          col((r) => r.line.boughtWh),
          col((r) => r.line.soldWh),
          col((r) => r.line.contractedWh),
          col((r) => r.line.meteredExportWh),
          col((r) => r.line.meteredImportWh),
          col((r) => r.line.meteredNetWh),
          col((r) => r.line.imbalanceWh),
          col((r) => r.line.postedImbalanceWh),
          col((r) => r.line.imbalancePriceMinorPerKWh),
          col((r) => r.line.imbalanceAmountMinor),
          col((r) => r.line.tradeAmountMinor),
          col((r) => `{${r.line.justifiedBy.join(',')}}`),
        ],
      );
    }
  }

  if (batch.transfers.length === 0) return;
  // What the ledger already holds of the transfers at hand and of those they post or reverse.
  const ids = new Set<string>();
  for (const t of batch.transfers) {
    ids.add(t.transferId);
    if (t.postsPending !== null) ids.add(t.postsPending);
    if (t.reverses !== null) ids.add(t.reverses);
  }
  const { rows } = await tx.query<{
    transfer_id: string;
    ledger: string;
    debit_account: string;
    credit_account: string;
    amount: string;
    status: TransferRowStatus;
    posts_pending: string | null;
  }>(
    `SELECT transfer_id, ledger, debit_account, credit_account, amount::text AS amount, status, posts_pending
       FROM ${table('transfers')} WHERE transfer_id = ANY($1::text[])`,
    [[...ids]],
  );
  const known = new Map<string, Known>();
  // Referenced by a reversal: the posting it reverses may itself post a pending transfer.
  const needed = new Set<string>();
  for (const row of rows) {
    known.set(row.transfer_id, {
      transferId: row.transfer_id,
      ledger: row.ledger,
      debitAccount: row.debit_account,
      creditAccount: row.credit_account,
      amount: row.amount,
      status: row.status,
      postsPending: row.posts_pending,
    });
    if (row.posts_pending !== null && !ids.has(row.posts_pending)) needed.add(row.posts_pending);
  }
  if (needed.size > 0) {
    const more = await tx.query<{
      transfer_id: string;
      ledger: string;
      debit_account: string;
      credit_account: string;
      amount: string;
      status: TransferRowStatus;
      posts_pending: string | null;
    }>(
      `SELECT transfer_id, ledger, debit_account, credit_account, amount::text AS amount, status, posts_pending
         FROM ${table('transfers')} WHERE transfer_id = ANY($1::text[])`,
      [[...needed]],
    );
    for (const row of more.rows) {
      known.set(row.transfer_id, {
        transferId: row.transfer_id,
        ledger: row.ledger,
        debitAccount: row.debit_account,
        creditAccount: row.credit_account,
        amount: row.amount,
        status: row.status,
        postsPending: row.posts_pending,
      });
    }
  }
  const { inserted, balances, statuses } = ledgerEffects(batch.transfers, known);

  if (inserted.length > 0) {
    const col = <T>(get: (row: TransferRow) => T) => inserted.map(get);
    await tx.query(
      `INSERT INTO ${table('transfers')} (transfer_id, ledger, debit_account, credit_account, amount, kind, reverses, posts_pending, status, posted_by, zone, period_start, revision, position, ordinal)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                            $12::timestamptz[], $13::integer[], $14::bigint[], $15::integer[])`,
      [
        col((t) => t.transferId),
        col((t) => t.ledger),
        col((t) => t.debitAccount),
        col((t) => t.creditAccount),
        col((t) => t.amount),
        col((t) => t.kind),
        col((t) => t.reverses),
        col((t) => t.postsPending),
        // A hold cleared within the batch is written with its final status.
        col((t) => statuses.get(t.transferId)?.status ?? t.status),
        col((t) => statuses.get(t.transferId)?.postedBy ?? null),
        col((t) => t.zone),
        col((t) => t.periodStart),
        col((t) => t.revision),
        col((t) => t.position.toString()),
        col((t) => t.ordinal),
      ],
    );
  }
  const insertedIds = new Set(inserted.map((t) => t.transferId));
  const changed = [...statuses].filter(([id]) => !insertedIds.has(id));
  if (changed.length > 0) {
    await tx.query(
      `UPDATE ${table('transfers')} t SET status = u.status, posted_by = u.posted_by
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(transfer_id, status, posted_by) WHERE t.transfer_id = u.transfer_id`,
      [changed.map(([id]) => id), changed.map(([, c]) => c.status), changed.map(([, c]) => c.postedBy)],
    );
  }
  if (balances.size > 0) {
    const rows = [...balances.values()].sort((a, b) => (a.ledger < b.ledger ? -1 : a.ledger > b.ledger ? 1 : a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
    await tx.query(
      `INSERT INTO ${table('balances')} AS b (ledger, account, posted, pending)
       SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[])
       ON CONFLICT (ledger, account) DO UPDATE
         SET posted = trim_scale(b.posted + EXCLUDED.posted), pending = trim_scale(b.pending + EXCLUDED.pending)`,
      [rows.map((r) => r.ledger), rows.map((r) => r.account), rows.map((r) => r.posted.toFixed()), rows.map((r) => r.pending.toFixed())],
    );
  }
}
