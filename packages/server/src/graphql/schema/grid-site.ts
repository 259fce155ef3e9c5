import {
  Decimal,
  effectiveLimits,
  parseInstant,
  ruleInForce,
  SITE_REFUSALS,
  type ChargerSpec,
  type CongestionRule,
  type DischargeRequest,
  type NodeKind,
  type Occupancy,
  type RegisteredSite,
  type SiteCommand,
  type SiteNode,
} from '@v2g/domain';
import { builder, type BuilderTypes } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { ALLOCATION_ERRORS, siteCommandErrors } from './grid-errors.ts';
import { loadSite, Site, type SiteView } from './site.ts';
import { OPERATOR, PLATFORM_WRITERS } from '../access.ts';
import { commandContext } from '../command-context.ts';
import { recorded, recordedFields, type Recorded } from './command-payload.ts';

/**
 * The site's electrical tree and everything that limits it in time, read live from the site
 * aggregate (the same state the allocation decides on), and the commands that change it. Every
 * command is followed by an allocation when it can change what sessions may draw.
 */

const NodeKindRef = builder.enumType('NodeKind', {
  values: {
    SITE: { value: 'site', description: 'The grid connection itself (the root).' },
    FEEDER: { value: 'feeder' },
    CIRCUIT: { value: 'circuit' },
    CHARGER: { value: 'charger' },
    CONNECTOR: { value: 'connector' },
  } as const,
});

export const AllocationStatusRef = builder.enumType('AllocationStatus', {
  values: {
    PENDING: { value: 'pending', description: 'Plugged in, not allocated yet.' },
    CHARGING: { value: 'charging' },
    DISCHARGING: { value: 'discharging' },
    ON_HOLD: { value: 'on_hold', description: 'Setpoint 0 for now: see the reason.' },
    DONE: { value: 'done', description: 'Its energy need is met.' },
  } as const,
});

const ChargerSpecRef = builder.objectRef<ChargerSpec>('ChargerSpec').implement({
  fields: (t) => ({
    minPowerW: t.field({ type: 'Decimal', resolve: (c) => c.minPowerW }),
    maxPowerW: t.field({ type: 'Decimal', resolve: (c) => c.maxPowerW }),
    bidirectional: t.exposeBoolean('bidirectional'),
    minDischargePowerW: t.field({ type: 'Decimal', nullable: true, resolve: (c) => c.minDischargePowerW }),
    maxDischargePowerW: t.field({ type: 'Decimal', nullable: true, resolve: (c) => c.maxDischargePowerW }),
  }),
});

type LiveNode = { node: SiteNode; site: RegisteredSite; at: number; limits: ReturnType<typeof effectiveLimits>; flows: Map<string, Decimal> };

const MeasuredLoad = builder.objectRef<{ occurredAt: string; otherLoadW: string; generationW: string }>('MeasuredLoad').implement({
  description: 'The latest measured non-EV load and local generation at a node.',
  fields: (t) => ({
    occurredAt: t.field({ type: 'DateTime', resolve: (l) => l.occurredAt }),
    otherLoadW: t.field({ type: 'Decimal', resolve: (l) => l.otherLoadW }),
    generationW: t.field({ type: 'Decimal', resolve: (l) => l.generationW }),
  }),
});

