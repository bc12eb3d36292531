/**
 * RFC 8707 resource indicators in a sign-in: an application asks for the management API or one
 * of the realm's API resources with `resource`, and the access token is an EdDSA at+jwt for it
 * carrying the scopes the user's roles grant there (those asked for that the user holds). The
 * `tenant` parameter signs the person in within a tenant; the tokens say which.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser } from '../helpers/browser.ts';
import { graphql } from '../helpers/documents.ts';
import { createApplication, makeResource, makeRole, makeUser, type TestUser } from '../helpers/fixtures.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { exchangeCode, relyingParty, signIn, startSignIn, submitSignIn } from '../helpers/sign-in.ts';

const VIEWER = graphql(`
  query ResourceTokensViewer {
    viewer {
      clientId
      scopes
      user {
        id
      }
    }
  }
`);
const AUDIT = graphql(`
  query ResourceTokensAudit {
    auditEvents(first: 1) {
      totalCount
    }
  }
`);
const CREATE_TENANT = graphql(`
  mutation ResourceTokensCreateTenant($input: CreateTenantInput!) {
    createTenant(input: $input) {
      tenant {
        id
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REVOKE_SESSION = graphql(`
  mutation ResourceTokensRevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REMOVE_ROLE = graphql(`
  mutation ResourceTokensRemoveRole($input: RemoveUserRoleInput!) {
    removeUserRole(input: $input) {
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const SIGN_INS = graphql(`
  query ResourceTokensSignIns($id: ID!) {
    user(id: $id) {
      sessions(first: 1) {
        nodes {
          tenantId
        }
      }
      loginHistory(first: 1) {
        nodes {
          tenantId
        }
      }
    }
  }
`);

const CALLBACK = 'https://console.example.com/callback';
const PASSWORD = 'correct horse battery staple 42';
const ORDERS = 'https://orders.example.com/api';

let server: TestServer;
let consoleSpies: MockInstance[];
let spa: { id: string; clientId: string };
let supportRole: { id: string; globalId: string };
let acme: string;
let globex: string;

const issuer = () => server.issuer();
const spaConfig = () => relyingParty(issuer(), spa.clientId);

/** A user who can sign in with PASSWORD, holding `roles` (realm-wide, or inside a tenant). */
async function person(
  roles: { id: string; tenantId?: string }[] = [],
  tenants: string[] = [],
  realmId = server.admin.realmId,
): Promise<TestUser & { email: string }> {
  const email = `${randomUUID()}@people.example`;
  const user = await makeUser(server, realmId, {
    email,
    emailVerified: true,
    passwordHash: await hashPassword(PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
  for (const tenantId of tenants) {
    await server.db.prisma.tenantMembership.create({ data: { realmId, tenantId, userId: user.id } });
  }
  for (const role of roles) {
    await server.db.prisma.userRole.create({
      data: { realmId, userId: user.id, roleId: role.id, tenantId: role.tenantId ?? null },
    });
  }
  return { ...user, email };
}

async function refusal(call: Promise<unknown>): Promise<{ status: number; error: string; description?: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) {
      return { status: error.status, error: error.error, description: error.error_description };
    }
    throw error;
  }
  throw new Error('the call succeeded');
}

const latestSession = (userId: string) =>
  server.db.prisma.session.findFirstOrThrow({ where: { userId }, orderBy: { createdAt: 'desc' } });

beforeAll(async () => {
  consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'info')];
  server = await startTestServer();
  const realmId = server.admin.realmId;
  const created = await createApplication(server, { name: 'Admin console', type: 'SPA', redirectUris: [CALLBACK] });
  const row = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: created.clientId } });
  spa = { id: row.id, clientId: created.clientId };
  supportRole = await makeRole(server, realmId, 'Support', ['users:read', 'tenants:read', 'tenants:write']);
  await makeResource(server, realmId, ORDERS, ['orders:read', 'orders:write', 'orders:refund']);
  acme = (await server.db.prisma.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } })).id;
  globex = (await server.db.prisma.tenant.create({ data: { realmId, name: 'Globex', slug: 'globex' } })).id;
}, 120_000);

afterAll(async () => {
  for (const spy of consoleSpies) spy.mockRestore();
  await server?.close();
});

