import type { AdapterPayload } from 'oidc-provider';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PrismaOidcAdapter, SweepClock } from '../../src/identity/oidc-adapter.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
let realmA: string;
let realmB: string;

beforeAll(async () => {
  database = await createTestDatabase({ reusable: true });
  realmA = (await database.db.prisma.realm.create({ data: { name: 'adapter-a' } })).id;
  realmB = (await database.db.prisma.realm.create({ data: { name: 'adapter-b' } })).id;
}, 120_000);

afterAll(async () => {
  await database?.dispose();
});

afterEach(() => {
  vi.useRealTimers();
});

const adapter = (realmId: string, model: string, sweeps = new SweepClock()) =>
  new PrismaOidcAdapter(database.db.prisma, realmId, model, sweeps);

const payload = (extra: Partial<AdapterPayload> = {}): AdapterPayload => ({
  jti: 'x',
  kind: 'AccessToken',
  accountId: 'user-1',
  clientId: 'client-1',
  ...extra,
});

describe('the Prisma adapter of oidc-provider', () => {
  it('stores, replaces and destroys a model instance', async () => {
    const tokens = adapter(realmA, 'AccessToken');
    expect(await tokens.find('t1')).toBeUndefined();
    await tokens.upsert('t1', payload({ scope: 'openid' }), 60);
    expect(await tokens.find('t1')).toEqual(payload({ scope: 'openid' }));
    await tokens.upsert('t1', payload({ scope: 'openid email' }), 60);
    expect(await tokens.find('t1')).toEqual(payload({ scope: 'openid email' }));
    await tokens.destroy('t1');
    expect(await tokens.find('t1')).toBeUndefined();
  });

  it('finds a session by uid and a device request by user code', async () => {
    await adapter(realmA, 'Session').upsert('s1', payload({ uid: 'uid-1' }), 60);
    await adapter(realmA, 'DeviceCode').upsert('d1', payload({ userCode: 'ABCD-EFGH' }), 60);
    expect(await adapter(realmA, 'Session').findByUid('uid-1')).toEqual(payload({ uid: 'uid-1' }));
    expect(await adapter(realmA, 'DeviceCode').findByUserCode('ABCD-EFGH')).toEqual(payload({ userCode: 'ABCD-EFGH' }));
    expect(await adapter(realmA, 'Session').findByUid('uid-2')).toBeUndefined();
    expect(await adapter(realmA, 'DeviceCode').findByUid('uid-1')).toBeUndefined();
  });

  it('marks a consumed instance with the time it was consumed, once', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-01T10:00:00Z') });
    const codes = adapter(realmA, 'AuthorizationCode');
    await codes.upsert('c1', payload(), 60);
    await codes.consume('c1');
    const consumedAt = Date.parse('2026-12-01T10:00:00Z') / 1000;
    expect(await codes.find('c1')).toEqual({ ...payload(), consumed: consumedAt });
    vi.setSystemTime(new Date('2026-12-01T10:00:30Z'));
    await codes.consume('c1');
    expect((await codes.find('c1'))?.consumed).toBe(consumedAt);
  });

  it('revokes every instance of one model of a grant, and nothing else', async () => {
    const grantOf = (id: string, grantId: string) =>
      adapter(realmA, 'RefreshToken').upsert(id, payload({ grantId }), 60);
    await grantOf('r1', 'g1');
    await grantOf('r2', 'g1');
    await grantOf('r3', 'g2');
    await adapter(realmA, 'AccessToken').upsert('a1', payload({ grantId: 'g1' }), 60);
    await adapter(realmB, 'RefreshToken').upsert('r1', payload({ grantId: 'g1' }), 60);

    await adapter(realmA, 'RefreshToken').revokeByGrantId('g1');
    expect(await adapter(realmA, 'RefreshToken').find('r1')).toBeUndefined();
    expect(await adapter(realmA, 'RefreshToken').find('r2')).toBeUndefined();
    expect(await adapter(realmA, 'RefreshToken').find('r3')).toBeDefined();
    expect(await adapter(realmA, 'AccessToken').find('a1')).toBeDefined();
    expect(await adapter(realmB, 'RefreshToken').find('r1')).toBeDefined();
  });

  it("keeps realms apart: one realm's adapter neither sees nor changes another's rows", async () => {
    await adapter(realmA, 'Grant').upsert('shared-id', payload({ accountId: 'in-a' }), 60);
    const inB = adapter(realmB, 'Grant');
    expect(await inB.find('shared-id')).toBeUndefined();
    await inB.destroy('shared-id');
    await inB.consume('shared-id');
    expect(await adapter(realmA, 'Grant').find('shared-id')).toEqual(payload({ accountId: 'in-a' }));
    await inB.upsert('shared-id', payload({ accountId: 'in-b' }), 60);
    expect(await adapter(realmA, 'Grant').find('shared-id')).toEqual(payload({ accountId: 'in-a' }));
    expect(await inB.find('shared-id')).toEqual(payload({ accountId: 'in-b' }));
  });

  it('returns no expired instance, and deletes expired rows of its realm on a later write', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-02T10:00:00Z') });
    const sweeps = new SweepClock();
    const sessions = adapter(realmA, 'Interaction', sweeps);
    await sessions.upsert('i1', payload({ uid: 'expiring' }), 30);
    await sessions.upsert('i2', payload(), 3600);
    await adapter(realmB, 'Interaction').upsert('i1', payload(), 30);

    vi.setSystemTime(new Date('2026-12-02T10:00:31Z'));
    expect(await sessions.find('i1')).toBeUndefined();
    expect(await sessions.findByUid('expiring')).toBeUndefined();
    expect(await sessions.find('i2')).toBeDefined();
    const rows = (realmId: string) =>
      database.db.prisma.oidcPayload.count({ where: { realmId, model: 'Interaction' } });
    expect(await rows(realmA)).toBe(2);

    vi.setSystemTime(new Date('2026-12-02T10:01:01Z'));
    await sessions.upsert('i3', payload(), 3600);
    expect(await rows(realmA)).toBe(2);
    expect(await sessions.find('i1')).toBeUndefined();
    // Another realm's rows wait for a write of that realm.
    expect(await rows(realmB)).toBe(1);
  });
});

