import type { BillableSession, BillingInput, IntervalEnergy, PointKind, SpotPrice, TariffAssignmentPeriod, TariffDefinition } from '@v2g/domain';
import type { SqlClient, SqlExecutor } from '@v2g/event-store';
import type { TableNames } from '@v2g/read-model';

/** Figures are decimal strings (Wh, minor units), instants canonical ISO-8601 UTC, positions decimal strings. */

type Instant = Date | string;
const iso = (value: Instant): string => new Date(value).toISOString();
const isoOrNull = (value: Instant | null): string | null => (value === null ? null : iso(value));

/** numeric as its shortest decimal string: no trailing zeros, "0" for zero. */
const fig = (column: string, as: string) => `trim_scale(${column})::text AS ${as}`;

export type BillingRange = {
  /** [from, to): sessions with energy in it (or plugged in in it), their intervals, the tariffs and prices in force. */
  from: string;
  to: string;
  /** Prices as known at this instant (recordedAt <= it); absent: the latest version of each. */
  pricesKnownAt?: string;
};

/**
 * Runs the queries of one answer on one snapshot: inside a read-only REPEATABLE READ transaction
 * when given a client, so that a batch the projection commits meanwhile is either all in or all
 * out. Given a transaction's executor, it uses that.
 */
async function onOneSnapshot<T>(sql: SqlExecutor | SqlClient, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  if (!('transaction' in sql)) return fn(sql);
  return sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(tx);
  });
}

type IntervalRow = { session_id: string; interval_start: Instant; import_wh: string; export_wh: string; justified_by: string[] };

const intervalOf = (row: IntervalRow): IntervalEnergy => ({
  sessionId: row.session_id,
  intervalStart: iso(row.interval_start),
  importWh: row.import_wh,
  exportWh: row.export_wh,
  justifiedBy: row.justified_by,
});

const INTERVAL_COLUMNS = (i: string) =>
  `${i}.session_id, ${i}.interval_start, ${fig(`${i}.import_wh`, 'import_wh')}, ${fig(`${i}.export_wh`, 'export_wh')}, ${i}.justified_by::text[] AS justified_by`;

/** Zones a tariff needs spot prices of: its dynamic energy price and its spot-indexed export credit. */
export function zonesOf(tariff: TariffDefinition): string[] {
  const zones = new Set<string>();
  if (tariff.energy.kind === 'dynamic') zones.add(tariff.energy.zone);
  if (tariff.exportCredit?.kind === 'spot') zones.add(tariff.exportCredit.zone);
  return [...zones];
}

/**
 * Everything billing needs for one account over [from, to): its sessions that have energy in the
 * range or were plugged in in it, their intervals in the range, the account's tariff assignments
 * overlapping the range and their tariffs, and for each zone those tariffs price by and each
 * interval of the range, the latest price version recorded at or before `pricesKnownAt`.
 */
