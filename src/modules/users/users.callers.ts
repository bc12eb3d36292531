import type { PrismaClient } from '../../generated/prisma/client.ts';
import { MANAGEMENT_API_INDICATOR } from '../../auth/scopes.ts';
import { personManagementScopeRows, personResourceScopeRows } from './users.queries.ts';

/**
 * The management scopes a person signed in through `applicationId` holds now (sorted), until
 * their session's end at the latest, or null when their session has ended, they can no longer
 * sign in, or the application is disabled: the token is then refused. Checked on every request
 * (through a cache that any change of these empties), like an application's scopes.
 */
export async function personManagementScopes(
  prisma: PrismaClient,
  realmId: string,
  caller: { userId: string; sessionId: string; applicationId: string },
): Promise<{ scopes: string[]; until: Date } | null> {
  const [row] = await personManagementScopeRows(prisma, realmId, caller, MANAGEMENT_API_INDICATOR);
  return row ? { scopes: (row.scopes ?? []).sort(), until: row.sessionExpiresAt } : null;
}

/**
 * The scopes a signed-in person holds on the realm's API resource `indicator` (sorted), or null
 * when the realm has no such resource. On the management API: those of their realm-wide roles and
 * direct grants (as `personManagementScopes`); on another resource also those of the roles they
 * hold inside the tenant they signed in within (`tenantId`).
 */
export async function personResourceScopes(
  prisma: PrismaClient,
  realmId: string,
  person: { userId: string; tenantId: string | null },
  indicator: string,
): Promise<string[] | null> {
  const [row] = await personResourceScopeRows(prisma, realmId, person.userId, indicator, person.tenantId);
  return row ? (row.scopes ?? []).sort() : null;
}
