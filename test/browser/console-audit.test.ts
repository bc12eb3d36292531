/**
 * The console's Audit log in a real browser (Debian's Chromium, headless, driven by Playwright)
 * against a real Roster, signed in through the realm's hosted sign-in page: an administrator pages
 * through the realm's events newest first (checked against the database), filters them by action,
 * target, actor (a person found by name too) and time (the filters kept in the address, so the way back restores them), reads
 * an event's details and follows its target to the user's page; a refused filter shows its error
 * at the field. An administrator without audit:read sees why, and the API refuses the console's
 * audit documents with their token. Screenshots go to test-artifacts/.
 */
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
import { adminRoleId, makeRole } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

const SUSPEND_USER = `mutation ($input: SuspendUserInput!) {
  suspendUser(input: $input) { user { id } userErrors { field message code } }
}`;

const pad = (n: number) => String(n).padStart(2, '0');
/** An instant as the page's `datetime-local` inputs take it (the browser's time zone is the test's). */
const localMinute = (at: Date) =>
  `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;

describe.skipIf(withoutChromium)('the console’s Audit log in Chromium', () => {
  const chromium = chromiumPages({ console: true });
  let server: TestServer;
  let realmId: string;
  let grace: string;

  beforeAll(async () => {
    server = chromium.server;
    realmId = server.admin.realmId;
    const people: [string, string, string][] = [
      ['ada@example.com', 'Ada Lovelace', await adminRoleId(server, realmId)],
      [
        'rita@example.com',
        'Rita Reader',
        (
          await makeRole(server, realmId, 'Read-only admin', [
            'users:read',
            'roles:read',
            'applications:read',
            'resources:read',
          ])
        ).globalId,
      ],
    ];
    for (const [email, name, role] of people) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, roleIds: [role] },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
    // More events than one page holds.
    for (let i = 0; i < 30; i++) {
      const result = await server.graphql(CREATE_USER, {
        input: { email: `member${i}@example.com`, name: `Member ${i}` },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
    const created = await server.graphql(CREATE_USER, {
      input: { email: 'grace@example.com', name: 'Grace Hopper' },
    });
    grace = created.data!.createUser.user.id as string;
    const suspended = await server.graphql(SUSPEND_USER, { input: { id: grace, reason: 'Chargeback under review' } });
    expect(suspended.data?.suspendUser.userErrors).toEqual([]);
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context, signs in as `email` and goes to the Audit log. */
  async function signIn(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 900 });
    const { page } = opened;
    await signInToConsole(page, server.url, email, PASSWORD);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor(SLOW);
    expect(new URL(page.url()).pathname).toBe('/console/audit');
    return opened;
  }

  const rows = (page: Page) => page.locator('tbody.audit-row');
  const shownActions = (page: Page) =>
    rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-action')));
  const range = (page: Page) => page.locator('#audit-range').textContent();

  /** The realm's events matching `where`, newest first (as the API orders them). */
  const newest = (where: object = {}, skip = 0, take = 25) =>
    server.db.prisma.auditEvent.findMany({
      where: { realmId, ...where },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      skip,
      take,
    });

  it(
    'pages through the events newest first, filters them (kept in the address), shows an event’s details and links its target to the user’s page',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const prisma = server.db.prisma;
      const ada = await prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
      // The whole trail, newest first, 25 at a time; the total is the database's.
      const total = await prisma.auditEvent.count({ where: { realmId } });
      await expect.poll(() => range(page), SLOW).toBe(`Showing 1–25 of ${total}`);
      expect(await shownActions(page)).toEqual((await newest()).map((event) => event.action));
      await page.screenshot({ path: `${ARTIFACTS}/console-audit.png`, fullPage: true });
      await page.getByRole('navigation', { name: 'Audit log pages' }).getByRole('button', { name: 'Older' }).click();
      expect(total).toBeGreaterThan(25);
      await expect.poll(() => range(page), SLOW).toBe(`Showing 26–${Math.min(50, total)} of ${total}`);
      expect(await shownActions(page)).toEqual((await newest({}, 25)).map((event) => event.action));
      await page.getByRole('navigation', { name: 'Audit log pages' }).getByRole('button', { name: 'Newer' }).click();
      await expect.poll(() => range(page), SLOW).toBe(`Showing 1–25 of ${total}`);

      // One action: the suspension, whose details show the reason and who did it.
      await page.getByLabel('Action').selectOption('user.suspended');
      await expect.poll(() => range(page), SLOW).toBe('Showing 1–1 of 1');
      expect(new URL(page.url()).searchParams.get('action')).toBe('user.suspended');
      expect(await page.locator('#audit-action-hint').textContent()).toBe(
        'A user was suspended (its sessions revoked unless the caller asked otherwise).',
      );
      const row = rows(page).first();
      expect(await row.locator('.target-user').textContent()).toBe('Grace Hopper');
      await row.getByRole('button', { name: /^Details of user.suspended by / }).click();
      const details = row.locator('.audit-details');
      await details.waitFor(SLOW);
      const suspension = (await newest({ action: 'user.suspended' }))[0]!;
      expect(await details.locator('.changes').textContent()).toContain('Chargeback under review');
      expect(await details.getByText(suspension.requestId!).count()).toBe(1);
      expect(await details.getByText(server.admin.clientId).count()).toBe(1);
      await page.screenshot({ path: `${ARTIFACTS}/console-audit-details.png`, fullPage: true });

      // Only events about Grace: the filter by target, from the details; then her page, and back.
      await details.getByRole('button', { name: 'Only this target' }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get('target'), SLOW).toBe(grace);
      await page.getByLabel('Action').selectOption('');
      const aboutGrace = await prisma.auditEvent.count({ where: { realmId, targetId: suspension.targetId } });
      expect(aboutGrace).toBe(2);
      await expect.poll(() => range(page), SLOW).toBe('Showing 1–2 of 2');
      expect(await shownActions(page)).toEqual(['user.suspended', 'user.created']);
      await rows(page).first().locator('.target-user').click();
      await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor(SLOW);
      expect(new URL(page.url()).pathname).toBe(`/console/users/${encodeURIComponent(grace)}`);
      await page.goBack();
      await expect.poll(() => range(page), SLOW).toBe('Showing 1–2 of 2');
      expect(await page.getByLabel('Target').inputValue()).toBe(grace);

      // Every user action by Ada (her sign-in), from an event's "Only this actor".
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByLabel('Action').selectOption('user.*');
      await page.getByLabel('Action').selectOption('user.signed_in');
      await expect.poll(() => rows(page).count(), SLOW).toBeGreaterThan(0);
      const signedIn = rows(page)
        .filter({ has: page.getByRole('link', { name: 'Ada Lovelace (you)' }) })
        .first();
      await signedIn.getByRole('button', { name: /^Details/ }).click();
      await signedIn.getByRole('button', { name: 'Only this actor' }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get('actor'), SLOW).toBe(ada.id);
      await page.getByLabel('Action').selectOption('user.*');
      const byAda = await prisma.auditEvent.count({
        where: { realmId, actorId: ada.id, action: { startsWith: 'user.' } },
      });
      await expect.poll(() => range(page), SLOW).toBe(`Showing 1–${byAda} of ${byAda}`);
      expect(await page.locator('#audit-actor-hint').textContent()).toBe('Events by Ada Lovelace (you).');

      // A time range: the minute of the first event up to two minutes later, in the browser's time.
      await page.getByRole('button', { name: 'Clear filters' }).click();
      const oldest = await prisma.auditEvent.findFirstOrThrow({ where: { realmId }, orderBy: { at: 'asc' } });
      const from = new Date(Math.floor(oldest.at.getTime() / 60_000) * 60_000);
      const to = new Date(from.getTime() + 2 * 60_000);
      await page.getByLabel('From').fill(localMinute(from));
      await page.getByLabel('To (not included)').fill(localMinute(to));
      const inRange = await prisma.auditEvent.count({ where: { realmId, at: { gte: from, lt: to } } });
      await expect
        .poll(() => page.locator('.page-head p').textContent(), SLOW)
        .toBe(`${inRange} ${inRange === 1 ? 'event' : 'events'}`);
      const address = new URL(page.url()).searchParams;
      expect([address.get('from'), address.get('to')]).toEqual([from.toISOString(), to.toISOString()]);

      // A link with the filters opens the page filtered.
      await page.goto(`${server.url}/console/audit?action=user.suspended`);
      await expect.poll(() => range(page), SLOW).toBe('Showing 1–1 of 1');
      expect(await page.getByLabel('Action').inputValue()).toBe('user.suspended');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'finds a person by name for the actor and target filters, which take ids',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const prisma = server.db.prisma;
      const ada = await prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });

      await page.getByLabel('Find a person').fill('grace hopper');
      const found = page.getByRole('list', { name: 'People found' });
      await expect
        .poll(() => found.locator('.person').allTextContents(), SLOW)
        .toEqual(['Grace Hopper grace@example.com']);
      await found.getByRole('button', { name: 'Events that changed Grace Hopper' }).click();
      expect(await page.getByLabel('Target').inputValue()).toBe(grace);
      expect(await page.getByLabel('Find a person').inputValue()).toBe('');
      await expect.poll(() => range(page), SLOW).toBe('Showing 1–2 of 2');
      expect(await shownActions(page)).toEqual(['user.suspended', 'user.created']);
      await expect
        .poll(() => page.locator('#audit-target-hint').textContent(), SLOW)
        .toBe('Events that changed Grace Hopper.');

      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByLabel('Find a person').fill('ada@example.com');
      await found.getByRole('button', { name: 'Events by Ada Lovelace' }).click();
      expect(await page.getByLabel('Actor').inputValue()).toBe(ada.id);
      await expect.poll(() => new URL(page.url()).searchParams.get('actor'), SLOW).toBe(ada.id);
      const byAda = await prisma.auditEvent.count({ where: { realmId, actorId: ada.id } });
      await expect
        .poll(() => page.locator('.page-head p').textContent(), SLOW)
        .toBe(`${byAda} ${byAda === 1 ? 'event' : 'events'}`);
      await expect
        .poll(() => page.locator('#audit-actor-hint').textContent(), SLOW)
        .toBe('Events by Ada Lovelace (you).');
      await page.screenshot({ path: `${ARTIFACTS}/console-audit-person.png`, fullPage: true });

      await page.getByLabel('Find a person').fill('nobody by this name');
      await expect.poll(() => page.locator('#audit-person-status').textContent(), SLOW).toBe('Nobody found.');
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows a refused filter (an empty time range, an over-long actor) at its field, and no events',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      await expect.poll(() => range(page), SLOW).toMatch(/^Showing 1–25 of /);
      const now = new Date();
      await page.getByLabel('From').fill(localMinute(now));
      await page.getByLabel('To (not included)').fill(localMinute(new Date(now.getTime() - 3600_000)));
      await expect
        .poll(() => page.locator('#audit-to-errors').textContent(), SLOW)
        .toBe('The end of the time range must be later than its start.');
      expect(await page.getByLabel('To (not included)').getAttribute('aria-invalid')).toBe('true');
      expect(await page.getByLabel('From').getAttribute('aria-invalid')).toBe('false');
      expect(await range(page)).toBe('Correct the filter to see events.');
      expect(await rows(page).count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}/console-audit-error.png`, fullPage: true });

      await page.getByLabel('To (not included)').fill('');
      await page.getByLabel('Actor').fill('x'.repeat(201));
      await expect.poll(() => page.locator('#audit-actor-errors').textContent(), SLOW).toBe('At most 200 characters.');
      expect(await page.locator('#audit-to-errors').count()).toBe(0);
      await page.getByLabel('Actor').fill('');
      await page.getByLabel('From').fill('');
      await expect.poll(() => range(page), SLOW).toMatch(/^Showing 1–25 of /);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'tells an administrator without audit:read why there is nothing to see; the API refuses the console’s audit documents with their token',
    async () => {
      const { page, problems } = await signIn('rita@example.com');
      const notice = page.getByRole('alert');
      await notice.waitFor(SLOW);
      expect(await notice.textContent()).toMatch(/^Needs the audit:read scope, which your roles do not grant\./);
      expect(await page.locator('table').count()).toBe(0);
      expect(await page.getByLabel('Action').count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}/console-audit-denied.png`, fullPage: true });

      const token = await page.evaluate(
        () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
      );
      const rita = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'rita@example.com' } });
      const denials = () =>
        server.db.prisma.auditEvent.count({ where: { realmId, actorId: rita.id, action: 'authorization.denied' } });
      const denied = await denials();
      for (const [text, variables] of [
        ['query ConsoleAuditLog(', { first: 25, filter: { targetId: encodeGlobalId('User', 'x') } }],
        ['query ConsoleAuditActions', {}],
      ] as const) {
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            extensions: { persistedQuery: { version: 1, sha256Hash: trustedHash(text) } },
            variables,
          }),
        });
        const body = (await response.json()) as {
          data?: unknown;
          errors?: { extensions?: { code?: string; missingScopes?: string[] } }[];
        };
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['audit:read'] });
        expect(body.data ?? null).toBeNull();
      }
      // Each refusal is itself in the trail, naming her.
      expect(await denials()).toBe(denied + 2);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
