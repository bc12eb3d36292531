import type { Prisma, Role } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { checkDescription, checkName, likeLiteral } from '../input-checks.ts';
import {
  inTransaction,
  notFound,
  refused,
  userError,
  type DeleteResult,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';
import { assertCanGrant } from './roles.grants.ts';

/** At most this many scopes per `createRole`/`assignRoleScopes` call. */
const MAX_SCOPES_PER_CALL = 100;

export type RoleResult = MutationResult<'role', Role>;

const failed = (...userErrors: UserErrorShape[]): RoleResult => refused('role', ...userErrors);

/** Roles matching a `RoleFilter`: `search` in name or description (case-insensitive), roles of one tenant. */
export function roleWhere(
  filter: { search?: string | null; tenantId?: string | null } | null | undefined,
): Prisma.RoleWhereInput {
  const where: Prisma.RoleWhereInput = {};
  const search = filter?.search?.trim();
  if (search) {
    where.OR = [
      { name: { contains: search, mode: 'insensitive' } },
      { description: { contains: search, mode: 'insensitive' } },
    ];
  }
  if (filter?.tenantId) where.tenantId = filter.tenantId;
  return where;
}

/** Deduplicated ids, or LIMIT_EXCEEDED / REQUIRED at `field`. */
function checkScopeIds(ids: readonly string[], field: string[], errors: UserErrorShape[], required: boolean): string[] {
  const unique = [...new Set(ids)];
  if (required && unique.length === 0) errors.push(userError('REQUIRED', 'Name at least one scope.', field));
  if (unique.length > MAX_SCOPES_PER_CALL) {
    errors.push(userError('LIMIT_EXCEEDED', `At most ${MAX_SCOPES_PER_CALL} scopes per call.`, field));
  }
  return unique;
}

/** The scopes with these ids, or NOT_FOUND at `[...field, index]` for the first that does not exist. */
async function findScopes(tx: RealmTx, ids: readonly string[], field: string[]) {
  const scopes = await tx.resourceScope.findMany({ where: { id: { in: [...ids] } }, select: { id: true, name: true } });
  const found = new Set(scopes.map((s) => s.id));
  const missing = ids.findIndex((id) => !found.has(id));
  if (missing >= 0) return notFound('scope', [...field, String(missing)]);
  return scopes;
}

async function nameTaken(tx: RealmTx, name: string, tenantId: string | null, exceptId?: string): Promise<boolean> {
  const clash = await tx.role.findFirst({
    // Case-insensitive equality is ILIKE: the name's own `_` and `%` must not act as wildcards.
    where: {
      name: { equals: likeLiteral(name), mode: 'insensitive' },
      tenantId,
      ...(exceptId ? { id: { not: exceptId } } : {}),
    },
    select: { id: true },
  });
  return clash !== null;
}

const takenError = (field: string[], tenantId: string | null) =>
  userError(
    'TAKEN',
    tenantId ? 'The tenant already has a role with this name.' : 'The realm already has a role with this name.',
    field,
  );

const withoutOne = (names: string[], name: string) => {
  const index = names.indexOf(name);
  return index < 0 ? names : [...names.slice(0, index), ...names.slice(index + 1)];
};

async function scopeNames(tx: RealmTx, roleId: string): Promise<string[]> {
  const rows = await tx.roleScope.findMany({ where: { roleId }, select: { scope: { select: { name: true } } } });
  return rows.map((r) => r.scope.name).sort();
}

export interface CreateRoleInput {
  name: string;
  description?: string | null;
  scopeIds?: readonly string[] | null;
  /** Defines the role inside this tenant; realm-wide when absent. */
  tenantId?: string | null;
}

/** Creates a role with its initial scopes; only management scopes the caller holds (no escalation). */
export async function createRole(ctx: ServiceContext, input: CreateRoleInput): Promise<RoleResult> {
  const errors: UserErrorShape[] = [];
  const name = checkName(input.name, ['input', 'name'], errors);
  const description = checkDescription(input.description ?? null, ['input', 'description'], errors);
  const scopeIds = checkScopeIds(input.scopeIds ?? [], ['input', 'scopeIds'], errors, false);
  if (errors.length) return failed(...errors);
  const tenantId = input.tenantId ?? null;
  const taken = () => failed(takenError(['input', 'name'], tenantId));

  return inTransaction(
    ctx,
    async (tx) => {
      if (tenantId && !(await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } }))) {
        return failed(notFound('tenant', ['input', 'tenantId']));
      }
      if (await nameTaken(tx, name, tenantId)) return taken();
      const scopes = await findScopes(tx, scopeIds, ['input', 'scopeIds']);
      if (!Array.isArray(scopes)) return failed(scopes);
      const forbidden = await assertCanGrant(tx, ctx, { scopeIds }, ['input', 'scopeIds']);
      if (forbidden) return failed(forbidden);

      const role = await tx.role.create({ data: { realmId: ctx.realmId, name, description, tenantId } });
      if (scopeIds.length) {
        await tx.roleScope.createMany({
          data: scopeIds.map((scopeId) => ({ realmId: ctx.realmId, roleId: role.id, scopeId })),
        });
      }
      await recordAudit(tx, ctx, {
        action: 'role.created',
        targetType: 'Role',
        targetId: role.id,
        changes: { name, description, tenantId, scopes: scopes.map((s) => s.name).sort() },
      });
      return { role, userErrors: [] };
    },
    taken,
  );
}

