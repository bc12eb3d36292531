import type { Prisma, TenancyMode, UserStatus } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { currentRequest } from '../../db/request-scope.ts';
import { recordAudits, type AuditInput } from '../audit/audit.service.ts';
import { assertCanGrant } from '../roles/roles.grants.ts';
import {
  inTransaction,
  isSerializationFailure,
  notFound,
  userError,
  type UserErrorCode,
  type UserErrorShape,
} from '../user-error.ts';
import { FilterError, userListCondition, type UserFilter } from './users.filter.ts';
import { filterEnvironment } from './users.list.ts';
import { countSelectedUsers, selectedUserIds } from './users.queries.ts';
import { lockChunk } from './users.bulk.queries.ts';
import {
  BULK_TRANSACTION,
  activeSessionsOf,
  bumpVersions,
  checkReason,
  revokeActiveSessions,
  type ActiveSession,
  type RoleRow,
  type TenantRow,
} from './users.core.ts';
import {
  SUSPENSION_REVOKE_REASON,
  statusChangedAudit,
  statusData,
  statusMove,
  suspendRefusal,
  suspendedAudit,
  suspensionData,
  unsuspendedAudit,
} from './users.lifecycle.ts';
import {
  checkRoleCount,
  notATenantMember,
  roleAssignmentErrors,
  rolesAssignedAudit,
  rolesById,
  tenancyRefusal,
  tenantAddedAudit,
  tenantRemovedAudit,
} from './users.access.ts';
import { ADMIN_REVOKE_REASON, sessionsRevokedAudit } from './users.security.ts';

export const BULK_LIMITS = {
  /** Users one call acts on at most. */
  users: 10_000,
  /** Users changed in one transaction. */
  chunk: 500,
  /** User ids listed per skip reason and per failure. */
  listedIds: 100,
  /** Tries of a chunk that a concurrent transaction deadlocked. */
  chunkAttempts: 3,
} as const;

export type BulkUserAction =
  | 'SUSPEND'
  | 'UNSUSPEND'
  | 'SET_STATUS'
  | 'ASSIGN_ROLES'
  | 'REMOVE_ROLES'
  | 'ADD_TO_TENANT'
  | 'REMOVE_FROM_TENANT'
  | 'REVOKE_SESSIONS';

/** Why a selected user was left as it was, there being nothing to do for it: each reason with its meaning. */
export const BULK_SKIP_REASONS = {
  NOT_FOUND: 'The user was erased after the call selected it.',
  NO_LONGER_MATCHES: 'The user stopped matching the filter between the selection and its turn.',
  DELETED: 'The user is soft-deleted, and the action does not apply to deleted users (restore them first).',
  ALREADY_SUSPENDED: 'SUSPEND: the user is already suspended.',
  NOT_SUSPENDED: 'UNSUSPEND: the user is not suspended.',
  SAME_STATUS: 'SET_STATUS: the user already has this status.',
  ALREADY_ASSIGNED: 'ASSIGN_ROLES: the user already holds every one of the roles, in that scope.',
  NOT_ASSIGNED: 'REMOVE_ROLES: the user holds none of the roles, in that scope.',
  ALREADY_MEMBER: 'ADD_TO_TENANT: the user is already a member of the tenant.',
  NOT_MEMBER: 'REMOVE_FROM_TENANT: the user is not a member of the tenant.',
  NO_ACTIVE_SESSIONS: 'REVOKE_SESSIONS: the user has no active session.',
} as const;

export type BulkSkipReason = keyof typeof BULK_SKIP_REASONS;

export interface BulkUpdateUsersInput {
  ids?: readonly string[] | null;
  filter?: UserFilter | null;
  action: BulkUserAction;
  status?: UserStatus | null;
  reason?: string | null;
  revokeSessions?: boolean | null;
  roleIds?: readonly string[] | null;
  tenantId?: string | null;
  dryRun?: boolean | null;
}

export interface BulkSkipped {
  reason: BulkSkipReason;
  count: number;
  /** The first `BULK_LIMITS.listedIds`, in id order. */
  userIds: string[];
}

export interface BulkFailed {
  code: UserErrorCode;
  message: string;
  count: number;
  /** The first `BULK_LIMITS.listedIds`, in id order. */
  userIds: string[];
}

