import { SITE_EVENT_TYPES, type SessionEvent, type SiteEvent } from '@v2g/domain';
import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';
import type { Projection, TableNames } from '@v2g/ledger';

/**
 * The grid read model: per site, its electrical tree with static limits, measured non-EV load,
 * congestion rules and discharge requests; per session, what was asked, what the site allocated
 * and what the meter says; and the history of setpoints and of the site's EV load.
 *
 * Power and energy are NUMERIC (never float), instants timestamptz. Every row is a function of the
 * events in log order only (no clock), so a rebuild from zero gives the same rows.
 */
export const GRID_TABLES = [
  'nodes',
  'node_loads',
  'node_latest_loads',
  'rules',
  'discharge_requests',
  'sessions',
  'meter_segments',
  'setpoint_history',
  'site_load',
] as const;

type GridEvent = SiteEvent | SessionEvent;

const GRID_EVENT_TYPES: ReadonlySet<string> = new Set<GridEvent['type']>([
  ...SITE_EVENT_TYPES,
  'SessionPluggedIn',
  'SessionSuspended',
  'SessionReactivated',
  'SessionStopped',
  'SessionDepartureChanged',
  'SessionMeterReadingRecorded',
  'SessionMeterReadingCorrected',
  'SessionMeterReset',
]);

/**
 * The status shown for a session: the session stream's stopped/suspended win over the site's
 * allocation status ('pending' until the site has allocated). `lifecycle` is null until the
 * session's own plug-in event is seen (the site may record the occupancy first).
 */
const statusOf = (lifecycle: string, allocation: string) =>
  `(CASE WHEN ${lifecycle} IN ('stopped', 'suspended') THEN ${lifecycle} ELSE ${allocation} END)`;

/**
 * `since` (when the status shown began) after a change to `newStatus` at `at`: kept when the status
 * stays, and when a powered turn goes from charging to discharging or back (as the site keeps it).
 */
const sinceAfter = (row: string, newStatus: string, at: string) =>
  `(CASE WHEN ${newStatus} = ${row}.status
           OR (${newStatus} IN ('charging', 'discharging') AND ${row}.status IN ('charging', 'discharging'))
         THEN ${row}.since ELSE ${at} END)`;

