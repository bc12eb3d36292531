/**
 * Session and refresh-token lifetimes from realm settings (idle timeout, maximum lifetime), and
 * single sign-on: a second application of the realm signed in to without a password.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { recordSingleSignOn } from '../../src/modules/users/users.signin.ts';
import { type Browser } from '../helpers/browser.ts';
import { graphql } from '../helpers/documents.ts';
import { createApplication, makeUser, type TestUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { authorize, exchangeCode, relyingParty, signIn, startSignIn, submitSignIn } from '../helpers/sign-in.ts';

const SETTINGS = graphql(`
  query IdentityLifetimesSettings {
    realm {
      settings {
        sessionIdleTimeoutSeconds
        sessionMaxLifetimeSeconds
      }
    }
  }
`);
const SET_LIFETIMES = graphql(`
  mutation IdentityLifetimesSet($patch: RealmSettingsPatch!) {
    updateRealmSettings(input: { patch: $patch }) {
      realm {
        settings {
          sessionIdleTimeoutSeconds
          sessionMaxLifetimeSeconds
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ACTIVE_SESSIONS = graphql(`
  query IdentityLifetimesSessions($id: ID!) {
    node(id: $id) {
      ... on User {
        sessions(activeOnly: true) {
          totalCount
        }
      }
    }
  }
`);
const SESSION_APPLICATIONS = graphql(`
  query IdentityLifetimesSessionApplications($id: ID!, $applicationIds: [ID!]) {
    node(id: $id) {
      ... on User {
        sessions(activeOnly: true) {
          nodes {
            id
            application {
              clientId
            }
            applications {
              clientId
            }
          }
        }
      }
    }
    users(filter: { applicationIds: $applicationIds }) {
      nodes {
        id
      }
    }
  }
`);

const REVOKE = graphql(`
  mutation IdentityLifetimesRevoke($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const SPA_CALLBACK = 'https://spa.example.com/callback';
const WEB_CALLBACK = 'https://web.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';
const DAY = 86_400;

let server: TestServer;
let spa: oidc.Configuration;
let web: oidc.Configuration;
let webId: string;
let spaId: string;
let alice: TestUser;
let consoleSpies: MockInstance[];

const issuer = () => server.issuer();
const signInAlice = (browser?: Browser) =>
  signIn(server.url, spa, SPA_CALLBACK, 'alice@example.com', PASSWORD, {}, browser);

/** The Roster session of Alice's latest sign-in (ids are UUIDv7: in creation order, whatever `age` did). */
const latestSession = () =>
  server.db.prisma.session.findFirstOrThrow({ where: { userId: alice.id }, orderBy: { id: 'desc' } });

/** Moves a session's timestamps `seconds` into the past, as if that much time had gone by. */
async function age(sessionId: string, seconds: number, fields: ('createdAt' | 'lastActiveAt' | 'expiresAt')[]) {
  const session = await server.db.prisma.session.findUniqueOrThrow({ where: { id: sessionId } });
  const back = (date: Date) => new Date(date.getTime() - seconds * 1000);
  await server.db.prisma.session.update({
    where: { id: sessionId },
    data: Object.fromEntries(fields.map((field) => [field, back(session[field])])),
  });
}

async function refusal(call: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return { status: error.status, error: error.error };
    throw error;
  }
  throw new Error('the call succeeded');
}

const activeSessions = async () => {
  const result = await server.graphql(ACTIVE_SESSIONS, { id: alice.globalId });
  return (result.data!.node as { sessions: { totalCount: number } }).sessions.totalCount;
};

/** The stored provider artifact (`id`: an opaque token's value), and its expiry in seconds from now. */
async function stored(model: string, where: { id?: string; uid?: string | null }) {
  const row = await server.db.prisma.oidcPayload.findFirstOrThrow({
    where: { realmId: server.admin.realmId, model, ...where },
  });
  return { ...row, expiresIn: (row.expiresAt!.getTime() - Date.now()) / 1000 };
}

/** Moves the `authTime` (the sign-in's time) a refresh token carries `seconds` into the past. */
async function backdateSignIn(refreshToken: string, seconds: number) {
  const row = await stored('RefreshToken', { id: refreshToken });
  const payload = row.payload as { authTime: number };
  await server.db.prisma.oidcPayload.update({
    where: { realmId_model_id: { realmId: server.admin.realmId, model: 'RefreshToken', id: refreshToken } },
    data: { payload: { ...payload, authTime: payload.authTime - seconds } },
  });
}

