import { PothosError, PothosValidationError } from '@pothos/core';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, type FieldNode, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { Logger } from 'pino';
import {
  principalContext,
  type Denial,
  type GraphQLContext,
  type Principal,
  type RealmsAdministration,
  type ServiceContext,
} from './context.ts';
import { currentRequest, isQueryCanceled } from './db/request-scope.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { queryCostPlugin } from './graphql/query-cost.ts';
import { documentLimitsPlugin } from './graphql/query-limits.ts';
import { unauthenticated } from './graphql/errors.ts';
import { printSchemaSdl } from './graphql/schema.ts';
import { setStrictChecks } from './graphql/dev-checks.ts';
import { mutationScopesPlugin } from './graphql/mutation-scopes.ts';
import { idempotencyPlugin } from './graphql/idempotency.ts';
import { cursorArgumentsPlugin } from './graphql/cursors.ts';
import { jitQueriesPlugin } from './graphql/jit.ts';
import { requestBodyLimitPlugin } from './graphql/request-body.ts';
import { denialAuditPlugin } from './modules/audit/audit.denials.ts';
import type { FailureLimit } from './auth/rate-limit.ts';
import { InvalidTokenError } from './auth/tokens.ts';
import type { Metrics } from './metrics.ts';
import { persistedOnly, type TrustedDocuments } from './graphql/trusted-documents.ts';
import { consoleClientId } from './modules/applications/applications.builtin.ts';

/** Per-request values the HTTP layer hands to Yoga. */
export interface RequestMeta {
  requestId: string;
  log: Logger;
  ipAddress?: string | undefined;
}

type Authenticate = (token: string) => Promise<Principal>;

export interface YogaOptions {
  schema: GraphQLSchema;
  prisma: PrismaClient;
  authenticate: Authenticate;
  mode: 'development' | 'production' | 'test';
  log: Logger;
  /** Bounds the audit rows of authorization denials per caller (`DENIAL_AUDIT_LIMIT`). */
  denialLimit: FailureLimit;
  /** Counts operations, durations and error codes (`/metrics`). */
  metrics?: Metrics;
  /** Seals list cursors (`roster/cursors`, from the server secret). */
  cursorKey: Buffer;
  /** Seals the bodies of outbox messages (`roster/outbox`, from the server secret). */
  outboxKey: Buffer;
  /** The base URL clients reach Roster at: one-time links in emails point there. */
  baseUrl: () => string;
  /** The admin console's documents: the only ones its application's tokens may run. */
  consoleDocuments: TrustedDocuments;
}

/**
 * Introspection (`__schema`, `__type`) is for authenticated callers only, in every mode;
 * `__typename` stays open. Validation runs before the context verifies the token, so a request
 * with an Authorization header passes here and is refused with 401 if the token is not valid.
 */
function introspectionForCallers(): Plugin<{ request: Request }> {
  return {
    onValidate({ context, addValidationRule }) {
      if (context.request.headers.has('authorization')) return;
      addValidationRule((validation: ValidationContext) => ({
        Field(node: FieldNode) {
          if (node.name.value !== '__schema' && node.name.value !== '__type') return;
          validation.reportError(
            unauthenticated('Introspection needs an access token: send "Authorization: Bearer <access token>".', node),
          );
        },
      }));
    },
  };
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Removes "Did you mean …?" from every error (production mode). graphql-armor's version only
 * covers validation errors naming fields, not enum values or variable values.
 */
function hideSuggestions(): Plugin {
  const strip = (result: unknown) => {
    for (const error of (result as { errors?: { message: string }[] }).errors ?? []) {
      error.message = error.message.replace(SUGGESTION, '');
    }
  };
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(strip);
      else if (!(Symbol.asyncIterator in result)) strip(result);
    },
  };
}

