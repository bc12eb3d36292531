import type { OutboxMessage, Prisma, PrismaClient } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { decrypt, encrypt } from '../../auth/crypto.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, notFound, refused, userError, type MutationResult } from '../user-error.ts';

/** What an email message carries besides its recipient and subject; sealed at rest. */
export interface EmailBody {
  /** The realm's `mailFrom`; null: the server's default sender. */
  from: string | null;
  text: string;
  html: string;
}

export interface NewOutboxMessage {
  kind: string;
  recipient: string;
  subject: string;
  body: EmailBody;
}

/** The associated data of a message's sealed body: a body cannot be moved to another realm's message. */
const sealContext = (realmId: string, kind: string) => `outbox:${realmId}:${kind}`;

function sealBody(key: Buffer, realmId: string, kind: string, body: EmailBody): string {
  return encrypt(key, JSON.stringify(body), sealContext(realmId, kind));
}

export function openBody(
  key: Buffer,
  message: Pick<OutboxMessage, 'realmId' | 'kind' | 'sealedBody'>,
): EmailBody | null {
  if (!message.sealedBody) return null;
  return JSON.parse(decrypt(key, message.sealedBody, sealContext(message.realmId, message.kind))) as EmailBody;
}

/**
 * Writes a message to the outbox. Call it inside the transaction of the change that causes the
 * message: it is delivered only if that change commits, and then even if this process stops.
 */
export async function enqueueMessage(
  tx: RealmTx,
  ctx: ServiceContext,
  message: NewOutboxMessage,
): Promise<OutboxMessage> {
  if (!ctx.outboxKey) throw new Error('No outbox key in the service context: messages cannot be sealed.');
  return tx.outboxMessage.create({
    data: {
      realmId: ctx.realmId,
      kind: message.kind,
      recipient: message.recipient,
      subject: message.subject,
      sealedBody: sealBody(ctx.outboxKey, ctx.realmId, message.kind, message.body),
    },
  });
}

/** `input → Prisma where` of the `outboxMessages` list. */
export function outboxListWhere(
  filter: { statuses?: readonly OutboxMessage['status'][] | null; kinds?: readonly string[] | null } | null | undefined,
): Prisma.OutboxMessageWhereInput {
  return {
    ...(filter?.statuses?.length ? { status: { in: [...filter.statuses] } } : {}),
    ...(filter?.kinds?.length ? { kind: { in: [...filter.kinds] } } : {}),
  };
}

/**
 * Gives a dead message a fresh series of attempts, starting now. Only a DEAD message: a pending
 * one is already waiting (or being attempted), and a delivered one was sent.
 */
export async function retryOutboxMessage(
  ctx: ServiceContext,
  id: string,
): Promise<MutationResult<'message', OutboxMessage>> {
  const field = ['input', 'id'];
  return inTransaction(ctx, async (tx) => {
    const before = await tx.outboxMessage.findUnique({ where: { id } });
    if (!before) return refused('message', notFound('outbox message', field));
    // The status condition makes concurrent retries of one message leave one winner.
    const { count } = await tx.outboxMessage.updateMany({
      where: { id, status: 'DEAD' },
      data: { status: 'PENDING', attempts: 0, nextAttemptAt: new Date(), lastError: null },
    });
    if (count === 0) {
      return refused(
        'message',
        userError(
          'INVALID_STATE',
          before.status === 'DELIVERED'
            ? 'The message was delivered; only a dead message can be retried.'
            : 'The message is already waiting for delivery; only a dead message can be retried.',
          field,
        ),
      );
    }
    await recordAudit(tx, ctx, {
      action: 'outbox.message_retried',
      targetType: 'OutboxMessage',
      targetId: id,
      changes: { kind: before.kind, attempts: before.attempts, lastError: before.lastError },
    });
    const message = await tx.outboxMessage.findUniqueOrThrow({ where: { id } });
    return { message, userErrors: [] };
  });
}

/** A message as `roster outbox` shows it: with its body when it still has one. */
export interface OutboxListing {
  id: string;
  realmName: string;
  kind: string;
  recipient: string;
  subject: string;
  status: OutboxMessage['status'];
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  body: EmailBody | null;
}

/** A message as text for a console: a header line, the envelope, and the text part. */
export function formatListing(message: OutboxListing, defaultFrom: string): string {
  const plural = message.attempts === 1 ? '' : 's';
  return [
    `── ${message.kind} · ${message.status} · ${message.attempts} attempt${plural} · realm ${message.realmName} · ${message.createdAt.toISOString()} · ${message.id}`,
    `From:    ${message.body ? (message.body.from ?? defaultFrom) : '-'}`,
    `To:      ${message.recipient}`,
    `Subject: ${message.subject}`,
    ...(message.lastError ? [`Last error: ${message.lastError}`] : []),
    '',
    message.body
      ? message.body.text.trimEnd()
      : message.status === 'DELIVERED'
        ? '(delivered: its body is erased)'
        : '(its body was sealed with another server secret)',
    '',
  ].join('\n');
}

/**
 * The emails of the outbox of every realm (or of `realmId`), oldest first, with the bodies opened: for the
 * operator at the console (`roster outbox`), who holds the server secret anyway.
 */
export async function outboxListing(
  prisma: PrismaClient,
  key: Buffer,
  options: {
    realmId?: string | undefined;
    statuses: OutboxMessage['status'][];
    limit: number;
    /** Only messages written after this one. */
    afterId?: string | undefined;
  },
): Promise<OutboxListing[]> {
  const rows = await prisma.outboxMessage.findMany({
    where: {
      ...(options.realmId ? { realmId: options.realmId } : {}),
      ...(options.afterId ? { id: { gt: options.afterId } } : {}),
      status: { in: options.statuses },
      // Emails only: webhooks are delivered whether or not an SMTP server is set.
      webhookEndpointId: null,
    },
    orderBy: { id: 'asc' },
    take: options.limit,
    include: { realm: { select: { name: true } } },
  });
  return rows.map((row) => {
    let body: EmailBody | null;
    try {
      body = openBody(key, row);
    } catch {
      // Sealed with another server secret (`ROSTER_SECRET_KEY` changed): listed without its body.
      body = null;
    }
    return {
      id: row.id,
      realmName: row.realm.name,
      kind: row.kind,
      recipient: row.recipient,
      subject: row.subject,
      status: row.status,
      attempts: row.attempts,
      lastError: row.lastError,
      createdAt: row.createdAt,
      body,
    };
  });
}
