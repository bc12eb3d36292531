import type { CustomAttributeType } from '../../generated/prisma/client.ts';
import { userError, type UserErrorShape } from '../user-error.ts';

/** Limits of user input, in characters unless stated (also stated in the GraphQL descriptions). */
export const USER_LIMITS = {
  email: 254,
  usernameMin: 3,
  usernameMax: 64,
  name: 200,
  bio: 2000,
  pictureUrl: 2048,
  locale: 35,
  place: 200,
  gender: 50,
  uniqueId: 200,
  /** UTF-8 bytes of `metadata` serialized as JSON. */
  metadataBytes: 16_384,
  /** Characters of one STRING custom attribute value. */
  attributeString: 1000,
  earliestBirthdate: '1900-01-01',
  rolesPerUser: 100,
  tenantsPerUser: 100,
  reason: 500,
  /** Users per `createUsers` call. */
  batchCreate: 1000,
  /** Users per `deleteUsers` call. */
  batchDelete: 1000,
} as const;

/** Lowercase letters, digits, `.`, `-` and `_`. */
export const USERNAME = /^[a-z0-9._-]+$/;
/** E.164: `+`, a country code not starting with 0, 7 to 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;
const FULL_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
// Control characters (line breaks included) have no place in one-line values.
const CONTROL = /\p{Cc}/u;
// Multi-line text may keep tabs and line breaks.
export const CONTROL_EXCEPT_LINES = /(?![\t\n\r])\p{Cc}/u;

/** Profile fields shared by create, update and replace; `undefined` = not given. */
export interface ProfileInput {
  email?: string | null;
  phone?: string | null;
  username?: string | null;
  uniqueId?: string | null;
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  nickname?: string | null;
  picture?: URL | string | null;
  bio?: string | null;
  gender?: string | null;
  birthdate?: string | null;
  locale?: string | null;
  timezone?: string | null;
  country?: string | null;
  region?: string | null;
  city?: string | null;
  emailVerified?: boolean | null;
  phoneVerified?: boolean | null;
  customAttributes?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
}

/** The validated, normalized columns; keys absent from the input are absent here. */
export interface ProfileData {
  email?: string | null;
  phone?: string | null;
  username?: string | null;
  uniqueId?: string | null;
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  nickname?: string | null;
  picture?: string | null;
  bio?: string | null;
  gender?: string | null;
  birthdate?: Date | null;
  locale?: string | null;
  timezone?: string | null;
  country?: string | null;
  region?: string | null;
  city?: string | null;
  emailVerified?: boolean;
  phoneVerified?: boolean;
  /** As given (a key set to null means "remove"); apply with `mergeJson`. */
  customAttributes?: Record<string, unknown> | null;
  /** As given (a key set to null means "remove"); apply with `mergeJson`. */
  metadata?: Record<string, unknown> | null;
}

export interface AttributeDefinition {
  type: CustomAttributeType;
  options: readonly string[];
}

/** What validating a profile needs to know about the realm. */
export interface ValidationEnvironment {
  /** The realm's custom attribute definitions by key. */
  attributes: ReadonlyMap<string, AttributeDefinition>;
  /** Today (UTC) as `YYYY-MM-DD`; birthdates after it are refused. */
  today?: string;
}

const TEXT_FIELDS = {
  name: { max: USER_LIMITS.name, label: 'name', multiline: false },
  givenName: { max: USER_LIMITS.name, label: 'given name', multiline: false },
  familyName: { max: USER_LIMITS.name, label: 'family name', multiline: false },
  nickname: { max: USER_LIMITS.name, label: 'nickname', multiline: false },
  bio: { max: USER_LIMITS.bio, label: 'bio', multiline: true },
  gender: { max: USER_LIMITS.gender, label: 'gender', multiline: false },
  region: { max: USER_LIMITS.place, label: 'region', multiline: false },
  city: { max: USER_LIMITS.place, label: 'city', multiline: false },
  uniqueId: { max: USER_LIMITS.uniqueId, label: 'unique id', multiline: false },
} as const;

function length(value: string): number {
  return [...value].length;
}

