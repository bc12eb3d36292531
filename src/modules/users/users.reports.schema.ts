import { GraphQLError } from 'graphql';
import type { UserStatus } from '../../generated/prisma/client.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import { FIRST_ARGUMENT } from '../../graphql/query-limits.ts';
import { serviceOf } from '../../context.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import {
  AnalyticsRangeError,
  GROWTH_LIMITS,
  OVERVIEW_MAX_DAYS,
  userBreakdown,
  userGrowth,
  userOverview,
  type OverviewFigure,
  type OverviewShare,
  type SignInBucket,
  type SignInMethodFigures,
  type UserBreakdown,
  type UserBreakdownRow,
  type UserGrowth,
  type UserOverview,
} from './users.analytics.ts';
import type { GrowthRow, Period } from './users.analytics.queries.ts';
import { mapFilterErrors } from './users.connection.schema.ts';
import { UserStatusEnum } from './users.enums.schema.ts';
import { AuthMethodEnum, MfaFactorTypeEnum, UserFilterInput, userFilterOf } from './users.inputs.schema.ts';

/** Filter errors as BAD_USER_INPUT, a range too large as its own code (TOO_MANY_BUCKETS, PERIOD_TOO_LONG). */
function mapAnalyticsErrors<T>(run: () => Promise<T>): Promise<T> {
  return mapFilterErrors(async () => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof AnalyticsRangeError) {
        throw new GraphQLError(error.message, {
          extensions: { code: error.code, argument: error.path, limit: error.limit },
        });
      }
      throw error;
    }
  });
}

const FILTER_NOW =
  'The filter selects users by what they are now; users deleted since count for the time they existed (`includeDeleted` changes nothing).';

// ---------------------------------------------------------------------------------------------
// userGrowth

const GrowthIntervalEnum = builder.enumType('GrowthInterval', {
  description: 'The length of the buckets of a growth series, in the calendar of its time zone.',
  values: {
    DAY: {
      description: `Days, from midnight to midnight (23 or 25 hours across a DST change); at most ${GROWTH_LIMITS.DAY.buckets}.`,
    },
    WEEK: { description: `ISO weeks, from Monday to Monday; at most ${GROWTH_LIMITS.WEEK.buckets}.` },
    MONTH: { description: `Calendar months, from the 1st to the 1st; at most ${GROWTH_LIMITS.MONTH.buckets}.` },
  } as const,
});

const UserGrowthBucketRef = builder.objectRef<GrowthRow>('UserGrowthBucket').implement({
  description: 'The users of one bucket of a growth series.',
  fields: (t) => ({
    start: t.field({
      type: 'DateTime',
      description: 'When the bucket starts (local midnight, as UTC).',
      resolve: (b) => b.start,
    }),
    end: t.field({
      type: 'DateTime',
      description: 'When the bucket ends: the next one’s start.',
      resolve: (b) => b.end,
    }),
    signUps: t.exposeInt('signUps', { description: 'Users created in the bucket.' }),
    deletions: t.exposeInt('deletions', {
      description:
        'Users deleted in the bucket (deleted users are kept until erased; erased users are no longer counted anywhere).',
    }),
    usersAtEnd: t.exposeInt('usersAtEnd', {
      description: 'Users that existed at the end of the bucket: created before it, not deleted before it.',
    }),
    activeUsers: t.exposeInt('activeUsers', {
      description:
        'Distinct users who signed in or used a session (a token refresh, a single sign-on) in the bucket, from the quarter hours Roster notes activity in.',
    }),
  }),
});

const SignInMethodCountRef = builder.objectRef<SignInMethodFigures>('SignInMethodCount').implement({
  description: 'Sign-in attempts with one method.',
  fields: (t) => ({
    method: t.exposeString('method', {
      description:
        'How the user signed in, as the login history records it: `password`, `password+totp`, `password+recovery_code`, `sso`, and later others such as `oauth:google`.',
    }),
    succeeded: t.exposeInt('succeeded', { description: 'Attempts that signed the user in.' }),
    failed: t.exposeInt('failed', { description: 'Attempts that were refused.' }),
  }),
});

