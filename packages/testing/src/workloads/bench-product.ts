import { continuousQuarterHour } from '../market-products.ts';

/** The product the benches trade: continuous quarter hours, open two days ahead, gate 5 minutes before delivery. */
export const BENCH_PRODUCT = continuousQuarterHour({ maxQuantityWh: '10000000', openMinutes: 2 * 1440 });
