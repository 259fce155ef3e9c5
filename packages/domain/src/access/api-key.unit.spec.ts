import { describe, expect, it } from 'vitest';
import { InvalidCommand } from '../errors.ts';
import { givenFor } from '../../test/given.ts';
import { apiKeyDecider, ApiKeyExists, UnknownApiKey, type ApiKeyEvent, type CreateApiKey } from './api-key.ts';

const given = givenFor(apiKeyDecider);
const AT = '2026-11-28T10:00:00Z';
const HASH = `sha256:${'ab'.repeat(32)}`;
const create = (over: Partial<CreateApiKey> = {}): CreateApiKey => ({
  type: 'CreateApiKey',
  keyId: 'k1',
  role: 'trader',
  subject: 'alice',
  name: 'Alice desk',
  secretHash: HASH,
  at: AT,
  ...over,
});
const created: ApiKeyEvent = {
  type: 'ApiKeyCreated',
  data: { keyId: 'k1', role: 'trader', subject: 'alice', name: 'Alice desk', secretHash: HASH, createdAt: '2026-11-28T10:00:00.000Z' },
};
const revoked: ApiKeyEvent = { type: 'ApiKeyRevoked', data: { keyId: 'k1', revokedAt: '2026-11-28T11:00:00.000Z', reason: 'left' } };

describe('the API key decider', () => {
  it('creates a key once, with its role, subject and the hash of its secret', () => {
    given([]).when(create()).then([created]);
    given([created]).when(create()).thenThrows(ApiKeyExists, { keyId: 'k1' });
  });

  it('asks a subject of the roles that act for one party, and refuses one for the others', () => {
    given([])
      .when(create({ role: 'fleet_manager', subject: null }))
      .thenThrows(InvalidCommand, { field: 'subject' });
    given([])
      .when(create({ role: 'driver', subject: 'has spaces' }))
      .thenThrows(InvalidCommand, { field: 'subject' });
    given([])
      .when(create({ role: 'operator', subject: 'alice' }))
      .thenThrows(InvalidCommand, { field: 'subject' });
    expect(apiKeyDecider.decide(create({ role: 'auditor', subject: null }), apiKeyDecider.initialState())[0]!.data).toMatchObject({ role: 'auditor', subject: null });
  });

  it('refuses an unknown role, a malformed key id and anything but a sha256 hash', () => {
    given([])
      .when(create({ role: 'root' }))
      .thenThrows(InvalidCommand, { field: 'role' });
    given([])
      .when(create({ keyId: 'K-1' }))
      .thenThrows(InvalidCommand, { field: 'keyId' });
    given([])
      .when(create({ secretHash: 'the secret itself' }))
      .thenThrows(InvalidCommand, { field: 'secretHash' });
  });

  it('revokes a key for good; revoking again writes nothing; an unknown key is refused', () => {
    const revoke = { type: 'RevokeApiKey', keyId: 'k1', reason: 'left', at: '2026-11-28T11:00:00Z' } as const;
    given([created]).when(revoke).then([revoked]);
    given([created, revoked]).when(revoke).then([]);
    given([]).when(revoke).thenThrows(UnknownApiKey, { keyId: 'k1' });
    const state = [created, revoked].reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());
    expect(state).toMatchObject({ status: 'revoked', revokedAt: '2026-11-28T11:00:00.000Z', revokeReason: 'left' });
  });
});
