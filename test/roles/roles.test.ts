import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_ADMIN_ROLE_NAME, MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type {
  AssignRoleScopesInput,
  CreateRoleInput,
  DeleteInput,
  RemoveRoleScopeInput,
  UpdateRoleInput,
} from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { adminRoleId, managementScopes } from '../helpers/fixtures.ts';
import { auditSince, expectRefused, lastAuditId, payloadOf, rawId } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let other: Credentials;
let otherToken: string;
let realmId: string;
type CustomScope = 'posts:read' | 'posts:write' | 'posts:delete';
/** Scopes of a custom resource, by name → global id. */
let custom: Record<CustomScope, string>;
let management: Record<string, string>;
let adminRole: string;

graphql(`
  fragment RolesRolesPayloadRole on Role {
    id
    name
    description
    builtIn
    scopes {
      id
      name
    }
    userCount
  }
`);
const CREATE = graphql(`
  mutation RolesRolesCreate($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        ...RolesRolesPayloadRole
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE = graphql(`
  mutation RolesRolesUpdate($input: UpdateRoleInput!) {
    updateRole(input: $input) {
      role {
        ...RolesRolesPayloadRole
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE = graphql(`
  mutation RolesRolesDelete($input: DeleteInput!) {
    deleteRole(input: $input) {
      deletedId
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ASSIGN = graphql(`
  mutation RolesRolesAssign($input: AssignRoleScopesInput!) {
    assignRoleScopes(input: $input) {
      role {
        ...RolesRolesPayloadRole
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REMOVE = graphql(`
  mutation RolesRolesRemove($input: RemoveRoleScopeInput!) {
    removeRoleScope(input: $input) {
      role {
        ...RolesRolesPayloadRole
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const CREATE_RESOURCE = graphql(`
  mutation RolesRolesCreateResource {
    createResource(input: { name: "Posts", indicator: "https://posts.example.com" }) {
      resource {
        id
      }
    }
  }
`);
const ADD_SCOPE = graphql(`
  mutation RolesRolesAddScope($input: AddResourceScopeInput!) {
    addResourceScope(input: $input) {
      scope {
        id
      }
    }
  }
`);
const ROLE = graphql(`
  query RolesRolesRole($id: ID!) {
    role(id: $id) {
      id
      name
      builtIn
      tenant {
        id
      }
      scopes {
        name
        builtIn
      }
      userCount
    }
  }
`);
const ROLE_SCOPES = graphql(`
  query RolesRolesRoleScopes($id: ID!) {
    role(id: $id) {
      scopes {
        id
        name
      }
    }
  }
`);
const ROLE_AND_NODE = graphql(`
  query RolesRolesRoleAndNode($id: ID!) {
    role(id: $id) {
      id
    }
    node(id: $id) {
      id
    }
  }
`);
const ROLE_ID = graphql(`
  query RolesRolesRoleId($id: ID!) {
    role(id: $id) {
      id
    }
  }
`);
const SEARCH_ZEBRA = graphql(`
  query RolesRolesSearchZebra {
    roles(first: 10, filter: { search: "ZEBRA" }) {
      totalCount
      nodes {
        id
        name
      }
    }
  }
`);
const SEARCH_STRIPED = graphql(`
  query RolesRolesSearchStriped {
    roles(filter: { search: "striped" }) {
      nodes {
        id
      }
    }
  }
`);
const BY_TENANT = graphql(`
  query RolesRolesByTenant($t: ID!) {
    roles(filter: { tenantId: $t }) {
      totalCount
      nodes {
        id
        tenant {
          id
          name
        }
      }
    }
  }
`);
const COUNT_BY_TENANT = graphql(`
  query RolesRolesCountByTenant($t: ID!) {
    roles(filter: { tenantId: $t }) {
      totalCount
    }
  }
`);
const ZEBRA_PAGE_1 = graphql(`
  query RolesRolesZebraPage1 {
    roles(first: 2, filter: { search: "zebra" }) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
      }
    }
  }
`);
const ZEBRA_PAGE_2 = graphql(`
  query RolesRolesZebraPage2($after: String) {
    roles(first: 2, after: $after, filter: { search: "zebra" }) {
      pageInfo {
        hasNextPage
      }
      nodes {
        id
      }
    }
  }
`);
const ZEBRA_LAST = graphql(`
  query RolesRolesZebraLast {
    roles(last: 1, filter: { search: "zebra" }) {
      nodes {
        id
      }
    }
  }
`);
const ALL_NAMES = graphql(`
  query RolesRolesAllNames {
    roles(first: 100) {
      totalCount
      nodes {
        name
      }
    }
  }
`);
const ROLE_USERS = graphql(`
  query RolesRolesRoleUsers($id: ID!) {
    role(id: $id) {
      userCount
      users(first: 10) {
        totalCount
        nodes {
          id
        }
      }
    }
  }
`);
const ROLE_USERS_PAGE = graphql(`
  query RolesRolesRoleUsersPage($id: ID!) {
    role(id: $id) {
      users(first: 1) {
        pageInfo {
          hasNextPage
        }
        nodes {
          id
        }
      }
    }
  }
`);
const ROLE_USER_COUNT = graphql(`
  query RolesRolesRoleUserCount($id: ID!) {
    role(id: $id) {
      name
      users {
        totalCount
      }
    }
  }
`);

const createRole = (input: CreateRoleInput, token?: string) => server.graphql(CREATE, { input }, token);
const updateRole = (input: UpdateRoleInput, token?: string) => server.graphql(UPDATE, { input }, token);
const deleteRole = (input: DeleteInput, token?: string) => server.graphql(DELETE, { input }, token);
const assignScopes = (input: AssignRoleScopesInput, token?: string) => server.graphql(ASSIGN, { input }, token);
const removeScope = (input: RemoveRoleScopeInput, token?: string) => server.graphql(REMOVE, { input }, token);

/** A mutation refused with this one user error, changing nothing and answering no role. */
async function refuse<R extends Record<string, { role?: unknown; deletedId?: unknown }>>(
  run: () => Promise<GraphQLResult<R>>,
  code: string,
  field: string[] | null,
) {
  const payload = await expectRefused(server, run, [{ code, field }]);
  expect(payload.role ?? payload.deletedId ?? null).toBeNull();
  return payload;
}

let counter = 0;
async function newRole(
  scopeNames: CustomScope[] = [],
  name = `Role ${++counter}`,
  extra: Partial<CreateRoleInput> = {},
) {
  const created = payloadOf(await createRole({ name, scopeIds: scopeNames.map((n) => custom[n]), ...extra }));
  expect(created.userErrors).toEqual([]);
  return created.role!.id;
}

async function newUser(options: { deleted?: boolean } = {}) {
  return server.db.prisma.user.create({
    data: {
      realmId,
      email: `user${++counter}@example.com`,
      ...(options.deleted ? { deletedAt: new Date(), status: 'DELETED' as const } : {}),
    },
  });
}

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  other = await server.createRealm('other');
  otherToken = await server.token(other);
  management = (await managementScopes(server, realmId)).scopes;
  adminRole = await adminRoleId(server, realmId);
  const resource = await server.graphql(CREATE_RESOURCE);
  const resourceId = resource.data!.createResource.resource!.id;
  const addScope = async (name: CustomScope) =>
    (await server.graphql(ADD_SCOPE, { input: { resourceId, name } })).data!.addResourceScope.scope!.id;
  custom = {
    'posts:read': await addScope('posts:read'),
    'posts:write': await addScope('posts:write'),
    'posts:delete': await addScope('posts:delete'),
  };
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('reading roles', () => {
  it('lists the built-in administrator role holding every management scope', async () => {
    const result = await server.graphql(ROLE, { id: adminRole });
    expect(result.errors).toBeUndefined();
    expect(result.data!.role).toMatchObject({
      id: adminRole,
      name: MANAGEMENT_ADMIN_ROLE_NAME,
      builtIn: true,
      tenant: null,
      userCount: 0,
    });
    expect(result.data!.role!.scopes.map((s) => s.name)).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
  });

  it('shows a role’s scopes with roles:read alone (no resources:read needed)', async () => {
    const token = await server.token(server.admin, 'roles:read');
    const result = await server.graphql(ROLE_SCOPES, { id: adminRole }, token);
    expect(result.errors).toBeUndefined();
    expect(result.data!.role!.scopes).toHaveLength(MANAGEMENT_SCOPE_NAMES.length);
  });

  it('role(id) and node(id) of another realm’s role are null, exactly like a missing id', async () => {
    const foreign = await server.graphql(ROLE_AND_NODE, { id: adminRole }, otherToken);
    const missing = await server.graphql(ROLE_AND_NODE, { id: encodeGlobalId('Role', randomUUID()) }, otherToken);
    expect(foreign.data).toEqual({ role: null, node: null });
    expect([foreign.errors, foreign.data]).toEqual([missing.errors, missing.data]);
  });

  it('searches names and descriptions ignoring case, filters by tenant, paginates by name with exact totals', async () => {
    const tenant = await server.db.prisma.tenant.create({ data: { realmId, name: 'Acme', slug: `acme-${++counter}` } });
    const tenantId = encodeGlobalId('Tenant', tenant.id);
    const a = await newRole([], 'Zebra keeper', { description: 'Feeds the STRIPED ones' });
    const b = await newRole([], 'zebra painter');
    const c = await newRole([], 'Acme zebra', { tenantId });
    const search = await server.graphql(SEARCH_ZEBRA);
    expect(search.data!.roles.totalCount).toBe(3);
    expect(search.data!.roles.nodes.map((n) => n.id)).toEqual([c, a, b]);
    const described = await server.graphql(SEARCH_STRIPED);
    expect(described.data!.roles.nodes).toEqual([{ id: a }]);
    const byTenant = await server.graphql(BY_TENANT, { t: tenantId });
    expect(byTenant.data!.roles).toEqual({ totalCount: 1, nodes: [{ id: c, tenant: { id: tenantId, name: 'Acme' } }] });
    const page1 = await server.graphql(ZEBRA_PAGE_1);
    expect(page1.data!.roles.nodes.map((n) => n.id)).toEqual([c, a]);
    expect(page1.data!.roles.pageInfo.hasNextPage).toBe(true);
    const page2 = await server.graphql(ZEBRA_PAGE_2, { after: page1.data!.roles.pageInfo.endCursor });
    expect(page2.data!.roles).toEqual({ pageInfo: { hasNextPage: false }, nodes: [{ id: b }] });
    const last = await server.graphql(ZEBRA_LAST);
    expect(last.data!.roles.nodes).toEqual([{ id: b }]);
    const wrongType = await server.graphql(COUNT_BY_TENANT, { t: a });
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('lists only the caller’s realm', async () => {
    const result = await server.graphql(ALL_NAMES, {}, otherToken);
    expect(result.data!.roles).toEqual({ totalCount: 1, nodes: [{ name: MANAGEMENT_ADMIN_ROLE_NAME }] });
  });

  it('counts distinct users that are not deleted, and lists them in Role.users', async () => {
    const role = await newRole();
    const tenant = await server.db.prisma.tenant.create({
      data: { realmId, name: 'Counted', slug: `counted-${++counter}` },
    });
    const [u1, u2, gone] = [await newUser(), await newUser(), await newUser({ deleted: true })];
    const roleId = rawId(role);
    await server.db.prisma.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: u1.id } });
    await server.db.prisma.userRole.createMany({
      data: [
        { realmId, userId: u1.id, roleId },
        { realmId, userId: u1.id, roleId, tenantId: tenant.id },
        { realmId, userId: u2.id, roleId },
        { realmId, userId: gone.id, roleId },
      ],
    });
    const result = await server.graphql(ROLE_USERS, { id: role });
    expect(result.errors).toBeUndefined();
    expect(result.data!.role!.userCount).toBe(2);
    expect(result.data!.role!.users.totalCount).toBe(2);
    expect(result.data!.role!.users.nodes.map((n) => n.id).sort()).toEqual(
      [encodeGlobalId('User', u1.id), encodeGlobalId('User', u2.id)].sort(),
    );
    const page = await server.graphql(ROLE_USERS_PAGE, { id: role });
    expect(page.data!.role!.users.pageInfo.hasNextPage).toBe(true);
  });

  it('Role.users needs users:read as well', async () => {
    const token = await server.token(server.admin, 'roles:read');
    const result = await server.graphql(ROLE_USER_COUNT, { id: adminRole }, token);
    expect(result.data?.role ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['users:read'] });
  });
});

describe('createRole', () => {
  it('creates a role with scopes and one audit event', async () => {
    const mark = await lastAuditId(server, realmId);
    const created = payloadOf(
      await createRole({
        name: ' Editor ',
        description: 'Writes posts.',
        scopeIds: [custom['posts:write'], custom['posts:read'], custom['posts:read']],
      }),
    );
    expect(created.userErrors).toEqual([]);
    expect(created.role).toMatchObject({ name: 'Editor', description: 'Writes posts.', builtIn: false, userCount: 0 });
    expect(created.role!.scopes.map((s) => s.name)).toEqual(['posts:read', 'posts:write']);
    const events = await auditSince(server, realmId, mark);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.actorId, e.changes])).toEqual([
      [
        'role.created',
        'Role',
        rawId(created.role!.id),
        server.admin.clientId,
        { name: 'Editor', description: 'Writes posts.', tenantId: null, scopes: ['posts:read', 'posts:write'] },
      ],
    ]);
  });

  it('creates tenant-defined roles: names are unique per tenant, separately from realm-wide roles', async () => {
    const [t1, t2] = await Promise.all(
      ['one', 'two'].map((slug) =>
        server.db.prisma.tenant.create({ data: { realmId, name: slug, slug: `${slug}-${++counter}` } }),
      ),
    );
    const realmWide = await newRole([], 'Support');
    const inT1 = await newRole([], 'Support', { tenantId: encodeGlobalId('Tenant', t1!.id) });
    const inT2 = await newRole([], 'Support', { tenantId: encodeGlobalId('Tenant', t2!.id) });
    expect(new Set([realmWide, inT1, inT2]).size).toBe(3);
    await refuse(() => createRole({ name: 'SUPPORT', tenantId: encodeGlobalId('Tenant', t1!.id) }), 'TAKEN', [
      'input',
      'name',
    ]);
    await refuse(() => createRole({ name: 'support' }), 'TAKEN', ['input', 'name']);
  });

  it('compares names exactly, ignoring only case: "_" and "%" are not wildcards', async () => {
    await newRole([], 'Wild abc');
    const underscore = await newRole([], 'Wild a_c');
    const percent = await newRole([], 'Wild %');
    expect(new Set([underscore, percent]).size).toBe(2);
    await refuse(() => createRole({ name: 'WILD A_C' }), 'TAKEN', ['input', 'name']);
  });

  it('concurrent creates with one name: exactly one wins, the others get TAKEN', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, async () => payloadOf(await createRole({ name: 'Racer' }))),
    );
    expect(results.filter((r) => r.userErrors.length === 0)).toHaveLength(1);
    for (const lost of results.filter((r) => r.userErrors.length > 0)) {
      expect(lost.userErrors).toEqual([{ code: 'TAKEN', field: ['input', 'name'], message: expect.any(String) }]);
    }
    expect(await server.db.prisma.role.count({ where: { realmId, name: 'Racer' } })).toBe(1);
  });

  it('refuses bad names and descriptions', async () => {
    await refuse(() => createRole({ name: '' }), 'REQUIRED', ['input', 'name']);
    await refuse(() => createRole({ name: ' \t ' }), 'REQUIRED', ['input', 'name']);
    await refuse(() => createRole({ name: 'n'.repeat(101) }), 'TOO_LONG', ['input', 'name']);
    await refuse(() => createRole({ name: 'bell\u0007' }), 'INVALID', ['input', 'name']);
    await refuse(() => createRole({ name: 'Fine', description: 'd'.repeat(501) }), 'TOO_LONG', [
      'input',
      'description',
    ]);
    await refuse(() => createRole({ name: MANAGEMENT_ADMIN_ROLE_NAME }), 'TAKEN', ['input', 'name']);
  });

  it('refuses unknown and foreign scope ids alike, naming the position', async () => {
    const unknown = await refuse(
      () =>
        createRole({ name: 'Ghost', scopeIds: [custom['posts:read'], encodeGlobalId('ResourceScope', randomUUID())] }),
      'NOT_FOUND',
      ['input', 'scopeIds', '1'],
    );
    const otherScopes = (await managementScopes(server, other.realmId)).scopes;
    const foreign = await refuse(
      () => createRole({ name: 'Ghost', scopeIds: [custom['posts:read'], otherScopes['users:read']!] }),
      'NOT_FOUND',
      ['input', 'scopeIds', '1'],
    );
    expect(foreign).toEqual(unknown);
  });

  it('refuses an unknown or foreign tenant, too many scopes, and ids of the wrong type', async () => {
    await refuse(() => createRole({ name: 'Lost', tenantId: encodeGlobalId('Tenant', randomUUID()) }), 'NOT_FOUND', [
      'input',
      'tenantId',
    ]);
    const foreignTenant = await server.db.prisma.tenant.create({
      data: { realmId: other.realmId, name: 'Foreign', slug: 'foreign' },
    });
    await refuse(
      () => createRole({ name: 'Lost', tenantId: encodeGlobalId('Tenant', foreignTenant.id) }),
      'NOT_FOUND',
      ['input', 'tenantId'],
    );
    const many = Array.from({ length: 101 }, () => encodeGlobalId('ResourceScope', randomUUID()));
    // Lists over their bound are refused before the resolver runs (issue 7).
    await expectUnchanged(server, async () => {
      const result = await createRole({ name: 'Greedy', scopeIds: many });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.scopeIds' });
    });
    await expectUnchanged(server, async () => {
      const result = await createRole({ name: 'Typed', scopeIds: [adminRole] });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.scopeIds.0' });
    });
  });

  it('needs roles:write (FORBIDDEN, nothing changes)', async () => {
    const token = await server.token(server.admin, 'roles:read');
    await expectUnchanged(server, async () => {
      const result = await createRole({ name: 'Nope' }, token);
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['roles:write'] });
    });
  });
});

describe('updateRole', () => {
  it('renames and re-describes, auditing before/after; null clears the description; a no-op writes nothing', async () => {
    const id = await newRole([], 'Before', { description: 'Old.' });
    const mark = await lastAuditId(server, realmId);
    const renamed = payloadOf(await updateRole({ id, patch: { name: 'After' } }));
    expect(renamed.role).toMatchObject({ name: 'After', description: 'Old.' });
    const cleared = payloadOf(await updateRole({ id, patch: { description: null } }));
    expect(cleared.role).toMatchObject({ name: 'After', description: null });
    const events = await auditSince(server, realmId, mark);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['role.updated', rawId(id), { name: { before: 'Before', after: 'After' } }],
      ['role.updated', rawId(id), { description: { before: 'Old.', after: null } }],
    ]);
    await expectUnchanged(server, async () => {
      expect(payloadOf(await updateRole({ id, patch: { name: 'After' } })).userErrors).toEqual([]);
    });
  });

  it('refuses clearing or over-long names, duplicates, unknown and foreign ids', async () => {
    const id = await newRole();
    await newRole([], 'Occupied');
    await refuse(() => updateRole({ id, patch: { name: null } }), 'REQUIRED', ['input', 'patch', 'name']);
    await refuse(() => updateRole({ id, patch: { name: 'n'.repeat(101) } }), 'TOO_LONG', ['input', 'patch', 'name']);
    await refuse(() => updateRole({ id, patch: { description: 'd'.repeat(501) } }), 'TOO_LONG', [
      'input',
      'patch',
      'description',
    ]);
    await refuse(() => updateRole({ id, patch: { name: 'occupied' } }), 'TAKEN', ['input', 'patch', 'name']);
    const unknown = await refuse(
      () => updateRole({ id: encodeGlobalId('Role', randomUUID()), patch: { name: 'x' } }),
      'NOT_FOUND',
      ['input', 'id'],
    );
    const foreign = await refuse(() => updateRole({ id, patch: { name: 'x' } }, otherToken), 'NOT_FOUND', [
      'input',
      'id',
    ]);
    expect(foreign).toEqual(unknown);
  });

  it('refuses renaming the built-in role (INVALID_STATE) but lets its description change', async () => {
    await refuse(() => updateRole({ id: adminRole, patch: { name: 'Root' } }), 'INVALID_STATE', [
      'input',
      'patch',
      'name',
    ]);
    const described = payloadOf(await updateRole({ id: adminRole, patch: { description: 'Everything.' } }));
    expect(described.userErrors).toEqual([]);
  });
});

describe('assignRoleScopes and removeRoleScope', () => {
  it('adds scopes (ignoring those already held) and removes one, auditing each change', async () => {
    const id = await newRole(['posts:read']);
    const mark = await lastAuditId(server, realmId);
    const assigned = payloadOf(
      await assignScopes({
        roleId: id,
        scopeIds: [custom['posts:read'], custom['posts:write'], custom['posts:delete']],
      }),
    );
    expect(assigned.userErrors).toEqual([]);
    expect(assigned.role!.scopes.map((s) => s.name)).toEqual(['posts:delete', 'posts:read', 'posts:write']);
    await expectUnchanged(server, async () => {
      expect(payloadOf(await assignScopes({ roleId: id, scopeIds: [custom['posts:read']] })).userErrors).toEqual([]);
    });
    const removed = payloadOf(await removeScope({ roleId: id, scopeId: custom['posts:delete'] }));
    expect(removed.role!.scopes.map((s) => s.name)).toEqual(['posts:read', 'posts:write']);
    const events = await auditSince(server, realmId, mark);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      [
        'role.scopes_assigned',
        rawId(id),
        {
          added: ['posts:delete', 'posts:write'],
          scopes: { before: ['posts:read'], after: ['posts:delete', 'posts:read', 'posts:write'] },
        },
      ],
      [
        'role.scope_removed',
        rawId(id),
        {
          removed: 'posts:delete',
          scopes: { before: ['posts:delete', 'posts:read', 'posts:write'], after: ['posts:read', 'posts:write'] },
        },
      ],
    ]);
  });

  it('refuses an empty list, unknown or foreign roles and scopes', async () => {
    const id = await newRole(['posts:read']);
    await refuse(() => assignScopes({ roleId: id, scopeIds: [] }), 'REQUIRED', ['input', 'scopeIds']);
    const unknown = await refuse(
      () => assignScopes({ roleId: encodeGlobalId('Role', randomUUID()), scopeIds: [custom['posts:write']] }),
      'NOT_FOUND',
      ['input', 'roleId'],
    );
    const foreign = await refuse(
      () => assignScopes({ roleId: id, scopeIds: [custom['posts:write']] }, otherToken),
      'NOT_FOUND',
      ['input', 'roleId'],
    );
    expect(foreign).toEqual(unknown);
    await refuse(
      () => assignScopes({ roleId: id, scopeIds: [encodeGlobalId('ResourceScope', randomUUID())] }),
      'NOT_FOUND',
      ['input', 'scopeIds', '0'],
    );
    await refuse(
      () => removeScope({ roleId: encodeGlobalId('Role', randomUUID()), scopeId: custom['posts:read'] }),
      'NOT_FOUND',
      ['input', 'roleId'],
    );
    await refuse(() => removeScope({ roleId: id, scopeId: custom['posts:read'] }, otherToken), 'NOT_FOUND', [
      'input',
      'roleId',
    ]);
  });

  it('refuses removing a scope the role does not have (NOT_FOUND at input.scopeId)', async () => {
    const id = await newRole(['posts:read']);
    await refuse(() => removeScope({ roleId: id, scopeId: custom['posts:write'] }), 'NOT_FOUND', ['input', 'scopeId']);
    await refuse(
      () => removeScope({ roleId: id, scopeId: encodeGlobalId('ResourceScope', randomUUID()) }),
      'NOT_FOUND',
      ['input', 'scopeId'],
    );
  });

  it('keeps every management scope on the built-in role (INVALID_STATE); custom scopes added to it can go again', async () => {
    for (const name of ['users:write', 'roles:write', 'audit:read']) {
      await refuse(() => removeScope({ roleId: adminRole, scopeId: management[name]! }), 'INVALID_STATE', [
        'input',
        'scopeId',
      ]);
    }
    const added = payloadOf(await assignScopes({ roleId: adminRole, scopeIds: [custom['posts:read']] }));
    expect(added.userErrors).toEqual([]);
    const removed = payloadOf(await removeScope({ roleId: adminRole, scopeId: custom['posts:read'] }));
    expect(removed.userErrors).toEqual([]);
    expect(removed.role!.scopes).toHaveLength(MANAGEMENT_SCOPE_NAMES.length);
  });
});

describe('deleteRole', () => {
  it('deletes a role with its user and application assignments, audited with counts', async () => {
    const id = await newRole(['posts:read', 'posts:write']);
    const roleId = rawId(id);
    const tenant = await server.db.prisma.tenant.create({ data: { realmId, name: 'Del', slug: `del-${++counter}` } });
    const [u1, u2] = [await newUser(), await newUser()];
    await server.db.prisma.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: u2.id } });
    await server.db.prisma.userRole.createMany({
      data: [
        { realmId, userId: u1.id, roleId },
        { realmId, userId: u2.id, roleId, tenantId: tenant.id },
      ],
    });
    const app = await server.db.prisma.application.create({
      data: { realmId, name: 'App', type: 'M2M', clientId: `client-${randomUUID()}` },
    });
    await server.db.prisma.applicationRole.create({ data: { realmId, applicationId: app.id, roleId } });
    const mark = await lastAuditId(server, realmId);

    const deleted = payloadOf(await deleteRole({ id }));
    expect(deleted).toEqual({ deletedId: id, userErrors: [] });
    expect(await server.db.prisma.userRole.count({ where: { roleId } })).toBe(0);
    expect(await server.db.prisma.applicationRole.count({ where: { roleId } })).toBe(0);
    expect(await server.db.prisma.roleScope.count({ where: { roleId } })).toBe(0);
    expect(await server.db.prisma.user.count({ where: { id: { in: [u1.id, u2.id] } } })).toBe(2);
    const events = await auditSince(server, realmId, mark);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.changes])).toEqual([
      [
        'role.deleted',
        'Role',
        roleId,
        {
          name: expect.any(String),
          description: null,
          tenantId: null,
          scopes: ['posts:read', 'posts:write'],
          userAssignmentsRemoved: 2,
          applicationAssignmentsRemoved: 1,
        },
      ],
    ]);
    const gone = await server.graphql(ROLE_ID, { id });
    expect(gone.data).toEqual({ role: null });
  });

  it('refuses the built-in role (INVALID_STATE), unknown and foreign ids (NOT_FOUND)', async () => {
    await refuse(() => deleteRole({ id: adminRole }), 'INVALID_STATE', ['input', 'id']);
    const id = await newRole();
    const unknown = await refuse(() => deleteRole({ id: encodeGlobalId('Role', randomUUID()) }), 'NOT_FOUND', [
      'input',
      'id',
    ]);
    const foreign = await refuse(() => deleteRole({ id }, otherToken), 'NOT_FOUND', ['input', 'id']);
    expect(foreign).toEqual(unknown);
    await expectUnchanged(server, async () => {
      const wrongType = await deleteRole({ id: custom['posts:read'] });
      expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.id' });
    });
  });
});
