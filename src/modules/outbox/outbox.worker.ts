import type { Logger } from 'pino';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { systemContext } from '../../context.ts';
import { scopeToRealm } from '../../db/realm-scope.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { claimDueMessages, type ClaimedMessage } from './outbox.queries.ts';
import { openBody, type EmailBody } from './outbox.service.ts';
import { expireRecoveryRequests } from '../users/users.recovery.ts';
import { sweepUsedPasskeyChallenges } from '../users/users.passkeys.ts';
import { pruneWebhookResponseBodies } from '../webhooks/webhooks.retention.ts';
import { openSecret, postWebhook, WEBHOOK_TIMEOUT_MS, type WebhookAttempt } from '../webhooks/webhooks.delivery.ts';

/** Sends one email; throws when the server refused it or could not be reached. */
export interface EmailTransport {
  send(message: EmailBody & { to: string; subject: string }): Promise<void>;
  close(): void;
}

export interface OutboxWorkerOptions {
  prisma: PrismaClient;
  /** Opens the sealed bodies and webhook secrets (`roster/outbox`). */
  key: Buffer;
  /** Without one (no SMTP server), emails stay pending and only webhooks are delivered. */
  email: EmailTransport | null;
  /** Whether webhooks may reach loopback and private addresses: outside production. */
  allowPrivateTargets?: boolean;
  /** How long a webhook's receiver has to answer. */
  webhookTimeoutMs?: number;
  log: Logger;
  /** How long to wait between looks for due messages when the last found none. */
  pollMs?: number;
  /** Messages claimed at a time, per realm. */
  batchSize?: number;
  /** How long an attempt may run before the message may be claimed again (e.g. by another process). */
  leaseMs?: number;
  /** Attempts before a message is dead. */
  maxAttempts?: number;
  /** The wait after the first failure; doubled after each further one, up to `maxBackoffMs`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** In [0, 1): what `backoff` jitters by; default Math.random. */
  random?: () => number;
  /** How often this process runs the housekeeping sweeps (`housekeep`). */
  housekeepingMs?: number;
}

export const OUTBOX_DEFAULTS = {
  pollMs: 1_000,
  batchSize: 10,
  leaseMs: 5 * 60_000,
  maxAttempts: 8,
  baseBackoffMs: 30_000,
  maxBackoffMs: 60 * 60_000,
  webhookTimeoutMs: WEBHOOK_TIMEOUT_MS,
  allowPrivateTargets: false as boolean,
  housekeepingMs: 5 * 60_000,
} as const;

const DUE_READ = 50;
const ERROR_KEPT = 500;

/**
 * The wait before attempt `attempts + 1` after `attempts` failed ones: exponential, capped, with
 * "equal jitter" (half fixed, half random) so that messages failing together spread out.
 */
