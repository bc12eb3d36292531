import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, Transaction } from '@prisma/driver-adapter-utils';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { override } from './adapters.ts';

/** The channel the grants triggers notify (migration `grants_notify`), with the realm's id. */
const GRANTS_CHANNEL = 'roster_grants';

/**
 * Tables whose rows decide what an access token's caller holds, and those whose deletion
 * cascades into them. A write to one of them that this process commits changes the grants
 * version at once; other processes learn of it from the triggers' notifications.
 */
const GRANT_TABLES = [
  'Realm',
  'Application',
  'ApplicationRole',
  'Role',
  'RoleScope',
  'Resource',
  'ResourceScope',
  'User',
  'UserRole',
  'UserPermission',
  'Session',
  'Tenant',
  'TenantMembership',
];
const WRITE = /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b/i;
const GRANT_TABLE = new RegExp(`"(${GRANT_TABLES.join('|')})"`);
const COMMIT = /^\s*COMMIT\b/i;
/** Tables whose writes change a realm's webhook subscriptions (a realm's deletion cascades into them). */
const WEBHOOK_TABLE = /"(WebhookEndpoint|Realm)"/;
/** The prefix of the grants channel's notifications of a realm's webhook subscriptions (migration `webhook_endpoints_notify`). */
const WEBHOOKS_PREFIX = 'webhooks:';

/** What a version follows: the grants, or the webhook subscriptions (src/modules/webhooks/webhooks.subscribers.ts). */
type Topic = 'grants' | 'webhooks';
const TOPICS: readonly Topic[] = ['grants', 'webhooks'];

/**
 * Whether the statement may write a grant table. Mixed-case table names only match quoted, so a
 * write to one cannot go unnoticed; a statement that only reads them but says UPDATE (`FOR
 * UPDATE`) counts too, which costs a cache refill, never a stale grant.
 */
function writesGrants(sql: string): boolean {
  return WRITE.test(sql) && GRANT_TABLE.test(sql);
}

/** What a statement or a transaction may have written: grants, webhook subscriptions. */
interface Wrote {
  grants: boolean;
  webhooks: boolean;
}

function writesOf(sql: string): Wrote {
  return { grants: writesGrants(sql), webhooks: WRITE.test(sql) && WEBHOOK_TABLE.test(sql) };
}

/**
 * Versions of the grants: what a cached grant was read at, compared when it is used again.
 * The version of a realm changes when this process commits a write to a grant table (every
 * realm's, synchronously, before the writer's statement or transaction returns), when another
 * process's commit is notified (that realm's), and whenever following other processes' changes
 * starts or stops (every realm's). `version` is undefined while other processes' changes cannot
 * be followed: nothing may be cached or served from a cache then.
 */
export class GrantChanges {
  #counter = 0;
  readonly #allChangedAt: Record<Topic, number> = { grants: 0, webhooks: 0 };
  readonly #realmChangedAt: Record<Topic, Map<string, number>> = { grants: new Map(), webhooks: new Map() };
  #listener: GrantsListener | undefined;

  /**
   * Versions of the realms' webhook subscriptions, which change as the grants' do, but only on
   * writes to webhook endpoints (or realms): a change of a grant leaves them.
   */
  readonly webhooks: {
    version(realmId: string): number | undefined;
    settled(realmId: string): Promise<number | undefined>;
  } = {
    version: (realmId) => this.version(realmId, 'webhooks'),
    settled: (realmId) => this.settled(realmId, 'webhooks'),
  };

  /** Embedded databases are single-process: their changes are all this process's. */
  static inProcess(): GrantChanges {
    return new GrantChanges();
  }

  /** Follows the notifications of other processes on PostgreSQL (one dedicated connection). */
  static listening(config: pg.ClientConfig, onError: (error: Error) => void): GrantChanges {
    const changes = new GrantChanges();
    changes.#listener = new GrantsListener(config, changes, onError);
    return changes;
  }

