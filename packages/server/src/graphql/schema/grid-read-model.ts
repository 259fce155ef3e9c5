import { checkSiteId } from '@v2g/domain';
import { GRID_SESSION_STATUSES } from '@v2g/ledger';
import type { GridSession, GridSessionStatus, SessionFilter, SessionKey, SetpointRecord, SiteLoadPoint } from '@v2g/projection-grid';
import { builder } from '../builder.ts';
import { positionTextCursor } from '../cursor.ts';
import type { GraphQLContext } from '../context.ts';
import { InvalidArgument } from '../errors.ts';
import { AllocationStatusRef } from './grid-site.ts';
import { connectionArgs, connectionOf, connectionType, type ConnectionArgs } from './pagination.ts';
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
    firstPosition: t.field({ type: 'Position', description: 'The event that made the session known: lists of sessions are in this order.', resolve: (s) => s.firstPosition }),
    energyNeededWh: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.energyNeededWh }),
    targetSocPercent: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.targetSocPercent }),
    deliveredWh: t.field({ type: 'Decimal', description: 'Net energy by the latest reading (import minus export), Wh.', resolve: (s) => s.deliveredWh }),
    v2g: t.boolean({ description: 'The driver consented to V2G.', resolve: (s) => s.v2g !== null }),
    setpoints: t.field({
      type: [SetpointRecordRef],
      description: 'Every setpoint the site gave it, oldest first.',
      resolve: (s, _args, { ledger }) => ledger.grid.readModel.setpointHistory(s.sessionId),
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
  description: "The site's EV load once an allocation was in force.",
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (p) => p.at }),
    trigger: t.exposeString('trigger'),
    evImportW: t.field({ type: 'Decimal', description: 'Sum of the positive setpoints, W.', resolve: (p) => p.evImportW }),
    evExportW: t.field({ type: 'Decimal', description: 'Sum of the negative setpoints, as a positive figure, W.', resolve: (p) => p.evExportW }),
    sessionCount: t.exposeInt('sessionCount'),
  }),
});

/** Sessions are listed by the position they became known at; their id breaks a tie. */
const SESSION_CURSOR = positionTextCursor<SessionKey>(
  'gridsession',
  (k) => [k.firstPosition, k.sessionId],
  (firstPosition, sessionId) => ({ firstPosition, sessionId }),
);

function sessionConnection(ledger: GraphQLContext['ledger'], filter: SessionFilter, args: ConnectionArgs) {
  return connectionOf(args, {
    cursor: SESSION_CURSOR,
    keyOf: (s: GridSession) => ({ firstPosition: s.firstPosition, sessionId: s.sessionId }),
    fetch: async ({ after, before, backward, limit }) => (await ledger.grid.readModel.listSessions(filter, { first: limit, after, before, backward })).sessions,
    count: () => ledger.grid.readModel.countSessions(filter),
  });
}

const GridSessionConnection = connectionType('GridSession', GridSessionRef, "A site's sessions in the order they became known.");

builder.queryFields((t) => ({
  gridSessions: t.field({
    type: GridSessionConnection,
    description: "A site's sessions, current and past, from the grid read model.",
    args: {
      siteId: t.arg.id({ required: true }),
      status: t.arg({ type: GridSessionStatusRef }),
      ...connectionArgs,
    },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, { ledger }) => sessionConnection(ledger, { siteId: checkSiteId(String(args.siteId)), status: args.status ?? null }, args),
  }),
  sessions: t.field({
    type: GridSessionConnection,
    description:
      "Sessions across every site, current and past, in the order they became known, from the grid read model; optionally one site's, one status, one customer's or one fleet's. A fleet manager lists its fleet's (fleetId), a driver its own (customerId).",
    args: {
      siteId: t.arg.id(),
      status: t.arg({ type: GridSessionStatusRef }),
      customerId: t.arg.id(),
      fleetId: t.arg.id(),
      ...connectionArgs,
    },
    authScopes: (_root, args) => ({
      ...PLATFORM_READERS,
      ...(args.fleetId == null ? {} : { fleetIs: String(args.fleetId) }),
      ...(args.customerId == null ? {} : { customerIs: String(args.customerId) }),
    }),
    resolve: (_root, args, { ledger }) =>
      sessionConnection(
        ledger,
        {
          siteId: args.siteId == null ? null : checkSiteId(String(args.siteId)),
          status: args.status ?? null,
          customerId: args.customerId == null ? null : String(args.customerId),
          fleetId: args.fleetId == null ? null : String(args.fleetId),
        },
        args,
      ),
  }),
  gridSession: t.field({
    type: GridSessionRef,
    nullable: true,
    args: { sessionId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => sessionReaders(String(args.sessionId)),
    resolve: (_root, args, { ledger }) => ledger.grid.readModel.findSession(String(args.sessionId)),
  }),
  siteLoadHistory: t.field({
    type: [SiteLoadPointRef],
    description: "The site's EV load after each allocation in [from, to).",
    args: { siteId: t.arg.id({ required: true }), from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, { ledger }) => {
      if (Date.parse(args.to) <= Date.parse(args.from)) throw new InvalidArgument('to', 'must be after from');
      return ledger.grid.readModel.siteLoadHistory(checkSiteId(String(args.siteId)), { from: args.from, to: args.to });
    },
  }),
}));
