import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import type { Logger } from 'pino';
import { DEFAULT_SIGN_IN_LIMITS, type Config, type SignInLimitSettings, type TokenLimitSettings } from './config.ts';
import { keepWebhookSubscriptions, newRequestId, type Principal } from './context.ts';
import { openDatabase, type Database } from './db/client.ts';
import { embeddedExists, IN_MEMORY } from './db/embedded.ts';
import { isQueryCanceled, runInRequest } from './db/request-scope.ts';
import { migrate, migrateInChildProcess, migrationStatus } from './db/migrator.ts';
import { bootstrapOnStart, type BootstrapResult } from './identity/bootstrap.ts';
import { SigningKeys } from './auth/keys.ts';
import { handleOAuthRequest, oauthRoute, TokenEndpointLimits } from './identity/token-endpoint.ts';
import { Metrics } from './metrics.ts';
import { RealmProviders } from './identity/provider.ts';
import { AddressClientLimits, FailureLimit, rateLimitStoreOf } from './auth/rate-limit.ts';
import { DENIAL_AUDIT_LIMIT } from './modules/audit/audit.denials.ts';
import { deriveKey, resolveServerSecret } from './auth/secret.ts';
import { GrantsCache } from './auth/grants-cache.ts';
import { WebhookSubscribers } from './modules/webhooks/webhooks.subscribers.ts';
import { RealmCache } from './modules/realm/realm.cache.ts';
import { VerifiedTokens } from './auth/token-cache.ts';
import { InvalidTokenError } from './auth/tokens.ts';
import { ClientApplications, grantedManagementScopes } from './modules/applications/applications.credentials.ts';
import { personManagementScopes } from './modules/users/users.callers.ts';
import { schema } from './graphql/schema.ts';
import type { GraphQLInputObjectType } from 'graphql';
import { handleExportRequest } from './modules/users/users.export.route.ts';
import { listen } from './listen.ts';
import { createLogger } from './logger.ts';
import { createRosterYoga } from './yoga.ts';
import { CorsPolicy } from './cors.ts';
import { createExplorer } from './explorer/explorer.ts';
import { consoleDocuments, createConsole } from './console/console.ts';
import { OutboxWorker } from './modules/outbox/outbox.worker.ts';
import { OutboxConsole } from './modules/outbox/outbox.console.ts';
import { defaultSender, smtpTransport } from './modules/mail/mail.transport.ts';

export interface AppDeps {
  db: Database;
  keys: SigningKeys;
  /** Derived from the server secret: signs the OpenID providers' cookies and the sign-in forms. */
  cookieKey: Buffer;
  /** Derived from the server secret (`roster/mfa`); seals second-factor secrets. */
  mfaKey: Buffer;
  /** Derived from the server secret (`roster/passkeys`); signs passkey challenges. */
  passkeyKey: Buffer;
  /** Derived from the server secret (`roster/cursors`); seals list cursors. */
  cursorKey: Buffer;
  /** Derived from the server secret (`roster/outbox`); seals outbox messages' bodies. */
  outboxKey: Buffer;
  log: Logger;
  mode: Config['env'];
  /** Base URL clients reach this server at; known once the server listens. */
  baseUrl: () => string;
  /** Failed client authentications the token endpoint allows; default `DEFAULT_TOKEN_LIMITS`. */
  tokenLimits?: TokenLimitSettings;
  /** Failed sign-ins the hosted sign-in page allows, for the default providers; default `DEFAULT_SIGN_IN_LIMITS`. */
  signInLimits?: SignInLimitSettings;
  /** How many reverse proxies in front of Roster to trust for `X-Forwarded-For`; default 0 (none). */
  trustProxyHops?: number;
  /** Denial audit rows per caller and window; default `DENIAL_AUDIT_LIMIT`, 0 failures: no limit. */
  denialAuditLimit?: { failures: number; windowSeconds: number };
  /** The realms' OpenID providers; default: a cache of its own. */
  providers?: RealmProviders;
  /** Bearer token `/metrics` requires (`ROSTER_METRICS_TOKEN`); without one, loopback callers only. */
  metricsToken?: string | undefined;
  /** Serve the explorer (GraphiQL and its sign-in helper) at `GET /graphql`; default off. */
  explorer?: boolean;
  /** Serve the admin console at `/console`; default off. */
  console?: boolean;
  /** Origins whose pages may call `/graphql` and `/schema.graphql` from a browser; default none. */
  corsOrigins?: string[];
}

