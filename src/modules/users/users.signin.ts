import { UUID } from '../../auth/ids.ts';
import { UAParser } from 'ua-parser-js';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import { systemContext, userContext, type RealmTx, type ServiceContext } from '../../context.ts';
import { scopeToRealm } from '../../db/realm-scope.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { endProviderSessions, revokeSessionsOf } from './users.core.ts';
import { clearFailedSignIns, recordFailedSignIn } from './users.lockout.ts';
import { verifySecondFactor } from './users.mfa.ts';
import { noteUserActivity } from './users.activity.ts';
import { newPasswordColumns } from './users.passwords.ts';
import { noteSessionActivity } from './users.queries.ts';
import { signInSessionRow } from './users.signin.queries.ts';
import {
  hashPassword,
  PASSWORD_POLICY,
  passwordProblem,
  verifyPassword,
  type PasswordContext,
} from './users.passwords.ts';

/** Why a password sign-in was refused, as `LoginEvent.failureReason` records it. */
export type SignInFailure =
  | 'invalid_credentials'
  | 'account_locked'
  | 'account_inactive'
  | 'account_suspended'
  | 'email_not_verified'
  | 'password_expired'
  | 'new_password_rejected'
  | 'invalid_second_factor'
  | 'not_tenant_member'
  | 'invalid_passkey'
  | 'passkey_counter_regressed';

export interface SignInAttempt {
  realmId: string;
  /** An email address, username or phone number, as typed. */
  identifier: string;
  password: string;
  /**
   * The new password of a user whose password expired (or is temporary): with the right
   * current password, it replaces it and the sign-in goes on.
   */
  newPassword?: string | undefined;
  applicationId: string;
  /** The tenant the application asked to sign in within (`tenant` parameter), already known to be one of the realm's. */
  tenantId?: string | null | undefined;
  ipAddress?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * What a sign-in needs after the password: a second factor the user has (`totp`: a code of their
 * authenticator, or one of their passkeys), or the enrolment of one (`enrol`, the realm requires
 * a second factor and the user has none).
 */
type SecondFactorStep = 'totp' | 'enrol';

export type SignInResult =
  | {
      ok: true;
      userId: string;
      /** Null: signed in. */
      secondFactor: SecondFactorStep | null;
      /** The tenant the sign-in is within: the one asked for, or the user's one tenant of an ISOLATED_POOL realm. */
      tenantId: string | null;
    }
  | { ok: false; reason: SignInFailure; /** Why a new password was refused. */ problem?: string };

/** Longer identifiers cannot belong to anyone (emails are at most 254 characters). */
const MAX_IDENTIFIER_LENGTH = 320;
const MAX_USER_AGENT_LENGTH = 512;

/**
 * Verified in place of the stored hash when there is none (unknown identifier, no password set),
 * so that every attempt costs one argon2id verification and takes as long.
 */
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  dummyHash ??= hashPassword('roster-dummy-password-never-matches');
  return dummyHash;
}

/**
 * Checks a password sign-in and records it: a `LoginEvent` for every attempt; on success the
 * user's `lastLoginAt`, an argon2id re-hash of an imported bcrypt hash, and a `user.signed_in`
 * audit event. The identifier is an email address, username (both ignoring case) or phone
 * number of a user not deleted. The password is checked before the account's state, and a
 * wrong password and an unknown identifier get the same reason, after the same work: a caller
 * learns about an account's state only with its password.
 *
 * A wrong password for a user counts towards the realm's lockout (`recordFailedSignIn`), and an
 * unknown identifier sends the same statements against no row. A locked user is refused
 * (`account_locked`) whatever the password, without counting, and the caller answers it as a
 * wrong password. A success clears the failure count.
 *
 * A sign-in is within a tenant when the application asks for one (`tenantId`), or, in an
 * ISOLATED_POOL realm, within the user's one tenant if they belong to one. A user who is not a
 * member of the tenant asked for is refused (`not_tenant_member`, after the password).
 */
