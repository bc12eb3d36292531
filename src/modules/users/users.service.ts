import { createHash } from 'node:crypto';
import { Prisma, type TenancyMode, type User, type UserStatus } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import {
  hashPassword,
  importedHashProblem,
  passwordProblem,
  type PasswordAlgorithm,
  type PasswordContext,
} from './passwords.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AuditAction } from '../audit/audit.actions.ts';
import { assertCanGrant } from '../roles/grants.ts';
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
import { FilterError, userListCondition, type UserFilter } from './users.filter.ts';
import { filterEnvironment } from './users.list.ts';
import {
  auditEventsMentioning,
  countUsersToDelete,
  lockUser,
  takenRows,
  usersToDelete,
  type TakenRow,
} from './users.queries.ts';
import {
  checkMergedMetadata,
  CONTROL_EXCEPT_LINES,
  mergeJson,
  USER_LIMITS,
  validateProfile,
  type AttributeDefinition,
  type ProfileData,
  type ProfileInput,
  type ValidationEnvironment,
} from './users.validation.ts';

/** Interactive transactions of bulk operations may run longer than Prisma's 5 s default. */
const BULK_TRANSACTION = { timeout: 120_000, maxWait: 30_000 } as const;

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

/**
 * Records that something of the user changed outside its own row (roles, tenants, factors…):
 * `version` + 1 and `updatedAt` now. Returns the user.
 */
export function bumpVersion(tx: RealmTx, userId: string): Promise<User> {
  return tx.user.update({ where: { id: userId }, data: { version: { increment: 1 } } });
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
  const active = await tx.session.findMany({
    where: { userId: { in: [...userIds] }, revokedAt: null, expiresAt: { gt: now } },
    select: { id: true },
    orderBy: { id: 'asc' },
  });
  const ids = active.map((session) => session.id);
  if (ids.length)
    await tx.session.updateMany({ where: { id: { in: ids } }, data: { revokedAt: now, revokedReason: reason } });
  await tx.refreshToken.updateMany({
    where: { session: { userId: { in: [...userIds] } }, revokedAt: null },
    data: { revokedAt: now },
  });
  return ids;
}

