/**
 * The client package (`roster/client`) against a real server: typed documents through urql, a
 * token function asked before every request, and a mutation's userErrors as data.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  SuspendUserDocument,
  UnsuspendUserDocument,
  UserDetailDocument,
  UsersPageDocument,
  createRosterClient,
} from 'roster/client';
import { makeUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['Ada Lovelace', 'Alan Turing', 'Grace Hopper']) {
    await makeUser(server, server.admin.realmId, {
      name,
      email: `${name.split(' ')[0]!.toLowerCase()}@example.com`,
      status: 'ACTIVE',
    });
  }
}, 120_000);

afterAll(async () => {
  await server?.close();
});

it('lists, reads and suspends users with typed documents, asking for the token before each request', async () => {
  let asked = 0;
  const token = await server.token();
  const client = createRosterClient({
    url: `${server.url}/graphql`,
    token: async () => {
      asked += 1;
      return token;
    },
  });

  const page = await client.query(UsersPageDocument, { first: 2, orderBy: [{ field: 'NAME', direction: 'ASC' }] });
  expect(page.error).toBeUndefined();
  expect(page.data?.users.totalCount).toBe(3);
  expect(page.data?.users.nodes.map((user) => user.name)).toEqual(['Ada Lovelace', 'Alan Turing']);
  const next = await client.query(UsersPageDocument, {
    first: 2,
    after: page.data!.users.pageInfo.endCursor,
    orderBy: [{ field: 'NAME', direction: 'ASC' }],
  });
  expect(next.data?.users.nodes.map((user) => user.name)).toEqual(['Grace Hopper']);

  const ada = page.data!.users.nodes[0]!;
  const suspended = await client.mutation(SuspendUserDocument, { id: ada.id, reason: 'Support ticket 42' });
  expect(suspended.data?.suspendUser).toMatchObject({
    user: { id: ada.id, status: 'SUSPENDED', suspendedReason: 'Support ticket 42' },
    userErrors: [],
  });
  const again = await client.mutation(SuspendUserDocument, { id: ada.id });
  expect(again.data?.suspendUser.user).toBeNull();
  expect(again.data?.suspendUser.userErrors[0]?.code).toBe('INVALID_STATE');

  const detail = await client.query(UserDetailDocument, { id: ada.id });
  expect(detail.data?.user).toMatchObject({ status: 'SUSPENDED', roles: [], sessions: { nodes: [] } });
  const lifted = await client.mutation(UnsuspendUserDocument, { id: ada.id });
  expect(lifted.data?.unsuspendUser.user?.status).toBe('ACTIVE');
  expect(asked).toBe(6);
});

it('reports a refused token as an error, not as data', async () => {
  const client = createRosterClient({ url: `${server.url}/graphql`, token: 'not a token' });
  const result = await client.query(UsersPageDocument, {});
  expect(result.data).toBeUndefined();
  expect(result.error?.response?.status).toBe(401);
});

it('runs the README’s script example as written, resolving roster/client as Node does', async () => {
  await makeUser(server, server.admin.realmId, {
    name: 'Suspended Sam',
    email: 'sam@example.com',
    status: 'SUSPENDED',
  });
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/suspended-users.ts'], {
    env: { ...process.env, ROSTER_URL: server.url, ROSTER_TOKEN: await server.token() },
  });
  expect(stdout.trim().split('\n')).toEqual([expect.stringMatching(/ sam@example\.com never signed in$/)]);
});