beforeAll(async () => {
  consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'info')];
  server = await startTestServer();
  const createdSpa = await createApplication(server, { name: 'Shop SPA', type: 'SPA', redirectUris: [SPA_CALLBACK] });
  const createdWeb = await createApplication(server, {
    name: 'Shop back office',
    type: 'WEB',
    redirectUris: [WEB_CALLBACK],
  });
  spa = await relyingParty(issuer(), createdSpa.clientId);
  web = await relyingParty(issuer(), createdWeb.clientId, createdWeb.clientSecret!);
  const rowOf = (clientId: string) => server.db.prisma.application.findUniqueOrThrow({ where: { clientId } });
  spaId = (await rowOf(createdSpa.clientId)).id;
  webId = (await rowOf(createdWeb.clientId)).id;
  alice = await makeUser(server, server.admin.realmId, {
    email: 'alice@example.com',
    emailVerified: true,
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
}, 120_000);

afterAll(async () => {
  for (const spy of consoleSpies) spy.mockRestore();
  await server?.close();
});

describe('realm settings', () => {
  beforeEach(async () => {
    await server.db.prisma.realm.update({
      where: { id: server.admin.realmId },
      data: { sessionIdleTimeoutSeconds: 14 * DAY, sessionMaxLifetimeSeconds: 30 * DAY },
    });
  });

  it('default to 14 days idle and 30 days at most', async () => {
    const result = await server.graphql(SETTINGS);
    expect(result.data!.realm.settings).toEqual({
      sessionIdleTimeoutSeconds: 14 * DAY,
      sessionMaxLifetimeSeconds: 30 * DAY,
    });
  });

  it('refuse values out of bounds, cleared, or an idle timeout beyond the maximum lifetime; nothing changes', async () => {
    const audits = () => server.db.prisma.auditEvent.count({ where: { action: 'realm.settings_updated' } });
    const before = await audits();
    const cases = [
      [{ sessionIdleTimeoutSeconds: 299 }, 'sessionIdleTimeoutSeconds', 'must be between 300 and 31536000'],
      [{ sessionMaxLifetimeSeconds: 31_536_001 }, 'sessionMaxLifetimeSeconds', 'must be between 300 and 31536000'],
      [{ sessionMaxLifetimeSeconds: null }, 'sessionMaxLifetimeSeconds', 'cannot be cleared'],
      [{ sessionIdleTimeoutSeconds: 31 * DAY }, 'sessionIdleTimeoutSeconds', 'cannot exceed sessionMaxLifetimeSeconds'],
      [{ sessionMaxLifetimeSeconds: DAY }, 'sessionMaxLifetimeSeconds', 'cannot exceed sessionMaxLifetimeSeconds'],
      [
        { sessionIdleTimeoutSeconds: 2 * DAY, sessionMaxLifetimeSeconds: DAY },
        'sessionIdleTimeoutSeconds',
        '(172800) cannot exceed sessionMaxLifetimeSeconds (86400)',
      ],
    ] as const;
    for (const [patch, field, message] of cases) {
      const result = await server.graphql(SET_LIFETIMES, { patch });
      expect(result.data!.updateRealmSettings.realm).toBeNull();
      expect(result.data!.updateRealmSettings.userErrors).toEqual([
        {
          code: patch[field as keyof typeof patch] === null ? 'REQUIRED' : 'INVALID',
          field: ['input', 'patch', field],
          message: expect.stringContaining(message),
        },
      ]);
    }
    expect((await server.graphql(SETTINGS)).data!.realm.settings).toEqual({
      sessionIdleTimeoutSeconds: 14 * DAY,
      sessionMaxLifetimeSeconds: 30 * DAY,
    });
    expect(await audits()).toBe(before);
  });

  it('change both at once, audited', async () => {
    const result = await server.graphql(SET_LIFETIMES, {
      patch: { sessionIdleTimeoutSeconds: 300, sessionMaxLifetimeSeconds: 600 },
    });
    expect(result.data!.updateRealmSettings).toEqual({
      realm: { settings: { sessionIdleTimeoutSeconds: 300, sessionMaxLifetimeSeconds: 600 } },
      userErrors: [],
    });
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'realm.settings_updated' },
      orderBy: { id: 'desc' },
    });
    expect(audit.changes).toMatchObject({
      sessionIdleTimeoutSeconds: { before: 14 * DAY, after: 300 },
      sessionMaxLifetimeSeconds: { before: 30 * DAY, after: 600 },
    });
  });
});

