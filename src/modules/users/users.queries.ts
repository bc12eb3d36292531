import { Prisma, type UserStatus } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient, type RealmSql } from '../../db/realm-sql.ts';
import { activityPeriod } from './users.activity.ts';

const { sql, raw, join, empty } = Prisma;

/**
 * Notes activity on a session and its user in one statement: the session's `lastActiveAt` and
 * `expiresAt`, the user's `lastActiveAt`, and the user's `UserActivity` row of the quarter hour
 * (`activityPeriod`) when it is not there yet. The user's `updatedAt` stays: activity is no change to them.
 */
export async function noteSessionActivity(
  db: RawSqlClient,
  realmId: string,
  sessionId: string,
  now: Date,
  expiresAt: Date,
): Promise<void> {
  const sql = realmSql(db, realmId);
  await sql.execute`
    WITH touched AS (
      UPDATE "Session" SET "lastActiveAt" = ${now}, "expiresAt" = ${expiresAt}
      WHERE id = ${sessionId}::uuid AND ${sql.realm()}
      RETURNING "userId"
    ), noted AS (
      UPDATE "User" AS u SET "lastActiveAt" = ${now}
      FROM touched WHERE u.id = touched."userId" AND ${sql.realm('u')}
      RETURNING u."realmId", u.id
    )
    INSERT INTO "UserActivity" ("realmId", period, "userId")
    SELECT noted."realmId", ${activityPeriod(now)}, noted.id FROM noted
    ON CONFLICT DO NOTHING`;
}

/** Locks the user's row until the transaction ends, so concurrent changes to one user queue up. */
export async function lockUser(db: RawSqlClient, realmId: string, userId: string): Promise<void> {
  const rs = realmSql(db, realmId);
  await rs.query`SELECT 1 FROM "User" WHERE ${rs.realm()} AND id = ${userId}::uuid FOR UPDATE`;
}

export interface TakenRow {
  email: string | null;
  username: string | null;
  uniqueId: string | null;
  active: boolean;
}

/**
 * The users (other than `exceptUserId`) holding any of these values: emails and usernames among
 * users not deleted (ignoring case), unique ids among all users. One statement.
 */
export async function takenRows(
  db: RawSqlClient,
  realmId: string,
  values: { emails: string[]; usernames: string[]; uniqueIds: string[] },
  exceptUserId: string | null = null,
): Promise<TakenRow[]> {
  if (values.emails.length + values.usernames.length + values.uniqueIds.length === 0) return [];
  const rs = realmSql(db, realmId);
  // Parameters are sent as text[] and cast in SQL: PGlite serializes a parameter by the type it
  // knows, and does not always know an extension's array type (citext[] arrived as a scalar).
  return rs.query<TakenRow>`
    SELECT email::text AS email, username::text AS username, "uniqueId", ("deletedAt" IS NULL) AS active FROM "User"
    WHERE ${rs.realm()} AND id IS DISTINCT FROM ${exceptUserId}::uuid
      AND (("deletedAt" IS NULL AND (email = ANY(${values.emails}::text[]::citext[]) OR username = ANY(${values.usernames}::text[]::citext[])))
        OR "uniqueId" = ANY(${values.uniqueIds}::text[]))`;
}