export async function signInWithPassword(prisma: PrismaClient, attempt: SignInAttempt): Promise<SignInResult> {
  const db = scopeToRealm(prisma, attempt.realmId);
  const identifier = attempt.identifier.trim();
  const userAgent = attempt.userAgent?.slice(0, MAX_USER_AGENT_LENGTH);
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: attempt.realmId },
    select: {
      requireEmailVerification: true,
      maxFailedSignIns: true,
      failedSignInWindowSeconds: true,
      lockoutSeconds: true,
      mfaPolicy: true,
      tenancyMode: true,
    },
  });
  const user =
    identifier && identifier.length <= MAX_IDENTIFIER_LENGTH
      ? await db.user.findFirst({
          where: {
            deletedAt: null,
            status: { not: 'DELETED' },
            OR: [{ email: identifier }, { username: identifier }, { phone: identifier }],
          },
          select: {
            id: true,
            status: true,
            emailVerified: true,
            passwordHash: true,
            passwordAlgorithm: true,
            passwordExpired: true,
            mfaEnrolmentRequired: true,
            lockedUntil: true,
            email: true,
            username: true,
            name: true,
            givenName: true,
            familyName: true,
            nickname: true,
          },
          orderBy: { id: 'asc' },
        })
      : null;

  const stored = user?.passwordHash && user.passwordAlgorithm && user.status !== 'INVITED' ? user : null;
  const matches = stored
    ? await verifyPassword(stored.passwordHash!, stored.passwordAlgorithm!, attempt.password)
    : (await verifyPassword(await dummy(), 'ARGON2ID', attempt.password)) && false;

  const now = new Date();
  let reason: SignInFailure | null = null;
  if (stored?.lockedUntil && stored.lockedUntil > now) reason = 'account_locked';
  else if (!user || !matches) reason = 'invalid_credentials';
  else if (user.status === 'SUSPENDED') reason = 'account_suspended';
  else if (user.status === 'INACTIVE') reason = 'account_inactive';
  else if (user.status === 'PENDING_VERIFICATION' && !user.emailVerified) {
    if (realm.requireEmailVerification) reason = 'email_not_verified';
  }
  let tenantId = attempt.tenantId ?? null;
  // Only once the password is right, so that every refused guess sends the same statements.
  if (!reason && (tenantId || realm.tenancyMode === 'ISOLATED_POOL')) {
    const memberships = await db.tenantMembership.findMany({ where: { userId: user!.id }, select: { tenantId: true } });
    const ids = memberships.map((membership) => membership.tenantId);
    if (!tenantId && ids.length === 1) tenantId = ids[0]!;
    if (tenantId && !ids.includes(tenantId)) reason = 'not_tenant_member';
  }
  if (!reason && user!.passwordExpired) reason = 'password_expired';
  let problem: string | undefined;
  let changed: string | null = null;
  if (reason === 'password_expired' && attempt.newPassword !== undefined) {
    problem = await newPasswordProblem(prisma, attempt, user!);
    if (problem) reason = 'new_password_rejected';
    else {
      changed = await hashPassword(attempt.newPassword);
      reason = null;
    }
  }

  const event = {
    userId: user?.id ?? null,
    applicationId: attempt.applicationId,
    method: 'password',
    ipAddress: attempt.ipAddress ?? null,
    userAgent: userAgent ?? null,
    tenantId,
  };
  if (reason) {
    const counted = reason === 'invalid_credentials' || reason === 'account_locked';
    const system = { ...systemContext(prisma, attempt.realmId), ipAddress: attempt.ipAddress };
    await db.$transaction(async (tx) => {
      if (counted) await recordFailedSignIn(tx, system, stored?.id ?? null, realm, now);
      await tx.loginEvent.create({
        data: { ...event, realmId: attempt.realmId, success: false, failureReason: reason, at: now },
      });
    });
    return problem ? { ok: false, reason, problem } : { ok: false, reason };
  }

  const signedIn = user!;
  const secondFactor: SecondFactorStep | null = (await db.mfaFactor.count({
    where: { userId: signedIn.id, type: { in: ['TOTP', 'WEBAUTHN'] } },
  }))
    ? 'totp'
    : realm.mfaPolicy === 'REQUIRED' || signedIn.mfaEnrolmentRequired
      ? 'enrol'
      : null;
  const upgraded =
    !changed && signedIn.passwordAlgorithm === 'BCRYPT' && [...attempt.password].length <= PASSWORD_POLICY.maxLength
      ? await hashPassword(attempt.password)
      : null;
  const ctx = userContext(prisma, attempt.realmId, signedIn.id, attempt.ipAddress);
  await ctx.db.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: signedIn.id },
      data: {
        ...(secondFactor ? {} : { lastLoginAt: now }),
        ...(upgraded ? { passwordHash: upgraded, passwordAlgorithm: 'ARGON2ID' } : {}),
        ...(changed ? { ...newPasswordColumns(changed, now), version: { increment: 1 } } : {}),
      },
    });
    if (changed) {
      // The old password's sessions end with it.
      const revoked = await revokeSessionsOf(tx, [signedIn.id], 'password_changed', now);
      await recordAudit(tx, ctx, {
        action: 'user.password_changed',
        targetType: 'User',
        targetId: signedIn.id,
        changes: { revokedSessionIds: revoked },
      });
    }
    if (!secondFactor) {
      await recordSignedIn(tx, ctx, event, now, upgraded ? { passwordRehashed: 'BCRYPT→ARGON2ID' } : {});
    }
  });
  return { ok: true, userId: signedIn.id, secondFactor, tenantId };
}

