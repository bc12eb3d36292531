import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { GraphQLContext, Principal } from './context.ts';
import { scopeToRealm } from './db/realm-scope.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { connectionLimitsPlugin } from './graphql/connection-limits.ts';
import { setStrictChecks } from './graphql/dev-checks.ts';
import { InvalidTokenError } from './auth/tokens.ts';

/** Per-request values the HTTP layer hands to Yoga. */
export interface RequestMeta {
  requestId: string;
  log: Logger;
  ipAddress?: string | undefined;
}

export type Authenticate = (token: string) => Promise<Principal>;

export interface YogaOptions {
  schema: GraphQLSchema;
  prisma: PrismaClient;
  authenticate: Authenticate;
  mode: 'development' | 'production' | 'test';
  log: Logger;
}

/** Refuses introspection (production mode). */
function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

function invalidToken(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: {
        status: 401,
        headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"` },
      },
    },
  });
}

export function createRosterYoga(options: YogaOptions): YogaServerInstance<RequestMeta, GraphQLContext> {
  const production = options.mode === 'production';
  setStrictChecks(!production);
  return createYoga<RequestMeta, GraphQLContext>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    graphiql: options.mode === 'development' ? { title: 'Roster' } : false,
    landingPage: false,
    // Never expose original messages or stacks, whatever NODE_ENV says.
    maskedErrors: { isDev: false },
    batching: false,
    logging: {
      debug: (...args) => options.log.debug(args.map(String).join(' ')),
      info: (...args) => options.log.info(args.map(String).join(' ')),
      warn: (...args) => options.log.warn(args.map(String).join(' ')),
      error: (...args) => options.log.error({ err: args.find((a) => a instanceof Error) }, args.map(String).join(' ')),
    },
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: 8, flattenFragments: true },
        maxAliases: { n: 15 },
        maxDirectives: { n: 50 },
        maxTokens: { n: 2000 },
        costLimit: { maxCost: 5000 },
        blockFieldSuggestion: { enabled: production },
      }),
      ...(production ? [disableIntrospection()] : []),
      connectionLimitsPlugin(),
    ],
    context: async ({ request, requestId, log, ipAddress }): Promise<GraphQLContext> => {
      const header = request.headers.get('authorization');
      const base = { requestId, log };
      if (!header) return { ...base, principal: null, service: null };
      const [scheme, token, extra] = header.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
        throw invalidToken('The Authorization header must be "Bearer <access token>".');
      }
      let principal: Principal;
      try {
        principal = await options.authenticate(token);
      } catch (error) {
        if (error instanceof InvalidTokenError) throw invalidToken(error.message);
        throw error;
      }
      return {
        ...base,
        log: log.child({ clientId: principal.clientId, realmId: principal.realmId }),
        principal,
        service: {
          realmId: principal.realmId,
          db: scopeToRealm(options.prisma, principal.realmId),
          actor: { type: 'application', id: principal.clientId },
          requestId,
          ipAddress,
        },
      };
    },
  });
}
