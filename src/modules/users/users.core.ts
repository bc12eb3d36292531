import type { Prisma, TenancyMode, User } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import type { PasswordContext } from './users.passwords.ts';
import {
  inTransaction,
  isUserError,
  notFound,
  refused,
  userDeleted,
  userError,
  versionConflict,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';
import { lockUser, takenRows, type TakenRow } from './users.queries.ts';
import {
  CONTROL_EXCEPT_LINES,
  USER_LIMITS,
  type AttributeDefinition,
  type ProfileInput,
  type ValidationEnvironment,
} from './users.validation.ts';

/** Interactive transactions of bulk operations may run longer than Prisma's 5 s default. */
export const BULK_TRANSACTION = { timeout: 120_000, maxWait: 30_000 } as const;

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by the access and security modules)
// ---------------------------------------------------------------------------------------------

/** The result of a mutation of one user: the user after the change, or why nothing changed. */
export type UserResult = MutationResult<'user', User>;

export interface FindUserOptions {
  /**
   * Lock the row until the transaction ends (`SELECT … FOR UPDATE`), so concurrent changes to
   * one user queue up. Raw SQL needs the realm id (users.queries.ts).
   */
  lock?: { realmId: string };
}

/**
 * The user of the caller's realm with this database id (deleted users included), or a
 * NOT_FOUND error at `field`. A missing id and another realm's id get the same answer.
 */
export async function findUser(
  tx: RealmTx,
  userId: string,
  field: string[],
  options: FindUserOptions = {},
): Promise<User | UserErrorShape> {
  if (options.lock) {
    await lockUser(tx, options.lock.realmId, userId);
  }
  const user = await tx.user.findUnique({ where: { id: userId } });
  return user ?? notFound('user', field);
}

export interface LockedUserOptions {
  /** Where NOT_FOUND and USER_DELETED point; `["input", "id"]` by default. */
  field?: string[];
  /** VERSION_CONFLICT unless the user is at this version (checked before `live`). */
  expectedVersion?: number | null;
  /** USER_DELETED for a deleted user. */
  live?: boolean;
  /** The refusal for a unique violation (see `inTransaction`). */
  taken?: (error: unknown) => UserResult;
}

/**
 * Runs `fn` in a transaction with the user locked (`findUser` with `lock`), after the refusals
 * every change of one user starts with: NOT_FOUND, then the version and deleted checks asked for.
 */
export function withLockedUser(
  ctx: ServiceContext,
  id: string,
  options: LockedUserOptions,
  fn: (tx: RealmTx, user: User) => Promise<UserResult>,
): Promise<UserResult> {
  const field = options.field ?? ['input', 'id'];
  return inTransaction(
    ctx,
    async (tx) => {
      const user = await findUser(tx, id, field, { lock: { realmId: ctx.realmId } });
      if (isUserError(user)) return refused('user', user);
      if (options.expectedVersion != null && options.expectedVersion !== user.version) {
        return refused('user', versionConflict('user', user.version, options.expectedVersion));
      }
      if (options.live && user.deletedAt) return refused('user', userDeleted(field));
      return fn(tx, user);
    },
    options.taken,
  );
}

/**
 * Records that something of the user changed outside its own row (roles, tenants, factors…):
 * `version` + 1 and `updatedAt` now. Returns the user.
 */
export function bumpVersion(tx: RealmTx, userId: string): Promise<User> {
  return tx.user.update({ where: { id: userId }, data: { version: { increment: 1 } } });
}

/** `bumpVersion` for many users at once, in one statement. */
export async function bumpVersions(tx: RealmTx, userIds: readonly string[]): Promise<void> {
  if (userIds.length)
    await tx.user.updateMany({ where: { id: { in: [...userIds] } }, data: { version: { increment: 1 } } });
}

/** A session `activeSessionsOf` found: not revoked, not expired. */
export interface ActiveSession {
  id: string;
  userId: string;
  providerSessionUid: string | null;
}

/** The active sessions of the given users (not revoked, not expired at `now`), in id order. One statement. */
export function activeSessionsOf(tx: RealmTx, userIds: readonly string[], now: Date): Promise<ActiveSession[]> {
  return tx.session.findMany({
    where: { userId: { in: [...userIds] }, revokedAt: null, expiresAt: { gt: now } },
    select: { id: true, userId: true, providerSessionUid: true },
    orderBy: { id: 'asc' },
  });
}

