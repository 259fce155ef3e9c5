import { randomUUID } from 'node:crypto';
import {
  addSpans,
  compareKeys,
  Decimal,
  distinctPositions,
  fromMilli,
  identityOf,
  IntervalSums,
  isStart,
  numberSegments,
  spanAtOf,
  toMilli,
  type AccountEvent,
  type PointKind,
  type PricesEvent,
  type SessionEvent,
  type TariffEvent,
  type TimelinePoint,
} from '@v2g/domain';
import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';
import { pipelineOf, StatementList, type Projection, type StatementPipeline, type StatementSink, type TableNames } from '@v2g/read-model';

/**
 * The billing read model: who pays for each session, the session's meter time line, its energy
 * per 15-minute interval, every version of every spot price, the tariffs and which account pays
 * which tariff when.
 *
 * Energy and money are NUMERIC, instants timestamptz, positions bigint. Interval energy is the sum,
 * over the spans between consecutive points of a session's meter (domain: metering/meter-timeline.ts), of their
 * `apportion`ed shares; a row exists for every interval some span overlaps. The rows depend only on
 * the final set of points, never on the order the readings arrived in.
 *
 * `applyBatch` does a whole batch in a handful of statements:
 * - the fast path: readings (and resets) that land after the latest point the database has for
 *   their session (late, doubled or corrected among themselves is fine: that is sorted out in
 *   memory). Their spans are new to the database, so their shares are added to the interval rows
 *   (INSERT ... ON CONFLICT DO UPDATE SET import_wh = import_wh + EXCLUDED.import_wh);
 * - the exact path, for a session whose batch touches a point already written (a late reading, a
 *   correction, a reset before the latest point, a second plug-in): one query loads the points
 *   around the changes, and the intervals their spans reach are deleted and recomputed from scratch
 *   (which is "subtract the old span's shares, add the new ones", without the bookkeeping).
 * Reads: one query for the sessions' latest points (skipped for those this process wrote last,
 * see LatestPoints), one for the exact path's points; the statements go out without waiting for
 * each other (StatementPipeline). `apply` is the same code on a batch of one, so both leave the same rows.
 * `prepareBatch` collects the next batch and plans its fast path from LatestPoints while the batch
 * before it commits (see PreparedBatch); `applyBatch` uses that plan only when the stamp says the
 * cache held.
 */
export const BILLING_TABLES = [
  'sessions',
  'readings',
  'session_intervals',
  'prices',
  'tariffs',
  'tariff_assignments',
  'session_history',
  'tariff_history',
  'assignment_history',
  'writer_stamp',
] as const;

/** The tables of the read model proper; `writer_stamp` is the writing process's bookkeeping (see LatestPoints). */
export const BILLING_READ_MODEL_TABLES = BILLING_TABLES.filter((t) => t !== 'writer_stamp');

const INTERVAL = "interval '15 minutes'";
const EPOCH = "timestamptz '1970-01-01 00:00:00+00'";

export const billingProjection: Projection = {
  name: 'billing',
  // v2: the history tables (what as-of invoices read, see as-of-queries.ts).
  version: 2,
  tables: BILLING_TABLES,

  async setup(tx, table) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('sessions')} (
      session_id text PRIMARY KEY,
      account_id text NOT NULL,
      customer_id text NOT NULL,
      fleet_id text,
      site_id text NOT NULL,
      plugged_in_at timestamptz NOT NULL,
      stopped_at timestamptz,
      position bigint NOT NULL
    )`);
    // One row per point of a session's meter time line (see the domain's meter-timeline.ts). span_at is
    // occurred_at, or the plug-in instant for a point dated before it; the key orders the points.
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('readings')} (
      session_id text NOT NULL,
      span_at timestamptz NOT NULL,
      is_reading boolean NOT NULL,
      occurred_at timestamptz NOT NULL,
      kind text NOT NULL CHECK (kind IN ('plug_in', 'reset', 'reading')),
      import_wh numeric NOT NULL,
      export_wh numeric NOT NULL,
      segment integer NOT NULL,
      position bigint NOT NULL,
      corrected_position bigint,
      PRIMARY KEY (session_id, span_at, is_reading, occurred_at)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('session_intervals')} (
      session_id text NOT NULL,
      interval_start timestamptz NOT NULL,
      import_wh numeric NOT NULL,
      export_wh numeric NOT NULL,
      justified_by bigint[] NOT NULL,
      PRIMARY KEY (session_id, interval_start)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('prices')} (
      zone text NOT NULL,
      interval_start timestamptz NOT NULL,
      position bigint NOT NULL,
      price_minor_per_kwh numeric NOT NULL,
      carbon_g_per_kwh numeric,
      currency text NOT NULL,
      source text NOT NULL,
      recorded_at timestamptz NOT NULL,
      PRIMARY KEY (zone, interval_start, position)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('tariffs')} (
      tariff_id text PRIMARY KEY,
      definition jsonb NOT NULL,
      position bigint NOT NULL
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('writer_stamp')} (
      id smallint PRIMARY KEY CHECK (id = 1),
      token text NOT NULL,
      through bigint NOT NULL
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('tariff_assignments')} (
      account_id text NOT NULL,
      position bigint NOT NULL,
      tariff_id text NOT NULL,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz,
      ended_by bigint,
      PRIMARY KEY (account_id, position)
    )`);
    // History: every fact the tables above are made of, with the position and recordedAt of the
    // event that stated it, never updated. An invoice "as known at" T is the same function of the
    // facts recorded by T (taken in log order) as the tables above are of all of them, so it is
    // an index lookup here, not a replay of the log (see as-of-queries.ts).
    // One row per session event billing uses: plug-ins (with who pays), stops, meter points.
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('session_history')} (
      session_id text NOT NULL,
      position bigint NOT NULL,
      recorded_at timestamptz NOT NULL,
      kind text NOT NULL CHECK (kind IN ('plug_in', 'stop', 'record', 'correct', 'reset')),
      occurred_at timestamptz NOT NULL,
      import_wh numeric,
      export_wh numeric,
      account_id text,
      customer_id text,
      fleet_id text,
      site_id text,
      PRIMARY KEY (session_id, position)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('tariff_history')} (
      tariff_id text NOT NULL,
      position bigint NOT NULL,
      recorded_at timestamptz NOT NULL,
      definition jsonb NOT NULL,
      PRIMARY KEY (tariff_id, position)
    )`);
    // Each TariffAssigned as sent (valid_to as asked, before any later assignment ended it).
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('assignment_history')} (
      account_id text NOT NULL,
      position bigint NOT NULL,
      recorded_at timestamptz NOT NULL,
      tariff_id text NOT NULL,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz,
      PRIMARY KEY (account_id, position)
    )`);
  },

  // Read by the queries (billing-queries.ts, as-of-queries.ts), never while applying events.
  async queryIndexes(tx, table) {
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('sessions', 'account')} ON ${table('sessions')} (account_id, plugged_in_at)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('session_history', 'account')} ON ${table('session_history')} (account_id, occurred_at) WHERE kind = 'plug_in'`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('session_history', 'occurred')} ON ${table('session_history')} (session_id, occurred_at)`);
  },

  apply(tx, event, table) {
    return applyBillingEvents(tx, [event], table);
  },

  applyBatch(tx, events, table, prepared) {
    return applyBillingEvents(tx, events, table, prepared instanceof PreparedBatch ? prepared : undefined);
  },

  prepareBatch(events, table) {
    return prepareBillingEvents(events, table);
  },

  forget(table) {
    latestPoints.delete(table('readings'));
  },
};

