import { isRole, roleNeedsSubject, SUBJECT_OF_ROLE, SUBJECT_PATTERN } from '@v2g/domain';
import { errors, jwtVerify } from 'jose';
import type { JwtConfig } from './auth-config.ts';
import type { Principal } from './principal.ts';

/** Why a token was refused, for the log (never the token). */
export type JwtRefusal = { reason: string };

/** Tolerated clock skew between the issuer and this server. */
const CLOCK_TOLERANCE_S = 5;

/**
 * Verifies a bearer JWT with `jose`: the signature with the configured key and algorithms only
 * (never `alg: none`, never an algorithm the key was not configured for), `iss`, `aud`, `exp`
 * (required) and `nbf`; then our claims: `sub`, `role`, and for the roles that act for one party
 * the claim naming it (`traderId`, `fleetId`, `customerId`).
 */
export async function verifyJwt(config: JwtConfig, token: string): Promise<Principal | JwtRefusal> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, config.key, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (error) {
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
