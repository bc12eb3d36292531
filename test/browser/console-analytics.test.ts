/**
 * The console's Analytics screen in a real browser (Debian's Chromium, headless, driven by
 * Playwright) against a real Roster signed in through the realm's hosted sign-in page: the
 * headline total and the breakdowns agree with the database, the growth series shows sign-ins
 * (recorded by the sign-in runtime's own service function) to an administrator who may read the
 * audit log, choosing another interval queries the series again, and an administrator without
 * audit:read (or without users:read) is told why figures are missing. Screenshots go to
 * test-artifacts/.
 */
import type { Page, Request } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { signInWithPassword } from '../../src/modules/users/users.signin.ts';
import {
  ARTIFACTS,
  BROWSER_HOOK_TIMEOUT,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  CREATE_USER,
  PASSWORD,
  SLOW,
  withoutChromium,
} from '../helpers/chromium.ts';
import { adminRoleId, makeRole, makeUser } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

describe.skipIf(withoutChromium)('the console’s Analytics screen in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;
  let realmId: string;

  beforeAll(async () => {
    server = chromium.server;
    realmId = server.admin.realmId;
    const viewer = await makeRole(server, realmId, 'Figures viewer', ['users:read']);
    const keeper = await makeRole(server, realmId, 'Role keeper', ['roles:read']);
    for (const [email, name, role] of [
      ['ada@example.com', 'Ada Lovelace', await adminRoleId(server, realmId)],
      ['vera@example.com', 'Vera Viewer', viewer.globalId],
      ['kim@example.com', 'Kim Keeper', keeper.globalId],
    ] as const) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, country: 'GB', roleIds: [role] },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
    for (const [index, country] of ['DE', 'DE', 'DE', 'FR', 'FR', 'JP'].entries()) {
      await makeUser(server, realmId, { email: `member${index}@example.com`, name: `Member ${index}`, country });
    }
    await server.db.prisma.user.updateMany({
      where: { realmId, email: 'member5@example.com' },
      data: { status: 'SUSPENDED', suspendedAt: new Date(), suspendedReason: 'Testing' },
    });
    // A refused sign-in, as the hosted page records one.
    const applicationId = (
      await server.db.prisma.application.findFirstOrThrow({ where: { clientId: server.admin.clientId } })
    ).id;
    const refused = await signInWithPassword(server.db.prisma, {
      realmId,
      identifier: 'vera@example.com',
      password: 'not the password',
      applicationId,
    });
    expect(refused.ok).toBe(false);
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console, signs in as `email` and follows the Analytics link. */
  async function openAnalytics(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 1000 });
    const { page } = opened;
    await page.goto(`${server.url}/console/`);
    const realm = page.getByLabel('Realm', { exact: true });
    await expect.poll(() => realm.inputValue(), SLOW).toBe('default');
    await realm.focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Email, username or phone number').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Analytics' }).click();
    expect(new URL(page.url()).pathname).toBe('/console/analytics');
    return opened;
  }

  const figure = (page: Page, label: string) => page.locator(`[data-figure="${label}"]`).textContent();
  const bars = (page: Page, title: string) =>
    page
      .locator(`ol[data-breakdown="${title}"] li`)
      .evaluateAll((items) =>
        items.map((item) => [
          item.querySelector('.bar-label')!.textContent,
          Number(item.querySelector('.bar-count')!.textContent.replaceAll(',', '')),
        ]),
      );
  /** The growth table's column `header`, top to bottom, as numbers. */
  const column = async (page: Page, header: string) => {
    const headers = await page.locator('.chart-table thead th').allTextContents();
    const index = headers.indexOf(header);
    expect(index, header).toBeGreaterThan(-1);
    return page
      .locator(`.chart-table tbody tr > :nth-child(${index + 1})`)
      .allTextContents()
      .then((cells) => cells.map((cell) => Number(cell.replaceAll(',', ''))));
  };
  const growthVariables = (request: Request) => {
    if (!request.url().endsWith('/graphql') || request.method() !== 'POST') return null;
    const body = request.postDataJSON() as { operationName?: string; variables?: { interval?: string } };
    return body.operationName === 'ConsoleUserGrowth' ? body.variables! : null;
  };

  it(
    'shows the headline total and breakdowns the database holds, sign-ins per bucket, and queries the series again for another interval',
    async () => {
      const { page, problems } = await openAnalytics('ada@example.com');
      const prisma = server.db.prisma;
      await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor(SLOW);
      const users = await prisma.user.count({ where: { realmId, deletedAt: null } });
      await expect.poll(() => figure(page, 'Users'), SLOW).toBe(String(users));
      // Every user was created within the last 30 days: all are new, none were there before.
      expect(await figure(page, 'New users')).toBe(String(users));
      expect(await figure(page, 'Suspended')).toBe('1');
      expect(
        await page.getByRole('group', { name: 'Users', exact: true }).locator('.figure-change').textContent(),
      ).toBe(`+${users}`);

      // Countries: largest first, as the database counts them.
      const byCountry = await prisma.user.groupBy({
        by: ['country'],
        where: { realmId, deletedAt: null, country: { not: null } },
        _count: true,
      });
      const names = new Intl.DisplayNames('en', { type: 'region' });
      await expect
        .poll(() => bars(page, 'Country'), SLOW)
        .toEqual(
          byCountry
            .map((row) => [names.of(row.country!), row._count] as const)
            .sort((a, b) => b[1] - a[1] || a[0]!.localeCompare(b[0]!)),
        );
      expect(await bars(page, 'Status')).toEqual([
        ['Active', users - 1],
        ['Suspended', 1],
      ]);
      expect((await bars(page, 'Role')).map(([name]) => name)).toEqual(
        expect.arrayContaining(['Roster Administrator', 'Figures viewer', 'Role keeper']),
      );

      // Sign-ins (Ada's just now, the refused one of the setup) in the table under the charts.
      await page.getByRole('figure', { name: 'Sign-in attempts' }).waitFor(SLOW);
      await page.getByText('The figures as a table').click();
      const failed = await prisma.loginEvent.count({ where: { realmId, success: false } });
      const succeeded = await prisma.loginEvent.count({ where: { realmId, success: true } });
      expect(failed).toBe(1);
      expect(sum(await column(page, 'Sign-ins failed'))).toBe(failed);
      expect(sum(await column(page, 'Sign-ins succeeded'))).toBe(succeeded);
      expect(sum(await column(page, 'Sign-ups'))).toBe(users);
      expect((await column(page, 'Users at end')).at(-1)).toBe(users);
      expect(await page.locator('.chart-table tbody tr').count()).toBe(31);
      expect(await page.getByRole('img', { name: /^Sign-ups, deletions and active users, / }).count()).toBe(1);
      await page.screenshot({ path: `${ARTIFACTS}/console-analytics.png`, fullPage: true });

      // Weeks: the series is asked for again, and the table follows.
      const asked = page.waitForRequest((request) => growthVariables(request)?.interval === 'WEEK', SLOW);
      await page.getByRole('radio', { name: 'Week' }).check();
      await asked;
      await expect.poll(() => page.locator('.chart-table tbody tr').count(), SLOW).toBeLessThanOrEqual(14);
      expect(sum(await column(page, 'Sign-ups'))).toBe(users);
      expect(sum(await column(page, 'Sign-ins failed'))).toBe(failed);
      await page.screenshot({ path: `${ARTIFACTS}/console-analytics-weeks.png`, fullPage: true });

      // Another period is another overview, compared to the same days a year earlier.
      const periods = page.getByText(/, compared to /);
      const before = await periods.textContent();
      await page.getByLabel('Period', { exact: true }).selectOption('7');
      await page.getByLabel('Compared to', { exact: true }).selectOption('SAME_PERIOD_LAST_YEAR');
      // The same days and months, a year apart.
      await expect
        .poll(() => periods.textContent(), SLOW)
        .toMatch(/^(\w+ \d+), (\d{4}) – (\w+ \d+), \d{4}, compared to \1, (?!\2)\d{4} – \3, \d{4}\.$/);
      expect(await periods.textContent()).not.toBe(before);
      expect(await figure(page, 'Users')).toBe(String(users));

      // The choices are in the address: a reload (or a shared link) shows the same analytics.
      const address = new URL(page.url());
      expect(address.pathname).toBe('/console/analytics');
      expect(Object.fromEntries(address.searchParams)).toEqual({
        period: '7',
        compare: 'SAME_PERIOD_LAST_YEAR',
        interval: 'WEEK',
      });
      const shown = await periods.textContent();
      await page.reload();
      await expect.poll(() => periods.textContent(), SLOW).toBe(shown);
      expect(await page.getByLabel('Period', { exact: true }).inputValue()).toBe('7');
      expect(await page.getByLabel('Compared to', { exact: true }).inputValue()).toBe('SAME_PERIOD_LAST_YEAR');
      expect(await page.getByRole('radio', { name: 'Week' }).isChecked()).toBe(true);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'tells an administrator without audit:read why sign-ins are missing, and one without roles:read why roles are',
    async () => {
      const { page, problems } = await openAnalytics('vera@example.com');
      await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor(SLOW);
      const notice = page.getByRole('status').filter({ hasText: 'Sign-in attempts are not shown' });
      await notice.waitFor(SLOW);
      expect(await notice.textContent()).toMatch(/audit:read/);
      expect(await page.getByRole('figure', { name: 'Sign-in attempts' }).count()).toBe(0);
      const roles = page.getByRole('region', { name: 'Role', exact: true });
      expect(await roles.textContent()).toMatch(/needs the roles:read scope/);
      const users = await server.db.prisma.user.count({ where: { realmId, deletedAt: null } });
      await expect.poll(() => figure(page, 'Users'), SLOW).toBe(String(users));
      await page.screenshot({ path: `${ARTIFACTS}/console-analytics-no-audit.png`, fullPage: true });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'tells an administrator without users:read that there is nothing to show, and asks for no figures',
    async () => {
      const { page, problems } = await openAnalytics('kim@example.com');
      const asked: string[] = [];
      page.on('request', (request) => {
        const name = request.url().endsWith('/graphql') && request.postDataJSON()?.operationName;
        if (typeof name === 'string') asked.push(name);
      });
      await page.getByRole('alert').filter({ hasText: 'Your roles do not grant the users:read scope' }).waitFor(SLOW);
      expect(await page.getByRole('heading', { name: 'Analytics', level: 1 }).count()).toBe(0);
      // The reason in words, not the API's error about the fields it could not read.
      expect(await page.getByRole('alert').allTextContents()).toEqual([
        expect.stringMatching(/^Your roles do not grant the users:read scope/),
      ]);
      expect(asked.filter((name) => /Overview|Growth|Breakdowns/.test(name))).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}/console-analytics-no-users-read.png` });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
