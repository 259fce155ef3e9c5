import { GraphQLError, Kind, type ASTNode, type DocumentNode, type SelectionSetNode, type ValueNode } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** The code of every refused input value: a literal in the document or a variable's value, alike. */
const BAD_USER_INPUT = 'BAD_USER_INPUT';
/** The code of a request graphql-js refuses outside validation without one of its own (no such operation, say). */
const BAD_REQUEST = 'BAD_REQUEST';

/**
 * Input values refused before anything runs carry the same code, BAD_USER_INPUT, and name the
 * field as the client wrote it, whether they came inline or as variables:
 * - a literal (`importLimitW: "abc"`, an unknown or missing input field, an unknown enum value):
 *   validation reports it on its node; this names the path from the argument down
 *   (`input.importLimitW`) in `details.field` and at the head of the message;
 * - a variable's value (see `variableInputError`): the path in the variables the client sent
 *   (`i.importLimitW`), which graphql-js's message already names.
 * Other validation errors keep yoga's GRAPHQL_VALIDATION_FAILED. Both kinds answer as yoga answers
 * validation errors: 400 with application/graphql-response+json, 200 with application/json.
 */
export function useInputErrors(): Plugin<Record<string, unknown>> {
  return {
    onValidate({ params }) {
      const document = params.documentAST;
      return ({ result, setResult }) => {
        if (result.length === 0) return;
        setResult(result.map((error) => (error.name === 'GraphQLError' ? literalInputError(error as GraphQLError, document) : error)));
      };
    },
  };
}

const HTTP_LIKE_VALIDATION = { spec: true, status: 400 };

function literalInputError(error: GraphQLError, document: DocumentNode): GraphQLError {
  const node = error.nodes?.[0];
  if (!node || error.extensions?.code !== undefined) return error;
  const path = inputPath(document, node);
  if (path === null) return error;
  // A required input field left out is reported on its object: name the field itself.
  const missing = /^Field "[_A-Za-z][_0-9A-Za-z]*\.([_A-Za-z][_0-9A-Za-z]*)" of required type .* was not provided\.$/.exec(error.message);
  const field = [...path, ...(missing ? [missing[1]!] : [])].join('.').replace(/\.\[/g, '[');
  return createGraphQLError(`${field}: ${error.message}`, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { code: BAD_USER_INPUT, details: { field }, http: HTTP_LIKE_VALIDATION },
  });
}

const VARIABLE_ERROR = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" (?:got invalid value .*? at "([^"]+)";|got invalid value|of required type|of non-null type)/s;

/**
 * An error of execution without a code: a variable's value coercion refused (BAD_USER_INPUT,
 * naming the variable and the path inside it), or a request graphql-js cannot run (BAD_REQUEST).
 */
export function uncodedRequestError(error: GraphQLError): GraphQLError {
  const match = VARIABLE_ERROR.exec(error.message);
  const where = { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError };
  if (match) {
    const variable = match[1]!;
    const field = match[2] ?? variable;
    return createGraphQLError(error.message, { ...where, extensions: { ...error.extensions, code: BAD_USER_INPUT, details: { variable, field }, http: HTTP_LIKE_VALIDATION } });
  }
  return createGraphQLError(error.message, { ...where, extensions: { ...error.extensions, code: BAD_REQUEST } });
}

type Segment = string | `[${number}]`;

/** The path from an argument to `target` (a value or an input object's field) in the document; null when it is not inside one. */
function inputPath(document: DocumentNode, target: ASTNode): Segment[] | null {
  const inValue = (value: ValueNode, path: Segment[]): Segment[] | null => {
    if (value === target || sameNode(value, target)) return path;
    if (value.kind === Kind.OBJECT) {
      for (const field of value.fields) {
        const at = [...path, field.name.value];
        if (field === target || sameNode(field, target)) return at;
        const found = inValue(field.value, at);
        if (found) return found;
      }
    }
    if (value.kind === Kind.LIST) {
      for (const [i, item] of value.values.entries()) {
        const found = inValue(item, [...path, `[${i}]`]);
        if (found) return found;
      }
    }
    return null;
  };
  const inSelections = (set: SelectionSetNode | undefined): Segment[] | null => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        for (const argument of selection.arguments ?? []) {
          const found = inValue(argument.value, [argument.name.value]);
          if (found) return found;
        }
      }
      if (selection.kind !== Kind.FRAGMENT_SPREAD) {
        const found = inSelections(selection.selectionSet);
        if (found) return found;
      }
    }
    return null;
  };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) {
      const found = inSelections(definition.selectionSet);
      if (found) return found;
    }
  }
  return null;
}

const sameNode = (a: ASTNode, b: ASTNode): boolean => a.kind === b.kind && a.loc !== undefined && b.loc !== undefined && a.loc.start === b.loc.start && a.loc.end === b.loc.end;