export type FetchHandler = (request: Request, context?: { req?: IncomingMessage }) => Promise<Response>;

/**
 * Verifies a bearer token and builds the principal: the token's scopes its caller still holds.
 * Both steps are cached (a token verified before; what a caller held at its realm's current
 * grants version), so a token seen before costs no verification and no statement until a grant
 * of its realm changes.
 */
function authenticator(deps: Pick<AppDeps, 'db' | 'keys' | 'baseUrl'>, grants: GrantsCache) {
  const tokens = new VerifiedTokens(deps.keys);
  return async (token: string): Promise<Principal> => {
    const claims = await tokens.verify(token, deps.baseUrl());
    const { realmId, applicationId, person } = claims;
    const held = person
      ? await grants.held(realmId, `person/${person.userId}/${person.sessionId}/${applicationId}`, () =>
          personManagementScopes(deps.db.prisma, realmId, { ...person, applicationId }),
        )
      : await grants.held(realmId, `application/${applicationId}`, async () => {
          const scopes = await grantedManagementScopes(deps.db.prisma, realmId, applicationId);
          return scopes && { scopes };
        });
    if (!held) {
      throw new InvalidTokenError(
        person
          ? 'The session of this access token has ended, its user can no longer sign in, or its application is disabled.'
          : 'The application of this access token no longer exists or is disabled.',
      );
    }
    const heldSet = new Set(held);
    return {
      ...(person ? { person } : {}),
      realmId,
      clientId: claims.clientId,
      applicationId,
      scopes: new Set(claims.scopes.filter((scope) => heldSet.has(scope))),
    };
  };
}

