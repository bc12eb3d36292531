import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { systemContext, type ServiceContext } from '../context.ts';
import { recordAudit } from '../modules/audit/audit.service.ts';
import type { AuditAction } from '../modules/audit/audit.actions.ts';
import { createApplicationRecord } from '../modules/applications/applications.service.ts';
import { hashClientSecret } from '../modules/applications/credentials.ts';
import { DEFAULT_REALM_NAME, ensureRealm } from '../modules/realm/realm.service.ts';
import { MANAGEMENT_ADMIN_ROLE_NAME, MANAGEMENT_API_INDICATOR, MANAGEMENT_SCOPES } from '../auth/scopes.ts';

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
 * Makes the realm's built-in admin role whole: every management scope exists on the built-in
 * management API resource and the role holds all of them. Writes an audit event for what it
 * had to restore; on an intact realm it only reads.
 */
async function restoreAdminRole(
  tx: Prisma.TransactionClient,
  ctx: ServiceContext,
): Promise<{ id: string; name: string }> {
  const realmId = ctx.realmId;
  const resource = await tx.resource.findFirstOrThrow({
    where: { realmId, builtIn: true, indicator: MANAGEMENT_API_INDICATOR },
  });
  const names = Object.keys(MANAGEMENT_SCOPES);
  const existingScopes = await tx.resourceScope.findMany({
    where: { realmId, resourceId: resource.id, name: { in: names } },
  });
  const missingScopes = names.filter((name) => !existingScopes.some((scope) => scope.name === name));
  if (missingScopes.length) {
    const created = await tx.resourceScope.createManyAndReturn({
      data: missingScopes.map((name) => ({
        realmId,
        resourceId: resource.id,
        name,
        description: MANAGEMENT_SCOPES[name as keyof typeof MANAGEMENT_SCOPES],
      })),
    });
    existingScopes.push(...created);
    await recordAudit(tx, ctx, {
      action: 'resource.scope_added',
      targetType: 'Resource',
      targetId: resource.id,
      changes: { names: missingScopes, source: 'bootstrap' },
    });
  }

  let role = await tx.role.findFirst({
    where: { realmId, builtIn: true, name: MANAGEMENT_ADMIN_ROLE_NAME, tenantId: null },
  });
  if (!role) {
    role = await tx.role.create({
      data: {
        realmId,
        name: MANAGEMENT_ADMIN_ROLE_NAME,
        description: 'Full access to the Roster Management API of this realm.',
        builtIn: true,
      },
    });
    await recordAudit(tx, ctx, {
      action: 'role.created',
      targetType: 'Role',
      targetId: role.id,
      changes: { name: role.name, source: 'bootstrap' },
    });
  }
  const held = new Set(
    (await tx.roleScope.findMany({ where: { realmId, roleId: role.id }, select: { scopeId: true } })).map(
      (row) => row.scopeId,
    ),
  );
  const lacking = existingScopes.filter((scope) => !held.has(scope.id));
  if (lacking.length) {
    await tx.roleScope.createMany({ data: lacking.map((scope) => ({ realmId, roleId: role.id, scopeId: scope.id })) });
    await recordAudit(tx, ctx, {
      action: 'role.scopes_assigned',
      targetType: 'Role',
      targetId: role.id,
      changes: { scopes: lacking.map((scope) => scope.name).sort(), source: 'bootstrap' },
    });
  }
  return { id: role.id, name: role.name };
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

/** The bootstrap credentials' application, made a working admin again; audits each repair. */
async function restoreAdminApplication(
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