export async function billingInput(sql: SqlExecutor | SqlClient, table: TableNames, accountId: string, range: BillingRange): Promise<BillingInput> {
  const from = new Date(range.from).toISOString();
  const to = new Date(range.to).toISOString();
  const knownAt = range.pricesKnownAt === undefined ? null : new Date(range.pricesKnownAt).toISOString();
  return onOneSnapshot(sql, async (tx) => {
    const sessions = await tx.query<{ session_id: string; account_id: string; site_id: string; plugged_in_at: Instant; stopped_at: Instant | null; position: string }>(
      `SELECT s.session_id, s.account_id, s.site_id, s.plugged_in_at, s.stopped_at, s.position::text AS position
         FROM ${table('sessions')} s
        WHERE s.account_id = $1
          AND ((s.plugged_in_at >= $2 AND s.plugged_in_at < $3)
               OR EXISTS (SELECT 1 FROM ${table('session_intervals')} i WHERE i.session_id = s.session_id AND i.interval_start >= $2 AND i.interval_start < $3))
        ORDER BY s.plugged_in_at, s.session_id`,
      [accountId, from, to],
    );
    const intervals = await tx.query<IntervalRow>(
      `SELECT ${INTERVAL_COLUMNS('i')}
         FROM ${table('sessions')} s JOIN ${table('session_intervals')} i ON i.session_id = s.session_id
        WHERE s.account_id = $1 AND i.interval_start >= $2 AND i.interval_start < $3
        ORDER BY i.session_id, i.interval_start`,
      [accountId, from, to],
    );
    const assignments = await tx.query<{ account_id: string; tariff_id: string; valid_from: Instant; valid_to: Instant | null; position: string }>(
      `SELECT account_id, tariff_id, valid_from, valid_to, position::text AS position
         FROM ${table('tariff_assignments')} a
        WHERE account_id = $1 AND valid_from < $3 AND (valid_to IS NULL OR valid_to > $2)
        ORDER BY valid_from, a.position`,
      [accountId, from, to],
    );
    const tariffIds = [...new Set(assignments.rows.map((a) => a.tariff_id))];
    const tariffs = await tx.query<{ definition: TariffDefinition; position: string }>(
      `SELECT definition, position::text AS position FROM ${table('tariffs')} WHERE tariff_id = ANY($1::text[]) ORDER BY tariff_id`,
      [tariffIds],
    );
    const zones = [...new Set(tariffs.rows.flatMap((t) => zonesOf(t.definition)))].sort();
    const prices =
      zones.length === 0
        ? { rows: [] }
        : await tx.query<{ zone: string; interval_start: Instant; price: string; currency: string; position: string }>(
            `SELECT DISTINCT ON (zone, interval_start) zone, interval_start, ${fig('price_minor_per_kwh', 'price')}, currency, position::text AS position
         FROM ${table('prices')} p
        WHERE zone = ANY($1::text[]) AND interval_start >= $2 AND interval_start < $3 AND ($4::timestamptz IS NULL OR recorded_at <= $4::timestamptz)
        -- p.position, the bigint: the output column position is its text, which sorts "5" above "28".
        ORDER BY zone, interval_start, p.position DESC`,
            [zones, from, to, knownAt],
          );

    const priceMap = new Map<string, Map<string, SpotPrice>>();
    for (const row of prices.rows) {
      const byInterval = priceMap.get(row.zone) ?? new Map<string, SpotPrice>();
      const intervalStart = iso(row.interval_start);
      byInterval.set(intervalStart, { zone: row.zone, intervalStart, priceMinorPerKWh: row.price, currency: row.currency, position: row.position });
      priceMap.set(row.zone, byInterval);
    }
    return {
      sessions: sessions.rows.map((row): BillableSession => ({
        sessionId: row.session_id,
        accountId: row.account_id,
        siteId: row.site_id,
        pluggedInAt: iso(row.plugged_in_at),
        stoppedAt: isoOrNull(row.stopped_at),
        position: row.position,
      })),
      intervals: intervals.rows.map(intervalOf),
      tariffs: new Map(tariffs.rows.map((row) => [row.definition.tariffId, { ...row.definition, position: row.position }])),
      assignments: assignments.rows.map((row): TariffAssignmentPeriod => ({
        accountId: row.account_id,
        tariffId: row.tariff_id,
        validFrom: iso(row.valid_from),
        validTo: isoOrNull(row.valid_to),
        position: row.position,
      })),
      prices: priceMap,
    };
  });
}

/** A session's energy per 15-minute interval, oldest first. */
export async function sessionIntervals(sql: SqlExecutor, table: TableNames, sessionId: string): Promise<IntervalEnergy[]> {
  const { rows } = await sql.query<IntervalRow>(`SELECT ${INTERVAL_COLUMNS('i')} FROM ${table('session_intervals')} i WHERE i.session_id = $1 ORDER BY i.interval_start`, [
    sessionId,
  ]);
  return rows.map(intervalOf);
}

export type MeterPoint = {
  kind: PointKind;
  occurredAt: string;
  importWh: string;
  exportWh: string;
  /** 0 from the plug-in, k after the k-th reset. */
  segment: number;
  /** The event that recorded it, and the one that last corrected it (null: never corrected). */
  position: string;
  correctedPosition: string | null;
};

/** A session's meter time line as billing sees it: meter start, resets and readings, in time-line order. */
export async function sessionMeterPoints(sql: SqlExecutor, table: TableNames, sessionId: string): Promise<MeterPoint[]> {
  const { rows } = await sql.query<{
    kind: PointKind;
    occurred_at: Instant;
    import_wh: string;
    export_wh: string;
    segment: number;
    position: string;
    corrected_position: string | null;
  }>(
    `SELECT kind, occurred_at, ${fig('import_wh', 'import_wh')}, ${fig('export_wh', 'export_wh')}, segment,
            position::text AS position, corrected_position::text AS corrected_position
       FROM ${table('readings')} WHERE session_id = $1 ORDER BY span_at, is_reading, occurred_at`,
    [sessionId],
  );
  return rows.map((row) => ({
    kind: row.kind,
    occurredAt: iso(row.occurred_at),
    importWh: row.import_wh,
    exportWh: row.export_wh,
    segment: row.segment,
    position: row.position,
    correctedPosition: row.corrected_position,
  }));
}

/**
 * The sessions that can have energy in [from, to): plugged in before `to` and not stopped before
 * `from` (with a quarter hour's margin: a meter's last reading may be dated a little after the stop),
 * as the read model knew them at log position `through`; by session id.
 */
export async function sessionsReaching(
  sql: SqlExecutor,
  table: TableNames,
  range: { from: string; to: string; through: bigint },
): Promise<{ sessionId: string; siteId: string }[]> {
  const { rows } = await sql.query<{ session_id: string; site_id: string }>(
    `SELECT session_id, site_id FROM ${table('sessions')}
      WHERE plugged_in_at < $2 AND (stopped_at IS NULL OR stopped_at + interval '15 minutes' > $1) AND position <= $3
      ORDER BY session_id`,
    [range.from, range.to, range.through.toString()],
  );
  return rows.map((r) => ({ sessionId: r.session_id, siteId: r.site_id }));
}
