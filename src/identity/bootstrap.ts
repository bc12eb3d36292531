import type { PrismaClient } from '../generated/prisma/client.ts';
import { systemContext } from '../context.ts';
import { recordAudit } from '../modules/audit/audit.service.ts';
import { restoreAdminApplication } from '../modules/applications/applications.builtin.ts';
import { createApplicationRecord } from '../modules/applications/applications.service.ts';
import { restoreAdminRole } from '../modules/roles/roles.builtin.ts';
import { DEFAULT_REALM_NAME, ensureRealm } from '../modules/realm/realm.service.ts';

const BOOTSTRAP_APPLICATION_NAME = 'Roster Admin';

export interface BootstrapResult {
  realmId: string;
  realmName: string;
  clientId: string;
  /** Present only when new credentials were generated and must be shown once. */
  clientSecret: string | null;
  created: boolean;
}

/**
 * Creates an M2M application holding the realm's built-in admin role. With `credentials`,
 * uses them: creating the application, or, when it exists, making it a working admin again
 * (this secret, enabled, holding the admin role), so scripted deployments can rely on known
 * values and recover an admin client that lost its role. Either way the admin role is
 * restored to every management scope first.
 */
export async function createAdminClient(
  prisma: PrismaClient,
  options: { realmName?: string; credentials?: { clientId: string; clientSecret: string } | undefined } = {},
): Promise<BootstrapResult> {
  const { realm } = await ensureRealm(prisma, options.realmName ?? DEFAULT_REALM_NAME);
  const ctx = systemContext(prisma, realm.id);
  const credentials = options.credentials;

  if (credentials) {
    const existing = await prisma.application.findUnique({ where: { clientId: credentials.clientId } });
    if (existing && existing.realmId !== realm.id) {
      throw new Error(`Client id ${credentials.clientId} already belongs to another realm.`);
    }
    if (existing && existing.type !== 'M2M') {
      throw new Error(
        `Client id ${credentials.clientId} belongs to a ${existing.type} application, not a machine-to-machine one.`,
      );
    }
    if (existing) {
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
  }

  const { application, clientSecret } = await prisma.$transaction(async (tx) => {
    const role = await restoreAdminRole(tx, ctx);
    const result = await createApplicationRecord(tx, {
      realmId: realm.id,
      name: BOOTSTRAP_APPLICATION_NAME,
      type: 'M2M',
      roleIds: [role.id],
      builtIn: true,
      ...(credentials ?? {}),
    });
    await recordAudit(tx, ctx, {
      action: 'application.created',
      targetType: 'Application',
      targetId: result.application.id,
      changes: { name: BOOTSTRAP_APPLICATION_NAME, type: 'M2M', roles: [role.name] },
    });
    return result;
  });
  return {
    realmId: realm.id,
    realmName: realm.name,
    clientId: application.clientId,
    clientSecret: credentials ? null : clientSecret,
    created: true,
  };
}

/**
 * At server start: on an empty database, creates realm `default` and the admin client; with
 * bootstrap credentials configured, makes sure they work. Otherwise does nothing.
 */
export async function bootstrapOnStart(
  prisma: PrismaClient,
  credentials: { clientId: string; clientSecret: string } | undefined,
): Promise<BootstrapResult | null> {
  if (credentials) return createAdminClient(prisma, { credentials });
  if ((await prisma.realm.count()) > 0) return null;
  return createAdminClient(prisma);
}
