import type { ChargerSpec, NodeKind, SessionPluggedInData, V2gConsent } from '@v2g/domain';
import { keysetClauses, type KeysetWindow, type SqlExecutor } from '@v2g/event-store';
import { keysetPage, type TableNames } from '@v2g/read-model';

/** Every figure is a decimal string (W, Wh, %), every instant an ISO-8601 UTC string. */

export type GridNode = {
  siteId: string;
  nodeId: string;
  /** null for the root (the site's grid connection, whose nodeId is the siteId). */
  parentId: string | null;
  kind: 'site' | NodeKind;
  name: string;
  /** Static limits, as configured (congestion rules and measured load not applied). */
  importLimitW: string;
  exportLimitW: string;
  charger: ChargerSpec | null;
  /** Net EV flow through the node now: the setpoints of the sessions at connectors at or below it (negative: feeding back). */
  evFlowW: string;
  /** The latest measured non-EV load at the node; null when none was measured. */
  load: { occurredAt: string; otherLoadW: string; generationW: string } | null;
};

/** A site as the grid read model lists it: its connection node. */
export type GridSiteSummary = { siteId: string; name: string; importLimitW: string; exportLimitW: string; registeredPosition: bigint };

/** The session stream's stopped/suspended win over the site's allocation status. */
export type GridSessionStatus = 'pending' | 'charging' | 'on_hold' | 'discharging' | 'done' | 'suspended' | 'stopped';

export const GRID_SESSION_STATUSES: readonly GridSessionStatus[] = ['pending', 'charging', 'on_hold', 'discharging', 'done', 'suspended', 'stopped'];

export type GridMeterReading = { occurredAt: string; energyImportWh: string; energyExportWh: string; powerW: string | null; socPercent: string | null };

export type GridSession = {
  sessionId: string;
  siteId: string;
  /**
   * What the driver asked for at plug-in: null only while the site's record of the occupancy
   * has been projected and the session's own plug-in event not yet.
   */
  connectorId: string | null;
  vehicleId: string | null;
  customerId: string | null;
  fleetId: string | null;
  tier: Tier | null;
  pluggedInAt: string | null;
  departureAt: string | null;
  energyNeededWh: string | null;
  targetSocPercent: string | null;
  batteryCapacityWh: string | null;
  socAtPlugInPercent: string | null;
  minPowerW: string | null;
  maxPowerW: string | null;
  v2g: V2gConsent | null;
  meterStartImportWh: string | null;
  meterStartExportWh: string | null;
  status: GridSessionStatus;
  /** The site's setpoint in force (0 once the connector is released), W. */
  setpointW: string;
  /** The site's reason for its allocation status, e.g. 'capacity:feeder-1'; null when charging at max. */
  reason: string | null;
  /** When the status shown began. */
  since: string;
  occupiedAt: string | null;
  releasedAt: string | null;
  /** Net energy since plug-in by the latest reading (import minus export), Wh. */
  deliveredWh: string;
  /** The latest reading by occurredAt; null before the first. */
  lastReading: GridMeterReading | null;
  stoppedAt: string | null;
  stopReason: string | null;
  /** Log position of the first event that made the session known: the order of a site's list. */
  firstPosition: bigint;
};

export type SiteLoadPoint = {
  at: string;
  /** What caused the allocation, e.g. 'plug_in', 'timer', 'curtailment'. */
  trigger: string;
  /** Sum of the positive setpoints, W. */
  evImportW: string;
  /** Sum of the negative setpoints, as a positive figure, W. */
  evExportW: string;
  /** Sessions at a connector of the site once the setpoints were in force. */
  sessionCount: number;
};

export type SetpointRecord = { siteId: string; at: string; trigger: string; powerW: string; status: 'charging' | 'discharging' | 'on_hold' | 'done'; reason: string | null };

type Tier = SessionPluggedInData['tier'];
type Instant = Date | string;
const iso = (value: Instant): string => new Date(value).toISOString();
const isoOrNull = (value: Instant | null): string | null => (value === null ? null : iso(value));

/** numeric as its shortest decimal string: no trailing zeros, "0" for zero. */
const fig = (column: string, as: string) => `trim_scale(${column})::text AS ${as}`;

type NodeRow = {
  node_id: string;
  parent_id: string | null;
  kind: GridNode['kind'];
  name: string;
  import_limit_w: string;
  export_limit_w: string;
  charger: ChargerSpec | null;
  ev_flow_w: string;
  load_at: Instant | null;
  other_load_w: string | null;
  generation_w: string | null;
};

