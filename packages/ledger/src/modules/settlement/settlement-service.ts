import { createHash } from 'node:crypto';
import {
  checkZone,
  CodedError,
  deriveSettlement,
  formatInstant,
  InvalidCommand,
  marketZoneStreamId,
  orderBookStreamId,
  parseInstant,
  PeriodNotOver,
  pricesStreamId,
  QUARTER_HOUR_MS,
  SettlementRevisionConflict,
  settlementDecider,
  settlementStreamId,
  siteDecider,
  siteStreamId,
  sessionStreamId,
  type InputEvent,
  type SettlementStatement,
} from '@v2g/domain';
import { checkRecordedCommand, type AppendResult, type EventStore, type RecordedEvent } from '@v2g/event-store';
import type { CommandContext, CommandHandler } from '../../command-handler.ts';

/** The read models a close lists its candidate sessions from did not reach the close's inputs in time. */
export class ReadModelBehind extends CodedError {
  readonly code = 'READ_MODEL_BEHIND';
  constructor(readModel: string, position: bigint, checkpoint: bigint, state: string) {
    super(`the ${readModel} read model is at ${checkpoint} (${state}), not yet at ${position}: try again`, {
      readModel,
      position: position.toString(),
      checkpoint: checkpoint.toString(),
      state,
    });
  }
}

/** The log's readable head did not reach what had been committed when the close was asked for, in time. */
export class LogNotReadable extends CodedError {
  readonly code = 'LOG_NOT_READABLE';
  constructor(committed: bigint, readable: bigint, waitedMs: number) {
    super(
      `the log is readable up to ${readable}, not yet up to ${committed} (committed when the close was asked for; an append below it is still open after ${waitedMs} ms): try again`,
      { committed: committed.toString(), readable: readable.toString(), waitedMs },
    );
  }
}

export type SettlementServiceOptions = {
  /**
   * The sessions that can have energy in a period (plugged in before it ends, not stopped before it
   * starts), as the billing read model knew them at log position `through`: the candidates a close reads.
   */
  sessionsReaching: (range: { from: string; to: string; through: bigint }) => Promise<{ sessionId: string; siteId: string }[]>;
  /**
   * Resolves once the read models the service reads (billing's sessions) include every event up
   * to `position`, so that a session plugged in just before the close is not missed. Default: no wait.
   */
  readModelsAt?: (position: bigint) => Promise<void>;
  /** Epoch ms now; tests and simulations drive their own clock. */
  clock?: () => number;
  /**
   * How long a close waits for the log's readable head to reach what was committed when it was
   * asked for (default 30 s), then LOG_NOT_READABLE. On a PostgreSQL server the readable head
   * trails the committed one while an append with a lower position is still open.
   */
  readableWaitMs?: number;
};

export type ClosePeriodRequest = { zone: string; periodStart: string; at?: string };

export type CloseOutcome = {
  /**
   * closed: the first revision; resettled: a later one (it reverses the previous postings and posts
   * again); unchanged: the inputs it would use are those of the last revision, nothing written;
   * duplicate: the commandId was recorded before, its result returned, nothing written.
   */
  outcome: 'closed' | 'resettled' | 'unchanged' | 'duplicate';
  /** The statement in force after the call. */
  statement: SettlementStatement;
  streamId: string;
  /** The append, when one was made (or found recorded under the commandId). */
  result: AppendResult | null;
};

/** What the settlement of a period reads, as of (inputsThrough, knownAt). */
export type SettlementInputs = {
  zone: string;
  periodStart: string;
  knownAt: string;
  inputsThrough: string;
  /** Every event of the streams read, up to inputsThrough (deriveSettlement picks what it uses). */
  events: InputEvent[];
  /** The streams read, in the order read. */
  streams: string[];
};

export type StatementDifference = { path: string; recorded: unknown; derived: unknown };

export type Rederivation = {
  zone: string;
  periodStart: string;
  revision: number;
  /** True when deriving again from the same inputs gives the recorded statement, field by field. */
  matches: boolean;
  differences: StatementDifference[];
  recorded: SettlementStatement;
  derived: SettlementStatement;
};

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function toInputEvent(event: RecordedEvent): InputEvent {
  return {
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    position: event.globalPosition.toString(),
    type: event.type,
    data: event.data,
    recordedAt: event.metadata.recordedAt,
    hash: event.hash,
  };
}

