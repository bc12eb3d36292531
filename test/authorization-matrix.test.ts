/**
 * The schema-derived authorization matrix (SECURITY.md, "Authorization and isolation").
 *
 * Every root Query and Mutation field of the committed `schema.graphql` is called four ways:
 *   1. without a token                 → HTTP 401, UNAUTHENTICATED, nothing changes;
 *   2. with a token lacking its scopes → FORBIDDEN naming `missingScopes`, nothing changes
 *      (`@authenticated` fields: any valid token works instead);
 *   3. with exactly its declared scopes → works;
 *   4. with another realm's all-scopes token against this realm's ids → the very same answer as
 *      for random missing ids, nothing changes anywhere, nothing of this realm leaks.
 * A root field without `@requiresScopes`/`@authenticated`, or without an entry in MATRIX below,
 * fails the suite.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kind, parse, valueFromASTUntyped, type FieldDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_SCOPE_NAMES, SYSTEM_SCOPES } from '../src/auth/scopes.ts';
import { createAdminClient } from '../src/identity/bootstrap.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/graphql/ids.ts';
import { MODEL_NAMES, expectUnchanged as expectUnchangedState } from './helpers/state.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from './helpers/server.ts';
import { makeFactor, makeSession } from './helpers/fixtures.ts';

// ---------------------------------------------------------------------------------------------
// The committed schema: root fields and their declared scopes.

interface RootField {
  operation: 'query' | 'mutation';
  name: string;
  /** `@requiresScopes(scopes:)` (outer: alternatives, inner: all required); null without it. */
  alternatives: string[][] | null;
  authenticated: boolean;
}

function rootFields(): RootField[] {
  const document = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
  const fields: RootField[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const operation =
      definition.name.value === 'Query' ? 'query' : definition.name.value === 'Mutation' ? 'mutation' : null;
    if (!operation) continue;
    for (const field of definition.fields ?? [])
      fields.push({ operation, name: field.name.value, ...declaredAuth(field) });
  }
  return fields.sort((a, b) => a.operation.localeCompare(b.operation) || a.name.localeCompare(b.name));
}

function declaredAuth(field: FieldDefinitionNode): Pick<RootField, 'alternatives' | 'authenticated'> {
  const directives = field.directives ?? [];
  const requires = directives.find((d) => d.name.value === 'requiresScopes');
  const argument = requires?.arguments?.find((a) => a.name.value === 'scopes');
  return {
    alternatives: argument ? (valueFromASTUntyped(argument.value) as string[][]) : null,
    authenticated: directives.some((d) => d.name.value === 'authenticated'),
  };
}

const FIELDS = rootFields();

// ---------------------------------------------------------------------------------------------
// Fixtures: one set of related objects in a realm, created directly in the database.

interface Fixtures {
  realm: string;
  /** Active user: verified email, password, two failed sign-ins, member of `tenant`, holds `role`, has an identity, TOTP and passkey factors and `session`. */
  user: string;
  userEmail: string;
  /** `user`'s username and phone number. */
  username: string;
  userPhone: string;
  suspendedUser: string;
  /** Soft-deleted user. */
  deletedUser: string;
  resource: string;
  /** `read:things` of `resource`, granted by `role`. */
  scope: string;
  /** `write:things` of `resource`, granted by `role2`. */
  scope2: string;
  role: string;
  role2: string;
  /** `role`'s name. */
  roleName: string;
  /** `resource`'s indicator. */
  resourceIndicator: string;
  /** M2M application holding `role`, with a client secret. */
  application: string;
  /** SPA application: `suspendedUser` has it among their applications. */
  spa: string;
  /** `user` is a member. */
  tenant: string;
  /** No members. */
  tenant2: string;
  /** `tenant`'s slug. */
  tenantSlug: string;
  session: string;
  identity: { provider: string; providerUserId: string };
  definition: string;
  /** A DEAD outbox message of kind `email.<tag>` to `<tag>@example.com`. */
  deadMessage: string;
  /** A webhook endpoint subscribed to `realm.demo_seeded` (no other case writes one). */
  webhookEndpoint: string;
  /** A DELIVERED webhook message of `webhookEndpoint`. */
  webhookDelivery: string;
  /** A PENDING recovery request of `user`. */
  recoveryRequest: string;
  /** A string found in every name, email, slug, city and provider of the set (leak marker). */
  tag: string;
}

/** The typename of each id-like fixture, to make a missing id of the same type. */
const MISSING: { [K in keyof Fixtures]: () => Fixtures[K] } = {
  realm: () => encodeGlobalId('Realm', randomUUID()),
  user: () => encodeGlobalId('User', randomUUID()),
  userEmail: () => `missing-${randomUUID()}@example.com`,
  username: () => `missing-${randomBytes(5).toString('hex')}`,
  userPhone: () => randomPhone(),
  suspendedUser: () => encodeGlobalId('User', randomUUID()),
  deletedUser: () => encodeGlobalId('User', randomUUID()),
  resource: () => encodeGlobalId('Resource', randomUUID()),
  scope: () => encodeGlobalId('ResourceScope', randomUUID()),
  scope2: () => encodeGlobalId('ResourceScope', randomUUID()),
  role: () => encodeGlobalId('Role', randomUUID()),
  role2: () => encodeGlobalId('Role', randomUUID()),
  roleName: () => `Missing ${randomBytes(5).toString('hex')}`,
  resourceIndicator: () => `https://missing-${randomBytes(5).toString('hex')}.example.com/api`,
  application: () => encodeGlobalId('Application', randomUUID()),
  spa: () => encodeGlobalId('Application', randomUUID()),
  tenant: () => encodeGlobalId('Tenant', randomUUID()),
  tenant2: () => encodeGlobalId('Tenant', randomUUID()),
  tenantSlug: () => `missing-${randomBytes(5).toString('hex')}`,
  session: () => encodeGlobalId('Session', randomUUID()),
  identity: () => ({ provider: 'idp-missing', providerUserId: randomUUID() }),
  definition: () => encodeGlobalId('CustomAttributeDefinition', randomUUID()),
  deadMessage: () => encodeGlobalId('OutboxMessage', randomUUID()),
  webhookEndpoint: () => encodeGlobalId('WebhookEndpoint', randomUUID()),
  webhookDelivery: () => encodeGlobalId('OutboxMessage', randomUUID()),
  recoveryRequest: () => encodeGlobalId('RecoveryRequest', randomUUID()),
  tag: () => `missing${randomBytes(5).toString('hex')}`,
};

/** Random ids of the right types in place of every fixture. */
function missingFixtures(): Fixtures {
  return Object.fromEntries(Object.entries(MISSING).map(([key, make]) => [key, make()])) as unknown as Fixtures;
}

