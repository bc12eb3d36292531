/**
 * userOverview and userBreakdown through the real stack: period-over-period figures rebuilt at
 * the end of past periods, breakdowns by every dimension with filters, refusals, and the SQL
 * statements they take. Session activity is noted by the runtime's own service functions, at
 * chosen times (only `Date` is faked, and only while they run).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { liveProviderSession, openSession } from '../../src/modules/users/users.signin.ts';
import { graphql } from '../helpers/documents.ts';
import { expectErrorCode } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { at } from '../helpers/clock.ts';

let server: TestServer;
let realmId: string;
const ids: Record<string, string> = {};

const OVERVIEW = graphql(`
  query UsersOverviewFigures($period: TimePeriodInput!, $compareTo: PeriodComparison, $filter: UserFilter) {
    userOverview(period: $period, compareTo: $compareTo, filter: $filter) {
      period {
        from
        to
      }
      comparedTo {
        from
        to
      }
      total {
        value
        previous
        change
        relativeChange
      }
      new {
        value
        previous
        change
        relativeChange
      }
      active {
        value
        previous
      }
      suspended {
        value
        previous
        relativeChange
      }
      locked {
        value
        previous
      }
      verifiedShare {
        value
        previous
        change
        relativeChange
      }
      mfaShare {
        value
        previous
        change
        relativeChange
      }
    }
  }
`);
const BREAKDOWN = graphql(`
  query UsersBreakdownRows($by: UserBreakdownDimension!, $attributeKey: String, $filter: UserFilter, $first: Int) {
    userBreakdown(by: $by, attributeKey: $attributeKey, filter: $filter, first: $first) {
      by
      attributeKey
      total
      withoutValue
      valueCount
      rows {
        count
        ... on RoleBreakdownRow {
          role {
            name
          }
        }
        ... on TenantBreakdownRow {
          tenant {
            slug
          }
        }
        ... on CountryBreakdownRow {
          country
        }
        ... on AuthMethodBreakdownRow {
          authMethod
        }
        ... on MfaTypeBreakdownRow {
          mfaType
        }
        ... on StatusBreakdownRow {
          status
        }
        ... on AttributeValueBreakdownRow {
          value
        }
      }
    }
  }
`);
const VIEWER = graphql(`
  query UsersOverviewBreakdownViewer {
    viewer {
      clientId
    }
  }
`);

const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  const p = server.db.prisma;
  const applicationId = (await p.application.findFirstOrThrow({ where: { clientId: server.admin.clientId } })).id;
  const user = async (key: string, data: Record<string, unknown>) => {
    const made = await p.user.create({ data: { realmId, email: `${key}@example.com`, ...data } as never });
    ids[key] = made.id;
    return made.id;
  };
  const a = await user('a', {
    createdAt: new Date('2025-12-01T00:00:00Z'),
    emailVerified: true,
    country: 'DE',
    passwordHash: 'x',
    passwordAlgorithm: 'ARGON2ID',
    customAttributes: { plan: 'pro' },
  });
  const b = await user('b', {
    createdAt: new Date('2026-02-10T00:00:00Z'),
    status: 'SUSPENDED',
    suspendedAt: new Date('2026-03-15T00:00:00Z'),
    country: 'DE',
    passwordHash: 'x',
    passwordAlgorithm: 'ARGON2ID',
    customAttributes: { plan: 'pro' },
  });
  const c = await user('c', {
    createdAt: new Date('2026-03-05T00:00:00Z'),
    emailVerified: true,
    country: 'FR',
    lastFailedLoginAt: new Date('2026-03-31T23:00:00Z'),
    lockedUntil: new Date('2026-04-01T01:00:00Z'),
    customAttributes: { plan: 'free' },
  });
  await user('d', {
    createdAt: new Date('2026-02-20T00:00:00Z'),
    status: 'DELETED',
    deletedAt: new Date('2026-03-10T00:00:00Z'),
    country: 'DE',
  });
  await user('e', { createdAt: new Date('2025-03-10T00:00:00Z'), customAttributes: { plan: 3 } });

  await p.mfaFactor.create({ data: { realmId, userId: a, type: 'TOTP', createdAt: new Date('2026-01-10T00:00:00Z') } });
  await p.mfaFactor.create({
    data: {
      realmId,
      userId: c,
      type: 'WEBAUTHN',
      credentialId: 'cred',
      publicKey: 'pk',
      createdAt: new Date('2026-03-20T00:00:00Z'),
    },
  });
  await p.identity.create({ data: { realmId, userId: b, provider: 'github', providerUserId: 'b' } });
  await p.customAttributeDefinition.createMany({
    data: [
      { realmId, key: 'plan', displayName: 'Plan', type: 'ENUM', options: ['free', 'pro'] },
      { realmId, key: 'seats', displayName: 'Seats', type: 'NUMBER' },
    ],
  });
  const [t1, t2] = [
    await p.tenant.create({ data: { realmId, name: 'One', slug: 'one' } }),
    await p.tenant.create({ data: { realmId, name: 'Two', slug: 'two' } }),
  ];
  await p.tenantMembership.createMany({
    data: [
      { realmId, tenantId: t1.id, userId: a },
      { realmId, tenantId: t2.id, userId: a },
      { realmId, tenantId: t2.id, userId: b },
    ],
  });
  const [r1, r2] = [
    await p.role.create({ data: { realmId, name: 'Reader' } }),
    await p.role.create({ data: { realmId, name: 'Writer' } }),
  ];
  await p.userRole.createMany({
    data: [
      { realmId, userId: a, roleId: r1.id },
      { realmId, userId: a, roleId: r1.id, tenantId: t1.id },
      { realmId, userId: b, roleId: r1.id },
      { realmId, userId: c, roleId: r2.id },
    ],
  });

  // Activity as token refreshes note it: a on 10 March, b on 15 February and 20 March.
  const lifetimes = { sessionIdleTimeoutSeconds: 1_209_600, sessionMaxLifetimeSeconds: 2_592_000 };
  for (const [userId, instant] of [
    [a, '2026-03-10T12:00:00Z'],
    [b, '2026-02-15T12:00:00Z'],
    [b, '2026-03-20T12:00:00Z'],
  ] as const) {
    const providerSessionUid = randomUUID();
    const opened = new Date(new Date(instant).getTime() - 3_600_000).toISOString();
    await at(opened, () =>
      openSession(p, {
        realmId,
        userId,
        applicationId,
        providerSessionUid,
        lifetimeSeconds: 1_209_600,
        tenantId: null,
      }),
    );
    await at(instant, () => liveProviderSession(p, realmId, providerSessionUid, 'throttled', lifetimes));
  }
  await server.graphql(VIEWER);
}, 120_000);

afterAll(() => server?.close());

describe('userOverview', () => {
  it('compares a period to the one before it, figures taken at each period’s end', async () => {
    const result = await server.graphql(OVERVIEW, { period: MARCH });
    expect(result.errors).toBeUndefined();
    expect(result.data!.userOverview).toEqual({
      period: { from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' },
      comparedTo: { from: '2026-01-29T00:00:00.000Z', to: '2026-03-01T00:00:00.000Z' },
      // At the end of March: a, b, c, e (d was deleted); at the end of February: a, b, d, e.
      total: { value: 4, previous: 4, change: 0, relativeChange: 0 },
      new: { value: 1, previous: 2, change: -1, relativeChange: -0.5 },
      active: { value: 2, previous: 1 },
      // b was suspended on 15 March: not yet at the end of February.
      suspended: { value: 1, previous: 0, relativeChange: null },
      locked: { value: 1, previous: 0 },
      verifiedShare: { value: 0.5, previous: 0.25, change: 0.25, relativeChange: 1 },
      // a's authenticator since January, c's passkey since 20 March.
      mfaShare: { value: 0.5, previous: 0.25, change: 0.25, relativeChange: 1 },
    });
  });

  it('compares to the same period a year earlier, and applies the filter', async () => {
    const lastYear = await server.graphql(OVERVIEW, { period: MARCH, compareTo: 'SAME_PERIOD_LAST_YEAR' });
    expect(lastYear.errors).toBeUndefined();
    expect(lastYear.data!.userOverview).toMatchObject({
      comparedTo: { from: '2025-03-01T00:00:00.000Z', to: '2025-04-01T00:00:00.000Z' },
      total: { value: 4, previous: 1, change: 3, relativeChange: 3 },
      new: { value: 1, previous: 1 },
      active: { value: 2, previous: 0 },
      verifiedShare: { value: 0.5, previous: 0 },
    });
    const verified = await server.graphql(OVERVIEW, { period: MARCH, filter: { emailVerified: true } });
    expect(verified.data!.userOverview).toMatchObject({
      total: { value: 2, previous: 1 },
      new: { value: 1, previous: 0 },
      active: { value: 1, previous: 0 },
      verifiedShare: { value: 1, previous: 1 },
    });
    const nobody = await server.graphql(OVERVIEW, { period: MARCH, filter: { countries: ['JP'] } });
    expect(nobody.data!.userOverview).toMatchObject({
      total: { value: 0, previous: 0, change: 0, relativeChange: null },
      verifiedShare: { value: null, previous: null, change: null, relativeChange: null },
    });
  });

  it('refuses an empty or reversed period and one longer than 366 days; takes one statement', async () => {
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    const reversed = await server.graphql(OVERVIEW, { period: { from: MARCH.to, to: MARCH.from } });
    expectErrorCode(reversed, 'BAD_USER_INPUT', 'userOverview');
    const empty = await server.graphql(OVERVIEW, { period: { from: MARCH.from, to: MARCH.from } });
    expectErrorCode(empty, 'BAD_USER_INPUT', 'userOverview');
    const long = await server.graphql(OVERVIEW, {
      period: { from: '2025-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' },
    });
    expectErrorCode(long, 'PERIOD_TOO_LONG', 'userOverview');
    const { result, count, sql } = await server.db.statements.during(() =>
      server.graphql(OVERVIEW, { period: MARCH, filter: { countries: ['DE'] } }),
    );
    expect(result.errors).toBeUndefined();
    expect(count - authentication, sql.join('\n')).toBe(1);
  });
});

describe('userBreakdown', () => {
  const breakdown = async (variables: Record<string, unknown>) => {
    const result = await server.graphql(BREAKDOWN, variables as never);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    return result.data!.userBreakdown;
  };

  it('counts users by each dimension, largest first, with those without a value', async () => {
    expect(await breakdown({ by: 'STATUS' })).toEqual({
      by: 'STATUS',
      attributeKey: null,
      total: 4,
      withoutValue: 0,
      valueCount: 2,
      rows: [
        { count: 3, status: 'ACTIVE' },
        { count: 1, status: 'SUSPENDED' },
      ],
    });
    expect(await breakdown({ by: 'COUNTRY' })).toMatchObject({
      withoutValue: 1,
      rows: [
        { count: 2, country: 'DE' },
        { count: 1, country: 'FR' },
      ],
    });
    // a holds Reader twice (realm-wide and in a tenant): counted once.
    expect(await breakdown({ by: 'ROLE' })).toMatchObject({
      withoutValue: 1,
      valueCount: 2,
      rows: [
        { count: 2, role: { name: 'Reader' } },
        { count: 1, role: { name: 'Writer' } },
      ],
    });
    expect(await breakdown({ by: 'TENANT' })).toMatchObject({
      withoutValue: 2,
      rows: [
        { count: 2, tenant: { slug: 'two' } },
        { count: 1, tenant: { slug: 'one' } },
      ],
    });
    expect(await breakdown({ by: 'AUTH_METHOD' })).toMatchObject({
      withoutValue: 1,
      rows: [
        { count: 2, authMethod: 'EMAIL_CODE' },
        { count: 2, authMethod: 'PASSWORD' },
        { count: 1, authMethod: 'OAUTH' },
        { count: 1, authMethod: 'PASSKEY' },
      ],
    });
    expect(await breakdown({ by: 'MFA_TYPE' })).toMatchObject({
      withoutValue: 2,
      rows: [
        { count: 1, mfaType: 'TOTP' },
        { count: 1, mfaType: 'WEBAUTHN' },
      ],
    });
    // e's plan is a number: no value of the ENUM attribute.
    expect(await breakdown({ by: 'CUSTOM_ATTRIBUTE', attributeKey: 'plan' })).toEqual({
      by: 'CUSTOM_ATTRIBUTE',
      attributeKey: 'plan',
      total: 4,
      withoutValue: 1,
      valueCount: 2,
      rows: [
        { count: 2, value: 'pro' },
        { count: 1, value: 'free' },
      ],
    });
  });

  it('applies the filter (deleted users only when asked for) and `first`', async () => {
    expect(await breakdown({ by: 'STATUS', filter: { countries: ['DE'] } })).toMatchObject({
      total: 2,
      rows: [
        { count: 1, status: 'ACTIVE' },
        { count: 1, status: 'SUSPENDED' },
      ],
    });
    expect((await breakdown({ by: 'STATUS', filter: { includeDeleted: true } })).rows).toContainEqual({
      count: 1,
      status: 'DELETED',
    });
    expect(await breakdown({ by: 'COUNTRY', first: 1 })).toMatchObject({
      valueCount: 2,
      rows: [{ count: 2, country: 'DE' }],
    });
    expect(await breakdown({ by: 'ROLE', filter: { ids: [encodeGlobalId('User', ids.c!)] } })).toMatchObject({
      total: 1,
      rows: [{ count: 1, role: { name: 'Writer' } }],
    });
  });

  it('needs roles:read to name the roles', async () => {
    const token = await server.token(server.admin, 'users:read');
    const result = await server.graphql(BREAKDOWN, { by: 'ROLE' }, token);
    expect(result.data!.userBreakdown.rows.map((row) => row.count)).toEqual([2, 1]);
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
  });

  it('refuses a missing, unknown or non-text attribute, a key without CUSTOM_ATTRIBUTE and a page over 100', async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [{ by: 'CUSTOM_ATTRIBUTE' }, 'BAD_USER_INPUT'],
      [{ by: 'CUSTOM_ATTRIBUTE', attributeKey: 'nope' }, 'BAD_USER_INPUT'],
      [{ by: 'CUSTOM_ATTRIBUTE', attributeKey: 'seats' }, 'BAD_USER_INPUT'],
      [{ by: 'CUSTOM_ATTRIBUTE', attributeKey: 'k'.repeat(100_000) }, 'BAD_USER_INPUT'],
      [{ by: 'STATUS', attributeKey: 'plan' }, 'BAD_USER_INPUT'],
      [{ by: 'STATUS', first: 101 }, 'PAGE_TOO_LARGE'],
      [{ by: 'STATUS', filter: { ageMin: 5, ageMax: 1 } }, 'BAD_USER_INPUT'],
    ];
    for (const [variables, code] of refusals) {
      const result = await server.graphql(BREAKDOWN, variables as never);
      expectErrorCode(result, code, 'userBreakdown');
    }
  });

  it('takes one statement, and one more to load roles or tenants, whatever the page size', async () => {
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    for (const first of [1, 100]) {
      for (const [by, extra] of [
        ['STATUS', 1],
        ['AUTH_METHOD', 1],
        ['ROLE', 2],
        ['TENANT', 2],
        ['CUSTOM_ATTRIBUTE', 2],
      ] as const) {
        const variables = { by, first, ...(by === 'CUSTOM_ATTRIBUTE' ? { attributeKey: 'plan' } : {}) };
        const { result, count, sql } = await server.db.statements.during(() => server.graphql(BREAKDOWN, variables));
        expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
        expect(count - authentication, `${by}\n${sql.join('\n')}`).toBe(extra);
      }
    }
  });
});
