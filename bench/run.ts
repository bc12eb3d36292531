/**
 * User-query benchmark over HTTP: `npm run bench:run -- [requests] [scenario]` against realm `bench`
 * (seed it first with `npm run bench:seed`) in the PostgreSQL database at DATABASE_URL.
 * Starts Roster in this process on a loopback port, gets a token from the real token
 * endpoint, then for each scenario prints p50/p95 latency (sequential requests), throughput
 * (8 concurrent clients) and the SQL statements one request issues. With `scenario`, only the
 * scenarios whose name contains it (ignoring case) run.
 */
import { startOnBenchRealm } from './bench-realm.ts';

const REQUESTS = Number.parseInt(process.argv[2] ?? '200', 10);
const ONLY = process.argv[3]?.toLowerCase();
const CONCURRENCY = 8;
const THROUGHPUT_MS = 5_000;

const SCENARIOS: { name: string; query: string; variables?: Record<string, unknown> }[] = [
  {
    name: 'page of 50 with roles and tenants',
    query: `{ users(first: 50) { nodes { id email name status createdAt roleAssignments { role { name } tenant { name } } } pageInfo { endCursor hasNextPage } } }`,
  },
  {
    // The requests of the side-by-side comparison with PostGraphile (q1, q2).
    name: 'admin page: roles, sessions, total',
    query: `{ users(first: 50, orderBy: [{ field: CREATED_AT, direction: DESC }], filter: { includeDeleted: true }) { totalCount nodes { id email name username status createdAt roles { name } sessions { nodes { ipAddress userAgent } } } } }`,
  },
  {
    name: 'active users with total',
    query: `{ users(first: 50, orderBy: [{ field: CREATED_AT, direction: DESC }], filter: { statuses: [ACTIVE] }) { totalCount nodes { id email name username status createdAt lastLoginAt } } }`,
  },
  {
    name: 'deep page (after 5,000 users)',
    query: `query ($after: String) { users(first: 50, after: $after) { nodes { id email name } } }`,
  },
  {
    name: 'search on a name fragment',
    query: `{ users(first: 20, filter: { search: "torva" }) { nodes { id name email } } }`,
  },
  {
    name: 'search with a typo',
    query: `{ users(first: 20, filter: { search: "Lovlace" }) { nodes { id name email } } }`,
  },
  {
    name: '3-condition filter',
    query: `{ users(first: 20, filter: { countries: ["DE"], statuses: [ACTIVE], hasMfa: true }) { nodes { id name email } } }`,
  },
  {
    name: 'filter sorted by name',
    query: `{ users(first: 20, filter: { emailVerified: true, neverLoggedIn: false }, orderBy: [{ field: NAME, direction: ASC }]) { nodes { id name } } }`,
  },
  { name: 'totalCount (all users)', query: `{ users(first: 0) { totalCount } }` },
  {
    name: 'totalCount (filtered)',
    query: `{ users(first: 0, filter: { statuses: [ACTIVE], countries: ["US"] }) { totalCount } }`,
  },
  {
    name: 'userStats',
    query: `{ userStats { total emailVerified phoneVerified withMfa createdLast7Days createdLast30Days activeLast30Days byStatus { status count } } }`,
  },
  {
    name: 'userStats (filtered)',
    query: `{ userStats(filter: { countries: ["DE"] }) { total emailVerified phoneVerified withMfa createdLast7Days createdLast30Days activeLast30Days byStatus { status count } } }`,
  },
  {
    name: 'userGrowth: 30 days',
    query: `query ($from: DateTime!, $to: DateTime!) { userGrowth(interval: DAY, from: $from, to: $to, timeZone: "Europe/Berlin") { buckets { start signUps deletions usersAtEnd activeUsers } } }`,
    variables: lastDays(30),
  },
  {
    name: 'userGrowth: 30 days with sign-ins',
    query: `query ($from: DateTime!, $to: DateTime!) { userGrowth(interval: DAY, from: $from, to: $to, timeZone: "Europe/Berlin") { buckets { start signUps deletions usersAtEnd activeUsers } signIns { start succeeded failed byMethod { method succeeded failed } byFailureReason { reason count } } } }`,
    variables: lastDays(30),
  },
  {
    name: 'userGrowth: 36 months',
    query: `query ($from: DateTime!, $to: DateTime!) { userGrowth(interval: MONTH, from: $from, to: $to, timeZone: "America/New_York") { buckets { start signUps deletions usersAtEnd activeUsers } } }`,
    variables: lastDays(1095),
  },
  {
    name: 'userGrowth: 52 weeks (filtered)',
    query: `query ($from: DateTime!, $to: DateTime!) { userGrowth(interval: WEEK, from: $from, to: $to, filter: { countries: ["DE"], hasMfa: true }) { buckets { start signUps deletions usersAtEnd activeUsers } signIns { succeeded failed } } }`,
    variables: lastDays(364),
  },
  {
    name: 'userOverview: 30 days',
    query: `query ($period: TimePeriodInput!) { userOverview(period: $period) { total { value previous change relativeChange } new { value previous } active { value previous } suspended { value previous } locked { value previous } verifiedShare { value previous } mfaShare { value previous } } }`,
    variables: { period: lastDays(30) },
  },
  {
    name: 'userOverview: year on year (filtered)',
    query: `query ($period: TimePeriodInput!) { userOverview(period: $period, compareTo: SAME_PERIOD_LAST_YEAR, filter: { countries: ["US"] }) { total { value previous } new { value previous } active { value previous } suspended { value previous } locked { value previous } verifiedShare { value previous } mfaShare { value previous } } }`,
    variables: { period: lastDays(90) },
  },
  ...(['ROLE', 'TENANT', 'COUNTRY', 'AUTH_METHOD', 'MFA_TYPE', 'STATUS'] as const).map((by) => ({
    name: `userBreakdown: ${by}`,
    query: `{ userBreakdown(by: ${by}, first: 20) { total withoutValue valueCount rows { count ... on RoleBreakdownRow { role { name } } ... on TenantBreakdownRow { tenant { name } } ... on CountryBreakdownRow { country } ... on AuthMethodBreakdownRow { authMethod } ... on MfaTypeBreakdownRow { mfaType } ... on StatusBreakdownRow { status } } } }`,
  })),
  {
    name: 'userBreakdown: CUSTOM_ATTRIBUTE',
    query: `{ userBreakdown(by: CUSTOM_ATTRIBUTE, attributeKey: "plan") { total withoutValue rows { count ... on AttributeValueBreakdownRow { value } } } }`,
  },
  // The users of one country with one status (about 8,000 of 100,000), then most users (about 80,000).
  ...(['ROLE', 'TENANT', 'COUNTRY', 'AUTH_METHOD', 'MFA_TYPE', 'STATUS', 'CUSTOM_ATTRIBUTE'] as const).flatMap((by) =>
    (
      [
        ['filtered', '{ countries: ["DE"], statuses: [ACTIVE] }'],
        ['broad filter', '{ emailVerified: true }'],
      ] as const
    ).map(([label, filter]) => ({
      name: `userBreakdown: ${by} (${label})`,
      query: `{ userBreakdown(by: ${by}, filter: ${filter}${by === 'CUSTOM_ATTRIBUTE' ? ', attributeKey: "plan"' : ''}) { total withoutValue valueCount rows { count ... on RoleBreakdownRow { role { name } } ... on TenantBreakdownRow { tenant { name } } ... on CountryBreakdownRow { country } ... on AuthMethodBreakdownRow { authMethod } ... on MfaTypeBreakdownRow { mfaType } ... on StatusBreakdownRow { status } ... on AttributeValueBreakdownRow { value } } } }`,
    })),
  ),
].filter((scenario) => !ONLY || scenario.name.toLowerCase().includes(ONLY));

