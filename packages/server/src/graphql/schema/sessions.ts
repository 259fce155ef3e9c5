import type { AppendResult } from '@v2g/event-store';
import { parseInstant, sessionMeterSegments, sessionNeeds, TIERS, type PlugIn, type SessionCommand, type SessionState, type Tier } from '@v2g/domain';
import { builder, type BuilderTypes } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { sessionMutationErrors } from './grid-errors.ts';
import { SiteSession } from './grid-site.ts';
import { MeterSegmentRef } from './metering.ts';
import { PLATFORM_WRITERS, sessionReaders, sessionWriters } from '../access.ts';
import { checkBilledPartyInput } from '../billed-party.ts';
import { commandContext } from '../command-context.ts';
import { recorded, recordedFields, unionName, type Recorded } from './command-payload.ts';

/**
 * Charging sessions: a plug-in, what the driver asked for, meter readings, and what the site's
 * allocation gives it now. Read live from the session aggregate and the site aggregate.
 */

export const TierRef = builder.enumType('Tier', {
  description: 'Served strictly in this order; within a tier, least laxity first, then fair shares.',
  values: Object.fromEntries(TIERS.map((tier) => [tier.toUpperCase(), { value: tier }])) as Record<Uppercase<Tier>, { value: Tier }>,
});

const SessionLifecycleRef = builder.enumType('SessionLifecycle', {
  values: { ACTIVE: { value: 'active' }, SUSPENDED: { value: 'suspended', description: 'Paused by the driver.' }, STOPPED: { value: 'stopped' } } as const,
});

type PluggedIn = Exclude<SessionState, { status: 'none' }>;
type SessionView = { state: PluggedIn; version: number };

const V2gConsentRef = builder.objectRef<NonNullable<PluggedIn['v2g']>>('V2gConsent').implement({
  fields: (t) => ({
    minSocPercent: t.field({ type: 'Decimal', description: 'The reserve: never discharged below this SoC.', resolve: (v) => v.minSocPercent }),
    maxDischargePowerW: t.field({ type: 'Decimal', resolve: (v) => v.maxDischargePowerW }),
  }),
});

const MeterReadingRef = builder.objectRef<NonNullable<PluggedIn['lastReading']>>('SessionMeterReading').implement({
  fields: (t) => ({
    occurredAt: t.field({ type: 'DateTime', resolve: (r) => r.occurredAt }),
    energyImportWh: t.field({ type: 'Decimal', resolve: (r) => r.energyImportWh }),
    energyExportWh: t.field({ type: 'Decimal', resolve: (r) => r.energyExportWh }),
    powerW: t.field({ type: 'Decimal', nullable: true, resolve: (r) => r.powerW }),
    socPercent: t.field({ type: 'Decimal', nullable: true, resolve: (r) => r.socPercent }),
  }),
});

const SessionNeedsRef = builder.objectRef<ReturnType<typeof sessionNeeds>>('SessionNeeds').implement({
  description: 'What the allocation knows of a session at an instant.',
  fields: (t) => ({
    deliveredWh: t.field({ type: 'Decimal', description: 'Net energy since plug-in (import minus export), Wh.', resolve: (n) => n.deliveredWh }),
    remainingWh: t.field({ type: 'Decimal', description: 'Still needed to meet the request, Wh.', resolve: (n) => n.remainingWh }),
    socPercent: t.field({ type: 'Decimal', nullable: true, resolve: (n) => n.socPercent }),
    laxityS: t.float({ description: 'Seconds to departure minus seconds still needed at full power; below 0 it cannot make it.', resolve: (n) => n.laxityS }),
    requiredPowerW: t.field({ type: 'Decimal', description: 'Average power that meets the need exactly at departure, W.', resolve: (n) => n.requiredPowerW }),
  }),
});

