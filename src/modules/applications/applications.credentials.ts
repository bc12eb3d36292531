import type { ApplicationType, PrismaClient } from '../../generated/prisma/client.ts';
import { VersionedCache, type GrantVersions } from '../../auth/grants-cache.ts';
import { constantTimeEqual, randomToken, sha256 } from '../../auth/crypto.ts';
import { clientSecretRows, managementScopeRows, resourceGrantRows } from './applications.queries.ts';

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

/** An enabled application of the realm, as an OAuth client. */
export interface ClientApplication {
  id: string;
  clientId: string;
  type: ApplicationType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface AuthenticatedClient extends ClientApplication {
  realmId: string;
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
  const rows = await clientSecretRows(prisma, realmId, clientId);
  const presented = hashClientSecret(clientSecret);
  const hashes = rows.length ? rows.map((row) => row.secretHash) : [DUMMY_HASH];
  let valid = false;
  for (const hash of hashes) valid = constantTimeEqual(presented, hash) || valid;
  const app = rows[0];
  if (!app || !valid) return null;
  return {
    id: app.id,
    realmId: app.realmId,
    clientId: app.clientId,
    type: app.type,
    redirectUris: app.redirectUris,
    postLogoutRedirectUris: app.postLogoutRedirectUris,
  };
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
  const rows = await managementScopeRows(prisma, realmId, applicationId);
  const row = rows[0];
  return row ? (row.scopes ?? []).sort() : null;
}

/**
 * The scope names an application's roles grant on the realm's resource identified by
 * `indicator` (sorted); null when the realm has no such resource.
 */
export async function grantedResourceScopes(
  prisma: PrismaClient,
  realmId: string,
  applicationId: string,
  indicator: string,
): Promise<string[] | null> {
  const [row] = await resourceGrantRows(prisma, realmId, applicationId, indicator);
  return row ? (row.scopes ?? []).sort() : null;
}

/** The realm's enabled application with this client id, or null. */
export function findClientApplication(
  prisma: PrismaClient,
  realmId: string,
  clientId: string,
): Promise<ClientApplication | null> {
  return prisma.application.findFirst({
    where: { realmId, clientId, disabledAt: null },
    select: { id: true, clientId: true, type: true, redirectUris: true, postLogoutRedirectUris: true },
  });
}

/**
 * The realms' enabled applications by client id, as OAuth clients, kept by their realm's grants
 * version: an application's creation, change, disabling or deletion (in this process, or notified
 * by another one) reads it again. An unknown client id is not kept.
 */
export class ClientApplications {
  readonly #cache: VersionedCache<ClientApplication>;

  constructor(
    private readonly prisma: PrismaClient,
    versions: GrantVersions,
  ) {
    this.#cache = new VersionedCache(versions);
  }

  find(realmId: string, clientId: string): Promise<ClientApplication | null> {
    return this.#cache.get(realmId, `client/${clientId}`, () => findClientApplication(this.prisma, realmId, clientId));
  }
}