const unique = () => `x${randomBytes(5).toString('hex')}`;
/** An E.164 number no other fixture set has (the leak check looks for it). */
const randomPhone = () => `+4477${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;

async function makeFixtures(realmId: string): Promise<Fixtures> {
  const p = server.db.prisma;
  const tag = unique();
  const resource = await p.resource.create({
    data: { realmId, name: `Things ${tag}`, indicator: `https://${tag}.example.com/api` },
  });
  const scope = await p.resourceScope.create({ data: { realmId, resourceId: resource.id, name: 'read:things' } });
  const scope2 = await p.resourceScope.create({ data: { realmId, resourceId: resource.id, name: 'write:things' } });
  const role = await p.role.create({ data: { realmId, name: `Reader ${tag}` } });
  const role2 = await p.role.create({ data: { realmId, name: `Writer ${tag}` } });
  await p.roleScope.createMany({
    data: [
      { realmId, roleId: role.id, scopeId: scope.id },
      { realmId, roleId: role2.id, scopeId: scope2.id },
    ],
  });
  const tenant = await p.tenant.create({ data: { realmId, name: `Tenant ${tag}`, slug: `t-${tag}` } });
  const tenant2 = await p.tenant.create({ data: { realmId, name: `Other ${tag}`, slug: `o-${tag}` } });
  const user = await p.user.create({
    data: {
      realmId,
      email: `${tag}@example.com`,
      emailVerified: true,
      username: `u-${tag}`,
      phone: randomPhone(),
      name: `User ${tag}`,
      city: `City ${tag}`,
      failedLoginAttempts: 2,
      lastFailedLoginAt: new Date(),
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
      passwordAlgorithm: 'ARGON2ID',
      passwordChangedAt: new Date(),
    },
  });
  const suspendedUser = await p.user.create({
    data: {
      realmId,
      email: `s-${tag}@example.com`,
      status: 'SUSPENDED',
      suspendedAt: new Date(),
      suspendedReason: 'test',
    },
  });
  const deletedUser = await p.user.create({
    data: { realmId, email: `d-${tag}@example.com`, status: 'DELETED', deletedAt: new Date() },
  });
  await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: user.id } });
  await p.userRole.create({ data: { realmId, userId: user.id, roleId: role.id } });
  const identity = { provider: `idp-${tag}`, providerUserId: `id-${tag}` };
  await p.identity.create({ data: { realmId, userId: user.id, ...identity } });
  await makeFactor(server, realmId, user.id, 'TOTP');
  await makeFactor(server, realmId, user.id, 'WEBAUTHN');
  const session = await makeSession(server, realmId, user.id);
  const application = await p.application.create({
    data: { realmId, name: `App ${tag}`, type: 'M2M', clientId: `client-${tag}` },
  });
  const spa = await p.application.create({
    data: { realmId, name: `Spa ${tag}`, type: 'SPA', clientId: `spa-${tag}` },
  });
  await p.userApplication.create({ data: { realmId, userId: suspendedUser.id, applicationId: spa.id } });
  await p.userPermission.create({ data: { realmId, userId: user.id, scopeId: scope2.id } });
  await p.applicationSecret.create({
    data: { realmId, applicationId: application.id, secretHash: randomBytes(32).toString('hex') },
  });
  await p.applicationRole.create({ data: { realmId, applicationId: application.id, roleId: role.id } });
  const definition = await p.customAttributeDefinition.create({
    data: { realmId, key: `attr${tag}`, displayName: `Attr ${tag}`, type: 'STRING' },
  });
  const deadMessage = await p.outboxMessage.create({
    data: {
      realmId,
      kind: `email.${tag}`,
      recipient: `${tag}@example.com`,
      subject: `Hello ${tag}`,
      status: 'DEAD',
      attempts: 8,
      lastError: 'connection refused',
    },
  });
  const webhookEndpoint = await p.webhookEndpoint.create({
    data: {
      realmId,
      url: `https://hooks.example.com/${tag}`,
      eventTypes: ['realm.demo_seeded'],
      sealedSecret: 'v1.x.y',
    },
  });
  const webhookDelivery = await p.outboxMessage.create({
    data: {
      realmId,
      kind: 'webhook',
      recipient: webhookEndpoint.url,
      subject: 'user.created',
      webhookEndpointId: webhookEndpoint.id,
      webhookId: `msg_${tag}`,
      payload: '{}',
      status: 'DELIVERED',
      attempts: 1,
      responseStatus: 204,
    },
  });
  // Every realm has a template of its own for `email.test`, which `resetMailTemplate` can drop.
  const template = { subject: 'Hello {{recipient}}', text: 'Hello', html: '<p>Hello</p>' };
  await p.mailTemplate.upsert({
    where: { realmId_kind: { realmId, kind: 'email.test' } },
    create: { realmId, kind: 'email.test', ...template },
    update: template,
  });
  // An open invitation of `suspendedUser` to `tenant2`, which `resendInvitation` and `revokeInvitation` act on.
  await p.oneTimeLink.create({
    data: {
      realmId,
      userId: suspendedUser.id,
      purpose: 'INVITATION',
      tenantId: tenant2.id,
      tokenHash: `invitation-${tag}`,
      email: suspendedUser.email!,
      expiresAt: new Date(Date.now() + 3600_000),
    },
  });
  const recoveryRequest = await p.recoveryRequest.create({
    data: { realmId, userId: user.id, reason: `Lost ${tag}`, expiresAt: new Date(Date.now() + 3600_000) },
  });
  return {
    realm: encodeGlobalId('Realm', realmId),
    user: encodeGlobalId('User', user.id),
    userEmail: user.email!,
    username: user.username!,
    userPhone: user.phone!,
    suspendedUser: encodeGlobalId('User', suspendedUser.id),
    deletedUser: encodeGlobalId('User', deletedUser.id),
    resource: encodeGlobalId('Resource', resource.id),
    scope: encodeGlobalId('ResourceScope', scope.id),
    scope2: encodeGlobalId('ResourceScope', scope2.id),
    role: encodeGlobalId('Role', role.id),
    role2: encodeGlobalId('Role', role2.id),
    roleName: role.name,
    resourceIndicator: resource.indicator,
    application: encodeGlobalId('Application', application.id),
    spa: encodeGlobalId('Application', spa.id),
    tenant: encodeGlobalId('Tenant', tenant.id),
    tenant2: encodeGlobalId('Tenant', tenant2.id),
    tenantSlug: tenant.slug,
    session: session.globalId,
    identity,
    definition: encodeGlobalId('CustomAttributeDefinition', definition.id),
    deadMessage: encodeGlobalId('OutboxMessage', deadMessage.id),
    webhookEndpoint: encodeGlobalId('WebhookEndpoint', webhookEndpoint.id),
    webhookDelivery: encodeGlobalId('OutboxMessage', webhookDelivery.id),
    recoveryRequest: encodeGlobalId('RecoveryRequest', recoveryRequest.id),
    tag,
  };
}

// ---------------------------------------------------------------------------------------------
// The matrix: one entry per root field.

type Vars = Record<string, unknown>;

interface Entry {
  /** An operation whose only root field is the field under test. */
  document: string;
  /** Variables against the fixtures `f`; `u` is a fresh unique string (names, slugs, keys). */
  vars?: (f: Fixtures, u: string) => Vars;
  /** Cross-realm variables when richer than `vars` (more of this realm's ids to misuse). */
  foreignVars?: (f: Fixtures, u: string) => Vars;
  /** What a successful answer (case 3) must hold, beyond "no errors, no userErrors". */
  check?: (value: any, f: Fixtures) => void;
  /** `@authenticated` fields: the scopes the sample needs to read what it returns (case 3). */
  readScopes?: string[];
  /**
   * A field of the realms administration: case 3 calls it with a token of the system realm (its
   * changes audited there), case 4 with realm B's all-scopes token, which cannot hold its scopes.
   */
  system?: boolean;
  /** Runs before case 3's call, with its unique string (e.g. to make the realm it deletes). */
  before?: (u: string) => Promise<unknown>;
}

const USER_ERRORS = 'userErrors { code field message }';

