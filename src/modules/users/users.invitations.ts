import type { OutboxMessage, PrismaClient, User } from '../../generated/prisma/client.ts';
import { userContext, type RealmTx, type ServiceContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueEmail } from '../mail/mail.service.ts';
import {
  inTransaction,
  isUserError,
  notFound,
  refused,
  userError,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';
import { tenancyRefusal, tenantAddedAudit } from './users.access.ts';
import { insertPrepared, prepareUser } from './users.create.ts';
import { findUser, loadEnvironment, passwordContext, takenFromViolation, withLockedUser } from './users.core.ts';
import { consumeLink, issueLink, usableLink } from './users.links.ts';
import { addTotpFactor, matchingStep } from './users.mfa.ts';
import { addPasskeyFactor, type VerifiedPasskey } from './users.passkeys.ts';
import { hashPassword, newPasswordColumns, passwordProblem } from './users.passwords.ts';

type InvitationResult = MutationResult<'user', User> & { message: OutboxMessage | null };

export interface InviteUserInput {
  email: string;
  name?: string | null;
  tenantId?: string | null;
}

/** Which invitation: to the realm (an INVITED user) or, with `tenantId`, to a tenant. */
export interface InvitationInput {
  userId: string;
  tenantId?: string | null;
}

interface TenantRow {
  id: string;
  slug: string;
  name: string;
}

const TENANT_SELECT = { id: true, slug: true, name: true } as const;

async function issuerOf(tx: RealmTx, publicUrl: string): Promise<string> {
  const realm = await tx.realm.findFirstOrThrow({ select: { name: true } });
  return `${publicUrl}/oauth2/${realm.name}`;
}

function publicUrlOf(ctx: ServiceContext): string {
  if (!ctx.publicUrl) throw new Error('No public URL in the service context: links cannot be written.');
  return ctx.publicUrl;
}

/** Writes the invitation link and its email for `user`, in the caller's transaction, with its audit event. */
async function sendInvitation(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  tenant: TenantRow | null,
  action: 'user.invited' | 'user.invitation_resent',
): Promise<OutboxMessage> {
  const email = user.email!;
  const issuer = await issuerOf(tx, publicUrlOf(ctx));
  const link = await issueLink(tx, {
    realmId: ctx.realmId,
    issuer,
    userId: user.id,
    purpose: 'INVITATION',
    email,
    tenantId: tenant?.id ?? null,
  });
  const realm = await tx.realm.findFirstOrThrow({ select: { name: true, displayName: true } });
  const message = await enqueueEmail(tx, ctx, 'email.invitation', email, {
    name: user.name ?? email,
    link: link.url,
    expiresIn: link.expiresIn,
    invitedTo: tenant?.name ?? realm.displayName ?? realm.name,
  });
  await recordAudit(tx, ctx, {
    action,
    targetType: 'User',
    targetId: user.id,
    changes: {
      email,
      ...(tenant ? { tenantId: tenant.id, tenantSlug: tenant.slug } : {}),
      expiresAt: link.expiresAt.toISOString(),
      outboxMessageId: message.id,
    },
  });
  return message;
}

async function findTenant(
  tx: RealmTx,
  tenantId: string | null | undefined,
): Promise<TenantRow | null | UserErrorShape> {
  if (!tenantId) return null;
  const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: TENANT_SELECT });
  return tenant ?? notFound('tenant', ['input', 'tenantId']);
}

/**
 * Invites someone by email. A new address gets an INVITED user (no password) and an email with a
 * one-time link to a hosted page where they choose a password and become ACTIVE. With `tenantId`
 * the invitation is to that tenant too: accepting it makes the user a member. A live user who
 * already has the address can be invited to a tenant (TAKEN without one, unless still INVITED:
 * then the invitation is sent again); a member gets INVALID_STATE.
 */
