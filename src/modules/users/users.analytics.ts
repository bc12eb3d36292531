import type { UserStatus } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { stringProblem } from '../../graphql/input-bounds.ts';
import { countedMetrics, FilterError, userListCondition, type UserFilter } from './users.filter.ts';
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
