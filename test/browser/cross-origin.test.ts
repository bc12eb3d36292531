/**
 * Pages of other origins in a real browser (Debian's Chromium, headless, driven by Playwright),
 * where CORS is enforced: a SPA on the origin of one of its redirect URIs signs a user in and
 * exchanges the code and the refresh token at the token endpoint from the page; the same
 * origin, listed in ROSTER_CORS_ORIGINS, reads the API's answers; another origin reads neither.
 * The pages of both origins come from a blank page server of the test on 127.0.0.1 (as a real
 * SPA's would: Chromium lets only pages served from loopback call a loopback server).
 * CI installs Chromium (.ci/run); elsewhere the file is skipped when Chromium is missing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { BROWSER_HOOK_TIMEOUT, launchChromium, withoutChromium } from '../helpers/chromium.ts';
import { createApplication, makeUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'a long and memorable passphrase 7';

/** What a page's `fetch` got: the answer, or the error the browser raised instead (CORS). */
type Outcome = { status: number; body: any } | { error: string };

describe.skipIf(withoutChromium)('pages of other origins in Chromium (CORS)', () => {
  let server: TestServer;
  let pages: Server;
  let browser: Browser;
  let clientId: string;
  /** The SPA's origin (of its redirect URI, and in ROSTER_CORS_ORIGINS) and another one, both the page server's. */
  let SPA: string;
  let OTHER: string;
  let CALLBACK: string;

  beforeAll(async () => {
    pages = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>');
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const { port } = pages.address() as AddressInfo;
    SPA = `http://127.0.0.1:${port}`;
    OTHER = `http://localhost:${port}`;
    CALLBACK = `${SPA}/callback`;
    server = await startTestServer({ corsOrigins: [SPA] });
    ({ clientId } = await createApplication(server, { name: 'Console', type: 'SPA', redirectUris: [CALLBACK] }));
    await makeUser(server, server.admin.realmId, {
      email: 'grace@example.com',
      emailVerified: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    browser = await launchChromium();
  }, BROWSER_HOOK_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    pages?.closeAllConnections();
    await new Promise((resolve) => pages?.close(resolve));
  }, BROWSER_HOOK_TIMEOUT);

  /** A fetch from `page`, as the page's own script would make it. */
  const fetchFrom = (
    page: Page,
    url: string,
    init: { method: string; headers: Record<string, string>; body: string },
  ) =>
    page.evaluate(
      async ({ url, init }): Promise<Outcome> => {
        try {
          const response = await fetch(url, init);
          return { status: response.status, body: await response.json() };
        } catch (error) {
          return { error: String(error) };
        }
      },
      { url, init },
    );

  const tokenRequest = (page: Page, parameters: Record<string, string>) =>
    fetchFrom(page, `${server.issuer()}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId, ...parameters }).toString(),
    });

  const apiRequest = async (page: Page) =>
    fetchFrom(page, `${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await server.token()}` },
      body: JSON.stringify({ query: '{ viewer { clientId } }' }),
    });

  it('lets the SPA exchange its code and refresh token from its page, and read the API; another origin neither', async () => {
    const context = await browser.newContext();
    const outside: string[] = [];
    await context.route(
      (url) => ![new URL(server.url).host, new URL(SPA).host, new URL(OTHER).host].includes(url.host),
      async (route) => {
        outside.push(route.request().url());
        await route.abort();
      },
    );
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });

    const config = await oidc.discovery(new URL(server.issuer()), clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorization = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    await page.goto(authorization.href);
    await page.getByLabel('Email, username or phone number').fill('grace@example.com');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).origin, { timeout: 15_000 }).toBe(SPA);
    const code = new URL(page.url()).searchParams.get('code')!;
    expect(new URL(page.url()).searchParams.get('state')).toBe(state);

    // On the SPA's origin: the browser lets the page read the token endpoint's answers.
    const exchanged = await tokenRequest(page, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
    });
    expect(exchanged).toMatchObject({ status: 200, body: { token_type: 'Bearer', access_token: expect.any(String) } });
    const refreshToken = (exchanged as { body: { refresh_token: string } }).body.refresh_token;
    expect(refreshToken).toEqual(expect.any(String));
    const refreshed = await tokenRequest(page, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refreshed).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
    // ROSTER_CORS_ORIGINS lists the SPA's origin: its page reads the API (after a preflight for the Authorization header).
    expect(await apiRequest(page)).toEqual({
      status: 200,
      body: { data: { viewer: { clientId: server.admin.clientId } } },
    });

    // Another origin: the browser withholds both answers from the page.
    await page.goto(`${OTHER}/`);
    const refusedToken = await tokenRequest(page, {
      grant_type: 'refresh_token',
      refresh_token: (refreshed as { body: { refresh_token: string } }).body.refresh_token,
    });
    expect(refusedToken).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
    expect(await apiRequest(page)).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
    const blocked = consoleErrors.filter((text) => /has been blocked by CORS policy/.test(text));
    expect(blocked.map((text) => /^Access to fetch at '([^']+)' from origin '([^']+)'/.exec(text)?.slice(1))).toEqual([
      [`${server.issuer()}/token`, OTHER],
      [`${server.url}/graphql`, OTHER],
    ]);

    expect(outside).toEqual([]);
    await context.close();
  }, 120_000);
});
