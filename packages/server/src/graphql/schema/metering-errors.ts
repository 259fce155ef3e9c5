import {
  TimeOutOfBounds,
  ConflictingMeterReading,
  MeterAlreadyRegistered,
  MeterReadingFromFuture,
  METER_REFUSALS,
  ReadingsAfterMeterReset,
  UnknownMeter,
  UnknownMeterReading,
  UnknownNode,
  UnknownSite,
  type MeterCommand,
  type MeterValues,
  type RefusalClass,
} from '@v2g/domain';
import { builder } from '../builder.ts';
import { COMMAND_ERRORS, ErrorInterface } from './errors.ts';
import { errorType } from './grid-errors.ts';

/**
 * Metering's refusals as GraphQL types, for a session's meter (`sessionId`) and for a site or
 * node meter (`meterId`): each names its meter with one of the two.
 */

const subject = {
  sessionId: { about: "The session, for a session's meter.", shape: 'optional' },
  meterId: { about: 'The meter, for a site or node meter.', shape: 'optional' },
} as const;

const MeterValuesRef = builder.objectRef<MeterValues>('MeterValues').implement({
  description: 'The values of a reading or of a reset, as recorded or as sent.',
  fields: (t) => ({
    energyImportWh: t.field({ type: 'Decimal', resolve: (v) => v.energyImportWh }),
    energyExportWh: t.field({ type: 'Decimal', resolve: (v) => v.energyExportWh }),
    powerW: t.field({ type: 'Decimal', nullable: true, resolve: (v) => v.powerW ?? null }),
    socPercent: t.field({ type: 'Decimal', nullable: true, resolve: (v) => v.socPercent ?? null }),
  }),
});

const detail = (error: ConflictingMeterReading, key: string) => error.details[key];

builder.objectType(ConflictingMeterReading, {
  name: 'ConflictingMeterReadingError',
  description: 'A reading (or a reset) at an instant that already has one with other values: send a correction to change it.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    // Facts are strings, as in every error type of grid-errors.ts, so that fragments over a
    // result union merge (same field name, same type).
    sessionId: t.string({ nullable: true, description: subject.sessionId.about, resolve: (e) => (detail(e, 'sessionId') as string | undefined) ?? null }),
    meterId: t.string({ nullable: true, description: subject.meterId.about, resolve: (e) => (detail(e, 'meterId') as string | undefined) ?? null }),
    what: t.string({ description: '"reading" or "reset".', resolve: (e) => String(detail(e, 'what')) }),
    occurredAt: t.string({ description: "The meter's time of both.", resolve: (e) => String(detail(e, 'occurredAt')) }),
    recorded: t.field({ type: MeterValuesRef, description: 'What the ledger holds.', resolve: (e) => detail(e, 'recorded') as MeterValues }),
    sent: t.field({ type: MeterValuesRef, description: 'What the command sent.', resolve: (e) => detail(e, 'sent') as MeterValues }),
  }),
});

errorType(MeterReadingFromFuture, 'MeterReadingFromFutureError', "A meter timestamp more than 5 minutes after the command's time.", {
  ...subject,
  occurredAt: "The meter's time.",
  at: "The command's time (when the ledger received it).",
});
errorType(UnknownMeterReading, 'UnknownMeterReadingError', 'A correction of a reading that was never recorded.', {
  ...subject,
  occurredAt: 'The instant asked for.',
});
errorType(ReadingsAfterMeterReset, 'ReadingsAfterMeterResetError', 'A reset at an instant after which the meter it replaces has readings.', {
  ...subject,
  occurredAt: "The reset's instant.",
  readingsAt: { about: 'The instants of those readings.', shape: 'list' },
});
errorType(UnknownMeter, 'UnknownMeterError', 'No such meter: register it first.', { meterId: 'The meter.' });
errorType(MeterAlreadyRegistered, 'MeterAlreadyRegisteredError', 'The meter id is taken.', {
  meterId: 'The meter.',
  siteId: 'Its site.',
  nodeId: 'Its node.',
});

/**
 * What the metering service (metering-service.ts) checks around the meter's decider, per command:
 * registering looks the meter's site and node up; a new reading and a reset are bounded by the
 * ledger's clock (how long ago); a correction states no new time and meets the meter alone.
 */
const METERING_SERVICE_REFUSALS = {
  RegisterMeter: [UnknownSite, UnknownNode],
  RecordMeterReading: [TimeOutOfBounds],
  CorrectMeterReading: [],
  ResetMeter: [TimeOutOfBounds],
} as const satisfies Record<MeterCommand['type'], readonly RefusalClass[]>;

/**
 * What one meter command can meet, and nothing else: what the meter's decider refuses it with
 * (METER_REFUSALS, checked against the decider by a property test in the domain), what the
 * service checks around it, and the store's refusals every command meets.
 */
export function meterCommandErrors(type: MeterCommand['type']): RefusalClass[] {
  return [...new Set<RefusalClass>([...COMMAND_ERRORS, ...METER_REFUSALS[type], ...METERING_SERVICE_REFUSALS[type]])];
}
