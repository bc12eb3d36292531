import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { hashClientSecret } from '../../src/modules/applications/applications.credentials.ts';
import { lines, ROSTER, runCommand, runRoster, type Finished } from '../helpers/cli.ts';

// `roster realm …` as a user runs it: child processes on one embedded data directory on disk
// (never TEST_DATABASE_URL); the service behind it is tested on both databases in test/realm/.
// Each command starts Node and opens the database: seconds each, and more on a busy machine.
const TIMEOUT_MS = 150_000;

let root: string;
let dataDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roster-cli-realm-'));
  dataDir = path.join(root, 'data');
});

afterAll(() => rm(root, { recursive: true, force: true }));

const roster = (...args: string[]) => runRoster(args, { ROSTER_DATA_DIR: dataDir });

/** The one line a refused command writes to stderr (nothing to stdout), after checking its exit code. */
function refusal(result: Finished, code: number): string {
  expect(result.code, result.stderr).toBe(code);
  expect(lines(result.stdout)).toEqual([]);
  expect(lines(result.stderr), result.stderr).toHaveLength(1);
  return lines(result.stderr)[0]!;
}

interface ListedRealm {
  name: string;
  displayName: string | null;
  users: number;
  issuer: string;
  createdAt: string;
}

async function listed(): Promise<ListedRealm[]> {
  const result = await roster('realm', 'list', '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ListedRealm[];
}

/** `roster realm delete <name>` in a terminal (util-linux `script` gives it one), typing `typed`. */
function deleteInTerminal(name: string, typed: string): Promise<Finished> {
  const command = [...ROSTER, 'realm', 'delete', name].map((arg) => `'${arg}'`).join(' ');
  return runCommand(
    'script',
    ['--quiet', '--return', '--command', command, '/dev/null'],
    { ROSTER_DATA_DIR: dataDir },
    `${typed}\n`,
  );
}

const hasScript = await access('/usr/bin/script').then(
  () => true,
  () => false,
);

describe('roster realm', () => {
  let acmeSecret = '';
  let acmeClientId = '';

  it(
    'create makes a realm and prints its admin client credentials once; a taken name is refused',
    async () => {
      const result = await roster('realm', 'create', 'acme', '--display-name', 'Acme Inc.');
      expect(result.code, result.stderr).toBe(0);
      const out = result.stdout;
      expect(out).toContain('Realm "acme" created; its issuer is http://127.0.0.1:4000/oauth2/acme.');
      expect(out).toContain('Admin client created for realm "acme". The secret is shown only this once:');
      acmeClientId = /client id:\s+(\S+)/.exec(out)?.[1] ?? '';
      acmeSecret = /client secret:\s+(\S+)/.exec(out)?.[1] ?? '';
      expect(acmeSecret).toMatch(/^[\w-]{40,}$/);

      expect(refusal(await roster('realm', 'create', 'acme'), 1)).toBe(
        'roster: A realm named "acme" already exists; realm names are unique. (TAKEN)',
      );

      const json = await roster('realm', 'create', 'beta', '--json');
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({
        realm: {
          id: expect.any(String),
          name: 'beta',
          displayName: null,
          createdAt: expect.any(String),
          issuer: 'http://127.0.0.1:4000/oauth2/beta',
        },
        adminClient: { clientId: expect.any(String), clientSecret: expect.any(String) },
      });
    },
    TIMEOUT_MS * 3,
  );

  it(
    'refuses a bad name, and a deletion nobody can confirm, before opening any database',
    async () => {
      const untouched = { ROSTER_DATA_DIR: path.join(root, 'untouched') };
      expect(refusal(await runRoster(['realm', 'create', 'Acme_Inc'], untouched), 2)).toBe(
        'roster: The realm name may contain only lowercase letters, digits and hyphens, and cannot start or end with a hyphen. (INVALID)',
      );
      // Standard input is a pipe here, so nobody can type the name.
      expect(refusal(await runRoster(['realm', 'delete', 'beta'], untouched), 2)).toBe(
        'roster: not deleting realm "beta" without a confirmation: add --yes, or run the command in a terminal to type the realm\'s name',
      );
      await expect(access(untouched.ROSTER_DATA_DIR)).rejects.toMatchObject({ code: 'ENOENT' });
    },
    TIMEOUT_MS,
  );

  it(
    'list shows name, display name, creation time and users, as a table or JSON',
    async () => {
      expect(await listed()).toEqual([
        {
          id: expect.any(String),
          name: 'acme',
          displayName: 'Acme Inc.',
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          system: false,
          users: 0,
          issuer: 'http://127.0.0.1:4000/oauth2/acme',
        },
        expect.objectContaining({ name: 'beta', displayName: null, users: 0 }),
      ]);
      const table = await roster('realm', 'list');
      expect(table.code, table.stderr).toBe(0);
      const time = /\d{4}-\d\d-\d\d \d\d:\d\d UTC/;
      expect(lines(table.stdout).map((line) => line.replace(time, 'YYYY-MM-DD hh:mm UTC'))).toEqual([
        'NAME  DISPLAY NAME  CREATED               USERS',
        'acme  Acme Inc.     YYYY-MM-DD hh:mm UTC      0',
        'beta  -             YYYY-MM-DD hh:mm UTC      0',
      ]);
    },
    TIMEOUT_MS * 2,
  );

  it(
    'rename changes the display name; an unknown realm is refused',
    async () => {
      const result = await roster('realm', 'rename', 'acme', '--display-name', 'Acme Corp');
      expect(result.code, result.stderr).toBe(0);
      expect(lines(result.stdout)).toEqual(['Realm "acme" is displayed as "Acme Corp" now.']);
      expect(refusal(await roster('realm', 'rename', 'nope', '--display-name', 'X'), 1)).toBe(
        'roster: No realm is named "nope". (NOT_FOUND)',
      );
    },
    TIMEOUT_MS * 2,
  );

  it(
    "delete asks to type the realm's name in a terminal, and never deletes the only realm",
    async () => {
      if (hasScript) {
        const mistyped = await deleteInTerminal('beta', 'bet');
        expect(mistyped.code, mistyped.stdout).toBe(1);
        expect(mistyped.stdout).toContain('Delete realm "beta" (0 users) and everything in it, for good?');
        expect(mistyped.stdout).toContain('roster: realm "beta" not deleted: the name typed differs');

        const confirmed = await deleteInTerminal('beta', 'beta');
        expect(confirmed.code, confirmed.stdout).toBe(0);
        expect(confirmed.stdout).toContain('Realm "beta" deleted, with its 0 users and everything else in it.');
      } else {
        const deleted = await roster('realm', 'delete', 'beta', '--yes');
        expect(deleted.code, deleted.stderr).toBe(0);
      }
      expect(refusal(await roster('realm', 'delete', 'acme', '--yes'), 1)).toMatch(
        /^roster: Realm "acme" is the only realm, and Roster keeps at least one; .* \(INVALID_STATE\)$/,
      );
    },
    TIMEOUT_MS * 3,
  );

  it(
    'left one realm, the printed secret stored hashed and the changes in the realm’s audit trail',
    async () => {
      const db = await openDatabase({ dataDir });
      try {
        expect(await db.prisma.realm.findMany({ select: { name: true, displayName: true } })).toEqual([
          { name: 'acme', displayName: 'Acme Corp' },
        ]);
        const realm = await db.prisma.realm.findUniqueOrThrow({ where: { name: 'acme' } });
        const application = await db.prisma.application.findUniqueOrThrow({
          where: { clientId: acmeClientId },
          include: { secrets: true, roles: { include: { role: true } } },
        });
        expect(application).toMatchObject({ realmId: realm.id, type: 'M2M', builtIn: true });
        expect(application.secrets.map((secret) => secret.secretHash)).toEqual([hashClientSecret(acmeSecret)]);
        expect(application.roles.map((held) => held.role.builtIn)).toEqual([true]);
        const events = await db.prisma.auditEvent.findMany({
          where: { realmId: realm.id, action: { startsWith: 'realm.' } },
          orderBy: { id: 'asc' },
        });
        expect(events.map((event) => [event.action, event.actorType, event.changes])).toEqual([
          ['realm.created', 'system', { name: 'acme', displayName: 'Acme Inc.' }],
          ['realm.renamed', 'system', { displayName: { before: 'Acme Inc.', after: 'Acme Corp' } }],
        ]);
      } finally {
        await db.close();
      }
    },
    TIMEOUT_MS,
  );
});
