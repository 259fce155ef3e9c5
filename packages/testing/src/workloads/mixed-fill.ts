/**
 * A log with work for every projection: the billing fill (tariffs, assignments, spot prices,
 * sessions with their meter readings: billing, grid's sessions and meter segments, the catalogue),
 * plus the sites those sessions plug into (a feeder, chargers and connectors each, and building
 * load measured on the feeder: the grid's tree and loads) and a market zone with traders and
 * random orders over a day of quarter-hour books (the market's books, orders, levels, trades and
 * positions; settlement's pending trade postings). Deterministic (seeded), except the ids the
 * market service hands out.
 *
 * The market runs on its own clock, the morning of the billing fill's first day, so its books
 * deliver in the past: their settlement periods can be closed (tests do).
 */
import { randomUUID } from 'node:crypto';
import { formatInstant, siteDecider, siteStreamId, type SiteCommand, type SiteState } from '@v2g/domain';
import type { EventStore, NewEvent } from '@v2g/event-store';
import { CommandHandler, MarketService, type OrderInput } from '@v2g/ledger';
import { fillBilling, type BillingFillResult } from './billing-fill.ts';
import { prng } from './prng.ts';
import { BENCH_PRODUCT } from './bench-product.ts';

export type MixedFillOptions = {
  store: EventStore;
  /** Meter readings of the billing fill (its sessions plug into sites bench-site-0 … 99). */
  readings: number;
  sessions: number;
  /** Load measurements per site (100 sites). */
  loadsPerSite: number;
  /** Market orders (submitted 100 at a time). */
  orders: number;
  /** Events per append of the billing fill. */
  chunk?: number;
  concurrency?: number;
  seed?: number;
  onProgress?: (appended: number, total: number) => void;
};

export type MixedFillResult = {
  events: number;
  billing: BillingFillResult;
  siteEvents: number;
  marketEvents: number;
  /** The market zone, its imbalance price zone (the billing fill's prices), and a delivery period of its books. */
  market: { zone: string; priceZone: string; firstDelivery: string; traders: string[] };
  lastPosition: bigint;
};

export const SITES = 100;
const CHARGERS = 20;
const MARKET_ZONE = 'BENCHMK';
const PRICE_ZONE = 'BENCH';
const BASE = Date.UTC(2026, 10, 2);
const MARKET_NOW = BASE + 6 * 3_600_000;
const FIRST_DELIVERY = BASE + 8 * 3_600_000;
const BOOKS = 48;
const TRADERS = 20;

