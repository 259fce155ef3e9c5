/** How the ledger's events, command outcomes and versions map to KurrentDB's records and revisions, and KurrentDB's client errors to ours: pure (the unit tests run it without a server). */
import { createHash } from 'node:crypto';
import {
  AccessDeniedError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
  isCommandError,
  jsonEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type JSONType,
  type Position,
} from '@eventstore/db-client';
import { EventStoreError, EventStoreUnavailable, InvalidAppend, StreamVersionConflict } from '../errors.ts';
import { type PreparedEvent } from '../prepare-append.ts';
import { type AppendOptions, type AppendResult, type EventMetadata, type ExpectedVersion, type RecordedEvent } from '../types.ts';

/** Where the outcome of command `<id>` is recorded. A ledger stream id always starts with a letter. */
export const COMMAND_STREAM_PREFIX = '_command-';
export const COMMAND_RECORDED = 'CommandRecorded';
/** Marks event metadata written by this adapter (lets a reader tell our events from foreign ones). */
export const LEDGER_FORMAT = 1;
/** Every stream id `validateAppend` accepts matches this (it is `<category>-…`, category a word). */
export const LEDGER_STREAM_PATTERN = '^[A-Za-z][A-Za-z0-9_]*-';
const LEDGER_STREAM = new RegExp(LEDGER_STREAM_PATTERN);
/** Namespace of our deterministic event ids (random, fixed once: changing it changes every id). */
export const EVENT_ID_NAMESPACE = 'e2227c2f-fd03-4081-8bfb-3134cb7c3444';

const U64_MAX = 2n ** 64n - 1n;

// ---------------------------------------------------------------------------------------------
// Pure mappings (exported for the unit tests that run without a server)
// ---------------------------------------------------------------------------------------------

/**
 * An RFC 4122 version-5 UUID: SHA-1 of the namespace's 16 bytes followed by the UTF-8 name, with
 * the version and variant bits set. Deterministic: the same name always gives the same id.
 */
export function uuidFromSha1(name: string, namespace: string = EVENT_ID_NAMESPACE): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(namespace)) {
    throw new Error(`uuid namespace ${JSON.stringify(namespace)} is not a UUID`);
  }
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of the `index`-th event (from 0) a command appends to a stream. */
export function eventIdFor(streamId: string, commandId: string, index: number): string {
  return uuidFromSha1(JSON.stringify(['event', streamId, commandId, index]));
}

/** The id of a command's outcome record. */
export function commandRecordIdFor(commandId: string): string {
  return uuidFromSha1(JSON.stringify(['command-recorded', commandId]));
}

export function commandStreamOf(commandId: string): string {
  return `${COMMAND_STREAM_PREFIX}${commandId}`;
}

/** Our version (1, 2, …) of the event at KurrentDB revision (0, 1, …); 'no_stream' or a negative revision → 0. */
export function revisionToVersion(revision: CurrentRevision | bigint): number {
  if (revision === NO_STREAM || (typeof revision === 'bigint' && revision < 0n)) return 0;
  const version = Number(revision) + 1;
  if (!Number.isSafeInteger(version)) throw new EventStoreUnavailable(`stream revision ${String(revision)} is beyond a safe version number`);
  return version;
}

/** The KurrentDB revision of the event at our version (>= 1). */
export function versionToRevision(version: number): bigint {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`version ${version} has no revision: versions start at 1`);
  return BigInt(version - 1);
}

/** What to expect of a stream whose current version is `version`: exactly that state, nothing looser. */
export function expectedRevisionFor(version: number): AppendExpectedRevision {
  return version === 0 ? NO_STREAM : versionToRevision(version);
}

/** A KurrentDB expected revision, told in our terms (for errors the server raised on its own). */
export function expectedVersionFromClient(expected: AppendExpectedRevision): ExpectedVersion {
  if (expected === 'any') return 'any';
  if (expected === 'no_stream') return 'no_stream';
  if (expected === 'stream_exists') return 'exists';
  // The server's own constants travel as negative numbers in some error paths.
  if (expected === -1n) return 'no_stream';
  if (expected === -4n) return 'exists';
  if (expected < 0n) return 'any';
  return revisionToVersion(expected);
}

/** A stream and event type this adapter writes to the global log (no system or command streams). */
export function isLedgerRecord(streamId: string, type: string): boolean {
  return LEDGER_STREAM.test(streamId) && !type.startsWith('$');
}

