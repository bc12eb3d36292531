import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/crypto.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type {
  ApplicationFilter,
  ApplicationPatch,
  AssignApplicationRolesInput,
  CreateApplicationInput,
  RemoveApplicationRoleInput,
  RotateApplicationSecretInput,
} from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { adminRoleId, createM2M, makeResource, makeRole } from '../helpers/fixtures.ts';
import { auditSince, expectRefused, expectTopLevelError, lastAuditId, rawId } from '../helpers/graphql.ts';
import { databaseState } from '../helpers/state.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let admin: Credentials;
let other: Credentials;
let adminToken: string;
let otherToken: string;
let readerRole: { id: string; globalId: string };
let otherRealmRole: string;
let adminRole: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  other = await server.createRealm('other-realm');
  adminToken = await server.token(admin);
  otherToken = await server.token(other);
  readerRole = await makeRole(server, admin.realmId, 'Reader', ['realm:read', 'tenants:read']);
  otherRealmRole = (await makeRole(server, other.realmId, 'Reader', ['realm:read'])).globalId;
  adminRole = await adminRoleId(server, admin.realmId);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const CREATE = graphql(`
  mutation ApplicationsApplicationsCreate($input: CreateApplicationInput!) {
    createApplication(input: $input) {
      application {
        ...TestApplication
      }
      clientSecret
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE = graphql(`
  mutation ApplicationsApplicationsUpdate($input: UpdateApplicationInput!) {
    updateApplication(input: $input) {
      application {
        ...TestApplication
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE = graphql(`
  mutation ApplicationsApplicationsDelete($input: DeleteInput!) {
    deleteApplication(input: $input) {
      deletedId
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ROTATE = graphql(`
  mutation ApplicationsApplicationsRotate($input: RotateApplicationSecretInput!) {
    rotateApplicationSecret(input: $input) {
      application {
        ...TestApplication
      }
      clientSecret
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ASSIGN = graphql(`
  mutation ApplicationsApplicationsAssign($input: AssignApplicationRolesInput!) {
    assignApplicationRoles(input: $input) {
      application {
        ...TestApplication
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REMOVE = graphql(`
  mutation ApplicationsApplicationsRemove($input: RemoveApplicationRoleInput!) {
    removeApplicationRole(input: $input) {
      application {
        ...TestApplication
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const GET = graphql(`
  query ApplicationsApplicationsGet($id: ID!) {
    application(id: $id) {
      ...TestApplication
    }
  }
`);
// For tokens without roles:read: a mutation may select only what its token can read.
const CREATE_UNREAD_ROLES = graphql(`
  mutation ApplicationsApplicationsCreateUnreadRoles($input: CreateApplicationInput!) {
    createApplication(input: $input) {
      application {
        id
        name
      }
      clientSecret
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ASSIGN_UNREAD_ROLES = graphql(`
  mutation ApplicationsApplicationsAssignUnreadRoles($input: AssignApplicationRolesInput!) {
    assignApplicationRoles(input: $input) {
      application {
        id
        name
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REMOVE_UNREAD_ROLES = graphql(`
  mutation ApplicationsApplicationsRemoveUnreadRoles($input: RemoveApplicationRoleInput!) {
    removeApplicationRole(input: $input) {
      application {
        id
        name
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
// The deployer cannot read roles (no roles:read), so it asks for the effective scopes only.
const CREATE_SCOPES_ONLY = graphql(`
  mutation ApplicationsApplicationsCreateScopesOnly($input: CreateApplicationInput!) {
    createApplication(input: $input) {
      application {
        scopes
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const VIEWER = graphql(`
  query ApplicationsApplicationsViewer {
    viewer {
      clientId
      scopes
    }
  }
`);
const VIEWER_SCOPES = graphql(`
  query ApplicationsApplicationsViewerScopes {
    viewer {
      scopes
    }
  }
`);
const REALM_NAME = graphql(`
  query ApplicationsApplicationsRealmName {
    realm {
      name
    }
  }
`);
const LIST = graphql(`
  query ApplicationsApplicationsList($f: ApplicationFilter, $first: Int, $after: String) {
    applications(filter: $f, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        name
        type
      }
    }
  }
`);
const READ_EVERYWHERE = graphql(`
  query ApplicationsApplicationsReadEverywhere($id: ID!) {
    application(id: $id) {
      ...TestApplication
    }
    node(id: $id) {
      ...TestApplication
    }
    applications(first: 100) {
      nodes {
        ...TestApplication
      }
    }
  }
`);
const SCHEMA_FIELDS = graphql(`
  query ApplicationsApplicationsSchemaFields {
    __schema {
      types {
        name
        fields {
          name
        }
      }
    }
  }
`);
const CREATE_LOOKALIKE_RESOURCE = graphql(`
  mutation ApplicationsApplicationsCreateLookalikeResource {
    createResource(input: { name: "Lookalike", indicator: "https://lookalike.example.com" }) {
      resource {
        id
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ADD_SCOPE = graphql(`
  mutation ApplicationsApplicationsAddScope($input: AddResourceScopeInput!) {
    addResourceScope(input: $input) {
      scope {
        id
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const CREATE_ROLE = graphql(`
  mutation ApplicationsApplicationsCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
        scopes {
          name
          builtIn
          resource {
            indicator
          }
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const EFFECTIVE_SCOPES = graphql(`
  query ApplicationsApplicationsEffectiveScopes($id: ID!) {
    application(id: $id) {
      scopes
      effectiveScopes {
        name
        builtIn
        resource {
          indicator
        }
      }
    }
  }
`);

const missingId = (type = 'Application') => encodeGlobalId(type, randomUUID());

async function create(input: CreateApplicationInput, token = adminToken) {
  const result = await server.graphql(CREATE, { input }, token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.createApplication;
}

async function createSpa(name: string) {
  const payload = await create({ name, type: 'SPA', redirectUris: ['https://spa.example.com/callback'] });
  expect(payload.userErrors).toEqual([]);
  return payload.application!;
}

describe('createApplication', () => {
  it('creates an M2M application with a generated client id and a 256-bit secret shown once, stored hashed', async () => {
    const since = await lastAuditId(server, admin.realmId);
    const payload = await create({ name: '  Billing sync  ', type: 'M2M', roleIds: [readerRole.globalId] });
    expect(payload.userErrors).toEqual([]);
    const app = payload.application!;
    expect(app).toMatchObject({
      name: 'Billing sync',
      type: 'M2M',
      redirectUris: [],
      scopes: ['realm:read', 'tenants:read'],
      roles: [{ id: readerRole.globalId, name: 'Reader' }],
    });
    expect(app.clientId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(app.secretLastRotatedAt).not.toBeNull();
    // 32 bytes of CSPRNG output, base64url.
    expect(payload.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(payload.clientSecret!, 'base64url')).toHaveLength(32);

    const secrets = await server.db.prisma.applicationSecret.findMany({ where: { applicationId: rawId(app.id) } });
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.secretHash).toBe(sha256(payload.clientSecret!));
    expect(secrets[0]!.secretHash).not.toContain(payload.clientSecret!);

    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.actorId, e.outcome])).toEqual([
      ['application.created', 'Application', rawId(app.id), admin.clientId, 'success'],
    ]);
    expect(events[0]!.changes).toEqual({
      name: 'Billing sync',
      type: 'M2M',
      clientId: app.clientId,
      redirectUris: [],
      postLogoutRedirectUris: [],
      roles: ['Reader'],
    });
    expect(events[0]!.requestId).toBeTruthy();

    // The secret works at the token endpoint and yields exactly the roles' management scopes.
    const token = await server.token({ ...admin, clientId: app.clientId, clientSecret: payload.clientSecret! });
    const viewer = await server.graphql(VIEWER, {}, token);
    expect(viewer.data?.viewer).toEqual({ clientId: app.clientId, scopes: ['realm:read', 'tenants:read'] });
  });

  it('gives WEB applications a secret and SPA/NATIVE applications none', async () => {
    const web = await create({
      name: 'Portal',
      type: 'WEB',
      redirectUris: ['https://portal.example.com/auth/callback'],
    });
    expect(web.userErrors).toEqual([]);
    expect(web.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(web.application!.redirectUris).toEqual(['https://portal.example.com/auth/callback']);

    const spa = await create({ name: 'Dashboard', type: 'SPA', redirectUris: ['https://app.example.com/cb'] });
    expect(spa.userErrors).toEqual([]);
    expect(spa.clientSecret).toBeNull();
    expect(spa.application!.secretLastRotatedAt).toBeNull();

    const native = await create({
      name: 'Desktop',
      type: 'NATIVE',
      redirectUris: ['http://127.0.0.1:49152/callback', 'http://[::1]/callback', 'http://localhost:8080/cb'],
    });
    expect(native.userErrors).toEqual([]);
    expect(native.clientSecret).toBeNull();
    expect(native.application!.redirectUris).toEqual([
      'http://127.0.0.1:49152/callback',
      'http://[::1]/callback',
      'http://localhost:8080/cb',
    ]);
    for (const app of [spa.application!, native.application!]) {
      expect(await server.db.prisma.applicationSecret.count({ where: { applicationId: rawId(app.id) } })).toBe(0);
    }
    const clientIds = new Set([web, spa, native].map((p) => p.application!.clientId));
    expect(clientIds.size).toBe(3);
  });

  const refusals: [string, CreateApplicationInput, { code: string; field: string[] | null }[]][] = [
    ['an empty name', { name: '', type: 'M2M' }, [{ code: 'REQUIRED', field: ['input', 'name'] }]],
    ['a blank name', { name: '   ', type: 'M2M' }, [{ code: 'REQUIRED', field: ['input', 'name'] }]],
    [
      'a name over 100 characters',
      { name: 'x'.repeat(101), type: 'M2M' },
      [{ code: 'TOO_LONG', field: ['input', 'name'] }],
    ],
    [
      'an SPA without redirect URIs',
      { name: 'A', type: 'SPA' },
      [{ code: 'REQUIRED', field: ['input', 'redirectUris'] }],
    ],
    [
      'a WEB app with an empty list',
      { name: 'A', type: 'WEB', redirectUris: [] },
      [{ code: 'REQUIRED', field: ['input', 'redirectUris'] }],
    ],
    [
      'a NATIVE app without redirect URIs',
      { name: 'A', type: 'NATIVE' },
      [{ code: 'REQUIRED', field: ['input', 'redirectUris'] }],
    ],
    [
      'redirect URIs on an M2M app',
      { name: 'A', type: 'M2M', redirectUris: ['https://a.example/cb'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris'] }],
    ],
    [
      'plain http on a public host',
      { name: 'A', type: 'SPA', redirectUris: ['http://app.example.com/cb'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris', '0'] }],
    ],
    [
      'a fragment',
      { name: 'A', type: 'SPA', redirectUris: ['https://ok.example/cb', 'https://app.example.com/cb#x'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris', '1'] }],
    ],
    [
      'an empty fragment',
      { name: 'A', type: 'SPA', redirectUris: ['https://app.example.com/cb#'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris', '0'] }],
    ],
    [
      'another scheme',
      { name: 'A', type: 'NATIVE', redirectUris: ['com.example.app:/oauth'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris', '0'] }],
    ],
    [
      'credentials in the URI',
      { name: 'A', type: 'WEB', redirectUris: ['https://user:pw@app.example.com/cb'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris', '0'] }],
    ],
    [
      'a duplicate URI',
      { name: 'A', type: 'WEB', redirectUris: ['https://app.example.com/cb', 'https://app.example.com/cb'] },
      [{ code: 'INVALID', field: ['input', 'redirectUris', '1'] }],
    ],
    [
      'a URI over 2048 characters',
      { name: 'A', type: 'WEB', redirectUris: [`https://app.example.com/${'a'.repeat(2048)}`] },
      [{ code: 'TOO_LONG', field: ['input', 'redirectUris', '0'] }],
    ],
    [
      '21 redirect URIs',
      { name: 'A', type: 'WEB', redirectUris: Array.from({ length: 21 }, (_, i) => `https://app.example.com/cb${i}`) },
      [{ code: 'LIMIT_EXCEEDED', field: ['input', 'redirectUris'] }],
    ],
    [
      'several faults at once',
      {
        name: '',
        type: 'SPA',
        redirectUris: ['http://evil.example/cb', 'https://ok.example/cb', 'https://x.example/#f'],
      },
      [
        { code: 'REQUIRED', field: ['input', 'name'] },
        { code: 'INVALID', field: ['input', 'redirectUris', '0'] },
        { code: 'INVALID', field: ['input', 'redirectUris', '2'] },
      ],
    ],
  ];
  for (const [label, input, expected] of refusals) {
    it(`refuses ${label}, changing nothing`, async () => {
      const payload = await expectRefused(server, () => server.graphql(CREATE, { input }, adminToken), expected);
      expect(payload.application).toBeNull();
      expect(payload.clientSecret).toBeNull();
    });
  }

  it('refuses an unknown role id and another realm’s role id identically (NOT_FOUND at the index)', async () => {
    const unknown = await expectRefused(
      server,
      () =>
        server.graphql(
          CREATE,
          { input: { name: 'A', type: 'M2M', roleIds: [readerRole.globalId, missingId('Role')] } },
          adminToken,
        ),
      [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '1'] }],
    );
    const foreign = await expectRefused(
      server,
      () =>
        server.graphql(
          CREATE,
          { input: { name: 'A', type: 'M2M', roleIds: [readerRole.globalId, otherRealmRole] } },
          adminToken,
        ),
      [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '1'] }],
    );
    expect(foreign).toEqual(unknown);
  });

  it('refuses a tenant-defined role (INVALID) and a non-role id (BAD_USER_INPUT)', async () => {
    const tenant = await server.db.prisma.tenant.create({
      data: { realmId: admin.realmId, name: 'T', slug: 'app-test-tenant' },
    });
    const tenantRole = await makeRole(server, admin.realmId, 'Tenant role', ['realm:read'], { tenantId: tenant.id });
    await expectRefused(
      server,
      () => server.graphql(CREATE, { input: { name: 'A', type: 'M2M', roleIds: [tenantRole.globalId] } }, adminToken),
      [{ code: 'INVALID', field: ['input', 'roleIds', '0'] }],
    );
    await expectTopLevelError(
      server,
      () =>
        server.graphql(
          CREATE,
          { input: { name: 'A', type: 'M2M', roleIds: [encodeGlobalId('Tenant', tenant.id)] } },
          adminToken,
        ),
      'BAD_USER_INPUT',
    );
  });

  it('refuses a relative redirect URI before any resolver runs', async () => {
    await expectTopLevelError(
      server,
      () => server.graphql(CREATE, { input: { name: 'A', type: 'SPA', redirectUris: ['/callback'] } }, adminToken),
      'BAD_USER_INPUT',
    );
  });
});

describe('no privilege escalation', () => {
  let deployer: Credentials & { id: string };
  let deployerToken: string;
  let appWriterRole: { id: string; globalId: string };

  beforeAll(async () => {
    appWriterRole = await makeRole(server, admin.realmId, 'App writer', [
      'applications:read',
      'applications:write',
      'realm:read',
    ]);
    deployer = await createM2M(server, admin, 'Deployer', [appWriterRole.globalId], adminToken);
    deployerToken = await server.token(deployer);
    await makeResource(server, admin.realmId, 'https://posts.example.com', ['read:posts', 'write:posts']);
  });

  it('refuses to create an application with the admin role when the caller lacks its scopes (FORBIDDEN_GRANT)', async () => {
    const payload = await expectRefused(
      server,
      () =>
        server.graphql(
          CREATE_UNREAD_ROLES,
          { input: { name: 'Escalator', type: 'M2M', roleIds: [adminRole] } },
          deployerToken,
        ),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
    expect(payload.userErrors[0]!.message).toContain('users:write');
  });

  it('refuses to assign a role carrying scopes the caller lacks (FORBIDDEN_GRANT)', async () => {
    const target = await createM2M(server, admin, 'Target', [], deployerToken);
    const wider = await makeRole(server, admin.realmId, 'Wider', ['applications:read', 'users:read']);
    await expectRefused(
      server,
      () =>
        server.graphql(
          ASSIGN_UNREAD_ROLES,
          { input: { applicationId: target.id, roleIds: [wider.globalId] } },
          deployerToken,
        ),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
    await expectRefused(
      server,
      () =>
        server.graphql(
          ASSIGN_UNREAD_ROLES,
          { input: { applicationId: target.id, roleIds: [appWriterRole.globalId, adminRole] } },
          deployerToken,
        ),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
  });

  it('judges the caller by its token, not by what its application could get', async () => {
    // The admin application holds every scope, but this token carries only two.
    const narrow = await server.token(admin, 'applications:read applications:write');
    await expectRefused(
      server,
      () =>
        server.graphql(
          CREATE_UNREAD_ROLES,
          { input: { name: 'Escalator', type: 'M2M', roleIds: [readerRole.globalId] } },
          narrow,
        ),
      [{ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] }],
    );
  });

  it('lets the caller grant roles whose management scopes it holds, and scopes of other APIs', async () => {
    const posts = await makeRole(server, admin.realmId, 'Posts editor', ['read:posts', 'write:posts', 'realm:read']);
    const result = await server.graphql(
      CREATE_SCOPES_ONLY,
      { input: { name: 'Helper', type: 'M2M', roleIds: [appWriterRole.globalId, posts.globalId] } },
      deployerToken,
    );
    const created = result.data!.createApplication;
    expect(created.userErrors).toEqual([]);
    // `scopes` lists the management scopes only (what its tokens can carry); the other API's are in effectiveScopes.
    expect(created.application!.scopes).toEqual(['applications:read', 'applications:write', 'realm:read']);
  });
});

describe('updateApplication', () => {
  it('renames and replaces redirect URIs, auditing the before/after of changed fields only', async () => {
    const spa = await createSpa('Old name');
    const since = await lastAuditId(server, admin.realmId);
    const result = await server.graphql(
      UPDATE,
      {
        input: {
          id: spa.id,
          patch: { name: 'New name', redirectUris: ['https://spa.example.com/callback', 'https://b.example.com/cb'] },
        },
      },
      adminToken,
    );
    expect(result.data?.updateApplication.userErrors).toEqual([]);
    expect(result.data?.updateApplication.application).toMatchObject({
      name: 'New name',
      redirectUris: ['https://spa.example.com/callback', 'https://b.example.com/cb'],
      clientId: spa.clientId,
    });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => e.action)).toEqual(['application.updated']);
    expect(events[0]!.changes).toEqual({
      name: { before: 'Old name', after: 'New name' },
      redirectUris: {
        before: ['https://spa.example.com/callback'],
        after: ['https://spa.example.com/callback', 'https://b.example.com/cb'],
      },
    });

    // Omitted fields stay; an unchanged value writes nothing.
    const again = lastAuditId(server, admin.realmId);
    const noop = await server.graphql(UPDATE, { input: { id: spa.id, patch: { name: 'New name' } } }, adminToken);
    expect(noop.data?.updateApplication.application!.redirectUris).toHaveLength(2);
    expect(await auditSince(server, admin.realmId, await again)).toEqual([]);
  });

  it('sets and clears post-logout redirect URIs, auditing the change', async () => {
    const spa = await createSpa('Logout target');
    const since = await lastAuditId(server, admin.realmId);
    const set = await server.graphql(
      `mutation($input: UpdateApplicationInput!) {
        updateApplication(input: $input) { application { postLogoutRedirectUris } userErrors { code } }
      }`,
      {
        input: {
          id: spa.id,
          patch: { postLogoutRedirectUris: ['https://spa.example.com/bye', 'http://127.0.0.1:3000/'] },
        },
      },
      adminToken,
    );
    expect(set.data!.updateApplication).toEqual({
      application: { postLogoutRedirectUris: ['https://spa.example.com/bye', 'http://127.0.0.1:3000/'] },
      userErrors: [],
    });
    const events = await auditSince(server, admin.realmId, since);
    expect(events[0]!.changes).toEqual({
      postLogoutRedirectUris: { before: [], after: ['https://spa.example.com/bye', 'http://127.0.0.1:3000/'] },
    });
    const cleared = await server.graphql(
      `mutation($input: UpdateApplicationInput!) {
        updateApplication(input: $input) { application { postLogoutRedirectUris } userErrors { code } }
      }`,
      { input: { id: spa.id, patch: { postLogoutRedirectUris: null } } },
      adminToken,
    );
    expect(cleared.data!.updateApplication.application.postLogoutRedirectUris).toEqual([]);
  });

  it('refuses bad patches with the field at fault, changing nothing', async () => {
    const spa = await createSpa('Patch target');
    const m2m = await createM2M(server, admin, 'Patch M2M', [], adminToken);
    const cases: [string, ApplicationPatch, { code: string; field: string[] }[]][] = [
      [spa.id, { name: null }, [{ code: 'REQUIRED', field: ['input', 'patch', 'name'] }]],
      [spa.id, { name: ' ' }, [{ code: 'REQUIRED', field: ['input', 'patch', 'name'] }]],
      [spa.id, { name: 'y'.repeat(101) }, [{ code: 'TOO_LONG', field: ['input', 'patch', 'name'] }]],
      [spa.id, { redirectUris: null }, [{ code: 'REQUIRED', field: ['input', 'patch', 'redirectUris'] }]],
      [spa.id, { redirectUris: [] }, [{ code: 'REQUIRED', field: ['input', 'patch', 'redirectUris'] }]],
      [
        spa.id,
        { redirectUris: ['http://example.com/cb'] },
        [{ code: 'INVALID', field: ['input', 'patch', 'redirectUris', '0'] }],
      ],
      [
        m2m.id,
        { redirectUris: ['https://example.com/cb'] },
        [{ code: 'INVALID', field: ['input', 'patch', 'redirectUris'] }],
      ],
      [
        spa.id,
        { postLogoutRedirectUris: ['http://example.com/bye', 'https://example.com/#x'] },
        [
          { code: 'INVALID', field: ['input', 'patch', 'postLogoutRedirectUris', '0'] },
          { code: 'INVALID', field: ['input', 'patch', 'postLogoutRedirectUris', '1'] },
        ],
      ],
      [
        m2m.id,
        { postLogoutRedirectUris: ['https://example.com/bye'] },
        [{ code: 'INVALID', field: ['input', 'patch', 'postLogoutRedirectUris'] }],
      ],
      [missingId(), { name: 'x' }, [{ code: 'NOT_FOUND', field: ['input', 'id'] }]],
    ];
    for (const [id, patch, expected] of cases) {
      await expectRefused(server, () => server.graphql(UPDATE, { input: { id, patch } }, adminToken), expected);
    }
  });

  it('answers another realm’s id exactly like an unknown id, and a non-application id with BAD_USER_INPUT', async () => {
    const spa = await createSpa('Foreign target');
    const foreign = await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id: spa.id, patch: { name: 'Hijacked' } } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    const unknown = await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id: missingId(), patch: { name: 'Hijacked' } } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    expect(foreign).toEqual(unknown);
    await expectTopLevelError(
      server,
      () => server.graphql(UPDATE, { input: { id: readerRole.globalId, patch: { name: 'x' } } }, adminToken),
      'BAD_USER_INPUT',
    );
  });
});

describe('deleteApplication', () => {
  it('deletes the application; its existing token is refused on the next request', async () => {
    const app = await createM2M(server, admin, 'Short-lived', [readerRole.globalId], adminToken);
    const token = await server.token(app);
    expect((await server.graphql(REALM_NAME, {}, token)).data?.realm.name).toBe('default');

    const since = await lastAuditId(server, admin.realmId);
    const result = await server.graphql(DELETE, { input: { id: app.id } }, adminToken);
    expect(result.data?.deleteApplication).toEqual({ deletedId: app.id, userErrors: [] });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId])).toEqual([['application.deleted', rawId(app.id)]]);
    expect(events[0]!.changes).toEqual({ name: 'Short-lived', type: 'M2M', clientId: app.clientId, roles: ['Reader'] });

    const refused = await server.graphql(REALM_NAME, {}, token);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await server.graphql(GET, { id: app.id }, adminToken)).data?.application).toBeNull();
    expect(await server.db.prisma.applicationSecret.count({ where: { applicationId: rawId(app.id) } })).toBe(0);
    // Nor can it get new tokens.
    await expect(server.token(app)).rejects.toThrow(/401/);
  });

  it('answers unknown and foreign ids alike (NOT_FOUND), and a wrong-type id with BAD_USER_INPUT', async () => {
    const spa = await createSpa('Not yours');
    const foreign = await expectRefused(server, () => server.graphql(DELETE, { input: { id: spa.id } }, otherToken), [
      { code: 'NOT_FOUND', field: ['input', 'id'] },
    ]);
    const unknown = await expectRefused(
      server,
      () => server.graphql(DELETE, { input: { id: missingId() } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    expect(foreign).toEqual(unknown);
    expect(foreign.deletedId).toBeNull();
    await expectTopLevelError(
      server,
      () => server.graphql(DELETE, { input: { id: readerRole.globalId } }, adminToken),
      'BAD_USER_INPUT',
    );
  });
});

describe('rotateApplicationSecret', () => {
  it('keeps the previous secret valid for the window only; the new one works at once', async () => {
    const app = await createM2M(server, admin, 'Rotating', [readerRole.globalId], adminToken);
    const before = (await server.graphql(GET, { id: app.id }, adminToken)).data!.application!.secretLastRotatedAt;

    const since = await lastAuditId(server, admin.realmId);
    const rotated = await server.graphql(
      ROTATE,
      { input: { id: app.id, previousSecretValidForSeconds: 2 } },
      adminToken,
    );
    const payload = rotated.data!.rotateApplicationSecret;
    expect(payload.userErrors).toEqual([]);
    expect(payload.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.clientSecret).not.toBe(app.clientSecret);
    expect(new Date(payload.application!.secretLastRotatedAt!).getTime()).toBeGreaterThanOrEqual(
      new Date(before!).getTime(),
    );
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => e.action)).toEqual(['application.secret_rotated']);
    expect(events[0]!.changes).toMatchObject({ previousSecretValidForSeconds: 2 });

    const next = { ...app, clientSecret: payload.clientSecret! };
    await expect(server.token(app)).resolves.toBeTypeOf('string');
    await expect(server.token(next)).resolves.toBeTypeOf('string');
    // The previous secret expires exactly at the end of the window. Move it back by the window
    // rather than waiting: the token endpoint compares with the database clock.
    const secrets = await server.db.prisma.applicationSecret.findMany({
      where: { applicationId: rawId(app.id) },
      orderBy: { createdAt: 'asc' },
    });
    expect(secrets.map((secret) => secret.expiresAt?.getTime() ?? null)).toEqual([
      new Date(payload.application!.secretLastRotatedAt!).getTime() + 2_000,
      null,
    ]);
    await server.db.prisma.applicationSecret.update({
      where: { id: secrets[0]!.id },
      data: { expiresAt: new Date(secrets[0]!.expiresAt!.getTime() - 2_000) },
    });
    await expect(server.token(app)).rejects.toThrow(/401.*invalid_client/);
    await expect(server.token(next)).resolves.toBeTypeOf('string');

    // Window 0: the previous secret stops working immediately.
    const third = (await server.graphql(ROTATE, { input: { id: app.id } }, adminToken)).data!.rotateApplicationSecret;
    expect(third.userErrors).toEqual([]);
    await expect(server.token(next)).rejects.toThrow(/401.*invalid_client/);
    await expect(server.token({ ...app, clientSecret: third.clientSecret! })).resolves.toBeTypeOf('string');
    expect(await server.db.prisma.applicationSecret.count({ where: { applicationId: rawId(app.id) } })).toBe(1);
  });

  it('refuses public clients (INVALID_STATE), out-of-range windows (INVALID) and unknown or foreign ids (NOT_FOUND)', async () => {
    const spa = await createSpa('Public client');
    const native = (await create({ name: 'Phone', type: 'NATIVE', redirectUris: ['http://127.0.0.1/cb'] }))
      .application!;
    const web = (await create({ name: 'Web', type: 'WEB', redirectUris: ['https://web.example.com/cb'] })).application!;
    const cases: [string, string, Omit<RotateApplicationSecretInput, 'id'>, { code: string; field: string[] }[]][] = [
      [spa.id, adminToken, {}, [{ code: 'INVALID_STATE', field: ['input', 'id'] }]],
      [native.id, adminToken, {}, [{ code: 'INVALID_STATE', field: ['input', 'id'] }]],
      [
        web.id,
        adminToken,
        { previousSecretValidForSeconds: -1 },
        [{ code: 'INVALID', field: ['input', 'previousSecretValidForSeconds'] }],
      ],
      [
        web.id,
        adminToken,
        { previousSecretValidForSeconds: 604_801 },
        [{ code: 'INVALID', field: ['input', 'previousSecretValidForSeconds'] }],
      ],
      [missingId(), adminToken, {}, [{ code: 'NOT_FOUND', field: ['input', 'id'] }]],
      [web.id, otherToken, {}, [{ code: 'NOT_FOUND', field: ['input', 'id'] }]],
    ];
    for (const [id, token, extra, expected] of cases) {
      const payload = await expectRefused(
        server,
        () => server.graphql(ROTATE, { input: { id, ...extra } }, token),
        expected,
      );
      expect(payload.clientSecret).toBeNull();
    }
    const longest = await server.graphql(
      ROTATE,
      { input: { id: web.id, previousSecretValidForSeconds: 604_800 } },
      adminToken,
    );
    expect(longest.data?.rotateApplicationSecret.userErrors).toEqual([]);
  });
});

describe('assignApplicationRoles and removeApplicationRole', () => {
  it('adds roles (idempotently) and removes them, auditing the role list before and after', async () => {
    const app = await createM2M(server, admin, 'Role juggler', [], adminToken);
    const extra = await makeRole(server, admin.realmId, 'Auditor', ['audit:read']);
    const token0 = await server.token(admin);

    let since = await lastAuditId(server, admin.realmId);
    const assigned = await server.graphql(
      ASSIGN,
      { input: { applicationId: app.id, roleIds: [readerRole.globalId, extra.globalId] } },
      token0,
    );
    expect(assigned.data?.assignApplicationRoles.userErrors).toEqual([]);
    expect(assigned.data?.assignApplicationRoles.application).toMatchObject({
      roles: [
        { id: extra.globalId, name: 'Auditor' },
        { id: readerRole.globalId, name: 'Reader' },
      ],
      scopes: ['audit:read', 'realm:read', 'tenants:read'],
    });
    let events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.changes])).toEqual([
      ['application.roles_assigned', { roles: { before: [], after: ['Auditor', 'Reader'] } }],
    ]);

    // Assigning a role it already holds changes nothing and writes nothing.
    since = await lastAuditId(server, admin.realmId);
    const again = await server.graphql(ASSIGN, { input: { applicationId: app.id, roleIds: [extra.globalId] } }, token0);
    expect(again.data?.assignApplicationRoles.userErrors).toEqual([]);
    expect(await auditSince(server, admin.realmId, since)).toEqual([]);

    const token = await server.token(app);
    expect((await server.graphql(REALM_NAME, {}, token)).errors).toBeUndefined();

    since = await lastAuditId(server, admin.realmId);
    const removed = await server.graphql(
      REMOVE,
      { input: { applicationId: app.id, roleId: readerRole.globalId } },
      token0,
    );
    expect(removed.data?.removeApplicationRole.userErrors).toEqual([]);
    expect(removed.data?.removeApplicationRole.application!.scopes).toEqual(['audit:read']);
    events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.changes])).toEqual([
      ['application.role_removed', { roles: { before: ['Auditor', 'Reader'], after: ['Auditor'] } }],
    ]);
    // The token issued before keeps only what the application still holds.
    const denied = await server.graphql(REALM_NAME, {}, token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses bad assignments and removals with the field at fault, changing nothing', async () => {
    const app = await createM2M(server, admin, 'Refusals', [readerRole.globalId], adminToken);
    const foreignApp = (await createM2M(server, other, 'Foreign', [], otherToken)).id;
    const unused = await makeRole(server, admin.realmId, 'Unused', ['realm:read']);
    const assignCases: [AssignApplicationRolesInput, string, { code: string; field: string[] }[]][] = [
      [
        { applicationId: missingId(), roleIds: [readerRole.globalId] },
        adminToken,
        [{ code: 'NOT_FOUND', field: ['input', 'applicationId'] }],
      ],
      [
        { applicationId: foreignApp, roleIds: [readerRole.globalId] },
        adminToken,
        [{ code: 'NOT_FOUND', field: ['input', 'applicationId'] }],
      ],
      [
        { applicationId: app.id, roleIds: [missingId('Role')] },
        adminToken,
        [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '0'] }],
      ],
      [
        { applicationId: app.id, roleIds: [unused.globalId, otherRealmRole] },
        adminToken,
        [{ code: 'NOT_FOUND', field: ['input', 'roleIds', '1'] }],
      ],
    ];
    for (const [input, token, expected] of assignCases) {
      await expectRefused(server, () => server.graphql(ASSIGN, { input }, token), expected);
    }
    // Lists over their bound are refused before the resolver runs (issue 7).
    const tooMany = { applicationId: app.id, roleIds: Array.from({ length: 101 }, () => unused.globalId) };
    await expectTopLevelError(server, () => server.graphql(ASSIGN, { input: tooMany }, adminToken), 'BAD_USER_INPUT');
    const removeCases: [RemoveApplicationRoleInput, { code: string; field: string[] }[]][] = [
      [
        { applicationId: missingId(), roleId: readerRole.globalId },
        [{ code: 'NOT_FOUND', field: ['input', 'applicationId'] }],
      ],
      [
        { applicationId: foreignApp, roleId: readerRole.globalId },
        [{ code: 'NOT_FOUND', field: ['input', 'applicationId'] }],
      ],
      [{ applicationId: app.id, roleId: missingId('Role') }, [{ code: 'NOT_FOUND', field: ['input', 'roleId'] }]],
      [{ applicationId: app.id, roleId: otherRealmRole }, [{ code: 'NOT_FOUND', field: ['input', 'roleId'] }]],
      [{ applicationId: app.id, roleId: unused.globalId }, [{ code: 'NOT_FOUND', field: ['input', 'roleId'] }]],
    ];
    for (const [input, expected] of removeCases) {
      await expectRefused(server, () => server.graphql(REMOVE, { input }, adminToken), expected);
    }
    await expectTopLevelError(
      server,
      () => server.graphql(REMOVE, { input: { applicationId: app.id, roleId: app.id } }, adminToken),
      'BAD_USER_INPUT',
    );
    await expectTopLevelError(
      server,
      () => server.graphql(ASSIGN, { input: { applicationId: readerRole.globalId, roleIds: [] } }, adminToken),
      'BAD_USER_INPUT',
    );
  });
});

describe('the last holder of the admin role', () => {
  let realm: Credentials;
  let token: string;
  let bootstrapApp: string;
  let admins: string;

  beforeAll(async () => {
    realm = await server.createRealm('last-admin');
    token = await server.token(realm);
    const app = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: realm.clientId } });
    expect(app.builtIn).toBe(true);
    bootstrapApp = encodeGlobalId('Application', app.id);
    admins = await adminRoleId(server, realm.realmId);
  });

  it('cannot lose the role nor be deleted (INVALID_STATE), changing nothing', async () => {
    await expectRefused(
      server,
      () => server.graphql(REMOVE, { input: { applicationId: bootstrapApp, roleId: admins } }, token),
      [{ code: 'INVALID_STATE', field: ['input', 'roleId'] }],
    );
    await expectRefused(server, () => server.graphql(DELETE, { input: { id: bootstrapApp } }, token), [
      { code: 'INVALID_STATE', field: ['input', 'id'] },
    ]);
  });

  it('can once another application holds the role', async () => {
    const second = await createM2M(server, realm, 'Second admin', [admins], token);
    const secondToken = await server.token(second);
    // Now the bootstrap application may lose the role, but then the second one is the last holder.
    const removed = await server.graphql(
      REMOVE,
      { input: { applicationId: bootstrapApp, roleId: admins } },
      secondToken,
    );
    expect(removed.data?.removeApplicationRole.userErrors).toEqual([]);
    await expectRefused(server, () => server.graphql(DELETE, { input: { id: second.id } }, secondToken), [
      { code: 'INVALID_STATE', field: ['input', 'id'] },
    ]);
    const deleted = await server.graphql(DELETE, { input: { id: bootstrapApp } }, secondToken);
    expect(deleted.data?.deleteApplication).toEqual({ deletedId: bootstrapApp, userErrors: [] });
  });

  it('keeps one holder when two removals race', async () => {
    const race = await server.createRealm('admin-race');
    const raceToken = await server.token(race);
    const roleOfRace = await adminRoleId(server, race.realmId);
    const first = encodeGlobalId(
      'Application',
      (await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: race.clientId } })).id,
    );
    const second = await createM2M(server, race, 'Second', [roleOfRace], raceToken);
    const writers = await makeRole(server, race.realmId, 'App admins', ['applications:read', 'applications:write']);
    const deleter = await server.token(await createM2M(server, race, 'Deleter', [writers.globalId], raceToken));

    const results = await Promise.all([
      server.graphql(DELETE, { input: { id: first } }, deleter),
      server.graphql(REMOVE_UNREAD_ROLES, { input: { applicationId: second.id, roleId: roleOfRace } }, deleter),
    ]);
    const codes = [results[0].data!.deleteApplication.userErrors, results[1].data!.removeApplicationRole.userErrors]
      .map((errors) => errors.map((e) => e.code).join())
      .sort();
    expect(codes).toEqual(['', 'INVALID_STATE']);
    const holders = await server.db.prisma.applicationRole.count({
      where: { realmId: race.realmId, roleId: rawId(roleOfRace) },
    });
    expect(holders).toBe(1);
  });
});

