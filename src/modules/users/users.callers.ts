import type { PrismaClient } from '../../generated/prisma/client.ts';
import { MANAGEMENT_API_INDICATOR } from '../../auth/scopes.ts';
import { personManagementScopeRows } from './users.queries.ts';

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