/**
 * Revokes `active` (the users' active sessions, from `activeSessionsOf` in the same transaction)
 * and every refresh token of the users' sessions not yet revoked, and ends the provider sessions
 * behind them, so the next refresh fails.
 */
export async function revokeActiveSessions(
  tx: RealmTx,
  userIds: readonly string[],
  active: readonly ActiveSession[],
  reason: string,
  now: Date,
): Promise<void> {
  if (userIds.length === 0) return;
  const ids = active.map((session) => session.id);
  if (ids.length)
    await tx.session.updateMany({ where: { id: { in: ids } }, data: { revokedAt: now, revokedReason: reason } });
  await tx.refreshToken.updateMany({
    where: { session: { userId: { in: [...userIds] } }, revokedAt: null },
    data: { revokedAt: now },
  });
  await endProviderSessions(
    tx,
    active.flatMap((session) => (session.providerSessionUid ? [session.providerSessionUid] : [])),
  );
}

/**
 * Revokes the active sessions of the given users and every refresh token of their sessions not
 * yet revoked, so the next refresh fails. Call it in the transaction of the change that needs
 * it. Returns the ids of the sessions revoked.
 */
export async function revokeSessionsOf(
  tx: RealmTx,
  userIds: readonly string[],
  reason: string,
  now = new Date(),
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const active = await activeSessionsOf(tx, userIds, now);
  await revokeActiveSessions(tx, userIds, active, reason, now);
  return active.map((session) => session.id);
}

/**
 * Deletes the OpenID provider's sessions with these uids and every grant they hold, with the
 * grants' codes and tokens: the browser is signed out and no refresh token of them works again.
 */
export async function endProviderSessions(tx: RealmTx, providerSessionUids: readonly string[]): Promise<void> {
  if (providerSessionUids.length === 0) return;
  const sessions = await tx.oidcPayload.findMany({
    where: { model: 'Session', uid: { in: [...providerSessionUids] } },
    select: { id: true, payload: true },
  });
  const grantIds = sessions.flatMap((session) => {
    const authorizations = (session.payload as { authorizations?: Record<string, { grantId?: unknown }> })
      .authorizations;
    return Object.values(authorizations ?? {}).flatMap((a) => (typeof a.grantId === 'string' ? [a.grantId] : []));
  });
  // An impersonation (token exchange) has no browser session: its Roster session's uid is its grant's id.
  grantIds.push(...providerSessionUids);
  await tx.oidcPayload.deleteMany({
    where: {
      OR: [
        { model: 'Session', uid: { in: [...providerSessionUids] } },
        { grantId: { in: grantIds } },
        { model: 'Grant', id: { in: grantIds } },
      ],
    },
  });
}

export function checkReason(
  reason: string | null | undefined,
  field: string[],
  errors: UserErrorShape[],
): string | null {
  const trimmed = reason?.trim();
  if (!trimmed) return null;
  if ([...trimmed].length > USER_LIMITS.reason) {
    errors.push(userError('TOO_LONG', `The reason must be at most ${USER_LIMITS.reason} characters.`, field));
  } else if (CONTROL_EXCEPT_LINES.test(trimmed)) {
    errors.push(userError('INVALID', 'The reason must not contain control characters.', field));
  }
  return trimmed;
}

// ---------------------------------------------------------------------------------------------
// Audit views: JSON-safe profile values, never secrets
// ---------------------------------------------------------------------------------------------

const PROFILE_KEYS = [
  'email',
  'emailVerified',
  'phone',
  'phoneVerified',
  'username',
  'uniqueId',
  'name',
  'givenName',
  'familyName',
  'nickname',
  'picture',
  'bio',
  'gender',
  'birthdate',
  'locale',
  'timezone',
  'country',
  'region',
  'city',
  'customAttributes',
  'metadata',
] as const;
export type ProfileKey = (typeof PROFILE_KEYS)[number];

/** Credential identifiers: changing them is audited as `user.credentials_changed`. */
export const CREDENTIAL_KEYS: readonly ProfileKey[] = ['email', 'phone', 'username'];

export type ProfileRow = { [K in ProfileKey]?: unknown };

