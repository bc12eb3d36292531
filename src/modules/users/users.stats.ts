import { Prisma, type UserStatus } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { stringProblem } from '../../graphql/input-bounds.ts';
import { FilterError, userListCondition, type UserFilter } from './users.filter.ts';
import { filterEnvironment } from './users.list.ts';

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

/** Totals over the users matching `filter`, computed in one statement. */
export async function userStats(ctx: ServiceContext, filter: UserFilter | null | undefined): Promise<UserStats> {
  const env = await filterEnvironment(ctx, filter);
  const where = userListCondition(filter, env);
  const [row] = await ctx.db.$queryRaw<Record<string, bigint>[]>`
    SELECT
      count(*) AS total,
      ${Prisma.join(
        USER_STATUSES.map(
          (status) =>
            Prisma.sql`count(*) FILTER (WHERE u.status = ${status}::"UserStatus") AS ${Prisma.raw(`"s_${status}"`)}`,
        ),
        ', ',
      )},
      count(*) FILTER (WHERE u."emailVerified") AS "emailVerified",
      count(*) FILTER (WHERE u."phoneVerified") AS "phoneVerified",
      count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "MfaFactor" f WHERE f."realmId" = u."realmId" AND f."userId" = u.id)) AS "withMfa",
      count(*) FILTER (WHERE u."createdAt" >= now() - interval '7 days') AS "createdLast7Days",
      count(*) FILTER (WHERE u."createdAt" >= now() - interval '30 days') AS "createdLast30Days",
      count(*) FILTER (WHERE COALESCE(u."lastActiveAt", u."lastLoginAt") >= now() - interval '30 days') AS "activeLast30Days"
    FROM "User" u WHERE ${where}`;
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
function source(field: UserValueField, realmId: string): Prisma.Sql {
  const users = Prisma.sql`u."realmId" = ${realmId}::uuid AND u."deletedAt" IS NULL`;
  const column = USER_COLUMNS[field];
  if (column) {
    return Prisma.sql`SELECT u.${Prisma.raw(`"${column}"`)}::text AS value FROM "User" u WHERE ${users} AND u.${Prisma.raw(`"${column}"`)} IS NOT NULL`;
  }
  if (field === 'OAUTH_PROVIDER') {
    return Prisma.sql`SELECT i.provider AS value FROM "Identity" i JOIN "User" u ON u."realmId" = i."realmId" AND u.id = i."userId" WHERE ${users}`;
  }
  return Prisma.sql`SELECT jsonb_object_keys(u."customAttributes") AS value FROM "User" u WHERE ${users}`;
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
  const grouped = Prisma.sql`
    SELECT value, count(*)::bigint AS count FROM (${source(args.field, ctx.realmId)}) v
    WHERE value ILIKE ${like} GROUP BY value`;
  const after = args.after ? decodeValueCursor(args.after) : null;
  const rows = await ctx.db.$queryRaw<{ value: string; count: bigint }[]>`
    SELECT value, count FROM (${grouped}) g
    ${after ? Prisma.sql`WHERE (g.count < ${after[0]} OR (g.count = ${after[0]} AND g.value > ${after[1]}))` : Prisma.empty}
    ORDER BY g.count DESC, g.value ASC
    LIMIT ${size + 1}`;
  const values = rows.slice(0, size).map((row) => {
    const count = Number(row.count);
    return { value: row.value, count, cursor: encodeValueCursor(count, row.value) };
  });
  return {
    values,
    hasNextPage: rows.length > size,
    hasPreviousPage: Boolean(after),
    totalCount: async () => {
      const [row] = await ctx.db.$queryRaw<{ count: bigint }[]>`SELECT count(*) AS count FROM (${grouped}) g`;
      return Number(row?.count ?? 0);
    },
  };
}
