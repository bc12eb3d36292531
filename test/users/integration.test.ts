/**
 * The integration ("system") API: exact look-ups, `upsertUser`, direct permissions and the
 * user's applications — through HTTP with real tokens, on the test database.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { hashPassword } from '../../src/modules/users/users.passwords.ts';
import { graphql } from '../helpers/documents.ts';
import { adminRoleId, createApplication, makeResource, makeUser, managementScopes } from '../helpers/fixtures.ts';
import {
  auditSince,
  expectErrorCode,
  expectRefused,
  expectTopLevelError,
  lastAuditId,
  missingId,
  payloadOf,
  rawId,
} from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from '../helpers/server.ts';
import type { UserPermissionsInput } from '../generated/graphql.ts';
import { relyingParty, signIn } from '../helpers/sign-in.ts';

const USER_BY_USERNAME = graphql(`
  query IntegrationUserByUsername($username: String!) {
    userByUsername(username: $username) {
      id
      username
    }
  }
`);
const USER_BY_PHONE = graphql(`
  query IntegrationUserByPhone($phone: PhoneNumber!) {
    userByPhone(phone: $phone) {
      id
      phone
    }
  }
`);
const ROLE_BY_NAME = graphql(`
  query IntegrationRoleByName($name: String!, $tenantId: ID) {
    roleByName(name: $name, tenantId: $tenantId) {
      id
      name
    }
  }
`);
const RESOURCE_BY_INDICATOR = graphql(`
  query IntegrationResourceByIndicator($indicator: URL!) {
    resourceByIndicator(indicator: $indicator) {
      id
      indicator
      builtIn
    }
  }
`);
const TENANT_BY_SLUG = graphql(`
  query IntegrationTenantBySlug($slug: String!) {
    tenantBySlug(slug: $slug) {
      id
      slug
    }
  }
`);
const UPSERT = graphql(`
  mutation IntegrationUpsert($input: UpsertUserInput!) {
    upsertUser(input: $input) {
      outcome
      user {
        id
        email
        phone
        username
        uniqueId
        name
        version
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
graphql(`
  fragment IntegrationUserPayload on UpdateUserPayload {
    user {
      id
      version
    }
    userErrors {
      ...TestUserErrors
    }
  }
`);
const GRANT = graphql(`
  mutation IntegrationGrant($input: UserPermissionsInput!) {
    grantUserPermissions(input: $input) {
      ...IntegrationUserPayload
    }
  }
`);
const REVOKE = graphql(`
  mutation IntegrationRevoke($input: UserPermissionsInput!) {
    revokeUserPermissions(input: $input) {
      ...IntegrationUserPayload
    }
  }
`);
const ASSIGN_APPLICATIONS = graphql(`
  mutation IntegrationAssignApplications($input: AssignUserApplicationsInput!) {
    assignUserApplications(input: $input) {
      ...IntegrationUserPayload
    }
  }
`);
const REMOVE_APPLICATION = graphql(`
  mutation IntegrationRemoveApplication($input: RemoveUserApplicationInput!) {
    removeUserApplication(input: $input) {
      ...IntegrationUserPayload
    }
  }
`);
const ACCESS = graphql(`
  query IntegrationAccess($id: ID!) {
    user(id: $id) {
      version
      permissions
      directPermissions {
        id
        name
        resource {
          indicator
        }
      }
      applications {
        id
      }
    }
  }
`);
const USERS_OF_APPLICATION = graphql(`
  query IntegrationUsersOfApplication($filter: UserFilter) {
    users(first: 10, filter: $filter) {
      nodes {
        id
      }
    }
  }
`);

const ORDERS = 'https://orders.example.com/api';
const CALLBACK = 'https://shop.example/cb';
const PASSWORD = 'correct horse battery staple 42';

let server: TestServer;
let realmId: string;
let other: Credentials;
let otherToken: string;
/** Global ids of the scopes of ORDERS by name. */
let orderScopes: Record<string, string>;
let management: Record<string, string>;
let spa: string;
let spaClientId: string;
let m2m: string;
let foreignSpa: string;
let foreignScope: string;

const tokens = new Map<string, Promise<string>>();
/** A token of the admin client holding exactly `scopes` (minted once per set). */
function tokenWith(...scopes: string[]): Promise<string> {
  const key = [...scopes].sort().join(' ');
  let token = tokens.get(key);
  if (!token) tokens.set(key, (token = server.token(server.admin, key)));
  return token;
}

