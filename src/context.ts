import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PrismaClient } from './generated/prisma/client.ts';
import { MANAGEMENT_SCOPE_NAMES } from './auth/scopes.ts';
import { scopeToRealm, type RealmPrisma } from './db/realm-scope.ts';
import { unauthenticated } from './graphql/errors.ts';

/** What a verified access token says about its caller. */
export interface Principal {
  realmId: string;
  clientId: string;
  applicationId: string;
  /** Granted scopes: the token's scopes that the application still holds. */
  scopes: ReadonlySet<string>;
}

/** An application calling with an access token. */
export interface ApplicationCaller {
  kind: 'application';
  /** The audit trail's actor id: the client id. */
  id: string;
  clientId: string;
  applicationId: string;
  /** Granted scopes: the token's scopes that the application still holds. */
  scopes: ReadonlySet<string>;
}

/** Roster itself (bootstrap, realm creation, seeding): holds every management scope. */
interface SystemCaller {
  kind: 'system';
  id: 'system';
  scopes: ReadonlySet<string>;
}

/** A person acting on their own account (signing in); holds no management scope. */
interface UserCaller {
  kind: 'user';
  /** The audit trail's actor id: the user id. */
  id: string;
  scopes: ReadonlySet<string>;
}

/** Who acts, and what it may do: the only source of the caller's scopes for every check. */
export type Caller = ApplicationCaller | SystemCaller | UserCaller;

export type RealmTx = Omit<RealmPrisma, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

/** What a service needs: the realm-bound client and who acts. Independent of HTTP/GraphQL. */
export interface ServiceContext {
  realmId: string;
  db: RealmPrisma;
  caller: Caller;
  requestId?: string | undefined;
  ipAddress?: string | undefined;
  /**
   * Where services note authorization refusals they return as data (FORBIDDEN_GRANT), for the
   * denial audit; the request's `GraphQLContext.denials`. Absent outside a request.
   */
  denials?: Denial[] | undefined;
}

const SYSTEM: SystemCaller = { kind: 'system', id: 'system', scopes: new Set(MANAGEMENT_SCOPE_NAMES) };

export function systemContext(prisma: PrismaClient, realmId: string): ServiceContext {
  return { realmId, db: scopeToRealm(prisma, realmId), caller: SYSTEM };
}

/** A user acting on their own account, e.g. signing in from `ipAddress`. */
export function userContext(
  prisma: PrismaClient,
  realmId: string,
  userId: string,
  ipAddress: string | undefined,
): ServiceContext {
  return {
    realmId,
    db: scopeToRealm(prisma, realmId),
    caller: { kind: 'user', id: userId, scopes: new Set() },
    ipAddress,
  };
}

/** A field the caller was refused, with the scopes it lacked. */
export interface Denial {
  /**
   * Schema coordinate, e.g. `Query.users` or `User.roles`. A service refusing a grant
   * (FORBIDDEN_GRANT) records null; the mutation field that ran it fills it in
   * (src/graphql/denial-fields.ts).
   */
  field: string | null;
  missingScopes: readonly string[];
}

export interface GraphQLContext {
  requestId: string;
  log: Logger;
  /** Present only for authenticated requests; bound to the caller's realm. */
  service: ServiceContext | null;
  /** FORBIDDEN refusals of this request, audited once when it ends (see modules/audit/audit.denials.ts). */
  denials: Denial[];
}

/**
 * The service context of an authenticated request. Scope-auth refuses every field of an
 * unauthenticated request before its resolver runs, so this throws only for a field that
 * declares no authorization.
 */
export function serviceOf(ctx: GraphQLContext): ServiceContext {
  if (!ctx.service) throw unauthenticated();
  return ctx.service;
}

export function newRequestId(header: string | null): string {
  return header && /^[A-Za-z0-9._-]{1,128}$/.test(header) ? header : randomUUID();
}
