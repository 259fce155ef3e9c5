import type { Request, Response } from 'express';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaLogger } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { LedgerDeps } from '../ledger-app.ts';
import type { Principal } from '../auth/principal.ts';
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from '../hardening-config.ts';
import { useAuthorizeMutationsFirst } from './authorize-mutations.ts';
import { useCodedErrors } from './coded-errors.ts';
import type { GraphQLContext } from './context.ts';
import { useOperationLimits } from './operation-limits.ts';
import { schema } from './schema/index.ts';

export type GraphQLHandlerOptions = {
  ledger: LedgerDeps;
  logger: Logger;
  graphiql: boolean;
  /** Depth, complexity, aliases and tokens an operation may have; absent: the defaults. */
  operationLimits?: OperationLimits;
};

export const GRAPHQL_PATH = '/graphql';

/** graphql-yoga over the Pothos schema, for mounting in express at GRAPHQL_PATH. */
export function createGraphQLHandler(options: GraphQLHandlerOptions) {
  return createYoga<{ req: Request; res: Response }, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // GraphiQL opens with an Authorization header to fill in (see README, Authentication and roles).
    graphiql: options.graphiql ? { title: 'V2G ledger', defaultQuery: EXAMPLE_OPERATIONS, headers: GRAPHIQL_HEADERS, defaultEditorToolsVisibility: 'headers' } : false,
    // GraphiQL's scripts and styles are served from this package, not a CDN: it works offline.
    renderGraphiQL,
    landingPage: false,
    logging: yogaLogger(options.logger),
    plugins: [useOperationLimits(options.operationLimits ?? DEFAULT_OPERATION_LIMITS), useAuthorizeMutationsFirst(), useCodedErrors()],
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
export const GRAPHIQL_HEADERS = JSON.stringify({ Authorization: 'Bearer v2g_<keyId>_<secret>' }, null, 2);

/** What GraphiQL opens with: a first command and a look at what it recorded. */
export const EXAMPLE_OPERATIONS = `# Register a site (resend with the same commandId: nothing new is written),
# then look at the streams and events the ledger recorded.

mutation RegisterSite {
  registerSite(input: {
    commandId: "try-1", siteId: "depot-1", name: "Depot 1",
    importLimitW: "250000", exportLimitW: "100000"
  }) {
    __typename
    ... on RegisterSitePayload { duplicate streamId position site { name importLimitW } }
    ... on Error { code message }
  }
}

# A feeder, a charger and its connector; plug a vehicle in; see what the
# allocation gives it, and the limits in force at every node.
mutation AddFeeder {
  addNode(input: { commandId: "try-2", siteId: "depot-1", nodeId: "f1", parentId: "depot-1",
    kind: FEEDER, name: "Feeder 1", importLimitW: "100000", exportLimitW: "50000" }) { __typename ... on Error { code message } }
}
mutation AddCharger {
  addNode(input: { commandId: "try-3", siteId: "depot-1", nodeId: "cp1", parentId: "f1", kind: CHARGER, name: "CP 1",
    importLimitW: "22000", exportLimitW: "0", charger: { minPowerW: "4140", maxPowerW: "22000", bidirectional: false } }) { __typename ... on Error { code message } }
}
mutation AddConnector {
  addNode(input: { commandId: "try-4", siteId: "depot-1", nodeId: "cp1-1", parentId: "cp1", kind: CONNECTOR,
    name: "CP 1 left", importLimitW: "22000", exportLimitW: "0" }) { __typename ... on Error { code message } }
}
# A session is billed to a known account: give the driver a tariff first.
mutation OpenAccount {
  defineTariff(input: { commandId: "try-t1", tariff: { tariffId: "flat-30", name: "Flat 30 c/kWh", currency: "EUR",
    energy: { fixed: { priceMinorPerKWh: "30" } }, speedBands: [], sessionFeeMinor: "50" } }) { __typename ... on Error { code message } }
  assignTariff(input: { commandId: "try-t2", accountId: "driver-1", tariffId: "flat-30", validFrom: "2026-01-01T00:00:00Z" }) {
    __typename ... on Error { code message }
  }
}
mutation PlugIn {
  plugIn(input: { commandId: "try-5", sessionId: "s-1", siteId: "depot-1", connectorId: "cp1-1", vehicleId: "ev-1",
    customerId: "driver-1", tier: NORMAL, departureAt: "2030-01-01T18:00:00Z", energyNeededWh: "30000",
    minPowerW: "1400", maxPowerW: "11000" }) {
    __typename
    ... on SessionCommandPayload { session { needs { remainingWh laxityS } allocation { setpointW status reason } } }
    ... on Error { code message }
  }
}
query SiteTree {
  site(siteId: "depot-1") {
    nodes { nodeId kind effectiveImportLimitW importBoundBy flowW importHeadroomW }
    sessions { sessionId connectorId setpointW status reason }
  }
}

# The market: a zone trading 15-minute products, two traders, a crossing pair
# of orders (they trade at the resting price), then the book and the tape.
# deliveryStart: a quarter hour less than a day ahead (the book opens 24 h
# before delivery and closes 5 minutes before it).
mutation ConfigureMarketZone {
  configureMarketZone(input: { commandId: "try-m1", zone: "NL", currency: "EUR", imbalancePriceZone: "NL",
    products: [{ lengthMinutes: 15, mode: CONTINUOUS, tickMinorPerMWh: "1", minPriceMinorPerMWh: "-50000",
      maxPriceMinorPerMWh: "400000", quantityStepKWh: "0.1", maxQuantityKWh: "10000", gateClosureMinutes: 5, openMinutes: 1440 }] }) {
    __typename ... on Error { code message }
  }
  alice: registerParticipant(input: { commandId: "try-m2", zone: "NL", participantId: "alice", name: "Alice" }) { __typename }
  bob: registerParticipant(input: { commandId: "try-m3", zone: "NL", participantId: "bob", name: "Bob" }) { __typename }
}
mutation SubmitOrders {
  submitOrders(input: { commandId: "try-m4", zone: "NL", deliveryStart: "2030-01-01T10:00:00Z", lengthMinutes: 15, orders: [
    { clientOrderId: "a-1", traderId: "alice", side: SELL, orderType: LIMIT, quantityKWh: "10", limitPriceMinorPerMWh: "8500" },
    { clientOrderId: "b-1", traderId: "bob", side: BUY, orderType: LIMIT, quantityKWh: "4", limitPriceMinorPerMWh: "9000" }] }) {
    __typename
    ... on SubmitOrdersPayload { orders { orderId status filledKWh restingKWh } trades { quantityKWh priceMinorPerMWh amount { amount currency } } }
    ... on Error { code message }
  }
}
query OrderBook {
  orderBook(zone: "NL", deliveryStart: "2030-01-01T10:00:00Z", lengthMinutes: 15) {
    status gateClosureAt bestBid bestAsk
    depth { bids { priceMinorPerMWh quantityKWh orders } asks { priceMinorPerMWh quantityKWh orders } }
  }
  trades(zone: "NL", newestFirst: true, first: 5) { edges { node { buyerId sellerId quantityKWh priceMinorPerMWh executedAt } } }
  positions(traderId: "bob", from: "2030-01-01T00:00:00Z", to: "2030-01-02T00:00:00Z") { deliveryStart netKWh averagePriceMinorPerMWh }
}

query Streams {
  streams(first: 10) {
    totalCount
    edges { node { streamId version lastEventType
      events(first: 5) { edges { node { type globalPosition data metadata { actor recordedAt } hash } } } } }
  }
  projections { name state checkpoint lag }
}
`;

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
