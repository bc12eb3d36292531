/**
 * Passkeys on the hosted sign-in pages over HTTP, with a software authenticator making the
 * responses a browser would post: registration offered after a password sign-in, sign-in with
 * the passkey alone and as the second step, and every refusal (another challenge, a replayed
 * response, another origin or relying party, an unknown credential, a bad signature, a locked or
 * suspended user, a huge payload, a missing CSRF token, two concurrent uses of one challenge),
 * each with what it records and leaves unchanged. Then the management API's view of the passkey
 * and its removal by an admin, which ends the user's sessions. Last, the same realm on an issuer
 * whose host is an IP address, where WebAuthn cannot work: the pages offer no passkey at all.
 */
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { OutboxWorker } from '../../src/modules/outbox/outbox.worker.ts';
import { authenticationOptions } from '../../src/modules/users/users.passkeys.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser, csrfOf } from '../helpers/browser.ts';
import { createApplication, makeFactor, makeUser, type TestUser } from '../helpers/fixtures.ts';
import { passkeyOptions, SoftwarePasskey } from '../helpers/passkey.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

const CALLBACK = 'https://spa.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';

let server: TestServer;
let clientId: string;
let kim: TestUser;
/** Kim's passkey, registered by the first test. */
let passkey: SoftwarePasskey;

