import type { ProductTemplate } from '@v2g/domain';

/**
 * A continuous quarter-hour product as the tests and benches trade it: a tick of 1 minor unit per
 * MWh, prices from -500 to 4,000 per MWh (in cents: -50,000 to 400,000), quantities in steps of
 * 100 Wh, the gate 5 minutes before delivery. How much one order may hold and how long ahead a
 * book opens are the caller's.
 */
export function continuousQuarterHour(limits: { maxQuantityWh: string; openMinutes: number }): ProductTemplate {
  return {
    lengthMinutes: 15,
    mode: 'continuous',
    tickMinorPerMWh: '1',
    minPriceMinorPerMWh: '-50000',
    maxPriceMinorPerMWh: '400000',
    quantityStepWh: '100',
    maxQuantityWh: limits.maxQuantityWh,
    gateClosureMinutes: 5,
    openMinutes: limits.openMinutes,
  };
}
