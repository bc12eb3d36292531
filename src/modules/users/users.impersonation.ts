import { UUID } from '../../auth/ids.ts';
import { MANAGEMENT_ADMIN_ROLE_NAME } from '../../auth/scopes.ts';
import type { ImpersonationMode, PrismaClient } from '../../generated/prisma/client.ts';
import { webhookSubscriptionsOf, type ServiceContext } from '../../context.ts';
import { scopeToRealm } from '../../db/realm-scope.ts';
import { recordAudit } from '../audit/audit.service.ts';

/** What the realm allows (its settings) and needs to decide whether a user may be impersonated. */
export interface ImpersonationRealm {
  id: string;
  requireEmailVerification: boolean;
  impersonateAdministrators: boolean;
}

export interface ImpersonationInput {
  /** The application acting as the user (authenticated, holding `users:impersonate`). */
  actor: { applicationId: string; clientId: string; scopes: ReadonlySet<string> };
  /** The user to act as: the `subject_token` (a user id). */
  userId: string;
  mode: ImpersonationMode;
  /** The API the token is for (null: the userinfo endpoint) and the scopes it carries. */
  resource: string | null;
  scopes: readonly string[];
  /** The id of the provider grant the token belongs to: the session's `providerSessionUid`. */
  grantId: string;
  /** How long the impersonation's token and session last. */
  lifetimeSeconds: number;
  ipAddress?: string | undefined;
  userAgent?: string | undefined;
}

/** Why a user cannot be impersonated (the token endpoint answers `invalid_request` with it). */
export type ImpersonationRefusal = 'unknown_user' | 'cannot_sign_in' | 'locked' | 'administrator';

export const IMPERSONATION_REFUSALS: Record<ImpersonationRefusal, string> = {
  unknown_user: 'subject_token names no user of the realm.',
  cannot_sign_in:
    'The user cannot sign in (suspended, inactive, deleted, invited or unverified) and cannot be impersonated.',
  locked: 'The user is locked out after failed sign-ins and cannot be impersonated until the lockout ends.',
  administrator:
    'The user holds the realm’s administrator role; the realm does not allow impersonating administrators.',
};

const MAX_USER_AGENT_LENGTH = 512;

/**
 * The user `userId` if the realm's rules let `actor` impersonate them, else why not: the user
 * exists, could sign in now (as `signInAccount` decides: not deleted, ACTIVE, or
 * PENDING_VERIFICATION where the realm does not require verification), is not locked out, and
 * does not hold the built-in administrator role unless the realm allows it. Read in one
 * statement, inside the transaction that records the impersonation.
 */
async function impersonationTarget(
  tx: ServiceContext['db'],
  realm: ImpersonationRealm,
  userId: string,
  now: Date,
): Promise<ImpersonationRefusal | null> {
  if (!UUID.test(userId)) return 'unknown_user';
  const user = await tx.user.findFirst({
    where: { id: userId.toLowerCase() },
    select: {
      status: true,
      emailVerified: true,
      deletedAt: true,
      lockedUntil: true,
      roles: {
        where: { tenantId: null, role: { builtIn: true, name: MANAGEMENT_ADMIN_ROLE_NAME, tenantId: null } },
        select: { id: true },
        take: 1,
      },
    },
  });
  if (!user) return 'unknown_user';
  if (user.deletedAt || (user.status !== 'ACTIVE' && user.status !== 'PENDING_VERIFICATION')) return 'cannot_sign_in';
  if (user.status === 'PENDING_VERIFICATION' && !user.emailVerified && realm.requireEmailVerification) {
    return 'cannot_sign_in';
  }
  if (user.lockedUntil && user.lockedUntil > now) return 'locked';
  if (user.roles.length > 0 && !realm.impersonateAdministrators) return 'administrator';
  return null;
}

/** Why the realm's rules refuse to impersonate `userId` now (see `impersonationTarget`), or null. */
export function impersonationRefusal(
  prisma: PrismaClient,
  realm: ImpersonationRealm,
  userId: string,
): Promise<ImpersonationRefusal | null> {
  return impersonationTarget(scopeToRealm(prisma, realm.id), realm, userId, new Date());
}

/**
 * Records an impersonation if the realm's rules allow it, in one transaction: a `Session` of the
 * user flagged with the actor (`impersonatedBy`, `impersonationMode`), linked to the provider
 * grant of its token, lasting as long as that token, and a `user.impersonated` audit event
 * (actor: the application). Returns the session's id, or the refusal (nothing written).
 */
export async function recordImpersonation(
  prisma: PrismaClient,
  realm: ImpersonationRealm,
  input: ImpersonationInput,
): Promise<{ sessionId: string } | { refusal: ImpersonationRefusal }> {
  const ctx: ServiceContext = {
    realmId: realm.id,
    db: scopeToRealm(prisma, realm.id),
    caller: {
      kind: 'application',
      id: input.actor.clientId,
      clientId: input.actor.clientId,
      applicationId: input.actor.applicationId,
      scopes: input.actor.scopes,
    },
    ipAddress: input.ipAddress,
    webhookSubscribers: webhookSubscriptionsOf(prisma),
  };
  const now = new Date();
  return ctx.db.$transaction(async (tx) => {
    const refusal = await impersonationTarget(tx as ServiceContext['db'], realm, input.userId, now);
    if (refusal) return { refusal };
    const userId = input.userId.toLowerCase();
    const session = await tx.session.create({
      data: {
        realmId: realm.id,
        userId,
        applicationId: input.actor.applicationId,
        providerSessionUid: input.grantId,
        ipAddress: input.ipAddress ?? null,
        userAgent: input.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
        createdAt: now,
        lastActiveAt: now,
        expiresAt: new Date(now.getTime() + input.lifetimeSeconds * 1000),
        impersonatedBy: input.actor.clientId,
        impersonationMode: input.mode,
      },
      select: { id: true },
    });
    await recordAudit(tx, ctx, {
      action: 'user.impersonated',
      targetType: 'User',
      targetId: userId,
      changes: {
        mode: input.mode,
        sessionId: session.id,
        resource: input.resource,
        scopes: [...input.scopes],
        expiresAt: new Date(now.getTime() + input.lifetimeSeconds * 1000).toISOString(),
      },
    });
    return { sessionId: session.id };
  });
}
