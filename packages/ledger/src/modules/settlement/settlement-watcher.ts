import { DomainError, formatInstant, marketZoneStreamId, sessionDecider, sessionStreamId, siteDecider, siteStreamId, type SettlementStatement, QUARTER_HOUR_MS } from '@v2g/domain';
import { categoryOf, type EventStore, type RecordedEvent, type SqlClient, sleep } from '@v2g/event-store';
import type { Logger } from 'pino';
import type { CommandHandler } from '../../command-handler.ts';
import { quoteIdent } from '@v2g/read-model';
import { type CloseOutcome, type SettlementService } from './settlement-service.ts';

export type SettlementWatcherOptions = {
  store: EventStore;
  commands: CommandHandler;
  settlement: SettlementService;
  /** Where its checkpoint is kept (`<schema>.process_checkpoints`). */
  sql: SqlClient;
  schema: string;
  /**
   * The closed periods of a zone whose end is after `endsAfter` (all when null), e.g. from the
   * settlement read model: a portfolio change re-settles those.
   */
  closedPeriods: (zone: string, endsAfter: string | null) => Promise<{ periodStart: string }[]>;
  /** The zones closed at least once (e.g. from the settlement read model): a price revision re-settles those priced by its zone. */
  settledZones: () => Promise<string[]>;
  logger: Logger;
  /** Events per read while catching up (default 500). */
  batchSize?: number;
  /** Called after each re-settlement attempt (tests and logs). */
  onResettled?: (outcome: CloseOutcome & { trigger: string }) => void;
};

export const SETTLEMENT_WATCHER = 'settlement-watcher';

/** A period a recorded event may change: (zone, period start). */
export type PeriodRef = { zone: string; periodStart: string };

const SESSION_METER_EVENTS = new Set(['SessionMeterReadingRecorded', 'SessionMeterReadingCorrected', 'SessionMeterReset']);
const PRICE_EVENTS = new Set(['PricesPublished', 'PricesRevised']);

