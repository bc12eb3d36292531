/**
 * The second step of the hosted sign-in: a TOTP code or a recovery code after the password of
 * a user with an authenticator, and the enrolment of one when the realm requires it.
 */
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser, csrfOf } from '../helpers/browser.ts';
import { createApplication, makeUser, type TestUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CALLBACK = 'https://spa.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';

let server: TestServer;
let clientId: string;
let mia: TestUser;
/** Mia's authenticator secret and recovery codes, from her enrolment (the first test). */
let secret = '';
let recoveryCodes: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  ({ clientId } = await createApplication(server, { name: 'Shop SPA', type: 'SPA', redirectUris: [CALLBACK] }));
  await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'REQUIRED' } });
  mia = await makeUser(server, server.admin.realmId, {
    email: 'mia@example.com',
    emailVerified: true,
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** The TOTP code of `of` (Mia's secret by default) for the time step `offset` steps from now. */
function totp(offset = 0, of = secret): string {
  return new TOTP({ secret: Secret.fromBase32(of) }).generate({ timestamp: Date.now() + offset * 30_000 });
}

/** A six-digit code matching none of the steps an authenticator's code (of `of`) may be from now. */
function wrongCode(of = secret): string {
  const taken = new Set([-2, -1, 0, 1, 2].map((offset) => totp(offset, of)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!taken.has(code)) return code;
  }
}

/** Opens the sign-in page in a new browser; `post` submits a form there and follows redirects. */
async function open() {
  const browser = new Browser(server.url);
  const config = await oidc.discovery(new URL(server.issuer()), clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const landed = await browser.follow(await browser.request(url.href), url.href);
  if (!('page' in landed)) throw new Error(`left Roster for ${landed.left.href}`);
  const formUrl = landed.url;
  let html = await landed.page.text();
  const post = async (form: Record<string, string>) => {
    const response = await browser.request(formUrl, { method: 'POST', form: { csrf: csrfOf(html), ...form } });
    const followed = await browser.follow(response, formUrl);
    if ('left' in followed) return { status: 303, html: '', left: followed.left };
    html = await followed.page.text();
    return { status: followed.page.status, html, left: null };
  };
  /** Exchanges the code the browser left Roster with. */
  const tokens = (left: URL) =>
    oidc.authorizationCodeGrant(config, left, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      idTokenExpected: true,
    });
  return { browser, formUrl, post, tokens, get: async () => (await browser.request(formUrl)).text() };
}

const latestEvent = () =>
  server.db.prisma.loginEvent.findFirstOrThrow({
    where: { userId: mia.id },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    select: { success: true, method: true, failureReason: true },
  });
const miaState = () =>
  server.db.prisma.user.findUniqueOrThrow({
    where: { id: mia.id },
    select: { failedLoginAttempts: true, lockedUntil: true, lastLoginAt: true },
  });

describe('a realm that requires a second factor', () => {
  it('has a user without one enrol an authenticator (QR code and key), shows the recovery codes once, then signs in', async () => {
    const flow = await open();
    const enrol = await flow.post({ identifier: 'mia@example.com', password: PASSWORD });
    expect(enrol.status).toBe(200);
    expect(enrol.html).toContain('Set up an authenticator');
    expect(enrol.html).toMatch(
      /<div class="qr" role="img" aria-label="[^"]+"><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
    expect(enrol.html).toContain('name="step" value="enrol"');
    secret = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.html)![1]!.replace(/ /g, '');
    expect(secret).toHaveLength(32);
    // The password alone signed nobody in.
    expect(await server.db.prisma.loginEvent.count({ where: { userId: mia.id, success: true } })).toBe(0);
    expect((await miaState()).lastLoginAt).toBeNull();

    const wrong = await flow.post({ step: 'enrol', code: wrongCode() });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('The code does not match.');
    expect(wrong.html).toContain(`<code id="secret">`);
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: mia.id } })).toBe(0);

    const shown = await flow.post({ step: 'enrol', code: totp() });
    expect(shown.status).toBe(200);
    recoveryCodes = [...shown.html.matchAll(/<li>([a-z2-7]{5}-[a-z2-7]{5})<\/li>/g)].map((match) => match[1]!);
    expect(recoveryCodes).toHaveLength(10);
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: mia.id, type: 'TOTP' } })).toBe(1);
    // Shown once: the page again has no codes.
    const again = await flow.get();
    expect(again).toContain('Authenticator set up');
    expect(again).not.toContain(recoveryCodes[0]);

    const done = await flow.post({ step: 'enrolled' });
    expect(done.left).not.toBeNull();
    const tokens = await flow.tokens(done.left!);
    expect(tokens.claims()).toMatchObject({ sub: mia.id, amr: ['pwd', 'otp', 'mfa'], auth_time: expect.any(Number) });
    expect(await latestEvent()).toEqual({ success: true, method: 'password+totp', failureReason: null });
    expect((await miaState()).lastLoginAt).not.toBeNull();
  });
});

