import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { BulkUpdateUsersInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { expectTopLevelError, payloadOf } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

const BULK = graphql(`
  mutation UsersBulkScaleUpdate($input: BulkUpdateUsersInput!) {
    bulkUpdateUsers(input: $input) {
      matchedCount
      changedCount
      skippedCount
      failedCount
      skipped {
        reason
        count
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

let server: TestServer;
const db = () => server.db.prisma;
const unique = () => `s${randomBytes(5).toString('hex')}`;
const gid = (id: string) => encodeGlobalId('User', id);

const bulk = async (input: BulkUpdateUsersInput, token?: string) =>
  payloadOf(await server.graphql(BULK, { input }, token));

/** `count` users of `realmId` in city `city`, each with an active session and a refresh token if `sessions`; their ids in id order. */
async function makeUsers(realmId: string, count: number, city: string, sessions = false): Promise<string[]> {
  const ids: string[] = [];
  const expiresAt = new Date(Date.now() + 86_400_000);
  for (let start = 0; start < count; start += 2000) {
    const users = await db().user.createManyAndReturn({
      data: Array.from({ length: Math.min(2000, count - start) }, (_, i) => ({
        realmId,
        email: `${city}-${start + i}@example.com`,
        city,
      })),
      select: { id: true },
    });
    ids.push(...users.map((u) => u.id));
    if (!sessions) continue;
    const made = await db().session.createManyAndReturn({
      data: users.map((u) => ({ realmId, userId: u.id, expiresAt })),
      select: { id: true },
    });
    await db().refreshToken.createMany({
      data: made.map((s) => ({ realmId, sessionId: s.id, tokenHash: randomBytes(32).toString('hex'), expiresAt })),
    });
  }
  return ids.sort();
}

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);

afterAll(() => server?.close());

describe('the 10,000-user bound', () => {
  let big: Credentials;
  let token: string;
  let ids: string[];
  const city = unique();

  beforeAll(async () => {
    big = await server.createRealm('bulk-big');
    token = await server.token(big);
    ids = await makeUsers(big.realmId, 10_001, city);
  }, 300_000);

  it('more than 10,000 users: a filter gets LIMIT_EXCEEDED, ids BAD_USER_INPUT; nothing changes', async () => {
    const byFilter = await expectUnchanged(
      server,
      () => bulk({ filter: { cities: [city] }, action: 'SUSPEND' }, token),
      {
        realmId: big.realmId,
      },
    );
    expect(byFilter).toMatchObject({ matchedCount: 0, changedCount: 0 });
    expect(byFilter.userErrors).toEqual([
      { code: 'LIMIT_EXCEEDED', field: ['input', 'filter'], message: expect.stringContaining('10001 users match') },
    ]);
    const result = await expectTopLevelError(
      server,
      () => server.graphql(BULK, { input: { ids: ids.map(gid), action: 'SUSPEND' } }, token),
      'BAD_USER_INPUT',
    );
    expect(result.errors![0]!.extensions!.argument).toBe('input.ids');
    expect(result.errors![0]!.message).toContain('10000');
  }, 120_000);

  it('10,000 users: all suspended in one call, 20 transactions, one audit event each', async () => {
    const input: BulkUpdateUsersInput = { filter: { cities: [city], NOT: { ids: [gid(ids[0]!)] } }, action: 'SUSPEND' };
    const { result, sql } = await server.db.statements.during(() => bulk(input, token));
    expect(result).toMatchObject({ matchedCount: 10_000, changedCount: 10_000, skippedCount: 0, failedCount: 0 });
    expect(result.userErrors).toEqual([]);
    expect(sql.filter((statement) => /FOR UPDATE OF u/.test(statement))).toHaveLength(20);
    expect(await db().user.count({ where: { realmId: big.realmId, status: 'SUSPENDED' } })).toBe(10_000);
    expect(await db().auditEvent.count({ where: { realmId: big.realmId, action: 'user.suspended' } })).toBe(10_000);
  }, 300_000);
});

describe('SQL statements', () => {
  it('depend on the number of chunks, not of users', async () => {
    const realmId = server.admin.realmId;
    const token = await server.token();
    const counts: Record<string, number> = {};
    // Loads what a first request of a token, and a first audit write (the realm's webhook
    // subscriptions), load, outside the counts.
    const warm = unique();
    await makeUsers(realmId, 1, warm, true);
    await bulk({ filter: { cities: [warm] }, action: 'SUSPEND' }, token);
    for (const size of [10, 500, 1000]) {
      const city = unique();
      await makeUsers(realmId, size, city, true);
      const run = () => bulk({ filter: { cities: [city] }, action: 'SUSPEND' }, token);
      const { result, count } = await server.db.statements.during(run);
      expect(result).toMatchObject({ changedCount: size });
      counts[`suspend ${size}`] = count;
      const again = await server.db.statements.during(() =>
        bulk({ filter: { cities: [city] }, action: 'REVOKE_SESSIONS', dryRun: true }, token),
      );
      expect(again.result).toMatchObject({ skipped: [{ reason: 'NO_ACTIVE_SESSIONS', count: size }] });
      counts[`dry ${size}`] = again.count;
    }
    // 10 and 500 users: one chunk each, the same statements; 1,000: two chunks.
    expect(counts['suspend 500'], JSON.stringify(counts)).toBe(counts['suspend 10']);
    expect(counts['dry 500'], JSON.stringify(counts)).toBe(counts['dry 10']);
    const perChunk = counts['suspend 1000']! - counts['suspend 500']!;
    expect(perChunk, JSON.stringify(counts)).toBeGreaterThan(0);
    expect(perChunk, JSON.stringify(counts)).toBeLessThanOrEqual(12);
    expect(counts['suspend 10'], JSON.stringify(counts)).toBeLessThanOrEqual(perChunk + 6);
  }, 120_000);
});

describe('two identical calls at once', () => {
  it('change each user once: the counts add up, no audit event twice, each session revoked once', async () => {
    const realmId = server.admin.realmId;
    const city = unique();
    const ids = await makeUsers(realmId, 1200, city, true);
    const input: BulkUpdateUsersInput = { filter: { cities: [city] }, action: 'SUSPEND', reason: 'Twice' };
    const [a, b] = await Promise.all([bulk(input), bulk(input)]);
    for (const answer of [a, b]) {
      expect(answer.userErrors).toEqual([]);
      expect(answer.matchedCount).toBe(1200);
      expect(answer.failedCount).toBe(0);
      expect(answer.changedCount + answer.skippedCount).toBe(1200);
    }
    expect(a.changedCount + b.changedCount).toBe(1200);
    expect(a.skippedCount + b.skippedCount).toBe(1200);
    const events = await db().auditEvent.findMany({
      where: { realmId, targetId: { in: ids } },
      select: { targetId: true, action: true },
    });
    expect(events).toHaveLength(1200);
    expect(new Set(events.map((e) => e.targetId)).size).toBe(1200);
    expect(events.every((e) => e.action === 'user.suspended')).toBe(true);
    expect(await db().user.count({ where: { id: { in: ids }, status: 'SUSPENDED', version: 2 } })).toBe(1200);
    expect(await db().session.count({ where: { userId: { in: ids }, revokedAt: null } })).toBe(0);
  }, 120_000);
});

describe('users that change between the selection and their chunk', () => {
  it('are skipped: NO_LONGER_MATCHES when they left the filter, NOT_FOUND when erased', async () => {
    const realmId = server.admin.realmId;
    const city = unique();
    const ids = await makeUsers(realmId, 2500, city);
    const [erased, moved] = ids.slice(-2);
    const call = bulk({ filter: { cities: [city] }, action: 'SUSPEND' });
    // Once the first chunk is done, the last one (of five) has not started.
    await expect
      .poll(() => db().user.count({ where: { id: { in: ids }, status: 'SUSPENDED' } }), {
        timeout: 60_000,
        interval: 10,
      })
      .toBeGreaterThan(0);
    await db().user.update({ where: { id: moved }, data: { city: unique() } });
    await db().user.delete({ where: { id: erased } });
    const result = await call;
    expect(result).toMatchObject({ matchedCount: 2500, changedCount: 2498, skippedCount: 2, userErrors: [] });
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { reason: 'NO_LONGER_MATCHES', count: 1 },
        { reason: 'NOT_FOUND', count: 1 },
      ]),
    );
    expect(await db().user.findUniqueOrThrow({ where: { id: moved } })).toMatchObject({ status: 'ACTIVE' });
  }, 120_000);
});

describe('an interrupted call', () => {
  it('leaves every user either fully changed, with its audit event and revoked session, or untouched', async () => {
    const realmId = server.admin.realmId;
    const city = unique();
    const ids = await makeUsers(realmId, 4000, city, true);
    const token = await server.token();
    const abort = new AbortController();
    const call = fetch(`${server.url}/graphql`, {
      method: 'POST',
      signal: abort.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: 'mutation ($input: BulkUpdateUsersInput!) { bulkUpdateUsers(input: $input) { changedCount } }',
        variables: { input: { filter: { cities: [city] }, action: 'SUSPEND' } },
      }),
    }).catch((error: unknown) => error);
    const suspended = () => db().user.count({ where: { id: { in: ids }, status: 'SUSPENDED' } });
    await expect.poll(suspended, { timeout: 60_000, interval: 10 }).toBeGreaterThan(0);
    abort.abort();
    await call;
    // The server stops at its next statement; wait until nothing moves any more.
    let last = -1;
    for (let now = await suspended(); now !== last; now = await suspended()) {
      last = now;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const users = await db().user.findMany({
      where: { id: { in: ids } },
      select: { id: true, status: true, version: true },
    });
    const audited = new Set(
      (await db().auditEvent.findMany({ where: { targetId: { in: ids }, action: 'user.suspended' } })).map(
        (e) => e.targetId,
      ),
    );
    const live = new Set(
      (await db().session.findMany({ where: { userId: { in: ids }, revokedAt: null }, select: { userId: true } })).map(
        (s) => s.userId,
      ),
    );
    const changed = users.filter((u) => u.status === 'SUSPENDED');
    for (const user of users) {
      const done = user.status === 'SUSPENDED';
      expect({ id: user.id, audited: audited.has(user.id), live: live.has(user.id), version: user.version }).toEqual({
        id: user.id,
        audited: done,
        live: !done,
        version: done ? 2 : 1,
      });
    }
    // Whole chunks of 500, in id order, and not all of them: the call stopped.
    expect(changed.length % 500).toBe(0);
    expect(changed.length).toBeLessThan(ids.length);
    expect(changed.map((u) => u.id).sort()).toEqual(ids.slice(0, changed.length));
  }, 180_000);
});