const unique = () => randomUUID().slice(0, 8);
const auditsOf = async (since: string | null, targetId?: string) =>
  (await auditSince(server, realmId, since)).filter(
    (event) => event.outcome === 'success' && (!targetId || event.targetId === targetId),
  );

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  other = await server.createRealm('integration-other');
  otherToken = await server.token(other);
  await makeResource(server, realmId, ORDERS, ['orders:read', 'orders:write', 'orders:refund']);
  const scopes = await server.db.prisma.resourceScope.findMany({ where: { realmId, resource: { indicator: ORDERS } } });
  orderScopes = Object.fromEntries(scopes.map((s) => [s.name, encodeGlobalId('ResourceScope', s.id)]));
  management = (await managementScopes(server, realmId)).scopes;
  const shop = await createApplication(server, { name: 'Shop', type: 'SPA', redirectUris: [CALLBACK] });
  spa = shop.id;
  spaClientId = shop.clientId;
  m2m = (await createApplication(server, { name: 'Nightly sync', type: 'M2M' })).id;
  foreignSpa = (
    await createApplication(
      server,
      { name: 'Foreign', type: 'SPA', redirectUris: ['https://foreign.example/cb'] },
      otherToken,
    )
  ).id;
  foreignScope = (await managementScopes(server, other.realmId)).scopes['users:read']!;
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('exact look-ups', () => {
  it('userByUsername ignores case, skips deleted users and answers null for anything else', async () => {
    const name = `ada-${unique()}`;
    const user = await makeUser(server, realmId, { username: name });
    await makeUser(server, realmId, { username: `gone-${name}`, status: 'DELETED', deletedAt: new Date() });
    const found = await server.graphql(USER_BY_USERNAME, { username: ` ${name.toUpperCase()} ` });
    expect(payloadOf(found)).toEqual({ id: user.globalId, username: name });
    for (const username of [`gone-${name}`, 'nobody-here', 'x'.repeat(10_000), 'a_b%']) {
      expect(payloadOf(await server.graphql(USER_BY_USERNAME, { username }))).toBeNull();
    }
    // Another realm's caller does not see it.
    expect(payloadOf(await server.graphql(USER_BY_USERNAME, { username: name }, otherToken))).toBeNull();
    const refused = await server.graphql(USER_BY_USERNAME, { username: name }, await tokenWith('roles:read'));
    expectErrorCode(refused, 'FORBIDDEN', 'userByUsername');
    expect(refused.errors![0]!.extensions!.missingScopes).toEqual(['users:read']);
  });

  it('userByPhone compacts the number as createUser stores it; a number several users share is refused', async () => {
    const created = payloadOf(
      await server.graphql(UPSERT, {
        input: { match: { phone: '+44 20 7946 0958' }, create: { name: 'Phone person' } },
      }),
    );
    expect(created.userErrors).toEqual([]);
    expect(created.user!.phone).toBe('+442079460958');
    for (const phone of ['+442079460958', '+44 20 7946 0958', '+44-20-7946-0958']) {
      expect(payloadOf(await server.graphql(USER_BY_PHONE, { phone }))).toEqual({
        id: created.user!.id,
        phone: '+442079460958',
      });
    }
    expect(payloadOf(await server.graphql(USER_BY_PHONE, { phone: '+14155550000' }))).toBeNull();
    expect(payloadOf(await server.graphql(USER_BY_PHONE, { phone: '+442079460958' }, otherToken))).toBeNull();

    await makeUser(server, realmId, { phone: '+33612345678', deletedAt: new Date(), status: 'DELETED' });
    expect(payloadOf(await server.graphql(USER_BY_PHONE, { phone: '+33612345678' }))).toBeNull();
    await makeUser(server, realmId, { phone: '+33612345679' });
    await makeUser(server, realmId, { phone: '+33612345679' });
    expectErrorCode(await server.graphql(USER_BY_PHONE, { phone: '+33612345679' }), 'BAD_USER_INPUT', 'userByPhone');
  });

  it('a long run of digits in a PhoneNumber is refused at once (the scalar library’s own pattern would take hours)', async () => {
    for (const phone of [`+1${'2'.repeat(36)}x`, `+1${'2'.repeat(38)}x`, `+1 ${'2'.repeat(10_000)}`]) {
      expectErrorCode(await server.graphql(USER_BY_PHONE, { phone }), 'BAD_USER_INPUT');
      await expectTopLevelError(
        server,
        () => server.graphql(UPSERT, { input: { match: { phone }, create: {} } }),
        'BAD_USER_INPUT',
      );
      const literal = await server.graphql(`query { userByPhone(phone: "${phone}") { id } }`);
      expect(literal.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('roleByName looks among realm-wide roles, or a tenant’s with tenantId, ignoring case; % and _ are plain', async () => {
    const p = server.db.prisma;
    const suffix = unique();
    const tenant = await p.tenant.create({ data: { realmId, name: 'Acme', slug: `acme-${suffix}` } });
    const global = await p.role.create({ data: { realmId, name: `Editor_${suffix}` } });
    const local = await p.role.create({ data: { realmId, name: `Editor_${suffix}`, tenantId: tenant.id } });
    const tenantId = encodeGlobalId('Tenant', tenant.id);
    expect(payloadOf(await server.graphql(ROLE_BY_NAME, { name: `  editor_${suffix} ` }))).toMatchObject({
      id: encodeGlobalId('Role', global.id),
    });
    expect(payloadOf(await server.graphql(ROLE_BY_NAME, { name: `EDITOR_${suffix}`, tenantId }))).toMatchObject({
      id: encodeGlobalId('Role', local.id),
    });
    // Without escaping, ILIKE would take `_` and `%` as wildcards and find this role.
    await p.role.create({ data: { realmId, name: `LeadX${suffix}` } });
    for (const name of [`Lead_${suffix}`, 'Lead%', `Editor\\_${suffix}`, '', 'x'.repeat(10_000)]) {
      expect(payloadOf(await server.graphql(ROLE_BY_NAME, { name })), name).toBeNull();
    }
    expect(
      payloadOf(await server.graphql(ROLE_BY_NAME, { name: `Editor_${suffix}`, tenantId }, otherToken)),
    ).toBeNull();
    const refused = await server.graphql(ROLE_BY_NAME, { name: 'x' }, await tokenWith('users:read'));
    expectErrorCode(refused, 'FORBIDDEN', 'roleByName');
  });

  it('resourceByIndicator compares the normalized URI, built-in management API included', async () => {
    const orders = payloadOf(
      await server.graphql(RESOURCE_BY_INDICATOR, { indicator: 'HTTPS://Orders.Example.com/api' }),
    );
    expect(orders).toMatchObject({ indicator: ORDERS, builtIn: false });
    expect(
      payloadOf(await server.graphql(RESOURCE_BY_INDICATOR, { indicator: MANAGEMENT_API_INDICATOR })),
    ).toMatchObject({ indicator: MANAGEMENT_API_INDICATOR, builtIn: true });
    expect(
      payloadOf(await server.graphql(RESOURCE_BY_INDICATOR, { indicator: 'https://nowhere.example/api' })),
    ).toBeNull();
    expect(payloadOf(await server.graphql(RESOURCE_BY_INDICATOR, { indicator: ORDERS }, otherToken))).toBeNull();
    expectErrorCode(
      await server.graphql(RESOURCE_BY_INDICATOR, { indicator: ORDERS }, await tokenWith('roles:read')),
      'FORBIDDEN',
      'resourceByIndicator',
    );
  });

  it('tenantBySlug finds the tenant (slugs are lowercase), null otherwise', async () => {
    const slug = `globex-${unique()}`;
    const tenant = await server.db.prisma.tenant.create({ data: { realmId, name: 'Globex', slug } });
    for (const asked of [slug, slug.toUpperCase()]) {
      expect(payloadOf(await server.graphql(TENANT_BY_SLUG, { slug: asked }))).toEqual({
        id: encodeGlobalId('Tenant', tenant.id),
        slug,
      });
    }
    for (const asked of ['no-such-tenant', '-', 'x'.repeat(10_000)]) {
      expect(payloadOf(await server.graphql(TENANT_BY_SLUG, { slug: asked }))).toBeNull();
    }
    expect(payloadOf(await server.graphql(TENANT_BY_SLUG, { slug }, otherToken))).toBeNull();
    expectErrorCode(
      await server.graphql(TENANT_BY_SLUG, { slug }, await tokenWith('users:read')),
      'FORBIDDEN',
      'tenantBySlug',
    );
  });
});

describe('upsertUser', () => {
  it('creates, then leaves unchanged, then updates; audited once per change', async () => {
    const email = `grace-${unique()}@example.com`;
    const since = await lastAuditId(server, realmId);
    const created = payloadOf(
      await server.graphql(UPSERT, {
        input: { match: { email: email.toUpperCase() }, create: { name: 'Grace' }, update: { name: 'Grace H.' } },
      }),
    );
    expect(created).toMatchObject({ outcome: 'CREATED', userErrors: [], user: { email, name: 'Grace', version: 1 } });
    const id = created.user!.id;

    const again = payloadOf(await server.graphql(UPSERT, { input: { match: { email }, create: { name: 'Grace' } } }));
    expect(again).toMatchObject({ outcome: 'UNCHANGED', userErrors: [], user: { id, version: 1 } });
    const same = payloadOf(
      await server.graphql(UPSERT, { input: { match: { email }, create: {}, update: { name: 'Grace' } } }),
    );
    expect(same).toMatchObject({ outcome: 'UNCHANGED', user: { id, version: 1 } });

    const updated = payloadOf(
      await server.graphql(UPSERT, { input: { match: { email }, create: {}, update: { name: 'Grace H.' } } }),
    );
    expect(updated).toMatchObject({ outcome: 'UPDATED', userErrors: [], user: { id, name: 'Grace H.', version: 2 } });

    const events = await auditsOf(since, rawId(id));
    expect(events.map((e) => e.action)).toEqual(['user.created', 'user.updated']);
    expect(events[1]!.changes).toMatchObject({ name: { before: 'Grace', after: 'Grace H.' } });
  });

  it('fills the matched identifier into the new user; a contradicting create value is refused', async () => {
    const username = `lin-${unique()}`;
    const created = payloadOf(
      await server.graphql(UPSERT, {
        input: { match: { username }, create: { email: `${username}@example.com` } },
      }),
    );
    expect(created).toMatchObject({ outcome: 'CREATED', user: { username } });
    const uniqueId = `EMP-${unique()}`;
    const byUniqueId = payloadOf(
      await server.graphql(UPSERT, {
        input: { match: { uniqueId: ` ${uniqueId} ` }, create: { phone: '+14155550123', uniqueId } },
      }),
    );
    expect(byUniqueId).toMatchObject({ outcome: 'CREATED', user: { uniqueId, phone: '+14155550123' } });

    await expectRefused(
      server,
      () =>
        server.graphql(UPSERT, {
          input: { match: { email: 'a@example.com' }, create: { email: 'b@example.com' } },
        }),
      [['INVALID', ['input', 'create', 'email']]],
    );
    await expectRefused(
      server,
      () => server.graphql(UPSERT, { input: { match: { username: `x-${unique()}` }, create: {} } }),
      // Neither an email nor a phone: the create input is validated as createUser does.
      [['REQUIRED', ['input', 'create', 'email']]],
    );
  });

  it('refuses none or several match keys, bad values and bad create/update input — whether or not the user exists', async () => {
    const email = `kate-${unique()}@example.com`;
    payloadOf(await server.graphql(UPSERT, { input: { match: { email }, create: {} } }));
    const cases: [Record<string, unknown>, [string, string[]][]][] = [
      [{ match: {}, create: {} }, [['REQUIRED', ['input', 'match']]]],
      [{ match: { email, username: 'kate' }, create: {} }, [['INVALID', ['input', 'match']]]],
      [{ match: { email: null, phone: null }, create: {} }, [['REQUIRED', ['input', 'match']]]],
      [{ match: { username: 'x'.repeat(10_000) }, create: {} }, [['TOO_LONG', ['input', 'match', 'username']]]],
      [{ match: { username: 'Not Valid' }, create: {} }, [['INVALID', ['input', 'match', 'username']]]],
      [{ match: { uniqueId: '   ' }, create: {} }, [['REQUIRED', ['input', 'match', 'uniqueId']]]],
      [{ match: { uniqueId: 'u'.repeat(5_000) }, create: {} }, [['TOO_LONG', ['input', 'match', 'uniqueId']]]],
      [{ match: { email }, create: { name: 'n'.repeat(100_000) } }, [['TOO_LONG', ['input', 'create', 'name']]]],
      [
        { match: { email }, create: {}, update: { city: 'c'.repeat(5_000) } },
        [['TOO_LONG', ['input', 'update', 'city']]],
      ],
      [
        { match: { email }, create: {}, update: { email: null, phone: null } },
        [['REQUIRED', ['input', 'update', 'email']]],
      ],
      [{ match: { email }, create: { password: 'short' } }, [['TOO_SHORT', ['input', 'create', 'password']]]],
    ];
    for (const [input, expected] of cases) {
      await expectRefused(server, () => server.graphql(UPSERT, { input: input as never }), expected);
    }
  });

  it('a unique id kept by a deleted user is refused; a deleted user’s email is free for a new user', async () => {
    const uniqueId = `OLD-${unique()}`;
    const email = `left-${unique()}@example.com`;
    await makeUser(server, realmId, { uniqueId, email, status: 'DELETED', deletedAt: new Date() });
    await expectRefused(
      server,
      () => server.graphql(UPSERT, { input: { match: { uniqueId }, create: { email: `x${email}` } } }),
      [['INVALID_STATE', ['input', 'match', 'uniqueId']]],
    );
    const fresh = payloadOf(await server.graphql(UPSERT, { input: { match: { email }, create: {} } }));
    expect(fresh).toMatchObject({ outcome: 'CREATED', user: { email } });
  });

  it('a phone number several users share is refused', async () => {
    await makeUser(server, realmId, { phone: '+4915112345678' });
    await makeUser(server, realmId, { phone: '+4915112345678' });
    await expectRefused(
      server,
      () => server.graphql(UPSERT, { input: { match: { phone: '+4915112345678' }, create: {} } }),
      [['INVALID', ['input', 'match', 'phone']]],
    );
  });

  it('needs users:write; roles in create need users:roles and no scope the caller lacks', async () => {
    const input = { match: { email: `s-${unique()}@example.com` }, create: {} };
    const noWrite = await expectTopLevelError(
      server,
      async () => server.graphql(UPSERT, { input }, await tokenWith('users:read', 'users:roles')),
      'FORBIDDEN',
    );
    expect(noWrite.errors![0]!.extensions!.missingScopes).toEqual(['users:write']);
    const admin = await adminRoleId(server, realmId);
    const withRole = { ...input, create: { roleIds: [admin] } };
    const noRoles = await expectTopLevelError(
      server,
      async () => server.graphql(UPSERT, { input: withRole }, await tokenWith('users:write', 'users:read')),
      'FORBIDDEN',
    );
    expect(noRoles.errors![0]!.extensions!.missingScopes).toEqual(['users:roles']);
    await expectRefused(
      server,
      async () =>
        server.graphql(UPSERT, { input: withRole }, await tokenWith('users:write', 'users:roles', 'users:read')),
      [['FORBIDDEN_GRANT', ['input', 'create', 'roleIds']]],
    );
    // Another realm's role id is an unknown one.
    await expectRefused(server, () => server.graphql(UPSERT, { input: withRole }, otherToken), [
      ['NOT_FOUND', ['input', 'create', 'roleIds', '0']],
    ]);
  });

  it.each([
    ['email', () => ({ email: `race-${unique()}@example.com` })],
    [
      'phone (no unique index)',
      () => ({ phone: `+1202555${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}` }),
    ],
    ['username', () => ({ username: `race-${unique()}` })],
    ['uniqueId', () => ({ uniqueId: `race-${unique()}` })],
  ])('8 concurrent calls with the same %s create one user', async (_label, key) => {
    const match = key();
    const since = await lastAuditId(server, realmId);
    const create = {
      name: 'Racer',
      ...('email' in match || 'phone' in match ? {} : { email: `${unique()}@race.example` }),
    };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => server.graphql(UPSERT, { input: { match, create, update: { name: 'Racer' } } })),
    );
    const payloads = results.map((result) => payloadOf(result));
    expect(payloads.map((p) => p.userErrors)).toEqual(Array(8).fill([]));
    expect(payloads.map((p) => p.outcome).sort()).toEqual(['CREATED', ...Array(7).fill('UNCHANGED')]);
    expect(new Set(payloads.map((p) => p.user!.id)).size).toBe(1);
    const [field, value] = Object.entries(match)[0]!;
    expect(await server.db.prisma.user.count({ where: { realmId, [field]: value } })).toBe(1);
    expect((await auditsOf(since)).map((e) => e.action)).toEqual(['user.created']);
  });

  it('concurrent calls with a password hash it only while the user looks absent, and create one user', async () => {
    const email = `pw-${unique()}@example.com`;
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        server.graphql(UPSERT, {
          input: { match: { email }, create: { password: 'Quiet-lantern-harbor-2024' }, update: { nickname: `n${i}` } },
        }),
      ),
    );
    const payloads = results.map((result) => payloadOf(result));
    expect(payloads.every((p) => p.userErrors.length === 0)).toBe(true);
    expect(payloads.filter((p) => p.outcome === 'CREATED')).toHaveLength(1);
    expect(await server.db.prisma.user.count({ where: { realmId, email } })).toBe(1);
  });
});

