-- userBreakdown without a filter (by role, tenant, MFA type, sign-in method, status or country)
-- reads per-realm counts of the users not deleted holding each value, instead of every
-- assignment, membership, factor or user row of the realm. Like "UserCount" (migration
-- user_counts_triggers) and "AnalyticsCount" they are kept by statement-level triggers in the
-- same transaction as every change, whatever writes the rows (the API, bulk statements, cascades,
-- direct SQL), as insert-only deltas that a writer now and then folds: concurrent writers never
-- wait on a shared counter row.
--
-- A user counts once per value however many rows give it to them (a role held realm-wide and in
-- tenants, two factors of a type, identities of several providers), so what a change does to a
-- count depends on the user's other rows. "UserBreakdownState" keeps, per user, what the user's
-- row says (not deleted, status, country, sign-in methods) and each value with how many rows give
-- it. The triggers on "User" copy the first when they change; those on "UserRole",
-- "TenantMembership", "MfaFactor" and "Identity" add their net change to the second (an increment
-- re-evaluated on the row's latest version, so concurrent writers of one user queue on its state
-- row and add up). The counts' deltas are then the state rows' changes alone: +1 for each key of
-- a new state, -1 for each of an old one. A narrow table of its own, not columns of "User": an
-- update of a user's row rewrites its twenty index entries, and the state row has no relation to
-- "User" because a hard-deleted user's row goes before the cascade removes its assignments, whose
-- triggers must still find what the user held.

-- Room on each page for updates that rewrite no index entry.
ALTER TABLE "UserBreakdownState" SET (fillfactor = 70);

-- No user or row counted may change between the backfill below and the triggers taking over.
LOCK TABLE "User", "UserRole", "TenantMembership", "MfaFactor", "Identity" IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO "UserBreakdownState" ("realmId", "userId", live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities)
SELECT u."realmId", u.id, u."deletedAt" IS NULL, u.status::text, u.country::text, u."passwordHash" IS NOT NULL,
  u.email IS NOT NULL AND u."emailVerified", u.phone IS NOT NULL AND u."phoneVerified",
  COALESCE(m.roles, '{}'), COALESCE(m.tenants, '{}'), COALESCE(m.mfa, '{}'), COALESCE(m.identities, '{}')
FROM "User" u LEFT JOIN (
  SELECT "realmId", "userId",
    jsonb_object_agg(v, n) FILTER (WHERE kind = 'role') AS roles,
    jsonb_object_agg(v, n) FILTER (WHERE kind = 'tenant') AS tenants,
    jsonb_object_agg(v, n) FILTER (WHERE kind = 'mfa') AS mfa,
    jsonb_object_agg(v, n) FILTER (WHERE kind = 'identity') AS identities
  FROM (
    SELECT "realmId", "userId", kind, v, count(*) AS n
    FROM (SELECT "realmId", "userId", 'role' AS kind, "roleId"::text AS v FROM "UserRole"
          UNION ALL SELECT "realmId", "userId", 'tenant', "tenantId"::text FROM "TenantMembership"
          UNION ALL SELECT "realmId", "userId", 'mfa', type::text FROM "MfaFactor"
          UNION ALL SELECT "realmId", "userId", 'identity', provider FROM "Identity") r
    GROUP BY 1, 2, 3, 4
  ) c
  GROUP BY 1, 2
) m ON m."realmId" = u."realmId" AND m."userId" = u.id;

