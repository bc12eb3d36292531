/**
 * Token endpoint benchmark: `npm run bench:tokens`. Starts Roster in this process on the
 * embedded database (in memory) and, when `DATABASE_URL` names a PostgreSQL server, again on a
 * fresh database there (created and dropped). For each, a separate load process sends
 * client_credentials requests of the bootstrap admin client from `--concurrency` connections
 * for `--seconds` (after a warm-up) and the figures printed are tokens/s, latency percentiles
 * and the server process's CPU time per token (the embedded database's thread included, a
 * PostgreSQL server's not): on a machine shared with other work, the steadier figure. Then 100 more realms each get one token (so, since the OpenID provider, 100
 * realms' providers are built and cached) and the server process's RSS is printed before and
 * after (and the JS heap, steadier), with `--expose-gc` collected first.
 *
 * Options (after `--`): `--seconds N` (default 10), `--concurrency N` (default 16),
 * `--realms N` (default 100).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAdminClient } from '../src/identity/bootstrap.ts';
import type { RosterServer } from '../src/server.ts';
import { describeLoad, measure, memory, mib, onEachDatabase, runLoad, type LoadResult } from './harness.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    realms: { type: 'string', default: '100' },
    load: { type: 'string' },
  },
});

function tokenRequest(url: string, clientId: string, clientSecret: string, realm = 'default'): Promise<Response> {
  return fetch(`${url}/oauth2/${realm}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
}

/** The load process: requests tokens from `concurrency` loops. */
function load(url: string, clientId: string, clientSecret: string): Promise<void> {
  return measure(
    Number(values.concurrency),
    Number(values.seconds),
    async () => null,
    async () => {
      const response = await tokenRequest(url, clientId, clientSecret);
      await response.arrayBuffer();
      return response.status === 200;
    },
  );
}

async function bench(label: string, server: RosterServer): Promise<void> {
  const admin = server.bootstrap!;
  const result = await runLoad<LoadResult>(
    fileURLToPath(import.meta.url),
    { url: server.url, clientId: admin.clientId, clientSecret: admin.clientSecret },
    ['--seconds', values.seconds, '--concurrency', values.concurrency],
  );
  console.log(describeLoad(label, ['token', 'tokens'], Number(values.concurrency), result));

  const realms = Number(values.realms);
  const before = memory();
  for (let i = 0; i < realms; i++) {
    const realm = await createAdminClient(server.db.prisma, { realmName: `bench-${i}` });
    const response = await tokenRequest(server.url, realm.clientId, realm.clientSecret!, realm.realmName);
    if (response.status !== 200) throw new Error(`token of realm ${realm.realmName}: ${response.status}`);
  }
  const after = memory();
  const perRealm = (bytes: number) => `${(bytes / realms / 1024).toFixed(0)} KiB per realm`;
  console.log(
    `${label}: after one token in each of ${realms} more realms, RSS ${mib(before.rss)} → ${mib(after.rss)} ` +
      `(${perRealm(after.rss - before.rss)}), JS heap ${mib(before.heap)} → ${mib(after.heap)} ` +
      `(${perRealm(after.heap - before.heap)})`,
  );
}

if (values.load) {
  const { url, clientId, clientSecret } = JSON.parse(values.load) as Record<string, string>;
  await load(url!, clientId!, clientSecret!);
} else {
  console.log(`node ${process.version}, ${values.concurrency} connections, ${values.seconds} s per database`);
  await onEachDatabase('tokens', bench);
}
