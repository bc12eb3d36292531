import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { CreateTenantInput, TenantPatch } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { makeRole } from '../helpers/fixtures.ts';
import { auditSince, expectRefused, expectTopLevelError, lastAuditId, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let admin: Credentials;
let adminToken: string;
let otherToken: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  adminToken = await server.token(admin);
  otherToken = await server.token(await server.createRealm('other-realm'));
}, 120_000);

afterAll(async () => {
  await server?.close();
});

graphql(`
  fragment TenantsTenantsTenant on Tenant {
    id
    name
    slug
    memberCount
    createdAt
    updatedAt
  }
`);
const CREATE = graphql(`
  mutation TenantsTenantsCreate($input: CreateTenantInput!) {
    createTenant(input: $input) {
      tenant {
        ...TenantsTenantsTenant
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE = graphql(`
  mutation TenantsTenantsUpdate($input: UpdateTenantInput!) {
    updateTenant(input: $input) {
      tenant {
        ...TenantsTenantsTenant
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE = graphql(`
  mutation TenantsTenantsDelete($input: DeleteInput!) {
    deleteTenant(input: $input) {
      deletedId
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const GET = graphql(`
  query TenantsTenantsGet($id: ID!) {
    tenant(id: $id) {
      ...TenantsTenantsTenant
    }
  }
`);
const LIST = graphql(`
  query TenantsTenantsList($f: TenantFilter) {
    tenants(filter: $f, first: 10) {
      totalCount
      nodes {
        name
        slug
        memberCount
      }
    }
  }
`);
const MEMBERS = graphql(`
  query TenantsTenantsMembers($id: ID!, $filter: UserFilter) {
    tenant(id: $id) {
      users(first: 10, filter: $filter) {
        totalCount
        nodes {
          email
        }
      }
    }
  }
`);
const SWITCH_TO_ISOLATED = graphql(`
  mutation TenantsTenantsSwitchToIsolated {
    updateRealmSettings(input: { patch: { tenancyMode: ISOLATED_POOL } }) {
      realm {
        settings {
          tenancyMode
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const missingId = () => encodeGlobalId('Tenant', randomUUID());

async function create(input: CreateTenantInput, token = adminToken) {
  const result = await server.graphql(CREATE, { input }, token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.createTenant;
}

async function createTenant(name: string, slug?: string) {
  const payload = await create({ name, ...(slug ? { slug } : {}) });
  expect(payload.userErrors).toEqual([]);
  return payload.tenant!;
}

async function createUser(realmId: string, email: string) {
  return server.db.prisma.user.create({ data: { realmId, email, name: email.split('@')[0]! } });
}

async function join(realmId: string, tenantGlobalId: string, userId: string) {
  return server.db.prisma.tenantMembership.create({ data: { realmId, tenantId: rawId(tenantGlobalId), userId } });
}

describe('createTenant', () => {
  it('creates a tenant with a given slug, auditing it', async () => {
    const since = await lastAuditId(server, admin.realmId);
    const payload = await create({ name: ' Acme Corp ', slug: 'acme' });
    expect(payload.userErrors).toEqual([]);
    expect(payload.tenant).toMatchObject({ name: 'Acme Corp', slug: 'acme', memberCount: 0 });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.actorId, e.changes])).toEqual([
      ['tenant.created', 'Tenant', rawId(payload.tenant!.id), admin.clientId, { name: 'Acme Corp', slug: 'acme' }],
    ]);
  });

  it('derives the slug from the name when none is given', async () => {
    expect((await createTenant('Ünïcode & Sons, Ltd.')).slug).toBe('unicode-sons-ltd');
    expect((await createTenant('  --Hello   World--  ')).slug).toBe('hello-world');
    const long = await createTenant(`${'a'.repeat(62)} b`);
    expect(long.slug).toBe('a'.repeat(62));
  });

  const refusals: [string, CreateTenantInput, { code: string; field: string[] }[]][] = [
    ['an empty name', { name: '' }, [{ code: 'REQUIRED', field: ['input', 'name'] }]],
    [
      'a name over 100 characters',
      { name: 'n'.repeat(101), slug: 'long' },
      [{ code: 'TOO_LONG', field: ['input', 'name'] }],
    ],
    ['uppercase in the slug', { name: 'A', slug: 'Acme' }, [{ code: 'INVALID', field: ['input', 'slug'] }]],
    ['an underscore in the slug', { name: 'A', slug: 'ac_me' }, [{ code: 'INVALID', field: ['input', 'slug'] }]],
    ['a leading hyphen', { name: 'A', slug: '-acme' }, [{ code: 'INVALID', field: ['input', 'slug'] }]],
    ['an empty slug', { name: 'A', slug: '' }, [{ code: 'REQUIRED', field: ['input', 'slug'] }]],
    [
      'a slug over 63 characters',
      { name: 'A', slug: 's'.repeat(64) },
      [{ code: 'TOO_LONG', field: ['input', 'slug'] }],
    ],
    ['a name with nothing to derive a slug from', { name: '日本' }, [{ code: 'REQUIRED', field: ['input', 'slug'] }]],
    [
      'a bad name and a bad slug at once',
      { name: ' ', slug: 'No Spaces' },
      [
        { code: 'REQUIRED', field: ['input', 'name'] },
        { code: 'INVALID', field: ['input', 'slug'] },
      ],
    ],
  ];
  for (const [label, input, expected] of refusals) {
    it(`refuses ${label}, changing nothing`, async () => {
      const payload = await expectRefused(server, () => server.graphql(CREATE, { input }, adminToken), expected);
      expect(payload.tenant).toBeNull();
    });
  }

  it('refuses a slug already used in the realm (TAKEN), given or derived; other realms may use it', async () => {
    await createTenant('Globex', 'globex');
    await expectRefused(
      server,
      () => server.graphql(CREATE, { input: { name: 'Other', slug: 'globex' } }, adminToken),
      [{ code: 'TAKEN', field: ['input', 'slug'] }],
    );
    await expectRefused(server, () => server.graphql(CREATE, { input: { name: 'Globex' } }, adminToken), [
      { code: 'TAKEN', field: ['input', 'slug'] },
    ]);
    const elsewhere = await create({ name: 'Globex' }, otherToken);
    expect(elsewhere.userErrors).toEqual([]);
    expect(elsewhere.tenant!.slug).toBe('globex');
  });
});

describe('updateTenant', () => {
  it('renames and changes the slug, auditing changed fields only', async () => {
    const tenant = await createTenant('Initech', 'initech');
    const since = await lastAuditId(server, admin.realmId);
    const result = await server.graphql(
      UPDATE,
      { input: { id: tenant.id, patch: { name: 'Initech Inc', slug: 'initech-inc' } } },
      adminToken,
    );
    expect(result.data?.updateTenant.userErrors).toEqual([]);
    expect(result.data?.updateTenant.tenant).toMatchObject({ name: 'Initech Inc', slug: 'initech-inc' });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.changes])).toEqual([
      [
        'tenant.updated',
        { name: { before: 'Initech', after: 'Initech Inc' }, slug: { before: 'initech', after: 'initech-inc' } },
      ],
    ]);
    // Renaming keeps the slug; keeping the same values writes nothing.
    const since2 = await lastAuditId(server, admin.realmId);
    const same = await server.graphql(UPDATE, { input: { id: tenant.id, patch: { slug: 'initech-inc' } } }, adminToken);
    expect(same.data?.updateTenant).toMatchObject({
      tenant: { name: 'Initech Inc', slug: 'initech-inc' },
      userErrors: [],
    });
    expect(await auditSince(server, admin.realmId, since2)).toEqual([]);
  });

  it('refuses bad patches, taken slugs and unknown or foreign ids, changing nothing', async () => {
    const tenant = await createTenant('Umbrella', 'umbrella');
    await createTenant('Hooli', 'hooli');
    const cases: [string, string, TenantPatch, { code: string; field: string[] }[]][] = [
      [tenant.id, adminToken, { name: null }, [{ code: 'REQUIRED', field: ['input', 'patch', 'name'] }]],
      [tenant.id, adminToken, { slug: null }, [{ code: 'REQUIRED', field: ['input', 'patch', 'slug'] }]],
      [tenant.id, adminToken, { name: 'x'.repeat(101) }, [{ code: 'TOO_LONG', field: ['input', 'patch', 'name'] }]],
      [tenant.id, adminToken, { slug: 'UPPER' }, [{ code: 'INVALID', field: ['input', 'patch', 'slug'] }]],
      [tenant.id, adminToken, { slug: 'hooli' }, [{ code: 'TAKEN', field: ['input', 'patch', 'slug'] }]],
      [missingId(), adminToken, { name: 'X' }, [{ code: 'NOT_FOUND', field: ['input', 'id'] }]],
      [tenant.id, otherToken, { name: 'X' }, [{ code: 'NOT_FOUND', field: ['input', 'id'] }]],
    ];
    const answers = [];
    for (const [id, token, patch, expected] of cases) {
      answers.push(
        await expectRefused(server, () => server.graphql(UPDATE, { input: { id, patch } }, token), expected),
      );
    }
    expect(answers[6]).toEqual(answers[5]);
    await expectTopLevelError(
      server,
      () =>
        server.graphql(
          UPDATE,
          { input: { id: encodeGlobalId('Application', randomUUID()), patch: { name: 'X' } } },
          adminToken,
        ),
      'BAD_USER_INPUT',
    );
  });
});

describe('deleteTenant', () => {
  it('deletes the tenant with its memberships, tenant-scoped role assignments and tenant roles; users stay', async () => {
    const tenant = await createTenant('Soylent', 'soylent');
    const tenantId = rawId(tenant.id);
    const [u1, u2] = [
      await createUser(admin.realmId, 's1@soylent.example'),
      await createUser(admin.realmId, 's2@soylent.example'),
    ];
    await join(admin.realmId, tenant.id, u1.id);
    await join(admin.realmId, tenant.id, u2.id);
    const realmRole = await makeRole(server, admin.realmId, 'Soylent viewer', ['realm:read']);
    const tenantRole = await makeRole(server, admin.realmId, 'Soylent local', ['realm:read'], { tenantId });
    await server.db.prisma.userRole.createMany({
      data: [
        { realmId: admin.realmId, userId: u1.id, roleId: realmRole.id, tenantId },
        { realmId: admin.realmId, userId: u2.id, roleId: tenantRole.id, tenantId },
        { realmId: admin.realmId, userId: u1.id, roleId: realmRole.id, tenantId: null },
      ],
    });

    const since = await lastAuditId(server, admin.realmId);
    const result = await server.graphql(DELETE, { input: { id: tenant.id } }, adminToken);
    expect(result.data?.deleteTenant).toEqual({ deletedId: tenant.id, userErrors: [] });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['tenant.deleted', tenantId, { name: 'Soylent', slug: 'soylent', memberships: 2, roleAssignments: 2, roles: 1 }],
    ]);

    const p = server.db.prisma;
    expect(await p.tenantMembership.count({ where: { tenantId } })).toBe(0);
    expect(await p.userRole.count({ where: { tenantId } })).toBe(0);
    expect(await p.role.count({ where: { id: tenantRole.id } })).toBe(0);
    // The realm-wide assignment and the users themselves stay.
    expect(await p.userRole.count({ where: { userId: u1.id, tenantId: null } })).toBe(1);
    expect(await p.user.count({ where: { id: { in: [u1.id, u2.id] } } })).toBe(2);
    expect((await server.graphql(GET, { id: tenant.id }, adminToken)).data?.tenant).toBeNull();
  });

  it('answers unknown and foreign ids alike (NOT_FOUND), and a wrong-type id with BAD_USER_INPUT', async () => {
    const tenant = await createTenant('Vandelay', 'vandelay');
    const foreign = await expectRefused(
      server,
      () => server.graphql(DELETE, { input: { id: tenant.id } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    const unknown = await expectRefused(
      server,
      () => server.graphql(DELETE, { input: { id: missingId() } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    expect(foreign).toEqual(unknown);
    await expectTopLevelError(
      server,
      () => server.graphql(DELETE, { input: { id: encodeGlobalId('User', randomUUID()) } }, adminToken),
      'BAD_USER_INPUT',
    );
  });
});

describe('tenant-scoped role assignments live and die with the membership', () => {
  it('removing a membership row removes the user’s roles in that tenant, and only those', async () => {
    const a = await createTenant('Cyberdyne', 'cyberdyne');
    const b = await createTenant('Tyrell', 'tyrell');
    const user = await createUser(admin.realmId, 'miles@cyberdyne.example');
    const membershipA = await join(admin.realmId, a.id, user.id);
    await join(admin.realmId, b.id, user.id);
    const role = await makeRole(server, admin.realmId, 'Engineer', ['realm:read']);
    const p = server.db.prisma;
    await p.userRole.createMany({
      data: [
        { realmId: admin.realmId, userId: user.id, roleId: role.id, tenantId: rawId(a.id) },
        { realmId: admin.realmId, userId: user.id, roleId: role.id, tenantId: rawId(b.id) },
        { realmId: admin.realmId, userId: user.id, roleId: role.id, tenantId: null },
      ],
    });
    await p.tenantMembership.delete({ where: { id: membershipA.id } });
    const left = await p.userRole.findMany({ where: { userId: user.id }, orderBy: { tenantId: 'asc' } });
    expect(left.map((r) => r.tenantId)).toEqual([rawId(b.id), null]);
  });

  it('a tenant-scoped assignment cannot exist without the membership', async () => {
    const tenant = await createTenant('Wayne', 'wayne');
    const user = await createUser(admin.realmId, 'bruce@wayne.example');
    const role = await makeRole(server, admin.realmId, 'Wayne staff', ['realm:read']);
    await expect(
      server.db.prisma.userRole.create({
        data: { realmId: admin.realmId, userId: user.id, roleId: role.id, tenantId: rawId(tenant.id) },
      }),
    ).rejects.toThrow();
  });
});

describe('reading tenants', () => {
  it('lists with search, counts members, and answers foreign ids like unknown ones', async () => {
    const realm = await server.createRealm('tenant-listing');
    const token = await server.token(realm);
    const t1 = await create({ name: 'Northwind', slug: 'northwind' }, token);
    await create({ name: 'Southwind Traders' }, token);
    await create({ name: 'Contoso', slug: 'contoso-north' }, token);
    const user = await createUser(realm.realmId, 'nancy@northwind.example');
    await join(realm.realmId, t1.tenant!.id, user.id);
    // A soft-deleted member is not counted.
    const gone = await server.db.prisma.user.create({
      data: { realmId: realm.realmId, email: 'gone@northwind.example', deletedAt: new Date() },
    });
    await join(realm.realmId, t1.tenant!.id, gone.id);
    const list = async (search?: string) =>
      (await server.graphql(LIST, { f: search === undefined ? null : { search } }, token)).data!.tenants;
    expect(await list()).toEqual({
      totalCount: 3,
      nodes: [
        { name: 'Northwind', slug: 'northwind', memberCount: 1 },
        { name: 'Southwind Traders', slug: 'southwind-traders', memberCount: 0 },
        { name: 'Contoso', slug: 'contoso-north', memberCount: 0 },
      ],
    });
    expect((await list('NORTH')).nodes.map((n) => n.name)).toEqual(['Northwind', 'Contoso']);
    expect((await list('wind')).totalCount).toBe(2);

    const own = await server.graphql(GET, { id: t1.tenant!.id }, token);
    expect(own.data?.tenant).toMatchObject({ name: 'Northwind', memberCount: 1 });
    const foreign = await server.graphql(GET, { id: t1.tenant!.id }, adminToken);
    const unknown = await server.graphql(GET, { id: missingId() }, adminToken);
    expect(foreign.data).toEqual({ tenant: null });
    expect([foreign.status, foreign.data, foreign.errors]).toEqual([unknown.status, unknown.data, unknown.errors]);
    const wrongType = await server.graphql(GET, { id: encodeGlobalId('Role', randomUUID()) }, adminToken);
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('Tenant.users lists the members, with the full UserFilter', async () => {
    const tenant = await createTenant('Stark', 'stark');
    const members = [
      await createUser(admin.realmId, 'tony@stark.example'),
      await createUser(admin.realmId, 'pepper@stark.example'),
    ];
    await createUser(admin.realmId, 'outsider@stark.example');
    for (const member of members) await join(admin.realmId, tenant.id, member.id);
    const all = await server.graphql(MEMBERS, { id: tenant.id }, adminToken);
    expect(all.errors).toBeUndefined();
    expect(all.data?.tenant!.users.totalCount).toBe(2);
    expect(all.data?.tenant!.users.nodes.map((n) => n.email).sort()).toEqual([
      'pepper@stark.example',
      'tony@stark.example',
    ]);
    const filtered = await server.graphql(MEMBERS, { id: tenant.id, filter: { search: 'pepper' } }, adminToken);
    expect(filtered.data?.tenant!.users).toEqual({ totalCount: 1, nodes: [{ email: 'pepper@stark.example' }] });

    // Reading members needs users:read as well.
    const tenantsOnly = await server.token(admin, 'tenants:read');
    const denied = await server.graphql(MEMBERS, { id: tenant.id }, tenantsOnly);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('ISOLATED_POOL', () => {
  it('refuses the switch while users belong to several tenants, naming how many; then allows it', async () => {
    const realm = await server.createRealm('isolation-switch');
    const token = await server.token(realm);
    const t1 = (await create({ name: 'One' }, token)).tenant!;
    const t2 = (await create({ name: 'Two' }, token)).tenant!;
    const users = [];
    for (const email of ['a@x.example', 'b@x.example', 'c@x.example'])
      users.push(await createUser(realm.realmId, email));
    await join(realm.realmId, t1.id, users[0]!.id);
    await join(realm.realmId, t2.id, users[0]!.id);
    await join(realm.realmId, t1.id, users[1]!.id);
    const extra = await join(realm.realmId, t2.id, users[1]!.id);
    await join(realm.realmId, t1.id, users[2]!.id);

    const payload = await expectRefused(server, () => server.graphql(SWITCH_TO_ISOLATED, {}, token), [
      { code: 'INVALID_STATE', field: ['input', 'patch', 'tenancyMode'] },
    ]);
    expect(payload.userErrors[0]!.message).toMatch(/^2 users belong to more than one tenant/);
    expect((await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realm.realmId } })).tenancyMode).toBe(
      'SHARED_POOL',
    );

    await server.db.prisma.tenantMembership.deleteMany({ where: { userId: users[0]!.id, tenantId: rawId(t2.id) } });
    const one = await expectRefused(server, () => server.graphql(SWITCH_TO_ISOLATED, {}, token), [
      { code: 'INVALID_STATE', field: ['input', 'patch', 'tenancyMode'] },
    ]);
    expect(one.userErrors[0]!.message).toMatch(/^1 user belongs to more than one tenant/);

    await server.db.prisma.tenantMembership.delete({ where: { id: extra.id } });
    const switched = await server.graphql(SWITCH_TO_ISOLATED, {}, token);
    expect(switched.data?.updateRealmSettings).toEqual({
      realm: { settings: { tenancyMode: 'ISOLATED_POOL' } },
      userErrors: [],
    });
  });
});

it('writes exactly one audit event per successful tenant mutation', async () => {
  const since = await lastAuditId(server, admin.realmId);
  const tenant = await createTenant('Counted', 'counted');
  await server.graphql(UPDATE, { input: { id: tenant.id, patch: { name: 'Counted 2' } } }, adminToken);
  await server.graphql(DELETE, { input: { id: tenant.id } }, adminToken);
  const events = await auditSince(server, admin.realmId, since);
  expect(events.map((e) => e.action)).toEqual(['tenant.created', 'tenant.updated', 'tenant.deleted']);
  expect(new Set(events.map((e) => e.requestId)).size).toBe(3);
});
