import type { Prisma, Role, Tenant, UserStatus } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { stringProblem } from '../../graphql/input-bounds.ts';
import {
  breakdownRows,
  countedByComplement,
  estimatedUsers,
  growthRows,
  overviewRow,
  signInRows,
  type BreakdownDimension,
  type BucketRange,
  type GrowthRow,
  type GrowthUnit,
  type OverviewFigureName,
  type Period,
  type UserScope,
} from './users.analytics.queries.ts';
import { compileUserFilter, countedMetrics, FilterError, userListCondition, type UserFilter } from './users.filter.ts';
import { filterEnvironment } from './users.list.ts';
import { userCountsRow, userStatsRow, userValueQueries, type UserValueField } from './users.queries.ts';

export type { UserValueField } from './users.queries.ts';

export const USER_STATUSES: UserStatus[] = [
  'INVITED',
  'PENDING_VERIFICATION',
  'ACTIVE',
  'INACTIVE',
  'SUSPENDED',
  'DELETED',
];

export interface UserStats {
  total: number;
  byStatus: { status: UserStatus; count: number }[];
  emailVerified: number;
  phoneVerified: number;
  withMfa: number;
  createdLast7Days: number;
  createdLast30Days: number;
  activeLast30Days: number;
}

/**
 * Totals over the users matching `filter`, in one statement: without a filter from the realm's
 * maintained counts, with one by scanning the matching users.
 */
export async function userStats(ctx: ServiceContext, filter: UserFilter | null | undefined): Promise<UserStats> {
  let row: Record<string, bigint> | undefined;
  if (countedMetrics(filter)?.[0] === 'total') {
    row = await userCountsRow(ctx.db, ctx.realmId, USER_STATUSES);
  } else {
    const env = await filterEnvironment(ctx, filter);
    row = await userStatsRow(ctx.db, ctx.realmId, userListCondition(filter, env), USER_STATUSES);
  }
  const n = (key: string) => Number(row?.[key] ?? 0);
  return {
    total: n('total'),
    byStatus: USER_STATUSES.map((status) => ({ status, count: n(`s_${status}`) })),
    emailVerified: n('emailVerified'),
    phoneVerified: n('phoneVerified'),
    withMfa: n('withMfa'),
    createdLast7Days: n('createdLast7Days'),
    createdLast30Days: n('createdLast30Days'),
    activeLast30Days: n('activeLast30Days'),
  };
}

export interface ValuePage {
  values: { value: string; count: number; cursor: string }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: () => Promise<number>;
}

function encodeValueCursor(count: number, value: string): string {
  return Buffer.from(JSON.stringify([count, value])).toString('base64url');
}

function decodeValueCursor(cursor: string): [number, string] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isSafeInteger(parsed[0]) &&
      parsed[0] >= 0 &&
      typeof parsed[1] === 'string' &&
      stringProblem(parsed[1]) === null
    ) {
      return [parsed[0] as number, parsed[1]];
    }
  } catch {
    // fall through
  }
  throw new FilterError('after', 'is not a valid cursor');
}

/** Distinct values of a user field with how many users have each, most common first. */
export async function userFieldValues(
  ctx: ServiceContext,
  args: { field: UserValueField; prefix?: string | null; first?: number | null; after?: string | null },
): Promise<ValuePage> {
  const size = args.first ?? 20;
  const prefix = args.prefix?.trim() ?? '';
  if (prefix.length > 100) throw new FilterError('prefix', 'at most 100 characters');
  const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const after = args.after ? decodeValueCursor(args.after) : null;
  const queries = userValueQueries(ctx.db, ctx.realmId, args.field, like);
  const rows = await queries.page(after, size + 1);
  const values = rows.slice(0, size).map((row) => {
    const count = Number(row.count);
    return { value: row.value, count, cursor: encodeValueCursor(count, row.value) };
  });
  return {
    values,
    hasNextPage: rows.length > size,
    hasPreviousPage: Boolean(after),
    totalCount: queries.total,
  };
}

/** A request for figures over a range the database would take too long to answer. */
export class AnalyticsRangeError extends FilterError {
  constructor(
    path: string,
    message: string,
    readonly code: 'TOO_MANY_BUCKETS' | 'PERIOD_TOO_LONG',
    readonly limit: number,
  ) {
    super(path, message);
    this.name = 'AnalyticsRangeError';
  }
}

const DAY_MS = 86_400_000;

export type GrowthInterval = 'DAY' | 'WEEK' | 'MONTH';

