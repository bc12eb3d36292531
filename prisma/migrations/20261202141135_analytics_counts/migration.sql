-- userGrowth and userOverview without a filter read per-realm event counts instead of scanning
-- users, sign-in attempts and activity records. Like "UserCount" (migration user_counts_triggers)
-- they are kept by statement-level triggers in the same transaction as every change, whatever
-- writes the rows, as insert-only deltas that a writer now and then folds.
--
-- Sign-ups, deletions and sign-in attempts are counted by quarter hour (every time zone's offset
-- in use is a whole number of quarter hours, so a bucket of any zone is a set of them) and by UTC
-- day (a long series reads days where a day lies inside one bucket).
--
-- Distinct active users cannot be added up from per-period counts, so each activity record is
-- counted with its gap: the quarter hours since the same user's previous record. A user is
-- active in [S, E) exactly when one of their records at p in [S, E) has its previous record
-- before S, i.e. a gap > (p - S) / 15 min: the active users of any bucket, in any time zone, are
-- a sum over the bucket's quarter hours of the records whose gap is long enough. A gap capped at
-- c quarter hours answers that exactly for buckets up to c quarter hours long, and the smaller c,
-- the fewer distinct (quarter hour, gap) pairs there are to read: "active:<c>" counts them for
-- c = 100 (a day of 25 hours), 676 (a week), 3000 (a month) and 36000 (375 days, longer than any
-- overview period). A first record has the gap c.

-- DropIndex
DROP INDEX "UserActivity_realmId_userId_idx";

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "mfaSince" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "AnalyticsCount" (
    "realmId" UUID NOT NULL,
    "metric" TEXT NOT NULL,
    "period" TIMESTAMPTZ(3) NOT NULL,
    "key" TEXT NOT NULL DEFAULT '',
    "count" BIGINT NOT NULL,

    CONSTRAINT "AnalyticsCount_pkey" PRIMARY KEY ("realmId","metric","period","key")
);

