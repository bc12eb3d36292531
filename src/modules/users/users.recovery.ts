import type {
  OutboxMessage,
  Prisma,
  PrismaClient,
  RecoveryRequest,
  RecoveryRequestStatus,
} from '../../generated/prisma/client.ts';
import { systemContext, userContext, type RealmTx, type ServiceContext } from '../../context.ts';
import { realmSql } from '../../db/realm-sql.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueEmail } from '../mail/mail.service.ts';
import {
  inTransaction,
  isUserError,
  notFound,
  refused,
  userDeleted,
  userError,
  type MutationResult,
} from '../user-error.ts';
import { findUser, passwordContext, revokeSessionsOf, withLockedUser } from './users.core.ts';
import { consumeLink, issueLink, usableLink } from './users.links.ts';
import { hashPassword, newPasswordColumns, passwordProblem } from './users.passwords.ts';

export const RECOVERY_LIMITS = {
  /** Characters of the user's reason, and of an administrator's reason for a denial. */
  reason: 1000,
  /** How long a request waits for an answer, in seconds. */
  pendingSeconds: 7 * 24 * 3600,
  /** Characters of the identifier typed on the page. */
  identifier: 320,
} as const;

type RecoveryResult = MutationResult<'recoveryRequest', RecoveryRequest> & { message: OutboxMessage | null };

/** The status a request reads as: PENDING and APPROVED ones past `expiresAt` are EXPIRED. */
export function effectiveStatus(
  request: Pick<RecoveryRequest, 'status' | 'expiresAt'>,
  now = new Date(),
): RecoveryRequestStatus {
  const open = request.status === 'PENDING' || request.status === 'APPROVED';
  return open && request.expiresAt <= now ? 'EXPIRED' : request.status;
}

/** The requests whose effective status is `status` (all when null). */
export function recoveryListWhere(
  filter: { status?: RecoveryRequestStatus | null } | null | undefined,
  now = new Date(),
): Prisma.RecoveryRequestWhereInput {
  const status = filter?.status;
  if (!status) return {};
  if (status === 'PENDING' || status === 'APPROVED') return { status, expiresAt: { gt: now } };
  if (status === 'EXPIRED') {
    return { OR: [{ status: 'EXPIRED' }, { status: { in: ['PENDING', 'APPROVED'] }, expiresAt: { lte: now } }] };
  }
  return { status };
}

// Letters of any script, marks, numbers, punctuation, symbols, spaces and line breaks: no control
// or format characters (no NUL, no bidirectional overrides), no lone surrogates.
const FREE_TEXT = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}\n\r\t]*$/u;

/** Why a free-text reason is refused, or null. */
export function reasonProblem(reason: string): { code: 'REQUIRED' | 'TOO_LONG' | 'INVALID'; message: string } | null {
  const text = reason.trim();
  if (!text) return { code: 'REQUIRED', message: 'Say why, in a few words.' };
  if ([...text].length > RECOVERY_LIMITS.reason) {
    return { code: 'TOO_LONG', message: `Use at most ${RECOVERY_LIMITS.reason} characters.` };
  }
  if (!FREE_TEXT.test(text)) {
    return { code: 'INVALID', message: 'The text contains characters that are not allowed.' };
  }
  return null;
}

/**
 * The hosted page's request: when a live user of the realm with this identifier (email, username
 * or phone) has a second factor and no request waiting already, stores a PENDING request. Says
 * nothing of the outcome: the page's answer must not tell whether an account exists.
 */