/** Variables that do not coerce to their declared types are the caller's input mistake. */
function codeVariableErrors(): Plugin {
  const mark = (result: unknown) => {
    for (const error of (result as { errors?: GraphQLError[] }).errors ?? []) {
      if (error.message.startsWith('Variable "$') && error.extensions && !error.extensions.code) {
        (error.extensions as Record<string, unknown>).code = 'BAD_USER_INPUT';
      }
    }
  };
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(mark);
      else if (!(Symbol.asyncIterator in result)) mark(result);
    },
  };
}

// Pothos' own errors about connection arguments and cursors are the caller's mistake.
const POTHOS_INPUT_ERROR =
  /^(Invalid cursor|Cursor must|Invalid base64|Invalid offset cursor|Expected compound cursor|Arguments? ")/;

/**
 * Masks everything but deliberate GraphQL errors. Pothos' errors are GraphQL errors too, so
 * the default would show them: those about cursors and connection arguments become
 * BAD_USER_INPUT, the rest (bugs) are masked.
 */
function maskUnexpected(error: unknown, message: string): Error {
  if (isQueryCanceled(error)) {
    const { nodes, source, positions, path } = error instanceof GraphQLError ? error : ({} as Partial<GraphQLError>);
    return new GraphQLError(STATEMENT_TIMEOUT, { nodes, source, positions, path, extensions: { code: 'TIMEOUT' } });
  }
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (original instanceof PothosError) {
    const { nodes, source, positions, path } = error as GraphQLError;
    const userInput = original instanceof PothosValidationError && POTHOS_INPUT_ERROR.test(original.message);
    return new GraphQLError(userInput ? original.message : message, {
      nodes,
      source,
      positions,
      path,
      extensions: { code: userInput ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR' },
    });
  }
  return maskError(error, message, false);
}

const STATEMENT_TIMEOUT =
  'A database statement of this request took longer than the statement timeout allows and was cancelled. ' +
  'Retry later or ask for less (a smaller page, a narrower filter).';

/**
 * Yoga logs every error it masks. Errors of a request whose client went away are not worth a
 * line (the HTTP layer logs the disconnect once); a statement timeout is the caller's or the
 * load's, not a bug: a warning without a stack.
 */
function logMaskedError(log: Logger, args: unknown[]): void {
  if (currentRequest()?.signal.aborted) return;
  const error = args.find((a) => a instanceof Error);
  if (isQueryCanceled(error)) {
    log.warn({ code: 'TIMEOUT' }, 'a statement exceeded the statement timeout');
    return;
  }
  log.error({ err: error }, args.map(String).join(' '));
}

function invalidToken(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: {
        status: 401,
        headers: {
          'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
        },
      },
    },
  });
}

/**
 * The caller of a request: null without an Authorization header; a 401 GraphQL error for a
 * header that is not a valid bearer token.
 */
async function principalOf(request: Request, authenticate: Authenticate): Promise<Principal | null> {
  const header = request.headers.get('authorization');
  if (!header) return null;
  const [scheme, token, extra] = header.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
    throw invalidToken('The Authorization header must be "Bearer <access token>".');
  }
  try {
    return await authenticate(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw invalidToken(error.message);
    throw error;
  }
}

/**
 * `GET /schema.graphql`: the printed schema (as `npm run schema:print` writes it), for
 * authenticated callers only, like introspection; 401 with a `WWW-Authenticate` challenge
 * otherwise.
 */
function schemaDocument(schema: GraphQLSchema, authenticate: Authenticate): Plugin {
  let printed: string | undefined;
  const refusal = (error: GraphQLError) => {
    const http = error.extensions.http as { status: number; headers: Record<string, string> };
    return Response.json(
      { errors: [{ message: error.message, extensions: { code: error.extensions.code } }] },
      { status: http.status, headers: http.headers },
    );
  };
  const answer = async (request: Request): Promise<Response> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return Response.json({ error: 'Use GET for /schema.graphql.' }, { status: 405, headers: { allow: 'GET' } });
    }
    try {
      if (!(await principalOf(request, authenticate))) {
        return refusal(
          unauthenticated('The schema is for authenticated callers: send "Authorization: Bearer <access token>".'),
        );
      }
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions.http) return refusal(error);
      throw error;
    }
    printed ??= printSchemaSdl(schema);
    const headers = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'private, no-store' };
    return new Response(request.method === 'HEAD' ? null : printed, { headers });
  };
  return {
    async onRequest(payload) {
      if (payload.url.pathname === '/schema.graphql') payload.endResponse(await answer(payload.request));
    },
  };
}

