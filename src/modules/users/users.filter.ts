import { Prisma, type CustomAttributeType, type ProfileField, type UserStatus } from '../../generated/prisma/client.ts';
import { UUID } from '../../auth/ids.ts';
import { parseGlobalId } from '../../graphql/ids.ts';
import { InputBoundsError } from '../../graphql/input-bounds.ts';

/**
 * A `UserFilter` (all optional) whose id lists hold `Id`: decoded global ids as GraphQL hands
 * them over, database ids as services take them (`UserFilter`).
 */
export interface UserFilterOf<Id> {
  search?: string | null;
  ids?: readonly Id[] | null;
  statuses?: UserStatus[] | null;
  isSuspended?: boolean | null;
  emailVerified?: boolean | null;
  phoneVerified?: boolean | null;
  authMethods?: AuthMethod[] | null;
  hasOAuth?: boolean | null;
  oauthProviders?: string[] | null;
  hasPassword?: boolean | null;
  hasMfa?: boolean | null;
  mfaTypes?: MfaFactorType[] | null;
  roleIds?: readonly Id[] | null;
  tenantIds?: readonly Id[] | null;
  applicationIds?: readonly Id[] | null;
  profileComplete?: boolean | null;
  hasPicture?: boolean | null;
  hasBio?: boolean | null;
  hasLocation?: boolean | null;
  countries?: string[] | null;
  regions?: string[] | null;
  cities?: string[] | null;
  timezones?: string[] | null;
  locales?: string[] | null;
  genders?: string[] | null;
  ageMin?: number | null;
  ageMax?: number | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  createdInLastDays?: number | null;
  lastLoginAfter?: Date | null;
  lastLoginBefore?: Date | null;
  activeInLastDays?: number | null;
  inactiveForDays?: number | null;
  neverLoggedIn?: boolean | null;
  isLocked?: boolean | null;
  failedLoginAttemptsMin?: number | null;
  failedLoginAttemptsMax?: number | null;
  customAttributes?: CustomAttributeCondition[] | null;
  includeDeleted?: boolean | null;
  AND?: UserFilterOf<Id>[] | null;
  OR?: UserFilterOf<Id>[] | null;
  NOT?: UserFilterOf<Id> | null;
}

/** A `UserFilter` as services take it: ids are database ids. */
export type UserFilter = UserFilterOf<string>;

type AuthMethod = 'PASSWORD' | 'EMAIL_CODE' | 'PHONE' | 'OAUTH' | 'PASSKEY';
type MfaFactorType = 'TOTP' | 'WEBAUTHN' | 'RECOVERY_CODES';

export interface CustomAttributeCondition {
  key: string;
  equals?: unknown;
  in?: unknown[] | null;
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
  exists?: boolean | null;
  contains?: string | null;
}

/** What compiling a filter needs to know about the realm. */
export interface FilterEnvironment {
  requiredProfileFields: ProfileField[];
  attributeTypes: ReadonlyMap<string, CustomAttributeType>;
}

/** A filter that cannot be run: the message says which argument and why. */
export class FilterError extends InputBoundsError {
  constructor(path: string, message: string) {
    super(path, message);
    this.name = 'FilterError';
  }
}

export const FILTER_LIMITS = {
  maxDepth: 5,
  maxListLength: 100,
  /** Conditions in the whole tree: each given field of each filter, each nested filter, each custom attribute condition. */
  maxConditions: 100,
  /** Text searches in the whole tree (`search` and custom attribute `contains`): each scans names and emails. */
  maxSearches: 5,
  /** Values in all the lists of the whole tree together. */
  maxListValues: 500,
  maxSearchLength: 200,
  maxDays: 36_500,
  maxAge: 150,
} as const;

const NESTING = new Set(['AND', 'OR', 'NOT']);

/**
 * Checks the size of a whole filter tree, without recursion, before anything is compiled or
 * queried: nesting depth, conditions, text searches and list values (FILTER_LIMITS). Returns
 * the number of conditions, which counts in the request cost.
 */
