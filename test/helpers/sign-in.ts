/** Signing a person in through the hosted pages with openid-client as the relying party, for tests. */
import * as oidc from 'openid-client';
import { expect } from 'vitest';
import { Browser, csrfOf } from './browser.ts';

export interface Started {
  browser: Browser;
  verifier: string;
  state: string;
  nonce: string;
  /** The sign-in page's URL and HTML. */
  formUrl: string;
  html: string;
}

/**
 * Starts an authorization code + PKCE request (scope `openid profile email` unless `params`
 * says otherwise) in `browser` (a new one by default) and returns the sign-in page.
 */
export async function startSignIn(
  baseUrl: string,
  config: oidc.Configuration,
  redirectUri: string,
  params: Record<string, string | string[]> = {},
  browser = new Browser(baseUrl),
): Promise<Started> {
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
  // Repeated parameters (RFC 8707 `resource`) given as lists.
  for (const [name, value] of Object.entries(params)) {
    url.searchParams.delete(name);
    for (const one of [value].flat()) url.searchParams.append(name, one);
  }
  const landed = await browser.follow(await browser.request(url.href), url.href);
  if (!('page' in landed)) throw new Error(`left Roster for ${landed.left.href}`);
  expect(landed.page.status).toBe(200);
  expect(landed.url).toMatch(/\/oauth2\/[^/]+\/interaction\/[A-Za-z0-9_-]+$/);
  return { browser, verifier, state, nonce, formUrl: landed.url, html: await landed.page.text() };
}

/** Submits the sign-in form; the page shown next, or the URL the browser left Roster for. */
export async function submitSignIn(started: Started, identifier: string, password: string) {
  const response = await started.browser.request(started.formUrl, {
    method: 'POST',
    form: { csrf: csrfOf(started.html), identifier, password },
  });
  return started.browser.follow(response, started.formUrl);
}

/** Exchanges the code the browser came back with (`callback`) for tokens. */
export function exchangeCode(config: oidc.Configuration, started: Started, callback: URL) {
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
    idTokenExpected: true,
  });
}

/** Signs `identifier` in through the hosted page and exchanges the code. */
export async function signIn(
  baseUrl: string,
  config: oidc.Configuration,
  redirectUri: string,
  identifier: string,
  password: string,
  params: Record<string, string | string[]> = {},
) {
  const started = await startSignIn(baseUrl, config, redirectUri, params);
  const landed = await submitSignIn(started, identifier, password);
  if (!('left' in landed)) throw new Error(`stayed on ${landed.url}: ${await landed.page.text()}`);
  return { tokens: await exchangeCode(config, started, landed.left), browser: started.browser };
}
