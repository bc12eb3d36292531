import type { Application, ApplicationType, Prisma } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { generateClientId, generateClientSecret, hashClientSecret } from './applications.credentials.ts';
import type { RawSqlClient } from '../../db/realm-sql.ts';
import { applicationScopeRows, lockRole } from './applications.queries.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { managementAdminRole } from '../realm/realm.service.ts';
import { assertCanGrant } from '../roles/roles.grants.ts';
import {
  inTransaction,
  notFound,
  refused,
  userError,
  type DeleteResult,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';
import { checkName } from '../input-checks.ts';

/** Whether applications of this type authenticate with a client secret (confidential clients). */
function hasClientSecret(type: ApplicationType): boolean {
  return type === 'M2M' || type === 'WEB';
}

/** A scope an application's roles grant, with what tells it apart from same-named scopes of other resources. */
export interface GrantedScope {
  scopeId: string;
  name: string;
  /** Whether it is a scope of the Roster Management API (what access tokens can carry). */
  management: boolean;
}

/**
 * The scopes each application's roles grant, each once, sorted by resource indicator then
 * name, in one statement for any number of applications.
 */
export async function effectiveScopes(
  db: RawSqlClient,
  realmId: string,
  applicationIds: readonly string[],
): Promise<Map<string, GrantedScope[]>> {
  const rows = await applicationScopeRows(db, realmId, applicationIds);
  const byApplication = new Map<string, GrantedScope[]>();
  for (const row of rows) {
    const list = byApplication.get(row.applicationId) ?? [];
    list.push({ scopeId: row.scopeId, name: row.name, management: row.management });
    byApplication.set(row.applicationId, list);
  }
  return byApplication;
}

/** Any client or transaction (realm-scoped or not) that can write applications. */
export interface ApplicationWriter {
  application: { create(args: { data: Prisma.ApplicationUncheckedCreateInput }): PromiseLike<Application> };
  applicationSecret: { create(args: { data: Prisma.ApplicationSecretUncheckedCreateInput }): PromiseLike<unknown> };
  applicationRole: { createMany(args: { data: Prisma.ApplicationRoleCreateManyInput[] }): PromiseLike<unknown> };
}

/** Creates an application with a fresh (or given) client id and secret, and its roles. */
export async function createApplicationRecord(
  tx: ApplicationWriter,
  input: {
    realmId: string;
    name: string;
    type: ApplicationType;
    roleIds?: string[];
    redirectUris?: string[];
    postLogoutRedirectUris?: string[];
    builtIn?: boolean;
    clientId?: string;
    clientSecret?: string;
  },
) {
  const clientId = input.clientId ?? generateClientId();
  const clientSecret = hasClientSecret(input.type) ? (input.clientSecret ?? generateClientSecret()) : null;
  const application = await tx.application.create({
    data: {
      realmId: input.realmId,
      name: input.name,
      type: input.type,
      clientId,
      redirectUris: input.redirectUris ?? [],
      postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
      builtIn: input.builtIn ?? false,
      secretLastRotatedAt: clientSecret ? new Date() : null,
    },
  });
  if (clientSecret) {
    await tx.applicationSecret.create({
      data: { realmId: input.realmId, applicationId: application.id, secretHash: hashClientSecret(clientSecret) },
    });
  }
  if (input.roleIds?.length) {
    await tx.applicationRole.createMany({
      data: input.roleIds.map((roleId) => ({ realmId: input.realmId, applicationId: application.id, roleId })),
    });
  }
  return { application, clientSecret };
}

export const APPLICATION_LIMITS = {
  redirectUris: 20,
  redirectUriLength: 2048,
  rolesPerRequest: 100,
  /** Longest window in which a rotated-out secret keeps working: 7 days. */
  previousSecretValidForSeconds: 7 * 24 * 60 * 60,
} as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks redirect URIs: absolute, `https` (plain `http` only on a loopback host), no
 * fragment, no user info, no duplicates, at most 20; required for browser and native
 * clients, refused for M2M clients (which never redirect).
 */
export function redirectUriErrors(
  type: ApplicationType,
  uris: readonly string[],
  field: string[],
  kind: 'redirect' | 'post-logout redirect' = 'redirect',
): UserErrorShape[] {
  if (type === 'M2M') {
    return uris.length ? [userError('INVALID', `Machine-to-machine applications have no ${kind} URIs.`, field)] : [];
  }
  if (uris.length === 0) {
    return kind === 'redirect'
      ? [userError('REQUIRED', `${type} applications need at least one redirect URI.`, field)]
      : [];
  }
  if (uris.length > APPLICATION_LIMITS.redirectUris) {
    return [userError('LIMIT_EXCEEDED', `At most ${APPLICATION_LIMITS.redirectUris} ${kind} URIs are allowed.`, field)];
  }
  const errors: UserErrorShape[] = [];
  const seen = new Set<string>();
  uris.forEach((uri, index) => {
    const at = [...field, String(index)];
    const url = URL.canParse(uri) ? new URL(uri) : null;
    if (uri.length > APPLICATION_LIMITS.redirectUriLength) {
      errors.push(
        userError(
          'TOO_LONG',
          `A ${kind} URI must be at most ${APPLICATION_LIMITS.redirectUriLength} characters long.`,
          at,
        ),
      );
    } else if (!url) {
      errors.push(userError('INVALID', `A ${kind} URI must be an absolute URI.`, at));
    } else if (uri.includes('#')) {
      errors.push(userError('INVALID', `A ${kind} URI must not contain a fragment.`, at));
    } else if (url.username || url.password) {
      errors.push(userError('INVALID', `A ${kind} URI must not contain user credentials.`, at));
    } else if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      errors.push(
        userError(
          'INVALID',
          `A ${kind} URI must use https (http is allowed only for 127.0.0.1, [::1] and localhost).`,
          at,
        ),
      );
    } else if (seen.has(url.href)) {
      errors.push(userError('INVALID', `This ${kind} URI is listed twice.`, at));
    }
    if (url) seen.add(url.href);
  });
  return errors;
}

