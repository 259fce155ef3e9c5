import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CorsConfig } from '../hardening-config.ts';
import { requestIdOf, requestLog } from './request-context.ts';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
/** What a browser script may read of a response besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, WWW-Authenticate';
const PREFLIGHT_MAX_AGE_S = '600';

/**
 * Cross-origin requests from browsers, for every route:
 * - no `Origin`, or this server's own (GraphiQL): nothing to do;
 * - an origin in `CORS_ORIGINS` (or any, with `*`): `Access-Control-Allow-Origin` on the answer;
 *   a preflight (OPTIONS with `Access-Control-Request-Method`) gets 204 with the methods, the
 *   headers asked for and a max age; `Access-Control-Allow-Credentials` only when configured (never
 *   with `*`);
 * - any other origin: 403, preflight or not. A browser would hide the answer anyway; refusing it
 *   also keeps a page on another site from having a request executed at all.
 * graphql-yoga's own CORS handling is off (it reflects every origin, with credentials).
 */
export function cors(config: CorsConfig): RequestHandler {
  const any = config.origins.includes('*');
  const listed = new Set(config.origins);
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (origin === undefined || isSameOrigin(origin, req.get('host'))) return next();
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    res.vary('Origin');
    if (!any && !listed.has(origin)) {
      requestLog(res).info({ origin: origin.slice(0, 200), preflight }, 'cross-origin request refused');
      res.status(403).json({ error: `Origin ${origin.slice(0, 200)} is not allowed (CORS_ORIGINS).`, requestId: requestIdOf(res) });
      return;
    }
    res.set('Access-Control-Allow-Origin', any ? '*' : origin);
    if (config.allowCredentials) res.set('Access-Control-Allow-Credentials', 'true');
    if (!preflight) {
      res.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    res.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
    const headers = req.get('access-control-request-headers');
    if (headers !== undefined) {
      res.set('Access-Control-Allow-Headers', headers);
      res.vary('Access-Control-Request-Headers');
    }
    res.set('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S);
    res.status(204).set('Content-Length', '0').end();
  };
}

/** A browser sends `Origin` on its own POSTs too: the same host as the request's is no cross-origin call. */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