export interface SignInEvent {
  userId: string | null;
  applicationId: string;
  method: string;
  ipAddress: string | null;
  userAgent: string | null;
  tenantId: string | null;
}

/**
 * A completed sign-in: the failure count cleared, the login event, the user's activity of the
 * quarter hour and the `user.signed_in` audit event.
 */
export async function recordSignedIn(
  tx: RealmTx,
  ctx: ServiceContext,
  event: SignInEvent,
  now: Date,
  changes: Record<string, unknown> = {},
): Promise<void> {
  await clearFailedSignIns(tx, event.userId!);
  await tx.loginEvent.create({ data: { ...event, realmId: ctx.realmId, success: true, at: now } });
  await noteUserActivity(tx, ctx.realmId, event.userId!, now);
  await recordAudit(tx, ctx, {
    action: 'user.signed_in',
    targetType: 'User',
    targetId: event.userId!,
    changes: { method: event.method, applicationId: event.applicationId, ...changes },
  });
}

export interface SecondStepAttempt {
  realmId: string;
  /** The user whose password was right, as the interaction recorded it. */
  userId: string;
  applicationId: string;
  /** The tenant the sign-in is within, as the password step resolved it. */
  tenantId: string | null;
  ipAddress?: string | undefined;
  userAgent?: string | undefined;
}

/** The user of a second step if they may still sign in (not deleted, not suspended or inactive, not locked). */
export async function secondStepUser(tx: RealmTx, userId: string, now: Date) {
  const user = await tx.user.findFirst({
    where: { id: userId, deletedAt: null, status: { in: ['ACTIVE', 'PENDING_VERIFICATION'] } },
    select: { id: true, lockedUntil: true },
  });
  return user && !(user.lockedUntil && user.lockedUntil > now) ? user : null;
}

/** Whether the user of a pending second step may still go on (`secondStepUser`). */
export async function secondStepAllowed(prisma: PrismaClient, realmId: string, userId: string): Promise<boolean> {
  return (await secondStepUser(scopeToRealm(prisma, realmId), userId, new Date())) !== null;
}

/**
 * The second step of a sign-in: a code of the user's authenticator, or one of their recovery
 * codes (`verifySecondFactor`). A wrong code counts as a failed sign-in towards the lockout
 * (`invalid_second_factor`); a user locked, suspended or deleted since the password is refused
 * (`account_locked`, not counted). The login event's method is `password+totp` or
 * `password+recovery_code`.
 */
export async function signInWithSecondFactor(
  prisma: PrismaClient,
  key: Buffer,
  attempt: SecondStepAttempt & { code: string },
): Promise<
  { ok: true; method: 'totp' | 'recovery_code' } | { ok: false; reason: 'invalid_second_factor' | 'account_locked' }
