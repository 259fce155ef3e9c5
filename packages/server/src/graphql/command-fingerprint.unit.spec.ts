import { describe, expect, it } from 'vitest';
import { commandFingerprint } from './command-fingerprint-plugin.ts';

describe("a command's fingerprint", () => {
  const input = { commandId: 'c1', siteId: 's1', name: 'Depot', limits: { importLimitW: '11000', exportLimitW: '0' }, tags: ['a', 'b'] };

  it('is the same for the same request, whatever the order of its keys, and for an absent field sent as null', () => {
    const reordered = { tags: ['a', 'b'], limits: { exportLimitW: '0', importLimitW: '11000' }, name: 'Depot', siteId: 's1', commandId: 'c1', at: null };
    expect(commandFingerprint('renameSite', { input: reordered }, 'apikey:k1')).toBe(commandFingerprint('renameSite', { input }, 'apikey:k1'));
    expect(commandFingerprint('renameSite', { input }, 'apikey:k1')).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('differs with any value, the order of a list, the mutation or the sender', () => {
    const base = commandFingerprint('renameSite', { input }, 'apikey:k1');
    const variants = [
      commandFingerprint('renameSite', { input: { ...input, name: 'Depot ' } }, 'apikey:k1'),
      commandFingerprint('renameSite', { input: { ...input, limits: { ...input.limits, exportLimitW: '1' } } }, 'apikey:k1'),
      commandFingerprint('renameSite', { input: { ...input, tags: ['b', 'a'] } }, 'apikey:k1'),
      commandFingerprint('registerSite', { input }, 'apikey:k1'),
      commandFingerprint('renameSite', { input }, 'apikey:k2'),
      commandFingerprint('renameSite', { input: { ...input, position: 5n } }, 'apikey:k1'),
    ];
    for (const variant of variants) expect(variant).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });
});