describe('a management API token from a sign-in', () => {
  it('is an EdDSA at+jwt with the scopes asked for that the user’s roles grant, and calls /graphql as the user', async () => {
    const user = await person([supportRole]);
    const config = await spaConfig();
    const { tokens } = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
      resource: MANAGEMENT_API_INDICATOR,
      scope: 'openid users:read users:write tenants:read tenants:write audit:read not:a-scope',
    });
    const session = await latestSession(user.id);
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    const claims = decodeJwt(tokens.access_token);
    // Scopes the user does not hold (users:write, audit:read) and unknown ones are left out, not refused.
    expect(claims).toMatchObject({
      iss: issuer(),
      aud: MANAGEMENT_API_INDICATOR,
      sub: user.id,
      client_id: spa.clientId,
      realm_id: server.admin.realmId,
      app_id: spa.id,
      sid: session.id,
      // In the order asked for.
      scope: 'users:read tenants:read tenants:write',
    });
    expect(claims.tenant_id).toBeUndefined();
    expect(tokens.scope).toBe('users:read tenants:read tenants:write');
    expect(tokens.claims()).toMatchObject({ sub: user.id, amr: ['pwd'], auth_time: expect.any(Number) });

    const viewer = await server.graphql(VIEWER, {}, tokens.access_token);
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data!.viewer).toEqual({
      clientId: spa.clientId,
      scopes: ['tenants:read', 'tenants:write', 'users:read'],
      user: { id: user.globalId },
    });

    const audit = await server.graphql(AUDIT, {}, tokens.access_token);
    expect(audit.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['audit:read'] });

    const created = payloadOf(
      await server.graphql(
        CREATE_TENANT,
        { input: { name: 'Made by a person', slug: `p-${Date.now()}` } },
        tokens.access_token,
      ),
    );
    expect(created.userErrors).toEqual([]);
    const event = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { targetId: rawId(created.tenant!.id), action: 'tenant.created' },
    });
    expect(event).toMatchObject({ actorType: 'user', actorId: user.id });
  });

  it('stops at the next request once its session is revoked, and the next refresh is invalid_grant', async () => {
    const user = await person([supportRole]);
    const config = await spaConfig();
    const { tokens } = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
      resource: MANAGEMENT_API_INDICATOR,
      scope: 'openid users:read',
    });
    expect((await server.graphql(VIEWER, {}, tokens.access_token)).status).toBe(200);
    const session = await latestSession(user.id);
    const revoked = payloadOf(
      await server.graphql(REVOKE_SESSION, { input: { sessionId: encodeGlobalId('Session', session.id) } }),
    );
    expect(revoked.userErrors).toEqual([]);
    const refused = await server.graphql(VIEWER, {}, tokens.access_token);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toMatch(/session of this access token has ended/);
    expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({
      status: 400,
      error: 'invalid_grant',
    });
  });

  it('loses a scope at the next request once the role granting it is removed, and the next refresh leaves it out', async () => {
    const reader = await makeRole(server, server.admin.realmId, `Reader ${randomUUID()}`, ['users:read']);
    const user = await person([supportRole, reader]);
    const config = await spaConfig();
    const { tokens } = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
      resource: MANAGEMENT_API_INDICATOR,
      scope: 'openid users:read tenants:read',
    });
    expect((await server.graphql(VIEWER, {}, tokens.access_token)).data!.viewer.scopes).toEqual([
      'tenants:read',
      'users:read',
    ]);
    const removed = payloadOf(
      await server.graphql(REMOVE_ROLE, { input: { userId: user.globalId, roleId: supportRole.globalId } }),
    );
    expect(removed.userErrors).toEqual([]);
    expect((await server.graphql(VIEWER, {}, tokens.access_token)).data!.viewer.scopes).toEqual(['users:read']);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ aud: MANAGEMENT_API_INDICATOR, scope: 'users:read' });
  });

  it('comes from a refresh with `resource` among those the sign-in asked for; another is invalid_target', async () => {
    const reader = await makeRole(server, server.admin.realmId, `Order reader ${randomUUID()}`, ['orders:read']);
    const user = await person([supportRole, reader]);
    const config = await spaConfig();
    const { tokens } = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
      resource: [MANAGEMENT_API_INDICATOR, ORDERS],
      scope: 'openid users:read orders:read',
    });
    // Two resources asked for and none chosen at the token endpoint: the token is for userinfo.
    expect(tokens.access_token.split('.')).toHaveLength(1);
    expect(await oidc.fetchUserInfo(config, tokens.access_token, user.id)).toMatchObject({ sub: user.id });

    const management = await oidc.refreshTokenGrant(config, tokens.refresh_token!, {
      resource: MANAGEMENT_API_INDICATOR,
    });
    expect(decodeJwt(management.access_token)).toMatchObject({
      aud: MANAGEMENT_API_INDICATOR,
      scope: 'users:read',
      sid: (await latestSession(user.id)).id,
    });
    expect((await server.graphql(VIEWER, {}, management.access_token)).data!.viewer.scopes).toEqual(['users:read']);

    const orders = await oidc.refreshTokenGrant(config, management.refresh_token!, { resource: ORDERS });
    const ordersClaims = decodeJwt(orders.access_token);
    expect(ordersClaims).toMatchObject({ aud: ORDERS, sub: user.id, scope: 'orders:read' });
    expect(ordersClaims.sid).toBeUndefined();
    expect(ordersClaims.realm_id).toBeUndefined();
    // A token for another API is not a management token.
    expect((await server.graphql(VIEWER, {}, orders.access_token)).status).toBe(401);

    expect(
      await refusal(oidc.refreshTokenGrant(config, orders.refresh_token!, { resource: 'https://other.example.com/' })),
    ).toMatchObject({ status: 400, error: 'invalid_target' });
  });

  it('is refused at the authorization endpoint for an indicator that is no API resource of the realm', async () => {
    const config = await spaConfig();
    for (const resource of ['https://unknown.example.com/api', 'not a uri', `${ORDERS}/${'a'.repeat(5000)}`]) {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        resource,
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        state: 'st',
      });
      const response = await new Browser(server.url).request(url.href);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
      expect(location.searchParams.get('error'), resource).toBe('invalid_target');
    }
  });
});