-- The (dimension, value) pairs a user's state counts in (none when deleted), and
-- ('valued', dimension) for each dimension in which the user has at least one value.
CREATE FUNCTION roster_user_breakdown_keys(
  live boolean, status text, country text, password boolean, email_code boolean, phone boolean,
  roles jsonb, tenants jsonb, mfa_types jsonb, identities jsonb
) RETURNS TABLE (dimension text, value text) LANGUAGE sql IMMUTABLE AS $$
  SELECT k.dimension, k.value
  FROM (
    SELECT 'ROLE' AS dimension, jsonb_object_keys(roles) AS value
    UNION ALL SELECT 'TENANT', jsonb_object_keys(tenants)
    UNION ALL SELECT 'MFA_TYPE', jsonb_object_keys(mfa_types)
    UNION ALL
    SELECT m.dimension, m.value
    FROM (VALUES
      ('STATUS', status, true),
      ('COUNTRY', country, country IS NOT NULL),
      ('AUTH_METHOD', 'PASSWORD', password),
      ('AUTH_METHOD', 'EMAIL_CODE', email_code),
      ('AUTH_METHOD', 'PHONE', phone),
      ('AUTH_METHOD', 'OAUTH', identities <> '{}'),
      ('AUTH_METHOD', 'PASSKEY', mfa_types ? 'WEBAUTHN'),
      ('valued', 'STATUS', true),
      ('valued', 'COUNTRY', country IS NOT NULL),
      ('valued', 'AUTH_METHOD', password OR email_code OR phone OR identities <> '{}' OR mfa_types ? 'WEBAUTHN'),
      ('valued', 'ROLE', roles <> '{}'),
      ('valued', 'TENANT', tenants <> '{}'),
      ('valued', 'MFA_TYPE', mfa_types <> '{}')
    ) m (dimension, value, held)
    WHERE m.held
  ) k
  WHERE live
$$;

INSERT INTO "UserBreakdownCount" ("realmId", dimension, value, count)
SELECT s."realmId", k.dimension, k.value, count(*) FROM "UserBreakdownState" s,
  LATERAL roster_user_breakdown_keys(s.live, s.status, s.country, s.password, s."emailCode", s.phone, s.roles, s.tenants, s."mfaTypes", s.identities) k
GROUP BY 1, 2, 3;

-- Moves a realm's deltas into "UserBreakdownCount", dropping counts that reached zero (the values
-- of deleted roles and tenants). The caller holds the realm's fold lock.
CREATE FUNCTION roster_fold_breakdown_counts(realm uuid) RETURNS void LANGUAGE sql AS $$
  WITH folded AS (DELETE FROM "UserBreakdownCountDelta" WHERE "realmId" = realm RETURNING dimension, value, delta)
  INSERT INTO "UserBreakdownCount" ("realmId", dimension, value, count)
  SELECT realm, dimension, value, sum(delta) FROM folded GROUP BY dimension, value
  ON CONFLICT ("realmId", dimension, value) DO UPDATE SET count = "UserBreakdownCount".count + excluded.count;
  DELETE FROM "UserBreakdownCount" WHERE "realmId" = realm AND count = 0;
$$;

