import { idProblem, instantProblem, InvalidCommand, quantityProblem, type IdKind } from '@v2g/domain';
import {
  getArgumentValues,
  getNullableType,
  getVariableValues,
  GraphQLID,
  isInputObjectType,
  isListType,
  isScalarType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.ts';
import { InvalidArgument } from './errors.ts';

/**
 * Every argument of every field of an operation is checked before anything executes (before the
 * scope checks, which may load an aggregate by the id they are given, and before any resolver):
 * - every ID, wherever it sits (an argument, a field of an input, an element of a list), follows
 *   the ledger's id rules (`@v2g/domain` ids.ts): bounded, a small character set, never a NUL;
 * - every other string (a String, a JSON value's strings and keys) is text storage can hold: no
 *   NUL, no lone UTF-16 surrogate.
 * A refusal answers INVALID_COMMAND (a mutation) or INVALID_ARGUMENT (a query, a subscription) for the whole request, with the argument's path as the client
 * wrote it (inside a mutation's `input`, relative to it, as the commands name their fields), and
 * nothing runs. Quantities and times are bounded later, per field (bounded-inputs-plugin.ts).
 */
export function useValidateArguments(): Plugin<GraphQLContext> {
  type Args = { schema: GraphQLSchema; document: unknown; variableValues?: unknown; operationName?: string | null };
  type Stop = (result: { data: null; errors: ReturnType<typeof createGraphQLError>[] }) => void;
  const check = (args: Args, stop: Stop) => {
    const refusal = firstRefusal(args.schema, args.document as DocumentNode, (args.variableValues ?? {}) as Record<string, unknown>, args.operationName ?? null);
    if (!refusal) return;
    // A mutation's input is a command (INVALID_COMMAND, as its resolver would say); a query's or a subscription's, an argument.
    const error = refusal.operation === 'mutation' ? new InvalidCommand(refusal.field, refusal.reason) : new InvalidArgument(refusal.field, refusal.reason);
    stop({
      data: null,
      errors: [
        createGraphQLError(`${error.message}: nothing in this request was executed`, {
          nodes: [refusal.node],
          ...(refusal.rootKey === null ? {} : { path: [refusal.rootKey] }),
          extensions: { code: error.code, details: { ...error.details, coordinate: refusal.coordinate } },
        }),
      ],
    });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      check(args, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      check(args, setResultAndStopExecution as Stop);
    },
  };
}

type ArgumentRefusal = {
  /** The argument's path as the client wrote it (inside `input`, relative to it). */
  field: string;
  reason: string;
  /** The field whose argument it is: `Mutation.plugIn`. */
  coordinate: string;
  node: FieldNode;
  /** The response key of the root field, when the argument is a root field's. */
  rootKey: string | null;
  /** The kind of operation it is in. */
  operation: 'query' | 'mutation' | 'subscription';
};

/** The first argument of the operation that breaks a rule, or null when every one keeps them. */
function firstRefusal(schema: GraphQLSchema, document: DocumentNode, rawVariables: Record<string, unknown>, operationName: string | null): ArgumentRefusal | null {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (operationName == null || d.name?.value === operationName),
  );
  if (!operation) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  // Variables that do not coerce are refused by execution itself, with its own message.
  if (coerced.errors) return null;
  const variables = coerced.coerced;
  const typeInfo = new TypeInfo(schema);
  let refusal: ArgumentRefusal | null = null;
  let depth = 0;
  const inOperation = (node: unknown) => node === operation || document.definitions.some((d) => d.kind === Kind.FRAGMENT_DEFINITION && d === node);
  visit(
    { kind: Kind.DOCUMENT, definitions: document.definitions.filter(inOperation) },
    visitWithTypeInfo(typeInfo, {
      SelectionSet: {
        enter: () => void (depth += 1),
        leave: () => void (depth -= 1),
      },
      Field: (node) => {
        if (refusal) return false;
        const field = typeInfo.getFieldDef();
        const parent = typeInfo.getParentType();
        if (!field || !parent || field.args.length === 0) return undefined;
        let values: Record<string, unknown>;
        try {
          values = getArgumentValues(field, node, variables);
        } catch {
          return undefined; // execution reports arguments that do not coerce
        }
        for (const arg of field.args) {
          const prefix = arg.name === 'input' && isInputObjectType(getNullableType(arg.type)) ? '' : arg.name;
          const problem = checkValue(arg.type, values[arg.name], prefix, arg.name, 'storable');
          if (problem) {
            const isRoot = depth === 1 && parent === schema.getRootType(operation.operation);
            refusal = {
              ...problem,
              coordinate: `${parent.name}.${field.name}`,
              node,
              rootKey: isRoot ? (node.alias?.value ?? node.name.value) : null,
              operation: operation.operation,
            };
            return false;
          }
        }
        return undefined;
      },
    }),
  );
  return refusal;
}

