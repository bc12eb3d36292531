import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/modules/users/users.passwords.ts';
import type { Prisma, UserStatus } from '../../src/generated/prisma/client.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { userTombstone } from '../../src/modules/users/users.erasure.ts';
import type {
  CreateUserInput,
  DeleteUserInput,
  DeleteUsersInput,
  SetUserPasswordInput,
  SetUserStatusInput,
  SuspendUserInput,
  UpdateUserInput,
  UserFilter,
} from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { userGid } from '../helpers/fixtures.ts';
import { expectErrorCode, expectUserErrors, payloadOf, rawId } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
let realm: Credentials;
let other: Credentials;

const SET_STATUS = graphql(`
  mutation UsersLifecycleSetStatus($input: SetUserStatusInput!) {
    setUserStatus(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const SUSPEND = graphql(`
  mutation UsersLifecycleSuspend($input: SuspendUserInput!) {
    suspendUser(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const UNSUSPEND = graphql(`
  mutation UsersLifecycleUnsuspend($input: UserIdInput!) {
    unsuspendUser(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const SET_PASSWORD = graphql(`
  mutation UsersLifecycleSetPassword($input: SetUserPasswordInput!) {
    setUserPassword(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const EXPIRE_PASSWORD = graphql(`
  mutation UsersLifecycleExpirePassword($input: UserIdInput!) {
    expireUserPassword(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const RESTORE = graphql(`
  mutation UsersLifecycleRestore($input: UserIdInput!) {
    restoreUser(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const DELETE_USER = graphql(`
  mutation UsersLifecycleDeleteUser($input: DeleteUserInput!) {
    deleteUser(input: $input) {
      deletedUserId
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE_USERS = graphql(`
  mutation UsersLifecycleDeleteUsers($input: DeleteUsersInput!) {
    deleteUsers(input: $input) {
      deletedCount
      deletedUserIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const CREATE_USER = graphql(`
  mutation UsersLifecycleCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        ...TestUser
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE_USER = graphql(`
  mutation UsersLifecycleUpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const SUSPENSION = graphql(`
  query UsersLifecycleSuspension($id: ID!) {
    user(id: $id) {
      isSuspended
      suspendedReason
    }
  }
`);
const USERS = graphql(`
  query UsersLifecycleUsers($filter: UserFilter) {
    users(first: 100, filter: $filter) {
      nodes {
        id
      }
    }
  }
`);
const SOFT_BY_EMAIL = graphql(`
  query UsersLifecycleSoftByEmail {
    userByEmail(email: "soft@example.com") {
      id
    }
  }
`);

const setStatus = async (input: SetUserStatusInput) => payloadOf(await server.graphql(SET_STATUS, { input }));
const suspend = async (input: SuspendUserInput) => payloadOf(await server.graphql(SUSPEND, { input }));
const unsuspend = async (id: string) => payloadOf(await server.graphql(UNSUSPEND, { input: { id } }));
const setPassword = async (input: SetUserPasswordInput) => payloadOf(await server.graphql(SET_PASSWORD, { input }));
const expirePassword = async (id: string) => payloadOf(await server.graphql(EXPIRE_PASSWORD, { input: { id } }));
const restore = async (id: string) => payloadOf(await server.graphql(RESTORE, { input: { id } }));
const deleteOne = async (input: DeleteUserInput) => payloadOf(await server.graphql(DELETE_USER, { input }));
const deleteMany = async (input: DeleteUsersInput) => payloadOf(await server.graphql(DELETE_USERS, { input }));
const createUser = async (input: CreateUserInput) => payloadOf(await server.graphql(CREATE_USER, { input }));
const updateUser = async (input: UpdateUserInput) => payloadOf(await server.graphql(UPDATE_USER, { input }));

let counter = 0;
async function makeUser(data: Partial<Prisma.UserUncheckedCreateInput> = {}, realmId = realm.realmId): Promise<string> {
  counter++;
  const user = await server.db.prisma.user.create({ data: { realmId, email: `life${counter}@example.com`, ...data } });
  return userGid(user.id);
}

/** Two active sessions with refresh tokens, one revoked and one expired session. */
async function makeSessions(globalId: string) {
  const p = server.db.prisma;
  const realmId = realm.realmId;
  const userId = rawId(globalId);
  const future = new Date(Date.now() + 86_400_000);
  const active = [];
  for (let i = 0; i < 2; i++) {
    const session = await p.session.create({ data: { realmId, userId, expiresAt: future, userAgent: `agent ${i}` } });
    await p.refreshToken.create({
      data: { realmId, sessionId: session.id, tokenHash: randomBytes(32).toString('hex'), expiresAt: future },
    });
    active.push(session.id);
  }
  const revokedAt = new Date(Date.now() - 3_600_000);
  const revoked = await p.session.create({
    data: { realmId, userId, expiresAt: future, revokedAt, revokedReason: 'earlier' },
  });
  const expired = await p.session.create({ data: { realmId, userId, expiresAt: new Date(Date.now() - 60_000) } });
  return { active, revoked: revoked.id, revokedAt, expired: expired.id };
}

const auditOf = (globalId: string) =>
  server.db.prisma.auditEvent.findMany({ where: { targetId: rawId(globalId) }, orderBy: { id: 'asc' } });

beforeAll(async () => {
  server = await startTestServer();
  realm = server.admin;
  other = await server.createRealm('other');
}, 120_000);

afterAll(() => server?.close());

describe('setUserStatus', () => {
  const ALLOWED: Record<string, UserStatus[]> = {
    INVITED: ['PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED'],
    PENDING_VERIFICATION: ['ACTIVE', 'INACTIVE', 'SUSPENDED'],
    ACTIVE: ['PENDING_VERIFICATION', 'INACTIVE', 'SUSPENDED'],
    INACTIVE: ['ACTIVE', 'PENDING_VERIFICATION', 'SUSPENDED'],
    SUSPENDED: ['ACTIVE', 'INACTIVE'],
    DELETED: [],
  };
  const STATUSES: UserStatus[] = ['INVITED', 'PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED', 'DELETED'];

  it('follows the documented transition table; everything else is INVALID_STATE and changes nothing', async () => {
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const id = await makeUser({
          status: from,
          ...(from === 'SUSPENDED' ? { suspendedAt: new Date(), suspendedReason: 'x' } : {}),
          ...(from === 'DELETED' ? { deletedAt: new Date() } : {}),
        });
        const label = `${from} → ${to}`;
        if (ALLOWED[from]!.includes(to)) {
          const result = await setStatus({ id, status: to, reason: 'lifecycle test' });
          expect(result.userErrors, label).toEqual([]);
          expect(result.user, label).toMatchObject({ status: to, version: 2, isSuspended: to === 'SUSPENDED' });
          if (from === 'SUSPENDED') expect(result.user!.suspendedReason, label).toBeNull();
          expect((await auditOf(id)).length, label).toBe(1);
        } else if (from === to && to !== 'DELETED') {
          const result = await expectUnchanged(server, () => setStatus({ id, status: to }));
          expect(result.user, label).toMatchObject({ status: to, version: 1 });
        } else {
          const result = await expectUnchanged(server, () => setStatus({ id, status: to }));
          expect(result.user, label).toBeNull();
          expectUserErrors(result, [['INVALID_STATE', ['input', 'status']]]);
        }
      }
    }
  });

  it('suspends through SUSPENDED with the reason and revokes sessions; checks the reason length', async () => {
    const id = await makeUser();
    const sessions = await makeSessions(id);
    const result = await setStatus({ id, status: 'SUSPENDED', reason: 'chargeback' });
    expect(result.user).toMatchObject({ status: 'SUSPENDED', isSuspended: true, suspendedReason: 'chargeback' });
    const revoked = await server.db.prisma.session.findMany({ where: { id: { in: sessions.active } } });
    expect(revoked.every((s) => s.revokedAt !== null)).toBe(true);
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.suspended']);
    const other = await makeUser();
    expectUserErrors(
      await expectUnchanged(server, () => setStatus({ id: other, status: 'INACTIVE', reason: 'r'.repeat(501) })),
      [['TOO_LONG', ['input', 'reason']]],
    );
  });
});

describe('suspendUser and unsuspendUser', () => {
  it('suspends, revoking every active session and refresh token in the same transaction', async () => {
    const p = server.db.prisma;
    const id = await makeUser();
    const sessions = await makeSessions(id);
    const untouched = await makeUser();
    const otherSessions = await makeSessions(untouched);
    const result = await suspend({ id, reason: 'Compromised credentials' });
    expect(result.userErrors).toEqual([]);
    expect(result.user).toMatchObject({
      status: 'SUSPENDED',
      isSuspended: true,
      suspendedReason: 'Compromised credentials',
      version: 2,
    });

    const rows = await p.session.findMany({ where: { userId: rawId(id) }, include: { refreshTokens: true } });
    for (const session of rows.filter((s) => sessions.active.includes(s.id))) {
      expect(session.revokedAt).not.toBeNull();
      expect(session.revokedReason).toBe('user_suspended');
      expect(session.refreshTokens.every((t) => t.revokedAt !== null)).toBe(true);
    }
    expect(rows.find((s) => s.id === sessions.revoked)!.revokedAt).toEqual(sessions.revokedAt);
    const events = await auditOf(id);
    expect(events.map((e) => e.action)).toEqual(['user.suspended']);
    expect((events[0]!.changes as any).revokedSessionIds.sort()).toEqual([...sessions.active].sort());
    // Another user's sessions stay.
    const others = await p.session.findMany({
      where: { id: { in: otherSessions.active } },
      include: { refreshTokens: true },
    });
    expect(others.every((s) => s.revokedAt === null && s.refreshTokens.every((t) => t.revokedAt === null))).toBe(true);
    // The next request sees the suspension.
    const read = await server.graphql(SUSPENSION, { id });
    expect(read.data?.user).toEqual({ isSuspended: true, suspendedReason: 'Compromised credentials' });

    expectUserErrors(await expectUnchanged(server, () => suspend({ id })), [['INVALID_STATE', ['input', 'id']]]);
    const lifted = await unsuspend(id);
    expect(lifted.user).toMatchObject({ status: 'ACTIVE', isSuspended: false, suspendedReason: null, version: 3 });
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.suspended', 'user.unsuspended']);
    expectUserErrors(await expectUnchanged(server, () => unsuspend(id)), [['INVALID_STATE', ['input', 'id']]]);
  });

  it('keeps sessions with revokeSessions: false; refuses long reasons, unknown, foreign and deleted users', async () => {
    const id = await makeUser();
    const sessions = await makeSessions(id);
    const result = await suspend({ id, reason: 'review', revokeSessions: false });
    expect(result.user!.isSuspended).toBe(true);
    const rows = await server.db.prisma.session.findMany({ where: { id: { in: sessions.active } } });
    expect(rows.every((s) => s.revokedAt === null)).toBe(true);

    const fresh = await makeUser();
    expectUserErrors(await expectUnchanged(server, () => suspend({ id: fresh, reason: 'r'.repeat(501) })), [
      ['TOO_LONG', ['input', 'reason']],
    ]);
    const unknown = await expectUnchanged(server, () => suspend({ id: userGid(randomUUID()) }));
    const foreignId = await makeUser({}, other.realmId);
    const foreign = await expectUnchanged(server, () => suspend({ id: foreignId }));
    expectUserErrors(unknown, [['NOT_FOUND', ['input', 'id']]]);
    expect(foreign).toEqual(unknown);
    const deleted = await makeUser({ status: 'DELETED', deletedAt: new Date() });
    expectUserErrors(await expectUnchanged(server, () => suspend({ id: deleted })), [
      ['INVALID_STATE', ['input', 'id']],
    ]);
    expectErrorCode(
      await server.graphql(SUSPEND, { input: { id: encodeGlobalId('Role', randomUUID()) } }),
      'BAD_USER_INPUT',
    );
  });
});

describe('setUserPassword and expireUserPassword', () => {
  it('sets a policy-checked argon2id password, temporary or not, revoking sessions; never audits it', async () => {
    const p = server.db.prisma;
    const id = await makeUser({ email: 'alan.turing@example.com', name: 'Alan Turing' });
    const sessions = await makeSessions(id);
    const password = 'canary-enigma-bombe-1941';
    const result = await setPassword({ id, password, temporary: true });
    expect(result.userErrors).toEqual([]);
    expect(result.user).toMatchObject({ hasPassword: true, passwordExpired: true, version: 2 });
    const row = await p.user.findUniqueOrThrow({ where: { id: rawId(id) } });
    expect(row.passwordAlgorithm).toBe('ARGON2ID');
    expect(await verifyPassword(row.passwordHash!, 'ARGON2ID', password)).toBe(true);
    expect(
      (await p.session.findMany({ where: { id: { in: sessions.active } } })).every((s) => s.revokedAt !== null),
    ).toBe(true);

    const permanent = await setPassword({ id, password: 'another long passphrase', revokeSessions: false });
    expect(permanent.user).toMatchObject({ passwordExpired: false, version: 3 });
    const events = await auditOf(id);
    expect(events.map((e) => e.action)).toEqual(['user.password_set', 'user.password_set']);
    expect(events[0]!.changes).toMatchObject({ temporary: true, hadPassword: false });
    const audit = JSON.stringify(events);
    expect(audit).not.toContain(password);
    expect(audit).not.toContain(row.passwordHash!);

    for (const [bad, code] of [
      ['short1!', 'TOO_SHORT'],
      ['p'.repeat(257), 'TOO_LONG'],
      ['qwertyuiop', 'WEAK_PASSWORD'],
      ['i-am-alan.turing', 'WEAK_PASSWORD'],
      ['xx-TURING-xx', 'WEAK_PASSWORD'],
    ] as const) {
      expectUserErrors(await expectUnchanged(server, () => setPassword({ id, password: bad })), [
        [code, ['input', 'password']],
      ]);
    }
    const deleted = await makeUser({ status: 'DELETED', deletedAt: new Date() });
    expectUserErrors(await expectUnchanged(server, () => setPassword({ id: deleted, password: 'a fine passphrase' })), [
      ['INVALID_STATE', ['input', 'id']],
    ]);
    expectUserErrors(
      await expectUnchanged(server, () => setPassword({ id: userGid(randomUUID()), password: 'a fine passphrase' })),
      [['NOT_FOUND', ['input', 'id']]],
    );
  });

  it('expires a password; a user without one gets INVALID_STATE', async () => {
    const none = await makeUser();
    expectUserErrors(await expectUnchanged(server, () => expirePassword(none)), [['INVALID_STATE', ['input', 'id']]]);
    const id = await makeUser({
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
      passwordAlgorithm: 'ARGON2ID',
    });
    const result = await expirePassword(id);
    expect(result.user).toMatchObject({ passwordExpired: true, version: 2 });
    const again = await expectUnchanged(server, () => expirePassword(id));
    expect(again.user).toMatchObject({ passwordExpired: true, version: 2 });
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.password_expired']);
  });
});

describe('deleteUser and restoreUser', () => {
  it('soft-deletes: DELETED, hidden, sessions revoked, email and username reusable, restorable unless taken', async () => {
    const p = server.db.prisma;
    const id = await makeUser({ email: 'soft@example.com', username: 'soft' });
    const sessions = await makeSessions(id);
    const result = await deleteOne({ id });
    expect(result).toEqual({ deletedUserId: id, userErrors: [] });
    const row = await p.user.findUniqueOrThrow({ where: { id: rawId(id) } });
    expect(row.status).toBe('DELETED');
    expect(row.deletedAt).toBeInstanceOf(Date);
    expect(row.version).toBe(2);
    expect(
      (await p.session.findMany({ where: { id: { in: sessions.active } } })).every((s) => s.revokedAt !== null),
    ).toBe(true);
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.deleted']);

    const list = (filter: UserFilter) => server.graphql(USERS, { filter });
    expect((await list({ search: 'soft@' })).data?.users.nodes).toEqual([]);
    expect((await list({ search: 'soft@', includeDeleted: true })).data?.users.nodes).toEqual([{ id }]);
    expect((await server.graphql(SOFT_BY_EMAIL)).data?.userByEmail).toBeNull();

    expectUserErrors(await expectUnchanged(server, () => deleteOne({ id })), [['INVALID_STATE', ['input', 'id']]]);

    // The email and username are free for someone else…
    const reuse = await createUser({ email: 'SOFT@example.com', username: 'soft' });
    expect(reuse.userErrors).toEqual([]);
    // …so restoring the deleted user is refused until they are free again.
    const taken = await expectUnchanged(server, () => restore(id));
    expectUserErrors(taken, [
      ['TAKEN', ['input', 'id']],
      ['TAKEN', ['input', 'id']],
    ]);
    await deleteOne({ id: reuse.user!.id, hard: true });
    const restored = await restore(id);
    expect(restored.user).toMatchObject({ status: 'ACTIVE', deletedAt: null, email: 'soft@example.com', version: 3 });
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.deleted', 'user.restored']);
    expectUserErrors(await expectUnchanged(server, () => restore(id)), [['INVALID_STATE', ['input', 'id']]]);
  });

  it('restores a user that was suspended when deleted as SUSPENDED', async () => {
    const id = await makeUser();
    await suspend({ id, reason: 'fraud' });
    await deleteOne({ id });
    const restored = await restore(id);
    expect(restored.user).toMatchObject({ status: 'SUSPENDED', isSuspended: true, suspendedReason: 'fraud' });
  });

  it('hard-deletes everything of the user and tombstones its identifiers in audit events', async () => {
    const p = server.db.prisma;
    const realmId = realm.realmId;
    const tenant = await p.tenant.create({ data: { realmId, name: 'Erasure Inc', slug: 'erasure' } });
    const role = await p.role.create({ data: { realmId, name: 'erasable' } });
    const created = await createUser({
      email: 'erase.me@example.com',
      username: 'erase-me',
      name: 'Erin Eraseme',
      phone: '+14155550177',
      uniqueId: 'EMP-ERASE',
      roleIds: [encodeGlobalId('Role', role.id)],
      tenantIds: [encodeGlobalId('Tenant', tenant.id)],
    });
    const id = created.user!.id;
    const userId = rawId(id);
    await updateUser({ id, patch: { name: 'Erin E. Eraseme', email: 'erase.me2@example.com' } });
    await p.identity.create({ data: { realmId, userId, provider: 'google', providerUserId: 'g-erase' } });
    await p.mfaFactor.create({ data: { realmId, userId, type: 'TOTP' } });
    await p.adminNote.create({ data: { realmId, userId, body: 'note', author: 'test' } });
    await p.loginEvent.create({ data: { realmId, userId, success: true, method: 'password' } });
    await makeSessions(id);
    // An event about something else that names the user, and a bystander with the same name.
    await p.auditEvent.create({
      data: {
        realmId,
        action: 'tenant.member_report',
        actorType: 'system',
        actorId: 'system',
        targetType: 'Tenant',
        targetId: tenant.id,
        changes: { members: [userId, id] },
      },
    });
    const bystander = await createUser({ email: 'bystander@example.com', name: 'Erin Eraseme' });

    const result = await deleteOne({ id, hard: true });
    expect(result).toEqual({ deletedUserId: id, userErrors: [] });
    expect(await p.user.findUnique({ where: { id: userId } })).toBeNull();
    for (const count of await Promise.all([
      p.identity.count({ where: { userId } }),
      p.mfaFactor.count({ where: { userId } }),
      p.session.count({ where: { userId } }),
      p.refreshToken.count({ where: { session: { userId } } }),
      p.userRole.count({ where: { userId } }),
      p.tenantMembership.count({ where: { userId } }),
      p.adminNote.count({ where: { userId } }),
      p.loginEvent.count({ where: { userId } }),
    ])) {
      expect(count).toBe(0);
    }

    const tombstone = userTombstone(realmId, userId);
    expect(tombstone).toMatch(/^deleted-user:[0-9a-f]{16}$/);
    const events = await p.auditEvent.findMany({ where: { targetId: tombstone }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.action)).toEqual(['user.created', 'user.credentials_changed', 'user.erased']);
    const all = JSON.stringify(await p.auditEvent.findMany({ where: { realmId } }));
    for (const identifier of [
      userId,
      id,
      'erase.me@example.com',
      'erase.me2@example.com',
      'erase-me',
      'Erin E. Eraseme',
      '+14155550177',
      'EMP-ERASE',
    ]) {
      expect(all).not.toContain(identifier);
    }
    const report = await p.auditEvent.findFirstOrThrow({ where: { action: 'tenant.member_report' } });
    expect(report.changes).toEqual({ members: [tombstone, tombstone] });
    // The bystander's own events keep their (equal) name.
    const bystanderEvent = await p.auditEvent.findFirstOrThrow({ where: { targetId: rawId(bystander.user!.id) } });
    expect((bystanderEvent.changes as any).name).toBe('Erin Eraseme');
    expect((events[0]!.changes as any).name).toBe(tombstone);

    // Erased: gone like an unknown id.
    expectUserErrors(await expectUnchanged(server, () => deleteOne({ id })), [['NOT_FOUND', ['input', 'id']]]);
  });

  it('answers unknown and foreign ids alike and refuses wrong-type ids', async () => {
    const unknown = await expectUnchanged(server, () => deleteOne({ id: userGid(randomUUID()) }));
    const foreignId = await makeUser({}, other.realmId);
    const foreign = await expectUnchanged(server, () => deleteOne({ id: foreignId }));
    expectUserErrors(unknown, [['NOT_FOUND', ['input', 'id']]]);
    expect(foreign).toEqual(unknown);
    expect(await expectUnchanged(server, () => restore(userGid(randomUUID())))).toMatchObject({ user: null });
    expectErrorCode(
      await server.graphql(DELETE_USER, { input: { id: encodeGlobalId('Tenant', randomUUID()) } }),
      'BAD_USER_INPUT',
    );
  });
});

describe('deleteUsers', () => {
  it('deletes by ids; an unknown or foreign id refuses the whole call', async () => {
    const ids = [await makeUser(), await makeUser(), await makeUser()];
    const foreign = await makeUser({}, other.realmId);
    for (const bad of [userGid(randomUUID()), foreign]) {
      const refused = await expectUnchanged(server, () => deleteMany({ ids: [ids[0]!, bad] }));
      expectUserErrors(refused, [['NOT_FOUND', ['input', 'ids', '1']]]);
    }
    const result = await deleteMany({ ids });
    expect(result.userErrors).toEqual([]);
    expect(result.deletedCount).toBe(3);
    expect([...result.deletedUserIds].sort()).toEqual([...ids].sort());
    const rows = await server.db.prisma.user.findMany({ where: { id: { in: ids.map(rawId) } } });
    expect(rows.every((u) => u.status === 'DELETED' && u.deletedAt !== null)).toBe(true);
    for (const id of ids) expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.deleted']);
    // Soft-deleting them again deletes nothing.
    expect(await expectUnchanged(server, () => deleteMany({ ids }))).toMatchObject({ deletedCount: 0, userErrors: [] });
  });

  it('deletes by filter, with a dry run first', async () => {
    const matching = [await makeUser({ city: 'Atlantis' }), await makeUser({ city: 'atlantis' })];
    await makeUser({ city: 'Atlantis' }, other.realmId);
    const keep = await makeUser({ city: 'Lemuria' });
    const dry = await expectUnchanged(server, () => deleteMany({ filter: { cities: ['Atlantis'] }, dryRun: true }));
    expect(dry.deletedCount).toBe(2);
    expect([...dry.deletedUserIds].sort()).toEqual([...matching].sort());
    const real = await deleteMany({ filter: { cities: ['Atlantis'] } });
    expect(real.deletedCount).toBe(2);
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: rawId(keep) } })).status).toBe('ACTIVE');
    // ids and filter together: users in ids that match the filter.
    const both = await deleteMany({ ids: [keep], filter: { cities: ['Atlantis'] }, dryRun: true });
    expect(both.deletedCount).toBe(0);
    // Hard by filter, including the soft-deleted ones.
    const erased = await deleteMany({ filter: { cities: ['Atlantis'], includeDeleted: true }, hard: true });
    expect(erased.deletedCount).toBe(2);
    expect(await server.db.prisma.user.count({ where: { id: { in: matching.map(rawId) } } })).toBe(0);
    expect(
      await server.db.prisma.auditEvent.count({
        where: { action: 'user.erased', targetId: { startsWith: 'deleted-user:' } },
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('caps a call at 1,000 users with a clear error, deleting nothing', async () => {
    const p = server.db.prisma;
    await p.user.createMany({
      data: Array.from({ length: 1001 }, (_, i) => ({
        realmId: realm.realmId,
        email: `cap${i}@example.com`,
        city: 'Capital',
      })),
    });
    const result = await expectUnchanged(server, () => deleteMany({ filter: { cities: ['Capital'] } }));
    expectUserErrors(result, [['LIMIT_EXCEEDED', ['input', 'filter']]]);
    expect(result.userErrors[0]!.message).toMatch(/1001 users match.*at most 1000/);
    const tooManyIds = Array.from({ length: 1001 }, () => userGid(randomUUID()));
    // Lists over their bound are refused before the resolver runs (issue 7).
    const refused = await expectUnchanged(server, () => server.graphql(DELETE_USERS, { input: { ids: tooManyIds } }));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.ids' });
    // Under the cap it goes through.
    const dry = await deleteMany({ filter: { cities: ['Capital'], search: 'cap1' }, dryRun: true });
    expect(dry.deletedCount).toBeGreaterThan(100);
  });

  it('refuses an empty selection and bad filters', async () => {
    expectUserErrors(await expectUnchanged(server, () => deleteMany({})), [['REQUIRED', ['input']]]);
    expectUserErrors(await expectUnchanged(server, () => deleteMany({ filter: { ageMin: 50, ageMax: 20 } })), [
      ['INVALID', ['input', 'filter', 'ageMin']],
    ]);
    expectUserErrors(await expectUnchanged(server, () => deleteMany({ filter: { createdInLastDays: -1 } })), [
      ['INVALID', ['input', 'filter', 'createdInLastDays']],
    ]);
    const wrongType = await expectUnchanged(server, () =>
      server.graphql(DELETE_USERS, { input: { ids: [encodeGlobalId('Role', randomUUID())] } }),
    );
    expectErrorCode(wrongType, 'BAD_USER_INPUT');
  });
});
