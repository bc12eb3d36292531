import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { RealmListing } from '../modules/realm/realm.lifecycle.ts';
import { baseUrlOf, config, printCredentials, withDatabase } from './common.ts';
import { CliError, RefusedError, USAGE, UsageError } from './failures.ts';

const lifecycle = () => import('../modules/realm/realm.lifecycle.ts');

/** `2026-12-02 10:15 UTC` */
const shownTime = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Columns padded to their widest cell; numeric columns aligned right. */
function table(header: string[], rows: string[][], right: ReadonlySet<number>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const listingJson = (realm: RealmListing, baseUrl: string) => ({
  ...realm,
  createdAt: realm.createdAt.toISOString(),
  issuer: `${baseUrl}/oauth2/${realm.name}`,
});

/** Whether someone can type a confirmation: standard input and output are a terminal. */
const interactive = () => Boolean(process.stdin.isTTY && process.stdout.isTTY);

/** Asks to type the realm's name in the terminal; anything else keeps the realm. */
async function confirmDeletion(realm: RealmListing): Promise<void> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const users = `${realm.users} user${realm.users === 1 ? '' : 's'}`;
    const answer = await prompt.question(
      `Delete realm "${realm.name}" (${users}) and everything in it, for good? Type its name to confirm: `,
    );
    if (answer.trim() !== realm.name) throw new CliError(`realm "${realm.name}" not deleted: the name typed differs`);
  } finally {
    prompt.close();
  }
}

/** `roster realm create|list|rename|delete`. */
export function addRealmCommands(program: Command): void {
  const realm = program
    .command('realm')
    .description('Create, list, rename and delete realms (each its own issuer, users, applications and keys).');

  realm
    .command('create <name>')
    .description(
      'Create a realm with its built-in management API and admin role, and an admin client whose credentials are printed once. ' +
        'The name (1-63 lowercase letters, digits and inner hyphens) is part of the issuer, {ROSTER_PUBLIC_URL}/oauth2/{name}, and never changes.',
    )
    .option('--display-name <text>', 'a human-readable name (up to 100 characters)')
    .option('--json', 'print the realm and the admin client credentials as JSON')
    .action(async (name: string, options: { displayName?: string; json?: boolean }) => {
      const cfg = config();
      const { createRealm, newRealmErrors } = await lifecycle();
      const input = { name, displayName: options.displayName ?? null };
      const invalid = newRealmErrors(input);
      if (invalid.length) throw new RefusedError(invalid, USAGE);
      const result = await withDatabase(cfg, (db) => createRealm({ prisma: db.prisma }, input));
      if (!result.realm || !result.adminClient) throw new RefusedError(result.userErrors);
      const baseUrl = baseUrlOf(cfg);
      const { clientId, clientSecret } = result.adminClient;
      if (options.json) {
        const { id, displayName, createdAt } = result.realm;
        const issuer = `${baseUrl}/oauth2/${name}`;
        const realmJson = { id, name, displayName, createdAt: createdAt.toISOString(), issuer };
        console.log(JSON.stringify({ realm: realmJson, adminClient: { clientId, clientSecret } }));
        return;
      }
      console.log(`Realm "${name}" created; its issuer is ${baseUrl}/oauth2/${name}.`);
      printCredentials(baseUrl, name, clientId, clientSecret!);
    });

  realm
    .command('list')
    .description('List the realms: name, display name, creation time and number of users (deleted ones left out).')
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      const cfg = config();
      const { listRealms } = await lifecycle();
      const realms = await withDatabase(cfg, (db) => listRealms(db.prisma));
      if (options.json) {
        console.log(JSON.stringify(realms.map((listing) => listingJson(listing, baseUrlOf(cfg)))));
      } else if (!realms.length) {
        console.log('No realms yet: `roster serve` creates realm "default" on its first start.');
      } else {
        const rows = realms.map((r) => [r.name, r.displayName ?? '-', shownTime(r.createdAt), String(r.users)]);
        console.log(table(['NAME', 'DISPLAY NAME', 'CREATED', 'USERS'], rows, new Set([3])));
      }
    });

  realm
    .command('rename <name>')
    .description(
      "Change a realm's display name. A realm's name never changes: it is part of the issuer, " +
        '{ROSTER_PUBLIC_URL}/oauth2/{name}, in every token and client configuration of the realm.',
    )
    .requiredOption('--display-name <text>', 'the new display name (up to 100 characters; "" removes it)')
    .action(async (name: string, options: { displayName: string }) => {
      const cfg = config();
      const { renameRealm } = await lifecycle();
      const result = await withDatabase(cfg, (db) =>
        renameRealm({ prisma: db.prisma }, { name, displayName: options.displayName }),
      );
      if (!result.realm) throw new RefusedError(result.userErrors);
      const shown = result.realm.displayName;
      console.log(`Realm "${name}" ${shown ? `is displayed as "${shown}"` : 'has no display name'} now.`);
    });

  realm
    .command('delete <name>')
    .description(
      'Delete a realm and everything in it, for good: users, applications, roles, keys, sessions, its audit trail. ' +
        "Asks to type the realm's name (in a terminal) or needs --yes. The only realm cannot be deleted.",
    )
    .option('-y, --yes', 'delete without asking (needed when not run in a terminal)')
    .action(async (name: string, options: { yes?: boolean }) => {
      if (!options.yes && !interactive()) {
        throw new UsageError(
          `not deleting realm "${name}" without a confirmation: add --yes, or run the command in a terminal to type the realm's name`,
        );
      }
      const cfg = config();
      const { deleteRealm, previewRealmDeletion } = await lifecycle();
      const deleted = await withDatabase(cfg, async (db) => {
        const preview = await previewRealmDeletion(db.prisma, name);
        if (!preview.realm) throw new RefusedError(preview.userErrors);
        if (!options.yes) await confirmDeletion(preview.realm);
        const result = await deleteRealm({ prisma: db.prisma }, { name });
        if (!result.realm) throw new RefusedError(result.userErrors);
        return result.realm;
      });
      console.log(
        `Realm "${name}" deleted, with its ${deleted.users} user${deleted.users === 1 ? '' : 's'} and everything else in it.`,
      );
    });
}
