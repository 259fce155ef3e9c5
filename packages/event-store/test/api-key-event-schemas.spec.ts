import { apiKeyDecider, type ApiKeyEvent } from '@v2g/domain';
import { describe, expect, it } from 'vitest';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { emitted, expectRefused } from './event-schema-checks.ts';

const API_KEY_EVENT_TYPES: ApiKeyEvent['type'][] = ['ApiKeyCreated', 'ApiKeyRevoked'];
const HASH = `sha256:${'0f'.repeat(32)}`;

describe('API key events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for every API key event', () => {
    for (const type of API_KEY_EVENT_TYPES) expect(registry.latestVersion(type)).toBe(1);
  });

  it('accepts every event the decider emits, for every role', () => {
    const roles = [
      ['operator', null],
      ['integrator', null],
      ['auditor', null],
      ['trader', 'alice'],
      ['fleet_manager', 'fleet-1'],
      ['driver', 'cust:42'],
    ] as const;
    for (const [i, [role, subject]] of roles.entries()) {
      const events = emitted(apiKeyDecider, [
        { type: 'CreateApiKey', keyId: `k${i}`, role, subject, name: `${role} key`, secretHash: HASH, at: '2026-11-28T10:00Z' },
        { type: 'RevokeApiKey', keyId: `k${i}`, reason: i % 2 === 0 ? null : 'rotated', at: '2026-11-28T11:00Z' },
      ]);
      expect(events.map((e) => e.type)).toEqual(API_KEY_EVENT_TYPES);
      for (const event of events) expect(() => registry.validate(event.type, 1, JSON.parse(JSON.stringify(event.data)))).not.toThrow();
    }
  });

  it('refuses a secret in clear, an unknown role and extra fields', () => {
    const data = { keyId: 'k1', role: 'trader', subject: 'alice', name: 'n', secretHash: HASH, createdAt: '2026-11-28T10:00:00.000Z' };
    const refusals: [Record<string, unknown>, string][] = [
      [{ ...data, secretHash: 'v2g_k1_secret' }, '/secretHash'],
      [{ ...data, role: 'root' }, '/role'],
      [{ ...data, secret: 'x' }, '/secret'],
    ];
    for (const [bad, field] of refusals) expectRefused(registry, 'ApiKeyCreated', bad, field);
  });
});