function auditValue(key: ProfileKey, value: unknown): Prisma.InputJsonValue | null {
  if (value === null || value === undefined) return null;
  if (key === 'birthdate' && value instanceof Date) return value.toISOString().slice(0, 10);
  return value;
}

export function profileView(row: ProfileRow): Record<ProfileKey, Prisma.InputJsonValue | null> {
  return Object.fromEntries(PROFILE_KEYS.map((key) => [key, auditValue(key, row[key])])) as Record<
    ProfileKey,
    Prisma.InputJsonValue | null
  >;
}

export function profileChanges(
  before: ProfileRow,
  after: ProfileRow,
): Record<string, { before: Prisma.InputJsonValue | null; after: Prisma.InputJsonValue | null }> {
  const a = profileView(before);
  const b = profileView(after);
  const changes: Record<string, { before: Prisma.InputJsonValue | null; after: Prisma.InputJsonValue | null }> = {};
  for (const key of PROFILE_KEYS) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) changes[key] = { before: a[key], after: b[key] };
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Realm environment, uniqueness and access checks
// ---------------------------------------------------------------------------------------------

export interface UserEnvironment extends ValidationEnvironment {
  tenancyMode: TenancyMode;
  passwordMinLength: number;
  /** Users created with an unverified email address get a verification email. */
  requireEmailVerification?: boolean;
}

export async function loadEnvironment(ctx: ServiceContext, withAttributes: boolean): Promise<UserEnvironment> {
  const [realm, definitions] = await Promise.all([
    ctx.db.realm.findFirstOrThrow({
      select: { tenancyMode: true, passwordMinLength: true, requireEmailVerification: true },
    }),
    withAttributes
      ? ctx.db.customAttributeDefinition.findMany({ select: { key: true, type: true, options: true } })
      : [],
  ]);
  return {
    tenancyMode: realm.tenancyMode,
    passwordMinLength: realm.passwordMinLength,
    requireEmailVerification: realm.requireEmailVerification,
    attributes: new Map<string, AttributeDefinition>(
      definitions.map((d) => [d.key, { type: d.type, options: d.options }]),
    ),
  };
}

export interface UniqueValues {
  email?: string | null | undefined;
  username?: string | null | undefined;
  uniqueId?: string | null | undefined;
}

const TAKEN_MESSAGES = {
  email: 'Another user of the realm already has this email address (ignoring case).',
  username: 'Another user of the realm already has this username (ignoring case).',
  uniqueId: 'Another user of the realm (possibly a deleted one) already has this unique id.',
} as const;

export const present = (value: string | null | undefined): string[] => (value ? [value] : []);

/** TAKEN errors for the values of `values` that `rows` hold. */
export function takenFrom(rows: readonly TakenRow[], values: UniqueValues, path: string[]): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  const same = (a: string | null, b: string | null | undefined) =>
    a !== null && !!b && a.toLowerCase() === b.toLowerCase();
  if (rows.some((r) => r.active && same(r.email, values.email)))
    errors.push(userError('TAKEN', TAKEN_MESSAGES.email, [...path, 'email']));
  if (rows.some((r) => r.active && same(r.username, values.username)))
    errors.push(userError('TAKEN', TAKEN_MESSAGES.username, [...path, 'username']));
  if (rows.some((r) => r.uniqueId !== null && r.uniqueId === values.uniqueId))
    errors.push(userError('TAKEN', TAKEN_MESSAGES.uniqueId, [...path, 'uniqueId']));
  return errors;
}

/** TAKEN errors for the values another user already holds. One statement. */
export async function takenErrors(
  tx: RealmTx,
  realmId: string,
  values: UniqueValues,
  path: string[],
  exceptUserId: string | null = null,
): Promise<UserErrorShape[]> {
  const rows = await takenRows(
    tx,
    realmId,
    { emails: present(values.email), usernames: present(values.username), uniqueIds: present(values.uniqueId) },
    exceptUserId,
  );
  return takenFrom(rows, values, path);
}

/** The field a unique-constraint violation (a concurrent write that won) is about. */
export function takenFromViolation(error: unknown, path: string[]): UserErrorShape {
  const text = JSON.stringify((error as { meta?: unknown }).meta ?? {}) + String((error as Error).message ?? '');
  for (const key of ['uniqueId', 'username', 'email'] as const) {
    if (text.includes(key)) return userError('TAKEN', TAKEN_MESSAGES[key], [...path, key]);
  }
  return userError('TAKEN', 'A value that must be unique is already used by another user of the realm.', path);
}

