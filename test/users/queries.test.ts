import type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { UserFilter, UserOrder } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let realmId: string;
const DAY = 86_400_000;
const now = Date.now();

const PAGE = graphql(`
  query UsersQueriesPage(
    $first: Int
    $after: String
    $last: Int
    $before: String
    $filter: UserFilter
    $orderBy: [UserOrder!]
  ) {
    users(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          id
          email
        }
      }
      nodes {
        email
      }
    }
  }
`);
const USER_BY_EMAIL = graphql(`
  query UsersQueriesUserByEmail($email: EmailAddress!) {
    userByEmail(email: $email) {
      name
    }
  }
`);
const DELETED_BY_EMAIL = graphql(`
  query UsersQueriesDeletedByEmail {
    userByEmail(email: "deleted@example.com") {
      name
    }
  }
`);
const USER_IN_FULL = graphql(`
  query UsersQueriesUserInFull($id: ID!) {
    user(id: $id) {
      tenants {
        totalCount
        nodes {
          slug
        }
      }
      auditEvents(first: 2) {
        totalCount
        nodes {
          action
        }
      }
    }
  }
`);

type Page = ResultOf<typeof PAGE>['users'];

async function page(variables: VariablesOf<typeof PAGE>): Promise<Page> {
  const result = await server.graphql(PAGE, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.users;
}

async function emails(filter: UserFilter) {
  const result = await page({ first: 100, filter, orderBy: [{ field: 'EMAIL', direction: 'ASC' }] });
  expect(result.totalCount).toBe(result.edges.length);
  return result.edges.map((edge) => edge.node.email);
}

async function badFilter(filter: UserFilter, argumentPath?: string) {
  const result = await server.graphql(PAGE, { first: 10, filter });
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe('BAD_USER_INPUT');
  if (argumentPath) expect(result.errors?.[0]?.extensions?.argument).toBe(argumentPath);
}

type UserSeed = Omit<Prisma.UserUncheckedCreateInput, 'realmId'>;

const people: UserSeed[] = [
  {
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    username: 'ada',
    country: 'GB',
    city: 'London',
    region: 'England',
    timezone: 'Europe/London',
    locale: 'en-GB',
    gender: 'female',
    birthdate: new Date('1990-05-01'),
    emailVerified: true,
    passwordHash: 'x',
    lastLoginAt: new Date(now - 2 * DAY),
    createdAt: new Date(now - 400 * DAY),
    customAttributes: { plan: 'pro', seats: 12 },
  },
  {
    email: 'grace@example.com',
    name: 'Grace Hopper',
    username: 'grace',
    country: 'US',
    city: 'New York',
    timezone: 'America/New_York',
    gender: 'female',
    birthdate: new Date('1960-12-09'),
    emailVerified: true,
    phone: '+15551234567',
    phoneVerified: true,
    createdAt: new Date(now - 3 * DAY),
    customAttributes: { plan: 'enterprise', seats: 250 },
  },
  {
    email: 'alan@example.com',
    name: 'Alan Turing',
    username: 'alan',
    country: 'GB',
    city: 'Manchester',
    status: 'SUSPENDED',
    suspendedReason: 'test',
    createdAt: new Date(now - 40 * DAY),
    lastLoginAt: new Date(now - 39 * DAY),
    failedLoginAttempts: 4,
    lockedUntil: new Date(now + DAY),
    customAttributes: { plan: 'free' },
  },
  {
    email: 'linus@example.com',
    name: 'Linus Torvalds',
    country: 'FI',
    status: 'INACTIVE',
    createdAt: new Date(now - 10 * DAY),
    picture: 'https://example.com/l.png',
    bio: 'Kernel.',
  },
  { email: 'margaret@example.com', name: 'Margaret Hamilton', status: 'INVITED', createdAt: new Date(now - 1 * DAY) },
  {
    email: 'deleted@example.com',
    name: 'Gone Person',
    status: 'DELETED',
    deletedAt: new Date(now - DAY),
    createdAt: new Date(now - 50 * DAY),
  },
];

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  const p = server.db.prisma;
  for (const person of people) await p.user.create({ data: { realmId, ...person } });
  const ada = await p.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
  const grace = await p.user.findFirstOrThrow({ where: { email: 'grace@example.com' } });
  await p.identity.create({ data: { realmId, userId: ada.id, provider: 'google', providerUserId: 'g-1' } });
  await p.mfaFactor.create({ data: { realmId, userId: grace.id, type: 'TOTP' } });
  await p.mfaFactor.create({ data: { realmId, userId: ada.id, type: 'WEBAUTHN' } });
  await p.customAttributeDefinition.createMany({
    data: [
      { realmId, key: 'plan', displayName: 'Plan', type: 'ENUM', options: ['free', 'pro', 'enterprise'] },
      { realmId, key: 'seats', displayName: 'Seats', type: 'NUMBER' },
    ],
  });
  // Another realm's users must never show up.
  const other = await server.createRealm('other');
  await p.user.create({ data: { realmId: other.realmId, email: 'ada@elsewhere.com', name: 'Ada Lovelace' } });
});