/**
 * A mutation document selecting only payload scalars and `userErrors`: object fields would need
 * read scopes beyond the mutation's own.
 */
const mutation = (name: string, inputType: string, selection = '') =>
  `mutation($input: ${inputType}!) { ${name}(input: $input) { ${selection} ${USER_ERRORS} } }`;

const ids = (items: { id: string }[]) => items.map((item) => item.id);

/** The 30 days up to tomorrow (UTC midnights: the same all day), for the analytics fields. */
function lastDays(): { from: string; to: string } {
  const tomorrow = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
  return { from: new Date(tomorrow - 31 * 86_400_000).toISOString(), to: new Date(tomorrow).toISOString() };
}
const PASSWORD = 'Quiet-lantern-harbor-2024';

const MATRIX: Record<string, Entry> = {
  // ----- The realms administration (system realm)
  createRealm: {
    document: mutation('createRealm', 'CreateRealmInput', 'realm { name } adminClient { clientId }'),
    vars: (_f, u) => ({ input: { name: `made-${u}` } }),
    system: true,
  },
  deleteRealm: {
    document: mutation('deleteRealm', 'DeleteRealmInput', 'deletedRealm { name }'),
    vars: (_f, u) => ({ input: { name: `gone-${u}` } }),
    system: true,
    before: (u) => createAdminClient(server.db.prisma, { realmName: `gone-${u}` }),
  },
  // ----- Queries
  application: {
    document: 'query($id: ID!) { application(id: $id) { id name type } }',
    vars: (f) => ({ id: f.application }),
    check: (value, f) => expect(value.id).toBe(f.application),
  },
  applications: {
    document:
      'query($filter: ApplicationFilter) { applications(first: 100, filter: $filter) { totalCount nodes { id name } } }',
    vars: (f) => ({ filter: { search: f.tag } }),
    check: (value, f) => expect(ids(value.nodes).sort()).toEqual([f.application, f.spa].sort()),
  },
  auditActions: {
    document: 'query { auditActions { name description } }',
    check: (value) => expect(value).toContainEqual(expect.objectContaining({ name: 'user.created' })),
  },
  auditEvents: {
    document:
      'query($filter: AuditEventFilter) { auditEvents(first: 20, filter: $filter) { totalCount nodes { id action targetId } } }',
    vars: (f) => ({ filter: { targetId: f.user } }),
  },
  customAttributeDefinitions: {
    document: 'query { customAttributeDefinitions { id key displayName } }',
    check: (value, f) => expect(ids(value)).toContain(f.definition),
  },
  node: {
    document: 'query($id: ID!) { node(id: $id) { id ... on User { email } } }',
    vars: (f) => ({ id: f.user }),
    readScopes: ['users:read'],
    check: (value, f) => expect(value).toEqual({ id: f.user, email: f.userEmail }),
  },
  nodes: {
    document: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
    vars: (f) => ({ ids: [f.user, f.session, f.definition] }),
    readScopes: ['users:read'],
    check: (value, f) => expect(value).toEqual([{ id: f.user }, { id: f.session }, { id: f.definition }]),
  },
  mailTemplates: {
    document: 'query { mailTemplates { kind subject isDefault variables { name } } }',
    check: (value) => expect(value).toContainEqual(expect.objectContaining({ kind: 'email.test', isDefault: false })),
  },
  outboxMessages: {
    document:
      'query($filter: OutboxMessageFilter) { outboxMessages(first: 20, filter: $filter) { totalCount nodes { id kind status } } }',
    vars: (f) => ({ filter: { kinds: [`email.${f.tag}`], statuses: ['DEAD'] } }),
    check: (value, f) => expect(ids(value.nodes)).toEqual([f.deadMessage]),
  },
  recoveryRequests: {
    document:
      'query($filter: RecoveryRequestFilter) { recoveryRequests(first: 100, filter: $filter) { totalCount nodes { id status reason } } }',
    vars: () => ({ filter: { status: 'PENDING' } }),
    check: (value, f) => expect(ids(value.nodes)).toContain(f.recoveryRequest),
  },
  realms: {
    document: 'query { realms { id name system userCount } }',
    system: true,
    check: (value) => expect(value.map((realm: { name: string }) => realm.name)).toContain('default'),
  },
  realm: {
    document: 'query { realm { id name settings { accessTokenTtlSeconds } } }',
    check: (value, f) => expect(value.id).toBe(f.realm),
  },
  resource: {
    document: 'query($id: ID!) { resource(id: $id) { id name scopes { id name } } }',
    vars: (f) => ({ id: f.resource }),
    check: (value, f) => expect(ids(value.scopes).sort()).toEqual([f.scope, f.scope2].sort()),
  },
  resources: {
    document: 'query { resources(first: 100) { totalCount nodes { id name } } }',
    check: (value, f) => expect(ids(value.nodes)).toContain(f.resource),
  },
  resourceByIndicator: {
    document: 'query($indicator: URL!) { resourceByIndicator(indicator: $indicator) { id indicator } }',
    vars: (f) => ({ indicator: f.resourceIndicator }),
    check: (value, f) => expect(value.id).toBe(f.resource),
  },
  roleByName: {
    document: 'query($name: String!, $tenantId: ID) { roleByName(name: $name, tenantId: $tenantId) { id name } }',
    vars: (f) => ({ name: f.roleName.toUpperCase() }),
    foreignVars: (f) => ({ name: f.roleName, tenantId: f.tenant }),
    check: (value, f) => expect(value.id).toBe(f.role),
  },
  role: {
    document: 'query($id: ID!) { role(id: $id) { id name } }',
    vars: (f) => ({ id: f.role }),
    check: (value, f) => expect(value.id).toBe(f.role),
  },
  roles: {
    document: 'query($filter: RoleFilter) { roles(first: 100, filter: $filter) { totalCount nodes { id name } } }',
    vars: (f) => ({ filter: { search: f.tag } }),
    foreignVars: (f) => ({ filter: { search: f.tag, tenantId: f.tenant } }),
    check: (value, f) => expect(ids(value.nodes).sort()).toEqual([f.role, f.role2].sort()),
  },
  tenant: {
    document: 'query($id: ID!) { tenant(id: $id) { id name slug } }',
    vars: (f) => ({ id: f.tenant }),
    check: (value, f) => expect(value.id).toBe(f.tenant),
  },
  tenantBySlug: {
    document: 'query($slug: String!) { tenantBySlug(slug: $slug) { id slug } }',
    vars: (f) => ({ slug: f.tenantSlug }),
    check: (value, f) => expect(value.id).toBe(f.tenant),
  },
  tenants: {
    document: 'query($filter: TenantFilter) { tenants(first: 100, filter: $filter) { totalCount nodes { id slug } } }',
    vars: (f) => ({ filter: { search: f.tag } }),
    check: (value, f) => expect(ids(value.nodes).sort()).toEqual([f.tenant, f.tenant2].sort()),
  },
  user: {
    document: 'query($id: ID!) { user(id: $id) { id email } }',
    vars: (f) => ({ id: f.user }),
    check: (value, f) => expect(value).toEqual({ id: f.user, email: f.userEmail }),
  },
  userByEmail: {
    document: 'query($email: EmailAddress!) { userByEmail(email: $email) { id email } }',
    vars: (f) => ({ email: f.userEmail }),
    check: (value, f) => expect(value).toEqual({ id: f.user, email: f.userEmail }),
  },
  userByPhone: {
    document: 'query($phone: PhoneNumber!) { userByPhone(phone: $phone) { id phone } }',
    vars: (f) => ({ phone: f.userPhone }),
    check: (value, f) => expect(value).toEqual({ id: f.user, phone: f.userPhone }),
  },
  userByUsername: {
    document: 'query($username: String!) { userByUsername(username: $username) { id username } }',
    vars: (f) => ({ username: f.username }),
    check: (value, f) => expect(value).toEqual({ id: f.user, username: f.username }),
  },
  userFieldValues: {
    document:
      'query($prefix: String) { userFieldValues(field: CITY, prefix: $prefix) { totalCount nodes { value count } } }',
    vars: (f) => ({ prefix: `City ${f.tag}` }),
    check: (value, f) => expect(value.nodes).toEqual([{ value: `City ${f.tag}`, count: 1 }]),
  },
  userFilterValues: {
    document: 'query { userFilterValues { statuses countries oauthProviders customAttributes { id key } } }',
    check: (value, f) => {
      expect(value.oauthProviders).toContain(f.identity.provider);
      expect(ids(value.customAttributes)).toContain(f.definition);
    },
  },
  userStats: {
    document: 'query($filter: UserFilter) { userStats(filter: $filter) { total emailVerified withMfa } }',
    vars: (f) => ({ filter: { ids: [f.user] } }),
    foreignVars: (f) => ({ filter: { ids: [f.user], roleIds: [f.role], tenantIds: [f.tenant] } }),
    check: (value) => expect(value).toEqual({ total: 1, emailVerified: 1, withMfa: 1 }),
  },
  userBreakdown: {
    document:
      'query($filter: UserFilter) { userBreakdown(by: STATUS, filter: $filter) { total withoutValue rows { count ... on StatusBreakdownRow { status } } } }',
    vars: (f) => ({ filter: { ids: [f.user] } }),
    foreignVars: (f) => ({ filter: { ids: [f.user], roleIds: [f.role], tenantIds: [f.tenant] } }),
    check: (value) => expect(value).toEqual({ total: 1, withoutValue: 0, rows: [{ count: 1, status: 'ACTIVE' }] }),
  },
  userGrowth: {
    document:
      'query($from: DateTime!, $to: DateTime!, $filter: UserFilter) { userGrowth(interval: DAY, from: $from, to: $to, filter: $filter) { buckets { signUps deletions usersAtEnd activeUsers } } }',
    vars: (f) => ({ ...lastDays(), filter: { ids: [f.user] } }),
    foreignVars: (f) => ({ ...lastDays(), filter: { ids: [f.user], roleIds: [f.role], tenantIds: [f.tenant] } }),
    check: (value) => {
      expect(value.buckets).toHaveLength(31);
      expect(value.buckets.at(-1)).toMatchObject({ usersAtEnd: 1 });
    },
  },
  userOverview: {
    document:
      'query($period: TimePeriodInput!, $filter: UserFilter) { userOverview(period: $period, filter: $filter) { total { value previous } new { value } } }',
    vars: (f) => ({ period: lastDays(), filter: { ids: [f.user] } }),
    foreignVars: (f) => ({ period: lastDays(), filter: { ids: [f.user], roleIds: [f.role], tenantIds: [f.tenant] } }),
    check: (value) => expect(value).toEqual({ total: { value: 1, previous: 0 }, new: { value: 1 } }),
  },
  users: {
    document: 'query($filter: UserFilter) { users(first: 20, filter: $filter) { totalCount nodes { id email } } }',
    vars: (f) => ({ filter: { ids: [f.user] } }),
    foreignVars: (f) => ({
      filter: { ids: [f.user], roleIds: [f.role], tenantIds: [f.tenant], applicationIds: [f.application] },
    }),
    check: (value, f) => expect(value.nodes).toEqual([{ id: f.user, email: f.userEmail }]),
  },
  viewer: {
    document: 'query { viewer { clientId scopes } }',
  },
  webhookEndpoints: {
    document: 'query { webhookEndpoints(first: 20) { totalCount nodes { id url eventTypes } } }',
    // Each mutation's case 3 makes fixtures with an endpoint of their own in the same realm.
    check: (value, f) => expect(ids(value.nodes)).toContain(f.webhookEndpoint),
  },
  webhookDeliveries: {
    document:
      'query($id: ID!) { webhookDeliveries(endpointId: $id, first: 20) { totalCount nodes { id status responseStatus } } }',
    vars: (f) => ({ id: f.webhookEndpoint }),
    check: (value, f) => expect(ids(value.nodes)).toEqual([f.webhookDelivery]),
  },

  // ----- Mutations
  addAdminNote: {
    document: mutation('addAdminNote', 'AddAdminNoteInput'),
    vars: (f) => ({ input: { userId: f.user, body: 'Called about the invoice.' } }),
  },
  addResourceScope: {
    document: mutation('addResourceScope', 'AddResourceScopeInput'),
    vars: (f, u) => ({ input: { resourceId: f.resource, name: `extra:${u}` } }),
  },
  addUserToTenant: {
    document: mutation('addUserToTenant', 'UserTenantInput'),
    vars: (f) => ({ input: { userId: f.user, tenantId: f.tenant2 } }),
  },
  assignApplicationRoles: {
    document: mutation('assignApplicationRoles', 'AssignApplicationRolesInput'),
    vars: (f) => ({ input: { applicationId: f.application, roleIds: [f.role2] } }),
  },
  assignRoleScopes: {
    document: mutation('assignRoleScopes', 'AssignRoleScopesInput'),
    vars: (f) => ({ input: { roleId: f.role, scopeIds: [f.scope2] } }),
  },
  assignUserApplications: {
    document: mutation('assignUserApplications', 'AssignUserApplicationsInput'),
    vars: (f) => ({ input: { userId: f.user, applicationIds: [f.spa] } }),
  },
  assignUserRoles: {
    document: mutation('assignUserRoles', 'AssignUserRolesInput'),
    vars: (f) => ({ input: { userId: f.user, roleIds: [f.role2] } }),
    foreignVars: (f) => ({ input: { userId: f.user, roleIds: [f.role2], tenantId: f.tenant } }),
  },
  bulkUpdateUsers: {
    document: mutation('bulkUpdateUsers', 'BulkUpdateUsersInput', 'matchedCount changedCount'),
    vars: (f) => ({ input: { ids: [f.user], action: 'SUSPEND', reason: 'Chargeback.' } }),
    foreignVars: (f) => ({
      input: { ids: [f.user, f.suspendedUser], action: 'ASSIGN_ROLES', roleIds: [f.role2], tenantId: f.tenant },
    }),
    check: (value) => expect(value).toEqual({ matchedCount: 1, changedCount: 1, userErrors: [] }),
  },
  createApplication: {
    document: mutation('createApplication', 'CreateApplicationInput', 'clientSecret'),
    vars: (f, u) => ({ input: { name: `App ${u}`, type: 'M2M', roleIds: [f.role] } }),
    check: (value) => expect(value.clientSecret).toEqual(expect.any(String)),
  },
  createCustomAttributeDefinition: {
    document: mutation('createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput'),
    vars: (_f, u) => ({ input: { key: `k${u}`, displayName: `Key ${u}`, type: 'STRING' } }),
    foreignVars: (f) => ({ input: { key: `attr${f.tag}`, type: 'STRING' } }),
  },
  createResource: {
    document: mutation('createResource', 'CreateResourceInput'),
    vars: (_f, u) => ({ input: { name: `API ${u}`, indicator: `https://${u}.example.com/api` } }),
    foreignVars: (f) => ({ input: { name: 'API', indicator: `https://${f.tag}.example.com/api` } }),
  },
  createRole: {
    document: mutation('createRole', 'CreateRoleInput'),
    vars: (f, u) => ({ input: { name: `Role ${u}`, scopeIds: [f.scope] } }),
    foreignVars: (f, u) => ({ input: { name: `Role ${u}`, scopeIds: [f.scope], tenantId: f.tenant } }),
  },
  createTenant: {
    document: mutation('createTenant', 'CreateTenantInput'),
    vars: (_f, u) => ({ input: { name: `Tenant ${u}`, slug: `t-${u}` } }),
    foreignVars: (f) => ({ input: { name: 'Tenant', slug: `t-${f.tag}` } }),
  },
  createUser: {
    document: mutation('createUser', 'CreateUserInput'),
    vars: (_f, u) => ({ input: { email: `${u}@example.com`, name: `New ${u}` } }),
    foreignVars: (f, u) => ({ input: { email: `${u}@example.com`, tenantIds: [f.tenant], roleIds: [f.role] } }),
  },
  createUsers: {
    document: mutation('createUsers', 'CreateUsersInput', `createdCount results { ${USER_ERRORS} }`),
    vars: (_f, u) => ({ input: { users: [{ email: `${u}@example.com` }, { email: `${u}-2@example.com` }] } }),
    foreignVars: (f, u) => ({
      input: { users: [{ email: `${u}@example.com`, tenantIds: [f.tenant], roleIds: [f.role] }] },
    }),
    check: (value) => expect(value.createdCount).toBe(2),
  },
  deleteApplication: {
    document: mutation('deleteApplication', 'DeleteInput', 'deletedId'),
    vars: (f) => ({ input: { id: f.application } }),
    check: (value, f) => expect(value.deletedId).toBe(f.application),
  },
  deleteCustomAttributeDefinition: {
    document: mutation('deleteCustomAttributeDefinition', 'DeleteInput', 'deletedId clearedUserCount'),
    vars: (f) => ({ input: { id: f.definition } }),
    check: (value, f) => expect(value.deletedId).toBe(f.definition),
  },
  deleteResource: {
    document: mutation('deleteResource', 'DeleteInput', 'deletedId'),
    vars: (f) => ({ input: { id: f.resource } }),
    check: (value, f) => expect(value.deletedId).toBe(f.resource),
  },
  deleteRole: {
    document: mutation('deleteRole', 'DeleteInput', 'deletedId'),
    vars: (f) => ({ input: { id: f.role } }),
    check: (value, f) => expect(value.deletedId).toBe(f.role),
  },
  deleteTenant: {
    document: mutation('deleteTenant', 'DeleteInput', 'deletedId'),
    vars: (f) => ({ input: { id: f.tenant } }),
    check: (value, f) => expect(value.deletedId).toBe(f.tenant),
  },
  deleteUser: {
    document: mutation('deleteUser', 'DeleteUserInput', 'deletedUserId'),
    vars: (f) => ({ input: { id: f.user } }),
    foreignVars: (f) => ({ input: { id: f.user, hard: true } }),
    check: (value, f) => expect(value.deletedUserId).toBe(f.user),
  },
  deleteUserPasskeys: {
    document: mutation('deleteUserPasskeys', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.user } }),
  },
  deleteUsers: {
    document: mutation('deleteUsers', 'DeleteUsersInput', 'deletedCount deletedUserIds'),
    vars: (f) => ({ input: { ids: [f.user, f.suspendedUser] } }),
    foreignVars: (f) => ({ input: { ids: [f.user, f.suspendedUser], hard: true } }),
    check: (value, f) => expect([...value.deletedUserIds].sort()).toEqual([f.user, f.suspendedUser].sort()),
  },
  expireUserPassword: {
    document: mutation('expireUserPassword', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.user } }),
  },
  grantUserPermissions: {
    document: mutation('grantUserPermissions', 'UserPermissionsInput'),
    vars: (f) => ({ input: { userId: f.user, scopeIds: [f.scope] } }),
  },
  linkUserIdentity: {
    document: mutation('linkUserIdentity', 'LinkUserIdentityInput'),
    vars: (f, u) => ({ input: { userId: f.user, provider: 'github', providerUserId: `gh-${u}` } }),
  },
  removeApplicationRole: {
    document: mutation('removeApplicationRole', 'RemoveApplicationRoleInput'),
    vars: (f) => ({ input: { applicationId: f.application, roleId: f.role } }),
  },
  removeResourceScope: {
    document: mutation('removeResourceScope', 'RemoveResourceScopeInput'),
    vars: (f) => ({ input: { resourceId: f.resource, scopeId: f.scope } }),
  },
  removeRoleScope: {
    document: mutation('removeRoleScope', 'RemoveRoleScopeInput'),
    vars: (f) => ({ input: { roleId: f.role, scopeId: f.scope } }),
  },
  removeUserApplication: {
    document: mutation('removeUserApplication', 'RemoveUserApplicationInput'),
    vars: (f) => ({ input: { userId: f.suspendedUser, applicationId: f.spa } }),
  },
  removeUserFromTenant: {
    document: mutation('removeUserFromTenant', 'UserTenantInput'),
    vars: (f) => ({ input: { userId: f.user, tenantId: f.tenant } }),
  },
  removeUserRole: {
    document: mutation('removeUserRole', 'RemoveUserRoleInput'),
    vars: (f) => ({ input: { userId: f.user, roleId: f.role } }),
  },
  replaceUser: {
    document: mutation('replaceUser', 'ReplaceUserInput'),
    vars: (f) => ({ input: { id: f.user, user: { email: f.userEmail, emailVerified: true, name: 'Replaced' } } }),
    foreignVars: (f, u) => ({
      input: { id: f.user, user: { email: `${u}@example.com`, tenantIds: [f.tenant], roleIds: [f.role] } },
    }),
  },
  resetUserMfa: {
    document: mutation('resetUserMfa', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.user } }),
  },
  unlockUser: {
    document: mutation('unlockUser', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.user } }),
  },
  restoreUser: {
    document: mutation('restoreUser', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.deletedUser } }),
  },
  revokeSession: {
    document: mutation('revokeSession', 'RevokeSessionInput', 'revokedSessionIds'),
    vars: (f) => ({ input: { sessionId: f.session } }),
    check: (value, f) => expect(value.revokedSessionIds).toEqual([f.session]),
  },
  revokeUserSessions: {
    document: mutation('revokeUserSessions', 'UserIdInput', 'revokedSessionIds'),
    vars: (f) => ({ input: { id: f.user } }),
    check: (value, f) => expect(value.revokedSessionIds).toEqual([f.session]),
  },
  revokeUserPermissions: {
    document: mutation('revokeUserPermissions', 'UserPermissionsInput'),
    vars: (f) => ({ input: { userId: f.user, scopeIds: [f.scope2] } }),
  },
  resetMailTemplate: {
    document: mutation('resetMailTemplate', 'ResetMailTemplateInput', 'template { kind isDefault }'),
    vars: () => ({ input: { kind: 'email.test' } }),
    check: (value) => expect(value.template).toEqual({ kind: 'email.test', isDefault: true }),
  },
  retryOutboxMessage: {
    document: mutation('retryOutboxMessage', 'RetryOutboxMessageInput'),
    vars: (f) => ({ input: { id: f.deadMessage } }),
  },
  rotateApplicationSecret: {
    document: mutation('rotateApplicationSecret', 'RotateApplicationSecretInput', 'clientSecret'),
    vars: (f) => ({ input: { id: f.application } }),
    check: (value) => expect(value.clientSecret).toEqual(expect.any(String)),
  },
  approveRecoveryRequest: {
    document: mutation('approveRecoveryRequest', 'ApproveRecoveryRequestInput'),
    vars: (f) => ({ input: { id: f.recoveryRequest } }),
  },
  denyRecoveryRequest: {
    document: mutation('denyRecoveryRequest', 'DenyRecoveryRequestInput'),
    vars: (f) => ({ input: { id: f.recoveryRequest, reason: 'Not confirmed' } }),
  },
  inviteUser: {
    document: mutation('inviteUser', 'InviteUserInput'),
    vars: (f, u) => ({ input: { email: `${u}@example.com`, tenantId: f.tenant2 } }),
  },
  resendInvitation: {
    document: mutation('resendInvitation', 'InvitationInput'),
    vars: (f) => ({ input: { userId: f.suspendedUser, tenantId: f.tenant2 } }),
  },
  revokeInvitation: {
    document: mutation('revokeInvitation', 'InvitationInput'),
    vars: (f) => ({ input: { userId: f.suspendedUser, tenantId: f.tenant2 } }),
  },
  sendPasswordResetEmail: {
    document: mutation('sendPasswordResetEmail', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.user } }),
  },
  sendVerificationEmail: {
    document: mutation('sendVerificationEmail', 'UserIdInput'),
    // `suspendedUser`'s address is not verified (`user`'s is).
    vars: (f) => ({ input: { id: f.suspendedUser } }),
  },
  sendTestEmail: {
    document: mutation('sendTestEmail', 'SendTestEmailInput'),
    vars: (_f, u) => ({ input: { to: `${u}@example.com` } }),
  },
  setMailTemplate: {
    document: mutation('setMailTemplate', 'SetMailTemplateInput', 'template { kind isDefault }'),
    vars: (_f, u) => ({
      input: { kind: 'email.test', subject: `Hi ${u}`, text: 'To {{recipient}}', html: '<p>To {{recipient}}</p>' },
    }),
    check: (value) => expect(value.template).toEqual({ kind: 'email.test', isDefault: false }),
  },
  setUserPassword: {
    document: mutation('setUserPassword', 'SetUserPasswordInput'),
    vars: (f) => ({ input: { id: f.user, password: PASSWORD } }),
  },
  setUserRoles: {
    document: mutation('setUserRoles', 'AssignUserRolesInput'),
    vars: (f) => ({ input: { userId: f.user, roleIds: [f.role2] } }),
    foreignVars: (f) => ({ input: { userId: f.user, roleIds: [f.role2], tenantId: f.tenant } }),
  },
  setUserStatus: {
    document: mutation('setUserStatus', 'SetUserStatusInput'),
    vars: (f) => ({ input: { id: f.user, status: 'INACTIVE' } }),
  },
  setUserUniqueId: {
    document: mutation('setUserUniqueId', 'SetUserUniqueIdInput'),
    vars: (f) => ({ input: { id: f.user, generate: true } }),
  },
  suspendUser: {
    document: mutation('suspendUser', 'SuspendUserInput'),
    vars: (f) => ({ input: { id: f.user, reason: 'Chargeback.' } }),
  },
  unlinkUserIdentity: {
    document: mutation('unlinkUserIdentity', 'UnlinkUserIdentityInput'),
    vars: (f) => ({ input: { userId: f.user, ...f.identity } }),
  },
  unsuspendUser: {
    document: mutation('unsuspendUser', 'UserIdInput'),
    vars: (f) => ({ input: { id: f.suspendedUser } }),
  },
  updateApplication: {
    document: mutation('updateApplication', 'UpdateApplicationInput'),
    vars: (f, u) => ({ input: { id: f.application, patch: { name: `Renamed ${u}` } } }),
  },
  updateCustomAttributeDefinition: {
    document: mutation('updateCustomAttributeDefinition', 'UpdateCustomAttributeDefinitionInput'),
    vars: (f, u) => ({ input: { id: f.definition, patch: { displayName: `Renamed ${u}` } } }),
  },
  updateRealmSettings: {
    document: mutation('updateRealmSettings', 'UpdateRealmSettingsInput'),
    vars: () => ({ input: { patch: { accessTokenTtlSeconds: 3000 } } }),
  },
  updateResource: {
    document: mutation('updateResource', 'UpdateResourceInput'),
    vars: (f, u) => ({ input: { id: f.resource, patch: { name: `Renamed ${u}` } } }),
  },
  updateResourceScope: {
    document: mutation('updateResourceScope', 'UpdateResourceScopeInput'),
    vars: (f, u) => ({ input: { resourceId: f.resource, scopeId: f.scope, patch: { description: `Read ${u}` } } }),
  },
  updateRole: {
    document: mutation('updateRole', 'UpdateRoleInput'),
    vars: (f, u) => ({ input: { id: f.role, patch: { description: `Reads ${u}` } } }),
  },
  updateTenant: {
    document: mutation('updateTenant', 'UpdateTenantInput'),
    vars: (f, u) => ({ input: { id: f.tenant, patch: { name: `Renamed ${u}` } } }),
  },
  updateUser: {
    document: mutation('updateUser', 'UpdateUserInput'),
    vars: (f, u) => ({ input: { id: f.user, patch: { name: `Renamed ${u}` } } }),
  },
  upsertUser: {
    document: mutation('upsertUser', 'UpsertUserInput', 'outcome'),
    vars: (_f, u) => ({
      input: { match: { email: `${u}@example.com` }, create: { name: `New ${u}` }, update: { name: `Again ${u}` } },
    }),
    foreignVars: (f, u) => ({
      input: { match: { email: `${u}@example.com` }, create: { roleIds: [f.role], tenantIds: [f.tenant] } },
    }),
    check: (value) => expect(value.outcome).toBe('CREATED'),
  },
  createWebhookEndpoint: {
    document: mutation('createWebhookEndpoint', 'CreateWebhookEndpointInput', 'secret'),
    vars: (_f, u) => ({ input: { url: `http://127.0.0.1/hooks/${u}`, eventTypes: ['user.created'] } }),
    // The fixtures of the other cases fill the realm up to its limit of endpoints.
    before: () =>
      server.db.prisma.webhookEndpoint.deleteMany({
        where: { realmId: server.admin.realmId, id: { not: decodeGlobalId(fixturesA.webhookEndpoint).id } },
      }),
    check: (value) => expect(value.secret).toMatch(/^whsec_/),
  },
  updateWebhookEndpoint: {
    document: mutation('updateWebhookEndpoint', 'UpdateWebhookEndpointInput'),
    vars: (f, u) => ({ input: { id: f.webhookEndpoint, patch: { description: `For ${u}` } } }),
  },
  deleteWebhookEndpoint: {
    document: mutation('deleteWebhookEndpoint', 'DeleteInput', 'deletedId'),
    vars: (f) => ({ input: { id: f.webhookEndpoint } }),
    check: (value, f) => expect(value.deletedId).toBe(f.webhookEndpoint),
  },
  rotateWebhookEndpointSecret: {
    document: mutation('rotateWebhookEndpointSecret', 'RotateWebhookEndpointSecretInput', 'secret'),
    vars: (f) => ({ input: { id: f.webhookEndpoint } }),
    check: (value) => expect(value.secret).toMatch(/^whsec_/),
  },
  replayWebhookDelivery: {
    document: mutation('replayWebhookDelivery', 'ReplayWebhookDeliveryInput'),
    vars: (f) => ({ input: { id: f.webhookDelivery } }),
  },
};

