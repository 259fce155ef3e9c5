import { SITE_EVENT_TYPES, type SessionEvent, type SiteEvent } from '@v2g/domain';
import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';
import type { Projection, TableNames } from '@v2g/read-model';

/**
 * The grid read model: per site, its electrical tree with static limits, measured non-EV load,
 * congestion rules and discharge requests; per session, what was asked, what the site allocated
 * and what the meter says; and the history of setpoints and of the site's EV load.
 *
 * Power and energy are NUMERIC (never float), instants timestamptz. Every row is a function of the
 * events in log order only (no clock), so a rebuild from zero gives the same rows.
 *
 * `applyBatch` does a batch in at most three reads and eleven multi-row writes, whatever its size:
 * it loads the nodes, sessions and meter segments the batch names, replays the batch on them in
 * memory (in log order, as `apply` would, event after event), then writes every row it changed
 * once. Figures are never added up in JavaScript: the values are carried as the decimal strings
 * PostgreSQL prints, and the sums (a session's delivered energy, a site's EV load) are computed by
 * PostgreSQL from the rows as they stood at the event that asked for them. `apply` is the same code
 * on a batch of one.
 */

export const GRID_TABLES = [
  'meters',
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

/**
 * The status shown for a session: the session stream's stopped/suspended win over the site's
 * allocation status ('pending' until the site has allocated). `lifecycle` is null until the
 * session's own plug-in event is seen (the site may record the occupancy first).
 */
const statusOf = (lifecycle: string, allocation: string) => `(CASE WHEN ${lifecycle} IN ('stopped', 'suspended') THEN ${lifecycle} ELSE ${allocation} END)`;

export const gridProjection: Projection = {
  name: 'grid',
  // v3: the site and node meters (meters), for the list of meters.
  // v2: delivered energy counts across meter resets (meter_segments); v1 took last reading − meter start.
  version: 3,
  tables: GRID_TABLES,

  async setup(tx, table) {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${table('meters')} (
      meter_id text PRIMARY KEY,
      site_id text NOT NULL,
      node_id text NOT NULL,
      measures text NOT NULL,
      registered_at timestamptz NOT NULL,
      position bigint NOT NULL
    )`);
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

  apply(tx, event, table) {
    return applyGridEvents(tx, [event], table);
  },

  applyBatch(tx, events, table) {
    return applyGridEvents(tx, events, table);
  },
};

// ---- rows in memory -------------------------------------------------------------------------------

/**
 * How a column travels: read as text (numeric and bigint as PostgreSQL prints them, so they go back
 * unchanged; instants in UTC with microseconds, see `instant`), written back through unnest.
 */
type Kind = 'text' | 'numeric' | 'instant' | 'jsonb' | 'bigint' | 'boolean';
type Columns = readonly (readonly [name: string, kind: Kind])[];
type Row<C extends Columns> = { [E in C[number] as E[0]]: E[1] extends 'boolean' ? boolean : string | null };

const NODE_COLUMNS = [
  ['site_id', 'text'],
  ['node_id', 'text'],
  ['parent_id', 'text'],
  ['kind', 'text'],
  ['name', 'text'],
  ['import_limit_w', 'numeric'],
  ['export_limit_w', 'numeric'],
  ['charger', 'jsonb'],
  ['removed', 'boolean'],
  ['added_position', 'bigint'],
] as const satisfies Columns;

/** Every column but `status`, which PostgreSQL generates from lifecycle and allocation_status. */
const SESSION_COLUMNS = [
  ['session_id', 'text'],
  ['site_id', 'text'],
  ['connector_id', 'text'],
  ['vehicle_id', 'text'],
  ['customer_id', 'text'],
  ['fleet_id', 'text'],
  ['tier', 'text'],
  ['plugged_in_at', 'instant'],
  ['departure_at', 'instant'],
  ['energy_needed_wh', 'numeric'],
  ['target_soc_percent', 'numeric'],
  ['battery_capacity_wh', 'numeric'],
  ['soc_at_plugin_percent', 'numeric'],
  ['min_power_w', 'numeric'],
  ['max_power_w', 'numeric'],
  ['v2g', 'jsonb'],
  ['meter_start_import_wh', 'numeric'],
  ['meter_start_export_wh', 'numeric'],
  ['lifecycle', 'text'],
  ['allocation_status', 'text'],
  ['setpoint_w', 'numeric'],
  ['reason', 'text'],
  ['since', 'instant'],
  ['occupied_at', 'instant'],
  ['released_at', 'instant'],
  ['last_reading_at', 'instant'],
  ['last_import_wh', 'numeric'],
  ['last_export_wh', 'numeric'],
  ['last_power_w', 'numeric'],
  ['last_soc_percent', 'numeric'],
  ['delivered_wh', 'numeric'],
  ['stopped_at', 'instant'],
  ['stop_reason', 'text'],
  ['first_position', 'bigint'],
] as const satisfies Columns;

const SEGMENT_COLUMNS = [
  ['session_id', 'text'],
  ['start_at', 'instant'],
  ['start_import_wh', 'numeric'],
  ['start_export_wh', 'numeric'],
  ['last_at', 'instant'],
  ['last_import_wh', 'numeric'],
  ['last_export_wh', 'numeric'],
] as const satisfies Columns;

type NodeRow = Row<typeof NODE_COLUMNS>;
type SessionRow = Row<typeof SESSION_COLUMNS>;
type SegmentRow = Row<typeof SEGMENT_COLUMNS>;

/** A session row as the table's defaults make it: the insert that creates it sets the rest. */
const newSession = (sessionId: string, siteId: string, since: string, firstPosition: string): SessionRow => ({
  session_id: sessionId,
  site_id: siteId,
  connector_id: null,
  vehicle_id: null,
  customer_id: null,
  fleet_id: null,
  tier: null,
  plugged_in_at: null,
  departure_at: null,
  energy_needed_wh: null,
  target_soc_percent: null,
  battery_capacity_wh: null,
  soc_at_plugin_percent: null,
  min_power_w: null,
  max_power_w: null,
  v2g: null,
  meter_start_import_wh: null,
  meter_start_export_wh: null,
  lifecycle: null,
  allocation_status: 'pending',
  setpoint_w: '0',
  reason: null,
  since,
  occupied_at: null,
  released_at: null,
  last_reading_at: null,
  last_import_wh: null,
  last_export_wh: null,
  last_power_w: null,
  last_soc_percent: null,
  delivered_wh: '0',
  stopped_at: null,
  stop_reason: null,
  first_position: firstPosition,
});

/**
 * Instants in memory are UTC with microseconds ("2026-11-27T17:00:00.000000Z"), as the loads print
 * them, so that two of them compare as strings; a meter's first segment starts at '-infinity'.
 */
const MINUS_INFINITY = '-infinity';
const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/;

function instant(text: string): string {
  // The store checked the event against schemas/events: UTC with milliseconds. Anything else ISO is
  // brought to UTC here; what is not ISO at all is a bug.
  const match = ISO_INSTANT.exec(text);
  if (!match) throw new Error(`grid: not an ISO-8601 instant: ${JSON.stringify(text)}`);
  const [, seconds, fraction = '', zone] = match;
  const utc = zone === 'Z' ? seconds! : new Date(Date.parse(`${seconds}${zone}`)).toISOString().slice(0, 19);
  return `${utc}.${fraction.padEnd(6, '0')}Z`;
}

const atOrBefore = (a: string, b: string) => a === MINUS_INFINITY || (b !== MINUS_INFINITY && a <= b);

/** The status shown for a session: as the generated column `status` computes it (statusOf). */
const shownStatus = (lifecycle: string | null, allocation: string | null) => (lifecycle === 'stopped' || lifecycle === 'suspended' ? lifecycle : allocation);

const POWERED: ReadonlySet<string | null> = new Set(['charging', 'discharging']);

/**
 * `since` once the session's status becomes `newStatus` at `at`: kept when the status stays, and
 * when a powered turn goes from charging to discharging or back (as the site keeps it).
 */
function sinceAfter(row: SessionRow, newStatus: string | null, at: string): string | null {
  const old = shownStatus(row.lifecycle, row.allocation_status);
  return newStatus === old || (POWERED.has(newStatus) && POWERED.has(old)) ? row.since : at;
}

// ---- replaying a batch in memory ----------------------------------------------------------------

/** Every session event type, once (exhaustive by construction); the site's are SITE_EVENT_TYPES. */
const SESSION_EVENT_TYPES = {
  SessionPluggedIn: true,
  SessionSuspended: true,
  SessionReactivated: true,
  SessionStopped: true,
  SessionDepartureChanged: true,
  SessionMeterReadingRecorded: true,
  SessionMeterReadingCorrected: true,
  SessionMeterReset: true,
} as const satisfies Record<SessionEvent['type'], true>;

/** Every event type the grid read model reads. */
const GRID_EVENT_TYPES: ReadonlySet<string> = new Set<string>([...SITE_EVENT_TYPES, ...Object.keys(SESSION_EVENT_TYPES)]);

const key = (...parts: string[]) => parts.join('\u0000');

/** A measurement of a node's load: `n` orders measurements of one instant (the later-recorded wins). */
type LoadRow = { site_id: string; node_id: string; occurred_at: string; other_load_w: string; generation_w: string; n: number };

/**
 * What a batch does to a rule (or a discharge request) of one key, folded: `upsert` is the row the
 * last add (or request) left, with a later removal (or cancellation) applied; null when the batch
 * only removes (cancels) it, which flags the row if there is one.
 */
type Upsert<T> = { siteId: string; id: string; upsert: T | null };

type HistoryRow = { site_id: string; position: string; session_id: string; at: string; trigger: string; power_w: string; status: string; reason: string | null };

/** A site's EV load after an allocation (`n`: its number in the batch), and the batch's own sessions at the site then. */
type SiteLoadRow = { n: number; site_id: string; position: string; at: string; trigger: string };
type AllocatedRow = { n: number; setpoint_w: string | null; occupied: boolean };

type Batch = {
  nodes: Map<string, NodeRow | null>;
  changedNodes: Set<string>;
  loads: LoadRow[];
  rules: Map<string, Upsert<{ rule: string; removed: boolean }>>;
  requests: Map<string, Upsert<DischargeRequest>>;
  /** The sessions the batch names, as loaded (null: no row) then replayed. */
  sessions: Map<string, SessionRow | null>;
  changedSessions: Set<string>;
  /** Their meter segments. */
  segments: Map<string, SegmentRow[]>;
  changedSegments: Set<SegmentRow>;
  /** delivered_wh to recompute from these segment values (as they stood at the session's last reading or reset). */
  recounts: Map<string, SegmentRow[]>;
  history: HistoryRow[];
  siteLoads: SiteLoadRow[];
  allocated: AllocatedRow[];
};

type DischargeRequest = { node_id: string; start_at: string; end_at: string; power_w: string; source: string | null; cancelled: boolean };

/** What the batch names: the rows to read first. */
function wanted(events: readonly RecordedEvent[]): { nodes: [string, string][]; sessions: string[]; segments: string[] } {
  const nodes = new Map<string, [string, string]>();
  const sessions = new Set<string>();
  const segments = new Set<string>();
  for (const recorded of events) {
    if (!GRID_EVENT_TYPES.has(recorded.type)) continue;
    const event = { type: recorded.type, data: recorded.data } as GridEvent;
    switch (event.type) {
      case 'SiteRegistered':
      case 'SiteRenamed':
        nodes.set(key(event.data.siteId, event.data.siteId), [event.data.siteId, event.data.siteId]);
        break;
      case 'NodeAdded':
      case 'NodeLimitsChanged':
      case 'ChargerChanged':
      case 'NodeRemoved':
        nodes.set(key(event.data.siteId, event.data.nodeId), [event.data.siteId, event.data.nodeId]);
        break;
      case 'ConnectorOccupied':
      case 'ConnectorReleased':
      case 'SessionSuspended':
      case 'SessionReactivated':
      case 'SessionStopped':
      case 'SessionDepartureChanged':
        sessions.add(event.data.sessionId);
        break;
      case 'SetpointsAssigned':
        for (const setpoint of event.data.setpoints) sessions.add(setpoint.sessionId);
        break;
      case 'SessionPluggedIn':
      case 'SessionMeterReadingRecorded':
      case 'SessionMeterReadingCorrected':
      case 'SessionMeterReset':
        sessions.add(event.data.sessionId);
        segments.add(event.data.sessionId);
        break;
      case 'SiteConfigured':
      case 'NodeLoadMeasured':
      case 'CongestionRuleAdded':
      case 'CongestionRuleRemoved':
      case 'DischargeRequested':
      case 'DischargeRequestCancelled':
      case 'SessionPutOnHold':
      case 'SessionResumed':
        // Written without reading first.
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unhandled grid event ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return { nodes: [...nodes.values()], sessions: [...sessions], segments: [...segments] };
}

function replay(events: readonly RecordedEvent[], batch: Batch): void {
  const node = (siteId: string, nodeId: string): [string, NodeRow | null] => {
    const k = key(siteId, nodeId);
    return [k, batch.nodes.get(k) ?? null];
  };
  /** An UPDATE of the node: only when it exists. */
  const changeNode = (siteId: string, nodeId: string, change: (row: NodeRow) => void) => {
    const [k, row] = node(siteId, nodeId);
    if (!row) return;
    change(row);
    batch.changedNodes.add(k);
  };
  const putSession = (row: SessionRow) => {
    batch.sessions.set(row.session_id!, row);
    batch.changedSessions.add(row.session_id!);
  };
  /** An UPDATE of the session: only when it exists. */
  const changeSession = (sessionId: string, change: (row: SessionRow) => void): SessionRow | null => {
    const row = batch.sessions.get(sessionId) ?? null;
    if (!row) return null;
    change(row);
    batch.changedSessions.add(sessionId);
    return row;
  };
  const segmentsOf = (sessionId: string): SegmentRow[] => {
    let list = batch.segments.get(sessionId);
    if (!list) batch.segments.set(sessionId, (list = []));
    return list;
  };
  const addSegment = (sessionId: string, startAt: string, importWh: string, exportWh: string) => {
    const list = segmentsOf(sessionId);
    // ON CONFLICT DO NOTHING: a segment starting there already stays as it is.
    if (list.some((g) => g.start_at === startAt)) return;
    const segment: SegmentRow = {
      session_id: sessionId,
      start_at: startAt,
      start_import_wh: importWh,
      start_export_wh: exportWh,
      last_at: null,
      last_import_wh: null,
      last_export_wh: null,
    };
    list.push(segment);
    batch.changedSegments.add(segment);
  };
  /** Net energy delivered to the session, over its segments as they stand now (summed by PostgreSQL when written). */
  const recount = (sessionId: string) => {
    if (!batch.sessions.get(sessionId)) return;
    batch.recounts.set(
      sessionId,
      segmentsOf(sessionId).map((g) => ({ ...g })),
    );
    batch.changedSessions.add(sessionId);
  };
  const setLifecycle = (sessionId: string, lifecycle: string, at: string, stopReason: string | null) =>
    changeSession(sessionId, (s) => {
      s.since = sinceAfter(s, shownStatus(lifecycle, s.allocation_status), at);
      s.lifecycle = lifecycle;
      if (lifecycle === 'stopped') {
        s.stopped_at = at;
        s.stop_reason = stopReason;
      }
    });

  for (const recorded of events) {
    if (!GRID_EVENT_TYPES.has(recorded.type)) continue;
    // The store validated the data against schemas/events on append.
    const event = { type: recorded.type, data: recorded.data } as GridEvent;
    const position = recorded.globalPosition.toString();
    switch (event.type) {
      case 'SiteRegistered': {
        const { siteId, name, importLimitW, exportLimitW } = event.data;
        const [k, row] = node(siteId, siteId);
        if (row) Object.assign(row, { name, import_limit_w: importLimitW, export_limit_w: exportLimitW, removed: false });
        else {
          batch.nodes.set(k, {
            site_id: siteId,
            node_id: siteId,
            parent_id: null,
            kind: 'site',
            name,
            import_limit_w: importLimitW,
            export_limit_w: exportLimitW,
            charger: null,
            removed: false,
            added_position: position,
          });
        }
        batch.changedNodes.add(k);
        break;
      }
      case 'SiteRenamed':
        changeNode(event.data.siteId, event.data.siteId, (row) => (row.name = event.data.name));
        break;
      case 'SiteConfigured':
        // Rotation and price settings: the allocation's business, nothing this read model shows.
        break;
      case 'NodeAdded': {
        const { siteId, nodeId, parentId, kind, name, importLimitW, exportLimitW, charger } = event.data;
        const k = key(siteId, nodeId);
        batch.nodes.set(k, {
          site_id: siteId,
          node_id: nodeId,
          parent_id: parentId,
          kind,
          name,
          import_limit_w: importLimitW,
          export_limit_w: exportLimitW,
          charger: charger === null ? null : JSON.stringify(charger),
          removed: false,
          added_position: position,
        });
        batch.changedNodes.add(k);
        break;
      }
      case 'NodeLimitsChanged':
        changeNode(event.data.siteId, event.data.nodeId, (row) => Object.assign(row, { import_limit_w: event.data.importLimitW, export_limit_w: event.data.exportLimitW }));
        break;
      case 'ChargerChanged':
        changeNode(event.data.siteId, event.data.nodeId, (row) => (row.charger = JSON.stringify(event.data.charger)));
        break;
      case 'NodeRemoved':
        changeNode(event.data.siteId, event.data.nodeId, (row) => (row.removed = true));
        break;
      case 'NodeLoadMeasured': {
        const { siteId, nodeId, occurredAt, otherLoadW, generationW } = event.data;
        batch.loads.push({ site_id: siteId, node_id: nodeId, occurred_at: occurredAt, other_load_w: otherLoadW, generation_w: generationW, n: batch.loads.length });
        break;
      }
      case 'CongestionRuleAdded': {
        const { siteId, rule } = event.data;
        batch.rules.set(key(siteId, rule.ruleId), { siteId, id: rule.ruleId, upsert: { rule: JSON.stringify(rule), removed: false } });
        break;
      }
      case 'CongestionRuleRemoved': {
        const { siteId, ruleId } = event.data;
        const change = batch.rules.get(key(siteId, ruleId));
        if (change?.upsert) change.upsert.removed = true;
        else batch.rules.set(key(siteId, ruleId), { siteId, id: ruleId, upsert: null });
        break;
      }
      case 'DischargeRequested': {
        const { siteId, requestId, nodeId, start, end, powerW, source } = event.data;
        batch.requests.set(key(siteId, requestId), {
          siteId,
          id: requestId,
          upsert: { node_id: nodeId, start_at: start, end_at: end, power_w: powerW, source, cancelled: false },
        });
        break;
      }
      case 'DischargeRequestCancelled': {
        const { siteId, requestId } = event.data;
        const change = batch.requests.get(key(siteId, requestId));
        if (change?.upsert) change.upsert.cancelled = true;
        else batch.requests.set(key(siteId, requestId), { siteId, id: requestId, upsert: null });
        break;
      }
      case 'ConnectorOccupied': {
        const { siteId, connectorId, sessionId } = event.data;
        const at = instant(event.data.at);
        // A new occupancy starts pending with no power, as on the site.
        const row = batch.sessions.get(sessionId);
        if (!row) putSession({ ...newSession(sessionId, siteId, at, position), connector_id: connectorId, occupied_at: at });
        else {
          row.since = sinceAfter(row, shownStatus(row.lifecycle, 'pending'), at);
          Object.assign(row, { site_id: siteId, connector_id: connectorId, allocation_status: 'pending', setpoint_w: '0', reason: null, occupied_at: at, released_at: null });
          putSession(row);
        }
        break;
      }
      case 'ConnectorReleased':
        // The site no longer allocates to the session: its setpoint is gone with the occupancy.
        changeSession(event.data.sessionId, (s) => Object.assign(s, { released_at: instant(event.data.at), setpoint_w: '0' }));
        break;
      case 'SetpointsAssigned': {
        const { siteId, trigger, setpoints } = event.data;
        const at = instant(event.data.at);
        // The last entry for a session wins should one allocation name it twice.
        const last = new Map(setpoints.map((s) => [s.sessionId, s]));
        for (const { sessionId, powerW, status, reason } of last.values()) {
          const row = batch.sessions.get(sessionId);
          if (!row) putSession({ ...newSession(sessionId, siteId, at, position), allocation_status: status, setpoint_w: powerW, reason });
          else {
            row.since = sinceAfter(row, shownStatus(row.lifecycle, status), at);
            Object.assign(row, { allocation_status: status, setpoint_w: powerW, reason });
            putSession(row);
          }
        }
        // Every entry, as recorded (an event naming a session twice fails here, as it always has).
        for (const { sessionId, powerW, status, reason } of setpoints) {
          batch.history.push({ site_id: siteId, position, session_id: sessionId, at, trigger, power_w: powerW, status, reason });
        }
        // The site's EV load once these setpoints are in force: every session still at a connector.
        // The batch's own sessions are counted as they stand now; the others are read when written.
        const n = batch.siteLoads.length;
        batch.siteLoads.push({ n, site_id: siteId, position, at, trigger });
        for (const s of batch.sessions.values()) {
          if (s && s.site_id === siteId && s.released_at === null) batch.allocated.push({ n, setpoint_w: s.setpoint_w, occupied: s.occupied_at !== null });
        }
        break;
      }
      case 'SessionPutOnHold':
      case 'SessionResumed':
        // Notifications that follow a SetpointsAssigned, which already recorded the change.
        break;
      case 'SessionPluggedIn': {
        const d = event.data;
        const pluggedInAt = instant(d.pluggedInAt);
        const asked = {
          site_id: d.siteId,
          connector_id: d.connectorId,
          vehicle_id: d.vehicleId,
          customer_id: d.customerId,
          fleet_id: d.fleetId,
          tier: d.tier,
          plugged_in_at: pluggedInAt,
          departure_at: instant(d.departureAt),
          energy_needed_wh: d.energyNeededWh,
          target_soc_percent: d.targetSocPercent,
          battery_capacity_wh: d.batteryCapacityWh,
          soc_at_plugin_percent: d.socPercent,
          min_power_w: d.minPowerW,
          max_power_w: d.maxPowerW,
          v2g: d.v2g === null ? null : JSON.stringify(d.v2g),
          meter_start_import_wh: d.meterStartImportWh,
          meter_start_export_wh: d.meterStartExportWh,
          lifecycle: 'active',
        } satisfies Partial<SessionRow>;
        // The site may have recorded the occupancy (and even setpoints) first: keep what it said.
        const row = batch.sessions.get(d.sessionId);
        putSession(row ? Object.assign(row, asked) : { ...newSession(d.sessionId, d.siteId, pluggedInAt, position), ...asked });
        addSegment(d.sessionId, MINUS_INFINITY, d.meterStartImportWh, d.meterStartExportWh);
        break;
      }
      case 'SessionSuspended':
        setLifecycle(event.data.sessionId, 'suspended', instant(event.data.at), null);
        break;
      case 'SessionReactivated':
        setLifecycle(event.data.sessionId, 'active', instant(event.data.at), null);
        break;
      case 'SessionStopped':
        setLifecycle(event.data.sessionId, 'stopped', instant(event.data.at), event.data.reason);
        break;
      case 'SessionDepartureChanged':
        changeSession(event.data.sessionId, (s) => (s.departure_at = instant(event.data.departureAt)));
        break;
      case 'SessionMeterReadingRecorded':
      case 'SessionMeterReadingCorrected': {
        const { sessionId, energyImportWh, energyExportWh, powerW, socPercent } = event.data;
        const occurredAt = instant(event.data.occurredAt);
        // A late reading (older than the latest) changes nothing shown; a correction of the latest does.
        const s = batch.sessions.get(sessionId);
        if (s && (s.last_reading_at === null || atOrBefore(s.last_reading_at, occurredAt))) {
          Object.assign(s, { last_reading_at: occurredAt, last_import_wh: energyImportWh, last_export_wh: energyExportWh, last_power_w: powerW, last_soc_percent: socPercent });
          batch.changedSessions.add(sessionId);
        }
        // The same for the segment the reading belongs to (the last one starting at or before it).
        let segment: SegmentRow | undefined;
        for (const g of segmentsOf(sessionId)) {
          if (atOrBefore(g.start_at!, occurredAt) && (!segment || atOrBefore(segment.start_at!, g.start_at!))) segment = g;
        }
        if (segment && (segment.last_at === null || atOrBefore(segment.last_at, occurredAt))) {
          Object.assign(segment, { last_at: occurredAt, last_import_wh: energyImportWh, last_export_wh: energyExportWh });
          batch.changedSegments.add(segment);
        }
        recount(sessionId);
        break;
      }
      case 'SessionMeterReset': {
        const { sessionId, energyImportWh, energyExportWh } = event.data;
        // The session aggregate refuses a reset before readings of the meter it replaces, so the
        // new segment has no reading yet.
        addSegment(sessionId, instant(event.data.occurredAt), energyImportWh, energyExportWh);
        recount(sessionId);
        break;
      }
      default: {
        const unreachable: never = event;
        throw new Error(`unhandled grid event ${JSON.stringify(unreachable)}`);
      }
    }
  }
}

// ---- reading and writing --------------------------------------------------------------------------

const ARRAY_TYPES: Record<Kind, string> = { text: 'text[]', numeric: 'numeric[]', instant: 'timestamptz[]', jsonb: 'text[]', bigint: 'bigint[]', boolean: 'boolean[]' };

/** How a column is read: numbers as PostgreSQL prints them, instants in UTC with microseconds. */
function readAs(column: string, kind: Kind, from: string): string {
  const c = `${from}.${column}`;
  switch (kind) {
    case 'text':
    case 'boolean':
      return c;
    case 'numeric':
    case 'jsonb':
    case 'bigint':
      return `${c}::text`;
    case 'instant':
      return `CASE WHEN isfinite(${c}) THEN to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE ${c}::text END`;
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown column kind ${String(unreachable)}`);
    }
  }
}

