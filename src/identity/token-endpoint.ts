import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { DEFAULT_TOKEN_LIMITS, type TokenLimitSettings } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { authenticateClient, type ClientApplications } from '../modules/applications/applications.credentials.ts';
import type { RealmCache } from '../modules/realm/realm.cache.ts';
import type { Metrics } from '../metrics.ts';
import { sha256 } from '../auth/crypto.ts';
import type { SigningKeys } from '../auth/keys.ts';
import { AddressClientLimits, addressKey, type RateLimitStore } from '../auth/rate-limit.ts';
import { realmIssuer } from '../auth/tokens.ts';
import { passkeyAsset } from './passkey-assets.ts';
import { callProvider } from './provider-bridge.ts';
import { OIDC_SCOPES, throughProvider, type RealmProviders } from './provider.ts';
import { TOKEN_EXCHANGE } from './token-exchange.ts';

export interface OAuthDeps {
  /**
   * Whether a page Roster serves itself (the explorer's sign-in helper, in development) may
   * authenticate a confidential client from the browser; pages of other origins never may.
   */
  ownPageClientAuthentication?: boolean;
  prisma: PrismaClient;
  keys: SigningKeys;
  /** Base URL of this server as clients reach it (issuer prefix). */
  baseUrl: () => string;
  log: Logger;
  limits: TokenEndpointLimits;
  providers: RealmProviders;
  realms: RealmCache;
  clients: ClientApplications;
  metrics?: Metrics;
}

/** The two failure limits of the token endpoint, over one store. */
export class TokenEndpointLimits extends AddressClientLimits {
  constructor(store: RateLimitStore, settings: TokenLimitSettings = DEFAULT_TOKEN_LIMITS) {
    super(store, 'token', settings);
  }
}

const MAX_BODY_BYTES = 16 * 1024;
const GRANT_TYPES = new Set(['client_credentials', 'authorization_code', 'refresh_token', TOKEN_EXCHANGE]);
/** The grants a machine-to-machine application may use (authenticated with its secret). */
const M2M_GRANT_TYPES = new Set(['client_credentials', TOKEN_EXCHANGE]);
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...NO_STORE, ...headers },
  });
}

/** An RFC 6749 §5.2 error response. */
function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, { error, error_description: description }, headers);
}

const ROUTE =
  /^\/oauth2\/([^/]+)\/(token|token\/introspection|token\/revocation|jwks\.json|\.well-known\/openid-configuration|\.well-known\/oauth-authorization-server|auth|auth\/[A-Za-z0-9_-]{1,64}|interaction\/[A-Za-z0-9_-]{1,64}(?:\/forgot|\/recovery)?|assets\/[a-z0-9.-]{1,80}\.js|verify-email|reset-password|accept-invitation|recover-account|me|session\/end|session\/end\/confirm|session\/end\/success)$/;
const RFC8414_ROUTE = /^\/\.well-known\/oauth-authorization-server\/oauth2\/([^/]+)$/;

/** Endpoints that authenticate the client: they go through the hardened client authentication. */
const CLIENT_ENDPOINTS = new Set(['token', 'token/introspection', 'token/revocation']);

/**
 * The methods of the endpoints a browser or a relying party reaches directly (authorization,
 * its resumption, the hosted pages, userinfo, logout): the provider does the work. OPTIONS is
 * a CORS preflight.
 */
function browserMethods(endpoint: string): string[] | null {
  if (endpoint === 'auth' || endpoint === 'session/end') return ['GET', 'POST'];
  if (endpoint.startsWith('auth/')) return ['GET', 'POST'];
  if (endpoint.startsWith('interaction/')) return ['GET', 'POST'];
  if (['verify-email', 'reset-password', 'accept-invitation', 'recover-account'].includes(endpoint))
    return ['GET', 'POST'];
  if (endpoint.startsWith('assets/')) return ['GET'];
  if (endpoint === 'me') return ['GET', 'POST', 'OPTIONS'];
  if (endpoint === 'session/end/confirm') return ['POST'];
  if (endpoint === 'session/end/success') return ['GET'];
  return null;
}

