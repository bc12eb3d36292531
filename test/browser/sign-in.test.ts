/**
 * The hosted sign-in page in a real browser (Debian's Chromium, headless, driven by Playwright):
 * it renders under its Content-Security-Policy without errors, is used with the keyboard alone
 * through its labels, shows a refusal next to the form, and hands the application an
 * authorization code that the token endpoint exchanges. Screenshots go to test-artifacts/.
 * CI installs Chromium (.ci/run); elsewhere the file is skipped when Chromium is missing.
 */
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import {
  accessibilityViolations,
  ARTIFACTS,
  BROWSER_HOOK_TIMEOUT,
  BROWSER_TEST_TIMEOUT,
  CALLBACK,
  chromiumPages,
  SLOW,
  untilFocusPlaced,
  withoutChromium,
} from '../helpers/chromium.ts';
import { makeUser } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

const PASSWORD = 'a long and memorable passphrase 7';

describe.skipIf(withoutChromium)('the hosted sign-in page in Chromium', () => {
  const chromium = chromiumPages();
  let server: TestServer;
  let clientId: string;
  let graceId: string;

  beforeAll(async () => {
    ({ server, clientId } = chromium);
    ({ id: graceId } = await makeUser(server, server.admin.realmId, {
      email: 'grace@example.com',
      emailVerified: true,
      name: 'Grace Hopper',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    }));
  }, BROWSER_HOOK_TIMEOUT);

  /** A page of a new browser context at the start of a code + PKCE sign-in, with its callback catcher. */
  async function startSignIn(parameters: Record<string, string> = {}) {
    const config = await oidc.discovery(new URL(server.issuer()), clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...parameters,
    });
    // A refused attempt's page is answered with 401 or 403 on purpose; Chromium logs any 4xx page load.
    const { context, page, problems } = await chromium.newPage({ width: 1000, height: 900 }, /status of 40[13]/);
    // The application's callback is not served: the browser's arrival there is the outcome.
    const arrived: { url: URL | null } = { url: null };
    await context.route(`${new URL(CALLBACK).origin}/**`, async (route) => {
      arrived.url = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
    });
    await page.goto(url.href);
    await untilFocusPlaced(page);
    return { config, verifier, state, context, page, arrived, problems };
  }

  it(
    'enrols an authenticator from the QR page when the realm requires one, then shows the recovery codes once',
    async () => {
      await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'REQUIRED' } });
      try {
        const lin = await makeUser(server, server.admin.realmId, {
          email: 'lin@example.com',
          emailVerified: true,
          passwordHash: await hashPassword(PASSWORD),
          passwordAlgorithm: 'ARGON2ID',
        });
        const { config, verifier, state, context, page, arrived, problems } = await startSignIn();
        await page.keyboard.type('lin@example.com');
        await page.keyboard.press('Tab');
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Enter');
        await expect.poll(() => page.title(), SLOW).toMatch(/Set up an authenticator/);
        const qr = page.getByRole('img', { name: /QR code/ });
        expect((await qr.boundingBox())!.width).toBeGreaterThan(150);
        await page.screenshot({ path: `${ARTIFACTS}/enrol-authenticator.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);

        const secret = (await page.locator('#secret').textContent())!.replace(/\s/g, '');
        const code = new TOTP({
          secret: Secret.fromBase32(secret),
          digits: 6,
          period: 30,
          algorithm: 'SHA1',
        }).generate();
        await chromium.untilFocused(page, 'Code from the app');
        await page.keyboard.type(code);
        await page.keyboard.press('Enter');
        await expect.poll(() => page.title(), SLOW).toMatch(/Authenticator set up/);
        expect(await page.locator('ol.codes li').count()).toBe(10);
        await page.screenshot({ path: `${ARTIFACTS}/recovery-codes.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);

        await page.keyboard.press('Enter');
        await expect.poll(() => arrived.url?.href ?? null, SLOW).not.toBeNull();
        const tokens = await oidc.authorizationCodeGrant(config, arrived.url!, {
          pkceCodeVerifier: verifier,
          expectedState: state,
        });
        expect(tokens.claims()?.sub).toBe(lin.id);
        const factors = await server.db.prisma.mfaFactor.findMany({
          where: { userId: lin.id },
          orderBy: { type: 'asc' },
        });
        expect(factors.map((factor) => factor.type)).toEqual(['TOTP', 'RECOVERY_CODES']);
        expect(await server.db.prisma.loginEvent.count({ where: { userId: lin.id, success: true } })).toBe(1);
        expect(problems).toEqual([]);
        await context.close();
      } finally {
        await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'OPTIONAL' } });
      }
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'signs in with the keyboard alone and hands the application a code',
    async () => {
      const { config, verifier, state, context, page, arrived, problems } = await startSignIn();
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      const identifier = page.getByLabel('Email, username or phone number');
      const password = page.getByLabel('Password', { exact: true });
      // The identifier field has the focus on arrival; Tab moves to the password.
      expect(await identifier.evaluate((element) => element === document.activeElement)).toBe(true);
      // The public URL is http://127.0.0.1:…, an IP address that WebAuthn refuses: no passkey button
      // (the passkey pages in Chromium run on localhost, test/browser/passkeys.test.ts).
      expect(await page.getByRole('button').allTextContents()).toEqual(['Sign in']);
      await page.screenshot({ path: `${ARTIFACTS}/sign-in.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.keyboard.type('grace@example.com');
      await page.keyboard.press('Tab');
      expect(await password.evaluate((element) => element === document.activeElement)).toBe(true);
      await page.keyboard.type('not the password');
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.getByRole('alert').textContent(), SLOW)
        .toMatch(/not right|incorrect|did not match/i);
      expect(await identifier.inputValue()).toBe('grace@example.com');
      // The identifier is kept; the focus waits in the empty password field.
      expect(await password.evaluate((element) => element === document.activeElement)).toBe(true);
      expect(await password.inputValue()).toBe('');
      await page.screenshot({ path: `${ARTIFACTS}/sign-in-refused.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await expect.poll(() => arrived.url?.href ?? null, SLOW).not.toBeNull();
      expect(arrived.url!.searchParams.get('state')).toBe(state);
      const tokens = await oidc.authorizationCodeGrant(config, arrived.url!, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      expect(tokens.claims()?.sub).toBe(graceId);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, graceId);
      expect(userinfo).toMatchObject({ sub: graceId, email: 'grace@example.com', name: 'Grace Hopper' });
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'tells a user who is not a member of the organisation the application asked for, next to the form',
    async () => {
      const tenant = await server.db.prisma.tenant.create({
        data: { realmId: server.admin.realmId, name: 'Acme <Labs>', slug: 'acme' },
      });
      const { context, page, arrived, problems } = await startSignIn({ tenant: tenant.id });
      await page.getByLabel('Email, username or phone number').fill('grace@example.com');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.getByRole('alert').textContent(), SLOW)
        .toBe('This account is not a member of Acme <Labs>, which this application signs in to.');
      expect(await page.getByLabel('Email, username or phone number').inputValue()).toBe('grace@example.com');
      await page.screenshot({ path: `${ARTIFACTS}/sign-in-not-member.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(arrived.url).toBeNull();
      expect(await server.db.prisma.session.count({ where: { userId: graceId, tenantId: tenant.id } })).toBe(0);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );
});
