/**
 * README, "Sign-in limits": failed sign-ins on the hosted page are counted per source address and
 * per application; once either limit is reached the form answers 429 with Retry-After, before
 * checking anything, so even the right password is refused and nothing is recorded.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { IN_MEMORY } from '../../src/db/embedded.ts';
import { Secret, TOTP } from 'otpauth';
import { systemContext } from '../../src/context.ts';
import { enrolTotp, newTotpSecret } from '../../src/modules/users/users.mfa.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser, csrfOf } from '../helpers/browser.ts';
import { createApplication, makeUser, type TestUser } from '../helpers/fixtures.ts';
import { passkeyOptions, SoftwarePasskey } from '../helpers/passkey.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CALLBACK = 'https://spa.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';
const LIMITS = {
  perAddress: { failures: 3, windowSeconds: 900 },
  perClient: { failures: 5, windowSeconds: 300 },
};

let server: TestServer;
let alice: TestUser;

beforeAll(async () => {
  // One trusted proxy: each test chooses its source addresses through X-Forwarded-For.
  // A domain name, for the passkey form (WebAuthn takes no IP address as relying party ID).
  server = await startTestServer({ signInLimits: LIMITS, trustProxyHops: 1, publicHost: 'localhost' });
  alice = await makeUser(server, server.admin.realmId, {
    email: 'alice@example.com',
    emailVerified: true,
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** A new SPA of the realm: its own per-client count. */
async function newSpa(): Promise<string> {
  const created = await createApplication(server, {
    name: `SPA ${Math.random()}`,
    type: 'SPA',
    redirectUris: [CALLBACK],
  });
  return created.clientId;
}

/** Opens the sign-in page of `clientId` from `address` (through `on`, default the main server). */
async function open(clientId: string, address: string, on: TestServer = server) {
  const browser = new Browser(on.url, { 'x-forwarded-for': address });
  const config = await oidc.discovery(new URL(on.issuer(server.admin)), clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const landed = await browser.follow(await browser.request(url.href), url.href);
  if (!('page' in landed)) throw new Error(`left Roster for ${landed.left.href}`);
  expect(landed.page.status).toBe(200);
  const html = await landed.page.text();
  return {
    html,
    submit: async (identifier: string, password: string) =>
      browser.request(landed.url, { method: 'POST', form: { csrf: csrfOf(html), identifier, password } }),
    post: async (form: Record<string, string>) => browser.request(landed.url, { method: 'POST', form }),
  };
}

async function expectTooMany(response: Response, windowSeconds: number) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(await response.text()).toContain('Too many failed sign-ins.');
}

const loginEvents = () => server.db.prisma.loginEvent.count();

