import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be one of true, false, 1, 0, yes, no' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Failed client authentications allowed at the token endpoint (README, "Token endpoint limits"). */
export interface TokenLimitSettings {
  /** Per source address, across all client ids: strict, since one address guessing is the common attack. */
  perAddress: { failures: number; windowSeconds: number };
  /**
   * Per client id, across all addresses: generous and short, because an attacker can use it to
   * lock a client out (the right secret is refused too while its limit is reached).
   */
  perClient: { failures: number; windowSeconds: number };
}

export const DEFAULT_TOKEN_LIMITS: TokenLimitSettings = {
  perAddress: { failures: 20, windowSeconds: 900 },
  perClient: { failures: 100, windowSeconds: 300 },
};

/**
 * Failed sign-ins (wrong password or second factor) allowed on the hosted sign-in page (README,
 * "Sign-in limits"): per source address, across accounts, against spraying from one source
 * (each account also locks on its own); per application, across addresses, generous and short
 * for the same reason as the token endpoint's.
 */
export type SignInLimitSettings = TokenLimitSettings;

export const DEFAULT_SIGN_IN_LIMITS: SignInLimitSettings = {
  perAddress: { failures: 30, windowSeconds: 900 },
  perClient: { failures: 300, windowSeconds: 300 },
};

/**
 * A whole number from `min` to `max` (no upper bound if omitted). Every failure gets the one
 * message that states what is accepted; `note` names the meaning of a value, e.g. "0: off".
 */
function wholeNumber(min: number, max?: number, note?: string) {
  const accepted =
    max === undefined ? `must be a whole number, ${min} or more` : `must be a whole number from ${min} to ${max}`;
  const message = note ? `${accepted} (${note})` : accepted;
  const number = z.coerce.number({ error: message }).int({ error: message }).min(min, { error: message });
  return max === undefined ? number : number.max(max, { error: message });
}

const count = wholeNumber(0, undefined, '0: no limit');
const windowSeconds = wholeNumber(1, 86_400);

/**
 * Why `entry` of `ROSTER_CORS_ORIGINS` is not an origin as browsers send it in `Origin`
 * (scheme, host and port, serialized), or undefined when it is one.
 */
function originProblem(entry: string): string | undefined {
  if (entry === '*') return 'a wildcard is not allowed: list each origin';
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `"${entry}" is not an origin such as https://app.example.com`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `"${entry}" must be an http or https origin`;
  if (url.origin !== entry) {
    return `"${entry}" is not an exact origin: write "${url.origin}" (scheme, host and port only, as browsers send it)`;
  }
  return undefined;
}

const originList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const origins = (value ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    for (const entry of origins) {
      const problem = originProblem(entry);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }
    return [...new Set(origins)];
  });

const configSchema = z
  .object({
    NODE_ENV: z
      .enum(['development', 'production', 'test'], {
        error: 'must be development, production or test',
      })
      .default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: wholeNumber(0, 65_535, '0: any free port').default(4000),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' }).optional(),
    ROSTER_DATA_DIR: z.string().default('.roster'),
    ROSTER_SECRET_KEY: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').optional(),
    ROSTER_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    ROSTER_MIGRATE_ON_START: booleanFromEnv.default(true),
    ROSTER_BOOTSTRAP_CLIENT_ID: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{8,128}$/, 'must be 8-128 characters of letters, digits and . _ ~ -')
      .optional(),
    ROSTER_BOOTSTRAP_CLIENT_SECRET: z
      .string()
      .min(32, 'must be 32-256 characters')
      .max(256, 'must be 32-256 characters')
      .optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    ROSTER_SHUTDOWN_TIMEOUT_MS: wholeNumber(0, undefined, 'milliseconds').default(10_000),
    ROSTER_STATEMENT_TIMEOUT_MS: wholeNumber(0, undefined, 'milliseconds; 0: no deadline').default(10_000),
    ROSTER_TOKEN_ADDRESS_FAILURES: count.default(DEFAULT_TOKEN_LIMITS.perAddress.failures),
    ROSTER_TOKEN_ADDRESS_WINDOW_SECONDS: windowSeconds.default(DEFAULT_TOKEN_LIMITS.perAddress.windowSeconds),
    ROSTER_TOKEN_CLIENT_FAILURES: count.default(DEFAULT_TOKEN_LIMITS.perClient.failures),
    ROSTER_TOKEN_CLIENT_WINDOW_SECONDS: windowSeconds.default(DEFAULT_TOKEN_LIMITS.perClient.windowSeconds),
    ROSTER_SIGNIN_ADDRESS_FAILURES: count.default(DEFAULT_SIGN_IN_LIMITS.perAddress.failures),
    ROSTER_SIGNIN_ADDRESS_WINDOW_SECONDS: windowSeconds.default(DEFAULT_SIGN_IN_LIMITS.perAddress.windowSeconds),
    ROSTER_SIGNIN_CLIENT_FAILURES: count.default(DEFAULT_SIGN_IN_LIMITS.perClient.failures),
    ROSTER_SIGNIN_CLIENT_WINDOW_SECONDS: windowSeconds.default(DEFAULT_SIGN_IN_LIMITS.perClient.windowSeconds),
    ROSTER_TRUST_PROXY_HOPS: wholeNumber(0, 10).default(0),
    ROSTER_METRICS_TOKEN: z
      .string()
      .min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)')
      .regex(/^\S+$/, 'must not contain spaces')
      .optional(),
    ROSTER_EXPLORER: booleanFromEnv.optional(),
    ROSTER_CONSOLE: booleanFromEnv.default(true),
    ROSTER_CORS_ORIGINS: originList,
    ROSTER_SMTP_URL: z
      .url({
        protocol: /^smtps?$/,
        error: 'must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587',
      })
      .optional(),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.ROSTER_BOOTSTRAP_CLIENT_ID) !== Boolean(env.ROSTER_BOOTSTRAP_CLIENT_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['ROSTER_BOOTSTRAP_CLIENT_SECRET'],
        message: 'ROSTER_BOOTSTRAP_CLIENT_ID and ROSTER_BOOTSTRAP_CLIENT_SECRET must be set together',
      });
    }
    if (env.NODE_ENV === 'production' && !env.ROSTER_SECRET_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['ROSTER_SECRET_KEY'],
        message: 'is required in production (it encrypts the signing keys)',
      });
    }
  });

