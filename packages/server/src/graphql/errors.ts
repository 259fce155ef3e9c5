import { CodedError } from '@v2g/domain';

/** A query argument the server cannot use (a page size out of range, a cursor it never issued). */
export class InvalidArgument extends CodedError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(argument: string, reason: string) {
    super(`invalid argument ${argument}: ${reason}`, { argument, reason });
  }
}

/**
 * A caller has as many requests of a kind in progress as it may: refused at once (nothing queued),
 * with how long to wait before trying again (`retryAfterMs`, from how long such requests take).
 */
export class TooManyRequests extends CodedError {
  readonly code = 'TOO_MANY_REQUESTS';
  constructor(what: string, limit: number, retryAfterMs: number) {
    super(`too many ${what} requests in progress for this caller: at most ${limit} at once; retry in ${retryAfterMs} ms`, { what, limit, retryAfterMs });
  }
}

/**
 * A cursor this connection never issued: garbage, a cursor of another connection, or one edited by
 * hand. `extensions.code` INVALID_CURSOR, naming the argument (`after` or `before`).
 */
export class InvalidCursor extends CodedError {
  readonly code = 'INVALID_CURSOR';
  constructor(argument: string, cursor: string) {
    super(`invalid argument ${argument}: ${JSON.stringify(cursor)} is not a cursor of this connection`, { argument, cursor });
  }
}
