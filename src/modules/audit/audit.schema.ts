import { builder, requireScopes } from '../../graphql/builder.ts';
import { badUserInput } from '../../graphql/errors.ts';
import { encodeGlobalId, parseGlobalId } from '../../graphql/ids.ts';
import { auditActorType, auditOutcome } from './audit.service.ts';
import { AUDIT_ACTIONS } from './audit.actions.ts';
import { AUDIT_ORDER, auditEventWhere } from './audit.filter.ts';
import { serviceOf } from '../../context.ts';
import { DENIAL_AUDIT_LIMIT } from './audit.denials.ts';

const MAX_ACTIONS = 50;
const ACTION_LIST = Object.keys(AUDIT_ACTIONS)
  .map((action) => `\`${action}\``)
  .join(', ');
const MAX_FILTER_STRING = 200;

const AuditOutcomeEnum = builder.enumType('AuditOutcome', {
  description: 'What came of an audited action.',
  values: {
    SUCCESS: { description: 'The change was made.' },
    DENIED: { description: 'The attempt was refused (an `authorization.denied` event).' },
  } as const,
});

const AuditActorTypeEnum = builder.enumType('AuditActorType', {
  description: 'The kind of actor of an audit event.',
  values: {
    APPLICATION: { description: 'An API client, with its own credentials; `actorId` is its client id.' },
    USER: {
      description:
        'A person: signing in or out, or calling the API with a token issued to them; `actorId` is their user id.',
    },
    SYSTEM: { description: 'Roster itself (bootstrap, realm creation, seeding); `actorId` is `system`.' },
  } as const,
});

/** Types whose objects an audit event can name with a global id (those `node(id:)` resolves). */
const NODE_TARGET_TYPES = new Set([
  'Application',
  'CustomAttributeDefinition',
  'OutboxMessage',
  'Realm',
  'Resource',
  'Role',
  'Tenant',
  'User',
]);

function targetGlobalId(event: { targetType: string; targetId: string | null }): string | null {
  return event.targetId && NODE_TARGET_TYPES.has(event.targetType)
    ? encodeGlobalId(event.targetType, event.targetId)
    : null;
}

const AuditEventRef = builder.prismaNode('AuditEvent', {
  description:
    'An immutable record of one change (or authorization denial) in the realm. Events cannot be changed or deleted.',
  id: { field: 'id', description: 'The global id of the event.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['audit:read']),
  fields: (t) => ({
    createdAt: t.expose('at', { type: 'DateTime', description: 'When it happened (UTC).' }),
    at: t.expose('at', {
      type: 'DateTime',
      description: 'When it happened (UTC).',
      deprecationReason: 'Use `createdAt`, the name every other type uses.',
    }),
    action: t.exposeString('action', {
      description: `What happened, \`<noun>.<past-tense verb>\`: ${ACTION_LIST}. \`authorization.denied\` is a request refused with FORBIDDEN or a mutation refused with FORBIDDEN_GRANT (at most ${DENIAL_AUDIT_LIMIT.failures} per client every ${DENIAL_AUDIT_LIMIT.windowSeconds} seconds are recorded). The README (“Audit actions”) gives the meaning of each.`,
    }),
    outcome: t.field({
      type: AuditOutcomeEnum,
      description: 'Whether the change was made or the attempt refused.',
      select: { outcome: true },
      resolve: (event) => auditOutcome(event.outcome),
    }),
    actorType: t.field({
      type: AuditActorTypeEnum,
      description: 'Who acted; `actorId` says which one.',
      select: { actorType: true },
      resolve: (event) => auditActorType(event.actorType),
    }),
    actorId: t.exposeString('actorId', {
      description: 'The client id of the acting application, the id of the acting user, or `system`.',
    }),
    targetType: t.exposeString('targetType', {
      description:
        'The kind of object changed, e.g. `Role`, `Resource`, `User`; `Operation` for an authorization denial.',
    }),
    target: t.node({
      description:
        'The object changed, as it is now; null once it is deleted, or when it is not an object of the API (`Operation`). Reading it needs the scope its type needs.',
      id: (event) => targetGlobalId(event),
    }),
    targetGlobalId: t.field({
      type: 'ID',
      nullable: true,
      description:
        'The global id of the object changed, also after it was deleted (what `node(id:)` and the filter `targetId` take); null when it is not an object of the API.',
      select: { targetType: true, targetId: true },
      resolve: (event) => targetGlobalId(event),
    }),
    targetId: t.exposeString('targetId', {
      nullable: true,
      description: 'The database id (UUID) of the object changed.',
      deprecationReason: 'Use `targetGlobalId` (or `target`): every other id of the API is a global id.',
    }),
    changes: t.field({
      type: 'JSONObject',
      nullable: true,
      description:
        'Before/after values of the changed fields (`{ field: { before, after } }`), or the values of a created or deleted object and counts of what went with it; for `authorization.denied`: `{ operation, fields, missingScopes }`, the refused fields as schema coordinates (the mutation field for FORBIDDEN_GRANT). Never a secret.',
      resolve: (event) =>
        event.changes && typeof event.changes === 'object' && !Array.isArray(event.changes) ? event.changes : null,
    }),
    requestId: t.exposeString('requestId', {
      nullable: true,
      description: 'The id of the API request that made the change.',
    }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: 'The IP address the request came from.' }),
  }),
});

