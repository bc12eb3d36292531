/**
 * Deterministic benchmark data: `npm run bench:seed -- [users]` (default 100000, at most
 * 1000000) into realm `bench` of the database at DATABASE_URL (or the embedded one).
 * Rows are generated inside the database with INSERT … SELECT over generate_series, from a
 * fixed pseudo-random function of the row number, so every run produces the same data.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrator.ts';
import { ensureRealm } from '../src/modules/realm/realm.lifecycle.ts';

const size = Number.parseInt(process.argv[2] ?? '100000', 10);
if (!Number.isInteger(size) || size < 1 || size > 1_000_000) {
  console.error('usage: bench/seed.ts [users: 1..1000000]');
  process.exit(2);
}

const config = loadConfig();
if (!config.databaseUrl) {
  console.error('Set DATABASE_URL: the benchmarks run on PostgreSQL.');
  process.exit(2);
}
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await migrate(db);
const { realm } = await ensureRealm(db.prisma, 'bench', 'Benchmark');
const r = realm.id;
const started = performance.now();
/**
 * rnd(i, salt) in [0, 1): a fixed hash of the row number, inlined as SQL. One salt's values are
 * independent of another's (hashint8extended is stable: hash partitioning relies on it); the
 * former multiply-and-xor hash tied them together, e.g. family names to creation dates.
 */
const rnd = (i: string, salt: string) =>
  `(hashint8extended((${i})::bigint, ${salt}) & 9007199254740991)::double precision / 9007199254740992`;
const run = async (label: string, sql: string) => {
  const t = performance.now();
  await db.rawQuery(
    sql
      .replaceAll(':realm', `'${r}'::uuid`)
      .replace(/rnd\((\w+), (\d+)\)/g, (_, i: string, salt: string) => rnd(i, salt)),
  );
  console.log(`${label.padEnd(22)} ${Math.round(performance.now() - t)} ms`);
};

await run(
  'reset',
  `DELETE FROM "User" WHERE "realmId" = :realm;
   DELETE FROM "Role" WHERE "realmId" = :realm AND NOT "builtIn";
   DELETE FROM "Tenant" WHERE "realmId" = :realm;`,
);
const GIVEN = [
  'Ada',
  'Grace',
  'Alan',
  'Linus',
  'Margaret',
  'Ken',
  'Barbara',
  'Dennis',
  'Frances',
  'Edsger',
  'Radia',
  'Tim',
  'Sophie',
  'Lucas',
  'Mia',
  'Noah',
  'Emma',
  'Liam',
  'Olivia',
  'Yuki',
  'Hiro',
  'Priya',
  'Arjun',
  'Fatima',
  'Omar',
  'Chen',
  'Wei',
  'Ana',
  'João',
  'Lena',
];
const FAMILY = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Berners',
  'Martin',
  'Bernard',
  'Müller',
  'Schmidt',
  'García',
  'Rossi',
  'Tanaka',
  'Suzuki',
  'Sharma',
  'Patel',
  'Khan',
  'Nguyen',
  'Kim',
  'Silva',
  'Costa',
  'Novak',
  'Larsen',
  'Smith',
];
const COUNTRIES = [
  'US',
  'US',
  'US',
  'GB',
  'GB',
  'DE',
  'DE',
  'FR',
  'IN',
  'IN',
  'BR',
  'JP',
  'CA',
  'AU',
  'ES',
  'IT',
  'NL',
  'SE',
  'PL',
  'MX',
];
const arr = (values: string[]) => `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]`;

