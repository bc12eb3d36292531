import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { openEmbedded } from '../../src/db/embedded.ts';
import { migrate, migrateInChildProcess, migrationStatus } from '../../src/db/migrator.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';

// Embedded databases on disk only, so these never use TEST_DATABASE_URL.
const migrationsDir = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
const TIMEOUT_MS = 120_000;

async function migrationFolders(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

const tempDir = () => mkdtemp(path.join(os.tmpdir(), 'roster-migrate-child-'));

describe('migrateInChildProcess', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir();
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it(
    'creates the database, applies every migration and releases the data directory',
    async () => {
      expect(await migrateInChildProcess(dataDir)).toEqual(await migrationFolders());
      const db = await openDatabase({ dataDir });
      try {
        expect(await migrationStatus(db)).toEqual({ current: true, pending: [] });
        // Opened with Roster's memory settings rather than PostgreSQL's server defaults.
        expect(await db.rawQuery('SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
      } finally {
        await db.close();
      }
      expect(await migrateInChildProcess(dataDir)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'fails with the lock error while another process has the database open',
    async () => {
      const db = await openEmbedded(dataDir);
      try {
        const attempt = migrateInChildProcess(dataDir);
        await expect(attempt).rejects.toThrow(
          `the embedded database in ${dataDir} is in use by process ${process.pid}`,
        );
        await expect(attempt).rejects.toMatchObject({ name: 'EmbeddedDatabaseLockedError' });
      } finally {
        await db.close();
      }
    },
    TIMEOUT_MS,
  );
});

describe('startServer on an embedded database with pending migrations', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it(
    'applies them (in a child process) and serves the migrated database',
    async () => {
      const [dataDir, olderMigrations] = [await tempDir(), await tempDir()];
      dirs.push(dataDir, olderMigrations);
      // A database migrated by an earlier release: only the first migration.
      const [first, ...later] = await migrationFolders();
      expect(later.length, 'needs at least two migrations').toBeGreaterThan(0);
      await cp(path.join(migrationsDir, first!), path.join(olderMigrations, first!), { recursive: true });
      await cp(path.join(migrationsDir, 'migration_lock.toml'), path.join(olderMigrations, 'migration_lock.toml'));
      const older = await openDatabase({ dataDir });
      await migrate(older, { migrationsDir: olderMigrations });
      await older.close();

      let logs = '';
      const destination = new Writable({
        write(chunk, _encoding, done) {
          logs += chunk;
          done();
        },
      });
      const config = loadConfig({ ROSTER_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', NODE_ENV: 'test' });
      const server = await startServer(config, createLogger('info', destination));
      try {
        expect(await migrationStatus(server.db)).toEqual({ current: true, pending: [] });
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
        const applied = logs
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { msg: string; applied?: string[] })
          .find((line) => line.msg === 'migrations applied');
        expect(applied?.applied).toEqual(later);
      } finally {
        await server.close();
      }
    },
    TIMEOUT_MS,
  );
});