export function checkUserFilterBounds(filter: UserFilterOf<unknown>, path = 'filter'): number {
  const stack: [UserFilterOf<unknown>, string, number][] = [[filter, path, 0]];
  let conditions = 0;
  let searches = 0;
  let values = 0;
  const count = (at: string) => {
    if (++conditions > FILTER_LIMITS.maxConditions) {
      throw new FilterError(
        at,
        `a filter holds at most ${FILTER_LIMITS.maxConditions} conditions in all (nested filters included)`,
      );
    }
  };
  while (stack.length) {
    const [node, at, depth] = stack.pop()!;
    if (depth > FILTER_LIMITS.maxDepth)
      throw new FilterError(at, `AND/OR/NOT nest at most ${FILTER_LIMITS.maxDepth} deep`);
    if (depth > 0) count(at);
    for (const [key, value] of Object.entries(node) as [keyof UserFilterOf<unknown>, unknown][]) {
      if (value === null || value === undefined || NESTING.has(key) || key === 'includeDeleted') continue;
      const field = `${at}.${key}`;
      if (key === 'customAttributes') {
        (value as CustomAttributeCondition[]).forEach((condition, i) => {
          count(`${field}.${i}`);
          if (condition.contains != null) searches++;
          values += condition.in?.length ?? 0;
        });
      } else {
        count(field);
        if (key === 'search' && (value as string).trim()) searches++;
      }
      if (Array.isArray(value)) values += value.length;
      if (searches > FILTER_LIMITS.maxSearches) {
        throw new FilterError(
          field,
          `a filter holds at most ${FILTER_LIMITS.maxSearches} text searches in all (search, contains)`,
        );
      }
      if (values > FILTER_LIMITS.maxListValues) {
        throw new FilterError(field, `a filter's lists hold at most ${FILTER_LIMITS.maxListValues} values in all`);
      }
    }
    node.AND?.forEach((inner, i) => stack.push([inner, `${at}.AND.${i}`, depth + 1]));
    node.OR?.forEach((inner, i) => stack.push([inner, `${at}.OR.${i}`, depth + 1]));
    if (node.NOT) stack.push([node.NOT, `${at}.NOT`, depth + 1]);
  }
  return conditions;
}

const PROFILE_COLUMNS: Record<ProfileField, string> = {
  NAME: 'name',
  PHONE: 'phone',
  PICTURE: 'picture',
  BIRTHDATE: 'birthdate',
  COUNTRY: 'country',
};

const { sql, join, raw, empty } = Prisma;
const TRUE = sql`TRUE`;

function and(parts: Prisma.Sql[]): Prisma.Sql {
  return parts.length === 0 ? TRUE : parts.length === 1 ? parts[0]! : sql`(${join(parts, ' AND ')})`;
}

function or(parts: Prisma.Sql[]): Prisma.Sql {
  return parts.length === 0 ? sql`FALSE` : parts.length === 1 ? parts[0]! : sql`(${join(parts, ' OR ')})`;
}