/** The most buckets one `userGrowth` answers, per interval (a year of days, five years of weeks, ten of months). */
export const GROWTH_LIMITS: Record<GrowthInterval, { buckets: number; unit: GrowthUnit }> = {
  DAY: { buckets: 366, unit: 'day' },
  WEEK: { buckets: 260, unit: 'week' },
  MONTH: { buckets: 120, unit: 'month' },
};

/** The longest `userOverview` period, in days. */
export const OVERVIEW_MAX_DAYS = 366;

const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/**
 * An IANA time zone name both Node (ICU) and PostgreSQL know: `UTC`, `Europe/Berlin`, `Etc/GMT+3`…
 * Offsets and POSIX rules (`+01:00`, `UTC+1`) are refused: PostgreSQL reads a POSIX offset with
 * the opposite sign to ISO 8601.
 */
function checkTimeZone(timeZone: string, path = 'timeZone'): string {
  const name = timeZone.trim();
  let known = name.length > 0 && name.length <= 64 && TIME_ZONE_NAME.test(name);
  if (known) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
    } catch {
      known = false;
    }
  }
  if (!known) {
    throw new FilterError(path, `"${name.slice(0, 64)}" is not an IANA time zone name (such as UTC or Europe/Berlin)`);
  }
  return name;
}

function checkPeriod(from: Date, to: Date, path: string): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new FilterError(path, 'is not a valid time');
  if (from >= to) throw new FilterError(path, '`from` must be before `to`');
}

/** `months` calendar months after `at` (UTC), the day clamped to the month's last. */
function addMonths(at: Date, months: number): Date {
  const date = new Date(at);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, last));
  return date;
}

/**
 * Refuses a range of more buckets than the interval allows. Counted on the span (a day more for
 * the buckets `from` and `to` fall inside), before any SQL runs.
 */
function checkBuckets(interval: GrowthInterval, from: Date, to: Date): void {
  const { buckets } = GROWTH_LIMITS[interval];
  const limit =
    interval === 'MONTH'
      ? addMonths(from, buckets - 1).getTime()
      : from.getTime() + (buckets - 1) * (interval === 'WEEK' ? 7 : 1) * DAY_MS;
  if (to.getTime() > limit) {
    const unit = interval.toLowerCase();
    throw new AnalyticsRangeError(
      'to',
      `a ${interval} series holds at most ${buckets} buckets: \`to\` may be at most ${buckets - 1} ${unit}s after \`from\``,
      'TOO_MANY_BUCKETS',
      buckets,
    );
  }
}

/**
 * At least the number of buckets [from, to) spans in any time zone: whole units, plus the
 * partial ones at both ends (and a day's difference of offset).
 */
function spannedBuckets({ interval, from, to }: { interval: GrowthInterval; from: Date; to: Date }): number {
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  if (interval === 'DAY') return Math.ceil(days) + 2;
  if (interval === 'WEEK') return Math.ceil(days / 7) + 2;
  const months = (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth();
  return months + 2;
}

/** The users a figure is about: the filter's, deleted ones included (they count for the time they existed). */
async function scopeOf(ctx: ServiceContext, filter: UserFilter | null | undefined): Promise<UserScope> {
  const env = await filterEnvironment(ctx, filter);
  return { condition: compileUserFilter(filter, env), filtered: Boolean(filter) };
}

export interface GrowthArgs {
  interval: GrowthInterval;
  from: Date;
  to: Date;
  timeZone?: string | null;
  filter?: UserFilter | null;
}

export interface SignInMethodFigures {
  method: string;
  succeeded: number;
  failed: number;
}

export interface SignInBucket {
  start: Date;
  end: Date;
  succeeded: number;
  failed: number;
  byMethod: SignInMethodFigures[];
  byFailureReason: { reason: string; count: number }[];
}

export interface UserGrowth {
  interval: GrowthInterval;
  timeZone: string;
  /** Users created, deleted, existing and active per bucket: one statement, run when first asked for. */
  buckets: () => Promise<GrowthRow[]>;
  /** Sign-in attempts per bucket: one statement, run when first asked for. */
  signIns: () => Promise<SignInBucket[]>;
}

/** PostgreSQL's refusal of a time zone it does not know (one Node's ICU knows but its tz database does not). */
const UNKNOWN_TIME_ZONE = /time zone "[^"]*" not recognized/;

/** Runs `run` the first time it is asked for; later calls share its answer. */
function once<T>(run: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () =>
    (result ??= run().catch((error: unknown) => {
      if (error instanceof Error && UNKNOWN_TIME_ZONE.test(error.message)) {
        throw new FilterError('timeZone', 'is not a time zone the database knows');
      }
      throw error;
    }));
}

/**
 * A growth series: buckets of whole days, weeks (from Monday) or months of the time zone covering
 * [from, to), with empty ones, computed in the database. Checks every argument before any SQL:
 * the range, the time zone, the number of buckets and the filter.
 */
