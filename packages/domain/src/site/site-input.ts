import { InvalidCommand } from '../errors.ts';
import { Decimal, toDecimalString, parseId, parseNonNegativeQuantity } from '../values/index.ts';
import { checkRuleWindow } from './rule-window.ts';
import type { ChargerSpec, CongestionRule } from './site-types.ts';

/** The site's command input, checked: ids, names, texts, charger specs and congestion rules as a client sends them. */
export function checkSiteId(siteId: unknown): string {
  return parseId('siteId', siteId);
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    throw new InvalidCommand('name', 'must be a non-empty text of at most 200 characters');
  }
  return name.trim();
}

export function checkText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) {
    throw new InvalidCommand(field, `must be a non-empty text of at most ${maxLength} characters`);
  }
  return value;
}

export function checkOptionalText(field: string, value: unknown, maxLength: number): string | null {
  return value === null || value === undefined ? null : checkText(field, value, maxLength);
}

export function checkPositive(field: string, value: unknown): Decimal {
  const parsed = parseNonNegativeQuantity(field, value);
  if (parsed.isZero()) throw new InvalidCommand(field, 'must be positive');
  return parsed;
}

export function checkChargerSpec(field: string, value: unknown): ChargerSpec {
  if (typeof value !== 'object' || value === null) throw new InvalidCommand(field, 'must be an object');
  const spec = value as Record<string, unknown>;
  const min = parseNonNegativeQuantity(`${field}.minPowerW`, spec['minPowerW']);
  const max = checkPositive(`${field}.maxPowerW`, spec['maxPowerW']);
  if (min.gt(max)) throw new InvalidCommand(`${field}.minPowerW`, `${min.toFixed()} is above maxPowerW ${max.toFixed()}`);
  const bidirectional = spec['bidirectional'];
  if (typeof bidirectional !== 'boolean') throw new InvalidCommand(`${field}.bidirectional`, 'must be true or false');
  if (!bidirectional) {
    for (const key of ['minDischargePowerW', 'maxDischargePowerW']) {
      if (spec[key] !== null && spec[key] !== undefined) throw new InvalidCommand(`${field}.${key}`, 'must be null unless the charger is bidirectional');
    }
    return { minPowerW: toDecimalString(min), maxPowerW: toDecimalString(max), bidirectional, minDischargePowerW: null, maxDischargePowerW: null };
  }
  for (const key of ['minDischargePowerW', 'maxDischargePowerW']) {
    if (spec[key] === null || spec[key] === undefined) throw new InvalidCommand(`${field}.${key}`, 'is required for a bidirectional charger');
  }
  const minD = parseNonNegativeQuantity(`${field}.minDischargePowerW`, spec['minDischargePowerW']);
  const maxD = checkPositive(`${field}.maxDischargePowerW`, spec['maxDischargePowerW']);
  if (minD.gt(maxD)) throw new InvalidCommand(`${field}.minDischargePowerW`, `${minD.toFixed()} is above maxDischargePowerW ${maxD.toFixed()}`);
  return {
    minPowerW: toDecimalString(min),
    maxPowerW: toDecimalString(max),
    bidirectional,
    minDischargePowerW: toDecimalString(minD),
    maxDischargePowerW: toDecimalString(maxD),
  };
}

export function checkRule(value: unknown): CongestionRule {
  if (typeof value !== 'object' || value === null) throw new InvalidCommand('rule', 'must be an object');
  const rule = value as Record<string, unknown>;
  const ruleId = parseId('rule.ruleId', rule['ruleId']);
  const priority = rule['priority'];
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) throw new InvalidCommand('rule.priority', `${JSON.stringify(priority)} is not an integer`);
  const scopeRaw = rule['scope'];
  if (typeof scopeRaw !== 'object' || scopeRaw === null) throw new InvalidCommand('rule.scope', 'must be an object');
  const scopeKind = (scopeRaw as Record<string, unknown>)['kind'];
  let scope: CongestionRule['scope'];
  if (scopeKind === 'node') scope = { kind: 'node', nodeId: parseId('rule.scope.nodeId', (scopeRaw as Record<string, unknown>)['nodeId']) };
  else if (scopeKind === 'area') scope = { kind: 'area', areaId: parseId('rule.scope.areaId', (scopeRaw as Record<string, unknown>)['areaId']) };
  else throw new InvalidCommand('rule.scope.kind', `${JSON.stringify(scopeKind)} is neither "node" nor "area"`);
  const window = checkRuleWindow('rule.window', rule['window']);
  const importCap = rule['importCapW'] === null || rule['importCapW'] === undefined ? null : parseNonNegativeQuantity('rule.importCapW', rule['importCapW']);
  const exportCap = rule['exportCapW'] === null || rule['exportCapW'] === undefined ? null : parseNonNegativeQuantity('rule.exportCapW', rule['exportCapW']);
  if (importCap === null && exportCap === null) throw new InvalidCommand('rule', 'needs an importCapW, an exportCapW or both');
  return {
    ruleId,
    priority,
    scope,
    window,
    importCapW: importCap === null ? null : toDecimalString(importCap),
    exportCapW: exportCap === null ? null : toDecimalString(exportCap),
    reason: checkOptionalText('rule.reason', rule['reason'], 500),
    source: checkOptionalText('rule.source', rule['source'], 200),
  };
}
