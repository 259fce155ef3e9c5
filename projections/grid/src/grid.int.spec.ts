import { randomUUID } from 'node:crypto';
import {
  formatInstant,
  sessionDecider,
  sessionNeeds,
  sessionStreamId,
  type ChargerSpec,
  type PlugIn,
  type SessionCommand,
  type SessionEvent,
  type SessionState,
  type SiteEvent,
} from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';
import { ProjectionRunner, type Projection, type TableNames } from '@v2g/read-model';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fillMixed, prng } from '@v2g/testing/workloads';
import { GRID_TABLES, gridProjection } from './grid-projection.ts';
import { countSessions, findSession, listMeters, listSessions, setpointHistory, siteLoadHistory, siteTree, type GridSession } from './grid-queries.ts';
import { caughtUp, describeProjectionSuite, expectSameRows, PLUG_IN_DEFAULTS, type ProjectionTarget, type RunningProjection, startProjection } from '@v2g/testing';

const warnings: string[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });

type Target = ProjectionTarget<'rebuild' | 'perEvent' | 'ones' | 'sevens'>;

describeProjectionSuite('grid', ['rebuild', 'perEvent', 'ones', 'sevens'], gridSuite);

/** The per-event path: the same projection without its batch hook. */
const perEventProjection: Projection = { ...gridProjection, applyBatch: undefined };

const T = (hhmm: string) => `2026-11-27T${hhmm}:00.000Z`;

