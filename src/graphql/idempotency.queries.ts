import { realmSql, type RawSqlClient } from '../db/realm-sql.ts';

/** What claiming a key found: the key is this request's now, or another request's answer or work. */
export type Claim = { claimed: true } | { claimed: false; fingerprint: string | null; response: unknown };

/**
 * Takes `key` of `caller` for the operation `fingerprint`: inserts the row, or takes over one
 * that has expired or whose first request was abandoned (no answer after `staleSeconds`).
 * Otherwise the row as it stands: its fingerprint and its answer (null while its request runs),
 * or neither when a concurrent request took the key during this statement.
 */
export async function claimKey(
  db: RawSqlClient,
  realmId: string,
  row: { caller: string; key: string; fingerprint: string; ttlSeconds: number; staleSeconds: number },
): Promise<Claim> {
  const sql = realmSql(db, realmId);
  const [found] = await sql.query<{ claimed: boolean; fingerprint: string | null; response: unknown }>`
    WITH claimed AS (
      INSERT INTO "IdempotentRequest" AS r ("realmId", caller, key, fingerprint, "expiresAt")
      VALUES (${realmId}::uuid, ${row.caller}, ${row.key}, ${row.fingerprint},
        now() + make_interval(secs => ${row.ttlSeconds}))
      ON CONFLICT ("realmId", caller, key) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, response = NULL, "createdAt" = now(), "expiresAt" = EXCLUDED."expiresAt"
      WHERE ${sql.realm('r')} AND (r."expiresAt" <= now()
        OR (r.response IS NULL AND r."createdAt" < now() - make_interval(secs => ${row.staleSeconds})))
      RETURNING 1
    )
    SELECT true AS claimed, NULL::text AS fingerprint, NULL::jsonb AS response FROM claimed
    UNION ALL
    SELECT false, r.fingerprint, r.response FROM "IdempotentRequest" r
    WHERE ${sql.realm('r')} AND r.caller = ${row.caller} AND r.key = ${row.key} AND NOT EXISTS (SELECT 1 FROM claimed)`;
  if (found?.claimed) return { claimed: true };
  return { claimed: false, fingerprint: found?.fingerprint ?? null, response: found?.response ?? null };
}

/** Keeps the answer of the request that claimed the key. */
export function keepAnswer(
  db: RawSqlClient,
  realmId: string,
  row: { caller: string; key: string; fingerprint: string },
  response: unknown,
): Promise<number> {
  const sql = realmSql(db, realmId);
  return sql.execute`
    UPDATE "IdempotentRequest" SET response = ${JSON.stringify(response)}::jsonb
    WHERE ${sql.realm()} AND caller = ${row.caller} AND key = ${row.key}
      AND fingerprint = ${row.fingerprint} AND response IS NULL`;
}

/** Gives the key back (its request changed nothing it must remember): a retry executes again. */
export function releaseKey(
  db: RawSqlClient,
  realmId: string,
  row: { caller: string; key: string; fingerprint: string },
): Promise<number> {
  const sql = realmSql(db, realmId);
  return sql.execute`
    DELETE FROM "IdempotentRequest"
    WHERE ${sql.realm()} AND caller = ${row.caller} AND key = ${row.key}
      AND fingerprint = ${row.fingerprint} AND response IS NULL`;
}

/** Deletes the realm's expired keys. */
export function deleteExpiredKeys(db: RawSqlClient, realmId: string): Promise<number> {
  const sql = realmSql(db, realmId);
  return sql.execute`DELETE FROM "IdempotentRequest" WHERE ${sql.realm()} AND "expiresAt" <= now()`;
}