const selectList = (columns: Columns, from: string) => columns.map(([name, kind]) => `${readAs(name, kind, from)} AS ${name}`).join(', ');

/** Rows as the arguments of one unnest (one array a column), from parameter $first on. */
function unnestOf<C extends Columns>(columns: C, rows: readonly Row<C>[], first = 1): { from: string; values: string[]; params: unknown[] } {
  const arrays = columns.map(([, kind], i) => `$${first + i}::${ARRAY_TYPES[kind]}`).join(', ');
  return {
    from: `unnest(${arrays}) AS u(${columns.map(([name]) => name).join(', ')})`,
    values: columns.map(([name, kind]) => (kind === 'jsonb' ? `u.${name}::jsonb` : `u.${name}`)),
    params: columns.map(([name]) => rows.map((row) => (row as Record<string, unknown>)[name])),
  };
}

const updateAll = (columns: Columns, keys: readonly string[]) =>
  columns
    .filter(([name]) => !keys.includes(name))
    .map(([name]) => `${name} = EXCLUDED.${name}`)
    .join(', ');

async function load(tx: SqlExecutor, table: TableNames, batch: Batch, events: readonly RecordedEvent[]): Promise<void> {
  const want = wanted(events);
  for (const [siteId, nodeId] of want.nodes) batch.nodes.set(key(siteId, nodeId), null);
  for (const sessionId of want.sessions) batch.sessions.set(sessionId, null);
  for (const sessionId of want.segments) batch.segments.set(sessionId, []);
  if (want.nodes.length > 0) {
    const { rows } = await tx.query<NodeRow>(
      `SELECT ${selectList(NODE_COLUMNS, 'n')} FROM unnest($1::text[], $2::text[]) AS w(site_id, node_id)
         JOIN ${table('nodes')} n ON n.site_id = w.site_id AND n.node_id = w.node_id`,
      [want.nodes.map(([siteId]) => siteId), want.nodes.map(([, nodeId]) => nodeId)],
    );
    for (const row of rows) batch.nodes.set(key(row.site_id!, row.node_id!), row);
  }
  if (want.sessions.length > 0) {
    const { rows } = await tx.query<SessionRow>(`SELECT ${selectList(SESSION_COLUMNS, 's')} FROM ${table('sessions')} s WHERE s.session_id = ANY($1::text[])`, [want.sessions]);
    for (const row of rows) batch.sessions.set(row.session_id!, row);
  }
  if (want.segments.length > 0) {
    const { rows } = await tx.query<SegmentRow>(
      `SELECT ${selectList(SEGMENT_COLUMNS, 'g')} FROM ${table('meter_segments')} g WHERE g.session_id = ANY($1::text[]) ORDER BY g.session_id, g.start_at`,
      [want.segments],
    );
    for (const row of rows) batch.segments.get(row.session_id!)!.push(row);
  }
}

