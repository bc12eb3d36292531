import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

/** The resolvers the Prisma plugin wraps, by field, for the fields that may skip it. */
const unwrapped = new WeakMap<object, Resolver<SchemaTypes>>();

/**
 * The columns of a field that reads only scalar columns of its own row and returns a scalar or an
 * enum (`t.expose('email')` on a Prisma object in select mode); null for any other field.
 */
function leafColumns<Types extends SchemaTypes>(
  plugin: BasePlugin<Types>,
  fieldConfig: PothosOutputFieldConfig<Types>,
): string[] | null {
  if (fieldConfig.kind !== 'PrismaObject') return null;
  const select = (fieldConfig.extensions as { pothosPrismaSelect?: unknown } | undefined)?.pothosPrismaSelect;
  if (!select || typeof select !== 'object') return null;
  const columns = Object.entries(select as Record<string, unknown>);
  if (columns.length === 0 || columns.some(([, value]) => value !== true)) return null;
  let type = fieldConfig.type;
  while (type.kind === 'List') type = type.type;
  const { kind } = plugin.buildCache.getTypeConfig(type.ref);
  return kind === 'Scalar' || kind === 'Enum' ? columns.map(([column]) => column) : null;
}

/**
 * The Prisma plugin asks its loader map, for every field of every row, whether the query that
 * loaded the row selected the field, and records a mapping for the field's children: about a
 * third of the CPU a 50-row list costs beyond HTTP and authentication (a q2 profile). A scalar
 * field has no children, and when its columns are on the row, the row was loaded with them: it
 * resolves directly. Anything else (a relation, a column the row lacks) goes through the plugin,
 * which loads what is missing. Two plugins, because only one placed after Prisma's sees the
 * resolver it wraps, and only one placed before it can choose not to call its wrapper.
 */
class PrismaLeafInnerPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: Resolver<Types>, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> {
    if (leafColumns(this, fieldConfig)) unwrapped.set(fieldConfig, resolver as Resolver<SchemaTypes>);
    return resolver;
  }
}

class PrismaLeafOuterPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: Resolver<Types>, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> {
    const inner = unwrapped.get(fieldConfig) as Resolver<Types> | undefined;
    const columns = inner && leafColumns(this, fieldConfig);
    if (!inner || !columns) return resolver;
    const [only] = columns;
    const loaded =
      columns.length === 1
        ? (row: Record<string, unknown>) => row[only!] !== undefined
        : (row: Record<string, unknown>) => columns.every((column) => row[column] !== undefined);
    return (parent, args, context, info) =>
      typeof parent === 'object' && parent !== null && loaded(parent as Record<string, unknown>)
        ? inner(parent, args, context, info)
        : resolver(parent, args, context, info);
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      prismaLeafInner: PrismaLeafInnerPlugin<Types>;
      prismaLeafOuter: PrismaLeafOuterPlugin<Types>;
    }
  }
}

export const prismaLeafInner = 'prismaLeafInner';
export const prismaLeafOuter = 'prismaLeafOuter';
SchemaBuilder.registerPlugin(prismaLeafInner, PrismaLeafInnerPlugin);
SchemaBuilder.registerPlugin(prismaLeafOuter, PrismaLeafOuterPlugin);
