import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser, BROWSER_UA, csrfOf } from '../helpers/browser.ts';
import { createApplication, makeUser, type TestUser } from '../helpers/fixtures.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { relyingParty, signIn as signInWith, startSignIn as startWith, submitSignIn } from '../helpers/sign-in.ts';

const UNLOCK = graphql(`
  mutation IdentitySignInUnlock($input: UserIdInput!) {
    unlockUser(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REVOKE_SESSION = graphql(`
  mutation IdentitySignInRevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const SUSPEND = graphql(`
  mutation IdentitySignInSuspend($input: SuspendUserInput!) {
    suspendUser(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE_USER = graphql(`
  mutation IdentitySignInDelete($input: DeleteUserInput!) {
    deleteUser(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const SPA_CALLBACK = 'https://spa.example.com/callback';
const SPA_LOGGED_OUT = 'https://spa.example.com/signed-out';
const WEB_CALLBACK = 'https://web.example.com/auth/callback';
const NATIVE_CALLBACK = 'http://127.0.0.1:8765/callback';
const PASSWORD = 'correct horse battery staple 42';

let server: TestServer;
let spa: { id: string; clientId: string };
let web: { id: string; clientId: string; clientSecret: string };
let alice: TestUser;
let consoleSpies: MockInstance[];

const issuer = () => server.issuer();

const spaConfig = () => relyingParty(issuer(), spa.clientId);
const webConfig = (secret = web.clientSecret) => relyingParty(issuer(), web.clientId, secret);

/** Starts an authorization code + PKCE request in a new browser and returns the sign-in page. */
const startSignIn = (config: oidc.Configuration, redirectUri: string) => startWith(server.url, config, redirectUri);
const submit = submitSignIn;

/** Signs `identifier` in through the hosted page and exchanges the code. */
const signIn = (config: oidc.Configuration, redirectUri: string, identifier = 'alice@example.com') =>
  signInWith(server.url, config, redirectUri, identifier, PASSWORD);

async function refusal(call: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return { status: error.status, error: error.error };
    throw error;
  }
  throw new Error('the call succeeded');
}

async function latestSession(userId: string) {
  return server.db.prisma.session.findFirstOrThrow({ where: { userId }, orderBy: { createdAt: 'desc' } });
}

beforeAll(async () => {
  consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'info')];
  server = await startTestServer();
  const createdSpa = await createApplication(server, {
    name: 'Shop SPA',
    type: 'SPA',
    redirectUris: [SPA_CALLBACK],
    postLogoutRedirectUris: [SPA_LOGGED_OUT],
  });
  expect(createdSpa.postLogoutRedirectUris).toEqual([SPA_LOGGED_OUT]);
  const rowOf = (clientId: string) => server.db.prisma.application.findUniqueOrThrow({ where: { clientId } });
  spa = { id: (await rowOf(createdSpa.clientId)).id, clientId: createdSpa.clientId };
  const createdWeb = await createApplication(server, {
    name: 'Shop backend',
    type: 'WEB',
    redirectUris: [WEB_CALLBACK],
  });
  web = {
    id: (await rowOf(createdWeb.clientId)).id,
    clientId: createdWeb.clientId,
    clientSecret: createdWeb.clientSecret!,
  };
  alice = await makeUser(server, server.admin.realmId, {
    email: 'alice@example.com',
    emailVerified: true,
    username: 'alice',
    name: 'Alice Liddell',
    givenName: 'Alice',
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
}, 120_000);

afterAll(async () => {
  for (const spy of consoleSpies) spy.mockRestore();
  await server?.close();
});

describe('authorization code + PKCE', () => {
  it('signs a user in to a SPA (public client): EdDSA ID token, userinfo, login event, session', async () => {
    const before = new Date();
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('EdDSA');
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ sub: alice.id, iss: issuer(), aud: spa.clientId });
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, alice.id);
    expect(userinfo).toMatchObject({
      sub: alice.id,
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Liddell',
      given_name: 'Alice',
      preferred_username: 'alice',
    });

    const event = await server.db.prisma.loginEvent.findFirstOrThrow({
      where: { userId: alice.id, success: true },
      orderBy: { at: 'desc' },
    });
    expect(event).toMatchObject({
      method: 'password',
      applicationId: spa.id,
      userAgent: BROWSER_UA,
      failureReason: null,
    });
    expect(event.ipAddress).toEqual(expect.any(String));
    const session = await latestSession(alice.id);
    expect(session).toMatchObject({ applicationId: spa.id, userAgent: BROWSER_UA, revokedAt: null });
    expect(session.device).toBe('Firefox 128 on Ubuntu (desktop)');
    expect(session.providerSessionUid).toEqual(expect.any(String));
    const user = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
    expect(user.lastLoginAt!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    const audit = await server.db.prisma.auditEvent.findFirst({
      where: { action: 'user.signed_in', targetId: alice.id },
    });
    expect(audit).toMatchObject({ actorType: 'user', actorId: alice.id });
  });

  it('answers userinfo with the profile claims, birthdate included, for the access token of a refresh', async () => {
    const profile = { birthdate: new Date('1852-05-04'), gender: 'female', locale: 'en-GB', timezone: 'Europe/London' };
    await server.db.prisma.user.update({ where: { id: alice.id }, data: profile });
    try {
      const config = await spaConfig();
      const { tokens } = await signIn(config, SPA_CALLBACK);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      const { updatedAt } = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
      expect(await oidc.fetchUserInfo(config, refreshed.access_token, alice.id)).toMatchObject({
        sub: alice.id,
        given_name: 'Alice',
        birthdate: '1852-05-04',
        gender: 'female',
        locale: 'en-GB',
        zoneinfo: 'Europe/London',
        updated_at: Math.floor(updatedAt.getTime() / 1000),
      });
    } finally {
      await server.db.prisma.user.update({
        where: { id: alice.id },
        data: { birthdate: null, gender: null, locale: null, timezone: null },
      });
    }
  });

  it('signs a user in to a WEB application (confidential client) by username', async () => {
    const { tokens } = await signIn(await webConfig(), WEB_CALLBACK, 'ALICE');
    expect(tokens.claims()).toMatchObject({ sub: alice.id, aud: web.clientId });
  });

  it('signs a user in to a NATIVE application (public client) on a loopback redirect URI', async () => {
    const { clientId } = await createApplication(server, {
      name: 'Desktop app',
      type: 'NATIVE',
      redirectUris: [NATIVE_CALLBACK],
    });
    const config = await oidc.discovery(new URL(issuer()), clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const { tokens } = await signIn(config, NATIVE_CALLBACK);
    expect(tokens.claims()).toMatchObject({ sub: alice.id, aud: clientId });
  });

  it('answers a SPA’s browser requests from its redirect URIs’ origin only (CORS)', async () => {
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK);
    const refresh = (origin: string, refreshToken: string) =>
      fetch(`${issuer()}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: spa.clientId,
        }),
      });
    const refused = await refresh('https://evil.example.com', tokens.refresh_token!);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await refresh('https://spa.example.com', tokens.refresh_token!);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://spa.example.com');
  });

  it('refuses the code to a WEB application without its secret', async () => {
    const config = await webConfig();
    const started = await startSignIn(config, WEB_CALLBACK);
    const landed = await submit(started, 'alice', PASSWORD);
    if (!('left' in landed)) throw new Error('no redirect back');
    const code = landed.left.searchParams.get('code')!;
    const response = await fetch(`${issuer()}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: WEB_CALLBACK,
        client_id: web.clientId,
        code_verifier: started.verifier,
      }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('refuses a redirect URI that is not registered exactly, without redirecting', async () => {
    const config = await spaConfig();
    for (const redirectUri of [`${SPA_CALLBACK}/`, 'https://evil.example.com/callback', `${SPA_CALLBACK}?x=1`]) {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const response = await new Browser(server.url).request(url.href);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('redirect_uri');
    }
  });

  it('refuses a SPA request without PKCE', async () => {
    const config = await spaConfig();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: SPA_CALLBACK, scope: 'openid', state: 's1' });
    const response = await new Browser(server.url).request(url.href);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(SPA_CALLBACK);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });
});

describe('the hosted sign-in page', () => {
  it('is a labelled, CSRF-protected form with the realm name and a strict content security policy', async () => {
    const started = await startSignIn(await spaConfig(), SPA_CALLBACK);
    expect(started.html).toContain('<label for="identifier">');
    expect(started.html).toContain('<label for="password">');
    expect(started.html).toContain('autocomplete="current-password"');
    expect(started.html).toContain('<p class="realm">default</p>');
    // This issuer's host is an IP address, where passkeys cannot work: no passkey form, so no
    // script at all (test/identity/passkeys.test.ts covers the page's scripts on a domain name).
    expect(started.html).not.toContain('<script');
    const page = await started.browser.request(started.formUrl);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('content-security-policy')).not.toContain('script-src');
    expect(page.headers.get('x-frame-options')).toBe('DENY');

    // A forged form (no or a wrong token) is refused and signs nobody in.
    const events = await server.db.prisma.loginEvent.count();
    for (const csrf of ['', 'forged']) {
      const response = await started.browser.request(started.formUrl, {
        method: 'POST',
        form: { csrf, identifier: 'alice', password: PASSWORD },
      });
      expect(response.status).toBe(403);
    }
    expect(await server.db.prisma.loginEvent.count()).toBe(events);
  });

  it('answers a wrong password and an unknown identifier the same way, and records both', async () => {
    const config = await spaConfig();
    const answers: string[] = [];
    for (const identifier of ['alice@example.com', 'nobody@example.com']) {
      const started = await startSignIn(config, SPA_CALLBACK);
      const landed = await submit(started, identifier, 'wrong password 123');
      if (!('page' in landed)) throw new Error('signed in');
      expect(landed.page.status).toBe(401);
      const html = await landed.page.text();
      expect(html).toContain('The identifier or the password is incorrect.');
      // The interaction's own id (in the "forgot password" link) differs from one sign-in to the next.
      const uid = started.formUrl.split('/').pop()!;
      answers.push(html.replaceAll(csrfOf(html), '').replace(identifier, '').replaceAll(uid, ''));
    }
    expect(answers[0]).toBe(answers[1]);
    const failures = await server.db.prisma.loginEvent.findMany({
      where: { success: false, failureReason: 'invalid_credentials' },
      orderBy: { at: 'asc' },
    });
    expect(failures.map((event) => event.userId)).toEqual(expect.arrayContaining([alice.id, null]));
    expect(failures.every((event) => event.applicationId === spa.id && event.method === 'password')).toBe(true);
  });

  it('sends the same SQL for a wrong password, an unknown identifier and a locked account', async () => {
    await makeUser(server, server.admin.realmId, {
      email: 'locked@example.com',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
      failedLoginAttempts: 5,
      lockoutCount: 1,
      lastFailedLoginAt: new Date(),
      lockedUntil: new Date(Date.now() + 3_600_000),
    });
    const config = await spaConfig();
    const statements = [];
    for (const identifier of ['alice@example.com', 'nobody-else@example.com', 'locked@example.com']) {
      const started = await startSignIn(config, SPA_CALLBACK);
      const { sql } = await server.db.statements.during(() => submit(started, identifier, 'wrong password 123'));
      statements.push(sql);
    }
    expect(statements[0]!.length).toBeGreaterThan(0);
    expect(statements[0]).toEqual(statements[1]);
    expect(statements[2]).toEqual(statements[0]);
  });

  it('locks a user out after the realm’s number of wrong passwords, answering as a wrong password; unlockUser lets them in', async () => {
    const ivan = await makeUser(server, server.admin.realmId, {
      email: 'ivan@example.com',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const state = () =>
      server.db.prisma.user.findUniqueOrThrow({
        where: { id: ivan.id },
        select: { failedLoginAttempts: true, lockedUntil: true, lockoutCount: true },
      });
    const { maxFailedSignIns } = await server.db.prisma.realm.findUniqueOrThrow({
      where: { id: server.admin.realmId },
    });
    const config = await spaConfig();
    const started = await startSignIn(config, SPA_CALLBACK);
    const wrongAnswer = async () => {
      const landed = await submit(started, 'ivan@example.com', 'wrong password 123');
      if (!('page' in landed)) throw new Error('signed in');
      expect(landed.page.status).toBe(401);
      return landed.page.text();
    };

    // Failures below the limit are forgotten on a success.
    await wrongAnswer();
    await wrongAnswer();
    expect((await state()).failedLoginAttempts).toBe(2);
    await signIn(config, SPA_CALLBACK, 'ivan@example.com');
    expect(await state()).toEqual({ failedLoginAttempts: 0, lockedUntil: null, lockoutCount: 0 });

    const answers = [];
    for (let i = 0; i < maxFailedSignIns; i++) answers.push(await wrongAnswer());
    const locked = await state();
    expect(locked.failedLoginAttempts).toBe(maxFailedSignIns);
    expect(locked.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    const audit = await server.db.prisma.auditEvent.findMany({ where: { action: 'user.locked', targetId: ivan.id } });
    expect(audit).toHaveLength(1);

    // The right password now gets the wrong password's answer, byte for byte, and counts nothing.
    const right = await submit(started, 'ivan@example.com', PASSWORD);
    if (!('page' in right)) throw new Error('signed in while locked');
    expect(right.page.status).toBe(401);
    expect(await right.page.text()).toBe(answers[0]);
    expect(await wrongAnswer()).toBe(answers[0]);
    expect(await state()).toEqual(locked);
    const events = await server.db.prisma.loginEvent.findMany({
      where: { userId: ivan.id },
      orderBy: { at: 'asc' },
      select: { success: true, failureReason: true },
    });
    expect(events.slice(-(maxFailedSignIns + 2)).map((event) => event.failureReason)).toEqual([
      ...Array<string>(maxFailedSignIns).fill('invalid_credentials'),
      'account_locked',
      'account_locked',
    ]);
    expect(await server.db.prisma.session.count({ where: { userId: ivan.id, revokedAt: null } })).toBe(1);

    const unlocked = await server.graphql(UNLOCK, { input: { id: ivan.globalId } });
    expect(unlocked.data!.unlockUser.userErrors).toEqual([]);
    const { tokens } = await signIn(config, SPA_CALLBACK, 'ivan@example.com');
    expect(tokens.claims()!.sub).toBe(ivan.id);
    expect(await state()).toEqual({ failedLoginAttempts: 0, lockedUntil: null, lockoutCount: 0 });
  });

  it('refuses oversized and malformed forms and other methods, recording nothing', async () => {
    const started = await startSignIn(await spaConfig(), SPA_CALLBACK);
    const events = await server.db.prisma.loginEvent.count();
    const huge = await started.browser.request(started.formUrl, {
      method: 'POST',
      form: { csrf: csrfOf(started.html), identifier: 'a'.repeat(15_000), password: PASSWORD },
    });
    expect(huge.status).toBe(403);
    const json = await fetch(started.formUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: started.browser.cookieHeader(started.formUrl),
      },
      body: JSON.stringify({ csrf: csrfOf(started.html), identifier: 'alice', password: PASSWORD }),
    });
    expect(json.status).toBe(403);
    const foreign = await fetch(started.formUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example.com',
        cookie: started.browser.cookieHeader(started.formUrl),
      },
      body: new URLSearchParams({ csrf: csrfOf(started.html), identifier: 'alice', password: PASSWORD }).toString(),
    });
    expect(foreign.status).toBe(403);
    expect((await fetch(started.formUrl, { method: 'PUT' })).status).toBe(405);
    // Without the browser's cookies the interaction is unknown.
    const stranger = await new Browser(server.url).request(started.formUrl);
    expect(stranger.status).toBe(400);
    expect(await server.db.prisma.loginEvent.count()).toBe(events);
    // A very long identifier is no account, answered like any unknown one.
    const long = await submit(started, 'x'.repeat(2_000), PASSWORD);
    if (!('page' in long)) throw new Error('signed in');
    expect(await long.page.text()).toContain('The identifier or the password is incorrect.');
  });

  it('upgrades an imported bcrypt hash to argon2id on a successful sign-in', async () => {
    const bcrypt = (await import('bcryptjs')).default;
    const frank = await makeUser(server, server.admin.realmId, {
      email: 'frank@example.com',
      passwordHash: await bcrypt.hash(PASSWORD, 4),
      passwordAlgorithm: 'BCRYPT',
    });
    const { tokens } = await signIn(await spaConfig(), SPA_CALLBACK, 'frank@example.com');
    expect(tokens.claims()!.sub).toBe(frank.id);
    const row = await server.db.prisma.user.findUniqueOrThrow({ where: { id: frank.id } });
    expect(row.passwordAlgorithm).toBe('ARGON2ID');
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    // The new hash works.
    await signIn(await spaConfig(), SPA_CALLBACK, 'frank@example.com');
  });

  it('refuses an unverified user only when the realm requires verification', async () => {
    const grace = await makeUser(server, server.admin.realmId, {
      email: 'grace@example.com',
      status: 'PENDING_VERIFICATION',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK, 'grace@example.com');
    expect(tokens.claims()!.sub).toBe(grace.id);
    await server.db.prisma.realm.update({
      where: { id: server.admin.realmId },
      data: { requireEmailVerification: true },
    });
    try {
      const refused = await submit(await startSignIn(config, SPA_CALLBACK), 'grace@example.com', PASSWORD);
      if (!('page' in refused)) throw new Error('signed in');
      expect(await refused.page.text()).toContain('Verify your email address');
      // Her earlier tokens stop working too.
      expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    } finally {
      await server.db.prisma.realm.update({
        where: { id: server.admin.realmId },
        data: { requireEmailVerification: false },
      });
    }
  });

  it('refuses a suspended user with the right password, and nobody else learns the state', async () => {
    const bob = await makeUser(server, server.admin.realmId, {
      email: 'bob@example.com',
      status: 'SUSPENDED',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const config = await spaConfig();
    const wrong = await submit(await startSignIn(config, SPA_CALLBACK), 'bob@example.com', 'not the password');
    if (!('page' in wrong)) throw new Error('signed in');
    expect(await wrong.page.text()).toContain('The identifier or the password is incorrect.');
    const right = await submit(await startSignIn(config, SPA_CALLBACK), 'bob@example.com', PASSWORD);
    if (!('page' in right)) throw new Error('signed in');
    expect(right.page.status).toBe(401);
    expect(await right.page.text()).toContain('This account cannot sign in.');
    const reasons = await server.db.prisma.loginEvent.findMany({
      where: { userId: bob.id },
      orderBy: { at: 'asc' },
      select: { success: true, failureReason: true },
    });
    expect(reasons).toEqual([
      { success: false, failureReason: 'invalid_credentials' },
      { success: false, failureReason: 'account_suspended' },
    ]);
    expect(await server.db.prisma.session.count({ where: { userId: bob.id } })).toBe(0);
  });

  it('makes a user whose password expired change it, then signs them in', async () => {
    const carol = await makeUser(server, server.admin.realmId, {
      email: 'carol@example.com',
      name: 'Carol Danvers',
      passwordExpired: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const config = await spaConfig();
    const started = await startSignIn(config, SPA_CALLBACK);
    const expired = await submit(started, 'carol@example.com', PASSWORD);
    if (!('page' in expired)) throw new Error('signed in');
    const html = await expired.page.text();
    expect(html).toContain('Your password has expired and must be changed');
    expect(html).toContain('<label for="new-password">');
    expect(html).not.toContain(PASSWORD);
    const change = (password: string, newPassword: string, confirmPassword = newPassword) =>
      started.browser
        .request(started.formUrl, {
          method: 'POST',
          form: {
            csrf: csrfOf(html),
            step: 'change-password',
            identifier: 'carol@example.com',
            password,
            newPassword,
            confirmPassword,
          },
        })
        .then((response) => started.browser.follow(response, started.formUrl));

    // Refusals leave the password as it was.
    const refusals: [string, string, string | undefined, string][] = [
      [PASSWORD, 'another long passphrase 7', 'a different one 8', 'The two new passwords differ.'],
      [PASSWORD, PASSWORD, undefined, 'The new password must differ from the current one.'],
      [PASSWORD, 'short', undefined, 'at least 8 characters'],
      [PASSWORD, 'carol danvers 1234', undefined, 'must not be or contain'],
      ['not my password', 'another long passphrase 7', undefined, 'The identifier or the password is incorrect.'],
    ];
    for (const [current, next, confirm, message] of refusals) {
      const landed = await change(current, next, confirm);
      if (!('page' in landed)) throw new Error('signed in');
      expect(await landed.page.text()).toContain(message);
    }
    const unchanged = await server.db.prisma.user.findUniqueOrThrow({ where: { id: carol.id } });
    expect(unchanged.passwordExpired).toBe(true);

    const landed = await change(PASSWORD, 'another long passphrase 7');
    if (!('left' in landed)) throw new Error(`stayed: ${await landed.page.text()}`);
    const tokens = await oidc.authorizationCodeGrant(config, landed.left, {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
      expectedNonce: started.nonce,
    });
    expect(tokens.claims()!.sub).toBe(carol.id);
    const changed = await server.db.prisma.user.findUniqueOrThrow({ where: { id: carol.id } });
    expect(changed).toMatchObject({ passwordExpired: false, passwordAlgorithm: 'ARGON2ID' });
    expect(changed.passwordChangedAt).not.toBeNull();
    expect(
      await server.db.prisma.auditEvent.count({
        where: { action: 'user.password_changed', targetId: carol.id, actorType: 'user' },
      }),
    ).toBe(1);
    const reasons = await server.db.prisma.loginEvent.findMany({
      where: { userId: carol.id },
      orderBy: { at: 'asc' },
      select: { success: true, failureReason: true },
    });
    expect(reasons).toEqual([
      { success: false, failureReason: 'password_expired' },
      { success: false, failureReason: 'new_password_rejected' },
      { success: false, failureReason: 'new_password_rejected' },
      { success: false, failureReason: 'new_password_rejected' },
      { success: false, failureReason: 'invalid_credentials' },
      { success: true, failureReason: null },
    ]);
  });

  it('refuses an invited user without a password like an unknown one', async () => {
    await makeUser(server, server.admin.realmId, { email: 'dave@example.com', status: 'INVITED' });
    const invited = await submit(await startSignIn(await spaConfig(), SPA_CALLBACK), 'dave@example.com', PASSWORD);
    if (!('page' in invited)) throw new Error('signed in');
    expect(await invited.page.text()).toContain('The identifier or the password is incorrect.');
  });
});

describe('refresh tokens', () => {
  it('rotate on every use; replaying a rotated one revokes the grant', async () => {
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK);
    const session = await latestSession(alice.id);
    const first = tokens.refresh_token!;
    const second = await oidc.refreshTokenGrant(config, first);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first);
    const touched = await server.db.prisma.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(touched.lastActiveAt.getTime()).toBeGreaterThanOrEqual(session.lastActiveAt.getTime());

    expect(await refusal(oidc.refreshTokenGrant(config, first))).toEqual({ status: 400, error: 'invalid_grant' });
    // The reuse revoked the whole grant: the current token fails too.
    expect(await refusal(oidc.refreshTokenGrant(config, second.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    // …and the session it belonged to, audited.
    const ended = await server.db.prisma.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(ended.revokedReason).toBe('refresh_token_reuse');
    expect(
      await server.db.prisma.auditEvent.count({
        where: { action: 'user.refresh_token_reused', targetId: alice.id, actorType: 'system' },
      }),
    ).toBe(1);
    expect(
      await server.db.prisma.oidcPayload.count({ where: { model: 'Session', uid: session.providerSessionUid! } }),
    ).toBe(0);
  });

  it('let one of several concurrent refreshes with one token through at most, and treat the others as reuse', async () => {
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK);
    const session = await latestSession(alice.id);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => oidc.refreshTokenGrant(config, tokens.refresh_token!)),
    );
    const granted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(granted.length).toBeLessThanOrEqual(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(await refusal(Promise.reject(outcome.reason as Error))).toEqual({ status: 400, error: 'invalid_grant' });
      }
    }
    // Two requests or more used one token: the session ends, and the winner's new token with it.
    const ended = await server.db.prisma.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(ended.revokedReason).toBe('refresh_token_reuse');
    for (const winner of granted) {
      expect(await refusal(oidc.refreshTokenGrant(config, winner.refresh_token!))).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    }
  });

  it('stop working once the session is revoked through the management API', async () => {
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK);
    const session = await latestSession(alice.id);
    const revoked = await server.graphql(REVOKE_SESSION, {
      input: { sessionId: encodeGlobalId('Session', session.id) },
    });
    expect(revoked.data!.revokeSession).toEqual({
      revokedSessionIds: [encodeGlobalId('Session', session.id)],
      userErrors: [],
    });
    expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    expect(
      await server.db.prisma.oidcPayload.count({ where: { model: 'Session', uid: session.providerSessionUid! } }),
    ).toBe(0);
  });

  it('stop working once the user is suspended', async () => {
    const erin = await makeUser(server, server.admin.realmId, {
      email: 'erin@example.com',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK, 'erin@example.com');
    const suspended = await server.graphql(SUSPEND, { input: { id: erin.globalId } });
    expect(suspended.data!.suspendUser.userErrors).toEqual([]);
    expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
  });
});

describe('other applications', () => {
  it('cannot introspect a SPA user’s token unless machine-to-machine; a disabled SPA gets no token', async () => {
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK);
    const introspect = async (clientId: string, secret: string) => {
      const response = await fetch(`${issuer()}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: tokens.access_token }),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { active: boolean; sub?: string };
    };
    expect(await introspect(web.clientId, web.clientSecret)).toEqual({ active: false });
    expect(await introspect(server.admin.clientId, server.admin.clientSecret)).toMatchObject({
      active: true,
      sub: alice.id,
      client_id: spa.clientId,
    });

    await server.db.prisma.application.update({ where: { id: spa.id }, data: { disabledAt: new Date() } });
    try {
      expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toEqual({
        status: 401,
        error: 'invalid_client',
      });
    } finally {
      await server.db.prisma.application.update({ where: { id: spa.id }, data: { disabledAt: null } });
    }
  });
});

describe('deleting a user', () => {
  it('ends their sessions: the next refresh fails', async () => {
    const heidi = await makeUser(server, server.admin.realmId, {
      email: 'heidi@example.com',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const config = await spaConfig();
    const { tokens } = await signIn(config, SPA_CALLBACK, 'heidi@example.com');
    const deleted = await server.graphql(DELETE_USER, { input: { id: heidi.globalId } });
    expect(deleted.data!.deleteUser.userErrors).toEqual([]);
    expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
  });
});

describe('RP-initiated logout', () => {
  it('ends the session after confirmation and returns to a registered post-logout URI', async () => {
    const config = await spaConfig();
    const { tokens, browser } = await signIn(config, SPA_CALLBACK);
    const session = await latestSession(alice.id);
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: SPA_LOGGED_OUT,
      state: 'bye',
    });
    const confirm = await browser.request(url.href);
    expect(confirm.status).toBe(200);
    const html = await confirm.text();
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(html)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const done = await browser.request(new URL(action, server.url).href, {
      method: 'POST',
      form: { xsrf, logout: 'yes' },
    });
    expect(done.status).toBe(303);
    const back = new URL(done.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(SPA_LOGGED_OUT);
    expect(back.searchParams.get('state')).toBe('bye');

    const ended = await server.db.prisma.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(ended.revokedReason).toBe('signed_out');
    expect(
      await server.db.prisma.auditEvent.count({ where: { action: 'user.signed_out', targetId: alice.id } }),
    ).toBeGreaterThan(0);
    expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
  });

  it('refuses a post-logout URI that is not registered', async () => {
    const config = await spaConfig();
    const { tokens, browser } = await signIn(config, SPA_CALLBACK);
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'https://evil.example.com/',
    });
    const response = await browser.request(url.href);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});
