import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
  type TransactionOptions,
} from '@prisma/driver-adapter-utils';
import { toDriverAdapterError } from './adapters.ts';
import { currentRequest } from './request-scope.ts';

/** What the worker opens: passed as its `workerData`. */
export interface WorkerInit {
  /** PGlite's data directory (or `memory://`); the caller holds the lock. */
  dataDir: string;
  loadDataDir?: Uint8Array | undefined;
  sessionSettings: Record<string, string>;
}

type Operation =
  | { op: 'queryRaw' | 'executeRaw'; query: SqlQuery; tx?: number | undefined }
  | { op: 'startTransaction'; isolationLevel?: string | undefined }
  | { op: 'commit' | 'rollback'; tx: number }
  | { op: 'executeScript'; script: string }
  | { op: 'rawQuery'; sql: string }
  | { op: 'dumpDataDir' }
  | { op: 'close' };

/** A call to the worker; `deadline` (epoch ms) drops it if it cannot start by then. */
export type WorkerRequest = Operation & { id: number; deadline?: number | undefined };

export interface WorkerReply {
  id: number;
  value?: unknown;
  error?: { name: string; message: string; props: Record<string, unknown>; cause?: unknown };
}

const ADAPTER_NAME = 'pglite-prisma-adapter';

/**
 * The embedded database in a worker thread: PGlite runs every statement synchronously on the
 * thread that owns it, so on the HTTP thread one long statement would hold every request,
 * liveness included. Statements queue in the worker (PGlite has one session); each call
 * started inside a request (see request-scope.ts) is dropped if that request is aborted
 * before the statement starts, and, with a statement timeout, if it cannot start in time. A
 * statement that has started runs to its end: PGlite cannot interrupt it and ignores
 * `statement_timeout` (no timers in its WebAssembly build).
 */
export class EmbeddedWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  #nextId = 1;
  #exited: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: WorkerReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.error) pending.reject(deserializeError(reply.error));
      else pending.resolve(reply.value);
    });
    const fail = (error: Error) => {
      this.#exited = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the embedded database worker exited (code ${code})`)));
  }

  static async start(init: WorkerInit): Promise<EmbeddedWorker> {
    const worker = spawn(init);
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the embedded database worker exited (code ${code})`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', () => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        resolve();
      });
    });
    return new EmbeddedWorker(worker);
  }

  /**
   * Sends `operation`; inside a request, `timeoutMs` bounds how long it may wait for the
   * session. Outside one (the start, which must not fail because opening the database was slow
   * on a busy machine, and background work) it waits as long as it takes.
   */
  call<T>(operation: Operation, timeoutMs?: number): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    const request = currentRequest();
    const deadline = timeoutMs && request ? Date.now() + timeoutMs : undefined;
    const signal = request?.signal;
    return new Promise<T>((resolve, reject) => {
      const cancel = () => this.#worker.postMessage({ op: 'cancel', id });
      const settle = () => signal?.removeEventListener('abort', cancel);
      this.#pending.set(id, {
        resolve: (value) => (settle(), resolve(value as T)),
        reject: (error) => (settle(), reject(error instanceof Error ? error : new Error(String(error)))),
      });
      this.#worker.postMessage({ ...operation, id, deadline } satisfies WorkerRequest);
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** A driver adapter factory whose statements run in the worker. */
  adapterFactory(timeoutMs?: number): SqlMigrationAwareDriverAdapterFactory {
    const adapter = new WorkerAdapter(this, timeoutMs);
    return {
      provider: 'postgres',
      adapterName: ADAPTER_NAME,
      connect: async () => adapter,
      connectToShadowDb: () => Promise.reject(new Error('the embedded database worker has no shadow database')),
    };
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    try {
      await this.call({ op: 'close' });
    } finally {
      await this.#worker.terminate();
    }
  }
}

class WorkerQueryable {
  readonly provider = 'postgres';
  readonly adapterName = ADAPTER_NAME;

  constructor(
    protected readonly worker: EmbeddedWorker,
    protected readonly timeoutMs: number | undefined,
    protected readonly tx?: number,
  ) {}

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.worker.call({ op: 'queryRaw', query, tx: this.tx }, this.timeoutMs);
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.worker.call({ op: 'executeRaw', query, tx: this.tx }, this.timeoutMs);
  }
}

class WorkerTransaction extends WorkerQueryable implements Transaction {
  constructor(
    worker: EmbeddedWorker,
    tx: number,
    readonly options: TransactionOptions,
  ) {
    super(worker, undefined, tx);
  }

  commit(): Promise<void> {
    return this.worker.call({ op: 'commit', tx: this.tx! });
  }

  rollback(): Promise<void> {
    return this.worker.call({ op: 'rollback', tx: this.tx! });
  }
}

class WorkerAdapter extends WorkerQueryable implements SqlDriverAdapter {
  async startTransaction(isolationLevel?: string): Promise<Transaction> {
    const { tx, options } = await this.worker.call<{ tx: number; options: TransactionOptions }>(
      { op: 'startTransaction', isolationLevel },
      this.timeoutMs,
    );
    return new WorkerTransaction(this.worker, tx, options);
  }

  async executeScript(script: string): Promise<void> {
    try {
      await this.worker.call({ op: 'executeScript', script });
    } catch (error) {
      throw toDriverAdapterError(error);
    }
  }

  getConnectionInfo() {
    return { supportsRelationJoins: true };
  }

  async dispose(): Promise<void> {}
}

function deserializeError(error: NonNullable<WorkerReply['error']>): Error {
  if (error.name === 'DriverAdapterError' && error.cause) {
    return new DriverAdapterError(error.cause as ConstructorParameters<typeof DriverAdapterError>[0]);
  }
  return Object.assign(new Error(error.message), error.props, { name: error.name });
}

function spawn(init: WorkerInit): Worker {
  const ownFile = fileURLToPath(import.meta.url);
  const entry = pathToFileURL(path.join(path.dirname(ownFile), `embedded-worker${path.extname(ownFile)}`)).href;
  const transferList = init.loadDataDir ? [init.loadDataDir.buffer as ArrayBuffer] : [];
  if (!entry.endsWith('.ts')) return new Worker(new URL(entry), { workerData: init, transferList });
  // Run from the TypeScript sources (tsx, vitest): the worker registers tsx before loading its entry.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const source = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(source, { eval: true, workerData: init, transferList });
}
