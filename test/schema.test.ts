import { readFile } from 'node:fs/promises';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isIntrospectionType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaSdl } from '../src/graphql/schema.ts';

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
});
