/**
 * Helpers the packages' tests share: databases to run on (PGlite and the PostgreSQL server), waiting
 * for the log, and the projection integration suites' targets. Test code only: nothing under a
 * package's src/ (outside its spec files) imports this. The seeded workloads that tests and
 * benches both fill logs with are in `@v2g/testing/workloads` (they load the ledger and need no vitest).
 */
export * from './databases.ts';
export * from './market-products.ts';
export * from './projection-targets.ts';
export * from './readable.ts';
export * from './session-commands.ts';
