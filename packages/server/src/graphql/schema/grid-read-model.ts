import { checkSiteId } from '@v2g/domain';
import {
  countSessionsAtSite,
  findSession,
  GRID_SESSION_STATUSES,
  sessionsAtSite,
  setpointHistory,
  siteLoadHistory,
  type GridSession,
  type GridSessionStatus,
  type SetpointRecord,
  type SiteLoadPoint,
} from '@v2g/projection-grid';
import { builder } from '../builder.ts';
import { decodeCursor, encodeCursor, pageSize } from '../cursor.ts';
import { InvalidArgument } from '../errors.ts';
import { AllocationStatusRef } from './grid-site.ts';
import { connectionType } from './pagination.ts';
import { TierRef } from './sessions.ts';
import { PLATFORM_READERS, sessionReaders } from '../access.ts';

/**
 * The grid read model (projections/grid): sessions of a site over their whole life, the site's
 * EV load after each allocation, and every setpoint a session was given. Eventually consistent:
 * a mutation's `position` says when these include it.
 */

const GridSessionStatusRef = builder.enumType('GridSessionStatus', {
  description: 'The allocation status, unless the driver suspended or the session stopped.',
  values: Object.fromEntries(GRID_SESSION_STATUSES.map((s) => [s.toUpperCase(), { value: s }])) as Record<Uppercase<GridSessionStatus>, { value: GridSessionStatus }>,
});

const GridSessionRef = builder.objectRef<GridSession>('GridSession').implement({
  description: 'A session as the grid read model holds it, from plug-in to stop.',
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    siteId: t.exposeID('siteId'),
    connectorId: t.exposeID('connectorId', { nullable: true }),
    vehicleId: t.exposeID('vehicleId', { nullable: true }),
    customerId: t.exposeID('customerId', { nullable: true }),
    fleetId: t.exposeID('fleetId', { nullable: true }),
    tier: t.field({ type: TierRef, nullable: true, resolve: (s) => s.tier }),
    status: t.field({ type: GridSessionStatusRef, resolve: (s) => s.status }),
    setpointW: t.field({ type: 'Decimal', resolve: (s) => s.setpointW }),
    reason: t.exposeString('reason', { nullable: true }),
    since: t.field({ type: 'DateTime', resolve: (s) => s.since }),
    pluggedInAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.pluggedInAt }),
    departureAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.departureAt }),
    stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.stoppedAt }),
    stopReason: t.exposeString('stopReason', { nullable: true }),
    energyNeededWh: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.energyNeededWh }),
    targetSocPercent: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.targetSocPercent }),
    deliveredWh: t.field({ type: 'Decimal', description: 'Net energy by the latest reading (import minus export), Wh.', resolve: (s) => s.deliveredWh }),
    v2g: t.boolean({ description: 'The driver consented to V2G.', resolve: (s) => s.v2g !== null }),
    setpoints: t.field({
      type: [SetpointRecordRef],
      description: 'Every setpoint the site gave it, oldest first.',
      resolve: (s, _args, { ledger }) => setpointHistory(ledger.sql, ledger.gridTables, s.sessionId),
    }),
  }),
});

const SetpointRecordRef = builder.objectRef<SetpointRecord>('SetpointRecord').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (r) => r.at }),
    trigger: t.exposeString('trigger'),
    powerW: t.field({ type: 'Decimal', resolve: (r) => r.powerW }),
    status: t.field({ type: AllocationStatusRef, resolve: (r) => r.status }),
    reason: t.exposeString('reason', { nullable: true }),
  }),
});

const SiteLoadPointRef = builder.objectRef<SiteLoadPoint>('SiteLoadPoint').implement({
  description: 'The site\'s EV load once an allocation was in force.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (p) => p.at }),
    trigger: t.exposeString('trigger'),
    evImportW: t.field({ type: 'Decimal', description: 'Sum of the positive setpoints, W.', resolve: (p) => p.evImportW }),
    evExportW: t.field({ type: 'Decimal', description: 'Sum of the negative setpoints, as a positive figure, W.', resolve: (p) => p.evExportW }),
    sessionCount: t.exposeInt('sessionCount'),
  }),
});

const GridSessionConnection = connectionType('GridSession', GridSessionRef, 'A site\'s sessions in the order they became known.');

builder.queryFields((t) => ({
  gridSessions: t.field({
    type: GridSessionConnection,
    description: 'A site\'s sessions, current and past, from the grid read model.',
    args: {
      siteId: t.arg.id({ required: true }),
      status: t.arg({ type: GridSessionStatusRef }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    authScopes: PLATFORM_READERS,
    resolve: async (_root, args, { ledger }) => {
      const siteId = checkSiteId(String(args.siteId));
      const size = pageSize(args.first);
      const after = args.after == null ? null : decodeCursor('gridsession', args.after);
      const status = args.status ?? undefined;
      // The read model reads at least one row: with first = 0 that row only answers hasNextPage.
      const page = await sessionsAtSite(ledger.sql, ledger.gridTables, siteId, { status, first: Math.max(1, size), after: after?.toString() ?? null });
      const edges = page.sessions.slice(0, size).map((node) => ({ cursor: encodeCursor('gridsession', node.firstPosition), node }));
      return {
        edges,
        pageInfo: {
          hasNextPage: size === 0 ? page.sessions.length > 0 : page.hasNextPage,
          hasPreviousPage: args.after != null,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
        totalCount: () => countSessionsAtSite(ledger.sql, ledger.gridTables, siteId, status),
      };
    },
  }),
  gridSession: t.field({
    type: GridSessionRef,
    nullable: true,
    args: { sessionId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => sessionReaders(String(args.sessionId)),
    resolve: (_root, args, { ledger }) => findSession(ledger.sql, ledger.gridTables, String(args.sessionId)),
  }),
  siteLoadHistory: t.field({
    type: [SiteLoadPointRef],
    description: 'The site\'s EV load after each allocation in [from, to).',
    args: { siteId: t.arg.id({ required: true }), from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, { ledger }) => {
      if (Date.parse(args.to) <= Date.parse(args.from)) throw new InvalidArgument('to', 'must be after from');
      return siteLoadHistory(ledger.sql, ledger.gridTables, checkSiteId(String(args.siteId)), { from: args.from, to: args.to });
    },
  }),
}));
