import {
  distinctPositions,
  fromMilli,
  sessionIntervalSums,
  spanAtOf,
  toMilli,
  identityOf,
  type BillableSession,
  type BillingInput,
  type IntervalEnergy,
  type PointKind,
  type SpotPrice,
  type TariffAssignmentPeriod,
  type TariffDefinition,
  type TimelinePoint,
} from '@v2g/domain';
import type { SqlClient, SqlExecutor } from '@v2g/event-store';
import type { TableNames } from '@v2g/read-model';
import { zonesOf, type BillingRange } from './billing-queries.ts';

/**
 * What billing knew "as of" an instant T, from the history tables of the billing read model
 * (session_history, tariff_history, assignment_history, and prices with their recorded_at): the
 * same BillingInput that `billingInput` reads from a replay of the log as of T, without the replay.
 *
 * A replay as of T applies the events recorded at or before T (metadata.recordedAt), in log order.
 * Each history row is one such fact with its event's position and recordedAt, so the facts known at
 * T are the rows with `recorded_at <= T`, and folding them in position order here gives what the
 * projection's tables would hold after that replay:
 * - a session: its latest plug-in (who pays, where, when), its latest stop once plugged in;
 * - its meter time line: one point per identity (instant, start or reading), the first event that
 *   stated it its position, a later one with other values replacing them (its correctedPosition),
 *   every point placed by the latest plug-in (spanAt); the energy per interval from that line alone
 *   (`sessionIntervalSums`, which the projection's rows equal whatever the arrival order);
 * - tariff assignments in log order with the account decider's rule (an assignment starting inside
 *   an open-ended period ends it), each tariff's latest definition, each price's latest version.
 * recordedAt need not follow positions (writers' clocks): the cut is by recorded_at row by row, the
 * order by position, as in the replay.
 *
 * Reads: the account's sessions that can reach the range (one index lookup), their history rows,
 * the account's assignments, the tariffs, the prices; on one snapshot.
 */