-- As roster_maybe_fold_user_counts: about one changing statement in 32 folds, never waiting.
CREATE FUNCTION roster_maybe_fold_breakdown_counts(realms uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  realm uuid;
BEGIN
  IF realms IS NULL OR random() >= 1.0 / 32 OR current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN;
  END IF;
  FOREACH realm IN ARRAY realms LOOP
    IF pg_try_advisory_xact_lock(hashtext('roster_breakdown_counts'), hashtext(realm::text)) THEN
      PERFORM roster_fold_breakdown_counts(realm);
    END IF;
  END LOOP;
END
$$;

-- States: +1 for each key of a new state, -1 for each of an old one (only states that differ
-- are expanded). Changes cascading from a realm's deletion leave no deltas (the realm's counts go
-- with it). Every statement here and in the triggers below is static SQL, so PL/pgSQL plans it once
-- per connection instead of on every call; each operation gathers its transition tables' rows and
-- one statement expands them.
-- Its parameters are arrays whatever their length, so a custom plan (planned again on each of
-- a connection's first five calls) buys nothing: a one-row change costs 0.4-0.7 ms instead of 2-4.
CREATE FUNCTION roster_breakdown_state_changed() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  added "UserBreakdownState"[];
  removed "UserBreakdownState"[];
  realms uuid[];
BEGIN
  -- A transition table exists only for the operations that have it.
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(n) INTO added FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(o) INTO removed FROM old_rows o;
  ELSE
    -- A user's id is left out: states moving between users cancel out.
    SELECT array_agg(ROW(x.*)::"UserBreakdownState") INTO added
    FROM (SELECT "realmId", NULL::uuid, live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM new_rows
          EXCEPT ALL
          SELECT "realmId", NULL::uuid, live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM old_rows) x;
    SELECT array_agg(ROW(x.*)::"UserBreakdownState") INTO removed
    FROM (SELECT "realmId", NULL::uuid, live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM old_rows
          EXCEPT ALL
          SELECT "realmId", NULL::uuid, live, status, country, password, "emailCode", phone, roles, tenants, "mfaTypes", identities FROM new_rows) x;
  END IF;
  WITH c AS (
    SELECT *, 1 AS sign FROM unnest(added)
    UNION ALL SELECT *, -1 FROM unnest(removed)
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
  PERFORM roster_maybe_fold_breakdown_counts(realms);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_state_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "UserBreakdownCountDelta";
  DELETE FROM "UserBreakdownCount";
  RETURN NULL;
END
$$;

CREATE TRIGGER "UserBreakdownState_inserted" AFTER INSERT ON "UserBreakdownState"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_state_changed();
CREATE TRIGGER "UserBreakdownState_updated" AFTER UPDATE ON "UserBreakdownState"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_state_changed();
CREATE TRIGGER "UserBreakdownState_deleted" AFTER DELETE ON "UserBreakdownState"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_state_changed();
CREATE TRIGGER "UserBreakdownState_truncated" AFTER TRUNCATE ON "UserBreakdownState"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_state_truncated();

-- Users: a new user gets a state; a change to what its state copies is copied (user ids never
-- change); a user deleted takes its state along, after the cascade has removed its rows.
CREATE FUNCTION roster_breakdown_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "UserBreakdownState" ("realmId", "userId", live, status, country, password, "emailCode", phone)
  SELECT "realmId", id, "deletedAt" IS NULL, status::text, country::text, "passwordHash" IS NOT NULL,
    email IS NOT NULL AND "emailVerified", phone IS NOT NULL AND "phoneVerified"
  FROM new_rows;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_users_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH c AS (
    SELECT n."realmId", n.id, n."deletedAt" IS NULL AS live, n.status::text AS status, n.country::text AS country,
      n."passwordHash" IS NOT NULL AS password, n.email IS NOT NULL AND n."emailVerified" AS email_code,
      n.phone IS NOT NULL AND n."phoneVerified" AS phone
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n."deletedAt" IS NULL, n.status, n.country, n."passwordHash" IS NOT NULL, n.email IS NOT NULL AND n."emailVerified",
           n.phone IS NOT NULL AND n."phoneVerified")
      IS DISTINCT FROM
          (o."deletedAt" IS NULL, o.status, o.country, o."passwordHash" IS NOT NULL, o.email IS NOT NULL AND o."emailVerified",
           o.phone IS NOT NULL AND o."phoneVerified")
  )
  UPDATE "UserBreakdownState" s
  SET live = c.live, status = c.status, country = c.country, password = c.password, "emailCode" = c.email_code, phone = c.phone
  FROM c WHERE s."realmId" = c."realmId" AND s."userId" = c.id;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_users_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "UserBreakdownState" s USING old_rows o WHERE s."realmId" = o."realmId" AND s."userId" = o.id;
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_users_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "UserBreakdownState";
  RETURN NULL;
END
$$;

CREATE TRIGGER "User_breakdown_inserted" AFTER INSERT ON "User"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_users_inserted();
CREATE TRIGGER "User_breakdown_updated" AFTER UPDATE ON "User"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_users_updated();
CREATE TRIGGER "User_breakdown_deleted" AFTER DELETE ON "User"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_users_deleted();
CREATE TRIGGER "User_breakdown_truncated" AFTER TRUNCATE ON "User"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_users_truncated();

-- Rows giving users values ("UserRole", "TenantMembership", "MfaFactor", "Identity"), added
-- (`new_*`) and removed (`old_*`, both for a change): their net change to each user's map (`map`,
-- a state column) by value, added to the user's state. The users' rows are locked first (not
-- rewritten), in one order: every writer of a state then holds its user's row lock before the
-- state's, as an update of the user does, so writers queue rather than deadlock (a user deleted in
-- this transaction has no row left to lock, and its state no other writer). Those of a realm being
-- deleted are skipped. Static SQL, planned once per connection (a generic plan, as above): the
-- map is chosen by CASE.
CREATE FUNCTION roster_add_user_values(
  map text, new_realms uuid[], new_users uuid[], new_values text[], old_realms uuid[], old_users uuid[], old_values text[]
) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  realms uuid[];
  users uuid[];
  deltas jsonb[];
