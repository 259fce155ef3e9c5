import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { InvalidCommand } from '@v2g/domain';
import { getNullableType, isInputObjectType, type GraphQLFieldResolver } from 'graphql';
import { checkValue } from './validate-arguments.ts';

/**
 * Refuses, before the resolver runs, a quantity or a time no field can mean: a Decimal beyond the
 * bounds of the unit its name ends with (power, energy, price, percent: `@v2g/domain`
 * quantities.ts), a DateTime outside 2000-2100. The refusal is InvalidCommand naming the field as
 * the client wrote it (inside `input`, relative to it) and saying the bound; it runs inside the
 * errors plugin, so a mutation answers with its InvalidCommandError member, a query with a coded
 * error. Nothing is read or written first.
 */
class BoundedInputsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: GraphQLFieldResolver<unknown, Types['Context'], object>, fieldConfig: PothosOutputFieldConfig<Types>) {
    if (Object.keys(fieldConfig.args).length === 0) return resolver;
    const wrapped: GraphQLFieldResolver<unknown, Types['Context'], object> = (parent, args, context, info) => {
      const field = info.parentType.getFields()[info.fieldName];
      for (const arg of field?.args ?? []) {
        const prefix = arg.name === 'input' && isInputObjectType(getNullableType(arg.type)) ? '' : arg.name;
        const problem = checkValue(arg.type, (args as Record<string, unknown>)[arg.name], prefix, arg.name, 'plausible');
        if (problem) throw new InvalidCommand(problem.field, problem.reason);
      }
      return resolver(parent, args, context, info);
    };
    return wrapped;
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      boundedInputs: BoundedInputsPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('boundedInputs', BoundedInputsPlugin);
