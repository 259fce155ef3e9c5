/**
 * Refusals of metering: the rules of cumulative registers (register-series.ts), shared by the
 * session aggregate (a connector's meter, `sessionId`) and the meter aggregate (a site or node
 * meter, `meterId`). Every error names its meter in `details` under one of those two keys.
 */
import { DomainError } from '../errors.ts';

/** Whose meter: a session's connector or a node meter. */
export type MeterSubject = { sessionId: string } | { meterId: string };

export type MeterRegister = 'energyImportWh' | 'energyExportWh';

/** The values of a reading (or of a reset) as recorded and as sent, for an error to name both. */
export type MeterValues = { energyImportWh: string; energyExportWh: string; powerW?: string | null; socPercent?: string | null };

export const describeSubject = (subject: MeterSubject): string => ('sessionId' in subject ? `session ${subject.sessionId}` : `meter ${subject.meterId}`);

const describeValues = (values: MeterValues): string =>
  [
    `import ${values.energyImportWh} Wh`,
    `export ${values.energyExportWh} Wh`,
    ...('powerW' in values ? [`power ${values.powerW ?? 'none'} W`] : []),
    ...('socPercent' in values ? [`SoC ${values.socPercent ?? 'none'} %`] : []),
  ].join(', ');

/**
 * Energy registers are cumulative: within one segment (between resets) a reading may never show
 * less than the reading before it in time (or the register the segment starts from), nor more than
 * the reading after it.
 */
export class MeterRegisterWentBackwards extends DomainError {
  readonly code = 'METER_REGISTER_WENT_BACKWARDS';
  constructor(subject: MeterSubject, register: MeterRegister, previous: { at: string; wh: string }, next: { at: string; wh: string }) {
    super(`${describeSubject(subject)}: ${register} went from ${previous.wh} Wh at ${previous.at} back to ${next.wh} Wh at ${next.at}`, {
      ...subject,
      register,
      previousAt: previous.at,
      previousWh: previous.wh,
      newAt: next.at,
      newWh: next.wh,
    });
  }
}

/**
 * A reading (or a reset) at an instant that already has one with other values. The same values
 * again are recorded once; different ones are refused: a correction is its own command.
 */
export class ConflictingMeterReading extends DomainError {
  readonly code = 'CONFLICTING_METER_READING';
  constructor(subject: MeterSubject, what: 'reading' | 'reset', occurredAt: string, recorded: MeterValues, sent: MeterValues) {
    super(
      `${describeSubject(subject)}: a ${what} at ${occurredAt} is already recorded with ${describeValues(recorded)}; ` +
        `the one sent has ${describeValues(sent)} (send a correction to change it)`,
      { ...subject, what, occurredAt, recorded, sent },
    );
  }
}

/** A meter timestamp more than MAX_READING_AHEAD_MS after the command's time. */
export class MeterReadingFromFuture extends DomainError {
  readonly code = 'METER_READING_FROM_FUTURE';
  constructor(subject: MeterSubject, occurredAt: string, at: string) {
    super(`${describeSubject(subject)}: the reading occurred at ${occurredAt}, more than 5 minutes after ${at}`, { ...subject, occurredAt, at });
  }
}

/** A correction of a reading that was never recorded. */
export class UnknownMeterReading extends DomainError {
  readonly code = 'UNKNOWN_METER_READING';
  constructor(subject: MeterSubject, occurredAt: string) {
    super(`${describeSubject(subject)} has no reading at ${occurredAt} to correct`, { ...subject, occurredAt });
  }
}

/**
 * A reset at an instant after which the meter it replaces already has readings: those readings
 * would change segment. Readings of the old meter must all be before the reset.
 */
export class ReadingsAfterMeterReset extends DomainError {
  readonly code = 'READINGS_AFTER_METER_RESET';
  constructor(subject: MeterSubject, occurredAt: string, readingsAt: readonly string[]) {
    super(
      `${describeSubject(subject)}: cannot reset at ${occurredAt}, the meter before it has ${readingsAt.length} reading(s) at or after that instant (${readingsAt.join(', ')})`,
      { ...subject, occurredAt, readingsAt: [...readingsAt] },
    );
  }
}

export class UnknownMeter extends DomainError {
  readonly code = 'UNKNOWN_METER';
  constructor(meterId: string) {
    super(`meter ${meterId} is not registered`, { meterId });
  }
}

export class MeterAlreadyRegistered extends DomainError {
  readonly code = 'METER_ALREADY_REGISTERED';
  constructor(meterId: string, siteId: string, nodeId: string) {
    super(`meter ${meterId} is already registered (at node ${nodeId} of site ${siteId})`, { meterId, siteId, nodeId });
  }
}