describe('a custom API token from a sign-in', () => {
  it('carries the scopes of realm-wide roles, and of roles held in the tenant the person signed in within', async () => {
    const reader = await makeRole(server, server.admin.realmId, `Order reader ${randomUUID()}`, ['orders:read']);
    const writer = await makeRole(server, server.admin.realmId, `Order writer ${randomUUID()}`, ['orders:write'], {
      tenantId: acme,
    });
    const user = await person([reader, { id: writer.id, tenantId: acme }], [acme, globex]);
    const config = await spaConfig();
    const scope = 'openid orders:read orders:write orders:refund';

    const within = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
      resource: ORDERS,
      scope,
      tenant: acme.toUpperCase(),
    });
    expect(decodeProtectedHeader(within.tokens.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(decodeJwt(within.tokens.access_token)).toMatchObject({
      aud: ORDERS,
      sub: user.id,
      scope: 'orders:read orders:write',
      tenant_id: acme,
    });
    expect(within.tokens.claims()).toMatchObject({ sub: user.id, tenant_id: acme });
    expect(await latestSession(user.id)).toMatchObject({ tenantId: acme });
    const event = await server.db.prisma.loginEvent.findFirstOrThrow({
      where: { userId: user.id },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
    });
    expect(event).toMatchObject({ success: true, tenantId: acme });
    const shown = await server.graphql(SIGN_INS, { id: user.globalId });
    expect(shown.data!.user).toEqual({
      sessions: { nodes: [{ tenantId: encodeGlobalId('Tenant', acme) }] },
      loginHistory: { nodes: [{ tenantId: encodeGlobalId('Tenant', acme) }] },
    });
    const refreshed = await oidc.refreshTokenGrant(config, within.tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ scope: 'orders:read orders:write', tenant_id: acme });
    expect(refreshed.claims()).toMatchObject({ tenant_id: acme });

    // Within another tenant, or none, the role held in Acme grants nothing.
    const elsewhere = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, {
      resource: ORDERS,
      scope,
      tenant: globex,
    });
    expect(decodeJwt(elsewhere.tokens.access_token)).toMatchObject({ scope: 'orders:read', tenant_id: globex });
    const none = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, { resource: ORDERS, scope });
    const noneClaims = decodeJwt(none.tokens.access_token);
    expect(noneClaims.scope).toBe('orders:read');
    expect(noneClaims.tenant_id).toBeUndefined();
    expect(none.tokens.claims()!.tenant_id).toBeUndefined();
  });

  it('ends with the membership: a refresh after the user left the tenant is invalid_grant', async () => {
    const user = await person([], [acme]);
    const config = await spaConfig();
    const { tokens } = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, { tenant: acme });
    await server.db.prisma.tenantMembership.deleteMany({ where: { userId: user.id } });
    expect(await refusal(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({
      error: 'invalid_grant',
    });
  });
});

