import type { Plugin } from '@envelop/core';
import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  OperationTypeNode,
} from 'graphql';
import { executionInput } from './execution-input.ts';
import { missingScopes, satisfies } from '../auth/scopes.ts';
import type { GraphQLContext } from '../context.ts';

interface Declared {
  /** `@requiresScopes`: alternatives of scopes that are all required. */
  scopes?: string[][];
  /** `@authenticated`: any valid token. */
  authenticated?: boolean;
}

/** The authorization a field or type declares, read from the directives it is printed with. */
function declared(extensions: { readonly [key: string]: unknown } | null | undefined): Declared {
  const directives = extensions?.directives as
    Record<string, { scopes?: string[][] }> | { name: string; args: { scopes?: string[][] } }[] | undefined;
  if (!directives) return {};
  const list = Array.isArray(directives)
    ? directives
    : Object.entries(directives).map(([name, args]) => ({ name, args }));
  const result: Declared = {};
  for (const { name, args } of list) {
    if (name === 'requiresScopes' && args?.scopes) result.scopes = args.scopes;
    if (name === 'authenticated') result.authenticated = true;
  }
  return result;
}

/**
 * Requirements that depend on the field's arguments (`requireScopesWith`): the alternatives for
 * these argument values. Arguments that do not coerce fail the execution anyway.
 */
function argumentScopes(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Declared {
  const required = field.extensions.argumentScopes as ((args: unknown) => string[][]) | undefined;
  if (!required) return {};
  try {
    return { scopes: required(getArgumentValues(field, node, variables)) };
  } catch {
    return {};
  }
}

interface Shortfall {
  root: FieldNode;
  rootKey: string;
  missing: Set<string>;
  /** Response paths of the refused fields (aliases included), for the error. */
  fields: Set<string>;
  /** Schema coordinates of the refused fields, for the audit trail. */
  coordinates: Set<string>;
}

/**
 * What a mutation's selection needs that the caller lacks, per root field: every field it
 * selects (through fragments, after @skip/@include) with the scopes declared on the field and,
 * unless the field skips them, on its parent type — the rules scope-auth applies when the
 * fields resolve.
 */
function shortfalls(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
  granted: ReadonlySet<string>,
): Shortfall[] {
  const operation = getOperationAST(document, operationName);
  const root = schema.getMutationType();
  if (!operation || operation.operation !== OperationTypeNode.MUTATION || !root) return [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const included = (node: Parameters<typeof getDirectiveValues>[1]) =>
    getDirectiveValues(GraphQLSkipDirective, node, variables)?.if !== true &&
    getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;

  const byRoot = new Map<string, Shortfall>();
  let current: Shortfall | undefined;
  // A fragment's requirements do not depend on where it is spread: visiting it once bounds the
  // walk by the size of the document, however often fragments spread each other.
  const visitedFragments = new Set<string>();

  const require = (need: Declared, path: string, coordinate: string, shortfall: Shortfall) => {
    const missing = need.scopes && !satisfies(granted, need.scopes) ? missingScopes(granted, need.scopes) : [];
    if (missing.length === 0) return;
    for (const scope of missing) shortfall.missing.add(scope);
    shortfall.fields.add(path);
    shortfall.coordinates.add(coordinate);
  };

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLNamedType, path: string) => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) continue;
        const field = parent.getFields()[name];
        if (!field) continue;
        const key = selection.alias?.value ?? name;
        const fieldPath = path ? `${path}.${key}` : key;
        if (!path) {
          current = byRoot.get(key) ?? {
            root: selection,
            rootKey: key,
            missing: new Set(),
            fields: new Set(),
            coordinates: new Set(),
          };
          byRoot.set(key, current);
        }
        if (!current) continue;
        const coordinate = `${parent.name}.${name}`;
        const skipTypeScopes = (field.extensions.pothosOptions as { skipTypeScopes?: boolean } | undefined)
          ?.skipTypeScopes;
        // A type's scopes are named at the field that returned the object, not at each of its fields.
        if (isObjectType(parent) && parent !== root && !skipTypeScopes)
          require(declared(parent.extensions), path, parent.name, current);
        require({
          ...declared(field.extensions),
          ...argumentScopes(field, selection, variables),
        }, fieldPath, coordinate, current);
        if (selection.selectionSet) walk(selection.selectionSet, getNamedType(field.type), fieldPath);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type) walk(selection.selectionSet, type, path);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visitedFragments.has(name)) continue;
        visitedFragments.add(name);
        const type = schema.getType(fragment.typeCondition.name.value);
        if (type) walk(fragment.selectionSet, type, path);
      }
    }
  };
  walk(operation.selectionSet, root, '');
  return [...byRoot.values()].filter((entry) => entry.missing.size > 0);
}

/**
 * Refuses a mutation before any of it runs when the caller lacks a scope for any field it
 * selects — its payload included. Otherwise a token that may write but not read would get its
 * change applied and then a FORBIDDEN for the payload, unable to tell whether it took effect.
 * The rule for callers: a mutation whose root field has an error did not take effect.
 */
export function mutationScopesPlugin(): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue;
      // Without a token every root field refuses itself before resolving.
      if (!context.service) return;
      const { schema, document, operationName, variableValues } = executionInput(args);
      const operation = getOperationAST(document, operationName);
      if (operation?.operation !== OperationTypeNode.MUTATION) return;
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variableValues ?? {});
      if (!coerced.coerced) return;
      const found = shortfalls(schema, document, operationName, coerced.coerced, context.service.caller.scopes);
      if (found.length === 0) return;
      for (const { coordinates, missing } of found) {
        for (const field of coordinates) context.denials.push({ field, missingScopes: [...missing] });
      }
      setResultAndStopExecution({
        data: null,
        errors: found.map(
          ({ root, rootKey, missing, fields }) =>
            new GraphQLError(
              `Missing scopes: ${[...missing].join(', ')} (for ${[...fields].slice(0, 5).join(', ')}${fields.size > 5 ? ', …' : ''}). The mutation did not run; nothing changed.`,
              {
                nodes: [root],
                path: [rootKey],
                extensions: { code: 'FORBIDDEN', missingScopes: [...missing], fields: [...fields] },
              },
            ),
        ),
      });
    },
  };
}
