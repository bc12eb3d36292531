/**
 * Server CPU per request of the side-by-side requests (q1, q2 of the PostGraphile comparison):
 * `npm run bench:cpu -- [seconds] [request names]` against realm `bench` (seed it first with `npm run bench:seed`)
 * in the PostgreSQL database at DATABASE_URL. Starts Roster (production mode) in this process
 * on a loopback port and gets a token from the real token endpoint; a child process sends the
 * load (10 keep-alive connections), so this process's CPU time is the server's alone. Prints,
 * per request, req/s and server CPU ms per request; `auth floor` is an authenticated
 * `{ __typename }`, the cost of HTTP, authentication and Yoga around any query.
 * Run it under `node --cpu-prof --import tsx` to profile the server side.
 * `--rounds=N` measures each request N times and prints the server's RSS (after a full GC when
 * run with `node --expose-gc --import tsx`) idle at the start and after every round: it must
 * level off, not grow with the rounds.
 */
import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';

const CONNECTIONS = 10;

const REQUESTS: Record<string, string> = {
  'auth floor': `{ __typename }`,
  q1: `query UsersPage($first: Int!) { users(first: $first, orderBy: [{field: CREATED_AT, direction: DESC}], filter: {includeDeleted: true}) { totalCount nodes { id email name username status createdAt roles { name } sessions { nodes { ipAddress userAgent } } } } }`,
  q2: `query ActiveUsers($first: Int!) { users(first: $first, orderBy: [{field: CREATED_AT, direction: DESC}], filter: {statuses: [ACTIVE]}) { totalCount nodes { id email name username status createdAt lastLoginAt } } }`,
};

interface LoadOrder {
  url: string;
  token: string;
  body: string;
  ms: number;
}

/** The load side (child process): CONNECTIONS loops of sequential requests until the time is up. */
async function load({ url, token, body, ms }: LoadOrder): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
    'content-length': Buffer.byteLength(body),
  };
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200 || text.includes('"errors"')) reject(new Error(text.slice(0, 300)));
          else resolve();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  let completed = 0;
  const deadline = performance.now() + ms;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        await once();
        completed++;
      }
    }),
  );
  agent.destroy();
  return completed;
}

if (process.argv[2] === '--load') {
  process.once('message', (order: LoadOrder) => {
    void load(order).then(
      (completed) => process.send!({ completed }, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
} else {
  await main();
}

async function main() {
  const rounds = Number(process.argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length) ?? 1);
  const args = process.argv.filter((arg) => !arg.startsWith('--rounds='));
  const seconds = Number.parseFloat(args[2] ?? '10');
  const rss = () => {
    (globalThis as { gc?: () => void }).gc?.();
    return `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`;
  };
  // Imported here: the load process (this file with --load) does not load the server.
  const { startOnBenchRealm } = await import('./bench-realm.ts');
  const { baseUrl, token, users, close } = await startOnBenchRealm();

  const run = (body: string, ms: number) =>
    new Promise<{ completed: number; cpuMs: number; wallMs: number }>((resolve, reject) => {
      const child = fork(process.argv[1]!, ['--load'], {
        execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof')),
      });
      const cpu = process.cpuUsage();
      const started = performance.now();
      child.once('message', ({ completed }: { completed: number }) => {
        const used = process.cpuUsage(cpu);
        resolve({ completed, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started });
      });
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`load process exited with ${code}`));
      });
      child.send({ url: `${baseUrl}/graphql`, token, body, ms } satisfies LoadOrder);
    });

  console.log(
    `Server CPU per request: ${users} users in realm "bench", PostgreSQL, ${CONNECTIONS} connections, ${seconds} s each\n`,
  );
  if (rounds > 1) console.log(`idle RSS ${rss()}`);
  console.log(
    `${'request'.padEnd(12)} ${'req/s'.padStart(8)} ${'CPU ms/req'.padStart(11)}${rounds > 1 ? '  RSS after' : ''}`,
  );
  const only = args.slice(3);
  for (const [name, query] of Object.entries(REQUESTS)) {
    if (only.length && !only.includes(name)) continue;
    const body = JSON.stringify({ query, variables: { first: 50 } });
    await run(body, 2_000); // warm-up
    for (let round = 0; round < rounds; round++) {
      const { completed, cpuMs, wallMs } = await run(body, seconds * 1000);
      console.log(
        `${name.padEnd(12)} ${(completed / (wallMs / 1000)).toFixed(0).padStart(8)} ${(cpuMs / completed).toFixed(2).padStart(11)}${rounds > 1 ? `  ${rss()}` : ''}`,
      );
    }
  }
  if (rounds > 1) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    console.log(`idle RSS after the load ${rss()}`);
  }

  await close();
}
