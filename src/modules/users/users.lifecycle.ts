import type { RealmTx, ServiceContext } from '../../context.ts';
import type { User, UserStatus } from '../../generated/prisma/client.ts';
import { hashPassword, passwordProblem } from './users.passwords.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { isUserError, refused, userDeleted, userError, versionConflict, type UserErrorShape } from '../user-error.ts';
import {
  checkReason,
  conditionalUpdate,
  findUser,
  loadEnvironment,
  passwordContext,
  revokeSessionsOf,
  takenErrors,
  takenFromViolation,
  withLockedUser,
  type UserResult,
} from './users.core.ts';

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/**
 * The status lifecycle: the statuses `setUserStatus` may move a user to from each status.
 * Not listed: INVITED (a user can only stay invited), DELETED (deleteUser; back with
 * restoreUser). Moving to SUSPENDED suspends the user like suspendUser.
 */
export const STATUS_TRANSITIONS: Readonly<Record<UserStatus, readonly UserStatus[]>> = {
  INVITED: ['PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED'],
  PENDING_VERIFICATION: ['ACTIVE', 'INACTIVE', 'SUSPENDED'],
  ACTIVE: ['PENDING_VERIFICATION', 'INACTIVE', 'SUSPENDED'],
  INACTIVE: ['ACTIVE', 'PENDING_VERIFICATION', 'SUSPENDED'],
  SUSPENDED: ['ACTIVE', 'INACTIVE'],
  DELETED: [],
};

export function transitionMessage(from: UserStatus, to: UserStatus): string {
  if (from === 'DELETED') return 'The user is deleted; restore it with restoreUser.';
  if (to === 'DELETED') return 'Delete users with deleteUser.';
  if (to === 'INVITED') return 'Only a user that is still invited can be INVITED.';
  const allowed = STATUS_TRANSITIONS[from];
  return `A ${from} user can move to ${allowed.join(', ')}, not to ${to}.`;
}

async function suspendLocked(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  reason: string | null,
  revokeSessions: boolean,
): Promise<UserResult> {
  const now = new Date();
  const updated = await conditionalUpdate(tx, user, { status: 'SUSPENDED', suspendedReason: reason, suspendedAt: now });
  if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
  const revoked = revokeSessions ? await revokeSessionsOf(tx, [user.id], 'user_suspended', now) : [];
  await recordAudit(tx, ctx, {
    action: 'user.suspended',
    targetType: 'User',
    targetId: user.id,
    changes: { status: { before: user.status, after: 'SUSPENDED' }, reason, revokedSessionIds: revoked },
  });
  return { user: updated, userErrors: [] };
}

/**
 * Moves a user to another status along `STATUS_TRANSITIONS` (INVALID_STATE otherwise). The
 * same status is a no-op. SUSPENDED suspends (sessions revoked); leaving SUSPENDED lifts the
 * suspension.
 */
export async function setUserStatus(
  ctx: ServiceContext,
  input: { id: string; status: UserStatus; reason?: string | null },
): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const reason = checkReason(input.reason, ['input', 'reason'], errors);
  if (errors.length) return refused('user', ...errors);
  return withLockedUser(ctx, input.id, {}, async (tx, user) => {
    if (input.status === 'DELETED' || user.deletedAt) {
      return refused(
        'user',
        userError('INVALID_STATE', transitionMessage(user.status, input.status), ['input', 'status']),
      );
    }
    if (user.status === input.status) return { user, userErrors: [] };
    if (!STATUS_TRANSITIONS[user.status].includes(input.status)) {
      return refused(
        'user',
        userError('INVALID_STATE', transitionMessage(user.status, input.status), ['input', 'status']),
      );
    }
    if (input.status === 'SUSPENDED') return suspendLocked(tx, ctx, user, reason, true);
    const lifting = user.status === 'SUSPENDED';
    const updated = await conditionalUpdate(tx, user, {
      status: input.status,
      ...(lifting ? { suspendedReason: null, suspendedAt: null } : {}),
    });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: lifting ? 'user.unsuspended' : 'user.status_changed',
      targetType: 'User',
      targetId: user.id,
      changes: { status: { before: user.status, after: input.status }, ...(reason ? { reason } : {}) },
    });
    return { user: updated, userErrors: [] };
  });
}

/**
 * Suspends a user with an optional reason (≤ 500 characters). By default also revokes all its
 * active sessions and their refresh tokens in the same transaction. A suspended or deleted
 * user gets INVALID_STATE.
 */
export async function suspendUser(
  ctx: ServiceContext,
  input: { id: string; reason?: string | null; revokeSessions?: boolean | null },
): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const reason = checkReason(input.reason, ['input', 'reason'], errors);
  if (errors.length) return refused('user', ...errors);
  return withLockedUser(ctx, input.id, { live: true }, async (tx, user) => {
    if (user.status === 'SUSPENDED')
      return refused('user', userError('INVALID_STATE', 'The user is already suspended.', ['input', 'id']));
    return suspendLocked(tx, ctx, user, reason, input.revokeSessions ?? true);
  });
}