/** `input → Prisma where` of the `applications` list. */
export function applicationListWhere(
  filter: { search?: string | null; types?: ApplicationType[] | null } | null | undefined,
): Prisma.ApplicationWhereInput {
  const where: Prisma.ApplicationWhereInput[] = [];
  const search = filter?.search?.trim();
  if (search) where.push({ OR: [{ name: { contains: search, mode: 'insensitive' } }, { clientId: search }] });
  if (filter?.types?.length) where.push({ type: { in: filter.types } });
  return where.length ? { AND: where } : {};
}

/**
 * Roles that can be given to an application: realm-wide roles of this realm. Unknown ids
 * (including other realms' ids) are NOT_FOUND; the caller must hold every management scope
 * the roles carry (FORBIDDEN_GRANT).
 */
async function checkGrantableRoles(
  tx: RealmTx,
  ctx: ServiceContext,
  roleIds: readonly string[],
  field: string[],
): Promise<{ roles: { id: string; name: string }[]; errors: UserErrorShape[] }> {
  if (roleIds.length > APPLICATION_LIMITS.rolesPerRequest) {
    return {
      roles: [],
      errors: [userError('LIMIT_EXCEEDED', `At most ${APPLICATION_LIMITS.rolesPerRequest} roles per request.`, field)],
    };
  }
  const unique = [...new Set(roleIds)];
  const found = await tx.role.findMany({
    where: { id: { in: unique } },
    select: { id: true, name: true, tenantId: true },
  });
  const byId = new Map(found.map((role) => [role.id, role]));
  const errors: UserErrorShape[] = [];
  roleIds.forEach((id, index) => {
    const role = byId.get(id);
    if (!role) errors.push(notFound('role', [...field, String(index)]));
    else if (role.tenantId) {
      errors.push(
        userError('INVALID', 'Roles defined by a tenant cannot be given to applications.', [...field, String(index)]),
      );
    }
  });
  if (errors.length) return { roles: [], errors };
  const denied = await assertCanGrant(tx, ctx, { roleIds: unique }, field);
  if (denied) return { roles: [], errors: [denied] };
  return { roles: unique.map((id) => ({ id, name: byId.get(id)!.name })), errors: [] };
}

/** The names of an application's roles, sorted. */
async function roleNamesOf(tx: RealmTx, applicationId: string): Promise<string[]> {
  const rows = await tx.applicationRole.findMany({
    where: { applicationId },
    select: { role: { select: { name: true } } },
  });
  return rows.map((row) => row.role.name).sort();
}

