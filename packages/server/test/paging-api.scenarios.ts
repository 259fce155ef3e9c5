import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { getNamedType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema/index.ts';
import { queryData, registerSite, sendCommand, startTestServer, waitForStream, type TestPrincipal, type TestServer, type TestServerOptions } from './harness.ts';

/**
 * Every Relay connection of the schema, walked to its end through GraphQL: forward (first/after)
 * and backward (last/before), with page sizes fast-check picks, over items whose log positions
 * have mixed digit counts (below 10, around 100 and around 1000: a keyset that compared positions
 * as text, "100" < "99", would repeat and skip). Each walk must return every item once, in the
 * connection's order, as many as totalCount, and the same items whichever way it is read. A
 * connection the schema has and this table does not fails the test.
 */

type Edge = { cursor: string; node: Record<string, unknown> };
type Page = { totalCount: string; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null }; edges: Edge[] };

/** How to read one connection: the query (its page under `path`), the node's identity and its order key. */
type Walker = {
  /** The connection field, as Type.field. */
  field: string;
  query: string;
  variables: Record<string, unknown>;
  path: string[];
  idOf: (node: Record<string, unknown>) => string;
  /** The connection's order: a key to compare (bigint positions, byte-ordered ids). */
  keyOf: (node: Record<string, unknown>) => bigint | string;
  descending?: boolean;
  /** Ids the setup created that the connection must hold (all of them when `exactly`). */
  expected: () => string[];
  exactly: boolean;
  headers?: () => Record<string, string>;
};

const PAGE = 'totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ';
const ARGS = '$first: Int, $after: String, $last: Int, $before: String';
const PASS = 'first: $first, after: $after, last: $last, before: $before';

const byteOrder = (a: bigint | string, b: bigint | string) => (a < b ? -1 : a > b ? 1 : 0);
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

