/**
 * When a congestion rule is in force. All in UTC: [start, end), then optional ISO days of week and
 * an optional daily window [dailyFrom, dailyTo) that wraps midnight when dailyTo <= dailyFrom (a
 * wrapping window belongs to the day it started: Monday 22:00–06:00 covers Tuesday 03:00).
 */
import { InvalidCommand } from '../errors.ts';
import { canonicalInstant, parseInstant } from '../values/index.ts';
import type { RuleWindow } from './site-types.ts';

const DAY_MS = 86_400_000;
const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** ISO day of week of an instant in UTC: 1 = Monday … 7 = Sunday. */
export function isoWeekdayUtc(epochMs: number): number {
  const days = Math.floor(epochMs / DAY_MS);
  // 1970-01-01 was a Thursday (4).
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

function parseTimeOfDay(field: string, value: unknown): number {
  const match = typeof value === 'string' ? HH_MM.exec(value) : null;
  if (!match) throw new InvalidCommand(field, `${JSON.stringify(value)} is not a UTC time of day such as "22:00"`);
  return (Number(match[1]) * 60 + Number(match[2])) * 60_000;
}

/**
 * Validates a window from the edge and returns its canonical form (instants with milliseconds,
 * days of week sorted). `field` prefixes the names in InvalidCommand ('rule.window').
 */
export function checkRuleWindow(field: string, value: unknown): RuleWindow {
  if (typeof value !== 'object' || value === null) throw new InvalidCommand(field, 'must be an object');
  const window = value as Record<string, unknown>;
  const start = canonicalInstant(`${field}.start`, window['start']);
  let end: string | null = null;
  if (window['end'] !== null && window['end'] !== undefined) {
    end = canonicalInstant(`${field}.end`, window['end']);
    if (parseInstant(`${field}.end`, end) <= parseInstant(`${field}.start`, start)) {
      throw new InvalidCommand(`${field}.end`, `${end} must be after start ${start}`);
    }
  }
  let daysOfWeek: number[] | null = null;
  const days = window['daysOfWeek'];
  if (days !== null && days !== undefined) {
    if (!Array.isArray(days) || days.length === 0) {
      throw new InvalidCommand(`${field}.daysOfWeek`, 'must be a non-empty list of ISO days (1 = Monday … 7 = Sunday), or null for every day');
    }
    for (const day of days) {
      if (typeof day !== 'number' || !Number.isInteger(day) || day < 1 || day > 7) {
        throw new InvalidCommand(`${field}.daysOfWeek`, `${JSON.stringify(day)} is not an ISO day 1..7`);
      }
    }
    if (new Set(days).size !== days.length) throw new InvalidCommand(`${field}.daysOfWeek`, 'lists a day twice');
    daysOfWeek = [...(days as number[])].sort((a, b) => a - b);
  }
  const fromRaw = window['dailyFrom'] ?? null;
  const toRaw = window['dailyTo'] ?? null;
  if ((fromRaw === null) !== (toRaw === null)) {
    throw new InvalidCommand(fromRaw === null ? `${field}.dailyFrom` : `${field}.dailyTo`, 'dailyFrom and dailyTo go together: give both or neither');
  }
  let dailyFrom: string | null = null;
  let dailyTo: string | null = null;
  if (fromRaw !== null) {
    parseTimeOfDay(`${field}.dailyFrom`, fromRaw);
    parseTimeOfDay(`${field}.dailyTo`, toRaw);
    dailyFrom = fromRaw as string;
    dailyTo = toRaw as string;
  }
  return { start, end, daysOfWeek, dailyFrom, dailyTo };
}

type CompiledWindow = {
  startMs: number;
  endMs: number | null;
  days: readonly number[] | null;
  /** Milliseconds after UTC midnight, or null for all day. */
  fromMs: number | null;
  toMs: number | null;
};

function compile(window: RuleWindow): CompiledWindow {
  return {
    startMs: parseInstant('window.start', window.start),
    endMs: window.end === null ? null : parseInstant('window.end', window.end),
    days: window.daysOfWeek,
    fromMs: window.dailyFrom === null ? null : parseTimeOfDay('window.dailyFrom', window.dailyFrom),
    toMs: window.dailyTo === null ? null : parseTimeOfDay('window.dailyTo', window.dailyTo),
  };
}

function inForce(w: CompiledWindow, atMs: number): boolean {
  if (atMs < w.startMs) return false;
  if (w.endMs !== null && atMs >= w.endMs) return false;
  // The instant whose UTC day decides the day of week: a wrapping window's start day.
  let dayOf = atMs;
  if (w.fromMs !== null && w.toMs !== null) {
    const timeOfDay = ((atMs % DAY_MS) + DAY_MS) % DAY_MS;
    if (w.fromMs < w.toMs) {
      if (timeOfDay < w.fromMs || timeOfDay >= w.toMs) return false;
    } else if (timeOfDay < w.toMs) {
      dayOf = atMs - DAY_MS;
    } else if (timeOfDay < w.fromMs) {
      return false;
    }
  }
  return w.days === null || w.days.includes(isoWeekdayUtc(dayOf));
}

/** Whether a rule with this (canonical) window is in force at `atMs`. */
export function ruleInForce(window: RuleWindow, atMs: number): boolean {
  return inForce(compile(window), atMs);
}

/** Whether a rule with this window is in force at some instant of the closed interval [fromMs, toMs]. */
export function ruleInForceDuring(window: RuleWindow, fromMs: number, toMs: number): boolean {
  if (ruleInForce(window, fromMs)) return true;
  if (toMs <= fromMs) return false;
  // Not in force at fromMs: its next change of status is when it next starts.
  const start = nextRuleBoundary(window, fromMs);
  return start !== null && start <= toMs;
}

/**
 * The first instant > afterMs at which the rule's in-force status changes, or null if it never
 * changes again. Status only changes at start, end, UTC midnights and the daily window's edges, and
 * repeats weekly, so a scan of the candidates in the next eight days (plus start and end) is exact.
 */
export function nextRuleBoundary(window: RuleWindow, afterMs: number): number | null {
  const w = compile(window);
  if (w.endMs !== null && afterMs >= w.endMs) return null;
  const current = inForce(w, afterMs);
  const from = Math.max(afterMs, w.startMs);
  const firstDay = Math.floor(from / DAY_MS) - 1;
  const candidates: number[] = [w.startMs];
  if (w.endMs !== null) candidates.push(w.endMs);
  for (let day = firstDay; day <= firstDay + 9; day++) {
    const midnight = day * DAY_MS;
    candidates.push(midnight);
    if (w.fromMs !== null && w.toMs !== null) candidates.push(midnight + w.fromMs, midnight + w.toMs);
  }
  candidates.sort((a, b) => a - b);
  for (const candidate of candidates) {
    if (candidate <= afterMs) continue;
    if (inForce(w, candidate) !== current) return candidate;
  }
  return null;
}
