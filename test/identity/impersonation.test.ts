/**
 * Impersonation by OAuth 2.0 Token Exchange (RFC 8693) at the realm's token endpoint: a
 * machine-to-machine application holding `users:impersonate` gets a token of a user that carries
 * `act`, in READ_ONLY or FULL mode, when the realm allows it; every token is an impersonation
 * session of the user and a `user.impersonated` audit event; every refusal changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import {
  adminRoleId,
  createApplication,
  createM2M,
  makeResource,
  makeRole,
  makeUser,
  type TestUser,
} from '../helpers/fixtures.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const USER_ID = 'urn:roster:params:oauth:token-type:user-id';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const ORDERS = 'https://orders.example.com/api';

const SETTINGS = graphql(`
  mutation ImpersonationSettings($input: UpdateRealmSettingsInput!) {
    updateRealmSettings(input: $input) {
      realm {
        settings {
          impersonationEnabled
          impersonateAdministrators
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const SESSIONS = graphql(`
  query ImpersonationSessions($id: ID!) {
    user(id: $id) {
      sessions(first: 20) {
        nodes {
          id
          impersonatedBy
          impersonationMode
          revokedAt
          application {
            clientId
          }
        }
      }
    }
  }
`);
const REVOKE_SESSION = graphql(`
  mutation ImpersonationRevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const VIEWER = graphql(`
  query ImpersonationViewer {
    viewer {
      clientId
      scopes
      user {
        id
      }
    }
  }
`);
const SUSPEND = graphql(`
  mutation ImpersonationSuspend($input: SuspendUserInput!) {
    suspendUser(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

let server: TestServer;
let consoleSpies: MockInstance[];
/** An M2M application holding users:impersonate and users:read (not users:write). */
let support: Credentials & { id: string };
/** An M2M application holding users:impersonate, users:read and users:write. */
let fullSupport: Credentials & { id: string };
/** An M2M application without users:impersonate. */
let reader: Credentials & { id: string };
/** A role granting users:read, users:write and tenants:read, and the orders API's read and write scopes. */
let staffRole: { id: string; globalId: string };

interface Answer {
  status: number;
  body: Record<string, any>;
}

/** POSTs a token exchange for `credentials` to the real token endpoint. */
async function exchange(credentials: Credentials, params: Record<string, string | string[]>): Promise<Answer> {
  const body = new URLSearchParams({ grant_type: TOKEN_EXCHANGE });
  for (const [name, value] of Object.entries(params)) {
    body.delete(name);
    for (const one of [value].flat()) body.append(name, one);
  }
  const response = await fetch(`${server.url}/oauth2/${credentials.realmName}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'support-console/1.0',
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const impersonate = (credentials: Credentials, user: TestUser, extra: Record<string, string | string[]> = {}) =>
  exchange(credentials, { subject_token: user.id, subject_token_type: USER_ID, ...extra });

/** A user who could sign in, holding the staff role. */
async function staff(data: Parameters<typeof makeUser>[2] = {}): Promise<TestUser> {
  const realmId = server.admin.realmId;
  const user = await makeUser(server, realmId, { emailVerified: true, ...data });
  await server.db.prisma.userRole.create({ data: { realmId, userId: user.id, roleId: staffRole.id } });
  return user;
}

/** What an impersonation writes: sessions of the user and `user.impersonated` events. */
async function written(user: TestUser) {
  const prisma = server.db.prisma;
  return {
    sessions: await prisma.session.count({ where: { userId: user.id } }),
    events: await prisma.auditEvent.count({ where: { action: 'user.impersonated', targetId: user.id } }),
    grants: await prisma.oidcPayload.count({
      where: { model: 'Grant', payload: { path: ['accountId'], equals: user.id } },
    }),
  };
}

async function setSettings(patch: { impersonationEnabled?: boolean; impersonateAdministrators?: boolean }) {
  const result = payloadOf(await server.graphql(SETTINGS, { input: { patch } }));
  expect(result.userErrors).toEqual([]);
  return result.realm!.settings;
}

async function introspect(token: string, credentials: Credentials = support): Promise<Record<string, any>> {
  const response = await fetch(`${server.url}/oauth2/${credentials.realmName}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, any>;
}

const userinfo = (token: string) => fetch(`${server.issuer()}/me`, { headers: { authorization: `Bearer ${token}` } });

async function sessionsOf(user: TestUser) {
  const result = await server.graphql(SESSIONS, { id: user.globalId });
  expect(result.errors).toBeUndefined();
  return result.data!.user!.sessions.nodes;
}

beforeAll(async () => {
  consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'info')];
  server = await startTestServer();
  const realmId = server.admin.realmId;
  await makeResource(server, realmId, ORDERS, ['orders:read', 'orders:write']);
  staffRole = await makeRole(server, realmId, 'Staff', [
    'users:read',
    'users:write',
    'tenants:read',
    'orders:read',
    'orders:write',
  ]);
  const impersonator = await makeRole(server, realmId, 'Impersonator', ['users:impersonate', 'users:read']);
  const fullImpersonator = await makeRole(server, realmId, 'Full impersonator', [
    'users:impersonate',
    'users:read',
    'users:write',
  ]);
  const readers = await makeRole(server, realmId, 'Readers', ['users:read']);
  support = await createM2M(server, server.admin, 'Support console', [impersonator.globalId]);
  fullSupport = await createM2M(server, server.admin, 'Full support console', [fullImpersonator.globalId]);
  reader = await createM2M(server, server.admin, 'Reader', [readers.globalId]);
}, 120_000);

