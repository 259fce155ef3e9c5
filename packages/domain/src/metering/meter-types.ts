/**
 * A site or node meter (`meter-<meterId>` stream): a meter at a node of a site's tree that measures
 * the building's load, local generation (solar) or a stationary storage, with its cumulative
 * energy registers (Wh, decimal strings, at most 3 decimals) and optional power (W). Instants are
 * ISO-8601 UTC.
 */
import type { RegisterSeries, SegmentStart } from './register-series.ts';

export const METER_MEASURES = ['building_load', 'generation', 'storage'] as const;

/** What a meter measures at its node. */
export type MeterMeasures = (typeof METER_MEASURES)[number];

export type NodeMeterReading = { occurredAt: string; energyImportWh: string; energyExportWh: string; powerW: string | null };

/** Registers a meter at a node; the application checks that the site and the node exist. */
export type RegisterMeter = { type: 'RegisterMeter'; meterId: string; at: string; siteId: string; nodeId: string; measures: MeterMeasures };

/**
 * A reading at the meter's timestamp `occurredAt`; `at` is when the ledger receives it (a reading
 * dated more than 5 minutes after it is refused). The same reading sent again is recorded once.
 */
export type RecordMeterReading = {
  type: 'RecordMeterReading';
  meterId: string;
  at: string;
  occurredAt: string;
  energyImportWh: string;
  energyExportWh: string;
  powerW: string | null;
};

/** Replaces the values of the reading recorded at `occurredAt`; the old ones stay in the log. */
export type CorrectMeterReading = Omit<RecordMeterReading, 'type'> & { type: 'CorrectMeterReading'; reason: string };

/** The meter was replaced or reset: from `occurredAt` its registers continue from these values. */
export type ResetMeter = { type: 'ResetMeter'; meterId: string; at: string; occurredAt: string; energyImportWh: string; energyExportWh: string; reason: string };

export type MeterCommand = RegisterMeter | RecordMeterReading | CorrectMeterReading | ResetMeter;

export type MeterEvent =
  | { type: 'MeterRegistered'; data: { meterId: string; siteId: string; nodeId: string; measures: MeterMeasures; registeredAt: string } }
  | { type: 'MeterReadingRecorded'; data: { meterId: string } & NodeMeterReading }
  | { type: 'MeterReadingCorrected'; data: { meterId: string } & NodeMeterReading & { reason: string } }
  | { type: 'MeterReset'; data: { meterId: string } & SegmentStart & { reason: string } };

export type RegisteredMeter = {
  status: 'registered';
  meterId: string;
  siteId: string;
  nodeId: string;
  measures: MeterMeasures;
  registeredAt: string;
  /** Readings and resets; segment 0 starts from its first reading (a node meter has no origin). */
  series: RegisterSeries<NodeMeterReading>;
  /** The latest reading by occurredAt; null before the first. */
  lastReading: NodeMeterReading | null;
};

export type MeterState = { status: 'unregistered' } | RegisteredMeter;
