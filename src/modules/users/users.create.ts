import type { Prisma, User, UserStatus } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { hashPassword, importedHashProblem, passwordProblem, type PasswordAlgorithm } from './users.passwords.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { sendVerificationLink } from './users.messages.ts';
import { assertCanGrant } from '../roles/roles.grants.ts';
import { inTransaction, refused, userError, type UserErrorShape } from '../user-error.ts';
import { takenRows, type TakenRow } from './users.queries.ts';
import { mergeJson, USER_LIMITS, validateProfile, type ProfileData, type ProfileInput } from './users.validation.ts';
import {
  BULK_TRANSACTION,
  loadAccess,
  loadEnvironment,
  needsAttributes,
  passwordContext,
  present,
  profileView,
  resolveAccess,
  takenErrors,
  takenFrom,
  takenFromViolation,
  writeAccess,
  type AccessLookup,
  type RoleRow,
  type TenantRow,
  type UserEnvironment,
  type UserResult,
} from './users.core.ts';

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
  /** Send a verification email if the user is created with an unverified address (the realm requires verification). */
  verifyEmail: boolean;
}

interface HashedPassword {
  passwordHash: string;
  passwordAlgorithm: PasswordAlgorithm;
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
export function prepareUser(
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
  const verifyEmail =
    mode === 'create' &&
    env.requireEmailVerification === true &&
    (status === 'ACTIVE' || status === 'PENDING_VERIFICATION');
  return { path, data, status, credentials, roleIds: roleIds ?? null, tenantIds: tenantIds ?? null, verifyEmail };
}

export async function hashCredentials(credentials: Credentials): Promise<HashedPassword | null> {
  if (!credentials) return null;
  if ('password' in credentials)
    return { passwordHash: await hashPassword(credentials.password), passwordAlgorithm: 'ARGON2ID' };
  return { passwordHash: credentials.hash, passwordAlgorithm: credentials.algorithm };
}

/** The profile columns of a prepared user: given values, everything else cleared. */
export function fullProfile(data: ProfileData) {
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
export async function checkPrepared(
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
  // Roster's own contexts (seeding, the CLI) have no outbox key: they send nothing.
  if (prepared.verifyEmail && user.email && !user.emailVerified && ctx.outboxKey && ctx.publicUrl) {
    await sendVerificationLink(tx, ctx, user, ctx.publicUrl);
  }
  return user;
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
    (tx) => insertPrepared(tx, ctx, prepared, hashed),
    (error) => refused('user', takenFromViolation(error, ['input'])),
  );
}

/** The database checks and the insert of `createUser`, in the caller's transaction. */
export async function insertPrepared(
  tx: RealmTx,
  ctx: ServiceContext,
  prepared: PreparedUser,
  hashed: HashedPassword | null,
): Promise<UserResult> {
  const errors: UserErrorShape[] = [];
  const access = await checkPrepared(tx, ctx, prepared, errors);
  if (errors.length) return refused('user', ...errors);
  return { user: await insertUser(tx, ctx, prepared, hashed, access), userErrors: [] };
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