export async function billingInputAsOf(
  sql: SqlExecutor | SqlClient,
  table: TableNames,
  accountId: string,
  range: BillingRange & { asOf: string },
): Promise<BillingInput> {
  const from = new Date(range.from).toISOString();
  const to = new Date(range.to).toISOString();
  const asOf = new Date(range.asOf).toISOString();
  // Prices as known at the earlier of the two cuts.
  const pricesKnownAt = range.pricesKnownAt === undefined || Date.parse(range.pricesKnownAt) > Date.parse(asOf) ? asOf : new Date(range.pricesKnownAt).toISOString();
  return onOneSnapshot(sql, async (tx) => {
    const H = table('session_history');
    // Candidates: sessions a plug-in known by T gave to the account, plugged in before the range
    // ends, and either plugged in within it or with a point at or after its start (a span reaching into
    // the range ends at a point at or after its start, spanAt >= occurredAt). Their whole history known by T.
    const history = await tx.query<HistoryRow>(
      `WITH c AS (
         SELECT DISTINCT p.session_id FROM ${H} p
          WHERE p.kind = 'plug_in' AND p.account_id = $1 AND p.occurred_at < $3 AND p.recorded_at <= $4
            AND (p.occurred_at >= $2 OR EXISTS (SELECT 1 FROM ${H} q WHERE q.session_id = p.session_id AND q.occurred_at >= $2 AND q.recorded_at <= $4))
       )
       SELECT h.session_id, h.position::text AS position, h.kind, ${EPOCH_MS('h.occurred_at')} AS occurred_ms,
              h.import_wh::text AS import_wh, h.export_wh::text AS export_wh, h.account_id, h.site_id
         FROM c JOIN ${H} h ON h.session_id = c.session_id
        WHERE h.recorded_at <= $4
        ORDER BY h.session_id, h.position`,
      [accountId, from, to, asOf],
    );
    const assignmentRows = await tx.query<{ tariff_id: string; valid_from_ms: string; valid_to_ms: string | null; position: string }>(
      `SELECT tariff_id, ${EPOCH_MS('valid_from')} AS valid_from_ms, ${EPOCH_MS('valid_to')} AS valid_to_ms, position::text AS position
         FROM ${table('assignment_history')} a WHERE account_id = $1 AND recorded_at <= $2
        -- a.position, the bigint: the output column is its text, which sorts "1011" before "9".
        ORDER BY a.position`,
      [accountId, asOf],
    );
    const assignments = assignmentsOf(accountId, assignmentRows.rows)
      .filter((a) => Date.parse(a.validFrom) < Date.parse(to) && (a.validTo === null || Date.parse(a.validTo) > Date.parse(from)))
      .sort((a, b) => Date.parse(a.validFrom) - Date.parse(b.validFrom) || comparePositions(a.position, b.position));
    const tariffIds = [...new Set(assignments.map((a) => a.tariffId))];
    const tariffs = await tx.query<{ definition: TariffDefinition; position: string }>(
      `SELECT DISTINCT ON (tariff_id) definition, position::text AS position FROM ${table('tariff_history')} t
        WHERE tariff_id = ANY($1::text[]) AND recorded_at <= $2 ORDER BY tariff_id, t.position DESC`,
      [tariffIds, asOf],
    );
    const zones = [...new Set(tariffs.rows.flatMap((t) => zonesOf(t.definition)))].sort();
    const prices = zones.length === 0 ? { rows: [] } : await tx.query<{ zone: string; interval_start: Date | string; price: string; currency: string; position: string }>(
      `SELECT DISTINCT ON (zone, interval_start) zone, interval_start, trim_scale(price_minor_per_kwh)::text AS price, currency, position::text AS position
         FROM ${table('prices')} p
        WHERE zone = ANY($1::text[]) AND interval_start >= $2 AND interval_start < $3 AND recorded_at <= $4::timestamptz
        ORDER BY zone, interval_start, p.position DESC`,
      [zones, from, to, pricesKnownAt],
    );

    const { sessions, intervals } = sessionsOf(accountId, history.rows, Date.parse(from), Date.parse(to));
    const priceMap = new Map<string, Map<string, SpotPrice>>();
    for (const row of prices.rows) {
      const byInterval = priceMap.get(row.zone) ?? new Map<string, SpotPrice>();
      const intervalStart = new Date(row.interval_start).toISOString();
      byInterval.set(intervalStart, { zone: row.zone, intervalStart, priceMinorPerKWh: row.price, currency: row.currency, position: row.position });
      priceMap.set(row.zone, byInterval);
    }
    return {
      sessions,
      intervals,
      tariffs: new Map(tariffs.rows.map((row) => [row.definition.tariffId, { ...row.definition, position: row.position }])),
      assignments,
      prices: priceMap,
    };
  });
}

type HistoryRow = {
  session_id: string;
  position: string;
  kind: 'plug_in' | 'stop' | 'record' | 'correct' | 'reset';
  occurred_ms: string;
  import_wh: string | null;
  export_wh: string | null;
  account_id: string | null;
  site_id: string | null;
};

