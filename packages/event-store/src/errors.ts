import { CodedError } from '@v2g/domain';
import type { ExpectedVersion } from './expected-version.ts';

export abstract class EventStoreError extends CodedError {}

export class StreamVersionConflict extends EventStoreError {
  readonly code = 'STREAM_VERSION_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected version ${String(expected)}, actual version ${actual === 0 ? 'no_stream (0)' : actual}`, { streamId, expected: String(expected), actual });
  }
}

export class UnknownEventType extends EventStoreError {
  readonly code = 'UNKNOWN_EVENT_TYPE';
  constructor(
    readonly type: string,
    readonly schemaVersion?: number,
  ) {
    super(
      schemaVersion === undefined
        ? `unknown event type ${JSON.stringify(type)}: no schema in schemas/events`
        : `unknown event type ${JSON.stringify(type)} version ${schemaVersion}: no schema in schemas/events`,
      { type, schemaVersion },
    );
  }
}

export class EventSchemaViolation extends EventStoreError {
  readonly code = 'EVENT_SCHEMA_VIOLATION';
  constructor(
    readonly type: string,
    readonly schemaVersion: number,
    /** JSON pointer of the failing field inside `data` ('' for the whole object). */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${type} v${schemaVersion}: ${field === '' ? 'data' : `data${field}`} ${reason}`, {
      type,
      schemaVersion,
      field,
      reason,
    });
  }
}

/** An append that is malformed before any schema is consulted: bad stream id, metadata, options. */
export class InvalidAppend extends EventStoreError {
  readonly code = 'INVALID_APPEND';
  constructor(field: string, reason: string) {
    super(`invalid append: ${field} ${reason}`, { field, reason });
  }
}

/**
 * A commandId that was already used for another command: an append to another stream, or one
 * with another payload (another fingerprint) to the same stream.
 */
export class CommandIdReused extends EventStoreError {
  readonly code = 'COMMAND_ID_REUSED';
  constructor(
    readonly commandId: string,
    readonly firstStreamId: string,
    readonly streamId: string,
    /** What differs from the command first recorded under this id. */
    readonly reason: 'stream' | 'payload' = 'stream',
  ) {
    super(
      reason === 'stream'
        ? `commandId ${commandId} was already used for stream ${firstStreamId}, not ${streamId}`
        : `commandId ${commandId} was already used for a different command on stream ${firstStreamId}: this one's payload is not the first one's (use a fresh commandId for a new command)`,
      { commandId, firstStreamId, streamId, reason },
    );
  }
}

/** The store cannot be reached or answered with something it should not have. */
export class EventStoreUnavailable extends EventStoreError {
  readonly code = 'EVENT_STORE_UNAVAILABLE';
}
