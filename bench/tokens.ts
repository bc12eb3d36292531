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
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { IN_MEMORY } from '../src/db/embedded.ts';
import { createAdminClient } from '../src/identity/bootstrap.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    realms: { type: 'string', default: '100' },
    load: { type: 'string' },
  },
});

interface LoadResult {
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p95: number;
}

function tokenRequest(url: string, clientId: string, clientSecret: string): Promise<Response> {
  return fetch(`${url}/oauth2/default/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
}

/** The load process: requests tokens for `seconds` from `concurrency` loops, prints JSON. */
async function load(url: string, clientId: string, clientSecret: string): Promise<void> {
  const concurrency = Number(values.concurrency);
  const run = async (until: number, latencies: number[] | null) => {
    let ok = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const started = performance.now();
          const response = await tokenRequest(url, clientId, clientSecret);
          await response.arrayBuffer();
          if (response.status === 200) ok++;
          else failed++;
          latencies?.push(performance.now() - started);
        }
      }),
    );
    return { ok, failed };
  };
  await run(performance.now() + 2000, null);
  // Tells the server's process that the measured window begins.
  process.stdout.write('start\n');
  const latencies: number[] = [];
  const started = performance.now();
  const { ok, failed } = await run(started + Number(values.seconds) * 1000, latencies);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const result: LoadResult = { ok, failed, seconds, p50: at(0.5), p95: at(0.95) };
  process.stdout.write(JSON.stringify(result));
}

/**
 * Runs the load process; `serverCpuMs` is the CPU time this process (the server, with the
 * embedded database's worker thread) spent during the measured window.
 */
function runLoad(url: string, clientId: string, clientSecret: string): Promise<LoadResult & { serverCpuMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--load',
        JSON.stringify({ url, clientId, clientSecret }),
        '--seconds',
        values.seconds,
        '--concurrency',
        values.concurrency,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    let cpu: NodeJS.CpuUsage | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (!cpu && output.includes('start\n')) {
        cpu = process.cpuUsage();
        output = output.slice(output.indexOf('start\n') + 6);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 || !cpu) return reject(new Error(`load process exited ${code}`));
      const used = process.cpuUsage(cpu);
      resolve({ ...(JSON.parse(output) as LoadResult), serverCpuMs: (used.user + used.system) / 1000 });
    });
  });
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

async function bench(label: string, databaseUrl: string | undefined): Promise<void> {
  const config = loadConfig(
    {
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ROSTER_SECRET_KEY: 'bench-secret-0123456789abcdef0123456789abcdef',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    { dataDir: IN_MEMORY },
  );
  const server = await startServer(config, createLogger('silent'));
  try {
    const admin = server.bootstrap!;
    const result = await runLoad(server.url, admin.clientId, admin.clientSecret!);
    console.log(
      `${label}: ${(result.ok / result.seconds).toFixed(0)} tokens/s over ${result.seconds.toFixed(1)} s ` +
        `(${values.concurrency} connections; p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms; ` +
        `${result.failed} refused); server CPU ${(result.serverCpuMs / result.ok).toFixed(2)} ms per token`,
    );

    const realms = Number(values.realms);
    const before = memory();
    for (let i = 0; i < realms; i++) {
      const realm = await createAdminClient(server.db.prisma, { realmName: `bench-${i}` });
      const response = await fetch(`${server.url}/oauth2/${realm.realmName}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${realm.clientId}:${realm.clientSecret!}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      if (response.status !== 200) throw new Error(`token of realm ${realm.realmName}: ${response.status}`);
    }
    const after = memory();
    const perRealm = (bytes: number) => `${(bytes / realms / 1024).toFixed(0)} KiB per realm`;
    console.log(
      `${label}: after one token in each of ${realms} more realms, RSS ${mib(before.rss)} → ${mib(after.rss)} ` +
        `(${perRealm(after.rss - before.rss)}), JS heap ${mib(before.heap)} → ${mib(after.heap)} ` +
        `(${perRealm(after.heap - before.heap)})`,
    );
  } finally {
    await server.close();
  }
}

if (values.load) {
  const { url, clientId, clientSecret } = JSON.parse(values.load) as Record<string, string>;
  await load(url!, clientId!, clientSecret!);
} else {
  console.log(`node ${process.version}, ${values.concurrency} connections, ${values.seconds} s per database`);
  await bench('embedded', undefined);
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const name = `roster_bench_tokens_${randomUUID().replaceAll('-', '')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    try {
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      await bench('postgresql', url.toString());
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  } else {
    console.log('postgresql: skipped (set DATABASE_URL to a PostgreSQL server to run it)');
  }
}