const SignInFailureCountRef = builder.objectRef<{ reason: string; count: number }>('SignInFailureCount').implement({
  description: 'Refused sign-in attempts for one reason.',
  fields: (t) => ({
    reason: t.exposeString('reason', {
      description:
        'Why they were refused, as the login history records it: `invalid_credentials`, `account_locked`, `account_inactive`, `account_suspended`, `email_not_verified`, `password_expired`, `new_password_rejected`, `invalid_second_factor`, `not_tenant_member`.',
    }),
    count: t.exposeInt('count', { description: 'Attempts refused for this reason.' }),
  }),
});

const SignInBucketRef = builder.objectRef<SignInBucket>('SignInBucket').implement({
  description: 'The sign-in attempts of one bucket of a growth series.',
  fields: (t) => ({
    start: t.field({ type: 'DateTime', description: 'When the bucket starts.', resolve: (b) => b.start }),
    end: t.field({ type: 'DateTime', description: 'When the bucket ends.', resolve: (b) => b.end }),
    succeeded: t.exposeInt('succeeded', { description: 'Attempts that signed a user in.' }),
    failed: t.exposeInt('failed', { description: 'Attempts that were refused.' }),
    byMethod: t.field({
      type: [SignInMethodCountRef],
      description: 'Attempts per method, most first (methods without attempts left out).',
      resolve: (b) => b.byMethod,
    }),
    byFailureReason: t.field({
      type: [SignInFailureCountRef],
      description: 'Refused attempts per reason, most first (reasons without attempts left out).',
      resolve: (b) => b.byFailureReason,
    }),
  }),
});

const UserGrowthRef = builder.objectRef<UserGrowth>('UserGrowth').implement({
  description: 'A growth series: users and sign-ins per day, week or month of a time zone, empty buckets included.',
  fields: (t) => ({
    interval: t.field({
      type: GrowthIntervalEnum,
      description: 'The length of the buckets.',
      resolve: (g) => g.interval,
    }),
    timeZone: t.field({
      type: 'TimeZone',
      description: 'The time zone the buckets follow.',
      resolve: (g) => g.timeZone,
    }),
    buckets: t.field({
      type: [UserGrowthBucketRef],
      description:
        'Every bucket from the one `from` falls in to the one just before `to`, in order: users created, deleted, existing and active. One SQL statement.',
      resolve: (g) => mapAnalyticsErrors(g.buckets),
    }),
    signIns: t.field({
      type: [SignInBucketRef],
      nullable: true,
      description:
        'Sign-in attempts per bucket (the same buckets), by method and failure reason. With a filter, only attempts by matching users (attempts naming no known user are left out). Reading them needs `audit:read` too; without it this is null with a FORBIDDEN error. One SQL statement.',
      ...requireScopes(['users:read', 'audit:read']),
      resolve: (g) => mapAnalyticsErrors(g.signIns),
    }),
  }),
});

builder.queryField('userGrowth', (t) =>
  t.field({
    type: UserGrowthRef,
    description: `How the users matching \`filter\` grew: per day, week or month of \`timeZone\` from \`from\` to \`to\`, computed in the database. Refused with BAD_USER_INPUT when \`from\` is not before \`to\` or the time zone is unknown, and with TOO_MANY_BUCKETS beyond ${GROWTH_LIMITS.DAY.buckets} days, ${GROWTH_LIMITS.WEEK.buckets} weeks or ${GROWTH_LIMITS.MONTH.buckets} months. ${FILTER_NOW}`,
    ...requireScopes(['users:read']),
    args: {
      interval: t.arg({ type: GrowthIntervalEnum, required: true, description: 'The length of the buckets.' }),
      from: t.arg({
        type: 'DateTime',
        required: true,
        description: 'The first bucket is the one this instant falls in.',
      }),
      to: t.arg({
        type: 'DateTime',
        required: true,
        description: 'The last bucket is the one just before this instant (exclusive).',
      }),
      timeZone: t.arg({
        type: 'TimeZone',
        defaultValue: 'UTC',
        description:
          'The IANA time zone whose days, weeks and months the buckets are, e.g. `Europe/Berlin` (default UTC).',
      }),
      filter: t.arg({ type: UserFilterInput, description: 'Which users to count; all when omitted.' }),
    },
    resolve: (_root, args, ctx) =>
      mapAnalyticsErrors(() =>
        userGrowth(serviceOf(ctx), {
          interval: args.interval,
          from: args.from,
          to: args.to,
          timeZone: args.timeZone,
          filter: userFilterOf(args.filter),
        }),
      ),
  }),
);

