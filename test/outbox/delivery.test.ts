import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { smtpTransport } from '../../src/modules/mail/mail.transport.ts';
import { claimDueMessages } from '../../src/modules/outbox/outbox.queries.ts';
import { backoffMs, OutboxWorker, type OutboxWorkerOptions } from '../../src/modules/outbox/outbox.worker.ts';
import { scopeToRealm } from '../../src/db/realm-scope.ts';
import { graphql } from '../helpers/documents.ts';
import { expectErrorCode, expectRefused, expectUserErrors, missingId, payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailbox, type TestMailbox } from '../helpers/smtp.ts';
import { expectUnchanged } from '../helpers/state.ts';

const SEND = graphql(`
  mutation OutboxDeliverySend($input: SendTestEmailInput!) {
    sendTestEmail(input: $input) {
      message {
        id
        kind
        recipient
        subject
        status
        attempts
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const RETRY = graphql(`
  mutation OutboxDeliveryRetry($input: RetryOutboxMessageInput!) {
    retryOutboxMessage(input: $input) {
      message {
        id
        status
        attempts
        lastError
        nextAttemptAt
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const LIST = graphql(`
  query OutboxDeliveryList($first: Int, $after: String, $filter: OutboxMessageFilter) {
    outboxMessages(first: $first, after: $after, filter: $filter) {
      totalCount
      nodes {
        id
        kind
        recipient
        subject
        status
        attempts
        nextAttemptAt
        lastError
        deliveredAt
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const SETTINGS = graphql(`
  mutation OutboxDeliverySettings($input: UpdateRealmSettingsInput!) {
    updateRealmSettings(input: $input) {
      realm {
        settings {
          mailFrom
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

let server: TestServer;
let mailbox: TestMailbox;

const worker = (options: Partial<OutboxWorkerOptions> = {}) =>
  new OutboxWorker({
    prisma: server.db.prisma,
    key: server.outboxKey,
    email: smtpTransport(mailbox.url, 'Roster <no-reply@localhost>'),
    log: createLogger('silent'),
    baseBackoffMs: 60_000,
    ...options,
  });

const send = async (to: string) => payloadOf(await server.graphql(SEND, { input: { to } }));
const messageRow = (globalId: string) =>
  server.db.prisma.outboxMessage.findUniqueOrThrow({ where: { id: rawId(globalId) } });
/** Makes a pending message due now, as if its backoff had passed. */
const makeDue = (globalId: string) =>
  server.db.prisma.outboxMessage.update({ where: { id: rawId(globalId) }, data: { nextAttemptAt: new Date(0) } });

beforeAll(async () => {
  server = await startTestServer();
  mailbox = await startMailbox();
});

afterAll(async () => {
  await mailbox?.close();
  await server?.close();
});

beforeEach(async () => {
  mailbox.refuse = false;
  mailbox.received.length = 0;
  // Every test starts with an empty outbox: what one leaves pending must not reach another's mailbox.
  await server.db.prisma.outboxMessage.deleteMany({});
  await server.graphql(SETTINGS, { input: { patch: { mailFrom: null } } });
});

describe('sendTestEmail and delivery', () => {
  it('writes the message in the transaction with its audit event, sealed, and the worker delivers it once', async () => {
    const payload = await send('ada@example.com');
    expect(payload.userErrors).toEqual([]);
    expect(payload.message).toMatchObject({
      kind: 'email.test',
      recipient: 'ada@example.com',
      subject: 'Test message from default',
      status: 'PENDING',
      attempts: 0,
    });
    const row = await messageRow(payload.message!.id);
    // The body is sealed at rest: neither its text nor the recipient appears in it.
    expect(row.sealedBody).toMatch(/^v1\./);
    expect(row.sealedBody).not.toContain('Email delivery works');
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId: server.admin.realmId, action: 'mail.test_sent' },
    });
    expect(audit).toMatchObject({ targetType: 'OutboxMessage', targetId: row.id });

    expect(await worker().runOnce()).toBe(1);
    const [mail] = await mailbox.waitFor(1);
    expect(mail!.subject).toBe('Test message from default');
    expect(mail!.to).toMatchObject({ value: [{ address: 'ada@example.com' }] });
    expect(mail!.from).toMatchObject({ value: [{ address: 'no-reply@localhost', name: 'Roster' }] });
    expect(mail!.text).toContain('This is a test message from default, sent to ada@example.com.');
    expect(mail!.html).toContain('<p>This is a test message from default, sent to ada@example.com.');

    const delivered = await messageRow(payload.message!.id);
    expect(delivered).toMatchObject({ status: 'DELIVERED', attempts: 1, sealedBody: null, lastError: null });
    expect(delivered.deliveredAt).toBeInstanceOf(Date);
    // Nothing is due any more: a second round sends nothing again.
    expect(await worker().runOnce()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mailbox.received).toHaveLength(1);
  });

  it('sends from the realm’s mailFrom, with its display name HTML-escaped in the HTML part only', async () => {
    await server.db.prisma.realm.update({
      where: { id: server.admin.realmId },
      data: { displayName: 'Tom & <Jerry>' },
    });
    try {
      const settings = payloadOf(
        await server.graphql(SETTINGS, { input: { patch: { mailFrom: 'Example Support <support@example.com>' } } }),
      );
      expect(settings.realm?.settings.mailFrom).toBe('Example Support <support@example.com>');
      const payload = await send('bob@example.com');
      expect(payload.message?.subject).toBe('Test message from Tom & <Jerry>');
      await worker().runOnce();
      const [mail] = await mailbox.waitFor(1);
      expect(mail!.from).toMatchObject({ value: [{ address: 'support@example.com', name: 'Example Support' }] });
      expect(mail!.subject).toBe('Test message from Tom & <Jerry>');
      expect(mail!.text).toContain('from Tom & <Jerry>, sent to');
      expect(mail!.html).toContain('from Tom &amp; &lt;Jerry&gt;, sent to');
      expect(mail!.html).not.toContain('<Jerry>');
    } finally {
      await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { displayName: null } });
    }
  });

  it('refuses a bad sender and changes nothing', async () => {
    for (const [mailFrom, code] of [
      ['not an address', 'INVALID'],
      ['a@example.com, b@example.com', 'INVALID'],
      ['Evil\r\nBcc: x@example.com <a@example.com>', 'INVALID'],
      [`${'a'.repeat(320)}@example.com`, 'TOO_LONG'],
    ] as const) {
      await expectRefused(server, () => server.graphql(SETTINGS, { input: { patch: { mailFrom } } }), [
        [code, ['input', 'patch', 'mailFrom']],
      ]);
    }
  });

  it('refuses a bad recipient before anything is written', async () => {
    const refusedAt = async (to: string) =>
      expectUnchanged(server, () => server.graphql(SEND, { input: { to } })).then((result) =>
        expectErrorCode(result, 'BAD_USER_INPUT'),
      );
    await refusedAt('not an address');
    for (const local of ['a'.repeat(250), 'a'.repeat(100_000)]) {
      await expectRefused(server, () => server.graphql(SEND, { input: { to: `${local}@example.com` } }), [
        ['TOO_LONG', ['input', 'to']],
      ]);
    }
  });

  it('is refused without realm:write, and writes nothing but the denial', async () => {
    const token = await server.token(server.admin, 'realm:read');
    const before = await server.db.prisma.outboxMessage.count();
    const result = await server.graphql(SEND, { input: { to: 'eve@example.com' } }, token);
    expectErrorCode(result, 'FORBIDDEN', 'sendTestEmail');
    expect(await server.db.prisma.outboxMessage.count()).toBe(before);
  });
});

describe('retries and the dead letter', () => {
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 0.999_999)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(20, 1000, 60_000, () => 0.5)).toBe(45_000);
  });

  it('retries a refused message later, makes it DEAD after the last attempt, and an admin retry delivers it', async () => {
    const { message } = await send('carol@example.com');
    mailbox.refuse = true;
    const w = worker({ maxAttempts: 2, random: () => 0 });
    const startedAt = Date.now();
    expect(await w.runOnce()).toBe(1);
    let row = await messageRow(message!.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(row.lastError).toMatch(/550/);
    // First failure: half of the base backoff (jitter 0).
    expect(row.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(startedAt + 30_000);
    expect(row.sealedBody).not.toBeNull();
    // Not due yet: nothing is attempted.
    expect(await w.runOnce()).toBe(0);

    await makeDue(message!.id);
    expect(await w.runOnce()).toBe(1);
    row = await messageRow(message!.id);
    expect(row).toMatchObject({ status: 'DEAD', attempts: 2 });
    const dead = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId: server.admin.realmId, action: 'outbox.message_dead', targetId: row.id },
    });
    expect(dead).toMatchObject({ actorType: 'system', actorId: 'system' });

    const listed = payloadOf(await server.graphql(LIST, { filter: { statuses: ['DEAD'], kinds: ['email.test'] } }));
    expect(listed.totalCount).toBe(1);
    expect(listed.nodes[0]).toMatchObject({ id: message!.id, status: 'DEAD', attempts: 2, nextAttemptAt: null });
    expect(listed.nodes[0]!.lastError).toMatch(/550/);

    mailbox.refuse = false;
    const retried = payloadOf(await server.graphql(RETRY, { input: { id: message!.id } }));
    expect(retried.userErrors).toEqual([]);
    expect(retried.message).toMatchObject({ status: 'PENDING', attempts: 0, lastError: null });
    expect(
      await server.db.prisma.auditEvent.count({
        where: { realmId: server.admin.realmId, action: 'outbox.message_retried', targetId: row.id },
      }),
    ).toBe(1);
    expect(await w.runOnce()).toBe(1);
    await mailbox.waitFor(1);
    expect(await messageRow(message!.id)).toMatchObject({ status: 'DELIVERED', attempts: 1 });

    // Delivered: a retry is refused, and changes nothing.
    await expectRefused(server, () => server.graphql(RETRY, { input: { id: message!.id } }), [
      ['INVALID_STATE', ['input', 'id']],
    ]);
  });

  it('refuses to retry a pending message or an unknown one', async () => {
    const { message } = await send('dan@example.com');
    await expectRefused(server, () => server.graphql(RETRY, { input: { id: message!.id } }), [
      ['INVALID_STATE', ['input', 'id']],
    ]);
    await expectRefused(server, () => server.graphql(RETRY, { input: { id: missingId('OutboxMessage') } }), [
      ['NOT_FOUND', ['input', 'id']],
    ]);
    const wrongType = await server.graphql(RETRY, { input: { id: missingId('User') } });
    expectErrorCode(wrongType, 'BAD_USER_INPUT', 'retryOutboxMessage');
  });

  it('two concurrent retries of one dead message: one wins, the other is refused', async () => {
    const { message } = await send('erin@example.com');
    await server.db.prisma.outboxMessage.update({
      where: { id: rawId(message!.id) },
      data: { status: 'DEAD', attempts: 8, lastError: 'gave up' },
    });
    const results = await Promise.all([1, 2].map(() => server.graphql(RETRY, { input: { id: message!.id } })));
    const payloads = results.map((result) => payloadOf(result));
    expect(payloads.filter((p) => p.userErrors.length === 0)).toHaveLength(1);
    const loser = payloads.find((p) => p.userErrors.length > 0)!;
    expectUserErrors(loser, [['INVALID_STATE', ['input', 'id']]]);
    expect(
      await server.db.prisma.auditEvent.count({
        where: { realmId: server.admin.realmId, action: 'outbox.message_retried', targetId: rawId(message!.id) },
      }),
    ).toBe(1);
  });
});