const GridNode = builder.objectRef<LiveNode>('GridNode').implement({
  description: 'A node of the electrical tree with the figures in force at the instant asked for.',
  fields: (t) => ({
    nodeId: t.id({ resolve: ({ node }) => node.nodeId }),
    parentId: t.id({ nullable: true, resolve: ({ node }) => node.parentId }),
    kind: t.field({ type: NodeKindRef, resolve: ({ node }) => node.kind }),
    name: t.string({ resolve: ({ node }) => node.name }),
    childIds: t.idList({ resolve: ({ node }) => node.children }),
    importLimitW: t.field({ type: 'Decimal', description: 'Static import limit, W.', resolve: ({ node }) => node.importLimitW }),
    exportLimitW: t.field({ type: 'Decimal', description: 'Static export limit, W.', resolve: ({ node }) => node.exportLimitW }),
    effectiveImportLimitW: t.field({
      type: 'Decimal',
      description: 'What EVs below may draw now: the least of the static limit, the headroom left by measured load and every rule in force.',
      resolve: (n) => limitOf(n).importW,
    }),
    effectiveExportLimitW: t.field({ type: 'Decimal', resolve: (n) => limitOf(n).exportW }),
    importBoundBy: t.string({ description: '"static", "headroom" or "rule:<ruleId>".', resolve: (n) => limitOf(n).importBoundBy }),
    exportBoundBy: t.string({ resolve: (n) => limitOf(n).exportBoundBy }),
    flowW: t.field({
      type: 'Decimal',
      description: 'Net EV power through the node under the setpoints in force (negative: feeding back), W.',
      resolve: (n) => flowOf(n).toFixed(),
    }),
    importHeadroomW: t.field({ type: 'Decimal', description: 'effectiveImportLimitW - flowW.', resolve: (n) => new Decimal(limitOf(n).importW).minus(flowOf(n)).toFixed() }),
    exportHeadroomW: t.field({ type: 'Decimal', description: 'effectiveExportLimitW + flowW.', resolve: (n) => new Decimal(limitOf(n).exportW).plus(flowOf(n)).toFixed() }),
    measuredLoad: t.field({ type: MeasuredLoad, nullable: true, resolve: ({ node, site }) => site.loads.get(node.nodeId) ?? null }),
    charger: t.field({ type: ChargerSpecRef, nullable: true, resolve: ({ node }) => node.charger }),
    session: t.field({
      type: SiteSession,
      nullable: true,
      description: 'For a connector: the session plugged in there.',
      resolve: ({ node, site }) => {
        const sessionId = site.connectors.get(node.nodeId);
        return sessionId === undefined ? null : (site.sessions.get(sessionId) ?? null);
      },
    }),
  }),
});

function limitOf({ node, limits }: LiveNode) {
  const limit = limits.get(node.nodeId);
  if (!limit) throw new Error(`no effective limit for ${node.nodeId}`);
  return limit;
}

const flowOf = ({ node, flows }: LiveNode) => flows.get(node.nodeId) ?? new Decimal(0);

export const SiteSession = builder.objectRef<Occupancy>('SiteSession').implement({
  description: 'A session as the site sees it: its connector, its bounds, what the last allocation gave it and why.',
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    connectorId: t.exposeID('connectorId'),
    occupiedAt: t.field({ type: 'DateTime', resolve: (o) => o.occupiedAt }),
    minPowerW: t.field({ type: 'Decimal', description: 'Vehicle and charger bounds intersected.', resolve: (o) => o.minPowerW }),
    maxPowerW: t.field({ type: 'Decimal', resolve: (o) => o.maxPowerW }),
    maxDischargePowerW: t.field({ type: 'Decimal', nullable: true, resolve: (o) => o.maxDischargePowerW }),
    setpointW: t.field({ type: 'Decimal', description: 'Positive charges, negative discharges.', resolve: (o) => o.setpointW }),
    status: t.field({ type: AllocationStatusRef, resolve: (o) => o.status }),
    reason: t.string({
      nullable: true,
      description: 'Why it has less than its maximum: "capacity:<node>", "rotation", "discharge:<source>", "curtailed:<node>", "energy_delivered", …',
      resolve: (o) => o.reason,
    }),
    since: t.field({ type: 'DateTime', description: "When the current status began (a turn's start while powered; waiting since, otherwise).", resolve: (o) => o.since }),
  }),
});

