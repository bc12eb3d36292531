import { Prisma } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient, type RealmSql } from '../../db/realm-sql.ts';
import { ACTIVITY_PERIOD_MS } from './users.activity.ts';

const { sql, raw, join, empty } = Prisma;

/** A calendar unit of `date_trunc`: the length of a growth bucket. */
export type GrowthUnit = 'day' | 'week' | 'month';

/** A series of buckets: whole calendar units of a time zone covering [from, to). */
export interface BucketRange {
  unit: GrowthUnit;
  from: Date;
  to: Date;
  timeZone: string;
  /** At least the number of buckets [from, to) spans. */
  buckets: number;
}

/**
 * Which users (alias `u`) the figures are about: `condition` compiled from the filter, and whether
 * there is one at all (without, events are counted without looking at their users).
 */
export interface UserScope {
  condition: Prisma.Sql;
  filtered: boolean;
}

/**
 * The buckets (`key` the local start, `start` and `end` the instants), computed in the time zone:
 * a local calendar series turned into instants, so a day of a DST change lasts 23 or 25 hours.
 * Counted by an integer series of at most `range.buckets` steps, which the planner sizes exactly.
 */
function bucketsSql({ unit, from, to, timeZone, buckets }: BucketRange): Prisma.Sql {
  const tz = sql`${timeZone}::text`;
  const first = sql`date_trunc(${unit}::text, ${from}::timestamptz AT TIME ZONE ${tz})`;
  const step = raw(`${unit}s`);
  return sql`
    SELECT l.s AS key, l.s AT TIME ZONE ${tz} AS start, (l.s + make_interval(${step} => 1)) AT TIME ZONE ${tz} AS "end"
    FROM generate_series(0, ${buckets - 1}::int) i, LATERAL (SELECT ${first} + make_interval(${step} => i) AS s) l
    WHERE l.s < ${to}::timestamptz AT TIME ZONE ${tz}`;
}

/** The local start of the bucket an instant falls in. */
function bucketOf(range: BucketRange, instant: Prisma.Sql): Prisma.Sql {
  return sql`date_trunc(${range.unit}::text, ${instant} AT TIME ZONE ${range.timeZone}::text)`;
}

/**
 * `AND <column> IN (the matching users)` when there is a filter (a hashed set, built once per
 * statement), nothing without one.
 */
function ofUsers(rs: RealmSql, scope: UserScope, column: string): Prisma.Sql {
  if (!scope.filtered) return empty;
  return sql`AND ${raw(column)} IN (SELECT u.id FROM "User" u WHERE ${rs.realm('u')} AND ${scope.condition})`;
}

/**
 * How many distinct users were active in [from, to) (alias `x` over `UserActivity`, with an
 * index range of the realm's periods): a hashed distinct, so the rows are not sorted.
 */
function activeUsersSql(rs: RealmSql, scope: UserScope, from: Prisma.Sql, to: Prisma.Sql): Prisma.Sql {
  return sql`(SELECT count(*) FROM (
    SELECT DISTINCT x."userId" FROM "UserActivity" x
    WHERE ${rs.realm('x')} AND x.period >= ${from} AND x.period < ${to} ${ofUsers(rs, scope, 'x."userId"')}) a)`;
}

export interface GrowthRow {
  start: Date;
  end: Date;
  signUps: number;
  deletions: number;
  usersAtEnd: number;
  activeUsers: number;
}

/**
 * Per bucket: users created, users deleted (soft), users that existed at its end, and distinct
 * users active in it (`UserActivity`). One statement of index ranges: users by creation and by
 * deletion time (without a filter, index-only), then the activity of each bucket.
 */
