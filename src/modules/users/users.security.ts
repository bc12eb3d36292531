import { randomBytes } from 'node:crypto';
import type { MfaFactorType } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { recordAudit, type AuditInput } from '../audit/audit.service.ts';
import type { AuditAction } from '../audit/audit.actions.ts';
import {
  inTransaction,
  isUserError,
  notFound,
  refused,
  userDeleted,
  userError,
  type UserErrorShape,
} from '../user-error.ts';
import {
  bumpVersion,
  endProviderSessions,
  findUser,
  revokeSessionsOf,
  withLockedUser,
  type UserResult,
} from './users.core.ts';

export const SECURITY_LIMITS = {
  providerLength: 50,
  providerUserIdLength: 255,
  noteLength: 5000,
  uniqueIdLength: 200,
} as const;

/** Identity provider names: lowercase letters, digits and hyphens. */
const PROVIDER = /^[a-z0-9-]{1,50}$/;

/** Control characters other than tab, line feed and carriage return. */
const CONTROL_EXCEPT_WHITESPACE = /(?![\t\n\r])\p{Cc}/u;
const CONTROL = /\p{Cc}/u;

export interface RevokeSessionsResult {
  revokedSessionIds: string[];
  userErrors: UserErrorShape[];
}

/** The `revokedReason` of sessions an administrator ended. */
export const ADMIN_REVOKE_REASON = 'revoked_by_admin';

/** Ends every active session of a user now; their refresh tokens stop working at once. */
export async function revokeUserSessions(ctx: ServiceContext, userId: string): Promise<RevokeSessionsResult> {
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, userId, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return { revokedSessionIds: [], userErrors: [user] };
    const revoked = await revokeSessionsOf(tx, [user.id], ADMIN_REVOKE_REASON);
    if (revoked.length === 0) return { revokedSessionIds: [], userErrors: [] };
    await recordAudit(tx, ctx, sessionsRevokedAudit(user.id, revoked));
    return { revokedSessionIds: revoked, userErrors: [] };
  });
}

/** The audit event of ending every active session of a user. */
export function sessionsRevokedAudit(userId: string, sessionIds: readonly string[]): AuditInput {
  return {
    action: 'user.sessions_revoked',
    targetType: 'User',
    targetId: userId,
    changes: { revokedSessionCount: sessionIds.length, sessionIds: [...sessionIds] },
  };
}

/** Ends one session now, with its refresh tokens. */
export async function revokeSession(ctx: ServiceContext, sessionId: string): Promise<RevokeSessionsResult> {
  const field = ['input', 'sessionId'];
  return inTransaction(ctx, async (tx) => {
    const session = await tx.session.findUnique({ where: { id: sessionId } });
    if (!session)
      return {
        revokedSessionIds: [],
        userErrors: [notFound('session', field)],
      };
    const now = new Date();
    if (session.revokedAt) {
      return {
        revokedSessionIds: [],
        userErrors: [userError('INVALID_STATE', 'The session is already revoked.', field)],
      };
    }
    if (session.expiresAt <= now) {
      return {
        revokedSessionIds: [],
        userErrors: [userError('INVALID_STATE', 'The session has already expired.', field)],
      };
    }
    await tx.session.update({
      where: { id: session.id },
      data: { revokedAt: now, revokedReason: ADMIN_REVOKE_REASON },
    });
    await tx.refreshToken.updateMany({ where: { sessionId: session.id, revokedAt: null }, data: { revokedAt: now } });
    if (session.providerSessionUid) await endProviderSessions(tx, [session.providerSessionUid]);
    await recordAudit(tx, ctx, {
      action: 'user.session_revoked',
      targetType: 'User',
      targetId: session.userId,
      changes: { sessionId: session.id },
    });
    return { revokedSessionIds: [session.id], userErrors: [] };
  });
}

/**
 * Removes second factors of the given types and, since the account's credentials changed,
 * revokes the user's sessions in the same transaction. No such factor: success, nothing changes.
 */
