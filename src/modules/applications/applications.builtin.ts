import type { Prisma } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AuditAction } from '../audit/audit.actions.ts';
import { hashClientSecret } from './applications.credentials.ts';

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
