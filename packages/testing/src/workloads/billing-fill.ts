/**
 * Fills an event store with what the billing projection reads: tariffs, tariff assignments, spot
 * prices (published, then some revised), and charging sessions with their meter readings: mostly in
 * order, some late (out of order), some sent twice, some corrected, a few meters reset, every
 * session stopped. Sessions overlap in time; their events reach the log in chunks of `chunk`
 * events per append (a charger uploading queued meter values), round-robin over groups of sessions.
 *
 * Deterministic (seeded). It also returns the energy the readings add up to (sum over sessions and
 * meter segments of last - first), so a rebuild can be checked against it.
 */
import {
  accountDecider,
  accountStreamId,
  fromMilli,
  pricesDecider,
  pricesStreamId,
  sessionStreamId,
  tariffDecider,
  tariffStreamId,
  type PricePoint,
  type PricesState,
  type TariffDefinition,
} from '@v2g/domain';
import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent } from '@v2g/event-store';
import { prng } from './prng.ts';

export type BillingFillOptions = {
  store: EventStore;
  /** Meter readings in order, all sessions together (late, doubled and corrected ones come on top). */
  readings: number;
  sessions: number;
  /** Events per append of a session's stream. */
  chunk: number;
  /** Appends in flight at once (different sessions). */
  concurrency?: number;
  seed?: number;
  /** Called now and then with the events appended so far and the total to append. */
  onProgress?: (appended: number, total: number) => void;
};

export type BillingFillResult = {
  events: number;
  meterEvents: number;
  sessions: number;
  late: number;
  duplicates: number;
  corrections: number;
  resets: number;
  /** Energy the readings count, Wh: the sum of each segment's last minus first register. */
  importWh: string;
  exportWh: string;
  lastPosition: bigint;
};

const MINUTE = 60_000;
const BASE = Date.UTC(2026, 10, 2);
const SPREAD_MS = 3 * 24 * 60 * MINUTE;
const ZONE = 'BENCH';
const GROUP = 500;
const FLEETS = 50;
const CUSTOMERS = 2000;

const iso = (ms: number) => new Date(ms).toISOString();