export interface BulkUpdateUsersResult {
  action: BulkUserAction;
  dryRun: boolean;
  matchedCount: number;
  changedCount: number;
  skippedCount: number;
  failedCount: number;
  skipped: BulkSkipped[];
  failed: BulkFailed[];
  userErrors: UserErrorShape[];
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

type ActionArgument = 'status' | 'reason' | 'revokeSessions' | 'roleIds' | 'tenantId';

/** The arguments each action needs and those it also takes; any other is refused. */
const ACTION_ARGUMENTS: Record<BulkUserAction, { required: ActionArgument[]; optional: ActionArgument[] }> = {
  SUSPEND: { required: [], optional: ['reason', 'revokeSessions'] },
  UNSUSPEND: { required: [], optional: [] },
  SET_STATUS: { required: ['status'], optional: ['reason'] },
  ASSIGN_ROLES: { required: ['roleIds'], optional: ['tenantId'] },
  REMOVE_ROLES: { required: ['roleIds'], optional: ['tenantId'] },
  ADD_TO_TENANT: { required: ['tenantId'], optional: [] },
  REMOVE_FROM_TENANT: { required: ['tenantId'], optional: [] },
  REVOKE_SESSIONS: { required: [], optional: [] },
};

const ARGUMENT_NAMES: readonly ActionArgument[] = ['status', 'reason', 'revokeSessions', 'roleIds', 'tenantId'];

function argumentErrors(input: BulkUpdateUsersInput): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  const hasIds = input.ids != null;
  const hasFilter = input.filter != null;
  if (!hasIds && !hasFilter)
    errors.push(userError('REQUIRED', 'Give the users to change: their ids, or a filter.', ['input']));
  if (hasIds && hasFilter)
    errors.push(userError('INVALID', 'Give either ids or a filter, not both (a filter can list ids).', ['input']));
  if (hasIds && input.ids!.length === 0)
    errors.push(userError('REQUIRED', 'Give at least one user id.', ['input', 'ids']));
  const { required, optional } = ACTION_ARGUMENTS[input.action];
  for (const name of ARGUMENT_NAMES) {
    const given = input[name] != null;
    if (required.includes(name) && !given)
      errors.push(userError('REQUIRED', `${input.action} needs \`${name}\`.`, ['input', name]));
    else if (given && !required.includes(name) && !optional.includes(name))
      errors.push(userError('INVALID', `${input.action} takes no \`${name}\`.`, ['input', name]));
  }
  if (input.roleIds && ACTION_ARGUMENTS[input.action].required.includes('roleIds')) {
    if (input.roleIds.length === 0) errors.push(userError('REQUIRED', 'Give at least one role.', ['input', 'roleIds']));
    errors.push(...checkRoleCount(input.roleIds));
  }
  if (input.action === 'SET_STATUS' && input.status === 'DELETED')
    errors.push(userError('INVALID', 'Delete users with deleteUsers.', ['input', 'status']));
  return errors;
}

// ---------------------------------------------------------------------------------------------
// What every chunk needs: the action and what its arguments name, checked once per call
// ---------------------------------------------------------------------------------------------

type Plan =
  | { action: 'SUSPEND'; reason: string | null; revokeSessions: boolean }
  | { action: 'UNSUSPEND' }
  | { action: 'SET_STATUS'; status: UserStatus; reason: string | null }
  | { action: 'ASSIGN_ROLES'; roles: RoleRow[]; tenantId: string | null }
  | { action: 'REMOVE_ROLES'; roles: RoleRow[]; tenantId: string | null }
  | { action: 'ADD_TO_TENANT'; tenant: TenantRow; tenancyMode: TenancyMode }
  | { action: 'REMOVE_FROM_TENANT'; tenant: TenantRow }
  | { action: 'REVOKE_SESSIONS' };

async function tenantOf(ctx: ServiceContext, id: string | null | undefined): Promise<TenantRow | null> {
  if (id == null) return null;
  return ctx.db.tenant.findUnique({ where: { id }, select: { id: true, slug: true } });
}

/**
 * The plan, or the refusals of the whole call: unknown roles or tenant, roles that cannot be
 * assigned in the scope, roles carrying management scopes the caller lacks (the same checks as
 * `assignUserRoles`, `removeUserRole`, `addUserToTenant` and `removeUserFromTenant`).
 */
