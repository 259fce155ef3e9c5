import { ConflictingMeterReading, MeterReadingFromFuture, MeterRegisterWentBackwards, ReadingsAfterMeterReset, UnknownMeterReading } from '../metering/metering-errors.ts';
import type { RefusalClass } from '../site/site-refusals.ts';
import { InvalidSessionRequest, InvalidSessionTransition, SessionAlreadyExists, SessionClosed, UnknownSession } from './session.ts';
import type { SessionCommand } from './session-types.ts';

/**
 * What the session's decider can refuse each command with, and nothing more (see SITE_REFUSALS):
 * the API's result unions are built from these lists, and `session-refusals.unit.spec.ts` fails
 * on any refusal the decider makes that a list lacks. The session decider reports malformed
 * fields as InvalidSessionRequest, never InvalidCommand.
 */
export const SESSION_REFUSALS = {
  PlugIn: [InvalidSessionRequest, SessionAlreadyExists],
  SuspendSession: [InvalidSessionRequest, UnknownSession, SessionClosed, InvalidSessionTransition],
  ReactivateSession: [InvalidSessionRequest, UnknownSession, SessionClosed, InvalidSessionTransition],
  StopSession: [InvalidSessionRequest, UnknownSession, SessionClosed],
  ChangeDeparture: [InvalidSessionRequest, UnknownSession, SessionClosed],
  RecordSessionMeterReading: [InvalidSessionRequest, UnknownSession, MeterReadingFromFuture, SessionClosed, ConflictingMeterReading, MeterRegisterWentBackwards],
  CorrectSessionMeterReading: [InvalidSessionRequest, UnknownSession, MeterReadingFromFuture, SessionClosed, UnknownMeterReading, MeterRegisterWentBackwards],
  ResetSessionMeter: [InvalidSessionRequest, UnknownSession, MeterReadingFromFuture, SessionClosed, ConflictingMeterReading, ReadingsAfterMeterReset],
} as const satisfies Record<SessionCommand['type'], readonly RefusalClass[]>;
