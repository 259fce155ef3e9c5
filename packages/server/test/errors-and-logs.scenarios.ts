import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { ANONYMOUS, postGraphQL, startTestServer, type TestPrincipal, type TestServer, type TestServerOptions } from './harness.ts';

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
        const real = deps.ledger.catalogue;
        const broken = Object.assign((logical: string) => real(logical).replace('catalogue_v', 'missing_catalogue_v'), { index: real.index });
        return { ...deps, ledger: { ...deps.ledger, catalogue: broken } };
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
          store: Object.assign(Object.create(deps.ledger.store) as typeof deps.ledger.store, {
            subscribe: () => {
              throw new Error('secret detail of the event log at /srv/ledger/store.ts:42');
            },
          }),
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
      // Nor the secret half of the key alone.
      expect(everything).not.toContain(operator.token.slice(operator.token.lastIndexOf('_') + 1));
    });
  });
}

/** What a careless `log.info({ config })` would write, through the same logger as the server's lines. */
function logConfig(server: TestServer, config: Config): void {
  const lines: string[] = [];
  createLogger('info', { write: (line: string) => void lines.push(line) }).info({ config, databaseUrl: config.databaseUrl }, 'configuration');
  server.logs.push(...lines.map((line) => JSON.parse(line) as Record<string, unknown>));
}
