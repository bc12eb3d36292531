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

/**
 * Whether `error` (or what it wraps: GraphQL's originalError, Prisma's driver adapter error,
 * a cause) is a statement ended by the statement timeout or by cancellation.
 */
export function isQueryCanceled(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as Record<string, unknown>;
    if (e.code === QUERY_CANCELED || e.originalCode === QUERY_CANCELED) return true;
    if (typeof e.message === 'string' && /canceling statement due to (statement timeout|user request)/.test(e.message))
      return true;
    queue.push(e.originalError, e.cause, (e.meta as Record<string, unknown> | undefined)?.driverAdapterError);
  }
  return false;
}
