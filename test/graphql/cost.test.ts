import { randomUUID } from 'node:crypto';
import { getIntrospectionQuery, parse, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { requestCost } from '../../src/graphql/query-cost.ts';
import { QUERY_LIMITS } from '../../src/graphql/query-limits.ts';
import { schema } from '../../src/graphql/schema.ts';
import { graphql } from '../helpers/documents.ts';
import { expectTopLevelError } from '../helpers/graphql.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';
import { spyOnRootResolvers } from '../helpers/spies.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await seedAdminScreen();
}, 180_000);

afterAll(async () => {
  await server?.close();
});

const USERS = 100;
const TENANTS_PER_USER = 7;
const SESSIONS_PER_USER = 7;

/** 100 users as an admin screen shows them: each with 2 roles, an MFA factor, 7 tenants and 7 sessions. */
async function seedAdminScreen() {
  const realmId = server.admin.realmId;
  const p = server.db.prisma;
  const roles = await Promise.all(
    ['Support', 'Billing'].map((name) => p.role.create({ data: { realmId, name }, select: { id: true } })),
  );
  const tenants = await p.tenant.createManyAndReturn({
    data: Array.from({ length: TENANTS_PER_USER }, (_, i) => ({ realmId, name: `Tenant ${i}`, slug: `tenant-${i}` })),
    select: { id: true },
  });
  const lastLogin = Date.now() - 86_400_000;
  const users = await p.user.createManyAndReturn({
    data: Array.from({ length: USERS }, (_, i) => ({
      realmId,
      email: `user${i}@example.com`,
      givenName: `Given${i}`,
      familyName: `Family${i}`,
      name: `Given${i} Family${i}`,
      lastLoginAt: new Date(lastLogin - i * 60_000),
    })),
    select: { id: true },
  });
  const each = <T>(make: (userId: string) => T[]) => users.flatMap((user) => make(user.id));
  await p.userRole.createMany({ data: each((userId) => roles.map((role) => ({ realmId, userId, roleId: role.id }))) });
  await p.tenantMembership.createMany({
    data: each((userId) => tenants.map((tenant) => ({ realmId, userId, tenantId: tenant.id }))),
  });
  await p.session.createMany({
    data: each((userId) =>
      Array.from({ length: SESSIONS_PER_USER }, (_, i) => ({
        realmId,
        userId,
        ipAddress: `192.0.2.${i + 1}`,
        userAgent: 'Mozilla/5.0',
        expiresAt: new Date(Date.now() + 86_400_000),
      })),
    ),
  });
  await p.mfaFactor.createMany({
    data: each((userId) => [{ realmId, userId, type: 'TOTP' as const, name: 'phone', secretEncrypted: 'x' }]),
  });
}

/** The users table of an admin console: a page with names, status, activity, MFA, roles, tenants and sessions. */
const ADMIN_USERS_TABLE = graphql(`
  query GraphqlCostAdminUsersTable($first: Int!, $after: String) {
    users(first: $first, after: $after, orderBy: [{ field: LAST_LOGIN_AT, direction: DESC }]) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        email
        givenName
        familyName
        name
        status
        emailVerified
        isLocked
        lastLoginAt
        createdAt
        mfaFactors {
          id
          type
        }
        roles {
          id
          name
        }
        tenants(first: 5) {
          totalCount
          nodes {
            id
            name
          }
        }
        sessions(first: 5) {
          totalCount
          nodes {
            id
            createdAt
            lastActiveAt
            ipAddress
            userAgent
          }
        }
      }
    }
  }
`);

/** A user's detail page: profile, roles with their scopes, tenants, sessions, sign-ins and audit trail. */
const ADMIN_USER_DETAIL = graphql(`
  query GraphqlCostAdminUserDetail($id: ID!) {
    user(id: $id) {
      id
      email
      username
      givenName
      familyName
      name
      phone
      status
      suspendedReason
      emailVerified
      phoneVerified
      isLocked
      lockedUntil
      lastLoginAt
      lastActiveAt
      createdAt
      updatedAt
      customAttributes
      metadata
      permissions
      mfaFactors {
        id
        type
        name
        createdAt
        lastUsedAt
      }
      roleAssignments {
        assignedAt
        role {
          id
          name
          scopes {
            id
            name
          }
        }
        tenant {
          id
          name
        }
      }
      tenants(first: 20) {
        totalCount
        nodes {
          id
          name
          slug
        }
      }
      sessions(first: 20) {
        totalCount
        nodes {
          id
          createdAt
          lastActiveAt
          expiresAt
          ipAddress
          userAgent
          device
          location
          application {
            id
            name
          }
        }
      }
      loginHistory(first: 20) {
        nodes {
          id
          at
          success
          ipAddress
          userAgent
        }
      }
      auditEvents(first: 20) {
        nodes {
          id
          action
          at
          actorId
        }
      }
      adminNotes {
        id
        body
        createdAt
      }
    }
  }
`);

