import type { AppendResult } from '@v2g/event-store';
import {
  checkMeterId,
  deliveredEnergy,
  METER_MEASURES,
  segmentsOf,
  toDecimalString,
  type MeterCommand,
  type MeterMeasures,
  type NodeMeterReading,
  type RegisteredMeter,
  type RegisterSegment,
  type SeriesReading,
} from '@v2g/domain';
import { builder, type BuilderTypes } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { meterCommandErrors } from './metering-errors.ts';
import { PLATFORM_READERS, PLATFORM_WRITERS } from '../access.ts';
import { commandContext } from '../command-context.ts';
import { recorded, recordedFields, unionName, type Recorded } from './command-payload.ts';

/**
 * Site and node meters (building load, generation, storage): register one at a node, send its
 * readings (cumulative registers, late and out of order), correct them, reset the meter. Read live
 * from the meter aggregate (`meter-<id>` stream). MeterSegment serves sessions' meters too.
 */

export const MeterMeasuresRef = builder.enumType('MeterMeasures', {
  description: 'What a meter at a node measures.',
  values: Object.fromEntries(METER_MEASURES.map((m) => [m.toUpperCase(), { value: m }])) as Record<Uppercase<MeterMeasures>, { value: MeterMeasures }>,
});

const SegmentStartRef = builder.enumType('MeterSegmentStart', {
  description: "What opened a segment of a meter's readings.",
  values: {
    ORIGIN: { value: 'origin', description: "The registers at the start (a session's meter start at plug-in)." },
    RESET: { value: 'reset', description: 'A reset or replaced meter.' },
    FIRST_READING: { value: 'first_reading', description: 'Its first reading (a node meter has no start values).' },
  } as const,
});

export const MeterSegmentRef = builder.objectRef<RegisterSegment<SeriesReading>>('MeterSegment').implement({
  description: 'Readings between two resets: within one, each register only goes up. Energy counted = last − first of each register.',
  fields: (t) => ({
    startedBy: t.field({ type: SegmentStartRef, resolve: (s) => s.startedBy }),
    startedAt: t.field({ type: 'DateTime', nullable: true, description: 'Null when its first reading opens it.', resolve: (s) => s.start?.occurredAt ?? null }),
    startImportWh: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.start?.energyImportWh ?? null }),
    startExportWh: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.start?.energyExportWh ?? null }),
    readingCount: t.int({ resolve: (s) => s.readings.length }),
    firstReadingAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.readings[0]?.occurredAt ?? null }),
    lastReadingAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.readings.at(-1)?.occurredAt ?? null }),
    lastImportWh: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.readings.at(-1)?.energyImportWh ?? null }),
    lastExportWh: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.readings.at(-1)?.energyExportWh ?? null }),
    deliveredImportWh: t.field({ type: 'Decimal', description: 'Imported within the segment, Wh.', resolve: (s) => s.deliveredImportWh }),
    deliveredExportWh: t.field({ type: 'Decimal', description: 'Exported within the segment, Wh.', resolve: (s) => s.deliveredExportWh }),
  }),
});

const MeterReadingRef = builder.objectRef<NodeMeterReading>('MeterReading').implement({
  fields: (t) => ({
    occurredAt: t.field({ type: 'DateTime', description: "The meter's time.", resolve: (r) => r.occurredAt }),
    energyImportWh: t.field({ type: 'Decimal', resolve: (r) => r.energyImportWh }),
    energyExportWh: t.field({ type: 'Decimal', resolve: (r) => r.energyExportWh }),
    powerW: t.field({ type: 'Decimal', nullable: true, resolve: (r) => r.powerW }),
  }),
});

type MeterView = { meter: RegisteredMeter; version: number };

