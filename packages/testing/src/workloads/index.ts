/**
 * Seeded workloads that fill an event store (for benches and tests alike) and the generator they
 * draw from. Plain code (no vitest), so the benches run it under tsx.
 */
export * from './bench-product.ts';
export * from './billing-fill.ts';
export * from './mixed-fill.ts';
export * from './prng.ts';