async function planOf(
  ctx: ServiceContext,
  input: BulkUpdateUsersInput,
  reason: string | null,
): Promise<Plan | UserErrorShape[]> {
  switch (input.action) {
    case 'SUSPEND':
      return { action: 'SUSPEND', reason, revokeSessions: input.revokeSessions ?? true };
    case 'UNSUSPEND':
    case 'REVOKE_SESSIONS':
      return { action: input.action };
    case 'SET_STATUS':
      return { action: 'SET_STATUS', status: input.status!, reason };
    case 'ASSIGN_ROLES':
    case 'REMOVE_ROLES': {
      const roleIds = input.roleIds!;
      const tenantId = input.tenantId ?? null;
      const [byId, tenant] = await Promise.all([rolesById(ctx.db, roleIds), tenantOf(ctx, tenantId)]);
      const errors = tenantId !== null && !tenant ? [notFound('tenant', ['input', 'tenantId'])] : [];
      if (input.action === 'ASSIGN_ROLES') errors.push(...roleAssignmentErrors(roleIds, byId, tenantId));
      else {
        roleIds.forEach((id, index) => {
          if (!byId.has(id)) errors.push(notFound('role', ['input', 'roleIds', String(index)]));
        });
      }
      if (errors.length) return errors;
      const roles = [...new Set(roleIds)].map((id) => byId.get(id)!);
      if (input.action === 'ASSIGN_ROLES') {
        // Checked for every role, whether or not some users hold it already: the caller asks to grant them all.
        const denied = await assertCanGrant(ctx.db, ctx, { roleIds: roles.map((r) => r.id) }, ['input', 'roleIds']);
        if (denied) return [denied];
      }
      return { action: input.action, roles, tenantId };
    }
    case 'ADD_TO_TENANT':
    case 'REMOVE_FROM_TENANT': {
      const tenant = await tenantOf(ctx, input.tenantId);
      if (!tenant) return [notFound('tenant', ['input', 'tenantId'])];
      if (input.action === 'REMOVE_FROM_TENANT') return { action: input.action, tenant };
      const realm = await ctx.db.realm.findFirstOrThrow({ select: { tenancyMode: true } });
      return { action: input.action, tenant, tenancyMode: realm.tenancyMode };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

class Outcomes {
  changed = 0;
  readonly skipped = new Map<BulkSkipReason, string[]>();
  readonly failed = new Map<string, { code: UserErrorCode; message: string; userIds: string[] }>();

  skip(userId: string, reason: BulkSkipReason): void {
    let ids = this.skipped.get(reason);
    if (!ids) this.skipped.set(reason, (ids = []));
    ids.push(userId);
  }

  fail(userId: string, error: Pick<UserErrorShape, 'code' | 'message'>): void {
    const key = `${error.code}\n${error.message}`;
    let entry = this.failed.get(key);
    if (!entry) this.failed.set(key, (entry = { code: error.code, message: error.message, userIds: [] }));
    entry.userIds.push(userId);
  }

  add(other: Outcomes): void {
    this.changed += other.changed;
    for (const [reason, ids] of other.skipped) for (const id of ids) this.skip(id, reason);
    for (const entry of other.failed.values()) for (const id of entry.userIds) this.fail(id, entry);
  }
}

const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;

function resultOf(action: BulkUserAction, dryRun: boolean, outcomes: Outcomes): BulkUpdateUsersResult {
  const listed = (ids: string[]) => ids.slice(0, BULK_LIMITS.listedIds);
  const skipped = [...outcomes.skipped].map(([reason, ids]) => ({ reason, count: ids.length, userIds: listed(ids) }));
  const failed = [...outcomes.failed.values()].map((f) => ({
    ...f,
    count: f.userIds.length,
    userIds: listed(f.userIds),
  }));
  const skippedCount = skipped.reduce((sum, s) => sum + s.count, 0);
  const failedCount = failed.reduce((sum, f) => sum + f.count, 0);
  return {
    action,
    dryRun,
    matchedCount: outcomes.changed + skippedCount + failedCount,
    changedCount: outcomes.changed,
    skippedCount,
    failedCount,
    skipped: skipped.sort(byCount),
    failed: failed.sort(byCount),
    userErrors: [],
  };
}

function refusal(action: BulkUserAction, dryRun: boolean, userErrors: UserErrorShape[]): BulkUpdateUsersResult {
  return { ...resultOf(action, dryRun, new Outcomes()), userErrors };
}

// ---------------------------------------------------------------------------------------------
// One chunk: one transaction, a bounded number of statements whatever its size
// ---------------------------------------------------------------------------------------------

const USER_STATE = { id: true, status: true, deletedAt: true, suspendedReason: true } as const;
type UserState = Prisma.UserGetPayload<{ select: typeof USER_STATE }>;

interface Chunk {
  tx: RealmTx;
  ctx: ServiceContext;
  /** The chunk's users that exist and still match the selection, locked unless `dryRun`, in id order. */
  users: UserState[];
  outcomes: Outcomes;
  dryRun: boolean;
  now: Date;
}

/** Audit events of bulk changes say so, like those of `deleteUsers`. */
function bulkEvent(event: AuditInput): AuditInput {
  return { ...event, changes: { ...(event.changes as Prisma.InputJsonObject), bulk: true } };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = []));
    group.push(item);
  }
  return groups;
}