const Session = builder.objectRef<SessionView>('Session').implement({
  description: 'A charging session (the session-<id> stream).',
  fields: (t) => ({
    sessionId: t.id({ resolve: ({ state }) => state.sessionId }),
    siteId: t.id({ resolve: ({ state }) => state.siteId }),
    connectorId: t.id({ resolve: ({ state }) => state.connectorId }),
    vehicleId: t.id({ resolve: ({ state }) => state.vehicleId }),
    customerId: t.id({ resolve: ({ state }) => state.customerId }),
    fleetId: t.id({ nullable: true, resolve: ({ state }) => state.fleetId }),
    tier: t.field({ type: TierRef, resolve: ({ state }) => state.tier }),
    lifecycle: t.field({ type: SessionLifecycleRef, resolve: ({ state }) => state.status }),
    pluggedInAt: t.field({ type: 'DateTime', resolve: ({ state }) => state.pluggedInAt }),
    departureAt: t.field({ type: 'DateTime', resolve: ({ state }) => state.departureAt }),
    stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: ({ state }) => state.stoppedAt }),
    energyNeededWh: t.field({ type: 'Decimal', nullable: true, resolve: ({ state }) => state.energyNeededWh }),
    targetSocPercent: t.field({ type: 'Decimal', nullable: true, resolve: ({ state }) => state.targetSocPercent }),
    batteryCapacityWh: t.field({ type: 'Decimal', nullable: true, resolve: ({ state }) => state.batteryCapacityWh }),
    socPercentAtPlugIn: t.field({ type: 'Decimal', nullable: true, resolve: ({ state }) => state.socPercent }),
    minPowerW: t.field({ type: 'Decimal', resolve: ({ state }) => state.minPowerW }),
    maxPowerW: t.field({ type: 'Decimal', resolve: ({ state }) => state.maxPowerW }),
    v2g: t.field({ type: V2gConsentRef, nullable: true, resolve: ({ state }) => state.v2g }),
    lastReading: t.field({
      type: MeterReadingRef,
      nullable: true,
      description: "The latest reading by the meter's time, whichever segment it is in.",
      resolve: ({ state }) => state.lastReading,
    }),
    meterSegments: t.field({
      type: [MeterSegmentRef],
      description: "The connector meter's readings in segments: the meter start opens the first, each meter reset another.",
      resolve: ({ state }) => sessionMeterSegments(state),
    }),
    version: t.exposeInt('version', { description: 'The version of the session-<id> stream this state is at.' }),
    needs: t.field({
      type: SessionNeedsRef,
      args: { at: t.arg({ type: 'DateTime', description: 'Default: now.' }) },
      resolve: ({ state }, args, ctx) => sessionNeeds(state, args.at == null ? ctx.ledger.grid.service.now() : parseInstant('at', args.at)),
    }),
    allocation: t.field({
      type: SiteSession,
      nullable: true,
      description: "What the site's allocation gives it now; null once it has left the connector.",
      resolve: async ({ state }, _args, ctx) => (await ctx.ledger.grid.service.loadSite(state.siteId)).site?.sessions.get(state.sessionId) ?? null,
    }),
  }),
});

async function loadSessionView(ctx: GraphQLContext, sessionId: string): Promise<SessionView | null> {
  const { version, session } = await ctx.ledger.grid.service.loadSession(sessionId);
  return session.status === 'none' ? null : { state: session, version };
}

builder.queryField('session', (t) =>
  t.field({
    type: Session,
    nullable: true,
    description: "A session's current state, read from its stream; null when there is none.",
    args: { sessionId: t.arg.id({ required: true }) },
    authScopes: (_root, args) => sessionReaders(String(args.sessionId)),
    resolve: (_root, args, ctx) => loadSessionView(ctx, String(args.sessionId)),
  }),
);

// ---- commands -----------------------------------------------------------------------------------

type SessionPayloadShape = Recorded & { session: SessionView | null };

const SessionCommandPayload = builder.objectRef<SessionPayloadShape>('SessionCommandPayload').implement({
  description: 'A session command recorded (or found recorded under its commandId), and the session after it.',
  fields: (t) => ({
    ...recordedFields(t),
    session: t.field({ type: Session, nullable: true, resolve: (p) => p.session }),
  }),
});

const V2gConsentInput = builder.inputType('V2gConsentInput', {
  fields: (t) => ({
    minSocPercent: t.field({ type: 'Decimal', required: true, description: 'Never discharge below this SoC.' }),
    maxDischargePowerW: t.field({ type: 'Decimal', required: true }),
  }),
});

