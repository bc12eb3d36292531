import type { UserStatus } from '../../generated/prisma/client.ts';
import { serviceOf } from '../../context.ts';
import { PASSWORD_POLICY } from './users.passwords.ts';
import { builder, requireScopes, requireScopesWith } from '../../graphql/builder.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { payloadType } from '../payloads.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import { UserFilterInput, userFilterOf } from './users.inputs.schema.ts';
import { UserStatusEnum } from './users.enums.schema.ts';
import { UpdateUserPayload, UserIdInput } from './users.payloads.schema.ts';
import { UserRef } from './users.schema.ts';
import {
  createUser,
  createUsers,
  type CreateUserInput as CreateUserData,
  type CreateUsersResult,
} from './users.create.ts';
import { deleteUser, deleteUsers, type DeleteUserResult, type DeleteUsersResult } from './users.erasure.ts';
import {
  expireUserPassword,
  restoreUser,
  setUserPassword,
  setUserStatus,
  STATUS_TRANSITIONS,
  suspendUser,
  unsuspendUser,
} from './users.lifecycle.ts';
import { replaceUser, updateUser } from './users.update.ts';
import { USER_LIMITS } from './users.validation.ts';

const L = USER_LIMITS;

const PasswordHashAlgorithmEnum = builder.enumType('PasswordHashAlgorithm', {
  description: 'The algorithm of a password hash imported from another system.',
  values: {
    ARGON2ID: { description: 'argon2id, as a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.' },
    BCRYPT: {
      description: 'bcrypt, as `$2a$`, `$2b$` or `$2y$` hashes; upgraded to argon2id at the next successful sign-in.',
    },
  } as const,
});

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/** Descriptions of the profile fields, shared by CreateUserInput and UserPatch. */
const PROFILE_DESCRIPTIONS = {
  email: `Email address (at most ${L.email} characters), stored lowercased; unique per realm among users not deleted, ignoring case.`,
  phone:
    'Phone number in international E.164 form with its country code, e.g. `+14155550123` (spaces, dashes and parentheses are removed).',
  username: `Login name: ${L.usernameMin} to ${L.usernameMax} lowercase letters, digits, \`.\`, \`-\` and \`_\`; unique per realm among users not deleted.`,
  uniqueId: `External identifier (employee number, legacy id), at most ${L.uniqueId} characters; unique per realm, deleted users included.`,
  name: `Full name, at most ${L.name} characters.`,
  givenName: `Given (first) name, at most ${L.name} characters.`,
  familyName: `Family (last) name, at most ${L.name} characters.`,
  nickname: `Casual name, at most ${L.name} characters.`,
  picture: `URL of the profile picture: http or https, at most ${L.pictureUrl} characters.`,
  bio: `Short self-description, at most ${L.bio} characters (line breaks allowed).`,
  gender: `Gender, as the user states it, at most ${L.gender} characters.`,
  birthdate: 'Date of birth: not in the future, not before 1900.',
  locale: `Preferred language (BCP 47 tag, at most ${L.locale} characters).`,
  timezone: 'IANA time zone, e.g. `Europe/Paris`.',
  country: 'ISO 3166-1 alpha-2 country code.',
  region: `Region, state or province, at most ${L.place} characters.`,
  city: `City, at most ${L.place} characters.`,
  emailVerified: 'Whether the email address is verified.',
  phoneVerified: 'Whether the phone number is verified.',
  customAttributes: `Values of the realm’s custom attributes by key; each key must be defined and each value of its type (NUMBER: number, BOOLEAN: true/false, DATE: \`YYYY-MM-DD\`, ENUM: one of the options, STRING: at most ${L.attributeString} characters).`,
  metadata: `Free-form data for integrations, at most ${L.metadataBytes} bytes as JSON.`,
} as const;

const passwordDescription = `Initial password, checked against the password policy (at least the realm’s minimum length, never fewer than ${PASSWORD_POLICY.minLength}; at most ${PASSWORD_POLICY.maxLength} characters; not a common password; not containing the email, username or names) and stored only as an argon2id hash. Without a password (or an imported hash), the user must set one before signing in.`;

