/**
 * People as management callers: an access token issued to a person through one of the realm's
 * applications carries `sub` (the user) and `sid` (their Roster session). The API accepts it
 * while the session is live, the user active and the application enabled, with the token's
 * scopes that the person's realm-wide roles and direct grants still give; the audit trail names
 * the person. The tokens come from real sign-ins (code + PKCE through the hosted pages, asking for
 * the management API); only tokens the runtime cannot issue (naming another person's session,
 * another realm's, or a malformed one) are signed here with the realm's own key.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import {
  adminRoleId,
  createApplication,
  makeRole,
  makeSession,
  makeUser,
  managementScopes,
  signPersonToken,
  type TestUser,
} from '../helpers/fixtures.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { relyingParty, signIn } from '../helpers/sign-in.ts';

const VIEWER = graphql(`
  query AuthPersonViewer {
    viewer {
      clientId
      scopes
      user {
        id
        email
      }
    }
  }
`);
const CREATE_TENANT = graphql(`
  mutation AuthPersonCreateTenant($input: CreateTenantInput!) {
    createTenant(input: $input) {
      tenant {
        id
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REVOKE_SESSION = graphql(`
  mutation AuthPersonRevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const CALLBACK = 'https://console.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';

let server: TestServer;
let admin: Credentials;
let other: Credentials;
let applicationId: string;
let console_: { id: string; clientId: string };

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  other = await server.createRealm('person-other');
  const app = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: admin.clientId } });
  applicationId = app.id;
  console_ = await spa('Admin console');
}, 120_000);

/** A SPA of the admin realm that signs people in. */
async function spa(name: string): Promise<{ id: string; clientId: string }> {
  const { clientId } = await createApplication(server, { name, type: 'SPA', redirectUris: [CALLBACK] });
  const row = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId } });
  return { id: row.id, clientId };
}

/** A person who can sign in with PASSWORD, holding the built-in administrator role unless `admin` is false. */
async function signInPerson(options: { admin?: boolean } = {}): Promise<TestUser & { email: string }> {
  const email = `${randomUUID()}@people.example`;
  const user = await makeUser(server, admin.realmId, {
    email,
    emailVerified: true,
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
  if (options.admin !== false) {
    const roleId = rawId(await adminRoleId(server, admin.realmId));
    await server.db.prisma.userRole.create({ data: { realmId: admin.realmId, userId: user.id, roleId } });
  }
  return { ...user, email };
}

/** The person's management token from a real sign-in through `app` asking for `scope`, and its session. */
async function managementToken(
  user: { id: string; email: string },
  scope: string,
  options: { app?: { clientId: string }; tenant?: string } = {},
): Promise<{ token: string; sessionId: string }> {
  const config = await relyingParty(server.issuer(admin), (options.app ?? console_).clientId);
  const { tokens } = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
    resource: MANAGEMENT_API_INDICATOR,
    scope: `openid ${scope}`,
    ...(options.tenant ? { tenant: options.tenant } : {}),
  });
  const session = await server.db.prisma.session.findFirstOrThrow({
    where: { userId: user.id, revokedAt: null },
    orderBy: { createdAt: 'desc' },
  });
  expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, sid: session.id });
  return { token: tokens.access_token, sessionId: session.id };
}

afterAll(() => server?.close());

/** A person's management token signed with the realm's key, naming any session: one the runtime never issues. */
function personToken(
  realmId: string,
  claims: { sub: string; sid: string; scope: string; appId?: string; clientId?: string },
): Promise<string> {
  return signPersonToken(server, realmId, { appId: applicationId, clientId: admin.clientId, ...claims });
}

/** A person holding the administrator role, with a session made in the database (not signed in). */
async function personWithAdminRole(): Promise<{ user: TestUser; session: { id: string; globalId: string } }> {
  const user = await makeUser(server, admin.realmId, { email: `${randomUUID()}@people.example` });
  const roleId = rawId(await adminRoleId(server, admin.realmId));
  await server.db.prisma.userRole.create({ data: { realmId: admin.realmId, userId: user.id, roleId } });
  const session = await makeSession(server, admin.realmId, user.id);
  return { user, session };
}

const expect401 = async (token: string) => {
  const result = await server.graphql(VIEWER, {}, token);
  expect(result.status).toBe(401);
  expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  return result.errors![0]!.message;
};

