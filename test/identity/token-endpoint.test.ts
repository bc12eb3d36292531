import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR, MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

const VIEWER_SCOPES = graphql(`
  query IdentityTokenEndpointViewer {
    viewer {
      scopes
    }
  }
`);

let server: TestServer;
let other: Credentials;

beforeAll(async () => {
  server = await startTestServer();
  other = await server.createRealm('other');
}, 120_000);

afterAll(async () => {
  await server?.close();
});

function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function tokenRequest(
  realm: string,
  options: {
    body?: string | URLSearchParams;
    authorization?: string;
    contentType?: string | null;
    method?: string;
  } = {},
): Promise<TokenResponse> {
  const headers: Record<string, string> = {};
  const contentType = options.contentType === undefined ? 'application/x-www-form-urlencoded' : options.contentType;
  if (contentType) headers['content-type'] = contentType;
  if (options.authorization) headers.authorization = options.authorization;
  const method = options.method ?? 'POST';
  const response = await fetch(`${server.url}/oauth2/${encodeURIComponent(realm)}/token`, {
    method,
    headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: options.body ?? '' }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const grant = (extra: Record<string, string> = {}) =>
  new URLSearchParams({ grant_type: 'client_credentials', ...extra });

function expectOAuthError(response: TokenResponse, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.body.error).toBe(error);
  expect(typeof response.body.error_description).toBe('string');
  expect(response.body).not.toHaveProperty('access_token');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
}

describe('token endpoint: success', () => {
  it('issues a token to HTTP Basic client authentication', async () => {
    const response = await tokenRequest('default', {
      authorization: basic(server.admin.clientId, server.admin.clientSecret),
      body: grant(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(response.body.token_type).toBe('Bearer');
    expect(response.body.expires_in).toBe(3600);
    expect(typeof response.body.access_token).toBe('string');
    expect(response.body).not.toHaveProperty('refresh_token');
  });

  it('issues a token to client_secret_post (credentials in the form body)', async () => {
    const response = await tokenRequest('default', {
      body: grant({ client_id: server.admin.clientId, client_secret: server.admin.clientSecret }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(response.body.token_type).toBe('Bearer');
  });

  it('grants all 16 management scopes when no scope is requested', async () => {
    const response = await tokenRequest('default', {
      authorization: basic(server.admin.clientId, server.admin.clientSecret),
      body: grant(),
    });
    const granted = String(response.body.scope).split(' ').sort();
    expect(granted).toHaveLength(16);
    expect(granted).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
  });

  it('grants exactly the requested subset', async () => {
    const response = await tokenRequest('default', {
      authorization: basic(server.admin.clientId, server.admin.clientSecret),
      body: grant({ scope: 'users:read realm:read' }),
    });
    expect(response.status).toBe(200);
    expect(String(response.body.scope).split(' ').sort()).toEqual(['realm:read', 'users:read']);
    const viewer = await server.graphql(VIEWER_SCOPES, {}, String(response.body.access_token));
    expect(viewer.data?.viewer.scopes).toEqual(['realm:read', 'users:read']);
  });

  it('accepts the realm by id and by name', async () => {
    const auth = basic(server.admin.clientId, server.admin.clientSecret);
    const byName = await tokenRequest('default', { authorization: auth, body: grant() });
    const byId = await tokenRequest(server.admin.realmId, { authorization: auth, body: grant() });
    expect(byName.status).toBe(200);
    expect(byId.status).toBe(200);
    const issuer = server.issuer();
    for (const response of [byName, byId]) {
      const verified = await jwtVerify(String(response.body.access_token), createLocalJWKSet(await jwks('default')), {
        issuer,
        audience: MANAGEMENT_API_INDICATOR,
      });
      expect(verified.payload.client_id).toBe(server.admin.clientId);
    }
  });
});

describe('token endpoint: client authentication failures', () => {
  it('refuses an unknown client with 401 invalid_client', async () => {
    const response = await tokenRequest('default', {
      authorization: basic('no-such-client', 'whatever'),
      body: grant(),
    });
    expectOAuthError(response, 401, 'invalid_client');
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);

    const posted = await tokenRequest('default', { body: grant({ client_id: 'no-such-client', client_secret: 'x' }) });
    expectOAuthError(posted, 401, 'invalid_client');
  });

  it('refuses a wrong secret with 401 invalid_client and a Basic challenge when Basic was used', async () => {
    const response = await tokenRequest('default', {
      authorization: basic(server.admin.clientId, `${server.admin.clientSecret}x`),
      body: grant(),
    });
    expectOAuthError(response, 401, 'invalid_client');
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const posted = await tokenRequest('default', {
      body: grant({ client_id: server.admin.clientId, client_secret: 'wrong-secret' }),
    });
    expectOAuthError(posted, 401, 'invalid_client');
  });

  it('gives an unknown client and a wrong secret the same answer', async () => {
    const unknown = await tokenRequest('default', { authorization: basic('no-such-client', 'x'), body: grant() });
    const wrong = await tokenRequest('default', { authorization: basic(server.admin.clientId, 'x'), body: grant() });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('refuses Basic plus a client_secret in the body with 400 invalid_request', async () => {
    const response = await tokenRequest('default', {
      authorization: basic(server.admin.clientId, server.admin.clientSecret),
      body: grant({ client_id: server.admin.clientId, client_secret: server.admin.clientSecret }),
    });
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('refuses a request without client authentication with 401 invalid_client', async () => {
    expectOAuthError(await tokenRequest('default', { body: grant() }), 401, 'invalid_client');
    expectOAuthError(
      await tokenRequest('default', { body: grant({ client_id: server.admin.clientId }) }),
      401,
      'invalid_client',
    );
  });

  it('refuses a malformed Authorization header with 401 invalid_client', async () => {
    const notBasic = await tokenRequest('default', { authorization: 'Bearer abc', body: grant() });
    expectOAuthError(notBasic, 401, 'invalid_client');
    const noColon = await tokenRequest('default', {
      authorization: `Basic ${Buffer.from(server.admin.clientId).toString('base64')}`,
      body: grant(),
    });
    expectOAuthError(noColon, 401, 'invalid_client');
  });

  it("refuses realm A's client at realm B's token endpoint with 401 invalid_client", async () => {
    const aAtB = await tokenRequest('other', {
      authorization: basic(server.admin.clientId, server.admin.clientSecret),
      body: grant(),
    });
    expectOAuthError(aAtB, 401, 'invalid_client');
    const bAtA = await tokenRequest('default', {
      authorization: basic(other.clientId, other.clientSecret),
      body: grant(),
    });
    expectOAuthError(bAtA, 401, 'invalid_client');
    const bAtB = await tokenRequest('other', {
      authorization: basic(other.clientId, other.clientSecret),
      body: grant(),
    });
    expect(bAtB.status).toBe(200);
  });
});

describe('token endpoint: request errors', () => {
  const auth = () => basic(server.admin.clientId, server.admin.clientSecret);

  it('refuses an unknown grant_type with 400 unsupported_grant_type', async () => {
    const response = await tokenRequest('default', {
      authorization: auth(),
      body: new URLSearchParams({ grant_type: 'password', username: 'a', password: 'b' }),
    });
    expectOAuthError(response, 400, 'unsupported_grant_type');
    // A grant of sign-ins, which a machine-to-machine client may not use.
    expectOAuthError(
      await tokenRequest('default', {
        authorization: auth(),
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }),
      }),
      400,
      'unauthorized_client',
    );
  });

  it('refuses a missing grant_type with 400 invalid_request', async () => {
    const response = await tokenRequest('default', {
      authorization: auth(),
      body: new URLSearchParams({ scope: 'users:read' }),
    });
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('refuses a scope the application is not granted with 400 invalid_scope', async () => {
    const response = await tokenRequest('default', {
      authorization: auth(),
      body: grant({ scope: 'users:read bogus:scope' }),
    });
    expectOAuthError(response, 400, 'invalid_scope');
  });

  it('refuses a JSON body with 400 invalid_request', async () => {
    const response = await tokenRequest('default', {
      authorization: auth(),
      contentType: 'application/json',
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('refuses GET with 405', async () => {
    const response = await tokenRequest('default', { authorization: auth(), method: 'GET', contentType: null });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.body).not.toHaveProperty('access_token');
  });

  it('refuses a repeated parameter with 400 invalid_request', async () => {
    const body = 'grant_type=client_credentials&scope=users%3Aread&scope=realm%3Aread';
    expectOAuthError(await tokenRequest('default', { authorization: auth(), body }), 400, 'invalid_request');
    const repeatedGrant = 'grant_type=client_credentials&grant_type=client_credentials';
    expectOAuthError(
      await tokenRequest('default', { authorization: auth(), body: repeatedGrant }),
      400,
      'invalid_request',
    );
  });

  it('accepts resource=urn:roster:management-api, also repeated, and issues the same audience', async () => {
    const once = await tokenRequest('default', {
      authorization: auth(),
      body: grant({ resource: MANAGEMENT_API_INDICATOR }),
    });
    expect(once.status).toBe(200);
    const twice = `${grant()}&resource=${encodeURIComponent(MANAGEMENT_API_INDICATOR)}&resource=${encodeURIComponent(MANAGEMENT_API_INDICATOR)}`;
    const repeated = await tokenRequest('default', { authorization: auth(), body: twice });
    expect(repeated.status).toBe(200);
    const token = String(repeated.body.access_token);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { aud: unknown };
    expect(claims.aud).toBe(MANAGEMENT_API_INDICATOR);
  });

  it('refuses any other resource with 400 invalid_target (RFC 8707), also among management ones', async () => {
    const others = [
      'https://orders.example.com/',
      'urn:ROSTER:management-api',
      `${MANAGEMENT_API_INDICATOR}/`,
      ` ${MANAGEMENT_API_INDICATOR}`,
      '',
    ];
    for (const resource of others) {
      expectOAuthError(
        await tokenRequest('default', { authorization: auth(), body: grant({ resource }) }),
        400,
        'invalid_target',
      );
    }
    const mixed = `${grant()}&resource=${encodeURIComponent(MANAGEMENT_API_INDICATOR)}&resource=${encodeURIComponent('https://orders.example.com/')}`;
    expectOAuthError(await tokenRequest('default', { authorization: auth(), body: mixed }), 400, 'invalid_target');
  });

  it('answers 404 for an unknown realm, by name and by id', async () => {
    const byName = await tokenRequest('no-such-realm', { authorization: auth(), body: grant() });
    expect(byName.status).toBe(404);
    expect(byName.body).not.toHaveProperty('access_token');
    const byId = await tokenRequest('00000000-0000-4000-8000-000000000000', { authorization: auth(), body: grant() });
    expect(byId.status).toBe(404);
    const jwksResponse = await fetch(`${server.url}/oauth2/no-such-realm/jwks.json`);
    expect(jwksResponse.status).toBe(404);
  });
});

async function jwks(realm: string): Promise<JSONWebKeySet> {
  const response = await fetch(`${server.url}/oauth2/${realm}/jwks.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as JSONWebKeySet;
}

describe('discovery', () => {
  it('serves the realm JWKS: public EdDSA keys with kid, no private parts', async () => {
    const token = await server.token();
    const set = await jwks('default');
    expect(set.keys.length).toBeGreaterThan(0);
    for (const key of set.keys) {
      expect(typeof key.kid).toBe('string');
      expect(key.alg).toBe('EdDSA');
      expect(key.kty).toBe('OKP');
      expect(key).not.toHaveProperty('d');
      for (const privatePart of ['p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(privatePart);
    }
    expect(set.keys.map((key) => key.kid)).toContain(decodeProtectedHeader(token).kid);
    expect(JSON.stringify(await jwks(server.admin.realmId))).toBe(JSON.stringify(set));
  });

  it("keeps realms' keys apart", async () => {
    await server.token(other);
    const mine = (await jwks('default')).keys.map((key) => key.kid);
    const theirs = (await jwks('other')).keys.map((key) => key.kid);
    expect(theirs.length).toBeGreaterThan(0);
    expect(mine.filter((kid) => theirs.includes(kid))).toEqual([]);
  });

  it('serves RFC 8414 metadata whose issuer matches the tokens', async () => {
    const issuer = server.issuer();
    const paths = [
      `/.well-known/oauth-authorization-server/oauth2/${server.admin.realmId}`,
      `/oauth2/${server.admin.realmId}/.well-known/oauth-authorization-server`,
      '/oauth2/default/.well-known/oauth-authorization-server',
    ];
    for (const path of paths) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(issuer);
      expect(metadata.token_endpoint).toBe(`${issuer}/token`);
      expect(metadata.jwks_uri).toBe(`${issuer}/jwks.json`);
      expect(metadata.grant_types_supported).toEqual([
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ]);
      expect(metadata.scopes_supported).toEqual([
        'openid',
        'profile',
        'email',
        'offline_access',
        ...[...MANAGEMENT_SCOPE_NAMES].sort(),
      ]);
    }

    const token = await server.token();
    const set = createLocalJWKSet(await jwks('default'));
    const { payload, protectedHeader } = await jwtVerify(token, set, { issuer, audience: MANAGEMENT_API_INDICATOR });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload.realm_id).toBe(server.admin.realmId);

    const metadataUrl = await fetch(
      `${server.url}/oauth2/${server.admin.realmId}/.well-known/oauth-authorization-server`,
    );
    const tokenEndpoint = String(((await metadataUrl.json()) as Record<string, unknown>).token_endpoint);
    const viaMetadata = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basic(server.admin.clientId, server.admin.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: grant(),
    });
    expect(viaMetadata.status).toBe(200);
  });
});
