import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PrismaClient } from './generated/prisma/client.ts';
import { scopeToRealm, type RealmPrisma } from './db/realm-scope.ts';

/** The authenticated caller of a request. */
export interface Principal {
  realmId: string;
  clientId: string;
  applicationId: string;
  /** Granted scopes: the token's scopes that the application still holds. */
  scopes: ReadonlySet<string>;
}

export type RealmTx = Omit<RealmPrisma, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

/** What a service needs: the realm-bound client and who acts. Independent of HTTP/GraphQL. */
export interface ServiceContext {
  realmId: string;
  db: RealmPrisma;
  actor: { type: 'application' | 'system'; id: string };
  requestId?: string | undefined;
  ipAddress?: string | undefined;
}

export function systemContext(prisma: PrismaClient, realmId: string): ServiceContext {
  return { realmId, db: scopeToRealm(prisma, realmId), actor: { type: 'system', id: 'system' } };
}

export interface GraphQLContext {
  requestId: string;
  log: Logger;
  principal: Principal | null;
  /** Present only for authenticated requests; bound to the principal's realm. */
  service: ServiceContext | null;
}

export function newRequestId(header: string | null): string {
  return header && /^[A-Za-z0-9._-]{1,128}$/.test(header) ? header : randomUUID();
}
