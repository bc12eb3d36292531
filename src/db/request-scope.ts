import { AsyncLocalStorage } from 'node:async_hooks';

/** The HTTP request that database work is done for. */
export interface RequestScope {
  /** Aborted when the client goes away: the request's statements are then cancelled. */
  signal: AbortSignal;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` with `scope` as the request of the statements it sends. */
export function runInRequest<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentRequest(): RequestScope | undefined {
  return storage.getStore();
}

/** SQLSTATE query_canceled: a statement timeout or a cancel request ended the statement. */
export const QUERY_CANCELED = '57014';
