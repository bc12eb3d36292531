import { defineConfig } from 'prisma/config';

// Roster applies migrations itself (src/db/migrator.ts); this file serves `prisma generate`
// and, where Prisma's native engine is available, `prisma migrate deploy`.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/roster' },
});
