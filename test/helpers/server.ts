import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createServerAdapter } from '@whatwg-node/server';
import type { Logger } from 'pino';
import { createAdminClient } from '../../src/identity/bootstrap.ts';
import { SigningKeys } from '../../src/auth/keys.ts';
import { deriveKey } from '../../src/auth/secret.ts';
import { DEFAULT_SIGN_IN_LIMITS, type SignInLimitSettings, type TokenLimitSettings } from '../../src/config.ts';
import { AddressClientLimits, rateLimitStoreOf } from '../../src/auth/rate-limit.ts';
import type { Database } from '../../src/db/client.ts';
import { createLogger } from '../../src/logger.ts';
import { GrantsCache } from '../../src/auth/grants-cache.ts';
import { ClientApplications } from '../../src/modules/applications/applications.credentials.ts';
import { RealmProviders } from '../../src/identity/provider.ts';
import { createApp, createHttpServer } from '../../src/server.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { documentText } from './documents.ts';

export interface Credentials {
  realmId: string;
  realmName: string;
  clientId: string;
  clientSecret: string;
}

export interface GraphQLResult<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  headers: Headers;
}

/** A document's variables (optional when it has no required ones), then the bearer token (default: admin's; null: none). */
type RequestArguments<V> =
  Record<string, never> extends V ? [variables?: V, token?: string | null] : [variables: V, token?: string | null];

export interface TestServer {
  url: string;
  db: Database;
  /** The URL of the test's own PostgreSQL database; undefined for the embedded database. */
  databaseUrl: string | undefined;
  keys: SigningKeys;
  /** The key second-factor secrets are sealed with (as the server derives it, `roster/mfa`). */
  mfaKey: Buffer;
  /** The key passkey challenges are signed with (as the server derives it, `roster/passkeys`). */
  passkeyKey: Buffer;
  /** The key outbox messages' bodies are sealed with (as the server derives it, `roster/outbox`). */
  outboxKey: Buffer;
  /** The realms' OpenID providers this server uses. */
  providers: RealmProviders;
  /** Admin credentials of realm `default` (holding every management scope). */
  admin: Credentials;
  /** Creates another realm with its own admin client. */
  createRealm(name: string): Promise<Credentials>;
  /** The realm's issuer, `{url}/oauth2/{realm name}` (default: realm `default`). */
  issuer(credentials?: Pick<Credentials, 'realmName'>): string;
  /** POSTs to the real token endpoint and returns the access token (throws on error). */
  token(credentials?: Credentials, scope?: string): Promise<string>;
  /**
   * POSTs a GraphQL request to /graphql: a typed document from graphql() (test/helpers/documents.ts),
   * whose variables and result are checked against the schema, or the text of a document built at
   * run time.
   */
  graphql<R, V>(document: TypedDocumentNode<R, V>, ...request: RequestArguments<NoInfer<V>>): Promise<GraphQLResult<R>>;
  graphql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GraphQLResult<T>>;
  close(): Promise<void>;
}

const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

