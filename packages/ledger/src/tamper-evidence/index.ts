export * from './merkle.ts';
export * from './checkpoint.ts';
export * from './checkpoint-sink.ts';
export * from './log-digest.ts';
export * from './checkpointer.ts';
export * from './verify-log.ts';
