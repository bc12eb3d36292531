-- The breakdown deltas of an update of "UserBreakdownState" without removing the unchanged states
-- first. The old and new states' multisets were differenced by EXCEPT ALL, which sorts both
-- transition tables in full (wide rows with four jsonb maps, spilled to disk beyond work_mem): 80,000
-- identities added by one statement spent 2.4 of their 10.5 s in those sorts. Summing +1 per new
-- state and -1 per old one gives the same deltas (pairs that EXCEPT ALL removed cancel in the sum)
-- in one hash aggregation over the few (realm, dimension, value) groups.
CREATE OR REPLACE FUNCTION roster_breakdown_state_changed() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  realms uuid[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    WITH d AS (
      INSERT INTO "UserBreakdownCountDelta" ("realmId", dimension, value, delta)
      SELECT g."realmId", g.dimension, g.value, g.delta
      FROM (SELECT c."realmId", k.dimension, k.value, count(*) AS delta
            FROM new_rows c, LATERAL roster_user_breakdown_keys(c.live, c.status, c.country, c.password, c."emailCode", c.phone,
              c.roles, c.tenants, c."mfaTypes", c.identities) k
            GROUP BY 1, 2, 3) g
      WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
      RETURNING "realmId"
    )
    SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  ELSIF TG_OP = 'DELETE' THEN
    WITH d AS (
      INSERT INTO "UserBreakdownCountDelta" ("realmId", dimension, value, delta)
      SELECT g."realmId", g.dimension, g.value, g.delta
      FROM (SELECT c."realmId", k.dimension, k.value, -count(*) AS delta
            FROM old_rows c, LATERAL roster_user_breakdown_keys(c.live, c.status, c.country, c.password, c."emailCode", c.phone,
              c.roles, c.tenants, c."mfaTypes", c.identities) k
            GROUP BY 1, 2, 3) g
      WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
      RETURNING "realmId"
    )
    SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  ELSE
    -- Each old state counts -1 and each new one +1; a state left as it was cancels out in the sum
    -- (a user's id is left out: states moving between users cancel out too).
    WITH d AS (
      INSERT INTO "UserBreakdownCountDelta" ("realmId", dimension, value, delta)
      SELECT g."realmId", g.dimension, g.value, g.delta
      FROM (SELECT c."realmId", k.dimension, k.value, sum(c.sign) AS delta
            FROM (SELECT "realmId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities,
                    1 AS sign FROM new_rows
                  UNION ALL
                  SELECT "realmId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities,
                    -1 FROM old_rows) c,
              LATERAL roster_user_breakdown_keys(c.live, c.status, c.country, c.password, c."emailCode", c.phone,
                c.roles, c.tenants, c."mfaTypes", c.identities) k
            GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0) g
      WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = g."realmId")
      RETURNING "realmId"
    )
    SELECT array_agg(DISTINCT "realmId") INTO realms FROM d;
  END IF;
  PERFORM roster_maybe_fold_breakdown_counts(realms);
  RETURN NULL;
END
$$;
