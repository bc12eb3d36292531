import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { systemContext, userContext, type RealmTx, type ServiceContext } from '../../context.ts';
import { sha256 } from '../../auth/crypto.ts';
import { scopeToRealm } from '../../db/realm-scope.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { isUniqueViolation } from '../user-error.ts';
import { bumpVersion } from './users.core.ts';
import { recordFailedSignIn } from './users.lockout.ts';
import {
  describeDevice,
  eventOf,
  recordSignedIn,
  secondStepUser,
  type SignInFailure,
  type SecondStepAttempt,
} from './users.signin.ts';

/** What a passkey ceremony is for: a sign-in by passkey alone, the second step after a password, or a new passkey. */
type PasskeyPurpose = 'authenticate' | 'second-factor' | 'register';

/**
 * The relying party of a realm's passkeys: its ID is the host of Roster's public URL (so a
 * passkey works for every realm served there, and is told apart by its credential id), and
 * responses must come from the issuer's origin.
 */
export interface RelyingParty {
  id: string;
  origin: string;
  name: string;
}

/**
 * The WebAuthn relying party of a realm's issuer: its host, origin and display name. Null when the
 * host is an IP address: WebAuthn takes only a domain name as relying party ID (browsers refuse
 * an address with a SecurityError), so passkeys cannot work there at all.
 */
export function relyingPartyOf(issuer: string, name: string): RelyingParty | null {
  const url = new URL(issuer);
  if (isIP(url.hostname.replace(/^\[(.*)\]$/, '$1'))) return null;
  return { id: url.hostname, origin: url.origin, name };
}

/** How long a browser has to answer a challenge; the WebAuthn timeout shown to it is the same. */
const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/**
 * The key algorithms a passkey may use: EdDSA, ES256, RS256 (COSE ids). Not the library's default,
 * which puts ML-DSA-44 first where the runtime has it (Node.js 24, not 22, and only as an
 * experiment): a passkey made while Roster ran on 24 could no longer be verified on 22.
 */
const KEY_ALGORITHMS = [-8, -7, -257];
/**
 * Responses larger than this are refused before parsing. A none-attestation response is under
 * 2 KB with those keys; a post-quantum key (ML-DSA-44) takes one to about 6.2 KB, and Chromium
 * now and then pads the client data.
 */
const MAX_RESPONSE_LENGTH = 12 * 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_CREDENTIAL_ID_LENGTH = 1364; // 1023 bytes (the WebAuthn maximum), base64url.
const MAX_NAME_LENGTH = 100;

interface ChallengeTarget {
  realmId: string;
  interactionUid: string;
  purpose: PasskeyPurpose;
  /** The user a second step or a registration is for; null for a sign-in by passkey alone. */
  userId: string | null;
}

/** A challenge's bytes: its expiry (ms since the epoch, 8 bytes), a random nonce (16), the MAC (32). */
const NONCE_BYTES = 16;
const CHALLENGE_BYTES = 8 + NONCE_BYTES + 32;
const CHALLENGE_LENGTH = Math.ceil((CHALLENGE_BYTES * 4) / 3);

function challengeMac(key: Buffer, target: ChallengeTarget, expiresAt: Buffer, nonce: Buffer): Buffer {
  const bound = [target.realmId, target.interactionUid, target.purpose, target.userId ?? ''];
  return createHmac('sha256', key).update(JSON.stringify(bound)).update(expiresAt).update(nonce).digest();
}

/**
 * A new challenge for `target`: stateless, so showing a page writes nothing. It is its expiry, a
 * nonce and a MAC (under `key`, derived from the server secret) over both and the realm, the
 * sign-in (interaction), the purpose and the user; `consumeChallenge` checks it.
 */
function issueChallenge(key: Buffer, target: ChallengeTarget, now: Date): string {
  const expiresAt = Buffer.alloc(8);
  expiresAt.writeBigUInt64BE(BigInt(now.getTime() + CHALLENGE_TTL_MS));
  const nonce = randomBytes(NONCE_BYTES);
  return Buffer.concat([expiresAt, nonce, challengeMac(key, target, expiresAt, nonce)]).toString('base64url');
}

