import { Router } from 'express';
import type { LedgerDeps } from '../ledger-app.ts';
import { checkReadiness } from './readiness.ts';
import { requestLog } from './request-context.ts';

/** GET /healthz: the process answers. GET /readyz: it can serve (store reachable, projections current). */
export function healthRoutes(ledger: Pick<LedgerDeps, 'store' | 'projections'>, readyMaxLag: bigint): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const body = await checkReadiness(ledger, readyMaxLag, requestLog(res));
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });
  return router;
}
