import { builder } from '../../graphql/builder.ts';
import type { DecodedGlobalId } from '../../graphql/ids.ts';
import { ApplicationRef } from '../applications/applications.schema.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import {
  checkUserFilterBounds,
  FILTER_LIMITS,
  type CustomAttributeCondition,
  type UserFilter,
  type UserFilterOf,
} from './users.filter.ts';
import type { UserOrder } from './users.list.ts';
import { UserStatusEnum } from './users.enums.schema.ts';
import { UserRef } from './users.schema.ts';

export const AuthMethodEnum = builder.enumType('AuthMethod', {
  description: 'A way a user can sign in.',
  values: {
    PASSWORD: { description: 'A password.' },
    EMAIL_CODE: { description: 'A one-time code sent to a verified email address.' },
    PHONE: { description: 'A one-time code sent to a verified phone number.' },
    OAUTH: { description: 'A linked social or enterprise identity provider.' },
    PASSKEY: { description: 'A WebAuthn passkey.' },
  } as const,
});

export const MfaFactorTypeEnum = builder.enumType('MfaFactorType', {
  description: 'The kind of a second authentication factor.',
  values: {
    TOTP: { description: 'A time-based one-time password app.' },
    WEBAUTHN: { description: 'A WebAuthn authenticator or passkey.' },
    RECOVERY_CODES: { description: 'Single-use recovery codes.' },
  } as const,
});

const OrderDirectionEnum = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { description: 'Smallest first; missing values last.' },
    DESC: { description: 'Largest first; missing values last.' },
  } as const,
});

const UserOrderFieldEnum = builder.enumType('UserOrderField', {
  description: 'A field users can be sorted by.',
  values: {
    NAME: { description: 'Full name.' },
    EMAIL: { description: 'Email address (ignoring case).' },
    CREATED_AT: { description: 'Creation time.' },
    LAST_LOGIN_AT: { description: 'Last successful sign-in.' },
    STATUS: { description: 'Lifecycle status, in the order the statuses are declared.' },
  } as const,
});

export const UserOrderInput = builder.inputRef<UserOrder>('UserOrder').implement({
  description: 'One sort key of a user listing.',
  fields: (t) => ({
    field: t.field({ type: UserOrderFieldEnum, required: true, description: 'The field to sort by.' }),
    direction: t.field({
      type: OrderDirectionEnum,
      required: true,
      defaultValue: 'ASC',
      description: 'The direction (default ascending).',
    }),
  }),
});

const CustomAttributeConditionInput = builder.inputRef<CustomAttributeCondition>('CustomAttributeCondition').implement({
  description:
    'A condition on one custom attribute; all given operators must hold. Values are typed by the attribute’s definition (NUMBER: numbers, DATE: `YYYY-MM-DD` strings, BOOLEAN: booleans, STRING/ENUM: strings).',
  fields: (t) => ({
    key: t.string({ required: true, description: 'The attribute key, as defined in the realm.' }),
    equals: t.field({ type: 'JSON', description: 'The attribute equals this value.' }),
    in: t.field({ type: ['JSON'], description: 'The attribute equals one of these values.' }),
    gt: t.field({ type: 'JSON', description: 'The attribute is greater than this (NUMBER, DATE, STRING).' }),
    gte: t.field({ type: 'JSON', description: 'The attribute is at least this (NUMBER, DATE, STRING).' }),
    lt: t.field({ type: 'JSON', description: 'The attribute is less than this (NUMBER, DATE, STRING).' }),
    lte: t.field({ type: 'JSON', description: 'The attribute is at most this (NUMBER, DATE, STRING).' }),
    exists: t.boolean({ description: 'The attribute is set (true) or not set (false).' }),
    contains: t.string({ description: 'The STRING attribute contains this text, ignoring case.' }),
  }),
});

/** A `UserFilter` argument as resolvers get it: its ids decoded. */
type UserFilterArg = UserFilterOf<DecodedGlobalId>;

/** The filter as services take it: the database ids of its decoded global ids. */
export function userFilterOf(arg: UserFilterArg | null | undefined): UserFilter | null {
  if (!arg) return null;
  const ids = (list: readonly DecodedGlobalId[] | null | undefined) => (list == null ? list : list.map(({ id }) => id));
  return {
    ...arg,
    ids: ids(arg.ids),
    roleIds: ids(arg.roleIds),
    tenantIds: ids(arg.tenantIds),
    applicationIds: ids(arg.applicationIds),
    AND: arg.AND == null ? arg.AND : arg.AND.map((inner) => userFilterOf(inner)!),
    OR: arg.OR == null ? arg.OR : arg.OR.map((inner) => userFilterOf(inner)!),
    NOT: arg.NOT == null ? arg.NOT : userFilterOf(arg.NOT),
  };
}

