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
 * the account's assignments, the tariffs, the prices; in one statement (one snapshot, one round trip).
 */
export async function billingInputAsOf(sql: SqlExecutor | SqlClient, table: TableNames, accountId: string, range: BillingRange & { asOf: string }): Promise<BillingInput> {
  const from = new Date(range.from).toISOString();
  const to = new Date(range.to).toISOString();
  const asOf = new Date(range.asOf).toISOString();
  // Prices as known at the earlier of the two cuts.
  const pricesKnownAt = range.pricesKnownAt === undefined || Date.parse(range.pricesKnownAt) > Date.parse(asOf) ? asOf : new Date(range.pricesKnownAt).toISOString();
  // One statement, so one snapshot and one round trip (no transaction around four queries), and
  // no ORDER BY (sorting the whole result in the server cost more than the statement's reads): each
  // part is put in the order the fold needs here. Its parts, told apart by `part`:
  // 1. candidates: sessions a plug-in known by T gave to the account, plugged in before the range
  //    ends, and either plugged in within it or with a point at or after its start (a span reaching
  //    into the range ends at a point at or after its start, spanAt >= occurredAt); their whole
  //    history known by T, by session and position;
  // 2. the account's assignments known by T, by position (the bigint: its text sorts "1011" before "9");
  // 3. the latest definition known by T of every tariff those name;
  // 4. for every zone those tariffs may price by, the latest price version of each interval of the
  //    range recorded by the earlier of the two cuts.
  // Parts 3 and 4 are read for every assignment known by T; only those of the assignments that
  // overlap the range are kept below, as when each part was its own query.
  const H = table('session_history');
  const { rows } = await sql.query<AsOfRow>(
    `WITH c AS (
       SELECT DISTINCT p.session_id FROM ${H} p
        WHERE p.kind = 'plug_in' AND p.account_id = $1 AND p.occurred_at < $3 AND p.recorded_at <= $4
          AND (p.occurred_at >= $2 OR EXISTS (SELECT 1 FROM ${H} q WHERE q.session_id = p.session_id AND q.occurred_at >= $2 AND q.recorded_at <= $4))
     ),
     a AS (SELECT tariff_id, valid_from, valid_to, position FROM ${table('assignment_history')} WHERE account_id = $1 AND recorded_at <= $4),
     t AS (
       SELECT DISTINCT ON (tariff_id) tariff_id, definition, position FROM ${table('tariff_history')}
        WHERE tariff_id IN (SELECT tariff_id FROM a) AND recorded_at <= $4 ORDER BY tariff_id, position DESC
     ),
     z AS (
       SELECT DISTINCT zone FROM t, LATERAL (VALUES (t.definition->'energy'->>'zone'), (t.definition->'exportCredit'->>'zone')) v(zone) WHERE zone IS NOT NULL
     ),
     pr AS (
       SELECT DISTINCT ON (zone, interval_start) zone, interval_start, price_minor_per_kwh, currency, position FROM ${table('prices')}
        WHERE zone IN (SELECT zone FROM z) AND interval_start >= $2 AND interval_start < $3 AND recorded_at <= $5::timestamptz
        ORDER BY zone, interval_start, position DESC
     )
     SELECT 1 AS part, h.session_id AS k, h.position::text AS pos, h.kind AS c1, ${EPOCH_MS('h.occurred_at')} AS c2,
            h.import_wh::text AS c3, h.export_wh::text AS c4, h.account_id AS c5, h.site_id AS c6, NULL::jsonb AS definition
       FROM c JOIN ${H} h ON h.session_id = c.session_id WHERE h.recorded_at <= $4
     UNION ALL
     SELECT 2, NULL, a.position::text, a.tariff_id, ${EPOCH_MS('a.valid_from')}, ${EPOCH_MS('a.valid_to')}, NULL, NULL, NULL, NULL FROM a
     UNION ALL
     SELECT 3, t.tariff_id, t.position::text, NULL, NULL, NULL, NULL, NULL, NULL, t.definition FROM t
     UNION ALL
     SELECT 4, pr.zone, pr.position::text, pr.zone, ${EPOCH_MS('pr.interval_start')},
            trim_scale(pr.price_minor_per_kwh)::text, pr.currency, NULL, NULL, NULL FROM pr`,
    [accountId, from, to, asOf, pricesKnownAt],
  );
  const history: HistoryRow[] = [];
  const assignmentRows: { tariff_id: string; valid_from_ms: string; valid_to_ms: string | null; position: string }[] = [];
  const tariffRows: { definition: TariffDefinition; position: string }[] = [];
  const priceRows: { zone: string; intervalStartMs: number; price: string; currency: string; position: string }[] = [];
  for (const row of rows) {
    switch (row.part) {
      case 1:
        history.push({
          session_id: row.k!,
          position: row.pos,
          kind: row.c1 as HistoryRow['kind'],
          occurred_ms: row.c2!,
          import_wh: row.c3,
          export_wh: row.c4,
          account_id: row.c5,
          site_id: row.c6,
        });
        break;
      case 2:
        assignmentRows.push({ tariff_id: row.c1!, valid_from_ms: row.c2!, valid_to_ms: row.c3, position: row.pos });
        break;
      case 3:
        tariffRows.push({ definition: row.definition!, position: row.pos });
        break;
      default:
        priceRows.push({ zone: row.c1!, intervalStartMs: Number(row.c2), price: row.c3!, currency: row.c4!, position: row.pos });
    }
  }

  // The orders each part's own query had: history by session, then position; assignments by
  // position; tariffs by id; prices by zone, then interval.
  history.sort((x, y) => compareText(x.session_id, y.session_id) || comparePositions(x.position, y.position));
  assignmentRows.sort((x, y) => comparePositions(x.position, y.position));
  tariffRows.sort((x, y) => compareText(x.definition.tariffId, y.definition.tariffId));
  priceRows.sort((x, y) => compareText(x.zone, y.zone) || x.intervalStartMs - y.intervalStartMs);
  const assignments = assignmentsOf(accountId, assignmentRows)
    .filter((a) => Date.parse(a.validFrom) < Date.parse(to) && (a.validTo === null || Date.parse(a.validTo) > Date.parse(from)))
    .sort((a, b) => Date.parse(a.validFrom) - Date.parse(b.validFrom) || comparePositions(a.position, b.position));
  const tariffIds = new Set(assignments.map((a) => a.tariffId));
  const tariffs = tariffRows.filter((row) => tariffIds.has(row.definition.tariffId));
  const zones = new Set(tariffs.flatMap((t) => zonesOf(t.definition)));

  const { sessions, intervals } = sessionsOf(accountId, history, Date.parse(from), Date.parse(to));
  const priceMap = new Map<string, Map<string, SpotPrice>>();
  for (const row of priceRows) {
    if (!zones.has(row.zone)) continue;
    const byInterval = priceMap.get(row.zone) ?? new Map<string, SpotPrice>();
    const intervalStart = new Date(row.intervalStartMs).toISOString();
    byInterval.set(intervalStart, { zone: row.zone, intervalStart, priceMinorPerKWh: row.price, currency: row.currency, position: row.position });
    priceMap.set(row.zone, byInterval);
  }
  return {
    sessions,
    intervals,
    tariffs: new Map(tariffs.map((row) => [row.definition.tariffId, { ...row.definition, position: row.position }])),
    assignments,
    prices: priceMap,
  };
}

