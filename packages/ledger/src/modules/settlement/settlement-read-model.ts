import type { SqlClient } from '@v2g/event-store';
import {
  accountBalances,
  accountPostings,
  closedPeriods,
  countAccountPostings,
  ledgerTotals,
  settledZones,
  settlementRevisions,
  settlementStatement,
  statementInForceAt,
} from '@v2g/projection-settlement';
import { readModelFacade, type TableNames } from '@v2g/read-model';

const SETTLEMENT_QUERIES = {
  accountBalances,
  accountPostings,
  closedPeriods,
  countAccountPostings,
  ledgerTotals,
  settledZones,
  settlementRevisions,
  settlementStatement,
  statementInForceAt,
};

/** The settlement read model's questions: statements and their revisions, the double-entry ledger's balances and postings. */
export type SettlementReadModel = ReturnType<typeof settlementReadModel>;

export function settlementReadModel(sql: SqlClient, tables: TableNames) {
  return readModelFacade(sql, tables, SETTLEMENT_QUERIES);
}
