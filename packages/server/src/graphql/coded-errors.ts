import { CodedError, InvalidCommand } from '@v2g/domain';
import { getOperationAST, type DocumentNode, type GraphQLError } from 'graphql';
import { createGraphQLError, handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.ts';
import { InvalidArgument } from './errors.ts';
import { uncodedRequestError } from './input-errors.ts';

const UNEXPECTED_MESSAGE = 'Unexpected error.';

/**
 * Turns what resolvers threw into what clients see, with the request's context at hand:
 * - a CodedError (DomainError, EventStoreError, InvalidArgument) keeps its message and goes out
 *   with `extensions.code` and `extensions.details`;
 * - a GraphQLError made on purpose keeps its code; one without (a variable's value refused by
 *   coercion, an operation that is not in the document) gets BAD_USER_INPUT or BAD_REQUEST;
 * - in a query or a subscription, an INVALID_COMMAND (a check shared with the commands refusing
 *   an argument: a malformed id, a month "2026-13") is an INVALID_ARGUMENT: no command was sent;
 * - anything else is logged with the request id and masked.
 * Runs before yoga's own masking, which then only guards errors raised outside execution.
 */
export function useCodedErrors(): Plugin<GraphQLContext> {
  type Done = Parameters<typeof handleStreamOrSingleExecutionResult<GraphQLContext>>[0];
  const translate = (payload: Done) => {
    const context = payload.args.contextValue;
    const operation = getOperationAST(payload.args.document as DocumentNode, payload.args.operationName)?.operation;
    return handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
      if (!result.errors || result.errors.length === 0) return;
      setResult({ ...result, errors: result.errors.map((error) => toClientError(error, context, operation !== 'mutation')) });
    });
  };
  return {
    onExecute() {
      return { onExecuteDone: translate };
    },
    // A subscription refused when it starts (FORBIDDEN, a bad argument), and errors in its events.
    onSubscribe() {
      return { onSubscribeResult: (payload) => translate(payload as unknown as Done) };
    },
  };
}

function toClientError(error: GraphQLError, context: GraphQLContext, isRead: boolean): GraphQLError {
  const original = isRead && error.originalError instanceof InvalidCommand ? asArgumentError(error.originalError) : error.originalError;
  // By name, as yoga does: a GraphQLError from another copy of graphql is still one made on purpose.
  if (original == null || original.name === 'GraphQLError') return error.extensions?.code === undefined ? uncodedRequestError(error) : error;
  const where = { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path };
  if (original instanceof CodedError) {
    return createGraphQLError(original.message, { ...where, extensions: { code: original.code, details: original.details } });
  }
  context.log.error({ err: original, path: error.path?.join('.') }, 'unexpected error in a resolver');
  return createGraphQLError(UNEXPECTED_MESSAGE, {
    ...where,
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: context.requestId },
  });
}

/** A command's input check met by a query's argument: the same field and reason, as an argument. */
function asArgumentError(error: InvalidCommand): InvalidArgument {
  return new InvalidArgument(String(error.details.field), String(error.details.reason));
}
