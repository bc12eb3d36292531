import type { User } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
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
import { bumpVersion, findUser, type UserResult } from './users.core.ts';

export const USER_LINK_LIMITS = {
  /** Scope ids in one `grantUserPermissions` / `revokeUserPermissions` call. */
  scopesPerRequest: 100,
  /** Application ids in one `assignUserApplications` call. */
  applicationsPerRequest: 100,
} as const;

export interface UserScopesInput {
  userId: string;
  scopeIds: readonly string[];
}

interface ScopeRow {
  id: string;
  name: string;
  resource: { indicator: string };
}

/** How a scope is named in the audit trail: its resource's indicator and its name. */
const scopeView = (scope: ScopeRow) => ({ resource: scope.resource.indicator, scope: scope.name });

const byResourceAndName = (a: ScopeRow, b: ScopeRow) =>
  a.resource.indicator.localeCompare(b.resource.indicator) || a.name.localeCompare(b.name);

/**
 * The user (locked until the transaction ends; not deleted when `live`) and the scopes of
 * `input`, or every NOT_FOUND and limit error at once.
 */
async function checkScopeTargets(
  tx: RealmTx,
  ctx: ServiceContext,
  input: UserScopesInput,
  live: boolean,
): Promise<{ user: User; scopes: ScopeRow[] } | { errors: UserErrorShape[] }> {
  if (input.scopeIds.length > USER_LINK_LIMITS.scopesPerRequest) {
    return {
      errors: [
        userError('LIMIT_EXCEEDED', `At most ${USER_LINK_LIMITS.scopesPerRequest} scopes per request.`, [
          'input',
          'scopeIds',
        ]),
      ],
    };
  }
  const errors: UserErrorShape[] = [];
  const user = await findUser(tx, input.userId, ['input', 'userId'], { lock: { realmId: ctx.realmId } });
  if (isUserError(user)) errors.push(user);
  else if (live && user.deletedAt) errors.push(userDeleted(['input', 'userId']));
  const unique = [...new Set(input.scopeIds)];
  const found = unique.length
    ? await tx.resourceScope.findMany({
        where: { id: { in: unique } },
        select: { id: true, name: true, resource: { select: { indicator: true } } },
      })
    : [];
  const byId = new Map(found.map((scope) => [scope.id, scope]));
  input.scopeIds.forEach((id, index) => {
    if (!byId.has(id)) errors.push(notFound('scope', ['input', 'scopeIds', String(index)]));
  });
  if (errors.length || isUserError(user)) return { errors };
  return { user, scopes: unique.map((id) => byId.get(id)!) };
}

/**
 * Grants scopes to a user directly (without a role). Scopes the user already holds directly stay
 * as they are; granting only those changes nothing. The caller must hold every management scope
 * among the new ones. One `user.permissions_granted` event lists the scopes added.
 */
