-- A realm's settings (token and session lifetimes, lockout, sign-in policy) are read by the OAuth
-- endpoints from a row each API process keeps (src/modules/realm/realm.cache.ts) until the
-- realm's grants version changes: an update of the row notifies `roster_grants` as its deletion
-- does, so the other processes read it again on their next request.

CREATE TRIGGER "Realm_settings_changed" AFTER UPDATE ON "Realm"
  FOR EACH ROW EXECUTE FUNCTION roster_realm_grants_changed();

-- The token endpoint and the providers keep the realm's applications as OAuth clients by the same
-- version: a change of what makes one a client (its type and redirect URIs) notifies too.
CREATE TRIGGER "Application_client_changed" AFTER UPDATE OF "type", "redirectUris", "postLogoutRedirectUris" ON "Application"
  FOR EACH ROW WHEN (
    OLD."type" IS DISTINCT FROM NEW."type"
    OR OLD."redirectUris" IS DISTINCT FROM NEW."redirectUris"
    OR OLD."postLogoutRedirectUris" IS DISTINCT FROM NEW."postLogoutRedirectUris"
  )
  EXECUTE FUNCTION roster_grants_changed();
