import {
  getArgumentValues,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type FieldNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { Forbidden, forbiddenFor, type ScopeFailure } from './access.ts';
import { builder } from './builder.ts';
import type { GraphQLContext } from './context.ts';

type ScopeOption = unknown | ((parent: unknown, args: Record<string, unknown>, context: GraphQLContext, info: GraphQLResolveInfo) => unknown);

/**
 * All or nothing for a document of several mutations: graphql-js runs a document's mutations one
 * after the other, and scope auth checks each as it comes, so `mutation { a b }` would write `a`
 * before `b` is refused. This checks every root mutation field's scopes (the same `authScopes`,
 * with the same arguments) before anything executes, and answers FORBIDDEN for the whole document
 * when one is refused: a refused request writes nothing. Fields without scopes are the operator's
 * alone, as the default-deny plugin has it.
 */
export function useAuthorizeMutationsFirst(): Plugin<GraphQLContext> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const document = args.document as DocumentNode;
      const operation = document.definitions.find(
        (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (args.operationName == null || d.name?.value === args.operationName),
      );
      const mutationType = args.schema.getMutationType();
      if (!operation || operation.operation !== 'mutation' || !mutationType) return;
      const fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const nodes = rootFields(operation.selectionSet, fragments, variables);
      if (nodes.length < 2) return; // one field: its own check runs before its resolver, as always
      const context = args.contextValue as GraphQLContext;
      for (const node of nodes) {
        const field = mutationType.getFields()[node.name.value];
        if (!field) return; // validation has refused it already
        const refusal = await refused(field, node, variables, context);
        if (refusal) {
          const error = refusal;
          context.log.info({ field: field.name, role: context.principal.role }, 'mutation document refused before execution');
          setResultAndStopExecution({
            data: null,
            errors: [
              createGraphQLError(`${error.message}: nothing in this request was executed`, {
                nodes: [node],
                path: [node.alias?.value ?? node.name.value],
                extensions: { code: error.code, details: error.details },
              }),
            ],
          });
          return;
        }
      }
    },
  };
}

/** Why the field's scopes refuse this principal (as execution would say it), or null when they allow it. */
async function refused(field: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>, context: GraphQLContext): Promise<Forbidden | null> {
  const name = `Mutation.${field.name}`;
  const option = (field.extensions as { pothosOptions?: { authScopes?: ScopeOption } }).pothosOptions?.authScopes;
  if (option === undefined) return context.principal.role === 'operator' ? null : forbiddenFor(name, context.principal, { kind: 'AuthScope', scope: 'operator' });
  let scopes: unknown;
  try {
    scopes = typeof option === 'function' ? await option({}, getArgumentValues(field, node, variables), context, {} as GraphQLResolveInfo) : option;
  } catch {
    // Arguments the field would refuse anyway; let execution report them.
    return null;
  }
  if (typeof scopes === 'boolean') return scopes ? null : forbiddenFor(name, context.principal, undefined);
  try {
    await builder.runAuthScopes(context, scopes as Parameters<typeof builder.runAuthScopes>[1]);
    return null;
  } catch (error) {
    // Pothos's ForbiddenError keeps the failure tree as `result`.
    return forbiddenFor(name, context.principal, (error as { result?: ScopeFailure }).result);
  }
}

/** The root fields a selection set executes, through fragments, minus those @skip/@include leave out. */
function rootFields(selectionSet: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, variables: Record<string, unknown>): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (getDirectiveValues(GraphQLSkipDirective, selection, variables)?.if === true) continue;
    if (getDirectiveValues(GraphQLIncludeDirective, selection, variables)?.if === false) continue;
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith('__')) fields.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fields.push(...rootFields(selection.selectionSet, fragments, variables));
    } else {
      const fragment = fragments[selection.name.value];
      if (fragment) fields.push(...rootFields(fragment.selectionSet, fragments, variables));
    }
  }
  return fields;
}