/** The start (epoch ms) of a settlement period, checked: a UTC instant on a quarter hour. */
export function checkPeriodStart(value: string): number {
  const ms = parseInstant('periodStart', value);
  if (ms % QUARTER_HOUR_MS !== 0) throw new InvalidCommand('periodStart', `${value} is not on a quarter hour (settlement periods are 15 minutes)`);
  return ms;
}

/**
 * What the zone's configurations up to `through` say must be read: every imbalance price zone and
 * every product length configured (a superset is harmless: deriveSettlement uses the configuration
 * as known at the close and picks what it uses). Null when the zone was never configured.
 */
function zoneConfiguration(events: readonly RecordedEvent[], through: bigint): { priceZones: string[]; productLengths: number[] } | null {
  const priceZones = new Set<string>();
  const lengths = new Set<number>();
  for (const event of events) {
    if (event.globalPosition > through || event.type !== 'MarketZoneConfigured') continue;
    const data = event.data as { imbalancePriceZone: string; products: { lengthMinutes: number }[] };
    priceZones.add(data.imbalancePriceZone);
    // Every length the zone ever traded: a book of a product dropped since may still deliver in the period.
    for (const product of data.products) lengths.add(product.lengthMinutes);
  }
  return priceZones.size === 0 ? null : { priceZones: [...priceZones].sort(), productLengths: [...lengths].sort((a, b) => a - b) };
}

/**
 * Settlement of a market zone's 15-minute periods (`settlement-<zone>-<YYYYMMDDTHHMMZ>`): reads the
 * events a period's settlement depends on, has the pure `deriveSettlement` compute the statement,
 * and records it through the settlement decider. A close whose inputs are those of the last
 * revision writes nothing; one with other inputs (a late reading, a revised price, a portfolio
 * change) records the next revision, which reverses the previous postings and posts again.
 *
 * What it reads, up to the log's readable head (inputsThrough) and as known at `at` (knownAt):
 * the zone's `marketzone-<zone>` stream; the `prices-<imbalancePriceZone>` stream; the order book
 * of every product length the zone has traded that delivers in the period
 * (`market-<zone>-<start>-<m>m`, starts aligned to the length); and the streams of the sessions at
 * sites whose price zone is the market zone that overlap the period (candidates from the billing
 * read model, sites from the site aggregate).
 */
export class SettlementService {
  private readonly clock: () => number;

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    private readonly options: SettlementServiceOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  now(): number {
    return this.clock();
  }

