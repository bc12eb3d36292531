/**
 * How Roster serves the admin console: the page under a strict Content-Security-Policy and
 * revalidated, the content-hashed assets cached for a year and sent compressed, the console's application of each
 * realm made on the first visit (once, audited), nothing at all with the console turned off; and
 * the console's documents as the only ones its application's tokens may run (trusted documents).
 */
import { readFileSync } from 'node:fs';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { CONSOLE_CSP } from '../../src/console/console.ts';
import { consoleClientId } from '../../src/modules/applications/applications.builtin.ts';
import { adminRoleId } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { exchangeCode, relyingParty, startSignIn, submitSignIn } from '../helpers/sign-in.ts';

let server: TestServer;
let off: TestServer;

beforeAll(async () => {
  [server, off] = await Promise.all([startTestServer({ console: true }), startTestServer({ console: false })]);
});

afterAll(async () => {
  await Promise.all([server?.close(), off?.close()]);
});

describe('the console’s files', () => {
  it('serves the page under a strict Content-Security-Policy, revalidated, for every path of the console', async () => {
    for (const path of ['/console/', '/console/users/VXNlcjox', '/console/callback?code=x&state=y']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await response.text();
      // No inline script: every script is a file of Roster's.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).toContain(`<meta name="roster-public-url" content="${server.url}" />`);
    }
    const policy = Object.fromEntries(CONSOLE_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(policy['default-src']).toEqual(["'self'"]);
    expect(policy['script-src']).toEqual(["'self'"]);
    expect(policy['style-src']).toEqual(["'self'"]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);
  });

  it('serves the hashed assets the page names with a year-long immutable cache, and nothing else', async () => {
    const html = await (await fetch(`${server.url}/console/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.some((path) => /\/index-[\w-]{8}\.js$/.test(path))).toBe(true);
    expect(assets.some((path) => /\/index-[\w-]{8}\.css$/.test(path))).toBe(true);
    for (const path of assets) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toMatch(path.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      const etag = response.headers.get('etag')!;
      await response.arrayBuffer();
      const again = await fetch(`${server.url}${path}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    }
    const missing = await fetch(`${server.url}/console/assets/index-00000000.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not_found' });
  });

  it('sends the scripts and stylesheets compressed to browsers that accept it (brotli, else gzip), each form with its own tag', async () => {
    const html = await (await fetch(`${server.url}/console/`)).text();
    const script = html.match(/src="(\/console\/assets\/index-[\w-]{8}\.js)"/)![1]!;
    /** The raw answer (node:http decodes nothing, unlike fetch). */
    const get = (acceptEncoding: string | null, ifNoneMatch?: string) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (acceptEncoding !== null) headers['accept-encoding'] = acceptEncoding;
        if (ifNoneMatch) headers['if-none-match'] = ifNoneMatch;
        httpGet(`${server.url}${script}`, { headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
          );
        }).on('error', reject);
      });
    const plain = await get(null);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    const br = await get('gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    expect(br.body.length).toBeLessThan(plain.body.length / 3);
    const gzip = await get('gzip;q=1, br;q=0');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);
    expect((await get('identity')).headers['content-encoding']).toBeUndefined();
    const tags = [plain, br, gzip].map((answer) => answer.headers.etag);
    expect(new Set(tags).size).toBe(3);
    expect((await get('br', br.headers.etag)).status).toBe(304);
    expect((await get('br', plain.headers.etag)).status).toBe(200);
  });

  it('redirects /console to /console/ and refuses methods other than GET and HEAD', async () => {
    const bare = await fetch(`${server.url}/console?x=1`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/console/?x=1');
    const post = await fetch(`${server.url}/console/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${server.url}/console/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('the console’s application of a realm', () => {
  const config = (target: TestServer, realm: string) => fetch(`${target.url}/console/realms/${realm}`);
  const consoleApps = (realmId: string) =>
    server.db.prisma.application.findMany({ where: { realmId, clientId: consoleClientId(realmId) } });
  const creations = (realmId: string) =>
    server.db.prisma.auditEvent.count({ where: { realmId, action: 'application.created', actorType: 'system' } });

  it('is made on the first visit, a built-in SPA whose redirect URI is the console’s callback; later visits reuse it', async () => {
    const { realmId } = server.admin;
    const before = await creations(realmId);
    const [first, second] = await Promise.all([config(server, 'default'), config(server, 'default')]);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const body = await first.json();
    expect(body).toEqual({
      realm: 'default',
      issuer: `${server.url}/oauth2/default`,
      clientId: consoleClientId(realmId),
    });
    expect(await second.json()).toEqual(body);
    expect(await (await config(server, realmId)).json()).toEqual(body);
    const apps = await consoleApps(realmId);
    expect(apps).toHaveLength(1);
    expect(apps[0]).toMatchObject({
      name: 'Roster Console',
      type: 'SPA',
      builtIn: true,
      redirectUris: [`${server.url}/console/callback`],
      postLogoutRedirectUris: [`${server.url}/console/`],
    });
    expect(await creations(realmId)).toBe(before + 1);
  });

  it('gets the current callback added when the public URL changed, and is made again when deleted', async () => {
    const { realmId } = await server.createRealm('moved');
    await config(server, 'moved');
    const [app] = await consoleApps(realmId);
    await server.db.prisma.application.update({
      where: { id: app!.id },
      data: { redirectUris: ['https://old.example.com/console/callback'] },
    });
    await config(server, 'moved');
    expect((await consoleApps(realmId))[0]!.redirectUris).toEqual([
      'https://old.example.com/console/callback',
      `${server.url}/console/callback`,
    ]);
    expect(
      await server.db.prisma.auditEvent.count({ where: { realmId, action: 'application.updated', targetId: app!.id } }),
    ).toBe(1);

    await server.db.prisma.application.delete({ where: { id: app!.id } });
    expect((await config(server, 'moved')).status).toBe(200);
    expect(await consoleApps(realmId)).toHaveLength(1);
  });

  it('is refused for an unknown realm (creating nothing) and while an administrator has it disabled', async () => {
    const applications = await server.db.prisma.application.count();
    for (const name of ['nope', 'Not%20A%20Name', '00000000-0000-4000-8000-000000000000']) {
      const response = await config(server, name);
      expect(response.status, name).toBe(404);
      expect((await response.json()).error).toBe('not_found');
    }
    // A malformed percent-escape is a bad name, not a server error.
    const malformed = await config(server, '%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error).toBe('invalid_request');
    expect(await server.db.prisma.application.count()).toBe(applications);

    const { realmId } = await server.createRealm('paused');
    await config(server, 'paused');
    await server.db.prisma.application.update({
      where: { clientId: consoleClientId(realmId) },
      data: { disabledAt: new Date() },
    });
    const refused = await config(server, 'paused');
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toBe('console_disabled');
    expect((await consoleApps(realmId))[0]!.disabledAt).not.toBeNull();
  });
});

describe('ROSTER_CONSOLE=false', () => {
  it('serves nothing under /console and makes no application', async () => {
    for (const path of ['/console', '/console/', '/console/users/x', '/console/realms/default']) {
      const response = await fetch(`${off.url}${path}`, { redirect: 'manual' });
      expect(response.status, path).toBe(404);
    }
    const html = await (await fetch(`${server.url}/console/`)).text();
    const asset = /src="(\/console\/assets\/[^"]+)"/.exec(html)![1]!;
    expect((await fetch(`${off.url}${asset}`)).status).toBe(404);
    expect(await off.db.prisma.application.count({ where: { clientId: consoleClientId(off.admin.realmId) } })).toBe(0);
  });
});

describe('the console’s documents, trusted by hash', () => {
  const PASSWORD = 'a long and memorable passphrase 7';
  /** The console's documents by hash, as the build wrote them next to the page. */
  const list = JSON.parse(
    readFileSync(new URL('../../dist/console-app/trusted-documents.json', import.meta.url), 'utf8'),
  ) as Record<string, string>;
  const hashOf = (operation: string) => {
    const key = Object.keys(list).find((k) => new RegExp(`(^| )${operation}[ (]`).test(list[k]!))!;
    expect(key, operation).toMatch(/^sha256:[0-9a-f]{64}$/);
    return key.slice('sha256:'.length);
  };
  let consoleToken: string;
  let victimId: string;

  const post = async (body: Record<string, unknown>, token: string | null) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) };
  };

  beforeAll(async () => {
    const created = await server.graphql(
      `mutation ($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`,
      {
        input: {
          email: 'ops@example.com',
          emailVerified: true,
          password: PASSWORD,
          roleIds: [await adminRoleId(server, server.admin.realmId)],
        },
      },
    );
    expect(created.data?.createUser.userErrors).toEqual([]);
    const victim = await server.graphql(
      `mutation { createUser(input: { email: "victim@example.com" }) { user { id } userErrors { code } } }`,
    );
    victimId = victim.data?.createUser.user.id;
    // A real sign-in through the console's application, as the console makes it.
    await fetch(`${server.url}/console/realms/default`);
    const config = await relyingParty(server.issuer(), consoleClientId(server.admin.realmId));
    const callback = `${server.url}/console/callback`;
    const started = await startSignIn(server.url, config, callback, {
      scope: 'openid users:read users:write',
      resource: MANAGEMENT_API_INDICATOR,
    });
    const landed = await submitSignIn(started, 'ops@example.com', PASSWORD);
    if (!('page' in landed)) throw new Error(`left Roster for ${landed.left.href}`);
    expect(landed.url.startsWith(`${callback}?`)).toBe(true);
    consoleToken = (await exchangeCode(config, started, new URL(landed.url))).access_token;
  });

  it('run for the console’s token when named by hash (persistedQuery or documentId)', async () => {
    const viewer = await post(
      { extensions: { persistedQuery: { version: 1, sha256Hash: hashOf('query ConsoleViewer') } } },
      consoleToken,
    );
    expect(viewer.status).toBe(200);
    expect(viewer.data.viewer.scopes.sort()).toEqual(['users:read', 'users:write']);
    const byId = await post(
      { documentId: `sha256:${hashOf('query ConsoleViewer')}`, operationName: 'ConsoleViewer' },
      consoleToken,
    );
    expect(byId.data.viewer.user.__typename).toBe('User');
  });

  it('are the only documents the console’s token runs: any other is refused and nothing runs', async () => {
    const suspend = `mutation ($id: ID!) { suspendUser(input: { id: $id }) { userErrors { code } } }`;
    const refused = await post({ query: suspend, variables: { id: victimId } }, consoleToken);
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
    const victim = await server.db.prisma.user.findFirstOrThrow({ where: { email: 'victim@example.com' } });
    expect(victim.status).toBe('ACTIVE');
    // The same change through the console's own document goes through.
    const allowed = await post(
      {
        extensions: { persistedQuery: { version: 1, sha256Hash: hashOf('mutation ConsoleSuspendUser') } },
        variables: { id: victimId, reason: 'test' },
      },
      consoleToken,
    );
    expect(allowed.data.suspendUser.userErrors).toEqual([]);
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: victim.id } })).status).toBe('SUSPENDED');
  });

  it('refuse an unknown hash, and a hash sent with a document, for any caller', async () => {
    const adminToken = await server.token();
    for (const token of [consoleToken, adminToken]) {
      const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }, token);
      expect(unknown.status).toBe(400);
      expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      const both = await post(
        {
          query: '{ viewer { scopes } }',
          extensions: { persistedQuery: { version: 1, sha256Hash: hashOf('query ConsoleViewer') } },
        },
        token,
      );
      expect(both.status).toBe(400);
      expect(both.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_CONFLICT');
    }
    // Other applications send documents as before.
    const plain = await post({ query: '{ viewer { clientId } }' }, adminToken);
    expect(plain.data.viewer.clientId).toBe(server.admin.clientId);
  });
});