await run(
  'roles and tenants',
  `INSERT INTO "Role" (id, "realmId", name, description, "updatedAt")
     SELECT gen_random_uuid(), :realm, 'Role ' || g, 'Benchmark role ' || g, now() FROM generate_series(1, 10) g;
   INSERT INTO "Tenant" (id, "realmId", name, slug, "updatedAt")
     SELECT gen_random_uuid(), :realm, 'Tenant ' || g, 'tenant-' || g, now() FROM generate_series(1, 200) g;`,
);
await run(
  `users (${size})`,
  `INSERT INTO "User" (id, "realmId", email, "emailVerified", phone, "phoneVerified", username, name, "givenName", "familyName",
                       country, city, timezone, locale, gender, birthdate, status, "suspendedAt", "suspendedReason",
                       "passwordHash", "passwordAlgorithm", "failedLoginAttempts", "lockedUntil", "customAttributes", metadata,
                       "createdAt", "updatedAt", "lastLoginAt", "lastActiveAt", "deletedAt")
   SELECT
     (lpad(to_hex(c_ms), 12, '0') || '7' || lpad(to_hex(i % 4096), 3, '0') || '8' || lpad(to_hex(i), 15, '0'))::uuid,
     :realm,
     -- ASCII local parts: the API's EmailAddress scalar (graphql-scalars) accepts no others.
     translate(lower(given || '.' || family || '.' || i || '@example.com'), 'ãíü', 'aiu'),
     rnd(i, 2) < 0.85,
     CASE WHEN rnd(i, 3) < 0.4 THEN '+1555' || lpad((i % 10000000)::text, 7, '0') END,
     rnd(i, 3) < 0.3,
     lower(given || family || i),
     given || ' ' || family, given, family,
     country,
     CASE WHEN rnd(i, 5) < 0.7 THEN 'City ' || (i % 50) END,
     CASE country WHEN 'US' THEN 'America/New_York' WHEN 'GB' THEN 'Europe/London' WHEN 'DE' THEN 'Europe/Berlin' WHEN 'JP' THEN 'Asia/Tokyo' ELSE 'UTC' END,
     CASE country WHEN 'DE' THEN 'de-DE' WHEN 'FR' THEN 'fr-FR' WHEN 'JP' THEN 'ja-JP' ELSE 'en-US' END,
     (ARRAY['female','male','non-binary',NULL])[1 + floor(rnd(i, 6) * 4)::int],
     CASE WHEN rnd(i, 7) < 0.6 THEN date '1950-01-01' + floor(rnd(i, 8) * 20000)::int END,
     status::"UserStatus",
     CASE WHEN status = 'SUSPENDED' THEN now() END,
     CASE WHEN status = 'SUSPENDED' THEN 'Benchmark suspension' END,
     CASE WHEN rnd(i, 9) < 0.7 THEN '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$YmVuY2hoYXNo' END,
     CASE WHEN rnd(i, 9) < 0.7 THEN 'ARGON2ID'::"PasswordHashAlgorithm" END,
     CASE WHEN rnd(i, 10) < 0.05 THEN 1 + floor(rnd(i, 11) * 9)::int ELSE 0 END,
     CASE WHEN rnd(i, 10) < 0.01 THEN now() + interval '1 hour' END,
     jsonb_build_object('plan', (ARRAY['free','free','free','pro','pro','enterprise'])[1 + floor(rnd(i, 12) * 6)::int],
                        'seats', 1 + floor(rnd(i, 13) * 500)::int),
     '{}'::jsonb,
     to_timestamp(c_ms / 1000.0), to_timestamp(c_ms / 1000.0),
     CASE WHEN rnd(i, 14) < 0.75 THEN to_timestamp(c_ms / 1000.0) + (rnd(i, 15) * (now() - to_timestamp(c_ms / 1000.0))) END,
     CASE WHEN rnd(i, 14) < 0.6 THEN now() - rnd(i, 16) * interval '90 days' END,
     CASE WHEN status = 'DELETED' THEN now() END
   FROM (
     SELECT i,
       (extract(epoch FROM timestamptz '2026-11-01') * 1000)::bigint - floor(rnd(i, 1) * 3 * 365 * 86400000)::bigint AS c_ms,
       (${arr(GIVEN)})[1 + floor(rnd(i, 20) * ${GIVEN.length})::int] AS given,
       (${arr(FAMILY)})[1 + floor(rnd(i, 21) * ${FAMILY.length})::int] AS family,
       (${arr(COUNTRIES)})[1 + floor(rnd(i, 22) * ${COUNTRIES.length})::int] AS country,
       CASE WHEN rnd(i, 4) < 0.80 THEN 'ACTIVE' WHEN rnd(i, 4) < 0.85 THEN 'INVITED'
            WHEN rnd(i, 4) < 0.89 THEN 'PENDING_VERIFICATION' WHEN rnd(i, 4) < 0.94 THEN 'INACTIVE'
            WHEN rnd(i, 4) < 0.97 THEN 'SUSPENDED' ELSE 'DELETED' END AS status
     FROM generate_series(1, ${size}) i
   ) s;`,
);
await run(
  'memberships, roles',
  `INSERT INTO "TenantMembership" (id, "realmId", "tenantId", "userId")
     SELECT gen_random_uuid(), :realm, t.id, u.id
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm) u
     JOIN (SELECT id, row_number() OVER (ORDER BY slug) AS n FROM "Tenant" WHERE "realmId" = :realm) t
       ON t.n = 1 + (u.n * 7919) % 200 OR (u.n % 10 = 0 AND t.n = 1 + (u.n * 104729) % 200 AND (u.n * 104729) % 200 <> (u.n * 7919) % 200);
   INSERT INTO "UserRole" (id, "realmId", "userId", "roleId")
     SELECT gen_random_uuid(), :realm, u.id, r.id
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm) u
     JOIN (SELECT id, row_number() OVER (ORDER BY name) AS n FROM "Role" WHERE "realmId" = :realm AND NOT "builtIn") r
       ON (u.n % 10 < 6 AND r.n = 1 + u.n % 10) OR (u.n % 10 = 0 AND r.n = 10);`,
);
await run(
  'identities, factors',
  `INSERT INTO "Identity" (id, "realmId", "userId", provider, "providerUserId")
     SELECT gen_random_uuid(), :realm, id, (ARRAY['google','github','microsoft','apple'])[1 + n % 4], 'p-' || n
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm) u WHERE n % 20 < 7;
   INSERT INTO "MfaFactor" (id, "realmId", "userId", type, name)
     SELECT gen_random_uuid(), :realm, id, CASE WHEN n % 20 = 0 THEN 'WEBAUTHN' ELSE 'TOTP' END::"MfaFactorType", 'Authenticator'
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm) u WHERE n % 5 = 0;`,
);
await run(
  'sessions, logins',
  `INSERT INTO "Session" (id, "realmId", "userId", "ipAddress", "userAgent", "createdAt", "lastActiveAt", "expiresAt")
     SELECT gen_random_uuid(), :realm, u.id, '203.0.113.' || (n % 250), 'Mozilla/5.0', now() - interval '1 day' * k, now(), now() + interval '30 days'
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm) u, generate_series(1, 3) k
     WHERE n % 10 < 3 AND k <= 1 + n % 3;
   INSERT INTO "LoginEvent" (id, "realmId", "userId", at, success, method, "failureReason")
     SELECT gen_random_uuid(), :realm, u.id, now() - interval '1 day' * k, k % 4 <> 0, 'password',
       CASE WHEN k % 4 = 0 THEN 'invalid_credentials' END
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm) u, generate_series(1, 4) k
     WHERE n % 2 = 0;`,
);
await run(
  'activity, attributes',
  // As the runtime notes it: a quarter hour per sign-in and per session's last use, and 30 % of
  // the users active on every third day of the last 30.
  `INSERT INTO "UserActivity" ("realmId", period, "userId")
     SELECT :realm, date_bin('15 minutes', at, timestamptz '1970-01-01 00:00:00+00'), "userId"
     FROM "LoginEvent" WHERE "realmId" = :realm AND success
     UNION
     SELECT :realm, date_bin('15 minutes', "lastActiveAt", timestamptz '1970-01-01 00:00:00+00'), "userId"
     FROM "Session" WHERE "realmId" = :realm
     UNION
     SELECT :realm, date_bin('15 minutes', "lastActiveAt", timestamptz '1970-01-01 00:00:00+00'), id
     FROM "User" WHERE "realmId" = :realm AND "lastActiveAt" IS NOT NULL
     UNION
     SELECT :realm, date_bin('15 minutes', now() - interval '1 day' * d - interval '1 minute' * (n % 1440), timestamptz '1970-01-01 00:00:00+00'), u.id
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "User" WHERE "realmId" = :realm AND "deletedAt" IS NULL) u,
       generate_series(0, 29) d
     WHERE n % 10 < 3 AND (n + d) % 3 = 0
     ON CONFLICT DO NOTHING;
   INSERT INTO "CustomAttributeDefinition" (id, "realmId", key, "displayName", type, options, "updatedAt")
     VALUES (gen_random_uuid(), :realm, 'plan', 'Plan', 'ENUM', ARRAY['free', 'pro', 'enterprise'], now()),
            (gen_random_uuid(), :realm, 'seats', 'Seats', 'NUMBER', ARRAY[]::text[], now())
     ON CONFLICT ("realmId", key) DO NOTHING;`,
);
await run('vacuum analyze', 'VACUUM ANALYZE');
console.log(`seeded ${size} users into realm "bench" in ${Math.round((performance.now() - started) / 1000)} s`);
await db.close();