// ---------------------------------------------------------------------------------------------
// Database snapshots: every table of the database (a new table is included by itself).

/** Every table (of one realm when `realmId` is given), authorization denials' audit rows aside. */
function expectUnchanged<T>(run: () => Promise<T>, realmId?: string): Promise<T> {
  return expectUnchangedState(server, run, realmId === undefined ? {} : { realmId });
}

// ---------------------------------------------------------------------------------------------
// Server, realms, tokens.

let server: TestServer;
let realmB: Credentials;
/** The admin client of the system realm (`roster bootstrap --system`). */
let systemRealm: Credentials;
/** Shared fixtures: case 1, 2 and 4 must leave them as they are. */
let fixturesA: Fixtures;
let fixturesB: Fixtures;
let tokenB: string;
/** Strings that identify realm A (ids, names, emails, clients): none may reach realm B's caller. */
let leakMarkers: string[];

const tokens = new Map<string, Promise<string>>();

/** A token of realm `default` holding exactly `scopes`, from the real token endpoint (minted once per set). */
function tokenWith(scopes: readonly string[]): Promise<string> {
  const key = [...new Set(scopes)].sort().join(' ');
  expect(key, 'a scope set cannot be empty').not.toBe('');
  let token = tokens.get(key);
  if (!token) tokens.set(key, (token = server.token(server.admin, key)));
  return token;
}

