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

const EPOCH = raw(`timestamptz '1970-01-01 00:00:00+00'`);
const QUARTER_HOUR_S = 900;
/** The lower bound of "every count before": users may be created (imported) before 1970. */
const BEGINNING = raw(`'-infinity'::timestamptz`);

/**
 * The realm's maintained event counts (`AnalyticsCount`, see the `analytics_counts` migration) of
 * `metrics` in [from, to), with the deltas not yet folded into them: rows (metric, period, key, n).
 */
function countsSql(rs: RealmSql, metrics: string[] | Prisma.Sql, from: Prisma.Sql, to: Prisma.Sql): Prisma.Sql {
  const names = Array.isArray(metrics) ? sql`${metrics}::text[]` : metrics;
  return sql`(
    SELECT x.metric, x.period, x.key, x.count AS n FROM "AnalyticsCount" x
    WHERE ${rs.realm('x')} AND x.metric = ANY(${names}) AND x.period >= ${from} AND x.period < ${to}
    UNION ALL
    SELECT y.metric, y.period, y.key, y.delta FROM "AnalyticsCountDelta" y
    WHERE ${rs.realm('y')} AND y.metric = ANY(${names}) AND y.period >= ${from} AND y.period < ${to})`;
}

/**
 * Whether every bucket of `b` starts and ends on a quarter hour (UTC), as the buckets of every
 * time zone's offsets in use do: then the maintained counts add up exactly to them. Else
 * (local mean time, which some places kept until the 1970s) the figures are counted from the rows.
 */
const ALIGNED = sql`bool_and(mod(extract(epoch FROM start), ${QUARTER_HOUR_S}) = 0 AND mod(extract(epoch FROM "end"), ${QUARTER_HOUR_S}) = 0)`;

/**
 * Maintained counts of `events` (e.g. `signUp`) per bucket: rows (event, key: the bucket's local
 * start, ckey: the count's key, n). A UTC day inside one bucket is read as a day; the quarter
 * hours of the days a bucket boundary (or the range's) cuts, as quarter hours. Needs CTEs `r`
 * (lo, hi: the range) over buckets that start and end on quarter hours.
 */
function bucketedCountsSql(rs: RealmSql, range: BucketRange, events: string[]): Prisma.Sql {
  const day = sql`interval '1 day'`;
  return sql`(
    WITH days AS (
      SELECT d.d, (d.d >= r.lo AND d.d + ${day} <= r.hi
        AND ${bucketOf(range, sql`d.d`)} = ${bucketOf(range, sql`(d.d + ${day} - interval '15 minutes')`)}) AS whole
      FROM r, generate_series(date_bin(${day}, r.lo, ${EPOCH}), r.hi - interval '1 millisecond', ${day}) d (d)
    )
    SELECT split_part(c.metric, ':', 1) AS event, ${bucketOf(range, sql`c.period`)} AS key, c.key AS ckey, sum(c.n) AS n
    FROM (
      SELECT c.* FROM ${countsSql(
        rs,
        events.map((e) => `${e}:day`),
        sql`(SELECT min(d) FROM days)`,
        sql`(SELECT hi FROM r)`,
      )} c JOIN days ON days.d = c.period AND days.whole
      UNION ALL
      SELECT c.* FROM days, r, LATERAL ${countsSql(
        rs,
        events.map((e) => `${e}:15m`),
        sql`greatest(days.d, r.lo)`,
        sql`least(days.d + ${day}, r.hi)`,
      )} c
      WHERE NOT days.whole
    ) c
    GROUP BY 1, 2, 3
    HAVING sum(c.n) <> 0)`;
}

/** The caps of the maintained activity counts by gap (`active:<cap>`), smallest first, in quarter hours. */
const ACTIVITY_GAP_CAPS = [100, 676, 3000, 36000];

/**
 * How many distinct users were active in [from, to) from the maintained counts of activity
 * records by gap: the records in it whose user's previous record is before `from`. Read from the
 * counts of the smallest cap at least as long as [from, to) (the fewest rows); every range asked
 * for (a bucket, an overview period) is shorter than the largest.
 */
