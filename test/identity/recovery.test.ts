import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { createLogger } from '../../src/logger.ts';
import { openBody } from '../../src/modules/outbox/outbox.service.ts';
import { OutboxWorker, type OutboxWorkerOptions } from '../../src/modules/outbox/outbox.worker.ts';
import { hashPassword, verifyPassword } from '../../src/modules/users/users.passwords.ts';
import { Browser, csrfOf } from '../helpers/browser.ts';
import { graphql } from '../helpers/documents.ts';
import { createApplication, makeFactor, makeSession, makeUser } from '../helpers/fixtures.ts';
import { expectErrorCode, expectRefused, missingId, payloadOf } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { relyingParty, startSignIn, submitSignIn } from '../helpers/sign-in.ts';
import { expectUnchanged } from '../helpers/state.ts';

const LIST = graphql(`
  query RecoveryList($filter: RecoveryRequestFilter) {
    recoveryRequests(filter: $filter) {
      totalCount
      edges {
        node {
          id
          status
          reason
          expiresAt
          decidedBy
          denialReason
          user {
            id
            email
          }
        }
      }
    }
  }
`);

const APPROVE = graphql(`
  mutation RecoveryApprove($input: ApproveRecoveryRequestInput!) {
    approveRecoveryRequest(input: $input) {
      recoveryRequest {
        id
        status
        expiresAt
      }
      message {
        kind
        recipient
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const DENY = graphql(`
  mutation RecoveryDeny($input: DenyRecoveryRequestInput!) {
    denyRecoveryRequest(input: $input) {
      recoveryRequest {
        id
        status
        denialReason
      }
      message {
        kind
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const CALLBACK = 'https://spa.example.com/callback';
const OLD_PASSWORD = 'Granite-lantern-rests-1182';
const NEW_PASSWORD = 'Quiet-orchard-blooms-7734';
const REASON = 'My phone fell into the lake, with the authenticator app on it.';

let server: TestServer;
let clientId: string;

async function userWithAuthenticator(email: string) {
  const user = await makeUser(server, server.admin.realmId, {
    email,
    emailVerified: true,
    passwordHash: await hashPassword(OLD_PASSWORD),
    passwordAlgorithm: 'ARGON2ID',
  });
  await makeFactor(server, server.admin.realmId, user.id, 'TOTP');
  await makeFactor(server, server.admin.realmId, user.id, 'RECOVERY_CODES');
  return user;
}

/** A request row made directly (the hosted page's part is tested on its own). */
async function makeRequest(userId: string, data: { expiresAt?: Date; status?: 'PENDING' | 'APPROVED' } = {}) {
  const row = await server.db.prisma.recoveryRequest.create({
    data: {
      realmId: server.admin.realmId,
      userId,
      reason: REASON,
      expiresAt: data.expiresAt ?? new Date(Date.now() + 3600_000),
      status: data.status ?? 'PENDING',
    },
  });
  return { id: row.id, globalId: encodeGlobalId('RecoveryRequest', row.id) };
}

async function newestBodyTo(recipient: string, count = 1) {
  await expect
    .poll(() => server.db.prisma.outboxMessage.count({ where: { recipient } }), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(count);
  const row = await server.db.prisma.outboxMessage.findFirstOrThrow({ where: { recipient }, orderBy: { id: 'desc' } });
  return { kind: row.kind, ...openBody(server.outboxKey, row)! };
}

/** A process's background worker (no SMTP server: it delivers webhooks only, and sweeps). */
const worker = (options: Partial<OutboxWorkerOptions> = {}) =>
  new OutboxWorker({
    prisma: server.db.prisma,
    key: server.outboxKey,
    email: null,
    log: createLogger('silent'),
    ...options,
  });

const linkIn = (text: string) => /(http:\/\/\S+\?token=[A-Za-z0-9_-]+)/.exec(text)![1]!;
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

async function open(url: string) {
  const browser = new Browser(server.url);
  const response = await browser.request(url);
  return { browser, status: response.status, html: await response.text() };
}

async function post(url: string, browser: Browser, form: Record<string, string>) {
  const response = await browser.request(url, { method: 'POST', form });
  return { status: response.status, html: await response.text() };
}

/** Signs in with the password up to the code step; the recovery page of that sign-in. */
async function recoveryPageOf(email: string) {
  const config = await relyingParty(server.issuer(), clientId);
  const started = await startSignIn(server.url, config, CALLBACK);
  const landed = await submitSignIn(started, email, OLD_PASSWORD);
  if (!('page' in landed)) throw new Error('signed in without a second factor');
  const codeStep = await landed.page.text();
  expect(codeStep).toContain('Enter your code');
  expect(codeStep).toContain(`href="${started.formUrl.split('/').pop()}/recovery"`);
  const url = `${started.formUrl}/recovery`;
  const page = await started.browser.request(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  const ask = async (identifier: string, reason: string, csrf = csrfOf(html)) =>
    post(url, started.browser, { csrf, identifier, reason });
  return { html, ask };
}

const audits = (action: string) =>
  server.db.prisma.auditEvent.findMany({ where: { realmId: server.admin.realmId, action }, orderBy: { id: 'asc' } });

beforeAll(async () => {
  server = await startTestServer();
  ({ clientId } = await createApplication(server, { name: 'Recovery SPA', type: 'SPA', redirectUris: [CALLBACK] }));
});

afterAll(async () => {
  await server?.close();
});

describe('account recovery requests', () => {
  it('from the code step to a recovered account: request, approval, link, new password, enrolment at next sign-in', async () => {
    const email = 'lost@example.com';
    const user = await userWithAuthenticator(email);
    const session = await makeSession(server, server.admin.realmId, user.id);
    const { html, ask } = await recoveryPageOf(email);
    expect(html).toContain('What happened?');

    const answer = await ask(email, REASON);
    expect(answer.status).toBe(200);
    expect(answer.html).toContain('your request is now with your administrator');
    await expect
      .poll(() => server.db.prisma.recoveryRequest.count({ where: { userId: user.id } }), { timeout: 10_000 })
      .toBe(1);
    // The same answer for an unknown identifier, and nothing stored for it.
    const unknown = await expectUnchanged(
      server,
      async () => {
        const result = await ask('nobody@example.com', REASON);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return result;
      },
      { ignore: ['RateLimit'] },
    );
    expect(unknown).toEqual(answer);
    // Asking again while one waits stores nothing new.
    await ask(email, 'Again, please.');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await server.db.prisma.recoveryRequest.count({ where: { userId: user.id } })).toBe(1);
    expect((await audits('recovery_request.submitted')).at(-1)).toMatchObject({ actorType: 'user', actorId: user.id });

    const listed = payloadOf(await server.graphql(LIST, { filter: { status: 'PENDING' } }));
    const node = listed.edges.find((edge) => edge.node.user.email === email)!.node;
    expect(node).toMatchObject({ status: 'PENDING', reason: REASON, user: { id: user.globalId } });

    const approved = payloadOf(await server.graphql(APPROVE, { input: { id: node.id } }));
    expect(approved.userErrors).toEqual([]);
    expect(approved.recoveryRequest).toMatchObject({ status: 'APPROVED' });
    expect(approved.message).toMatchObject({ kind: 'email.account_recovery', recipient: email });
    expect(new Date(approved.recoveryRequest!.expiresAt).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const body = await newestBodyTo(email);
    const url = linkIn(body.text);
    expect(url).toMatch(new RegExp(`^${server.url}/oauth2/default/recover-account\\?token=`));

    const opened = await expectUnchanged(server, () => open(url));
    expect(opened.status).toBe(200);
    const form = { csrf: csrfOf(opened.html), token: tokenOf(url) };
    const weak = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, password: 'lost', confirmPassword: 'lost' }),
    );
    expect(weak.status).toBe(400);
    const forged = await expectUnchanged(server, () =>
      post(url, opened.browser, { ...form, csrf: 'x', password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }),
    );
    expect(forged.status).toBe(403);
    const done = await post(url, opened.browser, { ...form, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(done.status).toBe(200);
    expect(done.html).toContain('you will set up an authenticator app then');

    const after = await server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(await verifyPassword(after.passwordHash!, 'ARGON2ID', NEW_PASSWORD)).toBe(true);
    expect(after.mfaEnrolmentRequired).toBe(true);
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: user.id } })).toBe(0);
    expect((await server.db.prisma.session.findUniqueOrThrow({ where: { id: session.id } })).revokedAt).not.toBeNull();
    const completed = payloadOf(await server.graphql(LIST, { filter: { status: 'COMPLETED' } }));
    expect(completed.edges.map((edge) => edge.node.id)).toEqual([node.id]);
    expect((await audits('recovery_request.completed'))[0]).toMatchObject({ actorType: 'user', actorId: user.id });
    expect(await audits('recovery_request.approved')).toHaveLength(1);

    // Used once.
    expect((await open(url)).status).toBe(400);

    // The realm's MFA policy is OPTIONAL, yet the next sign-in sets up an authenticator first.
    const config = await relyingParty(server.issuer(), clientId);
    const landed = await submitSignIn(await startSignIn(server.url, config, CALLBACK), email, NEW_PASSWORD);
    if (!('page' in landed)) throw new Error('signed in without enrolling');
    expect(await landed.page.text()).toContain('Set up an authenticator');
  });

  it('refuses bad reasons and forged forms on the page; users without a second factor get no request', async () => {
    const email = 'page@example.com';
    await userWithAuthenticator(email);
    const { ask, html } = await recoveryPageOf(email);
    for (const reason of ['', '   ', 'x'.repeat(1001), 'bell\u0007', 'bidi\u202Eoverride']) {
      const refused = await expectUnchanged(server, () => ask(email, reason), { ignore: ['RateLimit'] });
      expect(refused.status).toBe(400);
      expect(refused.html).toContain('role="alert"');
    }
    const forged = await expectUnchanged(server, () => ask(email, REASON, 'forged'));
    expect(forged.status).toBe(403);
    expect(csrfOf(html)).not.toBe('forged');
    // 1,000 characters of 4 bytes each fit in the form.
    const wide = await ask(email, '\u{1F30A}'.repeat(1000));
    expect(wide.status).toBe(200);
    await expect
      .poll(() => server.db.prisma.recoveryRequest.count({ where: { user: { email } } }), { timeout: 10_000 })
      .toBe(1);

    const plain = await makeUser(server, server.admin.realmId, { email: 'plain@example.com' });
    await ask('plain@example.com', REASON);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await server.db.prisma.recoveryRequest.count({ where: { userId: plain.id } })).toBe(0);
  });

  it('counts every request against the sign-in limits and answers 429 past them', async () => {
    const email = 'limited@example.com';
    await userWithAuthenticator(email);
    const { ask } = await recoveryPageOf(email);
    let last = { status: 200, html: '' };
    for (let i = 0; i < 50 && last.status !== 429; i++) last = await ask(`someone-${i}@example.com`, REASON);
    expect(last.status).toBe(429);
    expect(last.html).toContain('Too many failed sign-ins');
  });

  it('denies with a reason emailed to the user; a decided request cannot be decided again', async () => {
    const email = 'denied@example.com';
    const user = await userWithAuthenticator(email);
    const request = await makeRequest(user.id);
    const deny =
      (reason: string, id = request.globalId) =>
      () =>
        server.graphql(DENY, { input: { id, reason } });
    await expectRefused(server, deny(''), [['REQUIRED', ['input', 'reason']]]);
    await expectRefused(server, deny('y'.repeat(1001)), [['TOO_LONG', ['input', 'reason']]]);
    await expectRefused(server, deny('z'.repeat(100_000)), [['TOO_LONG', ['input', 'reason']]]);
    await expectRefused(server, deny('tab\u0007bell'), [['INVALID', ['input', 'reason']]]);
    await expectRefused(server, deny('No such thing', missingId('RecoveryRequest')), [['NOT_FOUND', ['input', 'id']]]);

    const denied = payloadOf(await deny('We could not confirm it was you. Call the help desk.')());
    expect(denied).toMatchObject({
      recoveryRequest: { status: 'DENIED', denialReason: 'We could not confirm it was you. Call the help desk.' },
      message: { kind: 'email.account_recovery_denied' },
      userErrors: [],
    });
    const body = await newestBodyTo(email);
    expect(body.text).toContain('We could not confirm it was you.');
    expect((await audits('recovery_request.denied')).at(-1)).toMatchObject({ targetId: request.id });

    await expectRefused(server, () => server.graphql(APPROVE, { input: { id: request.globalId } }), [
      ['INVALID_STATE', ['input', 'id']],
    ]);
    await expectRefused(server, deny('Again'), [['INVALID_STATE', ['input', 'id']]]);

    const token = await server.token(server.admin, 'users:read');
    const other = await makeRequest(user.id);
    const approve = await expectUnchanged(server, () =>
      server.graphql(APPROVE, { input: { id: other.globalId } }, token),
    );
    expectErrorCode(approve, 'FORBIDDEN', 'approveRecoveryRequest');
    const denial = await expectUnchanged(server, () =>
      server.graphql(DENY, { input: { id: other.globalId, reason: 'No' } }, token),
    );
    expectErrorCode(denial, 'FORBIDDEN', 'denyRecoveryRequest');
    expectErrorCode(await server.graphql(LIST, {}, await server.token(server.admin, 'users:write')), 'FORBIDDEN');
  });

  it('requests expire: unanswered, and approved with an unused link; an expired one cannot be answered', async () => {
    const user = await userWithAuthenticator('late@example.com');
    const stale = await makeRequest(user.id, { expiresAt: new Date(Date.now() - 1000) });
    await expectRefused(server, () => server.graphql(APPROVE, { input: { id: stale.globalId } }), [
      ['EXPIRED', ['input', 'id']],
    ]);
    await expectRefused(server, () => server.graphql(DENY, { input: { id: stale.globalId, reason: 'Too late' } }), [
      ['EXPIRED', ['input', 'id']],
    ]);
    const expired = payloadOf(await server.graphql(LIST, { filter: { status: 'EXPIRED' } }));
    expect(expired.edges.map((edge) => edge.node.id)).toContain(stale.globalId);
    const pending = payloadOf(await server.graphql(LIST, { filter: { status: 'PENDING' } }));
    expect(pending.edges.map((edge) => edge.node.id)).not.toContain(stale.globalId);

    const fresh = await makeRequest(user.id);
    expect(payloadOf(await server.graphql(APPROVE, { input: { id: fresh.globalId } })).userErrors).toEqual([]);
    const url = linkIn((await newestBodyTo('late@example.com')).text);
    const past = new Date(Date.now() - 1000);
    await server.db.prisma.oneTimeLink.updateMany({ where: { userId: user.id }, data: { expiresAt: past } });
    await server.db.prisma.recoveryRequest.update({ where: { id: fresh.id }, data: { expiresAt: past } });
    expect((await open(url)).status).toBe(400);
    const listed = payloadOf(await server.graphql(LIST, { filter: { status: 'EXPIRED' } }));
    expect(listed.edges.map((edge) => edge.node.id)).toContain(fresh.globalId);
    await expectRefused(server, () => server.graphql(APPROVE, { input: { id: fresh.globalId } }), [
      ['EXPIRED', ['input', 'id']],
    ]);
    expect(await server.db.prisma.mfaFactor.count({ where: { userId: user.id } })).toBe(2);
  });

  it('the background worker writes each expiry once, with its audit event, however many processes sweep', async () => {
    const user = await userWithAuthenticator('swept@example.com');
    const past = new Date(Date.now() - 60_000);
    const unanswered = await makeRequest(user.id, { expiresAt: past });
    const unusedLink = await makeRequest(user.id, { expiresAt: past, status: 'APPROVED' });
    const waiting = await makeRequest(user.id);
    const denied = await server.db.prisma.recoveryRequest.create({
      data: { realmId: server.admin.realmId, userId: user.id, reason: REASON, expiresAt: past, status: 'DENIED' },
    });
    const other = await server.createRealm('sweep-elsewhere');
    const stranger = await makeUser(server, other.realmId, { email: 'far@example.com' });
    const elsewhere = await server.db.prisma.recoveryRequest.create({
      data: { realmId: other.realmId, userId: stranger.id, reason: REASON, expiresAt: past },
    });
    const expiredIds = [unanswered.id, unusedLink.id, elsewhere.id];
    const expiries = () =>
      server.db.prisma.auditEvent.findMany({
        where: { action: 'recovery_request.expired', targetId: { in: expiredIds } },
      });

    // Three processes' workers sweep at once (on PostgreSQL, truly concurrently): together they
    // expire each due request once (earlier tests left some due too).
    const now = new Date();
    const due = await server.db.prisma.recoveryRequest.count({
      where: { status: { in: ['PENDING', 'APPROVED'] }, expiresAt: { lte: now } },
    });
    expect(due).toBeGreaterThanOrEqual(3);
    const swept = await Promise.all([worker(), worker(), worker()].map((w) => w.housekeep(now)));
    expect(swept.reduce((sum, done) => sum + done.recoveryRequestsExpired, 0)).toBe(due);
    const rows = await server.db.prisma.recoveryRequest.findMany({
      where: { id: { in: [...expiredIds, waiting.id, denied.id] } },
    });
    const statusOf = (id: string) => rows.find((row) => row.id === id)!.status;
    expect(expiredIds.map(statusOf)).toEqual(['EXPIRED', 'EXPIRED', 'EXPIRED']);
    expect(statusOf(waiting.id)).toBe('PENDING');
    expect(statusOf(denied.id)).toBe('DENIED');
    const events = await expiries();
    expect(events.map((event) => event.targetId).sort()).toEqual([...expiredIds].sort());
    expect(events.find((event) => event.targetId === unusedLink.id)).toMatchObject({
      realmId: server.admin.realmId,
      actorType: 'system',
      changes: { userId: user.id, status: { before: 'APPROVED', after: 'EXPIRED' }, cause: 'time' },
    });
    expect(events.find((event) => event.targetId === elsewhere.id)!.realmId).toBe(other.realmId);

    // Once: a second round finds nothing, and the answers and the list read the same as before the sweep.
    expect((await worker().housekeep()).recoveryRequestsExpired).toBe(0);
    expect(await expiries()).toHaveLength(3);
    await expectRefused(server, () => server.graphql(APPROVE, { input: { id: unanswered.globalId } }), [
      ['EXPIRED', ['input', 'id']],
    ]);
    const listed = payloadOf(await server.graphql(LIST, { filter: { status: 'EXPIRED' } }));
    expect(listed.edges.map((edge) => edge.node.id)).toEqual(
      expect.arrayContaining([unanswered.globalId, unusedLink.globalId]),
    );
    const stillPending = payloadOf(await server.graphql(LIST, { filter: { status: 'PENDING' } }));
    expect(stillPending.edges.map((edge) => edge.node.id)).toContain(waiting.globalId);
    expect(stillPending.edges.map((edge) => edge.node.id)).not.toContain(unanswered.globalId);
  });

  it('a running worker sweeps by itself; a newer approval ends the earlier one with its own expiry event', async () => {
    const user = await userWithAuthenticator('twice@example.com');
    const first = await makeRequest(user.id);
    expect(payloadOf(await server.graphql(APPROVE, { input: { id: first.globalId } })).userErrors).toEqual([]);
    const second = await makeRequest(user.id);
    expect(payloadOf(await server.graphql(APPROVE, { input: { id: second.globalId } })).userErrors).toEqual([]);
    const replaced = await server.db.prisma.auditEvent.findMany({
      where: { action: 'recovery_request.expired', targetId: first.id },
    });
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).toMatchObject({
      actorType: 'application',
      changes: { status: { before: 'APPROVED', after: 'EXPIRED' }, cause: 'replaced' },
    });

    const due = await makeRequest(user.id, { expiresAt: new Date(Date.now() - 1000) });
    const running = worker({ housekeepingMs: 60_000, pollMs: 50 });
    running.start();
    try {
      await expect
        .poll(
          () => server.db.prisma.recoveryRequest.findUniqueOrThrow({ where: { id: due.id } }).then((r) => r.status),
          {
            timeout: 10_000,
          },
        )
        .toBe('EXPIRED');
    } finally {
      await running.stop();
    }
    expect(
      await server.db.prisma.auditEvent.count({ where: { action: 'recovery_request.expired', targetId: due.id } }),
    ).toBe(1);
  });

  it('two concurrent answers to one request: one wins, one link, one email', async () => {
    const email = 'race@example.com';
    const user = await userWithAuthenticator(email);
    const request = await makeRequest(user.id);
    const results = await Promise.all([
      server.graphql(APPROVE, { input: { id: request.globalId } }),
      server.graphql(APPROVE, { input: { id: request.globalId } }),
      server.graphql(DENY, { input: { id: request.globalId, reason: 'No' } }),
    ]);
    const codes = results.map((result) =>
      payloadOf(result as Awaited<(typeof results)[0]>).userErrors.map((e) => e.code),
    );
    expect(codes.filter((list) => list.length === 0)).toHaveLength(1);
    expect(codes.filter((list) => list[0] === 'INVALID_STATE')).toHaveLength(2);
    expect(await server.db.prisma.outboxMessage.count({ where: { recipient: email } })).toBe(1);
    expect(
      await server.db.prisma.oneTimeLink.count({ where: { userId: user.id, purpose: 'ACCOUNT_RECOVERY' } }),
    ).toBeLessThanOrEqual(1);
  });
});
