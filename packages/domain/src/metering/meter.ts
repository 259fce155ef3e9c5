import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import { toDecimalString, formatInstant, parseInstant, parseId, parseQuantity } from '../values/index.ts';
import { MeterAlreadyRegistered, UnknownMeter } from './metering-errors.ts';
import { METER_MEASURES, type MeterCommand, type MeterEvent, type MeterMeasures, type MeterState, type NodeMeterReading, type RegisteredMeter } from './meter-types.ts';
import { checkNotFromFuture, decideCorrection, decideReading, decideReset, emptySeries, parseRegister, withReading, withReset, type SegmentStart } from './register-series.ts';

export const meterStreamId = (meterId: string): string => `meter-${meterId}`;

export const checkMeterId = (meterId: unknown): string => parseId('meterId', meterId);

function checkMeasures(value: unknown): MeterMeasures {
  if (!(METER_MEASURES as readonly unknown[]).includes(value)) {
    throw new InvalidCommand('measures', `${JSON.stringify(value)} is not one of ${METER_MEASURES.join(', ')}`);
  }
  return value as MeterMeasures;
}

function checkReason(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    throw new InvalidCommand('reason', 'must be a non-empty text of at most 200 characters');
  }
  return value.trim();
}

const instantText = (field: string, value: unknown): string => formatInstant(parseInstant(field, value));

/** The command's time and the meter's: a meter timestamp more than 5 minutes ahead is refused. */
function checkTimes(meterId: string, command: { at: string; occurredAt: string }): void {
  const atMs = parseInstant('at', command.at);
  const occurredAtMs = parseInstant('occurredAt', command.occurredAt);
  checkNotFromFuture({ meterId }, occurredAtMs, atMs, formatInstant(occurredAtMs), formatInstant(atMs));
}

function readingOf(command: { occurredAt: string; energyImportWh: string; energyExportWh: string; powerW: string | null }): NodeMeterReading {
  return {
    occurredAt: instantText('occurredAt', command.occurredAt),
    energyImportWh: parseRegister('energyImportWh', command.energyImportWh),
    energyExportWh: parseRegister('energyExportWh', command.energyExportWh),
    powerW: command.powerW === null ? null : toDecimalString(parseQuantity('powerW', command.powerW)),
  };
}

function decideOnMeter(meter: RegisteredMeter, command: Exclude<MeterCommand, { type: 'RegisterMeter' }>): MeterEvent[] {
  const { meterId } = meter;
  const subject = { meterId };
  switch (command.type) {
    case 'RecordMeterReading': {
      const reading = readingOf(command);
      checkTimes(meterId, command);
      return decideReading(meter.series, reading, subject) ? [{ type: 'MeterReadingRecorded', data: { meterId, ...reading } }] : [];
    }
    case 'CorrectMeterReading': {
      const reading = readingOf(command);
      const reason = checkReason(command.reason);
      checkTimes(meterId, command);
      return decideCorrection(meter.series, reading, subject) ? [{ type: 'MeterReadingCorrected', data: { meterId, ...reading, reason } }] : [];
    }
    case 'ResetMeter': {
      const start: SegmentStart = {
        occurredAt: instantText('occurredAt', command.occurredAt),
        energyImportWh: parseRegister('energyImportWh', command.energyImportWh),
        energyExportWh: parseRegister('energyExportWh', command.energyExportWh),
      };
      const reason = checkReason(command.reason);
      checkTimes(meterId, command);
      return decideReset(meter.series, start, subject) ? [{ type: 'MeterReset', data: { meterId, ...start, reason } }] : [];
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * A site or node meter (building load, generation, storage): registered at a node, then its
 * readings (cumulative registers, late and out of order), corrections and resets, by the rules of
 * register-series.ts. Whether the site and the node exist is checked by the application, which
 * can read the site; this decider checks the form.
 */
export const meterDecider: Decider<MeterState, MeterCommand, MeterEvent> = {
  initialState: () => ({ status: 'unregistered' }),

  decide(command, state) {
    const meterId = checkMeterId(command.meterId);
    if (command.type === 'RegisterMeter') {
      const siteId = parseId('siteId', command.siteId);
      const nodeId = parseId('nodeId', command.nodeId);
      const measures = checkMeasures(command.measures);
      const registeredAt = instantText('at', command.at);
      if (state.status === 'registered') throw new MeterAlreadyRegistered(meterId, state.siteId, state.nodeId);
      return [{ type: 'MeterRegistered', data: { meterId, siteId, nodeId, measures, registeredAt } }];
    }
    if (state.status === 'unregistered') throw new UnknownMeter(meterId);
    return decideOnMeter(state, command);
  },

  evolve(state, event) {
    if (event.type === 'MeterRegistered') {
      return { status: 'registered', ...event.data, series: emptySeries<NodeMeterReading>(null), lastReading: null };
    }
    if (state.status === 'unregistered') return state;
    switch (event.type) {
      case 'MeterReadingRecorded':
      case 'MeterReadingCorrected': {
        const { occurredAt, energyImportWh, energyExportWh, powerW } = event.data;
        const series = withReading(state.series, { occurredAt, energyImportWh, energyExportWh, powerW });
        return { ...state, series, lastReading: series.readings.at(-1) ?? null };
      }
      case 'MeterReset': {
        const { occurredAt, energyImportWh, energyExportWh } = event.data;
        return { ...state, series: withReset(state.series, { occurredAt, energyImportWh, energyExportWh }) };
      }
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  },
};
