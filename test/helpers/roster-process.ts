import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, ROSTER, rosterEnv } from './cli.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/** How long a `roster serve` child may take to become ready, and a wait on it may last. */
export const STARTUP_TIMEOUT_MS = 90_000;

/** A `roster serve` child process. */
export interface RunningRoster {
  child: ChildProcess;
  port: number;
  url: string;
  /** Its standard output and error so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A port free on the loopback interface right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Starts `roster serve` on `port` of 127.0.0.1 with `settings`, without waiting for it. */
export function spawnRoster(settings: Record<string, string>, port: number): RunningRoster {
  const child = spawn(ROSTER[0], [...ROSTER.slice(1), 'serve'], {
    cwd: ROOT,
    env: rosterEnv({ ...settings, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** Polls `ready` until it holds; fails with the child's output if it exits first or time runs out. */
export async function waitFor(
  roster: RunningRoster,
  ready: () => Promise<boolean> | boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exited = false;
  void roster.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (await ready()) return;
    if (exited) throw new Error(`Roster exited before ${what}:\n${roster.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Timed out waiting for ${what}:\n${roster.output()}`);
}

/** Waits until `roster` answers /readyz with 200. */
export function waitForReadyz(roster: RunningRoster): Promise<void> {
  return waitFor(
    roster,
    async () => {
      try {
        const response = await fetch(`${roster.url}/readyz`);
        await response.text();
        return response.status === 200;
      } catch {
        return false;
      }
    },
    '/readyz',
  );
}

/**
 * `roster serve` children sharing one data directory (the embedded database on disk), or with
 * TEST_DATABASE_URL a database of their own there, so that a killed one can be followed by another.
 */
export interface RosterProcesses {
  /** The settings every child gets (data directory, secret, bootstrap client, database), plus `extra`. */
  settings(extra?: Record<string, string>): Record<string, string>;
  /** Starts a child on a free port and waits for its /readyz. */
  launch(extra?: Record<string, string>): Promise<RunningRoster>;
  /** A GraphQL request to `roster` with a token of the bootstrap client. */
  graphql(
    roster: RunningRoster,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ data?: any; errors?: unknown[] }>;
  /** Kills the children still running and removes the data directory and database. */
  dispose(): Promise<void>;
}

/** Sets up children named after `name` (their temporary directory, bootstrap client and secret). */
export async function rosterProcesses(name: string): Promise<RosterProcesses> {
  const clientId = `${name}-admin`;
  const clientSecret = `${name}-secret-0123456789abcdef0123456789`;
  const started: ChildProcess[] = [];
  const dataDir = await mkdtemp(path.join(tmpdir(), `roster-${name}-`));
  const database: TestDatabase | undefined = process.env.TEST_DATABASE_URL
    ? await createTestDatabase({ migrated: false })
    : undefined;

  const settings = (extra: Record<string, string> = {}): Record<string, string> => ({
    ROSTER_DATA_DIR: dataDir,
    ROSTER_SECRET_KEY: `${name}-test-secret-0123456789abcdef`,
    ROSTER_BOOTSTRAP_CLIENT_ID: clientId,
    ROSTER_BOOTSTRAP_CLIENT_SECRET: clientSecret,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...(database?.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...extra,
  });

  const launch = async (extra: Record<string, string> = {}): Promise<RunningRoster> => {
    const running = spawnRoster(settings(extra), await freePort());
    started.push(running.child);
    await waitForReadyz(running);
    return running;
  };

  const graphql: RosterProcesses['graphql'] = async (roster, query, variables = {}) => {
    const tokenResponse = await fetch(`${roster.url}/oauth2/default/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const response = await fetch(`${roster.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };

  const dispose = async (): Promise<void> => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await database?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  };

  return { settings, launch, graphql, dispose };
}
