import { formatInstant, monthRange, type Invoice, type SettlementStatement, checkZone } from '@v2g/domain';
import type { EventStore, SqlClient } from '@v2g/event-store';
import {
  billingReadModel,
  checkPeriodStart,
  normaliseAsOf,
  replayProjection,
  type BillingReadModel,
  type BillingService,
  type ProjectionStatus,
  type Replay,
  type ReplayOptions,
  type SettlementReadModel,
  type SettlementService,
} from '@v2g/ledger';
import { billingProjection } from '@v2g/projection-billing';
import { settlementProjection } from '@v2g/projection-settlement';
import { DEFAULT_AS_OF_PER_PRINCIPAL } from './as-of-limits.ts';
import { InvalidArgument, TooManyRequests } from './graphql/errors.ts';

/**
 * Answers "as known at" questions: an invoice as it was known at a moment (the readings, prices,
 * tariffs and assignments recorded by then), and the settlement statement in force then.
 *
 * Both are index lookups in the live read models, which keep what these questions need: billing's
 * history tables (every fact with its event's position and recordedAt, see
 * projections/billing/src/as-of-queries.ts) and settlement's statements with their recorded_at.
 * A question waits until the read model has applied the log up to its head as it was when the
 * question came (everything recorded by a moment not in the future is below it), so the answer is
 * the one a replay of the log as of that moment gives. The replay itself
 * (packages/read-model/src/replay.ts, `invoiceByReplay` below) stays the reference: tests and the
 * benchmark compare with it, and it answers when the billing read model cannot catch up (failed,
 * stopped, rebuilding past the wait), one replay at a time.
 *
 * What one caller may have in progress is bounded (`perPrincipal`: ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL,
 * default 4): one more is refused at once with TOO_MANY_REQUESTS and a retry hint, never queued.
 */

/**
 * The reference: the invoice as known at `asOf` from a replay of the whole log into a throw-away
 * schema (dropped after use). Its cost grows with the log; tests and `pnpm bench asof` compare the
 * indexed answer with it.
 */
export async function invoiceByReplay(
  deps: Pick<AsOfDeps, 'store' | 'sql' | 'replay'>,
  accountId: string,
  month: string,
  asOf: string,
  pricesKnownAt?: string | null,
): Promise<Invoice> {
  monthRange(month);
  const instant = normaliseAsOf({ instant: asOf }).instant!;
  const replay = await (deps.replay ?? replayProjection)({ store: deps.store, sql: deps.sql, projection: billingProjection, asOf: { instant } });
  try {
    return await billingReadModel(deps.sql, replay.tables).invoice(accountId, month, pricesKnownAt);
  } finally {
    await replay.drop();
  }
}

export type AsOfDeps = {
  store: EventStore;
  sql: SqlClient;
  billing: { service: Pick<BillingService, 'checkAccountBilled'>; readModel: Pick<BillingReadModel, 'invoiceAsOf'> };
  settlement: { service: Pick<SettlementService, 'statementInForce'>; readModel: Pick<SettlementReadModel, 'statementInForceAt'> };
  projections: { status(): Promise<ProjectionStatus[]> };
  /** The ledger's clock: an as-of instant after its now is refused. */
  clock: () => number;
  replay?: (options: ReplayOptions) => Promise<Replay>;
  /** The configured bound (ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL), used when no limits are passed. */
  asOfMaxInFlightPerPrincipal?: number;
};

export type AsOfLimits = {
  /** As-of requests one principal may have in progress at once (default: the deps' asOfMaxInFlightPerPrincipal, else 4). */
  perPrincipal?: number;
  /** How long a question waits for the read model to reach the log's head before the fallback (default 10 s). */
  catchUpMs?: number;
};

export type StatementInForce = { statement: SettlementStatement; position: bigint; recordedAt: string };

export class AsOfInvoices {
  private readonly inProgress = new Map<string, number>();
  private replayQueue: Promise<unknown> = Promise.resolve();
  /** Recent answer time (ms, moving average): the retry hint of a refusal. */
  private typicalMs = 100;
  readonly perPrincipal: number;
  private readonly catchUpMs: number;
  /** Answers that fell back to a replay of the log (the read model could not catch up). */
  replays = 0;

