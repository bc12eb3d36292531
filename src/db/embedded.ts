import { randomUUID } from 'node:crypto';
import { access, chmod, link, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
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
    /** The holder's command line, where the system tells (Linux). */
    readonly command?: string,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}${command ? ` (${command})` : ''}; ` +
        `stop that process (kill ${pid}) or set ROSTER_DATA_DIR to another directory`,
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

/** Creates an empty PGlite instance with Roster's extensions available. */
export function createPGlite(dataDir: string, options: OpenEmbeddedOptions = {}): Promise<PGlite> {
  keepWasmCode();
  return PGlite.create(dataDir, { extensions, startParams, ...options });
}

/**
 * Turns off V8's freeing of WASM code that optimised code replaced, for the whole process: in
 * Node.js 24 that freeing can abort the process while PGlite compiles ("Check failed:
 * jit_page_->allocations_.erase(addr) == 1", seen once in CI; nodejs/node#64500). The code is
 * freed with its module instead: measured, 9 MB more per PGlite instance (six instances under
 * queries, 694 against 638 MB), and a server keeps one.
 */
function keepWasmCode(): void {
  v8.setFlagsFromString('--no-wasm-code-gc');
}

/**
 * Opens PGlite persisted in `<dataDir>/pglite` (or in memory for {@link IN_MEMORY}), holding
 * `<dataDir>/pglite.lock` so that a second process cannot open the same files.
 */
export async function openEmbedded(dataDir: string, options: OpenEmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const release = await lockEmbedded(dataDir);
  try {
    const pglite = await createPGlite(pgliteDir(dataDir), options);
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

/** Where PGlite keeps the embedded database of `dataDir`. */
export function pgliteDir(dataDir: string): string {
  return dataDir.startsWith(IN_MEMORY) ? dataDir : path.join(dataDir, 'pglite');
}

/**
 * Takes the lock of the embedded database in `dataDir` (nothing for {@link IN_MEMORY}) and
 * makes the directory private, as it holds password hashes and encrypted keys. Returns the
 * function releasing the lock, which makes private what PGlite created meanwhile.
 */
export async function lockEmbedded(dataDir: string): Promise<() => Promise<void>> {
  if (dataDir.startsWith(IN_MEMORY)) return async () => {};
  const dir = path.resolve(dataDir);
  await makePrivate(dir);
  const release = await acquireLock(dir);
  return async () => {
    try {
      await makePrivate(dir);
    } finally {
      await release();
    }
  };
}

/**
 * Creates `dir` owner-only and takes group and other access away from everything in it.
 * PGlite creates its files readable and writable by all (mode 666, whatever the umask), so
 * until this runs again only the directory's own mode keeps them private.
 */
export async function makePrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const entry of ['', ...(await readdir(dir, { recursive: true }))]) {
    const file = path.join(dir, entry);
    await stat(file).then(({ mode }) => (mode & 0o077 ? chmod(file, mode & 0o700) : undefined), ignoreMissing);
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

/** Lock files held by this process, with the token each was written with. */
const heldLocks = new Map<string, string>();

/** What a lock file says about its owner. */
interface LockOwner {
  pid: number;
  /** When the owner started (`/proc/<pid>/stat`); undefined where unknown or in old lock files. */
  started: string | undefined;
  token: string | undefined;
}

async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const dir = path.resolve(dataDir);
  const lockFile = path.join(dir, 'pglite.lock');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // link() publishes the lock file atomically with its content, so a reader never sees it empty.
  const token = randomUUID();
  const candidate = `${lockFile}.${token}`;
  await writeFile(candidate, `${process.pid}\n${(await processStart(process.pid)) ?? ''}\n${token}\n`, { mode: 0o600 });
  try {
    for (;;) {
      try {
        await link(candidate, lockFile);
        heldLocks.set(lockFile, token);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(lockFile);
      if (owner === undefined) continue;
      if (await isHeld(lockFile, owner)) {
        throw new EmbeddedDatabaseLockedError(dir, owner.pid, await commandLine(owner.pid));
      }
      await unlink(lockFile).catch(ignoreMissing);
    }
  } finally {
    await unlink(candidate).catch(ignoreMissing);
  }
  return async () => {
    heldLocks.delete(lockFile);
    if ((await readOwner(lockFile))?.token === token) await unlink(lockFile).catch(ignoreMissing);
  };
}

/**
 * Whether the process named by a lock file still holds it. Pids are reused (in containers a
 * restarted server often gets the pid of its predecessor), so a live pid only counts if it
 * started when the lock's owner did; a lock naming this very process counts only while held.
 */
async function isHeld(lockFile: string, owner: LockOwner): Promise<boolean> {
  if (!isAlive(owner.pid)) return false;
  if (owner.pid === process.pid) return owner.token !== undefined && heldLocks.get(lockFile) === owner.token;
  if (owner.started === undefined) return true;
  const started = await processStart(owner.pid);
  return started === undefined || started === owner.started;
}

/** The owner named in a lock file; pid NaN if unreadable (treated as stale); undefined if it is gone. */
async function readOwner(lockFile: string): Promise<LockOwner | undefined> {
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
  } catch (error) {
    ignoreMissing(error);
    return undefined;
  }
  const [pid, started, token] = text.split('\n');
  return { pid: Number.parseInt(pid ?? '', 10), started: started || undefined, token: token || undefined };
}

/** The start time of process `pid` in clock ticks after boot (Linux); undefined elsewhere. */
async function processStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain any character.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

const COMMAND_SHOWN = 120;

/** The command line of process `pid` (Linux), shortened; undefined elsewhere or when unreadable. */
async function commandLine(pid: number): Promise<string | undefined> {
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    const text = args.join(' ');
    if (!text) return undefined;
    return text.length > COMMAND_SHOWN ? `${text.slice(0, COMMAND_SHOWN - 1)}…` : text;
  } catch {
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
