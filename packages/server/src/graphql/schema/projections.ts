import type { ProjectionFailure, ProjectionState } from '@v2g/ledger';
import { projectionReports, type ProjectionReport } from '../../projection-report.ts';
import { builder } from '../builder.ts';

/** The projections that build the read models, and how far behind the log they are. */

// A Record over the runner's union: a state added there fails to compile here until it is named.
const STATE_NAMES: Record<ProjectionState, string> = {
  starting: 'STARTING',
  catching_up: 'CATCHING_UP',
  live: 'LIVE',
  failed: 'FAILED',
  stopped: 'STOPPED',
};

const ProjectionStateRef = builder.enumType('ProjectionState', {
  values: Object.fromEntries(Object.entries(STATE_NAMES).map(([value, name]) => [name, { value: value as ProjectionState }])),
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

const Projection = builder.objectRef<ProjectionReport>('Projection').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    version: t.exposeInt('version'),
    state: t.field({ type: ProjectionStateRef, resolve: (p) => p.state }),
    checkpoint: t.field({ type: 'Position', description: 'The position of the last event applied.', resolve: (p) => p.checkpoint }),
    lag: t.field({ type: 'BigInt', description: 'Positions between the checkpoint and the head of the log.', resolve: (p) => p.lag }),
    failure: t.field({ type: ProjectionFailureRef, nullable: true, resolve: (p) => p.failure }),
  }),
});

builder.queryField('projections', (t) =>
  t.field({
    type: [Projection],
    resolve: async (_root, _args, { ledger }) => (await projectionReports(ledger)).projections,
  }),
);
