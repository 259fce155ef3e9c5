import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  Lexer,
  Source,
  TokenKind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OperationLimits } from '../hardening-config.ts';
import { DEFAULT_PAGE_SIZE } from './cursor.ts';

/**
 * Limits on what one GraphQL operation may ask for, checked before it runs (a refused operation
 * does nothing):
 * - tokens: counted by graphql-js's lexer before the document is parsed (QUERY_TOO_LARGE);
 * - depth: how deeply fields nest; fragments and inline fragments add no level (QUERY_TOO_DEEP);
 * - aliases: a fragment's count once per place it is spread (TOO_MANY_ALIASES);
 * - complexity: every field costs 1, and what a field selects below it counts once per item it may
 *   return: `first`/`last` (its value, a variable's or the default page size) for a connection,
 *   LIST_SIZE_ESTIMATE for any other list (QUERY_TOO_COMPLEX).
 * Introspection (`__schema`, `__type`) is left out of depth and complexity: its size is the
 * schema's, and graphql-js's MaxIntrospectionDepthRule already refuses cyclic introspection.
 * `__typename` costs nothing.
 *
 * Why not @escape.tech/graphql-armor (checked: 2.4.x, on graphql 16): its cost limit is a
 * validation rule, run before variables are known, so it multiplies by `first`/`last` only when
 * they are literals: `first: $n`, as clients send them, counts 1 whatever $n is, and a connection
 * without `first` counts 1 too, not the default page. Its depth and alias plugins refuse with a
 * "Syntax Error: …" message and no `extensions.code`, the figures only in the text. One walk here,
 * with the request's variables, gives all three figures exactly, for an error a client can act on.
 */

/** What a list of unknown length (a site's nodes, say) is assumed to hold. */
export const LIST_SIZE_ESTIMATE = 10;

export type OperationCost = { depth: number; complexity: number; aliases: number };

type Measured = OperationCost;
const ZERO: Measured = { depth: 0, complexity: 0, aliases: 0 };
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * Depth, complexity and aliases of the operation that would run (by name, or the only one).
 * `variables` are the request's raw values: a `first: $n` counts as the value sent. Expects a
 * document that passed validation (known fields, no fragment cycles); null when there is no such
 * operation (execution reports that).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Readonly<Record<string, unknown>> | null,
): OperationCost | null {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return null;
  const root = schema.getRootType(operation.operation);
  if (!root) return null;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const measuredFragments = new Map<string, Measured>();

  const variableValue = (name: string): unknown => {
    if (variables && Object.hasOwn(variables, name)) return variables[name];
    const definition = operation.variableDefinitions?.find((v) => v.variable.name.value === name);
    return definition?.defaultValue ? literal(definition.defaultValue) : undefined;
  };
  const literal = (value: ValueNode): unknown => {
    if (value.kind === Kind.INT) return Number(value.value);
    if (value.kind === Kind.VARIABLE) return variableValue(value.name.value);
    return undefined;
  };

  /** The page a connection field asks for (`first`/`last`; the default page size when neither is given); null for other fields. */
  const pageSize = (node: FieldNode, field: GraphQLField<unknown, unknown>): number | null => {
    const pageArgs = field.args.filter((a) => a.name === 'first' || a.name === 'last');
    if (pageArgs.length === 0) return null;
    const sizes = pageArgs.map((arg) => {
      const given = node.arguments?.find((a) => a.name.value === arg.name);
      const value = given ? literal(given.value) : arg.defaultValue;
      return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : null;
    });
    const asked = sizes.filter((size): size is number => size !== null);
    return asked.length > 0 ? Math.max(...asked) : DEFAULT_PAGE_SIZE;
  };

  /** `page`: inside a connection, the size of its page, which its lists (`edges`) hold. */
  const selectionSet = (set: SelectionSetNode, parent: GraphQLCompositeType, page: number | null = null): Measured => {
    let depth = 0;
    let complexity = 0;
    let aliases = 0;
    const add = (m: Measured) => {
      depth = Math.max(depth, m.depth);
      complexity += m.complexity;
      aliases += m.aliases;
    };
    for (const selection of set.selections) {
      switch (selection.kind) {
        case Kind.FIELD:
          add(field(selection, parent, page));
          break;
        case Kind.INLINE_FRAGMENT: {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          add(isCompositeType(type) ? selectionSet(selection.selectionSet, type, page) : ZERO);
          break;
        }
        case Kind.FRAGMENT_SPREAD:
          add(fragment(selection.name.value, page));
          break;
        default: {
          const unreachable: never = selection;
          throw new Error(`unknown selection ${String(unreachable)}`);
        }
      }
    }
    return { depth, complexity, aliases };
  };

  const field = (node: FieldNode, parent: GraphQLCompositeType, page: number | null): Measured => {
    const aliases = node.alias ? 1 : 0;
    const name = node.name.value;
    if (name === '__typename') return { depth: 1, complexity: 0, aliases };
    if (INTROSPECTION_ROOTS.has(name)) return { depth: 0, complexity: 0, aliases };
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (!definition) return { depth: 1, complexity: 1, aliases };
    const type = getNamedType(definition.type);
    // A list multiplies what it selects by its length: what `first`/`last` ask for, the page of the
    // connection it is in (`edges`), else an estimate. A connection (an object with `first`/`last`)
    // counts once and hands its page size down to its lists.
    const asked = pageSize(node, definition);
    const list = isListType(getNullableType(definition.type));
    const items = list ? (asked ?? page ?? LIST_SIZE_ESTIMATE) : 1;
    const below = node.selectionSet && isCompositeType(type) ? selectionSet(node.selectionSet, type, list ? null : asked) : ZERO;
    return {
      depth: 1 + below.depth,
      complexity: 1 + items * below.complexity,
      aliases: aliases + below.aliases,
    };
  };

  /** A fragment's figures, once per page size it is spread with (inside a connection they depend on it). */
  const fragment = (name: string, page: number | null): Measured => {
    const key = `${name}@${page ?? ''}`;
    const known = measuredFragments.get(key);
    if (known) return known;
    const definition = fragments.get(name);
    const type = definition ? schema.getType(definition.typeCondition.name.value) : undefined;
    if (!definition || !isCompositeType(type)) return ZERO;
    measuredFragments.set(key, ZERO); // a cycle (refused by validation) counts nothing
    const measured = selectionSet(definition.selectionSet, type, page);
    measuredFragments.set(key, measured);
    return measured;
  };

  return selectionSet(operation.selectionSet, root);
}

