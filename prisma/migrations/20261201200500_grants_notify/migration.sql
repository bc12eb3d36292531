-- Every committed change that can alter what an access token's caller holds (the scopes of an
-- application's or a person's roles and direct grants, an application being disabled, a session
-- ending, a user suspended or deleted) notifies channel `roster_grants` with the realm's id.
-- API processes listen on it and drop the grants they cached for that realm
-- (src/auth/grants-cache.ts). Notifications are sent at commit, deduplicated per transaction.
-- Rows a cascade deletes fire these triggers too. Inserting a user, session or application
-- cannot change a grant someone already holds, so only their relevant updates and deletes notify.

CREATE FUNCTION roster_grants_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('roster_grants', OLD."realmId"::text);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('roster_grants', NEW."realmId"::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_realm_grants_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('roster_grants', OLD.id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "Realm_grants_changed" AFTER DELETE ON "Realm"
  FOR EACH ROW EXECUTE FUNCTION roster_realm_grants_changed();

CREATE TRIGGER "Application_grants_changed" AFTER DELETE ON "Application"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "Application_disabled_changed" AFTER UPDATE OF "disabledAt" ON "Application"
  FOR EACH ROW WHEN (OLD."disabledAt" IS DISTINCT FROM NEW."disabledAt")
  EXECUTE FUNCTION roster_grants_changed();

CREATE TRIGGER "User_grants_changed" AFTER DELETE ON "User"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "User_status_changed" AFTER UPDATE OF "status", "deletedAt" ON "User"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD."deletedAt" IS DISTINCT FROM NEW."deletedAt")
  EXECUTE FUNCTION roster_grants_changed();

CREATE TRIGGER "Session_grants_changed" AFTER DELETE ON "Session"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "Session_end_changed" AFTER UPDATE OF "revokedAt", "expiresAt", "userId" ON "Session"
  FOR EACH ROW WHEN (OLD."revokedAt" IS DISTINCT FROM NEW."revokedAt"
    OR OLD."expiresAt" IS DISTINCT FROM NEW."expiresAt" OR OLD."userId" IS DISTINCT FROM NEW."userId")
  EXECUTE FUNCTION roster_grants_changed();

CREATE TRIGGER "Role_grants_changed" AFTER UPDATE OR DELETE ON "Role"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "RoleScope_grants_changed" AFTER INSERT OR UPDATE OR DELETE ON "RoleScope"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "ApplicationRole_grants_changed" AFTER INSERT OR UPDATE OR DELETE ON "ApplicationRole"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "UserRole_grants_changed" AFTER INSERT OR UPDATE OR DELETE ON "UserRole"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "UserPermission_grants_changed" AFTER INSERT OR UPDATE OR DELETE ON "UserPermission"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "Resource_grants_changed" AFTER INSERT OR UPDATE OR DELETE ON "Resource"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
CREATE TRIGGER "ResourceScope_grants_changed" AFTER INSERT OR UPDATE OR DELETE ON "ResourceScope"
  FOR EACH ROW EXECUTE FUNCTION roster_grants_changed();
