import type { ApplicationType, PrismaClient } from '../../generated/prisma/client.ts';
import { constantTimeEqual, randomToken, sha256 } from '../../auth/crypto.ts';
import { MANAGEMENT_API_INDICATOR } from '../../auth/scopes.ts';

/** Public client ids: 128 random bits. */
export function generateClientId(): string {
  return randomToken(16);
}

/** Client secrets: 256 bits from the CSPRNG, shown once, stored as SHA-256. */
export function generateClientSecret(): string {
  return randomToken(32);
}

export function hashClientSecret(secret: string): string {
  return sha256(secret);
}

// Compared against when the client is unknown, so both paths cost the same.
const DUMMY_HASH = hashClientSecret(randomToken(32));

export interface AuthenticatedClient {
  id: string;
  realmId: string;
  clientId: string;
  type: ApplicationType;
}

/**
 * The application of `realmId` with this client id and a currently valid secret, or null.
 * Unknown client, other realm, disabled application and wrong secret are indistinguishable,
 * and cost the same: one statement of the same text, and a hash comparison against the dummy
 * hash when no secret was found.
 */
export async function authenticateClient(
  prisma: PrismaClient,
  realmId: string,
  clientId: string,
  clientSecret: string,
): Promise<AuthenticatedClient | null> {
  const rows = await prisma.$queryRaw<
    { id: string; realmId: string; clientId: string; type: ApplicationType; secretHash: string }[]
  >`
    SELECT a.id::text AS id, a."realmId"::text AS "realmId", a."clientId", a.type::text AS type, s."secretHash"
    FROM "Application" a
    JOIN "ApplicationSecret" s ON s."realmId" = a."realmId" AND s."applicationId" = a.id
    WHERE a."realmId" = ${realmId}::uuid AND a."clientId" = ${clientId} AND a."disabledAt" IS NULL
      AND (s."expiresAt" IS NULL OR s."expiresAt" > now())`;
  const presented = hashClientSecret(clientSecret);
  const hashes = rows.length ? rows.map((row) => row.secretHash) : [DUMMY_HASH];
  let valid = false;
  for (const hash of hashes) valid = constantTimeEqual(presented, hash) || valid;
  const app = rows[0];
  if (!app || !valid) return null;
  return { id: app.id, realmId: app.realmId, clientId: app.clientId, type: app.type };
}

/**
 * The management scopes an application's roles currently grant, in one statement; null when
 * the application no longer exists or is disabled.
 */
export async function grantedManagementScopes(
  prisma: PrismaClient,
  realmId: string,
  applicationId: string,
): Promise<string[] | null> {
  const rows = await prisma.$queryRaw<{ scopes: string[] | null }[]>`
    SELECT array_agg(DISTINCT s.name) FILTER (WHERE r.id IS NOT NULL) AS scopes
    FROM "Application" a
    LEFT JOIN "ApplicationRole" ar ON ar."realmId" = a."realmId" AND ar."applicationId" = a.id
    LEFT JOIN "RoleScope" rs ON rs."realmId" = ar."realmId" AND rs."roleId" = ar."roleId"
    LEFT JOIN "ResourceScope" s ON s."realmId" = rs."realmId" AND s.id = rs."scopeId"
    LEFT JOIN "Resource" r ON r."realmId" = s."realmId" AND r.id = s."resourceId"
      AND r.indicator = ${MANAGEMENT_API_INDICATOR} AND r."builtIn"
    WHERE a."realmId" = ${realmId}::uuid AND a.id = ${applicationId}::uuid AND a."disabledAt" IS NULL
    GROUP BY a.id`;
  const row = rows[0];
  return row ? (row.scopes ?? []).sort() : null;
}