// ---------------------------------------------------------------------------------------------
// userOverview

const TimePeriodRef = builder.objectRef<Period>('TimePeriod').implement({
  description: 'A period of time: from an instant (included) to another (excluded).',
  fields: (t) => ({
    from: t.field({ type: 'DateTime', description: 'When the period starts (included).', resolve: (p) => p.from }),
    to: t.field({ type: 'DateTime', description: 'When the period ends (excluded).', resolve: (p) => p.to }),
  }),
});

const TimePeriodInput = builder.inputType('TimePeriodInput', {
  description: `A period of time, at most ${OVERVIEW_MAX_DAYS} days long: from an instant (included) to another (excluded).`,
  fields: (t) => ({
    from: t.field({ type: 'DateTime', required: true, description: 'When the period starts (included).' }),
    to: t.field({ type: 'DateTime', required: true, description: 'When the period ends (excluded); after `from`.' }),
  }),
});

const PeriodComparisonEnum = builder.enumType('PeriodComparison', {
  description: 'Which period an overview compares its period to.',
  values: {
    PREVIOUS_PERIOD: { description: 'The period just before, as long.' },
    SAME_PERIOD_LAST_YEAR: { description: 'The same dates a year earlier.' },
  } as const,
});

const relative = (value: number | null, previous: number | null) =>
  value === null || previous === null || previous === 0 ? null : (value - previous) / previous;

const OverviewCountRef = builder.objectRef<OverviewFigure>('OverviewCount').implement({
  description: 'A number of users in a period and in the period it is compared to.',
  fields: (t) => ({
    value: t.exposeInt('value', { description: 'In the period.' }),
    previous: t.exposeInt('previous', { description: 'In the period compared to.' }),
    change: t.int({ description: '`value` minus `previous`.', resolve: (f) => f.value - f.previous }),
    relativeChange: t.float({
      nullable: true,
      description: 'The change as a fraction of `previous` (0.25 is +25 %); null when `previous` is 0.',
      resolve: (f) => relative(f.value, f.previous),
    }),
  }),
});

const OverviewShareRef = builder.objectRef<OverviewShare>('OverviewShare').implement({
  description: 'A share of the users (0 to 1) at the end of a period and at the end of the period it is compared to.',
  fields: (t) => ({
    value: t.float({
      nullable: true,
      description: 'At the end of the period; null when there were no users.',
      resolve: (s) => s.value,
    }),
    previous: t.float({
      nullable: true,
      description: 'At the end of the period compared to; null when there were no users.',
      resolve: (s) => s.previous,
    }),
    change: t.float({
      nullable: true,
      description: '`value` minus `previous` (in share points: 0.05 is 5 points); null when either is.',
      resolve: (s) => (s.value === null || s.previous === null ? null : s.value - s.previous),
    }),
    relativeChange: t.float({
      nullable: true,
      description: 'The change as a fraction of `previous`; null when `previous` is 0 or null.',
      resolve: (s) => relative(s.value, s.previous),
    }),
  }),
});

const AT_END = 'at the end of the period (or now, for a period not over yet), among the users that existed then';

