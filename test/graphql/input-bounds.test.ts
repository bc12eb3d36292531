import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { schema } from '../../src/graphql/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { spyOnRootResolvers } from '../helpers/spies.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
/** Every log line the server wrote, parsed. */
const logLines: { level: number; msg?: string }[] = [];

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });
  server = await startTestServer({ log: createLogger('info', destination) });
}, 180_000);

afterAll(async () => {
  await server?.close();
});

const errorLines = () => logLines.filter((line) => line.level >= 50);
beforeEach(() => {
  logLines.length = 0;
});

/** POSTs a request body as given (for values JSON.stringify cannot nest that deep). */
async function postRaw(body: string): Promise<GraphQLResult> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${await server.token()}`,
    },
    body,
  });
  return { status: response.status, headers: response.headers, ...((await response.json()) as object) };
}

/** A BAD_USER_INPUT naming `argument` (exactly, or matching), with no data and no error logged. */
function expectBadInput(result: GraphQLResult, argument: string | RegExp | null, message?: RegExp) {
  const error = result.errors?.[0];
  expect(error?.extensions?.code, JSON.stringify(result.errors)).toBe('BAD_USER_INPUT');
  if (argument === null) expect(error?.extensions?.argument).toBeUndefined();
  else if (typeof argument === 'string') expect(error?.extensions?.argument).toBe(argument);
  else expect(error?.extensions?.argument).toMatch(argument);
  if (message) expect(error?.message).toMatch(message);
  expect(error?.message).not.toBe('Unexpected error.');
  for (const value of Object.values(result.data ?? {})) expect(value ?? null).toBeNull();
  expect(errorLines()).toEqual([]);
}

const USERS = 'query($f: UserFilter) { users(first: 5, filter: $f) { totalCount } }';
const STATS = 'query($f: UserFilter) { userStats(filter: $f) { total } }';
const DELETE_USERS = `mutation($input: DeleteUsersInput!) {
  deleteUsers(input: $input) { deletedCount userErrors { code field message } }
}`;
const CREATE_USER = `mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id } userErrors { code field message } }
}`;

const userIds = (n: number) => Array.from({ length: n }, () => encodeGlobalId('User', randomUUID()));
const nested = (depth: number, leaf: Record<string, unknown> = { emailVerified: true }) => {
  let filter: Record<string, unknown> = leaf;
  for (let i = 0; i < depth; i++) filter = { NOT: filter };
  return filter;
};

describe('filter bounds', () => {
  // The attack: AND of 20 × AND of 20 × AND of 20 searches (121 KB), within depth and list limits.
  const wide = {
    AND: Array.from({ length: 20 }, () => ({
      AND: Array.from({ length: 20 }, () => ({ AND: Array.from({ length: 20 }, (_, i) => ({ search: `term${i}` })) })),
    })),
  };

  it('refuses a wide filter in every field that takes one, before any resolver runs', async () => {
    const calls = spyOnRootResolvers();
    expectBadInput(
      await server.graphql(USERS, { f: wide }),
      /^filter\.AND\./,
      /at most (100 conditions|5 text searches)/,
    );
    expectBadInput(await server.graphql(STATS, { f: wide }), /^filter\.AND\./);
    const tenantUsers = `query($id: ID!, $f: UserFilter) { tenant(id: $id) { users(filter: $f) { totalCount } } }`;
    expectBadInput(
      await server.graphql(tenantUsers, { id: encodeGlobalId('Tenant', randomUUID()), f: wide }),
      /^filter\.AND\./,
    );
    await expectUnchanged(server, async () =>
      expectBadInput(
        await server.graphql(DELETE_USERS, { input: { filter: wide, dryRun: false } }),
        /^input\.filter\.AND\./,
      ),
    );
    expect(calls).not.toHaveBeenCalled();
  });

  it('counts conditions across the whole tree: 100 pass, 101 are refused', async () => {
    // Each nested filter and each given field counts one: 2 + 2 × 24 × 2 + 2 = 100.
    const leaves = (n: number) => Array.from({ length: n }, () => ({ emailVerified: true }));
    const filter = { AND: [{ AND: leaves(24) }, { AND: leaves(24) }], hasMfa: false, phoneVerified: false };
    const ok = await server.graphql(USERS, { f: filter });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.users.totalCount).toBe(0);
    expectBadInput(
      await server.graphql(USERS, { f: { ...filter, hasPassword: false } }),
      /^filter\.AND\.\d+/,
      /at most 100 conditions/,
    );
  });

  it('allows 5 text searches, refuses 6', async () => {
    const searches = (n: number) => ({ OR: Array.from({ length: n }, (_, i) => ({ search: `s${i}` })) });
    expect((await server.graphql(USERS, { f: searches(5) })).errors).toBeUndefined();
    expectBadInput(await server.graphql(USERS, { f: searches(6) }), /^filter\.OR\.\d\.search$/, /5 text searches/);
  });

  it('allows 500 list values in all, refuses more', async () => {
    const cities = (n: number) => Array.from({ length: n }, (_, i) => `City ${i}`);
    const lists = (n: number) => ({ OR: Array.from({ length: n }, () => ({ cities: cities(100) })) });
    expect((await server.graphql(USERS, { f: lists(5) })).errors).toBeUndefined();
    expectBadInput(await server.graphql(USERS, { f: lists(6) }), /^filter\.OR\.\d\.cities$/, /500 values/);
  });

  it('refuses nesting past 5, and a 3,000-deep NOT, as variable or literal, without a stack overflow', async () => {
    expect((await server.graphql(USERS, { f: nested(5) })).errors).toBeUndefined();
    expectBadInput(await server.graphql(USERS, { f: nested(6) }), /^filter(\.NOT){6}$/, /nest at most 5/);
    expectBadInput(await server.graphql(USERS, { f: nested(3000) }), '$f', /deeper than 64/);
    expectBadInput(await server.graphql(USERS, { f: nested(20) }), /^filter(\.NOT){6}$/);

    const literal = (depth: number) =>
      `{ users(first: 1, filter: ${'{ NOT: '.repeat(depth)}{ emailVerified: true }${' }'.repeat(depth)}) { totalCount } }`;
    expectBadInput(await server.graphql(literal(6)), /^filter(\.NOT){6}$/);
    const deep = await server.graphql(literal(3000));
    expect(deep.status).toBe(400);
    expect(deep.errors?.[0]?.message).toMatch(/token/i);
    expect(errorLines()).toEqual([]);
  });
});

describe('list arguments', () => {
  it('refuses nodes(ids:) with more than 100 ids before any resolver runs', async () => {
    const calls = spyOnRootResolvers();
    const query = 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }';
    expectBadInput(await server.graphql(query, { ids: userIds(101) }), 'ids', /at most 100 values/);
    expectBadInput(await server.graphql(query, { ids: userIds(100_000) }), 'ids');
    expect(calls).not.toHaveBeenCalled();
    const ok = await server.graphql(query, { ids: userIds(100) });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.nodes).toEqual(Array(100).fill(null));
  });

  it('counts nodes(ids:) selections once per id', async () => {
    // Per id: id 1 + roles (1 + 10 × 3) + tenants (1 + 100 × (1 + 2)) + 5 fields = 338.
    const heavy = `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on User {
      roles { id name description } tenants(first: 100) { nodes { id name } } email name phone status createdAt } } }`;
    const one = await server.graphql(heavy, { ids: userIds(1) });
    expect(one.errors).toBeUndefined();
    const many = await server.graphql(heavy, { ids: userIds(100) });
    expect(many.errors?.[0]?.extensions).toEqual({
      code: 'QUERY_TOO_COMPLEX',
      limit: 25_000,
      found: 1 + 100 + 100 * 338,
    });
  });

  const id = (type: string) => encodeGlobalId(type, randomUUID());
  const many = (n: number, make: (i: number) => unknown) => Array.from({ length: n }, (_, i) => make(i));
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['users(filter.roleIds)', USERS, { f: { roleIds: many(101, () => id('Role')) } }, 'filter.roleIds'],
    ['users(filter.tenantIds)', USERS, { f: { tenantIds: many(101, () => id('Tenant')) } }, 'filter.tenantIds'],
    [
      'users(filter.applicationIds)',
      USERS,
      { f: { applicationIds: many(101, () => id('Application')) } },
      'filter.applicationIds',
    ],
    ['users(filter.ids)', USERS, { f: { ids: userIds(101) } }, 'filter.ids'],
    [
      'users(filter.customAttributes.in)',
      USERS,
      { f: { customAttributes: [{ key: 'k', in: many(101, (i) => i) }] } },
      'filter.customAttributes.0.in',
    ],
    [
      'users(orderBy)',
      'query($o: [UserOrder!]) { users(first: 1, orderBy: $o) { totalCount } }',
      { o: many(101, () => ({ field: 'NAME', direction: 'ASC' })) },
      'orderBy',
    ],
    [
      'assignUserRoles(roleIds)',
      'mutation($input: AssignUserRolesInput!) { assignUserRoles(input: $input) { userErrors { code } } }',
      { input: { userId: id('User'), roleIds: many(101, () => id('Role')) } },
      'input.roleIds',
    ],
    [
      'createRole(scopeIds)',
      'mutation($input: CreateRoleInput!) { createRole(input: $input) { userErrors { code } } }',
      { input: { name: 'Greedy', scopeIds: many(101, () => id('ResourceScope')) } },
      'input.scopeIds',
    ],
    [
      'createUser(roleIds)',
      CREATE_USER,
      { input: { email: 'list@example.com', roleIds: many(101, () => id('Role')) } },
      'input.roleIds',
    ],
    [
      'createUsers(users)',
      'mutation($input: CreateUsersInput!) { createUsers(input: $input) { createdCount } }',
      { input: { users: many(1001, (i) => ({ email: `bulk${i}@example.com` })) } },
      'input.users',
    ],
    ['deleteUsers(ids)', DELETE_USERS, { input: { ids: userIds(1001) } }, 'input.ids'],
    [
      'bulkUpdateUsers(ids)',
      'mutation($input: BulkUpdateUsersInput!) { bulkUpdateUsers(input: $input) { changedCount } }',
      { input: { ids: userIds(10_001), action: 'SUSPEND' } },
      'input.ids',
    ],
  ];

  it.each(cases)('refuses a list over its limit: %s', async (_name, query, variables, argument) => {
    const calls = spyOnRootResolvers();
    await expectUnchanged(server, async () =>
      expectBadInput(await server.graphql(query, variables), argument, /at most \d+ values/),
    );
    expect(calls).not.toHaveBeenCalled();
  });

  /**
   * Lists allowed past 1,000 elements, each named with its bound: every element still counts one
   * in the request cost (10,000 of the 25,000 it may reach).
   */
  const LARGE_LISTS: Record<string, number> = { 'BulkUpdateUsersInput.ids': 10_000 };

  it('bounds every list argument and input field of the schema', async () => {
    // A list position added later gets the default bound of 100 unless it declares its own.
    const { isInputObjectType, isListType, getNullableType, isObjectType } = await import('graphql');
    const unbounded: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      const positions = isObjectType(type)
        ? Object.values(type.getFields()).flatMap((f) =>
            f.args.map((a) => [`${type.name}.${f.name}(${a.name})`, a] as const),
          )
        : isInputObjectType(type)
          ? Object.values(type.getFields()).map((f) => [`${type.name}.${f.name}`, f] as const)
          : [];
      for (const [name, position] of positions) {
        if (!isListType(getNullableType(position.type))) continue;
        const max = (position.extensions as { maxItems?: number }).maxItems ?? 100;
        if (max > (LARGE_LISTS[name] ?? 1000)) unbounded.push(name);
      }
    }
    expect(unbounded).toEqual([]);
  });
});

describe('global ids', () => {
  const gid = (typename: string) => encodeGlobalId(typename, randomUUID());
  const CREATE_USERS = `mutation($input: CreateUsersInput!) {
    createUsers(input: $input) { createdCount userErrors { code field message } }
  }`;

  it('refuses a wrong-type or malformed id deep in a nested input list before any resolver runs, naming its path', async () => {
    const calls = spyOnRootResolvers();
    const users = [
      { email: 'g1@example.com' },
      { email: 'g2@example.com', roleIds: [] },
      { email: 'g3@example.com', roleIds: [gid('Role'), gid('Tenant')] },
    ];
    await expectUnchanged(server, async () => {
      expectBadInput(
        await server.graphql(CREATE_USERS, { input: { users } }),
        'input.users.2.roleIds.1',
        /^input\.users\.2\.roleIds\.1 must be the ID of a Role, got the ID of a Tenant\.$/,
      );
      users[2]!.roleIds = [gid('Role'), 'not-an-id'];
      expectBadInput(
        await server.graphql(CREATE_USERS, { input: { users } }),
        'input.users.2.roleIds.1',
        /^input\.users\.2\.roleIds\.1 is not a valid ID\.$/,
      );
      expectBadInput(
        await server.graphql(DELETE_USERS, {
          input: {
            filter: { OR: [{ emailVerified: true }, { NOT: { tenantIds: [gid('Tenant'), gid('Application')] } }] },
          },
        }),
        'input.filter.OR.1.NOT.tenantIds.1',
        /must be the ID of a Tenant, got the ID of an Application\.$/,
      );
    });
    expectBadInput(
      await server.graphql(USERS, { f: { AND: [{ applicationIds: [gid('Role')] }] } }),
      'filter.AND.0.applicationIds.0',
      /must be the ID of an Application, got the ID of a Role\.$/,
    );
    expect(calls).not.toHaveBeenCalled();
  });

  it('checks the shared DeleteInput against the type its mutation deletes, before any mutation of the request runs', async () => {
    const calls = spyOnRootResolvers();
    await expectUnchanged(server, async () => {
      const result = await server.graphql(
        `mutation($role: CreateRoleInput!, $tenant: DeleteInput!, $role2: DeleteInput!) {
          createRole(input: $role) { role { id } }
          deleteTenant(input: $tenant) { deletedId }
          deleteRole(input: $role2) { deletedId }
        }`,
        { role: { name: 'Never created' }, tenant: { id: gid('Tenant') }, role2: { id: gid('Tenant') } },
      );
      expectBadInput(result, 'input.id', /^input\.id must be the ID of a Role, got the ID of a Tenant\.$/);
    });
    expect(calls).not.toHaveBeenCalled();
  });

  it('checks global ids in document literals and in arguments of nested fields', async () => {
    const calls = spyOnRootResolvers();
    expectBadInput(await server.graphql(`{ user(id: "${gid('Role')}") { id } }`), 'id', /must be the ID of a User/);
    const user = await server.graphql(
      'mutation { createUser(input: { email: "nested@example.com" }) { user { id } } }',
    );
    calls.mockClear();
    const roles = 'query($id: ID!, $t: ID) { user(id: $id) { roles(tenantId: $t) { id } } }';
    const userId = (user.data?.createUser as { user: { id: string } }).user.id;
    expectBadInput(
      await server.graphql(roles, { id: userId, t: gid('Role') }),
      'tenantId',
      /must be the ID of a Tenant/,
    );
    expect(calls).not.toHaveBeenCalled();
    const fine = await server.graphql(roles, { id: userId, t: gid('Tenant') });
    expect(fine.errors).toBeUndefined();
    expect(fine.data).toEqual({ user: { roles: [] } });
  });
});

describe('bad strings, JSON and cursors', () => {
  it('refuses NUL bytes in strings: metadata, search, a city filter, a name', async () => {
    await expectUnchanged(server, async () => {
      expectBadInput(
        await server.graphql(CREATE_USER, { input: { email: 'nul1@example.com', metadata: { note: 'a\u0000b' } } }),
        'input.metadata',
        /NUL/,
      );
      expectBadInput(
        await server.graphql(CREATE_USER, { input: { email: 'nul2@example.com', metadata: { 'k\u0000': 1 } } }),
        'input.metadata',
        /NUL/,
      );
      expectBadInput(
        await server.graphql(CREATE_USER, { input: { email: 'nul3@example.com', name: 'A\u0000' } }),
        'input.name',
      );
    });
    expectBadInput(await server.graphql(USERS, { f: { search: 'x\u0000y' } }), 'filter.search', /NUL/);
    expectBadInput(await server.graphql(USERS, { f: { cities: ['Paris', 'Lyon\u0000'] } }), 'filter.cities.1', /NUL/);
    expectBadInput(
      await server.graphql('{ users(first: 1, filter: { search: "a\\u0000" }) { totalCount } }'),
      'filter.search',
    );
  });

  it('refuses unpaired UTF-16 surrogates, accepts paired ones', async () => {
    await expectUnchanged(server, async () => {
      expectBadInput(
        await server.graphql(CREATE_USER, { input: { email: 'sur@example.com', name: 'Ann \uD800' } }),
        'input.name',
        /surrogate/,
      );
      expectBadInput(
        await server.graphql(CREATE_USER, { input: { email: 'sur@example.com', name: '\uDC00Ann' } }),
        'input.name',
      );
    });
    expectBadInput(await server.graphql(USERS, { f: { search: '\uD83D' } }), 'filter.search');
    const emoji = await server.graphql(CREATE_USER, { input: { email: 'emoji@example.com', name: 'Ann 😀' } });
    expect(emoji.errors).toBeUndefined();
    expect(emoji.data?.createUser.userErrors).toEqual([]);
  });

  it('refuses JSON 100,000 levels deep, and over 16 levels', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    await expectUnchanged(server, async () => {
      expectBadInput(
        await postRaw(
          `{"query":${JSON.stringify(CREATE_USER)},"variables":{"input":{"email":"deep@example.com","metadata":${deep}}}}`,
        ),
        '$input',
        /deeper than 64/,
      );
      let seventeen: unknown = 1;
      for (let i = 0; i < 17; i++) seventeen = { a: seventeen };
      expectBadInput(
        await server.graphql(CREATE_USER, { input: { email: 'deep@example.com', metadata: seventeen } }),
        'input.metadata',
        /deeper than 16/,
      );
      const literal = `mutation { createUser(input: { email: "deep@example.com", metadata: ${'{ a: '.repeat(17)}1${' }'.repeat(17)} }) { user { id } } }`;
      expectBadInput(await server.graphql(literal), 'input.metadata');
    });
  });

  it('refuses a forged cursor, whether its values fit their columns or not', async () => {
    // Cursors are sealed: one written by hand never opens, well-typed or not.
    const cursor = (o: string, v: unknown[]) => Buffer.from(JSON.stringify({ o, v })).toString('base64url');
    const query = 'query($c: String, $o: [UserOrder!]) { users(first: 5, after: $c, orderBy: $o) { totalCount } }';
    const byCreated = 'u."createdAt":DESC,u.id:DESC';
    const byName = '(u.name IS NULL):ASC,u.name:ASC,u.id:ASC';
    const nameOrder = [{ field: 'NAME', direction: 'ASC' }];
    const forged: [string, unknown[], unknown?][] = [
      [byCreated, ['garbage', randomUUID()]],
      [byCreated, [new Date().toISOString(), 'not-a-uuid']],
      [byName, ['yes', 'Ann', randomUUID()], nameOrder],
      [byName, [false, 'Ann\u0000', randomUUID()], nameOrder],
      [byCreated, [new Date().toISOString(), randomUUID()]],
    ];
    for (const [o, v, orderBy] of forged) {
      expectBadInput(await server.graphql(query, { c: cursor(o, v), o: orderBy }), 'after', /invalid cursor/i);
    }

    const values = 'query($c: String) { userFieldValues(field: CITY, first: 5, after: $c) { totalCount } }';
    for (const raw of ['[1e999,"x"]', '[-1,"x"]', '[1.5,"x"]', '[1,"x\\u0000"]', '[1,"\\ud800"]']) {
      expectBadInput(
        await server.graphql(values, { c: Buffer.from(raw).toString('base64url') }),
        'after',
        /invalid cursor/i,
      );
    }
  });

  it('refuses a connection cursor written by hand, even a well-formed one, in every connection', async () => {
    const pothos = (chunk: string) => Buffer.from(`GPC:${chunk}`).toString('base64');
    const connections = [
      '{ applications(first: 1, after: $c) { nodes { id } pageInfo { endCursor } } }',
      '{ auditEvents(first: 1, after: $c) { nodes { id } pageInfo { endCursor } } }',
      '{ resources(first: 1, after: $c) { nodes { id } pageInfo { endCursor } } }',
      '{ roles(first: 1, after: $c) { nodes { id } pageInfo { endCursor } } }',
      '{ tenants(first: 1, after: $c) { nodes { id } pageInfo { endCursor } } }',
      '{ roles(last: 1, before: $c) { nodes { id } pageInfo { endCursor: startCursor } } }',
    ];
    for (const selection of connections) {
      const argument = selection.includes('before') ? 'before' : 'after';
      for (const chunk of ['S:notauuid', 'S:', 'D:garbage', 'N:1e999', 'J:{"id":"x"}', 'T:[]', `S:${randomUUID()}`]) {
        expectBadInput(await server.graphql(`query($c: String) ${selection}`, { c: pothos(chunk) }), argument);
      }
      // The cursors the API returns are sealed, and page on.
      const first = await server.graphql(`query($c: String) ${selection}`, { c: null });
      expect(first.errors, selection).toBeUndefined();
      const connection = Object.values(first.data!)[0] as { pageInfo: { endCursor: string | null } };
      if (!connection.pageInfo.endCursor) continue;
      expect(connection.pageInfo.endCursor).toMatch(/^v1\./);
      const next = await server.graphql(`query($c: String) ${selection}`, { c: connection.pageInfo.endCursor });
      expect(next.errors, selection).toBeUndefined();
    }
    expect(errorLines()).toEqual([]);
  });

  it('never answers INTERNAL_SERVER_ERROR for arbitrary search and name strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), async (text) => {
        const search = await server.graphql(USERS, { f: { search: text } });
        const create = await server.graphql(CREATE_USER, {
          input: { email: `fc${randomUUID()}@example.com`, name: text },
        });
        for (const result of [search, create]) {
          for (const error of result.errors ?? []) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
        }
      }),
      { numRuns: 60 },
    );
    expect(errorLines()).toEqual([]);
  });
});
