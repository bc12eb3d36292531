-- userStats without a filter reads per-realm totals instead of scanning the realm's users. They
-- are kept in the same transaction as every change, by triggers, so they are exact whatever
-- writes the users (the API, bulk statements, cascades, direct SQL).
--
-- Every statement that changes users inserts what it changed per metric and bucket into
-- "UserCountDelta" (statement-level triggers over transition tables: a bulk statement writes a few
-- rows, not one per user). Writers only insert, so concurrent writers never wait on a shared
-- counter row. Now and then a writer folds its realm's deltas into "UserCount"; readers add up
-- both tables. "User"."mfaFactorCount", kept by the triggers on "MfaFactor" through an UPDATE of
-- the user's row (which queues concurrent changes to one user's factors), makes "has MFA" a
-- property of the user's row like the others.
--
-- "created" and "active" are bucketed by the day and the hour they fall in, so "in the last 30
-- days" is the sum of the days after the boundary's day, of the hours of that day after the
-- boundary's hour, and a count of the users inside the boundary's hour: some 60 rows, not 720.

-- No user or factor may change between the backfill below and the triggers taking over.
LOCK TABLE "User", "MfaFactor" IN SHARE ROW EXCLUSIVE MODE;

UPDATE "User" u SET "mfaFactorCount" = f.n
FROM (SELECT "realmId", "userId", count(*) AS n FROM "MfaFactor" GROUP BY 1, 2) f
WHERE u."realmId" = f."realmId" AND u.id = f."userId";

