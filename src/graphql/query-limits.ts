import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { Plugin } from '@envelop/core';
import { GraphQLError, type ValidationContext } from 'graphql';

/** The bounds on a request's shape, page sizes and cost; see the README's "Limits". */
export const QUERY_LIMITS = {
  /** Nesting of fields, counted through fragments. */
  maxDepth: 8,
  maxAliases: 15,
  maxDirectives: 50,
  /** Lexical tokens of the document (names, punctuation, values). */
  maxTokens: 2000,
  /** The request cost (`requestCost` in query-cost.ts). */
  maxCost: 25_000,
  /** Items one `first`/`last` may ask a connection for. */
  maxPageSize: 100,
  /** The page size of a connection given neither `first` nor `last`. */
  defaultPageSize: 20,
} as const;

const COST_PER_ITEM = 'The request cost counts the selection once per item asked for.';

/** The end of the description of a `first` argument: its bounds, default and cost. */
export const FIRST_ARGUMENT = `0 to ${QUERY_LIMITS.maxPageSize} (default ${QUERY_LIMITS.defaultPageSize}; more is refused with PAGE_TOO_LARGE). ${COST_PER_ITEM}`;

/** The end of the description of a `last` argument. */
export const LAST_ARGUMENT = `0 to ${QUERY_LIMITS.maxPageSize} (more is refused with PAGE_TOO_LARGE). ${COST_PER_ITEM}`;

/** The `extensions.code` of each limit's refusal. */
export type QueryLimitCode =
  | 'QUERY_TOO_DEEP'
  | 'TOO_MANY_ALIASES'
  | 'TOO_MANY_DIRECTIVES'
  | 'TOO_MANY_TOKENS'
  | 'QUERY_TOO_COMPLEX'
  | 'PAGE_TOO_LARGE';

/**
 * A request refused as a whole, before any resolver runs, for breaking one limit: HTTP 400, with
 * the limit and what was found in `extensions` (`found` is absent when counting stopped at the
 * limit, as for tokens).
 */
export function queryLimitError(
  code: QueryLimitCode,
  message: string,
  counts: { limit: number; found?: number | undefined },
  nodes?: GraphQLError['nodes'],
): GraphQLError {
  return new GraphQLError(message, {
    nodes,
    extensions: {
      code,
      limit: counts.limit,
      ...(counts.found !== undefined ? { found: counts.found } : {}),
      http: { status: 400 },
    },
  });
}

const n = (value: number) => value.toLocaleString('en-US');

type ShapeLimit = 'maxDepth' | 'maxAliases' | 'maxDirectives';

const SHAPE_LIMITS: Record<ShapeLimit, { code: QueryLimitCode; message: (found: string) => string }> = {
  maxDepth: {
    code: 'QUERY_TOO_DEEP',
    message: (found) =>
      `The query nests fields ${found} levels deep (fragments count where they are spread); the limit is ${QUERY_LIMITS.maxDepth}. Fetch the deeper data in a second request, e.g. with node(id:).`,
  },
  maxAliases: {
    code: 'TOO_MANY_ALIASES',
    message: (found) =>
      `The query uses ${found} aliases; the limit is ${QUERY_LIMITS.maxAliases}. Send the rest in another request, or use a list field (nodes(ids:), a filter) instead of one alias per object.`,
  },
  maxDirectives: {
    code: 'TOO_MANY_DIRECTIVES',
    message: (found) =>
      `The query uses ${found} directives; the limit is ${QUERY_LIMITS.maxDirectives}. Use fewer @include/@skip, e.g. one on a fragment instead of one per field.`,
  },
};

// graphql-armor reports "… exceeded, found N." and offers no number otherwise.
const FOUND = /found (\d+)/;

function refuseShape(limit: ShapeLimit) {
  const { code, message } = SHAPE_LIMITS[limit];
  return {
    n: QUERY_LIMITS[limit],
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        const found = FOUND.exec(error.message)?.[1];
        const refusal = queryLimitError(code, message(found ? n(Number(found)) : `more than ${QUERY_LIMITS[limit]}`), {
          limit: QUERY_LIMITS[limit],
          found: found ? Number(found) : undefined,
        });
        // Reported as a validation error: HTTP 400, and nothing executes.
        context?.reportError(refusal);
      },
    ],
  };
}

const tooManyTokens = () =>
  queryLimitError(
    'TOO_MANY_TOKENS',
    `The document has more than ${n(QUERY_LIMITS.maxTokens)} tokens (names, punctuation and values); the limit is ${n(QUERY_LIMITS.maxTokens)}. Pass long values as variables, or split the query into several requests.`,
    { limit: QUERY_LIMITS.maxTokens },
  );

// graphql's MaxIntrospectionDepthRule (one of its validation rules): it refuses a third list of
// `fields`, `interfaces`, `possibleTypes` or `inputFields` nested under `__schema`/`__type`.
const INTROSPECTION_DEPTH = 'Maximum introspection depth exceeded';
const MAX_INTROSPECTION_LISTS = 2;

const tooDeepIntrospection = (error: GraphQLError) =>
  queryLimitError(
    'QUERY_TOO_DEEP',
    `The introspection query nests more than ${MAX_INTROSPECTION_LISTS} of the lists \`fields\`, \`interfaces\`, \`possibleTypes\` and \`inputFields\`; the limit is ${MAX_INTROSPECTION_LISTS}. Follow the types you need with further __type(name:) requests instead.`,
    { limit: MAX_INTROSPECTION_LISTS },
    error.nodes,
  );

/**
 * The limits on the document's shape, each refusing with its own code and a message that says
 * the limit, what was found and what to do: graphql-armor's depth, aliases, directives and
 * tokens, and graphql's own limit on nested introspection lists. The cost, which needs
 * variables, is checked at execution (query-cost.ts).
 */
export function documentLimitsPlugin(): Plugin {
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(armor());
    },
    onValidate() {
      return ({ result, setResult }) => {
        const errors = result as readonly GraphQLError[];
        if (errors.some((error) => error.message === INTROSPECTION_DEPTH)) {
          setResult(
            errors.map((error) => (error.message === INTROSPECTION_DEPTH ? tooDeepIntrospection(error) : error)),
          );
        }
      };
    },
  };
}

function armor(): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { ...refuseShape('maxDepth'), flattenFragments: true },
    maxAliases: refuseShape('maxAliases'),
    maxDirectives: refuseShape('maxDirectives'),
    maxTokens: {
      n: QUERY_LIMITS.maxTokens,
      propagateOnRejection: false,
      // The parser has no validation context to report to: the thrown error is the parse error.
      onReject: [
        () => {
          throw tooManyTokens();
        },
      ],
    },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  });
}
