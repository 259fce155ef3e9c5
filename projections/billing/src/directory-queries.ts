import type { TariffDefinition } from '@v2g/domain';
import type { KeysetWindow, SqlExecutor } from '@v2g/event-store';
import { keysetPage, type TableNames } from '@v2g/read-model';

/**
 * What the billing read model knows exists: tariffs, and accounts (a customer or a fleet that was
 * assigned a tariff or had a session billed to it). Lists are by id in byte order (the same on
 * every store), keyset windows of `first` rows in reading order.
 */

export type TariffListing = { tariff: TariffDefinition; position: bigint };

/** Tariffs by id; optionally of one currency. */
export async function listTariffs(
  sql: SqlExecutor,
  table: TableNames,
  filter: { currency?: string | null },
  page: { first: number } & KeysetWindow<string>,
): Promise<TariffListing[]> {
  const params: unknown[] = [filter.currency ?? null, page.first];
  const { where, orderBy } = keysetPage(params, 't.tariff_id COLLATE "C"', 'text', page);
  const { rows } = await sql.query<{ definition: TariffDefinition; position: string }>(
    `SELECT t.definition, t.position::text AS position FROM ${table('tariffs')} t
      WHERE ($1::text IS NULL OR t.definition->>'currency' = $1) AND ${where} ORDER BY ${orderBy} LIMIT $2`,
    params,
  );
  return rows.map((r) => ({ tariff: r.definition, position: BigInt(r.position) }));
}

export async function countTariffs(sql: SqlExecutor, table: TableNames, filter: { currency?: string | null }): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table('tariffs')} WHERE $1::text IS NULL OR definition->>'currency' = $1`, [
    filter.currency ?? null,
  ]);
  return BigInt(rows[0]?.count ?? '0');
}

export type AccountListing = {
  accountId: string;
  /** The tariffs it was ever assigned, by id. */
  tariffIds: string[];
  /** How many sessions are billed to it. */
  sessionCount: bigint;
};

export type AccountFilter = { tariffId?: string | null };

/** Every account once: those assigned a tariff and those a session is billed to. */
const ACCOUNTS = (table: TableNames) => `(
  SELECT a.account_id,
         COALESCE((SELECT array_agg(DISTINCT ta.tariff_id ORDER BY ta.tariff_id) FROM ${table('tariff_assignments')} ta WHERE ta.account_id = a.account_id), '{}') AS tariff_ids,
         (SELECT count(*) FROM ${table('sessions')} s WHERE s.account_id = a.account_id) AS session_count
    FROM (SELECT account_id FROM ${table('tariff_assignments')} UNION SELECT account_id FROM ${table('sessions')}) a
)`;

/** Accounts by id; optionally those ever assigned one tariff. */
export async function listAccounts(sql: SqlExecutor, table: TableNames, filter: AccountFilter, page: { first: number } & KeysetWindow<string>): Promise<AccountListing[]> {
  const params: unknown[] = [filter.tariffId ?? null, page.first];
  const { where, orderBy } = keysetPage(params, 'x.account_id COLLATE "C"', 'text', page);
  const { rows } = await sql.query<{ account_id: string; tariff_ids: string[]; session_count: string }>(
    `SELECT x.account_id, x.tariff_ids, x.session_count::text AS session_count FROM ${ACCOUNTS(table)} x
      WHERE ($1::text IS NULL OR $1 = ANY (x.tariff_ids)) AND ${where} ORDER BY ${orderBy} LIMIT $2`,
    params,
  );
  return rows.map((r) => ({ accountId: r.account_id, tariffIds: r.tariff_ids, sessionCount: BigInt(r.session_count) }));
}

export async function countAccounts(sql: SqlExecutor, table: TableNames, filter: AccountFilter): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${ACCOUNTS(table)} x WHERE $1::text IS NULL OR $1 = ANY (x.tariff_ids)`, [
    filter.tariffId ?? null,
  ]);
  return BigInt(rows[0]?.count ?? '0');
}

/** Whether the billing read model knows the account: assigned a tariff, or billed for a session. */
export async function accountKnown(sql: SqlExecutor, table: TableNames, accountId: string): Promise<boolean> {
  const { rows } = await sql.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${table('tariff_assignments')} WHERE account_id = $1) OR EXISTS (SELECT 1 FROM ${table('sessions')} WHERE account_id = $1) AS known`,
    [accountId],
  );
  return rows[0]?.known === true;
}
