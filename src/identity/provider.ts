import type { AddressClientLimits } from '../auth/rate-limit.ts';
import type { GrantsCache } from '../auth/grants-cache.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHmac } from 'node:crypto';
import Provider, {
  errors,
  type ClientMetadata,
  type Configuration,
  type KoaContextWithOIDC,
  type ResourceServer,
} from 'oidc-provider';
import type { Logger } from 'pino';
import type { PrismaClient, Realm } from '../generated/prisma/client.ts';
import {
  authenticateClient,
  grantedResourceScopes,
  type ClientApplication,
  type ClientApplications,
} from '../modules/applications/applications.credentials.ts';
import { constantTimeEqual, randomToken, sha256 } from '../auth/crypto.ts';
import { SIGNING_ALGORITHM, type SigningKeys } from '../auth/keys.ts';
import { MANAGEMENT_API_INDICATOR } from '../auth/scopes.ts';
import { resourceScopeNames } from '../modules/resources/resources.service.ts';
import { personResourceScopes } from '../modules/users/users.callers.ts';
import { realmHasTenant, signInAccount, userClaims, type SignInSession } from '../modules/users/users.signin.ts';
import { PrismaOidcAdapter, RequestStorage, SweepClock } from './oidc-adapter.ts';
import { installSignInPages, providerViews } from './sign-in-pages.ts';
import { installLinkPages } from './link-pages.ts';
import { sessionTtls, signInPolicy, signInTokenSession } from './session-lifetimes.ts';
import { registerTokenExchange, TOKEN_EXCHANGE } from './token-exchange.ts';

/** What one request through a provider carries besides the HTTP request. */
interface Exchange {
  /**
   * The client the hardened endpoint already authenticated, with its secret's digest, or the
   * public client (no secret) it already looked up: the provider reads neither again.
   */
  verified?: { client: ClientApplication; secretDigest?: string; fromOwnPage?: boolean };
  /** An error the provider caught and answered with `server_error`. */
  serverError?: unknown;
  /** The provider's storage during this request: rows read ahead, saves deferred. */
  storage?: RequestStorage;
}

const exchanges = new AsyncLocalStorage<Exchange>();

/**
 * The Roster session of the sign-in a token request's tokens belong to, as `findAccount` found
 * it live, for the claims and scopes of the tokens issued in the same request.
 */
const signInSessions = new WeakMap<object, SignInSession>();

/**
 * Runs `fn` (which hands a request to a provider) with `verified` as the client already
 * authenticated for it. Rethrows an error the provider turned into a `server_error` answer, so
 * the caller's own error handling (statement deadline → 503, logging) applies to it.
 */
export async function throughProvider<T>(verified: Exchange['verified'], fn: () => Promise<T>): Promise<T> {
  const exchange: Exchange = verified ? { verified } : {};
  const result = await exchanges.run(exchange, fn);
  if (exchange.serverError !== undefined) throw exchange.serverError as Error;
  await exchange.storage?.flush();
  return result;
}

/** The current request's storage (see `RequestStorage`); none outside a request. */
function requestStorage(): RequestStorage | undefined {
  const exchange = exchanges.getStore();
  if (!exchange) return undefined;
  exchange.storage ??= new RequestStorage();
  return exchange.storage;
}

/** Client metadata carrying the application's id (scope look-ups, the management API's `app_id`). */
const APPLICATION_ID = 'roster_application_id';

/**
 * Lifetimes (seconds), explicit so that no library default applies unnoticed; those of the
 * session, its grants and refresh tokens come from realm settings (`sessionTtls`).
 */
const TOKEN_TTL = {
  authorizationCode: 60,
  interaction: 60 * 60,
  deviceCode: 10 * 60,
};

