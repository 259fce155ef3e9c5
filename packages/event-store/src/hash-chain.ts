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

/** Recomputes a stream's chain from its events (read forwards from version 1, as stored). */
export function verifyChain(streamId: string, events: readonly RecordedEvent[]): ChainVerification {
  let prev = GENESIS_HASH;
  let version = 0;
  for (const event of events) {
    version += 1;
    const stored = event.stored ?? { schemaVersion: event.schemaVersion, data: event.data };
    const expected = eventHash(prev, {
      streamId,
      streamVersion: version,
      type: event.type,
      schemaVersion: stored.schemaVersion,
      data: stored.data,
      metadata: event.metadata,
    });
    if (event.streamVersion !== version || expected !== event.hash) {
      return { ok: false, streamId, brokenAtVersion: version, expectedHash: expected, storedHash: event.hash };
    }
    prev = event.hash;
  }
  return { ok: true, streamId, version, lastHash: prev };
}
