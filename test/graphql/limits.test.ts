import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { spyOnRootResolvers } from '../helpers/spies.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let production: TestServer;
let development: TestServer;

beforeAll(async () => {
  // Test mode last: the strict development checks are process-wide.
  [production, development] = await Promise.all([
    startTestServer({ mode: 'production' }),
    startTestServer({ mode: 'development' }),
  ]);
  server = await startTestServer();
}, 180_000);

afterAll(async () => {
  await Promise.all([server?.close(), production?.close(), development?.close()]);
});

async function post(target: TestServer, body: unknown, token?: string | null, headers: Record<string, string> = {}) {
  const auth = token === undefined ? await target.token() : token;
  const response = await fetch(`${target.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: JSON.parse(text) as Omit<GraphQLResult, 'status' | 'headers'>,
  };
}

function expectRejectedRequest(result: GraphQLResult, message: RegExp) {
  expect(result.data ?? null).toBeNull();
  expect(result.errors?.length).toBeGreaterThan(0);
  expect(result.errors!.map((e) => e.message).join('\n')).toMatch(message);
}

/** Refused as a whole with HTTP 400 and the one error `code`, never as a "Syntax Error"; returns the error. */
function expectLimit(result: GraphQLResult, code: string) {
  expect(result.status).toBe(400);
  expect(result.data ?? null).toBeNull();
  expect(
    result.errors?.map((e) => e.extensions?.code),
    JSON.stringify(result.errors),
  ).toEqual([code]);
  expect(result.errors![0]!.message).not.toMatch(/Syntax Error/);
  return result.errors![0]!;
}

/** `__type` nests arbitrarily deep: depth = 4 + ofTypes. */
const deepType = (ofTypes: number) =>
  `__type(name: "User") { fields { type { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } }`;

describe('validation limits', () => {
  it('accepts depth 8 and refuses depth 9 with QUERY_TOO_DEEP before any resolver runs', async () => {
    const calls = spyOnRootResolvers();
    const ok = await server.graphql(`{ viewer { clientId } ${deepType(4)} }`);
    expect(ok.errors).toBeUndefined();
    expect(calls).toHaveBeenCalledWith('Query.viewer');
    calls.mockClear();

    const refused = expectLimit(await server.graphql(`{ viewer { clientId } ${deepType(5)} }`), 'QUERY_TOO_DEEP');
    expect(refused.message).toBe(
      'The query nests fields 9 levels deep (fragments count where they are spread); the limit is 8. Fetch the deeper data in a second request, e.g. with node(id:).',
    );
    expect(refused.extensions).toEqual({ code: 'QUERY_TOO_DEEP', limit: 8, found: 9 });
    expect(calls).not.toHaveBeenCalled();
  });

  it('counts depth through named and inline fragments', async () => {
    const calls = spyOnRootResolvers();
    const named = `
      query { viewer { clientId } __type(name: "User") { fields { type { ...Deep } } } }
      fragment Deep on __Type { ofType { ofType { ofType { ofType { ofType { name } } } } } }`;
    expectLimit(await server.graphql(named), 'QUERY_TOO_DEEP');

    const nested = `
      query { viewer { clientId } __type(name: "User") { ...Fields } }
      fragment Fields on __Type { fields { type { ...Chain } } }
      fragment Chain on __Type { ofType { ofType { ... on __Type { ofType { ofType { ofType { name } } } } } } }`;
    expectLimit(await server.graphql(nested), 'QUERY_TOO_DEEP');
    expect(calls).not.toHaveBeenCalled();

    const eight = `
      query { __type(name: "User") { fields { type { ...Deep } } } }
      fragment Deep on __Type { ofType { ofType { ofType { ofType { name } } } } }`;
    expect((await server.graphql(eight)).errors).toBeUndefined();
  });

  it('accepts 15 aliases and refuses 16 with TOO_MANY_ALIASES before any resolver runs', async () => {
    const calls = spyOnRootResolvers();
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `v${i}: viewer { clientId }`).join(' ')} }`;
    const ok = await server.graphql(aliases(15));
    expect(ok.errors).toBeUndefined();
    expect(Object.keys(ok.data ?? {})).toHaveLength(15);
    calls.mockClear();

    const refused = expectLimit(await server.graphql(aliases(16)), 'TOO_MANY_ALIASES');
    expect(refused.message).toBe(
      'The query uses 16 aliases; the limit is 15. Send the rest in another request, or use a list field (nodes(ids:), a filter) instead of one alias per object.',
    );
    expect(refused.extensions).toEqual({ code: 'TOO_MANY_ALIASES', limit: 15, found: 16 });
    expect(calls).not.toHaveBeenCalled();
  });

  it('refuses 16 aliased mutations without changing anything', async () => {
    const before = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } });
    const audits = await server.db.prisma.auditEvent.count();
    const mutations = Array.from(
      { length: 16 },
      (_, i) =>
        `m${i}: updateRealmSettings(input: { patch: { accessTokenTtlSeconds: ${400 + i} } }) { userErrors { code } }`,
    );
    expectLimit(await server.graphql(`mutation { ${mutations.join(' ')} }`), 'TOO_MANY_ALIASES');
    expect(await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } })).toEqual(before);
    expect(await server.db.prisma.auditEvent.count()).toBe(audits);
  });

  it('accepts 50 directives and refuses 51 with TOO_MANY_DIRECTIVES', async () => {
    const calls = spyOnRootResolvers();
    const directives = (n: number) => `{ viewer { clientId } ${'__typename @include(if: true) '.repeat(n)} }`;
    expect((await server.graphql(directives(50))).errors).toBeUndefined();
    calls.mockClear();
    const refused = expectLimit(await server.graphql(directives(51)), 'TOO_MANY_DIRECTIVES');
    expect(refused.message).toMatch(/^The query uses 51 directives; the limit is 50\. /);
    expect(refused.extensions).toEqual({ code: 'TOO_MANY_DIRECTIVES', limit: 50, found: 51 });
    expect(calls).not.toHaveBeenCalled();
  });

  it('accepts 2,000 tokens and refuses 2,001 with TOO_MANY_TOKENS', async () => {
    const calls = spyOnRootResolvers();
    // `{ viewer { clientId }` and `}` are 6 tokens, `aN: __typename` 3 (distinct names: graphql's own
    // budget for comparing same-named fields stays out of the way), `__typename` 1.
    const tokens = (n: number) => {
      const aliased = Math.floor((n - 6) / 3);
      const names = Array.from({ length: aliased }, (_, i) => `a${i}: __typename`);
      return `{ viewer { clientId } ${names.join(' ')} ${'__typename '.repeat(n - 6 - 3 * aliased)}}`;
    };
    expect((await server.graphql(tokens(2000))).errors).toBeUndefined();
    calls.mockClear();
    const refused = expectLimit(await server.graphql(tokens(2001)), 'TOO_MANY_TOKENS');
    expect(refused.message).toBe(
      'The document has more than 2,000 tokens (names, punctuation and values); the limit is 2,000. Pass long values as variables, or split the query into several requests.',
    );
    expect(refused.extensions).toEqual({ code: 'TOO_MANY_TOKENS', limit: 2000 });
    expect(calls).not.toHaveBeenCalled();
  });
});