const EPOCH_MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::int8::text`;

const comparePositions = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Code-unit order (the read model's queries run in the C collation on the server; the invoice does not depend on it). */
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The sessions billed to the account with energy in [fromMs, toMs) or plugged in within it, and
 * their intervals there, from each session's history rows (in position order).
 */
export function sessionsOf(accountId: string, rows: readonly HistoryRow[], fromMs: number, toMs: number): { sessions: BillableSession[]; intervals: IntervalEnergy[] } {
  const bySession = new Map<string, HistoryRow[]>();
  for (const row of rows) {
    const list = bySession.get(row.session_id);
    if (list) list.push(row);
    else bySession.set(row.session_id, [row]);
  }
  const sessions: BillableSession[] = [];
  const intervals: IntervalEnergy[] = [];
  for (const [sessionId, history] of bySession) {
    const plugIns = history.filter((h) => h.kind === 'plug_in');
    const plugIn = plugIns.at(-1);
    if (!plugIn || plugIn.account_id !== accountId) continue;
    const pluggedInAtMs = Number(plugIn.occurred_ms);
    // A stop counts once the session is known (the projection updates a session row that exists).
    const firstPlugIn = BigInt(plugIns[0]!.position);
    const stop = history.filter((h) => h.kind === 'stop' && BigInt(h.position) > firstPlugIn).at(-1);
    const points = new Map<string, TimelinePoint>();
    for (const h of history) {
      if (h.kind === 'stop') continue;
      const kind: PointKind = h.kind === 'plug_in' ? 'plug_in' : h.kind === 'reset' ? 'reset' : 'reading';
      const occurredAtMs = Number(h.occurred_ms);
      const importMilli = toMilli(h.import_wh!);
      const exportMilli = toMilli(h.export_wh!);
      const id = identityOf({ kind, occurredAtMs });
      const existing = points.get(id);
      if (!existing) {
        points.set(id, { kind, occurredAtMs, spanAtMs: 0, importMilli, exportMilli, segment: 0, position: BigInt(h.position), correctedPosition: null });
      } else if (existing.importMilli !== importMilli || existing.exportMilli !== exportMilli) {
        existing.importMilli = importMilli;
        existing.exportMilli = exportMilli;
        existing.correctedPosition = BigInt(h.position);
      }
    }
    for (const point of points.values()) point.spanAtMs = spanAtOf(point.occurredAtMs, pluggedInAtMs);
    const inRange: IntervalEnergy[] = [];
    for (const sum of sessionIntervalSums(sessionId, [...points.values()]).all()) {
      if (sum.startMs < fromMs || sum.startMs >= toMs) continue;
      inRange.push({
        sessionId,
        intervalStart: new Date(sum.startMs).toISOString(),
        importWh: fromMilli(sum.importMilli),
        exportWh: fromMilli(sum.exportMilli),
        justifiedBy: distinctPositions(sum.positions).map(String),
      });
    }
    if (inRange.length === 0 && !(pluggedInAtMs >= fromMs && pluggedInAtMs < toMs)) continue;
    inRange.sort((a, b) => Date.parse(a.intervalStart) - Date.parse(b.intervalStart));
    intervals.push(...inRange);
    sessions.push({
      sessionId,
      accountId,
      siteId: plugIn.site_id!,
      pluggedInAt: new Date(pluggedInAtMs).toISOString(),
      stoppedAt: stop ? new Date(Number(stop.occurred_ms)).toISOString() : null,
      position: plugIn.position,
    });
  }
  sessions.sort((a, b) => Date.parse(a.pluggedInAt) - Date.parse(b.pluggedInAt) || compareText(a.sessionId, b.sessionId));
  intervals.sort((a, b) => compareText(a.sessionId, b.sessionId) || Date.parse(a.intervalStart) - Date.parse(b.intervalStart));
  return { sessions, intervals };
}

/**
 * The account's tariff assignment periods from its TariffAssigned facts in log order, with the
 * projection's rule (writeAssignments, the account decider's withAssignment): an assignment ends
 * every open-ended period that started before it, at its validFrom.
 */
function assignmentsOf(accountId: string, rows: readonly { tariff_id: string; valid_from_ms: string; valid_to_ms: string | null; position: string }[]): TariffAssignmentPeriod[] {
  const periods: { period: TariffAssignmentPeriod; validFromMs: number }[] = [];
  let open: { period: TariffAssignmentPeriod; validFromMs: number }[] = [];
  for (const row of rows) {
    const validFromMs = Number(row.valid_from_ms);
    const validFrom = new Date(validFromMs).toISOString();
    const still: typeof open = [];
    for (const o of open) {
      if (o.validFromMs < validFromMs) o.period.validTo = validFrom;
      else still.push(o);
    }
    const added = {
      period: { accountId, tariffId: row.tariff_id, validFrom, validTo: row.valid_to_ms === null ? null : new Date(Number(row.valid_to_ms)).toISOString(), position: row.position },
      validFromMs,
    };
    periods.push(added);
    if (added.period.validTo === null) still.push(added);
    open = still;
  }
  return periods.map((p) => p.period);
}

async function onOneSnapshot<T>(sql: SqlExecutor | SqlClient, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  if (!('transaction' in sql)) return fn(sql);
  return sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(tx);
  });
}
