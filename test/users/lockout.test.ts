/**
 * SECURITY.md, lockout: after N consecutive failures the account locks for a growing period;
 * failures while locked don't count. The sign-in runtime counts failures through
 * `recordFailedSignIn`; these tests call it as the runtime does, on the real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type ServiceContext } from '../../src/context.ts';
import {
  clearFailedSignIns,
  lockoutSecondsAfter,
  MAX_LOCKOUT_SECONDS,
  recordFailedSignIn,
  type LockoutSettings,
} from '../../src/modules/users/users.lockout.ts';
import { graphql } from '../helpers/documents.ts';
import { makeUser, type TestUser } from '../helpers/fixtures.ts';
import { auditSince, expectRefused, lastAuditId, missingId, payloadOf } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

const UNLOCK = graphql(`
  mutation UsersLockoutUnlock($input: UserIdInput!) {
    unlockUser(input: $input) {
      user {
        id
        version
        isLocked
        lockedUntil
        failedLoginAttempts
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const SETTINGS = graphql(`
  mutation UsersLockoutSettings($patch: RealmSettingsPatch!) {
    updateRealmSettings(input: { patch: $patch }) {
      realm {
        settings {
          maxFailedSignIns
          failedSignInWindowSeconds
          lockoutSeconds
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

let server: TestServer;
let admin: Credentials;
let other: Credentials;
let ctx: ServiceContext;

const DEFAULTS: LockoutSettings = { maxFailedSignIns: 5, failedSignInWindowSeconds: 900, lockoutSeconds: 300 };
const T0 = new Date('2026-06-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  other = await server.createRealm('lockout-other');
  ctx = systemContext(server.db.prisma, admin.realmId);
}, 120_000);

afterAll(() => server?.close());

const fail = (user: TestUser, now: Date, settings = DEFAULTS) =>
  ctx.db.$transaction((tx) => recordFailedSignIn(tx, ctx, user.id, settings, now));
const row = (user: TestUser) => server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
const lockAudits = (user: TestUser) =>
  server.db.prisma.auditEvent.findMany({ where: { targetId: user.id, action: 'user.locked' }, orderBy: { id: 'asc' } });

describe('recordFailedSignIn', () => {
  it('locks at the fifth failure, ignores failures while locked, and doubles the next lockout', async () => {
    const user = await makeUser(server, admin.realmId);
    const version = (await row(user)).version;
    for (let i = 1; i <= 4; i++) {
      expect(await fail(user, at(i))).toMatchObject({ locked: false, lockedNow: false, failedLoginAttempts: i });
    }
    expect(await fail(user, at(5))).toEqual({
      locked: true,
      lockedNow: true,
      lockedUntil: at(5 + 300),
      failedLoginAttempts: 5,
    });
    // While locked: the same answer, nothing counted.
    expect(await fail(user, at(100))).toMatchObject({ locked: true, lockedNow: false, failedLoginAttempts: 5 });
    expect(await row(user)).toMatchObject({ failedLoginAttempts: 5, lockoutCount: 1, lastFailedLoginAt: at(5) });

    // After the lockout, within the window: five more failures lock for twice as long.
    for (let i = 1; i <= 4; i++) expect((await fail(user, at(305 + i))).locked).toBe(false);
    expect(await fail(user, at(310))).toMatchObject({ lockedNow: true, lockedUntil: at(310 + 600) });
    expect(await row(user)).toMatchObject({ failedLoginAttempts: 10, lockoutCount: 2, version });

    const audits = await lockAudits(user);
    expect(audits.map((event) => event.changes)).toEqual([
      { lockedUntil: at(305).toISOString(), failedLoginAttempts: 5, lockout: 1 },
      { lockedUntil: at(910).toISOString(), failedLoginAttempts: 10, lockout: 2 },
    ]);
    expect(audits.every((event) => event.actorType === 'system' && event.outcome === 'success')).toBe(true);
  });

  it('starts counting again after a pause longer than the window, measured from the end of a lockout', async () => {
    const user = await makeUser(server, admin.realmId);
    for (let i = 0; i < 3; i++) await fail(user, at(i));
    expect((await fail(user, at(2 + 901))).failedLoginAttempts).toBe(1);

    // A lockout longer than the window keeps its history: the window runs from its end.
    const settings = { ...DEFAULTS, failedSignInWindowSeconds: 60, lockoutSeconds: 3600 };
    const locked = await makeUser(server, admin.realmId);
    for (let i = 1; i <= 5; i++) await fail(locked, at(i), settings);
    expect((await row(locked)).lockedUntil).toEqual(at(3605));
    expect((await fail(locked, at(3605 + 30), settings)).failedLoginAttempts).toBe(6);
    expect((await fail(locked, at(3635 + 61), settings)).failedLoginAttempts).toBe(1);
  });

  it('counts concurrent failures once each: twelve at once lock exactly once, at five', async () => {
    const user = await makeUser(server, admin.realmId);
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => fail(user, at(0))));
    expect(outcomes.filter((outcome) => outcome.lockedNow)).toHaveLength(1);
    expect(outcomes.filter((outcome) => !outcome.locked)).toHaveLength(4);
    expect(await row(user)).toMatchObject({ failedLoginAttempts: 5, lockoutCount: 1, lockedUntil: at(300) });
    expect(await lockAudits(user)).toHaveLength(1);
  });

  it('doubles each lockout up to a day', () => {
    expect([0, 1, 2, 3].map((n) => lockoutSecondsAfter(DEFAULTS, n))).toEqual([300, 600, 1200, 2400]);
    expect(lockoutSecondsAfter(DEFAULTS, 9)).toBe(MAX_LOCKOUT_SECONDS);
    expect(lockoutSecondsAfter(DEFAULTS, 10_000)).toBe(MAX_LOCKOUT_SECONDS);
  });

  it('a successful sign-in clears the count, the lockout and its history', async () => {
    const user = await makeUser(server, admin.realmId);
    for (let i = 1; i <= 5; i++) await fail(user, at(i));
    await ctx.db.$transaction((tx) => clearFailedSignIns(tx, user.id));
    expect(await row(user)).toMatchObject({
      failedLoginAttempts: 0,
      lockoutCount: 0,
      lockedUntil: null,
      lastFailedLoginAt: null,
    });
  });
});

describe('recordFailedSignIn for an identifier that is nobody’s', () => {
  it('changes nothing and reports no lockout, even at a realm that locks at the first failure', async () => {
    const settings = { ...DEFAULTS, maxFailedSignIns: 1 };
    const outcome = await expectUnchanged(server, () =>
      ctx.db.$transaction((tx) => recordFailedSignIn(tx, ctx, null, settings, new Date())),
    );
    expect(outcome).toEqual({ locked: false, lockedNow: false, lockedUntil: null, failedLoginAttempts: 0 });
  });
});

describe('unlockUser', () => {
  it('lifts a lockout now and clears the history, audited; a second call is INVALID_STATE and changes nothing', async () => {
    const user = await makeUser(server, admin.realmId);
    for (let i = 0; i < 5; i++) await fail(user, new Date());
    const before = await row(user);
    expect(before.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    const since = await lastAuditId(server, admin.realmId);

    const payload = payloadOf(await server.graphql(UNLOCK, { input: { id: user.globalId } }));
    expect(payload.userErrors).toEqual([]);
    expect(payload.user).toEqual({
      id: user.globalId,
      version: before.version + 1,
      isLocked: false,
      lockedUntil: null,
      failedLoginAttempts: 0,
    });
    expect(await row(user)).toMatchObject({ lockoutCount: 0, lastFailedLoginAt: null });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((event) => [event.action, event.targetId, event.changes])).toEqual([
      [
        'user.unlocked',
        user.id,
        { wasLocked: true, lockedUntil: before.lockedUntil!.toISOString(), failedLoginAttempts: 5 },
      ],
    ]);

    await expectRefused(server, () => server.graphql(UNLOCK, { input: { id: user.globalId } }), [
      { code: 'INVALID_STATE', field: ['input', 'id'] },
    ]);
  });

  it('clears failed sign-ins of a user not (yet) locked', async () => {
    const user = await makeUser(server, admin.realmId);
    await fail(user, new Date());
    const payload = payloadOf(await server.graphql(UNLOCK, { input: { id: user.globalId } }));
    expect(payload.user).toMatchObject({ failedLoginAttempts: 0, isLocked: false });
  });

  it('refuses a deleted user, another realm’s user and a missing one alike, changing nothing', async () => {
    const deleted = await makeUser(server, admin.realmId, {
      status: 'DELETED',
      deletedAt: new Date(),
      failedLoginAttempts: 3,
    });
    await expectRefused(server, () => server.graphql(UNLOCK, { input: { id: deleted.globalId } }), [
      { code: 'INVALID_STATE', field: ['input', 'id'] },
    ]);
    const foreign = await makeUser(server, other.realmId, { failedLoginAttempts: 3 });
    const foreignAnswer = await expectRefused(
      server,
      () => server.graphql(UNLOCK, { input: { id: foreign.globalId } }),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    const missingAnswer = await expectRefused(
      server,
      () => server.graphql(UNLOCK, { input: { id: missingId('User') } }),
      [{ code: 'NOT_FOUND', field: ['input', 'id'] }],
    );
    expect(foreignAnswer).toEqual(missingAnswer);
  });
});

describe('lockout settings', () => {
  it('are the realm’s: a lower maxFailedSignIns locks sooner', async () => {
    const token = await server.token(other);
    const updated = payloadOf(
      await server.graphql(SETTINGS, { patch: { maxFailedSignIns: 3, lockoutSeconds: 120 } }, token),
    );
    expect(updated.userErrors).toEqual([]);
    expect(updated.realm!.settings).toEqual({
      maxFailedSignIns: 3,
      failedSignInWindowSeconds: 900,
      lockoutSeconds: 120,
    });
    const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: other.realmId } });
    const otherCtx = systemContext(server.db.prisma, other.realmId);
    const user = await makeUser(server, other.realmId);
    const outcomes = [];
    for (let i = 1; i <= 3; i++) {
      outcomes.push(await otherCtx.db.$transaction((tx) => recordFailedSignIn(tx, otherCtx, user.id, realm, at(i))));
    }
    expect(outcomes.map((outcome) => outcome.lockedNow)).toEqual([false, false, true]);
    expect(outcomes[2]!.lockedUntil).toEqual(at(3 + 120));
  });

  it('refuses values out of range or cleared, each at its field, changing nothing', async () => {
    await expectUnchanged(server, async () => {
      const refused = payloadOf(
        await server.graphql(SETTINGS, {
          patch: { maxFailedSignIns: 0, failedSignInWindowSeconds: 59, lockoutSeconds: 86_401 },
        }),
      );
      expect(refused.realm).toBeNull();
      expect(refused.userErrors.map((error) => [error.code, error.field])).toEqual([
        ['INVALID', ['input', 'patch', 'maxFailedSignIns']],
        ['INVALID', ['input', 'patch', 'failedSignInWindowSeconds']],
        ['INVALID', ['input', 'patch', 'lockoutSeconds']],
      ]);
      const cleared = payloadOf(await server.graphql(SETTINGS, { patch: { maxFailedSignIns: null } }));
      expect(cleared.userErrors.map((error) => [error.code, error.field])).toEqual([
        ['REQUIRED', ['input', 'patch', 'maxFailedSignIns']],
      ]);
      const tooMany = payloadOf(await server.graphql(SETTINGS, { patch: { maxFailedSignIns: 101 } }));
      expect(tooMany.userErrors[0]!.message).toBe('maxFailedSignIns must be between 1 and 100.');
    });
  });
});
