/**
 * Queries seen before run compiled (graphql-jit); the rest on the standard executor. Either way
 * a request's answer is the same bytes: each document here is sent three times, the first on the
 * standard executor and the others compiled where the plugin allows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let admin: string;
let usersOnly: string;

beforeAll(async () => {
  server = await startTestServer();
  [admin, usersOnly] = await Promise.all([server.token(), server.token(server.admin, 'users:read')]);
  for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing']) {
    const email = `${name.split(' ')[0]!.toLowerCase()}@example.com`;
    const created = await server.graphql(
      `mutation ($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`,
      { input: { email, name } },
      admin,
    );
    expect(created.data?.createUser.userErrors).toEqual([]);
  }
}, 60_000);

afterAll(() => server?.close());

async function send(body: Record<string, unknown>, token: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

/** Sends `body` three times and returns the one answer all three got. */
async function sameThrice(body: Record<string, unknown>, token = admin) {
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await send(body, token));
  expect(answers[1]).toEqual(answers[0]);
  expect(answers[2]).toEqual(answers[0]);
  return answers[0]!;
}

describe('compiled queries', () => {
  it('answer a list with relations and totals byte for byte as the standard executor', async () => {
    const { status, text } = await sameThrice({
      query: `query ($first: Int!) { users(first: $first, orderBy: [{ field: NAME, direction: ASC }]) {
        totalCount pageInfo { hasNextPage } edges { node { name email status roles { name } sessions { nodes { ipAddress } } } } } }`,
      variables: { first: 2 },
    });
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      data: {
        users: {
          totalCount: 3,
          pageInfo: { hasNextPage: true },
          edges: [
            {
              node: {
                name: 'Ada Lovelace',
                email: 'ada@example.com',
                status: 'ACTIVE',
                roles: [],
                sessions: { nodes: [] },
              },
            },
            {
              node: {
                name: 'Alan Turing',
                email: 'alan@example.com',
                status: 'ACTIVE',
                roles: [],
                sessions: { nodes: [] },
              },
            },
          ],
        },
      },
    });
  });

  it('keep errors as the standard executor words them (a field the caller lacks a scope for)', async () => {
    const { status, text } = await sameThrice(
      { query: `{ users(first: 1) { totalCount } roles(first: 1) { totalCount } }` },
      usersOnly,
    );
    expect(status).toBe(200);
    const answer = JSON.parse(text) as { data: unknown; errors: { path: string[]; extensions: { code: string } }[] };
    // `roles` is non-null: its refusal empties the whole answer.
    expect(answer.data).toBeNull();
    expect(answer.errors.map((e) => [e.path, e.extensions.code])).toEqual([[['roles'], 'FORBIDDEN']]);
  });

  it('read columns directly only for a caller the type lets read them (a type scope the caller lacks)', async () => {
    // Role's columns are read by the compiled query without calling their resolvers once the
    // type's scope (roles:read) passes: a caller without it gets the standard refusal on each.
    const query = `{ users(first: 2, orderBy: [{ field: NAME, direction: ASC }]) { nodes { email roles { name } } } }`;
    const role = await server.graphql(
      `mutation { createRole(input: { name: "Librarian" }) { role { id } userErrors { code } } }`,
      {},
      admin,
    );
    const roleId = (role.data!.createRole as { role: { id: string } }).role.id;
    const users = await server.graphql(`{ users(first: 3) { nodes { id } } }`, {}, admin);
    for (const { id } of (users.data!.users as { nodes: { id: string }[] }).nodes) {
      const assigned = await server.graphql(
        `mutation ($input: AssignUserRolesInput!) { assignUserRoles(input: $input) { userErrors { code } } }`,
        { input: { userId: id, roleIds: [roleId] } },
        admin,
      );
      expect(assigned.data?.assignUserRoles).toEqual({ userErrors: [] });
    }
    const allowed = JSON.parse((await sameThrice({ query }, admin)).text) as {
      data: { users: { nodes: { email: string; roles: { name: string }[] }[] } };
    };
    expect(allowed.data.users.nodes).toEqual([
      { email: 'ada@example.com', roles: [{ name: 'Librarian' }] },
      { email: 'alan@example.com', roles: [{ name: 'Librarian' }] },
    ]);
    const { status, text } = await sameThrice({ query }, usersOnly);
    expect(status).toBe(200);
    const refused = JSON.parse(text) as { errors?: { path: (string | number)[]; extensions: { code: string } }[] };
    // Role.name is non-null up to `users`: the first refusal empties the answer.
    expect(refused.errors?.map((error) => [error.path, error.extensions.code])).toEqual([
      [['users', 'nodes', 0, 'roles', 0, 'name'], 'FORBIDDEN'],
    ]);
  });

  it('a variable of a recursive input type (UserFilter) stays on the standard executor, and answers', async () => {
    const { status, text } = await sameThrice({
      query: `query ($filter: UserFilter) { users(first: 5, filter: $filter) { totalCount } }`,
      variables: { filter: { OR: [{ search: 'Ada' }, { AND: [{ search: 'Grace' }, { NOT: { search: 'Turing' } }] }] } },
    });
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ data: { users: { totalCount: 2 } } });
  }, 30_000);

  it('a variable that does not coerce gets the standard error, however often the document was seen', async () => {
    const query = `query ($first: Int!) { users(first: $first) { totalCount } }`;
    expect((await send({ query, variables: { first: 1 } }, admin)).status).toBe(200);
    expect((await send({ query, variables: { first: 1 } }, admin)).status).toBe(200);
    const { status, text } = await sameThrice({ query, variables: { first: 'many' } });
    expect(status).toBe(400);
    const answer = JSON.parse(text) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
    expect(answer.data).toBeUndefined();
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors[0]!.message).toBe(
      'Variable "$first" got invalid value "many"; Int cannot represent non-integer value: "many"',
    );
    expect(answer.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});
