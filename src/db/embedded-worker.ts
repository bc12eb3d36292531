// Entry of the worker thread that owns the embedded database (see embedded-proxy.ts). PGlite
// runs each statement synchronously in WebAssembly; here that blocks this thread only.
import { parentPort, workerData } from 'node:worker_threads';
import type { IsolationLevel, SqlDriverAdapter, SqlQuery, Transaction } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { createPGlite } from './embedded.ts';
import type { WorkerInit, WorkerReply, WorkerRequest } from './embedded-proxy.ts';

const port = parentPort!;
const init = workerData as WorkerInit;

/**
 * PGlite has one session: a transaction holds it until it ends, and each statement outside
 * one holds it while it runs. Waiting here rather than in PGlite's own mutex lets a statement
 * whose request was cancelled, or that waited past the deadline, be dropped before it starts.
 */
let sessionTail: Promise<void> = Promise.resolve();
function acquireSession(): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const acquired = sessionTail.then(() => release);
  sessionTail = sessionTail.then(() => released);
  return acquired;
}

const cancelled = new Set<number>();
const transactions = new Map<number, { tx: Transaction; release: () => void }>();

const pglite = await createPGlite(
  init.dataDir,
  init.loadDataDir ? { loadDataDir: new Blob([init.loadDataDir as Uint8Array<ArrayBuffer>]) } : {},
);
for (const [name, value] of Object.entries(init.sessionSettings)) {
  await pglite.query('SELECT set_config($1, $2, false)', [name, value]);
}
const adapter: SqlDriverAdapter = await new PrismaPGlite(pglite).connect();

/** Waits for the session; refuses a request that was cancelled or waited past its deadline. */
async function acquireFor(request: WorkerRequest): Promise<() => void> {
  const release = await acquireSession();
  const reason = cancelled.has(request.id)
    ? 'user request'
    : request.deadline !== undefined && Date.now() > request.deadline
      ? 'statement timeout'
      : undefined;
  if (reason) {
    release();
    throw cancelError(`canceling statement due to ${reason}`);
  }
  return release;
}

async function exclusive<T>(request: WorkerRequest, fn: () => Promise<T>): Promise<T> {
  const release = await acquireFor(request);
  try {
    return await fn();
  } finally {
    release();
  }
}

function cancelError(message: string) {
  // The shape PGlite's own errors have, so that both adapters convert it alike.
  return Object.assign(new Error(message), { name: 'DatabaseError', code: '57014', severity: 'ERROR' });
}

async function handle(request: WorkerRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  switch (request.op) {
    case 'queryRaw':
    case 'executeRaw': {
      const query: SqlQuery = request.query;
      if (request.tx !== undefined) {
        const tx = transactions.get(request.tx)!.tx;
        return { value: request.op === 'queryRaw' ? await tx.queryRaw(query) : await tx.executeRaw(query) };
      }
      return {
        value: await exclusive<unknown>(request, () =>
          request.op === 'queryRaw' ? adapter.queryRaw(query) : adapter.executeRaw(query),
        ),
      };
    }
    case 'startTransaction': {
      // The session stays with the transaction until it ends.
      const release = await acquireFor(request);
      try {
        const tx = await adapter.startTransaction(request.isolationLevel as IsolationLevel | undefined);
        transactions.set(request.id, { tx, release });
        return { value: { tx: request.id, options: tx.options } };
      } catch (error) {
        release();
        throw error;
      }
    }
    case 'commit':
    case 'rollback': {
      const entry = transactions.get(request.tx)!;
      transactions.delete(request.tx);
      try {
        await (request.op === 'commit' ? entry.tx.commit() : entry.tx.rollback());
      } finally {
        entry.release();
      }
      return { value: undefined };
    }
    case 'executeScript':
      return {
        value: await exclusive(request, async () => {
          await pglite.exec(request.script);
          // PGlite learns array types (citext[] of a migration's extension) only when asked.
          await pglite.refreshArrayTypes();
        }),
      };
    case 'rawQuery':
      return { value: await exclusive(request, async () => (await pglite.query(request.sql)).rows) };
    case 'dumpDataDir': {
      const buffer = await exclusive(request, async () => (await pglite.dumpDataDir('none')).arrayBuffer());
      return { value: buffer, transfer: [buffer] };
    }
    case 'close':
      await exclusive(request, () => pglite.close());
      return { value: undefined };
  }
}

port.on('message', (message: WorkerRequest | { op: 'cancel'; id: number }) => {
  if (message.op === 'cancel') {
    cancelled.add(message.id);
    return;
  }
  handle(message)
    .finally(() => cancelled.delete(message.id))
    .then(
      ({ value, transfer }) => port.postMessage({ id: message.id, value } satisfies WorkerReply, transfer ?? []),
      (error: unknown) => port.postMessage({ id: message.id, error: serializeError(error) } satisfies WorkerReply),
    );
});
port.postMessage({ ready: true });

function serializeError(error: unknown): WorkerReply['error'] {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), props: {} };
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || typeof value !== 'function') props[key] = value;
  }
  return { name: error.name, message: error.message, props, cause: structuredCloneable(error.cause) };
}

function structuredCloneable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return undefined;
  }
}