/** Suspends `users` as `suspendUser` does (same columns, same session revocation); their audit events. */
async function suspendAll(
  { tx, now }: Chunk,
  users: readonly UserState[],
  reason: string | null,
  revokeSessions: boolean,
): Promise<AuditInput[]> {
  if (users.length === 0) return [];
  const ids = users.map((u) => u.id);
  await tx.user.updateMany({
    where: { id: { in: ids } },
    data: { ...suspensionData(reason, now), version: { increment: 1 } },
  });
  let active: ActiveSession[] = [];
  if (revokeSessions) {
    active = await activeSessionsOf(tx, ids, now);
    await revokeActiveSessions(tx, ids, active, SUSPENSION_REVOKE_REASON, now);
  }
  const sessions = groupBy(active, (s) => s.userId);
  return users.map((u) =>
    suspendedAudit(
      u,
      reason,
      (sessions.get(u.id) ?? []).map((s) => s.id),
    ),
  );
}

async function suspend(chunk: Chunk, plan: Extract<Plan, { action: 'SUSPEND' }>): Promise<AuditInput[]> {
  const changing = chunk.users.filter((user) => {
    const refused = suspendRefusal(user);
    if (refused) chunk.outcomes.skip(user.id, refused === 'deleted' ? 'DELETED' : 'ALREADY_SUSPENDED');
    return !refused;
  });
  chunk.outcomes.changed += changing.length;
  if (chunk.dryRun) return [];
  return suspendAll(chunk, changing, plan.reason, plan.revokeSessions);
}

async function unsuspend(chunk: Chunk): Promise<AuditInput[]> {
  const changing = chunk.users.filter((user) => {
    if (user.deletedAt) chunk.outcomes.skip(user.id, 'DELETED');
    else if (user.status !== 'SUSPENDED') chunk.outcomes.skip(user.id, 'NOT_SUSPENDED');
    else return true;
    return false;
  });
  chunk.outcomes.changed += changing.length;
  if (chunk.dryRun || changing.length === 0) return [];
  await chunk.tx.user.updateMany({
    where: { id: { in: changing.map((u) => u.id) } },
    data: { ...statusData(changing[0]!, 'ACTIVE'), version: { increment: 1 } },
  });
  return changing.map(unsuspendedAudit);
}

async function setStatus(chunk: Chunk, plan: Extract<Plan, { action: 'SET_STATUS' }>): Promise<AuditInput[]> {
  const suspending: UserState[] = [];
  const lifting: UserState[] = [];
  const moving: UserState[] = [];
  for (const user of chunk.users) {
    if (user.deletedAt) {
      chunk.outcomes.skip(user.id, 'DELETED');
      continue;
    }
    const move = statusMove(user, plan.status);
    if (move.kind === 'refused')
      chunk.outcomes.fail(user.id, userError('INVALID_STATE', move.message, ['input', 'status']));
    else if (move.kind === 'same') chunk.outcomes.skip(user.id, 'SAME_STATUS');
    else (move.kind === 'suspend' ? suspending : move.kind === 'lift' ? lifting : moving).push(user);
  }
  chunk.outcomes.changed += suspending.length + lifting.length + moving.length;
  if (chunk.dryRun) return [];
  const events = await suspendAll(chunk, suspending, plan.reason, true);
  for (const group of [lifting, moving]) {
    if (group.length === 0) continue;
    await chunk.tx.user.updateMany({
      where: { id: { in: group.map((u) => u.id) } },
      data: { ...statusData(group[0]!, plan.status), version: { increment: 1 } },
    });
    events.push(...group.map((user) => statusChangedAudit(user, plan.status, plan.reason)));
  }
  return events;
}

