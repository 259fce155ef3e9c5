import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startMain, waitForLine } from './child-server.ts';
import { openAccounts, postGraphQL, registerSite, startTestServer, TEST_OPERATOR_KEY, waitForProjections, type TestServer } from './harness.ts';

/**
 * What the API tells about itself with NODE_ENV=production (README, Limits and hardening): the
 * schema only to the roles in INTROSPECTION_ROLES (operator alone by default), no "Did you mean"
 * hints, /readyz details only to an operator. The app is built from loadConfig's production
 * configuration, as `pnpm start` builds it. Over PGlite in memory.
 */
describe('exposure in production', () => {
  let server: TestServer;
  let production: string;
  let driver: Record<string, string>;
  let integrator: Record<string, string>;
  const operator = { authorization: `Bearer ${TEST_OPERATOR_KEY}` };
  const INTROSPECT = '{ __schema { types { name } } }';

  beforeAll(async () => {
    server = await startTestServer({ databaseUrl: null });
    const config = loadConfig({ NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '0' });
    expect(config.graphiql).toBe(false);
    production = await server.serve((deps) => ({ ...deps, graphiql: config.graphiql, hardening: config.hardening }));
    await openAccounts(server, 'driver-1'); // a driver key acts for a known account
    driver = (await server.as('driver', 'driver-1')).headers;
    integrator = (await server.as('integrator')).headers;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses introspection to a driver key, with a code and who may; an operator introspects', async () => {
    const refused = await postGraphQL<any>(production, INTROSPECT, undefined, driver);
    expect(refused.status).toBe(400);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      {
        message: 'introspection (__schema) is not open to the role driver here: only operator (INTROSPECTION_ROLES)',
        locations: [{ line: 1, column: 3 }],
        extensions: { code: 'INTROSPECTION_NOT_ALLOWED', field: '__schema', role: 'driver', allowedRoles: ['operator'] },
      },
    ]);
    const byType = await postGraphQL<any>(production, '{ __type(name: "Query") { fields { name } } }', undefined, driver);
    expect(byType.body.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_NOT_ALLOWED');
    // __typename is no introspection of the schema.
    expect((await postGraphQL<any>(production, '{ __typename }', undefined, driver)).body).toEqual({ data: { __typename: 'Query' } });

    const allowed = await postGraphQL<any>(production, INTROSPECT, undefined, operator);
    expect(allowed.body.errors).toBeUndefined();
    expect(allowed.body.data.__schema.types.length).toBeGreaterThan(100);
    // Development (the harness's default app) lets every role introspect.
    expect((await postGraphQL<any>(server.url, INTROSPECT, undefined, driver)).body.errors).toBeUndefined();
  });

  it('opens introspection to the roles INTROSPECTION_ROLES names', async () => {
    const config = loadConfig({ NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '0', INTROSPECTION_ROLES: 'operator,integrator' });
    const url = await server.serve((deps) => ({ ...deps, graphiql: false, hardening: config.hardening }));
    expect((await postGraphQL<any>(url, INTROSPECT, undefined, integrator)).body.errors).toBeUndefined();
    const refused = await postGraphQL<any>(url, INTROSPECT, undefined, driver);
    expect(refused.body.errors?.[0]?.message).toBe('introspection (__schema) is not open to the role driver here: only operator, integrator (INTROSPECTION_ROLES)');
  });

  it('suggests no field, argument, input field or enum value ("Did you mean")', async () => {
    const cases: [string, Record<string, unknown> | undefined][] = [
      ['{ projectons { name } }', undefined],
      ['{ projections { nme } }', undefined],
      ['mutation { registerSite(input: { commandId: "c", siteId: "a", nam: "x", importLimitW: "1", exportLimitW: "0" }) { __typename } }', undefined],
      [
        'mutation($k: NodeKind!) { addNode(input: { commandId: "c", siteId: "a", nodeId: "n", parentId: "a", kind: $k, name: "x", importLimitW: "1", exportLimitW: "0" }) { __typename } }',
        { k: 'FEDER' },
      ],
      [
        'mutation { addNode(input: { commandId: "c", siteId: "a", nodeId: "n", parentId: "a", kind: FEDER, name: "x", importLimitW: "1", exportLimitW: "0" }) { __typename } }',
        undefined,
      ],
    ];
    for (const [query, variables] of cases) {
      // The same mistakes in development do get hints: each case would show one.
      const hinted = await postGraphQL<any>(server.url, query, variables, operator);
      expect(JSON.stringify(hinted.body.errors), query).toContain('Did you mean');
      for (const headers of [operator, driver]) {
        const { body } = await postGraphQL<any>(production, query, variables, headers);
        expect(body.errors?.length, query).toBeGreaterThan(0);
        expect(JSON.stringify(body), query).not.toMatch(/did you mean/i);
        for (const error of body.errors ?? []) expect(error.extensions?.code, query).toBeDefined();
      }
    }
  });

  it('answers /readyz without a key with ready or not and nothing more; with an operator key, the details', async () => {
    const position = (await registerSite(server)).body.data!.registerSite.position!;
    await waitForProjections(server, position);
    const anonymous = await fetch(`${production}/readyz`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ready' });
    for (const authorization of [driver.authorization!, 'Bearer v2g_nosuchkey_nosuchsecret0123456789abcdefghijklm', 'Basic abc']) {
      const other = await fetch(`${production}/readyz`, { headers: { authorization } });
      expect(other.status).toBe(200);
      expect(await other.json()).toEqual({ status: 'ready' });
    }
    const detailed = await fetch(`${production}/readyz`, { headers: operator });
    expect(detailed.status).toBe(200);
    expect(await detailed.json()).toMatchObject({
      status: 'ready',
      reasons: [],
      store: { status: 'ok' },
      projections: expect.arrayContaining([expect.objectContaining({ name: 'grid', state: 'live' })]),
    });
  });

  it('answers /readyz 503 without a key with not_ready alone', async () => {
    const config = loadConfig({ NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '0' });
    const url = await server.serve((deps) => ({
      ...deps,
      hardening: config.hardening,
      ledger: { ...deps.ledger, store: Object.assign(Object.create(deps.ledger.store) as typeof deps.ledger.store, { ping: () => Promise.reject(new Error('store down')) }) },
    }));
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'not_ready' });
  });
});