export function describePagingApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`every connection paged to its end over ${label}`, () => {
    let server: TestServer;
    let trader: TestPrincipal;
    const tag = randomUUID().slice(0, 6);
    const zone = `P${tag}`;
    const [seller, buyer] = [`sell-${tag}`, `buy-${tag}`];
    const HOUR = 3_600_000;
    const delivery = new Date(Math.floor((Date.now() + 3 * HOUR) / HOUR) * HOUR).toISOString();
    const hubSite = `hub${tag}`;
    const created = {
      sites: [] as string[],
      tariffs: [] as string[],
      accounts: [] as string[],
      meters: [] as string[],
      sessions: [] as string[],
      zones: [] as string[],
      trades: 0,
      orders: 0,
    };
    const positionsSeen: bigint[] = [];

    const command = async (name: string, inputType: string, input: Record<string, unknown>, fields = '') => {
      const result = await sendCommand(server, name, inputType, input, fields);
      expect(result.code, `${name}: ${result.message}`).toBeUndefined();
      return result;
    };

    /** Appends renames of a filler site until the log's head reaches `position`: the next items land past it. */
    async function fillTo(position: bigint) {
      const head = await server.ledger.store.headPosition();
      if (head >= position) return;
      const streamId = `site-fill${tag}`;
      const version = await server.ledger.store.streamVersion(streamId);
      const count = Number(position - head);
      await server.ledger.store.append(
        streamId,
        Array.from({ length: count }, (_, i) => ({ type: 'SiteRenamed', data: { siteId: `fill${tag}`, name: `Filler ${version + i}` } })),
        { expectedVersion: version, commandId: randomUUID(), actor: 'test:filler' },
      );
    }

    /** One item of every list: a site and its meter, a tariff and an account, a session, a zone, a trade. */
    async function oneOfEach(round: number, i: number) {
      const n = `${round}${i}${tag}`;
      const siteId = `s${n}`;
      const registered = await registerSite(server, { siteId, name: `Site ${n}` });
      expect(registered.body.data?.registerSite.__typename).toBe('RegisterSitePayload');
      positionsSeen.push(BigInt(registered.body.data!.registerSite.position!));
      created.sites.push(siteId);
      await command('registerMeter', 'RegisterMeterInput', { meterId: `m${n}`, siteId, nodeId: siteId, measures: 'BUILDING_LOAD' });
      created.meters.push(`m${n}`);
      const tariffId = `t${n}`;
      await command('defineTariff', 'DefineTariffInput', { tariff: { tariffId, name: tariffId, currency: 'EUR', energy: { fixed: { priceMinorPerKWh: '30' } }, speedBands: [] } });
      created.tariffs.push(tariffId);
      const accountId = `a${n}`;
      await command('assignTariff', 'AssignTariffInput', { accountId, tariffId, validFrom: '2026-01-01T00:00:00Z' });
      created.accounts.push(accountId);
      const sessionId = `x${n}`;
      await command('plugIn', 'PlugInInput', {
        sessionId,
        siteId: hubSite,
        connectorId: 'c1',
        vehicleId: 'ev',
        customerId: accountId,
        tier: 'NORMAL',
        departureAt: new Date(Date.now() + 5 * HOUR).toISOString(),
        energyNeededWh: '1000',
        minPowerW: '1400',
        maxPowerW: '11000',
      });
      await command('stopSession', 'StopSessionInput', { sessionId, reason: 'unplugged' });
      created.sessions.push(sessionId);
      const zoneId = `Z${n}`;
      await command('configureMarketZone', 'ConfigureMarketZoneInput', {
        zone: zoneId,
        currency: 'EUR',
        imbalancePriceZone: zoneId,
        products: [
          {
            lengthMinutes: 15,
            mode: 'CONTINUOUS',
            tickMinorPerMWh: '1',
            minPriceMinorPerMWh: '0',
            maxPriceMinorPerMWh: '400000',
            quantityStepKWh: '0.1',
            maxQuantityKWh: '100',
            gateClosureMinutes: 5,
            openMinutes: 1440,
          },
        ],
      });
      created.zones.push(zoneId);
      const order = (traderId: string, side: string) => ({
        clientOrderId: randomUUID().slice(0, 8),
        traderId,
        side,
        orderType: 'LIMIT',
        quantityKWh: '1',
        limitPriceMinorPerMWh: '6000',
      });
      await command('submitOrders', 'SubmitOrdersInput', { zone, deliveryStart: delivery, lengthMinutes: 15, orders: [order(seller, 'SELL'), order(buyer, 'BUY')] });
      created.trades += 1;
      created.orders += 1;
      positionsSeen.push(await server.ledger.store.headPosition());
    }

    beforeAll(async () => {
      server = await startTestServer(options!);
      trader = await server.as('trader', seller);
      await command('configureMarketZone', 'ConfigureMarketZoneInput', {
        zone,
        currency: 'EUR',
        imbalancePriceZone: zone,
        products: [
          {
            lengthMinutes: 15,
            mode: 'CONTINUOUS',
            tickMinorPerMWh: '1',
            minPriceMinorPerMWh: '0',
            maxPriceMinorPerMWh: '400000',
            quantityStepKWh: '0.1',
            maxQuantityKWh: '100',
            gateClosureMinutes: 5,
            openMinutes: 1440,
          },
        ],
      });
      created.zones.push(zone);
      for (const participantId of [seller, buyer]) await command('registerParticipant', 'RegisterParticipantInput', { zone, participantId, name: participantId });
      await registerSite(server, { siteId: hubSite, name: 'Hub', importLimitW: '100000' });
      created.sites.push(hubSite);
      await command('addNode', 'AddNodeInput', {
        siteId: hubSite,
        nodeId: 'cp',
        parentId: hubSite,
        kind: 'CHARGER',
        name: 'cp',
        importLimitW: '11000',
        exportLimitW: '0',
        charger: { minPowerW: '1400', maxPowerW: '11000', bidirectional: false },
      });
      await command('addNode', 'AddNodeInput', { siteId: hubSite, nodeId: 'c1', parentId: 'cp', kind: 'CONNECTOR', name: 'c1', importLimitW: '11000', exportLimitW: '0' });
      // Items below position 10 and past it, then around 100, then around 1000.
      for (const [round, fill] of [
        [0, 0n],
        [1, 95n],
        [2, 995n],
      ] as const) {
        await fillTo(fill);
        for (let i = 0; i < 3; i += 1) await oneOfEach(round, i);
      }
      await waitForStream(server, `site-${hubSite}`);
      await waitForStream(server, `market-${zone}-${delivery.slice(0, 16).replace(/[-:]/g, '')}Z-15m`);
      await waitForStream(server, `account-${created.accounts.at(-1)}`);
    }, 600_000);
    afterAll(async () => {
      await server?.close();
    });

    const walkers: Walker[] = [
      {
        field: 'Query.streams',
        query: `query(${ARGS}) { streams(category: "session", ${PASS}) { ${PAGE} streamId firstPosition } } } }`,
        variables: {},
        path: ['streams'],
        idOf: (n) => String(n['streamId']),
        keyOf: (n) => BigInt(String(n['firstPosition'])),
        expected: () => created.sessions.map((s) => `session-${s}`),
        exactly: true,
      },
      {
        field: 'Stream.events',
        query: `query(${ARGS}, $id: ID!) { stream(id: $id) { events(${PASS}) { ${PAGE} streamVersion globalPosition } } } } }`,
        variables: { id: `site-${hubSite}` },
        path: ['stream', 'events'],
        idOf: (n) => String(n['globalPosition']),
        keyOf: (n) => BigInt(Number(n['streamVersion'])),
        expected: () => [],
        exactly: false,
      },
      {
        field: 'Query.trades',
        query: `query(${ARGS}, $zone: ID!) { trades(zone: $zone, ${PASS}) { ${PAGE} tradeId position } } } }`,
        variables: { zone },
        path: ['trades'],
        idOf: (n) => String(n['tradeId']),
        keyOf: (n) => BigInt(String(n['position'])),
        expected: () => [],
        exactly: false,
      },
      {
        field: 'Query.trades (newestFirst)',
        query: `query(${ARGS}, $zone: ID!) { trades(zone: $zone, newestFirst: true, ${PASS}) { ${PAGE} tradeId position } } } }`,
        variables: { zone },
        path: ['trades'],
        idOf: (n) => String(n['tradeId']),
        keyOf: (n) => BigInt(String(n['position'])),
        descending: true,
        expected: () => [],
        exactly: false,
      },
      {
        field: 'Query.orders',
        query: `query(${ARGS}, $traderId: ID!) { orders(traderId: $traderId, ${PASS}) { ${PAGE} orderId acceptedAt } } } }`,
        variables: { traderId: buyer },
        path: ['orders'],
        idOf: (n) => String(n['orderId']),
        keyOf: (n) => String(n['acceptedAt']),
        expected: () => [],
        exactly: false,
      },
      {
        field: 'Query.myOrders',
        query: `query(${ARGS}) { myOrders(${PASS}) { ${PAGE} orderId acceptedAt } } } }`,
        variables: {},
        path: ['myOrders'],
        idOf: (n) => String(n['orderId']),
        keyOf: (n) => String(n['acceptedAt']),
        expected: () => [],
        exactly: false,
        headers: () => trader.headers,
      },
      {
        field: 'Query.gridSessions',
        query: `query(${ARGS}, $siteId: ID!) { gridSessions(siteId: $siteId, ${PASS}) { ${PAGE} sessionId firstPosition } } } }`,
        variables: { siteId: hubSite },
        path: ['gridSessions'],
        idOf: (n) => String(n['sessionId']),
        keyOf: (n) => `${String(n['firstPosition']).padStart(20, '0')}:${String(n['sessionId'])}`,
        expected: () => created.sessions,
        exactly: true,
      },
      {
        field: 'Query.sessions',
        query: `query(${ARGS}) { sessions(${PASS}) { ${PAGE} sessionId firstPosition } } } }`,
        variables: {},
        path: ['sessions'],
        idOf: (n) => String(n['sessionId']),
        keyOf: (n) => `${String(n['firstPosition']).padStart(20, '0')}:${String(n['sessionId'])}`,
        expected: () => created.sessions,
        exactly: false,
      },
      {
        field: 'Query.ledgerPostings',
        query: `query(${ARGS}, $account: ID!) { ledgerPostings(account: $account, ledger: "Wh", ${PASS}) { ${PAGE} transferId position } } } }`,
        variables: { account: `trader:${seller}` },
        path: ['ledgerPostings'],
        idOf: (n) => String(n['transferId']),
        keyOf: (n) => BigInt(String(n['position'])),
        expected: () => [],
        exactly: false,
      },
      {
        field: 'Query.sites',
        query: `query(${ARGS}) { sites(${PASS}) { ${PAGE} siteId } } } }`,
        variables: {},
        path: ['sites'],
        idOf: (n) => String(n['siteId']),
        keyOf: (n) => utf8(String(n['siteId'])),
        expected: () => created.sites,
        exactly: false,
      },
      {
        field: 'Query.tariffs',
        query: `query(${ARGS}) { tariffs(currency: "EUR", ${PASS}) { ${PAGE} tariffId } } } }`,
        variables: {},
        path: ['tariffs'],
        idOf: (n) => String(n['tariffId']),
        keyOf: (n) => utf8(String(n['tariffId'])),
        expected: () => created.tariffs,
        exactly: true,
      },
      {
        field: 'Query.marketZones',
        query: `query(${ARGS}) { marketZones(${PASS}) { ${PAGE} zone } } } }`,
        variables: {},
        path: ['marketZones'],
        idOf: (n) => String(n['zone']),
        keyOf: (n) => utf8(String(n['zone'])),
        expected: () => created.zones,
        exactly: true,
      },
      {
        field: 'Query.meters',
        query: `query(${ARGS}) { meters(${PASS}) { ${PAGE} meterId } } } }`,
        variables: {},
        path: ['meters'],
        idOf: (n) => String(n['meterId']),
        keyOf: (n) => utf8(String(n['meterId'])),
        expected: () => created.meters,
        exactly: true,
      },
      {
        field: 'Query.accounts',
        query: `query(${ARGS}) { accounts(${PASS}) { ${PAGE} accountId } } } }`,
        variables: {},
        path: ['accounts'],
        idOf: (n) => String(n['accountId']),
        keyOf: (n) => utf8(String(n['accountId'])),
        expected: () => created.accounts,
        exactly: true,
      },
    ];

    const pageOf = async (walker: Walker, args: Record<string, unknown>): Promise<Page> => {
      let data = await queryData(server, walker.query, { ...walker.variables, ...args }, walker.headers?.());
      for (const key of walker.path) data = data[key];
      return data as Page;
    };

    /** Every node of a connection, read forward or backward `size` at a time, in the connection's order. */
    async function walk(walker: Walker, size: number, backward: boolean): Promise<{ ids: string[]; keys: (bigint | string)[]; totalCount: string }> {
      const nodes: Record<string, unknown>[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 2_000; pages += 1) {
        const page = await pageOf(walker, backward ? { last: size, before: cursor } : { first: size, after: cursor });
        expect(page.edges.length).toBeLessThanOrEqual(size);
        const more = backward ? page.pageInfo.hasPreviousPage : page.pageInfo.hasNextPage;
        if (more) expect(page.edges, `${walker.field}: a page short of ${size} said there is more`).toHaveLength(size);
        expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
        expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
        const read = page.edges.map((e) => e.node);
        if (backward) nodes.unshift(...read);
        else nodes.push(...read);
        if (!more) return { ids: nodes.map(walker.idOf), keys: nodes.map(walker.keyOf), totalCount: page.totalCount };
        cursor = backward ? page.pageInfo.startCursor : page.pageInfo.endCursor;
      }
      throw new Error(`${walker.field} did not end within 2000 pages`);
    }

    it('has a walker for every connection field of the schema', () => {
      const fields: string[] = [];
      for (const type of Object.values(schema.getTypeMap())) {
        if (!isObjectType(type) || type.name.startsWith('__')) continue;
        for (const field of Object.values(type.getFields())) if (getNamedType(field.type).name.endsWith('Connection')) fields.push(`${type.name}.${field.name}`);
      }
      expect(fields.sort()).toEqual([...new Set(walkers.map((w) => w.field.split(' ')[0]!))].sort());
    });

    it('lays the items out across positions of every digit count', () => {
      const digits = new Set(positionsSeen.map((p) => p.toString().length));
      expect([...digits].sort()).toEqual(expect.arrayContaining([1, 2, 3, 4]));
    });

    for (const w of walkers) {
      it(`walks ${w.field} to its end, forward and backward, each node once in order, totalCount of them`, async () => {
        const reference = await walk(w, 100, false);
        expect(new Set(reference.ids).size, 'each node once').toBe(reference.ids.length);
        expect(String(reference.ids.length)).toBe(reference.totalCount);
        const sorted = [...reference.keys].sort(byteOrder);
        expect(reference.keys).toEqual(w.descending ? sorted.reverse() : sorted);
        if (w.exactly) expect([...reference.ids].sort()).toEqual([...w.expected()].sort());
        else expect(reference.ids).toEqual(expect.arrayContaining(w.expected()));
        expect(reference.ids.length, `${w.field} holds something to walk`).toBeGreaterThan(2);
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 1, max: 11 }), fc.boolean(), async (size, backward) => {
            const walked = await walk(w, size, backward);
            expect(walked.ids).toEqual(reference.ids);
            expect(walked.totalCount).toBe(reference.totalCount);
          }),
          { numRuns: 6 },
        );
      }, 300_000);
    }

    it("refuses garbage, another connection's cursor and a position beyond bigint with INVALID_CURSOR, naming the argument", async () => {
      const streams = walkers[0]!;
      const first = await pageOf(streams, { first: 1 });
      const siteCursor = (await pageOf(walkers[9]!, { first: 1 })).pageInfo.endCursor;
      const huge = Buffer.from('gridsession:9999999999999999999:x').toString('base64url');
      // Canonical in form, beyond what a bigint holds: it used to reach SQL and come back INTERNAL.
      const hugeStream = Buffer.from('stream:9999999999999999999').toString('base64url');
      for (const [walker, args, argument] of [
        [walkers[0]!, { first: 1, after: 'garbage' }, 'after'],
        [walkers[0]!, { last: 1, before: siteCursor }, 'before'],
        [walkers[6]!, { first: 1, after: huge }, 'after'],
        [walkers[0]!, { first: 1, after: hugeStream }, 'after'],
        [walkers[9]!, { first: 1, after: first.pageInfo.endCursor }, 'after'],
      ] as const) {
        const { status, body } = await server.gql<any>(walker.query, { ...walker.variables, ...args });
        expect(status).toBe(200);
        expect(body.errors?.map((e: any) => [e.extensions?.code, e.extensions?.details?.argument])).toEqual([['INVALID_CURSOR', argument]]);
      }
    });
  });
}
