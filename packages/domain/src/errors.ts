/**
 * Every refusal the system makes is a typed error with a stable `code` and the facts that explain
 * it. The server keeps `code` and `details` in GraphQL's `extensions`; anything that is not a
 * CodedError is treated as unexpected and masked.
 */
export abstract class CodedError extends Error {
  abstract readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** A command the domain refuses: the command was understood, and the answer is no. */
export abstract class DomainError extends CodedError {}

/** A command whose input is malformed (a field missing, a number that is not a decimal, ...). */
export class InvalidCommand extends DomainError {
  readonly code = 'INVALID_COMMAND';
  constructor(field: string, reason: string) {
    super(`invalid ${field}: ${reason}`, { field, reason });
  }
}
