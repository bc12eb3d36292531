/**
 * Row-level security prototype and its cost: `tsx bench/rls.ts [iterations]` with DATABASE_URL
 * naming a PostgreSQL server (a superuser: the script creates and drops its own database and a
 * role). Not shipped: it measures what a second, database-side realm wall would cost on the
 * first page of a user listing (the listUsers statement), three ways:
 *   plain        one statement, as today (no transaction)
 *   transaction  BEGIN; the statement; COMMIT — what every read would need for SET LOCAL
 *   rls          BEGIN; set_config('roster.realm', …, true); the statement; COMMIT, as a role
 *                under a policy USING ("realmId" = NULLIF(current_setting('roster.realm', true), '')::uuid)
 *                (once set in a session, the setting reads '' after the transaction, not NULL)
 * and checks that the policy holds on its own (a statement without the realm condition sees
 * only the realm set for the transaction, and nothing when none is set).
 *
 * Figures (PostgreSQL 15 on loopback, 2 × 10,000 users, 1,000 iterations, 2 runs; ms):
 *   plain 0.12 p50 / 0.22–0.26 p95; transaction 0.16 / 0.34–0.48; rls 0.22 / 0.44–0.81.
 * The policy itself costs nothing measurable: next to the statement's own realm condition the
 * planner turns it into a one-time filter over the same index scan. The cost is the protocol:
 * four statements instead of one (about +0.1 ms per read, ×1.8 at p50, more at p95), and a
 * connection held for the whole transaction.
 *
 * Decision: not adopted for now. Every request would have to run in one interactive transaction
 * (statement counts and connection use of every read change), Roster would have to connect as a
 * role that neither owns the tables nor is a superuser (both bypass policies unless FORCE ROW
 * LEVEL SECURITY, superusers always), and the embedded database runs as a superuser. The realm
 * is already held three ways: the realm-scoped client, realmSql for raw SQL (refuses a statement
 * without the condition) and composite foreign keys. Worth revisiting when PostgreSQL deployments
 * get a separate runtime role; then `NULLIF(current_setting(…, true), '')` matters: once set in
 * a session, the setting reads '' (not NULL) after the transaction, and ''::uuid is an error.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrator.ts';

const ITERATIONS = Number.parseInt(process.argv[2] ?? '500', 10);
const USERS_PER_REALM = 10_000;
const ROLE = 'roster_rls_bench';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl?.startsWith('postgres')) throw new Error('Set DATABASE_URL to a PostgreSQL server.');
const name = `roster_rls_bench_${randomUUID().slice(0, 8)}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;

const PAGE = `SELECT u.id, u."createdAt" AS k0, u.id AS k1 FROM "User" u
  WHERE u."realmId" = $1::uuid AND u."deletedAt" IS NULL
  ORDER BY u."createdAt" DESC, u.id DESC LIMIT 21`;

try {
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  await migrate(db);
  await db.close();

  const owner = new pg.Client({ connectionString: url.toString() });
  owner.on('error', () => undefined);
  await owner.connect();
  const realms: string[] = [];
  for (const realm of ['a', 'b']) {
    const id = randomUUID();
    realms.push(id);
    await owner.query(`INSERT INTO "Realm" (id, name, "updatedAt") VALUES ($1, $2, now())`, [id, `bench-${realm}`]);
    await owner.query(
      `INSERT INTO "User" (id, "realmId", email, name, "createdAt", "updatedAt")
       SELECT gen_random_uuid(), $1, 'user' || i || '@example.com', 'User ' || i,
              now() - make_interval(secs => i), now()
       FROM generate_series(1, $2::int) AS i`,
      [id, USERS_PER_REALM],
    );
  }
  await owner.query('ANALYZE');
  await owner.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE} NOLOGIN; END IF;
    END $$`);
  await owner.query(`GRANT SELECT ON "User" TO ${ROLE}`);
  await owner.query(`ALTER TABLE "User" ENABLE ROW LEVEL SECURITY`);
  await owner.query(`CREATE POLICY realm_wall ON "User" TO ${ROLE}
      USING ("realmId" = NULLIF(current_setting('roster.realm', true), '')::uuid)`);

  // Superusers bypass row security: the rls client acts as a plain role.
  const guarded = new pg.Client({ connectionString: url.toString() });
  guarded.on('error', () => undefined);
  await guarded.connect();
  await guarded.query(`SET ROLE ${ROLE}`);

  const [realmA, realmB] = realms as [string, string];
  const visible = async (realm: string | null) => {
    await guarded.query('BEGIN');
    if (realm) await guarded.query(`SELECT set_config('roster.realm', $1, true)`, [realm]);
    const { rows } = await guarded.query<{ realmId: string; count: string }>(
      `SELECT "realmId"::text AS "realmId", count(*) AS count FROM "User" GROUP BY "realmId"`,
    );
    await guarded.query('COMMIT');
    return rows.map((row) => `${row.realmId === realmA ? 'A' : 'B'}:${row.count}`);
  };
  console.log('policy check (no realm condition in the statement):');
  console.log(`  realm A set: ${JSON.stringify(await visible(realmA))}`);
  console.log(`  realm B set: ${JSON.stringify(await visible(realmB))}`);
  console.log(`  none set:    ${JSON.stringify(await visible(null))}`);

  const variants: Record<string, (realm: string) => Promise<unknown>> = {
    plain: (realm) => owner.query(PAGE, [realm]),
    transaction: async (realm) => {
      await owner.query('BEGIN');
      await owner.query(PAGE, [realm]);
      await owner.query('COMMIT');
    },
    rls: async (realm) => {
      await guarded.query('BEGIN');
      await guarded.query(`SELECT set_config('roster.realm', $1, true)`, [realm]);
      await guarded.query(PAGE, [realm]);
      await guarded.query('COMMIT');
    },
  };
  const plans: Record<string, string> = {};
  for (const [variant, client] of [
    ['plain', owner],
    ['rls', guarded],
  ] as const) {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('roster.realm', $1, true)`, [realmA]);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${PAGE}`, [realmA]);
    await client.query('COMMIT');
    plans[variant] = rows.map((row) => row['QUERY PLAN']).join('\n    ');
  }
  console.log(`plan, plain:\n    ${plans.plain}\nplan, rls:\n    ${plans.rls}`);

  const timings: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((key) => [key, []]));
  for (let i = 0; i < 50; i++) for (const run of Object.values(variants)) await run(realmA); // warm-up
  for (let i = 0; i < ITERATIONS; i++) {
    for (const [variant, run] of Object.entries(variants)) {
      const start = process.hrtime.bigint();
      await run(i % 2 ? realmA : realmB);
      timings[variant]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  console.log(`\n${ITERATIONS} iterations each, interleaved, ${USERS_PER_REALM} users in each of 2 realms (ms):`);
  console.log('variant       mean    p50    p95   statements');
  const statements: Record<string, number> = { plain: 1, transaction: 3, rls: 4 };
  for (const [variant, values] of Object.entries(timings)) {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    console.log(
      `${variant.padEnd(12)} ${mean.toFixed(3).padStart(6)} ${quantile(sorted, 0.5).toFixed(3).padStart(6)} ${quantile(sorted, 0.95).toFixed(3).padStart(6)}   ${statements[variant]}`,
    );
  }
  await guarded.end();
  await owner.end();
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
  await admin.end();
}