/**
 * Whether taking `roleId` (or, without it, every role) from `applicationId` would leave no
 * enabled application holding the built-in admin role. Locks the admin role row first, so two
 * concurrent removals cannot both pass the check.
 */
async function wouldRemoveLastAdmin(
  tx: RealmTx,
  realmId: string,
  applicationId: string,
  roleId?: string,
): Promise<boolean> {
  const admin = await managementAdminRole(tx);
  if (roleId !== undefined && roleId !== admin.id) return false;
  await lockRole(tx, realmId, admin.id);
  const holders = await tx.applicationRole.findMany({
    where: { roleId: admin.id, application: { disabledAt: null } },
    select: { applicationId: true },
  });
  return holders.length === 1 && holders[0]!.applicationId === applicationId;
}

const LAST_ADMIN_MESSAGE =
  'This application is the last one holding the built-in admin role; give the role to another application first.';

export interface CreateApplicationInput {
  name: string;
  type: ApplicationType;
  redirectUris?: readonly string[] | null;
  postLogoutRedirectUris?: readonly string[] | null;
  roleIds?: readonly string[] | null;
}

/**
 * Creates an application with a generated client id; confidential clients (M2M, WEB) get a
 * client secret, returned here once and stored only as a hash.
 */
export async function createApplication(
  ctx: ServiceContext,
  input: CreateApplicationInput,
): Promise<MutationResult<'application', Application> & { clientSecret: string | null }> {
  const errors: UserErrorShape[] = [];
  const name = checkName(input.name, ['input', 'name'], errors);
  const redirectUris = input.redirectUris ?? [];
  errors.push(...redirectUriErrors(input.type, redirectUris, ['input', 'redirectUris']));
  const postLogoutRedirectUris = input.postLogoutRedirectUris ?? [];
  errors.push(
    ...redirectUriErrors(
      input.type,
      postLogoutRedirectUris,
      ['input', 'postLogoutRedirectUris'],
      'post-logout redirect',
    ),
  );
  if (errors.length) return { ...refused('application', ...errors), clientSecret: null };

  return inTransaction(ctx, async (tx) => {
    const grant = await checkGrantableRoles(tx, ctx, input.roleIds ?? [], ['input', 'roleIds']);
    if (grant.errors.length) return { ...refused('application', ...grant.errors), clientSecret: null };
    const { application, clientSecret } = await createApplicationRecord(tx, {
      realmId: ctx.realmId,
      name,
      type: input.type,
      redirectUris: redirectUris.map((uri) => new URL(uri).href),
      postLogoutRedirectUris: postLogoutRedirectUris.map((uri) => new URL(uri).href),
      roleIds: grant.roles.map((role) => role.id),
    });
    await recordAudit(tx, ctx, {
      action: 'application.created',
      targetType: 'Application',
      targetId: application.id,
      changes: {
        name: application.name,
        type: application.type,
        clientId: application.clientId,
        redirectUris: application.redirectUris,
        postLogoutRedirectUris: application.postLogoutRedirectUris,
        roles: grant.roles.map((role) => role.name).sort(),
      },
    });
    return { application, clientSecret, userErrors: [] };
  });
}

export interface ApplicationPatch {
  name?: string | null;
  redirectUris?: readonly string[] | null;
  postLogoutRedirectUris?: readonly string[] | null;
  enabled?: boolean | null;
}

/**
 * Renames an application, replaces its (post-logout) redirect URIs, or disables or enables it;
 * omitted fields stay as they are.
 */