BEGIN
  SELECT array_agg("realmId" ORDER BY "realmId", "userId"), array_agg("userId" ORDER BY "realmId", "userId"),
    array_agg(d ORDER BY "realmId", "userId")
  INTO realms, users, deltas
  FROM (SELECT c."realmId", c."userId", jsonb_object_agg(c.v, c.n) AS d
        FROM (SELECT "realmId", "userId", v, sum(sign) AS n
              FROM (SELECT r AS "realmId", u AS "userId", v, 1 AS sign FROM unnest(new_realms, new_users, new_values) x (r, u, v)
                    UNION ALL
                    SELECT r, u, v, -1 FROM unnest(old_realms, old_users, old_values) x (r, u, v)) x
              GROUP BY 1, 2, 3 HAVING sum(sign) <> 0) c
        WHERE EXISTS (SELECT 1 FROM "Realm" r WHERE r.id = c."realmId")
        GROUP BY 1, 2) g;
  IF realms IS NULL THEN
    RETURN;
  END IF;
  PERFORM 1 FROM "User" u
  WHERE (u."realmId", u.id) IN (SELECT * FROM unnest(realms, users))
  ORDER BY u."realmId", u.id FOR NO KEY UPDATE OF u;
  UPDATE "UserBreakdownState" s
  -- The map (value -> rows) with the deltas added, values left with no row dropped; computed in
  -- the statement (not by a function called per row) and from the row's latest version.
  SET (roles, tenants, "mfaTypes", identities) = (
    SELECT CASE map WHEN 'roles' THEN m.counts ELSE s.roles END, CASE map WHEN 'tenants' THEN m.counts ELSE s.tenants END,
      CASE map WHEN 'mfaTypes' THEN m.counts ELSE s."mfaTypes" END, CASE map WHEN 'identities' THEN m.counts ELSE s.identities END
    FROM (SELECT COALESCE(jsonb_object_agg(v, n), '{}') AS counts
          FROM (SELECT v, sum(n) AS n
                FROM (SELECT key AS v, value::bigint AS n
                      FROM jsonb_each_text(CASE map WHEN 'roles' THEN s.roles WHEN 'tenants' THEN s.tenants
                                                    WHEN 'mfaTypes' THEN s."mfaTypes" ELSE s.identities END)
                      UNION ALL SELECT key, value::bigint FROM jsonb_each_text(x.d)) y
                GROUP BY v HAVING sum(n) > 0) z) m)
  FROM unnest(realms, users, deltas) x ("realmId", "userId", d)
  WHERE s."realmId" = x."realmId" AND s."userId" = x."userId";
END
$$;

-- One trigger function per table, as a transition table's columns are named in static SQL only.
CREATE FUNCTION roster_breakdown_user_roles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_realms uuid[];
  new_users uuid[];
  new_values text[];
  old_realms uuid[];
  old_users uuid[];
  old_values text[];
BEGIN
  IF TG_OP <> 'DELETE' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg("roleId"::text) INTO new_realms, new_users, new_values FROM new_rows;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg("roleId"::text) INTO old_realms, old_users, old_values FROM old_rows;
  END IF;
  PERFORM roster_add_user_values('roles', new_realms, new_users, new_values, old_realms, old_users, old_values);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_tenant_memberships_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_realms uuid[];
  new_users uuid[];
  new_values text[];
  old_realms uuid[];
  old_users uuid[];
  old_values text[];
BEGIN
  IF TG_OP <> 'DELETE' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg("tenantId"::text) INTO new_realms, new_users, new_values FROM new_rows;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg("tenantId"::text) INTO old_realms, old_users, old_values FROM old_rows;
  END IF;
  PERFORM roster_add_user_values('tenants', new_realms, new_users, new_values, old_realms, old_users, old_values);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_mfa_factors_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_realms uuid[];
  new_users uuid[];
  new_values text[];
  old_realms uuid[];
  old_users uuid[];
  old_values text[];
