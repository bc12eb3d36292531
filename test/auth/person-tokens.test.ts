/**
 * People as management callers: an access token issued to a person through one of the realm's
 * applications carries `sub` (the user) and `sid` (their Roster session). The API accepts it
 * while the session is live, the user active and the application enabled, with the token's
 * scopes that the person's realm-wide roles and direct grants still give; the audit trail names
 * the person. The sign-in runtime issues these tokens; here they are signed with the realm's
 * own key exactly as it signs them, to test the management API's side.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/documents.ts';
import {
  adminRoleId,
  makeRole,
  makeSession,
  makeUser,
  managementScopes,
  signPersonToken,
  type TestUser,
} from '../helpers/fixtures.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

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

let server: TestServer;
let admin: Credentials;
let other: Credentials;
let applicationId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  other = await server.createRealm('person-other');
  const app = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: admin.clientId } });
  applicationId = app.id;
}, 120_000);

afterAll(() => server?.close());

/** A person's management token, by default through the admin application of realm `default`. */
function personToken(
  realmId: string,
  claims: { sub: string; sid: string; scope: string; appId?: string; clientId?: string },
): Promise<string> {
  return signPersonToken(server, realmId, { appId: applicationId, clientId: admin.clientId, ...claims });
}

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
    const { user, session } = await personWithAdminRole();
    const token = await personToken(admin.realmId, {
      sub: user.id,
      sid: session.id,
      scope: 'tenants:write tenants:read users:read not:a-scope',
    });
    const viewer = await server.graphql(VIEWER, {}, token);
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data!.viewer).toMatchObject({
      clientId: admin.clientId,
      scopes: ['tenants:read', 'tenants:write', 'users:read'],
      user: { id: user.globalId },
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

  it('counts realm-wide roles and direct grants, never a role held inside a tenant', async () => {
    const user = await makeUser(server, admin.realmId);
    const session = await makeSession(server, admin.realmId, user.id);
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
    const token = await personToken(admin.realmId, {
      sub: user.id,
      sid: session.id,
      scope: 'users:write audit:read',
    });
    const viewer = await server.graphql(VIEWER, {}, token);
    expect(viewer.data!.viewer.scopes).toEqual(['audit:read']);
  });

  it('stops at the next request once the session is revoked through the API', async () => {
    const { user, session } = await personWithAdminRole();
    const token = await personToken(admin.realmId, { sub: user.id, sid: session.id, scope: 'users:read' });
    expect((await server.graphql(VIEWER, {}, token)).status).toBe(200);
    const revoked = payloadOf(await server.graphql(REVOKE_SESSION, { input: { sessionId: session.globalId } }));
    expect(revoked.revokedSessionIds).toEqual([session.globalId]);
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
      const { user, session } = await personWithAdminRole();
      const token = await personToken(admin.realmId, { sub: user.id, sid: session.id, scope: 'users:read' });
      expect((await server.graphql(VIEWER, {}, token)).status, name).toBe(200);
      await breakIt(user, session.id);
      await expect401(token);
    }

    const { user, session } = await personWithAdminRole();
    const app = await server.db.prisma.application.create({
      data: { realmId: admin.realmId, name: `Console ${randomUUID()}`, type: 'SPA', clientId: randomUUID() },
    });
    const token = await personToken(admin.realmId, {
      sub: user.id,
      sid: session.id,
      scope: 'users:read',
      appId: app.id,
      clientId: app.clientId,
    });
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