/** Reusable for other audit connections (e.g. `User.auditEvents`) built with `t.prismaConnection`. */
export const AuditEventConnectionRef = builder.connectionObject(
  {
    type: AuditEventRef,
    name: 'AuditEventConnection',
    description: 'A page of audit events.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'The number of events matching, across all pages.',
        // Lets the Prisma plugin skip loading rows when only the count is asked for.
        extensions: { pothosPrismaTotalCount: true },
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'AuditEventEdge', description: 'An audit event in a page of events.' },
);

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  description: 'Which audit events to list; conditions combine with AND.',
  fields: (t) => ({
    actions: t.stringList({
      description: `Action names (any of them, at most ${MAX_ACTIONS}); \`role.*\` matches every action starting with \`role.\`. An empty list is no condition.`,
    }),
    actorId: t.string({
      description: `Who acted, as \`AuditEvent.actorId\` names them: the client id of an application, the id of a user, or \`system\` (at most ${MAX_FILTER_STRING} characters).`,
    }),
    targetId: t.id({
      description: `The changed object: its global id, or the raw database id stored in \`AuditEvent.targetId\` (at most ${MAX_FILTER_STRING} characters).`,
    }),
    after: t.field({ type: 'DateTime', description: 'Only events at or after this instant.' }),
    before: t.field({
      type: 'DateTime',
      description:
        'Only events strictly before this instant; with `after`, later than it (an empty range is refused with BAD_USER_INPUT).',
    }),
  }),
});

/** A global id decodes to the stored id; anything else is taken as a stored id itself. */
function storedTargetId(value: string): string {
  return parseGlobalId(value)?.id ?? value;
}

type FilterArg =
  | {
      actions?: string[] | null;
      actorId?: string | null;
      targetId?: string | number | null;
      after?: Date | null;
      before?: Date | null;
    }
  | null
  | undefined;

function filterWhere(filter: FilterArg) {
  if (filter?.actions && filter.actions.length > MAX_ACTIONS) {
    throw badUserInput(`filter.actions: at most ${MAX_ACTIONS} actions.`, 'filter.actions');
  }
  const values: [string, readonly string[]][] = [
    ['actions', filter?.actions ?? []],
    ['actorId', [filter?.actorId ?? '']],
    ['targetId', [String(filter?.targetId ?? '')]],
  ];
  for (const [field, strings] of values) {
    if (strings.some((s) => s.length > MAX_FILTER_STRING)) {
      throw badUserInput(`filter.${field}: at most ${MAX_FILTER_STRING} characters.`, `filter.${field}`);
    }
  }
  if (filter?.after && filter.before && filter.before <= filter.after) {
    throw badUserInput('filter.before: the end of the time range must be later than its start.', 'filter.before');
  }
  return auditEventWhere({
    actions: filter?.actions ?? null,
    actorId: filter?.actorId ?? null,
    targetId: filter?.targetId == null ? null : storedTargetId(String(filter.targetId)),
    after: filter?.after ?? null,
    before: filter?.before ?? null,
  });
}

builder.queryField('auditEvents', (t) =>
  t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      description: 'The audit trail of the caller’s realm matching `filter`, newest first.',
      ...requireScopes(['audit:read']),
      args: { filter: t.arg({ type: AuditEventFilter, description: 'Which events to list; all when omitted.' }) },
      totalCount: (_root, args, ctx) => serviceOf(ctx).db.auditEvent.count({ where: filterWhere(args.filter) }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.auditEvent.findMany({ ...query, where: filterWhere(args.filter), orderBy: AUDIT_ORDER }),
    },
    AuditEventConnectionRef,
  ),
);

const AuditActionRef = builder.objectRef<{ name: string; description: string }>('AuditAction').implement({
  description: 'One action the audit trail records, with its meaning (the catalogue the README lists too).',
  fields: (t) => ({
    name: t.exposeString('name', {
      description:
        'The action name, `<noun>.<past-tense verb>`, as `AuditEvent.action` and the filter `actions` take it.',
    }),
    description: t.exposeString('description', { description: 'What an event with this action records.' }),
  }),
});

const AUDIT_ACTION_LIST = Object.entries(AUDIT_ACTIONS)
  .map(([name, description]) => ({ name, description }))
  .sort((a, b) => a.name.localeCompare(b.name));

builder.queryField('auditActions', (t) =>
  t.field({
    type: [AuditActionRef],
    description:
      'Every action the audit trail records, by name, with its meaning: what a filter of `auditEvents` by action can name.',
    ...requireScopes(['audit:read']),
    resolve: () => AUDIT_ACTION_LIST,
  }),
);
