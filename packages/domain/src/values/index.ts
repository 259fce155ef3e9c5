/**
 * The value types every aggregate and the GraphQL scalars share, one rule per concept: ids, zones,
 * the quarter hour, instants, decimals (exact ones for money and energy), quantities with their
 * units and bounds, currencies, and the shape checks of command input.
 */
export * from './ids.ts';
export * from './zone.ts';
export * from './interval.ts';
export * from './time.ts';
export * from './quantities.ts';
export * from './exact-decimal.ts';
export * from './money.ts';
export * from './structure.ts';