describe('several workers', () => {
  it('deliver each message exactly once when they run at the same time', async () => {
    const count = 12;
    for (let i = 0; i < count; i++) await send(`many${i}@example.com`);
    const workers = [worker({ batchSize: 3 }), worker({ batchSize: 3 }), worker({ batchSize: 3 })];
    let handled = 0;
    for (let round = 0; round < 10 && handled < count; round++) {
      const rounds = await Promise.all(workers.map((w) => w.runOnce()));
      handled += rounds.reduce((a, b) => a + b, 0);
    }
    expect(handled).toBe(count);
    await mailbox.waitFor(count);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const recipients = mailbox.received.map((mail) => (mail.to as { value: { address: string }[] }).value[0]!.address);
    expect(recipients.sort()).toEqual(Array.from({ length: count }, (_, i) => `many${i}@example.com`).sort());
    expect(await server.db.prisma.outboxMessage.count({ where: { status: 'DELIVERED' } })).toBe(count);
  });

  it('deliver the messages of every realm, each from its realm’s sender', async () => {
    const other = await server.createRealm('outbox-second');
    const otherToken = await server.token(other);
    await server.db.prisma.realm.update({ where: { id: other.realmId }, data: { mailFrom: 'second@example.com' } });
    await send('first-realm@example.com');
    payloadOf(await server.graphql(SEND, { input: { to: 'second-realm@example.com' } }, otherToken));
    expect(await worker().runOnce()).toBe(2);
    const mails = await mailbox.waitFor(2);
    const fromOf = (to: string) =>
      mails.find((mail) => (mail.to as { value: { address: string }[] }).value[0]!.address === to)!.from!.value[0]!
        .address;
    expect(fromOf('first-realm@example.com')).toBe('no-reply@localhost');
    expect(fromOf('second-realm@example.com')).toBe('second@example.com');
    // Each realm lists only its own.
    const listed = payloadOf(await server.graphql(LIST, {}, otherToken));
    expect(listed.nodes.map((n) => n.recipient)).toEqual(['second-realm@example.com']);
  });

  it('a claimed message is not claimed again until its lease ends', async () => {
    const { message } = await send('lease@example.com');
    const db = scopeToRealm(server.db.prisma, server.admin.realmId);
    const claimed = await claimDueMessages(db, server.admin.realmId, 10, 60_000);
    expect(claimed.map((m) => m.id)).toEqual([rawId(message!.id)]);
    // The claimer "died": another worker finds nothing due until the lease ends.
    expect(await worker().runOnce()).toBe(0);
    await makeDue(message!.id);
    expect(await worker().runOnce()).toBe(1);
    await mailbox.waitFor(1);
    expect(await messageRow(message!.id)).toMatchObject({ status: 'DELIVERED', attempts: 2 });
  });

  it('start and stop: the running worker delivers on its own and stops cleanly', async () => {
    const w = worker({ pollMs: 50 });
    w.start();
    try {
      await send('loop@example.com');
      await mailbox.waitFor(1);
    } finally {
      await w.stop();
    }
    const { message } = await send('after-stop@example.com');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mailbox.received).toHaveLength(1);
    expect((await messageRow(message!.id)).status).toBe('PENDING');
  });
});

