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
  /** Granted scopes: the token's scopes that the application (or the person) still holds. */
  scopes: ReadonlySet<string>;
  /**
   * Set when a person signed in through the application: the user and their session; with
   * `impersonatedBy` when the application acts as the user (token exchange).
   */
  person?: { userId: string; sessionId: string; impersonatedBy?: string | undefined } | undefined;
}

/** An application calling with an access token. */
interface ApplicationCaller {
  kind: 'application';
  /** The audit trail's actor id: the client id. */
  id: string;
  clientId: string;
  applicationId: string;
  /** Granted scopes: the token's scopes that the application still holds. */
  scopes: ReadonlySet<string>;
}

/** The access token a person calls the management API with: their session and the application it was issued through. */
interface PersonToken {
  /** The Roster session the token belongs to: revoking it ends the token's access at once. */
  sessionId: string;
  clientId: string;
  applicationId: string;
  /** The client id of the application acting as the person (an impersonation's token, `act`). */
  impersonatedBy?: string | undefined;
}

/**
 * A person: calling the management API with an access token issued to them (`token`), or acting
 * on their own account while signing in (no token, no management scope).
 */
interface PersonCaller {
  kind: 'user';
  /** The audit trail's actor id: the user's id. */
  id: string;
  userId: string;
  /** Granted scopes: the token's scopes that the person's roles and direct grants still give. */
  scopes: ReadonlySet<string>;
  token?: PersonToken | undefined;
}

/** Roster itself (bootstrap, realm creation, seeding): holds every management scope. */
interface SystemCaller {
  kind: 'system';
  id: 'system';
  scopes: ReadonlySet<string>;
}

/** Who acts, and what it may do: the only source of the caller's scopes for every check. */
export type Caller = ApplicationCaller | PersonCaller | SystemCaller;

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
  /** Seals and opens the cursors of user listings (derived from the server secret); a request's always has it. */
  cursorKey?: Buffer | undefined;
  /** Seals the bodies of outbox messages (derived from the server secret); needed to write a message. */
  outboxKey?: Buffer | undefined;
  /** The base URL clients reach Roster at (`ROSTER_PUBLIC_URL`); needed to write a one-time link. */
  publicUrl?: string | undefined;
  /** Whether the server runs in production (webhook URLs to private networks are refused); unset counts as production. */
  production?: boolean | undefined;
  /** The realm's webhook subscriptions kept in this process; without it, every audit write reads them. */
  webhookSubscribers?: KeptWebhookSubscriptions | undefined;
}

/** The realms' webhook subscriptions as a process keeps them (src/modules/webhooks/webhooks.subscribers.ts). */
export interface KeptWebhookSubscriptions {
  /** The realm's enabled endpoints subscribed to any of `actions`, read with `db` when not kept. */
  of(
    db: object,
    realmId: string,
    actions: readonly string[],
  ): Promise<{ id: string; url: string; eventTypes: string[] }[]>;
}

const keptSubscriptions = new WeakMap<PrismaClient, KeptWebhookSubscriptions>();

/** From now on, the contexts built on `prisma` use `kept` (a server's start). */
export function keepWebhookSubscriptions(prisma: PrismaClient, kept: KeptWebhookSubscriptions): void {
  keptSubscriptions.set(prisma, kept);
}

/** What keeps the webhook subscriptions read through `prisma`, if anything does. */
export function webhookSubscriptionsOf(prisma: PrismaClient): KeptWebhookSubscriptions | undefined {
  return keptSubscriptions.get(prisma);
}

const SYSTEM: SystemCaller = { kind: 'system', id: 'system', scopes: new Set(MANAGEMENT_SCOPE_NAMES) };

export function systemContext(prisma: PrismaClient, realmId: string): ServiceContext {
  return {
    realmId,
    db: scopeToRealm(prisma, realmId),
    caller: SYSTEM,
    webhookSubscribers: webhookSubscriptionsOf(prisma),
  };
}

/** The service context of an authenticated caller (an application, or a person with a token). */
export function principalContext(
  prisma: PrismaClient,
  principal: Principal,
  request: { requestId?: string | undefined; ipAddress?: string | undefined },
): ServiceContext {
  return {
    realmId: principal.realmId,
    db: scopeToRealm(prisma, principal.realmId),
    caller: principal.person
      ? {
          kind: 'user',
          id: principal.person.userId,
          userId: principal.person.userId,
          scopes: principal.scopes,
          token: {
            sessionId: principal.person.sessionId,
            clientId: principal.clientId,
            applicationId: principal.applicationId,
            impersonatedBy: principal.person.impersonatedBy,
          },
        }
      : {
          kind: 'application',
          id: principal.clientId,
          clientId: principal.clientId,
          applicationId: principal.applicationId,
          scopes: principal.scopes,
        },
    requestId: request.requestId,
    ipAddress: request.ipAddress,
    webhookSubscribers: webhookSubscriptionsOf(prisma),
  };
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
    caller: { kind: 'user', id: userId, userId, scopes: new Set() },
    ipAddress,
    webhookSubscribers: webhookSubscriptionsOf(prisma),
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
  /**
   * For the realms administration (`realms`, `createRealm`, `deleteRealm`): the unscoped context
   * of a caller of the system realm; null for any other caller. Absent without a token.
   */
  realmsAdministration?: () => Promise<RealmsAdministration | null>;
}

/** A system realm caller's context for managing realms (what `realm.lifecycle.ts` takes). */
export interface RealmsAdministration {
  /** Unscoped: realms are above any one realm. */
  prisma: PrismaClient;
  caller: Caller;
  requestId?: string | undefined;
  /** The system realm, where the changes are audited too. */
  systemRealmId: string;
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
