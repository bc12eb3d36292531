import type { AdapterPayload } from 'oidc-provider';
import { Prisma } from '../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../db/realm-sql.ts';

/** A row of the provider's storage, as `refreshTokenRows` reads it. */
export interface OidcPayloadRow {
  model: string;
  payload: AdapterPayload;
  consumedAt: Date | null;
}

/**
 * The unexpired refresh token `id` of the realm, its grant and its browser session (the newest
 * row of its uid), in one statement: three look-ups by key, the last two by ids the token holds.
 */
export function refreshTokenRows(db: RawSqlClient, realmId: string, id: string): Promise<OidcPayloadRow[]> {
  const sql = realmSql(db, realmId);
  const live = Prisma.sql`("expiresAt" IS NULL OR "expiresAt" > ${new Date()})`;
  return sql.query<OidcPayloadRow>`
    WITH token AS (
      SELECT payload FROM "OidcPayload" WHERE ${sql.realm()} AND model = 'RefreshToken' AND id = ${id}
    )
    SELECT model, payload, "consumedAt" FROM "OidcPayload"
    WHERE ${sql.realm()} AND model = 'RefreshToken' AND id = ${id} AND ${live}
    UNION ALL
    SELECT model, payload, "consumedAt" FROM "OidcPayload"
    WHERE ${sql.realm()} AND model = 'Grant' AND id = (SELECT payload->>'grantId' FROM token) AND ${live}
    UNION ALL
    (SELECT model, payload, "consumedAt" FROM "OidcPayload"
    WHERE ${sql.realm()} AND model = 'Session' AND uid = (SELECT payload->>'sessionUid' FROM token) AND ${live}
    ORDER BY "createdAt" DESC LIMIT 1)`;
}

/** A row of the provider's storage as the adapter saves it. */
export interface OidcPayloadWrite {
  model: string;
  id: string;
  payload: AdapterPayload;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: Date | null;
}

/** Saves rows of the realm in one statement: new ones inserted, existing ones replaced (and no longer consumed). */
export async function savePayloads(
  db: RawSqlClient,
  realmId: string,
  rows: readonly OidcPayloadWrite[],
): Promise<void> {
  if (rows.length === 0) return;
  const sql = realmSql(db, realmId);
  const values = Prisma.join(
    rows.map(
      (row) =>
        Prisma.sql`(${realmId}::uuid, ${row.model}, ${row.id}, ${JSON.stringify(row.payload)}::jsonb, ${row.grantId}, ${row.userCode}, ${row.uid}, ${row.expiresAt}::timestamptz)`,
    ),
  );
  await sql.execute`
    INSERT INTO "OidcPayload" AS p ("realmId", model, id, payload, "grantId", "userCode", uid, "expiresAt")
    VALUES ${values}
    ON CONFLICT ("realmId", model, id) DO UPDATE SET
      payload = EXCLUDED.payload, "grantId" = EXCLUDED."grantId", "userCode" = EXCLUDED."userCode",
      uid = EXCLUDED.uid, "expiresAt" = EXCLUDED."expiresAt", "consumedAt" = NULL
    WHERE ${sql.realm('p')}`;
}

/**
 * Marks a row of the realm used, unless it already was; how many rows it marked (0 or 1).
 *
 * Committed without waiting for the WAL flush (`synchronous_commit` off for this statement's
 * own transaction): what a consumed code or refresh token leads to — the new tokens — is saved
 * next with a normal commit, whose flush covers this change too. A crash between the two can
 * only lose the mark of a use whose tokens were never saved nor handed out, which leaves the
 * code or token usable as if that use had not happened. The row lock still makes one of two
 * concurrent uses the only one. One disk flush less per refresh grant and code exchange.
 */
export function consumePayload(db: RawSqlClient, realmId: string, model: string, id: string): Promise<number> {
  const sql = realmSql(db, realmId);
  return sql.execute`
    WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
    UPDATE "OidcPayload" SET "consumedAt" = ${new Date()}
    WHERE ${sql.realm()} AND model = ${model} AND id = ${id} AND "consumedAt" IS NULL
      AND EXISTS (SELECT 1 FROM relaxed)`;
}
