import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

const ROLES = graphql(`
  query RolesStatementsRoles($n: Int!) {
    roles(first: $n) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        name
        description
        builtIn
        tenant {
          id
          name
        }
        userCount
        scopes {
          id
          name
          builtIn
          resource {
            id
            name
          }
        }
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  const realmId = server.admin.realmId;
  const p = server.db.prisma;
  const resource = await p.resource.create({
    data: { realmId, name: 'Bench API', indicator: 'https://bench.example.com' },
  });
  const scopes = await p.resourceScope.createManyAndReturn({
    data: Array.from({ length: 5 }, (_, i) => ({ realmId, resourceId: resource.id, name: `bench:s${i}` })),
  });
  const tenant = await p.tenant.create({ data: { realmId, name: 'Bench tenant', slug: 'bench' } });
  const roles = await p.role.createManyAndReturn({
    data: Array.from({ length: 120 }, (_, i) => ({
      realmId,
      name: `Bench role ${String(i).padStart(3, '0')}`,
      tenantId: i % 4 === 0 ? tenant.id : null,
    })),
  });
  await p.roleScope.createMany({
    data: roles.flatMap((role, i) =>
      scopes.slice(0, (i % 5) + 1).map((scope) => ({ realmId, roleId: role.id, scopeId: scope.id })),
    ),
  });
  const users = await p.user.createManyAndReturn({
    data: Array.from({ length: 150 }, (_, i) => ({ realmId, email: `bench${i}@example.com` })),
  });
  await p.userRole.createMany({
    data: users.flatMap((user, i) =>
      [roles[i % roles.length]!, roles[(i * 7) % roles.length]!]
        .filter((r, j, all) => all.indexOf(r) === j)
        .map((role) => ({ realmId, userId: user.id, roleId: role.id })),
    ),
  });
  // Warm up: token, signing keys, prepared plans.
  await server.graphql(ROLES, { n: 1 });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

async function statementsFor(n: number) {
  const { result, count, sql } = await server.db.statements.during(() => server.graphql(ROLES, { n }));
  expect(result.errors).toBeUndefined();
  expect(result.data!.roles.nodes).toHaveLength(n);
  return { count, sql, nodes: result.data!.roles.nodes };
}

describe('roles listing issues a constant number of SQL statements (no N+1)', () => {
  it('is the same for 1, 10 and 100 roles with scopes, tenant and userCount', async () => {
    const one = await statementsFor(1);
    const ten = await statementsFor(10);
    const hundred = await statementsFor(100);
    if (process.env.SHOW_SQL) console.info(hundred.sql.map((q) => q.slice(0, 300)).join('\n---\n'));
    console.info(
      `roles(first: n) statements per request: n=1 → ${one.count}, n=10 → ${ten.count}, n=100 → ${hundred.count}`,
    );
    expect(ten.count).toBe(one.count);
    expect(hundred.count).toBe(one.count);
    // Page, relations, user counts, total count: a handful, not one per role; none for the
    // token, seen in the warm-up.
    expect(hundred.count).toBeLessThanOrEqual(7);
    expect(hundred.nodes.some((n) => n.userCount > 0)).toBe(true);
    expect(hundred.nodes.every((n) => n.scopes.length > 0)).toBe(true);
  });
});
