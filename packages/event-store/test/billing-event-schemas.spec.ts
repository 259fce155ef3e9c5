import {
  accountDecider,
  pricesDecider,
  tariffDecider,
  type AccountCommand,
  type AccountEvent,
  type PricesCommand,
  type PricesEvent,
  type TariffCommand,
  type TariffDefinition,
  type TariffEvent,
} from '@v2g/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventSchemaViolation } from '../src/errors.ts';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { emitted } from './event-schema-checks.ts';

const BILLING_EVENT_TYPES: (PricesEvent | TariffEvent | AccountEvent)['type'][] = ['PricesPublished', 'PricesRevised', 'TariffDefined', 'TariffAssigned'];

const publish = (points: PricesCommand['points'], currency = 'EUR'): PricesCommand => ({
  type: 'PublishPrices',
  zone: 'DE-LU',
  at: '2026-11-26T12:00Z',
  currency,
  source: ' epex ',
  points,
});

function everyPricesEvent(): PricesEvent[] {
  return emitted(pricesDecider, [
    publish([
      { start: '2026-11-27T00:00Z', end: '2026-11-27T01:00Z', priceMinorPerKWh: '8.2100', carbonGPerKWh: '310.5' },
      { start: '2026-11-27T12:00Z', end: '2026-11-27T12:15Z', priceMinorPerKWh: '-3.5', carbonGPerKWh: null },
    ]),
    publish([
      { start: '2026-11-27T00:30Z', end: '2026-11-27T01:15Z', priceMinorPerKWh: '-0.001', carbonGPerKWh: '0' },
      { start: '2026-11-27T12:00Z', end: '2026-11-27T12:15Z', priceMinorPerKWh: '-3.50', carbonGPerKWh: '12' },
    ]),
  ]);
}

const TOU: TariffDefinition = {
  tariffId: 'home:tou-2026',
  name: ' Home ü ',
  currency: 'EUR',
  energy: {
    kind: 'time_of_use',
    timeZone: 'europe/amsterdam',
    defaultName: 'off-peak',
    defaultMinorPerKWh: '20.0',
    windows: [
      { name: 'peak', daysOfWeek: [5, 1], from: '17:00', to: '21:00', priceMinorPerKWh: '35' },
      { name: 'night', daysOfWeek: null, from: '23:00', to: '06:00', priceMinorPerKWh: '15.50' },
    ],
  },
  speedBands: [
    { name: 'slow', fromPowerW: '0', surchargeMinorPerKWh: '0' },
    { name: 'fast', fromPowerW: '11000.0', surchargeMinorPerKWh: '5' },
    { name: 'ultra_fast', fromPowerW: '50000', surchargeMinorPerKWh: '12.5' },
  ],
  sessionFeeMinor: '50',
  exportCredit: { kind: 'fixed', creditMinorPerKWh: '12' },
};

const tariffs: TariffDefinition[] = [
  TOU,
  { ...TOU, tariffId: 'fixed', energy: { kind: 'fixed', priceMinorPerKWh: '0' }, speedBands: [], sessionFeeMinor: null, exportCredit: null },
  {
    ...TOU,
    tariffId: 'dynamic',
    energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '-2.5', floorMinorPerKWh: '-10', capMinorPerKWh: null },
    exportCredit: { kind: 'spot', zone: 'NL', marginMinorPerKWh: '-1', floorMinorPerKWh: null },
  },
  {
    ...TOU,
    tariffId: 'dynamic-capped',
    energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '0', floorMinorPerKWh: null, capMinorPerKWh: '40' },
    exportCredit: { kind: 'spot', zone: 'NL', marginMinorPerKWh: '0', floorMinorPerKWh: '-5' },
  },
];

const everyTariffEvent = (): TariffEvent[] =>
  tariffs.flatMap((tariff) => emitted(tariffDecider, [{ type: 'DefineTariff', at: '2026-11-01T00:00Z', tariff } satisfies TariffCommand]));

const assign = (tariffId: string, validFrom: string, validTo: string | null): AccountCommand => ({
  type: 'AssignTariff',
  accountId: 'fleet-7',
  at: '2026-11-01T00:00Z',
  tariffId,
  validFrom,
  validTo,
});

const everyAccountEvent = (): AccountEvent[] =>
  emitted(accountDecider, [
    assign('home:tou-2026', '2026-11-01T00:00Z', null),
    assign('dynamic', '2026-11-15T12:00:00.5Z', null),
    assign('promo', '2026-10-01T00:00Z', '2026-11-01T00:00Z'),
  ]);

