import type { Prisma, User } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AuditAction } from '../audit/audit.actions.ts';
import { refused, userError, versionConflict, type UserErrorShape } from '../user-error.ts';
import {
  checkMergedMetadata,
  mergeJson,
  validateProfile,
  type ProfileData,
  type ProfileInput,
} from './users.validation.ts';
import {
  conditionalUpdate,
  CREDENTIAL_KEYS,
  loadEnvironment,
  needsAttributes,
  profileChanges,
  takenErrors,
  takenFromViolation,
  writeAccess,
  type ProfileKey,
  type ProfileRow,
  type UniqueValues,
  withLockedUser,
  type UserResult,
} from './users.core.ts';
import { checkPrepared, fullProfile, hashCredentials, prepareUser, type CreateUserInput } from './users.create.ts';
import { STATUS_TRANSITIONS, transitionMessage } from './users.lifecycle.ts';
import { sendVerificationLink } from './users.messages.ts';

/** The profile fields of `updateUser`; omitted = unchanged, null = cleared. */
export type UserPatch = ProfileInput;

function auditAction(
  changes: Record<string, unknown>,
  otherwise: 'user.updated' | 'user.replaced',
): { action: AuditAction; credentials: string[] } {
  const credentials = CREDENTIAL_KEYS.filter((key) => key in changes);
  return { action: credentials.length ? 'user.credentials_changed' : otherwise, credentials };
}

/**
 * Changes the given profile fields of a user (omitted fields are kept, null clears, JSON fields
 * are merged key by key). `expectedVersion` makes it conditional: VERSION_CONFLICT when the
 * user changed since. A new email resets `emailVerified` (a new phone `phoneVerified`) unless
 * the patch sets it. Audited as `user.updated`, or `user.credentials_changed` when the email,
 * phone or username changed (the changes then list them under `credentials`). In a realm that
 * requires verification, a new unverified address gets a verification email.
 */
export async function updateUser(
  ctx: ServiceContext,
  input: { id: string; expectedVersion?: number | null; patch: UserPatch },
): Promise<UserResult> {
  const env = await loadEnvironment(ctx, needsAttributes([input.patch]));
  const errors: UserErrorShape[] = [];
  const path = ['input', 'patch'];
  const data = validateProfile(input.patch, path, env, errors);
  if (errors.length) return refused('user', ...errors);
  return withLockedUser(
    ctx,
    input.id,
    {
      expectedVersion: input.expectedVersion,
      live: true,
      taken: (error) => refused('user', takenFromViolation(error, path)),
    },
    async (tx, user) => {
      const result = await applyPatch(tx, ctx, user, data, path);
      const updated = result.user;
      const newEmail = updated?.email && updated.email.toLowerCase() !== (user.email ?? '').toLowerCase();
      // Roster's own contexts (seeding, the CLI) have no outbox key: they send nothing.
      if (
        env.requireEmailVerification &&
        newEmail &&
        !updated.emailVerified &&
        (updated.status === 'ACTIVE' || updated.status === 'PENDING_VERIFICATION') &&
        ctx.outboxKey &&
        ctx.publicUrl
      ) {
        await sendVerificationLink(tx, ctx, updated, ctx.publicUrl);
      }
      return result;
    },
  );
}

/**
 * Applies validated profile changes to a user locked in `tx`, with the rules of `updateUser`.
 * Nothing to change: the user as it is, no audit event. Refusals point below `path`.
 */
export async function applyPatch(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  data: ProfileData,
  path: string[],
): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const { customAttributes, metadata, ...columns } = data;
  const after: ProfileRow = { ...user, ...columns };
  if (customAttributes !== undefined)
    after.customAttributes = mergeJson(user.customAttributes as Record<string, unknown>, customAttributes);
  if (metadata !== undefined) {
    after.metadata = mergeJson(user.metadata as Record<string, unknown>, metadata);
    const tooLarge = checkMergedMetadata(after.metadata as Record<string, unknown>, [...path, 'metadata']);
    if (tooLarge) errors.push(tooLarge);
  }
  if (!after.email && !after.phone) {
    errors.push(
      userError('REQUIRED', 'A user needs an email address or a phone number; this change would remove both.', [
        ...path,
        data.email === null ? 'email' : 'phone',
      ]),
    );
  }
  if (
    data.email !== undefined &&
    (user.email ?? '').toLowerCase() !== (data.email ?? '').toLowerCase() &&
    data.emailVerified === undefined
  ) {
    after.emailVerified = false;
  }
  if (data.phone !== undefined && user.phone !== data.phone && data.phoneVerified === undefined)
    after.phoneVerified = false;
  const changes = profileChanges(user, after);
  const changed = (key: keyof UniqueValues) => (key in changes ? (after[key] as string | null) : null);
  errors.push(
    ...(await takenErrors(
      tx,
      ctx.realmId,
      { email: changed('email'), username: changed('username'), uniqueId: changed('uniqueId') },
      path,
      user.id,
    )),
  );
  if (errors.length) return refused('user', ...errors);
  if (Object.keys(changes).length === 0) return { user, userErrors: [] };

  const updated = await conditionalUpdate(
    tx,
    user,
    Object.fromEntries(Object.keys(changes).map((key) => [key, after[key as ProfileKey]])),
  );
  if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
  const { action, credentials } = auditAction(changes, 'user.updated');
  await recordAudit(tx, ctx, {
    action,
    targetType: 'User',
    targetId: user.id,
    changes: { ...changes, ...(credentials.length ? { credentials } : {}) },
  });
  return { user: updated, userErrors: [] };
}

