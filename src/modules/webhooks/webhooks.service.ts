import type { OutboxMessage, WebhookEndpoint } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { AUDIT_ACTIONS } from '../audit/audit.actions.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { checkDescription } from '../input-checks.ts';
import {
  inTransaction,
  notFound,
  refused,
  userError,
  type DeleteResult,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';
import { newSigningSecret, sealSecret } from './webhooks.delivery.ts';
import { WEBHOOK_KIND } from './webhooks.fanout.ts';
import { checkWebhookUrl } from './webhooks.targets.ts';

export const WEBHOOK_LIMITS = {
  /** Endpoints in one realm. */
  endpoints: 20,
  /** Event types of one endpoint: the whole catalogue at most. */
  eventTypes: Object.keys(AUDIT_ACTIONS).length,
  description: 500,
  /** How long the secret before a rotation may keep signing: 7 days. */
  previousSecretValidForSeconds: 7 * 24 * 3600,
} as const;

export interface WebhookEndpointFields {
  url: string;
  eventTypes: readonly string[];
  enabled: boolean;
  description: string | null;
}

type SecretResult = MutationResult<'webhookEndpoint', WebhookEndpoint> & { secret: string | null };

function keyOf(ctx: ServiceContext): Buffer {
  if (!ctx.outboxKey) throw new Error('No outbox key in the service context: webhook secrets cannot be sealed.');
  return ctx.outboxKey;
}

function checkEventTypes(value: readonly string[], field: string[], errors: UserErrorShape[]): string[] {
  const unique = [...new Set(value)].sort();
  if (unique.length === 0) errors.push(userError('REQUIRED', 'Choose at least one event type.', field));
  if (unique.length > WEBHOOK_LIMITS.eventTypes) {
    errors.push(
      userError('LIMIT_EXCEEDED', `At most ${WEBHOOK_LIMITS.eventTypes} event types (the whole catalogue).`, field),
    );
    return unique;
  }
  const unknown = unique.filter((type) => !Object.hasOwn(AUDIT_ACTIONS, type));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).map((type) => JSON.stringify(type.slice(0, 100)));
    errors.push(
      userError('INVALID', `Not audit actions (see auditActions in the README): ${shown.join(', ')}.`, field),
    );
  }
  return unique;
}

function checkFields<T extends Partial<WebhookEndpointFields>>(
  ctx: ServiceContext,
  input: T,
  prefix: string[],
): {
  values: Partial<{ url: string; eventTypes: string[]; enabled: boolean; description: string }>;
  errors: UserErrorShape[];
} {
  const errors: UserErrorShape[] = [];
  const values: Partial<{ url: string; eventTypes: string[]; enabled: boolean; description: string }> = {};
  if (input.url !== undefined) {
    const checked = checkWebhookUrl(input.url, ctx.production ?? true, [...prefix, 'url']);
    if (checked.error) errors.push(checked.error);
    else values.url = checked.url;
  }
  if (input.eventTypes !== undefined)
    values.eventTypes = checkEventTypes(input.eventTypes, [...prefix, 'eventTypes'], errors);
  if (input.enabled !== undefined) values.enabled = input.enabled;
  if (input.description !== undefined) {
    values.description =
      checkDescription(input.description, [...prefix, 'description'], errors, WEBHOOK_LIMITS.description) ?? '';
  }
  return { values, errors };
}

const urlTaken = (field: string[]) =>
  userError('TAKEN', 'The realm has a webhook endpoint with this URL already; update that one.', field);

const publicFields = (endpoint: WebhookEndpoint) => ({
  url: endpoint.url,
  eventTypes: endpoint.eventTypes,
  enabled: endpoint.enabled,
  description: endpoint.description,
});

/** Creates an endpoint with a new signing secret, returned once. */
export async function createWebhookEndpoint(ctx: ServiceContext, input: WebhookEndpointFields): Promise<SecretResult> {
  const { values, errors } = checkFields(ctx, input, ['input']);
  if (errors.length > 0) return { ...refused('webhookEndpoint', ...errors), secret: null };
  const secret = newSigningSecret();
  return inTransaction(
    ctx,
    async (tx) => {
      if ((await tx.webhookEndpoint.count()) >= WEBHOOK_LIMITS.endpoints) {
        const error = userError('LIMIT_EXCEEDED', `A realm has at most ${WEBHOOK_LIMITS.endpoints} webhook endpoints.`);
        return { ...refused('webhookEndpoint', error), secret: null };
      }
      const endpoint = await tx.webhookEndpoint.create({
        data: {
          realmId: ctx.realmId,
          url: values.url!,
          eventTypes: values.eventTypes!,
          enabled: values.enabled ?? true,
          description: values.description ?? '',
          sealedSecret: sealSecret(keyOf(ctx), ctx.realmId, secret),
        },
      });
      await recordAudit(tx, ctx, {
        action: 'webhook.endpoint_created',
        writesWebhookEndpoints: true,
        targetType: 'WebhookEndpoint',
        targetId: endpoint.id,
        changes: publicFields(endpoint),
      });
      return { webhookEndpoint: endpoint, secret, userErrors: [] };
    },
    () => ({ ...refused('webhookEndpoint', urlTaken(['input', 'url'])), secret: null }),
  );
}

