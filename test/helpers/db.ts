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
  /**
   * The embedded database may be one a finished test file of this worker gave back, emptied:
   * for callers that neither migrate nor change the schema. Saves starting PGlite again.
   */
  reusable?: boolean;
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
  if (serverUrl) return createPostgresDatabase(serverUrl, migrated, timeout);
  if (options.reusable && migrated && timeout.statementTimeoutMs === 0) return reusableEmbeddedDatabase();
  return createEmbeddedDatabase(migrated, timeout);
}

/** A migrated embedded database given back by `dispose` of a reusable one, waiting in this worker. */
let parked: Database | undefined;

/**
 * Test files of one worker run one after the other, so one PGlite serves them all: `dispose`
 * parks it and the next file gets it with every table emptied, as fresh as a new one (the
 * migrations insert no rows).
 */
async function reusableEmbeddedDatabase(): Promise<TestDatabase> {
  let db = parked;
  parked = undefined;
  if (db) {
    await migrate(db); // a no-op check that the schema is still the migrated one
    await db.rawQuery(`TRUNCATE ${(await tableNames(db)).map((name) => `"${name}"`).join(', ')}`);
  } else {
    db = (await createEmbeddedDatabase(true, { statementTimeoutMs: 0 })).db;
  }
  const own = db;
  return {
    db: own,
    dispose: async () => {
      if (parked) await own.close();
      else parked = own;
    },
  };
}

async function tableNames(db: Database): Promise<string[]> {
  const rows = await db.rawQuery<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
  );
  return rows.map((row) => row.name);
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