function column(name: string): Prisma.Sql {
  return raw(`u."${name}"`);
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function exists(table: string, condition: Prisma.Sql = empty): Prisma.Sql {
  return sql`EXISTS (SELECT 1 FROM ${raw(`"${table}"`)} x WHERE x."realmId" = u."realmId" AND x."userId" = u.id ${condition})`;
}

function boolCondition(value: boolean | null | undefined, whenTrue: Prisma.Sql): Prisma.Sql | null {
  if (value === null || value === undefined) return null;
  return value ? whenTrue : sql`NOT ${whenTrue}`;
}

function checkList<T>(list: readonly T[] | null | undefined, path: string): list is readonly T[] {
  if (!list) return false;
  if (list.length > FILTER_LIMITS.maxListLength) {
    throw new FilterError(path, `at most ${FILTER_LIMITS.maxListLength} values`);
  }
  return true;
}

function checkDays(value: number | null | undefined, path: string): value is number {
  if (value === null || value === undefined) return false;
  if (value < 0 || value > FILTER_LIMITS.maxDays) {
    throw new FilterError(path, `must be between 0 and ${FILTER_LIMITS.maxDays}`);
  }
  return true;
}

function checkRange(
  min: number | Date | null | undefined,
  max: number | Date | null | undefined,
  path: string,
  what: string,
) {
  if (min !== null && min !== undefined && max !== null && max !== undefined && min > max) {
    throw new FilterError(path, `${what} is contradictory (minimum above maximum)`);
  }
}

function lowerAll(values: string[]): string[] {
  return values.map((v) => v.toLowerCase());
}

function attributeValue(type: CustomAttributeType, value: unknown, path: string): Prisma.Sql {
  switch (type) {
    case 'NUMBER':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new FilterError(path, 'expects a number');
      return sql`${value}::numeric`;
    case 'DATE':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        throw new FilterError(path, 'expects an ISO date');
      return sql`${value}::date`;
    case 'BOOLEAN':
      if (typeof value !== 'boolean') throw new FilterError(path, 'expects a boolean');
      return sql`${value}::boolean`;
    default:
      if (typeof value !== 'string') throw new FilterError(path, 'expects a string');
      return sql`${value}::text`;
  }
}

function attributeExpression(type: CustomAttributeType, key: string): Prisma.Sql {
  const text = sql`(u."customAttributes" ->> ${key})`;
  switch (type) {
    case 'NUMBER':
      return sql`(CASE WHEN jsonb_typeof(u."customAttributes" -> ${key}) = 'number' THEN ${text}::numeric END)`;
    case 'DATE':
      return sql`(CASE WHEN ${text} ~ '^\\d{4}-\\d{2}-\\d{2}' THEN left(${text}, 10)::date END)`;
    case 'BOOLEAN':
      return sql`(CASE WHEN jsonb_typeof(u."customAttributes" -> ${key}) = 'boolean' THEN ${text}::boolean END)`;
    default:
      return text;
  }
}

function customAttributeConditions(
  conditions: CustomAttributeCondition[],
  env: FilterEnvironment,
  path: string,
): Prisma.Sql[] {
  return conditions.map((condition, index) => {
    const at = `${path}.${index}`;
    const type = env.attributeTypes.get(condition.key);
    if (!type) throw new FilterError(`${at}.key`, `no custom attribute "${condition.key}" is defined in this realm`);
    const parts: Prisma.Sql[] = [];
    const key = condition.key;
    const expr = attributeExpression(type, key);
    if (condition.exists !== null && condition.exists !== undefined) {
      parts.push(condition.exists ? sql`u."customAttributes" ? ${key}` : sql`NOT (u."customAttributes" ? ${key})`);
    }
    if (condition.equals !== undefined && condition.equals !== null) {
      attributeValue(type, condition.equals, `${at}.equals`);
      // Containment uses the GIN index on customAttributes.
      parts.push(sql`u."customAttributes" @> ${JSON.stringify({ [key]: condition.equals })}::jsonb`);
    }
    if (condition.in) {
      if (condition.in.length > FILTER_LIMITS.maxListLength) throw new FilterError(`${at}.in`, 'too many values');
      parts.push(
        or(
          condition.in.map((value, i) => {
            attributeValue(type, value, `${at}.in.${i}`);
            return sql`u."customAttributes" @> ${JSON.stringify({ [key]: value })}::jsonb`;
          }),
        ),
      );
    }
    const comparisons = [
      ['gt', '>'],
      ['gte', '>='],
      ['lt', '<'],
      ['lte', '<='],
    ] as const;
    for (const [name, operator] of comparisons) {
      const value = condition[name];
      if (value === undefined || value === null) continue;
      if (type === 'BOOLEAN' || type === 'ENUM')
        throw new FilterError(`${at}.${name}`, `cannot compare a ${type} attribute`);
      parts.push(sql`${expr} ${raw(operator)} ${attributeValue(type, value, `${at}.${name}`)}`);
    }
    if (condition.contains !== null && condition.contains !== undefined) {
      if (type !== 'STRING') throw new FilterError(`${at}.contains`, 'only STRING attributes support contains');
      parts.push(sql`(u."customAttributes" ->> ${key}) ILIKE ${`%${escapeLike(condition.contains)}%`}`);
    }
    if (parts.length === 0)
      throw new FilterError(at, 'give at least one of equals, in, gt, gte, lt, lte, exists, contains');
    return and(parts);
  });
}

/** Longer terms get no swapped variants (one pattern per letter). */
const MAX_SWAPPED_TERM = 40;

/** The term with two adjacent letters swapped, each way that changes it; none under 4 characters. */
function adjacentSwaps(term: string): string[] {
  const chars = Array.from(term);
  if (chars.length < 4 || chars.length > MAX_SWAPPED_TERM) return [];
  const swaps = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) {
    const [a, b] = [chars[i]!, chars[i + 1]!];
    if (a.toLowerCase() === b.toLowerCase() || !/\p{L}/u.test(a) || !/\p{L}/u.test(b)) continue;
    swaps.add([...chars.slice(0, i), b, a, ...chars.slice(i + 2)].join(''));
  }
  return [...swaps];
}