function activeUsersCountedSql(rs: RealmSql, from: Prisma.Sql, to: Prisma.Sql): Prisma.Sql {
  const metric = sql`ARRAY[CASE ${join(
    ACTIVITY_GAP_CAPS.slice(0, -1).map(
      (cap) => sql`WHEN (${to}) - (${from}) <= ${`${cap * 15} minutes`}::interval THEN ${`active:${cap}`}`,
    ),
    ' ',
  )} ELSE ${`active:${ACTIVITY_GAP_CAPS.at(-1)}`} END]`;
  // The key cast only for gap counts: PostgreSQL may test this before the metric (a filter of the deltas).
  return sql`(SELECT COALESCE(sum(a.n), 0) FROM ${countsSql(rs, metric, from, to)} a
    WHERE a.period - (${from}) < (CASE WHEN a.metric LIKE 'active:%' THEN a.key::int END) * interval '15 minutes')`;
}

const UNIT_DAYS: Record<GrowthUnit, number> = { day: 1, week: 7, month: 31 };

/**
 * `instant` in a range of constants around the buckets' (a unit and a day more on each side):
 * what the planner estimates from its statistics, where the buckets' own bounds, computed in the
 * statement, look like a few rows. Rows of the margins fall in no bucket.
 */
function around(range: BucketRange, instant: Prisma.Sql): Prisma.Sql {
  const margin = (UNIT_DAYS[range.unit] + 1) * 86_400_000;
  const from = new Date(range.from.getTime() - margin);
  const to = new Date(range.to.getTime() + margin);
  return sql`${instant} >= ${from}::timestamptz AND ${instant} < ${to}::timestamptz`;
}

/**
 * The users a filtered figure is about (alias `u`, deleted ones included), in two parts: those not
 * deleted, which an index holding the filter's columns and the figures' (`User_realmId_country_status_live_idx`)
 * can answer without visiting the table, and the few deleted ones, by the index of deleted users.
 * One statement reads them once (a materialized CTE) and counts every figure from them.
 */
