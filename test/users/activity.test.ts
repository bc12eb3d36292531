/**
 * The activity record (`UserActivity`): the runtime notes a user's quarter hour of activity with
 * every successful sign-in and every noted use of a session, once per quarter hour, in the same
 * transaction or statement; refused sign-ins note nothing. Only `Date` is faked, while the
 * runtime's functions run.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityPeriod } from '../../src/modules/users/users.activity.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { liveProviderSession, openSession, signInWithPassword } from '../../src/modules/users/users.signin.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { at } from '../helpers/clock.ts';

let server: TestServer;
let realmId: string;
let applicationId: string;
const PASSWORD = 'Quiet-lantern-harbor-2024';
const LIFETIMES = { sessionIdleTimeoutSeconds: 1_209_600, sessionMaxLifetimeSeconds: 2_592_000 };

const periods = async (userId: string) =>
  (await server.db.prisma.userActivity.findMany({ where: { realmId, userId }, orderBy: { period: 'asc' } })).map(
    (row) => row.period.toISOString(),
  );

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  applicationId = (await server.db.prisma.application.findFirstOrThrow({ where: { clientId: server.admin.clientId } }))
    .id;
});

afterAll(() => server?.close());

describe('user activity', () => {
  it('starts each record at its UTC quarter hour', () => {
    expect(activityPeriod(new Date('2026-03-29T22:14:59.999Z')).toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(activityPeriod(new Date('2026-03-29T22:15:00.000Z')).toISOString()).toBe('2026-03-29T22:15:00.000Z');
  });

  it('is noted by a successful sign-in, not by a refused one', async () => {
    const user = await server.db.prisma.user.create({
      data: {
        realmId,
        email: 'signs-in@example.com',
        passwordHash: await hashPassword(PASSWORD),
        passwordAlgorithm: 'ARGON2ID',
      },
    });
    const attempt = (password: string) =>
      signInWithPassword(server.db.prisma, { realmId, identifier: 'signs-in@example.com', password, applicationId });
    expect((await at('2026-05-04T08:01:00Z', () => attempt('not-the-password'))).ok).toBe(false);
    expect(await periods(user.id)).toEqual([]);
    expect((await at('2026-05-04T08:07:00Z', () => attempt(PASSWORD))).ok).toBe(true);
    expect((await at('2026-05-04T08:14:00Z', () => attempt(PASSWORD))).ok).toBe(true);
    expect((await at('2026-05-04T08:16:00Z', () => attempt(PASSWORD))).ok).toBe(true);
    expect(await periods(user.id)).toEqual(['2026-05-04T08:00:00.000Z', '2026-05-04T08:15:00.000Z']);
  });

  it('is noted with a session’s activity, once per quarter hour however often it is used', async () => {
    const user = await server.db.prisma.user.create({ data: { realmId, email: 'refreshes@example.com' } });
    const providerSessionUid = randomUUID();
    await at('2026-05-04T09:00:00Z', () =>
      openSession(server.db.prisma, {
        realmId,
        userId: user.id,
        applicationId,
        providerSessionUid,
        lifetimeSeconds: LIFETIMES.sessionIdleTimeoutSeconds,
        tenantId: null,
      }),
    );
    for (const minute of ['09:20:00', '09:21:00', '09:21:30', '09:29:59', '09:31:00']) {
      await at(`2026-05-04T${minute}Z`, () =>
        liveProviderSession(server.db.prisma, realmId, providerSessionUid, 'throttled', LIFETIMES),
      );
    }
    expect(await periods(user.id)).toEqual(['2026-05-04T09:15:00.000Z', '2026-05-04T09:30:00.000Z']);
    const noted = await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(noted.lastActiveAt?.toISOString()).toBe('2026-05-04T09:31:00.000Z');
    // A check of the session notes nothing.
    await at('2026-05-04T10:00:00Z', () =>
      liveProviderSession(server.db.prisma, realmId, providerSessionUid, 'none', LIFETIMES),
    );
    expect(await periods(user.id)).toHaveLength(2);
  });

  it('goes with its user when the user is erased', async () => {
    const user = await server.db.prisma.user.findFirstOrThrow({ where: { realmId, email: 'refreshes@example.com' } });
    await server.db.prisma.user.delete({ where: { id: user.id } });
    expect(await server.db.prisma.userActivity.count({ where: { realmId, userId: user.id } })).toBe(0);
  });
});
