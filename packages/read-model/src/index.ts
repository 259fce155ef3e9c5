export * from './projection.ts';
export * from './bookkeeping.ts';
export * from './statement-pipeline.ts';
export * from './batches.ts';
export * from './projection-runner.ts';
export * from './projection-status.ts';
export * from './projection-rebuild.ts';
export * from './replay.ts';
