/** An application's side of a sign-in through the hosted pages: openid-client as the relying party and a cookie-keeping browser. */
import * as oidc from 'openid-client';
import { expect } from 'vitest';
import { Browser, csrfOf } from './browser.ts';

/** Where an authorization landed: a page Roster answered with, or the URL it sent the browser back to. */
type Landed = Awaited<ReturnType<Browser['follow']>>;

/** An authorization code + PKCE request started in `browser`. */
interface Pkce {
  browser: Browser;
  verifier: string;
  state: string;
  nonce: string;
}

/** An authorization request and where it landed (a sign-in form, or back at the application: SSO, errors). */
export interface Authorization extends Pkce {
  landed: Landed;
}

/** An authorization request that landed on the sign-in form. */
export interface Started extends Pkce {
  /** The sign-in page's URL and HTML. */
  formUrl: string;
  html: string;
}

/**
 * Authorization parameters besides the PKCE ones, e.g. `scope` (default `openid profile email`),
 * `prompt`, `tenant`; a list gives a repeated parameter (RFC 8707 `resource`).
 */
type AuthorizationParams = Record<string, string | string[]>;

/** openid-client for `clientId` of the issuer `issuer`, public (`secret` absent) or confidential. */
export function relyingParty(issuer: string, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(issuer),
    clientId,
    undefined,
    secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret),
    { execute: [oidc.allowInsecureRequests] },
  );
}

/** Starts an authorization code + PKCE request in `browser` (a new one by default) and follows it. */
export async function authorize(
  origin: string,
  config: oidc.Configuration,
  redirectUri: string,
  params: AuthorizationParams = {},
  browser = new Browser(origin),
): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  for (const [name, value] of Object.entries(params)) {
    url.searchParams.delete(name);
    for (const one of [value].flat()) url.searchParams.append(name, one);
  }
  const landed = await browser.follow(await browser.request(url.href), url.href);
  return { browser, verifier, state, nonce, landed };
}

/** Like `authorize`, expecting the sign-in form. */
export async function startSignIn(
  origin: string,
  config: oidc.Configuration,
  redirectUri: string,
  params: AuthorizationParams = {},
  browser?: Browser,
): Promise<Started> {
  const { landed, ...pkce } = await authorize(origin, config, redirectUri, params, browser);
  if (!('page' in landed)) throw new Error(`left Roster for ${landed.left.href}`);
  expect(landed.page.status).toBe(200);
  expect(landed.url).toMatch(/\/oauth2\/[^/]+\/interaction\/[A-Za-z0-9_-]+$/);
  return { ...pkce, formUrl: landed.url, html: await landed.page.text() };
}

/** Submits the sign-in form; the page shown next, or the URL the browser left Roster for. */
export async function submitSignIn(started: Started, identifier: string, password: string): Promise<Landed> {
  const response = await started.browser.request(started.formUrl, {
    method: 'POST',
    form: { csrf: csrfOf(started.html), identifier, password },
  });
  return started.browser.follow(response, started.formUrl);
}

/** Exchanges the code the browser came back with (`callback`) for tokens. */
export function exchangeCode(config: oidc.Configuration, request: Pkce, callback: URL) {
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    idTokenExpected: true,
  });
}

/** Signs `identifier` in through the hosted page (in `browser`, or a new one) and exchanges the code. */
export async function signIn(
  origin: string,
  config: oidc.Configuration,
  redirectUri: string,
  identifier: string,
  password: string,
  params: AuthorizationParams = {},
  browser?: Browser,
) {
  const started = await startSignIn(origin, config, redirectUri, params, browser);
  const landed = await submitSignIn(started, identifier, password);
  if (!('left' in landed)) throw new Error(`stayed on ${landed.url}: ${await landed.page.text()}`);
  return { tokens: await exchangeCode(config, started, landed.left), browser: started.browser };
}
