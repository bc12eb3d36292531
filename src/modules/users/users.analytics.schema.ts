import { builder, requireScopes } from '../../graphql/builder.ts';
import { FIRST_ARGUMENT } from '../../graphql/query-limits.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import { CustomAttributeDefinitionRef } from './users.attributes.schema.ts';
import { UserStatusEnum } from './users.enums.schema.ts';
import { mapFilterErrors } from './users.connection.schema.ts';
import { AuthMethodEnum, MfaFactorTypeEnum, UserFilterInput, userFilterOf } from './users.inputs.schema.ts';
import { USER_STATUSES, userFieldValues, userStats } from './users.analytics.ts';
import { serviceOf } from '../../context.ts';

const UserValueFieldEnum = builder.enumType('UserValueField', {
  description: 'A user field whose distinct values can be listed (for autocomplete and facets).',
  values: {
    COUNTRY: { description: 'Country codes.' },
    REGION: { description: 'Regions.' },
    CITY: { description: 'Cities.' },
    TIMEZONE: { description: 'Time zones.' },
    LOCALE: { description: 'Locales.' },
    GENDER: { description: 'Genders.' },
    OAUTH_PROVIDER: { description: 'Identity providers of linked identities.' },
    CUSTOM_ATTRIBUTE: { description: 'Keys of custom attributes users have values for.' },
  } as const,
});

const StringValueRef = builder.objectRef<{ value: string; count: number }>('StringValue').implement({
  description: 'A distinct value and how many users have it.',
  fields: (t) => ({
    value: t.exposeString('value', { description: 'The value.' }),
    count: t.exposeInt('count', { description: 'How many users (not deleted) have it.' }),
  }),
});

const StringValueConnection = builder.connectionObject(
  {
    type: StringValueRef,
    name: 'StringValueConnection',
    description: 'A page of distinct values, most common first.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'The number of distinct values matching, across all pages.',
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'StringValueEdge', description: 'A distinct value in a page.' },
);

const StatusCountRef = builder
  .objectRef<{ status: (typeof USER_STATUSES)[number]; count: number }>('StatusCount')
  .implement({
    description: 'How many users are in one status.',
    fields: (t) => ({
      status: t.field({ type: UserStatusEnum, description: 'The status.', resolve: (row) => row.status }),
      count: t.exposeInt('count', { description: 'How many users.' }),
    }),
  });

const UserStatsRef = builder.objectRef<Awaited<ReturnType<typeof userStats>>>('UserStats').implement({
  description: 'Totals over a set of users, exact at request time.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Users matching.' }),
    byStatus: t.field({
      type: [StatusCountRef],
      description: 'Users per status (every status, zeros included).',
      resolve: (s) => s.byStatus,
    }),
    emailVerified: t.exposeInt('emailVerified', { description: 'Users with a verified email.' }),
    phoneVerified: t.exposeInt('phoneVerified', { description: 'Users with a verified phone.' }),
    withMfa: t.exposeInt('withMfa', { description: 'Users with at least one second factor.' }),
    createdLast7Days: t.exposeInt('createdLast7Days', { description: 'Users created in the last 7 days.' }),
    createdLast30Days: t.exposeInt('createdLast30Days', { description: 'Users created in the last 30 days.' }),
    activeLast30Days: t.exposeInt('activeLast30Days', { description: 'Users active in the last 30 days.' }),
  }),
});

