import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { constantTimeEqual, decrypt, encrypt, sha256 } from '../../auth/crypto.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, isUserError, userDeleted, userError, type UserErrorShape } from '../user-error.ts';
import { findUser } from './users.core.ts';

/** RFC 6238 parameters every authenticator app understands; one step either side is accepted. */
const TOTP_PARAMETERS = { algorithm: 'SHA1', digits: 6, period: 30, window: 1 } as const;
export const RECOVERY_CODE_COUNT = 10;

const totpOf = (secret: string) =>
  new TOTP({
    secret: Secret.fromBase32(secret),
    algorithm: TOTP_PARAMETERS.algorithm,
    digits: TOTP_PARAMETERS.digits,
    period: TOTP_PARAMETERS.period,
  });

/** Associated data binding a sealed factor secret to its realm and user. */
const sealedFor = (realmId: string, userId: string) => `mfa:${realmId}:${userId}`;

/** A new TOTP secret (160 bits, base32) to show during enrolment, with its `otpauth://` URI for a QR code. */
export function newTotpSecret(issuer: string, label: string): { secret: string; uri: string } {
  const secret = new Secret({ size: 20 }).base32;
  const uri = new TOTP({ ...TOTP_PARAMETERS, issuer, label, secret: Secret.fromBase32(secret) }).toString();
  return { secret, uri };
}

/**
 * The time step of `code` for `secret` at `now`, within the accepted window; null when it does
 * not match. Enrolments check the code with it before they write anything.
 */
export function matchingStep(secret: string, code: string, now: Date): number | null {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totpOf(secret).validate({ token, timestamp: now.getTime(), window: TOTP_PARAMETERS.window });
  return delta === null ? null : Math.floor(now.getTime() / 1000 / TOTP_PARAMETERS.period) + delta;
}

/** Recovery codes as shown to the user: ten groups `xxxxx-xxxxx` of base32 (50 bits each). */
function newRecoveryCodes(): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = [...randomBytes(10)].map((byte) => alphabet[byte % 32]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

const normalRecoveryCode = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

export interface EnrolTotpResult {
  factorId: string | null;
  /** Shown once: only their hashes are kept. */
  recoveryCodes: string[];
  userErrors: UserErrorShape[];
}

/**
 * Enrols a TOTP factor from the secret shown to the user, once a code from their authenticator
 * matches it, and issues a fresh set of recovery codes (replacing any earlier set). The secret
 * is stored sealed with `key`; recovery codes as hashes. A user who already has a TOTP factor
 * gets INVALID_STATE (reset first); a wrong code INVALID at `code`. Audited without secrets.
 */
export async function enrolTotp(
  ctx: ServiceContext,
  key: Buffer,
  input: { userId: string; secret: string; code: string; name?: string | null },
  now = new Date(),
): Promise<EnrolTotpResult> {
  const fail = (error: UserErrorShape): EnrolTotpResult => ({ factorId: null, recoveryCodes: [], userErrors: [error] });
  const step = matchingStep(input.secret, input.code, now);
  if (step === null) return fail(userError('INVALID', 'The code does not match the authenticator’s secret.', ['code']));
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.userId, ['userId'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return fail(user);
    if (user.deletedAt) return fail(userDeleted(['userId']));
    if (await tx.mfaFactor.count({ where: { userId: user.id, type: 'TOTP' } })) {
      return fail(userError('INVALID_STATE', 'The user already has an authenticator; reset it first.', ['userId']));
    }
    const { factorId, recoveryCodes } = await addTotpFactor(tx, ctx, key, { ...input, userId: user.id, step }, now);
    await tx.user.update({
      where: { id: user.id },
      data: { mfaEnrolmentRequired: false, version: { increment: 1 } },
    });
    return { factorId, recoveryCodes, userErrors: [] };
  });
}

/**
 * Writes a TOTP factor whose code matched at time step `step` (`matchingStep`), in the caller's
 * transaction on a locked user without one, and a fresh set of recovery codes (replacing any
 * earlier set); audited as `user.mfa_enrolled`. The user's own row (`mfaEnrolmentRequired`,
 * version) is the caller's to update. Both enrolments, from a sign-in and from an invitation,
 * write the factor here.
 */