export async function submitRecoveryRequest(
  prisma: PrismaClient,
  input: {
    realmId: string;
    identifier: string;
    reason: string;
    ipAddress?: string | undefined;
    userAgent?: string | undefined;
  },
): Promise<void> {
  const identifier = input.identifier.trim();
  if (!identifier || identifier.length > RECOVERY_LIMITS.identifier || reasonProblem(input.reason)) return;
  const db = systemContext(prisma, input.realmId).db;
  const found = await db.user.findFirst({
    where: {
      deletedAt: null,
      status: { notIn: ['DELETED', 'INVITED'] },
      OR: [{ email: identifier.toLowerCase() }, { username: identifier }, { phone: identifier }],
    },
    select: { id: true },
    orderBy: { id: 'asc' },
  });
  if (!found) return;
  const ctx = userContext(prisma, input.realmId, found.id, input.ipAddress);
  await inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, found.id, [], { lock: { realmId: input.realmId } });
    if (isUserError(user) || user.deletedAt) return;
    if (!(await tx.mfaFactor.count({ where: { userId: user.id, type: { in: ['TOTP', 'RECOVERY_CODES'] } } }))) return;
    const now = new Date();
    const waiting = await tx.recoveryRequest.count({
      where: { userId: user.id, status: 'PENDING', expiresAt: { gt: now } },
    });
    if (waiting) return;
    const request = await tx.recoveryRequest.create({
      data: {
        realmId: input.realmId,
        userId: user.id,
        reason: input.reason.trim(),
        ipAddress: input.ipAddress ?? null,
        userAgent: input.userAgent?.slice(0, 512) ?? null,
        expiresAt: new Date(now.getTime() + RECOVERY_LIMITS.pendingSeconds * 1000),
      },
    });
    await recordAudit(tx, ctx, {
      action: 'recovery_request.submitted',
      targetType: 'RecoveryRequest',
      targetId: request.id,
      changes: { userId: user.id, reasonLength: [...request.reason].length },
    });
  });
}

const decider = (ctx: ServiceContext) => `${ctx.caller.kind}:${ctx.caller.id}`;

/** The request and its user (both locked), or why an administrator cannot act on it. */
async function lockedRequest(tx: RealmTx, ctx: ServiceContext, id: string, now: Date) {
  const field = ['input', 'id'];
  const request = await tx.recoveryRequest.findUnique({ where: { id } });
  if (!request) return notFound('recovery request', field);
  const user = await findUser(tx, request.userId, field, { lock: { realmId: ctx.realmId } });
  if (isUserError(user)) return user;
  if (user.deletedAt) return userDeleted(field);
  // Locked, then read again: a concurrent decision or the expiry sweep has finished by now, and
  // the sweep skips the request while this transaction holds it.
  const rs = realmSql(tx, ctx.realmId);
  await rs.query`SELECT 1 FROM "RecoveryRequest" WHERE ${rs.realm()} AND id = ${id}::uuid FOR UPDATE`;
  const current = await tx.recoveryRequest.findUniqueOrThrow({ where: { id } });
  const status = effectiveStatus(current, now);
  if (status === 'EXPIRED') {
    return userError(
      'EXPIRED',
      current.status === 'APPROVED'
        ? 'The request was approved and its link expired unused; the user can ask again.'
        : `The request expired unanswered at ${current.expiresAt.toISOString()}; the user can ask again.`,
      field,
    );
  }
  if (status !== 'PENDING') {
    return userError('INVALID_STATE', `The request is ${status}, not PENDING: it was answered already.`, field);
  }
  return { request: current, user };
}

/**
 * Writes the expiry of requests past `expiresAt` (PENDING unanswered, APPROVED with their link
 * unused): status EXPIRED and one `recovery_request.expired` audit event each, in one transaction
 * per realm. Reads never wait for it (`effectiveStatus` tells EXPIRED from the clock); it makes
 * the expiry an event that webhooks and the audit trail see. Run by the outbox worker of every
 * process: each request changes state in one conditional statement under `FOR UPDATE SKIP
 * LOCKED`, so however many processes sweep at once, a request expires, and is audited, once;
 * one being answered meanwhile is skipped (and then refused as EXPIRED by its answer, or
 * answered in time). At most `limit` requests per realm and round; returns how many expired.
 */
export async function expireRecoveryRequests(prisma: PrismaClient, now = new Date(), limit = 500): Promise<number> {
  const due = await prisma.recoveryRequest.findMany({
    where: { status: { in: ['PENDING', 'APPROVED'] }, expiresAt: { lte: now } },
    orderBy: { expiresAt: 'asc' },
    select: { realmId: true },
    take: limit,
  });
  let expired = 0;
  for (const realmId of new Set(due.map((request) => request.realmId))) {
    const ctx = systemContext(prisma, realmId);
    expired += await ctx.db.$transaction(async (tx) => {
      const rs = realmSql(tx, realmId);
      const rows = await rs.query<{ id: string; userId: string; before: RecoveryRequestStatus; expiresAt: Date }>`
        WITH due AS (
          SELECT d.id, d.status FROM "RecoveryRequest" AS d
           WHERE ${rs.realm('d')} AND d.status IN ('PENDING', 'APPROVED') AND d."expiresAt" <= ${now}
           ORDER BY d."expiresAt", d.id
           LIMIT ${limit}
           FOR UPDATE SKIP LOCKED)
        UPDATE "RecoveryRequest" AS r SET status = 'EXPIRED'
          FROM due
         WHERE ${rs.realm('r')} AND r.id = due.id
        RETURNING r.id, r."userId", due.status::text AS before, r."expiresAt"`;
      for (const row of rows) await auditExpiry(tx, ctx, row, 'time');
      return rows.length;
    });
  }
  return expired;
}

