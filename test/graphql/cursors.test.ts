/**
 * Connection cursors are opaque: every cursor the API returns is sealed and bound to the realm,
 * pages on when passed back (as a variable or a literal, at the root or in a nested
 * connection), and a cursor written by hand or issued in another realm is refused before
 * anything runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRole, makeSession, makeUser } from '../helpers/fixtures.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let userGlobalId: string;

const ROLES = `query($c: String) { roles(first: 1, after: $c) {
  edges { cursor node { id name } } pageInfo { endCursor hasNextPage } } }`;

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

beforeAll(async () => {
  server = await startTestServer();
  const realmId = server.admin.realmId;
  for (const name of ['cursor-a', 'cursor-b', 'cursor-c']) await makeRole(server, realmId, name, []);
  const user = await makeUser(server, realmId, { email: 'cursors@example.com', city: 'Lisbon' });
  userGlobalId = user.globalId;
  const tenant = await server.db.prisma.tenant.create({ data: { realmId, name: 'Cursor Co', slug: 'cursor-co' } });
  await server.db.prisma.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: user.id } });
  for (let i = 0; i < 3; i++) await makeSession(server, realmId, user.id);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** Every role id, paging one at a time with the cursors the API returns. */
async function pageThroughRoles(): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const result = await server.graphql(ROLES, { c: after });
    expect(result.errors).toBeUndefined();
    const page = result.data!.roles as Page;
    for (const edge of page.edges) {
      expect(edge.cursor).toMatch(/^v1\./);
      expect(Buffer.from(edge.cursor, 'base64').toString('latin1')).not.toContain('GPC:');
      ids.push(edge.node.id);
    }
    if (!page.pageInfo.hasNextPage) return ids;
    // Sealed with a fresh nonce each time it is read: the same position, another text.
    after = page.pageInfo.endCursor;
  }
}

describe('connection cursors', () => {
  it('are sealed, and page through a list passed back as a variable', async () => {
    const ids = await pageThroughRoles();
    const all = await server.db.prisma.role.count({ where: { realmId: server.admin.realmId } });
    expect(ids).toHaveLength(all);
    expect(new Set(ids).size).toBe(all);
  });

  it('page on as literals, and as one variable used by two connections', async () => {
    const first = (await server.graphql(ROLES, { c: null })).data!.roles as Page;
    const literal = await server.graphql(
      `{ roles(first: 1, after: ${JSON.stringify(first.pageInfo.endCursor)}) { nodes { id } } }`,
    );
    expect(literal.errors).toBeUndefined();
    const second = (literal.data!.roles as { nodes: { id: string }[] }).nodes[0]!.id;
    expect(second).not.toBe(first.edges[0]!.node.id);

    const twice = await server.graphql(
      `query($c: String) { a: roles(first: 1, after: $c) { nodes { id } } b: roles(first: 1, after: $c) { nodes { id } } }`,
      { c: first.pageInfo.endCursor },
    );
    expect(twice.errors).toBeUndefined();
    expect(twice.data).toEqual({ a: { nodes: [{ id: second }] }, b: { nodes: [{ id: second }] } });
  });

  it('page through a nested connection (a user’s sessions)', async () => {
    const query = `query($id: ID!, $c: String) { node(id: $id) { ... on User {
      sessions(first: 1, after: $c) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const result: GraphQLResult = await server.graphql(query, { id: userGlobalId, c: after });
      expect(result.errors).toBeUndefined();
      const page: Page = (result.data!.node as { sessions: Page }).sessions;
      seen.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      expect(page.pageInfo.endCursor).toMatch(/^v1\./);
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('are sealed in value lists and array connections too', async () => {
    const values = await server.graphql(`{ userFieldValues(field: CITY, first: 1) { pageInfo { endCursor } } }`);
    expect(values.errors).toBeUndefined();
    const tenants = await server.graphql(
      `query($id: ID!) { node(id: $id) { ... on User { tenants(first: 1) { pageInfo { endCursor } } } } }`,
      { id: userGlobalId },
    );
    expect(tenants.errors).toBeUndefined();
    const valuesCursor = (values.data!.userFieldValues as Page).pageInfo.endCursor;
    const tenantsCursor = (tenants.data!.node as { tenants: Page }).tenants.pageInfo.endCursor;
    expect(valuesCursor).toMatch(/^v1\./);
    expect(tenantsCursor).toMatch(/^v1\./);
    // Each pages on: past the last value, past the only tenant.
    const nextValues = await server.graphql(
      `query($c: String) { userFieldValues(field: CITY, first: 1, after: $c) { nodes { value } } }`,
      { c: valuesCursor },
    );
    expect(nextValues.errors).toBeUndefined();
    const nextTenants = await server.graphql(
      `query($id: ID!, $c: String) { node(id: $id) { ... on User { tenants(first: 1, after: $c) { nodes { slug } } } } }`,
      { id: userGlobalId, c: tenantsCursor },
    );
    expect(nextTenants.errors).toBeUndefined();
    expect(nextTenants.data).toEqual({ node: { tenants: { nodes: [] } } });
  });

  it('refuse a cursor issued in another realm, or written by hand', async () => {
    const other = await server.createRealm('cursors-other');
    const otherToken = await server.token(other);
    const foreign = (await server.graphql(ROLES, { c: null }, otherToken)).data!.roles as Page;
    expect(foreign.pageInfo.endCursor).toMatch(/^v1\./);
    for (const cursor of [
      foreign.pageInfo.endCursor,
      Buffer.from(`GPC:S:${foreign.edges[0]!.node.id}`).toString('base64'),
      'not a cursor',
    ]) {
      const refused = await server.graphql(ROLES, { c: cursor });
      expect(refused.errors?.[0]?.extensions?.code, String(cursor)).toBe('BAD_USER_INPUT');
      expect(refused.data?.roles ?? null).toBeNull();
    }
  });
});
