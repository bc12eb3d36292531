-- The breakdown deltas of a statement that changes "UserBreakdownState" are computed from its
-- transition tables directly. The function used to gather them into PL/pgSQL arrays first and
-- expand the arrays in one statement: about 20 KB of memory per changed row that the backend
-- kept until the statement ended (50,000 users inserted by one statement: 1 GB; 1,000,000: the
-- database's backend was killed for lack of memory). Now 50,000 users take about 220 MB, as
-- with no breakdown trigger at all. The statements stay static SQL (planned once per connection);
-- each operation has its own, as a transition table exists only for the operations that have it.
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
    -- A user's id is left out: states moving between users cancel out.
    WITH c AS (
      SELECT x.*, 1 AS sign
      FROM (SELECT "realmId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM new_rows
            EXCEPT ALL
            SELECT "realmId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM old_rows) x
      UNION ALL
      SELECT x.*, -1
      FROM (SELECT "realmId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM old_rows
            EXCEPT ALL
            SELECT "realmId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM new_rows) x
    ), d AS (
      INSERT INTO "UserBreakdownCountDelta" ("realmId", dimension, value, delta)
      SELECT g."realmId", g.dimension, g.value, g.delta
      FROM (SELECT c."realmId", k.dimension, k.value, sum(c.sign) AS delta
            FROM c, LATERAL roster_user_breakdown_keys(c.live, c.status, c.country, c.password, c."emailCode", c.phone,
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
