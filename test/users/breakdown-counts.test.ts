/**
 * userBreakdown without a filter (by role, tenant, MFA type, sign-in method, status and country)
 * answers from per-realm counts the database keeps in the same transaction as every change
 * (migration `user_breakdown_counts`). Whatever changes the users and the rows that give them
 * values — the API, cascades, direct SQL, concurrent writers, folds — the counts must equal a
 * recount of the rows, and so must the answers with a filter (read from the users' kept state
 * rows): a filter matching every user not deleted (`{}`) or every user (`includeDeleted`).
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type ServiceContext } from '../../src/context.ts';
import type { Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrator.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { userBreakdown } from '../../src/modules/users/users.analytics.ts';
import { breakdownRows, type BreakdownDimension } from '../../src/modules/users/users.analytics.queries.ts';
import { compileUserFilter, userListCondition, type UserFilter } from '../../src/modules/users/users.filter.ts';
import { filterEnvironment } from '../../src/modules/users/users.list.ts';
import { graphql } from '../helpers/documents.ts';
import { makeUser } from '../helpers/fixtures.ts';
import { payloadOf } from '../helpers/graphql.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let realmId: string;
let ctx: ServiceContext;

graphql(`
  fragment UsersBreakdownCountsErrors on UpdateUserPayload {
    userErrors {
      code
    }
  }
`);
const ASSIGN = graphql(`
  mutation UsersBreakdownCountsAssign($input: AssignUserRolesInput!) {
    assignUserRoles(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const REMOVE_ROLE = graphql(`
  mutation UsersBreakdownCountsRemoveRole($input: RemoveUserRoleInput!) {
    removeUserRole(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const ADD_TO_TENANT = graphql(`
  mutation UsersBreakdownCountsAddToTenant($input: UserTenantInput!) {
    addUserToTenant(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const REMOVE_FROM_TENANT = graphql(`
  mutation UsersBreakdownCountsRemoveFromTenant($input: UserTenantInput!) {
    removeUserFromTenant(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const LINK = graphql(`
  mutation UsersBreakdownCountsLink($input: LinkUserIdentityInput!) {
    linkUserIdentity(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const UNLINK = graphql(`
  mutation UsersBreakdownCountsUnlink($input: UnlinkUserIdentityInput!) {
    unlinkUserIdentity(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const SET_PASSWORD = graphql(`
  mutation UsersBreakdownCountsSetPassword($input: SetUserPasswordInput!) {
    setUserPassword(input: $input) {
      ...UsersBreakdownCountsErrors
    }
  }
`);
const DELETE_USER = graphql(`
  mutation UsersBreakdownCountsDelete($input: DeleteUserInput!) {
    deleteUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const RESTORE = graphql(`
  mutation UsersBreakdownCountsRestore($input: UserIdInput!) {
    restoreUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);

const DIMENSIONS: BreakdownDimension[] = ['ROLE', 'TENANT', 'MFA_TYPE', 'AUTH_METHOD', 'STATUS', 'COUNTRY'];
type Counts = Record<string, number>;

/** The realm's maintained counts: the folded ones plus the deltas, by dimension and value. */
async function kept(realm = realmId, db: Database = server.db): Promise<Counts> {
  const rows = await db.rawQuery<{ k: string; n: string }>(`
    SELECT dimension || ' ' || value AS k, sum(n)::text AS n
    FROM (SELECT dimension, value, count AS n FROM "UserBreakdownCount" WHERE "realmId" = '${realm}'
          UNION ALL SELECT dimension, value, delta FROM "UserBreakdownCountDelta" WHERE "realmId" = '${realm}') c
    GROUP BY 1 HAVING sum(n) <> 0`);
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

/**
 * The counts recounted from the rows alone (not the users' kept maps): each live user (or each
 * user the condition `users` selects, then with their number as `users`) once per value, and
 * once per dimension in which they have one.
 */
async function recounted(realm = realmId, db: Database = server.db, users?: string): Promise<Counts> {
  const rows = await db.rawQuery<{ k: string; n: string }>(`
    WITH live AS (SELECT * FROM "User" WHERE "realmId" = '${realm}' AND ${users ?? '"deletedAt" IS NULL'}),
    v AS (
      SELECT 'ROLE' AS d, x."roleId"::text AS v, u.id FROM "UserRole" x JOIN live u ON u.id = x."userId"
      UNION SELECT 'TENANT', x."tenantId"::text, u.id FROM "TenantMembership" x JOIN live u ON u.id = x."userId"
      UNION SELECT 'MFA_TYPE', x.type::text, u.id FROM "MfaFactor" x JOIN live u ON u.id = x."userId"
      UNION SELECT 'STATUS', u.status::text, u.id FROM live u
      UNION SELECT 'COUNTRY', u.country::text, u.id FROM live u WHERE u.country IS NOT NULL
      UNION SELECT 'AUTH_METHOD', 'PASSWORD', u.id FROM live u WHERE u."passwordHash" IS NOT NULL
      UNION SELECT 'AUTH_METHOD', 'EMAIL_CODE', u.id FROM live u WHERE u.email IS NOT NULL AND u."emailVerified"
      UNION SELECT 'AUTH_METHOD', 'PHONE', u.id FROM live u WHERE u.phone IS NOT NULL AND u."phoneVerified"
      UNION SELECT 'AUTH_METHOD', 'OAUTH', u.id FROM live u WHERE EXISTS (SELECT 1 FROM "Identity" i WHERE i."userId" = u.id)
      UNION SELECT 'AUTH_METHOD', 'PASSKEY', u.id FROM live u
        WHERE EXISTS (SELECT 1 FROM "MfaFactor" f WHERE f."userId" = u.id AND f.type = 'WEBAUTHN')
    )
    SELECT d || ' ' || v AS k, count(*)::text AS n FROM v GROUP BY 1
    UNION ALL SELECT 'valued ' || d, count(DISTINCT id)::text FROM v GROUP BY d
    UNION ALL SELECT 'users', count(*)::text FROM live HAVING ${users ? 'TRUE' : 'FALSE'}`);
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]));
}