const RuleWindowRef = builder.objectRef<CongestionRule['window']>('RuleWindow').implement({
  fields: (t) => ({
    start: t.field({ type: 'DateTime', resolve: (w) => w.start }),
    end: t.field({ type: 'DateTime', nullable: true, resolve: (w) => w.end }),
    daysOfWeek: t.intList({ nullable: true, description: 'ISO days, 1 = Monday; null: every day.', resolve: (w) => w.daysOfWeek }),
    dailyFrom: t.string({ nullable: true, description: '"HH:MM" UTC.', resolve: (w) => w.dailyFrom }),
    dailyTo: t.string({ nullable: true, description: '"HH:MM" UTC; at or before dailyFrom, the window wraps midnight.', resolve: (w) => w.dailyTo }),
  }),
});

const CongestionRuleRef = builder.objectRef<{ rule: CongestionRule; at: number }>('CongestionRule').implement({
  fields: (t) => ({
    ruleId: t.id({ resolve: ({ rule }) => rule.ruleId }),
    priority: t.int({ resolve: ({ rule }) => rule.priority }),
    nodeId: t.id({
      nullable: true,
      description: "The node it caps; null for an area rule (it caps the site's connection).",
      resolve: ({ rule }) => (rule.scope.kind === 'node' ? rule.scope.nodeId : null),
    }),
    areaId: t.id({ nullable: true, resolve: ({ rule }) => (rule.scope.kind === 'area' ? rule.scope.areaId : null) }),
    window: t.field({ type: RuleWindowRef, resolve: ({ rule }) => rule.window }),
    importCapW: t.field({ type: 'Decimal', nullable: true, resolve: ({ rule }) => rule.importCapW }),
    exportCapW: t.field({ type: 'Decimal', nullable: true, resolve: ({ rule }) => rule.exportCapW }),
    reason: t.string({ nullable: true, resolve: ({ rule }) => rule.reason }),
    source: t.string({ nullable: true, resolve: ({ rule }) => rule.source }),
    inForce: t.boolean({ description: 'In force at the instant the site was read for.', resolve: ({ rule, at }) => ruleInForce(rule.window, at) }),
  }),
});

const DischargeRequestRef = builder.objectRef<{ request: DischargeRequest; at: number }>('DischargeRequest').implement({
  fields: (t) => ({
    requestId: t.id({ resolve: ({ request }) => request.requestId }),
    nodeId: t.id({ resolve: ({ request }) => request.nodeId }),
    start: t.field({ type: 'DateTime', resolve: ({ request }) => request.start }),
    end: t.field({ type: 'DateTime', resolve: ({ request }) => request.end }),
    powerW: t.field({ type: 'Decimal', description: 'Power the EVs below the node should feed back, W.', resolve: ({ request }) => request.powerW }),
    source: t.string({ nullable: true, resolve: ({ request }) => request.source }),
    active: t.boolean({
      resolve: ({ request, at }) => parseInstant('start', request.start) <= at && at < parseInstant('end', request.end),
    }),
  }),
});

/** The instant a site is read for: the `at` argument, or now. */
function instant(ctx: GraphQLContext, at: string | null | undefined): number {
  return at == null ? ctx.ledger.grid.service.now() : parseInstant('at', at);
}

function liveNodes(site: RegisteredSite, at: number): LiveNode[] {
  const limits = effectiveLimits(site, at);
  const flows = new Map<string, Decimal>();
  for (const occupancy of site.sessions.values()) {
    for (let id: string | null = occupancy.connectorId; id !== null; id = site.nodes.get(id)?.parentId ?? null) {
      flows.set(id, (flows.get(id) ?? new Decimal(0)).plus(occupancy.setpointW));
    }
  }
  // Parents before children: the order a tree is drawn in.
  const ordered: SiteNode[] = [];
  const visit = (nodeId: string) => {
    const node = site.nodes.get(nodeId);
    if (!node) return;
    ordered.push(node);
    for (const child of node.children) visit(child);
  };
  visit(site.siteId);
  return ordered.map((node) => ({ node, site, at, limits, flows }));
}

