-- Every audit write needs the realm's webhook subscriptions, which each API process keeps
-- (src/modules/webhooks/webhooks.subscribers.ts) by a version of their own: an endpoint created
-- or deleted, or a change of where it sends, what it receives or whether it is enabled, notifies
-- `roster_grants` with `webhooks:` and the realm's id at commit, so the other processes read them
-- again on their next audit write (and keep the grants they cached).

CREATE FUNCTION roster_webhooks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('roster_grants', 'webhooks:' || OLD."realmId"::text);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('roster_grants', 'webhooks:' || NEW."realmId"::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "WebhookEndpoint_subscriptions_changed" AFTER INSERT OR DELETE ON "WebhookEndpoint"
  FOR EACH ROW EXECUTE FUNCTION roster_webhooks_changed();
CREATE TRIGGER "WebhookEndpoint_subscription_changed" AFTER UPDATE OF "url", "eventTypes", "enabled", "realmId" ON "WebhookEndpoint"
  FOR EACH ROW WHEN (
    OLD."url" IS DISTINCT FROM NEW."url"
    OR OLD."eventTypes" IS DISTINCT FROM NEW."eventTypes"
    OR OLD."enabled" IS DISTINCT FROM NEW."enabled"
    OR OLD."realmId" IS DISTINCT FROM NEW."realmId"
  )
  EXECUTE FUNCTION roster_webhooks_changed();
