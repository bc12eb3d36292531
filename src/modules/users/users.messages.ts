import type { OneTimeLinkPurpose, OutboxMessage, PrismaClient, User } from '../../generated/prisma/client.ts';
import { systemContext, userContext, type RealmTx, type ServiceContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueEmail } from '../mail/mail.service.ts';
import { inTransaction, refused, userError, type MutationResult } from '../user-error.ts';
import { passwordContext, revokeSessionsOf, withLockedUser } from './users.core.ts';
import { hashPassword, newPasswordColumns, passwordProblem } from './users.passwords.ts';
import { consumeLink, issueLink, usableLink } from './users.links.ts';

type SendResult = MutationResult<'user', User> & { message: OutboxMessage | null };

const KIND = { EMAIL_VERIFICATION: 'email.verification', PASSWORD_RESET: 'email.password_reset' } as const;
/** The links an administrator or the sign-in page sends with this module's emails. */
type MessagePurpose = keyof typeof KIND;

const ACTION = {
  EMAIL_VERIFICATION: 'user.verification_email_sent',
  PASSWORD_RESET: 'user.password_reset_email_sent',
} as const;

async function issuerOf(tx: RealmTx, publicUrl: string): Promise<string> {
  const realm = await tx.realm.findFirstOrThrow({ select: { name: true } });
  return `${publicUrl}/oauth2/${realm.name}`;
}

/** Writes a one-time link for `user` and the email carrying it, in the caller's transaction. */
async function sendLink(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  purpose: MessagePurpose,
  issuer: string,
): Promise<OutboxMessage> {
  const email = user.email!;
  const link = await issueLink(tx, { realmId: ctx.realmId, issuer, userId: user.id, purpose, email });
  const message = await enqueueEmail(tx, ctx, KIND[purpose], email, {
    name: user.name ?? email,
    link: link.url,
    expiresIn: link.expiresIn,
  });
  await recordAudit(tx, ctx, {
    action: ACTION[purpose],
    targetType: 'User',
    targetId: user.id,
    changes: { email, outboxMessageId: message.id },
  });
  return message;
}

/** Writes a verification link for a user just created with an unverified address, in the caller's transaction. */
export async function sendVerificationLink(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  publicUrl: string,
): Promise<void> {
  await sendLink(tx, ctx, user, 'EMAIL_VERIFICATION', await issuerOf(tx, publicUrl));
}

/**
 * An administrator sends the user an email with a one-time link: to confirm their address
 * (refused when it is verified already) or to choose a new password. The user must be live and
 * have an email address.
 */
export async function sendUserLink(
  ctx: ServiceContext,
  input: { id: string },
  purpose: MessagePurpose,
): Promise<SendResult> {
  if (!ctx.publicUrl) throw new Error('No public URL in the service context: links cannot be written.');
  const publicUrl = ctx.publicUrl;
  let message: OutboxMessage | null = null;
  const result = await withLockedUser(ctx, input.id, { live: true }, async (tx, user) => {
    const field = ['input', 'id'];
    if (!user.email) return refused('user', userError('INVALID_STATE', 'The user has no email address.', field));
    if (purpose === 'EMAIL_VERIFICATION' && user.emailVerified) {
      return refused('user', userError('INVALID_STATE', 'The user’s email address is verified already.', field));
    }
    message = await sendLink(tx, ctx, user, purpose, await issuerOf(tx, publicUrl));
    return { user, userErrors: [] };
  });
  return { ...result, message: result.userErrors.length ? null : message };
}

/** The states in which a user may get a password reset link by asking for one. */
const MAY_RESET = new Set<User['status']>(['ACTIVE', 'PENDING_VERIFICATION', 'INVITED']);

/**
 * "Forgot your password?" on the hosted sign-in page: when a live user of the realm has this
 * email address, writes a reset link to it. Says nothing of the outcome: the page's answer must
 * not tell whether an account exists.
 */
export async function requestPasswordReset(
  prisma: PrismaClient,
  input: { realmId: string; issuer: string; outboxKey: Buffer; email: string; ipAddress?: string | undefined },
): Promise<void> {
  const email = input.email.trim();
  if (!email || email.length > 254) return;
  const ctx = { ...systemContext(prisma, input.realmId), outboxKey: input.outboxKey, ipAddress: input.ipAddress };
  const user = await ctx.db.user.findFirst({
    where: { email: { equals: email, mode: 'insensitive' }, deletedAt: null },
  });
  if (!user || !MAY_RESET.has(user.status)) return;
  const asUser = { ...userContext(prisma, input.realmId, user.id, input.ipAddress), outboxKey: input.outboxKey };
  await inTransaction(asUser, (tx) => sendLink(tx, asUser, user, 'PASSWORD_RESET', input.issuer));
}

