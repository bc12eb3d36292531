import { randomBytes, randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { expect } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { realmIssuer } from '../../src/auth/tokens.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { MfaFactorType, Prisma } from '../../src/generated/prisma/client.ts';
import type { CreateApplicationInput } from '../generated/graphql.ts';
import { graphql } from './documents.ts';
import type { Credentials, TestServer } from './server.ts';

export const userGid = (id: string) => encodeGlobalId('User', id);

/** Creates a realm-wide role holding the named scopes (of any resource of the realm), directly in the database. */
export async function makeRole(
  server: TestServer,
  realmId: string,
  name: string,
  scopeNames: string[],
  options: { tenantId?: string } = {},
): Promise<{ id: string; globalId: string }> {
  const p = server.db.prisma;
  const scopes = await p.resourceScope.findMany({ where: { realmId, name: { in: scopeNames } } });
  expect(scopes.map((s) => s.name).sort()).toEqual([...new Set(scopeNames)].sort());
  const role = await p.role.create({ data: { realmId, name, tenantId: options.tenantId ?? null } });
  await p.roleScope.createMany({ data: scopes.map((s) => ({ realmId, roleId: role.id, scopeId: s.id })) });
  return { id: role.id, globalId: encodeGlobalId('Role', role.id) };
}

/** A custom (not management) API resource with the named scopes, directly in the database. */
export async function makeResource(
  server: TestServer,
  realmId: string,
  indicator: string,
  scopeNames: string[],
): Promise<void> {
  const p = server.db.prisma;
  const resource = await p.resource.create({ data: { realmId, name: indicator, indicator } });
  await p.resourceScope.createMany({ data: scopeNames.map((name) => ({ realmId, resourceId: resource.id, name })) });
}

// Only what applications:write callers can read back (no roles:read needed).
const CREATE_APPLICATION = graphql(`
  mutation FixturesCreateApplication($input: CreateApplicationInput!) {
    createApplication(input: $input) {
      application {
        id
        clientId
        postLogoutRedirectUris
      }
      clientSecret
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

/**
 * Creates an application through the API (with `token`, default the server's admin token) and
 * returns its global id, client id, secret (null for public clients) and post-logout URIs.
 */
export async function createApplication(server: TestServer, input: CreateApplicationInput, token?: string) {
  const result = await server.graphql(CREATE_APPLICATION, { input }, token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const payload = result.data!.createApplication;
  expect(payload.userErrors).toEqual([]);
  return { ...payload.application!, clientSecret: payload.clientSecret };
}

/** Creates an M2M application through the API and returns its credentials and global id. */
export async function createM2M(
  server: TestServer,
  realm: Credentials,
  name: string,
  roleIds: string[],
  token?: string,
): Promise<Credentials & { id: string }> {
  const created = await createApplication(server, { name, type: 'M2M', roleIds }, token ?? (await server.token(realm)));
  return {
    realmId: realm.realmId,
    realmName: realm.realmName,
    clientId: created.clientId,
    clientSecret: created.clientSecret!,
    id: created.id,
  };
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs client credentials to the real token endpoint and returns the raw answer. */
export async function requestToken(
  server: TestServer,
  credentials: Credentials,
  scope?: string,
): Promise<TokenResponse> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope !== undefined) body.set('scope', scope);
  const response = await fetch(`${server.url}/oauth2/${credentials.realmName}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The built-in management resource of a realm and its scope global ids by name. */
export async function managementScopes(
  server: TestServer,
  realmId: string,
): Promise<{ resourceId: string; scopes: Record<string, string> }> {
  const resource = await server.db.prisma.resource.findFirstOrThrow({
    where: { realmId, builtIn: true },
    include: { scopes: true },
  });
  return {
    resourceId: encodeGlobalId('Resource', resource.id),
    scopes: Object.fromEntries(resource.scopes.map((s) => [s.name, encodeGlobalId('ResourceScope', s.id)])),
  };
}

/** The built-in administrator role of a realm (global id). */
export async function adminRoleId(server: TestServer, realmId: string): Promise<string> {
  const role = await server.db.prisma.role.findFirstOrThrow({ where: { realmId, builtIn: true } });
  return encodeGlobalId('Role', role.id);
}

export interface TestUser {
  id: string;
  globalId: string;
}

/** Creates a user directly in the database (the createUser mutation is not this suite's subject). */
export async function makeUser(
  server: TestServer,
  realmId: string,
  data: Omit<Prisma.UserUncheckedCreateInput, 'realmId'> = {},
): Promise<TestUser> {
  const user = await server.db.prisma.user.create({ data: { email: `${randomUUID()}@example.com`, ...data, realmId } });
  return { id: user.id, globalId: encodeGlobalId('User', user.id) };
}

/** A session of a user with `tokens` refresh tokens, directly in the database. */
export async function makeSession(
  server: TestServer,
  realmId: string,
  userId: string,
  options: { tokens?: number; expiresAt?: Date; revokedAt?: Date | null } = {},
): Promise<{ id: string; globalId: string; tokenIds: string[] }> {
  const p = server.db.prisma;
  const session = await p.session.create({
    data: {
      realmId,
      userId,
      expiresAt: options.expiresAt ?? new Date(Date.now() + 86_400_000),
      revokedAt: options.revokedAt ?? null,
      userAgent: 'test',
    },
  });
  const tokenIds: string[] = [];
  for (let i = 0; i < (options.tokens ?? 1); i++) {
    const token = await p.refreshToken.create({
      data: {
        realmId,
        sessionId: session.id,
        tokenHash: randomBytes(32).toString('hex'),
        expiresAt: new Date(Date.now() + 86_400_000),
        rotatedAt: i < (options.tokens ?? 1) - 1 ? new Date() : null,
      },
    });
    tokenIds.push(token.id);
  }
  return { id: session.id, globalId: encodeGlobalId('Session', session.id), tokenIds };
}

/** A second factor of a user, directly in the database. */
export async function makeFactor(
  server: TestServer,
  realmId: string,
  userId: string,
  type: MfaFactorType,
): Promise<string> {
  const factor = await server.db.prisma.mfaFactor.create({
    data: {
      realmId,
      userId,
      type,
      name: type.toLowerCase(),
      ...(type === 'WEBAUTHN'
        ? { credentialId: randomBytes(16).toString('base64url'), publicKey: 'pk' }
        : { secretEncrypted: 'x' }),
    },
  });
  return factor.id;
}

/**
 * A person's management access token (`sub`: the user, `sid`: their session) for `server`,
 * signed with the realm's own key exactly as the realm's provider signs it.
 */
export async function signPersonToken(
  server: TestServer,
  realmId: string,
  claims: { sub: string; sid: string; scope: string; appId: string; clientId: string },
): Promise<string> {
  const [jwk] = await server.keys.privateJwks(realmId);
  const key = await importJWK(jwk!, 'EdDSA');
  const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realmId }, select: { name: true } });
  return new SignJWT({
    scope: claims.scope,
    client_id: claims.clientId,
    app_id: claims.appId,
    realm_id: realmId,
    sid: claims.sid,
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: jwk!.kid! })
    .setIssuer(realmIssuer(server.url, realm.name))
    .setAudience(MANAGEMENT_API_INDICATOR)
    .setSubject(claims.sub)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}