/** The `recovery_request.expired` event of a request: its time ran out, or a newer approval replaced its link. */
function auditExpiry(
  tx: RealmTx,
  ctx: ServiceContext,
  request: { id: string; userId: string; before: RecoveryRequestStatus; expiresAt: Date },
  cause: 'time' | 'replaced',
) {
  return recordAudit(tx, ctx, {
    action: 'recovery_request.expired',
    targetType: 'RecoveryRequest',
    targetId: request.id,
    changes: {
      userId: request.userId,
      status: { before: request.before, after: 'EXPIRED' },
      cause,
      expiresAt: new Date(request.expiresAt).toISOString(),
    },
  });
}

function publicUrlOf(ctx: ServiceContext): string {
  if (!ctx.publicUrl) throw new Error('No public URL in the service context: links cannot be written.');
  return ctx.publicUrl;
}

/**
 * Approves a PENDING request: the user is emailed a one-time link to a hosted page that sets a new
 * password and removes their authenticator; the request then expires with the link.
 */
export async function approveRecoveryRequest(ctx: ServiceContext, id: string): Promise<RecoveryResult> {
  const publicUrl = publicUrlOf(ctx);
  return inTransaction(ctx, async (tx) => {
    const now = new Date();
    const found = await lockedRequest(tx, ctx, id, now);
    if (isUserError(found)) return { ...refused('recoveryRequest', found), message: null };
    const { request, user } = found;
    if (!user.email) {
      const error = userError('INVALID_STATE', 'The user has no email address to send the link to.', ['input', 'id']);
      return { ...refused('recoveryRequest', error), message: null };
    }
    const realm = await tx.realm.findFirstOrThrow({ select: { name: true } });
    const link = await issueLink(tx, {
      realmId: ctx.realmId,
      issuer: `${publicUrl}/oauth2/${realm.name}`,
      userId: user.id,
      purpose: 'ACCOUNT_RECOVERY',
      email: user.email,
    });
    // The new link replaced any earlier approval's: those requests end with their links.
    const replaced = await tx.recoveryRequest.updateManyAndReturn({
      where: { userId: user.id, status: 'APPROVED', id: { not: request.id } },
      data: { status: 'EXPIRED' },
      select: { id: true, userId: true, expiresAt: true },
    });
    for (const earlier of replaced) await auditExpiry(tx, ctx, { ...earlier, before: 'APPROVED' }, 'replaced');
    const approved = await tx.recoveryRequest.update({
      where: { id: request.id },
      data: { status: 'APPROVED', decidedAt: now, decidedBy: decider(ctx), linkId: link.id, expiresAt: link.expiresAt },
    });
    const message = await enqueueEmail(tx, ctx, 'email.account_recovery', user.email, {
      name: user.name ?? user.email,
      link: link.url,
      expiresIn: link.expiresIn,
    });
    await recordAudit(tx, ctx, {
      action: 'recovery_request.approved',
      targetType: 'RecoveryRequest',
      targetId: request.id,
      changes: {
        userId: user.id,
        status: { before: 'PENDING', after: 'APPROVED' },
        expiresAt: link.expiresAt.toISOString(),
        outboxMessageId: message.id,
      },
    });
    return { recoveryRequest: approved, message, userErrors: [] };
  });
}

