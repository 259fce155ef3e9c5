import { KeyObject } from 'node:crypto';
import { isRole, roleNeedsSubject, SUBJECT_OF_ROLE, SUBJECT_PATTERN } from '@v2g/domain';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { JwksSource, JwtConfig } from './auth-config.ts';
import type { Principal } from './principal.ts';

/**
 * Why a token was refused, for the log (never the token). `unavailable`: the issuer's key set could
 * not be fetched, so the token could not be checked at all; the caller may retry.
 */
export type JwtRefusal = { reason: string; unavailable?: true };

/** Tolerated clock skew between the issuer and this server. */
const CLOCK_TOLERANCE_S = 5;

/** How long a fetch of the key set may take before the request is answered 503. */
const JWKS_TIMEOUT_MS = 5000;

/** How long a fetched key set is trusted: a key the issuer withdrew is refused at the latest this long after. */
const JWKS_MAX_AGE_MS = 10 * 60_000;

/**
 * Verifies a bearer JWT with `jose`: the signature with the configured key and algorithms only
 * (never `alg: none`, never an algorithm the key was not configured for), `iss`, `aud`, `exp`
 * (required) and `nbf`; then our claims: `sub`, `role`, and for the roles that act for one party
 * the claim naming it (`traderId`, `fleetId`, `customerId`).
 */
export async function verifyJwt(config: JwtConfig, token: string): Promise<Principal | JwtRefusal> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, verificationKey(config.key), {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (error) {
    if (error instanceof KeySetUnavailable) return { reason: error.message, unavailable: true };
    if (error instanceof errors.JOSEError) return { reason: `${error.code}: ${error.message}` };
    return { reason: 'malformed token' };
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '' || sub.length > 200) return { reason: 'sub must be a non-empty string' };
  if (!isRole(payload.role)) return { reason: 'role claim missing or unknown' };
  const role = payload.role;
  let subject: string | null = null;
  if (roleNeedsSubject(role)) {
    const claim = SUBJECT_OF_ROLE[role];
    const value = payload[claim];
    if (typeof value !== 'string' || !SUBJECT_PATTERN.test(value)) return { reason: `a ${role} token needs a ${claim} claim` };
    subject = value;
  }
  return { id: `jwt:${config.issuer}:${sub}`, kind: 'jwt', role, subject, name: sub };
}

class KeySetUnavailable extends Error {}

/** One cached key set per configured source, shared by every request. */
const keySets = new WeakMap<JwksSource, JWTVerifyGetKey>();

function verificationKey(key: KeyObject | JwksSource): KeyObject | JWTVerifyGetKey {
  if (key instanceof KeyObject) return key;
  let resolve = keySets.get(key);
  if (!resolve) {
    const remote = createRemoteJWKSet(key.jwksUrl, { cooldownDuration: key.cooldownMs, timeoutDuration: JWKS_TIMEOUT_MS, cacheMaxAge: JWKS_MAX_AGE_MS });
    resolve = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        // No key for the token's kid (after a fresh fetch), or an unusable one: the token is refused.
        // Anything else happened while fetching the set: the issuer is unreachable or serves no key set.
        if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === 'ERR_JOSE_GENERIC')) {
          throw error;
        }
        throw new KeySetUnavailable(`the issuer's key set (${key.jwksUrl.href}) could not be fetched: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    keySets.set(key, resolve);
  }
  return resolve;
}