/**
 * Overwrites a user's whole profile with `user`: fields not given are cleared. Status follows
 * the transition table (suspension only through suspendUser/unsuspendUser). Roles and tenants
 * are replaced when given, kept when omitted; the password is replaced when `password` or
 * `passwordHash` is given, kept otherwise. Audited once as `user.replaced` (or
 * `user.credentials_changed` when email, phone or username changed).
 */
export async function replaceUser(
  ctx: ServiceContext,
  input: { id: string; expectedVersion?: number | null; user: CreateUserInput },
): Promise<UserResult> {
  const env = await loadEnvironment(ctx, needsAttributes([input.user]));
  const errors: UserErrorShape[] = [];
  const path = ['input', 'user'];
  const prepared = prepareUser(input.user, env, path, errors, 'replace');
  const profile = fullProfile(prepared.data);
  if (errors.length) return refused('user', ...errors);
  const hashed = await hashCredentials(prepared.credentials);
  return withLockedUser(
    ctx,
    input.id,
    {
      expectedVersion: input.expectedVersion,
      live: true,
      taken: (error) => refused('user', takenFromViolation(error, path)),
    },
    async (tx, user) => {
      const status = prepared.status;
      if (status !== user.status) {
        const suspension = status === 'SUSPENDED' || user.status === 'SUSPENDED';
        if (suspension || !STATUS_TRANSITIONS[user.status].includes(status)) {
          errors.push(
            userError(
              'INVALID_STATE',
              !suspension
                ? transitionMessage(user.status, status)
                : user.status === 'SUSPENDED'
                  ? 'The user is suspended: pass status SUSPENDED to keep it so, or lift the suspension with unsuspendUser.'
                  : 'Suspend users with suspendUser, which records a reason and revokes their sessions.',
              [...path, 'status'],
            ),
          );
        }
      }
      const [currentRoles, currentTenants] = await Promise.all([
        tx.userRole.findMany({
          where: { userId: user.id },
          select: { roleId: true, tenantId: true, role: { select: { name: true } } },
        }),
        tx.tenantMembership.findMany({
          where: { userId: user.id },
          select: { tenantId: true, tenant: { select: { slug: true } } },
        }),
      ]);
      const access = await checkPrepared(tx, ctx, prepared, errors, {
        id: user.id,
        tenantIds: currentTenants.map((m) => m.tenantId),
        grantedRoles: new Set(currentRoles.map((r) => r.roleId)),
      });
      if (errors.length) return refused('user', ...errors);

      const changes: Record<string, unknown> = profileChanges(user, profile);
      if (status !== user.status) changes.status = { before: user.status, after: status };
      if (prepared.tenantIds !== null) {
        const wanted = new Set(access.tenants.map((t) => t.id));
        const removed = currentTenants.filter((m) => !wanted.has(m.tenantId)).map((m) => m.tenantId);
        const added = access.tenants.filter((t) => !currentTenants.some((m) => m.tenantId === t.id));
        // Removing a membership also removes the role assignments inside that tenant (cascade).
        if (removed.length)
          await tx.tenantMembership.deleteMany({ where: { userId: user.id, tenantId: { in: removed } } });
        await writeAccess(tx, ctx.realmId, user.id, [], added);
        const before = currentTenants.map((m) => m.tenant.slug).sort();
        const after = access.tenants.map((t) => t.slug).sort();
        if (JSON.stringify(before) !== JSON.stringify(after)) changes.tenants = { before, after };
      }
      if (prepared.roleIds !== null) {
        await tx.userRole.deleteMany({ where: { userId: user.id } });
        await writeAccess(tx, ctx.realmId, user.id, access.roles, []);
        const before = currentRoles.map((r) => r.role.name).sort();
        const after = access.roles.map((r) => r.name).sort();
        if (JSON.stringify(before) !== JSON.stringify(after)) changes.roles = { before, after };
      }
      if (hashed) {
        changes.password =
          prepared.credentials && 'hash' in prepared.credentials
            ? { set: true, imported: hashed.passwordAlgorithm }
            : { set: true };
      }

      const updated = await conditionalUpdate(tx, user, {
        ...(profile as Prisma.UserUpdateManyMutationInput),
        status,
        ...(hashed ? { ...hashed, passwordChangedAt: new Date(), passwordExpired: false } : {}),
      });
      if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
      const { action, credentials } = auditAction(changes, 'user.replaced');
      await recordAudit(tx, ctx, {
        action,
        targetType: 'User',
        targetId: user.id,
        changes: {
          ...(changes as Prisma.InputJsonObject),
          replaced: true,
          ...(credentials.length ? { credentials } : {}),
        },
      });
      return { user: updated, userErrors: [] };
    },
  );
}
