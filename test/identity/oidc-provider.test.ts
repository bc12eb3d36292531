import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MANAGEMENT_API_INDICATOR, MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { createApplication, createM2M, makeResource, makeRole } from '../helpers/fixtures.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

const VIEWER_SCOPES = graphql(`
  query IdentityOidcViewer {
    viewer {
      scopes
    }
  }
`);
const SET_TOKEN_TTL = graphql(`
  mutation IdentityOidcSetTokenTtl($seconds: Int!) {
    updateRealmSettings(input: { patch: { accessTokenTtlSeconds: $seconds } }) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const ORDERS = 'https://orders.example.com/api';
const BILLING = 'https://billing.example.com/';
const ELSEWHERE = 'https://elsewhere.example.com/';

let server: TestServer;
let other: Credentials;
let orders: Credentials & { id: string };
let web: Credentials & { id: string };

const issuerOf = (realm: Pick<Credentials, 'realmName'>) => server.issuer(realm);

// oidc-provider prints each of its notices (in-memory adapter, development interactions, a
// default lifetime or policy in use…) once per process: watched from before the first provider.
let consoleSpies: MockInstance[];

beforeAll(async () => {
  consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'info')];
  server = await startTestServer();
  other = await server.createRealm('other');
  const realmId = server.admin.realmId;
  await makeResource(server, realmId, ORDERS, ['orders:read', 'orders:write', 'orders:admin']);
  await makeResource(server, realmId, BILLING, ['billing:read']);
  await makeResource(server, other.realmId, ELSEWHERE, ['elsewhere:read']);
  const role = await makeRole(server, realmId, 'Orders service', ['orders:read', 'orders:write', 'users:read']);
  orders = await createM2M(server, server.admin, 'Orders service', [role.globalId]);
  const created = await createApplication(server, {
    name: 'Web app',
    type: 'WEB',
    redirectUris: ['https://app.example.com/callback'],
  });
  web = { ...server.admin, clientId: created.clientId, clientSecret: created.clientSecret!, id: '' };
}, 120_000);

afterAll(async () => {
  for (const spy of consoleSpies) spy.mockRestore();
  await server?.close();
});

/** openid-client configured by discovery at the issuer of `realm` (default: the client's realm). */
function relyingParty(credentials: Credentials, options: { realm?: Credentials; post?: boolean } = {}) {
  const auth = options.post
    ? oidc.ClientSecretPost(credentials.clientSecret)
    : oidc.ClientSecretBasic(credentials.clientSecret);
  return oidc.discovery(new URL(issuerOf(options.realm ?? credentials)), credentials.clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** The OAuth error a refused openid-client call got: HTTP status and `error`. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return { status: error.status, error: error.error };
    if (error instanceof oidc.WWWAuthenticateChallengeError) {
      const body = (await error.response.json()) as { error: string };
      return { status: error.status, error: body.error };
    }
    throw error;
  }
  throw new Error('the call succeeded');
}

async function jwks(realm: string): Promise<JSONWebKeySet> {
  return (await (await fetch(`${server.url}/oauth2/${realm}/jwks.json`)).json()) as JSONWebKeySet;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('discovery', () => {
  it('serves OpenID Provider metadata under the issuer, by realm id and name, and the RFC 8414 document equals it', async () => {
    const issuer = issuerOf(server.admin);
    const documents = [];
    for (const path of [
      `/oauth2/${server.admin.realmId}/.well-known/openid-configuration`,
      '/oauth2/default/.well-known/openid-configuration',
      '/oauth2/default/.well-known/oauth-authorization-server',
      `/.well-known/oauth-authorization-server/oauth2/${server.admin.realmId}`,
    ]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      documents.push((await response.json()) as Record<string, unknown>);
    }
    for (const document of documents.slice(1)) expect(document).toEqual(documents[0]);
    const metadata = documents[0]!;
    expect(metadata).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks.json`,
      introspection_endpoint: `${issuer}/token/introspection`,
      revocation_endpoint: `${issuer}/token/revocation`,
      grant_types_supported: [
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      id_token_signing_alg_values_supported: ['EdDSA'],
      code_challenge_methods_supported: ['S256'],
      authorization_endpoint: `${issuer}/auth`,
      userinfo_endpoint: `${issuer}/me`,
      end_session_endpoint: `${issuer}/session/end`,
      scopes_supported: ['openid', 'profile', 'email', 'offline_access', ...[...MANAGEMENT_SCOPE_NAMES].sort()],
    });
    expect(metadata).not.toHaveProperty('registration_endpoint');
  });

  it('answers HEAD with the headers only', async () => {
    const response = await fetch(`${server.url}/oauth2/default/.well-known/openid-configuration`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('is what openid-client discovers, with the issuer it was given', async () => {
    const config = await relyingParty(orders);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuerOf(server.admin));
    expect(metadata.token_endpoint).toBe(`${issuerOf(server.admin)}/token`);
  });

  it('serves no other path under the realm', async () => {
    for (const path of ['reg', 'token/other', 'device/auth', 'request', 'interaction', 'session/end/other']) {
      expect((await fetch(`${server.url}/oauth2/default/${path}`)).status).toBe(404);
    }
  });
});