export function growthRows(db: RawSqlClient, realmId: string, range: BucketRange, scope: UserScope) {
  const rs = realmSql(db, realmId);
  return rs.query<GrowthRow>`
    WITH b AS (${bucketsSql(range)}),
    r AS (SELECT min(start) AS lo, max("end") AS hi FROM b),
    c AS (
      SELECT ${bucketOf(range, sql`u."createdAt"`)} AS key, count(*) AS n FROM "User" u
      WHERE ${rs.realm('u')} AND u."createdAt" >= (SELECT lo FROM r) AND u."createdAt" < (SELECT hi FROM r) AND ${scope.condition}
      GROUP BY 1
    ),
    d AS (
      SELECT ${bucketOf(range, sql`u."deletedAt"`)} AS key, count(*) AS n FROM "User" u
      WHERE ${rs.realm('u')} AND u."deletedAt" >= (SELECT lo FROM r) AND u."deletedAt" < (SELECT hi FROM r) AND ${scope.condition}
      GROUP BY 1
    ),
    -- Users that existed when the first bucket started: created before it, less those deleted before it.
    z AS (
      SELECT
        (SELECT count(*) FROM "User" u WHERE ${rs.realm('u')} AND u."createdAt" < (SELECT lo FROM r) AND ${scope.condition})
        - (SELECT count(*) FROM "User" u WHERE ${rs.realm('u')} AND u."deletedAt" < (SELECT lo FROM r) AND ${scope.condition}) AS n
    )
    SELECT b.start, b."end",
      COALESCE(c.n, 0)::int AS "signUps",
      COALESCE(d.n, 0)::int AS deletions,
      (z.n + sum(COALESCE(c.n, 0) - COALESCE(d.n, 0)) OVER (ORDER BY b.key))::int AS "usersAtEnd",
      ${activeUsersSql(rs, scope, sql`b.start`, sql`b."end"`)}::int AS "activeUsers"
    FROM b CROSS JOIN z
      LEFT JOIN c ON c.key = b.key
      LEFT JOIN d ON d.key = b.key
    ORDER BY b.key`;
}

export interface SignInRow {
  start: Date;
  end: Date;
  /** Null on the one row of a bucket without sign-ins. */
  success: boolean | null;
  method: string | null;
  reason: string | null;
  n: number | null;
}

/**
 * Sign-in attempts (`LoginEvent`) per bucket, outcome, method and failure reason; every bucket
 * has at least one row. With a filter, only attempts by matching users (so none by an unknown
 * identifier). One statement over an index range of the realm's events.
 */
export function signInRows(db: RawSqlClient, realmId: string, range: BucketRange, scope: UserScope) {
  const rs = realmSql(db, realmId);
  return rs.query<SignInRow>`
    WITH b AS (${bucketsSql(range)}),
    r AS (SELECT min(start) AS lo, max("end") AS hi FROM b),
    e AS (
      SELECT ${bucketOf(range, sql`e.at`)} AS key, e.success, e.method, e."failureReason" AS reason, count(*)::int AS n
      FROM "LoginEvent" e
      -- The bounds as scalar subqueries: an index range of the realm's events.
      WHERE ${rs.realm('e')} AND e.at >= (SELECT lo FROM r) AND e.at < (SELECT hi FROM r) ${ofUsers(rs, scope, 'e."userId"')}
      GROUP BY 1, 2, 3, 4
    )
    SELECT b.start, b."end", e.success, e.method, e.reason, e.n
    FROM b LEFT JOIN e ON e.key = b.key
    ORDER BY b.key, e.n DESC, e.method, e.reason`;
}

/** A period [from, to). */
export interface Period {
  from: Date;
  to: Date;
}

/** The figures of `userOverview` for one period, as its columns name them (`<figure><0|1>`). */
export type OverviewFigureName = 'total' | 'new' | 'active' | 'suspended' | 'verified' | 'mfa' | 'locked';
export type OverviewRow = Record<`${OverviewFigureName}${0 | 1}`, number>;

/**
 * The overview's figures of two periods (0: the one compared to, 1: the one asked for), one
 * statement: one pass over the matching users (with the time of their first second factor) and
 * one or two index ranges of the activity. A figure "at the end" of a period is taken at its end,
 * or now for a period not over yet, from what the database keeps: users' creation and deletion
 * times, the current suspension with its time, the current email verification, the factors they
 * still have, and the current lockout with the failure that started it.
 */