export async function grantUserPermissions(ctx: ServiceContext, input: UserScopesInput): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const target = await checkScopeTargets(tx, ctx, input, true);
    if ('errors' in target) return refused('user', ...target.errors);
    const { user, scopes } = target;
    const held = new Set(
      (await tx.userPermission.findMany({ where: { userId: user.id }, select: { scopeId: true } })).map(
        (p) => p.scopeId,
      ),
    );
    const added = scopes.filter((scope) => !held.has(scope.id)).sort(byResourceAndName);
    if (added.length === 0) return { user, userErrors: [] };
    const denied = await assertCanGrant(tx, ctx, { scopeIds: added.map((s) => s.id) }, ['input', 'scopeIds']);
    if (denied) return refused('user', denied);

    await tx.userPermission.createMany({
      data: added.map((scope) => ({ realmId: ctx.realmId, userId: user.id, scopeId: scope.id })),
      skipDuplicates: true,
    });
    await recordAudit(tx, ctx, {
      action: 'user.permissions_granted',
      targetType: 'User',
      targetId: user.id,
      changes: {
        added: added.map(scopeView),
        directPermissions: { before: held.size, after: held.size + added.length },
      },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/**
 * Takes direct grants of scopes away from a user; scopes the user does not hold directly are
 * skipped (revoking only those changes nothing). Scopes held through roles stay. One
 * `user.permissions_revoked` event lists the scopes removed.
 */
export async function revokeUserPermissions(ctx: ServiceContext, input: UserScopesInput): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const target = await checkScopeTargets(tx, ctx, input, false);
    if ('errors' in target) return refused('user', ...target.errors);
    const { user, scopes } = target;
    const held = new Set(
      (await tx.userPermission.findMany({ where: { userId: user.id }, select: { scopeId: true } })).map(
        (p) => p.scopeId,
      ),
    );
    const removed = scopes.filter((scope) => held.has(scope.id)).sort(byResourceAndName);
    if (removed.length === 0) return { user, userErrors: [] };

    await tx.userPermission.deleteMany({ where: { userId: user.id, scopeId: { in: removed.map((s) => s.id) } } });
    await recordAudit(tx, ctx, {
      action: 'user.permissions_revoked',
      targetType: 'User',
      targetId: user.id,
      changes: {
        removed: removed.map(scopeView),
        directPermissions: { before: held.size, after: held.size - removed.length },
      },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

export interface UserApplicationsInput {
  userId: string;
  applicationIds: readonly string[];
}

/**
 * Records applications as the user's (`User.applications`, `UserFilter.applicationIds`), as a
 * first sign-in to them does; already recorded ones stay as they are. Machine-to-machine
 * applications are refused: no person signs in to them. One `user.applications_assigned` event.
 */
export async function assignUserApplications(ctx: ServiceContext, input: UserApplicationsInput): Promise<UserResult> {
  if (input.applicationIds.length > USER_LINK_LIMITS.applicationsPerRequest) {
    return refused(
      'user',
      userError('LIMIT_EXCEEDED', `At most ${USER_LINK_LIMITS.applicationsPerRequest} applications per request.`, [
        'input',
        'applicationIds',
      ]),
    );
  }
  return inTransaction(ctx, async (tx) => {
    const errors: UserErrorShape[] = [];
    const user = await findUser(tx, input.userId, ['input', 'userId'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) errors.push(user);
    else if (user.deletedAt) errors.push(userDeleted(['input', 'userId']));
    const unique = [...new Set(input.applicationIds)];
    const found = unique.length
      ? await tx.application.findMany({
          where: { id: { in: unique } },
          select: { id: true, name: true, clientId: true, type: true },
        })
      : [];
    const byId = new Map(found.map((application) => [application.id, application]));
    input.applicationIds.forEach((id, index) => {
      const application = byId.get(id);
      const field = ['input', 'applicationIds', String(index)];
      if (!application) errors.push(notFound('application', field));
      else if (application.type === 'M2M') {
        errors.push(
          userError('INVALID', 'This is a machine-to-machine application: people do not sign in to it.', field),
        );
      }
    });
    if (errors.length || isUserError(user)) return refused('user', ...errors);

    const recorded = new Set(
      (
        await tx.userApplication.findMany({
          where: { userId: user.id, applicationId: { in: unique } },
          select: { applicationId: true },
        })
      ).map((row) => row.applicationId),
    );
    const added = unique.filter((id) => !recorded.has(id)).map((id) => byId.get(id)!);
    if (added.length === 0) return { user, userErrors: [] };
    // A sign-in to one of them may record it meanwhile (it does not lock the user): skip those.
    await tx.userApplication.createMany({
      data: added.map((application) => ({ realmId: ctx.realmId, userId: user.id, applicationId: application.id })),
      skipDuplicates: true,
    });
    await recordAudit(tx, ctx, {
      action: 'user.applications_assigned',
      targetType: 'User',
      targetId: user.id,
      changes: {
        added: added
          .map((application) => ({
            applicationId: application.id,
            name: application.name,
            clientId: application.clientId,
          }))
          .sort((a, b) => a.clientId.localeCompare(b.clientId)),
      },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/**
 * Removes an application from the user's (`User.applications`); NOT_FOUND when it is not
 * there. It restricts nothing: the user's next sign-in to the application records it again.
 */
export async function removeUserApplication(
  ctx: ServiceContext,
  input: { userId: string; applicationId: string },
): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const errors: UserErrorShape[] = [];
    const user = await findUser(tx, input.userId, ['input', 'userId'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) errors.push(user);
    const application = await tx.application.findUnique({
      where: { id: input.applicationId },
      select: { id: true, name: true, clientId: true },
    });
    if (!application) errors.push(notFound('application', ['input', 'applicationId']));
    if (errors.length || isUserError(user) || !application) return refused('user', ...errors);

    const row = await tx.userApplication.findFirst({
      where: { userId: user.id, applicationId: application.id },
      select: { createdAt: true, lastUsedAt: true },
    });
    if (!row) {
      return refused(
        'user',
        userError('NOT_FOUND', 'The user does not have this application.', ['input', 'applicationId']),
      );
    }
    await tx.userApplication.deleteMany({ where: { userId: user.id, applicationId: application.id } });
    await recordAudit(tx, ctx, {
      action: 'user.application_removed',
      targetType: 'User',
      targetId: user.id,
      changes: {
        applicationId: application.id,
        name: application.name,
        clientId: application.clientId,
        since: row.createdAt.toISOString(),
        lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
      },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}
