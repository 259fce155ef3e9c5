import { createHash } from 'node:crypto';
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import type { GraphQLContext } from './context.ts';

/**
 * Gives every mutation's resolver a context whose `commandFingerprint` is a hash of what the client
 * asked for: the mutation's name, the arguments as the client sent them (after GraphQL's coercion,
 * absent and null alike, keys in order) and who sent them. Never the command the ledger builds
 * from them, which carries the ledger's clock. The event store records it with the commandId, so a
 * resend of the same request is a retry and the same commandId with anything else is refused
 * (COMMAND_ID_REUSED). Innermost plugin: scope checks and the errors plugin see the request's own
 * context.
 */
class CommandFingerprintPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: GraphQLFieldResolver<unknown, Types['Context'], object>, fieldConfig: PothosOutputFieldConfig<Types>) {
    if (this.buildCache.getTypeConfig(fieldConfig.parentType).kind !== 'Mutation') return resolver;
    const wrapped: GraphQLFieldResolver<unknown, Types['Context'], object> = (parent, args, context, info) => {
      const request = context as GraphQLContext;
      const withFingerprint: GraphQLContext = { ...request, commandFingerprint: commandFingerprint(info.fieldName, args, request.actor) };
      return resolver(parent, args, withFingerprint as Types['Context'], info);
    };
    return wrapped;
  }
}

/** `sha256:<hex>` of the canonical JSON of (mutation, actor, arguments). */
export function commandFingerprint(mutation: string, args: unknown, actor: string): string {
  const canonical = JSON.stringify(canonicalValue({ mutation, actor, args }));
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** Plain objects with sorted keys, without null or absent members; bigints as decimal strings. */
function canonicalValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== null && inner !== undefined) out[key] = canonicalValue(inner);
    }
    return out;
  }
  return value;
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      commandFingerprint: CommandFingerprintPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('commandFingerprint', CommandFingerprintPlugin);