describe('pnpm start with NODE_ENV=production', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'v2g-production-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses introspection to a driver, hints nobody, and keeps /readyz to its status without a key', async () => {
    const port = 46_000 + Math.floor(Math.random() * 1000);
    const running = startMain({ PORT: String(port), DATA_DIR: dataDir, NODE_ENV: 'production' });
    try {
      await waitForLine(running, `listening on http://localhost:${port}`, 90_000);
      const url = `http://127.0.0.1:${port}`;
      await openAccounts({ gql: (query, variables, headers) => postGraphQL(url, query, variables, headers) }, 'driver-1'); // a driver key acts for a known account
      const created = await postGraphQL<any>(url, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { token } } }', {
        input: { commandId: 'production-driver-key', role: 'DRIVER', subject: 'driver-1', name: 'Driver 1' },
      });
      const driver = { authorization: `Bearer ${created.body.data.createApiKey.token as string}` };
      const refused = await postGraphQL<any>(url, '{ __schema { types { name } } }', undefined, driver);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_NOT_ALLOWED');
      expect((await postGraphQL<any>(url, '{ __schema { types { name } } }')).body.errors).toBeUndefined(); // the operator's key
      const typo = await postGraphQL<any>(url, '{ projectons { name } }', undefined, driver);
      expect(typo.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(typo.body)).not.toMatch(/did you mean/i);
      const ready = await fetch(`${url}/readyz`);
      expect(Object.keys((await ready.json()) as object)).toEqual(['status']);
    } finally {
      running.child.kill('SIGKILL');
    }
  }, 120_000); // a fresh PGlite data folder is initialised first: seconds on a busy machine
});