interface Assignment {
  id: string;
  userId: string;
  roleId: string;
  role: { name: string };
}

/** Role assignments of `users` in one scope (realm-wide when `tenantId` is null), by user. */
async function assignmentsByUser(
  tx: RealmTx,
  users: readonly UserState[],
  tenantId: string | null,
): Promise<Map<string, Assignment[]>> {
  const rows = await tx.userRole.findMany({
    where: { userId: { in: users.map((u) => u.id) }, tenantId },
    select: { id: true, userId: true, roleId: true, role: { select: { name: true } } },
  });
  return groupBy(rows, (row) => row.userId);
}

async function assignRoles(chunk: Chunk, plan: Extract<Plan, { action: 'ASSIGN_ROLES' }>): Promise<AuditInput[]> {
  const { tx, ctx } = chunk;
  const { tenantId } = plan;
  const held = await assignmentsByUser(tx, chunk.users, tenantId);
  const members =
    tenantId === null
      ? null
      : new Set(
          (
            await tx.tenantMembership.findMany({
              where: { tenantId, userId: { in: chunk.users.map((u) => u.id) } },
              select: { userId: true },
            })
          ).map((m) => m.userId),
        );
  const changes: { userId: string; before: string[]; added: RoleRow[] }[] = [];
  for (const user of chunk.users) {
    if (user.deletedAt) chunk.outcomes.skip(user.id, 'DELETED');
    else if (members && !members.has(user.id)) chunk.outcomes.fail(user.id, notATenantMember(['input', 'tenantId']));
    else {
      const current = held.get(user.id) ?? [];
      const roleIds = new Set(current.map((a) => a.roleId));
      const added = plan.roles.filter((role) => !roleIds.has(role.id));
      if (added.length === 0) chunk.outcomes.skip(user.id, 'ALREADY_ASSIGNED');
      else changes.push({ userId: user.id, before: current.map((a) => a.role.name).sort(), added });
    }
  }
  chunk.outcomes.changed += changes.length;
  if (chunk.dryRun || changes.length === 0) return [];
  await tx.userRole.createMany({
    data: changes.flatMap(({ userId, added }) =>
      added.map((role) => ({ realmId: ctx.realmId, userId, roleId: role.id, tenantId })),
    ),
  });
  await bumpVersions(
    tx,
    changes.map((c) => c.userId),
  );
  return changes.map((c) =>
    rolesAssignedAudit(
      c.userId,
      tenantId,
      c.before,
      c.added.map((r) => r.name),
    ),
  );
}

async function removeRoles(chunk: Chunk, plan: Extract<Plan, { action: 'REMOVE_ROLES' }>): Promise<AuditInput[]> {
  const { tenantId } = plan;
  const removing = new Set(plan.roles.map((r) => r.id));
  const held = await assignmentsByUser(chunk.tx, chunk.users, tenantId);
  const changes: { userId: string; before: string[]; removed: Assignment[] }[] = [];
  for (const user of chunk.users) {
    const current = held.get(user.id) ?? [];
    const removed = current.filter((a) => removing.has(a.roleId));
    if (removed.length === 0) chunk.outcomes.skip(user.id, 'NOT_ASSIGNED');
    else changes.push({ userId: user.id, before: current.map((a) => a.role.name).sort(), removed });
  }
  chunk.outcomes.changed += changes.length;
  if (chunk.dryRun || changes.length === 0) return [];
  await chunk.tx.userRole.deleteMany({ where: { id: { in: changes.flatMap((c) => c.removed.map((a) => a.id)) } } });
  await bumpVersions(
    chunk.tx,
    changes.map((c) => c.userId),
  );
  return changes.map(({ userId, before, removed }) => {
    const names = removed.map((a) => a.role.name).sort();
    const after = [...before];
    for (const name of names) after.splice(after.indexOf(name), 1);
    return {
      action: 'user.role_removed',
      targetType: 'User',
      targetId: userId,
      changes: { tenantId, removed: names, roles: { before, after } },
    };
  });
}