/**
 * Uses up the challenge a response presents if it was issued for `target` (its MAC) and is still
 * live: the MAC and the expiry are both checked before either refuses, then a row keyed by the
 * challenge's digest is inserted, so that of two concurrent responses presenting it only one
 * goes on and a replayed response conflicts with the row.
 */
async function consumeChallenge(
  prisma: PrismaClient,
  key: Buffer,
  target: ChallengeTarget,
  challenge: string,
  now: Date,
): Promise<boolean> {
  if (challenge.length !== CHALLENGE_LENGTH || !BASE64URL.test(challenge)) return false;
  const bytes = Buffer.from(challenge, 'base64url');
  if (bytes.length !== CHALLENGE_BYTES) return false;
  const expiresAt = bytes.subarray(0, 8);
  const expected = challengeMac(key, target, expiresAt, bytes.subarray(8, 8 + NONCE_BYTES));
  const expiry = Number(expiresAt.readBigUInt64BE(0));
  const authentic = timingSafeEqual(expected, bytes.subarray(8 + NONCE_BYTES));
  const live = expiry > now.getTime();
  if (!(authentic && live)) return false;
  try {
    await scopeToRealm(prisma, target.realmId).usedPasskeyChallenge.create({
      data: { realmId: target.realmId, digest: sha256(challenge), expiresAt: new Date(expiry) },
      select: { digest: true },
    });
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

/**
 * Deletes the used-challenge rows whose challenges have expired (refused by their expiry from
 * then on): at most the uses of one challenge lifetime plus one sweep interval are ever kept.
 * Safe to run in several processes at once.
 */
export async function sweepUsedPasskeyChallenges(prisma: PrismaClient, now = new Date()): Promise<number> {
  const { count } = await prisma.usedPasskeyChallenge.deleteMany({ where: { expiresAt: { lte: now } } });
  return count;
}

/** The credential response a page posted, when it has the shape of one; the library checks the rest. */
function parseResponse<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(
  text: string,
  kind: 'attestationObject' | 'authenticatorData',
): { response: T; challenge: string } | null {
  if (!text || text.length > MAX_RESPONSE_LENGTH) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const credential = value as { id?: unknown; rawId?: unknown; type?: unknown; response?: Record<string, unknown> };
  if (
    typeof credential !== 'object' ||
    credential === null ||
    typeof credential.id !== 'string' ||
    !BASE64URL.test(credential.id) ||
    credential.id.length > MAX_CREDENTIAL_ID_LENGTH ||
    credential.rawId !== credential.id ||
    credential.type !== 'public-key' ||
    typeof credential.response !== 'object' ||
    credential.response === null ||
    typeof credential.response.clientDataJSON !== 'string' ||
    typeof credential.response[kind] !== 'string'
  ) {
    return null;
  }
  let clientData: { challenge?: unknown };
  try {
    clientData = JSON.parse(Buffer.from(credential.response.clientDataJSON, 'base64url').toString('utf8')) as {
      challenge?: unknown;
    };
  } catch {
    return null;
  }
  if (typeof clientData?.challenge !== 'string') return null;
  return { response: value as T, challenge: clientData.challenge };
}

const userHandleOf = (userId: string) => new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));

/**
 * The options of a registration for `user` in the interaction `interactionUid`: a discoverable
 * credential (a passkey), no attestation (Roster trusts no authenticator model more than
 * another), the user's passkeys excluded.
 */