export const CreateUserInput = builder.inputType('CreateUserInput', {
  description:
    'A new user (or, in `replaceUser`, the whole new profile). Text is trimmed; empty text counts as not given. Needs an email address or a phone number.',
  fields: (t) => ({
    email: t.field({ type: 'EmailAddress', description: PROFILE_DESCRIPTIONS.email }),
    phone: t.field({ type: 'PhoneNumber', description: PROFILE_DESCRIPTIONS.phone }),
    username: t.string({ description: PROFILE_DESCRIPTIONS.username }),
    uniqueId: t.string({ description: PROFILE_DESCRIPTIONS.uniqueId }),
    password: t.string({ description: passwordDescription }),
    name: t.string({ description: PROFILE_DESCRIPTIONS.name }),
    givenName: t.string({ description: PROFILE_DESCRIPTIONS.givenName }),
    familyName: t.string({ description: PROFILE_DESCRIPTIONS.familyName }),
    nickname: t.string({ description: PROFILE_DESCRIPTIONS.nickname }),
    picture: t.field({ type: 'URL', description: PROFILE_DESCRIPTIONS.picture }),
    locale: t.field({ type: 'Locale', description: PROFILE_DESCRIPTIONS.locale }),
    timezone: t.field({ type: 'TimeZone', description: PROFILE_DESCRIPTIONS.timezone }),
    country: t.field({ type: 'CountryCode', description: PROFILE_DESCRIPTIONS.country }),
    region: t.string({ description: PROFILE_DESCRIPTIONS.region }),
    city: t.string({ description: PROFILE_DESCRIPTIONS.city }),
    birthdate: t.field({ type: 'LocalDate', description: PROFILE_DESCRIPTIONS.birthdate }),
    gender: t.string({ description: PROFILE_DESCRIPTIONS.gender }),
    bio: t.string({ description: PROFILE_DESCRIPTIONS.bio }),
    status: t.field({
      type: UserStatusEnum,
      defaultValue: 'ACTIVE',
      description:
        'Initial status (default ACTIVE): INVITED, PENDING_VERIFICATION, ACTIVE or INACTIVE. In `replaceUser` it must follow the status lifecycle of `setUserStatus`, and SUSPENDED only keeps a suspended user suspended.',
    }),
    emailVerified: t.boolean({
      defaultValue: false,
      description: `${PROFILE_DESCRIPTIONS.emailVerified} Default false.`,
    }),
    phoneVerified: t.boolean({
      defaultValue: false,
      description: `${PROFILE_DESCRIPTIONS.phoneVerified} Default false.`,
    }),
    roleIds: t.globalIDList({
      for: RoleRef,
      description: `Global ids of roles to assign (at most ${L.rolesPerUser}): realm-wide roles realm-wide, tenant-defined roles inside their tenant (which must be among the user’s tenants). Giving it (even empty) needs the \`users:roles\` scope too, and your token must hold every management scope the roles carry. In \`replaceUser\`: replaces all the user’s role assignments; omitted keeps them.`,
    }),
    tenantIds: t.globalIDList({
      for: TenantRef,
      description: `Global ids of tenants the user joins (at most ${L.tenantsPerUser}; at most one in an ISOLATED_POOL realm). Giving it (even empty) needs the \`tenants:write\` scope too. In \`replaceUser\`: replaces the memberships (removing one removes the roles held inside it); omitted keeps them.`,
    }),
    customAttributes: t.field({
      type: 'JSONObject',
      description: `${PROFILE_DESCRIPTIONS.customAttributes} Keys set to null are ignored.`,
    }),
    metadata: t.field({
      type: 'JSONObject',
      description: `${PROFILE_DESCRIPTIONS.metadata} Keys set to null are ignored.`,
    }),
    passwordHash: t.string({
      description:
        'A password hash imported from another system, stored as it is (instead of `password`); needs `passwordHashAlgorithm`. Never readable afterwards. In `replaceUser`, the password is replaced only when `password` or `passwordHash` is given.',
    }),
    passwordHashAlgorithm: t.field({
      type: PasswordHashAlgorithmEnum,
      description: 'The algorithm of `passwordHash`.',
    }),
  }),
});

type CreateUserShape = typeof CreateUserInput.$inferInput;

