import { describe, expect, it } from 'vitest';
import { HOME_TOU_TARIFF } from '../../test/billing-fixtures.ts';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import { TariffAlreadyDefined } from './billing-errors.ts';
import type { TariffCommand, TariffDefinition, TariffEvent } from './billing-types.ts';
import { tariffDecider, tariffStreamId } from './tariff.ts';

const given = givenFor(tariffDecider);

const touTariff: TariffDefinition = {
  ...HOME_TOU_TARIFF,
  energy: {
    ...HOME_TOU_TARIFF.energy,
    windows: [
      { name: 'peak', daysOfWeek: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', priceMinorPerKWh: '35' },
      { name: 'night', daysOfWeek: null, from: '23:00', to: '06:00', priceMinorPerKWh: '15' },
    ],
  },
  exportCredit: { kind: 'fixed', creditMinorPerKWh: '12' },
};

const define = (tariff: unknown): TariffCommand => ({ type: 'DefineTariff', at: '2026-11-01T00:00Z', tariff: tariff as TariffDefinition });
const defined: TariffEvent = { type: 'TariffDefined', data: touTariff };

/** The tariff with `path` (dot-separated, indices allowed) set to `value`. */
function withField(path: string, value: unknown): unknown {
  const copy = structuredClone(touTariff) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let target = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[keys.at(-1)!] = value;
  return copy;
}

describe('tariff decider', () => {
  it('names its stream by tariff id', () => {
    expect(tariffStreamId('home-tou')).toBe('tariff-home-tou');
  });

  it('defines a tariff once', () => {
    given([]).when(define(touTariff)).then([defined]);
    given([defined]).when(define(touTariff)).thenThrows(TariffAlreadyDefined, { tariffId: 'home-tou' });
    given([defined])
      .when(define({ ...touTariff, tariffId: 'other' }))
      .thenThrows(InvalidCommand, { field: 'tariff.tariffId' });
    const state = [defined].reduce(tariffDecider.evolve, tariffDecider.initialState());
    expect(state).toEqual({ status: 'defined', tariff: touTariff });
  });

  it('stores the canonical form: decimals, trimmed names, sorted days, the time zone as the runtime spells it', () => {
    const sloppy = {
      ...touTariff,
      name: '  Home time-of-use ',
      energy: {
        ...touTariff.energy,
        timeZone: 'europe/amsterdam',
        defaultMinorPerKWh: '20.00',
        windows: [
          { name: ' peak ', daysOfWeek: [5, 4, 3, 2, 1], from: '17:00', to: '21:00', priceMinorPerKWh: '35.0' },
          { name: 'night', daysOfWeek: null, from: '23:00', to: '06:00', priceMinorPerKWh: '15', extra: 'dropped' },
        ],
      },
      sessionFeeMinor: '50.000',
    };
    given([]).when(define(sloppy)).then([defined]);
  });

  it('defines fixed and dynamic tariffs, with spot export credit and no fee', () => {
    const dynamic: TariffDefinition = {
      tariffId: 'dyn',
      name: 'Dynamic',
      currency: 'EUR',
      energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '-0.5', floorMinorPerKWh: '-10', capMinorPerKWh: '40' },
      speedBands: [],
      sessionFeeMinor: null,
      exportCredit: { kind: 'spot', zone: 'NL', marginMinorPerKWh: '-1', floorMinorPerKWh: null },
    };
    given([])
      .when(define(dynamic))
      .then([{ type: 'TariffDefined', data: dynamic }]);
    const fixed: TariffDefinition = { ...dynamic, tariffId: 'fix', energy: { kind: 'fixed', priceMinorPerKWh: '30' }, exportCredit: null, sessionFeeMinor: '0' };
    given([])
      .when(define(fixed))
      .then([{ type: 'TariffDefined', data: fixed }]);
    // A floor equal to the cap is a fixed price in disguise, but allowed.
    const pinned: TariffDefinition = { ...dynamic, energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '-0.5', floorMinorPerKWh: '40', capMinorPerKWh: '40' } };
    given([])
      .when(define(pinned))
      .then([{ type: 'TariffDefined', data: pinned }]);
  });

  it.each([
    ['a bad tariff id', 'tariffId', 'has space', 'tariff.tariffId'],
    ['an empty name', 'name', '', 'tariff.name'],
    ['a bad currency', 'currency', 'euro', 'tariff.currency'],
    ['an unknown energy kind', 'energy.kind', 'flat', 'tariff.energy.kind'],
    ['an unknown time zone', 'energy.timeZone', 'Mars/Olympus_Mons', 'tariff.energy.timeZone'],
    ['an empty time zone', 'energy.timeZone', '', 'tariff.energy.timeZone'],
    ['an empty default name', 'energy.defaultName', ' ', 'tariff.energy.defaultName'],
    ['a negative default price', 'energy.defaultMinorPerKWh', '-1', 'tariff.energy.defaultMinorPerKWh'],
    ['windows that are not a list', 'energy.windows', {}, 'tariff.energy.windows'],
    ['a window at 24:00', 'energy.windows.0.to', '24:00', 'tariff.energy.windows[0].to'],
    ['a window at 7:00', 'energy.windows.0.from', '7:00', 'tariff.energy.windows[0].from'],
    ['a day 0', 'energy.windows.0.daysOfWeek', [0, 1], 'tariff.energy.windows[0].daysOfWeek'],
    ['a day 8', 'energy.windows.0.daysOfWeek', [8], 'tariff.energy.windows[0].daysOfWeek'],
    ['a day listed twice', 'energy.windows.0.daysOfWeek', [1, 1], 'tariff.energy.windows[0].daysOfWeek'],
    ['no days', 'energy.windows.0.daysOfWeek', [], 'tariff.energy.windows[0].daysOfWeek'],
    ['a fractional day', 'energy.windows.0.daysOfWeek', [1.5], 'tariff.energy.windows[0].daysOfWeek'],
    ['a window price as a number', 'energy.windows.1.priceMinorPerKWh', 15, 'tariff.energy.windows[1].priceMinorPerKWh'],
    ['a window named like the default with another price', 'energy.windows.1.name', 'off-peak', 'tariff.energy.windows[1].priceMinorPerKWh'],
    ['an unknown band name', 'speedBands.1.name', 'medium', 'tariff.speedBands[1].name'],
    ['bands out of order', 'speedBands.1.name', 'slow', 'tariff.speedBands[1].name'],
    ['a first band above 0', 'speedBands.0.fromPowerW', '100', 'tariff.speedBands[0].fromPowerW'],
    ['bands not ascending', 'speedBands.1.fromPowerW', '0', 'tariff.speedBands[1].fromPowerW'],
    ['a negative surcharge', 'speedBands.1.surchargeMinorPerKWh', '-5', 'tariff.speedBands[1].surchargeMinorPerKWh'],
    ['a negative session fee', 'sessionFeeMinor', '-0.01', 'tariff.sessionFeeMinor'],
    ['a session fee as a number', 'sessionFeeMinor', 50, 'tariff.sessionFeeMinor'],
    ['an unknown export credit kind', 'exportCredit.kind', 'net', 'tariff.exportCredit.kind'],
    ['a negative fixed export credit', 'exportCredit.creditMinorPerKWh', '-1', 'tariff.exportCredit.creditMinorPerKWh'],
    ['speed bands that are not a list', 'speedBands', null, 'tariff.speedBands'],
  ])('refuses %s, naming the field', (_, path, value, field) => {
    given([])
      .when(define(withField(path, value)))
      .thenThrows(InvalidCommand, { field });
  });

  it('refuses a dynamic tariff whose floor is above its cap, or whose zone is malformed', () => {
    const dynamic = { ...touTariff, energy: { kind: 'dynamic', zone: 'NL', marginMinorPerKWh: '2', floorMinorPerKWh: '10', capMinorPerKWh: '9.99' } };
    given([]).when(define(dynamic)).thenThrows(InvalidCommand, { field: 'tariff.energy.floorMinorPerKWh' });
    given([])
      .when(define({ ...dynamic, energy: { ...dynamic.energy, zone: 'N/L', capMinorPerKWh: null } }))
      .thenThrows(InvalidCommand, { field: 'tariff.energy.zone' });
    given([])
      .when(define({ ...dynamic, energy: { ...dynamic.energy, marginMinorPerKWh: '2,5' } }))
      .thenThrows(InvalidCommand, { field: 'tariff.energy.marginMinorPerKWh' });
    given([])
      .when(define({ ...touTariff, exportCredit: { kind: 'spot', zone: 'NL', marginMinorPerKWh: '0', floorMinorPerKWh: 'low' } }))
      .thenThrows(InvalidCommand, { field: 'tariff.exportCredit.floorMinorPerKWh' });
  });

  it('refuses overlapping windows, naming both and where they meet', () => {
    const overlapping = withField('energy.windows', [
      { name: 'peak', daysOfWeek: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', priceMinorPerKWh: '35' },
      { name: 'evening', daysOfWeek: [5], from: '20:00', to: '23:30', priceMinorPerKWh: '30' },
    ]);
    given([])
      .when(define(overlapping))
      .thenThrows(InvalidCommand, { field: 'tariff.energy.windows[1]', reason: 'overlaps tariff.energy.windows[0] ("peak") on ISO day 5 at 20:00 local time' });
    // A window wrapping midnight belongs to the day it starts: Sunday 22:00-02:00 meets Monday 01:00-03:00 on Monday.
    const wrapping = withField('energy.windows', [
      { name: 'late', daysOfWeek: [7], from: '22:00', to: '02:00', priceMinorPerKWh: '10' },
      { name: 'early', daysOfWeek: [1], from: '01:00', to: '03:00', priceMinorPerKWh: '11' },
    ]);
    given([])
      .when(define(wrapping))
      .thenThrows(InvalidCommand, { field: 'tariff.energy.windows[1]', reason: 'overlaps tariff.energy.windows[0] ("late") on ISO day 1 at 01:00 local time' });
    // The same windows on days that do not meet are fine.
    const apart = withField('energy.windows', [
      { name: 'late', daysOfWeek: [7], from: '22:00', to: '02:00', priceMinorPerKWh: '10' },
      { name: 'early', daysOfWeek: [2], from: '01:00', to: '03:00', priceMinorPerKWh: '11' },
    ]);
    expect(tariffDecider.decide(define(apart), tariffDecider.initialState())).toHaveLength(1);
  });
});
