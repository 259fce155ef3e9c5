import { CodedError } from '@v2g/domain';
import type { GraphQLError } from 'graphql';
import { createGraphQLError, handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.ts';

export const UNEXPECTED_MESSAGE = 'Unexpected error.';

/**
 * Turns what resolvers threw into what clients see, with the request's context at hand:
 * - a CodedError (DomainError, EventStoreError, InvalidArgument) keeps its message and goes out
 *   with `extensions.code` and `extensions.details`;
 * - a GraphQLError made on purpose (graphql-js validation, variable coercion, a scalar refusing a
 *   value) passes through;
 * - anything else is logged with the request id and masked.
 * Runs before yoga's own masking, which then only guards errors raised outside execution.
 */
export function useCodedErrors(): Plugin<GraphQLContext> {
  type Done = Parameters<typeof handleStreamOrSingleExecutionResult<GraphQLContext>>[0];
  const translate = (payload: Done) => {
    const context = payload.args.contextValue;
    return handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
      if (!result.errors || result.errors.length === 0) return;
      setResult({ ...result, errors: result.errors.map((error) => toClientError(error, context)) });
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

function toClientError(error: GraphQLError, context: GraphQLContext): GraphQLError {
  const original = error.originalError;
  // By name, as yoga does: a GraphQLError from another copy of graphql is still one made on purpose.
  if (original == null || original.name === 'GraphQLError') return error;
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
