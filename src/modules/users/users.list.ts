import { UserStatus, type Prisma } from '../../generated/prisma/client.ts';
import { stringProblem } from '../../graphql/input-bounds.ts';
import { UUID } from '../../auth/ids.ts';
import { decrypt, encrypt } from '../../auth/crypto.ts';
import type { ServiceContext } from '../../context.ts';
import { compileRelations, OTHER_COLUMNS, type CompiledRelation } from '../../db/select-sql.ts';
import {
  countedMetrics,
  FilterError,
  userListCondition,
  type FilterEnvironment,
  type UserFilter,
} from './users.filter.ts';
import {
  countUsers,
  listingCondition,
  userPageRows,
  type Cursor,
  PAGE_COLUMNS,
  type PageColumn,
  type CursorValue,
  type SortKey,
} from './users.queries.ts';

type UserOrderField = 'NAME' | 'EMAIL' | 'CREATED_AT' | 'LAST_LOGIN_AT' | 'STATUS';
type OrderDirection = 'ASC' | 'DESC';
export interface UserOrder {
  field: UserOrderField;
  direction: OrderDirection;
}

const DEFAULT_USER_ORDER: UserOrder[] = [{ field: 'CREATED_AT', direction: 'DESC' }];
const DEFAULT_PAGE_SIZE = 20;

const ORDER_COLUMNS: Record<UserOrderField, { expr: string; cast: string; nullable: boolean }> = {
  NAME: { expr: 'u.name', cast: 'text', nullable: true },
  EMAIL: { expr: 'u.email', cast: 'citext', nullable: true },
  CREATED_AT: { expr: 'u."createdAt"', cast: 'timestamptz', nullable: false },
  LAST_LOGIN_AT: { expr: 'u."lastLoginAt"', cast: 'timestamptz', nullable: true },
  STATUS: { expr: 'u.status', cast: '"UserStatus"', nullable: false },
};

/** Sort keys for an ordering: nulls last for nullable columns, ties broken by id. */
function sortKeys(orderBy: UserOrder[]): SortKey[] {
  const keys: SortKey[] = [];
  const seen = new Set<UserOrderField>();
  for (const order of orderBy) {
    if (seen.has(order.field)) continue;
    seen.add(order.field);
    const column = ORDER_COLUMNS[order.field];
    if (column.nullable) {
      keys.push({ expr: `(${column.expr} IS NULL)`, cast: 'boolean', direction: 'ASC', nullsOf: column.expr });
    }
    keys.push({ expr: column.expr, cast: column.cast, direction: order.direction });
  }
  keys.push({ expr: 'u.id', cast: 'uuid', direction: orderBy[0]?.direction ?? 'ASC' });
  return keys;
}

function orderSignature(keys: SortKey[]): string {
  return keys.map((k) => `${k.expr}:${k.direction}`).join(',');
}

/** An edge whose cursor is computed on first read. */
function lazyEdge(
  id: string,
  cursor: () => string,
  columns: Record<string, unknown> | undefined,
): UserPage['edges'][number] {
  let sealed: string | undefined;
  return {
    id,
    columns,
    get cursor() {
      sealed ??= cursor();
      return sealed;
    },
  };
}

/**
 * Cursors are sealed (AES-256-GCM under a key of the server secret, bound to the realm): opaque to
 * callers, who cannot read the SQL ordering or forge a boundary, and only valid in their realm.
 */
function encodeCursor(ctx: ServiceContext, signature: string, values: CursorValue[]): string {
  return encrypt(cursorKeyOf(ctx), JSON.stringify({ o: signature, v: values }), `users-cursor:${ctx.realmId}`);
}

function cursorKeyOf(ctx: ServiceContext): Buffer {
  if (!ctx.cursorKey) throw new Error('Listing users needs the cursor key of the service context.');
  return ctx.cursorKey;
}

/** Whether a cursor value can be cast to its key's column type (a tampered cursor must not reach SQL). */
function fitsColumn(value: CursorValue, cast: string): boolean {
  if (value === null) return cast !== 'boolean';
  switch (cast) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'uuid':
      return typeof value === 'string' && UUID.test(value);
    case 'timestamptz':
      // As encoded: Date#toISOString, which also rules out dates PostgreSQL would refuse (Feb 30).
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
    case '"UserStatus"':
      return typeof value === 'string' && (Object.values(UserStatus) as string[]).includes(value);
    default:
      return typeof value === 'string' && stringProblem(value) === null;
  }
}

function decodeCursor(ctx: ServiceContext, cursor: string, keys: SortKey[], argument: string): CursorValue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decrypt(cursorKeyOf(ctx), cursor, `users-cursor:${ctx.realmId}`));
  } catch {
    throw new FilterError(argument, 'is not a valid cursor');
  }
  const { o, v } = (parsed ?? {}) as { o?: unknown; v?: unknown };
  if (o !== orderSignature(keys))
    throw new FilterError(argument, 'is a cursor of a different ordering; restart from the first page');
  if (!Array.isArray(v) || v.length !== keys.length || v.some((x, i) => !fitsColumn(x as CursorValue, keys[i]!.cast))) {
    throw new FilterError(argument, 'is not a valid cursor');
  }
  return v as CursorValue[];
}

export interface UserPageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  filter?: UserFilter | null;
  orderBy?: UserOrder[] | null;
}