const PlugInInput = builder.inputType('PlugInInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    sessionId: t.id({ required: true }),
    siteId: t.id({ required: true }),
    connectorId: t.id({ required: true }),
    at: t.field({
      type: 'DateTime',
      description:
        "When the vehicle was plugged in, as the charger or an operator reports it (drivers and fleet managers may not set it): at most 7 days before the ledger's now and 5 minutes after it; default now.",
    }),
    vehicleId: t.id({ required: true }),
    customerId: t.id({ required: true, description: 'The driver or fleet customer who pays.' }),
    fleetId: t.id(),
    tier: t.field({ type: TierRef, required: true, description: 'Drivers and fleet managers: NORMAL (what their contract allows); operators and integrators: any.' }),
    departureAt: t.field({ type: 'DateTime', required: true, description: "After the ledger's now, at most 7 days after it." }),
    energyNeededWh: t.field({ type: 'Decimal', description: 'Either this, or targetSocPercent with batteryCapacityWh and socPercent.' }),
    targetSocPercent: t.field({ type: 'Decimal' }),
    batteryCapacityWh: t.field({ type: 'Decimal' }),
    socPercent: t.field({ type: 'Decimal', description: 'SoC at plug-in.' }),
    minPowerW: t.field({ type: 'Decimal', required: true, description: "The vehicle's least charging power." }),
    maxPowerW: t.field({ type: 'Decimal', required: true }),
    v2g: t.field({ type: V2gConsentInput, description: 'V2G consent (needs batteryCapacityWh and socPercent); null: none.' }),
    meterStartImportWh: t.field({
      type: 'Decimal',
      description: "The connector's import register at plug-in, as the charger reports it (drivers and fleet managers may not set it); default 0.",
    }),
    meterStartExportWh: t.field({ type: 'Decimal' }),
  }),
});

const sessionFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  commandId: t.id({ required: true }),
  sessionId: t.id({ required: true }),
});

const StopSessionInput = builder.inputType('StopSessionInput', {
  fields: (t) => ({
    ...sessionFields(t),
    at: t.field({
      type: 'DateTime',
      description:
        "When the vehicle was unplugged, as the charger or an operator reports it (drivers and fleet managers may not set it): at most 7 days before the ledger's now and 5 minutes after it; default now.",
    }),
    reason: t.string({ required: true }),
  }),
});
const SuspendSessionInput = builder.inputType('SuspendSessionInput', { fields: (t) => sessionFields(t) });
const ReactivateSessionInput = builder.inputType('ReactivateSessionInput', { fields: (t) => sessionFields(t) });
const ChangeDepartureInput = builder.inputType('ChangeDepartureInput', {
  fields: (t) => ({ ...sessionFields(t), departureAt: t.field({ type: 'DateTime', required: true, description: "After the ledger's now, at most 7 days after it." }) }),
});
const meterFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  commandId: t.id({ required: true }),
  sessionId: t.id({ required: true }),
  occurredAt: t.field({
    type: 'DateTime',
    required: true,
    description:
      "The meter's time: at most 7 days before the ledger's now (for a new reading or reset) and at most 5 minutes after it. The ledger records when it received it (recordedAt) itself.",
  }),
  energyImportWh: t.field({ type: 'Decimal', required: true, description: 'Cumulative import register, Wh, at most 3 decimals.' }),
  energyExportWh: t.field({ type: 'Decimal', required: true, description: 'Cumulative export register, Wh, at most 3 decimals.' }),
});
const RecordSessionMeterReadingInput = builder.inputType('RecordSessionMeterReadingInput', {
  fields: (t) => ({ ...meterFields(t), powerW: t.field({ type: 'Decimal' }), socPercent: t.field({ type: 'Decimal' }) }),
});
const CorrectSessionMeterReadingInput = builder.inputType('CorrectSessionMeterReadingInput', {
  fields: (t) => ({
    ...meterFields(t),
    powerW: t.field({ type: 'Decimal' }),
    socPercent: t.field({ type: 'Decimal' }),
    reason: t.string({ required: true }),
  }),
});
const ResetSessionMeterInput = builder.inputType('ResetSessionMeterInput', {
  fields: (t) => ({ ...meterFields(t), reason: t.string({ required: true, description: 'Why: a replaced meter, a reset register.' }) }),
});