function checkReason(reason: string | null | undefined, field: string[], errors: UserErrorShape[]): string | null {
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
type ProfileKey = (typeof PROFILE_KEYS)[number];

/** Credential identifiers: changing them is audited as `user.credentials_changed`. */
const CREDENTIAL_KEYS: readonly ProfileKey[] = ['email', 'phone', 'username'];

type ProfileRow = { [K in ProfileKey]?: unknown };

function auditValue(key: ProfileKey, value: unknown): Prisma.InputJsonValue | null {
  if (value === null || value === undefined) return null;
  if (key === 'birthdate' && value instanceof Date) return value.toISOString().slice(0, 10);
  return value;
}

function profileView(row: ProfileRow): Record<ProfileKey, Prisma.InputJsonValue | null> {
  return Object.fromEntries(PROFILE_KEYS.map((key) => [key, auditValue(key, row[key])])) as Record<
    ProfileKey,
    Prisma.InputJsonValue | null
  >;
}

function profileChanges(
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

interface UserEnvironment extends ValidationEnvironment {
  tenancyMode: TenancyMode;
  passwordMinLength: number;
}

async function loadEnvironment(ctx: ServiceContext, withAttributes: boolean): Promise<UserEnvironment> {
  const [realm, definitions] = await Promise.all([
    ctx.db.realm.findFirstOrThrow({ select: { tenancyMode: true, passwordMinLength: true } }),
    withAttributes
      ? ctx.db.customAttributeDefinition.findMany({ select: { key: true, type: true, options: true } })
      : [],
  ]);
  return {
    tenancyMode: realm.tenancyMode,
    passwordMinLength: realm.passwordMinLength,
    attributes: new Map<string, AttributeDefinition>(
      definitions.map((d) => [d.key, { type: d.type, options: d.options }]),
    ),
  };
}

interface UniqueValues {
  email?: string | null | undefined;
  username?: string | null | undefined;
  uniqueId?: string | null | undefined;
}

const TAKEN_MESSAGES = {
  email: 'Another user of the realm already has this email address (ignoring case).',
  username: 'Another user of the realm already has this username (ignoring case).',
  uniqueId: 'Another user of the realm (possibly a deleted one) already has this unique id.',
} as const;

const present = (value: string | null | undefined): string[] => (value ? [value] : []);

/** TAKEN errors for the values of `values` that `rows` hold. */
function takenFrom(rows: readonly TakenRow[], values: UniqueValues, path: string[]): UserErrorShape[] {
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
async function takenErrors(
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
function takenFromViolation(error: unknown, path: string[]): UserErrorShape {
  const text = JSON.stringify((error as { meta?: unknown }).meta ?? {}) + String((error as Error).message ?? '');
  for (const key of ['uniqueId', 'username', 'email'] as const) {
    if (text.includes(key)) return userError('TAKEN', TAKEN_MESSAGES[key], [...path, key]);
  }
  return userError('TAKEN', 'A value that must be unique is already used by another user of the realm.', path);
}

interface RoleRow {
  id: string;
  name: string;
  tenantId: string | null;
}
interface TenantRow {
  id: string;
  slug: string;
}

interface AccessLookup {
  roles: ReadonlyMap<string, RoleRow>;
  tenants: ReadonlyMap<string, TenantRow>;
}

/** The realm's roles and tenants among these ids (two statements at most). */
async function loadAccess(
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
function resolveAccess(
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

async function writeAccess(
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
// Create
// ---------------------------------------------------------------------------------------------

/** Input of `createUser` and of `replaceUser`'s `user` (ids already decoded). */
export interface CreateUserInput extends ProfileInput {
  password?: string | null;
  passwordHash?: string | null;
  passwordHashAlgorithm?: PasswordAlgorithm | null;
  status?: UserStatus | null;
  roleIds?: readonly string[] | null;
  tenantIds?: readonly string[] | null;
}

/** Statuses a user can be created (or replaced) with; suspension and deletion have their own mutations. */
export const CREATABLE_STATUSES: readonly UserStatus[] = ['INVITED', 'PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE'];

type Credentials = { password: string } | { hash: string; algorithm: PasswordAlgorithm } | null;

interface PreparedUser {
  path: string[];
  data: ProfileData;
  status: UserStatus;
  credentials: Credentials;
  roleIds: readonly string[] | null;
  tenantIds: readonly string[] | null;
}

interface HashedPassword {
  passwordHash: string;
  passwordAlgorithm: PasswordAlgorithm;
}

function passwordContext(row: ProfileRow): PasswordContext {
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

function checkCredentials(
  input: CreateUserInput,
  data: ProfileData,
  env: UserEnvironment,
  path: string[],
  errors: UserErrorShape[],
): Credentials {
  const at = (name: string) => [...path, name];
  const hasPassword = input.password !== undefined && input.password !== null;
  const hasHash = input.passwordHash !== undefined && input.passwordHash !== null;
  const algorithm = input.passwordHashAlgorithm ?? null;
  if (hasPassword && (hasHash || algorithm)) {
    errors.push(
      userError('INVALID', 'Give either a password or an imported passwordHash, not both.', at('passwordHash')),
    );
    return null;
  }
  if (hasPassword) {
    const problem = passwordProblem(input.password!, env.passwordMinLength, passwordContext(data));
    if (problem) errors.push(userError(problem.code, problem.message, at('password')));
    return { password: input.password! };
  }
  if (hasHash && !algorithm) {
    errors.push(
      userError('REQUIRED', 'An imported passwordHash needs its passwordHashAlgorithm.', at('passwordHashAlgorithm')),
    );
    return null;
  }
  if (algorithm && !hasHash) {
    errors.push(userError('REQUIRED', 'passwordHashAlgorithm was given without a passwordHash.', at('passwordHash')));
    return null;
  }
  if (hasHash && algorithm) {
    const problem = importedHashProblem(input.passwordHash!, algorithm);
    if (problem) errors.push(userError('INVALID', problem, at('passwordHash')));
    return { hash: input.passwordHash!, algorithm };
  }
  return null;
}

/** Everything that can be checked without the database. */
function prepareUser(
  input: CreateUserInput,
  env: UserEnvironment,
  path: string[],
  errors: UserErrorShape[],
  mode: 'create' | 'replace' = 'create',
): PreparedUser {
  const at = (name: string) => [...path, name];
  const {
    password: _password,
    passwordHash: _hash,
    passwordHashAlgorithm: _algorithm,
    status: _status,
    roleIds,
    tenantIds,
    ...profile
  } = input;
  const data = validateProfile(profile, path, env, errors);
  if (!data.email && !data.phone) {
    errors.push(
      userError(
        'REQUIRED',
        'A user needs an email address or a phone number (or both).',
        at(input.phone === undefined ? 'email' : 'phone'),
      ),
    );
  }
  const status = input.status ?? 'ACTIVE';
  // A replacement's status is checked against the current one (transition table) later.
  if (mode === 'create' && !CREATABLE_STATUSES.includes(status)) {
    errors.push(
      userError(
        'INVALID',
        status === 'DELETED'
          ? 'A user cannot be created deleted.'
          : 'Create the user first, then suspend it with suspendUser and a reason.',
        at('status'),
      ),
    );
  }
  const credentials = checkCredentials(input, data, env, path, errors);
  if (roleIds && roleIds.length > USER_LIMITS.rolesPerUser) {
    errors.push(userError('LIMIT_EXCEEDED', `At most ${USER_LIMITS.rolesPerUser} roles per request.`, at('roleIds')));
  }
  if (tenantIds && tenantIds.length > USER_LIMITS.tenantsPerUser) {
    errors.push(
      userError('LIMIT_EXCEEDED', `At most ${USER_LIMITS.tenantsPerUser} tenants per request.`, at('tenantIds')),
    );
  }
  if (tenantIds && env.tenancyMode === 'ISOLATED_POOL' && new Set(tenantIds).size > 1) {
    errors.push(
      userError(
        'TENANCY_VIOLATION',
        'The realm uses ISOLATED_POOL tenancy: a user belongs to at most one tenant.',
        at('tenantIds'),
      ),
    );
  }
  return { path, data, status, credentials, roleIds: roleIds ?? null, tenantIds: tenantIds ?? null };
}

async function hashCredentials(credentials: Credentials): Promise<HashedPassword | null> {
  if (!credentials) return null;
  if ('password' in credentials)
    return { passwordHash: await hashPassword(credentials.password), passwordAlgorithm: 'ARGON2ID' };
  return { passwordHash: credentials.hash, passwordAlgorithm: credentials.algorithm };
}

/** The profile columns of a prepared user: given values, everything else cleared. */
function fullProfile(data: ProfileData) {
  return {
    email: data.email ?? null,
    emailVerified: data.emailVerified ?? false,
    phone: data.phone ?? null,
    phoneVerified: data.phoneVerified ?? false,
    username: data.username ?? null,
    uniqueId: data.uniqueId ?? null,
    name: data.name ?? null,
    givenName: data.givenName ?? null,
    familyName: data.familyName ?? null,
    nickname: data.nickname ?? null,
    picture: data.picture ?? null,
    bio: data.bio ?? null,
    gender: data.gender ?? null,
    birthdate: data.birthdate ?? null,
    locale: data.locale ?? null,
    timezone: data.timezone ?? null,
    country: data.country ?? null,
    region: data.region ?? null,
    city: data.city ?? null,
    customAttributes: mergeJson({}, data.customAttributes ?? null) as Prisma.InputJsonObject,
    metadata: mergeJson({}, data.metadata ?? null) as Prisma.InputJsonObject,
  };
}

/**
 * Database checks of a prepared user: uniqueness, roles, tenants and, when everything else
 * passed, that the caller may grant the roles. No writes. `existing` is the user being replaced.
 */
async function checkPrepared(
  tx: RealmTx,
  ctx: ServiceContext,
  prepared: PreparedUser,
  errors: UserErrorShape[],
  existing: { id: string; tenantIds: readonly string[]; grantedRoles: ReadonlySet<string> } | null = null,
  preloaded?: BatchLookup,
) {
  const { data, path } = prepared;
  const roleIds = prepared.roleIds ?? [];
  const tenantIds = prepared.tenantIds ?? [];
  errors.push(
    ...(preloaded
      ? takenFrom(preloaded.taken, data, path)
      : await takenErrors(tx, ctx.realmId, data, path, existing?.id ?? null)),
  );
  const lookup = preloaded ?? (await loadAccess(tx, roleIds, tenantIds));
  const memberOf = prepared.tenantIds ?? existing?.tenantIds ?? [];
  const access = resolveAccess(lookup, roleIds, tenantIds, memberOf, path, errors);
  const granted = access.roles
    .filter((role) => !existing?.grantedRoles.has(role.id))
    .map((role) => role.id)
    .sort();
  if (errors.length === 0 && granted.length) {
    const key = granted.join(',');
    let denied = preloaded?.grants.get(key);
    if (denied === undefined) {
      denied = await assertCanGrant(tx, ctx, { roleIds: granted }, [...path, 'roleIds']);
      preloaded?.grants.set(key, denied);
    }
    if (denied) errors.push({ ...denied, field: [...path, 'roleIds'] });
  }
  return access;
}

/** What the checks of a whole batch need, loaded in a few statements. */
interface BatchLookup extends AccessLookup {
  taken: readonly TakenRow[];
  /** Grant decisions by sorted role ids. */
  grants: Map<string, UserErrorShape | null>;
}

async function loadBatch(tx: RealmTx, realmId: string, items: readonly PreparedUser[]): Promise<BatchLookup> {
  const [taken, access] = await Promise.all([
    takenRows(tx, realmId, {
      emails: items.flatMap((i) => present(i.data.email)),
      usernames: items.flatMap((i) => present(i.data.username)),
      uniqueIds: items.flatMap((i) => present(i.data.uniqueId)),
    }),
    loadAccess(
      tx,
      items.flatMap((i) => i.roleIds ?? []),
      items.flatMap((i) => i.tenantIds ?? []),
    ),
  ]);
  return { ...access, taken, grants: new Map() };
}

async function insertUser(
  tx: RealmTx,
  ctx: ServiceContext,
  prepared: PreparedUser,
  hashed: HashedPassword | null,
  access: { roles: RoleRow[]; tenants: TenantRow[] },
): Promise<User> {
  const now = new Date();
  const profile = fullProfile(prepared.data);
  const user = await tx.user.create({
    data: {
      realmId: ctx.realmId,
      ...profile,
      status: prepared.status,
      ...(hashed ? { ...hashed, passwordChangedAt: now } : {}),
    },
  });
  await writeAccess(tx, ctx.realmId, user.id, access.roles, access.tenants);
  const set = Object.fromEntries(
    Object.entries(profileView(profile)).filter(
      ([key, value]) =>
        value !== null &&
        !(typeof value === 'object' && Object.keys(value).length === 0) &&
        !(key.endsWith('Verified') && value === false),
    ),
  );
  await recordAudit(tx, ctx, {
    action: 'user.created',
    targetType: 'User',
    targetId: user.id,
    changes: {
      ...set,
      status: prepared.status,
      hasPassword: hashed !== null,
      ...(hashed && prepared.credentials && 'hash' in prepared.credentials
        ? { passwordImported: hashed.passwordAlgorithm }
        : {}),
      ...(access.roles.length ? { roles: access.roles.map((r) => r.name).sort() } : {}),
      ...(access.tenants.length ? { tenants: access.tenants.map((t) => t.slug).sort() } : {}),
    },
  });
  return user;
}

function needsAttributes(inputs: readonly ProfileInput[]): boolean {
  return inputs.some((input) => input.customAttributes !== undefined && input.customAttributes !== null);
}

/**
 * Creates a user: profile validated, email/username/unique id unique in the realm, an optional
 * password (policy-checked, hashed with argon2id) or an imported bcrypt/argon2id hash, roles
 * and tenants attached in the same transaction, one `user.created` audit event.
 */
export async function createUser(ctx: ServiceContext, input: CreateUserInput): Promise<UserResult> {
  const env = await loadEnvironment(ctx, needsAttributes([input]));
  const errors: UserErrorShape[] = [];
  const prepared = prepareUser(input, env, ['input'], errors);
  if (errors.length) return refused('user', ...errors);
  const hashed = await hashCredentials(prepared.credentials);
  return inTransaction(
    ctx,
    async (tx) => {
      const access = await checkPrepared(tx, ctx, prepared, errors);
      if (errors.length) return refused('user', ...errors);
      return { user: await insertUser(tx, ctx, prepared, hashed, access), userErrors: [] };
    },
    (error) => refused('user', takenFromViolation(error, ['input'])),
  );
}

export interface CreateUsersResult {
  results: UserResult[];
  createdCount: number;
  userErrors: UserErrorShape[];
}

/** Runs `fn` over `items` with at most `limit` in flight (argon2 hashing is CPU- and memory-bound). */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Creates up to 1,000 users. Each item is validated on its own; errors name the item's index
 * (`["input", "users", "<index>", …]`). With `atomic`, the batch is all-or-nothing in one
 * transaction: if any item fails, none is created and every failing item is reported.
 * Otherwise each item is created (or not) on its own.
 */
export async function createUsers(
  ctx: ServiceContext,
  input: { users: readonly CreateUserInput[]; atomic?: boolean | null },
): Promise<CreateUsersResult> {
  const items = input.users;
  if (items.length > USER_LIMITS.batchCreate) {
    return {
      results: [],
      createdCount: 0,
      userErrors: [
        userError(
          'LIMIT_EXCEEDED',
          `createUsers takes at most ${USER_LIMITS.batchCreate} users per call (got ${items.length}); nothing was created.`,
          ['input', 'users'],
        ),
      ],
    };
  }
  const env = await loadEnvironment(ctx, needsAttributes(items));
  const itemErrors: UserErrorShape[][] = items.map(() => []);
  const prepared = items.map((item, index) =>
    prepareUser(item, env, ['input', 'users', String(index)], itemErrors[index]!),
  );

  if (input.atomic) {
    const hashed = itemErrors.some((e) => e.length)
      ? []
      : await mapLimited(prepared, 4, (p) => hashCredentials(p.credentials));
    return inTransaction(
      ctx,
      async (tx) => {
        const claimed = new Map<string, number>();
        const lookup = await loadBatch(
          tx,
          ctx.realmId,
          prepared.filter((_, index) => itemErrors[index]!.length === 0),
        );
        const accesses = [];
        for (const [index, item] of prepared.entries()) {
          const errors = itemErrors[index]!;
          if (errors.length) {
            accesses.push(null);
            continue;
          }
          accesses.push(await checkPrepared(tx, ctx, item, errors, null, lookup));
          for (const key of ['email', 'username', 'uniqueId'] as const) {
            const value = item.data[key];
            if (!value) continue;
            const claim = `${key}:${key === 'uniqueId' ? value : value.toLowerCase()}`;
            const first = claimed.get(claim);
            if (first !== undefined) {
              errors.push(userError('TAKEN', `Item ${first} of this batch has the same ${key}.`, [...item.path, key]));
            } else claimed.set(claim, index);
          }
        }
        const failed = itemErrors.filter((e) => e.length).length;
        if (failed) {
          return {
            results: itemErrors.map((errors) => refused('user', ...errors)),
            createdCount: 0,
            userErrors: [
              userError('INVALID', `${failed} of ${items.length} users failed; with atomic: true none was created.`, [
                'input',
                'users',
              ]),
            ],
          };
        }
        const results: UserResult[] = [];
        for (const [index, item] of prepared.entries()) {
          results.push({
            user: await insertUser(tx, ctx, item, hashed[index] ?? null, accesses[index]!),
            userErrors: [],
          });
        }
        return { results, createdCount: results.length, userErrors: [] };
      },
      (error) => ({
        results: items.map(() => refused('user')),
        createdCount: 0,
        userErrors: [takenFromViolation(error, ['input', 'users'])],
      }),
      BULK_TRANSACTION,
    );
  }

  const hashed = await mapLimited(prepared, 4, (p, index) =>
    itemErrors[index]!.length ? Promise.resolve(null) : hashCredentials(p.credentials),
  );
  const results: UserResult[] = [];
  for (const [index, item] of prepared.entries()) {
    const errors = itemErrors[index]!;
    if (errors.length) {
      results.push(refused('user', ...errors));
      continue;
    }
    results.push(
      await inTransaction(
        ctx,
        async (tx) => {
          const access = await checkPrepared(tx, ctx, item, errors);
          if (errors.length) return refused('user', ...errors);
          return { user: await insertUser(tx, ctx, item, hashed[index] ?? null, access), userErrors: [] };
        },
        (error) => refused('user', takenFromViolation(error, item.path)),
      ),
    );
  }
  return { results, createdCount: results.filter((r) => r.user).length, userErrors: [] };
}

// ---------------------------------------------------------------------------------------------
// Update and replace
// ---------------------------------------------------------------------------------------------

/** The profile fields of `updateUser`; omitted = unchanged, null = cleared. */
export type UserPatch = ProfileInput;

/** Writes `data` only if the user is still at `version`; null when another change won. */
async function conditionalUpdate(
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

function auditAction(
  changes: Record<string, unknown>,
  otherwise: 'user.updated' | 'user.replaced',
): { action: AuditAction; credentials: string[] } {
  const credentials = CREDENTIAL_KEYS.filter((key) => key in changes);
  return { action: credentials.length ? 'user.credentials_changed' : otherwise, credentials };
}

/**
 * Changes the given profile fields of a user (omitted fields are kept, null clears, JSON fields
 * are merged key by key). `expectedVersion` makes it conditional: VERSION_CONFLICT when the
 * user changed since. A new email resets `emailVerified` (a new phone `phoneVerified`) unless
 * the patch sets it. Audited as `user.updated`, or `user.credentials_changed` when the email,
 * phone or username changed (the changes then list them under `credentials`).
 */
export async function updateUser(
  ctx: ServiceContext,
  input: { id: string; expectedVersion?: number | null; patch: UserPatch },
): Promise<UserResult> {
  const env = await loadEnvironment(ctx, needsAttributes([input.patch]));
  const errors: UserErrorShape[] = [];
  const path = ['input', 'patch'];
  const data = validateProfile(input.patch, path, env, errors);
  if (errors.length) return refused('user', ...errors);
  return inTransaction(
    ctx,
    async (tx) => {
      const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
      if (isUserError(user)) return refused('user', user);
      if (input.expectedVersion != null && input.expectedVersion !== user.version) {
        return refused('user', versionConflict('user', user.version, input.expectedVersion));
      }
      if (user.deletedAt) return refused('user', userDeleted(['input', 'id']));

      const { customAttributes, metadata, ...columns } = data;
      const after: ProfileRow = { ...user, ...columns };
      if (customAttributes !== undefined)
        after.customAttributes = mergeJson(user.customAttributes as Record<string, unknown>, customAttributes);
      if (metadata !== undefined) {
        after.metadata = mergeJson(user.metadata as Record<string, unknown>, metadata);
        const tooLarge = checkMergedMetadata(after.metadata as Record<string, unknown>, [...path, 'metadata']);
        if (tooLarge) errors.push(tooLarge);
      }
      if (!after.email && !after.phone) {
        errors.push(
          userError('REQUIRED', 'A user needs an email address or a phone number; this change would remove both.', [
            ...path,
            data.email === null ? 'email' : 'phone',
          ]),
        );
      }
      if (
        data.email !== undefined &&
        (user.email ?? '').toLowerCase() !== (data.email ?? '').toLowerCase() &&
        data.emailVerified === undefined
      ) {
        after.emailVerified = false;
      }
      if (data.phone !== undefined && user.phone !== data.phone && data.phoneVerified === undefined)
        after.phoneVerified = false;
      const changes = profileChanges(user, after);
      const changed = (key: keyof UniqueValues) => (key in changes ? (after[key] as string | null) : null);
      errors.push(
        ...(await takenErrors(
          tx,
          ctx.realmId,
          { email: changed('email'), username: changed('username'), uniqueId: changed('uniqueId') },
          path,
          user.id,
        )),
      );
      if (errors.length) return refused('user', ...errors);
      if (Object.keys(changes).length === 0) return { user, userErrors: [] };

      const updated = await conditionalUpdate(
        tx,
        user,
        Object.fromEntries(Object.keys(changes).map((key) => [key, after[key as ProfileKey]])),
      );
      if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
      const { action, credentials } = auditAction(changes, 'user.updated');
      await recordAudit(tx, ctx, {
        action,
        targetType: 'User',
        targetId: user.id,
        changes: { ...changes, ...(credentials.length ? { credentials } : {}) },
      });
      return { user: updated, userErrors: [] };
    },
    (error) => refused('user', takenFromViolation(error, path)),
  );
}

/**
 * Overwrites a user's whole profile with `user`: fields not given are cleared. Status follows
 * the transition table (suspension only through suspendUser/unsuspendUser). Roles and tenants
 * are replaced when given, kept when omitted; the password is replaced when `password` or
 * `passwordHash` is given, kept otherwise. Audited once as `user.replaced` (or
 * `user.credentials_changed` when email, phone or username changed).
 */
export async function replaceUser(
  ctx: ServiceContext,
  input: { id: string; expectedVersion?: number | null; user: CreateUserInput },
): Promise<UserResult> {
  const env = await loadEnvironment(ctx, needsAttributes([input.user]));
  const errors: UserErrorShape[] = [];
  const path = ['input', 'user'];
  const prepared = prepareUser(input.user, env, path, errors, 'replace');
  const profile = fullProfile(prepared.data);
  if (errors.length) return refused('user', ...errors);
  const hashed = await hashCredentials(prepared.credentials);
  return inTransaction(
    ctx,
    async (tx) => {
      const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
      if (isUserError(user)) return refused('user', user);
      if (input.expectedVersion != null && input.expectedVersion !== user.version) {
        return refused('user', versionConflict('user', user.version, input.expectedVersion));
      }
      if (user.deletedAt) return refused('user', userDeleted(['input', 'id']));
      const status = prepared.status;
      if (status !== user.status) {
        const suspension = status === 'SUSPENDED' || user.status === 'SUSPENDED';
        if (suspension || !STATUS_TRANSITIONS[user.status].includes(status)) {
          errors.push(
            userError(
              'INVALID_STATE',
              !suspension
                ? transitionMessage(user.status, status)
                : user.status === 'SUSPENDED'
                  ? 'The user is suspended: pass status SUSPENDED to keep it so, or lift the suspension with unsuspendUser.'
                  : 'Suspend users with suspendUser, which records a reason and revokes their sessions.',
              [...path, 'status'],
            ),
          );
        }
      }
      const [currentRoles, currentTenants] = await Promise.all([
        tx.userRole.findMany({
          where: { userId: user.id },
          select: { roleId: true, tenantId: true, role: { select: { name: true } } },
        }),
        tx.tenantMembership.findMany({
          where: { userId: user.id },
          select: { tenantId: true, tenant: { select: { slug: true } } },
        }),
      ]);
      const access = await checkPrepared(tx, ctx, prepared, errors, {
        id: user.id,
        tenantIds: currentTenants.map((m) => m.tenantId),
        grantedRoles: new Set(currentRoles.map((r) => r.roleId)),
      });
      if (errors.length) return refused('user', ...errors);

      const changes: Record<string, unknown> = profileChanges(user, profile);
      if (status !== user.status) changes.status = { before: user.status, after: status };
      if (prepared.tenantIds !== null) {
        const wanted = new Set(access.tenants.map((t) => t.id));
        const removed = currentTenants.filter((m) => !wanted.has(m.tenantId)).map((m) => m.tenantId);
        const added = access.tenants.filter((t) => !currentTenants.some((m) => m.tenantId === t.id));
        // Removing a membership also removes the role assignments inside that tenant (cascade).
        if (removed.length)
          await tx.tenantMembership.deleteMany({ where: { userId: user.id, tenantId: { in: removed } } });
        await writeAccess(tx, ctx.realmId, user.id, [], added);
        const before = currentTenants.map((m) => m.tenant.slug).sort();
        const after = access.tenants.map((t) => t.slug).sort();
        if (JSON.stringify(before) !== JSON.stringify(after)) changes.tenants = { before, after };
      }
      if (prepared.roleIds !== null) {
        await tx.userRole.deleteMany({ where: { userId: user.id } });
        await writeAccess(tx, ctx.realmId, user.id, access.roles, []);
        const before = currentRoles.map((r) => r.role.name).sort();
        const after = access.roles.map((r) => r.name).sort();
        if (JSON.stringify(before) !== JSON.stringify(after)) changes.roles = { before, after };
      }
      if (hashed) {
        changes.password =
          prepared.credentials && 'hash' in prepared.credentials
            ? { set: true, imported: hashed.passwordAlgorithm }
            : { set: true };
      }

      const updated = await conditionalUpdate(tx, user, {
        ...(profile as Prisma.UserUpdateManyMutationInput),
        status,
        ...(hashed ? { ...hashed, passwordChangedAt: new Date(), passwordExpired: false } : {}),
      });
      if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
      const { action, credentials } = auditAction(changes, 'user.replaced');
      await recordAudit(tx, ctx, {
        action,
        targetType: 'User',
        targetId: user.id,
        changes: {
          ...(changes as Prisma.InputJsonObject),
          replaced: true,
          ...(credentials.length ? { credentials } : {}),
        },
      });
      return { user: updated, userErrors: [] };
    },
    (error) => refused('user', takenFromViolation(error, path)),
  );
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/**
 * The status lifecycle: the statuses `setUserStatus` may move a user to from each status.
 * Not listed: INVITED (a user can only stay invited), DELETED (deleteUser; back with
 * restoreUser). Moving to SUSPENDED suspends the user like suspendUser.
 */
export const STATUS_TRANSITIONS: Readonly<Record<UserStatus, readonly UserStatus[]>> = {
  INVITED: ['PENDING_VERIFICATION', 'ACTIVE', 'INACTIVE', 'SUSPENDED'],
  PENDING_VERIFICATION: ['ACTIVE', 'INACTIVE', 'SUSPENDED'],
  ACTIVE: ['PENDING_VERIFICATION', 'INACTIVE', 'SUSPENDED'],
  INACTIVE: ['ACTIVE', 'PENDING_VERIFICATION', 'SUSPENDED'],
  SUSPENDED: ['ACTIVE', 'INACTIVE'],
  DELETED: [],
};

function transitionMessage(from: UserStatus, to: UserStatus): string {
  if (from === 'DELETED') return 'The user is deleted; restore it with restoreUser.';
  if (to === 'DELETED') return 'Delete users with deleteUser.';
  if (to === 'INVITED') return 'Only a user that is still invited can be INVITED.';
  const allowed = STATUS_TRANSITIONS[from];
  return `A ${from} user can move to ${allowed.join(', ')}, not to ${to}.`;
}

async function suspendLocked(
  tx: RealmTx,
  ctx: ServiceContext,
  user: User,
  reason: string | null,
  revokeSessions: boolean,
): Promise<UserResult> {
  const now = new Date();
  const updated = await conditionalUpdate(tx, user, { status: 'SUSPENDED', suspendedReason: reason, suspendedAt: now });
  if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
  const revoked = revokeSessions ? await revokeSessionsOf(tx, [user.id], 'user_suspended', now) : [];
  await recordAudit(tx, ctx, {
    action: 'user.suspended',
    targetType: 'User',
    targetId: user.id,
    changes: { status: { before: user.status, after: 'SUSPENDED' }, reason, revokedSessionIds: revoked },
  });
  return { user: updated, userErrors: [] };
}

/**
 * Moves a user to another status along `STATUS_TRANSITIONS` (INVALID_STATE otherwise). The
 * same status is a no-op. SUSPENDED suspends (sessions revoked); leaving SUSPENDED lifts the
 * suspension.
 */
export async function setUserStatus(
  ctx: ServiceContext,
  input: { id: string; status: UserStatus; reason?: string | null },
): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const reason = checkReason(input.reason, ['input', 'reason'], errors);
  if (errors.length) return refused('user', ...errors);
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return refused('user', user);
    if (input.status === 'DELETED' || user.deletedAt) {
      return refused(
        'user',
        userError('INVALID_STATE', transitionMessage(user.status, input.status), ['input', 'status']),
      );
    }
    if (user.status === input.status) return { user, userErrors: [] };
    if (!STATUS_TRANSITIONS[user.status].includes(input.status)) {
      return refused(
        'user',
        userError('INVALID_STATE', transitionMessage(user.status, input.status), ['input', 'status']),
      );
    }
    if (input.status === 'SUSPENDED') return suspendLocked(tx, ctx, user, reason, true);
    const lifting = user.status === 'SUSPENDED';
    const updated = await conditionalUpdate(tx, user, {
      status: input.status,
      ...(lifting ? { suspendedReason: null, suspendedAt: null } : {}),
    });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: lifting ? 'user.unsuspended' : 'user.status_changed',
      targetType: 'User',
      targetId: user.id,
      changes: { status: { before: user.status, after: input.status }, ...(reason ? { reason } : {}) },
    });
    return { user: updated, userErrors: [] };
  });
}

/**
 * Suspends a user with an optional reason (≤ 500 characters). By default also revokes all its
 * active sessions and their refresh tokens in the same transaction. A suspended or deleted
 * user gets INVALID_STATE.
 */
export async function suspendUser(
  ctx: ServiceContext,
  input: { id: string; reason?: string | null; revokeSessions?: boolean | null },
): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const reason = checkReason(input.reason, ['input', 'reason'], errors);
  if (errors.length) return refused('user', ...errors);
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return refused('user', user);
    if (user.deletedAt) return refused('user', userDeleted(['input', 'id']));
    if (user.status === 'SUSPENDED')
      return refused('user', userError('INVALID_STATE', 'The user is already suspended.', ['input', 'id']));
    return suspendLocked(tx, ctx, user, reason, input.revokeSessions ?? true);
  });
}

/** Lifts a suspension: SUSPENDED → ACTIVE. Any other status gets INVALID_STATE. */
export async function unsuspendUser(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return refused('user', user);
    if (user.status !== 'SUSPENDED') {
      return refused(
        'user',
        userError('INVALID_STATE', `The user is not suspended (it is ${user.status}).`, ['input', 'id']),
      );
    }
    const updated = await conditionalUpdate(tx, user, { status: 'ACTIVE', suspendedReason: null, suspendedAt: null });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: 'user.unsuspended',
      targetType: 'User',
      targetId: user.id,
      changes: { status: { before: 'SUSPENDED', after: 'ACTIVE' }, reason: user.suspendedReason },
    });
    return { user: updated, userErrors: [] };
  });
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

