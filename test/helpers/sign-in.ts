/** An application's side of a sign-in through the hosted pages: openid-client and a browser. */
import * as oidc from 'openid-client';
import { Browser, csrfOf } from './browser.ts';

/** An authorization code + PKCE request started in `browser`, and where it landed. */
export interface Authorization {
  browser: Browser;
  verifier: string;
  state: string;
  nonce: string;
  /** The page Roster answered with (a sign-in form), or the URL it sent the browser back to. */
  landed: { page: Response; url: string } | { left: URL };
}

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

/** Starts an authorization code + PKCE request in `browser` (a new one by default). */
export async function authorize(
  origin: string,
  config: oidc.Configuration,
  redirectUri: string,
  options: { browser?: Browser; prompt?: string; scope?: string } = {},
): Promise<Authorization> {
  const browser = options.browser ?? new Browser(origin);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: options.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...(options.prompt ? { prompt: options.prompt } : {}),
  });
  const landed = await browser.follow(await browser.request(url.href), url.href);
  return { browser, verifier, state, nonce, landed };
}

/** Types the identifier and password into the sign-in form `authorization` landed on. */
export async function submitPassword(
  authorization: Authorization,
  identifier: string,
  password: string,
): Promise<Authorization['landed']> {
  const { browser, landed } = authorization;
  if (!('page' in landed)) throw new Error(`no sign-in form: left for ${landed.left.href}`);
  const form = { csrf: csrfOf(await landed.page.text()), identifier, password };
  return browser.follow(await browser.request(landed.url, { method: 'POST', form }), landed.url);
}

/** Exchanges the code of an authorization that came back to the application. */
export function exchangeCode(config: oidc.Configuration, authorization: Authorization, left: URL) {
  return oidc.authorizationCodeGrant(config, left, {
    pkceCodeVerifier: authorization.verifier,
    expectedState: authorization.state,
    expectedNonce: authorization.nonce,
    idTokenExpected: true,
  });
}

/** Signs `identifier` in through the hosted pages (in `browser`, or a new one) and exchanges the code. */
export async function signIn(
  origin: string,
  config: oidc.Configuration,
  redirectUri: string,
  identifier: string,
  password: string,
  browser?: Browser,
) {
  const authorization = await authorize(origin, config, redirectUri, browser ? { browser } : {});
  const landed = await submitPassword(authorization, identifier, password);
  if (!('left' in landed)) throw new Error(`stayed on ${landed.url}: ${await landed.page.text()}`);
  return { tokens: await exchangeCode(config, authorization, landed.left), browser: authorization.browser };
}