export interface RealmProvidersOptions {
  prisma: PrismaClient;
  keys: SigningKeys;
  /** Derived from the server secret; signs the providers' cookies and the sign-in pages' CSRF tokens. */
  cookieKey: Buffer;
  /** Seals second-factor secrets (`roster/mfa`). */
  mfaKey: Buffer;
  /** Signs the hosted pages' passkey challenges (`roster/passkeys`). */
  passkeyKey: Buffer;
  /** Seals the bodies of the emails the hosted pages write to the outbox (`roster/outbox`). */
  outboxKey: Buffer;
  /** Failed sign-ins the hosted page allows per address and per application. */
  signInLimits: AddressClientLimits;
  /** What applications' roles grant, kept by grants version (shared with the management API's authentication). */
  grants: GrantsCache;
  /** The realms' applications as OAuth clients (shared with the token endpoint). */
  clients: ClientApplications;
  log: Logger;
  /** Providers kept at most; the least recently used one is dropped beyond. Default 1000. */
  maxProviders?: number;
}

interface Entry {
  /** The realm row's `updatedAt` and the issuer the provider was built from. */
  updatedAt: number;
  issuer: string;
  provider: Promise<Provider>;
}

/**
 * One oidc-provider per realm (each realm is its own issuer), built on first use and kept in a
 * bounded least-recently-used cache. A provider is built from the realm's row (settings) and its
 * keys; every request compares the realm's `updatedAt` and the issuer with those it was built
 * from and builds it again when they differ, so a settings change — and a key rotation, which
 * must touch the realm row in its transaction — applies at the next request in every process.
 */
export class RealmProviders {
  readonly #cache = new Map<string, Entry>();
  readonly #max: number;

  constructor(private readonly options: RealmProvidersOptions) {
    this.#max = options.maxProviders ?? 1000;
  }

  /** How many providers are cached. */
  get size(): number {
    return this.#cache.size;
  }