export async function overviewRow(
  db: RawSqlClient,
  realmId: string,
  periods: [Period, Period],
  scope: UserScope,
): Promise<OverviewRow> {
  const rs = realmSql(db, realmId);
  // An activity period counts when it overlaps [from, to): it starts less than a quarter hour before `from`.
  const overlap = sql`${`${ACTIVITY_PERIOD_MS - 1} milliseconds`}::interval`;
  const w = periods.map(
    ({ from, to }, i) =>
      sql`${from}::timestamptz AS ${raw(`f${i}`)}, ${to}::timestamptz AS ${raw(`t${i}`)}, least(${to}::timestamptz, now()) AS ${raw(`e${i}`)}`,
  );
  const figures = [0, 1].map((i) => {
    const [f, t, e] = [`w.f${i}`, `w.t${i}`, `w.e${i}`].map(raw);
    const exists = sql`m.c < ${e} AND (m.d IS NULL OR m.d >= ${e})`;
    return sql`
        count(*) FILTER (WHERE ${exists}) AS ${raw(`total${i}`)},
        count(*) FILTER (WHERE m.c >= ${f} AND m.c < ${t}) AS ${raw(`new${i}`)},
        count(*) FILTER (WHERE ${exists} AND m.status = 'SUSPENDED' AND (m.s IS NULL OR m.s < ${e})) AS ${raw(`suspended${i}`)},
        count(*) FILTER (WHERE ${exists} AND m.v) AS ${raw(`verified${i}`)},
        count(*) FILTER (WHERE ${exists} AND m.mfa < ${e}) AS ${raw(`mfa${i}`)},
        count(*) FILTER (WHERE ${exists} AND m.l > ${e} AND (m.lf IS NULL OR m.lf <= ${e})) AS ${raw(`locked${i}`)},
        ${activeUsersSql(rs, scope, sql`(SELECT ${f} - ${overlap} FROM w)`, sql`(SELECT ${t} FROM w)`)} AS ${raw(`active${i}`)}`;
  });
  const [row] = await rs.query<Record<string, bigint>>`
    WITH w AS (SELECT ${join(w, ', ')}),
    f AS (SELECT y."userId", min(y."createdAt") AS first FROM "MfaFactor" y WHERE ${rs.realm('y')} GROUP BY 1),
    m AS (
      SELECT u."createdAt" AS c, u."deletedAt" AS d, u.status, u."suspendedAt" AS s, u."emailVerified" AS v,
        u."lockedUntil" AS l, u."lastFailedLoginAt" AS lf, f.first AS mfa
      FROM "User" u LEFT JOIN f ON f."userId" = u.id
      WHERE ${rs.realm('u')} AND u."createdAt" < (SELECT greatest(t0, t1) FROM w) AND ${scope.condition}
    )
    SELECT ${join(figures, ', ')}
    FROM w LEFT JOIN m ON TRUE`;
  return Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key, Number(value)])) as OverviewRow;
}

/** What `userBreakdown` counts users by. */
export type BreakdownDimension =
  'ROLE' | 'TENANT' | 'COUNTRY' | 'AUTH_METHOD' | 'MFA_TYPE' | 'STATUS' | 'CUSTOM_ATTRIBUTE';

/** The value of a user (alias `u`) for the dimensions where each user has at most one. */
function singleValue(by: 'COUNTRY' | 'STATUS' | 'CUSTOM_ATTRIBUTE', attributeKey: string | null): Prisma.Sql {
  if (by === 'COUNTRY') return sql`u.country::text`;
  if (by === 'STATUS') return sql`u.status::text`;
  return sql`CASE WHEN jsonb_typeof(u."customAttributes" -> ${attributeKey}) = 'string' THEN u."customAttributes" ->> ${attributeKey} END`;
}

const MULTI: Record<'ROLE' | 'TENANT' | 'MFA_TYPE', { table: string; value: string; once: boolean }> = {
  // A role held realm-wide and in tenants, or two factors of a type, count once.
  ROLE: { table: 'UserRole', value: 'x."roleId"', once: false },
  TENANT: { table: 'TenantMembership', value: 'x."tenantId"', once: true },
  MFA_TYPE: { table: 'MfaFactor', value: 'x.type', once: false },
};