describe('refresh tokens and sessions', () => {
  beforeAll(async () => {
    await server.graphql(SET_LIFETIMES, { patch: { sessionIdleTimeoutSeconds: 600, sessionMaxLifetimeSeconds: 3600 } });
  });

  it('last the idle timeout each, the session until its last use plus the idle timeout, the browser’s until the maximum', async () => {
    const { tokens } = await signInAlice();
    const session = await latestSession();
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(600_000);
    const refreshToken = await stored('RefreshToken', { id: tokens.refresh_token! });
    expect(refreshToken.expiresIn).toBeGreaterThan(590);
    expect(refreshToken.expiresIn).toBeLessThanOrEqual(600);
    const browserSession = await stored('Session', { uid: session.providerSessionUid });
    expect(browserSession.expiresIn).toBeGreaterThan(3590);
    expect(browserSession.expiresIn).toBeLessThanOrEqual(3600);

    // A refresh 200 s later moves the session's end on by the idle timeout.
    await age(session.id, 200, ['createdAt', 'lastActiveAt', 'expiresAt']);
    const refreshed = await oidc.refreshTokenGrant(spa, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const after = await latestSession();
    expect(after.lastActiveAt.getTime()).toBeGreaterThan(session.lastActiveAt.getTime());
    expect(after.expiresAt.getTime()).toBe(after.lastActiveAt.getTime() + 600_000);
  });

  it('note a refresh’s activity on the session and the user once the last noted one is a minute old', async () => {
    const { tokens } = await signInAlice();
    const session = await latestSession();
    // Within the minute: the refresh works, the activity noted at the sign-in stays.
    const soon = await oidc.refreshTokenGrant(spa, tokens.refresh_token!);
    expect((await latestSession()).lastActiveAt).toEqual(session.lastActiveAt);

    await age(session.id, 61, ['createdAt', 'lastActiveAt', 'expiresAt']);
    const before = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
    await oidc.refreshTokenGrant(spa, soon.refresh_token!);
    const after = await latestSession();
    expect(after.lastActiveAt.getTime()).toBeGreaterThan(session.lastActiveAt.getTime());
    expect(after.expiresAt.getTime()).toBe(after.lastActiveAt.getTime() + 600_000);
    const user = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
    expect(user.lastActiveAt).toEqual(after.lastActiveAt);
    // Activity is no change to the user's profile (`updated_at`).
    expect(user.updatedAt).toEqual(before.updatedAt);
  });

  it('end after the idle timeout without use: the refresh gets invalid_grant and the session is shown ended', async () => {
    const { tokens } = await signInAlice();
    const session = await latestSession();
    expect(await activeSessions()).toBeGreaterThan(0);
    await server.db.prisma.session.updateMany({
      where: { userId: alice.id, id: { not: session.id } },
      data: { revokedAt: new Date() },
    });
    expect(await activeSessions()).toBe(1);
    // 601 s without use; the realm's idle timeout is 600 s (the token's own expiry is left as it was).
    await age(session.id, 601, ['createdAt', 'lastActiveAt']);
    expect(await refusal(oidc.refreshTokenGrant(spa, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    const ended = await latestSession();
    expect(ended.expiresAt.getTime()).toBe(ended.lastActiveAt.getTime() + 600_000);
    expect(ended.expiresAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await activeSessions()).toBe(0);
  });

  it('end at the maximum lifetime however often the refresh token was rotated', async () => {
    const { tokens } = await signInAlice();
    const session = await latestSession();
    let refreshToken = tokens.refresh_token!;
    for (let i = 0; i < 3; i++) refreshToken = (await oidc.refreshTokenGrant(spa, refreshToken)).refresh_token!;
    // Signed in 3600 s ago, used a moment ago: past the maximum lifetime, not idle.
    await age(session.id, 3600, ['createdAt']);
    expect(await refusal(oidc.refreshTokenGrant(spa, refreshToken))).toEqual({ status: 400, error: 'invalid_grant' });
    const ended = await latestSession();
    expect(ended.expiresAt.getTime()).toBe(ended.createdAt.getTime() + 3600_000);
    expect(await activeSessions()).toBe(0);
  });

  it('never rotates a refresh token beyond the sign-in’s time plus the maximum lifetime', async () => {
    const { tokens } = await signInAlice();
    // The sign-in's auth_time as the token chain carries it, 3400 s back: 200 s are left.
    await backdateSignIn(tokens.refresh_token!, 3400);
    const rotated = await oidc.refreshTokenGrant(spa, tokens.refresh_token!);
    const left = (await stored('RefreshToken', { id: rotated.refresh_token! })).expiresIn;
    expect(left).toBeGreaterThan(190);
    expect(left).toBeLessThanOrEqual(200);

    // Past it, refused while the session is live (an offline_access token is bound alike).
    await backdateSignIn(rotated.refresh_token!, 200);
    expect(await refusal(oidc.refreshTokenGrant(spa, rotated.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    expect((await latestSession()).revokedAt).toBeNull();
  });

  it('follow a shortened setting at once', async () => {
    const { tokens } = await signInAlice();
    const session = await latestSession();
    await age(session.id, 400, ['createdAt', 'lastActiveAt', 'expiresAt']);
    const refreshed = await oidc.refreshTokenGrant(spa, tokens.refresh_token!);
    await age(session.id, 350, ['createdAt', 'lastActiveAt']);
    await server.graphql(SET_LIFETIMES, { patch: { sessionIdleTimeoutSeconds: 300 } });
    try {
      expect(await refusal(oidc.refreshTokenGrant(spa, refreshed.refresh_token!))).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    } finally {
      await server.graphql(SET_LIFETIMES, { patch: { sessionIdleTimeoutSeconds: 600 } });
    }
  });
});

describe('single sign-on', () => {
  it('signs a person with a live session in to a second application without a password, and records it', async () => {
    const { browser } = await signInAlice();
    const session = await latestSession();
    const before = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
    const passwordEvents = await server.db.prisma.loginEvent.count({ where: { userId: alice.id, method: 'password' } });

    const authorization = await authorize(server.url, web, WEB_CALLBACK, {}, browser);
    if (!('left' in authorization.landed)) throw new Error('asked for credentials');
    const tokens = await exchangeCode(web, authorization, authorization.landed.left);
    expect(tokens.claims()!.sub).toBe(alice.id);
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const event = await server.db.prisma.loginEvent.findFirstOrThrow({
      where: { userId: alice.id },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
    });
    expect(event).toMatchObject({ success: true, method: 'sso', applicationId: webId, failureReason: null });
    expect(event.userAgent).toContain('Firefox');
    expect(await server.db.prisma.loginEvent.count({ where: { userId: alice.id, method: 'password' } })).toBe(
      passwordEvents,
    );
    const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
    expect(after.lastLoginAt!.getTime()).toBeGreaterThan(before.lastLoginAt!.getTime());
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.signed_in', targetId: alice.id },
      orderBy: { id: 'desc' },
    });
    expect(audit.changes).toEqual({ method: 'sso', applicationId: webId });
    // The same session (the first application's), its activity noted.
    const same = await latestSession();
    expect(same.id).toBe(session.id);
    expect(same.applicationId).toBe(spaId);
    expect(same.lastActiveAt.getTime()).toBeGreaterThan(session.lastActiveAt.getTime());
    // Both applications on the session, in order; the user counts as a user of the second one.
    const listed = await server.graphql(SESSION_APPLICATIONS, {
      id: encodeGlobalId('User', alice.id),
      applicationIds: [encodeGlobalId('Application', webId)],
    });
    expect(listed.errors).toBeUndefined();
    const node = listed.data!.node as {
      sessions: { nodes: { id: string; application: unknown; applications: unknown }[] };
    };
    expect(node.sessions.nodes.find((s) => s.id === encodeGlobalId('Session', session.id))).toEqual({
      id: encodeGlobalId('Session', session.id),
      application: { clientId: spa.clientMetadata().client_id },
      applications: [{ clientId: spa.clientMetadata().client_id }, { clientId: web.clientMetadata().client_id }],
    });
    expect(listed.data!.users.nodes).toContainEqual({ id: encodeGlobalId('User', alice.id) });
    expect(
      await server.db.prisma.userApplication.findUniqueOrThrow({
        where: {
          realmId_userId_applicationId: { realmId: server.admin.realmId, userId: alice.id, applicationId: webId },
        },
      }),
    ).toMatchObject({ lastUsedAt: after.lastLoginAt });

    // The second application's tokens end with the session.
    await server.db.prisma.session.update({ where: { id: session.id }, data: { revokedAt: new Date() } });
    expect(await refusal(oidc.refreshTokenGrant(web, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
  });

  it('notes concurrent single sign-ons to one application once on the session and on the user', async () => {
    const { browser } = await signInAlice();
    const session = await latestSession();
    const authorizations = await Promise.all(
      Array.from({ length: 4 }, () => authorize(server.url, web, WEB_CALLBACK, {}, browser)),
    );
    // Each request rotates the provider session's id (oidc-provider does on every resumption), so
    // a request racing another may end on the sign-in form, on a page saying to start again, or
    // back at the application with invalid_request naming the replaced session (which a client
    // answers by starting again): never on a server error, and the data below stays single.
    const codes = authorizations.filter(
      (authorization) => 'left' in authorization.landed && authorization.landed.left.searchParams.has('code'),
    );
    expect(codes.length).toBeGreaterThan(0);
    for (const authorization of authorizations) {
      if ('left' in authorization.landed) {
        const answer = authorization.landed.left.searchParams;
        if (!answer.has('code')) {
          expect(answer.get('error')).toBe('invalid_request');
          expect(answer.get('error_description')).toMatch(/session/);
        }
      } else {
        const { status } = authorization.landed.page;
        const text = await authorization.landed.page.text();
        // The sign-in form (its session was gone), or the page that says to start again (another
        // request rotated the session between this one's start and its resumption).
        if (status !== 200) {
          expect(status).toBe(400);
          expect(text).toContain('Go back to the application and start again.');
        }
      }
    }
    // The same sign-in noted concurrently, as the runtime notes it.
    await Promise.all(
      Array.from({ length: 4 }, () =>
        recordSingleSignOn(server.db.prisma, {
          realmId: server.admin.realmId,
          userId: alice.id,
          applicationId: webId,
          providerSessionUid: session.providerSessionUid!,
          lifetimes: { sessionIdleTimeoutSeconds: 600, sessionMaxLifetimeSeconds: DAY },
        }),
      ),
    );
    const entries = await server.db.prisma.sessionApplication.findMany({
      where: { sessionId: session.id },
      orderBy: { firstSignInAt: 'asc' },
    });
    expect(entries.map((entry) => entry.applicationId)).toEqual([spaId, webId]);
    expect(await server.db.prisma.userApplication.count({ where: { userId: alice.id, applicationId: webId } })).toBe(1);
  });

  it('answers prompt=none with a code while the session is live, and with login_required once it ended', async () => {
    const { browser } = await signInAlice();
    const session = await latestSession();
    const silent = await authorize(server.url, spa, SPA_CALLBACK, { prompt: 'none' }, browser);
    if (!('left' in silent.landed)) throw new Error('prompt=none showed a page');
    expect(silent.landed.left.searchParams.get('code')).toEqual(expect.any(String));
    await exchangeCode(spa, silent, silent.landed.left);
    const events = () => server.db.prisma.loginEvent.count({ where: { userId: alice.id, method: 'sso' } });
    const ssoEvents = await events();

    await age(session.id, 601, ['createdAt', 'lastActiveAt']);
    const refused = await authorize(server.url, spa, SPA_CALLBACK, { prompt: 'none' }, browser);
    if (!('left' in refused.landed)) throw new Error('prompt=none showed a page');
    expect(refused.landed.left.searchParams.get('error')).toBe('login_required');
    expect(refused.landed.left.searchParams.get('code')).toBeNull();
    expect(await events()).toBe(ssoEvents);

    // Without prompt=none the person is asked for the password again, and a new session starts.
    const again = await startSignIn(server.url, web, WEB_CALLBACK, {}, browser);
    const landed = await submitSignIn(again, 'alice@example.com', PASSWORD);
    if (!('left' in landed)) throw new Error('the password was refused');
    await exchangeCode(web, again, landed.left);
    const fresh = await latestSession();
    expect(fresh.id).not.toBe(session.id);
    expect(fresh.applicationId).toBe(webId);
  });

  it('asks for the password again with prompt=login, the session being live', async () => {
    const { browser } = await signInAlice();
    const authorization = await startSignIn(server.url, web, WEB_CALLBACK, { prompt: 'login' }, browser);
    expect(authorization.html).toContain('name="password"');
    const wrong = await submitSignIn(authorization, 'alice@example.com', 'not the password');
    if (!('page' in wrong)) throw new Error('a wrong password signed in');
    expect(wrong.page.status).toBe(401);
  });

  it('asks for the password once the session was revoked through the management API', async () => {
    const { browser } = await signInAlice();
    const session = await latestSession();
    const revoked = await server.graphql(REVOKE, { input: { sessionId: encodeGlobalId('Session', session.id) } });
    expect(revoked.data!.revokeSession.userErrors).toEqual([]);
    const authorization = await authorize(server.url, web, WEB_CALLBACK, { prompt: 'none' }, browser);
    if (!('left' in authorization.landed)) throw new Error('prompt=none showed a page');
    expect(authorization.landed.left.searchParams.get('error')).toBe('login_required');
  });
});