export async function inviteUser(ctx: ServiceContext, input: InviteUserInput): Promise<InvitationResult> {
  publicUrlOf(ctx);
  const env = await loadEnvironment(ctx, false);
  const errors: UserErrorShape[] = [];
  const prepared = prepareUser(
    { email: input.email, name: input.name ?? null, status: 'INVITED' },
    env,
    ['input'],
    errors,
  );
  if (errors.length) return { ...refused('user', ...errors), message: null };
  const email = prepared.data.email!;
  let message: OutboxMessage | null = null;
  const result = await inTransaction(
    ctx,
    async (tx) => {
      const tenant = await findTenant(tx, input.tenantId);
      if (isUserError(tenant)) return refused('user', tenant);
      const existing = await tx.user.findFirst({ where: { email, deletedAt: null }, select: { id: true } });
      if (!existing) {
        const created = await insertPrepared(tx, ctx, { ...prepared, verifyEmail: false }, null);
        if (!created.user) return created;
        message = await sendInvitation(tx, ctx, created.user, tenant, 'user.invited');
        return created;
      }
      const user = await findUser(tx, existing.id, ['input', 'email'], { lock: { realmId: ctx.realmId } });
      if (isUserError(user)) return refused('user', user);
      const refusal = tenant
        ? await tenantInvitationRefusal(tx, user, tenant)
        : user.status === 'INVITED'
          ? null
          : userError(
              'TAKEN',
              'A user of the realm has this email address; to invite them to a tenant, give tenantId.',
              ['input', 'email'],
            );
      if (refusal) return refused('user', refusal);
      message = await sendInvitation(tx, ctx, user, tenant, 'user.invited');
      return { user, userErrors: [] };
    },
    (error) => refused('user', takenFromViolation(error, ['input'])),
  );
  return { ...result, message: result.userErrors.length ? null : message };
}

/** Why `user` cannot be invited to `tenant`: a member already, or a member of another one in an ISOLATED_POOL realm. */
async function tenantInvitationRefusal(tx: RealmTx, user: User, tenant: TenantRow): Promise<UserErrorShape | null> {
  const memberships = await tx.tenantMembership.findMany({ where: { userId: user.id }, select: { tenantId: true } });
  if (memberships.some((membership) => membership.tenantId === tenant.id)) {
    return userError('INVALID_STATE', 'The user is a member of this tenant already.', ['input', 'tenantId']);
  }
  const realm = await tx.realm.findFirstOrThrow({ select: { tenancyMode: true } });
  return tenancyRefusal(realm.tenancyMode, memberships.length, ['input', 'tenantId']);
}

/** The user's latest invitation link (to the realm, or to `tenantId`). */
function latestInvitation(tx: RealmTx, userId: string, tenantId: string | null) {
  return tx.oneTimeLink.findFirst({
    where: { userId, purpose: 'INVITATION', tenantId },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    select: { id: true, usedAt: true, revokedAt: true, expiresAt: true },
  });
}

/**
 * Sends the user's invitation again with a new link (the earlier one stops working), also after
 * it expired. INVALID_STATE when the user was never invited (to this tenant), the invitation was
 * revoked (invite again with `inviteUser`) or accepted, or the user has no email address.
 */
export async function resendInvitation(ctx: ServiceContext, input: InvitationInput): Promise<InvitationResult> {
  publicUrlOf(ctx);
  let message: OutboxMessage | null = null;
  const field = ['input', 'userId'];
  const result = await withLockedUser(ctx, input.userId, { live: true, field }, async (tx, user) => {
    const tenant = await findTenant(tx, input.tenantId);
    if (isUserError(tenant)) return refused('user', tenant);
    const latest = await latestInvitation(tx, user.id, tenant?.id ?? null);
    const state = (message: string) => refused('user', userError('INVALID_STATE', message, field));
    if (!latest)
      return state(`The user has no invitation${tenant ? ' to this tenant' : ''}; send one with inviteUser.`);
    if (latest.revokedAt) return state('The invitation was revoked; send a new one with inviteUser.');
    if (!user.email) return state('The user has no email address.');
    const accepted = tenant
      ? (await tx.tenantMembership.count({ where: { userId: user.id, tenantId: tenant.id } })) > 0
      : user.status !== 'INVITED';
    if (accepted) return state('The invitation was accepted already.');
    message = await sendInvitation(tx, ctx, user, tenant, 'user.invitation_resent');
    return { user, userErrors: [] };
  });
  return { ...result, message: result.userErrors.length ? null : message };
}

