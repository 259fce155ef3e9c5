/**
 * Time-of-use windows: "HH:MM" local times in a tariff's IANA time zone. A window [from, to) wraps
 * midnight when to <= from (from == to is a whole day) and belongs to the day it started: Monday
 * 22:00–06:00 covers Tuesday 03:00. Local time comes from Intl.DateTimeFormat (pure: the same
 * instant and zone always give the same local time, daylight saving time included).
 */
import { InvalidCommand } from '../errors.ts';
import { checkArray, checkObject, checkText, decimalText, exactNonNegative, checkQuantity } from '../values/index.ts';
import type { EnergyPrice, TimeOfUseWindow } from './billing-types.ts';

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const MINUTES_PER_DAY = 1440;
export const MAX_TIME_OF_USE_WINDOWS = 100;
const WEEKDAYS: Readonly<Record<string, number>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Validates an IANA time zone and returns its canonical spelling ("europe/amsterdam" → "Europe/Amsterdam"). */
export function checkTimeZone(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidCommand(field, 'must be an IANA time zone such as "Europe/Amsterdam"');
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    throw new InvalidCommand(field, `${JSON.stringify(value)} is not a time zone this runtime knows (an IANA name such as "Europe/Amsterdam")`);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The ISO day of week (1 = Monday … 7 = Sunday) and minute of the day at `epochMs` in `timeZone`. */
export function localDayAndMinute(timeZone: string, epochMs: number): { isoWeekday: number; minuteOfDay: number } {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    formatters.set(timeZone, format);
  }
  let isoWeekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(new Date(epochMs))) {
    if (part.type === 'weekday') isoWeekday = WEEKDAYS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  if (isoWeekday === 0) throw new Error(`no weekday for ${epochMs} in ${timeZone}`);
  return { isoWeekday, minuteOfDay: hour * 60 + minute };
}

function minutesOf(field: string, value: unknown): number {
  const match = typeof value === 'string' ? HH_MM.exec(value) : null;
  if (!match) throw new InvalidCommand(field, `${JSON.stringify(value)} is not a local time of day such as "07:00"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

type CompiledWindow = { from: number; to: number; days: readonly number[] | null };

const compile = (window: TimeOfUseWindow): CompiledWindow => ({ from: minutesOf('from', window.from), to: minutesOf('to', window.to), days: window.daysOfWeek });

function covers({ from, to, days }: CompiledWindow, isoWeekday: number, minuteOfDay: number): boolean {
  let day = isoWeekday;
  if (from < to) {
    if (minuteOfDay < from || minuteOfDay >= to) return false;
  } else if (minuteOfDay < to) {
    day = isoWeekday === 1 ? 7 : isoWeekday - 1;
  } else if (minuteOfDay < from) {
    return false;
  }
  return days === null || days.includes(day);
}

/** Whether a (valid) window covers the local minute `minuteOfDay` of ISO day `isoWeekday`. */
export function windowCovers(window: TimeOfUseWindow, isoWeekday: number, minuteOfDay: number): boolean {
  return covers(compile(window), isoWeekday, minuteOfDay);
}

/** The window (name and price) of a time-of-use tariff in force at `epochMs`, else its default. */
export function timeOfUsePrice(energy: Extract<EnergyPrice, { kind: 'time_of_use' }>, epochMs: number): { name: string; priceMinorPerKWh: string } {
  const { isoWeekday, minuteOfDay } = localDayAndMinute(energy.timeZone, epochMs);
  const window = energy.windows.find((w) => windowCovers(w, isoWeekday, minuteOfDay));
  return window ? { name: window.name, priceMinorPerKWh: window.priceMinorPerKWh } : { name: energy.defaultName, priceMinorPerKWh: energy.defaultMinorPerKWh };
}

function checkDays(field: string, value: unknown): number[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidCommand(field, 'must be a non-empty list of ISO days (1 = Monday … 7 = Sunday), or null for every day');
  }
  for (const day of value) {
    if (typeof day !== 'number' || !Number.isInteger(day) || day < 1 || day > 7) throw new InvalidCommand(field, `${JSON.stringify(day)} is not an ISO day 1..7`);
  }
  if (new Set(value).size !== value.length) throw new InvalidCommand(field, 'lists a day twice');
  return [...(value as number[])].sort((a, b) => a - b);
}

const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/**
 * Validates the windows of a time-of-use price (`field` is e.g. "tariff.energy.windows") and
 * returns their canonical form. Windows may not overlap (an interval's price must not depend on
 * the order of the list), and one name means one price, the default's included, so that an
 * invoice line labelled with a name has one unit price.
 */
export function checkWindows(field: string, value: unknown, defaultName: string, defaultMinorPerKWh: string): TimeOfUseWindow[] {
  const raw = checkArray(field, value);
  if (raw.length > MAX_TIME_OF_USE_WINDOWS) throw new InvalidCommand(field, `lists more than ${MAX_TIME_OF_USE_WINDOWS} windows`);
  const priceOfName = new Map<string, string>([[defaultName, defaultMinorPerKWh]]);
  const windows = raw.map((value, i): TimeOfUseWindow => {
    const at = `${field}[${i}]`;
    const window = checkObject(at, value);
    const name = checkText(`${at}.name`, window['name'], 100);
    minutesOf(`${at}.from`, window['from']);
    minutesOf(`${at}.to`, window['to']);
    const priceMinorPerKWh = decimalText(exactNonNegative(`${at}.priceMinorPerKWh`, checkQuantity(`${at}.priceMinorPerKWh`, window['priceMinorPerKWh'])));
    const known = priceOfName.get(name);
    if (known !== undefined && known !== priceMinorPerKWh) {
      throw new InvalidCommand(`${at}.priceMinorPerKWh`, `${priceMinorPerKWh} differs from ${known}, the price of another window or default named "${name}"`);
    }
    priceOfName.set(name, priceMinorPerKWh);
    return { name, daysOfWeek: checkDays(`${at}.daysOfWeek`, window['daysOfWeek']), from: window['from'] as string, to: window['to'] as string, priceMinorPerKWh };
  });
  const compiled = windows.map(compile);
  for (let day = 1; day <= 7; day++) {
    for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
      const covering = compiled.flatMap((w, i) => (covers(w, day, minute) ? [i] : []));
      if (covering.length > 1) {
        const [first, second] = covering as [number, number];
        throw new InvalidCommand(`${field}[${second}]`, `overlaps ${field}[${first}] ("${windows[first]!.name}") on ISO day ${day} at ${hhmm(minute)} local time`);
      }
    }
  }
  return windows;
}
