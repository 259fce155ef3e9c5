import { buildInvoice, formatInstant, monthRange, type Invoice } from '@v2g/domain';
import type { EventStore, SqlClient, SqlExecutor } from '@v2g/event-store';
import { knownAsOf, normaliseAsOf, replayProjection, type Replay, type ReplayOptions, type TableNames } from '@v2g/ledger';
import { billingInput, billingProjection } from '@v2g/projection-billing';

/**
 * Answers "as known at" questions that the live read models cannot answer, from a replay of the
 * log into a throw-away schema (packages/ledger/src/replay.ts): an invoice as it was known at a
 * moment, with the readings, prices, tariffs and assignments recorded by then.
 */

/** An account's invoice for a UTC month ("2026-11") from a billing read model's tables (live or replayed): the invoice field's code path. */
export async function invoiceFromBilling(
  sql: SqlExecutor | SqlClient,
  tables: TableNames,
  accountId: string,
  month: string,
  pricesKnownAt?: string | null,
): Promise<Invoice> {
  const { startMs, endMs } = monthRange(month);
  const input = await billingInput(sql, tables, accountId, {
    from: formatInstant(startMs),
    to: formatInstant(endMs),
    ...(pricesKnownAt == null ? {} : { pricesKnownAt }),
  });
  return buildInvoice(input, accountId, month);
}

/** What a replay as of an instant applied, and how far the log was read for it. */
type Knowledge = { scannedThrough: bigint; lastApplied: bigint };

const MAX_KNOWLEDGE = 64;
const MAX_INVOICES = 256;

/**
 * Invoices as known at a moment, each from a replay of the billing projection as of that moment
 * (dropped after use). Replays run one at a time per process; the same question asked while it is
 * being answered shares the answer. Answers are kept by (asOf, last event applied): a later ask
 * reads only the log written since the replay, and when none of it was recorded by asOf (the usual
 * case for a moment in the past) the kept answer still holds.
 */
export class AsOfInvoices {
  private readonly knowledge = new Map<string, Knowledge>();
  private readonly invoices = new Map<string, Invoice>();
  private readonly inFlight = new Map<string, Promise<Invoice>>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Replays run so far (tests check that the cache answers). */
  replays = 0;

  constructor(private readonly deps: { store: EventStore; sql: SqlClient; replay?: (options: ReplayOptions) => Promise<Replay> }) {}

  async invoice(accountId: string, month: string, asOf: string, pricesKnownAt?: string | null): Promise<Invoice> {
    monthRange(month);
    const instant = normaliseAsOf({ instant: asOf }).instant!;
    const question = `${accountId}\u0000${month}\u0000${pricesKnownAt ?? ''}`;
    const known = await this.stillValid(instant);
    if (known) {
      const kept = this.invoices.get(`${instant}\u0000${known.lastApplied}\u0000${question}`);
      if (kept) return touch(this.invoices, `${instant}\u0000${known.lastApplied}\u0000${question}`, kept);
    }
    const flightKey = `${instant}\u0000${question}`;
    const running = this.inFlight.get(flightKey);
    if (running) return running;
    const answer = this.serially(async () => {
      const replay = await (this.deps.replay ?? replayProjection)({ store: this.deps.store, sql: this.deps.sql, projection: billingProjection, asOf: { instant } });
      this.replays++;
      try {
        const invoice = await invoiceFromBilling(this.deps.sql, replay.tables, accountId, month, pricesKnownAt);
        remember(this.knowledge, instant, { scannedThrough: replay.through, lastApplied: replay.lastApplied }, MAX_KNOWLEDGE);
        remember(this.invoices, `${instant}\u0000${replay.lastApplied}\u0000${question}`, invoice, MAX_INVOICES);
        return invoice;
      } finally {
        await replay.drop();
      }
    });
    this.inFlight.set(flightKey, answer);
    try {
      return await answer;
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  /** What a replay as of `instant` applied, if reading the log written since shows nothing more recorded by then. */
  private async stillValid(instant: string): Promise<Knowledge | null> {
    const known = this.knowledge.get(instant);
    if (!known) return null;
    const cut = normaliseAsOf({ instant });
    const head = await this.deps.store.headPosition();
    let after = known.scannedThrough;
    while (after < head) {
      const page = await this.deps.store.readAll({ after, limit: 1000 });
      if (page.length === 0) break;
      if (page.some((event) => event.globalPosition <= head && knownAsOf(event, cut))) {
        this.knowledge.delete(instant);
        return null;
      }
      after = page.at(-1)!.globalPosition;
    }
    known.scannedThrough = head > known.scannedThrough ? head : known.scannedThrough;
    return known;
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
}

function touch<V>(map: Map<string, V>, key: string, value: V): V {
  map.delete(key);
  map.set(key, value);
  return value;
}

const perStore = new WeakMap<EventStore, AsOfInvoices>();

/** The process's as-of invoices for a ledger (one cache per event store). */
export function asOfInvoices(ledger: { store: EventStore; sql: SqlClient }): AsOfInvoices {
  let invoices = perStore.get(ledger.store);
  if (!invoices) {
    invoices = new AsOfInvoices(ledger);
    perStore.set(ledger.store, invoices);
  }
  return invoices;
}
