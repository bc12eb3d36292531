import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_USERS_PAGE, documentText, graphql } from '../helpers/documents.ts';
import { userGid } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The admin list requests of the side-by-side benchmark (q1, q2), answered over fixed data: their
// bytes must not change when the way the page is loaded does (ordering, nulls, date formats).
const ACTIVE_USERS = graphql(`
  query ListAnswersActiveUsers($first: Int!) {
    users(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }], filter: { statuses: [ACTIVE] }) {
      totalCount
      nodes {
        id
        email
        name
        username
        status
        createdAt
        lastLoginAt
      }
    }
  }
`);
const WITH_PASSWORD_STATE = graphql(`
  query ListAnswersPasswordState {
    users(first: 10) {
      nodes {
        id
        hasPassword
        customAttributes
      }
    }
  }
`);

const ID = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, '0')}`;
const FUTURE = new Date('2100-01-01T00:00:00.000Z');

let server: TestServer;
let token: string;

/** The raw body of a GraphQL response. */
async function body(document: Parameters<typeof documentText>[0], variables: Record<string, unknown>) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: documentText(document), variables }),
  });
  expect(response.status).toBe(200);
  return response.text();
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token();
  const realmId = server.admin.realmId;
  const p = server.db.prisma;
  const tenant = await p.tenant.create({ data: { id: ID(900), realmId, name: 'Acme', slug: 'acme' } });
  const support = await p.role.create({ data: { id: ID(901), realmId, name: 'Support' } });
  const auditor = await p.role.create({ data: { id: ID(902), realmId, name: 'Auditor' } });
  const users = [
    {
      id: ID(1),
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      username: 'ada',
      createdAt: new Date('2026-03-01T10:00:00.123Z'),
      lastLoginAt: new Date('2026-03-02T08:09:10.500Z'),
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
      customAttributes: { note: 'x'.repeat(2000) },
    },
    // Same creation time as Ada: the tie is broken by id (descending, like the ordering).
    {
      id: ID(2),
      email: null,
      name: null,
      username: null,
      status: 'SUSPENDED' as const,
      createdAt: new Date('2026-03-01T10:00:00.123Z'),
    },
    {
      id: ID(3),
      email: 'gone@example.com',
      name: 'Gone',
      createdAt: new Date('2026-02-01T00:00:00.000Z'),
      deletedAt: new Date('2026-02-02T00:00:00.000Z'),
    },
    {
      id: ID(4),
      email: 'old@example.com',
      name: 'Old Timer',
      username: 'old',
      createdAt: new Date('2025-12-31T23:59:59.999Z'),
    },
  ];
  for (const user of users) await p.user.create({ data: { ...user, realmId } });
  await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: ID(1) } });
  await p.userRole.createMany({
    data: [
      { id: ID(101), realmId, userId: ID(1), roleId: support.id },
      { id: ID(102), realmId, userId: ID(1), roleId: support.id, tenantId: tenant.id },
      { id: ID(103), realmId, userId: ID(1), roleId: auditor.id },
      { id: ID(104), realmId, userId: ID(3), roleId: auditor.id },
    ],
  });
  await p.session.createMany({
    data: [
      { id: ID(201), realmId, userId: ID(1), expiresAt: FUTURE, ipAddress: '192.0.2.1', userAgent: 'Firefox' },
      { id: ID(202), realmId, userId: ID(1), expiresAt: FUTURE, ipAddress: '2001:db8::1', userAgent: null },
      { id: ID(203), realmId, userId: ID(1), expiresAt: FUTURE, revokedAt: new Date(), ipAddress: '192.0.2.9' },
      { id: ID(204), realmId, userId: ID(1), expiresAt: new Date('2020-01-01T00:00:00.000Z'), ipAddress: '192.0.2.8' },
      { id: ID(205), realmId, userId: ID(4), expiresAt: FUTURE, ipAddress: null, userAgent: 'curl' },
    ],
  });
  await p.identity.create({
    data: {
      realmId,
      userId: ID(1),
      provider: 'github',
      providerUserId: '42',
      email: 'ada@github.example',
      profile: {},
    },
  });
  await p.mfaFactor.create({ data: { realmId, userId: ID(1), type: 'TOTP', name: 'phone', secretEncrypted: 'x' } });
  await p.adminNote.createMany({
    data: [
      { realmId, userId: ID(1), body: 'Called about billing', author: 'user:x', createdAt: new Date('2026-03-03') },
      { realmId, userId: ID(1), body: 'Asked for an export', author: 'user:x', createdAt: new Date('2026-03-04') },
    ],
  });
  await p.loginEvent.createMany({
    data: [1, 2, 3].map((n) => ({
      id: ID(300 + n),
      realmId,
      userId: ID(1),
      success: n !== 2,
      method: 'password',
      failureReason: n === 2 ? 'bad_password' : null,
    })),
  });
}, 60_000);

afterAll(() => server?.close());

/** A GraphQL request's parsed answer, from a document given as text. */
async function answer(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

describe('admin list answers', () => {
  it('a page whose nodes ask for relations answers for each user what reading that user alone answers', async () => {
    // The page reads these relations in its own statement (compiled to SQL); a single user is read
    // through the Prisma client: both must answer alike, for every user, on every call.
    const selection = `
      id email name status createdAt lastLoginAt
      roles { name }
      roleAssignments { assignedAt role { name } tenant { name slug } }
      sessions { totalCount nodes { id ipAddress userAgent } }
      allSessions: sessions(activeOnly: false, first: 2) { totalCount pageInfo { hasNextPage } nodes { ipAddress } }
      identities { provider providerUserId email }
      mfaFactors { type name }
      tenants { totalCount nodes { name } }
      loginHistory(first: 2) { totalCount nodes { id success method failureReason } }
      adminNotes { body }`;
    const page = await answer(`{ users(first: 10, filter: { includeDeleted: true }) { nodes { ${selection} } } }`);
    const nodes = (page.users as { nodes: { id: string }[] }).nodes;
    expect(nodes.map((node) => node.id)).toEqual([ID(2), ID(1), ID(3), ID(4)].map(userGid));
    for (const node of nodes) {
      const alone = await answer(`query One($id: ID!) { user(id: $id) { ${selection} } }`, { id: node.id });
      expect(node, node.id).toEqual(alone.user);
    }
    // Without two fields asking for one relation with different arguments (roles beside
    // roleAssignments, a second sessions), which Pothos loads apart, the page is one statement.
    const { count: floor } = await server.db.statements.during(() => answer('{ __typename }'));
    const single = selection.replace('roles { name }', '').replace(/allSessions: .*\n/, '');
    const { count, sql: sqls } = await server.db.statements.during(() =>
      answer(`{ users(first: 10, filter: { includeDeleted: true }) { nodes { ${single} } } }`),
    );
    expect(count - floor, sqls.join('\n----\n')).toBe(1);
    const ada = nodes[1] as unknown as Record<string, { totalCount?: number; nodes?: unknown[] } & unknown[]>;
    expect(ada.allSessions).toMatchObject({ totalCount: 4, pageInfo: { hasNextPage: true } });
    expect(ada.loginHistory!.totalCount).toBe(3);
    expect(ada.adminNotes).toHaveLength(2);
  });

  it('q1: a page with role names and active sessions, byte for byte', async () => {
    const ada = {
      id: userGid(ID(1)),
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      username: 'ada',
      status: 'ACTIVE',
      createdAt: '2026-03-01T10:00:00.123Z',
      roles: [{ name: 'Support' }, { name: 'Auditor' }],
      sessions: {
        nodes: [
          { ipAddress: '2001:db8::1', userAgent: null },
          { ipAddress: '192.0.2.1', userAgent: 'Firefox' },
        ],
      },
    };
    const nameless = {
      id: userGid(ID(2)),
      email: null,
      name: null,
      username: null,
      status: 'SUSPENDED',
      createdAt: '2026-03-01T10:00:00.123Z',
      roles: [],
      sessions: { nodes: [] },
    };
    const gone = {
      id: userGid(ID(3)),
      email: 'gone@example.com',
      name: 'Gone',
      username: null,
      status: 'ACTIVE',
      createdAt: '2026-02-01T00:00:00.000Z',
      roles: [{ name: 'Auditor' }],
      sessions: { nodes: [] },
    };
    const old = {
      id: userGid(ID(4)),
      email: 'old@example.com',
      name: 'Old Timer',
      username: 'old',
      status: 'ACTIVE',
      createdAt: '2025-12-31T23:59:59.999Z',
      roles: [],
      sessions: { nodes: [{ ipAddress: null, userAgent: 'curl' }] },
    };
    expect(await body(ADMIN_USERS_PAGE, { first: 50 })).toBe(
      JSON.stringify({ data: { users: { totalCount: 4, nodes: [nameless, ada, gone, old] } } }),
    );
    expect(await body(ADMIN_USERS_PAGE, { first: 1 })).toBe(
      JSON.stringify({ data: { users: { totalCount: 4, nodes: [nameless] } } }),
    );
  });

  it('q2: a page of active users, byte for byte', async () => {
    expect(await body(ACTIVE_USERS, { first: 50 })).toBe(
      JSON.stringify({
        data: {
          users: {
            totalCount: 2,
            nodes: [
              {
                id: userGid(ID(1)),
                email: 'ada@example.com',
                name: 'Ada Lovelace',
                username: 'ada',
                status: 'ACTIVE',
                createdAt: '2026-03-01T10:00:00.123Z',
                lastLoginAt: '2026-03-02T08:09:10.500Z',
              },
              {
                id: userGid(ID(4)),
                email: 'old@example.com',
                name: 'Old Timer',
                username: 'old',
                status: 'ACTIVE',
                createdAt: '2025-12-31T23:59:59.999Z',
                lastLoginAt: null,
              },
            ],
          },
        },
      }),
    );
  });

  it('reads only the columns a page asks for', async () => {
    const { result, sql } = await server.db.statements.during(() => server.graphql(ADMIN_USERS_PAGE, { first: 50 }));
    expect(result.errors).toBeUndefined();
    const users = sql.filter((statement) => /FROM "public"\."User"|FROM "User"/.test(statement));
    expect(users.length).toBeGreaterThan(0);
    for (const statement of sql) {
      expect(statement).not.toContain('passwordHash');
      expect(statement).not.toContain('customAttributes');
      expect(statement).not.toContain('metadata');
    }
  });

  it('reads the password hash and wide JSON only when asked, and answers from them', async () => {
    const { result, sql } = await server.db.statements.during(() => server.graphql(WITH_PASSWORD_STATE));
    expect(result.errors).toBeUndefined();
    expect(sql.some((statement) => statement.includes('passwordHash'))).toBe(true);
    const ada = result.data!.users.nodes.find((node) => node.id === userGid(ID(1)));
    expect(ada).toEqual({ id: userGid(ID(1)), hasPassword: true, customAttributes: { note: 'x'.repeat(2000) } });
    const old = result.data!.users.nodes.find((node) => node.id === userGid(ID(4)));
    expect(old).toEqual({ id: userGid(ID(4)), hasPassword: false, customAttributes: {} });
  });
});
