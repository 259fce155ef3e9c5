import type { Request, Response } from 'express';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaLogger } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { LedgerDeps } from '../ledger-app.ts';
import type { Principal } from '../auth/principal.ts';
import { DEFAULT_OPERATION_LIMITS, DEVELOPMENT_EXPOSURE, type ExposureConfig, type OperationLimits } from '../hardening-config.ts';
import { useAuthorizeMutationsFirst } from './authorize-mutations.ts';
import { useCodedErrors } from './coded-errors.ts';
import { exampleOperations } from './example-operations.ts';
import { useExposure } from './exposure.ts';
import { useInputErrors } from './input-errors.ts';
import type { GraphQLContext } from './context.ts';
import { useOperationLimits } from './operation-limits.ts';
import { schema } from './schema/index.ts';
import { useValidateArguments } from './validate-arguments.ts';

export type GraphQLHandlerOptions = {
  ledger: LedgerDeps;
  logger: Logger;
  graphiql: boolean;
  /** Depth, complexity, aliases and tokens an operation may have; absent: the defaults. */
  operationLimits?: OperationLimits;
  /** Introspection by role, "Did you mean" hints; absent: development's (everything). */
  exposure?: ExposureConfig;
};

const GRAPHQL_PATH = '/graphql';

/** graphql-yoga over the Pothos schema, for mounting in express at GRAPHQL_PATH. */
export function createGraphQLHandler(options: GraphQLHandlerOptions) {
  return createYoga<{ req: Request; res: Response }, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // GraphiQL opens with an Authorization header to fill in (see README, Authentication and roles).
    // Its example operations are dated from the ledger's clock each time the page is served.
    graphiql: options.graphiql
      ? () => ({ title: 'V2G ledger', defaultQuery: exampleOperations(options.ledger.clock()), headers: GRAPHIQL_HEADERS, defaultEditorToolsVisibility: 'headers' })
      : false,
    // GraphiQL's scripts and styles are served from this package, not a CDN: it works offline.
    renderGraphiQL,
    landingPage: false,
    logging: yogaLogger(options.logger),
    // Arguments are checked before the scopes (which may load what an id names) and any resolver.
    plugins: [
      useOperationLimits(options.operationLimits ?? DEFAULT_OPERATION_LIMITS),
      useValidateArguments(),
      useAuthorizeMutationsFirst(),
      useCodedErrors(),
      useInputErrors(),
      useExposure(options.exposure ?? DEVELOPMENT_EXPOSURE),
    ],
    // Never yoga's development details (the original error and its stack) in a response, whatever
    // NODE_ENV says: unexpected errors are logged, and clients get "Unexpected error.".
    maskedErrors: { isDev: false },
    // CORS is the express app's (http/cors.ts): yoga's own would allow every origin, with credentials.
    cors: false,
    context: ({ res }): GraphQLContext => {
      // Set by requireAuthentication, which every request that executes anything passes first.
      const principal = res.locals.principal as Principal | undefined;
      if (!principal) throw new Error('GraphQL reached without an authenticated principal');
      return { requestId: res.locals.requestId as string, log: res.locals.log as Logger, principal, actor: principal.id, ledger: options.ledger };
    },
  });
}

/** GraphiQL's header editor, prefilled: the key to paste in (pnpm ledger apikey create --role operator). */
const GRAPHIQL_HEADERS = JSON.stringify({ Authorization: 'Bearer v2g_<keyId>_<secret>' }, null, 2);

/** yoga's own log lines (errors outside execution, mostly) as pino JSON. */
function yogaLogger(logger: Logger): YogaLogger {
  const log = logger.child({ component: 'graphql-yoga' });
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      if (first instanceof Error) log[level]({ err: first }, first.message);
      else log[level](rest.length > 0 ? { args: rest } : {}, String(first));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
