import type { ServiceContext } from '../../context.ts';
import { inTransaction, isUserError, refused, userDeleted, userError, type UserErrorShape } from '../user-error.ts';
import { findUser, loadEnvironment, needsAttributes, takenFromViolation, type UserResult } from './users.core.ts';
import { hashCredentials, insertPrepared, prepareUser, type CreateUserInput } from './users.create.ts';
import { lockMatchKey, usersMatching, type MatchKey } from './users.queries.ts';
import { applyPatch, type UserPatch } from './users.update.ts';
import { validateProfile, type ValidationEnvironment } from './users.validation.ts';

const MATCH_KEYS: readonly MatchKey[] = ['email', 'phone', 'username', 'uniqueId'];

/** What `upsertUser` did. */
type UpsertOutcome = 'CREATED' | 'UPDATED' | 'UNCHANGED';

export type UpsertUserResult = UserResult & { outcome: UpsertOutcome | null };

export interface UpsertUserInput {
  /** Exactly one identifier. */
  match: Partial<Record<MatchKey, string | null>>;
  create: CreateUserInput;
  update: UserPatch;
}

const refusedUpsert = (...errors: UserErrorShape[]): UpsertUserResult => ({
  ...refused('user', ...errors),
  outcome: null,
});

/** A value of `key` as it is stored and compared (the profile rules), or null with its errors. */
function normalized(
  key: MatchKey,
  value: string,
  path: string[],
  env: ValidationEnvironment,
  errors: UserErrorShape[],
): string | null {
  const found: UserErrorShape[] = [];
  const data = validateProfile({ [key]: value }, path, env, found);
  errors.push(...found);
  const result = data[key];
  if (!found.length && !result) errors.push(userError('REQUIRED', `The ${key} must not be empty.`, [...path, key]));
  return found.length || !result ? null : result;
}

/** The one identifier of `match`, normalized; null with errors otherwise. */
function matchKey(
  input: UpsertUserInput,
  env: ValidationEnvironment,
  errors: UserErrorShape[],
): { key: MatchKey; value: string } | null {
  const given = MATCH_KEYS.filter((key) => input.match[key] != null);
  if (given.length !== 1) {
    errors.push(
      userError(
        given.length ? 'INVALID' : 'REQUIRED',
        `Give exactly one of ${MATCH_KEYS.join(', ')} to match the user on (got ${given.length ? given.join(', ') : 'none'}).`,
        ['input', 'match'],
      ),
    );
    return null;
  }
  const key = given[0]!;
  const value = normalized(key, input.match[key]!, ['input', 'match'], env, errors);
  if (value === null) return null;
  const stated = input.create[key];
  if (stated != null) {
    const ignored: UserErrorShape[] = [];
    if (normalized(key, stated, ['input', 'create'], env, ignored) !== value) {
      errors.push(
        userError(
          'INVALID',
          `create.${key} differs from match.${key}: leave it out (it is taken from match) or give the same value.`,
          ['input', 'create', key],
        ),
      );
      return null;
    }
  }
  return { key, value };
}

/**
 * Get-or-create by one identifier (email, phone, username or unique id): the live user holding
 * it gets `update` (a partial update with the rules of `updateUser`; nothing to change leaves it
 * untouched and unaudited), and when there is none a user is created from `create` (the rules of
 * `createUser`), with the matched identifier filled in. Both inputs are validated whichever
 * applies. Calls with the same identifier are serialized by a transaction-scoped lock on
 * (realm, identifier), so concurrent calls create one user; a unique id held by a deleted user
 * and a phone number shared by several users are refused.
 */
export async function upsertUser(ctx: ServiceContext, input: UpsertUserInput): Promise<UpsertUserResult> {
  const env = await loadEnvironment(ctx, needsAttributes([input.create, input.update]));
  const errors: UserErrorShape[] = [];
  const match = matchKey(input, env, errors);
  // Without the identifier, the create input's own checks would only add confusing errors.
  if (!match) return refusedUpsert(...errors);
  const { key, value } = match;
  const create = input.create[key] == null ? { ...input.create, [key]: value } : input.create;
  const prepared = prepareUser(create, env, ['input', 'create'], errors);
  const patch = validateProfile(input.update, ['input', 'update'], env, errors);
  if (errors.length) return refusedUpsert(...errors);
  const matchField = ['input', 'match', key];

  const RETRY = Symbol('retry');
  for (let attempt = 1; ; attempt++) {
    // argon2 is costly: hash only when the user looks absent (inside, a user created meanwhile wins).
    const seen = await usersMatching(ctx.db, ctx.realmId, key, value);
    const hashed = seen.some((row) => !row.deleted) ? null : await hashCredentials(prepared.credentials);
    const last = attempt === 3;
    const result = await inTransaction<UpsertUserResult | typeof RETRY>(
      ctx,
      async (tx) => {
        await lockMatchKey(tx, ctx.realmId, key, value);
        const rows = await usersMatching(tx, ctx.realmId, key, value);
        const live = rows.filter((row) => !row.deleted);
        if (live.length > 1) {
          return refusedUpsert(
            userError(
              'INVALID',
              `Several users of the realm have this ${key}: match on an identifier only one user holds.`,
              matchField,
            ),
          );
        }
        if (live.length === 0) {
          if (rows.length) return refusedUpsert(userDeleted(matchField));
          if (prepared.credentials && !hashed) return RETRY;
          const created = await insertPrepared(tx, ctx, prepared, hashed);
          return { ...created, outcome: created.user ? 'CREATED' : null };
        }
        const user = await findUser(tx, live[0]!.id, matchField, { lock: { realmId: ctx.realmId } });
        if (isUserError(user)) return RETRY;
        const updated = await applyPatch(tx, ctx, user, patch, ['input', 'update']);
        const outcome = !updated.user ? null : updated.user.version === user.version ? 'UNCHANGED' : 'UPDATED';
        return { ...updated, outcome };
      },
      // A concurrent createUser or updateUser took a unique value: the next attempt sees it.
      (error) => (last ? refusedUpsert(takenFromViolation(error, ['input', 'create'])) : RETRY),
    );
    if (result !== RETRY) return result;
    if (last)
      return refusedUpsert(userError('VERSION_CONFLICT', 'The user kept changing meanwhile; retry.', matchField));
  }
}
