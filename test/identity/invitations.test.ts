import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { openBody } from '../../src/modules/outbox/outbox.service.ts';
import { hashPassword, verifyPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser, csrfOf } from '../helpers/browser.ts';
import { graphql } from '../helpers/documents.ts';
import { createApplication, makeUser } from '../helpers/fixtures.ts';
import { passkeyOptions, SoftwarePasskey } from '../helpers/passkey.ts';
import { expectErrorCode, expectRefused, missingId, payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { exchangeCode, relyingParty, signIn, startSignIn, submitSignIn } from '../helpers/sign-in.ts';
import { expectUnchanged } from '../helpers/state.ts';

const INVITE = graphql(`
  mutation InvitationsInvite($input: InviteUserInput!) {
    inviteUser(input: $input) {
      user {
        id
        status
        email
        name
      }
      message {
        id
        kind
        recipient
        subject
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const RESEND = graphql(`
  mutation InvitationsResend($input: InvitationInput!) {
    resendInvitation(input: $input) {
      user {
        id
      }
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

const REVOKE = graphql(`
  mutation InvitationsRevoke($input: InvitationInput!) {
    revokeInvitation(input: $input) {
      user {
        id
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

const CALLBACK = 'https://spa.example.com/callback';
const PASSWORD = 'Velvet-meadow-drifts-6620';

let server: TestServer;
let clientId: string;
let acme: { id: string; globalId: string };
let globex: { id: string; globalId: string };

async function linkSentTo(recipient: string, count = 1): Promise<string> {
  await expect
    .poll(() => server.db.prisma.outboxMessage.count({ where: { recipient } }), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(count);
  const row = await server.db.prisma.outboxMessage.findFirstOrThrow({ where: { recipient }, orderBy: { id: 'desc' } });
  const body = openBody(server.outboxKey, row)!;
  const url = /(http:\/\/\S+\?token=[A-Za-z0-9_-]+)/.exec(body.text)?.[1];
  expect(url, body.text).toBeDefined();
  return url!;
}

async function open(url: string) {
  const browser = new Browser(server.url);
  const response = await browser.request(url);
  return { browser, status: response.status, html: await response.text() };
}

async function post(url: string, browser: Browser, form: Record<string, string>) {
  const response = await browser.request(url, { method: 'POST', form });
  return { status: response.status, html: await response.text() };
}

const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

/** Opens the link and accepts, choosing `password` when the page asks for one. */
async function accept(url: string, password?: string) {
  const opened = await open(url);
  const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };
  return post(url, opened.browser, password ? { ...form, password, confirmPassword: password } : form);
}

const makeTenant = async (name: string) => {
  const row = await server.db.prisma.tenant.create({
    data: { realmId: server.admin.realmId, name, slug: name.toLowerCase() },
  });
  return { id: row.id, globalId: encodeGlobalId('Tenant', row.id) };
};

const audits = (action: string, targetId: string) =>
  server.db.prisma.auditEvent.findMany({ where: { realmId: server.admin.realmId, action, targetId } });

beforeAll(async () => {
  server = await startTestServer();
  ({ clientId } = await createApplication(server, { name: 'Invitations SPA', type: 'SPA', redirectUris: [CALLBACK] }));
  acme = await makeTenant('Acme');
  globex = await makeTenant('Globex');
});

afterAll(async () => {
  await server?.close();
});

describe('inviteUser', () => {
  it('creates an INVITED user who cannot sign in until the hosted page sets a password; then ACTIVE, once', async () => {
    const email = 'Invitee@Example.com';
    const invited = payloadOf(await server.graphql(INVITE, { input: { email, name: 'Ines Vite' } }));
    expect(invited.userErrors).toEqual([]);
    expect(invited.user).toMatchObject({ status: 'INVITED', email: 'invitee@example.com', name: 'Ines Vite' });
    expect(invited.message).toMatchObject({
      kind: 'email.invitation',
      recipient: 'invitee@example.com',
      subject: 'You are invited to default',
    });
    const id = rawId(invited.user!.id);
    const row = await server.db.prisma.user.findUniqueOrThrow({ where: { id } });
    expect(row.passwordHash).toBeNull();
    const url = await linkSentTo('invitee@example.com');
    expect(url).toMatch(new RegExp(`^${server.url}/oauth2/default/accept-invitation\\?token=`));
    const body = openBody(
      server.outboxKey,
      await server.db.prisma.outboxMessage.findFirstOrThrow({ where: { recipient: 'invitee@example.com' } }),
    )!;
    expect(body.text).toContain('for 7 days');
    expect(JSON.stringify(await server.db.prisma.oneTimeLink.findMany({ where: { userId: id } }))).not.toContain(
      tokenOf(url),
    );
    expect((await audits('user.invited', id))[0]).toMatchObject({ actorType: 'application' });

    // Still INVITED: no password signs in.
    const config = await relyingParty(server.issuer(), clientId);
    const refused = await submitSignIn(await startSignIn(server.url, config, CALLBACK), email, PASSWORD);
    if (!('page' in refused)) throw new Error('signed in');
    expect(await refused.page.text()).toContain('The identifier or the password is incorrect.');

    // Opening the link changes nothing (mail scanners open links).
    const opened = await expectUnchanged(server, () => open(url));
    expect(opened.status).toBe(200);
    expect(opened.html).toContain('Accept and set my password');
    const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };
    const weak = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, password: 'invitee', confirmPassword: 'invitee' }),
    );
    expect(weak.status).toBe(400);
    expect(weak.html).toContain('role="alert"');
    const huge = 'x'.repeat(10_000);
    const tooLong = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, password: huge, confirmPassword: huge }),
    );
    expect(tooLong.status).toBe(400);
    expect(tooLong.html).toContain('The request body is too large.');
    const long = 'Long-pass-'.repeat(30);
    const overLimit = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, password: long, confirmPassword: long }),
    );
    expect(overLimit.status).toBe(400);
    expect(overLimit.html).toContain('role="alert"');
    const differ = await post(url, opened.browser, { ...form, password: PASSWORD, confirmPassword: 'other' });
    expect(differ.html).toContain('The two passwords differ.');
    const forged = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, csrf: 'forged', password: PASSWORD, confirmPassword: PASSWORD }),
    );
    expect(forged.status).toBe(403);

    const done = await post(url, opened.browser, { ...form, password: PASSWORD, confirmPassword: PASSWORD });
    expect(done.status).toBe(200);
    expect(done.html).toContain('Your invitation is accepted.');
    expect(done.html).toContain('sign in with your new password');
    const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id } });
    expect(after).toMatchObject({ status: 'ACTIVE', emailVerified: true, passwordAlgorithm: 'ARGON2ID' });
    expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', PASSWORD)).toBe(true);
    expect((await audits('user.invitation_accepted', id))[0]).toMatchObject({ actorType: 'user', actorId: id });

    const { tokens } = await signIn(server.url, config, CALLBACK, email, PASSWORD);
    expect(tokens.claims()?.sub).toBe(id);

    // Used: the page and the form refuse it.
    expect((await open(url)).status).toBe(400);
    const again = await post(url, opened.browser, { ...form, password: PASSWORD, confirmPassword: PASSWORD });
    expect(again.status).toBe(400);
    expect(again.html).toContain('This link has expired, was already used');
  });

  it('refuses an INVITED user that has a password hash at sign-in until the invitation is accepted', async () => {
    await makeUser(server, server.admin.realmId, {
      email: 'half@example.com',
      status: 'INVITED',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const config = await relyingParty(server.issuer(), clientId);
    const landed = await submitSignIn(await startSignIn(server.url, config, CALLBACK), 'half@example.com', PASSWORD);
    if (!('page' in landed)) throw new Error('signed in');
    expect(landed.page.status).toBe(401);
  });

  it('invites an existing user to a tenant: one press adds the membership', async () => {
    const user = await makeUser(server, server.admin.realmId, { email: 'member@example.com', status: 'ACTIVE' });
    const invited = payloadOf(
      await server.graphql(INVITE, { input: { email: 'member@example.com', tenantId: acme.globalId } }),
    );
    expect(invited.userErrors).toEqual([]);
    expect(invited.user).toMatchObject({ status: 'ACTIVE' });
    expect(invited.message).toMatchObject({ subject: 'You are invited to Acme' });
    const url = await linkSentTo('member@example.com');
    const opened = await open(url);
    expect(opened.html).toContain('Accept the invitation');
    expect(opened.html).not.toContain('type="password"');
    const done = await post(url, opened.browser, { csrf: csrfOf(opened.html), token: tokenOf(url) });
    expect(done.status).toBe(200);
    expect(done.html).toContain('You are a member of Acme.');
    const memberships = await server.db.prisma.tenantMembership.findMany({ where: { userId: user.id } });
    expect(memberships.map((m) => m.tenantId)).toEqual([acme.id]);
    expect(await audits('user.tenant_added', user.id)).toHaveLength(1);

    // A member already.
    await expectRefused(
      server,
      () => server.graphql(INVITE, { input: { email: 'member@example.com', tenantId: acme.globalId } }),
      [['INVALID_STATE', ['input', 'tenantId']]],
    );
  });

  it('a new user invited to a tenant chooses a password and joins it', async () => {
    const invited = payloadOf(
      await server.graphql(INVITE, { input: { email: 'newbie@example.com', tenantId: globex.globalId } }),
    );
    const id = rawId(invited.user!.id);
    const done = await accept(await linkSentTo('newbie@example.com'), PASSWORD);
    expect(done.html).toContain('You are a member of Globex.');
    expect(await server.db.prisma.user.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'ACTIVE' });
    expect(await server.db.prisma.tenantMembership.count({ where: { userId: id, tenantId: globex.id } })).toBe(1);
  });

  it('refuses bad input, taken addresses, unknown tenants and a missing scope, changing nothing', async () => {
    await makeUser(server, server.admin.realmId, { email: 'taken@example.com', status: 'ACTIVE' });
    const invite = (input: Record<string, unknown>) => () =>
      server.graphql(INVITE, { input: input as { email: string } });
    await expectRefused(server, invite({ email: 'taken@example.com' }), [['TAKEN', ['input', 'email']]]);
    await expectRefused(server, invite({ email: 'TAKEN@example.com' }), [['TAKEN', ['input', 'email']]]);
    for (const email of ['not an address', '']) {
      const result = await expectUnchanged(server, invite({ email }));
      expectErrorCode(result, 'BAD_USER_INPUT', 'inviteUser');
    }
    await expectRefused(server, invite({ email: `${'a'.repeat(60)}@${`${'b'.repeat(60)}.`.repeat(4)}com` }), [
      ['TOO_LONG', ['input', 'email']],
    ]);
    await expectRefused(server, invite({ email: `${'a'.repeat(100_000)}@example.com` }), [
      ['TOO_LONG', ['input', 'email']],
    ]);
    await expectRefused(server, invite({ email: 'long-name@example.com', name: 'n'.repeat(100_000) }), [
      ['TOO_LONG', ['input', 'name']],
    ]);
    expectErrorCode(
      await expectUnchanged(server, invite({ email: 'nul@example.com', name: 'a\u0000b' })),
      'BAD_USER_INPUT',
      'inviteUser',
    );
    await expectRefused(server, invite({ email: 'x@example.com', tenantId: missingId('Tenant') }), [
      ['NOT_FOUND', ['input', 'tenantId']],
    ]);
    const token = await server.token(server.admin, 'users:read');
    const before = await server.db.prisma.user.count();
    expectErrorCode(
      await server.graphql(INVITE, { input: { email: 'denied@example.com' } }, token),
      'FORBIDDEN',
      'inviteUser',
    );
    expect(await server.db.prisma.user.count()).toBe(before);
  });

  it('two concurrent invitations of one new address make one user', async () => {
    const email = 'twice@example.com';
    const results = await Promise.all([1, 2].map(() => server.graphql(INVITE, { input: { email } })));
    const payloads = results.map((result) => payloadOf(result));
    const users = await server.db.prisma.user.findMany({ where: { email } });
    expect(users).toHaveLength(1);
    for (const payload of payloads) {
      if (payload.userErrors.length) expect(payload.userErrors.map((e) => e.code)).toEqual(['TAKEN']);
      else expect(rawId(payload.user!.id)).toBe(users[0]!.id);
    }
    expect(payloads.some((payload) => payload.userErrors.length === 0)).toBe(true);
    // However many were sent, one link works.
    const open = await server.db.prisma.oneTimeLink.count({ where: { userId: users[0]!.id, usedAt: null } });
    expect(open).toBe(1);
  });

  it('two concurrent acceptances of one link: one wins', async () => {
    const invited = payloadOf(await server.graphql(INVITE, { input: { email: 'race@example.com' } }));
    const id = rawId(invited.user!.id);
    const url = await linkSentTo('race@example.com');
    const opened = await open(url);
    const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };
    const results = await Promise.all(
      ['Copper-kettle-sings-7710', 'Silver-heron-waits-5521'].map((password) =>
        post(url, opened.browser, { ...form, password, confirmPassword: password }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(await audits('user.invitation_accepted', id)).toHaveLength(1);
  });

  it('in an ISOLATED_POOL realm, a member of another tenant cannot be invited to or accept a second one', async () => {
    const user = await makeUser(server, server.admin.realmId, { email: 'isolated@example.com' });
    payloadOf(await server.graphql(INVITE, { input: { email: 'isolated@example.com', tenantId: acme.globalId } }));
    const url = await linkSentTo('isolated@example.com');
    const realm = { where: { id: server.admin.realmId } };
    await server.db.prisma.tenantMembership.create({
      data: { realmId: server.admin.realmId, tenantId: globex.id, userId: user.id },
    });
    await server.db.prisma.realm.update({ ...realm, data: { tenancyMode: 'ISOLATED_POOL' } });
    try {
      await expectRefused(
        server,
        () => server.graphql(INVITE, { input: { email: 'isolated@example.com', tenantId: acme.globalId } }),
        [['TENANCY_VIOLATION', ['input', 'tenantId']]],
      );
      const opened = await open(url);
      const refused = await expectUnchanged(server, () =>
        post(url, opened.browser, { csrf: csrfOf(opened.html), token: tokenOf(url) }),
      );
      expect(refused.status).toBe(409);
      expect(refused.html).toContain('can belong to only one');
    } finally {
      await server.db.prisma.realm.update({ ...realm, data: { tenancyMode: 'SHARED_POOL' } });
    }
  });

  it('has an INVITED user set up an authenticator on the page before becoming ACTIVE when the realm requires MFA', async () => {
    const realm = { where: { id: server.admin.realmId } };
    await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'REQUIRED' } });
    try {
      const invited = payloadOf(await server.graphql(INVITE, { input: { email: 'mfa@example.com' } }));
      const id = rawId(invited.user!.id);
      const url = await linkSentTo('mfa@example.com');
      const opened = await open(url);
      expect(opened.html).toContain('then set up an authenticator app');
      const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };

      // The password step shows the QR code and the key; nothing is stored yet.
      const enrol = await expectUnchanged(server, () =>
        post(url, opened.browser, { ...form, password: PASSWORD, confirmPassword: PASSWORD }),
      );
      expect(enrol.status).toBe(200);
      expect(enrol.html).toContain('Set up an authenticator');
      expect(enrol.html).toContain('<svg');
      const secret = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.html)![1]!.replace(/ /g, '');
      const pending = /name="pending" value="([^"]+)"/.exec(enrol.html)![1]!;
      expect(pending).not.toContain(secret);
      const step = { ...form, step: 'enrol', pending };
      const codeAt = (offset: number) =>
        new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset * 30_000 });
      const taken = new Set([-2, -1, 0, 1, 2].map(codeAt));
      const wrong = ['000000', '123456', '999999', '424242'].find((code) => !taken.has(code))!;

      // Refusals change nothing: a wrong code, a code of another length, a tampered or foreign
      // sealed step, a forged form.
      for (const code of [wrong, '', 'x'.repeat(2_000), `${codeAt(0)}0`]) {
        const refused = await expectUnchanged(server, () => post(url, opened.browser, { ...step, code }));
        expect(refused.status).toBe(400);
        expect(refused.html).toContain('The code does not match');
        expect(refused.html).toContain(`name="pending"`);
      }
      const tampered = `${pending.slice(0, -4)}${pending.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      const forged = await expectUnchanged(server, () =>
        post(url, opened.browser, { ...step, pending: tampered, code: codeAt(0) }),
      );
      expect(forged.status).toBe(403);
      payloadOf(await server.graphql(INVITE, { input: { email: 'other-mfa@example.com' } }));
      const otherUrl = await linkSentTo('other-mfa@example.com');
      const other = await open(otherUrl);
      const moved = await expectUnchanged(server, () =>
        post(otherUrl, other.browser, {
          csrf: csrfOf(other.html),
          token: tokenOf(otherUrl),
          step: 'enrol',
          pending,
          code: codeAt(0),
        }),
      );
      expect(moved.status).toBe(403);
      const noCsrf = await expectUnchanged(server, () =>
        post(url, opened.browser, { ...step, csrf: 'forged', code: codeAt(0) }),
      );
      expect(noCsrf.status).toBe(403);

      // Not ACTIVE until the enrolment completes: the password does not sign in.
      expect(await server.db.prisma.user.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'INVITED',
        passwordHash: null,
      });
      const config = await relyingParty(server.issuer(), clientId);
      const early = await submitSignIn(await startSignIn(server.url, config, CALLBACK), 'mfa@example.com', PASSWORD);
      if (!('page' in early)) throw new Error('signed in before the enrolment');
      expect(await early.page.text()).toContain('The identifier or the password is incorrect.');

      // Two submissions of the right code at once: one accepts, the other finds the link used.
      const [first, second] = await Promise.all([
        post(url, opened.browser, { ...step, code: codeAt(0) }),
        post(url, opened.browser, { ...step, code: codeAt(0) }),
      ]);
      const [done, late] = first.status === 200 ? [first, second] : [second, first];
      expect(done.status).toBe(200);
      expect(done.html).toContain('Your invitation is accepted.');
      expect(done.html).toContain('a code from your authenticator app');
      const codes = [...done.html.matchAll(/<li>([a-z2-7]{5}-[a-z2-7]{5})<\/li>/g)].map((match) => match[1]!);
      expect(codes).toHaveLength(10);
      expect(late.status).toBe(400);
      expect(late.html).toContain('This link has expired, was already used');

      const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id } });
      expect(after).toMatchObject({ status: 'ACTIVE', emailVerified: true, mfaEnrolmentRequired: false });
      expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', PASSWORD)).toBe(true);
      const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: id }, orderBy: { type: 'asc' } });
      expect(factors.map((factor) => factor.type)).toEqual(['TOTP', 'RECOVERY_CODES']);
      expect(JSON.stringify(factors)).not.toContain(secret);
      expect(await audits('user.mfa_enrolled', id)).toHaveLength(1);
      expect((await audits('user.invitation_accepted', id))[0]!.changes).toMatchObject({ mfaEnrolled: 'TOTP' });

      // The link cannot be used again, not even with a fresh code.
      const reused = await expectUnchanged(server, () => post(url, opened.browser, { ...step, code: codeAt(1) }));
      expect(reused.status).toBe(400);
      expect(reused.html).toContain('This link has expired, was already used');
      expect((await open(url)).status).toBe(400);

      // The sign-in asks for a code of the authenticator (the enrolment's step is used) or a recovery code.
      const started = await startSignIn(server.url, config, CALLBACK);
      const asked = await submitSignIn(started, 'mfa@example.com', PASSWORD);
      if (!('page' in asked)) throw new Error('signed in without a second factor');
      const codePage = await asked.page.text();
      expect(codePage).toContain('Enter your code');
      const replayed = await started.browser.request(asked.url, {
        method: 'POST',
        form: { csrf: csrfOf(codePage), step: 'second-factor', code: codeAt(0) },
      });
      expect(replayed.status).toBe(401);
      const landed = await started.browser.follow(
        await started.browser.request(asked.url, {
          method: 'POST',
          form: { csrf: csrfOf(codePage), step: 'second-factor', code: codes[0]! },
        }),
        asked.url,
      );
      if (!('left' in landed)) throw new Error(`stayed on ${landed.url}`);
      expect((await exchangeCode(config, started, landed.left)).claims()?.sub).toBe(id);
    } finally {
      await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'OPTIONAL' } });
    }
  });

  it('offers a passkey instead of the authenticator where passkeys work, refusing bad responses; none on an IP-address issuer', async () => {
    const realm = { where: { id: server.admin.realmId } };
    await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'REQUIRED' } });
    // The same database and realm, public at http://localhost:<port>: WebAuthn takes no IP address.
    const named = await startTestServer({
      database: { db: server.db, dispose: async () => {} },
      publicHost: 'localhost',
    });
    try {
      /** The enrolment page of a new invitation to `email` on `on`, after the password. */
      const enrolment = async (email: string, on: TestServer) => {
        const invited = payloadOf(await server.graphql(INVITE, { input: { email } }));
        const sent = new URL(await linkSentTo(email));
        const url = new URL(sent.pathname + sent.search, on.url).href;
        const browser = new Browser(on.url);
        const opened = await (await browser.request(url)).text();
        const form = { csrf: csrfOf(opened), token: tokenOf(url) };
        const page = await post(url, browser, { ...form, password: PASSWORD, confirmPassword: PASSWORD });
        expect(page.html).toContain('Set up an authenticator');
        const pending = /name="pending" value="([^"]+)"/.exec(page.html)![1]!;
        return { id: rawId(invited.user!.id), url, browser, page, step: { ...form, pending, step: 'enrol-passkey' } };
      };
      const state = (id: string) =>
        Promise.all([
          server.db.prisma.user.findUniqueOrThrow({ where: { id }, select: { status: true, passwordHash: true } }),
          server.db.prisma.mfaFactor.count({ where: { userId: id } }),
        ]);

      // On the IP-address issuer: no passkey form, no script, and a passkey step posted anyway is refused.
      const onIp = await enrolment('ip-passkey-invite@example.com', server);
      expect(passkeyOptions(onIp.page.html, 'enrol-passkey')).toBeNull();
      expect(onIp.page.html).not.toContain('<script');
      expect(onIp.page.html.replace(/<style>.*?<\/style>/s, '')).not.toMatch(/passkey/i);
      const refusedOnIp = await expectUnchanged(server, () =>
        post(onIp.url, onIp.browser, { ...onIp.step, passkey: JSON.stringify({ id: 'x' }) }),
      );
      expect(refusedOnIp.status).toBe(400);

      const { id, url, browser, page, step } = await enrolment('passkey-invite@example.com', named);
      const options = passkeyOptions(page.html, 'enrol-passkey');
      expect(options).not.toBeNull();
      expect(page.html).toContain('Use a passkey instead');
      const device = new SoftwarePasskey('localhost', new URL(named.url).origin);

      // Refusals: another challenge or a tampered pending step change nothing; another origin uses
      // the challenge up and stores nothing. Each page asks again with a new challenge.
      const otherChallenge = await expectUnchanged(server, () =>
        post(url, browser, {
          ...step,
          passkey: JSON.stringify(device.register(options!, { challenge: Buffer.alloc(56, 7).toString('base64url') })),
        }),
      );
      expect(otherChallenge.status).toBe(400);
      expect(otherChallenge.html).toContain('The passkey could not be added.');
      const tampered = `${step.pending.slice(0, -4)}${step.pending.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      const forged = await expectUnchanged(server, () =>
        post(url, browser, { ...step, pending: tampered, passkey: JSON.stringify(device.register(options!)) }),
      );
      expect(forged.status).toBe(403);
      const wrongOrigin = await post(url, browser, {
        ...step,
        passkey: JSON.stringify(device.register(options!, { origin: 'https://evil.example' })),
      });
      expect(wrongOrigin.status).toBe(400);
      expect(await state(id)).toEqual([{ status: 'INVITED', passwordHash: null }, 0]);
      const again = passkeyOptions(wrongOrigin.html, 'enrol-passkey')!;
      expect(again.challenge).not.toBe(options!.challenge);

      // One response submitted twice at once: one accepts, the other finds its challenge used.
      const response = JSON.stringify(device.register(again));
      const answers = await Promise.all([1, 2].map(() => post(url, browser, { ...step, passkey: response })));
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
      const done = answers.find((answer) => answer.status === 200)!;
      expect(done.html).toContain('Your invitation is accepted.');
      expect(done.html).toContain('sign in with your passkey');
      const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id } });
      expect(after).toMatchObject({ status: 'ACTIVE', emailVerified: true, mfaEnrolmentRequired: false });
      expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', PASSWORD)).toBe(true);
      const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: id } });
      expect(factors).toMatchObject([{ type: 'WEBAUTHN', credentialId: device.credentialId }]);
      expect(await audits('user.mfa_enrolled', id)).toHaveLength(1);
      expect((await audits('user.invitation_accepted', id))[0]!.changes).toMatchObject({ mfaEnrolled: 'WEBAUTHN' });
      expect(await state(onIp.id)).toEqual([{ status: 'INVITED', passwordHash: null }, 0]);

      // The same passkey presented for another invitation: refused, that user still INVITED.
      const twice = await enrolment('passkey-invite-twice@example.com', named);
      const taken = await post(twice.url, twice.browser, {
        ...twice.step,
        passkey: JSON.stringify(device.register(passkeyOptions(twice.page.html, 'enrol-passkey')!)),
      });
      expect(taken.status).toBe(400);
      expect(taken.html).toContain('This passkey is already registered.');
      expect(await state(twice.id)).toEqual([{ status: 'INVITED', passwordHash: null }, 0]);
      expect(await audits('user.invitation_accepted', twice.id)).toHaveLength(0);
    } finally {
      await named.close();
      await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'OPTIONAL' } });
    }
  });

  it('asks for the authenticator when the realm starts requiring MFA between the page and the password', async () => {
    payloadOf(await server.graphql(INVITE, { input: { email: 'late-mfa@example.com' } }));
    const url = await linkSentTo('late-mfa@example.com');
    const opened = await open(url);
    expect(opened.html).not.toContain('authenticator');
    const realm = { where: { id: server.admin.realmId } };
    await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'REQUIRED' } });
    try {
      const form = { csrf: csrfOf(opened.html), token: tokenOf(url), password: PASSWORD, confirmPassword: PASSWORD };
      const enrol = await expectUnchanged(server, () => post(url, opened.browser, form));
      expect(enrol.status).toBe(200);
      expect(enrol.html).toContain('Set up an authenticator');
    } finally {
      await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'OPTIONAL' } });
    }
  });

  it('an invitation sent to an address the user no longer has does not activate the user (409)', async () => {
    const invited = payloadOf(await server.graphql(INVITE, { input: { email: 'moved@example.com' } }));
    expect(invited.userErrors).toEqual([]);
    const id = rawId(invited.user!.id);
    const url = await linkSentTo('moved@example.com');
    const opened = await open(url);
    expect(opened.status).toBe(200);
    await server.db.prisma.user.update({ where: { id }, data: { email: 'moved-elsewhere@example.com' } });
    const form = { csrf: csrfOf(opened.html), token: tokenOf(url), password: PASSWORD, confirmPassword: PASSWORD };
    const refused = await post(url, opened.browser, form);
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('This invitation was sent to an address that is no longer your account’s.');
    expect(await server.db.prisma.user.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: 'INVITED',
      passwordHash: null,
    });
    // The link, sent to the old address, is used up: a new invitation goes to the new one.
    expect((await open(url)).status).toBe(400);
  });
});

describe('resendInvitation and revokeInvitation', () => {
  it('resend replaces the link (also after expiry); revoke stops it; a revoked one is not resent', async () => {
    const invited = payloadOf(await server.graphql(INVITE, { input: { email: 'again@example.com' } }));
    const userId = invited.user!.id;
    const id = rawId(userId);
    const first = await linkSentTo('again@example.com');
    await server.db.prisma.oneTimeLink.updateMany({ where: { userId: id }, data: { expiresAt: new Date(0) } });
    expect((await open(first)).status).toBe(400);

    const resent = payloadOf(await server.graphql(RESEND, { input: { userId } }));
    expect(resent).toMatchObject({ message: { kind: 'email.invitation' }, userErrors: [] });
    const second = await linkSentTo('again@example.com', 2);
    expect(second).not.toBe(first);
    expect((await open(second)).status).toBe(200);
    expect(await audits('user.invitation_resent', id)).toHaveLength(1);

    const revoked = payloadOf(await server.graphql(REVOKE, { input: { userId } }));
    expect(revoked).toMatchObject({ user: { status: 'INVITED' }, userErrors: [] });
    expect((await open(second)).status).toBe(400);
    expect(await audits('user.invitation_revoked', id)).toHaveLength(1);
    await expectRefused(server, () => server.graphql(REVOKE, { input: { userId } }), [
      ['INVALID_STATE', ['input', 'userId']],
    ]);
    await expectRefused(server, () => server.graphql(RESEND, { input: { userId } }), [
      ['INVALID_STATE', ['input', 'userId']],
    ]);

    // Invited again: a new link works.
    payloadOf(await server.graphql(INVITE, { input: { email: 'again@example.com' } }));
    const third = await linkSentTo('again@example.com', 3);
    expect((await accept(third, PASSWORD)).status).toBe(200);
    await expectRefused(server, () => server.graphql(RESEND, { input: { userId } }), [
      ['INVALID_STATE', ['input', 'userId']],
    ]);
  });

  it('a tenant invitation is resent and revoked on its own', async () => {
    const user = await makeUser(server, server.admin.realmId, { email: 'tenanted@example.com' });
    const input = { userId: user.globalId, tenantId: acme.globalId };
    await expectRefused(server, () => server.graphql(RESEND, { input }), [['INVALID_STATE', ['input', 'userId']]]);
    payloadOf(await server.graphql(INVITE, { input: { email: 'tenanted@example.com', tenantId: acme.globalId } }));
    payloadOf(await server.graphql(INVITE, { input: { email: 'tenanted@example.com', tenantId: globex.globalId } }));
    const toGlobex = await linkSentTo('tenanted@example.com', 2);
    expect(payloadOf(await server.graphql(REVOKE, { input })).userErrors).toEqual([]);
    // The other tenant's invitation still works.
    expect((await accept(toGlobex)).status).toBe(200);
    await expectRefused(server, () => server.graphql(REVOKE, { input: { ...input, tenantId: globex.globalId } }), [
      ['INVALID_STATE', ['input', 'userId']],
    ]);
  });

  it('refuses unknown users and tenants, deleted users and a missing scope, changing nothing', async () => {
    const deleted = await makeUser(server, server.admin.realmId, { status: 'DELETED', deletedAt: new Date() });
    for (const document of [RESEND, REVOKE] as const) {
      const run = (input: { userId: string; tenantId?: string }) => () =>
        server.graphql(document as typeof REVOKE, { input });
      await expectRefused(server, run({ userId: missingId('User') }), [['NOT_FOUND', ['input', 'userId']]]);
      await expectRefused(server, run({ userId: deleted.globalId }), [['INVALID_STATE', ['input', 'userId']]]);
      const user = await makeUser(server, server.admin.realmId, { status: 'INVITED' });
      await expectRefused(server, run({ userId: user.globalId, tenantId: missingId('Tenant') }), [
        ['NOT_FOUND', ['input', 'tenantId']],
      ]);
      const token = await server.token(server.admin, 'users:read');
      const result = await expectUnchanged(server, () =>
        server.graphql(document as typeof REVOKE, { input: { userId: user.globalId } }, token),
      );
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('a forged, huge or other-purpose token does not open the page', async () => {
    const base = `${server.url}/oauth2/default/accept-invitation`;
    for (const token of ['', 'x', 'A'.repeat(43), 'A'.repeat(10_000)]) {
      const page = await open(`${base}?token=${token}`);
      expect(page.status).toBe(400);
      expect(page.html).toContain('This link has expired');
    }
    const user = await makeUser(server, server.admin.realmId, { email: 'reset-only@example.com' });
    await server.graphql(
      'mutation($input: UserIdInput!) { sendPasswordResetEmail(input: $input) { userErrors { code } } }',
      {
        input: { id: user.globalId },
      },
    );
    const reset = await linkSentTo('reset-only@example.com');
    expect((await open(`${base}?token=${tokenOf(reset)}`)).status).toBe(400);
  });
});