/** Audit events not targeting `targetIds` whose changes mention any of `patterns` (LIKE, lower case). */
export function auditEventsMentioning(
  db: RawSqlClient,
  realmId: string,
  targetIds: readonly string[],
  patterns: readonly string[],
): Promise<{ id: string; targetId: string | null; changes: Prisma.JsonValue }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT id, "targetId", changes FROM "AuditEvent"
    WHERE ${rs.realm()} AND NOT ("targetId" = ANY(${[...targetIds]}::text[]) AND "targetId" IS NOT NULL)
      AND lower(changes::text) LIKE ANY(${[...patterns]}::text[])`;
}

/** Tenant members only: a user-listing scope (alias `u`). */
export function memberOfTenant(tenantId: string): Prisma.Sql {
  return sql`EXISTS (SELECT 1 FROM "TenantMembership" m WHERE m."realmId" = u."realmId" AND m."userId" = u.id AND m."tenantId" = ${tenantId}::uuid)`;
}

/** Holders of the role, globally or in a tenant: a user-listing scope (alias `u`). */
export function holderOfRole(roleId: string): Prisma.Sql {
  return sql`EXISTS (SELECT 1 FROM "UserRole" ur WHERE ur."realmId" = u."realmId" AND ur."userId" = u.id AND ur."roleId" = ${roleId}::uuid)`;
}

/**
 * Which users a bulk operation selects (alias `u`): those matching `condition`, among `ids`
 * when given, and not deleted when `liveOnly`.
 */
export interface UserSelection {
  condition: Prisma.Sql | null;
  ids: readonly string[] | null;
  liveOnly: boolean;
}

function selectionCondition({ condition, ids, liveOnly }: UserSelection): Prisma.Sql {
  const parts = condition ? [condition] : [];
  if (ids) parts.push(sql`u.id = ANY(${[...new Set(ids)]}::uuid[])`);
  if (liveOnly) parts.push(sql`u."deletedAt" IS NULL`);
  return parts.length ? join(parts, ' AND ') : sql`TRUE`;
}

/** Up to `limit` ids of the selected users in id order, locked when `lock`. */
export function selectedUserIds(
  db: RawSqlClient,
  realmId: string,
  selection: UserSelection,
  limit: number,
  lock: boolean,
): Promise<{ id: string }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
      SELECT u.id FROM "User" u WHERE ${rs.realm('u')} AND ${selectionCondition(selection)} ORDER BY u.id LIMIT ${limit} ${lock ? sql`FOR UPDATE` : empty}`;
}

/** How many users the selection holds. */
export async function countSelectedUsers(db: RawSqlClient, realmId: string, selection: UserSelection): Promise<number> {
  const rs = realmSql(db, realmId);
  const [row] = await rs.query<{ count: bigint }>`
    SELECT count(*)::bigint AS count FROM "User" u WHERE ${rs.realm('u')} AND ${selectionCondition(selection)}`;
  return Number(row?.count ?? 0);
}

/**
 * Key of a user ordering: an SQL expression over alias `u`, the type its cursor value is cast to.
 * `nullsOf` marks the `(column IS NULL)` key that puts a nullable column's nulls last.
 */
export interface SortKey {
  expr: string;
  cast: string;
  direction: 'ASC' | 'DESC';
  nullsOf?: string;
}

export type CursorValue = string | boolean | null;

/** A page boundary: rows strictly after `values` in key order, or strictly before them. */
export interface Cursor {
  values: CursorValue[];
  before: boolean;
}

/**
 * Rows strictly after the cursor in the given key order (expanded, since directions may differ),
 * led by a bound on the first key that an index range can start from.
 */
function keysetCondition(keys: SortKey[], values: CursorValue[], reverse: boolean): Prisma.Sql {
  const alternatives: Prisma.Sql[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = values[i];
    if (value === null || value === undefined) continue;
    const ascending = (key.direction === 'ASC') !== reverse;
    const parts: Prisma.Sql[] = [];
    for (let j = 0; j < i; j++) {
      const prior = keys[j]!;
      const priorValue = values[j];
      parts.push(
        priorValue === null || priorValue === undefined
          ? sql`${raw(prior.expr)} IS NULL`
          : sql`${raw(prior.expr)} = ${priorValue}::${raw(prior.cast)}`,
      );
    }
    parts.push(sql`${raw(key.expr)} ${raw(ascending ? '>' : '<')} ${value}::${raw(key.cast)}`);
    alternatives.push(sql`(${join(parts, ' AND ')})`);
  }
  if (!alternatives.length) return sql`FALSE`;
  const first = keys[0];
  const firstValue = values[0];
  const bound =
    first && firstValue !== null && firstValue !== undefined
      ? sql`${raw(first.expr)} ${raw((first.direction === 'ASC') !== reverse ? '>=' : '<=')} ${firstValue}::${raw(first.cast)} AND `
      : empty;
  return sql`(${bound}(${join(alternatives, ' OR ')}))`;
}

/** A listing's condition (alias `u`), narrowed by `scope`, e.g. `memberOfTenant`. */
export function listingCondition(condition: Prisma.Sql, scope: Prisma.Sql | undefined): Prisma.Sql {
  return scope ? sql`${condition} AND ${scope}` : condition;
}

