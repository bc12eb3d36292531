import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/** How many users of the realm belong to more than one tenant. */
export async function usersInSeveralTenants(db: RawSqlClient, realmId: string): Promise<number> {
  const rs = realmSql(db, realmId);
  const [row] = await rs.query<{ count: bigint }>`
        SELECT count(*)::bigint AS count FROM (
          SELECT "userId" FROM "TenantMembership" WHERE ${rs.realm()}
          GROUP BY "userId" HAVING count(*) > 1) AS multi`;
  return Number(row?.count ?? 0);
}