describe('direct permissions', () => {
  it('grant is idempotent, audited once per call with the scopes added, and counts in the user’s permissions', async () => {
    const user = await makeUser(server, realmId);
    const read = orderScopes['orders:read']!;
    const write = orderScopes['orders:write']!;
    const since = await lastAuditId(server, realmId);
    const first = payloadOf(await server.graphql(GRANT, { input: { userId: user.globalId, scopeIds: [read] } }));
    expect(first).toMatchObject({ userErrors: [], user: { id: user.globalId, version: 2 } });
    const again = payloadOf(await server.graphql(GRANT, { input: { userId: user.globalId, scopeIds: [read, read] } }));
    expect(again).toMatchObject({ userErrors: [], user: { version: 2 } });
    const more = payloadOf(await server.graphql(GRANT, { input: { userId: user.globalId, scopeIds: [write, read] } }));
    expect(more).toMatchObject({ userErrors: [], user: { version: 3 } });

    const events = await auditsOf(since, user.id);
    expect(events.map((e) => [e.action, e.changes])).toEqual([
      [
        'user.permissions_granted',
        { added: [{ resource: ORDERS, scope: 'orders:read' }], directPermissions: { before: 0, after: 1 } },
      ],
      [
        'user.permissions_granted',
        { added: [{ resource: ORDERS, scope: 'orders:write' }], directPermissions: { before: 1, after: 2 } },
      ],
    ]);
    const access = payloadOf(await server.graphql(ACCESS, { id: user.globalId }));
    expect(access!.permissions).toEqual(['orders:read', 'orders:write']);
    expect(access!.directPermissions.map((s) => s.name)).toEqual(['orders:read', 'orders:write']);

    const revoked = payloadOf(
      await server.graphql(REVOKE, {
        input: { userId: user.globalId, scopeIds: [read, orderScopes['orders:refund']!] },
      }),
    );
    expect(revoked).toMatchObject({ userErrors: [], user: { version: 4 } });
    const revokedAgain = payloadOf(
      await server.graphql(REVOKE, { input: { userId: user.globalId, scopeIds: [read] } }),
    );
    expect(revokedAgain).toMatchObject({ userErrors: [], user: { version: 4 } });
    const after = await auditsOf(since, user.id);
    expect(after.map((e) => e.action)).toEqual([
      'user.permissions_granted',
      'user.permissions_granted',
      'user.permissions_revoked',
    ]);
    expect(after[2]!.changes).toEqual({
      removed: [{ resource: ORDERS, scope: 'orders:read' }],
      directPermissions: { before: 2, after: 1 },
    });
    expect(payloadOf(await server.graphql(ACCESS, { id: user.globalId }))!.permissions).toEqual(['orders:write']);
  });

  it('unknown, foreign and malformed ids are refused and nothing changes', async () => {
    const user = await makeUser(server, realmId);
    const read = orderScopes['orders:read']!;
    for (const name of ['grant', 'revoke'] as const) {
      const mutation = (input: UserPermissionsInput, token?: string) =>
        (name === 'grant'
          ? server.graphql(GRANT, { input }, token)
          : server.graphql(REVOKE, { input }, token)) as Promise<GraphQLResult>;
      await expectRefused(
        server,
        () => mutation({ userId: user.globalId, scopeIds: [read, missingId('ResourceScope'), foreignScope] }),
        [
          ['NOT_FOUND', ['input', 'scopeIds', '1']],
          ['NOT_FOUND', ['input', 'scopeIds', '2']],
        ],
      );
      await expectRefused(server, () => mutation({ userId: missingId('User'), scopeIds: [read] }), [
        ['NOT_FOUND', ['input', 'userId']],
      ]);
      // This realm's ids from another realm's caller: unknown ids.
      await expectRefused(server, () => mutation({ userId: user.globalId, scopeIds: [read] }, otherToken), [
        ['NOT_FOUND', ['input', 'userId']],
        ['NOT_FOUND', ['input', 'scopeIds', '0']],
      ]);
      await expectTopLevelError(server, () => mutation({ userId: user.globalId, scopeIds: [spa] }), 'BAD_USER_INPUT');
      await expectTopLevelError(
        server,
        () => mutation({ userId: user.globalId, scopeIds: Array(101).fill(read) }),
        'BAD_USER_INPUT',
      );
    }
    const deleted = await makeUser(server, realmId, { status: 'DELETED', deletedAt: new Date() });
    await expectRefused(
      server,
      () => server.graphql(GRANT, { input: { userId: deleted.globalId, scopeIds: [read] } }),
      [['INVALID_STATE', ['input', 'userId']]],
    );
  });

  it('needs users:roles, and management scopes only the caller holds (escalation guard)', async () => {
    const user = await makeUser(server, realmId);
    const noScope = await expectTopLevelError(
      server,
      async () =>
        server.graphql(
          GRANT,
          { input: { userId: user.globalId, scopeIds: [orderScopes['orders:read']!] } },
          await tokenWith('users:write', 'users:read'),
        ),
      'FORBIDDEN',
    );
    expect(noScope.errors![0]!.extensions!.missingScopes).toEqual(['users:roles']);

    const rolesOnly = await tokenWith('users:roles', 'users:read', 'audit:read');
    const refused = await expectRefused(
      server,
      () =>
        server.graphql(
          GRANT,
          { input: { userId: user.globalId, scopeIds: [management['audit:read']!, management['realm:write']!] } },
          rolesOnly,
        ),
      [['FORBIDDEN_GRANT', ['input', 'scopeIds']]],
    );
    expect(refused.userErrors[0]!.message).toContain('realm:write');
    const denial = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId, outcome: 'denied' },
      orderBy: { id: 'desc' },
    });
    expect(denial.changes).toMatchObject({ missingScopes: ['realm:write'] });

    // A management scope the caller holds can be handed on; custom scopes need none.
    const allowed = payloadOf(
      await server.graphql(
        GRANT,
        { input: { userId: user.globalId, scopeIds: [management['audit:read']!, orderScopes['orders:refund']!] } },
        rolesOnly,
      ),
    );
    expect(allowed.userErrors).toEqual([]);
    // Revoking needs no such check.
    const revoke = payloadOf(
      await server.graphql(
        REVOKE,
        { input: { userId: user.globalId, scopeIds: [management['audit:read']!] } },
        await tokenWith('users:roles', 'users:read'),
      ),
    );
    expect(revoke.userErrors).toEqual([]);
  });

  it('4 concurrent grants of the same scopes write each row once and one audit event', async () => {
    const user = await makeUser(server, realmId);
    const scopeIds = [orderScopes['orders:read']!, orderScopes['orders:write']!];
    const since = await lastAuditId(server, realmId);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => server.graphql(GRANT, { input: { userId: user.globalId, scopeIds } })),
    );
    expect(results.map((r) => payloadOf(r).userErrors)).toEqual(Array(4).fill([]));
    expect(await server.db.prisma.userPermission.count({ where: { realmId, userId: user.id } })).toBe(2);
    expect((await auditsOf(since, user.id)).map((e) => e.action)).toEqual(['user.permissions_granted']);
    expect((await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).version).toBe(2);
  });
});

