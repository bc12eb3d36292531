import {
  getOperationAST,
  getVariableValues,
  isLeafType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  OperationTypeNode,
  type OperationDefinitionNode,
  type TypeNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { isQueryCanceled } from '../db/request-scope.ts';
import { executionInput } from './execution-input.ts';
import { isRewrittenDocument } from './cursors.ts';

function namedTypeOf(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type);
}

/** Whether every variable is a scalar or an enum (or a list of them): no input object. */
function leafVariablesOnly(schema: GraphQLSchema, operation: OperationDefinitionNode): boolean {
  return (operation.variableDefinitions ?? []).every((definition) =>
    isLeafType(schema.getType(namedTypeOf(definition.type))),
  );
}

/**
 * Queries seen before run compiled by graphql-jit: one function per document instead of a walk
 * of the document for every request (a page of 50 users resolves about 700 fields). A compiled
 * query only ever answers when it succeeds: graphql-jit words errors otherwise (no locations,
 * other key order, other variable messages), so an answer with errors is thrown away and the
 * request runs again on the standard executor, which gives the answer it always gave; but for a
 * statement timeout, which must not make a slow query run twice (that answer lacks `locations`).
 * The standard executor alone runs:
 * - documents seen once: compiling costs more than one execution, and a caller sending a new
 *   document each time must not make the server compile each time;
 * - mutations (rare; serial, with side effects that must not run twice);
 * - variables of input object types: graphql-jit generates their parsing inline, which never
 *   ends for a recursive input such as `UserFilter` (its AND, OR and NOT) and grows fast with
 *   nesting (graphql-jit issue 81);
 * - variables that do not coerce (their errors are the standard executor's);
 * - documents the cursor plugin made for one request (opened cursor literals).
 */
export function jitQueriesPlugin(): Plugin {
  // Per document (parsed once per query text by Yoga's cache), per operation name: the compiled
  // query, or null where graphql-jit refused to compile it.
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const seen = new WeakSet<DocumentNode>();

  function compiledFor(schema: GraphQLSchema, document: DocumentNode, operationName: string): CompiledQuery | null {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map<string, CompiledQuery | null>()));
    let query = byName.get(operationName);
    if (query === undefined) {
      const result = compileQuery(schema, document, operationName || undefined);
      query = isCompiledQuery(result) ? result : null;
      byName.set(operationName, query);
    }
    return query;
  }

  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const input = executionInput(args);
      const { document, schema } = input;
      if (!seen.has(document)) {
        seen.add(document);
        return;
      }
      if (isRewrittenDocument(document)) return;
      const operation = getOperationAST(document, input.operationName);
      if (operation?.operation !== OperationTypeNode.QUERY || !leafVariablesOnly(schema, operation)) return;
      const definitions = operation.variableDefinitions ?? [];
      const variables = input.variableValues ?? {};
      if (definitions.length && getVariableValues(schema, definitions, variables, { maxErrors: 1 }).errors) return;
      const query = compiledFor(schema, document, input.operationName ?? '');
      if (!query) return;
      const standard = executeFn as (args: ExecutionArgs) => unknown;
      setExecuteFn(async (execution: ExecutionArgs) => {
        const result = await query.query(execution.rootValue, execution.contextValue, execution.variableValues);
        if (!result.errors?.length) return result;
        // A statement ended by its timeout (or a client gone) is not run a second time: the
        // compiled run's errors answer, in the standard order, without locations.
        if (result.errors.some(isQueryCanceled)) return { errors: result.errors, data: result.data };
        return standard(execution);
      });
    },
  };
}