/** A real Roster HTTP server on a random loopback port over a fresh database. */
export async function startTestServer(
  options: {
    mode?: 'development' | 'production' | 'test';
    /** Default: silent. */
    log?: Logger;
    /** The database's statement timeout; none by default. */
    statementTimeoutMs?: number;
    tokenLimits?: TokenLimitSettings;
    /** The hosted sign-in page's failure limits; default `DEFAULT_SIGN_IN_LIMITS`. */
    signInLimits?: SignInLimitSettings;
    trustProxyHops?: number;
    denialAuditLimit?: { failures: number; windowSeconds: number };
    /**
     * Serve this database (as a second API process would; it stays open on close) instead of
     * a fresh one. Realm `default` gets another admin client.
     */
    database?: TestDatabase;
    /** How many realms' providers the server keeps (default: the server's default). */
    maxProviders?: number;
    /** The bearer token `/metrics` requires (default: none, loopback callers only). */
    metricsToken?: string;
    /** Serve the explorer (default off, as in test mode). */
    explorer?: boolean;
    /** Serve the admin console at `/console` (default off). */
    console?: boolean;
    /** `ROSTER_CORS_ORIGINS` (default none). */
    corsOrigins?: string[];
    /**
     * The host name of the public URL (default `127.0.0.1`; the server listens there either way).
     * `localhost` for WebAuthn in a browser, which refuses an IP address as relying party ID.
     */
    publicHost?: string;
  } = {},
): Promise<TestServer> {
  const database = options.database
    ? { ...options.database, dispose: async () => {} }
    : await createTestDatabase({ statementTimeoutMs: options.statementTimeoutMs ?? 0, reusable: true });
  const db = database.db;
  const keys = new SigningKeys(db.prisma, deriveKey(TEST_SECRET, 'roster/signing-keys'));
  let baseUrl = '';
  const log = options.log ?? createLogger('silent');
  const cookieKey = deriveKey(TEST_SECRET, 'roster/cookies');
  const mfaKey = deriveKey(TEST_SECRET, 'roster/mfa');
  const passkeyKey = deriveKey(TEST_SECRET, 'roster/passkeys');
  const outboxKey = deriveKey(TEST_SECRET, 'roster/outbox');
  const providers = new RealmProviders({
    prisma: db.prisma,
    keys,
    cookieKey,
    mfaKey,
    passkeyKey,
    outboxKey,
    signInLimits: new AddressClientLimits(
      rateLimitStoreOf(db),
      'signin',
      options.signInLimits ?? DEFAULT_SIGN_IN_LIMITS,
    ),
    grants: new GrantsCache(db.grantChanges),
    clients: new ClientApplications(db.prisma, db.grantChanges),
    log,
    ...(options.maxProviders !== undefined ? { maxProviders: options.maxProviders } : {}),
  });
  const app = createApp({
    db,
    keys,
    cookieKey,
    mfaKey,
    passkeyKey,
    cursorKey: deriveKey(TEST_SECRET, 'roster/cursors'),
    outboxKey,
    log,
    providers,
    mode: options.mode ?? 'test',
    baseUrl: () => baseUrl,
    ...(options.tokenLimits ? { tokenLimits: options.tokenLimits } : {}),
    ...(options.trustProxyHops !== undefined ? { trustProxyHops: options.trustProxyHops } : {}),
    ...(options.denialAuditLimit ? { denialAuditLimit: options.denialAuditLimit } : {}),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(options.explorer !== undefined ? { explorer: options.explorer } : {}),
    ...(options.console !== undefined ? { console: options.console } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
  });
  // Grants are cached only once other processes' changes are followed: from the first request.
  await db.grantChanges.ready();
  const server: Server = createHttpServer(
    createServerAdapter<{ req: IncomingMessage }>((request, context) => app(request, context)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://${options.publicHost ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;

  const createRealm = async (name: string): Promise<Credentials> => {
    const result = await createAdminClient(db.prisma, { realmName: name });
    // Its signing key now rather than on its first token, which a test may request inside a
    // check that nothing changed.
    await keys.signingKey(result.realmId);
    return {
      realmId: result.realmId,
      realmName: result.realmName,
      clientId: result.clientId,
      clientSecret: result.clientSecret!,
    };
  };
  const admin = await createRealm('default');

  const token = async (credentials: Credentials = admin, scope?: string) => {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) body.set('scope', scope);
    const response = await fetch(`${baseUrl}/oauth2/${credentials.realmName}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    });
    const json = (await response.json()) as { access_token?: string; error?: string };
    if (!response.ok || !json.access_token)
      throw new Error(`token request failed: ${response.status} ${JSON.stringify(json)}`);
    return json.access_token;
  };

  let adminToken: string | undefined;
  const graphql = async <T>(
    document: string | TypedDocumentNode<T, never>,
    variables?: unknown,
    bearer?: string | null,
  ): Promise<GraphQLResult<T>> => {
    const query = typeof document === 'string' ? document : documentText(document);
    const auth = bearer === undefined ? (adminToken ??= await token()) : bearer;
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const json = (await response.json()) as Omit<GraphQLResult<T>, 'status' | 'headers'>;
    return { status: response.status, headers: response.headers, ...json };
  };

  return {
    url: baseUrl,
    db,
    databaseUrl: database.databaseUrl,
    keys,
    mfaKey,
    passkeyKey,
    outboxKey,
    providers,
    admin,
    createRealm,
    issuer: (credentials = admin) => `${baseUrl}/oauth2/${credentials.realmName}`,
    token,
    graphql,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.dispose();
    },
  };
}