describe('the user’s applications', () => {
  it('assign records them (idempotent), the users filter finds them, remove takes one away; all audited', async () => {
    const user = await makeUser(server, realmId);
    const since = await lastAuditId(server, realmId);
    const assigned = payloadOf(
      await server.graphql(ASSIGN_APPLICATIONS, { input: { userId: user.globalId, applicationIds: [spa, spa] } }),
    );
    expect(assigned).toMatchObject({ userErrors: [], user: { version: 2 } });
    const again = payloadOf(
      await server.graphql(ASSIGN_APPLICATIONS, { input: { userId: user.globalId, applicationIds: [spa] } }),
    );
    expect(again).toMatchObject({ userErrors: [], user: { version: 2 } });
    expect(payloadOf(await server.graphql(ACCESS, { id: user.globalId }))!.applications).toEqual([{ id: spa }]);
    const listed = payloadOf(
      await server.graphql(USERS_OF_APPLICATION, { filter: { ids: [user.globalId], applicationIds: [spa] } }),
    );
    expect(listed.nodes).toEqual([{ id: user.globalId }]);
    const row = await server.db.prisma.userApplication.findFirstOrThrow({ where: { userId: user.id } });
    expect(row.lastUsedAt).toBeNull();

    const removed = payloadOf(
      await server.graphql(REMOVE_APPLICATION, { input: { userId: user.globalId, applicationId: spa } }),
    );
    expect(removed).toMatchObject({ userErrors: [], user: { version: 3 } });
    expect(payloadOf(await server.graphql(ACCESS, { id: user.globalId }))!.applications).toEqual([]);
    await expectRefused(
      server,
      () => server.graphql(REMOVE_APPLICATION, { input: { userId: user.globalId, applicationId: spa } }),
      [['NOT_FOUND', ['input', 'applicationId']]],
    );
    const events = await auditsOf(since, user.id);
    expect(events.map((e) => e.action)).toEqual(['user.applications_assigned', 'user.application_removed']);
    expect(events[0]!.changes).toMatchObject({ added: [{ applicationId: rawId(spa), name: 'Shop' }] });
    expect(events[1]!.changes).toMatchObject({ applicationId: rawId(spa), lastUsedAt: null });
  });

  it('refuses unknown, foreign and M2M applications, unknown users, and callers without users:write', async () => {
    const user = await makeUser(server, realmId);
    await expectRefused(
      server,
      () =>
        server.graphql(ASSIGN_APPLICATIONS, {
          input: { userId: user.globalId, applicationIds: [spa, missingId('Application'), foreignSpa, m2m] },
        }),
      [
        ['NOT_FOUND', ['input', 'applicationIds', '1']],
        ['NOT_FOUND', ['input', 'applicationIds', '2']],
        ['INVALID', ['input', 'applicationIds', '3']],
      ],
    );
    await expectRefused(
      server,
      () =>
        server.graphql(ASSIGN_APPLICATIONS, { input: { userId: user.globalId, applicationIds: [spa] } }, otherToken),
      [
        ['NOT_FOUND', ['input', 'userId']],
        ['NOT_FOUND', ['input', 'applicationIds', '0']],
      ],
    );
    await expectRefused(
      server,
      () => server.graphql(REMOVE_APPLICATION, { input: { userId: missingId('User'), applicationId: foreignSpa } }),
      [
        ['NOT_FOUND', ['input', 'userId']],
        ['NOT_FOUND', ['input', 'applicationId']],
      ],
    );
    const runs: (() => Promise<GraphQLResult>)[] = [
      async () =>
        server.graphql(
          ASSIGN_APPLICATIONS,
          { input: { userId: user.globalId, applicationIds: [spa] } },
          await tokenWith('users:read', 'applications:write'),
        ),
      async () =>
        server.graphql(
          REMOVE_APPLICATION,
          { input: { userId: user.globalId, applicationId: spa } },
          await tokenWith('users:read', 'applications:write'),
        ),
    ];
    for (const run of runs) {
      const refused = await expectTopLevelError(server, run, 'FORBIDDEN');
      expect(refused.errors![0]!.extensions!.missingScopes).toEqual(['users:write']);
    }
  });
});

