import type { ChildProcess } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, runRoster } from './helpers/cli.ts';
import {
  freePort,
  spawnRoster,
  STARTUP_TIMEOUT_MS,
  waitFor,
  waitForReadyz,
  type RunningRoster,
} from './helpers/roster-process.ts';

// Tests the embedded default, so it never uses TEST_DATABASE_URL (no rosterProcesses here).

const started: ChildProcess[] = [];

/** Listens on `port` of 127.0.0.1, as another program would. */
async function occupy(port: number): Promise<Server> {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  return blocker;
}

/** Starts `roster serve` on the data directory alone (no secret or bootstrap client given), without waiting. */
async function launch(dataDir: string, port?: number): Promise<RunningRoster> {
  const roster = spawnRoster(
    { ROSTER_DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    port ?? (await freePort()),
  );
  started.push(roster.child);
  return roster;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(roster: RunningRoster): Promise<void> {
  await waitForReadyz(roster);
  // The banner is printed right after the server starts listening; give the pipe time to deliver it.
  await waitFor(roster, () => /Roster is serving/.test(roster.output()), 'the start banner');
}

async function stop(roster: RunningRoster) {
  roster.child.kill('SIGTERM');
  return roster.exited;
}

async function tokenResponse(roster: RunningRoster, clientId: string, clientSecret: string) {
  const response = await fetch(`${roster.url}/oauth2/default/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return {
    status: response.status,
    body: (await response.json()) as { access_token: string; expires_in: number; error?: string },
  };
}

async function graphql(roster: RunningRoster, token: string, query: string) {
  const response = await fetch(`${roster.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: unknown[] } };
}

describe('roster serve (embedded database on disk)', () => {
  let dataDir: string;
  let first: RunningRoster;
  let clientId: string;
  let clientSecret: string;
  let firstToken: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'roster-startup-'));
  });

  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'on a busy port the first start creates nothing and says so in one line; the next start creates the admin client and shows its credentials',
    async () => {
      const port = await freePort();
      const blocker = await occupy(port);
      const refused = await launch(dataDir, port);
      expect((await refused.exited).code, refused.output()).toBe(1);
      expect(lines(refused.output())).toEqual([
        `roster: port ${port} on 127.0.0.1 is already in use (by another program, or a Roster already running); ` +
          'stop it or pick another with --port <n> or PORT=<n> (0 takes any free port)',
      ]);
      expect(await readdir(dataDir), 'nothing was created in the data directory').toEqual([]);
      await new Promise<void>((resolve) => blocker.close(() => resolve()));

      first = await launch(dataDir, port);
      await waitReady(first);
      const output = first.output();
      clientId = /client id:\s+(\S+)/.exec(output)?.[1] ?? '';
      clientSecret = /client secret:\s+(\S+)/.exec(output)?.[1] ?? '';
      expect(clientId, output).not.toBe('');
      expect(clientSecret, output).not.toBe('');

      const token = await tokenResponse(first, clientId, clientSecret);
      expect(token.status).toBe(200);
      expect(token.body.expires_in).toBe(3600);
      firstToken = token.body.access_token;

      const result = await graphql(
        first,
        token.body.access_token,
        '{ viewer { scopes } users(first: 5) { totalCount } }',
      );
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data.viewer.scopes).toHaveLength(16);
      expect(result.body.data.users.totalCount).toBe(0);

      const update = await graphql(
        first,
        token.body.access_token,
        'mutation { updateRealmSettings(input: { patch: { accessTokenTtlSeconds: 1800 } }) { userErrors { code } realm { settings { accessTokenTtlSeconds } } } }',
      );
      expect(update.body.errors).toBeUndefined();
      expect(update.body.data.updateRealmSettings).toEqual({
        userErrors: [],
        realm: { settings: { accessTokenTtlSeconds: 1800 } },
      });
    },
    STARTUP_TIMEOUT_MS * 2,
  );

  it(
    'refuses a second process on the same data dir with a clear "in use" message',
    async () => {
      expect(first, 'the first test must have started the server').toBeDefined();
      const second = await launch(dataDir);
      let exit: { code: number | null } | undefined;
      void second.exited.then((result) => (exit = result));
      const deadline = Date.now() + STARTUP_TIMEOUT_MS;
      while (!exit && !/Roster is serving/.test(second.output()) && Date.now() < deadline) await sleep(200);
      if (!exit) second.child.kill('SIGKILL');
      expect(exit, `the second process started serving:\n${second.output()}`).toBeDefined();
      const { code } = exit!;
      expect(code, second.output()).not.toBe(0);
      expect(code, second.output()).not.toBeNull();
      expect(code, second.output()).toBe(1);
      // One line naming the process that holds the data directory (its pid and command), no stack.
      expect(lines(second.output())).toEqual([
        expect.stringMatching(
          new RegExp(
            `^roster: the embedded database in \\S+ is in use by process ${first.child.pid} \\(\\S*node .*src/main\\.ts serve\\); ` +
              `stop that process \\(kill ${first.child.pid}\\) or set ROSTER_DATA_DIR to another directory$`,
          ),
        ),
      ]);
      // The first process is unaffected.
      const token = await tokenResponse(first, clientId, clientSecret);
      expect(token.status).toBe(200);
    },
    STARTUP_TIMEOUT_MS * 2,
  );

  it(
    'exits with code 0 on SIGTERM',
    async () => {
      expect(first, 'the first test must have started the server').toBeDefined();
      const { code, signal } = await stop(first);
      expect({ code, signal }, first.output()).toEqual({ code: 0, signal: null });
    },
    STARTUP_TIMEOUT_MS,
  );

  it(
    'restarts on the same data dir with the same data and credentials, printing no new ones',
    async () => {
      expect(clientSecret, 'the first test must have printed credentials').toBeTruthy();
      // Same port, so the issuer of the first process's tokens is unchanged.
      const again = await launch(dataDir, first.port);
      await waitReady(again);
      expect(again.output()).not.toMatch(/client secret:/);

      const token = await tokenResponse(again, clientId, clientSecret);
      expect(token.status, JSON.stringify(token.body)).toBe(200);
      expect(token.body.expires_in).toBe(1800);
      const result = await graphql(
        again,
        token.body.access_token,
        '{ viewer { clientId scopes } realm { settings { accessTokenTtlSeconds } } }',
      );
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data.viewer.clientId).toBe(clientId);
      expect(result.body.data.viewer.scopes).toHaveLength(16);
      expect(result.body.data.realm.settings.accessTokenTtlSeconds).toBe(1800);
      // The signing key (and the generated server secret that protects it) persisted too.
      const old = await graphql(again, firstToken, '{ viewer { clientId } }');
      expect(old.status).toBe(200);
      expect(old.body.data.viewer.clientId).toBe(clientId);

      const { code } = await stop(again);
      expect(code, again.output()).toBe(0);
    },
    STARTUP_TIMEOUT_MS * 2,
  );
});

