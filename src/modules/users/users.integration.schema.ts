import { serviceOf } from '../../context.ts';
import { builder, requireScopes, requireScopesWith } from '../../graphql/builder.ts';
import { badUserInput } from '../../graphql/errors.ts';
import { ApplicationRef } from '../applications/applications.schema.ts';
import { ResourceScopeRef } from '../resources/resources.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import { accessScopes, createData, CreateUserInput, UserPatch, type AccessShape } from './users.mutations.schema.ts';
import { UpdateUserPayload } from './users.payloads.schema.ts';
import {
  assignUserApplications,
  grantUserPermissions,
  removeUserApplication,
  revokeUserPermissions,
  USER_LINK_LIMITS,
} from './users.permissions.ts';
import { UserRef } from './users.schema.ts';
import { upsertUser, type UpsertUserResult } from './users.upsert.ts';
import { checkPhone } from './users.validation.ts';

// ---------------------------------------------------------------------------------------------
// Exact look-ups
// ---------------------------------------------------------------------------------------------

builder.queryField('userByUsername', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description:
      'The user with this username (ignoring case) in the caller’s realm; null when there is none. Deleted users are not found.',
    ...requireScopes(['users:read']),
    args: { username: t.arg.string({ required: true, description: 'The username.' }) },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.user.findFirst({ ...query, where: { username: args.username.trim(), deletedAt: null } }),
  }),
);

builder.queryField('userByPhone', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description:
      'The user with this phone number in the caller’s realm; null when there is none. The number is compacted as `createUser` stores it (spaces, dashes, dots and parentheses removed), then compared exactly. Deleted users are not found. Phone numbers need not be unique: when several users have this one, the look-up is refused with BAD_USER_INPUT (find them with `users(filter: { search })`).',
    ...requireScopes(['users:read']),
    args: {
      phone: t.arg({ type: 'PhoneNumber', required: true, description: 'The phone number, in E.164 form.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      // Compacted as stored; a number that is not E.164 then matches nobody.
      const phone = checkPhone(args.phone, ['phone'], []);
      const users = await serviceOf(ctx).db.user.findMany({
        ...query,
        where: { phone, deletedAt: null },
        orderBy: { id: 'asc' },
        take: 2,
      });
      if (users.length > 1) throw badUserInput('Several users of the realm have this phone number.', 'phone');
      return users[0] ?? null;
    },
  }),
);

// ---------------------------------------------------------------------------------------------
// upsertUser
// ---------------------------------------------------------------------------------------------

const UpsertUserOutcomeEnum = builder.enumType('UpsertUserOutcome', {
  description: 'What `upsertUser` did.',
  values: {
    CREATED: { description: 'No live user held the identifier: a user was created from `create`.' },
    UPDATED: { description: 'The user holding the identifier was changed by `update`.' },
    UNCHANGED: {
      description:
        'The user holding the identifier already had every value of `update` (or `update` was empty): nothing changed and nothing was audited.',
    },
  } as const,
});

const UserMatchInput = builder.inputType('UserMatchInput', {
  description:
    'The identifier `upsertUser` finds the user by: exactly one field. Values are normalized as `createUser` stores them.',
  fields: (t) => ({
    email: t.field({
      type: 'EmailAddress',
      description: 'Match the live user with this email address, ignoring case.',
    }),
    phone: t.field({
      type: 'PhoneNumber',
      description:
        'Match the live user with this phone number (compacted to E.164). Phone numbers need not be unique: when several users have it, the call is refused (INVALID).',
    }),
    username: t.string({ description: 'Match the live user with this username.' }),
    uniqueId: t.string({
      description:
        'Match the user with this unique id. Unique ids stay taken by deleted users: when the holder is deleted, the call is refused (INVALID_STATE) until it is restored.',
    }),
  }),
});

const UpsertUserInput = builder.inputType('UpsertUserInput', {
  description: 'Input of `upsertUser`.',
  fields: (t) => ({
    match: t.field({ type: UserMatchInput, required: true, description: 'The identifier to find the user by.' }),
    create: t.field({
      type: CreateUserInput,
      required: true,
      description:
        'The user to create when none matches, validated like `createUser` on every call. The matched identifier is filled in when left out; a different value is refused (INVALID).',
    }),
    update: t.field({
      type: UserPatch,
      description:
        'Changes to apply when a user matches, validated like `updateUser` on every call: omitted fields are kept. Omitted or empty: a matching user is returned unchanged.',
    }),
  }),
});