export interface RoleRow {
  id: string;
  name: string;
  tenantId: string | null;
}
export interface TenantRow {
  id: string;
  slug: string;
}

export interface AccessLookup {
  roles: ReadonlyMap<string, RoleRow>;
  tenants: ReadonlyMap<string, TenantRow>;
}

/** The realm's roles and tenants among these ids (two statements at most). */
export async function loadAccess(
  tx: RealmTx,
  roleIds: readonly string[],
  tenantIds: readonly string[],
): Promise<AccessLookup> {
  const uniqueRoles = [...new Set(roleIds)];
  const uniqueTenants = [...new Set(tenantIds)];
  const [roles, tenants] = await Promise.all([
    uniqueRoles.length
      ? tx.role.findMany({ where: { id: { in: uniqueRoles } }, select: { id: true, name: true, tenantId: true } })
      : [],
    uniqueTenants.length
      ? tx.tenant.findMany({ where: { id: { in: uniqueTenants } }, select: { id: true, slug: true } })
      : [],
  ]);
  return { roles: new Map(roles.map((r) => [r.id, r])), tenants: new Map(tenants.map((t) => [t.id, t])) };
}

/**
 * Resolves role and tenant ids (NOT_FOUND per index for unknown ids and other realms' ids).
 * A role defined by a tenant is assigned inside that tenant, which must then be one of
 * `memberOf` (the tenants the user will belong to).
 */
export function resolveAccess(
  lookup: AccessLookup,
  roleIds: readonly string[],
  tenantIds: readonly string[],
  memberOf: readonly string[],
  path: string[],
  errors: UserErrorShape[],
): { roles: RoleRow[]; tenants: TenantRow[] } {
  tenantIds.forEach((id, index) => {
    if (!lookup.tenants.has(id)) errors.push(notFound('tenant', [...path, 'tenantIds', String(index)]));
  });
  roleIds.forEach((id, index) => {
    const role = lookup.roles.get(id);
    const field = [...path, 'roleIds', String(index)];
    if (!role) errors.push(notFound('role', field));
    else if (role.tenantId !== null && !memberOf.includes(role.tenantId)) {
      errors.push(
        userError(
          'INVALID',
          'This role is defined by a tenant: list that tenant in tenantIds too, or assign the role with assignUserRoles.',
          field,
        ),
      );
    }
  });
  return {
    roles: [...new Set(roleIds)].flatMap((id) => lookup.roles.get(id) ?? []),
    tenants: [...new Set(tenantIds)].flatMap((id) => lookup.tenants.get(id) ?? []),
  };
}

export async function writeAccess(
  tx: RealmTx,
  realmId: string,
  userId: string,
  roles: RoleRow[],
  tenants: TenantRow[],
): Promise<void> {
  if (tenants.length) {
    await tx.tenantMembership.createMany({ data: tenants.map((tenant) => ({ realmId, tenantId: tenant.id, userId })) });
  }
  if (roles.length) {
    await tx.userRole.createMany({
      data: roles.map((role) => ({ realmId, userId, roleId: role.id, tenantId: role.tenantId })),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Shared by create, update and lifecycle
// ---------------------------------------------------------------------------------------------

export function passwordContext(row: ProfileRow): PasswordContext {
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    email: text(row.email),
    username: text(row.username),
    name: text(row.name),
    givenName: text(row.givenName),
    familyName: text(row.familyName),
    nickname: text(row.nickname),
  };
}

export function needsAttributes(inputs: readonly ProfileInput[]): boolean {
  return inputs.some((input) => input.customAttributes !== undefined && input.customAttributes !== null);
}

/** Writes `data` only if the user is still at `version`; null when another change won. */
export async function conditionalUpdate(
  tx: RealmTx,
  user: User,
  data: Prisma.UserUpdateManyMutationInput,
): Promise<User | null> {
  const [updated] = await tx.user.updateManyAndReturn({
    where: { id: user.id, version: user.version },
    data: { ...data, version: { increment: 1 } },
  });
  return updated ?? null;
}
