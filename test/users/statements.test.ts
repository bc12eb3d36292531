import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_USERS_PAGE, graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

const QUERY = graphql(`
  query UsersStatementsUsersWithRelations($first: Int!) {
    users(first: $first) {
      totalCount
      nodes {
        id
        email
        profileComplete
        permissions
        identities {
          provider
          providerUserId
        }
        roleAssignments {
          assignedAt
          role {
            name
          }
          tenant {
            name
          }
        }
        roles {
          name
        }
        tenants {
          totalCount
          nodes {
            name
            slug
          }
        }
        mfaFactors {
          type
        }
        sessions {
          totalCount
        }
        loginHistory(first: 5) {
          totalCount
          nodes {
            success
          }
        }
        adminNotes {
          body
        }
      }
    }
  }
`);
const ROLE_ASSIGNMENTS_PAGE = graphql(`
  query UsersStatementsRoleAssignmentsPage($first: Int!) {
    users(first: $first) {
      nodes {
        id
        roleAssignments {
          role {
            name
          }
          tenant {
            name
          }
        }
      }
    }
  }
`);
const COLUMNS_PAGE = graphql(`
  query UsersStatementsColumnsPage($first: Int!, $orderBy: [UserOrder!], $after: String) {
    users(first: $first, after: $after, orderBy: $orderBy, filter: { statuses: [ACTIVE] }) {
      totalCount
      edges {
        cursor
        node {
          id
          email
          name
          username
          status
          isSuspended
          hasPassword
          isLocked
          emailVerified
          failedLoginAttempts
          createdAt
          lastLoginAt
        }
      }
    }
  }
`);
/** COLUMNS_PAGE with a relation: the nodes come from the Prisma client, not the page statement. */
const COLUMNS_AND_RELATION_PAGE = graphql(`
  query UsersStatementsColumnsAndRelationPage($first: Int!, $orderBy: [UserOrder!]) {
    users(first: $first, orderBy: $orderBy, filter: { statuses: [ACTIVE] }) {
      totalCount
      edges {
        cursor
        node {
          id
          email
          name
          username
          status
          isSuspended
          hasPassword
          isLocked
          emailVerified
          failedLoginAttempts
          createdAt
          lastLoginAt
          roles {
            name
          }
        }
      }
    }
  }
`);
const VIEWER = graphql(`
  query UsersStatementsViewer {
    viewer {
      clientId
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  const realmId = server.admin.realmId;
  const p = server.db.prisma;
  const tenant = await p.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } });
  const role = await p.role.create({ data: { realmId, name: 'Support' } });
  const scope = await p.resourceScope.findFirstOrThrow({ where: { realmId, name: 'users:read' } });
  await p.roleScope.create({ data: { realmId, roleId: role.id, scopeId: scope.id } });
  const expires = new Date(Date.now() + 86_400_000);
  for (let i = 0; i < 100; i++) {
    const user = await p.user.create({ data: { realmId, email: `user${i}@example.com`, name: `User ${i}` } });
    await p.identity.create({ data: { realmId, userId: user.id, provider: 'google', providerUserId: `g${i}` } });
    await p.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: user.id } });
    await p.userRole.create({ data: { realmId, userId: user.id, roleId: role.id } });
    await p.userRole.create({ data: { realmId, userId: user.id, roleId: role.id, tenantId: tenant.id } });
    await p.mfaFactor.create({ data: { realmId, userId: user.id, type: 'TOTP' } });
    await p.session.createMany({ data: [1, 2].map(() => ({ realmId, userId: user.id, expiresAt: expires })) });
    await p.loginEvent.createMany({
      data: [true, false].map((success) => ({ realmId, userId: user.id, success, method: 'password' })),
    });
    await p.adminNote.create({ data: { realmId, userId: user.id, body: 'VIP', author: 'test' } });
  }
  await server.graphql(VIEWER); // token and key loading happen before counting
}, 120_000);

afterAll(() => server?.close());

describe('users with their relations', () => {
  it('take the same number of SQL statements for 1, 10 and 100 users', async () => {
    // Once before: the measured requests then all run compiled (graphql-jit), as a document sent
    // again does; the standard executor, which runs a document's first request, may batch the
    // fallback load of `roles` (its own arguments) with others differently.
    await server.graphql(QUERY, { first: 1 });
    const counts: number[] = [];
    for (const first of [1, 10, 100]) {
      const { result, count } = await server.db.statements.during(() => server.graphql(QUERY, { first }));
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      const users = result.data!.users;
      expect(users.nodes).toHaveLength(first);
      expect(users.nodes[0]!.roleAssignments).toHaveLength(2);
      expect(users.nodes[0]!.sessions.totalCount).toBe(2);
      expect(users.nodes[0]!.tenants).toEqual({
        totalCount: 1,
        nodes: [{ name: 'Acme', slug: 'acme' }],
      });
      counts.push(count);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
    expect(counts[0]).toBeLessThanOrEqual(3);
  });

  it('an admin page with totalCount, role names and sessions: one statement besides authentication', async () => {
    // What authenticating a request costs, measured rather than assumed (it may be cached away).
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    for (const first of [1, 50, 100]) {
      const { result, count, sql } = await server.db.statements.during(() =>
        server.graphql(ADMIN_USERS_PAGE, { first }),
      );
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      const users = result.data!.users;
      expect(users.totalCount).toBe(100);
      expect(users.nodes).toHaveLength(first);
      expect(users.nodes[0]!.roles).toEqual([{ name: 'Support' }]);
      expect(users.nodes[0]!.sessions.nodes).toHaveLength(2);
      expect(count - authentication, sql.join('\n')).toBe(1);
    }
  });

  it('relations of relations (role assignments with their role and tenant): one statement, also once compiled', async () => {
    // graphql-jit builds a new response-path object for each resolver call: the Pothos mapping a
    // relation recorded for the relations beneath it must still be found (it was not, and each
    // nested relation was loaded again, one statement per request more).
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    for (const run of ['standard executor', 'graphql-jit']) {
      const { result, count, sql } = await server.db.statements.during(() =>
        server.graphql(ROLE_ASSIGNMENTS_PAGE, { first: 50 }),
      );
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      const nodes = result.data!.users.nodes;
      expect(nodes).toHaveLength(50);
      expect(nodes[0]!.roleAssignments.map(({ role, tenant }) => [role.name, tenant?.name ?? null])).toEqual([
        ['Support', null],
        ['Support', 'Acme'],
      ]);
      expect(count - authentication, `${run}:\n${sql.join('\n')}`).toBe(1);
    }
  });

  it('a page of plain columns is read with its ids and total: one statement, the same answer', async () => {
    const { count: authentication } = await server.db.statements.during(() => server.graphql(VIEWER));
    for (const orderBy of [
      [{ field: 'CREATED_AT', direction: 'DESC' }],
      [{ field: 'NAME', direction: 'ASC' }],
    ] as const) {
      for (const first of [1, 50, 100]) {
        const { result, count, sql } = await server.db.statements.during(() =>
          server.graphql(COLUMNS_PAGE, { first, orderBy: [...orderBy] }),
        );
        expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
        expect(count - authentication, sql.join('\n')).toBe(1);
        const withRelation = await server.graphql(COLUMNS_AND_RELATION_PAGE, { first, orderBy: [...orderBy] });
        expect(withRelation.errors).toBeUndefined();
        const { edges, totalCount } = withRelation.data!.users;
        // Cursors are sealed with a random IV: compare the nodes, then page on with one.
        const page = result.data!.users;
        expect(page.totalCount).toBe(totalCount);
        expect(page.edges.map((edge) => edge.node)).toEqual(edges.map(({ node: { roles: _roles, ...node } }) => node));
        if (first > 1) {
          const after = page.edges[0]!.cursor;
          const next = await server.graphql(COLUMNS_PAGE, { first: 1, orderBy: [...orderBy], after });
          expect(next.data!.users.edges.map((edge) => edge.node.id)).toEqual([edges[1]!.node.id]);
        }
        expect(result.data!.users.edges).toHaveLength(first);
        expect(result.data!.users.edges[0]!.node).toMatchObject({ status: 'ACTIVE', isSuspended: false });
      }
    }
  });
});