describe('client_credentials through openid-client', () => {
  it('without a resource: a management API token of the same shape as ever', async () => {
    for (const post of [false, true]) {
      const tokens = await oidc.clientCredentialsGrant(await relyingParty(server.admin, { post }));
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.expires_in).toBe(3600);
      const header = decodeProtectedHeader(tokens.access_token);
      expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
      const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(await jwks('default')), {
        issuer: issuerOf(server.admin),
        audience: MANAGEMENT_API_INDICATOR,
        typ: 'at+jwt',
      });
      expect(payload).toMatchObject({
        client_id: server.admin.clientId,
        sub: server.admin.clientId,
        realm_id: server.admin.realmId,
        jti: expect.any(String),
      });
      expect(String(payload.scope).split(' ').sort()).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
      expect(payload.exp! - payload.iat!).toBe(3600);
      const viewer = await server.graphql(VIEWER_SCOPES, {}, tokens.access_token);
      expect(viewer.data?.viewer.scopes).toHaveLength(MANAGEMENT_SCOPE_NAMES.length);
    }
  });

  it('with resource=<indicator of an API of the realm>: a token for it, with the scopes the roles grant on it', async () => {
    const config = await relyingParty(orders);
    const tokens = await oidc.clientCredentialsGrant(config, { resource: ORDERS });
    expect(tokens.scope).toBe('orders:read orders:write');
    const { payload, protectedHeader } = await jwtVerify(
      tokens.access_token,
      createLocalJWKSet(await jwks('default')),
      { issuer: issuerOf(server.admin), audience: ORDERS, typ: 'at+jwt' },
    );
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({
      client_id: orders.clientId,
      sub: orders.clientId,
      scope: 'orders:read orders:write',
    });
    // Roster's own claims are for the management API only.
    expect(payload).not.toHaveProperty('realm_id');
    expect(payload).not.toHaveProperty('app_id');
    // Not a management API token.
    expect((await server.graphql(VIEWER_SCOPES, {}, tokens.access_token)).status).toBe(401);

    const subset = await oidc.clientCredentialsGrant(config, { resource: ORDERS, scope: 'orders:write' });
    expect(subset.scope).toBe('orders:write');
    expect(claimsOf(subset.access_token).scope).toBe('orders:write');

    const management = await oidc.clientCredentialsGrant(config);
    expect(management.scope).toBe('users:read');
    expect(claimsOf(management.access_token).aud).toBe(MANAGEMENT_API_INDICATOR);
  });

  it('refuses a scope not granted on the resource asked for with invalid_scope', async () => {
    const config = await relyingParty(orders);
    const cases: Record<string, string>[] = [
      { resource: ORDERS, scope: 'orders:admin' },
      { resource: ORDERS, scope: 'orders:read users:read' },
      { scope: 'orders:read' },
      // The application's roles grant nothing on this resource.
      { resource: BILLING },
    ];
    for (const parameters of cases) {
      expect(await refusal(oidc.clientCredentialsGrant(config, parameters))).toEqual({
        status: 400,
        error: 'invalid_scope',
      });
    }
  });

  it('refuses an unknown resource, another realm’s and two at once with invalid_target', async () => {
    const config = await relyingParty(orders);
    for (const resource of ['https://unknown.example.com/', ELSEWHERE, 'not a uri']) {
      expect(await refusal(oidc.clientCredentialsGrant(config, { resource }))).toEqual({
        status: 400,
        error: 'invalid_target',
      });
    }
    const both = new URLSearchParams([
      ['resource', ORDERS],
      ['resource', MANAGEMENT_API_INDICATOR],
    ]);
    expect(await refusal(oidc.clientCredentialsGrant(config, both))).toEqual({ status: 400, error: 'invalid_target' });
  });

  it('refuses client_credentials to a confidential web application with unauthorized_client', async () => {
    expect(await refusal(oidc.clientCredentialsGrant(await relyingParty(web)))).toEqual({
      status: 400,
      error: 'unauthorized_client',
    });
  });
});

