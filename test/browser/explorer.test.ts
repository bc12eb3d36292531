/**
 * The explorer (GraphiQL and its sign-in helper) in a real browser (Debian's Chromium, headless,
 * driven by Playwright): it loads with no request leaving Roster and no Content-Security-Policy
 * violation, gets a token with the admin client at the real token endpoint, runs the default
 * query, keeps the headers across a reload, renews the token once it has expired, and names a
 * token that no longer works. Screenshots go to test-artifacts/.
 * CI installs Chromium (.ci/run); elsewhere the file is skipped when Chromium is missing.
 */
import { mkdirSync } from 'node:fs';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessibilityViolations,
  ARTIFACTS,
  BROWSER_HOOK_TIMEOUT,
  collectProblems,
  launchChromium,
  SLOW,
  withoutChromium,
} from '../helpers/chromium.ts';
import { makeUser } from '../helpers/fixtures.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

describe.skipIf(withoutChromium)('the explorer in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startTestServer({ explorer: true });
    for (const [email, name] of [
      ['ada@example.com', 'Ada Lovelace'],
      ['grace@example.com', 'Grace Hopper'],
      ['linus@example.com', 'Linus Torvalds'],
    ] as const) {
      await makeUser(server, server.admin.realmId, { email, name, status: 'ACTIVE' });
    }
    browser = await launchChromium();
  }, BROWSER_HOOK_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, BROWSER_HOOK_TIMEOUT);

  interface Explorer {
    context: BrowserContext;
    page: Page;
    /** Requests for anything but Roster (the route refuses them). */
    outside: () => string[];
    /** Console errors and warnings, Content-Security-Policy violations, uncaught errors. */
    problems: string[];
    /** Requests to the token endpoint. */
    tokenRequests: () => number;
  }

  async function openExplorer(options: { fakeClock?: boolean } = {}): Promise<Explorer> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const refused: string[] = [];
    const seen: string[] = [];
    await context.route(
      (url) => url.host !== new URL(server.url).host,
      async (route) => {
        refused.push(route.request().url());
        await route.abort();
      },
    );
    context.on('request', (request) => seen.push(request.url()));
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) =>
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    const page = await context.newPage();
    // The API answers a request without a valid token with 401 on purpose; Chromium logs it.
    const problems = collectProblems(page, /status of 401/);
    if (options.fakeClock) await page.clock.install();
    await page.goto(`${server.url}/graphql`);
    return {
      context,
      page,
      // data: URLs (the build's fonts and images) are no requests on the network.
      outside: () => [
        ...refused,
        ...seen.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith('data:')),
      ],
      problems,
      tokenRequests: () => seen.filter((url) => url.startsWith(`${server.url}/oauth2/`)).length,
    };
  }

  /** The text of one of GraphiQL's editors (its Monaco model, whose lines are not all in the DOM). */
  const editorText = (page: Page, file: 'request-headers.json' | 'response.json') =>
    page.evaluate(
      (name) =>
        (
          globalThis as unknown as {
            monaco?: { editor: { getModels(): { uri: { path: string }; getValue(): string }[] } };
          }
        ).monaco?.editor
          .getModels()
          .find((model) => model.uri.path.endsWith(name))
          ?.getValue() ?? '',
      file,
    );

  const bearer = async (page: Page) => /Bearer (\S+?)"/.exec(await editorText(page, 'request-headers.json'))?.[1];

  /** Runs the query and waits for its response (the response editor, emptied first); returns it parsed. */
  async function run(page: Page): Promise<any> {
    await page.evaluate(() =>
      (
        globalThis as unknown as {
          monaco: { editor: { getModels(): { uri: { path: string }; setValue(text: string): void }[] } };
        }
      ).monaco.editor
        .getModels()
        .find((model) => model.uri.path.endsWith('response.json'))!
        .setValue(''),
    );
    await page.getByRole('button', { name: /^Execute query/ }).click();
    await expect.poll(async () => (await editorText(page, 'response.json')).trim().endsWith('}'), SLOW).toBe(true);
    return JSON.parse(await editorText(page, 'response.json'));
  }

  async function signInWithClient(page: Page, credentials: Credentials) {
    const dialog = page.getByRole('dialog', { name: 'Sign in to the API' });
    if (!(await dialog.isVisible())) await page.getByRole('button', { name: 'Sign in' }).click();
    await dialog.getByLabel('Realm').fill(credentials.realmName);
    await dialog.getByLabel('Client id').fill(credentials.clientId);
    await dialog.getByLabel('Client secret').fill(credentials.clientSecret);
    await dialog.getByRole('button', { name: 'Get a token' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent(), SLOW)
      .toMatch(new RegExp(`^Signed in with client ${credentials.clientId} of realm ${credentials.realmName};`));
    expect(await dialog.isVisible()).toBe(false);
  }

  it('loads from Roster alone, gets a token with the admin client, runs the default query and keeps the headers', async () => {
    const { context, page, outside, problems, tokenRequests } = await openExplorer();
    const dialog = page.getByRole('dialog', { name: 'Sign in to the API' });
    // Nothing to show without a token: the helper asks first.
    await expect.poll(() => dialog.isVisible(), SLOW).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: /^Execute query/ }).isVisible(), SLOW).toBe(true);
    // The realm is filled in (default); the focus waits in the client id.
    expect(await dialog.getByLabel('Realm').inputValue()).toBe('default');
    expect(await dialog.getByLabel('Client id').evaluate((element) => element === document.activeElement)).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/explorer-sign-in.png` });
    // GraphiQL's own editor and documentation are left out (third-party; see the README).
    expect(await accessibilityViolations(page, ['.graphiql-container'])).toEqual([]);

    await signInWithClient(page, server.admin);
    const token = (await bearer(page))!;
    expect(decodeJwt(token)).toMatchObject({ client_id: server.admin.clientId, iss: server.issuer() });
    expect(tokenRequests()).toBe(1);

    const answer = await run(page);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.viewer).toMatchObject({ clientId: server.admin.clientId, realm: { name: 'default' } });
    expect(answer.data.users.totalCount).toBe(3);
    expect(answer.data.users.nodes.map((user: { email: string }) => user.email).sort()).toEqual([
      'ada@example.com',
      'grace@example.com',
      'linus@example.com',
    ]);
    // The schema was fetched with the token: the documentation lists the root types.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await expect.poll(() => page.getByText('Root Types').isVisible(), SLOW).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/explorer-first-query.png` });
    // GraphiQL's own editor and documentation are left out (third-party; see the README).
    expect(await accessibilityViolations(page, ['.graphiql-container'])).toEqual([]);

    // GraphiQL keeps the headers; the helper keeps the client for this tab.
    await page.reload();
    await expect.poll(() => bearer(page), SLOW).toBe(token);
    await expect.poll(() => page.getByRole('status').textContent(), SLOW).toMatch(/^Signed in with client/);
    expect(await dialog.isVisible()).toBe(false);
    expect((await run(page)).data.users.totalCount).toBe(3);
    expect(tokenRequests()).toBe(1);

    expect(outside()).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('renews the admin client’s token once it has expired, before the next request', async () => {
    const { context, page, outside, problems, tokenRequests } = await openExplorer({ fakeClock: true });
    await signInWithClient(page, server.admin);
    const first = (await bearer(page))!;
    expect((await run(page)).data.viewer.clientId).toBe(server.admin.clientId);

    // The realm's tokens last an hour.
    await page.clock.fastForward('02:00:00');
    const answer = await run(page);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.viewer.clientId).toBe(server.admin.clientId);
    expect(tokenRequests()).toBe(2);
    const renewed = (await bearer(page))!;
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed).jti).not.toBe(decodeJwt(first).jti);
    expect(await page.getByRole('alert').first().textContent()).toBe('');

    expect(outside()).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('says so when the token can no longer be renewed (the application was disabled)', async () => {
    const other = await server.createRealm('explorer-other');
    const { context, page, outside, problems } = await openExplorer();
    await signInWithClient(page, other);
    expect((await run(page)).data.viewer.realm.name).toBe('explorer-other');

    await server.db.prisma.application.update({
      where: { clientId: other.clientId },
      data: { disabledAt: new Date() },
    });
    const answer = await run(page);
    expect(answer.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await expect
      .poll(() => page.locator('#roster-problem').textContent(), SLOW)
      .toBe('The token could not be renewed: Client authentication failed. Sign in again.');
    // The helper forgot the client: the status no longer promises a renewal.
    expect(await page.getByRole('status').textContent()).toMatch(/^Using the access token in the headers/);
    await page.screenshot({ path: `${ARTIFACTS}/explorer-renewal-refused.png` });
    // GraphiQL's own editor and documentation are left out (third-party; see the README).
    expect(await accessibilityViolations(page, ['.graphiql-container'])).toEqual([]);

    expect(outside()).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('uses a pasted access token, and names the refusal of one that does not work', async () => {
    const { context, page, outside, problems, tokenRequests } = await openExplorer();
    const dialog = page.getByRole('dialog', { name: 'Sign in to the API' });
    const token = await server.token();
    await expect.poll(() => dialog.isVisible(), SLOW).toBe(true);
    await dialog.getByLabel('Access token').fill(`Bearer ${token}`);
    await dialog.getByRole('button', { name: 'Use this token' }).click();
    await expect.poll(() => bearer(page), SLOW).toBe(token);
    expect(await page.getByRole('status').textContent()).toMatch(
      /^Using the access token in the headers; it expires at /,
    );
    const answer = await run(page);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.users.totalCount).toBe(3);

    await page.getByRole('button', { name: 'Sign in' }).click();
    await dialog.getByLabel('Access token').fill('not-a-token');
    await dialog.getByRole('button', { name: 'Use this token' }).click();
    await expect.poll(() => bearer(page), SLOW).toBe('not-a-token');
    expect((await run(page)).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await expect
      .poll(() => page.locator('#roster-problem').textContent(), SLOW)
      .toBe('The API refused the access token: The access token is malformed. Sign in again or paste a new one.');
    await page.screenshot({ path: `${ARTIFACTS}/explorer-token-refused.png` });
    // GraphiQL's own editor and documentation are left out (third-party; see the README).
    expect(await accessibilityViolations(page, ['.graphiql-container'])).toEqual([]);
    // No admin client in this tab: nothing to renew with.
    expect(tokenRequests()).toBe(0);

    expect(outside()).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