export const Meter = builder.objectRef<MeterView>('Meter').implement({
  description: 'A site or node meter (the meter-<id> stream).',
  fields: (t) => ({
    meterId: t.id({ resolve: ({ meter }) => meter.meterId }),
    siteId: t.id({ resolve: ({ meter }) => meter.siteId }),
    nodeId: t.id({ resolve: ({ meter }) => meter.nodeId }),
    measures: t.field({ type: MeterMeasuresRef, resolve: ({ meter }) => meter.measures }),
    registeredAt: t.field({ type: 'DateTime', resolve: ({ meter }) => meter.registeredAt }),
    lastReading: t.field({ type: MeterReadingRef, nullable: true, description: "The latest by the meter's time.", resolve: ({ meter }) => meter.lastReading }),
    segments: t.field({ type: [MeterSegmentRef], description: 'Oldest first; one more after each reset.', resolve: ({ meter }) => segmentsOf(meter.series) }),
    deliveredImportWh: t.field({
      type: 'Decimal',
      description: 'Imported over all segments, Wh.',
      resolve: ({ meter }) => toDecimalString(deliveredEnergy(meter.series).importWh),
    }),
    deliveredExportWh: t.field({
      type: 'Decimal',
      description: 'Exported over all segments, Wh.',
      resolve: ({ meter }) => toDecimalString(deliveredEnergy(meter.series).exportWh),
    }),
    version: t.exposeInt('version', { description: 'The version of the meter-<id> stream this state is at.' }),
  }),
});

export async function loadMeterView(ctx: GraphQLContext, meterId: string): Promise<MeterView | null> {
  const { version, meter } = await ctx.ledger.metering.service.loadMeter(meterId);
  return meter === null ? null : { meter, version };
}

builder.queryField('meter', (t) =>
  t.field({
    type: Meter,
    nullable: true,
    description: "A meter's current state, read from its stream; null when it was never registered.",
    args: { meterId: t.arg.id({ required: true }) },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, ctx) => loadMeterView(ctx, checkMeterId(String(args.meterId))),
  }),
);

// ---- commands -----------------------------------------------------------------------------------

type MeterPayloadShape = Recorded & { meter: MeterView | null };

const MeterCommandPayload = builder.objectRef<MeterPayloadShape>('MeterCommandPayload').implement({
  description: 'A meter command recorded (or found recorded under its commandId; nothing new when it changed nothing), and the meter after it.',
  fields: (t) => ({
    ...recordedFields(t),
    meter: t.field({ type: Meter, nullable: true, resolve: (p) => p.meter }),
  }),
});

const RegisterMeterInput = builder.inputType('RegisterMeterInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    meterId: t.id({ required: true }),
    siteId: t.id({ required: true }),
    nodeId: t.id({ required: true, description: "A node of the site's tree (the site's own id for its grid connection)." }),
    measures: t.field({ type: MeterMeasuresRef, required: true }),
  }),
});

const readingFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  commandId: t.id({ required: true }),
  meterId: t.id({ required: true }),
  occurredAt: t.field({
    type: 'DateTime',
    required: true,
    description:
      "The meter's time: at most 7 days before the ledger's now (for a new reading or reset) and at most 5 minutes after it. The ledger records when it received it (recordedAt) itself.",
  }),
  energyImportWh: t.field({ type: 'Decimal', required: true, description: 'Cumulative import register, Wh, at most 3 decimals.' }),
  energyExportWh: t.field({ type: 'Decimal', required: true, description: 'Cumulative export register, Wh, at most 3 decimals.' }),
});

const RecordMeterReadingInput = builder.inputType('RecordMeterReadingInput', {
  fields: (t) => ({ ...readingFields(t), powerW: t.field({ type: 'Decimal' }) }),
});
const CorrectMeterReadingInput = builder.inputType('CorrectMeterReadingInput', {
  fields: (t) => ({ ...readingFields(t), powerW: t.field({ type: 'Decimal' }), reason: t.string({ required: true }) }),
});
const ResetMeterInput = builder.inputType('ResetMeterInput', {
  fields: (t) => ({ ...readingFields(t), reason: t.string({ required: true, description: 'Why: a replaced meter, a reset register.' }) }),
});

