import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  firstSubscriptionData,
  freshSiteId,
  openAccounts,
  registerSite,
  startTestServer,
  TEST_OPERATOR_KEY,
  type TestServer,
  type TestServerOptions,
  waitForStream,
} from './harness.ts';

/**
 * The grid through GraphQL, end to end: build a tree, plug vehicles in, watch the allocation keep
 * every limit, subscribe to setpoints, and be refused (with nothing written) on bad input.
 */

const COMMON = /* GraphQL */ `
  __typename
  ... on Error {
    code message
    # Inside the interface: valid for every mutation, whether or not its union lists the type.
    ... on InvalidCommandError { field reason }
    ... on UnknownNodeError { nodeId }
    ... on ConnectorInUseError { connectorId sessionId }
  }
`;
const SITE_RESULT = `${COMMON} ... on SiteCommandPayload { duplicate position site { version } }`;
const SESSION_RESULT = `${COMMON}
  ... on InvalidSessionRequestError { field reason }
  ... on TimeOutOfBoundsError { field }
  ... on SessionCommandPayload { duplicate position session { sessionId lifecycle version } }`;

const SITE_VIEW = /* GraphQL */ `
  query Site($siteId: ID!) {
    site(siteId: $siteId) {
      version
      lastAllocationAt
      nodes {
        nodeId
        parentId
        kind
        flowW
        effectiveImportLimitW
        effectiveExportLimitW
        importBoundBy
        importHeadroomW
      }
      sessions {
        sessionId
        connectorId
        setpointW
        status
        reason
        minPowerW
        maxPowerW
      }
      rules {
        ruleId
        inForce
      }
    }
  }
`;

type Node = { nodeId: string; flowW: string; effectiveImportLimitW: string; effectiveExportLimitW: string; importBoundBy: string; importHeadroomW: string };
type SiteSession = { sessionId: string; connectorId: string; setpointW: string; status: string; reason: string | null; minPowerW: string; maxPowerW: string };
type SiteRead = { site: { version: number; lastAllocationAt: string | null; nodes: Node[]; sessions: SiteSession[]; rules: { ruleId: string; inForce: boolean }[] } };

