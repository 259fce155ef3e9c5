import { createHash, createSecretKey, randomUUID } from 'node:crypto';
import { ROLES, type Role } from '@v2g/domain';
import { getNamedType, isCompositeType, isEnumType, isInputObjectType, isListType, isNonNullType, type GraphQLField, type GraphQLInputType } from 'graphql';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtConfig } from '../src/auth/auth-config.ts';
import { schema } from '../src/graphql/schema/index.ts';
import {
  ANONYMOUS,
  bearer,
  openAccounts,
  queryData,
  startTestServer,
  TEST_OPERATOR_ACTOR,
  TEST_OPERATOR_KEY,
  type TestPrincipal,
  type TestServer,
  type TestServerOptions,
  waitForStream,
} from './harness.ts';

/**
 * Authentication and roles, end to end: every Query, Mutation and Subscription field of the schema,
 * walked as each role, against the matrix below; 401 without valid credentials (none, malformed,
 * revoked, an expired or foreign JWT); FORBIDDEN for a role without the right, with nothing written;
 * ownership (a trader's orders, a fleet's and a driver's sessions and invoices); keys hashed at rest;
 * the principal in every event's metadata and in the logs, and no secret in them.
 */

type Who = Role;
const O: Who = 'operator';
const I: Who = 'integrator';
const A: Who = 'auditor';
const T: Who = 'trader';
const F: Who = 'fleet_manager';
const D: Who = 'driver';
const EVERY = [O, I, A, T, F, D];

/**
 * Who may use each field, when the arguments name the caller's own trader, fleet, customer or
 * session (see `valueFor`). A field of the schema without an entry here fails the walk.
 */
const EXPECTED: Record<string, readonly Who[]> = {
  // The raw log, keys, settlement and ledgers: operators and auditors.
  'Query.apiKeys': [O, A],
  'Query.eventTypes': [O, A],
  'Query.stream': [O, A],
  'Query.streams': [O, A],
  'Query.settlementStatement': [O, A],
  'Query.settlementRevisions': [O, A],
  'Query.ledgerAccounts': [O, A],
  'Query.ledgerTotals': [O, A],
  // A ledger account of one's own (trader:<id>, customer:<fleet or customer>).
  'Query.ledgerPostings': [O, A, T, F, D],
  // Operations and the grid: integrators read them too.
  'Query.projections': [O, I, A],
  'Query.projectionStatus': [O, I, A],
  'Query.site': [O, I, A],
  'Query.siteLoadHistory': [O, I, A],
  'Query.gridSessions': [O, I, A],
  'Query.meter': [O, I, A],
  'Query.sites': [O, I, A],
  'Query.meters': [O, I, A],
  'Query.accounts': [O, I, A],
  // Sessions across sites: platform readers; a fleet manager or driver names its own fleet or
  // customer (see "lists a fleet's and a driver's own sessions" below), which the walk does not.
  'Query.sessions': [O, I, A],
  // One's own session and account.
  'Query.session': [O, I, A, F, D],
  'Query.gridSession': [O, I, A, F, D],
  'Query.sessionCost': [O, I, A, F, D],
  'Query.invoice': [O, I, A, F, D],
  'Query.invoices': [O, I, A, F, D],
  'Query.tariffAssignments': [O, I, A, F, D],
  // Public: prices and tariffs.
  'Query.priceCurve': EVERY,
  'Query.tariff': EVERY,
  'Query.tariffs': EVERY,
  // The public market, and one's own orders and positions.
  'Query.marketZone': [O, I, A, T],
  'Query.marketZones': [O, I, A, T],
  'Query.orderBook': [O, I, A, T],
  'Query.trades': [O, I, A, T],
  'Query.orders': [O, A, T],
  'Query.positions': [O, A, T],
  'Query.myOrders': [T],

  // Configuration: the operator's.
  'Mutation.registerSite': [O],
  'Mutation.renameSite': [O],
  'Mutation.addNode': [O],
  'Mutation.removeNode': [O],
  'Mutation.changeNodeLimits': [O],
  'Mutation.changeCharger': [O],
  'Mutation.configureSite': [O],
  'Mutation.addCongestionRule': [O],
  'Mutation.addAreaCongestionRule': [O],
  'Mutation.removeCongestionRule': [O],
  'Mutation.configureMarketZone': [O],
  'Mutation.registerParticipant': [O],
  'Mutation.assignPortfolioMember': [O],
  'Mutation.closeGate': [O],
  'Mutation.closeSettlementPeriod': [O],
  'Mutation.createApiKey': [O],
  'Mutation.revokeApiKey': [O],
  'Mutation.rebuildProjection': [O],
  // Live grid signals, metering, prices, tariffs: integrators too.
  'Mutation.allocateSite': [O, I],
  'Mutation.recordNodeLoad': [O, I],
  'Mutation.requestDischarge': [O, I],
  'Mutation.cancelDischargeRequest': [O, I],
  'Mutation.registerMeter': [O, I],
  'Mutation.recordMeterReading': [O, I],
  'Mutation.correctMeterReading': [O, I],
  'Mutation.resetMeter': [O, I],
  'Mutation.recordSessionMeterReading': [O, I],
  'Mutation.correctSessionMeterReading': [O, I],
  'Mutation.resetSessionMeter': [O, I],
  'Mutation.publishPrices': [O, I],
  'Mutation.defineTariff': [O, I],
  'Mutation.assignTariff': [O, I],
  // Sessions: integrators, and the fleet manager or driver whose session it is.
  'Mutation.plugIn': [O, I, F, D],
  'Mutation.stopSession': [O, I, F, D],
  'Mutation.suspendSession': [O, I, F, D],
  'Mutation.reactivateSession': [O, I, F, D],
  'Mutation.changeDeparture': [O, I, F, D],
  // Orders: a trader's own (and the operator).
  'Mutation.submitOrder': [O, T],
  'Mutation.submitOrders': [O, T],
  'Mutation.amendOrder': [O, T],
  'Mutation.cancelOrder': [O, T],

  'Subscription.setpointsChanged': [O, I, A],
  'Subscription.tradesExecuted': [O, I, A, T],
};

