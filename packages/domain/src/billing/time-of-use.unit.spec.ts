import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import type { EnergyPrice, TimeOfUseWindow } from './billing-types.ts';
import { checkTimeZone, localDayAndMinute, timeOfUsePrice, windowCovers } from './time-of-use.ts';

const at = (instant: string): number => Date.parse(instant);

describe('time-of-use windows', () => {
  it('reads local time in the tariff zone, daylight saving time included', () => {
    // 2026-11-27 is a Friday; Amsterdam is UTC+1 in winter.
    expect(localDayAndMinute('Europe/Amsterdam', at('2026-11-27T16:45:00Z'))).toEqual({ isoWeekday: 5, minuteOfDay: 17 * 60 + 45 });
    // Summer: UTC+2. 2026-07-05 is a Sunday; 22:30 UTC is Monday 00:30 local.
    expect(localDayAndMinute('Europe/Amsterdam', at('2026-07-05T22:30:00Z'))).toEqual({ isoWeekday: 1, minuteOfDay: 30 });
    expect(localDayAndMinute('UTC', at('2026-07-05T22:30:00Z'))).toEqual({ isoWeekday: 7, minuteOfDay: 22 * 60 + 30 });
  });

  it('covers [from, to), and a window wrapping midnight belongs to the day it started', () => {
    const peak: TimeOfUseWindow = { name: 'peak', daysOfWeek: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', priceMinorPerKWh: '35' };
    expect(windowCovers(peak, 5, 17 * 60)).toBe(true);
    expect(windowCovers(peak, 5, 21 * 60 - 1)).toBe(true);
    expect(windowCovers(peak, 5, 21 * 60)).toBe(false);
    expect(windowCovers(peak, 6, 18 * 60)).toBe(false);
    const night: TimeOfUseWindow = { name: 'night', daysOfWeek: [5], from: '22:00', to: '06:00', priceMinorPerKWh: '15' };
    expect(windowCovers(night, 5, 23 * 60)).toBe(true);
    expect(windowCovers(night, 6, 3 * 60)).toBe(true); // Friday's night, on Saturday morning
    expect(windowCovers(night, 5, 3 * 60)).toBe(false); // Thursday's night: not listed
    expect(windowCovers(night, 6, 6 * 60)).toBe(false);
    const sundayNight: TimeOfUseWindow = { ...night, daysOfWeek: [7] };
    expect(windowCovers(sundayNight, 1, 5 * 60)).toBe(true);
    const allDay: TimeOfUseWindow = { ...night, daysOfWeek: null, from: '00:00', to: '00:00' };
    expect(windowCovers(allDay, 3, 0)).toBe(true);
    expect(windowCovers(allDay, 3, 1439)).toBe(true);
  });

  it('prices by the window the local time falls in, else the default', () => {
    const energy: Extract<EnergyPrice, { kind: 'time_of_use' }> = {
      kind: 'time_of_use',
      timeZone: 'Europe/Amsterdam',
      defaultName: 'off-peak',
      defaultMinorPerKWh: '20',
      windows: [{ name: 'peak', daysOfWeek: null, from: '17:00', to: '21:00', priceMinorPerKWh: '35' }],
    };
    expect(timeOfUsePrice(energy, at('2026-11-27T15:45:00Z'))).toEqual({ name: 'off-peak', priceMinorPerKWh: '20' }); // 16:45 local
    expect(timeOfUsePrice(energy, at('2026-11-27T16:00:00Z'))).toEqual({ name: 'peak', priceMinorPerKWh: '35' }); // 17:00 local
    expect(timeOfUsePrice(energy, at('2026-07-01T15:00:00Z'))).toEqual({ name: 'peak', priceMinorPerKWh: '35' }); // 17:00 local in summer
  });

  it('validates time zones by asking the runtime, and returns their canonical name', () => {
    expect(checkTimeZone('tz', 'europe/amsterdam')).toBe('Europe/Amsterdam');
    expect(checkTimeZone('tz', 'UTC')).toBe('UTC');
    expect(() => checkTimeZone('tz', 'Europe/Atlantis')).toThrow(InvalidCommand);
    expect(() => checkTimeZone('tz', 1)).toThrow(InvalidCommand);
  });
});
