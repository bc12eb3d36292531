import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { OutboxWorker, type OutboxWorkerOptions } from '../../src/modules/outbox/outbox.worker.ts';
import { AUDIT_ACTIONS } from '../../src/modules/audit/audit.actions.ts';
import { postWebhook } from '../../src/modules/webhooks/webhooks.delivery.ts';
import { pruneWebhookResponseBodies } from '../../src/modules/webhooks/webhooks.retention.ts';
import { graphql } from '../helpers/documents.ts';
import { expectErrorCode, expectRefused, expectUserErrors, missingId, payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';
import { startReceiver, type WebhookReceiver } from '../helpers/webhooks.ts';

const CREATE = graphql(`
  mutation WebhookCreate($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      webhookEndpoint {
        id
        url
        eventTypes
        enabled
        description
      }
      secret
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const UPDATE = graphql(`
  mutation WebhookUpdate($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      webhookEndpoint {
        id
        url
        eventTypes
        enabled
        description
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const DELETE = graphql(`
  mutation WebhookDelete($input: DeleteInput!) {
    deleteWebhookEndpoint(input: $input) {
      deletedId
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const ROTATE = graphql(`
  mutation WebhookRotate($input: RotateWebhookEndpointSecretInput!) {
    rotateWebhookEndpointSecret(input: $input) {
      webhookEndpoint {
        id
      }
      secret
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const REPLAY = graphql(`
  mutation WebhookReplay($input: ReplayWebhookDeliveryInput!) {
    replayWebhookDelivery(input: $input) {
      message {
        id
        status
        webhookId
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const ENDPOINTS = graphql(`
  query WebhookEndpoints {
    webhookEndpoints(first: 50) {
      totalCount
      nodes {
        id
        url
        eventTypes
        enabled
      }
    }
  }
`);

const DELIVERIES = graphql(`
  query WebhookDeliveries($endpointId: ID!, $filter: OutboxMessageFilter) {
    webhookDeliveries(endpointId: $endpointId, first: 50, filter: $filter) {
      totalCount
      nodes {
        id
        kind
        subject
        recipient
        status
        attempts
        webhookId
        responseStatus
        responseBody
        durationMs
        lastError
        webhookEndpoint {
          id
        }
      }
    }
  }
`);

const CREATE_USER = graphql(`
  mutation WebhookCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
      }
      userErrors {
        code
      }
    }
  }
`);

const UPDATE_USER = graphql(`
  mutation WebhookUpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      user {
        id
      }
      userErrors {
        code
      }
    }
  }
`);

const BULK = graphql(`
  mutation WebhookBulk($input: BulkUpdateUsersInput!) {
    bulkUpdateUsers(input: $input) {
      changedCount
      userErrors {
        code
      }
    }
  }
`);

let server: TestServer;
let receiver: WebhookReceiver;
let serial = 0;

const worker = (options: Partial<OutboxWorkerOptions> = {}) =>
  new OutboxWorker({
    prisma: server.db.prisma,
    key: server.outboxKey,
    email: null,
    allowPrivateTargets: true,
    log: createLogger('silent'),
    baseBackoffMs: 60_000,
    webhookTimeoutMs: 5_000,
    ...options,
  });

async function createEndpoint(eventTypes: string[], extra: { url?: string; enabled?: boolean } = {}) {
  const payload = payloadOf(
    await server.graphql(CREATE, {
      input: { url: extra.url ?? `${receiver.url}/hook/${++serial}`, eventTypes, enabled: extra.enabled ?? true },
    }),
  );
  expect(payload.userErrors).toEqual([]);
  return { id: payload.webhookEndpoint!.id, secret: payload.secret!, url: payload.webhookEndpoint!.url };
}

async function createUser(email: string, password?: string) {
  const payload = payloadOf(await server.graphql(CREATE_USER, { input: { email, ...(password ? { password } : {}) } }));
  expect(payload.userErrors).toEqual([]);
  return payload.user!.id;
}

const renameUser = async (id: string, name: string) =>
  expect(payloadOf(await server.graphql(UPDATE_USER, { input: { id, patch: { name } } })).userErrors).toEqual([]);

const RETENTION = graphql(`
  mutation WebhookRetention($patch: RealmSettingsPatch!) {
    updateRealmSettings(input: { patch: $patch }) {
      realm {
        settings {
          webhookResponseRetentionDays
        }
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const webhookRows = (endpointId: string) =>
  server.db.prisma.outboxMessage.findMany({ where: { webhookEndpointId: rawId(endpointId) }, orderBy: { id: 'asc' } });

/** Makes every pending webhook due now, as if its backoff or lease had passed. */
const makeAllDue = () =>
  server.db.prisma.outboxMessage.updateMany({ where: { status: 'PENDING' }, data: { nextAttemptAt: new Date(0) } });

const verify = (secret: string, delivery: { headers: Record<string, unknown>; body: string }) =>
  new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>) as {
    type: string;
    timestamp: string;
    data: Record<string, unknown>;
  };

beforeAll(async () => {
  server = await startTestServer({ log: createLogger('error') });
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await server?.close();
});

beforeEach(async () => {
  receiver.received.length = 0;
  receiver.answers.length = 0;
  receiver.defaultStatus = 200;
  receiver.answerBody = 'ok';
  // Endpoints (and their messages) of one test must not reach another's receiver.
  await server.db.prisma.webhookEndpoint.deleteMany({});
  await server.db.prisma.outboxMessage.deleteMany({});
});

describe('webhook endpoints', () => {
  it('creates an endpoint with a secret shown once and stored sealed, lists, updates, rotates and deletes it, audited', async () => {
    const created = payloadOf(
      await server.graphql(CREATE, {
        input: {
          url: `${receiver.url}/crud`,
          eventTypes: ['user.created', 'user.created', 'role.created'],
          description: '  CRM sync  ',
        },
      }),
    );
    expect(created.userErrors).toEqual([]);
    expect(created.webhookEndpoint).toMatchObject({
      url: `${receiver.url}/crud`,
      eventTypes: ['role.created', 'user.created'],
      enabled: true,
      description: 'CRM sync',
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.webhookEndpoint!.id;
    const row = await server.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: rawId(id) } });
    expect(row.sealedSecret).not.toContain(created.secret!.slice(6));

    const listed = payloadOf(await server.graphql(ENDPOINTS));
    expect(listed.totalCount).toBe(1);
    expect(listed.nodes).toEqual([expect.objectContaining({ id, enabled: true })]);

    const updated = payloadOf(
      await server.graphql(UPDATE, { input: { id, patch: { enabled: false, eventTypes: ['user.deleted'] } } }),
    );
    expect(updated.webhookEndpoint).toMatchObject({ enabled: false, eventTypes: ['user.deleted'] });

    const rotated = payloadOf(await server.graphql(ROTATE, { input: { id } }));
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);

    const deleted = payloadOf(await server.graphql(DELETE, { input: { id } }));
    expect(deleted).toEqual({ deletedId: id, userErrors: [] });
    expect(await server.db.prisma.webhookEndpoint.count()).toBe(0);

    const events = await server.db.prisma.auditEvent.findMany({
      where: { targetId: rawId(id) },
      orderBy: { id: 'asc' },
    });
    expect(events.map((event) => event.action)).toEqual([
      'webhook.endpoint_created',
      'webhook.endpoint_updated',
      'webhook.secret_rotated',
      'webhook.endpoint_deleted',
    ]);
    expect(JSON.stringify(events)).not.toContain(created.secret!.slice(6));
    expect(JSON.stringify(events)).not.toContain(rotated.secret!.slice(6));
    expect(events[1]!.changes).toEqual({
      enabled: { before: true, after: false },
      eventTypes: { before: ['role.created', 'user.created'], after: ['user.deleted'] },
    });
  });

  it('refuses bad and huge inputs with a clear code, changing nothing', async () => {
    const create = (input: Record<string, unknown>) => () =>
      server.graphql(CREATE, { input: { url: `${receiver.url}/x`, eventTypes: ['user.created'], ...input } });
    const url = ['input', 'url'];
    const types = ['input', 'eventTypes'];
    await expectRefused(server, create({ url: 'http://example.com/hook' }), [['INVALID', url]]);
    await expectRefused(server, create({ url: 'ftp://127.0.0.1/hook' }), [['INVALID', url]]);
    await expectRefused(server, create({ url: 'not a url' }), [['INVALID', url]]);
    await expectRefused(server, create({ url: 'https://user:pw@example.com/' }), [['INVALID', url]]);
    await expectRefused(server, create({ url: `https://example.com/${'a'.repeat(2000)}` }), [['TOO_LONG', url]]);
    await expectRefused(server, create({ url: `https://example.com/${'a'.repeat(100_000)}` }), [['TOO_LONG', url]]);
    await expectRefused(server, create({ eventTypes: [] }), [['REQUIRED', types]]);
    await expectRefused(server, create({ eventTypes: ['user.created', 'user.teleported'] }), [['INVALID', types]]);
    await expectRefused(server, create({ eventTypes: ['x'.repeat(10_000)] }), [['INVALID', types]]);
    await expectRefused(server, create({ description: 'd'.repeat(501) }), [['TOO_LONG', ['input', 'description']]]);
    // More event types than the catalogue holds: refused before it runs.
    const tooMany = Array.from({ length: Object.keys(AUDIT_ACTIONS).length + 1 }, (_, i) => `user.created${i}`);
    const before = await server.db.prisma.webhookEndpoint.count();
    expectErrorCode(await create({ eventTypes: tooMany })(), 'BAD_USER_INPUT');
    expect(await server.db.prisma.webhookEndpoint.count()).toBe(before);

    const { id } = await createEndpoint(['user.created']);
    await expectRefused(server, () => server.graphql(UPDATE, { input: { id, patch: { url: 'http://10.0.0.1/' } } }), [
      ['INVALID', ['input', 'patch', 'url']],
    ]);
    await expectRefused(
      server,
      () => server.graphql(UPDATE, { input: { id: missingId('WebhookEndpoint'), patch: { enabled: false } } }),
      [['NOT_FOUND', ['input', 'id']]],
    );
    await expectRefused(server, () => server.graphql(ROTATE, { input: { id: missingId('WebhookEndpoint') } }), [
      ['NOT_FOUND', ['input', 'id']],
    ]);
    await expectRefused(server, () => server.graphql(DELETE, { input: { id: missingId('WebhookEndpoint') } }), [
      ['NOT_FOUND', ['input', 'id']],
    ]);
  });

  it('of concurrent creates of one URL, one wins and the others are TAKEN; at most 20 endpoints', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.graphql(CREATE, { input: { url: `${receiver.url}/same`, eventTypes: ['user.created'] } }),
      ),
    );
    const payloads = results.map((result) => payloadOf(result));
    expect(payloads.filter((payload) => payload.webhookEndpoint).length).toBe(1);
    for (const payload of payloads.filter((p) => !p.webhookEndpoint)) {
      expectUserErrors(payload, [['TAKEN', ['input', 'url']]]);
      expect(payload.secret).toBeNull();
    }
    expect(await server.db.prisma.webhookEndpoint.count()).toBe(1);
    expect(await server.db.prisma.auditEvent.count({ where: { action: 'webhook.endpoint_created' } })).toBeGreaterThan(
      0,
    );

    for (let i = 1; i < 20; i++) await createEndpoint(['user.created']);
    await expectRefused(
      server,
      () => server.graphql(CREATE, { input: { url: `${receiver.url}/21`, eventTypes: ['user.created'] } }),
      [['LIMIT_EXCEEDED', null]],
    );
  });

  it('is refused without realm:write (and listing without realm:read), writing nothing but the denial', async () => {
    // The denial is an audit event too, written outside any transaction of the request's.
    const watcher = await createEndpoint(['authorization.denied']);
    const readOnly = await server.token(server.admin, 'realm:read');
    const before = await server.db.prisma.webhookEndpoint.count();
    const result = await server.graphql(
      CREATE,
      { input: { url: `${receiver.url}/denied`, eventTypes: ['user.created'] } },
      readOnly,
    );
    expectErrorCode(result, 'FORBIDDEN', 'createWebhookEndpoint');
    expect(await server.db.prisma.webhookEndpoint.count()).toBe(before);
    const usersOnly = await server.token(server.admin, 'users:read');
    expectErrorCode(await server.graphql(ENDPOINTS, {}, usersOnly), 'FORBIDDEN', 'webhookEndpoints');
    const denials = await server.db.prisma.auditEvent.findMany({
      where: { action: 'authorization.denied' },
      orderBy: { id: 'desc' },
      take: 2,
    });
    const messages = await webhookRows(watcher.id);
    expect(messages.map((message) => message.webhookId).sort()).toEqual(
      denials.map((event) => `msg_${event.id}`).sort(),
    );
    expect(messages.map((message) => message.subject)).toEqual(['authorization.denied', 'authorization.denied']);
  });
});