  /**
   * Closes (or settles again) a period: PERIOD_NOT_OVER before its end, MARKET_ZONE_NOT_CONFIGURED
   * for a zone never configured, IMBALANCE_PRICE_MISSING without a price for the period. `at`
   * (default now) is both the command's time and the knowledge cut-off: events recorded after it
   * are not used.
   */
  async closePeriod(request: ClosePeriodRequest, context: CommandContext): Promise<CloseOutcome> {
    // Another close recorded meanwhile makes this one's revision stale: derive again after it.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.closeOnce(request, context);
      } catch (error) {
        if (!(error instanceof SettlementRevisionConflict) || attempt >= 3) throw error;
      }
    }
  }

  private async closeOnce(request: ClosePeriodRequest, context: CommandContext): Promise<CloseOutcome> {
    const zone = checkZone('zone', request.zone);
    const startMs = checkPeriodStart(request.periodStart);
    const periodStart = formatInstant(startMs);
    const streamId = settlementStreamId(zone, periodStart);
    const recorded = await this.store.commandResult(context.commandId);
    if (recorded && recorded.streamId === streamId) {
      checkRecordedCommand(recorded, context.commandId, streamId, context.fingerprint);
      return { outcome: 'duplicate', statement: await this.statementAt(streamId, recorded.nextExpectedVersion), streamId, result: recorded };
    }
    // Every input committed before the close was asked for: what was committed then, once readable.
    // The head first, then the time: every event up to the head was recorded by then.
    const inputsThrough = await this.readableThrough(await this.store.committedPosition());
    let atMs = request.at === undefined ? this.clock() : parseInstant('at', request.at);
    const periodEnd = formatInstant(startMs + QUARTER_HOUR_MS);
    if (atMs < startMs + QUARTER_HOUR_MS) throw new PeriodNotOver(periodEnd, formatInstant(atMs));

    const previous = await this.lastStatement(streamId);
    const inputs = await this.readInputs(zone, periodStart, inputsThrough, formatInstant(atMs));
    if (request.at === undefined) {
      // "Now" knows everything up to the head, even what a writer whose clock runs a little ahead stamped later.
      for (const event of inputs.events) atMs = Math.max(atMs, Date.parse(event.recordedAt));
    }
    const at = formatInstant(atMs);
    const statement = deriveSettlement({ zone, periodStart, knownAt: at, inputsThrough: inputsThrough.toString(), events: inputs.events, previous, sha256 });
    if (previous !== null && statement === previous) return { outcome: 'unchanged', statement: previous, streamId, result: null };

    const { result, events } = await this.commands.handle(settlementDecider, streamId, { type: 'CloseSettlementPeriod', at, statement }, context);
    if (result.duplicate) return { outcome: 'duplicate', statement: await this.statementAt(streamId, result.nextExpectedVersion), streamId, result };
    // The decider writes nothing when the inputs hash is the last revision's.
    if (events.length === 0) return { outcome: 'unchanged', statement: previous ?? statement, streamId, result: null };
    const closed = events.at(-1)!.data;
    return { outcome: closed.revision === 1 ? 'closed' : 'resettled', statement: closed, streamId, result };
  }

  /**
   * The readable head once it has reached `committed`: on a PostgreSQL server an append still open
   * below a committed one holds both back, and a close that read only what is readable would leave
   * out inputs committed before it was asked for.
   */
  private async readableThrough(committed: bigint): Promise<bigint> {
    const waitMs = this.options.readableWaitMs ?? 30_000;
    const started = Date.now();
    for (let pauseMs = 5; ; pauseMs = Math.min(pauseMs * 2, 50)) {
      const head = await this.store.headPosition();
      if (head >= committed) return head;
      const waited = Date.now() - started;
      if (waited >= waitMs) throw new LogNotReadable(committed, head, waited);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /** The period's last recorded statement (from its settlement stream), or null when never closed. */
  async lastStatement(streamIdOrZone: string, periodStart?: string): Promise<SettlementStatement | null> {
    const streamId = periodStart === undefined ? streamIdOrZone : settlementStreamId(streamIdOrZone, periodStart);
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', limit: 1 });
    return last && last.type === 'SettlementPeriodClosed' ? (last.data as SettlementStatement) : null;
  }

  /**
   * The statement in force at `asOf`: the last SettlementPeriodClosed of the period recorded at or
   * before it (by metadata.recordedAt, event by event), or, with `revision`, that revision if it
   * was recorded by then. Null when none was. From the settlement stream itself, with the event's
   * position and recordedAt.
   */
  async statementInForce(
    zone: string,
    periodStart: string,
    asOf: string,
    revision?: number | null,
  ): Promise<{ statement: SettlementStatement; position: bigint; recordedAt: string } | null> {
    const streamId = settlementStreamId(checkZone('zone', zone), formatInstant(checkPeriodStart(periodStart)));
    const asOfMs = parseInstant('asOf', asOf);
    let found: { statement: SettlementStatement; position: bigint; recordedAt: string } | null = null;
    for (const event of await this.store.readStream(streamId)) {
      if (event.type !== 'SettlementPeriodClosed' || Date.parse(event.metadata.recordedAt) > asOfMs) continue;
      const statement = event.data as SettlementStatement;
      if (revision != null && statement.revision !== revision) continue;
      if (found === null || statement.revision > found.statement.revision) found = { statement, position: event.globalPosition, recordedAt: event.metadata.recordedAt };
    }
    return found;
  }

  /** True when the period has been closed at least once. */
  async isClosed(zone: string, periodStart: string): Promise<boolean> {
    return (await this.store.streamVersion(settlementStreamId(zone, periodStart))) > 0;
  }

  /** The statement the stream held at `version`. */
  private async statementAt(streamId: string, version: number): Promise<SettlementStatement> {
    const [event] = await this.store.readStream(streamId, { fromVersion: version, direction: 'backwards', limit: 1 });
    if (!event || event.type !== 'SettlementPeriodClosed') throw new Error(`${streamId} holds no statement at version ${version}`);
    return event.data as SettlementStatement;
  }

  /** Every event a period's settlement may use, up to `inputsThrough` (deriveSettlement also cuts at knownAt). */
  async readInputs(zone: string, periodStart: string, inputsThrough: bigint, knownAt: string): Promise<SettlementInputs> {
    const startMs = checkPeriodStart(periodStart);
    const endMs = startMs + QUARTER_HOUR_MS;
    const knownAtMs = parseInstant('knownAt', knownAt);
    const streams: string[] = [];
    const events: InputEvent[] = [];
    const read = async (streamId: string): Promise<RecordedEvent[]> => {
      const recorded = (await this.store.readStream(streamId)).filter((e) => e.globalPosition <= inputsThrough);
      streams.push(streamId);
      for (const event of recorded) events.push(toInputEvent(event));
      return recorded;
    };

    const config = zoneConfiguration(await read(marketZoneStreamId(zone)), inputsThrough);
    if (config !== null) {
      for (const priceZone of config.priceZones) await read(pricesStreamId(priceZone));
      for (const lengthMinutes of config.productLengths) {
        const lengthMs = lengthMinutes * 60_000;
        // Books of one length start aligned to it and do not overlap: one delivers in the period.
        const deliveryStartMs = Math.floor(startMs / lengthMs) * lengthMs;
        await read(orderBookStreamId(zone, formatInstant(deliveryStartMs), lengthMinutes));
      }
    }
    for (const sessionId of await this.sessionsInZone(zone, startMs, endMs, inputsThrough)) await read(sessionStreamId(sessionId));
    return { zone, periodStart: formatInstant(startMs), knownAt: formatInstant(knownAtMs), inputsThrough: inputsThrough.toString(), events, streams };
  }

  /**
   * Sessions at the zone's sites (a site whose price zone is the market zone) plugged in before the
   * period ends and not stopped before it starts (with a period's margin: a meter's last reading
   * may be dated a little after the stop). From the billing read model, once it includes `through`.
   */
  private async sessionsInZone(zone: string, startMs: number, endMs: number, through: bigint): Promise<string[]> {
    await this.options.readModelsAt?.(through);
    const rows = await this.options.sessionsReaching({ from: formatInstant(startMs), to: formatInstant(endMs), through });
    const zoneOfSite = new Map<string, string | null>();
    const sessions: string[] = [];
    for (const { sessionId, siteId } of rows) {
      if (!zoneOfSite.has(siteId)) {
        const { state } = await this.commands.load(siteDecider, siteStreamId(siteId));
        zoneOfSite.set(siteId, state.status === 'registered' ? state.priceZone : null);
      }
      if (zoneOfSite.get(siteId) === zone) sessions.push(sessionId);
    }
    return sessions;
  }

  /**
   * An auditor's check of one recorded revision: reads the same streams up to its inputsThrough, as
   * known at its knownAt, derives the statement again (after the revision before it) and compares
   * it with the recorded one field by field. Nothing is written.
   */
  async rederive(zone: string, periodStart: string, revision: number): Promise<Rederivation> {
    const streamId = settlementStreamId(checkZone('zone', zone), formatInstant(checkPeriodStart(periodStart)));
    const statements = (await this.store.readStream(streamId)).filter((e) => e.type === 'SettlementPeriodClosed').map((e) => e.data as SettlementStatement);
    const recorded = statements.find((s) => s.revision === revision);
    if (!recorded) throw new InvalidCommand('revision', `${streamId} has no revision ${revision} (it has ${statements.length})`);
    const previous = statements.filter((s) => s.revision < revision).at(-1) ?? null;
    const inputs = await this.readInputs(recorded.zone, recorded.periodStart, BigInt(recorded.inputsThrough), recorded.knownAt);
    const derived = deriveSettlement({
      zone: recorded.zone,
      periodStart: recorded.periodStart,
      knownAt: recorded.knownAt,
      inputsThrough: recorded.inputsThrough,
      events: inputs.events,
      previous,
      sha256,
    });
    const differences = compareStatements(recorded, derived);
    return { zone: recorded.zone, periodStart: recorded.periodStart, revision, matches: differences.length === 0, differences, recorded, derived };
  }
}

/** Field-by-field differences between two statements: scalars, then line by line, then transfer by transfer. */
export function compareStatements(recorded: SettlementStatement, derived: SettlementStatement): StatementDifference[] {
  const differences: StatementDifference[] = [];
  const compare = (path: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push({ path, recorded: a, derived: b });
  };
  for (const key of ['zone', 'periodStart', 'periodEnd', 'currency', 'revision', 'knownAt', 'inputsThrough', 'inputsHash', 'inputCount'] as const) {
    compare(key, recorded[key], derived[key]);
  }
  const listed = <T extends object>(name: string, a: readonly T[], b: readonly T[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = a[i];
      const y = b[i];
      if (x === undefined || y === undefined) {
        compare(`${name}[${i}]`, x ?? null, y ?? null);
        continue;
      }
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      for (const key of keys) compare(`${name}[${i}].${key}`, (x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key]);
    }
  };
  listed('lines', recorded.lines, derived.lines);
  listed('transfers', recorded.transfers, derived.transfers);
  return differences;
}