/**
 * What a caller of the system realm needs to manage the realms (the unscoped client, itself as
 * the actor, its realm for the audit trail); null for a caller of any other realm.
 */
async function realmsAdministration(
  prisma: PrismaClient,
  service: ServiceContext,
): Promise<RealmsAdministration | null> {
  const realm = await prisma.realm.findUnique({ where: { id: service.realmId }, select: { system: true } });
  if (!realm?.system) return null;
  return { prisma, caller: service.caller, requestId: service.requestId, systemRealmId: service.realmId };
}

export function createRosterYoga(options: YogaOptions): YogaServerInstance<RequestMeta, GraphQLContext> {
  const production = options.mode === 'production';
  setStrictChecks(!production);
  return createYoga<RequestMeta, GraphQLContext>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    // The explorer is served by src/explorer/ (assets from the installed package, not a CDN).
    graphiql: false,
    landingPage: false,
    // Cross-origin access is decided by src/cors.ts (an allowlist), never reflected.
    cors: false,
    // Never expose original messages or stacks, whatever NODE_ENV says.
    maskedErrors: { isDev: false, maskError: maskUnexpected },
    batching: false,
    // requestBodyLimitPlugin() applies the same limit.
    maxRequestBodySize: false,
    logging: {
      debug: (...args) => options.log.debug(args.map(String).join(' ')),
      info: (...args) => options.log.info(args.map(String).join(' ')),
      warn: (...args) => options.log.warn(args.map(String).join(' ')),
      error: (...args) => logMaskedError(options.log, args),
    },
    plugins: [
      // First: a document named by its hash is put in place before anything reads the query.
      options.consoleDocuments.plugin(),
      ...(options.metrics ? [options.metrics.graphqlPlugin()] : []),
      documentLimitsPlugin(),
      schemaDocument(options.schema, options.authenticate),
      introspectionForCallers(),
      ...(production ? [hideSuggestions()] : []),
      // Page sizes, argument bounds and cost first: the others coerce variables, which recurses as
      // deep as the input goes.
      queryCostPlugin(),
      // Before mutation-scopes: its audit hook must also see requests that plugin stops.
      denialAuditPlugin(options.denialLimit),
      mutationScopesPlugin(),
      cursorArgumentsPlugin(),
      // After the scope checks: a refused request takes no key.
      idempotencyPlugin(options.prisma, (error) => maskUnexpected(error, 'Unexpected error.')),
      codeVariableErrors(),
      jitQueriesPlugin(),
      requestBodyLimitPlugin(),
    ],
    context: async ({ request, requestId, log, ipAddress }): Promise<GraphQLContext> => {
      const denials: Denial[] = [];
      const base = { requestId, log, denials };
      const principal = await principalOf(request, options.authenticate);
      if (!principal) return { ...base, service: null };
      if (principal.clientId === consoleClientId(principal.realmId) && !options.consoleDocuments.ran(request)) {
        throw persistedOnly();
      }
      const service: ServiceContext = {
        ...principalContext(options.prisma, principal, { requestId, ipAddress }),
        cursorKey: options.cursorKey,
        outboxKey: options.outboxKey,
        publicUrl: options.baseUrl(),
        production,
        denials,
      };
      return {
        ...base,
        log: log.child({ clientId: principal.clientId, realmId: principal.realmId }),
        service,
        realmsAdministration: () => realmsAdministration(options.prisma, service),
      };
    },
  });
}
