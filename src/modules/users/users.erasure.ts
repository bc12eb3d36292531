import { createHash } from 'node:crypto';
import { Prisma, type User } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, isUserError, notFound, userError, type UserErrorShape } from '../user-error.ts';
import { FilterError, userListCondition, type UserFilter } from './users.filter.ts';
import { filterEnvironment } from './users.list.ts';
import { auditEventsMentioning, countSelectedUsers, selectedUserIds } from './users.queries.ts';
import { USER_LIMITS } from './users.validation.ts';
import { BULK_TRANSACTION, findUser, revokeSessionsOf } from './users.core.ts';

/** What replaces a hard-deleted user's identifiers in audit events (stable per user, not reversible). */
export function userTombstone(realmId: string, userId: string): string {
  return `deleted-user:${createHash('sha256').update(`${realmId}:${userId}`).digest('hex').slice(0, 16)}`;
}

type Json = Prisma.JsonValue;

/** Keys whose values identify a person; in a user's own audit events their values are erased. */
const IDENTIFYING_KEYS = new Set([
  'email',
  'phone',
  'username',
  'uniqueId',
  'name',
  'givenName',
  'familyName',
  'nickname',
  'picture',
]);

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface ScrubRules {
  tombstone: string;
  /** Replace every string under an identifying key (the user's own events). */
  byKey: boolean;
  /** Lowercased values that, wherever they occur inside a string, are replaced. */
  contained: readonly string[];
}

function scrubJson(value: Json, rules: ScrubRules, underIdentifyingKey = false): Json {
  if (typeof value === 'string') {
    if (underIdentifyingKey) return rules.tombstone;
    let result = value;
    for (const needle of rules.contained) {
      if (result.toLowerCase().includes(needle))
        result = result.replace(new RegExp(escapeRegExp(needle), 'gi'), rules.tombstone);
    }
    return result;
  }
  if (Array.isArray(value)) return value.map((item) => scrubJson(item, rules, underIdentifyingKey));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        scrubJson(item as Json, rules, underIdentifyingKey || (rules.byKey && IDENTIFYING_KEYS.has(key))),
      ]),
    );
  }
  return value;
}

/** Every string under an identifying key (current and past values of the user's identifiers). */
function identifyingValues(value: Json, found: Set<string>, underIdentifyingKey = false): void {
  if (typeof value === 'string') {
    if (underIdentifyingKey && value.length >= 3) found.add(value.toLowerCase());
  } else if (Array.isArray(value)) {
    for (const item of value) identifyingValues(item, found, underIdentifyingKey);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value))
      identifyingValues(item as Json, found, underIdentifyingKey || IDENTIFYING_KEYS.has(key));
  }
}

/**
 * Overwrites erased users' identifiers in the realm's audit events, keeping the events. In a
 * user's own events (target = the user) the target id and every value under an identifying key
 * (email, phone, username, unique id, names, picture — current and past values) become the
 * tombstone. In every event, each occurrence of the user's id (raw or global) or of an email
 * address the user had is replaced by the tombstone.
 */
