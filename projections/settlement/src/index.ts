export * from './settlement-projection.ts';
export * from './settlement-queries.ts';
