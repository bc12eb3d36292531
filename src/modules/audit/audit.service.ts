import type { Prisma } from '../../generated/prisma/client.ts';
import type { Denial, ServiceContext } from '../../context.ts';
import type { AuditAction, AuditOutcome } from './audit.actions.ts';

/** Any client or transaction that can write audit rows (realm-scoped or not). */
export interface AuditWriter {
  auditEvent: { create(args: { data: Prisma.AuditEventUncheckedCreateInput }): PromiseLike<unknown> };
}

export interface AuditInput {
  /** One of the catalogue in `audit.actions.ts`. */
  action: AuditAction;
  targetType: string;
  targetId?: string | null;
  /** Before/after values of changed fields. Never pass secrets. */
  changes?: Prisma.InputJsonValue;
  outcome?: AuditOutcome;
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
    ...(event.changes === undefined ? {} : { changes: event.changes }),
    requestId: ctx.requestId ?? null,
    ipAddress: ctx.ipAddress ?? null,
  };
}

/** Writes one audit event; call it inside the transaction that makes the change. */
export async function recordAudit(tx: AuditWriter, ctx: ServiceContext, event: AuditInput): Promise<void> {
  await tx.auditEvent.create({ data: auditRow(ctx, event) });
}

/** A transaction that can write many audit rows in one statement. */
export interface BulkAuditWriter {
  auditEvent: { createMany(args: { data: Prisma.AuditEventCreateManyInput[] }): PromiseLike<unknown> };
}

/** Writes audit events in one statement (none for none); call it inside the transaction that makes the changes. */
export async function recordAudits(
  tx: BulkAuditWriter,
  ctx: ServiceContext,
  events: readonly AuditInput[],
): Promise<void> {
  if (events.length === 0) return;
  await tx.auditEvent.createMany({ data: events.map((event) => auditRow(ctx, event)) });
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
