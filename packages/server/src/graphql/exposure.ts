import type { Response } from 'express';
import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import { createGraphQLError, handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/principal.ts';
import type { ExposureConfig } from '../hardening-config.ts';

/** The code of an introspection query from a role that may not introspect. */
const INTROSPECTION_NOT_ALLOWED = 'INTROSPECTION_NOT_ALLOWED';

/**
 * How much the schema tells about itself (hardening-config.ts, ExposureConfig):
 * - `__schema` and `__type` only for the roles in `introspectionRoles` (`__typename` for all):
 *   refused before execution, code INTROSPECTION_NOT_ALLOWED, naming the roles that may;
 * - without `suggestions`, no "Did you mean …?" in any error (graphql-js adds them to unknown
 *   fields, arguments, types and enum values: a map of the schema for whoever guesses).
 */
export function useExposure(exposure: ExposureConfig): Plugin<Record<string, unknown>> {
  const strip = <E extends Error>(errors: readonly E[]): (E | GraphQLError)[] =>
    // By name, as yoga does: a GraphQLError from another copy of graphql is one too.
    errors.map((error) =>
      error.name === 'GraphQLError' && hasSuggestion(error.message) ? withMessage(error as unknown as GraphQLError, withoutSuggestions(error.message)) : error,
    );
  return {
    onValidate({ addValidationRule, context }) {
      const role = principalIn(context)?.role;
      if (role === undefined || !exposure.introspectionRoles.includes(role)) addValidationRule(noIntrospection(role ?? 'anonymous', exposure.introspectionRoles));
      if (exposure.suggestions) return undefined;
      return ({ result, setResult }) => {
        if (result.some((e) => hasSuggestion(e.message))) setResult(strip(result));
      };
    },
    onExecute() {
      if (exposure.suggestions) return undefined;
      return {
        onExecuteDone: (payload) =>
          handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
            if (result.errors?.some((e) => hasSuggestion(e.message))) setResult({ ...result, errors: strip(result.errors) });
          }),
      };
    },
  };
}

/** The principal requireAuthentication set (yoga's context holds express's `res` from the start). */
function principalIn(context: unknown): Principal | undefined {
  const res = (context as { res?: Response }).res;
  return res?.locals.principal as Principal | undefined;
}

/** graphql-js's NoSchemaIntrospectionCustomRule, with a message that says who may and a code. */
function noIntrospection(role: string, allowed: readonly string[]) {
  return (context: ValidationContext): ASTVisitor => ({
    Field(node) {
      const name = node.name.value;
      if (name !== '__schema' && name !== '__type') return;
      const who = allowed.length === 0 ? 'no role' : `only ${allowed.join(', ')}`;
      context.reportError(
        new GraphQLError(`introspection (${name}) is not open to the role ${role} here: ${who} (INTROSPECTION_ROLES)`, {
          nodes: node,
          extensions: { code: INTROSPECTION_NOT_ALLOWED, field: name, role, allowedRoles: [...allowed] },
        }),
      );
    },
  });
}

const SUGGESTION = /\s*Did you mean [^]*\?$/;

const hasSuggestion = (message: string): boolean => SUGGESTION.test(message);
const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, '');

function withMessage(error: GraphQLError, message: string): GraphQLError {
  return createGraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
