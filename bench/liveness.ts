/**
 * Liveness under a long statement: `npm run bench:liveness -- [users]` starts Roster in this
 * process on a loopback port over a fresh in-memory embedded database (or PostgreSQL at
 * DATABASE_URL), sends one `createUsers` of `users` (default 1,000) and, while it runs, asks
 * /healthz every 20 ms; prints the latencies /healthz had meanwhile.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { createAdminClient } from '../src/identity/bootstrap.ts';
import { SigningKeys } from '../src/auth/keys.ts';
import { deriveKey } from '../src/auth/secret.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { IN_MEMORY } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrator.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/server.ts';

const USERS = Number.parseInt(process.argv[2] ?? '1000', 10);
const PROBE_EVERY_MS = 20;

const config = loadConfig();
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: IN_MEMORY });
await migrate(db);
const realmName = `liveness-${Date.now()}`;
const admin = await createAdminClient(db.prisma, { realmName });
const benchSecret = 'bench-secret-0123456789abcdef0123456789';
const keys = new SigningKeys(db.prisma, deriveKey(benchSecret, 'roster/signing-keys'));
let baseUrl = '';
const app = createApp({
  db,
  keys,
  cookieKey: deriveKey(benchSecret, 'roster/cookies'),
  mfaKey: deriveKey(benchSecret, 'roster/mfa'),
  passkeyKey: deriveKey(benchSecret, 'roster/passkeys'),
  cursorKey: deriveKey(benchSecret, 'roster/cursors'),
  outboxKey: deriveKey(benchSecret, 'roster/outbox'),
  log: createLogger(process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent'),
  mode: 'production',
  baseUrl: () => baseUrl,
});
const server = createServer(createServerAdapter<{ req: IncomingMessage }>((request, context) => app(request, context)));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const tokenResponse = await fetch(`${baseUrl}/oauth2/${realmName}/token`, {
  method: 'POST',
  headers: {
    authorization: `Basic ${Buffer.from(`${admin.clientId}:${admin.clientSecret}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  },
  body: new URLSearchParams({ grant_type: 'client_credentials' }),
});
const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

const users = Array.from({ length: USERS }, (_, i) => ({ email: `user${i}@example.com`, name: `User ${i}` }));
const started = performance.now();
let done = false;
const mutation = fetch(`${baseUrl}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify({
    query: 'mutation ($input: CreateUsersInput!) { createUsers(input: $input) { createdCount } }',
    variables: { input: { users, atomic: process.env.ATOMIC === 'true' } },
  }),
})
  .then(
    (response) => response.json() as Promise<{ data?: { createUsers: { createdCount: number } }; errors?: unknown }>,
  )
  .finally(() => (done = true));

const latencies: number[] = [];
while (!done) {
  const probe = performance.now();
  await fetch(`${baseUrl}/healthz`).then((response) => response.arrayBuffer());
  latencies.push(performance.now() - probe);
  await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
}
const result = await mutation;
const elapsed = performance.now() - started;

const sorted = [...latencies].sort((a, b) => a - b);
const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (value: number) => `${value.toFixed(1)} ms`;
console.log(`database: ${db.kind}`);
console.log(
  `createUsers of ${USERS}: ${result.data?.createUsers.createdCount ?? JSON.stringify(result.errors)} created in ${ms(elapsed)}`,
);
console.log(
  `/healthz while it ran: ${latencies.length} probes, p50 ${ms(at(50))}, p95 ${ms(at(95))}, max ${ms(sorted.at(-1) ?? NaN)}`,
);

server.close();
await db.close();