describe('page size', () => {
  const expectPageRefused = (result: GraphQLResult, field = 'users', argument = 'first', value = 101) => {
    const error = expectLimit(result, 'PAGE_TOO_LARGE');
    expect(error.message).toBe(
      `${field}(${argument}: ${value}) asks for ${value} items; a page holds at most 100. Ask for 100 or fewer and fetch the next page with \`after: pageInfo.endCursor\`.`,
    );
    expect(error.extensions).toEqual({ code: 'PAGE_TOO_LARGE', limit: 100, found: value });
  };

  it('refuses first: 101 and last: 101 with PAGE_TOO_LARGE before any resolver runs', async () => {
    const calls = spyOnRootResolvers();
    expectPageRefused(await server.graphql('{ viewer { clientId } users(first: 101) { totalCount } }'));
    expectPageRefused(await server.graphql('{ users(last: 101) { totalCount } }'), 'users', 'last');
    expectPageRefused(
      await server.graphql('{ roles(first: 1) { nodes { users(first: 101) { totalCount } } } }'),
      'users',
      'first',
    );
    expect(calls).not.toHaveBeenCalled();
  });

  it('refuses them through variables too', async () => {
    const calls = spyOnRootResolvers();
    expectPageRefused(await server.graphql('query($n: Int) { users(first: $n) { totalCount } }', { n: 101 }));
    expectPageRefused(
      await server.graphql('query($n: Int) { users(last: $n) { totalCount } }', { n: 101 }),
      'users',
      'last',
    );
    expectPageRefused(await server.graphql('query($n: Int = 101) { users(first: $n) { totalCount } }', {}));
    expect(calls).not.toHaveBeenCalled();
  });

  it('refuses a negative page size with BAD_USER_INPUT naming the argument', async () => {
    const calls = spyOnRootResolvers();
    const result = await server.graphql('{ users(first: -1) { totalCount } }');
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'first' });
    expect(result.errors?.[0]?.message).toBe('first: must be between 0 and 100 (got -1)');
    expect(calls).not.toHaveBeenCalled();
  });

  it('accepts first: 100 and last: 100', async () => {
    const calls = spyOnRootResolvers();
    for (const query of ['{ users(first: 100) { totalCount } }', '{ users(last: 100) { totalCount } }']) {
      const result = await server.graphql(query);
      expect(result.errors, query).toBeUndefined();
      expect(result.data?.users.totalCount).toBe(0);
    }
    const viaVariable = await server.graphql('query($n: Int) { users(first: $n) { totalCount } }', { n: 100 });
    expect(viaVariable.errors).toBeUndefined();
    expect(calls).toHaveBeenCalledWith('Query.users');
  });
});