/** The metadata JSON stored with every event. */
type StoredMetadata = EventMetadata & {
  ledgerFormat: typeof LEDGER_FORMAT;
  schemaVersion: number;
  streamVersion: number;
  hash: string;
};

/** A prepared event in the shape KurrentDB's client appends (a JSON event with a deterministic id). */
export function toKurrentEventData(streamId: string, event: PreparedEvent, index: number): EventData {
  const metadata: StoredMetadata = {
    ...event.metadata,
    ledgerFormat: LEDGER_FORMAT,
    schemaVersion: event.schemaVersion,
    streamVersion: event.streamVersion,
    hash: event.hash,
  };
  return jsonEvent({
    id: eventIdFor(streamId, event.metadata.commandId, index),
    type: event.type,
    // Stored as JSON text; the schema decides what `data` may be.
    data: event.data as JSONType,
    metadata,
  });
}

/** What this adapter needs of a recorded KurrentDB event (the client's RecordedEvent has all of it). */
export type KurrentRecord = {
  streamId: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  position?: Position;
};

/**
 * A KurrentDB event back in our envelope, as stored (not upcast). Throws EventStoreUnavailable when
 * the event was not written by this adapter or contradicts itself: a store that answers with
 * something it should not have.
 */
export function fromKurrentRecord(record: KurrentRecord, commitPosition?: bigint): RecordedEvent {
  const where = `${record.streamId}@${record.revision}`;
  const bad = (reason: string) => new EventStoreUnavailable(`KurrentDB event ${where} ${reason}`, { streamId: record.streamId, revision: String(record.revision) });
  if (!record.isJson) throw bad('is not JSON: not written by the ledger');
  const meta = record.metadata;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || meta instanceof Uint8Array) {
    throw bad('has no JSON metadata: not written by the ledger');
  }
  const m = meta as Record<string, unknown>;
  if (m.ledgerFormat !== LEDGER_FORMAT) throw bad(`has metadata format ${JSON.stringify(m.ledgerFormat)}, expected ${LEDGER_FORMAT}`);
  const text = (key: keyof EventMetadata | 'hash'): string => {
    const value = m[key];
    if (typeof value !== 'string') throw bad(`metadata.${key} is missing`);
    return value;
  };
  const schemaVersion = m.schemaVersion;
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion) || schemaVersion < 1) throw bad('metadata.schemaVersion is invalid');
  const streamVersion = revisionToVersion(record.revision);
  if (m.streamVersion !== streamVersion) {
    throw bad(`says it is version ${JSON.stringify(m.streamVersion)} but sits at version ${streamVersion}: the stream was altered (truncated or rewritten)`);
  }
  const hash = text('hash');
  if (!/^[0-9a-f]{64}$/.test(hash)) throw bad('metadata.hash is not a sha256 hex digest');
  return {
    streamId: record.streamId,
    streamVersion,
    globalPosition: globalPositionOf(record, commitPosition),
    type: record.type,
    schemaVersion,
    data: record.data,
    metadata: {
      commandId: text('commandId'),
      correlationId: text('correlationId'),
      causationId: text('causationId'),
      actor: text('actor'),
      occurredAt: text('occurredAt'),
      recordedAt: text('recordedAt'),
    },
    hash,
  };
}

/**
 * The commit position of a record. Stream reads carry it from server 22.6 on; older servers send 0
 * or 2^64-1 there, and then the ResolvedEvent's commit position (if any) is used.
 */
export function globalPositionOf(record: Pick<KurrentRecord, 'streamId' | 'revision' | 'position'>, commitPosition?: bigint): bigint {
  const commit = record.position?.commit;
  if (commit !== undefined && commit > 0n && commit < U64_MAX) return commit;
  if (commitPosition !== undefined && commitPosition > 0n && commitPosition < U64_MAX) return commitPosition;
  throw new EventStoreUnavailable(`KurrentDB returned no log position for ${record.streamId}@${record.revision}: the adapter needs a server >= 22.6`, {
    streamId: record.streamId,
  });
}

/** The outcome with the append's fingerprint, when it has one. */
export function withFingerprint(result: AppendResult, options: AppendOptions): AppendResult {
  return options.fingerprint === undefined ? result : { ...result, fingerprint: options.fingerprint };
}

