/**
 * The admin console in a real browser (Debian's Chromium, headless, driven by Playwright) against
 * a real Roster: an administrator signs in through the realm's hosted sign-in page (code + PKCE,
 * a management API token), finds a user by a misspelt search, opens them and suspends them; an
 * administrator whose roles lack `users:write` sees the control disabled, with the reason, and the
 * API refuses their token too. Every page renders under the console's Content-Security-Policy
 * without a console error. Screenshots go to test-artifacts/.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  BROWSER_HOOK_TIMEOUT,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  CREATE_USER,
  PASSWORD,
  SLOW,
  trustedHash,
  withoutChromium,
} from '../helpers/chromium.ts';
import { adminRoleId, makeFactor, makeRole, makeSession, userGid } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

const UPDATE_USER = `mutation ($input: UpdateUserInput!) {
  updateUser(input: $input) { user { version } userErrors { field message code } }
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
      const linked = await server.graphql(
        `mutation ($input: LinkUserIdentityInput!) { linkUserIdentity(input: $input) { userErrors { code } } }`,
        {
          input: {
            userId: userGid(
              (await server.db.prisma.user.findFirstOrThrow({ where: { email: 'katherine@example.com' } })).id,
            ),
            provider: 'github',
            providerUserId: '4242',
          },
        },
      );
      expect(linked.data?.linkUserIdentity.userErrors).toEqual([]);
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
      const suspendHash = trustedHash('mutation ConsoleSuspendUser(');
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

      // Every write control of the one-user page is disabled, with the reason next to it.
      const reason = 'Needs the users:write scope, which your roles do not grant.';
      /** Whether the button is disabled and described by the reason (or by `why`). */
      const disabledBecause = async (name: string, why = reason) => {
        const button = page.getByRole('button', { name, exact: true });
        expect(await button.isDisabled(), name).toBe(true);
        const described = await button.getAttribute('aria-describedby');
        expect(described, name).toBeTruthy();
        expect(await page.locator(`#${described}`).textContent(), name).toBe(why);
      };
      await disabledBecause('Give role', 'Needs the users:roles scope, which your roles do not grant.');
      expect(await page.getByLabel('Give a role').isDisabled()).toBe(true);
      for (const name of [
        'Edit profile',
        'Set password',
        'Expire password',
        'Add note',
        'Delete user',
        'Erase user for good',
      ])
        await disabledBecause(name);
      expect(await page.getByLabel('New password').isDisabled()).toBe(true);
      expect(await page.getByLabel(/To erase the user/).isDisabled()).toBe(true);
      await page.getByRole('tab', { name: 'Second factors and identities' }).click();
      await disabledBecause('Reset authenticator and recovery codes');
      await disabledBecause('Remove passkeys');
      await disabledBecause('Unlink github 4242');
      await page.getByRole('tab', { name: 'Audit trail' }).click();
      await expect
        .poll(() => page.locator('#audit-reason').textContent(), SLOW)
        .toBe('Needs the audit:read scope, which your roles do not grant.');
      await page.screenshot({ path: `${ARTIFACTS}/console-user-audit-read-only.png` });

      // The API refuses the console's erase to this token as well: nothing is deleted.
      const erase = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          extensions: {
            persistedQuery: { version: 1, sha256Hash: trustedHash('mutation ConsoleDeleteUser(') },
          },
          variables: { id: userGid(katherine.id), hard: true },
        }),
      });
      const erased = (await erase.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(erased.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await server.db.prisma.user.count({ where: { id: katherine.id, deletedAt: null } })).toBe(1);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  /** Signs in as Ada and opens the page of the user with global id `id`. */
  async function openUser(id: string, name: string) {
    const opened = await signIn('ada@example.com');
    await opened.page.goto(`${server.url}/console/users/${encodeURIComponent(id)}`);
    await opened.page.getByRole('heading', { name, level: 1 }).waitFor(SLOW);
    return opened;
  }

  it(
    'edits a profile with optimistic concurrency: a stale edit changes nothing and shows who changed what',
    async () => {
      const alan = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'alan@example.com' } });
      const alanId = userGid(alan.id);
      const { page, problems } = await openUser(alanId, 'Alan Turing');
      await page.getByRole('button', { name: 'Edit profile' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Alan M. Turing');
      await page.getByLabel('Nickname').fill('Prof');

      // Meanwhile, another caller renames him.
      const other = await server.graphql(UPDATE_USER, {
        input: { id: alanId, patch: { name: 'Alan Mathison Turing', city: 'Wilmslow' } },
      });
      expect(other.data?.updateUser.userErrors).toEqual([]);
      const before = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alan.id } });

      await page.getByRole('button', { name: 'Save profile' }).click();
      const conflict = page.locator('.conflict');
      await conflict.waitFor(SLOW);
      expect(await conflict.getByRole('heading').textContent()).toBe(
        'Someone changed this user after you started editing',
      );
      // Who changed what, from the audit trail: the other caller, and the fields with before and after.
      const change = conflict.locator('.audit-event');
      await expect.poll(() => change.count(), SLOW).toBe(1);
      const adminApp = await server.db.prisma.application.findFirstOrThrow({
        where: { clientId: server.admin.clientId },
      });
      await expect.poll(() => change.locator('strong').textContent(), SLOW).toBe(`${adminApp.name} (application)`);
      expect(await change.locator('code').textContent()).toBe('user.updated');
      expect(await change.locator('.changes').textContent()).toContain('name: “Alan Turing” → “Alan Mathison Turing”');
      expect(await change.locator('.changes').textContent()).toContain('city: — → “Wilmslow”');
      await expect
        .poll(() => page.locator('#profile-name-now').textContent(), SLOW)
        .toBe('Changed meanwhile to “Alan Mathison Turing” (was “Alan Turing”).');
      // Nothing of the stale edit was saved; the draft is still in the form.
      const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alan.id } });
      expect({ name: after.name, nickname: after.nickname, version: after.version }).toEqual({
        name: 'Alan Mathison Turing',
        nickname: null,
        version: before.version,
      });
      expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('Alan M. Turing');
      await page.screenshot({ path: `${ARTIFACTS}/console-user-conflict.png`, fullPage: true });

      // The administrator keeps their edits on top of the current version and saves again.
      await page.getByRole('button', { name: 'Apply my edits to the current version' }).click();
      await page.getByRole('button', { name: 'Save profile' }).click();
      await page.getByText('Profile saved.').waitFor(SLOW);
      const saved = await server.db.prisma.user.findUniqueOrThrow({ where: { id: alan.id } });
      expect({ name: saved.name, nickname: saved.nickname, city: saved.city, version: saved.version }).toEqual({
        name: 'Alan M. Turing',
        nickname: 'Prof',
        city: 'Wilmslow',
        version: before.version + 1,
      });
      await page.getByRole('heading', { name: 'Alan M. Turing', level: 1 }).waitFor(SLOW);

      // A refused field: the error appears next to it, and nothing changes.
      await page.getByRole('button', { name: 'Edit profile' }).click();
      await page.getByLabel('Email', { exact: true }).fill('grace@example.com');
      await page.getByRole('button', { name: 'Save profile' }).click();
      await expect.poll(() => page.locator('#profile-email-errors').textContent(), SLOW).toMatch(/already|taken|used/i);
      expect(await page.getByLabel('Email', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: alan.id } })).version).toBe(saved.version);
      await page.screenshot({ path: `${ARTIFACTS}/console-user-edit-error.png` });
      // A value the API's types refuse before running anything appears next to its field too.
      await page.getByLabel('Email', { exact: true }).fill('alan@example.com');
      await page.getByLabel('Country').fill('Narnia');
      await page.getByRole('button', { name: 'Save profile' }).click();
      await expect.poll(() => page.locator('#profile-country-errors').textContent(), SLOW).toMatch(/country/i);
      expect(await page.locator('#profile-email-errors').count()).toBe(0);
      expect(await page.getByRole('alert').filter({ hasText: 'Variable' }).count()).toBe(0);
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: alan.id } })).version).toBe(saved.version);
      await page.getByRole('button', { name: 'Cancel' }).click();
      expect(problems).toEqual([]);

      // An administrator who may edit users but not read the audit trail is told why the conflict
      // does not say who changed what.
      const support = await makeRole(server, server.admin.realmId, 'Support agent', ['users:read', 'users:write']);
      await createUser({
        email: 'sam@example.com',
        name: 'Sam Support',
        password: PASSWORD,
        roleIds: [support.globalId],
      });
      const sam = await signIn('sam@example.com');
      await sam.page.goto(`${server.url}/console/users/${encodeURIComponent(alanId)}`);
      await sam.page.getByRole('button', { name: 'Edit profile' }).click();
      await sam.page.getByLabel('Nickname').fill('Alan');
      const renamed = await server.graphql(UPDATE_USER, { input: { id: alanId, patch: { city: 'Manchester' } } });
      expect(renamed.data?.updateUser.userErrors).toEqual([]);
      await sam.page.getByRole('button', { name: 'Save profile' }).click();
      await expect
        .poll(() => sam.page.locator('#conflict-audit-reason').textContent(), SLOW)
        .toBe('Who changed what is not shown: Needs the audit:read scope, which your roles do not grant.');
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: alan.id } })).nickname).toBe('Prof');
      expect(sam.problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'resets second factors, unlinks an identity, and pages through sign-ins and the audit trail, by keyboard',
    async () => {
      const barbara = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'barbara@example.com' } });
      const barbaraId = userGid(barbara.id);
      const realmId = server.admin.realmId;
      for (const type of ['TOTP', 'RECOVERY_CODES', 'WEBAUTHN'] as const)
        await makeFactor(server, realmId, barbara.id, type);
      const linked = await server.graphql(
        `mutation ($input: LinkUserIdentityInput!) { linkUserIdentity(input: $input) { userErrors { code } } }`,
        { input: { userId: barbaraId, provider: 'google', providerUserId: 'g-1234', email: 'b@gmail.example' } },
      );
      expect(linked.data?.linkUserIdentity.userErrors).toEqual([]);
      await server.db.prisma.loginEvent.createMany({
        // Oldest first, as they happen: the newest (i = 0) is a failure.
        data: Array.from({ length: 25 }, (_, n) => 24 - n).map((i) => ({
          realmId,
          userId: barbara.id,
          at: new Date(Date.now() - (i + 1) * 60_000),
          success: i % 5 !== 0,
          failureReason: i % 5 === 0 ? 'invalid_password' : null,
          method: 'password',
          ipAddress: `192.0.2.${i + 1}`,
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
        })),
      });
      for (let i = 0; i < 20; i++) {
        const renamed = await server.graphql(UPDATE_USER, { input: { id: barbaraId, patch: { nickname: `B${i}` } } });
        expect(renamed.data?.updateUser.userErrors).toEqual([]);
      }
      const { page, problems } = await openUser(barbaraId, 'Barbara Liskov');

      // The tabs, by keyboard: arrows move between them, and the address keeps the tab.
      const overview = page.getByRole('tab', { name: 'Overview' });
      expect(await overview.getAttribute('aria-selected')).toBe('true');
      await overview.focus();
      await page.keyboard.press('ArrowRight');
      const security = page.getByRole('tab', { name: 'Second factors and identities' });
      await expect.poll(() => security.getAttribute('aria-selected'), SLOW).toBe('true');
      expect(await security.evaluate((element) => element === document.activeElement)).toBe(true);
      expect(new URL(page.url()).searchParams.get('tab')).toBe('security');

      const factors = page.locator('tr.mfa-factor');
      await expect.poll(() => factors.count(), SLOW).toBe(3);
      await page.screenshot({ path: `${ARTIFACTS}/console-user-security.png`, fullPage: true });
      await makeSession(server, realmId, barbara.id);
      await page.getByRole('button', { name: 'Reset authenticator and recovery codes' }).click();
      await expect.poll(() => factors.allTextContents(), SLOW).toEqual([expect.stringContaining('Passkey')]);
      expect(await page.getByRole('button', { name: 'Reset authenticator and recovery codes' }).isDisabled()).toBe(
        true,
      );
      expect(await page.locator('#mfa-reset-reason').textContent()).toBe(
        'The user has no authenticator app or recovery codes.',
      );
      const remaining = () =>
        server.db.prisma.mfaFactor.findMany({ where: { userId: barbara.id }, select: { type: true } });
      expect(await remaining()).toEqual([{ type: 'WEBAUTHN' }]);
      // Resetting ended her session.
      expect(await server.db.prisma.session.count({ where: { userId: barbara.id, revokedAt: null } })).toBe(0);
      await page.getByRole('button', { name: 'Remove passkeys' }).click();
      await page.getByText('No second factor enrolled.').waitFor(SLOW);
      expect(await remaining()).toEqual([]);

      await page.getByRole('button', { name: 'Unlink google g-1234' }).click();
      await page.getByText('No identity provider is linked.').waitFor(SLOW);
      expect(await server.db.prisma.identity.count({ where: { userId: barbara.id } })).toBe(0);

      // Sign-in attempts, 20 a page.
      await security.focus();
      await page.keyboard.press('ArrowRight');
      const caption = page.locator('#login-history-caption');
      await expect.poll(() => caption.textContent(), SLOW).toBe('Showing 1–20 of 25');
      expect(await page.locator('tr.login-event').count()).toBe(20);
      expect(await page.locator('tr.login-event').first().textContent()).toContain('Failed');
      await page.screenshot({ path: `${ARTIFACTS}/console-user-sign-ins.png`, fullPage: true });
      // Every caption shown on the way to the next page: never the last page's rows as the next range.
      await page.evaluate(() => {
        const element = document.querySelector('#login-history-caption')!;
        const seen: (string | null)[] = [];
        Object.assign(window, { seenCaptions: seen });
        new MutationObserver(() => seen.push(element.textContent)).observe(element, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.getByRole('button', { name: 'Older' }).click();
      await expect.poll(() => caption.textContent(), SLOW).toBe('Showing 21–25 of 25');
      const seen = await page.evaluate(() => (window as unknown as { seenCaptions: string[] }).seenCaptions);
      expect(seen.filter((text) => text !== 'Loading…' && text !== 'Showing 21–25 of 25')).toEqual([]);
      expect(await page.locator('tr.login-event').last().textContent()).toContain('192.0.2.25');
      await page.getByRole('button', { name: 'Newer' }).click();
      await expect.poll(() => caption.textContent(), SLOW).toBe('Showing 1–20 of 25');

      // The audit trail, newest first, naming the administrator.
      await page.getByRole('tab', { name: 'Sign-ins' }).focus();
      await page.keyboard.press('End');
      expect(new URL(page.url()).searchParams.get('tab')).toBe('audit');
      const total = await server.db.prisma.auditEvent.count({ where: { targetId: barbara.id } });
      const auditCaption = page.locator('#audit-caption');
      await expect.poll(() => auditCaption.textContent(), SLOW).toBe(`Showing 1–20 of ${total}`);
      const first = page.locator('.audit-event').first();
      await expect.poll(() => first.locator('strong').textContent(), SLOW).toBe('Ada Lovelace (you)');
      expect(await first.locator('code').textContent()).toBe('user.identity_unlinked');
      await page.screenshot({ path: `${ARTIFACTS}/console-user-audit.png`, fullPage: true });
      await page.getByRole('button', { name: 'Older' }).click();
      await expect.poll(() => auditCaption.textContent(), SLOW).toBe(`Showing 21–${total} of ${total}`);
      expect(await page.locator('.audit-event code').last().textContent()).toBe('user.created');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'sets and expires a password, deletes and restores a user, and erases them only once their email (or id) is typed',
    async () => {
      const edsger = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'edsger@example.com' } });
      const { page, problems } = await openUser(userGid(edsger.id), 'Edsger Dijkstra');
      const stored = () => server.db.prisma.user.findUnique({ where: { id: edsger.id } });

      // A weak password is refused next to the field; nothing changes.
      await page.getByLabel('New password').fill('edsger');
      await page.getByRole('button', { name: 'Set password' }).click();
      await expect.poll(() => page.locator('#new-password-errors').textContent(), SLOW).not.toBe(null);
      expect(await page.getByLabel('New password').getAttribute('aria-invalid')).toBe('true');
      expect((await stored())!.passwordHash).toBeNull();
      await page.screenshot({ path: `${ARTIFACTS}/console-user-password-error.png` });
      // So is a huge one, before any hashing.
      await page.getByLabel('New password').fill('x'.repeat(5000));
      await page.getByRole('button', { name: 'Set password' }).click();
      await expect.poll(() => page.locator('#new-password-errors').textContent(), SLOW).toMatch(/256/);
      expect((await stored())!.passwordHash).toBeNull();

      await page.getByLabel('New password').fill('goto considered harmful 1968');
      await page.getByLabel('They must change it at their next sign-in').uncheck();
      await page.getByRole('button', { name: 'Set password' }).click();
      await page.getByText('Password set.', { exact: true }).waitFor(SLOW);
      expect((await stored())!.passwordHash).toMatch(/^\$argon2id\$/);
      expect((await stored())!.passwordExpired).toBe(false);
      const expire = page.getByRole('button', { name: 'Expire password' });
      await expect.poll(() => expire.isEnabled(), SLOW).toBe(true);
      await expire.click();
      await page.getByText('They must change their password at their next sign-in.').waitFor(SLOW);
      expect((await stored())!.passwordExpired).toBe(true);
      await expect
        .poll(() => page.locator('#expire-reason').textContent(), SLOW)
        .toBe('The password is already expired.');

      // Roles: given realm-wide, then taken back.
      const roleRows = page.locator('li.role');
      expect(await page.getByText('No roles.').count()).toBe(1);
      await page.getByLabel('Give a role').selectOption({ label: 'Support reader' });
      await page.getByRole('button', { name: 'Give role' }).click();
      await expect
        .poll(() => roleRows.allTextContents(), SLOW)
        .toEqual([expect.stringContaining('Support reader · whole realm')]);
      const heldRoles = () => server.db.prisma.userRole.count({ where: { userId: edsger.id } });
      expect(await heldRoles()).toBe(1);
      await page.getByRole('button', { name: 'Remove Support reader (whole realm)' }).click();
      await page.getByText('No roles.').waitFor(SLOW);
      expect(await heldRoles()).toBe(0);
      // And inside one of his tenants.
      const tenant = await server.graphql(
        `mutation { createTenant(input: { name: "Eindhoven" }) { tenant { id } userErrors { code } } }`,
      );
      const tenantId = tenant.data?.createTenant.tenant.id as string;
      const member = await server.graphql(
        `mutation ($input: UserTenantInput!) { addUserToTenant(input: $input) { userErrors { code } } }`,
        { input: { userId: userGid(edsger.id), tenantId } },
      );
      expect(member.data?.addUserToTenant.userErrors).toEqual([]);
      await page.reload();
      await expect
        .poll(() => page.locator('.facts > div', { hasText: 'Tenants' }).locator('dd').textContent(), SLOW)
        .toBe('Eindhoven');
      await page.getByLabel('Give a role').selectOption({ label: 'Support reader' });
      await page.getByLabel('Where').selectOption({ label: 'In Eindhoven' });
      await page.getByRole('button', { name: 'Give role' }).click();
      await expect
        .poll(() => roleRows.allTextContents(), SLOW)
        .toEqual([expect.stringContaining('Support reader · Eindhoven')]);
      expect(await server.db.prisma.userRole.count({ where: { userId: edsger.id, tenantId: { not: null } } })).toBe(1);
      await page.screenshot({ path: `${ARTIFACTS}/console-user-roles.png` });
      await page.getByRole('button', { name: 'Remove Support reader (Eindhoven)' }).click();
      await page.getByText('No roles.').waitFor(SLOW);
      expect(await heldRoles()).toBe(0);

      // Notes: an empty one is refused next to the field; a note names its author.
      await page.getByLabel('New note (administrators only)').fill('   ');
      await page.getByRole('button', { name: 'Add note' }).click();
      await expect.poll(() => page.locator('#note-body-errors').textContent(), SLOW).not.toBe(null);
      expect(await server.db.prisma.adminNote.count({ where: { userId: edsger.id } })).toBe(0);
      await page.getByLabel('New note (administrators only)').fill('Called about the password.\nAsked to be deleted.');
      await page.getByRole('button', { name: 'Add note' }).click();
      const note = page.locator('.note');
      await expect.poll(() => note.count(), SLOW).toBe(1);
      await expect.poll(() => note.locator('strong').textContent(), SLOW).toBe('Ada Lovelace (you)');
      expect(await note.locator('.note-body').textContent()).toBe('Called about the password.\nAsked to be deleted.');
      expect(await page.getByLabel('New note (administrators only)').inputValue()).toBe('');

      const badge = page.locator('.title-line .badge');
      await page.getByRole('button', { name: 'Delete user' }).dblclick();
      await expect.poll(() => badge.textContent(), SLOW).toBe('Deleted');
      expect((await stored())!.deletedAt).not.toBeNull();
      expect(await server.db.prisma.auditEvent.count({ where: { targetId: edsger.id, action: 'user.deleted' } })).toBe(
        1,
      );
      expect(await page.locator('#delete-errors').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Edit profile' }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Suspend user' }).isDisabled()).toBe(true);
      expect(await page.locator('#access-reason').textContent()).toBe(
        'A deleted user cannot be suspended; restore them first.',
      );
      await page.screenshot({ path: `${ARTIFACTS}/console-user-deleted.png`, fullPage: true });
      await page.getByRole('button', { name: 'Restore user' }).click();
      await expect.poll(() => badge.textContent(), SLOW).toBe('Active');
      expect((await stored())!.deletedAt).toBeNull();

      // Erasing needs the user's email typed: a near miss keeps the button disabled.
      const confirmation = page.getByLabel(/To erase the user/);
      const erase = page.getByRole('button', { name: 'Erase user for good' });
      expect(await erase.isDisabled()).toBe(true);
      await confirmation.fill('edsger@example.org');
      expect(await erase.isDisabled()).toBe(true);
      await page.keyboard.press('Enter');
      expect(await stored()).not.toBeNull();
      await confirmation.fill('edsger@example.com');
      expect(await erase.isEnabled()).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/console-user-erase.png`, fullPage: true });
      await page.keyboard.press('Enter');
      await page.getByText('Edsger Dijkstra was erased for good.').waitFor(SLOW);
      expect(await stored()).toBeNull();
      expect(problems).toEqual([]);

      // A user without an email address is erased by typing their id.
      const nameless = await createUser({ username: 'nameless', phone: '+14155550123', emailVerified: false });
      await page.goto(`${server.url}/console/users/${encodeURIComponent(nameless)}`);
      await page.getByRole('heading', { name: 'nameless', level: 1 }).waitFor(SLOW);
      const byId = page.getByLabel(/To erase the user .* type their id/);
      await byId.fill('nameless');
      expect(await page.getByRole('button', { name: 'Erase user for good' }).isDisabled()).toBe(true);
      await byId.fill(nameless);
      await page.getByRole('button', { name: 'Erase user for good' }).click();
      await page.getByText('nameless was erased for good.').waitFor(SLOW);
      expect(await server.db.prisma.user.count({ where: { username: 'nameless' } })).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