/** The route template of an OAuth path (`/oauth2/{realm}/token`), for metrics; null for any other path. */
export function oauthRoute(pathname: string): string | null {
  if (RFC8414_ROUTE.test(pathname)) return '/.well-known/oauth-authorization-server/oauth2/{realm}';
  const endpoint = ROUTE.exec(pathname)?.[2];
  if (!endpoint) return null;
  if (endpoint.startsWith('assets/')) return '/oauth2/{realm}/assets/{name}';
  return `/oauth2/{realm}/${endpoint.replace(/^(auth|interaction)\/[^/]+/, '$1/{uid}')}`;
}

/**
 * Handles `/oauth2/{realm}/…` requests; returns null for any other path. `clientAddress` is the
 * caller's address (the socket's, or the one a trusted proxy reported).
 */
export async function handleOAuthRequest(
  request: Request,
  url: URL,
  deps: OAuthDeps,
  clientAddress?: string,
): Promise<Response | null> {
  const match = ROUTE.exec(url.pathname);
  const wellKnown = RFC8414_ROUTE.exec(url.pathname);
  if (!match && !wellKnown) return null;
  const realmParam = decodeURIComponent((match ?? wellKnown)![1]!);
  const endpoint = match ? match[2]! : '.well-known/oauth-authorization-server';

  const browser = browserMethods(endpoint);
  const preflight = endpoint === 'token' && request.method === 'OPTIONS';
  const allowed = browser ?? (CLIENT_ENDPOINTS.has(endpoint) ? ['POST'] : ['GET']);
  if (!preflight && !allowed.includes(request.method) && !(allowed.includes('GET') && request.method === 'HEAD')) {
    return oauthError(405, 'invalid_request', `Use ${allowed.join(' or ')} for this endpoint.`, {
      allow: allowed.join(', '),
    });
  }
  const realm = await deps.realms.find(realmParam);
  if (!realm) return oauthError(404, 'invalid_request', 'Unknown realm.');

  const issuer = realmIssuer(deps.baseUrl(), realm.name);
  if (endpoint === 'jwks.json') {
    return json(200, await deps.keys.jwks(realm.id), { 'cache-control': 'public, max-age=300' });
  }
  if (endpoint.startsWith('assets/')) return passkeyAsset(endpoint.slice('assets/'.length), request.method);
  const provider = await deps.providers.get(realm, issuer);
  if (browser || preflight) {
    let body: string | undefined;
    if (request.method === 'POST') {
      body = await request.text();
      if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
        return oauthError(400, 'invalid_request', 'The request body is too large.');
      }
    }
    return throughProvider(undefined, () =>
      callProvider(provider, {
        method: request.method,
        path: `/${endpoint}${url.search}`,
        issuer,
        headers: request.headers,
        ...(body !== undefined ? { body } : {}),
        ...(clientAddress ? { address: clientAddress } : {}),
      }),
    );
  }
  if (!CLIENT_ENDPOINTS.has(endpoint)) {
    const answer = await throughProvider(undefined, () =>
      callProvider(provider, { method: 'GET', path: `/${endpoint}`, issuer, headers: request.headers }),
    );
    if (answer.status !== 200) return answer;
    const metadata = (await answer.json()) as Record<string, unknown>;
    metadata.scopes_supported = [...OIDC_SCOPES, ...(await grantableScopes(deps.prisma, realm.id)).sort()];
    const response = json(200, metadata, { 'cache-control': 'public, max-age=300' });
    return request.method === 'HEAD' ? new Response(null, { headers: response.headers }) : response;
  }
  return clientEndpoint(
    request,
    deps,
    { realmId: realm.id, issuer, provider, endpoint },
    addressKey(clientAddress),
    clientAddress,
  );
}

async function grantableScopes(prisma: PrismaClient, realmId: string): Promise<string[]> {
  const scopes = await prisma.resourceScope.findMany({
    where: { realmId, resource: { builtIn: true } },
    select: { name: true },
  });
  return scopes.map((s) => s.name);
}

