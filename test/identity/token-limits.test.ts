import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { IN_MEMORY } from '../../src/db/embedded.ts';
import { createApplication } from '../helpers/fixtures.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

// Small limits, so the tests reach them quickly; every test uses its own source addresses
// (all of 127.0.0.0/8 is loopback) and its own clients, so they do not disturb each other.
const LIMITS = {
  perAddress: { failures: 3, windowSeconds: 60 },
  perClient: { failures: 5, windowSeconds: 120 },
};

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ tokenLimits: LIMITS });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

interface TokenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** POSTs to the token endpoint of realm `default` from source address `from`. */
function tokenFrom(
  from: string,
  clientId: string,
  clientSecret: string,
  options: { url?: string; headers?: Record<string, string>; endpoint?: string; form?: Record<string, string> } = {},
): Promise<TokenResponse> {
  const url = new URL(`/oauth2/default/${options.endpoint ?? 'token'}`, options.url ?? server.url);
  const body = new URLSearchParams(
    options.form ?? (options.endpoint ? { token: 'some-token' } : { grant_type: 'client_credentials' }),
  ).toString();
  // A public client's request: the client id in the form, no authentication.
  const authorization = options.form
    ? {}
    : { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from,
        headers: {
          ...authorization,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Another admin client of realm `default`. */
async function newClient(): Promise<Credentials> {
  return server.createRealm('default');
}

function expectTooMany(response: TokenResponse, atMostSeconds: number) {
  expect(response.status).toBe(429);
  expect(response.body.error).toBe('slow_down');
  expect(typeof response.body.error_description).toBe('string');
  expect(response.body).not.toHaveProperty('access_token');
  expect(response.headers['cache-control']).toBe('no-store');
  const retryAfter = Number(response.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(atMostSeconds);
}

describe('failed client authentications per source address', () => {
  it('answers 429 slow_down with Retry-After after N wrong secrets, also for the right secret, from that address only', async () => {
    const victim = await newClient();
    const bystander = await newClient();
    for (let attempt = 0; attempt < LIMITS.perAddress.failures; attempt++) {
      expect((await tokenFrom('127.0.0.2', victim.clientId, `wrong-${attempt}`)).status).toBe(401);
    }
    expectTooMany(await tokenFrom('127.0.0.2', victim.clientId, 'wrong-again'), LIMITS.perAddress.windowSeconds);
    // While the address is blocked, no guess is checked: the right secret gets the same 429.
    expectTooMany(await tokenFrom('127.0.0.2', victim.clientId, victim.clientSecret), LIMITS.perAddress.windowSeconds);
    expectTooMany(
      await tokenFrom('127.0.0.2', bystander.clientId, bystander.clientSecret),
      LIMITS.perAddress.windowSeconds,
    );
    // Other addresses are unaffected, for this client and for others.
    expect((await tokenFrom('127.0.0.3', victim.clientId, victim.clientSecret)).status).toBe(200);
    expect((await tokenFrom('127.0.0.3', bystander.clientId, bystander.clientSecret)).status).toBe(200);
  });

  it('counts only failures: successes from an address never block it', async () => {
    const client = await newClient();
    for (let attempt = 0; attempt < LIMITS.perAddress.failures * 3; attempt++) {
      expect((await tokenFrom('127.0.0.4', client.clientId, client.clientSecret)).status).toBe(200);
    }
    for (let attempt = 0; attempt < LIMITS.perAddress.failures - 1; attempt++) {
      expect((await tokenFrom('127.0.0.4', client.clientId, 'wrong')).status).toBe(401);
    }
    expect((await tokenFrom('127.0.0.4', client.clientId, client.clientSecret)).status).toBe(200);
  });

  it('lets the address try again once its window has passed', async () => {
    const client = await newClient();
    for (let attempt = 0; attempt < LIMITS.perAddress.failures; attempt++) {
      expect((await tokenFrom('127.0.0.5', client.clientId, 'wrong')).status).toBe(401);
    }
    expectTooMany(await tokenFrom('127.0.0.5', client.clientId, client.clientSecret), LIMITS.perAddress.windowSeconds);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (LIMITS.perAddress.windowSeconds + 1) * 1000);
    expect((await tokenFrom('127.0.0.5', client.clientId, client.clientSecret)).status).toBe(200);
  });

  it('ignores X-Forwarded-For unless proxies are trusted', async () => {
    const client = await newClient();
    for (let attempt = 0; attempt < LIMITS.perAddress.failures; attempt++) {
      const spoofed = { 'x-forwarded-for': `198.51.100.${attempt}` };
      expect((await tokenFrom('127.0.0.6', client.clientId, 'wrong', { headers: spoofed })).status).toBe(401);
    }
    const spoofed = { 'x-forwarded-for': '198.51.100.99' };
    expectTooMany(await tokenFrom('127.0.0.6', client.clientId, client.clientSecret, { headers: spoofed }), 60);
  });

  it('behind a trusted proxy, limits the address the proxy reports', async () => {
    const proxied = await startTestServer({ tokenLimits: LIMITS, trustProxyHops: 1 });
    try {
      const { clientId, clientSecret } = proxied.admin;
      const from = (address: string) => ({
        url: proxied.url,
        headers: { 'x-forwarded-for': `203.0.113.50, ${address}` },
      });
      for (let attempt = 0; attempt < LIMITS.perAddress.failures; attempt++) {
        expect((await tokenFrom('127.0.0.1', clientId, 'wrong', from('198.51.100.7'))).status).toBe(401);
      }
      expectTooMany(await tokenFrom('127.0.0.1', clientId, clientSecret, from('198.51.100.7')), 60);
      // Same proxy (socket address), another client address: allowed.
      expect((await tokenFrom('127.0.0.1', clientId, clientSecret, from('198.51.100.8'))).status).toBe(200);
    } finally {
      await proxied.close();
    }
  });
});

describe('introspection and revocation', () => {
  it('count failures and refuse with 429 like the token endpoint, with the same counters', async () => {
    const client = await newClient();
    const introspection = { endpoint: 'token/introspection' };
    const revocation = { endpoint: 'token/revocation' };
    expect((await tokenFrom('127.0.5.1', client.clientId, 'wrong', introspection)).status).toBe(401);
    expect((await tokenFrom('127.0.5.1', client.clientId, 'wrong', revocation)).status).toBe(401);
    expect((await tokenFrom('127.0.5.1', client.clientId, 'wrong')).status).toBe(401);
    for (const options of [introspection, revocation, {}]) {
      expectTooMany(await tokenFrom('127.0.5.1', client.clientId, client.clientSecret, options), 60);
    }
    expect((await tokenFrom('127.0.5.2', client.clientId, client.clientSecret, introspection)).body).toEqual({
      active: false,
    });
  });
});

describe('failed client authentications per client id', () => {
  it('answers 429 for that client id from every address after N failures from many, and not for other clients', async () => {
    const victim = await newClient();
    const bystander = await newClient();
    for (let attempt = 0; attempt < LIMITS.perClient.failures; attempt++) {
      expect((await tokenFrom(`127.0.1.${attempt}`, victim.clientId, 'wrong')).status).toBe(401);
    }
    expectTooMany(await tokenFrom('127.0.1.100', victim.clientId, victim.clientSecret), LIMITS.perClient.windowSeconds);
    expect((await tokenFrom('127.0.1.100', bystander.clientId, bystander.clientSecret)).status).toBe(200);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (LIMITS.perClient.windowSeconds + 1) * 1000);
    expect((await tokenFrom('127.0.1.100', victim.clientId, victim.clientSecret)).status).toBe(200);
  });

  it('limits an unknown client id exactly like an existing one (no hint that it exists)', async () => {
    const unknown = 'no-such-client-id-0123456789';
    for (let attempt = 0; attempt < LIMITS.perClient.failures; attempt++) {
      expect((await tokenFrom(`127.0.2.${attempt}`, unknown, 'wrong')).status).toBe(401);
    }
    expectTooMany(await tokenFrom('127.0.2.100', unknown, 'wrong'), LIMITS.perClient.windowSeconds);
  });
});

describe('public clients (no secret)', () => {
  /** A refresh request of public client `clientId` from `from`, with a refresh token that does not exist. */
  const refreshFrom = (from: string, clientId: string) =>
    tokenFrom(from, clientId, '', {
      form: { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token', client_id: clientId },
    });

  it('throttles unknown client ids from an address, and still lets a known SPA through from it', async () => {
    const spa = await createApplication(server, {
      name: 'Limits SPA',
      type: 'SPA',
      redirectUris: ['https://spa.example.com/callback'],
    });
    const from = '127.0.6.1';
    for (let attempt = 0; attempt < LIMITS.perAddress.failures; attempt++) {
      const refused = await refreshFrom(from, `no-such-public-client-${attempt}`);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
    }
    expectTooMany(await refreshFrom(from, 'no-such-public-client-x'), LIMITS.perAddress.windowSeconds);
    // The SPA presents nothing the limits protect: its request reaches the provider, which refuses the token.
    const answered = await refreshFrom(from, spa.clientId);
    expect(answered.status).toBe(400);
    expect(answered.body.error).toBe('invalid_grant');
  });
});

describe('constant cost', () => {
  it('sends the same SQL statements for an unknown client id as for a wrong secret', async () => {
    const client = await newClient();
    // The realm's row is read again after the application's creation, by whichever comes first.
    await tokenFrom('127.0.3.0', 'warm-up-client-id-abcdefgh', 'wrong');
    const unknown = await server.db.statements.during(() =>
      tokenFrom('127.0.3.1', 'no-such-client-id-abcdefgh', 'wrong'),
    );
    const wrong = await server.db.statements.during(() => tokenFrom('127.0.3.2', client.clientId, 'wrong'));
    expect(unknown.result.status).toBe(401);
    expect(wrong.result.status).toBe(401);
    expect(unknown.result.body).toEqual(wrong.result.body);
    expect(unknown.sql).toEqual(wrong.sql);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('on PostgreSQL', () => {
  it('shares the counters between two API processes over the same database', async () => {
    const secondDb = await openDatabase({ databaseUrl: server.databaseUrl!, dataDir: IN_MEMORY });
    const second = await startTestServer({
      tokenLimits: LIMITS,
      database: { db: secondDb, dispose: () => secondDb.close() },
    });
    try {
      const client = await newClient();
      // Failures alternate between the two processes: together they reach the limit.
      for (let attempt = 0; attempt < LIMITS.perAddress.failures; attempt++) {
        const url = attempt % 2 === 0 ? server.url : second.url;
        expect((await tokenFrom('127.0.4.1', client.clientId, 'wrong', { url })).status).toBe(401);
      }
      expectTooMany(await tokenFrom('127.0.4.1', client.clientId, client.clientSecret, { url: server.url }), 60);
      expectTooMany(await tokenFrom('127.0.4.1', client.clientId, client.clientSecret, { url: second.url }), 60);
      expect((await tokenFrom('127.0.4.2', client.clientId, client.clientSecret, { url: second.url })).status).toBe(
        200,
      );
    } finally {
      await second.close();
      await secondDb.close();
    }
  });
});