/** Whether the token is of a link of `purpose` that still works: the hosted page shows its form or says it does not. */
export async function linkWorks(
  prisma: PrismaClient,
  realmId: string,
  purpose: OneTimeLinkPurpose,
  token: string,
): Promise<boolean> {
  return (await usableLink(prisma, realmId, purpose, token)) !== null;
}

export type LinkOutcome =
  { ok: true } | { ok: false; reason: 'unusable' | 'email_changed' | 'password'; message?: string };

/**
 * The hosted page's verification: uses the link and marks the address it was sent to verified
 * (a PENDING_VERIFICATION user becomes ACTIVE). Refused when the user's address changed since.
 */
export async function verifyEmailWithLink(
  prisma: PrismaClient,
  input: { realmId: string; token: string; ipAddress?: string | undefined },
): Promise<LinkOutcome> {
  const link = await usableLink(prisma, input.realmId, 'EMAIL_VERIFICATION', input.token);
  if (!link) return { ok: false, reason: 'unusable' };
  const ctx = userContext(prisma, input.realmId, link.userId, input.ipAddress);
  const result = await withLockedUser(ctx, link.userId, { live: true }, async (tx, user) => {
    const used = await consumeLink(tx, 'EMAIL_VERIFICATION', input.token);
    if (!used) return refused('user', userError('INVALID_STATE', 'unusable'));
    if (user.email?.toLowerCase() !== used.email.toLowerCase()) {
      return refused('user', userError('INVALID_STATE', 'email_changed'));
    }
    const activate = user.status === 'PENDING_VERIFICATION';
    const updated = await tx.user.update({
      where: { id: user.id },
      data: { emailVerified: true, ...(activate ? { status: 'ACTIVE' } : {}), version: { increment: 1 } },
    });
    await recordAudit(tx, ctx, {
      action: 'user.email_verified',
      targetType: 'User',
      targetId: user.id,
      changes: {
        email: used.email,
        ...(activate ? { status: { before: 'PENDING_VERIFICATION', after: 'ACTIVE' } } : {}),
      },
    });
    return { user: updated, userErrors: [] };
  });
  const refusal = result.userErrors[0];
  if (!refusal) return { ok: true };
  return { ok: false, reason: refusal.message === 'email_changed' ? 'email_changed' : 'unusable' };
}

/**
 * The hosted page's password reset: checks the new password against the realm's policy, then in
 * one transaction uses the link, sets the password (no longer expired, lockout cleared) and
 * revokes the user's sessions. A refused password leaves the link usable.
 */
export async function resetPasswordWithLink(
  prisma: PrismaClient,
  input: { realmId: string; token: string; password: string; ipAddress?: string | undefined },
): Promise<LinkOutcome> {
  const link = await usableLink(prisma, input.realmId, 'PASSWORD_RESET', input.token);
  if (!link) return { ok: false, reason: 'unusable' };
  const ctx = userContext(prisma, input.realmId, link.userId, input.ipAddress);
  const realm = await ctx.db.realm.findFirstOrThrow({ select: { passwordMinLength: true } });
  const current = await ctx.db.user.findUnique({ where: { id: link.userId } });
  if (!current || current.deletedAt) return { ok: false, reason: 'unusable' };
  const problem = passwordProblem(input.password, realm.passwordMinLength, passwordContext(current));
  if (problem) return { ok: false, reason: 'password', message: problem.message };
  const passwordHash = await hashPassword(input.password);
  const result = await withLockedUser(ctx, link.userId, { live: true }, async (tx, user) => {
    if (!(await consumeLink(tx, 'PASSWORD_RESET', input.token))) {
      return refused('user', userError('INVALID_STATE', 'unusable'));
    }
    const now = new Date();
    const updated = await tx.user.update({
      where: { id: user.id },
      data: {
        ...newPasswordColumns(passwordHash, now),
        failedLoginAttempts: 0,
        lockedUntil: null,
        version: { increment: 1 },
      },
    });
    const revoked = await revokeSessionsOf(tx, [user.id], 'password_reset', now);
    await recordAudit(tx, ctx, {
      action: 'user.password_reset',
      targetType: 'User',
      targetId: user.id,
      changes: { revokedSessionIds: revoked },
    });
    return { user: updated, userErrors: [] };
  });
  return result.userErrors.length ? { ok: false, reason: 'unusable' } : { ok: true };
}