/** The 15-minute periods [fromMs, toMs] reaches into: from the one holding fromMs to the one holding toMs, or ending at it. */
export function periodsBetween(fromMs: number, toMs: number): string[] {
  const first = Math.floor(fromMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  const last = Math.max(first, Math.ceil(toMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS - QUARTER_HOUR_MS);
  const periods: string[] = [];
  for (let at = first; at <= last; at += QUARTER_HOUR_MS) periods.push(formatInstant(at));
  return periods;
}

/**
 * The process manager that settles a period again when something it depends on arrives after it
 * was closed: a session's meter reading, correction or reset (late, or a correction) dated in or
 * next to it, a price revision of the zone's imbalance price zone for it, a trade delivering in it
 * (the ledger's clock keeps the gate before delivery, so only a writer whose clock lagged gets
 * one there), or a change of a participant's portfolio from before its end. It follows the log (catch-up, then live) from its
 * checkpoint, and for each such event calls `closePeriod` for each closed period it touches, under
 * a commandId derived from the event's position: a retry (after a crash before the checkpoint)
 * records nothing new, and a close whose inputs did not change writes nothing.
 *
 * A close in flight reads the log up to its head H and appends at S > H; an event between them was
 * seen here before the period looked closed. So a SettlementPeriodClosed with events between its
 * inputsThrough and its own position makes the watcher look at those events again for that period.
 */
export class SettlementWatcher {
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;
  private readonly table: string;
  /** market zone → its imbalance price zone (from the marketzone streams, refreshed by MarketZoneConfigured). */
  private readonly priceZoneOf = new Map<string, string | null>();

  constructor(private readonly options: SettlementWatcherOptions) {
    this.table = `${quoteIdent(options.schema)}.process_checkpoints`;
  }

  async start(): Promise<void> {
    await this.options.sql.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.options.schema)}`);
    await this.options.sql.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      name text PRIMARY KEY,
      position bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await this.options.sql.query(`INSERT INTO ${this.table} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [SETTLEMENT_WATCHER]);
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  async checkpoint(): Promise<bigint> {
    const { rows } = await this.options.sql.query<{ position: string }>(`SELECT position::text AS position FROM ${this.table} WHERE name = $1`, [SETTLEMENT_WATCHER]);
    return BigInt(rows[0]?.position ?? 0);
  }

  private async saveCheckpoint(position: bigint): Promise<void> {
    await this.options.sql.query(`UPDATE ${this.table} SET position = GREATEST(position, $2::bigint), updated_at = now() WHERE name = $1`, [
      SETTLEMENT_WATCHER,
      position.toString(),
    ]);
  }

  private async run(): Promise<void> {
    const log = this.options.logger;
    for (let attempt = 0; !this.controller.signal.aborted; attempt++) {
      try {
        await this.follow();
        return;
      } catch (error) {
        if (this.controller.signal.aborted) return;
        const delayMs = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
        log.warn({ err: error, retryInMs: delayMs }, 'settlement watcher interrupted; resuming from its checkpoint');
        await sleep(delayMs, this.controller.signal);
      }
    }
  }

  private async follow(): Promise<void> {
    const signal = this.controller.signal;
    let saved = await this.checkpoint();
    let seen = saved;
    let lastSave = Date.now();
    for await (const event of this.options.store.subscribe({ after: saved, signal, batchSize: this.options.batchSize ?? 500 })) {
      const acted = await this.handle(event);
      seen = event.globalPosition;
      // Every event is harmless to see twice: the checkpoint is saved after an action, else now and then.
      if (acted || Date.now() - lastSave > 1000) {
        await this.saveCheckpoint(seen);
        saved = seen;
        lastSave = Date.now();
      }
    }
    if (seen > saved) await this.saveCheckpoint(seen);
  }

  /** Re-settles what the event touches; true when it closed anything again. */
  async handle(event: RecordedEvent): Promise<boolean> {
    if (event.type === 'MarketZoneConfigured') this.priceZoneOf.delete((event.data as { zone: string }).zone);
    if (event.type === 'SettlementPeriodClosed') return this.recheck(event);
    const touched = await this.touches(event);
    let acted = false;
    for (const period of touched) {
      if (!(await this.options.settlement.isClosed(period.zone, period.periodStart))) continue;
      await this.resettle(period, event);
      acted = true;
    }
    return acted;
  }

  /** The periods (closed or not) an event may change the settlement of. */
  async touches(event: RecordedEvent): Promise<PeriodRef[]> {
    const category = categoryOf(event.streamId);
    if (category === 'session' && SESSION_METER_EVENTS.has(event.type)) return this.sessionPeriods(event);
    if (category === 'prices' && PRICE_EVENTS.has(event.type)) {
      const data = event.data as { zone: string; intervals: { start: string }[] };
      const zones: string[] = [];
      for (const zone of await this.options.settledZones()) if ((await this.imbalancePriceZone(zone)) === data.zone) zones.push(zone);
      return zones.flatMap((zone) => data.intervals.map((interval) => ({ zone, periodStart: formatInstant(Date.parse(interval.start)) })));
    }
    if (category === 'market' && event.type === 'TradeExecuted') {
      // A trade delivers over [deliveryStart, deliveryEnd): every period of its product.
      const data = event.data as { zone: string; deliveryStart: string; deliveryEnd: string };
      return periodsBetween(Date.parse(data.deliveryStart), Date.parse(data.deliveryEnd)).map((periodStart) => ({ zone: data.zone, periodStart }));
    }
    if (category === 'marketzone' && event.type === 'PortfolioMemberAssigned') {
      const data = event.data as { zone: string; validFrom: string };
      return (await this.options.closedPeriods(data.zone, data.validFrom)).map((p) => ({ zone: data.zone, periodStart: p.periodStart }));
    }
    return [];
  }

  /**
   * A meter point dated t changes the spans between its neighbours on the session's time line
   * (the points before and after it): the periods from the one holding the point before to the
   * one holding the point after (or t itself when it is the latest). The zone is the price zone of
   * the session's site.
   */
  private async sessionPeriods(event: RecordedEvent): Promise<PeriodRef[]> {
    const data = event.data as { sessionId: string; occurredAt: string };
    const { state: session } = await this.options.commands.load(sessionDecider, sessionStreamId(data.sessionId));
    if (session.status === 'none') return [];
    const { state: site } = await this.options.commands.load(siteDecider, siteStreamId(session.siteId));
    const zone = site.status === 'registered' ? site.priceZone : null;
    if (zone === null) return [];
    const t = Date.parse(data.occurredAt);
    const instants = [session.pluggedInAt, ...session.meterResets.map((r) => r.occurredAt), ...session.readings.map((r) => r.occurredAt)].map((i) => Date.parse(i));
    // A point dated before the plug-in sits at the plug-in: its spans start there.
    let before = Math.min(Date.parse(session.pluggedInAt), t);
    let after = t;
    for (const instant of instants) {
      if (instant < t && instant > before) before = instant;
      if (instant > t && (after === t || instant < after)) after = instant;
    }
    return periodsBetween(before, after).map((periodStart) => ({ zone, periodStart }));
  }

  private async imbalancePriceZone(zone: string): Promise<string | null> {
    if (!this.priceZoneOf.has(zone)) {
      let priceZone: string | null = null;
      for (const event of await this.options.store.readStream(marketZoneStreamId(zone))) {
        if (event.type === 'MarketZoneConfigured') priceZone = (event.data as { imbalancePriceZone: string }).imbalancePriceZone;
      }
      this.priceZoneOf.set(zone, priceZone);
    }
    return this.priceZoneOf.get(zone) ?? null;
  }

  /** A close that ran while other events were appended: those between its inputs and itself are looked at for its period. */
  private async recheck(closed: RecordedEvent): Promise<boolean> {
    const statement = closed.data as SettlementStatement;
    let after = BigInt(statement.inputsThrough);
    while (after < closed.globalPosition - 1n) {
      const page = await this.options.store.readAll({ after, limit: 500 });
      if (page.length === 0) break;
      for (const event of page) {
        if (event.globalPosition >= closed.globalPosition) return false;
        const touched = await this.touches(event);
        if (touched.some((p) => p.zone === statement.zone && p.periodStart === statement.periodStart)) {
          await this.resettle({ zone: statement.zone, periodStart: statement.periodStart }, event);
          return true;
        }
      }
      after = page.at(-1)!.globalPosition;
    }
    return false;
  }

  private async resettle(period: PeriodRef, trigger: RecordedEvent): Promise<void> {
    const commandId = `settlement-watcher:${trigger.globalPosition}:${period.zone}:${period.periodStart}`;
    const triggerText = `${trigger.type}@${trigger.globalPosition}`;
    try {
      const outcome = await this.options.settlement.closePeriod(period, {
        commandId,
        actor: SETTLEMENT_WATCHER,
        causationId: `${trigger.streamId}@${trigger.streamVersion}`,
        correlationId: trigger.metadata.correlationId,
      });
      this.options.logger.info(
        { zone: period.zone, periodStart: period.periodStart, trigger: triggerText, outcome: outcome.outcome, revision: outcome.statement.revision },
        'settlement re-derived after a late input',
      );
      this.options.onResettled?.({ ...outcome, trigger: triggerText });
    } catch (error) {
      // A refusal (a price withdrawn, a zone unconfigured) is the answer for this period; anything else is retried.
      if (!(error instanceof DomainError)) throw error;
      this.options.logger.warn({ err: error, zone: period.zone, periodStart: period.periodStart, trigger: triggerText }, 'settlement could not be re-derived');
    }
  }
}