/** Three nested pages of 100: a million users at worst. */
const NESTED_CONNECTIONS = graphql(`
  query GraphqlCostNestedConnections {
    users(first: 100) {
      nodes {
        tenants(first: 100) {
          nodes {
            users(first: 100) {
              nodes {
                id
                email
              }
            }
          }
        }
      }
    }
  }
`);

/** Roles → users → roles → users, each page 100 and the roles list counted as 10: ten million users at worst. */
const ROLE_FAN_OUT = graphql(`
  query GraphqlCostRoleFanOut {
    roles(first: 100) {
      nodes {
        users(first: 100) {
          nodes {
            roles {
              users(first: 100) {
                nodes {
                  id
                }
              }
            }
          }
        }
      }
    }
  }
`);

/** What `first: 5000` asks for: refused for its page size, whatever its cost. */
const HUGE_PAGE = graphql(`
  query GraphqlCostHugePage {
    users(first: 5000) {
      nodes {
        id
        email
        sessions(first: 100) {
          nodes {
            id
          }
        }
      }
    }
  }
`);

const userId = () => encodeGlobalId('User', randomUUID());

/** A mutation whose payload asks for two nested pages of 100 (10,000 users). */
const CREATE_AND_FAN_OUT = graphql(`
  mutation GraphqlCostCreateAndFanOut($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        tenants(first: 100) {
          nodes {
            users(first: 100) {
              nodes {
                id
                email
              }
            }
          }
        }
      }
      userErrors {
        code
      }
    }
  }
`);

/** A mutation whose payload asks for a page of 500. */
const CREATE_AND_HUGE_PAGE = graphql(`
  mutation GraphqlCostCreateAndHugePage($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        sessions(first: 500) {
          nodes {
            id
          }
        }
      }
      userErrors {
        code
      }
    }
  }
`);

const costOf = (document: DocumentNode | string, variables: Record<string, unknown> = {}) =>
  requestCost(schema, typeof document === 'string' ? parse(document) : document, undefined, variables);

/** A request refused as a whole with `code`, HTTP 400, before any resolver ran; returns the error. */
async function expectLimit(run: () => Promise<GraphQLResult>, code: string) {
  const calls = spyOnRootResolvers();
  const result = await run();
  expect(
    result.errors?.map((e) => e.extensions?.code),
    JSON.stringify(result.errors),
  ).toEqual([code]);
  expect(result.status).toBe(400);
  expect(result.data ?? null).toBeNull();
  expect(calls).not.toHaveBeenCalled();
  const error = result.errors![0]!;
  expect(error.message).not.toMatch(/Syntax Error/);
  expect(error.extensions).not.toHaveProperty('http');
  return error;
}

describe('admin screens fit', () => {
  it('a 100-row users table with roles, MFA, 5 tenants and 5 sessions each costs less than half the limit', async () => {
    const cost = costOf(ADMIN_USERS_TABLE, { first: 100 });
    expect(cost).toBe(11_402);
    expect(cost).toBeLessThan(QUERY_LIMITS.maxCost / 2);

    const result = await server.graphql(ADMIN_USERS_TABLE, { first: 100 });
    expect(result.errors).toBeUndefined();
    const page = result.data!.users;
    expect(page.totalCount).toBe(USERS);
    expect(page.nodes).toHaveLength(USERS);
    for (const user of page.nodes) {
      expect(user.roles).toHaveLength(2);
      expect(user.mfaFactors).toEqual([{ id: expect.any(String), type: 'TOTP' }]);
      expect(user.tenants.totalCount).toBe(TENANTS_PER_USER);
      expect(user.tenants.nodes).toHaveLength(5);
      expect(user.sessions.totalCount).toBe(SESSIONS_PER_USER);
      expect(user.sessions.nodes).toHaveLength(5);
    }
  });

  it('the same table with 10 tenants and 10 sessions a row still fits', () => {
    const wider = print10(ADMIN_USERS_TABLE);
    expect(costOf(wider, { first: 100 })).toBeLessThanOrEqual(QUERY_LIMITS.maxCost * 0.75);
  });

  it("a user's detail page fits", async () => {
    const id = (await server.graphql(ADMIN_USERS_TABLE, { first: 1 })).data!.users.nodes[0]!.id;
    expect(costOf(ADMIN_USER_DETAIL, { id })).toBeLessThan(QUERY_LIMITS.maxCost / 2);
    const result = await server.graphql(ADMIN_USER_DETAIL, { id });
    expect(result.errors).toBeUndefined();
    expect(result.data!.user!.sessions.nodes).toHaveLength(SESSIONS_PER_USER);
  });

  it("GraphiQL's introspection query fits", async () => {
    const introspection = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    });
    const result = await server.graphql(introspection);
    expect(result.errors).toBeUndefined();
    expect(result.data?.__schema.queryType.name).toBe('Query');
  });
});