function searchCondition(raw: string, path: string): Prisma.Sql | null {
  const term = raw.trim();
  if (!term) return null;
  if (term.length > FILTER_LIMITS.maxSearchLength) {
    throw new FilterError(path, `at most ${FILTER_LIMITS.maxSearchLength} characters`);
  }
  // "searchText" holds names, email, username, unique id and phone in lower case, and
  // "searchNames" the names (generated columns, each with a trigram index): one LIKE and one
  // similarity per row instead of five ILIKEs, each lowering its column.
  const parts = [sql`u."searchText" LIKE lower(${`%${escapeLike(term)}%`})`];
  const digits = term.replace(/[\s().-]/g, '');
  if (/^\+?\d{3,}$/.test(digits) && digits !== term) parts.push(sql`u."searchText" LIKE ${`%${digits}%`}`);
  // Fuzzy: tolerate typos in names (trigram word similarity, served by the GIN index). Written
  // column first, as the index takes it: `term <% column` would be checked twice per row.
  if (term.length >= 3) parts.push(sql`u."searchNames" %> lower(${term})`);
  // Trigram similarity misses many swaps of two adjacent letters ("Lsiter"): look for the
  // term with each of them undone (patterns without wildcards, so the index serves them too).
  const swaps = adjacentSwaps(term);
  if (swaps.length) {
    const patterns = swaps.map((swap) => sql`lower(${`%${escapeLike(swap)}%`})`);
    parts.push(sql`u."searchNames" LIKE ANY (ARRAY[${join(patterns, ', ')}])`);
  }
  if (UUID.test(term)) {
    parts.push(sql`u.id = ${term.toLowerCase()}::uuid`);
  } else {
    const decoded = parseGlobalId(term);
    if (decoded?.typename === 'User') parts.push(sql`u.id = ${decoded.id}::uuid`);
  }
  return or(parts);
}

/**
 * Compiles a `UserFilter` to a SQL condition over `"User" u`. Throws FilterError for
 * contradictory, out-of-range or unknown values.
 */
