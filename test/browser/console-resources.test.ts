/**
 * The console's API resources screen in a real browser (Debian's Chromium, headless, driven by
 * Playwright) against a real Roster, signed in through the realm's hosted sign-in page: an
 * administrator creates a resource (a refused indicator and scope name shown at their fields,
 * nothing created), adds scopes with descriptions and removes one, and deletes the resource behind
 * a typed confirmation, each checked against the database; Roster's own API is read-only. An
 * administrator with read scopes only sees every write control disabled with the reason, and the
 * API refuses the console's mutations with their token. Screenshots go to test-artifacts/.
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
  signInToConsole,
  SLOW,
  trustedHash,
  withoutChromium,
} from '../helpers/chromium.ts';
import { adminRoleId, makeRole } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

describe.skipIf(withoutChromium)('the console’s API resources screen in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;
  let realmId: string;

  beforeAll(async () => {
    server = chromium.server;
    realmId = server.admin.realmId;
    const people: [string, string, string][] = [
      ['ada@example.com', 'Ada Lovelace', await adminRoleId(server, realmId)],
      [
        'rita@example.com',
        'Rita Reader',
        (await makeRole(server, realmId, 'Read-only admin', ['users:read', 'resources:read'])).globalId,
      ],
    ];
    for (const [email, name, role] of people) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, roleIds: [role] },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context, signs in as `email` and goes to API resources. */
  async function signIn(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 900 });
    const { page } = opened;
    await signInToConsole(page, server.url, email, PASSWORD);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'API resources' }).click();
    await page.getByRole('heading', { name: 'API resources', level: 1 }).waitFor(SLOW);
    expect(new URL(page.url()).pathname).toBe('/console/resources');
    return opened;
  }

  const card = (page: Page, indicator: string) => page.locator(`section[data-resource^="${indicator}"]`);
  const MANAGEMENT = 'urn:roster:management-api';

  it(
    'creates a resource, adds scopes with descriptions and removes one, and deletes it behind a typed confirmation',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const prisma = server.db.prisma;
      await card(page, MANAGEMENT).waitFor(SLOW);
      // Roster's own API is read-only.
      expect(
        await card(page, MANAGEMENT)
          .getByRole('button', { name: /^Delete/ })
          .isDisabled(),
      ).toBe(true);
      expect(await card(page, MANAGEMENT).locator('.reason').textContent()).toBe('Roster’s own API is read-only.');
      expect(await card(page, MANAGEMENT).locator('form').count()).toBe(0);

      // Not a URI, then Roster's reserved namespace: each refused at the indicator; nothing created.
      const resources = await prisma.resource.count({ where: { realmId } });
      await page.getByLabel('Indicator').fill('billing api');
      await page.getByLabel('Name', { exact: true }).fill('Billing API');
      await page.getByRole('button', { name: 'Create resource' }).click();
      await expect.poll(() => page.locator('#resource-indicator-errors').count(), SLOW).toBe(1);
      expect(await page.getByLabel('Indicator').getAttribute('aria-invalid')).toBe('true');
      await page.screenshot({ path: `${ARTIFACTS}/console-resource-error.png`, fullPage: true });
      await page.getByLabel('Indicator').fill('urn:roster:billing');
      await page.getByRole('button', { name: 'Create resource' }).click();
      await expect.poll(() => page.locator('#resource-indicator-errors').textContent(), SLOW).toMatch(/reserved/i);
      expect(await prisma.resource.count({ where: { realmId } })).toBe(resources);

      await page.getByLabel('Indicator').fill('https://billing.example.com');
      await page.getByRole('button', { name: 'Create resource' }).click();
      const billing = card(page, 'https://billing.example.com');
      await billing.waitFor(SLOW);
      const resource = await prisma.resource.findFirstOrThrow({
        where: { realmId, indicator: { startsWith: 'https://billing.example.com' } },
      });
      expect(resource.name).toBe('Billing API');

      // A scope name that is not one is refused at its field; then two scopes with descriptions.
      const scopeName = billing.getByLabel('New scope');
      await scopeName.fill('Read Invoices');
      await billing.getByRole('button', { name: 'Add scope' }).click();
      await expect.poll(() => billing.locator('[id$="-scope-name-errors"]').count(), SLOW).toBe(1);
      expect(await scopeName.getAttribute('aria-invalid')).toBe('true');
      expect(await prisma.resourceScope.count({ where: { resourceId: resource.id } })).toBe(0);
      for (const [name, description] of [
        ['read:invoices', 'Read invoices'],
        ['write:invoices', 'Issue and void invoices'],
      ]) {
        await scopeName.fill(name!);
        await billing.getByLabel('Description (optional)').fill(description!);
        await billing.getByLabel('Description (optional)').press('Enter');
        await billing.locator(`tr[data-scope="${name}"]`).waitFor(SLOW);
      }
      const scopes = () =>
        prisma.resourceScope
          .findMany({ where: { resourceId: resource.id }, orderBy: { name: 'asc' } })
          .then((rows) => rows.map((row) => [row.name, row.description]));
      expect(await scopes()).toEqual([
        ['read:invoices', 'Read invoices'],
        ['write:invoices', 'Issue and void invoices'],
      ]);
      await page.screenshot({ path: `${ARTIFACTS}/console-resources.png`, fullPage: true });
      await billing.getByRole('button', { name: 'Remove the scope write:invoices from Billing API' }).click();
      await expect.poll(() => billing.locator('tr[data-scope="write:invoices"]').count(), SLOW).toBe(0);
      expect(await scopes()).toEqual([['read:invoices', 'Read invoices']]);

      // Deleting needs the resource's name typed.
      await billing.getByRole('button', { name: 'Delete the API resource Billing API' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the API resource “Billing API”?' });
      await dialog.waitFor(SLOW);
      const confirm = dialog.getByRole('button', { name: 'Delete resource' });
      await dialog.getByLabel(/Type the resource’s name/).fill('Billing');
      expect(await confirm.isDisabled()).toBe(true);
      await dialog.getByLabel(/Type the resource’s name/).fill('Billing API');
      await confirm.click();
      await page.getByText('The API resource “Billing API” was deleted.').waitFor(SLOW);
      expect(await prisma.resource.count({ where: { id: resource.id } })).toBe(0);
      await expect.poll(() => billing.count(), SLOW).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows a read-only administrator every write control disabled with the reason; the API refuses the console’s mutations with their token',
    async () => {
      const created = await server.graphql(
        'mutation { createResource(input: { indicator: "https://crm.example.com", name: "CRM" }) { resource { id } userErrors { code } } }',
      );
      expect(created.data?.createResource.userErrors).toEqual([]);
      const { page, problems } = await signIn('rita@example.com');
      const prisma = server.db.prisma;
      const crm = card(page, 'https://crm.example.com');
      await crm.waitFor(SLOW);
      const reason = 'Needs the resources:write scope, which your roles do not grant.';
      expect(await page.getByRole('button', { name: 'Create resource' }).isDisabled()).toBe(true);
      expect(await page.locator('#new-resource-reason').textContent()).toBe(reason);
      expect(await crm.getByRole('button', { name: 'Delete the API resource CRM' }).isDisabled()).toBe(true);
      expect(await crm.getByLabel('New scope').isDisabled()).toBe(true);
      expect(await crm.locator('.reason').textContent()).toBe(reason);
      await page.screenshot({ path: `${ARTIFACTS}/console-resources-read-only.png`, fullPage: true });

      const token = await page.evaluate(
        () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
      );
      const id = created.data!.createResource.resource.id as string;
      const resources = await prisma.resource.count({ where: { realmId } });
      for (const [text, variables] of [
        ['mutation ConsoleCreateResource(', { input: { indicator: 'https://sneaky.example.com', name: 'Sneaky' } }],
        ['mutation ConsoleAddResourceScope(', { input: { resourceId: id, name: 'read:all' } }],
        ['mutation ConsoleDeleteResource(', { id }],
      ] as const) {
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            extensions: { persistedQuery: { version: 1, sha256Hash: trustedHash(text) } },
            variables,
          }),
        });
        const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
        expect(body.errors?.[0]?.extensions?.code, text).toBe('FORBIDDEN');
      }
      expect(await prisma.resource.count({ where: { realmId } })).toBe(resources);
      expect(await prisma.resourceScope.count({ where: { resource: { name: 'CRM' } } })).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
