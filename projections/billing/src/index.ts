export * from './billing-projection.ts';
export * from './billing-queries.ts';
export * from './price-queries.ts';
export * from './as-of-queries.ts';
export * from './directory-queries.ts';
