-- The new management scope `users:impersonate` on every realm's management API, held by its
-- built-in administrator role (new realms get both from the scope catalogue).
INSERT INTO "ResourceScope" ("id", "realmId", "resourceId", "name", "description", "updatedAt")
SELECT gen_random_uuid(), r."realmId", r."id", 'users:impersonate',
       'Get a user''s token by token exchange (RFC 8693), to act as the user (impersonation).', now()
FROM "Resource" r
WHERE r."builtIn" AND r."indicator" = 'urn:roster:management-api'
ON CONFLICT ("realmId", "resourceId", "name") DO NOTHING;

INSERT INTO "RoleScope" ("realmId", "roleId", "scopeId")
SELECT ro."realmId", ro."id", s."id"
FROM "Role" ro
JOIN "Resource" r ON r."realmId" = ro."realmId" AND r."builtIn" AND r."indicator" = 'urn:roster:management-api'
JOIN "ResourceScope" s ON s."realmId" = r."realmId" AND s."resourceId" = r."id" AND s."name" = 'users:impersonate'
WHERE ro."builtIn" AND ro."name" = 'Roster Administrator' AND ro."tenantId" IS NULL
ON CONFLICT DO NOTHING;
