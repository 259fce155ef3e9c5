import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWKS_ALGORITHMS, type JwtConfig } from '../src/auth/auth-config.ts';
import { bearer, startTestServer, type TestServer, type TestServerOptions } from './harness.ts';

const ISSUER = 'https://id.example.test';
const AUDIENCE = 'v2g-ledger-jwks-e2e';

type SigningKey = { kid: string; privateKey: CryptoKey; jwk: JWK };

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function sign(key: SigningKey, claims: Record<string, unknown>, kid = key.kid): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
}

/** The issuer's key server: serves `keys` (or fails as told), and counts the fetches. */
function keyServer() {
  const state = { keys: [] as JWK[], failWith: null as number | null, fetches: 0 };
  const server: Server = createServer((_request, res) => {
    state.fetches += 1;
    if (state.failWith !== null) {
      res.writeHead(state.failWith).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: state.keys }));
  });
  return {
    state,
    async listen(): Promise<URL> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * JWT bearer tokens checked against the issuer's published key set: fetched once and kept, fetched
 * again when a token names a new key (a rotation), and a key set out of reach answered 503, not 401.
 */
export function describeJwks(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`JWT bearer tokens verified with the issuer's key set over ${label}`, () => {
    let server: TestServer;
    const keys = keyServer();
    let first: SigningKey;
    let second: SigningKey;
    const operator = { sub: 'ops-1', role: 'operator' };
    const status = async (token: string) => (await server.gql('{ projections { name } }', {}, bearer(token))).status;

    beforeAll(async () => {
      [first, second] = await Promise.all([signingKey('key-1'), signingKey('key-2')]);
      keys.state.keys = [first.jwk];
      // No cooldown: a token naming an unknown key fetches the set again at once (30 s in production).
      const jwt: JwtConfig = { issuer: ISSUER, audience: AUDIENCE, key: { jwksUrl: await keys.listen(), cooldownMs: 0 }, algorithms: [...JWKS_ALGORITHMS] };
      server = await startTestServer({ ...options!, jwt });
    });
    afterAll(async () => {
      await server?.close();
      await keys.close();
    });

    it('accepts a token signed with a published key, records its principal, and fetches the set once for many requests', async () => {
      const token = await sign(first, operator);
      const siteId = `k${randomUUID().slice(0, 8)}`;
      const { body } = await server.gql<any>(
        'mutation($input: RegisterSiteInput!) { registerSite(input: $input) { __typename } }',
        { input: { commandId: randomUUID(), siteId, name: 'By key set', importLimitW: '1', exportLimitW: '0' } },
        bearer(token),
      );
      expect(body.data.registerSite.__typename).toBe('RegisterSitePayload');
      const [event] = await server.ledger.store.readStream(`site-${siteId}`);
      expect(event!.metadata.actor).toBe(`jwt:${ISSUER}:ops-1`);
      const fetched = keys.state.fetches;
      for (let i = 0; i < 5; i++) expect(await status(token)).toBe(200);
      expect(keys.state.fetches).toBe(fetched);
    });

    it('follows a rotation: the new key is fetched when a token first names it, and a retired key is refused', async () => {
      keys.state.keys = [second.jwk];
      expect(await status(await sign(second, operator))).toBe(200);
      expect(await status(await sign(first, operator))).toBe(401);
      // A forger naming the published key id, and a token whose algorithm a key set never allows.
      const forger = await signingKey('key-2');
      expect(await status(await sign(forger, operator))).toBe(401);
      const hs256 = await new SignJWT(operator)
        .setProtectedHeader({ alg: 'HS256', kid: 'key-2' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JSON.stringify(second.jwk)));
      expect(await status(hs256)).toBe(401);
    });

    it('answers 503 with Retry-After when the key set cannot be fetched, runs nothing, and keeps accepting keys it holds', async () => {
      const third = await signingKey('key-3');
      const siteId = `k${randomUUID().slice(0, 8)}`;
      for (const failure of ['HTTP 500', 'closed'] as const) {
        if (failure === 'HTTP 500') keys.state.failWith = 500;
        else await keys.close();
        const response = await server.gql<any>(
          'mutation($input: RegisterSiteInput!) { registerSite(input: $input) { __typename } }',
          { input: { commandId: randomUUID(), siteId, name: 'Never', importLimitW: '1', exportLimitW: '0' } },
          bearer(await sign(third, operator)),
        );
        expect(response.status, failure).toBe(503);
        expect(response.headers.get('retry-after'), failure).toBe('5');
        expect(response.body.errors?.[0]?.extensions?.code, failure).toBe('AUTHENTICATION_UNAVAILABLE');
        // The key already held still works while the issuer is out of reach.
        expect(await status(await sign(second, operator)), failure).toBe(200);
      }
      expect(await server.ledger.store.readStream(`site-${siteId}`)).toEqual([]);
      expect(server.logs.some((line) => line.msg === 'request not authenticated: credentials could not be checked' && line.level === 'warn')).toBe(true);
    });
  });
}
