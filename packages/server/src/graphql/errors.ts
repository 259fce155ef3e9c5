import { CodedError } from '@v2g/domain';

/** A query argument the server cannot use (a page size out of range, a cursor it never issued). */
export class InvalidArgument extends CodedError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(argument: string, reason: string) {
    super(`invalid argument ${argument}: ${reason}`, { argument, reason });
  }
}
