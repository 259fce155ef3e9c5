import { ProjectionRunner, type Projection } from '@v2g/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { postGraphQL, registerSite, startTestServer, waitForProjections, type TestServer } from './harness.ts';

/** The HTTP surface around GraphQL: probes, request ids, masking, GraphiQL. Over PGlite in memory. */
describe('HTTP application', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ databaseUrl: null });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('GET /healthz says the process is alive', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 with the store and each projection when all is well', async () => {
    const position = (await registerSite(server)).body.data!.registerSite.position!;
    await waitForProjections(server, position);
    const response = await fetch(`${server.url}/readyz`);
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      status: 'ready',
      reasons: [],
      store: { status: 'ok' },
      headPosition: position,
      projections: [
        { name: 'catalogue', version: 1, state: 'live', checkpoint: position, lag: '0', failure: null },
        { name: 'grid', version: 3, state: 'live', checkpoint: position, lag: '0', failure: null },
        { name: 'billing', version: 2, state: 'live', checkpoint: position, lag: '0', failure: null },
        { name: 'settlement', version: 2, state: 'live', checkpoint: position, lag: '0', failure: null },
        { name: 'market', version: 2, state: 'live', checkpoint: position, lag: '0', failure: null },
      ],
    });
  });

  it('GET /readyz is 503 naming the failed projection and its event', async () => {
    const failing: Projection = {
      name: 'always_fails',
      version: 1,
      tables: [],
      setup: async () => {},
      apply: async (_tx, event) => {
        throw new Error(`cannot project ${event.type}`);
      },
    };
    const runner = new ProjectionRunner({
      store: server.ledger.store,
      sql: server.ledger.sql,
      schema: 'v2g',
      projections: [failing],
      logger: createLogger('silent'),
    });
    // It fails on the log's first event, at position 1: the harness's bootstrap operator key.
    await registerSite(server);
    await runner.start();
    try {
      const url = await server.serve((deps) => ({ ...deps, ledger: { ...deps.ledger, projections: runner } }));
      const deadline = Date.now() + 10_000;
      while ((await runner.status())[0]?.state !== 'failed') {
        if (Date.now() > deadline) throw new Error('the failing projection never failed');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const response = await fetch(`${url}/readyz`);
      const body = await response.json();
      expect(response.status).toBe(503);
      expect(body.status).toBe('not_ready');
      expect(body.reasons.join('\n')).toContain('always_fails');
      expect(body.projections[0]).toMatchObject({
        name: 'always_fails',
        state: 'failed',
        checkpoint: '0',
        failure: { position: '1', streamVersion: 1, eventType: 'ApiKeyCreated', message: 'cannot project ApiKeyCreated' },
      });
      const { body: graphql } = await postGraphQL<any>(url, '{ projections { name state failure { position eventType message } } }');
      expect(graphql.data.projections[0]).toMatchObject({
        name: 'always_fails',
        state: 'FAILED',
        failure: { position: '1', eventType: 'ApiKeyCreated', message: 'cannot project ApiKeyCreated' },
      });
    } finally {
      await runner.stop();
    }
  });

  it('GET /readyz is 503 when the store does not answer', async () => {
    const url = await server.serve((deps) => ({
      ...deps,
      ledger: { ...deps.ledger, store: { ...deps.ledger.store, ping: () => Promise.reject(new Error('connection refused')) } },
    }));
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect((await response.json()).store.status).toBe('unavailable');
  });

  it('echoes X-Request-Id, or makes one, and logs every line of the request with it', async () => {
    const given = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'req-123.abc' } });
    expect(given.headers.get('x-request-id')).toBe('req-123.abc');
    const made = await fetch(`${server.url}/healthz`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const odd = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'has spaces and "quotes"' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const { headers } = await registerSite(server, {}, { 'X-Request-Id': 'trace-register-1' });
    expect(headers.get('x-request-id')).toBe('trace-register-1');
    const lines = server.logs.filter((l) => l.requestId === 'trace-register-1');
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['command handled', 'request completed']));
  });

  it('masks an unexpected error, logs it with the request id, and keeps its code out of the data', async () => {
    const url = await server.serve((deps) => ({
      ...deps,
      ledger: {
        ...deps.ledger,
        store: { ...deps.ledger.store, headPosition: () => Promise.reject(new Error('secret detail of the database')) },
      },
    }));
    const { status, body, headers } = await postGraphQL<any>(url, '{ projections { name } }', undefined, { 'X-Request-Id': 'masked-1' });
    expect(status).toBe(200);
    expect(JSON.stringify(body)).not.toContain('secret');
    expect(body.errors![0]).toMatchObject({
      message: 'Unexpected error.',
      path: ['projections'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'masked-1' },
    });
    expect(headers.get('x-request-id')).toBe('masked-1');
    const logged = server.logs.find((l) => l.requestId === 'masked-1' && l.msg === 'unexpected error in a resolver');
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('secret detail of the database');
  });

  it('serves GraphiQL to a browser in development, and not in production', async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>V2G ledger</title>');
    const url = await server.serve((deps) => ({ ...deps, graphiql: false }));
    const production = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await production.text()).not.toContain('<html');
  });

  it('answers unknown routes with 404 JSON', async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'no route for GET /nope' });
  });
});