/**
 * Revokes the user's open invitation (to the realm, or to `tenantId`): its link stops working. An
 * INVITED user stays INVITED (delete it with `deleteUser`, or invite it again). INVALID_STATE
 * when no invitation is open (none sent, or accepted, revoked or expired already).
 */
export async function revokeInvitation(
  ctx: ServiceContext,
  input: InvitationInput,
): Promise<MutationResult<'user', User>> {
  const field = ['input', 'userId'];
  return withLockedUser(ctx, input.userId, { live: true, field }, async (tx, user) => {
    const tenant = await findTenant(tx, input.tenantId);
    if (isUserError(tenant)) return refused('user', tenant);
    const now = new Date();
    const revoked = await tx.oneTimeLink.updateManyAndReturn({
      where: {
        userId: user.id,
        purpose: 'INVITATION',
        tenantId: tenant?.id ?? null,
        usedAt: null,
        expiresAt: { gt: now },
      },
      data: { usedAt: now, revokedAt: now },
      select: { id: true, email: true },
    });
    if (!revoked.length) {
      return refused(
        'user',
        userError(
          'INVALID_STATE',
          `The user has no open invitation${tenant ? ' to this tenant' : ''}: none was sent, or it was accepted, revoked or has expired.`,
          field,
        ),
      );
    }
    await recordAudit(tx, ctx, {
      action: 'user.invitation_revoked',
      targetType: 'User',
      targetId: user.id,
      changes: { email: revoked[0]!.email, ...(tenant ? { tenantId: tenant.id, tenantSlug: tenant.slug } : {}) },
    });
    return { user, userErrors: [] };
  });
}

/** What the hosted page shows for a working invitation link. */
export interface InvitationView {
  /** The user is INVITED: the page asks for a password. */
  choosePassword: boolean;
  /** The tenant the invitation adds the user to. */
  tenantName: string | null;
  /** The invited user. */
  userId: string;
  /** The address the invitation was sent to: the account's name in an authenticator app. */
  email: string;
  /**
   * The user is INVITED, the realm requires a second factor (or the user must enrol one) and
   * they have none: they set up an authenticator on the hosted page before becoming ACTIVE.
   */
  enrolAuthenticator: boolean;
}

/** Whether accepting activates a user who must enrol a second factor first (see `InvitationView`). */
async function mustEnrol(tx: RealmTx, user: { id: string; mfaEnrolmentRequired: boolean }): Promise<boolean> {
  const realm = await tx.realm.findFirstOrThrow({ select: { mfaPolicy: true } });
  if (realm.mfaPolicy !== 'REQUIRED' && !user.mfaEnrolmentRequired) return false;
  return (await tx.mfaFactor.count({ where: { userId: user.id, type: { in: ['TOTP', 'WEBAUTHN'] } } })) === 0;
}

/**
 * The invitation of this token if its link still works and there is something left to accept: an
 * INVITED user, or a tenant the user is not a member of yet.
 */
export async function invitationOf(
  prisma: PrismaClient,
  realmId: string,
  token: string,
): Promise<InvitationView | null> {
  const link = await usableLink(prisma, realmId, 'INVITATION', token);
  if (!link) return null;
  const db = userContext(prisma, realmId, link.userId, undefined).db;
  const user = await db.user.findUnique({
    where: { id: link.userId },
    select: { id: true, status: true, deletedAt: true, mfaEnrolmentRequired: true },
  });
  if (!user || user.deletedAt) return null;
  const invited = user.status === 'INVITED';
  const view = async (tenantName: string | null): Promise<InvitationView> => ({
    choosePassword: invited,
    tenantName,
    userId: link.userId,
    email: link.email,
    enrolAuthenticator: invited && (await mustEnrol(db, user)),
  });
  if (!link.tenantId) return invited ? view(null) : null;
  const tenant = await db.tenant.findUnique({ where: { id: link.tenantId }, select: { name: true } });
  if (!tenant) return null;
  const member = await db.tenantMembership.count({ where: { userId: link.userId, tenantId: link.tenantId } });
  if (member && !invited) return null;
  return view(tenant.name);
}

