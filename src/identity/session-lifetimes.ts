import { interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { PrismaClient, Realm } from '../generated/prisma/client.ts';
import {
  liveProviderSession,
  liveSignIn,
  type SessionLifetimes,
  type SignInAccount,
  type SignInRealm,
  type SignInSession,
} from '../modules/users/users.signin.ts';

type Lifetimes = Pick<Realm, 'id'> & SessionLifetimes;

const now = () => Math.floor(Date.now() / 1000);

/** Seconds left until `since` (epoch seconds) plus the maximum lifetime; at least 1 (the library refuses 0). */
function remaining(lifetimes: SessionLifetimes, since: number | undefined): number {
  const start = since ?? now();
  return Math.max(1, start + lifetimes.sessionMaxLifetimeSeconds - now());
}

/**
 * The provider's lifetimes for a sign-in's artifacts, from the realm's settings. The browser's
 * provider session (and its cookie) and the grants last until the sign-in's start plus the
 * maximum lifetime; the idle timeout is the Roster session's (see `liveProviderSession` and
 * `sessionEndedCheck`). A refresh token lasts the idle timeout, and with rotation each new one
 * never beyond the sign-in's `auth_time` plus the maximum lifetime: rotation cannot stretch it.
 */
export function sessionTtls(
  lifetimes: SessionLifetimes,
): Pick<NonNullable<Configuration['ttl']>, 'Session' | 'Grant' | 'RefreshToken'> {
  return {
    Session: (_ctx, session) => remaining(lifetimes, session.loginTs),
    Grant: () => lifetimes.sessionMaxLifetimeSeconds,
    RefreshToken: (_ctx, token) =>
      Math.min(lifetimes.sessionIdleTimeoutSeconds, remaining(lifetimes, token.authTime ?? token.iiat)),
  };
}

/**
 * The Roster session and the user of a sign-in's token (one with a `sessionUid`) for account
 * `accountId`, or null when it may no longer be used; a refresh grant (`refresh`) notes the
 * activity, at most once a minute (see `SessionActivity`). Its Roster session is live (not
 * revoked, not idle too long, not older than the maximum lifetime, not within a tenant the user
 * has left), its user may hold tokens, and the sign-in it comes from (`authTime`) is no older
 * than the maximum lifetime either (an `offline_access` token included). Undefined for a token
 * of no sign-in.
 */
export async function signInTokenSession(
  prisma: PrismaClient,
  realm: SignInRealm,
  token: { sessionUid?: string | undefined; authTime?: number | undefined },
  accountId: string,
  refresh: boolean,
): Promise<{ session: SignInSession; account: SignInAccount } | null | undefined> {
  if (!token.sessionUid) return undefined;
  if (token.authTime !== undefined && token.authTime + realm.sessionMaxLifetimeSeconds <= now()) return null;
  return liveSignIn(prisma, realm, token.sessionUid, accountId, refresh ? 'throttled' : 'none');
}

/**
 * The provider's interaction policy with one more reason to ask for the password: the browser
 * has a provider session, but the Roster session it stands for has ended (idle timeout, maximum
 * lifetime, or revoked) — without it, single sign-on would outlive the session the management
 * API shows as ended — or the application asks for another tenant (`tenant`) than the one that
 * session is within (a browser's sign-in is within one tenant at a time; the new sign-in
 * replaces it). `prompt=none` then gets `login_required`.
 */
export function signInPolicy(prisma: PrismaClient, realm: Lifetimes): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'session_ended',
      'The session has ended or is within another tenant; End-User authentication is required',
      'login_required',
      async (ctx: KoaContextWithOIDC) => {
        const { session, result, params } = ctx.oidc;
        // Just signed in: the session row is written once the provider has answered.
        if (!session?.accountId || result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const live = await liveProviderSession(prisma, realm.id, session.uid, 'none', realm);
        if (!live) return true;
        const tenant = params?.tenant;
        return typeof tenant === 'string' && live.tenantId !== tenant.toLowerCase();
      },
    ),
  );
  return policy;
}
