const MINUTE_MS = 60_000;
const QUARTER_HOUR_MS = 15 * MINUTE_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** An instant as GraphQL's DateTime takes it, to the second: 2026-12-07T10:15:00Z. */
const iso = (epochMs: number): string => new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * What GraphiQL opens with: a first command and a look at what it recorded, then a site with a
 * session and a market zone with a trade. Every date is computed from the ledger's clock when the
 * page is served (`nowMs`), so each operation succeeds on the day it is tried: a departure 8 hours
 * ahead, a delivery period whose book is open now, a tariff from the first of this month.
 */
export function exampleOperations(nowMs: number): string {
  const departureAt = iso(Math.ceil((nowMs + 8 * HOUR_MS) / MINUTE_MS) * MINUTE_MS);
  const deliveryStartMs = Math.ceil((nowMs + HOUR_MS) / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  const deliveryStart = iso(deliveryStartMs);
  const dayStartMs = Math.floor(deliveryStartMs / DAY_MS) * DAY_MS;
  const dayStart = iso(dayStartMs);
  const dayEnd = iso(dayStartMs + DAY_MS);
  const today = new Date(nowMs);
  const monthStart = iso(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  return `# Register a site (resend with the same commandId: nothing new is written),
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
  assignTariff(input: { commandId: "try-t2", accountId: "driver-1", tariffId: "flat-30", validFrom: "${monthStart}" }) {
    __typename ... on Error { code message }
  }
}
mutation PlugIn {
  plugIn(input: { commandId: "try-5", sessionId: "s-1", siteId: "depot-1", connectorId: "cp1-1", vehicleId: "ev-1",
    customerId: "driver-1", tier: NORMAL, departureAt: "${departureAt}", energyNeededWh: "30000",
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
# deliveryStart: the first quarter hour starting at least an hour from now
# (the book opens 24 h before delivery and closes 5 minutes before it), so the
# book is open whenever this page was loaded.
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
  submitOrders(input: { commandId: "try-m4", zone: "NL", deliveryStart: "${deliveryStart}", lengthMinutes: 15, orders: [
    { clientOrderId: "a-1", traderId: "alice", side: SELL, orderType: LIMIT, quantityKWh: "10", limitPriceMinorPerMWh: "8500" },
    { clientOrderId: "b-1", traderId: "bob", side: BUY, orderType: LIMIT, quantityKWh: "4", limitPriceMinorPerMWh: "9000" }] }) {
    __typename
    ... on SubmitOrdersPayload { orders { orderId status filledKWh restingKWh } trades { quantityKWh priceMinorPerMWh amount { amount currency } } }
    ... on Error { code message }
  }
}
query OrderBook {
  orderBook(zone: "NL", deliveryStart: "${deliveryStart}", lengthMinutes: 15) {
    status gateClosureAt bestBid bestAsk
    depth { bids { priceMinorPerMWh quantityKWh orders } asks { priceMinorPerMWh quantityKWh orders } }
  }
  trades(zone: "NL", newestFirst: true, first: 5) { edges { node { buyerId sellerId quantityKWh priceMinorPerMWh executedAt } } }
  positions(traderId: "bob", from: "${dayStart}", to: "${dayEnd}") { deliveryStart contractedKWh tradeAmount { amountMinor } averagePriceMinorPerMWh }
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
}