beforeAll(async () => {
  // Every denial of case 2 must leave its audit row: no per-caller limit on them here.
  server = await startTestServer({ denialAuditLimit: { failures: 0, windowSeconds: 60 } });
  // The snapshots read the Prisma models: they must be every table of the database.
  const tables = await server.db.prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
  );
  expect(tables.map((t) => t.name).sort()).toEqual([...MODEL_NAMES].sort());
  realmB = await server.createRealm('other-realm');
  tokenB = await server.token(realmB);
  const made = await createAdminClient(server.db.prisma, { system: true });
  systemRealm = {
    realmId: made.realmId,
    realmName: made.realmName,
    clientId: made.clientId,
    clientSecret: made.clientSecret!,
  };
  // Realm A's signing key is made with its first token: before any snapshot.
  await tokenWith(['realm:read']);
  fixturesA = await makeFixtures(server.admin.realmId);
  fixturesB = await makeFixtures(realmB.realmId);
  const rawIds = Object.values(fixturesA)
    .filter((value): value is string => typeof value === 'string' && !value.includes('@'))
    .map((globalId) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1])
    .filter((raw): raw is string => raw !== undefined && /^[0-9a-f-]{36}$/.test(raw));
  leakMarkers = [
    fixturesA.tag,
    server.admin.clientId,
    server.admin.realmId,
    ...rawIds,
    ...Object.values(fixturesA).filter((value): value is string => typeof value === 'string'),
  ];
}, 120_000);

afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------------------------
// Assertions.

function call(field: RootField, vars: Vars, token: string | null) {
  return server.graphql(MATRIX[field.name]!.document, vars, token);
}

function entryOf(field: RootField): Entry {
  const entry = MATRIX[field.name];
  if (!entry) throw new Error(`${field.operation} ${field.name} has no entry in the authorization matrix`);
  return entry;
}

const varsOf = (entry: Entry, f: Fixtures, u: string) => entry.vars?.(f, u) ?? {};

/** Every `userErrors` list anywhere in a value. */
function userErrorsIn(value: unknown): { code: string; field: string[] | null }[] {
  if (Array.isArray(value)) return value.flatMap(userErrorsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === 'userErrors' ? (inner as { code: string; field: string[] | null }[]) : userErrorsIn(inner),
  );
}

/** The request was refused at `field` with `code`, HTTP 200, no data for the field. */
function expectRefusedWith(result: GraphQLResult, field: string, code: string) {
  expect(result.status).toBe(code === 'UNAUTHENTICATED' ? 401 : 200);
  if (code === 'UNAUTHENTICATED') expect(result.headers.get('www-authenticate')).toBe('Bearer');
  expect(result.errors?.length, JSON.stringify(result.errors)).toBeGreaterThan(0);
  for (const error of result.errors!) {
    expect(error.extensions?.code, JSON.stringify(error)).toBe(code);
    if (error.path) expect(error.path).toEqual([field]);
  }
  expect(result.data?.[field] ?? null).toBeNull();
}