export async function registrationOptions(
  prisma: PrismaClient,
  key: Buffer,
  input: {
    realmId: string;
    interactionUid: string;
    relyingParty: RelyingParty;
    user: { id: string; name: string; displayName: string };
  },
  now = new Date(),
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { realmId, interactionUid, relyingParty, user } = input;
  const existing = await scopeToRealm(prisma, realmId).mfaFactor.findMany({
    where: { userId: user.id, type: 'WEBAUTHN', credentialId: { not: null } },
    select: { credentialId: true, transports: true },
  });
  const challenge = issueChallenge(key, { realmId, interactionUid, purpose: 'register', userId: user.id }, now);
  return generateRegistrationOptions({
    rpName: relyingParty.name,
    rpID: relyingParty.id,
    userName: user.name,
    userDisplayName: user.displayName,
    userID: userHandleOf(user.id),
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    supportedAlgorithmIDs: KEY_ALGORITHMS,
    excludeCredentials: existing.map((factor) => ({ id: factor.credentialId!, transports: factor.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
}

/**
 * The options of a sign-in by passkey: without a user (`userId` null), any passkey of the
 * realm's relying party the browser holds (discoverable credentials) with user verification
 * required, for it stands in for the password too; as a second step, the user's passkeys.
 */
export async function authenticationOptions(
  prisma: PrismaClient,
  key: Buffer,
  input: { realmId: string; interactionUid: string; relyingParty: RelyingParty; userId: string | null },
  now = new Date(),
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { realmId, interactionUid, relyingParty, userId } = input;
  const allow = userId
    ? await scopeToRealm(prisma, realmId).mfaFactor.findMany({
        where: { userId, type: 'WEBAUTHN', credentialId: { not: null } },
        select: { credentialId: true, transports: true },
      })
    : [];
  const purpose = userId ? 'second-factor' : 'authenticate';
  const challenge = issueChallenge(key, { realmId, interactionUid, purpose, userId }, now);
  return generateAuthenticationOptions({
    rpID: relyingParty.id,
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    timeout: CHALLENGE_TTL_MS,
    userVerification: userId ? 'preferred' : 'required',
    allowCredentials: allow.map((factor) => ({ id: factor.credentialId!, transports: factor.transports })),
  });
}

export type RegisterPasskeyOutcome =
  { ok: true; factorId: string } | { ok: false; reason: 'invalid_passkey' | 'already_registered' | 'account_locked' };

/** A new passkey whose registration response checked out (`verifyPasskeyRegistration`), not stored yet. */
export interface VerifiedPasskey {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  backedUp: boolean;
  /** Named after the device it was made on. */
  name: string;
}

/**
 * Checks the registration response a page posted for `userId`: its challenge (issued for this
 * interaction or link and user, used up here whatever follows), origin and relying party. Null
 * when any of it does not check out.
 */
export async function verifyPasskeyRegistration(
  prisma: PrismaClient,
  key: Buffer,
  input: {
    realmId: string;
    userId: string;
    interactionUid: string;
    relyingParty: RelyingParty;
    response: string;
    userAgent?: string | undefined;
  },
  now = new Date(),
): Promise<VerifiedPasskey | null> {
  const parsed = parseResponse<RegistrationResponseJSON>(input.response, 'attestationObject');
  const target = { realmId: input.realmId, interactionUid: input.interactionUid, purpose: 'register' as const };
  if (!parsed || !(await consumeChallenge(prisma, key, { ...target, userId: input.userId }, parsed.challenge, now))) {
    return null;
  }
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: parsed.response,
      expectedChallenge: parsed.challenge,
      expectedOrigin: input.relyingParty.origin,
      expectedRPID: input.relyingParty.id,
      requireUserVerification: false,
      supportedAlgorithmIDs: KEY_ALGORITHMS,
    });
  } catch {
    return null;
  }
  if (!verified.verified) return null;
  const { credential, credentialBackedUp } = verified.registrationInfo;
  const device = input.userAgent ? describeDevice(input.userAgent) : null;
  return {
    credentialId: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: (credential.transports ?? []).slice(0, 8).map((transport) => transport.slice(0, 32)),
    backedUp: credentialBackedUp,
    name: (device ? `Passkey (${device})` : 'Passkey').slice(0, MAX_NAME_LENGTH),
  };
}

/**
 * Stores a verified passkey as a WEBAUTHN factor of `userId` (its credential id is unique in the
 * realm: a second registration is a unique violation), in the caller's transaction, audited as
 * `user.mfa_enrolled`. The user's own row (version, `mfaEnrolmentRequired`) is the caller's to
 * update. Both enrolments, from a sign-in and from an invitation, write the factor here.
 */
export async function addPasskeyFactor(
  tx: RealmTx,
  ctx: ServiceContext,
  userId: string,
  passkey: VerifiedPasskey,
  now: Date,
): Promise<string> {
  const factor = await tx.mfaFactor.create({
    data: {
      realmId: ctx.realmId,
      userId,
      type: 'WEBAUTHN',
      name: passkey.name,
      credentialId: passkey.credentialId,
      publicKey: passkey.publicKey,
      signCount: BigInt(passkey.counter),
      transports: passkey.transports,
      backedUp: passkey.backedUp,
      createdAt: now,
    },
    select: { id: true },
  });
  await recordAudit(tx, ctx, {
    action: 'user.mfa_enrolled',
    targetType: 'User',
    targetId: userId,
    changes: { type: 'WEBAUTHN', factorId: factor.id, backedUp: passkey.backedUp },
  });
  return factor.id;
}

/**
 * Registers the passkey a page's response describes for the user of a sign-in, once it checks
 * out (`verifyPasskeyRegistration`), as a WEBAUTHN factor (`addPasskeyFactor`) with its public
 * key, counter and transports.
 */
export async function registerPasskey(
  prisma: PrismaClient,
  key: Buffer,
  input: {
    realmId: string;
    userId: string;
    interactionUid: string;
    relyingParty: RelyingParty;
    response: string;
    ipAddress?: string | undefined;
    userAgent?: string | undefined;
  },
  now = new Date(),
): Promise<RegisterPasskeyOutcome> {
  const passkey = await verifyPasskeyRegistration(prisma, key, input, now);
  if (!passkey) return { ok: false, reason: 'invalid_passkey' };
  const ctx = userContext(prisma, input.realmId, input.userId, input.ipAddress);
  try {
    return await ctx.db.$transaction(async (tx): Promise<RegisterPasskeyOutcome> => {
      if (!(await secondStepUser(tx, input.userId, now))) return { ok: false, reason: 'account_locked' };
      const factorId = await addPasskeyFactor(tx, ctx, input.userId, passkey, now);
      await bumpVersion(tx, input.userId);
      return { ok: true, factorId };
    });
  } catch (error) {
    if (isUniqueViolation(error)) return { ok: false, reason: 'already_registered' };
    throw error;
  }
}

export interface PasskeyAttempt {
  realmId: string;
  interactionUid: string;
  relyingParty: RelyingParty;
  /** The credential response the page posted (JSON). */
  response: string;
  applicationId: string;
  ipAddress?: string | undefined;
  userAgent?: string | undefined;
}

export type PasskeySignInResult =
  | { ok: true; userId: string; tenantId: string | null }
  | {
      ok: false;
      reason: SignInFailure;
      /** Whether the refusal counts towards the address's and application's limits. */ counted: boolean;
    };

/**
 * A sign-in with a passkey alone (a discoverable credential, user verification required): the
 * passkey's signature over this interaction's challenge (used up here) proves who signs in.
 * Then the rules of a password sign-in: a locked user is refused (`account_locked`), a
 * suspended, inactive or unverified one as `signInWithPassword` refuses them, and a sign-in
 * within a tenant must be by a member. A signature that does not verify counts as a failed
 * sign-in towards the user's lockout; a counter that went backwards (a cloned authenticator)
 * is refused, counted and audited (`user.passkey_counter_regressed`). Every attempt is a
 * `LoginEvent` with method `passkey`; a success also updates the passkey's counter and
 * `lastUsedAt`, the user's `lastLoginAt`, and is audited like any sign-in.
 */
export async function signInWithPasskey(
  prisma: PrismaClient,
  key: Buffer,
  attempt: PasskeyAttempt & { tenantId: string | null },
): Promise<PasskeySignInResult> {
  const now = new Date();
  const db = scopeToRealm(prisma, attempt.realmId);
  const event = { ...eventOf({ ...attempt, userId: '' }, 'passkey'), userId: null };
  const refuse = async (
    reason: SignInFailure,
    counted: boolean,
    userId: string | null = null,
    tenantId: string | null = attempt.tenantId,
  ): Promise<PasskeySignInResult> => {
    await db.loginEvent.create({
      data: { ...event, userId, tenantId, realmId: attempt.realmId, success: false, failureReason: reason, at: now },
    });
    return { ok: false, reason, counted };
  };
  const parsed = parseResponse<AuthenticationResponseJSON>(attempt.response, 'authenticatorData');
  const target = { ...attempt, purpose: 'authenticate' as const, userId: null };
  if (!parsed || !(await consumeChallenge(prisma, key, target, parsed.challenge, now))) {
    return refuse('invalid_passkey', true);
  }
  const factor = await db.mfaFactor.findFirst({
    where: { type: 'WEBAUTHN', credentialId: parsed.response.id },
    select: { id: true, userId: true },
  });
  if (!factor) return refuse('invalid_passkey', true);
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: attempt.realmId },
    select: {
      requireEmailVerification: true,
      maxFailedSignIns: true,
      failedSignInWindowSeconds: true,
      lockoutSeconds: true,
      tenancyMode: true,
    },
  });
  const checked = await checkAssertion(prisma, attempt, parsed, factor.id, true, realm, now);
  if (checked !== 'ok') return refuse(checked, checked !== 'account_locked', factor.userId);

  const user = await db.user.findFirst({
    where: { id: factor.userId, deletedAt: null, status: { not: 'DELETED' } },
    select: { id: true, status: true, emailVerified: true, lockedUntil: true },
  });
  if (!user || (user.lockedUntil && user.lockedUntil > now)) return refuse('account_locked', false, factor.userId);
  if (user.status === 'SUSPENDED') return refuse('account_suspended', false, user.id);
  if (user.status === 'INACTIVE' || user.status === 'INVITED') return refuse('account_inactive', false, user.id);
  if (user.status === 'PENDING_VERIFICATION' && !user.emailVerified && realm.requireEmailVerification) {
    return refuse('email_not_verified', false, user.id);
  }
  let tenantId = attempt.tenantId;
  if (tenantId || realm.tenancyMode === 'ISOLATED_POOL') {
    const memberships = await db.tenantMembership.findMany({ where: { userId: user.id }, select: { tenantId: true } });
    const ids = memberships.map((membership) => membership.tenantId);
    if (!tenantId && ids.length === 1) tenantId = ids[0]!;
    if (tenantId && !ids.includes(tenantId)) return refuse('not_tenant_member', false, user.id, tenantId);
  }
  const ctx = userContext(prisma, attempt.realmId, user.id, attempt.ipAddress);
  await ctx.db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { lastLoginAt: now } });
    await recordSignedIn(tx, ctx, { ...event, userId: user.id, tenantId }, now, { factorId: factor.id });
  });
  return { ok: true, userId: user.id, tenantId };
}

