import { QUARTER_HOUR_MS, intervalStartOf } from '@v2g/domain';
import type { SqlExecutor } from '@v2g/event-store';
import type { TableNames } from '@v2g/read-model';

/** A zone's price for one 15-minute interval, in the version known at some instant. */
export type PriceVersion = {
  zone: string;
  intervalStart: string;
  priceMinorPerKWh: string;
  carbonGPerKWh: string | null;
  currency: string;
  source: string;
  /** When the ledger learned this version. */
  recordedAt: string;
  position: bigint;
  /** How many versions of this interval were known by then (1: never revised). */
  versions: number;
};

type Row = {
  zone: string;
  interval_start: Date | string;
  price: string;
  carbon: string | null;
  currency: string;
  source: string;
  recorded_at: Date | string;
  position: string;
  versions: number;
};

const iso = (value: Date | string) => new Date(value).toISOString();

/**
 * The price curve of a zone over [from, to): for each interval the latest version recorded at or
 * before `knownAt` (every version when it is absent). An auditor asking "as known at" a moment
 * before a revision gets the price that was published then.
 */
export async function priceCurve(sql: SqlExecutor, table: TableNames, zone: string, range: { from: string; to: string; knownAt?: string | null }): Promise<PriceVersion[]> {
  const { rows } = await sql.query<Row>(
    `SELECT DISTINCT ON (interval_start)
            zone, interval_start, trim_scale(price_minor_per_kwh)::text AS price, trim_scale(carbon_g_per_kwh)::text AS carbon,
            currency, source, recorded_at, position::text AS position,
            (count(*) OVER (PARTITION BY interval_start))::int AS versions
       FROM ${table('prices')} p
      WHERE zone = $1 AND interval_start >= $2::timestamptz AND interval_start < $3::timestamptz
        AND ($4::timestamptz IS NULL OR recorded_at <= $4::timestamptz)
      ORDER BY interval_start, p.position DESC`,
    [zone, range.from, range.to, range.knownAt ?? null],
  );
  return rows.map((r) => ({
    zone: r.zone,
    intervalStart: iso(r.interval_start),
    priceMinorPerKWh: r.price,
    carbonGPerKWh: r.carbon,
    currency: r.currency,
    source: r.source,
    recordedAt: iso(r.recorded_at),
    position: BigInt(r.position),
    versions: r.versions,
  }));
}

/** The latest known price of the 15-minute interval containing `atMs`, or null when none was published. */
export async function priceAt(sql: SqlExecutor, table: TableNames, zone: string, atMs: number): Promise<PriceVersion | null> {
  const start = intervalStartOf(atMs);
  const [price] = await priceCurve(sql, table, zone, { from: iso(new Date(start)), to: iso(new Date(start + QUARTER_HOUR_MS)) });
  return price ?? null;
}
