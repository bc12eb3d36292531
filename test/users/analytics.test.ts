import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const DAY = 86_400_000;

const STATS = graphql(`
  query UsersAnalyticsStats {
    all: userStats {
      total
      emailVerified
      phoneVerified
      withMfa
      createdLast7Days
      createdLast30Days
      activeLast30Days
      byStatus {
        status
        count
      }
    }
    de: userStats(filter: { countries: ["DE"] }) {
      total
    }
  }
`);
const STATS_BAD_AGE_RANGE = graphql(`
  query UsersAnalyticsStatsBadAgeRange {
    userStats(filter: { ageMin: 5, ageMax: 1 }) {
      total
    }
  }
`);
const FIELD_VALUES = graphql(`
  query UsersAnalyticsFieldValues($field: UserValueField!, $prefix: String, $first: Int, $after: String) {
    userFieldValues(field: $field, prefix: $prefix, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        value
        count
      }
    }
  }
`);
const FILTER_VALUES = graphql(`
  query UsersAnalyticsFilterValues {
    userFilterValues {
      statuses
      countries
      oauthProviders
      authMethods
      mfaTypes
      roles {
        name
      }
      tenants {
        slug
      }
      customAttributes {
        key
        type
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  const realmId = server.admin.realmId;
  const p = server.db.prisma;
  const now = Date.now();
  const rows = [
    {
      email: 'a@example.com',
      country: 'DE',
      city: 'Berlin',
      emailVerified: true,
      createdAt: new Date(now - 2 * DAY),
      lastLoginAt: new Date(now - DAY),
    },
    {
      email: 'b@example.com',
      country: 'DE',
      city: 'Bonn',
      status: 'SUSPENDED' as const,
      createdAt: new Date(now - 20 * DAY),
    },
    {
      email: 'c@example.com',
      country: 'FR',
      city: 'Paris',
      phone: '+33123456789',
      phoneVerified: true,
      createdAt: new Date(now - 40 * DAY),
    },
    {
      email: 'd@example.com',
      country: 'FR',
      city: 'Berlin',
      customAttributes: { plan: 'pro' },
      createdAt: new Date(now - 100 * DAY),
    },
    {
      email: 'gone@example.com',
      country: 'IT',
      status: 'DELETED' as const,
      deletedAt: new Date(),
      createdAt: new Date(now - DAY),
    },
  ];
  for (const row of rows) await p.user.create({ data: { realmId, ...row } });
  const a = await p.user.findFirstOrThrow({ where: { email: 'a@example.com' } });
  await p.mfaFactor.create({ data: { realmId, userId: a.id, type: 'TOTP' } });
  await p.identity.create({ data: { realmId, userId: a.id, provider: 'github', providerUserId: '1' } });
  await p.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } });
  await p.customAttributeDefinition.create({ data: { realmId, key: 'plan', displayName: 'Plan', type: 'STRING' } });
  const other = await server.createRealm('other');
  await p.user.create({ data: { realmId: other.realmId, email: 'x@example.com', country: 'US' } });
});

afterAll(() => server?.close());

describe('user analytics', () => {
  it('userStats totals the users matching a filter, deleted ones excluded', async () => {
    const result = await server.graphql(STATS);
    expect(result.errors).toBeUndefined();
    expect(result.data!.all).toMatchObject({
      total: 4,
      emailVerified: 1,
      phoneVerified: 1,
      withMfa: 1,
      createdLast7Days: 1,
      createdLast30Days: 2,
      activeLast30Days: 1,
    });
    expect(result.data!.all.byStatus).toContainEqual({ status: 'ACTIVE', count: 3 });
    expect(result.data!.all.byStatus).toContainEqual({ status: 'SUSPENDED', count: 1 });
    expect(result.data!.all.byStatus).toContainEqual({ status: 'DELETED', count: 0 });
    expect(result.data!.de.total).toBe(2);
    const bad = await server.graphql(STATS_BAD_AGE_RANGE);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('userFieldValues lists distinct values with counts, most common first, by prefix, paginated', async () => {
    const first = await server.graphql(FIELD_VALUES, { field: 'CITY', first: 1 });
    expect(first.data!.userFieldValues).toMatchObject({
      totalCount: 3,
      nodes: [{ value: 'Berlin', count: 2 }],
      pageInfo: { hasNextPage: true },
    });
    const rest = await server.graphql(FIELD_VALUES, {
      field: 'CITY',
      first: 5,
      after: first.data!.userFieldValues.pageInfo.endCursor,
    });
    expect(rest.data!.userFieldValues.nodes).toEqual([
      { value: 'Bonn', count: 1 },
      { value: 'Paris', count: 1 },
    ]);
    const prefixed = await server.graphql(FIELD_VALUES, { field: 'CITY', prefix: 'b' });
    expect(prefixed.data!.userFieldValues.nodes.map((n) => n.value)).toEqual(['Berlin', 'Bonn']);
    const countries = await server.graphql(FIELD_VALUES, { field: 'COUNTRY' });
    expect(countries.data!.userFieldValues.nodes).toEqual([
      { value: 'DE', count: 2 },
      { value: 'FR', count: 2 },
    ]);
    const providers = await server.graphql(FIELD_VALUES, { field: 'OAUTH_PROVIDER' });
    expect(providers.data!.userFieldValues.nodes).toEqual([{ value: 'github', count: 1 }]);
    const keys = await server.graphql(FIELD_VALUES, { field: 'CUSTOM_ATTRIBUTE' });
    expect(keys.data!.userFieldValues.nodes).toEqual([{ value: 'plan', count: 1 }]);
    const badCursor = await server.graphql(FIELD_VALUES, { field: 'CITY', after: 'nope' });
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await server.graphql(FIELD_VALUES, { field: 'CITY', first: 101 });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('PAGE_TOO_LARGE');
  });

  it('userFilterValues lists every static facet of this realm', async () => {
    const result = await server.graphql(FILTER_VALUES);
    expect(result.errors).toBeUndefined();
    expect(result.data!.userFilterValues).toEqual({
      statuses: ['INVITED', 'PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED', 'DELETED'],
      countries: ['DE', 'FR'],
      oauthProviders: ['github'],
      authMethods: ['PASSWORD', 'EMAIL_CODE', 'PHONE', 'OAUTH', 'PASSKEY'],
      mfaTypes: ['TOTP', 'WEBAUTHN', 'RECOVERY_CODES'],
      roles: [{ name: 'Roster Administrator' }],
      tenants: [{ slug: 'acme' }],
      customAttributes: [{ key: 'plan', type: 'STRING' }],
    });
  });
});