  /** The realm's grants version now; undefined when changes cannot be followed. */
  version(realmId: string, topic: Topic = 'grants'): number | undefined {
    if (this.#listener && !this.#listener.live) return undefined;
    return Math.max(this.#allChangedAt[topic], this.#realmChangedAt[topic].get(realmId) ?? 0);
  }

  /**
   * The realm's grants version once every change committed before this call is known; undefined
   * when changes cannot be followed. A notification can arrive after a commit's answer, but
   * PostgreSQL delivers it to a listening session before that session answers its next statement:
   * one round trip on the listening connection (shared by the calls made while it waits to be
   * sent) closes that gap. Without other processes (embedded), nothing to wait for.
   */
  async settled(realmId: string, topic: Topic = 'grants'): Promise<number | undefined> {
    if (this.#listener && !(await this.#listener.sync())) return undefined;
    return this.version(realmId, topic);
  }

  /**
   * Records a change of the realm's grants, or, without a realm, of every realm's; of `topic`
   * only when given, otherwise of both.
   */
  changed(realmId?: string, topic?: Topic): void {
    const at = ++this.#counter;
    for (const each of topic ? [topic] : TOPICS) {
      if (realmId === undefined) {
        this.#allChangedAt[each] = at;
        // Every realm's version is now at least `at`: older entries say nothing any more.
        this.#realmChangedAt[each].clear();
      } else {
        this.#realmChangedAt[each].set(realmId, at);
      }
    }
  }

  /**
   * Starts following other processes' changes if not started; resolves with the outcome of the
   * current or next attempt: true once it follows them, false when the attempt failed (it is
   * retried with backoff). True at once for an embedded database.
   */
  ready(): Promise<boolean> {
    return this.#listener?.start() ?? Promise.resolve(true);
  }

  async close(): Promise<void> {
    await this.#listener?.close();
  }
}

/**
 * The adapter factory with every committed write to a grant table reported to `changes`: after
 * an autocommit statement returns, or after the COMMIT of a transaction that wrote one.
 */
export function reportGrantWrites<F extends SqlDriverAdapterFactory>(factory: F, changes: GrantChanges): F {
  return override(factory, {
    connect: async () => reportOnQueryable(await factory.connect(), changes),
  });
}

function reportOnQueryable<Q extends SqlDriverAdapter | Transaction>(
  queryable: Q,
  changes: GrantChanges,
  transaction?: Wrote,
): Q {
  const report = (wrote: Wrote) => {
    if (wrote.grants) changes.changed(undefined, 'grants');
    if (wrote.webhooks) changes.changed(undefined, 'webhooks');
  };
  const run = async <T>(query: SqlQuery, send: () => Promise<T>): Promise<T> => {
    const writes = writesOf(query.sql);
    if (transaction) {
      transaction.grants ||= writes.grants;
      transaction.webhooks ||= writes.webhooks;
    }
    try {
      return await send();
    } finally {
      if (!transaction) report(writes);
      else if (COMMIT.test(query.sql)) report(transaction);
    }
  };
  const overrides: Record<string, unknown> = {
    queryRaw: (query: SqlQuery) => run(query, () => queryable.queryRaw(query)),
    executeRaw: (query: SqlQuery) => run(query, () => queryable.executeRaw(query)),
  };
  if ('startTransaction' in queryable) {
    overrides.startTransaction = async (...args: Parameters<SqlDriverAdapter['startTransaction']>) =>
      reportOnQueryable(await queryable.startTransaction(...args), changes, { grants: false, webhooks: false });
  }
  if (transaction && 'commit' in queryable) {
    // PGlite's adapter commits here; adapter-pg has sent COMMIT as a statement before.
    overrides.commit = async () => {
      try {
        await queryable.commit();
      } finally {
        report(transaction);
      }
    };
  }
  return override(queryable, overrides);
}

/** `application_name` of the listening connection. */
export const LISTENER_NAME = 'roster-grants-listener';

const RETRY_MS = { first: 100, max: 5_000 };
const PROBE_EVERY_MS = 10_000;
const PROBE_TIMEOUT_MS = 5_000;
const SYNC_TIMEOUT_MS = 2_000;

/**
 * One connection that LISTENs on the grants channel. It counts as live only once a probe it
 * notified itself has come back, and stops being live on any error, on the connection's end, or
 * when a probe sent every 10 s is not back within 5 s; it then reconnects with backoff. It
 * needs a session of its own: a transaction-pooling proxy (which cannot keep a LISTEN) in front
 * of the database would make it miss notifications.
 */
class GrantsListener {
  #client: pg.Client | undefined;
  #live = false;
  #closed = false;
  #starting: Promise<boolean> | undefined;
  #retryMs = RETRY_MS.first;
  #retryTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  readonly #probes = new Map<string, () => void>();
  #queued: Promise<boolean> | undefined;
  #syncTail: Promise<boolean> = Promise.resolve(true);

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly changes: GrantChanges,
    private readonly onError: (error: Error) => void,
  ) {}

  get live(): boolean {
    return this.#live;
  }

  /**
   * A round trip on the listening connection that starts after this call: every notification of
   * a commit that ended before the call has then arrived. False if not live or it fails.
   */
  sync(): Promise<boolean> {
    const client = this.#client;
    if (!this.#live || !client) return Promise.resolve(false);
    if (this.#queued) return this.#queued;
    const queued: Promise<boolean> = this.#syncTail.then(async () => {
      // Sent from now on: later calls need the next round trip.
      if (this.#queued === queued) this.#queued = undefined;
      if (this.#client !== client) return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.query('SELECT 1'),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('the grants listener did not answer in time')), SYNC_TIMEOUT_MS);
          }),
        ]);
        return this.#client === client && this.#live;
      } catch (error) {
        if (this.#client === client) {
          this.onError(error as Error);
          this.#down();
        }
        return false;
      } finally {
        clearTimeout(timer);
      }
    });
    this.#queued = queued;
    this.#syncTail = queued;
    return queued;
  }

  start(): Promise<boolean> {
    this.#starting ??= this.#connect();
    return this.#starting;
  }

  async #connect(): Promise<boolean> {
    const client = new pg.Client({ ...this.config, keepAlive: true, application_name: LISTENER_NAME });
    this.#client = client;
    const down = (error?: Error) => {
      if (this.#client !== client) return;
      if (error) this.onError(error);
      this.#down();
    };
    client.on('error', down);
    client.on('end', () => down());
    client.on('notification', (message) => {
      if (this.#client !== client || message.channel !== GRANTS_CHANNEL) return;
      const payload = message.payload ?? '';
      const probe = this.#probes.get(payload);
      if (probe) probe();
      else if (payload.startsWith(WEBHOOKS_PREFIX))
        this.changes.changed(payload.slice(WEBHOOKS_PREFIX.length), 'webhooks');
      else if (!payload.startsWith('probe:')) this.changes.changed(payload || undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${GRANTS_CHANNEL}`);
      await this.#probe(client);
    } catch (error) {
      down(error as Error);
      return false;
    }
    if (this.#client !== client) return false;
    // Whatever was read before is of unknown age: only what is read from now on may be cached.
    this.changes.changed();
    this.#live = true;
    this.#retryMs = RETRY_MS.first;
    this.#probeTimer = setInterval(() => {
      this.#probe(client).catch((error: unknown) => down(error as Error));
    }, PROBE_EVERY_MS).unref();
    return true;
  }

  /** Notifies the channel from this session and waits for the notification to come back. */
  async #probe(client: pg.Client): Promise<void> {
    const payload = `probe:${randomUUID()}`;
    let timer: NodeJS.Timeout | undefined;
    const back = new Promise<void>((resolve, reject) => {
      this.#probes.set(payload, resolve);
      timer = setTimeout(() => reject(new Error('the grants listener did not hear its own probe')), PROBE_TIMEOUT_MS);
    });
    try {
      await client.query('SELECT pg_notify($1, $2)', [GRANTS_CHANNEL, payload]);
      await back;
    } finally {
      clearTimeout(timer);
      this.#probes.delete(payload);
    }
  }

  #down(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#live = false;
    this.changes.changed();
    clearInterval(this.#probeTimer);
    client?.removeAllListeners('notification');
    client?.end().catch(() => {});
    if (this.#closed) return;
    clearTimeout(this.#retryTimer);
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
    this.#starting = new Promise<boolean>((resolve) => {
      this.#retryTimer = setTimeout(() => resolve(this.#connect()), delay).unref();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#probeTimer);
    const client = this.#client;
    this.#client = undefined;
    this.#live = false;
    await client?.end().catch(() => {});
  }
}
