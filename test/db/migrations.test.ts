import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigration, migrate, migrationStatus, pendingSchemaChanges } from '../../src/db/migrator.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const migrationsDir = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));

async function migrationFolders(dir = migrationsDir): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'roster-migrations-'));
}

describe('migrations', () => {
  it('cover every change in schema.prisma (else: npm run db:migration:create -- <name>)', async () => {
    expect(await pendingSchemaChanges()).toBe('');
  });

  describe('on an empty database', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ migrated: false });
    });
    afterAll(() => database?.dispose());

    it('are all pending, then all applied once', async () => {
      const { db } = database;
      const folders = await migrationFolders();
      expect(folders.length).toBeGreaterThan(0);
      expect(await migrationStatus(db)).toEqual({ current: false, pending: folders });

      expect(await migrate(db)).toEqual(folders);
      expect(await migrationStatus(db)).toEqual({ current: true, pending: [] });
      expect(await migrate(db)).toEqual([]);
    });

    it('are recorded in _prisma_migrations as prisma migrate deploy records them', async () => {
      const rows = await database.db.rawQuery<{
        id: string;
        checksum: string;
        finished_at: Date | null;
        migration_name: string;
        logs: string | null;
        rolled_back_at: Date | null;
        started_at: Date;
        applied_steps_count: number;
      }>('SELECT * FROM _prisma_migrations ORDER BY migration_name');

      expect(rows.map((row) => row.migration_name)).toEqual(await migrationFolders());
      for (const row of rows) {
        const sql = await readFile(path.join(migrationsDir, row.migration_name, 'migration.sql'));
        expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
        expect(row.rolled_back_at).toBeNull();
        expect(row.logs).toBeNull();
        expect(row.applied_steps_count).toBe(1);
      }
    });

    it('create the extensions the schema relies on', async () => {
      const rows = await database.db.rawQuery<{ extname: string }>('SELECT extname FROM pg_extension');
      expect(rows.map((row) => row.extname)).toEqual(expect.arrayContaining(['citext', 'pg_trgm']));
    });
  });

  describe('on a migrated database', () => {
    let database: TestDatabase;
    let scratch: string;
    beforeAll(async () => {
      database = await createTestDatabase();
      scratch = await tempDir();
    });
    afterAll(async () => {
      await database?.dispose();
      await rm(scratch, { recursive: true, force: true });
    });

    it('report a failing migration, roll its statements back and keep it pending', async () => {
      await cp(migrationsDir, scratch, { recursive: true });
      const broken = '99999999999999_broken';
      await mkdir(path.join(scratch, broken));
      await writeFile(
        path.join(scratch, broken, 'migration.sql'),
        'CREATE TABLE "Half" ("id" INTEGER);\nSELECT * FROM "Missing";\n',
      );
      const paths = { migrationsDir: scratch };

      await expect(migrate(database.db, paths)).rejects.toThrow(/Missing/);
      expect(await migrationStatus(database.db, paths)).toEqual({ current: false, pending: [broken] });
      const [row] = await database.db.rawQuery<{ finished_at: Date | null; logs: string | null }>(
        `SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '${broken}'`,
      );
      expect(row?.finished_at).toBeNull();
      expect(row?.logs).toMatch(/Missing/);
      expect(await database.db.rawQuery(`SELECT to_regclass('"Half"') AS half`)).toEqual([{ half: null }]);
    });
  });

  // Replays every migration in a shadow database twice: over a minute on a loaded machine.
  it('are authored by createMigration like prisma migrate dev, and not when nothing changed', async () => {
    const scratch = await tempDir();
    try {
      // With the migrations before the last one generated from schema.prisma in place,
      // createMigration must write that one. Hand-written ones (triggers, which the schema
      // cannot express) do not open with one of Prisma's step comments such as `-- CreateTable`.
      const folders = await migrationFolders();
      const generated: string[] = [];
      for (const folder of folders) {
        const sql = await readFile(path.join(migrationsDir, folder, 'migration.sql'), 'utf8');
        if (/^-- [A-Z][A-Za-z]+\n/.test(sql)) generated.push(folder);
      }
      const last = generated.at(-1)!;
      // Hand-written ones after it (its triggers, say) may need its tables.
      const before = folders.slice(0, folders.indexOf(last));
      for (const folder of before)
        await cp(path.join(migrationsDir, folder), path.join(scratch, folder), { recursive: true });
      const created = await createMigration('Next step', { migrationsDir: scratch });
      expect(path.basename(created.path!)).toMatch(/^\d{14}_next_step$/);
      expect(await readFile(path.join(created.path!, 'migration.sql'), 'utf8')).toBe(
        await readFile(path.join(migrationsDir, last, 'migration.sql'), 'utf8'),
      );
      expect(await readFile(path.join(scratch, 'migration_lock.toml'), 'utf8')).toBe(
        await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8'),
      );

      expect(await createMigration('again', { migrationsDir: scratch })).toEqual({ path: undefined });
      expect(await readdir(scratch)).toHaveLength(before.length + 2); // and migration_lock.toml
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});
