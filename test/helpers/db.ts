import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { IN_MEMORY } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrator.ts';

export interface TestDatabase {
  db: Database;
  /** The URL of the test's own PostgreSQL database; undefined for the embedded database. */
  databaseUrl?: string;
  dispose(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Apply the migrations (default true). */
  migrated?: boolean;
  /** The database's statement timeout (see `openDatabase`); none by default. */
  statementTimeoutMs?: number;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
const CACHE_DIR = path.join(os.tmpdir(), 'roster-test-db');

/**
 * A fresh database with all migrations applied: in-memory PGlite, or, when
 * `TEST_DATABASE_URL` is set, a new database on that server, dropped by `dispose`.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const migrated = options.migrated ?? true;
  const timeout = { statementTimeoutMs: options.statementTimeoutMs ?? 0 };
  return serverUrl ? createPostgresDatabase(serverUrl, migrated, timeout) : createEmbeddedDatabase(migrated, timeout);
}

type Timeout = { statementTimeoutMs: number };

async function createPostgresDatabase(serverUrl: string, migrated: boolean, timeout: Timeout): Promise<TestDatabase> {
  const name = `roster_test_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const db = await openDatabase({ databaseUrl, dataDir: IN_MEMORY, ...timeout });
  const dispose = async () => {
    await db.close();
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  };
  try {
    if (migrated) await migrate(db);
  } catch (error) {
    await dispose();
    throw error;
  }
  return { db, databaseUrl, dispose };
}

/**
 * Creating a PGlite database and migrating it takes seconds; loading a dump of a migrated one
 * takes about half a second. The dump is cached per content of the migrations folder.
 */
async function createEmbeddedDatabase(migrated: boolean, timeout: Timeout): Promise<TestDatabase> {
  if (!migrated) {
    const db = await openDatabase({ dataDir: IN_MEMORY, ...timeout });
    return { db, dispose: () => db.close() };
  }
  const dumpFile = path.join(CACHE_DIR, `${await migrationsKey()}.tar`);
  const dump = await readFile(dumpFile).catch(() => undefined);
  if (dump) {
    const db = await openDatabase({ dataDir: IN_MEMORY, loadDataDir: new Blob([dump]), ...timeout });
    await migrate(db); // a no-op check that costs one query
    return { db, dispose: () => db.close() };
  }
  const db = await openDatabase({ dataDir: IN_MEMORY, ...timeout });
  await migrate(db);
  if (db.kind === 'embedded') await saveDump(dumpFile, await db.dumpDataDir());
  return { db, dispose: () => db.close() };
}

async function saveDump(dumpFile: string, dump: Blob): Promise<void> {
  await mkdir(CACHE_DIR, { recursive: true });
  // Parallel test files, and parallel servers in one file, may build the same dump: each writes
  // its own file and renames it.
  const partial = `${dumpFile}.${process.pid}.${randomUUID()}.partial`;
  await writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
  await rename(partial, dumpFile);
  for (const file of await readdir(CACHE_DIR)) {
    const stale = file.endsWith('.tar') && path.join(CACHE_DIR, file) !== dumpFile;
    if (stale) await rm(path.join(CACHE_DIR, file), { force: true });
  }
}

/** Changes with the migrations and with the PGlite version (the dump's format). */
async function migrationsKey(): Promise<string> {
  const hash = createHash('sha256');
  const pgliteDist = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  hash.update(await readFile(path.join(pgliteDist, '..', 'package.json')));
  const folders = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory());
  for (const folder of folders.map((entry) => entry.name).sort()) {
    hash.update(`\0${folder}\0`);
    hash.update(await readFile(path.join(MIGRATIONS_DIR, folder, 'migration.sql')));
  }
  return hash.digest('hex').slice(0, 16);
}
