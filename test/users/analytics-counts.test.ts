/**
 * userGrowth and userOverview without a filter answer from per-realm event counts the database
 * keeps in the same transaction as every change (migration `analytics_counts`). Whatever changes
 * the users, their sign-ins and their activity — the API, the sign-in runtime's service
 * functions, cascades, direct SQL, activity noted out of order, concurrent writers, folds — the
 * counts must equal a recount of the rows, and the answers those counted from the rows (a filter
 * matching everyone, `{}`, takes that path), in time zones of every kind of offset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type ServiceContext } from '../../src/context.ts';
import { noteUserActivity } from '../../src/modules/users/users.activity.ts';
import {
  userBreakdown,
  userGrowth,
  userOverview,
  type GrowthInterval,
} from '../../src/modules/users/users.analytics.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { noteSessionActivity } from '../../src/modules/users/users.queries.ts';
import { signInWithPassword } from '../../src/modules/users/users.signin.ts';
import { graphql } from '../helpers/documents.ts';
import { makeUser, userGid as gid } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { at } from '../helpers/clock.ts';

let server: TestServer;
let realmId: string;
let ctx: ServiceContext;
let applicationId: string;
const PASSWORD = 'Quiet-lantern-harbor-2024';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const DELETE_USER = graphql(`
  mutation UsersAnalyticsCountsDelete($input: DeleteUserInput!) {
    deleteUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const RESTORE = graphql(`
  mutation UsersAnalyticsCountsRestore($input: UserIdInput!) {
    restoreUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const SET_STATUS = graphql(`
  mutation UsersAnalyticsCountsSetStatus($input: SetUserStatusInput!) {
    setUserStatus(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const UPDATE_USER = graphql(`
  mutation UsersAnalyticsCountsUpdate($input: UpdateUserInput!) {
    updateUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);

type Counts = Record<string, number>;

/** The realm's maintained counts: the folded ones plus the deltas, by metric, period and key. */
async function kept(realm = realmId): Promise<Counts> {
  const rows = await server.db.rawQuery<{ k: string; n: string }>(`
    SELECT metric || ' ' || to_char(period AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || key AS k, sum(n)::text AS n
    FROM (SELECT metric, period, key, count AS n FROM "AnalyticsCount" WHERE "realmId" = '${realm}'
          UNION ALL SELECT metric, period, key, delta FROM "AnalyticsCountDelta" WHERE "realmId" = '${realm}') c
    GROUP BY 1 HAVING sum(n) <> 0`);
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

/**
 * The counts recounted from the rows: each user's events, each sign-in attempt, and each activity
 * record with its gap to the user's previous one (counted here with a window over all of them).
 */
async function recounted(realm = realmId): Promise<Counts> {
  const rows = await server.db.rawQuery<{ k: string; n: string }>(`
    WITH c AS (
      SELECT k.metric, k.period, '' AS key FROM "User" u,
        LATERAL roster_user_event_keys(u."createdAt", u."deletedAt", u."emailVerified",
          (SELECT min(f."createdAt") FROM "MfaFactor" f WHERE f."realmId" = u."realmId" AND f."userId" = u.id)) k
      WHERE u."realmId" = '${realm}'
      UNION ALL
      SELECT k.metric, k.period, k.key FROM "LoginEvent" e,
        LATERAL roster_sign_in_keys(e.at, e.success, e.method, e."failureReason") k
      WHERE e."realmId" = '${realm}'
      UNION ALL
      SELECT 'active:' || cap, a.period,
        least(COALESCE(floor(extract(epoch FROM a.period - a.prev) / 900)::bigint, cap), cap)::text
      FROM (SELECT period, lag(period) OVER (PARTITION BY "userId" ORDER BY period) AS prev
            FROM "UserActivity" WHERE "realmId" = '${realm}') a,
        (VALUES (100), (676), (3000), (36000)) caps (cap)
    )
    SELECT metric || ' ' || to_char(period AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || key AS k, count(*)::text AS n
    FROM c GROUP BY 1`);
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

const SERIES: { interval: GrowthInterval; from: string; to: string; timeZone: string }[] = [
  // Both DST changes of Europe's 2026, in days and in weeks.
  { interval: 'DAY', from: '2026-03-20T00:00:00Z', to: '2026-04-10T00:00:00Z', timeZone: 'Europe/Berlin' },
  { interval: 'WEEK', from: '2026-01-05T00:00:00Z', to: '2026-11-30T00:00:00Z', timeZone: 'Europe/Berlin' },
  { interval: 'DAY', from: '2026-10-20T00:00:00Z', to: '2026-10-30T00:00:00Z', timeZone: 'Europe/London' },
  // Offsets of quarter and half hours, one with a DST change of half an hour.
  { interval: 'DAY', from: '2026-03-25T00:00:00Z', to: '2026-04-10T00:00:00Z', timeZone: 'Asia/Kathmandu' },
  { interval: 'DAY', from: '2026-03-30T00:00:00Z', to: '2026-04-10T00:00:00Z', timeZone: 'Australia/Lord_Howe' },
  { interval: 'WEEK', from: '2026-02-01T00:00:00Z', to: '2026-05-01T00:00:00Z', timeZone: 'Pacific/Chatham' },
  { interval: 'MONTH', from: '2025-06-01T00:00:00Z', to: '2026-12-31T00:00:00Z', timeZone: 'America/St_Johns' },
  { interval: 'MONTH', from: '2025-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z', timeZone: 'UTC' },
  { interval: 'DAY', from: '2026-03-01T00:00:00Z', to: '2026-12-31T00:00:00Z', timeZone: 'America/New_York' },
  // Amsterdam kept its local mean time (+00:19:32) until 1937: days that no count adds up to.
  { interval: 'DAY', from: '1935-06-01T00:00:00Z', to: '1935-06-05T00:00:00Z', timeZone: 'Europe/Amsterdam' },
];

const PERIODS = [
  { from: '2026-03-29T00:00:00Z', to: '2026-04-05T00:00:00Z' },
  { from: '2026-03-01T00:10:00Z', to: '2026-04-30T13:37:00Z' },
  { from: new Date(Date.now() - 30 * DAY).toISOString(), to: new Date(Date.now() + DAY).toISOString() },
];

/** The counted answers equal those counted from the rows, and the counts a recount. */
async function expectExact(): Promise<void> {
  expect(await kept()).toEqual(await recounted());
  for (const series of SERIES) {
    const range = { ...series, from: new Date(series.from), to: new Date(series.to) };
    const counted = await (await userGrowth(ctx, range)).buckets();
    const scanned = await (await userGrowth(ctx, { ...range, filter: {} })).buckets();
    expect(counted, JSON.stringify(series)).toEqual(scanned);
  }
  for (const period of PERIODS) {
    for (const compareTo of ['PREVIOUS_PERIOD', 'SAME_PERIOD_LAST_YEAR'] as const) {
      const args = { period: { from: new Date(period.from), to: new Date(period.to) }, compareTo };
      const counted = await userOverview(ctx, args);
      const scanned = await userOverview(ctx, { ...args, filter: {} });
      expect(counted, JSON.stringify(args)).toEqual(scanned);
    }
  }
}

const minutes = (iso: string, n: number) => new Date(new Date(iso).getTime() + n * 60_000);

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  ctx = systemContext(server.db.prisma, realmId);
  applicationId = (await server.db.prisma.application.findFirstOrThrow({ where: { clientId: server.admin.clientId } }))
    .id;
}, 120_000);

