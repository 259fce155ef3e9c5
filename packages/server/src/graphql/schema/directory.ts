import { checkSiteId, type MeterMeasures, type ProductTemplate, type TariffDefinition } from '@v2g/domain';
import { type AccountListing, type TariffListing } from '@v2g/projection-billing';
import { type GridMeterSummary, type GridSiteSummary } from '@v2g/projection-grid';
import { type MarketZoneSummary } from '@v2g/projection-market';
import { builder } from '../builder.ts';
import { textCursor } from '../cursor.ts';
import { TariffRef } from './billing.ts';
import { MarketZoneRef, type ZoneView } from './market.ts';
import { Meter, MeterMeasuresRef, loadMeterView } from './metering.ts';
import { connectionArgs, connectionOf, connectionType } from './pagination.ts';
import { Site, loadSite } from './site.ts';
import { EVERY_ROLE, MARKET_READERS, PLATFORM_READERS } from '../access.ts';

/**
 * The lists of what the ledger knows: sites, tariffs, market zones, meters and accounts, each a
 * Relay connection served from a read model (projections/*) and paged by id. A node's full
 * current state (`site`, `meter`) is read from its stream only when asked for.
 */

const keyset = (window: { after: string | null; before: string | null; backward: boolean; limit: number }) => ({
  first: window.limit,
  after: window.after,
  before: window.before,
  backward: window.backward,
});

// ---- sites ------------------------------------------------------------------------------------------

const SiteSummaryRef = builder.objectRef<GridSiteSummary>('SiteSummary').implement({
  description: 'A site as the grid read model lists it.',
  fields: (t) => ({
    siteId: t.exposeID('siteId'),
    name: t.exposeString('name'),
    importLimitW: t.field({ type: 'Decimal', description: 'Most power the connection may draw, W.', resolve: (s) => s.importLimitW }),
    exportLimitW: t.field({ type: 'Decimal', description: 'Most power the connection may feed back, W.', resolve: (s) => s.exportLimitW }),
    registeredPosition: t.field({ type: 'Position', description: 'The event that registered it.', resolve: (s) => s.registeredPosition }),
    site: t.field({ type: Site, nullable: true, description: 'Its full current state, read from its stream.', resolve: (s, _args, ctx) => loadSite(ctx, s.siteId) }),
  }),
});
const SiteConnection = connectionType('SiteSummary', SiteSummaryRef, 'Sites by id.');
const SITE_CURSOR = textCursor('site');

// ---- tariffs ----------------------------------------------------------------------------------------

const TariffConnection = connectionType('Tariff', TariffRef, 'Tariffs by id.');
const TARIFF_CURSOR = textCursor('tariff');

// ---- market zones -----------------------------------------------------------------------------------

const MarketZoneConnection = connectionType('MarketZone', MarketZoneRef, 'Market zones by id.');
const ZONE_CURSOR = textCursor('marketzone');
const zoneViewOf = (z: MarketZoneSummary): ZoneView => ({
  zone: z.zone,
  currency: z.currency,
  imbalancePriceZone: z.imbalancePriceZone,
  // The read model keeps the products exactly as the zone's event recorded them.
  products: z.products as ProductTemplate[],
  version: null,
});

// ---- meters -----------------------------------------------------------------------------------------

const MeterSummaryRef = builder.objectRef<GridMeterSummary>('MeterSummary').implement({
  description: 'A site or node meter as the grid read model lists it.',
  fields: (t) => ({
    meterId: t.exposeID('meterId'),
    siteId: t.exposeID('siteId'),
    nodeId: t.exposeID('nodeId'),
    measures: t.field({ type: MeterMeasuresRef, resolve: (m) => m.measures as MeterMeasures }),
    registeredAt: t.field({ type: 'DateTime', resolve: (m) => m.registeredAt }),
    registeredPosition: t.field({ type: 'Position', resolve: (m) => m.registeredPosition }),
    meter: t.field({ type: Meter, nullable: true, description: 'Its readings and segments, read from its stream.', resolve: (m, _args, ctx) => loadMeterView(ctx, m.meterId) }),
  }),
});
const MeterConnection = connectionType('MeterSummary', MeterSummaryRef, 'Meters by id.');
const METER_CURSOR = textCursor('meter');

// ---- accounts ---------------------------------------------------------------------------------------