describe('webhook delivery', () => {
  it('writes one message per subscribed enabled endpoint with its event, and delivers it signed per Standard Webhooks', async () => {
    const subscribed = await createEndpoint(['user.created']);
    const other = await createEndpoint(['user.created', 'role.created']);
    const disabled = await createEndpoint(['user.created'], { enabled: false });
    const unrelated = await createEndpoint(['role.deleted']);
    const password = 'Correct-Horse-Battery-Staple-91';
    const userId = await createUser('hooked@example.com', password);

    const event = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'user.created', targetId: rawId(userId) },
    });
    for (const endpoint of [subscribed, other]) expect(await webhookRows(endpoint.id)).toHaveLength(1);
    for (const endpoint of [disabled, unrelated]) expect(await webhookRows(endpoint.id)).toHaveLength(0);

    expect(await worker().runOnce()).toBe(2);
    expect(receiver.received).toHaveLength(2);
    const delivery = receiver.received.find((r) => r.path === new URL(subscribed.url).pathname)!;
    expect(delivery.headers['webhook-id']).toBe(`msg_${event.id}`);
    expect(delivery.headers['content-type']).toBe('application/json');
    const body = verify(subscribed.secret, delivery);
    expect(body).toMatchObject({
      type: 'user.created',
      timestamp: event.at.toISOString(),
      data: { id: event.id, action: 'user.created', targetType: 'User', targetId: rawId(userId) },
    });
    expect(delivery.body).not.toContain(password);
    expect(delivery.body).not.toMatch(/argon2/);
    // Signed with this endpoint's secret: another's does not verify.
    expect(() => verify(other.secret, delivery)).toThrow();
    expect(() =>
      verify(subscribed.secret, { ...delivery, body: delivery.body.replace('user.created', 'user.deleted') }),
    ).toThrow();

    receiver.answerBody = 'x'.repeat(5000);
    await createUser('second@example.com');
    await worker().runOnce();
    const listed = payloadOf(await server.graphql(DELIVERIES, { endpointId: subscribed.id }));
    expect(listed.totalCount).toBe(2);
    expect(listed.nodes[0]).toMatchObject({
      kind: 'webhook',
      subject: 'user.created',
      recipient: subscribed.url,
      status: 'DELIVERED',
      attempts: 1,
      responseStatus: 200,
      responseBody: 'x'.repeat(1024),
      lastError: null,
      webhookEndpoint: { id: subscribed.id },
    });
    expect(listed.nodes[0]!.durationMs).toEqual(expect.any(Number));
    expect(listed.nodes[1]).toMatchObject({ status: 'DELIVERED', responseBody: 'ok', webhookId: `msg_${event.id}` });
  });

  it('keeps the start of an answer 30 days: then the background worker removes it, keeping the rest of the attempt', async () => {
    const endpoint = await createEndpoint(['user.created']);
    receiver.answerBody = 'y'.repeat(200_000);
    for (const name of ['old', 'recent', 'new']) await createUser(`kept-${name}@example.com`);
    expect(await worker().runOnce()).toBe(3);
    const [old, recent, fresh] = await webhookRows(endpoint.id);
    for (const row of [old, recent, fresh]) expect(row!.responseBody).toBe('y'.repeat(1024));
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
    await server.db.prisma.outboxMessage.update({ where: { id: old!.id }, data: { updatedAt: daysAgo(30.5) } });
    await server.db.prisma.outboxMessage.update({ where: { id: recent!.id }, data: { updatedAt: daysAgo(29.5) } });

    // Several processes' workers prune at once; the old body goes, the attempt's outcome stays.
    await Promise.all([worker(), worker(), worker()].map((w) => w.housekeep()));
    const after = await webhookRows(endpoint.id);
    expect(after.map((row) => row.responseBody)).toEqual([null, 'y'.repeat(1024), 'y'.repeat(1024)]);
    expect(after[0]).toMatchObject({
      status: 'DELIVERED',
      responseStatus: 200,
      durationMs: old!.durationMs,
      attempts: 1,
      payload: old!.payload,
    });
    const listed = payloadOf(await server.graphql(DELIVERIES, { endpointId: endpoint.id }));
    const pruned = listed.nodes.find((node) => rawId(node.id) === old!.id)!;
    expect(pruned).toMatchObject({ status: 'DELIVERED', responseStatus: 200, responseBody: null });
    expect((await worker().housekeep()).webhookBodiesPruned).toBe(0);

    // The body of a later attempt is kept again for 30 days from that attempt.
    await server.db.prisma.outboxMessage.update({ where: { id: recent!.id }, data: { updatedAt: daysAgo(31) } });
    expect((await worker().housekeep()).webhookBodiesPruned).toBe(1);
    expect((await webhookRows(endpoint.id)).map((row) => row.responseBody)).toEqual([null, null, 'y'.repeat(1024)]);
  });

  it('keeps answer bodies for the realm’s webhookResponseRetentionDays: a 1-day realm loses a 2-day-old body, a 30-day realm keeps it', async () => {
    const brief = await server.createRealm('brief-webhook-answers');
    const set = payloadOf(
      await server.graphql(RETENTION, { patch: { webhookResponseRetentionDays: 1 } }, await server.token(brief)),
    );
    expect(set.userErrors).toEqual([]);
    expect(set.realm!.settings.webhookResponseRetentionDays).toBe(1);
    const defaults = payloadOf(await server.graphql(RETENTION, { patch: {} }));
    expect(defaults.realm!.settings.webhookResponseRetentionDays).toBe(30);

    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    const answered = async (realmId: string) => {
      const row = await server.db.prisma.outboxMessage.create({
        data: {
          realmId,
          kind: 'webhook',
          recipient: 'https://example.com/hook',
          subject: 'user.created',
          status: 'DELIVERED',
          attempts: 1,
          responseStatus: 200,
          responseBody: 'kept?',
          durationMs: 12,
        },
      });
      await server.db.prisma.outboxMessage.update({ where: { id: row.id }, data: { updatedAt: twoDaysAgo } });
      return row.id;
    };
    const briefRow = await answered(brief.realmId);
    const defaultRow = await answered(server.admin.realmId);
    // Several processes' workers at once.
    await Promise.all([worker(), worker(), worker()].map((w) => w.housekeep()));
    const bodies = async () =>
      Object.fromEntries(
        (
          await server.db.prisma.outboxMessage.findMany({
            where: { id: { in: [briefRow, defaultRow] } },
            select: { id: true, responseBody: true, responseStatus: true },
          })
        ).map((row) => [row.id === briefRow ? 'brief' : 'default', [row.responseBody, row.responseStatus]]),
      );
    expect(await bodies()).toEqual({ brief: [null, 200], default: ['kept?', 200] });
    // Batches of one body and one realm: nothing more to prune.
    expect(await pruneWebhookResponseBodies(server.db.prisma, new Date(), 5_000, 1, 1)).toBe(0);
    // Shortened to a day, the default realm's body goes at the next sweep.
    expect(
      payloadOf(await server.graphql(RETENTION, { patch: { webhookResponseRetentionDays: 1 } })).userErrors,
    ).toEqual([]);
    expect(await pruneWebhookResponseBodies(server.db.prisma, new Date(), 5_000, 1, 1)).toBe(1);
    expect(await bodies()).toEqual({ brief: [null, 200], default: [null, 200] });
    expect(
      payloadOf(await server.graphql(RETENTION, { patch: { webhookResponseRetentionDays: 30 } })).userErrors,
    ).toEqual([]);
  });

  it('refuses a webhookResponseRetentionDays out of 1 to 365, or cleared, with INVALID or REQUIRED, changing nothing', async () => {
    for (const [value, code, message] of [
      [0, 'INVALID', 'webhookResponseRetentionDays must be between 1 and 365 days.'],
      [366, 'INVALID', 'webhookResponseRetentionDays must be between 1 and 365 days.'],
      [-2_147_483_648, 'INVALID', 'webhookResponseRetentionDays must be between 1 and 365 days.'],
      [null, 'REQUIRED', 'webhookResponseRetentionDays cannot be cleared.'],
    ] as const) {
      const refused = await expectUnchanged(server, async () =>
        payloadOf(await server.graphql(RETENTION, { patch: { webhookResponseRetentionDays: value } })),
      );
      expect(refused.realm).toBeNull();
      expect(refused.userErrors).toEqual([
        { code, field: ['input', 'patch', 'webhookResponseRetentionDays'], message },
      ]);
    }
    // Not a whole number: refused by GraphQL itself.
    expectErrorCode(
      await server.graphql(RETENTION, { patch: { webhookResponseRetentionDays: 1.5 } }),
      'BAD_USER_INPUT',
    );
    const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } });
    expect(realm.webhookResponseRetentionDays).toBe(30);
  });

  it('retries after a 500 or a redirect (never followed), with backoff, and goes DEAD after the last attempt', async () => {
    const endpoint = await createEndpoint(['user.created', 'outbox.message_dead']);
    await createUser('retry@example.com');
    receiver.answers.push(500, 302);
    receiver.answerBody = 'down\0for maintenance';
    const w = worker({ maxAttempts: 3, random: () => 0 });
    const startedAt = Date.now();
    expect(await w.runOnce()).toBe(1);
    let [row] = await webhookRows(endpoint.id);
    expect(row).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      responseStatus: 500,
      responseBody: 'down\uFFFDfor maintenance',
      lastError: 'HTTP 500',
    });
    expect(row!.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(startedAt + 30_000);
    expect(await w.runOnce()).toBe(0);

    await makeAllDue();
    expect(await w.runOnce()).toBe(1);
    [row] = await webhookRows(endpoint.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 2, responseStatus: 302, lastError: 'HTTP 302' });
    // The redirect was not followed.
    expect(receiver.received.map((r) => r.path)).toEqual([
      new URL(endpoint.url).pathname,
      new URL(endpoint.url).pathname,
    ]);

    receiver.defaultStatus = 503;
    await makeAllDue();
    expect(await w.runOnce()).toBe(1);
    const rows = await webhookRows(endpoint.id);
    // Its death is audited, but not sent to the endpoint that could not take it.
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'DEAD', attempts: 3, responseStatus: 503, lastError: 'HTTP 503' });
    expect(
      await server.db.prisma.auditEvent.count({ where: { action: 'outbox.message_dead', targetId: rows[0]!.id } }),
    ).toBe(1);
    expect(receiver.received).toHaveLength(3);
  });

  it('records a refused connection and a timeout as failures without a status', async () => {
    const closed = await startReceiver();
    await closed.close();
    const endpoint = await createEndpoint(['user.created'], { url: `${closed.url}/gone` });
    await createUser('unreachable@example.com');
    await worker().runOnce();
    const [row] = await webhookRows(endpoint.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 1, responseStatus: null });
    expect(row!.lastError).toMatch(/ECONNREFUSED/);

    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const attempt = await postWebhook({
      url: `http://127.0.0.1:${port}/`,
      secrets: ['whsec_' + Buffer.alloc(32).toString('base64')],
      webhookId: 'msg_1',
      body: '{}',
      timeoutMs: 300,
      allowPrivateTargets: true,
    });
    silent.close();
    expect(attempt).toMatchObject({ status: null, error: 'No answer within 300 ms.' });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(290);
  });

  it('never reaches a private address when private targets are not allowed (production)', async () => {
    const attempt = await postWebhook({
      url: `${receiver.url}/private`,
      secrets: ['whsec_' + Buffer.alloc(32).toString('base64')],
      webhookId: 'msg_1',
      body: '{}',
      timeoutMs: 1000,
      allowPrivateTargets: false,
    });
    expect(attempt).toMatchObject({ status: null, error: expect.stringMatching(/private/) });
    const named = await postWebhook({
      url: `${receiver.url.replace('127.0.0.1', 'localhost')}/private`,
      secrets: ['whsec_' + Buffer.alloc(32).toString('base64')],
      webhookId: 'msg_1',
      body: '{}',
      timeoutMs: 1000,
      allowPrivateTargets: false,
    });
    expect(named).toMatchObject({ status: null, error: expect.stringMatching(/private address/) });
    expect(receiver.received).toHaveLength(0);
  });

  it('delivers the messages about one user in order: a later one waits while an earlier one is retried', async () => {
    const endpoint = await createEndpoint(['user.created', 'user.updated']);
    const ada = await createUser('ada@example.com');
    await renameUser(ada, 'Ada 1');
    await renameUser(ada, 'Ada 2');
    const bob = await createUser('bob@example.com');
    const w = worker({ random: () => 0 });

    receiver.answers.push(500);
    // Ada's first message fails; her later ones wait behind it; Bob's is not held up.
    expect(await w.runOnce()).toBe(2);
    const rows = await webhookRows(endpoint.id);
    const head = rows[0]!;
    expect(head).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(rows.slice(1, 3).map((row) => row.status)).toEqual(['PENDING', 'PENDING']);
    for (const row of rows.slice(1, 3)) {
      expect(row.attempts).toBe(0);
      expect(row.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(head.nextAttemptAt.getTime());
    }
    expect(rows[3]).toMatchObject({ status: 'DELIVERED', orderingKey: `${rawId(endpoint.id)}:user:${rawId(bob)}` });

    // A new message about Ada is due no sooner than the ones waiting.
    await renameUser(ada, 'Ada 3');
    const newest = (await webhookRows(endpoint.id)).at(-1)!;
    expect(newest.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(head.nextAttemptAt.getTime());
    // Even when due, they are not claimed before the earlier one is delivered.
    await server.db.prisma.outboxMessage.updateMany({
      where: { status: 'PENDING', id: { not: head.id } },
      data: { nextAttemptAt: new Date(0) },
    });
    expect(await w.runOnce()).toBe(0);

    await makeAllDue();
    while ((await w.runOnce()) > 0);
    const sequence = receiver.received
      .map((delivery) => verify(endpoint.secret, delivery))
      .filter((body) => body.data.targetId === rawId(ada))
      .map(
        (body) =>
          `${body.type}:${JSON.stringify((body.data.changes as { name?: { after: string } })?.name?.after ?? '')}`,
      );
    // The failed first attempt, then all in order.
    expect(sequence).toEqual([
      'user.created:""',
      'user.created:""',
      'user.updated:"Ada 1"',
      'user.updated:"Ada 2"',
      'user.updated:"Ada 3"',
    ]);
    expect((await webhookRows(endpoint.id)).every((row) => row.status === 'DELIVERED')).toBe(true);
  });

  it('writes one message per event of a bulk change (recordAudits), each about its user', async () => {
    const endpoint = await createEndpoint(['user.suspended']);
    const users = [await createUser('bulk1@example.com'), await createUser('bulk2@example.com')];
    const bulk = payloadOf(await server.graphql(BULK, { input: { action: 'SUSPEND', ids: users } }));
    expect(bulk).toMatchObject({ changedCount: 2, userErrors: [] });
    const rows = await webhookRows(endpoint.id);
    expect(rows.map((row) => row.orderingKey).sort()).toEqual(
      users.map((user) => `${rawId(endpoint.id)}:user:${rawId(user)}`).sort(),
    );
    expect(await worker().runOnce()).toBe(2);
    const targets = receiver.received.map((delivery) => verify(endpoint.secret, delivery).data.targetId);
    expect(targets.sort()).toEqual(users.map(rawId).sort());
  });

  it('three workers at once deliver each message once and each user’s messages in order, through failures', async () => {
    const endpoint = await createEndpoint(['user.created', 'user.updated']);
    const users = [
      await createUser('p1@example.com'),
      await createUser('p2@example.com'),
      await createUser('p3@example.com'),
    ];
    for (let round = 1; round <= 4; round++) for (const user of users) await renameUser(user, `Round ${round}`);
    const total = users.length * 5;
    // Every third answer is a failure.
    let answered = 0;
    receiver.answers.push(...Array.from({ length: 200 }, () => (++answered % 3 === 0 ? 500 : 200)));
    const workers = [worker({ random: () => 0 }), worker({ random: () => 0 }), worker({ random: () => 0 })];
    for (let pass = 0; pass < 30; pass++) {
      await Promise.all(workers.map((w) => w.runOnce()));
      if ((await server.db.prisma.outboxMessage.count({ where: { status: 'PENDING' } })) === 0) break;
      await makeAllDue();
    }
    const rows = await webhookRows(endpoint.id);
    expect(rows.map((row) => row.status)).toEqual(Array.from({ length: total }, () => 'DELIVERED'));
    // Successful receipts: every message once.
    const delivered = receiver.received.filter((_, index) => (index + 1) % 3 !== 0);
    expect(delivered).toHaveLength(total);
    expect(new Set(delivered.map((delivery) => delivery.headers['webhook-id'])).size).toBe(total);
    for (const user of users) {
      const sequence = delivered
        .map((delivery) => verify(endpoint.secret, delivery))
        .filter((body) => body.data.targetId === rawId(user))
        .map((body) =>
          body.type === 'user.created' ? 'created' : (body.data.changes as { name: { after: string } }).name.after,
        );
      expect(sequence).toEqual(['created', 'Round 1', 'Round 2', 'Round 3', 'Round 4']);
    }
  });

  it('replays a delivered or dead message with the same webhook-id; refuses a pending one or an email', async () => {
    const endpoint = await createEndpoint(['user.created']);
    await createUser('replay@example.com');
    await worker().runOnce();
    const [original] = await webhookRows(endpoint.id);
    expect(original!.status).toBe('DELIVERED');
    const globalId = payloadOf(await server.graphql(DELIVERIES, { endpointId: endpoint.id })).nodes[0]!.id;

    const replayed = payloadOf(await server.graphql(REPLAY, { input: { id: globalId } }));
    expect(replayed.userErrors).toEqual([]);
    expect(replayed.message).toMatchObject({ status: 'PENDING', webhookId: original!.webhookId });
    await expectRefused(server, () => server.graphql(REPLAY, { input: { id: replayed.message!.id } }), [
      ['INVALID_STATE', ['input', 'id']],
    ]);

    await worker().runOnce();
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    verify(endpoint.secret, receiver.received[1]!);
    expect(
      await server.db.prisma.auditEvent.findFirst({
        where: { action: 'webhook.delivery_replayed', targetId: rawId(replayed.message!.id) },
      }),
    ).toMatchObject({ changes: { replayOf: original!.id } });

    const email = await server.db.prisma.outboxMessage.create({
      data: { realmId: server.admin.realmId, kind: 'email.test', recipient: 'a@example.com', subject: 's' },
    });
    const { encodeGlobalId } = await import('../../src/graphql/ids.ts');
    await expectRefused(
      server,
      () => server.graphql(REPLAY, { input: { id: encodeGlobalId('OutboxMessage', email.id) } }),
      [['NOT_FOUND', ['input', 'id']]],
    );
    await expectRefused(server, () => server.graphql(REPLAY, { input: { id: missingId('OutboxMessage') } }), [
      ['NOT_FOUND', ['input', 'id']],
    ]);
    const readOnly = await server.token(server.admin, 'realm:read');
    expectErrorCode(
      await server.graphql(REPLAY, { input: { id: globalId } }, readOnly),
      'FORBIDDEN',
      'replayWebhookDelivery',
    );
  });

  it('signs with the rotated secret from then on, and with the replaced one too in its window; deleting an endpoint drops its pending messages', async () => {
    const endpoint = await createEndpoint(['user.created']);
    const rotated = payloadOf(await server.graphql(ROTATE, { input: { id: endpoint.id } }));
    await createUser('rotated@example.com');
    await worker().runOnce();
    verify(rotated.secret!, receiver.received[0]!);
    expect(() => verify(endpoint.secret, receiver.received[0]!)).toThrow();
    expect(String(receiver.received[0]!.headers['webhook-signature']).split(' ')).toHaveLength(1);

    const overlapping = payloadOf(
      await server.graphql(ROTATE, { input: { id: endpoint.id, previousSecretValidForSeconds: 3600 } }),
    );
    await createUser('overlap@example.com');
    await worker().runOnce();
    // Two signatures: receivers holding either secret accept it.
    expect(String(receiver.received[1]!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    verify(overlapping.secret!, receiver.received[1]!);
    verify(rotated.secret!, receiver.received[1]!);
    // Once the window has passed, the replaced secret signs no more.
    await server.db.prisma.webhookEndpoint.update({
      where: { id: rawId(endpoint.id) },
      data: { previousSecretExpiresAt: new Date(Date.now() - 1000) },
    });
    await createUser('after-window@example.com');
    await worker().runOnce();
    verify(overlapping.secret!, receiver.received[2]!);
    expect(() => verify(rotated.secret!, receiver.received[2]!)).toThrow();
    await expectRefused(
      server,
      () => server.graphql(ROTATE, { input: { id: endpoint.id, previousSecretValidForSeconds: 7 * 86_400 + 1 } }),
      [['INVALID', ['input', 'previousSecretValidForSeconds']]],
    );
    receiver.received.length = 0;

    await createUser('dropped@example.com');
    expect(await webhookRows(endpoint.id)).toHaveLength(4);
    payloadOf(await server.graphql(DELETE, { input: { id: endpoint.id } }));
    expect(await server.db.prisma.outboxMessage.count({ where: { kind: 'webhook' } })).toBe(0);
    expect(await worker().runOnce()).toBe(0);
    expect(receiver.received).toHaveLength(0);
  });

  it('a change that rolls back writes no webhook message', async () => {
    await createEndpoint(['user.created']);
    await createUser('taken@example.com');
    const before = await server.db.prisma.outboxMessage.count();
    const result = await server.graphql(CREATE_USER, { input: { email: 'taken@example.com' } });
    expect(payloadOf(result).userErrors.map((e) => e.code)).toEqual(['TAKEN']);
    expect(await server.db.prisma.outboxMessage.count()).toBe(before);
  });
});
