import type { ApplicationType, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
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
 * Unknown client, other realm, disabled application and wrong secret are indistinguishable.
 */
export async function authenticateClient(
  prisma: PrismaClient,
  realmId: string,
  clientId: string,
  clientSecret: string,
): Promise<AuthenticatedClient | null> {
  const app = await prisma.application.findFirst({
    where: { clientId, realmId, disabledAt: null },
    select: {
      id: true,
      realmId: true,
      clientId: true,
      type: true,
      secrets: {
        where: { OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
        select: { secretHash: true },
      },
    },
  });
  const presented = hashClientSecret(clientSecret);
  const hashes = app?.secrets.map((s) => s.secretHash) ?? [DUMMY_HASH];
  let valid = false;
  for (const hash of hashes) valid = constantTimeEqual(presented, hash) || valid;
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

/** Creates an application with a fresh (or given) client id and secret, and its roles. */
export async function createApplicationRecord(
  tx: Prisma.TransactionClient,
  input: {
    realmId: string;
    name: string;
    type: ApplicationType;
    roleIds?: string[];
    redirectUris?: string[];
    builtIn?: boolean;
    clientId?: string;
    clientSecret?: string;
  },
) {
  const clientId = input.clientId ?? generateClientId();
  const hasSecret = input.type === 'M2M' || input.type === 'WEB';
  const clientSecret = hasSecret ? (input.clientSecret ?? generateClientSecret()) : null;
  const application = await tx.application.create({
    data: {
      realmId: input.realmId,
      name: input.name,
      type: input.type,
      clientId,
      redirectUris: input.redirectUris ?? [],
      builtIn: input.builtIn ?? false,
      secretLastRotatedAt: clientSecret ? new Date() : null,
    },
  });
  if (clientSecret) {
    await tx.applicationSecret.create({
      data: { realmId: input.realmId, applicationId: application.id, secretHash: hashClientSecret(clientSecret) },
    });
  }
  if (input.roleIds?.length) {
    await tx.applicationRole.createMany({
      data: input.roleIds.map((roleId) => ({ realmId: input.realmId, applicationId: application.id, roleId })),
    });
  }
  return { application, clientSecret };
}