export const UserPatch = builder.inputType('UserPatch', {
  description:
    'Changes to a user’s profile. Every field is optional: an omitted field is kept, an explicit null clears it (email and phone cannot both be cleared). JSON fields are merged key by key at the top level: a key set to null is removed.',
  fields: (t) => ({
    email: t.field({
      type: 'EmailAddress',
      description: `${PROFILE_DESCRIPTIONS.email} A new address resets emailVerified unless the patch sets it.`,
    }),
    phone: t.field({
      type: 'PhoneNumber',
      description: `${PROFILE_DESCRIPTIONS.phone} A new number resets phoneVerified unless the patch sets it.`,
    }),
    username: t.string({ description: PROFILE_DESCRIPTIONS.username }),
    name: t.string({ description: PROFILE_DESCRIPTIONS.name }),
    givenName: t.string({ description: PROFILE_DESCRIPTIONS.givenName }),
    familyName: t.string({ description: PROFILE_DESCRIPTIONS.familyName }),
    nickname: t.string({ description: PROFILE_DESCRIPTIONS.nickname }),
    picture: t.field({ type: 'URL', description: PROFILE_DESCRIPTIONS.picture }),
    bio: t.string({ description: PROFILE_DESCRIPTIONS.bio }),
    gender: t.string({ description: PROFILE_DESCRIPTIONS.gender }),
    birthdate: t.field({ type: 'LocalDate', description: PROFILE_DESCRIPTIONS.birthdate }),
    locale: t.field({ type: 'Locale', description: PROFILE_DESCRIPTIONS.locale }),
    timezone: t.field({ type: 'TimeZone', description: PROFILE_DESCRIPTIONS.timezone }),
    country: t.field({ type: 'CountryCode', description: PROFILE_DESCRIPTIONS.country }),
    region: t.string({ description: PROFILE_DESCRIPTIONS.region }),
    city: t.string({ description: PROFILE_DESCRIPTIONS.city }),
    emailVerified: t.boolean({ description: `${PROFILE_DESCRIPTIONS.emailVerified} Cannot be null.` }),
    phoneVerified: t.boolean({ description: `${PROFILE_DESCRIPTIONS.phoneVerified} Cannot be null.` }),
    uniqueId: t.string({ description: PROFILE_DESCRIPTIONS.uniqueId }),
    customAttributes: t.field({
      type: 'JSONObject',
      description: `${PROFILE_DESCRIPTIONS.customAttributes} Merged key by key; a key set to null is removed.`,
    }),
    metadata: t.field({
      type: 'JSONObject',
      description: `${PROFILE_DESCRIPTIONS.metadata} Merged key by key; a key set to null is removed.`,
    }),
  }),
});

const expectedVersionDescription =
  'The `version` the change is based on: when the user changed since, nothing changes and VERSION_CONFLICT is returned. Omit to apply unconditionally.';

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  description: 'Input of `updateUser`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    expectedVersion: t.int({ description: expectedVersionDescription }),
    patch: t.field({ type: UserPatch, required: true, description: 'The fields to change.' }),
  }),
});

const ReplaceUserInput = builder.inputType('ReplaceUserInput', {
  description: 'Input of `replaceUser`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    expectedVersion: t.int({ description: expectedVersionDescription }),
    user: t.field({
      type: CreateUserInput,
      required: true,
      description: 'The whole new profile; fields not given are cleared.',
    }),
  }),
});

const CreateUsersInput = builder.inputType('CreateUsersInput', {
  description: `Input of \`createUsers\`: at most ${L.batchCreate} users.`,
  fields: (t) => ({
    users: t.field({
      type: [CreateUserInput],
      required: true,
      description: `The users to create, at most ${L.batchCreate}.`,
      extensions: { maxItems: L.batchCreate },
    }),
    atomic: t.boolean({
      defaultValue: false,
      description:
        'All-or-nothing: when any user fails, none is created and every failing one is reported. Default false: each user is created or refused on its own.',
    }),
  }),
});

const transitionTable = (Object.entries(STATUS_TRANSITIONS) as [UserStatus, readonly UserStatus[]][])
  .filter(([, to]) => to.length)
  .map(([from, to]) => `${from} → ${to.join(', ')}`)
  .join('; ');

