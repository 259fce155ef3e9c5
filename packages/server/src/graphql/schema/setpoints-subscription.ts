import { checkSiteId, type SetpointChange } from '@v2g/domain';
import type { SetpointsChanged as SetpointsChangedShape } from '@v2g/ledger';
import { builder } from '../builder.ts';
import { AllocationStatusRef } from './grid-site.ts';
import { PLATFORM_READERS } from '../access.ts';

/**
 * Live setpoints: every SetpointsAssigned of a site (an allocation or a curtailment), read from
 * the event log, so a subscriber sees exactly what was recorded and in log order, whichever
 * process recorded it. Served over server-sent events (graphql-yoga's default transport).
 */

const SetpointChangeRef = builder.objectRef<SetpointChange>('SetpointChange').implement({
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    powerW: t.field({ type: 'Decimal', description: 'Positive charges, negative discharges.', resolve: (c) => c.powerW }),
    status: t.field({ type: AllocationStatusRef, resolve: (c) => c.status }),
    reason: t.string({ nullable: true, resolve: (c) => c.reason }),
  }),
});

const SetpointsChanged = builder.objectRef<SetpointsChangedShape>('SetpointsChanged').implement({
  description: 'The sessions whose setpoint, status or reason changed in one recorded allocation.',
  fields: (t) => ({
    siteId: t.exposeID('siteId'),
    at: t.field({ type: 'DateTime', description: 'The instant the allocation is for.', resolve: (s) => s.at }),
    trigger: t.exposeString('trigger', { description: 'What caused it: plug_in, stop, schedule, curtailment, a command type, …' }),
    position: t.field({ type: 'Position', resolve: (s) => s.position }),
    setpoints: t.field({ type: [SetpointChangeRef], resolve: (s) => s.setpoints }),
  }),
});

builder.subscriptionField('setpointsChanged', (t) =>
  t.field({
    type: SetpointsChanged,
    description: 'Setpoint changes of a site, from now on (or from just after `after`, to resume without a gap).',
    args: {
      siteId: t.arg.id({ required: true }),
      after: t.arg({ type: 'Position', description: 'Resume after this log position; default: the head now.' }),
    },
    authScopes: PLATFORM_READERS,
    subscribe: (_root, args, ctx) => ctx.ledger.grid.setpointChanges(checkSiteId(String(args.siteId)), args.after ?? null),
    resolve: (change) => change,
  }),
);