/** The admin table's text with 10 tenants and 10 sessions a row. */
function print10(document: DocumentNode): string {
  const text = documentSource(document);
  return text.replace('tenants(first: 5)', 'tenants(first: 10)').replace('sessions(first: 5)', 'sessions(first: 10)');
}

const documentSource = (document: DocumentNode) => document.loc!.source.body;

describe('abusive queries are refused', () => {
  it('three nested pages of 100 (a million users): QUERY_TOO_COMPLEX', async () => {
    const error = await expectLimit(() => server.graphql(NESTED_CONNECTIONS), 'QUERY_TOO_COMPLEX');
    expect(error.extensions).toMatchObject({ limit: QUERY_LIMITS.maxCost, found: 3_020_201 });
    expect(error.message).toBe(
      'The query costs 3,020,201; the limit is 25,000. A connection costs its page size times its selection, so ask for smaller pages (`first`), fewer nested connections or fewer fields, or split the query (README, "Limits").',
    );
  });

  it('roles → users → roles → users: QUERY_TOO_COMPLEX', async () => {
    const error = await expectLimit(() => server.graphql(ROLE_FAN_OUT), 'QUERY_TOO_COMPLEX');
    expect(error.extensions?.found).toBeGreaterThan(10_000_000);
  });

  it('a fragment spread 2^20 times: QUERY_TOO_COMPLEX, without walking it all', async () => {
    const fragments = Array.from({ length: 20 }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`);
    const bomb = `query { ...F20 } fragment F0 on Query { __typename } ${fragments.join(' ')}`;
    const error = await expectLimit(() => server.graphql(bomb), 'QUERY_TOO_COMPLEX');
    expect(error.message).toMatch(/more than 10,000 selections; the limit is 10,000\./);
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 10_000 });
  });

  it('first: 5000 gets PAGE_TOO_LARGE, not the cost error', async () => {
    const error = await expectLimit(() => server.graphql(HUGE_PAGE), 'PAGE_TOO_LARGE');
    expect(error.extensions).toMatchObject({ limit: 100, found: 5000 });
    expect(error.message).toBe(
      'users(first: 5000) asks for 5,000 items; a page holds at most 100. Ask for 100 or fewer and fetch the next page with `after: pageInfo.endCursor`.',
    );
  });

  it('a mutation over a limit changes nothing', async () => {
    const input = { email: 'refused@example.com' };
    const calls = spyOnRootResolvers();
    await expectTopLevelError(server, () => server.graphql(CREATE_AND_FAN_OUT, { input }), 'QUERY_TOO_COMPLEX');
    await expectTopLevelError(server, () => server.graphql(CREATE_AND_HUGE_PAGE, { input }), 'PAGE_TOO_LARGE');
    expect(calls).not.toHaveBeenCalled();
  });

  it('nesting 21 deep: QUERY_TOO_DEEP', async () => {
    const deep = `{ ${'users(first: 1) { nodes { tenants(first: 1) { nodes { '.repeat(5)} id ${'} } } } '.repeat(5)} }`;
    const error = await expectLimit(() => server.graphql(deep), 'QUERY_TOO_DEEP');
    expect(error.extensions).toMatchObject({ limit: 8, found: 21 });
    expect(error.message).toMatch(/^The query nests fields 21 levels deep .*; the limit is 8\./);
  });

  it('circular introspection: QUERY_TOO_DEEP', async () => {
    const circular = '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }';
    const error = await expectLimit(() => server.graphql(circular), 'QUERY_TOO_DEEP');
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_DEEP', limit: 2 });
    expect(error.message).toMatch(/^The introspection query nests more than 2 of the lists/);
  });

  it('300 aliases: TOO_MANY_ALIASES; 5,000 aliases: TOO_MANY_TOKENS, the parser stopping first', async () => {
    const aliases = (count: number) =>
      `{ ${Array.from({ length: count }, (_, i) => `a${i}: viewer { clientId }`).join(' ')} }`;
    const error = await expectLimit(() => server.graphql(aliases(300)), 'TOO_MANY_ALIASES');
    expect(error.extensions).toMatchObject({ limit: 15, found: 300 });
    expect(error.message).toMatch(/^The query uses 300 aliases; the limit is 15\./);
    const tokens = await expectLimit(() => server.graphql(aliases(5000)), 'TOO_MANY_TOKENS');
    expect(tokens.extensions).toEqual({ code: 'TOO_MANY_TOKENS', limit: 2000 });
  });

  it('does not count selections skipped by @skip/@include', async () => {
    const skipped = documentSource(NESTED_CONNECTIONS).replace(
      'users(first: 100) {',
      'users(first: 100) @skip(if: $skip) {',
    );
    const query = skipped.replace('query GraphqlCostNestedConnections', 'query($skip: Boolean!)');
    expect(costOf(query, { skip: true })).toBe(0);
    expect(costOf(query, { skip: false })).toBe(3_020_201);
    expect((await server.graphql(query, { skip: true })).errors).toBeUndefined();
  });

  it('judges a repeated document by each request’s own variables', async () => {
    const query = documentSource(NESTED_CONNECTIONS)
      .replace('users(first: 100) {', 'users(first: $first) {')
      .replace('query GraphqlCostNestedConnections', 'query($first: Int!)');
    for (let round = 0; round < 3; round++) {
      expect((await server.graphql(query, { first: 0 })).errors).toBeUndefined();
      await expectLimit(() => server.graphql(query, { first: 100 }), 'QUERY_TOO_COMPLEX');
      await expectLimit(() => server.graphql(query, { first: 101 }), 'PAGE_TOO_LARGE');
    }
  });
});

describe('the cost model', () => {
  it('counts 1 a field, and a connection its page size times its selection', () => {
    expect(costOf('{ viewer { clientId scopes } }')).toBe(3);
    // 1 + 10 × (nodes 1 + id 1 + email 1)
    expect(costOf('{ users(first: 10) { nodes { id email } } }')).toBe(31);
    expect(costOf('query($n: Int) { users(first: $n) { nodes { id email } } }', { n: 10 })).toBe(31);
    expect(costOf('{ users(last: 10) { nodes { id email } } }')).toBe(31);
    // Neither first nor last: the default page of 20.
    expect(costOf('{ users { nodes { id email } } }')).toBe(61);
    // 1 + 10 × (totalCount 1 + pageInfo (1 + 1) + edges (1 + cursor 1 + node (1 + id 1)))
    expect(costOf('{ users(first: 10) { totalCount pageInfo { hasNextPage } edges { cursor node { id } } } }')).toBe(
      71,
    );
  });

  it('counts a list without page arguments as 10 items, and nodes(ids:) once per id', () => {
    // user 1 + roles (1 + 10 × (id 1 + name 1))
    expect(costOf('query($id: ID!) { user(id: $id) { roles { id name } } }', { id: userId() })).toBe(22);
    const ids = Array.from({ length: 7 }, userId);
    // 1 + 7 ids + 7 × (id 1)
    expect(costOf('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids })).toBe(15);
  });

  it('adds one per list element and filter condition of the arguments', () => {
    // 1 + 2 conditions + 10 × 2
    expect(costOf('{ users(first: 10, filter: { emailVerified: true, search: "al" }) { nodes { id } } }')).toBe(23);
    expect(costOf('{ users(first: 10, orderBy: [{ field: NAME, direction: ASC }]) { nodes { id } } }')).toBe(22);
  });

  it('counts a selection for an interface as its costliest type', () => {
    const query = 'query($id: ID!) { node(id: $id) { id ... on User { email name } ... on Role { name } } }';
    // node 1 + User's (id 1 + email 1 + name 1)
    expect(costOf(query, { id: userId() })).toBe(4);
  });

  it('counts introspection as 1', () => {
    expect(costOf('{ __schema { types { name fields { name type { name ofType { name } } } } } }')).toBe(1);
  });
});

describe('cost limit boundary', () => {
  // 1 + 100 × (nodes 1 + k) + m: 1 + 100 × 249 + 99 = 25,000.
  const query = (extra: number) =>
    `{ users(first: 100) { nodes { ${'__typename '.repeat(248)} } } ${'__typename '.repeat(extra)} }`;

  it('accepts a request costing exactly the limit and refuses one over it', async () => {
    expect(costOf(query(99))).toBe(QUERY_LIMITS.maxCost);
    const ok = await server.graphql(query(99));
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.users.nodes).toHaveLength(USERS);

    expect(costOf(query(100))).toBe(QUERY_LIMITS.maxCost + 1);
    const refused = await expectLimit(() => server.graphql(query(100)), 'QUERY_TOO_COMPLEX');
    expect(refused.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 25_000, found: 25_001 });
  });

  it('counts page sizes given as variables', async () => {
    const viaVariable = `query($n: Int!) { users(first: $n) { nodes { ${'__typename '.repeat(248)} } } ${'__typename '.repeat(100)} }`;
    expect((await server.graphql(viaVariable, { n: 99 })).errors).toBeUndefined();
    await expectLimit(() => server.graphql(viaVariable, { n: 100 }), 'QUERY_TOO_COMPLEX');
  });
});
