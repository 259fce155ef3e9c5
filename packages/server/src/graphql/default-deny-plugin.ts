import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { forbiddenFor } from './access.ts';
import type { GraphQLContext } from './context.ts';

/**
 * Default deny for the scope-auth plugin: a Query, Mutation or Subscription field that names no
 * `authScopes` is refused (FORBIDDEN) to every role but operator, who may do everything. A field
 * only gets wider access by saying so; `access.unit.spec.ts` also fails while any root field names
 * no scopes, and the e2e role walk while any lacks an entry in its matrix.
 */
class DefaultDenyPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: GraphQLFieldResolver<unknown, Types['Context'], object>, fieldConfig: PothosOutputFieldConfig<Types>) {
    return this.unscoped(fieldConfig) ? guard(resolver) : resolver;
  }

  override wrapSubscribe(subscribe: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined, fieldConfig: PothosOutputFieldConfig<Types>) {
    return subscribe && this.unscoped(fieldConfig) ? guard(subscribe) : subscribe;
  }

  private unscoped(fieldConfig: PothosOutputFieldConfig<Types>): boolean {
    const { kind } = this.buildCache.getTypeConfig(fieldConfig.parentType);
    const root = kind === 'Query' || kind === 'Mutation' || kind === 'Subscription';
    return root && (fieldConfig.pothosOptions as { authScopes?: unknown }).authScopes === undefined;
  }
}

function guard<Context>(resolver: GraphQLFieldResolver<unknown, Context, object>): GraphQLFieldResolver<unknown, Context, object> {
  return (parent, args, context, info) => {
    const { principal } = context as GraphQLContext;
    if (principal.role !== 'operator') throw forbiddenFor(`${info.parentType.name}.${info.fieldName}`, principal, { kind: 'AuthScope', scope: 'operator' });
    return resolver(parent, args, context, info);
  };
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      defaultDeny: DefaultDenyPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('defaultDeny', DefaultDenyPlugin);