async function removeFactors(
  ctx: ServiceContext,
  userId: string,
  types: MfaFactorType[],
  action: Extract<AuditAction, 'user.mfa_reset' | 'user.passkeys_deleted'>,
): Promise<UserResult> {
  return withLockedUser(ctx, userId, {}, async (tx, user) => {
    const factors = await tx.mfaFactor.findMany({
      where: { userId: user.id, type: { in: types } },
      select: { id: true, type: true },
    });
    if (factors.length === 0) return { user, userErrors: [] };
    await tx.mfaFactor.deleteMany({ where: { id: { in: factors.map((f) => f.id) } } });
    const revoked = await revokeSessionsOf(tx, [user.id], action.slice('user.'.length));
    const removedFactors = Object.fromEntries(
      types.map((type) => [type, factors.filter((f) => f.type === type).length]),
    );
    await recordAudit(tx, ctx, {
      action,
      targetType: 'User',
      targetId: user.id,
      changes: { removedFactors, revokedSessionCount: revoked.length },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/** Removes the user's TOTP and recovery-code factors (passkeys stay) and revokes its sessions. */
export function resetUserMfa(ctx: ServiceContext, userId: string): Promise<UserResult> {
  return removeFactors(ctx, userId, ['TOTP', 'RECOVERY_CODES'], 'user.mfa_reset');
}

/** Removes the user's passkeys (WebAuthn factors) and revokes its sessions. */
export function deleteUserPasskeys(ctx: ServiceContext, userId: string): Promise<UserResult> {
  return removeFactors(ctx, userId, ['WEBAUTHN'], 'user.passkeys_deleted');
}

function checkProvider(provider: string, field: string[], errors: UserErrorShape[]): void {
  if (!provider) errors.push(userError('REQUIRED', 'The provider must not be empty.', field));
  else if (provider.length > SECURITY_LIMITS.providerLength) {
    errors.push(
      userError('TOO_LONG', `The provider must be at most ${SECURITY_LIMITS.providerLength} characters.`, field),
    );
  } else if (!PROVIDER.test(provider)) {
    errors.push(
      userError(
        'INVALID',
        'The provider may contain only lowercase letters, digits and hyphens, e.g. `google`.',
        field,
      ),
    );
  }
}

function checkProviderUserId(value: string, field: string[], errors: UserErrorShape[]): void {
  if (!value) errors.push(userError('REQUIRED', 'The provider user id must not be empty.', field));
  else if (value.length > SECURITY_LIMITS.providerUserIdLength) {
    errors.push(
      userError(
        'TOO_LONG',
        `The provider user id must be at most ${SECURITY_LIMITS.providerUserIdLength} characters.`,
        field,
      ),
    );
  } else if (CONTROL.test(value))
    errors.push(userError('INVALID', 'The provider user id must not contain control characters.', field));
}

export interface LinkUserIdentityInput {
  userId: string;
  provider: string;
  providerUserId: string;
  email?: string | null;
}

/**
 * Links an external identity to a user. The provider + provider user id pair is unique per
 * realm (TAKEN); linking the same pair to the same user again is a success that changes nothing.
 */
export async function linkUserIdentity(ctx: ServiceContext, input: LinkUserIdentityInput): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  checkProvider(input.provider, ['input', 'provider'], errors);
  checkProviderUserId(input.providerUserId, ['input', 'providerUserId'], errors);
  if (errors.length) return refused('user', ...errors);
  const taken = () =>
    refused(
      'user',
      userError('TAKEN', 'This identity is already linked to another user of the realm.', ['input', 'providerUserId']),
    );
  return withLockedUser(
    ctx,
    input.userId,
    {
      field: ['input', 'userId'],
      // A concurrent link took the pair between the check and the insert.
      taken: () => taken(),
    },
    async (tx, user) => {
      const existing = await tx.identity.findFirst({
        where: { provider: input.provider, providerUserId: input.providerUserId },
        select: { userId: true },
      });
      if (existing?.userId === user.id) return { user, userErrors: [] };
      if (existing) return taken();
      if (user.deletedAt) return refused('user', userDeleted(['input', 'userId']));
      const identity = await tx.identity.create({
        data: {
          realmId: ctx.realmId,
          userId: user.id,
          provider: input.provider,
          providerUserId: input.providerUserId,
          email: input.email ?? null,
        },
      });
      await recordAudit(tx, ctx, {
        action: 'user.identity_linked',
        targetType: 'User',
        targetId: user.id,
        changes: { identityId: identity.id, provider: identity.provider, providerUserId: identity.providerUserId },
      });
      return { user: await bumpVersion(tx, user.id), userErrors: [] };
    },
  );
}

export interface UnlinkUserIdentityInput {
  userId: string;
  provider: string;
  providerUserId: string;
}

/**
 * Unlinks an external identity from a user, unless it is the user's last way to sign in (no
 * password, no other identity, no passkey, no verified email or phone).
 */
export async function unlinkUserIdentity(ctx: ServiceContext, input: UnlinkUserIdentityInput): Promise<UserResult> {
  return withLockedUser(ctx, input.userId, { field: ['input', 'userId'] }, async (tx, user) => {
    const identity = await tx.identity.findFirst({
      where: { userId: user.id, provider: input.provider, providerUserId: input.providerUserId },
      select: { id: true },
    });
    if (!identity) {
      return refused(
        'user',
        userError('NOT_FOUND', 'The user has no identity with this provider and provider user id.', [
          'input',
          'providerUserId',
        ]),
      );
    }
    const [otherIdentities, passkeys] = await Promise.all([
      tx.identity.count({ where: { userId: user.id, id: { not: identity.id } } }),
      tx.mfaFactor.count({ where: { userId: user.id, type: 'WEBAUTHN' } }),
    ]);
    const canStillSignIn =
      user.passwordHash !== null ||
      otherIdentities > 0 ||
      passkeys > 0 ||
      (user.email !== null && user.emailVerified) ||
      (user.phone !== null && user.phoneVerified);
    if (!canStillSignIn) {
      return refused(
        'user',
        userError(
          'INVALID_STATE',
          'This identity is the user’s last way to sign in (no password, other identity, passkey, or verified email or phone); add another one first.',
          ['input', 'providerUserId'],
        ),
      );
    }
    await tx.identity.delete({ where: { id: identity.id } });
    await recordAudit(tx, ctx, {
      action: 'user.identity_unlinked',
      targetType: 'User',
      targetId: user.id,
      changes: { identityId: identity.id, provider: input.provider, providerUserId: input.providerUserId },
    });
    return { user: await bumpVersion(tx, user.id), userErrors: [] };
  });
}

/**
 * Leaves a note on a user, signed with the caller's client id. Notes annotate the user without
 * changing it, so `version` stays; deleted users can be annotated too.
 */
export async function addAdminNote(ctx: ServiceContext, input: { userId: string; body: string }): Promise<UserResult> {
  const field = ['input', 'body'];
  const body = input.body.trim();
  const errors: UserErrorShape[] = [];
  if (!body) errors.push(userError('REQUIRED', 'The note must not be empty.', field));
  else if ([...body].length > SECURITY_LIMITS.noteLength) {
    errors.push(userError('TOO_LONG', `The note must be at most ${SECURITY_LIMITS.noteLength} characters.`, field));
  } else if (CONTROL_EXCEPT_WHITESPACE.test(body))
    errors.push(userError('INVALID', 'The note must not contain control characters.', field));
  if (errors.length) return refused('user', ...errors);
  return withLockedUser(ctx, input.userId, { field: ['input', 'userId'] }, async (tx, user) => {
    const note = await tx.adminNote.create({
      data: { realmId: ctx.realmId, userId: user.id, body, author: ctx.caller.id },
    });
    await recordAudit(tx, ctx, {
      action: 'user.note_added',
      targetType: 'User',
      targetId: user.id,
      changes: { noteId: note.id, length: [...body].length },
    });
    return { user, userErrors: [] };
  });
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random unique id: `usr_` and 20 base32 characters (100 bits). */
function generateUniqueId(): string {
  const bytes = randomBytes(20);
  return `usr_${[...bytes].map((b) => BASE32[b & 31]).join('')}`;
}

/**
 * Checks a unique id given by a caller (trimmed; 1 to 255 characters, no control characters).
 * Pushes to `errors` and returns the trimmed value.
 */
function checkUniqueId(value: string, field: string[], errors: UserErrorShape[]): string {
  const trimmed = value.trim();
  if (!trimmed) errors.push(userError('REQUIRED', 'The unique id must not be empty; pass null to clear it.', field));
  else if ([...trimmed].length > SECURITY_LIMITS.uniqueIdLength) {
    errors.push(
      userError('TOO_LONG', `The unique id must be at most ${SECURITY_LIMITS.uniqueIdLength} characters.`, field),
    );
  } else if (CONTROL.test(trimmed))
    errors.push(userError('INVALID', 'The unique id must not contain control characters.', field));
  return trimmed;
}

export interface SetUserUniqueIdInput {
  id: string;
  /** The value to set; null clears it; omitted with `generate`. */
  uniqueId?: string | null;
  /** Generate a random, unused value. */
  generate?: boolean | null;
  expectedVersion?: number | null;
}

/** Sets, generates or clears a user's unique id (unique per realm, deleted users included). */
export async function setUserUniqueId(ctx: ServiceContext, input: SetUserUniqueIdInput): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const field = ['input', 'uniqueId'];
  let wanted: string | null | undefined;
  if (input.generate) {
    if (input.uniqueId !== undefined && input.uniqueId !== null) {
      errors.push(userError('INVALID', 'Give either a uniqueId or generate: true, not both.', ['input', 'generate']));
    }
  } else if (input.uniqueId === undefined) {
    errors.push(userError('REQUIRED', 'Give a uniqueId (null clears it) or generate: true.', field));
  } else {
    wanted = input.uniqueId === null ? null : checkUniqueId(input.uniqueId, field, errors);
  }
  if (errors.length) return refused('user', ...errors);
  const taken = () =>
    refused('user', userError('TAKEN', 'Another user of the realm already has this unique id.', field));

  return withLockedUser(
    ctx,
    input.id,
    { expectedVersion: input.expectedVersion, live: true, taken: () => taken() },
    async (tx, user) => {
      let value = wanted;
      if (input.generate) {
        do value = generateUniqueId();
        while (await tx.user.count({ where: { uniqueId: value } }));
      } else if (value === user.uniqueId) {
        return { user, userErrors: [] };
      } else if (value !== null && (await tx.user.count({ where: { uniqueId: value, id: { not: user.id } } }))) {
        return taken();
      }
      const updated = await tx.user.update({
        where: { id: user.id },
        data: { uniqueId: value ?? null, version: { increment: 1 } },
      });
      await recordAudit(tx, ctx, {
        action: 'user.unique_id_set',
        targetType: 'User',
        targetId: user.id,
        changes: {
          uniqueId: { before: user.uniqueId, after: updated.uniqueId },
          generated: Boolean(input.generate),
        },
      });
      return { user: updated, userErrors: [] };
    },
  );
}