describe('a person’s access token on the management API', () => {
  it('is the person: viewer.user, the token’s scopes their roles still give, and the audit actor', async () => {
    const user = await signInPerson();
    const { token } = await managementToken(user, 'tenants:write tenants:read users:read not:a-scope');
    const viewer = await server.graphql(VIEWER, {}, token);
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data!.viewer).toMatchObject({
      clientId: console_.clientId,
      scopes: ['tenants:read', 'tenants:write', 'users:read'],
      user: { id: user.globalId, email: user.email },
    });

    const created = payloadOf(
      await server.graphql(CREATE_TENANT, { input: { name: 'Made by a person', slug: `p-${Date.now()}` } }, token),
    );
    expect(created.userErrors).toEqual([]);
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { targetId: rawId(created.tenant!.id), action: 'tenant.created' },
    });
    expect(audit).toMatchObject({ actorType: 'user', actorId: user.id });
  });

  it('counts realm-wide roles and direct grants, never a role held inside a tenant, even signed in within it', async () => {
    const user = await signInPerson({ admin: false });
    const tenant = await server.db.prisma.tenant.create({
      data: { realmId: admin.realmId, name: 'Scoped', slug: `scoped-${Date.now()}` },
    });
    await server.db.prisma.tenantMembership.create({
      data: { realmId: admin.realmId, userId: user.id, tenantId: tenant.id },
    });
    const tenantRole = await makeRole(server, admin.realmId, `Tenant admin ${randomUUID()}`, ['users:write'], {
      tenantId: tenant.id,
    });
    await server.db.prisma.userRole.create({
      data: { realmId: admin.realmId, userId: user.id, roleId: tenantRole.id, tenantId: tenant.id },
    });
    const { scopes } = await managementScopes(server, admin.realmId);
    await server.db.prisma.userPermission.create({
      data: { realmId: admin.realmId, userId: user.id, scopeId: rawId(scopes['audit:read']!) },
    });
    const { token } = await managementToken(user, 'users:write audit:read', { tenant: tenant.id });
    expect(decodeJwt(token)).toMatchObject({ scope: 'audit:read', tenant_id: tenant.id });
    const viewer = await server.graphql(VIEWER, {}, token);
    expect(viewer.data!.viewer.scopes).toEqual(['audit:read']);
  });

  it('stops at the next request once the session is revoked through the API', async () => {
    const user = await signInPerson();
    const { token, sessionId } = await managementToken(user, 'users:read');
    expect((await server.graphql(VIEWER, {}, token)).status).toBe(200);
    const globalId = encodeGlobalId('Session', sessionId);
    const revoked = payloadOf(await server.graphql(REVOKE_SESSION, { input: { sessionId: globalId } }));
    expect(revoked.revokedSessionIds).toEqual([globalId]);
    expect(await expect401(token)).toMatch(/session of this access token has ended/);
  });

  it('is refused when the user is suspended or deleted, the session expired, or the application disabled', async () => {
    const cases: { name: string; breakIt: (user: TestUser, sessionId: string) => Promise<unknown> }[] = [
      {
        name: 'suspended',
        breakIt: (user) =>
          server.db.prisma.user.update({
            where: { id: user.id },
            data: { status: 'SUSPENDED', suspendedAt: new Date() },
          }),
      },
      {
        name: 'deleted',
        breakIt: (user) =>
          server.db.prisma.user.update({ where: { id: user.id }, data: { status: 'DELETED', deletedAt: new Date() } }),
      },
      {
        name: 'expired session',
        breakIt: (_user, sessionId) =>
          server.db.prisma.session.update({
            where: { id: sessionId },
            data: { expiresAt: new Date(Date.now() - 1000) },
          }),
      },
    ];
    for (const { name, breakIt } of cases) {
      const user = await signInPerson();
      const { token, sessionId } = await managementToken(user, 'users:read');
      expect((await server.graphql(VIEWER, {}, token)).status, name).toBe(200);
      await breakIt(user, sessionId);
      await expect401(token);
    }

    const app = await spa(`Console ${randomUUID()}`);
    const user = await signInPerson();
    const { token } = await managementToken(user, 'users:read', { app });
    expect(decodeJwt(token)).toMatchObject({ client_id: app.clientId, app_id: app.id });
    expect((await server.graphql(VIEWER, {}, token)).status).toBe(200);
    await server.db.prisma.application.update({ where: { id: app.id }, data: { disabledAt: new Date() } });
    await expect401(token);
  });

  it('is refused with another person’s session, another realm’s session, or a malformed sid', async () => {
    const a = await personWithAdminRole();
    const b = await personWithAdminRole();
    await expect401(await personToken(admin.realmId, { sub: a.user.id, sid: b.session.id, scope: 'users:read' }));
    await expect401(await personToken(admin.realmId, { sub: a.user.id, sid: 'not-a-session', scope: 'users:read' }));
    await expect401(await personToken(admin.realmId, { sub: 'someone', sid: a.session.id, scope: 'users:read' }));

    // A person and session of realm `other`, named in a token signed by this realm's key.
    const stranger = await makeUser(server, other.realmId);
    const strangerSession = await makeSession(server, other.realmId, stranger.id);
    await expect401(
      await personToken(admin.realmId, { sub: stranger.id, sid: strangerSession.id, scope: 'users:read' }),
    );
  });
});
