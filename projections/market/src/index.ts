export * from './market-projection.ts';
export * from './market-queries.ts';
