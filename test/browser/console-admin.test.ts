/**
 * The console's Applications and Roles screens in a real browser (Debian's Chromium, headless,
 * driven by Playwright) against a real Roster, signed in through the realm's hosted sign-in page:
 * an administrator creates an application and sees its secret once (a reload loses it), rotates it
 * with a grace period, disables one after confirming, edits one and deletes one behind its typed
 * name; creates a role, gives it a scope and takes it away, renames it, deletes it behind a typed
 * confirmation; a refused input shows its error at the field
 * and changes nothing. An administrator with read scopes only sees every write control disabled
 * with the reason, and the API refuses the console's own mutations with their token.
 * Screenshots go to test-artifacts/.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/crypto.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
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

describe.skipIf(withoutChromium)('the console’s Applications and Roles screens in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;

  beforeAll(async () => {
    server = chromium.server;
    const users: [string, string, string][] = [
      ['ada@example.com', 'Ada Lovelace', await adminRoleId(server, server.admin.realmId)],
      [
        'rita@example.com',
        'Rita Reader',
        (
          await makeRole(server, server.admin.realmId, 'Read-only admin', [
            'users:read',
            'roles:read',
            'applications:read',
            'resources:read',
          ])
        ).globalId,
      ],
    ];
    users.push([
      'rolf@example.com',
      'Rolf Roles',
      (
        await makeRole(server, server.admin.realmId, 'Role keeper', [
          'users:read',
          'roles:read',
          'roles:write',
          'resources:read',
        ])
      ).globalId,
    ]);
    const tenant = await server.graphql(
      'mutation { createTenant(input: { name: "Acme" }) { tenant { id } userErrors { code } } }',
    );
    expect(tenant.data?.createTenant.userErrors).toEqual([]);
    const acme = await server.db.prisma.tenant.findFirstOrThrow({ where: { name: 'Acme' } });
    await makeRole(server, server.admin.realmId, 'Acme auditor', ['audit:read'], { tenantId: acme.id });
    for (const [email, name, role] of users) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, roleIds: [role] },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context, signs in as `email` and goes to the section `section`. */
  async function signIn(email: string, section: 'Applications' | 'Roles') {
    const opened = await chromium.newPage({ width: 1280, height: 900 });
    const { page } = opened;
    await signInToConsole(page, server.url, email, PASSWORD);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: section }).click();
    await page.getByRole('heading', { name: section, level: 1 }).waitFor(SLOW);
    expect(new URL(page.url()).pathname).toBe(`/console/${section.toLowerCase()}`);
    return opened;
  }

  const tokenOf = (page: Page) =>
    page.evaluate(
      () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
    );

  /** Runs one of the console's trusted documents, by hash, with `token`. */
  async function runTrusted(text: string, variables: Record<string, unknown>, token: string) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        extensions: { persistedQuery: { version: 1, sha256Hash: trustedHash(text) } },
        variables,
      }),
    });
    return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  }

  const appRow = (page: Page, name: string) =>
    page.locator('tbody tr').filter({ has: page.locator('.app-name', { hasText: new RegExp(`^${name}$`) }) });

  it(
    'creates an application and shows its secret once, rotates it with a grace period, disables and enables one after confirming',
    async () => {
      const { page, context, problems } = await signIn('ada@example.com', 'Applications');
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      const prisma = server.db.prisma;
      // The bootstrap admin client and the console's own application are Roster's; the test's SPA is not.
      await expect.poll(() => page.locator('tbody tr').count(), SLOW).toBe(3);
      for (const [name, tags] of [
        ['Roster Admin', ['Built-in']],
        ['Roster Console', ['Built-in']],
        ['Admin console', []],
      ] as const) {
        expect(await appRow(page, name).locator('.tag').allTextContents()).toEqual(tags);
        expect(await appRow(page, name).locator('.badge').textContent()).toBe('Enabled');
      }
      await page.screenshot({ path: `${ARTIFACTS}/console-applications.png`, fullPage: true });

      // A name far too long and a plain-http redirect URI (after a blank line) are refused: each
      // error is at its field, and nothing is created.
      const count = await prisma.application.count();
      await page.getByLabel('Name', { exact: true }).fill('B'.repeat(5000));
      await page.getByLabel('Type').selectOption('WEB');
      await page
        .getByLabel('Redirect URIs')
        .fill('https://billing.example.com/callback\n\nhttp://billing.example.com/cb');
      await page.getByRole('button', { name: 'Create application' }).click();
      await expect
        .poll(() => page.locator('#application-uris-errors').textContent(), SLOW)
        .toBe('Line 3: A redirect URI must use https (http is allowed only for 127.0.0.1, [::1] and localhost).');
      expect(await page.locator('#application-name-errors').textContent()).toMatch(/100/);
      expect(await page.getByLabel('Redirect URIs').getAttribute('aria-invalid')).toBe('true');
      expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect(await prisma.application.count()).toBe(count);
      await page.getByLabel('Name', { exact: true }).fill('Billing portal');
      expect(await prisma.application.count()).toBe(count);
      expect(await page.locator('.secret-once').count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}/console-application-error.png`, fullPage: true });

      await page.getByLabel('Redirect URIs').fill('https://billing.example.com/callback');
      await page.getByRole('button', { name: 'Create application' }).click();
      const secretField = page.getByLabel('Client secret', { exact: true });
      await secretField.waitFor(SLOW);
      const secret = await secretField.inputValue();
      const created = await prisma.application.findFirstOrThrow({
        where: { name: 'Billing portal' },
        include: { secrets: true },
      });
      expect(created.type).toBe('WEB');
      expect(created.redirectUris).toEqual(['https://billing.example.com/callback']);
      expect(created.secrets.map((row) => row.secretHash)).toEqual([sha256(secret)]);
      expect(await page.getByRole('alert').filter({ hasText: 'shown only this once' }).count()).toBe(1);
      // The secret field has the focus, so a keyboard user copies it at once; the Copy button copies it too.
      expect(await secretField.evaluate((element) => element === document.activeElement)).toBe(true);
      await page.getByRole('button', { name: 'Copy', exact: true }).click();
      await page.getByRole('button', { name: 'Copied', exact: true }).waitFor(SLOW);
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      await expect.poll(() => appRow(page, 'Billing portal').count(), SLOW).toBe(1);
      expect(await appRow(page, 'Billing portal').locator('.client-id').textContent()).toBe(created.clientId);
      await page.screenshot({ path: `${ARTIFACTS}/console-application-secret.png`, fullPage: true });

      // Reloaded, the page cannot show it again: it was never stored.
      await page.reload();
      await expect.poll(() => appRow(page, 'Billing portal').count(), SLOW).toBe(1);
      expect(await page.locator('.secret-once').count()).toBe(0);
      expect(await page.content()).not.toContain(secret);
      expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).not.toContain(secret);

      // Rotate, keeping the old secret for a day, by keyboard.
      await appRow(page, 'Billing portal').getByRole('button', { name: 'Rotate secret of Billing portal' }).click();
      const dialog = page.getByRole('dialog', { name: 'Rotate the secret of “Billing portal”?' });
      await dialog.waitFor(SLOW);
      await dialog.getByLabel('The current secret').selectOption({ label: 'Keeps working for 1 day' });
      await dialog.getByRole('button', { name: 'Rotate secret' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(async () => (await secretField.count()) && secretField.inputValue(), SLOW).not.toBe(0);
      const rotated = await secretField.inputValue();
      expect(rotated).not.toBe(secret);
      expect(await dialog.count()).toBe(0);
      // A new secret, not yet copied.
      expect(await page.getByRole('button', { name: 'Copy', exact: true }).count()).toBe(1);
      const secrets = await prisma.applicationSecret.findMany({ where: { applicationId: created.id } });
      const bySecret = new Map(secrets.map((row) => [row.secretHash, row.expiresAt]));
      expect(bySecret.get(sha256(rotated))).toBeNull();
      const graceEnds = bySecret.get(sha256(secret))!.getTime() - Date.now();
      expect(graceEnds).toBeGreaterThan(23 * 3600_000);
      expect(graceEnds).toBeLessThanOrEqual(24 * 3600_000);
      await page.getByRole('button', { name: 'I have stored the secret' }).click();
      expect(await page.locator('.secret-once').count()).toBe(0);

      // Disabling asks first; Escape cancels and changes nothing.
      const disable = appRow(page, 'Billing portal').getByRole('button', { name: 'Disable Billing portal' });
      await disable.click();
      const confirm = page.getByRole('dialog', { name: 'Disable “Billing portal”?' });
      await confirm.waitFor(SLOW);
      await page.screenshot({ path: `${ARTIFACTS}/console-application-disable.png` });
      await page.keyboard.press('Escape');
      expect(await confirm.count()).toBe(0);
      expect((await prisma.application.findUniqueOrThrow({ where: { id: created.id } })).disabledAt).toBeNull();
      await disable.click();
      await confirm.getByRole('button', { name: 'Disable application' }).click();
      await expect.poll(() => appRow(page, 'Billing portal').locator('.badge').textContent(), SLOW).toBe('Disabled');
      expect((await prisma.application.findUniqueOrThrow({ where: { id: created.id } })).disabledAt).not.toBeNull();
      await appRow(page, 'Billing portal').getByRole('button', { name: 'Enable Billing portal' }).click();
      await page
        .getByRole('dialog', { name: 'Enable “Billing portal”?' })
        .getByRole('button', { name: 'Enable application' })
        .click();
      await expect.poll(() => appRow(page, 'Billing portal').locator('.badge').textContent(), SLOW).toBe('Enabled');
      expect((await prisma.application.findUniqueOrThrow({ where: { id: created.id } })).disabledAt).toBeNull();

      // The realm's only enabled admin client stays enabled: the refusal shows in the dialog.
      await appRow(page, 'Roster Admin').getByRole('button', { name: 'Disable Roster Admin' }).click();
      const last = page.getByRole('dialog', { name: 'Disable “Roster Admin”?' });
      await last.getByRole('button', { name: 'Disable application' }).click();
      await expect.poll(() => last.locator('.field-errors').textContent(), SLOW).toMatch(/last enabled one/);
      await page.screenshot({ path: `${ARTIFACTS}/console-application-refused.png` });
      await last.getByRole('button', { name: 'Cancel' }).click();
      expect(await appRow(page, 'Roster Admin').locator('.badge').textContent()).toBe('Enabled');
      expect(
        (await prisma.application.findUniqueOrThrow({ where: { clientId: server.admin.clientId } })).disabledAt,
      ).toBeNull();

      // The audit trail names the administrator.
      const ada = await prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
      const events = await prisma.auditEvent.findMany({ where: { targetId: created.id }, orderBy: { id: 'asc' } });
      expect(events.map((event) => [event.action, event.actorId])).toEqual([
        ['application.created', ada.id],
        ['application.secret_rotated', ada.id],
        ['application.updated', ada.id],
        ['application.updated', ada.id],
      ]);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'creates a role, gives it a scope and takes it away, and deletes it behind a typed confirmation',
    async () => {
      const { page, problems } = await signIn('ada@example.com', 'Roles');
      const prisma = server.db.prisma;
      const card = (name: string) => page.locator(`section.role-card[data-role="${name}"]`);
      await card('Roster Administrator').waitFor(SLOW);
      expect(await card('Acme auditor').locator('h2 .tag').allTextContents()).toEqual(['Tenant Acme']);
      // The built-in role cannot be deleted, and keeps its management scopes.
      expect(
        await card('Roster Administrator')
          .getByRole('button', { name: /^Delete/ })
          .isDisabled(),
      ).toBe(true);
      expect(await card('Roster Administrator').locator('.reason').textContent()).toBe(
        'The built-in role cannot be deleted.',
      );
      expect(
        await card('Roster Administrator')
          .getByRole('button', { name: 'Remove users:read from Roster Administrator' })
          .isDisabled(),
      ).toBe(true);

      // A name already taken is refused at the field; nothing is created.
      const roles = await prisma.role.count();
      await page.getByLabel('Name', { exact: true }).fill('read-only ADMIN');
      await page.getByRole('button', { name: 'Create role' }).click();
      await expect.poll(() => page.locator('#role-name-errors').textContent(), SLOW).toMatch(/already/i);
      expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect(await prisma.role.count()).toBe(roles);
      await page.screenshot({ path: `${ARTIFACTS}/console-role-error.png`, fullPage: true });

      await page.getByLabel('Name', { exact: true }).fill('Billing support');
      await page.getByLabel('Description (optional)').fill('Answers billing questions');
      await page.getByLabel('Description (optional)').press('Enter');
      await card('Billing support').waitFor(SLOW);
      expect(await card('Billing support').getByText('No scopes.').count()).toBe(1);
      const role = await prisma.role.findFirstOrThrow({ where: { name: 'Billing support' } });
      expect(role.description).toBe('Answers billing questions');

      // Give it users:read (the select lists the scopes of each API resource), then take it away.
      const select = card('Billing support').getByLabel('Scope to add to Billing support');
      const option = select.locator('option', { hasText: /^users:read/ });
      await select.selectOption(await option.getAttribute('value'));
      await card('Billing support').getByRole('button', { name: 'Add scope' }).click();
      const chip = card('Billing support').getByRole('button', { name: 'Remove users:read from Billing support' });
      await chip.waitFor(SLOW);
      expect(await card('Billing support').locator('.scope-group h3').allTextContents()).toEqual([
        'Roster Management API',
      ]);
      const held = () =>
        prisma.roleScope
          .findMany({ where: { roleId: role.id }, include: { scope: true } })
          .then((rows) => rows.map((row) => row.scope.name));
      expect(await held()).toEqual(['users:read']);
      expect(await select.locator('option', { hasText: /^users:read/ }).count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}/console-roles.png`, fullPage: true });
      await chip.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => card('Billing support').getByText('No scopes.').count(), SLOW).toBe(1);
      expect(await held()).toEqual([]);

      // Deleting needs the role's name typed.
      await card('Billing support').getByRole('button', { name: 'Delete the role Billing support' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the role “Billing support”?' });
      await dialog.waitFor(SLOW);
      const confirm = dialog.getByRole('button', { name: 'Delete role' });
      expect(await confirm.isDisabled()).toBe(true);
      const typed = dialog.getByLabel(/Type the role’s name/);
      expect(await typed.evaluate((element) => element === document.activeElement)).toBe(true);
      await typed.fill('Billing suppor');
      await typed.press('Enter');
      expect(await confirm.isDisabled()).toBe(true);
      expect(await prisma.role.count({ where: { id: role.id } })).toBe(1);
      await typed.fill('Billing support');
      await page.screenshot({ path: `${ARTIFACTS}/console-role-delete.png` });
      await confirm.click();
      await expect.poll(() => card('Billing support').count(), SLOW).toBe(0);
      expect(await page.getByText('The role “Billing support” was deleted.').count()).toBe(1);
      expect(await prisma.role.count({ where: { id: role.id } })).toBe(0);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'edits an application (a refused URI shown at its line, changing nothing) and deletes one behind its typed name; renames a role',
    async () => {
      const prisma = server.db.prisma;
      const made = await server.graphql(
        `mutation { createApplication(input: { name: "Ledger", type: SPA, redirectUris: ["https://ledger.example.com/cb"] }) {
          application { id } userErrors { message } } }`,
      );
      expect(made.data?.createApplication.userErrors).toEqual([]);
      const { page, problems } = await signIn('ada@example.com', 'Applications');
      await expect.poll(() => appRow(page, 'Ledger').count(), SLOW).toBe(1);

      await page.getByRole('button', { name: 'Edit Ledger' }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit “Ledger”' });
      await dialog.getByLabel('Name', { exact: true }).fill('Ledger web');
      await dialog
        .getByLabel('Redirect URIs', { exact: true })
        .fill('https://ledger.example.com/cb\nhttp://ledger.example.com/insecure');
      await dialog.getByLabel('Post-logout redirect URIs').fill('https://ledger.example.com/bye');
      await dialog.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => dialog.locator('#edit-application-uris-errors').textContent(), SLOW).toMatch(/^Line 2: /);
      expect(await dialog.getByLabel('Redirect URIs', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      const before = await prisma.application.findFirstOrThrow({ where: { name: 'Ledger' } });
      expect(before.redirectUris).toEqual(['https://ledger.example.com/cb']);
      await page.screenshot({ path: `${ARTIFACTS}/console-application-edit-refused.png` });

      await dialog
        .getByLabel('Redirect URIs', { exact: true })
        .fill('https://ledger.example.com/cb\n\nhttps://ledger.example.com/cb2');
      await dialog.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => page.getByRole('dialog').count(), SLOW).toBe(0);
      await expect.poll(() => appRow(page, 'Ledger web').count(), SLOW).toBe(1);
      const after = await prisma.application.findUniqueOrThrow({ where: { id: before.id } });
      expect([after.name, after.redirectUris, after.postLogoutRedirectUris]).toEqual([
        'Ledger web',
        ['https://ledger.example.com/cb', 'https://ledger.example.com/cb2'],
        ['https://ledger.example.com/bye'],
      ]);
      const ada = await prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
      const updated = await prisma.auditEvent.findFirstOrThrow({
        where: { action: 'application.updated', targetId: before.id },
      });
      expect(updated.actorId).toBe(ada.id);

      await page.getByRole('button', { name: 'Delete Ledger web' }).click();
      const confirm = page.getByRole('dialog', { name: 'Delete the application “Ledger web”?' });
      const remove = confirm.getByRole('button', { name: 'Delete application' });
      await confirm.getByLabel(/^Type the application’s name/).fill('Ledger');
      expect(await remove.isDisabled()).toBe(true);
      await confirm.getByLabel(/^Type the application’s name/).fill('Ledger web');
      await remove.click();
      await expect
        .poll(() => page.locator('.notice').first().textContent(), SLOW)
        .toBe('The application “Ledger web” was deleted.');
      await expect.poll(() => appRow(page, 'Ledger web').count(), SLOW).toBe(0);
      expect(await prisma.application.count({ where: { id: before.id } })).toBe(0);

      // The last application holding the admin role is kept, and the dialog says why.
      await page.getByRole('button', { name: 'Delete Roster Admin' }).click();
      const last = page.getByRole('dialog', { name: 'Delete the application “Roster Admin”?' });
      await last.getByLabel(/^Type the application’s name/).fill('Roster Admin');
      await last.getByRole('button', { name: 'Delete application' }).click();
      await expect.poll(() => last.locator('.field-errors').textContent(), SLOW).toMatch(/admin/i);
      expect(await prisma.application.count({ where: { clientId: server.admin.clientId } })).toBe(1);
      await last.getByRole('button', { name: 'Cancel' }).click();

      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Roles' }).click();
      const card = page.locator('section.role-card[data-role="Role keeper"]');
      await card.waitFor(SLOW);
      await card.getByRole('button', { name: 'Edit the role Role keeper' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit the role “Role keeper”' });
      await edit.getByLabel('Name', { exact: true }).fill('Read-only admin');
      await edit.getByRole('button', { name: 'Save changes' }).click();
      await expect
        .poll(() => edit.locator('#edit-role-name-errors').textContent(), SLOW)
        .toBe('The realm already has a role with this name.');
      expect(await prisma.role.count({ where: { name: 'Role keeper' } })).toBe(1);
      await edit.getByLabel('Name', { exact: true }).fill('Role steward');
      await edit.getByLabel('Description (optional)').fill('Keeps the roles in order');
      await edit.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('section.role-card[data-role="Role steward"]').waitFor(SLOW);
      expect(await page.locator('section.role-card[data-role="Role steward"] .muted.small').first().textContent()).toBe(
        'Keeps the roles in order',
      );
      const renamed = await prisma.role.findFirstOrThrow({ where: { name: 'Role steward' } });
      expect(renamed.description).toBe('Keeps the roles in order');
      // Put back: the next test signs in as Rolf, whose role it is.
      await prisma.role.update({ where: { id: renamed.id }, data: { name: 'Role keeper', description: null } });

      const builtIn = page.locator('section.role-card', { has: page.locator('.tag', { hasText: 'Built-in' }) }).first();
      await builtIn.getByRole('button', { name: /^Edit the role/ }).click();
      expect(await page.getByRole('dialog').getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/console-role-edit-built-in.png` });
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'creates a role defined by a tenant, whose name need only be unique inside it',
    async () => {
      const prisma = server.db.prisma;
      const acme = await prisma.tenant.findFirstOrThrow({ where: { name: 'Acme' } });
      const { page, problems } = await signIn('ada@example.com', 'Roles');
      const form = page.locator('section', { has: page.getByRole('heading', { name: 'New role' }) });
      await form.getByLabel('Defined by').selectOption({ label: 'Tenant Acme' });
      await form.getByLabel('Name', { exact: true }).fill('Acme auditor');
      await form.getByRole('button', { name: 'Create role' }).click();
      await expect
        .poll(() => form.locator('#role-name-errors').textContent(), SLOW)
        .toBe('The tenant already has a role with this name.');
      expect(await prisma.role.count({ where: { name: 'Acme auditor' } })).toBe(1);

      await form.getByLabel('Name', { exact: true }).fill('Acme editor');
      await form.getByRole('button', { name: 'Create role' }).click();
      await page.locator('section.role-card[data-role="Acme editor"]').waitFor(SLOW);
      expect(await page.locator('section.role-card[data-role="Acme editor"] h2 .tag').textContent()).toBe(
        'Tenant Acme',
      );
      expect((await prisma.role.findFirstOrThrow({ where: { name: 'Acme editor' } })).tenantId).toBe(acme.id);
      expect(await form.getByLabel('Defined by').inputValue()).toBe('');

      // The same name realm-wide is another role.
      await form.getByLabel('Name', { exact: true }).fill('Acme auditor');
      await form.getByRole('button', { name: 'Create role' }).click();
      await expect.poll(() => prisma.role.count({ where: { name: 'Acme auditor' } }), SLOW).toBe(2);
      expect(await prisma.role.count({ where: { name: 'Acme auditor', tenantId: null } })).toBe(1);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows a read-only administrator every write control disabled with the reason; the API refuses the console’s mutations with their token',
    async () => {
      const { page, problems } = await signIn('rita@example.com', 'Applications');
      const prisma = server.db.prisma;
      await expect.poll(() => appRow(page, 'Roster Admin').count(), SLOW).toBe(1);
      const reason = 'Needs the applications:write scope, which your roles do not grant.';
      expect(await page.getByRole('button', { name: 'Create application' }).isDisabled()).toBe(true);
      expect(await page.getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
      expect(await page.locator('#new-application-reason').textContent()).toBe(reason);
      expect(await page.getByRole('button', { name: 'Create application' }).getAttribute('aria-describedby')).toBe(
        'new-application-reason',
      );
      for (const button of await page.locator('tbody button').all()) {
        expect(await button.isDisabled()).toBe(true);
        expect(await button.getAttribute('title')).toBe(reason);
      }
      await page.screenshot({ path: `${ARTIFACTS}/console-applications-read-only.png`, fullPage: true });

      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Roles' }).click();
      const card = page.locator('section.role-card[data-role="Read-only admin"]');
      await card.waitFor(SLOW);
      expect(await page.getByRole('button', { name: 'Create role' }).isDisabled()).toBe(true);
      expect(await page.locator('#new-role-reason').textContent()).toBe(
        'Needs the roles:write scope, which your roles do not grant.',
      );
      expect(await card.getByRole('button', { name: 'Delete the role Read-only admin' }).isDisabled()).toBe(true);
      expect(await card.getByRole('button', { name: 'Remove users:read from Read-only admin' }).isDisabled()).toBe(
        true,
      );
      expect(await card.getByLabel('Scope to add to Read-only admin').isDisabled()).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/console-roles-read-only.png`, fullPage: true });

      // The token really lacks the scopes: the console's own mutations are refused, and nothing changes.
      const token = await tokenOf(page);
      const applications = await prisma.application.count();
      const created = await runTrusted(
        'mutation ConsoleCreateApplication(',
        { input: { name: 'Sneaky', type: 'M2M' } },
        token,
      );
      expect(created.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await prisma.application.count()).toBe(applications);
      const admin = await prisma.application.findUniqueOrThrow({ where: { clientId: server.admin.clientId } });
      const rotated = await runTrusted(
        'mutation ConsoleRotateApplicationSecret(',
        { id: encodeGlobalId('Application', admin.id), previousSecretValidForSeconds: 0 },
        token,
      );
      expect(rotated.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const role = await prisma.role.findFirstOrThrow({ where: { name: 'Read-only admin' } });
      const deleted = await runTrusted('mutation ConsoleDeleteRole(', { id: encodeGlobalId('Role', role.id) }, token);
      expect(deleted.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await prisma.role.count({ where: { id: role.id } })).toBe(1);
      expect(await prisma.applicationSecret.count({ where: { applicationId: admin.id } })).toBe(1);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows a refused grant (a scope the administrator does not hold) next to the scope picker, changing nothing',
    async () => {
      const { page, problems } = await signIn('rolf@example.com', 'Roles');
      const card = page.locator('section.role-card[data-role="Role keeper"]');
      await card.waitFor(SLOW);
      const select = card.getByLabel('Scope to add to Role keeper');
      await select.selectOption(await select.locator('option', { hasText: /^users:write/ }).getAttribute('value'));
      await card.getByRole('button', { name: 'Add scope' }).click();
      await expect
        .poll(() => card.locator('.add-scope + .field-errors').textContent(), SLOW)
        .toBe('Your access token does not hold users:write, so you cannot grant it.');
      expect(await select.getAttribute('aria-invalid')).toBe('true');
      const role = await server.db.prisma.role.findFirstOrThrow({
        where: { name: 'Role keeper' },
        include: { scopes: { include: { scope: true } } },
      });
      expect(role.scopes.map((row) => row.scope.name).sort()).toEqual([
        'resources:read',
        'roles:read',
        'roles:write',
        'users:read',
      ]);
      await page.screenshot({ path: `${ARTIFACTS}/console-role-grant-refused.png`, fullPage: true });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
  it(
    'pages through applications and roles by keyset, with the range shown',
    async () => {
      const prisma = server.db.prisma;
      for (let i = 1; i <= 26; i++) {
        const made = await server.graphql(
          `mutation ($name: String!) { createApplication(input: { name: $name, type: M2M }) { userErrors { message } } }`,
          { name: `Batch app ${String(i).padStart(2, '0')}` },
        );
        expect(made.data?.createApplication.userErrors).toEqual([]);
      }
      for (let i = 1; i <= 20; i++)
        await makeRole(server, server.admin.realmId, `Zeta ${String(i).padStart(2, '0')}`, []);
      const applications = await prisma.application.count({ where: { realmId: server.admin.realmId } });
      const roles = await prisma.role.count({ where: { realmId: server.admin.realmId } });

      const { page, problems } = await signIn('ada@example.com', 'Applications');
      const pages = page.getByRole('navigation', { name: 'Application pages' });
      const range = page.locator('.applications-page .list-head [role="status"]');
      await expect.poll(() => range.textContent(), SLOW).toBe(`Showing 1–25 of ${applications}`);
      expect(await page.locator('tbody tr').count()).toBe(25);
      expect(await pages.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
      await pages.getByRole('button', { name: 'Next page' }).click();
      await expect.poll(() => range.textContent(), SLOW).toBe(`Showing 26–${applications} of ${applications}`);
      // Oldest first: the last page ends with the last application made.
      expect(await page.locator('tbody tr .app-name').last().textContent()).toBe('Batch app 26');
      expect(await pages.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
      await pages.getByRole('button', { name: 'Previous page' }).click();
      await expect.poll(() => range.textContent(), SLOW).toBe(`Showing 1–25 of ${applications}`);

      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Roles' }).click();
      const rolePages = page.getByRole('navigation', { name: 'Role pages' });
      const roleRange = page.locator('.role-list > [role="status"]');
      await expect.poll(() => roleRange.textContent(), SLOW).toBe(`Showing 1–20 of ${roles}, by name.`);
      await rolePages.getByRole('button', { name: 'Next page' }).click();
      await expect.poll(() => roleRange.textContent(), SLOW).toBe(`Showing 21–${roles} of ${roles}, by name.`);
      expect(await page.locator('section.role-card h2').last().textContent()).toBe('Zeta 20');
      await page.screenshot({ path: `${ARTIFACTS}/console-roles-second-page.png`, fullPage: true });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