const UserOverviewRef = builder.objectRef<UserOverview>('UserOverview').implement({
  description:
    'The headline figures of a period, each with the figure of the period it is compared to. Figures at the end of a past period are rebuilt from what Roster keeps: creation and deletion times, the current suspension (with its time), email verification and lockout (with its last failure), and the second factors users still have.',
  fields: (t) => ({
    period: t.field({ type: TimePeriodRef, description: 'The period.', resolve: (o) => o.period }),
    comparedTo: t.field({
      type: TimePeriodRef,
      description: 'The period it is compared to.',
      resolve: (o) => o.comparedTo,
    }),
    total: t.field({
      type: OverviewCountRef,
      description: 'Users at the end of the period (or now, for a period not over yet).',
      resolve: (o) => o.total,
    }),
    new: t.field({ type: OverviewCountRef, description: 'Users created in the period.', resolve: (o) => o.new }),
    active: t.field({
      type: OverviewCountRef,
      description: 'Distinct users who signed in or used a session in the period (to the quarter hour).',
      resolve: (o) => o.active,
    }),
    suspended: t.field({
      type: OverviewCountRef,
      description: `Users suspended ${AT_END}.`,
      resolve: (o) => o.suspended,
    }),
    locked: t.field({
      type: OverviewCountRef,
      description: `Users locked out after failed sign-ins ${AT_END}.`,
      resolve: (o) => o.locked,
    }),
    verifiedShare: t.field({
      type: OverviewShareRef,
      description: `The share of users with a verified email ${AT_END}.`,
      resolve: (o) => o.verifiedShare,
    }),
    mfaShare: t.field({
      type: OverviewShareRef,
      description: `The share of users with a second factor ${AT_END}.`,
      resolve: (o) => o.mfaShare,
    }),
  }),
});

builder.queryField('userOverview', (t) =>
  t.field({
    type: UserOverviewRef,
    description: `The headline figures of the users matching \`filter\` in a period (at most ${OVERVIEW_MAX_DAYS} days, else PERIOD_TOO_LONG), compared to an earlier period, computed in the database in one statement. ${FILTER_NOW}`,
    ...requireScopes(['users:read']),
    args: {
      period: t.arg({ type: TimePeriodInput, required: true, description: 'The period.' }),
      compareTo: t.arg({
        type: PeriodComparisonEnum,
        defaultValue: 'PREVIOUS_PERIOD',
        description: 'Which period to compare it to (default: the one just before).',
      }),
      filter: t.arg({ type: UserFilterInput, description: 'Which users to count; all when omitted.' }),
    },
    resolve: (_root, args, ctx) =>
      mapAnalyticsErrors(() =>
        userOverview(serviceOf(ctx), {
          period: args.period,
          compareTo: args.compareTo ?? 'PREVIOUS_PERIOD',
          filter: userFilterOf(args.filter),
        }),
      ),
  }),
);

// ---------------------------------------------------------------------------------------------
// userBreakdown

const UserBreakdownDimensionEnum = builder.enumType('UserBreakdownDimension', {
  description: 'What `userBreakdown` counts users by.',
  values: {
    ROLE: { description: 'The roles they hold, realm-wide or in a tenant (a user counts once per role).' },
    TENANT: { description: 'The tenants they belong to.' },
    COUNTRY: { description: 'Their country.' },
    AUTH_METHOD: { description: 'The sign-in methods they can use, as `UserFilter.authMethods` defines them.' },
    MFA_TYPE: { description: 'The types of second factor they have.' },
    STATUS: { description: 'Their status.' },
    CUSTOM_ATTRIBUTE: { description: 'The value of a STRING or ENUM custom attribute (`attributeKey`).' },
  } as const,
});

type Row<By extends UserBreakdownRow['by']> = Extract<UserBreakdownRow, { by: By }>;

const UserBreakdownRowRef = builder.interfaceRef<UserBreakdownRow>('UserBreakdownRow').implement({
  description: 'How many users have one value of a breakdown; the implementing type names the value.',
  resolveType: (row) =>
    ({
      ROLE: 'RoleBreakdownRow',
      TENANT: 'TenantBreakdownRow',
      COUNTRY: 'CountryBreakdownRow',
      AUTH_METHOD: 'AuthMethodBreakdownRow',
      MFA_TYPE: 'MfaTypeBreakdownRow',
      STATUS: 'StatusBreakdownRow',
      CUSTOM_ATTRIBUTE: 'AttributeValueBreakdownRow',
    })[row.by],
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'How many of the users have the value.' }),
  }),
});

builder.objectRef<Row<'ROLE'>>('RoleBreakdownRow').implement({
  description: 'The users holding one role.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    role: t.field({
      type: RoleRef,
      nullable: true,
      description: 'The role. Reading it needs `roles:read` too.',
      resolve: (row) => row.role,
    }),
  }),
});

