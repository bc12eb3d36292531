/**
 * `userStats` without a filter answers from per-realm counts the database keeps in the same
 * transaction as every change (migration `user_counts_triggers`). Whatever changes the users — the API,
 * bulk calls, the sign-in runtime's service functions, cascades, direct SQL, concurrent writers —
 * its answer must equal a COUNT over the rows.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/context.ts';
import type { Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrator.ts';
import { userStats } from '../../src/modules/users/users.analytics.ts';
import { enrolTotp, newTotpSecret } from '../../src/modules/users/users.mfa.ts';
import { Secret, TOTP } from 'otpauth';
import { graphql } from '../helpers/documents.ts';
import { makeUser, userGid as gid } from '../helpers/fixtures.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let realmId: string;
const DAY = 86_400_000;
const MINUTE = 60_000;

const STATS = graphql(`
  query UsersStatsCounts {
    userStats {
      ...TestUserStats
    }
    scanned: userStats(filter: { statuses: [INVITED, PENDING_VERIFICATION, ACTIVE, INACTIVE, SUSPENDED, DELETED] }) {
      ...TestUserStats
    }
    everyone: users(first: 0) {
      totalCount
    }
    withDeleted: users(first: 1, filter: { includeDeleted: true }) {
      totalCount
    }
    activeOrSuspended: users(first: 0, filter: { statuses: [ACTIVE, SUSPENDED, ACTIVE] }) {
      totalCount
    }
    activePage: users(first: 2, filter: { statuses: [ACTIVE] }) {
      totalCount
    }
  }
  fragment TestUserStats on UserStats {
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
`);
const STATS_ONLY = graphql(`
  query UsersStatsCountsUnfiltered {
    userStats {
      total
      withMfa
      createdLast7Days
      activeLast30Days
    }
  }
`);
const CREATE_USERS = graphql(`
  mutation UsersStatsCountsCreate($input: CreateUsersInput!) {
    createUsers(input: $input) {
      results {
        user {
          id
        }
      }
    }
  }
`);
const SET_STATUS = graphql(`
  mutation UsersStatsCountsSetStatus($input: SetUserStatusInput!) {
    setUserStatus(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const UPDATE_USER = graphql(`
  mutation UsersStatsCountsUpdate($input: UpdateUserInput!) {
    updateUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const DELETE_USER = graphql(`
  mutation UsersStatsCountsDelete($input: DeleteUserInput!) {
    deleteUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const DELETE_USERS = graphql(`
  mutation UsersStatsCountsDeleteMany($input: DeleteUsersInput!) {
    deleteUsers(input: $input) {
      deletedCount
      userErrors {
        code
      }
    }
  }
`);
const RESTORE = graphql(`
  mutation UsersStatsCountsRestore($input: UserIdInput!) {
    restoreUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const RESET_MFA = graphql(`
  mutation UsersStatsCountsResetMfa($input: UserIdInput!) {
    resetUserMfa(input: $input) {
      userErrors {
        code
      }
    }
  }
`);

interface Totals {
  total: number;
  emailVerified: number;
  phoneVerified: number;
  withMfa: number;
  createdLast7Days: number;
  createdLast30Days: number;
  activeLast30Days: number;
  byStatus: { status: string; count: number }[];
}

const STATUSES = ['INVITED', 'PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED', 'DELETED'];

/** The totals as a COUNT over the realm's rows (factors by EXISTS, as the API counted them before). */
async function counted(realm = realmId, db: Database = server.db): Promise<Totals> {
  const [row] = await db.rawQuery<Record<string, bigint | number>>(`
    SELECT count(*) AS total,
      ${STATUSES.map((s) => `count(*) FILTER (WHERE u.status = '${s}') AS "s_${s}"`).join(', ')},
      count(*) FILTER (WHERE u."emailVerified") AS "emailVerified",
      count(*) FILTER (WHERE u."phoneVerified") AS "phoneVerified",
      count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "MfaFactor" f WHERE f."realmId" = u."realmId" AND f."userId" = u.id)) AS "withMfa",
      count(*) FILTER (WHERE u."createdAt" >= now() - interval '7 days') AS "createdLast7Days",
      count(*) FILTER (WHERE u."createdAt" >= now() - interval '30 days') AS "createdLast30Days",
      count(*) FILTER (WHERE COALESCE(u."lastActiveAt", u."lastLoginAt") >= now() - interval '30 days') AS "activeLast30Days"
    FROM "User" u WHERE u."realmId" = '${realm}' AND u."deletedAt" IS NULL`);
  const n = (key: string) => Number(row![key]);
  return {
    total: n('total'),
    emailVerified: n('emailVerified'),
    phoneVerified: n('phoneVerified'),
    withMfa: n('withMfa'),
    createdLast7Days: n('createdLast7Days'),
    createdLast30Days: n('createdLast30Days'),
    activeLast30Days: n('activeLast30Days'),
    byStatus: STATUSES.map((status) => ({ status, count: n(`s_${status}`) })),
  };
}

