import { defineConfig } from 'vitest/config';

/**
 * Tests that start Roster, PGlite on disk or a browser in other processes; they never use
 * TEST_DATABASE_URL, but for the outbox's and webhooks' kill tests, which use it when set.
 */
const PROCESS = [
  'test/startup.test.ts',
  'test/db/embedded.test.ts',
  'test/db/migrate-child.test.ts',
  'test/cli/**/*.test.ts',
  'test/browser/**/*.test.ts',
  'test/outbox/kill.test.ts',
  'test/webhooks/kill.test.ts',
];
/** Pure functions: no database, no server. */
const UNIT = ['test/unit/**/*.test.ts', 'test/config.test.ts', 'test/schema.test.ts'];

export default defineConfig({
  resolve: {
    // graphql ships both CJS and ESM builds; one copy must serve every importer.
    // The client package by the name its users import it with (Node resolves it from package.json
    // "exports"; Vite does not resolve a package's own name).
    alias: {
      graphql: 'graphql/index.js',
      'roster/client/react': new URL('src/client/react.ts', import.meta.url).pathname,
      'roster/client': new URL('src/client/index.ts', import.meta.url).pathname,
    },
  },
  test: {
    environment: 'node',
    pool: 'forks',
    // Both cores; test files share no state (each has its own realm data, database or directory).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // Files of one worker share the imported modules and, on the embedded database, one PGlite
      // emptied between files (test/helpers/db.ts): they must leave no global state behind.
      { extends: true, test: { name: 'unit', include: UNIT, isolate: false } },
      {
        extends: true,
        test: { name: 'api', include: ['test/**/*.test.ts'], exclude: [...UNIT, ...PROCESS], isolate: false },
      },
      // Only these run the database on disk or in child processes; once, in the embedded pass.
      { extends: true, test: { name: 'process', include: PROCESS } },
    ],
  },
});
