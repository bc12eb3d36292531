import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawId } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Every audit write needs the realm's webhook subscriptions: each process keeps them by the
 * realm's webhooks version, so an endpoint created, changed or deleted counts from the very next
 * audit write, and otherwise an audit write reads no endpoint.
 */
let server: TestServer;

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`;
const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { webhookEndpoint { id } userErrors { code } }
}`;
const UPDATE_ENDPOINT = `mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { webhookEndpoint { id enabled eventTypes } userErrors { code } }
}`;
const ENDPOINTS = `query { webhookEndpoints(first: 10) { totalCount } }`;
const DELETE_ENDPOINT = `mutation($input: DeleteInput!) { deleteWebhookEndpoint(input: $input) { deletedId userErrors { code } } }`;

const readsEndpoints = (sql: string[]) => sql.filter((statement) => /"WebhookEndpoint"/.test(statement)).length;

let users = 0;
/** Creates a user (one audit write, `user.created`): the statements it took. */
async function createUser() {
  const { result, count, sql } = await server.db.statements.during(() =>
    server.graphql(CREATE_USER, { input: { email: `subscriber-${++users}@example.com` } }),
  );
  expect(result.errors).toBeUndefined();
  expect((result.data as any).createUser.userErrors).toEqual([]);
  return { count, sql };
}

const messagesTo = (url: string) =>
  server.db.prisma.outboxMessage.count({ where: { recipient: url, subject: 'user.created' } });

async function createEndpoint(url: string, eventTypes: string[]): Promise<string> {
  const created = await server.graphql(CREATE_ENDPOINT, { input: { url, eventTypes } });
  expect(created.errors).toBeUndefined();
  expect((created.data as any).createWebhookEndpoint.userErrors).toEqual([]);
  return (created.data as any).createWebhookEndpoint.webhookEndpoint.id;
}

async function updateEndpoint(id: string, patch: Record<string, unknown>): Promise<void> {
  const updated = await server.graphql(UPDATE_ENDPOINT, { input: { id, patch } });
  expect(updated.errors).toBeUndefined();
  expect((updated.data as any).updateWebhookEndpoint.userErrors).toEqual([]);
}

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

describe('webhook subscriptions kept per process', () => {
  it('an audit write reads no endpoint while none changed: one statement fewer', async () => {
    await createUser();
    // Creating a user changes the grants' version: the next authentication reads them again.
    // A read-only request absorbs that, so that what follows counts the audit writes alone.
    await server.graphql(ENDPOINTS);
    const kept = await createUser();
    expect(readsEndpoints(kept.sql)).toBe(0);

    // A change of an endpoint (here: one created; the grants' version stays) makes the next
    // audit write read them: the one statement the others save.
    await createEndpoint('http://127.0.0.1:9/statements', ['role.created']);
    const reread = await createUser();
    expect(readsEndpoints(reread.sql)).toBe(1);
    expect(reread.count).toBe(kept.count + 1);
    await server.graphql(ENDPOINTS);
    const keptAgain = await createUser();
    expect(readsEndpoints(keptAgain.sql)).toBe(0);
    expect(keptAgain.count).toBe(kept.count);
  });

  it('an endpoint created, disabled, enabled, changed or deleted counts from the very next audit write', async () => {
    const url = 'http://127.0.0.1:9/next-write';
    await createUser(); // the subscriptions kept before the endpoint exists
    const id = await createEndpoint(url, ['user.created']);
    await createUser();
    expect(await messagesTo(url)).toBe(1);

    await updateEndpoint(id, { enabled: false });
    await createUser();
    expect(await messagesTo(url)).toBe(1);

    await updateEndpoint(id, { enabled: true });
    await createUser();
    expect(await messagesTo(url)).toBe(2);

    await updateEndpoint(id, { eventTypes: ['user.updated'] });
    await createUser();
    expect(await messagesTo(url)).toBe(2);

    await updateEndpoint(id, { eventTypes: ['user.created'] });
    await createUser();
    expect(await messagesTo(url)).toBe(3);

    const deleted = await server.graphql(DELETE_ENDPOINT, { input: { id } });
    expect((deleted.data as any).deleteWebhookEndpoint.userErrors).toEqual([]);
    const after = await createUser();
    expect(readsEndpoints(after.sql)).toBe(1);
    // Its messages went with it, and none is written for it (the insert would fail on its foreign key).
    expect(await messagesTo(url)).toBe(0);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'a change committed by another process (not through this process’s client) counts from the next audit write',
    async () => {
      const url = 'http://127.0.0.1:9/other-process';
      const id = await createEndpoint(url, ['user.created']);
      await createUser();
      expect(await messagesTo(url)).toBe(1);
      // On the pool directly: only the trigger's notification tells this process.
      await server.db.rawQuery(`UPDATE "WebhookEndpoint" SET enabled = false WHERE id = '${rawId(id)}'`);
      await createUser();
      expect(await messagesTo(url)).toBe(1);
      await server.db.rawQuery(`UPDATE "WebhookEndpoint" SET enabled = true WHERE id = '${rawId(id)}'`);
      await createUser();
      expect(await messagesTo(url)).toBe(2);
    },
  );
});