const AccountRef = builder.objectRef<AccountListing>('Account').implement({
  description: 'A customer or a fleet the billing read model knows: assigned a tariff, or billed for a session.',
  fields: (t) => ({
    accountId: t.exposeID('accountId'),
    tariffIds: t.exposeIDList('tariffIds', { description: 'The tariffs it was ever assigned, by id (tariffAssignments(accountId) gives the periods).' }),
    sessionCount: t.field({ type: 'BigInt', description: 'Sessions billed to it.', resolve: (a) => a.sessionCount }),
  }),
});
const AccountConnection = connectionType('Account', AccountRef, 'Accounts by id.');
const ACCOUNT_CURSOR = textCursor('account');

builder.queryFields((t) => ({
  sites: t.field({
    type: SiteConnection,
    description: 'Every registered site, by id, from the grid read model.',
    args: { nameContains: t.arg.string({ description: 'Only sites whose name contains this (case-insensitive).' }), ...connectionArgs },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, { ledger }) => {
      const filter = { nameContains: args.nameContains ?? null };
      return connectionOf(args, {
        cursor: SITE_CURSOR,
        keyOf: (s: GridSiteSummary) => s.siteId,
        fetch: (window) => ledger.grid.readModel.listSites(filter, keyset(window)),
        count: () => ledger.grid.readModel.countSites(filter),
      });
    },
  }),
  tariffs: t.field({
    type: TariffConnection,
    description: 'Every defined tariff, by id, from the billing read model.',
    args: { currency: t.arg.string({ description: 'Only tariffs in this currency.' }), ...connectionArgs },
    authScopes: EVERY_ROLE,
    resolve: (_root, args, { ledger }) => {
      const filter = { currency: args.currency ?? null };
      return connectionOf(args, {
        cursor: TARIFF_CURSOR,
        keyOf: (tariff: TariffDefinition) => tariff.tariffId,
        fetch: async (window) => (await ledger.billing.readModel.listTariffs(filter, keyset(window))).map((l: TariffListing) => l.tariff),
        count: () => ledger.billing.readModel.countTariffs(filter),
      });
    },
  }),
  marketZones: t.field({
    type: MarketZoneConnection,
    description: 'Every configured market zone, by id, from the market read model.',
    args: { currency: t.arg.string({ description: 'Only zones trading in this currency.' }), ...connectionArgs },
    authScopes: MARKET_READERS,
    resolve: (_root, args, { ledger }) => {
      const filter = { currency: args.currency ?? null };
      return connectionOf(args, {
        cursor: ZONE_CURSOR,
        keyOf: (z: ZoneView) => z.zone,
        fetch: async (window) => (await ledger.market.readModel.listZones(filter, keyset(window))).map(zoneViewOf),
        count: () => ledger.market.readModel.countZones(filter),
      });
    },
  }),
  meters: t.field({
    type: MeterConnection,
    description: "Every registered site and node meter, by id, from the grid read model; optionally one site's (and one node's).",
    args: { siteId: t.arg.id(), nodeId: t.arg.id({ description: 'With siteId: only the meters at this node.' }), ...connectionArgs },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, { ledger }) => {
      const filter = { siteId: args.siteId == null ? null : checkSiteId(String(args.siteId)), nodeId: args.nodeId == null ? null : String(args.nodeId) };
      return connectionOf(args, {
        cursor: METER_CURSOR,
        keyOf: (m: GridMeterSummary) => m.meterId,
        fetch: (window) => ledger.grid.readModel.listMeters(filter, keyset(window)),
        count: () => ledger.grid.readModel.countMeters(filter),
      });
    },
  }),
  accounts: t.field({
    type: AccountConnection,
    description: 'Every account (customer or fleet) the billing read model knows, by id.',
    args: { tariffId: t.arg.id({ description: 'Only accounts ever assigned this tariff.' }), ...connectionArgs },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, { ledger }) => {
      const filter = { tariffId: args.tariffId == null ? null : String(args.tariffId) };
      return connectionOf(args, {
        cursor: ACCOUNT_CURSOR,
        keyOf: (a: AccountListing) => a.accountId,
        fetch: (window) => ledger.billing.readModel.listAccounts(filter, keyset(window)),
        count: () => ledger.billing.readModel.countAccounts(filter),
      });
    },
  }),
}));