/**
 * Sets a user's password (policy-checked against the realm's minimum length, common passwords
 * and the user's own identifiers; hashed with argon2id). `temporary` makes it expire at once:
 * it must be changed at the next sign-in. By default the user's sessions are revoked.
 */
export async function setUserPassword(
  ctx: ServiceContext,
  input: { id: string; password: string; temporary?: boolean | null; revokeSessions?: boolean | null },
): Promise<UserResult> {
  const field = ['input', 'password'];
  const current = await findUser(ctx.db, input.id, ['input', 'id']);
  if (isUserError(current)) return refused('user', current);
  if (current.deletedAt) return refused('user', userDeleted(['input', 'id']));
  const env = await loadEnvironment(ctx, false);
  const problem = passwordProblem(input.password, env.passwordMinLength, passwordContext(current));
  if (problem) return refused('user', userError(problem.code, problem.message, field));
  const passwordHash = await hashPassword(input.password);
  const temporary = input.temporary ?? false;
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return refused('user', user);
    if (user.deletedAt) return refused('user', userDeleted(['input', 'id']));
    const now = new Date();
    const updated = await conditionalUpdate(tx, user, {
      passwordHash,
      passwordAlgorithm: 'ARGON2ID',
      passwordChangedAt: now,
      passwordExpired: temporary,
    });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    const revoked = (input.revokeSessions ?? true) ? await revokeSessionsOf(tx, [user.id], 'password_set', now) : [];
    await recordAudit(tx, ctx, {
      action: 'user.password_set',
      targetType: 'User',
      targetId: user.id,
      changes: { temporary, hadPassword: user.passwordHash !== null, revokedSessionIds: revoked },
    });
    return { user: updated, userErrors: [] };
  });
}