/** The site's tree (nodes not removed, in the order they were added), with the EV flow through each node now. */
export async function siteTree(sql: SqlExecutor, table: TableNames, siteId: string): Promise<GridNode[]> {
  const { rows } = await sql.query<NodeRow>(
    `WITH RECURSIVE live AS (
       SELECT node_id, parent_id FROM ${table('nodes')} WHERE site_id = $1 AND NOT removed
     ), below (ancestor, node_id) AS (
       SELECT node_id, node_id FROM live
       UNION ALL
       SELECT b.ancestor, l.node_id FROM below b JOIN live l ON l.parent_id = b.node_id
     ), flow AS (
       SELECT b.ancestor, sum(s.setpoint_w) AS ev_flow_w
         FROM below b
         JOIN ${table('sessions')} s ON s.site_id = $1 AND s.connector_id = b.node_id AND s.released_at IS NULL
        GROUP BY b.ancestor
     )
     SELECT n.node_id, n.parent_id, n.kind, n.name, ${fig('n.import_limit_w', 'import_limit_w')}, ${fig('n.export_limit_w', 'export_limit_w')},
            n.charger, ${fig('COALESCE(f.ev_flow_w, 0)', 'ev_flow_w')},
            l.occurred_at AS load_at, ${fig('l.other_load_w', 'other_load_w')}, ${fig('l.generation_w', 'generation_w')}
       FROM ${table('nodes')} n
       LEFT JOIN flow f ON f.ancestor = n.node_id
       LEFT JOIN ${table('node_latest_loads')} l ON l.site_id = n.site_id AND l.node_id = n.node_id
      WHERE n.site_id = $1 AND NOT n.removed
      ORDER BY n.added_position, n.node_id`,
    [siteId],
  );
  return rows.map((r) => ({
    siteId,
    nodeId: r.node_id,
    parentId: r.parent_id,
    kind: r.kind,
    name: r.name,
    importLimitW: r.import_limit_w,
    exportLimitW: r.export_limit_w,
    charger: r.charger,
    evFlowW: r.ev_flow_w,
    load: r.load_at === null ? null : { occurredAt: iso(r.load_at), otherLoadW: r.other_load_w!, generationW: r.generation_w! },
  }));
}

type SessionRow = {
  session_id: string;
  site_id: string;
  connector_id: string | null;
  vehicle_id: string | null;
  customer_id: string | null;
  fleet_id: string | null;
  tier: Tier | null;
  plugged_in_at: Instant | null;
  departure_at: Instant | null;
  energy_needed_wh: string | null;
  target_soc_percent: string | null;
  battery_capacity_wh: string | null;
  soc_at_plugin_percent: string | null;
  min_power_w: string | null;
  max_power_w: string | null;
  v2g: V2gConsent | null;
  meter_start_import_wh: string | null;
  meter_start_export_wh: string | null;
  status: GridSessionStatus;
  setpoint_w: string;
  reason: string | null;
  since: Instant;
  occupied_at: Instant | null;
  released_at: Instant | null;
  delivered_wh: string;
  last_reading_at: Instant | null;
  last_import_wh: string | null;
  last_export_wh: string | null;
  last_power_w: string | null;
  last_soc_percent: string | null;
  stopped_at: Instant | null;
  stop_reason: string | null;
  first_position: string;
};

const SESSION_COLUMNS = [
  'session_id, site_id, connector_id, vehicle_id, customer_id, fleet_id, tier, plugged_in_at, departure_at',
  fig('energy_needed_wh', 'energy_needed_wh'),
  fig('target_soc_percent', 'target_soc_percent'),
  fig('battery_capacity_wh', 'battery_capacity_wh'),
  fig('soc_at_plugin_percent', 'soc_at_plugin_percent'),
  fig('min_power_w', 'min_power_w'),
  fig('max_power_w', 'max_power_w'),
  'v2g',
  fig('meter_start_import_wh', 'meter_start_import_wh'),
  fig('meter_start_export_wh', 'meter_start_export_wh'),
  'status',
  fig('setpoint_w', 'setpoint_w'),
  'reason, since, occupied_at, released_at',
  fig('delivered_wh', 'delivered_wh'),
  'last_reading_at',
  fig('last_import_wh', 'last_import_wh'),
  fig('last_export_wh', 'last_export_wh'),
  fig('last_power_w', 'last_power_w'),
  fig('last_soc_percent', 'last_soc_percent'),
  'stopped_at, stop_reason, first_position::text AS first_position',
].join(', ');