describe('reading applications', () => {
  it('lists with search and type filters and counts the whole list', async () => {
    const realm = await server.createRealm('listing');
    const token = await server.token(realm);
    await create({ name: 'Alpha web', type: 'WEB', redirectUris: ['https://a.example/cb'] }, token);
    await create({ name: 'alphabet SPA', type: 'SPA', redirectUris: ['https://b.example/cb'] }, token);
    const beta = await create({ name: 'Beta job', type: 'M2M' }, token);
    const list = async (filter: ApplicationFilter | null, first = 10, after?: string | null) =>
      (await server.graphql(LIST, { f: filter, first, after }, token)).data!.applications;
    expect((await list(null)).totalCount).toBe(4); // with the bootstrap client
    expect((await list({ search: 'ALPHA' })).nodes.map((n) => n.name)).toEqual(['Alpha web', 'alphabet SPA']);
    expect((await list({ search: beta.application!.clientId })).nodes).toEqual([{ name: 'Beta job', type: 'M2M' }]);
    expect((await list({ types: ['M2M'] })).nodes.map((n) => n.name)).toEqual(['Roster Admin', 'Beta job']);
    expect((await list({ search: 'alpha', types: ['SPA'] })).totalCount).toBe(1);
    const page1 = await list(null, 3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await list(null, 3, page1.pageInfo.endCursor);
    expect(page2.nodes.map((n) => n.name)).toEqual(['Beta job']);
    expect(page2.pageInfo.hasNextPage).toBe(false);
  });

  it('application(id): null for unknown and foreign ids alike, BAD_USER_INPUT for a non-application id', async () => {
    const spa = await createSpa('Readable');
    expect((await server.graphql(GET, { id: spa.id }, adminToken)).data?.application!.name).toBe('Readable');
    const foreign = await server.graphql(GET, { id: spa.id }, otherToken);
    const unknown = await server.graphql(GET, { id: missingId() }, otherToken);
    expect(foreign.data).toEqual({ application: null });
    expect([foreign.status, foreign.data, foreign.errors]).toEqual([unknown.status, unknown.data, unknown.errors]);
    const wrongType = await server.graphql(GET, { id: readerRole.globalId }, adminToken);
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('never exposes a client secret after the payload that created it', async () => {
    const payload = await create({ name: 'Secretive', type: 'WEB', redirectUris: ['https://s.example/cb'] });
    const secret = payload.clientSecret!;
    const hash = sha256(secret);
    const read = await server.graphql(READ_EVERYWHERE, { id: payload.application!.id }, adminToken);
    expect(read.errors).toBeUndefined();
    const text = JSON.stringify(read);
    expect(text).toContain(payload.application!.clientId);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(hash);
    // Nothing in the schema could return it: the only secret-named fields are the one-time
    // payloads (an application's; a new realm's admin client, only in `createRealm`'s; a webhook
    // endpoint's signing secret, only in its create and rotate payloads) and a timestamp.
    const { types } = (await server.graphql(SCHEMA_FIELDS, {}, adminToken)).data!.__schema;
    const secretFields = types
      .filter((type) => type.name !== 'Mutation')
      .flatMap((type) => (type.fields ?? []).map((field) => `${type.name}.${field.name}`))
      .filter((name) => /secret|hash/i.test(name.split('.')[1]!));
    expect(secretFields.sort()).toEqual([
      'Application.secretLastRotatedAt',
      'CreateApplicationPayload.clientSecret',
      'RealmAdminClient.clientSecret',
      'WebhookEndpointSecretPayload.secret',
    ]);
  });
});

describe('token endpoint', () => {
  it('grants requested ∩ the application’s management scopes, all of them when none is requested', async () => {
    await makeResource(server, admin.realmId, 'https://orders.example.com', ['read:orders']);
    const mixed = await makeRole(server, admin.realmId, 'Mixed', ['realm:read', 'audit:read', 'read:orders']);
    const app = await createM2M(server, admin, 'Scoped', [mixed.globalId], adminToken);
    expect((await server.graphql(GET, { id: app.id }, adminToken)).data?.application!.scopes).toEqual([
      'audit:read',
      'realm:read',
    ]);
    const viewerScopes = async (token: string) => (await server.graphql(VIEWER_SCOPES, {}, token)).data?.viewer.scopes;
    expect(await viewerScopes(await server.token(app))).toEqual(['audit:read', 'realm:read']);
    expect(await viewerScopes(await server.token(app, 'realm:read'))).toEqual(['realm:read']);
    await expect(server.token(app, 'realm:read users:read')).rejects.toThrow(/400.*invalid_scope/);
    await expect(server.token(app, 'read:orders')).rejects.toThrow(/400.*invalid_scope/);
  });
});

describe('scopes named like management scopes on another API', () => {
  it('are shown with their resource and never taken for management scopes', async () => {
    const resource = await server.graphql(CREATE_LOOKALIKE_RESOURCE, {}, adminToken);
    const resourceId = resource.data!.createResource.resource!.id;
    const scope = await server.graphql(ADD_SCOPE, { input: { resourceId, name: 'realm:write' } }, adminToken);
    expect(scope.data?.addResourceScope.userErrors).toEqual([]);
    const realmRead = await server.db.prisma.resourceScope.findFirstOrThrow({
      where: { realmId: admin.realmId, name: 'realm:read', resource: { builtIn: true } },
    });
    const role = await server.graphql(
      CREATE_ROLE,
      {
        input: {
          name: 'Lookalike writer',
          scopeIds: [scope.data!.addResourceScope.scope!.id, encodeGlobalId('ResourceScope', realmRead.id)],
        },
      },
      adminToken,
    );
    expect(role.data?.createRole.role!.scopes).toEqual([
      { name: 'realm:read', builtIn: true, resource: { indicator: 'urn:roster:management-api' } },
      { name: 'realm:write', builtIn: false, resource: { indicator: 'https://lookalike.example.com/' } },
    ]);
    const app = await createM2M(server, admin, 'Lookalike client', [role.data!.createRole.role!.id], adminToken);

    const read = await server.graphql(EFFECTIVE_SCOPES, { id: app.id }, adminToken);
    expect(read.data?.application).toEqual({
      scopes: ['realm:read'],
      effectiveScopes: [
        { name: 'realm:write', builtIn: false, resource: { indicator: 'https://lookalike.example.com/' } },
        { name: 'realm:read', builtIn: true, resource: { indicator: 'urn:roster:management-api' } },
      ],
    });
    // Its tokens carry only the management scope.
    const viewer = await server.graphql(VIEWER_SCOPES, {}, await server.token(app));
    expect(viewer.data?.viewer.scopes).toEqual(['realm:read']);
    await expect(server.token(app, 'realm:write')).rejects.toThrow(/400.*invalid_scope/);
  });
});

it('writes exactly one audit event per successful mutation and nothing else', async () => {
  const before = await databaseState(server);
  const since = await lastAuditId(server, admin.realmId);
  const app = await createM2M(server, admin, 'Counted', [], adminToken);
  await server.graphql(UPDATE, { input: { id: app.id, patch: { name: 'Counted 2' } } }, adminToken);
  await server.graphql(ASSIGN, { input: { applicationId: app.id, roleIds: [readerRole.globalId] } }, adminToken);
  await server.graphql(REMOVE, { input: { applicationId: app.id, roleId: readerRole.globalId } }, adminToken);
  await server.graphql(ROTATE, { input: { id: app.id } }, adminToken);
  await server.graphql(DELETE, { input: { id: app.id } }, adminToken);
  const events = await auditSince(server, admin.realmId, since);
  expect(events.map((e) => e.action)).toEqual([
    'application.created',
    'application.updated',
    'application.roles_assigned',
    'application.role_removed',
    'application.secret_rotated',
    'application.deleted',
  ]);
  expect(new Set(events.map((e) => e.requestId)).size).toBe(6);
  const after = await databaseState(server);
  expect(after.Application).toEqual(before.Application);
  expect(after.ApplicationSecret).toEqual(before.ApplicationSecret);
});
