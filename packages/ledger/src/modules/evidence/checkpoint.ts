import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '@v2g/event-store';
import { MERKLE_ALGORITHM } from './merkle.ts';

/**
 * A log checkpoint: the Merkle root (merkle.ts) of every event of the global log up to a position,
 * recorded as a `LogCheckpointed` event in its own stream, chained to the checkpoint before it and
 * optionally signed with Ed25519. The schema is `schemas/events/LogCheckpointed.v1.json`.
 *
 * Deterministic: everything in it follows from the log up to `through` (which includes the previous
 * checkpoint), and Ed25519 signatures are deterministic (RFC 8032), so two checkpointers that cover
 * the same prefix write the same data, under the same commandId: the second append is a duplicate.
 */
export const CHECKPOINT_STREAM = 'checkpoint-log';
export const CHECKPOINT_EVENT_TYPE = 'LogCheckpointed';
export const CHECKPOINT_ACTOR = 'ledger:checkpointer';

export type CheckpointSignature = {
  algorithm: 'ed25519';
  /** The first 16 hex digits of SHA-256 over the raw 32-byte public key. */
  keyId: string;
  /** base64 of the 64-byte signature over `signedMessage(data)`. */
  value: string;
};

export type LogCheckpointedData = {
  algorithm: typeof MERKLE_ALGORITHM;
  /** The last global position covered (decimal string). */
  through: string;
  /** Events with a position up to `through`. */
  count: string;
  /** Streams with an event up to `through` (events at version 1). */
  streams: string;
  /** RFC 6962 root over the events' hashes, in position order, up to `through`. */
  merkleRoot: string;
  /** The roots of the complete subtrees, largest first: the next checkpoint goes on from them. */
  frontier: string[];
  /** The checkpoint before this one (null for the first): its `through` and `merkleRoot`. */
  previousThrough: string | null;
  previousRoot: string | null;
  signature?: CheckpointSignature;
};

export type UnsignedCheckpoint = Omit<LogCheckpointedData, 'signature'>;

/** What a signature covers: a fixed prefix and the canonical JSON (RFC 8785) of the unsigned data. */
export function signedMessage(data: UnsignedCheckpoint | LogCheckpointedData): Buffer {
  const { signature: _signature, ...unsigned } = data as LogCheckpointedData;
  return Buffer.from(`v2g-ledger ${CHECKPOINT_EVENT_TYPE} v1\n${canonicalJson(unsigned)}`, 'utf8');
}

export function signCheckpoint(data: UnsignedCheckpoint, privateKey: KeyObject): LogCheckpointedData {
  const publicKey = createPublicKey(privateKey);
  return {
    ...data,
    signature: { algorithm: 'ed25519', keyId: keyIdOf(publicKey), value: sign(null, signedMessage(data), privateKey).toString('base64') },
  };
}

export type SignatureCheck = { state: 'unsigned' } | { state: 'valid'; keyId: string } | { state: 'invalid'; keyId: string; reason: string };

/** Checks a checkpoint's signature against the one public key the auditor trusts. */
export function checkSignature(data: LogCheckpointedData, publicKey: KeyObject): SignatureCheck {
  const signature = data.signature;
  if (signature === undefined) return { state: 'unsigned' };
  const expectedKeyId = keyIdOf(publicKey);
  if (signature.keyId !== expectedKeyId) {
    return { state: 'invalid', keyId: signature.keyId, reason: `signed with key ${signature.keyId}, not the trusted key ${expectedKeyId}` };
  }
  const value = Buffer.from(signature.value, 'base64');
  let ok: boolean;
  try {
    ok = value.length === 64 && verify(null, signedMessage(data), publicKey, value);
  } catch {
    ok = false;
  }
  return ok ? { state: 'valid', keyId: signature.keyId } : { state: 'invalid', keyId: signature.keyId, reason: 'the signature does not match the data' };
}

