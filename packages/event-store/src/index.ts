export * from './types.ts';
export * from './errors.ts';
export * from './hash-chain.ts';
export * from './schema-registry.ts';
export * from './subscription.ts';
export type { SqlClient, SqlExecutor, SqlRow } from './postgres/sql-client.ts';
export { MemoryEventStore, type MemoryStoreOptions } from './memory/memory-store.ts';