const SetUserStatusInput = builder.inputType('SetUserStatusInput', {
  description: 'Input of `setUserStatus`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    status: t.field({ type: UserStatusEnum, required: true, description: 'The new status.' }),
    reason: t.string({
      description: `Why (at most ${L.reason} characters); recorded in the audit trail, and as the suspension reason for SUSPENDED.`,
    }),
  }),
});

const SuspendUserInput = builder.inputType('SuspendUserInput', {
  description: 'Input of `suspendUser`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    reason: t.string({
      description: `Why the user is suspended (at most ${L.reason} characters); shown as \`suspendedReason\`.`,
    }),
    revokeSessions: t.boolean({
      defaultValue: true,
      description:
        'Also revoke all the user’s active sessions and refresh tokens, in the same transaction (default true).',
    }),
  }),
});

const SetUserPasswordInput = builder.inputType('SetUserPasswordInput', {
  description: 'Input of `setUserPassword`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    password: t.string({
      required: true,
      description: `The new password: at least the realm’s minimum length (never fewer than ${PASSWORD_POLICY.minLength}), at most ${PASSWORD_POLICY.maxLength} characters, not a common password, not containing the user’s email, username or names. Never stored or logged in clear.`,
    }),
    temporary: t.boolean({
      defaultValue: false,
      description: 'The user must change it at the next sign-in (sets `passwordExpired`). Default false.',
    }),
    revokeSessions: t.boolean({
      defaultValue: true,
      description: 'Also revoke the user’s active sessions and refresh tokens (default true).',
    }),
  }),
});

const DeleteUserInput = builder.inputType('DeleteUserInput', {
  description: 'Input of `deleteUser`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    hard: t.boolean({
      defaultValue: false,
      description:
        'Erase the user and everything of theirs for good, and replace their identifiers in audit events with a tombstone (the events stay). Default false: soft delete, restorable.',
    }),
  }),
});

const DeleteUsersInput = builder.inputType('DeleteUsersInput', {
  description: `Input of \`deleteUsers\`: \`ids\`, \`filter\`, or both (users in \`ids\` that match \`filter\`). At most ${L.batchDelete} users per call.`,
  fields: (t) => ({
    ids: t.globalIDList({
      for: UserRef,
      description: `Global ids of the users (at most ${L.batchDelete}); an unknown id refuses the whole call.`,
      extensions: { maxItems: L.batchDelete },
    }),
    filter: t.field({
      type: UserFilterInput,
      description: 'Delete the users matching this filter (deleted users only with `hard` and `includeDeleted`).',
    }),
    hard: t.boolean({
      defaultValue: false,
      description: 'Erase instead of soft-deleting (see `deleteUser`). Default false.',
    }),
    dryRun: t.boolean({
      defaultValue: false,
      description: 'Only report the users that would be deleted; nothing changes. Default false.',
    }),
  }),
});

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

const CreateUserPayload = payloadType(
  'CreateUserPayload',
  'user',
  UserRef,
  'Result of creating one user.',
  'The new user; null when it was not created.',
);