builder.objectFields(Site, (t) => ({
  rotationIntervalS: t.int({ description: 'How long a turn lasts while others wait, s.', resolve: (s) => s.state.rotationIntervalS }),
  promoteAfterS: t.int({ description: 'A session waiting this long is served one tier higher (up to high), s.', resolve: (s) => s.state.promoteAfterS }),
  dischargePriceThresholdMinorPerKWh: t.field({
    type: 'Decimal',
    nullable: true,
    description: 'At or above this price, consenting sessions discharge.',
    resolve: (s) => s.state.dischargePriceThresholdMinorPerKWh,
  }),
  priceZone: t.id({ nullable: true, description: 'Where the price compared with the discharge threshold comes from.', resolve: (s) => s.state.priceZone }),
  lastAllocationAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.state.lastAllocationAt }),
  nodes: t.field({
    type: [GridNode],
    description: 'The whole tree, parents before children, with the limits in force `at` (default: now) and the flows under the setpoints in force.',
    args: { at: t.arg({ type: 'DateTime' }) },
    resolve: (s, args, ctx) => liveNodes(s.state, instant(ctx, args.at)),
  }),
  node: t.field({
    type: GridNode,
    nullable: true,
    args: { nodeId: t.arg.id({ required: true }), at: t.arg({ type: 'DateTime' }) },
    resolve: (s, args, ctx) => liveNodes(s.state, instant(ctx, args.at)).find((n) => n.node.nodeId === String(args.nodeId)) ?? null,
  }),
  sessions: t.field({
    type: [SiteSession],
    description: 'Every session plugged in at the site, by session id.',
    resolve: (s) => [...s.state.sessions.values()].sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1)),
  }),
  rules: t.field({
    type: [CongestionRuleRef],
    args: { at: t.arg({ type: 'DateTime' }) },
    resolve: (s, args, ctx) => {
      const at = instant(ctx, args.at);
      return [...s.state.rules.values()].map((rule) => ({ rule, at }));
    },
  }),
  dischargeRequests: t.field({
    type: [DischargeRequestRef],
    args: { at: t.arg({ type: 'DateTime' }) },
    resolve: (s, args, ctx) => {
      const at = instant(ctx, args.at);
      return [...s.state.dischargeRequests.values()].map((request) => ({ request, at }));
    },
  }),
}));

// ---- commands -----------------------------------------------------------------------------------

type SiteCommandPayloadShape = Recorded & { site: SiteView | null };

const SiteCommandPayload = builder.objectRef<SiteCommandPayloadShape>('SiteCommandPayload').implement({
  description: 'A site command recorded (or found already recorded under its commandId), and the site after it and after the allocation it caused.',
  fields: (t) => ({
    ...recordedFields(t, { duplicate: 'True when this commandId was already recorded: nothing new was written.' }),
    site: t.field({ type: Site, nullable: true, resolve: (p) => p.site }),
  }),
});

type Input = Record<string, unknown> & { commandId: string | number; siteId: string | number };

/** A site command as the resolvers build it: its time is the ledger's (the grid service sets it). */
type SiteCommandInput = Parameters<GraphQLContext['ledger']['grid']['service']['site']>[0];

async function runSiteCommand(ctx: GraphQLContext, input: Input, command: SiteCommandInput): Promise<SiteCommandPayloadShape> {
  const commandId = String(input.commandId);
  const { result } = await ctx.ledger.grid.service.site(command, commandContext(ctx, commandId));
  return { ...recorded(ctx, commandId, command.type, result), site: await loadSite(ctx, String(input.siteId)) };
}

const base = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  commandId: t.id({ required: true, description: 'Chosen by the client, unique per command: resending it is safe.' }),
  siteId: t.id({ required: true }),
});

