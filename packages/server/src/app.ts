import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import type { JwtConfig } from './auth/auth-config.ts';
import { principalOf, requireAuthentication } from './auth/authenticate.ts';
import { createGraphQLHandler } from './graphql/yoga.ts';
import { hardeningConfig, type HardeningConfig } from './hardening-config.ts';
import { cors } from './http/cors.ts';
import { healthRoutes } from './http/health.ts';
import { jsonBody } from './http/json-body.ts';
import { rateLimit } from './http/rate-limit.ts';
import { requestContext, requestIdOf, requestLog } from './http/request-context.ts';
import type { LedgerDeps } from './ledger-app.ts';

export type AppDeps = {
  ledger: LedgerDeps;
  logger: Logger;
  /** Serve GraphiQL on GET /graphql (everywhere but production). */
  graphiql: boolean;
  /** /readyz answers 503 when a projection lags more positions than this. */
  readyMaxLag: bigint;
  /** JWT bearer tokens accepted besides API keys; null or absent: API keys only. */
  jwt?: JwtConfig | null;
  /** Operation limits, body size, rate limit, CORS; absent: the defaults (no variables set). */
  hardening?: HardeningConfig;
};

/** The HTTP application: request ids and logs, health probes, GraphQL at /graphql. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  const hardening = deps.hardening ?? hardeningConfig({});
  app.use(requestContext(deps.logger));
  app.use(cors(hardening.cors));
  app.use(healthRoutes(deps.ledger, deps.readyMaxLag, { details: hardening.exposure.readinessDetails, auth: { apiKeys: deps.ledger.access.apiKeys, jwt: deps.jwt ?? null } }));
  const yoga = createGraphQLHandler({
    ledger: deps.ledger,
    logger: deps.logger,
    graphiql: deps.graphiql,
    operationLimits: hardening.operationLimits,
    exposure: hardening.exposure,
  });
  // Rate limits by client address around authentication, then by principal (http/rate-limit.ts).
  const limiter = rateLimit(hardening.rateLimit, { principalOf });
  app.use(yoga.graphqlEndpoint, limiter.beforeAuthentication);
  // Every GraphQL request is authenticated first (401 otherwise); res.locals.principal says who.
  app.use(yoga.graphqlEndpoint, requireAuthentication({ apiKeys: deps.ledger.access.apiKeys, jwt: deps.jwt ?? null, graphiql: deps.graphiql }));
  // yoga reads the request stream itself, without a limit: the body is read here, up to the limit.
  app.use(yoga.graphqlEndpoint, limiter.afterAuthentication, jsonBody(hardening.maxBodyBytes));
  // Express 5 hands a rejected promise to the error handler below.
  app.use(yoga.graphqlEndpoint, async (req, res) => {
    await yoga.handle(req, res, { req, res });
  });
  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}`, requestId: requestIdOf(res) });
  });
  app.use(unexpectedError);
  return app;
}

const unexpectedError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  requestLog(res).error({ err: error }, 'unexpected error in a request handler');
  res.status(500).json({ error: 'Unexpected error.', requestId: requestIdOf(res) });
};
