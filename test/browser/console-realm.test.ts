/**
 * The console's Realm settings screen in a real browser (Debian's Chromium, headless, driven by
 * Playwright) against a real Roster, signed in through the realm's hosted sign-in page: an
 * administrator changes settings of several kinds at once (checked against the database); values
 * the API refuses are shown at their fields and nothing changes. An administrator with realm:read
 * only sees every control disabled with the reason, and the API refuses the console's mutation
 * with their token. Screenshots go to test-artifacts/.
 */
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

describe.skipIf(withoutChromium)('the console’s Realm settings screen in Chromium', () => {
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
        (await makeRole(server, realmId, 'Read-only admin', ['users:read', 'realm:read'])).globalId,
      ],
    ];
    for (const [email, name, role] of people) {
      const result = await server.graphql(CREATE_USER, {
        input: { email, name, password: PASSWORD, emailVerified: true, roleIds: [role] },
      });
      expect(result.data?.createUser.userErrors).toEqual([]);
    }
  }, BROWSER_HOOK_TIMEOUT);

  /** Opens the console in a new context, signs in as `email` and goes to the realm's settings. */
  async function signIn(email: string) {
    const opened = await chromium.newPage({ width: 1280, height: 900 });
    const { page } = opened;
    await signInToConsole(page, server.url, email, PASSWORD);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Realm' }).click();
    await page.getByRole('heading', { name: 'Realm settings', level: 1 }).waitFor(SLOW);
    expect(new URL(page.url()).pathname).toBe('/console/realm');
    return opened;
  }

  const settings = () => server.db.prisma.realm.findUniqueOrThrow({ where: { id: realmId } });

  it(
    'changes settings of several kinds at once; refused values are shown at their fields and change nothing',
    async () => {
      const { page, problems } = await signIn('ada@example.com');
      const ttl = page.getByLabel('Access token lifetime (seconds)');
      await expect.poll(() => ttl.inputValue(), SLOW).toBe('3600');
      const before = await settings();

      // Out of range, an idle timeout over the lifetime, and not a number: each at its field.
      await ttl.fill('60');
      await page.getByLabel('Failed sign-ins before a lockout').fill('five');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect
        .poll(() => page.locator('#realm-maxFailedSignIns-errors').textContent(), SLOW)
        .toBe('Enter a whole number.');
      expect(await page.getByLabel('Failed sign-ins before a lockout').getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel('Failed sign-ins before a lockout').fill('5');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.locator('#realm-accessTokenTtlSeconds-errors').textContent(), SLOW).toMatch(/300/);
      expect(await ttl.getAttribute('aria-invalid')).toBe('true');
      await page.screenshot({ path: `${ARTIFACTS}/console-realm-error.png`, fullPage: true });
      await ttl.fill('1800');
      await page.getByLabel('Session idle timeout (seconds)').fill('999999999');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect
        .poll(() => page.locator('#realm-sessionIdleTimeoutSeconds-errors').textContent(), SLOW)
        .toMatch(/sessionIdleTimeoutSeconds|31536000|between/);
      expect(await settings()).toEqual(before);

      // Valid values of every kind: a number, a policy, a checkbox list, a text.
      await page.getByLabel('Session idle timeout (seconds)').fill(String(before.sessionIdleTimeoutSeconds));
      await page.getByLabel('Second factors').selectOption('REQUIRED');
      await page.getByRole('checkbox', { name: 'Country' }).check();
      await page.getByLabel('Sender of emails (optional)').fill('Example <no-reply@example.com>');
      const minimum = page.getByLabel('Minimum password length (characters)');
      expect(await minimum.inputValue()).toBe('8');
      await minimum.fill('12');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Saved: 5 settings changed.').waitFor(SLOW);
      const after = await settings();
      expect(after.passwordMinLength).toBe(12);
      expect(after.accessTokenTtlSeconds).toBe(1800);
      expect(after.mfaPolicy).toBe('REQUIRED');
      expect(after.requiredProfileFields).toEqual(['COUNTRY']);
      expect(after.mailFrom).toBe('Example <no-reply@example.com>');
      expect(after.sessionIdleTimeoutSeconds).toBe(before.sessionIdleTimeoutSeconds);
      await expect.poll(() => ttl.inputValue(), SLOW).toBe('1800');
      await page.screenshot({ path: `${ARTIFACTS}/console-realm.png`, fullPage: true });
      const ada = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
      const event = await server.db.prisma.auditEvent.findFirstOrThrow({
        where: { realmId, action: 'realm.settings_updated' },
        orderBy: { at: 'desc' },
      });
      expect(event.actorId).toBe(ada.id);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'shows an administrator with realm:read only every control disabled with the reason; the API refuses the console’s mutation with their token',
    async () => {
      // The first test made second factors required: Rita has none.
      const reset = await server.graphql(
        'mutation { updateRealmSettings(input: { patch: { mfaPolicy: OPTIONAL, requiredProfileFields: [] } }) { userErrors { code } } }',
      );
      expect(reset.data?.updateRealmSettings.userErrors).toEqual([]);
      const { page, problems } = await signIn('rita@example.com');
      const ttl = page.getByLabel('Access token lifetime (seconds)');
      await ttl.waitFor(SLOW);
      expect(await ttl.isDisabled()).toBe(true);
      expect(await page.getByLabel('Second factors').isDisabled()).toBe(true);
      expect(await page.getByRole('checkbox', { name: 'Country' }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Save settings' }).isDisabled()).toBe(true);
      expect(await page.locator('#realm-write-reason').textContent()).toBe(
        'Needs the realm:write scope, which your roles do not grant.',
      );
      await page.screenshot({ path: `${ARTIFACTS}/console-realm-read-only.png`, fullPage: true });

      const token = await page.evaluate(
        () => (JSON.parse(sessionStorage.getItem('roster-console:session')!) as { accessToken: string }).accessToken,
      );
      const before = await settings();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          extensions: {
            persistedQuery: { version: 1, sha256Hash: trustedHash('mutation ConsoleUpdateRealmSettings(') },
          },
          variables: { input: { patch: { mfaPolicy: 'OFF' } } },
        }),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await settings()).toEqual(before);
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});