export const gridProjection: Projection = {
  name: 'grid',
  // v2: delivered energy counts across meter resets (meter_segments); v1 took last reading − meter start.
  version: 2,
  tables: GRID_TABLES,

  async setup(tx, table) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('nodes')} (
      site_id text NOT NULL,
      node_id text NOT NULL,
      parent_id text,
      kind text NOT NULL,
      name text NOT NULL,
      import_limit_w numeric NOT NULL,
      export_limit_w numeric NOT NULL,
      charger jsonb,
      removed boolean NOT NULL DEFAULT false,
      added_position bigint NOT NULL,
      PRIMARY KEY (site_id, node_id)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('node_loads')} (
      site_id text NOT NULL,
      node_id text NOT NULL,
      occurred_at timestamptz NOT NULL,
      other_load_w numeric NOT NULL,
      generation_w numeric NOT NULL,
      PRIMARY KEY (site_id, node_id, occurred_at)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('node_latest_loads')} (
      site_id text NOT NULL,
      node_id text NOT NULL,
      occurred_at timestamptz NOT NULL,
      other_load_w numeric NOT NULL,
      generation_w numeric NOT NULL,
      PRIMARY KEY (site_id, node_id)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('rules')} (
      site_id text NOT NULL,
      rule_id text NOT NULL,
      rule jsonb NOT NULL,
      removed boolean NOT NULL DEFAULT false,
      PRIMARY KEY (site_id, rule_id)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('discharge_requests')} (
      site_id text NOT NULL,
      request_id text NOT NULL,
      node_id text NOT NULL,
      start_at timestamptz NOT NULL,
      end_at timestamptz NOT NULL,
      power_w numeric NOT NULL,
      source text,
      cancelled boolean NOT NULL DEFAULT false,
      PRIMARY KEY (site_id, request_id)
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('sessions')} (
      session_id text PRIMARY KEY,
      site_id text NOT NULL,
      connector_id text,
      vehicle_id text,
      customer_id text,
      fleet_id text,
      tier text,
      plugged_in_at timestamptz,
      departure_at timestamptz,
      energy_needed_wh numeric,
      target_soc_percent numeric,
      battery_capacity_wh numeric,
      soc_at_plugin_percent numeric,
      min_power_w numeric,
      max_power_w numeric,
      v2g jsonb,
      meter_start_import_wh numeric,
      meter_start_export_wh numeric,
      lifecycle text,
      allocation_status text NOT NULL DEFAULT 'pending',
      status text GENERATED ALWAYS AS ${statusOf('lifecycle', 'allocation_status')} STORED,
      setpoint_w numeric NOT NULL DEFAULT 0,
      reason text,
      since timestamptz NOT NULL,
      occupied_at timestamptz,
      released_at timestamptz,
      last_reading_at timestamptz,
      last_import_wh numeric,
      last_export_wh numeric,
      last_power_w numeric,
      last_soc_percent numeric,
      -- Net energy (import minus export) over the meter's segments: see meter_segments.
      delivered_wh numeric NOT NULL DEFAULT 0,
      stopped_at timestamptz,
      stop_reason text,
      first_position bigint NOT NULL
    )`);
    // A session's meter in segments: the meter start opens the first (start_at -infinity: it also
    // takes readings dated before the plug-in), each reset opens another. last_* is the latest
    // reading of the segment by occurredAt; delivered = sum over segments of (last − start).
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('meter_segments')} (
      session_id text NOT NULL,
      start_at timestamptz NOT NULL,
      start_import_wh numeric NOT NULL,
      start_export_wh numeric NOT NULL,
      last_at timestamptz,
      last_import_wh numeric,
      last_export_wh numeric,
      PRIMARY KEY (session_id, start_at)
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('sessions', 'site')} ON ${table('sessions')} (site_id, first_position)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('sessions', 'connector')} ON ${table('sessions')} (site_id, connector_id)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('setpoint_history')} (
      site_id text NOT NULL,
      position bigint NOT NULL,
      session_id text NOT NULL,
      at timestamptz NOT NULL,
      trigger text NOT NULL,
      power_w numeric NOT NULL,
      status text NOT NULL,
      reason text,
      PRIMARY KEY (site_id, position, session_id)
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('setpoint_history', 'session')} ON ${table('setpoint_history')} (session_id, position)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('site_load')} (
      site_id text NOT NULL,
      position bigint NOT NULL,
      at timestamptz NOT NULL,
      trigger text NOT NULL,
      ev_import_w numeric NOT NULL,
      ev_export_w numeric NOT NULL,
      session_count integer NOT NULL,
      PRIMARY KEY (site_id, position)
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS ${table.index('site_load', 'at')} ON ${table('site_load')} (site_id, at, position)`);
  },

  async apply(tx, recorded, table) {
    if (!GRID_EVENT_TYPES.has(recorded.type)) return;
    // The store validated the data against schemas/events on append.
    const event = { type: recorded.type, data: recorded.data } as GridEvent;
    await applyGridEvent(tx, table, event, recorded);
  },
};

