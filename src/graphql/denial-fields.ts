import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import type { GraphQLContext } from '../context.ts';

/**
 * Names the grant refusals (FORBIDDEN_GRANT) a service records while a mutation field runs by
 * that field's coordinate, e.g. `Mutation.createRole`. Services do not know which field called
 * them; mutation fields run one after another, so the denials added while one runs are its own.
 */
class DenialFieldsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation') return resolver;
    const coordinate = `Mutation.${fieldConfig.name}`;
    return async (parent, args, context, info) => {
      const denials = (context as GraphQLContext).denials;
      const before = denials.length;
      try {
        return await resolver(parent, args, context, info);
      } finally {
        for (const denial of denials.slice(before)) denial.field ??= coordinate;
      }
    };
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      denialFields: DenialFieldsPlugin<Types>;
    }
  }
}

const pluginName = 'denialFields';
SchemaBuilder.registerPlugin(pluginName, DenialFieldsPlugin);

export default pluginName;
