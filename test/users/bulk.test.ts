import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import type { BulkUpdateUsersInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { adminRoleId, createApplication, makeRole, makeUser } from '../helpers/fixtures.ts';
import { expectRefused, expectTopLevelError, missingId, payloadOf } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { relyingParty, signIn } from '../helpers/sign-in.ts';
import { expectUnchanged } from '../helpers/state.ts';

const BULK = graphql(`
  mutation UsersBulkUpdate($input: BulkUpdateUsersInput!) {
    bulkUpdateUsers(input: $input) {
      action
      dryRun
      matchedCount
      changedCount
      skippedCount
      failedCount
      skipped {
        reason
        count
        userIds
      }
      failed {
        code
        message
        count
        userIds
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

let server: TestServer;
let realmId: string;
let consoleSpies: MockInstance[];

const db = () => server.db.prisma;
const unique = () => `b${randomBytes(5).toString('hex')}`;
const gid = (id: string) => encodeGlobalId('User', id);

async function bulk(input: BulkUpdateUsersInput, token?: string) {
  return payloadOf(await server.graphql(BULK, { input }, token));
}

/** `count` users in one statement, all in city `city` (a filter marker), in id order. */
async function makeUsers(
  count: number,
  city: string,
  data: Omit<Prisma.UserCreateManyInput, 'realmId'> = {},
): Promise<string[]> {
  const rows = await db().user.createManyAndReturn({
    data: Array.from({ length: count }, (_, i) => ({
      realmId,
      email: `${city}-${i}-${unique()}@example.com`,
      city,
      ...data,
    })),
    select: { id: true },
  });
  return rows.map((row) => row.id).sort();
}

/** One active session with two refresh tokens (one rotated) per user; the session ids by user. */
async function giveSessions(userIds: readonly string[]): Promise<Map<string, string>> {
  const expiresAt = new Date(Date.now() + 86_400_000);
  const sessions = await db().session.createManyAndReturn({
    data: userIds.map((userId) => ({ realmId, userId, expiresAt, userAgent: 'test' })),
    select: { id: true, userId: true },
  });
  await db().refreshToken.createMany({
    data: sessions.flatMap((s) =>
      [new Date(), null].map((rotatedAt) => ({
        realmId,
        sessionId: s.id,
        tokenHash: randomBytes(32).toString('hex'),
        expiresAt,
        rotatedAt,
      })),
    ),
  });
  return new Map(sessions.map((s) => [s.userId, s.id]));
}

const usersById = async (ids: readonly string[]) =>
  new Map((await db().user.findMany({ where: { id: { in: [...ids] } } })).map((u) => [u.id, u]));

const auditOf = (ids: readonly string[], action?: string) =>
  db().auditEvent.findMany({
    where: { realmId, targetId: { in: [...ids] }, ...(action ? { action } : {}) },
    orderBy: { targetId: 'asc' },
  });

/** The counts part of an answer, for comparing a dry run with the real call. */
const countsOf = (payload: Awaited<ReturnType<typeof bulk>>) => {
  const { dryRun: _dryRun, ...rest } = payload;
  return rest;
};

beforeAll(async () => {
  consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'info')];
  server = await startTestServer();
  realmId = server.admin.realmId;
}, 120_000);

afterAll(async () => {
  for (const spy of consoleSpies) spy.mockRestore();
  await server?.close();
});

describe('SUSPEND', () => {
  it('by ids: suspends like suspendUser (sessions and refresh tokens revoked, one audit event each) and skips the suspended and the deleted', async () => {
    const city = unique();
    const active = await makeUsers(3, city);
    const sessions = await giveSessions(active);
    const [suspended] = await makeUsers(1, city, { status: 'SUSPENDED', suspendedAt: new Date() });
    const [deleted] = await makeUsers(1, city, { status: 'DELETED', deletedAt: new Date() });
    const before = await usersById(active);

    const result = await bulk({
      ids: [...active, suspended!, deleted!, active[0]!].map(gid),
      action: 'SUSPEND',
      reason: 'Fraud wave',
    });
    expect(result).toEqual({
      action: 'SUSPEND',
      dryRun: false,
      matchedCount: 5,
      changedCount: 3,
      skippedCount: 2,
      failedCount: 0,
      skipped: expect.arrayContaining([
        { reason: 'ALREADY_SUSPENDED', count: 1, userIds: [gid(suspended!)] },
        { reason: 'DELETED', count: 1, userIds: [gid(deleted!)] },
      ]),
      failed: [],
      userErrors: [],
    });
    expect(result.skipped).toHaveLength(2);

    const after = await usersById(active);
    for (const id of active) {
      expect(after.get(id)).toMatchObject({ status: 'SUSPENDED', suspendedReason: 'Fraud wave' });
      expect(after.get(id)!.suspendedAt).toBeInstanceOf(Date);
      expect(after.get(id)!.version).toBe(before.get(id)!.version + 1);
    }
    const revoked = await db().session.findMany({ where: { userId: { in: active } } });
    expect(revoked.map((s) => s.revokedReason)).toEqual(['user_suspended', 'user_suspended', 'user_suspended']);
    expect(await db().refreshToken.count({ where: { session: { userId: { in: active } }, revokedAt: null } })).toBe(0);

    const events = await auditOf([...active, suspended!, deleted!]);
    expect(events.map((e) => [e.targetId, e.action])).toEqual(active.map((id) => [id, 'user.suspended']));
    for (const event of events) {
      expect(event).toMatchObject({ actorType: 'application', actorId: server.admin.clientId, outcome: 'success' });
      expect(event.changes).toEqual({
        status: { before: 'ACTIVE', after: 'SUSPENDED' },
        reason: 'Fraud wave',
        revokedSessionIds: [sessions.get(event.targetId!)],
        bulk: true,
      });
    }
    expect(new Set(events.map((e) => e.requestId)).size).toBe(1);
  });

  it('by filter: only the users matching it; revokeSessions: false keeps their sessions', async () => {
    const city = unique();
    const matching = await makeUsers(4, city);
    const others = await makeUsers(2, unique());
    await giveSessions(matching);
    const result = await bulk({ filter: { cities: [city] }, action: 'SUSPEND', revokeSessions: false });
    expect(result).toMatchObject({ matchedCount: 4, changedCount: 4, skippedCount: 0, failedCount: 0, userErrors: [] });
    const statuses = await usersById([...matching, ...others]);
    expect(matching.map((id) => statuses.get(id)!.status)).toEqual([
      'SUSPENDED',
      'SUSPENDED',
      'SUSPENDED',
      'SUSPENDED',
    ]);
    expect(others.map((id) => statuses.get(id)!.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(await db().session.count({ where: { userId: { in: matching }, revokedAt: null } })).toBe(4);
    expect((await auditOf(matching, 'user.suspended')).map((e) => (e.changes as any).revokedSessionIds)).toEqual([
      [],
      [],
      [],
      [],
    ]);
  });
});

describe('dryRun', () => {
  it('answers the counts the real call then gives, and changes nothing (no audit event either)', async () => {
    const city = unique();
    const active = await makeUsers(3, city);
    await giveSessions(active);
    await makeUsers(2, city, { status: 'SUSPENDED', suspendedAt: new Date() });
    const input: BulkUpdateUsersInput = { filter: { cities: [city] }, action: 'SUSPEND', reason: 'Audit' };
    const dry = await expectUnchanged(server, () => bulk({ ...input, dryRun: true }));
    expect(dry).toMatchObject({ dryRun: true, matchedCount: 5, changedCount: 3, skippedCount: 2 });
    const real = await bulk(input);
    expect(real.dryRun).toBe(false);
    expect(countsOf(real)).toEqual(countsOf(dry));
    // Now every user is suspended: a second dry run says so.
    const again = await expectUnchanged(server, () => bulk({ ...input, dryRun: true }));
    expect(again).toMatchObject({ changedCount: 0, skipped: [{ reason: 'ALREADY_SUSPENDED', count: 5 }] });
  });

  it('changes nothing for an action writing to other tables either (ASSIGN_ROLES, REMOVE_FROM_TENANT)', async () => {
    const city = unique();
    const users = await makeUsers(3, city);
    const role = await makeRole(server, realmId, `Dry ${city}`, []);
    const tenant = await db().tenant.create({ data: { realmId, name: city, slug: city } });
    await db().tenantMembership.createMany({ data: users.map((userId) => ({ realmId, userId, tenantId: tenant.id })) });
    const assign = await expectUnchanged(server, () =>
      bulk({ ids: users.map(gid), action: 'ASSIGN_ROLES', roleIds: [role.globalId], dryRun: true }),
    );
    expect(assign).toMatchObject({ changedCount: 3, userErrors: [] });
    const leave = await expectUnchanged(server, () =>
      bulk({
        filter: { cities: [city] },
        action: 'REMOVE_FROM_TENANT',
        tenantId: encodeGlobalId('Tenant', tenant.id),
        dryRun: true,
      }),
    );
    expect(leave).toMatchObject({ changedCount: 3, userErrors: [] });
  });
});

describe('UNSUSPEND', () => {
  it('by ids and by filter: lifts suspensions like unsuspendUser; skips users not suspended', async () => {
    const city = unique();
    const suspended = await makeUsers(3, city, {
      status: 'SUSPENDED',
      suspendedAt: new Date(),
      suspendedReason: 'Spam',
    });
    const [active] = await makeUsers(1, city);
    const byIds = await bulk({ ids: [suspended[0]!, active!].map(gid), action: 'UNSUSPEND' });
    expect(byIds).toMatchObject({
      matchedCount: 2,
      changedCount: 1,
      skipped: [{ reason: 'NOT_SUSPENDED', count: 1, userIds: [gid(active!)] }],
    });
    const byFilter = await bulk({ filter: { cities: [city], isSuspended: true }, action: 'UNSUSPEND' });
    expect(byFilter).toMatchObject({ matchedCount: 2, changedCount: 2, skippedCount: 0 });
    const rows = await usersById(suspended);
    for (const id of suspended)
      expect(rows.get(id)).toMatchObject({ status: 'ACTIVE', suspendedAt: null, suspendedReason: null });
    const events = await auditOf([...suspended, active!]);
    expect(events.map((e) => e.action)).toEqual(['user.unsuspended', 'user.unsuspended', 'user.unsuspended']);
    expect(events[0]!.changes).toEqual({
      status: { before: 'SUSPENDED', after: 'ACTIVE' },
      reason: 'Spam',
      bulk: true,
    });
  });
});

describe('SET_STATUS', () => {
  it('by ids: moves along the lifecycle like setUserStatus; a forbidden move fails with its reason', async () => {
    const city = unique();
    const [active, inactive, invited] = await Promise.all([
      makeUsers(1, city),
      makeUsers(1, city, { status: 'INACTIVE' }),
      makeUsers(1, city, { status: 'INVITED' }),
    ]);
    const suspended = await makeUsers(2, city, { status: 'SUSPENDED', suspendedAt: new Date(), suspendedReason: 'x' });
    const result = await bulk({
      ids: [...active, ...inactive, ...invited, suspended[0]!].map(gid),
      action: 'SET_STATUS',
      status: 'INACTIVE',
      reason: 'Seasonal staff',
    });
    expect(result).toMatchObject({
      matchedCount: 4,
      changedCount: 3,
      skipped: [{ reason: 'SAME_STATUS', count: 1, userIds: inactive.map(gid) }],
      failed: [],
    });
    const rows = await usersById([...active, ...invited, suspended[0]!]);
    expect([...rows.values()].map((u) => u.status)).toEqual(['INACTIVE', 'INACTIVE', 'INACTIVE']);
    expect(rows.get(suspended[0]!)).toMatchObject({ suspendedAt: null, suspendedReason: null });
    const events = await auditOf([...active, ...invited, suspended[0]!]);
    expect(events.find((e) => e.targetId === suspended[0])!.action).toBe('user.unsuspended');
    expect(events.find((e) => e.targetId === active[0])).toMatchObject({
      action: 'user.status_changed',
      changes: { status: { before: 'ACTIVE', after: 'INACTIVE' }, reason: 'Seasonal staff', bulk: true },
    });

    const refused = await bulk({ ids: [suspended[1]!].map(gid), action: 'SET_STATUS', status: 'PENDING_VERIFICATION' });
    expect(refused).toMatchObject({
      matchedCount: 1,
      changedCount: 0,
      failedCount: 1,
      failed: [
        {
          code: 'INVALID_STATE',
          message: 'A SUSPENDED user can move to ACTIVE, INACTIVE, not to PENDING_VERIFICATION.',
          count: 1,
          userIds: [gid(suspended[1]!)],
        },
      ],
      userErrors: [],
    });
  });

  it('by filter: SUSPENDED suspends and revokes sessions', async () => {
    const city = unique();
    const users = await makeUsers(2, city);
    await giveSessions(users);
    const result = await bulk({
      filter: { cities: [city] },
      action: 'SET_STATUS',
      status: 'SUSPENDED',
      reason: 'Breach',
    });
    expect(result).toMatchObject({ changedCount: 2 });
    expect(await db().session.count({ where: { userId: { in: users }, revokedAt: null } })).toBe(0);
    expect((await auditOf(users)).map((e) => e.action)).toEqual(['user.suspended', 'user.suspended']);
  });
});

describe('ASSIGN_ROLES and REMOVE_ROLES', () => {
  it('by ids: give each user the roles it lacks, like assignUserRoles; skip holders and the deleted', async () => {
    const city = unique();
    const reader = await makeRole(server, realmId, `Reader ${city}`, []);
    const writer = await makeRole(server, realmId, `Writer ${city}`, []);
    const [holdsReader, holdsNone, holdsBoth] = [
      await makeUsers(1, city),
      await makeUsers(1, city),
      await makeUsers(1, city),
    ];
    const [deleted] = await makeUsers(1, city, { status: 'DELETED', deletedAt: new Date() });
    await db().userRole.createMany({
      data: [
        { realmId, userId: holdsReader[0]!, roleId: reader.id },
        { realmId, userId: holdsBoth[0]!, roleId: reader.id },
        { realmId, userId: holdsBoth[0]!, roleId: writer.id },
      ],
    });
    const result = await bulk({
      ids: [...holdsReader, ...holdsNone, ...holdsBoth, deleted!].map(gid),
      action: 'ASSIGN_ROLES',
      roleIds: [reader.globalId, writer.globalId],
    });
    expect(result).toMatchObject({ matchedCount: 4, changedCount: 2, skippedCount: 2, failedCount: 0 });
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { reason: 'ALREADY_ASSIGNED', count: 1, userIds: holdsBoth.map(gid) },
        { reason: 'DELETED', count: 1, userIds: [gid(deleted!)] },
      ]),
    );
    for (const id of [...holdsReader, ...holdsNone])
      expect(await db().userRole.count({ where: { userId: id, tenantId: null } })).toBe(2);
    const event = (await auditOf(holdsReader))[0]!;
    expect(event).toMatchObject({
      action: 'user.roles_assigned',
      changes: {
        tenantId: null,
        added: [`Writer ${city}`],
        roles: { before: [`Reader ${city}`], after: [`Reader ${city}`, `Writer ${city}`] },
        bulk: true,
      },
    });

    const removed = await bulk({
      ids: [...holdsReader, ...holdsNone, ...holdsBoth].map(gid),
      action: 'REMOVE_ROLES',
      roleIds: [writer.globalId],
    });
    expect(removed).toMatchObject({ matchedCount: 3, changedCount: 3 });
    const again = await bulk({ filter: { cities: [city] }, action: 'REMOVE_ROLES', roleIds: [writer.globalId] });
    expect(again).toMatchObject({ changedCount: 0, skipped: [{ reason: 'NOT_ASSIGNED', count: 3 }] });
    expect((await auditOf(holdsBoth, 'user.role_removed'))[0]!.changes).toEqual({
      tenantId: null,
      removed: [`Writer ${city}`],
      roles: { before: [`Reader ${city}`, `Writer ${city}`], after: [`Reader ${city}`] },
      bulk: true,
    });
  });

  it('by filter inside a tenant: members get the tenant’s role, non-members fail with INVALID_STATE; REMOVE_ROLES by filter', async () => {
    const city = unique();
    const tenant = await db().tenant.create({ data: { realmId, name: city, slug: city } });
    const tenantGid = encodeGlobalId('Tenant', tenant.id);
    const local = await makeRole(server, realmId, `Local ${city}`, [], { tenantId: tenant.id });
    const members = await makeUsers(2, city);
    const outsiders = await makeUsers(1, city);
    await db().tenantMembership.createMany({
      data: members.map((userId) => ({ realmId, userId, tenantId: tenant.id })),
    });
    const result = await bulk({
      filter: { cities: [city] },
      action: 'ASSIGN_ROLES',
      roleIds: [local.globalId],
      tenantId: tenantGid,
    });
    expect(result).toMatchObject({
      matchedCount: 3,
      changedCount: 2,
      failed: [{ code: 'INVALID_STATE', count: 1, userIds: outsiders.map(gid) }],
    });
    expect(await db().userRole.count({ where: { roleId: local.id, tenantId: tenant.id } })).toBe(2);
    // A tenant's role outside its tenant: refused as a whole.
    await expectRefused(
      server,
      () =>
        server.graphql(BULK, {
          input: { filter: { cities: [city] }, action: 'ASSIGN_ROLES', roleIds: [local.globalId] },
        }),
      [['INVALID', ['input', 'roleIds', '0']]],
    );
    const removed = await bulk({
      filter: { cities: [city] },
      action: 'REMOVE_ROLES',
      roleIds: [local.globalId],
      tenantId: tenantGid,
    });
    expect(removed).toMatchObject({ changedCount: 2, skipped: [{ reason: 'NOT_ASSIGNED', count: 1 }] });
    expect(await db().userRole.count({ where: { roleId: local.id } })).toBe(0);
  });

  it('the escalation guard: a token lacking a scope a role carries gets FORBIDDEN_GRANT, nothing changes (dry run too), the denial is audited', async () => {
    const city = unique();
    const users = await makeUsers(2, city);
    const admin = await adminRoleId(server, realmId);
    const rolesOnly = await server.token(server.admin, 'users:roles');
    for (const dryRun of [false, true]) {
      const denials = await db().auditEvent.count({ where: { realmId, action: 'authorization.denied' } });
      const payload = await expectRefused(
        server,
        () =>
          server.graphql(
            BULK,
            { input: { ids: users.map(gid), action: 'ASSIGN_ROLES', roleIds: [admin], dryRun } },
            rolesOnly,
          ),
        [['FORBIDDEN_GRANT', ['input', 'roleIds']]],
      );
      expect(payload.userErrors[0]!.message).toContain('realm:write');
      expect(payload).toMatchObject({ matchedCount: 0, changedCount: 0 });
      expect(await db().auditEvent.count({ where: { realmId, action: 'authorization.denied' } })).toBe(denials + 1);
    }
    // The same token may hand out roles that carry nothing it lacks.
    const harmless = await makeRole(server, realmId, `Harmless ${city}`, ['users:roles']);
    expect(
      await bulk({ ids: users.map(gid), action: 'ASSIGN_ROLES', roleIds: [harmless.globalId] }, rolesOnly),
    ).toMatchObject({ changedCount: 2, userErrors: [] });
  });
});

describe('ADD_TO_TENANT and REMOVE_FROM_TENANT', () => {
  it('by ids and by filter, like addUserToTenant and removeUserFromTenant (roles inside the tenant go too)', async () => {
    const city = unique();
    const tenant = await db().tenant.create({ data: { realmId, name: city, slug: city } });
    const tenantGid = encodeGlobalId('Tenant', tenant.id);
    const users = await makeUsers(3, city);
    const added = await bulk({ ids: users.slice(0, 2).map(gid), action: 'ADD_TO_TENANT', tenantId: tenantGid });
    expect(added).toMatchObject({ changedCount: 2 });
    const byFilter = await bulk({ filter: { cities: [city] }, action: 'ADD_TO_TENANT', tenantId: tenantGid });
    expect(byFilter).toMatchObject({
      matchedCount: 3,
      changedCount: 1,
      skipped: [{ reason: 'ALREADY_MEMBER', count: 2, userIds: users.slice(0, 2).map(gid) }],
    });
    expect(await db().tenantMembership.count({ where: { tenantId: tenant.id } })).toBe(3);
    expect((await auditOf(users, 'user.tenant_added')).map((e) => e.changes)).toEqual(
      users.map(() => ({ tenantId: tenant.id, tenantSlug: city, bulk: true })),
    );

    const local = await makeRole(server, realmId, `Local ${city}`, [], { tenantId: tenant.id });
    await db().userRole.create({ data: { realmId, userId: users[0]!, roleId: local.id, tenantId: tenant.id } });
    const removed = await bulk({ ids: [users[0]!].map(gid), action: 'REMOVE_FROM_TENANT', tenantId: tenantGid });
    expect(removed).toMatchObject({ changedCount: 1 });
    expect((await auditOf([users[0]!], 'user.tenant_removed'))[0]!.changes).toEqual({
      tenantId: tenant.id,
      tenantSlug: city,
      removedRoleAssignments: 1,
      removedRoles: [`Local ${city}`],
      bulk: true,
    });
    const rest = await bulk({ filter: { cities: [city] }, action: 'REMOVE_FROM_TENANT', tenantId: tenantGid });
    expect(rest).toMatchObject({ matchedCount: 3, changedCount: 2, skipped: [{ reason: 'NOT_MEMBER', count: 1 }] });
    expect(await db().tenantMembership.count({ where: { tenantId: tenant.id } })).toBe(0);
    expect(await db().userRole.count({ where: { tenantId: tenant.id } })).toBe(0);
  });

  it('in an ISOLATED_POOL realm, a member of another tenant fails with TENANCY_VIOLATION', async () => {
    const city = unique();
    const [first, second] = await Promise.all(
      ['a', 'b'].map((s) => db().tenant.create({ data: { realmId, name: `${city}${s}`, slug: `${city}${s}` } })),
    );
    const users = await makeUsers(2, city);
    await db().tenantMembership.create({ data: { realmId, userId: users[0]!, tenantId: first!.id } });
    await db().realm.update({ where: { id: realmId }, data: { tenancyMode: 'ISOLATED_POOL' } });
    try {
      const result = await bulk({
        filter: { cities: [city] },
        action: 'ADD_TO_TENANT',
        tenantId: encodeGlobalId('Tenant', second!.id),
      });
      expect(result).toMatchObject({
        changedCount: 1,
        failed: [{ code: 'TENANCY_VIOLATION', count: 1, userIds: [gid(users[0]!)] }],
      });
    } finally {
      await db().realm.update({ where: { id: realmId }, data: { tenancyMode: 'SHARED_POOL' } });
    }
  });
});

describe('REVOKE_SESSIONS', () => {
  it('by ids and by filter, like revokeUserSessions; users without an active session are skipped', async () => {
    const city = unique();
    const users = await makeUsers(3, city);
    const sessions = await giveSessions(users.slice(0, 2));
    const byIds = await bulk({ ids: [users[0]!, users[2]!].map(gid), action: 'REVOKE_SESSIONS' });
    expect(byIds).toMatchObject({
      changedCount: 1,
      skipped: [{ reason: 'NO_ACTIVE_SESSIONS', count: 1, userIds: [gid(users[2]!)] }],
    });
    const byFilter = await bulk({ filter: { cities: [city] }, action: 'REVOKE_SESSIONS' });
    expect(byFilter).toMatchObject({ changedCount: 1, skipped: [{ reason: 'NO_ACTIVE_SESSIONS', count: 2 }] });
    const revoked = await db().session.findMany({ where: { userId: { in: users } } });
    expect(revoked.map((s) => s.revokedReason)).toEqual(['revoked_by_admin', 'revoked_by_admin']);
    expect(await db().refreshToken.count({ where: { session: { userId: { in: users } }, revokedAt: null } })).toBe(0);
    expect((await auditOf(users)).map((e) => [e.action, e.changes])).toEqual(
      users
        .slice(0, 2)
        .map((id) => ['user.sessions_revoked', { revokedSessionCount: 1, sessionIds: [sessions.get(id)], bulk: true }]),
    );
  });
});

describe('access is cut as by the single-user mutations', () => {
  const PASSWORD = 'correct horse battery staple 42';
  const CALLBACK = 'https://bulk.example.com/callback';

  it('a refresh token of a bulk-suspended user, or of a user whose sessions were bulk-revoked, fails with invalid_grant', async () => {
    const app = await createApplication(server, { name: 'Bulk SPA', type: 'SPA', redirectUris: [CALLBACK] });
    const config = await relyingParty(server.issuer(), app.clientId);
    const passwordHash = await hashPassword(PASSWORD);
    const city = unique();
    const people = await Promise.all(
      ['ann', 'ben'].map((name) =>
        makeUser(server, realmId, {
          email: `${name}-${city}@example.com`,
          emailVerified: true,
          city,
          passwordHash,
          passwordAlgorithm: 'ARGON2ID',
        }),
      ),
    );
    const tokens = [];
    for (const name of ['ann', 'ben'])
      tokens.push((await signIn(server.url, config, CALLBACK, `${name}-${city}@example.com`, PASSWORD)).tokens);
    // Both refresh tokens work before.
    const rotated = await Promise.all(tokens.map((t) => oidc.refreshTokenGrant(config, t.refresh_token!)));

    const refusal = async (refreshToken: string) => {
      try {
        await oidc.refreshTokenGrant(config, refreshToken);
      } catch (error) {
        if (error instanceof oidc.ResponseBodyError) return { status: error.status, error: error.error };
        throw error;
      }
      throw new Error('the refresh succeeded');
    };
    expect(await bulk({ ids: [people[0]!.globalId], action: 'SUSPEND' })).toMatchObject({ changedCount: 1 });
    expect(await refusal(rotated[0]!.refresh_token!)).toEqual({ status: 400, error: 'invalid_grant' });
    expect(await bulk({ filter: { cities: [city] }, action: 'REVOKE_SESSIONS' })).toMatchObject({ changedCount: 1 });
    expect(await refusal(rotated[1]!.refresh_token!)).toEqual({ status: 400, error: 'invalid_grant' });
  });
});

describe('refusals: nothing changes', () => {
  it('without the action’s scopes: FORBIDDEN naming them; without a token: UNAUTHENTICATED', async () => {
    const users = await makeUsers(1, unique());
    const tenant = await db().tenant.create({ data: { realmId, name: unique(), slug: unique() } });
    const role = await makeRole(server, realmId, unique(), []);
    const read = await server.token(server.admin, 'users:read');
    const write = await server.token(server.admin, 'users:write');
    const cases: [BulkUpdateUsersInput, string, string[]][] = [
      [{ ids: users.map(gid), action: 'SUSPEND' }, read, ['users:write']],
      [{ ids: users.map(gid), action: 'REVOKE_SESSIONS' }, read, ['users:write']],
      [{ ids: users.map(gid), action: 'ASSIGN_ROLES', roleIds: [role.globalId] }, write, ['users:roles']],
      [
        { ids: users.map(gid), action: 'ADD_TO_TENANT', tenantId: encodeGlobalId('Tenant', tenant.id) },
        write,
        ['tenants:write'],
      ],
    ];
    for (const [input, token, missing] of cases) {
      const result = await expectTopLevelError(server, () => server.graphql(BULK, { input }, token), 'FORBIDDEN');
      expect(result.errors![0]!.extensions!.missingScopes).toEqual(missing);
    }
    await expectTopLevelError(
      server,
      () => server.graphql(BULK, { input: { ids: users.map(gid), action: 'SUSPEND' } }, null),
      'UNAUTHENTICATED',
    );
  });

  it('ids and a filter together, neither, or arguments of another action', async () => {
    const users = await makeUsers(1, unique());
    const cases: [BulkUpdateUsersInput, [string, string[]][]][] = [
      [{ ids: users.map(gid), filter: { cities: ['x'] }, action: 'SUSPEND' }, [['INVALID', ['input']]]],
      [{ action: 'SUSPEND' }, [['REQUIRED', ['input']]]],
      [{ ids: [], action: 'SUSPEND' }, [['REQUIRED', ['input', 'ids']]]],
      [{ ids: users.map(gid), action: 'SET_STATUS' }, [['REQUIRED', ['input', 'status']]]],
      [{ ids: users.map(gid), action: 'SET_STATUS', status: 'DELETED' }, [['INVALID', ['input', 'status']]]],
      [{ ids: users.map(gid), action: 'SUSPEND', roleIds: [missingId('Role')] }, [['INVALID', ['input', 'roleIds']]]],
      [{ ids: users.map(gid), action: 'ADD_TO_TENANT' }, [['REQUIRED', ['input', 'tenantId']]]],
      [
        { ids: users.map(gid), action: 'ADD_TO_TENANT', tenantId: missingId('Tenant') },
        [['NOT_FOUND', ['input', 'tenantId']]],
      ],
      [
        { ids: users.map(gid), action: 'REMOVE_ROLES', roleIds: [missingId('Role')] },
        [['NOT_FOUND', ['input', 'roleIds', '0']]],
      ],
      [{ ids: users.map(gid), action: 'SUSPEND', reason: 'r'.repeat(501) }, [['TOO_LONG', ['input', 'reason']]]],
      [
        { filter: { cities: ['x'] }, action: 'UNSUSPEND', revokeSessions: true },
        [['INVALID', ['input', 'revokeSessions']]],
      ],
      [{ filter: { ageMin: 50, ageMax: 20 }, action: 'SUSPEND' }, [['INVALID', ['input', 'filter', 'ageMin']]]],
    ];
    for (const [input, expected] of cases) {
      const payload = await expectRefused(server, () => server.graphql(BULK, { input }), expected);
      expect(payload).toMatchObject({ matchedCount: 0, changedCount: 0, skipped: [], failed: [] });
    }
  });

  it('bad ids: malformed or of another type → BAD_USER_INPUT; unknown or of another realm → NOT_FOUND at their index', async () => {
    const users = await makeUsers(2, unique());
    const other = await server.createRealm(`bulk-${unique()}`);
    const foreign = await db().user.create({ data: { realmId: other.realmId, email: `${unique()}@example.com` } });
    for (const [bad, at] of [
      ['not-an-id', 'input.ids.1'],
      [encodeGlobalId('Role', users[0]!), 'input.ids.1'],
    ] as const) {
      const result = await expectTopLevelError(
        server,
        () => server.graphql(BULK, { input: { ids: [gid(users[0]!), bad], action: 'SUSPEND' } }),
        'BAD_USER_INPUT',
      );
      expect(result.errors![0]!.extensions!.argument).toBe(at);
    }
    await expectRefused(
      server,
      () =>
        server.graphql(BULK, {
          input: { ids: [gid(users[0]!), missingId('User'), gid(foreign.id), gid(users[1]!)], action: 'SUSPEND' },
        }),
      [
        ['NOT_FOUND', ['input', 'ids', '1']],
        ['NOT_FOUND', ['input', 'ids', '2']],
      ],
    );
  });
});
