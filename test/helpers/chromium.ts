/**
 * Hosted pages in a real browser (Debian's Chromium, headless, driven by Playwright): a test
 * server with a single-page application to sign in to, one Chromium for the file, pages that
 * collect console problems, and the one-time links Roster mails.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import axe from 'axe-core';
import * as oidc from 'openid-client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { openBody } from '../../src/modules/outbox/outbox.service.ts';
import { createApplication } from './fixtures.ts';
import { startTestServer, type TestServer } from './server.ts';

const CHROMIUM = '/usr/bin/chromium';
/** Where screenshots go. */
export const ARTIFACTS = 'test-artifacts';
/** The redirect URI of the single-page application; it is not served: a test catches the browser's arrival. */
export const CALLBACK = 'https://console.example.com/callback';
/** Polling options for waits on the browser or the outbox. */
export const SLOW = { timeout: 30_000 };

/**
 * Waits until the page has placed the focus. Chromium applies `autofocus` at a rendering update
 * after the load event, later on a busy machine: keys typed before that go nowhere (a sign-in
 * test typed its password into the page's body once in CI).
 */
export async function untilFocusPlaced(page: Page): Promise<void> {
  await expect
    .poll(() => page.evaluate(() => document.activeElement !== null && document.activeElement !== document.body), SLOW)
    .toBe(true);
}
/**
 * A browser test's own timeout (the third argument of `it`): a test waits through several pages,
 * each poll up to SLOW, so vitest's default would end a test on a loaded machine that is merely slow.
 */
export const BROWSER_TEST_TIMEOUT = 90_000;
/** The timeout of hooks that start a server and Chromium. */
export const BROWSER_HOOK_TIMEOUT = 120_000;

/** The password of the people the console's browser tests sign in as. */
export const PASSWORD = 'a long and memorable passphrase 7';

/** Creates a person through the API (with a password and roles), as the console's tests set up their administrators. */
export const CREATE_USER = `mutation ($input: CreateUserInput!) {
  createUser(input: $input) { user { id } userErrors { field message code } }
}`;

/** Whether to skip: without Chromium, but never in CI. */
export const withoutChromium = !existsSync(CHROMIUM) && !process.env.CI;

/** Starts Debian's Chromium, headless, with no background traffic of its own. */
/**
 * The SHA-256 (hex) under which the console's build lists the trusted document containing `text`
 * (e.g. `query ConsoleUsers`), for sending that document by hash as the console does.
 */
export function trustedHash(text: string): string {
  const list = JSON.parse(
    readFileSync(new URL('../../dist/console-app/trusted-documents.json', import.meta.url), 'utf8'),
  ) as Record<string, string>;
  const key = Object.keys(list).find((hash) => list[hash]!.includes(text));
  expect(key, text).toBeDefined();
  return key!.slice('sha256:'.length);
}

/**
 * Signs `email` in to the console of `baseUrl` on `page`: realm `default` (the sign-in page's
 * prefilled value, submitted with Enter), the realm's hosted sign-in page, then the Users screen.
 */
export async function signInToConsole(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  const realm = page.getByLabel('Realm', { exact: true });
  await expect.poll(() => realm.inputValue(), SLOW).toBe('default');
  await realm.focus();
  await page.keyboard.press('Enter');
  await page.getByLabel('Email, username or phone number').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor(SLOW);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * What goes wrong in `page` from now on: console errors and warnings and uncaught exceptions,
 * except console lines matching `expected` (by default any 4xx page load, which Chromium logs
 * although a refusal is answered with one on purpose).
 */
export function collectProblems(page: Page, expected: RegExp = /status of 4\d\d/): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (expected.test(message.text())) return;
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/** A page and what went wrong in it: console errors and warnings, and uncaught exceptions. */
interface OpenPage {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

export interface ChromiumPages {
  readonly server: TestServer;
  readonly browser: Browser;
  /** The client ID of the single-page application whose redirect URI is CALLBACK. */
  readonly clientId: string;
  /** A page in a context of its own; `expected`: console lines that are no problem (see collectProblems). */
  newPage(viewport?: { width: number; height: number }, expected?: RegExp): Promise<OpenPage>;
  /** Waits until the field labelled `label` has the focus (see {@link untilFocusPlaced}); fails if it never does. */
  untilFocused(page: Page, label: string): Promise<void>;
  /** The one-time link in the last mail to `recipient` (of `kind` when given), once there is one. */
  linkSentTo(recipient: string, kind?: string): Promise<string>;
  /** An authorization request of the application (PKCE, state), which leads to the sign-in page. */
  authorizationUrl(): Promise<string>;
}

/**
 * Sets up the server (with `options`), the application and Chromium before the file's tests, and
 * closes them after.
 */
export function chromiumPages(options?: Parameters<typeof startTestServer>[0]): ChromiumPages {
  let server: TestServer;
  let browser: Browser;
  let clientId: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startTestServer(options);
    ({ clientId } = await createApplication(server, { name: 'Admin console', type: 'SPA', redirectUris: [CALLBACK] }));
    browser = await launchChromium();
  }, BROWSER_HOOK_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, BROWSER_HOOK_TIMEOUT);

  return {
    get server() {
      return server;
    },
    get browser() {
      return browser;
    },
    get clientId() {
      return clientId;
    },

    async newPage(viewport = { width: 1000, height: 800 }, expected) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      return { context, page, problems: collectProblems(page, expected) };
    },

    async untilFocused(page, label) {
      const field = page.getByLabel(label, { exact: true });
      await expect.poll(() => field.evaluate((element) => element === document.activeElement), SLOW).toBe(true);
    },

    async linkSentTo(recipient, kind) {
      const where = kind ? { recipient, kind } : { recipient };
      await expect.poll(() => server.db.prisma.outboxMessage.count({ where }), SLOW).toBeGreaterThan(0);
      const row = await server.db.prisma.outboxMessage.findFirstOrThrow({ where, orderBy: { id: 'desc' } });
      return /(http:\/\/\S+\?token=[A-Za-z0-9_-]+)/.exec(openBody(server.outboxKey, row)!.text)![1]!;
    },

    async authorizationUrl() {
      const config = await oidc.discovery(new URL(server.issuer()), clientId, undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        state: oidc.randomState(),
      }).href;
    },
  };
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary: string }[];
}

/**
 * The WCAG 2.1 A and AA violations axe finds in `page` as it is now, one line each, outside the
 * elements `exclude` selects. axe runs through the DevTools protocol, outside the page's
 * Content-Security-Policy, which stays on.
 */
export async function accessibilityViolations(page: Page, exclude: string[] = []): Promise<string[]> {
  const context = JSON.stringify({ include: [['html']], exclude: exclude.map((selector) => [selector]) });
  const found = await page.evaluate<Violation[]>(
    `${axe.source}; axe.run(${context}, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((result) => result.violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map(({ target, failureSummary }) => ({ target, failureSummary })) })))`,
  );
  return found.flatMap((violation) =>
    violation.nodes.map(
      (node) =>
        `${violation.id} (${violation.impact}): ${violation.help} — ${node.target.join(' ')}: ${node.failureSummary.replace(/\s+/g, ' ')}`,
    ),
  );
}