export async function fillMixed(options: MixedFillOptions): Promise<MixedFillResult> {
  const { store } = options;
  const seed = options.seed ?? 0x5eed;
  const random = prng(seed ^ 0x51735);
  const siteTotal = SITES * (1 + 1 + 2 * CHARGERS + options.loadsPerSite);
  const total = Math.round(options.readings * 1.017 + options.sessions * 2) + siteTotal + Math.round(options.orders * 1.4);
  let events = 0;
  let lastPosition = 0n;
  const progress = (n: number) => {
    events += n;
    options.onProgress?.(events, total);
  };

  // Sites first: the sessions of the billing fill plug into them.
  let siteEvents = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 4, SITES) }, async (_, lane) => {
      for (let s = lane; s < SITES; s += options.concurrency ?? 4) {
        const siteId = `bench-site-${s}`;
        let state: SiteState = siteDecider.initialState();
        const decided: NewEvent[] = [];
        const decide = (command: SiteCommand) => {
          const out = siteDecider.decide(command, state);
          state = out.reduce(siteDecider.evolve, state);
          decided.push(...out);
        };
        const at = formatInstant(BASE - 86_400_000);
        decide({ type: 'RegisterSite', siteId, name: `Bench site ${s}`, importLimitW: '400000', exportLimitW: '100000' });
        decide({
          type: 'AddNode',
          siteId,
          at,
          nodeId: `${siteId}-f1`,
          parentId: siteId,
          kind: 'feeder',
          name: 'Feeder 1',
          importLimitW: '300000',
          exportLimitW: '100000',
          charger: null,
        });
        for (let c = 0; c < CHARGERS; c++) {
          const bidirectional = c % 5 === 0;
          decide({
            type: 'AddNode',
            siteId,
            at,
            nodeId: `C${c}`,
            parentId: `${siteId}-f1`,
            kind: 'charger',
            name: `Charger ${c}`,
            importLimitW: '22000',
            exportLimitW: bidirectional ? '11000' : '0',
            charger: {
              minPowerW: '1400',
              maxPowerW: '22000',
              bidirectional,
              minDischargePowerW: bidirectional ? '1400' : null,
              maxDischargePowerW: bidirectional ? '11000' : null,
            },
          });
          decide({
            type: 'AddNode',
            siteId,
            at,
            nodeId: `C${c}-1`,
            parentId: `C${c}`,
            kind: 'connector',
            name: `Connector ${c}`,
            importLimitW: '22000',
            exportLimitW: bidirectional ? '11000' : '0',
            charger: null,
          });
        }
        for (let l = 0; l < options.loadsPerSite; l++) {
          const occurred = formatInstant(BASE + l * 60_000);
          decide({
            type: 'RecordNodeLoad',
            siteId,
            at: occurred,
            nodeId: `${siteId}-f1`,
            occurredAt: occurred,
            otherLoadW: String(20_000 + Math.floor(random() * 60_000)),
            generationW: String(Math.floor(random() * 15_000)),
          });
        }
        for (let i = 0; i < decided.length; i += 100) {
          const chunk = decided.slice(i, i + 100);
          const result = await store.append(siteStreamId(siteId), chunk, { expectedVersion: 'any', commandId: randomUUID(), actor: 'bench-fill' });
          if (result.lastPosition !== null && result.lastPosition > lastPosition) lastPosition = result.lastPosition;
          siteEvents += chunk.length;
          progress(chunk.length);
        }
      }
    }),
  );

  const billing = await fillBilling({
    store,
    readings: options.readings,
    sessions: options.sessions,
    chunk: options.chunk ?? 25,
    concurrency: options.concurrency ?? 4,
    seed,
    onProgress: (appended) => options.onProgress?.(events + appended, total),
  });
  events += billing.events;
  if (billing.lastPosition > lastPosition) lastPosition = billing.lastPosition;

  // The market, on its own clock: the morning of the fill's first day.
  const commands = new CommandHandler(store);
  const market = new MarketService(store, commands, { clock: () => MARKET_NOW });
  const ctx = () => ({ commandId: randomUUID(), actor: 'bench-fill' });
  let marketEvents = 0;
  const count = (result: { result: { lastPosition: bigint | null } }, n: number) => {
    if (result.result.lastPosition !== null && result.result.lastPosition > lastPosition) lastPosition = result.result.lastPosition;
    marketEvents += n;
    progress(n);
  };
  count(await market.configureZone({ zone: MARKET_ZONE, currency: 'EUR', imbalancePriceZone: PRICE_ZONE, products: [BENCH_PRODUCT] }, ctx()), 1);
  const traders = Array.from({ length: TRADERS }, (_, t) => `bench-trader-${t}`);
  for (const participantId of traders) count(await market.registerParticipant({ zone: MARKET_ZONE, participantId, name: participantId }, ctx()), 1);
  const books = Array.from({ length: BOOKS }, (_, b) => ({ zone: MARKET_ZONE, deliveryStart: formatInstant(FIRST_DELIVERY + b * 900_000), lengthMinutes: 15 }));
  let n = 0;
  const batches = Math.ceil(options.orders / 100);
  let issued = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, Math.max(1, batches)) }, async () => {
      for (;;) {
        const i = issued++;
        if (i >= batches) return;
        const size = Math.min(100, options.orders - i * 100);
        const orders: OrderInput[] = Array.from({ length: size }, () => {
          const buy = random() < 0.5;
          const ticks = Math.floor(random() * 50);
          return {
            clientOrderId: `o${++n}`,
            traderId: traders[Math.floor(random() * TRADERS)]!,
            side: buy ? 'buy' : 'sell',
            orderType: random() < 0.9 ? 'limit' : 'ioc',
            quantityKWh: String((1 + Math.floor(random() * 100)) / 10),
            limitPriceMinorPerMWh: String(buy ? 7_960 + ticks : 7_990 + ticks),
          };
        });
        const result = await market.submitOrders({ ...books[i % BOOKS]!, orders }, ctx());
        const appended = result.result.firstPosition === null ? 0 : Number(result.result.lastPosition! - result.result.firstPosition) + 1;
        if (result.result.lastPosition !== null && result.result.lastPosition > lastPosition) lastPosition = result.result.lastPosition;
        marketEvents += appended;
        progress(appended);
      }
    }),
  );
  return {
    events,
    billing,
    siteEvents,
    marketEvents,
    market: { zone: MARKET_ZONE, priceZone: PRICE_ZONE, firstDelivery: formatInstant(FIRST_DELIVERY), traders },
    lastPosition,
  };
}