-- CreateTable
CREATE TABLE "AnalyticsCountDelta" (
    "id" BIGSERIAL NOT NULL,
    "realmId" UUID NOT NULL,
    "metric" TEXT NOT NULL,
    "period" TIMESTAMPTZ(3) NOT NULL,
    "key" TEXT NOT NULL DEFAULT '',
    "delta" BIGINT NOT NULL,

    CONSTRAINT "AnalyticsCountDelta_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AnalyticsCountDelta_realmId_metric_period_idx" ON "AnalyticsCountDelta"("realmId", "metric", "period");

-- CreateIndex
CREATE INDEX "User_realmId_mfaSince_idx" ON "User"("realmId", "mfaSince") WHERE ("mfaSince" IS NOT NULL);

-- CreateIndex
CREATE INDEX "User_realmId_lockedUntil_idx" ON "User"("realmId", "lockedUntil") WHERE ("lockedUntil" IS NOT NULL);

-- CreateIndex
CREATE INDEX "UserActivity_realmId_userId_period_idx" ON "UserActivity"("realmId", "userId", "period");

-- AddForeignKey
ALTER TABLE "AnalyticsCount" ADD CONSTRAINT "AnalyticsCount_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AnalyticsCountDelta" ADD CONSTRAINT "AnalyticsCountDelta_realmId_fkey" FOREIGN KEY ("realmId") REFERENCES "Realm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Nothing counted may change between the backfill below and the triggers taking over.
LOCK TABLE "User", "MfaFactor", "LoginEvent", "UserActivity" IN SHARE ROW EXCLUSIVE MODE;

-- "User"."mfaSince", kept by triggers on "MfaFactor" like "mfaFactorCount", makes "had a second
-- factor at" a property of the user's row, counted like the others below.
UPDATE "User" u SET "mfaSince" = f.first
FROM (SELECT "realmId", "userId", min("createdAt") AS first FROM "MfaFactor" GROUP BY 1, 2) f
WHERE u."realmId" = f."realmId" AND u.id = f."userId";

CREATE FUNCTION roster_mfa_since_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE "User" u SET "mfaSince" = least(u."mfaSince", c.first)
    FROM (SELECT "realmId", "userId", min("createdAt") AS first FROM new_rows GROUP BY 1, 2) c
    WHERE u."realmId" = c."realmId" AND u.id = c."userId" AND u."mfaSince" IS DISTINCT FROM least(u."mfaSince", c.first);
  ELSE
    WITH c AS (
      SELECT "realmId", "userId" FROM old_rows
      UNION SELECT "realmId", "userId" FROM new_rows
    ), m AS (
      SELECT c."realmId", c."userId",
        (SELECT min(f."createdAt") FROM "MfaFactor" f WHERE f."realmId" = c."realmId" AND f."userId" = c."userId") AS first
      FROM c
    )
    UPDATE "User" u SET "mfaSince" = m.first
    FROM m WHERE u."realmId" = m."realmId" AND u.id = m."userId" AND u."mfaSince" IS DISTINCT FROM m.first;
  END IF;
  RETURN NULL;
END
$$;

-- new_rows only exists for inserts and updates: deletions have their own function.
CREATE FUNCTION roster_mfa_since_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "User" u SET "mfaSince" = m.first
  FROM (
    SELECT c."realmId", c."userId",
      (SELECT min(f."createdAt") FROM "MfaFactor" f WHERE f."realmId" = c."realmId" AND f."userId" = c."userId") AS first
    FROM (SELECT DISTINCT "realmId", "userId" FROM old_rows) c
  ) m
  WHERE u."realmId" = m."realmId" AND u.id = m."userId" AND u."mfaSince" IS DISTINCT FROM m.first;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_mfa_since_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "User" SET "mfaSince" = NULL WHERE "mfaSince" IS NOT NULL;
  RETURN NULL;
END
$$;

CREATE TRIGGER "MfaFactor_since_inserted" AFTER INSERT ON "MfaFactor"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_since_changed();
CREATE TRIGGER "MfaFactor_since_updated" AFTER UPDATE ON "MfaFactor"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_since_changed();
CREATE TRIGGER "MfaFactor_since_deleted" AFTER DELETE ON "MfaFactor"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_since_deleted();
CREATE TRIGGER "MfaFactor_since_truncated" AFTER TRUNCATE ON "MfaFactor"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_mfa_since_truncated();

-- The counts one user adds to, by quarter hour, day and month (UTC): signUp and, once
-- soft-deleted, deletion; and for userOverview, when they began and stopped being a verified user
-- (verifiedSignUp, verifiedDeletion) and a user with a second factor (mfaSignUp, mfaDeletion). A
-- stop is never counted before its start, so "users with P at t" is exactly starts before t
-- less stops before t.
CREATE FUNCTION roster_user_event_keys(
  created_at timestamptz, deleted_at timestamptz, email_verified boolean, mfa_since timestamptz
) RETURNS TABLE (metric text, period timestamptz) LANGUAGE sql STABLE AS $$
  SELECT e.event || u.unit,
    CASE WHEN u.unit = ':month' THEN date_trunc('month', e.at, 'UTC') ELSE date_bin(u.width, e.at, timestamptz '1970-01-01 00:00:00+00') END
  FROM (VALUES
         ('signUp', created_at, true),
         ('deletion', deleted_at, true),
         ('verifiedSignUp', created_at, email_verified),
         ('verifiedDeletion', greatest(created_at, deleted_at), email_verified AND deleted_at IS NOT NULL),
         ('mfaSignUp', greatest(created_at, mfa_since), mfa_since IS NOT NULL),
         ('mfaDeletion', greatest(created_at, mfa_since, deleted_at), mfa_since IS NOT NULL AND deleted_at IS NOT NULL)
       ) e (event, at, counted),
       (VALUES (':15m', interval '15 minutes'), (':day', interval '1 day'), (':month', NULL)) u (unit, width)
  WHERE e.at IS NOT NULL AND e.counted
$$;

-- The counts one sign-in attempt adds to, keyed by its outcome, method and failure reason.
CREATE FUNCTION roster_sign_in_keys(at timestamptz, success boolean, method text, reason text)
RETURNS TABLE (metric text, period timestamptz, key text) LANGUAGE sql IMMUTABLE AS $$
  SELECT k.metric, k.period, jsonb_build_array(success, method, reason)::text
  FROM (VALUES
    ('signIn:15m', date_bin('15 minutes', at, timestamptz '1970-01-01 00:00:00+00')),
    ('signIn:day', date_bin('1 day', at, timestamptz '1970-01-01 00:00:00+00'))
  ) k (metric, period)
$$;

-- The counts one activity record adds to, by its gap to the user's previous record (null: none).
CREATE FUNCTION roster_activity_keys(gap interval) RETURNS TABLE (metric text, key text) LANGUAGE sql IMMUTABLE AS $$
  SELECT 'active:' || c, least(COALESCE(floor(extract(epoch FROM gap) / 900)::bigint, c), c)::text
  FROM (VALUES (100), (676), (3000), (36000)) caps (c)
$$;

INSERT INTO "AnalyticsCount" ("realmId", metric, period, key, count)
SELECT u."realmId", k.metric, k.period, '', count(*) FROM "User" u,
  LATERAL roster_user_event_keys(u."createdAt", u."deletedAt", u."emailVerified", u."mfaSince") k GROUP BY 1, 2, 3;

INSERT INTO "AnalyticsCount" ("realmId", metric, period, key, count)
SELECT e."realmId", k.metric, k.period, k.key, count(*) FROM "LoginEvent" e,
  LATERAL roster_sign_in_keys(e.at, e.success, e.method, e."failureReason") k GROUP BY 1, 2, 3, 4;

INSERT INTO "AnalyticsCount" ("realmId", metric, period, key, count)
SELECT a."realmId", k.metric, a.period, k.key, count(*)
FROM (
  SELECT "realmId", period, period - lag(period) OVER (PARTITION BY "realmId", "userId" ORDER BY period) AS gap
  FROM "UserActivity"
) a, LATERAL roster_activity_keys(a.gap) k
GROUP BY 1, 2, 3, 4;

-- Moves a realm's deltas into "AnalyticsCount". The caller holds the realm's fold lock.
CREATE FUNCTION roster_fold_analytics_counts(realm uuid) RETURNS void LANGUAGE sql AS $$
  WITH folded AS (DELETE FROM "AnalyticsCountDelta" WHERE "realmId" = realm RETURNING metric, period, key, delta)
  INSERT INTO "AnalyticsCount" ("realmId", metric, period, key, count)
  SELECT realm, metric, period, key, sum(delta) FROM folded GROUP BY metric, period, key
  ON CONFLICT ("realmId", metric, period, key) DO UPDATE SET count = "AnalyticsCount".count + excluded.count
$$;

-- As roster_maybe_fold_user_counts: about one changing statement in 32 folds, never waiting.
CREATE FUNCTION roster_maybe_fold_analytics_counts(realms uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  realm uuid;
BEGIN
  IF realms IS NULL OR random() >= 1.0 / 32 OR current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN;
  END IF;
  FOREACH realm IN ARRAY realms LOOP
    IF pg_try_advisory_xact_lock(hashtext('roster_analytics_counts'), hashtext(realm::text)) THEN
      PERFORM roster_fold_analytics_counts(realm);
    END IF;
  END LOOP;
END
$$;

-- Users: +1 for each key of a new or changed row, -1 for each of an old one. Here and for
-- sign-ins and activity, changes cascading from a realm's deletion leave no deltas (the realm's
-- counts go with it).
CREATE FUNCTION roster_user_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH c AS (
    SELECT "realmId", "createdAt", "deletedAt", "emailVerified", "mfaSince", 1 AS sign FROM new_rows
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", g.metric, g.period, '', g.delta
    FROM (SELECT c."realmId", k.metric, k.period, sum(c.sign) AS delta
          FROM c, LATERAL roster_user_event_keys(c."createdAt", c."deletedAt", c."emailVerified", c."mfaSince") k
          GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0) g
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;
CREATE FUNCTION roster_user_events_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH c AS (
    SELECT "realmId", "createdAt", "deletedAt", "emailVerified", "mfaSince", 1 AS sign FROM new_rows
    UNION ALL SELECT "realmId", "createdAt", "deletedAt", "emailVerified", "mfaSince", -1 FROM old_rows
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", g.metric, g.period, '', g.delta
    FROM (SELECT c."realmId", k.metric, k.period, sum(c.sign) AS delta
          FROM c, LATERAL roster_user_event_keys(c."createdAt", c."deletedAt", c."emailVerified", c."mfaSince") k
          GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0) g
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;
CREATE FUNCTION roster_user_events_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH c AS (
    SELECT "realmId", "createdAt", "deletedAt", "emailVerified", "mfaSince", -1 AS sign FROM old_rows
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", g.metric, g.period, '', g.delta
    FROM (SELECT c."realmId", k.metric, k.period, sum(c.sign) AS delta
          FROM c, LATERAL roster_user_event_keys(c."createdAt", c."deletedAt", c."emailVerified", c."mfaSince") k
          GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0) g
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_sign_in_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH c AS (
    SELECT "realmId", at, success, method, "failureReason", 1 AS sign FROM new_rows
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", g.metric, g.period, g.key, g.delta
    FROM (SELECT c."realmId", k.metric, k.period, k.key, sum(c.sign) AS delta
          FROM c, LATERAL roster_sign_in_keys(c.at, c.success, c.method, c."failureReason") k
          GROUP BY 1, 2, 3, 4 HAVING sum(c.sign) <> 0) g
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;
CREATE FUNCTION roster_sign_in_events_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH c AS (
    SELECT "realmId", at, success, method, "failureReason", 1 AS sign FROM new_rows
    UNION ALL SELECT "realmId", at, success, method, "failureReason", -1 FROM old_rows
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", g.metric, g.period, g.key, g.delta
    FROM (SELECT c."realmId", k.metric, k.period, k.key, sum(c.sign) AS delta
          FROM c, LATERAL roster_sign_in_keys(c.at, c.success, c.method, c."failureReason") k
          GROUP BY 1, 2, 3, 4 HAVING sum(c.sign) <> 0) g
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;
CREATE FUNCTION roster_sign_in_events_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  WITH c AS (
    SELECT "realmId", at, success, method, "failureReason", -1 AS sign FROM old_rows
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", g.metric, g.period, g.key, g.delta
    FROM (SELECT c."realmId", k.metric, k.period, k.key, sum(c.sign) AS delta
          FROM c, LATERAL roster_sign_in_keys(c.at, c.success, c.method, c."failureReason") k
          GROUP BY 1, 2, 3, 4 HAVING sum(c.sign) <> 0) g
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;

-- New activity records: only their gaps and the gap of the record after them change. Each user's
-- row is locked first, so concurrent writers of one user's records queue and each reads its
-- neighbours as committed (READ COMMITTED: every statement below takes a fresh snapshot). The
-- statement noting a session's activity has that lock already, from updating the user.
CREATE FUNCTION roster_activity_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  PERFORM 1 FROM "User" u
  WHERE (u."realmId", u.id) IN (SELECT DISTINCT "realmId", "userId" FROM new_rows)
  ORDER BY u."realmId", u.id FOR NO KEY UPDATE OF u;
  WITH s AS (
    SELECT "realmId", "userId", min(period) AS lo, max(period) AS hi FROM new_rows GROUP BY 1, 2
  ), w AS (
    -- Each user's span of records whose gaps change: from the one before the first new record to
    -- the one after the last.
    SELECT s."realmId", s."userId", s.lo, s.hi,
      (SELECT max(a.period) FROM "UserActivity" a
       WHERE a."realmId" = s."realmId" AND a."userId" = s."userId" AND a.period < s.lo) AS before,
      (SELECT min(a.period) FROM "UserActivity" a
       WHERE a."realmId" = s."realmId" AND a."userId" = s."userId" AND a.period > s.hi) AS after
    FROM s
  ), span AS (
    SELECT a."realmId", a."userId", a.period, w.before, (n.period IS NOT NULL) AS added
    FROM w
    JOIN "UserActivity" a ON a."realmId" = w."realmId" AND a."userId" = w."userId"
      AND a.period >= COALESCE(w.before, w.lo) AND a.period <= COALESCE(w.after, w.hi)
    LEFT JOIN new_rows n ON n."realmId" = a."realmId" AND n."userId" = a."userId" AND n.period = a.period
  ), states AS (
    SELECT "realmId", "userId", period, before, 1 AS sign FROM span
    UNION ALL SELECT "realmId", "userId", period, before, -1 FROM span WHERE NOT added
  ), gaps AS (
    SELECT "realmId", period, before, sign,
      period - lag(period) OVER (PARTITION BY "realmId", "userId", sign ORDER BY period) AS gap
    FROM states
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", k.metric, g.period, k.key, sum(g.sign)
    FROM gaps g, LATERAL roster_activity_keys(g.gap) k
    WHERE g.before IS NULL OR g.period > g.before
    GROUP BY 1, 2, 3, 4 HAVING sum(g.sign) <> 0
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;

-- Activity records deleted or changed (a user erased, direct SQL): every record of the users
-- concerned is counted again, as it is now and as it was.
CREATE FUNCTION roster_activity_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  PERFORM 1 FROM "User" u
  WHERE (u."realmId", u.id) IN (SELECT "realmId", "userId" FROM old_rows)
  ORDER BY u."realmId", u.id FOR NO KEY UPDATE OF u;
  WITH users AS (
    SELECT DISTINCT x."realmId", x."userId" FROM (SELECT "realmId", "userId" FROM old_rows) x
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = x."realmId")
  ), now_rows AS (
    SELECT a."realmId", a."userId", a.period FROM users JOIN "UserActivity" a USING ("realmId", "userId")
  ), states AS (
    SELECT "realmId", "userId", period, 1 AS sign FROM now_rows
    UNION ALL
    SELECT "realmId", "userId", period, -1 FROM (
      SELECT "realmId", "userId", period FROM now_rows
      UNION ALL SELECT o."realmId", o."userId", o.period FROM old_rows o JOIN users USING ("realmId", "userId")
    ) was
  ), gaps AS (
    SELECT "realmId", period, sign,
      period - lag(period) OVER (PARTITION BY "realmId", "userId", sign ORDER BY period) AS gap
    FROM states
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", k.metric, g.period, k.key, sum(g.sign)
    FROM gaps g, LATERAL roster_activity_keys(g.gap) k
    GROUP BY 1, 2, 3, 4 HAVING sum(g.sign) <> 0
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_activity_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  realms uuid[];
BEGIN
  PERFORM 1 FROM "User" u
  WHERE (u."realmId", u.id) IN (SELECT "realmId", "userId" FROM old_rows UNION SELECT "realmId", "userId" FROM new_rows)
  ORDER BY u."realmId", u.id FOR NO KEY UPDATE OF u;
  WITH users AS (
    SELECT DISTINCT x."realmId", x."userId" FROM (SELECT "realmId", "userId" FROM old_rows UNION SELECT "realmId", "userId" FROM new_rows) x
    WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = x."realmId")
  ), now_rows AS (
    SELECT a."realmId", a."userId", a.period FROM users JOIN "UserActivity" a USING ("realmId", "userId")
  ), states AS (
    SELECT "realmId", "userId", period, 1 AS sign FROM now_rows
    UNION ALL
    SELECT "realmId", "userId", period, -1 FROM (
      SELECT "realmId", "userId", period FROM now_rows
      EXCEPT ALL SELECT "realmId", "userId", period FROM new_rows
      UNION ALL SELECT o."realmId", o."userId", o.period FROM old_rows o JOIN users USING ("realmId", "userId")
    ) was
  ), gaps AS (
    SELECT "realmId", period, sign,
      period - lag(period) OVER (PARTITION BY "realmId", "userId", sign ORDER BY period) AS gap
    FROM states
  ), d AS (
    INSERT INTO "AnalyticsCountDelta" ("realmId", metric, period, key, delta)
    SELECT g."realmId", k.metric, g.period, k.key, sum(g.sign)
    FROM gaps g, LATERAL roster_activity_keys(g.gap) k
    GROUP BY 1, 2, 3, 4 HAVING sum(g.sign) <> 0
    RETURNING "realmId"
  )
  SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  PERFORM roster_maybe_fold_analytics_counts(realms);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_analytics_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "AnalyticsCountDelta" WHERE metric LIKE ANY (TG_ARGV);
  DELETE FROM "AnalyticsCount" WHERE metric LIKE ANY (TG_ARGV);
  RETURN NULL;
END
$$;

CREATE TRIGGER "User_events_inserted" AFTER INSERT ON "User"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_user_events_inserted();
CREATE TRIGGER "User_events_updated" AFTER UPDATE ON "User"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_user_events_updated();
CREATE TRIGGER "User_events_deleted" AFTER DELETE ON "User"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_user_events_deleted();
CREATE TRIGGER "User_events_truncated" AFTER TRUNCATE ON "User"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_analytics_counts_truncated('signUp:%', 'deletion:%', 'verifiedSignUp:%', 'verifiedDeletion:%', 'mfaSignUp:%', 'mfaDeletion:%');

CREATE TRIGGER "LoginEvent_counts_inserted" AFTER INSERT ON "LoginEvent"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_sign_in_events_inserted();
CREATE TRIGGER "LoginEvent_counts_updated" AFTER UPDATE ON "LoginEvent"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_sign_in_events_updated();
CREATE TRIGGER "LoginEvent_counts_deleted" AFTER DELETE ON "LoginEvent"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_sign_in_events_deleted();
CREATE TRIGGER "LoginEvent_counts_truncated" AFTER TRUNCATE ON "LoginEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_analytics_counts_truncated('signIn:%');

CREATE TRIGGER "UserActivity_counts_inserted" AFTER INSERT ON "UserActivity"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_activity_inserted();
CREATE TRIGGER "UserActivity_counts_updated" AFTER UPDATE ON "UserActivity"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_activity_updated();
CREATE TRIGGER "UserActivity_counts_deleted" AFTER DELETE ON "UserActivity"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_activity_deleted();
CREATE TRIGGER "UserActivity_counts_truncated" AFTER TRUNCATE ON "UserActivity"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_analytics_counts_truncated('active:%');