type SettingName = keyof typeof configSchema.shape;

/** The environment variables Roster reads. */
export const SETTING_NAMES = Object.keys(configSchema.shape) as SettingName[];

/**
 * Reads one setting's value given another way (a command-line flag) by the rules of its
 * variable; throws a {@link ConfigError} naming `source` (e.g. `--port`) with the message the
 * variable would get.
 */
export function parseSetting<K extends SettingName>(
  name: K,
  value: string,
  source: string,
): z.output<(typeof configSchema.shape)[K]> {
  const parsed = configSchema.shape[name].safeParse(value);
  if (parsed.success) return parsed.data as z.output<(typeof configSchema.shape)[K]>;
  throw new ConfigError([`${source}: ${parsed.error.issues[0]?.message ?? 'is not accepted'}; got "${value}"`]);
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** PostgreSQL URL; undefined selects the embedded database. */
  databaseUrl: string | undefined;
  /** Absolute path of the embedded database and generated secret. */
  dataDir: string;
  /** Server secret; undefined means "generate one and keep it in the data dir". */
  secretKey: string | undefined;
  /** Base URL used in token issuers and metadata; defaults to http://host:port. */
  publicUrl: string | undefined;
  migrateOnStart: boolean;
  bootstrapClient: { clientId: string; clientSecret: string } | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownTimeoutMs: number;
  /** Deadline of each SQL statement the server sends (migrations excepted); 0 means none. */
  statementTimeoutMs: number;
  /** Failed client authentications the token endpoint allows per address and per client id. */
  tokenLimits: TokenLimitSettings;
  /** Failed sign-ins the hosted sign-in page allows per address and per application. */
  signInLimits: SignInLimitSettings;
  /** Reverse proxies in front of Roster whose `X-Forwarded-For` entries are trusted (0: none). */
  trustProxyHops: number;
  /** Bearer token `/metrics` requires; undefined: loopback callers only. */
  metricsToken: string | undefined;
  /** Serve the explorer (GraphiQL) at `GET /graphql`: on by default outside production. */
  explorer: boolean;
  /** Serve the admin console at `/console`: on by default. */
  console: boolean;
  /** Origins whose pages may call the API from a browser (CORS); none by default. */
  corsOrigins: string[];
  /** SMTP server the outbox delivers emails through; undefined: emails stay pending in the outbox. */
  smtpUrl: string | undefined;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(
      problems.length === 1
        ? `invalid setting ${problems[0]}`
        : `invalid settings:\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Reads and validates settings. The only reader of `process.env`. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Config> = {},
): Config {
  // An empty variable counts as unset: `PORT=` means the default port, not port 0.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = configSchema.safeParse(set);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join('.');
        const value = env[key];
        const shown = value === undefined || /SECRET|KEY|URL|METRICS_TOKEN/.test(key) ? '' : `; got "${value}"`;
        return `${key}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.ROSTER_DATA_DIR),
    secretKey: e.ROSTER_SECRET_KEY,
    publicUrl: e.ROSTER_PUBLIC_URL?.replace(/\/+$/, ''),
    migrateOnStart: e.ROSTER_MIGRATE_ON_START,
    bootstrapClient:
      e.ROSTER_BOOTSTRAP_CLIENT_ID && e.ROSTER_BOOTSTRAP_CLIENT_SECRET
        ? { clientId: e.ROSTER_BOOTSTRAP_CLIENT_ID, clientSecret: e.ROSTER_BOOTSTRAP_CLIENT_SECRET }
        : undefined,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.ROSTER_SHUTDOWN_TIMEOUT_MS,
    statementTimeoutMs: e.ROSTER_STATEMENT_TIMEOUT_MS,
    tokenLimits: {
      perAddress: { failures: e.ROSTER_TOKEN_ADDRESS_FAILURES, windowSeconds: e.ROSTER_TOKEN_ADDRESS_WINDOW_SECONDS },
      perClient: { failures: e.ROSTER_TOKEN_CLIENT_FAILURES, windowSeconds: e.ROSTER_TOKEN_CLIENT_WINDOW_SECONDS },
    },
    signInLimits: {
      perAddress: { failures: e.ROSTER_SIGNIN_ADDRESS_FAILURES, windowSeconds: e.ROSTER_SIGNIN_ADDRESS_WINDOW_SECONDS },
      perClient: { failures: e.ROSTER_SIGNIN_CLIENT_FAILURES, windowSeconds: e.ROSTER_SIGNIN_CLIENT_WINDOW_SECONDS },
    },
    trustProxyHops: e.ROSTER_TRUST_PROXY_HOPS,
    metricsToken: e.ROSTER_METRICS_TOKEN,
    explorer: e.ROSTER_EXPLORER ?? e.NODE_ENV !== 'production',
    console: e.ROSTER_CONSOLE,
    corsOrigins: e.ROSTER_CORS_ORIGINS,
    smtpUrl: e.ROSTER_SMTP_URL,
    ...overrides,
  };
}