> {
  const now = new Date();
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: attempt.realmId },
    select: { maxFailedSignIns: true, failedSignInWindowSeconds: true, lockoutSeconds: true },
  });
  const event = eventOf(attempt, 'password+totp');
  const ctx = userContext(prisma, attempt.realmId, attempt.userId, attempt.ipAddress);
  return ctx.db.$transaction(async (tx) => {
    const refuse = async (reason: 'invalid_second_factor' | 'account_locked') => {
      await tx.loginEvent.create({
        data: { ...event, realmId: attempt.realmId, success: false, failureReason: reason, at: now },
      });
      return { ok: false as const, reason };
    };
    if (!(await secondStepUser(tx, attempt.userId, now))) return refuse('account_locked');
    const outcome = await verifySecondFactor(
      tx,
      key,
      { realmId: attempt.realmId, userId: attempt.userId, code: attempt.code.slice(0, 64) },
      now,
    );
    if (!outcome.ok) {
      const system = { ...systemContext(prisma, attempt.realmId), ipAddress: attempt.ipAddress };
      await recordFailedSignIn(tx, system, attempt.userId, realm, now);
      return refuse('invalid_second_factor');
    }
    await tx.user.update({ where: { id: attempt.userId }, data: { lastLoginAt: now } });
    await recordSignedIn(tx, ctx, { ...event, method: `password+${outcome.method}` }, now);
    return { ok: true as const, method: outcome.method };
  });
}

/**
 * Completes the sign-in of a user who has just enrolled an authenticator or a passkey (its code
 * or signature checked by the enrolment), unless they were locked, suspended or deleted meanwhile.
 */
export async function signInAfterEnrolment(
  prisma: PrismaClient,
  attempt: SecondStepAttempt,
  enrolled: 'TOTP' | 'WEBAUTHN' = 'TOTP',
): Promise<boolean> {
  const now = new Date();
  const ctx = userContext(prisma, attempt.realmId, attempt.userId, attempt.ipAddress);
  const method = enrolled === 'TOTP' ? 'password+totp' : 'password+passkey';
  return ctx.db.$transaction(async (tx) => {
    if (!(await secondStepUser(tx, attempt.userId, now))) return false;
    await tx.user.update({ where: { id: attempt.userId }, data: { lastLoginAt: now } });
    await recordSignedIn(tx, ctx, eventOf(attempt, method), now, { enrolled });
    return true;
  });
}

export function eventOf(
  attempt: Pick<SecondStepAttempt, 'userId' | 'applicationId' | 'ipAddress' | 'userAgent' | 'tenantId'>,
  method: string,
): SignInEvent {
  return {
    userId: attempt.userId,
    applicationId: attempt.applicationId,
    method,
    ipAddress: attempt.ipAddress ?? null,
    userAgent: attempt.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
    tenantId: attempt.tenantId,
  };
}

/** Why a user's chosen new password is refused (the realm's policy; not the current one), or undefined. */
async function newPasswordProblem(
  prisma: PrismaClient,
  attempt: SignInAttempt,
  user: PasswordContext,
): Promise<string | undefined> {
  const next = attempt.newPassword!;
  if (next === attempt.password) return 'The new password must differ from the current one.';
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: attempt.realmId },
    select: { passwordMinLength: true },
  });
  return passwordProblem(next, realm.passwordMinLength, user)?.message;
}

export interface SingleSignOnInput {
  realmId: string;
  userId: string;
  applicationId: string;
  /** The provider session that signed the person in without asking for credentials. */
  providerSessionUid: string;
  lifetimes: SessionLifetimes;
  ipAddress?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * Records a sign-in to an application that asked for no credentials because the person's
 * provider session was live (single sign-on, `prompt=none` included): a successful `LoginEvent`
 * with method `sso`, the user's `lastLoginAt` (like most identity providers, a sign-in without
 * a password is still a sign-in), the activity on the session (as a refresh notes it) and a
 * `user.signed_in` audit event. The failure count is left alone: no credential was checked.
 */
