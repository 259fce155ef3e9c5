import { AccountNotFound, accountDecider, accountStreamId } from '@v2g/domain';
import { MemoryEventStore, SchemaRegistry } from '@v2g/event-store';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyService, formatApiKeyToken, hashSecret, parseApiKeyToken, secretMatches } from '../src/index.ts';
import { CommandHandler } from '../src/command-handler.ts';

const ctx = (commandId: string) => ({ commandId, actor: 'apikey:test' });

describe('API key tokens', () => {
  it('parse as v2g_<keyId>_<secret>, and nothing else', () => {
    const secret = 'A'.repeat(20) + '_-' + 'b'.repeat(21);
    expect(parseApiKeyToken(`v2g_abc123_${secret}`)).toEqual({ keyId: 'abc123', secret });
    expect(formatApiKeyToken({ keyId: 'abc123', secret })).toBe(`v2g_abc123_${secret}`);
    for (const bad of ['', 'v2g_', `v2g_ABC_${secret}`, `v2g_abc_short`, `xyz_abc_${secret}`, `v2g_abc_${secret}!`]) expect(parseApiKeyToken(bad), bad).toBeNull();
  });

  it('compare a secret with its recorded hash', () => {
    expect(secretMatches('s'.repeat(40), hashSecret('s'.repeat(40)))).toBe(true);
    expect(secretMatches('t'.repeat(40), hashSecret('s'.repeat(40)))).toBe(false);
    expect(secretMatches('s'.repeat(40), 'md5:abc')).toBe(false);
  });
});

describe('ApiKeyService', () => {
  const services: ApiKeyService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop();
  });
  const open = (store = new MemoryEventStore({ registry: SchemaRegistry.fromDirectory() })) => {
    const service = new ApiKeyService(store, new CommandHandler(store), { cacheTtlMs: 3_600_000 });
    services.push(service);
    return { store, service };
  };

  it('creates a key that verifies, once; a retry of the command gets no secret', async () => {
    const { service } = open();
    const { token, key } = await service.create({ role: 'trader', subject: 'alice', name: 'Alice' }, ctx('c1'));
    expect(await service.verify(token!)).toEqual({ keyId: key.keyId, role: 'trader', subject: 'alice', name: 'Alice' });
    expect(await service.verify(`${token!.slice(0, -1)}x`)).toBeNull();
    const again = await service.create({ role: 'trader', subject: 'alice', name: 'Alice' }, ctx('c1'));
    expect(again).toMatchObject({ token: null, key: { keyId: key.keyId }, result: { duplicate: true } });
    expect(await service.list()).toMatchObject([{ keyId: key.keyId, status: 'active', createdBy: 'apikey:test' }]);
  });

  it('creates a fleet manager or driver key only for a known account, and records nothing for an unknown one', async () => {
    const { store, service } = open();
    for (const role of ['fleet_manager', 'driver'] as const) {
      const refused = service.create({ role, subject: `nobody-${role}`, name: 'x' }, ctx(`unknown-${role}`));
      await expect(refused).rejects.toThrow(AccountNotFound);
      await expect(service.create({ role, subject: `nobody-${role}`, name: 'x' }, ctx(`unknown-${role}`))).rejects.toMatchObject({
        code: 'ACCOUNT_NOT_FOUND',
        details: { field: 'subject', accountId: `nobody-${role}` },
      });
    }
    // A malformed subject is refused for its form before the account is looked up.
    await expect(service.create({ role: 'driver', subject: 'has spaces', name: 'x' }, ctx('bad-form'))).rejects.toMatchObject({
      code: 'INVALID_COMMAND',
      details: { field: 'subject' },
    });
    expect(await service.list()).toEqual([]);
    expect(await store.headPosition()).toBe(0n);

    // assignTariff opens the accounts; then their keys are created.
    const commands = new CommandHandler(store);
    for (const accountId of ['fleet-1', 'cust-1']) {
      await commands.handle(
        accountDecider,
        accountStreamId(accountId),
        { type: 'AssignTariff', accountId, tariffId: 'flat', at: '2026-01-01T00:00:00.000Z', validFrom: '2026-01-01T00:00:00.000Z', validTo: null },
        ctx(`open-${accountId}`),
      );
    }
    const fleet = await service.create({ role: 'fleet_manager', subject: 'fleet-1', name: 'Fleet 1' }, ctx('fleet-key'));
    const driver = await service.create({ role: 'driver', subject: 'cust-1', name: 'Customer 1' }, ctx('driver-key'));
    expect(await service.verify(fleet.token!)).toMatchObject({ role: 'fleet_manager', subject: 'fleet-1' });
    expect(await service.verify(driver.token!)).toMatchObject({ role: 'driver', subject: 'cust-1' });
    // A trader's subject is a participant of a zone, not an account: not looked up here.
    expect((await service.create({ role: 'trader', subject: 'bob', name: 'Bob' }, ctx('trader-key'))).key.subject).toBe('bob');
  });

  it('refuses a revoked key at once on the service that revoked it, and soon on another following the same log', async () => {
    const { store, service } = open();
    const { service: other } = open(store);
    await service.start();
    await other.start();
    const { token, key } = await service.create({ role: 'operator', subject: null, name: 'ops' }, ctx('c2'));
    // Both have it cached now.
    expect(await service.verify(token!)).not.toBeNull();
    expect(await other.verify(token!)).not.toBeNull();
    await service.revoke({ keyId: key.keyId, reason: 'gone' }, ctx('c3'));
    expect(await service.verify(token!)).toBeNull();
    const deadline = Date.now() + 5_000;
    while ((await other.verify(token!)) !== null) {
      if (Date.now() > deadline) throw new Error('the other service kept the revoked key');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await service.get(key.keyId)).toMatchObject({ status: 'revoked', revokedBy: 'apikey:test', revokeReason: 'gone' });
  });

  it('records a bootstrap key once, keeps it revoked once revoked, and refuses a known id with another secret', async () => {
    const { service } = open();
    const token = { keyId: 'admin', secret: 'x'.repeat(43) };
    expect(await service.ensureBootstrapKey(token, { actor: 'system:bootstrap' })).toBe('created');
    expect(await service.ensureBootstrapKey(token, { actor: 'system:bootstrap' })).toBe('exists');
    expect(await service.verify(formatApiKeyToken(token))).toMatchObject({ keyId: 'admin', role: 'operator' });
    await expect(service.ensureBootstrapKey({ keyId: 'admin', secret: 'y'.repeat(43) }, { actor: 'system:bootstrap' })).rejects.toThrow('exists with another secret');
    await service.revoke({ keyId: 'admin', reason: null }, ctx('c4'));
    expect(await service.ensureBootstrapKey(token, { actor: 'system:bootstrap' })).toBe('revoked');
    expect(await service.verify(formatApiKeyToken(token))).toBeNull();
  });
});
