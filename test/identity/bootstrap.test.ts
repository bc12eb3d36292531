import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOnStart, createAdminClient } from '../../src/identity/bootstrap.ts';
import { MANAGEMENT_ADMIN_ROLE_NAME, MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { adminRoleId, requestToken } from '../helpers/fixtures.ts';
import { graphql } from '../helpers/documents.ts';
import { auditSince, lastAuditId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { createTestDatabase } from '../helpers/db.ts';

// What `ROSTER_BOOTSTRAP_CLIENT_ID/SECRET` hand to `bootstrapOnStart` at every server start.
const BOOTSTRAP = { clientId: 'scripted-admin', clientSecret: 'scripted-admin-secret-0123456789abcdef' };

let server: TestServer;
let scripted: Credentials;

beforeAll(async () => {
  server = await startTestServer();
  await bootstrapOnStart(server.db.prisma, BOOTSTRAP);
  scripted = { ...BOOTSTRAP, realmId: server.admin.realmId, realmName: 'default' };
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const REMOVE = graphql(`
  mutation IdentityBootstrapRemoveRole($input: RemoveApplicationRoleInput!) {
    removeApplicationRole(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const CREATE_ROLE = graphql(`
  mutation IdentityBootstrapCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const READ = graphql(`
  query IdentityBootstrapRead {
    viewer {
      scopes
    }
    realm {
      name
    }
  }
`);

async function scriptedApp() {
  return server.db.prisma.application.findUniqueOrThrow({ where: { clientId: BOOTSTRAP.clientId } });
}

/** A token of the scripted admin holding every management scope, used for a write and a read. */
async function expectWorkingAdmin(): Promise<void> {
  const response = await requestToken(server, scripted);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(String(response.body.scope).split(' ').sort()).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
  const token = String(response.body.access_token);
  const created = await server.graphql(
    CREATE_ROLE,
    { input: { name: `Made by the recovered admin ${Math.random()}` } },
    token,
  );
  expect(created.data?.createRole.userErrors).toEqual([]);
  const read = await server.graphql(READ, {}, token);
  expect(read.data).toEqual({ viewer: { scopes: [...MANAGEMENT_SCOPE_NAMES].sort() }, realm: { name: 'default' } });
}

describe('restarting with ROSTER_BOOTSTRAP_CLIENT_ID/SECRET', () => {
  it('gives back a working admin after the client lost the admin role and was disabled', async () => {
    const app = await scriptedApp();
    const adminRole = await adminRoleId(server, server.admin.realmId);
    // Another admin takes the role away (allowed: it is not the last holder) …
    const removed = await server.graphql(REMOVE, {
      input: { applicationId: encodeGlobalId('Application', app.id), roleId: adminRole },
    });
    expect(removed.data?.removeApplicationRole.userErrors).toEqual([]);
    expect((await requestToken(server, scripted)).body.error).toBe('invalid_scope');
    // … and the client is disabled (an operator, directly in the database).
    await server.db.prisma.application.update({ where: { id: app.id }, data: { disabledAt: new Date() } });
    expect((await requestToken(server, scripted)).status).toBe(401);

    const since = await lastAuditId(server, server.admin.realmId);
    const result = await bootstrapOnStart(server.db.prisma, BOOTSTRAP);
    expect(result).toMatchObject({ clientId: BOOTSTRAP.clientId, clientSecret: null, created: false });
    await expectWorkingAdmin();
    const events = await auditSince(server, server.admin.realmId, since);
    expect(
      events
        .filter((e) => e.targetId === app.id)
        .map((e) => e.action)
        .sort(),
    ).toEqual(['application.roles_assigned', 'application.updated']);
  });

  it('gives the admin role back every management scope it lacks', async () => {
    const role = await server.db.prisma.role.findFirstOrThrow({
      where: { realmId: server.admin.realmId, builtIn: true, name: MANAGEMENT_ADMIN_ROLE_NAME },
    });
    await server.db.prisma.roleScope.deleteMany({
      where: { realmId: server.admin.realmId, roleId: role.id, scope: { name: { in: ['realm:write', 'users:read'] } } },
    });
    expect(String((await requestToken(server, scripted)).body.scope).split(' ')).not.toContain('realm:write');
    await bootstrapOnStart(server.db.prisma, BOOTSTRAP);
    await expectWorkingAdmin();
  });

  it('resets a changed secret, and changes nothing when the admin is intact', async () => {
    await server.db.prisma.applicationSecret.updateMany({
      where: { applicationId: (await scriptedApp()).id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await requestToken(server, scripted)).status).toBe(401);
    await bootstrapOnStart(server.db.prisma, BOOTSTRAP);
    await expectWorkingAdmin();

    const since = await lastAuditId(server, server.admin.realmId);
    await bootstrapOnStart(server.db.prisma, BOOTSTRAP);
    expect(await auditSince(server, server.admin.realmId, since)).toEqual([]);
  });

  it('refuses credentials whose client id belongs to an application that is not machine-to-machine', async () => {
    const spa = await server.db.prisma.application.create({
      data: { realmId: server.admin.realmId, name: 'SPA', type: 'SPA', clientId: 'scripted-spa-client' },
    });
    await expect(
      createAdminClient(server.db.prisma, {
        credentials: { clientId: spa.clientId, clientSecret: BOOTSTRAP.clientSecret },
      }),
    ).rejects.toThrow(/not a machine-to-machine/);
  });
});

describe('roster bootstrap without credentials', () => {
  it('creates another working admin client, restoring the admin role first', async () => {
    const role = await server.db.prisma.role.findFirstOrThrow({
      where: { realmId: server.admin.realmId, builtIn: true, name: MANAGEMENT_ADMIN_ROLE_NAME },
    });
    await server.db.prisma.roleScope.deleteMany({
      where: { realmId: server.admin.realmId, roleId: role.id, scope: { name: 'audit:read' } },
    });
    const result = await createAdminClient(server.db.prisma);
    const response = await requestToken(server, { ...result, clientSecret: result.clientSecret! });
    expect(response.status).toBe(200);
    expect(String(response.body.scope).split(' ').sort()).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
  });
});

describe('the first start', () => {
  it('creates realm default and its admin client once, even when two processes start on one empty database', async () => {
    const database = await createTestDatabase();
    try {
      const prisma = database.db.prisma;
      const results = await Promise.all([bootstrapOnStart(prisma, undefined), bootstrapOnStart(prisma, undefined)]);
      const created = results.filter((result) => result !== null);
      expect(created).toEqual([
        {
          realmId: expect.any(String),
          realmName: 'default',
          clientId: expect.any(String),
          clientSecret: expect.any(String),
          created: true,
        },
      ]);
      expect(await prisma.realm.findMany({ select: { name: true } })).toEqual([{ name: 'default' }]);
      expect(await prisma.application.findMany({ select: { clientId: true } })).toEqual([
        { clientId: created[0]!.clientId },
      ]);
      // Later starts find the realm and create nothing.
      expect(await bootstrapOnStart(prisma, undefined)).toBeNull();
      expect(await prisma.application.count()).toBe(1);
    } finally {
      await database.dispose();
    }
  });
});
