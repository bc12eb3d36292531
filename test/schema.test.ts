import { readFile } from 'node:fs/promises';
import {
  buildSchema,
  getNamedType,
  GraphQLID,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isIntrospectionType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaSdl, schema as liveSchema } from '../src/graphql/schema.ts';

const committed = await readFile(new URL('../schema.graphql', import.meta.url), 'utf8');

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema:print` after changing the schema)', () => {
    expect(committed).toBe(printSchemaSdl());
  });

  it('describes every type, field, argument, input field and enum value', () => {
    const schema = buildSchema(committed);
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          // The Node interface's id is standard Relay; every implementing type describes its own.
          if (!field.description && !(type.name === 'Node' && field.name === 'id'))
            missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('declares the authorization of every root field', () => {
    const schema = buildSchema(committed);
    const undeclared: string[] = [];
    for (const root of [schema.getQueryType(), schema.getMutationType()]) {
      for (const field of Object.values(root?.getFields() ?? {})) {
        const directives = field.astNode?.directives?.map((d) => d.name.value) ?? [];
        if (!directives.includes('requiresScopes') && !directives.includes('authenticated')) {
          undeclared.push(`${root!.name}.${field.name}`);
        }
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('declares every ID argument and input field as a global id of the object type it names', () => {
    // Ids that do not name one kind of object, and why: nothing else may take a plain ID.
    const notObjectIds: Record<string, string> = {
      'AuditEventFilter.targetId':
        'matches AuditEvent.targetId as stored: a global id of any type, a raw database id, or an erased user’s tombstone',
    };
    // The Relay node fields take the global id of any object; DeleteInput, shared by the delete
    // mutations, takes the type its argument names (checked below).
    const anyObject = ['DeleteInput.id', 'Query.node(id)', 'Query.nodes(ids)'];
    const plain: string[] = [];
    const untyped: string[] = [];
    const unknownTypes: string[] = [];
    for (const type of Object.values(liveSchema.getTypeMap())) {
      if (isIntrospectionType(type)) continue;
      const positions = isObjectType(type)
        ? Object.values(type.getFields()).flatMap((f) =>
            f.args.map((a) => [`${type.name}.${f.name}(${a.name})`, a] as const),
          )
        : isInputObjectType(type)
          ? Object.values(type.getFields()).map((f) => [`${type.name}.${f.name}`, f] as const)
          : [];
      for (const [name, position] of positions) {
        if (getNamedType(position.type) !== GraphQLID) continue;
        const extensions = position.extensions as {
          isRelayGlobalID?: boolean;
          relayGlobalIDFor?: { typename: string }[] | null;
        };
        if (!extensions.isRelayGlobalID) plain.push(name);
        else if (!extensions.relayGlobalIDFor?.length) untyped.push(name);
        for (const { typename } of extensions.relayGlobalIDFor ?? []) {
          const target = liveSchema.getType(typename);
          if (!isObjectType(target) || !target.getInterfaces().some((i) => i.name === 'Node'))
            unknownTypes.push(`${name}: ${typename}`);
        }
      }
    }
    expect(plain.sort()).toEqual(Object.keys(notObjectIds).sort());
    expect(untyped.sort()).toEqual(anyObject);
    expect(unknownTypes).toEqual([]);

    const deleteArguments = Object.values(liveSchema.getMutationType()!.getFields()).flatMap((field) =>
      field.args
        .filter((arg) => getNamedType(arg.type).name === 'DeleteInput')
        .map((arg) => {
          const at = (arg.extensions as { globalIdsAt?: Record<string, string[]> }).globalIdsAt;
          const types = at?.id ?? [];
          const nodes = types.filter((typename) => {
            const target = liveSchema.getType(typename);
            return isObjectType(target) && target.getInterfaces().some((i) => i.name === 'Node');
          });
          return { field: field.name, typed: types.length === 1 && nodes.length === 1 };
        }),
    );
    expect(deleteArguments.length).toBeGreaterThanOrEqual(5);
    expect(deleteArguments.filter((arg) => !arg.typed)).toEqual([]);
  });
});