/** The first limit an operation breaks, as the error a client gets; null when it keeps to all. */
export function limitError(cost: OperationCost, limits: OperationLimits): GraphQLError | null {
  if (cost.depth > limits.maxDepth) {
    return refused('QUERY_TOO_DEEP', `The operation nests ${cost.depth} fields deep; the limit is ${limits.maxDepth}.`, limits.maxDepth, cost.depth);
  }
  if (cost.aliases > limits.maxAliases) {
    return refused('TOO_MANY_ALIASES', `The operation uses ${cost.aliases} aliases; the limit is ${limits.maxAliases}.`, limits.maxAliases, cost.aliases);
  }
  if (cost.complexity > limits.maxComplexity) {
    return refused(
      'QUERY_TOO_COMPLEX',
      `The operation's complexity is ${cost.complexity}; the limit is ${limits.maxComplexity}. Ask for smaller pages (first) or fewer fields.`,
      limits.maxComplexity,
      cost.complexity,
    );
  }
  return null;
}

/** Counts a document's tokens (comments aside); a lexing error is left to the parser to report. */
export function countTokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count += 1;
  } catch {
    // A syntax error: parse() reports it with its position.
  }
  return count;
}

function refused(code: string, message: string, limit: number, actual: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, limit, actual, http: { status: 400 } } });
}

/**
 * The envelop plugin: the token limit around parsing, the other limits before an operation (query,
 * mutation or subscription) executes, with the request's variables.
 */
export function useOperationLimits(limits: OperationLimits): Plugin {
  const check = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown }) => {
    const variables = typeof args.variableValues === 'object' ? (args.variableValues as Record<string, unknown> | null) : null;
    const cost = measureOperation(args.schema, args.document, args.operationName, variables);
    return cost && limitError(cost, limits);
  };
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        const text = typeof source === 'string' ? source : source.body;
        const tokens = countTokens(text);
        if (tokens > limits.maxTokens) {
          throw refused('QUERY_TOO_LARGE', `The document has ${tokens} tokens; the limit is ${limits.maxTokens}.`, limits.maxTokens, tokens);
        }
        return parseFn(source, options);
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
