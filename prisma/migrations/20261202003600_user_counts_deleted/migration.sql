-- users(filter: { includeDeleted: true }).totalCount reads the maintained counts too: a deleted
-- user now counts in one metric, "deleted" (and in none of the others, as before).

-- No user may change between the backfill below and the new keys taking over.
LOCK TABLE "User" IN SHARE ROW EXCLUSIVE MODE;

CREATE OR REPLACE FUNCTION roster_user_count_keys(
  deleted_at timestamptz, status "UserStatus", email_verified boolean, phone_verified boolean,
  mfa_factors integer, created_at timestamptz, active_at timestamptz
) RETURNS TABLE (metric text, bucket timestamptz) LANGUAGE sql STABLE AS $$
  SELECT k.metric, k.bucket
  FROM (VALUES
    ('total', timestamptz '1970-01-01 00:00:00+00'),
    ('status:' || status::text, timestamptz '1970-01-01 00:00:00+00'),
    (CASE WHEN email_verified THEN 'emailVerified' END, timestamptz '1970-01-01 00:00:00+00'),
    (CASE WHEN phone_verified THEN 'phoneVerified' END, timestamptz '1970-01-01 00:00:00+00'),
    (CASE WHEN mfa_factors > 0 THEN 'withMfa' END, timestamptz '1970-01-01 00:00:00+00'),
    ('created', date_bin('1 day', created_at, timestamptz '1970-01-01 00:00:00+00')),
    ('created:hour', date_bin('1 hour', created_at, timestamptz '1970-01-01 00:00:00+00')),
    (CASE WHEN active_at IS NOT NULL THEN 'active' END, date_bin('1 day', active_at, timestamptz '1970-01-01 00:00:00+00')),
    (CASE WHEN active_at IS NOT NULL THEN 'active:hour' END, date_bin('1 hour', active_at, timestamptz '1970-01-01 00:00:00+00'))
  ) k (metric, bucket)
  WHERE deleted_at IS NULL AND k.metric IS NOT NULL
  UNION ALL
  SELECT 'deleted', timestamptz '1970-01-01 00:00:00+00' WHERE deleted_at IS NOT NULL
$$;

INSERT INTO "UserCount" ("realmId", metric, bucket, count)
SELECT "realmId", 'deleted', timestamptz '1970-01-01 00:00:00+00', count(*) FROM "User"
WHERE "deletedAt" IS NOT NULL GROUP BY 1;
