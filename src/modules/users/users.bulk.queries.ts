import { Prisma } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

const { sql, empty } = Prisma;

/**
 * The users of one chunk of a bulk operation that still exist, in id order, each with whether it
 * still matches `condition` (a compiled user filter over alias `u`; true without one). With
 * `lock`, their rows stay locked until the transaction ends: in id order, so that concurrent
 * bulk operations over the same users queue up instead of deadlocking.
 */
export function lockChunk(
  db: RawSqlClient,
  realmId: string,
  ids: readonly string[],
  condition: Prisma.Sql | null,
  lock: boolean,
): Promise<{ id: string; matches: boolean }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT u.id, ${condition ? sql`COALESCE((${condition}), FALSE)` : sql`TRUE`} AS matches
    FROM "User" u WHERE ${rs.realm('u')} AND u.id = ANY(${[...ids]}::uuid[])
    ORDER BY u.id ${lock ? sql`FOR UPDATE OF u` : empty}`;
}