interface PageQuery {
  where: Prisma.Sql;
  cursors: Cursor[];
  keys: SortKey[];
  backward: boolean;
  limit: number;
  /** Columns of `User` read with the page (see `PAGE_COLUMNS`), beside the id and the sort keys. */
  columns?: readonly PageColumn[];
  /** Relations read with the page as JSON, each as `r_<field>` (see `compileRelations`). */
  relations?: readonly { field: string; sql: Prisma.Sql }[];
}

/**
 * The `User` columns a page can read along with its ids: those whose values a raw statement
 * returns exactly as the Prisma client's model queries do (text, citext, booleans, integers,
 * enums, timestamptz), not dates, JSON or arrays.
 */
export const PAGE_COLUMNS = new Set([
  'email',
  'emailVerified',
  'phone',
  'phoneVerified',
  'username',
  'uniqueId',
  'name',
  'givenName',
  'familyName',
  'nickname',
  'picture',
  'bio',
  'gender',
  'locale',
  'timezone',
  'country',
  'region',
  'city',
  'status',
  'suspendedReason',
  'suspendedAt',
  'passwordHash',
  'passwordChangedAt',
  'passwordExpired',
  'lockedUntil',
  'failedLoginAttempts',
  'lastFailedLoginAt',
  'createdAt',
  'updatedAt',
  'lastLoginAt',
  'lastActiveAt',
  'deletedAt',
  'version',
  'mfaFactorCount',
] as const);
export type PageColumn = typeof PAGE_COLUMNS extends Set<infer C> ? C : never;

function orderClause(keys: SortKey[], backward: boolean, expr: (key: SortKey, i: number) => string): Prisma.Sql {
  return join(
    keys.map((k, i) => raw(`${expr(k, i)} ${(k.direction === 'ASC') !== backward ? 'ASC' : 'DESC'}`)),
    ', ',
  );
}

/**
 * The page's rows. An ordering led by a nullable column runs as two index-ordered parts, the
 * column's values then its nulls (ordered by the remaining keys), each stopping at the limit:
 * `ORDER BY (col IS NULL), col, id` as such can use no index and sorts every matching row.
 */
function pageRowsSql(realm: Prisma.Sql, page: PageQuery): Prisma.Sql {
  const selected = join(
    [
      ...page.keys.map((k, i) => raw(`${k.expr} AS k${i}`)),
      // Names from PAGE_COLUMNS only: they are identifiers of the schema, never input.
      ...(page.columns ?? []).map((column) => raw(`u."${column}" AS "c_${column}"`)),
      ...(page.relations ?? []).map((relation) => sql`${relation.sql} AS ${raw(`"r_${relation.field}"`)}`),
    ],
    ', ',
  );
  const select = (conditions: Prisma.Sql[], keys: SortKey[]) => sql`
          SELECT u.id, ${selected} FROM "User" u
          WHERE ${join([realm, page.where, ...conditions], ' AND ')}
          ORDER BY ${orderClause(keys, page.backward, (k) => k.expr)}
          LIMIT ${page.limit}`;
  const [flag, ...rest] = page.keys;
  if (!flag?.nullsOf) {
    return select(
      page.cursors.map((c) => keysetCondition(page.keys, c.values, c.before)),
      page.keys,
    );
  }
  const parts: Prisma.Sql[] = [];
  for (const isNull of [false, true]) {
    const conditions = [sql`${raw(flag.nullsOf)} ${raw(isNull ? 'IS NULL' : 'IS NOT NULL')}`];
    let skipped = false;
    for (const cursor of page.cursors) {
      const cursorNull = cursor.values[0] as boolean;
      // Nulls come last: a part wholly after the cursor needs no condition, one wholly before it is skipped.
      if (cursorNull === isNull) conditions.push(keysetCondition(rest, cursor.values.slice(1), cursor.before));
      else if (isNull === cursor.before) skipped = true;
    }
    if (!skipped) parts.push(select(conditions, rest));
  }
  if (parts.length === 1) return parts[0]!;
  return sql`
          SELECT * FROM ((${join(parts, ') UNION ALL (')})) p
          ORDER BY ${orderClause(page.keys, page.backward, (_, i) => `k${i}`)}
          LIMIT ${page.limit}`;
}