function toSession(r: SessionRow): GridSession {
  return {
    firstPosition: BigInt(r.first_position),
    sessionId: r.session_id,
    siteId: r.site_id,
    connectorId: r.connector_id,
    vehicleId: r.vehicle_id,
    customerId: r.customer_id,
    fleetId: r.fleet_id,
    tier: r.tier,
    pluggedInAt: isoOrNull(r.plugged_in_at),
    departureAt: isoOrNull(r.departure_at),
    energyNeededWh: r.energy_needed_wh,
    targetSocPercent: r.target_soc_percent,
    batteryCapacityWh: r.battery_capacity_wh,
    socAtPlugInPercent: r.soc_at_plugin_percent,
    minPowerW: r.min_power_w,
    maxPowerW: r.max_power_w,
    v2g: r.v2g,
    meterStartImportWh: r.meter_start_import_wh,
    meterStartExportWh: r.meter_start_export_wh,
    status: r.status,
    setpointW: r.setpoint_w,
    reason: r.reason,
    since: iso(r.since),
    occupiedAt: isoOrNull(r.occupied_at),
    releasedAt: isoOrNull(r.released_at),
    deliveredWh: r.delivered_wh,
    lastReading:
      r.last_reading_at === null
        ? null
        : {
            occurredAt: iso(r.last_reading_at),
            energyImportWh: r.last_import_wh!,
            energyExportWh: r.last_export_wh!,
            powerW: r.last_power_w,
            socPercent: r.last_soc_percent,
          },
    stoppedAt: isoOrNull(r.stopped_at),
    stopReason: r.stop_reason,
  };
}

/** At most this many sessions per page. */
export const MAX_PAGE_SIZE = 500;

/**
 * Sites by id (byte order, the same on every store), `first` rows of a keyset window in reading
 * order; optionally those whose name contains a text (case-insensitive).
 */
export async function listSites(
  sql: SqlExecutor,
  table: TableNames,
  filter: { nameContains?: string | null },
  page: { first: number } & KeysetWindow<string>,
): Promise<GridSiteSummary[]> {
  const params: unknown[] = [filter.nameContains ?? null, page.first];
  const { where, orderBy } = keysetPage(params, 'n.site_id COLLATE "C"', 'text', page);
  const { rows } = await sql.query<{ site_id: string; name: string; import_limit_w: string; export_limit_w: string; added_position: string }>(
    `SELECT n.site_id, n.name, ${fig('n.import_limit_w', 'import_limit_w')}, ${fig('n.export_limit_w', 'export_limit_w')}, n.added_position::text AS added_position
       FROM ${table('nodes')} n
      WHERE n.kind = 'site' AND n.parent_id IS NULL AND ($1::text IS NULL OR strpos(lower(n.name), lower($1)) > 0) AND ${where}
      ORDER BY ${orderBy} LIMIT $2`,
    params,
  );
  return rows.map((r) => ({ siteId: r.site_id, name: r.name, importLimitW: r.import_limit_w, exportLimitW: r.export_limit_w, registeredPosition: BigInt(r.added_position) }));
}

export async function countSites(sql: SqlExecutor, table: TableNames, filter: { nameContains?: string | null }): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM ${table('nodes')} WHERE kind = 'site' AND parent_id IS NULL AND ($1::text IS NULL OR strpos(lower(name), lower($1)) > 0)`,
    [filter.nameContains ?? null],
  );
  return BigInt(rows[0]?.count ?? '0');
}

/** A meter as the grid read model lists it. */
export type GridMeterSummary = { meterId: string; siteId: string; nodeId: string; measures: string; registeredAt: string; registeredPosition: bigint };

/** Meters by id (byte order), `first` rows of a keyset window in reading order; optionally of one site (and node). */
export async function listMeters(
  sql: SqlExecutor,
  table: TableNames,
  filter: { siteId?: string | null; nodeId?: string | null },
  page: { first: number } & KeysetWindow<string>,
): Promise<GridMeterSummary[]> {
  const params: unknown[] = [filter.siteId ?? null, filter.nodeId ?? null, page.first];
  const { where, orderBy } = keysetPage(params, 'm.meter_id COLLATE "C"', 'text', page);
  const { rows } = await sql.query<{ meter_id: string; site_id: string; node_id: string; measures: string; registered_at: Instant; position: string }>(
    `SELECT m.meter_id, m.site_id, m.node_id, m.measures, m.registered_at, m.position::text AS position FROM ${table('meters')} m
      WHERE ($1::text IS NULL OR m.site_id = $1) AND ($2::text IS NULL OR m.node_id = $2) AND ${where} ORDER BY ${orderBy} LIMIT $3`,
    params,
  );
  return rows.map((r) => ({
    meterId: r.meter_id,
    siteId: r.site_id,
    nodeId: r.node_id,
    measures: r.measures,
    registeredAt: iso(r.registered_at),
    registeredPosition: BigInt(r.position),
  }));
}

export async function countMeters(sql: SqlExecutor, table: TableNames, filter: { siteId?: string | null; nodeId?: string | null }): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM ${table('meters')} WHERE ($1::text IS NULL OR site_id = $1) AND ($2::text IS NULL OR node_id = $2)`,
    [filter.siteId ?? null, filter.nodeId ?? null],
  );
  return BigInt(rows[0]?.count ?? '0');
}

/** Which sessions a list holds: every filter given must match. */
export type SessionFilter = { siteId?: string | null; status?: GridSessionStatus | null; customerId?: string | null; fleetId?: string | null };