  constructor(
    private readonly deps: AsOfDeps,
    limits: AsOfLimits = {},
  ) {
    this.perPrincipal = Math.max(1, limits.perPrincipal ?? deps.asOfMaxInFlightPerPrincipal ?? DEFAULT_AS_OF_PER_PRINCIPAL);
    this.catchUpMs = limits.catchUpMs ?? 10_000;
  }

  /**
   * The invoice field's as-of question: the month's form first, then an instant not in the
   * future, then an account the billing read model knows (ACCOUNT_NOT_FOUND, not a zero invoice).
   */
  async checkedInvoice(principalId: string, accountId: string, month: string, asOf: string, pricesKnownAt?: string | null): Promise<Invoice> {
    monthRange(month);
    if (normaliseAsOf({ instant: asOf }).instantMs! > this.deps.clock()) throw new InvalidArgument('asOf', `${asOf} is in the future: nothing is known at it yet`);
    await this.deps.billing.service.checkAccountBilled(accountId);
    return this.invoice(principalId, accountId, month, asOf, pricesKnownAt);
  }

  /** The invoice of `accountId` for `month` as known at `asOf` (canonical UTC, not in the future), asked by `principalId`. */
  invoice(principalId: string, accountId: string, month: string, asOf: string, pricesKnownAt?: string | null): Promise<Invoice> {
    monthRange(month);
    const instant = normaliseAsOf({ instant: asOf }).instant;
    return this.bounded(principalId, async () => {
      if (await this.readModelAtHead(billingProjection.name)) return this.deps.billing.readModel.invoiceAsOf(accountId, month, instant!, pricesKnownAt);
      return this.serialReplay(() => invoiceByReplay(this.deps, accountId, month, instant!, pricesKnownAt));
    });
  }

  /** The settlement statement of a period in force at `asOf` (or that revision, if recorded by then), asked by `principalId`. */
  statement(principalId: string, zone: string, periodStart: string, asOf: string, revision?: number | null): Promise<StatementInForce | null> {
    checkZone('zone', zone);
    const start = formatInstant(checkPeriodStart(periodStart));
    const instant = normaliseAsOf({ instant: asOf }).instant!;
    return this.bounded(principalId, async () => {
      if (await this.readModelAtHead(settlementProjection.name)) return this.deps.settlement.readModel.statementInForceAt(zone, start, instant, revision);
      return this.deps.settlement.service.statementInForce(zone, periodStart, instant, revision);
    });
  }

  /** Requests `principalId` has in progress now. */
  inProgressFor(principalId: string): number {
    return this.inProgress.get(principalId) ?? 0;
  }

  private async bounded<T>(principalId: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inProgress.get(principalId) ?? 0;
    if (running >= this.perPrincipal) throw new TooManyRequests('as-of', this.perPrincipal, Math.max(50, Math.ceil(this.typicalMs)));
    this.inProgress.set(principalId, running + 1);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.typicalMs = 0.8 * this.typicalMs + 0.2 * (performance.now() - started);
      const left = (this.inProgress.get(principalId) ?? 1) - 1;
      if (left <= 0) this.inProgress.delete(principalId);
      else this.inProgress.set(principalId, left);
    }
  }

  /**
   * Waits until the projection has applied the log up to its readable head as of now; false when
   * it is failed or stopped, or does not get there within the wait.
   */
  private async readModelAtHead(name: string): Promise<boolean> {
    const head = await this.deps.store.headPosition();
    const deadline = Date.now() + this.catchUpMs;
    for (let delayMs = 2; ; delayMs = Math.min(50, delayMs * 2)) {
      const status = (await this.deps.projections.status()).find((p) => p.name === name);
      if (!status) return false;
      if (status.checkpoint >= head) return true;
      if (status.state === 'failed' || status.state === 'stopped' || Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  private serialReplay<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.replayQueue.then(fn, fn);
    this.replayQueue = run.catch(() => undefined);
    this.replays++;
    return run;
  }
}

const perStore = new WeakMap<EventStore, AsOfInvoices>();

/** The process's as-of answers for a ledger (one per event store). */
export function asOfInvoices(ledger: AsOfDeps, limits?: AsOfLimits): AsOfInvoices {
  let invoices = perStore.get(ledger.store);
  if (!invoices) {
    invoices = new AsOfInvoices(ledger, limits);
    perStore.set(ledger.store, invoices);
  }
  return invoices;
}
