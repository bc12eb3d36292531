import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR, MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type {
  AddResourceScopeInput,
  CreateResourceInput,
  DeleteInput,
  RemoveResourceScopeInput,
  UpdateResourceInput,
  UpdateResourceScopeInput,
} from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { managementScopes } from '../helpers/fixtures.ts';
import { auditSince, expectRefused, lastAuditId, payloadOf, rawId } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let other: Credentials;
let otherToken: string;

beforeAll(async () => {
  server = await startTestServer();
  other = await server.createRealm('other');
  otherToken = await server.token(other);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

graphql(`
  fragment ResourcesResourcesPayloadResource on Resource {
    id
    name
    indicator
    builtIn
    scopes {
      id
      name
      description
      builtIn
    }
  }
`);
const CREATE = graphql(`
  mutation ResourcesResourcesCreate($input: CreateResourceInput!) {
    createResource(input: $input) {
      resource {
        ...ResourcesResourcesPayloadResource
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE = graphql(`
  mutation ResourcesResourcesUpdate($input: UpdateResourceInput!) {
    updateResource(input: $input) {
      resource {
        ...ResourcesResourcesPayloadResource
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE = graphql(`
  mutation ResourcesResourcesDelete($input: DeleteInput!) {
    deleteResource(input: $input) {
      deletedId
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const ADD_SCOPE = graphql(`
  mutation ResourcesResourcesAddScope($input: AddResourceScopeInput!) {
    addResourceScope(input: $input) {
      resource {
        ...ResourcesResourcesPayloadResource
      }
      scope {
        id
        name
        description
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE_SCOPE = graphql(`
  mutation ResourcesResourcesUpdateScope($input: UpdateResourceScopeInput!) {
    updateResourceScope(input: $input) {
      resource {
        ...ResourcesResourcesPayloadResource
      }
      scope {
        id
        name
        description
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REMOVE_SCOPE = graphql(`
  mutation ResourcesResourcesRemoveScope($input: RemoveResourceScopeInput!) {
    removeResourceScope(input: $input) {
      resource {
        ...ResourcesResourcesPayloadResource
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const BUILT_IN_LIST = graphql(`
  query ResourcesResourcesBuiltInList {
    resources(first: 10) {
      totalCount
      nodes {
        name
        indicator
        builtIn
        scopes {
          name
          builtIn
          resource {
            name
          }
        }
      }
    }
  }
`);
const RESOURCE_AND_NODE = graphql(`
  query ResourcesResourcesResourceAndNode($id: ID!) {
    resource(id: $id) {
      id
      name
    }
    node(id: $id) {
      id
      ... on Resource {
        name
      }
    }
  }
`);
const RESOURCE_AND_NODE_IDS = graphql(`
  query ResourcesResourcesResourceAndNodeIds($id: ID!) {
    resource(id: $id) {
      id
    }
    node(id: $id) {
      id
    }
  }
`);
const ALL_IDS = graphql(`
  query ResourcesResourcesAllIds {
    resources(first: 100) {
      totalCount
      nodes {
        id
      }
    }
  }
`);
const FIRST_EDGE = graphql(`
  query ResourcesResourcesFirstEdge {
    resources(first: 1) {
      totalCount
      edges {
        cursor
        node {
          id
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
const IDS_AFTER = graphql(`
  query ResourcesResourcesIdsAfter($after: String) {
    resources(first: 100, after: $after) {
      nodes {
        id
      }
    }
  }
`);
const TOTAL = graphql(`
  query ResourcesResourcesTotal {
    resources(first: 100) {
      totalCount
    }
  }
`);
const DEFAULT_PAGE_TOTAL = graphql(`
  query ResourcesResourcesDefaultPageTotal {
    resources {
      totalCount
    }
  }
`);
const CREATE_ROLE = graphql(`
  mutation ResourcesResourcesCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
      }
      userErrors {
        code
      }
    }
  }
`);
const CREATE_ROLE_ID = graphql(`
  mutation ResourcesResourcesCreateRoleId($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
      }
    }
  }
`);
const ROLE_AND_RESOURCE = graphql(`
  query ResourcesResourcesRoleAndResource($role: ID!, $resource: ID!) {
    role(id: $role) {
      scopes {
        id
      }
    }
    resource(id: $resource) {
      id
    }
  }
`);
const ROLE_SCOPE_NAMES = graphql(`
  query ResourcesResourcesRoleScopeNames($id: ID!) {
    role(id: $id) {
      scopes {
        name
      }
    }
  }
`);

const createResource = (input: CreateResourceInput, token?: string) => server.graphql(CREATE, { input }, token);
const updateResource = (input: UpdateResourceInput, token?: string) => server.graphql(UPDATE, { input }, token);
const deleteResource = (input: DeleteInput, token?: string) => server.graphql(DELETE, { input }, token);
const addScope = (input: AddResourceScopeInput, token?: string) => server.graphql(ADD_SCOPE, { input }, token);
const updateScope = (input: UpdateResourceScopeInput, token?: string) => server.graphql(UPDATE_SCOPE, { input }, token);
const removeScope = (input: RemoveResourceScopeInput, token?: string) => server.graphql(REMOVE_SCOPE, { input }, token);

let counter = 0;
async function newResource(name = `API ${++counter}`, scopes: string[] = []) {
  const created = payloadOf(await createResource({ name, indicator: `https://api${++counter}.example.com/v1` }));
  expect(created.userErrors).toEqual([]);
  const ids: Record<string, string> = {};
  for (const scope of scopes) {
    const added = payloadOf(
      await addScope({ resourceId: created.resource!.id, name: scope, description: `Allows ${scope}.` }),
    );
    expect(added.userErrors).toEqual([]);
    ids[scope] = added.scope!.id;
  }
  return { id: created.resource!.id, scopes: ids };
}

/** Expects exactly one user error with this code and field, and no change anywhere. */
async function refuse<R extends Record<string, { resource: unknown }>>(
  run: () => Promise<GraphQLResult<R>>,
  code: string,
  field: string[] | null,
) {
  const payload = await expectRefused(server, run, [{ code, field }]);
  expect(payload.resource ?? null).toBeNull();
  return payload;
}

describe('reading resources', () => {
  it('lists the built-in Roster Management API with its 15 scopes, read-only', async () => {
    const result = await server.graphql(BUILT_IN_LIST);
    expect(result.errors).toBeUndefined();
    const builtIn = result.data!.resources.nodes[0]!;
    expect(builtIn).toMatchObject({
      name: 'Roster Management API',
      indicator: MANAGEMENT_API_INDICATOR,
      builtIn: true,
    });
    expect(builtIn.scopes.map((s) => s.name)).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
    expect(builtIn.scopes.every((s) => s.builtIn && s.resource.name === builtIn.name)).toBe(true);
  });

  it('resource(id) and node(id) find a resource; another realm sees null, like a missing id', async () => {
    const { id } = await newResource('Orders API');
    const own = await server.graphql(RESOURCE_AND_NODE, { id });
    expect(own.data).toEqual({ resource: { id, name: 'Orders API' }, node: { id, name: 'Orders API' } });
    const foreign = await server.graphql(RESOURCE_AND_NODE_IDS, { id }, otherToken);
    const missing = await server.graphql(
      RESOURCE_AND_NODE_IDS,
      { id: encodeGlobalId('Resource', randomUUID()) },
      otherToken,
    );
    expect(foreign.data).toEqual({ resource: null, node: null });
    expect([foreign.errors, foreign.data]).toEqual([missing.errors, missing.data]);
  });

  it('paginates with exact totals, realm by realm', async () => {
    const all = await server.graphql(ALL_IDS);
    const total = all.data!.resources.totalCount;
    expect(all.data!.resources.nodes).toHaveLength(total);
    const first = await server.graphql(FIRST_EDGE);
    expect(first.data!.resources.pageInfo.hasNextPage).toBe(total > 1);
    const next = await server.graphql(IDS_AFTER, { after: first.data!.resources.pageInfo.endCursor });
    expect([first.data!.resources.edges[0]!.node.id, ...next.data!.resources.nodes.map((n) => n.id)]).toEqual(
      all.data!.resources.nodes.map((n) => n.id),
    );
    const foreign = await server.graphql(TOTAL, {}, otherToken);
    expect(foreign.data!.resources.totalCount).toBe(1);
  });

  it('needs resources:read', async () => {
    const token = await server.token(server.admin, 'roles:read');
    const result = await server.graphql(DEFAULT_PAGE_TOTAL, {}, token);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['resources:read'] });
  });
});

describe('createResource', () => {
  it('creates a resource with a normalized indicator and one audit event', async () => {
    const mark = await lastAuditId(server, server.admin.realmId);
    const created = payloadOf(
      await createResource({ name: '  Billing API ', indicator: 'HTTPS://Billing.Example.com' }),
    );
    expect(created.userErrors).toEqual([]);
    expect(created.resource).toMatchObject({
      name: 'Billing API',
      indicator: 'https://billing.example.com/',
      builtIn: false,
      scopes: [],
    });
    const events = await auditSince(server, server.admin.realmId, mark);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'resource.created',
      targetType: 'Resource',
      targetId: rawId(created.resource!.id),
      actorType: 'application',
      actorId: server.admin.clientId,
      outcome: 'success',
      changes: { name: 'Billing API', indicator: 'https://billing.example.com/' },
    });
    expect(events[0]!.requestId).toBeTruthy();
  });

  it('accepts URN indicators and the same indicator in another realm', async () => {
    const urn = payloadOf(await createResource({ name: 'URN API', indicator: 'urn:example:inventory' }));
    expect(urn.userErrors).toEqual([]);
    expect(urn.resource!.indicator).toBe('urn:example:inventory');
    const foreign = payloadOf(
      await createResource({ name: 'URN API', indicator: 'urn:example:inventory' }, otherToken),
    );
    expect(foreign.userErrors).toEqual([]);
  });

  it('refuses an indicator already used in the realm (TAKEN)', async () => {
    payloadOf(await createResource({ name: 'Taken', indicator: 'https://taken.example.com/' }));
    await refuse(() => createResource({ name: 'Again', indicator: 'https://taken.example.com' }), 'TAKEN', [
      'input',
      'indicator',
    ]);
  });

  it('reserves the management API indicator and its urn:roster: namespace, ignoring case, encoding and padding (RESERVED)', async () => {
    const lookalikes = [
      MANAGEMENT_API_INDICATOR,
      'urn:ROSTER:management-api',
      'URN:Roster:Management-API',
      `${MANAGEMENT_API_INDICATOR}/`,
      `  ${MANAGEMENT_API_INDICATOR}\t`,
      'urn:roster:management%2Dapi',
      'urn:roster:other-api',
    ];
    for (const indicator of lookalikes) {
      const payload = await refuse(() => createResource({ name: 'Fake management', indicator }), 'RESERVED', [
        'input',
        'indicator',
      ]);
      expect(payload.userErrors[0]!.message).toMatch(/reserved/);
    }
    // Other URNs, and indicators merely containing the name, stay available.
    for (const indicator of ['urn:rosters:management-api', 'https://roster.example.com/management-api']) {
      expect(payloadOf(await createResource({ name: 'Not a lookalike', indicator })).userErrors).toEqual([]);
    }
  });

  it('concurrent creates with one indicator: exactly one wins, the others get TAKEN', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, async (_, i) =>
        payloadOf(await createResource({ name: `Racer ${i}`, indicator: 'https://race.example.com/' })),
      ),
    );
    expect(results.filter((r) => r.userErrors.length === 0)).toHaveLength(1);
    for (const lost of results.filter((r) => r.userErrors.length > 0)) {
      expect(lost.userErrors).toEqual([{ code: 'TAKEN', field: ['input', 'indicator'], message: expect.any(String) }]);
    }
    const rows = await server.db.prisma.resource.count({
      where: { realmId: server.admin.realmId, indicator: 'https://race.example.com/' },
    });
    const audits = await server.db.prisma.auditEvent.count({
      where: { action: 'resource.created', changes: { path: ['indicator'], equals: 'https://race.example.com/' } },
    });
    expect([rows, audits]).toEqual([1, 1]);
  });

  it('refuses indicators with a fragment or user information, or too long (INVALID, TOO_LONG)', async () => {
    await refuse(() => createResource({ name: 'Fragment', indicator: 'https://api.example.com/#x' }), 'INVALID', [
      'input',
      'indicator',
    ]);
    await refuse(() => createResource({ name: 'Empty fragment', indicator: 'https://api.example.com/#' }), 'INVALID', [
      'input',
      'indicator',
    ]);
    await refuse(() => createResource({ name: 'Userinfo', indicator: 'https://user:pw@api.example.com/' }), 'INVALID', [
      'input',
      'indicator',
    ]);
    await refuse(
      () => createResource({ name: 'Long', indicator: `https://api.example.com/${'a'.repeat(2048)}` }),
      'TOO_LONG',
      ['input', 'indicator'],
    );
  });

  it('refuses a relative indicator before any resolver runs', async () => {
    await expectUnchanged(server, async () => {
      const result = await createResource({ name: 'Relative', indicator: '/api/v1' });
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.message).toMatch(/indicator/);
    });
  });

  it('refuses empty, blank, over-long and control-character names', async () => {
    await refuse(() => createResource({ name: '', indicator: 'https://n1.example.com' }), 'REQUIRED', [
      'input',
      'name',
    ]);
    await refuse(() => createResource({ name: '   ', indicator: 'https://n2.example.com' }), 'REQUIRED', [
      'input',
      'name',
    ]);
    await refuse(() => createResource({ name: 'x'.repeat(101), indicator: 'https://n3.example.com' }), 'TOO_LONG', [
      'input',
      'name',
    ]);
    await refuse(() => createResource({ name: 'two\nlines', indicator: 'https://n4.example.com' }), 'INVALID', [
      'input',
      'name',
    ]);
    const exactly100 = payloadOf(await createResource({ name: 'y'.repeat(100), indicator: 'https://n5.example.com' }));
    expect(exactly100.userErrors).toEqual([]);
  });

  it('reports every invalid field at once', async () => {
    const payload = await expectUnchanged(server, async () =>
      payloadOf(await createResource({ name: '', indicator: 'https://x.example.com/#f' })),
    );
    expect(payload.userErrors.map((e) => [e.code, e.field])).toEqual([
      ['REQUIRED', ['input', 'name']],
      ['INVALID', ['input', 'indicator']],
    ]);
  });

  it('needs resources:write (FORBIDDEN, nothing changes)', async () => {
    const token = await server.token(server.admin, 'resources:read');
    await expectUnchanged(server, async () => {
      const result = await createResource({ name: 'Nope', indicator: 'https://nope.example.com' }, token);
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['resources:write'] });
    });
  });
});

