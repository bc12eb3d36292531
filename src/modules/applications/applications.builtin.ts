import type { Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import { systemContext, type ServiceContext } from '../../context.ts';
import { isUniqueViolation } from '../user-error.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AuditAction } from '../audit/audit.actions.ts';
import { hashClientSecret } from './applications.credentials.ts';
import { createApplicationRecord } from './applications.service.ts';

/** The name of the M2M application bootstrap and `roster realm create` make a realm's administrator. */
const ADMIN_APPLICATION_NAME = 'Roster Admin';

/** A realm's administration client; its secret is known only when it was just generated. */
export interface AdminClient {
  applicationId: string;
  clientId: string;
  /** The generated secret, shown once; null when the caller gave the credentials. */
  clientSecret: string | null;
}

/**
 * Creates an M2M application holding the realm's built-in admin `role`, with generated or given
 * credentials; audited as `application.created`.
 */
export async function createAdminApplication(
  tx: Prisma.TransactionClient,
  ctx: ServiceContext,
  role: { id: string; name: string },
  credentials?: { clientId: string; clientSecret: string },
): Promise<AdminClient> {
  const { application, clientSecret } = await createApplicationRecord(tx, {
    realmId: ctx.realmId,
    name: ADMIN_APPLICATION_NAME,
    type: 'M2M',
    roleIds: [role.id],
    builtIn: true,
    ...(credentials ?? {}),
  });
  await recordAudit(tx, ctx, {
    action: 'application.created',
    targetType: 'Application',
    targetId: application.id,
    changes: { name: ADMIN_APPLICATION_NAME, type: 'M2M', roles: [role.name] },
  });
  return {
    applicationId: application.id,
    clientId: application.clientId,
    clientSecret: credentials ? null : clientSecret,
  };
}

/** The bootstrap credentials' application, made a working admin again; audits each repair. */
export async function restoreAdminApplication(
  tx: Prisma.TransactionClient,
  ctx: ServiceContext,
  application: { id: string; disabledAt: Date | null },
  role: { id: string; name: string },
  clientSecret: string,
): Promise<void> {
  const realmId = ctx.realmId;
  const audit = (action: AuditAction, changes: Prisma.InputJsonValue) =>
    recordAudit(tx, ctx, { action, targetType: 'Application', targetId: application.id, changes });

  const hash = hashClientSecret(clientSecret);
  const matches = await tx.applicationSecret.count({
    where: {
      realmId,
      applicationId: application.id,
      secretHash: hash,
      OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }],
    },
  });
  if (!matches) {
    await tx.applicationSecret.deleteMany({ where: { realmId, applicationId: application.id } });
    await tx.applicationSecret.create({ data: { realmId, applicationId: application.id, secretHash: hash } });
    await tx.application.update({ where: { id: application.id }, data: { secretLastRotatedAt: new Date() } });
    await audit('application.secret_rotated', { source: 'ROSTER_BOOTSTRAP_CLIENT_SECRET' });
  }
  if (application.disabledAt) {
    await tx.application.update({ where: { id: application.id }, data: { disabledAt: null } });
    await audit('application.updated', {
      disabledAt: { before: application.disabledAt.toISOString(), after: null },
      source: 'ROSTER_BOOTSTRAP_CLIENT_ID',
    });
  }
  const roles = await tx.applicationRole.findMany({
    where: { realmId, applicationId: application.id },
    select: { roleId: true, role: { select: { name: true } } },
  });
  if (!roles.some((row) => row.roleId === role.id)) {
    await tx.applicationRole.create({ data: { realmId, applicationId: application.id, roleId: role.id } });
    const before = roles.map((row) => row.role.name).sort();
    await audit('application.roles_assigned', {
      roles: { before, after: [...before, role.name].sort() },
      source: 'ROSTER_BOOTSTRAP_CLIENT_ID',
    });
  }
}

/** The name of the SPA application through which the realm's administrators sign in to the console. */
const CONSOLE_APPLICATION_NAME = 'Roster Console';

/**
 * The console application's client id in a realm: fixed by the realm's id, so that two processes
 * ensuring it at once create one (the second is refused by the unique client id and reads it).
 */
export const consoleClientId = (realmId: string) => `roster-console-${realmId}`;

/** A realm's console application as the console needs it; `disabled` when an administrator disabled it. */
export interface ConsoleApplication {
  clientId: string;
  disabled: boolean;
}

/**
 * Makes sure the realm has its built-in console application (a SPA signing administrators in
 * with code + PKCE) and that `redirectUri` and `postLogoutRedirectUri` are among its URIs (the
 * public URL may have changed since it was made); audited as `application.created` or
 * `application.updated`. A disabled one stays disabled, and one deleted is made again.
 */
export async function ensureConsoleApplication(
  prisma: PrismaClient,
  realmId: string,
  uris: { redirectUri: string; postLogoutRedirectUri: string },
): Promise<ConsoleApplication> {
  const clientId = consoleClientId(realmId);
  const ctx = systemContext(prisma, realmId);
  const existing = await prisma.application.findUnique({ where: { clientId } });
  if (existing) {
    const redirectUris = withUri(existing.redirectUris, uris.redirectUri);
    const postLogoutRedirectUris = withUri(existing.postLogoutRedirectUris, uris.postLogoutRedirectUri);
    if (redirectUris !== existing.redirectUris || postLogoutRedirectUris !== existing.postLogoutRedirectUris) {
      await prisma.$transaction(async (tx) => {
        await tx.application.update({ where: { id: existing.id }, data: { redirectUris, postLogoutRedirectUris } });
        await recordAudit(tx, ctx, {
          action: 'application.updated',
          targetType: 'Application',
          targetId: existing.id,
          changes: {
            redirectUris: { before: existing.redirectUris, after: redirectUris },
            postLogoutRedirectUris: { before: existing.postLogoutRedirectUris, after: postLogoutRedirectUris },
            source: 'console',
          },
        });
      });
    }
    return { clientId, disabled: existing.disabledAt !== null };
  }
  try {
    await prisma.$transaction(async (tx) => {
      const { application } = await createApplicationRecord(tx, {
        realmId,
        name: CONSOLE_APPLICATION_NAME,
        type: 'SPA',
        clientId,
        redirectUris: [uris.redirectUri],
        postLogoutRedirectUris: [uris.postLogoutRedirectUri],
        builtIn: true,
      });
      await recordAudit(tx, ctx, {
        action: 'application.created',
        targetType: 'Application',
        targetId: application.id,
        changes: { name: CONSOLE_APPLICATION_NAME, type: 'SPA', redirectUris: [uris.redirectUri] },
      });
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  const made = await prisma.application.findUniqueOrThrow({ where: { clientId } });
  return { clientId, disabled: made.disabledAt !== null };
}

/** `uris` with `uri` added, or the same array when it is there. */
function withUri(uris: string[], uri: string): string[] {
  return uris.includes(uri) ? uris : [...uris, uri];
}