export function backoffMs(attempts: number, base: number, max: number, random: () => number): number {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Delivers the outbox's due messages, in the server's process. Any number of processes may run
 * one on the same database: a message is claimed by one of them for one attempt at a time (see
 * `claimDueMessages`), and its outcome is written only by the attempt that claimed it.
 */
export class OutboxWorker {
  private readonly options: Required<Omit<OutboxWorkerOptions, 'random'>> & { random: () => number };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private stopping = false;
  private nextHousekeepingAt = 0;

  constructor(options: OutboxWorkerOptions) {
    this.options = { ...OUTBOX_DEFAULTS, random: Math.random, ...options };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops looking for messages and waits for the attempts under way to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
    this.options.email?.close();
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.running = this.housekeepIfDue()
        .then(() => this.runOnce())
        .then(
          (handled) => this.schedule(handled ? 0 : this.options.pollMs),
          (error: unknown) => {
            this.options.log.warn({ err: error }, 'outbox: looking for due messages failed');
            this.schedule(this.options.pollMs);
          },
        );
    }, delayMs);
  }

  private async housekeepIfDue(): Promise<void> {
    if (Date.now() < this.nextHousekeepingAt) return;
    this.nextHousekeepingAt = Date.now() + this.options.housekeepingMs;
    try {
      const done = await this.housekeep();
      if (Object.values(done).some(Boolean)) this.options.log.info(done, 'outbox: housekeeping');
    } catch (error) {
      this.options.log.warn({ err: error }, 'outbox: housekeeping failed');
    }
  }

  /**
   * The sweeps of time-bound state, run every `housekeepingMs` by each process: account recovery
   * requests past their expiry become EXPIRED, with their audit event; webhook answer bodies past
   * their retention are removed, and so are the marks of passkey challenges used up once the
   * challenges have expired. Each sweep is safe to run in several processes at once (see each).
   */
  async housekeep(now = new Date()): Promise<{
    recoveryRequestsExpired: number;
    webhookBodiesPruned: number;
    usedPasskeyChallengesSwept: number;
  }> {
    return {
      recoveryRequestsExpired: await expireRecoveryRequests(this.options.prisma, now),
      webhookBodiesPruned: await pruneWebhookResponseBodies(this.options.prisma, now),
      usedPasskeyChallengesSwept: await sweepUsedPasskeyChallenges(this.options.prisma, now),
    };
  }

  /** One round: claims and attempts the due messages of the realms whose messages are due longest; how many it attempted. */
  async runOnce(): Promise<number> {
    // The realms of the messages due longest: a bounded read of the partial index on due messages.
    const webhooksOnly = !this.options.email;
    const due = await this.options.prisma.outboxMessage.findMany({
      where: {
        status: 'PENDING',
        nextAttemptAt: { lte: new Date() },
        ...(webhooksOnly ? { webhookEndpointId: { not: null } } : {}),
      },
      orderBy: { nextAttemptAt: 'asc' },
      select: { realmId: true },
      take: DUE_READ,
    });
    let handled = 0;
    for (const realmId of new Set(due.map((message) => message.realmId))) {
      if (this.stopping) break;
      const db = scopeToRealm(this.options.prisma, realmId);
      const claimed = await claimDueMessages(db, realmId, this.options.batchSize, this.options.leaseMs, webhooksOnly);
      // One at a time: an SMTP server throttles a sender that opens many connections at once.
      for (const message of claimed) {
        if (message.webhookEndpointId) await this.attemptWebhook(message, message.webhookEndpointId);
        else await this.attempt(message);
      }
      handled += claimed.length;
    }
    return handled;
  }

  private async attempt(message: ClaimedMessage): Promise<void> {
    const { prisma, log, email } = this.options;
    const db = scopeToRealm(prisma, message.realmId);
    const own = { id: message.id, status: 'PENDING' as const, attempts: message.attempts };
    try {
      const body = openBody(this.options.key, message);
      if (!body) throw new Error('The message has no body.');
      if (!email) throw new Error('No SMTP server.');
      await email.send({ ...body, to: message.recipient, subject: message.subject });
    } catch (error) {
      await this.failed(message, error instanceof Error ? error.message : String(error));
      return;
    }
    const { count } = await db.outboxMessage.updateMany({
      where: own,
      data: { status: 'DELIVERED', deliveredAt: new Date(), sealedBody: null, lastError: null },
    });
    if (count === 0) log.warn({ messageId: message.id }, 'outbox: a message was delivered after its lease ended');
    else log.info({ messageId: message.id, kind: message.kind, attempts: message.attempts }, 'outbox: delivered');
  }

  /**
   * POSTs a webhook message to its endpoint's current URL, signed with its current secret, and
   * keeps the answer's status, the start of its body and the duration.
   */
  private async attemptWebhook(message: ClaimedMessage, endpointId: string): Promise<void> {
    const { prisma, log, key } = this.options;
    const db = scopeToRealm(prisma, message.realmId);
    const own = { id: message.id, status: 'PENDING' as const, attempts: message.attempts };
    // Messages about the same user wait behind this one: not due before its lease ends.
    await this.holdFollowers(message, new Date(Date.now() + this.options.leaseMs));
    const endpoint = await db.webhookEndpoint.findUnique({ where: { id: endpointId } });
    // A deleted endpoint took its messages with it.
    if (!endpoint) return;
    let attempt: WebhookAttempt;
    try {
      if (!message.payload || !message.webhookId) throw new Error('The message has no payload.');
      const previous =
        endpoint.previousSealedSecret &&
        endpoint.previousSecretExpiresAt &&
        endpoint.previousSecretExpiresAt > new Date()
          ? [openSecret(key, message.realmId, endpoint.previousSealedSecret)]
          : [];
      attempt = await postWebhook({
        url: endpoint.url,
        secrets: [openSecret(key, message.realmId, endpoint.sealedSecret), ...previous],
        webhookId: message.webhookId,
        body: message.payload,
        timeoutMs: this.options.webhookTimeoutMs,
        allowPrivateTargets: this.options.allowPrivateTargets,
      });
    } catch (error) {
      attempt = {
        status: null,
        body: null,
        durationMs: 0,
        error: error instanceof Error ? error.message : String(error),
      };
    }
    const response = { responseStatus: attempt.status, responseBody: attempt.body, durationMs: attempt.durationMs };
    if (attempt.error !== null) {
      await this.failed(message, attempt.error, response);
      return;
    }
    const { count } = await db.outboxMessage.updateMany({
      where: own,
      data: { status: 'DELIVERED', deliveredAt: new Date(), lastError: null, ...response },
    });
    if (count === 0) log.warn({ messageId: message.id }, 'outbox: a webhook was delivered after its lease ended');
    else {
      log.info(
        { messageId: message.id, status: attempt.status, attempts: message.attempts },
        'outbox: webhook delivered',
      );
      await this.holdFollowers(message, new Date());
    }
  }

  /**
   * Sets when the messages waiting behind `message` (same ordering key) are due: when its lease
   * or backoff ends, or now once it is delivered or dead. They are claimed only after it anyway
   * (`claimDueMessages`); this keeps them out of the read of due messages meanwhile.
   */
  private async holdFollowers(message: ClaimedMessage, until: Date): Promise<void> {
    if (!message.orderingKey) return;
    await scopeToRealm(this.options.prisma, message.realmId).outboxMessage.updateMany({
      where: { orderingKey: message.orderingKey, status: 'PENDING', id: { gt: message.id } },
      data: { nextAttemptAt: until },
    });
  }

  private async failed(
    message: ClaimedMessage,
    reason: string,
    response: { responseStatus: number | null; responseBody: string | null; durationMs: number } | null = null,
  ): Promise<void> {
    const { prisma, log, maxAttempts, baseBackoffMs, maxBackoffMs, random } = this.options;
    const lastError = reason.slice(0, ERROR_KEPT);
    const own = { id: message.id, status: 'PENDING' as const, attempts: message.attempts };
    if (message.attempts < maxAttempts) {
      const waitMs = backoffMs(message.attempts, baseBackoffMs, maxBackoffMs, random);
      const nextAttemptAt = new Date(Date.now() + waitMs);
      const { count } = await scopeToRealm(prisma, message.realmId).outboxMessage.updateMany({
        where: own,
        data: { nextAttemptAt, lastError, ...response },
      });
      if (count > 0) await this.holdFollowers(message, nextAttemptAt);
      log.warn(
        { messageId: message.id, attempts: message.attempts, retryInMs: waitMs, reason: lastError },
        'outbox: attempt failed',
      );
      return;
    }
    const ctx = systemContext(prisma, message.realmId);
    await ctx.db.$transaction(async (tx) => {
      const { count } = await tx.outboxMessage.updateMany({
        where: own,
        data: { status: 'DEAD', lastError, ...response },
      });
      if (count === 0) return;
      await recordAudit(tx, ctx, {
        action: 'outbox.message_dead',
        targetType: 'OutboxMessage',
        targetId: message.id,
        changes: { kind: message.kind, attempts: message.attempts, lastError },
        // Its death is not news the dead endpoint could take: no message about it goes there.
        ...(message.webhookEndpointId ? { notToWebhookEndpoint: message.webhookEndpointId } : {}),
      });
    });
    await this.holdFollowers(message, new Date());
    log.error(
      { messageId: message.id, attempts: message.attempts, reason: lastError },
      'outbox: message dead after its last attempt',
    );
  }
}