describe('updateResource and deleteResource', () => {
  it('renames a resource, auditing before/after; a no-op writes nothing', async () => {
    const { id } = await newResource('Old name');
    const mark = await lastAuditId(server, server.admin.realmId);
    const updated = payloadOf(await updateResource({ id, patch: { name: 'New name' } }));
    expect(updated.userErrors).toEqual([]);
    expect(updated.resource!.name).toBe('New name');
    const events = await auditSince(server, server.admin.realmId, mark);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['resource.updated', rawId(id), { name: { before: 'Old name', after: 'New name' } }],
    ]);
    await expectUnchanged(server, async () => {
      expect(payloadOf(await updateResource({ id, patch: { name: 'New name' } })).userErrors).toEqual([]);
      expect(payloadOf(await updateResource({ id, patch: {} })).userErrors).toEqual([]);
    });
  });

  it('refuses bad names, unknown and foreign ids alike, and the built-in resource', async () => {
    const { id } = await newResource();
    await refuse(() => updateResource({ id, patch: { name: null } }), 'REQUIRED', ['input', 'patch', 'name']);
    await refuse(() => updateResource({ id, patch: { name: 'z'.repeat(101) } }), 'TOO_LONG', [
      'input',
      'patch',
      'name',
    ]);
    const unknown = await refuse(
      () => updateResource({ id: encodeGlobalId('Resource', randomUUID()), patch: { name: 'x' } }),
      'NOT_FOUND',
      ['input', 'id'],
    );
    const foreign = await refuse(() => updateResource({ id, patch: { name: 'x' } }, otherToken), 'NOT_FOUND', [
      'input',
      'id',
    ]);
    expect(foreign).toEqual(unknown);
    const { resourceId } = await managementScopes(server, server.admin.realmId);
    await refuse(() => updateResource({ id: resourceId, patch: { name: 'Mine now' } }), 'INVALID_STATE', [
      'input',
      'id',
    ]);
  });

  it('answers an id of another type or a malformed id with BAD_USER_INPUT', async () => {
    await expectUnchanged(server, async () => {
      const wrongType = await updateResource({ id: encodeGlobalId('Role', randomUUID()), patch: { name: 'x' } });
      expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.id' });
      const malformed = await updateResource({ id: 'not-an-id', patch: { name: 'x' } });
      expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  it('deletes a resource with its scopes, removing them from every role, audited with counts', async () => {
    const { id, scopes } = await newResource('Doomed', ['read:a', 'write:a']);
    const role = await server.graphql(CREATE_ROLE, {
      input: { name: `Doomed reader ${counter}`, scopeIds: Object.values(scopes) },
    });
    const roleId = role.data!.createRole.role!.id;
    const mark = await lastAuditId(server, server.admin.realmId);
    const deleted = payloadOf(await deleteResource({ id }));
    expect(deleted).toEqual({ deletedId: id, userErrors: [] });
    expect(await server.db.prisma.resourceScope.count({ where: { resourceId: rawId(id) } })).toBe(0);
    expect(await server.db.prisma.roleScope.count({ where: { roleId: rawId(roleId) } })).toBe(0);
    const after = await server.graphql(ROLE_AND_RESOURCE, { role: roleId, resource: id });
    expect(after.data).toEqual({ role: { scopes: [] }, resource: null });
    const events = await auditSince(server, server.admin.realmId, mark);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      [
        'resource.deleted',
        rawId(id),
        {
          name: 'Doomed',
          indicator: expect.any(String),
          scopes: ['read:a', 'write:a'],
          roleGrantsRemoved: 2,
          userPermissionsRemoved: 0,
        },
      ],
    ]);
  });

  it('refuses to delete the built-in resource, unknown or foreign ids', async () => {
    const { resourceId } = await managementScopes(server, server.admin.realmId);
    const { id } = await newResource();
    await expectUnchanged(server, async () => {
      const builtIn = payloadOf(await deleteResource({ id: resourceId }));
      expect(builtIn).toMatchObject({
        deletedId: null,
        userErrors: [{ code: 'INVALID_STATE', field: ['input', 'id'] }],
      });
      const foreign = payloadOf(await deleteResource({ id }, otherToken));
      const unknown = payloadOf(await deleteResource({ id: encodeGlobalId('Resource', randomUUID()) }, otherToken));
      expect(foreign).toEqual(unknown);
      expect(foreign).toMatchObject({ deletedId: null, userErrors: [{ code: 'NOT_FOUND', field: ['input', 'id'] }] });
    });
  });
});