/**
 * Checks the password an INVITED user chose on the hosted page against the realm's policy and
 * hashes it; the link stays unused. Accepting (`acceptInvitation`) then sets this hash.
 */
export async function chooseInvitationPassword(
  prisma: PrismaClient,
  input: { realmId: string; token: string; password: string },
): Promise<{ ok: true; passwordHash: string } | { ok: false; reason: 'unusable' | 'password'; message?: string }> {
  const link = await usableLink(prisma, input.realmId, 'INVITATION', input.token);
  if (!link) return { ok: false, reason: 'unusable' };
  const db = userContext(prisma, input.realmId, link.userId, undefined).db;
  const realm = await db.realm.findFirstOrThrow({ select: { passwordMinLength: true } });
  const user = await db.user.findUniqueOrThrow({ where: { id: link.userId } });
  if (user.status !== 'INVITED') return { ok: false, reason: 'unusable' };
  const problem = passwordProblem(input.password, realm.passwordMinLength, passwordContext(user));
  if (problem) return { ok: false, reason: 'password', message: problem.message };
  return { ok: true, passwordHash: await hashPassword(input.password) };
}

export type AcceptOutcome =
  | {
      ok: true;
      /** An existing user joined a tenant of a realm that requires a second factor they lack: they enrol at sign-in. */
      enrolAuthenticator: boolean;
      /** The recovery codes of the authenticator enrolled with the acceptance, shown once. */
      recoveryCodes: string[];
    }
  | {
      ok: false;
      /**
       * `enrol`: an authenticator must be set up first; `code`: the authenticator's code did not
       * match its secret; `passkey_taken`: the passkey is registered in the realm already. None
       * changes anything: the link stays usable.
       */
      reason: 'unusable' | 'email_changed' | 'tenancy' | 'enrol' | 'code' | 'passkey_taken';
      message?: string;
    };

/** The authenticator an invited person set up on the hosted page: its secret (base32) and a code it showed. */
export interface InvitationAuthenticator {
  /** Seals the factor's secret at rest. */
  key: Buffer;
  secret: string;
  code: string;
}

/**
 * The hosted page's acceptance: in one transaction, uses the link, sets the password of an
 * INVITED user (`passwordHash` from `chooseInvitationPassword`; the address the link went to
 * becomes verified) and makes it ACTIVE, and adds the membership of a tenant invitation. When the
 * realm requires a second factor, an INVITED user becomes ACTIVE only with an `authenticator`
 * whose code matches: its factor and recovery codes are written in the same transaction (the
 * sign-in's enrolment, `addTotpFactor`), or with a verified `passkey` instead (`addPasskeyFactor`;
 * `passkey_taken` when its credential id is registered already). Of two concurrent acceptances
 * one wins. A refusal leaves everything, the link included, as it was.
 */
