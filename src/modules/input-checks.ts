import { userError, type UserErrorShape } from './user-error.ts';

const NAME_MAX_LENGTH = 100;
const LABEL_MAX_LENGTH = 63;

/** Lowercase letters, digits and inner hyphens, 1 to 63 characters: a DNS label (realm names, tenant slugs). */
export const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DESCRIPTION_MAX_LENGTH = 500;

// Control characters (including newlines) have no place in names.
const CONTROL = /\p{Cc}/u;

/**
 * Trims a required name and checks it (REQUIRED when empty, TOO_LONG, INVALID for control
 * characters). Pushes to `errors` and returns the trimmed value.
 */
export function checkName(value: string, field: string[], errors: UserErrorShape[], max = NAME_MAX_LENGTH): string {
  const trimmed = value.trim();
  if (!trimmed) errors.push(userError('REQUIRED', 'The name must not be empty.', field));
  else if ([...trimmed].length > max)
    errors.push(userError('TOO_LONG', `The name must be at most ${max} characters.`, field));
  else if (CONTROL.test(trimmed))
    errors.push(userError('INVALID', 'The name must not contain control characters.', field));
  return trimmed;
}

/**
 * Trims an optional description; empty becomes null. Pushes TOO_LONG to `errors` when over
 * `max` characters.
 */
export function checkDescription(
  value: string | null,
  field: string[],
  errors: UserErrorShape[],
  max = DESCRIPTION_MAX_LENGTH,
): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if ([...trimmed].length > max)
    errors.push(userError('TOO_LONG', `The description must be at most ${max} characters.`, field));
  return trimmed || null;
}

/**
 * Checks a name that must be a {@link LABEL}, such as a tenant slug or a realm name (`noun`, as
 * the messages call it). Pushes REQUIRED, TOO_LONG or INVALID to `errors`.
 */
export function checkLabel(value: string, noun: string, field: string[], errors: UserErrorShape[]): void {
  if (!value) errors.push(userError('REQUIRED', `The ${noun} must not be empty.`, field));
  else if (value.length > LABEL_MAX_LENGTH) {
    errors.push(userError('TOO_LONG', `The ${noun} must be at most ${LABEL_MAX_LENGTH} characters.`, field));
  } else if (!LABEL.test(value)) {
    errors.push(
      userError(
        'INVALID',
        `The ${noun} may contain only lowercase letters, digits and hyphens, and cannot start or end with a hyphen.`,
        field,
      ),
    );
  }
}

/**
 * `value` as a pattern that matches only itself: Prisma compares case-insensitively with ILIKE,
 * where `%` and `_` are wildcards and `\` escapes.
 */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}