afterAll(async () => {
  for (const spy of consoleSpies) spy.mockRestore();
  await server?.close();
});

describe('the realm setting', () => {
  it('is off by default: the exchange is unauthorized_client and writes nothing', async () => {
    const user = await staff();
    const answer = await impersonate(fullSupport, user, { mode: 'FULL' });
    expect(answer).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(answer.body.error_description).toMatch(/turned off in this realm/);
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it('is turned on with updateRealmSettings, and discovery lists the grant', async () => {
    expect(await setSettings({ impersonationEnabled: true })).toEqual({
      impersonationEnabled: true,
      impersonateAdministrators: false,
    });
    const discovery = (await (await fetch(`${server.issuer()}/.well-known/openid-configuration`)).json()) as {
      grant_types_supported: string[];
    };
    expect(discovery.grant_types_supported).toContain(TOKEN_EXCHANGE);
  });
});

describe('a FULL impersonation for the management API', () => {
  it('issues the user’s at+jwt with act, a short lifetime, no refresh token, a session and an audit event', async () => {
    const user = await staff();
    const before = Date.now();
    const answer = await impersonate(fullSupport, user, {
      mode: 'FULL',
      resource: MANAGEMENT_API_INDICATOR,
      requested_token_type: ACCESS_TOKEN,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ issued_token_type: ACCESS_TOKEN, token_type: 'Bearer' });
    expect(answer.body.refresh_token).toBeUndefined();
    expect(answer.body.id_token).toBeUndefined();
    expect(answer.body.expires_in).toBeGreaterThan(0);
    expect(answer.body.expires_in).toBeLessThanOrEqual(900);
    // The user holds users:read, users:write, tenants:read; the application users:read, users:write.
    expect(answer.body.scope).toBe('users:read users:write');

    const token = answer.body.access_token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    const sessions = await sessionsOf(user);
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    expect(session).toMatchObject({
      impersonatedBy: fullSupport.clientId,
      impersonationMode: 'FULL',
      revokedAt: null,
      application: { clientId: fullSupport.clientId },
    });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: server.issuer(),
      sub: user.id,
      aud: MANAGEMENT_API_INDICATOR,
      client_id: fullSupport.clientId,
      sid: rawId(session.id),
      realm_id: server.admin.realmId,
      app_id: rawId(fullSupport.id),
      act: { sub: fullSupport.clientId, client_id: fullSupport.clientId },
      scope: 'users:read users:write',
    });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(900);

    const viewer = await server.graphql(VIEWER, {}, token);
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data!.viewer).toMatchObject({ scopes: ['users:read', 'users:write'], user: { id: user.globalId } });

    const event = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.impersonated', targetId: user.id },
    });
    expect(event).toMatchObject({ actorType: 'application', actorId: fullSupport.clientId, targetType: 'User' });
    expect(event.changes).toMatchObject({
      mode: 'FULL',
      sessionId: rawId(session.id),
      resource: MANAGEMENT_API_INDICATOR,
      scopes: ['users:read', 'users:write'],
    });
    expect(event.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // Not the user's sign-in.
    expect(await server.db.prisma.loginEvent.count({ where: { userId: user.id } })).toBe(0);
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lastLoginAt).toBeNull();
  });

  it('acts as the user on the management API, and the audit trail names the application too', async () => {
    const user = await staff();
    const target = await staff();
    const answer = await impersonate(fullSupport, user, { mode: 'FULL', resource: MANAGEMENT_API_INDICATOR });
    const suspended = payloadOf(
      await server.graphql(SUSPEND, { input: { id: target.globalId } }, answer.body.access_token as string),
    );
    expect(suspended.userErrors).toEqual([]);
    const event = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.suspended', targetId: target.id },
    });
    expect(event).toMatchObject({ actorType: 'user', actorId: user.id });
    expect(event.changes).toMatchObject({ impersonatedBy: fullSupport.clientId });
  });

  it('never carries a management scope the impersonating application lacks', async () => {
    const user = await staff();
    const answer = await impersonate(support, user, { mode: 'FULL', resource: MANAGEMENT_API_INDICATOR });
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('users:read');
    const refused = await impersonate(support, user, {
      mode: 'FULL',
      resource: MANAGEMENT_API_INDICATOR,
      scope: 'users:write',
    });
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });

  it('stops working on the management API once its session is revoked', async () => {
    const user = await staff();
    const answer = await impersonate(fullSupport, user, { mode: 'FULL', resource: MANAGEMENT_API_INDICATOR });
    const token = answer.body.access_token as string;
    expect((await server.graphql(VIEWER, {}, token)).status).toBe(200);
    const [session] = await sessionsOf(user);
    const revoked = payloadOf(await server.graphql(REVOKE_SESSION, { input: { sessionId: session!.id } }));
    expect(revoked.revokedSessionIds).toEqual([session!.id]);
    const refused = await server.graphql(VIEWER, {}, token);
    expect(refused.status).toBe(401);
    // The user's sessions list shows live sessions only; the row keeps who revoked it.
    expect(await sessionsOf(user)).toEqual([]);
    const row = await server.db.prisma.session.findUniqueOrThrow({ where: { id: rawId(session!.id) } });
    expect(row).toMatchObject({ revokedReason: expect.any(String), impersonatedBy: fullSupport.clientId });
    expect(row.revokedAt).not.toBeNull();
  });
});