describe('client authentication', () => {
  it('refuses a wrong secret and an unknown client alike, at equal cost, on every endpoint', async () => {
    const config = await relyingParty({ ...orders, clientSecret: 'wrong-secret' });
    expect(await refusal(oidc.clientCredentialsGrant(config))).toEqual({ status: 401, error: 'invalid_client' });
    expect(await refusal(oidc.tokenIntrospection(config, 'x'))).toEqual({ status: 401, error: 'invalid_client' });
    expect(await refusal(oidc.tokenRevocation(config, 'x'))).toEqual({ status: 401, error: 'invalid_client' });

    for (const endpoint of ['token', 'token/introspection', 'token/revocation']) {
      const post = (clientId: string) =>
        fetch(`${server.url}/oauth2/default/${endpoint}`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${clientId}:wrong`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', token: 'x' }),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as unknown }));
      const unknown = await server.db.statements.during(() => post('no-such-client-0123456789'));
      const wrong = await server.db.statements.during(() => post(orders.clientId));
      expect(unknown.result).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
      expect(wrong.result).toEqual(unknown.result);
      expect(wrong.sql).toEqual(unknown.sql);
    }
  });

  it('refuses a token request from a web page (an Origin header): client secrets are not for browsers', async () => {
    const response = await fetch(`${server.url}/oauth2/default/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${orders.clientId}:${orders.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://app.example.com',
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives a disabled application no token and no introspection, and works again once enabled', async () => {
    const config = await relyingParty(orders);
    await server.db.prisma.application.update({
      where: { clientId: orders.clientId },
      data: { disabledAt: new Date() },
    });
    try {
      expect(await refusal(oidc.clientCredentialsGrant(config))).toEqual({ status: 401, error: 'invalid_client' });
      expect(await refusal(oidc.tokenIntrospection(config, 'x'))).toEqual({ status: 401, error: 'invalid_client' });
    } finally {
      await server.db.prisma.application.update({ where: { clientId: orders.clientId }, data: { disabledAt: null } });
    }
    await expect(oidc.clientCredentialsGrant(config)).resolves.toHaveProperty('access_token');
  });

  it("refuses realm A's client at realm B's issuer, and B's client at A's", async () => {
    const aAtB = await relyingParty(orders, { realm: other });
    expect(await refusal(oidc.clientCredentialsGrant(aAtB))).toEqual({ status: 401, error: 'invalid_client' });
    const bAtA = await relyingParty(other, { realm: server.admin });
    expect(await refusal(oidc.clientCredentialsGrant(bAtA))).toEqual({ status: 401, error: 'invalid_client' });
    const bAtB = await oidc.clientCredentialsGrant(await relyingParty(other));
    expect(claimsOf(bAtB.access_token).iss).toBe(issuerOf(other));
  });
});

/** An opaque access token of a grant, as the provider mints for signed-in users (phase 2). */
async function opaqueToken(realmId: string, clientId: string, grantId?: string) {
  const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realmId } });
  const provider = await server.providers.get(realm, issuerOf({ realmName: realm.name }));
  const client = await provider.Client.find(clientId);
  let grant = grantId;
  if (!grant) {
    const created = new provider.Grant({ accountId: 'user-1', clientId });
    created.addOIDCScope('openid');
    grant = await created.save();
  }
  const token = new provider.AccessToken({
    accountId: 'user-1',
    client: client!,
    grantId: grant,
    gty: 'authorization_code',
    scope: 'openid',
  });
  return { value: await token.save(), grantId: grant };
}

