export * from './command-handler.ts';
// The read-model contract, for the ledger's own users (server, CLI, scripts); projections import it from @v2g/read-model.
export * from '@v2g/read-model';
export * from './grid-service.ts';
export * from './allocation-scheduler.ts';
export * from './metering-service.ts';
export * from './settlement-service.ts';
export * from './settlement-watcher.ts';
export * from './market-service.ts';
export * from './gate-scheduler.ts';
export * from './tamper-evidence/index.ts';
export * from './api-key-service.ts';
export * from './settlement-audit.ts';
export * from './known-accounts.ts';
