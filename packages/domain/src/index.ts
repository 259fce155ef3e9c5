export * from './errors.ts';
export * from './decider.ts';
export * from './quantities.ts';
export * from './site/site.ts';