describe('mistakes on the command line or in the settings', () => {
  let root: string;
  let dataDir: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'roster-mistakes-'));
    dataDir = path.join(root, 'data');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** Runs roster, expecting it to stop at once with one line and `code`, having created no data directory. */
  async function refused(args: string[], settings: Record<string, string>, code: number): Promise<string> {
    const result = await runRoster(args, { ROSTER_DATA_DIR: dataDir, ...settings });
    expect(result.code, result.stderr).toBe(code);
    expect(lines(result.stdout)).toEqual([]);
    const said = lines(result.stderr);
    expect(said, result.stderr).toHaveLength(1);
    await expect(access(dataDir), 'the data directory was created').rejects.toMatchObject({ code: 'ENOENT' });
    return said[0]!;
  }

  it('a bad flag value stops serve before any database is opened or migrated', async () => {
    expect(await refused(['serve', '--port', 'abc'], {}, 2)).toBe(
      'roster: --port: must be a whole number from 0 to 65535 (0: any free port); got "abc"',
    );
  });

  it('an unknown command is named, with the closest command and the list of commands', async () => {
    expect(await refused(['realms'], {}, 2)).toBe(
      "roster: unknown command 'realms' (did you mean realm?); the commands are serve, migrate, migration, " +
        'bootstrap, realm, outbox, seed-demo, print-schema (roster --help says more)',
    );
  });

  it('a bad setting names the variable and the values it accepts', async () => {
    expect(await refused(['serve'], { LOG_LEVEL: 'loud' }, 2)).toBe(
      'roster: invalid setting LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent; got "loud"',
    );
  });
});