/** The `days` days up to the next UTC midnight. */
function lastDays(days: number): { from: string; to: string } {
  const next = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
  return { from: new Date(next - days * 86_400_000).toISOString(), to: new Date(next).toISOString() };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const { db, baseUrl, token, users, close } = await startOnBenchRealm();

async function request(query: string, variables?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

// A cursor 5,000 users deep, to show keyset pages cost the same at any depth.
const deep = SCENARIOS.find((scenario) => scenario.name.startsWith('deep page'));
if (deep) {
  let deepCursor: string | null = null;
  for (let i = 0; i < 50; i++) {
    const data = (await request(
      `query ($after: String) { users(first: 100, after: $after) { pageInfo { endCursor } } }`,
      { after: deepCursor },
    )) as { users: { pageInfo: { endCursor: string } } };
    deepCursor = data.users.pageInfo.endCursor;
  }
  deep.variables = { after: deepCursor };
}

console.log(
  `Roster user-query benchmark: ${users} users in realm "bench", PostgreSQL, ${REQUESTS} sequential requests per scenario\n`,
);
console.log(
  `${'scenario'.padEnd(40)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'req/s'.padStart(8)} ${'SQL/req'.padStart(8)}`,
);
for (const scenario of SCENARIOS) {
  for (let i = 0; i < 5; i++) await request(scenario.query, scenario.variables);
  const { count: statements } = await db.statements.during(() => request(scenario.query, scenario.variables));
  const latencies: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    await request(scenario.query, scenario.variables);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  let completed = 0;
  const deadline = performance.now() + THROUGHPUT_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await request(scenario.query, scenario.variables);
        completed++;
      }
    }),
  );
  console.log(
    `${scenario.name.padEnd(40)} ${percentile(latencies, 50).toFixed(1).padStart(8)} ${percentile(latencies, 95)
      .toFixed(1)
      .padStart(8)} ${(completed / (THROUGHPUT_MS / 1000)).toFixed(0).padStart(8)} ${String(statements).padStart(8)}`,
  );
}

await close();
