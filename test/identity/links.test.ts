import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/modules/users/users.passwords.ts';
import { openBody } from '../../src/modules/outbox/outbox.service.ts';
import { Browser, csrfOf } from '../helpers/browser.ts';
import { graphql } from '../helpers/documents.ts';
import { createApplication, makeSession, makeUser } from '../helpers/fixtures.ts';
import { expectErrorCode, expectRefused, payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { relyingParty, startSignIn } from '../helpers/sign-in.ts';
import { expectUnchanged } from '../helpers/state.ts';

const SEND_VERIFICATION = graphql(`
  mutation IdentityLinksSendVerification($input: UserIdInput!) {
    sendVerificationEmail(input: $input) {
      user {
        id
      }
      message {
        id
        kind
        recipient
        subject
        status
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const SEND_RESET = graphql(`
  mutation IdentityLinksSendReset($input: UserIdInput!) {
    sendPasswordResetEmail(input: $input) {
      message {
        id
        kind
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const CREATE = graphql(`
  mutation IdentityLinksCreate($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
        emailVerified
      }
      userErrors {
        code
      }
    }
  }
`);

const UPDATE = graphql(`
  mutation IdentityLinksUpdate($input: UpdateUserInput!) {
    updateUser(input: $input) {
      user {
        id
        emailVerified
      }
      userErrors {
        code
      }
    }
  }
`);

const SPA_CALLBACK = 'https://spa.example.com/callback';
const NEW_PASSWORD = 'Amber-otter-glides-9041';

let server: TestServer;
let spaClientId: string;

/** The link in the newest email to `recipient` in the outbox, read as the SMTP server would get it. */
async function linkSentTo(recipient: string): Promise<string> {
  // The sign-in page's "forgot password" writes it just after answering.
  await expect
    .poll(() => server.db.prisma.outboxMessage.count({ where: { recipient } }), { timeout: 10_000 })
    .toBeGreaterThan(0);
  const row = await server.db.prisma.outboxMessage.findFirstOrThrow({ where: { recipient }, orderBy: { id: 'desc' } });
  const body = openBody(server.outboxKey, row)!;
  const url = /(http:\/\/\S+\?token=[A-Za-z0-9_-]+)/.exec(body.text)?.[1];
  expect(url, body.text).toBeDefined();
  expect(body.html).toContain(`href="${url}"`);
  return url!;
}

/** Opens a link in a new browser: its page and the form to post back. */
async function open(url: string) {
  const browser = new Browser(server.url);
  const response = await browser.request(url);
  const html = await response.text();
  return { browser, status: response.status, html, headers: response.headers };
}

async function post(url: string, browser: Browser, form: Record<string, string>) {
  const response = await browser.request(url, { method: 'POST', form });
  return { status: response.status, html: await response.text() };
}

const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

beforeAll(async () => {
  server = await startTestServer();
  const spa = await createApplication(server, { name: 'Links SPA', type: 'SPA', redirectUris: [SPA_CALLBACK] });
  spaClientId = spa.clientId;
});

afterAll(async () => {
  await server?.close();
});

describe('email verification', () => {
  it('sends a one-time link whose hosted page verifies the address and activates the user, once', async () => {
    const email = 'pending@example.com';
    const user = await makeUser(server, server.admin.realmId, { email, status: 'PENDING_VERIFICATION', name: 'Pat' });
    const sent = payloadOf(await server.graphql(SEND_VERIFICATION, { input: { id: user.globalId } }));
    expect(sent.userErrors).toEqual([]);
    expect(sent.message).toMatchObject({ kind: 'email.verification', recipient: email, status: 'PENDING' });
    const url = await linkSentTo(email);
    expect(url).toMatch(new RegExp(`^${server.url}/oauth2/default/verify-email\\?token=`));
    // Only the token's hash is stored.
    const links = await server.db.prisma.oneTimeLink.findMany({ where: { userId: user.id } });
    expect(links).toHaveLength(1);
    expect(JSON.stringify(links)).not.toContain(tokenOf(url));

    // Opening the link (as a mail scanner would) uses nothing.
    const opened = await expectUnchanged(server, () => open(url));
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(opened.html).toContain('Confirm my email address');

    const done = await post(url, opened.browser, { csrf: csrfOf(opened.html), token: tokenOf(url) });
    expect(done.status).toBe(200);
    expect(done.html).toContain('Your email address is confirmed.');
    const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after).toMatchObject({ emailVerified: true, status: 'ACTIVE' });
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId: server.admin.realmId, action: 'user.email_verified', targetId: user.id },
    });
    expect(audit).toMatchObject({ actorType: 'user', actorId: user.id });

    // Used: the page and the form refuse it.
    expect((await open(url)).status).toBe(400);
    const again = await post(url, opened.browser, { csrf: csrfOf(opened.html), token: tokenOf(url) });
    expect(again.status).toBe(400);
    expect(again.html).toContain('This link has expired, was already used');
  });

  it('is sent on creation with an unverified address when the realm requires verification', async () => {
    const realm = { where: { id: server.admin.realmId } };
    await server.db.prisma.realm.update({ ...realm, data: { requireEmailVerification: true } });
    try {
      const created = payloadOf(
        await server.graphql(CREATE, { input: { email: 'newcomer@example.com', status: 'PENDING_VERIFICATION' } }),
      );
      expect(created.userErrors).toEqual([]);
      const url = await linkSentTo('newcomer@example.com');
      const opened = await open(url);
      const done = await post(url, opened.browser, { csrf: csrfOf(opened.html), token: tokenOf(url) });
      expect(done.status).toBe(200);
      expect(await server.db.prisma.user.findUniqueOrThrow({ where: { id: rawId(created.user!.id) } })).toMatchObject({
        emailVerified: true,
        status: 'ACTIVE',
      });

      // Verified already, or no address: nothing is sent.
      payloadOf(await server.graphql(CREATE, { input: { email: 'known@example.com', emailVerified: true } }));
      payloadOf(await server.graphql(CREATE, { input: { phone: '+14155550199' } }));
      expect(await server.db.prisma.outboxMessage.count({ where: { recipient: 'known@example.com' } })).toBe(0);

      // A new address, unverified, gets a link too; the old address's link no longer verifies anything.
      const changed = payloadOf(
        await server.graphql(UPDATE, { input: { id: created.user!.id, patch: { email: 'moved@example.com' } } }),
      );
      expect(changed.user).toMatchObject({ emailVerified: false });
      expect(await linkSentTo('moved@example.com')).toContain('/verify-email?token=');
    } finally {
      await server.db.prisma.realm.update({ ...realm, data: { requireEmailVerification: false } });
    }
    // Without the requirement, creation sends nothing.
    payloadOf(await server.graphql(CREATE, { input: { email: 'quiet@example.com' } }));
    expect(await server.db.prisma.outboxMessage.count({ where: { recipient: 'quiet@example.com' } })).toBe(0);
  });

  it('refuses what it cannot send and changes nothing', async () => {
    const verified = await makeUser(server, server.admin.realmId, { emailVerified: true });
    const noEmail = await makeUser(server, server.admin.realmId, { email: null, username: 'no-mail' });
    const deleted = await makeUser(server, server.admin.realmId, { status: 'DELETED', deletedAt: new Date() });
    const send = (id: string) => () => server.graphql(SEND_VERIFICATION, { input: { id } });
    await expectRefused(server, send(verified.globalId), [['INVALID_STATE', ['input', 'id']]]);
    await expectRefused(server, send(noEmail.globalId), [['INVALID_STATE', ['input', 'id']]]);
    await expectRefused(server, send(deleted.globalId), [['INVALID_STATE', ['input', 'id']]]);
    await expectRefused(server, send(Buffer.from('User:00000000-0000-7000-8000-000000000000').toString('base64url')), [
      ['NOT_FOUND', ['input', 'id']],
    ]);
    const token = await server.token(server.admin, 'users:read realm:read');
    const before = await server.db.prisma.outboxMessage.count();
    expectErrorCode(
      await server.graphql(SEND_VERIFICATION, { input: { id: verified.globalId } }, token),
      'FORBIDDEN',
      'sendVerificationEmail',
    );
    expect(await server.db.prisma.outboxMessage.count()).toBe(before);
  });

  it('a link for an address the user no longer has does not verify the new one', async () => {
    const user = await makeUser(server, server.admin.realmId, { email: 'old@example.com' });
    await server.graphql(SEND_VERIFICATION, { input: { id: user.globalId } });
    const url = await linkSentTo('old@example.com');
    await server.db.prisma.user.update({ where: { id: user.id }, data: { email: 'new@example.com' } });
    const opened = await open(url);
    const done = await post(url, opened.browser, { csrf: csrfOf(opened.html), token: tokenOf(url) });
    expect(done.status).toBe(409);
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerified).toBe(false);
  });
});