describe('the sign-in form', () => {
  it('refuses an address that reached its failures, even with the right password, recording nothing', async () => {
    const clientId = await newSpa();
    const form = await open(clientId, '203.0.113.7');
    for (let i = 0; i < LIMITS.perAddress.failures; i++) {
      expect((await form.submit(i % 2 ? 'nobody@example.com' : 'alice@example.com', 'wrong password')).status).toBe(
        401,
      );
    }
    const before = {
      events: await loginEvents(),
      user: await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } }),
    };
    await expectTooMany(await form.submit('alice@example.com', PASSWORD), LIMITS.perAddress.windowSeconds);
    // A new interaction from the same address: refused too.
    await expectTooMany(
      await (await open(clientId, '203.0.113.7')).submit('alice@example.com', PASSWORD),
      LIMITS.perAddress.windowSeconds,
    );
    expect(await loginEvents()).toBe(before.events);
    expect(await server.db.prisma.user.findUniqueOrThrow({ where: { id: alice.id } })).toEqual(before.user);

    // Another address signs in.
    expect((await (await open(clientId, '203.0.113.8')).submit('alice@example.com', PASSWORD)).status).toBe(303);
  });

  it('refuses an application that reached its failures from any address; other applications sign in', async () => {
    const attacked = await newSpa();
    const other = await newSpa();
    for (let i = 0; i < LIMITS.perClient.failures; i++) {
      expect((await (await open(attacked, `198.51.100.${i + 1}`)).submit('nobody@example.com', 'guess')).status).toBe(
        401,
      );
    }
    await expectTooMany(
      await (await open(attacked, '198.51.100.99')).submit('alice@example.com', PASSWORD),
      LIMITS.perClient.windowSeconds,
    );
    expect((await (await open(other, '198.51.100.99')).submit('alice@example.com', PASSWORD)).status).toBe(303);
  });

  it('counts wrong second-factor codes, and then refuses the right one', async () => {
    const clientId = await newSpa();
    const nina = await makeUser(server, server.admin.realmId, {
      email: 'nina@example.com',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const { secret } = newTotpSecret('Roster', 'nina');
    const code = (offset: number) =>
      new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offset * 30_000 });
    const enrolled = await enrolTotp(systemContext(server.db.prisma, server.admin.realmId), server.mfaKey, {
      userId: nina.id,
      secret,
      code: code(0),
    });
    expect(enrolled.userErrors).toEqual([]);
    const taken = new Set([-2, -1, 0, 1, 2].map(code));
    const wrong = ['000000', '111111', '222222', '333333', '444444'].filter((c) => !taken.has(c)).slice(0, 3);
    expect(wrong).toHaveLength(LIMITS.perAddress.failures);

    const form = await open(clientId, '203.0.113.90');
    const asked = await form.submit('nina@example.com', PASSWORD);
    expect(asked.status).toBe(200);
    const csrf = csrfOf(await asked.text());
    for (const guess of wrong) {
      expect((await form.post({ csrf, step: 'second-factor', code: guess })).status).toBe(401);
    }
    await expectTooMany(
      await form.post({ csrf, step: 'second-factor', code: code(1) }),
      LIMITS.perAddress.windowSeconds,
    );
  });

  it('counts neither successes nor refusals of an account’s state', async () => {
    const clientId = await newSpa();
    await makeUser(server, server.admin.realmId, {
      email: 'suspended@example.com',
      status: 'SUSPENDED',
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    for (let i = 0; i < LIMITS.perAddress.failures + 1; i++) {
      expect((await (await open(clientId, '192.0.2.5')).submit('alice@example.com', PASSWORD)).status).toBe(303);
      expect((await (await open(clientId, '192.0.2.5')).submit('suspended@example.com', PASSWORD)).status).toBe(401);
    }
  });
});

describe('the passkey form', () => {
  it('counts refused passkeys towards the address limit, then refuses passkeys and passwords alike', async () => {
    const clientId = await newSpa();
    const stranger = new SoftwarePasskey(new URL(server.url).hostname, new URL(server.url).origin);
    const attempt = async () => {
      const form = await open(clientId, '203.0.113.40');
      const response = stranger.authenticate(passkeyOptions(form.html, 'passkey')!);
      return form.post({ csrf: csrfOf(form.html), step: 'passkey', passkey: JSON.stringify(response) });
    };
    for (let i = 0; i < LIMITS.perAddress.failures; i++) expect((await attempt()).status).toBe(401);
    const events = await loginEvents();
    await expectTooMany(await attempt(), LIMITS.perAddress.windowSeconds);
    await expectTooMany(
      await (await open(clientId, '203.0.113.40')).submit('alice@example.com', PASSWORD),
      LIMITS.perAddress.windowSeconds,
    );
    expect(await loginEvents()).toBe(events);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('on PostgreSQL', () => {
  it('shares the counters between two API processes over the same database', async () => {
    const secondDb = await openDatabase({ databaseUrl: server.databaseUrl!, dataDir: IN_MEMORY });
    const second = await startTestServer({
      signInLimits: LIMITS,
      trustProxyHops: 1,
      database: { db: secondDb, dispose: () => secondDb.close() },
    });
    try {
      const clientId = await newSpa();
      for (let i = 0; i < LIMITS.perAddress.failures; i++) {
        const form = await open(clientId, '203.0.113.77', i % 2 ? second : server);
        expect((await form.submit('nobody@example.com', 'guess')).status).toBe(401);
      }
      for (const on of [server, second]) {
        await expectTooMany(
          await (await open(clientId, '203.0.113.77', on)).submit('alice@example.com', PASSWORD),
          LIMITS.perAddress.windowSeconds,
        );
      }
    } finally {
      await second.close();
      await secondDb.close();
    }
  });
});
