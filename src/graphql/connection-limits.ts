import type { Plugin } from '@envelop/core';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  GraphQLInt,
  valueFromAST,
  visit,
  type DocumentNode,
} from 'graphql';
import { executionInput } from './execution-input.ts';

export const MAX_PAGE_SIZE = 100;

/** The first `first`/`last` argument outside 0..MAX_PAGE_SIZE in the operation, if any. */
function pageSizeViolation(
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): string | null {
  let violation: string | null = null;
  visit(document, {
    Field(field) {
      for (const arg of field.arguments ?? []) {
        if (arg.name.value !== 'first' && arg.name.value !== 'last') continue;
        const value = valueFromAST(arg.value, GraphQLInt, variables ?? undefined);
        if (typeof value === 'number' && (value < 0 || value > MAX_PAGE_SIZE)) {
          violation = `${field.name.value}(${arg.name.value}: ${value}): page size must be between 0 and ${MAX_PAGE_SIZE}.`;
          return false;
        }
      }
      return undefined;
    },
  });
  return violation;
}

/**
 * Refuses any request asking a connection for more than MAX_PAGE_SIZE items, before any
 * resolver runs (rather than silently clamping the page).
 */
export function connectionLimitsPlugin(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const { schema, document, operationName, variableValues } = executionInput(args);
      const operation = getOperationAST(document, operationName);
      if (!operation) return;
      // Coerced like execution will: variable defaults count. Invalid variables fail in execution.
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variableValues ?? {});
      if (!coerced.coerced) return;
      const violation = pageSizeViolation(document, coerced.coerced);
      if (violation) {
        setResultAndStopExecution({
          errors: [new GraphQLError(violation, { extensions: { code: 'BAD_USER_INPUT' } })],
        });
      }
    },
  };
}
