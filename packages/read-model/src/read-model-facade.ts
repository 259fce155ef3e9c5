import type { SqlClient } from '@v2g/event-store';
import type { TableNames } from './projection.ts';

/**
 * A read-model query as a projection package writes it: the SQL client and the tables first, then
 * its own arguments (`never[]` admits any list of them; `Bound` keeps each query's real ones).
 */
type Query = (sql: SqlClient, table: TableNames, ...args: never[]) => Promise<unknown>;

/** The same query with its SQL client and tables bound: what a module's facade offers. */
type Bound<Q> = Q extends (sql: SqlClient, table: TableNames, ...args: infer A) => infer R ? (...args: A) => R : never;

/** A module's read-model facade: its typed queries, no table names. */
export type ReadModelFacade<Queries extends Record<string, Query>> = { readonly [K in keyof Queries]: Bound<Queries[K]> };

/**
 * Binds a projection's queries to a SQL client and its tables: the facade a module exposes, so
 * that no table name leaves the module. `tables` is asked on every call (a blue/green switch moves
 * the live tables).
 */
export function readModelFacade<Queries extends Record<string, Query>>(sql: SqlClient, tables: TableNames, queries: Queries): ReadModelFacade<Queries> {
  const facade: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, query] of Object.entries(queries)) facade[name] = (...args) => query(sql, tables, ...args);
  return facade as ReadModelFacade<Queries>;
}
