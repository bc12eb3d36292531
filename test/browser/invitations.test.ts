/**
 * The invitation page in a real browser (Debian's Chromium, headless, driven by Playwright), with
 * the keyboard alone: an invited person chooses a password and signs in, or also sets up an
 * authenticator where the realm requires one; an existing user joins a tenant with one key press.
 * Screenshots go to test-artifacts/. Skipped without Chromium outside CI.
 */
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { makeUser } from '../helpers/fixtures.ts';
import {
  accessibilityViolations,
  ARTIFACTS,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  SLOW,
  untilFocusPlaced,
  withoutChromium,
} from '../helpers/chromium.ts';

const PASSWORD = 'Seven copper kites above the harbour';

const INVITE = `mutation($input: InviteUserInput!) { inviteUser(input: $input) { userErrors { code } } }`;

describe.skipIf(withoutChromium)('the invitation page in Chromium', () => {
  const chromium = chromiumPages();

  it(
    'an invited person chooses a password with the keyboard alone, then signs in with it',
    async () => {
      const invited = await chromium.server.graphql(INVITE, { input: { email: 'grace@example.com', name: 'Grace' } });
      expect(invited.data?.inviteUser.userErrors).toEqual([]);
      const { context, page, problems } = await chromium.newPage();
      await page.goto(await chromium.linkSentTo('grace@example.com'));
      await expect.poll(() => page.title(), SLOW).toMatch(/Accept your invitation/);
      await chromium.untilFocused(page, 'Password');
      await page.screenshot({ path: `${ARTIFACTS}/accept-invitation.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.type('grace');
      await page.keyboard.press('Tab');
      await page.keyboard.type('grace');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toBeTruthy();
      await chromium.untilFocused(page, 'Password');
      await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-refused.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Invitation accepted/);
      expect(await page.getByRole('status').textContent()).toMatch(/sign in with your new password/);
      await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-done.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);

      // The password signs in on the hosted sign-in page.
      const url = await chromium.authorizationUrl();
      let landedAt = '';
      await page.route('https://console.example.com/**', async (route) => {
        landedAt = route.request().url();
        await route.fulfill({ status: 200, body: 'back at the application' });
      });
      await page.goto(url);
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      await untilFocusPlaced(page);
      await page.keyboard.type('grace@example.com');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await expect.poll(() => landedAt, SLOW).toMatch(/^https:\/\/console\.example\.com\/callback\?code=/);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'where the realm requires MFA, the invited person sets up an authenticator before the account is ACTIVE',
    async () => {
      const realm = { where: { id: chromium.server.admin.realmId } };
      await chromium.server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'REQUIRED' } });
      try {
        const invited = await chromium.server.graphql(INVITE, { input: { email: 'ada@example.com', name: 'Ada' } });
        expect(invited.data?.inviteUser.userErrors).toEqual([]);
        const user = () => chromium.server.db.prisma.user.findFirstOrThrow({ where: { email: 'ada@example.com' } });
        const link = await chromium.linkSentTo('ada@example.com');
        const { context, page, problems } = await chromium.newPage();
        await page.goto(link);
        await expect.poll(() => page.title(), SLOW).toMatch(/Accept your invitation/);
        expect(await page.locator('main').textContent()).toMatch(/then set up an authenticator app/);
        await chromium.untilFocused(page, 'Password');
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Tab');
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Enter');

        await expect.poll(() => page.title(), SLOW).toMatch(/Set up an authenticator/);
        expect((await page.getByRole('img', { name: /QR code/ }).boundingBox())!.width).toBeGreaterThan(150);
        await chromium.untilFocused(page, 'Code from the app');
        await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-enrol.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);
        // The public URL's host is an IP address, where WebAuthn cannot work: no passkey is offered.
        expect(await page.getByRole('button', { name: /passkey/i }).count()).toBe(0);
        expect(await page.locator('script').count()).toBe(0);
        const secret = (await page.locator('#secret').textContent())!.replace(/\s/g, '');
        // The server's library and parameters (RFC 6238 defaults: SHA-1, 6 digits, 30 s).
        const codeAt = (offset: number) =>
          new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
            timestamp: Date.now() + offset * 30_000,
          });
        const taken = new Set([-2, -1, 0, 1, 2].map(codeAt));
        const wrong = ['000000', '111111', '222222', '333333'].find((code) => !taken.has(code))!;
        await page.keyboard.type(wrong);
        await page.keyboard.press('Enter');
        await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/does not match/);
        await chromium.untilFocused(page, 'Code from the app');
        // The same authenticator is still being set up; nothing was stored.
        expect((await page.locator('#secret').textContent())!.replace(/\s/g, '')).toBe(secret);
        expect(await user()).toMatchObject({ status: 'INVITED', passwordHash: null });
        expect(await chromium.server.db.prisma.mfaFactor.count({ where: { userId: (await user()).id } })).toBe(0);
        await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-enrol-refused.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);

        await page.keyboard.type(codeAt(0));
        await page.keyboard.press('Enter');
        await expect.poll(() => page.title(), SLOW).toMatch(/Invitation accepted/);
        expect(await page.getByRole('status').textContent()).toMatch(/a code from your authenticator app/);
        const codes = await page.locator('ol.codes li').allTextContents();
        expect(codes).toHaveLength(10);
        await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-recovery-codes.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);
        expect(await user()).toMatchObject({ status: 'ACTIVE' });

        // The link is used.
        await page.goto(link);
        await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/expired, was already used/);

        // The password and a code of the authenticator sign in.
        const url = await chromium.authorizationUrl();
        let landedAt = '';
        await page.route('https://console.example.com/**', async (route) => {
          landedAt = route.request().url();
          await route.fulfill({ status: 200, body: 'back at the application' });
        });
        await page.goto(url);
        await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
        await untilFocusPlaced(page);
        await page.keyboard.type('ada@example.com');
        await page.keyboard.press('Tab');
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Enter');
        await expect.poll(() => page.title(), SLOW).toMatch(/Enter your code/);
        await untilFocusPlaced(page);
        // The enrolment's code is used up; the next one is not.
        await page.keyboard.type(codeAt(1));
        await page.keyboard.press('Enter');
        await expect.poll(() => landedAt, SLOW).toMatch(/^https:\/\/console\.example\.com\/callback\?code=/);
        expect(problems).toEqual([]);
        await context.close();
      } finally {
        await chromium.server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'OPTIONAL' } });
      }
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'an existing user joins a tenant with one key press; the used link then says so',
    async () => {
      const tenant = await chromium.server.db.prisma.tenant.create({
        data: { realmId: chromium.server.admin.realmId, name: 'Northwind', slug: 'northwind' },
      });
      const user = await makeUser(chromium.server, chromium.server.admin.realmId, { email: 'lin@example.com' });
      const invited = await chromium.server.graphql(INVITE, {
        input: { email: 'lin@example.com', tenantId: encodeGlobalId('Tenant', tenant.id) },
      });
      expect(invited.data?.inviteUser.userErrors).toEqual([]);
      const { context, page, problems } = await chromium.newPage();
      await page.goto(await chromium.linkSentTo('lin@example.com'));
      await expect.poll(() => page.title(), SLOW).toMatch(/Accept your invitation/);
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent), SLOW)
        .toBe('Accept the invitation');
      await page.screenshot({ path: `${ARTIFACTS}/accept-tenant-invitation.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Invitation accepted/);
      expect(await page.getByRole('status').textContent()).toMatch(/You are a member of Northwind/);
      expect(
        await chromium.server.db.prisma.tenantMembership.count({ where: { userId: user.id, tenantId: tenant.id } }),
      ).toBe(1);
      await page.goBack();
      await page.reload();
      await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/expired, was already used/);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );
});