const CreateUsersPayload = builder.objectRef<CreateUsersResult>('CreateUsersPayload').implement({
  description: 'Result of `createUsers`.',
  fields: (t) => ({
    results: t.field({
      type: [CreateUserPayload],
      description:
        'One result per input user, in input order; their `userErrors` fields start with `["input", "users", "<index>"]`.',
      resolve: (payload) => payload.results,
    }),
    createdCount: t.exposeInt('createdCount', { description: 'How many users were created.' }),
    userErrors: t.field({
      type: [UserErrorRef],
      description:
        'Errors about the batch as a whole (too many users; an atomic batch refused). Empty when the batch was processed.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

const DeleteUserPayload = builder.objectRef<DeleteUserResult>('DeleteUserPayload').implement({
  description: 'Result of `deleteUser`.',
  fields: (t) => ({
    deletedUserId: t.field({
      type: 'ID',
      nullable: true,
      description: 'The global id of the deleted user; null when nothing was deleted.',
      resolve: (payload) => (payload.deletedUserId ? encodeGlobalId('User', payload.deletedUserId) : null),
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the user was not deleted; empty on success.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

const DeleteUsersPayload = builder.objectRef<DeleteUsersResult>('DeleteUsersPayload').implement({
  description: 'Result of `deleteUsers`.',
  fields: (t) => ({
    deletedCount: t.exposeInt('deletedCount', {
      description: 'How many users were deleted (with `dryRun`: would be).',
    }),
    deletedUserIds: t.field({
      type: ['ID'],
      description: 'Global ids of the users deleted (with `dryRun`: that would be), in id order.',
      resolve: (payload) => payload.deletedUserIds.map((id) => encodeGlobalId('User', id)),
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why nothing was deleted; empty on success.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

// ---------------------------------------------------------------------------------------------
// Resolvers
// ---------------------------------------------------------------------------------------------

export interface AccessShape {
  roleIds?: readonly unknown[] | null;
  tenantIds?: readonly unknown[] | null;
}

/**
 * Giving `roleIds` or `tenantIds` needs the scopes of the mutations that change roles and
 * memberships alone — whatever the list: an empty one removes them all in `replaceUser`.
 */
export function accessScopes(inputs: readonly AccessShape[]): string[] {
  return [
    ...(inputs.some((input) => input.roleIds != null) ? ['users:roles'] : []),
    ...(inputs.some((input) => input.tenantIds != null) ? ['tenants:write'] : []),
  ];
}

export function createData(input: CreateUserShape): CreateUserData {
  const { roleIds, tenantIds, ...rest } = input;
  return {
    ...rest,
    roleIds: roleIds == null ? roleIds : roleIds.map(({ id }) => id),
    tenantIds: tenantIds == null ? tenantIds : tenantIds.map(({ id }) => id),
  };
}

builder.mutationField('createUser', (t) =>
  t.field({
    type: CreateUserPayload,
    description:
      'Creates a user with an email address or a phone number (or both), an optional password or imported hash, roles and tenants — all in one transaction, audited as `user.created`. On any error nothing is created.',
    ...requireScopesWith([['users:write']], ({ input }: { input: AccessShape }) => accessScopes([input])),
    args: { input: t.arg({ type: CreateUserInput, required: true, description: 'The new user.' }) },
    resolve: (_root, { input }, ctx) => createUser(serviceOf(ctx), createData(input)),
  }),
);

builder.mutationField('createUsers', (t) =>
  t.field({
    type: CreateUsersPayload,
    description: `Creates up to ${L.batchCreate} users, each validated like \`createUser\`, with one result per user. With \`atomic: true\` all or none are created.`,
    ...requireScopesWith([['users:write']], ({ input }: { input: { users: readonly AccessShape[] } }) =>
      accessScopes(input.users),
    ),
    args: {
      input: t.arg({ type: CreateUsersInput, required: true, description: 'The users and how to create them.' }),
    },
    resolve: (_root, { input }, ctx) =>
      createUsers(serviceOf(ctx), { users: input.users.map(createData), atomic: input.atomic }),
  }),
);

builder.mutationField('updateUser', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Changes some profile fields of a user: omitted fields are kept, null clears, JSON fields merge key by key. Audited as `user.updated`, or `user.credentials_changed` when the email, phone or username changes.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UpdateUserInput, required: true, description: 'The user and the changes.' }) },
    resolve: (_root, { input }, ctx) =>
      updateUser(serviceOf(ctx), { id: input.id.id, expectedVersion: input.expectedVersion, patch: input.patch }),
  }),
);

builder.mutationField('replaceUser', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Overwrites a user’s whole profile: fields not given are cleared. Validated like `createUser`; roles, tenants and the password change only when given. Audited as `user.replaced` (or `user.credentials_changed`).',
    ...requireScopesWith([['users:write']], ({ input }: { input: { user: AccessShape } }) =>
      accessScopes([input.user]),
    ),
    args: { input: t.arg({ type: ReplaceUserInput, required: true, description: 'The user and its new profile.' }) },
    resolve: (_root, { input }, ctx) =>
      replaceUser(serviceOf(ctx), {
        id: input.id.id,
        expectedVersion: input.expectedVersion,
        user: createData(input.user),
      }),
  }),
);

builder.mutationField('setUserStatus', (t) =>
  t.field({
    type: UpdateUserPayload,
    description: `Moves a user along the status lifecycle: ${transitionTable}. Other moves get INVALID_STATE: DELETED only through \`deleteUser\` (and back with \`restoreUser\`), INVITED only while still invited. SUSPENDED suspends like \`suspendUser\` (sessions revoked); leaving SUSPENDED lifts the suspension. The same status changes nothing.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: SetUserStatusInput, required: true, description: 'The user and its new status.' }) },
    resolve: (_root, { input }, ctx) =>
      setUserStatus(serviceOf(ctx), { id: input.id.id, status: input.status, reason: input.reason }),
  }),
);

builder.mutationField('suspendUser', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Suspends a user: it cannot sign in, and by default all its sessions and refresh tokens are revoked in the same transaction (see `User.sessions(activeOnly: false)`). Audited as `user.suspended`. Already suspended or deleted: INVALID_STATE.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: SuspendUserInput, required: true, description: 'The user and why.' }) },
    resolve: (_root, { input }, ctx) =>
      suspendUser(serviceOf(ctx), { id: input.id.id, reason: input.reason, revokeSessions: input.revokeSessions }),
  }),
);

builder.mutationField('unsuspendUser', (t) =>
  t.field({
    type: UpdateUserPayload,
    description: 'Lifts a suspension (SUSPENDED → ACTIVE). A user that is not suspended gets INVALID_STATE.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => unsuspendUser(serviceOf(ctx), { id: input.id.id }),
  }),
);

builder.mutationField('setUserPassword', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Sets a user’s password (checked against the password policy, stored as an argon2id hash); `temporary` makes the user change it at the next sign-in. Revokes the user’s sessions by default. Audited as `user.password_set`, without the password.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: SetUserPasswordInput, required: true, description: 'The user and the password.' }) },
    resolve: (_root, { input }, ctx) =>
      setUserPassword(serviceOf(ctx), {
        id: input.id.id,
        password: input.password,
        temporary: input.temporary,
        revokeSessions: input.revokeSessions,
      }),
  }),
);

builder.mutationField('expireUserPassword', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Makes the user change its password at the next sign-in (`passwordExpired`). A user without a password gets INVALID_STATE.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => expireUserPassword(serviceOf(ctx), { id: input.id.id }),
  }),
);

builder.mutationField('deleteUser', (t) =>
  t.field({
    type: DeleteUserPayload,
    description:
      'Deletes a user. Soft by default: status DELETED, `deletedAt` set, sessions revoked, hidden from lists unless `includeDeleted`, email and username free for reuse, restorable with `restoreUser`. `hard: true` erases the user with its identities, factors, sessions, role assignments, memberships and notes, and replaces its identifiers in audit events with a tombstone.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: DeleteUserInput, required: true, description: 'The user and how to delete it.' }) },
    resolve: (_root, { input }, ctx) => deleteUser(serviceOf(ctx), { id: input.id.id, hard: input.hard }),
  }),
);

builder.mutationField('deleteUsers', (t) =>
  t.field({
    type: DeleteUsersPayload,
    description: `Deletes users by ids, by filter, or both, like \`deleteUser\` (soft by default), in one transaction with one audit event per user. At most ${L.batchDelete} users per call: past that, LIMIT_EXCEEDED and nothing is deleted. \`dryRun\` reports what would be deleted.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: DeleteUsersInput, required: true, description: 'Which users and how.' }) },
    resolve: (_root, { input }, ctx) =>
      deleteUsers(serviceOf(ctx), {
        ids: input.ids?.map(({ id }) => id) ?? null,
        filter: userFilterOf(input.filter),
        hard: input.hard,
        dryRun: input.dryRun,
      }),
  }),
);

builder.mutationField('restoreUser', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Restores a soft-deleted user: ACTIVE again (SUSPENDED if it was suspended when deleted). TAKEN when its email or username now belongs to another user; INVALID_STATE when it is not deleted.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => restoreUser(serviceOf(ctx), { id: input.id.id }),
  }),
);