async function addToTenant(chunk: Chunk, plan: Extract<Plan, { action: 'ADD_TO_TENANT' }>): Promise<AuditInput[]> {
  const { tx, ctx } = chunk;
  const { tenant } = plan;
  const memberships = groupBy(
    await tx.tenantMembership.findMany({
      where: { userId: { in: chunk.users.map((u) => u.id) } },
      select: { userId: true, tenantId: true },
    }),
    (m) => m.userId,
  );
  const joining: string[] = [];
  for (const user of chunk.users) {
    const mine = memberships.get(user.id) ?? [];
    const violation = tenancyRefusal(plan.tenancyMode, mine.length, ['input', 'tenantId']);
    if (mine.some((m) => m.tenantId === tenant.id)) chunk.outcomes.skip(user.id, 'ALREADY_MEMBER');
    else if (user.deletedAt) chunk.outcomes.skip(user.id, 'DELETED');
    else if (violation) chunk.outcomes.fail(user.id, violation);
    else joining.push(user.id);
  }
  chunk.outcomes.changed += joining.length;
  if (chunk.dryRun || joining.length === 0) return [];
  await tx.tenantMembership.createMany({
    data: joining.map((userId) => ({ realmId: ctx.realmId, tenantId: tenant.id, userId })),
  });
  await bumpVersions(tx, joining);
  return joining.map((userId) => tenantAddedAudit(userId, tenant));
}

async function removeFromTenant(
  chunk: Chunk,
  plan: Extract<Plan, { action: 'REMOVE_FROM_TENANT' }>,
): Promise<AuditInput[]> {
  const { tx } = chunk;
  const { tenant } = plan;
  const memberships = await tx.tenantMembership.findMany({
    where: { tenantId: tenant.id, userId: { in: chunk.users.map((u) => u.id) } },
    select: { id: true, userId: true },
  });
  const members = new Set(memberships.map((m) => m.userId));
  const leaving: UserState[] = [];
  for (const user of chunk.users) {
    if (members.has(user.id)) leaving.push(user);
    else chunk.outcomes.skip(user.id, 'NOT_MEMBER');
  }
  chunk.outcomes.changed += leaving.length;
  if (chunk.dryRun || leaving.length === 0) return [];
  const roles = await assignmentsByUser(tx, leaving, tenant.id);
  // The memberships' role assignments inside the tenant go with them (the foreign key cascades).
  await tx.tenantMembership.deleteMany({ where: { id: { in: memberships.map((m) => m.id) } } });
  await bumpVersions(
    tx,
    leaving.map((u) => u.id),
  );
  return leaving.map((user) =>
    tenantRemovedAudit(user.id, tenant, (roles.get(user.id) ?? []).map((a) => a.role.name).sort()),
  );
}

async function endSessions(chunk: Chunk): Promise<AuditInput[]> {
  const ids = chunk.users.map((u) => u.id);
  const active = await activeSessionsOf(chunk.tx, ids, chunk.now);
  const sessions = groupBy(active, (s) => s.userId);
  const ending: string[] = [];
  for (const id of ids) {
    if (sessions.has(id)) ending.push(id);
    else chunk.outcomes.skip(id, 'NO_ACTIVE_SESSIONS');
  }
  chunk.outcomes.changed += ending.length;
  if (chunk.dryRun || ending.length === 0) return [];
  await revokeActiveSessions(chunk.tx, ids, active, ADMIN_REVOKE_REASON, chunk.now);
  return ending.map((id) =>
    sessionsRevokedAudit(
      id,
      sessions.get(id)!.map((s) => s.id),
    ),
  );
}

function applyPlan(chunk: Chunk, plan: Plan): Promise<AuditInput[]> {
  switch (plan.action) {
    case 'SUSPEND':
      return suspend(chunk, plan);
    case 'UNSUSPEND':
      return unsuspend(chunk);
    case 'SET_STATUS':
      return setStatus(chunk, plan);
    case 'ASSIGN_ROLES':
      return assignRoles(chunk, plan);
    case 'REMOVE_ROLES':
      return removeRoles(chunk, plan);
    case 'ADD_TO_TENANT':
      return addToTenant(chunk, plan);
    case 'REMOVE_FROM_TENANT':
      return removeFromTenant(chunk, plan);
    case 'REVOKE_SESSIONS':
      return endSessions(chunk);
  }
}

/**
 * One chunk in one transaction: locks its users in id order, reads their state after the lock
 * (so that a concurrent call over the same users finds them changed and skips them), decides
 * each user's outcome by the single-user rules, then — unless `dryRun` — writes the changes and
 * one audit event per user changed.
 */
