import type { Plugin } from '@envelop/core';
import {
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
} from 'graphql';
import { getComplexity, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import { badUserInput } from './errors.ts';
import { executionInput } from './execution-input.ts';
import { checkFieldArguments, INPUT_LIMITS, InputBoundsError, rawDepthExceeds } from './input-bounds.ts';
import { QUERY_LIMITS, queryLimitError } from './query-limits.ts';

/** The cost model; see the README's "Limits". */
export const COST = {
  /** Every field selected, leaf or not. */
  field: 1,
  /** Items a list without page arguments (a user's roles, a role's scopes…) counts as. */
  assumedListSize: 10,
  /** Selections the cost walk visits, fragments expanded where spread, before it gives up. */
  maxVisitedSelections: 10_000,
} as const;

/**
 * What an output field may declare in its `extensions` for the cost:
 * `costPerItemOf`: its selection costs once per element of this list argument (`nodes(ids:)`).
 */
interface CostExtensions {
  costPerItemOf?: string;
}

/** `first`/`last` above the maximum page size. */
class PageTooLargeError extends Error {
  constructor(
    readonly field: string,
    readonly argument: string,
    readonly value: number,
  ) {
    super(`${field}(${argument}: ${value})`);
  }
}

/**
 * The page size a paginated field (one taking `first` or `last`) is asked for: the larger of the
 * two when both are given, the default when neither is; null for other fields. Refuses sizes out
 * of 0..maxPageSize.
 */
function pageSizeOf(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number | null {
  if (!field.args.some((arg) => arg.name === 'first' || arg.name === 'last')) return null;
  let size: number | null = null;
  for (const argument of ['first', 'last']) {
    const value = args[argument];
    if (typeof value !== 'number') continue;
    if (value < 0) {
      throw new InputBoundsError(argument, `must be between 0 and ${QUERY_LIMITS.maxPageSize} (got ${value})`);
    }
    if (value > QUERY_LIMITS.maxPageSize) throw new PageTooLargeError(field.name, argument, value);
    size = Math.max(size ?? 0, value);
  }
  return size ?? QUERY_LIMITS.defaultPageSize;
}

// The lists of a connection (`nodes`, `edges`) are its page, already counted by its page size.
const isConnection = (type: GraphQLCompositeType) => isObjectType(type) && 'pageInfo' in type.getFields();

/** How many times a field's selection counts. */
function itemsOf(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>, parent: GraphQLCompositeType) {
  const page = pageSizeOf(field, args);
  if (page !== null) return page;
  const itemsArgument = (field.extensions as CostExtensions).costPerItemOf;
  if (itemsArgument) {
    const items = args[itemsArgument];
    return Array.isArray(items) ? items.length : 1;
  }
  if (isListType(getNullableType(field.type)) && !isConnection(parent)) return COST.assumedListSize;
  return 1;
}

// Their answers are bounded by the schema, and validation refuses nesting their lists (graphql's
// MaxIntrospectionDepthRule): GraphiQL's introspection query costs 1.
const INTROSPECTION = new Set(['__schema', '__type']);

/**
 * One field's cost: 1, plus the size of its argument values (one per list element, one per
 * filter condition), plus its selection's cost times its page size (paginated fields), its number
 * of ids (`nodes(ids:)`) or the assumed size of a list. Checks the arguments on the way.
 */
function fieldCost({ field, args, childComplexity, type }: ComplexityEstimatorArgs): number {
  const argumentCost = checkFieldArguments(field, args);
  if (INTROSPECTION.has(field.name)) return COST.field + argumentCost;
  return COST.field + argumentCost + itemsOf(field, args, type) * childComplexity;
}

const TOO_MANY_NODES = /maximum allowed number of nodes/;

const n = (value: number) => value.toLocaleString('en-US');

/**
 * The cost of the operation with its variables (skipped fields excluded; for an interface, the
 * costliest of its types). Throws PageTooLargeError, InputBoundsError, or a GraphQLError with
 * code QUERY_TOO_COMPLEX when the document expands to more than `COST.maxVisitedSelections`
 * selections; returns null when the variables or an argument literal do not coerce (execution
 * reports that).
 */
export function requestCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): number | null {
  try {
    return getComplexity({
      schema,
      query: document,
      variables: variables ?? {},
      ...(operationName ? { operationName } : {}),
      estimators: [fieldCost],
      maxQueryNodes: COST.maxVisitedSelections,
    });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    if (TOO_MANY_NODES.test(error.message)) {
      throw queryLimitError(
        'QUERY_TOO_COMPLEX',
        `The query expands, its fragments spread where they are used, to more than ${n(COST.maxVisitedSelections)} selections; the limit is ${n(COST.maxVisitedSelections)}. Spread each fragment fewer times.`,
        { limit: COST.maxVisitedSelections },
      );
    }
    return null;
  }
}

// A list page repeats the same document with the same variables; its cost walk is a tenth of
// what the page costs to answer. Only successful walks are kept, per parsed document, for small
// variables, and a few variants per document.
const COST_CACHE = { maxVariablesLength: 2_048, maxVariants: 32 } as const;
const costs = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number | null>>>();

function cachedRequestCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): number | null {
  const key = `${operationName ?? ''}\u0000${JSON.stringify(variables ?? {})}`;
  if (key.length > COST_CACHE.maxVariablesLength) return requestCost(schema, document, operationName, variables);
  let byDocument = costs.get(schema);
  if (!byDocument) costs.set(schema, (byDocument = new WeakMap()));
  let variants = byDocument.get(document);
  if (!variants) byDocument.set(document, (variants = new Map<string, number | null>()));
  if (variants.has(key)) return variants.get(key)!;
  const cost = requestCost(schema, document, operationName, variables);
  if (variants.size >= COST_CACHE.maxVariants) variants.clear();
  variants.set(key, cost);
  return cost;
}