async function applyGridEvent(tx: SqlExecutor, table: TableNames, event: GridEvent, recorded: RecordedEvent): Promise<void> {
  const position = recorded.globalPosition.toString();
  switch (event.type) {
    case 'SiteRegistered': {
      const { siteId, name, importLimitW, exportLimitW } = event.data;
      await tx.query(
        `INSERT INTO ${table('nodes')} (site_id, node_id, parent_id, kind, name, import_limit_w, export_limit_w, charger, removed, added_position)
         VALUES ($1, $1, NULL, 'site', $2, $3::numeric, $4::numeric, NULL, false, $5)
         ON CONFLICT (site_id, node_id) DO UPDATE
           SET name = EXCLUDED.name, import_limit_w = EXCLUDED.import_limit_w, export_limit_w = EXCLUDED.export_limit_w, removed = false`,
        [siteId, name, importLimitW, exportLimitW, position],
      );
      return;
    }
    case 'SiteRenamed':
      await tx.query(`UPDATE ${table('nodes')} SET name = $2 WHERE site_id = $1 AND node_id = $1`, [event.data.siteId, event.data.name]);
      return;
    case 'SiteConfigured':
      // Rotation and price settings: the allocation's business, nothing this read model shows.
      return;
    case 'NodeAdded': {
      const { siteId, nodeId, parentId, kind, name, importLimitW, exportLimitW, charger } = event.data;
      await tx.query(
        `INSERT INTO ${table('nodes')} (site_id, node_id, parent_id, kind, name, import_limit_w, export_limit_w, charger, removed, added_position)
         VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::numeric, $8::jsonb, false, $9)
         ON CONFLICT (site_id, node_id) DO UPDATE
           SET parent_id = EXCLUDED.parent_id, kind = EXCLUDED.kind, name = EXCLUDED.name, import_limit_w = EXCLUDED.import_limit_w,
               export_limit_w = EXCLUDED.export_limit_w, charger = EXCLUDED.charger, removed = false, added_position = EXCLUDED.added_position`,
        [siteId, nodeId, parentId, kind, name, importLimitW, exportLimitW, charger === null ? null : JSON.stringify(charger), position],
      );
      return;
    }
    case 'NodeLimitsChanged': {
      const { siteId, nodeId, importLimitW, exportLimitW } = event.data;
      await tx.query(`UPDATE ${table('nodes')} SET import_limit_w = $3::numeric, export_limit_w = $4::numeric WHERE site_id = $1 AND node_id = $2`, [
        siteId,
        nodeId,
        importLimitW,
        exportLimitW,
      ]);
      return;
    }
    case 'ChargerChanged':
      await tx.query(`UPDATE ${table('nodes')} SET charger = $3::jsonb WHERE site_id = $1 AND node_id = $2`, [
        event.data.siteId,
        event.data.nodeId,
        JSON.stringify(event.data.charger),
      ]);
      return;
    case 'NodeRemoved':
      await tx.query(`UPDATE ${table('nodes')} SET removed = true WHERE site_id = $1 AND node_id = $2`, [event.data.siteId, event.data.nodeId]);
      return;
    case 'NodeLoadMeasured': {
      const { siteId, nodeId, occurredAt, otherLoadW, generationW } = event.data;
      const params = [siteId, nodeId, occurredAt, otherLoadW, generationW];
      // A second measurement for the same instant is a correction: the later-recorded one wins.
      await tx.query(
        `INSERT INTO ${table('node_loads')} (site_id, node_id, occurred_at, other_load_w, generation_w)
         VALUES ($1, $2, $3::timestamptz, $4::numeric, $5::numeric)
         ON CONFLICT (site_id, node_id, occurred_at) DO UPDATE SET other_load_w = EXCLUDED.other_load_w, generation_w = EXCLUDED.generation_w`,
        params,
      );
      // A late measurement (older than the latest) goes into the history only.
      await tx.query(
        `INSERT INTO ${table('node_latest_loads')} AS l (site_id, node_id, occurred_at, other_load_w, generation_w)
         VALUES ($1, $2, $3::timestamptz, $4::numeric, $5::numeric)
         ON CONFLICT (site_id, node_id) DO UPDATE
           SET occurred_at = EXCLUDED.occurred_at, other_load_w = EXCLUDED.other_load_w, generation_w = EXCLUDED.generation_w
           WHERE EXCLUDED.occurred_at >= l.occurred_at`,
        params,
      );
      return;
    }
    case 'CongestionRuleAdded':
      await tx.query(
        `INSERT INTO ${table('rules')} (site_id, rule_id, rule, removed) VALUES ($1, $2, $3::jsonb, false)
         ON CONFLICT (site_id, rule_id) DO UPDATE SET rule = EXCLUDED.rule, removed = false`,
        [event.data.siteId, event.data.rule.ruleId, JSON.stringify(event.data.rule)],
      );
      return;
    case 'CongestionRuleRemoved':
      await tx.query(`UPDATE ${table('rules')} SET removed = true WHERE site_id = $1 AND rule_id = $2`, [event.data.siteId, event.data.ruleId]);
      return;
    case 'DischargeRequested': {
      const { siteId, requestId, nodeId, start, end, powerW, source } = event.data;
      await tx.query(
        `INSERT INTO ${table('discharge_requests')} (site_id, request_id, node_id, start_at, end_at, power_w, source, cancelled)
         VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6::numeric, $7, false)
         ON CONFLICT (site_id, request_id) DO UPDATE
           SET node_id = EXCLUDED.node_id, start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
               power_w = EXCLUDED.power_w, source = EXCLUDED.source, cancelled = false`,
        [siteId, requestId, nodeId, start, end, powerW, source],
      );
      return;
    }
    case 'DischargeRequestCancelled':
      await tx.query(`UPDATE ${table('discharge_requests')} SET cancelled = true WHERE site_id = $1 AND request_id = $2`, [
        event.data.siteId,
        event.data.requestId,
      ]);
      return;
    case 'ConnectorOccupied': {
      const { siteId, connectorId, sessionId, at } = event.data;
      // A new occupancy starts pending with no power, as on the site.
      await tx.query(
        `INSERT INTO ${table('sessions')} AS s (session_id, site_id, connector_id, allocation_status, setpoint_w, reason, since, occupied_at, first_position)
         VALUES ($1, $2, $3, 'pending', 0, NULL, $4::timestamptz, $4::timestamptz, $5)
         ON CONFLICT (session_id) DO UPDATE
           SET site_id = EXCLUDED.site_id, connector_id = EXCLUDED.connector_id, allocation_status = 'pending', setpoint_w = 0,
               reason = NULL, occupied_at = EXCLUDED.occupied_at, released_at = NULL,
               since = ${sinceAfter('s', statusOf('s.lifecycle', `'pending'`), 'EXCLUDED.since')}`,
        [sessionId, siteId, connectorId, at, position],
      );
      return;
    }
    case 'ConnectorReleased':
      // The site no longer allocates to the session: its setpoint is gone with the occupancy.
      await tx.query(`UPDATE ${table('sessions')} SET released_at = $2::timestamptz, setpoint_w = 0 WHERE session_id = $1`, [
        event.data.sessionId,
        event.data.at,
      ]);
      return;
    case 'SetpointsAssigned': {
      const { siteId, at, trigger, setpoints } = event.data;
      const entries = JSON.stringify(setpoints);
      // The last entry for a session wins should one allocation name it twice.
      await tx.query(
        `WITH entries AS (
           SELECT DISTINCT ON (e."sessionId") e."sessionId" AS session_id, e."powerW" AS power_w, e.status, e.reason
             FROM ROWS FROM (jsonb_to_recordset($4::jsonb) AS ("sessionId" text, "powerW" numeric, status text, reason text))
                  WITH ORDINALITY AS e("sessionId", "powerW", status, reason, n)
            ORDER BY e."sessionId", e.n DESC
         )
         INSERT INTO ${table('sessions')} AS s (session_id, site_id, allocation_status, setpoint_w, reason, since, first_position)
         SELECT session_id, $1, status, power_w, reason, $2::timestamptz, $3 FROM entries
         ON CONFLICT (session_id) DO UPDATE
           SET allocation_status = EXCLUDED.allocation_status, setpoint_w = EXCLUDED.setpoint_w, reason = EXCLUDED.reason,
               since = ${sinceAfter('s', statusOf('s.lifecycle', 'EXCLUDED.allocation_status'), 'EXCLUDED.since')}`,
        [siteId, at, position, entries],
      );
      await tx.query(
        `INSERT INTO ${table('setpoint_history')} (site_id, position, session_id, at, trigger, power_w, status, reason)
         SELECT $1, $2, e."sessionId", $3::timestamptz, $4, e."powerW", e.status, e.reason
           FROM jsonb_to_recordset($5::jsonb) AS e("sessionId" text, "powerW" numeric, status text, reason text)
         ON CONFLICT (site_id, position, session_id) DO UPDATE
           SET power_w = EXCLUDED.power_w, status = EXCLUDED.status, reason = EXCLUDED.reason`,
        [siteId, position, at, trigger, entries],
      );
      // The site's EV load once these setpoints are in force: every session still at a connector.
      await tx.query(
        `INSERT INTO ${table('site_load')} (site_id, position, at, trigger, ev_import_w, ev_export_w, session_count)
         SELECT $1, $2, $3::timestamptz, $4,
                COALESCE(sum(setpoint_w) FILTER (WHERE setpoint_w > 0), 0),
                COALESCE(-sum(setpoint_w) FILTER (WHERE setpoint_w < 0), 0),
                count(*) FILTER (WHERE occupied_at IS NOT NULL)
           FROM ${table('sessions')}
          WHERE site_id = $1 AND released_at IS NULL
         ON CONFLICT (site_id, position) DO NOTHING`,
        [siteId, position, at, trigger],
      );
      return;
    }
    case 'SessionPutOnHold':
    case 'SessionResumed':
      // Notifications that follow a SetpointsAssigned, which already recorded the change.
      return;
    case 'SessionPluggedIn': {
      const d = event.data;
      // The site may have recorded the occupancy (and even setpoints) first: keep what it said.
      await tx.query(
        `INSERT INTO ${table('sessions')} AS s (
           session_id, site_id, connector_id, vehicle_id, customer_id, fleet_id, tier, plugged_in_at, departure_at,
           energy_needed_wh, target_soc_percent, battery_capacity_wh, soc_at_plugin_percent, min_power_w, max_power_w, v2g,
           meter_start_import_wh, meter_start_export_wh, lifecycle, allocation_status, since, first_position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz, $10::numeric, $11::numeric, $12::numeric, $13::numeric,
                 $14::numeric, $15::numeric, $16::jsonb, $17::numeric, $18::numeric, 'active', 'pending', $8::timestamptz, $19)
         ON CONFLICT (session_id) DO UPDATE
           SET site_id = EXCLUDED.site_id, connector_id = EXCLUDED.connector_id, vehicle_id = EXCLUDED.vehicle_id,
               customer_id = EXCLUDED.customer_id, fleet_id = EXCLUDED.fleet_id, tier = EXCLUDED.tier,
               plugged_in_at = EXCLUDED.plugged_in_at, departure_at = EXCLUDED.departure_at, energy_needed_wh = EXCLUDED.energy_needed_wh,
               target_soc_percent = EXCLUDED.target_soc_percent, battery_capacity_wh = EXCLUDED.battery_capacity_wh,
               soc_at_plugin_percent = EXCLUDED.soc_at_plugin_percent, min_power_w = EXCLUDED.min_power_w, max_power_w = EXCLUDED.max_power_w,
               v2g = EXCLUDED.v2g, meter_start_import_wh = EXCLUDED.meter_start_import_wh, meter_start_export_wh = EXCLUDED.meter_start_export_wh,
               lifecycle = 'active'`,
        [
          d.sessionId,
          d.siteId,
          d.connectorId,
          d.vehicleId,
          d.customerId,
          d.fleetId,
          d.tier,
          d.pluggedInAt,
          d.departureAt,
          d.energyNeededWh,
          d.targetSocPercent,
          d.batteryCapacityWh,
          d.socPercent,
          d.minPowerW,
          d.maxPowerW,
          d.v2g === null ? null : JSON.stringify(d.v2g),
          d.meterStartImportWh,
          d.meterStartExportWh,
          position,
        ],
      );
      await tx.query(
        `INSERT INTO ${table('meter_segments')} (session_id, start_at, start_import_wh, start_export_wh)
         VALUES ($1, '-infinity', $2::numeric, $3::numeric) ON CONFLICT DO NOTHING`,
        [d.sessionId, d.meterStartImportWh, d.meterStartExportWh],
      );
      return;
    }
    case 'SessionSuspended':
      await setLifecycle(tx, table, event.data.sessionId, 'suspended', event.data.at);
      return;
    case 'SessionReactivated':
      await setLifecycle(tx, table, event.data.sessionId, 'active', event.data.at);
      return;
    case 'SessionStopped':
      await setLifecycle(tx, table, event.data.sessionId, 'stopped', event.data.at, event.data.reason);
      return;
    case 'SessionDepartureChanged':
      await tx.query(`UPDATE ${table('sessions')} SET departure_at = $2::timestamptz WHERE session_id = $1`, [
        event.data.sessionId,
        event.data.departureAt,
      ]);
      return;
    case 'SessionMeterReadingRecorded':
    case 'SessionMeterReadingCorrected': {
      const { sessionId, occurredAt, energyImportWh, energyExportWh, powerW, socPercent } = event.data;
      // A late reading (older than the latest) changes nothing shown; a correction of the latest does.
      await tx.query(
        `UPDATE ${table('sessions')}
            SET last_reading_at = $2::timestamptz, last_import_wh = $3::numeric, last_export_wh = $4::numeric,
                last_power_w = $5::numeric, last_soc_percent = $6::numeric
          WHERE session_id = $1 AND (last_reading_at IS NULL OR last_reading_at <= $2::timestamptz)`,
        [sessionId, occurredAt, energyImportWh, energyExportWh, powerW, socPercent],
      );
      // The same for the segment the reading belongs to (the last one starting at or before it).
      await tx.query(
        `UPDATE ${table('meter_segments')} AS g
            SET last_at = $2::timestamptz, last_import_wh = $3::numeric, last_export_wh = $4::numeric
          WHERE g.session_id = $1
            AND g.start_at = (SELECT max(start_at) FROM ${table('meter_segments')} WHERE session_id = $1 AND start_at <= $2::timestamptz)
            AND (g.last_at IS NULL OR g.last_at <= $2::timestamptz)`,
        [sessionId, occurredAt, energyImportWh, energyExportWh],
      );
      await updateDelivered(tx, table, sessionId);
      return;
    }
    case 'SessionMeterReset': {
      const { sessionId, occurredAt, energyImportWh, energyExportWh } = event.data;
      // The session aggregate refuses a reset before readings of the meter it replaces, so the
      // new segment has no reading yet.
      await tx.query(
        `INSERT INTO ${table('meter_segments')} (session_id, start_at, start_import_wh, start_export_wh)
         VALUES ($1, $2::timestamptz, $3::numeric, $4::numeric) ON CONFLICT DO NOTHING`,
        [sessionId, occurredAt, energyImportWh, energyExportWh],
      );
      await updateDelivered(tx, table, sessionId);
      return;
    }
    default: {
      const unreachable: never = event;
      throw new Error(`unhandled grid event ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Net energy delivered to a session: over its meter's segments, (last − start) import minus export. */
async function updateDelivered(tx: SqlExecutor, table: TableNames, sessionId: string) {
  await tx.query(
    `UPDATE ${table('sessions')}
        SET delivered_wh = COALESCE((
          SELECT sum((COALESCE(g.last_import_wh, g.start_import_wh) - g.start_import_wh) - (COALESCE(g.last_export_wh, g.start_export_wh) - g.start_export_wh))
            FROM ${table('meter_segments')} AS g WHERE g.session_id = $1), 0)
      WHERE session_id = $1`,
    [sessionId],
  );
}

async function setLifecycle(tx: SqlExecutor, table: TableNames, sessionId: string, lifecycle: string, at: string, stopReason?: string) {
  await tx.query(
    `UPDATE ${table('sessions')} AS s
        SET lifecycle = $2,
            since = ${sinceAfter('s', statusOf('$2::text', 's.allocation_status'), '$3::timestamptz')},
            stopped_at = CASE WHEN $2 = 'stopped' THEN $3::timestamptz ELSE s.stopped_at END,
            stop_reason = CASE WHEN $2 = 'stopped' THEN $4 ELSE s.stop_reason END
      WHERE session_id = $1`,
    [sessionId, lifecycle, at, stopReason ?? null],
  );
}
