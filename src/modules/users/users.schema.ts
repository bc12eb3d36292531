import { builder, requireScopes } from '../../graphql/builder.ts';
import { resolveUserConnection } from './users.connection.schema.ts';
import { UserStatusEnum } from './users.enums.schema.ts';
import { UserFilterInput, userFilterOf, UserOrderInput } from './users.inputs.schema.ts';
import { serviceOf } from '../../context.ts';

export const UserRef = builder.prismaNode('User', {
  description: 'A person who can sign in to the realm’s applications.',
  id: { field: 'id', description: 'The global id of the user.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  // Select mode: a query reads only the columns its fields need (no password hash or wide JSON
  // for a list that does not ask for them).
  select: { id: true },
  ...requireScopes(['users:read']),
  fields: (t) => ({
    email: t.expose('email', {
      type: 'EmailAddress',
      nullable: true,
      description: 'Email address, unique per realm ignoring case.',
    }),
    emailVerified: t.exposeBoolean('emailVerified', { description: 'Whether the email address was verified.' }),
    phone: t.expose('phone', { type: 'PhoneNumber', nullable: true, description: 'Phone number in E.164 form.' }),
    phoneVerified: t.exposeBoolean('phoneVerified', { description: 'Whether the phone number was verified.' }),
    username: t.exposeString('username', { nullable: true, description: 'Login name, unique per realm.' }),
    uniqueId: t.exposeString('uniqueId', { nullable: true, description: 'External identifier, unique per realm.' }),
    name: t.exposeString('name', { nullable: true, description: 'Full name.' }),
    givenName: t.exposeString('givenName', { nullable: true, description: 'Given (first) name.' }),
    familyName: t.exposeString('familyName', { nullable: true, description: 'Family (last) name.' }),
    nickname: t.exposeString('nickname', { nullable: true, description: 'Casual name.' }),
    picture: t.expose('picture', { type: 'URL', nullable: true, description: 'URL of the profile picture.' }),
    bio: t.exposeString('bio', { nullable: true, description: 'Short self-description.' }),
    gender: t.exposeString('gender', { nullable: true, description: 'Gender, as the user states it.' }),
    birthdate: t.field({
      type: 'LocalDate',
      nullable: true,
      description: 'Date of birth.',
      select: { birthdate: true },
      resolve: (user) => user.birthdate?.toISOString().slice(0, 10) ?? null,
    }),
    locale: t.expose('locale', { type: 'Locale', nullable: true, description: 'Preferred language (BCP 47).' }),
    timezone: t.expose('timezone', { type: 'TimeZone', nullable: true, description: 'IANA time zone.' }),
    country: t.expose('country', {
      type: 'CountryCode',
      nullable: true,
      description: 'ISO 3166-1 alpha-2 country code.',
    }),
    region: t.exposeString('region', { nullable: true, description: 'Region, state or province.' }),
    city: t.exposeString('city', { nullable: true, description: 'City.' }),
    status: t.expose('status', { type: UserStatusEnum, description: 'Lifecycle state.' }),
    isSuspended: t.boolean({
      description: 'Whether the user is suspended.',
      select: { status: true },
      resolve: (user) => user.status === 'SUSPENDED',
    }),
    suspendedReason: t.exposeString('suspendedReason', { nullable: true, description: 'Why the user was suspended.' }),
    hasPassword: t.boolean({
      description: 'Whether the user has a password.',
      select: { passwordHash: true },
      resolve: (user) => user.passwordHash !== null,
    }),
    passwordExpired: t.exposeBoolean('passwordExpired', {
      description: 'Whether the password must be changed at the next sign-in.',
    }),
    isLocked: t.boolean({
      description: 'Whether sign-in is locked after failed attempts.',
      select: { lockedUntil: true },
      resolve: (user) => user.lockedUntil !== null && user.lockedUntil > new Date(),
    }),
    lockedUntil: t.expose('lockedUntil', {
      type: 'DateTime',
      nullable: true,
      description: 'End of the current lockout.',
    }),
    failedLoginAttempts: t.exposeInt('failedLoginAttempts', { description: 'Consecutive failed sign-in attempts.' }),
    customAttributes: t.field({
      type: 'JSONObject',
      description: 'Values of the realm’s custom attributes.',
      select: { customAttributes: true },
      resolve: (user) => user.customAttributes as object,
    }),
    metadata: t.field({
      type: 'JSONObject',
      description: 'Free-form data for integrations.',
      select: { metadata: true },
      resolve: (user) => user.metadata as object,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the user last changed.' }),
    lastLoginAt: t.expose('lastLoginAt', { type: 'DateTime', nullable: true, description: 'Last successful sign-in.' }),
    lastActiveAt: t.expose('lastActiveAt', { type: 'DateTime', nullable: true, description: 'Last activity.' }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the user was soft-deleted.',
    }),
    version: t.exposeInt('version', {
      description: 'Incremented by every change; pass as `expectedVersion` for optimistic concurrency.',
    }),
  }),
});

builder.queryField('user', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: 'A user of the caller’s realm by id; null when there is none.',
    ...requireScopes(['users:read']),
    args: { id: t.arg.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }) },
    resolve: (query, _root, args, ctx) => serviceOf(ctx).db.user.findUnique({ ...query, where: { id: args.id.id } }),
  }),
);

export const UserConnectionRef = builder.connectionObject(
  {
    type: UserRef,
    name: 'UserConnection',
    description: 'A page of users.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'The number of users matching, across all pages (exact).',
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'UserEdge', description: 'A user in a page of users.' },
);

builder.queryField('users', (t) =>
  t.field({
    type: UserConnectionRef,
    description:
      'Users of the caller’s realm matching `filter`, in `orderBy` order (default: newest first), with keyset cursors and no page-depth limit. Deleted users are excluded unless `filter.includeDeleted`.',
    ...requireScopes(['users:read']),
    args: {
      ...t.arg.connectionArgs(),
      filter: t.arg({ type: UserFilterInput, description: 'Which users to list; all when omitted.' }),
      orderBy: t.arg({
        type: [UserOrderInput],
        description: 'Sort keys, most significant first; ties are always broken by id.',
      }),
    },
    resolve: (_root, args, ctx, info) =>
      resolveUserConnection(ctx, info, { ...args, filter: userFilterOf(args.filter) }),
  }),
);

builder.queryField('userByEmail', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The user with this email address (ignoring case) in the caller’s realm; deleted users are not found.',
    ...requireScopes(['users:read']),
    args: { email: t.arg({ type: 'EmailAddress', required: true, description: 'The email address.' }) },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.user.findFirst({ ...query, where: { email: args.email, deletedAt: null } }),
  }),
);
