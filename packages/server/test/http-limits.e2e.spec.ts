import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../src/app.ts';
import { hardeningConfig } from '../src/hardening-config.ts';
import { ANONYMOUS, freshSiteId, postGraphQL, REGISTER_SITE, startTestServer, type TestServer } from './harness.ts';

/**
 * Limits and hardening of the HTTP surface (README, Limits and hardening): operation depth,
 * complexity, aliases and tokens; body size; rate limits; CORS. Over PGlite in memory: none of it
 * touches the database beyond what a refused request must not have written.
 */
describe('HTTP limits and hardening', () => {
  let server: TestServer;
  let auth: Record<string, string>;
  let otherAuth: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer({ databaseUrl: null });
    auth = (await server.as('operator')).headers;
    otherAuth = (await server.as('auditor')).headers;
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Another app on the same ledger with these settings (the defaults for the rest). */
  const serveWith = (env: Record<string, string>, more: (deps: AppDeps) => AppDeps = (d) => d) => server.serve((deps) => more({ ...deps, hardening: hardeningConfig(env) }));

  describe('operation limits', () => {
    it('refuses an operation nested deeper than GRAPHQL_MAX_DEPTH, naming the limit and the depth', async () => {
      const eightDeep = '{ streams(first: 1) { edges { node { events(first: 1) { edges { node { ... on RecordedEvent { metadata { actor } } } } } } } } }';
      const ok = await server.gql(eightDeep, undefined, auth);
      expect(ok.body.errors).toBeUndefined();
      const url = await serveWith({ GRAPHQL_MAX_DEPTH: '7' });
      const { status, body } = await postGraphQL<any>(url, eightDeep, undefined, auth);
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors).toEqual([{ message: 'The operation nests 8 fields deep; the limit is 7.', extensions: { code: 'QUERY_TOO_DEEP', limit: 7, actual: 8 } }]);
    });

    it('counts first/last toward complexity: a page of 100 inside a page of 100 is refused, the same query with small pages runs', async () => {
      const query = 'query($outer: Int, $inner: Int) { streams(first: $outer) { edges { node { events(first: $inner) { edges { node { type data hash } } } } } } }';
      const big = await server.gql(query, { outer: 100, inner: 100 }, auth);
      expect(big.status).toBe(400);
      // streams 1 + edges (1 + 100 × (node 1 + events (1 + edges (1 + 100 × (node 1 + 3 fields)))))
      const complexity = 1 + (1 + 100 * (1 + (1 + (1 + 100 * (1 + 3)))));
      expect(complexity).toBe(40_302);
      expect(big.body.errors![0]).toEqual({
        message: "The operation's complexity is 40302; the limit is 10000. Ask for smaller pages (first) or fewer fields.",
        extensions: { code: 'QUERY_TOO_COMPLEX', limit: 10_000, actual: 40_302 },
      });
      const small = await server.gql(query, { outer: 10, inner: 10 }, auth);
      expect(small.status).toBe(200);
      expect(small.body.errors).toBeUndefined();
    });

    it('refuses a mutation over a limit before it runs: nothing is written', async () => {
      const url = await serveWith({ GRAPHQL_MAX_ALIASES: '1' });
      const siteIds = [freshSiteId(), freshSiteId()];
      const input = (siteId: string) => `{ commandId: "${randomUUID()}", siteId: "${siteId}", name: "D", importLimitW: "1", exportLimitW: "0" }`;
      const mutation = `mutation { a: registerSite(input: ${input(siteIds[0]!)}) { __typename } b: registerSite(input: ${input(siteIds[1]!)}) { __typename } }`;
      const { body } = await postGraphQL<any>(url, mutation, undefined, auth);
      expect(body.errors![0]).toMatchObject({ message: 'The operation uses 2 aliases; the limit is 1.', extensions: { code: 'TOO_MANY_ALIASES', limit: 1, actual: 2 } });
      for (const siteId of siteIds) expect(await server.ledger.store.readStream(`site-${siteId}`)).toEqual([]);

      const cheap = await serveWith({ GRAPHQL_MAX_COMPLEXITY: '3' });
      const siteId = freshSiteId();
      const refused = await postGraphQL<any>(cheap, REGISTER_SITE, { input: { commandId: randomUUID(), siteId, name: 'D', importLimitW: '1', exportLimitW: '0' } }, auth);
      expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 3 });
      expect(await server.ledger.store.readStream(`site-${siteId}`)).toEqual([]);
    });

    it('refuses a document of more than GRAPHQL_MAX_TOKENS tokens before parsing it', async () => {
      const fields = Array.from({ length: 2_100 }, () => 'name').join(' ');
      const { status, body } = await server.gql(`{ projections { ${fields} } }`, undefined, auth);
      expect(status).toBe(400);
      expect(body.errors).toEqual([{ message: 'The document has 2105 tokens; the limit is 2000.', extensions: { code: 'QUERY_TOO_LARGE', limit: 2000, actual: 2105 } }]);
    });
  });

  describe('body size', () => {
    const post = (url: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body });

    it('answers 413 with a JSON error above HTTP_MAX_BODY_BYTES, by Content-Length or while the body streams in', async () => {
      const url = await serveWith({ HTTP_MAX_BODY_BYTES: '65536' });
      const under = await post(url, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(60_000) } }));
      expect(under.status).toBe(200);
      expect(await under.json()).toEqual({ data: { __typename: 'Query' } });

      const over = await post(url, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(70_000) } }));
      expect(over.status).toBe(413);
      expect(await over.json()).toEqual({
        errors: [
          { message: 'The request body is larger than 65536 bytes, the limit.', extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: 65_536, requestId: expect.any(String) } },
        ],
      });

      // Chunked, no Content-Length: counted as it arrives.
      const chunked = await chunkedPost(url, auth, [
        JSON.stringify({ query: '{ __typename }', variables: { pad: '' } }).slice(0, -3),
        ...Array.from({ length: 10 }, () => 'x'.repeat(10_000)),
        '"}}',
      ]);
      expect(chunked.status).toBe(413);
      expect(JSON.parse(chunked.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('keeps the default limit of 1 MiB on /graphql', async () => {
      const over = await post(server.url, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_048_576) } }));
      expect(over.status).toBe(413);
    });

    it('takes JSON only: other content types, which would bypass the limit, get 415; malformed JSON 400', async () => {
      for (const type of ['application/graphql', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
        const response = await post(server.url, 'query=%7B__typename%7D', { 'content-type': type });
        expect(response.status, type).toBe(415);
        expect((await response.json()).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
      const malformed = await post(server.url, '{"query": "{ __typename }", "password": "hunter2-in-a-broken-body"');
      expect(malformed.status).toBe(400);
      const body = await malformed.text();
      expect(JSON.parse(body).errors[0]).toMatchObject({ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } });
      expect(body).not.toContain('hunter2');
    });
  });

  describe('rate limits', () => {
    it('lets a burst through per API key, then answers 429 with Retry-After; other keys and health probes are not held back', async () => {
      const url = await serveWith({ RATE_LIMIT_PER_MINUTE: '6', RATE_LIMIT_BURST: '3' });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await postGraphQL(url, '{ __typename }', undefined, auth)).status);
      expect(statuses).toEqual([200, 200, 200]);
      const limited = await postGraphQL<any>(url, '{ __typename }', undefined, auth);
      expect(limited.status).toBe(429);
      // One token every 10 s: the wait is at most that (less as the machine is slow).
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(10);
      expect(limited.body.errors![0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } });
      expect(limited.body.errors![0]!.message).toMatch(/at most 6 a minute \(bursts of 3\) per API key or token/);

      expect((await postGraphQL(url, '{ __typename }', undefined, otherAuth)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });

    it('counts requests without valid credentials against the client address', async () => {
      const url = await serveWith({ RATE_LIMIT_PER_MINUTE: '6', RATE_LIMIT_BURST: '2' });
      const guess = { authorization: 'Bearer v2g_0000000000000000_not-a-valid-secret-not-a-valid-secret' };
      expect((await postGraphQL(url, '{ __typename }', undefined, guess)).status).toBe(401);
      expect((await postGraphQL(url, '{ __typename }', undefined, ANONYMOUS)).status).toBe(401);
      const limited = await postGraphQL<any>(url, '{ __typename }', undefined, guess);
      expect(limited.status).toBe(429);
      expect(limited.body.errors![0]!.message).toMatch(/per client address/);
    });

    it('is off with RATE_LIMIT_PER_MINUTE=0', async () => {
      const url = await serveWith({ RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_BURST: '1' });
      for (let i = 0; i < 5; i++) expect((await postGraphQL(url, '{ __typename }', undefined, auth)).status).toBe(200);
    });
  });

  describe('CORS', () => {
    const APP = 'https://app.example.com';
    const preflight = (url: string, origin: string) =>
      fetch(`${url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
    const postFrom = (url: string, origin: string) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { origin, 'content-type': 'application/json', ...auth }, body: JSON.stringify({ query: '{ __typename }' }) });

    it('by default allows no other origin: preflight and request are refused, with no CORS header', async () => {
      for (const response of [await preflight(server.url, APP), await postFrom(server.url, APP)]) {
        expect(response.status).toBe(403);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      }
      // The server's own pages (GraphiQL) send their own origin: not a cross-origin call.
      const own = await postFrom(server.url, server.url);
      expect(own.status).toBe(200);
    });

    it("answers a listed origin's preflight and requests; refuses the others", async () => {
      const url = await serveWith({ CORS_ORIGINS: `${APP},http://localhost:5173` });
      const allowed = await preflight(url, APP);
      expect(allowed.status).toBe(204);
      expect(Object.fromEntries([...allowed.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
        'access-control-allow-origin': APP,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      });
      expect(allowed.headers.get('vary')).toMatch(/Origin/);
      const request = await postFrom(url, APP);
      expect(request.status).toBe(200);
      expect(request.headers.get('access-control-allow-origin')).toBe(APP);
      expect(request.headers.get('access-control-expose-headers')).toContain('X-Request-Id');

      const denied = await preflight(url, 'https://evil.example.com');
      expect(denied.status).toBe(403);
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
      expect((await postFrom(url, 'https://app.example.com.evil.example')).status).toBe(403);
    });

    it('allows any origin with *, never with credentials; credentials only for listed origins when asked for', async () => {
      const any = await serveWith({ CORS_ORIGINS: '*' });
      const response = await preflight(any, 'https://anyone.example');
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();

      const withCredentials = await serveWith({ CORS_ORIGINS: APP, CORS_ALLOW_CREDENTIALS: 'true' });
      const listed = await postFrom(withCredentials, APP);
      expect(listed.headers.get('access-control-allow-origin')).toBe(APP);
      expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    });
  });
});

/** A POST whose body goes out in chunks, without Content-Length (fetch would send one). */
function chunkedPost(url: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}
