import { afterAll, beforeAll, expect, it } from 'vitest';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let realm: Credentials;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  realm = server.admin;
  token = await server.token(realm);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const LIST = graphql(`
  query TenantsStatementsList {
    tenants(first: 100) {
      totalCount
      nodes {
        id
        name
        slug
        memberCount
        createdAt
      }
    }
  }
`);

it('lists 1, 10 and 100 tenants with memberCount in the same number of SQL statements', async () => {
  const p = server.db.prisma;
  const users: { id: string }[] = [];
  for (let i = 0; i < 3; i++)
    users.push(await p.user.create({ data: { realmId: realm.realmId, email: `m${i}@example.com` } }));
  let created = 0;
  const growTo = async (n: number) => {
    for (; created < n; created++) {
      const tenant = await p.tenant.create({
        data: { realmId: realm.realmId, name: `Tenant ${created}`, slug: `tenant-${created}` },
      });
      const members = users.slice(0, created % 4);
      await p.tenantMembership.createMany({
        data: members.map((u) => ({ realmId: realm.realmId, tenantId: tenant.id, userId: u.id })),
      });
    }
  };

  await growTo(1);
  await server.graphql(LIST, {}, token); // warms up the signing-key cache
  const counts: Record<number, number> = {};
  for (const n of [1, 10, 100]) {
    await growTo(n);
    // The writes above changed the realm's grants: the caller's are read again, once.
    await server.graphql(LIST, {}, token);
    const { result, count } = await server.db.statements.during(() => server.graphql(LIST, {}, token));
    expect(result.errors).toBeUndefined();
    const list = result.data!.tenants;
    expect(list.totalCount).toBe(n);
    expect(list.nodes.map((t) => t.memberCount)).toEqual(Array.from({ length: n }, (_, i) => i % 4));
    counts[n] = count;
  }
  console.info(`tenants statements for 1/10/100: ${counts[1]}/${counts[10]}/${counts[100]}`);
  expect(counts[10]).toBe(counts[1]);
  expect(counts[100]).toBe(counts[1]);
  // None of them for authentication: the token and its caller's grants were seen before.
  expect(counts[1]).toBeLessThanOrEqual(2);
});