export function compileUserFilter(
  filter: UserFilter | null | undefined,
  env: FilterEnvironment,
  path = 'filter',
  depth = 0,
): Prisma.Sql {
  if (!filter) return TRUE;
  if (depth === 0) checkUserFilterBounds(filter, path);
  if (depth > FILTER_LIMITS.maxDepth)
    throw new FilterError(path, `AND/OR/NOT nest at most ${FILTER_LIMITS.maxDepth} deep`);
  const p: Prisma.Sql[] = [];
  const push = (part: Prisma.Sql | null) => part && p.push(part);

  if (filter.search !== null && filter.search !== undefined) push(searchCondition(filter.search, `${path}.search`));
  if (checkList(filter.ids, `${path}.ids`)) {
    p.push(sql`u.id = ANY(${[...filter.ids]}::uuid[])`);
  }
  if (checkList(filter.statuses, `${path}.statuses`)) {
    p.push(sql`u.status = ANY(${filter.statuses}::text[]::"UserStatus"[])`);
  }
  push(boolCondition(filter.isSuspended, sql`(u.status = 'SUSPENDED')`));
  push(boolCondition(filter.emailVerified, sql`u."emailVerified"`));
  push(boolCondition(filter.phoneVerified, sql`u."phoneVerified"`));
  if (checkList(filter.authMethods, `${path}.authMethods`)) {
    const methods: Record<AuthMethod, Prisma.Sql> = {
      PASSWORD: sql`u."passwordHash" IS NOT NULL`,
      EMAIL_CODE: sql`(u.email IS NOT NULL AND u."emailVerified")`,
      PHONE: sql`(u.phone IS NOT NULL AND u."phoneVerified")`,
      OAUTH: exists('Identity'),
      PASSKEY: exists('MfaFactor', sql`AND x.type = 'WEBAUTHN'`),
    };
    p.push(or(filter.authMethods.map((method) => methods[method])));
  }
  push(boolCondition(filter.hasOAuth, exists('Identity')));
  if (checkList(filter.oauthProviders, `${path}.oauthProviders`)) {
    p.push(exists('Identity', sql`AND lower(x.provider) = ANY(${lowerAll(filter.oauthProviders)}::text[])`));
  }
  push(boolCondition(filter.hasPassword, sql`(u."passwordHash" IS NOT NULL)`));
  push(boolCondition(filter.hasMfa, exists('MfaFactor')));
  if (checkList(filter.mfaTypes, `${path}.mfaTypes`)) {
    p.push(exists('MfaFactor', sql`AND x.type = ANY(${filter.mfaTypes}::text[]::"MfaFactorType"[])`));
  }
  if (checkList(filter.roleIds, `${path}.roleIds`)) {
    p.push(exists('UserRole', sql`AND x."roleId" = ANY(${[...filter.roleIds]}::uuid[])`));
  }
  if (checkList(filter.tenantIds, `${path}.tenantIds`)) {
    const ids = [...filter.tenantIds];
    p.push(exists('TenantMembership', sql`AND x."tenantId" = ANY(${ids}::uuid[])`));
  }
  if (checkList(filter.applicationIds, `${path}.applicationIds`)) {
    const ids = [...filter.applicationIds];
    p.push(exists('UserApplication', sql`AND x."applicationId" = ANY(${ids}::uuid[])`));
  }
  if (filter.profileComplete !== null && filter.profileComplete !== undefined) {
    const complete = and(env.requiredProfileFields.map((field) => sql`${column(PROFILE_COLUMNS[field])} IS NOT NULL`));
    p.push(filter.profileComplete ? complete : sql`NOT ${complete}`);
  }
  push(boolCondition(filter.hasPicture, sql`(u.picture IS NOT NULL)`));
  push(boolCondition(filter.hasBio, sql`(u.bio IS NOT NULL AND u.bio <> '')`));
  push(boolCondition(filter.hasLocation, sql`(u.country IS NOT NULL OR u.region IS NOT NULL OR u.city IS NOT NULL)`));
  if (checkList(filter.countries, `${path}.countries`)) {
    // bpchar[] matches the column type, so the (realmId, country, …) index applies.
    p.push(sql`u.country = ANY(${filter.countries.map((c) => c.toUpperCase())}::bpchar[])`);
  }
  if (checkList(filter.regions, `${path}.regions`))
    p.push(sql`lower(u.region) = ANY(${lowerAll(filter.regions)}::text[])`);
  if (checkList(filter.cities, `${path}.cities`)) p.push(sql`lower(u.city) = ANY(${lowerAll(filter.cities)}::text[])`);
  if (checkList(filter.timezones, `${path}.timezones`)) p.push(sql`u.timezone = ANY(${filter.timezones}::text[])`);
  if (checkList(filter.locales, `${path}.locales`))
    p.push(sql`lower(u.locale) = ANY(${lowerAll(filter.locales)}::text[])`);
  if (checkList(filter.genders, `${path}.genders`))
    p.push(sql`lower(u.gender) = ANY(${lowerAll(filter.genders)}::text[])`);

  for (const key of ['ageMin', 'ageMax'] as const) {
    const value = filter[key];
    if (value !== null && value !== undefined && (value < 0 || value > FILTER_LIMITS.maxAge)) {
      throw new FilterError(`${path}.${key}`, `must be between 0 and ${FILTER_LIMITS.maxAge}`);
    }
  }
  checkRange(filter.ageMin, filter.ageMax, `${path}.ageMin`, 'ageMin/ageMax');
  if (filter.ageMin !== null && filter.ageMin !== undefined) {
    p.push(sql`u.birthdate <= (current_date - make_interval(years => ${filter.ageMin}::int))`);
  }
  if (filter.ageMax !== null && filter.ageMax !== undefined) {
    p.push(sql`u.birthdate > (current_date - make_interval(years => ${filter.ageMax + 1}::int))`);
  }

  checkRange(filter.createdAfter, filter.createdBefore, `${path}.createdAfter`, 'createdAfter/createdBefore');
  if (filter.createdAfter) p.push(sql`u."createdAt" >= ${filter.createdAfter}`);
  if (filter.createdBefore) p.push(sql`u."createdAt" < ${filter.createdBefore}`);
  if (checkDays(filter.createdInLastDays, `${path}.createdInLastDays`)) {
    p.push(sql`u."createdAt" >= now() - make_interval(days => ${filter.createdInLastDays}::int)`);
  }
  checkRange(filter.lastLoginAfter, filter.lastLoginBefore, `${path}.lastLoginAfter`, 'lastLoginAfter/lastLoginBefore');
  if (filter.lastLoginAfter) p.push(sql`u."lastLoginAt" >= ${filter.lastLoginAfter}`);
  if (filter.lastLoginBefore) p.push(sql`u."lastLoginAt" < ${filter.lastLoginBefore}`);
  const lastSeen = sql`COALESCE(u."lastActiveAt", u."lastLoginAt")`;
  if (checkDays(filter.activeInLastDays, `${path}.activeInLastDays`)) {
    p.push(sql`${lastSeen} >= now() - make_interval(days => ${filter.activeInLastDays}::int)`);
  }
  if (checkDays(filter.inactiveForDays, `${path}.inactiveForDays`)) {
    p.push(sql`COALESCE(${lastSeen}, u."createdAt") < now() - make_interval(days => ${filter.inactiveForDays}::int)`);
  }
  if (
    filter.activeInLastDays !== null &&
    filter.activeInLastDays !== undefined &&
    filter.inactiveForDays !== null &&
    filter.inactiveForDays !== undefined &&
    filter.inactiveForDays >= filter.activeInLastDays
  ) {
    throw new FilterError(`${path}.inactiveForDays`, 'contradicts activeInLastDays (no user can match both)');
  }
  push(boolCondition(filter.neverLoggedIn, sql`(u."lastLoginAt" IS NULL)`));
  push(boolCondition(filter.isLocked, sql`(u."lockedUntil" IS NOT NULL AND u."lockedUntil" > now())`));
  for (const key of ['failedLoginAttemptsMin', 'failedLoginAttemptsMax'] as const) {
    const value = filter[key];
    if (value !== null && value !== undefined && value < 0)
      throw new FilterError(`${path}.${key}`, 'must not be negative');
  }
  checkRange(
    filter.failedLoginAttemptsMin,
    filter.failedLoginAttemptsMax,
    `${path}.failedLoginAttemptsMin`,
    'failedLoginAttempts range',
  );
  if (filter.failedLoginAttemptsMin !== null && filter.failedLoginAttemptsMin !== undefined) {
    p.push(sql`u."failedLoginAttempts" >= ${filter.failedLoginAttemptsMin}::int`);
  }
  if (filter.failedLoginAttemptsMax !== null && filter.failedLoginAttemptsMax !== undefined) {
    p.push(sql`u."failedLoginAttempts" <= ${filter.failedLoginAttemptsMax}::int`);
  }
  if (checkList(filter.customAttributes, `${path}.customAttributes`)) {
    p.push(...customAttributeConditions(filter.customAttributes, env, `${path}.customAttributes`));
  }
  if (checkList(filter.AND, `${path}.AND`)) {
    p.push(and(filter.AND.map((inner, i) => compileUserFilter(inner, env, `${path}.AND.${i}`, depth + 1))));
  }
  if (checkList(filter.OR, `${path}.OR`)) {
    p.push(or(filter.OR.map((inner, i) => compileUserFilter(inner, env, `${path}.OR.${i}`, depth + 1))));
  }
  if (filter.NOT) p.push(sql`NOT ${compileUserFilter(filter.NOT, env, `${path}.NOT`, depth + 1)}`);
  return and(p);
}