function scopeUsersSql(rs: RealmSql, scope: UserScope, columns: (deletedAt: Prisma.Sql) => Prisma.Sql): Prisma.Sql {
  const users = sql`FROM "User" u WHERE ${rs.realm('u')} AND ${scope.condition}`;
  // The live part names no column the index lacks: its deletion time is null, not read.
  return sql`SELECT ${columns(sql`NULL::timestamptz`)} ${users} AND u."deletedAt" IS NULL
      UNION ALL
      SELECT ${columns(sql`u."deletedAt"`)} ${users} AND u."deletedAt" IS NOT NULL`;
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
 * users active in it (`UserActivity`). One statement. Without a filter, from the maintained
 * counts (`AnalyticsCount`): a few hundred rows, whatever the number of users. With one, index
 * ranges of the matching users by creation and by deletion time, then the activity of each bucket.
 */
export function growthRows(db: RawSqlClient, realmId: string, range: BucketRange, scope: UserScope) {
  const rs = realmSql(db, realmId);
  const fromRows = (only: Prisma.Sql) => ({
    c: sql`
      SELECT ${bucketOf(range, sql`u."createdAt"`)} AS key, count(*) AS n FROM "User" u
      WHERE ${rs.realm('u')} AND u."createdAt" >= (SELECT lo FROM r) AND u."createdAt" < (SELECT hi FROM r) AND ${scope.condition} ${only}
      GROUP BY 1`,
    d: sql`
      SELECT ${bucketOf(range, sql`u."deletedAt"`)} AS key, count(*) AS n FROM "User" u
      WHERE ${rs.realm('u')} AND u."deletedAt" >= (SELECT lo FROM r) AND u."deletedAt" < (SELECT hi FROM r) AND ${scope.condition} ${only}
      GROUP BY 1`,
    // Users that existed when the first bucket started: created before it, less those deleted before it.
    z: sql`
      SELECT
        (SELECT count(*) FROM "User" u WHERE ${rs.realm('u')} AND u."createdAt" < (SELECT lo FROM r) AND ${scope.condition})
        - (SELECT count(*) FROM "User" u WHERE ${rs.realm('u')} AND u."deletedAt" < (SELECT lo FROM r) AND ${scope.condition}) AS n
      WHERE TRUE ${only}`,
  });
  let parts: { c: Prisma.Sql; d: Prisma.Sql; z: Prisma.Sql; m?: Prisma.Sql; a?: Prisma.Sql };
  let active: (from: Prisma.Sql, to: Prisma.Sql) => Prisma.Sql;
  if (scope.filtered) {
    // The matching users read once; from them to their activity (index on the user's records):
    // few users read few records, whatever the range.
    parts = {
      m: scopeUsersSql(rs, scope, (deletedAt) => sql`u.id, u."createdAt" AS c, ${deletedAt} AS d`),
      c: sql`
      SELECT ${bucketOf(range, sql`m.c`)} AS key, count(*) AS n FROM m
      WHERE m.c >= (SELECT lo FROM r) AND m.c < (SELECT hi FROM r)
      GROUP BY 1`,
      d: sql`
      SELECT ${bucketOf(range, sql`m.d`)} AS key, count(*) AS n FROM m
      WHERE m.d >= (SELECT lo FROM r) AND m.d < (SELECT hi FROM r)
      GROUP BY 1`,
      z: sql`
      SELECT count(*) FILTER (WHERE m.c < (SELECT lo FROM r)) - count(*) FILTER (WHERE m.d < (SELECT lo FROM r)) AS n FROM m`,
      a: sql`
      SELECT ${bucketOf(range, sql`x.period`)} AS key, count(DISTINCT x."userId") AS n
      FROM m JOIN "UserActivity" x ON ${rs.realm('x')} AND x."userId" = m.id
      WHERE ${around(range, sql`x.period`)}
      GROUP BY 1`,
    };
    active = () => sql`COALESCE(a.n, 0)`;
  } else {
    // Counted from the rows only when some bucket boundary is not on a quarter hour.
    const fallback = fromRows(sql`AND NOT (SELECT aligned FROM r)`);
    const before = (event: string) => sql`(SELECT COALESCE(sum(n), 0) FROM (
      SELECT n FROM ${countsSql(rs, [`${event}:day`], BEGINNING, sql`(SELECT date_bin('1 day', lo, ${EPOCH}) FROM r)`)} x
      UNION ALL
      SELECT n FROM ${countsSql(rs, [`${event}:15m`], sql`(SELECT date_bin('1 day', lo, ${EPOCH}) FROM r)`, sql`(SELECT lo FROM r)`)} y) s)`;
    parts = {
      c: sql`SELECT key, n FROM e WHERE event = 'signUp' AND (SELECT aligned FROM r) UNION ALL ${fallback.c}`,
      d: sql`SELECT key, n FROM e WHERE event = 'deletion' AND (SELECT aligned FROM r) UNION ALL ${fallback.d}`,
      z: sql`SELECT ${before('signUp')} - ${before('deletion')} AS n WHERE (SELECT aligned FROM r) UNION ALL ${fallback.z}`,
    };
    active = (from, to) => activeUsersCountedSql(rs, from, to);
  }
  return rs.query<GrowthRow>`
    WITH b AS (${bucketsSql(range)}),
    r AS (SELECT min(start) AS lo, max("end") AS hi, ${ALIGNED} AS aligned FROM b),
    ${parts.m ? sql`m AS MATERIALIZED (${parts.m}),` : sql`e AS ${bucketedCountsSql(rs, range, ['signUp', 'deletion'])},`}
    c AS (${parts.c}),
    d AS (${parts.d}),
    z AS (${parts.z})${
      parts.a
        ? sql`,
    a AS (${parts.a})`
        : empty
    }
    SELECT b.start, b."end",
      COALESCE(c.n, 0)::int AS "signUps",
      COALESCE(d.n, 0)::int AS deletions,
      (z.n + sum(COALESCE(c.n, 0) - COALESCE(d.n, 0)) OVER (ORDER BY b.key))::int AS "usersAtEnd",
      ${active(sql`b.start`, sql`b."end"`)}::int AS "activeUsers"
    FROM b CROSS JOIN z
      LEFT JOIN c ON c.key = b.key
      LEFT JOIN d ON d.key = b.key
      ${parts.a ? sql`LEFT JOIN a ON a.key = b.key` : empty}
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
 * has at least one row. Without a filter, from the maintained counts; with one, only attempts by
 * matching users (so none by an unknown identifier), over an index range of the realm's events.
 */
export function signInRows(db: RawSqlClient, realmId: string, range: BucketRange, scope: UserScope) {
  const rs = realmSql(db, realmId);
  const fromRows = (only: Prisma.Sql) => sql`
      SELECT ${bucketOf(range, sql`e.at`)} AS key, e.success, e.method, e."failureReason" AS reason, count(*)::int AS n
      FROM "LoginEvent" e
      WHERE ${rs.realm('e')} AND e.at >= (SELECT lo FROM r) AND e.at < (SELECT hi FROM r) ${only}
      GROUP BY 1, 2, 3, 4`;
  // With a filter, from the matching users to their events (index on the user's events); `m` is
  // read once, so the planner joins into it (materialized, it would hash every event of the range).
  const events = scope.filtered
    ? sql`
      SELECT ${bucketOf(range, sql`e.at`)} AS key, e.success, e.method, e."failureReason" AS reason, count(*)::int AS n
      FROM m JOIN "LoginEvent" e ON ${rs.realm('e')} AND e."userId" = m.id
      WHERE ${around(range, sql`e.at`)}
      GROUP BY 1, 2, 3, 4`
    : sql`
      SELECT c.key, (c.ckey::jsonb ->> 0)::boolean AS success, c.ckey::jsonb ->> 1 AS method, c.ckey::jsonb ->> 2 AS reason, c.n::int AS n
      FROM ${bucketedCountsSql(rs, range, ['signIn'])} c WHERE (SELECT aligned FROM r)
      UNION ALL ${fromRows(sql`AND NOT (SELECT aligned FROM r)`)}`;
  return rs.query<SignInRow>`
    WITH b AS (${bucketsSql(range)}),
    r AS (SELECT min(start) AS lo, max("end") AS hi, ${ALIGNED} AS aligned FROM b),
    ${scope.filtered ? sql`m AS (${scopeUsersSql(rs, scope, () => sql`u.id`)}),` : empty}
    e AS (${events})
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
 * When each user event counted by `AnalyticsCount` happened (alias `u`), among the users it
 * counts: the instant is the latest of `times`, none of them null, and `condition` holds.
 */
const USER_EVENTS = {
  signUp: { times: ['createdAt'], condition: sql`TRUE` },
  deletion: { times: ['deletedAt'], condition: sql`TRUE` },
  verifiedSignUp: { times: ['createdAt'], condition: sql`u."emailVerified"` },
  verifiedDeletion: { times: ['createdAt', 'deletedAt'], condition: sql`u."emailVerified"` },
  mfaSignUp: { times: ['createdAt', 'mfaSince'], condition: sql`TRUE` },
  mfaDeletion: { times: ['createdAt', 'mfaSince', 'deletedAt'], condition: sql`TRUE` },
};

/**
 * How many users an event counted before the instant `at`: the maintained counts of the months
 * (UTC) before its month, the days of its month before its day and the quarter hours of its day
 * before its quarter hour (some 150 rows at most), and the users inside its quarter hour.
 */
function countedBeforeSql(rs: RealmSql, event: keyof typeof USER_EVENTS, at: Prisma.Sql): Prisma.Sql {
  const month = sql`date_trunc('month', ${at}, 'UTC')`;
  const day = sql`date_bin('1 day', ${at}, ${EPOCH})`;
  const quarter = sql`date_bin('15 minutes', ${at}, ${EPOCH})`;
  const { times, condition } = USER_EVENTS[event];
  const columns = times.map((time) => raw(`u."${time}"`));
  const instant = columns.length === 1 ? columns[0]! : sql`greatest(${join(columns, ', ')})`;
  // Each column in the quarter hour on its own, so that index ranges find the users.
  const inQuarter = join(
    columns.map((column) => sql`(${column} >= ${quarter} AND ${column} < ${at})`),
    ' OR ',
  );
  const present = join(
    columns.map((column) => sql`${column} IS NOT NULL`),
    ' AND ',
  );
  return sql`((SELECT COALESCE(sum(n), 0) FROM (
      SELECT n FROM ${countsSql(rs, [`${event}:month`], BEGINNING, month)} a
      UNION ALL
      SELECT n FROM ${countsSql(rs, [`${event}:day`], month, day)} b
      UNION ALL
      SELECT n FROM ${countsSql(rs, [`${event}:15m`], day, quarter)} c) s)
    + (SELECT count(*) FROM "User" u
       WHERE ${rs.realm('u')} AND (${inQuarter}) AND ${present}
         AND ${instant} >= ${quarter} AND ${instant} < ${at} AND ${condition}))`;
}

/**
 * The overview's figures of every user (no filter) from the maintained counts: users existing,
 * new, verified and with a second factor at an instant from the counted starts and stops;
 * suspended and locked users from the few that are (by index).
 */
async function countedOverviewRows(
  rs: RealmSql,
  periods: Prisma.Sql,
  active: (i: number) => Prisma.Sql,
): Promise<Record<string, bigint>[]> {
  const at = (name: string) => sql`(SELECT ${raw(name)} FROM w)`;
  const before = (event: keyof typeof USER_EVENTS, name: string) => countedBeforeSql(rs, event, at(name));
  const figures = [0, 1].map((i) => {
    const [f, t, e] = [`f${i}`, `t${i}`, `e${i}`];
    return sql`
      ${before('signUp', e)} - ${before('deletion', e)} + x.${raw(`early${i}`)} AS ${raw(`total${i}`)},
      ${before('signUp', t)} - ${before('signUp', f)} AS ${raw(`new${i}`)},
      ${before('verifiedSignUp', e)} - ${before('verifiedDeletion', e)} AS ${raw(`verified${i}`)},
      ${before('mfaSignUp', e)} - ${before('mfaDeletion', e)} AS ${raw(`mfa${i}`)},
      x.${raw(`suspended${i}`)}, x.${raw(`locked${i}`)},
      ${active(i)} AS ${raw(`active${i}`)}`;
  });
  const exists = (e: Prisma.Sql) => sql`u."createdAt" < ${e} AND (u."deletedAt" IS NULL OR u."deletedAt" >= ${e})`;
  // `early`: users deleted before they were created (as imported), whom the deletions before an
  // instant take away although the sign-ups before it did not count them.
  const few = [0, 1].map((i) => {
    const e = raw(`w.e${i}`);
    return sql`
        count(*) FILTER (WHERE ${exists(e)} AND u.status = 'SUSPENDED' AND (u."suspendedAt" IS NULL OR u."suspendedAt" < ${e})) AS ${raw(`suspended${i}`)},
        count(*) FILTER (WHERE ${exists(e)} AND u."lockedUntil" > ${e} AND (u."lastFailedLoginAt" IS NULL OR u."lastFailedLoginAt" <= ${e})) AS ${raw(`locked${i}`)},
        count(*) FILTER (WHERE u."deletedAt" < ${e} AND u."createdAt" >= ${e}) AS ${raw(`early${i}`)}`;
  });
  return rs.query<Record<string, bigint>>`
    WITH w AS (SELECT ${periods}),
    x AS (
      SELECT ${join(few, ', ')}
      FROM w, "User" u
      WHERE ${rs.realm('u')} AND (u.status = 'SUSPENDED' OR u."lockedUntil" IS NOT NULL OR u."deletedAt" IS NOT NULL)
    )
    SELECT ${join(figures, ', ')} FROM x`;
}

/**
 * The overview's figures of two periods (0: the one compared to, 1: the one asked for), one
 * statement. Without a filter from the maintained counts; with one, one pass over the matching
 * users (live ones from an index alone) asking the index of each one's activity whether they were
 * active in each period, and the few suspended or locked ones by their indexes. A figure "at the end" of a period is taken at its end,
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
  // The bounds as parameters, not from `w`: the planner then knows how many records they hold.
  const bounds = (i: number): [Prisma.Sql, Prisma.Sql] => [
    sql`(${periods[i]!.from}::timestamptz - ${overlap})`,
    sql`${periods[i]!.to}::timestamptz`,
  ];
  const w = periods.map(
    ({ from, to }, i) =>
      sql`${from}::timestamptz AS ${raw(`f${i}`)}, ${to}::timestamptz AS ${raw(`t${i}`)}, least(${to}::timestamptz, now()) AS ${raw(`e${i}`)}`,
  );
  if (!scope.filtered) {
    const row = (await countedOverviewRows(rs, join(w, ', '), (i) => activeUsersCountedSql(rs, ...bounds(i)))).at(0);
    return Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key, Number(value)])) as OverviewRow;
  }
  // Whether a user has activity in a period: one index probe per matching user (their records in
  // time order), where the realm's records of a period can be most of them.
  const activeIn = (i: number) => {
    const [from, to] = bounds(i);
    return sql`EXISTS (SELECT 1 FROM "UserActivity" x WHERE ${rs.realm('x')} AND x."userId" = u.id AND x.period >= ${from} AND x.period < ${to}) AS ${raw(`a${i}`)}`;
  };
  const figures = [0, 1].map((i) => {
    const [f, t, e] = [`w.f${i}`, `w.t${i}`, `w.e${i}`].map(raw);
    const exists = sql`m.c < ${e} AND (m.d IS NULL OR m.d >= ${e})`;
    return sql`
        count(*) FILTER (WHERE ${exists}) AS ${raw(`total${i}`)},
        count(*) FILTER (WHERE m.c >= ${f} AND m.c < ${t}) AS ${raw(`new${i}`)},
        count(*) FILTER (WHERE ${exists} AND m.v) AS ${raw(`verified${i}`)},
        count(*) FILTER (WHERE ${exists} AND m.mfa < ${e}) AS ${raw(`mfa${i}`)},
        count(*) FILTER (WHERE m.${raw(`a${i}`)}) AS ${raw(`active${i}`)}`;
  });
  // Suspended and locked users from the few that are or were (indexes of status and lockout).
  const few = [0, 1].map((i) => {
    const e = raw(`w.e${i}`);
    const exists = sql`u."createdAt" < ${e} AND (u."deletedAt" IS NULL OR u."deletedAt" >= ${e})`;
    return sql`
        count(*) FILTER (WHERE ${exists} AND u.status = 'SUSPENDED' AND (u."suspendedAt" IS NULL OR u."suspendedAt" < ${e})) AS ${raw(`suspended${i}`)},
        count(*) FILTER (WHERE ${exists} AND u."lockedUntil" > ${e} AND (u."lastFailedLoginAt" IS NULL OR u."lastFailedLoginAt" <= ${e})) AS ${raw(`locked${i}`)}`;
  });
  // The matching users read once, with the time of their first second factor kept on their row
  // (`mfaSince`, the earliest factor they still have).
  const [row] = await rs.query<Record<string, bigint>>`
    WITH w AS (SELECT ${join(w, ', ')}),
    m AS MATERIALIZED (${scopeUsersSql(
      rs,
      scope,
      (deletedAt) =>
        sql`u."createdAt" AS c, ${deletedAt} AS d, u."emailVerified" AS v, u."mfaSince" AS mfa, ${activeIn(0)}, ${activeIn(1)}`,
    )}),
    x AS (
      SELECT ${join(few, ', ')}
      FROM w, "User" u
      WHERE ${rs.realm('u')} AND (u.status = 'SUSPENDED' OR u."lockedUntil" IS NOT NULL) AND ${scope.condition}
    ),
    y AS (SELECT ${join(figures, ', ')} FROM w LEFT JOIN m ON TRUE)
    SELECT y.*, x.* FROM y, x`;
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

/** The column of `UserBreakdownState` holding a user's roles or tenants (the keys of a JSON object). */
const HELD: Record<'ROLE' | 'TENANT', string> = { ROLE: 'roles', TENANT: 'tenants' };

/**
 * The sign-in methods as `UserFilter.authMethods` defines them (alias `u`), identities and
 * passkeys through `authMethodJoins` (aliases `oi`, `pk`). Not `u.id IN (SELECT …)` inside the
 * counts: PostgreSQL hashes such a subplan only while the set fits `work_mem`, and past that
 * (350,000 identities) reads the whole set again for every user — minutes on 1,000,000 users.
 */
function authMethods(): [string, Prisma.Sql][] {
  return [
    ['PASSWORD', sql`u."passwordHash" IS NOT NULL`],
    ['EMAIL_CODE', sql`(u.email IS NOT NULL AND u."emailVerified")`],
    ['PHONE', sql`(u.phone IS NOT NULL AND u."phoneVerified")`],
    ['OAUTH', sql`oi."userId" IS NOT NULL`],
    ['PASSKEY', sql`pk."userId" IS NOT NULL`],
  ];
}

/** The users (alias `u`) with an identity (`oi`) or a passkey (`pk`): one row each, joined. */
function authMethodJoins(rs: RealmSql): Prisma.Sql {
  return sql`
    LEFT JOIN (SELECT DISTINCT i."userId" FROM "Identity" i WHERE ${rs.realm('i')}) oi ON oi."userId" = u.id
    LEFT JOIN (SELECT DISTINCT f."userId" FROM "MfaFactor" f WHERE ${rs.realm('f')} AND f.type = 'WEBAUTHN') pk
      ON pk."userId" = u.id`;
}

/** Users not deleted, from the realm's maintained counts (`UserCount`). */
function liveUsersSql(rs: RealmSql): Prisma.Sql {
  return sql`(SELECT COALESCE(sum(n), 0) FROM (
    SELECT c.count AS n FROM "UserCount" c WHERE ${rs.realm('c')} AND c.metric = 'total' AND c.bucket = ${EPOCH}
    UNION ALL
    SELECT d.delta FROM "UserCountDelta" d WHERE ${rs.realm('d')} AND d.metric = 'total' AND d.bucket = ${EPOCH}) s)`;
}

/** The dimensions whose counts of users the database keeps (`UserBreakdownCount`). */
const COUNTED_DIMENSIONS: readonly BreakdownDimension[] = [
  'ROLE',
  'TENANT',
  'MFA_TYPE',
  'AUTH_METHOD',
  'STATUS',
  'COUNTRY',
];

/**
 * `breakdownSql` over every user not deleted (no filter). But by a custom attribute, from the
 * realm's maintained counts (`UserBreakdownCount`, see the `user_breakdown_counts` migration)
 * with the deltas not yet folded: a row per value held and one of the users with a value,
 * whatever the number of users.
 */
function everyUserBreakdownSql(rs: RealmSql, by: BreakdownDimension, attributeKey: string | null): Prisma.Sql {
  if (!COUNTED_DIMENSIONS.includes(by)) return breakdownSql(rs, by, attributeKey, sql`u."deletedAt" IS NULL`);
  const dimensions = sql`ARRAY[${by}, 'valued']::text[]`;
  return sql`
      c AS (
        SELECT s.dimension, s.value, sum(s.n) AS n FROM (
          SELECT x.dimension, x.value, x.count AS n FROM "UserBreakdownCount" x
          WHERE ${rs.realm('x')} AND x.dimension = ANY(${dimensions})
          UNION ALL
          SELECT y.dimension, y.value, y.delta FROM "UserBreakdownCountDelta" y
          WHERE ${rs.realm('y')} AND y.dimension = ANY(${dimensions})) s
        GROUP BY s.dimension, s.value HAVING sum(s.n) <> 0
      ),
      g AS (SELECT value, n FROM c WHERE dimension = ${by}),
      t AS (SELECT ${liveUsersSql(rs)} AS total,
        COALESCE((SELECT n FROM c WHERE dimension = 'valued' AND value = ${by}), 0) AS valued,
        (SELECT count(*) FROM g) AS "values")`;
}

/**
 * The statement's groups `g` (value, n: users) and totals `t` (total: users matching, valued:
 * with a value, values: distinct values) of a dimension over the users matching `where`.
 */
function breakdownSql(rs: RealmSql, by: BreakdownDimension, attributeKey: string | null, where: Prisma.Sql | null) {
  if (!where) return everyUserBreakdownSql(rs, by, attributeKey);
  const users = sql`FROM "User" u WHERE ${rs.realm('u')} AND ${where}`;
  if (by === 'COUNTRY' || by === 'STATUS' || by === 'CUSTOM_ATTRIBUTE') {
    return sql`
      a AS (SELECT ${singleValue(by, attributeKey)} AS value, count(*) AS n ${users} GROUP BY 1),
      g AS (SELECT value, n FROM a WHERE value IS NOT NULL),
      t AS (SELECT COALESCE(sum(n), 0) AS total, COALESCE(sum(n) FILTER (WHERE value IS NOT NULL), 0) AS valued,
        count(value) AS "values" FROM a)`;
  }
  if (by === 'AUTH_METHOD') {
    const methods = authMethods();
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
        FROM "User" u ${authMethodJoins(rs)} WHERE ${rs.realm('u')} AND ${where}
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
  if (by === 'ROLE' || by === 'TENANT') {
    // From the matching users to their state rows by primary key, one pass: what each user holds
    // is one row (a role held realm-wide and in tenants is one key), where the assignments or
    // memberships would be joined to the users once for the counts and scanned again for `valued`.
    return sql`
      m AS (
        SELECT COALESCE(b.${raw(`"${HELD[by]}"`)}, '{}') AS v
        FROM "User" u LEFT JOIN "UserBreakdownState" b ON b."realmId" = u."realmId" AND b."userId" = u.id
        WHERE ${rs.realm('u')} AND ${where}
      ),
      g AS (SELECT k.value, count(*) AS n FROM m, jsonb_object_keys(m.v) k (value) GROUP BY 1),
      t AS (SELECT count(*) AS total, count(*) FILTER (WHERE m.v <> '{}') AS valued, (SELECT count(*) FROM g) AS "values" FROM m)`;
  }
  // The factors table is small: joining it to the matching users beats reading their state rows.
  return sql`
      s AS (
        SELECT count(*) AS total, count(mf."userId") AS valued
        FROM "User" u
        -- A join, not u.id IN (SELECT …) in the count: see authMethods.
        LEFT JOIN (SELECT DISTINCT x."userId" FROM "MfaFactor" x WHERE ${rs.realm('x')}) mf ON mf."userId" = u.id
        WHERE ${rs.realm('u')} AND ${where}
      ),
      g AS (
        SELECT x.type::text AS value, count(DISTINCT x."userId") AS n
        FROM "MfaFactor" x JOIN "User" u ON u."realmId" = x."realmId" AND u.id = x."userId"
        WHERE ${rs.realm('x')} AND ${rs.realm('u')} AND ${where}
        GROUP BY x.type
      ),
      t AS (SELECT s.total, s.valued, (SELECT count(*) FROM g) AS "values" FROM s)`;
}

/**
 * A breakdown's groups `g` and totals `t` (as `breakdownSql` defines them) as one relation: a row
 * per value (kind `g`) and one of totals (kind `t`).
 */
function breakdownRelation(inner: Prisma.Sql): Prisma.Sql {
  return sql`(WITH ${inner}
      SELECT 'g' AS kind, g.value, g.n, NULL::bigint AS total, NULL::bigint AS valued FROM g
      UNION ALL
      SELECT 't', NULL, NULL, t.total, t.valued FROM t)`;
}

/**
 * The groups `g` and totals `t` of the live users matching `condition` counted as every live
 * user's (the maintained counts) less those of the live users it leaves out: for a filter most
 * users match, a pass over the few it does not. The counts and the pass are read in one statement, so
 * from one snapshot.
 */
function complementBreakdownSql(rs: RealmSql, by: BreakdownDimension, condition: Prisma.Sql): Prisma.Sql {
  const outside = sql`u."deletedAt" IS NULL AND (${condition}) IS NOT TRUE`;
  return sql`
      p AS ${breakdownRelation(everyUserBreakdownSql(rs, by, null))},
      q AS ${breakdownRelation(breakdownSql(rs, by, null, outside))},
      g AS (
        SELECT p.value, p.n - COALESCE(q.n, 0) AS n
        FROM p LEFT JOIN q ON q.kind = 'g' AND q.value = p.value
        WHERE p.kind = 'g' AND p.n - COALESCE(q.n, 0) <> 0
      ),
      t AS (
        SELECT p.total - q.total AS total, p.valued - q.valued AS valued, (SELECT count(*) FROM g) AS "values"
        FROM p, q WHERE p.kind = 't' AND q.kind = 't'
      )`;
}

/** Whether `breakdownRows` can count the users matching `where` as every user less those left out. */
export function countedByComplement(by: BreakdownDimension): boolean {
  return COUNTED_DIMENSIONS.includes(by);
}

/**
 * The planner's estimates of the users matching `where` (alias `u`) and of the live users: one
 * EXPLAIN, no row read.
 */
export async function estimatedUsers(
  db: RawSqlClient,
  realmId: string,
  where: Prisma.Sql,
): Promise<{ matching: number; live: number }> {
  const rs = realmSql(db, realmId);
  const [row] = await rs.query<{ 'QUERY PLAN': unknown }>`EXPLAIN (FORMAT JSON)
    SELECT 1 FROM "User" u WHERE ${rs.realm('u')} AND ${where}
    UNION ALL
    SELECT 1 FROM "User" u WHERE ${rs.realm('u')} AND u."deletedAt" IS NULL`;
  const raw = row?.['QUERY PLAN'];
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: PlanNode }];
  const [matching, live] = (plan[0].Plan.Plans ?? []).map((node) => node['Plan Rows']);
  return { matching: matching ?? 0, live: live ?? 0 };
}

interface PlanNode {
  'Plan Rows': number;
  Plans?: PlanNode[];
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
 * The `limit` most common values of a dimension over the users matching `where` (alias `u`; null:
 * every user not deleted) with how many users have each (ties by value), along with the number of
 * users, of users with a value and of distinct values. One statement, one pass over the matching
 * users (by role or tenant joined to their `UserBreakdownState` rows; without a filter, but by a
 * custom attribute: the maintained counts); at least one row.
 */
export function breakdownRows(
  db: RawSqlClient,
  realmId: string,
  by: BreakdownDimension,
  attributeKey: string | null,
  where: Prisma.Sql | null,
  limit: number,
  complementOf: Prisma.Sql | null = null,
) {
  const rs = realmSql(db, realmId);
  return rs.query<BreakdownRow>`
    WITH ${complementOf ? complementBreakdownSql(rs, by, complementOf) : breakdownSql(rs, by, attributeKey, where)}
    SELECT t.total::int, t.valued::int, t."values"::int, v.value, v.n::int AS count
    FROM t LEFT JOIN LATERAL (SELECT value, n FROM g ORDER BY n DESC, value LIMIT ${limit}) v ON TRUE`;
}
