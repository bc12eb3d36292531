/** Business-rule failures, returned as data in mutation payloads (`userErrors`). */
export const USER_ERROR_CODES = {
  INVALID: 'The value is malformed or not allowed.',
  REQUIRED: 'A required value is missing.',
  TAKEN: 'The value must be unique and is already used.',
  NOT_FOUND: 'No object with this id exists in the realm.',
  TOO_SHORT: 'The value is shorter than allowed.',
  TOO_LONG: 'The value is longer than allowed.',
  WEAK_PASSWORD: 'The password does not meet the password policy.',
  VERSION_CONFLICT: 'The object changed since the version the caller expected.',
  INVALID_STATE: 'The object is in a state that does not allow this change.',
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

/** A service's answer to a mutation: the object under `key` (null when refused) and why it was refused. */
export type MutationResult<K extends string, T> = { [key in K]: T | null } & { userErrors: UserErrorShape[] };

/** A refused mutation: nothing changed, `key` is null. */
export function refused<K extends string>(key: K, ...userErrors: UserErrorShape[]): MutationResult<K, never> {
  return { [key]: null, userErrors } as MutationResult<K, never>;
}
