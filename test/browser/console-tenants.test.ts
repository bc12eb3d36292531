/**
 * The console's Tenants screen in a real browser (Debian's Chromium, headless, driven by
 * Playwright) against a real Roster, signed in through the realm's hosted sign-in page: an
 * administrator creates a tenant (a refused slug shown at its field, nothing created), adds a
 * member found by a user search and removes them, renames the tenant and deletes it behind a typed
 * confirmation, each checked against the database. An administrator with read scopes only sees
 * every write control disabled with the reason, and the API refuses the console's mutations with
 * their token. Screenshots go to test-artifacts/.
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
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { adminRoleId, makeRole } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

describe.skipIf(withoutChromium)('the console’s Tenants screen in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;
  let realmId: string;

  beforeAll(async () => {
    server = chromium.server;
    realmId = server.admin.realmId;
    const people: [string, string, string[]][] = [
      ['ada@example.com', 'Ada Lovelace', [await adminRoleId(server, realmId)]],
      [
        'rita@example.com',
        'Rita Reader',
        [(await makeRole(server, realmId, 'Read-only admin', ['users:read', 'tenants:read'])).globalId],
      ],
      ['grace@example.com', 'Grace Hopper', []],
    ];
    for (const [email, name, roleIds] of people) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, roleIds },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
    const acme = await server.graphql(
      'mutation { createTenant(input: { name: "Acme", slug: "acme" }) { tenant { id } userErrors { code } } }',
    );
    expect(acme.data?.createTenant.userErrors).toEqual([]);
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context, signs in as `email` and goes to Tenants. */
  async function signIn(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 900 });
    const { page } = opened;
    await signInToConsole(page, server.url, email, PASSWORD);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Tenants' }).click();
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor(SLOW);
    expect(new URL(page.url()).pathname).toBe('/console/tenants');
    return opened;
  }

  const row = (page: Page, slug: string) => page.locator(`tr[data-tenant="${slug}"]`);

  it(
    'creates a tenant, adds and removes a member, renames it and deletes it behind a typed confirmation',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const prisma = server.db.prisma;
      await row(page, 'acme').waitFor(SLOW);

      // A slug that is not one, and a slug already taken: each refused at the field, nothing created.
      const tenants = await prisma.tenant.count({ where: { realmId } });
      await page.getByLabel('Name', { exact: true }).fill('Globex');
      await page.getByLabel('Slug (optional)').fill('Globex Corp!');
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await expect
        .poll(() => page.locator('#tenant-slug-errors').textContent(), SLOW)
        .toBe(
          'The slug may contain only lowercase letters, digits and hyphens, and cannot start or end with a hyphen.',
        );
      expect(await page.getByLabel('Slug (optional)').getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel('Slug (optional)').fill('acme');
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await expect
        .poll(() => page.locator('#tenant-slug-errors').textContent(), SLOW)
        .toBe('Another tenant of the realm already uses this slug.');
      expect(await prisma.tenant.count({ where: { realmId } })).toBe(tenants);
      await page.screenshot({ path: `${ARTIFACTS}/console-tenant-error.png`, fullPage: true });

      // Without a slug, one is derived from the name; the new tenant opens.
      await page.getByLabel('Slug (optional)').fill('');
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await page.getByRole('heading', { name: 'Globex', level: 2 }).waitFor(SLOW);
      const globex = await prisma.tenant.findFirstOrThrow({ where: { realmId, slug: 'globex' } });
      expect(globex.name).toBe('Globex');
      expect(decodeURIComponent(new URL(page.url()).pathname)).toMatch(/^\/console\/tenants\/.+/);
      await row(page, 'globex').waitFor(SLOW);

      // Add Grace, found by a search.
      await page.getByLabel('Add a member').fill('grace');
      await expect.poll(() => page.locator('#member-search-status').textContent(), SLOW).toBe('1 found.');
      await page.getByRole('button', { name: 'Add Grace Hopper to Globex' }).click();
      await page.locator('tr[data-member="grace@example.com"]').waitFor(SLOW);
      const grace = await prisma.user.findFirstOrThrow({ where: { email: 'grace@example.com' } });
      const memberships = () => prisma.tenantMembership.count({ where: { tenantId: globex.id, userId: grace.id } });
      expect(await memberships()).toBe(1);
      await expect.poll(() => row(page, 'globex').locator('.member-count').textContent(), SLOW).toBe('1');
      await page.screenshot({ path: `${ARTIFACTS}/console-tenant.png`, fullPage: true });
      await page.getByRole('button', { name: 'Remove Grace Hopper from Globex' }).click();
      await expect.poll(() => page.locator('tr[data-member="grace@example.com"]').count(), SLOW).toBe(0);
      expect(await memberships()).toBe(0);

      // Rename; an empty name is refused at its field first.
      const rename = page.locator('form.rename-tenant');
      await rename.getByLabel('Name', { exact: true }).fill('');
      await rename.getByRole('button', { name: 'Save name and slug' }).click();
      await expect.poll(() => page.locator('#rename-tenant-name-errors').count(), SLOW).toBe(1);
      expect((await prisma.tenant.findUniqueOrThrow({ where: { id: globex.id } })).name).toBe('Globex');
      await rename.getByLabel('Name', { exact: true }).fill('Globex Corporation');
      await rename.getByLabel('Slug').fill('globex-corp');
      await rename.getByRole('button', { name: 'Save name and slug' }).click();
      await page.getByRole('heading', { name: 'Globex Corporation', level: 2 }).waitFor(SLOW);
      const renamed = await prisma.tenant.findUniqueOrThrow({ where: { id: globex.id } });
      expect([renamed.name, renamed.slug]).toEqual(['Globex Corporation', 'globex-corp']);

      // Deleting needs the slug typed.
      await page.getByRole('button', { name: 'Delete tenant' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the tenant “Globex Corporation”?' });
      await dialog.waitFor(SLOW);
      const confirm = dialog.getByRole('button', { name: 'Delete tenant' });
      await dialog.getByLabel(/Type the tenant’s slug/).fill('globex');
      expect(await confirm.isDisabled()).toBe(true);
      await dialog.getByLabel(/Type the tenant’s slug/).fill('globex-corp');
      await confirm.click();
      await page.getByText('The tenant “Globex Corporation” was deleted.').waitFor(SLOW);
      expect(await prisma.tenant.count({ where: { id: globex.id } })).toBe(0);
      expect(new URL(page.url()).pathname).toBe('/console/tenants');
      await expect.poll(() => row(page, 'globex-corp').count(), SLOW).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows the roles a tenant defines and those its members hold inside it',
    async () => {
      const prisma = server.db.prisma;
      const globex = await server.graphql(
        'mutation { createTenant(input: { name: "Globex", slug: "globex" }) { tenant { id } userErrors { code } } }',
      );
      const tenantId = globex.data?.createTenant.tenant.id as string;
      const tenant = await prisma.tenant.findFirstOrThrow({ where: { realmId, slug: 'globex' } });
      const billing = await makeRole(server, realmId, 'Globex billing', [], { tenantId: tenant.id });
      const support = await makeRole(server, realmId, 'Support desk', []);
      for (const email of ['grace@example.com', 'ada@example.com']) {
        const user = await prisma.user.findFirstOrThrow({ where: { realmId, email } });
        const added = await server.graphql(
          'mutation ($input: UserTenantInput!) { addUserToTenant(input: $input) { userErrors { message } } }',
          { input: { tenantId, userId: encodeGlobalId('User', user.id) } },
        );
        expect(added.data?.addUserToTenant.userErrors).toEqual([]);
      }
      const grace = await prisma.user.findFirstOrThrow({ where: { realmId, email: 'grace@example.com' } });
      for (const [roleId, where] of [
        [billing.globalId, tenantId],
        [support.globalId, tenantId],
        [support.globalId, null],
      ] as const) {
        const assigned = await server.graphql(
          'mutation ($input: AssignUserRolesInput!) { assignUserRoles(input: $input) { userErrors { message } } }',
          { input: { userId: encodeGlobalId('User', grace.id), roleIds: [roleId], tenantId: where } },
        );
        expect(assigned.data?.assignUserRoles.userErrors).toEqual([]);
      }

      const { page, problems } = await signIn('ada@example.com');
      await row(page, 'globex').locator('a').click();
      await page.getByRole('heading', { name: 'Globex', level: 2 }).waitFor(SLOW);
      const defined = page.getByRole('list', { name: 'Roles Globex defines' });
      await expect.poll(() => defined.locator('li').allTextContents(), SLOW).toEqual(['Globex billing 1 holder']);
      const members = page.getByRole('table', { name: 'Members of Globex' });
      await expect
        .poll(() => members.locator('tr[data-member="grace@example.com"] .member-roles .tag').allTextContents(), SLOW)
        .toEqual(['Globex billing', 'Support desk']);
      expect(await members.locator('tr[data-member="ada@example.com"] .member-roles').textContent()).toBe(
        'No role here',
      );
      await page.screenshot({ path: `${ARTIFACTS}/console-tenant-roles.png`, fullPage: true });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows a read-only administrator every write control disabled with the reason; the API refuses the console’s mutations with their token',
    async () => {
      const { page, problems } = await signIn('rita@example.com');
      const prisma = server.db.prisma;
      await row(page, 'acme').locator('a').click();
      await page.getByRole('heading', { name: 'Acme', level: 2 }).waitFor(SLOW);
      const reason = 'Needs the tenants:write scope, which your roles do not grant.';
      expect(await page.getByRole('button', { name: 'Create tenant' }).isDisabled()).toBe(true);
      expect(await page.locator('#new-tenant-reason').textContent()).toBe(reason);
      expect(await page.getByRole('button', { name: 'Delete tenant' }).isDisabled()).toBe(true);
      expect(await page.locator('#tenant-write-reason').textContent()).toBe(reason);
      expect(await page.locator('form.rename-tenant').getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
      expect(await page.getByLabel('Add a member').isDisabled()).toBe(true);
      expect(await page.locator('#members-write-reason').textContent()).toBe(
        'Needs the users:write scope, which your roles do not grant. Adding and removing members is not available.',
      );
      expect(await page.locator('#tenant-roles-reason').textContent()).toBe(
        'Roles are not shown: Needs the roles:read scope, which your roles do not grant.',
      );
      await page.screenshot({ path: `${ARTIFACTS}/console-tenants-read-only.png`, fullPage: true });

      const token = await page.evaluate(
        () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
      );
      const acme = await prisma.tenant.findFirstOrThrow({ where: { realmId, slug: 'acme' } });
      const tenants = await prisma.tenant.count({ where: { realmId } });
      for (const [text, variables] of [
        ['mutation ConsoleCreateTenant(', { name: 'Sneaky' }],
        ['mutation ConsoleDeleteTenant(', { id: page.url().split('/').pop() }],
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
      expect(await prisma.tenant.count({ where: { realmId } })).toBe(tenants);
      expect(await prisma.tenant.count({ where: { id: acme.id } })).toBe(1);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