/** Where a session stands in a list of sessions: the position it became known at, then its id. */
export type SessionKey = { firstPosition: bigint; sessionId: string };

const sessionWhere = `($1::text IS NULL OR site_id = $1) AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR customer_id = $3) AND ($4::text IS NULL OR fleet_id = $4)`;
const sessionParams = (filter: SessionFilter) => [filter.siteId ?? null, filter.status ?? null, filter.customerId ?? null, filter.fleetId ?? null];

/**
 * Sessions across sites (or one site's, a customer's, a fleet's) in the order they became known,
 * `first` rows of a keyset window (see KeysetWindow) in reading order.
 */
export async function listSessions(
  sql: SqlExecutor,
  table: TableNames,
  filter: SessionFilter,
  page: { first: number } & KeysetWindow<SessionKey>,
): Promise<{ sessions: GridSession[]; hasNextPage: boolean }> {
  if (!Number.isInteger(page.first) || page.first < 1 || page.first > MAX_PAGE_SIZE) {
    throw new RangeError(`first must be a whole number from 1 to ${MAX_PAGE_SIZE}, not ${page.first}`);
  }
  const params: unknown[] = [...sessionParams(filter), page.first + 1];
  const bound = (key: SessionKey | null | undefined) =>
    key === null || key === undefined ? null : [`$${params.push(key.firstPosition.toString())}::bigint`, `$${params.push(key.sessionId)}::text`];
  // s.first_position: the bare name would be SESSION_COLUMNS' text alias, ordering "10" before "9".
  const { where, orderBy } = keysetClauses(['s.first_position', 's.session_id'], { after: bound(page.after), before: bound(page.before), backward: page.backward ?? false });
  const { rows } = await sql.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM ${table('sessions')} s WHERE ${sessionWhere} AND ${where} ORDER BY ${orderBy} LIMIT $5`, params);
  return { sessions: rows.slice(0, page.first).map(toSession), hasNextPage: rows.length > page.first };
}

export async function countSessions(sql: SqlExecutor, table: TableNames, filter: SessionFilter): Promise<bigint> {
  const { rows } = await sql.query<{ count: string }>(`SELECT count(*)::text AS count FROM ${table('sessions')} WHERE ${sessionWhere}`, sessionParams(filter));
  return BigInt(rows[0]?.count ?? '0');
}

/** The sites with a session still at a connector (plugged in, not released): the ones whose allocation the clock can change. */
export async function sitesWithSessionsAtConnectors(sql: SqlExecutor, table: TableNames): Promise<string[]> {
  const { rows } = await sql.query<{ site_id: string }>(`SELECT DISTINCT site_id FROM ${table('sessions')} WHERE status <> 'stopped' AND released_at IS NULL ORDER BY site_id`);
  return rows.map((r) => r.site_id);
}

export async function findSession(sql: SqlExecutor, table: TableNames, sessionId: string): Promise<GridSession | null> {
  const { rows } = await sql.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM ${table('sessions')} WHERE session_id = $1`, [sessionId]);
  return rows[0] ? toSession(rows[0]) : null;
}

/** The site's EV load after each allocation with `at` in [from, to), oldest first. */
export async function siteLoadHistory(sql: SqlExecutor, table: TableNames, siteId: string, range: { from: string; to: string }): Promise<SiteLoadPoint[]> {
  const { rows } = await sql.query<{ at: Instant; trigger: string; ev_import_w: string; ev_export_w: string; session_count: number }>(
    `SELECT at, trigger, ${fig('ev_import_w', 'ev_import_w')}, ${fig('ev_export_w', 'ev_export_w')}, session_count
       FROM ${table('site_load')}
      WHERE site_id = $1 AND at >= $2::timestamptz AND at < $3::timestamptz
      ORDER BY at, position`,
    [siteId, range.from, range.to],
  );
  return rows.map((r) => ({ at: iso(r.at), trigger: r.trigger, evImportW: r.ev_import_w, evExportW: r.ev_export_w, sessionCount: r.session_count }));
}

/** Every setpoint the site gave the session, oldest first. */
export async function setpointHistory(sql: SqlExecutor, table: TableNames, sessionId: string): Promise<SetpointRecord[]> {
  const { rows } = await sql.query<{ site_id: string; at: Instant; trigger: string; power_w: string; status: SetpointRecord['status']; reason: string | null }>(
    `SELECT site_id, at, trigger, ${fig('power_w', 'power_w')}, status, reason
       FROM ${table('setpoint_history')}
      WHERE session_id = $1
      ORDER BY position`,
    [sessionId],
  );
  return rows.map((r) => ({ siteId: r.site_id, at: iso(r.at), trigger: r.trigger, powerW: r.power_w, status: r.status, reason: r.reason }));
}