const ChargerSpecInput = builder.inputType('ChargerSpecInput', {
  fields: (t) => ({
    minPowerW: t.field({ type: 'Decimal', required: true }),
    maxPowerW: t.field({ type: 'Decimal', required: true }),
    bidirectional: t.boolean({ required: true }),
    minDischargePowerW: t.field({ type: 'Decimal', description: 'Required when bidirectional.' }),
    maxDischargePowerW: t.field({ type: 'Decimal', description: 'Required when bidirectional.' }),
  }),
});

const toChargerSpec = (c: {
  minPowerW: string;
  maxPowerW: string;
  bidirectional: boolean;
  minDischargePowerW?: string | null;
  maxDischargePowerW?: string | null;
}): ChargerSpec => ({
  minPowerW: c.minPowerW,
  maxPowerW: c.maxPowerW,
  bidirectional: c.bidirectional,
  minDischargePowerW: c.minDischargePowerW ?? null,
  maxDischargePowerW: c.maxDischargePowerW ?? null,
});

const ConfigureSiteInput = builder.inputType('ConfigureSiteInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    siteId: t.id({ required: true }),
    rotationIntervalS: t.int({ required: true, description: "A turn's length while others wait, 60..86400 s (default 900)." }),
    promoteAfterS: t.int({ required: true, description: 'Waiting this long lifts a session one tier, up to high (default 3600).' }),
    dischargePriceThresholdMinorPerKWh: t.field({ type: 'Decimal', description: 'Discharge consenting sessions at or above this price; null: never for price.' }),
    priceZone: t.id({ description: 'The price zone (bidding zone) whose spot price is compared with the threshold; required with one.' }),
  }),
});

const AddNodeInput = builder.inputType('AddNodeInput', {
  fields: (t) => ({
    ...base(t),
    nodeId: t.id({ required: true }),
    parentId: t.id({ required: true, description: 'The site id for a node right below the grid connection.' }),
    kind: t.field({ type: NodeKindRef, required: true }),
    name: t.string({ required: true }),
    importLimitW: t.field({ type: 'Decimal', required: true }),
    exportLimitW: t.field({ type: 'Decimal', required: true }),
    charger: t.field({ type: ChargerSpecInput, description: 'Required for a charger, refused for any other kind.' }),
  }),
});

const ChangeNodeLimitsInput = builder.inputType('ChangeNodeLimitsInput', {
  fields: (t) => ({
    ...base(t),
    nodeId: t.id({ required: true, description: "The site id changes the grid connection's own limits." }),
    importLimitW: t.field({ type: 'Decimal', required: true }),
    exportLimitW: t.field({ type: 'Decimal', required: true }),
  }),
});

const ChangeChargerInput = builder.inputType('ChangeChargerInput', {
  fields: (t) => ({ ...base(t), nodeId: t.id({ required: true }), charger: t.field({ type: ChargerSpecInput, required: true }) }),
});

const RemoveNodeInput = builder.inputType('RemoveNodeInput', { fields: (t) => ({ ...base(t), nodeId: t.id({ required: true }) }) });

const RecordNodeLoadInput = builder.inputType('RecordNodeLoadInput', {
  fields: (t) => ({
    ...base(t),
    nodeId: t.id({ required: true }),
    occurredAt: t.field({ type: 'DateTime', required: true, description: "The meter's time." }),
    otherLoadW: t.field({ type: 'Decimal', required: true, description: 'Measured non-EV consumption below the node (building load), W.' }),
    generationW: t.field({ type: 'Decimal', required: true, description: 'Measured local generation or battery output below the node, W.' }),
  }),
});

const RuleWindowInput = builder.inputType('RuleWindowInput', {
  fields: (t) => ({
    start: t.field({ type: 'DateTime', required: true }),
    end: t.field({ type: 'DateTime', description: 'Exclusive; null: open-ended.' }),
    daysOfWeek: t.intList({ description: 'ISO days, 1 = Monday … 7 = Sunday; null: every day.' }),
    dailyFrom: t.string({ description: '"HH:MM" UTC, with dailyTo.' }),
    dailyTo: t.string({ description: '"HH:MM" UTC, exclusive; at or before dailyFrom wraps midnight.' }),
  }),
});

const ruleFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  ruleId: t.id({ required: true }),
  priority: t.int({ required: true, description: 'Higher wins when two rules set the same figure (it only changes the reason shown).' }),
  window: t.field({ type: RuleWindowInput, required: true }),
  importCapW: t.field({ type: 'Decimal' }),
  exportCapW: t.field({ type: 'Decimal' }),
  reason: t.string(),
  source: t.string({ description: "Who asked, e.g. a grid operator's flexibility request id." }),
});

const AddCongestionRuleInput = builder.inputType('AddCongestionRuleInput', {
  fields: (t) => ({ ...base(t), nodeId: t.id({ required: true, description: 'The node the rule caps (the site id for the connection).' }), ...ruleFields(t) }),
});

const AddAreaCongestionRuleInput = builder.inputType('AddAreaCongestionRuleInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    areaId: t.id({ required: true }),
    siteIds: t.idList({ required: true, description: "The sites of the area: the rule caps each one's connection." }),
    ...ruleFields(t),
  }),
});

const RemoveCongestionRuleInput = builder.inputType('RemoveCongestionRuleInput', { fields: (t) => ({ ...base(t), ruleId: t.id({ required: true }) }) });

const RequestDischargeInput = builder.inputType('RequestDischargeInput', {
  fields: (t) => ({
    ...base(t),
    requestId: t.id({ required: true }),
    nodeId: t.id({ required: true }),
    start: t.field({ type: 'DateTime', required: true }),
    end: t.field({ type: 'DateTime', required: true }),
    powerW: t.field({ type: 'Decimal', required: true, description: 'Power to feed back below the node, W.' }),
    source: t.string(),
  }),
});

const CancelDischargeRequestInput = builder.inputType('CancelDischargeRequestInput', { fields: (t) => ({ ...base(t), requestId: t.id({ required: true }) }) });

type RuleInput = {
  ruleId: string | number;
  priority: number;
  window: { start: string; end?: string | null; daysOfWeek?: number[] | null; dailyFrom?: string | null; dailyTo?: string | null };
  importCapW?: string | null;
  exportCapW?: string | null;
  reason?: string | null;
  source?: string | null;
};

const toRule = (input: RuleInput, scope: CongestionRule['scope']): CongestionRule => ({
  ruleId: String(input.ruleId),
  priority: input.priority,
  scope,
  window: {
    start: input.window.start,
    end: input.window.end ?? null,
    daysOfWeek: input.window.daysOfWeek ?? null,
    dailyFrom: input.window.dailyFrom ?? null,
    dailyTo: input.window.dailyTo ?? null,
  },
  importCapW: input.importCapW ?? null,
  exportCapW: input.exportCapW ?? null,
  reason: input.reason ?? null,
  source: input.source ?? null,
});

/** Site commands that are measurements and grid requests rather than configuration. */
const SITE_SIGNALS = new Set(['recordNodeLoad', 'requestDischarge', 'cancelDischargeRequest']);

/** A site mutation: `addNode` sends the command AddNode, and its result union lists what AddNode can meet. */
const siteMutation = <I extends Input>(name: string, description: string, inputType: unknown, toCommand: (input: I) => SiteCommandInput) => {
  const commandType = `${name[0]!.toUpperCase()}${name.slice(1)}` as SiteCommand['type'];
  if (!(commandType in SITE_REFUSALS)) throw new Error(`site mutation ${name} sends no site command ${commandType}`);
  return builder.mutationField(name, (t) =>
    t.field({
      type: SiteCommandPayload,
      description,
      args: { input: t.arg({ type: inputType as typeof AddNodeInput, required: true }) },
      errors: { types: siteCommandErrors(commandType), directResult: true, union: { name: `${commandType}Result` } },
      // The site's structure, limits and rules are the operator's; its live signals integrators send too.
      authScopes: SITE_SIGNALS.has(name) ? PLATFORM_WRITERS : OPERATOR,
      resolve: (_root, { input }, ctx) => runSiteCommand(ctx, input as unknown as I, toCommand(input as unknown as I)),
    }),
  );
};

