import type { ProductTemplate } from '@v2g/domain';

/** The product the benches trade: continuous quarter hours, open two days ahead, gate 5 minutes before delivery. */
export const BENCH_PRODUCT: ProductTemplate = {
  lengthMinutes: 15,
  mode: 'continuous',
  tickMinorPerMWh: '1',
  minPriceMinorPerMWh: '-50000',
  maxPriceMinorPerMWh: '400000',
  quantityStepWh: '100',
  maxQuantityWh: '10000000',
  gateClosureMinutes: 5,
  openMinutes: 2 * 1440,
};