/**
 * The second step of a sign-in with one of the user's passkeys, in place of an authenticator's
 * code: refused like a wrong code (`invalid_second_factor`, counted towards the lockout) when it
 * does not verify; a user locked, suspended or deleted since the password is refused
 * (`account_locked`). Method `password+passkey`.
 */
export async function signInWithPasskeySecondFactor(
  prisma: PrismaClient,
  key: Buffer,
  attempt: PasskeyAttempt & SecondStepAttempt,
): Promise<{ ok: true } | { ok: false; reason: SignInFailure }> {
  const now = new Date();
  const db = scopeToRealm(prisma, attempt.realmId);
  const event = eventOf(attempt, 'password+passkey');
  const refuse = async (reason: SignInFailure) => {
    await db.loginEvent.create({
      data: { ...event, realmId: attempt.realmId, success: false, failureReason: reason, at: now },
    });
    return { ok: false as const, reason };
  };
  const realm = await prisma.realm.findUniqueOrThrow({
    where: { id: attempt.realmId },
    select: { maxFailedSignIns: true, failedSignInWindowSeconds: true, lockoutSeconds: true },
  });
  if (!(await secondStepUser(db, attempt.userId, now))) return refuse('account_locked');
  const parsed = parseResponse<AuthenticationResponseJSON>(attempt.response, 'authenticatorData');
  const target = { ...attempt, purpose: 'second-factor' as const };
  let factor: { id: string } | null = null;
  if (parsed && (await consumeChallenge(prisma, key, target, parsed.challenge, now))) {
    factor = await db.mfaFactor.findFirst({
      where: { userId: attempt.userId, type: 'WEBAUTHN', credentialId: parsed.response.id },
      select: { id: true },
    });
  }
  const checked = factor ? await checkAssertion(prisma, attempt, parsed!, factor.id, false, realm, now) : null;
  if (checked === 'account_locked') return refuse('account_locked');
  if (checked !== 'ok') {
    if (checked === null) {
      const system = { ...systemContext(prisma, attempt.realmId), ipAddress: attempt.ipAddress };
      await system.db.$transaction((tx) => recordFailedSignIn(tx, system, attempt.userId, realm, now));
    }
    return refuse(checked === 'passkey_counter_regressed' ? checked : 'invalid_second_factor');
  }
  const factorId = factor!.id;
  const ctx = userContext(prisma, attempt.realmId, attempt.userId, attempt.ipAddress);
  const signedIn = await ctx.db.$transaction(async (tx) => {
    if (!(await secondStepUser(tx, attempt.userId, now))) return false;
    await tx.user.update({ where: { id: attempt.userId }, data: { lastLoginAt: now } });
    await recordSignedIn(tx, ctx, event, now, { factorId });
    return true;
  });
  return signedIn ? { ok: true } : refuse('account_locked');
}

