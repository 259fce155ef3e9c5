import { CodedError, InvalidCommand, SiteAlreadyRegistered, TimeOutOfBounds, UnknownSite } from '@v2g/domain';
import { CommandIdReused, StreamVersionConflict } from '@v2g/event-store';
import { builder } from '../builder.ts';

/**
 * Expected refusals, returned as members of a mutation's result union (the errors plugin catches
 * these classes). Anything else a resolver throws is a GraphQL error: with `extensions.code` when
 * it is a CodedError, masked when it is not.
 */

export const ErrorInterface = builder.interfaceRef<CodedError>('Error').implement({
  description: 'A refused command: a stable code, a message for humans, the facts behind it.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Stable, e.g. SITE_ALREADY_REGISTERED: branch on it, not on the message.' }),
    message: t.exposeString('message'),
  }),
});

const detail = (error: CodedError, key: string): string => String(error.details[key]);

builder.objectType(InvalidCommand, {
  name: 'InvalidCommandError',
  description: 'The command is malformed: a field is missing, out of range or not in the expected form.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.string({ description: 'The input field at fault.', resolve: (e) => detail(e, 'field') }),
    reason: t.string({ resolve: (e) => detail(e, 'reason') }),
  }),
});

builder.objectType(TimeOutOfBounds, {
  name: 'TimeOutOfBoundsError',
  description: "A time outside what the ledger's clock allows for that field: a field time too far back or ahead, a departure in the past or beyond the horizon.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.string({ description: 'The input field at fault.', resolve: (e) => detail(e, 'field') }),
    value: t.string({ resolve: (e) => detail(e, 'value') }),
    now: t.string({ description: "The ledger's now.", resolve: (e) => detail(e, 'now') }),
    earliest: t.string({ description: 'The earliest allowed.', resolve: (e) => detail(e, 'earliest') }),
    latest: t.string({ description: 'The latest allowed (or "any time": a meter\'s time ahead of now is a MeterReadingFromFuture refusal).', resolve: (e) => detail(e, 'latest') }),
  }),
});

builder.objectType(SiteAlreadyRegistered, {
  name: 'SiteAlreadyRegisteredError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ siteId: t.id({ resolve: (e) => detail(e, 'siteId') }) }),
});

builder.objectType(UnknownSite, {
  name: 'UnknownSiteError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ siteId: t.id({ resolve: (e) => detail(e, 'siteId') }) }),
});

builder.objectType(StreamVersionConflict, {
  name: 'StreamVersionConflictError',
  description: 'Other writers kept changing the stream while the command was decided; send it again.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    streamId: t.exposeID('streamId'),
    expectedVersion: t.string({ resolve: (e) => String(e.expected) }),
    actualVersion: t.exposeInt('actual'),
  }),
});

builder.objectType(CommandIdReused, {
  name: 'CommandIdReusedError',
  description:
    'The commandId was already used for another command (on another stream, or with another input on this one): use a fresh id per command. Resending the very same input is safe and returns the first result.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    commandId: t.exposeID('commandId'),
    firstStreamId: t.exposeID('firstStreamId'),
    streamId: t.exposeID('streamId'),
  }),
});

/** The refusals every command on an aggregate can meet, besides its own. */
export const COMMAND_ERRORS = [InvalidCommand, StreamVersionConflict, CommandIdReused];
