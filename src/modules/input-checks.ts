import { userError, type UserErrorShape } from './user-error.ts';

const NAME_MAX_LENGTH = 100;
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
