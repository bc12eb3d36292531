import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';
import type { UserStatus } from '../../generated/prisma/client.ts';

/** A Roster session of a sign-in as `liveSession` checks it, with its user. */
export interface SignInSessionRow {
  id: string;
  userId: string;
  tenantId: string | null;
  createdAt: Date;
  lastActiveAt: Date;
  expiresAt: Date;
  /** Whether the user is a member of the session's tenant (true for a session within none). */
  member: boolean;
  user: {
    id: string;
    status: UserStatus;
    email: string | null;
    emailVerified: boolean;
    username: string | null;
    name: string | null;
    givenName: string | null;
    familyName: string | null;
    nickname: string | null;
    picture: string | null;
    gender: string | null;
    birthdate: Date | null;
    locale: string | null;
    timezone: string | null;
    updatedAt: Date;
    deletedAt: Date | null;
  };
}

type Flat = Omit<SignInSessionRow, 'user'> & {
  [K in keyof SignInSessionRow['user'] as `u_${K}`]: SignInSessionRow['user'][K];
};

/**
 * The newest unrevoked Roster session of provider session `providerSessionUid`, with its user
 * and whether the user is still a member of its tenant, in one statement: every token refresh
 * reads it.
 */
export async function signInSessionRow(
  db: RawSqlClient,
  realmId: string,
  providerSessionUid: string,
): Promise<SignInSessionRow | null> {
  const sql = realmSql(db, realmId);
  const [row] = await sql.query<Flat>`
    SELECT s.id, s."userId", s."tenantId", s."createdAt", s."lastActiveAt", s."expiresAt",
      (s."tenantId" IS NULL OR EXISTS (
        SELECT 1 FROM "TenantMembership" m
        WHERE m."realmId" = s."realmId" AND m."tenantId" = s."tenantId" AND m."userId" = s."userId"
      )) AS member,
      u.id AS u_id, u.status::text AS u_status, u.email AS u_email, u."emailVerified" AS "u_emailVerified",
      u.username AS u_username, u.name AS u_name, u."givenName" AS "u_givenName",
      u."familyName" AS "u_familyName", u.nickname AS u_nickname, u.picture AS u_picture,
      u.gender AS u_gender, u.birthdate AS u_birthdate, u.locale AS u_locale, u.timezone AS u_timezone,
      u."updatedAt" AS "u_updatedAt", u."deletedAt" AS "u_deletedAt"
    FROM "Session" s JOIN "User" u ON u."realmId" = s."realmId" AND u.id = s."userId"
    WHERE ${sql.realm('s')} AND s."providerSessionUid" = ${providerSessionUid} AND s."revokedAt" IS NULL
    ORDER BY s."createdAt" DESC
    LIMIT 1`;
  if (!row) return null;
  const user = {} as Record<string, unknown>;
  const session = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith('u_')) user[key.slice(2)] = value;
    else session[key] = value;
  }
  // A date column may come back as a string from one driver and a Date from another.
  if (typeof user.birthdate === 'string') user.birthdate = new Date(user.birthdate);
  return { ...(session as Omit<SignInSessionRow, 'user'>), user: user as SignInSessionRow['user'] };
}
