export * from './grid-projection.ts';
export * from './grid-queries.ts';
