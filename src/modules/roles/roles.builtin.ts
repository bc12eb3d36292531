import type { Prisma } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { MANAGEMENT_ADMIN_ROLE_NAME, MANAGEMENT_API_INDICATOR, managementScopesOf } from '../../auth/scopes.ts';
import { recordAudit } from '../audit/audit.service.ts';

/**
 * Makes the realm's built-in admin role whole: every management scope exists on the built-in
 * management API resource and the role holds all of them. Writes an audit event for what it
 * had to restore; on an intact realm it only reads.
 */
export async function restoreAdminRole(
  tx: Prisma.TransactionClient,
  ctx: ServiceContext,
): Promise<{ id: string; name: string }> {
  const realmId = ctx.realmId;
  const resource = await tx.resource.findFirstOrThrow({
    where: { realmId, builtIn: true, indicator: MANAGEMENT_API_INDICATOR },
  });
  const scopes = managementScopesOf(
    await tx.realm.findUniqueOrThrow({ where: { id: realmId }, select: { system: true } }),
  );
  const names = Object.keys(scopes);
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
        description: scopes[name],
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