/**
 * Refuses, before any resolver runs: a page size above the maximum (PAGE_TOO_LARGE, checked
 * first, so such a request never gets the cost error), an argument out of its bounds
 * (BAD_USER_INPUT naming it: list lengths, strings with NUL or unpaired surrogates, JSON depth and
 * size, filter bounds), and a cost above `QUERY_LIMITS.maxCost` (QUERY_TOO_COMPLEX).
 */
export function queryCostPlugin(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refuse = (error: GraphQLError) => setResultAndStopExecution({ errors: [error] });
      const { schema, document, operationName, variableValues } = executionInput(args);
      for (const [name, value] of Object.entries(variableValues ?? {})) {
        // Coercion recurses: a value nested thousands deep would overflow the stack.
        if (rawDepthExceeds(value, INPUT_LIMITS.maxVariableDepth)) {
          return refuse(
            badUserInput(`$${name}: nests deeper than ${INPUT_LIMITS.maxVariableDepth} levels`, `$${name}`),
          );
        }
      }
      let cost: number | null;
      try {
        cost = cachedRequestCost(schema, document, operationName, variableValues);
      } catch (error) {
        if (error instanceof PageTooLargeError) {
          return refuse(
            queryLimitError(
              'PAGE_TOO_LARGE',
              `${error.message} asks for ${n(error.value)} items; a page holds at most ${QUERY_LIMITS.maxPageSize}. Ask for ${QUERY_LIMITS.maxPageSize} or fewer and fetch the next page with \`after: pageInfo.endCursor\`.`,
              { limit: QUERY_LIMITS.maxPageSize, found: error.value },
            ),
          );
        }
        if (error instanceof InputBoundsError) return refuse(badUserInput(error.message, error.path));
        if (error instanceof GraphQLError) return refuse(error);
        throw error;
      }
      if (cost !== null && cost > QUERY_LIMITS.maxCost) {
        refuse(
          queryLimitError(
            'QUERY_TOO_COMPLEX',
            `The query costs ${n(cost)}; the limit is ${n(QUERY_LIMITS.maxCost)}. A connection costs its page size times its selection, so ask for smaller pages (\`first\`), fewer nested connections or fewer fields, or split the query (README, "Limits").`,
            { limit: QUERY_LIMITS.maxCost, found: cost },
          ),
        );
      }
    },
  };
}
