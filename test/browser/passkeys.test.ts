/**
 * Passkeys on the hosted sign-in pages in a real browser (Debian's Chromium, headless, driven by
 * Playwright) with a CDP virtual authenticator (a CTAP2 platform authenticator that keeps
 * discoverable credentials and verifies its user): registration offered after a password
 * sign-in, sign-in with the passkey alone, the passkey as second step, a passkey as the second
 * factor a realm requires, and the refusals a browser sees (a cloned authenticator's counter, a
 * suspended user). The public URL's host is `localhost`: WebAuthn refuses an IP address as
 * relying party ID. Screenshots go to test-artifacts/.
 */
import * as oidc from 'openid-client';
import type { CDPSession, Page } from 'playwright-core';
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
import { graphql } from '../helpers/documents.ts';
import { makeUser } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

const PASSWORD = 'a long and memorable passphrase 7';

const INVITE = graphql(`
  mutation BrowserPasskeysInvite($input: InviteUserInput!) {
    inviteUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);

/** A credential as CDP's WebAuthn domain exports and imports it. */
interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

describe.skipIf(withoutChromium)('passkeys on the hosted pages in Chromium', () => {
  // WebAuthn refuses an IP address as relying party ID.
  const chromium = chromiumPages({ publicHost: 'localhost' });
  let server: TestServer;
  let clientId: string;
  let adaId: string;
  /** Ada's passkey as her authenticator held it after registration. */
  let adaCredential: VirtualCredential;

  beforeAll(async () => {
    ({ server, clientId } = chromium);
    ({ id: adaId } = await makeUser(server, server.admin.realmId, {
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    }));
  }, BROWSER_HOOK_TIMEOUT);

  /** A virtual platform authenticator for `page`, holding `credentials`. */
  async function authenticator(page: Page, credentials: VirtualCredential[] = []) {
    const cdp: CDPSession = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    for (const credential of credentials) {
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    }
    return {
      credentials: async () =>
        (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as VirtualCredential[],
    };
  }

  /**
   * A page of a new browser context at the start of a code + PKCE sign-in, with its callback
   * catcher. With `autofill: false` the browser reports no passkey autofill (conditional
   * mediation), as one without it would: a virtual authenticator answers a conditional request at
   * once with its passkey, where a person would have to choose it, so a test of another way to sign
   * in with a passkey present turns autofill off.
   */
  async function startSignIn(withCredentials?: VirtualCredential[], { autofill = true } = {}) {
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
    });
    const { context, page, problems } = await chromium.newPage({ width: 1000, height: 900 }, /status of 40[013]/);
    const arrived: { url: URL | null } = { url: null };
    await context.route(`${new URL(CALLBACK).origin}/**`, async (route) => {
      arrived.url = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' });
    });
    if (!autofill) {
      await context.addInitScript(() => {
        // Not in every frame: a page of an insecure origin has no WebAuthn at all.
        if (typeof PublicKeyCredential === 'function') {
          PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
        }
      });
    }
    const device = withCredentials ? await authenticator(page, withCredentials) : null;
    await page.goto(url.href);
    const signedIn = async () => {
      await expect.poll(() => arrived.url?.href ?? null, SLOW).not.toBeNull();
      return oidc.authorizationCodeGrant(config, arrived.url!, { pkceCodeVerifier: verifier, expectedState: state });
    };
    return { context, page, arrived, problems, device, signedIn };
  }

  /** Tabs from the top of the page to the button named `name`, then presses Enter: the keyboard alone. */
  async function pressButton(page: Page, name: RegExp) {
    const button = page.getByRole('button', { name });
    await expect.poll(() => button.isVisible(), SLOW).toBe(true);
    for (let tabs = 0; tabs < 12; tabs++) {
      if (await button.evaluate((element) => element === document.activeElement)) break;
      await page.keyboard.press('Tab');
    }
    expect(await button.evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
  }

  async function typePassword(page: Page, email: string) {
    await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
    await untilFocusPlaced(page);
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
  }

  it(
    'offers a passkey after a password sign-in and registers it with the authenticator',
    async () => {
      const { context, page, problems, device, signedIn } = await startSignIn([]);
      await typePassword(page, 'ada@example.com');
      await expect.poll(() => page.title(), SLOW).toMatch(/Add a passkey/);
      const add = page.getByRole('button', { name: /^Add a passkey$/ });
      await expect.poll(() => add.evaluate((element) => element === document.activeElement), SLOW).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/passkey-offer.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await pressButton(page, /^Add a passkey$/);
      const tokens = await signedIn();
      expect(tokens.claims()?.sub).toBe(adaId);
      expect(tokens.claims()?.amr).toEqual(['pwd']);

      const [stored] = await device!.credentials();
      expect(stored!.isResidentCredential).toBe(true);
      adaCredential = stored!;
      const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: adaId } });
      expect(factors).toHaveLength(1);
      expect(factors[0]).toMatchObject({
        type: 'WEBAUTHN',
        credentialId: Buffer.from(stored!.credentialId, 'base64').toString('base64url'),
        transports: ['internal'],
      });
      expect(factors[0]!.name).toMatch(/^Passkey \(Chrom/);
      expect(factors[0]!.publicKey!.length).toBeGreaterThan(50);
      const audit = await server.db.prisma.auditEvent.findFirst({
        where: { action: 'user.mfa_enrolled', targetId: adaId },
      });
      expect(audit?.changes).toMatchObject({ type: 'WEBAUTHN', factorId: factors[0]!.id });
      // The registration's challenge is marked used: it cannot register anything again.
      expect(await server.db.prisma.usedPasskeyChallenge.count()).toBe(1);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'signs in with the passkey alone from the identifier page, with the keyboard',
    async () => {
      const before = await server.db.prisma.mfaFactor.findFirstOrThrow({ where: { userId: adaId } });
      const { context, page, problems, device, signedIn } = await startSignIn([adaCredential], { autofill: false });
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      await page.screenshot({ path: `${ARTIFACTS}/passkey-sign-in.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await pressButton(page, /Sign in with a passkey/);
      const tokens = await signedIn();
      expect(tokens.claims()?.sub).toBe(adaId);
      expect(tokens.claims()?.amr).toEqual(['hwk', 'user', 'mfa']);

      const after = await server.db.prisma.mfaFactor.findFirstOrThrow({ where: { userId: adaId } });
      expect(after.lastUsedAt!.getTime()).toBeGreaterThan((before.lastUsedAt ?? before.createdAt).getTime() - 1);
      adaCredential = (await device!.credentials())[0]!;
      expect(Number(after.signCount)).toBe(adaCredential.signCount);
      expect(Number(after.signCount)).toBeGreaterThan(Number(before.signCount));
      const event = await server.db.prisma.loginEvent.findFirst({ where: { userId: adaId }, orderBy: { at: 'desc' } });
      expect(event).toMatchObject({ success: true, method: 'passkey' });
      const session = await server.db.prisma.session.findFirst({
        where: { userId: adaId },
        orderBy: { createdAt: 'desc' },
      });
      expect(session?.revokedAt).toBeNull();
      expect(session?.device).toMatch(/Chrom/);
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'signs in with the passkey the identifier field offers (autofill): nothing typed or pressed',
    async () => {
      const { context, problems, device, signedIn } = await startSignIn([adaCredential]);
      const tokens = await signedIn();
      expect(tokens.claims()?.sub).toBe(adaId);
      expect(tokens.claims()?.amr).toEqual(['hwk', 'user', 'mfa']);
      adaCredential = (await device!.credentials())[0]!;
      const event = await server.db.prisma.loginEvent.findFirst({ where: { userId: adaId }, orderBy: { at: 'desc' } });
      expect(event).toMatchObject({ success: true, method: 'passkey' });
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'marks the identifier field for passkey autofill, and after a refused passkey offers it no more',
    async () => {
      const { context, page, arrived, problems } = await startSignIn([], { autofill: false });
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      // Autofill lists passkeys only where `webauthn` is the last token (HTML autofill detail tokens).
      expect(await page.getByLabel('Email, username or phone number').getAttribute('autocomplete')).toBe(
        'username webauthn',
      );
      expect(await page.locator('form[data-passkey-autofill]').count()).toBe(1);
      await context.close();

      await server.db.prisma.user.update({ where: { id: adaId }, data: { status: 'SUSPENDED' } });
      try {
        const refused = await startSignIn([adaCredential]);
        await expect.poll(() => refused.page.getByRole('alert').textContent(), SLOW).toMatch(/cannot sign in/);
        await refused.page.screenshot({ path: `${ARTIFACTS}/passkey-autofill-refused.png`, fullPage: true });
        expect(await accessibilityViolations(refused.page)).toEqual([]);
        // The page that says so does not send the passkey again by itself (a virtual authenticator
        // would answer at once, as often as asked); its button still can.
        expect(await refused.page.locator('form[data-passkey-autofill]').count()).toBe(0);
        expect(await refused.page.getByRole('button', { name: /Sign in with a passkey/ }).isVisible()).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const events = await server.db.prisma.loginEvent.findMany({
          where: { userId: adaId, failureReason: 'account_suspended' },
        });
        expect(events).toHaveLength(1);
        expect(refused.arrived.url).toBeNull();
        expect(refused.problems).toEqual([]);
        // The refused assertion still counted on the authenticator (and on the server).
        adaCredential = (await refused.device!.credentials())[0]!;
        await refused.context.close();
      } finally {
        await server.db.prisma.user.update({ where: { id: adaId }, data: { status: 'ACTIVE' } });
      }
      expect(arrived.url).toBeNull();
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'asks for the passkey as the second step after the password',
    async () => {
      const { context, page, problems, device, signedIn } = await startSignIn([adaCredential], { autofill: false });
      await typePassword(page, 'ada@example.com');
      await expect.poll(() => page.title(), SLOW).toMatch(/Confirm with your passkey/);
      // Ada has no authenticator app: no code field.
      expect(await page.getByLabel('Code').count()).toBe(0);
      // The passkey is the step's one way: its button has the focus, Enter alone goes on.
      const use = page.getByRole('button', { name: /Use your passkey/ });
      await expect.poll(() => use.evaluate((element) => element === document.activeElement), SLOW).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/passkey-second-step.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      await pressButton(page, /Use your passkey/);
      const tokens = await signedIn();
      expect(tokens.claims()?.amr).toEqual(['pwd', 'hwk', 'mfa']);
      adaCredential = (await device!.credentials())[0]!;
      const event = await server.db.prisma.loginEvent.findFirst({ where: { userId: adaId }, orderBy: { at: 'desc' } });
      expect(event).toMatchObject({ success: true, method: 'password+passkey' });
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'refuses a passkey whose counter went backwards (a cloned authenticator) and audits it',
    async () => {
      const stored = await server.db.prisma.mfaFactor.findFirstOrThrow({ where: { userId: adaId } });
      const clone = { ...adaCredential, signCount: 0 };
      const { context, page, arrived, problems } = await startSignIn([clone], { autofill: false });
      await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
      // The clone's first use signs with counter 1, below the stored one.
      expect(Number(stored.signCount)).toBeGreaterThan(1);
      await pressButton(page, /Sign in with a passkey/);
      await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/passkey could not be verified/);
      await page.screenshot({ path: `${ARTIFACTS}/passkey-refused.png`, fullPage: true });
      expect(await accessibilityViolations(page)).toEqual([]);
      expect(arrived.url).toBeNull();
      const audit = await server.db.prisma.auditEvent.findFirst({
        where: { action: 'user.passkey_counter_regressed', targetId: adaId },
      });
      expect(audit?.changes).toMatchObject({ factorId: stored.id, storedCounter: Number(stored.signCount) });
      const event = await server.db.prisma.loginEvent.findFirst({ where: { userId: adaId }, orderBy: { at: 'desc' } });
      expect(event).toMatchObject({ success: false, method: 'passkey', failureReason: 'passkey_counter_regressed' });
      expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: adaId } })).failedLoginAttempts).toBe(1);
      expect(Number((await server.db.prisma.mfaFactor.findFirstOrThrow({ where: { id: stored.id } })).signCount)).toBe(
        Number(stored.signCount),
      );
      expect(problems).toEqual([]);
      await context.close();
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'refuses a suspended user who presents a valid passkey',
    async () => {
      await server.db.prisma.user.update({ where: { id: adaId }, data: { status: 'SUSPENDED' } });
      try {
        const { context, page, arrived, problems } = await startSignIn([adaCredential], { autofill: false });
        await expect.poll(() => page.title(), SLOW).toMatch(/Sign in/);
        await pressButton(page, /Sign in with a passkey/);
        await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/cannot sign in/);
        expect(arrived.url).toBeNull();
        const event = await server.db.prisma.loginEvent.findFirst({
          where: { userId: adaId },
          orderBy: { at: 'desc' },
        });
        expect(event).toMatchObject({ success: false, method: 'passkey', failureReason: 'account_suspended' });
        expect(problems).toEqual([]);
        await context.close();
      } finally {
        await server.db.prisma.user.update({ where: { id: adaId }, data: { status: 'ACTIVE' } });
      }
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'enrols a passkey as the second factor the realm requires',
    async () => {
      await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'REQUIRED' } });
      try {
        const bo = await makeUser(server, server.admin.realmId, {
          email: 'bo@example.com',
          emailVerified: true,
          passwordHash: await hashPassword(PASSWORD),
          passwordAlgorithm: 'ARGON2ID',
        });
        const { context, page, problems, signedIn } = await startSignIn([]);
        await typePassword(page, 'bo@example.com');
        await expect.poll(() => page.title(), SLOW).toMatch(/Set up an authenticator/);
        await page.screenshot({ path: `${ARTIFACTS}/passkey-enrol.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);
        await pressButton(page, /Use a passkey instead/);
        const tokens = await signedIn();
        expect(tokens.claims()?.sub).toBe(bo.id);
        expect(tokens.claims()?.amr).toEqual(['pwd', 'hwk', 'mfa']);
        const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: bo.id } });
        expect(factors.map((factor) => factor.type)).toEqual(['WEBAUTHN']);
        const event = await server.db.prisma.loginEvent.findFirst({
          where: { userId: bo.id },
          orderBy: { at: 'desc' },
        });
        expect(event).toMatchObject({ success: true, method: 'password+passkey' });
        expect(problems).toEqual([]);
        await context.close();
      } finally {
        await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'OPTIONAL' } });
      }
    },
    BROWSER_TEST_TIMEOUT,
  );

  it(
    'an invited person sets up a passkey instead of an authenticator where the realm requires MFA, then signs in with it',
    async () => {
      await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'REQUIRED' } });
      try {
        const invited = await server.graphql(INVITE, { input: { email: 'cy@example.com', name: 'Cy' } });
        expect(invited.data?.inviteUser.userErrors).toEqual([]);
        const user = () => server.db.prisma.user.findFirstOrThrow({ where: { email: 'cy@example.com' } });
        const link = await chromium.linkSentTo('cy@example.com');
        const { context, page, problems } = await chromium.newPage({ width: 1000, height: 900 });
        const device = await authenticator(page);
        await page.goto(link);
        await expect.poll(() => page.title(), SLOW).toMatch(/Accept your invitation/);
        await untilFocusPlaced(page);
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Tab');
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Enter');
        await expect.poll(() => page.title(), SLOW).toMatch(/Set up an authenticator/);
        await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-passkey.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);
        expect(await user()).toMatchObject({ status: 'INVITED', passwordHash: null });
        await pressButton(page, /Use a passkey instead/);
        await expect.poll(() => page.title(), SLOW).toMatch(/Invitation accepted/);
        expect(await page.getByRole('status').textContent()).toMatch(/sign in with your passkey/);
        await page.screenshot({ path: `${ARTIFACTS}/accept-invitation-passkey-done.png`, fullPage: true });
        expect(await accessibilityViolations(page)).toEqual([]);

        const cy = await user();
        expect(cy).toMatchObject({ status: 'ACTIVE', emailVerified: true, mfaEnrolmentRequired: false });
        const [stored] = await device.credentials();
        const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: cy.id } });
        expect(factors).toHaveLength(1);
        expect(factors[0]).toMatchObject({
          type: 'WEBAUTHN',
          credentialId: Buffer.from(stored!.credentialId, 'base64').toString('base64url'),
        });
        const accepted = await server.db.prisma.auditEvent.findFirstOrThrow({
          where: { action: 'user.invitation_accepted', targetId: cy.id },
        });
        expect(accepted.changes).toMatchObject({ mfaEnrolled: 'WEBAUTHN', passwordSet: true });
        expect(
          await server.db.prisma.auditEvent.count({ where: { action: 'user.mfa_enrolled', targetId: cy.id } }),
        ).toBe(1);
        // The link is used.
        await page.goto(link);
        await expect.poll(() => page.getByRole('alert').textContent(), SLOW).toMatch(/expired, was already used/);
        expect(problems).toEqual([]);
        await context.close();

        // The passkey signs Cy in, alone.
        const signIn = await startSignIn([stored!], { autofill: false });
        await expect.poll(() => signIn.page.title(), SLOW).toMatch(/Sign in/);
        await pressButton(signIn.page, /Sign in with a passkey/);
        const tokens = await signIn.signedIn();
        expect(tokens.claims()?.sub).toBe(cy.id);
        expect(tokens.claims()?.amr).toEqual(['hwk', 'user', 'mfa']);
        expect(signIn.problems).toEqual([]);
        await signIn.context.close();
      } finally {
        await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { mfaPolicy: 'OPTIONAL' } });
      }
    },
    BROWSER_TEST_TIMEOUT,
  );
});