describe('request shape', () => {
  it('refuses JSON-array batching', async () => {
    const calls = spyOnRootResolvers();
    const result = await post(server, [{ query: '{ viewer { clientId } }' }, { query: '{ viewer { clientId } }' }]);
    expect(result.status).toBe(400);
    expect(Array.isArray(result.json)).toBe(false);
    expect(result.json.errors?.length).toBeGreaterThan(0);
    expect(result.json.data ?? null).toBeNull();
    expect(calls).not.toHaveBeenCalled();
  });

  it('answers malformed ids and ids of another type with BAD_USER_INPUT', async () => {
    const realmId = encodeGlobalId('Realm', server.admin.realmId);
    const badIds = [
      'garbage',
      '',
      '!!!',
      '42',
      encodeGlobalId('User', 'not-a-uuid'),
      encodeGlobalId('', '0190a0a0-0000-7000-8000-000000000000'),
      realmId,
    ];
    for (const id of badIds) {
      const result = await server.graphql('query($id: ID!) { user(id: $id) { id } }', { id });
      expect(result.errors?.[0]?.extensions?.code, id).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message, id).not.toBe('Unexpected error.');
      expect(result.data?.user ?? null, id).toBeNull();
    }
    const literal = await server.graphql('{ user(id: 42) { id } }');
    expect(literal.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const calls = spyOnRootResolvers();
    for (const [query, argument] of [
      ['{ node(id: "garbage") { id } }', 'id'],
      [`{ nodes(ids: ["${realmId}", "garbage"]) { id } }`, 'ids.1'],
    ]) {
      const result = await server.graphql(query!);
      expect(result.errors?.[0]?.extensions, query).toEqual({ code: 'BAD_USER_INPUT', argument });
      expect(result.errors?.[0]?.message, query).toBe(`${argument} is not a valid ID.`);
    }
    expect(calls).not.toHaveBeenCalled();
  });

  it('answers an id variable of the wrong JSON type with 400 BAD_USER_INPUT', async () => {
    for (const id of [true, { id: 'x' }, ['x']]) {
      const result = await server.graphql('query($id: ID!) { user(id: $id) { id } }', { id });
      expect(result.status, JSON.stringify(id)).toBe(400);
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0]?.message).not.toBe('Unexpected error.');
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('answers a malformed cursor with BAD_USER_INPUT', async () => {
    for (const cursor of ['garbage', 'R1BDOg', Buffer.from('{"o":"x"}').toString('base64url')]) {
      const result = await server.graphql('query($c: String) { users(first: 5, after: $c) { totalCount } }', {
        c: cursor,
      });
      expect(result.errors?.[0]?.extensions?.code, cursor).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message, cursor).not.toBe('Unexpected error.');
    }
  });
});

