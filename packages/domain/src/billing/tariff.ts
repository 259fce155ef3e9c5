/**
 * The tariff aggregate (`tariff-<id>` stream): what a kWh, a charging speed, a session and an
 * exported kWh cost under one tariff. A tariff is defined once and never changes: a new price is a
 * new tariff, assigned to accounts from some instant on (see account.ts), so that every invoice
 * line points at the one definition it was priced by.
 */
import type { Decider } from '../decider.ts';
import { InvalidCommand } from '../errors.ts';
import { TariffAlreadyDefined } from './billing-errors.ts';
import {
  canonicalDecimal,
  canonicalInstant,
  checkArray,
  checkCurrency,
  checkObject,
  parseId,
  checkText,
  checkZone,
  decimalText,
  exactDecimal,
  exactNonNegative,
  checkQuantity,
} from '../values/index.ts';
import type { EnergyPrice, ExportCredit, SpeedBand, TariffCommand, TariffDefinition, TariffEvent } from './billing-types.ts';
import { checkTimeZone, checkWindows } from './time-of-use.ts';

export type TariffState = { status: 'none' } | { status: 'defined'; tariff: TariffDefinition };

export const tariffStreamId = (tariffId: string): string => `tariff-${tariffId}`;

/** Speed bands, slowest first: a tariff lists those it uses in this order. */
export const SPEED_BAND_NAMES: readonly SpeedBand['name'][] = ['slow', 'fast', 'ultra_fast'];

const nonNegative = (field: string, value: unknown): string => decimalText(exactNonNegative(field, checkQuantity(field, value)));
const nullable = <T>(value: unknown, check: (v: unknown) => T): T | null => (value === null || value === undefined ? null : check(value));

function checkEnergy(field: string, value: unknown): EnergyPrice {
  const energy = checkObject(field, value);
  switch (energy['kind']) {
    case 'fixed':
      return { kind: 'fixed', priceMinorPerKWh: nonNegative(`${field}.priceMinorPerKWh`, energy['priceMinorPerKWh']) };
    case 'time_of_use': {
      const timeZone = checkTimeZone(`${field}.timeZone`, energy['timeZone']);
      const defaultName = checkText(`${field}.defaultName`, energy['defaultName'], 100);
      const defaultMinorPerKWh = nonNegative(`${field}.defaultMinorPerKWh`, energy['defaultMinorPerKWh']);
      const windows = checkWindows(`${field}.windows`, energy['windows'], defaultName, defaultMinorPerKWh);
      return { kind: 'time_of_use', timeZone, defaultName, defaultMinorPerKWh, windows };
    }
    case 'dynamic': {
      const zone = checkZone(`${field}.zone`, energy['zone']);
      const marginMinorPerKWh = canonicalDecimal(`${field}.marginMinorPerKWh`, checkQuantity(`${field}.marginMinorPerKWh`, energy['marginMinorPerKWh']));
      const floorMinorPerKWh = nullable(energy['floorMinorPerKWh'], (v) => canonicalDecimal(`${field}.floorMinorPerKWh`, checkQuantity(`${field}.floorMinorPerKWh`, v)));
      const capMinorPerKWh = nullable(energy['capMinorPerKWh'], (v) => canonicalDecimal(`${field}.capMinorPerKWh`, checkQuantity(`${field}.capMinorPerKWh`, v)));
      if (floorMinorPerKWh !== null && capMinorPerKWh !== null && exactDecimal('floor', floorMinorPerKWh).gt(exactDecimal('cap', capMinorPerKWh))) {
        throw new InvalidCommand(`${field}.floorMinorPerKWh`, `${floorMinorPerKWh} is above capMinorPerKWh ${capMinorPerKWh}`);
      }
      return { kind: 'dynamic', zone, marginMinorPerKWh, floorMinorPerKWh, capMinorPerKWh };
    }
    default:
      throw new InvalidCommand(`${field}.kind`, `${JSON.stringify(energy['kind'])} is none of "fixed", "time_of_use", "dynamic"`);
  }
}