/** Nothing of realm A in an answer to realm B. */
function expectNoLeak(result: GraphQLResult, extra: string[] = []) {
  const text = JSON.stringify({ data: result.data, errors: result.errors });
  for (const marker of [...leakMarkers, ...extra]) expect(text, `leaks ${marker}`).not.toContain(marker);
}

/** Answer of a query about ids that do not exist (in the caller's realm). */
function expectNothingFound(value: any) {
  if (value === null) return;
  if (Array.isArray(value))
    return expect(
      value.every((item) => item === null),
      JSON.stringify(value),
    ).toBe(true);
  if ('nodes' in value) return expect(value.nodes).toEqual([]);
  // Analytics: every figure 0.
  if ('buckets' in value) return expect(JSON.stringify(value.buckets)).not.toMatch(/":[1-9]/);
  if (typeof value.total === 'object') return expect(JSON.stringify(value)).not.toMatch(/":[1-9]/);
  if ('total' in value) return expect(value.total).toBe(0);
  throw new Error(`not a not-found answer: ${JSON.stringify(value)}`);
}

/** The refusal left its one `denied` audit row (SECURITY.md): actor, realm, request id, field, missing scopes. */
async function expectDenialAudited(result: GraphQLResult, field: RootField, missing: string[]) {
  const rows = await server.db.prisma.auditEvent.findMany({
    where: { requestId: result.headers.get('x-request-id')!, outcome: 'denied' },
  });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    realmId: server.admin.realmId,
    action: 'authorization.denied',
    actorType: 'application',
    actorId: server.admin.clientId,
  });
  const changes = rows[0]!.changes as { fields: string[]; missingScopes: string[] };
  expect(changes.fields).toContain(`${field.operation === 'query' ? 'Query' : 'Mutation'}.${field.name}`);
  expect(changes.missingScopes).toEqual(expect.arrayContaining(missing));
}

const stripped = (result: GraphQLResult) => ({ status: result.status, data: result.data, errors: result.errors });

// ---------------------------------------------------------------------------------------------
// The matrix.