function gridSuite(open: () => Promise<Target>) {
  let target: Target;
  let store: EventStore;
  let runner: ProjectionRunner;
  let table: TableNames;
  // Fresh ids for every run: the server keeps what earlier runs wrote in other schemas.
  const tag = randomUUID().slice(0, 8);
  const siteId = `depot-${tag}`;
  const A = `a-${tag}`;
  const B = `b-${tag}`;
  const C = `c-${tag}`;
  const sessionStates = new Map<string, SessionState>();
  let lastPosition = 0n;

  let running: RunningProjection<Target> | undefined;
  beforeAll(async () => {
    running = await startProjection(open, gridProjection, logger);
    ({ target, store, runner, table } = running);
  });
  afterAll(() => running?.stop());

  async function site(...events: SiteEvent[]): Promise<void> {
    const result = await store.append(`site-${siteId}`, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'grid-int' });
    lastPosition = result.lastPosition ?? lastPosition;
  }

  /** Decides a session command on the state so far and appends what it emits. */
  async function session(command: SessionCommand): Promise<void> {
    const state = sessionStates.get(command.sessionId) ?? sessionDecider.initialState();
    const events = sessionDecider.decide(command, state);
    const result = await store.append(sessionStreamId(command.sessionId), events, {
      expectedVersion: state.status === 'none' ? 'no_stream' : 'any',
      commandId: randomUUID(),
      actor: 'grid-int',
    });
    sessionStates.set(command.sessionId, events.reduce(sessionDecider.evolve, state));
    lastPosition = result.lastPosition ?? lastPosition;
  }

  const plugIn = (sessionId: string, connectorId: string, at: string, extra: Partial<PlugIn> = {}): PlugIn => ({
    type: 'PlugIn',
    sessionId,
    siteId,
    connectorId,
    at,
    vehicleId: `vehicle-${sessionId}`,
    customerId: 'cust-1',
    ...PLUG_IN_DEFAULTS,
    departureAt: '2026-11-28T07:00:00Z',
    energyNeededWh: '30000',
    ...extra,
  });
  const reading = (sessionId: string, occurredAt: string, energyImportWh: string, energyExportWh: string, socPercent: string | null = null): SessionCommand => ({
    type: 'RecordSessionMeterReading',
    sessionId,
    at: '2026-11-27T23:00:00Z',
    occurredAt,
    energyImportWh,
    energyExportWh,
    powerW: null,
    socPercent,
  });
  const occupied = (sessionId: string, connectorId: string, at: string, maxDischargePowerW: string | null = null): SiteEvent => ({
    type: 'ConnectorOccupied',
    data: { siteId, connectorId, sessionId, at, minPowerW: '1400', maxPowerW: '11000', maxDischargePowerW },
  });
  const assigned = (at: string, trigger: string, setpoints: [string, string, 'charging' | 'discharging' | 'on_hold' | 'done', string | null][]): SiteEvent => ({
    type: 'SetpointsAssigned',
    data: { siteId, at, trigger, setpoints: setpoints.map(([sessionId, powerW, status, reason]) => ({ sessionId, powerW, status, reason })) },
  });
  const bidirectional: ChargerSpec = { minPowerW: '1400', maxPowerW: '22000', bidirectional: true, minDischargePowerW: '1000', maxDischargePowerW: '11000' };
  const oneWay: ChargerSpec = { minPowerW: '1400', maxPowerW: '11000', bidirectional: false, minDischargePowerW: null, maxDischargePowerW: null };

  it('projects a site and its sessions through an evening', async () => {
    // The site and its tree.
    await site(
      { type: 'SiteRegistered', data: { siteId, name: 'Depot North', importLimitW: '100000', exportLimitW: '50000' } },
      { type: 'NodeAdded', data: { siteId, nodeId: 'F1', parentId: siteId, kind: 'feeder', name: 'Feeder 1', importLimitW: '60000', exportLimitW: '30000', charger: null } },
      {
        type: 'NodeAdded',
        data: { siteId, nodeId: 'C1', parentId: 'F1', kind: 'charger', name: 'Charger 1', importLimitW: '22000', exportLimitW: '22000', charger: bidirectional },
      },
      { type: 'NodeAdded', data: { siteId, nodeId: 'C1-1', parentId: 'C1', kind: 'connector', name: 'C1 left', importLimitW: '11000', exportLimitW: '11000', charger: null } },
      { type: 'NodeAdded', data: { siteId, nodeId: 'C1-2', parentId: 'C1', kind: 'connector', name: 'C1 right', importLimitW: '11000', exportLimitW: '11000', charger: null } },
      { type: 'NodeAdded', data: { siteId, nodeId: 'C2', parentId: 'F1', kind: 'charger', name: 'Charger 2', importLimitW: '11000', exportLimitW: '0', charger: oneWay } },
      { type: 'NodeAdded', data: { siteId, nodeId: 'C2-1', parentId: 'C2', kind: 'connector', name: 'C2 only', importLimitW: '11000', exportLimitW: '0', charger: null } },
      { type: 'NodeAdded', data: { siteId, nodeId: 'C2-2', parentId: 'C2', kind: 'connector', name: 'C2 spare', importLimitW: '11000', exportLimitW: '0', charger: null } },
    );
    await site(
      { type: 'SiteRenamed', data: { siteId, name: 'Depot North (bus yard)' } },
      { type: 'SiteConfigured', data: { siteId, rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: '35', priceZone: 'NL' } },
      { type: 'NodeRemoved', data: { siteId, nodeId: 'C2-2' } },
      { type: 'NodeLimitsChanged', data: { siteId, nodeId: 'F1', importLimitW: '55000.5', exportLimitW: '25000' } },
      { type: 'ChargerChanged', data: { siteId, nodeId: 'C2', charger: { ...oneWay, maxPowerW: '7400' } } },
      { type: 'NodeLoadMeasured', data: { siteId, nodeId: siteId, occurredAt: T('17:00'), otherLoadW: '30000', generationW: '5000' } },
      { type: 'NodeLoadMeasured', data: { siteId, nodeId: siteId, occurredAt: T('17:10'), otherLoadW: '32000.25', generationW: '0' } },
      // Late: older than the latest, history only.
      { type: 'NodeLoadMeasured', data: { siteId, nodeId: siteId, occurredAt: T('17:05'), otherLoadW: '31000', generationW: '2500' } },
      { type: 'NodeLoadMeasured', data: { siteId, nodeId: 'F1', occurredAt: T('17:00'), otherLoadW: '4000', generationW: '0' } },
      {
        type: 'CongestionRuleAdded',
        data: {
          siteId,
          rule: {
            ruleId: 'R1',
            priority: 1,
            scope: { kind: 'node', nodeId: 'F1' },
            window: { start: T('16:00'), end: null, daysOfWeek: [1, 2, 3, 4, 5], dailyFrom: '16:00', dailyTo: '20:00' },
            importCapW: '40000',
            exportCapW: null,
            reason: 'evening peak',
            source: 'dso-7',
          },
        },
      },
      {
        type: 'CongestionRuleAdded',
        data: {
          siteId,
          rule: {
            ruleId: 'R2',
            priority: 0,
            scope: { kind: 'area', areaId: 'north' },
            window: { start: T('18:00'), end: T('19:00'), daysOfWeek: null, dailyFrom: null, dailyTo: null },
            importCapW: '80000',
            exportCapW: '10000',
            reason: null,
            source: null,
          },
        },
      },
      { type: 'CongestionRuleRemoved', data: { siteId, ruleId: 'R2' } },
      { type: 'DischargeRequested', data: { siteId, requestId: 'D1', nodeId: 'F1', start: T('17:00'), end: T('19:00'), powerW: '5000', source: 'dso-7' } },
      { type: 'DischargeRequested', data: { siteId, requestId: 'D2', nodeId: siteId, start: T('18:00'), end: T('18:30'), powerW: '2000', source: null } },
      { type: 'DischargeRequestCancelled', data: { siteId, requestId: 'D2' } },
    );

    // A plugs in (session stream first); B's occupancy reaches the site before its own plug-in does.
    await session(plugIn(A, 'C1-1', '2026-11-27T17:00:00Z', { meterStartImportWh: '1000' }));
    await site(occupied(A, 'C1-1', T('17:00')));
    await site(occupied(B, 'C1-2', T('17:01'), '5000'));
    await session(
      plugIn(B, 'C1-2', '2026-11-27T17:01:00Z', {
        tier: 'high',
        fleetId: 'fleet-9',
        energyNeededWh: null,
        targetSocPercent: '80',
        batteryCapacityWh: '60000',
        socPercent: '35.5',
        v2g: { minSocPercent: '30', maxDischargePowerW: '5000' },
      }),
    );
    await site(
      assigned(T('17:02'), 'plug_in', [
        [A, '11000', 'charging', null],
        [B, '-5000', 'discharging', 'discharge:request:D1'],
      ]),
      { type: 'SessionResumed', data: { siteId, sessionId: A, at: T('17:02') } },
      { type: 'SessionResumed', data: { siteId, sessionId: B, at: T('17:02') } },
    );
    await session(plugIn(C, 'C2-1', '2026-11-27T17:05:00Z', { tier: 'urgent', maxPowerW: '7400' }));
    await site(occupied(C, 'C2-1', T('17:05')));
    await site(
      assigned(T('17:05'), 'plug_in', [
        [A, '7400', 'charging', 'capacity:F1'],
        [C, '7400', 'charging', 'capacity:F1'],
      ]),
      { type: 'SessionResumed', data: { siteId, sessionId: C, at: T('17:05') } },
    );
    await session(reading(A, '2026-11-27T17:10:00Z', '1500', '0'));
    await session(reading(A, '2026-11-27T17:20:00Z', '2500.5', '0'));
    await session(reading(A, '2026-11-27T17:15:00Z', '2000', '0')); // late
    await session(reading(B, '2026-11-27T17:10:00Z', '0', '800', '34.2'));
    await session({ type: 'SuspendSession', sessionId: B, at: '2026-11-27T17:12:00Z' });
    await site(assigned(T('17:12'), 'session_suspended', [[B, '0', 'on_hold', 'suspended']]), {
      type: 'SessionPutOnHold',
      data: { siteId, sessionId: B, at: T('17:12'), reason: 'suspended' },
    });
    await session({ type: 'ReactivateSession', sessionId: B, at: '2026-11-27T17:20:00Z' });
    await site(assigned(T('17:20'), 'session_reactivated', [[B, '-5000', 'discharging', 'discharge:request:D1']]), {
      type: 'SessionResumed',
      data: { siteId, sessionId: B, at: T('17:20') },
    });
    await session({ type: 'ChangeDeparture', sessionId: A, at: '2026-11-27T17:25:00Z', departureAt: '2026-11-28T06:30:00Z' });
    await session({ type: 'StopSession', sessionId: C, at: '2026-11-27T17:30:00Z', reason: 'EVDisconnected' });
    await site({ type: 'ConnectorReleased', data: { siteId, connectorId: 'C2-1', sessionId: C, at: T('17:30') } });
    await site(assigned(T('17:30'), 'plug_out', [[A, '11000', 'charging', null]]));
    await session(reading(C, '2026-11-27T17:29:00Z', '900', '0')); // taken before the stop, arrives after it
    await caughtUp(runner, lastPosition);

    // Raw rows.
    const nodes = await target.sql.query(
      `SELECT node_id, parent_id, kind, name, import_limit_w::text AS import_limit_w, export_limit_w::text AS export_limit_w, charger, removed
         FROM ${table('nodes')} WHERE site_id = $1 ORDER BY added_position`,
      [siteId],
    );
    expect(nodes.rows).toEqual([
      { node_id: siteId, parent_id: null, kind: 'site', name: 'Depot North (bus yard)', import_limit_w: '100000', export_limit_w: '50000', charger: null, removed: false },
      { node_id: 'F1', parent_id: siteId, kind: 'feeder', name: 'Feeder 1', import_limit_w: '55000.5', export_limit_w: '25000', charger: null, removed: false },
      { node_id: 'C1', parent_id: 'F1', kind: 'charger', name: 'Charger 1', import_limit_w: '22000', export_limit_w: '22000', charger: bidirectional, removed: false },
      { node_id: 'C1-1', parent_id: 'C1', kind: 'connector', name: 'C1 left', import_limit_w: '11000', export_limit_w: '11000', charger: null, removed: false },
      { node_id: 'C1-2', parent_id: 'C1', kind: 'connector', name: 'C1 right', import_limit_w: '11000', export_limit_w: '11000', charger: null, removed: false },
      {
        node_id: 'C2',
        parent_id: 'F1',
        kind: 'charger',
        name: 'Charger 2',
        import_limit_w: '11000',
        export_limit_w: '0',
        charger: { ...oneWay, maxPowerW: '7400' },
        removed: false,
      },
      { node_id: 'C2-1', parent_id: 'C2', kind: 'connector', name: 'C2 only', import_limit_w: '11000', export_limit_w: '0', charger: null, removed: false },
      { node_id: 'C2-2', parent_id: 'C2', kind: 'connector', name: 'C2 spare', import_limit_w: '11000', export_limit_w: '0', charger: null, removed: true },
    ]);
    const instant = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'HH24:MI') AS ${column}`;
    const loads = await target.sql.query(
      `SELECT node_id, ${instant('occurred_at')}, other_load_w::text AS other_load_w, generation_w::text AS generation_w
         FROM ${table('node_loads')} WHERE site_id = $1 ORDER BY node_id = $1 DESC, occurred_at`,
      [siteId],
    );
    expect(loads.rows).toEqual([
      { node_id: siteId, occurred_at: '17:00', other_load_w: '30000', generation_w: '5000' },
      { node_id: siteId, occurred_at: '17:05', other_load_w: '31000', generation_w: '2500' },
      { node_id: siteId, occurred_at: '17:10', other_load_w: '32000.25', generation_w: '0' },
      { node_id: 'F1', occurred_at: '17:00', other_load_w: '4000', generation_w: '0' },
    ]);
    const latest = await target.sql.query(
      `SELECT node_id, ${instant('occurred_at')}, other_load_w::text AS other_load_w FROM ${table('node_latest_loads')} WHERE site_id = $1 ORDER BY node_id = $1 DESC`,
      [siteId],
    );
    expect(latest.rows).toEqual([
      { node_id: siteId, occurred_at: '17:10', other_load_w: '32000.25' },
      { node_id: 'F1', occurred_at: '17:00', other_load_w: '4000' },
    ]);
    const rules = await target.sql.query(`SELECT rule_id, rule->>'importCapW' AS cap, removed FROM ${table('rules')} WHERE site_id = $1 ORDER BY rule_id`, [siteId]);
    expect(rules.rows).toEqual([
      { rule_id: 'R1', cap: '40000', removed: false },
      { rule_id: 'R2', cap: '80000', removed: true },
    ]);
    const requests = await target.sql.query(
      `SELECT request_id, node_id, ${instant('start_at')}, ${instant('end_at')}, power_w::text AS power_w, source, cancelled
         FROM ${table('discharge_requests')} WHERE site_id = $1 ORDER BY request_id`,
      [siteId],
    );
    expect(requests.rows).toEqual([
      { request_id: 'D1', node_id: 'F1', start_at: '17:00', end_at: '19:00', power_w: '5000', source: 'dso-7', cancelled: false },
      { request_id: 'D2', node_id: siteId, start_at: '18:00', end_at: '18:30', power_w: '2000', source: null, cancelled: true },
    ]);
    const history = await target.sql.query(
      `SELECT ${instant('at')}, session_id, power_w::text AS power_w, status, reason FROM ${table('setpoint_history')} WHERE site_id = $1 ORDER BY position, session_id`,
      [siteId],
    );
    expect(history.rows).toEqual(
      [
        ['17:02', A, '11000', 'charging', null],
        ['17:02', B, '-5000', 'discharging', 'discharge:request:D1'],
        ['17:05', A, '7400', 'charging', 'capacity:F1'],
        ['17:05', C, '7400', 'charging', 'capacity:F1'],
        ['17:12', B, '0', 'on_hold', 'suspended'],
        ['17:20', B, '-5000', 'discharging', 'discharge:request:D1'],
        ['17:30', A, '11000', 'charging', null],
      ].map(([at, session_id, power_w, status, reason]) => ({ at, session_id, power_w, status, reason })),
    );

    // Queries.
    const node = (nodeId: string, parentId: string | null, kind: string, name: string, limits: [string, string], charger: ChargerSpec | null) => ({
      siteId,
      nodeId,
      parentId,
      kind,
      name,
      importLimitW: limits[0],
      exportLimitW: limits[1],
      charger,
    });
    expect(await siteTree(target.sql, table, siteId)).toEqual([
      {
        ...node(siteId, null, 'site', 'Depot North (bus yard)', ['100000', '50000'], null),
        evFlowW: '6000',
        load: { occurredAt: T('17:10'), otherLoadW: '32000.25', generationW: '0' },
      },
      { ...node('F1', siteId, 'feeder', 'Feeder 1', ['55000.5', '25000'], null), evFlowW: '6000', load: { occurredAt: T('17:00'), otherLoadW: '4000', generationW: '0' } },
      { ...node('C1', 'F1', 'charger', 'Charger 1', ['22000', '22000'], bidirectional), evFlowW: '6000', load: null },
      { ...node('C1-1', 'C1', 'connector', 'C1 left', ['11000', '11000'], null), evFlowW: '11000', load: null },
      { ...node('C1-2', 'C1', 'connector', 'C1 right', ['11000', '11000'], null), evFlowW: '-5000', load: null },
      { ...node('C2', 'F1', 'charger', 'Charger 2', ['11000', '0'], { ...oneWay, maxPowerW: '7400' }), evFlowW: '0', load: null },
      { ...node('C2-1', 'C2', 'connector', 'C2 only', ['11000', '0'], null), evFlowW: '0', load: null },
    ]);
    expect(await siteTree(target.sql, table, `nowhere-${tag}`)).toEqual([]);

    const expectedA: GridSession = {
      sessionId: A,
      siteId,
      connectorId: 'C1-1',
      vehicleId: `vehicle-${A}`,
      customerId: 'cust-1',
      fleetId: null,
      tier: 'normal',
      pluggedInAt: T('17:00'),
      departureAt: '2026-11-28T06:30:00.000Z',
      energyNeededWh: '30000',
      targetSocPercent: null,
      batteryCapacityWh: null,
      socAtPlugInPercent: null,
      minPowerW: '1400',
      maxPowerW: '11000',
      v2g: null,
      meterStartImportWh: '1000',
      meterStartExportWh: '0',
      status: 'charging',
      setpointW: '11000',
      reason: null,
      since: T('17:02'),
      occupiedAt: T('17:00'),
      releasedAt: null,
      deliveredWh: '1500.5',
      lastReading: { occurredAt: T('17:20'), energyImportWh: '2500.5', energyExportWh: '0', powerW: null, socPercent: null },
      stoppedAt: null,
      stopReason: null,
      firstPosition: expect.any(BigInt) as unknown as bigint,
    };
    const expectedB: GridSession = {
      ...expectedA,
      sessionId: B,
      connectorId: 'C1-2',
      vehicleId: `vehicle-${B}`,
      fleetId: 'fleet-9',
      tier: 'high',
      pluggedInAt: T('17:01'),
      departureAt: '2026-11-28T07:00:00.000Z',
      energyNeededWh: null,
      targetSocPercent: '80',
      batteryCapacityWh: '60000',
      socAtPlugInPercent: '35.5',
      v2g: { minSocPercent: '30', maxDischargePowerW: '5000' },
      meterStartImportWh: '0',
      status: 'discharging',
      setpointW: '-5000',
      reason: 'discharge:request:D1',
      // Suspended at 17:12, on hold again at 17:20, then discharging from the allocation at 17:20.
      since: T('17:20'),
      occupiedAt: T('17:01'),
      deliveredWh: '-800',
      lastReading: { occurredAt: T('17:10'), energyImportWh: '0', energyExportWh: '800', powerW: null, socPercent: '34.2' },
    };
    const expectedC: GridSession = {
      ...expectedA,
      sessionId: C,
      connectorId: 'C2-1',
      vehicleId: `vehicle-${C}`,
      tier: 'urgent',
      pluggedInAt: T('17:05'),
      departureAt: '2026-11-28T07:00:00.000Z',
      maxPowerW: '7400',
      meterStartImportWh: '0',
      status: 'stopped',
      setpointW: '0',
      reason: 'capacity:F1',
      since: T('17:30'),
      occupiedAt: T('17:05'),
      releasedAt: T('17:30'),
      deliveredWh: '900',
      lastReading: { occurredAt: T('17:29'), energyImportWh: '900', energyExportWh: '0', powerW: null, socPercent: null },
      stoppedAt: T('17:30'),
      stopReason: 'EVDisconnected',
    };
    expect(await findSession(target.sql, table, A)).toEqual(expectedA);
    expect(await findSession(target.sql, table, B)).toEqual(expectedB);
    expect(await findSession(target.sql, table, C)).toEqual(expectedC);
    expect(await findSession(target.sql, table, `nobody-${tag}`)).toBeNull();

    // The site's sessions in the order they became known, a page at a time, as the server lists them.
    const atSite = { siteId };
    const keyOf = (s: GridSession) => ({ firstPosition: s.firstPosition, sessionId: s.sessionId });
    const first = await listSessions(target.sql, table, atSite, { first: 2 });
    expect(first).toEqual({ sessions: [expectedA, expectedB], hasNextPage: true });
    const second = await listSessions(target.sql, table, atSite, { first: 2, after: keyOf(first.sessions.at(-1)!) });
    expect(second).toEqual({ sessions: [expectedC], hasNextPage: false });
    expect((await listSessions(target.sql, table, atSite, { first: 2, after: keyOf(second.sessions.at(-1)!) })).sessions).toEqual([]);
    expect((await listSessions(target.sql, table, atSite, { first: 2, before: keyOf(second.sessions.at(-1)!), backward: true })).sessions).toEqual([expectedB, expectedA]);
    expect((await listSessions(target.sql, table, { siteId, status: 'stopped' }, { first: 10 })).sessions).toEqual([expectedC]);
    expect((await listSessions(target.sql, table, { siteId, status: 'discharging' }, { first: 10 })).sessions).toEqual([expectedB]);
    expect((await listSessions(target.sql, table, { siteId, status: 'on_hold' }, { first: 10 })).sessions).toEqual([]);
    expect(await countSessions(target.sql, table, atSite)).toBe(3n);
    expect(await countSessions(target.sql, table, { siteId, status: 'stopped' })).toBe(1n);
    await expect(listSessions(target.sql, table, atSite, { first: 0 })).rejects.toThrow(RangeError);

    expect(await siteLoadHistory(target.sql, table, siteId, { from: T('17:00'), to: T('18:00') })).toEqual([
      { at: T('17:02'), trigger: 'plug_in', evImportW: '11000', evExportW: '5000', sessionCount: 2 },
      { at: T('17:05'), trigger: 'plug_in', evImportW: '14800', evExportW: '5000', sessionCount: 3 },
      { at: T('17:12'), trigger: 'session_suspended', evImportW: '14800', evExportW: '0', sessionCount: 3 },
      { at: T('17:20'), trigger: 'session_reactivated', evImportW: '14800', evExportW: '5000', sessionCount: 3 },
      { at: T('17:30'), trigger: 'plug_out', evImportW: '11000', evExportW: '5000', sessionCount: 2 },
    ]);
    // Half-open: [17:05, 17:20).
    expect((await siteLoadHistory(target.sql, table, siteId, { from: T('17:05'), to: T('17:20') })).map((p) => p.at)).toEqual([T('17:05'), T('17:12')]);

    expect(await setpointHistory(target.sql, table, A)).toEqual([
      { siteId, at: T('17:02'), trigger: 'plug_in', powerW: '11000', status: 'charging', reason: null },
      { siteId, at: T('17:05'), trigger: 'plug_in', powerW: '7400', status: 'charging', reason: 'capacity:F1' },
      { siteId, at: T('17:30'), trigger: 'plug_out', powerW: '11000', status: 'charging', reason: null },
    ]);
    expect(await setpointHistory(target.sql, table, `nobody-${tag}`)).toEqual([]);
  });

  it('counts delivered energy across meter resets, and follows corrections of the latest reading', async () => {
    const D = `d-${tag}`;
    await session(plugIn(D, 'C2-2', '2026-11-27T18:00:00Z', { meterStartImportWh: '5000', meterStartExportWh: '10' }));
    const meter = (type: 'CorrectSessionMeterReading' | 'ResetSessionMeter', occurredAt: string, energyImportWh: string, energyExportWh: string): SessionCommand =>
      type === 'ResetSessionMeter'
        ? { type, sessionId: D, at: '2026-11-27T23:00:00Z', occurredAt, energyImportWh, energyExportWh, reason: 'meter replaced' }
        : { type, sessionId: D, at: '2026-11-27T23:00:00Z', occurredAt, energyImportWh, energyExportWh, powerW: null, socPercent: null, reason: 'misread' };
    await session(reading(D, '2026-11-27T18:30:00Z', '7000', '10'));
    await session(meter('ResetSessionMeter', '2026-11-27T19:00:00Z', '0', '0'));
    await session(reading(D, '2026-11-27T19:30:00Z', '1500.5', '2'));
    // Late: the old meter's reading just before the reset ends its segment higher.
    await session(reading(D, '2026-11-27T18:45:00Z', '8000', '10'));
    // A late reading of the new meter, older than its latest: nothing changes.
    await session(reading(D, '2026-11-27T19:15:00Z', '1000', '1'));
    await caughtUp(runner, lastPosition);
    // (8000 − 5000) + (1500.5 − 0) imported, (10 − 10) + (2 − 0) exported.
    expect(await findSession(target.sql, table, D)).toMatchObject({
      deliveredWh: '4498.5',
      lastReading: { occurredAt: T('19:30'), energyImportWh: '1500.5', energyExportWh: '2', powerW: null, socPercent: null },
    });
    await session(meter('CorrectSessionMeterReading', '2026-11-27T19:30:00Z', '1400', '2'));
    await session(meter('CorrectSessionMeterReading', '2026-11-27T18:30:00Z', '6000', '10')); // not the latest of its segment
    await caughtUp(runner, lastPosition);
    expect(await findSession(target.sql, table, D)).toMatchObject({ deliveredWh: '4398', lastReading: { occurredAt: T('19:30'), energyImportWh: '1400' } });
    // The aggregate agrees.
    const state = sessionStates.get(D)!;
    expect(state.status !== 'none' && sessionNeeds(state, Date.parse(T('19:30'))).deliveredWh).toBe('4398');
  });

  /**
   * A rough log, seeded: nodes added, changed, removed and added again; load measurements late and
   * corrected; rules and discharge requests added, removed, cancelled and added again; sessions
   * occupied (at either site, before or after their plug-in), allocated (setpoints of every scale),
   * released, suspended, stopped, plugged in twice; meter readings out of order, corrected, and
   * meter resets. Events the domain would not all emit, but schema-valid: the read model records them.
   */
  async function appendRoughLog(steps: number, seed: number): Promise<void> {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const sites = [`rough-a-${tag}`, `rough-b-${tag}`];
    const sessions = Array.from({ length: 10 }, (_, i) => `rough-${i}-${tag}`);
    const nodeIds = ['F1', 'C1', 'C2', 'K1', 'K2', 'K3'];
    const watts = ['0', '1400', '7400.0', '11000', '3680.25', '22000.000', '-5000', '-2500.5', '-0.0'];
    const at = () => formatInstant(Date.UTC(2026, 10, 27, 17) + Math.floor(random() * 240) * 60_000);
    const register = () => pick(['0', '10', '999.5', '1500.25', '2000.125', '2000.100', '3500', '12000.0']);
    let siteEvents: SiteEvent[] = [];
    let siteStream = sites[0]!;
    const flushSite = async () => {
      if (siteEvents.length === 0) return;
      const result = await store.append(`site-${siteStream}`, siteEvents, { expectedVersion: 'any', commandId: randomUUID(), actor: 'grid-int' });
      lastPosition = result.lastPosition ?? lastPosition;
      siteEvents = [];
    };
    const onSite = async (siteId: string, event: SiteEvent) => {
      if (siteId !== siteStream) await flushSite();
      siteStream = siteId;
      siteEvents.push(event);
      // A few events an append, so that one append holds several (and the runner's batches cut them anywhere).
      if (siteEvents.length >= 1 + Math.floor(random() * 4)) await flushSite();
    };
    const onSession = async (event: SessionEvent) => {
      await flushSite();
      const result = await store.append(sessionStreamId(event.data.sessionId), [event], { expectedVersion: 'any', commandId: randomUUID(), actor: 'grid-int' });
      lastPosition = result.lastPosition ?? lastPosition;
    };
    const node = (siteId: string, nodeId: string): SiteEvent => ({
      type: 'NodeAdded',
      data: {
        siteId,
        nodeId,
        parentId: nodeId === 'F1' ? siteId : 'F1',
        kind: nodeId.startsWith('C') ? 'charger' : nodeId === 'F1' ? 'feeder' : 'connector',
        name: `${nodeId} ${Math.floor(random() * 100)}`,
        importLimitW: pick(watts.filter((w) => !w.startsWith('-'))),
        exportLimitW: pick(['0', '11000', '5000.50']),
        charger: nodeId.startsWith('C') ? pick([bidirectional, oneWay]) : null,
      },
    });
    for (const siteId of sites) {
      await onSite(siteId, { type: 'SiteRegistered', data: { siteId, name: `Rough ${siteId}`, importLimitW: '100000', exportLimitW: '50000.0' } });
      for (const nodeId of nodeIds) await onSite(siteId, node(siteId, nodeId));
    }
    for (let step = 0; step < steps; step++) {
      const siteId = pick(sites);
      const sessionId = pick(sessions);
      const roll = random();
      if (roll < 0.12) {
        const nodeId = pick([...nodeIds, 'X9']);
        const change = pick(['add', 'limits', 'charger', 'remove', 'rename', 'register', 'configure'] as const);
        if (change === 'add') await onSite(siteId, node(siteId, nodeId));
        else if (change === 'limits')
          await onSite(siteId, { type: 'NodeLimitsChanged', data: { siteId, nodeId, importLimitW: pick(['9000', '9000.00', '12500.5']), exportLimitW: '0' } });
        else if (change === 'charger')
          await onSite(siteId, { type: 'ChargerChanged', data: { siteId, nodeId, charger: { ...pick([bidirectional, oneWay]), maxPowerW: pick(['7400', '11000.0']) } } });
        else if (change === 'remove') await onSite(siteId, { type: 'NodeRemoved', data: { siteId, nodeId } });
        else if (change === 'rename') await onSite(siteId, { type: 'SiteRenamed', data: { siteId, name: `Rough ${step}` } });
        else if (change === 'register')
          await onSite(siteId, { type: 'SiteRegistered', data: { siteId, name: `Again ${step}`, importLimitW: pick(['90000', '90000.0']), exportLimitW: '0' } });
        else
          await onSite(siteId, {
            type: 'SiteConfigured',
            data: { siteId, rotationIntervalS: 600, promoteAfterS: 1800, dischargePriceThresholdMinorPerKWh: null, priceZone: null },
          });
      } else if (roll < 0.22) {
        // Few instants, so that measurements repeat one (corrections) and arrive late.
        const occurredAt = formatInstant(Date.UTC(2026, 10, 27, 17) + Math.floor(random() * 6) * 600_000);
        await onSite(siteId, { type: 'NodeLoadMeasured', data: { siteId, nodeId: pick([siteId, 'F1']), occurredAt, otherLoadW: register(), generationW: pick(['0', '250.50']) } });
      } else if (roll < 0.27) {
        const ruleId = pick(['R1', 'R2']);
        if (random() < 0.6) {
          const window = { start: at(), end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null };
          const rule = {
            ruleId,
            priority: step,
            scope: { kind: 'node' as const, nodeId: 'F1' },
            window,
            importCapW: pick(['40000', '40000.0']),
            exportCapW: null,
            reason: null,
            source: null,
          };
          await onSite(siteId, { type: 'CongestionRuleAdded', data: { siteId, rule } });
        } else await onSite(siteId, { type: 'CongestionRuleRemoved', data: { siteId, ruleId } });
      } else if (roll < 0.32) {
        const requestId = pick(['D1', 'D2']);
        if (random() < 0.6) {
          const start = at();
          const end = formatInstant(Date.parse(start) + 1_800_000);
          await onSite(siteId, {
            type: 'DischargeRequested',
            data: { siteId, requestId, nodeId: 'F1', start, end, powerW: pick(['5000', '2500.50']), source: pick([null, 'dso']) },
          });
        } else await onSite(siteId, { type: 'DischargeRequestCancelled', data: { siteId, requestId } });
      } else if (roll < 0.4) {
        await onSite(siteId, {
          type: 'ConnectorOccupied',
          data: { siteId, connectorId: pick(['K1', 'K2', 'K3']), sessionId, at: at(), minPowerW: '1400', maxPowerW: '11000', maxDischargePowerW: pick([null, '5000']) },
        });
      } else if (roll < 0.45) {
        await onSite(siteId, { type: 'ConnectorReleased', data: { siteId, connectorId: 'K1', sessionId, at: at() } });
      } else if (roll < 0.58) {
        const named = sessions.filter(() => random() < 0.3).slice(0, 4);
        const setpoints = (named.length > 0 ? named : [sessionId]).map((id) => ({
          sessionId: id,
          powerW: pick(watts),
          status: pick(['charging', 'discharging', 'on_hold', 'done'] as const),
          reason: pick([null, 'capacity:F1', 'suspended']),
        }));
        await onSite(siteId, { type: 'SetpointsAssigned', data: { siteId, at: at(), trigger: pick(['plug_in', 'rotation', 'plug_out']), setpoints } });
        if (random() < 0.3) await onSite(siteId, { type: 'SessionResumed', data: { siteId, sessionId: setpoints[0]!.sessionId, at: at() } });
      } else if (roll < 0.64) {
        await onSession({
          type: 'SessionPluggedIn',
          data: {
            sessionId,
            siteId,
            connectorId: pick(['K1', 'K2', 'K3']),
            vehicleId: `vehicle-${sessionId}`,
            customerId: 'cust-rough',
            fleetId: pick([null, 'fleet-1']),
            tier: pick(['urgent', 'high', 'normal', 'low'] as const),
            pluggedInAt: at(),
            departureAt: '2026-11-28T07:00:00.000Z',
            energyNeededWh: pick([null, '30000', '12500.50']),
            targetSocPercent: pick([null, '80', '80.0']),
            batteryCapacityWh: pick([null, '60000']),
            socPercent: pick([null, '35.5']),
            minPowerW: '1400',
            maxPowerW: pick(['11000', '7400.0']),
            v2g: pick([null, { minSocPercent: '30', maxDischargePowerW: '5000' }]),
            meterStartImportWh: register(),
            meterStartExportWh: pick(['0', '10.5']),
          },
        });
      } else if (roll < 0.7) {
        const lifecycle = pick(['SessionSuspended', 'SessionReactivated', 'SessionStopped', 'SessionDepartureChanged'] as const);
        if (lifecycle === 'SessionStopped') await onSession({ type: lifecycle, data: { sessionId, at: at(), reason: pick(['EVDisconnected', 'Local']) } });
        else if (lifecycle === 'SessionDepartureChanged') await onSession({ type: lifecycle, data: { sessionId, at: at(), departureAt: at() } });
        else await onSession({ type: lifecycle, data: { sessionId, at: at() } });
      } else if (roll < 0.95) {
        const reading = {
          sessionId,
          occurredAt: at(),
          energyImportWh: register(),
          energyExportWh: pick(['0', '5.5', '800']),
          powerW: pick([null, '7400', '-3000.5']),
          socPercent: pick([null, '34.2', '60']),
        };
        if (random() < 0.8) await onSession({ type: 'SessionMeterReadingRecorded', data: reading });
        else await onSession({ type: 'SessionMeterReadingCorrected', data: { ...reading, reason: 'misread' } });
      } else {
        await onSession({ type: 'SessionMeterReset', data: { sessionId, occurredAt: at(), energyImportWh: register(), energyExportWh: '0', reason: 'meter replaced' } });
      }
    }
    await flushSite();
  }

  it('projects a rough log, and the mixed fill of the benches', async () => {
    await appendRoughLog(700, 0x6e1d);
    // 100 sites with their trees and loads, sessions with thousands of readings (late, duplicated,
    // corrected, across meter resets), and a market (not the grid's business).
    const fill = await fillMixed({ store, readings: 800, sessions: 8, loadsPerSite: 2, orders: 100, chunk: 20, concurrency: 2, seed: 11 });
    if (fill.lastPosition > lastPosition) lastPosition = fill.lastPosition;
    // Site and node meters, registered in no particular id order: the list is by id, byte by byte.
    const meterIds = ['m-b', 'M-a', 'm-a', 'm-10', 'm-9'].map((m) => `${m}-${tag}`);
    for (const [i, meterId] of meterIds.entries()) {
      const result = await store.append(
        `meter-${meterId}`,
        [
          {
            type: 'MeterRegistered',
            data: { meterId, siteId: `rough-a-${tag}`, nodeId: i % 2 === 0 ? `rough-a-${tag}` : 'F1', measures: 'building_load', registeredAt: '2026-11-27T16:00:00.000Z' },
          },
        ],
        { expectedVersion: 'no_stream', commandId: randomUUID(), actor: 'grid-int' },
      );
      lastPosition = result.lastPosition ?? lastPosition;
    }
    await appendRoughLog(300, 0x5eed);
    await caughtUp(runner, lastPosition, 120_000);
    const meters = await listMeters(target.sql, table, { siteId: `rough-a-${tag}` }, { first: 10 });
    expect(meters.map((m) => m.meterId)).toEqual([...meterIds].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect((await listMeters(target.sql, table, { siteId: `rough-a-${tag}`, nodeId: 'F1' }, { first: 10, backward: true })).map((m) => m.meterId)).toEqual(
      meterIds.filter((_, i) => i % 2 === 1).sort((a, b) => Buffer.compare(Buffer.from(b), Buffer.from(a))),
    );
    const { rows } = await target.sql.query<{ sessions: string; segments: string; allocations: string }>(
      `SELECT (SELECT count(*) FROM ${table('sessions')})::text AS sessions, (SELECT count(*) FROM ${table('meter_segments')} WHERE isfinite(start_at))::text AS segments,
              (SELECT count(*) FROM ${table('site_load')})::text AS allocations`,
    );
    expect(Number(rows[0]!.sessions)).toBeGreaterThan(20);
    expect(Number(rows[0]!.segments)).toBeGreaterThan(5);
    expect(Number(rows[0]!.allocations)).toBeGreaterThan(50);
  }, 180_000);

  it('builds identical rows from zero, in big batches, event by event, and in batches of 1 and of 7', async () => {
    await caughtUp(runner, lastPosition);
    await expectSameRows(
      { target, store, table },
      lastPosition,
      GRID_TABLES,
      [
        { name: 'big batches', schema: target.schemas.rebuild, projection: gridProjection, batchSize: 1000 },
        { name: 'per event', schema: target.schemas.perEvent, projection: perEventProjection, batchSize: 500 },
        { name: 'batches of 1', schema: target.schemas.ones, projection: gridProjection, batchSize: 1 },
        { name: 'batches of 7', schema: target.schemas.sevens, projection: gridProjection, batchSize: 7 },
      ],
      { logger },
    );
    // No batch fell back to applying its events one by one.
    expect(warnings).toEqual([]);
    // Four builds of ~6,500 events, one of them a transaction per event: on a loaded machine that
    // takes minutes. The bound that matters is caughtUp's: a build whose checkpoint stops moving fails.
  }, 1_200_000);
}