/**
 * Verifies an assertion of the passkey `factorId` against its public key, then moves its counter
 * on with a conditional update (of two concurrent uses, one wins). Failures are counted towards
 * the user's lockout here: `invalid_passkey` for a signature, origin or RP ID that does not
 * verify, `passkey_counter_regressed` (also audited) for a counter not above the stored one
 * when the authenticator keeps one. A user locked already is `account_locked`, uncounted.
 */
async function checkAssertion(
  prisma: PrismaClient,
  attempt: PasskeyAttempt,
  parsed: { response: AuthenticationResponseJSON; challenge: string },
  factorId: string,
  requireUserVerification: boolean,
  realm: { maxFailedSignIns: number; failedSignInWindowSeconds: number; lockoutSeconds: number },
  now: Date,
): Promise<'ok' | 'invalid_passkey' | 'passkey_counter_regressed' | 'account_locked'> {
  const db = scopeToRealm(prisma, attempt.realmId);
  const factor = await db.mfaFactor.findUniqueOrThrow({
    where: { id: factorId },
    select: { id: true, userId: true, credentialId: true, publicKey: true, signCount: true, transports: true },
  });
  const user = await db.user.findFirst({ where: { id: factor.userId }, select: { lockedUntil: true } });
  if (user?.lockedUntil && user.lockedUntil > now) return 'account_locked';
  const stored = Number(factor.signCount ?? 0n);
  let outcome: Awaited<ReturnType<typeof verifyAuthenticationResponse>> | null = null;
  try {
    outcome = await verifyAuthenticationResponse({
      response: parsed.response,
      expectedChallenge: parsed.challenge,
      expectedOrigin: attempt.relyingParty.origin,
      expectedRPID: attempt.relyingParty.id,
      // The library's own counter check is replaced by the one below, which tells a regression apart.
      credential: { id: factor.credentialId!, publicKey: Buffer.from(factor.publicKey!, 'base64url'), counter: 0 },
      requireUserVerification,
    });
  } catch {
    outcome = null;
  }
  const system = { ...systemContext(prisma, attempt.realmId), ipAddress: attempt.ipAddress };
  const fail = (reason: 'invalid_passkey' | 'passkey_counter_regressed', audit: (tx: RealmTx) => Promise<void>) =>
    system.db.$transaction(async (tx) => {
      await recordFailedSignIn(tx, system, factor.userId, realm, now);
      await audit(tx);
      return reason;
    });
  if (!outcome?.verified) return fail('invalid_passkey', async () => {});
  const next = outcome.authenticationInfo.newCounter;
  if ((stored > 0 || next > 0) && next <= stored) {
    return fail('passkey_counter_regressed', (tx) =>
      recordAudit(tx, system, {
        action: 'user.passkey_counter_regressed',
        targetType: 'User',
        targetId: factor.userId,
        changes: { factorId: factor.id, storedCounter: stored, presentedCounter: next },
      }),
    );
  }
  const moved = await db.mfaFactor.updateMany({
    where: { id: factor.id, signCount: factor.signCount },
    data: {
      signCount: BigInt(next),
      lastUsedAt: now,
      backedUp: outcome.authenticationInfo.credentialBackedUp,
    },
  });
  // Another use of the passkey moved the counter meanwhile: the same as a counter not moving on.
  if (moved.count !== 1) return 'invalid_passkey';
  return 'ok';
}