siteMutation<Input & { rotationIntervalS: number; promoteAfterS: number; dischargePriceThresholdMinorPerKWh?: string | null; priceZone?: string | number | null }>(
  'configureSite',
  'Sets how sessions rotate and when they discharge for price.',
  ConfigureSiteInput,
  (i) => ({
    type: 'ConfigureSite',
    siteId: String(i.siteId),
    rotationIntervalS: i.rotationIntervalS,
    promoteAfterS: i.promoteAfterS,
    dischargePriceThresholdMinorPerKWh: i.dischargePriceThresholdMinorPerKWh ?? null,
    priceZone: i.priceZone == null ? null : String(i.priceZone),
  }),
);

siteMutation<
  Input & { nodeId: string; parentId: string; kind: NodeKind; name: string; importLimitW: string; exportLimitW: string; charger?: Parameters<typeof toChargerSpec>[0] | null }
>('addNode', 'Adds a feeder, circuit, charger or connector to the tree.', AddNodeInput, (i) => ({
  type: 'AddNode',
  siteId: String(i.siteId),
  nodeId: String(i.nodeId),
  parentId: String(i.parentId),
  kind: i.kind,
  name: i.name,
  importLimitW: i.importLimitW,
  exportLimitW: i.exportLimitW,
  charger: i.charger == null ? null : toChargerSpec(i.charger),
}));

siteMutation<Input & { nodeId: string; importLimitW: string; exportLimitW: string }>(
  'changeNodeLimits',
  "Changes a node's static limits; sessions over a lowered limit are curtailed at once, then re-allocated.",
  ChangeNodeLimitsInput,
  (i) => ({ type: 'ChangeNodeLimits', siteId: String(i.siteId), nodeId: String(i.nodeId), importLimitW: i.importLimitW, exportLimitW: i.exportLimitW }),
);

siteMutation<Input & { nodeId: string; charger: Parameters<typeof toChargerSpec>[0] }>('changeCharger', 'Changes what a charger can do.', ChangeChargerInput, (i) => ({
  type: 'ChangeCharger',
  siteId: String(i.siteId),
  nodeId: String(i.nodeId),
  charger: toChargerSpec(i.charger),
}));

siteMutation<Input & { nodeId: string }>('removeNode', 'Removes a node with nothing below it (a connector only when free).', RemoveNodeInput, (i) => ({
  type: 'RemoveNode',
  siteId: String(i.siteId),
  nodeId: String(i.nodeId),
}));

siteMutation<Input & { nodeId: string; occurredAt: string; otherLoadW: string; generationW: string }>(
  'recordNodeLoad',
  'Records measured non-EV load and generation at a node: it moves the headroom EVs below it may use.',
  RecordNodeLoadInput,
  (i) => ({ type: 'RecordNodeLoad', siteId: String(i.siteId), nodeId: String(i.nodeId), occurredAt: i.occurredAt, otherLoadW: i.otherLoadW, generationW: i.generationW }),
);

siteMutation<Input & RuleInput & { nodeId: string }>('addCongestionRule', "Caps a node's import and/or export in a time window.", AddCongestionRuleInput, (i) => ({
  type: 'AddCongestionRule',
  siteId: String(i.siteId),
  rule: toRule(i, { kind: 'node', nodeId: String(i.nodeId) }),
}));

siteMutation<Input & { ruleId: string }>('removeCongestionRule', 'Removes a congestion rule.', RemoveCongestionRuleInput, (i) => ({
  type: 'RemoveCongestionRule',
  siteId: String(i.siteId),
  ruleId: String(i.ruleId),
}));

