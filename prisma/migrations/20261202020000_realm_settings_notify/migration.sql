-- A realm's settings (token and session lifetimes, lockout, sign-in policy) are read by the OAuth
-- endpoints from a row each API process keeps (src/modules/realm/realm.cache.ts) until the
-- realm's grants version changes: an update of the row notifies `roster_grants` as its deletion
-- does, so the other processes read it again on their next request.

CREATE TRIGGER "Realm_settings_changed" AFTER UPDATE ON "Realm"
  FOR EACH ROW EXECUTE FUNCTION roster_realm_grants_changed();
