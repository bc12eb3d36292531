/**
 * Start-up and memory benchmark of the server on the embedded database: `npm run bench:startup`.
 * Runs `npm start` as a newcomer would, on a fresh data directory and a free loopback port,
 * then again on the same directory, and prints for each start the time from spawning the
 * command to the first `GET /readyz` answering 200, the RSS of the server process after 5 s
 * idle (and of the whole process tree: npm, wrappers), and its RSS after 100 authenticated
 * GraphQL requests. RSS is read from /proc (Linux) for the node process running Roster's entry
 * point (`main.ts` or `main.js`).
 *
 * Options (after `--`): `--runs N` restarts (default 1), `--requests N` (default 100),
 * `--idle MS` (default 5000), `--command '<shell command>'` instead of `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    requests: { type: 'string', default: '100' },
    idle: { type: 'string', default: '5000' },
    command: { type: 'string', default: 'npm start --silent' },
  },
});
const RESTARTS = Number(values.runs);
const REQUESTS = Number(values.requests);
const IDLE_MS = Number(values.idle);
const READY_TIMEOUT_MS = 60_000;
const QUERY = '{ viewer { scopes } users(first: 5) { totalCount nodes { id email } } }';

interface Run {
  label: string;
  readyMs: number;
  idleRss: number;
  idleTreeRss: number;
  loadedRss: number;
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = await mkdtemp(path.join(tmpdir(), 'roster-bench-'));
const runs: Run[] = [];
let credentials: { clientId: string; clientSecret: string } | undefined;
try {
  runs.push(await run('first start (empty data dir)'));
  for (let i = 0; i < RESTARTS; i++) runs.push(await run(RESTARTS > 1 ? `restart ${i + 1}` : 'restart'));
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

console.log(`\n${values.command} (node ${process.version}); ${REQUESTS} requests of ${QUERY}\n`);
const rows = [
  ['', 'start to ready', `RSS idle ${IDLE_MS / 1000}s`, '(process tree)', `RSS after ${REQUESTS} req`],
  ...runs.map((r) => [
    r.label,
    `${(r.readyMs / 1000).toFixed(2)} s`,
    mb(r.idleRss),
    mb(r.idleTreeRss),
    mb(r.loadedRss),
  ]),
];
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const row of rows)
  console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   '));

async function run(label: string): Promise<Run> {
  const started = performance.now();
  const child = spawn(values.command, {
    shell: true,
    env: { ...environment(), ROSTER_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitReady(child, () => output);
    const readyMs = performance.now() - started;
    const server = serverPid(child.pid!);
    credentials ??= parseCredentials(output);
    await sleep(IDLE_MS);
    const idleRss = rss(server);
    const idleTreeRss = tree(child.pid!).reduce((sum, pid) => sum + rss(pid), 0);
    const token = await getToken();
    for (let i = 0; i < REQUESTS; i++) await query(token);
    await sleep(1_000);
    const loadedRss = rss(server);
    console.log(
      `${label}: ready in ${(readyMs / 1000).toFixed(2)} s, RSS idle ${mb(idleRss)}, after ${REQUESTS} requests ${mb(loadedRss)}`,
    );
    return { label, readyMs, idleRss, idleTreeRss, loadedRss };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM'); // the process group: npm and the server under it
    } catch {
      // already gone
    }
    await exited;
    await waitGone(child.pid!);
  }
}

async function waitReady(child: ChildProcess, output: () => string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output()}`);
    try {
      const response = await fetch(`${base}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(25);
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

function parseCredentials(output: string) {
  const clientId = /client id:\s+(\S+)/.exec(output)?.[1];
  const clientSecret = /client secret:\s+(\S+)/.exec(output)?.[1];
  if (!clientId || !clientSecret) throw new Error(`no credentials printed:\n${output}`);
  return { clientId, clientSecret };
}

async function getToken(): Promise<string> {
  const response = await fetch(`${base}/oauth2/default/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${credentials!.clientId}:${credentials!.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function query(token: string): Promise<void> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (response.status !== 200 || body.errors) throw new Error(`query failed: ${JSON.stringify(body)}`);
}

/** This process's environment without settings of its own database or Roster's. */
function environment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && entry[0] !== 'DATABASE_URL' && !entry[0].startsWith('ROSTER_'),
    ),
  );
}

/** The process tree under `root` (Linux /proc), root first. */
function tree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const result: number[] = [];
  const visit = (pid: number) => {
    result.push(pid);
    for (const child of parents.get(pid) ?? []) visit(child);
  };
  visit(root);
  return result;
}

/** The deepest node process of the tree whose command line names Roster's entry point. */
function serverPid(root: number): number {
  const candidates = tree(root).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'node' && argv.some((arg) => /(^|\/)main\.(ts|js)$/.test(arg));
    } catch {
      return false;
    }
  });
  const pid = candidates.at(-1);
  if (pid === undefined) throw new Error('server process not found');
  return pid;
}

function rss(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await sleep(25);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