export async function recordSingleSignOn(prisma: PrismaClient, input: SingleSignOnInput): Promise<void> {
  const now = new Date();
  const session = await liveProviderSession(prisma, input.realmId, input.providerSessionUid, 'always', input.lifetimes);
  const ctx = userContext(prisma, input.realmId, input.userId, input.ipAddress);
  const event = eventOf({ ...input, tenantId: session?.tenantId ?? null }, 'sso');
  await ctx.db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: input.userId }, data: { lastLoginAt: now } });
    await tx.loginEvent.create({ data: { ...event, realmId: input.realmId, success: true, at: now } });
    await noteUserActivity(tx, input.realmId, input.userId, now);
    await noteApplicationSignIn(tx, { ...input, sessionId: session?.id ?? null }, now);
    await recordAudit(tx, ctx, {
      action: 'user.signed_in',
      targetType: 'User',
      targetId: input.userId,
      changes: { method: event.method, applicationId: input.applicationId },
    });
  });
}

/**
 * A wrong code typed while enrolling an authenticator at sign-in: counted towards the lockout
 * like a wrong password (the same `recordFailedSignIn`), with a failed login event (method
 * `password+totp`, reason `invalid_second_factor`). Returns whether the user is locked now.
 */
export async function recordFailedEnrolment(prisma: PrismaClient, attempt: SecondStepAttempt): Promise<boolean> {
  const now = new Date();
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: attempt.realmId },
    select: { maxFailedSignIns: true, failedSignInWindowSeconds: true, lockoutSeconds: true },
  });
  const system = { ...systemContext(prisma, attempt.realmId), ipAddress: attempt.ipAddress };
  return system.db.$transaction(async (tx) => {
    const outcome = await recordFailedSignIn(tx, system, attempt.userId, realm, now);
    await tx.loginEvent.create({
      data: {
        ...eventOf(attempt, 'password+totp'),
        realmId: attempt.realmId,
        success: false,
        failureReason: 'invalid_second_factor',
        at: now,
      },
    });
    return outcome.locked;
  });
}