describe('outboxMessages', () => {
  it('lists newest first with filters, pages and a constant number of statements', async () => {
    for (let i = 0; i < 5; i++) await send(`list${i}@example.com`);
    const all = payloadOf(await server.graphql(LIST, { first: 2 }));
    expect(all.totalCount).toBe(5);
    expect(all.nodes.map((n) => n.recipient)).toEqual(['list4@example.com', 'list3@example.com']);
    const next = payloadOf(await server.graphql(LIST, { first: 2, after: all.pageInfo.endCursor }));
    expect(next.nodes.map((n) => n.recipient)).toEqual(['list2@example.com', 'list1@example.com']);
    expect(payloadOf(await server.graphql(LIST, { filter: { statuses: ['DELIVERED'] } })).totalCount).toBe(0);
    expect(payloadOf(await server.graphql(LIST, { filter: { kinds: ['email.other'] } })).totalCount).toBe(0);

    const statements = async (first: number) => {
      await server.graphql(LIST, { first });
      const { count } = await server.db.statements.during(() => server.graphql(LIST, { first }));
      return count;
    };
    expect(await statements(1)).toBe(await statements(5));

    const long = await server.graphql(LIST, { filter: { kinds: ['x'.repeat(101)] } });
    expectErrorCode(long, 'BAD_USER_INPUT', 'outboxMessages');
  });
});