/** Makes the user change its password at the next sign-in. No password → INVALID_STATE. */
export async function expireUserPassword(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  return inTransaction(ctx, async (tx) => {
    const user = await findUser(tx, input.id, ['input', 'id'], { lock: { realmId: ctx.realmId } });
    if (isUserError(user)) return refused('user', user);
    if (user.deletedAt) return refused('user', userDeleted(['input', 'id']));
    if (user.passwordHash === null)
      return refused('user', userError('INVALID_STATE', 'The user has no password to expire.', ['input', 'id']));
    if (user.passwordExpired) return { user, userErrors: [] };
    const updated = await conditionalUpdate(tx, user, { passwordExpired: true });
    if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
    await recordAudit(tx, ctx, {
      action: 'user.password_expired',
      targetType: 'User',
      targetId: user.id,
      changes: { passwordExpired: { before: false, after: true } },
    });
    return { user: updated, userErrors: [] };
  });
}

// ---------------------------------------------------------------------------------------------
// Delete, erase, restore
// ---------------------------------------------------------------------------------------------

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
  const selection = { condition, ids, hard: Boolean(input.hard) };

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
      const selected = await usersToDelete(tx, ctx.realmId, selection, limit + 1, Boolean(input.dryRun));
      if (selected.length > limit) {
        const count = await countUsersToDelete(tx, ctx.realmId, selection);
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

/**
 * Brings a soft-deleted user back: ACTIVE, or SUSPENDED when it was suspended when deleted.
 * TAKEN when its email or username now belongs to another user; INVALID_STATE when not deleted.
 */
export async function restoreUser(ctx: ServiceContext, input: { id: string }): Promise<UserResult> {
  const field = ['input', 'id'];
  return inTransaction(
    ctx,
    async (tx) => {
      const user = await findUser(tx, input.id, field, { lock: { realmId: ctx.realmId } });
      if (isUserError(user)) return refused('user', user);
      if (!user.deletedAt)
        return refused('user', userError('INVALID_STATE', `The user is not deleted (it is ${user.status}).`, field));
      const taken = await takenErrors(
        tx,
        ctx.realmId,
        { email: user.email, username: user.username },
        ['input'],
        user.id,
      );
      if (taken.length) {
        return refused(
          'user',
          ...taken.map((e) =>
            userError(
              'TAKEN',
              `While the user was deleted, another user took its ${e.field?.at(-1) === 'email' ? 'email address' : 'username'}; change that user first.`,
              field,
            ),
          ),
        );
      }
      const status: UserStatus = user.suspendedAt ? 'SUSPENDED' : 'ACTIVE';
      const updated = await conditionalUpdate(tx, user, { status, deletedAt: null });
      if (!updated) return refused('user', versionConflict('user', user.version + 1, user.version));
      await recordAudit(tx, ctx, {
        action: 'user.restored',
        targetType: 'User',
        targetId: user.id,
        changes: { status: { before: 'DELETED', after: status } },
      });
      return { user: updated, userErrors: [] };
    },
    (error) => refused('user', takenFromViolation(error, field)),
  );
}
