/**
 * SECURITY.md, MFA: TOTP codes cannot be replayed within their step; recovery codes hashed and
 * single-use. The sign-in pages enrol and check factors through these functions; the tests call
 * them as the runtime does, on the real database.
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type ServiceContext } from '../../src/context.ts';
import {
  enrolTotp,
  newTotpSecret,
  RECOVERY_CODE_COUNT,
  verifySecondFactor,
} from '../../src/modules/users/users.mfa.ts';
import { graphql } from '../helpers/documents.ts';
import { makeUser, type TestUser } from '../helpers/fixtures.ts';
import { payloadOf } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

const RESET_MFA = graphql(`
  mutation UsersMfaReset($input: UserIdInput!) {
    resetUserMfa(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

let server: TestServer;
let ctx: ServiceContext;
const key = randomBytes(32);
const T0 = new Date('2026-06-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const codeAt = (secret: string, when: Date) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: when.getTime(),
  });

beforeAll(async () => {
  server = await startTestServer();
  ctx = systemContext(server.db.prisma, server.admin.realmId);
}, 120_000);

afterAll(() => server?.close());

const verify = (user: TestUser, code: string, now: Date, context = ctx) =>
  context.db.$transaction((tx) =>
    verifySecondFactor(tx, key, { realmId: context.realmId, userId: user.id, code }, now),
  );

async function enrolled() {
  const user = await makeUser(server, server.admin.realmId);
  const { secret } = newTotpSecret('Roster', 'someone@example.com');
  const result = await enrolTotp(ctx, key, { userId: user.id, secret, code: codeAt(secret, at(0)) }, at(0));
  expect(result.userErrors).toEqual([]);
  return { user, secret, recoveryCodes: result.recoveryCodes };
}

describe('TOTP enrolment', () => {
  it('gives an otpauth URI any authenticator app reads', () => {
    const { secret, uri } = newTotpSecret('Acme Realm', 'ada@example.com');
    expect(Secret.fromBase32(secret).bytes).toHaveLength(20);
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/Acme Realm:ada@example.com');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      secret,
      issuer: 'Acme Realm',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });

  it('stores the secret sealed and the recovery codes hashed, audited without either', async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    expect(recoveryCodes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(recoveryCodes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: user.id }, orderBy: { type: 'asc' } });
    expect(factors.map((factor) => factor.type)).toEqual(['TOTP', 'RECOVERY_CODES']);
    const stored = JSON.stringify(factors);
    expect(stored).not.toContain(secret);
    for (const code of recoveryCodes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replace('-', ''));
    }
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { targetId: user.id, action: 'user.mfa_enrolled' },
    });
    expect(audit.changes).toEqual({ type: 'TOTP', factorId: factors[0]!.id, recoveryCodes: 10 });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('refuses a wrong code and a second authenticator, changing nothing', async () => {
    const { user, secret } = await enrolled();
    const fresh = await makeUser(server, server.admin.realmId);
    const other = newTotpSecret('Roster', 'x');
    await expectUnchanged(server, async () => {
      const wrong = await enrolTotp(ctx, key, { userId: fresh.id, secret: other.secret, code: '000000' }, at(0));
      expect(wrong.userErrors.map((e) => [e.code, e.field])).toEqual([['INVALID', ['code']]]);
      const stale = await enrolTotp(
        ctx,
        key,
        { userId: fresh.id, secret: other.secret, code: codeAt(other.secret, at(-120)) },
        at(0),
      );
      expect(stale.userErrors.map((e) => e.code)).toEqual(['INVALID']);
      const second = await enrolTotp(ctx, key, { userId: user.id, secret, code: codeAt(secret, at(60)) }, at(60));
      expect(second).toMatchObject({ factorId: null, recoveryCodes: [] });
      expect(second.userErrors.map((e) => [e.code, e.field])).toEqual([['INVALID_STATE', ['userId']]]);
    });
  });

  it('two concurrent enrolments of one user: exactly one succeeds', async () => {
    const user = await makeUser(server, server.admin.realmId);
    const a = newTotpSecret('Roster', 'a');
    const b = newTotpSecret('Roster', 'b');
    const results = await Promise.all([
      enrolTotp(ctx, key, { userId: user.id, secret: a.secret, code: codeAt(a.secret, at(0)) }, at(0)),
      enrolTotp(ctx, key, { userId: user.id, secret: b.secret, code: codeAt(b.secret, at(0)) }, at(0)),
    ]);
    expect(results.filter((r) => r.userErrors.length === 0)).toHaveLength(1);
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: user.id, type: 'TOTP' } })).toBe(1);
  });
});

describe('second factor at sign-in', () => {
  it('accepts a TOTP code once per step: a replay and an older code fail, the next step passes', async () => {
    const { user, secret } = await enrolled();
    // Enrolment used step 0.
    expect(await verify(user, codeAt(secret, at(0)), at(5))).toEqual({ ok: false });
    expect(await verify(user, codeAt(secret, at(30)), at(35))).toEqual({ ok: true, method: 'totp' });
    expect(await verify(user, codeAt(secret, at(30)), at(40))).toEqual({ ok: false });
    // One step of clock drift either way is accepted, but never a step already used.
    expect(await verify(user, codeAt(secret, at(90)), at(65))).toEqual({ ok: true, method: 'totp' });
    expect(await verify(user, codeAt(secret, at(60)), at(70))).toEqual({ ok: false });
    expect(await verify(user, codeAt(secret, at(300)), at(200))).toEqual({ ok: false });
    expect(await verify(user, 'abcdef', at(300))).toEqual({ ok: false });
  });

  it('accepts each recovery code once, however it is typed; two concurrent uses succeed once', async () => {
    const { user, recoveryCodes } = await enrolled();
    const [first, second] = recoveryCodes as [string, string];
    expect(await verify(user, ` ${first.toUpperCase().replace('-', ' ')} `, at(10))).toEqual({
      ok: true,
      method: 'recovery_code',
      remainingRecoveryCodes: RECOVERY_CODE_COUNT - 1,
    });
    expect(await verify(user, first, at(11))).toEqual({ ok: false });
    const concurrent = await Promise.all([verify(user, second, at(12)), verify(user, second, at(12))]);
    expect(concurrent.filter((outcome) => outcome.ok)).toHaveLength(1);
  });

  it('knows nothing of another user’s or another realm’s codes, and nothing after resetUserMfa', async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const stranger = await makeUser(server, server.admin.realmId);
    expect(await verify(stranger, codeAt(secret, at(30)), at(30))).toEqual({ ok: false });
    expect(await verify(stranger, recoveryCodes[0]!, at(30))).toEqual({ ok: false });
    const otherRealm = await server.createRealm('mfa-other');
    const otherCtx = systemContext(server.db.prisma, otherRealm.realmId);
    expect(await verify(user, codeAt(secret, at(30)), at(30), otherCtx)).toEqual({ ok: false });

    const reset = payloadOf(await server.graphql(RESET_MFA, { input: { id: user.globalId } }));
    expect(reset.userErrors).toEqual([]);
    expect(await verify(user, codeAt(secret, at(60)), at(60))).toEqual({ ok: false });
    expect(await verify(user, recoveryCodes[1]!, at(60))).toEqual({ ok: false });
  });
});