/**
 * A register in mWh. Registers have at most 3 decimals since the metering rules say so; events
 * recorded before them (SessionPluggedIn v1 and SessionMeterReadingRecorded v1 allow more) are
 * rounded half-even to the mWh, billing's resolution, rather than stopping the projection.
 */
function registerMilli(value: string): bigint {
  try {
    return toMilli(value);
  } catch {
    return toMilli(new Decimal(value).toDecimalPlaces(3, Decimal.ROUND_HALF_EVEN));
  }
}

// ---- collecting a batch --------------------------------------------------------------------------

type BillingEvent = SessionEvent | PricesEvent | TariffEvent | AccountEvent;

const BILLING_EVENT_TYPES: ReadonlySet<string> = new Set<BillingEvent['type']>([
  'SessionPluggedIn',
  'SessionStopped',
  'SessionMeterReadingRecorded',
  'SessionMeterReadingCorrected',
  'SessionMeterReset',
  'PricesPublished',
  'PricesRevised',
  'TariffDefined',
  'TariffAssigned',
]);

type MeterOp = { op: 'plug_in' | 'record' | 'correct' | 'reset'; occurredAtMs: number; importMilli: bigint; exportMilli: bigint; position: bigint };

type SessionRow = [sessionId: string, accountId: string, customerId: string, fleetId: string | null, siteId: string, pluggedInAt: string, position: string];

type PriceRow = [zone: string, intervalStart: string, position: string, price: string, carbon: string | null, currency: string, source: string, recordedAt: string];

/** [sessionId, position, recordedAt, kind, occurredAt, importWh, exportWh, accountId, customerId, fleetId, siteId] */
type SessionHistoryRow = [string, string, string, string, string, string | null, string | null, string | null, string | null, string | null, string | null];

type Collected = {
  history: SessionHistoryRow[];
  tariffHistory: [tariffId: string, position: string, recordedAt: string, definition: string][];
  sessions: Map<string, SessionRow>;
  stops: Map<string, string>;
  meter: Map<string, MeterOp[]>;
  prices: PriceRow[];
  tariffs: Map<string, [definition: string, position: string]>;
  assignments: { accountId: string; tariffId: string; validFrom: string; validTo: string | null; position: string; recordedAt: string }[];
};

const emptyCollected = (): Collected => ({
  history: [],
  tariffHistory: [],
  sessions: new Map(),
  stops: new Map(),
  meter: new Map(),
  prices: [],
  tariffs: new Map(),
  assignments: [],
});