beforeAll(async () => {
  // A domain name: WebAuthn takes no IP address as relying party ID (see the last describe).
  server = await startTestServer({ publicHost: 'localhost' });
  ({ clientId } = await createApplication(server, { name: 'Shop SPA', type: 'SPA', redirectUris: [CALLBACK] }));
  kim = await makeUser(server, server.admin.realmId, {
    email: 'kim@example.com',
    emailVerified: true,
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
  const origin = new URL(server.url).origin;
  passkey = new SoftwarePasskey(new URL(server.url).hostname, origin);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** Opens the sign-in page in a new browser; `post` submits a form there and follows redirects. */
async function open(parameters: Record<string, string> = {}, on: TestServer = server) {
  const browser = new Browser(on.url);
  const config = await oidc.discovery(new URL(on.issuer()), clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...parameters,
  });
  const landed = await browser.follow(await browser.request(url.href), url.href);
  if (!('page' in landed)) throw new Error(`left Roster for ${landed.left.href}`);
  const formUrl = landed.url;
  const flow = {
    html: await landed.page.text(),
    formUrl,
    async post(form: Record<string, string>) {
      const response = await browser.request(formUrl, { method: 'POST', form: { csrf: csrfOf(flow.html), ...form } });
      const followed = await browser.follow(response, formUrl);
      if ('left' in followed) return { status: 303, html: '', left: followed.left };
      flow.html = await followed.page.text();
      return { status: followed.page.status, html: flow.html, left: null };
    },
    /** The options of the page's passkey form for `step`. */
    options(step = 'passkey') {
      const options = passkeyOptions(flow.html, step);
      if (!options) throw new Error(`no passkey form for ${step} in: ${flow.html.slice(0, 400)}`);
      return options;
    },
    tokens: (left: URL) =>
      oidc.authorizationCodeGrant(config, left, { pkceCodeVerifier: verifier, expectedState: state }),
    browser,
  };
  return flow;
}

const latestEvent = (userId: string | null = kim.id) =>
  server.db.prisma.loginEvent.findFirstOrThrow({
    where: { userId },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    select: { success: true, method: true, failureReason: true },
  });
const kimFactor = () => server.db.prisma.mfaFactor.findFirstOrThrow({ where: { userId: kim.id, type: 'WEBAUTHN' } });
const kimState = () =>
  server.db.prisma.user.findUniqueOrThrow({
    where: { id: kim.id },
    select: { failedLoginAttempts: true, lockedUntil: true, lastLoginAt: true },
  });
const REFUSED = 'The passkey could not be verified.';
/** Runs `fn`, checking that Kim's passkey (counter, last use) did not change. */
async function expectUnchangedFactor<T>(fn: () => Promise<T>): Promise<T> {
  const before = await kimFactor();
  const result = await fn();
  const after = await kimFactor();
  expect({ signCount: after.signCount, lastUsedAt: after.lastUsedAt }).toEqual({
    signCount: before.signCount,
    lastUsedAt: before.lastUsedAt,
  });
  return result;
}

describe('registering a passkey', () => {
  it('is offered after a password sign-in in a browser that can keep one, and stores the credential', async () => {
    // A browser without a platform authenticator (the page's script left the field empty): no offer.
    const plain = await open();
    expect((await plain.post({ identifier: 'kim@example.com', password: PASSWORD })).left).not.toBeNull();

    const flow = await open();
    const offer = await flow.post({ identifier: 'kim@example.com', password: PASSWORD, passkeyCapable: 'yes' });
    expect(offer.status).toBe(200);
    expect(offer.html).toContain('Add a passkey');
    const options = flow.options('add-passkey') as ReturnType<typeof flow.options> & {
      rp: { id: string; name: string };
      authenticatorSelection: { residentKey: string };
      attestation: string;
      pubKeyCredParams: { alg: number }[];
    };
    expect(options.rp.id).toBe('localhost');
    expect(options.authenticatorSelection.residentKey).toBe('required');
    expect(options.attestation).toBe('none');
    // EdDSA, ES256, RS256 on every runtime: no ML-DSA, which Node.js 22 cannot verify.
    expect(options.pubKeyCredParams.map(({ alg }) => alg)).toEqual([-8, -7, -257]);

    // Another origin's response is refused and stores nothing; the page asks again with a new challenge.
    const wrongOrigin = await flow.post({
      step: 'add-passkey',
      passkey: JSON.stringify(passkey.register(options, { origin: 'https://evil.example' })),
    });
    expect(wrongOrigin.status).toBe(400);
    expect(wrongOrigin.html).toContain('The passkey could not be added.');
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: kim.id } })).toBe(0);

    // With Chromium's client-data padding, as large as a response with a post-quantum key (over 6 KB).
    const response = JSON.stringify(passkey.register(flow.options('add-passkey'), { large: true }));
    expect(response.length).toBeGreaterThan(6 * 1024);
    const done = await flow.post({ step: 'add-passkey', passkey: response });
    expect(done.left).not.toBeNull();
    const tokens = await flow.tokens(done.left!);
    expect(tokens.claims()).toMatchObject({ sub: kim.id, amr: ['pwd'] });
    const factor = await kimFactor();
    expect(factor).toMatchObject({
      credentialId: passkey.credentialId,
      signCount: 0n,
      transports: ['internal'],
      backedUp: false,
      name: expect.stringMatching(/^Passkey \(Firefox 128 on Ubuntu/),
    });
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.mfa_enrolled', targetId: kim.id },
    });
    expect(audit.changes).toMatchObject({ type: 'WEBAUTHN', factorId: factor.id });
  });

  it('refuses a credential already registered in the realm (another user presenting it)', async () => {
    const other = await makeUser(server, server.admin.realmId, {
      email: 'lee@example.com',
      emailVerified: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const flow = await open();
    await flow.post({ identifier: 'lee@example.com', password: PASSWORD, passkeyCapable: 'yes' });
    const again = await flow.post({
      step: 'add-passkey',
      passkey: JSON.stringify(passkey.register(flow.options('add-passkey'))),
    });
    expect(again.status).toBe(400);
    expect(again.html).toContain('This passkey is already registered.');
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: other.id } })).toBe(0);
    // Declining goes on with the sign-in.
    expect((await flow.post({ step: 'skip-passkey' })).left).not.toBeNull();
  });
});