describe('wrong codes at the enrolment', () => {
  it('count towards the lockout like wrong passwords; once locked, the enrolment is refused', async () => {
    const noah = await makeUser(server, server.admin.realmId, {
      email: 'noah@example.com',
      emailVerified: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const noahState = () =>
      server.db.prisma.user.findUniqueOrThrow({
        where: { id: noah.id },
        select: { failedLoginAttempts: true, lockedUntil: true, lastLoginAt: true },
      });
    const { maxFailedSignIns } = await server.db.prisma.realm.findUniqueOrThrow({
      where: { id: server.admin.realmId },
    });
    const flow = await open();
    const enrol = await flow.post({ identifier: 'noah@example.com', password: PASSWORD });
    expect(enrol.html).toContain('Set up an authenticator');
    const noahSecret = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.html)![1]!.replace(/ /g, '');

    for (let i = 1; i <= maxFailedSignIns; i++) {
      const wrong = await flow.post({ step: 'enrol', code: wrongCode(noahSecret) });
      expect(wrong.status).toBe(400);
      expect(wrong.html).toContain('The code does not match.');
      if (i < maxFailedSignIns) expect(await noahState()).toMatchObject({ failedLoginAttempts: i, lockedUntil: null });
    }
    const locked = await noahState();
    expect(locked.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    const events = await server.db.prisma.loginEvent.findMany({
      where: { userId: noah.id },
      select: { success: true, method: true, failureReason: true },
    });
    expect(events).toEqual(
      Array.from({ length: maxFailedSignIns }, () => ({
        success: false,
        method: 'password+totp',
        failureReason: 'invalid_second_factor',
      })),
    );
    expect(await server.db.prisma.auditEvent.count({ where: { action: 'user.locked', targetId: noah.id } })).toBe(1);

    // Locked: even the right code enrols nothing and signs nobody in.
    const refused = await flow.post({ step: 'enrol', code: totp(0, noahSecret) });
    expect(refused.status).toBe(401);
    expect(refused.html).toContain('start again');
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: noah.id } })).toBe(0);
    expect(await noahState()).toEqual(locked);
  });
});

describe('a user with an authenticator', () => {
  it('is asked for a code after the password; a wrong code counts as a failed sign-in, the right one signs in', async () => {
    const flow = await open();
    const asked = await flow.post({ identifier: 'mia@example.com', password: PASSWORD });
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('Enter your code');
    expect(asked.html).toContain('autocomplete="one-time-code"');

    const forged = await flow.browser.request(flow.formUrl, {
      method: 'POST',
      form: { csrf: 'forged', step: 'second-factor', code: totp(1) },
    });
    expect(forged.status).toBe(403);

    const wrong = await flow.post({ step: 'second-factor', code: wrongCode() });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('The code is incorrect.');
    expect((await miaState()).failedLoginAttempts).toBe(1);
    expect(await latestEvent()).toEqual({
      success: false,
      method: 'password+totp',
      failureReason: 'invalid_second_factor',
    });

    // The enrolment used this time step's code: the next step's is accepted once.
    const next = totp(1);
    const done = await flow.post({ step: 'second-factor', code: next });
    expect(done.left).not.toBeNull();
    // RFC 8176: a password, then a one-time password of an authenticator (two factors).
    expect((await flow.tokens(done.left!)).claims()).toMatchObject({ sub: mia.id, amr: ['pwd', 'otp', 'mfa'] });
    expect(await latestEvent()).toEqual({ success: true, method: 'password+totp', failureReason: null });
    expect((await miaState()).failedLoginAttempts).toBe(0);

    // The same code again (a replay) is refused.
    const replay = await open();
    await replay.post({ identifier: 'mia@example.com', password: PASSWORD });
    expect((await replay.post({ step: 'second-factor', code: next })).status).toBe(401);
  });

  it('signs in with a recovery code, each once', async () => {
    const flow = await open();
    await flow.post({ identifier: 'mia@example.com', password: PASSWORD });
    const done = await flow.post({ step: 'second-factor', code: recoveryCodes[0]!.toUpperCase() });
    expect(done.left).not.toBeNull();
    // A recovery code is a second factor, not an authenticator's code: `pwd mfa`, without `otp`.
    expect((await flow.tokens(done.left!)).claims()!.amr).toEqual(['pwd', 'mfa']);
    expect(await latestEvent()).toEqual({ success: true, method: 'password+recovery_code', failureReason: null });

    const reused = await open();
    await reused.post({ identifier: 'mia@example.com', password: PASSWORD });
    const refused = await reused.post({ step: 'second-factor', code: recoveryCodes[0]! });
    expect(refused.status).toBe(401);
    expect(refused.html).toContain('The code is incorrect.');
  });

  it('refuses a code step without a right password first', async () => {
    const flow = await open();
    const skipped = await flow.post({ step: 'second-factor', code: totp(2) });
    expect(skipped.status).toBe(400);
    expect(skipped.html).toContain('start again');
  });

  it('locks the account after the realm’s number of wrong codes; the password then gets the wrong password’s answer', async () => {
    await server.db.prisma.user.update({
      where: { id: mia.id },
      data: { failedLoginAttempts: 0, lastFailedLoginAt: null },
    });
    const { maxFailedSignIns } = await server.db.prisma.realm.findUniqueOrThrow({
      where: { id: server.admin.realmId },
    });
    const flow = await open();
    await flow.post({ identifier: 'mia@example.com', password: PASSWORD });
    for (let i = 0; i < maxFailedSignIns; i++) {
      expect((await flow.post({ step: 'second-factor', code: wrongCode() })).status).toBe(401);
    }
    expect((await miaState()).lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    // Locked: an unused recovery code is refused alike, and counts nothing.
    const before = await miaState();
    const locked = await flow.post({ step: 'second-factor', code: recoveryCodes[1]! });
    expect(locked.status).toBe(401);
    expect(await miaState()).toEqual(before);
    expect(locked.html).toContain('The code is incorrect.');
    expect(await latestEvent()).toEqual({ success: false, method: 'password+totp', failureReason: 'account_locked' });

    const fresh = await open();
    const password = await fresh.post({ identifier: 'mia@example.com', password: PASSWORD });
    expect(password.status).toBe(401);
    expect(password.html).toContain('The identifier or the password is incorrect.');
  });
});
