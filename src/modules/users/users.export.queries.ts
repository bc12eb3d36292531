import { Prisma } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/** The exportable columns of a user (alias `u`), by field name. */
const FIELD_SQL = {
  email: 'u.email',
  emailVerified: 'u."emailVerified"',
  phone: 'u.phone',
  phoneVerified: 'u."phoneVerified"',
  username: 'u.username',
  uniqueId: 'u."uniqueId"',
  name: 'u.name',
  givenName: 'u."givenName"',
  familyName: 'u."familyName"',
  nickname: 'u.nickname',
  status: 'u.status::text',
  suspendedReason: 'u."suspendedReason"',
  country: 'u.country',
  region: 'u.region',
  city: 'u.city',
  locale: 'u.locale',
  timezone: 'u.timezone',
  createdAt: 'u."createdAt"',
  updatedAt: 'u."updatedAt"',
  lastLoginAt: 'u."lastLoginAt"',
  lastActiveAt: 'u."lastActiveAt"',
  deletedAt: 'u."deletedAt"',
} as const;

export type ExportColumnField = keyof typeof FIELD_SQL;

/**
 * One batch of an export: the users matching `where` (over alias `u`) with an id after `afterId`,
 * by id (time-ordered, stable while new users arrive after the last one read): `id`, the
 * `fields`, and the custom attributes as `__attributes` when asked for.
 */
export function exportUserRows(
  db: RawSqlClient,
  realmId: string,
  query: { where: Prisma.Sql; fields: ExportColumnField[]; attributes: boolean },
  afterId: string | null,
  limit: number,
): Promise<Record<string, unknown>[]> {
  const rs = realmSql(db, realmId);
  const columns = query.fields.map((field) => Prisma.raw(`${FIELD_SQL[field]} AS "${field}"`));
  if (query.attributes) columns.push(Prisma.raw('u."customAttributes" AS "__attributes"'));
  const selected = columns.length ? Prisma.sql`, ${Prisma.join(columns, ', ')}` : Prisma.empty;
  const after = afterId === null ? Prisma.empty : Prisma.sql`AND u.id > ${afterId}::uuid`;
  return rs.query<Record<string, unknown>>`
    SELECT u.id ${selected} FROM "User" u
    WHERE ${rs.realm('u')} AND ${query.where} ${after}
    ORDER BY u.id
    LIMIT ${limit}`;
}
