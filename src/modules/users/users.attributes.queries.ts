import type { CustomAttributeType } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/**
 * How many users of the realm (deleted ones included: they can be restored) hold a value for `key` — every value, or
 * only the values that `type`/`options` would not accept.
 */
export async function countAttributeHolders(
  db: RawSqlClient,
  realmId: string,
  key: string,
  conformingTo?: { type: CustomAttributeType; options: readonly string[] },
): Promise<number> {
  const rs = realmSql(db, realmId);
  const rows = conformingTo
    ? await rs.query<{ count: bigint }>`
        SELECT count(*)::bigint AS count FROM "User"
        WHERE ${rs.realm()} AND "customAttributes" ? ${key}
          AND NOT (CASE ${conformingTo.type}::text
            WHEN 'NUMBER' THEN jsonb_typeof("customAttributes" -> ${key}) = 'number'
            WHEN 'BOOLEAN' THEN jsonb_typeof("customAttributes" -> ${key}) = 'boolean'
            WHEN 'STRING' THEN jsonb_typeof("customAttributes" -> ${key}) = 'string'
            WHEN 'DATE' THEN jsonb_typeof("customAttributes" -> ${key}) = 'string'
              AND ("customAttributes" ->> ${key}) ~ '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$'
            ELSE jsonb_typeof("customAttributes" -> ${key}) = 'string'
              AND ("customAttributes" ->> ${key}) = ANY(${[...conformingTo.options]}::text[])
          END)`
    : await rs.query<{ count: bigint }>`
        SELECT count(*)::bigint AS count FROM "User"
        WHERE ${rs.realm()} AND "customAttributes" ? ${key}`;
  return Number(rows[0]?.count ?? 0);
}

/** Removes `key` from every user of the realm holding it (a change of each: version + 1); how many. */
export function clearAttribute(db: RawSqlClient, realmId: string, key: string): Promise<number> {
  const rs = realmSql(db, realmId);
  return rs.execute`
      UPDATE "User" SET "customAttributes" = "customAttributes" - ${key}::text,
                        version = version + 1, "updatedAt" = now()
      WHERE ${rs.realm()} AND "customAttributes" ? ${key}`;
}
