import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { JWKS_ALGORITHMS } from './auth-config.ts';

const SECRET = 'x'.repeat(43);

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('authentication settings', () => {
  it('reads the bootstrap operator key, and refuses a malformed one without echoing it', () => {
    expect(loadConfig({ AUTH_BOOTSTRAP_OPERATOR_KEY: `v2g_admin_${SECRET}` }).auth.bootstrapOperatorKey).toEqual({ keyId: 'admin', secret: SECRET });
    for (const bad of ['admin-password', `v2g_Admin_${SECRET}`, 'v2g_admin_tooshort']) {
      const error = refusal({ AUTH_BOOTSTRAP_OPERATOR_KEY: bad });
      expect(error.variable).toBe('AUTH_BOOTSTRAP_OPERATOR_KEY');
      expect(error.message).not.toContain(bad);
    }
  });

  it('configures HS256 with an issuer, an audience and a long enough secret', () => {
    const { jwt } = loadConfig({ AUTH_JWT_ISSUER: 'https://id.example', AUTH_JWT_AUDIENCE: 'v2g', AUTH_JWT_SECRET: 's'.repeat(32) }).auth;
    expect(jwt).toMatchObject({ issuer: 'https://id.example', audience: 'v2g', algorithms: ['HS256'] });
    expect(refusal({ AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_SECRET: 'short' }).variable).toBe('AUTH_JWT_SECRET');
  });

  it('picks the algorithm from the public key, and names the variable that is missing or wrong', () => {
    const pem = (type: 'ed25519' | 'rsa') =>
      (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const base = { AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' };
    expect(loadConfig({ ...base, AUTH_JWT_PUBLIC_KEY: pem('ed25519') }).auth.jwt!.algorithms).toEqual(['EdDSA', 'Ed25519']);
    expect(loadConfig({ ...base, AUTH_JWT_PUBLIC_KEY: pem('rsa').replaceAll('\n', '\\n') }).auth.jwt!.algorithms).toEqual(['RS256']);
    expect(refusal({ ...base, AUTH_JWT_PUBLIC_KEY: 'not a key' }).variable).toBe('AUTH_JWT_PUBLIC_KEY');
    expect(refusal({ ...base, AUTH_JWT_PUBLIC_KEY: pem('rsa'), AUTH_JWT_SECRET: 's'.repeat(32) }).variable).toBe('AUTH_JWT_PUBLIC_KEY');
    expect(refusal({ AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_SECRET: 's'.repeat(32) }).variable).toBe('AUTH_JWT_ISSUER');
    expect(refusal({ AUTH_JWT_ISSUER: 'i', AUTH_JWT_SECRET: 's'.repeat(32) }).variable).toBe('AUTH_JWT_AUDIENCE');
    expect(refusal({ AUTH_JWT_ISSUER: 'i' }).variable).toBe('AUTH_JWT_SECRET');
  });

  it('takes the key set from an https URL (http only on this machine), asymmetric algorithms only, and one key source at a time', () => {
    const base = { AUTH_JWT_ISSUER: 'https://id.example', AUTH_JWT_AUDIENCE: 'v2g' };
    const { jwt } = loadConfig({ ...base, AUTH_JWT_JWKS_URL: 'https://id.example/.well-known/jwks.json' }).auth;
    expect(jwt!.key).toEqual({ jwksUrl: new URL('https://id.example/.well-known/jwks.json'), cooldownMs: 30_000 });
    expect(jwt!.algorithms).toEqual([...JWKS_ALGORITHMS]);
    expect(jwt!.algorithms.some((a) => a.startsWith('HS'))).toBe(false);
    expect(loadConfig({ ...base, AUTH_JWT_JWKS_URL: 'http://localhost:8080/jwks', AUTH_JWT_ALGORITHMS: 'ES256, EdDSA' }).auth.jwt!.algorithms).toEqual(['ES256', 'EdDSA']);
    for (const [env, variable] of [
      [{ AUTH_JWT_JWKS_URL: 'http://id.example/jwks' }, 'AUTH_JWT_JWKS_URL'],
      [{ AUTH_JWT_JWKS_URL: 'id.example/jwks' }, 'AUTH_JWT_JWKS_URL'],
      [{ AUTH_JWT_JWKS_URL: 'https://id.example/jwks', AUTH_JWT_ALGORITHMS: 'HS256' }, 'AUTH_JWT_ALGORITHMS'],
      [{ AUTH_JWT_JWKS_URL: 'https://id.example/jwks', AUTH_JWT_ALGORITHMS: ' , ' }, 'AUTH_JWT_ALGORITHMS'],
      [{ AUTH_JWT_JWKS_URL: 'https://id.example/jwks', AUTH_JWT_SECRET: 's'.repeat(32) }, 'AUTH_JWT_JWKS_URL'],
      [{ AUTH_JWT_SECRET: 's'.repeat(32), AUTH_JWT_ALGORITHMS: 'RS256' }, 'AUTH_JWT_ALGORITHMS'],
    ] as const) {
      expect(refusal({ ...base, ...env }).variable, JSON.stringify(env)).toBe(variable);
    }
    expect(refusal({ AUTH_JWT_ALGORITHMS: 'RS256' }).variable).toBe('AUTH_JWT_SECRET');
  });
});
