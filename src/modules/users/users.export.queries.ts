import { Prisma } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/**
 * One batch of an export: the users matching `where` (over alias `u`) with an id after `afterId`,
 * by id (time-ordered, stable while new users arrive after the last one read), with `columns`.
 */
export function exportUserRows(
  db: RawSqlClient,
  realmId: string,
  where: Prisma.Sql,
  columns: Prisma.Sql,
  afterId: string | null,
  limit: number,
): Promise<Record<string, unknown>[]> {
  const rs = realmSql(db, realmId);
  const after = afterId === null ? Prisma.empty : Prisma.sql`AND u.id > ${afterId}::uuid`;
  return rs.query<Record<string, unknown>>`
    SELECT u.id, ${columns} FROM "User" u
    WHERE ${rs.realm('u')} AND ${where} ${after}
    ORDER BY u.id
    LIMIT ${limit}`;
}