/** Routes every HTTP path of Roster; a fetch-API handler, usable with or without a listening server. */
export function createApp(deps: AppDeps): FetchHandler {
  // Until following other processes' grant changes has started, nothing is cached.
  void deps.db.grantChanges.ready();
  const store = rateLimitStoreOf(deps.db);
  const grants = new GrantsCache(deps.db.grantChanges);
  keepWebhookSubscriptions(deps.db.prisma, new WebhookSubscribers(deps.db.grantChanges.webhooks));
  const clients = new ClientApplications(deps.db.prisma, deps.db.grantChanges);
  const providers =
    deps.providers ??
    new RealmProviders({
      prisma: deps.db.prisma,
      keys: deps.keys,
      cookieKey: deps.cookieKey,
      mfaKey: deps.mfaKey,
      passkeyKey: deps.passkeyKey,
      outboxKey: deps.outboxKey,
      signInLimits: new AddressClientLimits(store, 'signin', deps.signInLimits ?? DEFAULT_SIGN_IN_LIMITS),
      grants,
      clients,
      log: deps.log,
    });
  const db = deps.db;
  const metrics = new Metrics({
    pool: () => (db.kind === 'postgres' ? db.pool : undefined),
    providers: () => providers.size,
  });
  const authenticate = authenticator(deps, grants);
  const denialLimit = new FailureLimit(store, {
    name: 'denial-audit',
    ...(deps.denialAuditLimit ?? DENIAL_AUDIT_LIMIT),
  });
  const exportDeps = {
    prisma: deps.db.prisma,
    authenticate,
    denialLimit,
    userFilterType: schema.getType('UserFilter') as GraphQLInputObjectType,
    log: deps.log,
  };
  const yoga = createRosterYoga({
    schema,
    prisma: deps.db.prisma,
    authenticate,
    mode: deps.mode,
    log: deps.log,
    denialLimit,
    metrics,
    cursorKey: deps.cursorKey,
    outboxKey: deps.outboxKey,
    baseUrl: deps.baseUrl,
    consoleDocuments: consoleDocuments(),
  });
  const cors = new CorsPolicy(deps.corsOrigins ?? []);
  // The admin-client form of the explorer's sign-in helper is for development only.
  const explorerSignIn = Boolean(deps.explorer) && deps.mode !== 'production';
  const explorer = deps.explorer ? createExplorer({ clientSignIn: explorerSignIn }) : null;
  const adminConsole = deps.console ? createConsole({ prisma: deps.db.prisma, baseUrl: deps.baseUrl }) : null;
  const oauthDeps = {
    ownPageClientAuthentication: explorerSignIn,
    prisma: deps.db.prisma,
    keys: deps.keys,
    baseUrl: deps.baseUrl,
    log: deps.log,
    limits: new TokenEndpointLimits(store, deps.tokenLimits),
    realms: new RealmCache(deps.db.prisma, deps.db.grantChanges),
    clients,
    metrics,
    providers,
  };

  return async (request, context) => {
    const url = new URL(request.url);
    const requestId = newRequestId(request.headers.get('x-request-id'));
    const log = deps.log.child({ requestId });
    const started = performance.now();
    let response: Response;
    try {
      const address = clientAddress(request, context?.req?.socket.remoteAddress, deps.trustProxyHops ?? 0);
      response = await runInRequest({ signal: request.signal }, () =>
        route(request, url, requestId, log, address, context?.req?.socket.remoteAddress),
      );
    } catch (error) {
      if (request.signal.aborted) {
        // Nobody reads this response; the disconnect is logged below.
      } else if (isQueryCanceled(error)) {
        log.warn({ code: 'TIMEOUT' }, 'a statement exceeded the statement timeout');
      } else {
        log.error({ err: error }, 'request failed');
      }
      response = isQueryCanceled(error)
        ? Response.json(
            {
              error: 'temporarily_unavailable',
              error_description: 'The database did not answer in time; retry later.',
            },
            { status: 503 },
          )
        : Response.json({ error: 'server_error', error_description: 'Unexpected error.' }, { status: 500 });
    }
    response.headers.set('x-request-id', requestId);
    metrics.httpAnswered(routeOf(url.pathname), response.status, (performance.now() - started) / 1000);
    if (request.signal.aborted) {
      log.debug(
        { method: request.method, path: url.pathname, ms: Math.round(performance.now() - started) },
        'client disconnected',
      );
      return response;
    }
    log.info(
      {
        method: request.method,
        path: url.pathname,
        status: response.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
    return response;
  };

  async function route(
    request: Request,
    url: URL,
    requestId: string,
    log: Logger,
    ipAddress: string | undefined,
    socketAddress: string | undefined,
  ) {
    const page = explorer && (await explorer(request, url));
    if (page) return page;
    const consolePage = adminConsole && (await adminConsole(request, url));
    if (consolePage) return consolePage;
    if (url.pathname === '/graphql' || url.pathname === '/schema.graphql') {
      return cors.preflight(request) ?? cors.apply(request, await yoga.fetch(request, { requestId, log, ipAddress }));
    }
    if (url.pathname === '/healthz') return Response.json({ status: 'ok' });
    if (url.pathname === '/metrics') return metrics.respond(request, socketAddress, deps.metricsToken);
    if (url.pathname === '/readyz') return readiness(deps.db, log);
    const exported = await handleExportRequest(request, url, exportDeps, { requestId, ipAddress });
    if (exported) return exported;
    const oauth = await handleOAuthRequest(request, url, oauthDeps, ipAddress);
    if (oauth) return oauth;
    return Response.json({ error: 'not_found' }, { status: 404 });
  }
}

const FIXED_ROUTES = new Set(['/graphql', '/schema.graphql', '/healthz', '/readyz', '/metrics']);

/** A path's route template, for metrics: never the raw path, which any caller chooses. */
function routeOf(pathname: string): string {
  if (FIXED_ROUTES.has(pathname)) return pathname;
  if (pathname.startsWith('/explorer/')) return '/explorer/{file}';
  if (pathname.startsWith('/console/assets/')) return '/console/assets/{file}';
  if (pathname.startsWith('/console/realms/')) return '/console/realms/{realm}';
  if (pathname === '/console' || pathname.startsWith('/console/')) return '/console/{page}';
  if (/^\/export\/[^/]+\/users$/.test(pathname)) return '/export/{realm}/users';
  return oauthRoute(pathname) ?? '(other)';
}

/**
 * The caller's address: the socket's, or with `trustProxyHops` = n, the address the n-th proxy
 * (counting from Roster) appended to `X-Forwarded-For`. Without trusted proxies the header is
 * ignored, since any client can send it.
 */
function clientAddress(
  request: Request,
  socketAddress: string | undefined,
  trustProxyHops: number,
): string | undefined {
  if (trustProxyHops <= 0) return socketAddress;
  const forwarded = (request.headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const chain = [socketAddress, ...forwarded.reverse()];
  return chain[Math.min(trustProxyHops, chain.length - 1)];
}

async function readiness(db: Database, log: Logger): Promise<Response> {
  try {
    await db.ping();
    const status = await migrationStatus(db);
    if (!status.current) {
      return Response.json({ status: 'migrations pending', pending: status.pending }, { status: 503 });
    }
    return Response.json({ status: 'ready' });
  } catch (error) {
    log.warn({ err: error }, 'readiness check failed');
    return Response.json({ status: 'database unreachable' }, { status: 503 });
  }
}

/**
 * Opens the database and, unless `migrateOnStart` is off, applies pending migrations. An
 * embedded database on disk is created and migrated in a child process (see
 * `migrateInChildProcess`), which keeps what that leaves behind out of the server's memory.
 */
async function openMigratedDatabase(config: Config, log: Logger): Promise<Database> {
  const options = {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    statementTimeoutMs: config.statementTimeoutMs,
    onConnectionError: (error: Error) => log.warn({ err: error }, 'a database connection failed'),
  };
  if (!config.migrateOnStart || config.databaseUrl || config.dataDir.startsWith(IN_MEMORY)) {
    const db = await openDatabase(options);
    try {
      if (config.migrateOnStart) {
        const applied = await migrate(db);
        if (applied.length) log.info({ applied }, 'migrations applied');
      } else {
        const status = await migrationStatus(db);
        if (!status.current) log.warn({ pending: status.pending }, 'migrations pending; /readyz reports not ready');
      }
      return db;
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  if (await embeddedExists(config.dataDir)) {
    const db = await openDatabase(options);
    const status = await migrationStatus(db).catch(async (error: unknown) => {
      await db.close();
      throw error;
    });
    if (status.current) return db;
    await db.close();
  }
  const applied = await migrateInChildProcess(config.dataDir, {
    onCrash: (signal) =>
      log.warn({ signal }, 'the process creating and migrating the database crashed; starting it again'),
  });
  if (applied.length) log.info({ applied }, 'migrations applied');
  return openDatabase(options);
}

export interface RosterServer {
  url: string;
  db: Database;
  log: Logger;
  bootstrap: BootstrapResult | null;
  /** Stops accepting connections, lets in-flight requests finish (up to the timeout), closes the database. */
  close(): Promise<void>;
}

/** Answers while the database is opened and migrated: alive, not ready. */
const starting: FetchHandler = async (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === '/healthz') return Response.json({ status: 'ok' });
  const headers = { 'retry-after': '1' };
  if (pathname === '/readyz') return Response.json({ status: 'starting' }, { status: 503, headers });
  return Response.json(
    { error: 'temporarily_unavailable', error_description: 'Roster is starting; retry in a moment.' },
    { status: 503, headers },
  );
};

export interface StartOptions {
  /**
   * Called as soon as the admin client of a new database is created, before anything else can
   * fail: its secret exists nowhere else.
   */
  onBootstrap?: (result: BootstrapResult, baseUrl: string) => void;
  /** Without `ROSTER_SMTP_URL`: where to print each pending email (once), e.g. the console in development. */
  printPendingEmail?: (text: string) => void;
}

/**
 * The HTTP server for `listener`. Idle connections stay open 65 s, longer than load balancers
 * keep theirs (60 s is common), so the server never closes one that a proxy or a client is about
 * to reuse (a reset, or a 502); Node's default is 5 s.
 */
export function createHttpServer(listener: RequestListener): Server {
  const server = createServer(listener);
  server.keepAliveTimeout = 65_000;
  return server;
}

/**
 * Listens first, so that a port in use fails before anything is created; then opens the
 * database, applies migrations, bootstraps an empty database and starts serving.
 */
export async function startServer(
  config: Config,
  log: Logger = createLogger(config.logLevel),
  options: StartOptions = {},
): Promise<RosterServer> {
  let handler = starting;
  const adapter = createServerAdapter<{ req: IncomingMessage }>((request, context) => handler(request, context));
  const server = createHttpServer(adapter);
  await listen(server, config.host, config.port);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const listening = `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${address.port}`;
  const baseUrl = config.publicUrl ?? listening;
  const stopListening = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  let db: Database;
  let secret: string;
  try {
    secret = await resolveServerSecret(config.secretKey, config.dataDir);
    db = await openMigratedDatabase(config, log);
  } catch (error) {
    await stopListening();
    throw error;
  }
  try {
    const bootstrap = await bootstrapOnStart(db.prisma, config.bootstrapClient);
    if (bootstrap) options.onBootstrap?.(bootstrap, baseUrl);
    if (!(await db.grantChanges.ready())) {
      log.warn('cannot listen for grant changes yet; callers are checked without cache until it can');
    }
    const keys = new SigningKeys(db.prisma, deriveKey(secret, 'roster/signing-keys'));
    const outboxKey = deriveKey(secret, 'roster/outbox');
    handler = createApp({
      db,
      keys,
      cookieKey: deriveKey(secret, 'roster/cookies'),
      mfaKey: deriveKey(secret, 'roster/mfa'),
      passkeyKey: deriveKey(secret, 'roster/passkeys'),
      cursorKey: deriveKey(secret, 'roster/cursors'),
      outboxKey,
      log,
      mode: config.env,
      baseUrl: () => baseUrl,
      tokenLimits: config.tokenLimits,
      signInLimits: config.signInLimits,
      trustProxyHops: config.trustProxyHops,
      metricsToken: config.metricsToken,
      explorer: config.explorer,
      console: config.console,
      corsOrigins: config.corsOrigins,
    });
    const running = db;
    const sender = defaultSender(baseUrl);
    const print = options.printPendingEmail;
    // Without an SMTP server the worker still delivers webhooks; emails stay pending.
    const outbox = new OutboxWorker({
      prisma: db.prisma,
      key: outboxKey,
      email: config.smtpUrl ? smtpTransport(config.smtpUrl, sender) : null,
      allowPrivateTargets: config.env !== 'production',
      log,
    });
    const pendingEmails =
      !config.smtpUrl && print
        ? new OutboxConsole({ prisma: db.prisma, key: outboxKey, defaultFrom: sender, print, log })
        : null;
    if (!config.smtpUrl) log.info('no ROSTER_SMTP_URL: emails stay pending in the outbox (`roster outbox` lists them)');
    outbox.start();
    pendingEmails?.start();
    return {
      url: listening,
      db,
      log,
      bootstrap,
      close: async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        await closed;
        clearTimeout(timer);
        await pendingEmails?.stop();
        await outbox.stop();
        await running.close();
      },
    };
  } catch (error) {
    await stopListening();
    await db.close();
    throw error;
  }
}