/** The bucket of the maintained counts that are not per day or hour. */
const EPOCH = raw(`timestamptz '1970-01-01 00:00:00+00'`);

/**
 * One page of a user listing: `limit` rows of ids with their sort keys (`k0`, `k1`, …), and with
 * `withTotal` the number of users matching `where` (ignoring the cursors) in the same statement, so
 * a page with its total costs one round trip.
 */
export async function userPageRows(
  db: RawSqlClient,
  realmId: string,
  page: PageQuery,
  withTotal = false,
  counted: string[] | null = null,
): Promise<{ rows: Record<string, unknown>[]; total: number | null }> {
  const rs = realmSql(db, realmId);
  const rowsSql = pageRowsSql(rs.realm('u'), page);
  if (!withTotal) return { rows: await rs.query<Record<string, unknown>>`${rowsSql}`, total: null };
  // The count's row is always there; an empty page leaves one row with a null id.
  const rows = await rs.query<Record<string, unknown> & { total: bigint }>`
          SELECT p.*, c.total FROM (${totalSql(rs, page.where, counted)}) c
          LEFT JOIN LATERAL (${rowsSql}) p ON TRUE`;
  return { rows: rows.filter((row) => row.id != null), total: Number(rows[0]?.total ?? 0) };
}

/**
 * How many users of the realm match `where` (alias `u`): with `counted` (see `countedMetrics`)
 * the sum of those maintained counts, which `where` then selects exactly, without a scan.
 */
export async function countUsers(
  db: RawSqlClient,
  realmId: string,
  where: Prisma.Sql,
  counted: string[] | null = null,
): Promise<number> {
  const rs = realmSql(db, realmId);
  const [row] = await rs.query<{ total: bigint }>`${totalSql(rs, where, counted)}`;
  return Number(row?.total ?? 0);
}

function totalSql(rs: RealmSql, where: Prisma.Sql, counted: string[] | null): Prisma.Sql {
  if (!counted) return sql`SELECT count(*) AS total FROM "User" u WHERE ${rs.realm('u')} AND ${where}`;
  return sql`
    SELECT COALESCE(sum(n), 0)::bigint AS total FROM (
      SELECT x.count AS n FROM "UserCount" x
      WHERE ${rs.realm('x')} AND x.metric = ANY(${counted}::text[]) AND x.bucket = ${EPOCH}
      UNION ALL
      SELECT y.delta FROM "UserCountDelta" y
      WHERE ${rs.realm('y')} AND y.metric = ANY(${counted}::text[]) AND y.bucket = ${EPOCH}) counts`;
}

/** Totals over the users matching `where` (alias `u`), one row of counts, one statement. */
export async function userStatsRow(
  db: RawSqlClient,
  realmId: string,
  where: Prisma.Sql,
  statuses: readonly UserStatus[],
): Promise<Record<string, bigint> | undefined> {
  const rs = realmSql(db, realmId);
  const [row] = await rs.query<Record<string, bigint>>`
    SELECT
      count(*) AS total,
      ${join(
        statuses.map(
          (status) => sql`count(*) FILTER (WHERE u.status = ${status}::"UserStatus") AS ${raw(`"s_${status}"`)}`,
        ),
        ', ',
      )},
      count(*) FILTER (WHERE u."emailVerified") AS "emailVerified",
      count(*) FILTER (WHERE u."phoneVerified") AS "phoneVerified",
      count(*) FILTER (WHERE u."mfaFactorCount" > 0) AS "withMfa",
      count(*) FILTER (WHERE u."createdAt" >= now() - interval '7 days') AS "createdLast7Days",
      count(*) FILTER (WHERE u."createdAt" >= now() - interval '30 days') AS "createdLast30Days",
      count(*) FILTER (WHERE COALESCE(u."lastActiveAt", u."lastLoginAt") >= now() - interval '30 days') AS "activeLast30Days"
    FROM "User" u
    WHERE ${rs.realm('u')} AND ${where}`;
  return row;
}