/** Both paths of userStats (counts, and a filter scanning the users) answer what COUNT says. */
async function expectExact(): Promise<Totals> {
  const result = await server.graphql(STATS);
  expect(result.errors).toBeUndefined();
  const expected = await counted();
  expect(result.data!.userStats).toEqual(expected);
  expect(result.data!.scanned).toEqual(expected);
  // users' totalCount reads the same counts when the filter is by status at most.
  const byStatus = (status: string) => expected.byStatus.find((entry) => entry.status === status)!.count;
  expect(result.data!.everyone.totalCount).toBe(expected.total);
  expect(result.data!.withDeleted.totalCount).toBe(await server.db.prisma.user.count({ where: { realmId } }));
  expect(result.data!.activeOrSuspended.totalCount).toBe(byStatus('ACTIVE') + byStatus('SUSPENDED'));
  expect(result.data!.activePage.totalCount).toBe(byStatus('ACTIVE'));
  return expected;
}

const code = (secret: string) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate();

async function createUsers(count: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const users = Array.from({ length: count }, () => ({ email: `${randomUUID()}@example.com`, ...extra }));
  const payload = payloadOf(await server.graphql(CREATE_USERS, { input: { users } }));
  return payload.results.map((r) => rawId(r.user!.id));
}

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
}, 120_000);

afterAll(() => server?.close());

// The embedded database runs one transaction at a time: the others queue.
const PATIENT = { maxWait: 30_000, timeout: 30_000 };