/** Trims free text; empty becomes null. Checks length and control characters. */
function checkText(
  value: string,
  spec: { max: number; label: string; multiline: boolean },
  field: string[],
  errors: UserErrorShape[],
): string | null {
  const trimmed = value.trim();
  if (!trimmed) return null;
  if (length(trimmed) > spec.max)
    errors.push(userError('TOO_LONG', `The ${spec.label} must be at most ${spec.max} characters.`, field));
  else if ((spec.multiline ? CONTROL_EXCEPT_LINES : CONTROL).test(trimmed)) {
    errors.push(userError('INVALID', `The ${spec.label} must not contain control characters.`, field));
  }
  return trimmed;
}

/** Checks a username: 3 to 64 lowercase letters, digits, `.`, `-`, `_`. */
export function checkUsername(value: string, field: string[], errors: UserErrorShape[]): string {
  const { usernameMin: min, usernameMax: max } = USER_LIMITS;
  if (length(value) < min)
    errors.push(userError('TOO_SHORT', `The username must be at least ${min} characters.`, field));
  else if (length(value) > max)
    errors.push(userError('TOO_LONG', `The username must be at most ${max} characters.`, field));
  else if (!USERNAME.test(value)) {
    errors.push(
      userError('INVALID', 'The username may contain only lowercase letters, digits, ".", "-" and "_".', field),
    );
  }
  return value;
}

/** Normalizes a phone number (spaces, dashes, dots, parentheses removed) and requires E.164. */
export function checkPhone(value: string, field: string[], errors: UserErrorShape[]): string {
  const compact = value.replace(/[\s().-]/g, '');
  if (!E164.test(compact)) {
    errors.push(
      userError(
        'INVALID',
        'The phone number must be in international E.164 form with its country code, e.g. +14155550123.',
        field,
      ),
    );
  }
  return compact;
}

function checkPicture(value: URL | string, field: string[], errors: UserErrorShape[]): string {
  const url = typeof value === 'string' ? (URL.canParse(value) ? new URL(value) : null) : value;
  const href = url?.href ?? String(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    errors.push(userError('INVALID', 'The picture must be an http or https URL.', field));
  } else if (href.length > USER_LIMITS.pictureUrl) {
    errors.push(userError('TOO_LONG', `The picture URL must be at most ${USER_LIMITS.pictureUrl} characters.`, field));
  }
  return href;
}

function checkBirthdate(value: string, today: string, field: string[], errors: UserErrorShape[]): Date | null {
  if (!FULL_DATE.test(value) || !new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)) {
    errors.push(userError('INVALID', 'The birthdate must be a date as YYYY-MM-DD.', field));
    return null;
  }
  if (value > today) errors.push(userError('INVALID', 'The birthdate must not be in the future.', field));
  else if (value < USER_LIMITS.earliestBirthdate)
    errors.push(userError('INVALID', 'The birthdate must not be before 1900.', field));
  return new Date(`${value}T00:00:00Z`);
}

/**
 * Why `value` is not a valid value of a custom attribute, or null. NUMBER: a finite number;
 * BOOLEAN: true or false; DATE: a `YYYY-MM-DD` string naming a real day; STRING: a string of at
 * most 1,000 characters; ENUM: one of the options.
 */
function attributeValueProblem(
  definition: AttributeDefinition,
  value: unknown,
): { code: 'INVALID' | 'TOO_LONG'; message: string } | null {
  const invalid = (message: string) => ({ code: 'INVALID' as const, message });
  switch (definition.type) {
    case 'NUMBER':
      return typeof value === 'number' && Number.isFinite(value) ? null : invalid('expects a number');
    case 'BOOLEAN':
      return typeof value === 'boolean' ? null : invalid('expects true or false');
    case 'DATE':
      return typeof value === 'string' &&
        FULL_DATE.test(value) &&
        new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)
        ? null
        : invalid('expects a date as YYYY-MM-DD');
    case 'ENUM':
      return typeof value === 'string' && definition.options.includes(value)
        ? null
        : invalid(`expects one of ${definition.options.map((o) => JSON.stringify(o)).join(', ')}`);
    default:
      if (typeof value !== 'string') return invalid('expects a string');
      return length(value) > USER_LIMITS.attributeString
        ? { code: 'TOO_LONG', message: `is at most ${USER_LIMITS.attributeString} characters` }
        : null;
  }
}

function checkCustomAttributes(
  values: Record<string, unknown>,
  env: ValidationEnvironment,
  field: string[],
  errors: UserErrorShape[],
): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === null) continue;
    const at = [...field, key];
    const definition = env.attributes.get(key);
    if (!definition) {
      errors.push(userError('INVALID', `No custom attribute "${key}" is defined in this realm.`, at));
      continue;
    }
    const problem = attributeValueProblem(definition, value);
    if (problem)
      errors.push(userError(problem.code, `The ${definition.type} attribute "${key}" ${problem.message}.`, at));
  }
}