export function describeGridApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`the grid through GraphQL over ${label}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(options!);
      // The sessions' customer: a session is only plugged in for a known account.
      await openAccounts(server, 'driver-1');
    });
    afterAll(async () => {
      await server?.close();
    });

    const mutate = async (name: string, inputType: string, input: Record<string, unknown>) => {
      const result = ['plugIn', 'stopSession', 'recordSessionMeterReading'].includes(name) ? SESSION_RESULT : SITE_RESULT;
      const { status, body } = await server.gql(`mutation($input: ${inputType}!) { ${name}(input: $input) { ${result} } }`, {
        input: { commandId: randomUUID(), ...input },
      });
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      expect(status).toBe(200);
      return body.data![name] as Record<string, any>;
    };
    const readSite = async (siteId: string) => {
      const { body } = await server.gql<SiteRead>(SITE_VIEW, { siteId });
      expect(body.errors).toBeUndefined();
      return body.data!.site;
    };
    const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

    /** A site: 50 kW connection, a 20 kW feeder, two 11 kW bidirectional chargers and a 22 kW one, a connector each. */
    async function buildSite(): Promise<string> {
      const siteId = freshSiteId();
      expect((await registerSite(server, { siteId, importLimitW: '50000', exportLimitW: '30000' })).body.data!.registerSite.__typename).toBe('RegisterSitePayload');
      const add = (input: Record<string, unknown>) => mutate('addNode', 'AddNodeInput', { siteId, ...input });
      expect(await add({ nodeId: 'f1', parentId: siteId, kind: 'FEEDER', name: 'Feeder 1', importLimitW: '20000', exportLimitW: '20000' })).toMatchObject({
        __typename: 'SiteCommandPayload',
      });
      for (const cp of ['cp1', 'cp2']) {
        await add({
          nodeId: cp,
          parentId: 'f1',
          kind: 'CHARGER',
          name: cp,
          importLimitW: '11000',
          exportLimitW: '11000',
          charger: { minPowerW: '1400', maxPowerW: '11000', bidirectional: true, minDischargePowerW: '1400', maxDischargePowerW: '11000' },
        });
        await add({ nodeId: `${cp}-1`, parentId: cp, kind: 'CONNECTOR', name: `${cp} connector`, importLimitW: '11000', exportLimitW: '11000' });
      }
      await add({
        nodeId: 'cp3',
        parentId: 'f1',
        kind: 'CHARGER',
        name: 'cp3',
        importLimitW: '22000',
        exportLimitW: '0',
        charger: { minPowerW: '4140', maxPowerW: '22000', bidirectional: false },
      });
      const last = await add({ nodeId: 'cp3-1', parentId: 'cp3', kind: 'CONNECTOR', name: 'cp3 connector', importLimitW: '22000', exportLimitW: '0' });
      expect(last.__typename).toBe('SiteCommandPayload');
      return siteId;
    }

    const plugIn = (siteId: string, input: Record<string, unknown>) =>
      mutate('plugIn', 'PlugInInput', {
        siteId,
        sessionId: `${siteId}-${randomUUID().slice(0, 6)}`,
        vehicleId: 'ev-1',
        customerId: 'driver-1',
        tier: 'NORMAL',
        departureAt: inHours(4),
        energyNeededWh: '30000',
        minPowerW: '1400',
        maxPowerW: '11000',
        ...input,
      });

    const flowOf = (site: SiteRead['site'], nodeId: string) => BigInt(site.nodes.find((n) => n.nodeId === nodeId)!.flowW);

    it('pages gridSessions and streams(category) to their end, each item once in log order, across positions of every digit count', async () => {
      // Forty sessions, plugged in and stopped in turn, put their first positions on both sides of
      // 100 (and of 10 on a fresh log): a list ordered as text ("100" < "99") breaks the keyset.
      const siteId = await buildSite();
      const sessionIds: string[] = [];
      for (let i = 0; i < 40; i += 1) {
        const plugged = await plugIn(siteId, { connectorId: 'cp1-1', energyNeededWh: '1000' });
        sessionIds.push(plugged.session.sessionId);
        await mutate('stopSession', 'StopSessionInput', { sessionId: plugged.session.sessionId, reason: 'unplugged' });
      }
      await waitForStream(server, `session-${sessionIds.at(-1)}`);
      const walk = async (field: string, query: string, variables: Record<string, unknown>, idOf: (node: any) => string) => {
        const seen: string[] = [];
        let after: string | null = null;
        for (let page = 0; page < 100; page += 1) {
          const { body }: { body: { errors?: unknown; data?: Record<string, any> } } = await server.gql<any>(query, { ...variables, after });
          expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
          const connection: any = body.data![field];
          seen.push(...connection.edges.map((e: any) => idOf(e.node)));
          if (!connection.pageInfo.hasNextPage) return { seen, totalCount: connection.totalCount as string };
          after = connection.pageInfo.endCursor;
        }
        throw new Error(`${field} did not end within 100 pages (${seen.length} edges)`);
      };
      const grid = await walk(
        'gridSessions',
        `query($siteId: ID!, $after: String) { gridSessions(siteId: $siteId, first: 7, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { sessionId } } } }`,
        { siteId },
        (node) => node.sessionId,
      );
      expect(grid.seen).toEqual(sessionIds);
      expect(grid.totalCount).toBe('40');

      const streams = await walk(
        'streams',
        `query($after: String) { streams(category: "session", first: 7, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { streamId firstPosition } } } }`,
        {},
        (node) => `${node.streamId}@${node.firstPosition}`,
      );
      const positions = streams.seen.map((s) => BigInt(s.split('@')[1]!));
      expect(positions, 'streams in log order').toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(new Set(streams.seen).size, 'each stream once').toBe(streams.seen.length);
      expect(String(streams.seen.length)).toBe(streams.totalCount);
      const ours = streams.seen.map((s) => s.split('@')[0]!).filter((id) => sessionIds.includes(id.replace(/^session-/, '')));
      expect(ours).toEqual(sessionIds.map((id) => `session-${id}`));
      expect(positions.some((p) => p < 100n) && positions.some((p) => p >= 100n), 'positions on both sides of 100').toBe(true);
    }, 180_000);

    it("shares a feeder's limit among the sessions plugged in below it, to the watt", async () => {
      const siteId = await buildSite();
      const sessions = [];
      for (const connectorId of ['cp1-1', 'cp2-1', 'cp3-1']) {
        const result = await plugIn(siteId, { connectorId, maxPowerW: connectorId === 'cp3-1' ? '22000' : '11000' });
        expect(result).toMatchObject({ __typename: 'SessionCommandPayload', duplicate: false, session: { lifecycle: 'ACTIVE' } });
        sessions.push(result.session.sessionId as string);
      }
      const site = await readSite(siteId);
      expect(site.sessions.map((s) => s.status)).toEqual(['CHARGING', 'CHARGING', 'CHARGING']);
      // 20 kW for three sessions that could take 44 kW: all of it is used. Each needs 30 kWh in
      // 4 h (7.5 kW on average); the two on 11 kW chargers have the least laxity, so they get
      // their 7.5 kW first, and the one on the 22 kW charger gets the rest.
      expect(flowOf(site, 'f1')).toBe(20000n);
      expect(flowOf(site, siteId)).toBe(20000n);
      // (The departure is 4 h after the test's clock, a few ms before the allocation's: a watt or two more.)
      const power = Object.fromEntries(site.sessions.map((s) => [s.connectorId, Number(s.setpointW)]));
      expect(power['cp1-1']).toBe(power['cp2-1']);
      expect(power['cp1-1']).toBeGreaterThanOrEqual(7500);
      expect(power['cp1-1']).toBeLessThanOrEqual(7510);
      expect(power['cp3-1']).toBe(20000 - 2 * power['cp1-1']!);
      expect(site.sessions.every((s) => s.reason === 'capacity:f1')).toBe(true);
    });

    it('applies a congestion rule at once, names it as what binds, and streams the new setpoints to a subscriber', async () => {
      const siteId = await buildSite();
      await plugIn(siteId, { connectorId: 'cp1-1' });
      await plugIn(siteId, { connectorId: 'cp2-1' });
      // The subscription starts at the readable end of the log: on a busy server that can trail the
      // plug-ins' setpoints, which would then arrive first. Wait until they are readable.
      await waitForStream(server, `site-${siteId}`);

      // From the site's last event on, named rather than the log's head: the subscription may start late.
      const after = (await server.ledger.store.readStream(`site-${siteId}`)).at(-1)!.globalPosition.toString();
      const abort = new AbortController();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(TEST_OPERATOR_KEY) },
        body: JSON.stringify({
          query: `subscription($siteId: ID!, $after: Position) { setpointsChanged(siteId: $siteId, after: $after) { siteId trigger position setpoints { sessionId powerW status reason } } }`,
          variables: { siteId, after },
        }),
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const firstEvent = firstSubscriptionData<{ data: { setpointsChanged: { trigger: string; setpoints: { powerW: string; reason: string }[] } } }>(reader);

      const rule = await mutate('addCongestionRule', 'AddCongestionRuleInput', {
        siteId,
        nodeId: 'f1',
        ruleId: 'dso-cap',
        priority: 1,
        window: { start: new Date(Date.now() - 60_000).toISOString() },
        importCapW: '6000',
        reason: 'evening peak',
        source: 'dso-request-17',
      });
      expect(rule.__typename).toBe('SiteCommandPayload');
      const site = await readSite(siteId);
      expect(site.rules).toEqual([{ ruleId: 'dso-cap', inForce: true }]);
      const f1 = site.nodes.find((n) => n.nodeId === 'f1')!;
      expect(f1).toMatchObject({ effectiveImportLimitW: '6000', importBoundBy: 'rule:dso-cap' });
      expect(flowOf(site, 'f1')).toBeLessThanOrEqual(6000n);
      expect(flowOf(site, 'f1')).toBeGreaterThan(6000n - 1400n);

      const event = await firstEvent;
      abort.abort();
      expect(event.data.setpointsChanged.setpoints.length).toBeGreaterThan(0);
      expect(['curtailment', 'AddCongestionRule']).toContain(event.data.setpointsChanged.trigger);
    });

    it("meets a load reading that cuts the headroom with one allocation in the reading's own append, holding nobody the new room allows", async () => {
      const siteId = await buildSite();
      for (const connectorId of ['cp1-1', 'cp2-1', 'cp3-1']) await plugIn(siteId, { connectorId, maxPowerW: connectorId === 'cp3-1' ? '22000' : '11000' });
      expect(flowOf(await readSite(siteId), 'f1')).toBe(20000n);
      const before = (await server.ledger.store.readStream(`site-${siteId}`)).length;

      // 8 kW of building load below f1: 12 kW left for the three sessions, whose minimums (1.4 + 1.4 + 4.14 kW) fit.
      const commandId = randomUUID();
      const { body } = await server.gql(`mutation($input: RecordNodeLoadInput!) { recordNodeLoad(input: $input) { ${SITE_RESULT} } }`, {
        input: { commandId, siteId, nodeId: 'f1', occurredAt: new Date().toISOString(), otherLoadW: '8000', generationW: '0' },
      });
      expect(body.errors).toBeUndefined();
      expect((body.data as Record<string, { __typename: string }>)['recordNodeLoad']!.__typename).toBe('SiteCommandPayload');

      const written = (await server.ledger.store.readStream(`site-${siteId}`)).slice(before);
      expect(written.map((e) => e.metadata.commandId)).toEqual(written.map(() => commandId));
      expect(written.map((e) => e.type)).toEqual(['NodeLoadMeasured', 'SetpointsAssigned']);
      expect((written[1]!.data as { trigger: string }).trigger).toBe('RecordNodeLoad');
      const site = await readSite(siteId);
      expect(flowOf(site, 'f1')).toBe(12000n);
      expect(site.sessions.map((s) => s.status)).toEqual(['CHARGING', 'CHARGING', 'CHARGING']);
    });

    it('re-allocates at once when a meter reading shows a session has received what it needs', async () => {
      const siteId = await buildSite();
      const plugged = await plugIn(siteId, { connectorId: 'cp1-1', energyNeededWh: '1000' });
      const sessionId = plugged.session.sessionId as string;
      await plugIn(siteId, { connectorId: 'cp2-1' });
      await plugIn(siteId, { connectorId: 'cp3-1', maxPowerW: '22000' });
      const sessionOf = (site: SiteRead['site']) => site.sessions.find((s) => s.sessionId === sessionId)!;
      expect(sessionOf(await readSite(siteId)).status).toBe('CHARGING');

      const reading = (energyImportWh: string) =>
        mutate('recordSessionMeterReading', 'RecordSessionMeterReadingInput', { sessionId, occurredAt: new Date().toISOString(), energyImportWh, energyExportWh: '0' });
      // A reading short of the need leaves the allocation as it was (the next one reads it).
      const versionBefore = (await readSite(siteId)).version;
      await reading('400');
      expect((await readSite(siteId)).version).toBe(versionBefore);
      // The reading that completes it frees the power for the others in the same request.
      await reading('1000');
      const site = await readSite(siteId);
      expect(sessionOf(site)).toMatchObject({ status: 'DONE', setpointW: '0', reason: 'energy_delivered' });
      expect(flowOf(site, 'f1')).toBe(20000n);
      expect(site.sessions.filter((s) => s.sessionId !== sessionId).every((s) => s.status === 'CHARGING')).toBe(true);
    });

    it("discharges a consenting session for a grid operator's request, and holds the others", async () => {
      const siteId = await buildSite();
      const v2g = await plugIn(siteId, {
        connectorId: 'cp1-1',
        energyNeededWh: null,
        targetSocPercent: '80',
        batteryCapacityWh: '60000',
        socPercent: '70',
        departureAt: inHours(10),
        v2g: { minSocPercent: '30', maxDischargePowerW: '7000' },
      });
      await plugIn(siteId, { connectorId: 'cp3-1', maxPowerW: '22000' });
      await mutate('requestDischarge', 'RequestDischargeInput', {
        siteId,
        requestId: 'flex-1',
        nodeId: siteId,
        start: new Date(Date.now() - 1000).toISOString(),
        end: inHours(1),
        powerW: '5000',
        source: 'dso',
      });
      const site = await readSite(siteId);
      const discharging = site.sessions.find((s) => s.sessionId === v2g.session.sessionId)!;
      expect(discharging).toMatchObject({ status: 'DISCHARGING', setpointW: '-5000', reason: 'discharge:request:flex-1' });
      const held = site.sessions.find((s) => s.sessionId !== v2g.session.sessionId)!;
      expect(held).toMatchObject({ status: 'ON_HOLD', setpointW: '0', reason: 'discharge:request:flex-1' });
      expect(flowOf(site, siteId)).toBe(-5000n);
    });

    it("judges field times by the ledger's clock: a car-park day's backdated, future-dated and day-ahead inputs are refused and change nothing (issue 12, item 3)", async () => {
      const siteId = await buildSite();
      const hoursFromNow = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
      const TIME_RESULT = `${SESSION_RESULT} ... on TimeOutOfBoundsError { value now earliest latest }`;
      const send = async (name: string, inputType: string, input: Record<string, unknown>, selection = TIME_RESULT) => {
        const { body } = await server.gql(`mutation($input: ${inputType}!) { ${name}(input: $input) { ${selection} } }`, { input: { commandId: randomUUID(), ...input } });
        expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
        return (body.data as Record<string, Record<string, any>>)[name]!;
      };
      const session = (sessionId: string, extra: Record<string, unknown>) => ({
        sessionId,
        siteId,
        connectorId: 'cp1-1',
        vehicleId: 'ev-1',
        customerId: 'driver-1',
        tier: 'NORMAL',
        departureAt: hoursFromNow(4),
        energyNeededWh: '30000',
        minPowerW: '1400',
        maxPowerW: '11000',
        ...extra,
      });
      const streamOf = async (id: string) => (await server.ledger.store.readStream(id)).length;

      // A plug-in dated two hours back whose departure is an hour in the past: the departure is not after now.
      const backdated = await send('plugIn', 'PlugInInput', session(`${siteId}-back`, { at: hoursFromNow(-2), departureAt: hoursFromNow(-1) }));
      expect(backdated).toMatchObject({ __typename: 'TimeOutOfBoundsError', code: 'TIME_OUT_OF_BOUNDS', field: 'departureAt' });
      // A plug-in dated an hour ahead: no charger reports a plug-in that has not happened (5 minutes of clock skew allowed).
      const ahead = await send('plugIn', 'PlugInInput', session(`${siteId}-ahead`, { at: hoursFromNow(1) }));
      expect(ahead).toMatchObject({ __typename: 'TimeOutOfBoundsError', code: 'TIME_OUT_OF_BOUNDS', field: 'at' });
      expect(Date.parse(ahead.latest) - Date.parse(ahead.now)).toBe(5 * 60_000);
      expect(await streamOf(`session-${siteId}-back`)).toBe(0);
      expect(await streamOf(`session-${siteId}-ahead`)).toBe(0);
      expect((await readSite(siteId)).sessions).toEqual([]);

      // A session meter reading dated an hour ahead is not recorded, nor counted in what was delivered.
      const plugged = await plugIn(siteId, { connectorId: 'cp1-1' });
      const sessionId = plugged.session.sessionId as string;
      const version = await streamOf(`session-${sessionId}`);
      const future = await send(
        'recordSessionMeterReading',
        'RecordSessionMeterReadingInput',
        { sessionId, occurredAt: hoursFromNow(1), energyImportWh: '5000', energyExportWh: '0' },
        `${COMMON} ... on SessionCommandPayload { duplicate }`,
      );
      expect(future.__typename).toMatch(/FromFuture|OutOfBounds/);
      expect(future.code).toMatch(/FUTURE|OUT_OF_BOUNDS/);
      expect(await streamOf(`session-${sessionId}`)).toBe(version);
      const { body: needs } = await server.gql(`query($id: ID!) { session(sessionId: $id) { needs { deliveredWh } lastReading { occurredAt } } }`, { id: sessionId });
      expect(needs.data!.session).toEqual({ needs: { deliveredWh: '0' }, lastReading: null });

      // A 30 kW load on the feeder dated a day ahead is refused; a real reading of 0 W now leaves the feeder's headroom whole.
      const siteVersion = (await readSite(siteId)).version;
      const dayAhead = await send(
        'recordNodeLoad',
        'RecordNodeLoadInput',
        { siteId, nodeId: 'f1', occurredAt: hoursFromNow(24), otherLoadW: '30000', generationW: '0' },
        `${COMMON} ... on SiteCommandPayload { duplicate }`,
      );
      expect(dayAhead).toMatchObject({ __typename: 'ReadingFromFutureError' });
      expect((await readSite(siteId)).version).toBe(siteVersion);
      const real = await send(
        'recordNodeLoad',
        'RecordNodeLoadInput',
        { siteId, nodeId: 'f1', occurredAt: new Date().toISOString(), otherLoadW: '0', generationW: '0' },
        `${COMMON} ... on SiteCommandPayload { duplicate }`,
      );
      expect(real.__typename).toBe('SiteCommandPayload');
      const site = await readSite(siteId);
      const feeder = site.nodes.find((n) => n.nodeId === 'f1')!;
      // The feeder's 20 kW, less only what the session draws: no phantom 30 kW of building load.
      expect(BigInt(feeder.importHeadroomW) + flowOf(site, 'f1')).toBe(20000n);
      expect(site.sessions.find((s) => s.sessionId === sessionId)!.setpointW).toBe('11000');
    });

    it('refuses a stop the session refuses before the site releases its connector: nothing written', async () => {
      const siteId = await buildSite();
      const plugged = await plugIn(siteId, { connectorId: 'cp1-1' });
      const sessionId = plugged.session.sessionId as string;
      const siteVersion = (await readSite(siteId)).version;
      const sessionEvents = (await server.ledger.store.readStream(`session-${sessionId}`)).length;
      const refused = await mutate('stopSession', 'StopSessionInput', { sessionId, reason: '' });
      expect(refused).toMatchObject({ __typename: 'InvalidSessionRequestError', field: 'reason' });
      const site = await readSite(siteId);
      expect(site.version).toBe(siteVersion);
      expect(site.sessions.map((s) => s.sessionId)).toEqual([sessionId]);
      expect((await server.ledger.store.readStream(`session-${sessionId}`)).length).toBe(sessionEvents);
      // The same stop with a reason goes through, and frees the connector.
      expect(await mutate('stopSession', 'StopSessionInput', { sessionId, reason: 'unplugged' })).toMatchObject({ __typename: 'SessionCommandPayload' });
      expect((await readSite(siteId)).sessions).toEqual([]);
    });

    it('refuses bad input with a typed error that names it, and writes nothing', async () => {
      const siteId = await buildSite();
      const occupied = await plugIn(siteId, { connectorId: 'cp1-1' });
      const siteVersion = (await readSite(siteId)).version;
      // Each refused plug-in names its own session: none of their streams may exist afterwards.
      const refused = (n: number) => ({ sessionId: `${siteId}-refused-${n}` });

      const unknownParent = await mutate('addNode', 'AddNodeInput', { siteId, nodeId: 'x', parentId: 'nowhere', kind: 'CIRCUIT', name: 'x', importLimitW: '1', exportLimitW: '1' });
      expect(unknownParent).toMatchObject({ __typename: 'UnknownNodeError', code: 'UNKNOWN_NODE', nodeId: 'nowhere' });

      const negative = await mutate('changeNodeLimits', 'ChangeNodeLimitsInput', { siteId, nodeId: 'f1', importLimitW: '-5', exportLimitW: '0' });
      expect(negative).toMatchObject({ __typename: 'InvalidCommandError', field: 'importLimitW' });

      const past = await plugIn(siteId, { ...refused(1), connectorId: 'cp2-1', departureAt: new Date(Date.now() - 3_600_000).toISOString() });
      // A departure before the ledger's now is a time out of its bounds (issue 12, item 3), not a malformed request.
      expect(past).toMatchObject({ __typename: 'TimeOutOfBoundsError', code: 'TIME_OUT_OF_BOUNDS', field: 'departureAt' });

      const minAboveMax = await plugIn(siteId, { ...refused(2), connectorId: 'cp2-1', minPowerW: '12000', maxPowerW: '11000' });
      expect(minAboveMax).toMatchObject({ __typename: 'InvalidSessionRequestError', field: 'minPowerW' });

      const taken = await plugIn(siteId, { ...refused(3), connectorId: 'cp1-1' });
      expect(taken).toMatchObject({ __typename: 'ConnectorInUseError', code: 'CONNECTOR_IN_USE', connectorId: 'cp1-1', sessionId: occupied.session.sessionId });

      const noConnector = await plugIn(siteId, { ...refused(4), connectorId: 'cp9-1' });
      expect(noConnector).toMatchObject({ __typename: 'UnknownNodeError', nodeId: 'cp9-1' });

      // A session is billed to a known account: its fleet's when it has one, else its customer's.
      const nobody = await plugIn(siteId, { ...refused(5), connectorId: 'cp2-1', customerId: 'nobody-known' });
      expect(nobody).toMatchObject({ __typename: 'AccountNotFoundError', code: 'ACCOUNT_NOT_FOUND', message: expect.stringContaining('nobody-known') });
      const noFleet = await server.gql<any>(`mutation($input: PlugInInput!) { plugIn(input: $input) { __typename ... on AccountNotFoundError { code field accountId } } }`, {
        input: {
          commandId: randomUUID(),
          siteId,
          sessionId: refused(6).sessionId,
          connectorId: 'cp2-1',
          vehicleId: 'ev-1',
          customerId: 'driver-1',
          fleetId: 'no-such-fleet',
          tier: 'NORMAL',
          departureAt: inHours(4),
          energyNeededWh: '1000',
          minPowerW: '1400',
          maxPowerW: '11000',
        },
      });
      expect(noFleet.body.data.plugIn).toEqual({ __typename: 'AccountNotFoundError', code: 'ACCOUNT_NOT_FOUND', field: 'fleetId', accountId: 'no-such-fleet' });

      // (The global head may move meanwhile: other tests' sites are re-allocated on the clock.)
      expect((await readSite(siteId)).version).toBe(siteVersion);
      for (const n of [1, 2, 3, 4, 5, 6]) expect(await server.ledger.store.streamVersion(`session-${refused(n).sessionId}`)).toBe(0);
    });

    it('stops a session: the connector is free again and the power goes to the others', async () => {
      const siteId = await buildSite();
      const first = await plugIn(siteId, { connectorId: 'cp1-1' });
      await plugIn(siteId, { connectorId: 'cp2-1' });
      await plugIn(siteId, { connectorId: 'cp3-1', maxPowerW: '22000' });
      const stopped = await mutate('stopSession', 'StopSessionInput', { sessionId: first.session.sessionId, reason: 'unplugged' });
      expect(stopped).toMatchObject({ __typename: 'SessionCommandPayload', session: { lifecycle: 'STOPPED' } });
      const site = await readSite(siteId);
      expect(site.sessions.map((s) => s.connectorId).sort()).toEqual(['cp2-1', 'cp3-1']);
      expect(flowOf(site, 'f1')).toBe(20000n);
      const again = await plugIn(siteId, { connectorId: 'cp1-1' });
      expect(again.__typename).toBe('SessionCommandPayload');

      // The read model catches up with the allocation that followed the plug-in.
      await waitForStream(server, `site-${siteId}`);
      await waitForStream(server, `session-${again.session.sessionId}`);
      const { body } = await server.gql<any>(
        `query($siteId: ID!, $from: DateTime!, $to: DateTime!) {
          gridSessions(siteId: $siteId, first: 2) {
            totalCount pageInfo { hasNextPage endCursor }
            edges { node { sessionId status connectorId setpointW setpoints { powerW status } } }
          }
          stopped: gridSessions(siteId: $siteId, status: STOPPED) { totalCount edges { node { sessionId stopReason } } }
          siteLoadHistory(siteId: $siteId, from: $from, to: $to) { trigger evImportW sessionCount }
        }`,
        { siteId, from: new Date(Date.now() - 3_600_000).toISOString(), to: inHours(1) },
      );
      expect(body.errors).toBeUndefined();
      const { gridSessions, stopped: stoppedSessions, siteLoadHistory } = body.data;
      expect(gridSessions.totalCount).toBe('4');
      expect(gridSessions.pageInfo.hasNextPage).toBe(true);
      expect(gridSessions.edges.map((e: any) => e.node.sessionId)).toEqual([first.session.sessionId, expect.any(String)]);
      expect(gridSessions.edges[0].node).toMatchObject({ status: 'STOPPED', setpointW: '0' });
      expect(gridSessions.edges[0].node.setpoints.length).toBeGreaterThan(0);
      expect(stoppedSessions).toEqual({ totalCount: '1', edges: [{ node: { sessionId: first.session.sessionId, stopReason: 'unplugged' } }] });
      const last = (await readSite(siteId)).sessions.reduce((sum, s) => sum + Number(s.setpointW), 0);
      expect(siteLoadHistory.at(-1)).toMatchObject({ evImportW: String(last), sessionCount: 3 });
    });
  });
}
