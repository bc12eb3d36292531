import type { PrismaClient } from '../generated/prisma/client.ts';
import { systemContext } from '../context.ts';
import {
  createAdminApplication,
  restoreAdminApplication,
  type AdminClient,
} from '../modules/applications/applications.builtin.ts';
import { restoreAdminRole } from '../modules/roles/roles.builtin.ts';
import { DEFAULT_REALM_NAME } from '../modules/realm/realm.service.ts';
import { createRealm } from '../modules/realm/realm.lifecycle.ts';

export interface BootstrapResult {
  realmId: string;
  realmName: string;
  clientId: string;
  /** Present only when new credentials were generated and must be shown once. */
  clientSecret: string | null;
  created: boolean;
}

type Credentials = { clientId: string; clientSecret: string };

const newAdminClient = (realm: { id: string; name: string }, client: AdminClient): BootstrapResult => ({
  realmId: realm.id,
  realmName: realm.name,
  clientId: client.clientId,
  clientSecret: client.clientSecret,
  created: true,
});

/**
 * Creates a new realm with its admin client, in one transaction; null if a realm of that name
 * exists (or was created meanwhile by another process).
 */
async function createRealmWithAdmin(
  prisma: PrismaClient,
  realmName: string,
  credentials: Credentials | undefined,
  system: boolean,
): Promise<BootstrapResult | null> {
  const result = await createRealm({ prisma }, { name: realmName, adminCredentials: credentials, system });
  if (result.realm && result.adminClient) return newAdminClient(result.realm, result.adminClient);
  if (result.userErrors.every((error) => error.code === 'TAKEN')) return null;
  throw new Error(result.userErrors.map((error) => error.message).join(' '));
}

/** A bootstrap that cannot be done as asked (its message says why and what to do); nothing changed. */
export class BootstrapRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapRefusal';
  }
}

/** The name `roster bootstrap --system` gives the system realm unless told another. */
export const SYSTEM_REALM_NAME = 'system';

/** Refuses a `--system` bootstrap that names a realm other than the system realm. */
async function checkSystemRealm(prisma: PrismaClient, realmName: string, realm: { system: boolean } | null) {
  const systemRealm = await prisma.realm.findFirst({ where: { system: true }, select: { name: true } });
  if (systemRealm && systemRealm.name !== realmName) {
    throw new BootstrapRefusal(
      `The system realm is "${systemRealm.name}" (there is at most one); name it with --realm ${systemRealm.name}.`,
    );
  }
  if (realm && !realm.system) {
    throw new BootstrapRefusal(
      `Realm "${realmName}" exists and is not the system realm; give the system realm another name.`,
    );
  }
}

/**
 * Creates an M2M application holding the realm's built-in admin role (and the realm, with it in
 * one transaction, when there is none). With `credentials`, uses them: creating the application,
 * or, when it exists, making it a working admin again (this secret, enabled, holding the admin
 * role), so scripted deployments can rely on known values and recover an admin client that lost
 * its role. Either way the admin role is restored to every management scope first.
 */
export async function createAdminClient(
  prisma: PrismaClient,
  options: { realmName?: string; credentials?: Credentials | undefined; system?: boolean } = {},
): Promise<BootstrapResult> {
  const system = options.system ?? false;
  const realmName = options.realmName ?? (system ? SYSTEM_REALM_NAME : DEFAULT_REALM_NAME);
  const credentials = options.credentials;
  const existing = credentials && (await prisma.application.findUnique({ where: { clientId: credentials.clientId } }));
  let realm = await prisma.realm.findUnique({ where: { name: realmName } });
  if (existing && existing.realmId !== realm?.id) {
    throw new BootstrapRefusal(`Client id ${existing.clientId} already belongs to another realm.`);
  }
  if (system) await checkSystemRealm(prisma, realmName, realm);
  if (!realm) {
    const created = await createRealmWithAdmin(prisma, realmName, credentials, system);
    if (created) return created;
    realm = await prisma.realm.findUniqueOrThrow({ where: { name: realmName } });
  }
  const ctx = systemContext(prisma, realm.id);

  if (credentials && existing) {
    if (existing.type !== 'M2M') {
      throw new BootstrapRefusal(
        `Client id ${credentials.clientId} belongs to a ${existing.type} application, not a machine-to-machine one.`,
      );
    }
    await prisma.$transaction(async (tx) => {
      const role = await restoreAdminRole(tx, ctx);
      await restoreAdminApplication(tx, ctx, existing, role, credentials.clientSecret);
    });
    return {
      realmId: realm.id,
      realmName: realm.name,
      clientId: existing.clientId,
      clientSecret: null,
      created: false,
    };
  }

  const adminClient = await prisma.$transaction(async (tx) =>
    createAdminApplication(tx, ctx, await restoreAdminRole(tx, ctx), credentials),
  );
  return newAdminClient(realm, adminClient);
}

/**
 * At server start: on an empty database, creates realm `default` and the admin client (both or
 * neither); with bootstrap credentials configured, makes sure they work. Otherwise does nothing.
 * Two processes starting on one empty database create one realm: the second gets null.
 */
export async function bootstrapOnStart(
  prisma: PrismaClient,
  credentials: Credentials | undefined,
): Promise<BootstrapResult | null> {
  if (credentials) return createAdminClient(prisma, { credentials });
  if ((await prisma.realm.count()) > 0) return null;
  return createRealmWithAdmin(prisma, DEFAULT_REALM_NAME, undefined, false);
}
