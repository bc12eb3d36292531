/**
 * The admin console in a real browser (Debian's Chromium, headless, driven by Playwright) against
 * a real Roster: an administrator signs in through the realm's hosted sign-in page (code + PKCE,
 * a management API token), finds a user by a misspelt search, opens them and suspends them; an
 * administrator whose roles lack `users:write` sees the control disabled, with the reason, and the
 * API refuses their token too. Every page renders under the console's Content-Security-Policy
 * without a console error. Screenshots go to test-artifacts/.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  BROWSER_HOOK_TIMEOUT,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  SLOW,
  withoutChromium,
} from '../helpers/chromium.ts';
import { adminRoleId, makeRole, makeSession, userGid } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

const PASSWORD = 'a long and memorable passphrase 7';

const CREATE_USER = `mutation ($input: CreateUserInput!) {
  createUser(input: $input) { user { id } userErrors { field message code } }
}`;

describe.skipIf(withoutChromium)('the admin console in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;
  let graceId: string;

  async function createUser(input: Record<string, unknown>): Promise<string> {
    const result = await server.graphql(CREATE_USER, { input: { emailVerified: true, ...input } });
    expect(result.data?.createUser.userErrors).toEqual([]);
    return result.data!.createUser.user.id as string;
  }

  beforeAll(async () => {
    server = chromium.server;
    await createUser({
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      password: PASSWORD,
      roleIds: [await adminRoleId(server, server.admin.realmId)],
    });
    const reader = await makeRole(server, server.admin.realmId, 'Support reader', ['users:read', 'roles:read']);
    await createUser({
      email: 'rita@example.com',
      name: 'Rita Reader',
      password: PASSWORD,
      roleIds: [reader.globalId],
    });
    graceId = await createUser({ email: 'grace@example.com', name: 'Grace Hopper', username: 'grace' });
    for (const [name, email] of [
      ['Alan Turing', 'alan@example.com'],
      ['Katherine Johnson', 'katherine@example.com'],
      ['Edsger Dijkstra', 'edsger@example.com'],
      ['Barbara Liskov', 'barbara@example.com'],
      ['Margaret Hamilton', 'margaret@example.com'],
    ]) {
      await createUser({ email, name });
    }
    const mallory = await createUser({ email: 'mallory@example.com', name: 'Mallory Mischief' });
    const suspended = await server.graphql(
      'mutation ($id: ID!) { suspendUser(input: { id: $id }) { userErrors { code } } }',
      {
        id: mallory,
      },
    );
    expect(suspended.data?.suspendUser.userErrors).toEqual([]);
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context and signs in as `email` through the realm's hosted page. */
  async function signIn(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 860 });
    const { page } = opened;
    await page.goto(`${server.url}/console/`);
    const realm = page.getByLabel('Realm', { exact: true });
    await expect.poll(() => realm.inputValue(), SLOW).toBe('default');
    if (email === 'ada@example.com') await page.screenshot({ path: `${ARTIFACTS}/console-sign-in.png` });
    // Keyboard only: the realm field has the value; Enter submits.
    await realm.focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Email, username or phone number').waitFor(SLOW);
    expect(new URL(page.url()).pathname).toMatch(/^\/oauth2\/default\/interaction\//);
    await page.getByLabel('Email, username or phone number').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor(SLOW);
    expect(new URL(page.url()).pathname).toBe('/console/');
    return opened;
  }

  /** The rows of the users table, as their link texts. */
  const rowNames = (page: Page) => page.locator('tbody .user-name').allTextContents();

  it(
    'signs the administrator in, finds a user by a misspelt name, opens them and suspends them',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      await expect.poll(() => rowNames(page), SLOW).toHaveLength(9);
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'Showing' }).textContent(), SLOW)
        .toBe('Showing 1–9 of 9');
      expect(await page.locator('.me-name').textContent()).toBe('Ada Lovelace');
      await page.screenshot({ path: `${ARTIFACTS}/console-users.png` });

      // The status filter, with its counts.
      const suspendedFilter = page.getByRole('checkbox', { name: /Suspended/ });
      expect(await page.locator('label.check', { hasText: 'Suspended' }).locator('.count').textContent()).toBe('1');
      await suspendedFilter.check();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Mallory Mischief']);
      expect(new URL(page.url()).searchParams.get('status')).toBe('SUSPENDED');
      await suspendedFilter.uncheck();
      await expect.poll(() => rowNames(page), SLOW).toHaveLength(9);

      // Sorted by name.
      await page.getByLabel('Sort', { exact: true }).selectOption('name');
      await expect.poll(async () => (await rowNames(page))[0], SLOW).toBe('Ada Lovelace');

      // Search as you type, with a typo.
      await page.getByLabel('Search users').pressSequentially('Grace Hoper', { delay: 30 });
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Grace Hopper']);
      await page.screenshot({ path: `${ARTIFACTS}/console-search.png` });

      const grace = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'grace@example.com' } });
      for (let i = 0; i < 3; i++) await makeSession(server, server.admin.realmId, grace.id);
      await page.getByRole('link', { name: /Grace Hopper/ }).click();
      await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor(SLOW);
      expect(new URL(page.url()).pathname).toBe(`/console/users/${encodeURIComponent(graceId)}`);
      const badge = page.locator('.title-line .badge');
      expect(await badge.textContent()).toBe('Active');

      // Revoke one of her three sessions.
      const revoke = page.getByRole('button', { name: 'Revoke', exact: true });
      await expect.poll(() => revoke.count(), SLOW).toBe(3);
      await page.screenshot({ path: `${ARTIFACTS}/console-user.png`, fullPage: true });
      await revoke.first().click();
      await expect.poll(() => revoke.count(), SLOW).toBe(2);
      const revokedAt = async () =>
        (await server.db.prisma.session.findMany({ where: { userId: grace.id }, orderBy: { id: 'asc' } })).map(
          (session) => session.revokedAt !== null,
        );
      expect((await revokedAt()).filter(Boolean)).toHaveLength(1);

      // A reason longer than the API allows: the refusal appears next to the field; nothing changes.
      await page.getByLabel('Reason (optional)').fill('x'.repeat(501));
      await page.getByRole('button', { name: 'Suspend user' }).click();
      await expect.poll(() => page.locator('#suspend-reason-errors').textContent(), SLOW).toMatch(/500/);
      expect(await page.getByLabel('Reason (optional)').getAttribute('aria-invalid')).toBe('true');
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: grace.id } })).status).toBe('ACTIVE');
      await page.screenshot({ path: `${ARTIFACTS}/console-user-error.png` });

      await page.getByLabel('Reason (optional)').fill('Reported phishing from this account');
      await page.getByRole('button', { name: 'Suspend user' }).click();
      await expect.poll(() => badge.textContent(), SLOW).toBe('Suspended');
      expect(await page.getByRole('button', { name: 'Unsuspend user' }).isEnabled()).toBe(true);
      await expect.poll(() => page.getByText('Suspended: “Reported phishing from this account”').count(), SLOW).toBe(1);
      // Suspending ended her other sessions.
      await expect.poll(() => page.getByText('No active sessions.').count(), SLOW).toBe(1);
      expect(await revokedAt()).toEqual([true, true, true]);
      await page.screenshot({ path: `${ARTIFACTS}/console-user-suspended.png`, fullPage: true });

      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: grace.id } })).status).toBe('SUSPENDED');
      // The audit trail names the administrator, not an application.
      const ada = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
      const event = await server.db.prisma.auditEvent.findFirstOrThrow({
        where: { action: 'user.suspended', targetId: grace.id },
      });
      expect({ actorType: event.actorType, actorId: event.actorId }).toEqual({ actorType: 'user', actorId: ada.id });

      // Unsuspended, she signs in on two devices; the administrator ends both sessions at once.
      await page.getByRole('button', { name: 'Unsuspend user' }).click();
      await expect.poll(() => badge.textContent(), SLOW).toBe('Active');
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: grace.id } })).status).toBe('ACTIVE');
      for (let i = 0; i < 2; i++) await makeSession(server, server.admin.realmId, grace.id);
      await page.reload();
      await expect.poll(() => revoke.count(), SLOW).toBe(2);
      await page.getByRole('button', { name: 'Revoke all sessions' }).click();
      await expect.poll(() => page.getByText('No active sessions.').count(), SLOW).toBe(1);
      expect(await revokedAt()).toEqual([true, true, true, true, true]);

      // Back to the list, with the browser or the link: the search is where it was.
      await page.goBack();
      await expect.poll(() => page.getByLabel('Search users').inputValue(), SLOW).toBe('Grace Hoper');
      await page.goForward();
      await page.getByRole('link', { name: '← All users' }).click();
      await expect.poll(() => page.getByLabel('Search users').inputValue(), SLOW).toBe('Grace Hoper');
      expect(new URL(page.url()).searchParams.get('sort')).toBe('name');
      await expect.poll(() => page.locator('tbody .badge').allTextContents(), SLOW).toEqual(['Active']);

      // Signing out ends the sign-in at the realm and comes back to the console's sign-in page.
      const adaSessions = () => server.db.prisma.session.count({ where: { userId: ada.id, revokedAt: null } });
      expect(await adaSessions()).toBe(1);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.getByRole('button', { name: 'Continue to sign in' }).waitFor(SLOW);
      expect(new URL(page.url()).pathname).toBe('/console/');
      expect(await page.evaluate(() => sessionStorage.getItem('roster-console:session'))).toBeNull();
      await expect.poll(adaSessions, SLOW).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows an administrator without users:write the suspend control disabled, with the reason; the API refuses the console’s own mutation too',
    async () => {
      const { page, problems } = await signIn('rita@example.com');
      await page.getByLabel('Search users').fill('katherine');
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Katherine Johnson']);
      await page.getByRole('link', { name: /Katherine Johnson/ }).click();
      await page.getByRole('heading', { name: 'Katherine Johnson', level: 1 }).waitFor(SLOW);
      const suspend = page.getByRole('button', { name: 'Suspend user' });
      expect(await suspend.isDisabled()).toBe(true);
      expect(await page.getByLabel('Reason (optional)').isDisabled()).toBe(true);
      expect(await page.locator('#access-reason').textContent()).toBe(
        'Needs the users:write scope, which your roles do not grant.',
      );
      expect(await suspend.getAttribute('aria-describedby')).toBe('access-reason');
      await page.screenshot({ path: `${ARTIFACTS}/console-user-read-only.png` });

      // An access token about to expire is renewed with the refresh token before the next request.
      const stored = () =>
        page.evaluate(() => JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string });
      const first = (await stored()).accessToken;
      await page.evaluate(() => {
        const session = JSON.parse(sessionStorage.getItem('roster-console:session')!) as { expiresAt: number };
        sessionStorage.setItem('roster-console:session', JSON.stringify({ ...session, expiresAt: Date.now() }));
      });
      await page.reload();
      await page.getByRole('heading', { name: 'Katherine Johnson', level: 1 }).waitFor(SLOW);
      const renewed = (await stored()).accessToken;
      expect(renewed).not.toBe(first);
      expect(await page.locator('#access-reason').textContent()).toMatch(/users:write/);

      // The console's token really lacks the scope: the API refuses the console's own mutation.
      const token = await page.evaluate(
        () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
      );
      const katherine = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'katherine@example.com' } });
      const list = JSON.parse(
        readFileSync(new URL('../../dist/console-app/trusted-documents.json', import.meta.url), 'utf8'),
      ) as Record<string, string>;
      const suspendHash = Object.keys(list)
        .find((key) => list[key]!.includes('mutation ConsoleSuspendUser('))!
        .slice('sha256:'.length);
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          extensions: { persistedQuery: { version: 1, sha256Hash: suspendHash } },
          variables: { id: userGid(katherine.id), reason: null },
        }),
      });
      const refused = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: katherine.id } })).status).toBe('ACTIVE');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