export async function userGrowth(ctx: ServiceContext, args: GrowthArgs): Promise<UserGrowth> {
  checkPeriod(args.from, args.to, 'from');
  const timeZone = checkTimeZone(args.timeZone ?? 'UTC');
  checkBuckets(args.interval, args.from, args.to);
  const { unit } = GROWTH_LIMITS[args.interval];
  const range: BucketRange = { unit, from: args.from, to: args.to, timeZone, buckets: spannedBuckets(args) };
  const scope = await scopeOf(ctx, args.filter);
  return {
    interval: args.interval,
    timeZone,
    buckets: once(() => growthRows(ctx.db, ctx.realmId, range, scope)),
    signIns: once(async () => signInBuckets(await signInRows(ctx.db, ctx.realmId, range, scope))),
  };
}

function signInBuckets(rows: Awaited<ReturnType<typeof signInRows>>): SignInBucket[] {
  const buckets = new Map<
    number,
    SignInBucket & { methods: Map<string, SignInMethodFigures>; reasons: Map<string, number> }
  >();
  for (const row of rows) {
    const key = row.start.getTime();
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = {
        start: row.start,
        end: row.end,
        succeeded: 0,
        failed: 0,
        byMethod: [],
        byFailureReason: [],
        methods: new Map(),
        reasons: new Map(),
      };
      buckets.set(key, bucket);
    }
    if (row.success === null || row.n === null) continue;
    const method = row.method ?? 'unknown';
    let figures = bucket.methods.get(method);
    if (!figures) bucket.methods.set(method, (figures = { method, succeeded: 0, failed: 0 }));
    if (row.success) {
      bucket.succeeded += row.n;
      figures.succeeded += row.n;
    } else {
      bucket.failed += row.n;
      figures.failed += row.n;
      const reason = row.reason ?? 'unknown';
      bucket.reasons.set(reason, (bucket.reasons.get(reason) ?? 0) + row.n);
    }
  }
  const largestFirst =
    <T>(count: (item: T) => number, name: (item: T) => string) =>
    (a: T, b: T) =>
      count(b) - count(a) || name(a).localeCompare(name(b));
  return [...buckets.values()].map(({ methods, reasons, ...bucket }) => ({
    ...bucket,
    byMethod: [...methods.values()].sort(
      largestFirst(
        (m) => m.succeeded + m.failed,
        (m) => m.method,
      ),
    ),
    byFailureReason: [...reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort(
        largestFirst(
          (r) => r.count,
          (r) => r.reason,
        ),
      ),
  }));
}

export type OverviewComparison = 'PREVIOUS_PERIOD' | 'SAME_PERIOD_LAST_YEAR';

export interface OverviewFigure {
  value: number;
  previous: number;
}

export interface OverviewShare {
  value: number | null;
  previous: number | null;
}

export interface UserOverview {
  period: Period;
  comparedTo: Period;
  total: OverviewFigure;
  new: OverviewFigure;
  active: OverviewFigure;
  suspended: OverviewFigure;
  locked: OverviewFigure;
  verifiedShare: OverviewShare;
  mfaShare: OverviewShare;
}

/** The period a period is compared to: the one just before it, as long, or the same dates a year earlier. */
function comparedPeriod(period: Period, compareTo: OverviewComparison): Period {
  if (compareTo === 'SAME_PERIOD_LAST_YEAR')
    return { from: addMonths(period.from, -12), to: addMonths(period.to, -12) };
  const length = period.to.getTime() - period.from.getTime();
  return { from: new Date(period.from.getTime() - length), to: period.from };
}

/**
 * The headline figures of a period, each with the figure of the period it is compared to: one
 * statement (after the filter's look-ups, if any).
 */
export async function userOverview(
  ctx: ServiceContext,
  args: { period: Period; compareTo: OverviewComparison; filter?: UserFilter | null },
): Promise<UserOverview> {
  const { period } = args;
  checkPeriod(period.from, period.to, 'period.from');
  if (period.to.getTime() - period.from.getTime() > OVERVIEW_MAX_DAYS * DAY_MS) {
    throw new AnalyticsRangeError(
      'period.to',
      `a period lasts at most ${OVERVIEW_MAX_DAYS} days`,
      'PERIOD_TOO_LONG',
      OVERVIEW_MAX_DAYS,
    );
  }
  const comparedTo = comparedPeriod(period, args.compareTo);
  const scope = await scopeOf(ctx, args.filter);
  const row = await overviewRow(ctx.db, ctx.realmId, [comparedTo, period], scope);
  const figure = (name: OverviewFigureName): OverviewFigure => ({
    value: row[`${name}1`],
    previous: row[`${name}0`],
  });
  const share = (name: 'verified' | 'mfa'): OverviewShare => ({
    value: row.total1 ? row[`${name}1`] / row.total1 : null,
    previous: row.total0 ? row[`${name}0`] / row.total0 : null,
  });
  return {
    period,
    comparedTo,
    total: figure('total'),
    new: figure('new'),
    active: figure('active'),
    suspended: figure('suspended'),
    locked: figure('locked'),
    verifiedShare: share('verified'),
    mfaShare: share('mfa'),
  };
}

