import type { TenancyMode, User } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { recordAudit, type AuditInput } from '../audit/audit.service.ts';
import { assertCanGrant } from '../roles/roles.grants.ts';
import {
  inTransaction,
  isUserError,
  notFound,
  refused,
  userDeleted,
  userError,
  type UserErrorShape,
} from '../user-error.ts';
import { bumpVersion, findUser, type RoleRow, type TenantRow, type UserResult } from './users.core.ts';

export const USER_ACCESS_LIMITS = {
  /** Role ids in one `assignUserRoles` / `setUserRoles` call. */
  rolesPerRequest: 100,
} as const;

/** The user, locked for the rest of the transaction, or NOT_FOUND at `input.userId`. */
const lockTarget = (tx: RealmTx, ctx: ServiceContext, id: string) =>
  findUser(tx, id, ['input', 'userId'], { lock: { realmId: ctx.realmId } });

/** The user's role assignments in one scope (realm-wide when `tenantId` is null), by role name. */
async function assignmentsIn(tx: RealmTx, userId: string, tenantId: string | null) {
  const rows = await tx.userRole.findMany({
    where: { userId, tenantId },
    select: { id: true, roleId: true, role: { select: { name: true } } },
  });
  return rows.sort((a, b) => (a.role.name < b.role.name ? -1 : a.role.name > b.role.name ? 1 : 0));
}

export interface UserRolesInput {
  userId: string;
  roleIds: readonly string[];
  /** Assign inside this tenant; realm-wide when null or omitted. */
  tenantId?: string | null;
}

/**
 * Everything `assignUserRoles` and `setUserRoles` check before writing: the user (not deleted),
 * the tenant (exists, the user is a member), each role (exists; a tenant-defined role only
 * inside its own tenant). Errors are collected, not stopped at the first.
 */
async function checkRoleTargets(
  tx: RealmTx,
  ctx: ServiceContext,
  input: UserRolesInput,
): Promise<{ user: User; roles: RoleRow[]; tenantId: string | null } | { errors: UserErrorShape[] }> {
  const errors: UserErrorShape[] = [];
  const tenantId = input.tenantId ?? null;
  const user = await lockTarget(tx, ctx, input.userId);
  if (isUserError(user)) errors.push(user);
  else if (user.deletedAt) errors.push(userDeleted(['input', 'userId']));
  if (tenantId !== null) {
    const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
    if (!tenant) errors.push(notFound('tenant', ['input', 'tenantId']));
    else if (!isUserError(user) && !(await tx.tenantMembership.count({ where: { tenantId, userId: user.id } }))) {
      errors.push(notATenantMember(['input', 'tenantId']));
    }
  }
  const byId = await rolesById(tx, input.roleIds);
  errors.push(...roleAssignmentErrors(input.roleIds, byId, tenantId));
  if (errors.length || isUserError(user)) return { errors };
  return { user, roles: [...new Set(input.roleIds)].map((id) => byId.get(id)!), tenantId };
}

/** The realm's roles among `roleIds`, by id. One statement (none for no ids). */
export async function rolesById(tx: RealmTx, roleIds: readonly string[]): Promise<Map<string, RoleRow>> {
  const unique = [...new Set(roleIds)];
  const found = unique.length
    ? await tx.role.findMany({ where: { id: { in: unique } }, select: { id: true, name: true, tenantId: true } })
    : [];
  return new Map(found.map((role) => [role.id, role]));
}

/**
 * Why roles cannot be assigned in a scope (realm-wide when `tenantId` is null): NOT_FOUND for an
 * unknown role, INVALID for a tenant-defined role outside its own tenant; at `input.roleIds.<index>`.
 */
export function roleAssignmentErrors(
  roleIds: readonly string[],
  byId: ReadonlyMap<string, RoleRow>,
  tenantId: string | null,
): UserErrorShape[] {
  return roleIds.flatMap((id, index) => {
    const role = byId.get(id);
    const field = ['input', 'roleIds', String(index)];
    if (!role) return [notFound('role', field)];
    if (role.tenantId === null || role.tenantId === tenantId) return [];
    return [
      userError(
        'INVALID',
        tenantId === null
          ? 'This role is defined by a tenant: assign it with that tenant’s id.'
          : 'This role is defined by another tenant and can only be assigned inside it.',
        field,
      ),
    ];
  });
}

/** INVALID_STATE: roles inside a tenant go only to its members. */
export const notATenantMember = (field: string[]) =>
  userError('INVALID_STATE', 'The user is not a member of this tenant; add it to the tenant first.', field);

/** LIMIT_EXCEEDED for more than `USER_ACCESS_LIMITS.rolesPerRequest` roles. */
export function checkRoleCount(roleIds: readonly string[]): UserErrorShape[] {
  return roleIds.length > USER_ACCESS_LIMITS.rolesPerRequest
    ? [
        userError('LIMIT_EXCEEDED', `At most ${USER_ACCESS_LIMITS.rolesPerRequest} roles per request.`, [
          'input',
          'roleIds',
        ]),
      ]
    : [];
}

