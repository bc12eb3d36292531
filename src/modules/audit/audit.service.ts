import type { AuditEvent, Prisma } from '../../generated/prisma/client.ts';
import type { Denial, ServiceContext } from '../../context.ts';
import type { AuditAction, AuditOutcome } from './audit.actions.ts';
import { enqueueWebhooks, subscribersOf, type WebhookWriter } from '../webhooks/webhooks.fanout.ts';

/**
 * Any client or transaction that can write audit rows (realm-scoped or not), and with them the
 * webhook messages of the endpoints subscribed to their actions.
 */
export interface AuditWriter extends WebhookWriter {
  auditEvent: { create(args: { data: Prisma.AuditEventUncheckedCreateInput }): PromiseLike<AuditEvent> };
}

export interface AuditInput {
  /** One of the catalogue in `audit.actions.ts`. */
  action: AuditAction;
  targetType: string;
  targetId?: string | null;
  /** Before/after values of changed fields. Never pass secrets. */
  changes?: Prisma.InputJsonValue;
  outcome?: AuditOutcome;
  /** A webhook endpoint this event is not sent to (the one whose message the event is about). */
  notToWebhookEndpoint?: string;
  /**
   * The transaction wrote webhook endpoints (not committed yet): their subscriptions are read in
   * it, never from those kept, which it must not fill.
   */
  writesWebhookEndpoints?: boolean;
}

function auditRow(ctx: ServiceContext, event: AuditInput): Prisma.AuditEventUncheckedCreateInput {
  return {
    realmId: ctx.realmId,
    action: event.action,
    actorType: ctx.caller.kind,
    actorId: ctx.caller.id,
    targetType: event.targetType,
    targetId: event.targetId ?? null,
    outcome: event.outcome ?? 'success',
    ...changesOf(ctx, event),
    requestId: ctx.requestId ?? null,
    ipAddress: ctx.ipAddress ?? null,
  };
}

/**
 * The event's `changes`; when a person's token is an impersonation's, with `impersonatedBy` (the
 * client id of the application acting as the person), so the trail tells who really acted.
 */
function changesOf(ctx: ServiceContext, event: AuditInput): { changes?: Prisma.InputJsonValue } {
  const impersonatedBy = ctx.caller.kind === 'user' ? ctx.caller.token?.impersonatedBy : undefined;
  if (impersonatedBy === undefined) return event.changes === undefined ? {} : { changes: event.changes };
  const changes = event.changes;
  if (changes === undefined) return { changes: { impersonatedBy } };
  if (typeof changes === 'object' && changes !== null && !Array.isArray(changes)) {
    return { changes: { ...(changes as Record<string, Prisma.InputJsonValue>), impersonatedBy } };
  }
  return { changes: { value: changes, impersonatedBy } };
}

/**
 * Writes one audit event, and a webhook message for each enabled endpoint subscribed to its
 * action; call it inside the transaction that makes the change.
 */
export async function recordAudit(tx: AuditWriter, ctx: ServiceContext, event: AuditInput): Promise<void> {
  const kept = event.writesWebhookEndpoints ? undefined : ctx.webhookSubscribers;
  const subscribers = await (kept
    ? kept.of(tx, ctx.realmId, [event.action])
    : subscribersOf(tx, ctx.realmId, [event.action]));
  if (subscribers.length === 0) {
    await tx.auditEvent.create({ data: auditRow(ctx, event) });
    return;
  }
  const write = async (db: AuditWriter) => {
    const row = await db.auditEvent.create({ data: auditRow(ctx, event) });
    await enqueueWebhooks(db, ctx.realmId, subscribers, [row], event.notToWebhookEndpoint);
  };
  // Called with the service's client rather than a transaction: the event and its messages get one of their own.
  if ((tx as unknown) === ctx.db) await ctx.db.$transaction(write);
  else await write(tx);
}

/** A transaction that can write many audit rows in one statement. */
export interface BulkAuditWriter extends WebhookWriter {
  auditEvent: {
    createMany(args: { data: Prisma.AuditEventCreateManyInput[] }): PromiseLike<unknown>;
    createManyAndReturn(args: { data: Prisma.AuditEventCreateManyInput[] }): PromiseLike<AuditEvent[]>;
  };
}

/**
 * Writes audit events in one statement (none for none), and their webhook messages; call it
 * inside the transaction that makes the changes.
 */
export async function recordAudits(
  tx: BulkAuditWriter,
  ctx: ServiceContext,
  events: readonly AuditInput[],
): Promise<void> {
  if (events.length === 0) return;
  const data = events.map((event) => auditRow(ctx, event));
  const actions = events.map((event) => event.action);
  const kept = events.some((event) => event.writesWebhookEndpoints) ? undefined : ctx.webhookSubscribers;
  const subscribers = await (kept ? kept.of(tx, ctx.realmId, actions) : subscribersOf(tx, ctx.realmId, actions));
  if (subscribers.length === 0) {
    await tx.auditEvent.createMany({ data });
    return;
  }
  const rows = await tx.auditEvent.createManyAndReturn({ data });
  await enqueueWebhooks(tx, ctx.realmId, subscribers, rows);
}

const DENIED_FIELDS_KEPT = 20;

/**
 * Writes one `authorization.denied` event (outcome `denied`) in its own statement: the refused
 * fields as schema coordinates (the first 20, sorted) and every scope they lacked.
 */
export async function recordDenial(ctx: ServiceContext, operation: string, denials: readonly Denial[]): Promise<void> {
  const fields = [...new Set(denials.flatMap((denial) => (denial.field === null ? [] : [denial.field])))].sort();
  const missingScopes = [...new Set(denials.flatMap((denial) => denial.missingScopes))].sort();
  await recordAudit(ctx.db, ctx, {
    action: 'authorization.denied',
    targetType: 'Operation',
    outcome: 'denied',
    changes: {
      operation,
      fields: fields.slice(0, DENIED_FIELDS_KEPT),
      ...(fields.length > DENIED_FIELDS_KEPT ? { moreFields: fields.length - DENIED_FIELDS_KEPT } : {}),
      missingScopes,
    },
  });
}

/** The before/after of each field that differs. */
export function diffFields<T extends Record<string, unknown>>(
  before: T,
  after: Partial<T>,
): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const [key, value] of Object.entries(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(value)) changes[key] = { before: before[key], after: value };
  }
  return changes;
}

const OUTCOMES = { success: 'SUCCESS', denied: 'DENIED' } as const;
const ACTOR_TYPES = { application: 'APPLICATION', user: 'USER', system: 'SYSTEM' } as const;

/** The stored outcome (`AuditOutcome`) as the API's enum value. */
export function auditOutcome(stored: string): (typeof OUTCOMES)[keyof typeof OUTCOMES] {
  const value = OUTCOMES[stored as keyof typeof OUTCOMES];
  if (!value) throw new Error(`Unknown audit outcome stored: ${stored}`);
  return value;
}

/** The stored actor kind (`Caller['kind']`) as the API's enum value. */
export function auditActorType(stored: string): (typeof ACTOR_TYPES)[keyof typeof ACTOR_TYPES] {
  const value = ACTOR_TYPES[stored as keyof typeof ACTOR_TYPES];
  if (!value) throw new Error(`Unknown audit actor type stored: ${stored}`);
  return value;
}
