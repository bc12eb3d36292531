import type { ApplicationType } from '../../generated/prisma/client.ts';
import { MANAGEMENT_API_INDICATOR } from '../../auth/scopes.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/** One scope an application's roles grant, with its application. */
export interface ApplicationScopeRow {
  applicationId: string;
  scopeId: string;
  name: string;
  indicator: string;
  management: boolean;
}

/** Every scope the roles of these applications grant, in one statement. */
export function applicationScopeRows(
  db: RawSqlClient,
  realmId: string,
  applicationIds: readonly string[],
): Promise<ApplicationScopeRow[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT DISTINCT ar."applicationId"::text AS "applicationId", s.id::text AS "scopeId", s.name, r.indicator,
      (r."builtIn" AND r.indicator = ${MANAGEMENT_API_INDICATOR}) AS management
    FROM "ApplicationRole" ar
    JOIN "RoleScope" rs ON rs."realmId" = ar."realmId" AND rs."roleId" = ar."roleId"
    JOIN "ResourceScope" s ON s."realmId" = rs."realmId" AND s.id = rs."scopeId"
    JOIN "Resource" r ON r."realmId" = s."realmId" AND r.id = s."resourceId"
    WHERE ${rs.realm('ar')} AND ar."applicationId" = ANY(${[...applicationIds]}::uuid[])
    ORDER BY r.indicator, s.name, "scopeId"`;
}

/** Locks the role's row until the transaction ends. */
export async function lockRole(db: RawSqlClient, realmId: string, roleId: string): Promise<void> {
  const rs = realmSql(db, realmId);
  await rs.query`SELECT 1 FROM "Role" WHERE ${rs.realm()} AND id = ${roleId}::uuid FOR UPDATE`;
}

/** An enabled application of the realm with one of its currently valid secrets. */
export interface ClientSecretRow {
  id: string;
  realmId: string;
  clientId: string;
  type: ApplicationType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  secretHash: string;
}

/** The currently valid secrets of the realm's enabled application with this client id. */
export function clientSecretRows(db: RawSqlClient, realmId: string, clientId: string): Promise<ClientSecretRow[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT a.id::text AS id, a."realmId"::text AS "realmId", a."clientId", a.type::text AS type, a."redirectUris",
      a."postLogoutRedirectUris", s."secretHash"
    FROM "Application" a
    JOIN "ApplicationSecret" s ON s."realmId" = a."realmId" AND s."applicationId" = a.id
    WHERE ${rs.realm('a')} AND a."clientId" = ${clientId} AND a."disabledAt" IS NULL
      AND (s."expiresAt" IS NULL OR s."expiresAt" > now())`;
}

/**
 * The management scope names an enabled application's roles grant (null in `scopes` when none);
 * no row when the application no longer exists or is disabled.
 */
export function managementScopeRows(
  db: RawSqlClient,
  realmId: string,
  applicationId: string,
): Promise<{ scopes: string[] | null }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT array_agg(DISTINCT s.name) FILTER (WHERE r.id IS NOT NULL) AS scopes
    FROM "Application" a
    LEFT JOIN "ApplicationRole" ar ON ar."realmId" = a."realmId" AND ar."applicationId" = a.id
    LEFT JOIN "RoleScope" rs ON rs."realmId" = ar."realmId" AND rs."roleId" = ar."roleId"
    LEFT JOIN "ResourceScope" s ON s."realmId" = rs."realmId" AND s.id = rs."scopeId"
    LEFT JOIN "Resource" r ON r."realmId" = s."realmId" AND r.id = s."resourceId"
      AND r.indicator = ${MANAGEMENT_API_INDICATOR} AND r."builtIn"
    WHERE ${rs.realm('a')} AND a.id = ${applicationId}::uuid AND a."disabledAt" IS NULL
    GROUP BY a.id`;
}

/**
 * The realm's resource with this indicator and the names of its scopes that the application's
 * roles grant (null in `scopes` when none); no row when the realm has no such resource.
 */
export function resourceGrantRows(
  db: RawSqlClient,
  realmId: string,
  applicationId: string,
  indicator: string,
): Promise<{ scopes: string[] | null }[]> {
  const rs = realmSql(db, realmId);
  return rs.query`
    SELECT array_agg(DISTINCT s.name) FILTER (WHERE s.id IS NOT NULL) AS scopes
    FROM "Resource" r
    LEFT JOIN "ApplicationRole" ar ON ar."realmId" = r."realmId" AND ar."applicationId" = ${applicationId}::uuid
    LEFT JOIN "RoleScope" rs ON rs."realmId" = ar."realmId" AND rs."roleId" = ar."roleId"
    LEFT JOIN "ResourceScope" s ON s."realmId" = rs."realmId" AND s.id = rs."scopeId" AND s."resourceId" = r.id
    WHERE ${rs.realm('r')} AND r.indicator = ${indicator}
    GROUP BY r.id`;
}
