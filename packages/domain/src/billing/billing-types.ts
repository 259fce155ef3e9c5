/**
 * Prices, tariffs, tariff assignments and what billing computes from them. Money is in minor
 * units of the currency (cents for EUR) as decimal strings: prices `…MinorPerKWh`, amounts
 * `…Minor`. Energy in Wh, power in W, instants ISO-8601 UTC (canonical, with milliseconds).
 * Billing intervals are the 15-minute intervals [start, start + 15 min) aligned to the UTC hour.
 */

// ---- prices-<zone> ------------------------------------------------------------------------------

export type PricePoint = {
  /** [start, end): aligned to 15 minutes; expanded into one price per 15-minute interval. */
  start: string;
  end: string;
  priceMinorPerKWh: string;
  /** Carbon intensity, g CO2e per kWh, when the source gives it. */
  carbonGPerKWh: string | null;
};

export type IntervalPrice = { start: string; priceMinorPerKWh: string; carbonGPerKWh: string | null };

export type PricesCommand = { type: 'PublishPrices'; zone: string; at: string; currency: string; source: string; points: PricePoint[] };

export type PricesEvent =
  /** Intervals priced for the first time. */
  | { type: 'PricesPublished'; data: { zone: string; currency: string; source: string; intervals: IntervalPrice[] } }
  /** Intervals priced again with another figure: the earlier price stays in the log, "as known at" earlier still shows it. */
  | { type: 'PricesRevised'; data: { zone: string; currency: string; source: string; intervals: (IntervalPrice & { previousPriceMinorPerKWh: string })[] } };

// ---- tariff-<id> --------------------------------------------------------------------------------

export type TimeOfUseWindow = {
  name: string;
  /** ISO days, 1 = Monday … 7 = Sunday, in the tariff's time zone; null = every day. */
  daysOfWeek: number[] | null;
  /** "HH:MM" local time in the tariff's time zone; to <= from wraps midnight. */
  from: string;
  to: string;
  priceMinorPerKWh: string;
};

export type EnergyPrice =
  | { kind: 'fixed'; priceMinorPerKWh: string }
  /** An interval is priced by the window its start falls in (local time), else `defaultMinorPerKWh`. */
  | { kind: 'time_of_use'; timeZone: string; defaultName: string; defaultMinorPerKWh: string; windows: TimeOfUseWindow[] }
  /** Spot price of the zone for the interval plus a margin, then bounded by floor and cap. */
  | { kind: 'dynamic'; zone: string; marginMinorPerKWh: string; floorMinorPerKWh: string | null; capMinorPerKWh: string | null };

/** A surcharge per kWh by charging speed: an interval's average import power picks the band with the highest fromPowerW <= it. */
export type SpeedBand = { name: 'slow' | 'fast' | 'ultra_fast'; fromPowerW: string; surchargeMinorPerKWh: string };

export type ExportCredit = { kind: 'fixed'; creditMinorPerKWh: string } | { kind: 'spot'; zone: string; marginMinorPerKWh: string; floorMinorPerKWh: string | null };

export type TariffDefinition = {
  tariffId: string;
  name: string;
  /** ISO 4217, e.g. "EUR". */
  currency: string;
  energy: EnergyPrice;
  speedBands: SpeedBand[];
  /** Charged once per session, in the month the session was plugged in. */
  sessionFeeMinor: string | null;
  /** V2G: what exported energy is credited. */
  exportCredit: ExportCredit | null;
};

export type TariffCommand = { type: 'DefineTariff'; at: string; tariff: TariffDefinition };
export type TariffEvent = { type: 'TariffDefined'; data: TariffDefinition };

// ---- account-<accountId> (a customer or a fleet) ------------------------------------------------

export type AccountCommand = { type: 'AssignTariff'; accountId: string; at: string; tariffId: string; validFrom: string; validTo: string | null };

export type AccountEvent =
  /**
   * The account pays `tariffId` on [validFrom, validTo). An assignment starting inside an open-ended
   * one ends that one at its validFrom (a change of tariff mid-month); it may not overlap a closed one.
   */
  { type: 'TariffAssigned'; data: { accountId: string; tariffId: string; validFrom: string; validTo: string | null } };

// ---- what billing works from --------------------------------------------------------------------

/** Energy of one session in one 15-minute interval, apportioned linearly between meter readings. */
export type IntervalEnergy = {
  sessionId: string;
  intervalStart: string;
  importWh: string;
  exportWh: string;
  /** Global positions (decimal strings) of the meter-reading events the figures come from. */
  justifiedBy: string[];
};

export type BillableSession = {
  sessionId: string;
  /** Who pays: the session's fleet when it has one, else its customer. */
  accountId: string;
  siteId: string;
  pluggedInAt: string;
  stoppedAt: string | null;
  /** Position of the SessionPluggedIn event. */
  position: string;
};

export type SpotPrice = { zone: string; intervalStart: string; priceMinorPerKWh: string; currency: string; position: string };

export type TariffAssignmentPeriod = { accountId: string; tariffId: string; validFrom: string; validTo: string | null; position: string };

/** Everything billing needs for one account, as known at some moment. */
export type BillingInput = {
  sessions: BillableSession[];
  intervals: IntervalEnergy[];
  tariffs: ReadonlyMap<string, TariffDefinition & { position: string }>;
  assignments: TariffAssignmentPeriod[];
  /** Spot prices by zone then interval start. */
  prices: ReadonlyMap<string, ReadonlyMap<string, SpotPrice>>;
};

export type ChargeComponent = 'energy' | 'speed' | 'session_fee' | 'export_credit';

/** An exact (unrounded) charge: negative for a credit. */
export type Charge = {
  sessionId: string;
  component: ChargeComponent;
  /** The interval it is for; null for the session fee. */
  intervalStart: string | null;
  tariffId: string;
  /** Energy it is for, Wh (0 for the fee). */
  energyWh: string;
  /** The unit price applied, minor per kWh (null for the fee). */
  unitPriceMinorPerKWh: string | null;
  /** E.g. "peak", "off-peak", "spot 8.21 + 2.5", "fast". */
  priceLabel: string;
  amountMinor: string;
  /** Positions of the events that justify it: readings, tariff, assignment, price. */
  justifiedBy: string[];
};

export type InvoiceLine = {
  /** One line per session and component (and per tariff and price label). */
  sessionId: string;
  component: ChargeComponent;
  tariffId: string;
  priceLabel: string;
  energyWh: string;
  /** Sum of the exact charges of the line. */
  exactAmountMinor: string;
  /** Rounded half-even to a whole minor unit, then adjusted by the remainder allocation. */
  amountMinor: string;
  justifiedBy: string[];
};

export type Invoice = {
  accountId: string;
  /** "2026-11" (UTC month). */
  month: string;
  currency: string;
  lines: InvoiceLine[];
  /** The exact total rounded half-even; the lines add up to it exactly. */
  totalMinor: string;
  /** Intervals a dynamic or spot-indexed price could not be found for (not billed yet). */
  unpricedIntervals: { sessionId: string; intervalStart: string; zone: string }[];
  /**
   * Intervals (and session fees: intervalStart null) of the month that no tariff prices, so not
   * billed: no tariff assigned to the account at that instant (tariffId null), or an assignment
   * naming a tariff the billing input does not hold (its tariffId).
   */
  untariffedIntervals: { sessionId: string; intervalStart: string | null; tariffId: string | null }[];
};
