import pg from 'pg';
import { currentRequest, QUERY_CANCELED } from './request-scope.ts';

/**
 * A connection whose statements, when sent for a request (see request-scope.ts), are
 * cancelled on the server when that request is aborted: a client that goes away must not
 * leave its statement running. Only promise-style calls are tracked: they are made where the
 * request's context is known, whereas pg-pool's callbacks may run in another request's.
 */
class CancellableClient extends pg.Client {
  constructor(config: pg.ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      const signal = currentRequest()?.signal;
      if (!signal || !promiseStyle(args) || ROLLBACK.test(sqlOf(args[0]))) return query(...args);
      if (signal.aborted) return Promise.reject(cancelledError());
      const processId = (this as unknown as { processID: number }).processID;
      let cancelling: Promise<void> | undefined;
      const cancel = () => (cancelling = cancelBackend(config, processId));
      signal.addEventListener('abort', cancel, { once: true });
      // The connection is only handed back once the cancel request is through, so that it
      // cannot hit the next statement on this backend.
      return (query(...args) as Promise<unknown>).finally(async () => {
        signal.removeEventListener('abort', cancel);
        await cancelling;
      });
    }) as typeof this.query;
  }
}

/**
 * A pool of {@link CancellableClient}s. Its own `query` runs on a connection it takes for the
 * statement, so that the statement can be tied to the request and its connection.
 */
export class RequestPool extends pg.Pool {
  constructor(config: pg.PoolConfig) {
    super({ ...config, Client: CancellableClient as unknown as pg.PoolConfig['Client'] });
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      if (!currentRequest() || !promiseStyle(args)) return query(...args);
      return this.#queryOnOwnConnection(args);
    }) as typeof this.query;
  }

  async #queryOnOwnConnection(args: unknown[]): Promise<unknown> {
    const client = await this.connect();
    let failure: unknown;
    try {
      return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      // As pg-pool does: a connection that failed other than by an SQL error is discarded.
      client.release(failure === undefined || failure instanceof pg.DatabaseError ? undefined : (failure as Error));
    }
  }
}

// An aborted request's transaction must still be rolled back.
const ROLLBACK = /^\s*ROLLBACK\b/i;

function sqlOf(arg: unknown): string {
  const text = typeof arg === 'string' ? arg : (arg as { text?: unknown } | undefined)?.text;
  return typeof text === 'string' ? text : '';
}

/** Not a callback-style call nor a submittable (cursor, stream): those are left alone. */
function promiseStyle(args: unknown[]): boolean {
  return (
    typeof args.at(-1) !== 'function' && typeof (args[0] as { submit?: unknown } | undefined)?.submit !== 'function'
  );
}

/** Asks the server to cancel what backend `processId` runs, over a connection of its own. */
async function cancelBackend(config: pg.ClientConfig, processId: number): Promise<void> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT pg_cancel_backend($1)', [processId]);
  } catch {
    // The statement then runs on until it ends or reaches the statement timeout.
  } finally {
    await client.end().catch(() => {});
  }
}

function cancelledError(): Error {
  return Object.assign(new Error('canceling statement due to user request'), {
    code: QUERY_CANCELED,
    severity: 'ERROR',
  });
}
