/**
 * Signing the administrator in: the console is a public client (SPA) of the realm, using the
 * authorization code flow with PKCE against the realm's hosted sign-in page, and asking for an
 * access token for the management API. The token's scopes are those the administrator's roles
 * grant among the ones asked for. Tokens live in this tab's sessionStorage only.
 */
import * as oauth from 'oauth4webapi';

const MANAGEMENT_API = 'urn:roster:management-api';

/** The management scopes the console's screens use: the token gets those the administrator holds. */
const SCOPES = [
  'users:read',
  'users:write',
  'users:roles',
  'users:export',
  'roles:read',
  'roles:write',
  'applications:read',
  'applications:write',
  'resources:read',
  'resources:write',
  'tenants:read',
  'tenants:write',
  'audit:read',
  'realm:read',
  'realm:write',
];

/** Roster's public URL, as the server wrote it into the page (the page's origin in development). */
export const publicUrl = (
  document.querySelector<HTMLMetaElement>('meta[name="roster-public-url"]')?.content || location.origin
).replace(/\/+$/, '');

export const consoleBase = `${new URL(publicUrl).pathname.replace(/\/+$/, '')}/console`;
const redirectUri = `${publicUrl}/console/callback`;

const PENDING = 'roster-console:pending';
const SESSION = 'roster-console:session';
const REALM = 'roster-console:realm';

export interface Session {
  realm: string;
  issuer: string;
  clientId: string;
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  refreshToken: string | null;
  idToken: string | null;
}

interface Pending {
  realm: string;
  issuer: string;
  clientId: string;
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
}

/** A problem to show on the sign-in page. */
export class SignInError extends Error {}

interface RealmConfig {
  realm: string;
  issuer: string;
  clientId: string;
}

async function realmConfig(realm: string): Promise<RealmConfig> {
  const response = await fetch(`${publicUrl}/console/realms/${encodeURIComponent(realm)}`);
  const body = (await response.json().catch(() => ({}))) as Partial<RealmConfig> & { error_description?: string };
  if (!response.ok || !body.clientId || !body.issuer || !body.realm) {
    throw new SignInError(body.error_description ?? `Roster answered ${response.status}.`);
  }
  return { realm: body.realm, issuer: body.issuer, clientId: body.clientId };
}

/** Plain http only where Roster itself is served over http (development, loopback). */
const options = (issuer: string) =>
  new URL(issuer).protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};

const servers = new Map<string, Promise<oauth.AuthorizationServer>>();
function authorizationServer(issuer: string): Promise<oauth.AuthorizationServer> {
  let found = servers.get(issuer);
  if (!found) {
    const url = new URL(issuer);
    found = oauth
      .discoveryRequest(url, options(issuer))
      .then((response) => oauth.processDiscoveryResponse(url, response));
    found.catch(() => servers.delete(issuer));
    servers.set(issuer, found);
  }
  return found;
}

export function lastRealm(): string {
  return localStorage.getItem(REALM) ?? 'default';
}

/** Sends the browser to the realm's sign-in page; `returnTo` is where the console goes back after. */
export async function startSignIn(realmName: string, returnTo: string): Promise<never> {
  const realm = await realmConfig(realmName.trim().toLowerCase());
  const as = await authorizationServer(realm.issuer);
  const pending: Pending = {
    ...realm,
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    returnTo,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  localStorage.setItem(REALM, realm.realm);
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: realm.clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: ['openid', 'profile', 'email', ...SCOPES].join(' '),
    resource: MANAGEMENT_API,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
  }).toString();
  location.assign(url.href);
  return new Promise<never>(() => {});
}

/** On `/console/callback`: exchanges the code, keeps the tokens, and returns where to go. */
export async function completeSignIn(current: URL): Promise<string> {
  const stored = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  if (!stored) throw new SignInError('This sign-in was not started in this tab, or was already used. Sign in again.');
  const pending = JSON.parse(stored) as Pending;
  const as = await authorizationServer(pending.issuer);
  const client: oauth.Client = { client_id: pending.clientId };
  let parameters: URLSearchParams;
  try {
    parameters = oauth.validateAuthResponse(as, client, current, pending.state);
  } catch (error) {
    throw new SignInError(describe(error));
  }
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      parameters,
      redirectUri,
      pending.verifier,
      options(pending.issuer),
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
    saveSession(pending, tokens, null);
  } catch (error) {
    throw new SignInError(describe(error));
  }
  return pending.returnTo;
}

function describe(error: unknown): string {
  if (error instanceof oauth.AuthorizationResponseError || error instanceof oauth.ResponseBodyError) {
    return error.error_description ?? error.error;
  }
  return error instanceof Error ? error.message : String(error);
}

function saveSession(
  realm: Pick<Session, 'realm' | 'issuer' | 'clientId'>,
  tokens: oauth.TokenEndpointResponse,
  previous: Session | null,
): Session {
  const session: Session = {
    realm: realm.realm,
    issuer: realm.issuer,
    clientId: realm.clientId,
    accessToken: tokens.access_token,
    expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
    refreshToken: tokens.refresh_token ?? previous?.refreshToken ?? null,
    idToken: tokens.id_token ?? previous?.idToken ?? null,
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}

export function currentSession(): Session | null {
  const stored = sessionStorage.getItem(SESSION);
  return stored ? (JSON.parse(stored) as Session) : null;
}

let refreshing: Promise<Session | null> | null = null;

/**
 * A valid access token: the current one, or a new one from the refresh token when it expires
 * within a minute (or `force`). Null when the sign-in has ended: sign in again.
 */
export async function accessToken(force = false): Promise<string | null> {
  const session = currentSession();
  if (!session) return null;
  if (!force && session.expiresAt - Date.now() > 60_000) return session.accessToken;
  refreshing ??= refresh(session).finally(() => {
    refreshing = null;
  });
  return (await refreshing)?.accessToken ?? null;
}

async function refresh(session: Session): Promise<Session | null> {
  if (!session.refreshToken) return endSession();
  try {
    const as = await authorizationServer(session.issuer);
    const client: oauth.Client = { client_id: session.clientId };
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), session.refreshToken, {
      ...options(session.issuer),
      additionalParameters: { resource: MANAGEMENT_API },
    });
    return saveSession(session, await oauth.processRefreshTokenResponse(as, client, response), session);
  } catch {
    return endSession();
  }
}

function endSession(): null {
  sessionStorage.removeItem(SESSION);
  window.dispatchEvent(new Event('roster-console:signed-out'));
  return null;
}

/** Forgets the tokens and ends the sign-in at the realm (RP-initiated logout), back to the console. */
export async function signOut(): Promise<void> {
  const session = currentSession();
  sessionStorage.removeItem(SESSION);
  if (!session) return location.assign(`${consoleBase}/`);
  const as = await authorizationServer(session.issuer).catch(() => null);
  if (!as?.end_session_endpoint) return location.assign(`${consoleBase}/`);
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: session.clientId,
    post_logout_redirect_uri: `${publicUrl}/console/`,
    ...(session.idToken ? { id_token_hint: session.idToken } : {}),
  }).toString();
  location.assign(url.href);
}
