import { InvalidAppend, StreamVersionConflict } from './errors.ts';
import { eventHash } from './hash-chain.ts';
import type { SchemaRegistry } from './schema-registry.ts';
import type { AppendOptions, EventMetadata, ExpectedVersion, NewEvent } from './types.ts';

/** An event ready to be written: version, metadata and hash are fixed. */
export type PreparedEvent = {
  streamVersion: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  hash: string;
};

const STREAM_ID = /^[A-Za-z][A-Za-z0-9_]*-[A-Za-z0-9_.:@-]+$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const MAX_EVENTS_PER_APPEND = 10_000;
const FINGERPRINT = /^[A-Za-z0-9:_+/=-]{1,128}$/;

/**
 * Everything that can be checked before touching storage: stream id, options, every event against
 * its schema. Runs before any I/O so that bad input changes nothing.
 */
export function validateAppend(registry: SchemaRegistry, streamId: string, events: readonly NewEvent[], options: AppendOptions): void {
  if (typeof streamId !== 'string' || !STREAM_ID.test(streamId) || streamId.length > 200) {
    throw new InvalidAppend('streamId', `${JSON.stringify(streamId)} must look like <category>-<id> (letters, digits, _ . : @ -)`);
  }
  checkText('commandId', options.commandId);
  if (options.fingerprint !== undefined && (typeof options.fingerprint !== 'string' || !FINGERPRINT.test(options.fingerprint))) {
    throw new InvalidAppend('fingerprint', 'must be 1-128 letters, digits or : _ + / = -');
  }
  checkText('actor', options.actor);
  if (options.correlationId !== undefined) checkText('correlationId', options.correlationId);
  if (options.causationId !== undefined) checkText('causationId', options.causationId);
  const expected = options.expectedVersion;
  if (!(expected === 'any' || expected === 'no_stream' || expected === 'exists') && !(typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0)) {
    throw new InvalidAppend('expectedVersion', `${String(expected)} is not 'any', 'no_stream', 'exists' or a version >= 0`);
  }
  if (!Array.isArray(events)) throw new InvalidAppend('events', 'must be an array');
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidAppend('events', `${events.length} events in one append; at most ${MAX_EVENTS_PER_APPEND}`);
  }
  events.forEach((event, i) => {
    if (typeof event?.type !== 'string') throw new InvalidAppend(`events[${i}].type`, 'must be a string');
    if (event.occurredAt !== undefined && !isIsoUtc(event.occurredAt)) {
      throw new InvalidAppend(`events[${i}].occurredAt`, `${JSON.stringify(event.occurredAt)} is not an ISO 8601 UTC time (…Z)`);
    }
    const version = event.schemaVersion ?? registry.latestVersion(event.type);
    registry.validate(event.type, version, event.data);
    // Refused everywhere, not only where PostgreSQL's jsonb cannot hold it, so that a log can
    // move between adapters.
    if (!storableText(event.data)) {
      throw new InvalidAppend(`events[${i}].data`, 'contains a NUL character or a lone UTF-16 surrogate, which cannot be stored');
    }
  });
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether PostgreSQL's text (and every other adapter) can hold the string: no NUL, no lone surrogate. */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

function storableText(value: unknown): boolean {
  if (typeof value === 'string') return !UNSTORABLE.test(value);
  if (Array.isArray(value)) return value.every(storableText);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).every(([key, inner]) => !UNSTORABLE.test(key) && storableText(inner));
  }
  return true;
}

/** Throws StreamVersionConflict unless the stream's actual version is what the writer expected. */
export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  const ok = expected === 'any' || (expected === 'no_stream' && actual === 0) || (expected === 'exists' && actual > 0) || expected === actual;
  if (!ok) throw new StreamVersionConflict(streamId, expected, actual);
}

/** Fixes versions, metadata and the hash chain of events appended after `currentVersion`. */
export function prepareEvents(
  registry: SchemaRegistry,
  streamId: string,
  events: readonly NewEvent[],
  options: AppendOptions,
  current: { version: number; lastHash: string },
  recordedAt: string,
): PreparedEvent[] {
  let prevHash = current.lastHash;
  return events.map((event, i) => {
    const streamVersion = current.version + i + 1;
    const schemaVersion = event.schemaVersion ?? registry.latestVersion(event.type);
    const metadata: EventMetadata = {
      commandId: options.commandId,
      correlationId: options.correlationId ?? options.commandId,
      causationId: options.causationId ?? options.commandId,
      actor: options.actor,
      occurredAt: event.occurredAt ?? recordedAt,
      recordedAt,
    };
    const hash = eventHash(prevHash, { streamId, streamVersion, type: event.type, schemaVersion, data: event.data, metadata });
    prevHash = hash;
    return { streamVersion, type: event.type, schemaVersion, data: event.data, metadata, hash };
  });
}

function isIsoUtc(value: string): boolean {
  return typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value));
}

function checkText(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    throw new InvalidAppend(field, 'must be a non-empty string of at most 200 characters');
  }
  if (!isStorableText(value)) throw new InvalidAppend(field, 'contains a NUL character or a lone UTF-16 surrogate, which cannot be stored');
}
