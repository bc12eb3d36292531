import type { DocumentNode, GraphQLSchema } from 'graphql';

/** What envelop's `onExecute` hands a plugin, typed: envelop declares these members `any`. */
export interface ExecutionInput {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

export function executionInput(args: {
  schema: unknown;
  document: unknown;
  operationName?: unknown;
  variableValues?: unknown;
}): ExecutionInput {
  return args as ExecutionInput;
}
