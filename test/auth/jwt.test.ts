import { randomUUID } from 'node:crypto';
import type { ResultOf } from '@graphql-typed-document-node/core';
import {
  base64url,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR, MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { documentText, graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let other: Credentials;
let adminApplicationId: string;

const VIEWER = graphql(`
  query AuthJwtViewer {
    viewer {
      clientId
      scopes
    }
  }
`);
const USERS_TOTAL = graphql(`
  query AuthJwtUsersTotal {
    users(first: 1) {
      totalCount
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  other = await server.createRealm('other');
  // Creates the signing keys of both realms.
  await server.token();
  await server.token(other);
  adminApplicationId = (
    await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: server.admin.clientId } })
  ).id;
}, 120_000);

afterAll(async () => {
  await server?.close();
});

function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: server.issuer(),
    sub: server.admin.clientId,
    aud: MANAGEMENT_API_INDICATOR,
    iat: now,
    nbf: now,
    exp: now + 600,
    jti: randomUUID(),
    scope: MANAGEMENT_SCOPE_NAMES.join(' '),
    client_id: server.admin.clientId,
    realm_id: server.admin.realmId,
    app_id: adminApplicationId,
    ...overrides,
  };
}

/** Signs with the real signing key of `realmId` (default: realm `default`). */
async function sign(
  overrides: { claims?: JWTPayload; header?: Partial<JWTHeaderParameters>; realmId?: string } = {},
): Promise<string> {
  const { kid, privateKey } = await server.keys.signingKey(overrides.realmId ?? server.admin.realmId);
  return new SignJWT(claims(overrides.claims))
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid, ...overrides.header })
    .sign(privateKey);
}

async function publicJwk(realm = 'default'): Promise<JWK> {
  const response = await fetch(`${server.url}/oauth2/${realm}/jwks.json`);
  const { keys } = (await response.json()) as { keys: JWK[] };
  return keys[0]!;
}

const encodePart = (value: object) => base64url.encode(JSON.stringify(value));

async function viewer(token: string | null, authorization?: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(authorization !== undefined ? { authorization } : token !== null ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: documentText(VIEWER) }),
  });
  const body = (await response.json()) as Pick<GraphQLResult<ResultOf<typeof VIEWER>>, 'data' | 'errors'>;
  return { status: response.status, headers: response.headers, body };
}

async function expectInvalidToken(token: string, authorization?: string) {
  const result = await viewer(token, authorization);
  expect(result.status).toBe(401);
  expect(result.body.data ?? null).toBeNull();
  expect(result.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(result.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  return result;
}

describe('access tokens accepted', () => {
  it('serves viewer to a token from the token endpoint', async () => {
    const result = await viewer(await server.token());
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.viewer.clientId).toBe(server.admin.clientId);
    expect(result.body.data?.viewer.scopes).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
  });

  it('accepts a correctly formed token signed here (control for the refusals below)', async () => {
    const result = await viewer(await sign());
    expect(result.status).toBe(200);
    expect(result.body.data?.viewer.clientId).toBe(server.admin.clientId);
  });
});

describe('access tokens refused', () => {
  it('refuses alg: none', async () => {
    const { kid } = await server.keys.signingKey(server.admin.realmId);
    const token = `${encodePart({ alg: 'none', typ: 'at+jwt', kid })}.${encodePart(claims())}.`;
    await expectInvalidToken(token);
    const noneUpper = `${encodePart({ alg: 'NONE', typ: 'at+jwt', kid })}.${encodePart(claims())}.`;
    await expectInvalidToken(noneUpper);
  });

  it('refuses HS256 signed with the public key', async () => {
    const jwk = await publicJwk();
    const spki = await exportSPKI((await importJWK(jwk, 'EdDSA', { extractable: true })) as CryptoKey);
    const secrets = [
      new TextEncoder().encode(spki),
      base64url.decode(jwk.x!),
      new TextEncoder().encode(JSON.stringify(jwk)),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid! })
        .sign(secret);
      await expectInvalidToken(token);
    }
  });

  it('refuses an unknown or missing kid', async () => {
    await expectInvalidToken(await sign({ header: { kid: 'no-such-kid' } }));
    const { privateKey } = await server.keys.signingKey(server.admin.realmId);
    await expectInvalidToken(
      await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).sign(privateKey),
    );
  });

  it('refuses a token signed by a foreign key that reuses a known kid', async () => {
    const { kid } = await server.keys.signingKey(server.admin.realmId);
    const { privateKey } = await generateKeyPair('EdDSA');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).sign(privateKey);
    await expectInvalidToken(token);
  });

  it('refuses a tampered payload', async () => {
    const [header, , signature] = (await sign({ claims: { scope: 'users:read' } })).split('.');
    await expectInvalidToken(`${header}.${encodePart(claims())}.${signature}`);
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const result = await expectInvalidToken(
      await sign({ claims: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 } }),
    );
    expect(result.body.errors?.[0]?.message).toMatch(/expired/i);
  });

  it('refuses a token whose nbf is in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalidToken(await sign({ claims: { nbf: now + 3600, exp: now + 7200 } }));
  });

  it('refuses a token without exp', async () => {
    const { kid, privateKey } = await server.keys.signingKey(server.admin.realmId);
    const { exp: _exp, ...rest } = claims();
    const token = await new SignJWT(rest).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).sign(privateKey);
    await expectInvalidToken(token);
  });

  it('refuses a wrong audience', async () => {
    await expectInvalidToken(await sign({ claims: { aud: 'urn:some-other-api' } }));
    await expectInvalidToken(await sign({ claims: { aud: [] } }));
  });

  it('refuses a wrong issuer', async () => {
    await expectInvalidToken(await sign({ claims: { iss: 'https://evil.example/oauth2/default' } }));
    // The realm's id reaches its endpoints too, but its issuer is the one named by the realm's name.
    await expectInvalidToken(await sign({ claims: { iss: `${server.url}/oauth2/${server.admin.realmId}` } }));
  });

  it('refuses a typ other than at+jwt', async () => {
    await expectInvalidToken(await sign({ header: { typ: 'JWT' } }));
    const { kid, privateKey } = await server.keys.signingKey(server.admin.realmId);
    const untyped = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);
    await expectInvalidToken(untyped);
  });

  it('refuses jku, jwk, x5u and x5c headers', async () => {
    const jwk = await publicJwk();
    const { kty, crv, x } = jwk;
    await expectInvalidToken(await sign({ header: { jku: 'http://127.0.0.1:1/jwks.json' } }));
    await expectInvalidToken(await sign({ header: { jwk: { kty, crv, x } } }));
    await expectInvalidToken(await sign({ header: { x5u: 'http://127.0.0.1:1/cert.pem' } }));
    await expectInvalidToken(await sign({ header: { x5c: ['MIIB'] } }));
  });

  it("refuses a token claiming realm B's issuer but signed with realm A's key", async () => {
    const claimsOfB = {
      iss: server.issuer(other),
      realm_id: other.realmId,
      client_id: other.clientId,
      sub: other.clientId,
      app_id: (await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: other.clientId } })).id,
    };
    await expectInvalidToken(await sign({ claims: claimsOfB }));
    // Realm A's issuer but realm B's realm_id, still A's key.
    await expectInvalidToken(await sign({ claims: { realm_id: other.realmId } }));
    // B's claims with B's key work (control).
    const control = await viewer(await sign({ claims: claimsOfB, realmId: other.realmId }));
    expect(control.status).toBe(200);
    expect(control.body.data?.viewer.clientId).toBe(other.clientId);
  });

  it('refuses a token naming an application of another realm', async () => {
    const appOfB = (await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: other.clientId } })).id;
    await expectInvalidToken(await sign({ claims: { app_id: appOfB } }));
  });

  it('refuses malformed Authorization headers', async () => {
    const token = await server.token();
    for (const header of [
      'Bearer',
      'Bearer ',
      `Basic ${token}`,
      `Bearer ${token} extra`,
      'Bearer not-a-jwt',
      'Bearer a.b.c',
      token,
    ]) {
      await expectInvalidToken(token, header);
    }
  });
});

describe('tokens follow the application', () => {
  it("refuses a deleted application's token on the next request", async () => {
    const second = await server.createRealm('default');
    const token = await server.token(second);
    expect((await viewer(token)).body.data?.viewer.clientId).toBe(second.clientId);

    await server.db.prisma.application.delete({ where: { clientId: second.clientId } });
    await expectInvalidToken(token);
  });

  it("refuses a disabled application's token on the next request", async () => {
    const second = await server.createRealm('default');
    const token = await server.token(second);
    expect((await viewer(token)).status).toBe(200);

    await server.db.prisma.application.update({
      where: { clientId: second.clientId },
      data: { disabledAt: new Date() },
    });
    await expectInvalidToken(token);
  });

  it('drops the scopes of a removed role on the next request', async () => {
    const second = await server.createRealm('default');
    const token = await server.token(second);
    const before = await viewer(token);
    expect(before.body.data?.viewer.scopes).toEqual([...MANAGEMENT_SCOPE_NAMES].sort());
    const users = await server.graphql(USERS_TOTAL, {}, token);
    expect(users.errors).toBeUndefined();

    const application = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: second.clientId } });
    const removed = await server.db.prisma.applicationRole.deleteMany({ where: { applicationId: application.id } });
    expect(removed.count).toBeGreaterThan(0);

    const after = await viewer(token);
    expect(after.status).toBe(200);
    expect(after.body.data?.viewer.scopes).toEqual([]);
    const denied = await server.graphql(USERS_TOTAL, {}, token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.errors?.[0]?.extensions?.missingScopes).toEqual(['users:read']);
  });
});
