import type { Denial, RealmTx, ServiceContext } from '../context.ts';

/**
 * Business-rule failures, returned as data in mutation payloads (`userErrors`). One code per
 * meaning; the README lists them.
 */
export const USER_ERROR_CODES = {
  INVALID: 'The value is malformed or not allowed.',
  REQUIRED: 'A required value is missing.',
  TAKEN: 'The value must be unique and is already used.',
  NOT_FOUND:
    'What the change is about does not exist in the realm: no object with this id (another realm’s ids included), or no such link to remove (a role the user or application does not hold, a scope the role does not have, a tenant the user is not a member of).',
  TOO_SHORT: 'The value is shorter than allowed.',
  TOO_LONG: 'The value is longer than allowed.',
  WEAK_PASSWORD: 'The password does not meet the password policy.',
  VERSION_CONFLICT: 'The object changed since the version the caller expected.',
  INVALID_STATE:
    'The object is in a state that does not allow this change (e.g. a deleted user, a built-in object, a revoked session).',
  EXPIRED: 'The object’s time ran out before this change (e.g. an account recovery request left unanswered too long).',
  TENANCY_VIOLATION: 'The change breaks the realm’s tenancy mode.',
  LIMIT_EXCEEDED: 'The request exceeds a limit.',
  FORBIDDEN_GRANT: 'The caller cannot grant scopes it does not hold itself.',
  RESERVED: 'The value is reserved for Roster itself.',
} as const;

export type UserErrorCode = keyof typeof USER_ERROR_CODES;

export interface UserErrorShape {
  /** Path to the input field at fault; null when not tied to one field. */
  field: string[] | null;
  message: string;
  code: UserErrorCode;
}

export function userError(code: UserErrorCode, message: string, field?: string[]): UserErrorShape {
  return { code, message, field: field ?? null };
}

export function isUserError(value: unknown): value is UserErrorShape {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && !('realmId' in value);
}

/** A service's answer to a mutation: the object under `key` (null when refused) and why it was refused. */
export type MutationResult<K extends string, T> = { [key in K]: T | null } & { userErrors: UserErrorShape[] };

/** The answer of a delete mutation: the deleted object's database id, or why nothing was deleted. */
export type DeleteResult = MutationResult<'deletedId', string>;

/** A refused mutation: nothing changed, `key` is null. */
export function refused<K extends string>(key: K, ...userErrors: UserErrorShape[]): MutationResult<K, never> {
  return { [key]: null, userErrors } as MutationResult<K, never>;
}

/** NOT_FOUND for an id that names no `noun` of the caller's realm (a missing id and another realm's id alike). */
export function notFound(noun: string, field: string[]): UserErrorShape {
  return userError('NOT_FOUND', `No ${noun} with this id exists in the realm.`, field);
}

/** INVALID_STATE for a change a soft-deleted user does not allow. */
export function userDeleted(field: string[]): UserErrorShape {
  return userError('INVALID_STATE', 'The user is deleted; restore it with restoreUser first.', field);
}

/** VERSION_CONFLICT: the object is at `current`, the caller based its change on `expected`. */
export function versionConflict(
  noun: string,
  current: number,
  expected: number,
  field: string[] = ['input', 'expectedVersion'],
): UserErrorShape {
  return userError(
    'VERSION_CONFLICT',
    `The ${noun} changed meanwhile: it is at version ${current}, not ${expected}. Read it again and retry.`,
    field,
  );
}

/** Whether a database error is a unique-constraint violation (Prisma P2002, SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return code === 'P2002' || code === '23505' || (cause !== undefined && cause !== error && isUniqueViolation(cause));
}

/**
 * Whether a transaction failed because a concurrent one conflicted with it and may succeed when
 * retried (Prisma P2034; SQLSTATE 40001 serialization failure, 40P01 deadlock).
 */
export function isSerializationFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return (
    code === 'P2034' ||
    code === '40001' ||
    code === '40P01' ||
    (cause !== undefined && cause !== error && isSerializationFailure(cause))
  );
}

export interface TransactionOptions {
  timeout?: number;
  maxWait?: number;
}

/**
 * Runs `work` in one interactive transaction of the caller's realm. When it loses a uniqueness
 * race (a concurrent insert won), the transaction is rolled back and the answer is `taken(error)`
 * (typically a TAKEN refusal); without `taken` the violation is thrown.
 */
export async function inTransaction<T>(
  ctx: Pick<ServiceContext, 'db'>,
  work: (tx: RealmTx) => Promise<T>,
  taken?: (error: unknown) => T,
  options?: TransactionOptions,
): Promise<T> {
  try {
    return await ctx.db.$transaction((tx) => work(tx), options);
  } catch (error) {
    if (taken && isUniqueViolation(error)) return taken(error);
    throw error;
  }
}

/**
 * Notes a FORBIDDEN_GRANT refusal on the service context; the denial audit writes it after the
 * request like a FORBIDDEN one. `field` is filled in by the GraphQL layer (the mutation field).
 */
export function noteGrantDenial(ctx: Pick<ServiceContext, 'denials'>, missingScopes: readonly string[]): void {
  ctx.denials?.push({ field: null, missingScopes } satisfies Denial);
}
