export * from './errors.ts';
export * from './decider.ts';
