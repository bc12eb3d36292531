/**
 * The console's Users list beyond search and paging, in a real browser (Debian's Chromium,
 * headless, driven by Playwright) against a real Roster signed in through the realm's hosted
 * sign-in page: ticking users (by mouse and keyboard) and suspending them in bulk after a dry
 * run's counts; selecting every user a facet filter matches and giving them a role (the filter is
 * sent, not the ids); exporting the filter's users as CSV and NDJSON; an administrator with read
 * scopes only sees bulk actions and export disabled with the reason, and the API refuses their
 * token too. Screenshots go to test-artifacts/.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
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
import { adminRoleId, makeRole, makeSession, makeUser } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

describe.skipIf(withoutChromium)('the console’s Users list: bulk actions, export and facets in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;
  let realmId: string;

  beforeAll(async () => {
    server = chromium.server;
    realmId = server.admin.realmId;
    const reader = await makeRole(server, realmId, 'Support reader', ['users:read', 'roles:read']);
    const support = await makeRole(server, realmId, 'Support', ['users:read', 'users:write', 'roles:read']);
    await makeRole(server, realmId, 'Beta tester', []);
    await makeRole(server, realmId, 'Early access', []);
    for (const [email, name, role] of [
      ['ada@example.com', 'Ada Lovelace', await adminRoleId(server, realmId)],
      ['rita@example.com', 'Rita Reader', reader.globalId],
      ['sam@example.com', 'Sam Support', support.globalId],
    ]) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, roleIds: [role] },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
    for (const name of ['One', 'Two', 'Three']) {
      await makeUser(server, realmId, { email: `spammer-${name.toLowerCase()}@example.com`, name: `Spammer ${name}` });
    }
    await server.db.prisma.user.updateMany({
      where: { realmId, email: 'spammer-three@example.com' },
      data: { status: 'SUSPENDED', suspendedAt: new Date(), suspendedReason: 'Earlier' },
    });
    // 53 users in Germany (more than a page of 50) and 2 in France, Members 29 and 30.
    for (let i = 1; i <= 55; i++) {
      await makeUser(server, realmId, {
        email: `member${String(i).padStart(2, '0')}@example.com`,
        name: `Member ${String(i).padStart(2, '0')}`,
        country: i === 29 || i === 30 ? 'FR' : 'DE',
      });
    }
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context and signs in as `email` through the realm's hosted page. */
  async function signIn(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 1000 });
    const { page } = opened;
    // Chromium's File System Access picker cannot be driven headless: the console saves the
    // way other browsers do (a Blob), which Playwright sees as a download.
    await page.addInitScript(() => {
      delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    });
    await signInToConsole(page, server.url, email, PASSWORD);
    return opened;
  }

  const rowNames = (page: Page) => page.locator('tbody .user-name').allTextContents();
  const selectedStatus = (page: Page) =>
    page.getByRole('group', { name: 'Selected users' }).getByRole('status').first().textContent();
  const tokenOf = (page: Page) =>
    page.evaluate(
      () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
    );
  const userByEmail = (email: string) => server.db.prisma.user.findFirstOrThrow({ where: { realmId, email } });

  it(
    'suspends the ticked users after showing a dry run’s counts; their sessions end and each change is audited',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const one = await userByEmail('spammer-one@example.com');
      const two = await userByEmail('spammer-two@example.com');
      const three = await userByEmail('spammer-three@example.com');
      for (const user of [one, one, two]) await makeSession(server, realmId, user.id);

      await page.getByLabel('Search users').fill('spammer');
      await expect.poll(() => rowNames(page), SLOW).toHaveLength(3);
      expect(await selectedStatus(page)).toBe('No user selected.');
      // One by the mouse, one by the keyboard (Space on the focused checkbox), one by the mouse.
      await page.getByRole('checkbox', { name: 'Select Spammer One' }).check();
      await page.getByRole('checkbox', { name: 'Select Spammer Two' }).focus();
      await page.keyboard.press('Space');
      await page.getByRole('checkbox', { name: 'Select Spammer Three' }).check();
      expect(await selectedStatus(page)).toBe('3 users selected.');
      const header = page.getByRole('checkbox', { name: 'Select every user on this page' });
      expect(await header.isChecked()).toBe(true);

      await page.getByLabel('Bulk action', { exact: true }).selectOption('SUSPEND');
      // A reason longer than the API takes: refused by the dry run, beside the field; nothing opens.
      await page.getByLabel('Reason (optional)').fill('x'.repeat(501));
      await page.getByRole('button', { name: 'Review…' }).click();
      await expect.poll(() => page.locator('#bulk-reason-errors').textContent(), SLOW).toMatch(/500/);
      expect(await page.getByLabel('Reason (optional)').getAttribute('aria-invalid')).toBe('true');
      expect(await page.getByRole('dialog').count()).toBe(0);

      await page.getByLabel('Reason (optional)').fill('Spam wave of 3 December');
      await page.getByRole('button', { name: 'Review…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Suspend: 3 users?' });
      await dialog.waitFor(SLOW);
      expect(await dialog.locator('.bulk-counts li').allTextContents()).toEqual([
        '3 users selected.',
        '2 users would be changed.',
        '1 user would be skipped: 1 already suspended.',
      ]);
      // The dry run changed nothing.
      expect((await userByEmail('spammer-one@example.com')).status).toBe('ACTIVE');
      expect(await server.db.prisma.session.count({ where: { userId: one.id, revokedAt: { not: null } } })).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}/console-bulk-dry-run.png` });

      await dialog.getByRole('button', { name: 'Suspend 2 users' }).click();
      await expect
        .poll(() => page.locator('.bulk-bar .notice').textContent(), SLOW)
        .toBe(
          'Suspend: done.3 users selected.2 users were changed.1 user was skipped: 1 already suspended.0 users failed.',
        );
      expect(await page.getByRole('dialog').count()).toBe(0);
      // The list is fetched again: every row is suspended now, and nothing stays ticked.
      await expect
        .poll(() => page.locator('tbody .badge').allTextContents(), SLOW)
        .toEqual(['Suspended', 'Suspended', 'Suspended']);
      expect(await selectedStatus(page)).toBe('No user selected.');
      await page.screenshot({ path: `${ARTIFACTS}/console-bulk-done.png` });

      for (const user of [one, two]) {
        const now = await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
        expect({ status: now.status, reason: now.suspendedReason }).toEqual({
          status: 'SUSPENDED',
          reason: 'Spam wave of 3 December',
        });
        expect(await server.db.prisma.session.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
      }
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: three.id } })).suspendedReason).toBe(
        'Earlier',
      );
      const ada = await userByEmail('ada@example.com');
      const events = await server.db.prisma.auditEvent.findMany({
        where: { action: 'user.suspended', targetId: { in: [one.id, two.id, three.id] } },
      });
      expect(events.map((event) => event.targetId).sort()).toEqual([one.id, two.id].sort());
      for (const event of events) {
        expect({ actorType: event.actorType, actorId: event.actorId }).toEqual({ actorType: 'user', actorId: ada.id });
        expect(event.changes).toMatchObject({ bulk: true });
      }
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'narrows the list by a country facet, selects every matching user across pages and gives them a role by filter',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const germany = page.locator('label.check', { hasText: 'Germany' });
      await expect.poll(() => germany.locator('.count').textContent(), SLOW).toBe('53');
      expect(await page.locator('label.check', { hasText: 'France' }).locator('.count').textContent()).toBe('2');
      await germany.getByRole('checkbox').check();
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'Showing' }).textContent(), SLOW)
        .toBe('Showing 1–50 of 53');
      expect(new URL(page.url()).searchParams.get('country')).toBe('DE');
      expect((await rowNames(page)).every((name) => name.startsWith('Member '))).toBe(true);

      await page.getByRole('checkbox', { name: 'Select every user on this page' }).check();
      expect(await selectedStatus(page)).toBe('50 users selected.');
      await page.getByRole('button', { name: 'Select all 53 users matching the filter' }).click();
      expect(await selectedStatus(page)).toBe('53 users selected (every user matching the filter).');
      await page.screenshot({ path: `${ARTIFACTS}/console-bulk-select-all.png`, fullPage: true });

      const sent: string[] = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/graphql') && request.postData()?.includes('"action"'))
          sent.push(request.postData()!);
      });
      await page.getByLabel('Bulk action', { exact: true }).selectOption('ASSIGN_ROLES');
      // No role chosen: the API's REQUIRED is shown beside the Role field.
      await page.getByRole('button', { name: 'Review…' }).click();
      await expect.poll(() => page.locator('#bulk-roleIds-errors').textContent(), SLOW).toMatch(/./);
      // Several roles at once; one chosen by mistake is taken off the list again.
      const roles = page.getByLabel('Roles to assign');
      await roles.selectOption({ label: 'Beta tester' });
      await roles.selectOption({ label: 'Support reader' });
      await roles.selectOption({ label: 'Early access' });
      const chosen = page.getByRole('list', { name: 'Roles chosen' });
      expect(await chosen.getByRole('listitem').allTextContents()).toEqual([
        'Beta tester×',
        'Support reader×',
        'Early access×',
      ]);
      // A role chosen is no longer offered.
      expect(await roles.locator('option', { hasText: 'Beta tester' }).count()).toBe(0);
      await chosen.getByRole('button', { name: 'Take Support reader off the list' }).click();
      expect(await chosen.getByRole('listitem').allTextContents()).toEqual(['Beta tester×', 'Early access×']);
      await page.screenshot({ path: `${ARTIFACTS}/console-bulk-roles.png`, fullPage: false });
      await page.getByRole('button', { name: 'Review…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Assign roles: 53 users?' });
      await dialog.waitFor(SLOW);
      expect(await dialog.getByText('Roles to assign:').textContent()).toBe(
        'Roles to assign: Beta tester, Early access.',
      );
      expect(await dialog.locator('.bulk-counts li').allTextContents()).toEqual([
        '53 users selected.',
        '53 users would be changed.',
      ]);
      await dialog.getByRole('button', { name: 'Assign roles to 53 users' }).click();
      await expect.poll(() => page.locator('.bulk-bar .notice').textContent(), SLOW).toMatch(/53 users were changed\./);
      // The filter went to the API, not the ids of the rows shown.
      for (const body of sent) {
        const input = (JSON.parse(body) as { variables: { input: Record<string, unknown> } }).variables.input;
        expect(input.filter).toEqual({ countries: ['DE'] });
        expect(input.ids).toBeUndefined();
      }
      // With no role (refused), then the dry run and the change with both.
      const roleCounts = sent.map(
        (body) => (JSON.parse(body) as { variables: { input: { roleIds: string[] } } }).variables.input.roleIds.length,
      );
      expect(roleCounts).toEqual([0, 2, 2]);
      for (const name of ['Beta tester', 'Early access']) {
        const holders = await server.db.prisma.userRole.findMany({
          where: { role: { name } },
          select: { user: { select: { country: true } } },
        });
        expect(holders.map((row) => row.user.country)).toEqual(Array(53).fill('DE'));
      }
      expect(
        await server.db.prisma.userRole.count({ where: { role: { name: 'Support reader' }, user: { country: 'DE' } } }),
      ).toBe(0);
      // The role facet counts them now.
      await expect
        .poll(
          () => page.getByLabel('Role', { exact: true }).locator('option', { hasText: 'Beta tester' }).textContent(),
          SLOW,
        )
        .toBe('Beta tester (53)');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'exports the filter’s users as CSV and as NDJSON with the console’s token',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      await page.locator('label.check', { hasText: 'France' }).getByRole('checkbox').check();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 30', 'Member 29']);

      const exportButton = page.getByRole('button', { name: 'Export 2 users' });
      let [download] = await Promise.all([page.waitForEvent('download', SLOW), exportButton.click()]);
      expect(download.suggestedFilename()).toMatch(/^users-default-\d{4}-\d\d-\d\d\.csv$/);
      const csv = readFileSync(await download.path(), 'utf8')
        .trimEnd()
        .split('\r\n');
      expect(csv[0]!.split(',').slice(0, 4)).toEqual(['id', 'email', 'username', 'name']);
      expect(
        csv
          .slice(1)
          .map((line) => line.split(',')[1])
          .sort(),
      ).toEqual(['member29@example.com', 'member30@example.com']);
      await expect.poll(() => page.getByText(/^Exported to users-default-.*\.csv\.$/).count(), SLOW).toBe(1);

      await page.getByLabel('Export as').selectOption('ndjson');
      [download] = await Promise.all([page.waitForEvent('download', SLOW), exportButton.click()]);
      expect(download.suggestedFilename()).toMatch(/\.ndjson$/);
      const rows = readFileSync(await download.path(), 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; email: string });
      const france = await server.db.prisma.user.findMany({ where: { country: 'FR' }, orderBy: { id: 'asc' } });
      expect(rows.map((row) => [row.id, row.email])).toEqual(
        france.map((user) => [encodeGlobalId('User', user.id), user.email]),
      );
      const audits = await server.db.prisma.auditEvent.findMany({ where: { action: 'users.exported' } });
      expect(audits.map((event) => event.changes)).toEqual([
        expect.objectContaining({
          format: 'csv',
          rows: 2,
          completed: true,
          filter: { countries: ['FR'], includeDeleted: false },
        }),
        expect.objectContaining({ format: 'ndjson', rows: 2, completed: true }),
      ]);
      await page.screenshot({ path: `${ARTIFACTS}/console-export.png` });

      // Where the browser can write a file as it arrives, the response is piped into the file the
      // administrator picks (here a file handle standing in for the picker, which cannot be driven
      // headless): the same rows, chunk by chunk.
      await page.evaluate(() => {
        const written: number[][] = [];
        Object.assign(window, {
          written,
          showSaveFilePicker: (options: { suggestedName: string }) =>
            Promise.resolve({
              name: options.suggestedName,
              createWritable: () =>
                Promise.resolve(new WritableStream<Uint8Array>({ write: (chunk) => void written.push([...chunk]) })),
            }),
        });
      });
      await page.getByLabel('Export as').selectOption('csv');
      await exportButton.click();
      await expect.poll(() => page.getByText(/^Exported to users-default-.*\.csv\.$/).count(), SLOW).toBe(1);
      const streamed = await page.evaluate(() =>
        new TextDecoder().decode(new Uint8Array((window as unknown as { written: number[][] }).written.flat())),
      );
      expect(streamed.trimEnd().split('\r\n')).toEqual(csv);

      // Chosen columns, in the list's order: the API writes those only.
      await page.evaluate(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
      const columns = page.locator('details.export-columns');
      await columns.locator('summary').click();
      expect(await columns.locator('summary').textContent()).toBe('Columns (9 of 24)');
      for (const label of ['Id', 'Email verified', 'Username', 'Name', 'Status', 'Created', 'Last sign-in']) {
        await columns.getByLabel(label, { exact: true }).uncheck();
      }
      await columns.getByLabel('Every custom attribute').uncheck();
      await columns.getByLabel('Country').check();
      expect(await columns.locator('summary').textContent()).toBe('Columns (2 of 24)');
      [download] = await Promise.all([page.waitForEvent('download', SLOW), exportButton.click()]);
      const chosen = readFileSync(await download.path(), 'utf8')
        .trimEnd()
        .split('\r\n');
      expect(chosen[0]).toBe('email,country');
      expect(chosen.slice(1).sort()).toEqual(['member29@example.com,FR', 'member30@example.com,FR']);
      await columns.getByLabel('Email', { exact: true }).uncheck();
      await columns.getByLabel('Country').uncheck();
      expect(await exportButton.isDisabled()).toBe(true);
      expect(await columns.locator('.hint').textContent()).toBe('Choose at least one column.');
      await page.screenshot({ path: `${ARTIFACTS}/console-export-columns.png` });
      await columns.getByRole('button', { name: 'The usual columns' }).click();
      expect(await columns.locator('summary').textContent()).toBe('Columns (9 of 24)');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows an administrator with read scopes only bulk actions and export disabled with the reason; the API refuses their token',
    async () => {
      const { page, problems } = await signIn('rita@example.com');
      await page.getByLabel('Search users').fill('member01@example.com');
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 01']);
      await page.getByRole('checkbox', { name: 'Select Member 01' }).check();
      expect(await selectedStatus(page)).toBe('1 user selected.');
      const action = page.getByLabel('Bulk action', { exact: true });
      expect(await action.isDisabled()).toBe(true);
      expect(await page.locator(`#${await action.getAttribute('aria-describedby')}`).textContent()).toBe(
        'Bulk actions need the users:write or users:roles scope, which your roles do not grant.',
      );
      expect(await page.getByRole('button', { name: 'Review…' }).isDisabled()).toBe(true);
      const exportButton = page.getByRole('button', { name: /^Export/ });
      expect(await exportButton.isDisabled()).toBe(true);
      expect(await page.locator(`#${await exportButton.getAttribute('aria-describedby')}`).textContent()).toBe(
        'Needs the users:export scope, which your roles do not grant.',
      );
      await page.screenshot({ path: `${ARTIFACTS}/console-bulk-read-only.png` });

      const token = await tokenOf(page);
      const member = await userByEmail('member01@example.com');
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          extensions: {
            persistedQuery: { version: 1, sha256Hash: trustedHash('mutation ConsoleBulkUpdateUsers(') },
          },
          variables: { input: { ids: [encodeGlobalId('User', member.id)], action: 'SUSPEND', dryRun: false } },
        }),
      });
      const refused = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await userByEmail('member01@example.com')).status).toBe('ACTIVE');

      const exported = await fetch(`${server.url}/export/default/users?format=csv`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(exported.status).toBe(403);
      expect(((await exported.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'offers an administrator with users:write but not users:roles the status actions, and the role actions disabled with the scope they need',
    async () => {
      const { page, problems } = await signIn('sam@example.com');
      await expect.poll(() => page.getByLabel('Bulk action', { exact: true }).locator('option').count(), SLOW).toBe(9);
      const options = await page
        .getByLabel('Bulk action', { exact: true })
        .locator('option')
        .evaluateAll((list) => list.map((option) => [option.textContent, (option as HTMLOptionElement).disabled]));
      expect(options).toEqual([
        ['Choose…', false],
        ['Suspend', false],
        ['Unsuspend', false],
        ['Set the status', false],
        ['Assign roles (needs users:roles)', true],
        ['Remove roles (needs users:roles)', true],
        ['Add to a tenant (needs tenants:write and tenants:read)', true],
        ['Remove from a tenant (needs tenants:write and tenants:read)', true],
        ['Revoke sessions', false],
      ]);
      expect(await page.getByLabel('Bulk action', { exact: true }).isDisabled()).toBe(false);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'filters by the panel’s further filters (age, failed sign-ins, region, custom attributes, deleted users), kept in the address',
    async () => {
      for (const input of [
        { key: 'plan', displayName: 'Plan', type: 'ENUM', options: ['free', 'pro'] },
        { key: 'seats', displayName: 'Seats', type: 'NUMBER' },
      ]) {
        const created = await server.graphql(
          `mutation ($input: CreateCustomAttributeDefinitionInput!) {
            createCustomAttributeDefinition(input: $input) { userErrors { message } }
          }`,
          { input },
        );
        expect(created.data?.createCustomAttributeDefinition.userErrors).toEqual([]);
      }
      const yearsAgo = (years: number) => new Date(Date.UTC(new Date().getUTCFullYear() - years, 0, 1));
      const members: [string, object][] = [
        ['member01', { birthdate: yearsAgo(35), region: 'Bavaria', customAttributes: { plan: 'pro', seats: 12 } }],
        [
          'member02',
          {
            birthdate: yearsAgo(33),
            region: 'Bavaria',
            failedLoginAttempts: 4,
            customAttributes: { plan: 'pro', seats: 3 },
          },
        ],
        ['member03', { birthdate: yearsAgo(38), region: 'Saxony', customAttributes: { plan: 'free' } }],
        ['member04', { birthdate: yearsAgo(21) }],
      ];
      for (const [name, data] of members) {
        await server.db.prisma.user.updateMany({ where: { realmId, email: `${name}@example.com` }, data });
      }
      await server.db.prisma.user.updateMany({
        where: { realmId, email: 'member05@example.com' },
        data: { deletedAt: new Date(), status: 'DELETED' },
      });

      const { page, problems } = await signIn('ada@example.com');
      const more = page.locator('details.more-filters');
      await more.locator('summary').click();
      await expect
        .poll(() => more.locator('label.check', { hasText: 'Bavaria' }).locator('.count').textContent(), SLOW)
        .toBe('2');

      await page.getByLabel('At least').first().waitFor();
      const age = page.getByRole('group', { name: 'Age (from the birthdate)' });
      await age.getByLabel('At least').fill('30');
      await age.getByLabel('At most').fill('40');
      await expect
        .poll(async () => (await rowNames(page)).sort(), SLOW)
        .toEqual(['Member 01', 'Member 02', 'Member 03']);

      // An attribute condition: the value is left empty first, refused beside the field.
      await page.getByLabel('Attribute', { exact: true }).selectOption({ label: 'Seats' });
      await page.getByRole('button', { name: 'Add condition' }).click();
      expect(await page.locator('#attribute-value-error').textContent()).toBe('Enter a value.');
      expect(await page.getByLabel('Value', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel('Condition', { exact: true }).selectOption({ label: 'is at least' });
      await page.getByLabel('Value', { exact: true }).fill('10');
      await page.getByRole('button', { name: 'Add condition' }).click();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 01']);
      await page.getByLabel('Attribute', { exact: true }).selectOption({ label: 'Plan' });
      await page.getByLabel('Value', { exact: true }).selectOption('pro');
      await page.getByRole('button', { name: 'Add condition' }).click();
      expect(await page.locator('.conditions li span').allTextContents()).toEqual([
        'Seats is at least 10',
        'Plan is pro',
      ]);
      expect(await more.locator('summary').textContent()).toBe('More filters (4 set)');
      const address = new URL(page.url()).searchParams;
      expect([address.get('age-min'), address.get('age-max'), address.getAll('attr')]).toEqual([
        '30',
        '40',
        ['seats.gte.10', 'plan.equals."pro"'],
      ]);

      // A reload (or a shared link) keeps every filter, with the section open.
      await page.reload();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 01']);
      expect(await page.locator('details.more-filters').getAttribute('open')).toBe('');
      expect(await page.locator('.conditions li span').allTextContents()).toEqual([
        'Seats is at least 10',
        'Plan is pro',
      ]);
      await page.getByRole('button', { name: 'Remove: Seats is at least 10' }).click();
      await expect.poll(async () => (await rowNames(page)).sort(), SLOW).toEqual(['Member 01', 'Member 02']);

      await page.getByRole('group', { name: 'Failed sign-ins in a row' }).getByLabel('At least').fill('1');
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 02']);
      await page.screenshot({ path: `${ARTIFACTS}/console-users-more-filters.png`, fullPage: true });

      // A range the API refuses (at most below at least) is said, not shown as no users.
      await page.getByRole('group', { name: 'Age (from the birthdate)' }).getByLabel('At most').fill('20');
      await expect.poll(() => page.locator('.list .notice').textContent(), SLOW).toMatch(/ageMax/);

      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByLabel('Search users').fill('member05@example.com');
      await expect
        .poll(() => page.locator('#users-table-caption').textContent(), SLOW)
        .toBe('No user matches these filters.');
      await page.getByLabel('Include deleted users').check();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 05']);
      expect(await page.locator('tbody .badge').allTextContents()).toEqual(['Deleted']);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'finds a city beyond the commonest shown by typing its start, and keeps it listed once chosen',
    async () => {
      // Nine cities of two members each, then Zwickau of one: not among the commonest eight.
      const cities = ['Aachen', 'Berlin', 'Bonn', 'Bremen', 'Dresden', 'Essen', 'Hamburg', 'Kiel', 'Leipzig'];
      for (const [i, city] of cities.entries()) {
        const emails = [6 + 2 * i, 7 + 2 * i].map((n) => `member${String(n).padStart(2, '0')}@example.com`);
        await server.db.prisma.user.updateMany({ where: { realmId, email: { in: emails } }, data: { city } });
      }
      await server.db.prisma.user.updateMany({
        where: { realmId, email: 'member24@example.com' },
        data: { city: 'Zwickau' },
      });

      const { page, problems } = await signIn('ada@example.com');
      const more = page.locator('details.more-filters');
      await more.locator('summary').click();
      const list = page.getByRole('group', { name: 'City' });
      await expect.poll(() => list.locator('label.check').count(), SLOW).toBe(8);
      expect(await list.locator('label.check', { hasText: 'Zwickau' }).count()).toBe(0);
      expect(await list.getByRole('status').textContent()).toBe('The 8 commonest; type to find another.');

      await list.getByLabel('Find a city').fill('qq');
      await expect.poll(() => list.getByRole('status').textContent(), SLOW).toBe('No city starts with “qq”.');
      await list.getByLabel('Find a city').fill('zwi');
      const zwickau = list.locator('label.check', { hasText: 'Zwickau' });
      await expect.poll(() => zwickau.locator('.count').textContent(), SLOW).toBe('1');
      expect(await list.locator('label.check').count()).toBe(1);
      await zwickau.getByRole('checkbox').check();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 24']);
      expect(new URL(page.url()).searchParams.getAll('city')).toEqual(['Zwickau']);
      await more.screenshot({ path: `${ARTIFACTS}/console-users-find-city.png` });

      // The search cleared, the commonest come back and the chosen city stays listed, ticked.
      await list.getByLabel('Find a city').fill('');
      await expect.poll(() => list.locator('label.check').count(), SLOW).toBe(9);
      expect(await zwickau.getByRole('checkbox').isChecked()).toBe(true);
      await page.reload();
      await expect.poll(() => rowNames(page), SLOW).toEqual(['Member 24']);
      expect(
        await page.getByRole('group', { name: 'City' }).getByRole('checkbox', { name: 'Zwickau' }).isChecked(),
      ).toBe(true);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'refuses to select every matching user beyond the API’s limit, saying why',
    async () => {
      await server.db.prisma.user.createMany({
        data: Array.from({ length: 10_001 }, (_, i) => ({ realmId, email: `crowd${i}@example.com`, name: 'Crowd' })),
      });
      const { page, problems } = await signIn('ada@example.com');
      await page.getByLabel('Search users').fill('crowd');
      await expect
        .poll(() => page.getByRole('status').filter({ hasText: 'Showing' }).textContent(), SLOW)
        .toBe('Showing 1–50 of 10,001');
      // The counts beside the facets follow the search too.
      await expect
        .poll(
          () =>
            page
              .locator('label.check', { hasText: /^Active/ })
              .locator('.count')
              .textContent(),
          SLOW,
        )
        .toBe('10,001');
      expect(await page.locator('label.check', { hasText: 'Germany' }).locator('.count').textContent()).toBe('0');
      await page.getByRole('checkbox', { name: 'Select every user on this page' }).check();
      const all = page.getByRole('button', { name: 'Select all 10,001 users matching the filter' });
      expect(await all.isDisabled()).toBe(true);
      expect(await page.locator(`#${await all.getAttribute('aria-describedby')}`).textContent()).toBe(
        '10,001 users match: a bulk action takes at most 10,000. Narrow the filter.',
      );
      await page.screenshot({ path: `${ARTIFACTS}/console-bulk-too-many.png` });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
