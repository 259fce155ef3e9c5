import { catalogueReadModel, parseApiKeyToken } from '@v2g/ledger';
import { catalogueProjection } from '@v2g/projection-catalogue';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import {
  ANONYMOUS,
  freshSiteId,
  openAccounts,
  postGraphQL,
  queryData,
  startTestServer,
  TEST_OPERATOR_KEY,
  type TestPrincipal,
  type TestServer,
  type TestServerOptions,
} from './harness.ts';

/**
 * What clients and logs must never see: a stack trace, SQL or a file path in a GraphQL error; a
 * secret (credentials, a password in variables, a database password) in a log line. Run once per
 * database by the *.e2e.spec.ts files that call it.
 */
export function describeErrorsAndLogs(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`errors and logs over ${label}`, () => {
    let server: TestServer;
    let operator: TestPrincipal;

    beforeAll(async () => {
      server = await startTestServer(options!);
      operator = await server.as('operator');
    });
    afterAll(async () => {
      await server?.close();
    });

    it('masks a SQL error deep in a resolver: a generic message, the request id and a code; the log line has the details', async () => {
      // The catalogue's queries aimed at tables that do not exist: the database refuses the SQL.
      const url = await server.serve((deps) => {
        const real = server.ledger.projections.tables(catalogueProjection);
        const broken = Object.assign((logical: string) => real(logical).replace('catalogue_v', 'missing_catalogue_v'), { index: real.index });
        return { ...deps, ledger: { ...deps.ledger, catalogue: { ...deps.ledger.catalogue, readModel: catalogueReadModel(server.ledger.sql, broken) } } };
      });
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'sql-masked-1', ...operator.headers },
        body: JSON.stringify({ query: '{ streams(first: 2) { totalCount edges { node { streamId } } } }' }),
      });
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        data: null,
        errors: [
          {
            message: 'Unexpected error.',
            locations: [{ line: 1, column: 3 }],
            path: ['streams'],
            extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'sql-masked-1' },
          },
        ],
      });
      for (const leak of ['missing_catalogue', 'relation', 'SELECT', 'does not exist', 'stack', '.ts', 'node_modules', '/work']) expect(text).not.toContain(leak);
      expect(text).not.toMatch(/\bat .*:\d+:\d+/);

      const logged = server.logs.find((l) => l.requestId === 'sql-masked-1' && l.msg === 'unexpected error in a resolver') as { err?: Record<string, string> };
      expect(logged?.err?.message).toMatch(/missing_catalogue_v\d+_\w+.* does not exist/);
      expect(logged?.err?.stack).toMatch(/\n\s+at /);
    });

    it('never sends development details (the original error, its stack), even with NODE_ENV=development', async () => {
      // An error outside the resolvers' masking: the event log fails under a subscription.
      const url = await server.serve((deps) => ({
        ...deps,
        ledger: {
          ...deps.ledger,
          grid: {
            ...deps.ledger.grid,
            // eslint-disable-next-line require-yield -- fails before its first setpoint, as a log read would
            setpointChanges: async function* () {
              throw new Error('secret detail of the event log at /srv/ledger/store.ts:42');
            },
          },
        },
      }));
      const before = process.env.NODE_ENV;
      process.env.NODE_ENV = 'development';
      try {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...operator.headers },
          body: JSON.stringify({ query: 'subscription { setpointsChanged(siteId: "depot-1") { at } }' }),
        });
        const text = await response.text();
        expect(text).toContain('Unexpected error.');
        for (const leak of ['secret detail', 'originalError', 'stack', '/srv/ledger', '.ts']) expect(text).not.toContain(leak);
      } finally {
        process.env.NODE_ENV = before;
      }
      expect(JSON.stringify(server.logs)).toContain('secret detail of the event log');
    });

    it('gives a bad input value the same code and names its field, inline or as a variable, under either Accept; nothing is written', async () => {
      const siteId = freshSiteId();
      const inline = `mutation { registerSite(input: { commandId: "${randomUUID()}", siteId: "${siteId}", name: "x", importLimitW: "abc", exportLimitW: "0" }) { __typename } }`;
      const byVariable = 'mutation($i: RegisterSiteInput!) { registerSite(input: $i) { __typename } }';
      const variables = { i: { commandId: randomUUID(), siteId, name: 'x', importLimitW: 'abc', exportLimitW: '0' } };
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const send = async (query: string, vars?: Record<string, unknown>) => {
          const response = await fetch(`${server.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${TEST_OPERATOR_KEY}` },
            body: JSON.stringify({ query, variables: vars }),
          });
          return { status: response.status, body: (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] } };
        };
        const a = await send(inline);
        const b = await send(byVariable, variables);
        expect(a.status, accept).toBe(b.status);
        expect(a.status).toBe(accept === 'application/json' ? 200 : 400);
        expect(a.body.errors).toEqual([
          {
            message: 'input.importLimitW: Decimal must be a decimal string such as "11000" or "7.4", not "abc"',
            locations: [{ line: 1, column: expect.any(Number) }],
            extensions: { code: 'BAD_USER_INPUT', details: { field: 'input.importLimitW' } },
          },
        ]);
        expect(b.body.errors).toEqual([
          {
            message: 'Variable "$i" got invalid value "abc" at "i.importLimitW"; Decimal must be a decimal string such as "11000" or "7.4", not "abc"',
            locations: [{ line: 1, column: 10 }],
            extensions: { code: 'BAD_USER_INPUT', details: { variable: 'i', field: 'i.importLimitW' } },
          },
        ]);
      }
      // A required input field left out and one unknown, inline: each named; a variable missing: named.
      const missing = await server.gql(`mutation { registerSite(input: { commandId: "c", siteId: "${siteId}", nam: "x", importLimitW: "1", exportLimitW: "0" }) { __typename } }`);
      expect(missing.body.errors!.map((e) => e.extensions)).toEqual([
        { code: 'BAD_USER_INPUT', details: { field: 'input.name' } },
        { code: 'BAD_USER_INPUT', details: { field: 'input.nam' } },
      ]);
      const absent = await server.gql(byVariable, {});
      expect(absent.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', details: { variable: 'i', field: 'i' } });
      expect(await server.ledger.store.readStream(`site-${siteId}`)).toEqual([]);
    });

    it("refuses a query's malformed argument as INVALID_ARGUMENT, not as a command", async () => {
      const { body } = await server.gql('{ invoice(accountId: "driver-1", month: "2026-13") { __typename } }');
      expect(body.errors).toEqual([
        {
          message: 'invalid argument month: "2026-13" is not a month such as "2026-11"',
          locations: [{ line: 1, column: 3 }],
          path: ['invoice'],
          extensions: { code: 'INVALID_ARGUMENT', details: { argument: 'month', reason: '"2026-13" is not a month such as "2026-11"' } },
        },
      ]);
    });

    it('tells a trader acting for another trader what was refused and why, in one mutation or several', async () => {
      const alice = await server.as('trader', 'alice');
      const order = (commandId: string, traderId: string) =>
        `{ commandId: "${commandId}", zone: "NL", deliveryStart: "2030-01-01T10:00:00Z", lengthMinutes: 15, clientOrderId: "${commandId}", traderId: "${traderId}", side: SELL, orderType: LIMIT, quantityKWh: "1", limitPriceMinorPerMWh: "100" }`;
      const one = await server.gql(`mutation { submitOrder(input: ${order(randomUUID(), 'bob')}) { __typename } }`, undefined, alice.headers);
      expect(one.body.errors![0]).toMatchObject({
        message: 'a trader may use Mutation.submitOrder only for their own trader id; you are alice, the request is for bob',
        path: ['submitOrder'],
        extensions: { code: 'FORBIDDEN', details: { field: 'Mutation.submitOrder', role: 'trader', reason: 'NOT_OWN_ACCOUNT', subject: 'alice', requested: 'bob' } },
      });
      // Two mutations, the second for bob: refused before either runs, with the same reason.
      const two = await server.gql(
        `mutation { a: submitOrder(input: ${order(randomUUID(), 'alice')}) { __typename } b: submitOrder(input: ${order(randomUUID(), 'bob')}) { __typename } }`,
        undefined,
        alice.headers,
      );
      expect(two.body.errors![0]).toMatchObject({
        message: 'a trader may use Mutation.submitOrder only for their own trader id; you are alice, the request is for bob: nothing in this request was executed',
        extensions: { code: 'FORBIDDEN', details: { reason: 'NOT_OWN_ACCOUNT', subject: 'alice', requested: 'bob' } },
      });
      // A batch with another trader's order in it: the same, naming that trader.
      const batch = await server.gql(
        `mutation($input: SubmitOrdersInput!) { submitOrders(input: $input) { __typename } }`,
        {
          input: {
            commandId: randomUUID(),
            zone: 'NL',
            deliveryStart: '2030-01-01T10:00:00Z',
            lengthMinutes: 15,
            orders: ['alice', 'carol'].map((traderId, i) => ({
              clientOrderId: `b-${i}`,
              traderId,
              side: 'SELL',
              orderType: 'LIMIT',
              quantityKWh: '1',
              limitPriceMinorPerMWh: '100',
            })),
          },
        },
        alice.headers,
      );
      expect(batch.body.errors![0]).toMatchObject({
        message: 'a trader may use Mutation.submitOrders only for their own trader id; you are alice, the request is for carol',
        extensions: { code: 'FORBIDDEN', details: { reason: 'NOT_OWN_ACCOUNT', requested: 'carol' } },
      });
      // A role that may not use a field at all is told which roles may.
      await openAccounts(server, 'driver-1'); // a driver key acts for a known account
      const driver = await server.as('driver', 'driver-1');
      const site = await server.gql(
        `mutation { registerSite(input: { commandId: "${randomUUID()}", siteId: "${freshSiteId()}", name: "x", importLimitW: "1", exportLimitW: "0" }) { __typename } }`,
        undefined,
        driver.headers,
      );
      expect(site.body.errors![0]).toMatchObject({
        message: 'the role driver may not use Mutation.registerSite: it is open to operator',
        extensions: { code: 'FORBIDDEN', details: { field: 'Mutation.registerSite', role: 'driver', reason: 'ROLE_NOT_ALLOWED', allowedRoles: ['operator'] } },
      });
    });

    it("names an order's refused field as the client sent it: no orders[0] for a single order, kWh not Wh", async () => {
      const zone = `E${randomUUID().slice(0, 6)}`;
      const HOUR = 3_600_000;
      const deliveryStart = new Date(Math.floor((Date.now() + 2 * HOUR) / HOUR) * HOUR).toISOString();
      const product = {
        lengthMinutes: 15,
        mode: 'CONTINUOUS',
        tickMinorPerMWh: '1',
        minPriceMinorPerMWh: '-50000',
        maxPriceMinorPerMWh: '400000',
        quantityStepKWh: '0.1',
        maxQuantityKWh: '10000',
        gateClosureMinutes: 5,
        openMinutes: 1440,
      };
      const configured = await queryData(server, 'mutation($input: ConfigureMarketZoneInput!) { configureMarketZone(input: $input) { __typename } }', {
        input: { commandId: randomUUID(), zone, currency: 'EUR', imbalancePriceZone: zone, products: [product] },
      });
      expect(configured.configureMarketZone.__typename).toBe('MarketZonePayload');
      await queryData(server, 'mutation($input: RegisterParticipantInput!) { registerParticipant(input: $input) { __typename } }', {
        input: { commandId: randomUUID(), zone, participantId: 'alice', name: 'Alice' },
      });
      const order = { clientOrderId: `c-${randomUUID().slice(0, 8)}`, traderId: 'alice', side: 'SELL', orderType: 'LIMIT', quantityKWh: '0.05', limitPriceMinorPerMWh: '100' };
      const facts = '__typename ... on Error { code message } ... on QuantityNotOnStepError { field orderIndex quantityWh quantityKWh quantityStepWh quantityStepKWh }';
      const single = await queryData(server, `mutation($input: SubmitOrderInput!) { submitOrder(input: $input) { ${facts} } }`, {
        input: { commandId: randomUUID(), zone, deliveryStart, lengthMinutes: 15, ...order },
      });
      expect(single.submitOrder).toEqual({
        __typename: 'QuantityNotOnStepError',
        code: 'QUANTITY_NOT_ON_STEP',
        message: 'quantityKWh: 0.05 kWh is not a multiple of the quantity step 0.1 kWh',
        field: 'quantityKWh',
        orderIndex: null,
        quantityWh: '50',
        quantityKWh: '0.05',
        quantityStepWh: '100',
        quantityStepKWh: '0.1',
      });
      const batch = await queryData(server, `mutation($input: SubmitOrdersInput!) { submitOrders(input: $input) { ${facts} } }`, {
        input: { commandId: randomUUID(), zone, deliveryStart, lengthMinutes: 15, orders: [{ ...order, quantityKWh: '1', clientOrderId: 'ok-1' }, order] },
      });
      expect(batch.submitOrders).toMatchObject({
        field: 'orders[1].quantityKWh',
        orderIndex: '1',
        message: 'orders[1].quantityKWh: 0.05 kWh is not a multiple of the quantity step 0.1 kWh',
      });
      const bookStream = `market-${zone}-${deliveryStart.slice(0, 16).replace(/[-:]/g, '')}Z-15m`;
      expect(await server.ledger.store.readStream(bookStream)).toEqual([]);
    });

    it('logs none of the secrets a request carries: credentials, headers, variables, query strings, bodies', async () => {
      const secrets = {
        apiKey: operator.token,
        xApiKey: `x-api-key-${randomUUID()}`,
        cookie: `cookie-${randomUUID()}`,
        jwt: `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'driver-1', pw: randomUUID() })).toString('base64url')}.c2lnbmF0dXJl`,
        password: `pw-${randomUUID()}`,
        inQuery: `q-${randomUUID()}`,
        inBody: `body-${randomUUID()}`,
        databasePassword: `db-${randomUUID()}`,
      };
      const headers = { ...operator.headers, 'x-api-key': secrets.xApiKey, cookie: `session=${secrets.cookie}` };
      // Variables with a password: unused by the operation, then refused by input coercion.
      await postGraphQL(server.url, '{ __typename }', { password: secrets.password }, headers);
      const refused = await postGraphQL(
        server.url,
        'mutation($input: RegisterSiteInput!) { registerSite(input: $input) { __typename } }',
        { input: { commandId: randomUUID(), siteId: 'x', name: 'x', importLimitW: '1', exportLimitW: '0', password: secrets.password } },
        headers,
      );
      expect(refused.body.errors?.[0]?.message).toContain('password'); // the client sees its own input; the log must not
      // A JWT nobody accepts, and no credentials at all.
      expect((await postGraphQL(server.url, '{ __typename }', { password: secrets.password }, { authorization: `Bearer ${secrets.jwt}` })).status).toBe(401);
      expect((await postGraphQL(server.url, '{ __typename }', { password: secrets.password }, { ...ANONYMOUS, cookie: `session=${secrets.cookie}` })).status).toBe(401);
      // GET with variables and a token in the query string.
      const query = new URLSearchParams({ query: 'query($p: String) { __typename }', variables: JSON.stringify({ p: secrets.inQuery }), token: secrets.inQuery });
      expect((await fetch(`${server.url}/graphql?${query}`, { headers: { accept: 'application/json', ...headers } })).status).toBe(200);
      // A body the JSON parser refuses (its error carries the body).
      const broken = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: `{"query": "${secrets.inBody}` });
      expect(broken.status).toBe(400);
      // The configuration, should anyone log it.
      const config = loadConfig({ DATABASE_URL: `postgres://ledger:${secrets.databasePassword}@db.internal:5432/ledger` });
      logConfig(server, config);

      const everything = JSON.stringify(server.logs);
      expect(everything).toContain('request completed');
      for (const [name, secret] of Object.entries(secrets)) expect(everything, name).not.toContain(secret);
      // Nor the secret half of the key alone (which may itself hold a '_': parsed, not cut at the last one).
      const secretHalf = parseApiKeyToken(operator.token)!.secret;
      expect(secretHalf.length).toBeGreaterThan(20);
      expect(everything).not.toContain(secretHalf);
    });
  });
}

/** What a careless `log.info({ config })` would write, through the same logger as the server's lines. */
function logConfig(server: TestServer, config: Config): void {
  const lines: string[] = [];
  createLogger('info', { write: (line: string) => void lines.push(line) }).info({ config, databaseUrl: config.databaseUrl }, 'configuration');
  server.logs.push(...lines.map((line) => JSON.parse(line) as Record<string, unknown>));
}