export const UserFilterInput = builder.inputRef<UserFilterArg>('UserFilter').implement({
  description: `Which users to select. All given conditions must hold; combine filters with \`AND\`, \`OR\` and \`NOT\` (nested at most ${FILTER_LIMITS.maxDepth} deep). Lists hold at most ${FILTER_LIMITS.maxListLength} values and match any of them. The whole filter, nested filters included, holds at most ${FILTER_LIMITS.maxConditions} conditions (each given field, nested filter and custom attribute condition counts one), ${FILTER_LIMITS.maxSearches} text searches (\`search\`, \`contains\`) and ${FILTER_LIMITS.maxListValues} list values; a larger one is refused with BAD_USER_INPUT before anything runs. Its conditions count in the request cost.`,
  extensions: {
    checkInput: (value: UserFilterOf<unknown>, path: string) => checkUserFilterBounds(value, path),
  },
  fields: (t) => ({
    search: t.string({
      description:
        'Case-insensitive text found within one of name, given name, family name, email, phone, username or unique id. Names also match with a typo: a trigram word similarity of at least 0.4 (terms of 3 or more characters), or two adjacent letters swapped (terms of 4 to 40 characters). An exact user id (raw or global) also matches. At most 200 characters.',
    }),
    ids: t.globalIDList({ for: UserRef, description: 'Only these users (global ids).' }),
    statuses: t.field({ type: [UserStatusEnum], description: 'Users in any of these statuses.' }),
    isSuspended: t.boolean({ description: 'Suspended (true) or not suspended (false) users.' }),
    emailVerified: t.boolean({ description: 'Users whose email is (or is not) verified.' }),
    phoneVerified: t.boolean({ description: 'Users whose phone is (or is not) verified.' }),
    authMethods: t.field({ type: [AuthMethodEnum], description: 'Users who can sign in with any of these methods.' }),
    hasOAuth: t.boolean({ description: 'Users with (or without) a linked identity provider.' }),
    oauthProviders: t.stringList({ description: 'Users with an identity from any of these providers, e.g. `google`.' }),
    hasPassword: t.boolean({ description: 'Users with (or without) a password.' }),
    hasMfa: t.boolean({ description: 'Users with (or without) any second factor.' }),
    mfaTypes: t.field({ type: [MfaFactorTypeEnum], description: 'Users with a second factor of any of these types.' }),
    roleIds: t.globalIDList({ for: RoleRef, description: 'Users holding any of these roles (global or in a tenant).' }),
    tenantIds: t.globalIDList({ for: TenantRef, description: 'Members of any of these tenants.' }),
    applicationIds: t.globalIDList({ for: ApplicationRef, description: 'Users of any of these applications.' }),
    profileComplete: t.boolean({ description: 'Users whose profile has (or lacks) every field the realm requires.' }),
    hasPicture: t.boolean({ description: 'Users with (or without) a picture.' }),
    hasBio: t.boolean({ description: 'Users with (or without) a bio.' }),
    hasLocation: t.boolean({ description: 'Users with (or without) any of country, region, city.' }),
    countries: t.field({ type: ['CountryCode'], description: 'Users in any of these countries.' }),
    regions: t.stringList({ description: 'Users in any of these regions (ignoring case).' }),
    cities: t.stringList({ description: 'Users in any of these cities (ignoring case).' }),
    timezones: t.field({ type: ['TimeZone'], description: 'Users in any of these time zones.' }),
    locales: t.field({ type: ['Locale'], description: 'Users with any of these locales.' }),
    genders: t.stringList({ description: 'Users with any of these genders (ignoring case).' }),
    ageMin: t.int({ description: 'Users at least this old, from their birthdate (0–150).' }),
    ageMax: t.int({ description: 'Users at most this old, from their birthdate (0–150, ≥ ageMin).' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Users created at or after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Users created before this instant.' }),
    createdInLastDays: t.int({ description: 'Users created in the last this many days (0–36500).' }),
    lastLoginAfter: t.field({ type: 'DateTime', description: 'Users whose last sign-in is at or after this instant.' }),
    lastLoginBefore: t.field({ type: 'DateTime', description: 'Users whose last sign-in is before this instant.' }),
    activeInLastDays: t.int({ description: 'Users active in the last this many days (0–36500).' }),
    inactiveForDays: t.int({
      description:
        'Users with no activity for at least this many days, counting from creation if never active (0–36500).',
    }),
    neverLoggedIn: t.boolean({ description: 'Users who never (or did) sign in.' }),
    isLocked: t.boolean({ description: 'Users currently locked out (or not) after failed sign-ins.' }),
    failedLoginAttemptsMin: t.int({ description: 'Users with at least this many consecutive failed sign-ins.' }),
    failedLoginAttemptsMax: t.int({ description: 'Users with at most this many consecutive failed sign-ins.' }),
    customAttributes: t.field({
      type: [CustomAttributeConditionInput],
      description: 'Conditions on custom attributes, all of which must hold.',
    }),
    includeDeleted: t.boolean({
      defaultValue: false,
      description: 'Include soft-deleted users (top level only; default false).',
    }),
    AND: t.field({ type: [UserFilterInput], description: 'Every one of these filters must hold.' }),
    OR: t.field({ type: [UserFilterInput], description: 'At least one of these filters must hold.' }),
    NOT: t.field({ type: UserFilterInput, description: 'This filter must not hold.' }),
  }),
});
