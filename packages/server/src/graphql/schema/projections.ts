import { CodedError } from '@v2g/domain';
import { RebuildInProgress, UnknownProjection, type ProjectionFailure, type ProjectionState, type RebuildProgress, type RebuildState } from '@v2g/ledger';
import { projectionReports, type ProjectionReport } from '../../projection-report.ts';
import { builder } from '../builder.ts';
import { errorType } from './grid-errors.ts';
import { OPERATOR, PLATFORM_READERS } from '../access.ts';

/**
 * The projections that build the read models, how far behind the log they are, and their
 * blue/green rebuilds: an operator starts one with `rebuildProjection`; `projections` shows how far
 * it got, whichever process runs it (the server or `pnpm ledger projections rebuild`).
 */

// A Record over the runner's union: a state added there fails to compile here until it is named.
const STATE_NAMES: Record<ProjectionState, string> = {
  starting: 'STARTING',
  catching_up: 'CATCHING_UP',
  live: 'LIVE',
  failed: 'FAILED',
  stopped: 'STOPPED',
  needs_rebuild: 'NEEDS_REBUILD',
};

const ProjectionStateRef = builder.enumType('ProjectionState', {
  values: Object.fromEntries(Object.entries(STATE_NAMES).map(([value, name]) => [name, { value: value as ProjectionState }])),
});

const REBUILD_STATE_NAMES: Record<RebuildState, { name: string; description: string }> = {
  building: { name: 'BUILDING', description: 'Filling the next tables from the log while the live ones serve.' },
  switching: { name: 'SWITCHING', description: "Caught up; waiting for the live tables' locks to switch." },
  interrupted: { name: 'INTERRUPTED', description: 'Stopped before the switch (a crash, an abort); asking again resumes it from its checkpoint.' },
  failed: { name: 'FAILED', description: 'Stopped at an event its code cannot apply (see failure); asking again retries from there.' },
  switched: { name: 'SWITCHED', description: 'The rebuilt tables serve; the old ones are dropped.' },
  cancelled: { name: 'CANCELLED', description: 'Abandoned: it built a code version that is no longer running.' },
};

const RebuildStateRef = builder.enumType('RebuildState', {
  values: Object.fromEntries(Object.entries(REBUILD_STATE_NAMES).map(([value, { name, description }]) => [name, { value: value as RebuildState, description }])),
});

const ProjectionFailureRef = builder.objectRef<ProjectionFailure>('ProjectionFailure').implement({
  description: 'The event a projection stopped at, and why. It is retried when the process restarts.',
  fields: (t) => ({
    position: t.field({ type: 'Position', resolve: (f) => f.position }),
    streamId: t.exposeID('streamId'),
    streamVersion: t.exposeInt('streamVersion'),
    eventType: t.exposeString('eventType'),
    message: t.exposeString('message'),
    failedAt: t.field({ type: 'DateTime', resolve: (f) => f.failedAt }),
  }),
});

const ProjectionRebuildRef = builder.objectRef<RebuildProgress>('ProjectionRebuild').implement({
  description: 'A blue/green rebuild: the projection built into new tables while the live ones serve, then switched in one transaction.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'The projection.' }),
    version: t.exposeInt('version', { description: 'The code version it builds.' }),
    state: t.field({ type: RebuildStateRef, resolve: (r) => r.state }),
    done: t.field({ type: 'BigInt', description: 'Events (log positions) rebuilt so far.', resolve: (r) => r.done }),
    total: t.field({ type: 'BigInt', description: 'Events (log positions) to rebuild: up to the head of the log as last seen.', resolve: (r) => r.total }),
    position: t.field({ type: 'Position', description: "The rebuild's own checkpoint (after the switch: the live one it set).", resolve: (r) => r.position }),
    eventsPerSecond: t.exposeFloat('eventsPerSecond', { description: 'Of the current run (since it started or resumed).' }),
    etaSeconds: t.exposeFloat('etaSeconds', { nullable: true, description: 'Until caught up; null when unknown or over.' }),
    startedAt: t.field({ type: 'DateTime', resolve: (r) => r.startedAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updatedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.finishedAt }),
    resumedFrom: t.field({
      type: 'Position',
      nullable: true,
      description: 'Where this run took over an interrupted one; null when it started from the beginning.',
      resolve: (r) => r.resumedFrom,
    }),
    requestedBy: t.exposeString('requestedBy'),
    failure: t.field({ type: ProjectionFailureRef, nullable: true, resolve: (r) => r.failure }),
    error: t.exposeString('error', { nullable: true, description: 'The last problem that was not an event (e.g. the switch could not take its locks).' }),
  }),
});