describe('the look-ups of a refresh', () => {
  // On a fresh table PostgreSQL has no statistics yet: the planner once took the uid index
  // (realm, model, uid, createdAt) for a token's look-up by id, as cheap as the primary key in its
  // estimate, and scanned every token of the realm, per refresh (11 ms at 3,000 tokens).
  it('find a token by its primary key on a table without statistics', async () => {
    const realm = (await database.db.prisma.realm.create({ data: { name: 'adapter-plans' } })).id;
    await database.db.rawQuery(`
      INSERT INTO "OidcPayload" ("realmId", model, id, payload, "grantId", "expiresAt")
      SELECT '${realm}', 'RefreshToken', 'rt-' || n, jsonb_build_object('grantId', 'g-' || n), 'g-' || n,
             now() + interval '1 day'
      FROM generate_series(1, 3000) AS n`);
    const where = `"realmId" = '${realm}' AND model = 'RefreshToken' AND id = 'rt-17'`;
    const plans = [
      `SELECT payload, "consumedAt" FROM "OidcPayload" WHERE ${where} AND ("expiresAt" IS NULL OR "expiresAt" > now())`,
      `UPDATE "OidcPayload" SET "consumedAt" = now() WHERE ${where} AND "consumedAt" IS NULL`,
      `DELETE FROM "OidcPayload" WHERE ${where}`,
    ];
    for (const statement of plans) {
      const [row] = await database.db.rawQuery<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${statement}`);
      expect(JSON.stringify(row!['QUERY PLAN']), statement).toContain('"Index Name":"OidcPayload_pkey"');
    }
  });
});
