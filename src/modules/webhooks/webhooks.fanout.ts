import type { AuditEvent, Prisma } from '../../generated/prisma/client.ts';

/** The `kind` of every webhook message in the outbox. */
export const WEBHOOK_KIND = 'webhook';

export interface Subscriber {
  id: string;
  url: string;
  eventTypes: string[];
}

/** What writing webhook messages needs of a client or transaction (realm-scoped or not). */
export interface WebhookWriter {
  webhookEndpoint: {
    findMany(args: {
      where: Prisma.WebhookEndpointWhereInput;
      select: { id: true; url: true; eventTypes: true };
    }): PromiseLike<Subscriber[]>;
  };
  outboxMessage: {
    findFirst(args: {
      where: Prisma.OutboxMessageWhereInput;
      orderBy: { id: 'desc' };
      select: { nextAttemptAt: true };
    }): PromiseLike<{ nextAttemptAt: Date } | null>;
    createMany(args: { data: Prisma.OutboxMessageCreateManyInput[] }): PromiseLike<unknown>;
  };
}

/** The enabled endpoints of the realm subscribed to any of `actions`. */
export function subscribersOf(
  db: WebhookWriter,
  realmId: string,
  actions: readonly string[],
): PromiseLike<Subscriber[]> {
  return db.webhookEndpoint.findMany({
    where: { realmId, enabled: true, eventTypes: { hasSome: [...new Set(actions)] } },
    select: { id: true, url: true, eventTypes: true },
  });
}

/** The Standard Webhooks body of an audit event: its public fields (never its IP address). */
function webhookPayload(event: AuditEvent): string {
  return JSON.stringify({
    type: event.action,
    timestamp: event.at.toISOString(),
    data: {
      id: event.id,
      realmId: event.realmId,
      action: event.action,
      outcome: event.outcome,
      actorType: event.actorType,
      actorId: event.actorId,
      targetType: event.targetType,
      targetId: event.targetId,
      changes: event.changes,
      requestId: event.requestId,
      at: event.at.toISOString(),
    },
  });
}

/** Messages about one user go to one endpoint in order. */
const orderingKeyOf = (endpointId: string, event: Pick<AuditEvent, 'targetType' | 'targetId'>) =>
  event.targetType === 'User' && event.targetId ? `${endpointId}:user:${event.targetId}` : null;

/**
 * Writes one outbox message per event and subscribed endpoint, in the caller's transaction.
 * A message that must wait for an earlier one about the same user is due no sooner than the last
 * of them, so that waiting messages do not crowd the worker's read of due messages.
 */
export async function enqueueWebhooks(
  db: WebhookWriter,
  realmId: string,
  subscribers: readonly Subscriber[],
  events: readonly AuditEvent[],
  exceptEndpointId?: string,
): Promise<void> {
  const now = new Date();
  const notBefore = new Map<string, Date>();
  const rows: Prisma.OutboxMessageCreateManyInput[] = [];
  for (const event of events) {
    const payload = webhookPayload(event);
    for (const endpoint of subscribers) {
      if (endpoint.id === exceptEndpointId || !endpoint.eventTypes.includes(event.action)) continue;
      const orderingKey = orderingKeyOf(endpoint.id, event);
      let nextAttemptAt = now;
      if (orderingKey) {
        let last = notBefore.get(orderingKey);
        if (!last) {
          const previous = await db.outboxMessage.findFirst({
            where: { realmId, orderingKey, status: 'PENDING' },
            orderBy: { id: 'desc' },
            select: { nextAttemptAt: true },
          });
          last = previous && previous.nextAttemptAt > now ? previous.nextAttemptAt : now;
          notBefore.set(orderingKey, last);
        }
        nextAttemptAt = last;
      }
      rows.push({
        realmId,
        kind: WEBHOOK_KIND,
        recipient: endpoint.url,
        subject: event.action,
        webhookEndpointId: endpoint.id,
        webhookId: `msg_${event.id}`,
        payload,
        orderingKey,
        nextAttemptAt,
      });
    }
  }
  if (rows.length > 0) await db.outboxMessage.createMany({ data: rows });
}