/** Denies a PENDING request and emails the user the reason (when they have an address). */
export async function denyRecoveryRequest(
  ctx: ServiceContext,
  input: { id: string; reason: string },
): Promise<RecoveryResult> {
  const problem = reasonProblem(input.reason);
  if (problem) {
    return {
      ...refused('recoveryRequest', userError(problem.code, problem.message, ['input', 'reason'])),
      message: null,
    };
  }
  const reason = input.reason.trim();
  return inTransaction(ctx, async (tx) => {
    const now = new Date();
    const found = await lockedRequest(tx, ctx, input.id, now);
    if (isUserError(found)) return { ...refused('recoveryRequest', found), message: null };
    const { request, user } = found;
    const denied = await tx.recoveryRequest.update({
      where: { id: request.id },
      data: { status: 'DENIED', decidedAt: now, decidedBy: decider(ctx), denialReason: reason },
    });
    const message = user.email
      ? await enqueueEmail(tx, ctx, 'email.account_recovery_denied', user.email, {
          name: user.name ?? user.email,
          reason,
        })
      : null;
    await recordAudit(tx, ctx, {
      action: 'recovery_request.denied',
      targetType: 'RecoveryRequest',
      targetId: request.id,
      changes: {
        userId: user.id,
        status: { before: 'PENDING', after: 'DENIED' },
        ...(message ? { outboxMessageId: message.id } : {}),
      },
    });
    return { recoveryRequest: denied, message, userErrors: [] };
  });
}

/** Whether the token is of a recovery link that still works: the hosted page shows its form or says it does not. */
export async function recoveryLinkWorks(prisma: PrismaClient, realmId: string, token: string): Promise<boolean> {
  return (await usableLink(prisma, realmId, 'ACCOUNT_RECOVERY', token)) !== null;
}

export type RecoveryOutcome = { ok: true } | { ok: false; reason: 'unusable' | 'password'; message?: string };

/**
 * The hosted page's recovery: checks the new password against the realm's policy, then in one
 * transaction uses the link, completes the approved request, sets the password, removes the TOTP
 * and recovery-code factors, requires enrolment at the next sign-in and revokes every session.
 * A refused password leaves the link usable.
 */
export async function recoverAccountWithLink(
  prisma: PrismaClient,
  input: { realmId: string; token: string; password: string; ipAddress?: string | undefined },
): Promise<RecoveryOutcome> {
  const link = await usableLink(prisma, input.realmId, 'ACCOUNT_RECOVERY', input.token);
  if (!link) return { ok: false, reason: 'unusable' };
  const ctx = userContext(prisma, input.realmId, link.userId, input.ipAddress);
  const realm = await ctx.db.realm.findFirstOrThrow({ select: { passwordMinLength: true } });
  const current = await ctx.db.user.findUnique({ where: { id: link.userId } });
  if (!current || current.deletedAt) return { ok: false, reason: 'unusable' };
  const problem = passwordProblem(input.password, realm.passwordMinLength, passwordContext(current));
  if (problem) return { ok: false, reason: 'password', message: problem.message };
  const passwordHash = await hashPassword(input.password);
  const result = await withLockedUser(ctx, link.userId, { live: true }, async (tx, user) => {
    const unusable = refused('user', userError('INVALID_STATE', 'unusable'));
    if (!(await consumeLink(tx, 'ACCOUNT_RECOVERY', input.token))) return unusable;
    const now = new Date();
    const [request] = await tx.recoveryRequest.updateManyAndReturn({
      where: { userId: user.id, status: 'APPROVED', expiresAt: { gt: now } },
      data: { status: 'COMPLETED', completedAt: now },
      select: { id: true },
    });
    if (!request) return unusable;
    const factors = await tx.mfaFactor.findMany({
      where: { userId: user.id, type: { in: ['TOTP', 'RECOVERY_CODES'] } },
      select: { id: true, type: true },
    });
    await tx.mfaFactor.deleteMany({ where: { id: { in: factors.map((factor) => factor.id) } } });
    const updated = await tx.user.update({
      where: { id: user.id },
      data: {
        ...newPasswordColumns(passwordHash, now),
        failedLoginAttempts: 0,
        lockedUntil: null,
        mfaEnrolmentRequired: true,
        version: { increment: 1 },
      },
    });
    const revoked = await revokeSessionsOf(tx, [user.id], 'account_recovered', now);
    await recordAudit(tx, ctx, {
      action: 'recovery_request.completed',
      targetType: 'RecoveryRequest',
      targetId: request.id,
      changes: {
        userId: user.id,
        status: { before: 'APPROVED', after: 'COMPLETED' },
        removedFactors: {
          TOTP: factors.filter((factor) => factor.type === 'TOTP').length,
          RECOVERY_CODES: factors.filter((factor) => factor.type === 'RECOVERY_CODES').length,
        },
        revokedSessionIds: revoked,
      },
    });
    return { user: updated, userErrors: [] };
  });
  return result.userErrors.length ? { ok: false, reason: 'unusable' } : { ok: true };
}