export interface RolePatch {
  name?: string | null;
  description?: string | null;
}

export async function updateRole(ctx: ServiceContext, id: string, patch: RolePatch): Promise<RoleResult> {
  const errors: UserErrorShape[] = [];
  const data: { name?: string; description?: string | null } = {};
  if (patch.name === null)
    errors.push(userError('REQUIRED', 'The name cannot be cleared.', ['input', 'patch', 'name']));
  else if (patch.name !== undefined) data.name = checkName(patch.name, ['input', 'patch', 'name'], errors);
  if (patch.description !== undefined)
    data.description = checkDescription(patch.description, ['input', 'patch', 'description'], errors);
  if (errors.length) return failed(...errors);

  let tenantId: string | null = null;
  return inTransaction(
    ctx,
    async (tx) => {
      const before = await tx.role.findUnique({ where: { id } });
      if (!before) return failed(notFound('role', ['input', 'id']));
      tenantId = before.tenantId;
      const changes = diffFields({ name: before.name, description: before.description }, data);
      if (Object.keys(changes).length === 0) return { role: before, userErrors: [] };
      if (changes.name && before.builtIn) {
        return failed(
          userError('INVALID_STATE', 'The built-in administrator role cannot be renamed.', ['input', 'patch', 'name']),
        );
      }
      if (changes.name && (await nameTaken(tx, data.name!, before.tenantId, id)))
        return failed(takenError(['input', 'patch', 'name'], tenantId));
      const role = await tx.role.update({ where: { id }, data });
      await recordAudit(tx, ctx, {
        action: 'role.updated',
        targetType: 'Role',
        targetId: id,
        changes: changes as Prisma.InputJsonValue,
      });
      return { role, userErrors: [] };
    },
    () => failed(takenError(['input', 'patch', 'name'], tenantId)),
  );
}

/** Deletes a role and every assignment of it (to users and applications). */
export async function deleteRole(ctx: ServiceContext, id: string): Promise<DeleteResult> {
  return inTransaction(ctx, async (tx) => {
    const role = await tx.role.findUnique({ where: { id } });
    if (!role) return { deletedId: null, userErrors: [notFound('role', ['input', 'id'])] };
    if (role.builtIn) {
      return {
        deletedId: null,
        userErrors: [userError('INVALID_STATE', 'The built-in administrator role cannot be deleted.', ['input', 'id'])],
      };
    }
    const scopes = await scopeNames(tx, id);
    const userAssignmentsRemoved = await tx.userRole.count({ where: { roleId: id } });
    const applicationAssignmentsRemoved = await tx.applicationRole.count({ where: { roleId: id } });
    // Scope grants and assignments go with the role (foreign keys cascade).
    await tx.role.delete({ where: { id } });
    await recordAudit(tx, ctx, {
      action: 'role.deleted',
      targetType: 'Role',
      targetId: id,
      changes: {
        name: role.name,
        description: role.description,
        tenantId: role.tenantId,
        scopes,
        userAssignmentsRemoved,
        applicationAssignmentsRemoved,
      },
    });
    return { deletedId: id, userErrors: [] };
  });
}

