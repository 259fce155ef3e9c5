import { randomUUID } from 'node:crypto';
import {
  AccountNotFound,
  accountDecider,
  accountStreamId,
  formatInstant,
  parseInstant,
  siteDecider,
  siteStreamId,
  tariffDecider,
  tariffStreamId,
  type PlugIn,
  type RegisteredSite,
  type TariffDefinition,
} from '@v2g/domain';
import { openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { PLUG_IN_DEFAULTS } from '@v2g/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextAllocationDue } from '../src/index.ts';
import { CommandHandler } from '../src/command-handler.ts';
import { GridService } from '../src/index.ts';

/** The grid's use cases on PGlite: the two-stream plug-in, re-planning, and when the clock matters. */
describe('GridService (PGlite)', () => {
  let sql: SqlClient;
  let store: EventStore;
  let commands: CommandHandler;
  let now = parseInstant('now', '2026-11-27T12:00:00Z');
  let beforeRecording: (() => Promise<void>) | null = null;
  let grid: GridService;

  const ctx = () => ({ commandId: randomUUID(), actor: 'test' });

  beforeAll(async () => {
    sql = await openPglite(undefined);
    store = await openPostgresStore({ sql, registry: SchemaRegistry.fromDirectory(), pollMs: 100 });
    commands = new CommandHandler(store);
    grid = new GridService(store, commands, {
      clock: () => now,
      // Runs between planning and recording: lets a test change the site under the allocation.
      priceAt: async () => {
        const hook = beforeRecording;
        beforeRecording = null;
        await hook?.();
        return null;
      },
    });
    // A session is billed to a known account: the driver's is opened with a flat tariff.
    const tariff: TariffDefinition = {
      tariffId: 'flat',
      name: 'Flat',
      currency: 'EUR',
      energy: { kind: 'fixed', priceMinorPerKWh: '30' },
      speedBands: [],
      sessionFeeMinor: null,
      exportCredit: null,
    };
    await commands.handle(tariffDecider, tariffStreamId('flat'), { type: 'DefineTariff', at: formatInstant(now), tariff }, ctx());
    await commands.handle(
      accountDecider,
      accountStreamId('driver'),
      { type: 'AssignTariff', accountId: 'driver', at: formatInstant(now), tariffId: 'flat', validFrom: '2020-01-01T00:00:00Z', validTo: null },
      ctx(),
    );
  });
  afterAll(async () => {
    await store?.close();
    await sql?.close();
  });

  /** A 22 kW feeder with two 11 kW chargers, a connector each. */
  async function site(): Promise<string> {
    const siteId = `site-${randomUUID().slice(0, 8)}`;
    await grid.site({ type: 'RegisterSite', siteId, name: 'Depot', importLimitW: '100000', exportLimitW: '0' }, ctx());
    await grid.site({ type: 'AddNode', siteId, nodeId: 'f1', parentId: siteId, kind: 'feeder', name: 'F1', importLimitW: '22000', exportLimitW: '0', charger: null }, ctx());
    for (const cp of ['cp1', 'cp2']) {
      const charger = { minPowerW: '1400', maxPowerW: '11000', bidirectional: false, minDischargePowerW: null, maxDischargePowerW: null };
      await grid.site({ type: 'AddNode', siteId, nodeId: cp, parentId: 'f1', kind: 'charger', name: cp, importLimitW: '11000', exportLimitW: '0', charger }, ctx());
      await grid.site({ type: 'AddNode', siteId, nodeId: `${cp}-1`, parentId: cp, kind: 'connector', name: cp, importLimitW: '11000', exportLimitW: '0', charger: null }, ctx());
    }
    return siteId;
  }

  const plugIn = (siteId: string, connectorId: string): Omit<PlugIn, 'type' | 'at'> => ({
    sessionId: `${siteId}-${connectorId}-${randomUUID().slice(0, 4)}`,
    siteId,
    connectorId,
    vehicleId: 'ev',
    customerId: 'driver',
    ...PLUG_IN_DEFAULTS,
    departureAt: formatInstant(now + 8 * 3_600_000),
    energyNeededWh: '40000',
  });

  const loadSite = async (siteId: string): Promise<RegisteredSite> => (await grid.loadSite(siteId)).site!;

  it('completes a plug-in cut short between its two writes when the command is sent again, writing each half once', async () => {
    const siteId = await site();
    const request = plugIn(siteId, 'cp1-1');
    const context = ctx();
    // The crash: the site recorded the occupancy under the command's id, the session was never opened.
    await commands.handle(
      siteDecider,
      siteStreamId(siteId),
      {
        type: 'OccupyConnector',
        siteId,
        at: formatInstant(now),
        connectorId: 'cp1-1',
        sessionId: request.sessionId,
        minPowerW: '1400',
        maxPowerW: '11000',
        maxDischargePowerW: null,
      },
      context,
    );
    await grid.allocate(siteId, 'test');
    expect((await loadSite(siteId)).sessions.get(request.sessionId)).toMatchObject({ setpointW: '0', status: 'on_hold', reason: 'no_session_record' });

    const retried = await grid.plugIn(request, context);
    expect(retried.site.result.duplicate).toBe(true);
    expect(retried.session.result.duplicate).toBe(false);
    const again = await grid.plugIn(request, context);
    expect(again.session.result.duplicate).toBe(true);
    expect(await store.streamVersion(`session-${request.sessionId}`)).toBe(1);
    expect((await loadSite(siteId)).sessions.get(request.sessionId)).toMatchObject({ setpointW: '11000', status: 'charging' });
  });

  it('refuses a plug-in billed to an account nobody opened, naming the field, before either stream is touched', async () => {
    const siteId = await site();
    const headBefore = await store.headPosition();
    const stranger = { ...plugIn(siteId, 'cp1-1'), customerId: 'nobody' };
    for (const [billed, field, accountId] of [
      [stranger, 'customerId', 'nobody'],
      [{ ...stranger, customerId: 'driver', fleetId: 'no-fleet' }, 'fleetId', 'no-fleet'],
    ] as const) {
      const refused = await grid.plugIn(billed, ctx()).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AccountNotFound);
      expect(refused).toMatchObject({ code: 'ACCOUNT_NOT_FOUND', details: { field, accountId } });
    }
    expect(await store.headPosition()).toBe(headBefore);
  });

  it('plans again when the site changed under an allocation and refused it', async () => {
    const siteId = await site();
    await grid.plugIn(plugIn(siteId, 'cp1-1'), ctx());
    await grid.plugIn(plugIn(siteId, 'cp2-1'), ctx());
    expect((await loadSite(siteId)).nodes.get('f1')).toBeDefined();
    // Between planning (22 kW on f1) and recording, the feeder drops to 5 kW: the site refuses
    // the stale plan (GridLimitExceeded), and the run plans again on the lower limit.
    beforeRecording = async () => {
      await commands.handle(
        siteDecider,
        siteStreamId(siteId),
        { type: 'ChangeNodeLimits', siteId, at: formatInstant(now), nodeId: 'f1', importLimitW: '5000', exportLimitW: '0' },
        ctx(),
      );
    };
    now += 60_000;
    await grid.allocate(siteId, 'test');
    expect(beforeRecording).toBeNull();
    const setpoints = [...(await loadSite(siteId)).sessions.values()].map((s) => Number(s.setpointW));
    expect(setpoints.reduce((a, b) => a + b, 0)).toBe(5000);
  });

  it('knows when the clock alone will change an allocation', async () => {
    const siteId = await site();
    const empty = await loadSite(siteId);
    expect(nextAllocationDue(empty, now, 60_000, 0)).toBeNull();

    await grid.site({ type: 'ConfigureSite', siteId, rotationIntervalS: 600, promoteAfterS: 3600, dischargePriceThresholdMinorPerKWh: null, priceZone: null }, ctx());
    await grid.site({ type: 'ChangeNodeLimits', siteId, nodeId: 'f1', importLimitW: '1400', exportLimitW: '0' }, ctx());
    await grid.plugIn(plugIn(siteId, 'cp1-1'), ctx());
    await grid.plugIn(plugIn(siteId, 'cp2-1'), ctx());
    // Room for one: the other waits, so the running turn's end (10 min) is when it changes.
    expect(nextAllocationDue(await loadSite(siteId), now, 3_600_000, 0)).toBe(now + 600_000);
    expect(nextAllocationDue(await loadSite(siteId), now, 60_000, 0)).toBe(now + 60_000);

    await grid.site(
      {
        type: 'AddCongestionRule',
        siteId,
        rule: {
          ruleId: 'r1',
          priority: 1,
          scope: { kind: 'node', nodeId: siteId },
          window: { start: formatInstant(now + 120_000), end: formatInstant(now + 240_000), daysOfWeek: null, dailyFrom: null, dailyTo: null },
          importCapW: '0',
          exportCapW: null,
          reason: null,
          source: null,
        },
      },
      ctx(),
    );
    expect(nextAllocationDue(await loadSite(siteId), now, 3_600_000, 0)).toBe(now + 120_000);
    // With chargers that take 5 s to respond, the cap is met 5 s ahead; then again at its start
    // and at its end (a limit that rises), and 5 s before the end changes nothing that can wait.
    const withRule = await loadSite(siteId);
    expect(nextAllocationDue(withRule, now, 3_600_000, 5_000)).toBe(now + 115_000);
    expect(nextAllocationDue(withRule, now + 115_000, 3_600_000, 5_000)).toBe(now + 120_000);
    expect(nextAllocationDue(withRule, now + 118_000, 3_600_000, 5_000)).toBe(now + 120_000);
    expect(nextAllocationDue(withRule, now + 120_000, 3_600_000, 5_000)).toBe(now + 235_000);
    expect(nextAllocationDue(withRule, now + 235_000, 3_600_000, 5_000)).toBe(now + 240_000);
  });
  it('records an area rule on every site of the area under <commandId>/<siteId>, after checking every site, and a retry completes it', async () => {
    const [a, b] = [await site(), await site()];
    const rule = {
      ruleId: 'evening-cap',
      priority: 1,
      window: { start: formatInstant(now), end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null },
      importCapW: '50000',
      exportCapW: null,
      reason: 'feeder maintenance',
      source: 'dso',
    };
    const head = await store.headPosition();
    // A site that is not registered, and a site listed twice: refused before anything is written.
    await expect(grid.addAreaCongestionRule({ areaId: 'north', siteIds: [a, 'nowhere'], rule }, ctx())).rejects.toMatchObject({
      code: 'INVALID_COMMAND',
      details: { field: 'siteIds' },
    });
    await expect(grid.addAreaCongestionRule({ areaId: 'north', siteIds: [a, a], rule }, ctx())).rejects.toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'siteIds' } });
    await expect(grid.addAreaCongestionRule({ areaId: 'north', siteIds: [], rule }, ctx())).rejects.toMatchObject({ code: 'INVALID_COMMAND', details: { field: 'siteIds' } });
    expect(await store.headPosition()).toBe(head);

    const context = ctx();
    // A failure after the first site: only its part was written.
    await grid.site({ type: 'AddCongestionRule', siteId: a, rule: { ...rule, scope: { kind: 'area', areaId: 'north' } } }, { ...context, commandId: `${context.commandId}/${a}` });
    const done = await grid.addAreaCongestionRule({ areaId: 'north', siteIds: [a, b], rule }, context);
    expect(done.map((d) => [d.siteId, d.commandId, d.handled.result.duplicate])).toEqual([
      [a, `${context.commandId}/${a}`, true],
      [b, `${context.commandId}/${b}`, false],
    ]);
    for (const siteId of [a, b]) expect((await loadSite(siteId)).rules.get('evening-cap')?.scope).toEqual({ kind: 'area', areaId: 'north' });
  });
});
