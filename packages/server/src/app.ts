import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import { createGraphQLHandler } from './graphql/yoga.ts';
import { healthRoutes } from './http/health.ts';
import { requestContext, requestIdOf, requestLog } from './http/request-context.ts';
import type { LedgerDeps } from './ledger-app.ts';

export type AppDeps = {
  ledger: LedgerDeps;
  logger: Logger;
  /** Serve GraphiQL on GET /graphql (everywhere but production). */
  graphiql: boolean;
  /** /readyz answers 503 when a projection lags more positions than this. */
  readyMaxLag: bigint;
};

/** The HTTP application: request ids and logs, health probes, GraphQL at /graphql. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(deps.logger));
  app.use(healthRoutes(deps.ledger, deps.readyMaxLag));
  const yoga = createGraphQLHandler({ ledger: deps.ledger, logger: deps.logger, graphiql: deps.graphiql });
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
