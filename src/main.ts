#!/usr/bin/env -S node --import=tsx
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { baseUrlOf, config, printCredentials, settingFlag, wholeNumberFlag, withDatabase } from './cli/common.ts';
import { CliError, explainFailure, RefusedError, USAGE } from './cli/failures.ts';
import { addOutboxCommand } from './cli/outbox.ts';
import { addRealmCommands } from './cli/realm.ts';

// Errors are printed once, in one line, by the handler at the end (exitOverride makes Commander
// throw them there); settings made here are inherited by the commands defined below.
const program = new Command()
  .name('roster')
  .description('Roster: a GraphQL management API for identity administration.')
  .exitOverride()
  .configureOutput({ outputError: () => {} });

program
  .command('serve')
  .description('Start the API server, the default command (applies pending migrations first unless --no-migrate).')
  .option('--no-migrate', 'do not apply pending migrations at start')
  .option('--port <port>', 'port to listen on, 0-65535 (overrides PORT)', settingFlag('PORT', '--port'))
  .option('--host <host>', 'address to listen on (overrides HOST)')
  .action(async (options: { migrate: boolean; port?: number; host?: string }) => {
    const cfg = config({
      ...(options.migrate ? {} : { migrateOnStart: false }),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host ? { host: options.host } : {}),
    });
    const { startServer } = await import('./server.ts');
    const { createLogger } = await import('./logger.ts');
    const started = performance.now();
    const server = await startServer(cfg, createLogger(cfg.logLevel), {
      onBootstrap: ({ realmName, clientId, clientSecret }, baseUrl) => {
        if (clientSecret) printCredentials(baseUrl, realmName, clientId, clientSecret);
      },
      ...(cfg.env === 'production' ? {} : { printPendingEmail: (text: string) => process.stdout.write(text) }),
    });
    const database = server.db.kind === 'embedded' ? `embedded database in ${cfg.dataDir}` : 'PostgreSQL';
    server.log.info({ url: server.url, database, ms: Math.round(performance.now() - started) }, 'Roster is ready');
    console.log(`Roster is serving ${server.url}/graphql (${database}).`);
    if (cfg.explorer) console.log(`Explorer: open ${server.url}/graphql in a browser and sign in there.`);
    if (cfg.console) console.log(`Console: open ${server.url}/console in a browser (see README, "The admin console").`);
    if (!server.bootstrap?.clientSecret) {
      console.log(
        `Get a token: POST ${server.url}/oauth2/default/token with grant_type=client_credentials (see README).`,
      );
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.log.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        (error: unknown) => {
          server.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('migrate')
  .description('Apply pending database migrations and exit.')
  .action(async () => {
    const cfg = config({ migrateOnStart: false });
    const { migrate } = await import('./db/migrator.ts');
    const applied = await withDatabase(cfg, (db) => migrate(db));
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
  });

program
  .command('migration')
  .description('Author migrations.')
  .command('create <name>')
  .description('Write the SQL that brings prisma/migrations up to prisma/schema.prisma into a new migration folder.')
  .action(async (name: string) => {
    const { createMigration } = await import('./db/migrator.ts');
    const result = await createMigration(name);
    console.log(
      result.path
        ? `Created ${path.relative(process.cwd(), result.path)}`
        : 'No changes: schema.prisma is covered by the migrations.',
    );
  });

program
  .command('bootstrap')
  .description('Create an admin M2M client (and the realm if needed) and print its credentials.')
  .option('--realm <name>', 'realm name (default: default, or system with --system)')
  .option(
    '--system',
    'the system realm: its admin client may also list, create and delete realms (GraphQL realms, createRealm, deleteRealm)',
  )
  .action(async (options: { realm?: string; system?: boolean }) => {
    const cfg = config();
    const { BootstrapRefusal, createAdminClient, SYSTEM_REALM_NAME } = await import('./identity/bootstrap.ts');
    const { newRealmErrors } = await import('./modules/realm/realm.lifecycle.ts');
    const realmName = options.realm ?? (options.system ? SYSTEM_REALM_NAME : 'default');
    const invalid = newRealmErrors({ name: realmName });
    if (invalid.length) throw new RefusedError(invalid, USAGE);
    const result = await withDatabase(cfg, (db) =>
      createAdminClient(db.prisma, {
        realmName,
        credentials: cfg.bootstrapClient,
        system: Boolean(options.system),
      }),
    ).catch((error: unknown) => {
      throw error instanceof BootstrapRefusal ? new CliError(error.message) : error;
    });
    if (result.clientSecret) printCredentials(baseUrlOf(cfg), result.realmName, result.clientId, result.clientSecret);
    else console.log(`Admin client ${result.clientId} is configured from ROSTER_BOOTSTRAP_CLIENT_ID/SECRET.`);
  });

addRealmCommands(program);
addOutboxCommand(program);

program
  .command('seed-demo')
  .description('Fill a realm (created if needed) with realistic demo users, roles, tenants and sign-ins.')
  .option('--realm <name>', 'realm name', 'default')
  .option('--users <count>', 'number of users (1 to 10000)', wholeNumberFlag('--users', 1), 50)
  .action(async (options: { realm: string; users: number }) => {
    const cfg = config();
    const { DEMO_PASSWORD, MAX_DEMO_USERS, seedDemo } = await import('./modules/demo/demo.seed.ts');
    const { newRealmErrors } = await import('./modules/realm/realm.lifecycle.ts');
    const invalid = newRealmErrors({ name: options.realm });
    if (invalid.length) throw new RefusedError(invalid, USAGE);
    if (options.users > MAX_DEMO_USERS) {
      throw new CliError(`--users: at most ${MAX_DEMO_USERS} per run; got "${options.users}"`, USAGE);
    }
    const summary = await withDatabase(cfg, (db) => seedDemo(db.prisma, options));
    console.log(
      `Seeded realm "${summary.realm}": ${summary.users} users, ${summary.tenants} tenants, ${summary.roles} roles; ` +
        `${summary.signIns} sign-ins and ${summary.failedSignIns} wrong passwords through the sign-in runtime. ` +
        `Demo users with a password sign in with "${DEMO_PASSWORD}".`,
    );
  });

program
  .command('print-schema')
  .description('Print the GraphQL schema (sorted SDL) to stdout or a file.')
  .option('-o, --output <file>', 'write to this file')
  .action(async (options: { output?: string }) => {
    const { printSchemaSdl } = await import('./graphql/schema.ts');
    const sdl = printSchemaSdl();
    if (options.output) await writeFile(options.output, sdl);
    else process.stdout.write(sdl);
  });

const HELP_OR_VERSION = new Set(['-h', '--help', '-V', '--version']);
const given = process.argv.slice(2);
// `roster` alone, or with only options (`roster --port 5000`), serves.
const argv =
  given.length === 0 || (given[0]!.startsWith('-') && !HELP_OR_VERSION.has(given[0]!)) ? ['serve', ...given] : given;

try {
  await program.parseAsync(argv, { from: 'user' });
} catch (error) {
  const failure = explainFailure(error, program, argv);
  if (!failure) throw error;
  if (failure.message) console.error(`roster: ${failure.message}`);
  process.exitCode = failure.exitCode;
  // Nothing should be left running; if something is, it must not keep a failed command alive.
  setTimeout(() => process.exit(), 2_000).unref();
}
