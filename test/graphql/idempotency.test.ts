/**
 * `Idempotency-Key` on mutations: a retry with the same key and operation gets the first answer
 * without a second execution; the key with another operation, a key still in use and a bad key
 * are refused with their own codes and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let token: string;

const CREATE_USER = `
  mutation IdempotencyCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user { id email }
      userErrors { code field message }
    }
  }`;

interface Answer {
  status: number;
  replayed: string | null;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function send(
  key: string | null,
  query: string,
  variables: Record<string, unknown>,
  bearer = token,
): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${bearer}`,
      ...(key !== null ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as Answer['body'],
  };
}

const usersWith = (email: string) => server.db.prisma.user.count({ where: { email } });
const auditsOf = (email: string) =>
  server.db.prisma.auditEvent.count({ where: { action: 'user.created', changes: { path: ['email'], equals: email } } });

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token();
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('Idempotency-Key', () => {
  it('answers a retry with the first answer, marked replayed, and creates the user once', async () => {
    const input = { email: 'ada@example.com', name: 'Ada' };
    const first = await send('create-ada-1', CREATE_USER, { input });
    expect(first.status).toBe(200);
    expect(first.replayed).toBeNull();
    const created = (first.body.data!.createUser as { user: { id: string } }).user;
    expect(created.id).toEqual(expect.any(String));

    // The same variables in another order are the same operation.
    const retry = await send('create-ada-1', CREATE_USER, { input: { name: 'Ada', email: 'ada@example.com' } });
    expect(retry.status).toBe(200);
    expect(retry.replayed).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await usersWith('ada@example.com')).toBe(1);

    // Without the key, the same request runs: the email is taken.
    const again = await send(null, CREATE_USER, { input });
    expect(again.replayed).toBeNull();
    expect((again.body.data!.createUser as { userErrors: { code: string }[] }).userErrors[0]!.code).toBe('TAKEN');
    expect(await usersWith('ada@example.com')).toBe(1);
  });

  it('refuses the key with another operation (422 IDEMPOTENCY_KEY_REUSED) and runs nothing', async () => {
    await send('create-grace', CREATE_USER, { input: { email: 'grace@example.com' } });
    const other = await send('create-grace', CREATE_USER, { input: { email: 'grace.h@example.com' } });
    expect(other.status).toBe(422);
    expect(other.body.errors![0]!.extensions!.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(other.body.data ?? null).toBeNull();
    expect(await usersWith('grace.h@example.com')).toBe(0);
  });

  it('keeps keys per caller: another client with the same key runs its own request', async () => {
    const other: Credentials = await server.createRealm('default');
    const otherToken = await server.token(other);
    await send('shared-key', CREATE_USER, { input: { email: 'one@example.com' } });
    const second = await send('shared-key', CREATE_USER, { input: { email: 'two@example.com' } }, otherToken);
    expect(second.status).toBe(200);
    expect(second.replayed).toBeNull();
    expect(await usersWith('two@example.com')).toBe(1);
  });

  it('refuses a bad key with 400 BAD_USER_INPUT and runs nothing', async () => {
    for (const key of ['', 'x'.repeat(256), 'with space', 'tab\there', 'é']) {
      const refused = await send(key, CREATE_USER, { input: { email: 'bad-key@example.com' } });
      expect(refused.status, JSON.stringify(key)).toBe(400);
      expect(refused.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
    expect(await usersWith('bad-key@example.com')).toBe(0);
    expect((await send('x'.repeat(255), CREATE_USER, { input: { email: 'long-key@example.com' } })).status).toBe(200);
  });

  it('runs concurrent requests with one key once: the others replay or are told to retry (409)', async () => {
    const input = { email: 'concurrent@example.com' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => send('concurrent-key', CREATE_USER, { input })));
    const ran = answers.filter((answer) => answer.status === 200 && answer.replayed === null);
    expect(ran).toHaveLength(1);
    for (const answer of answers) {
      if (answer === ran[0]) continue;
      if (answer.status === 409) {
        expect(answer.body.errors![0]!.extensions!.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      } else {
        expect(answer.replayed).toBe('true');
        expect(answer.body).toEqual(ran[0]!.body);
      }
    }
    expect(await usersWith('concurrent@example.com')).toBe(1);
    expect(await auditsOf('concurrent@example.com')).toBe(1);
    // Once the first has answered, a retry replays it.
    const retry = await send('concurrent-key', CREATE_USER, { input });
    expect(retry.replayed).toBe('true');
    expect(retry.body).toEqual(ran[0]!.body);
  });

  it('keeps no answer without data: a refused request can be retried with its key', async () => {
    // A scope the client lacks: refused before anything runs (and before the key is taken).
    const readOnly = await server.token(undefined, 'users:read');
    const refused = await send('scoped-key', CREATE_USER, { input: { email: 'scoped@example.com' } }, readOnly);
    expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const allowed = await send('scoped-key', CREATE_USER, { input: { email: 'scoped@example.com' } }, readOnly);
    expect(allowed.replayed).toBeNull();
    expect(await server.db.prisma.idempotentRequest.count({ where: { key: 'scoped-key' } })).toBe(0);
    expect(await usersWith('scoped@example.com')).toBe(0);
  });

  it('ignores the key on queries', async () => {
    const first = await send('query-key', '{ users(first: 1) { totalCount } }', {});
    const second = await send('query-key', '{ users(first: 2) { totalCount } }', {});
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.replayed).toBeNull();
  });
});