describe('error masking', () => {
  it('shows a database failure as "Unexpected error." with no SQL, names or stack', async () => {
    const prisma = server.db.prisma;
    const token = await server.token();
    await prisma.$executeRawUnsafe('ALTER TABLE "Realm" RENAME COLUMN "displayName" TO "displayNameGone"');
    let result;
    try {
      result = await post(server, { query: '{ realm { id displayName } }' }, token);
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE "Realm" RENAME COLUMN "displayNameGone" TO "displayName"');
    }
    expect(result.status).toBe(200);
    expect(result.json.data ?? null).toBeNull();
    expect(result.json.errors).toHaveLength(1);
    expect(result.json.errors?.[0]?.message).toBe('Unexpected error.');
    expect(result.json.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(result.json.errors?.[0]?.path).toEqual(['realm']);
    for (const leak of [
      'displayName',
      '"Realm"',
      'Realm.',
      'does not exist',
      'SELECT',
      'prisma',
      'Prisma',
      'stack',
      '.ts:',
      '`',
      'originalError',
    ]) {
      expect(result.text, leak).not.toContain(leak);
    }
    // Service resumes once the database is sound again.
    expect((await server.graphql('{ realm { name } }', {}, token)).data?.realm.name).toBe('default');
  });
});

describe('modes', () => {
  const suggestions: [string, string, Record<string, unknown>][] = [
    ['field', '{ viewr { clientId } }', {}],
    ['argument', '{ users(frist: 5) { totalCount } }', {}],
    ['type', '{ node(id: "x") { ... on Usr { id } } }', {}],
    [
      'enum literal',
      'mutation { updateRealmSettings(input: { patch: { mfaPolicy: REQUIRD } }) { userErrors { code } } }',
      {},
    ],
    [
      'enum variable',
      'mutation($p: MfaPolicy) { updateRealmSettings(input: { patch: { mfaPolicy: $p } }) { userErrors { code } } }',
      { p: 'REQUIRD' },
    ],
    [
      'input field variable',
      'mutation($i: UpdateRealmSettingsInput!) { updateRealmSettings(input: $i) { userErrors { code } } }',
      { i: { patch: { accessTokenTtlSecond: 600 } } },
    ],
  ];

  it.each(suggestions)('suggests names in test mode (%s)', async (_kind, query, variables) => {
    const result = await server.graphql(query, variables);
    expect(result.errors?.map((e) => e.message).join('\n')).toMatch(/Did you mean/);
  });

  it.each(suggestions)('never suggests names in production mode (%s)', async (_kind, query, variables) => {
    const result = await production.graphql(query, variables);
    expect(result.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(result.errors)).not.toMatch(
      /Did you mean|REQUIRED|accessTokenTtlSeconds|"viewer"|"first"|"User"/,
    );
  });

  it.each([
    ['production', () => production],
    ['development', () => development],
    ['test', () => server],
  ])(
    'refuses introspection to anonymous callers in %s mode (401), still answering __typename',
    async (_mode, target) => {
      for (const query of [
        '{ __schema { queryType { name } } }',
        '{ __type(name: "User") { name fields { name } } }',
      ]) {
        const result = await target().graphql(query, {}, null);
        expect(result.status, query).toBe(401);
        expect(result.headers.get('www-authenticate')).toBe('Bearer');
        expectRejectedRequest(result, /^Introspection needs an access token/);
        expect(result.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      }
      const typename = await target().graphql('{ __typename }', {}, null);
      expect(typename.errors).toBeUndefined();
      expect(typename.data?.__typename).toBe('Query');
    },
  );

  it('refuses introspection with an invalid token as any request with one (401 invalid_token)', async () => {
    const result = await production.graphql('{ __schema { queryType { name } } }', {}, 'not.a.token');
    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect(result.data ?? null).toBeNull();
  });

  it('serves GET /schema.graphql to authenticated callers in production mode too', async () => {
    const get = (token?: string) =>
      fetch(`${production.url}/schema.graphql`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const authenticated = await get(await production.token(production.admin, 'audit:read'));
    expect(authenticated.status).toBe(200);
    expect(await authenticated.text()).toMatch(/^type Query \{/m);
    const anonymous = await get();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
  });

  it.each([
    ['production', () => production],
    ['test', () => server],
  ])('allows introspection to authenticated callers in %s mode, whatever their scopes', async (_mode, target) => {
    const token = await target().token(target().admin, 'audit:read');
    const result = await target().graphql(
      '{ __schema { queryType { name } } __type(name: "User") { name } }',
      {},
      token,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ __schema: { queryType: { name: 'Query' } }, __type: { name: 'User' } });
  });
});

describe('updateRealmSettings', () => {
  const UPDATE = `mutation($patch: RealmSettingsPatch!) {
    updateRealmSettings(input: { patch: $patch }) {
      realm { settings { accessTokenTtlSeconds mfaPolicy } }
      userErrors { code field message }
    }
  }`;
  const settingsAudits = () =>
    server.db.prisma.auditEvent.findMany({
      where: { realmId: server.admin.realmId, action: 'realm.settings_updated' },
    });

  it.each([299, 86_401, 0, -1])('refuses accessTokenTtlSeconds %i and changes nothing', async (ttl) => {
    const before = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } });
    const auditsBefore = (await settingsAudits()).length;
    const result = await server.graphql(UPDATE, { patch: { accessTokenTtlSeconds: ttl, mfaPolicy: 'REQUIRED' } });
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateRealmSettings.realm).toBeNull();
    expect(result.data?.updateRealmSettings.userErrors).toEqual([
      {
        code: 'INVALID',
        field: ['input', 'patch', 'accessTokenTtlSeconds'],
        message: expect.stringMatching(/300.*86400/),
      },
    ]);
    expect(await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } })).toEqual(before);
    expect(await settingsAudits()).toHaveLength(auditsBefore);
  });

  it('applies a valid change with one audit event, and later tokens carry the new lifetime', async () => {
    const auditsBefore = await settingsAudits();
    const result = await server.graphql(UPDATE, { patch: { accessTokenTtlSeconds: 900 } });
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateRealmSettings).toEqual({
      realm: { settings: { accessTokenTtlSeconds: 900, mfaPolicy: 'OPTIONAL' } },
      userErrors: [],
    });
    expect(
      (await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } })).accessTokenTtlSeconds,
    ).toBe(900);

    const audits = await settingsAudits();
    expect(audits).toHaveLength(auditsBefore.length + 1);
    const event = audits.find((a) => !auditsBefore.some((b) => b.id === a.id))!;
    expect(event).toMatchObject({
      targetType: 'Realm',
      targetId: server.admin.realmId,
      actorType: 'application',
      actorId: server.admin.clientId,
      outcome: 'success',
      changes: { accessTokenTtlSeconds: { before: 3600, after: 900 } },
    });
    expect(event.requestId).toEqual(expect.any(String));

    const response = await fetch(`${server.url}/oauth2/default/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${server.admin.clientId}:${server.admin.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(900);
    const claims = decodeJwt(body.access_token);
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('accepts the bounds 300 and 86400', async () => {
    for (const ttl of [300, 86_400]) {
      const result = await server.graphql(UPDATE, { patch: { accessTokenTtlSeconds: ttl } });
      expect(result.data?.updateRealmSettings.userErrors).toEqual([]);
      expect(result.data?.updateRealmSettings.realm.settings.accessTokenTtlSeconds).toBe(ttl);
    }
  });
});