type Statement = { text: string; params: unknown[] };

/** The writes of a batch: one statement a table (two for rules and requests), only for what changed. */
function writes(table: TableNames, batch: Batch): Statement[] {
  const out: Statement[] = [];
  if (batch.changedNodes.size > 0) {
    const u = unnestOf(
      NODE_COLUMNS,
      [...batch.changedNodes].map((k) => batch.nodes.get(k)!),
    );
    out.push({
      text: `INSERT INTO ${table('nodes')} (${names(NODE_COLUMNS)})
             SELECT ${u.values.join(', ')} FROM ${u.from}
             ON CONFLICT (site_id, node_id) DO UPDATE SET ${updateAll(NODE_COLUMNS, ['site_id', 'node_id'])}`,
      params: u.params,
    });
  }
  if (batch.loads.length > 0) {
    const l = batch.loads;
    const params = [l.map((r) => r.site_id), l.map((r) => r.node_id), l.map((r) => r.occurred_at), l.map((r) => r.other_load_w), l.map((r) => r.generation_w), l.map((r) => r.n)];
    const from = `unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::numeric[], $6::integer[]) AS u(site_id, node_id, occurred_at, other_load_w, generation_w, n)`;
    // A second measurement for the same instant is a correction: the later-recorded one wins.
    out.push({
      text: `INSERT INTO ${table('node_loads')} (site_id, node_id, occurred_at, other_load_w, generation_w)
             SELECT DISTINCT ON (u.site_id, u.node_id, u.occurred_at) u.site_id, u.node_id, u.occurred_at, u.other_load_w, u.generation_w
               FROM ${from} ORDER BY u.site_id, u.node_id, u.occurred_at, u.n DESC
             ON CONFLICT (site_id, node_id, occurred_at) DO UPDATE SET other_load_w = EXCLUDED.other_load_w, generation_w = EXCLUDED.generation_w`,
      params,
    });
    // The latest by occurred_at (the later-recorded of equals); a late measurement goes into the history only.
    out.push({
      text: `INSERT INTO ${table('node_latest_loads')} AS l (site_id, node_id, occurred_at, other_load_w, generation_w)
             SELECT DISTINCT ON (u.site_id, u.node_id) u.site_id, u.node_id, u.occurred_at, u.other_load_w, u.generation_w
               FROM ${from} ORDER BY u.site_id, u.node_id, u.occurred_at DESC, u.n DESC
             ON CONFLICT (site_id, node_id) DO UPDATE
               SET occurred_at = EXCLUDED.occurred_at, other_load_w = EXCLUDED.other_load_w, generation_w = EXCLUDED.generation_w
               WHERE EXCLUDED.occurred_at >= l.occurred_at`,
      params,
    });
  }
  const rules = [...batch.rules.values()];
  const addedRules = rules.filter((r) => r.upsert !== null);
  if (addedRules.length > 0) {
    out.push({
      text: `INSERT INTO ${table('rules')} (site_id, rule_id, rule, removed)
             SELECT u.site_id, u.rule_id, u.rule::jsonb, u.removed FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[]) AS u(site_id, rule_id, rule, removed)
             ON CONFLICT (site_id, rule_id) DO UPDATE SET rule = EXCLUDED.rule, removed = EXCLUDED.removed`,
      params: [addedRules.map((r) => r.siteId), addedRules.map((r) => r.id), addedRules.map((r) => r.upsert!.rule), addedRules.map((r) => r.upsert!.removed)],
    });
  }
  const removedRules = rules.filter((r) => r.upsert === null);
  if (removedRules.length > 0) {
    out.push({
      text: `UPDATE ${table('rules')} t SET removed = true FROM unnest($1::text[], $2::text[]) AS u(site_id, rule_id)
              WHERE t.site_id = u.site_id AND t.rule_id = u.rule_id`,
      params: [removedRules.map((r) => r.siteId), removedRules.map((r) => r.id)],
    });
  }
  const requests = [...batch.requests.values()];
  const requested = requests.filter((r) => r.upsert !== null);
  if (requested.length > 0) {
    const col = <T>(get: (r: DischargeRequest) => T) => requested.map((r) => get(r.upsert!));
    out.push({
      text: `INSERT INTO ${table('discharge_requests')} (site_id, request_id, node_id, start_at, end_at, power_w, source, cancelled)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[], $7::text[], $8::boolean[])
             ON CONFLICT (site_id, request_id) DO UPDATE
               SET node_id = EXCLUDED.node_id, start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
                   power_w = EXCLUDED.power_w, source = EXCLUDED.source, cancelled = EXCLUDED.cancelled`,
      params: [
        requested.map((r) => r.siteId),
        requested.map((r) => r.id),
        col((r) => r.node_id),
        col((r) => r.start_at),
        col((r) => r.end_at),
        col((r) => r.power_w),
        col((r) => r.source),
        col((r) => r.cancelled),
      ],
    });
  }
  const cancelled = requests.filter((r) => r.upsert === null);
  if (cancelled.length > 0) {
    out.push({
      text: `UPDATE ${table('discharge_requests')} t SET cancelled = true FROM unnest($1::text[], $2::text[]) AS u(site_id, request_id)
              WHERE t.site_id = u.site_id AND t.request_id = u.request_id`,
      params: [cancelled.map((r) => r.siteId), cancelled.map((r) => r.id)],
    });
  }
  if (batch.changedSessions.size > 0) {
    const rows = [...batch.changedSessions].map((id) => batch.sessions.get(id)!);
    const u = unnestOf(SESSION_COLUMNS, rows, 7);
    const recounted = [...batch.recounts].flatMap(([, segments]) => segments);
    // delivered_wh: net energy over the segments (as they stood at the session's last reading or
    // reset in the batch), (last − start) import minus export, as PostgreSQL sums NUMERIC.
    out.push({
      text: `WITH d AS (
               SELECT g.session_id,
                      sum((COALESCE(g.last_import_wh, g.start_import_wh) - g.start_import_wh) - (COALESCE(g.last_export_wh, g.start_export_wh) - g.start_export_wh)) AS wh
                 FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[]) AS g(session_id, start_import_wh, start_export_wh, last_import_wh, last_export_wh)
                GROUP BY g.session_id
             ), r AS (SELECT unnest($6::text[]) AS session_id)
             INSERT INTO ${table('sessions')} (${names(SESSION_COLUMNS)})
             SELECT ${u.values.map((v) => (v === 'u.delivered_wh' ? 'CASE WHEN r.session_id IS NULL THEN u.delivered_wh ELSE COALESCE(d.wh, 0) END' : v)).join(', ')}
               FROM ${u.from} LEFT JOIN r ON r.session_id = u.session_id LEFT JOIN d ON d.session_id = u.session_id
             ON CONFLICT (session_id) DO UPDATE SET ${updateAll(SESSION_COLUMNS, ['session_id'])}`,
      params: [
        recounted.map((g) => g.session_id),
        recounted.map((g) => g.start_import_wh),
        recounted.map((g) => g.start_export_wh),
        recounted.map((g) => g.last_import_wh),
        recounted.map((g) => g.last_export_wh),
        [...batch.recounts.keys()],
        ...u.params,
      ],
    });
  }
  if (batch.changedSegments.size > 0) {
    const u = unnestOf(SEGMENT_COLUMNS, [...batch.changedSegments]);
    out.push({
      text: `INSERT INTO ${table('meter_segments')} (${names(SEGMENT_COLUMNS)})
             SELECT ${u.values.join(', ')} FROM ${u.from}
             ON CONFLICT (session_id, start_at) DO UPDATE SET ${updateAll(SEGMENT_COLUMNS, ['session_id', 'start_at'])}`,
      params: u.params,
    });
  }
  if (batch.history.length > 0) {
    const h = batch.history;
    out.push({
      text: `INSERT INTO ${table('setpoint_history')} (site_id, position, session_id, at, trigger, power_w, status, reason)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::numeric[], $7::text[], $8::text[])
             ON CONFLICT (site_id, position, session_id) DO UPDATE
               SET power_w = EXCLUDED.power_w, status = EXCLUDED.status, reason = EXCLUDED.reason`,
      params: [
        h.map((r) => r.site_id),
        h.map((r) => r.position),
        h.map((r) => r.session_id),
        h.map((r) => r.at),
        h.map((r) => r.trigger),
        h.map((r) => r.power_w),
        h.map((r) => r.status),
        h.map((r) => r.reason),
      ],
    });
  }
  if (batch.siteLoads.length > 0) {
    const e = batch.siteLoads;
    const a = batch.allocated;
    // Per allocation: the sessions the batch did not name, as the table holds them (the batch does
    // not change them), and the batch's own as they stood at that allocation. PostgreSQL sums the
    // setpoints of both parts; a sum of the parts' sums is the sum (NUMERIC: exact, the larger scale).
    out.push({
      text: `WITH e AS (
               SELECT * FROM unnest($1::integer[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[]) AS e(n, site_id, position, at, trigger)
             ), others AS (
               SELECT s.site_id,
                      sum(s.setpoint_w) FILTER (WHERE s.setpoint_w > 0) AS import_w,
                      sum(s.setpoint_w) FILTER (WHERE s.setpoint_w < 0) AS export_w,
                      count(*) FILTER (WHERE s.occupied_at IS NOT NULL) AS sessions
                 FROM ${table('sessions')} s
                WHERE s.site_id = ANY($2::text[]) AND s.released_at IS NULL AND NOT (s.session_id = ANY($9::text[]))
                GROUP BY s.site_id
             ), own AS (
               SELECT a.n,
                      sum(a.setpoint_w) FILTER (WHERE a.setpoint_w > 0) AS import_w,
                      sum(a.setpoint_w) FILTER (WHERE a.setpoint_w < 0) AS export_w,
                      count(*) FILTER (WHERE a.occupied) AS sessions
                 FROM unnest($6::integer[], $7::numeric[], $8::boolean[]) AS a(n, setpoint_w, occupied)
                GROUP BY a.n
             )
             INSERT INTO ${table('site_load')} (site_id, position, at, trigger, ev_import_w, ev_export_w, session_count)
             SELECT e.site_id, e.position, e.at, e.trigger,
                    COALESCE((SELECT sum(v) FROM (VALUES (o.import_w), (w.import_w)) AS t(v)), 0),
                    COALESCE(-(SELECT sum(v) FROM (VALUES (o.export_w), (w.export_w)) AS t(v)), 0),
                    COALESCE(o.sessions, 0) + COALESCE(w.sessions, 0)
               FROM e LEFT JOIN others o ON o.site_id = e.site_id LEFT JOIN own w ON w.n = e.n
             ON CONFLICT (site_id, position) DO NOTHING`,
      params: [
        e.map((r) => r.n),
        e.map((r) => r.site_id),
        e.map((r) => r.position),
        e.map((r) => r.at),
        e.map((r) => r.trigger),
        a.map((r) => r.n),
        a.map((r) => r.setpoint_w),
        a.map((r) => r.occupied),
        [...batch.sessions.keys()],
      ],
    });
  }
  return out;
}