/** A breakdown as recounted from the rows: largest first, ties by value. */
function expectedBreakdown(counts: Counts, by: BreakdownDimension, users: number) {
  const rows = Object.entries(counts)
    .filter(([key]) => key.startsWith(`${by} `))
    .map(([key, count]) => ({ value: key.slice(by.length + 1), count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const valued = counts[`valued ${by}`] ?? 0;
  return { total: users, withoutValue: users - valued, valueCount: rows.length, rows };
}

/** A breakdown's figures, each row by the value (a role's or tenant's id). */
function figuresOf(breakdown: Awaited<ReturnType<typeof userBreakdown>>) {
  return {
    total: breakdown.total,
    withoutValue: breakdown.withoutValue,
    valueCount: breakdown.valueCount,
    rows: breakdown.rows.map((row) => ({
      value: row.by === 'ROLE' ? row.role.id : row.by === 'TENANT' ? row.tenant.id : row.value,
      count: row.count,
    })),
  };
}

/** The counts equal a recount, and every counted answer the one counted from the rows. */
async function expectExact(): Promise<Counts> {
  const counts = await kept();
  expect(counts).toEqual(await recounted());
  const live = await server.db.prisma.user.count({ where: { realmId, deletedAt: null } });
  const filtered: [UserFilter, string][] = [
    [{ includeDeleted: true }, 'TRUE'],
    [{ countries: ['DE'] }, `"deletedAt" IS NULL AND country = 'DE'`],
    // Filters most users may match, some unknown (null) for users without a country.
    [{ emailVerified: true }, `"deletedAt" IS NULL AND "emailVerified"`],
    [{ NOT: { countries: ['DE'] } }, `"deletedAt" IS NULL AND country <> 'DE'`],
    [
      { OR: [{ countries: ['FR'] }, { hasMfa: true }] },
      `"deletedAt" IS NULL AND (country = 'FR' OR EXISTS (SELECT 1 FROM "MfaFactor" f WHERE f."userId" = "User".id))`,
    ],
  ];
  for (const by of DIMENSIONS) {
    const counted = await userBreakdown(ctx, { by, first: 100 });
    expect(counted, by).toEqual(await userBreakdown(ctx, { by, filter: {}, first: 100 }));
    expect(figuresOf(counted), by).toEqual(expectedBreakdown(counts, by, live));
    expect(await bothRoutes(by, {}), by).toEqual(expectedBreakdown(counts, by, live));
    for (const [filter, users] of filtered) {
      const recount = await recounted(realmId, server.db, users);
      const expected = expectedBreakdown(recount, by, recount.users ?? 0);
      const label = `${by} ${users}`;
      expect(figuresOf(await userBreakdown(ctx, { by, filter, first: 100 })), label).toEqual(expected);
      if (!filter.includeDeleted) expect(await bothRoutes(by, filter), label).toEqual(expected);
    }
  }
  return counts;
}

/**
 * A filtered breakdown counted both ways `userBreakdown` may take, which must agree: a pass over
 * the matching users, and every live user's maintained counts less the users the filter leaves out.
 */
async function bothRoutes(by: BreakdownDimension, filter: UserFilter) {
  const env = await filterEnvironment(ctx, filter);
  const where = userListCondition(filter, env);
  const [pass, complement] = await Promise.all(
    [null, compileUserFilter(filter, env)].map(async (complementOf) => {
      const rows = await breakdownRows(server.db.prisma, realmId, by, null, where, 100, complementOf);
      const head = rows[0]!;
      return {
        total: head.total,
        withoutValue: head.total - head.valued,
        valueCount: head.values,
        rows: rows.flatMap((row) => (row.value === null ? [] : [{ value: row.value, count: row.count }])),
      };
    }),
  );
  expect(complement, `${by} ${JSON.stringify(filter)}`).toEqual(pass);
  return pass;
}

/** A mutation that succeeded. */
const ok = (result: GraphQLResult<Record<string, unknown>>) => {
  expect(payloadOf<{ userErrors: unknown[] }>(result).userErrors).toEqual([]);
};

const roleGid = (id: string) => encodeGlobalId('Role', id);
const tenantGid = (id: string) => encodeGlobalId('Tenant', id);

async function newRole(name: string): Promise<string> {
  return (await server.db.prisma.role.create({ data: { realmId, name: `${name} ${randomUUID()}` } })).id;
}
async function newTenant(name: string): Promise<string> {
  const slug = `${name}-${randomUUID()}`.toLowerCase();
  return (await server.db.prisma.tenant.create({ data: { realmId, name, slug } })).id;
}

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  ctx = systemContext(server.db.prisma, realmId);
}, 120_000);

afterAll(() => server?.close());

// The embedded database runs one transaction at a time: the others queue.
const PATIENT = { maxWait: 30_000, timeout: 30_000 };

describe('userBreakdown from maintained counts', () => {
  it('stays exact through assignments, deletes, restores, factors, identities and credentials', async () => {
    const p = server.db.prisma;
    const [admin, viewer] = [await newRole('Admin'), await newRole('Viewer')];
    const [north, south] = [await newTenant('North'), await newTenant('South')];
    const user = await makeUser(server, realmId, { country: 'DE' });
    const other = await makeUser(server, realmId, { country: 'FR', phone: '+4915112345678', phoneVerified: true });
    await expectExact();

    // A role held realm-wide and in a tenant counts its holder once; taking one leaves them counted.
    ok(await server.graphql(ASSIGN, { input: { userId: user.globalId, roleIds: [roleGid(admin)] } }));
    ok(await server.graphql(ADD_TO_TENANT, { input: { userId: user.globalId, tenantId: tenantGid(north) } }));
    ok(
      await server.graphql(ASSIGN, {
        input: { userId: user.globalId, roleIds: [roleGid(admin), roleGid(viewer)], tenantId: tenantGid(north) },
      }),
    );
    ok(await server.graphql(ASSIGN, { input: { userId: other.globalId, roleIds: [roleGid(viewer)] } }));
    let counts = await expectExact();
    expect(counts[`ROLE ${admin}`]).toBe(1);
    expect(counts[`ROLE ${viewer}`]).toBe(2);
    expect(counts['valued ROLE']).toBeGreaterThanOrEqual(2);
    ok(await server.graphql(REMOVE_ROLE, { input: { userId: user.globalId, roleId: roleGid(admin) } }));
    expect((await expectExact())[`ROLE ${admin}`]).toBe(1);
    ok(
      await server.graphql(REMOVE_ROLE, {
        input: { userId: user.globalId, roleId: roleGid(admin), tenantId: tenantGid(north) },
      }),
    );
    expect((await expectExact())[`ROLE ${admin}`]).toBeUndefined();
    ok(await server.graphql(ADD_TO_TENANT, { input: { userId: other.globalId, tenantId: tenantGid(south) } }));
    expect((await expectExact())[`TENANT ${south}`]).toBe(1);
    ok(await server.graphql(REMOVE_FROM_TENANT, { input: { userId: other.globalId, tenantId: tenantGid(south) } }));
    expect((await expectExact())[`TENANT ${south}`]).toBeUndefined();

    // Soft-deleted: counted nowhere; restored: counted again with everything they hold.
    ok(await server.graphql(ADD_TO_TENANT, { input: { userId: user.globalId, tenantId: tenantGid(south) } }));
    await p.mfaFactor.create({ data: { realmId, userId: user.id, type: 'TOTP' } });
    const before = await expectExact();
    expect((await server.graphql(DELETE_USER, { input: { id: user.globalId } })).data?.deleteUser.userErrors).toEqual(
      [],
    );
    counts = await expectExact();
    expect(counts[`TENANT ${north}`]).toBeUndefined();
    expect(counts['STATUS ACTIVE']).toBe(before['STATUS ACTIVE']! - 1);
    expect((await server.graphql(RESTORE, { input: { id: user.globalId } })).data?.restoreUser.userErrors).toEqual([]);
    expect(await expectExact()).toEqual(before);

    // Factors: two of a type count once; a passkey is also a sign-in method.
    const passkeys = await Promise.all(
      ['a', 'b'].map((credentialId) =>
        p.mfaFactor.create({ data: { realmId, userId: user.id, type: 'WEBAUTHN', credentialId } }),
      ),
    );
    counts = await expectExact();
    expect(counts['MFA_TYPE WEBAUTHN']).toBe(1);
    expect(counts['AUTH_METHOD PASSKEY']).toBe(1);
    await p.mfaFactor.delete({ where: { id: passkeys[0]!.id } });
    expect((await expectExact())['AUTH_METHOD PASSKEY']).toBe(1);
    await p.mfaFactor.delete({ where: { id: passkeys[1]!.id } });
    expect((await expectExact())['AUTH_METHOD PASSKEY']).toBeUndefined();
    // A factor's use (its counters updated) changes nothing.
    await p.mfaFactor.updateMany({ where: { userId: user.id }, data: { lastUsedStep: 7 } });
    await expectExact();

    // A password set (so the last identity may go), then identities of two providers: one OAuth
    // user until both are unlinked.
    ok(await server.graphql(SET_PASSWORD, { input: { id: user.globalId, password: 'Quiet-lantern-harbor-2024' } }));
    expect((await expectExact())['AUTH_METHOD PASSWORD']).toBeGreaterThanOrEqual(1);
    const identities = ['google', 'github'].map((provider) => ({
      userId: user.globalId,
      provider,
      providerUserId: '1',
    }));
    for (const identity of identities) ok(await server.graphql(LINK, { input: identity }));
    expect((await expectExact())['AUTH_METHOD OAUTH']).toBe(1);
    ok(await server.graphql(UNLINK, { input: identities[0]! }));
    expect((await expectExact())['AUTH_METHOD OAUTH']).toBe(1);
    ok(await server.graphql(UNLINK, { input: identities[1]! }));
    expect((await expectExact())['AUTH_METHOD OAUTH']).toBeUndefined();

    // Password cleared, email verified, phone unverified, status and country changed.
    await p.user.update({ where: { id: user.id }, data: { passwordHash: null } });
    await p.user.update({ where: { id: user.id }, data: { emailVerified: true } });
    await p.user.update({
      where: { id: other.id },
      data: { phoneVerified: false, country: null, status: 'SUSPENDED' },
    });
    await expectExact();

    // Hard-deleted: the cascade removes its rows after the user's row, which still says what it held.
    ok(await server.graphql(ADD_TO_TENANT, { input: { userId: other.globalId, tenantId: tenantGid(north) } }));
    await p.mfaFactor.create({ data: { realmId, userId: other.id, type: 'WEBAUTHN', credentialId: 'c' } });
    ok(await server.graphql(LINK, { input: { userId: other.globalId, provider: 'google', providerUserId: '2' } }));
    await expectExact();
    const hard = await server.graphql(DELETE_USER, { input: { id: other.globalId, hard: true } });
    expect(hard.data?.deleteUser.userErrors).toEqual([]);
    counts = await expectExact();
    expect(counts[`ROLE ${viewer}`]).toBe(1);

    // A role or tenant deleted takes its assignments and memberships, and its count, with it.
    await p.role.delete({ where: { id: viewer } });
    await p.tenant.delete({ where: { id: north } });
    counts = await expectExact();
    expect(Object.keys(counts).filter((key) => key.includes(viewer) || key.includes(north))).toEqual([]);
    await p.tenantMembership.deleteMany({ where: { userId: user.id, tenantId: south } });

    // Direct SQL, many users and rows per statement.
    await server.db.rawQuery(`
      INSERT INTO "User" (id, "realmId", email, "emailVerified", country, "passwordHash", "updatedAt")
      SELECT gen_random_uuid(), '${realmId}', 'bulk' || i || '-${randomUUID()}@example.com', i % 2 = 0,
        (ARRAY['DE', 'US', NULL])[1 + i % 3], CASE WHEN i % 4 = 0 THEN 'x' END, now()
      FROM generate_series(1, 30) i`);
    await server.db.rawQuery(`
      INSERT INTO "UserRole" (id, "realmId", "userId", "roleId")
      SELECT gen_random_uuid(), u."realmId", u.id, '${admin}' FROM "User" u
      WHERE u."realmId" = '${realmId}' AND u.email LIKE 'bulk%' AND u."emailVerified"`);
    await server.db.rawQuery(`
      UPDATE "User" SET "deletedAt" = now() WHERE "realmId" = '${realmId}' AND email LIKE 'bulk1%'`);
    counts = await expectExact();
    expect(counts[`ROLE ${admin}`]).toBeGreaterThan(5);
    await server.db.rawQuery(`DELETE FROM "UserRole" WHERE "realmId" = '${realmId}' AND "roleId" = '${admin}'`);
    await expectExact();
  }, 120_000);

  it('counts a filter most users match as every user less those it leaves out, as the planner estimates', async () => {
    // Most of the realm's users verified, so that the planner's estimate says so.
    await server.db.rawQuery(`
      INSERT INTO "User" (id, "realmId", email, "emailVerified", country, "updatedAt")
      SELECT gen_random_uuid(), '${realmId}', 'most' || i || '-${randomUUID()}@example.com', i % 10 <> 0,
        (ARRAY['DE', 'FR', NULL])[1 + i % 3], now()
      FROM generate_series(1, 200) i`);
    await server.db.rawQuery(`ANALYZE "User"`);
    const routeOf = async (by: BreakdownDimension, filter: UserFilter) => {
      const { result, sql } = await server.db.statements.during(() => userBreakdown(ctx, { by, filter, first: 100 }));
      return { result, complement: sql.some((statement) => statement.includes('IS NOT TRUE')) };
    };
    for (const by of DIMENSIONS) {
      const broad = await routeOf(by, { emailVerified: true });
      expect(broad.complement, by).toBe(true);
      expect(figuresOf(broad.result), by).toEqual(await bothRoutes(by, { emailVerified: true }));
      expect((await routeOf(by, { emailVerified: false })).complement, by).toBe(false);
      // Deleted users are not in the counts: a filter that takes them in is counted over the rows.
      expect((await routeOf(by, { emailVerified: true, includeDeleted: true })).complement, by).toBe(false);
    }
    await expectExact();
  });

  it('folding the deltas into the counts changes no answer and leaves no zero count', async () => {
    const before = await expectExact();
    await server.db.rawQuery(`SELECT roster_fold_breakdown_counts('${realmId}')`);
    const pending = await server.db.rawQuery<{ n: bigint }>(
      `SELECT count(*) AS n FROM "UserBreakdownCountDelta" WHERE "realmId" = '${realmId}'`,
    );
    expect(Number(pending[0]!.n)).toBe(0);
    const zero = await server.db.rawQuery<{ n: bigint }>(
      `SELECT count(*) AS n FROM "UserBreakdownCount" WHERE "realmId" = '${realmId}' AND count = 0`,
    );
    expect(Number(zero[0]!.n)).toBe(0);
    expect(await expectExact()).toEqual(before);
  });

  it('answers without a filter from the counts, in one statement', async () => {
    for (const by of DIMENSIONS) {
      const { sql } = await server.db.statements.during(() => userBreakdown(ctx, { by, first: 5 }));
      const breakdown = sql.filter((statement) => statement.includes('"UserBreakdownCount"'));
      expect(breakdown, by).toHaveLength(1);
      expect(breakdown[0]).not.toMatch(/FROM "(User|UserRole|TenantMembership|MfaFactor|Identity)"/);
    }
  });

  it('stays exact under concurrent writers of different users and of one user, and folds', async () => {
    const p = server.db.prisma;
    const role = await newRole('Concurrent');
    const tenants = await Promise.all(['A', 'B', 'C'].map((name) => newTenant(name)));
    const users = await Promise.all(Array.from({ length: 6 }, () => makeUser(server, realmId)));
    const target = users[0]!;
    for (const tenantId of tenants) await p.tenantMembership.create({ data: { realmId, tenantId, userId: target.id } });
    const work: Promise<unknown>[] = [];
    // Two (and more) transactions assigning the role to different users at once.
    for (const user of users.slice(1)) {
      work.push(
        p.$transaction(async (tx) => {
          await tx.userRole.create({ data: { realmId, userId: user.id, roleId: role } });
          await tx.mfaFactor.create({ data: { realmId, userId: user.id, type: 'TOTP' } });
        }, PATIENT),
      );
    }
    // Transactions giving one user the same role in different tenants, and taking some away.
    for (const [i, tenantId] of tenants.entries()) {
      work.push(
        p.$transaction(async (tx) => {
          await tx.userRole.create({ data: { realmId, userId: target.id, roleId: role, tenantId } });
          if (i === 1) await tx.userRole.deleteMany({ where: { userId: target.id, roleId: role, tenantId } });
          // As the API does after changing a user's roles: the user's row after its assignment's.
          await tx.user.update({ where: { id: target.id }, data: { version: { increment: 1 } } });
        }, PATIENT),
      );
      // Meanwhile the user's row changes what its state copies (its row before its state).
      work.push(
        p.user.update({ where: { id: target.id }, data: { country: ['DE', 'FR', 'NL'][i], status: 'ACTIVE' } }),
      );
    }
    work.push(p.userRole.create({ data: { realmId, userId: target.id, roleId: role } }));
    for (let i = 0; i < 3; i++) work.push(server.db.rawQuery(`SELECT roster_fold_breakdown_counts('${realmId}')`));
    work.push(server.graphql(DELETE_USER, { input: { id: users[5]!.globalId } }));
    await Promise.all(work);
    const counts = await expectExact();
    expect(counts[`ROLE ${role}`]).toBe(5);
    expect(counts['MFA_TYPE TOTP']).toBeGreaterThanOrEqual(4);
    await server.db.rawQuery(`SELECT roster_fold_breakdown_counts('${realmId}')`);
    await expectExact();
  });

  it('a realm deleted with its users, roles and factors leaves no counts, and other realms keep theirs', async () => {
    const p = server.db.prisma;
    const doomed = await server.createRealm('doomed');
    const user = await makeUser(server, doomed.realmId, { emailVerified: true, country: 'NL' });
    await makeUser(server, doomed.realmId, { passwordHash: 'x' });
    const role = await p.role.create({ data: { realmId: doomed.realmId, name: 'Doomed' } });
    const tenant = await p.tenant.create({ data: { realmId: doomed.realmId, name: 'Doomed', slug: 'doomed' } });
    await p.tenantMembership.create({ data: { realmId: doomed.realmId, tenantId: tenant.id, userId: user.id } });
    await p.userRole.create({ data: { realmId: doomed.realmId, userId: user.id, roleId: role.id } });
    await p.mfaFactor.create({ data: { realmId: doomed.realmId, userId: user.id, type: 'WEBAUTHN' } });
    await p.identity.create({
      data: { realmId: doomed.realmId, userId: user.id, provider: 'google', providerUserId: 'd' },
    });
    expect(await kept(doomed.realmId)).toEqual(await recounted(doomed.realmId));
    expect((await kept(doomed.realmId))[`ROLE ${role.id}`]).toBe(1);
    const before = await expectExact();
    await p.realm.delete({ where: { id: doomed.realmId } });
    const left = await server.db.rawQuery<{ n: bigint }>(
      `SELECT (SELECT count(*) FROM "UserBreakdownCount" WHERE "realmId" = '${doomed.realmId}')
            + (SELECT count(*) FROM "UserBreakdownCountDelta" WHERE "realmId" = '${doomed.realmId}') AS n`,
    );
    expect(Number(left[0]!.n)).toBe(0);
    expect(await expectExact()).toEqual(before);
  });
});

describe('the user_breakdown_counts migration', () => {
  it('counts the users, assignments, memberships, factors and identities a database already holds', async () => {
    const migrations = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'roster-breakdown-counts-'));
    const database = await createTestDatabase({ migrated: false });
    try {
      // The database as it was before that migration: every earlier one applied, no later one.
      const entries = (await readdir(migrations)).sort();
      const first = entries.find((entry) => entry.includes('_user_breakdown_counts'))!;
      for (const entry of entries.filter((entry) => entry < first || !/^\d/.test(entry))) {
        await cp(path.join(migrations, entry), path.join(scratch, entry), { recursive: true });
      }
      await migrate(database.db, { migrationsDir: scratch });
      const realm = randomUUID();
      for (const statement of [
        `INSERT INTO "Realm" (id, name, "updatedAt") VALUES ('${realm}', 'before', now())`,
        `INSERT INTO "Role" (id, "realmId", name, "updatedAt") SELECT gen_random_uuid(), '${realm}', 'r' || i, now() FROM generate_series(1, 3) i`,
        `INSERT INTO "Tenant" (id, "realmId", name, slug, "updatedAt") SELECT gen_random_uuid(), '${realm}', 't' || i, 't' || i, now() FROM generate_series(1, 2) i`,
        `INSERT INTO "User" (id, "realmId", email, "emailVerified", phone, "phoneVerified", country, "passwordHash", status, "updatedAt", "deletedAt")
        SELECT gen_random_uuid(), '${realm}', 'u' || i || '@example.com', i % 2 = 0, '+1555000' || i, i % 3 = 0,
          (ARRAY['DE', 'US', NULL])[1 + i % 3], CASE WHEN i % 4 = 0 THEN 'x' END,
          (ARRAY['ACTIVE', 'INVITED', 'SUSPENDED'])[1 + i % 3]::"UserStatus", now(), CASE WHEN i % 7 = 0 THEN now() END
        FROM generate_series(1, 60) i`,
        `INSERT INTO "TenantMembership" (id, "realmId", "tenantId", "userId")
        SELECT gen_random_uuid(), u."realmId", t.id, u.id FROM "User" u JOIN "Tenant" t ON t."realmId" = u."realmId"
        WHERE u."realmId" = '${realm}' AND (t.slug = 't1' OR u."emailVerified")`,
        `INSERT INTO "UserRole" (id, "realmId", "userId", "roleId")
        SELECT gen_random_uuid(), u."realmId", u.id, r.id FROM "User" u JOIN "Role" r ON r."realmId" = u."realmId"
        WHERE u."realmId" = '${realm}' AND r.name <> 'r3'`,
        // The same role again inside a tenant: its holders count once.
        `INSERT INTO "UserRole" (id, "realmId", "userId", "roleId", "tenantId")
        SELECT gen_random_uuid(), m."realmId", m."userId", r.id, m."tenantId" FROM "TenantMembership" m
        JOIN "Role" r ON r."realmId" = m."realmId" AND r.name IN ('r1', 'r3') WHERE m."realmId" = '${realm}'`,
        `INSERT INTO "MfaFactor" (id, "realmId", "userId", type, "credentialId")
        SELECT gen_random_uuid(), "realmId", id, t.type::"MfaFactorType", CASE WHEN t.type = 'WEBAUTHN' THEN gen_random_uuid()::text END
        FROM "User", (VALUES ('TOTP'), ('WEBAUTHN'), ('WEBAUTHN')) t (type)
        WHERE "realmId" = '${realm}' AND status = 'ACTIVE'`,
        `INSERT INTO "Identity" (id, "realmId", "userId", provider, "providerUserId")
        SELECT gen_random_uuid(), "realmId", id, 'google', id::text FROM "User" WHERE "realmId" = '${realm}' AND "phoneVerified"`,
      ]) {
        await database.db.rawQuery(statement);
      }
      await migrate(database.db);
      const counts = await kept(realm, database.db);
      expect(counts).toEqual(await recounted(realm, database.db));
      expect(Object.keys(counts).filter((key) => key.startsWith('ROLE ')).length).toBe(3);
      expect(counts['AUTH_METHOD PASSKEY']).toBeGreaterThan(0);
      const other = systemContext(database.db.prisma, realm);
      for (const by of DIMENSIONS) {
        const counted = await userBreakdown(other, { by, first: 100 });
        expect(counted, by).toEqual(await userBreakdown(other, { by, filter: {}, first: 100 }));
      }
    } finally {
      await database.dispose();
      await rm(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});
