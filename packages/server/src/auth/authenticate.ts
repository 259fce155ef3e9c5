import type { ApiKeyService } from '@v2g/ledger';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { requestIdOf, requestLog } from '../http/request-context.ts';
import type { JwtConfig } from './auth-config.ts';
import { verifyJwt } from './jwt.ts';
import type { Principal } from './principal.ts';

const AUTH_REALM = 'v2g-ledger';

/** Seconds a caller is asked to wait when its token cannot be checked (the issuer's key set is unreachable). */
const AUTH_RETRY_AFTER_S = 5;

export type AuthenticatorDeps = {
  apiKeys: Pick<ApiKeyService, 'verify'>;
  /** Null: only API keys are accepted. */
  jwt: JwtConfig | null;
};

/** `unavailable`: the credentials could not be checked now (the JWT issuer's key set is out of reach). */
export type Authentication = { principal: Principal } | { principal: null; reason: string; presented: boolean; unavailable?: true };

/** Who an `Authorization` header says is calling: `Bearer v2g_…` is an API key, any other bearer token a JWT. */
export async function authenticate(deps: AuthenticatorDeps, header: string | undefined): Promise<Authentication> {
  const value = header?.trim() ?? '';
  if (value === '') return { principal: null, reason: 'no Authorization header', presented: false };
  const match = /^Bearer\s+(\S+)$/i.exec(value);
  if (!match) return { principal: null, reason: 'Authorization is not "Bearer <token>"', presented: true };
  const token = match[1]!;
  if (token.startsWith('v2g_')) {
    const key = await deps.apiKeys.verify(token);
    if (!key) return { principal: null, reason: 'unknown, revoked or malformed API key', presented: true };
    return { principal: { id: `apikey:${key.keyId}`, kind: 'apikey', role: key.role, subject: key.subject, name: key.name } };
  }
  if (!deps.jwt) return { principal: null, reason: 'not an API key, and JWT bearer tokens are not configured', presented: true };
  const verified = await verifyJwt(deps.jwt, token);
  if ('reason' in verified) {
    if (verified.unavailable) return { principal: null, reason: `JWT not checked: ${verified.reason}`, presented: true, unavailable: true };
    return { principal: null, reason: `JWT refused: ${verified.reason}`, presented: true };
  }
  return { principal: verified };
}

/** The principal authenticated for this request (set by requireAuthentication). */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/**
 * Express middleware for /graphql: the caller must present a valid API key or JWT, else 401 with
 * `WWW-Authenticate` and a GraphQL-shaped body (code UNAUTHENTICATED), before anything is parsed
 * or executed. On success `res.locals.principal` holds the principal and the request's logger
 * (`res.locals.log`) names it on every line. GraphiQL's page itself (a browser's GET asking for
 * HTML, when GraphiQL is on) and CORS preflights need no credentials: they execute nothing.
 */
export function requireAuthentication(deps: AuthenticatorDeps & { graphiql: boolean }): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS' || (deps.graphiql && req.method === 'GET' && (req.get('accept') ?? '').includes('text/html'))) {
      next();
      return;
    }
    const result = await authenticate(deps, req.get('authorization'));
    const log = requestLog(res);
    if (result.principal === null && result.unavailable) {
      // Not the caller's fault: a 401 would tell it to drop a token that may well be good.
      log.warn({ reason: result.reason }, 'request not authenticated: credentials could not be checked');
      res
        .status(503)
        .set('Retry-After', String(AUTH_RETRY_AFTER_S))
        .json({
          errors: [
            {
              message: 'The credentials presented cannot be checked right now; retry shortly.',
              extensions: { code: 'AUTHENTICATION_UNAVAILABLE', requestId: requestIdOf(res) },
            },
          ],
        });
      return;
    }
    if (result.principal === null) {
      log.info({ reason: result.reason }, 'request not authenticated');
      const challenge = result.presented ? `Bearer realm="${AUTH_REALM}", error="invalid_token"` : `Bearer realm="${AUTH_REALM}"`;
      res
        .status(401)
        .set('WWW-Authenticate', challenge)
        .json({
          errors: [
            {
              message: result.presented ? 'The credentials presented are not valid.' : 'Authentication required: send Authorization: Bearer <API key or JWT>.',
              extensions: { code: 'UNAUTHENTICATED', requestId: requestIdOf(res) },
            },
          ],
        });
      return;
    }
    const { principal } = result;
    res.locals.principal = principal;
    res.locals.log = (log as Logger).child({ principal: principal.id, role: principal.role });
    next();
  };
}