const names = (columns: Columns) => columns.map(([name]) => name).join(', ');

/** Applies events (in log order) to the grid tables. */
export async function applyGridEvents(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames): Promise<void> {
  await applyMeterEvents(tx, events, table);
  if (!events.some((e) => GRID_EVENT_TYPES.has(e.type))) return;
  const batch: Batch = {
    nodes: new Map(),
    changedNodes: new Set(),
    loads: [],
    rules: new Map(),
    requests: new Map(),
    sessions: new Map(),
    changedSessions: new Set(),
    segments: new Map(),
    changedSegments: new Set(),
    recounts: new Map(),
    history: [],
    siteLoads: [],
    allocated: [],
  };
  await load(tx, table, batch, events);
  replay(events, batch);
  for (const statement of writes(table, batch)) await tx.query(statement.text, statement.params);
}

/** A meter registered at a site or node: a row of `meters` (a meter is registered once). */
async function applyMeterEvents(tx: SqlExecutor, events: readonly RecordedEvent[], table: TableNames): Promise<void> {
  const registered = events.filter((e) => e.type === 'MeterRegistered');
  if (registered.length === 0) return;
  const column = (f: (e: RecordedEvent, d: Record<string, unknown>) => unknown) => registered.map((e) => String(f(e, e.data as Record<string, unknown>)));
  await tx.query(
    `INSERT INTO ${table('meters')} (meter_id, site_id, node_id, measures, registered_at, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[])
     ON CONFLICT (meter_id) DO NOTHING`,
    [
      column((_e, d) => d['meterId']),
      column((_e, d) => d['siteId']),
      column((_e, d) => d['nodeId']),
      column((_e, d) => d['measures']),
      column((_e, d) => d['registeredAt']),
      column((e) => e.globalPosition),
    ],
  );
}
