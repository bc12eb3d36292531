import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CONSOLE = 'https://console.example.com';
const LOCAL_APP = 'http://localhost:5173';

let server: TestServer;
let closed: TestServer;
const tokens = new Map<TestServer, string>();

beforeAll(async () => {
  [server, closed] = await Promise.all([startTestServer({ corsOrigins: [CONSOLE, LOCAL_APP] }), startTestServer()]);
  for (const target of [server, closed]) tokens.set(target, await target.token());
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.close(), closed?.close()]);
});

const query = (target: TestServer, origin: string | null, path = '/graphql') =>
  fetch(`${target.url}${path}`, {
    method: path === '/graphql' ? 'POST' : 'GET',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${tokens.get(target)}`,
      ...(origin ? { origin } : {}),
    },
    ...(path === '/graphql' ? { body: JSON.stringify({ query: '{ viewer { clientId } }' }) } : {}),
  });

const preflight = (target: TestServer, origin: string, path = '/graphql') =>
  fetch(`${target.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });

function expectNoCors(response: Response) {
  expect(response.headers.get('access-control-allow-origin')).toBeNull();
  expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  expect(response.headers.get('access-control-allow-methods')).toBeNull();
}

describe('CORS of the API (ROSTER_CORS_ORIGINS)', () => {
  it('lets an allowed origin read the answer: its exact origin, never credentials', async () => {
    for (const origin of [CONSOLE, LOCAL_APP]) {
      const response = await query(server, origin);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-expose-headers')).toBe(
        'x-request-id, www-authenticate, idempotent-replayed',
      );
      expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
      expect(await response.json()).toEqual({ data: { viewer: { clientId: server.admin.clientId } } });
    }
  });

  it('gives any other origin no CORS header (the browser withholds the answer), with Vary: Origin', async () => {
    for (const origin of [
      'https://evil.example.com',
      'https://console.example.com.evil.example',
      'null',
      `${CONSOLE}:443`,
    ]) {
      const response = await query(server, origin);
      expectNoCors(response);
      expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
    // Without the setting, no origin at all; a request without Origin (not a browser's cross-origin one) is answered as ever.
    expectNoCors(await query(closed, CONSOLE));
    expect((await query(closed, null)).status).toBe(200);
  });

  it('answers an allowed origin’s preflight with the methods and the headers it asked for', async () => {
    const response = await preflight(server, CONSOLE);
    expect(response.status).toBe(204);
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'access-control-allow-origin': CONSOLE,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    });
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('refuses the preflight of any other origin (403, no CORS header), with or without the setting', async () => {
    for (const [target, origin] of [
      [server, 'https://evil.example.com'],
      [closed, CONSOLE],
    ] as const) {
      const response = await preflight(target, origin);
      expect(response.status).toBe(403);
      expectNoCors(response);
    }
  });

  it('applies the same rule to GET /schema.graphql', async () => {
    const allowed = await query(server, LOCAL_APP, '/schema.graphql');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(LOCAL_APP);
    expectNoCors(await query(server, 'https://evil.example.com', '/schema.graphql'));
    expect((await preflight(server, LOCAL_APP, '/schema.graphql')).status).toBe(204);
    expect((await preflight(server, 'https://evil.example.com', '/schema.graphql')).status).toBe(403);
  });

  it('lets an allowed origin read a refusal too (401 with its challenge)', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: CONSOLE },
      body: JSON.stringify({ query: '{ viewer { clientId } }' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });
});