function checkMetadata(values: Record<string, unknown>, field: string[], errors: UserErrorShape[]): void {
  const bytes = Buffer.byteLength(JSON.stringify(values), 'utf8');
  if (bytes > USER_LIMITS.metadataBytes) {
    errors.push(
      userError(
        'TOO_LONG',
        `The metadata must be at most ${USER_LIMITS.metadataBytes} bytes as JSON (got ${bytes}).`,
        field,
      ),
    );
  }
}

/**
 * Validates and normalizes the profile fields present in `input` (for create, update and
 * replace alike). Each problem is pushed to `errors` with `field` = `path` + the field name
 * (+ the attribute key for custom attributes). Emails are lowercased, phone numbers compacted,
 * country codes uppercased, free text trimmed (empty text clears the field).
 */
export function validateProfile(
  input: ProfileInput,
  path: string[],
  env: ValidationEnvironment,
  errors: UserErrorShape[],
): ProfileData {
  const data: ProfileData = {};
  const at = (name: string) => [...path, name];
  const today = env.today ?? new Date().toISOString().slice(0, 10);

  if (input.email !== undefined) {
    if (input.email === null) data.email = null;
    else {
      const email = input.email.trim().toLowerCase();
      if (email.length > USER_LIMITS.email) {
        errors.push(
          userError('TOO_LONG', `The email address must be at most ${USER_LIMITS.email} characters.`, at('email')),
        );
      }
      data.email = email;
    }
  }
  if (input.phone !== undefined)
    data.phone = input.phone === null ? null : checkPhone(input.phone, at('phone'), errors);
  if (input.username !== undefined) {
    data.username = input.username === null ? null : checkUsername(input.username, at('username'), errors);
  }
  for (const [name, spec] of Object.entries(TEXT_FIELDS) as [
    keyof typeof TEXT_FIELDS,
    (typeof TEXT_FIELDS)[keyof typeof TEXT_FIELDS],
  ][]) {
    const value = input[name];
    if (value !== undefined) data[name] = value === null ? null : checkText(value, spec, at(name), errors);
  }
  if (input.picture !== undefined)
    data.picture = input.picture === null ? null : checkPicture(input.picture, at('picture'), errors);
  if (input.birthdate !== undefined) {
    data.birthdate = input.birthdate === null ? null : checkBirthdate(input.birthdate, today, at('birthdate'), errors);
  }
  if (input.locale !== undefined) {
    if (input.locale !== null && input.locale.length > USER_LIMITS.locale) {
      errors.push(userError('TOO_LONG', `The locale must be at most ${USER_LIMITS.locale} characters.`, at('locale')));
    }
    data.locale = input.locale;
  }
  if (input.timezone !== undefined) data.timezone = input.timezone;
  if (input.country !== undefined) data.country = input.country === null ? null : input.country.toUpperCase();
  for (const name of ['emailVerified', 'phoneVerified'] as const) {
    const value = input[name];
    if (value === null) errors.push(userError('INVALID', `${name} must be true or false, not null.`, at(name)));
    else if (value !== undefined) data[name] = value;
  }
  if (input.customAttributes !== undefined) {
    if (input.customAttributes !== null)
      checkCustomAttributes(input.customAttributes, env, at('customAttributes'), errors);
    data.customAttributes = input.customAttributes;
  }
  if (input.metadata !== undefined) {
    if (input.metadata !== null) checkMetadata(input.metadata, at('metadata'), errors);
    data.metadata = input.metadata;
  }
  return data;
}

/**
 * Applies a JSON patch key by key: a key set to null is removed, other keys are set; null as
 * the whole patch clears everything.
 */
export function mergeJson(
  current: Record<string, unknown>,
  patch: Record<string, unknown> | null,
): Record<string, unknown> {
  if (patch === null) return {};
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** Checks `metadata` after a merge: the stored document must stay within the size limit. */
export function checkMergedMetadata(merged: Record<string, unknown>, field: string[]): UserErrorShape | null {
  const errors: UserErrorShape[] = [];
  checkMetadata(merged, field, errors);
  return errors[0] ?? null;
}
