import { builder, requireScopes } from '../../graphql/builder.ts';
import { badUserInput } from '../../graphql/errors.ts';
import { payloadType } from '../payloads.schema.ts';
import { serviceOf } from '../../context.ts';
import { outboxListWhere, retryOutboxMessage } from './outbox.service.ts';
import { MAIL_KINDS } from '../mail/mail.templates.ts';
import { OUTBOX_DEFAULTS } from './outbox.worker.ts';
import { WEBHOOK_KIND } from '../webhooks/webhooks.fanout.ts';

const KIND_LIST = [...Object.keys(MAIL_KINDS), WEBHOOK_KIND].map((kind) => `\`${kind}\``).join(', ');
const MAX_KIND_LENGTH = 100;

const OutboxStatusEnum = builder.enumType('OutboxStatus', {
  description: 'Where an outbox message is in its delivery.',
  values: {
    PENDING: {
      description:
        'Waiting for its first or next attempt, or being attempted. Without an SMTP server (`ROSTER_SMTP_URL`) emails stay pending.',
    },
    DELIVERED: { description: 'Accepted by the SMTP server; its body is erased.' },
    DEAD: {
      description: `Every attempt failed (${OUTBOX_DEFAULTS.maxAttempts}): no further attempt is made until \`retryOutboxMessage\`.`,
    },
  } as const,
});

export const OutboxMessageRef = builder.prismaNode('OutboxMessage', {
  description:
    'An outbound message (an email, or a webhook: a delivery of an audit event to a webhook endpoint), written in the same transaction as the change that caused it and delivered by the server, with retries. An email’s body is never readable through the API: it may hold a one-time link.',
  id: { field: 'id', description: 'The global id of the message.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['realm:read']),
  fields: (t) => ({
    kind: t.exposeString('kind', { description: `What the message is: ${KIND_LIST}.` }),
    recipient: t.exposeString('recipient', {
      description: 'The email address it goes to; for a webhook, the endpoint’s URL when it was written.',
    }),
    subject: t.exposeString('subject', { description: 'Its subject line; for a webhook, the event type.' }),
    status: t.expose('status', { type: OutboxStatusEnum, description: 'Where it is in its delivery.' }),
    attempts: t.exposeInt('attempts', {
      description: 'Delivery attempts started in its current series (a retry starts a new one).',
    }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When a pending message’s next attempt may start (while one runs: when it counts as lost); null unless pending.',
      select: { status: true, nextAttemptAt: true },
      resolve: (message) => (message.status === 'PENDING' ? message.nextAttemptAt : null),
    }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description:
        'Why the last attempt failed (the SMTP server’s answer or the connection error); null after a success.',
    }),
    deliveredAt: t.expose('deliveredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the SMTP server accepted it; null until then.',
    }),
    webhookEndpoint: t.relation('webhookEndpoint', {
      nullable: true,
      description: 'The endpoint a webhook goes to; null for an email.',
    }),
    webhookId: t.exposeString('webhookId', {
      nullable: true,
      description: 'A webhook’s `webhook-id` header (the same for its replays); null for an email.',
    }),
    responseStatus: t.exposeInt('responseStatus', {
      nullable: true,
      description:
        'A webhook’s last attempt: the HTTP status of the answer; null without an answer or before any attempt.',
    }),
    responseBody: t.exposeString('responseBody', {
      nullable: true,
      description:
        'A webhook’s last attempt: the first 1024 bytes of the answer’s body; null without one, and once the realm’s `webhookResponseRetentionDays` have passed since the attempt (removed then).',
    }),
    durationMs: t.exposeInt('durationMs', {
      nullable: true,
      description: 'A webhook’s last attempt: how long it took, in milliseconds.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was written.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its delivery state last changed.' }),
  }),
});

export const OutboxMessageConnectionRef = builder.connectionObject(
  {
    type: OutboxMessageRef,
    name: 'OutboxMessageConnection',
    description: 'A page of outbox messages.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'The number of messages matching, across all pages.',
        extensions: { pothosPrismaTotalCount: true },
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'OutboxMessageEdge', description: 'An outbox message in a page of messages.' },
);

export const OutboxMessageFilter = builder.inputType('OutboxMessageFilter', {
  description: 'Which outbox messages to list; conditions combine with AND, an empty list is no condition.',
  fields: (t) => ({
    statuses: t.field({ type: [OutboxStatusEnum], description: 'Messages in any of these states.' }),
    kinds: t.stringList({ description: `Messages of any of these kinds: ${KIND_LIST}.` }),
  }),
});

type FilterArg = { statuses?: ('PENDING' | 'DELIVERED' | 'DEAD')[] | null; kinds?: string[] | null } | null | undefined;

export function filterWhere(filter: FilterArg) {
  filter?.kinds?.forEach((kind, index) => {
    if (kind.length > MAX_KIND_LENGTH) {
      throw badUserInput(`filter.kinds.${index}: at most ${MAX_KIND_LENGTH} characters.`, `filter.kinds.${index}`);
    }
  });
  return outboxListWhere(filter);
}

builder.queryField('outboxMessages', (t) =>
  t.prismaConnection(
    {
      type: 'OutboxMessage',
      cursor: 'id',
      description: 'The messages of the caller’s realm in the outbox (pending, delivered and dead), newest first.',
      ...requireScopes(['realm:read']),
      args: { filter: t.arg({ type: OutboxMessageFilter, description: 'Which messages to list; all when omitted.' }) },
      totalCount: (_root, args, ctx) => serviceOf(ctx).db.outboxMessage.count({ where: filterWhere(args.filter) }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.outboxMessage.findMany({
          ...query,
          where: filterWhere(args.filter),
          orderBy: { id: 'desc' },
        }),
    },
    OutboxMessageConnectionRef,
  ),
);

export const OutboxMessagePayload = payloadType(
  'OutboxMessagePayload',
  'message',
  OutboxMessageRef,
  'Result of a change to the outbox.',
  'The message after the change; null when it failed.',
);

const RetryOutboxMessageInput = builder.inputType('RetryOutboxMessageInput', {
  description: 'Input of `retryOutboxMessage`.',
  fields: (t) => ({
    id: t.globalID({ for: OutboxMessageRef, required: true, description: 'The global id of a DEAD message.' }),
  }),
});

builder.mutationField('retryOutboxMessage', (t) =>
  t.field({
    type: OutboxMessagePayload,
    description: `Gives a DEAD message a new series of up to ${OUTBOX_DEFAULTS.maxAttempts} attempts, the first at once. A pending or delivered message is refused with INVALID_STATE.`,
    ...requireScopes(['realm:write']),
    args: { input: t.arg({ type: RetryOutboxMessageInput, required: true, description: 'The message to retry.' }) },
    resolve: (_root, { input }, ctx) => retryOutboxMessage(serviceOf(ctx), input.id.id),
  }),
);