BEGIN
  IF TG_OP <> 'DELETE' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg(type::text) INTO new_realms, new_users, new_values FROM new_rows;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg(type::text) INTO old_realms, old_users, old_values FROM old_rows;
  END IF;
  PERFORM roster_add_user_values('mfaTypes', new_realms, new_users, new_values, old_realms, old_users, old_values);
  RETURN NULL;
END
$$;

CREATE FUNCTION roster_breakdown_identities_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_realms uuid[];
  new_users uuid[];
  new_values text[];
  old_realms uuid[];
  old_users uuid[];
  old_values text[];
BEGIN
  IF TG_OP <> 'DELETE' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg(provider::text) INTO new_realms, new_users, new_values FROM new_rows;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT array_agg("realmId"), array_agg("userId"), array_agg(provider::text) INTO old_realms, old_users, old_values FROM old_rows;
  END IF;
  PERFORM roster_add_user_values('identities', new_realms, new_users, new_values, old_realms, old_users, old_values);
  RETURN NULL;
END
$$;

-- A table emptied at once: its values leave every user's map (and so the counts).
CREATE FUNCTION roster_user_values_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  CASE TG_ARGV[0]
    WHEN 'roles' THEN UPDATE "UserBreakdownState" SET roles = '{}' WHERE roles <> '{}';
    WHEN 'tenants' THEN UPDATE "UserBreakdownState" SET tenants = '{}' WHERE tenants <> '{}';
    WHEN 'mfaTypes' THEN UPDATE "UserBreakdownState" SET "mfaTypes" = '{}' WHERE "mfaTypes" <> '{}';
    WHEN 'identities' THEN UPDATE "UserBreakdownState" SET identities = '{}' WHERE identities <> '{}';
  END CASE;
  RETURN NULL;
END
$$;

CREATE TRIGGER "UserRole_breakdown_inserted" AFTER INSERT ON "UserRole"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_user_roles_changed();
CREATE TRIGGER "UserRole_breakdown_updated" AFTER UPDATE ON "UserRole"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_user_roles_changed();
CREATE TRIGGER "UserRole_breakdown_deleted" AFTER DELETE ON "UserRole"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_user_roles_changed();
CREATE TRIGGER "UserRole_breakdown_truncated" AFTER TRUNCATE ON "UserRole"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_user_values_truncated('roles');

CREATE TRIGGER "TenantMembership_breakdown_inserted" AFTER INSERT ON "TenantMembership"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_tenant_memberships_changed();
CREATE TRIGGER "TenantMembership_breakdown_updated" AFTER UPDATE ON "TenantMembership"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_tenant_memberships_changed();
CREATE TRIGGER "TenantMembership_breakdown_deleted" AFTER DELETE ON "TenantMembership"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_tenant_memberships_changed();
CREATE TRIGGER "TenantMembership_breakdown_truncated" AFTER TRUNCATE ON "TenantMembership"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_user_values_truncated('tenants');

CREATE TRIGGER "MfaFactor_breakdown_inserted" AFTER INSERT ON "MfaFactor"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_mfa_factors_changed();
CREATE TRIGGER "MfaFactor_breakdown_updated" AFTER UPDATE ON "MfaFactor"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_mfa_factors_changed();
CREATE TRIGGER "MfaFactor_breakdown_deleted" AFTER DELETE ON "MfaFactor"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_mfa_factors_changed();
CREATE TRIGGER "MfaFactor_breakdown_truncated" AFTER TRUNCATE ON "MfaFactor"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_user_values_truncated('mfaTypes');

CREATE TRIGGER "Identity_breakdown_inserted" AFTER INSERT ON "Identity"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_identities_changed();
CREATE TRIGGER "Identity_breakdown_updated" AFTER UPDATE ON "Identity"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_identities_changed();
CREATE TRIGGER "Identity_breakdown_deleted" AFTER DELETE ON "Identity"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_breakdown_identities_changed();
CREATE TRIGGER "Identity_breakdown_truncated" AFTER TRUNCATE ON "Identity"
  FOR EACH STATEMENT EXECUTE FUNCTION roster_user_values_truncated('identities');