/** The audit event of roles given to a user in one scope; `before`: the names it held there, sorted. */
export function rolesAssignedAudit(
  userId: string,
  tenantId: string | null,
  before: readonly string[],
  added: readonly string[],
): AuditInput {
  const addedNames = [...added].sort();
  return {
    action: 'user.roles_assigned',
    targetType: 'User',
    targetId: userId,
    changes: { tenantId, added: addedNames, roles: { before: [...before], after: [...before, ...addedNames].sort() } },
  };
}

/**
 * Gives roles to a user, realm-wide or inside one tenant; roles already held there stay as
 * they are. The caller must hold every management scope the new roles carry.
 */
export async function assignUserRoles(ctx: ServiceContext, input: UserRolesInput): Promise<UserResult> {
  const limit = checkRoleCount(input.roleIds);
  if (limit.length) return refused('user', ...limit);
  return inTransaction(ctx, async (tx) => {
    const target = await checkRoleTargets(tx, ctx, input);
    if ('errors' in target) return refused('user', ...target.errors);
    const { user, roles, tenantId } = target;
    const current = await assignmentsIn(tx, user.id, tenantId);
    const held = new Set(current.map((a) => a.roleId));
    const added = roles.filter((role) => !held.has(role.id));
    if (added.length === 0) return { user, userErrors: [] };
    const denied = await assertCanGrant(tx, ctx, { roleIds: added.map((r) => r.id) }, ['input', 'roleIds']);
    if (denied) return refused('user', denied);

    await tx.userRole.createMany({
      data: added.map((role) => ({ realmId: ctx.realmId, userId: user.id, roleId: role.id, tenantId })),
    });
    await recordAudit(
      tx,
      ctx,
      rolesAssignedAudit(
        user.id,
        tenantId,
        current.map((a) => a.role.name),
        added.map((r) => r.name),
      ),
    );
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/**
 * Makes `roleIds` exactly the user's roles in one scope: realm-wide (no `tenantId`) or inside
 * one tenant. Assignments in other scopes are untouched. The caller must hold every management
 * scope the added roles carry; taking roles away needs no such check.
 */
export async function setUserRoles(ctx: ServiceContext, input: UserRolesInput): Promise<UserResult> {
  const limit = checkRoleCount(input.roleIds);
  if (limit.length) return refused('user', ...limit);
  return inTransaction(ctx, async (tx) => {
    const target = await checkRoleTargets(tx, ctx, input);
    if ('errors' in target) return refused('user', ...target.errors);
    const { user, roles, tenantId } = target;
    const current = await assignmentsIn(tx, user.id, tenantId);
    const wanted = new Set(roles.map((r) => r.id));
    const held = new Set(current.map((a) => a.roleId));
    const added = roles.filter((role) => !held.has(role.id));
    const removed = current.filter((a) => !wanted.has(a.roleId));
    if (added.length === 0 && removed.length === 0) return { user, userErrors: [] };
    if (added.length) {
      const denied = await assertCanGrant(tx, ctx, { roleIds: added.map((r) => r.id) }, ['input', 'roleIds']);
      if (denied) return refused('user', denied);
    }

    if (removed.length) await tx.userRole.deleteMany({ where: { id: { in: removed.map((a) => a.id) } } });
    if (added.length) {
      await tx.userRole.createMany({
        data: added.map((role) => ({ realmId: ctx.realmId, userId: user.id, roleId: role.id, tenantId })),
      });
    }
    await recordAudit(tx, ctx, {
      action: 'user.roles_set',
      targetType: 'User',
      targetId: user.id,
      changes: {
        tenantId,
        added: added.map((r) => r.name).sort(),
        removed: removed.map((a) => a.role.name),
        roles: { before: current.map((a) => a.role.name), after: roles.map((r) => r.name).sort() },
      },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/** Takes one role from a user, realm-wide (no `tenantId`) or inside one tenant. */
export async function removeUserRole(
  ctx: ServiceContext,
  input: { userId: string; roleId: string; tenantId?: string | null },
): Promise<UserResult> {
  const tenantId = input.tenantId ?? null;
  return inTransaction(ctx, async (tx) => {
    const errors: UserErrorShape[] = [];
    const user = await lockTarget(tx, ctx, input.userId);
    if (isUserError(user)) errors.push(user);
    const role = await tx.role.findUnique({ where: { id: input.roleId }, select: { id: true, name: true } });
    if (!role) errors.push(notFound('role', ['input', 'roleId']));
    if (tenantId !== null && !(await tx.tenant.count({ where: { id: tenantId } }))) {
      errors.push(notFound('tenant', ['input', 'tenantId']));
    }
    if (errors.length || isUserError(user) || !role) return refused('user', ...errors);

    const assignment = await tx.userRole.findFirst({
      where: { userId: user.id, roleId: role.id, tenantId },
      select: { id: true },
    });
    if (!assignment) {
      return refused(
        'user',
        userError(
          'NOT_FOUND',
          tenantId === null
            ? 'The user does not hold this role realm-wide.'
            : 'The user does not hold this role in this tenant.',
          ['input', 'roleId'],
        ),
      );
    }
    const before = (await assignmentsIn(tx, user.id, tenantId)).map((a) => a.role.name);
    await tx.userRole.delete({ where: { id: assignment.id } });
    const after = [...before];
    after.splice(after.indexOf(role.name), 1);
    await recordAudit(tx, ctx, {
      action: 'user.role_removed',
      targetType: 'User',
      targetId: user.id,
      changes: { tenantId, removed: role.name, roles: { before, after } },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

export interface UserTenantInput {
  userId: string;
  tenantId: string;
}

async function findUserAndTenant(
  tx: RealmTx,
  ctx: ServiceContext,
  input: UserTenantInput,
): Promise<{ user: User; tenant: { id: string; slug: string } } | { errors: UserErrorShape[] }> {
  const errors: UserErrorShape[] = [];
  const user = await lockTarget(tx, ctx, input.userId);
  if (isUserError(user)) errors.push(user);
  const tenant = await tx.tenant.findUnique({ where: { id: input.tenantId }, select: { id: true, slug: true } });
  if (!tenant) errors.push(notFound('tenant', ['input', 'tenantId']));
  if (isUserError(user) || !tenant) return { errors };
  return { user, tenant };
}

/**
 * TENANCY_VIOLATION when a user with `memberships` tenants cannot join another one: an
 * ISOLATED_POOL realm keeps each user in at most one tenant. Null when it can.
 */
export function tenancyRefusal(mode: TenancyMode, memberships: number, field: string[]): UserErrorShape | null {
  if (mode !== 'ISOLATED_POOL' || memberships === 0) return null;
  return userError(
    'TENANCY_VIOLATION',
    'The realm uses ISOLATED_POOL tenancy and the user already belongs to another tenant; remove it from that tenant first.',
    field,
  );
}

/** The audit event of a user joining a tenant. */
export function tenantAddedAudit(userId: string, tenant: TenantRow): AuditInput {
  return {
    action: 'user.tenant_added',
    targetType: 'User',
    targetId: userId,
    changes: { tenantId: tenant.id, tenantSlug: tenant.slug },
  };
}

/** The audit event of a user leaving a tenant, with the names of the roles it held inside it. */
export function tenantRemovedAudit(userId: string, tenant: TenantRow, roles: readonly string[]): AuditInput {
  return {
    action: 'user.tenant_removed',
    targetType: 'User',
    targetId: userId,
    changes: {
      tenantId: tenant.id,
      tenantSlug: tenant.slug,
      removedRoleAssignments: roles.length,
      removedRoles: [...roles],
    },
  };
}

/**
 * Makes the user a member of a tenant. Already a member: success, nothing changes. In an
 * ISOLATED_POOL realm a user belongs to at most one tenant (TENANCY_VIOLATION).
 */
export async function addUserToTenant(ctx: ServiceContext, input: UserTenantInput): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const found = await findUserAndTenant(tx, ctx, input);
    if ('errors' in found) return refused('user', ...found.errors);
    const { user, tenant } = found;
    const memberships = await tx.tenantMembership.findMany({ where: { userId: user.id }, select: { tenantId: true } });
    if (memberships.some((m) => m.tenantId === tenant.id)) return { user, userErrors: [] };
    if (user.deletedAt) return refused('user', userDeleted(['input', 'userId']));
    const realm = await tx.realm.findFirstOrThrow({ select: { tenancyMode: true } });
    const violation = tenancyRefusal(realm.tenancyMode, memberships.length, ['input', 'tenantId']);
    if (violation) return refused('user', violation);
    await tx.tenantMembership.create({ data: { realmId: ctx.realmId, tenantId: tenant.id, userId: user.id } });
    await recordAudit(tx, ctx, tenantAddedAudit(user.id, tenant));
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/**
 * Removes the user from a tenant; its role assignments inside the tenant go with the
 * membership (the foreign key cascades), and the audit event lists them.
 */
export async function removeUserFromTenant(ctx: ServiceContext, input: UserTenantInput): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const found = await findUserAndTenant(tx, ctx, input);
    if ('errors' in found) return refused('user', ...found.errors);
    const { user, tenant } = found;
    const membership = await tx.tenantMembership.findFirst({
      where: { userId: user.id, tenantId: tenant.id },
      select: { id: true },
    });
    if (!membership)
      return refused('user', userError('NOT_FOUND', 'The user is not a member of this tenant.', ['input', 'tenantId']));
    const roles = (await assignmentsIn(tx, user.id, tenant.id)).map((a) => a.role.name);
    await tx.tenantMembership.delete({ where: { id: membership.id } });
    await recordAudit(tx, ctx, tenantRemovedAudit(user.id, tenant, roles));
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}
