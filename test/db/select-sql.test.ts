import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { realmSql } from '../../src/db/realm-sql.ts';
import { compileRelations, OTHER_COLUMNS } from '../../src/db/select-sql.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

// The relations of a page read as JSON in the page's own statement must be exactly what the Prisma
// client returns for the same `select`: the same rows, order, nulls, dates and JSON values.
describe('relations of a select compiled to SQL', () => {
  let database: TestDatabase;
  let realmId: string;
  const NOW = new Date();
  const hours = (n: number) => new Date(NOW.getTime() + n * 3_600_000);

  beforeAll(async () => {
    database = await createTestDatabase({ reusable: true });
    const p = database.db.prisma;
    realmId = (await p.realm.create({ data: { name: 'select-sql' } })).id;
    const other = (await p.realm.create({ data: { name: 'select-sql-other' } })).id;
    const tenant = await p.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } });
    const [support, auditor] = await Promise.all(
      ['Support', 'Auditor'].map((name) => p.role.create({ data: { realmId, name, description: `${name} role` } })),
    );
    // Ids in this order, which the tests read the users by.
    const user = (n: number, name: string, data: Partial<Prisma.UserUncheckedCreateInput> = {}) =>
      p.user.create({
        data: { id: `0190a000-0000-7000-8000-00000000000${n}`, realmId, email: `${name}@example.com`, ...data },
      });
    const [ada, alan, grace] = await Promise.all([
      user(1, 'ada', { birthdate: new Date('1990-05-01'), customAttributes: { plan: 'pro', seats: 3, tags: ['a'] } }),
      user(2, 'alan', { birthdate: null, customAttributes: {} }),
      user(3, 'grace'),
    ]);
    // A user of another realm whose rows would show up if a join forgot the realm.
    const stranger = await p.user.create({ data: { realmId: other, email: 'ada@example.com' } });
    await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: ada.id } });
    await p.userRole.createMany({
      data: [
        { realmId, userId: ada.id, roleId: support!.id, assignedAt: hours(-3) },
        { realmId, userId: ada.id, roleId: auditor!.id, tenantId: tenant.id, assignedAt: hours(-2) },
        { realmId, userId: alan.id, roleId: auditor!.id, assignedAt: hours(-1) },
      ],
    });
    const session = (userId: string, realm: string, extra: Partial<Prisma.SessionUncheckedCreateInput>) =>
      p.session.create({ data: { realmId: realm, userId, expiresAt: hours(24), ...extra } });
    await session(ada.id, realmId, { ipAddress: '192.0.2.1', userAgent: 'Firefox', createdAt: hours(-5) });
    await session(ada.id, realmId, { ipAddress: null, userAgent: null, createdAt: hours(-4) });
    await session(ada.id, realmId, { userAgent: 'revoked', revokedAt: hours(-1), revokedReason: 'admin' });
    await session(ada.id, realmId, { userAgent: 'expired', expiresAt: hours(-1) });
    await session(alan.id, realmId, { userAgent: 'Safari' });
    await session(stranger.id, other, { userAgent: 'stranger' });
    await p.identity.create({
      data: {
        realmId,
        userId: ada.id,
        provider: 'github',
        providerUserId: '42',
        profile: { login: 'ada', repos: [1, 2], nested: { ok: true, none: null } },
      },
    });
    await p.mfaFactor.create({
      data: { realmId, userId: ada.id, type: 'TOTP', name: 'phone', secretEncrypted: 'x', lastUsedStep: 7 },
    });
    await p.mfaFactor.create({
      data: {
        realmId,
        userId: grace.id,
        type: 'WEBAUTHN',
        credentialId: 'c',
        publicKey: 'pk',
        transports: ['usb', 'nfc'],
        signCount: 2n ** 60n + 1n,
        backedUp: true,
        lastUsedAt: hours(-6),
      },
    });
  });
  afterAll(() => database?.dispose());

  /** Both ways: the compiled expressions over every user of the realm, and the client's findMany. */
  async function bothWays(select: Record<string, unknown>, readsColumn?: (field: string) => boolean) {
    const relations = compileRelations('User', 'u', select, readsColumn);
    expect(relations, 'compiles').not.toBeNull();
    const p = database.db.prisma;
    const rs = realmSql(p, realmId);
    const columns = relations!.map((r) => Prisma.sql`${r.sql} AS ${Prisma.raw(`"r_${r.field}"`)}`);
    const rows = await rs.query<Record<string, unknown>>`
      SELECT u.id, ${Prisma.join(columns, ', ')} FROM "User" u WHERE ${rs.realm('u')} ORDER BY u.id`;
    const compiled = rows.map((row): Record<string, unknown> => ({
      id: row.id,
      ...Object.fromEntries(
        relations!.filter((r) => r.field !== OTHER_COLUMNS).map((r) => [r.field, r.decode(row[`r_${r.field}`])]),
      ),
      ...(relations!.find((r) => r.field === OTHER_COLUMNS)?.decode(row[`r_${OTHER_COLUMNS}`]) as object),
    }));
    const client = await p.user.findMany({
      where: { realmId },
      orderBy: { id: 'asc' },
      select: { id: true, ...select },
    });
    return { compiled, client };
  }

  it('a filtered, ordered and limited list, as the sessions connection asks for it', async () => {
    for (const [take, skip] of [
      [21, 0],
      [1, 0],
      [1, 1],
      [0, 0],
    ]) {
      const { compiled, client } = await bothWays({
        sessions: {
          where: { revokedAt: null, expiresAt: { gt: NOW } },
          orderBy: { id: 'desc' },
          take,
          skip,
          select: { id: true, ipAddress: true, userAgent: true, createdAt: true, expiresAt: true, revokedAt: true },
        },
      });
      expect(compiled).toEqual(client);
    }
    const { compiled } = await bothWays({
      sessions: { where: { revokedAt: null, expiresAt: { gt: NOW } }, orderBy: { id: 'desc' }, select: { id: true } },
    });
    expect(compiled.map((user) => (user.sessions as unknown[]).length)).toEqual([2, 1, 0]);
  });

  it('dates are Dates, nulls stay null, JSON and lists keep their values', async () => {
    const { compiled, client } = await bothWays({
      identities: {
        orderBy: { linkedAt: 'asc' },
        select: { id: true, provider: true, providerUserId: true, email: true, profile: true, linkedAt: true },
      },
      mfaFactors: {
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { type: true, name: true, transports: true, backedUp: true, lastUsedAt: true, lastUsedStep: true },
      },
    });
    expect(compiled).toEqual(client);
    const ada = compiled[0] as { identities: { linkedAt: unknown }[]; mfaFactors: { lastUsedAt: unknown }[] };
    expect(ada.identities[0]!.linkedAt).toBeInstanceOf(Date);
    expect(ada.mfaFactors[0]!.lastUsedAt).toBeNull();
  });

  it('to-one relations inside a list, present and absent', async () => {
    const { compiled, client } = await bothWays({
      roles: {
        orderBy: { assignedAt: 'asc' },
        select: {
          assignedAt: true,
          role: { select: { id: true, name: true, description: true, builtIn: true } },
          tenant: { select: { id: true, name: true, slug: true } },
        },
      },
    });
    expect(compiled).toEqual(client);
    expect((compiled[0]!.roles as { tenant: unknown }[]).map((r) => r.tenant === null)).toEqual([true, false]);
  });

  it('a relation selected with true reads every column; counts of relations, filtered or not', async () => {
    const { compiled, client } = await bothWays({
      tenantMemberships: { orderBy: { joinedAt: 'asc' }, select: { tenant: true } },
      _count: { select: { sessions: true, mfaFactors: { where: { type: 'TOTP' } } } },
      sessions: {
        orderBy: { id: 'asc' },
        select: { id: true, _count: { select: { refreshTokens: true, applications: true } } },
      },
    });
    expect(compiled).toEqual(client);
    expect(compiled[0]!._count).toEqual({ sessions: 4, mfaFactors: 1 });
    expect((compiled[0]!.tenantMemberships as { tenant: Record<string, unknown> }[])[0]!.tenant).toMatchObject({
      name: 'Acme',
      slug: 'acme',
      createdAt: expect.any(Date),
    });
  });

  it('without select every column, with include the relations it names too (BigInt exactly)', async () => {
    const { compiled, client } = await bothWays({
      roles: {
        orderBy: { assignedAt: 'asc' },
        include: {
          role: { select: { id: true, name: true, scopes: { select: { scope: { select: { name: true } } } } } },
          tenant: true,
        },
      },
      identities: { orderBy: { linkedAt: 'asc' } },
      mfaFactors: { orderBy: { createdAt: 'asc' } },
      loginEvents: { orderBy: { id: 'desc' }, take: 6, skip: 0 },
      sessions: { orderBy: { id: 'asc' }, include: { application: true } },
    });
    expect(compiled).toEqual(client);
    const grace = compiled[2] as { mfaFactors: { signCount: unknown }[] };
    expect(grace.mfaFactors[0]!.signCount).toBe(2n ** 60n + 1n);
  });

  it('columns the caller does not read itself come as one more part, dates and JSON as the client reads them', async () => {
    const select = { id: true, email: true, birthdate: true, customAttributes: true, createdAt: true, sessions: true };
    const parts = compileRelations('User', 'u', select, (field) => field === 'id' || field === 'email');
    expect(parts!.map((part) => part.field).sort()).toEqual([OTHER_COLUMNS, 'sessions']);
    const { compiled, client } = await bothWays(select, (field) => field === 'id' || field === 'email');
    expect(compiled).toEqual(client.map((user) => ({ ...user, email: undefined })));
    expect(compiled[0]).toMatchObject({
      birthdate: new Date('1990-05-01T00:00:00.000Z'),
      customAttributes: { seats: 3 },
    });
  });

  it('a list without an order holds the same rows', async () => {
    const { compiled, client } = await bothWays({
      roles: { where: {}, select: { role: { select: { id: true, name: true } } } },
    });
    const byName = (users: Record<string, unknown>[]) =>
      users.map((user) => (user.roles as { role: { name: string } }[]).map((r) => r.role.name).sort());
    expect(byName(compiled)).toEqual(byName(client));
  });

  it('OR, NOT, enums, booleans, integers and null tests in where', async () => {
    const wheres = [
      { OR: [{ revokedAt: { not: null } }, { expiresAt: { lte: NOW } }] },
      { NOT: { revokedAt: null } },
      { NOT: [{ revokedAt: null }, { expiresAt: { lt: NOW } }] },
      { NOT: { revokedAt: { lt: NOW } } },
      { NOT: [{ revokedAt: { gte: hours(-2) } }, { expiresAt: { lt: NOW } }] },
      { OR: [{ NOT: { revokedAt: { lt: NOW } } }, { expiresAt: { lt: NOW } }] },
      {},
      { AND: [{ expiresAt: { gte: hours(-2) } }, { revokedAt: { equals: null } }] },
      { OR: [] },
      { AND: [] },
    ];
    for (const where of wheres) {
      const { compiled, client } = await bothWays({
        sessions: { where, orderBy: { id: 'asc' }, select: { id: true, userAgent: true } },
      });
      expect(compiled, JSON.stringify(where)).toEqual(client);
    }
    for (const where of [
      { type: 'WEBAUTHN' },
      { backedUp: true },
      { lastUsedStep: { gte: 7 } },
      { type: { equals: 'TOTP' } },
    ]) {
      const { compiled, client } = await bothWays({
        mfaFactors: { where, orderBy: { id: 'asc' }, select: { id: true, type: true } },
      });
      expect(compiled, JSON.stringify(where)).toEqual(client);
    }
  });

  it('anything outside the known subset is not compiled (the page then loads through the client)', () => {
    const unsupported: Record<string, unknown>[] = [
      { _count: true },
      { _count: { select: { sessions: { take: 1 } } } },
      { _count: { select: { realm: true } } },
      { _count: { select: { sessions: true }, where: {} } },
      { sessions: { cursor: { id: '0190a000-0000-7000-8000-000000000001' }, select: { id: true } } },
      { sessions: { select: { id: true }, include: { application: true } } },
      { sessions: { include: null } },
      { sessions: { where: null, select: { id: true } } },
      { sessions: { where: [], select: { id: true } } },
      { sessions: { distinct: ['userAgent'], select: { id: true } } },
      { sessions: { where: { userAgent: 'Firefox' }, select: { id: true } } },
      { sessions: { where: { userAgent: { contains: 'Fire' } }, select: { id: true } } },
      { sessions: { where: { application: { is: null } }, select: { id: true } } },
      { sessions: { orderBy: { createdAt: { sort: 'asc', nulls: 'last' } }, select: { id: true } } },
      { sessions: { take: -1, select: { id: true } } },
      { mfaFactors: { where: { signCount: 1 }, select: { id: true } } },
      { roles: { select: { membership: { select: { userId: true } } } } },
      { sessions: { select: { nope: true } } },
      { nope: { select: { id: true } } },
    ];
    for (const select of unsupported) expect(compileRelations('User', 'u', select), JSON.stringify(select)).toBeNull();
    expect(compileRelations('User', 'u', { email: true, name: true })).toEqual([]);
    expect(compileRelations('User', 'u', { email: { select: {} } })).toBeNull();
  });

  it('holds to the foreign-key convention it assumes: [x] references [id], [realmId, x] references [realmId, id]', () => {
    const schema = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
    const relations = [...schema.matchAll(/@relation\([^)]*fields: \[([^\]]*)\], references: \[([^\]]*)\]/g)];
    expect(relations.length).toBeGreaterThan(50);
    for (const [line, fields, references] of relations) {
      const from = fields!.split(',').map((s) => s.trim());
      if (from.length === 1) expect(references, line).toBe('id');
      else if (from.length === 2 && from[0] === 'realmId') expect(references, line).toBe('realmId, id');
      else expect(from.length, line).toBeGreaterThan(2);
    }
  });
});