  /**
   * The realm's provider for `issuer`, built from `realm` unless the cached one was built from
   * this row or a newer one (a request that read the row before a change may finish after one
   * that read it after).
   */
  async get(realm: Realm, issuer: string): Promise<Provider> {
    const updatedAt = realm.updatedAt.getTime();
    let entry = this.#cache.get(realm.id);
    if (entry) this.#cache.delete(realm.id);
    if (!entry || entry.issuer !== issuer || entry.updatedAt < updatedAt) {
      entry = { updatedAt, issuer, provider: this.#build(realm, issuer) };
      const built = entry;
      built.provider.catch(() => {
        if (this.#cache.get(realm.id) === built) this.#cache.delete(realm.id);
      });
    }
    this.#cache.set(realm.id, entry);
    while (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return entry.provider;
  }

  async #build(realm: Realm, issuer: string): Promise<Provider> {
    const { prisma, keys, log, grants, clients } = this.options;
    const realmId = realm.id;
    const sweeps = new SweepClock();
    // Stands in for the secret in client metadata; never compared (see compareClientSecret).
    const unusable = randomToken(32);

    const views = providerViews(realm);
    const configuration: Configuration = {
      adapter: (model: string) =>
        model === 'Client'
          ? {
              find: async (clientId: string) => {
                const verified = exchanges.getStore()?.verified?.client;
                const app = verified?.clientId === clientId ? verified : await clients.find(realmId, clientId);
                return app ? clientMetadata(app, unusable) : undefined;
              },
              upsert: refuse,
              findByUid: refuse,
              findByUserCode: refuse,
              consume: refuse,
              destroy: refuse,
              revokeByGrantId: refuse,
            }
          : new PrismaOidcAdapter(prisma, realmId, model, sweeps, requestStorage),
      findAccount: async (ctx, sub, token) => {
        // A token of a sign-in lives only as long as the session the management API shows.
        const signIn = token as { sessionUid?: string; authTime?: number; kind?: string } | undefined;
        const live = signIn
          ? await signInTokenSession(prisma, realm, signIn, sub, signIn.kind === 'RefreshToken')
          : undefined;
        if (live === null) return undefined;
        if (live) signInSessions.set(ctx, live.session);
        const user = live ? live.account : await signInAccount(prisma, realmId, sub, realm.requireEmailVerification);
        if (!user) return undefined;
        const tenant = live?.session.tenantId ? { tenant_id: live.session.tenantId } : {};
        return { accountId: user.id, claims: (_use, scope) => ({ ...userClaims(user, scope), ...tenant }) };
      },
      // `amr` and `auth_time` are in every ID token; `tenant_id` in those of a sign-in within a tenant.
      extraParams: {
        tenant: async (_ctx, value) => {
          if (value === undefined) return;
          if (!(await realmHasTenant(prisma, realmId, value.toLowerCase()))) {
            throw new errors.InvalidRequest('tenant must be the id of one of the realm’s tenants.');
          }
        },
      },
      claims: {
        openid: ['sub', 'amr', 'auth_time', 'tenant_id'],
        profile: [
          'name',
          'given_name',
          'family_name',
          'nickname',
          'preferred_username',
          'picture',
          'gender',
          'birthdate',
          'locale',
          'zoneinfo',
          'updated_at',
        ],
        email: ['email', 'email_verified'],
      },
      cookies: { keys: [cookieKey(this.options.cookieKey, realmId)] },
      interactions: {
        url: (_ctx, interaction) => `${new URL(issuer).pathname}/interaction/${interaction.uid}`,
        policy: signInPolicy(prisma, realm),
      },
      pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
      // The realm's applications are first-party: every one allowed the refresh_token grant gets
      // refresh tokens, bound to the sign-in's session unless `offline_access` was granted.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: true,
      jwks: { keys: await keys.privateJwks(realmId) },
      enabledJWA: {
        idTokenSigningAlgValues: [SIGNING_ALGORITHM],
        userinfoSigningAlgValues: [SIGNING_ALGORITHM],
        introspectionSigningAlgValues: [SIGNING_ALGORITHM],
        authorizationSigningAlgValues: [SIGNING_ALGORITHM],
        clientAuthSigningAlgValues: [SIGNING_ALGORITHM],
        requestObjectSigningAlgValues: [SIGNING_ALGORITHM],
      },
      clientDefaults: { id_token_signed_response_alg: SIGNING_ALGORITHM },
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      extraClientMetadata: { properties: [APPLICATION_ID] },
      responseTypes: ['code'],
      scopes: [...OIDC_SCOPES],
      routes: { jwks: '/jwks.json' },
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: views.logoutSource,
          postLogoutSuccessSource: views.postLogoutSuccessSource,
        },
        clientCredentials: { enabled: true },
        introspection: {
          enabled: true,
          // Machine-to-machine clients of the realm (resource servers) may introspect its
          // tokens; a WEB application only the tokens issued to it (not other applications'
          // users' tokens); public clients none.
          allowedPolicy: (_ctx, client, token) =>
            client.clientAuthMethod !== 'none' &&
            (client.grantTypeAllowed('client_credentials') || token.clientId === client.clientId),
        },
        revocation: {
          enabled: true,
          // RFC 7009 §2.1: only the client the token was issued to may revoke it.
          allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
        },
        resourceIndicators: {
          enabled: true,
          // client_credentials tokens are for the management API unless `resource` names another
          // resource; a sign-in's access token is for the resource it asked for (`resource` at the
          // authorization endpoint, or at the token endpoint among those), and without one an
          // opaque token for the userinfo endpoint.
          defaultResource: (ctx) =>
            ctx.oidc.params?.grant_type === 'client_credentials' ? MANAGEMENT_API_INDICATOR : undefined,
          useGrantedResource: () => true,
          getResourceServerInfo: async (ctx, indicator, client) => {
            const grantType = ctx.oidc.params?.grant_type;
            if (grantType !== 'client_credentials') {
              return personResourceServer(ctx, indicator, typeof grantType === 'string');
            }
            const applicationId = applicationIdOf(client);
            const granted = await grants.held(
              realmId,
              `application/${applicationId}/resource/${indicator}`,
              async () => {
                const scopes = await grantedResourceScopes(prisma, realmId, applicationId, indicator);
                return scopes && { scopes };
              },
            );
            if (!granted) throw new errors.InvalidTarget('The realm has no API resource with this indicator.');
            defaultScopeToGranted(ctx, granted);
            const scope = ctx.oidc.params?.scope;
            const requested = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
            const notGranted = requested.filter((scope) => !granted.includes(scope));
            if (notGranted.length) {
              throw new errors.InvalidScope(
                `Not granted to this application: ${notGranted.join(' ')}.`,
                notGranted.join(' '),
              );
            }
            if (granted.length === 0) throw new errors.InvalidScope("The application's roles grant no scopes.", '');
            return {
              scope: granted.join(' '),
              audience: indicator,
              accessTokenTTL: realm.accessTokenTtlSeconds,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: SIGNING_ALGORITHM } },
            };
          },
        },
      },
      extraTokenClaims: (ctx, token) => {
        // RFC 8693 §4.1: an impersonation's token names the application acting as the user.
        const act =
          token.kind === 'AccessToken' && token.gty === TOKEN_EXCHANGE
            ? { act: { sub: token.clientId, client_id: token.clientId } }
            : undefined;
        const management =
          token.aud === MANAGEMENT_API_INDICATOR
            ? { realm_id: realmId, app_id: token.client ? applicationIdOf(token.client) : undefined }
            : undefined;
        if (token.kind !== 'AccessToken') return management;
        // A person's token: `sid` names the Roster session the management API checks on every request.
        const session = signInSessions.get(ctx);
        const tenant = session?.tenantId ? { tenant_id: session.tenantId } : undefined;
        return management || tenant || act
          ? { ...management, ...(management ? { sid: session?.id } : {}), ...tenant, ...act }
          : undefined;
      },
      // Browsers may call the token and userinfo endpoints only for public clients (SPAs), and
      // only from the origin of one of their redirect URIs; confidential clients never from
      // another origin, and from Roster's own pages only where the token endpoint allowed it
      // (the explorer's sign-in helper in development).
      clientBasedCORS: (_ctx, origin, client) => {
        const verified = exchanges.getStore()?.verified;
        if (verified?.fromOwnPage && verified.client.clientId === client.clientId) return true;
        return client.clientAuthMethod === 'none' && client.redirectUris!.some((uri) => new URL(uri).origin === origin);
      },
      renderError: views.renderError,
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? realm.accessTokenTtlSeconds,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? realm.accessTokenTtlSeconds,
        IdToken: () => realm.accessTokenTtlSeconds,
        AuthorizationCode: () => TOKEN_TTL.authorizationCode,
        Interaction: () => TOKEN_TTL.interaction,
        ...sessionTtls(realm),
        DeviceCode: () => TOKEN_TTL.deviceCode,
        BackchannelAuthenticationRequest: () => TOKEN_TTL.deviceCode,
        PreAuthorizedCode: () => TOKEN_TTL.deviceCode,
      },
    };

    /**
     * A sign-in's access token for an API resource. At the authorization endpoint (`token`
     * false) any scope of the resource may be asked for, and the grant records those asked;
     * the tokens carry those of them the user holds when they are issued (a code's exchange, every
     * refresh): scopes the user does not hold are left out, not refused.
     */
    async function personResourceServer(
      ctx: KoaContextWithOIDC,
      indicator: string,
      token: boolean,
    ): Promise<ResourceServer> {
      const scopes = token
        ? await personResourceScopes(
            prisma,
            realmId,
            { userId: ctx.oidc.account!.accountId, tenantId: signInSessions.get(ctx)?.tenantId ?? null },
            indicator,
          )
        : await resourceScopeNames(prisma, realmId, indicator);
      if (!scopes) throw new errors.InvalidTarget('The realm has no API resource with this indicator.');
      return {
        scope: scopes.join(' '),
        audience: indicator,
        accessTokenTTL: realm.accessTokenTtlSeconds,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: SIGNING_ALGORITHM } },
      };
    }

    const provider = new Provider(issuer, configuration);
    // Requests reach the provider only through Roster's routing, which sets the forwarded
    // protocol and address itself (see oauth bridge): never a client's own header.
    provider.proxy = true;
    // Roster stores client secrets as digests; the presented secret is checked against them.
    provider.Client.prototype.compareClientSecret = async function compareClientSecret(actual: string) {
      const verified = exchanges.getStore()?.verified;
      if (verified?.secretDigest !== undefined && verified.client.clientId === this.clientId) {
        return constantTimeEqual(sha256(actual), verified.secretDigest);
      }
      return (await authenticateClient(prisma, realmId, this.clientId, actual)) !== null;
    };
    registerTokenExchange(provider, {
      prisma,
      realm,
      grants,
      applicationIdOf,
      noteSession: (ctx, session) => signInSessions.set(ctx, session),
    });
    installSignInPages(provider, {
      prisma,
      realm,
      csrfKey: cookieKey(this.options.cookieKey, `csrf:${realmId}`),
      limits: this.options.signInLimits,
      mfaKey: this.options.mfaKey,
      passkeyKey: this.options.passkeyKey,
      sessionTtlSeconds: Math.min(realm.sessionIdleTimeoutSeconds, realm.sessionMaxLifetimeSeconds),
      applicationIdOf,
    });
    installLinkPages(provider, {
      prisma,
      realm,
      csrfKey: cookieKey(this.options.cookieKey, `csrf:${realmId}`),
      limits: this.options.signInLimits,
      outboxKey: this.options.outboxKey,
      mfaKey: this.options.mfaKey,
      passkeyKey: this.options.passkeyKey,
      log,
    });
    provider.on('server_error', (_ctx: KoaContextWithOIDC, error: unknown) => {
      const exchange = exchanges.getStore();
      if (exchange) exchange.serverError = error;
      else log.error({ err: error, realmId }, 'OpenID provider error');
    });
    return provider;
  }
}

