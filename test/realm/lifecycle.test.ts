import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_SCOPE_NAMES } from '../../src/auth/scopes.ts';
import { hashClientSecret } from '../../src/modules/applications/applications.credentials.ts';
import {
  createRealm,
  deleteRealm,
  listRealms,
  previewRealmDeletion,
  renameRealm,
  type RealmsContext,
} from '../../src/modules/realm/realm.lifecycle.ts';
import { graphql } from '../helpers/documents.ts';
import { makeFactor, makeSession, makeUser, requestToken } from '../helpers/fixtures.ts';
import { auditSince, lastAuditId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { databaseState, expectUnchanged, MODEL_NAMES } from '../helpers/state.ts';

let server: TestServer;
let ctx: RealmsContext;

beforeAll(async () => {
  server = await startTestServer();
  ctx = { prisma: server.db.prisma };
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const READ = graphql(`
  query RealmLifecycleRead {
    viewer {
      scopes
    }
    realm {
      name
      displayName
    }
  }
`);

/** Creates a realm through the service and returns its admin client's credentials. */
async function created(name: string, displayName?: string): Promise<Credentials> {
  const result = await createRealm(ctx, { name, displayName: displayName ?? null });
  expect(result.userErrors).toEqual([]);
  return {
    realmId: result.realm!.id,
    realmName: name,
    clientId: result.adminClient!.clientId,
    clientSecret: result.adminClient!.clientSecret!,
  };
}

const codes = (result: { userErrors: { code: string; field: string[] | null }[] }) =>
  result.userErrors.map((error) => [error.code, error.field]);

describe('createRealm', () => {
  it('creates the realm, its management API and admin role, and an admin client that gets every scope', async () => {
    const acme = await created('acme', 'Acme Inc.');
    const token = await requestToken(server, acme);
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    const read = await server.graphql(READ, {}, String(token.body.access_token));
    expect(read.data).toEqual({
      viewer: { scopes: [...MANAGEMENT_SCOPE_NAMES].sort() },
      realm: { name: 'acme', displayName: 'Acme Inc.' },
    });
    // Its secret is stored hashed, never as given back.
    const secrets = await server.db.prisma.applicationSecret.findMany({ where: { realmId: acme.realmId } });
    expect(secrets.map((secret) => secret.secretHash)).toEqual([hashClientSecret(acme.clientSecret)]);
    const events = await auditSince(server, acme.realmId, null);
    expect(events.map((event) => [event.action, event.actorType, event.actorId])).toEqual([
      ['realm.created', 'system', 'system'],
      ['resource.created', 'system', 'system'],
      ['role.created', 'system', 'system'],
      ['application.created', 'system', 'system'],
    ]);
    expect(events[0]!.changes).toEqual({ name: 'acme', displayName: 'Acme Inc.' });
  });

  it.each([
    ['', 'REQUIRED', ['input', 'name']],
    ['a'.repeat(64), 'TOO_LONG', ['input', 'name']],
    ['Acme', 'INVALID', ['input', 'name']],
    ['-acme', 'INVALID', ['input', 'name']],
    ['acme_2', 'INVALID', ['input', 'name']],
    ['acme.example', 'INVALID', ['input', 'name']],
    // Paths take a realm's id in place of its name.
    ['0190a8c4-7f00-7000-8000-000000000000', 'INVALID', ['input', 'name']],
  ])('refuses the name %j with %s, creating nothing', async (name, code, field) => {
    const result = await expectUnchanged(server, () => createRealm(ctx, { name }));
    expect(result).toMatchObject({ realm: null, adminClient: null });
    expect(codes(result)).toEqual([[code, field]]);
  });

  it('refuses a display name over 100 characters or with control characters, creating nothing', async () => {
    for (const [displayName, code] of [
      ['x'.repeat(101), 'TOO_LONG'],
      ['Acme\nInc.', 'INVALID'],
    ] as const) {
      const result = await expectUnchanged(server, () => createRealm(ctx, { name: 'fine-name', displayName }));
      expect(codes(result)).toEqual([[code, ['input', 'displayName']]]);
    }
  });

  it('refuses a name already taken (TAKEN), and of two concurrent creates of one name, one', async () => {
    const taken = await expectUnchanged(server, () => createRealm(ctx, { name: 'default' }));
    expect(codes(taken)).toEqual([['TAKEN', ['input', 'name']]]);

    const both = await Promise.all([createRealm(ctx, { name: 'twin' }), createRealm(ctx, { name: 'twin' })]);
    expect(both.map((result) => result.userErrors.map((error) => error.code)).sort()).toEqual([[], ['TAKEN']]);
    const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { name: 'twin' } });
    expect(await server.db.prisma.application.count({ where: { realmId: realm.id } })).toBe(1);
  });

  it('creates the realm and its admin client together or not at all', async () => {
    // Credentials whose client id another realm's application has: the client cannot be created.
    const adminCredentials = { clientId: server.admin.clientId, clientSecret: randomBytes(32).toString('base64url') };
    await expectUnchanged(server, () =>
      expect(createRealm(ctx, { name: 'half-made', adminCredentials })).rejects.toThrow(),
    );
  });
});

const LIST_ORDER = (names: string[]) => [...names].sort();

describe('listRealms', () => {
  it('lists every realm by name with its display name, creation time and live users, in 3 statements', async () => {
    const counted = await created('counted');
    for (let i = 0; i < 3; i++) await makeUser(server, counted.realmId);
    await makeUser(server, counted.realmId, { deletedAt: new Date(), status: 'DELETED' });

    const { result: realms, count } = await server.db.statements.during(() => listRealms(server.db.prisma));
    expect(count).toBe(3);
    const names = realms.map((realm) => realm.name);
    expect(names).toEqual(LIST_ORDER(names));
    expect(realms.find((realm) => realm.name === 'counted')).toEqual({
      id: counted.realmId,
      name: 'counted',
      displayName: null,
      createdAt: expect.any(Date),
      system: false,
      users: 3,
    });
    expect(realms.find((realm) => realm.name === 'acme')).toMatchObject({ displayName: 'Acme Inc.', users: 0 });
    expect(await listRealms(server.db.prisma, { name: 'nope' })).toEqual([]);
  });
});

describe('renameRealm', () => {
  it('changes the display name only, audited as realm.renamed; tokens (same issuer) keep working', async () => {
    const renamed = await created('renamed', 'Old Name');
    const token = String((await requestToken(server, renamed)).body.access_token);
    const since = await lastAuditId(server, renamed.realmId);

    const result = await renameRealm(ctx, { name: 'renamed', displayName: '  New Name  ' });
    expect(result.userErrors).toEqual([]);
    expect(result.realm).toMatchObject({ name: 'renamed', displayName: 'New Name' });
    const read = await server.graphql(READ, {}, token);
    expect(read.data?.realm).toEqual({ name: 'renamed', displayName: 'New Name' });
    const events = await auditSince(server, renamed.realmId, since);
    expect(events.map((event) => [event.action, event.actorType, event.changes])).toEqual([
      ['realm.renamed', 'system', { displayName: { before: 'Old Name', after: 'New Name' } }],
    ]);

    // The same name again changes nothing, not even the audit trail; "" removes it.
    await expectUnchanged(server, () => renameRealm(ctx, { name: 'renamed', displayName: 'New Name' }));
    expect((await renameRealm(ctx, { name: 'renamed', displayName: '' })).realm?.displayName).toBeNull();
  });

  it('refuses an unknown realm (NOT_FOUND) and a bad display name, changing nothing', async () => {
    const unknown = await expectUnchanged(server, () => renameRealm(ctx, { name: 'nope', displayName: 'X' }));
    expect(codes(unknown)).toEqual([['NOT_FOUND', ['input', 'name']]]);
    const long = await expectUnchanged(server, () => renameRealm(ctx, { name: 'acme', displayName: 'x'.repeat(101) }));
    expect(codes(long)).toEqual([['TOO_LONG', ['input', 'displayName']]]);
  });
});

/** Puts at least one row of the realm into every realm-owned table. */
async function fillRealm(realm: Credentials): Promise<void> {
  const p = server.db.prisma;
  const realmId = realm.realmId;
  await server.keys.signingKey(realmId);
  const user = await makeUser(server, realmId);
  const userId = user.id;
  await makeFactor(server, realmId, userId, 'TOTP');
  const session = await makeSession(server, realmId, userId);
  const application = await p.application.findFirstOrThrow({ where: { realmId } });
  const role = await p.role.findFirstOrThrow({ where: { realmId } });
  const scope = await p.resourceScope.findFirstOrThrow({ where: { realmId } });
  const tenant = await p.tenant.create({ data: { realmId, name: 'Tenant', slug: 'tenant' } });
  await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId } });
  await p.userRole.create({ data: { realmId, userId, roleId: role.id, tenantId: tenant.id } });
  await p.userPermission.create({ data: { realmId, userId, scopeId: scope.id } });
  await p.identity.create({ data: { realmId, userId, provider: 'github', providerUserId: randomUUID() } });
  await p.sessionApplication.create({ data: { realmId, sessionId: session.id, applicationId: application.id } });
  await p.userApplication.create({ data: { realmId, userId, applicationId: application.id } });
  await p.loginEvent.create({
    data: { realmId, userId, applicationId: application.id, success: true, method: 'password' },
  });
  await p.adminNote.create({ data: { realmId, userId, body: 'note', author: 'test' } });
  await p.customAttributeDefinition.create({
    data: { realmId, key: 'plan', displayName: 'Plan', type: 'STRING' },
  });
  await p.oidcPayload.create({ data: { realmId, model: 'Session', id: randomUUID(), payload: {} } });
  await p.userActivity.create({ data: { realmId, userId, period: new Date('2026-01-01T00:00:00Z') } });
  await p.outboxMessage.create({
    data: { realmId, kind: 'email.test', recipient: 'someone@example.com', subject: 'Hello', sealedBody: 'v1.x.y' },
  });
  await p.mailTemplate.create({ data: { realmId, kind: 'email.test', subject: 'Hi', text: 'Hi', html: '<p>Hi</p>' } });
  const webhookEndpoint = await p.webhookEndpoint.create({
    data: { realmId, url: 'https://hooks.example.com/in', eventTypes: ['user.created'], sealedSecret: 'v1.x.y' },
  });
  await p.outboxMessage.create({
    data: {
      realmId,
      kind: 'webhook',
      recipient: webhookEndpoint.url,
      subject: 'user.created',
      webhookEndpointId: webhookEndpoint.id,
      webhookId: 'msg_1',
      payload: '{}',
    },
  });
  await p.oneTimeLink.create({
    data: {
      realmId,
      userId,
      purpose: 'PASSWORD_RESET',
      tokenHash: 'hash',
      email: 'someone@example.com',
      expiresAt: new Date(Date.now() + 60_000),
    },
  });
  // An invitation to a tenant: the link refers to the tenant as well as to the user.
  await p.oneTimeLink.create({
    data: {
      realmId,
      userId,
      purpose: 'INVITATION',
      tenantId: tenant.id,
      tokenHash: 'invitation-hash',
      email: 'someone@example.com',
      expiresAt: new Date(Date.now() + 60_000),
    },
  });
  await p.recoveryRequest.create({
    data: { realmId, userId, reason: 'Lost my phone', expiresAt: new Date(Date.now() + 60_000) },
  });
  await p.idempotentRequest.create({
    data: { realmId, caller: 'application:test', key: 'k', fingerprint: 'f', expiresAt: new Date(Date.now() + 60_000) },
  });
  await p.usedPasskeyChallenge.create({
    data: { realmId, digest: 'digest', expiresAt: new Date(Date.now() + 60_000) },
  });
  // The triggers queue the users' count changes and now and then fold them into the counts: a
  // row of each, whatever the triggers did (zero changes no total).
  const bucket = new Date(0);
  await p.userCount.upsert({
    where: { realmId_metric_bucket: { realmId, metric: 'total', bucket } },
    create: { realmId, metric: 'total', bucket, count: 0 },
    update: {},
  });
  await p.userCountDelta.create({ data: { realmId, metric: 'total', bucket, delta: 0 } });
  // The same for the analytics counts (the user, the login event and the activity above add to them).
  await p.analyticsCount.upsert({
    where: { realmId_metric_period_key: { realmId, metric: 'signUp:day', period: bucket, key: '' } },
    create: { realmId, metric: 'signUp:day', period: bucket, count: 0 },
    update: {},
  });
  await p.analyticsCountDelta.create({ data: { realmId, metric: 'signUp:day', period: bucket, delta: 0 } });
  // And for the breakdown counts (the user above counts by status).
  await p.userBreakdownCount.upsert({
    where: { realmId_dimension_value: { realmId, dimension: 'STATUS', value: 'ACTIVE' } },
    create: { realmId, dimension: 'STATUS', value: 'ACTIVE', count: 0 },
    update: {},
  });
  await p.userBreakdownCountDelta.create({ data: { realmId, dimension: 'STATUS', value: 'ACTIVE', delta: 0 } });
}

