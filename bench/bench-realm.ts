/**
 * Roster in this process, in production mode, on the PostgreSQL database at DATABASE_URL with
 * the seeded realm `bench` (`npm run bench:seed`), on a loopback port, with an access token of a
 * new admin client from the real token endpoint. For the benchmarks that query realm `bench`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { SigningKeys } from '../src/auth/keys.ts';
import { deriveKey, resolveServerSecret } from '../src/auth/secret.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/client.ts';
import { createAdminClient } from '../src/identity/bootstrap.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/server.ts';

export interface BenchRealm {
  db: Database;
  baseUrl: string;
  token: string;
  /** Users in realm `bench`. */
  users: number;
  /** Deletes the admin client, stops the server and closes the database. */
  close: () => Promise<void>;
}

export async function startOnBenchRealm(): Promise<BenchRealm> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    console.error('Set DATABASE_URL: the benchmarks run on PostgreSQL.');
    process.exit(2);
  }
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const secret = await resolveServerSecret(config.secretKey, config.dataDir);
  let baseUrl = '';
  const app = createApp({
    db,
    keys: new SigningKeys(db.prisma, deriveKey(secret, 'roster/signing-keys')),
    cookieKey: deriveKey(secret, 'roster/cookies'),
    mfaKey: deriveKey(secret, 'roster/mfa'),
    passkeyKey: deriveKey(secret, 'roster/passkeys'),
    cursorKey: deriveKey(secret, 'roster/cursors'),
    outboxKey: deriveKey(secret, 'roster/outbox'),
    log: createLogger('silent'),
    mode: 'production',
    baseUrl: () => baseUrl,
  });
  const server = createServer(
    createServerAdapter<{ req: IncomingMessage }>((request, context) => app(request, context)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const users = await db.prisma.user.count({ where: { realm: { name: 'bench' } } });
  if (users === 0) {
    console.error('Realm "bench" has no users: run `npm run bench:seed` first.');
    process.exit(2);
  }
  const client = await createAdminClient(db.prisma, { realmName: 'bench' });
  const tokenResponse = await fetch(`${baseUrl}/oauth2/bench/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret!,
    }),
  });
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  return {
    db,
    baseUrl,
    token,
    users,
    close: async () => {
      await db.prisma.application.delete({ where: { clientId: client.clientId } });
      server.close();
      await db.close();
    },
  };
}
