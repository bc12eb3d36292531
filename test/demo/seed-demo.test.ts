/**
 * `seed-demo`: demo data whose every state is one Roster could reach, with no date in the future,
 * roles that hold scopes, and live sign-ins made through the sign-in runtime's own functions.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_PASSWORD, seedDemo, type DemoSummary } from '../../src/modules/demo/demo.seed.ts';
import { signInWithPassword } from '../../src/modules/users/users.signin.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
let summary: DemoSummary;
let realmId: string;
const startedAt = Date.now();

beforeAll(async () => {
  database = await createTestDatabase({ reusable: true });
  summary = await seedDemo(database.db.prisma, { users: 60, realm: 'demo' });
  realmId = (await database.db.prisma.realm.findUniqueOrThrow({ where: { name: 'demo' } })).id;
}, 300_000);

afterAll(async () => {
  await database?.dispose();
});

it('fills the realm it is given, creating it', () => {
  expect(summary).toMatchObject({ realm: 'demo', users: 60, tenants: 3, roles: 3 });
  expect(summary.signIns).toBeGreaterThan(0);
  expect(summary.failedSignIns).toBeGreaterThan(0);
});

it('writes no date in the future, and no sign-in before its user existed', async () => {
  const p = database.db.prisma;
  const now = Date.now();
  const users = await p.user.findMany({ where: { realmId } });
  for (const user of users) {
    for (const at of [user.createdAt, user.updatedAt, user.lastLoginAt, user.lastActiveAt, user.suspendedAt]) {
      if (at) expect(at.getTime(), user.email!).toBeLessThanOrEqual(now);
    }
    if (user.lastLoginAt) expect(user.lastLoginAt.getTime()).toBeGreaterThanOrEqual(user.createdAt.getTime());
  }
  const events = await p.loginEvent.findMany({ where: { realmId }, include: { user: true } });
  expect(events.length).toBeGreaterThan(0);
  for (const event of events) {
    expect(event.at.getTime()).toBeLessThanOrEqual(now);
    expect(event.at.getTime()).toBeGreaterThanOrEqual(event.user!.createdAt.getTime() - 60_000);
  }
  const sessions = await p.session.findMany({ where: { realmId } });
  for (const session of sessions) expect(session.createdAt.getTime()).toBeLessThanOrEqual(now);
});

it('gives every status its consistent state', async () => {
  const p = database.db.prisma;
  const users = await p.user.findMany({
    where: { realmId },
    include: { sessions: true, loginEvents: true },
  });
  const byStatus = (status: string) => users.filter((user) => user.status === status);
  for (const status of ['ACTIVE', 'INVITED', 'PENDING_VERIFICATION', 'INACTIVE', 'SUSPENDED']) {
    expect(byStatus(status).length, status).toBeGreaterThan(0);
  }
  for (const user of byStatus('INVITED')) {
    expect(user).toMatchObject({ passwordHash: null, lastLoginAt: null, emailVerified: false });
    expect(user.sessions).toEqual([]);
    expect(user.loginEvents).toEqual([]);
  }
  for (const user of byStatus('PENDING_VERIFICATION')) {
    expect(user).toMatchObject({ emailVerified: false, lastLoginAt: null });
    expect(user.loginEvents).toEqual([]);
  }
  for (const user of byStatus('ACTIVE')) {
    expect(user.lastLoginAt).not.toBeNull();
    expect(user.emailVerified).toBe(true);
    // The last successful sign-in is the one lastLoginAt shows.
    const last = user.loginEvents.filter((event) => event.success).sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    expect(last!.at.getTime()).toBe(user.lastLoginAt!.getTime());
  }
  for (const user of byStatus('INACTIVE')) {
    expect(user.lastLoginAt!.getTime()).toBeLessThanOrEqual(
      Math.max(user.createdAt.getTime(), Date.now() - 89 * 86_400_000),
    );
  }
  for (const user of byStatus('SUSPENDED')) {
    expect(user.suspendedAt).not.toBeNull();
    expect(user.suspendedReason).toBeTruthy();
    expect(user.sessions.every((session) => session.revokedAt !== null)).toBe(true);
  }
});

it('gives every demo role scopes to hold', async () => {
  const roles = await database.db.prisma.role.findMany({
    where: { realmId, builtIn: false },
    include: { scopes: { include: { scope: true } } },
  });
  expect(roles.map((role) => role.name).sort()).toEqual(['Billing admin', 'Support', 'Viewer']);
  for (const role of roles) expect(role.scopes.length, role.name).toBeGreaterThan(0);
});

it('signs users in through the runtime: live sessions, login events, and the demo password works', async () => {
  const p = database.db.prisma;
  const live = await p.session.findMany({
    where: { realmId, revokedAt: null, expiresAt: { gt: new Date() }, createdAt: { gte: new Date(startedAt) } },
  });
  expect(live.length).toBe(summary.signIns);
  const audited = await p.auditEvent.count({ where: { realmId, action: 'user.signed_in' } });
  expect(audited).toBe(summary.signIns);
  const failures = await p.loginEvent.count({
    where: { realmId, success: false, at: { gte: new Date(startedAt) } },
  });
  expect(failures).toBe(summary.failedSignIns);

  const active = await p.user.findFirstOrThrow({ where: { realmId, status: 'ACTIVE' } });
  const result = await signInWithPassword(p, {
    realmId,
    identifier: active.email!,
    password: DEMO_PASSWORD,
    applicationId: live[0]!.applicationId!,
  });
  expect(result.ok).toBe(true);
});

it('adds nothing twice when run again', async () => {
  const p = database.db.prisma;
  const before = await p.user.count({ where: { realmId } });
  const again = await seedDemo(p, { users: 60, realm: 'demo' });
  expect(again.users).toBe(0);
  expect(await p.user.count({ where: { realmId } })).toBe(before);
  expect(await p.role.count({ where: { realmId, builtIn: false } })).toBe(3);
  expect(await p.application.count({ where: { realmId, name: 'Demo console' } })).toBe(1);
});