siteMutation<Input & { requestId: string; nodeId: string; start: string; end: string; powerW: string; source?: string | null }>(
  'requestDischarge',
  'A grid operator asks for power back below a node in [start, end): consenting sessions discharge, other non-urgent ones wait.',
  RequestDischargeInput,
  (i) => ({
    type: 'RequestDischarge',
    siteId: String(i.siteId),
    requestId: String(i.requestId),
    nodeId: String(i.nodeId),
    start: i.start,
    end: i.end,
    powerW: i.powerW,
    source: i.source ?? null,
  }),
);

siteMutation<Input & { requestId: string }>('cancelDischargeRequest', 'Withdraws a discharge request.', CancelDischargeRequestInput, (i) => ({
  type: 'CancelDischargeRequest',
  siteId: String(i.siteId),
  requestId: String(i.requestId),
}));

const AreaRulePayload = builder.objectRef<{ commandId: string; sites: SiteCommandPayloadShape[] }>('AreaRulePayload').implement({
  fields: (t) => ({
    commandId: t.exposeID('commandId'),
    sites: t.field({ type: [SiteCommandPayload], description: 'One result per site, in the order given.', resolve: (p) => p.sites }),
  }),
});

builder.mutationField('addAreaCongestionRule', (t) =>
  t.field({
    type: AreaRulePayload,
    description:
      "Caps the grid connection of every site of an area in a time window. Recorded on each site's stream under `<commandId>/<siteId>`: every site is checked first, and a retry completes any site a failure left out.",
    args: { input: t.arg({ type: AddAreaCongestionRuleInput, required: true }) },
    errors: { types: siteCommandErrors('AddCongestionRule'), directResult: true, union: { name: 'AddAreaCongestionRuleResult' } },
    authScopes: OPERATOR,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const { scope: _scope, ...rule } = toRule(input as RuleInput, { kind: 'area', areaId: String(input.areaId) });
      const handled = await ctx.ledger.grid.service.addAreaCongestionRule(
        { areaId: String(input.areaId), siteIds: input.siteIds.map(String), rule },
        commandContext(ctx, commandId),
      );
      const sites: SiteCommandPayloadShape[] = [];
      for (const {
        siteId,
        commandId: siteCommandId,
        handled: { result },
      } of handled) {
        ctx.log.info({ commandId: siteCommandId, command: 'AddCongestionRule', streamId: result.streamId, duplicate: result.duplicate }, 'command handled');
        sites.push({
          commandId: siteCommandId,
          duplicate: result.duplicate,
          streamId: result.streamId,
          streamVersion: result.nextExpectedVersion,
          position: result.lastPosition,
          site: await loadSite(ctx, siteId),
        });
      }
      return { commandId, sites };
    },
  }),
);

const AllocationPayload = builder.objectRef<{ at: string; site: SiteView | null; changed: number }>('AllocationPayload').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'The instant the allocation was computed for.', resolve: (p) => p.at }),
    changedSessions: t.int({ description: 'How many sessions got a new setpoint, status or reason.', resolve: (p) => p.changed }),
    site: t.field({ type: Site, nullable: true, resolve: (p) => p.site }),
  }),
});

builder.mutationField('allocateSite', (t) =>
  t.field({
    type: AllocationPayload,
    description: "Runs the site's allocation now (it also runs by itself whenever something relevant changes).",
    args: { siteId: t.arg.id({ required: true }) },
    errors: { types: ALLOCATION_ERRORS, directResult: true, union: { name: 'AllocateSiteResult' } },
    authScopes: PLATFORM_WRITERS,
    resolve: async (_root, args, ctx) => {
      const siteId = String(args.siteId);
      const outcome = await ctx.ledger.grid.service.allocate(siteId, 'operator');
      const assigned = outcome.events.find((e) => e.type === 'SetpointsAssigned');
      return {
        at: outcome.at,
        changed: assigned?.type === 'SetpointsAssigned' ? assigned.data.setpoints.length : 0,
        site: await loadSite(ctx, siteId),
      };
    },
  }),
);
