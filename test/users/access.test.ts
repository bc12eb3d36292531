import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { makeUser, type TestUser } from '../helpers/fixtures.ts';
import {
  auditSince,
  expectRefused,
  expectTopLevelError,
  lastAuditId,
  missingId,
  payloadOf,
  rawId,
} from '../helpers/graphql.ts';

let server: TestServer;
let admin: Credentials;
let adminToken: string;
/** A token of the default realm holding only users:roles. */
let rolesOnly: string;
let other: Credentials;
let otherToken: string;

let adminRole: string;
let support: string;
let auditor: string;
let tenantA: string;
let tenantB: string;
/** A role defined by tenant A. */
let tenantARole: string;
/** A role of the other realm. */
let foreignRole: string;
let foreignTenant: string;
let foreignUser: TestUser;

graphql(`
  fragment UsersAccessUserPayload on UpdateUserPayload {
    user {
      id
      version
    }
    userErrors {
      ...TestUserErrors
    }
  }
`);
const ASSIGN = graphql(`
  mutation UsersAccessAssign($input: AssignUserRolesInput!) {
    assignUserRoles(input: $input) {
      ...UsersAccessUserPayload
    }
  }
`);
const SET = graphql(`
  mutation UsersAccessSet($input: AssignUserRolesInput!) {
    setUserRoles(input: $input) {
      ...UsersAccessUserPayload
    }
  }
`);
const REMOVE = graphql(`
  mutation UsersAccessRemove($input: RemoveUserRoleInput!) {
    removeUserRole(input: $input) {
      ...UsersAccessUserPayload
    }
  }
`);
const ADD_TENANT = graphql(`
  mutation UsersAccessAddTenant($input: UserTenantInput!) {
    addUserToTenant(input: $input) {
      ...UsersAccessUserPayload
    }
  }
`);
const REMOVE_TENANT = graphql(`
  mutation UsersAccessRemoveTenant($input: UserTenantInput!) {
    removeUserFromTenant(input: $input) {
      ...UsersAccessUserPayload
    }
  }
`);
// For tokens without users:read: a mutation may select only what its token can read (User needs
// users:read).
const ASSIGN_BLIND = graphql(`
  mutation UsersAccessAssignBlind($input: AssignUserRolesInput!) {
    assignUserRoles(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const SET_BLIND = graphql(`
  mutation UsersAccessSetBlind($input: AssignUserRolesInput!) {
    setUserRoles(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REMOVE_BLIND = graphql(`
  mutation UsersAccessRemoveBlind($input: RemoveUserRoleInput!) {
    removeUserRole(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const USER_ROLES = graphql(`
  query UsersAccessUserRoles($id: ID!, $t: ID) {
    user(id: $id) {
      roles(tenantId: $t) {
        id
      }
    }
  }
`);

async function makeTenant(realmId: string, slug: string): Promise<string> {
  const tenant = await server.db.prisma.tenant.create({ data: { realmId, name: slug, slug } });
  return encodeGlobalId('Tenant', tenant.id);
}

/** A role holding the named scopes of the realm, directly in the database. */
async function makeRole(realmId: string, name: string, scopeNames: string[], tenantId?: string): Promise<string> {
  const p = server.db.prisma;
  const scopes = await p.resourceScope.findMany({ where: { realmId, name: { in: scopeNames } } });
  expect(scopes).toHaveLength(scopeNames.length);
  const role = await p.role.create({ data: { realmId, name, tenantId: tenantId ? rawId(tenantId) : null } });
  await p.roleScope.createMany({ data: scopes.map((s) => ({ realmId, roleId: role.id, scopeId: s.id })) });
  return encodeGlobalId('Role', role.id);
}

async function join(realmId: string, user: TestUser, tenant: string) {
  await server.db.prisma.tenantMembership.create({ data: { realmId, tenantId: rawId(tenant), userId: user.id } });
}

/** The user's assignments as [role global id, tenant global id or null], sorted. */
async function assignments(user: TestUser): Promise<[string, string | null][]> {
  const rows = await server.db.prisma.userRole.findMany({ where: { userId: user.id } });
  return rows
    .map((r): [string, string | null] => [
      encodeGlobalId('Role', r.roleId),
      r.tenantId ? encodeGlobalId('Tenant', r.tenantId) : null,
    ])
    .sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));
}

const sorted = (list: [string, string | null][]) =>
  [...list].sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));

async function version(user: TestUser): Promise<number> {
  return (await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).version;
}

const newUser = (data: Parameters<typeof makeUser>[2] = {}) => makeUser(server, admin.realmId, data);

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  adminToken = await server.token(admin);
  rolesOnly = await server.token(admin, 'users:roles');
  other = await server.createRealm('other-realm');
  otherToken = await server.token(other);

  adminRole = encodeGlobalId(
    'Role',
    (await server.db.prisma.role.findFirstOrThrow({ where: { realmId: admin.realmId, builtIn: true } })).id,
  );
  const resource = await server.db.prisma.resource.create({
    data: { realmId: admin.realmId, name: 'Posts', indicator: 'https://posts.example' },
  });
  await server.db.prisma.resourceScope.createMany({
    data: ['posts:read', 'posts:write'].map((name) => ({ realmId: admin.realmId, resourceId: resource.id, name })),
  });
  support = await makeRole(admin.realmId, 'Support', ['posts:read']);
  auditor = await makeRole(admin.realmId, 'Auditor', ['posts:read', 'posts:write']);
  tenantA = await makeTenant(admin.realmId, 'tenant-a');
  tenantB = await makeTenant(admin.realmId, 'tenant-b');
  tenantARole = await makeRole(admin.realmId, 'A editor', ['posts:write'], tenantA);
  foreignRole = await makeRole(other.realmId, 'Foreign', []);
  foreignTenant = await makeTenant(other.realmId, 'foreign');
  foreignUser = await makeUser(server, other.realmId);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('User.roles', () => {
  it('narrows to the roles effective in one tenant: realm-wide ones and that tenant’s', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    await join(admin.realmId, user, tenantB);
    for (const input of [
      { userId: user.globalId, roleIds: [support] },
      { userId: user.globalId, roleIds: [tenantARole], tenantId: tenantA },
      { userId: user.globalId, roleIds: [auditor], tenantId: tenantB },
    ]) {
      expect(payloadOf(await server.graphql(ASSIGN, { input })).userErrors).toEqual([]);
    }
    const roles = async (tenantId?: string) => {
      const result = await server.graphql(USER_ROLES, { id: user.globalId, t: tenantId });
      return payloadOf(result)!
        .roles.map((role) => role.id)
        .sort();
    };
    expect(await roles()).toEqual([support, tenantARole, auditor].sort());
    expect(await roles(tenantA)).toEqual([support, tenantARole].sort());
    expect(await roles(tenantB)).toEqual([support, auditor].sort());
  });
});

describe('assignUserRoles', () => {
  it('gives realm-wide roles, bumps the version and audits once', async () => {
    const user = await newUser();
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, auditor, support] } }),
    );
    expect(payload).toEqual({ user: { id: user.globalId, version: 2 }, userErrors: [] });
    expect(await assignments(user)).toEqual(
      sorted([
        [support, null],
        [auditor, null],
      ]),
    );
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.actorId, e.changes])).toEqual([
      [
        'user.roles_assigned',
        'User',
        user.id,
        admin.clientId,
        { tenantId: null, added: ['Auditor', 'Support'], roles: { before: [], after: ['Auditor', 'Support'] } },
      ],
    ]);
  });

  it('keeps roles already held: assigning them again changes nothing (no audit, same version)', async () => {
    const user = await newUser();
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    expect(payload).toEqual({ user: { id: user.globalId, version: 2 }, userErrors: [] });
    expect(await auditSince(server, admin.realmId, since)).toEqual([]);

    const more = payloadOf(
      await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, auditor] } }),
    );
    expect(more.user!.version).toBe(3);
    const [event] = await auditSince(server, admin.realmId, since);
    expect(event!.changes).toEqual({
      tenantId: null,
      added: ['Auditor'],
      roles: { before: ['Support'], after: ['Auditor', 'Support'] },
    });
  });

  it('assigns realm-wide and tenant-defined roles inside a tenant the user belongs to', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(ASSIGN, {
        input: { userId: user.globalId, roleIds: [support, tenantARole], tenantId: tenantA },
      }),
    );
    expect(payload.userErrors).toEqual([]);
    expect(await assignments(user)).toEqual(
      sorted([
        [support, tenantA],
        [tenantARole, tenantA],
      ]),
    );
    const [event] = await auditSince(server, admin.realmId, since);
    expect(event!.changes).toMatchObject({ tenantId: rawId(tenantA), added: ['A editor', 'Support'] });

    // The same role realm-wide is a separate assignment.
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    expect(await assignments(user)).toEqual(
      sorted([
        [support, tenantA],
        [tenantARole, tenantA],
        [support, null],
      ]),
    );
  });

  it('refuses a tenant-scoped assignment when the user is not a member (INVALID_STATE)', async () => {
    const user = await newUser();
    await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support], tenantId: tenantB } }),
      [{ code: 'INVALID_STATE', field: ['input', 'tenantId'] }],
    );
  });

  it('assigns a tenant-defined role only inside its own tenant (INVALID)', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantB);
    await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, tenantARole] } }),
      [{ code: 'INVALID', field: ['input', 'roleIds', '1'] }],
    );
    await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [tenantARole], tenantId: tenantB } }),
      [{ code: 'INVALID', field: ['input', 'roleIds', '0'] }],
    );
  });

  it('answers unknown and other realms’ ids alike: NOT_FOUND with the path', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    const unknownRole = await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, missingId('Role')] } }),
      [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '1'] }],
    );
    const foreign = await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, foreignRole] } }),
      [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '1'] }],
    );
    expect(foreign).toEqual(unknownRole);

    const unknownUser = await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: missingId('User'), roleIds: [support] } }),
      [{ code: 'NOT_FOUND', field: ['input', 'userId'] }],
    );
    expect(
      await expectRefused(
        server,
        () => server.graphql(ASSIGN, { input: { userId: foreignUser.globalId, roleIds: [support] } }),
        [{ code: 'NOT_FOUND', field: ['input', 'userId'] }],
      ),
    ).toEqual(unknownUser);

    for (const tenantId of [missingId('Tenant'), foreignTenant]) {
      await expectRefused(
        server,
        () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support], tenantId } }),
        [{ code: 'NOT_FOUND', field: ['input', 'tenantId'] }],
      );
    }
    // Every problem at once.
    await expectRefused(
      server,
      () =>
        server.graphql(ASSIGN, {
          input: { userId: missingId('User'), roleIds: [missingId('Role')], tenantId: missingId('Tenant') },
        }),
      [
        { code: 'NOT_FOUND', field: ['input', 'userId'] },
        { code: 'NOT_FOUND', field: ['input', 'tenantId'] },
        { code: 'NOT_FOUND', field: ['input', 'roleIds', '0'] },
      ],
    );
  });

  it('a token of another realm using this realm’s ids gets NOT_FOUND and changes nothing', async () => {
    const user = await newUser();
    await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [foreignRole] } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'userId'] }],
    );
  });

  it('refuses ids of the wrong type with BAD_USER_INPUT', async () => {
    const user = await newUser();
    await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: support, roleIds: [support] } }),
      'BAD_USER_INPUT',
    );
    await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [tenantA] } }),
      'BAD_USER_INPUT',
    );
    await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support], tenantId: support } }),
      'BAD_USER_INPUT',
    );
    await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: 'nope', roleIds: [] } }),
      'BAD_USER_INPUT',
    );
  });

  it('refuses more than 100 roles per call before the resolver runs (BAD_USER_INPUT)', async () => {
    const user = await newUser();
    const result = await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: Array(101).fill(support) } }),
      'BAD_USER_INPUT',
    );
    expect(result.errors?.[0]?.extensions?.argument).toBe('input.roleIds');
  });

  it('refuses giving access to a deleted user (INVALID_STATE)', async () => {
    const user = await newUser({ status: 'DELETED', deletedAt: new Date() });
    await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }),
      [{ code: 'INVALID_STATE', field: ['input', 'userId'] }],
    );
  });

  it('needs users:roles (FORBIDDEN without it, nothing changes)', async () => {
    const user = await newUser();
    const usersWrite = await server.token(admin, 'users:write users:read');
    const result = await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }, usersWrite),
      'FORBIDDEN',
    );
    expect(result.errors![0]!.extensions!.missingScopes).toEqual(['users:roles']);
    await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }, null),
      'UNAUTHENTICATED',
    );
  });
});

describe('no privilege escalation through user roles', () => {
  it('a token with only users:roles cannot give a user the built-in admin role (FORBIDDEN_GRANT)', async () => {
    const user = await newUser();
    const payload = await expectRefused(
      server,
      () =>
        server.graphql(ASSIGN_BLIND, { input: { userId: user.globalId, roleIds: [support, adminRole] } }, rolesOnly),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
    expect(payload.userErrors[0]!.message).toContain('users:write');
    expect(payload.userErrors[0]!.message).toContain('realm:write');
    expect(payload.userErrors[0]!.message).not.toContain('users:roles');
    // With users:read as well, the refused payload can select the user: there is none.
    const rolesAndRead = await server.token(admin, 'users:roles users:read');
    const readable = await expectRefused(
      server,
      () => server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, adminRole] } }, rolesAndRead),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
    expect(readable.user).toBeNull();
    await expectRefused(
      server,
      () => server.graphql(SET_BLIND, { input: { userId: user.globalId, roleIds: [adminRole] } }, rolesOnly),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
  });

  it('the same token can give roles without management scopes, and take the admin role away', async () => {
    // users:roles alone cannot read the user back, so only userErrors is selected.
    const user = await newUser();
    expect(
      payloadOf(await server.graphql(ASSIGN_BLIND, { input: { userId: user.globalId, roleIds: [support] } }, rolesOnly))
        .userErrors,
    ).toEqual([]);
    expect(
      payloadOf(
        await server.graphql(ASSIGN_BLIND, { input: { userId: user.globalId, roleIds: [adminRole] } }, adminToken),
      ).userErrors,
    ).toEqual([]);
    // Keeping a role the user already holds is not a grant.
    expect(
      payloadOf(
        await server.graphql(SET_BLIND, { input: { userId: user.globalId, roleIds: [adminRole, auditor] } }, rolesOnly),
      ).userErrors,
    ).toEqual([]);
    expect(
      payloadOf(await server.graphql(REMOVE_BLIND, { input: { userId: user.globalId, roleId: adminRole } }, rolesOnly))
        .userErrors,
    ).toEqual([]);
    expect(await assignments(user)).toEqual([[auditor, null]]);
  });
});

describe('setUserRoles', () => {
  it('makes the list exactly the realm-wide roles, leaving tenant assignments alone', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    payloadOf(
      await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [tenantARole], tenantId: tenantA } }),
    );
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(await server.graphql(SET, { input: { userId: user.globalId, roleIds: [auditor] } }));
    expect(payload).toEqual({ user: { id: user.globalId, version: 4 }, userErrors: [] });
    expect(await assignments(user)).toEqual(
      sorted([
        [auditor, null],
        [tenantARole, tenantA],
      ]),
    );
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      [
        'user.roles_set',
        user.id,
        {
          tenantId: null,
          added: ['Auditor'],
          removed: ['Support'],
          roles: { before: ['Support'], after: ['Auditor'] },
        },
      ],
    ]);
  });

  it('inside a tenant, and an empty list removes every role of that scope', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    expect(
      payloadOf(
        await server.graphql(SET, {
          input: { userId: user.globalId, roleIds: [tenantARole, auditor], tenantId: tenantA },
        }),
      ).userErrors,
    ).toEqual([]);
    expect(await assignments(user)).toEqual(
      sorted([
        [support, null],
        [tenantARole, tenantA],
        [auditor, tenantA],
      ]),
    );
    expect(
      payloadOf(await server.graphql(SET, { input: { userId: user.globalId, roleIds: [], tenantId: tenantA } }))
        .userErrors,
    ).toEqual([]);
    expect(await assignments(user)).toEqual([[support, null]]);
  });

  it('changes nothing when the roles are already exactly those (no audit, same version)', async () => {
    const user = await newUser();
    payloadOf(await server.graphql(SET, { input: { userId: user.globalId, roleIds: [support, auditor] } }));
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(SET, { input: { userId: user.globalId, roleIds: [auditor, support] } }),
    );
    expect(payload).toEqual({ user: { id: user.globalId, version: 2 }, userErrors: [] });
    expect(await auditSince(server, admin.realmId, since)).toEqual([]);
  });

  it('validates like assignUserRoles', async () => {
    const user = await newUser();
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    await expectRefused(
      server,
      () => server.graphql(SET, { input: { userId: user.globalId, roleIds: [auditor, missingId('Role')] } }),
      [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '1'] }],
    );
    await expectRefused(
      server,
      () => server.graphql(SET, { input: { userId: user.globalId, roleIds: [], tenantId: tenantA } }),
      [{ code: 'INVALID_STATE', field: ['input', 'tenantId'] }],
    );
    await expectRefused(
      server,
      () => server.graphql(SET, { input: { userId: user.globalId, roleIds: [tenantARole] } }),
      [{ code: 'INVALID', field: ['input', 'roleIds', '0'] }],
    );
    await expectRefused(server, () => server.graphql(SET, { input: { userId: foreignUser.globalId, roleIds: [] } }), [
      { code: 'NOT_FOUND', field: ['input', 'userId'] },
    ]);
  });
});

describe('removeUserRole', () => {
  it('takes a realm-wide role, or one held inside a tenant', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support, auditor] } }));
    payloadOf(
      await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support], tenantId: tenantA } }),
    );
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(await server.graphql(REMOVE, { input: { userId: user.globalId, roleId: support } }));
    expect(payload).toEqual({ user: { id: user.globalId, version: 4 }, userErrors: [] });
    expect(await assignments(user)).toEqual(
      sorted([
        [auditor, null],
        [support, tenantA],
      ]),
    );
    payloadOf(await server.graphql(REMOVE, { input: { userId: user.globalId, roleId: support, tenantId: tenantA } }));
    expect(await assignments(user)).toEqual([[auditor, null]]);
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.changes])).toEqual([
      [
        'user.role_removed',
        { tenantId: null, removed: 'Support', roles: { before: ['Auditor', 'Support'], after: ['Auditor'] } },
      ],
      [
        'user.role_removed',
        { tenantId: rawId(tenantA), removed: 'Support', roles: { before: ['Support'], after: [] } },
      ],
    ]);
  });

  it('NOT_FOUND for a role not held (in that scope), an unknown role, user or tenant', async () => {
    const user = await newUser();
    await join(admin.realmId, user, tenantA);
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    await expectRefused(server, () => server.graphql(REMOVE, { input: { userId: user.globalId, roleId: auditor } }), [
      { code: 'NOT_FOUND', field: ['input', 'roleId'] },
    ]);
    await expectRefused(
      server,
      () => server.graphql(REMOVE, { input: { userId: user.globalId, roleId: support, tenantId: tenantA } }),
      [{ code: 'NOT_FOUND', field: ['input', 'roleId'] }],
    );
    for (const roleId of [missingId('Role'), foreignRole]) {
      await expectRefused(server, () => server.graphql(REMOVE, { input: { userId: user.globalId, roleId } }), [
        { code: 'NOT_FOUND', field: ['input', 'roleId'] },
      ]);
    }
    for (const userId of [missingId('User'), foreignUser.globalId]) {
      await expectRefused(server, () => server.graphql(REMOVE, { input: { userId, roleId: support } }), [
        { code: 'NOT_FOUND', field: ['input', 'userId'] },
      ]);
    }
    for (const tenantId of [missingId('Tenant'), foreignTenant]) {
      await expectRefused(
        server,
        () => server.graphql(REMOVE, { input: { userId: user.globalId, roleId: support, tenantId } }),
        [{ code: 'NOT_FOUND', field: ['input', 'tenantId'] }],
      );
    }
    await expectTopLevelError(
      server,
      () => server.graphql(REMOVE, { input: { userId: user.globalId, roleId: user.globalId } }),
      'BAD_USER_INPUT',
    );
  });
});

describe('addUserToTenant', () => {
  it('adds a membership, bumps the version and audits once; adding again changes nothing', async () => {
    const user = await newUser();
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: tenantA } }),
    );
    expect(payload).toEqual({ user: { id: user.globalId, version: 2 }, userErrors: [] });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.changes])).toEqual([
      ['user.tenant_added', 'User', user.id, { tenantId: rawId(tenantA), tenantSlug: 'tenant-a' }],
    ]);
    // A shared-pool realm: several tenants are fine.
    expect(
      payloadOf(await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: tenantB } })).userErrors,
    ).toEqual([]);

    const again = await lastAuditId(server, admin.realmId);
    const repeat = payloadOf(await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: tenantA } }));
    expect(repeat).toEqual({ user: { id: user.globalId, version: 3 }, userErrors: [] });
    expect(await auditSince(server, admin.realmId, again)).toEqual([]);
    expect(await server.db.prisma.tenantMembership.count({ where: { userId: user.id } })).toBe(2);
  });

  it('NOT_FOUND for unknown or foreign users and tenants; INVALID_STATE for a deleted user', async () => {
    const user = await newUser();
    for (const userId of [missingId('User'), foreignUser.globalId]) {
      await expectRefused(server, () => server.graphql(ADD_TENANT, { input: { userId, tenantId: tenantA } }), [
        { code: 'NOT_FOUND', field: ['input', 'userId'] },
      ]);
    }
    for (const tenantId of [missingId('Tenant'), foreignTenant]) {
      await expectRefused(server, () => server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId } }), [
        { code: 'NOT_FOUND', field: ['input', 'tenantId'] },
      ]);
    }
    const deleted = await newUser({ status: 'DELETED', deletedAt: new Date() });
    await expectRefused(
      server,
      () => server.graphql(ADD_TENANT, { input: { userId: deleted.globalId, tenantId: tenantA } }),
      [{ code: 'INVALID_STATE', field: ['input', 'userId'] }],
    );
    await expectTopLevelError(
      server,
      () => server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: user.globalId } }),
      'BAD_USER_INPUT',
    );
  });

  it('needs both users:write and tenants:write', async () => {
    const user = await newUser();
    const usersWrite = await server.token(admin, 'users:write users:read');
    const result = await expectTopLevelError(
      server,
      () => server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: tenantA } }, usersWrite),
      'FORBIDDEN',
    );
    expect(result.errors![0]!.extensions!.missingScopes).toEqual(['tenants:write']);
  });

  describe('in an ISOLATED_POOL realm', () => {
    let isolated: Credentials;
    let isolatedToken: string;
    let x: string;
    let y: string;

    beforeAll(async () => {
      isolated = await server.createRealm('isolated');
      await server.db.prisma.realm.update({ where: { id: isolated.realmId }, data: { tenancyMode: 'ISOLATED_POOL' } });
      isolatedToken = await server.token(isolated);
      x = await makeTenant(isolated.realmId, 'x');
      y = await makeTenant(isolated.realmId, 'y');
    });

    it('a user belongs to at most one tenant (TENANCY_VIOLATION, nothing changes)', async () => {
      const user = await makeUser(server, isolated.realmId);
      const first = payloadOf(
        await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: x } }, isolatedToken),
      );
      expect(first.userErrors).toEqual([]);
      const refused = await expectRefused(
        server,
        () => server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: y } }, isolatedToken),
        [{ code: 'TENANCY_VIOLATION', field: ['input', 'tenantId'] }],
      );
      expect(refused.user).toBeNull();
      // The tenant it already belongs to is still a no-op success.
      expect(
        payloadOf(await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: x } }, isolatedToken))
          .userErrors,
      ).toEqual([]);
      // After leaving x, joining y works.
      expect(
        payloadOf(await server.graphql(REMOVE_TENANT, { input: { userId: user.globalId, tenantId: x } }, isolatedToken))
          .userErrors,
      ).toEqual([]);
      expect(
        payloadOf(await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: y } }, isolatedToken))
          .userErrors,
      ).toEqual([]);
    });

    it('two concurrent joins of different tenants: exactly one wins', async () => {
      const user = await makeUser(server, isolated.realmId);
      const results = await Promise.all(
        [x, y].map(async (tenantId) =>
          payloadOf(await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId } }, isolatedToken)),
        ),
      );
      expect(results.map((r) => r.userErrors.map((e) => e.code)).sort()).toEqual([[], ['TENANCY_VIOLATION']]);
      expect(await server.db.prisma.tenantMembership.count({ where: { userId: user.id } })).toBe(1);
    });
  });
});

describe('removeUserFromTenant', () => {
  it('removes the membership with the tenant-scoped role assignments, keeping realm-wide ones; audits the count', async () => {
    const user = await newUser();
    for (const tenant of [tenantA, tenantB]) {
      payloadOf(await server.graphql(ADD_TENANT, { input: { userId: user.globalId, tenantId: tenant } }));
    }
    payloadOf(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [support] } }));
    payloadOf(
      await server.graphql(ASSIGN, {
        input: { userId: user.globalId, roleIds: [support, tenantARole], tenantId: tenantA },
      }),
    );
    payloadOf(
      await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [auditor], tenantId: tenantB } }),
    );
    const versionBefore = await version(user);
    const since = await lastAuditId(server, admin.realmId);

    const payload = payloadOf(
      await server.graphql(REMOVE_TENANT, { input: { userId: user.globalId, tenantId: tenantA } }),
    );
    expect(payload).toEqual({ user: { id: user.globalId, version: versionBefore + 1 }, userErrors: [] });
    expect(await assignments(user)).toEqual(
      sorted([
        [support, null],
        [auditor, tenantB],
      ]),
    );
    expect(
      (await server.db.prisma.tenantMembership.findMany({ where: { userId: user.id } })).map((m) => m.tenantId),
    ).toEqual([rawId(tenantB)]);
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      [
        'user.tenant_removed',
        user.id,
        {
          tenantId: rawId(tenantA),
          tenantSlug: 'tenant-a',
          removedRoleAssignments: 2,
          removedRoles: ['A editor', 'Support'],
        },
      ],
    ]);
  });

  it('NOT_FOUND when the user is not a member, or for unknown and foreign ids', async () => {
    const user = await newUser();
    await expectRefused(
      server,
      () => server.graphql(REMOVE_TENANT, { input: { userId: user.globalId, tenantId: tenantA } }),
      [{ code: 'NOT_FOUND', field: ['input', 'tenantId'] }],
    );
    await expectRefused(
      server,
      () => server.graphql(REMOVE_TENANT, { input: { userId: foreignUser.globalId, tenantId: foreignTenant } }),
      [
        { code: 'NOT_FOUND', field: ['input', 'userId'] },
        { code: 'NOT_FOUND', field: ['input', 'tenantId'] },
      ],
    );
    await expectRefused(
      server,
      () => server.graphql(REMOVE_TENANT, { input: { userId: user.globalId, tenantId: missingId('Tenant') } }),
      [{ code: 'NOT_FOUND', field: ['input', 'tenantId'] }],
    );
  });
});
