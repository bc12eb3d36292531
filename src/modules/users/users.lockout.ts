import { randomUUID } from 'node:crypto';
import type { RealmTx, ServiceContext } from '../../context.ts';
import type { Realm, User } from '../../generated/prisma/client.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { isUserError, refused, userError, versionConflict } from '../user-error.ts';
import { conditionalUpdate, findUser, withLockedUser, type UserResult } from './users.core.ts';

/** The longest lockout, however many came before it. */
export const MAX_LOCKOUT_SECONDS = 86_400;

export type LockoutSettings = Pick<Realm, 'maxFailedSignIns' | 'failedSignInWindowSeconds' | 'lockoutSeconds'>;

/** Whether the user is locked out at `now`. */
function isLockedOut(user: Pick<User, 'lockedUntil'>, now = new Date()): boolean {
  return user.lockedUntil !== null && user.lockedUntil > now;
}

/** Length of the lockout that follows `previousLockouts` others since the last success: doubling, capped. */
export function lockoutSecondsAfter(settings: LockoutSettings, previousLockouts: number): number {
  return Math.min(settings.lockoutSeconds * 2 ** Math.min(previousLockouts, 20), MAX_LOCKOUT_SECONDS);
}

export interface FailedSignInOutcome {
  /** Whether the account is locked after this attempt (it may have been already). */
  locked: boolean;
  /** Whether this attempt locked it. */
  lockedNow: boolean;
  lockedUntil: Date | null;
  failedLoginAttempts: number;
}

/** The sign-in state of a user without failures: after a success, an unlock, or never failed. */
const NO_FAILURES = { failedLoginAttempts: 0, lastFailedLoginAt: null, lockoutCount: 0, lockedUntil: null } as const;

/**
 * Counts a failed sign-in of the user (a wrong password or second factor) and locks the account
 * when the failures reach the realm's `maxFailedSignIns`, each within `failedSignInWindowSeconds`
 * of the one before. Each lockout without a successful sign-in between lasts twice the previous
 * one (from `lockoutSeconds`, at most a day). Failures while locked do not count. Locks the user
 * row, so concurrent failures are each counted once; does not change the user's `version` (this is
 * sign-in state, not an edit). A new lockout is an audit event.
 *
 * With `userId` null (an identifier that is nobody's) it sends the same statements as for a user
 * at their first failure, against an id that matches no row and changes nothing, so that the
 * database traffic of a wrong password does not tell whether the account exists (nor, below,
 * whether it is locked).
 */
export async function recordFailedSignIn(
  tx: RealmTx,
  ctx: ServiceContext,
  userId: string | null,
  settings: LockoutSettings,
  now = new Date(),
): Promise<FailedSignInOutcome> {
  const found = await findUser(tx, userId ?? randomUUID(), ['userId'], { lock: { realmId: ctx.realmId } });
  const nobody = isUserError(found);
  if (nobody && userId) throw new Error(`recordFailedSignIn: no user ${userId} in realm ${ctx.realmId}`);
  // An identifier that is nobody's stands in as a user who never failed.
  const user = nobody ? { ...NO_FAILURES, id: randomUUID() } : found;
  if (isLockedOut(user, now)) {
    // The statement of a counted failure, against no row: a locked account must not stand out either.
    await tx.user.updateMany({
      where: { id: randomUUID() },
      data: { failedLoginAttempts: user.failedLoginAttempts, lastFailedLoginAt: now, lockoutCount: user.lockoutCount },
    });
    return {
      locked: true,
      lockedNow: false,
      lockedUntil: user.lockedUntil,
      failedLoginAttempts: user.failedLoginAttempts,
    };
  }
  // The window runs from the last failure, or from the end of the last lockout: a lockout longer
  // than the window must not wipe the history that makes the next one longer.
  const since = Math.max(user.lastFailedLoginAt?.getTime() ?? -Infinity, user.lockedUntil?.getTime() ?? -Infinity);
  const recent = now.getTime() - since <= settings.failedSignInWindowSeconds * 1000;
  const failedLoginAttempts = recent ? user.failedLoginAttempts + 1 : 1;
  const previousLockouts = recent ? user.lockoutCount : 0;
  const lockedNow = failedLoginAttempts >= settings.maxFailedSignIns * (previousLockouts + 1);
  const lockedUntil = lockedNow
    ? new Date(now.getTime() + lockoutSecondsAfter(settings, previousLockouts) * 1000)
    : null;
  // updateMany, which sends the same statement whether or not the row exists (it is locked).
  await tx.user.updateMany({
    where: { id: user.id },
    data: {
      failedLoginAttempts,
      lastFailedLoginAt: now,
      lockoutCount: lockedNow ? previousLockouts + 1 : previousLockouts,
      ...(lockedNow ? { lockedUntil } : {}),
    },
  });
  if (lockedNow && !nobody) {
    await recordAudit(tx, ctx, {
      action: 'user.locked',
      targetType: 'User',
      targetId: user.id,
      changes: { lockedUntil: lockedUntil!.toISOString(), failedLoginAttempts, lockout: previousLockouts + 1 },
    });
  }
  if (nobody) return { locked: false, lockedNow: false, lockedUntil: null, failedLoginAttempts: 0 };
  return { locked: lockedNow, lockedNow, lockedUntil, failedLoginAttempts };
}

/** After a successful sign-in: the failure count and the lockout history start again. */
export async function clearFailedSignIns(tx: RealmTx, userId: string): Promise<void> {
  await tx.user.updateMany({
    where: { id: userId, OR: [{ failedLoginAttempts: { gt: 0 } }, { lockoutCount: { gt: 0 } }] },
    data: NO_FAILURES,
  });
}

/**
 * Lifts a lockout now and clears the failure count and lockout history. A user neither locked
 * nor with failed sign-ins gets INVALID_STATE, and so does a deleted one.
 */
export async function unlockUser(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  return withLockedUser(ctx, input.id, { live: true }, async (tx, user) => {
    const now = new Date();
    const locked = isLockedOut(user, now);
    if (!locked && user.failedLoginAttempts === 0 && user.lockoutCount === 0) {
      return refused(
        'user',
        userError('INVALID_STATE', 'The user is not locked and has no failed sign-ins to clear.', ['input', 'id']),
      );
    }
    const updated = await conditionalUpdate(tx, user, NO_FAILURES);
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: 'user.unlocked',
      targetType: 'User',
      targetId: user.id,
      changes: {
        wasLocked: locked,
        lockedUntil: locked ? user.lockedUntil!.toISOString() : null,
        failedLoginAttempts: user.failedLoginAttempts,
      },
    });
    return { user: updated, userErrors: [] };
  });
}