export async function acceptInvitation(
  prisma: PrismaClient,
  input: {
    realmId: string;
    token: string;
    passwordHash: string | null;
    authenticator?: InvitationAuthenticator | null | undefined;
    /** A passkey set up instead of an authenticator (`verifyPasskeyRegistration`). */
    passkey?: VerifiedPasskey | null | undefined;
    ipAddress?: string | undefined;
  },
): Promise<AcceptOutcome> {
  const view = await invitationOf(prisma, input.realmId, input.token);
  const link = view && (await usableLink(prisma, input.realmId, 'INVITATION', input.token));
  if (!view || !link) return { ok: false, reason: 'unusable' };
  const ctx = userContext(prisma, input.realmId, link.userId, input.ipAddress);
  const realm = await ctx.db.realm.findFirstOrThrow({ select: { mfaPolicy: true } });
  const now = new Date();
  const authenticator = input.authenticator ?? null;
  const passkey = authenticator ? null : (input.passkey ?? null);
  const step = authenticator && matchingStep(authenticator.secret, authenticator.code, now);
  if (authenticator && step === null) return { ok: false, reason: 'code' };
  let refusal: Exclude<AcceptOutcome, { ok: true }>['reason'] = 'unusable';
  let message: string | undefined;
  let recoveryCodes: string[] = [];
  // With a passkey, a unique violation is its credential id: registered in the realm already.
  const taken = () => {
    refusal = 'passkey_taken';
    return refused('user', userError('TAKEN', 'passkey_taken'));
  };
  const locking = { live: true, ...(passkey ? { taken } : {}) };
  const result = await withLockedUser(ctx, link.userId, locking, async (tx, user) => {
    const stop = (reason: typeof refusal) => {
      refusal = reason;
      return refused('user', userError('INVALID_STATE', reason));
    };
    const activate = user.status === 'INVITED';
    if ((activate && !input.passwordHash) || (!activate && !link.tenantId)) return stop('unusable');
    const enrol = activate && (await mustEnrol(tx, user));
    if (enrol && !authenticator && !passkey) return stop('enrol');
    // Checked before the link is used: a refusal leaves it as it was.
    let tenant: TenantRow | null = null;
    if (link.tenantId) {
      tenant = await tx.tenant.findUnique({ where: { id: link.tenantId }, select: TENANT_SELECT });
      if (!tenant) return stop('unusable');
      const problem = await tenantInvitationRefusal(tx, user, tenant);
      if (problem?.code === 'TENANCY_VIOLATION') {
        message = 'Your account belongs to another organisation already, and can belong to only one.';
        return stop('tenancy');
      }
      if (problem) {
        if (!activate) return stop('unusable');
        tenant = null;
      }
    }
    const used = await consumeLink(tx, 'INVITATION', input.token);
    if (!used) return stop('unusable');
    if (user.email?.toLowerCase() !== used.email.toLowerCase()) return stop('email_changed');
    const updated = await tx.user.update({
      where: { id: user.id },
      data: {
        ...(activate
          ? {
              status: 'ACTIVE',
              emailVerified: true,
              ...newPasswordColumns(input.passwordHash!, now),
              failedLoginAttempts: 0,
              lockedUntil: null,
              ...(authenticator || passkey ? { mfaEnrolmentRequired: false } : {}),
            }
          : {}),
        version: { increment: 1 },
      },
    });
    if (activate && authenticator && (await tx.mfaFactor.count({ where: { userId: user.id, type: 'TOTP' } })) === 0) {
      ({ recoveryCodes } = await addTotpFactor(
        tx,
        ctx,
        authenticator.key,
        { userId: user.id, secret: authenticator.secret, step: step! },
        now,
      ));
    }
    if (activate && passkey) await addPasskeyFactor(tx, ctx, user.id, passkey, now);
    if (tenant) {
      await tx.tenantMembership.create({ data: { realmId: ctx.realmId, tenantId: tenant.id, userId: user.id } });
      await recordAudit(tx, ctx, tenantAddedAudit(user.id, tenant));
    }
    await recordAudit(tx, ctx, {
      action: 'user.invitation_accepted',
      targetType: 'User',
      targetId: user.id,
      changes: {
        email: used.email,
        ...(used.tenantId ? { tenantId: used.tenantId } : {}),
        ...(activate ? { status: { before: 'INVITED', after: 'ACTIVE' }, passwordSet: true } : {}),
        ...(recoveryCodes.length ? { mfaEnrolled: 'TOTP' } : {}),
        ...(activate && passkey ? { mfaEnrolled: 'WEBAUTHN' } : {}),
      },
    });
    return { user: updated, userErrors: [] };
  });
  if (result.userErrors.length) return { ok: false, reason: refusal, ...(message ? { message } : {}) };
  const factors = await ctx.db.mfaFactor.count({ where: { userId: link.userId, type: { in: ['TOTP', 'WEBAUTHN'] } } });
  return { ok: true, enrolAuthenticator: realm.mfaPolicy === 'REQUIRED' && factors === 0, recoveryCodes };
}