describe('password reset', () => {
  it('the hosted page sets a new password under the realm’s policy, revokes the sessions, and works once', async () => {
    const email = 'reset@example.com';
    const user = await makeUser(server, server.admin.realmId, { email, failedLoginAttempts: 3 });
    const session = await makeSession(server, server.admin.realmId, user.id);
    const sent = payloadOf(await server.graphql(SEND_RESET, { input: { id: user.globalId } }));
    expect(sent).toMatchObject({ message: { kind: 'email.password_reset' }, userErrors: [] });
    const url = await linkSentTo(email);
    const opened = await open(url);
    expect(opened.status).toBe(200);
    const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };

    const weak = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, password: 'password', confirmPassword: 'password' }),
    );
    expect(weak.status).toBe(400);
    expect(weak.html).toContain('role="alert"');
    const differ = await post(url, opened.browser, { ...form, password: NEW_PASSWORD, confirmPassword: 'other' });
    expect(differ.html).toContain('The two passwords differ.');
    const forged = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, csrf: 'forged', password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }),
    );
    expect(forged.status).toBe(403);

    const done = await post(url, opened.browser, { ...form, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(done.status).toBe(200);
    expect(done.html).toContain('Your password is changed');
    const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', NEW_PASSWORD)).toBe(true);
    expect(after).toMatchObject({ failedLoginAttempts: 0, passwordExpired: false });
    expect((await server.db.prisma.session.findUniqueOrThrow({ where: { id: session.id } })).revokedAt).not.toBeNull();
    const again = await post(url, opened.browser, {
      ...form,
      password: 'Another-pass-4411x',
      confirmPassword: 'Another-pass-4411x',
    });
    expect(again.status).toBe(400);
  });

  it('two concurrent uses of one link: one wins', async () => {
    const email = 'race@example.com';
    const user = await makeUser(server, server.admin.realmId, { email });
    await server.graphql(SEND_RESET, { input: { id: user.globalId } });
    const url = await linkSentTo(email);
    const opened = await open(url);
    const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };
    const results = await Promise.all(
      ['Copper-kettle-sings-7710', 'Silver-heron-waits-5521'].map((password) =>
        post(url, opened.browser, { ...form, password, confirmPassword: password }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(
      await server.db.prisma.auditEvent.count({
        where: { realmId: server.admin.realmId, action: 'user.password_reset', targetId: user.id },
      }),
    ).toBe(1);
  });

  it('an expired link, a replaced link and a forged or huge token do not work', async () => {
    const email = 'expire@example.com';
    const user = await makeUser(server, server.admin.realmId, { email });
    await server.graphql(SEND_RESET, { input: { id: user.globalId } });
    const first = await linkSentTo(email);
    await server.graphql(SEND_RESET, { input: { id: user.globalId } });
    const second = await linkSentTo(email);
    expect((await open(first)).status).toBe(400);
    expect((await open(second)).status).toBe(200);
    await server.db.prisma.oneTimeLink.updateMany({ where: { userId: user.id }, data: { expiresAt: new Date(0) } });
    expect((await open(second)).status).toBe(400);
    const base = `${server.url}/oauth2/default/reset-password`;
    for (const token of ['', 'x', 'A'.repeat(43), 'A'.repeat(10_000)]) {
      const page = await open(`${base}?token=${token}`);
      expect(page.status).toBe(400);
      expect(page.html).toContain('This link has expired');
    }
  });
});

