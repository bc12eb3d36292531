import { randomUUID } from 'node:crypto';
import { access, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/** The in-memory location accepted by {@link openEmbedded}. */
export const IN_MEMORY = 'memory://';

const extensions = { citext, pg_trgm };

/**
 * Memory settings for PostgreSQL inside PGlite. PostgreSQL touches all of `shared_buffers` when
 * it starts and PGlite's WASM heap never shrinks, so what these reserve stays resident for the
 * life of the process: with PostgreSQL's defaults (128MB of `shared_buffers`, 64MB of
 * `maintenance_work_mem` for index builds) 151 MB of the heap is resident right after opening,
 * with these 29 MB. An embedded database serving one session needs no large buffer cache: the
 * pages it evicts are read back from the operating system's file cache (or from memory, for
 * in-memory databases). Passed as `-c` options after PGlite's own, so that `postgresql.conf` in
 * the data directory stays as initdb wrote it.
 */
const SETTINGS = { shared_buffers: '16MB', maintenance_work_mem: '16MB' };
const startParams = [
  ...PGlite.defaultStartParams,
  ...Object.entries(SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
];

export interface EmbeddedDatabase {
  readonly pglite: PGlite;
  /** Closes the database and releases the data directory. */
  close(): Promise<void>;
}

export interface OpenEmbeddedOptions {
  /** A data directory dump (`PGlite#dumpDataDir`) to start from instead of an empty database. */
  loadDataDir?: Blob;
}

export class EmbeddedDatabaseLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}; ` +
        'stop it or set ROSTER_DATA_DIR to another directory',
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

/** Creates an empty PGlite instance with Roster's extensions available. */
export function createPGlite(dataDir: string, options: OpenEmbeddedOptions = {}): Promise<PGlite> {
  return PGlite.create(dataDir, { extensions, startParams, ...options });
}

/**
 * Opens PGlite persisted in `<dataDir>/pglite` (or in memory for {@link IN_MEMORY}), holding
 * `<dataDir>/pglite.lock` so that a second process cannot open the same files.
 */
export async function openEmbedded(dataDir: string, options: OpenEmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const inMemory = dataDir.startsWith(IN_MEMORY);
  const release = inMemory ? async () => {} : await acquireLock(dataDir);
  try {
    const pglite = await createPGlite(inMemory ? dataDir : path.join(dataDir, 'pglite'), options);
    return {
      pglite,
      async close() {
        try {
          if (!pglite.closed) await pglite.close();
        } finally {
          await release();
        }
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Whether `dataDir` holds an embedded database already (false for {@link IN_MEMORY}). */
export async function embeddedExists(dataDir: string): Promise<boolean> {
  if (dataDir.startsWith(IN_MEMORY)) return false;
  return access(path.join(dataDir, 'pglite', 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

/** Lock files held by this process; a lock file naming our own pid is stale unless listed. */
const heldLocks = new Set<string>();

async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const dir = path.resolve(dataDir);
  const lockFile = path.join(dir, 'pglite.lock');
  await mkdir(dir, { recursive: true });
  // link() publishes the lock file atomically with its content, so a reader never sees it empty.
  const candidate = `${lockFile}.${randomUUID()}`;
  await writeFile(candidate, `${process.pid}\n`);
  try {
    for (;;) {
      try {
        await link(candidate, lockFile);
        heldLocks.add(lockFile);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(lockFile);
      if (owner === undefined) continue;
      if (isAlive(owner) && (owner !== process.pid || heldLocks.has(lockFile))) {
        throw new EmbeddedDatabaseLockedError(dir, owner);
      }
      // Stale: its process is gone, or it has our pid but was left by an earlier process
      // (pid reuse is the norm in containers).
      await unlink(lockFile).catch(ignoreMissing);
    }
  } finally {
    await unlink(candidate).catch(ignoreMissing);
  }
  return async () => {
    heldLocks.delete(lockFile);
    if ((await readOwner(lockFile)) === process.pid) await unlink(lockFile).catch(ignoreMissing);
  };
}

/** The pid in a lock file; NaN if unreadable (treated as stale); undefined if it is gone. */
async function readOwner(lockFile: string): Promise<number | undefined> {
  try {
    return Number.parseInt(await readFile(lockFile, 'utf8'), 10);
  } catch (error) {
    ignoreMissing(error);
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