/** The application id of a client (the one this request authenticated: without converting its metadata). */
function applicationIdOf(client: { clientId: string; metadata(): Record<string, unknown> }): string {
  const verified = exchanges.getStore()?.verified?.client;
  return verified?.clientId === client.clientId ? verified.id : (client.metadata()[APPLICATION_ID] as string);
}

/** The OpenID Connect scopes a sign-in may ask for. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/**
 * The client metadata of an application: M2M clients use client_credentials; WEB applications
 * (confidential) and SPA and NATIVE applications (public, PKCE required) sign users in with
 * the authorization code flow and refresh tokens, to their exact redirect URIs.
 */
function clientMetadata(app: ClientApplication, unusableSecret: string): ClientMetadata {
  const base = { client_id: app.clientId, [APPLICATION_ID]: app.id };
  if (app.type === 'M2M') {
    return {
      ...base,
      client_secret: unusableSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      // Token exchange (impersonation) needs users:impersonate and the realm's consent: checked by the grant.
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    };
  }
  const signIn: Omit<ClientMetadata, 'client_id'> = {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    application_type: app.type === 'NATIVE' ? 'native' : 'web',
  };
  return app.type === 'WEB'
    ? { ...base, ...signIn, client_secret: unusableSecret, token_endpoint_auth_method: 'client_secret_basic' }
    : { ...base, ...signIn, token_endpoint_auth_method: 'none' };
}

/** A per-realm key for one purpose, from the server's cookie key. */
function cookieKey(key: Buffer, purpose: string): string {
  return createHmac('sha256', key).update(purpose).digest('base64url');
}

function refuse(): never {
  throw new Error('Clients are the realm’s applications; the provider cannot change them.');
}

/**
 * Without a `scope` parameter, a client_credentials token carries every scope the application
 * is granted on the resource (Roster's contract since its first token endpoint); oidc-provider
 * would issue none. The grant reads the parameter after resolving the resource, here.
 */
function defaultScopeToGranted(ctx: KoaContextWithOIDC, granted: string[]): void {
  const params = ctx.oidc.params;
  if (!params || params.scope || params.grant_type !== 'client_credentials') return;
  params.scope = granted.join(' ');
}