/** Collects `events` (in log order) into `batch`: a batch may be collected in consecutive parts. */
function collect(events: readonly RecordedEvent[], batch: Collected = emptyCollected()): Collected {
  const meter = (sessionId: string, op: MeterOp) => {
    const ops = batch.meter.get(sessionId);
    if (ops) ops.push(op);
    else batch.meter.set(sessionId, [op]);
  };
  for (const recorded of events) {
    if (!BILLING_EVENT_TYPES.has(recorded.type)) continue;
    // The store validated the data against schemas/events on append.
    const event = recorded as unknown as BillingEvent;
    const position = recorded.globalPosition;
    const recordedAt = recorded.metadata.recordedAt;
    switch (event.type) {
      case 'SessionPluggedIn': {
        const d = event.data;
        batch.history.push([
          d.sessionId,
          position.toString(),
          recordedAt,
          'plug_in',
          d.pluggedInAt,
          fromMilli(registerMilli(d.meterStartImportWh)),
          fromMilli(registerMilli(d.meterStartExportWh)),
          d.fleetId ?? d.customerId,
          d.customerId,
          d.fleetId,
          d.siteId,
        ]);
        batch.sessions.set(d.sessionId, [d.sessionId, d.fleetId ?? d.customerId, d.customerId, d.fleetId, d.siteId, d.pluggedInAt, position.toString()]);
        meter(d.sessionId, {
          op: 'plug_in',
          occurredAtMs: Date.parse(d.pluggedInAt),
          importMilli: registerMilli(d.meterStartImportWh),
          exportMilli: registerMilli(d.meterStartExportWh),
          position,
        });
        break;
      }
      case 'SessionStopped':
        batch.stops.set(event.data.sessionId, event.data.at);
        batch.history.push([event.data.sessionId, position.toString(), recordedAt, 'stop', event.data.at, null, null, null, null, null, null]);
        break;
      case 'SessionMeterReadingRecorded':
      case 'SessionMeterReadingCorrected':
      case 'SessionMeterReset': {
        const d = event.data;
        const op = event.type === 'SessionMeterReadingRecorded' ? 'record' : event.type === 'SessionMeterReadingCorrected' ? 'correct' : 'reset';
        const importMilli = registerMilli(d.energyImportWh);
        const exportMilli = registerMilli(d.energyExportWh);
        meter(d.sessionId, { op, occurredAtMs: Date.parse(d.occurredAt), importMilli, exportMilli, position });
        batch.history.push([d.sessionId, position.toString(), recordedAt, op, d.occurredAt, fromMilli(importMilli), fromMilli(exportMilli), null, null, null, null]);
        break;
      }
      case 'PricesPublished':
      case 'PricesRevised': {
        const { zone, currency, source, intervals } = event.data;
        for (const interval of intervals) {
          batch.prices.push([zone, interval.start, position.toString(), interval.priceMinorPerKWh, interval.carbonGPerKWh, currency, source, recorded.metadata.recordedAt]);
        }
        break;
      }
      case 'TariffDefined':
        batch.tariffs.set(event.data.tariffId, [JSON.stringify(event.data), position.toString()]);
        batch.tariffHistory.push([event.data.tariffId, position.toString(), recordedAt, JSON.stringify(event.data)]);
        break;
      case 'TariffAssigned':
        batch.assignments.push({ ...event.data, position: position.toString(), recordedAt });
        break;
      case 'SessionSuspended':
      case 'SessionReactivated':
      case 'SessionDepartureChanged':
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return batch;
}

// ---- the meter: planning --------------------------------------------------------------------------

/** What the database knows of a session before the batch. */
type SessionState = { pluggedInAtMs: number | null; latest: TimelinePoint | null };

type Key = Pick<TimelinePoint, 'spanAtMs' | 'kind' | 'occurredAtMs'>;

/** A session whose batch takes the exact path: the intervals in [from, to) are recomputed. */
type WindowRequest = { sessionId: string; whole: boolean; min: Key; max: Key; ops: MeterOp[]; pluggedInAtMs: number | null; renumber: boolean };

type MeterPlan = {
  points: TimelinePoint[];
  pointSessions: string[];
  sums: IntervalSums;
  windows: WindowRequest[];
  /** Where the fast-path sessions stand once the batch is written. */
  after: Map<string, SessionState>;
};

const kindOf = (op: MeterOp): PointKind => (op.op === 'plug_in' ? 'plug_in' : op.op === 'reset' ? 'reset' : 'reading');

function newPoint(op: MeterOp, pluggedInAtMs: number | null, segment: number): TimelinePoint {
  return {
    kind: kindOf(op),
    occurredAtMs: op.occurredAtMs,
    spanAtMs: spanAtOf(op.occurredAtMs, pluggedInAtMs),
    importMilli: op.importMilli,
    exportMilli: op.exportMilli,
    segment,
    position: op.position,
    correctedPosition: null,
  };
}

const sameValues = (a: TimelinePoint, b: TimelinePoint): boolean => a.importMilli === b.importMilli && a.exportMilli === b.exportMilli;

/** Index of the first of `points` (sorted by key) whose key is not below `point`'s; mostly the end. */
function searchKey(points: readonly TimelinePoint[], point: TimelinePoint): number {
  let low = 0;
  let high = points.length;
  if (high > 0 && compareKeys(points[high - 1]!, point) < 0) return high;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareKeys(points[mid]!, point) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The fast path for one session: every op lands after the latest point the database has (late,
 * doubled or corrected among themselves is fine: they are sorted out in memory). The spans from
 * that latest point on are new to the database, so their shares are simply added. Returns null as
 * soon as an op touches a point already written (or a second plug-in): the caller then takes the
 * exact path for the whole of the session's batch. (Two points have the same key exactly when
 * they are the same point: the same instant, both readings or both segment starts.)
 */
function planFast(sessionId: string, ops: readonly MeterOp[], state: SessionState): { points: TimelinePoint[]; sums: IntervalSums; pluggedInAtMs: number | null } | null {
  let { pluggedInAtMs } = state;
  const base = state.latest;
  const pending: TimelinePoint[] = [];
  for (const op of ops) {
    if (op.op === 'plug_in') {
      // A session's first event; anything else (a second plug-in) is recomputed whole.
      if (pluggedInAtMs !== null || base !== null || pending.length > 0) return null;
      pluggedInAtMs = op.occurredAtMs;
    } else if (pluggedInAtMs === null) {
      return null;
    }
    const point = newPoint(op, pluggedInAtMs, 0);
    if (base) {
      const order = compareKeys(point, base);
      // The latest point sent again: nothing changes. Other values, or before it: the exact path.
      if (order === 0 && sameValues(point, base)) continue;
      if (order <= 0) return null;
    }
    const at = searchKey(pending, point);
    const existing = pending[at];
    if (existing && compareKeys(existing, point) === 0) {
      // Sent again in this batch: nothing changes; with other values it replaces it (a correction).
      if (!sameValues(existing, point)) {
        existing.importMilli = point.importMilli;
        existing.exportMilli = point.exportMilli;
        existing.correctedPosition = op.position;
      }
      continue;
    }
    if (at === pending.length) pending.push(point);
    else pending.splice(at, 0, point);
  }
  numberSegments(pending, base ? base.segment : -1);
  const sums = new IntervalSums();
  addSpans(sums, sessionId, base ? [base, ...pending] : pending);
  return { points: pending, sums, pluggedInAtMs };
}

function planMeter(meter: ReadonlyMap<string, MeterOp[]>, states: ReadonlyMap<string, SessionState>): MeterPlan {
  const plan: MeterPlan = { points: [], pointSessions: [], sums: new IntervalSums(), windows: [], after: new Map() };
  for (const [sessionId, ops] of meter) {
    const state = states.get(sessionId) ?? { pluggedInAtMs: null, latest: null };
    const fast = planFast(sessionId, ops, state);
    if (fast) {
      for (const point of fast.points) {
        plan.points.push(point);
        plan.pointSessions.push(sessionId);
      }
      plan.sums.merge(fast.sums);
      plan.after.set(sessionId, { pluggedInAtMs: fast.pluggedInAtMs, latest: fast.points.at(-1) ?? state.latest });
      continue;
    }
    // A plug-in for a session already known changes where every point sits: recompute it whole.
    const known = state.pluggedInAtMs !== null || state.latest !== null;
    const whole = known && ops.some((op) => op.op === 'plug_in');
    const plugIns = ops.filter((op) => op.op === 'plug_in');
    const pluggedInAtMs = plugIns.at(-1)?.occurredAtMs ?? state.pluggedInAtMs;
    const keys = ops.map((op) => newPoint(op, pluggedInAtMs, 0)).sort(compareKeys);
    plan.windows.push({
      sessionId,
      whole,
      min: keys[0]!,
      max: keys.at(-1)!,
      ops,
      pluggedInAtMs,
      // A reset among points already there moves the later ones to the next segment.
      renumber: ops.some((op) => op.op === 'reset') && state.latest !== null,
    });
  }
  return plan;
}

// ---- the meter: loading -----------------------------------------------------------------------------

type PointRow = {
  kind: PointKind;
  occurred_at: Date | string;
  span_at: Date | string;
  import_wh: string;
  export_wh: string;
  segment: number;
  position: string;
  corrected_position: string | null;
};

/** An instant as epoch milliseconds (int8, which the drivers hand over as a string). */
const EPOCH_MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::int8`;

const POINT_COLUMNS = (r: string) =>
  `${r}.kind, ${EPOCH_MS(`${r}.occurred_at`)} AS occurred_at, ${EPOCH_MS(`${r}.span_at`)} AS span_at, ${r}.import_wh::text AS import_wh,
   ${r}.export_wh::text AS export_wh, ${r}.segment, ${r}.position::text AS position, ${r}.corrected_position::text AS corrected_position`;

const ms = (value: Date | string): number => (value instanceof Date ? value.getTime() : /^-?[0-9]+$/.test(value) ? Number(value) : Date.parse(value));
const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/*
 * Multi-row statements take one array per column. The literals are built here rather than by the
 * driver's generic array serialisation: they are most of what a batch costs in JavaScript, and
 * instants travel as epoch milliseconds (exact: integer arithmetic on an interval in microseconds).
 */
const FROM_MS = (column: string) => `(timestamptz 'epoch' + ${column} * interval '1 millisecond')`;
/** An array literal of numbers, bigints or decimal strings (NULL for null). */
const plainArray = (values: readonly (number | bigint | string | null)[]): string => column(values, (v) => v);

/** The array literal of `get` over `rows` (numbers, bigints or decimal strings; NULL for null), built in one pass. */
function column<T>(rows: readonly T[], get: (row: T) => number | bigint | string | null): string {
  // Joined rather than appended to: one flat string, not a chain of thousands of pieces that the
  // garbage collector walks for as long as the statement waits to be sent.
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const value = get(rows[i]!);
    parts[i] = value === null ? 'NULL' : String(value);
  }
  return `{${parts.join(',')}}`;
}
/** An array literal of texts, each quoted (and escaped where it has to be); NULL for null. */
const textArray = (values: readonly (string | null)[]): string =>
  `{${values.map((v) => (v === null ? 'NULL' : /["\\]/.test(v) ? `"${v.replace(/(["\\])/g, '\\$1')}"` : `"${v}"`)).join(',')}}`;

function pointOf(row: PointRow): TimelinePoint {
  return {
    kind: row.kind,
    occurredAtMs: ms(row.occurred_at),
    spanAtMs: ms(row.span_at),
    importMilli: toMilli(row.import_wh),
    exportMilli: toMilli(row.export_wh),
    segment: row.segment,
    position: BigInt(row.position),
    correctedPosition: row.corrected_position === null ? null : BigInt(row.corrected_position),
  };
}

/**
 * The plug-in instant and the latest point of each of `sessionIds`, and the writer stamp, in one
 * query.
 */
async function loadStates(w: StatementPipeline, table: TableNames, sessionIds: string[]): Promise<{ stamp: string | null; states: Map<string, SessionState> }> {
  const { rows } = await w.query<{ stamp: string | null; session_id: string | null; plugged_in_at: string | null } & { [K in keyof PointRow]: PointRow[K] | null }>(
    `SELECT (SELECT token || ' ' || through FROM ${table('writer_stamp')} WHERE id = 1) AS stamp, s.*
       FROM (VALUES (1)) AS one (x)
       LEFT JOIN LATERAL (
         SELECT q.session_id, (SELECT ${EPOCH_MS('s.plugged_in_at')} FROM ${table('sessions')} s WHERE s.session_id = q.session_id) AS plugged_in_at, ${POINT_COLUMNS('l')}
           FROM unnest($1::text[]) AS q(session_id)
           LEFT JOIN LATERAL (
             SELECT * FROM ${table('readings')} r WHERE r.session_id = q.session_id
              ORDER BY r.span_at DESC, r.is_reading DESC, r.occurred_at DESC LIMIT 1
           ) l ON true
       ) s ON true`,
    [textArray(sessionIds)],
  );
  const states = new Map<string, SessionState>();
  for (const row of rows) {
    if (row.session_id === null) continue;
    states.set(row.session_id, {
      pluggedInAtMs: row.plugged_in_at === null ? null : ms(row.plugged_in_at),
      latest: row.kind === null ? null : pointOf(row as PointRow),
    });
  }
  return { stamp: rows[0]?.stamp ?? null, states };
}

/**
 * The latest point of each session as this process last wrote it, so that a batch does not ask the
 * database again (the common case: the same sessions batch after batch). It is trusted only while
 * the database says nobody else wrote since: every batch that touches the meter stamps
 * `writer_stamp` with this cache's token and its last position, in the batch's transaction, and the
 * next batch reads the stamp together with the states it has to load anyway. A batch rolled back,
 * another process or another database: the stamp differs, and the cache starts afresh.
 */
class LatestPoints {
  readonly token = randomUUID();
  through: bigint = 0n;
  readonly sessions = new Map<string, SessionState>();
}

/** By the readings table's (schema-qualified) name. */
const latestPoints = new Map<string, LatestPoints>();
const MAX_CACHED_SESSIONS = 200_000;

/** `toEnd`: the points run to the session's latest one. */
type Window = { fromMs: number; toMs: number; toEnd: boolean; points: TimelinePoint[] };

/**
 * For each session on the exact path: the intervals to recompute, [from, to), from the interval
 * of the point before the first change to the interval of the point after the last one, and every
 * point whose spans reach into them (from the last point at or before `from` to the first at or
 * after `to`). A session recomputed whole gets all its points and no bounds.
 */
async function loadWindows(w: StatementPipeline, table: TableNames, requests: WindowRequest[]): Promise<Map<string, Window>> {
  const R = table('readings');
  const { rows } = await w.query<{ session_id: string; from_start: string | null; to_start: string | null; to_end: boolean } & { [K in keyof PointRow]: PointRow[K] | null }>(
    `WITH c AS (
       SELECT u.session_id, u.whole, ${FROM_MS('u.min_span')} AS min_span, u.min_reading, ${FROM_MS('u.min_at')} AS min_at,
              ${FROM_MS('u.max_span')} AS max_span, u.max_reading, ${FROM_MS('u.max_at')} AS max_at
         FROM unnest($1::text[], $2::boolean[], $3::int8[], $4::boolean[], $5::int8[], $6::int8[], $7::boolean[], $8::int8[])
           AS u(session_id, whole, min_span, min_reading, min_at, max_span, max_reading, max_at)
     ), n AS (
       SELECT c.session_id, c.min_span, c.max_span,
              (SELECT r.span_at FROM ${R} r
                WHERE r.session_id = c.session_id AND (r.span_at, r.is_reading, r.occurred_at) < (c.min_span, c.min_reading, c.min_at)
                ORDER BY r.span_at DESC, r.is_reading DESC, r.occurred_at DESC LIMIT 1) AS pred_span,
              (SELECT r.span_at FROM ${R} r
                WHERE r.session_id = c.session_id AND (r.span_at, r.is_reading, r.occurred_at) > (c.max_span, c.max_reading, c.max_at)
                ORDER BY r.span_at, r.is_reading, r.occurred_at LIMIT 1) AS succ_span
         FROM c WHERE NOT c.whole
     ), b AS (
       SELECT n.session_id,
              date_bin(${INTERVAL}, COALESCE(n.pred_span, n.min_span), ${EPOCH}) AS from_start,
              date_bin(${INTERVAL}, COALESCE(n.succ_span, n.max_span), ${EPOCH}) + ${INTERVAL} AS to_start
         FROM n
     ), w AS (
       SELECT b.session_id, b.from_start, b.to_start,
              (SELECT max(r.span_at) FROM ${R} r WHERE r.session_id = b.session_id AND r.span_at <= b.from_start) AS lo,
              (SELECT min(r.span_at) FROM ${R} r WHERE r.session_id = b.session_id AND r.span_at >= b.to_start) AS hi
         FROM b
       UNION ALL
       SELECT c.session_id, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz FROM c WHERE c.whole
     )
     SELECT w.session_id, ${EPOCH_MS('w.from_start')} AS from_start, ${EPOCH_MS('w.to_start')} AS to_start, w.hi IS NULL AS to_end, ${POINT_COLUMNS('r')}
       FROM w
       LEFT JOIN LATERAL (
         SELECT * FROM ${R} p
          WHERE p.session_id = w.session_id AND p.span_at >= COALESCE(w.lo, '-infinity') AND p.span_at <= COALESCE(w.hi, 'infinity')
       ) r ON true
      ORDER BY w.session_id, r.span_at, r.is_reading, r.occurred_at`,
    [
      textArray(requests.map((q) => q.sessionId)),
      plainArray(requests.map((q) => String(q.whole))),
      plainArray(requests.map((q) => q.min.spanAtMs)),
      plainArray(requests.map((q) => String(!isStart(q.min)))),
      plainArray(requests.map((q) => q.min.occurredAtMs)),
      plainArray(requests.map((q) => q.max.spanAtMs)),
      plainArray(requests.map((q) => String(!isStart(q.max)))),
      plainArray(requests.map((q) => q.max.occurredAtMs)),
    ],
  );
  const windows = new Map<string, Window>();
  for (const row of rows) {
    let window = windows.get(row.session_id);
    if (!window) {
      window = {
        fromMs: row.from_start === null ? Number.NEGATIVE_INFINITY : ms(row.from_start),
        toMs: row.to_start === null ? Number.POSITIVE_INFINITY : ms(row.to_start),
        toEnd: row.to_end,
        points: [],
      };
      windows.set(row.session_id, window);
    }
    if (row.kind !== null) window.points.push(pointOf(row as PointRow));
  }
  return windows;
}

// ---- the meter: the exact path ------------------------------------------------------------------------

type Recomputed = {
  sessionId: string;
  whole: boolean;
  renumber: boolean;
  fromMs: number;
  toMs: number;
  sums: IntervalSums;
  changed: TimelinePoint[];
  /** Where the session stands after it, when the window ran to its latest point (else undefined). */
  after: SessionState | undefined;
};

/** Applies the session's ops to the points loaded around them and recomputes the intervals in the window. */
function recompute(request: WindowRequest, window: Window): Recomputed {
  const { sessionId, whole, pluggedInAtMs } = request;
  const points = window.points;
  // The segment of whatever comes before the first loaded point (-1: it is the session's first).
  const first = points[0];
  const before = !whole && first ? first.segment - (isStart(first) ? 1 : 0) : -1;
  const byIdentity = new Map(points.map((point) => [identityOf(point), point]));
  const changed = new Set<TimelinePoint>();
  for (const op of request.ops) {
    const point = newPoint(op, pluggedInAtMs, 0);
    const existing = byIdentity.get(identityOf(point));
    if (!existing) {
      byIdentity.set(identityOf(point), point);
      points.push(point);
      changed.add(point);
    } else if (existing.importMilli !== point.importMilli || existing.exportMilli !== point.exportMilli) {
      // A correction (or a reading sent again with other values, which replaces it too).
      existing.importMilli = point.importMilli;
      existing.exportMilli = point.exportMilli;
      existing.correctedPosition = op.position;
      changed.add(existing);
    }
  }
  if (whole) {
    // Deleted and written again: where each point sits follows the (new) plug-in instant.
    for (const point of points) {
      point.spanAtMs = spanAtOf(point.occurredAtMs, pluggedInAtMs);
      changed.add(point);
    }
  }
  points.sort(compareKeys);
  for (const point of numberSegments(points, before)) changed.add(point);
  const sums = new IntervalSums();
  addSpans(sums, sessionId, points, window.fromMs, window.toMs);
  const after = window.toEnd || whole ? { pluggedInAtMs, latest: points.at(-1) ?? null } : undefined;
  return { sessionId, whole, renumber: whole || request.renumber, fromMs: window.fromMs, toMs: window.toMs, sums, changed: [...changed], after };
}

// ---- writing ------------------------------------------------------------------------------------------

const positionsLiteral = (positions: readonly bigint[]): string => `{${distinctPositions(positions).join(',')}}`;

function insertPoints(w: StatementSink, R: string, points: readonly TimelinePoint[], sessions: readonly string[], upsert: boolean): void {
  if (points.length === 0) return;
  const params = [
    textArray(sessions),
    column(points, (p) => p.occurredAtMs),
    column(points, (p) => (p.spanAtMs === p.occurredAtMs ? null : p.spanAtMs)),
    column(points, (p) => p.kind),
    column(points, (p) => fromMilli(p.importMilli)),
    column(points, (p) => fromMilli(p.exportMilli)),
    column(points, (p) => p.segment),
    column(points, (p) => p.position),
    column(points, (p) => p.correctedPosition),
  ];
  w.run(
    `INSERT INTO ${R} (session_id, span_at, is_reading, occurred_at, kind, import_wh, export_wh, segment, position, corrected_position)
     SELECT u.session_id, ${FROM_MS('COALESCE(u.span_ms, u.occurred_ms)')}, u.kind = 'reading', ${FROM_MS('u.occurred_ms')}, u.kind,
            u.import_wh, u.export_wh, u.segment, u.position, u.corrected_position
       FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::numeric[], $6::numeric[], $7::integer[], $8::int8[], $9::int8[])
         AS u(session_id, occurred_ms, span_ms, kind, import_wh, export_wh, segment, position, corrected_position)
     ${
       upsert
         ? `ON CONFLICT (session_id, span_at, is_reading, occurred_at) DO UPDATE
              SET kind = EXCLUDED.kind, import_wh = EXCLUDED.import_wh, export_wh = EXCLUDED.export_wh, segment = EXCLUDED.segment,
                  position = EXCLUDED.position, corrected_position = EXCLUDED.corrected_position`
         : ''
     }`,
    params,
  );
}

function writeMeter(w: StatementSink, table: TableNames, plan: MeterPlan, recomputed: Recomputed[]): void {
  const R = table('readings');
  const I = table('session_intervals');
  const whole = recomputed.filter((r) => r.whole).map((r) => r.sessionId);
  if (whole.length > 0) w.run(`DELETE FROM ${R} WHERE session_id = ANY($1::text[])`, [whole]);
  if (recomputed.length > 0) {
    w.run(
      `DELETE FROM ${I} i USING unnest($1::text[], $2::int8[], $3::int8[]) AS d(session_id, from_ms, to_ms)
        WHERE i.session_id = d.session_id
          AND (d.from_ms IS NULL OR i.interval_start >= ${FROM_MS('d.from_ms')}) AND (d.to_ms IS NULL OR i.interval_start < ${FROM_MS('d.to_ms')})`,
      [textArray(recomputed.map((r) => r.sessionId)), plainArray(recomputed.map((r) => (r.whole ? null : r.fromMs))), plainArray(recomputed.map((r) => (r.whole ? null : r.toMs)))],
    );
  }

  // New points after the latest (the fast path) cannot conflict: a plain INSERT. The exact path's
  // may replace a point (a correction): an upsert.
  insertPoints(w, R, plan.points, plan.pointSessions, false);
  const changed = recomputed.flatMap((r) => r.changed);
  insertPoints(
    w,
    R,
    changed,
    recomputed.flatMap((r) => r.changed.map(() => r.sessionId)),
    true,
  );
  // Intervals recomputed were deleted above, so adding to "nothing" writes them whole.
  const sums = plan.sums;
  for (const r of recomputed) sums.merge(r.sums);
  if (sums.size > 0) {
    const rows = [...sums.all()];
    w.run(
      `INSERT INTO ${I} AS t (session_id, interval_start, import_wh, export_wh, justified_by)
       SELECT u.session_id, ${FROM_MS('u.start_ms')}, u.import_wh, u.export_wh, u.justified_by::bigint[]
         FROM unnest($1::text[], $2::int8[], $3::numeric[], $4::numeric[], $5::text[]) AS u(session_id, start_ms, import_wh, export_wh, justified_by)
       ON CONFLICT (session_id, interval_start) DO UPDATE
         SET import_wh = trim_scale(t.import_wh + EXCLUDED.import_wh),
             export_wh = trim_scale(t.export_wh + EXCLUDED.export_wh),
             justified_by = ARRAY(SELECT DISTINCT p FROM unnest(t.justified_by || EXCLUDED.justified_by) AS p ORDER BY p)`,
      [
        textArray(rows.map((row) => row.sessionId)),
        column(rows, (row) => row.startMs),
        column(rows, (row) => fromMilli(row.importMilli)),
        column(rows, (row) => fromMilli(row.exportMilli)),
        textArray(rows.map((row) => positionsLiteral(row.positions))),
      ],
    );
  }
  const renumber = recomputed.filter((r) => r.renumber).map((r) => r.sessionId);
  if (renumber.length > 0) {
    w.run(
      `UPDATE ${R} r SET segment = n.segment
         FROM (SELECT session_id, span_at, is_reading, occurred_at,
                      (count(*) FILTER (WHERE NOT is_reading) OVER (PARTITION BY session_id ORDER BY span_at, is_reading, occurred_at))::integer - 1 AS segment
                 FROM ${R} WHERE session_id = ANY($1::text[])) n
        WHERE r.session_id = n.session_id AND r.span_at = n.span_at AND r.is_reading = n.is_reading AND r.occurred_at = n.occurred_at
          AND r.segment <> n.segment`,
      [renumber],
    );
  }
}

function writeSessions(w: StatementSink, table: TableNames, batch: Collected): void {
  if (batch.sessions.size > 0) {
    const rows = [...batch.sessions.values()];
    const column = (i: number) => rows.map((row) => row[i] ?? null);
    w.run(
      `INSERT INTO ${table('sessions')} (session_id, account_id, customer_id, fleet_id, site_id, plugged_in_at, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[])
       ON CONFLICT (session_id) DO UPDATE
         SET account_id = EXCLUDED.account_id, customer_id = EXCLUDED.customer_id, fleet_id = EXCLUDED.fleet_id,
             site_id = EXCLUDED.site_id, plugged_in_at = EXCLUDED.plugged_in_at, position = EXCLUDED.position`,
      [column(0), column(1), column(2), column(3), column(4), column(5), column(6)],
    );
  }
  if (batch.stops.size > 0) {
    w.run(
      `UPDATE ${table('sessions')} s SET stopped_at = u.stopped_at
         FROM unnest($1::text[], $2::timestamptz[]) AS u(session_id, stopped_at) WHERE s.session_id = u.session_id`,
      [[...batch.stops.keys()], [...batch.stops.values()]],
    );
  }
}

function writeCatalogue(w: StatementSink, table: TableNames, batch: Collected): void {
  if (batch.prices.length > 0) {
    const column = (i: number) => batch.prices.map((row) => row[i] ?? null);
    w.run(
      `INSERT INTO ${table('prices')} (zone, interval_start, position, price_minor_per_kwh, carbon_g_per_kwh, currency, source, recorded_at)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::numeric[], $5::numeric[], $6::text[], $7::text[], $8::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [column(0), column(1), column(2), column(3), column(4), column(5), column(6), column(7)],
    );
  }
  if (batch.tariffs.size > 0) {
    w.run(
      `INSERT INTO ${table('tariffs')} (tariff_id, definition, position)
       SELECT * FROM unnest($1::text[], $2::jsonb[], $3::bigint[])
       ON CONFLICT (tariff_id) DO UPDATE SET definition = EXCLUDED.definition, position = EXCLUDED.position`,
      [[...batch.tariffs.keys()], [...batch.tariffs.values()].map(([definition]) => definition), [...batch.tariffs.values()].map(([, position]) => position)],
    );
  }
}

/**
 * The facts of the batch, appended to the history tables. Session history is most of a batch's
 * rows and is keyed by the event's position, which the batch routine applies exactly once (the
 * checkpoint moves in the same transaction): a plain INSERT, without the cost of ON CONFLICT's
 * speculative insertion on every row. An event applied twice (a bug) then fails the projection
 * at once instead of passing unnoticed. The other history tables take few rows and keep their
 * ON CONFLICT DO NOTHING.
 */
function writeHistory(w: StatementSink, table: TableNames, batch: Collected): void {
  if (batch.history.length > 0) {
    const column = (i: number) => batch.history.map((row) => row[i] ?? null);
    w.run(
      `INSERT INTO ${table('session_history')} (session_id, position, recorded_at, kind, occurred_at, import_wh, export_wh, account_id, customer_id, fleet_id, site_id)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::numeric[], $7::numeric[], $8::text[], $9::text[], $10::text[], $11::text[])`,
      [
        textArray(column(0)),
        plainArray(column(1)),
        textArray(column(2)),
        textArray(column(3)),
        textArray(column(4)),
        plainArray(column(5)),
        plainArray(column(6)),
        textArray(column(7)),
        textArray(column(8)),
        textArray(column(9)),
        textArray(column(10)),
      ],
    );
  }
  if (batch.tariffHistory.length > 0) {
    const column = (i: number) => batch.tariffHistory.map((row) => row[i]);
    w.run(
      `INSERT INTO ${table('tariff_history')} (tariff_id, position, recorded_at, definition)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::jsonb[]) ON CONFLICT DO NOTHING`,
      [column(0), column(1), column(2), column(3)],
    );
  }
  if (batch.assignments.length > 0) {
    const rows = batch.assignments;
    w.run(
      `INSERT INTO ${table('assignment_history')} (account_id, position, recorded_at, tariff_id, valid_from, valid_to)
       SELECT * FROM unnest($1::text[], $2::int8[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::timestamptz[]) ON CONFLICT DO NOTHING`,
      [
        textArray(rows.map((a) => a.accountId)),
        plainArray(rows.map((a) => a.position)),
        textArray(rows.map((a) => a.recordedAt)),
        textArray(rows.map((a) => a.tariffId)),
        textArray(rows.map((a) => a.validFrom)),
        textArray(rows.map((a) => a.validTo)),
      ],
    );
  }
}

type Period = { accountId: string; position: string; tariffId: string; validFrom: string; validFromMs: number; validTo: string | null; endedBy: string | null };

/**
 * Tariff assignments in log order, with the account decider's rule (withAssignment): an assignment
 * starting inside the open-ended period ends it at its validFrom. One query loads the open periods
 * of the accounts concerned; the rule runs in memory; two statements write.
 */
async function writeAssignments(w: StatementPipeline, table: TableNames, assignments: Collected['assignments']): Promise<void> {
  if (assignments.length === 0) return;
  const A = table('tariff_assignments');
  const accounts = [...new Set(assignments.map((a) => a.accountId))];
  const { rows } = await w.query<{ account_id: string; position: string; tariff_id: string; valid_from: Date | string }>(
    `SELECT account_id, position::text AS position, tariff_id, valid_from FROM ${A} WHERE account_id = ANY($1::text[]) AND valid_to IS NULL`,
    [textArray(accounts)],
  );
  const open = new Map<string, Period[]>();
  for (const row of rows) {
    const validFromMs = ms(row.valid_from);
    const period: Period = { accountId: row.account_id, position: row.position, tariffId: row.tariff_id, validFrom: iso(validFromMs), validFromMs, validTo: null, endedBy: null };
    open.set(row.account_id, [...(open.get(row.account_id) ?? []), period]);
  }
  const stored = new Set(rows.map((row) => `${row.account_id}\u0000${row.position}`));
  const ended: Period[] = [];
  const added: Period[] = [];
  for (const a of assignments) {
    const validFromMs = Date.parse(a.validFrom);
    const still: Period[] = [];
    for (const period of open.get(a.accountId) ?? []) {
      if (period.validFromMs < validFromMs) {
        period.validTo = a.validFrom;
        period.endedBy = a.position;
        if (stored.has(`${period.accountId}\u0000${period.position}`)) ended.push(period);
      } else {
        still.push(period);
      }
    }
    const period: Period = { accountId: a.accountId, position: a.position, tariffId: a.tariffId, validFrom: a.validFrom, validFromMs, validTo: a.validTo, endedBy: null };
    added.push(period);
    if (a.validTo === null) still.push(period);
    open.set(a.accountId, still);
  }
  if (ended.length > 0) {
    w.run(
      `UPDATE ${A} a SET valid_to = u.valid_to, ended_by = u.ended_by
         FROM unnest($1::text[], $2::int8[], $3::timestamptz[], $4::int8[]) AS u(account_id, position, valid_to, ended_by)
        WHERE a.account_id = u.account_id AND a.position = u.position`,
      [textArray(ended.map((p) => p.accountId)), plainArray(ended.map((p) => p.position)), textArray(ended.map((p) => p.validTo!)), plainArray(ended.map((p) => p.endedBy))],
    );
  }
  w.run(
    `INSERT INTO ${A} (account_id, position, tariff_id, valid_from, valid_to, ended_by)
     SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::int8[])
     ON CONFLICT DO NOTHING`,
    [
      textArray(added.map((p) => p.accountId)),
      plainArray(added.map((p) => p.position)),
      textArray(added.map((p) => p.tariffId)),
      textArray(added.map((p) => p.validFrom)),
      textArray(added.map((p) => p.validTo)),
      plainArray(added.map((p) => p.endedBy)),
    ],
  );
}

/**
 * A batch planned ahead (`prepareBatch`, while the batch before it commits): the batch collected,
 * the statements that need nothing read (sessions, prices, tariffs, history), and, when every
 * session of its meter was in this process's LatestPoints, the fast path planned from them and
 * its statements, with the stamp the cache stood at. `applyBatch` uses the meter plan only when
 * the database's stamp is that one (the batch before committed, nobody else wrote): the plan is
 * then what it would have made itself from the same states.
 */
class PreparedBatch {
  constructor(
    readonly table: string,
    readonly batch: Collected,
    readonly early: StatementList,
    readonly meter: { basis: string; plan: MeterPlan; fast: StatementList } | null,
  ) {}
}

/** Lets I/O callbacks run: the connection sends the statements of the batch being committed. */
const letIoIn = () => new Promise<void>((resolve) => setImmediate(resolve));
const COLLECT_PART = 500;

/** See PreparedBatch; in parts, with the event loop let in between (see Projection.prepareBatch). */
async function prepareBillingEvents(events: readonly RecordedEvent[], table: TableNames): Promise<PreparedBatch> {
  const batch = emptyCollected();
  for (let from = 0; from < events.length; from += COLLECT_PART) {
    if (from > 0) await letIoIn();
    collect(events.slice(from, from + COLLECT_PART), batch);
  }
  await letIoIn();
  const early = new StatementList();
  writeSessions(early, table, batch);
  writeCatalogue(early, table, batch);
  await letIoIn();
  writeHistory(early, table, batch);
  await letIoIn();
  const key = table('readings');
  // The states and the stamp they stand for, taken together.
  const cache = latestPoints.get(key);
  const sessionIds = [...batch.meter.keys()];
  let meter: PreparedBatch['meter'] = null;
  if (cache && sessionIds.length > 0 && sessionIds.every((id) => cache.sessions.has(id))) {
    const basis = `${cache.token} ${cache.through}`;
    const plan = planMeter(batch.meter, new Map(sessionIds.map((id) => [id, cache.sessions.get(id)!])));
    await letIoIn();
    const fast = new StatementList();
    writeMeter(fast, table, { ...plan, windows: [] }, []);
    meter = { basis, plan, fast };
  }
  return new PreparedBatch(key, batch, early, meter);
}

/**
 * Applies events (in log order) to the billing tables. On a StatementPipeline (the batch routine's
 * `tx`) it returns once everything is sent, and the routine waits for it; on a plain transaction
 * it waits itself.
 */
export async function applyBillingEvents(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames, prepared?: PreparedBatch): Promise<void> {
  const w = pipelineOf(tx);
  if (w === tx) {
    const keep = await sendBillingEvents(w, events, table, prepared);
    keep();
    return;
  }
  let keep: () => void;
  try {
    keep = await sendBillingEvents(w, events, table, prepared);
  } finally {
    // Nothing may still be running on the connection when the transaction ends, either way.
    await w.settled();
  }
  await w.done();
  keep();
}

/** Sends a batch's statements; returns what puts the cache back (once the batch is through). */
async function sendBillingEvents(w: StatementPipeline, events: readonly RecordedEvent[], table: TableNames, prepared: PreparedBatch | undefined): Promise<() => void> {
  const key = table('readings');
  if (prepared && prepared.table !== key) prepared = undefined;
  const batch = prepared?.batch ?? collect(events);
  // Taken out while the batch runs: only a batch that completes puts it back.
  let cache = latestPoints.get(key);
  latestPoints.delete(key);
  const sessionIds = [...batch.meter.keys()];
  /** Where each session stands as of the statements sent so far. */
  const known = new Map<string, SessionState>();
  const stateOf = (id: string) => known.get(id) ?? cache?.sessions.get(id);
  // Reads first: the stamp that says whether the cache holds, and the sessions not at hand. The
  // writes that need nothing read go out behind them while the meter is planned.
  const loading =
    sessionIds.length > 0
      ? loadStates(
          w,
          table,
          sessionIds.filter((id) => !stateOf(id)),
        )
      : null;
  if (prepared) prepared.early.sendTo(w);
  else {
    writeSessions(w, table, batch);
    writeCatalogue(w, table, batch);
    writeHistory(w, table, batch);
  }
  if (loading) {
    const loaded = await loading;
    if (cache && loaded.stamp !== `${cache.token} ${cache.through}`) {
      // Someone else wrote (or our last batch was rolled back): ask the database for everything.
      cache = undefined;
      const missing = sessionIds.filter((id) => !loaded.states.has(id));
      if (missing.length > 0) for (const [id, state] of (await loadStates(w, table, missing)).states) loaded.states.set(id, state);
    }
    for (const [id, state] of loaded.states) known.set(id, state);
    // Planned ahead from the cache as it stands, and the database agrees with it: that plan.
    const ahead = prepared?.meter && cache && prepared.meter.basis === `${cache.token} ${cache.through}` && loaded.stamp === prepared.meter.basis ? prepared.meter : null;
    const plan = ahead?.plan ?? planMeter(batch.meter, new Map(sessionIds.map((id) => [id, stateOf(id)!])));
    for (const [id, state] of plan.after) known.set(id, state);
    // The fast path's writes go out before the exact path's read, which then waits for them.
    if (ahead) ahead.fast.sendTo(w);
    else writeMeter(w, table, { ...plan, windows: [] }, []);
    if (plan.windows.length > 0) {
      const windows = await loadWindows(w, table, plan.windows);
      const recomputed: Recomputed[] = [];
      for (const request of plan.windows) {
        const window = windows.get(request.sessionId);
        if (!window) throw new Error(`billing: no window loaded for session ${request.sessionId}`);
        const result = recompute(request, window);
        recomputed.push(result);
        // Its latest point is known when the window reached it; else it did not move, unless
        // a reset renumbered the segments after the window: then it is asked again.
        if (result.after) known.set(request.sessionId, result.after);
        else if (result.renumber) {
          known.delete(request.sessionId);
          cache?.sessions.delete(request.sessionId);
        }
      }
      writeMeter(w, table, { points: [], pointSessions: [], sums: new IntervalSums(), windows: plan.windows, after: new Map() }, recomputed);
    }
    cache ??= new LatestPoints();
    w.run(
      `INSERT INTO ${table('writer_stamp')} (id, token, through) VALUES (1, $1, $2)
       ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, through = EXCLUDED.through`,
      [cache.token, events.at(-1)!.globalPosition.toString()],
    );
  }
  await writeAssignments(w, table, batch.assignments);
  return () => {
    if (loading && cache) {
      if (cache.sessions.size + known.size > MAX_CACHED_SESSIONS) cache.sessions.clear();
      for (const [id, state] of known) cache.sessions.set(id, state);
      cache.through = events.at(-1)!.globalPosition;
    }
    if (cache) latestPoints.set(key, cache);
  };
}
