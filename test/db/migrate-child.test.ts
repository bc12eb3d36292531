import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { openEmbedded } from '../../src/db/embedded.ts';
import {
  migrate,
  migrateInChildProcess,
  migrationStatus,
  releaseInterruptedMigrations,
} from '../../src/db/migrator.ts';
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

describe('a crash while creating or migrating', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  /** A database migrated by an earlier release: the first migration only. */
  async function olderDatabase() {
    const [dataDir, olderMigrations] = [await tempDir(), await tempDir()];
    dirs.push(dataDir, olderMigrations);
    const [first, second] = await migrationFolders();
    await cp(path.join(migrationsDir, first!), path.join(olderMigrations, first!), { recursive: true });
    await cp(path.join(migrationsDir, 'migration_lock.toml'), path.join(olderMigrations, 'migration_lock.toml'));
    const db = await openDatabase({ dataDir });
    await migrate(db, { migrationsDir: olderMigrations });
    return { db, second: second! };
  }

  /** What the schema engine records of a migration when it starts, before running its script. */
  const started = (name: string, at: string, logs: string | null = null) =>
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, logs, applied_steps_count)
     VALUES (gen_random_uuid(), '', '${name}', '${at}', ${logs === null ? 'NULL' : `'${logs}'`}, 0)`;

  it(
    'applies again a migration that a crash interrupted (its script rolled back), and only that one',
    async () => {
      const { db, second } = await olderDatabase();
      try {
        const since = new Date();
        await db.rawQuery(started(second, new Date(since.getTime() + 1000).toISOString()));
        // As prisma migrate deploy would, the record blocks every migration until resolved.
        await expect(migrate(db)).rejects.toThrow(`The \`${second}\` migration started at`);
        // A failure the engine recorded (its logs), and a start before the crashed process, are left.
        await db.rawQuery(started('failed_earlier', new Date(since.getTime() + 1000).toISOString(), 'syntax error'));
        await db.rawQuery(started('before_the_crash', new Date(since.getTime() - 60_000).toISOString()));
        expect(await releaseInterruptedMigrations(db, since)).toEqual([second]);
        expect(await releaseInterruptedMigrations(db, since)).toEqual([]);
        await db.rawQuery(
          "DELETE FROM _prisma_migrations WHERE migration_name IN ('failed_earlier', 'before_the_crash')",
        );
        expect(await migrate(db)).toEqual((await migrationFolders()).slice(1));
        expect(await migrationStatus(db)).toEqual({ current: true, pending: [] });
      } finally {
        await db.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'starts a child killed by a signal once more, which finishes the job',
    async () => {
      const dataDir = await tempDir();
      dirs.push(dataDir);
      const crashes: string[] = [];
      const migrating = migrateInChildProcess(dataDir, { onCrash: (signal) => crashes.push(signal) });
      // The child holds the data directory's lock, which names it; killed while it works.
      let pid = 0;
      while (!pid) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        pid = await readFile(path.join(dataDir, 'pglite.lock'), 'utf8').then(
          (text) => Number.parseInt(text, 10),
          () => 0,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      process.kill(pid, 'SIGKILL');
      expect(await migrating).toEqual(expect.arrayContaining([(await migrationFolders()).at(-1)]));
      expect(crashes).toEqual(['SIGKILL']);
      const db = await openDatabase({ dataDir });
      try {
        expect(await migrationStatus(db)).toEqual({ current: true, pending: [] });
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