export async function addTotpFactor(
  tx: RealmTx,
  ctx: ServiceContext,
  key: Buffer,
  input: { userId: string; secret: string; step: number; name?: string | null | undefined },
  now: Date,
): Promise<{ factorId: string; recoveryCodes: string[] }> {
  const factor = await tx.mfaFactor.create({
    data: {
      realmId: ctx.realmId,
      userId: input.userId,
      type: 'TOTP',
      name: input.name ?? 'Authenticator app',
      secretEncrypted: encrypt(key, input.secret, sealedFor(ctx.realmId, input.userId)),
      lastUsedStep: input.step,
      lastUsedAt: now,
    },
  });
  const recoveryCodes = newRecoveryCodes();
  await tx.mfaFactor.deleteMany({ where: { userId: input.userId, type: 'RECOVERY_CODES' } });
  await tx.mfaFactor.create({
    data: {
      realmId: ctx.realmId,
      userId: input.userId,
      type: 'RECOVERY_CODES',
      name: 'Recovery codes',
      secretEncrypted: sealRecoveryHashes(key, ctx.realmId, input.userId, recoveryCodes.map(hashRecoveryCode)),
    },
  });
  await recordAudit(tx, ctx, {
    action: 'user.mfa_enrolled',
    targetType: 'User',
    targetId: input.userId,
    changes: { type: 'TOTP', factorId: factor.id, recoveryCodes: RECOVERY_CODE_COUNT },
  });
  return { factorId: factor.id, recoveryCodes };
}

const hashRecoveryCode = (code: string) => sha256(`roster-recovery-code:${normalRecoveryCode(code)}`);
const sealRecoveryHashes = (key: Buffer, realmId: string, userId: string, hashes: string[]) =>
  encrypt(key, JSON.stringify(hashes), sealedFor(realmId, userId));

export type SecondFactorOutcome =
  { ok: true; method: 'totp' } | { ok: true; method: 'recovery_code'; remainingRecoveryCodes: number } | { ok: false };

/**
 * Checks a second-factor code at sign-in: a TOTP code of the user's authenticator (each time
 * step accepted once: a replayed or older code fails) or one of its recovery codes (each
 * accepted once). Both are claimed with a conditional update, so two concurrent uses of one code
 * succeed once.
 */
export async function verifySecondFactor(
  tx: RealmTx,
  key: Buffer,
  input: { realmId: string; userId: string; code: string },
  now = new Date(),
): Promise<SecondFactorOutcome> {
  const factors = await tx.mfaFactor.findMany({
    where: { userId: input.userId, type: { in: ['TOTP', 'RECOVERY_CODES'] } },
  });
  const sealed = sealedFor(input.realmId, input.userId);
  for (const factor of factors.filter((f) => f.type === 'TOTP' && f.secretEncrypted)) {
    const step = matchingStep(decrypt(key, factor.secretEncrypted!, sealed), input.code, now);
    if (step === null) continue;
    const claimed = await tx.mfaFactor.updateMany({
      where: { id: factor.id, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
      data: { lastUsedStep: step, lastUsedAt: now },
    });
    if (claimed.count === 1) return { ok: true, method: 'totp' };
  }
  const candidate = hashRecoveryCode(input.code);
  for (const factor of factors.filter((f) => f.type === 'RECOVERY_CODES' && f.secretEncrypted)) {
    const hashes = JSON.parse(decrypt(key, factor.secretEncrypted!, sealed)) as string[];
    const index = hashes.findIndex((hash) => constantTimeEqual(hash, candidate));
    if (index < 0) continue;
    const remaining = hashes.filter((_, i) => i !== index);
    const claimed = await tx.mfaFactor.updateMany({
      where: { id: factor.id, secretEncrypted: factor.secretEncrypted },
      data: { secretEncrypted: sealRecoveryHashes(key, input.realmId, input.userId, remaining), lastUsedAt: now },
    });
    if (claimed.count === 1) return { ok: true, method: 'recovery_code', remainingRecoveryCodes: remaining.length };
  }
  return { ok: false };
}
