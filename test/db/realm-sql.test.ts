import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissingRealmConditionError, realmSql } from '../../src/db/realm-sql.ts';
import { clearAttribute } from '../../src/modules/users/users.attributes.queries.ts';
import { countUsers, takenRows } from '../../src/modules/users/users.queries.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('realm-sql', () => {
  let database: TestDatabase;
  let realmA: string;
  let realmB: string;
  beforeAll(async () => {
    database = await createTestDatabase({ reusable: true });
    const { prisma } = database.db;
    realmA = (await prisma.realm.create({ data: { name: 'realm-a' } })).id;
    realmB = (await prisma.realm.create({ data: { name: 'realm-b' } })).id;
    await prisma.user.createMany({
      data: [
        { realmId: realmA, email: 'ada@example.com', customAttributes: { plan: 'pro' } },
        { realmId: realmA, email: 'alan@example.com' },
        { realmId: realmB, email: 'ada@example.com', customAttributes: { plan: 'free' } },
      ],
    });
  });
  afterAll(() => database?.dispose());

  it('reads only the rows of its realm, for each of two realms', async () => {
    const { prisma } = database.db;
    const emails = async (realmId: string) => {
      const rs = realmSql(prisma, realmId);
      const rows = await rs.query<{
        email: string;
      }>`SELECT email::text FROM "User" u WHERE ${rs.realm('u')} ORDER BY email`;
      return rows.map((row) => row.email);
    };
    expect(await emails(realmA)).toEqual(['ada@example.com', 'alan@example.com']);
    expect(await emails(realmB)).toEqual(['ada@example.com']);
    expect(await countUsers(prisma, realmB, realmSql(prisma, realmB).realm('u'))).toBe(1);
    const taken = { emails: ['alan@example.com'], usernames: [], uniqueIds: [] };
    expect(await takenRows(prisma, realmA, taken)).toHaveLength(1);
    expect(await takenRows(prisma, realmB, taken)).toEqual([]);
  });

  it('writes only the rows of its realm', async () => {
    const { prisma } = database.db;
    expect(await clearAttribute(prisma, realmA, 'plan')).toBe(1);
    const users = await prisma.user.findMany({ where: { email: 'ada@example.com' }, orderBy: { realmId: 'asc' } });
    const byRealm = new Map(users.map((user) => [user.realmId, user.customAttributes]));
    expect(byRealm.get(realmA)).toEqual({});
    expect(byRealm.get(realmB)).toEqual({ plan: 'free' });
  });

  it('refuses a statement without its realm condition before it reaches the database', async () => {
    const { prisma, statements } = database.db;
    const rs = realmSql(prisma, realmA);
    const other = realmSql(prisma, realmB);
    const refused = await statements.during(async () => {
      const attempts = [
        rs.query`SELECT id FROM "User"`,
        rs.query`SELECT id FROM "User" WHERE "realmId" IS NOT NULL`,
        // Another realm's condition is not this realm's.
        rs.query`SELECT id FROM "User" u WHERE ${other.realm('u')}`,
        rs.execute`UPDATE "User" SET version = version + 1`,
      ];
      return Promise.allSettled(attempts);
    });
    expect(refused.count).toBe(0);
    for (const attempt of refused.result) {
      expect(attempt.status).toBe('rejected');
      expect((attempt as PromiseRejectedResult).reason).toBeInstanceOf(MissingRealmConditionError);
    }
    expect(() => rs.realm('u; DROP TABLE "User"')).toThrow('Not a table alias');
  });
});