describe('introspection (RFC 7662) and revocation (RFC 7009)', () => {
  it('introspects a token for the realm’s M2M clients (resource servers), and revokes it for its own client only', async () => {
    const token = await opaqueToken(server.admin.realmId, orders.clientId);
    const own = await relyingParty(orders);
    const resourceServer = await relyingParty(server.admin);
    // A WEB application introspects only its own tokens, not other applications' users' tokens.
    expect(await oidc.tokenIntrospection(await relyingParty(web), token.value)).toEqual({ active: false });
    for (const config of [own, resourceServer]) {
      const introspection = await oidc.tokenIntrospection(config, token.value);
      expect(introspection).toMatchObject({
        active: true,
        client_id: orders.clientId,
        sub: 'user-1',
        scope: 'openid',
        iss: issuerOf(server.admin),
        token_type: 'Bearer',
      });
    }
    // Another realm's provider does not know the token.
    expect(await oidc.tokenIntrospection(await relyingParty(other), token.value)).toEqual({ active: false });

    // RFC 7009 §2.2: answered like an invalid token, and nothing is revoked.
    await oidc.tokenRevocation(resourceServer, token.value);
    expect((await oidc.tokenIntrospection(own, token.value)).active).toBe(true);
    await oidc.tokenRevocation(own, token.value);
    expect(await oidc.tokenIntrospection(own, token.value)).toEqual({ active: false });
  });

  it('revoking one token of a grant revokes every token of that grant', async () => {
    const first = await opaqueToken(server.admin.realmId, orders.clientId);
    const second = await opaqueToken(server.admin.realmId, orders.clientId, first.grantId);
    const config = await relyingParty(orders);
    expect((await oidc.tokenIntrospection(config, second.value)).active).toBe(true);
    await oidc.tokenRevocation(config, first.value);
    expect(await oidc.tokenIntrospection(config, second.value)).toEqual({ active: false });
    expect(
      await server.db.prisma.oidcPayload.count({ where: { realmId: server.admin.realmId, grantId: first.grantId } }),
    ).toBe(0);
  });

  it('answers unsupported_token_type for JWT access tokens, which carry their own validity', async () => {
    const config = await relyingParty(orders);
    const { access_token } = await oidc.clientCredentialsGrant(config);
    expect(await refusal(oidc.tokenIntrospection(config, access_token))).toEqual({
      status: 400,
      error: 'unsupported_token_type',
    });
    expect(await refusal(oidc.tokenRevocation(config, access_token))).toEqual({
      status: 400,
      error: 'unsupported_token_type',
    });
  });
});

describe('the provider cache', () => {
  it('applies a realm settings change to the next token', async () => {
    const config = await relyingParty(other);
    expect((await oidc.clientCredentialsGrant(config)).expires_in).toBe(3600);
    const token = await server.token(other);
    const changed = await server.graphql(SET_TOKEN_TTL, { seconds: 600 }, token);
    expect(changed.data?.updateRealmSettings.userErrors).toEqual([]);
    const after = await oidc.clientCredentialsGrant(config);
    expect(after.expires_in).toBe(600);
    const claims = claimsOf(after.access_token) as { exp: number; iat: number };
    expect(claims.exp - claims.iat).toBe(600);
  });

  it('keeps the provider of the newest realm row when a request that read an older one comes late', async () => {
    const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: other.realmId } });
    const issuer = issuerOf(other);
    const current = await server.providers.get(realm, issuer);
    expect(await server.providers.get(realm, issuer)).toBe(current);
    const older = { ...realm, updatedAt: new Date(realm.updatedAt.getTime() - 1000) };
    expect(await server.providers.get(older, issuer)).toBe(current);
    const newer = { ...realm, updatedAt: new Date(realm.updatedAt.getTime() + 1000) };
    expect(await server.providers.get(newer, issuer)).not.toBe(current);
  });

  it('keeps at most its bound of providers, and a dropped realm gets a new one', async () => {
    const small = await startTestServer({ maxProviders: 2, database: { db: server.db, dispose: async () => {} } });
    try {
      const realms = [small.admin, other, await small.createRealm('third')];
      for (const realm of [...realms, ...realms]) {
        await small.token(realm);
        expect(small.providers.size).toBeLessThanOrEqual(2);
      }
    } finally {
      await small.close();
    }
  });

  it('printed no oidc-provider notice in this file (adapter, interactions, lifetimes, policies)', () => {
    const printed = consoleSpies.flatMap((spy) => spy.mock.calls.flat().map(String));
    expect(printed.filter((line) => line.includes('oidc-provider'))).toEqual([]);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)(
  'a statement past its deadline inside the provider (PostgreSQL)',
  () => {
    it('answers 503 temporarily_unavailable, as the token endpoint always has', async () => {
      const slow = await startTestServer({ statementTimeoutMs: 300 });
      try {
        await slow.token();
        // A changed grant: the next token reads what the application's roles grant again, inside
        // the provider. Holding up that lookup lets everything before it run.
        await slow.db.prisma.role.updateMany({
          where: { realmId: slow.admin.realmId },
          data: { description: 'changed' },
        });
        const client = await (slow.db as Extract<typeof slow.db, { kind: 'postgres' }>).pool.connect();
        await client.query('BEGIN');
        await client.query('LOCK TABLE "Resource" IN ACCESS EXCLUSIVE MODE');
        try {
          const response = await fetch(`${slow.url}/oauth2/default/token`, {
            method: 'POST',
            headers: {
              authorization: `Basic ${Buffer.from(`${slow.admin.clientId}:${slow.admin.clientSecret}`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: 'grant_type=client_credentials',
          });
          expect(response.status).toBe(503);
          expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' });
        } finally {
          await client.query('ROLLBACK');
          client.release();
        }
        await expect(slow.token()).resolves.toBeTypeOf('string');
      } finally {
        await slow.close();
      }
    });
  },
);