export async function updateApplication(
  ctx: ServiceContext,
  input: { id: string; patch: ApplicationPatch },
): Promise<MutationResult<'application', Application>> {
  const { patch } = input;
  const errors: UserErrorShape[] = [];
  const nameField = ['input', 'patch', 'name'];
  if (patch.name === null) errors.push(userError('REQUIRED', 'The name cannot be cleared.', nameField));
  const name = patch.name == null ? undefined : checkName(patch.name, nameField, errors);
  const enabledField = ['input', 'patch', 'enabled'];
  if (patch.enabled === null) errors.push(userError('REQUIRED', 'enabled must be true or false.', enabledField));
  if (errors.length) return refused('application', ...errors);

  return inTransaction(ctx, async (tx) => {
    const before = await tx.application.findUnique({ where: { id: input.id } });
    if (!before) return refused('application', notFound('application', ['input', 'id']));
    const data: { name?: string; redirectUris?: string[]; postLogoutRedirectUris?: string[] } = {};
    if (name !== undefined) data.name = name;
    if (patch.redirectUris !== undefined) {
      const uris = patch.redirectUris ?? [];
      const errors = redirectUriErrors(before.type, uris, ['input', 'patch', 'redirectUris']);
      if (errors.length) return refused('application', ...errors);
      data.redirectUris = uris.map((uri) => new URL(uri).href);
    }
    if (patch.postLogoutRedirectUris !== undefined) {
      const uris = patch.postLogoutRedirectUris ?? [];
      const field = ['input', 'patch', 'postLogoutRedirectUris'];
      const errors = redirectUriErrors(before.type, uris, field, 'post-logout redirect');
      if (errors.length) return refused('application', ...errors);
      data.postLogoutRedirectUris = uris.map((uri) => new URL(uri).href);
    }
    const changes: Record<string, { before: unknown; after: unknown }> = diffFields(before, data);
    const wasEnabled = before.disabledAt === null;
    if (patch.enabled != null && patch.enabled !== wasEnabled) {
      if (!patch.enabled && (await wouldRemoveLastAdmin(tx, ctx.realmId, before.id))) {
        const message =
          'This application is the last enabled one holding the built-in admin role; give the role to another application first.';
        return refused('application', userError('INVALID_STATE', message, enabledField));
      }
      changes.enabled = { before: wasEnabled, after: patch.enabled };
    }
    if (Object.keys(changes).length === 0) return { application: before, userErrors: [] };
    const disabledAt = changes.enabled ? { disabledAt: patch.enabled ? null : new Date() } : {};
    const application = await tx.application.update({ where: { id: before.id }, data: { ...data, ...disabledAt } });
    await recordAudit(tx, ctx, {
      action: 'application.updated',
      targetType: 'Application',
      targetId: application.id,
      changes: changes as Prisma.InputJsonValue,
    });
    return { application, userErrors: [] };
  });
}

/**
 * Deletes an application with its secrets and role grants; its access tokens are refused
 * from the next request on. The last application holding the admin role cannot be deleted.
 */
export async function deleteApplication(ctx: ServiceContext, id: string): Promise<DeleteResult> {
  return inTransaction(ctx, async (tx) => {
    const application = await tx.application.findUnique({ where: { id } });
    if (!application) return refused('deletedId', notFound('application', ['input', 'id']));
    if (await wouldRemoveLastAdmin(tx, ctx.realmId, id))
      return refused('deletedId', userError('INVALID_STATE', LAST_ADMIN_MESSAGE, ['input', 'id']));
    const roles = await roleNamesOf(tx, id);
    await tx.application.delete({ where: { id } });
    await recordAudit(tx, ctx, {
      action: 'application.deleted',
      targetType: 'Application',
      targetId: id,
      changes: { name: application.name, type: application.type, clientId: application.clientId, roles },
    });
    return { deletedId: id, userErrors: [] };
  });
}

/**
 * Replaces the client secret of a confidential application. Every older secret stays valid
 * for at most `previousSecretValidForSeconds` (0 to 7 days; 0 revokes them at once).
 */
