import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { CreateCustomAttributeDefinitionInput, CustomAttributeType } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { makeUser } from '../helpers/fixtures.ts';
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
let other: Credentials;
let otherToken: string;

graphql(`
  fragment UsersAttributesDefinition on CustomAttributeDefinition {
    id
    key
    displayName
    type
    options
    createdAt
    updatedAt
  }
`);
const CREATE = graphql(`
  mutation UsersAttributesCreate($input: CreateCustomAttributeDefinitionInput!) {
    createCustomAttributeDefinition(input: $input) {
      customAttributeDefinition {
        ...UsersAttributesDefinition
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE = graphql(`
  mutation UsersAttributesUpdate($input: UpdateCustomAttributeDefinitionInput!) {
    updateCustomAttributeDefinition(input: $input) {
      customAttributeDefinition {
        ...UsersAttributesDefinition
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE = graphql(`
  mutation UsersAttributesDelete($input: DeleteInput!) {
    deleteCustomAttributeDefinition(input: $input) {
      deletedId
      clearedUserCount
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const LIST = graphql(`
  query UsersAttributesList {
    customAttributeDefinitions {
      ...UsersAttributesDefinition
    }
  }
`);
const NODE = graphql(`
  query UsersAttributesNode($id: ID!) {
    node(id: $id) {
      id
      ... on CustomAttributeDefinition {
        key
        type
      }
    }
  }
`);
const NODE_ID = graphql(`
  query UsersAttributesNodeId($id: ID!) {
    node(id: $id) {
      id
    }
  }
`);

async function create(input: CreateCustomAttributeDefinitionInput, token?: string) {
  return payloadOf(await server.graphql(CREATE, { input }, token));
}

async function define(key: string, type: CustomAttributeType, options?: string[]): Promise<string> {
  const payload = await create({ key, type, ...(options ? { options } : {}) });
  expect(payload.userErrors).toEqual([]);
  return payload.customAttributeDefinition!.id;
}

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  other = await server.createRealm('other-realm');
  otherToken = await server.token(other);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('createCustomAttributeDefinition', () => {
  it('defines attributes of every type, audited; options only for ENUM; the key is the default display name', async () => {
    const since = await lastAuditId(server, admin.realmId);
    const plan = await create({
      key: 'plan',
      displayName: ' Plan ',
      type: 'ENUM',
      options: [' free', 'pro ', 'enterprise'],
    });
    expect(plan.userErrors).toEqual([]);
    expect(plan.customAttributeDefinition).toMatchObject({
      key: 'plan',
      displayName: 'Plan',
      type: 'ENUM',
      options: ['free', 'pro', 'enterprise'],
    });
    expect(rawId(plan.customAttributeDefinition!.id)).toMatch(/^[0-9a-f-]{36}$/);
    for (const type of ['STRING', 'NUMBER', 'BOOLEAN', 'DATE'] as const) {
      const payload = await create({ key: `a${type}`, type });
      expect(payload.customAttributeDefinition).toMatchObject({
        key: `a${type}`,
        displayName: `a${type}`,
        type,
        options: null,
      });
    }
    const events = await auditSince(server, admin.realmId, since);
    expect(events).toHaveLength(5);
    expect([events[0]!.action, events[0]!.targetType, events[0]!.targetId, events[0]!.changes]).toEqual([
      'custom_attribute.created',
      'CustomAttributeDefinition',
      rawId(plan.customAttributeDefinition!.id),
      { key: 'plan', displayName: 'Plan', type: 'ENUM', options: ['free', 'pro', 'enterprise'] },
    ]);
  });

  it('lists definitions by key with users:read, and resolves them with node(id)', async () => {
    await define('zeta', 'STRING');
    await define('Alpha', 'NUMBER');
    const reader = await server.token(admin, 'users:read');
    const list = await server.graphql(LIST, {}, reader);
    expect(list.errors).toBeUndefined();
    const keys = list.data!.customAttributeDefinitions.map((d) => d.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(['Alpha', 'zeta']));
    const alpha = list.data!.customAttributeDefinitions.find((d) => d.key === 'Alpha')!;
    const node = await server.graphql(NODE, { id: alpha.id }, reader);
    expect(node.data).toEqual({ node: { id: alpha.id, key: 'Alpha', type: 'NUMBER' } });
    const foreign = await server.graphql(NODE_ID, { id: alpha.id }, otherToken);
    expect(foreign.data).toEqual({ node: null });
    expect((await server.graphql(LIST, {}, otherToken)).data).toEqual({ customAttributeDefinitions: [] });
    const denied = await server.graphql(LIST, {}, await server.token(admin, 'users:write'));
    expect(denied.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('keys are unique per realm ignoring case (TAKEN); another realm may use the same key', async () => {
    await define('department', 'STRING');
    for (const key of ['department', 'Department']) {
      await expectRefused(server, () => server.graphql(CREATE, { input: { key, type: 'STRING' } }), [
        { code: 'TAKEN', field: ['input', 'key'] },
      ]);
    }
    expect((await create({ key: 'department', type: 'NUMBER' }, otherToken)).userErrors).toEqual([]);
  });

  it('validates key, display name and options before anything else', async () => {
    const cases: [Partial<CreateCustomAttributeDefinitionInput>, { code: string; field: string[] }[]][] = [
      [{ key: '' }, [{ code: 'REQUIRED', field: ['input', 'key'] }]],
      [{ key: '1abc' }, [{ code: 'INVALID', field: ['input', 'key'] }]],
      [{ key: '_abc' }, [{ code: 'INVALID', field: ['input', 'key'] }]],
      [{ key: 'a-b' }, [{ code: 'INVALID', field: ['input', 'key'] }]],
      [{ key: 'a'.repeat(65) }, [{ code: 'TOO_LONG', field: ['input', 'key'] }]],
      [{ displayName: ' ' }, [{ code: 'REQUIRED', field: ['input', 'displayName'] }]],
      [{ displayName: 'n'.repeat(101) }, [{ code: 'TOO_LONG', field: ['input', 'displayName'] }]],
      [{ options: ['x'] }, [{ code: 'INVALID', field: ['input', 'options'] }]],
      [{ type: 'ENUM' }, [{ code: 'REQUIRED', field: ['input', 'options'] }]],
      [{ type: 'ENUM', options: [] }, [{ code: 'REQUIRED', field: ['input', 'options'] }]],
      [{ type: 'ENUM', options: ['a', 'b', 'a '] }, [{ code: 'INVALID', field: ['input', 'options', '2'] }]],
      [{ type: 'ENUM', options: ['a', ' '] }, [{ code: 'REQUIRED', field: ['input', 'options', '1'] }]],
      [{ type: 'ENUM', options: ['o'.repeat(101)] }, [{ code: 'TOO_LONG', field: ['input', 'options', '0'] }]],
    ];
    for (const [patch, expected] of cases) {
      await expectRefused(
        server,
        () => server.graphql(CREATE, { input: { key: 'valid_key', type: 'STRING', ...patch } }),
        expected,
      );
    }
    // Lists over their bound are refused before the resolver runs (issue 7).
    const tooMany = {
      key: 'valid_key',
      type: 'ENUM' as const,
      options: Array.from({ length: 101 }, (_, i) => `o${i}`),
    };
    const refused = await expectTopLevelError(
      server,
      () => server.graphql(CREATE, { input: tooMany }),
      'BAD_USER_INPUT',
    );
    expect(refused.errors?.[0]?.extensions?.argument).toBe('input.options');
    expect(
      (
        await create({
          key: `b${'a'.repeat(63)}`,
          type: 'ENUM',
          options: Array.from({ length: 100 }, (_, i) => `o${i}`),
        })
      ).userErrors,
    ).toEqual([]);
    await expectTopLevelError(
      server,
      () => server.graphql(CREATE, { input: { key: 'k', type: 'TEXT' as never } }),
      'BAD_USER_INPUT',
    );
  });

  it('refuses a type that values users already hold would not satisfy (INVALID_STATE naming how many)', async () => {
    await makeUser(server, admin.realmId, { customAttributes: { legacy: 'abc', score: 3 } });
    await makeUser(server, admin.realmId, {
      customAttributes: { legacy: 12 },
      status: 'DELETED',
      deletedAt: new Date(),
    });
    const refused = await expectRefused(
      server,
      () => server.graphql(CREATE, { input: { key: 'legacy', type: 'NUMBER' } }),
      [{ code: 'INVALID_STATE', field: ['input', 'type'] }],
    );
    expect(refused.userErrors[0]!.message).toContain('1 user');
    await expectRefused(
      server,
      () => server.graphql(CREATE, { input: { key: 'legacy', type: 'ENUM', options: ['abc'] } }),
      [{ code: 'INVALID_STATE', field: ['input', 'type'] }],
    );
    expect((await create({ key: 'score', type: 'NUMBER' })).userErrors).toEqual([]);
  });

  it('allows at most 200 definitions per realm (LIMIT_EXCEEDED)', async () => {
    const crowded = await server.createRealm('crowded');
    await server.db.prisma.customAttributeDefinition.createMany({
      data: Array.from({ length: 200 }, (_, i) => ({
        realmId: crowded.realmId,
        key: `k${i}`,
        displayName: `k${i}`,
        type: 'STRING' as const,
      })),
    });
    const token = await server.token(crowded);
    await expectRefused(server, () => server.graphql(CREATE, { input: { key: 'one_more', type: 'STRING' } }, token), [
      { code: 'LIMIT_EXCEEDED', field: ['input', 'key'] },
    ]);
  });

  it('needs users:write and realm:write', async () => {
    const usersWrite = await server.token(admin, 'users:write users:read');
    const result = await expectTopLevelError(
      server,
      () => server.graphql(CREATE, { input: { key: 'nope', type: 'STRING' } }, usersWrite),
      'FORBIDDEN',
    );
    expect(result.errors![0]!.extensions!.missingScopes).toEqual(['realm:write']);
    await expectTopLevelError(
      server,
      () => server.graphql(CREATE, { input: { key: 'nope', type: 'STRING' } }, null),
      'UNAUTHENTICATED',
    );
  });
});

describe('updateCustomAttributeDefinition', () => {
  it('changes the display name and audits the difference; an identical patch changes nothing', async () => {
    const id = await define('nickname_src', 'STRING');
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(UPDATE, { input: { id, patch: { displayName: 'Nickname source' } } }),
    );
    expect(payload.userErrors).toEqual([]);
    expect(payload.customAttributeDefinition).toMatchObject({
      id,
      key: 'nickname_src',
      displayName: 'Nickname source',
      type: 'STRING',
      options: null,
    });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      [
        'custom_attribute.updated',
        rawId(id),
        { key: 'nickname_src', displayName: { before: 'nickname_src', after: 'Nickname source' } },
      ],
    ]);
    const again = await lastAuditId(server, admin.realmId);
    expect(
      payloadOf(
        await server.graphql(UPDATE, { input: { id, patch: { displayName: 'Nickname source', type: 'STRING' } } }),
      ).userErrors,
    ).toEqual([]);
    expect(await auditSince(server, admin.realmId, again)).toEqual([]);
  });

  it('changes the type while no user holds a value, and refuses it (INVALID_STATE naming how many) once some do', async () => {
    const id = await define('level', 'STRING');
    expect(
      payloadOf(await server.graphql(UPDATE, { input: { id, patch: { type: 'NUMBER' } } })).customAttributeDefinition!
        .type,
    ).toBe('NUMBER');
    await makeUser(server, admin.realmId, { customAttributes: { level: 1 } });
    await makeUser(server, admin.realmId, { customAttributes: { level: 2 } });
    const refused = await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id, patch: { type: 'STRING' } } }),
      [{ code: 'INVALID_STATE', field: ['input', 'patch', 'type'] }],
    );
    expect(refused.userErrors[0]!.message).toContain('2 users');
  });

  it('ENUM options: adding is fine, dropping a value users hold is refused, switching types moves options', async () => {
    const id = await define('tier', 'ENUM', ['gold', 'silver']);
    await makeUser(server, admin.realmId, { customAttributes: { tier: 'gold' } });
    const added = payloadOf(
      await server.graphql(UPDATE, { input: { id, patch: { options: ['gold', 'silver', 'bronze'] } } }),
    );
    expect(added.customAttributeDefinition!.options).toEqual(['gold', 'silver', 'bronze']);
    expect(
      payloadOf(await server.graphql(UPDATE, { input: { id, patch: { options: ['gold', 'bronze'] } } })).userErrors,
    ).toEqual([]);
    const refused = await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id, patch: { options: ['bronze'] } } }),
      [{ code: 'INVALID_STATE', field: ['input', 'patch', 'options'] }],
    );
    expect(refused.userErrors[0]!.message).toContain('1 user');

    const flag = await define('color', 'STRING');
    await expectRefused(server, () => server.graphql(UPDATE, { input: { id: flag, patch: { type: 'ENUM' } } }), [
      { code: 'REQUIRED', field: ['input', 'patch', 'options'] },
    ]);
    expect(
      payloadOf(await server.graphql(UPDATE, { input: { id: flag, patch: { type: 'ENUM', options: ['red'] } } }))
        .customAttributeDefinition!.options,
    ).toEqual(['red']);
    const back = payloadOf(await server.graphql(UPDATE, { input: { id: flag, patch: { type: 'STRING' } } }));
    expect(back.customAttributeDefinition).toMatchObject({ type: 'STRING', options: null });
    expect(
      (await server.db.prisma.customAttributeDefinition.findUniqueOrThrow({ where: { id: rawId(flag) } })).options,
    ).toEqual([]);
    await expectRefused(server, () => server.graphql(UPDATE, { input: { id: flag, patch: { options: ['x'] } } }), [
      { code: 'INVALID', field: ['input', 'patch', 'options'] },
    ]);
  });

  it('refuses clearing, unknown and foreign ids alike, and ids of the wrong type', async () => {
    const id = await define('clearable', 'STRING');
    await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id, patch: { displayName: null, type: null } } }),
      [
        { code: 'REQUIRED', field: ['input', 'patch', 'displayName'] },
        { code: 'REQUIRED', field: ['input', 'patch', 'type'] },
      ],
    );
    const foreignId = (await create({ key: 'foreign_only', type: 'STRING' }, otherToken)).customAttributeDefinition!.id;
    const unknown = await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id: missingId('CustomAttributeDefinition'), patch: {} } }),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    const foreign = await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id: foreignId, patch: { displayName: 'x' } } }),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    expect(foreign).toEqual(unknown);
    await expectTopLevelError(
      server,
      () => server.graphql(UPDATE, { input: { id: missingId('User'), patch: {} } }),
      'BAD_USER_INPUT',
    );
  });
});

describe('deleteCustomAttributeDefinition', () => {
  it('deletes the definition and removes the key from every user in the same transaction, audited with the count', async () => {
    const id = await define('badge', 'STRING');
    const holders = [
      await makeUser(server, admin.realmId, { customAttributes: { badge: 'a', keep: 1 } }),
      await makeUser(server, admin.realmId, {
        customAttributes: { badge: 'b' },
        status: 'DELETED',
        deletedAt: new Date(),
      }),
    ];
    const bystander = await makeUser(server, admin.realmId, { customAttributes: { keep: 2 } });
    const foreign = await makeUser(server, other.realmId, { customAttributes: { badge: 'z' } });
    const since = await lastAuditId(server, admin.realmId);

    const payload = payloadOf(await server.graphql(DELETE, { input: { id } }));
    expect(payload).toEqual({ deletedId: id, clearedUserCount: 2, userErrors: [] });
    expect(await server.db.prisma.customAttributeDefinition.count({ where: { id: rawId(id) } })).toBe(0);
    const users = await server.db.prisma.user.findMany({
      where: { id: { in: [...holders, bystander, foreign].map((u) => u.id) } },
    });
    const byId = new Map(users.map((u) => [u.id, u]));
    expect(byId.get(holders[0]!.id)).toMatchObject({ customAttributes: { keep: 1 }, version: 2 });
    expect(byId.get(holders[1]!.id)).toMatchObject({ customAttributes: {}, version: 2 });
    expect(byId.get(bystander.id)).toMatchObject({ customAttributes: { keep: 2 }, version: 1 });
    expect(byId.get(foreign.id)).toMatchObject({ customAttributes: { badge: 'z' }, version: 1 });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.changes])).toEqual([
      [
        'custom_attribute.deleted',
        'CustomAttributeDefinition',
        rawId(id),
        { key: 'badge', type: 'STRING', clearedUserCount: 2 },
      ],
    ]);
  });

  it('NOT_FOUND for unknown and foreign ids (nothing changes); BAD_USER_INPUT for the wrong type; needs realm:write', async () => {
    const foreignId = (await create({ key: 'gone', type: 'STRING' }, otherToken)).customAttributeDefinition!.id;
    await makeUser(server, other.realmId, { customAttributes: { gone: 'still here' } });
    const unknown = await expectRefused(
      server,
      () => server.graphql(DELETE, { input: { id: missingId('CustomAttributeDefinition') } }),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    const foreign = await expectRefused(server, () => server.graphql(DELETE, { input: { id: foreignId } }), [
      { code: 'NOT_FOUND', field: ['input', 'id'] },
    ]);
    expect(foreign).toEqual(unknown);
    expect(unknown).toMatchObject({ deletedId: null, clearedUserCount: 0 });
    await expectTopLevelError(
      server,
      () => server.graphql(DELETE, { input: { id: encodeGlobalId('Tenant', rawId(foreignId)) } }),
      'BAD_USER_INPUT',
    );
    const id = await define('protected', 'STRING');
    const usersWrite = await server.token(admin, 'users:write');
    await expectTopLevelError(server, () => server.graphql(DELETE, { input: { id } }, usersWrite), 'FORBIDDEN');
  });
});
