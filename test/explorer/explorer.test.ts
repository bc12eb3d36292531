import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY, EXPLORER_CSP } from '../../src/explorer/explorer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let development: TestServer;
let production: TestServer;
let off: TestServer;

beforeAll(async () => {
  [production, off] = await Promise.all([
    startTestServer({ mode: 'production', explorer: true }),
    startTestServer({ mode: 'production' }),
  ]);
  // Outside production last: the strict development checks are process-wide.
  development = await startTestServer({ mode: 'development', explorer: true });
}, 180_000);

afterAll(async () => {
  await Promise.all([development?.close(), production?.close(), off?.close()]);
});

const page = (target: TestServer) => fetch(`${target.url}/graphql`, { headers: { accept: 'text/html' } });

/** The client credentials grant as the explorer's page sends it, with the headers a browser adds. */
const tokenRequest = (target: TestServer, headers: Record<string, string>) =>
  fetch(`${target.url}/oauth2/default/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: target.admin.clientId,
      client_secret: target.admin.clientSecret,
    }),
  });

describe('the explorer page', () => {
  it('is GraphiQL under a strict Content-Security-Policy, every asset from Roster itself', async () => {
    const response = await page(development);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
    expect(EXPLORER_CSP).toMatch(/default-src 'none'; script-src 'self';/);
    expect(EXPLORER_CSP).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|https?:/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    // No inline script (the JSON data block is not executed) and nothing from another host.
    expect([...html.matchAll(/<script(?![^>]*(?:src=|type="application\/json"))/g)]).toEqual([]);
    expect(html).not.toMatch(/https?:\/\/|src="\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(explorer\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.sort()).toEqual([
      'explorer/favicon.ico',
      'explorer/graphiql.css',
      'explorer/graphiql.js',
      'explorer/page.css',
      'explorer/page.js',
    ]);
    for (const asset of [
      ...assets,
      'explorer/editor.worker.js',
      'explorer/json.worker.js',
      'explorer/graphql.worker.js',
    ]) {
      const file = await fetch(`${development.url}/${asset}`);
      expect(file.status, asset).toBe(200);
      expect(file.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.js') ? /^text\/javascript/ : asset.endsWith('.css') ? /^text\/css/ : /^image\//,
      );
      expect((await file.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
  });

  it('offers the admin-client form in development, only a pasted token in production', async () => {
    const developmentHtml = await (await page(development)).text();
    expect(developmentHtml).toContain('id="client-form"');
    expect(developmentHtml).toContain('id="token-form"');
    const productionHtml = await (await page(production)).text();
    expect(productionHtml).not.toContain('client-form');
    expect(productionHtml).toContain('id="token-form"');
  });

  it('opens with a default query that runs for the admin client and shows the realm', async () => {
    const result = await development.graphql(DEFAULT_QUERY);
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({
      viewer: { clientId: development.admin.clientId, realm: { name: 'default' } },
      users: { totalCount: 0, nodes: [] },
      applications: { nodes: [{ type: 'M2M', clientId: development.admin.clientId }] },
    });
  });

  it('answers an unchanged asset 304 (ETag) and an unknown one 404', async () => {
    const first = await fetch(`${development.url}/explorer/page.js`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${development.url}/explorer/page.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${development.url}/explorer/../package.json`)).status).toBe(404);
    expect((await fetch(`${development.url}/explorer/nothing.js`)).status).toBe(404);
  });

  it('is off unless switched on: no page, no assets, and /graphql answers GraphQL', async () => {
    const response = await page(off);
    expect(response.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect((await response.text()).toLowerCase()).not.toContain('graphiql');
    expect((await fetch(`${off.url}/explorer/graphiql.js`)).status).toBe(404);
  });
});

describe('the token endpoint and the explorer’s sign-in helper', () => {
  it('issues a token to the admin client from Roster’s own page in development', async () => {
    const requests: Record<string, string>[] = [
      { origin: development.url, 'sec-fetch-site': 'same-origin' },
      // Opened under another name of the same server (localhost for 127.0.0.1): the browser still says same-origin.
      { origin: development.url.replace('127.0.0.1', 'localhost'), 'sec-fetch-site': 'same-origin' },
      // A browser that does not send Sec-Fetch-Site: the issuer's origin.
      { origin: development.url },
    ];
    for (const headers of requests) {
      const response = await tokenRequest(development, headers);
      expect(response.status, JSON.stringify(headers)).toBe(200);
      expect(await response.json()).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
    }
  });

  it('still refuses a client secret from another origin’s page, and from any page in production', async () => {
    for (const [target, headers] of [
      [development, { origin: 'https://evil.example.com', 'sec-fetch-site': 'cross-site' }],
      [development, { origin: development.url.replace('127.0.0.1', 'localhost'), 'sec-fetch-site': 'same-site' }],
      [production, { origin: production.url, 'sec-fetch-site': 'same-origin' }],
    ] as const) {
      const response = await tokenRequest(target, headers);
      expect(response.status, JSON.stringify(headers)).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});
