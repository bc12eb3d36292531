import type { VariablesOf } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { QUERY_CANCELED, runInRequest } from '../../src/db/request-scope.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { documentText, graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CREATE_USER = graphql(`
  mutation DbRequestDeadlineCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
      }
    }
  }
`);

/**
 * Holds up statements on `User` until the returned function is called: on PostgreSQL a lock
 * on the table, on the embedded database a long statement occupying its single session.
 */
async function holdUsers(db: Database): Promise<() => Promise<void>> {
  if (db.kind === 'postgres') {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE "User" IN ACCESS EXCLUSIVE MODE');
    return async () => {
      await client.query('ROLLBACK');
      client.release();
    };
  }
  const sleeping = db.rawQuery('SELECT pg_sleep(2)');
  return async () => void (await sleeping);
}

interface LogLine {
  level: number;
  msg: string;
  path?: string;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const log = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}

describe('without a statement timeout', () => {
  let server: TestServer;
  const logs = capturingLogger();
  beforeAll(async () => {
    server = await startTestServer({ log: logs.log });
  }, 120_000);
  afterAll(() => server?.close());

  it('answers /healthz while a long statement runs', async () => {
    const order: string[] = [];
    const slow = server.db.rawQuery('SELECT pg_sleep(2)').then(() => order.push('statement'));
    await fetch(`${server.url}/healthz`).then((response) => {
      expect(response.status).toBe(200);
      order.push('healthz');
    });
    await slow;
    expect(order).toEqual(['healthz', 'statement']);
  });

  it('cancels the statements of a request whose client disconnects, logging it once at debug level', async () => {
    const token = await server.token();
    const release = await holdUsers(server.db);
    const aborted = new AbortController();
    const email = 'left-behind@example.com';
    const variables: VariablesOf<typeof CREATE_USER> = { input: { email } };
    const request = fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: documentText(CREATE_USER), variables }),
      signal: aborted.signal,
    }).catch(() => 'aborted');
    const db = server.db;
    const waiting = async () =>
      db.kind === 'postgres'
        ? (
            await db.rawQuery(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%"User"%'`,
            )
          ).length > 0
        : true;
    try {
      await until(waiting);
      // On the embedded database the request's statements are queued behind the long one.
      if (db.kind === 'embedded') await new Promise((resolve) => setTimeout(resolve, 300));
      aborted.abort();
      expect(await request).toBe('aborted');
      await until(() => logs.lines.some((line) => line.msg === 'client disconnected'));
      // The cancel goes out on a connection of its own after the disconnect is logged; while the
      // lock is still held, only a cancelled statement stops waiting.
      if (db.kind === 'postgres') await until(async () => !(await waiting()));
    } finally {
      await release();
    }
    expect(await server.db.prisma.user.count({ where: { email } })).toBe(0);
    expect(logs.lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(logs.lines.filter((line) => line.msg === 'client disconnected')).toHaveLength(1);
  });
});

describe('with a statement timeout', () => {
  let server: TestServer;
  const logs = capturingLogger();
  beforeAll(async () => {
    server = await startTestServer({ log: logs.log, statementTimeoutMs: 1_000 });
  }, 120_000);
  afterAll(() => server?.close());

  it('answers a request whose statement exceeds it with TIMEOUT, and changes nothing', async () => {
    const token = await server.token();
    const email = 'too-late@example.com';
    const release = await holdUsers(server.db);
    let result;
    try {
      result = await server.graphql(CREATE_USER, { input: { email } }, token);
    } finally {
      await release();
    }
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['TIMEOUT']);
    expect(result.errors?.[0]?.message).toMatch(/statement timeout/);
    expect(await server.db.prisma.user.count({ where: { email } })).toBe(0);
    expect(logs.lines.filter((line) => line.level >= 50)).toEqual([]);
  });

  it('runs a compiled query that exceeds it once: no second run on the standard executor', async () => {
    const token = await server.token();
    const query = `{ users(first: 1) { totalCount nodes { email } } }`;
    // Seen once: the next request runs compiled.
    const normal = await server.db.statements.during(() => server.graphql(query, {}, token));
    expect(normal.result.errors).toBeUndefined();
    const release = await holdUsers(server.db);
    let held;
    try {
      held = await server.db.statements.during(() => server.graphql(query, {}, token));
    } finally {
      await release();
    }
    expect(held.result.errors?.map((error) => error.extensions?.code)).toContain('TIMEOUT');
    expect(held.count).toBeLessThanOrEqual(normal.count);
    expect(logs.lines.filter((line) => line.level >= 50)).toEqual([]);
  });
});

describe.skipIf(process.env.TEST_DATABASE_URL)('the embedded database’s deadline is a request’s', () => {
  it('drops a request’s statement that cannot start in time, and lets work outside a request wait', async () => {
    const database = await createTestDatabase({ statementTimeoutMs: 300 });
    const db = database.db;
    try {
      // The start (bootstrap) on a busy machine: its statements wait behind a slow one.
      const slow = db.rawQuery('SELECT pg_sleep(1)');
      await expect(db.prisma.realm.count()).resolves.toBeTypeOf('number');
      await slow;

      const again = db.rawQuery('SELECT pg_sleep(1)');
      // Awaited inside the request's scope: a Prisma query is sent when awaited.
      const inRequest = runInRequest(
        { signal: new AbortController().signal },
        async () => await db.prisma.realm.count(),
      );
      await expect(inRequest).rejects.toMatchObject({ code: QUERY_CANCELED });
      await again;
    } finally {
      await database.dispose();
    }
  });
});