async function payload(ctx: GraphQLContext, commandId: string, sessionId: string, result: AppendResult, command: string): Promise<SessionPayloadShape> {
  return { ...recorded(ctx, commandId, command, result), session: await loadSessionView(ctx, sessionId) };
}

builder.mutationField('plugIn', (t) =>
  t.field({
    type: SessionCommandPayload,
    description: 'A vehicle plugs in: the connector is occupied, the session opened, and the site re-allocated.',
    args: { input: t.arg({ type: PlugInInput, required: true }) },
    errors: { types: sessionMutationErrors('plugIn'), directResult: true, union: { name: unionName('plugIn') } },
    authScopes: (_root, { input }) => ({ ...PLATFORM_WRITERS, ...(input.fleetId == null ? { customerIs: String(input.customerId) } : { fleetIs: String(input.fleetId) }) }),
    resolve: async (_root, { input }, ctx) => {
      checkBilledPartyInput(ctx.principal.role, 'plugIn', input);
      const commandId = String(input.commandId);
      const command: Omit<PlugIn, 'type' | 'at'> & { at?: string } = {
        sessionId: String(input.sessionId),
        siteId: String(input.siteId),
        connectorId: String(input.connectorId),
        ...(input.at == null ? {} : { at: input.at }),
        vehicleId: String(input.vehicleId),
        customerId: String(input.customerId),
        fleetId: input.fleetId == null ? null : String(input.fleetId),
        tier: input.tier,
        departureAt: input.departureAt,
        energyNeededWh: input.energyNeededWh ?? null,
        targetSocPercent: input.targetSocPercent ?? null,
        batteryCapacityWh: input.batteryCapacityWh ?? null,
        socPercent: input.socPercent ?? null,
        minPowerW: input.minPowerW,
        maxPowerW: input.maxPowerW,
        v2g: input.v2g ?? null,
        meterStartImportWh: input.meterStartImportWh ?? null,
        meterStartExportWh: input.meterStartExportWh ?? null,
      };
      const { session } = await ctx.ledger.grid.service.plugIn(command, commandContext(ctx, commandId));
      return payload(ctx, commandId, command.sessionId, session.result, 'PlugIn');
    },
  }),
);

builder.mutationField('stopSession', (t) =>
  t.field({
    type: SessionCommandPayload,
    description: 'The session ends: the connector is freed and the site re-allocated.',
    args: { input: t.arg({ type: StopSessionInput, required: true }) },
    errors: { types: sessionMutationErrors('stopSession'), directResult: true, union: { name: unionName('stopSession') } },
    authScopes: (_root, { input }) => sessionWriters(String(input.sessionId)),
    resolve: async (_root, { input }, ctx) => {
      checkBilledPartyInput(ctx.principal.role, 'stopSession', input);
      const commandId = String(input.commandId);
      const sessionId = String(input.sessionId);
      const { result } = await ctx.ledger.grid.service.stopSession(
        { sessionId, reason: input.reason, ...(input.at == null ? {} : { at: input.at }) },
        commandContext(ctx, commandId),
      );
      return payload(ctx, commandId, sessionId, result, 'StopSession');
    },
  }),
);

const simpleSessionMutation = (
  name: 'suspendSession' | 'reactivateSession',
  description: string,
  inputType: typeof SuspendSessionInput,
  type: 'SuspendSession' | 'ReactivateSession',
) =>
  builder.mutationField(name, (t) =>
    t.field({
      type: SessionCommandPayload,
      description,
      args: { input: t.arg({ type: inputType, required: true }) },
      errors: { types: sessionMutationErrors(name), directResult: true, union: { name: unionName(name) } },
      authScopes: (_root, { input }) => sessionWriters(String(input.sessionId)),
      resolve: async (_root, { input }, ctx) => {
        const commandId = String(input.commandId);
        const sessionId = String(input.sessionId);
        const { result } = await ctx.ledger.grid.service.session({ type, sessionId }, commandContext(ctx, commandId));
        return payload(ctx, commandId, sessionId, result, type);
      },
    }),
  );

simpleSessionMutation('suspendSession', 'The driver pauses charging: no power until reactivated.', SuspendSessionInput, 'SuspendSession');
simpleSessionMutation('reactivateSession', 'The driver resumes charging.', ReactivateSessionInput, 'ReactivateSession');