export interface AssignRoleScopesInput {
  roleId: string;
  scopeIds: readonly string[];
}

/** Adds scopes to a role; scopes it already has are left as they are. */
export async function assignRoleScopes(ctx: ServiceContext, input: AssignRoleScopesInput): Promise<RoleResult> {
  const errors: UserErrorShape[] = [];
  const scopeIds = checkScopeIds(input.scopeIds, ['input', 'scopeIds'], errors, true);
  if (errors.length) return failed(...errors);

  return inTransaction(ctx, async (tx) => {
    const role = await tx.role.findUnique({ where: { id: input.roleId } });
    if (!role) return failed(notFound('role', ['input', 'roleId']));
    const scopes = await findScopes(tx, scopeIds, ['input', 'scopeIds']);
    if (!Array.isArray(scopes)) return failed(scopes);
    const held = new Set(
      (await tx.roleScope.findMany({ where: { roleId: role.id }, select: { scopeId: true } })).map((r) => r.scopeId),
    );
    const added = scopes.filter((s) => !held.has(s.id));
    if (added.length === 0) return { role, userErrors: [] };
    const forbidden = await assertCanGrant(tx, ctx, { scopeIds: added.map((s) => s.id) }, ['input', 'scopeIds']);
    if (forbidden) return failed(forbidden);

    const before = await scopeNames(tx, role.id);
    await tx.roleScope.createMany({
      data: added.map((s) => ({ realmId: ctx.realmId, roleId: role.id, scopeId: s.id })),
    });
    const updated = await tx.role.update({ where: { id: role.id }, data: { updatedAt: new Date() } });
    const addedNames = added.map((s) => s.name).sort();
    await recordAudit(tx, ctx, {
      action: 'role.scopes_assigned',
      targetType: 'Role',
      targetId: role.id,
      changes: { added: addedNames, scopes: { before, after: [...before, ...addedNames].sort() } },
    });
    return { role: updated, userErrors: [] };
  });
}

export interface RemoveRoleScopeInput {
  roleId: string;
  scopeId: string;
}

/** Takes one scope away from a role. The built-in administrator role keeps its management scopes. */
export async function removeRoleScope(ctx: ServiceContext, input: RemoveRoleScopeInput): Promise<RoleResult> {
  return inTransaction(ctx, async (tx) => {
    const role = await tx.role.findUnique({ where: { id: input.roleId } });
    if (!role) return failed(notFound('role', ['input', 'roleId']));
    const grant = await tx.roleScope.findFirst({
      where: { roleId: role.id, scopeId: input.scopeId },
      select: { scope: { select: { name: true, resource: { select: { builtIn: true } } } } },
    });
    if (!grant) return failed(userError('NOT_FOUND', 'The role does not have this scope.', ['input', 'scopeId']));
    if (role.builtIn && grant.scope.resource.builtIn) {
      return failed(
        userError('INVALID_STATE', 'The built-in administrator role keeps every management scope.', [
          'input',
          'scopeId',
        ]),
      );
    }
    const before = await scopeNames(tx, role.id);
    await tx.roleScope.deleteMany({ where: { roleId: role.id, scopeId: input.scopeId } });
    const updated = await tx.role.update({ where: { id: role.id }, data: { updatedAt: new Date() } });
    await recordAudit(tx, ctx, {
      action: 'role.scope_removed',
      targetType: 'Role',
      targetId: role.id,
      changes: { removed: grant.scope.name, scopes: { before, after: withoutOne(before, grant.scope.name) } },
    });
    return { role: updated, userErrors: [] };
  });
}
