import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DECIMAL_PATTERN } from '@v2g/domain';
import { GraphQLError, Kind, print, valueFromASTUntyped, type ValueNode } from 'graphql';
import { forbiddenFor, scopesOf, type AuthScopes } from './access.ts';
import type { GraphQLContext } from './context.ts';
import './default-deny-plugin.ts';
import './command-fingerprint-plugin.ts';
import './bounded-inputs-plugin.ts';

/**
 * The schema builder and its scalars. No object types here: each module in ./schema adds its own.
 * Integers that can outgrow 2^53 (log positions, counts) and decimals (power, energy, money) are
 * strings on the wire, never JSON numbers.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: AuthScopes;
  // Fields are non-null unless they say `nullable: true`: absence is part of a field's contract.
  DefaultFieldNullability: false;
  Scalars: {
    Position: { Input: bigint; Output: bigint };
    BigInt: { Input: bigint; Output: bigint };
    Decimal: { Input: string; Output: string };
    DateTime: { Input: string; Output: string | Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // Scope auth first: it checks before any other plugin's wrapper (or the resolver) runs.
  // Inside the errors plugin: bounds on quantities and times (a refusal is the mutation's
  // InvalidCommandError), then the command fingerprint, which only the resolver itself sees.
  plugins: [ScopeAuthPlugin, 'defaultDeny', ErrorsPlugin, 'boundedInputs', 'commandFingerprint'],
  scopeAuth: {
    // Subscriptions are checked when they start, not per event.
    authorizeOnSubscribe: true,
    // A loader that throws (a malformed id, say) refuses; it never leaks as an unexpected error.
    treatErrorsAsUnauthorized: true,
    unauthorizedError: (_parent, context, info, result) => forbiddenFor(`${info.parentType.name}.${info.fieldName}`, context.principal, result.failure),
    authScopes: (context) => scopesOf(context),
  },
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
});

const UNSIGNED = /^(0|[1-9][0-9]*)$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * A string scalar: `accept` checks a variable's value or a string literal; any other literal (a
 * number, say) is refused with the literal as the client wrote it in the message.
 */
function stringScalar<T>(name: string, expected: string, accept: (value: string) => T | undefined) {
  // A literal's error carries its node: validation reports it as it is, so without one it would have no location.
  const parse = (value: unknown, shown: string, node?: ValueNode): T => {
    const parsed = typeof value === 'string' ? accept(value) : undefined;
    if (parsed === undefined) throw new GraphQLError(`${name} must be ${expected}, not ${shown}`, node ? { nodes: node } : {});
    return parsed;
  };
  return {
    parseValue: (value: unknown) => parse(value, JSON.stringify(value) ?? String(value)),
    parseLiteral: (ast: ValueNode) => parse(ast.kind === Kind.STRING ? ast.value : undefined, print(ast), ast),
  };
}

const unsigned = (name: string) => ({
  serialize: (value: bigint) => value.toString(),
  ...stringScalar(name, 'a string of digits such as "42"', (v) => (UNSIGNED.test(v) ? BigInt(v) : undefined)),
});

builder.scalarType('Position', {
  description: 'A position in the global event log: an unsigned 64-bit integer as a decimal string.',
  ...unsigned('Position'),
});

builder.scalarType('BigInt', {
  description: 'A count that may exceed 2^53: an unsigned integer as a decimal string.',
  ...unsigned('BigInt'),
});

builder.scalarType('Decimal', {
  description: 'An exact decimal number as a string ("11000", "7.4"); JSON numbers are refused.',
  serialize: (value) => value,
  ...stringScalar('Decimal', 'a decimal string such as "11000" or "7.4"', (v) => (DECIMAL_PATTERN.test(v) ? v : undefined)),
});

builder.scalarType('DateTime', {
  description: 'An instant as an ISO 8601 string in UTC ("2026-01-31T12:00:00.000Z").',
  serialize: (value) => (value instanceof Date ? value.toISOString() : value),
  ...stringScalar('DateTime', 'an ISO 8601 UTC time such as "2026-01-31T12:00:00Z"', (v) => (ISO_UTC.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined)),
});

builder.scalarType('JSON', {
  description: "Any JSON value (an event's data, say).",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => valueFromASTUntyped(ast),
});

/** The builder's schema types, for helpers that take Pothos refs. */
export type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;
