import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('statement counter', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.dispose());

  it('counts the statements of one query', async () => {
    const { prisma, statements } = database.db;
    const before = statements.total;
    const { count, sql } = await statements.during(() => prisma.realm.findMany());
    expect(count).toBe(1);
    expect(sql[0]).toMatch(/^SELECT .* FROM "public"\."Realm"/);
    expect(statements.total).toBe(before + 1);
  });

  it('counts statements inside interactive and batch transactions, without BEGIN and COMMIT', async () => {
    const { prisma, statements } = database.db;
    const interactive = await statements.during(() =>
      prisma.$transaction(async (tx) => {
        const realm = await tx.realm.create({ data: { name: 'counted' } });
        await tx.user.create({ data: { realmId: realm.id, email: 'Ada@Example.com' } });
        return tx.user.count({ where: { realmId: realm.id } });
      }),
    );
    expect(interactive.result).toBe(1);
    expect(interactive.count).toBe(3);

    const batch = await statements.during(() => prisma.$transaction([prisma.realm.count(), prisma.user.count()]));
    expect(batch.result).toEqual([1, 1]);
    expect(batch.count).toBe(2);
  });

  it('counts each statement Prisma plans for a nested read', async () => {
    const { prisma, statements } = database.db;
    const { result, count } = await statements.during(() =>
      prisma.realm.findMany({ include: { users: { include: { roles: true } } }, relationLoadStrategy: 'query' }),
    );
    expect(result[0]?.users[0]?.email).toBe('Ada@Example.com');
    expect(count).toBe(3);
  });

  it('counts a read whose relations are joined as one statement', async () => {
    const { prisma, statements } = database.db;
    const { result, count } = await statements.during(() =>
      prisma.realm.findMany({ include: { users: { include: { roles: true } } }, relationLoadStrategy: 'join' }),
    );
    expect(result[0]?.users[0]?.email).toBe('Ada@Example.com');
    expect(count).toBe(1);
  });
});
