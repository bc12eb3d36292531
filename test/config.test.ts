import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTING_NAMES } from '../src/config.ts';

/** The other half of the bootstrap pair, valid, so that only the value under test is wrong. */
const BOOTSTRAP_PAIR = (name: string): Record<string, string> =>
  name === 'ROSTER_BOOTSTRAP_CLIENT_ID'
    ? { ROSTER_BOOTSTRAP_CLIENT_SECRET: 'a'.repeat(40) }
    : { ROSTER_BOOTSTRAP_CLIENT_ID: 'scripted-admin' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('defaults to the embedded database on 127.0.0.1:4000 in development', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 4000,
      databaseUrl: undefined,
      migrateOnStart: true,
    });
    expect(config.dataDir).toBe(path.resolve('.roster'));
  });

  it('names each bad setting with a clear message', () => {
    expect(problems({ PORT: 'eighty' })).toEqual([
      'PORT: must be a whole number from 0 to 65535 (0: any free port); got "eighty"',
    ]);
    expect(problems({ PORT: '70000' })).toEqual([
      'PORT: must be a whole number from 0 to 65535 (0: any free port); got "70000"',
    ]);
    expect(problems({ NODE_ENV: 'staging' })[0]).toMatch(/^NODE_ENV: must be development, production or test/);
    expect(problems({ DATABASE_URL: 'mysql://x' })).toEqual(['DATABASE_URL: must be a postgresql:// URL']);
    expect(problems({ ROSTER_MIGRATE_ON_START: 'maybe' })[0]).toMatch(/^ROSTER_MIGRATE_ON_START: must be one of/);
    expect(problems({ ROSTER_SECRET_KEY: 'short' })[0]).toMatch(/^ROSTER_SECRET_KEY: must be at least 32 characters/);
    expect(problems({ LOG_LEVEL: 'loud' })).toEqual([
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent; got "loud"',
    ]);
  });

  it('never echoes secret values in messages', () => {
    const [message] = problems({ ROSTER_SECRET_KEY: 'hunter2' });
    expect(message).not.toContain('hunter2');
  });

  it('reads the metrics token: long enough, without spaces, never echoed', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ ROSTER_METRICS_TOKEN: 'm'.repeat(32) }).metricsToken).toBe('m'.repeat(32));
    expect(problems({ ROSTER_METRICS_TOKEN: 'short-token' })).toEqual([
      'ROSTER_METRICS_TOKEN: must be at least 32 characters (e.g. `openssl rand -hex 32`)',
    ]);
    expect(problems({ ROSTER_METRICS_TOKEN: `${'m'.repeat(32)} x` })).toEqual([
      'ROSTER_METRICS_TOKEN: must not contain spaces',
    ]);
  });

  it('requires the bootstrap client id and secret together, and a secret key in production', () => {
    expect(problems({ ROSTER_BOOTSTRAP_CLIENT_ID: 'scripted-admin' })[0]).toMatch(/must be set together/);
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'ROSTER_SECRET_KEY: is required in production (it encrypts the signing keys)',
    ]);
    const config = loadConfig({
      ROSTER_BOOTSTRAP_CLIENT_ID: 'scripted-admin',
      ROSTER_BOOTSTRAP_CLIENT_SECRET: 'a'.repeat(40),
      ROSTER_MIGRATE_ON_START: 'false',
    });
    expect(config.bootstrapClient).toEqual({ clientId: 'scripted-admin', clientSecret: 'a'.repeat(40) });
    expect(config.migrateOnStart).toBe(false);
  });

  it('reads the token endpoint limits and trusted proxy hops', () => {
    expect(loadConfig({})).toMatchObject({
      tokenLimits: {
        perAddress: { failures: 20, windowSeconds: 900 },
        perClient: { failures: 100, windowSeconds: 300 },
      },
      trustProxyHops: 0,
    });
    const config = loadConfig({
      ROSTER_TOKEN_ADDRESS_FAILURES: '5',
      ROSTER_TOKEN_ADDRESS_WINDOW_SECONDS: '60',
      ROSTER_TOKEN_CLIENT_FAILURES: '0',
      ROSTER_TOKEN_CLIENT_WINDOW_SECONDS: '30',
      ROSTER_TRUST_PROXY_HOPS: '1',
    });
    expect(config.tokenLimits).toEqual({
      perAddress: { failures: 5, windowSeconds: 60 },
      perClient: { failures: 0, windowSeconds: 30 },
    });
    expect(config.trustProxyHops).toBe(1);
    expect(problems({ ROSTER_TOKEN_ADDRESS_FAILURES: '-1' })).toEqual([
      'ROSTER_TOKEN_ADDRESS_FAILURES: must be a whole number, 0 or more (0: no limit); got "-1"',
    ]);
    expect(problems({ ROSTER_TOKEN_CLIENT_WINDOW_SECONDS: '0' })[0]).toMatch(
      /^ROSTER_TOKEN_CLIENT_WINDOW_SECONDS: must be a whole number from 1 to 86400/,
    );
    expect(problems({ ROSTER_TRUST_PROXY_HOPS: 'yes' })[0]).toMatch(
      /^ROSTER_TRUST_PROXY_HOPS: must be a whole number from 0 to 10/,
    );
  });

  it('reads the sign-in page limits', () => {
    expect(loadConfig({}).signInLimits).toEqual({
      perAddress: { failures: 30, windowSeconds: 900 },
      perClient: { failures: 300, windowSeconds: 300 },
    });
    const config = loadConfig({
      ROSTER_SIGNIN_ADDRESS_FAILURES: '10',
      ROSTER_SIGNIN_ADDRESS_WINDOW_SECONDS: '600',
      ROSTER_SIGNIN_CLIENT_FAILURES: '0',
      ROSTER_SIGNIN_CLIENT_WINDOW_SECONDS: '60',
    });
    expect(config.signInLimits).toEqual({
      perAddress: { failures: 10, windowSeconds: 600 },
      perClient: { failures: 0, windowSeconds: 60 },
    });
    expect(problems({ ROSTER_SIGNIN_CLIENT_FAILURES: '-1' })).toEqual([
      'ROSTER_SIGNIN_CLIENT_FAILURES: must be a whole number, 0 or more (0: no limit); got "-1"',
    ]);
  });

  it('says for every setting which values it accepts, in a message naming the variable', () => {
    const bad: Record<string, string> = {
      NODE_ENV: 'staging',
      PORT: '80.5',
      DATABASE_URL: 'mysql://x',
      ROSTER_SECRET_KEY: 'short',
      ROSTER_PUBLIC_URL: 'ftp://example.com',
      ROSTER_MIGRATE_ON_START: 'maybe',
      ROSTER_BOOTSTRAP_CLIENT_ID: 'has spaces',
      ROSTER_BOOTSTRAP_CLIENT_SECRET: 'x'.repeat(300),
      LOG_LEVEL: 'LOUD',
      ROSTER_SHUTDOWN_TIMEOUT_MS: '-1',
      ROSTER_STATEMENT_TIMEOUT_MS: 'soon',
      ROSTER_TOKEN_ADDRESS_FAILURES: '1e400',
      ROSTER_TOKEN_ADDRESS_WINDOW_SECONDS: '86401',
      ROSTER_TOKEN_CLIENT_FAILURES: 'many',
      ROSTER_TOKEN_CLIENT_WINDOW_SECONDS: '0',
      ROSTER_SIGNIN_ADDRESS_FAILURES: '2.5',
      ROSTER_SIGNIN_ADDRESS_WINDOW_SECONDS: 'x',
      ROSTER_SIGNIN_CLIENT_FAILURES: '-5',
      ROSTER_SIGNIN_CLIENT_WINDOW_SECONDS: '100000',
      ROSTER_TRUST_PROXY_HOPS: '11',
      ROSTER_METRICS_TOKEN: 'short',
      ROSTER_EXPLORER: 'on',
      ROSTER_CONSOLE: 'off',
      ROSTER_CORS_ORIGINS: 'https://console.example.com/',
      ROSTER_SMTP_URL: 'http://mail.example.com',
    };
    // Every setting that can be wrong is listed (HOST and ROSTER_DATA_DIR take any text).
    expect(Object.keys(bad).sort()).toEqual(
      SETTING_NAMES.filter((name) => !['HOST', 'ROSTER_DATA_DIR'].includes(name)).sort(),
    );
    for (const [name, value] of Object.entries(bad)) {
      const found = problems({ [name]: value, ...(name.startsWith('ROSTER_BOOTSTRAP') ? BOOTSTRAP_PAIR(name) : {}) });
      expect(found, name).toHaveLength(1);
      // An origin list names the entry that is wrong first.
      expect(found[0], name).toMatch(new RegExp(`^${name}: (must|is|"[^"]*" is) `));
      // Zod's own wording ("Invalid input: expected number, received NaN") says nothing a user can act on.
      expect(found[0], name).not.toMatch(/invalid|expected|too (small|big)|received/i);
    }
  });

  it('documents every setting in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Token endpoint limits'));
    const documented = [...section.matchAll(/^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|/gm)].flatMap((match) =>
      [...match[1]!.matchAll(/`([A-Z_]+)`/g)].map((name) => name[1]!),
    );
    expect(documented.sort()).toEqual([...SETTING_NAMES].sort());
  });

  it('reads ROSTER_SMTP_URL, unset by default (emails then stay in the outbox)', () => {
    expect(loadConfig({}).smtpUrl).toBeUndefined();
    expect(loadConfig({ ROSTER_SMTP_URL: 'smtp://user:pass@127.0.0.1:2525' }).smtpUrl).toBe(
      'smtp://user:pass@127.0.0.1:2525',
    );
    expect(loadConfig({ ROSTER_SMTP_URL: 'smtps://mail.example.com' }).smtpUrl).toBe('smtps://mail.example.com');
    // The URL may hold a password: it is never echoed.
    const found = problems({ ROSTER_SMTP_URL: 'mail.example.com:25' });
    expect(found).toEqual([
      'ROSTER_SMTP_URL: must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587',
    ]);
  });

  it('takes an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '', LOG_LEVEL: '', ROSTER_MIGRATE_ON_START: '' })).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      logLevel: 'info',
      migrateOnStart: true,
    });
  });

  it('serves the explorer outside production, and in production only with ROSTER_EXPLORER=true', () => {
    const production = { NODE_ENV: 'production', ROSTER_SECRET_KEY: 'k'.repeat(32) };
    expect(loadConfig({}).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).explorer).toBe(true);
    expect(loadConfig({ ROSTER_EXPLORER: 'false' }).explorer).toBe(false);
    expect(loadConfig(production).explorer).toBe(false);
    expect(loadConfig({ ...production, ROSTER_EXPLORER: '' }).explorer).toBe(false);
    expect(loadConfig({ ...production, ROSTER_EXPLORER: 'true' }).explorer).toBe(true);
    expect(problems({ ROSTER_EXPLORER: 'on' })).toEqual([
      'ROSTER_EXPLORER: must be one of true, false, 1, 0, yes, no; got "on"',
    ]);
  });

  it('serves the console unless ROSTER_CONSOLE=false, in production too', () => {
    const production = { NODE_ENV: 'production', ROSTER_SECRET_KEY: 'k'.repeat(32) };
    expect(loadConfig({}).console).toBe(true);
    expect(loadConfig(production).console).toBe(true);
    expect(loadConfig({ ROSTER_CONSOLE: '' }).console).toBe(true);
    expect(loadConfig({ ROSTER_CONSOLE: 'false' }).console).toBe(false);
    expect(loadConfig({ ROSTER_CONSOLE: '0' }).console).toBe(false);
    expect(problems({ ROSTER_CONSOLE: 'off' })).toEqual([
      'ROSTER_CONSOLE: must be one of true, false, 1, 0, yes, no; got "off"',
    ]);
  });

  it('reads ROSTER_CORS_ORIGINS as a list of exact origins, none by default', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ ROSTER_CORS_ORIGINS: '' }).corsOrigins).toEqual([]);
    expect(
      loadConfig({
        ROSTER_CORS_ORIGINS: ' https://console.example.com, http://localhost:5173,,https://console.example.com ',
      }).corsOrigins,
    ).toEqual(['https://console.example.com', 'http://localhost:5173']);
  });

  it('names each entry of ROSTER_CORS_ORIGINS that is not an exact origin', () => {
    const only = (value: string) => problems({ ROSTER_CORS_ORIGINS: value }).map((p) => p.replace(/; got .*$/, ''));
    expect(only('*')).toEqual(['ROSTER_CORS_ORIGINS: a wildcard is not allowed: list each origin']);
    expect(only('https://console.example.com/')).toEqual([
      'ROSTER_CORS_ORIGINS: "https://console.example.com/" is not an exact origin: write "https://console.example.com" (scheme, host and port only, as browsers send it)',
    ]);
    expect(only('https://Console.example.com:443')[0]).toMatch(/write "https:\/\/console\.example\.com"/);
    expect(only('https://console.example.com/app')[0]).toMatch(/is not an exact origin/);
    expect(only('console.example.com')).toEqual([
      'ROSTER_CORS_ORIGINS: "console.example.com" is not an origin such as https://app.example.com',
    ]);
    expect(only('null')[0]).toMatch(/"null" is not an origin/);
    expect(only('ftp://files.example.com')).toEqual([
      'ROSTER_CORS_ORIGINS: "ftp://files.example.com" must be an http or https origin',
    ]);
    expect(only('https://ok.example.com, *, https://bad.example.com/')).toHaveLength(2);
    expect(problems({ ROSTER_CORS_ORIGINS: '*' })[0]).toMatch(/; got "\*"$/);
  });

  it('reports every problem at once', () => {
    expect(problems({ PORT: '-1', LOG_LEVEL: 'x', DATABASE_URL: 'nope' })).toHaveLength(3);
  });
});
