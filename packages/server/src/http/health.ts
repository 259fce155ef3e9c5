import { Router } from 'express';
import { authenticate, type AuthenticatorDeps } from '../auth/authenticate.ts';
import type { ExposureConfig } from '../hardening-config.ts';
import type { LedgerDeps } from '../ledger-app.ts';
import { checkReadiness } from './readiness.ts';
import { requestLog } from './request-context.ts';

export type ReadinessExposure = {
  /** Who sees the reasons, the store and each projection: everybody, or a request with an operator's credentials. */
  details: ExposureConfig['readinessDetails'];
  /** How an operator's credentials are checked. */
  auth: AuthenticatorDeps;
};

/**
 * GET /healthz: the process answers. GET /readyz: it can serve (store reachable, projections
 * current), 200 or 503. Its body says `status` alone unless details are public or the request
 * carries an operator's API key or token; then also why not, and where each projection stands.
 * A probe needs no credentials, and bad ones are not refused here: they only see less.
 */
export function healthRoutes(ledger: Pick<LedgerDeps, 'store' | 'projections'>, readyMaxLag: bigint, exposure: ReadinessExposure): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const body = await checkReadiness(ledger, readyMaxLag, requestLog(res));
    const status = body.status === 'ready' ? 200 : 503;
    const detailed = exposure.details === 'public' || (await isOperator(exposure.auth, req.get('authorization')));
    res.status(status).json(detailed ? body : { status: body.status });
  });
  return router;
}

async function isOperator(auth: AuthenticatorDeps, header: string | undefined): Promise<boolean> {
  if (header === undefined || header.trim() === '') return false;
  const result = await authenticate(auth, header);
  return result.principal?.role === 'operator';
}