/** Raw 32-byte Ed25519 public key → the id a signature names its key by. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

export function rawPublicKey(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

// DER prefixes of an Ed25519 PKCS#8 private key and SPKI public key (RFC 8410) around the 32 raw bytes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * An Ed25519 private key from an environment variable: PEM (PKCS#8, `-----BEGIN PRIVATE KEY-----`;
 * literal `\n` stand for newlines) or the 32-byte seed as 64 hex digits. Throws with the reason.
 */
export function parsePrivateKey(text: string): KeyObject {
  const value = text.trim().replaceAll('\\n', '\n');
  let key: KeyObject;
  if (/^[0-9a-fA-F]{64}$/.test(value)) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(value, 'hex')]), format: 'der', type: 'pkcs8' });
  } else if (value.startsWith('-----BEGIN')) {
    try {
      key = createPrivateKey({ key: value, format: 'pem' });
    } catch (error) {
      throw new Error(`is not a readable PEM private key (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  } else {
    throw new Error('must be an Ed25519 private key: PEM (-----BEGIN PRIVATE KEY-----) or a 32-byte seed as 64 hex digits');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** An Ed25519 public key: PEM (SPKI, `-----BEGIN PUBLIC KEY-----`) or the raw 32 bytes as 64 hex digits. */
export function parsePublicKey(text: string): KeyObject {
  const value = text.trim().replaceAll('\\n', '\n');
  let key: KeyObject;
  if (/^[0-9a-fA-F]{64}$/.test(value)) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(value, 'hex')]), format: 'der', type: 'spki' });
  } else if (value.startsWith('-----BEGIN')) {
    try {
      key = createPublicKey({ key: value, format: 'pem' });
    } catch (error) {
      throw new Error(`is not a readable PEM public key (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  } else {
    throw new Error('must be an Ed25519 public key: PEM (-----BEGIN PUBLIC KEY-----) or 32 bytes as 64 hex digits');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** The seed of an Ed25519 private key as 64 hex digits (what `ledger keygen` prints). */
export function privateKeySeedHex(privateKey: KeyObject): string {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return der.subarray(der.length - 32).toString('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;
const COUNT = /^(0|[1-9][0-9]{0,19})$/;

/**
 * A stored checkpoint's data, checked field by field (the store validated it on append, but an
 * auditor reads what is there now). Returns the reason when it is malformed.
 */
export function parseCheckpoint(data: unknown): { ok: true; checkpoint: LogCheckpointedData } | { ok: false; reason: string } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, reason: 'data is not an object' };
  const d = data as Record<string, unknown>;
  if (d.algorithm !== MERKLE_ALGORITHM) return { ok: false, reason: `algorithm ${JSON.stringify(d.algorithm)} is not ${MERKLE_ALGORITHM}` };
  for (const field of ['through', 'count', 'streams'] as const) {
    if (typeof d[field] !== 'string' || !COUNT.test(d[field])) return { ok: false, reason: `${field} is not a decimal count` };
  }
  if (typeof d.merkleRoot !== 'string' || !HEX64.test(d.merkleRoot)) return { ok: false, reason: 'merkleRoot is not a sha256 hex digest' };
  if (!Array.isArray(d.frontier) || !d.frontier.every((h) => typeof h === 'string' && HEX64.test(h))) {
    return { ok: false, reason: 'frontier is not a list of sha256 hex digests' };
  }
  if (!(d.previousThrough === null || (typeof d.previousThrough === 'string' && COUNT.test(d.previousThrough)))) {
    return { ok: false, reason: 'previousThrough is neither null nor a position' };
  }
  if (!(d.previousRoot === null || (typeof d.previousRoot === 'string' && HEX64.test(d.previousRoot)))) {
    return { ok: false, reason: 'previousRoot is neither null nor a sha256 hex digest' };
  }
  if (d.signature !== undefined) {
    const s = d.signature as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null || s.algorithm !== 'ed25519' || typeof s.keyId !== 'string' || typeof s.value !== 'string') {
      return { ok: false, reason: 'signature is not { algorithm: ed25519, keyId, value }' };
    }
  }
  return { ok: true, checkpoint: d as unknown as LogCheckpointedData };
}