describe('userStats from maintained counts', () => {
  it('starts from the rows a realm had, and without a filter reads the counts in one statement', async () => {
    await expectExact();
    const { count, sql } = await server.db.statements.during(() => server.graphql(STATS_ONLY));
    expect(count).toBe(1);
    expect(sql[0]).toContain('"UserCount"');
  });

  it('stays exact through creates, status changes, deletes, restores, MFA and direct SQL', async () => {
    const p = server.db.prisma;
    const now = Date.now();
    const created = await createUsers(4, { emailVerified: true });
    await createUsers(2, { phone: '+14155550123', phoneVerified: true, status: 'INVITED' });
    // Either side of each window's boundary, and inside the boundary's hour.
    for (const at of [7 * DAY - 5 * MINUTE, 7 * DAY + 5 * MINUTE, 30 * DAY - 5 * MINUTE, 30 * DAY + 5 * MINUTE]) {
      await makeUser(server, realmId, { createdAt: new Date(now - at) });
    }
    await makeUser(server, realmId, { lastActiveAt: new Date(now - 30 * DAY + 5 * MINUTE) });
    await makeUser(server, realmId, { lastLoginAt: new Date(now - 30 * DAY + 5 * MINUTE) });
    await makeUser(server, realmId, { lastActiveAt: new Date(now - 30 * DAY - 5 * MINUTE), lastLoginAt: new Date() });
    await makeUser(server, realmId, { createdAt: new Date(now + DAY), lastActiveAt: new Date(now + DAY) });
    let totals = await expectExact();
    expect(totals).toMatchObject({ createdLast7Days: 11, createdLast30Days: 13, activeLast30Days: 3 });

    const [a, b, c, d] = created as [string, string, string, string];
    await server.graphql(SET_STATUS, { input: { id: gid(a), status: 'SUSPENDED', reason: 'Counting' } });
    await server.graphql(SET_STATUS, { input: { id: gid(b), status: 'INACTIVE' } });
    await server.graphql(UPDATE_USER, { input: { id: gid(c), patch: { emailVerified: false, phoneVerified: true } } });
    // A sign-in moves a user's activity to now.
    await p.user.update({ where: { id: d }, data: { lastLoginAt: new Date(), lastActiveAt: new Date() } });
    await expectExact();

    await server.graphql(DELETE_USER, { input: { id: gid(a) } });
    totals = await expectExact();
    await server.graphql(RESTORE, { input: { id: gid(a) } });
    expect((await expectExact()).total).toBe(totals.total + 1);
    await server.graphql(DELETE_USER, { input: { id: gid(b), hard: true } });
    await expectExact();

    // MFA: enrolment as the sign-in runtime does it, a second factor, a reset, a direct delete.
    const ctx = systemContext(p, realmId);
    const { secret } = newTotpSecret('Roster', 'stats@example.com');
    const enrolment = await enrolTotp(ctx, Buffer.alloc(32, 1), { userId: c, secret, code: code(secret) });
    expect(enrolment.userErrors).toEqual([]);
    expect((await expectExact()).withMfa).toBe(1);
    await p.mfaFactor.createMany({
      data: [
        { realmId, userId: d, type: 'WEBAUTHN', credentialId: 'one' },
        { realmId, userId: d, type: 'WEBAUTHN', credentialId: 'two' },
        { realmId, userId: a, type: 'WEBAUTHN', credentialId: 'three' },
      ],
    });
    expect((await expectExact()).withMfa).toBe(3);
    await server.graphql(RESET_MFA, { input: { id: gid(c) } });
    await p.mfaFactor.deleteMany({ where: { userId: d, credentialId: 'one' } });
    expect((await expectExact()).withMfa).toBe(2);
    // A deleted user's factors do not count; restored, they count again.
    await server.graphql(DELETE_USER, { input: { id: gid(a) } });
    expect((await expectExact()).withMfa).toBe(1);
    await server.graphql(RESTORE, { input: { id: gid(a) } });
    expect((await expectExact()).withMfa).toBe(2);

    // Bulk: a filtered soft delete, then a hard one of the deleted.
    const bulk = await server.graphql(DELETE_USERS, { input: { filter: { statuses: ['INVITED'] } } });
    expect(payloadOf(bulk).deletedCount).toBe(2);
    await expectExact();
    await server.graphql(DELETE_USERS, {
      input: { filter: { statuses: ['INVITED'], includeDeleted: true }, hard: true },
    });
    await expectExact();

    // Direct SQL, several rows a statement, and a hard delete cascading to factors.
    await server.db.rawQuery(
      `UPDATE "User" SET status = 'INACTIVE', "emailVerified" = NOT "emailVerified" WHERE "realmId" = '${realmId}' AND status = 'ACTIVE' AND "createdAt" < now() - interval '1 day'`,
    );
    await expectExact();
    await server.db.rawQuery(`DELETE FROM "User" WHERE "realmId" = '${realmId}' AND id = '${d}'`);
    expect((await expectExact()).withMfa).toBe(1);

    // A change rolled back leaves no trace in the counts.
    await expect(
      p.$transaction(async (tx) => {
        await tx.user.create({ data: { realmId, email: 'rolled-back@example.com' } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await expectExact();
  });

  it('folding the deltas into the counts changes no answer', async () => {
    await createUsers(3);
    const before = await expectExact();
    const pending = async () =>
      Number(
        (
          await server.db.rawQuery<{ n: bigint }>(
            `SELECT count(*) AS n FROM "UserCountDelta" WHERE "realmId" = '${realmId}'`,
          )
        )[0]!.n,
      );
    await server.db.rawQuery(`SELECT roster_fold_user_counts('${realmId}')`);
    expect(await pending()).toBe(0);
    expect(await expectExact()).toEqual(before);
    // A writer folds now and then itself (one changing statement in 32): add users until one
    // leaves its delta pending.
    let added = 0;
    do {
      await createUsers(1);
      added++;
    } while ((await pending()) === 0 && added < 10);
    expect(await pending()).toBeGreaterThan(0);
    expect((await expectExact()).total).toBe(before.total + added);
    // Writers fold now and then (one changing statement in 32): 300 tries leave nothing pending.
    await server.db.rawQuery(
      `SELECT roster_maybe_fold_user_counts(ARRAY['${realmId}']::uuid[]) FROM generate_series(1, 300)`,
    );
    expect(await pending()).toBe(0);
    expect((await expectExact()).total).toBe(before.total + added);
  });

  it('stays exact under concurrent writers and folds', async () => {
    const p = server.db.prisma;
    const ids = await createUsers(12);
    const [target] = ids as [string];
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) work.push(createUsers(2, { emailVerified: i % 2 === 0 }));
    for (const id of ids.slice(1, 5)) {
      work.push(server.graphql(SET_STATUS, { input: { id: gid(id), status: 'SUSPENDED', reason: 'Busy' } }));
    }
    for (const id of ids.slice(5, 8)) work.push(server.graphql(DELETE_USER, { input: { id: gid(id) } }));
    work.push(server.graphql(DELETE_USER, { input: { id: gid(ids[8]!), hard: true } }));
    // Several transactions adding and removing the same user's factors at once.
    for (let i = 0; i < 6; i++) {
      work.push(
        p.$transaction(async (tx) => {
          await tx.mfaFactor.create({ data: { realmId, userId: target, type: 'WEBAUTHN', credentialId: `c${i}` } });
          if (i % 3 === 0) await tx.mfaFactor.deleteMany({ where: { userId: target, credentialId: `c${i}` } });
        }, PATIENT),
      );
    }
    for (let i = 0; i < 3; i++) work.push(server.db.rawQuery(`SELECT roster_fold_user_counts('${realmId}')`));
    for (const id of ids.slice(9)) {
      work.push(p.user.update({ where: { id }, data: { lastLoginAt: new Date(), phoneVerified: true } }));
    }
    await Promise.all(work);
    const totals = await expectExact();
    expect(totals.withMfa).toBeGreaterThan(0);
    await server.db.rawQuery(`SELECT roster_fold_user_counts('${realmId}')`);
    await expectExact();
  });

  it('a realm deleted with its users and factors leaves no counts, and other realms keep theirs', async () => {
    const doomed = await server.createRealm('doomed');
    const user = await makeUser(server, doomed.realmId, { emailVerified: true });
    await makeUser(server, doomed.realmId);
    await server.db.prisma.mfaFactor.create({ data: { realmId: doomed.realmId, userId: user.id, type: 'TOTP' } });
    expect((await counted(doomed.realmId)).total).toBe(2);
    const before = await expectExact();
    await server.db.prisma.realm.delete({ where: { id: doomed.realmId } });
    const left = await server.db.rawQuery<{ n: bigint }>(
      `SELECT (SELECT count(*) FROM "UserCount" WHERE "realmId" = '${doomed.realmId}')
            + (SELECT count(*) FROM "UserCountDelta" WHERE "realmId" = '${doomed.realmId}') AS n`,
    );
    expect(Number(left[0]!.n)).toBe(0);
    expect(await expectExact()).toEqual(before);
  });
});

describe('the user_counts_triggers migration', () => {
  it('counts the users and factors a database already holds', { timeout: 120_000 }, async () => {
    const migrations = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'roster-user-counts-'));
    const database = await createTestDatabase({ migrated: false });
    try {
      for (const entry of await readdir(migrations)) {
        if (!entry.includes('_user_count'))
          await cp(path.join(migrations, entry), path.join(scratch, entry), { recursive: true });
      }
      await migrate(database.db, { migrationsDir: scratch });
      const realm = randomUUID();
      for (const statement of [
        `INSERT INTO "Realm" (id, name, "updatedAt") VALUES ('${realm}', 'before', now())`,
        `INSERT INTO "User" (id, "realmId", email, "emailVerified", "phoneVerified", status, "createdAt", "updatedAt", "lastLoginAt", "lastActiveAt", "deletedAt")
        SELECT gen_random_uuid(), '${realm}', 'u' || i || '@example.com', i % 2 = 0, i % 3 = 0,
          (ARRAY['ACTIVE', 'INVITED', 'SUSPENDED'])[1 + i % 3]::"UserStatus", now() - i * interval '1 day', now(),
          CASE WHEN i % 4 = 0 THEN now() - i * interval '1 day' END, CASE WHEN i % 5 = 0 THEN now() - i * interval '12 hours' END,
          CASE WHEN i % 7 = 0 THEN now() END
        FROM generate_series(1, 60) i`,
        `INSERT INTO "MfaFactor" (id, "realmId", "userId", type)
        SELECT gen_random_uuid(), "realmId", id, 'TOTP' FROM "User" WHERE "realmId" = '${realm}' AND "emailVerified"`,
        `INSERT INTO "MfaFactor" (id, "realmId", "userId", type)
        SELECT gen_random_uuid(), "realmId", id, 'WEBAUTHN' FROM "User" WHERE "realmId" = '${realm}' AND status = 'ACTIVE'`,
      ]) {
        await database.db.rawQuery(statement);
      }
      await migrate(database.db);
      const stats = await userStats(systemContext(database.db.prisma, realm), null);
      const expected = await counted(realm, database.db);
      expect(stats).toEqual(expected);
      expect(stats.withMfa).toBeGreaterThan(0);
    } finally {
      await database.dispose();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
