import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/** For each of these roles, how many distinct users (not deleted) hold it, globally or in any tenant. */
export async function roleUserCounts(
  db: RawSqlClient,
  realmId: string,
  roleIds: readonly string[],
): Promise<Map<string, number>> {
  const rs = realmSql(db, realmId);
  const rows = await rs.query<{ roleId: string; count: number }>`
        SELECT ur."roleId"::text AS "roleId", count(DISTINCT ur."userId")::int AS count
        FROM "UserRole" ur
        JOIN "User" u ON u."realmId" = ur."realmId" AND u.id = ur."userId"
        WHERE ${rs.realm('ur')}
          AND ur."roleId" = ANY(${[...roleIds]}::uuid[])
          AND u."deletedAt" IS NULL
        GROUP BY ur."roleId"`;
  return new Map(rows.map((row) => [row.roleId, Number(row.count)]));
}
