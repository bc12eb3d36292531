import { builder, requireScopes } from '../../graphql/builder.ts';
import { serviceOf } from '../../context.ts';
import { DeletePayload, deleteInputArg, withGlobalDeletedId } from '../payloads.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import type { UserErrorShape } from '../user-error.ts';
import type { WebhookEndpoint } from '../../generated/prisma/client.ts';
import {
  filterWhere,
  OutboxMessageConnectionRef,
  OutboxMessageFilter,
  OutboxMessagePayload,
  OutboxMessageRef,
} from '../outbox/outbox.schema.ts';
import { OUTBOX_DEFAULTS } from '../outbox/outbox.worker.ts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  replayWebhookDelivery,
  rotateWebhookEndpointSecret,
  updateWebhookEndpoint,
  WEBHOOK_LIMITS,
} from './webhooks.service.ts';
import { WEBHOOK_KIND } from './webhooks.fanout.ts';
import { MAX_URL_LENGTH } from './webhooks.targets.ts';

const URL_RULE = `https, or http to a loopback host (127.0.0.1, ::1, localhost) outside production; in production no loopback, private or link-local address. At most ${MAX_URL_LENGTH} characters, no credentials; one endpoint per URL in a realm.`;

const WebhookEndpointRef = builder.prismaNode('WebhookEndpoint', {
  description:
    'A URL outside Roster that receives the realm’s audit events of the types it subscribes to, as signed POST requests (Standard Webhooks).',
  id: { field: 'id', description: 'The global id of the endpoint.' },
  nullable: true,
  ...requireScopes(['realm:read']),
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Where the events are POSTed.' }),
    description: t.exposeString('description', { description: 'What the endpoint is for; may be empty.' }),
    eventTypes: t.exposeStringList('eventTypes', {
      description: 'The audit actions whose events it receives (`auditActions` in the README).',
    }),
    enabled: t.exposeBoolean('enabled', {
      description: 'Whether new events are sent to it; messages already written are delivered either way.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.queryField('webhookEndpoints', (t) =>
  t.prismaConnection(
    {
      type: 'WebhookEndpoint',
      cursor: 'id',
      description: 'The webhook endpoints of the caller’s realm, oldest first.',
      ...requireScopes(['realm:read']),
      totalCount: (_root, _args, ctx) => serviceOf(ctx).db.webhookEndpoint.count(),
      resolve: (query, _root, _args, ctx) => serviceOf(ctx).db.webhookEndpoint.findMany({ ...query }),
    },
    { name: 'WebhookEndpointConnection', description: 'A page of webhook endpoints.' },
    { name: 'WebhookEndpointEdge', description: 'A webhook endpoint in a page of endpoints.' },
  ),
);

builder.queryField('webhookDeliveries', (t) =>
  t.prismaConnection(
    {
      type: 'OutboxMessage',
      cursor: 'id',
      description:
        'The webhook messages of one endpoint (pending, delivered and dead), newest first, with the answer to their last attempt.',
      ...requireScopes(['realm:read']),
      args: {
        endpointId: t.arg.globalID({
          for: WebhookEndpointRef,
          required: true,
          description: 'The global id of the endpoint.',
        }),
        filter: t.arg({ type: OutboxMessageFilter, description: 'Which messages to list; all when omitted.' }),
      },
      totalCount: (_root, args, ctx) =>
        serviceOf(ctx).db.outboxMessage.count({
          where: { ...filterWhere(args.filter), webhookEndpointId: args.endpointId.id },
        }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.outboxMessage.findMany({
          ...query,
          where: { ...filterWhere(args.filter), webhookEndpointId: args.endpointId.id },
          orderBy: { id: 'desc' },
        }),
    },
    OutboxMessageConnectionRef,
  ),
);

interface SecretPayload {
  webhookEndpoint: WebhookEndpoint | null;
  secret: string | null;
  userErrors: UserErrorShape[];
}

const WebhookEndpointSecretPayload = builder.objectRef<SecretPayload>('WebhookEndpointSecretPayload').implement({
  description: 'Result of creating a webhook endpoint or rotating its secret: the only time the secret is shown.',
  fields: (t) => ({
    webhookEndpoint: t.field({
      type: WebhookEndpointRef,
      nullable: true,
      description: 'The endpoint; null when the mutation did not apply.',
      resolve: (payload) => payload.webhookEndpoint,
    }),
    secret: t.exposeString('secret', {
      nullable: true,
      description:
        'The signing secret (`whsec_` and base64, Standard Webhooks): verify the `webhook-signature` header with it. Shown only in this response and stored encrypted: keep it now.',
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the mutation did not apply; empty on success. When not empty, nothing changed.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

const WebhookEndpointPayload = builder
  .objectRef<{ webhookEndpoint: WebhookEndpoint | null; userErrors: UserErrorShape[] }>('WebhookEndpointPayload')
  .implement({
    description: 'Result of a change to a webhook endpoint.',
    fields: (t) => ({
      webhookEndpoint: t.field({
        type: WebhookEndpointRef,
        nullable: true,
        description: 'The endpoint after the change; null when it failed.',
        resolve: (payload) => payload.webhookEndpoint,
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: 'Why the mutation did not apply; empty on success. When not empty, nothing changed.',
        resolve: (payload) => payload.userErrors,
      }),
    }),
  });

const EVENT_TYPES_RULE = `Audit actions (the catalogue in the README, e.g. \`user.created\`), 1 to ${WEBHOOK_LIMITS.eventTypes}; duplicates count once.`;

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  description: 'Input of `createWebhookEndpoint`.',
  fields: (t) => ({
    url: t.string({ required: true, description: `Where to POST the events: ${URL_RULE}` }),
    eventTypes: t.stringList({
      required: true,
      description: EVENT_TYPES_RULE,
      extensions: { maxItems: WEBHOOK_LIMITS.eventTypes },
    }),
    enabled: t.boolean({ defaultValue: true, description: 'Whether events are sent to it; true by default.' }),
    description: t.string({
      description: `What the endpoint is for, at most ${WEBHOOK_LIMITS.description} characters.`,
    }),
  }),
});

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: WebhookEndpointSecretPayload,
    description: `Creates a webhook endpoint with a new signing secret, returned once in the payload. A realm has at most ${WEBHOOK_LIMITS.endpoints} endpoints.`,
    ...requireScopes(['realm:write']),
    args: {
      input: t.arg({ type: CreateWebhookEndpointInput, required: true, description: 'The endpoint to create.' }),
    },
    resolve: (_root, { input }, ctx) =>
      createWebhookEndpoint(serviceOf(ctx), {
        url: input.url,
        eventTypes: input.eventTypes,
        enabled: input.enabled ?? true,
        description: input.description ?? null,
      }),
  }),
);

const WebhookEndpointPatch = builder.inputType('WebhookEndpointPatch', {
  description: 'Changes to a webhook endpoint; omitted fields stay as they are.',
  fields: (t) => ({
    url: t.string({ description: `The new URL: ${URL_RULE} Pending messages go to it.` }),
    eventTypes: t.stringList({
      description: `The new full list of event types: ${EVENT_TYPES_RULE}`,
      extensions: { maxItems: WEBHOOK_LIMITS.eventTypes },
    }),
    enabled: t.boolean({ description: 'Whether new events are sent to it.' }),
    description: t.string({
      description: `What the endpoint is for, at most ${WEBHOOK_LIMITS.description} characters; null clears it.`,
    }),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Input of `updateWebhookEndpoint`.',
  fields: (t) => ({
    id: t.globalID({ for: WebhookEndpointRef, required: true, description: 'The global id of the endpoint.' }),
    patch: t.field({ type: WebhookEndpointPatch, required: true, description: 'The changes.' }),
  }),
});

builder.mutationField('updateWebhookEndpoint', (t) =>
  t.field({
    type: WebhookEndpointPayload,
    description: 'Changes a webhook endpoint’s URL, event types, enabled flag or description.',
    ...requireScopes(['realm:write']),
    args: {
      input: t.arg({ type: UpdateWebhookEndpointInput, required: true, description: 'The endpoint and its changes.' }),
    },
    resolve: (_root, { input }, ctx) => {
      const { patch } = input;
      return updateWebhookEndpoint(serviceOf(ctx), {
        id: input.id.id,
        patch: {
          ...(patch.url == null ? {} : { url: patch.url }),
          ...(patch.eventTypes == null ? {} : { eventTypes: patch.eventTypes }),
          ...(patch.enabled == null ? {} : { enabled: patch.enabled }),
          ...(patch.description === undefined ? {} : { description: patch.description }),
        },
      });
    },
  }),
);

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.field({
    type: DeletePayload,
    description: 'Deletes a webhook endpoint with its messages: pending ones are not delivered.',
    ...requireScopes(['realm:write']),
    args: { input: t.arg(deleteInputArg('WebhookEndpoint', 'The endpoint to delete.')) },
    resolve: async (_root, { input }, ctx) =>
      withGlobalDeletedId(await deleteWebhookEndpoint(serviceOf(ctx), input.id.id), 'WebhookEndpoint'),
  }),
);

const RotateWebhookEndpointSecretInput = builder.inputType('RotateWebhookEndpointSecretInput', {
  description: 'Input of `rotateWebhookEndpointSecret`.',
  fields: (t) => ({
    id: t.globalID({ for: WebhookEndpointRef, required: true, description: 'The global id of the endpoint.' }),
    previousSecretValidForSeconds: t.int({
      defaultValue: 0,
      description: `How long the replaced secret keeps signing too (a second signature in \`webhook-signature\`), 0 to ${WEBHOOK_LIMITS.previousSecretValidForSeconds} (7 days); 0 drops it at once.`,
    }),
  }),
});

builder.mutationField('rotateWebhookEndpointSecret', (t) =>
  t.field({
    type: WebhookEndpointSecretPayload,
    description:
      'Gives a webhook endpoint a new signing secret, returned once in the payload. Every attempt from now on is signed with it, and with the replaced one for `previousSecretValidForSeconds`.',
    ...requireScopes(['realm:write']),
    args: {
      input: t.arg({
        type: RotateWebhookEndpointSecretInput,
        required: true,
        description: 'The endpoint and the rotation window.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      rotateWebhookEndpointSecret(serviceOf(ctx), {
        id: input.id.id,
        previousSecretValidForSeconds: input.previousSecretValidForSeconds ?? 0,
      }),
  }),
);

const ReplayWebhookDeliveryInput = builder.inputType('ReplayWebhookDeliveryInput', {
  description: 'Input of `replayWebhookDelivery`.',
  fields: (t) => ({
    id: t.globalID({
      for: OutboxMessageRef,
      required: true,
      description: `The global id of a delivered or dead outbox message of kind \`${WEBHOOK_KIND}\`.`,
    }),
  }),
});

builder.mutationField('replayWebhookDelivery', (t) =>
  t.field({
    type: OutboxMessagePayload,
    description: `Writes a delivered or dead webhook message again as a new pending message (same body and \`webhook-id\`, so the receiver can tell), delivered like any other with up to ${OUTBOX_DEFAULTS.maxAttempts} attempts, after the pending messages about the same user. A pending message is refused with INVALID_STATE; an email's id with NOT_FOUND.`,
    ...requireScopes(['realm:write']),
    args: { input: t.arg({ type: ReplayWebhookDeliveryInput, required: true, description: 'The message to replay.' }) },
    resolve: (_root, { input }, ctx) => replayWebhookDelivery(serviceOf(ctx), input.id.id),
  }),
);
