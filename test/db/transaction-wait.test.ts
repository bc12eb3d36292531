import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(() => database?.dispose());

// The embedded database has one session: transactions run one after another. A burst of them
// must queue, not fail after Prisma's default 2 s wait with an internal error.
it.skipIf(Boolean(process.env.TEST_DATABASE_URL))(
  'transactions queued for longer than 2 s behind others on the embedded database still run',
  { timeout: 30_000 },
  async () => {
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        database.db.prisma.$transaction(async (tx) => {
          await tx.$executeRaw`SELECT pg_sleep(0.5)`;
          return i;
        }),
      ),
    );
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : String(result.reason)))).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(Date.now() - started).toBeGreaterThan(2_500);
  },
);