const UpsertUserPayload = builder.objectRef<UpsertUserResult>('UpsertUserPayload').implement({
  description: 'Result of `upsertUser`.',
  fields: (t) => ({
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'The user created, updated or found unchanged; null when the call was refused.',
      resolve: (payload) => payload.user,
    }),
    outcome: t.field({
      type: UpsertUserOutcomeEnum,
      nullable: true,
      description: 'What happened; null when the call was refused.',
      resolve: (payload) => payload.outcome,
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why nothing was created or changed; empty on success.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

builder.mutationField('upsertUser', (t) =>
  t.field({
    type: UpsertUserPayload,
    description:
      'Idempotent get-or-create for integrations: finds the live user by one identifier (`match`) and applies `update`, or creates one from `create` when there is none. Both inputs are validated on every call, so the answer does not depend on whether the user exists. Calls with the same identifier run one after the other (a lock on the realm and identifier, held by the transaction), so concurrent calls create one user and the others update or find it. Audited like `createUser` or `updateUser`; UNCHANGED writes nothing. `create.roleIds` and `create.tenantIds` need `users:roles` and `tenants:write` too, as in `createUser`.',
    ...requireScopesWith([['users:write']], ({ input }: { input: { create: AccessShape } }) =>
      accessScopes([input.create]),
    ),
    args: { input: t.arg({ type: UpsertUserInput, required: true, description: 'The identifier and the data.' }) },
    resolve: (_root, { input }, ctx) =>
      upsertUser(serviceOf(ctx), { match: input.match, create: createData(input.create), update: input.update ?? {} }),
  }),
);

// ---------------------------------------------------------------------------------------------
// Direct permissions
// ---------------------------------------------------------------------------------------------

builder.prismaObjectField('User', 'directPermissions', (t) =>
  t.field({
    type: [ResourceScopeRef],
    description:
      'The scopes granted to the user directly (`grantUserPermissions`), without a role, by resource indicator and name. `permissions` lists them with those of the user’s roles.',
    select: (_args, _ctx, nestedSelection) => ({
      permissions: {
        select: { scope: nestedSelection(true) },
        orderBy: [{ scope: { resource: { indicator: 'asc' } } }, { scope: { name: 'asc' } }],
      },
    }),
    resolve: (user) => user.permissions.map(({ scope }) => scope),
  }),
);

const UserPermissionsInput = builder.inputType('UserPermissionsInput', {
  description: 'Input of `grantUserPermissions` and `revokeUserPermissions`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    scopeIds: t.globalIDList({
      for: ResourceScopeRef,
      required: true,
      description: `Global ids of scopes of any API resource of the realm (at most ${USER_LINK_LIMITS.scopesPerRequest}).`,
    }),
  }),
});

const permissionsArgs = (input: typeof UserPermissionsInput.$inferInput) => ({
  userId: input.userId.id,
  scopeIds: input.scopeIds.map(({ id }) => id),
});

builder.mutationField('grantUserPermissions', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Grants scopes to a user directly, without a role: they count wherever the user’s scopes do (access tokens issued to the user for the scope’s resource, `User.permissions`). Scopes already granted directly stay: granting only those changes nothing. Refused with FORBIDDEN_GRANT when the new scopes include management scopes your token lacks; NOT_FOUND for an unknown scope id, and nothing is granted. One `user.permissions_granted` audit event lists the scopes added.',
    ...requireScopes(['users:roles']),
    args: {
      input: t.arg({ type: UserPermissionsInput, required: true, description: 'The user and the scopes.' }),
    },
    resolve: (_root, { input }, ctx) => grantUserPermissions(serviceOf(ctx), permissionsArgs(input)),
  }),
);

builder.mutationField('revokeUserPermissions', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Takes direct grants of scopes away from a user. Scopes not granted directly are skipped (revoking only those changes nothing); scopes the user holds through roles stay. NOT_FOUND for an unknown scope id, and nothing is revoked. One `user.permissions_revoked` audit event lists the scopes removed.',
    ...requireScopes(['users:roles']),
    args: {
      input: t.arg({ type: UserPermissionsInput, required: true, description: 'The user and the scopes.' }),
    },
    resolve: (_root, { input }, ctx) => revokeUserPermissions(serviceOf(ctx), permissionsArgs(input)),
  }),
);

// ---------------------------------------------------------------------------------------------
// The user's applications
// ---------------------------------------------------------------------------------------------

const AssignUserApplicationsInput = builder.inputType('AssignUserApplicationsInput', {
  description: 'Input of `assignUserApplications`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    applicationIds: t.globalIDList({
      for: ApplicationRef,
      required: true,
      description: `Global ids of applications people sign in to (not M2M), at most ${USER_LINK_LIMITS.applicationsPerRequest}.`,
    }),
  }),
});

const RemoveUserApplicationInput = builder.inputType('RemoveUserApplicationInput', {
  description: 'Input of `removeUserApplication`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    applicationId: t.globalID({
      for: ApplicationRef,
      required: true,
      description: 'The global id of the application to remove from the user’s.',
    }),
  }),
});

const applicationsSemantics =
  'The user’s applications (`User.applications`, `UserFilter.applicationIds`) are a record: a first sign-in to an application adds it by itself, and it neither allows nor prevents signing in to any application.';

builder.mutationField('assignUserApplications', (t) =>
  t.field({
    type: UpdateUserPayload,
    description: `Records applications as the user’s, e.g. for accounts migrated from another system. ${applicationsSemantics} Already recorded ones stay as they are (their first and last sign-in times too). NOT_FOUND for an unknown application, INVALID for an M2M one, and nothing is recorded. Audited as \`user.applications_assigned\`.`,
    ...requireScopes(['users:write']),
    args: {
      input: t.arg({
        type: AssignUserApplicationsInput,
        required: true,
        description: 'The user and the applications.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      assignUserApplications(serviceOf(ctx), {
        userId: input.userId.id,
        applicationIds: input.applicationIds.map(({ id }) => id),
      }),
  }),
);

builder.mutationField('removeUserApplication', (t) =>
  t.field({
    type: UpdateUserPayload,
    description: `Removes an application from the user’s. ${applicationsSemantics} So the user’s next sign-in to it records it again, and the user’s sessions keep their own record (\`Session.applications\`). NOT_FOUND when the user does not have it. Audited as \`user.application_removed\`.`,
    ...requireScopes(['users:write']),
    args: {
      input: t.arg({
        type: RemoveUserApplicationInput,
        required: true,
        description: 'The user and the application.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      removeUserApplication(serviceOf(ctx), { userId: input.userId.id, applicationId: input.applicationId.id }),
  }),
);
