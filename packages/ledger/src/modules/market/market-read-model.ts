import type { SqlClient } from '@v2g/event-store';
import {
  bookDepth,
  countOrders,
  countTrades,
  countZones,
  findBook,
  listOrders,
  listTrades,
  listZones,
  openBooks,
  participantsOfZone,
  traderPositions,
} from '@v2g/projection-market';
import { readModelFacade, type TableNames } from '@v2g/read-model';

const MARKET_QUERIES = { bookDepth, countOrders, countTrades, countZones, findBook, listOrders, listTrades, listZones, openBooks, participantsOfZone, traderPositions };

/** The market read model's questions: zones, books and their depth, orders, trades, positions. */
export type MarketReadModel = ReturnType<typeof marketReadModel>;

export function marketReadModel(sql: SqlClient, tables: TableNames) {
  return readModelFacade(sql, tables, MARKET_QUERIES);
}