/** One row of the as-of statement: `part` says which of its four parts, and what c1..c6 hold. */
type AsOfRow = {
  part: number;
  k: string | null;
  pos: string;
  c1: string | null;
  c2: string | null;
  c3: string | null;
  c4: string | null;
  c5: string | null;
  c6: string | null;
  definition: TariffDefinition | null;
};

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

/** Positions (bigint text: no sign, no leading zero) by value: by length, then digits. */
const comparePositions = (a: string, b: string): number => a.length - b.length || compareText(a, b);

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
  // Sorted once on numbers (epoch ms) rather than by parsing ISO strings in every comparison.
  const sessions: { session: BillableSession; pluggedInAtMs: number }[] = [];
  const intervals: { interval: IntervalEnergy; startMs: number }[] = [];
  for (const [sessionId, history] of bySession) {
    let plugIn: HistoryRow | undefined;
    let firstPlugIn: bigint | undefined;
    for (const h of history) {
      if (h.kind !== 'plug_in') continue;
      plugIn = h;
      firstPlugIn ??= BigInt(h.position);
    }
    if (!plugIn || plugIn.account_id !== accountId) continue;
    const pluggedInAtMs = Number(plugIn.occurred_ms);
    // A stop counts once the session is known (the projection updates a session row that exists).
    let stop: HistoryRow | undefined;
    for (const h of history) if (h.kind === 'stop' && BigInt(h.position) > firstPlugIn!) stop = h;
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
    const inRange: { interval: IntervalEnergy; startMs: number }[] = [];
    for (const sum of sessionIntervalSums(sessionId, [...points.values()]).all()) {
      if (sum.startMs < fromMs || sum.startMs >= toMs) continue;
      inRange.push({
        interval: {
          sessionId,
          intervalStart: new Date(sum.startMs).toISOString(),
          importWh: fromMilli(sum.importMilli),
          exportWh: fromMilli(sum.exportMilli),
          justifiedBy: distinctPositions(sum.positions).map(String),
        },
        startMs: sum.startMs,
      });
    }
    if (inRange.length === 0 && !(pluggedInAtMs >= fromMs && pluggedInAtMs < toMs)) continue;
    intervals.push(...inRange);
    sessions.push({
      session: {
        sessionId,
        accountId,
        siteId: plugIn.site_id!,
        pluggedInAt: new Date(pluggedInAtMs).toISOString(),
        stoppedAt: stop ? new Date(Number(stop.occurred_ms)).toISOString() : null,
        position: plugIn.position,
      },
      pluggedInAtMs,
    });
  }
  sessions.sort((a, b) => a.pluggedInAtMs - b.pluggedInAtMs || compareText(a.session.sessionId, b.session.sessionId));
  intervals.sort((a, b) => compareText(a.interval.sessionId, b.interval.sessionId) || a.startMs - b.startMs);
  return { sessions: sessions.map((s) => s.session), intervals: intervals.map((i) => i.interval) };
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