/** The sign-in methods as `UserFilter.authMethods` defines them (alias `u`); identities and passkeys as hashed sets. */
function authMethods(rs: RealmSql): [string, Prisma.Sql][] {
  return [
    ['PASSWORD', sql`u."passwordHash" IS NOT NULL`],
    ['EMAIL_CODE', sql`(u.email IS NOT NULL AND u."emailVerified")`],
    ['PHONE', sql`(u.phone IS NOT NULL AND u."phoneVerified")`],
    ['OAUTH', sql`u.id IN (SELECT i."userId" FROM "Identity" i WHERE ${rs.realm('i')})`],
    ['PASSKEY', sql`u.id IN (SELECT f."userId" FROM "MfaFactor" f WHERE ${rs.realm('f')} AND f.type = 'WEBAUTHN')`],
  ];
}

/**
 * The statement's groups `g` (value, n: users) and totals `t` (total: users matching, valued:
 * with a value, values: distinct values) of a dimension over the users matching `where`.
 */
function breakdownSql(rs: RealmSql, by: BreakdownDimension, attributeKey: string | null, where: Prisma.Sql) {
  const users = sql`FROM "User" u WHERE ${rs.realm('u')} AND ${where}`;
  if (by === 'COUNTRY' || by === 'STATUS' || by === 'CUSTOM_ATTRIBUTE') {
    return sql`
      a AS (SELECT ${singleValue(by, attributeKey)} AS value, count(*) AS n ${users} GROUP BY 1),
      g AS (SELECT value, n FROM a WHERE value IS NOT NULL),
      t AS (SELECT COALESCE(sum(n), 0) AS total, COALESCE(sum(n) FILTER (WHERE value IS NOT NULL), 0) AS valued,
        count(value) AS "values" FROM a)`;
  }
  if (by === 'AUTH_METHOD') {
    const methods = authMethods(rs);
    return sql`
      s AS (
        SELECT count(*) AS total,
          count(*) FILTER (WHERE ${join(
            methods.map(([, condition]) => condition),
            ' OR ',
          )}) AS valued,
          ${join(
            methods.map(([name, condition]) => sql`count(*) FILTER (WHERE ${condition}) AS ${raw(`"${name}"`)}`),
            ', ',
          )}
        ${users}
      ),
      g AS (
        SELECT v.value, v.n FROM s, LATERAL (VALUES ${join(
          methods.map(([name]) => sql`(${name}, s.${raw(`"${name}"`)})`),
          ', ',
        )}) v (value, n)
        WHERE v.n > 0
      ),
      t AS (SELECT s.total, s.valued, (SELECT count(*) FROM g) AS "values" FROM s)`;
  }
  const { table, value, once } = MULTI[by];
  const rows = raw(`"${table}" x`);
  return sql`
      s AS (
        SELECT count(*) AS total,
          count(*) FILTER (WHERE u.id IN (SELECT x."userId" FROM ${rows} WHERE ${rs.realm('x')})) AS valued
        ${users}
      ),
      g AS (
        SELECT ${raw(value)}::text AS value, ${raw(once ? 'count(*)' : 'count(DISTINCT x."userId")')} AS n
        FROM ${rows} JOIN "User" u ON u."realmId" = x."realmId" AND u.id = x."userId"
        WHERE ${rs.realm('x')} AND ${rs.realm('u')} AND ${where}
        GROUP BY ${raw(value)}
      ),
      t AS (SELECT s.total, s.valued, (SELECT count(*) FROM g) AS "values" FROM s)`;
}

export interface BreakdownRow {
  total: number;
  /** Users with at least one value. */
  valued: number;
  /** Distinct values, across all rows. */
  values: number;
  /** Null on the one row of a breakdown without values. */
  value: string | null;
  count: number | null;
}

/**
 * The `limit` most common values of a dimension over the users matching `where` (alias `u`) with
 * how many users have each (ties by value), along with the number of users, of users with a
 * value and of distinct values. One statement, one pass over the matching users; at least one row.
 */
export function breakdownRows(
  db: RawSqlClient,
  realmId: string,
  by: BreakdownDimension,
  attributeKey: string | null,
  where: Prisma.Sql,
  limit: number,
) {
  const rs = realmSql(db, realmId);
  return rs.query<BreakdownRow>`
    WITH ${breakdownSql(rs, by, attributeKey, where)}
    SELECT t.total::int, t.valued::int, t."values"::int, v.value, v.n::int AS count
    FROM t LEFT JOIN LATERAL (SELECT value, n FROM g ORDER BY n DESC, value LIMIT ${limit}) v ON TRUE`;
}