async function scrubAuditEvents(tx: RealmTx, realmId: string, users: readonly User[]): Promise<void> {
  if (users.length === 0) return;
  const ids = users.map((u) => u.id);
  const own = await tx.auditEvent.findMany({
    where: { targetId: { in: ids } },
    select: { id: true, targetId: true, changes: true },
  });
  const emails = new Map(users.map((u) => [u.id, new Set(u.email ? [u.email.toLowerCase()] : [])]));
  for (const event of own) {
    const found = new Set<string>();
    identifyingValues(event.changes, found);
    for (const value of found) if (value.includes('@')) emails.get(event.targetId!)!.add(value);
  }
  const needles = new Map(
    users.map((u) => [u.id, [u.id, encodeGlobalId('User', u.id).toLowerCase(), ...emails.get(u.id)!]]),
  );
  const patterns = [...needles.values()].flat().map((needle) => `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const mentioning = await auditEventsMentioning(tx, realmId, ids, patterns);
  for (const row of [...own, ...mentioning]) {
    let targetId = row.targetId;
    let changes = row.changes;
    for (const user of users) {
      const ownEvent = row.targetId === user.id;
      const rules: ScrubRules = {
        tombstone: userTombstone(realmId, user.id),
        byKey: ownEvent,
        contained: needles.get(user.id)!,
      };
      if (ownEvent) targetId = rules.tombstone;
      if (changes !== null) changes = scrubJson(changes, rules);
    }
    if (targetId !== row.targetId || JSON.stringify(changes) !== JSON.stringify(row.changes)) {
      await tx.auditEvent.update({
        where: { id: row.id },
        data: { targetId, changes: changes === null ? Prisma.DbNull : (changes as Prisma.InputJsonValue) },
      });
    }
  }
}

async function softDelete(
  tx: RealmTx,
  ctx: ServiceContext,
  users: readonly User[],
  extra: Prisma.InputJsonObject = {},
): Promise<void> {
  const now = new Date();
  const ids = users.map((u) => u.id);
  await tx.user.updateMany({
    where: { id: { in: ids } },
    data: { status: 'DELETED', deletedAt: now, version: { increment: 1 } },
  });
  const revoked = new Set(await revokeSessionsOf(tx, ids, 'user_deleted', now));
  const sessionsByUser = revoked.size
    ? await tx.session.findMany({ where: { id: { in: [...revoked] } }, select: { id: true, userId: true } })
    : [];
  for (const user of users) {
    await recordAudit(tx, ctx, {
      action: 'user.deleted',
      targetType: 'User',
      targetId: user.id,
      changes: {
        status: { before: user.status, after: 'DELETED' },
        revokedSessionIds: sessionsByUser.filter((s) => s.userId === user.id).map((s) => s.id),
        ...extra,
      },
    });
  }
}

async function hardDelete(
  tx: RealmTx,
  ctx: ServiceContext,
  users: readonly User[],
  extra: Prisma.InputJsonObject = {},
): Promise<void> {
  await scrubAuditEvents(tx, ctx.realmId, users);
  // Identities, factors, sessions (and their refresh tokens), role assignments, memberships,
  // permissions, applications, login events and notes go with the user (foreign keys cascade).
  await tx.user.deleteMany({ where: { id: { in: users.map((u) => u.id) } } });
  for (const user of users) {
    await recordAudit(tx, ctx, {
      action: 'user.erased',
      targetType: 'User',
      targetId: userTombstone(ctx.realmId, user.id),
      changes: { statusBefore: user.status, ...extra },
    });
  }
}

export interface DeleteUserResult {
  deletedUserId: string | null;
  userErrors: UserErrorShape[];
}

/**
 * Deletes a user. Soft by default: status DELETED, `deletedAt` set, sessions revoked, hidden from
 * lists, email and username free for others, restorable. `hard` erases the user and everything
 * of theirs and replaces its identifiers in audit events with a tombstone (the events stay).
 * Soft-deleting a deleted user gets INVALID_STATE; hard-deleting one erases it.
 */
export async function deleteUser(
  ctx: ServiceContext,
  input: { id: string; hard?: boolean | null },
): Promise<DeleteUserResult> {
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return { deletedUserId: null, userErrors: [user] };
    if (input.hard) await hardDelete(tx, ctx, [user]);
    else if (user.deletedAt) {
      return {
        deletedUserId: null,
        userErrors: [
          userError('INVALID_STATE', 'The user is already deleted; pass hard: true to erase it.', ['input', 'id']),
        ],
      };
    } else await softDelete(tx, ctx, [user]);
    return { deletedUserId: user.id, userErrors: [] };
  });
}

export interface DeleteUsersInput {
  ids?: readonly string[] | null;
  filter?: UserFilter | null;
  hard?: boolean | null;
  dryRun?: boolean | null;
}

export interface DeleteUsersResult {
  deletedCount: number;
  deletedUserIds: string[];
  userErrors: UserErrorShape[];
}

function filterErrorField(error: FilterError): string[] {
  return ['input', ...error.path.split('.')];
}

/**
 * Deletes (soft, or `hard`) the users given by `ids`, matching `filter`, or both (users in
 * `ids` that match `filter`); soft deletion skips users already deleted. At most 1,000 users
 * per call: more gets LIMIT_EXCEEDED and nothing is deleted. Unknown ids get NOT_FOUND and
 * nothing is deleted. `dryRun` reports the users that would be deleted and changes nothing.
 * One audit event per user.
 */
export async function deleteUsers(ctx: ServiceContext, input: DeleteUsersInput): Promise<DeleteUsersResult> {
  const nothingDeleted = (...userErrors: UserErrorShape[]): DeleteUsersResult => ({
    deletedCount: 0,
    deletedUserIds: [],
    userErrors,
  });
  const ids = input.ids ?? null;
  const filter = input.filter ?? null;
  const limit = USER_LIMITS.batchDelete;
  if (ids === null && filter === null)
    return nothingDeleted(userError('REQUIRED', 'Give the ids of the users to delete, a filter, or both.', ['input']));
  if (ids && ids.length > limit) {
    return nothingDeleted(
      userError(
        'LIMIT_EXCEEDED',
        `deleteUsers takes at most ${limit} ids per call (got ${ids.length}); nothing was deleted.`,
        ['input', 'ids'],
      ),
    );
  }
  let condition: Prisma.Sql | null = null;
  try {
    if (filter) condition = userListCondition(filter, await filterEnvironment(ctx, filter));
  } catch (error) {
    if (error instanceof FilterError)
      return nothingDeleted(userError('INVALID', error.message, filterErrorField(error)));
    throw error;
  }
  const selection = { condition, ids, liveOnly: !input.hard };

  return inTransaction(
    ctx,
    async (tx) => {
      if (ids) {
        const existing = new Set(
          (await tx.user.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true } })).map((u) => u.id),
        );
        const missing = ids.flatMap((id, index) =>
          existing.has(id) ? [] : [notFound('user', ['input', 'ids', String(index)])],
        );
        if (missing.length) return nothingDeleted(...missing);
      }
      const selected = await selectedUserIds(tx, ctx.realmId, selection, limit + 1, !input.dryRun);
      if (selected.length > limit) {
        const count = await countSelectedUsers(tx, ctx.realmId, selection);
        return nothingDeleted(
          userError(
            'LIMIT_EXCEEDED',
            `${count} users match, but deleteUsers deletes at most ${limit} per call; narrow the filter or repeat the call. Nothing was deleted.`,
            filter ? ['input', 'filter'] : ['input', 'ids'],
          ),
        );
      }
      const selectedIds = selected.map((row) => row.id);
      const result = { deletedCount: selectedIds.length, deletedUserIds: selectedIds, userErrors: [] };
      if (input.dryRun || selectedIds.length === 0) return result;
      const users = await tx.user.findMany({ where: { id: { in: selectedIds } }, orderBy: { id: 'asc' } });
      if (input.hard) await hardDelete(tx, ctx, users, { bulk: true });
      else await softDelete(tx, ctx, users, { bulk: true });
      return result;
    },
    undefined,
    BULK_TRANSACTION,
  );
}