/** Lifts a suspension: SUSPENDED → ACTIVE. Any other status gets INVALID_STATE. */
export async function unsuspendUser(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  return withLockedUser(ctx, input.id, {}, async (tx, user) => {
    if (user.status !== 'SUSPENDED') {
      return refused(
        'user',
        userError('INVALID_STATE', `The user is not suspended (it is ${user.status}).`, ['input', 'id']),
      );
    }
    const updated = await conditionalUpdate(tx, user, { status: 'ACTIVE', suspendedReason: null, suspendedAt: null });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: 'user.unsuspended',
      targetType: 'User',
      targetId: user.id,
      changes: { status: { before: 'SUSPENDED', after: 'ACTIVE' }, reason: user.suspendedReason },
    });
    return { user: updated, userErrors: [] };
  });
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

/**
 * Sets a user's password (policy-checked against the realm's minimum length, common passwords
 * and the user's own identifiers; hashed with argon2id). `temporary` makes it expire at once:
 * it must be changed at the next sign-in. By default the user's sessions are revoked.
 */
export async function setUserPassword(
  ctx: ServiceContext,
  input: { id: string; password: string; temporary?: boolean | null; revokeSessions?: boolean | null },
): Promise<UserResult> {
  const field = ['input', 'password'];
  const current = await findUser(ctx.db, input.id, ['input', 'id']);
  if (isUserError(current)) return refused('user', current);
  if (current.deletedAt) return refused('user', userDeleted(['input', 'id']));
  const env = await loadEnvironment(ctx, false);
  const problem = passwordProblem(input.password, env.passwordMinLength, passwordContext(current));
  if (problem) return refused('user', userError(problem.code, problem.message, field));
  const passwordHash = await hashPassword(input.password);
  const temporary = input.temporary ?? false;
  return withLockedUser(ctx, input.id, { live: true }, async (tx, user) => {
    const now = new Date();
    const updated = await conditionalUpdate(tx, user, {
      passwordHash,
      passwordAlgorithm: 'ARGON2ID',
      passwordChangedAt: now,
      passwordExpired: temporary,
    });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    const revoked = (input.revokeSessions ?? true) ? await revokeSessionsOf(tx, [user.id], 'password_set', now) : [];
    await recordAudit(tx, ctx, {
      action: 'user.password_set',
      targetType: 'User',
      targetId: user.id,
      changes: { temporary, hadPassword: user.passwordHash !== null, revokedSessionIds: revoked },
    });
    return { user: updated, userErrors: [] };
  });
}

/** Makes the user change its password at the next sign-in. No password → INVALID_STATE. */
export async function expireUserPassword(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  return withLockedUser(ctx, input.id, { live: true }, async (tx, user) => {
    if (user.passwordHash === null)
      return refused('user', userError('INVALID_STATE', 'The user has no password to expire.', ['input', 'id']));
    if (user.passwordExpired) return { user, userErrors: [] };
    const updated = await conditionalUpdate(tx, user, { passwordExpired: true });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: 'user.password_expired',
      targetType: 'User',
      targetId: user.id,
      changes: { passwordExpired: { before: false, after: true } },
    });
    return { user: updated, userErrors: [] };
  });
}

// ---------------------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------------------

/**
 * Brings a soft-deleted user back: ACTIVE, or SUSPENDED when it was suspended when deleted.
 * TAKEN when its email or username now belongs to another user; INVALID_STATE when not deleted.
 */
export async function restoreUser(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  const field = ['input', 'id'];
  return withLockedUser(
    ctx,
    input.id,
    { field, taken: (error) => refused('user', takenFromViolation(error, field)) },
    async (tx, user) => {
      if (!user.deletedAt)
        return refused('user', userError('INVALID_STATE', `The user is not deleted (it is ${user.status}).`, field));
      const taken = await takenErrors(
        tx,
        ctx.realmId,
        { email: user.email, username: user.username },
        ['input'],
        user.id,
      );
      if (taken.length) {
        return refused(
          'user',
          ...taken.map((e) =>
            userError(
              'TAKEN',
              `While the user was deleted, another user took its ${e.field?.at(-1) === 'email' ? 'email address' : 'username'}; change that user first.`,
              field,
            ),
          ),
        );
      }
      const status: UserStatus = user.suspendedAt ? 'SUSPENDED' : 'ACTIVE';
      const updated = await conditionalUpdate(tx, user, { status, deletedAt: null });
      if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
      await recordAudit(tx, ctx, {
        action: 'user.restored',
        targetType: 'User',
        targetId: user.id,
        changes: { status: { before: 'DELETED', after: status } },
      });
      return { user: updated, userErrors: [] };
    },
  );
}
