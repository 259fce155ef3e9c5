import type { SqlClient } from '@v2g/event-store';
import {
  countMeters,
  countSessions,
  countSites,
  findSession,
  listMeters,
  listSessions,
  listSites,
  setpointHistory,
  siteLoadHistory,
  sitesWithSessionsAtConnectors,
} from '@v2g/projection-grid';
import { readModelFacade, type TableNames } from '@v2g/read-model';

const GRID_QUERIES = { countMeters, countSessions, countSites, findSession, listMeters, listSessions, listSites, setpointHistory, siteLoadHistory, sitesWithSessionsAtConnectors };

/** The grid read model's questions: sites, meters, sessions, setpoint and load history. */
export type GridReadModel = ReturnType<typeof gridReadModel>;

export function gridReadModel(sql: SqlClient, tables: TableNames) {
  return readModelFacade(sql, tables, GRID_QUERIES);
}