export interface OpenSessionInput {
  realmId: string;
  userId: string;
  applicationId: string;
  /** The uid of the OpenID provider's session the sign-in opened or joined. */
  providerSessionUid: string;
  /** How long the session lasts from now unless used: the realm's idle timeout. */
  lifetimeSeconds: number;
  /** The tenant the sign-in is within. */
  tenantId: string | null;
  ipAddress?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * Records the session a sign-in opened, linked to the provider's session; an earlier session
 * row linked to the same provider session (the same browser signing in again) ends, replaced.
 * Returns the new session's id.
 */
export async function openSession(prisma: PrismaClient, input: OpenSessionInput): Promise<string> {
  const db = scopeToRealm(prisma, input.realmId);
  const userAgent = input.userAgent?.slice(0, MAX_USER_AGENT_LENGTH);
  const now = new Date();
  return db.$transaction(async (tx) => {
    await tx.session.updateMany({
      where: { providerSessionUid: input.providerSessionUid, revokedAt: null },
      data: { revokedAt: now, revokedReason: 'replaced' },
    });
    const session = await tx.session.create({
      data: {
        realmId: input.realmId,
        userId: input.userId,
        applicationId: input.applicationId,
        providerSessionUid: input.providerSessionUid,
        tenantId: input.tenantId,
        ipAddress: input.ipAddress ?? null,
        userAgent: userAgent ?? null,
        device: userAgent ? describeDevice(userAgent) : null,
        createdAt: now,
        lastActiveAt: now,
        expiresAt: new Date(now.getTime() + input.lifetimeSeconds * 1000),
      },
      select: { id: true },
    });
    await noteApplicationSignIn(tx, { ...input, sessionId: session.id }, now);
    return session.id;
  });
}

/**
 * Notes a sign-in to an application on the session (`Session.applications`) and on the user
 * (`UserApplication`, which `UserFilter.applicationIds` reads). Insert-if-absent then update,
 * so concurrent sign-ins to the same application cannot collide on the key.
 */
async function noteApplicationSignIn(
  tx: RealmTx,
  signIn: { realmId: string; userId: string; applicationId: string; sessionId: string | null },
  now: Date,
): Promise<void> {
  const { realmId, userId, applicationId, sessionId } = signIn;
  await tx.userApplication.createMany({
    data: [{ realmId, userId, applicationId, createdAt: now, lastUsedAt: now }],
    skipDuplicates: true,
  });
  await tx.userApplication.updateMany({ where: { userId, applicationId }, data: { lastUsedAt: now } });
  if (!sessionId) return;
  await tx.sessionApplication.createMany({
    data: [{ realmId, sessionId, applicationId, firstSignInAt: now, lastSignInAt: now }],
    skipDuplicates: true,
  });
  await tx.sessionApplication.updateMany({ where: { sessionId, applicationId }, data: { lastSignInAt: now } });
}

/** The Roster session a sign-in's tokens belong to. */
export interface SignInSession {
  id: string;
  tenantId: string | null;
}

/** A realm's session lifetimes (realm settings), in seconds. */
export interface SessionLifetimes {
  sessionIdleTimeoutSeconds: number;
  sessionMaxLifetimeSeconds: number;
}

/**
 * When a session started at `createdAt` and last used at `lastActiveAt` ends: its start plus the
 * maximum lifetime, or its last activity plus the idle timeout, whichever comes first.
 */
function sessionEnd(lifetimes: SessionLifetimes, createdAt: Date, lastActiveAt: Date): Date {
  return new Date(
    Math.min(
      createdAt.getTime() + lifetimes.sessionMaxLifetimeSeconds * 1000,
      lastActiveAt.getTime() + lifetimes.sessionIdleTimeoutSeconds * 1000,
    ),
  );
}

/**
 * How a use of a session notes its activity (the session's and the user's `lastActiveAt`, and
 * the session's `expiresAt` moved on by the idle timeout): `always` (a sign-in to another
 * application), `throttled` (a token refresh: only once the last noted activity is
 * `activityResolutionMs` old), or `none` (a check).
 */
export type SessionActivity = 'always' | 'throttled' | 'none';

/**
 * How old the noted activity of a session must be before a refresh notes it again: a minute,
 * or a tenth of the idle timeout when that is shorter (the idle timeout is at least 5 minutes).
 * SPAs may refresh far more often than that, and each noted activity is a write to two rows
 * (and a grants notification, since `expiresAt` changes); admins see activity to the minute.
 * A session kept alive by refreshes alone may end that much before its exact idle timeout.
 */
function activityResolutionMs(lifetimes: SessionLifetimes): number {
  return Math.min(60_000, (lifetimes.sessionIdleTimeoutSeconds * 1000) / 10);
}

/**
 * The live session a provider session stands for, or null: not revoked, neither past its
 * `expiresAt` nor past its end under the realm's lifetimes now (they may have been shortened),
 * and not within a tenant its user has left since.
 * A session found past its end gets that end as its `expiresAt`, so that the management API
 * shows it ended. `activity` says whether this use notes the activity (see `SessionActivity`).
 */
export async function liveProviderSession(
  prisma: PrismaClient,
  realmId: string,
  providerSessionUid: string,
  activity: SessionActivity,
  lifetimes?: SessionLifetimes,
): Promise<SignInSession | null> {
  const settings =
    lifetimes ??
    (await prisma.realm.findUniqueOrThrow({
      where: { id: realmId },
      select: { sessionIdleTimeoutSeconds: true, sessionMaxLifetimeSeconds: true },
    }));
  const live = await liveSession(prisma, realmId, providerSessionUid, activity, settings, () => true);
  return live && { id: live.id, tenantId: live.tenantId };
}

/** What `liveSignIn` needs of the realm: its id, session lifetimes and whether it requires verified emails. */
export type SignInRealm = { id: string; requireEmailVerification: boolean } & SessionLifetimes;

/**
 * A sign-in's token's session and user, when both are live: the session as `liveProviderSession`
 * finds it, and its user, who must be `userId` and may hold tokens now (as `signInAccount`
 * decides), read in the same statement. The activity is noted only when both are.
 */
export async function liveSignIn(
  prisma: PrismaClient,
  realm: SignInRealm,
  providerSessionUid: string,
  userId: string,
  activity: SessionActivity,
): Promise<{ session: SignInSession; account: SignInAccount } | null> {
  const live = await liveSession(
    prisma,
    realm.id,
    providerSessionUid,
    activity,
    realm,
    (user) => user.id === userId && mayHoldTokens(user, realm.requireEmailVerification),
  );
  if (!live) return null;
  const { deletedAt: _deletedAt, ...account } = live.user;
  return { session: { id: live.id, tenantId: live.tenantId }, account };
}

async function liveSession(
  prisma: PrismaClient,
  realmId: string,
  providerSessionUid: string,
  activity: SessionActivity,
  lifetimes: SessionLifetimes,
  accept: (user: SignInAccount & { deletedAt: Date | null }) => boolean,
) {
  const db = scopeToRealm(prisma, realmId);
  const now = new Date();
  const session = await signInSessionRow(prisma, realmId, providerSessionUid);
  if (!session || session.expiresAt <= now) return null;
  const end = sessionEnd(lifetimes, session.createdAt, session.lastActiveAt);
  if (end <= now) {
    await db.session.update({ where: { id: session.id }, data: { expiresAt: end } });
    return null;
  }
  if (!accept(session.user) || !session.member) return null;
  const noted = now.getTime() - session.lastActiveAt.getTime();
  if (activity === 'always' || (activity === 'throttled' && noted >= activityResolutionMs(lifetimes))) {
    await noteSessionActivity(db, realmId, session.id, now, sessionEnd(lifetimes, session.createdAt, now));
  }
  return session;
}

/** Whether the realm has a tenant with this id (a UUID). */
export async function realmHasTenant(prisma: PrismaClient, realmId: string, tenantId: string): Promise<boolean> {
  return UUID.test(tenantId) && (await scopeToRealm(prisma, realmId).tenant.count({ where: { id: tenantId } })) > 0;
}

const ACCOUNT_SELECT = {
  id: true,
  status: true,
  email: true,
  emailVerified: true,
  username: true,
  name: true,
  givenName: true,
  familyName: true,
  nickname: true,
  picture: true,
  gender: true,
  birthdate: true,
  locale: true,
  timezone: true,
  updatedAt: true,
} as const;

/** What a signed-in user's tokens and userinfo say about them. */
export type SignInAccount = Prisma.UserGetPayload<{ select: typeof ACCOUNT_SELECT }>;

/**
 * The user with this id if they may hold tokens of a sign-in now: not deleted, ACTIVE, or
 * PENDING_VERIFICATION in a realm that does not require verification. Null otherwise, so
 * that suspending, deactivating or deleting a user makes their next refresh fail.
 */
export async function signInAccount(
  prisma: PrismaClient,
  realmId: string,
  userId: string,
  /** The realm's setting, when the caller has it (else it is read when needed). */
  requireEmailVerification?: boolean,
): Promise<SignInAccount | null> {
  if (!UUID.test(userId)) return null;
  const user = await scopeToRealm(prisma, realmId).user.findFirst({
    where: { id: userId, deletedAt: null, status: { in: ['ACTIVE', 'PENDING_VERIFICATION'] } },
    select: ACCOUNT_SELECT,
  });
  if (!user) return null;
  const verification = user.status === 'PENDING_VERIFICATION' && !user.emailVerified;
  if (verification && (requireEmailVerification ?? (await requiresVerification(prisma, realmId)))) return null;
  return user;
}

/** Whether a user may hold tokens of a sign-in now (see `signInAccount`). */
function mayHoldTokens(user: SignInAccount & { deletedAt: Date | null }, requireEmailVerification: boolean): boolean {
  if (user.deletedAt || (user.status !== 'ACTIVE' && user.status !== 'PENDING_VERIFICATION')) return false;
  return !(user.status === 'PENDING_VERIFICATION' && !user.emailVerified && requireEmailVerification);
}

/** The standard claims of `user` that `scope` (space-separated) asks for; `sub` is the user id. */
export function userClaims(user: SignInAccount, scope: string): Record<string, unknown> & { sub: string } {
  const scopes = new Set(scope.split(' '));
  const claims: Record<string, unknown> & { sub: string } = { sub: user.id };
  if (scopes.has('profile')) {
    Object.assign(claims, {
      name: user.name ?? undefined,
      given_name: user.givenName ?? undefined,
      family_name: user.familyName ?? undefined,
      nickname: user.nickname ?? undefined,
      preferred_username: user.username ?? undefined,
      picture: user.picture ?? undefined,
      gender: user.gender ?? undefined,
      birthdate: user.birthdate?.toISOString().slice(0, 10),
      locale: user.locale ?? undefined,
      zoneinfo: user.timezone ?? undefined,
      updated_at: Math.floor(user.updatedAt.getTime() / 1000),
    });
  }
  if (scopes.has('email') && user.email)
    Object.assign(claims, { email: user.email, email_verified: user.emailVerified });
  return claims;
}

async function requiresVerification(prisma: PrismaClient, realmId: string): Promise<boolean> {
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: realmId },
    select: { requireEmailVerification: true },
  });
  return realm.requireEmailVerification;
}

