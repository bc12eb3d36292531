import type { OneTimeLinkPurpose, PrismaClient } from '../../generated/prisma/client.ts';
import type { RealmTx } from '../../context.ts';
import { randomToken, sha256 } from '../../auth/crypto.ts';
import { scopeToRealm } from '../../db/realm-scope.ts';

/** How long a link works, in seconds. */
export const LINK_TTL_SECONDS: Record<OneTimeLinkPurpose, number> = {
  EMAIL_VERIFICATION: 24 * 3600,
  PASSWORD_RESET: 3600,
  INVITATION: 7 * 24 * 3600,
  ACCOUNT_RECOVERY: 24 * 3600,
};

/** Where each kind of link leads, under the realm's issuer. */
const LINK_PATHS: Record<OneTimeLinkPurpose, string> = {
  EMAIL_VERIFICATION: 'verify-email',
  PASSWORD_RESET: 'reset-password',
  INVITATION: 'accept-invitation',
  ACCOUNT_RECOVERY: 'recover-account',
};

/** 32 random bytes, base64url: what `randomToken()` writes. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const expiresInWords = (seconds: number) =>
  seconds % 86_400 === 0 && seconds > 86_400
    ? `${seconds / 86_400} days`
    : seconds % 3600 === 0
      ? `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`
      : `${Math.round(seconds / 60)} minutes`;

/**
 * Makes a link of `purpose` for the user, in the caller's transaction, and returns its URL: only
 * the token's hash is stored. The user's earlier unused links of the same purpose (and tenant,
 * for an invitation) stop working.
 */
export async function issueLink(
  tx: RealmTx,
  input: {
    realmId: string;
    issuer: string;
    userId: string;
    purpose: OneTimeLinkPurpose;
    email: string;
    tenantId?: string | null;
  },
): Promise<{ id: string; url: string; expiresIn: string; expiresAt: Date }> {
  const now = new Date();
  const tenantId = input.tenantId ?? null;
  await tx.oneTimeLink.updateMany({
    where: { userId: input.userId, purpose: input.purpose, tenantId, usedAt: null },
    data: { usedAt: now },
  });
  const token = randomToken();
  const ttl = LINK_TTL_SECONDS[input.purpose];
  const expiresAt = new Date(now.getTime() + ttl * 1000);
  const link = await tx.oneTimeLink.create({
    data: {
      realmId: input.realmId,
      userId: input.userId,
      purpose: input.purpose,
      tokenHash: sha256(token),
      email: input.email,
      tenantId,
      expiresAt,
    },
  });
  return {
    id: link.id,
    url: `${input.issuer}/${LINK_PATHS[input.purpose]}?token=${token}`,
    expiresIn: expiresInWords(ttl),
    expiresAt,
  };
}

/** The link of this token if it still works (not used, not expired); it stays unused. */
export async function usableLink(prisma: PrismaClient, realmId: string, purpose: OneTimeLinkPurpose, token: string) {
  if (!TOKEN.test(token)) return null;
  return scopeToRealm(prisma, realmId).oneTimeLink.findFirst({
    where: { tokenHash: sha256(token), purpose, usedAt: null, expiresAt: { gt: new Date() } },
    select: { userId: true, email: true, tenantId: true },
  });
}

/**
 * Uses the link of this token, in the caller's transaction: one statement that marks it used only
 * if it still works, so of two concurrent uses one wins. Null when it does not work (any more).
 */
export async function consumeLink(
  tx: RealmTx,
  purpose: OneTimeLinkPurpose,
  token: string,
): Promise<{ userId: string; email: string; tenantId: string | null } | null> {
  if (!TOKEN.test(token)) return null;
  const now = new Date();
  const [link] = await tx.oneTimeLink.updateManyAndReturn({
    where: { tokenHash: sha256(token), purpose, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
    select: { userId: true, email: true, tenantId: true },
  });
  return link ?? null;
}
