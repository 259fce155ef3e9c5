export * from './command-handler.ts';
// The read-model contract, for the ledger's own users (server, CLI, scripts); projections import it from @v2g/read-model.
export * from '@v2g/read-model';
export * from './modules/module.ts';
export * from './modules/index.ts';
export * from './modules/catalogue/index.ts';
export * from './modules/grid/index.ts';
export * from './modules/metering/index.ts';
export * from './modules/billing/index.ts';
export * from './modules/settlement/index.ts';
export * from './modules/market/index.ts';
export * from './modules/access/index.ts';
export * from './modules/evidence/index.ts';
