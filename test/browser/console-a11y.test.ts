/**
 * The console and the hosted sign-in page checked for accessibility with axe-core (Deque's
 * engine, WCAG 2.1 A and AA rules) in a real browser (Debian's Chromium, headless, Playwright),
 * against a real Roster on the embedded database: every screen with data on it, a user's page
 * on each tab, and the dialogs. A violation fails the test with the rule, the elements and how
 * to fix them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accessibilityViolations as violations,
  BROWSER_HOOK_TIMEOUT,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  CREATE_USER,
  PASSWORD,
  signInToConsole,
  SLOW,
  untilFocusPlaced,
  withoutChromium,
} from '../helpers/chromium.ts';
import { adminRoleId, makeResource, makeRole, makeSession, makeUser } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

describe.skipIf(withoutChromium)('accessibility of the console and the sign-in page (axe-core)', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;

  beforeAll(async () => {
    server = chromium.server;
    const realmId = server.admin.realmId;
    const result = await server.graphql(CREATE_USER, {
      input: {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        password: PASSWORD,
        emailVerified: true,
        roleIds: [await adminRoleId(server, realmId)],
      },
    });
    expect(result.data?.createUser.userErrors).toEqual([]);
    const grace = await makeUser(server, realmId, {
      email: 'grace@example.com',
      name: 'Grace Hopper',
      country: 'US',
      city: 'Boston',
    });
    await makeSession(server, realmId, grace.id);
    await makeRole(server, realmId, 'Support', ['users:read']);
    await makeResource(server, realmId, 'https://api.example.com', ['invoices:read']);
    const acme = await server.db.prisma.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } });
    await server.db.prisma.tenantMembership.create({ data: { realmId, tenantId: acme.id, userId: grace.id } });
  }, BROWSER_HOOK_TIMEOUT);

  it(
    'the hosted sign-in page, and each screen of the console with its data, have no WCAG 2.1 A or AA violation',
    async () => {
      const { page, problems } = await chromium.newPage({ width: 1280, height: 900 });
      await page.goto(await chromium.authorizationUrl());
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      await untilFocusPlaced(page);
      const found: Record<string, string[]> = { 'sign-in page': await violations(page) };

      await signInToConsole(page, server.url, 'ada@example.com', PASSWORD);
      await page.locator('tbody .user-name').first().waitFor(SLOW);
      found.Users = await violations(page);
      await page.locator('details.more-filters summary').click();
      await page.getByLabel('Find a city').waitFor(SLOW);
      found['Users, more filters'] = await violations(page);

      const sections = page.getByRole('navigation', { name: 'Sections' });
      for (const [link, heading] of [
        ['Applications', 'Applications'],
        ['Roles', 'Roles'],
        ['API resources', 'API resources'],
        ['Tenants', 'Tenants'],
        ['Audit log', 'Audit log'],
        ['Realm', 'Realm settings'],
        ['Analytics', 'Analytics'],
      ] as const) {
        await sections.getByRole('link', { name: link, exact: true }).click();
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor(SLOW);
        await page.waitForLoadState('networkidle');
        found[link] = await violations(page);
        if (link === 'Applications') {
          await page
            .locator('tbody tr')
            .first()
            .getByRole('button', { name: /^Edit / })
            .click();
          await page.getByRole('dialog').waitFor(SLOW);
          found['Applications, edit dialog'] = await violations(page);
          await page.keyboard.press('Escape');
          await expect.poll(() => page.getByRole('dialog').count(), SLOW).toBe(0);
        }
      }

      await sections.getByRole('link', { name: 'Users', exact: true }).click();
      await page.getByRole('link', { name: 'Grace Hopper' }).click();
      const tabs = page.getByRole('tablist');
      await tabs.waitFor(SLOW);
      for (const tab of await tabs.getByRole('tab').allTextContents()) {
        await tabs.getByRole('tab', { name: tab }).click();
        await page.waitForLoadState('networkidle');
        found[`user page, ${tab}`] = await violations(page);
      }

      // A refusal shown at its field.
      await tabs.getByRole('tab').first().click();
      await page.getByLabel('Reason (optional)').fill('x'.repeat(501));
      await page.getByRole('button', { name: 'Suspend user' }).click();
      await expect.poll(() => page.locator('#suspend-reason-errors').textContent(), SLOW).toMatch(/500/);
      found['user page, a refused suspension'] = await violations(page);

      expect(Object.entries(found).filter(([, lines]) => lines.length)).toEqual([]);
      // Each of them was checked.
      expect(Object.keys(found).length).toBeGreaterThan(15);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT * 2,
  );
});
