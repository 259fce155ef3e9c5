/**
 * The API key aggregate (`apikey-<keyId>`): a key is created once, for a role (and a subject for the
 * roles that act for one party), and may be revoked; a revoked key never comes back. Only a hash of
 * its secret is recorded: the secret itself is shown to its creator once and is never in the log.
 */
import type { Decider } from '../decider.ts';
import { DomainError, InvalidCommand } from '../errors.ts';
import { canonicalInstant, checkText } from '../values/index.ts';
import { isRole, roleNeedsSubject, ROLES, SUBJECT_OF_ROLE, SUBJECT_PATTERN, type Role } from './roles.ts';

/** Key ids: lowercase letters and digits (a generated one is 16 hex digits). */
export const API_KEY_ID = /^[a-z0-9]{1,32}$/;
/** The hash of a key's secret, with its algorithm: `sha256:<64 hex>`. */
export const SECRET_HASH = /^sha256:[0-9a-f]{64}$/;

export const apiKeyStreamId = (keyId: string): string => `apikey-${keyId}`;

export type ApiKeyCreatedData = {
  keyId: string;
  role: Role;
  /** The trader, fleet or customer the key acts for; null for the roles that act for the platform. */
  subject: string | null;
  name: string;
  secretHash: string;
  createdAt: string;
};
export type ApiKeyRevokedData = { keyId: string; revokedAt: string; reason: string | null };

export type ApiKeyEvent = { type: 'ApiKeyCreated'; data: ApiKeyCreatedData } | { type: 'ApiKeyRevoked'; data: ApiKeyRevokedData };

export type CreateApiKey = { type: 'CreateApiKey'; keyId: string; role: string; subject: string | null; name: string; secretHash: string; at: string };
export type RevokeApiKey = { type: 'RevokeApiKey'; keyId: string; reason: string | null; at: string };
export type ApiKeyCommand = CreateApiKey | RevokeApiKey;

export type ApiKeyState =
  { status: 'none' } | (ApiKeyCreatedData & { status: 'active' }) | (ApiKeyCreatedData & { status: 'revoked'; revokedAt: string; revokeReason: string | null });

export class ApiKeyExists extends DomainError {
  readonly code = 'API_KEY_EXISTS';
  constructor(keyId: string) {
    super(`API key ${keyId} exists already`, { keyId });
  }
}

export class UnknownApiKey extends DomainError {
  readonly code = 'UNKNOWN_API_KEY';
  constructor(keyId: string) {
    super(`no API key ${keyId}`, { keyId });
  }
}

export function checkApiKeyId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !API_KEY_ID.test(value)) throw new InvalidCommand(field, `${JSON.stringify(value)} must be 1-32 lowercase letters or digits`);
  return value;
}

function checkSubject(role: Role, value: unknown): string | null {
  if (!roleNeedsSubject(role)) {
    if (value !== null) throw new InvalidCommand('subject', `a ${role} key acts for the whole platform: leave subject out`);
    return null;
  }
  if (typeof value !== 'string' || !SUBJECT_PATTERN.test(value)) {
    throw new InvalidCommand('subject', `a ${role} key needs its ${SUBJECT_OF_ROLE[role]} as subject: 1-64 letters, digits or _ . : @ -`);
  }
  return value;
}

function decide(command: ApiKeyCommand, state: ApiKeyState): ApiKeyEvent[] {
  switch (command.type) {
    case 'CreateApiKey': {
      const createdAt = canonicalInstant('at', command.at);
      const keyId = checkApiKeyId('keyId', command.keyId);
      if (!isRole(command.role)) throw new InvalidCommand('role', `${JSON.stringify(command.role)} is not one of ${ROLES.join(', ')}`);
      const role = command.role;
      const subject = checkSubject(role, command.subject);
      const name = checkText('name', command.name, 200);
      if (typeof command.secretHash !== 'string' || !SECRET_HASH.test(command.secretHash)) throw new InvalidCommand('secretHash', 'must be sha256:<64 hex digits>');
      if (state.status !== 'none') throw new ApiKeyExists(keyId);
      return [{ type: 'ApiKeyCreated', data: { keyId, role, subject, name, secretHash: command.secretHash, createdAt } }];
    }
    case 'RevokeApiKey': {
      const revokedAt = canonicalInstant('at', command.at);
      const keyId = checkApiKeyId('keyId', command.keyId);
      const reason = command.reason === null ? null : checkText('reason', command.reason, 200);
      if (state.status === 'none') throw new UnknownApiKey(keyId);
      if (state.status === 'revoked') return []; // revoked already: nothing new
      return [{ type: 'ApiKeyRevoked', data: { keyId, revokedAt, reason } }];
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${String((unreachable as { type: unknown }).type)}`);
    }
  }
}

function evolve(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
  switch (event.type) {
    case 'ApiKeyCreated':
      return { ...event.data, status: 'active' };
    case 'ApiKeyRevoked':
      if (state.status === 'none') return state;
      return { ...state, status: 'revoked', revokedAt: event.data.revokedAt, revokeReason: event.data.reason };
    default: {
      const unreachable: never = event;
      throw new Error(`unknown event ${String((unreachable as { type: unknown }).type)}`);
    }
  }
}

export const apiKeyDecider: Decider<ApiKeyState, ApiKeyCommand, ApiKeyEvent> = {
  initialState: () => ({ status: 'none' }),
  decide,
  evolve,
};
