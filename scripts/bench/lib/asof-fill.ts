/**
 * The as-of bench's log (and the differential test's): the billing fill (sessions with late,
 * doubled and corrected readings, meter resets, stops; tariffs, assignments, spot prices and their
 * revisions; packages/testing/src/workloads/billing-fill.ts), with history woven in while it runs: tariff
 * switches (a later assignment ending an open one, some dated before it), re-definitions of a
 * tariff, and settlement statements of a zone's periods, closed and settled again (revisions 1, 2,
 * 3, …). So an "as known at" moment anywhere in the log sees part of each kind of history.
 *
 * Deterministic in content (seeded); where the woven events land among the fill's depends on
 * timing.
 */
import { accountStreamId, settlementStreamId, tariffStreamId, type SettlementStatement, type TariffDefinition } from '@v2g/domain';
import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent } from '@v2g/event-store';
import { BENCH_TARIFFS, fillBilling, type BillingFillResult } from '@v2g/testing/workloads';

export const ASOF_ZONE = 'BENCHZ';
const MINUTE = 60_000;
const BASE = Date.UTC(2026, 10, 2);
const FLEETS = 50;
const CUSTOMERS = 2000;

export type AsOfFillOptions = {
  store: EventStore;
  /** Events to append, about (the billing fill's readings make up most of them). */
  events: number;
  sessions: number;
  chunk: number;
  concurrency?: number;
  seed?: number;
  onProgress?: (appended: number, total: number) => void;
};

export type AsOfFillResult = BillingFillResult & {
  /** Accounts billed: fleets (many sessions each) and drivers (one or two). */
  fleets: string[];
  customers: string[];
  /** Settlement periods closed (zone ASOF_ZONE), with their revisions. */
  periods: { periodStart: string; revisions: number }[];
  woven: number;
};

const iso = (ms: number) => new Date(ms).toISOString();

function statement(periodStart: string, revision: number, seed: number): SettlementStatement {
  const startMs = Date.parse(periodStart);
  return {
    zone: ASOF_ZONE,
    periodStart,
    periodEnd: iso(startMs + 15 * MINUTE),
    currency: 'EUR',
    revision,
    knownAt: iso(startMs + (revision + 1) * 60 * MINUTE),
    inputsThrough: String(seed),
    inputsHash: (((seed * 2654435761) >>> 0).toString(16).padStart(8, '0') + revision.toString(16).padStart(8, '0')).repeat(4),
    inputCount: revision,
    lines: [],
    transfers: [],
  } as SettlementStatement;
}

export async function fillAsOf(options: AsOfFillOptions): Promise<AsOfFillResult> {
  const { store } = options;
  const seed = options.seed ?? 0x5eed;
  const sessions = options.sessions;
  // The billing fill appends ~1.7% more meter events than readings (late, doubled, corrected) and
  // a plug-in and a stop per session; what is woven in is ~400 events.
  const readings = Math.max(sessions, Math.round((options.events - 2 * sessions - 400) / 1.017));
  const fleets = Array.from({ length: Math.min(FLEETS, Math.ceil(sessions / 2)) }, (_, i) => `bench-fleet-${(i * 2) % FLEETS}`).filter((v, i, a) => a.indexOf(v) === i);
  const customers = Array.from({ length: Math.min(CUSTOMERS, Math.floor(sessions / 2)) }, (_, i) => `bench-cust-${(2 * i + 1) % CUSTOMERS}`).filter(
    (v, i, a) => a.indexOf(v) === i,
  );
  const accounts = [...fleets, ...customers];
  const revisions = new Map<string, number>();
  let woven = 0;
  let step = 0;
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown = null;

  const append = async (streamId: string, events: NewEvent[]) => {
    await store.append(streamId, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'bench-asof-fill' });
    woven += events.length;
  };
  /** One step of history: a tariff switch, now and then a re-definition, and a few statements. */
  const weave = async (k: number) => {
    const accountId = accounts[(k * 7) % accounts.length]!;
    const tariff = BENCH_TARIFFS[(k + 1) % BENCH_TARIFFS.length]!;
    // Some switches start inside the sessions' days (ending the open period there), some before the first assignment.
    const validFrom = iso(k % 4 === 3 ? BASE - 40 * 24 * 60 * MINUTE : BASE + (k % 4) * 24 * 60 * MINUTE + (k % 96) * 15 * MINUTE);
    const validTo = k % 5 === 4 ? iso(BASE + 2 * 24 * 60 * MINUTE) : null;
    await append(accountStreamId(accountId), [{ type: 'TariffAssigned', data: { accountId, tariffId: tariff.tariffId, validFrom, validTo } }]);
    if (k % 3 === 1) {
      const base = BENCH_TARIFFS[k % BENCH_TARIFFS.length]!;
      const redefined: TariffDefinition =
        base.energy.kind === 'fixed' ? { ...base, energy: { kind: 'fixed', priceMinorPerKWh: `${30 + (k % 9)}.5` } } : { ...base, sessionFeeMinor: String(10 + (k % 13)) };
      await append(tariffStreamId(base.tariffId), [{ type: 'TariffDefined', data: redefined }]);
    }
    for (let j = 0; j < 6; j++) {
      // Mostly new periods; every third one settles an earlier period again.
      const index = j % 3 === 2 ? (k * 5 + j) % Math.max(1, revisions.size) : revisions.size;
      const periodStart = iso(BASE + index * 15 * MINUTE);
      const revision = (revisions.get(periodStart) ?? 0) + 1;
      revisions.set(periodStart, revision);
      await append(settlementStreamId(ASOF_ZONE, periodStart), [{ type: 'SettlementPeriodClosed', data: statement(periodStart, revision, seed + k * 31 + j) }]);
    }
  };

  const fill = await fillBilling({
    store,
    readings,
    sessions,
    chunk: options.chunk,
    concurrency: options.concurrency ?? 4,
    seed,
    onProgress: (appended, total) => {
      const k = step++;
      chain = chain
        .then(() => weave(k))
        .catch((error: unknown) => {
          failure ??= error;
        });
      // ~51 steps of ~8 events woven in.
      options.onProgress?.(appended + woven, total + 51 * 8);
    },
  });
  // And once more after the last reading: history after every session.
  const k = step++;
  chain = chain
    .then(() => weave(k))
    .catch((error: unknown) => {
      failure ??= error;
    });
  await chain;
  if (failure !== null) throw failure;
  return {
    ...fill,
    events: fill.events + woven,
    fleets,
    customers,
    periods: [...revisions].map(([periodStart, n]) => ({ periodStart, revisions: n })),
    woven,
  };
}