describe('a READ_ONLY impersonation', () => {
  it('carries read scopes only, and the management API refuses writes with it', async () => {
    const user = await staff();
    const answer = await impersonate(fullSupport, user, { mode: 'READ_ONLY', resource: MANAGEMENT_API_INDICATOR });
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('users:read');
    const token = answer.body.access_token as string;
    const suspend = await server.graphql(SUSPEND, { input: { id: user.globalId } }, token);
    expect(suspend.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['users:write'] });
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).status).toBe('ACTIVE');
    expect((await sessionsOf(user))[0]).toMatchObject({ impersonationMode: 'READ_ONLY' });
  });

  it('is the default mode', async () => {
    const user = await staff();
    const answer = await impersonate(fullSupport, user, { resource: ORDERS });
    expect(answer).toMatchObject({ status: 200, body: { scope: 'orders:read' } });
    expect(decodeJwt(answer.body.access_token as string)).toMatchObject({
      aud: ORDERS,
      sub: user.id,
      act: { sub: fullSupport.clientId },
    });
  });

  it('refuses a write scope with invalid_scope and writes nothing', async () => {
    const user = await staff();
    const answer = await impersonate(fullSupport, user, { mode: 'READ_ONLY', resource: ORDERS, scope: 'orders:write' });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(answer.body.error_description).toMatch(/READ_ONLY/);
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
    const full = await impersonate(fullSupport, user, { mode: 'FULL', resource: ORDERS, scope: 'orders:write' });
    expect(full).toMatchObject({ status: 200, body: { scope: 'orders:write' } });
  });
});