async function readForm(request: Request): Promise<URLSearchParams | Response> {
  const contentType = request.headers.get('content-type') ?? '';
  if (contentType.split(';')[0]!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    return oauthError(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded.');
  }
  const body = await request.text();
  if (Buffer.byteLength(body) > MAX_BODY_BYTES)
    return oauthError(400, 'invalid_request', 'The request body is too large.');
  return new URLSearchParams(body);
}

/** Client credentials from HTTP Basic (RFC 6749 §2.3.1: form-encoded, then base64) or the body. */
function clientCredentials(
  request: Request,
  form: URLSearchParams,
): { clientId: string; clientSecret: string; basic: boolean } | Response | null {
  const authorization = request.headers.get('authorization');
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (authorization) {
    if (bodySecret !== null) {
      return oauthError(400, 'invalid_request', 'Use one client authentication method, not both.');
    }
    const [scheme, value] = authorization.split(' ', 2);
    const basicChallenge = { 'www-authenticate': 'Basic realm="roster", charset="UTF-8"' };
    if (scheme?.toLowerCase() !== 'basic' || !value) {
      return oauthError(401, 'invalid_client', 'Client authentication failed.', basicChallenge);
    }
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return oauthError(401, 'invalid_client', 'Client authentication failed.', basicChallenge);
    try {
      const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      const clientSecret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      if (bodyId !== null && bodyId !== clientId) {
        return oauthError(400, 'invalid_request', 'client_id does not match the authenticated client.');
      }
      return { clientId, clientSecret, basic: true };
    } catch {
      return oauthError(401, 'invalid_client', 'Client authentication failed.', basicChallenge);
    }
  }
  if (bodyId === null || bodySecret === null) return null;
  return { clientId: bodyId, clientSecret: bodySecret, basic: false };
}

interface Target {
  realmId: string;
  issuer: string;
  provider: Provider;
  endpoint: string;
}

/**
 * The token, introspection and revocation endpoints: Roster checks the request's form and
 * authenticates the client itself — throttled, at equal cost for unknown clients — and only
 * then hands the request to the realm's provider, which does the OAuth work.
 */
async function clientEndpoint(
  request: Request,
  deps: OAuthDeps,
  target: Target,
  address: string,
  clientAddress: string | undefined,
): Promise<Response> {
  const { endpoint } = target;
  const form = await readForm(request);
  if (form instanceof Response) return form;
  for (const key of new Set(form.keys())) {
    // RFC 8707 allows several `resource` parameters.
    if (key !== 'resource' && form.getAll(key).length > 1) {
      return oauthError(400, 'invalid_request', `Parameter ${key} is repeated.`);
    }
  }
  const grantType = endpoint === 'token' ? form.get('grant_type') : null;
  if (endpoint !== 'token' || !deps.metrics) {
    return clientRequest(request, deps, target, form, grantType, address, clientAddress);
  }
  const response = await clientRequest(request, deps, target, form, grantType, address, clientAddress);
  deps.metrics.tokenAnswered(
    grantType && GRANT_TYPES.has(grantType) ? grantType : '(other)',
    await outcomeOf(response),
  );
  return response;
}

/** `issued`, or the OAuth error code of a refusal. */
async function outcomeOf(response: Response): Promise<string> {
  if (response.ok) return 'issued';
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { error?: unknown } | null;
  return typeof body?.error === 'string' && /^[a-z_]{1,40}$/.test(body.error) ? body.error : 'server_error';
}

async function clientRequest(
  request: Request,
  deps: OAuthDeps,
  target: Target,
  form: URLSearchParams,
  grantType: string | null,
  address: string,
  clientAddress: string | undefined,
): Promise<Response> {
  const { realmId, endpoint } = target;
  if (endpoint === 'token') {
    if (!grantType) return oauthError(400, 'invalid_request', 'grant_type is required.');
    if (!GRANT_TYPES.has(grantType)) {
      return oauthError(
        400,
        'unsupported_grant_type',
        `Supported grants: client_credentials, authorization_code, refresh_token and ${TOKEN_EXCHANGE}.`,
      );
    }
  }
  if (grantType === 'client_credentials' || grantType === TOKEN_EXCHANGE) {
    const resources = [...new Set(form.getAll('resource'))];
    if (resources.includes('')) return oauthError(400, 'invalid_target', 'The resource parameter is empty.');
    if (resources.length > 1) {
      return oauthError(400, 'invalid_target', `A ${grantType} token is for one resource only.`);
    }
    // The same indicator twice asks for one resource.
    form.delete('resource');
    for (const resource of resources) form.append('resource', resource);
  }

  const credentials = clientCredentials(request, form);
  if (credentials instanceof Response) return credentials;
  if (!credentials) {
    const clientId = form.get('client_id');
    if (clientId !== null && grantType !== null && !M2M_GRANT_TYPES.has(grantType)) {
      return publicClientGrant(request, deps, target, form, clientId, address, clientAddress);
    }
    return oauthError(401, 'invalid_client', 'Client authentication is required.');
  }
  // Checked before the secret, so that while a limit is reached no guess can succeed or count.
  const retryAfter = await deps.limits.retryAfter(address, credentials.clientId);
  if (retryAfter > 0) {
    deps.log.warn(
      { clientId: credentials.clientId, realmId, address },
      'client authentication refused: too many failures',
    );
    return oauthError(429, 'slow_down', `Too many failed client authentications; retry in ${retryAfter} seconds.`, {
      'retry-after': String(retryAfter),
    });
  }
  const client = await authenticateClient(deps.prisma, realmId, credentials.clientId, credentials.clientSecret);
  if (!client) {
    await deps.limits.recordFailure(address, credentials.clientId);
    deps.log.info({ clientId: credentials.clientId, realmId, address }, 'client authentication failed');
    return oauthError(
      401,
      'invalid_client',
      'Client authentication failed.',
      credentials.basic ? { 'www-authenticate': 'Basic realm="roster", charset="UTF-8"' } : {},
    );
  }

  if (grantType && !M2M_GRANT_TYPES.has(grantType) && client.type === 'M2M') {
    return oauthError(
      400,
      'unauthorized_client',
      'Machine-to-machine applications use the client_credentials and token exchange grants only.',
    );
  }
  if (grantType === TOKEN_EXCHANGE && client.type !== 'M2M') {
    return oauthError(400, 'unauthorized_client', 'Only machine-to-machine applications may use token exchange.');
  }
  if (grantType === 'client_credentials' && client.type !== 'M2M') {
    return oauthError(400, 'unauthorized_client', 'Only machine-to-machine applications may use client_credentials.');
  }

  const verified = {
    client,
    secretDigest: sha256(credentials.clientSecret),
    fromOwnPage: Boolean(deps.ownPageClientAuthentication) && fromOwnPage(request, target.issuer),
  };
  const response = await throughProvider(verified, () =>
    callProvider(target.provider, {
      method: 'POST',
      path: `/${endpoint}`,
      issuer: target.issuer,
      headers: request.headers,
      body: form.toString(),
      ...(clientAddress ? { address: clientAddress } : {}),
    }),
  );
  if (endpoint === 'token' && response.ok) {
    deps.log.info({ clientId: client.clientId, realmId }, 'access token issued');
  }
  return response;
}

/**
 * Whether a browser sent the request from a page of Roster's own origin: `Sec-Fetch-Site`
 * (set by the browser, never by a page's script) says so, or, from a browser without it, an
 * `Origin` equal to the issuer's.
 */
function fromOwnPage(request: Request, issuer: string): boolean {
  return (
    request.headers.get('sec-fetch-site') === 'same-origin' || request.headers.get('origin') === new URL(issuer).origin
  );
}

/**
 * A token request of a public client (SPA, NATIVE: no secret; PKCE proves the code's origin).
 * It presents nothing the failure limits protect (no secret; codes and refresh tokens cannot be
 * guessed), so a known public client's request does not read them: an SPA's refreshes cost no
 * statement for them, also from an address other clients' failures blocked. An unknown client
 * id, or one of a confidential client that did not authenticate, is throttled and counts as a
 * failure, like a failed client authentication.
 */
async function publicClientGrant(
  request: Request,
  deps: OAuthDeps,
  target: Target,
  form: URLSearchParams,
  clientId: string,
  address: string,
  clientAddress: string | undefined,
): Promise<Response> {
  const app = await deps.clients.find(target.realmId, clientId);
  if (!app || (app.type !== 'SPA' && app.type !== 'NATIVE')) {
    const retryAfter = await deps.limits.retryAfter(address, clientId);
    if (retryAfter > 0) {
      return oauthError(429, 'slow_down', `Too many failed client authentications; retry in ${retryAfter} seconds.`, {
        'retry-after': String(retryAfter),
      });
    }
    await deps.limits.recordFailure(address, clientId);
    return oauthError(401, 'invalid_client', 'Client authentication failed.');
  }
  return throughProvider({ client: app }, () =>
    callProvider(target.provider, {
      method: 'POST',
      path: '/token',
      issuer: target.issuer,
      headers: request.headers,
      body: form.toString(),
      ...(clientAddress ? { address: clientAddress } : {}),
    }),
  );
}
