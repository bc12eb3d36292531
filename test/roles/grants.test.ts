import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type Denial } from '../../src/context.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { assertCanGrant, ungrantableScopes } from '../../src/modules/roles/roles.grants.ts';
import { managementScopes } from '../helpers/fixtures.ts';
import { rawId, type UserErrorResult } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let management: Record<string, string>;
let postsRead: string;
/** A token holding only roles:read and roles:write. */
let rolesOnly: string;

const ERRORS = 'userErrors { field message code }';
const CREATE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id scopes { name } } ${ERRORS} } }`;
const ASSIGN = `mutation($input: AssignRoleScopesInput!) { assignRoleScopes(input: $input) { role { id scopes { name } } ${ERRORS} } }`;

type Payload = { role: { id: string; scopes: { name: string }[] } | null; userErrors: UserErrorResult[] };

async function mutate(query: string, input: Record<string, unknown>, token?: string): Promise<Payload> {
  const result = await server.graphql(query, { input }, token);
  expect(result.errors).toBeUndefined();
  return Object.values(result.data!)[0] as Payload;
}

async function expectForbiddenGrant(query: string, input: Record<string, unknown>, token: string, missing: string[]) {
  const payload = await expectUnchanged(server, () => mutate(query, input, token));
  expect(payload.role ?? null).toBeNull();
  expect(payload.userErrors).toEqual([
    { code: 'FORBIDDEN_GRANT', field: ['input', 'scopeIds'], message: expect.any(String) },
  ]);
  for (const scope of missing) expect(payload.userErrors[0]!.message).toContain(scope);
}

beforeAll(async () => {
  server = await startTestServer();
  management = (await managementScopes(server, server.admin.realmId)).scopes;
  const resource = await server.graphql(
    `mutation { createResource(input: { name: "Posts", indicator: "https://posts.example.com" }) { resource { id } } }`,
  );
  const added = await server.graphql(
    `mutation($input: AddResourceScopeInput!) { addResourceScope(input: $input) { scope { id } } }`,
    {
      input: { resourceId: resource.data!.createResource.resource.id, name: 'posts:read' },
    },
  );
  postsRead = added.data!.addResourceScope.scope.id;
  rolesOnly = await server.token(server.admin, 'roles:read roles:write');
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('no privilege escalation through roles', () => {
  it('a token with only roles:write cannot add users:write to a role (FORBIDDEN_GRANT, nothing changes)', async () => {
    const role = await mutate(CREATE, { name: 'Harmless' }, rolesOnly);
    expect(role.userErrors).toEqual([]);
    await expectForbiddenGrant(ASSIGN, { roleId: role.role!.id, scopeIds: [management['users:write']] }, rolesOnly, [
      'users:write',
    ]);
  });

  it('cannot create a role carrying a management scope it lacks', async () => {
    await expectForbiddenGrant(CREATE, { name: 'Sneaky', scopeIds: [management['users:write']] }, rolesOnly, [
      'users:write',
    ]);
    await expectForbiddenGrant(
      CREATE,
      { name: 'Sneaky', scopeIds: [postsRead, management['audit:read'], management['realm:write']] },
      rolesOnly,
      ['audit:read', 'realm:write'],
    );
  });

  it('names only the scopes the caller lacks when some are held', async () => {
    const role = await mutate(CREATE, { name: 'Mixed' }, rolesOnly);
    const payload = await expectUnchanged(server, () =>
      mutate(
        ASSIGN,
        { roleId: role.role!.id, scopeIds: [management['roles:read'], management['tenants:write']] },
        rolesOnly,
      ),
    );
    expect(payload.userErrors).toHaveLength(1);
    expect(payload.userErrors[0]!.code).toBe('FORBIDDEN_GRANT');
    expect(payload.userErrors[0]!.message).toContain('tenants:write');
    expect(payload.userErrors[0]!.message).not.toContain('roles:read');
  });

  it('can grant management scopes its token holds, and any custom scope', async () => {
    const created = await mutate(
      CREATE,
      { name: 'Role admin', scopeIds: [management['roles:read'], postsRead] },
      rolesOnly,
    );
    expect(created.userErrors).toEqual([]);
    const assigned = await mutate(
      ASSIGN,
      { roleId: created.role!.id, scopeIds: [management['roles:write']] },
      rolesOnly,
    );
    expect(assigned.userErrors).toEqual([]);
    expect(assigned.role!.scopes.map((s) => s.name)).toEqual(['posts:read', 'roles:read', 'roles:write']);
  });

  it('a token requested with fewer scopes cannot grant what its application holds but the token does not', async () => {
    const narrow = await server.token(server.admin, 'roles:write');
    // Without roles:read the token may select only the errors of its mutation.
    const createBlind = `mutation($input: CreateRoleInput!) { createRole(input: $input) { ${ERRORS} } }`;
    await expectForbiddenGrant(createBlind, { name: 'Reader', scopeIds: [management['roles:read']] }, narrow, [
      'roles:read',
    ]);
  });

  it('a token holding every management scope can grant them all', async () => {
    const created = await mutate(CREATE, { name: 'Second admin', scopeIds: Object.values(management) });
    expect(created.userErrors).toEqual([]);
    expect(created.role!.scopes).toHaveLength(Object.keys(management).length);
  });

  it('re-assigning a management scope the role already has is not a grant', async () => {
    const full = await mutate(CREATE, { name: 'Has users:write', scopeIds: [management['users:write']] });
    expect(full.userErrors).toEqual([]);
    await expectUnchanged(server, async () => {
      const again = await mutate(ASSIGN, { roleId: full.role!.id, scopeIds: [management['users:write']] }, rolesOnly);
      expect(again.userErrors).toEqual([]);
    });
  });
});

describe('assertCanGrant (shared with application and user role assignment)', () => {
  it('checks scope ids and role ids against the caller’s scopes', async () => {
    const ctx = systemContext(server.db.prisma, server.admin.realmId);
    const adminRole = await server.db.prisma.role.findFirstOrThrow({
      where: { realmId: server.admin.realmId, builtIn: true },
    });
    const held = new Set(['roles:read', 'roles:write']);
    expect(await ungrantableScopes(ctx.db, { scopes: held }, { roleIds: [adminRole.id] })).toEqual(
      Object.keys(management)
        .filter((s) => !held.has(s))
        .sort(),
    );
    expect(
      await ungrantableScopes(ctx.db, { scopes: new Set(Object.keys(management)) }, { roleIds: [adminRole.id] }),
    ).toEqual([]);
    expect(
      await ungrantableScopes(
        ctx.db,
        { scopes: held },
        { scopeIds: [rawId(postsRead), rawId(management['roles:read']!)] },
      ),
    ).toEqual([]);
    expect(await ungrantableScopes(ctx.db, { scopes: held }, { roleIds: [] })).toEqual([]);
    const denials: Denial[] = [];
    const error = await assertCanGrant(
      ctx.db,
      { caller: { scopes: held }, denials },
      { scopeIds: [rawId(management['users:export']!)] },
      ['input', 'roleIds'],
    );
    expect(error).toMatchObject({ code: 'FORBIDDEN_GRANT', field: ['input', 'roleIds'] });
    expect(error!.message).toContain('users:export');
    expect(denials).toEqual([{ field: null, missingScopes: ['users:export'] }]);
    expect(
      await assertCanGrant(ctx.db, { caller: { scopes: held }, denials }, { scopeIds: [rawId(postsRead)] }, [
        'input',
        'roleIds',
      ]),
    ).toBeNull();
    expect(denials).toHaveLength(1);
  });

  it('only counts the built-in resource’s scopes as management scopes, whatever a custom scope is named', async () => {
    const resource = await server.graphql(
      `mutation { createResource(input: { name: "Lookalike", indicator: "https://lookalike.example.com" }) { resource { id } } }`,
    );
    const lookalike = await server.graphql(
      `mutation($input: AddResourceScopeInput!) { addResourceScope(input: $input) { scope { id } } }`,
      {
        input: { resourceId: resource.data!.createResource.resource.id, name: 'users:write' },
      },
    );
    const created = await mutate(
      CREATE,
      { name: 'Lookalike users:write', scopeIds: [lookalike.data!.addResourceScope.scope.id] },
      rolesOnly,
    );
    expect(created.userErrors).toEqual([]);
    // …and it does not make tokens carry the management scope users:write.
    const ctx = systemContext(server.db.prisma, server.admin.realmId);
    expect(await ungrantableScopes(ctx.db, { scopes: new Set() }, { roleIds: [rawId(created.role!.id)] })).toEqual([]);
    expect(encodeGlobalId('Role', rawId(created.role!.id))).toBe(created.role!.id);
  });
});