/**
 * The WHERE condition of a user listing but the realm's (realmSql adds it): deleted users only
 * when asked for, and the filter.
 */
export function userListCondition(filter: UserFilter | null | undefined, env: FilterEnvironment): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (!filter?.includeDeleted) parts.push(sql`u."deletedAt" IS NULL`);
  parts.push(compileUserFilter(filter, env));
  return and(parts);
}

/**
 * The maintained counts (`UserCount`, see the `user_counts_triggers` migration) whose sum is the
 * number of users `filter` selects, or null when it needs counting over the rows: no condition
 * → `total`; only `includeDeleted` → `total` and `deleted`; only `statuses` → one count per
 * status (users not deleted).
 */
export function countedMetrics(filter: UserFilter | null | undefined): string[] | null {
  const set = Object.entries(filter ?? {}).filter(
    ([key, value]) => value !== null && value !== undefined && !(key === 'includeDeleted' && value === false),
  );
  if (set.length === 0) return ['total'];
  if (set.length === 1 && set[0]![0] === 'includeDeleted') return ['total', 'deleted'];
  const [only] = set;
  if (set.length === 1 && only![0] === 'statuses' && Array.isArray(only![1]) && only![1].length > 0) {
    return [...new Set(only![1] as string[])].map((status) => `status:${status}`);
  }
  return null;
}
