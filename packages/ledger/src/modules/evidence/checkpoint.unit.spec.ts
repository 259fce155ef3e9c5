import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkSignature,
  keyIdOf,
  parseCheckpoint,
  parsePrivateKey,
  parsePublicKey,
  privateKeySeedHex,
  rawPublicKey,
  signCheckpoint,
  type UnsignedCheckpoint,
} from './checkpoint.ts';

const unsigned: UnsignedCheckpoint = {
  algorithm: 'rfc6962-sha256',
  through: '42',
  count: '40',
  streams: '3',
  merkleRoot: 'a'.repeat(64),
  frontier: ['b'.repeat(64), 'c'.repeat(64)],
  previousThrough: '20',
  previousRoot: 'd'.repeat(64),
};

describe('checkpoint signatures (Ed25519)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');

  it('signs deterministically, and the matching public key verifies', () => {
    const signed = signCheckpoint(unsigned, privateKey);
    expect(signCheckpoint(unsigned, privateKey)).toEqual(signed);
    expect(signed.signature).toMatchObject({ algorithm: 'ed25519', keyId: keyIdOf(publicKey) });
    expect(signed.signature!.value).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(checkSignature(signed, publicKey)).toEqual({ state: 'valid', keyId: keyIdOf(publicKey) });
    expect(parseCheckpoint(signed)).toEqual({ ok: true, checkpoint: signed });
  });

  it('refuses altered data, a signature by another key, and garbage', () => {
    const signed = signCheckpoint(unsigned, privateKey);
    expect(checkSignature({ ...signed, count: '41' }, publicKey)).toMatchObject({ state: 'invalid', reason: 'the signature does not match the data' });
    const other = generateKeyPairSync('ed25519');
    const forged = signCheckpoint(unsigned, other.privateKey);
    expect(checkSignature(forged, publicKey)).toMatchObject({ state: 'invalid', reason: expect.stringMatching(/^signed with key [0-9a-f]{16}, not the trusted key/) });
    // Claiming the trusted key's id does not help the forger.
    expect(checkSignature({ ...forged, signature: { ...forged.signature!, keyId: keyIdOf(publicKey) } }, publicKey)).toMatchObject({ state: 'invalid' });
    expect(checkSignature({ ...signed, signature: { ...signed.signature!, value: 'AAAA' } }, publicKey)).toMatchObject({ state: 'invalid' });
    expect(checkSignature(unsigned, publicKey)).toEqual({ state: 'unsigned' });
  });

  it('reads keys as PEM (with literal \\n too) or as 64 hex digits', () => {
    const seed = privateKeySeedHex(privateKey);
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const text of [seed, seed.toUpperCase(), pem, pem.replaceAll('\n', '\\n')]) {
      expect(keyIdOf(createPublicKey(parsePrivateKey(text)))).toBe(keyIdOf(publicKey));
    }
    const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    for (const text of [rawPublicKey(publicKey).toString('hex'), publicPem]) {
      expect(keyIdOf(parsePublicKey(text))).toBe(keyIdOf(publicKey));
    }
  });

  it('says what is wrong with a key that is not one', () => {
    expect(() => parsePrivateKey('secret')).toThrow(/must be an Ed25519 private key: PEM .* or a 32-byte seed as 64 hex digits/);
    expect(() => parsePrivateKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----')).toThrow(/not a readable PEM private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => parsePrivateKey(rsa)).toThrow(/must be an Ed25519 key, not rsa/);
    expect(() => parsePublicKey('abc')).toThrow(/must be an Ed25519 public key/);
  });

  it('parses a stored checkpoint field by field, naming what is malformed', () => {
    expect(parseCheckpoint({ ...unsigned, merkleRoot: 'x' })).toEqual({ ok: false, reason: 'merkleRoot is not a sha256 hex digest' });
    expect(parseCheckpoint({ ...unsigned, count: 40 })).toEqual({ ok: false, reason: 'count is not a decimal count' });
    expect(parseCheckpoint({ ...unsigned, algorithm: 'md5' })).toMatchObject({ ok: false });
    expect(parseCheckpoint(null)).toMatchObject({ ok: false });
  });
});
