import type { Prisma } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
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