async function runChunk(
  ctx: ServiceContext,
  plan: Plan,
  ids: readonly string[],
  condition: Prisma.Sql | null,
  dryRun: boolean,
): Promise<Outcomes> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(
        ctx,
        async (tx) => {
          const outcomes = new Outcomes();
          const rows = await lockChunk(tx, ctx.realmId, ids, condition, !dryRun);
          const matching = new Map(rows.map((row) => [row.id, row.matches]));
          const live: string[] = [];
          for (const id of ids) {
            const matches = matching.get(id);
            if (matches === undefined) outcomes.skip(id, 'NOT_FOUND');
            else if (!matches) outcomes.skip(id, 'NO_LONGER_MATCHES');
            else live.push(id);
          }
          if (live.length === 0) return outcomes;
          const users = await tx.user.findMany({
            where: { id: { in: live } },
            select: USER_STATE,
            orderBy: { id: 'asc' },
          });
          const events = await applyPlan({ tx, ctx, users, outcomes, dryRun, now: new Date() }, plan);
          await recordAudits(tx, ctx, events.map(bulkEvent));
          return outcomes;
        },
        undefined,
        BULK_TRANSACTION,
      );
    } catch (error) {
      // A deadlock with a concurrent transaction rolled the whole chunk back: it can run again.
      if (attempt < BULK_LIMITS.chunkAttempts && isSerializationFailure(error)) continue;
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The call
// ---------------------------------------------------------------------------------------------

/**
 * Applies one action to the users given by `ids` or selected by `filter` (at most 10,000), with
 * the rules of the single-user mutation, in chunks of 500 users, each in its own transaction:
 * a user is either fully changed (with its audit event) or untouched, whenever the call stops.
 * Refused as a whole (nothing changes) for invalid arguments, unknown ids, roles or tenant,
 * roles the caller may not grant, or too many users. Each selected user is counted as changed,
 * skipped (nothing to do, with the reason) or failed (the rules refuse the change for it).
 * `dryRun` counts the same way and changes nothing.
 */
export async function bulkUpdateUsers(
  ctx: ServiceContext,
  input: BulkUpdateUsersInput,
): Promise<BulkUpdateUsersResult> {
  const { action } = input;
  const dryRun = Boolean(input.dryRun);
  const refuse = (...errors: UserErrorShape[]) => refusal(action, dryRun, errors);
  const errors = argumentErrors(input);
  const reason = checkReason(input.reason, ['input', 'reason'], errors);
  if (errors.length) return refuse(...errors);

  const ids = input.ids ?? null;
  const limit = BULK_LIMITS.users;
  if (ids && ids.length > limit) {
    return refuse(
      userError('LIMIT_EXCEEDED', `bulkUpdateUsers takes at most ${limit} ids (got ${ids.length}); nothing changed.`, [
        'input',
        'ids',
      ]),
    );
  }
  let condition: Prisma.Sql | null = null;
  if (input.filter) {
    try {
      condition = userListCondition(input.filter, await filterEnvironment(ctx, input.filter));
    } catch (error) {
      if (error instanceof FilterError)
        return refuse(userError('INVALID', error.message, ['input', ...error.path.split('.')]));
      throw error;
    }
  }

  const plan = await planOf(ctx, input, reason);
  if (Array.isArray(plan)) return refuse(...plan);

  const selection = { condition, ids, liveOnly: false };
  const selected = (await selectedUserIds(ctx.db, ctx.realmId, selection, limit + 1, false)).map((row) => row.id);
  if (ids) {
    const found = new Set(selected);
    const missing = ids.flatMap((id, index) =>
      found.has(id) ? [] : [notFound('user', ['input', 'ids', String(index)])],
    );
    if (missing.length) return refuse(...missing);
  } else if (selected.length > limit) {
    const count = await countSelectedUsers(ctx.db, ctx.realmId, selection);
    return refuse(
      userError(
        'LIMIT_EXCEEDED',
        `${count} users match, but bulkUpdateUsers acts on at most ${limit} per call; narrow the filter or split the work. Nothing changed.`,
        ['input', 'filter'],
      ),
    );
  }

  const outcomes = new Outcomes();
  for (let start = 0; start < selected.length; start += BULK_LIMITS.chunk) {
    // A client that went away gets no answer: no further chunk starts.
    currentRequest()?.signal.throwIfAborted();
    const chunk = selected.slice(start, start + BULK_LIMITS.chunk);
    outcomes.add(await runChunk(ctx, plan, chunk, condition, dryRun));
  }
  return resultOf(action, dryRun, outcomes);
}