async function payload(ctx: GraphQLContext, commandId: string, meterId: string, result: AppendResult, command: string): Promise<MeterPayloadShape> {
  return { ...recorded(ctx, commandId, command, result), meter: await loadMeterView(ctx, meterId) };
}

builder.mutationField('registerMeter', (t) =>
  t.field({
    type: MeterCommandPayload,
    description: 'Registers a meter at a node of a site (both must exist).',
    args: { input: t.arg({ type: RegisterMeterInput, required: true }) },
    errors: { types: meterCommandErrors('RegisterMeter'), directResult: true, union: { name: unionName('registerMeter') } },
    authScopes: PLATFORM_WRITERS,
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const meterId = String(input.meterId);
      const { result } = await ctx.ledger.metering.service.registerMeter(
        { meterId, siteId: String(input.siteId), nodeId: String(input.nodeId), measures: input.measures },
        commandContext(ctx, commandId),
      );
      return payload(ctx, commandId, meterId, result, 'RegisterMeter');
    },
  }),
);

/** A reading, correction or reset without its `at`: the service records it at the ledger's now. */
type MeterCommandInput = Exclude<MeterCommand, { type: 'RegisterMeter' }> extends infer C ? (C extends { at: string } ? Omit<C, 'at'> : never) : never;

async function sendMeterCommand(ctx: GraphQLContext, commandId: string, command: MeterCommandInput): Promise<MeterPayloadShape> {
  const { result } = await ctx.ledger.metering.service.meter(command, commandContext(ctx, commandId));
  return payload(ctx, commandId, command.meterId, result, command.type);
}

builder.mutationField('recordMeterReading', (t) =>
  t.field({
    type: MeterCommandPayload,
    description: 'A reading of a site or node meter. The same reading sent twice is recorded once; late ones are placed by occurredAt.',
    args: { input: t.arg({ type: RecordMeterReadingInput, required: true }) },
    errors: { types: meterCommandErrors('RecordMeterReading'), directResult: true, union: { name: unionName('recordMeterReading') } },
    authScopes: PLATFORM_WRITERS,
    resolve: (_root, { input }, ctx) =>
      sendMeterCommand(ctx, String(input.commandId), {
        type: 'RecordMeterReading',
        meterId: String(input.meterId),
        occurredAt: input.occurredAt,
        energyImportWh: input.energyImportWh,
        energyExportWh: input.energyExportWh,
        powerW: input.powerW ?? null,
      }),
  }),
);

builder.mutationField('correctMeterReading', (t) =>
  t.field({
    type: MeterCommandPayload,
    description: 'Replaces the values of a recorded reading (a new event; the old one stays in the log).',
    args: { input: t.arg({ type: CorrectMeterReadingInput, required: true }) },
    errors: { types: meterCommandErrors('CorrectMeterReading'), directResult: true, union: { name: unionName('correctMeterReading') } },
    authScopes: PLATFORM_WRITERS,
    resolve: (_root, { input }, ctx) =>
      sendMeterCommand(ctx, String(input.commandId), {
        type: 'CorrectMeterReading',
        meterId: String(input.meterId),
        occurredAt: input.occurredAt,
        energyImportWh: input.energyImportWh,
        energyExportWh: input.energyExportWh,
        powerW: input.powerW ?? null,
        reason: input.reason,
      }),
  }),
);

builder.mutationField('resetMeter', (t) =>
  t.field({
    type: MeterCommandPayload,
    description: 'The meter was replaced or reset: from occurredAt its registers continue from these values.',
    args: { input: t.arg({ type: ResetMeterInput, required: true }) },
    errors: { types: meterCommandErrors('ResetMeter'), directResult: true, union: { name: unionName('resetMeter') } },
    authScopes: PLATFORM_WRITERS,
    resolve: (_root, { input }, ctx) =>
      sendMeterCommand(ctx, String(input.commandId), {
        type: 'ResetMeter',
        meterId: String(input.meterId),
        occurredAt: input.occurredAt,
        energyImportWh: input.energyImportWh,
        energyExportWh: input.energyExportWh,
        reason: input.reason,
      }),
  }),
);