type ValueDimension = Exclude<BreakdownDimension, 'ROLE' | 'TENANT'>;

export type UserBreakdownRow =
  | { by: 'ROLE'; role: Role; count: number }
  | { by: 'TENANT'; tenant: Tenant; count: number }
  | { [D in ValueDimension]: { by: D; value: string; count: number } }[ValueDimension];

export interface UserBreakdown {
  by: BreakdownDimension;
  attributeKey: string | null;
  total: number;
  withoutValue: number;
  valueCount: number;
  rows: UserBreakdownRow[];
}

const MAX_ATTRIBUTE_KEY = 100;

/**
 * How many of the users matching `filter` have each value of a dimension, largest first (the
 * first `first`), with how many match and how many have no value. One statement, then one to
 * load the roles or tenants named.
 */
export async function userBreakdown(
  ctx: ServiceContext,
  args: { by: BreakdownDimension; attributeKey?: string | null; filter?: UserFilter | null; first?: number | null },
): Promise<UserBreakdown> {
  const limit = args.first ?? 20;
  let attributeKey: string | null = null;
  if (args.by === 'CUSTOM_ATTRIBUTE') {
    const key = args.attributeKey ?? '';
    if (!key) throw new FilterError('attributeKey', 'is required to break users down by a custom attribute');
    if (key.length > MAX_ATTRIBUTE_KEY)
      throw new FilterError('attributeKey', `at most ${MAX_ATTRIBUTE_KEY} characters`);
    const definition = await ctx.db.customAttributeDefinition.findFirst({ where: { key }, select: { type: true } });
    if (!definition) throw new FilterError('attributeKey', `no custom attribute "${key}" is defined in this realm`);
    if (definition.type !== 'STRING' && definition.type !== 'ENUM') {
      throw new FilterError(
        'attributeKey',
        `only STRING and ENUM attributes can be broken down ("${key}" is ${definition.type})`,
      );
    }
    attributeKey = key;
  } else if (args.attributeKey != null) {
    throw new FilterError('attributeKey', 'is only for `by: CUSTOM_ATTRIBUTE`');
  }
  const env = args.filter ? await filterEnvironment(ctx, args.filter) : null;
  const where = args.filter && env ? userListCondition(args.filter, env) : null;
  // A filter most live users match is counted as every user less the users it leaves out, when the
  // database keeps every user's counts of the dimension; the planner's estimate says which is smaller.
  let complementOf: Prisma.Sql | null = null;
  if (where && env && !args.filter?.includeDeleted && countedByComplement(args.by)) {
    const { matching, live } = await estimatedUsers(ctx.db, ctx.realmId, where);
    if (matching > live / 2) complementOf = compileUserFilter(args.filter, env);
  }
  const rows = await breakdownRows(ctx.db, ctx.realmId, args.by, attributeKey, where, limit, complementOf);
  const head = rows[0]!;
  const values = rows.filter((row) => row.value !== null) as { value: string; count: number }[];
  const ids = values.map((row) => row.value);
  let named: UserBreakdownRow[];
  if (args.by === 'ROLE') {
    const found = ids.length ? await ctx.db.role.findMany({ where: { id: { in: ids } } }) : [];
    const roles = new Map(found.map((role) => [role.id, role]));
    named = values.flatMap(({ value, count }) => {
      const role = roles.get(value);
      return role ? [{ by: 'ROLE' as const, role, count }] : [];
    });
  } else if (args.by === 'TENANT') {
    const found = ids.length ? await ctx.db.tenant.findMany({ where: { id: { in: ids } } }) : [];
    const tenants = new Map(found.map((tenant) => [tenant.id, tenant]));
    named = values.flatMap(({ value, count }) => {
      const tenant = tenants.get(value);
      return tenant ? [{ by: 'TENANT' as const, tenant, count }] : [];
    });
  } else {
    const by = args.by;
    named = values.map(({ value, count }) => ({ by, value, count }));
  }
  return {
    by: args.by,
    attributeKey,
    total: head.total,
    withoutValue: head.total - head.valued,
    valueCount: head.values,
    rows: named,
  };
}