describe('signing in with a passkey', () => {
  it('signs in with the passkey alone: login event, session, counter and last use', async () => {
    const flow = await open();
    const done = await flow.post({ step: 'passkey', passkey: JSON.stringify(passkey.authenticate(flow.options())) });
    expect(done.left).not.toBeNull();
    const tokens = await flow.tokens(done.left!);
    expect(tokens.claims()).toMatchObject({ sub: kim.id, amr: ['hwk', 'user', 'mfa'] });
    expect(await latestEvent()).toEqual({ success: true, method: 'passkey', failureReason: null });
    const factor = await kimFactor();
    expect(Number(factor.signCount)).toBe(passkey.counter);
    expect(factor.lastUsedAt).not.toBeNull();
    expect((await kimState()).lastLoginAt).not.toBeNull();
    const session = await server.db.prisma.session.findFirstOrThrow({
      where: { userId: kim.id },
      orderBy: { createdAt: 'desc' },
    });
    expect(session).toMatchObject({ revokedAt: null, applicationId: expect.any(String) });
    expect(session.createdAt.getTime()).toBeGreaterThanOrEqual(factor.lastUsedAt!.getTime());
  });

  it('asks for user verification: a passkey that did not verify its user is refused', async () => {
    const flow = await open();
    const refused = await flow.post({
      step: 'passkey',
      passkey: JSON.stringify(passkey.authenticate(flow.options(), { userVerified: false })),
    });
    expect(refused.status).toBe(401);
    expect(refused.html).toContain(REFUSED);
    await server.db.prisma.user.update({ where: { id: kim.id }, data: { failedLoginAttempts: 0 } });
  });

  it('refuses a response to another challenge, from another origin or for another relying party, and counts them', async () => {
    const before = await kimFactor();
    for (const tampering of [
      { challenge: Buffer.alloc(32, 7).toString('base64url') },
      { origin: 'https://evil.example' },
      { rpId: 'evil.example' },
      { badSignature: true },
    ]) {
      const flow = await open();
      const refused = await flow.post({
        step: 'passkey',
        passkey: JSON.stringify(passkey.authenticate(flow.options(), tampering)),
      });
      expect(refused.status, JSON.stringify(tampering)).toBe(401);
      expect(refused.html).toContain(REFUSED);
      // The page offers a new ceremony at once.
      expect(passkeyOptions(refused.html, 'passkey')).not.toBeNull();
    }
    const after = await kimFactor();
    expect(after.signCount).toBe(before.signCount);
    expect(after.lastUsedAt).toEqual(before.lastUsedAt);
    // Those that reached Kim's key (all but the unknown challenge) count towards her lockout.
    expect((await kimState()).failedLoginAttempts).toBe(3);
    expect(await latestEvent()).toEqual({ success: false, method: 'passkey', failureReason: 'invalid_passkey' });
    await server.db.prisma.user.update({ where: { id: kim.id }, data: { failedLoginAttempts: 0 } });
  });

  it('refuses a replayed response: in another sign-in, and again in its own', async () => {
    const first = await open();
    const response = JSON.stringify(passkey.authenticate(first.options()));
    const second = await open();
    const elsewhere = await second.post({ step: 'passkey', passkey: response });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.html).toContain(REFUSED);
    expect((await first.post({ step: 'passkey', passkey: response })).left).not.toBeNull();

    const third = await open();
    const options = third.options();
    const used = JSON.stringify(passkey.authenticate(options));
    // A fresh page has a new challenge: the old response is for a challenge used up.
    const failed = await third.post({
      step: 'passkey',
      passkey: JSON.stringify({ ...JSON.parse(used), id: 'AAAA', rawId: 'AAAA' }),
    });
    expect(failed.status).toBe(401);
    const replay = await third.post({ step: 'passkey', passkey: used });
    expect(replay.status).toBe(401);
    await server.db.prisma.user.update({ where: { id: kim.id }, data: { failedLoginAttempts: 0 } });
  });

  it('refuses an unknown credential with the same answer, recording no user', async () => {
    const stranger = new SoftwarePasskey(passkey.rpId, passkey.origin);
    const flow = await open();
    const refused = await flow.post({
      step: 'passkey',
      passkey: JSON.stringify(stranger.authenticate(flow.options())),
    });
    expect(refused.status).toBe(401);
    expect(refused.html).toContain(REFUSED);
    expect(await latestEvent(null)).toEqual({ success: false, method: 'passkey', failureReason: 'invalid_passkey' });
  });

  it('refuses a locked user (same answer, not counted) and a suspended user (told so, after the proof)', async () => {
    const before = await kimFactor();
    await server.db.prisma.user.update({
      where: { id: kim.id },
      data: { lockedUntil: new Date(Date.now() + 60_000), failedLoginAttempts: 5 },
    });
    const locked = await open();
    const refused = await locked.post({
      step: 'passkey',
      passkey: JSON.stringify(passkey.authenticate(locked.options())),
    });
    expect(refused.status).toBe(401);
    expect(refused.html).toContain(REFUSED);
    expect((await kimState()).failedLoginAttempts).toBe(5);
    expect((await kimFactor()).signCount).toBe(before.signCount);
    await server.db.prisma.user.update({
      where: { id: kim.id },
      data: { lockedUntil: null, failedLoginAttempts: 0, status: 'SUSPENDED' },
    });
    try {
      const suspended = await open();
      const answer = await suspended.post({
        step: 'passkey',
        passkey: JSON.stringify(passkey.authenticate(suspended.options())),
      });
      expect(answer.status).toBe(401);
      expect(answer.html).toContain('This account cannot sign in.');
      expect(await latestEvent()).toEqual({ success: false, method: 'passkey', failureReason: 'account_suspended' });
    } finally {
      await server.db.prisma.user.update({ where: { id: kim.id }, data: { status: 'ACTIVE' } });
    }
  });

  it('refuses huge payloads and a form without its CSRF token, changing nothing', async () => {
    const flow = await open();
    const valid = passkey.authenticate(flow.options());
    const padded = { ...valid, clientExtensionResults: { padding: 'x'.repeat(12_500) } };
    const huge = await flow.post({ step: 'passkey', passkey: JSON.stringify(padded) });
    expect(huge.status).toBe(401);
    expect(huge.html).toContain(REFUSED);
    const tooBig = await flow.browser.request(flow.formUrl, {
      method: 'POST',
      form: { csrf: csrfOf(flow.html), step: 'passkey', passkey: 'x'.repeat(15_000) },
    });
    expect(tooBig.status).toBe(403);
    const forged = await flow.browser.request(flow.formUrl, {
      method: 'POST',
      form: { step: 'passkey', passkey: JSON.stringify(passkey.authenticate(flow.options())) },
    });
    expect(forged.status).toBe(403);
    const nonsense = await flow.post({ step: 'passkey', passkey: '{"id": [1, 2, 3]' });
    expect(nonsense.status).toBe(401);
    await server.db.prisma.user.update({ where: { id: kim.id }, data: { failedLoginAttempts: 0 } });
  });

  it('lets one of two concurrent uses of one challenge through', async () => {
    const flow = await open();
    const options = flow.options();
    const csrf = csrfOf(flow.html);
    const responses = [passkey.authenticate(options), passkey.authenticate(options)];
    const answers = await Promise.all(
      responses.map((response) =>
        flow.browser.request(flow.formUrl, {
          method: 'POST',
          form: { csrf, step: 'passkey', passkey: JSON.stringify(response) },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([303, 401]);
    await server.db.prisma.user.update({ where: { id: kim.id }, data: { failedLoginAttempts: 0 } });
  });

  it('asks for the passkey as the second step after the password, and counts a wrong one', async () => {
    const flow = await open();
    const step = await flow.post({ identifier: 'kim@example.com', password: PASSWORD });
    expect(step.html).toContain('Confirm with your passkey');
    const options = flow.options('second-factor-passkey');
    expect(options.allowCredentials?.map((credential) => credential.id)).toEqual([passkey.credentialId]);
    const stranger = new SoftwarePasskey(passkey.rpId, passkey.origin);
    const wrong = await flow.post({
      step: 'second-factor-passkey',
      passkey: JSON.stringify(stranger.authenticate(options)),
    });
    expect(wrong.status).toBe(401);
    expect((await kimState()).failedLoginAttempts).toBe(1);
    expect(await latestEvent()).toEqual({
      success: false,
      method: 'password+passkey',
      failureReason: 'invalid_second_factor',
    });
    // The code form is not a way round: Kim has no authenticator app.
    expect(step.html).not.toContain('name="code"');
    const done = await flow.post({
      step: 'second-factor-passkey',
      passkey: JSON.stringify(passkey.authenticate(flow.options('second-factor-passkey'))),
    });
    expect(done.left).not.toBeNull();
    expect((await flow.tokens(done.left!)).claims()).toMatchObject({ sub: kim.id, amr: ['pwd', 'hwk', 'mfa'] });
    expect(await latestEvent()).toEqual({ success: true, method: 'password+passkey', failureReason: null });
    expect((await kimState()).failedLoginAttempts).toBe(0);
  });
});

/** The statements that changed the database (rows written), of those `sql` lists. */
const writes = (sql: string[]) => sql.filter((statement) => /^\s*(INSERT|UPDATE|DELETE|MERGE)\b/i.test(statement));

describe('passkey challenges', () => {
  const uidOf = (flow: { formUrl: string }) => flow.formUrl.split('/').pop()!;
  const relyingParty = () => ({ id: passkey.rpId, origin: passkey.origin, name: 'Roster' });
  /** Options as the pages would make them, but for another target or time. */
  const optionsFor = (target: { realmId?: string; interactionUid: string; userId?: string | null }, now = new Date()) =>
    authenticationOptions(
      server.db.prisma,
      server.passkeyKey,
      { realmId: server.admin.realmId, relyingParty: relyingParty(), userId: null, ...target },
      now,
    );

  it('are stateless: showing the identifier page or the second-factor page writes nothing', async () => {
    const flow = await open();
    const shown = await server.db.statements.during(async () => {
      for (let i = 0; i < 5; i++) expect((await flow.browser.request(flow.formUrl)).status).toBe(200);
    });
    expect(writes(shown.sql)).toEqual([]);
    // Each showing asks a challenge of its own.
    const challenges = new Set<string>();
    for (let i = 0; i < 3; i++) {
      challenges.add(passkeyOptions(await (await flow.browser.request(flow.formUrl)).text(), 'passkey')!.challenge);
    }
    expect(challenges.size).toBe(3);

    const second = await open();
    expect((await second.post({ identifier: 'kim@example.com', password: PASSWORD })).html).toContain(
      'Confirm with your passkey',
    );
    const again = await server.db.statements.during(async () => {
      for (let i = 0; i < 5; i++) {
        const page = await second.browser.request(second.formUrl);
        expect(passkeyOptions(await page.text(), 'second-factor-passkey')).not.toBeNull();
      }
    });
    expect(writes(again.sql)).toEqual([]);
    expect(await server.db.prisma.usedPasskeyChallenge.count({ where: { realmId: server.admin.realmId } })).toBe(
      await server.db.prisma.usedPasskeyChallenge.count(),
    );
  });

  it('work once: the first response presenting one marks it used, and a replay conflicts with the mark', async () => {
    const flow = await open();
    const options = flow.options();
    const marks = await server.db.prisma.usedPasskeyChallenge.count();
    // A response the challenge checks out for, but of no known passkey: refused, the challenge used up.
    const unknown = new SoftwarePasskey(passkey.rpId, passkey.origin).authenticate(options);
    const first = await server.db.statements.during(() =>
      flow.post({ step: 'passkey', passkey: JSON.stringify(unknown) }),
    );
    expect(first.result.status).toBe(401);
    expect(
      first.sql.filter((statement) => /INSERT INTO "public"\."UsedPasskeyChallenge"/.test(statement)),
    ).toHaveLength(1);
    expect(await server.db.prisma.usedPasskeyChallenge.count()).toBe(marks + 1);
    // Kim's own passkey answering the same challenge: refused before her key is even looked at.
    const replayed = await expectUnchangedFactor(() =>
      flow.post({ step: 'passkey', passkey: JSON.stringify(passkey.authenticate(options)) }),
    );
    expect(replayed.status).toBe(401);
    expect(replayed.html).toContain(REFUSED);
    expect(await server.db.prisma.usedPasskeyChallenge.count()).toBe(marks + 1);
    expect((await kimState()).failedLoginAttempts).toBe(0);
  });

  it('let exactly one of two concurrent submissions of one response through', async () => {
    const flow = await open();
    const csrf = csrfOf(flow.html);
    const response = JSON.stringify(passkey.authenticate(flow.options()));
    const marks = await server.db.prisma.usedPasskeyChallenge.count();
    const answers = await Promise.all(
      [1, 2].map(() =>
        flow.browser.request(flow.formUrl, { method: 'POST', form: { csrf, step: 'passkey', passkey: response } }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([303, 401]);
    expect(await server.db.prisma.usedPasskeyChallenge.count()).toBe(marks + 1);
    await server.db.prisma.user.update({ where: { id: kim.id }, data: { failedLoginAttempts: 0 } });
  });

  it('refuse an expired challenge, and one of another sign-in, purpose or realm, or tampered with', async () => {
    const flow = await open();
    const uid = uidOf(flow);
    const sixMinutesAgo = new Date(Date.now() - 6 * 60_000);
    const own = flow.options();
    const tampered = Buffer.from(own.challenge, 'base64url');
    tampered[10]! ^= 1;
    const cases: Record<string, { challenge: string }> = {
      expired: await optionsFor({ interactionUid: uid }, sixMinutesAgo),
      'another sign-in': await optionsFor({ interactionUid: uidOf(await open()) }),
      'another purpose': await optionsFor({ interactionUid: uid, userId: kim.id }),
      'another realm': await optionsFor({ interactionUid: uid, realmId: crypto.randomUUID() }),
      'tampered with': { challenge: tampered.toString('base64url') },
      'cut short': { challenge: own.challenge.slice(0, -4) },
    };
    const marks = await server.db.prisma.usedPasskeyChallenge.count();
    for (const [name, options] of Object.entries(cases)) {
      const refused = await expectUnchangedFactor(() =>
        flow.post({ step: 'passkey', passkey: JSON.stringify(passkey.authenticate({ ...own, ...options })) }),
      );
      expect(refused.status, name).toBe(401);
      expect(refused.html, name).toContain(REFUSED);
    }
    expect(await server.db.prisma.usedPasskeyChallenge.count()).toBe(marks);
    // None of those used the page's own challenge, which still signs in.
    expect(
      (await flow.post({ step: 'passkey', passkey: JSON.stringify(passkey.authenticate(own)) })).left,
    ).not.toBeNull();
  });

  it('are swept by the housekeeping once expired', async () => {
    const marks = await server.db.prisma.usedPasskeyChallenge.count();
    expect(marks).toBeGreaterThan(0);
    const worker = new OutboxWorker({
      prisma: server.db.prisma,
      key: server.outboxKey,
      email: null,
      allowPrivateTargets: true,
      log: createLogger('silent'),
    });
    expect((await worker.housekeep()).usedPasskeyChallengesSwept).toBe(0);
    const later = new Date(Date.now() + 5 * 60_000 + 1_000);
    expect((await worker.housekeep(later)).usedPasskeyChallengesSwept).toBe(marks);
    expect(await server.db.prisma.usedPasskeyChallenge.count()).toBe(0);
  });
});

describe('the second step of a user with a passkey and codes', () => {
  it('offers both: the passkey first, the code form after it', async () => {
    const codes = await server.db.prisma.mfaFactor.create({
      data: { realmId: server.admin.realmId, userId: kim.id, type: 'RECOVERY_CODES', secretEncrypted: 'sealed' },
    });
    try {
      const flow = await open();
      const step = await flow.post({ identifier: 'kim@example.com', password: PASSWORD });
      expect(step.status).toBe(200);
      expect(step.html).toContain('<title>Enter your code');
      expect(passkeyOptions(step.html, 'second-factor-passkey')).not.toBeNull();
      expect(step.html.indexOf('value="second-factor-passkey"')).toBeLessThan(step.html.indexOf('name="code"'));
      // With the passkey shown first, the code field does not take the focus from it.
      expect(step.html).not.toMatch(/name="code"[^>]*autofocus/);
    } finally {
      await server.db.prisma.mfaFactor.delete({ where: { id: codes.id } });
    }
  });
});

describe('signing in with a passkey within a tenant', () => {
  it('refuses a user who is not a member of the tenant the application asked for, then signs a member in within it', async () => {
    const tenant = await server.db.prisma.tenant.create({
      data: { realmId: server.admin.realmId, name: 'Acme', slug: 'acme-passkeys' },
    });
    const outsider = await open({ tenant: tenant.id });
    const refused = await outsider.post({
      step: 'passkey',
      passkey: JSON.stringify(passkey.authenticate(outsider.options())),
    });
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('This account is not a member of the organisation this application signs in to.');
    const event = await server.db.prisma.loginEvent.findFirstOrThrow({
      where: { userId: kim.id },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
    });
    expect(event).toMatchObject({ success: false, failureReason: 'not_tenant_member', tenantId: tenant.id });

    await server.db.prisma.tenantMembership.create({
      data: { realmId: server.admin.realmId, tenantId: tenant.id, userId: kim.id },
    });
    const member = await open({ tenant: tenant.id });
    const done = await member.post({
      step: 'passkey',
      passkey: JSON.stringify(passkey.authenticate(member.options())),
    });
    expect(done.left).not.toBeNull();
    expect((await member.tokens(done.left!)).claims()).toMatchObject({ sub: kim.id, tenant_id: tenant.id });
    const session = await server.db.prisma.session.findFirstOrThrow({
      where: { userId: kim.id },
      orderBy: { createdAt: 'desc' },
    });
    expect(session.tenantId).toBe(tenant.id);
  });
});

describe('passkeys in the management API', () => {
  it('lists the passkey among the MFA factors, and deleteUserPasskeys removes it and ends the sessions', async () => {
    const listed = await server.graphql<{
      node: {
        mfaFactors: { type: string; name: string; lastUsedAt: string; transports: string[]; backedUp: boolean }[];
      };
    }>(
      `query ($id: ID!) { node(id: $id) { ... on User { mfaFactors { type name lastUsedAt transports backedUp } } } }`,
      { id: kim.globalId },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.node.mfaFactors).toEqual([
      {
        type: 'WEBAUTHN',
        name: expect.stringMatching(/^Passkey/),
        lastUsedAt: expect.any(String),
        transports: ['internal'],
        backedUp: false,
      },
    ]);
    expect(await server.db.prisma.session.count({ where: { userId: kim.id, revokedAt: null } })).toBeGreaterThan(0);
    const deleted = await server.graphql<{ deleteUserPasskeys: { userErrors: unknown[] } }>(
      `mutation ($id: ID!) { deleteUserPasskeys(input: { id: $id }) { userErrors { code } } }`,
      { id: encodeGlobalId('User', kim.id) },
    );
    expect(deleted.data?.deleteUserPasskeys.userErrors).toEqual([]);
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: kim.id } })).toBe(0);
    expect(await server.db.prisma.session.count({ where: { userId: kim.id, revokedAt: null } })).toBe(0);

    // The removed passkey signs nobody in.
    const flow = await open();
    const refused = await flow.post({ step: 'passkey', passkey: JSON.stringify(passkey.authenticate(flow.options())) });
    expect(refused.status).toBe(401);
    expect(await latestEvent(null)).toEqual({ success: false, method: 'passkey', failureReason: 'invalid_passkey' });
  });
});

describe('the passkey scripts', () => {
  it('are served from the issuer with a long cache, and nothing else is', async () => {
    const flow = await open();
    const sources = [...flow.html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((match) => match[1]!);
    expect(sources).toHaveLength(2);
    const bodies: string[] = [];
    for (const source of sources) {
      expect(source).toMatch(/^\/oauth2\/default\/assets\/[a-z-]+\.[0-9a-f]{16}\.js$/);
      const response = await fetch(`${server.url}${source}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      bodies.push(await response.text());
      const head = await fetch(`${server.url}${source}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
    }
    // The page runs those and no other scripts; the rest are the options' JSON data blocks.
    const scripts = [...flow.html.matchAll(/<script([^>]*)>/g)].map((match) => match[1]!);
    for (const attributes of scripts) {
      expect(attributes).toMatch(/^ (src="\/oauth2\/default\/assets\/[a-z0-9.-]+\.js"|type="application\/json")$/);
    }
    const page = await flow.browser.request(flow.formUrl);
    expect(page.headers.get('content-security-policy')).toContain(`script-src ${server.url}/oauth2/default/assets/`);
    expect(bodies[0]).toContain('SimpleWebAuthnBrowser');
    expect(bodies[1]).toContain('startAuthentication');
    for (const path of ['/oauth2/default/assets/passkeys.0000000000000000.js', '/oauth2/nowhere/assets/x.js']) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(404);
    }
    expect((await fetch(`${server.url}${sources[0]}`, { method: 'POST' })).status).toBe(405);
  });
});

describe('on an issuer whose host is an IP address', () => {
  let onIp: TestServer;

  beforeAll(async () => {
    // The same database and realm, public at http://127.0.0.1:<port>: the default development URL.
    onIp = await startTestServer({ database: { db: server.db, dispose: async () => {} } });
  });

  afterAll(async () => {
    await onIp?.close();
  });

  /** The page, but for its style sheet (which styles passkey forms wherever they are shown), offers no passkey. */
  const noPasskeys = (html: string) => {
    const body = html.replace(/<style>.*?<\/style>/s, '');
    expect(body).not.toMatch(/passkey/i);
    expect(body).not.toContain('<script');
  };

  it('offers no passkey on the sign-in page, runs no script there, and refuses a passkey step', async () => {
    const flow = await open({}, onIp);
    expect(flow.html).toContain('<title>Sign in');
    noPasskeys(flow.html);
    const page = await flow.browser.request(flow.formUrl);
    expect(page.headers.get('content-security-policy')).not.toContain('script-src');

    // A passkey response posted anyway (Kim's passkey, for the localhost relying party) is refused
    // before anything is checked or recorded.
    const localhost = await open();
    const response = JSON.stringify(passkey.authenticate(localhost.options()));
    const refused = await expectUnchanged(server, () => flow.post({ step: 'passkey', passkey: response }));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('This sign-in cannot go on.');
  });

  it('asks a user with a passkey for a code, never offers to add one, and enrols an authenticator only', async () => {
    const keeper = await makeUser(server, server.admin.realmId, {
      email: 'ip-passkey@example.com',
      emailVerified: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    await makeFactor(server, server.admin.realmId, keeper.id, 'WEBAUTHN');
    const second = await open({}, onIp);
    const step = await second.post({ identifier: 'ip-passkey@example.com', password: PASSWORD, passkeyCapable: 'yes' });
    expect(step.status).toBe(200);
    expect(step.html).toContain('<title>Enter your code');
    expect(step.html).toMatch(/name="code"[^>]*autofocus/);
    noPasskeys(step.html);

    // A browser that says it can keep a passkey is not offered one: the sign-in ends.
    const plain = await makeUser(server, server.admin.realmId, {
      email: 'ip-plain@example.com',
      emailVerified: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const capable = await open({}, onIp);
    const done = await capable.post({ identifier: 'ip-plain@example.com', password: PASSWORD, passkeyCapable: 'yes' });
    expect(done.left?.searchParams.get('code')).toBeTruthy();
    expect((await capable.tokens(done.left!)).claims()?.sub).toBe(plain.id);

    const realm = { where: { id: server.admin.realmId } };
    await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'REQUIRED' } });
    try {
      await makeUser(server, server.admin.realmId, {
        email: 'ip-enrol@example.com',
        emailVerified: true,
        passwordHash: await hashPassword(PASSWORD),
        passwordAlgorithm: 'ARGON2ID',
      });
      const enrol = await open({}, onIp);
      const page = await enrol.post({ identifier: 'ip-enrol@example.com', password: PASSWORD, passkeyCapable: 'yes' });
      expect(page.html).toContain('<title>Set up an authenticator');
      noPasskeys(page.html);
      const refused = await expectUnchanged(server, () =>
        enrol.post({ step: 'enrol-passkey', passkey: JSON.stringify({ id: 'x' }) }),
      );
      expect(refused.status).toBe(400);
    } finally {
      await server.db.prisma.realm.update({ ...realm, data: { mfaPolicy: 'OPTIONAL' } });
    }
  });
});