/** A command's outcome as stored in its `_command-` stream (bigints as decimal strings). */
export function encodeCommandResult(result: AppendResult): Record<string, unknown> {
  return {
    streamId: result.streamId,
    commandId: result.commandId,
    nextExpectedVersion: result.nextExpectedVersion,
    firstVersion: result.firstVersion,
    firstPosition: result.firstPosition === null ? null : result.firstPosition.toString(),
    lastPosition: result.lastPosition === null ? null : result.lastPosition.toString(),
    ...(result.fingerprint === undefined ? {} : { fingerprint: result.fingerprint }),
  };
}

/** The stored outcome back as an AppendResult (duplicate: true, it is a recorded outcome). */
export function decodeCommandResult(data: unknown): AppendResult {
  const bad = () => new EventStoreUnavailable('KurrentDB command record is malformed', { data: JSON.stringify(data) ?? null });
  if (typeof data !== 'object' || data === null) throw bad();
  const d = data as Record<string, unknown>;
  const position = (value: unknown): bigint | null => {
    if (value === null) return null;
    if (typeof value !== 'string' || !/^[0-9]+$/.test(value)) throw bad();
    return BigInt(value);
  };
  const int = (value: unknown): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad();
    return value;
  };
  if (typeof d.streamId !== 'string' || typeof d.commandId !== 'string') throw bad();
  if (d.fingerprint !== undefined && typeof d.fingerprint !== 'string') throw bad();
  return {
    streamId: d.streamId,
    commandId: d.commandId,
    nextExpectedVersion: int(d.nextExpectedVersion),
    firstVersion: d.firstVersion === null ? null : int(d.firstVersion),
    firstPosition: position(d.firstPosition),
    lastPosition: position(d.lastPosition),
    duplicate: true,
    ...(typeof d.fingerprint === 'string' ? { fingerprint: d.fingerprint } : {}),
  };
}

/**
 * Translates an error of the client library into ours; anything else (our own errors, programming
 * errors) passes through unchanged.
 * - WrongExpectedVersionError → StreamVersionConflict (stream, expected, actual), in versions;
 *   `context.expected` (what our caller expected) wins over what was sent to the server.
 * - MaxAppendSizeExceededError → InvalidAppend (the batch is too large for the server).
 * - connection, deadline, leader, access and every other client failure → EventStoreUnavailable.
 */
export function translateClientError(error: unknown, context: { expected?: ExpectedVersion } = {}): unknown {
  if (error instanceof EventStoreError) return error;
  const converted = asClientError(error);
  if (converted instanceof WrongExpectedVersionError) {
    return new StreamVersionConflict(converted.streamName, context.expected ?? expectedVersionFromClient(converted.expectedVersion), revisionToVersion(converted.actualVersion));
  }
  if (converted instanceof MaxAppendSizeExceededError) {
    return new InvalidAppend('events', `exceed the server's maximum append size (${converted.maxAppendSize} bytes)`);
  }
  if (converted instanceof Error && (isCommandError(converted) || /^Failed to discover after \d+ attempts/.test(converted.message))) {
    const kind = isCommandError(converted) ? converted.type : 'discovery';
    const hint = converted instanceof AccessDeniedError ? ' (check the credentials in the connection string)' : '';
    return new EventStoreUnavailable(`KurrentDB ${kind}: ${converted.message}${hint}`, { clientError: kind, reason: converted.message });
  }
  return error;
}

/** The client's typed error for a raw gRPC status error; anything else unchanged. */
export function asClientError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  try {
    return convertToCommandError(error);
  } catch {
    // The converter assumes a gRPC status error has `details`; an error that only looks like one.
    return error;
  }
}

/** An error after which the write may or may not have happened (so an identical resend is the way to know). */
export function isUnknownOutcome(error: unknown): boolean {
  const converted = asClientError(error);
  return converted instanceof UnavailableError || converted instanceof DeadlineExceededError || converted instanceof TimeoutError || converted instanceof NotLeaderError;
}

/**
 * The client's error classes, for tests that feed `translateClientError` real instances without
 * importing the client themselves (every client import stays in this file).
 */
export const kurrentClientErrors = {
  WrongExpectedVersionError,
  StreamNotFoundError,
  UnavailableError,
  DeadlineExceededError,
  AccessDeniedError,
  MaxAppendSizeExceededError,
} as const;