afterAll(() => server?.close());

describe('users filters', () => {
  it('excludes deleted users unless asked, and other realms always', async () => {
    expect(await emails({})).toHaveLength(5);
    expect(await emails({ includeDeleted: true })).toContain('deleted@example.com');
    expect(await emails({ search: 'ada' })).toEqual(['ada@example.com']);
  });

  it('searches case-insensitively across name, email, username and phone, tolerating typos', async () => {
    expect(await emails({ search: 'HOPPER' })).toEqual(['grace@example.com']);
    expect(await emails({ search: 'grac' })).toEqual(['grace@example.com']);
    expect(await emails({ search: '555123' })).toEqual(['grace@example.com']);
    expect(await emails({ search: 'Torvlads' })).toEqual(['linus@example.com']);
    expect(await emails({ search: 'Lovlace' })).toEqual(['ada@example.com']);
    expect(await emails({ search: '%' })).toEqual([]);
  });

  it('finds a user by exact id, raw or global', async () => {
    const ada = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
    expect(await emails({ search: ada.id })).toEqual(['ada@example.com']);
    expect(await emails({ search: encodeGlobalId('User', ada.id) })).toEqual(['ada@example.com']);
    expect(await emails({ ids: [encodeGlobalId('User', ada.id)] })).toEqual(['ada@example.com']);
  });

  it('filters by status, suspension, verification, credentials and MFA', async () => {
    expect(await emails({ statuses: ['INACTIVE', 'INVITED'] })).toEqual(['linus@example.com', 'margaret@example.com']);
    expect(await emails({ isSuspended: true })).toEqual(['alan@example.com']);
    expect(await emails({ phoneVerified: true })).toEqual(['grace@example.com']);
    expect(await emails({ emailVerified: true })).toEqual(['ada@example.com', 'grace@example.com']);
    expect(await emails({ hasPassword: true })).toEqual(['ada@example.com']);
    expect(await emails({ hasMfa: true })).toEqual(['ada@example.com', 'grace@example.com']);
    expect(await emails({ mfaTypes: ['TOTP'] })).toEqual(['grace@example.com']);
    expect(await emails({ hasOAuth: true })).toEqual(['ada@example.com']);
    expect(await emails({ oauthProviders: ['Google'] })).toEqual(['ada@example.com']);
    expect(await emails({ authMethods: ['PASSKEY'] })).toEqual(['ada@example.com']);
    expect(await emails({ authMethods: ['PHONE'] })).toEqual(['grace@example.com']);
    expect(await emails({ isLocked: true })).toEqual(['alan@example.com']);
    expect(await emails({ failedLoginAttemptsMin: 3 })).toEqual(['alan@example.com']);
  });

  it('filters by profile and location', async () => {
    expect(await emails({ countries: ['GB'] })).toEqual(['ada@example.com', 'alan@example.com']);
    expect(await emails({ cities: ['london'] })).toEqual(['ada@example.com']);
    expect(await emails({ regions: ['ENGLAND'] })).toEqual(['ada@example.com']);
    expect(await emails({ timezones: ['America/New_York'] })).toEqual(['grace@example.com']);
    expect(await emails({ genders: ['Female'] })).toEqual(['ada@example.com', 'grace@example.com']);
    expect(await emails({ hasPicture: true, hasBio: true })).toEqual(['linus@example.com']);
    expect(await emails({ hasLocation: false })).toEqual(['margaret@example.com']);
    expect(await emails({ ageMin: 50 })).toEqual(['grace@example.com']);
    expect(await emails({ ageMin: 20, ageMax: 50 })).toEqual(['ada@example.com']);
  });

  it('judges profile completeness by the realm’s required fields', async () => {
    await server.db.prisma.realm.update({
      where: { id: realmId },
      data: { requiredProfileFields: ['NAME', 'COUNTRY'] },
    });
    expect(await emails({ profileComplete: true })).toEqual([
      'ada@example.com',
      'alan@example.com',
      'grace@example.com',
      'linus@example.com',
    ]);
    expect(await emails({ profileComplete: false })).toEqual(['margaret@example.com']);
    await server.db.prisma.realm.update({ where: { id: realmId }, data: { requiredProfileFields: [] } });
  });

  it('filters by time windows', async () => {
    expect(await emails({ createdInLastDays: 5 })).toEqual(['grace@example.com', 'margaret@example.com']);
    expect(
      await emails({
        createdAfter: new Date(now - 20 * DAY).toISOString(),
        createdBefore: new Date(now - 2 * DAY).toISOString(),
      }),
    ).toEqual(['grace@example.com', 'linus@example.com']);
    expect(await emails({ activeInLastDays: 7 })).toEqual(['ada@example.com']);
    expect(await emails({ neverLoggedIn: true })).toEqual([
      'grace@example.com',
      'linus@example.com',
      'margaret@example.com',
    ]);
    expect(await emails({ inactiveForDays: 30 })).toEqual(['alan@example.com']);
    expect(await emails({ lastLoginBefore: new Date(now - 7 * DAY).toISOString() })).toEqual(['alan@example.com']);
  });

  it('filters by typed custom attributes', async () => {
    expect(await emails({ customAttributes: [{ key: 'plan', equals: 'pro' }] })).toEqual(['ada@example.com']);
    expect(await emails({ customAttributes: [{ key: 'plan', in: ['pro', 'free'] }] })).toEqual([
      'ada@example.com',
      'alan@example.com',
    ]);
    expect(await emails({ customAttributes: [{ key: 'seats', gte: 12, lt: 250 }] })).toEqual(['ada@example.com']);
    expect(await emails({ customAttributes: [{ key: 'seats', exists: false }] })).toEqual([
      'alan@example.com',
      'linus@example.com',
      'margaret@example.com',
    ]);
  });

  it('combines filters with AND, OR and NOT', async () => {
    expect(await emails({ OR: [{ countries: ['FI'] }, { statuses: ['INVITED'] }] })).toEqual([
      'linus@example.com',
      'margaret@example.com',
    ]);
    expect(await emails({ countries: ['GB'], NOT: { isSuspended: true } })).toEqual(['ada@example.com']);
    expect(
      await emails({ AND: [{ emailVerified: true }, { OR: [{ hasMfa: false }, { countries: ['US'] }] }] }),
    ).toEqual(['grace@example.com']);
  });

  it('refuses contradictory, out-of-range and unknown values with BAD_USER_INPUT', async () => {
    await badFilter({ ageMin: 50, ageMax: 20 }, 'filter.ageMin');
    await badFilter({ ageMin: -1 }, 'filter.ageMin');
    await badFilter({ createdInLastDays: -3 }, 'filter.createdInLastDays');
    await badFilter({ failedLoginAttemptsMin: 5, failedLoginAttemptsMax: 1 }, 'filter.failedLoginAttemptsMin');
    await badFilter(
      { createdAfter: new Date(now).toISOString(), createdBefore: new Date(now - DAY).toISOString() },
      'filter.createdAfter',
    );
    await badFilter({ activeInLastDays: 5, inactiveForDays: 10 }, 'filter.inactiveForDays');
    await badFilter({ customAttributes: [{ key: 'nope', equals: 1 }] }, 'filter.customAttributes.0.key');
    await badFilter({ customAttributes: [{ key: 'seats', gt: 'many' }] }, 'filter.customAttributes.0.gt');
    await badFilter({ roleIds: [encodeGlobalId('User', '0190a0a0-0000-7000-8000-000000000000')] }, 'filter.roleIds.0');
    await badFilter({ search: 'x'.repeat(201) }, 'filter.search');
    await badFilter({ NOT: { NOT: { NOT: { NOT: { NOT: { NOT: { NOT: { search: 'a' } } } } } } } });
    const wrongScalar = await server.graphql(PAGE, { first: 1, filter: { countries: ['XX'] } });
    expect(wrongScalar.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('users pagination', () => {
  const orders: UserOrder[][] = [
    [{ field: 'CREATED_AT', direction: 'DESC' }],
    [{ field: 'NAME', direction: 'ASC' }],
    [{ field: 'NAME', direction: 'DESC' }],
    [{ field: 'LAST_LOGIN_AT', direction: 'DESC' }],
    [{ field: 'LAST_LOGIN_AT', direction: 'ASC' }],
    [
      { field: 'LAST_LOGIN_AT', direction: 'ASC' },
      { field: 'NAME', direction: 'DESC' },
    ],
    [
      { field: 'STATUS', direction: 'ASC' },
      { field: 'EMAIL', direction: 'DESC' },
    ],
  ];

  it.each(orders)('walks every page forward and backward under %j', async (...orderBy) => {
    const all = (await page({ first: 100, orderBy, filter: { includeDeleted: true } })).edges.map((e) => e.node.email);
    expect(all).toHaveLength(6);
    const forward: (string | null)[] = [];
    let after: string | null = null;
    for (;;) {
      const p: Page = await page({ first: 2, after, orderBy, filter: { includeDeleted: true } });
      expect(p.totalCount).toBe(6);
      forward.push(...p.edges.map((e) => e.node.email));
      expect(p.nodes.map((n) => n.email)).toEqual(p.edges.map((e) => e.node.email));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(forward).toEqual(all);
    const backward: (string | null)[] = [];
    let before: string | null = null;
    for (;;) {
      const p: Page = await page({ last: 2, before, orderBy, filter: { includeDeleted: true } });
      backward.unshift(...p.edges.map((e) => e.node.email));
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor;
    }
    expect(backward).toEqual(all);
  });

  it('orders missing values last in both directions', async () => {
    const asc = (await page({ first: 10, orderBy: [{ field: 'LAST_LOGIN_AT', direction: 'ASC' }] })).edges.map(
      (e) => e.node.email,
    );
    expect(asc.slice(0, 2)).toEqual(['alan@example.com', 'ada@example.com']);
  });

  it('refuses foreign cursors, first with last, and pages over 100', async () => {
    const p = await page({ first: 1, orderBy: [{ field: 'NAME', direction: 'ASC' }] });
    const other = await server.graphql(PAGE, {
      first: 1,
      after: p.pageInfo.endCursor,
      orderBy: [{ field: 'EMAIL', direction: 'ASC' }],
    });
    expect(other.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const garbage = await server.graphql(PAGE, { first: 1, after: 'not-a-cursor' });
    expect(garbage.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const both = await server.graphql(PAGE, { first: 1, last: 1 });
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const big = await server.graphql(PAGE, { first: 101 });
    expect(big.errors?.[0]?.extensions?.code).toBe('PAGE_TOO_LARGE');
  });

  it('hands out opaque cursors: no SQL or values to read, none to forge, none valid in another realm', async () => {
    const p = await page({ first: 1, orderBy: [{ field: 'EMAIL', direction: 'ASC' }] });
    const cursor = p.pageInfo.endCursor!;
    const readable = cursor
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join(' ');
    expect(readable).not.toMatch(/email|"o"|ASC|@example/i);
    const next = await page({ first: 1, after: cursor, orderBy: [{ field: 'EMAIL', direction: 'ASC' }] });
    expect(next.edges).toHaveLength(1);
    const flipped = cursor.slice(0, -2) + (cursor.at(-2) === 'A' ? 'B' : 'A') + cursor.at(-1);
    const forged = await server.graphql(PAGE, {
      first: 1,
      after: flipped,
      orderBy: [{ field: 'EMAIL', direction: 'ASC' }],
    });
    expect(forged.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const other = await server.createRealm('cursor-other');
    const elsewhere = await server.graphql(
      PAGE,
      { first: 1, after: cursor, orderBy: [{ field: 'EMAIL', direction: 'ASC' }] },
      await server.token(other),
    );
    expect(elsewhere.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('finds a user by email ignoring case', async () => {
    const result = await server.graphql(USER_BY_EMAIL, { email: 'ADA@Example.com' });
    expect(result.data?.userByEmail?.name).toBe('Ada Lovelace');
    const deleted = await server.graphql(DELETED_BY_EMAIL);
    expect(deleted.data?.userByEmail).toBeNull();
  });
});

describe('one user in full', () => {
  it('shows tenants and the audit trail of the user', async () => {
    const p = server.db.prisma;
    const ada = await p.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
    const tenant = await p.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } });
    await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: ada.id } });
    await p.auditEvent.createMany({
      data: [1, 2, 3].map((n) => ({
        realmId,
        action: `user.test_${n}`,
        actorType: 'system',
        actorId: 'system',
        targetType: 'User',
        targetId: ada.id,
        at: new Date(now + n * 1000),
      })),
    });
    const result = await server.graphql(USER_IN_FULL, { id: encodeGlobalId('User', ada.id) });
    expect(result.errors).toBeUndefined();
    expect(result.data?.user?.tenants).toEqual({ totalCount: 1, nodes: [{ slug: 'acme' }] });
    expect(result.data?.user?.auditEvents).toEqual({
      totalCount: 3,
      nodes: [{ action: 'user.test_3' }, { action: 'user.test_2' }],
    });
  });
});

const CREATE_USER = graphql(`
  mutation UsersQueriesCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
      }
      userErrors {
        code
      }
    }
  }
`);
const UPDATE_USER = graphql(`
  mutation UsersQueriesUpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);

describe('users search', () => {
  // A realm of its own, its users created and changed through the API.
  let token: string;
  let aliceId: string;

  async function found(search: string): Promise<(string | null)[]> {
    const result = await server.graphql(
      PAGE,
      { first: 100, filter: { search }, orderBy: [{ field: 'EMAIL', direction: 'ASC' }] },
      token,
    );
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    return result.data!.users.edges.map((edge) => edge.node.email);
  }

  beforeAll(async () => {
    token = await server.token(await server.createRealm('search'));
    const inputs = [
      { email: 'a.l@example.com', givenName: 'Alice', familyName: 'Lister' },
      { email: 'c.s@example.com', name: 'Chris Sommer', givenName: 'Christopher', familyName: 'Sommer' },
      { email: 'e.w@example.com', name: 'Edsger Dijkstra', username: 'ewd', uniqueId: 'EMP-0042' },
    ];
    const ids: string[] = [];
    for (const input of inputs) {
      const result = await server.graphql(CREATE_USER, { input }, token);
      expect(result.data?.createUser.userErrors).toEqual([]);
      ids.push(result.data!.createUser.user!.id);
    }
    aliceId = ids[0]!;
  });

  it('covers given and family names, also when the name holds neither', async () => {
    expect(await found('alice')).toEqual(['a.l@example.com']);
    expect(await found('LISTER')).toEqual(['a.l@example.com']);
    expect(await found('christopher')).toEqual(['c.s@example.com']);
    expect(await found('Alice Lister')).toEqual(['a.l@example.com']);
  });

  it('tolerates one wrong, missing, extra or swapped letter in a name', async () => {
    expect(await found('alise')).toEqual(['a.l@example.com']);
    expect(await found('Lsiter')).toEqual(['a.l@example.com']);
    expect(await found('Litser')).toEqual(['a.l@example.com']);
    expect(await found('Dijsktra')).toEqual(['e.w@example.com']);
    expect(await found('Somer')).toEqual(['c.s@example.com']);
    expect(await found('Sommmer')).toEqual(['c.s@example.com']);
    expect(await found('Xyzzy')).toEqual([]);
  });

  it('matches a substring within one field, not across two', async () => {
    expect(await found('emp-00')).toEqual(['e.w@example.com']);
    expect(await found('EWD')).toEqual(['e.w@example.com']);
    // The username ends in "ewd" and the unique id starts with "EMP": never one string.
    expect(await found('ewdemp')).toEqual([]);
    expect(await found('e.w@')).toEqual(['e.w@example.com']);
    expect(await found('_')).toEqual([]);
  });

  it('follows a change of name at once', async () => {
    const result = await server.graphql(
      UPDATE_USER,
      { input: { id: aliceId, patch: { familyName: 'Liddell' } } },
      token,
    );
    expect(result.data?.updateUser.userErrors).toEqual([]);
    expect(await found('lister')).toEqual([]);
    expect(await found('Lidell')).toEqual(['a.l@example.com']);
  });
});
