import { AsyncLocalStorage } from 'node:async_hooks';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { PrismaClient, Realm } from '../generated/prisma/client.ts';
import {
  authenticateClient,
  findClientApplication,
  grantedResourceScopes,
  type ClientApplication,
} from '../modules/applications/applications.credentials.ts';
import { constantTimeEqual, randomToken, sha256 } from '../auth/crypto.ts';
import { SIGNING_ALGORITHM, type SigningKeys } from '../auth/keys.ts';
import { MANAGEMENT_API_INDICATOR } from '../auth/scopes.ts';
import { PrismaOidcAdapter, SweepClock } from './oidc-adapter.ts';

/** What one request through a provider carries besides the HTTP request. */
interface Exchange {
  /** The client the hardened endpoint already authenticated, with its secret's digest. */
  verified?: { client: ClientApplication; secretDigest: string };
  /** An error the provider caught and answered with `server_error`. */
  serverError?: unknown;
}

const exchanges = new AsyncLocalStorage<Exchange>();

/**
 * Runs `fn` (which hands a request to a provider) with `verified` as the client already
 * authenticated for it. Rethrows an error the provider turned into a `server_error` answer, so
 * the caller's own error handling (statement deadline → 503, logging) applies to it.
 */
export async function throughProvider<T>(verified: Exchange['verified'], fn: () => Promise<T>): Promise<T> {
  const exchange: Exchange = verified ? { verified } : {};
  const result = await exchanges.run(exchange, fn);
  if (exchange.serverError !== undefined) throw exchange.serverError as Error;
  return result;
}

/** Client metadata carrying the application's id (scope look-ups, the management API's `app_id`). */
const APPLICATION_ID = 'roster_application_id';

/**
 * Lifetimes (seconds) of what nothing issues yet, explicit so that no library default applies
 * unnoticed; sign-in will take them from realm settings.
 */
const TOKEN_TTL = {
  authorizationCode: 60,
  interaction: 60 * 60,
  session: 14 * 24 * 60 * 60,
  grant: 14 * 24 * 60 * 60,
  refreshToken: 14 * 24 * 60 * 60,
  deviceCode: 10 * 60,
};

export interface RealmProvidersOptions {
  prisma: PrismaClient;
  keys: SigningKeys;
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
    const { prisma, keys, log } = this.options;
    const realmId = realm.id;
    const sweeps = new SweepClock();
    // Stands in for the secret in client metadata; never compared (see compareClientSecret).
    const unusable = randomToken(32);

    const configuration: Configuration = {
      adapter: (model: string) =>
        model === 'Client'
          ? {
              find: async (clientId: string) => {
                const verified = exchanges.getStore()?.verified?.client;
                const app =
                  verified?.clientId === clientId ? verified : await findClientApplication(prisma, realmId, clientId);
                // Public clients (SPA, NATIVE) have no flow until sign-in exists.
                if (!app || app.type === 'SPA' || app.type === 'NATIVE') return undefined;
                return {
                  client_id: app.clientId,
                  client_secret: unusable,
                  token_endpoint_auth_method: 'client_secret_basic',
                  grant_types: app.type === 'M2M' ? ['client_credentials'] : [],
                  response_types: [],
                  redirect_uris: [],
                  [APPLICATION_ID]: app.id,
                };
              },
              upsert: refuse,
              findByUid: refuse,
              findByUserCode: refuse,
              consume: refuse,
              destroy: refuse,
              revokeByGrantId: refuse,
            }
          : new PrismaOidcAdapter(prisma, realmId, model, sweeps),
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
      clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
      extraClientMetadata: { properties: [APPLICATION_ID] },
      responseTypes: [],
      // No offline_access until people sign in: it would advertise refresh tokens.
      scopes: ['openid'],
      routes: { jwks: '/jwks.json' },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: {
          enabled: true,
          // Any confidential client of the realm (a resource server) may introspect its tokens.
          allowedPolicy: (_ctx, client) => client.clientAuthMethod !== 'none',
        },
        revocation: {
          enabled: true,
          // RFC 7009 §2.1: only the client the token was issued to may revoke it.
          allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => MANAGEMENT_API_INDICATOR,
          useGrantedResource: () => true,
          getResourceServerInfo: async (ctx, indicator, client) => {
            const applicationId = applicationIdOf(client);
            const granted = await grantedResourceScopes(prisma, realmId, applicationId, indicator);
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
      extraTokenClaims: (_ctx, token) => {
        if (token.kind !== 'ClientCredentials' || token.aud !== MANAGEMENT_API_INDICATOR) return undefined;
        return { realm_id: realmId, app_id: token.client ? applicationIdOf(token.client) : undefined };
      },
      clientBasedCORS: () => false,
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? realm.accessTokenTtlSeconds,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? realm.accessTokenTtlSeconds,
        IdToken: () => realm.accessTokenTtlSeconds,
        AuthorizationCode: () => TOKEN_TTL.authorizationCode,
        Interaction: () => TOKEN_TTL.interaction,
        Session: () => TOKEN_TTL.session,
        Grant: () => TOKEN_TTL.grant,
        RefreshToken: () => TOKEN_TTL.refreshToken,
        DeviceCode: () => TOKEN_TTL.deviceCode,
        BackchannelAuthenticationRequest: () => TOKEN_TTL.deviceCode,
        PreAuthorizedCode: () => TOKEN_TTL.deviceCode,
      },
    };

    const provider = new Provider(issuer, configuration);
    // Requests reach the provider only through Roster's routing, which sets the forwarded
    // protocol and address itself (see oauth bridge): never a client's own header.
    provider.proxy = true;
    // Roster stores client secrets as digests; the presented secret is checked against them.
    provider.Client.prototype.compareClientSecret = async function compareClientSecret(actual: string) {
      const verified = exchanges.getStore()?.verified;
      if (verified?.client.clientId === this.clientId) {
        return constantTimeEqual(sha256(actual), verified.secretDigest);
      }
      return (await authenticateClient(prisma, realmId, this.clientId, actual)) !== null;
    };
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