builder.objectRef<Row<'TENANT'>>('TenantBreakdownRow').implement({
  description: 'The users belonging to one tenant.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    tenant: t.field({
      type: TenantRef,
      nullable: true,
      description: 'The tenant. Reading it needs `tenants:read` too.',
      resolve: (row) => row.tenant,
    }),
  }),
});

builder.objectRef<Row<'COUNTRY'>>('CountryBreakdownRow').implement({
  description: 'The users in one country.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    country: t.field({ type: 'CountryCode', description: 'The country.', resolve: (row) => row.value }),
  }),
});

builder.objectRef<Row<'AUTH_METHOD'>>('AuthMethodBreakdownRow').implement({
  description: 'The users who can sign in with one method.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    authMethod: t.field({
      type: AuthMethodEnum,
      description: 'The method.',
      resolve: (row) => row.value as 'PASSWORD' | 'EMAIL_CODE' | 'PHONE' | 'OAUTH' | 'PASSKEY',
    }),
  }),
});

builder.objectRef<Row<'MFA_TYPE'>>('MfaTypeBreakdownRow').implement({
  description: 'The users with one type of second factor.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    mfaType: t.field({
      type: MfaFactorTypeEnum,
      description: 'The type.',
      resolve: (row) => row.value as 'TOTP' | 'WEBAUTHN' | 'RECOVERY_CODES',
    }),
  }),
});

builder.objectRef<Row<'STATUS'>>('StatusBreakdownRow').implement({
  description: 'The users in one status.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    status: t.field({
      type: UserStatusEnum,
      description: 'The status.',
      resolve: (row) => row.value as UserStatus,
    }),
  }),
});

builder.objectRef<Row<'CUSTOM_ATTRIBUTE'>>('AttributeValueBreakdownRow').implement({
  description: 'The users with one value of a custom attribute.',
  interfaces: [UserBreakdownRowRef],
  fields: (t) => ({
    value: t.exposeString('value', { description: 'The value.' }),
  }),
});

const UserBreakdownRef = builder.objectRef<UserBreakdown>('UserBreakdown').implement({
  description: 'How many users have each value of a dimension, largest first.',
  fields: (t) => ({
    by: t.field({ type: UserBreakdownDimensionEnum, description: 'The dimension.', resolve: (b) => b.by }),
    attributeKey: t.exposeString('attributeKey', {
      nullable: true,
      description: 'The custom attribute, for CUSTOM_ATTRIBUTE.',
    }),
    total: t.exposeInt('total', { description: 'Users matching the filter.' }),
    withoutValue: t.exposeInt('withoutValue', {
      description: 'Users matching with no value at all (no role, no tenant, no country…).',
    }),
    valueCount: t.exposeInt('valueCount', { description: 'Distinct values the users have, listed or not.' }),
    rows: t.field({
      type: [UserBreakdownRowRef],
      description:
        'The most common values (at most `first`) with their counts, largest first, ties by value. A user with several values (roles, tenants, methods, factor types) counts once for each.',
      resolve: (b) => b.rows,
    }),
  }),
});

builder.queryField('userBreakdown', (t) =>
  t.field({
    type: UserBreakdownRef,
    description:
      'How many of the users matching `filter` (deleted ones only with `includeDeleted`, as `users`) have each value of a dimension, largest first, computed in the database in one statement (roles and tenants then loaded in one more).',
    ...requireScopes(['users:read']),
    args: {
      by: t.arg({ type: UserBreakdownDimensionEnum, required: true, description: 'What to count users by.' }),
      attributeKey: t.arg.string({
        description: 'The key of a STRING or ENUM custom attribute: required with CUSTOM_ATTRIBUTE, refused otherwise.',
      }),
      filter: t.arg({ type: UserFilterInput, description: 'Which users to count; all (not deleted) when omitted.' }),
      first: t.arg.int({ description: `List at most this many values: ${FIRST_ARGUMENT}` }),
    },
    resolve: (_root, args, ctx) =>
      mapAnalyticsErrors(() =>
        userBreakdown(serviceOf(ctx), {
          by: args.by,
          attributeKey: args.attributeKey,
          filter: userFilterOf(args.filter),
          first: args.first,
        }),
      ),
  }),
);