export const BENCH_TARIFFS: TariffDefinition[] = [
  {
    tariffId: 'bench-fixed',
    name: 'Fixed',
    currency: 'EUR',
    energy: { kind: 'fixed', priceMinorPerKWh: '29.5' },
    speedBands: [
      { name: 'slow', fromPowerW: '0', surchargeMinorPerKWh: '0' },
      { name: 'fast', fromPowerW: '11000', surchargeMinorPerKWh: '5' },
    ],
    sessionFeeMinor: '35',
    exportCredit: null,
  },
  {
    tariffId: 'bench-tou',
    name: 'Time of use',
    currency: 'EUR',
    energy: {
      kind: 'time_of_use',
      timeZone: 'Europe/Amsterdam',
      defaultName: 'off-peak',
      defaultMinorPerKWh: '21',
      windows: [{ name: 'peak', daysOfWeek: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', priceMinorPerKWh: '38' }],
    },
    speedBands: [],
    sessionFeeMinor: null,
    exportCredit: { kind: 'fixed', creditMinorPerKWh: '12' },
  },
  {
    tariffId: 'bench-dynamic',
    name: 'Dynamic',
    currency: 'EUR',
    energy: { kind: 'dynamic', zone: ZONE, marginMinorPerKWh: '2.5', floorMinorPerKWh: '0', capMinorPerKWh: '60' },
    speedBands: [],
    sessionFeeMinor: null,
    exportCredit: { kind: 'spot', zone: ZONE, marginMinorPerKWh: '-1', floorMinorPerKWh: null },
  },
];

/** Who pays for session i: every other session belongs to a fleet. */
const accountOf = (i: number) => (i % 2 === 0 ? `bench-fleet-${i % FLEETS}` : `bench-cust-${i % CUSTOMERS}`);

type SessionPlan = { events: NewEvent[]; late: number; duplicates: number; corrections: number; resets: number; importMilli: bigint; exportMilli: bigint };

/** One session's events, in the order the log gets them. */
function sessionPlan(i: number, readings: number, sessions: number, seed: number): SessionPlan {
  const random = prng(seed * 7919 + i);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const sessionId = `bench-${i}`;
  const pluggedInAt = BASE + Math.floor((i * SPREAD_MS) / sessions) + int(0, 59_999);
  const v2g = i % 10 === 3;
  const fleetId = i % 2 === 0 ? `bench-fleet-${i % FLEETS}` : null;
  const startImport = BigInt(int(0, 1_000_000_000));
  const startExport = v2g ? BigInt(int(0, 100_000_000)) : 0n;
  const plugIn: NewEvent = {
    type: 'SessionPluggedIn',
    data: {
      sessionId,
      siteId: `bench-site-${i % 100}`,
      connectorId: `C${i % 20}-1`,
      vehicleId: `bench-vehicle-${i}`,
      customerId: `bench-cust-${i % CUSTOMERS}`,
      fleetId,
      tier: 'normal',
      departureAt: iso(pluggedInAt + (readings + 60) * MINUTE),
      energyNeededWh: '40000',
      targetSocPercent: null,
      batteryCapacityWh: v2g ? '60000' : null,
      socPercent: v2g ? '50' : null,
      minPowerW: '1400',
      maxPowerW: '11000',
      v2g: v2g ? { minSocPercent: '30', maxDischargePowerW: '7400' } : null,
      pluggedInAt: iso(pluggedInAt),
      meterStartImportWh: fromMilli(startImport),
      meterStartExportWh: fromMilli(startExport),
    },
    occurredAt: iso(pluggedInAt),
  };

  // The readings as they happened: one a minute (plus up to a second), ~11 kW, V2G ones discharging at times.
  type Reading = { at: number; importMilli: bigint; exportMilli: bigint };
  const resetBefore = random() < 0.01 ? Math.floor(readings / 2) : -1;
  const taken: Reading[] = [];
  let importMilli = startImport;
  let exportMilli = startExport;
  let resetEvent: NewEvent | null = null;
  for (let k = 1; k <= readings; k++) {
    const at = pluggedInAt + k * MINUTE + int(0, 999);
    if (k - 1 === resetBefore) {
      const resetAt = at - 1000 - int(0, 5000);
      importMilli = 0n;
      exportMilli = 0n;
      resetEvent = {
        type: 'SessionMeterReset',
        data: { sessionId, occurredAt: iso(resetAt), energyImportWh: '0', energyExportWh: '0', reason: 'meter replaced' },
        occurredAt: iso(resetAt),
      };
    }
    if (v2g && random() < 0.3) exportMilli += BigInt(int(0, 120_000));
    else importMilli += BigInt(int(0, 190_000));
    taken.push({ at, importMilli, exportMilli });
  }

  const recorded = (r: Reading, importOverride?: bigint): NewEvent => ({
    type: 'SessionMeterReadingRecorded',
    data: {
      sessionId,
      occurredAt: iso(r.at),
      energyImportWh: fromMilli(importOverride ?? r.importMilli),
      energyExportWh: fromMilli(r.exportMilli),
      powerW: fromMilli(BigInt(int(0, 11_000_000))),
      socPercent: null,
    },
    occurredAt: iso(r.at),
  });

  // The log: in order, then disturbed. Entries refer to readings by index so duplicates and
  // corrections can be placed after them.
  type Entry = { kind: 'reading'; k: number } | { kind: 'reset' } | { kind: 'correction'; k: number; importMilli: bigint };
  const log: Entry[] = [];
  taken.forEach((_, k) => {
    if (k === resetBefore) log.push({ kind: 'reset' });
    log.push({ kind: 'reading', k });
  });
  let late = 0;
  for (let j = 2; j < log.length; j++) {
    const entry = log[j]!;
    const previous = log[j - 1]!;
    if (entry.kind !== 'reading' || previous.kind !== 'reading' || random() >= 0.01) continue;
    log[j - 1] = entry; // a reading overtaken by the next one
    log[j] = previous;
    late += 1;
    j += 1;
  }
  for (let j = 1; j < log.length - 1; j++) {
    if (log[j]!.kind === 'reading' && random() < 0.002) {
      log.push(log.splice(j, 1)[0]!); // very late: after all the others
      late += 1;
    }
  }
  let duplicates = 0;
  for (let j = log.length - 1; j >= 0; j--) {
    const entry = log[j]!;
    if (entry.kind === 'reading' && random() < 0.005) {
      log.splice(Math.min(log.length, j + 1 + int(0, 5)), 0, { kind: 'reading', k: entry.k });
      duplicates += 1;
    }
  }
  let corrections = 0;
  const final = taken.map((r) => r.importMilli);
  for (let k = 1; k < taken.length - 1; k++) {
    if (random() >= 0.002 || k === resetBefore || k - 1 === resetBefore) continue;
    // Halfway between the reading before and this one: still in order.
    const corrected = (taken[k - 1]!.importMilli + taken[k]!.importMilli) / 2n;
    if (corrected === taken[k]!.importMilli) continue;
    let lastCopy = -1;
    log.forEach((entry, j) => {
      if (entry.kind === 'reading' && entry.k === k) lastCopy = j;
    });
    log.splice(Math.min(log.length, lastCopy + 1 + int(0, 10)), 0, { kind: 'correction', k, importMilli: corrected });
    final[k] = corrected;
    corrections += 1;
  }

  const events: NewEvent[] = [plugIn];
  for (const entry of log) {
    if (entry.kind === 'reset') events.push(resetEvent!);
    else if (entry.kind === 'reading') events.push(recorded(taken[entry.k]!));
    else {
      const base = recorded(taken[entry.k]!, entry.importMilli);
      events.push({ ...base, type: 'SessionMeterReadingCorrected', data: { ...(base.data as object), reason: 'register misread' } });
    }
  }
  const stopAt = pluggedInAt + (readings + 1) * MINUTE;
  events.push({ type: 'SessionStopped', data: { sessionId, at: iso(stopAt), reason: 'EVDisconnected' }, occurredAt: iso(stopAt) });

  // Energy counted: per segment, its last reading (as corrected) minus where it starts.
  const segments =
    resetBefore < 0
      ? [{ from: 0, to: taken.length, importMilli: startImport, exportMilli: startExport }]
      : [
          { from: 0, to: resetBefore, importMilli: startImport, exportMilli: startExport },
          { from: resetBefore, to: taken.length, importMilli: 0n, exportMilli: 0n },
        ];
  let countedImport = 0n;
  let countedExport = 0n;
  for (const segment of segments) {
    if (segment.to <= segment.from) continue;
    countedImport += final[segment.to - 1]! - segment.importMilli;
    countedExport += taken[segment.to - 1]!.exportMilli - segment.exportMilli;
  }
  return { events, late, duplicates, corrections, resets: resetEvent ? 1 : 0, importMilli: countedImport, exportMilli: countedExport };
}

/** Tariffs, an assignment per account, and four days of spot prices (with a revision each day). */
function catalogue(seed: number, sessions: number): { streamId: string; events: NewEvent[] }[] {
  const random = prng(seed);
  const appends: { streamId: string; events: NewEvent[] }[] = [];
  const at = iso(BASE - 7 * 24 * 60 * MINUTE);
  for (const tariff of BENCH_TARIFFS) {
    appends.push({ streamId: tariffStreamId(tariff.tariffId), events: tariffDecider.decide({ type: 'DefineTariff', at, tariff }, tariffDecider.initialState()) });
  }
  const accounts = new Set<string>();
  for (let i = 0; i < sessions; i++) accounts.add(accountOf(i));
  let n = 0;
  for (const accountId of accounts) {
    const tariffId = BENCH_TARIFFS[n++ % BENCH_TARIFFS.length]!.tariffId;
    appends.push({
      streamId: accountStreamId(accountId),
      events: accountDecider.decide({ type: 'AssignTariff', accountId, at, tariffId, validFrom: iso(BASE - 30 * 24 * 60 * MINUTE), validTo: null }, accountDecider.initialState()),
    });
  }
  let prices: PricesState = pricesDecider.initialState();
  for (let day = 0; day < 4; day++) {
    const dayStart = BASE + day * 24 * 60 * MINUTE;
    const points = (revise: boolean): PricePoint[] =>
      Array.from({ length: 96 }, (_, q) => ({
        start: iso(dayStart + q * 15 * MINUTE),
        end: iso(dayStart + (q + 1) * 15 * MINUTE),
        priceMinorPerKWh: (5 + (q % 24) + (revise && q % 7 === 0 ? 1.25 : 0) + Math.floor(random() * 100) / 100).toFixed(2),
        carbonGPerKWh: String(200 + q),
      }));
    for (const revise of [false, true]) {
      const events = pricesDecider.decide(
        { type: 'PublishPrices', zone: ZONE, at: iso(dayStart - (revise ? 1 : 2) * 60 * MINUTE), currency: 'EUR', source: 'bench', points: points(revise) },
        prices,
      );
      prices = events.reduce(pricesDecider.evolve, prices);
      if (events.length > 0) appends.push({ streamId: pricesStreamId(ZONE), events });
    }
  }
  return appends;
}

export async function fillBilling(options: BillingFillOptions): Promise<BillingFillResult> {
  const { store, sessions, chunk } = options;
  const seed = options.seed ?? 0x5eed;
  const perSession = Math.max(1, Math.round(options.readings / sessions));
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, GROUP, sessions));
  const result: BillingFillResult = {
    events: 0,
    meterEvents: 0,
    sessions,
    late: 0,
    duplicates: 0,
    corrections: 0,
    resets: 0,
    importWh: '0',
    exportWh: '0',
    lastPosition: 0n,
  };
  // Roughly what will be appended, for the progress line (late/duplicate/correction add ~1.7%).
  const expected = Math.round(sessions * (perSession * 1.017 + 2));
  let importMilli = 0n;
  let exportMilli = 0n;
  let reported = 0;
  const append = async (streamId: string, events: NewEvent[]) => {
    const appended = await store.append(streamId, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'bench-fill' });
    if (appended.lastPosition !== null && appended.lastPosition > result.lastPosition) result.lastPosition = appended.lastPosition;
    result.events += events.length;
    if (options.onProgress && result.events - reported >= expected / 50) {
      reported = result.events;
      options.onProgress(result.events, expected);
    }
  };

  for (const { streamId, events } of catalogue(seed, sessions)) await append(streamId, events);

  for (let group = 0; group < sessions; group += GROUP) {
    const plans: { streamId: string; events: NewEvent[] }[] = [];
    for (let i = group; i < Math.min(sessions, group + GROUP); i++) {
      const plan = sessionPlan(i, perSession, sessions, seed);
      plans.push({ streamId: sessionStreamId(`bench-${i}`), events: plan.events });
      result.meterEvents += plan.events.filter((e) => e.type.startsWith('SessionMeter')).length;
      result.late += plan.late;
      result.duplicates += plan.duplicates;
      result.corrections += plan.corrections;
      result.resets += plan.resets;
      importMilli += plan.importMilli;
      exportMilli += plan.exportMilli;
    }
    // Round-robin: chunk c of every session of the group, then chunk c + 1. A session's chunks never
    // overlap in flight: the group is larger than the number of appends in flight.
    const tasks: { streamId: string; events: NewEvent[] }[] = [];
    const laneOf = new Map(plans.map((plan, n) => [plan.streamId, n % concurrency]));
    const rounds = Math.max(...plans.map((p) => Math.ceil(p.events.length / chunk)));
    for (let c = 0; c < rounds; c++) {
      for (const plan of plans) {
        const events = plan.events.slice(c * chunk, (c + 1) * chunk);
        if (events.length > 0) tasks.push({ streamId: plan.streamId, events });
      }
    }
    // Each lane appends the chunks of its own sessions, in order: a stream's appends never overlap.
    const lanes = Array.from({ length: concurrency }, (_, lane) => tasks.filter((task) => laneOf.get(task.streamId) === lane));
    await Promise.all(
      lanes.map(async (laneTasks) => {
        for (const task of laneTasks) await append(task.streamId, task.events);
      }),
    );
  }
  result.importWh = fromMilli(importMilli);
  result.exportWh = fromMilli(exportMilli);
  return result;
}