export interface UserPage {
  /** `columns`: the user's id and what `options.selection` asks for, when it is given. */
  edges: { cursor: string; id: string; columns?: Record<string, unknown> | undefined }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Exact number of users matching, across all pages; runs only when called. */
  totalCount: () => Promise<number>;
}

/** What a page reads of each user besides its id: columns, and relations as JSON (see `compileRelations`). */
export interface PageSelection {
  columns: PageColumn[];
  relations: CompiledRelation[];
}

/**
 * What the nodes select, when the page's own statement can read all of it: columns a page can read
 * and relations that compile to SQL; else null (the users are then loaded through the client).
 */
export function pageSelectionOf(query: { select?: Record<string, unknown> }): PageSelection | null {
  const select = query.select ?? {};
  const readable = (field: string) => field === 'id' || PAGE_COLUMNS.has(field as PageColumn);
  const relations = compileRelations('User', 'u', select, readable);
  if (!relations) return null;
  const columns = Object.entries(select)
    .filter(([field, value]) => value === true && field !== 'id' && readable(field))
    .map(([field]) => field as PageColumn);
  return { columns, relations };
}

/** Whether `test` holds for the filter or any filter nested in its AND, OR or NOT. */
function usesCondition(filter: UserFilter | null | undefined, test: (filter: UserFilter) => boolean): boolean {
  if (!filter) return false;
  if (test(filter)) return true;
  return [...(filter.AND ?? []), ...(filter.OR ?? []), filter.NOT].some((inner) => usesCondition(inner, test));
}

/** The filter environment of the caller's realm (required profile fields, attribute types). */
export async function filterEnvironment(
  ctx: ServiceContext,
  filter: UserFilter | null | undefined,
): Promise<FilterEnvironment> {
  const needsRealm = usesCondition(filter, (f) => f.profileComplete != null);
  const needsAttributes = usesCondition(filter, (f) => Boolean(f.customAttributes?.length));
  const [realm, definitions] = await Promise.all([
    needsRealm ? ctx.db.realm.findFirstOrThrow({ select: { requiredProfileFields: true } }) : null,
    needsAttributes ? ctx.db.customAttributeDefinition.findMany({ select: { key: true, type: true } }) : [],
  ]);
  return {
    requiredProfileFields: realm?.requiredProfileFields ?? [],
    attributeTypes: new Map(definitions.map((d) => [d.key, d.type])),
  };
}

/**
 * One page of users of the caller's realm: keyset pagination over any supported ordering
 * (no depth cap), exact total on demand. `scope` narrows the set (e.g. members of a tenant).
 * `withTotal` counts along with the page, for a caller that knows it will ask for the total.
 */
export async function listUsers(
  ctx: ServiceContext,
  args: UserPageArgs,
  scope?: Prisma.Sql,
  options: { withTotal?: boolean; selection?: PageSelection } = {},
): Promise<UserPage> {
  if (args.first != null && args.last != null) throw new FilterError('last', 'cannot be combined with first');
  const orderBy = args.orderBy?.length ? args.orderBy : DEFAULT_USER_ORDER;
  const keys = sortKeys(orderBy);
  const signature = orderSignature(keys);
  const backward = args.last != null || (args.before != null && args.first == null);
  const size = (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE;

  const env = await filterEnvironment(ctx, args.filter);
  const where = listingCondition(userListCondition(args.filter, env), scope);
  // A listing of the whole realm by status at most is counted from the maintained counts.
  const counted = scope ? null : countedMetrics(args.filter);
  const cursors: Cursor[] = [];
  if (args.after != null) cursors.push({ values: decodeCursor(ctx, args.after, keys, 'after'), before: false });
  if (args.before != null) cursors.push({ values: decodeCursor(ctx, args.before, keys, 'before'), before: true });
  const { rows, total } =
    size === 0
      ? { rows: [], total: null }
      : await userPageRows(
          ctx.db,
          ctx.realmId,
          { where, cursors, keys, backward, limit: size + 1, ...options.selection },
          options.withTotal,
          counted,
        );
  const more = rows.length > size;
  const page = rows.slice(0, size);
  if (backward) page.reverse();
  // Sealed only when asked for: a page read through `nodes` needs no cursor.
  const cursorOf = (row: Record<string, unknown>) =>
    encodeCursor(
      ctx,
      signature,
      keys.map((_, i) => {
        const value = row[`k${i}`];
        return value instanceof Date ? value.toISOString() : (value as string | boolean | null);
      }),
    );
  const aliases = (options.selection?.columns ?? []).map((column) => [column, `c_${column}`] as const);
  const relations = (options.selection?.relations ?? []).map(
    (relation) => [relation.field, `r_${relation.field}`, relation.decode] as const,
  );
  const columnsOf = (row: Record<string, unknown>) => {
    const columns: Record<string, unknown> = { id: row.id };
    for (const [column, alias] of aliases) columns[column] = row[alias];
    for (const [field, alias, decode] of relations) {
      if (field === OTHER_COLUMNS) Object.assign(columns, decode(row[alias]));
      else columns[field] = decode(row[alias]);
    }
    return columns;
  };
  const edges = page.map((row) =>
    lazyEdge(row.id as string, () => cursorOf(row), options.selection ? columnsOf(row) : undefined),
  );
  return {
    edges,
    pageInfo: {
      hasNextPage: backward ? Boolean(args.before) : more,
      hasPreviousPage: backward ? more : Boolean(args.after),
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
    totalCount: async () => total ?? countUsers(ctx.db, ctx.realmId, where, counted),
  };
}