describe('the matrix covers the schema', () => {
  it('every root field declares its scopes (@requiresScopes with at least one scope, or @authenticated)', () => {
    const undeclared = FIELDS.filter(
      (f) =>
        f.authenticated === (f.alternatives !== null) ||
        (f.alternatives !== null &&
          (f.alternatives.length === 0 || f.alternatives.some((alternative) => alternative.length === 0))),
    ).map((f) => `${f.operation} ${f.name}`);
    expect(undeclared).toEqual([]);
  });

  it('every root field has an entry, and every entry is a root field', () => {
    const names = FIELDS.map((f) => f.name);
    expect(names.filter((name) => !MATRIX[name])).toEqual([]);
    expect(Object.keys(MATRIX).filter((name) => !names.includes(name))).toEqual([]);
  });

  it('every entry’s document calls exactly its own field, with the right operation', () => {
    for (const field of FIELDS.filter((f) => MATRIX[f.name])) {
      const operations = parse(MATRIX[field.name]!.document).definitions as OperationDefinitionNode[];
      expect(operations, field.name).toHaveLength(1);
      expect(operations[0]!.operation, field.name).toBe(field.operation);
      const roots = operations[0]!.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : s.kind));
      expect(roots, field.name).toEqual([field.name]);
    }
  });

  it('the scopes the schema declares are management scopes, and the system realm’s only on its fields', () => {
    const known = [...MANAGEMENT_SCOPE_NAMES, ...Object.keys(SYSTEM_SCOPES)] as string[];
    const declared = FIELDS.flatMap((f) => (f.alternatives ?? []).flat());
    expect(declared.filter((scope) => !known.includes(scope))).toEqual([]);
    for (const field of FIELDS) {
      const system = (field.alternatives ?? []).flat().some((scope) => scope in SYSTEM_SCOPES);
      expect(system, field.name).toBe(Boolean(MATRIX[field.name]?.system));
    }
  });
});

describe.each(FIELDS.map((field) => [`${field.operation} ${field.name}`, field] as const))('%s', (_label, field) => {
  const declared = new Set((field.alternatives ?? []).flat());

  it('1. no token: UNAUTHENTICATED, nothing changes', async () => {
    const entry = entryOf(field);
    const result = await expectUnchanged(() => call(field, varsOf(entry, fixturesA, unique()), null));
    expectRefusedWith(result, field.name, 'UNAUTHENTICATED');
  });

  if (field.alternatives) {
    const alternatives = field.alternatives;
    it('2. a token lacking the declared scopes: FORBIDDEN with missingScopes, nothing changes', async () => {
      const entry = entryOf(field);
      // Every other management scope: none of them may stand in for the declared ones.
      const others = MANAGEMENT_SCOPE_NAMES.filter((scope) => !declared.has(scope));
      const result = await expectUnchanged(async () =>
        call(field, varsOf(entry, fixturesA, unique()), await tokenWith(others)),
      );
      expectRefusedWith(result, field.name, 'FORBIDDEN');
      const missing = [...(result.errors![0]!.extensions!.missingScopes as string[])].sort();
      expect(alternatives.map((alternative) => [...alternative].sort())).toContainEqual(missing);
      await expectDenialAudited(result, field, missing);

      // All but one scope of an alternative is not enough either.
      for (const alternative of alternatives.filter((a) => a.length > 1)) {
        for (const left of alternative) {
          const partial = await expectUnchanged(async () =>
            call(field, varsOf(entry, fixturesA, unique()), await tokenWith(alternative.filter((s) => s !== left))),
          );
          expectRefusedWith(partial, field.name, 'FORBIDDEN');
          if (alternatives.length === 1) expect(partial.errors![0]!.extensions!.missingScopes).toEqual([left]);
        }
      }
    });
  } else {
    it('2. @authenticated: any valid token works, whatever its scopes', async () => {
      const entry = entryOf(field);
      // Random ids: the answer needs no read scope, only a valid token.
      const result = await call(field, varsOf(entry, missingFixtures(), unique()), await tokenWith(['audit:read']));
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      expect(result.data).toHaveProperty(field.name);
    });
  }

  it('3. exactly the declared scopes: works', async () => {
    const entry = entryOf(field);
    const scopes = field.alternatives?.[0] ?? entry.readScopes ?? ['realm:read'];
    // A mutation gets objects of its own, so that deleting or changing them affects no other case.
    const f = field.operation === 'mutation' ? await makeFixtures(server.admin.realmId) : fixturesA;
    const caller = entry.system ? systemRealm : server.admin;
    const token = entry.system ? await server.token(systemRealm, scopes.join(' ')) : await tokenWith(scopes);
    const audited = () =>
      server.db.prisma.auditEvent.count({
        where: { realmId: caller.realmId, actorId: caller.clientId, outcome: 'success' },
      });
    const u = unique();
    await entry.before?.(u);
    const auditedBefore = await audited();
    const result = await call(field, varsOf(entry, f, u), token);
    // A mutation that worked changed something, and every change is audited.
    if (field.operation === 'mutation') expect(await audited()).toBeGreaterThan(auditedBefore);
    expect(result.status).toBe(200);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    const value = result.data?.[field.name];
    expect(value, JSON.stringify(result.data)).not.toBeNull();
    expect(userErrorsIn(value)).toEqual([]);
    if (field.name === 'viewer') expect([...value.scopes].sort()).toEqual([...scopes].sort());
    entry.check?.(value, f);
  });

  it("4. another realm's token with this realm's ids: the answer to a missing id, nothing changes", async () => {
    const entry = entryOf(field);
    const sample = entry.foreignVars ?? entry.vars ?? (() => ({}));
    // Which fixtures (ids) the sample uses.
    const used = new Set<keyof Fixtures>();
    const tracking = new Proxy(fixturesA, {
      get: (target, key) => (used.add(key as keyof Fixtures), Reflect.get(target, key)),
    });
    sample(tracking, unique());
    used.delete('tag');

    if (entry.system) {
      // Realm B's token holds every scope its realm has: the realms scopes are not among them.
      const result = await expectUnchanged(() => server.graphql(entry.document, sample(fixturesA, unique()), tokenB));
      expectRefusedWith(result, field.name, 'FORBIDDEN');
      expectNoLeak(result);
      return;
    }

    if (used.size === 0) {
      // No id of this realm to name: the call acts on the caller's own realm only. Values unique
      // per realm (slugs, indicators, keys) taken from this realm's objects are free there.
      const fresh = await makeFixtures(server.admin.realmId);
      const result = await expectUnchanged(
        () => server.graphql(entry.document, sample(fresh, unique()), tokenB),
        server.admin.realmId,
      );
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      expect(userErrorsIn(result.data?.[field.name])).toEqual([]);
      expectNoLeak(result, [fresh.tag]);
      return;
    }

    /** With `base`'s ids, but `key` (all keys when null) from realm A, and then missing instead. */
    const compare = async (base: Fixtures, key: keyof Fixtures | null) => {
      const missing = missingFixtures();
      const u = unique();
      const foreignF = key ? { ...base, [key]: fixturesA[key] } : fixturesA;
      const missingF = key ? { ...base, [key]: missing[key] } : { ...missing, tag: fixturesA.tag };
      const [foreign, absent] = await expectUnchanged(async () => [
        await server.graphql(entry.document, sample(foreignF, u), tokenB),
        await server.graphql(entry.document, sample(missingF, u), tokenB),
      ]);
      const label = `${field.name} with ${key ?? 'all ids'} of realm A`;
      expect(stripped(foreign), label).toEqual(stripped(absent));
      expectNoLeak(foreign);
      const value = foreign.data?.[field.name];
      if (field.operation === 'mutation') {
        expect(foreign.errors, label).toBeUndefined();
        expect(
          userErrorsIn(value).map((e) => e.code),
          label,
        ).toContain('NOT_FOUND');
      } else if (key === null) {
        expect(foreign.errors, label).toBeUndefined();
        expectNothingFound(value);
      }
    };

    await compare(fixturesB, null);
    // Each id of realm A on its own, among realm B's own objects.
    if (used.size > 1) for (const key of used) await compare(fixturesB, key);
  });
});