export async function updateWebhookEndpoint(
  ctx: ServiceContext,
  input: { id: string; patch: Partial<WebhookEndpointFields> },
): Promise<MutationResult<'webhookEndpoint', WebhookEndpoint>> {
  const { values, errors } = checkFields(ctx, input.patch, ['input', 'patch']);
  if (errors.length > 0) return refused('webhookEndpoint', ...errors);
  return inTransaction(
    ctx,
    async (tx) => {
      const before = await tx.webhookEndpoint.findUnique({ where: { id: input.id } });
      if (!before) return refused('webhookEndpoint', notFound('webhook endpoint', ['input', 'id']));
      const changes = diffFields(publicFields(before), values);
      if (Object.keys(changes).length === 0) return { webhookEndpoint: before, userErrors: [] };
      const endpoint = await tx.webhookEndpoint.update({ where: { id: input.id }, data: values });
      await recordAudit(tx, ctx, {
        action: 'webhook.endpoint_updated',
        writesWebhookEndpoints: true,
        targetType: 'WebhookEndpoint',
        targetId: endpoint.id,
        changes: changes as never,
      });
      return { webhookEndpoint: endpoint, userErrors: [] };
    },
    () => refused('webhookEndpoint', urlTaken(['input', 'patch', 'url'])),
  );
}

/** Deletes an endpoint; its messages (pending, delivered, dead) go with it. */
export async function deleteWebhookEndpoint(ctx: ServiceContext, id: string): Promise<DeleteResult> {
  return inTransaction(ctx, async (tx) => {
    const endpoint = await tx.webhookEndpoint.findUnique({ where: { id } });
    if (!endpoint) return refused('deletedId', notFound('webhook endpoint', ['input', 'id']));
    const { count } = await tx.webhookEndpoint.deleteMany({ where: { id } });
    if (count === 0) return refused('deletedId', notFound('webhook endpoint', ['input', 'id']));
    await recordAudit(tx, ctx, {
      action: 'webhook.endpoint_deleted',
      writesWebhookEndpoints: true,
      targetType: 'WebhookEndpoint',
      targetId: id,
      changes: publicFields(endpoint),
    });
    return { deletedId: id, userErrors: [] };
  });
}

/**
 * Gives an endpoint a new signing secret, returned once. For `previousSecretValidForSeconds` the
 * secret it replaces signs too (a second signature), so receivers can switch without a gap.
 */
export async function rotateWebhookEndpointSecret(
  ctx: ServiceContext,
  input: { id: string; previousSecretValidForSeconds: number },
): Promise<SecretResult> {
  const { id, previousSecretValidForSeconds: window } = input;
  if (!Number.isInteger(window) || window < 0 || window > WEBHOOK_LIMITS.previousSecretValidForSeconds) {
    const error = userError(
      'INVALID',
      `previousSecretValidForSeconds must be between 0 and ${WEBHOOK_LIMITS.previousSecretValidForSeconds} (7 days).`,
      ['input', 'previousSecretValidForSeconds'],
    );
    return { ...refused('webhookEndpoint', error), secret: null };
  }
  const secret = newSigningSecret();
  return inTransaction(ctx, async (tx) => {
    const before = await tx.webhookEndpoint.findUnique({ where: { id } });
    if (!before) return { ...refused('webhookEndpoint', notFound('webhook endpoint', ['input', 'id'])), secret: null };
    // The version check makes concurrent rotations leave one secret per winner, never a mix.
    const { count } = await tx.webhookEndpoint.updateMany({
      where: { id, sealedSecret: before.sealedSecret },
      data: {
        sealedSecret: sealSecret(keyOf(ctx), ctx.realmId, secret),
        previousSealedSecret: window > 0 ? before.sealedSecret : null,
        previousSecretExpiresAt: window > 0 ? new Date(Date.now() + window * 1000) : null,
      },
    });
    if (count === 0) {
      const error = userError('VERSION_CONFLICT', 'The secret was rotated meanwhile; rotate again if needed.', [
        'input',
        'id',
      ]);
      return { ...refused('webhookEndpoint', error), secret: null };
    }
    await recordAudit(tx, ctx, {
      action: 'webhook.secret_rotated',
      writesWebhookEndpoints: true,
      targetType: 'WebhookEndpoint',
      targetId: id,
      changes: { previousSecretValidForSeconds: window },
    });
    return { webhookEndpoint: await tx.webhookEndpoint.findUniqueOrThrow({ where: { id } }), secret, userErrors: [] };
  });
}

/**
 * Writes a delivered or dead webhook message again, as a new message with the same body and
 * `webhook-id`, to its endpoint's current URL. A pending one is refused: it is still on its way.
 */
export async function replayWebhookDelivery(
  ctx: ServiceContext,
  id: string,
): Promise<MutationResult<'message', OutboxMessage>> {
  const field = ['input', 'id'];
  return inTransaction(ctx, async (tx) => {
    const original = await tx.outboxMessage.findUnique({ where: { id } });
    if (!original?.webhookEndpointId) return refused('message', notFound('webhook delivery', field));
    if (original.status === 'PENDING') {
      return refused(
        'message',
        userError(
          'INVALID_STATE',
          'The delivery is still pending; only a delivered or dead one can be replayed.',
          field,
        ),
      );
    }
    const message = await tx.outboxMessage.create({
      data: {
        realmId: ctx.realmId,
        kind: WEBHOOK_KIND,
        recipient: original.recipient,
        subject: original.subject,
        webhookEndpointId: original.webhookEndpointId,
        webhookId: original.webhookId,
        payload: original.payload,
        orderingKey: original.orderingKey,
      },
    });
    await recordAudit(tx, ctx, {
      action: 'webhook.delivery_replayed',
      targetType: 'OutboxMessage',
      targetId: message.id,
      changes: { replayOf: original.id, webhookEndpointId: original.webhookEndpointId, type: original.subject },
    });
    return { message, userErrors: [] };
  });
}