/**
 * The same totals as `userStatsRow` over every user not deleted, from the realm's `UserCount`
 * rows and the deltas not yet folded into them (see the `user_counts_triggers` migration), in one
 * statement. "Since the boundary" adds up the days after the boundary's day, the hours of that
 * day after the boundary's hour, and the users inside the boundary's hour.
 */
export async function userCountsRow(
  db: RawSqlClient,
  realmId: string,
  statuses: readonly UserStatus[],
): Promise<Record<string, bigint> | undefined> {
  const rs = realmSql(db, realmId);
  const timeless = ['total', 'emailVerified', 'phoneVerified', 'withMfa', ...statuses.map((s) => `status:${s}`)];
  const counts = (table: string, column: string, alias: string) => {
    const [metric, bucket] = [raw(`${alias}.metric`), raw(`${alias}.bucket`)];
    return sql`
      SELECT ${metric}, ${bucket}, ${raw(`${alias}.${column}`)} AS n FROM ${raw(`"${table}" ${alias}`)}, w
      WHERE ${rs.realm(alias)} AND ((${metric} = ANY(${timeless}::text[]) AND ${bucket} = ${EPOCH})
        OR (${metric} IN ('created', 'active') AND ${bucket} >= w.d30)
        OR (${metric} IN ('created:hour', 'active:hour') AND ${bucket} >= w.h30 AND ${bucket} < w.d30)
        OR (${metric} = 'created:hour' AND ${bucket} >= w.h7 AND ${bucket} < w.d7))`;
  };
  const sum = (condition: Prisma.Sql) => sql`COALESCE(sum(c.n) FILTER (WHERE ${condition}), 0)`;
  const active = sql`COALESCE(u."lastActiveAt", u."lastLoginAt")`;
  const [row] = await rs.query<Record<string, bigint>>`
    WITH w AS (
      SELECT b7, b30,
        date_bin('1 hour', b7, ${EPOCH}) + interval '1 hour' AS h7, date_bin('1 day', b7, ${EPOCH}) + interval '1 day' AS d7,
        date_bin('1 hour', b30, ${EPOCH}) + interval '1 hour' AS h30, date_bin('1 day', b30, ${EPOCH}) + interval '1 day' AS d30
      FROM (SELECT now() - interval '7 days' AS b7, now() - interval '30 days' AS b30) b
    ), c AS (${counts('UserCount', 'count', 'x')} UNION ALL ${counts('UserCountDelta', 'delta', 'y')}
    ), p AS (
      SELECT
        count(*) FILTER (WHERE u."createdAt" >= w.b7 AND u."createdAt" < w.h7) AS c7,
        count(*) FILTER (WHERE u."createdAt" >= w.b30 AND u."createdAt" < w.h30) AS c30,
        count(*) FILTER (WHERE ${active} >= w.b30 AND ${active} < w.h30) AS a30
      FROM "User" u, w
      -- The bounds as scalar subqueries: an index range each, not a scan of the realm's users.
      WHERE ${rs.realm('u')} AND u."deletedAt" IS NULL AND (
        (u."createdAt" >= (SELECT b7 FROM w) AND u."createdAt" < (SELECT h7 FROM w))
        OR (u."createdAt" >= (SELECT b30 FROM w) AND u."createdAt" < (SELECT h30 FROM w))
        OR (u."lastActiveAt" >= (SELECT b30 FROM w) AND u."lastActiveAt" < (SELECT h30 FROM w))
        OR (u."lastActiveAt" IS NULL AND u."lastLoginAt" >= (SELECT b30 FROM w) AND u."lastLoginAt" < (SELECT h30 FROM w)))
    )
    SELECT
      ${sum(sql`c.metric = 'total'`)}::bigint AS total,
      ${join(
        statuses.map((status) => sql`${sum(sql`c.metric = ${`status:${status}`}`)}::bigint AS ${raw(`"s_${status}"`)}`),
        ', ',
      )},
      ${sum(sql`c.metric = 'emailVerified'`)}::bigint AS "emailVerified",
      ${sum(sql`c.metric = 'phoneVerified'`)}::bigint AS "phoneVerified",
      ${sum(sql`c.metric = 'withMfa'`)}::bigint AS "withMfa",
      (${sum(sql`c.metric = 'created' AND c.bucket >= w.d7`)}
        + ${sum(sql`c.metric = 'created:hour' AND c.bucket >= w.h7 AND c.bucket < w.d7`)} + p.c7)::bigint AS "createdLast7Days",
      (${sum(sql`c.metric = 'created'`)}
        + ${sum(sql`c.metric = 'created:hour' AND c.bucket < w.d30`)} + p.c30)::bigint AS "createdLast30Days",
      (${sum(sql`c.metric = 'active'`)} + ${sum(sql`c.metric = 'active:hour'`)} + p.a30)::bigint AS "activeLast30Days"
    FROM w CROSS JOIN p LEFT JOIN c ON TRUE
    GROUP BY w.b7, w.b30, w.h7, w.d7, w.h30, w.d30, p.c7, p.c30, p.a30`;
  return row;
}