describe('the tenant parameter', () => {
  it('refuses an id that is no tenant of the realm with invalid_request, back to the application', async () => {
    const config = await spaConfig();
    const other = await server.createRealm(`tenants-${Date.now()}`);
    const foreign = await server.db.prisma.tenant.create({
      data: { realmId: other.realmId, name: 'Foreign', slug: 'foreign' },
    });
    for (const tenant of [randomUUID(), foreign.id, 'acme', 'x'.repeat(5000)]) {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        tenant,
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        state: 'st',
      });
      const response = await new Browser(server.url).request(url.href);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('error_description')).toMatch(/tenant/);
    }
  });

  it('refuses a user who is not a member, on the page, with a failed login event and no session', async () => {
    const user = await person([], [globex]);
    const started = await startSignIn(server.url, await spaConfig(), CALLBACK, { tenant: acme });
    const landed = await submitSignIn(started, user.email, PASSWORD);
    if (!('page' in landed)) throw new Error('signed in');
    expect(landed.page.status).toBe(403);
    expect(await landed.page.text()).toContain('not a member of Acme, which this application signs in to');
    expect(await server.db.prisma.loginEvent.findFirstOrThrow({ where: { userId: user.id } })).toMatchObject({
      success: false,
      failureReason: 'not_tenant_member',
      tenantId: acme,
    });
    expect(await server.db.prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).failedLoginAttempts).toBe(0);
  });

  it('asks the person to sign in again when the browser’s sign-in is within another tenant', async () => {
    const user = await person([], [acme, globex]);
    const config = await spaConfig();
    const first = await signIn(server.url, config, CALLBACK, user.email, PASSWORD, { tenant: acme });
    const firstSession = await latestSession(user.id);

    // The same tenant again: no page, the code comes back at once.
    const same = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      tenant: acme,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const again = await first.browser.follow(await first.browser.request(same.href), same.href);
    expect('left' in again && again.left.searchParams.get('code')).toBeTruthy();

    const switched = await startSignIn(server.url, config, CALLBACK, { tenant: globex }, first.browser);
    const landed = await submitSignIn(switched, user.email, PASSWORD);
    if (!('left' in landed)) throw new Error('no redirect back');
    const tokens = await exchangeCode(config, switched, landed.left);
    expect(tokens.claims()).toMatchObject({ tenant_id: globex });
    expect(await server.db.prisma.session.findUniqueOrThrow({ where: { id: firstSession.id } })).toMatchObject({
      revokedReason: 'replaced',
    });
  });

  it('defaults to the user’s one tenant in an ISOLATED_POOL realm', async () => {
    const realm: Credentials = await server.createRealm(`isolated-${Date.now()}`);
    await server.db.prisma.realm.update({ where: { id: realm.realmId }, data: { tenancyMode: 'ISOLATED_POOL' } });
    const tenant = await server.db.prisma.tenant.create({
      data: { realmId: realm.realmId, name: 'Initech', slug: 'initech' },
    });
    const created = await createApplication(
      server,
      { name: 'Isolated SPA', type: 'SPA', redirectUris: [CALLBACK] },
      await server.token(realm),
    );
    const config = await relyingParty(server.issuer(realm), created.clientId);
    const member = await person([], [tenant.id], realm.realmId);
    const { tokens } = await signIn(server.url, config, CALLBACK, member.email, PASSWORD);
    expect(tokens.claims()).toMatchObject({ sub: member.id, tenant_id: tenant.id });
    expect(await latestSession(member.id)).toMatchObject({ tenantId: tenant.id });

    const loner = await person([], [], realm.realmId);
    const alone = await signIn(server.url, config, CALLBACK, loner.email, PASSWORD);
    expect(alone.tokens.claims()!.tenant_id).toBeUndefined();
  });
});