/**
 * Ends the sessions a provider session stands for, as their user signed out (RP-initiated
 * logout): each gets `revokedReason` `signed_out` and a `user.signed_out` audit event.
 */
export async function signOut(
  prisma: PrismaClient,
  realmId: string,
  providerSessionUid: string,
  ipAddress: string | undefined,
): Promise<void> {
  const now = new Date();
  await scopeToRealm(prisma, realmId).$transaction(async (tx) => {
    const sessions = await tx.session.findMany({
      where: { providerSessionUid, revokedAt: null },
      select: { id: true, userId: true },
    });
    for (const session of sessions) {
      await tx.session.update({ where: { id: session.id }, data: { revokedAt: now, revokedReason: 'signed_out' } });
      await recordAudit(tx, userContext(prisma, realmId, session.userId, ipAddress), {
        action: 'user.signed_out',
        targetType: 'User',
        targetId: session.userId,
        changes: { sessionId: session.id },
      });
    }
  });
}

/**
 * A rotated refresh token came back (stolen, or replayed): the provider revoked its grant; the
 * sign-in's session ends too, with the provider session and its other grants, and the event
 * is audited (`user.refresh_token_reused`).
 */
export async function endSessionOnTokenReuse(
  prisma: PrismaClient,
  realmId: string,
  providerSessionUid: string,
  ipAddress: string | undefined,
): Promise<void> {
  const now = new Date();
  const ctx = { ...systemContext(prisma, realmId), ipAddress };
  await ctx.db.$transaction(async (tx) => {
    const sessions = await tx.session.findMany({
      where: { providerSessionUid, revokedAt: null },
      select: { id: true, userId: true },
    });
    await tx.session.updateMany({
      where: { id: { in: sessions.map((session) => session.id) } },
      data: { revokedAt: now, revokedReason: 'refresh_token_reuse' },
    });
    await endProviderSessions(tx, [providerSessionUid]);
    for (const session of sessions) {
      await recordAudit(tx, ctx, {
        action: 'user.refresh_token_reused',
        targetType: 'User',
        targetId: session.userId,
        changes: { sessionId: session.id },
      });
    }
  });
}

/** A short description of the device, e.g. `Firefox 128 on Ubuntu (desktop)`. */
export function describeDevice(userAgent: string): string | null {
  const parsed = new UAParser(userAgent).getResult();
  const browser = [parsed.browser.name, parsed.browser.major].filter(Boolean).join(' ');
  const os = [parsed.os.name, parsed.os.version].filter(Boolean).join(' ');
  const kind = parsed.device.type ?? 'desktop';
  if (!browser && !os) return null;
  return `${browser || 'Unknown browser'}${os ? ` on ${os}` : ''} (${kind})`;
}
