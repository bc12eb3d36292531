#!/usr/bin/env -S node --import=tsx
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.ts';

function config(overrides: Partial<Config> = {}): Config {
  try {
    return loadConfig(process.env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

function printCredentials(baseUrl: string, realmName: string, clientId: string, clientSecret: string): void {
  console.log(`
  Admin client created for realm "${realmName}". The secret is shown only this once:

    client id:     ${clientId}
    client secret: ${clientSecret}

  Get an access token:

    curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials \\
      ${baseUrl}/oauth2/${realmName}/token
`);
}

const program = new Command()
  .name('roster')
  .description('Roster: a GraphQL management API for identity administration.')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('Start the API server (applies pending migrations first unless --no-migrate).')
  .option('--no-migrate', 'do not apply pending migrations at start')
  .addOption(new Option('--port <port>', 'port to listen on (overrides PORT)').argParser(Number))
  .addOption(new Option('--host <host>', 'address to listen on (overrides HOST)'))
  .action(async (options: { migrate: boolean; port?: number; host?: string }) => {
    const { startServer } = await import('./server.ts');
    const cfg = config({
      ...(options.migrate ? {} : { migrateOnStart: false }),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host ? { host: options.host } : {}),
    });
    const started = performance.now();
    const server = await startServer(cfg);
    const database = server.db.kind === 'embedded' ? `embedded database in ${cfg.dataDir}` : 'PostgreSQL';
    server.log.info({ url: server.url, database, ms: Math.round(performance.now() - started) }, 'Roster is ready');
    console.log(`Roster is serving ${server.url}/graphql (${database}).`);
    if (cfg.explorer) console.log(`Explorer: open ${server.url}/graphql in a browser and sign in there.`);
    if (server.bootstrap?.clientSecret) {
      printCredentials(
        server.url,
        server.bootstrap.realmName,
        server.bootstrap.clientId,
        server.bootstrap.clientSecret,
      );
    } else {
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
    const cfg = config();
    const { openDatabase } = await import('./db/client.ts');
    const { migrate } = await import('./db/migrator.ts');
    const db = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
    try {
      const applied = await migrate(db);
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
    } finally {
      await db.close();
    }
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
  .option('--realm <name>', 'realm name', 'default')
  .action(async (options: { realm: string }) => {
    const cfg = config();
    const { openDatabase } = await import('./db/client.ts');
    const { migrate } = await import('./db/migrator.ts');
    const { createAdminClient } = await import('./identity/bootstrap.ts');
    const { REALM_NAME } = await import('./modules/realm/realm.service.ts');
    if (!REALM_NAME.test(options.realm)) {
      console.error('Realm names are 1-63 lowercase letters, digits and hyphens.');
      process.exit(2);
    }
    const db = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
    try {
      if (cfg.migrateOnStart) await migrate(db);
      const result = await createAdminClient(db.prisma, { realmName: options.realm, credentials: cfg.bootstrapClient });
      const baseUrl = cfg.publicUrl ?? `http://${cfg.host}:${cfg.port}`;
      if (result.clientSecret) printCredentials(baseUrl, result.realmName, result.clientId, result.clientSecret);
      else console.log(`Admin client ${result.clientId} is configured from ROSTER_BOOTSTRAP_CLIENT_ID/SECRET.`);
    } finally {
      await db.close();
    }
  });

program
  .command('seed-demo')
  .description('Fill the default realm with demo users, roles and tenants.')
  .option('--users <count>', 'number of users', (v) => Number.parseInt(v, 10), 50)
  .action(async (options: { users: number }) => {
    const cfg = config();
    const { openDatabase } = await import('./db/client.ts');
    const { migrate } = await import('./db/migrator.ts');
    const { seedDemo } = await import('./modules/demo/demo.seed.ts');
    const db = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
    try {
      if (cfg.migrateOnStart) await migrate(db);
      const summary = await seedDemo(db.prisma, { users: options.users });
      console.log(
        `Seeded realm "default": ${summary.users} users, ${summary.tenants} tenants, ${summary.roles} roles.`,
      );
    } finally {
      await db.close();
    }
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

await program.parseAsync();
