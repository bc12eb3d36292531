import { afterAll, beforeAll, expect, it } from 'vitest';
import { MANAGEMENT_API_INDICATOR } from '../../src/auth/scopes.ts';
import { graphql } from '../helpers/documents.ts';
import { makeResource, makeRole } from '../helpers/fixtures.ts';
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
  query ApplicationsStatementsList {
    applications(first: 100, filter: { types: [WEB] }) {
      totalCount
      nodes {
        id
        scopes
        effectiveScopes {
          name
          resource {
            indicator
          }
        }
        roles {
          scopes {
            name
          }
        }
      }
    }
  }
`);

it('lists 1, 10 and 100 applications with roles and scopes in the same number of SQL statements', async () => {
  const p = server.db.prisma;
  await makeResource(server, realm.realmId, 'https://orders.example.com/', ['read:orders']);
  const roles = [
    await makeRole(server, realm.realmId, 'Readers', ['realm:read', 'tenants:read', 'roles:read', 'read:orders']),
    await makeRole(server, realm.realmId, 'Auditors', ['audit:read', 'realm:read']),
    await makeRole(server, realm.realmId, 'Writers', ['tenants:write']),
  ];
  let created = 0;
  const growTo = async (n: number) => {
    for (; created < n; created++) {
      const app = await p.application.create({
        data: {
          realmId: realm.realmId,
          name: `App ${created}`,
          type: 'WEB',
          clientId: `n1-${created}`,
          redirectUris: ['https://a.example/cb'],
        },
      });
      const held = [roles[created % 3]!, roles[(created + 1) % 3]!];
      await p.applicationRole.createMany({
        data: held.map((role) => ({ realmId: realm.realmId, applicationId: app.id, roleId: role.id })),
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
    const list = result.data!.applications;
    expect(list.totalCount).toBe(n);
    expect(list.nodes).toHaveLength(n);
    for (const node of list.nodes) {
      expect(node.roles).toHaveLength(2);
      const granted = [...new Set(node.roles.flatMap((r) => r.scopes.map((s) => s.name)))].sort();
      expect(node.effectiveScopes.map((s) => s.name).sort()).toEqual(granted);
      const management = node.effectiveScopes.filter((s) => s.resource.indicator === MANAGEMENT_API_INDICATOR);
      expect(node.scopes).toEqual(management.map((s) => s.name).sort());
      expect(node.effectiveScopes.filter((s) => !management.includes(s)).map((s) => s.resource.indicator)).toEqual(
        granted.includes('read:orders') ? ['https://orders.example.com/'] : [],
      );
    }
    counts[n] = count;
  }
  console.info(`applications statements for 1/10/100: ${counts[1]}/${counts[10]}/${counts[100]}`);
  expect(counts[10]).toBe(counts[1]);
  expect(counts[100]).toBe(counts[1]);
  // None of them for authentication: the token and its caller's grants were seen before.
  expect(counts[1]).toBeLessThanOrEqual(12);
});
