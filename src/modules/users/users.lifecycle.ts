import type { RealmTx, ServiceContext } from '../../context.ts';
import type { User, UserStatus } from '../../generated/prisma/client.ts';
import { hashPassword, newPasswordColumns, passwordProblem } from './users.passwords.ts';
import { recordAudit, type AuditInput } from '../audit/audit.service.ts';
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

type StatusOf = Pick<User, 'status' | 'deletedAt'>;

/**
 * What moving `user` to `to` means under the status lifecycle: refused (INVALID_STATE with
 * `message`), nothing (the same status), a suspension, the lifting of one, or another change.
 */
export type StatusMove =
  { kind: 'refused'; message: string } | { kind: 'same' } | { kind: 'suspend' } | { kind: 'lift' } | { kind: 'change' };

export function statusMove(user: StatusOf, to: UserStatus): StatusMove {
  if (to === 'DELETED' || user.deletedAt) return { kind: 'refused', message: transitionMessage(user.status, to) };
  if (user.status === to) return { kind: 'same' };
  if (!STATUS_TRANSITIONS[user.status].includes(to))
    return { kind: 'refused', message: transitionMessage(user.status, to) };
  if (to === 'SUSPENDED') return { kind: 'suspend' };
  return { kind: user.status === 'SUSPENDED' ? 'lift' : 'change' };
}

/** Why `suspendUser` leaves a user as it is: deleted, or already suspended; null when it suspends it. */
export function suspendRefusal(user: StatusOf): 'deleted' | 'already_suspended' | null {
  if (user.deletedAt) return 'deleted';
  return user.status === 'SUSPENDED' ? 'already_suspended' : null;
}

/** The columns a suspension sets. */
export const suspensionData = (reason: string | null, now: Date) =>
  ({ status: 'SUSPENDED', suspendedReason: reason, suspendedAt: now }) as const;

/** The columns a move to `status` sets, lifting the suspension when the user leaves SUSPENDED. */
export const statusData = (user: StatusOf, status: UserStatus) =>
  user.status === 'SUSPENDED' ? { status, suspendedReason: null, suspendedAt: null } : { status };

/** The audit event of a suspension. */
export function suspendedAudit(user: StatusOf & { id: string }, reason: string | null, revoked: string[]): AuditInput {
  return {
    action: 'user.suspended',
    targetType: 'User',
    targetId: user.id,
    changes: { status: { before: user.status, after: 'SUSPENDED' }, reason, revokedSessionIds: revoked },
  };
}

/** The audit event of a status change other than a suspension (`user.unsuspended` when it lifts one). */
export function statusChangedAudit(
  user: StatusOf & { id: string },
  status: UserStatus,
  reason: string | null,
): AuditInput {
  return {
    action: user.status === 'SUSPENDED' ? 'user.unsuspended' : 'user.status_changed',
    targetType: 'User',
    targetId: user.id,
    changes: { status: { before: user.status, after: status }, ...(reason ? { reason } : {}) },
  };
}

/** The audit event of `unsuspendUser`: SUSPENDED → ACTIVE, with the reason of the suspension lifted. */
export function unsuspendedAudit(user: Pick<User, 'id' | 'suspendedReason'>): AuditInput {
  return {
    action: 'user.unsuspended',
    targetType: 'User',
    targetId: user.id,
    changes: { status: { before: 'SUSPENDED', after: 'ACTIVE' }, reason: user.suspendedReason },
  };
}

/** The `revokedReason` of sessions ended by a suspension. */
export const SUSPENSION_REVOKE_REASON = 'user_suspended';

async function suspendLocked(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  reason: string | null,
  revokeSessions: boolean,
): Promise<UserResult> {
  const now = new Date();
  const updated = await conditionalUpdate(tx, user, suspensionData(reason, now));
  if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
  const revoked = revokeSessions ? await revokeSessionsOf(tx, [user.id], SUSPENSION_REVOKE_REASON, now) : [];
  await recordAudit(tx, ctx, suspendedAudit(user, reason, revoked));
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
    const move = statusMove(user, input.status);
    if (move.kind === 'refused') return refused('user', userError('INVALID_STATE', move.message, ['input', 'status']));
    if (move.kind === 'same') return { user, userErrors: [] };
    if (move.kind === 'suspend') return suspendLocked(tx, ctx, user, reason, true);
    const updated = await conditionalUpdate(tx, user, statusData(user, input.status));
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, statusChangedAudit(user, input.status, reason));
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
  return withLockedUser(ctx, input.id, {}, async (tx, user) => {
    const refusal = suspendRefusal(user);
    if (refusal === 'deleted') return refused('user', userDeleted(['input', 'id']));
    if (refusal === 'already_suspended')
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
    const updated = await conditionalUpdate(tx, user, statusData(user, 'ACTIVE'));
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, unsuspendedAudit(user));
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
    const updated = await conditionalUpdate(tx, user, newPasswordColumns(passwordHash, now, temporary));
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