export type Problem = { field: string; reason: string };

/**
 * Which rules a walk checks: `storable` (before execution: ids, text storage can hold) or
 * `plausible` (per field, inside the errors plugin: quantities and times the domain can mean).
 */
export type Rules = 'storable' | 'plausible';

/** The first value in an argument that breaks the rules, with its path; null when none does. */
export function checkValue(type: GraphQLInputType, value: unknown, path: string, leaf: string, rules: Rules): Problem | null {
  if (value === null || value === undefined) return null;
  const inner = getNullableType(type);
  if (isListType(inner)) {
    if (!Array.isArray(value)) return checkValue(inner.ofType, value, path, leaf, rules);
    for (const [i, element] of value.entries()) {
      const problem = checkValue(inner.ofType, element, `${path}[${i}]`, leaf, rules);
      if (problem) return problem;
    }
    return null;
  }
  if (isInputObjectType(inner)) {
    const fields = inner.getFields();
    for (const [name, field] of Object.entries(fields)) {
      const problem = checkValue(field.type, (value as Record<string, unknown>)[name], path === '' ? name : `${path}.${name}`, name, rules);
      if (problem) return problem;
    }
    return null;
  }
  if (rules === 'plausible') return plausibility(inner, value, path, leaf);
  if (isScalarType(inner) && inner.name === GraphQLID.name) {
    const reason = idProblem(value, idKindOf(leaf));
    return reason === null ? null : { field: path, reason };
  }
  const where = unstorable(value, path);
  return where === null ? null : { field: where, reason: 'contains a NUL character or a lone UTF-16 surrogate, which no text may hold' };
}

/**
 * A Decimal is a quantity its field can mean: magnitude, decimals and digits bounded by the unit
 * its name ends with (W, Wh, kWh, per MWh, per kWh, %; `@v2g/domain` quantities.ts). A DateTime
 * is a time the ledger can mean (2000 to 2100, `@v2g/domain` time-bounds.ts).
 */
function plausibility(type: ReturnType<typeof getNullableType>, value: unknown, path: string, leaf: string): Problem | null {
  if (!isScalarType(type)) return null;
  if (type.name === 'JSON') return jsonQuantities(value, path, leaf);
  const reason = type.name === 'Decimal' ? quantityProblem(leaf, value) : type.name === 'DateTime' ? instantProblem(value) : null;
  return reason === null ? null : { field: path, reason };
}

const DECIMAL_TEXT = /^-?[0-9]+(\.[0-9]+)?$/;

/** In a JSON value (a tariff, say), every decimal string is bounded by the unit its key ends with, as a Decimal argument is. */
function jsonQuantities(value: unknown, path: string, key: string): Problem | null {
  if (typeof value === 'string') {
    if (!DECIMAL_TEXT.test(value)) return null;
    const reason = quantityProblem(key, value);
    return reason === null ? null : { field: path, reason };
  }
  if (Array.isArray(value)) {
    for (const [i, element] of value.entries()) {
      const problem = jsonQuantities(element, `${path}[${i}]`, key);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [name, inner] of Object.entries(value)) {
      const problem = jsonQuantities(inner, path === '' ? name : `${path}.${name}`, name);
      if (problem) return problem;
    }
  }
  return null;
}

/** Which id rule an ID argument follows, by its name: command ids and composite names have their own. */
function idKindOf(name: string): IdKind {
  if (name === 'commandId') return 'commandId';
  if (name === 'id' || name === 'account' || name === 'streamId') return 'reference';
  return 'id';
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first string (or object key) in a value that text storage cannot hold, or null. */
function unstorable(value: unknown, path: string): string | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : null;
  if (Array.isArray(value)) {
    for (const [i, element] of value.entries()) {
      const where = unstorable(element, `${path}[${i}]`);
      if (where !== null) return where;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (UNSTORABLE.test(key)) return at;
      const where = unstorable(inner, at);
      if (where !== null) return where;
    }
  }
  return null;
}