/**
 * Who may state which part of a session command, among the roles that may send it for their own
 * session: facts from the field (when the car was plugged in or out, the meter's registers at
 * plug-in) are the charger's and the operator's, never the party they bill; a billed party asks
 * for a tier its contract allows (NORMAL by default). The walk above sends tier NORMAL and no
 * optional field; this matrix walks each of these on its own.
 */
const FIELD_EXPECTED: Record<string, { mutation: 'plugIn' | 'stopSession'; input: Record<string, unknown>; field: string; who: readonly Who[] }> = {
  'PlugInInput.at': { mutation: 'plugIn', input: { at: 'minutes:-5' }, field: 'at', who: [O, I] },
  'PlugInInput.meterStartImportWh': { mutation: 'plugIn', input: { meterStartImportWh: '19000' }, field: 'meterStartImportWh', who: [O, I] },
  'PlugInInput.meterStartExportWh': { mutation: 'plugIn', input: { meterStartExportWh: '0' }, field: 'meterStartExportWh', who: [O, I] },
  'PlugInInput.tier (URGENT)': { mutation: 'plugIn', input: { tier: 'URGENT' }, field: 'tier', who: [O, I] },
  'PlugInInput.tier (HIGH)': { mutation: 'plugIn', input: { tier: 'HIGH' }, field: 'tier', who: [O, I] },
  'StopSessionInput.at': { mutation: 'stopSession', input: { at: 'minutes:-1.5' }, field: 'at', who: [O, I] },
};

const JWT_ISSUER = 'https://id.example.test';
const JWT_AUDIENCE = 'v2g-ledger-e2e';
const JWT_SECRET = 'e2e-jwt-secret-of-at-least-32-bytes!';
const JWT: JwtConfig = { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, key: createSecretKey(Buffer.from(JWT_SECRET)), algorithms: ['HS256'] };

async function jwt(claims: Record<string, unknown>, options: { issuer?: string; audience?: string; expiresIn?: string | number; secret?: string } = {}): Promise<string> {
  let token = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.issuer ?? JWT_ISSUER)
    .setAudience(options.audience ?? JWT_AUDIENCE)
    .setIssuedAt();
  token = token.setExpirationTime(options.expiresIn ?? '5m');
  return token.sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

const FORBIDDEN = (body: { errors?: { extensions?: Record<string, unknown> }[] }) => body.errors?.some((e) => e.extensions?.code === 'FORBIDDEN') ?? false;