describe('resource scopes', () => {
  it('adds, renames, re-describes and removes scopes, one audit event each', async () => {
    const { id } = await newResource('Posts API');
    const mark = await lastAuditId(server, server.admin.realmId);
    const added = payloadOf(await addScope({ resourceId: id, name: 'read:posts', description: 'Read posts.' }));
    expect(added.userErrors).toEqual([]);
    expect(added.scope).toMatchObject({ name: 'read:posts', description: 'Read posts.' });
    expect(added.resource!.scopes.map((s) => s.name)).toEqual(['read:posts']);
    const scopeId = added.scope!.id;

    const renamed = payloadOf(await updateScope({ resourceId: id, scopeId, patch: { name: 'posts:read' } }));
    expect(renamed.userErrors).toEqual([]);
    expect(renamed.scope).toMatchObject({ id: scopeId, name: 'posts:read', description: 'Read posts.' });
    const cleared = payloadOf(await updateScope({ resourceId: id, scopeId, patch: { description: null } }));
    expect(cleared.scope!.description).toBeNull();
    const removed = payloadOf(await removeScope({ resourceId: id, scopeId }));
    expect(removed.userErrors).toEqual([]);
    expect(removed.resource!.scopes).toEqual([]);

    const events = await auditSince(server, server.admin.realmId, mark);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.changes])).toEqual([
      [
        'resource.scope_added',
        'Resource',
        rawId(id),
        { scopeId: rawId(scopeId), name: 'read:posts', description: 'Read posts.' },
      ],
      [
        'resource.scope_updated',
        'Resource',
        rawId(id),
        { scopeId: rawId(scopeId), name: { before: 'read:posts', after: 'posts:read' } },
      ],
      [
        'resource.scope_updated',
        'Resource',
        rawId(id),
        { scopeId: rawId(scopeId), description: { before: 'Read posts.', after: null } },
      ],
      [
        'resource.scope_removed',
        'Resource',
        rawId(id),
        { scopeId: rawId(scopeId), name: 'posts:read', rolesAffected: 0, userPermissionsRemoved: 0 },
      ],
    ]);
  });

  it('removing a scope removes it from every role that had it (cascade), audited', async () => {
    const { id, scopes } = await newResource('Shared API', ['shared:read', 'shared:write']);
    const roleIds: string[] = [];
    for (const name of ['Cascade A', 'Cascade B']) {
      const created = await server.graphql(CREATE_ROLE_ID, {
        input: { name, scopeIds: [scopes['shared:read']!, scopes['shared:write']!] },
      });
      roleIds.push(created.data!.createRole.role!.id);
    }
    const mark = await lastAuditId(server, server.admin.realmId);
    const removed = payloadOf(await removeScope({ resourceId: id, scopeId: scopes['shared:read']! }));
    expect(removed.userErrors).toEqual([]);
    for (const roleId of roleIds) {
      const role = await server.graphql(ROLE_SCOPE_NAMES, { id: roleId });
      expect(role.data!.role!.scopes).toEqual([{ name: 'shared:write' }]);
    }
    const events = await auditSince(server, server.admin.realmId, mark);
    expect(events).toHaveLength(1);
    expect(events[0]!.changes).toMatchObject({ name: 'shared:read', rolesAffected: 2 });
  });

  it('validates scope names against the documented format', async () => {
    const { id } = await newResource();
    for (const bad of [
      'Read:Posts',
      'read posts',
      'read::posts',
      ':read',
      'read:',
      '1read',
      'read:1posts',
      'read.posts',
      'réad',
    ]) {
      await refuse(() => addScope({ resourceId: id, name: bad }), 'INVALID', ['input', 'name']);
    }
    await refuse(() => addScope({ resourceId: id, name: '' }), 'REQUIRED', ['input', 'name']);
    await refuse(() => addScope({ resourceId: id, name: `a${'b'.repeat(100)}` }), 'TOO_LONG', ['input', 'name']);
    await refuse(() => addScope({ resourceId: id, name: 'ok', description: 'd'.repeat(501) }), 'TOO_LONG', [
      'input',
      'description',
    ]);
    for (const good of ['billing', 'read:posts', 'users:read', 'a_b-c:d0', `a${'b'.repeat(99)}`]) {
      expect(payloadOf(await addScope({ resourceId: id, name: good })).userErrors).toEqual([]);
    }
  });

  it('refuses duplicate scope names per resource (TAKEN), but allows them on another resource', async () => {
    const first = await newResource(undefined, ['dup:read', 'dup:write']);
    const second = await newResource();
    await refuse(() => addScope({ resourceId: first.id, name: 'dup:read' }), 'TAKEN', ['input', 'name']);
    await refuse(
      () => updateScope({ resourceId: first.id, scopeId: first.scopes['dup:write']!, patch: { name: 'dup:read' } }),
      'TAKEN',
      ['input', 'patch', 'name'],
    );
    expect(payloadOf(await addScope({ resourceId: second.id, name: 'dup:read' })).userErrors).toEqual([]);
  });

  it('refuses a scope of another resource, unknown and foreign ids (NOT_FOUND with field path)', async () => {
    const a = await newResource(undefined, ['a:read']);
    const b = await newResource(undefined, ['b:read']);
    await refuse(
      () => updateScope({ resourceId: a.id, scopeId: b.scopes['b:read']!, patch: { name: 'x' } }),
      'NOT_FOUND',
      ['input', 'scopeId'],
    );
    await refuse(() => removeScope({ resourceId: a.id, scopeId: b.scopes['b:read']! }), 'NOT_FOUND', [
      'input',
      'scopeId',
    ]);
    await refuse(
      () => removeScope({ resourceId: a.id, scopeId: encodeGlobalId('ResourceScope', randomUUID()) }),
      'NOT_FOUND',
      ['input', 'scopeId'],
    );
    const unknown = await refuse(
      () => addScope({ resourceId: encodeGlobalId('Resource', randomUUID()), name: 'x' }),
      'NOT_FOUND',
      ['input', 'resourceId'],
    );
    const foreign = await refuse(() => addScope({ resourceId: a.id, name: 'x' }, otherToken), 'NOT_FOUND', [
      'input',
      'resourceId',
    ]);
    expect(foreign).toEqual(unknown);
    const foreignRemove = await refuse(
      () => removeScope({ resourceId: a.id, scopeId: a.scopes['a:read']! }, otherToken),
      'NOT_FOUND',
      ['input', 'resourceId'],
    );
    expect(foreignRemove.userErrors[0]!.message).toBe(unknown.userErrors[0]!.message);
  });

  it('refuses every change to the built-in resource’s scopes (INVALID_STATE)', async () => {
    const { resourceId, scopes } = await managementScopes(server, server.admin.realmId);
    await refuse(() => addScope({ resourceId, name: 'users:impersonate' }), 'INVALID_STATE', ['input', 'resourceId']);
    await refuse(
      () => updateScope({ resourceId, scopeId: scopes['users:read']!, patch: { description: 'x' } }),
      'INVALID_STATE',
      ['input', 'resourceId'],
    );
    await refuse(() => removeScope({ resourceId, scopeId: scopes['users:write']! }), 'INVALID_STATE', [
      'input',
      'resourceId',
    ]);
  });

  it('refuses clearing a scope name', async () => {
    const { id, scopes } = await newResource(undefined, ['c:read']);
    await refuse(() => updateScope({ resourceId: id, scopeId: scopes['c:read']!, patch: { name: null } }), 'REQUIRED', [
      'input',
      'patch',
      'name',
    ]);
  });
});
