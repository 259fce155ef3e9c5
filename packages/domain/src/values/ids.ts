import { InvalidCommand } from '../errors.ts';

/**
 * The ledger's id rules, in one place. Every id a client names (a site, node, session, meter,
 * zone, account, trader, tariff...) becomes part of a stream id and reaches storage, so it is
 * checked against one of these rules at the edge, before any I/O: a bounded length and a small
 * character set (no NUL, no control characters, no spaces, nothing PostgreSQL or a log line could
 * trip on). A command's own rule may be narrower (a bidding zone, an API key id): it checks that
 * too, later.
 */
export type IdKind = 'id' | 'commandId' | 'reference';

type IdRule = { pattern: RegExp; maxLength: number; allowed: string };

export const ID_RULES: Readonly<Record<IdKind, IdRule>> = {
  /** An entity's id: 1-64 letters, digits or _ . : @ -, starting with a letter or digit. */
  id: { pattern: /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/, maxLength: 64, allowed: 'letters, digits or _ . : @ -' },
  /** A command's idempotency key (a UUID, say): 1-128 letters, digits or _ . : @ / + = -. */
  commandId: { pattern: /^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,127}$/, maxLength: 128, allowed: 'letters, digits or _ . : @ / + = -' },
  /** A composite name made of ids (a stream id, a ledger account such as "trader:p1"): 1-256 of the same. */
  reference: { pattern: /^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,255}$/, maxLength: 256, allowed: 'letters, digits or _ . : @ / + = -' },
};

/** The stream id rule for entity ids (sites, nodes, sessions, meters, tariffs, accounts, traders...). */
export const ID_PATTERN = ID_RULES.id.pattern;

/** Why `value` is not an id of that kind, or null when it is one. */
export function idProblem(value: unknown, kind: IdKind = 'id'): string | null {
  const rule = ID_RULES[kind];
  if (typeof value !== 'string') return `${describe(value)} is not a string`;
  if (rule.pattern.test(value)) return null;
  if (value.length === 0) return `is empty; an id is 1-${rule.maxLength} ${rule.allowed} (starting with a letter or digit)`;
  if (value.length > rule.maxLength) return `is ${value.length} characters long; at most ${rule.maxLength}`;
  return `${describe(value)} must be 1-${rule.maxLength} ${rule.allowed} (starting with a letter or digit)`;
}

/** An id of that kind, or InvalidCommand naming `field` as the client sent it. */
export function parseId(field: string, value: unknown, kind: IdKind = 'id'): string {
  const problem = idProblem(value, kind);
  if (problem !== null) throw new InvalidCommand(field, problem);
  return value as string;
}

/** A client's commandId. */
export const parseCommandId = (field: string, value: unknown): string => parseId(field, value, 'commandId');

/** A value as a message may show it: JSON (control characters escaped), cut short when long. */
function describe(value: unknown): string {
  const shown = JSON.stringify(value) ?? String(value);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}
