export * from './command-handler.ts';
export * from './projection.ts';
export * from './projection-runner.ts';
export * from './grid-service.ts';
export * from './allocation-scheduler.ts';
export * from './metering-service.ts';
