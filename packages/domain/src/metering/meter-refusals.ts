import { InvalidCommand } from '../errors.ts';
import type { RefusalClass } from '../site/site-refusals.ts';
import type { MeterCommand } from './meter-types.ts';
import {
  ConflictingMeterReading,
  MeterAlreadyRegistered,
  MeterReadingFromFuture,
  MeterRegisterWentBackwards,
  ReadingsAfterMeterReset,
  UnknownMeter,
  UnknownMeterReading,
} from './metering-errors.ts';

/**
 * What the meter's decider (a site or node meter) can refuse each command with, and nothing more
 * (see SITE_REFUSALS): the API's result unions are built from these lists, and
 * `meter-refusals.unit.spec.ts` fails on any refusal the decider makes that a list lacks.
 */
export const METER_REFUSALS = {
  RegisterMeter: [InvalidCommand, MeterAlreadyRegistered],
  RecordMeterReading: [InvalidCommand, UnknownMeter, MeterReadingFromFuture, ConflictingMeterReading, MeterRegisterWentBackwards],
  CorrectMeterReading: [InvalidCommand, UnknownMeter, MeterReadingFromFuture, UnknownMeterReading, MeterRegisterWentBackwards],
  ResetMeter: [InvalidCommand, UnknownMeter, MeterReadingFromFuture, ConflictingMeterReading, ReadingsAfterMeterReset],
} as const satisfies Record<MeterCommand['type'], readonly RefusalClass[]>;