export type UserValueField =
  'COUNTRY' | 'REGION' | 'CITY' | 'TIMEZONE' | 'LOCALE' | 'GENDER' | 'OAUTH_PROVIDER' | 'CUSTOM_ATTRIBUTE';

const USER_COLUMNS: Partial<Record<UserValueField, string>> = {
  COUNTRY: 'country',
  REGION: 'region',
  CITY: 'city',
  TIMEZONE: 'timezone',
  LOCALE: 'locale',
  GENDER: 'gender',
};

/** The values of `field` over the realm's users that are not deleted, one row per occurrence. */
function valueSource(field: UserValueField, realm: Prisma.Sql): Prisma.Sql {
  const users = sql`${realm} AND u."deletedAt" IS NULL`;
  const column = USER_COLUMNS[field];
  if (column) {
    return sql`SELECT u.${raw(`"${column}"`)}::text AS value FROM "User" u WHERE ${users} AND u.${raw(`"${column}"`)} IS NOT NULL`;
  }
  if (field === 'OAUTH_PROVIDER') {
    return sql`SELECT i.provider AS value FROM "Identity" i JOIN "User" u ON u."realmId" = i."realmId" AND u.id = i."userId" WHERE ${users}`;
  }
  return sql`SELECT jsonb_object_keys(u."customAttributes") AS value FROM "User" u WHERE ${users}`;
}

/** Values of `field` starting with `like` (a LIKE pattern) with their counts: one page, or the total. */
export function userValueQueries(db: RawSqlClient, realmId: string, field: UserValueField, like: string) {
  const rs = realmSql(db, realmId);
  const grouped = sql`
    SELECT value, count(*)::bigint AS count FROM (${valueSource(field, rs.realm('u'))}) v
    WHERE value ILIKE ${like} GROUP BY value`;
  return {
    page: (after: [number, string] | null, limit: number) => rs.query<{ value: string; count: bigint }>`
    SELECT value, count FROM (${grouped}) g
    ${after ? sql`WHERE (g.count < ${after[0]} OR (g.count = ${after[0]} AND g.value > ${after[1]}))` : empty}
    ORDER BY g.count DESC, g.value ASC
    LIMIT ${limit}`,
    total: async () => {
      const [row] = await rs.query<{ count: bigint }>`SELECT count(*) AS count FROM (${grouped}) g`;
      return Number(row?.count ?? 0);
    },
  };
}

/**
 * The management scope names a person holds through realm-wide roles and direct grants (null in
 * `scopes` when none) and when their session ends, while the session is live (not revoked, not
 * expired), the user active and not deleted, and the application enabled; no row otherwise.
 * Roles held inside a tenant grant no management scope: the management API acts on the whole
 * realm.
 */
