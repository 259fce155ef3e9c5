import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EventMetadata, RecordedEvent } from './types.ts';

/** The hash a stream's first event chains from. */
export const GENESIS_HASH = '0'.repeat(64);

/** What the hash covers: everything about an event except where the log put it (its position). */
export type HashedFields = {
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
};

/** RFC 8785 canonical JSON: what the chain hashes, and what checkpoint signatures cover. */
export function canonicalJson(value: unknown): string {
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new Error('value cannot be canonicalised');
  return canonical;
}

/** sha256(prevHash + canonical JSON (RFC 8785) of the event), hex. */
export function eventHash(prevHash: string, event: HashedFields): string {
  const canonical = canonicalize({
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
  });
  if (canonical === undefined) throw new Error('event cannot be canonicalised');
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

export type ChainVerification =
  | { ok: true; streamId: string; version: number; lastHash: string }
  | {
      ok: false;
      streamId: string;
      /** The first version whose stored hash does not match what its content and predecessor give. */
      brokenAtVersion: number;
      expectedHash: string;
      storedHash: string;
    };

/**
 * The hash a recorded event must carry when its predecessor's hash is `prevHash`: recomputed from
 * its stored form (before any upcast), at `streamVersion` (default: the version it says it has).
 */
export function expectedEventHash(prevHash: string, event: RecordedEvent, streamVersion: number = event.streamVersion, streamId: string = event.streamId): string {
  const stored = event.stored ?? { schemaVersion: event.schemaVersion, data: event.data };
  return eventHash(prevHash, {
    streamId,
    streamVersion,
    type: event.type,
    schemaVersion: stored.schemaVersion,
    data: stored.data,
    metadata: event.metadata,
  });
}

/** Recomputes a stream's chain from its events (read forwards from version 1, as stored). */
export function verifyChain(streamId: string, events: readonly RecordedEvent[]): ChainVerification {
  let prev = GENESIS_HASH;
  let version = 0;
  for (const event of events) {
    version += 1;
    const expected = expectedEventHash(prev, event, version, streamId);
    if (event.streamVersion !== version || expected !== event.hash) {
      return { ok: false, streamId, brokenAtVersion: version, expectedHash: expected, storedHash: event.hash };
    }
    prev = event.hash;
  }
  return { ok: true, streamId, version, lastHash: prev };
}