function checkSpeedBands(field: string, value: unknown): SpeedBand[] {
  const bands = checkArray(field, value).map((raw, i): SpeedBand => {
    const at = `${field}[${i}]`;
    const band = checkObject(at, raw);
    const name = band['name'];
    if (typeof name !== 'string' || !(SPEED_BAND_NAMES as readonly string[]).includes(name)) {
      throw new InvalidCommand(`${at}.name`, `${JSON.stringify(name)} is none of ${SPEED_BAND_NAMES.map((n) => `"${n}"`).join(', ')}`);
    }
    return {
      name: name as SpeedBand['name'],
      fromPowerW: nonNegative(`${at}.fromPowerW`, band['fromPowerW']),
      surchargeMinorPerKWh: nonNegative(`${at}.surchargeMinorPerKWh`, band['surchargeMinorPerKWh']),
    };
  });
  bands.forEach((band, i) => {
    const before = bands[i - 1];
    if (before === undefined) {
      if (band.fromPowerW !== '0') throw new InvalidCommand(`${field}[0].fromPowerW`, `the first band must start at "0", not "${band.fromPowerW}"`);
      return;
    }
    if (SPEED_BAND_NAMES.indexOf(band.name) <= SPEED_BAND_NAMES.indexOf(before.name)) {
      throw new InvalidCommand(`${field}[${i}].name`, `"${band.name}" after "${before.name}": names are distinct and in the order ${SPEED_BAND_NAMES.join(', ')}`);
    }
    if (!exactDecimal('fromPowerW', band.fromPowerW).gt(exactDecimal('fromPowerW', before.fromPowerW))) {
      throw new InvalidCommand(`${field}[${i}].fromPowerW`, `${band.fromPowerW} must be above the previous band's ${before.fromPowerW}`);
    }
  });
  return bands;
}

function checkExportCredit(field: string, value: unknown): ExportCredit | null {
  if (value === null || value === undefined) return null;
  const credit = checkObject(field, value);
  switch (credit['kind']) {
    case 'fixed':
      return { kind: 'fixed', creditMinorPerKWh: nonNegative(`${field}.creditMinorPerKWh`, credit['creditMinorPerKWh']) };
    case 'spot':
      return {
        kind: 'spot',
        zone: checkZone(`${field}.zone`, credit['zone']),
        marginMinorPerKWh: canonicalDecimal(`${field}.marginMinorPerKWh`, checkQuantity(`${field}.marginMinorPerKWh`, credit['marginMinorPerKWh'])),
        floorMinorPerKWh: nullable(credit['floorMinorPerKWh'], (v) => canonicalDecimal(`${field}.floorMinorPerKWh`, checkQuantity(`${field}.floorMinorPerKWh`, v))),
      };
    default:
      throw new InvalidCommand(`${field}.kind`, `${JSON.stringify(credit['kind'])} is neither "fixed" nor "spot"`);
  }
}

/**
 * Validates a tariff from the edge and returns its canonical form (decimals without trailing
 * zeros, names trimmed, days sorted, the time zone's canonical name). Fields are named
 * "tariff.<path>", as in the DefineTariff command.
 */
export function checkTariffDefinition(value: unknown): TariffDefinition {
  const tariff = checkObject('tariff', value);
  return {
    tariffId: parseId('tariff.tariffId', tariff['tariffId']),
    name: checkText('tariff.name', tariff['name'], 200),
    currency: checkCurrency('tariff.currency', tariff['currency']),
    energy: checkEnergy('tariff.energy', tariff['energy']),
    speedBands: checkSpeedBands('tariff.speedBands', tariff['speedBands']),
    sessionFeeMinor: nullable(tariff['sessionFeeMinor'], (v) => nonNegative('tariff.sessionFeeMinor', v)),
    exportCredit: checkExportCredit('tariff.exportCredit', tariff['exportCredit']),
  };
}

function decide(command: TariffCommand, state: TariffState): TariffEvent[] {
  switch (command.type) {
    case 'DefineTariff': {
      canonicalInstant('at', command.at);
      const tariff = checkTariffDefinition(command.tariff);
      if (state.status === 'defined') {
        if (state.tariff.tariffId !== tariff.tariffId) {
          throw new InvalidCommand('tariff.tariffId', `${tariff.tariffId} is not this stream's tariff (${state.tariff.tariffId})`);
        }
        throw new TariffAlreadyDefined(tariff.tariffId);
      }
      return [{ type: 'TariffDefined', data: tariff }];
    }
    default: {
      const unreachable: never = command.type;
      throw new Error(`unknown command ${String(unreachable)}`);
    }
  }
}

function evolve(_state: TariffState, event: TariffEvent): TariffState {
  switch (event.type) {
    case 'TariffDefined':
      return { status: 'defined', tariff: event.data };
    default: {
      const unreachable: never = event.type;
      throw new Error(`unknown event ${String(unreachable)}`);
    }
  }
}

export const tariffDecider: Decider<TariffState, TariffCommand, TariffEvent> = {
  initialState: () => ({ status: 'none' }),
  decide,
  evolve,
};