export function personManagementScopeRows(
  db: RawSqlClient,
  realmId: string,
  caller: { userId: string; sessionId: string; applicationId: string },
  managementIndicator: string,
): Promise<{ scopes: string[] | null; sessionExpiresAt: Date }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT se."expiresAt" AS "sessionExpiresAt", ${heldScopes(sql`u.id`, null)} AS scopes
    FROM "Session" se
    JOIN "User" u ON u."realmId" = se."realmId" AND u.id = se."userId"
    JOIN "Application" a ON a."realmId" = se."realmId" AND a.id = ${caller.applicationId}::uuid
    JOIN "Resource" r ON r."realmId" = se."realmId" AND r.indicator = ${managementIndicator} AND r."builtIn"
    WHERE ${rs.realm('se')} AND se.id = ${caller.sessionId}::uuid AND se."userId" = ${caller.userId}::uuid
      AND se."revokedAt" IS NULL AND se."expiresAt" > now()
      AND u.status = 'ACTIVE' AND u."deletedAt" IS NULL AND a."disabledAt" IS NULL`;
}

/**
 * The realm's resource with this indicator (no row: none), and the scope names of it that the
 * user holds (null in `scopes` when none): through realm-wide roles, direct grants and — on a
 * resource other than the built-in management API — roles held inside `tenantId`.
 */
export function personResourceScopeRows(
  db: RawSqlClient,
  realmId: string,
  userId: string,
  indicator: string,
  tenantId: string | null,
): Promise<{ builtIn: boolean; scopes: string[] | null }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT r."builtIn", ${heldScopes(sql`${userId}::uuid`, tenantId)} AS scopes
    FROM "Resource" r
    WHERE ${rs.realm('r')} AND r.indicator = ${indicator}`;
}

/**
 * The names of the scopes of resource `r` that a user holds (null when none): through realm-wide
 * roles, direct grants, and roles held inside `tenantId` unless `r` is the built-in management
 * API (which acts on the whole realm).
 */
function heldScopes(userId: Prisma.Sql, tenantId: string | null): Prisma.Sql {
  return sql`(
    SELECT array_agg(DISTINCT s.name)
    FROM "ResourceScope" s
    WHERE s."realmId" = r."realmId" AND s."resourceId" = r.id AND (
      EXISTS (
        SELECT 1 FROM "UserRole" ur
        JOIN "RoleScope" rsc ON rsc."realmId" = ur."realmId" AND rsc."roleId" = ur."roleId"
        WHERE ur."realmId" = s."realmId" AND ur."userId" = ${userId} AND rsc."scopeId" = s.id
          AND (ur."tenantId" IS NULL OR (NOT r."builtIn" AND ur."tenantId" = ${tenantId}::uuid))
      )
      OR EXISTS (
        SELECT 1 FROM "UserPermission" up
        WHERE up."realmId" = s."realmId" AND up."userId" = ${userId} AND up."scopeId" = s.id
      )
    )
  )`;
}

/** The identifiers `upsertUser` can match a user on. */
export type MatchKey = 'email' | 'phone' | 'username' | 'uniqueId';

/**
 * Takes a lock on (realm, key, value) that the transaction holds until it ends: `upsertUser`
 * calls with the same key then run one after the other, and the later ones find the user the
 * first created (phone numbers have no unique index to rely on).
 */
export async function lockMatchKey(db: RawSqlClient, realmId: string, key: MatchKey, value: string): Promise<void> {
  const rs = realmSql(db, realmId);
  // The one-row list carries the realm condition: the lock key is bound to the caller's realm.
  await rs.execute`
    SELECT pg_advisory_xact_lock(hashtextextended(k."realmId"::text || ${`/${key}/${value}`}, 0))
    FROM (VALUES (${realmId}::uuid)) AS k("realmId") WHERE ${rs.realm('k')}`;
}

/**
 * Up to two users holding `value` as `key`, live ones first: emails, usernames and phone numbers
 * among users not deleted (emails and usernames ignoring case), unique ids among all users.
 */
export function usersMatching(
  db: RawSqlClient,
  realmId: string,
  key: MatchKey,
  value: string,
): Promise<{ id: string; deleted: boolean }[]> {
  const rs = realmSql(db, realmId);
  const condition = {
    email: sql`u.email = ${value}::text::citext AND u."deletedAt" IS NULL`,
    username: sql`u.username = ${value}::text::citext AND u."deletedAt" IS NULL`,
    phone: sql`u.phone = ${value} AND u."deletedAt" IS NULL`,
    uniqueId: sql`u."uniqueId" = ${value}`,
  }[key];
  return rs.query`
    SELECT u.id, (u."deletedAt" IS NOT NULL) AS deleted FROM "User" u
    WHERE ${rs.realm('u')} AND ${condition}
    ORDER BY u."deletedAt" DESC NULLS FIRST, u.id LIMIT 2`;
}
