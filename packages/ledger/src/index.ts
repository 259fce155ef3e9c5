export * from './command-handler.ts';
export * from './projection.ts';
export * from './projection-runner.ts';