const UserFilterValuesRef = builder.objectRef<Record<string, never>>('UserFilterValues').implement({
  description: 'The values each static `UserFilter` facet can take in this realm, for building filter UIs.',
  fields: (t) => ({
    statuses: t.field({ type: [UserStatusEnum], description: 'Every user status.', resolve: () => USER_STATUSES }),
    roles: t.prismaField({
      type: [RoleRef],
      description: 'Every role of the realm (realm-wide and tenant-defined), by name.',
      resolve: (query, _root, _args, ctx) =>
        serviceOf(ctx).db.role.findMany({ ...query, orderBy: [{ name: 'asc' }, { id: 'asc' }] }),
    }),
    tenants: t.prismaField({
      type: [TenantRef],
      description: 'Every tenant of the realm, by name.',
      resolve: (query, _root, _args, ctx) =>
        serviceOf(ctx).db.tenant.findMany({ ...query, orderBy: [{ name: 'asc' }, { id: 'asc' }] }),
    }),
    countries: t.field({
      type: ['CountryCode'],
      description: 'Countries users are in, sorted.',
      resolve: async (_root, _args, ctx) =>
        (
          await serviceOf(ctx).db.user.findMany({
            where: { deletedAt: null, country: { not: null } },
            distinct: ['country'],
            select: { country: true },
            orderBy: { country: 'asc' },
          })
        ).map((u) => u.country!),
    }),
    oauthProviders: t.stringList({
      description: 'Identity providers users have linked, sorted.',
      resolve: async (_root, _args, ctx) =>
        (
          await serviceOf(ctx).db.identity.findMany({
            distinct: ['provider'],
            select: { provider: true },
            orderBy: { provider: 'asc' },
          })
        ).map((i) => i.provider),
    }),
    authMethods: t.field({
      type: [AuthMethodEnum],
      description: 'Every sign-in method.',
      resolve: () => ['PASSWORD', 'EMAIL_CODE', 'PHONE', 'OAUTH', 'PASSKEY'] as const,
    }),
    mfaTypes: t.field({
      type: [MfaFactorTypeEnum],
      description: 'Every second-factor type.',
      resolve: () => ['TOTP', 'WEBAUTHN', 'RECOVERY_CODES'] as const,
    }),
    customAttributes: t.prismaField({
      type: [CustomAttributeDefinitionRef],
      description: 'The realm’s custom attribute definitions, by key.',
      resolve: (query, _root, _args, ctx) =>
        serviceOf(ctx).db.customAttributeDefinition.findMany({ ...query, orderBy: { key: 'asc' } }),
    }),
  }),
});

builder.queryField('userFilterValues', (t) =>
  t.field({
    type: UserFilterValuesRef,
    description: 'The values of every static user filter facet.',
    ...requireScopes(['users:read']),
    resolve: () => ({}),
  }),
);

builder.queryField('userFieldValues', (t) =>
  t.field({
    type: StringValueConnection,
    description:
      'Distinct values of a user field with counts, most common first, for autocomplete. Deleted users are not counted.',
    ...requireScopes(['users:read']),
    args: {
      field: t.arg({ type: UserValueFieldEnum, required: true, description: 'Which field.' }),
      prefix: t.arg.string({ description: 'Only values starting with this (ignoring case; at most 100 characters).' }),
      first: t.arg.int({ description: `Return at most this many values: ${FIRST_ARGUMENT}` }),
      after: t.arg.string({ description: 'Return values after this cursor.' }),
    },
    resolve: (_root, args, ctx) =>
      mapFilterErrors(async () => {
        const page = await userFieldValues(serviceOf(ctx), { ...args, field: args.field });
        return {
          edges: page.values.map(({ cursor, value, count }) => ({ cursor, node: { value, count } })),
          pageInfo: {
            hasNextPage: page.hasNextPage,
            hasPreviousPage: page.hasPreviousPage,
            startCursor: page.values[0]?.cursor ?? null,
            endCursor: page.values.at(-1)?.cursor ?? null,
          },
          totalCount: page.totalCount,
        };
      }),
  }),
);

builder.queryField('userStats', (t) =>
  t.field({
    type: UserStatsRef,
    description:
      'Totals by status, verification, MFA, recent registrations and activity over the users matching `filter`. Without a filter, read from per-realm counts the database keeps exact with every change; with one, counted over the matching users (slower on large realms).',
    ...requireScopes(['users:read']),
    args: {
      filter: t.arg({ type: UserFilterInput, description: 'Which users to count; all (not deleted) when omitted.' }),
    },
    resolve: (_root, args, ctx) => mapFilterErrors(() => userStats(serviceOf(ctx), userFilterOf(args.filter))),
  }),
);
