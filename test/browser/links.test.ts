/**
 * The hosted pages one-time links lead to, and "Forgot your password?" on the sign-in page, in
 * a real browser (Debian's Chromium, headless, driven by Playwright), with the keyboard alone.
 * Screenshots go to test-artifacts/. Skipped without Chromium outside CI.
 */
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/modules/users/users.passwords.ts';
import { makeUser } from '../helpers/fixtures.ts';
import {
  accessibilityViolations,
  ARTIFACTS,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  SLOW,
  withoutChromium,
} from '../helpers/chromium.ts';

const NEW_PASSWORD = 'Bright lanterns over quiet water 8';

describe.skipIf(withoutChromium)('one-time link pages in Chromium', () => {
  const chromium = chromiumPages();

  it(
    'forgot password: from the sign-in page to a new password, with the keyboard alone',
    async () => {
      const user = await makeUser(chromium.server, chromium.server.admin.realmId, {
        email: 'ada@example.com',
        emailVerified: true,
        passwordHash: await hashPassword('the old forgotten passphrase 1'),
        passwordAlgorithm: 'ARGON2ID',
      });
      const url = await chromium.authorizationUrl();
      const { context, page, problems } = await chromium.newPage();
      await page.goto(url);
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      // Identifier, password, the button, then the link.
      for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent), SLOW)
        .toBe('Forgot your password?');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Forgot your password/);
      await chromium.untilFocused(page, 'Email address');
      await page.screenshot({ path: `${ARTIFACTS}/forgot-password.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.type('ada@example.com');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Check your email/);
      expect(await page.getByRole('status').textContent()).toMatch(/If an account with this address can sign in here/);
      await page.screenshot({ path: `${ARTIFACTS}/forgot-password-sent.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.goto(await chromium.linkSentTo('ada@example.com'));
      await expect.poll(() => page.title(), SLOW).toMatch(/Choose a new password/);
      await chromium.untilFocused(page, 'New password');
      await page.keyboard.type('password');
      await page.keyboard.press('Tab');
      await page.keyboard.type('password');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toBeTruthy();
      await page.screenshot({ path: `${ARTIFACTS}/reset-password-refused.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('New password, again', { exact: true }).fill(NEW_PASSWORD);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Password changed/);
      await page.screenshot({ path: `${ARTIFACTS}/reset-password-done.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      const after = await chromium.server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
      expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', NEW_PASSWORD)).toBe(true);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'verifies an email address from the link with one key press',
    async () => {
      const user = await makeUser(chromium.server, chromium.server.admin.realmId, {
        email: 'lin@example.com',
        status: 'PENDING_VERIFICATION',
      });
      const sent = await chromium.server.graphql(
        'mutation($input: UserIdInput!) { sendVerificationEmail(input: $input) { userErrors { code } } }',
        { input: { id: user.globalId } },
      );
      expect(sent.data?.sendVerificationEmail.userErrors).toEqual([]);
      const { context, page, problems } = await chromium.newPage();
      await page.goto(await chromium.linkSentTo('lin@example.com'));
      await expect.poll(() => page.title(), SLOW).toMatch(/Confirm your email address/);
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent), SLOW)
        .toBe('Confirm my email address');
      await page.screenshot({ path: `${ARTIFACTS}/verify-email.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Email address confirmed/);
      await page.screenshot({ path: `${ARTIFACTS}/verify-email-done.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(await chromium.server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({
        emailVerified: true,
        status: 'ACTIVE',
      });
      // The link worked once.
      await page.reload();
      await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/expired, was already used/);
      await page.screenshot({ path: `${ARTIFACTS}/link-used.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );
});