describe('forgot password on the sign-in page', () => {
  it('gives the same answer whether or not the account exists, and mails a link only to an existing one', async () => {
    const email = 'forgetful@example.com';
    const user = await makeUser(server, server.admin.realmId, { email });
    const config = await relyingParty(`${server.url}/oauth2/default`, spaClientId);
    const started = await startSignIn(server.url, config, SPA_CALLBACK);
    expect(started.html).toContain('Forgot your password?');
    const forgotUrl = `${started.formUrl}/forgot`;
    const page = await started.browser.request(forgotUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    const ask = async (address: string) => {
      const response = await started.browser.request(forgotUrl, {
        method: 'POST',
        form: { csrf: csrfOf(html), email: address },
      });
      return { status: response.status, html: await response.text() };
    };
    const known = await ask(email);
    const url = await linkSentTo(email);
    expect(url).toContain('/oauth2/default/reset-password?token=');
    const unknown = await expectUnchanged(
      server,
      async () => {
        const answer = await ask('nobody@example.com');
        // Whatever the page would write, it writes just after answering.
        await new Promise((resolve) => setTimeout(resolve, 300));
        return answer;
      },
      { ignore: ['RateLimit'] },
    );
    expect(known.status).toBe(200);
    expect(unknown).toEqual(known);
    expect(known.html).toContain('If an account with this address can sign in here');
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId: server.admin.realmId, action: 'user.password_reset_email_sent', targetId: user.id },
    });
    expect(audit).toMatchObject({ actorType: 'user', actorId: user.id });
    const forged = await started.browser.request(forgotUrl, { method: 'POST', form: { csrf: 'x', email } });
    expect(forged.status).toBe(403);
  });
});