builder.mutationField('changeDeparture', (t) =>
  t.field({
    type: SessionCommandPayload,
    args: { input: t.arg({ type: ChangeDepartureInput, required: true }) },
    errors: { types: sessionMutationErrors('changeDeparture'), directResult: true, union: { name: unionName('changeDeparture') } },
    authScopes: (_root, { input }) => sessionWriters(String(input.sessionId)),
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const sessionId = String(input.sessionId);
      const { result } = await ctx.ledger.grid.service.session({ type: 'ChangeDeparture', sessionId, departureAt: input.departureAt }, commandContext(ctx, commandId));
      return payload(ctx, commandId, sessionId, result, 'ChangeDeparture');
    },
  }),
);

/** A session meter command without its `at`: the service records it at the ledger's now. */
type SessionMeterInput =
  Extract<SessionCommand, { type: 'RecordSessionMeterReading' | 'CorrectSessionMeterReading' | 'ResetSessionMeter' }> extends infer C
    ? C extends { at: string }
      ? Omit<C, 'at'>
      : never
    : never;

async function sendSessionMeterCommand(ctx: GraphQLContext, commandId: string, command: SessionMeterInput): Promise<SessionPayloadShape> {
  const { result } = await ctx.ledger.grid.service.session(command, commandContext(ctx, commandId));
  return payload(ctx, commandId, command.sessionId, result, command.type);
}

builder.mutationField('recordSessionMeterReading', (t) =>
  t.field({
    type: SessionCommandPayload,
    description:
      "A meter reading of the session's connector (cumulative registers). The same reading sent twice is recorded once; late ones are placed by occurredAt; another value at a recorded instant is refused (correct it instead).",
    args: { input: t.arg({ type: RecordSessionMeterReadingInput, required: true }) },
    errors: { types: sessionMutationErrors('recordSessionMeterReading'), directResult: true, union: { name: unionName('recordSessionMeterReading') } },
    authScopes: PLATFORM_WRITERS,
    resolve: (_root, { input }, ctx) =>
      sendSessionMeterCommand(ctx, String(input.commandId), {
        type: 'RecordSessionMeterReading',
        sessionId: String(input.sessionId),
        occurredAt: input.occurredAt,
        energyImportWh: input.energyImportWh,
        energyExportWh: input.energyExportWh,
        powerW: input.powerW ?? null,
        socPercent: input.socPercent ?? null,
      }),
  }),
);

builder.mutationField('correctSessionMeterReading', (t) =>
  t.field({
    type: SessionCommandPayload,
    description: "Replaces the values of a recorded reading of the session's meter (a new event; the old one stays in the log).",
    args: { input: t.arg({ type: CorrectSessionMeterReadingInput, required: true }) },
    errors: { types: sessionMutationErrors('correctSessionMeterReading'), directResult: true, union: { name: unionName('correctSessionMeterReading') } },
    authScopes: PLATFORM_WRITERS,
    resolve: (_root, { input }, ctx) =>
      sendSessionMeterCommand(ctx, String(input.commandId), {
        type: 'CorrectSessionMeterReading',
        sessionId: String(input.sessionId),
        occurredAt: input.occurredAt,
        energyImportWh: input.energyImportWh,
        energyExportWh: input.energyExportWh,
        powerW: input.powerW ?? null,
        socPercent: input.socPercent ?? null,
        reason: input.reason,
      }),
  }),
);

builder.mutationField('resetSessionMeter', (t) =>
  t.field({
    type: SessionCommandPayload,
    description: "The session's connector meter was replaced or reset: from occurredAt its registers continue from these values.",
    args: { input: t.arg({ type: ResetSessionMeterInput, required: true }) },
    errors: { types: sessionMutationErrors('resetSessionMeter'), directResult: true, union: { name: unionName('resetSessionMeter') } },
    authScopes: PLATFORM_WRITERS,
    resolve: (_root, { input }, ctx) =>
      sendSessionMeterCommand(ctx, String(input.commandId), {
        type: 'ResetSessionMeter',
        sessionId: String(input.sessionId),
        occurredAt: input.occurredAt,
        energyImportWh: input.energyImportWh,
        energyExportWh: input.energyExportWh,
        reason: input.reason,
      }),
  }),
);
