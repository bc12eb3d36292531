import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterPrisma, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { sha256 } from './crypto.ts';

/**
 * Where the counters of every rate limit live: in PostgreSQL (table `RateLimit`) so that all
 * API processes share them, or in this process's memory for the embedded database, which only
 * one process can open.
 */
export type RateLimitStore = { kind: 'memory' } | { kind: 'database'; prisma: PrismaClient };

export interface FailureLimitOptions {
  /** Names this limit's keys in the shared store (`<name>:<key>`). */
  name: string;
  /** Failures a key may have in one window; 0 turns the limit off. */
  failures: number;
  /** Length of the window that begins with a key's first failure. */
  windowSeconds: number;
}

/**
 * Counts failures (of sign-ins, client authentications…) per key in fixed windows. Once a key
 * has `failures` in its window, `retryAfter` reports the seconds until the window ends; callers
 * refuse the attempt before checking anything, so a refused attempt can neither succeed nor
 * count. Every rate limit of Roster goes through this class.
 */
export class FailureLimit {
  readonly #limiter: RateLimiterAbstract | null;
  readonly #failures: number;

  constructor(store: RateLimitStore, options: FailureLimitOptions) {
    this.#failures = options.failures;
    const common = { keyPrefix: options.name, points: Math.max(options.failures, 1), duration: options.windowSeconds };
    this.#limiter =
      options.failures <= 0
        ? null
        : store.kind === 'memory'
          ? new RateLimiterMemory(common)
          : // The model accessor of `RateLimit`; expired rows are deleted every 5 minutes.
            new RateLimiterPrisma({ ...common, storeClient: store.prisma, tableName: 'rateLimit' });
  }

  /** Seconds until `key` may try again (at least 1), or 0 when it may now. */
  async retryAfter(key: string): Promise<number> {
    if (!this.#limiter) return 0;
    return this.wait(await this.#limiter.get(key));
  }

  /** The row of `key` in table `RateLimit` (database store); null when the limit is off. */
  storeKey(key: string): string | null {
    return this.#limiter ? this.#limiter.getKey(key) : null;
  }

  /** Seconds until a key with this counter may try again, or 0. */
  wait(state: { consumedPoints: number; msBeforeNext: number } | null): number {
    // The memory store may still hold a counter whose window has just ended.
    if (!state || state.consumedPoints < this.#failures || state.msBeforeNext <= 0) return 0;
    return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  }

  /** Counts one failure of `key`. */
  async recordFailure(key: string): Promise<void> {
    await this.#limiter?.penalty(key, 1);
  }

  /**
   * Counts one failure of `key` and tells whether it is within the limit: false once `key` has
   * had `failures` in its window. One atomic step, so concurrent callers cannot overshoot.
   */
  async withinLimit(key: string): Promise<boolean> {
    if (!this.#limiter) return true;
    try {
      await this.#limiter.consume(key, 1);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    }
  }
}

/** Failures allowed per source address and per client id, each in its own window. */
export interface AddressClientLimitSettings {
  perAddress: { failures: number; windowSeconds: number };
  perClient: { failures: number; windowSeconds: number };
}

/** Two failure limits over one store: per source address (`<name>-address`) and per client id (`<name>-client`). */
export class AddressClientLimits {
  readonly #perAddress: FailureLimit;
  readonly #perClient: FailureLimit;
  readonly #prisma: PrismaClient | null;

  constructor(store: RateLimitStore, name: string, settings: AddressClientLimitSettings) {
    this.#perAddress = new FailureLimit(store, { name: `${name}-address`, ...settings.perAddress });
    this.#perClient = new FailureLimit(store, { name: `${name}-client`, ...settings.perClient });
    this.#prisma = store.kind === 'database' ? store.prisma : null;
  }

  /**
   * Seconds until both `address` and `clientId` may try again, or 0. Checked on every token
   * request: in the database, both counters are read in one statement.
   */
  // Client ids may come from the request and be long: the key is their hash.
  async retryAfter(address: string, clientId: string): Promise<number> {
    const limits = [
      [this.#perAddress, address],
      [this.#perClient, sha256(clientId)],
    ] as const;
    if (!this.#prisma) return Math.max(...(await Promise.all(limits.map(([limit, key]) => limit.retryAfter(key)))));
    const keys = limits.map(([limit, key]) => limit.storeKey(key));
    const wanted = keys.filter((key) => key !== null);
    if (!wanted.length) return 0;
    const now = new Date();
    const rows = await this.#prisma.rateLimit.findMany({
      where: { key: { in: wanted }, OR: [{ expire: { gt: now } }, { expire: null }] },
      select: { key: true, points: true, expire: true },
    });
    const waits = limits.map(([limit], i) => {
      const row = rows.find((one) => one.key === keys[i]);
      if (!row) return 0;
      // As the library reports a counter: no end (-1) when the row has none.
      const msBeforeNext = row.expire ? Math.max(row.expire.getTime() - Date.now(), 0) : -1;
      return limit.wait({ consumedPoints: row.points, msBeforeNext });
    });
    return Math.max(...waits);
  }

  async recordFailure(address: string, clientId: string): Promise<void> {
    await Promise.all([this.#perAddress.recordFailure(address), this.#perClient.recordFailure(sha256(clientId))]);
  }
}

/** PostgreSQL: counters shared by every API process. Embedded: one process, so memory. */
export function rateLimitStoreOf(db: { kind: string; prisma: PrismaClient }): RateLimitStore {
  return db.kind === 'postgres' ? { kind: 'database', prisma: db.prisma } : { kind: 'memory' };
}

/**
 * The key of a source address: IPv4 as is (also when mapped into IPv6), IPv6 by its /64
 * prefix, since one host usually controls a whole /64.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const plain = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1]!;
  if (isIPv4(plain)) return plain;
  if (!isIPv6(plain)) return 'unknown';
  const groups = expandIPv6(plain);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}
