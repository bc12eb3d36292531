import type { Prisma } from '../../generated/prisma/client.ts';

export interface AuditEventFilter {
  /** Exact action names; `role.*` matches every action starting with `role.`. Empty: no condition. */
  actions?: readonly string[] | null;
  actorId?: string | null;
  /** A raw target id as stored (global ids are decoded before reaching here). */
  targetId?: string | null;
  /** Events at or after this instant. */
  after?: Date | null;
  /** Events strictly before this instant. */
  before?: Date | null;
}

/** Newest first; ties (events of one transaction share `at`) broken by the time-ordered id. */
export const AUDIT_ORDER: Prisma.AuditEventOrderByWithRelationInput[] = [{ at: 'desc' }, { id: 'desc' }];

/** The Prisma condition of an audit filter (realm scoping is added by the realm-bound client). */
export function auditEventWhere(filter: AuditEventFilter | null | undefined): Prisma.AuditEventWhereInput {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (filter?.actions?.length) {
    const exact = filter.actions.filter((a) => !a.endsWith('.*'));
    const prefixes = filter.actions.filter((a) => a.endsWith('.*')).map((a) => a.slice(0, -1));
    and.push({
      OR: [
        ...(exact.length ? [{ action: { in: exact } }] : []),
        ...prefixes.map((prefix) => ({ action: { startsWith: prefix } })),
      ],
    });
  }
  if (filter?.actorId != null) and.push({ actorId: filter.actorId });
  if (filter?.targetId != null) and.push({ targetId: filter.targetId });
  if (filter?.after) and.push({ at: { gte: filter.after } });
  if (filter?.before) and.push({ at: { lt: filter.before } });
  return and.length ? { AND: and } : {};
}