-- The metrics and buckets one user counts in (none when deleted). "created" and "active" count
-- by the day (UTC) and, as "created:hour" and "active:hour", by the hour.
CREATE FUNCTION roster_user_count_keys(
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
$$;

INSERT INTO "UserCount" ("realmId", metric, bucket, count)
SELECT u."realmId", k.metric, k.bucket, count(*) FROM "User" u,
  LATERAL roster_user_count_keys(u."deletedAt", u.status, u."emailVerified", u."phoneVerified", u."mfaFactorCount", u."createdAt", COALESCE(u."lastActiveAt", u."lastLoginAt")) k GROUP BY 1, 2, 3;

-- Moves a realm's deltas into "UserCount". The caller holds the realm's fold lock.
CREATE FUNCTION roster_fold_user_counts(realm uuid) RETURNS void LANGUAGE sql AS $$
  WITH folded AS (DELETE FROM "UserCountDelta" WHERE "realmId" = realm RETURNING metric, bucket, delta)
  INSERT INTO "UserCount" ("realmId", metric, bucket, count)
  SELECT realm, metric, bucket, sum(delta) FROM folded GROUP BY metric, bucket
  ON CONFLICT ("realmId", metric, bucket) DO UPDATE SET count = "UserCount".count + excluded.count
$$;

-- About one changing statement in 32 folds its realm's deltas, unless another transaction is
-- folding that realm (the lock is held to commit; nobody waits for it). Only under READ COMMITTED:
-- a snapshot older than the statement could fail on a row another fold deleted.
CREATE FUNCTION roster_maybe_fold_user_counts(realms uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  realm uuid;
BEGIN
  IF random() >= 1.0 / 32 OR current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN;
  END IF;
  FOREACH realm IN ARRAY realms LOOP
    IF pg_try_advisory_xact_lock(hashtext('roster_user_counts'), hashtext(realm::text)) THEN
      PERFORM roster_fold_user_counts(realm);
    END IF;
  END LOOP;
END
$$;

CREATE FUNCTION roster_user_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH d AS (
    INSERT INTO "UserCountDelta" ("realmId", metric, bucket, delta)
    SELECT n."realmId", k.metric, k.bucket, count(*) FROM new_rows n,
      LATERAL roster_user_count_keys(n."deletedAt", n.status, n."emailVerified", n."phoneVerified", n."mfaFactorCount", n."createdAt", COALESCE(n."lastActiveAt", n."lastLoginAt")) k GROUP BY 1, 2, 3
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  IF realms IS NOT NULL THEN
    PERFORM roster_maybe_fold_user_counts(realms);
  END IF;
  RETURN NULL;
END
$$;

-- Here and on delete: changes cascading from a realm's deletion leave no deltas (the realm's
-- counts go with it).
CREATE FUNCTION roster_user_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH d AS (
    INSERT INTO "UserCountDelta" ("realmId", metric, bucket, delta)
    SELECT g."realmId", g.metric, g.bucket, g.delta
    FROM (SELECT c."realmId", k.metric, k.bucket, sum(c.sign) AS delta
          FROM (SELECT "realmId", "deletedAt", status, "emailVerified", "phoneVerified", "mfaFactorCount", "createdAt", "lastActiveAt", "lastLoginAt", 1 AS sign FROM new_rows
                UNION ALL SELECT "realmId", "deletedAt", status, "emailVerified", "phoneVerified", "mfaFactorCount", "createdAt", "lastActiveAt", "lastLoginAt", -1 FROM old_rows) c,
            LATERAL roster_user_count_keys(c."deletedAt", c.status, c."emailVerified", c."phoneVerified", c."mfaFactorCount", c."createdAt", COALESCE(c."lastActiveAt", c."lastLoginAt")) k
          GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0) g
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  IF realms IS NOT NULL THEN
    PERFORM roster_maybe_fold_user_counts(realms);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_user_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH d AS (
    INSERT INTO "UserCountDelta" ("realmId", metric, bucket, delta)
    SELECT g."realmId", g.metric, g.bucket, g.delta
    FROM (SELECT o."realmId", k.metric, k.bucket, -count(*) AS delta
          FROM old_rows o,
            LATERAL roster_user_count_keys(o."deletedAt", o.status, o."emailVerified", o."phoneVerified", o."mfaFactorCount", o."createdAt", COALESCE(o."lastActiveAt", o."lastLoginAt")) k GROUP BY 1, 2, 3) g
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  IF realms IS NOT NULL THEN
    PERFORM roster_maybe_fold_user_counts(realms);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_user_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "UserCountDelta";
  DELETE FROM "UserCount";
  RETURN NULL;
END
$$;

CREATE TRIGGER "User_counts_inserted" AFTER INSERT ON "User"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_user_counts_inserted();
CREATE TRIGGER "User_counts_updated" AFTER UPDATE ON "User"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_user_counts_updated();
CREATE TRIGGER "User_counts_deleted" AFTER DELETE ON "User"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_user_counts_deleted();
CREATE TRIGGER "User_counts_truncated" AFTER TRUNCATE ON "User"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_user_counts_truncated();

-- A factor added, removed or moved changes its user's "mfaFactorCount" (and so "withMfa" above).
CREATE FUNCTION roster_mfa_factor_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE "User" u SET "mfaFactorCount" = u."mfaFactorCount" + c.n
    FROM (SELECT "realmId", "userId", count(*) AS n FROM new_rows GROUP BY 1, 2) c
    WHERE u."realmId" = c."realmId" AND u.id = c."userId";
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE "User" u SET "mfaFactorCount" = u."mfaFactorCount" - c.n
    FROM (SELECT "realmId", "userId", count(*) AS n FROM old_rows GROUP BY 1, 2) c
    WHERE u."realmId" = c."realmId" AND u.id = c."userId";
  ELSE
    UPDATE "User" u SET "mfaFactorCount" = u."mfaFactorCount" + c.n
    FROM (SELECT "realmId", "userId", sum(sign) AS n
          FROM (SELECT "realmId", "userId", 1 AS sign FROM new_rows
                UNION ALL SELECT "realmId", "userId", -1 FROM old_rows) x
          GROUP BY 1, 2 HAVING sum(sign) <> 0) c
    WHERE u."realmId" = c."realmId" AND u.id = c."userId";
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "MfaFactor_counts_inserted" AFTER INSERT ON "MfaFactor"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_factor_counts_changed();
CREATE TRIGGER "MfaFactor_counts_updated" AFTER UPDATE ON "MfaFactor"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_factor_counts_changed();
CREATE TRIGGER "MfaFactor_counts_deleted" AFTER DELETE ON "MfaFactor"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_factor_counts_changed();
CREATE FUNCTION roster_mfa_factor_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "User" SET "mfaFactorCount" = 0 WHERE "mfaFactorCount" <> 0;
  RETURN NULL;
END
$$;

CREATE TRIGGER "MfaFactor_counts_truncated" AFTER TRUNCATE ON "MfaFactor"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_factor_counts_truncated();