describe('billing events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for every billing event', () => {
    for (const type of BILLING_EVENT_TYPES) expect(registry.latestVersion(type)).toBe(1);
  });

  it('accepts every event the deciders emit, and the scenarios emit every type', () => {
    const events = [...everyPricesEvent(), ...everyTariffEvent(), ...everyAccountEvent()];
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(BILLING_EVENT_TYPES));
    expect(events.filter((e) => e.type === 'TariffDefined')).toHaveLength(tariffs.length);
    for (const event of events) expect(() => registry.validate(event.type, 1, event.data), JSON.stringify(event)).not.toThrow();
  });

  it('accepts what the prices decider emits for random prices (property)', () => {
    let revisedRuns = 0;
    const decimal = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.stringMatching(/^[0-9]{0,6}$/))
      .map(([negative, i, f]) => `${negative ? '-' : ''}${i}${f === '' ? '' : `.${f}`}`);
    const quarter = fc.integer({ min: 0, max: 2000 }).map((n) => new Date(Date.UTC(2026, 10, 1) + n * 900_000).toISOString());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(quarter, fc.integer({ min: 1, max: 8 }), decimal, fc.option(decimal.map((d) => d.replace(/^-/, '')))), { minLength: 1, maxLength: 5 }),
        (raw) => {
          const points = raw.map(([start, quarters, price, carbon]) => ({
            start,
            end: new Date(Date.parse(start) + quarters * 900_000).toISOString(),
            priceMinorPerKWh: price,
            carbonGPerKWh: carbon,
          }));
          let events: PricesEvent[];
          try {
            events = emitted(pricesDecider, [
              publish(points),
              publish(points.map((p) => ({ ...p, priceMinorPerKWh: `${p.priceMinorPerKWh}${p.priceMinorPerKWh.includes('.') ? '' : '.'}1` }))),
            ]);
          } catch {
            return; // a refused command (overlapping points) emits nothing
          }
          for (const event of events) registry.validate(event.type, 1, event.data);
          if (events.some((e) => e.type === 'PricesRevised')) revisedRuns++;
        },
      ),
      { numRuns: 200 },
    );
    expect(revisedRuns).toBeGreaterThan(100);
  });

  it('refuses data the deciders would never emit', () => {
    const [published] = everyPricesEvent();
    expect(published?.type).toBe('PricesPublished');
    const data = published!.data as Extract<PricesEvent, { type: 'PricesPublished' }>['data'];
    const interval = data.intervals[0]!;
    const withInterval = (changes: Record<string, unknown>) => ({ ...data, intervals: [{ ...interval, ...changes }] });
    expect(() => registry.validate('PricesPublished', 1, withInterval({ start: '2026-11-27T00:05:00.000Z' }))).toThrow(EventSchemaViolation);
    expect(() => registry.validate('PricesPublished', 1, withInterval({ start: '2026-11-27T00:00Z' }))).toThrow(EventSchemaViolation);
    expect(() => registry.validate('PricesPublished', 1, withInterval({ priceMinorPerKWh: 8.21 }))).toThrow(EventSchemaViolation);
    expect(() => registry.validate('PricesPublished', 1, withInterval({ carbonGPerKWh: '-1' }))).toThrow(EventSchemaViolation);
    expect(() => registry.validate('PricesPublished', 1, { ...data, intervals: [] })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('PricesPublished', 1, { ...data, currency: 'eur' })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('PricesRevised', 1, data)).toThrow(EventSchemaViolation); // no previousPriceMinorPerKWh

    const defined = everyTariffEvent()[0]!.data;
    expect(() => registry.validate('TariffDefined', 1, { ...defined, energy: { kind: 'fixed', priceMinorPerKWh: '-1' } })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('TariffDefined', 1, { ...defined, energy: { kind: 'fixed', priceMinorPerKWh: '1', zone: 'NL' } })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('TariffDefined', 1, { ...defined, speedBands: [{ name: 'medium', fromPowerW: '0', surchargeMinorPerKWh: '0' }] })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('TariffDefined', 1, { ...defined, sessionFeeMinor: undefined })).toThrow(EventSchemaViolation);

    const assigned = everyAccountEvent()[0]!.data;
    registry.validate('TariffAssigned', 1, assigned);
    expect(() => registry.validate('TariffAssigned', 1, { ...assigned, accountId: ' padded' })).toThrow(EventSchemaViolation);
    expect(() => registry.validate('TariffAssigned', 1, { ...assigned, validTo: '2026-12-01' })).toThrow(EventSchemaViolation);
  });
});