/** Realm-owned tables in which the realm has no row. */
async function emptyTables(realmId: string): Promise<string[]> {
  const state = await databaseState(server, { realmId, denials: true });
  return MODEL_NAMES.filter((model) => model !== 'RateLimit' && !state[model]?.length);
}

describe('deleteRealm', () => {
  it('removes every row of the realm from every table and nothing of another realm', async () => {
    const doomed = await created('doomed');
    const kept = await created('kept');
    await fillRealm(doomed);
    await fillRealm(kept);
    const keptToken = String((await requestToken(server, kept)).body.access_token);
    const doomedToken = String((await requestToken(server, doomed)).body.access_token);
    expect(await emptyTables(doomed.realmId), 'the realm has a row in every table').toEqual([]);

    const preview = await previewRealmDeletion(server.db.prisma, 'doomed');
    expect(preview).toEqual({ realm: expect.objectContaining({ name: 'doomed', users: 1 }), userErrors: [] });
    const result = await expectUnchanged(server, () => deleteRealm(ctx, { name: 'doomed' }), {
      realmId: kept.realmId,
      denials: true,
    });
    expect(result).toEqual({ realm: expect.objectContaining({ id: doomed.realmId, name: 'doomed' }), userErrors: [] });
    expect(await emptyTables(doomed.realmId)).toEqual(MODEL_NAMES.filter((model) => model !== 'RateLimit'));

    // Its tokens and clients stop working at once; the other realm's keep working.
    const refused = await server.graphql(READ, {}, doomedToken);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await requestToken(server, doomed)).status).toBe(404);
    expect((await server.graphql(READ, {}, keptToken)).data?.realm.name).toBe('kept');
  });

  it('refuses an unknown realm (NOT_FOUND), changing nothing', async () => {
    const result = await expectUnchanged(server, () => deleteRealm(ctx, { name: 'doomed' }));
    expect(codes(result)).toEqual([['NOT_FOUND', ['input', 'name']]]);
    expect(codes(await previewRealmDeletion(server.db.prisma, 'doomed'))).toEqual([['NOT_FOUND', ['input', 'name']]]);
  });

  it('never deletes the last realm, even when two deletions of the last two run at once', async () => {
    for (const realm of await listRealms(server.db.prisma)) {
      if (!['default', 'acme'].includes(realm.name)) expect((await deleteRealm(ctx, realm)).userErrors).toEqual([]);
    }
    const both = await Promise.all([deleteRealm(ctx, { name: 'default' }), deleteRealm(ctx, { name: 'acme' })]);
    expect(both.map((result) => result.userErrors.map((error) => error.code)).sort()).toEqual([[], ['INVALID_STATE']]);
    const [last] = await listRealms(server.db.prisma);
    expect(await server.db.prisma.realm.count()).toBe(1);

    const refusal = await expectUnchanged(server, () => deleteRealm(ctx, { name: last!.name }));
    expect(codes(refusal)).toEqual([['INVALID_STATE', ['input', 'name']]]);
    expect(refusal.userErrors[0]!.message).toMatch(/only realm/);
    expect(codes(await previewRealmDeletion(server.db.prisma, last!.name))).toEqual([
      ['INVALID_STATE', ['input', 'name']],
    ]);
  });
});
