import { ConfigError, loadConfig, parseSetting, type Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { UsageError } from './failures.ts';

export function config(overrides: Partial<Config> = {}): Config {
  return loadConfig(process.env, overrides);
}

/** The base URL clients reach Roster at, as the server will use it. */
export function baseUrlOf(cfg: Config): string {
  return cfg.publicUrl ?? `http://${cfg.host}:${cfg.port}`;
}

/** Opens the configured database, applies pending migrations unless told not to, runs `work`, closes. */
export async function withDatabase<T>(cfg: Config, work: (db: Database) => Promise<T>): Promise<T> {
  const { openDatabase } = await import('../db/client.ts');
  const { migrate } = await import('../db/migrator.ts');
  const db = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir });
  try {
    if (cfg.migrateOnStart) await migrate(db);
    return await work(db);
  } finally {
    await db.close();
  }
}

/** A flag's value read by the rules of the setting it overrides (`--port` as `PORT`). */
export function settingFlag<K extends Parameters<typeof parseSetting>[0]>(name: K, flag: string) {
  return (value: string) => {
    try {
      return parseSetting(name, value, flag);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.problems.join('; '));
      throw error;
    }
  };
}

/** A flag's value that must be a whole number from `min` up. */
export function wholeNumberFlag(flag: string, min: number) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new UsageError(`${flag}: must be a whole number, ${min} or more; got "${value}"`);
    }
    return Number(value);
  };
}

/** Prints the credentials of a new admin client: its secret is shown here and nowhere else. */
export function printCredentials(baseUrl: string, realmName: string, clientId: string, clientSecret: string): void {
  process.stdout.write(`
  Admin client created for realm "${realmName}". The secret is shown only this once:

    client id:     ${clientId}
    client secret: ${clientSecret}

  Get an access token:

    curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials \\
      ${baseUrl}/oauth2/${realmName}/token

`);
}