afterAll(() => server?.close());

// The embedded database runs one transaction at a time: the others queue.
const PATIENT = { maxWait: 30_000, timeout: 30_000 };

describe('analytics from maintained counts', () => {
  it('counts users, sign-ins and activity around DST changes, stays exact through their changes', async () => {
    const p = server.db.prisma;
    await expectExact();
    // Users either side of DST changes, of local midnights of odd offsets, and in 1935.
    const times = [
      '2026-03-28T22:59:00Z',
      '2026-03-28T23:00:00Z',
      '2026-03-29T00:59:59.999Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T21:59:00Z',
      '2026-03-29T22:00:00Z',
      '2026-04-04T14:29:00Z',
      '2026-04-04T14:30:00Z',
      '2026-04-05T14:45:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:30:00Z',
      '2026-06-01T02:30:00Z',
      '1935-06-01T23:40:28Z',
      '1935-06-01T23:40:27Z',
      '1935-06-02T23:59:00Z',
    ];
    const users: string[] = [];
    for (const [i, time] of times.entries()) {
      const user = await makeUser(server, realmId, {
        createdAt: new Date(time),
        emailVerified: i % 2 === 0,
        passwordHash: i < 4 ? await hashPassword(PASSWORD) : null,
        passwordAlgorithm: i < 4 ? 'ARGON2ID' : null,
      });
      users.push(user.id);
    }
    await makeUser(server, realmId, { createdAt: new Date(Date.now() - 3 * DAY), emailVerified: true });
    await expectExact();

    // Sign-ins through the runtime: right and wrong passwords, an unknown identifier.
    const email = async (id: string) => (await p.user.findUniqueOrThrow({ where: { id } })).email!;
    const attempt = async (id: string | null, password: string, when: string) =>
      at(when, async () =>
        signInWithPassword(p, {
          realmId,
          identifier: id ? await email(id) : 'nobody@example.com',
          password,
          applicationId,
        }),
      );
    expect((await attempt(users[0]!, PASSWORD, '2026-03-29T00:50:00Z')).ok).toBe(true);
    expect((await attempt(users[0]!, 'wrong-password-1', '2026-03-29T01:10:00Z')).ok).toBe(false);
    expect((await attempt(users[1]!, PASSWORD, '2026-03-29T22:05:00Z')).ok).toBe(true);
    expect((await attempt(null, PASSWORD, '2026-04-04T14:40:00Z')).ok).toBe(false);
    expect((await attempt(users[2]!, PASSWORD, new Date(Date.now() - HOUR).toISOString())).ok).toBe(true);
    await expectExact();

    // Activity as sessions note it: repeated quarter hours, gaps of a day and of a week, a DST
    // night, and records noted out of order (in the past, between and before existing ones).
    const session = async (userId: string) =>
      (
        await p.session.create({
          data: { realmId, userId, expiresAt: new Date(Date.now() + DAY) },
        })
      ).id;
    const sessions = await Promise.all(users.slice(0, 6).map(session));
    const note = (i: number, when: Date) => noteSessionActivity(p, realmId, sessions[i]!, when, new Date(+when + DAY));
    for (const [i, when] of [
      [0, '2026-03-28T22:50:00Z'],
      [0, '2026-03-28T23:10:00Z'],
      [0, '2026-03-29T00:20:00Z'],
      [0, '2026-03-30T00:20:00Z'],
      [0, '2026-04-06T00:20:00Z'],
      [1, '2026-03-29T22:14:00Z'],
      [1, '2026-10-25T01:10:00Z'],
      [2, '2026-04-04T14:20:00Z'],
      [2, '2026-04-04T14:35:00Z'],
      [3, '2026-05-01T12:00:00Z'],
      [3, '2026-03-31T12:00:00Z'],
      [3, '2026-04-15T12:00:00Z'],
      [3, '2026-03-01T12:00:00Z'],
      [4, new Date(Date.now() - 2 * DAY).toISOString()],
      [4, new Date(Date.now() - 40 * DAY).toISOString()],
    ] as const) {
      await note(i, new Date(when));
    }
    await ctx.db.$transaction((tx) => noteUserActivity(tx, realmId, users[5]!, new Date('2026-04-04T14:31:00Z')));
    // Several records of several users in one statement, as a migration or an import writes them.
    await p.userActivity.createMany({
      data: [
        { realmId, userId: users[0]!, period: new Date('2026-03-29T12:00:00Z') },
        { realmId, userId: users[0]!, period: new Date('2026-03-29T12:30:00Z') },
        { realmId, userId: users[0]!, period: new Date('2025-01-01T00:00:00Z') },
        { realmId, userId: users[6]!, period: new Date('2026-04-04T14:30:00Z') },
        { realmId, userId: users[6]!, period: new Date('2026-04-05T14:15:00Z') },
      ],
      skipDuplicates: true,
    });
    await expectExact();

    // Status, verification, deletion, restoration, MFA, erasure.
    await server.graphql(SET_STATUS, { input: { id: gid(users[3]!), status: 'SUSPENDED', reason: 'Counting' } });
    await server.graphql(UPDATE_USER, { input: { id: gid(users[0]!), patch: { emailVerified: false } } });
    await server.graphql(UPDATE_USER, { input: { id: gid(users[1]!), patch: { emailVerified: true } } });
    await server.graphql(DELETE_USER, { input: { id: gid(users[4]!) } });
    await server.graphql(DELETE_USER, { input: { id: gid(users[5]!) } });
    await expectExact();
    await server.graphql(RESTORE, { input: { id: gid(users[5]!) } });
    await p.mfaFactor.createMany({
      data: [
        {
          realmId,
          userId: users[2]!,
          type: 'WEBAUTHN',
          credentialId: 'a',
          createdAt: new Date('2026-04-01T00:00:00Z'),
        },
        { realmId, userId: users[2]!, type: 'TOTP', createdAt: new Date('2026-03-01T00:00:00Z') },
        { realmId, userId: users[7]!, type: 'TOTP', createdAt: new Date(Date.now() - DAY) },
      ],
    });
    await p.user.update({ where: { id: users[8]! }, data: { lockedUntil: new Date(Date.now() + HOUR) } });
    await expectExact();
    await p.mfaFactor.deleteMany({ where: { userId: users[2]!, type: 'TOTP' } });
    await server.graphql(DELETE_USER, { input: { id: gid(users[0]!), hard: true } });
    await expectExact();

    // Direct SQL: activity moved and deleted, users moved in time, a login event removed.
    await server.db.rawQuery(
      `UPDATE "UserActivity" SET period = period - interval '1 day' WHERE "realmId" = '${realmId}' AND "userId" = '${users[3]}' AND period > '2026-04-01'`,
    );
    await server.db.rawQuery(
      `DELETE FROM "UserActivity" WHERE "realmId" = '${realmId}' AND "userId" = '${users[6]}' AND period = '2026-04-04T14:30:00Z'`,
    );
    await server.db.rawQuery(
      `UPDATE "User" SET "createdAt" = "createdAt" - interval '45 minutes' WHERE "realmId" = '${realmId}' AND "createdAt" < '2026-04-01'`,
    );
    await server.db.rawQuery(`DELETE FROM "LoginEvent" WHERE "realmId" = '${realmId}' AND "userId" IS NULL`);
    await expectExact();

    // A change rolled back leaves no trace.
    await expect(
      ctx.db.$transaction(async (tx) => {
        await noteUserActivity(tx, realmId, users[1]!, new Date('2026-03-29T23:00:00Z'));
        await tx.user.create({ data: { realmId, email: 'rolled-back@example.com' } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await expectExact();
  });

  it('folding the deltas into the counts changes no answer', async () => {
    const pending = async () =>
      Number(
        (
          await server.db.rawQuery<{ n: bigint }>(
            `SELECT count(*) AS n FROM "AnalyticsCountDelta" WHERE "realmId" = '${realmId}'`,
          )
        )[0]!.n,
      );
    await server.db.rawQuery(`SELECT roster_fold_analytics_counts('${realmId}')`);
    expect(await pending()).toBe(0);
    await expectExact();
    // A writer folds now and then itself (one changing statement in 32): add users until one
    // leaves its deltas pending.
    let added = 0;
    do {
      await makeUser(server, realmId, { createdAt: new Date(Date.UTC(2026, 2, 29, 1, 30 + added)) });
      added++;
    } while ((await pending()) === 0 && added < 10);
    expect(await pending()).toBeGreaterThan(0);
    await expectExact();
    await server.db.rawQuery(
      `SELECT roster_maybe_fold_analytics_counts(ARRAY['${realmId}']::uuid[]) FROM generate_series(1, 300)`,
    );
    expect(await pending()).toBe(0);
    await expectExact();
  });

  it('stays exact under concurrent writers and folds', async () => {
    const p = server.db.prisma;
    const users = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        makeUser(server, realmId, { createdAt: new Date(Date.UTC(2026, 2, 20 + i)) }),
      ),
    );
    const sessions = await Promise.all(
      users.map(
        async (user) =>
          (await p.session.create({ data: { realmId, userId: user.id, expiresAt: new Date(Date.now() + DAY) } })).id,
      ),
    );
    const work: Promise<unknown>[] = [];
    // Many quarter hours of one user at once, in no order; each record's gap depends on the others.
    for (let i = 0; i < 24; i++) {
      const when = new Date(Date.UTC(2026, 2, 28, 20) + ((i * 7) % 24) * 15 * 60_000 + (i % 3) * 60_000);
      work.push(noteSessionActivity(p, realmId, sessions[0]!, when, new Date(+when + DAY)));
    }
    for (let i = 0; i < 8; i++) {
      const when = new Date(Date.UTC(2026, 3, 1 + (i % 4), i));
      work.push(ctx.db.$transaction((tx) => noteUserActivity(tx, realmId, users[1 + (i % 3)]!.id, when), PATIENT));
    }
    work.push(server.graphql(DELETE_USER, { input: { id: users[3]!.globalId } }));
    for (let i = 0; i < 3; i++) work.push(server.db.rawQuery(`SELECT roster_fold_analytics_counts('${realmId}')`));
    work.push(
      p.loginEvent.createMany({
        data: Array.from({ length: 5 }, (_, i) => ({
          realmId,
          userId: users[2]!.id,
          at: minutes('2026-03-29T00:00:00Z', i * 20),
          success: i % 2 === 0,
          method: 'password',
          failureReason: i % 2 === 0 ? null : 'invalid_credentials',
        })),
      }),
    );
    await Promise.all(work);
    await expectExact();
  });

  it('a realm deleted with its users leaves no counts, and other realms keep theirs', async () => {
    const doomed = await server.createRealm('doomed');
    const user = await makeUser(server, doomed.realmId, { emailVerified: true });
    await server.db.prisma.userActivity.create({
      data: { realmId: doomed.realmId, userId: user.id, period: new Date('2026-03-29T00:00:00Z') },
    });
    await server.db.prisma.loginEvent.create({
      data: { realmId: doomed.realmId, userId: user.id, success: true, method: 'password' },
    });
    expect(Object.keys(await kept(doomed.realmId)).length).toBeGreaterThan(0);
    const before = await kept();
    await server.db.prisma.realm.delete({ where: { id: doomed.realmId } });
    const left = await server.db.rawQuery<{ n: bigint }>(
      `SELECT (SELECT count(*) FROM "AnalyticsCount" WHERE "realmId" = '${doomed.realmId}')
            + (SELECT count(*) FROM "AnalyticsCountDelta" WHERE "realmId" = '${doomed.realmId}') AS n`,
    );
    expect(Number(left[0]!.n)).toBe(0);
    expect(await kept()).toEqual(before);
    await expectExact();
  });

  it('answers without a filter from the counts, in one statement', async () => {
    const range = { interval: 'DAY' as const, from: new Date('2026-03-01'), to: new Date('2026-04-01') };
    const { count, sql } = await server.db.statements.during(async () => (await userGrowth(ctx, range)).buckets());
    expect(count).toBe(1);
    expect(sql[0]).toContain('"AnalyticsCount"');
    expect(sql[0]).not.toMatch(/FROM "UserActivity"/);
    const period = { from: new Date(PERIODS[0]!.from), to: new Date(PERIODS[0]!.to) };
    const overview = await server.db.statements.during(() =>
      userOverview(ctx, { period, compareTo: 'PREVIOUS_PERIOD' }),
    );
    expect(overview.count).toBe(1);
    expect(overview.sql[0]).not.toMatch(/FROM "UserActivity"|FROM "MfaFactor"/);
  });

  it('breaks every user down by role, tenant and MFA type from the counts, as a pass over the users does', async () => {
    const p = server.db.prisma;
    const [reader, writer] = await Promise.all(
      ['Reader', 'Writer'].map((name) => p.role.create({ data: { realmId, name: `${name} ${Date.now()}` } })),
    );
    const tenant = await p.tenant.create({ data: { realmId, name: 'Counted', slug: `counted-${Date.now()}` } });
    const users = await Promise.all(Array.from({ length: 5 }, () => makeUser(server, realmId)));
    for (const [i, user] of users.entries()) {
      await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: user.id } });
      await p.userRole.create({ data: { realmId, userId: user.id, roleId: (i % 2 ? reader : writer)!.id } });
      // Held realm-wide and in the tenant: one holder.
      if (i < 2)
        await p.userRole.create({ data: { realmId, userId: user.id, roleId: writer!.id, tenantId: tenant.id } });
      await p.mfaFactor.create({ data: { realmId, userId: user.id, type: i % 2 ? 'TOTP' : 'WEBAUTHN' } });
      if (i === 0) await p.mfaFactor.create({ data: { realmId, userId: user.id, type: 'TOTP' } });
    }
    // Deleted users keep their rows and count for nothing.
    await server.graphql(DELETE_USER, { input: { id: users[0]!.globalId } });
    await server.graphql(DELETE_USER, { input: { id: users[3]!.globalId } });
    for (const by of ['ROLE', 'TENANT', 'MFA_TYPE'] as const) {
      const counted = await userBreakdown(ctx, { by, first: 100 });
      expect(counted, by).toEqual(await userBreakdown(ctx, { by, filter: {}, first: 100 }));
      expect(counted.total).toBeGreaterThan(0);
    }
  });
});