describe('what a sign-in makes of them', () => {
  it('direct grants are in the user’s access token for their resource; a revoked one leaves the next refresh', async () => {
    const email = `${unique()}@people.example`;
    const user = await makeUser(server, realmId, {
      email,
      emailVerified: true,
      passwordHash: await hashPassword(PASSWORD),
      passwordAlgorithm: 'ARGON2ID',
    });
    const granted = payloadOf(
      await server.graphql(GRANT, {
        input: { userId: user.globalId, scopeIds: [orderScopes['orders:read']!, orderScopes['orders:write']!] },
      }),
    );
    expect(granted.userErrors).toEqual([]);
    const config = await relyingParty(server.issuer(), spaClientId);
    const { tokens } = await signIn(server.url, config, CALLBACK, email, PASSWORD, {
      resource: ORDERS,
      scope: 'openid orders:read orders:write orders:refund',
    });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      aud: ORDERS,
      sub: user.id,
      scope: 'orders:read orders:write',
    });

    // The sign-in recorded the application as the user's, with its time.
    const row = await server.db.prisma.userApplication.findFirstOrThrow({ where: { userId: user.id } });
    expect(row.lastUsedAt).not.toBeNull();
    expect(payloadOf(await server.graphql(ACCESS, { id: user.globalId }))!.applications).toEqual([{ id: spa }]);

    const revoked = payloadOf(
      await server.graphql(REVOKE, { input: { userId: user.globalId, scopeIds: [orderScopes['orders:read']!] } }),
    );
    expect(revoked.userErrors).toEqual([]);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ aud: ORDERS, scope: 'orders:write' });
  });
});
