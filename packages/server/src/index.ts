export * from './app.ts';
export * from './config.ts';
export * from './ledger-app.ts';
export * from './logger.ts';
export * from './shutdown.ts';