const Projection = builder.objectRef<ProjectionReport>('Projection').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    version: t.exposeInt('version', { description: 'The code version.' }),
    state: t.field({ type: ProjectionStateRef, resolve: (p) => p.state }),
    checkpoint: t.field({ type: 'Position', description: 'The position of the last event applied.', resolve: (p) => p.checkpoint }),
    lag: t.field({ type: 'BigInt', description: 'Events (positions) between the checkpoint and the head of the log.', resolve: (p) => p.lag }),
    lagSeconds: t.exposeFloat('lagSeconds', { description: 'Seconds since the oldest event not applied yet was recorded; 0 when live.' }),
    tablesVersion: t.int({
      nullable: true,
      description: 'NEEDS_REBUILD: the version whose tables the database holds (its queries are refused until it is rebuilt).',
      resolve: (p) => p.tablesVersion ?? null,
    }),
    failure: t.field({ type: ProjectionFailureRef, nullable: true, resolve: (p) => p.failure }),
    rebuild: t.field({ type: ProjectionRebuildRef, nullable: true, description: 'The rebuild in progress, else the last one.', resolve: (p) => p.rebuild ?? null }),
  }),
});

builder.queryField('projections', (t) =>
  t.field({
    type: [Projection],
    authScopes: PLATFORM_READERS,
    resolve: async (_root, _args, { ledger }) => (await projectionReports(ledger)).projections,
  }),
);

builder.queryField('projectionStatus', (t) =>
  t.field({
    type: Projection,
    description: "One projection's status, lag and rebuild.",
    args: { name: t.arg.string({ required: true }) },
    authScopes: PLATFORM_READERS,
    resolve: async (_root, args, { ledger }) => {
      const { projections } = await projectionReports(ledger);
      const found = projections.find((p) => p.name === args.name);
      if (!found)
        throw new UnknownProjection(
          args.name,
          projections.map((p) => p.name),
        );
      return found;
    },
  }),
);

/** This deployment's ledger cannot rebuild (a test double without a runner). */
class RebuildUnavailable extends CodedError {
  readonly code = 'REBUILD_UNAVAILABLE';
  constructor() {
    super('this server cannot rebuild projections');
  }
}

errorType(UnknownProjection, 'UnknownProjectionError', 'No projection by that name.', {
  name: 'The name asked for.',
  known: 'The projections there are, comma-separated.',
});
errorType(RebuildInProgress, 'RebuildInProgressError', 'Another process runs a rebuild of this projection (its lease is held).', {
  name: 'The projection.',
  rebuildId: 'The rebuild running.',
  owner: 'Who holds it.',
  leaseUntil: 'Until when its lease holds, unless renewed.',
});

builder.mutationField('rebuildProjection', (t) =>
  t.field({
    type: ProjectionRebuildRef,
    description:
      'Rebuilds a projection blue/green in the server process: its live tables keep serving until the switch. Returns at once; ' +
      'progress in `projections`. An interrupted rebuild of the projection is resumed from its checkpoint; asking while it runs returns it.',
    args: { name: t.arg.string({ required: true }) },
    errors: { types: [UnknownProjection, RebuildInProgress], directResult: true, union: { name: 'RebuildProjectionResult' } },
    authScopes: OPERATOR,
    resolve: async (_root, args, { ledger, actor }) => {
      if (!ledger.projections.rebuild) throw new RebuildUnavailable();
      const { rebuild } = await ledger.projections.rebuild(args.name, { requestedBy: actor });
      return rebuild;
    },
  }),
);
