import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import type { SettlementTrade } from './settlement-types.ts';
import { tradeAmountMinor } from '../market/trade-amount.ts';
import { splitEvenly, tradeParts } from './trade-parts.ts';

const trade = (extra: Partial<SettlementTrade> = {}): SettlementTrade => ({
  tradeId: 'o7-1',
  zone: 'NL',
  currency: 'EUR',
  deliveryStart: '2026-11-28T10:00:00.000Z',
  deliveryEnd: '2026-11-28T11:00:00.000Z',
  buyOrderId: 'o7',
  sellOrderId: 'o3',
  buyerId: 'retailer',
  sellerId: 'agg',
  aggressorSide: 'buy',
  quantityWh: '10001',
  priceMinorPerMWh: '8123',
  executedAt: '2026-11-28T09:00:00.000Z',
  ...extra,
});

describe('tradeParts', () => {
  it('splits a 60-minute trade into 4 periods that add up exactly (largest remainder, earlier periods first)', () => {
    // 10001 Wh × 8123 minor/MWh = 81.238123 → 81 minor.
    const parts = tradeParts(trade());
    expect(parts.map((p) => [p.periodStart.slice(11, 16), p.energyWh, p.amountMinor])).toEqual([
      ['10:00', '2501', '21'],
      ['10:15', '2500', '20'],
      ['10:30', '2500', '20'],
      ['10:45', '2500', '20'],
    ]);
    expect(parts[0]).toEqual({
      tradeId: 'o7-1',
      periodStart: '2026-11-28T10:00:00.000Z',
      energyWh: '2501',
      amountMinor: '21',
      energyTransfer: {
        transferId: 'trade/o7-1/2026-11-28T10:00:00.000Z/energy',
        ledger: 'Wh',
        debitAccount: 'trader:agg',
        creditAccount: 'trader:retailer',
        amount: '2501',
        kind: 'trade_energy',
        reverses: null,
        postsPending: null,
      },
      moneyTransfer: {
        transferId: 'trade/o7-1/2026-11-28T10:00:00.000Z/money',
        ledger: 'EUR',
        debitAccount: 'trader:retailer',
        creditAccount: 'trader:agg',
        amount: '21',
        kind: 'trade_money',
        reverses: null,
        postsPending: null,
      },
    });
  });

  it('turns the money round for a negative price (the seller pays), and has no transfer for a zero part', () => {
    // 2 Wh × -2,500,000 minor/MWh = -5 minor: -2, -1, -1, -1; the energy 1, 1, 0, 0.
    const parts = tradeParts(trade({ quantityWh: '2', priceMinorPerMWh: '-2500000' }));
    expect(parts.map((p) => [p.energyWh, p.amountMinor])).toEqual([
      ['1', '-2'],
      ['1', '-1'],
      ['0', '-1'],
      ['0', '-1'],
    ]);
    expect(parts[0]!.moneyTransfer).toMatchObject({ debitAccount: 'trader:agg', creditAccount: 'trader:retailer', amount: '2' });
    expect(parts[2]!.energyTransfer).toBeNull();
    const free = tradeParts(trade({ quantityWh: '100', priceMinorPerMWh: '0', deliveryEnd: '2026-11-28T10:15:00.000Z' }));
    expect(free).toHaveLength(1);
    expect(free[0]!.moneyTransfer).toBeNull();
  });

  it('rounds the money total half-even to a whole minor unit', () => {
    expect(tradeAmountMinor('500', '1000')).toBe(0n); // 0.5 → 0
    expect(tradeAmountMinor('1500', '1000')).toBe(2n); // 1.5 → 2
    expect(tradeAmountMinor('2500', '1000')).toBe(2n); // 2.5 → 2
    expect(tradeAmountMinor('2500', '-1000')).toBe(-2n);
    expect(tradeAmountMinor('10000', '8000')).toBe(80n);
    expect(tradeAmountMinor('1', '0.01')).toBe(0n);
  });

  it('refuses a delivery not made of whole periods', () => {
    expect(() => tradeParts(trade({ deliveryStart: '2026-11-28T10:05:00.000Z' }))).toThrow(InvalidCommand);
    expect(() => tradeParts(trade({ deliveryEnd: '2026-11-28T10:50:00.000Z' }))).toThrow(InvalidCommand);
    expect(() => tradeParts(trade({ deliveryEnd: '2026-11-28T10:00:00.000Z' }))).toThrow(InvalidCommand);
    expect(() => tradeParts(trade({ quantityWh: '1.5' }))).toThrow(InvalidCommand);
  });

  it('parts add up exactly to the quantity and the rounded money total, each within one unit of the even share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: -50_000n * 100n, max: 400_000n * 100n }),
        fc.integer({ min: 1, max: 96 }),
        fc.integer({ min: 0, max: 95 }),
        (quantityWh, priceCents, periods, startQuarter) => {
          const start = Date.UTC(2026, 10, 28) + startQuarter * 15 * 60_000;
          const t = trade({
            quantityWh: quantityWh.toString(),
            priceMinorPerMWh: (Number(priceCents) / 100).toFixed(2).replace(/\.?0+$/, '') || '0',
            deliveryStart: new Date(start).toISOString(),
            deliveryEnd: new Date(start + periods * 15 * 60_000).toISOString(),
          });
          const parts = tradeParts(t);
          expect(parts).toHaveLength(periods);
          const energy = parts.map((p) => BigInt(p.energyWh));
          const money = parts.map((p) => BigInt(p.amountMinor));
          expect(energy.reduce((a, b) => a + b, 0n)).toBe(quantityWh);
          expect(money.reduce((a, b) => a + b, 0n)).toBe(tradeAmountMinor(t.quantityWh, t.priceMinorPerMWh));
          const n = BigInt(periods);
          for (const e of energy) expect(e * n - quantityWh < n && quantityWh - e * n < n).toBe(true);
          for (const p of parts) {
            expect(p.energyTransfer?.amount ?? '0').toBe(p.energyWh);
            const m = BigInt(p.amountMinor);
            expect(p.moneyTransfer === null).toBe(m === 0n);
            if (p.moneyTransfer) {
              expect(p.moneyTransfer.amount).toBe((m < 0n ? -m : m).toString());
              expect(p.moneyTransfer.creditAccount).toBe(m > 0n ? 'trader:agg' : 'trader:retailer');
            }
          }
          expect(new Set(parts.flatMap((p) => [p.energyTransfer?.transferId, p.moneyTransfer?.transferId]).filter(Boolean)).size).toBe(
            parts.filter((p) => p.energyTransfer).length + parts.filter((p) => p.moneyTransfer).length,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('splitEvenly: largest remainder over equal weights', () => {
    expect(splitEvenly(7n, 3)).toEqual([3n, 2n, 2n]);
    expect(splitEvenly(-7n, 3)).toEqual([-3n, -2n, -2n]);
    expect(splitEvenly(0n, 2)).toEqual([0n, 0n]);
  });
});
