/**
 * Account recovery in a real browser (Debian's Chromium, headless, driven by Playwright), with the
 * keyboard alone: from the code step of a sign-in to a request, and from the approval's link to a
 * recovered account. Screenshots go to test-artifacts/. Skipped without Chromium outside CI.
 */
import { describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { hashPassword, verifyPassword } from '../../src/modules/users/users.passwords.ts';
import { makeFactor, makeUser } from '../helpers/fixtures.ts';
import {
  accessibilityViolations,
  ARTIFACTS,
  BROWSER_TEST_TIMEOUT,
  chromiumPages,
  SLOW,
  untilFocusPlaced,
  withoutChromium,
} from '../helpers/chromium.ts';

const OLD_PASSWORD = 'Nine amber foxes cross the bridge';
const NEW_PASSWORD = 'Twelve silver gulls over the pier';

describe.skipIf(withoutChromium)('account recovery in Chromium', () => {
  const chromium = chromiumPages();

  it(
    'asks from the code step, then recovers the account from the approval’s link, with the keyboard alone',
    async () => {
      const user = await makeUser(chromium.server, chromium.server.admin.realmId, {
        email: 'mo@example.com',
        emailVerified: true,
        passwordHash: await hashPassword(OLD_PASSWORD),
        passwordAlgorithm: 'ARGON2ID',
      });
      await makeFactor(chromium.server, chromium.server.admin.realmId, user.id, 'TOTP');
      const { context, page, problems } = await chromium.newPage({ width: 1000, height: 900 });

      const url = await chromium.authorizationUrl();
      await page.goto(url);
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      await untilFocusPlaced(page);
      await page.keyboard.type('mo@example.com');
      await page.keyboard.press('Tab');
      await page.keyboard.type(OLD_PASSWORD);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Enter your code/);
      await untilFocusPlaced(page);
      // The code field, the button, then the link.
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent), SLOW)
        .toBe('Lost your authenticator?');
      await page.screenshot({ path: `${ARTIFACTS}/recovery-code-step.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Lost your authenticator/);
      await expect.poll(() => page.evaluate(() => document.activeElement?.id), SLOW).toBe('identifier');
      await page.keyboard.type('mo@example.com');
      await page.keyboard.press('Tab');
      await page.keyboard.type('I reset my phone and the authenticator app is gone.');
      await page.screenshot({ path: `${ARTIFACTS}/recovery-request.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      // In a text area Enter is a new line: Tab to the button, then Enter.
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Request sent/);
      await page.screenshot({ path: `${ARTIFACTS}/recovery-request-sent.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);

      await expect
        .poll(() => chromium.server.db.prisma.recoveryRequest.count({ where: { userId: user.id } }), SLOW)
        .toBe(1);
      const request = await chromium.server.db.prisma.recoveryRequest.findFirstOrThrow({ where: { userId: user.id } });
      expect(request.reason).toBe('I reset my phone and the authenticator app is gone.');
      const approved = await chromium.server.graphql(
        'mutation($input: ApproveRecoveryRequestInput!) { approveRecoveryRequest(input: $input) { userErrors { code } } }',
        { input: { id: encodeGlobalId('RecoveryRequest', request.id) } },
      );
      expect(approved.data?.approveRecoveryRequest.userErrors).toEqual([]);
      const link = await chromium.linkSentTo('mo@example.com', 'email.account_recovery');

      await page.goto(link);
      await expect.poll(() => page.title(), SLOW).toMatch(/Recover your account/);
      await expect.poll(() => page.evaluate(() => document.activeElement?.id), SLOW).toBe('password');
      await page.screenshot({ path: `${ARTIFACTS}/recover-account.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.type(NEW_PASSWORD);
      await page.keyboard.press('Tab');
      await page.keyboard.type(NEW_PASSWORD);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.title(), SLOW).toMatch(/Account recovered/);
      await page.screenshot({ path: `${ARTIFACTS}/recover-account-done.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      const after = await chromium.server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
      expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', NEW_PASSWORD)).toBe(true);
      expect(await chromium.server.db.prisma.mfaFactor.count({ where: { userId: user.id } })).toBe(0);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );
});