describe('an impersonation token for the userinfo endpoint (no resource)', () => {
  it('works at userinfo, introspects with act, and dies with its session', async () => {
    const user = await staff({ name: 'Ada Lovelace' });
    const answer = await impersonate(support, user, { mode: 'READ_ONLY' });
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('openid profile email');
    const token = answer.body.access_token as string;

    const info = await userinfo(token);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ sub: user.id, name: 'Ada Lovelace' });

    const introspection = await introspect(token);
    expect(introspection).toMatchObject({
      active: true,
      sub: user.id,
      client_id: support.clientId,
      act: { sub: support.clientId, client_id: support.clientId },
      scope: 'openid profile email',
    });

    const [session] = await sessionsOf(user);
    payloadOf(await server.graphql(REVOKE_SESSION, { input: { sessionId: session!.id } }));
    expect(await introspect(token)).toEqual({ active: false });
    expect((await userinfo(token)).status).toBe(401);
  });

  it('is refused for another scope', async () => {
    const user = await staff();
    const answer = await impersonate(support, user, { scope: 'users:read' });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });
});

describe('refusals change nothing', () => {
  it('refuses an application without users:impersonate (unauthorized_client)', async () => {
    const user = await staff();
    const answer = await impersonate(reader, user);
    expect(answer).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(answer.body.error_description).toMatch(/users:impersonate/);
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it('refuses a web application (unauthorized_client): token exchange is for machine-to-machine ones', async () => {
    const user = await staff();
    const web = await createApplication(server, {
      name: 'Web app',
      type: 'WEB',
      redirectUris: ['https://web.example.com/callback'],
    });
    const answer = await impersonate(
      { ...server.admin, clientId: web.clientId, clientSecret: web.clientSecret! },
      user,
    );
    expect(answer).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it('refuses a bad client secret (invalid_client)', async () => {
    const user = await staff();
    const answer = await impersonate({ ...support, clientSecret: 'wrong' }, user);
    expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it.each([
    ['no subject_token', { subject_token: null }, /subject_token is required/],
    ['no subject_token_type', { subject_token_type: null }, /subject_token_type is required/],
    ['an access token as subject', { subject_token_type: ACCESS_TOKEN }, /must be urn:roster/],
    [
      'a refresh token requested',
      { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      /requested_token_type/,
    ],
    ['an unknown mode', { mode: 'ADMIN' }, /mode must be/],
    ['an actor_token', { actor_token: 'x', actor_token_type: ACCESS_TOKEN }, /actor_token/],
    ['a malformed user id', { subject_token: 'not-a-user' }, /names no user/],
    ['an unknown user id', { subject_token: randomUUID() }, /names no user/],
  ])('refuses %s (invalid_request)', async (_name, change: Record<string, string | null>, description) => {
    const user = await staff();
    const params: Record<string, string> = { subject_token: user.id, subject_token_type: USER_ID, mode: 'FULL' };
    for (const [name, value] of Object.entries(change)) {
      if (value === null) delete params[name];
      else params[name] = value;
    }
    const answer = await exchange(fullSupport, params);
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(answer.body.error_description).toMatch(description);
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it.each([
    ['SUSPENDED', { status: 'SUSPENDED' as const }, /cannot sign in/],
    ['INACTIVE', { status: 'INACTIVE' as const }, /cannot sign in/],
    ['deleted', { deletedAt: new Date() }, /cannot sign in/],
    ['locked', { lockedUntil: new Date(Date.now() + 3_600_000) }, /locked/],
  ])('refuses a %s user (invalid_request)', async (_name, data, description) => {
    const user = await staff(data);
    const answer = await impersonate(fullSupport, user, { mode: 'FULL' });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(answer.body.error_description).toMatch(description);
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it('refuses an unknown resource (invalid_target) and two resources', async () => {
    const user = await staff();
    expect(await impersonate(fullSupport, user, { resource: 'https://nowhere.example.com' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_target' },
    });
    expect(await impersonate(fullSupport, user, { resource: [ORDERS, MANAGEMENT_API_INDICATOR] })).toMatchObject({
      status: 400,
      body: { error: 'invalid_target' },
    });
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it('refuses a huge subject_token', async () => {
    const user = await staff();
    const big = await impersonate(fullSupport, user, { subject_token: 'a'.repeat(15_000) });
    expect(big).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const huge = await impersonate(fullSupport, user, { subject_token: 'a'.repeat(1_000_000) });
    expect(huge).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(JSON.stringify(huge.body).length).toBeLessThan(500);
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
  });

  it('stops a token at once when the user is suspended afterwards', async () => {
    const user = await staff();
    const answer = await impersonate(support, user);
    const token = answer.body.access_token as string;
    expect((await userinfo(token)).status).toBe(200);
    payloadOf(await server.graphql(SUSPEND, { input: { id: user.globalId } }));
    expect((await userinfo(token)).status).toBe(401);
    expect(await introspect(token)).toEqual({ active: false });
  });
});

describe('administrators', () => {
  it('cannot be impersonated unless the realm allows it', async () => {
    const realmId = server.admin.realmId;
    const admin = await staff();
    await server.db.prisma.userRole.create({
      data: { realmId, userId: admin.id, roleId: rawId(await adminRoleId(server, realmId)) },
    });
    const refused = await impersonate(fullSupport, admin, { mode: 'FULL', resource: MANAGEMENT_API_INDICATOR });
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(refused.body.error_description).toMatch(/administrator role/);
    expect(await written(admin)).toEqual({ sessions: 0, events: 0, grants: 0 });

    await setSettings({ impersonateAdministrators: true });
    try {
      const allowed = await impersonate(fullSupport, admin, { mode: 'FULL', resource: MANAGEMENT_API_INDICATOR });
      expect(allowed.status).toBe(200);
      // Still no more than the application holds itself.
      expect(allowed.body.scope).toBe('users:read users:write');
    } finally {
      await setSettings({ impersonateAdministrators: false });
    }
  });
});

describe('concurrent exchanges', () => {
  it('each get their own token, session and audit event', async () => {
    const user = await staff();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        impersonate(fullSupport, user, { mode: 'FULL', resource: MANAGEMENT_API_INDICATOR }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    const sids = new Set(answers.map((answer) => decodeJwt(answer.body.access_token as string).sid));
    expect(sids.size).toBe(8);
    const sessions = await sessionsOf(user);
    expect(sessions).toHaveLength(8);
    expect(new Set(sessions.map((session) => rawId(session.id)))).toEqual(sids);
    expect((await written(user)).events).toBe(8);
  });
});

describe('the setting turned off again', () => {
  it('refuses new exchanges', async () => {
    await setSettings({ impersonationEnabled: false });
    const user = await staff();
    expect(await impersonate(fullSupport, user)).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(await written(user)).toEqual({ sessions: 0, events: 0, grants: 0 });
    expect(encodeGlobalId('User', user.id)).toBe(user.globalId);
  });
});

describe('the data migration of the new scope', () => {
  it('gives an existing realm’s management API the scope and its administrator role the scope', async () => {
    const prisma = server.db.prisma;
    const realmId = server.admin.realmId;
    const scopeOf = () =>
      prisma.resourceScope.findFirst({
        where: { realmId, name: 'users:impersonate', resource: { builtIn: true } },
        include: { roles: { include: { role: { select: { name: true, builtIn: true } } } } },
      });
    const before = await scopeOf();
    expect(before?.roles.map((held) => held.role.name)).toContain('Roster Administrator');
    // A realm made before the scope existed: no such scope, so no role holds it.
    await prisma.resourceScope.delete({ where: { id: before!.id } });
    const sql = await readFile(
      new URL('../../prisma/migrations/20261202153723_impersonate_scope/migration.sql', import.meta.url),
      'utf8',
    );
    for (const statement of sql
      .split(/;\n/)
      .map((part) => part.trim())
      .filter((part) => /\bINSERT\b/.test(part))) {
      await prisma.$executeRawUnsafe(statement);
    }
    const after = await scopeOf();
    expect(after?.description).toBe(
      "Get a user's token by token exchange (RFC 8693), to act as the user (impersonation).",
    );
    expect(after?.roles.filter((held) => held.role.builtIn).map((held) => held.role.name)).toEqual([
      'Roster Administrator',
    ]);
  });
});
