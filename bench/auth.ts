/**
 * Cost of authentication per GraphQL request: `npm run bench:auth`. Starts Roster in this
 * process on the embedded database (in memory) and, when `DATABASE_URL` names a PostgreSQL
 * server, again on a fresh database there (created and dropped). For each, a separate load
 * process sends, from `--concurrency` connections for `--seconds` (after a warm-up):
 * `{ __typename }` without a token (the request path without authentication), then
 * `{ viewer { clientId scopes } }` with one application token (no statement but the
 * authentication's). Printed: requests/s, latency percentiles and the server process's CPU time
 * per request (the embedded database's thread included, a PostgreSQL server's not); the
 * difference of the two CPU figures is what authentication costs. On a machine shared with
 * other work, the CPU figure is the steadier one.
 *
 * Options (after `--`): `--seconds N` (default 10), `--concurrency N` (default 8).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RosterServer } from '../src/server.ts';
import { onEachDatabase, runLoad, type LoadResult } from './harness.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    load: { type: 'string' },
  },
});

interface Load {
  url: string;
  query: string;
  token: string | null;
}

function send({ url, query, token }: Load): Promise<Response> {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
}

/** The load process: sends the request for `seconds` from `concurrency` loops, prints JSON. */
async function load(request: Load): Promise<void> {
  const run = async (until: number, latencies: number[] | null) => {
    let ok = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: Number(values.concurrency) }, async () => {
        while (performance.now() < until) {
          const started = performance.now();
          const response = await send(request);
          const body = (await response.json()) as { errors?: unknown };
          if (response.status === 200 && !body.errors) ok++;
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
  process.stdout.write(JSON.stringify({ ok, failed, seconds, p50: at(0.5), p95: at(0.95) } satisfies LoadResult));
}

async function bench(label: string, server: RosterServer): Promise<void> {
  const admin = server.bootstrap!;
  const response = await fetch(`${server.url}/oauth2/default/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${admin.clientId}:${admin.clientSecret!}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const { access_token: token } = (await response.json()) as { access_token: string };
  const runs = [
    { name: '{ __typename }, no token', query: '{ __typename }', token: null },
    { name: '{ viewer { clientId scopes } }, a token', query: '{ viewer { clientId scopes } }', token },
  ];
  const cpu: number[] = [];
  for (const run of runs) {
    const result = await runLoad<LoadResult>(
      fileURLToPath(import.meta.url),
      { url: server.url, query: run.query, token: run.token },
      ['--seconds', values.seconds, '--concurrency', values.concurrency],
    );
    const perRequest = result.serverCpuMs / result.ok;
    cpu.push(perRequest);
    console.log(
      `${label}, ${run.name}: ${(result.ok / result.seconds).toFixed(0)} requests/s ` +
        `(p50 ${result.p50.toFixed(2)} ms, p95 ${result.p95.toFixed(2)} ms; ${result.failed} failed); ` +
        `server CPU ${perRequest.toFixed(3)} ms per request`,
    );
  }
  console.log(`${label}: authentication costs ${(cpu[1]! - cpu[0]!).toFixed(3)} CPU ms per request`);
}

if (values.load) {
  await load(JSON.parse(values.load) as Load);
} else {
  console.log(`node ${process.version}, ${values.concurrency} connections, ${values.seconds} s per run`);
  await onEachDatabase('auth', bench);
}
