import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { observeStatements, pgMigrationAdapter } from './adapters.ts';
import { lockEmbedded, pgliteDir } from './embedded.ts';
import { EmbeddedWorker } from './embedded-proxy.ts';
import { GrantChanges, reportGrantWrites } from './grant-changes.ts';
import { RequestPool } from './pg-cancel.ts';

/**
 * How long a transaction may wait to start: for its turn on the embedded database's one connection,
 * or for a free connection of the pool. Prisma's default, 2 s, failed requests of a busy server
 * with an internal error (a burst of concurrent creations on the embedded database).
 */
const TRANSACTION_MAX_WAIT_MS = 15_000;

export interface OpenDatabaseOptions {
  /** A `postgresql://` URL; without one, the embedded database in `dataDir` is used. */
  databaseUrl?: string;
  /** Directory of the embedded database; `memory://` keeps it in memory. */
  dataDir: string;
  /** Receives the SQL of every statement the Prisma client sends. */
  log?: (sql: string) => void;
  /** Receives errors of idle PostgreSQL connections (which are then replaced). */
  onConnectionError?: (error: Error) => void;
  /** Embedded only: start from this data directory dump (`PGlite#dumpDataDir`). */
  loadDataDir?: Blob;
  /**
   * Deadline of each statement `prisma` and `rawQuery` send (not of migrations); none if 0 or
   * unset. PostgreSQL ends a statement that runs longer (`statement_timeout`); the embedded
   * database cannot interrupt one, so it drops a statement of a request that cannot start in time.
   */
  statementTimeoutMs?: number;
}

// Typo-tolerant user search (`term <% name`) matches at this trigram word similarity; the
// default 0.6 misses single transpositions in short names ("Lovlace", "Torvlads").
// No JIT: Roster's statements are short index-driven ones whose cost estimates, inflated by
// parameters the planner cannot see, pass jit_above_cost; compiling them took 70-100 ms, longer
// than running them (userGrowth).
const SESSION_SETTINGS = { 'pg_trgm.word_similarity_threshold': '0.4', jit: 'off' };

// pg's adapter sends these as statements while PGlite's does not: leaving them out keeps
// counts equal on both.
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i;

/** Counts the SQL statements a Prisma client sends, to catch N+1 query patterns in tests. */
class StatementCounter {
  #total = 0;
  readonly #recorders = new Set<string[]>();

  /** Statements sent since the database was opened. */
  get total(): number {
    return this.#total;
  }

  /**
   * Runs `fn` and returns the statements sent meanwhile, including those of concurrent work
   * (run nothing else alongside when asserting a count).
   */
  async during<T>(fn: () => Promise<T>): Promise<{ result: T; count: number; sql: string[] }> {
    const sql: string[] = [];
    this.#recorders.add(sql);
    try {
      const result = await fn();
      return { result, count: sql.length, sql };
    } finally {
      this.#recorders.delete(sql);
    }
  }

  /** Records one statement; transaction control (BEGIN, COMMIT, ROLLBACK) is not counted. */
  record(sql: string): void {
    if (TRANSACTION_CONTROL.test(sql)) return;
    this.#total++;
    for (const recorder of this.#recorders) recorder.push(sql);
  }
}

interface DatabaseBase {
  readonly prisma: PrismaClient;
  /** The statements `prisma` has sent. */
  readonly statements: StatementCounter;
  /** Versions of the realms' grants, for caches of them (see grant-changes.ts). */
  readonly grantChanges: GrantChanges;
  /** Runs one statement directly on the driver, bypassing Prisma and the statement counter. */
  rawQuery<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  /** Opens a connection for the schema engine (migrations); close it when done. */
  openMigrationConnection(): Promise<MigrationConnection>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface MigrationConnection {
  adapter: SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
}

interface EmbeddedDatabaseConnection extends DatabaseBase {
  readonly kind: 'embedded';
  /** A dump of the data directory (`PGlite#dumpDataDir`), e.g. for `loadDataDir`. */
  dumpDataDir(): Promise<Blob>;
}

interface PostgresDatabaseConnection extends DatabaseBase {
  readonly kind: 'postgres';
  readonly pool: pg.Pool;
}

export type Database = EmbeddedDatabaseConnection | PostgresDatabaseConnection;

/** Opens PostgreSQL at `databaseUrl` through adapter-pg, or else the embedded PGlite database. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const statements = new StatementCounter();
  const onStatement = (sql: string) => {
    options.log?.(sql);
    statements.record(sql);
  };

  const { databaseUrl } = options;
  const timeoutMs = options.statementTimeoutMs || undefined;
  if (databaseUrl) {
    const settings = { ...SESSION_SETTINGS, ...(timeoutMs ? { statement_timeout: String(timeoutMs) } : {}) };
    const pool = new RequestPool({
      connectionString: databaseUrl,
      options: Object.entries(settings)
        .map(([name, value]) => `-c ${name}=${value}`)
        .join(' '),
    });
    pool.on('error', (error) => options.onConnectionError?.(error));
    const grantChanges = GrantChanges.listening({ connectionString: databaseUrl }, (error) =>
      options.onConnectionError?.(error),
    );
    const adapter = reportGrantWrites(observeStatements(new PrismaPg(pool), onStatement), grantChanges);
    const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS } });
    return {
      kind: 'postgres',
      pool,
      prisma,
      statements,
      grantChanges,
      async rawQuery<Row>(sql: string) {
        return (await pool.query(sql)).rows as Row[];
      },
      async openMigrationConnection() {
        // One session: the schema engine's advisory lock is session-level and is only
        // released when the session ends, so it must not be left on a pooled connection.
        const session = new pg.Pool({ connectionString: databaseUrl, max: 1 });
        session.on('error', (error) => options.onConnectionError?.(error));
        return { adapter: pgMigrationAdapter(session), close: () => session.end() };
      },
      async ping() {
        await pool.query('SELECT 1');
      },
      async close() {
        await grantChanges.close();
        await prisma.$disconnect();
        await pool.end();
      },
    };
  }

  const release = await lockEmbedded(options.dataDir);
  let worker: EmbeddedWorker;
  try {
    worker = await EmbeddedWorker.start({
      dataDir: pgliteDir(options.dataDir),
      loadDataDir: options.loadDataDir && new Uint8Array(await options.loadDataDir.arrayBuffer()),
      sessionSettings: SESSION_SETTINGS,
    });
  } catch (error) {
    await release();
    throw error;
  }
  // One process only (the data directory is locked): its own writes are every change.
  const grantChanges = GrantChanges.inProcess();
  const adapter = reportGrantWrites(observeStatements(worker.adapterFactory(timeoutMs), onStatement), grantChanges);
  const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS } });
  return {
    kind: 'embedded',
    prisma,
    statements,
    grantChanges,
    rawQuery<Row>(sql: string) {
      return worker.call<Row[]>({ op: 'rawQuery', sql }, timeoutMs);
    },
    async openMigrationConnection() {
      return { adapter: worker.adapterFactory(), close: async () => {} };
    },
    async ping() {
      await worker.call({ op: 'rawQuery', sql: 'SELECT 1' });
    },
    async dumpDataDir() {
      return new Blob([await worker.call<ArrayBuffer>({ op: 'dumpDataDir' })]);
    },
    async close() {
      try {
        await prisma.$disconnect();
        await worker.close();
      } finally {
        await release();
      }
    },
  };
}
