/**
 * Bulk update benchmark: `npm run bench:bulk -- [users]` (default 10,000, the most one call takes)
 * starts Roster in this process on the embedded database and, with DATABASE_URL naming a
 * PostgreSQL server, on a throwaway database there (`BENCH_DATABASES` picks one). It creates the
 * users, each with an active session and a refresh token, then suspends them all with one
 * `bulkUpdateUsers` (SUSPEND by filter, sessions revoked) and prints users/s, the SQL statements
 * sent and the audit events written.
 */
import { randomBytes } from 'node:crypto';
import type { RosterServer } from '../src/server.ts';
import { onEachDatabase } from './harness.ts';

const USERS = Number.parseInt(process.argv[2] ?? '10000', 10);
const BATCH = 2000;

async function bench(label: string, server: RosterServer): Promise<void> {
  const admin = server.bootstrap!;
  const p = server.db.prisma;
  const { realmId } = admin;
  const expiresAt = new Date(Date.now() + 86_400_000);
  for (let start = 0; start < USERS; start += BATCH) {
    const users = await p.user.createManyAndReturn({
      data: Array.from({ length: Math.min(BATCH, USERS - start) }, (_, i) => ({
        realmId,
        email: `bulk${start + i}@example.com`,
        city: 'Bulkville',
      })),
      select: { id: true },
    });
    const sessions = await p.session.createManyAndReturn({
      data: users.map((user) => ({ realmId, userId: user.id, expiresAt })),
      select: { id: true },
    });
    await p.refreshToken.createMany({
      data: sessions.map((session) => ({
        realmId,
        sessionId: session.id,
        tokenHash: randomBytes(32).toString('hex'),
        expiresAt,
      })),
    });
  }

  const response = await fetch(`${server.url}/oauth2/${admin.realmName}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${admin.clientId}:${admin.clientSecret!}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const { access_token: token } = (await response.json()) as { access_token: string };

  const { result, count } = await server.db.statements.during(async () => {
    const started = performance.now();
    const answer = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query:
          'mutation ($input: BulkUpdateUsersInput!) { bulkUpdateUsers(input: $input) { changedCount skippedCount failedCount userErrors { code message } } }',
        variables: { input: { filter: { cities: ['Bulkville'] }, action: 'SUSPEND', reason: 'Benchmark' } },
      }),
    });
    const body = (await answer.json()) as {
      data?: { bulkUpdateUsers: { changedCount: number; userErrors: unknown[] } };
      errors?: unknown;
    };
    return { body, seconds: (performance.now() - started) / 1000 };
  });
  const payload = result.body.data?.bulkUpdateUsers;
  if (!payload || payload.userErrors.length || payload.changedCount !== USERS)
    throw new Error(`unexpected answer: ${JSON.stringify(result.body)}`);
  const audited = await p.auditEvent.count({ where: { realmId, action: 'user.suspended' } });
  const live = await p.session.count({ where: { realmId, revokedAt: null } });
  console.log(
    `${label}: SUSPEND of ${USERS} users (each with a session) in ${result.seconds.toFixed(2)} s: ` +
      `${(USERS / result.seconds).toFixed(0)} users/s; ${count} SQL statements; ${audited} audit events; ` +
      `${live} sessions left active`,
  );
}

console.log(`node ${process.version}`);
await onEachDatabase('bulk', bench);
