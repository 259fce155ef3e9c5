/**
 * A charging session (`session-<id>` stream): one plug-in of one vehicle at one connector, what
 * the driver asked for, and the meter readings taken while it lasts. Energy in Wh, power in W, SoC
 * in percent, all decimal strings; instants ISO-8601 UTC.
 */
import type { Tier } from '../allocation/types.ts';
import type { SegmentStart } from '../metering/register-series.ts';

export type V2gConsent = {
  /** The driver's reserve: the battery is never discharged below this SoC. */
  minSocPercent: string;
  maxDischargePowerW: string;
};

export type PlugIn = {
  type: 'PlugIn';
  sessionId: string;
  siteId: string;
  connectorId: string;
  at: string;
  vehicleId: string;
  customerId: string;
  fleetId: string | null;
  tier: Tier;
  departureAt: string;
  /** Either the energy needed, or a target SoC with the battery's capacity and its SoC now. */
  energyNeededWh: string | null;
  targetSocPercent: string | null;
  batteryCapacityWh: string | null;
  socPercent: string | null;
  minPowerW: string;
  maxPowerW: string;
  /** null: no V2G. Consent needs batteryCapacityWh and socPercent, so the reserve can be kept. */
  v2g: V2gConsent | null;
  /** The connector's energy registers at plug-in (OCPP meterStart); default "0". */
  meterStartImportWh: string | null;
  meterStartExportWh: string | null;
};

export type SessionCommand =
  | PlugIn
  | { type: 'SuspendSession'; sessionId: string; at: string }
  | { type: 'ReactivateSession'; sessionId: string; at: string }
  | { type: 'StopSession'; sessionId: string; at: string; reason: string }
  | { type: 'ChangeDeparture'; sessionId: string; at: string; departureAt: string }
  | RecordSessionMeterReading
  | CorrectSessionMeterReading
  | ResetSessionMeter;

/**
 * A reading of the connector's meter: cumulative registers (Wh, at most 3 decimals) at the meter's
 * timestamp `occurredAt`; `at` is when the ledger receives it (a reading dated more than 5 minutes
 * after it is refused). The same reading sent again is recorded once.
 */
export type RecordSessionMeterReading = {
  type: 'RecordSessionMeterReading';
  sessionId: string;
  at: string;
  occurredAt: string;
  energyImportWh: string;
  energyExportWh: string;
  powerW: string | null;
  socPercent: string | null;
};

/** Replaces the values of the reading recorded at `occurredAt`; the old ones stay in the log. */
export type CorrectSessionMeterReading = Omit<RecordSessionMeterReading, 'type'> & { type: 'CorrectSessionMeterReading'; reason: string };

/** The meter was replaced or reset: from `occurredAt` its registers continue from these values. */
export type ResetSessionMeter = {
  type: 'ResetSessionMeter';
  sessionId: string;
  at: string;
  occurredAt: string;
  energyImportWh: string;
  energyExportWh: string;
  reason: string;
};

export type SessionPluggedInData = Omit<PlugIn, 'type' | 'at' | 'meterStartImportWh' | 'meterStartExportWh'> & {
  pluggedInAt: string;
  meterStartImportWh: string;
  meterStartExportWh: string;
};

export type SessionEvent =
  | { type: 'SessionPluggedIn'; data: SessionPluggedInData }
  | { type: 'SessionSuspended'; data: { sessionId: string; at: string } }
  | { type: 'SessionReactivated'; data: { sessionId: string; at: string } }
  | { type: 'SessionStopped'; data: { sessionId: string; at: string; reason: string } }
  | { type: 'SessionDepartureChanged'; data: { sessionId: string; at: string; departureAt: string } }
  | { type: 'SessionMeterReadingRecorded'; data: { sessionId: string } & MeterReading }
  | { type: 'SessionMeterReadingCorrected'; data: { sessionId: string } & MeterReading & { reason: string } }
  | { type: 'SessionMeterReset'; data: { sessionId: string } & SegmentStart & { reason: string } };

export type MeterReading = { occurredAt: string; energyImportWh: string; energyExportWh: string; powerW: string | null; socPercent: string | null };

export type SessionState =
  | { status: 'none' }
  | (SessionPluggedInData & {
      status: 'active' | 'suspended' | 'stopped';
      stoppedAt: string | null;
      /** The latest reading by occurredAt, whichever segment it is in; null before the first. */
      lastReading: MeterReading | null;
      /**
       * Every accepted reading, sorted by occurredAt (one per instant: a correction replaces the
       * reading at its instant). A late reading is checked against its neighbours in time, and a
       * resent one is recognised, only with the readings around it at hand.
       */
      readings: readonly MeterReading[];
      /**
       * Meter resets (replaced or reset meters), sorted by occurredAt. With the meter start at
       * plug-in they split `readings` into segments: see sessionMeterSeries and register-series.ts.
       */
      meterResets: readonly SegmentStart[];
    });

/** What the allocation needs to know about a session at one instant. */
export type SessionNeeds = {
  /** Net energy delivered since plug-in (import minus export), Wh. */
  deliveredWh: string;
  /** Energy still needed to meet the request, Wh (0 when met). */
  remainingWh: string;
  /** Known or estimated SoC now; null when the session gave no SoC. */
  socPercent: string | null;
  /** Seconds to departure minus seconds still needed at maxPowerW (negative: cannot make it). */
  laxityS: number;
  /** Average power that would meet the need exactly by departure, capped at maxPowerW, W. */
  requiredPowerW: string;
};
