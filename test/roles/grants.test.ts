import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type Denial } from '../../src/context.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { assertCanGrant, ungrantableScopes } from '../../src/modules/roles/roles.grants.ts';
import type { AssignRoleScopesInput, CreateResourceInput, CreateRoleInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { managementScopes } from '../helpers/fixtures.ts';
import { payloadOf, rawId, type UserErrorResult } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let management: Record<string, string>;
let postsRead: string;
/** A token holding only roles:read and roles:write. */
let rolesOnly: string;

const CREATE = graphql(`
  mutation RolesGrantsCreate($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
        scopes {
          name
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ASSIGN = graphql(`
  mutation RolesGrantsAssign($input: AssignRoleScopesInput!) {
    assignRoleScopes(input: $input) {
      role {
        id
        scopes {
          name
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
// Without roles:read a token may select only the errors of its mutation.
const CREATE_BLIND = graphql(`
  mutation RolesGrantsCreateBlind($input: CreateRoleInput!) {
    createRole(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const CREATE_RESOURCE = graphql(`
  mutation RolesGrantsCreateResource($input: CreateResourceInput!) {
    createResource(input: $input) {
      resource {
        id
      }
    }
  }
`);
const ADD_SCOPE = graphql(`
  mutation RolesGrantsAddScope($input: AddResourceScopeInput!) {
    addResourceScope(input: $input) {
      scope {
        id
      }
    }
  }
`);

const createRole = (input: CreateRoleInput, token?: string) => server.graphql(CREATE, { input }, token);
const assignScopes = (input: AssignRoleScopesInput, token?: string) => server.graphql(ASSIGN, { input }, token);

/** A new custom resource with one scope; returns the scope's global id. */
async function customScope(resource: CreateResourceInput, name: string) {
  const created = await server.graphql(CREATE_RESOURCE, { input: resource });
  const resourceId = created.data!.createResource.resource!.id;
  return (await server.graphql(ADD_SCOPE, { input: { resourceId, name } })).data!.addResourceScope.scope!.id;
}

async function expectForbiddenGrant<R extends Record<string, { role?: unknown; userErrors: UserErrorResult[] }>>(
  run: () => Promise<GraphQLResult<R>>,
  missing: string[],
) {
  const payload = await expectUnchanged(server, async () => payloadOf(await run()));
  expect(payload.role ?? null).toBeNull();
  expect(payload.userErrors).toEqual([
    { code: 'FORBIDDEN_GRANT', field: ['input', 'scopeIds'], message: expect.any(String) },
  ]);
  for (const scope of missing) expect(payload.userErrors[0]!.message).toContain(scope);
}

beforeAll(async () => {
  server = await startTestServer();
  management = (await managementScopes(server, server.admin.realmId)).scopes;
  postsRead = await customScope({ name: 'Posts', indicator: 'https://posts.example.com' }, 'posts:read');
  rolesOnly = await server.token(server.admin, 'roles:read roles:write');
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('no privilege escalation through roles', () => {
  it('a token with only roles:write cannot add users:write to a role (FORBIDDEN_GRANT, nothing changes)', async () => {
    const role = payloadOf(await createRole({ name: 'Harmless' }, rolesOnly));
    expect(role.userErrors).toEqual([]);
    await expectForbiddenGrant(
      () => assignScopes({ roleId: role.role!.id, scopeIds: [management['users:write']!] }, rolesOnly),
      ['users:write'],
    );
  });

  it('cannot create a role carrying a management scope it lacks', async () => {
    await expectForbiddenGrant(
      () => createRole({ name: 'Sneaky', scopeIds: [management['users:write']!] }, rolesOnly),
      ['users:write'],
    );
    await expectForbiddenGrant(
      () =>
        createRole(
          { name: 'Sneaky', scopeIds: [postsRead, management['audit:read']!, management['realm:write']!] },
          rolesOnly,
        ),
      ['audit:read', 'realm:write'],
    );
  });

  it('names only the scopes the caller lacks when some are held', async () => {
    const role = payloadOf(await createRole({ name: 'Mixed' }, rolesOnly));
    const payload = await expectUnchanged(server, async () =>
      payloadOf(
        await assignScopes(
          { roleId: role.role!.id, scopeIds: [management['roles:read']!, management['tenants:write']!] },
          rolesOnly,
        ),
      ),
    );
    expect(payload.userErrors).toHaveLength(1);
    expect(payload.userErrors[0]!.code).toBe('FORBIDDEN_GRANT');
    expect(payload.userErrors[0]!.message).toContain('tenants:write');
    expect(payload.userErrors[0]!.message).not.toContain('roles:read');
  });

  it('can grant management scopes its token holds, and any custom scope', async () => {
    const created = payloadOf(
      await createRole({ name: 'Role admin', scopeIds: [management['roles:read']!, postsRead] }, rolesOnly),
    );
    expect(created.userErrors).toEqual([]);
    const assigned = payloadOf(
      await assignScopes({ roleId: created.role!.id, scopeIds: [management['roles:write']!] }, rolesOnly),
    );
    expect(assigned.userErrors).toEqual([]);
    expect(assigned.role!.scopes.map((s) => s.name)).toEqual(['posts:read', 'roles:read', 'roles:write']);
  });

  it('a token requested with fewer scopes cannot grant what its application holds but the token does not', async () => {
    const narrow = await server.token(server.admin, 'roles:write');
    await expectForbiddenGrant(
      () => server.graphql(CREATE_BLIND, { input: { name: 'Reader', scopeIds: [management['roles:read']!] } }, narrow),
      ['roles:read'],
    );
  });

  it('a token holding every management scope can grant them all', async () => {
    const created = payloadOf(await createRole({ name: 'Second admin', scopeIds: Object.values(management) }));
    expect(created.userErrors).toEqual([]);
    expect(created.role!.scopes).toHaveLength(Object.keys(management).length);
  });

  it('re-assigning a management scope the role already has is not a grant', async () => {
    const full = payloadOf(await createRole({ name: 'Has users:write', scopeIds: [management['users:write']!] }));
    expect(full.userErrors).toEqual([]);
    await expectUnchanged(server, async () => {
      const again = payloadOf(
        await assignScopes({ roleId: full.role!.id, scopeIds: [management['users:write']!] }, rolesOnly),
      );
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
    const lookalike = await customScope(
      { name: 'Lookalike', indicator: 'https://lookalike.example.com' },
      'users:write',
    );
    const created = payloadOf(await createRole({ name: 'Lookalike users:write', scopeIds: [lookalike] }, rolesOnly));
    expect(created.userErrors).toEqual([]);
    // …and it does not make tokens carry the management scope users:write.
    const ctx = systemContext(server.db.prisma, server.admin.realmId);
    expect(await ungrantableScopes(ctx.db, { scopes: new Set() }, { roleIds: [rawId(created.role!.id)] })).toEqual([]);
    expect(encodeGlobalId('Role', rawId(created.role!.id))).toBe(created.role!.id);
  });
});
