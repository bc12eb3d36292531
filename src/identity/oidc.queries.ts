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
