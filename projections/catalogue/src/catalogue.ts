import { categoryOf, type RecordedEvent, type SqlExecutor } from '@v2g/event-store';
import { keysetPage, type Projection, type TableNames } from '@v2g/read-model';

/**
 * The stream catalogue: every stream with its version and last event, and how many events of each
 * type the log holds. Small, but it exercises everything a read model needs.
 */
export const catalogueProjection: Projection = {
  name: 'catalogue',
  version: 1,
  tables: ['streams', 'event_types'],

  async setup(tx, table) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('streams')} (
      stream_id text PRIMARY KEY,
      category text NOT NULL,
      version integer NOT NULL,
      first_position bigint NOT NULL,
      last_position bigint NOT NULL,
      last_event_type text NOT NULL,
      first_recorded_at timestamptz NOT NULL,
      last_recorded_at timestamptz NOT NULL
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('streams', 'category')} ON ${table('streams')} (category, first_position)`);
    await tx.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${table.index('streams', 'first')} ON ${table('streams')} (first_position)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('event_types')} (
      type text PRIMARY KEY,
      count bigint NOT NULL,
      last_position bigint NOT NULL
    )`);
  },

  apply(tx, event, table) {
    return applyEvents(tx, [event], table);
  },

  applyBatch(tx, events, table) {
    return applyEvents(tx, events, table);
  },
};

/**
 * Folds the batch per stream and per type in memory, then writes each table with one multi-row
 * upsert: two statements per batch instead of two per event.
 */
async function applyEvents(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames): Promise<void> {
  if (events.length === 0) return;
  type Stream = { first: RecordedEvent; last: RecordedEvent };
  const streams = new Map<string, Stream>();
  const types = new Map<string, { count: number; lastPosition: bigint }>();
  for (const event of events) {
    const stream = streams.get(event.streamId);
    if (stream) stream.last = event;
    else streams.set(event.streamId, { first: event, last: event });
    const type = types.get(event.type);
    if (type) {
      type.count += 1;
      type.lastPosition = event.globalPosition;
    } else types.set(event.type, { count: 1, lastPosition: event.globalPosition });
  }
  const rows = [...streams.values()];
  await tx.query(
    `INSERT INTO ${table('streams')} AS s
       (stream_id, category, version, first_position, last_position, last_event_type, first_recorded_at, last_recorded_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::int8[], $5::int8[], $6::text[], $7::timestamptz[], $8::timestamptz[])
     ON CONFLICT (stream_id) DO UPDATE
       SET version = EXCLUDED.version, last_position = EXCLUDED.last_position,
           last_event_type = EXCLUDED.last_event_type, last_recorded_at = EXCLUDED.last_recorded_at`,
    [
      rows.map((r) => r.first.streamId),
      rows.map((r) => categoryOf(r.first.streamId)),
      rows.map((r) => r.last.streamVersion),
      rows.map((r) => r.first.globalPosition.toString()),
      rows.map((r) => r.last.globalPosition.toString()),
      rows.map((r) => r.last.type),
      rows.map((r) => r.first.metadata.recordedAt),
      rows.map((r) => r.last.metadata.recordedAt),
    ],
  );
  const counted = [...types.entries()];
  await tx.query(
    `INSERT INTO ${table('event_types')} AS t (type, count, last_position)
     SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[])
     ON CONFLICT (type) DO UPDATE SET count = t.count + EXCLUDED.count, last_position = EXCLUDED.last_position`,
    [counted.map(([type]) => type), counted.map(([, c]) => c.count), counted.map(([, c]) => c.lastPosition.toString())],
  );
}

export type StreamSummary = {
  streamId: string;
  category: string;
  version: number;
  firstPosition: bigint;
  lastPosition: bigint;
  lastEventType: string;
  firstRecordedAt: string;
  lastRecordedAt: string;
};

export type EventTypeCount = { type: string; count: bigint; lastPosition: bigint };

type StreamRow = {
  stream_id: string;
  category: string;
  version: number;
  first_position: string;
  last_position: string;
  last_event_type: string;
  first_recorded_at: Date | string;
  last_recorded_at: Date | string;
};

const STREAM_COLUMNS = `stream_id, category, version, first_position::text AS first_position,
  last_position::text AS last_position, last_event_type, first_recorded_at, last_recorded_at`;

/**
 * Streams in the order they were created, a page at a time: keyset on first_position, between the
 * cursors of a window (see KeysetWindow), `first` rows in reading order.
 */
export async function listStreams(
  sql: SqlExecutor,
  table: TableNames,
  page: { first: number; afterPosition?: bigint; beforePosition?: bigint; backward?: boolean; category?: string },
): Promise<{ streams: StreamSummary[]; hasNextPage: boolean }> {
  const params: unknown[] = [page.category ?? null, page.first + 1];
  // s.first_position: the bare name would be STREAM_COLUMNS' text alias, ordering "10" before "9".
  const { where, orderBy } = keysetPage(params, 's.first_position', 'bigint', { after: page.afterPosition, before: page.beforePosition, backward: page.backward }, (value) =>
    value.toString(),
  );
  const { rows } = await sql.query<StreamRow>(
    `SELECT ${STREAM_COLUMNS} FROM ${table('streams')} s
      WHERE ${where} AND ($1::text IS NULL OR category = $1)
      ORDER BY ${orderBy} LIMIT $2`,
    params,
  );
  return { streams: rows.slice(0, page.first).map(toSummary), hasNextPage: rows.length > page.first };
}

export async function countStreams(sql: SqlExecutor, table: TableNames, category?: string): Promise<bigint> {
  const { rows } = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table('streams')} WHERE $1::text IS NULL OR category = $1`, [category ?? null]);
  return BigInt(rows[0]?.n ?? 0);
}

export async function findStream(sql: SqlExecutor, table: TableNames, streamId: string): Promise<StreamSummary | null> {
  const { rows } = await sql.query<StreamRow>(`SELECT ${STREAM_COLUMNS} FROM ${table('streams')} WHERE stream_id = $1`, [streamId]);
  return rows[0] ? toSummary(rows[0]) : null;
}

export async function eventTypeCounts(sql: SqlExecutor, table: TableNames): Promise<EventTypeCount[]> {
  const { rows } = await sql.query<{ type: string; count: string; last_position: string }>(
    `SELECT type, count::text AS count, last_position::text AS last_position FROM ${table('event_types')} ORDER BY type`,
  );
  return rows.map((r) => ({ type: r.type, count: BigInt(r.count), lastPosition: BigInt(r.last_position) }));
}

function toSummary(row: StreamRow): StreamSummary {
  return {
    streamId: row.stream_id,
    category: row.category,
    version: row.version,
    firstPosition: BigInt(row.first_position),
    lastPosition: BigInt(row.last_position),
    lastEventType: row.last_event_type,
    firstRecordedAt: new Date(row.first_recorded_at).toISOString(),
    lastRecordedAt: new Date(row.last_recorded_at).toISOString(),
  };
}