export function describeRolesApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`authentication and roles over ${label}`, () => {
    let server: TestServer;
    const tag = randomUUID().slice(0, 8);
    const site = `r${tag}`;
    const zone = `R${tag}`;
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => `${n}-${tag}`) as [string, string, string];
    const [fleet, otherFleet, customer, otherCustomer] = [`fleet-${tag}`, `fleet2-${tag}`, `cust-${tag}`, `cust2-${tag}`];
    const [ownSession, otherSession, fieldSession] = [`own-${tag}`, `other-${tag}`, `field-${tag}`];
    const HOUR = 3_600_000;
    // Departures within the ledger's horizon (7 days).
    const departure = new Date(Date.now() + 6 * HOUR).toISOString();
    const delivery = new Date(Math.floor((Date.now() + 2 * HOUR) / HOUR) * HOUR).toISOString();
    const book = { zone, deliveryStart: delivery, lengthMinutes: 15 };
    const as: Partial<Record<Who, TestPrincipal>> = {};
    const subjectOf: Record<Who, string | null> = { operator: null, integrator: null, auditor: null, trader: alice, fleet_manager: fleet, driver: customer };
    let bobsOrder = '';

    const ok = (query: string, variables: Record<string, unknown> = {}, headers?: Record<string, string>) => queryData(server, query, variables, headers);
    const command = (name: string, inputType: string, input: Record<string, unknown>, headers?: Record<string, string>, select = '__typename ... on Error { code message }') =>
      server.gql<any>(`mutation($input: ${inputType}!) { ${name}(input: $input) { ${select} } }`, { input: { commandId: randomUUID(), ...input } }, headers);

    beforeAll(async () => {
      server = await startTestServer({ ...options!, jwt: JWT });
      // Sessions are billed to known accounts, and fleet manager and driver keys act for one: the
      // fleets and customers have tariffs before their keys are created.
      await openAccounts(server, fleet, otherFleet, customer, otherCustomer);
      for (const role of ROLES) as[role] = await server.as(role, subjectOf[role]);
      // A site with two connectors and a session on each: one of the fleet manager's fleet and the
      // driver's, one of somebody else's.
      await command('registerSite', 'RegisterSiteInput', { siteId: site, name: 'Roles', importLimitW: '100000', exportLimitW: '0' });
      const node = (nodeId: string, parentId: string, kind: string, extra: Record<string, unknown> = {}) =>
        command('addNode', 'AddNodeInput', { siteId: site, nodeId, parentId, kind, name: nodeId, importLimitW: '22000', exportLimitW: '0', ...extra });
      await node('f1', site, 'FEEDER');
      await node('cp1', 'f1', 'CHARGER', { charger: { minPowerW: '1400', maxPowerW: '22000', bidirectional: false } });
      await node('cp1-1', 'cp1', 'CONNECTOR');
      await node('cp1-2', 'cp1', 'CONNECTOR');
      const plugIn = (sessionId: string, connectorId: string, customerId: string, fleetId: string) =>
        command(
          'plugIn',
          'PlugInInput',
          {
            sessionId,
            siteId: site,
            connectorId,
            vehicleId: `ev-${sessionId}`,
            customerId,
            fleetId,
            tier: 'NORMAL',
            departureAt: departure,
            energyNeededWh: '10000',
            minPowerW: '1400',
            maxPowerW: '11000',
          },
          undefined,
          '__typename ... on Error { code message } ... on SessionCommandPayload { streamId }',
        );
      expect((await plugIn(ownSession, 'cp1-1', customer, fleet)).body.data.plugIn.__typename).toBe('SessionCommandPayload');
      expect((await plugIn(otherSession, 'cp1-2', otherCustomer, otherFleet)).body.data.plugIn.__typename).toBe('SessionCommandPayload');
      // A market zone, three traders, and a trade between Bob and Carol that Alice only sees anonymised.
      await command('configureMarketZone', 'ConfigureMarketZoneInput', {
        zone,
        currency: 'EUR',
        imbalancePriceZone: zone,
        products: [
          {
            lengthMinutes: 15,
            mode: 'CONTINUOUS',
            tickMinorPerMWh: '1',
            minPriceMinorPerMWh: '-50000',
            maxPriceMinorPerMWh: '400000',
            quantityStepKWh: '0.1',
            maxQuantityKWh: '10000',
            gateClosureMinutes: 5,
            openMinutes: 1440,
          },
        ],
      });
      for (const participantId of [alice, bob, carol]) await command('registerParticipant', 'RegisterParticipantInput', { zone, participantId, name: participantId });
      const order = (traderId: string, side: string, quantityKWh: string, price: string) => ({
        clientOrderId: randomUUID().slice(0, 8),
        traderId,
        side,
        orderType: 'LIMIT',
        quantityKWh,
        limitPriceMinorPerMWh: price,
      });
      const submitted = await command(
        'submitOrders',
        'SubmitOrdersInput',
        { ...book, orders: [order(bob, 'SELL', '5', '6000')] },
        undefined,
        '__typename ... on SubmitOrdersPayload { orders { orderId } }',
      );
      bobsOrder = submitted.body.data.submitOrders.orders[0].orderId;
      const matched = await command(
        'submitOrders',
        'SubmitOrdersInput',
        { ...book, orders: [order(carol, 'BUY', '1', '6000')] },
        undefined,
        '__typename ... on SubmitOrdersPayload { streamId }',
      );
      // The walk reads orders and trades from the market read model: let it include the book first.
      await waitForStream(server, matched.body.data.submitOrders.streamId);
    }, 120_000);
    afterAll(async () => {
      await server?.close();
    });

    /** An argument's value as the walk sends it: the caller's own trader, fleet, customer, session. */
    function valueFor(type: GraphQLInputType, name: string, who: Who, commandIds: string[]): unknown {
      if (isNonNullType(type)) return valueFor(type.ofType, name, who, commandIds);
      if (isListType(type)) return [valueFor(type.ofType, name, who, commandIds)];
      // A tier a driver's contract allows (what a billed party may ask for is FIELD_EXPECTED's).
      if (isEnumType(type)) return name === 'tier' ? 'NORMAL' : type.getValues()[0]!.name;
      if (isInputObjectType(type)) {
        const fields = Object.values(type.getFields()).filter((f) => (isNonNullType(f.type) && f.defaultValue === undefined) || (who === F && f.name === 'fleetId'));
        return Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, f.name, who, commandIds)]));
      }
      const own = subjectOf[who];
      switch (name) {
        case 'commandId': {
          const id = randomUUID();
          commandIds.push(id);
          return id;
        }
        case 'traderId':
          return alice;
        case 'fleetId':
          return fleet;
        case 'customerId':
          return customer;
        case 'accountId':
          return who === D ? customer : fleet;
        case 'account':
          return who === T ? `trader:${alice}` : who === F || who === D ? `customer:${own}` : 'operator';
        case 'sessionId':
          return ownSession;
        case 'siteId':
          return site;
        case 'zone':
          return zone;
        case 'keyId':
          return 'nosuchkey';
        default:
          break;
      }
      switch (getNamedType(type).name) {
        case 'Int':
          return name === 'lengthMinutes' ? 15 : 1;
        case 'Float':
          return 1;
        case 'Boolean':
          return false;
        case 'DateTime':
          return '2030-01-01T10:00:00Z';
        case 'Decimal':
        case 'BigInt':
          return '1';
        case 'Position':
          return '0';
        case 'JSON':
          return {};
        default:
          return `x${tag}`;
      }
    }

    function operationFor(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>, who: Who, commandIds: string[]) {
      const args = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
      const variables = Object.fromEntries(args.map((a) => [a.name, valueFor(a.type, a.name, who, commandIds)]));
      const declared = args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const passed = args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
      return { query: `${kind}${declared ? `(${declared})` : ''} { ${field.name}${passed ? `(${passed})` : ''}${selection} }`, variables };
    }

    /**
     * A subscription: refused with FORBIDDEN, or accepted (nothing arrives before the timeout). Where
     * the matrix expects a refusal it is given long to come, so a slow machine cannot pass it off as
     * accepted; where it expects acceptance, a refusal comes at once anyway.
     */
    async function subscriptionAllowed(query: string, variables: Record<string, unknown>, headers: Record<string, string>, expected: boolean): Promise<boolean> {
      const abort = new AbortController();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({ query, variables }),
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let text = '';
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), expected ? 750 : 10_000));
      try {
        for (;;) {
          const chunk = await Promise.race([reader.read(), timeout]);
          if (chunk === 'timeout' || chunk.done) break;
          text += new TextDecoder().decode(chunk.value);
          if (text.includes('FORBIDDEN')) return false;
        }
        return true;
      } finally {
        abort.abort();
        await reader.cancel().catch(() => {});
      }
    }

    it('has an entry in the matrix for every Query, Mutation and Subscription field the server serves', async () => {
      const { __schema } = await ok('{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }');
      const served = [
        ...__schema.queryType.fields.map((f: { name: string }) => `Query.${f.name}`),
        ...__schema.mutationType.fields.map((f: { name: string }) => `Mutation.${f.name}`),
        ...__schema.subscriptionType.fields.map((f: { name: string }) => `Subscription.${f.name}`),
      ].sort();
      expect(
        served.filter((f) => !(f in EXPECTED)),
        'fields without an entry in EXPECTED',
      ).toEqual([]);
      expect(
        Object.keys(EXPECTED).filter((f) => !served.includes(f)),
        'entries for fields the schema does not have',
      ).toEqual([]);
    });

    it('walks every field as each role: allowed or FORBIDDEN as the matrix says; a refused command writes nothing, an accepted one records its principal', async () => {
      const from = await server.ledger.store.headPosition();
      const mismatches: string[] = [];
      const refusedCommands = new Set<string>();
      const commandsBy = new Map<string, string>(); // commandId → actor
      const roots = [
        ['query', schema.getQueryType()!],
        ['mutation', schema.getMutationType()!],
        ['subscription', schema.getSubscriptionType()!],
      ] as const;
      for (const role of ROLES) {
        const principal = as[role]!;
        for (const [kind, type] of roots) {
          for (const field of Object.values(type.getFields())) {
            const key = `${type.name}.${field.name}`;
            const commandIds: string[] = [];
            const { query, variables } = operationFor(kind, field, role, commandIds);
            const expected = (EXPECTED[key] ?? []).includes(role);
            let allowed: boolean;
            if (kind === 'subscription') {
              allowed = await subscriptionAllowed(query, variables, principal.headers, expected);
            } else {
              const { status, body } = await server.gql<any>(query, variables, principal.headers);
              expect(status, `${key} as ${role}: ${JSON.stringify(body)}`).toBe(200);
              allowed = !FORBIDDEN(body);
            }
            if (allowed !== expected) mismatches.push(`${key} as ${role}: ${allowed ? 'allowed' : 'FORBIDDEN'}, expected ${expected ? 'allowed' : 'FORBIDDEN'}`);
            for (const id of commandIds) {
              if (allowed) commandsBy.set(id, principal.actor);
              else refusedCommands.add(id);
            }
          }
        }
      }
      expect(mismatches).toEqual([]);

      // A fence: once the read models include a command appended after every one of the walk's,
      // the log's readable head is past them all (on a server it may trail recent appends).
      const fence = await command(
        'registerSite',
        'RegisterSiteInput',
        { siteId: `fence${tag}`, name: 'Fence', importLimitW: '1', exportLimitW: '0' },
        undefined,
        '__typename ... on RegisterSitePayload { streamId }',
      );
      await waitForStream(server, fence.body.data.registerSite.streamId);
      const written = await server.ledger.store.readAll({ after: from, limit: 100_000 });
      const ours = written.filter((e) => commandsBy.has(e.metadata.commandId.split('/')[0]!) || refusedCommands.has(e.metadata.commandId.split('/')[0]!));
      expect(ours.length, "events written by the walk's accepted commands").toBeGreaterThan(0);
      expect(
        ours.filter((e) => refusedCommands.has(e.metadata.commandId.split('/')[0]!)).map((e) => `${e.type} ${e.metadata.commandId}`),
        'events of refused commands',
      ).toEqual([]);
      for (const event of ours) expect(event.metadata.actor, `${event.type} of ${event.metadata.commandId}`).toBe(commandsBy.get(event.metadata.commandId.split('/')[0]!));
    }, 300_000);

    it('answers 401 with WWW-Authenticate without valid credentials, before anything runs', async () => {
      const query = '{ projections { name } }';
      const none = await server.gql<any>(query, {}, ANONYMOUS);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="v2g-ledger"');
      expect(none.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/json' } });
      expect(get.status).toBe(401);
      for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', `Bearer v2g_${'a'.repeat(8)}_${'b'.repeat(43)}`, `Bearer ${TEST_OPERATOR_KEY}x`, 'Bearer not.a.jwt']) {
        const refused = await server.gql<any>(query, {}, { authorization });
        expect(refused.status, authorization).toBe(401);
        expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="v2g-ledger", error="invalid_token"');
      }
      // A mutation without credentials writes nothing.
      const siteId = `n${tag}`;
      expect((await command('registerSite', 'RegisterSiteInput', { siteId, name: 'Nobody', importLimitW: '1', exportLimitW: '0' }, ANONYMOUS)).status).toBe(401);
      expect(await server.ledger.store.streamVersion(`site-${siteId}`)).toBe(0);
    });

    it('creates a key that works at once, shows its secret once, stores only its hash, and refuses it as soon as it is revoked', async () => {
      const commandId = randomUUID();
      const create = () =>
        server.gql<any>(
          `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { duplicate token streamId apiKey { keyId role subject status createdBy } } ... on Error { code message } } }`,
          { input: { commandId, role: 'TRADER', subject: bob, name: 'Bob desk' } },
        );
      const created = (await create()).body.data.createApiKey;
      expect(created).toMatchObject({
        __typename: 'CreateApiKeyPayload',
        duplicate: false,
        apiKey: { role: 'TRADER', subject: bob, status: 'ACTIVE', createdBy: TEST_OPERATOR_ACTOR },
      });
      const { token, apiKey } = created as { token: string; apiKey: { keyId: string } };
      expect(token).toMatch(new RegExp(`^v2g_${apiKey.keyId}_[A-Za-z0-9_-]{43}$`));
      expect((await create()).body.data.createApiKey).toMatchObject({ duplicate: true, token: null, apiKey: { keyId: apiKey.keyId } });

      // At rest: the SHA-256 of the secret, never the secret.
      const secret = token.slice(`v2g_${apiKey.keyId}_`.length);
      const events = await server.ledger.store.readStream(`apikey-${apiKey.keyId}`);
      expect(events.map((e) => e.type)).toEqual(['ApiKeyCreated']);
      expect(events[0]!.data).toMatchObject({ keyId: apiKey.keyId, role: 'trader', subject: bob, secretHash: `sha256:${createHash('sha256').update(secret).digest('hex')}` });
      expect(JSON.stringify(events, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(secret);
      const { apiKeys } = await ok('{ apiKeys { keyId role status } }');
      expect(apiKeys).toContainEqual({ keyId: apiKey.keyId, role: 'TRADER', status: 'ACTIVE' });

      const mine = `{ myOrders { edges { node { orderId traderId } } } }`;
      expect((await ok(mine, {}, bearer(token))).myOrders.edges.map((e: any) => e.node)).toEqual([{ orderId: bobsOrder, traderId: bob }]);
      const revoked = await command(
        'revokeApiKey',
        'RevokeApiKeyInput',
        { keyId: apiKey.keyId, reason: 'rotated' },
        undefined,
        '__typename ... on RevokeApiKeyPayload { apiKey { status revokedBy revokeReason } }',
      );
      expect(revoked.body.data.revokeApiKey).toEqual({ __typename: 'RevokeApiKeyPayload', apiKey: { status: 'REVOKED', revokedBy: TEST_OPERATOR_ACTOR, revokeReason: 'rotated' } });
      const after = await server.gql<any>(mine, {}, bearer(token));
      expect(after.status).toBe(401);
      expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(JSON.stringify(server.logs)).not.toContain(secret);
    });

    it('creates a fleet manager or driver key only for a known account: ACCOUNT_NOT_FOUND naming the subject otherwise, nothing written', async () => {
      const create = (role: string, subject: string) =>
        server.gql<any>(
          `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { token apiKey { role subject } } ... on AccountNotFoundError { code message field accountId } } }`,
          { input: { commandId: randomUUID(), role, subject, name: `${role} ${subject}` } },
        );
      const keysBefore = (await ok('{ apiKeys { keyId } }')).apiKeys.length;
      const headBefore = await server.ledger.store.headPosition();
      for (const [role, subject] of [
        ['FLEET_MANAGER', `nofleet-${tag}`],
        ['DRIVER', `nocust-${tag}`],
      ] as const) {
        const refused = await create(role, subject);
        expect(refused.status).toBe(200);
        expect(refused.body.data.createApiKey).toEqual({
          __typename: 'AccountNotFoundError',
          code: 'ACCOUNT_NOT_FOUND',
          message: `subject: no account ${subject} is known (assign it a tariff first)`,
          field: 'subject',
          accountId: subject,
        });
      }
      expect((await ok('{ apiKeys { keyId } }')).apiKeys).toHaveLength(keysBefore);
      expect((await server.ledger.store.readAll({ after: headBefore, limit: 100 })).filter((e) => e.streamId.startsWith('apikey-'))).toEqual([]);
      // Once assignTariff has opened the account, its key is created and works for it.
      await openAccounts(server, `nofleet-${tag}`);
      const created = (await create('FLEET_MANAGER', `nofleet-${tag}`)).body.data.createApiKey;
      expect(created).toMatchObject({ __typename: 'CreateApiKeyPayload', apiKey: { role: 'FLEET_MANAGER', subject: `nofleet-${tag}` } });
      const mine = await server.gql<any>('query($fleetId: ID) { sessions(fleetId: $fleetId, first: 1) { totalCount } }', { fleetId: `nofleet-${tag}` }, bearer(created.token));
      expect(mine.body.errors).toBeUndefined();
    });

    it('accepts a JWT from the configured issuer, records jwt:<iss>:<sub> as actor, and refuses an expired, foreign or incomplete one', async () => {
      const operator = await jwt({ sub: 'ops-1', role: 'operator' });
      const siteId = `j${tag}`;
      const registered = await command('registerSite', 'RegisterSiteInput', { siteId, name: 'By JWT', importLimitW: '1', exportLimitW: '0' }, bearer(operator));
      expect(registered.body.data.registerSite.__typename).toBe('RegisterSitePayload');
      const [event] = await server.ledger.store.readStream(`site-${siteId}`);
      expect(event!.metadata.actor).toBe(`jwt:${JWT_ISSUER}:ops-1`);
      const trader = await jwt({ sub: 'alice-login', role: 'trader', traderId: alice });
      expect((await ok('{ myOrders { totalCount } }', {}, bearer(trader))).myOrders).toEqual({ totalCount: '0' });

      const refusals: [string, string][] = [
        ['expired', await jwt({ sub: 'ops-1', role: 'operator' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
        ['another issuer', await jwt({ sub: 'ops-1', role: 'operator' }, { issuer: 'https://evil.example' })],
        ['another audience', await jwt({ sub: 'ops-1', role: 'operator' }, { audience: 'someone-else' })],
        ['another key', await jwt({ sub: 'ops-1', role: 'operator' }, { secret: 'another-secret-of-at-least-32-bytes!!' })],
        ['an unknown role', await jwt({ sub: 'ops-1', role: 'root' })],
        ['a trader without traderId', await jwt({ sub: 'alice-login', role: 'trader' })],
        [
          'unsigned',
          `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', role: 'operator', iss: JWT_ISSUER, aud: JWT_AUDIENCE, exp: 9_999_999_999 })).toString('base64url')}.`,
        ],
      ];
      for (const [what, token] of refusals) {
        const { status } = await server.gql('{ projections { name } }', {}, bearer(token));
        expect(status, what).toBe(401);
      }
      expect(JSON.stringify(server.logs)).not.toContain(operator);
    });

    it("lets a trader act for itself only: another trader's orders are FORBIDDEN, its own id cannot cancel another's order, and the tape is anonymous", async () => {
      const trader = as.trader!.headers;
      const before = await server.ledger.store.streamVersion(`market-${zone}-${delivery.slice(0, 16).replace(/[-:]/g, '')}Z-15m`);
      const select = '__typename ... on Error { code message }';
      // Naming Bob as the trader: refused before anything runs.
      expect(FORBIDDEN((await command('cancelOrder', 'CancelOrderInput', { ...book, orderId: bobsOrder, traderId: bob }, trader, select)).body)).toBe(true);
      // Naming itself: the book refuses to let Alice cancel Bob's order.
      const notOwned = await command('cancelOrder', 'CancelOrderInput', { ...book, orderId: bobsOrder, traderId: alice }, trader, select);
      expect(notOwned.body.data.cancelOrder).toMatchObject({ __typename: 'OrderNotOwnedError', code: 'ORDER_NOT_OWNED' });
      const mixed = await command(
        'submitOrders',
        'SubmitOrdersInput',
        {
          ...book,
          orders: [alice, bob].map((traderId) => ({
            clientOrderId: randomUUID().slice(0, 8),
            traderId,
            side: 'BUY',
            orderType: 'LIMIT',
            quantityKWh: '1',
            limitPriceMinorPerMWh: '100',
          })),
        },
        trader,
        select,
      );
      expect(FORBIDDEN(mixed.body)).toBe(true);
      expect(await server.ledger.store.streamVersion(`market-${zone}-${delivery.slice(0, 16).replace(/[-:]/g, '')}Z-15m`)).toBe(before);
      expect(FORBIDDEN((await server.gql<any>(`query($t: ID!) { orders(traderId: $t) { totalCount } }`, { t: bob }, trader)).body)).toBe(true);
      expect(
        FORBIDDEN(
          (await server.gql<any>(`query($t: ID!) { positions(traderId: $t, from: "2020-01-01T00:00:00Z", to: "2040-01-01T00:00:00Z") { contractedKWh } }`, { t: bob }, trader))
            .body,
        ),
      ).toBe(true);
      expect(FORBIDDEN((await server.gql<any>(`query($t: ID!) { trades(traderId: $t) { totalCount } }`, { t: bob }, trader)).body)).toBe(true);
      expect(FORBIDDEN((await server.gql<any>(`query($a: ID!) { ledgerPostings(ledger: "EUR", account: $a) { totalCount } }`, { a: `trader:${bob}` }, trader)).body)).toBe(true);

      // The tape: Bob sold to Carol. Alice sees the trade without names; Bob sees his side.
      const tape = `query($zone: ID!) { trades(zone: $zone) { edges { node { buyerId sellerId buyOrderId sellOrderId quantityKWh } } } }`;
      const deadline = Date.now() + 10_000;
      let seen: any[] = [];
      while (seen.length === 0 && Date.now() < deadline) {
        seen = (await ok(tape, { zone }, trader)).trades.edges;
        if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(seen.map((e) => e.node)).toEqual([{ buyerId: null, sellerId: null, buyOrderId: null, sellOrderId: null, quantityKWh: '1' }]);
      const bobs = await server.as('trader', bob);
      expect((await ok(tape, { zone }, bobs.headers)).trades.edges[0].node).toMatchObject({ buyerId: null, sellerId: bob, sellOrderId: bobsOrder });
      expect((await ok(tape, { zone }, as.auditor!.headers)).trades.edges[0].node).toMatchObject({ buyerId: carol, sellerId: bob });
    });

    it('lets a fleet manager and a driver plug in and read for their own fleet or themselves only', async () => {
      const session = `query($s: ID!) { session(sessionId: $s) { sessionId } }`;
      for (const who of [as.fleet_manager!, as.driver!]) {
        expect((await ok(session, { s: ownSession }, who.headers)).session).toEqual({ sessionId: ownSession });
        expect(FORBIDDEN((await server.gql<any>(session, { s: otherSession }, who.headers)).body)).toBe(true);
        expect(FORBIDDEN((await server.gql<any>(`query($s: ID!) { sessionCost(sessionId: $s) { __typename } }`, { s: otherSession }, who.headers)).body)).toBe(true);
        expect(FORBIDDEN((await command('suspendSession', 'SuspendSessionInput', { sessionId: otherSession }, who.headers)).body)).toBe(true);
      }
      const invoice = `query($a: ID!) { invoices(accountId: $a, fromMonth: "2030-01", toMonth: "2030-01") { total { amount } } }`;
      expect(FORBIDDEN((await server.gql<any>(invoice, { a: otherFleet }, as.fleet_manager!.headers)).body)).toBe(true);
      expect(FORBIDDEN((await server.gql<any>(invoice, { a: otherCustomer }, as.driver!.headers)).body)).toBe(true);
      expect(FORBIDDEN((await server.gql<any>(invoice, { a: fleet }, as.driver!.headers)).body)).toBe(true);

      // Sessions across sites: a fleet manager lists its fleet's, a driver its own, nobody else's.
      const sessions = `query($f: ID, $c: ID) { sessions(fleetId: $f, customerId: $c, first: 100) { edges { node { sessionId } } } }`;
      const listed = async (variables: Record<string, unknown>, headers: Record<string, string>) =>
        ((await ok(sessions, variables, headers)).sessions.edges as { node: { sessionId: string } }[]).map((e) => e.node.sessionId);
      for (const [variables, headers] of [
        [{ f: fleet }, as.fleet_manager!.headers],
        [{ c: customer }, as.driver!.headers],
      ] as const) {
        const ids = await listed(variables, headers);
        expect(ids).toContain(ownSession);
        expect(ids).not.toContain(otherSession);
      }
      expect(FORBIDDEN((await server.gql<any>(sessions, { f: otherFleet }, as.fleet_manager!.headers)).body)).toBe(true);
      expect(FORBIDDEN((await server.gql<any>(sessions, { c: otherCustomer }, as.driver!.headers)).body)).toBe(true);
      expect(FORBIDDEN((await server.gql<any>(sessions, {}, as.driver!.headers)).body)).toBe(true);

      const plugIn = (headers: Record<string, string>, input: Record<string, unknown>) =>
        command(
          'plugIn',
          'PlugInInput',
          {
            sessionId: `p${randomUUID().slice(0, 8)}`,
            siteId: site,
            connectorId: 'cp1-1',
            vehicleId: 'ev',
            tier: 'NORMAL',
            departureAt: departure,
            energyNeededWh: '1000',
            minPowerW: '1400',
            maxPowerW: '11000',
            ...input,
          },
          headers,
        );
      expect(FORBIDDEN((await plugIn(as.fleet_manager!.headers, { customerId: customer, fleetId: otherFleet })).body)).toBe(true);
      // A driver charges to itself, never to a fleet's account.
      expect(FORBIDDEN((await plugIn(as.driver!.headers, { customerId: customer, fleetId: fleet })).body)).toBe(true);
      expect(FORBIDDEN((await plugIn(as.driver!.headers, { customerId: otherCustomer })).body)).toBe(true);
    });

    it("lets only chargers' and operators' keys state a session's field facts, and a billed party only the tier its contract allows: FIELD_EXPECTED, nothing written when refused", async () => {
      // A session of the fleet manager's fleet and the driver's own on a connector of its own (the walk stops the others).
      await command('addNode', 'AddNodeInput', { siteId: site, nodeId: 'cp1-3', parentId: 'cp1', kind: 'CONNECTOR', name: 'cp1-3', importLimitW: '22000', exportLimitW: '0' });
      const plugged = await command('plugIn', 'PlugInInput', {
        sessionId: fieldSession,
        siteId: site,
        connectorId: 'cp1-3',
        vehicleId: 'ev-f',
        customerId: customer,
        fleetId: fleet,
        tier: 'NORMAL',
        departureAt: departure,
        energyNeededWh: '10000',
        minPowerW: '1400',
        maxPowerW: '11000',
      });
      expect(plugged.body.data.plugIn.__typename).toBe('SessionCommandPayload');
      const mismatches: string[] = [];
      const timeOf = (value: unknown) => (typeof value === 'string' && value.startsWith('minutes:') ? new Date(Date.now() + Number(value.slice(8)) * 60_000).toISOString() : value);
      for (const [key, rule] of Object.entries(FIELD_EXPECTED)) {
        for (const who of [O, I, F, D] as const) {
          const input = Object.fromEntries(Object.entries(rule.input).map(([k, v]) => [k, timeOf(v)]));
          const sessionId = `f${randomUUID().slice(0, 8)}`;
          // Each role's own session and account; the connector is taken, so an allowed plug-in is refused there and writes nothing either.
          const sent =
            rule.mutation === 'plugIn'
              ? {
                  sessionId,
                  siteId: site,
                  connectorId: 'cp1-3',
                  vehicleId: 'ev',
                  customerId: customer,
                  ...(who === D ? {} : { fleetId: fleet }),
                  tier: 'NORMAL',
                  departureAt: departure,
                  energyNeededWh: '1000',
                  minPowerW: '1400',
                  maxPowerW: '11000',
                  ...input,
                }
              : { sessionId: who === F || who === D ? fieldSession : `nosuch-${tag}`, reason: 'unplugged', ...input };
          const inputType = rule.mutation === 'plugIn' ? 'PlugInInput' : 'StopSessionInput';
          const { body } = await command(rule.mutation, inputType, sent, as[who]!.headers);
          const refusal = body.errors?.find((e: any) => e.extensions?.code === 'FORBIDDEN');
          const expected = rule.who.includes(who);
          if (expected === (refusal !== undefined)) mismatches.push(`${key} as ${who}: ${refusal ? 'FORBIDDEN' : 'allowed'}, expected ${expected ? 'allowed' : 'FORBIDDEN'}`);
          if (refusal && refusal.extensions?.details?.field !== rule.field)
            mismatches.push(`${key} as ${who}: refusal names ${JSON.stringify(refusal.extensions?.details)}, not ${rule.field}`);
          if (rule.mutation === 'plugIn') expect(await server.ledger.store.streamVersion(`session-${sessionId}`)).toBe(0);
        }
      }
      expect(mismatches).toEqual([]);
      // The driver's own session is still running: a refused stop wrote nothing.
      expect((await ok(`query($s: ID!) { session(sessionId: $s) { lifecycle } }`, { s: fieldSession })).session.lifecycle).not.toBe('STOPPED');
    });

    it("bounds what a driver asks for by the ledger's clock: a departure in the past or beyond the horizon is refused, naming the field", async () => {
      const change = (departureAt: string) =>
        command(
          'changeDeparture',
          'ChangeDepartureInput',
          { sessionId: fieldSession, departureAt },
          as.driver!.headers,
          '__typename ... on Error { code message } ... on TimeOutOfBoundsError { field now latest }',
        );
      const before = await server.ledger.store.streamVersion(`session-${fieldSession}`);
      for (const departureAt of ['2099-01-01T00:00:00Z', new Date(Date.now() - 60_000).toISOString()]) {
        const { body } = await change(departureAt);
        expect(body.data.changeDeparture, departureAt).toMatchObject({ __typename: 'TimeOutOfBoundsError', code: 'TIME_OUT_OF_BOUNDS', field: 'departureAt' });
      }
      expect(await server.ledger.store.streamVersion(`session-${fieldSession}`)).toBe(before);
      const { body } = await change(new Date(Date.now() + 3 * HOUR).toISOString());
      expect(body.data.changeDeparture.__typename).toBe('SessionCommandPayload');
    });

    it('refuses a document of several mutations as a whole when one of them is FORBIDDEN: nothing is written', async () => {
      const commandId = randomUUID();
      const { body } = await server.gql<any>(
        `mutation($prices: PublishPricesInput!, $site: RegisterSiteInput!) {
          publishPrices(input: $prices) { __typename }
          registerSite(input: $site) { __typename }
        }`,
        {
          prices: { commandId, zone: `P${tag}`, currency: 'EUR', source: 'test', points: [{ start: '2030-01-01T10:00:00Z', end: '2030-01-01T10:15:00Z', priceMinorPerKWh: '10' }] },
          site: { commandId: randomUUID(), siteId: `m${tag}`, name: 'Mixed', importLimitW: '1', exportLimitW: '0' },
        },
        as.integrator!.headers,
      );
      expect(body.data).toBeNull();
      expect(body.errors).toMatchObject([{ path: ['registerSite'], extensions: { code: 'FORBIDDEN' } }]);
      expect(await server.ledger.store.commandResult(commandId)).toBeNull();
      // Alone, the integrator's price publication goes through.
      const alone = await server.gql<any>(
        `mutation($prices: PublishPricesInput!) { publishPrices(input: $prices) { __typename } }`,
        {
          prices: { commandId, zone: `P${tag}`, currency: 'EUR', source: 'test', points: [{ start: '2030-01-01T10:00:00Z', end: '2030-01-01T10:15:00Z', priceMinorPerKWh: '10' }] },
        },
        as.integrator!.headers,
      );
      expect(alone.body.errors).toBeUndefined();
      expect((await server.ledger.store.commandResult(commandId))?.streamId).toBe(`prices-P${tag}`);
    });

    it('logs every line of a request with its request id and principal, and commands with their command id; never a key', async () => {
      const commandId = randomUUID();
      await server.gql(
        `mutation($input: RecordNodeLoadInput!) { recordNodeLoad(input: $input) { __typename } }`,
        { input: { commandId, siteId: site, nodeId: 'f1', occurredAt: new Date(Date.now() - 1000).toISOString(), otherLoadW: '1000', generationW: '0' } },
        { ...as.integrator!.headers, 'x-request-id': `roles-log-${tag}` },
      );
      // The integrator's event names it.
      const recorded = await server.ledger.store.commandResult(commandId);
      const [event] = await server.ledger.store.readStream(recorded!.streamId, { fromVersion: recorded!.firstVersion!, limit: 1 });
      expect(event!.metadata).toMatchObject({ commandId, actor: as.integrator!.actor });
      const lines = server.logs.filter((l) => l.requestId === `roles-log-${tag}`);
      expect(lines.find((l) => l.msg === 'command handled')).toMatchObject({ requestId: `roles-log-${tag}`, principal: as.integrator!.actor, role: 'integrator', commandId });
      expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ principal: as.integrator!.actor, status: 200 });
      const everything = JSON.stringify(server.logs);
      for (const secret of [TEST_OPERATOR_KEY, ...Object.values(as).map((p) => p!.token)]) expect(everything).not.toContain(secret);
    });
  });
}
