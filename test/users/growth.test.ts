/**
 * userGrowth through the real stack: buckets of a time zone across a DST change, empty buckets,
 * filters, sign-in figures (which need audit:read too), refusals, and a constant number of SQL
 * statements. Sign-ins and session activity are recorded by the runtime's own service functions,
 * at chosen times (only `Date` is faked, and only while they run).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { liveProviderSession, openSession, signInWithPassword } from '../../src/modules/users/users.signin.ts';
import { graphql } from '../helpers/documents.ts';
import { expectErrorCode } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { at } from '../helpers/clock.ts';

let server: TestServer;
let realmId: string;
let applicationId: string;

const PASSWORD = 'Quiet-lantern-harbor-2024';

const GROWTH = graphql(`
  query UsersGrowthSeries(
    $interval: GrowthInterval!
    $from: DateTime!
    $to: DateTime!
    $timeZone: TimeZone
    $filter: UserFilter
  ) {
    userGrowth(interval: $interval, from: $from, to: $to, timeZone: $timeZone, filter: $filter) {
      interval
      timeZone
      buckets {
        start
        end
        signUps
        deletions
        usersAtEnd
        activeUsers
      }
    }
  }
`);
const GROWTH_WITH_SIGN_INS = graphql(`
  query UsersGrowthSignIns($from: DateTime!, $to: DateTime!, $timeZone: TimeZone, $filter: UserFilter) {
    userGrowth(interval: DAY, from: $from, to: $to, timeZone: $timeZone, filter: $filter) {
      buckets {
        start
        signUps
      }
      signIns {
        start
        end
        succeeded
        failed
        byMethod {
          method
          succeeded
          failed
        }
        byFailureReason {
          reason
          count
        }
      }
    }
  }
`);
const VIEWER = graphql(`
  query UsersGrowthViewer {
    viewer {
      clientId
    }
  }
`);

// Europe/Berlin moves from CET (+01) to CEST (+02) at 2026-03-29T01:00Z: the local 29 March lasts
// 23 hours, from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
const BERLIN = {
  from: '2026-03-28T00:00:00+01:00',
  to: '2026-04-01T00:00:00+02:00',
  timeZone: 'Europe/Berlin',
};
const DAYS = [
  ['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z'],
  ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
  ['2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'],
  ['2026-03-30T22:00:00.000Z', '2026-03-31T22:00:00.000Z'],
];

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  const p = server.db.prisma;
  applicationId = (await p.application.findFirstOrThrow({ where: { clientId: server.admin.clientId } })).id;
  const passwordHash = await hashPassword(PASSWORD);
  const user = (email: string, createdAt: string, country: string, extra: object = {}) =>
    p.user.create({ data: { realmId, email, country, createdAt: new Date(createdAt), ...extra } });
  await user('before@example.com', '2026-03-01T12:00:00Z', 'FR');
  // 23:30 in Berlin on the 28th, in both calendars.
  const u1 = await user('u1@example.com', '2026-03-28T22:30:00Z', 'DE', {
    passwordHash,
    passwordAlgorithm: 'ARGON2ID',
  });
  // 00:30 in Berlin on the 29th, still the 28th in UTC.
  const u2 = await user('u2@example.com', '2026-03-28T23:30:00Z', 'DE');
  // 00:30 CEST on the 30th, still the 29th in UTC.
  const u3 = await user('u3@example.com', '2026-03-29T22:30:00Z', 'FR');
  // Created on the 29th, deleted at 00:15 CEST on the 30th (the 29th in UTC).
  await user('u4@example.com', '2026-03-29T12:00:00Z', 'FR', {
    status: 'DELETED',
    deletedAt: new Date('2026-03-29T22:15:00Z'),
  });
  // After the range: in no bucket.
  await user('later@example.com', '2026-04-02T12:00:00Z', 'DE');

  // Sign-ins, as the hosted pages record them: a wrong password at 23:50 on the 28th (Berlin),
  // the right one at 00:10 on the 29th, and an unknown identifier on the 29th.
  const attempt = (identifier: string, password: string) =>
    signInWithPassword(p, { realmId, identifier, password, applicationId, ipAddress: '203.0.113.9' });
  expect((await at('2026-03-28T22:50:00Z', () => attempt('u1@example.com', 'wrong-password-1'))).ok).toBe(false);
  expect((await at('2026-03-28T23:10:00Z', () => attempt('u1@example.com', PASSWORD))).ok).toBe(true);
  expect((await at('2026-03-29T10:00:00Z', () => attempt('nobody@example.com', PASSWORD))).ok).toBe(false);

  // Session activity, as token refreshes note it: u2 at 00:05 and 00:06 CEST on the 30th (one
  // quarter hour), u3 twice on the 30th (two quarter hours: still one active user).
  const lifetimes = { sessionIdleTimeoutSeconds: 1_209_600, sessionMaxLifetimeSeconds: 2_592_000 };
  const refreshes: [string, string, string[]][] = [
    [u2.id, '2026-03-29T21:50:00Z', ['2026-03-29T22:05:00Z', '2026-03-29T22:06:00Z']],
    [u3.id, '2026-03-30T09:00:00Z', ['2026-03-30T10:00:00Z', '2026-03-30T10:20:00Z']],
  ];
  for (const [userId, opened, uses] of refreshes) {
    const providerSessionUid = randomUUID();
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
    for (const use of uses) {
      expect(
        await at(use, () => liveProviderSession(p, realmId, providerSessionUid, 'throttled', lifetimes)),
      ).not.toBeNull();
    }
  }
  // The runtime noted u1's sign-in, u2's and u3's refreshes, one row per user and quarter hour.
  expect(await p.userActivity.count({ where: { realmId, userId: u1.id } })).toBe(1);
  expect(await p.userActivity.count({ where: { realmId, userId: u2.id } })).toBe(1);
  expect(await p.userActivity.count({ where: { realmId, userId: u3.id } })).toBe(2);
  await server.graphql(VIEWER);
}, 120_000);

afterAll(() => server?.close());

const buckets = (values: [number, number, number, number][]) =>
  values.map(([signUps, deletions, usersAtEnd, activeUsers], i) => ({
    start: DAYS[i]![0],
    end: DAYS[i]![1],
    signUps,
    deletions,
    usersAtEnd,
    activeUsers,
  }));

describe('userGrowth', () => {
  it('buckets by the days of the time zone across a DST change, empty days included', async () => {
    const result = await server.graphql(GROWTH, { interval: 'DAY', ...BERLIN });
    expect(result.errors).toBeUndefined();
    expect(result.data!.userGrowth).toEqual({
      interval: 'DAY',
      timeZone: 'Europe/Berlin',
      // signUps, deletions, usersAtEnd, activeUsers
      buckets: buckets([
        [1, 0, 2, 0],
        [2, 0, 4, 1],
        [1, 1, 4, 2],
        [0, 0, 4, 0],
      ]),
    });
  });

  it('follows UTC days by default', async () => {
    const result = await server.graphql(GROWTH, { interval: 'DAY', from: BERLIN.from, to: BERLIN.to });
    expect(result.errors).toBeUndefined();
    expect(result.data!.userGrowth.timeZone).toBe('UTC');
    expect(result.data!.userGrowth.buckets.map((b) => [b.start, b.signUps, b.deletions, b.activeUsers])).toEqual([
      ['2026-03-27T00:00:00.000Z', 0, 0, 0],
      ['2026-03-28T00:00:00.000Z', 2, 0, 1],
      ['2026-03-29T00:00:00.000Z', 2, 1, 1],
      ['2026-03-30T00:00:00.000Z', 0, 0, 1],
      ['2026-03-31T00:00:00.000Z', 0, 0, 0],
    ]);
  });

  it('counts weeks from Monday and months from the 1st of the time zone', async () => {
    const weeks = await server.graphql(GROWTH, { interval: 'WEEK', ...BERLIN });
    expect(weeks.data!.userGrowth.buckets).toEqual([
      // Monday 23 March (CET) to Monday 30 March (CEST): 167 hours.
      {
        start: '2026-03-22T23:00:00.000Z',
        end: '2026-03-29T22:00:00.000Z',
        signUps: 3,
        deletions: 0,
        usersAtEnd: 4,
        activeUsers: 1,
      },
      {
        start: '2026-03-29T22:00:00.000Z',
        end: '2026-04-05T22:00:00.000Z',
        signUps: 2,
        deletions: 1,
        usersAtEnd: 5,
        activeUsers: 2,
      },
    ]);
    const months = await server.graphql(GROWTH, {
      interval: 'MONTH',
      from: '2026-02-15T00:00:00Z',
      to: '2026-04-15T00:00:00Z',
      timeZone: 'Europe/Berlin',
    });
    expect(months.data!.userGrowth.buckets.map((b) => [b.start, b.signUps, b.deletions, b.usersAtEnd])).toEqual([
      ['2026-01-31T23:00:00.000Z', 0, 0, 0],
      ['2026-02-28T23:00:00.000Z', 5, 1, 4],
      ['2026-03-31T22:00:00.000Z', 1, 0, 5],
    ]);
  });

  it('applies the filter to every figure', async () => {
    const result = await server.graphql(GROWTH_WITH_SIGN_INS, { ...BERLIN, filter: { countries: ['DE'] } });
    expect(result.errors).toBeUndefined();
    expect(result.data!.userGrowth.buckets.map((b) => b.signUps)).toEqual([1, 1, 0, 0]);
    const series = await server.graphql(GROWTH, { interval: 'DAY', ...BERLIN, filter: { countries: ['DE'] } });
    expect(series.data!.userGrowth.buckets.map((b) => [b.usersAtEnd, b.activeUsers])).toEqual([
      [1, 0],
      [2, 1],
      [2, 1],
      [2, 0],
    ]);
    // The unknown identifier's attempt belongs to no user: left out.
    expect(result.data!.userGrowth.signIns!.map((b) => [b.succeeded, b.failed])).toEqual([
      [0, 1],
      [1, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('counts sign-ins by method and failure reason per bucket, with audit:read', async () => {
    const result = await server.graphql(GROWTH_WITH_SIGN_INS, BERLIN);
    expect(result.errors).toBeUndefined();
    expect(result.data!.userGrowth.signIns).toEqual([
      {
        start: DAYS[0]![0],
        end: DAYS[0]![1],
        succeeded: 0,
        failed: 1,
        byMethod: [{ method: 'password', succeeded: 0, failed: 1 }],
        byFailureReason: [{ reason: 'invalid_credentials', count: 1 }],
      },
      {
        start: DAYS[1]![0],
        end: DAYS[1]![1],
        succeeded: 1,
        failed: 1,
        byMethod: [{ method: 'password', succeeded: 1, failed: 1 }],
        byFailureReason: [{ reason: 'invalid_credentials', count: 1 }],
      },
      ...DAYS.slice(2).map(([start, end]) => ({
        start,
        end,
        succeeded: 0,
        failed: 0,
        byMethod: [],
        byFailureReason: [],
      })),
    ]);
  });

  it('refuses the sign-in figures without audit:read, and everything without users:read', async () => {
    const readOnly = await server.token(server.admin, 'users:read');
    const partial = await server.graphql(GROWTH_WITH_SIGN_INS, BERLIN, readOnly);
    expect(partial.data!.userGrowth.buckets).toHaveLength(4);
    expect(partial.data!.userGrowth.signIns).toBeNull();
    expect(partial.errors).toHaveLength(1);
    expect(partial.errors![0]).toMatchObject({
      path: ['userGrowth', 'signIns'],
      extensions: { code: 'FORBIDDEN', missingScopes: ['audit:read'] },
    });
    const auditOnly = await server.token(server.admin, 'audit:read');
    const refused = await server.graphql(GROWTH_WITH_SIGN_INS, BERLIN, auditOnly);
    expectErrorCode(refused, 'FORBIDDEN', 'userGrowth');
    expect(refused.errors![0]!.extensions!.missingScopes).toEqual(['users:read']);
  });

  it('refuses an unknown time zone, an empty range and too many buckets before any SQL', async () => {
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    const refusals: [Record<string, unknown>, string, string][] = [
      [{ interval: 'DAY', ...BERLIN, timeZone: 'Mars/Olympus' }, 'BAD_USER_INPUT', 'time zone'],
      [{ interval: 'DAY', ...BERLIN, timeZone: '+01:00' }, 'BAD_USER_INPUT', 'time zone'],
      [{ interval: 'DAY', ...BERLIN, from: BERLIN.to }, 'BAD_USER_INPUT', '`from` must be before `to`'],
      [{ interval: 'DAY', ...BERLIN, to: BERLIN.from }, 'BAD_USER_INPUT', '`from` must be before `to`'],
      [{ interval: 'DAY', from: '2025-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }, 'TOO_MANY_BUCKETS', '366'],
      [{ interval: 'WEEK', from: '2020-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'TOO_MANY_BUCKETS', '260'],
      [{ interval: 'MONTH', from: '2000-01-01T00:00:00Z', to: '2010-01-02T00:00:00Z' }, 'TOO_MANY_BUCKETS', '120'],
      // A huge input: a time zone name of 100,000 characters, a filter of 101 ids.
      [{ interval: 'DAY', ...BERLIN, timeZone: 'A'.repeat(100_000) }, 'BAD_USER_INPUT', ''],
      [
        { interval: 'DAY', ...BERLIN, filter: { ids: Array.from({ length: 101 }, () => randomUUID()) } },
        'BAD_USER_INPUT',
        '',
      ],
    ];
    for (const [variables, code, message] of refusals) {
      const { result, count } = await server.db.statements.during(() => server.graphql(GROWTH, variables as never));
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe(code);
      expect(result.errors![0]!.message).toContain(message);
      expect(result.data?.userGrowth ?? null).toBeNull();
      expect(count, JSON.stringify(variables).slice(0, 200)).toBe(authentication);
    }
    // The largest series allowed is answered.
    const year = await server.graphql(GROWTH, {
      interval: 'DAY',
      from: '2025-01-01T00:00:00Z',
      to: '2026-01-01T00:00:00Z',
    });
    expect(year.errors).toBeUndefined();
    expect(year.data!.userGrowth.buckets).toHaveLength(365);
  });

  it('takes one statement for the buckets and one for the sign-ins, however many buckets', async () => {
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    for (const to of ['2026-03-30T00:00:00Z', '2027-03-28T00:00:00Z']) {
      const variables = { from: '2026-03-28T00:00:00Z', to, timeZone: 'Europe/Berlin' };
      const plain = await server.db.statements.during(() => server.graphql(GROWTH, { interval: 'DAY', ...variables }));
      expect(plain.result.errors).toBeUndefined();
      expect(plain.count - authentication, plain.sql.join('\n')).toBe(1);
      const filtered = await server.db.statements.during(() =>
        server.graphql(GROWTH, { interval: 'DAY', ...variables, filter: { countries: ['DE'], hasMfa: false } }),
      );
      expect(filtered.count - authentication).toBe(1);
      const both = await server.db.statements.during(() => server.graphql(GROWTH_WITH_SIGN_INS, variables));
      expect(both.result.errors).toBeUndefined();
      expect(both.count - authentication).toBe(2);
    }
  });
});