export async function rotateApplicationSecret(
  ctx: ServiceContext,
  input: { id: string; previousSecretValidForSeconds?: number | null },
): Promise<MutationResult<'application', Application> & { clientSecret: string | null }> {
  const window = input.previousSecretValidForSeconds ?? 0;
  if (!Number.isInteger(window) || window < 0 || window > APPLICATION_LIMITS.previousSecretValidForSeconds) {
    const error = userError(
      'INVALID',
      `previousSecretValidForSeconds must be between 0 and ${APPLICATION_LIMITS.previousSecretValidForSeconds} (7 days).`,
      ['input', 'previousSecretValidForSeconds'],
    );
    return { ...refused('application', error), clientSecret: null };
  }

  return inTransaction(ctx, async (tx) => {
    const before = await tx.application.findUnique({ where: { id: input.id } });
    if (!before) {
      const error = notFound('application', ['input', 'id']);
      return { ...refused('application', error), clientSecret: null };
    }
    if (!hasClientSecret(before.type)) {
      const error = userError(
        'INVALID_STATE',
        `${before.type} applications are public clients and have no secret to rotate.`,
        ['input', 'id'],
      );
      return { ...refused('application', error), clientSecret: null };
    }
    const now = new Date();
    const previousSecretExpiresAt = window > 0 ? new Date(now.getTime() + window * 1000) : null;
    if (previousSecretExpiresAt) {
      await tx.applicationSecret.deleteMany({ where: { applicationId: before.id, expiresAt: { lte: now } } });
      await tx.applicationSecret.updateMany({
        where: { applicationId: before.id, OR: [{ expiresAt: null }, { expiresAt: { gt: previousSecretExpiresAt } }] },
        data: { expiresAt: previousSecretExpiresAt },
      });
    } else {
      await tx.applicationSecret.deleteMany({ where: { applicationId: before.id } });
    }
    const clientSecret = generateClientSecret();
    await tx.applicationSecret.create({
      data: { realmId: ctx.realmId, applicationId: before.id, secretHash: hashClientSecret(clientSecret) },
    });
    const application = await tx.application.update({ where: { id: before.id }, data: { secretLastRotatedAt: now } });
    await recordAudit(tx, ctx, {
      action: 'application.secret_rotated',
      targetType: 'Application',
      targetId: application.id,
      changes: {
        secretLastRotatedAt: { before: before.secretLastRotatedAt?.toISOString() ?? null, after: now.toISOString() },
        previousSecretValidForSeconds: window,
        previousSecretExpiresAt: previousSecretExpiresAt?.toISOString() ?? null,
      },
    });
    return { application, clientSecret, userErrors: [] };
  });
}

/** Gives roles to an application; roles it already holds are kept as they are. */
export async function assignApplicationRoles(
  ctx: ServiceContext,
  input: { applicationId: string; roleIds: readonly string[] },
): Promise<MutationResult<'application', Application>> {
  return inTransaction(ctx, async (tx) => {
    const application = await tx.application.findUnique({ where: { id: input.applicationId } });
    if (!application) {
      return refused('application', notFound('application', ['input', 'applicationId']));
    }
    const grant = await checkGrantableRoles(tx, ctx, input.roleIds, ['input', 'roleIds']);
    if (grant.errors.length) return refused('application', ...grant.errors);
    const before = await roleNamesOf(tx, application.id);
    const added = await tx.applicationRole.createMany({
      data: grant.roles.map((role) => ({ realmId: ctx.realmId, applicationId: application.id, roleId: role.id })),
      skipDuplicates: true,
    });
    if (added.count === 0) return { application, userErrors: [] };
    const after = [...before, ...grant.roles.map((role) => role.name).filter((name) => !before.includes(name))].sort();
    await recordAudit(tx, ctx, {
      action: 'application.roles_assigned',
      targetType: 'Application',
      targetId: application.id,
      changes: { roles: { before, after } },
    });
    return { application, userErrors: [] };
  });
}

/** Takes a role from an application. The last application holding the admin role keeps it. */
export async function removeApplicationRole(
  ctx: ServiceContext,
  input: { applicationId: string; roleId: string },
): Promise<MutationResult<'application', Application>> {
  return inTransaction(ctx, async (tx) => {
    const application = await tx.application.findUnique({ where: { id: input.applicationId } });
    if (!application) {
      return refused('application', notFound('application', ['input', 'applicationId']));
    }
    const role = await tx.role.findUnique({ where: { id: input.roleId }, select: { id: true, name: true } });
    if (!role) return refused('application', notFound('role', ['input', 'roleId']));
    const held = await tx.applicationRole.count({ where: { applicationId: application.id, roleId: role.id } });
    if (!held)
      return refused(
        'application',
        userError('NOT_FOUND', 'The application does not hold this role.', ['input', 'roleId']),
      );
    if (await wouldRemoveLastAdmin(tx, ctx.realmId, application.id, role.id)) {
      return refused('application', userError('INVALID_STATE', LAST_ADMIN_MESSAGE, ['input', 'roleId']));
    }
    const before = await roleNamesOf(tx, application.id);
    await tx.applicationRole.deleteMany({ where: { applicationId: application.id, roleId: role.id } });
    await recordAudit(tx, ctx, {
      action: 'application.role_removed',
      targetType: 'Application',
      targetId: application.id,
      changes: { roles: { before, after: before.filter((name) => name !== role.name) } },
    });
    return { application, userErrors: [] };
  });
}
