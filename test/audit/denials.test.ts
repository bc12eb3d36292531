/**
 * SECURITY.md: every authorization denial writes one audit row of its own (outcome `denied`),
 * bounded per caller so that a flood of refused requests cannot fill the table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIAL_AUDIT_LIMIT } from '../../src/modules/audit/audit.denials.ts';
import { graphql } from '../helpers/documents.ts';
import { adminRoleId, makeUser, managementScopes } from '../helpers/fixtures.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;

const USERS_TOTAL = graphql(`
  query AuditDenialsUsersTotal {
    users(first: 1) {
      totalCount
    }
  }
`);
const TENANTS_TOTAL = graphql(`
  query AuditDenialsTenantsTotal {
    tenants(first: 1) {
      totalCount
    }
  }
`);
const USERS_WITH_AUDIT = graphql(`
  query AuditDenialsUsersWithAudit {
    users(first: 5) {
      nodes {
        id
        auditEvents(first: 1) {
          nodes {
            id
            action
          }
        }
      }
    }
  }
`);
const CREATE_USER = graphql(`
  mutation AuditDenialsCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const CREATE_TENANT = graphql(`
  mutation AuditDenialsCreateTenant($input: CreateTenantInput!) {
    createTenant(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const CREATE_ROLE = graphql(`
  mutation AuditDenialsCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
      }
      userErrors {
        code
      }
    }
  }
`);
const ASSIGN_ROLES = graphql(`
  mutation AuditDenialsAssignRoles($input: AssignUserRolesInput!) {
    assignUserRoles(input: $input) {
      userErrors {
        code
      }
    }
  }
`);
const DELETE_AND_CREATE_ROLES = graphql(`
  mutation AuditDenialsDeleteAndCreateRoles(
    $missing: DeleteInput!
    $escalating: CreateRoleInput!
    $fine: CreateRoleInput!
  ) {
    deleteRole(input: $missing) {
      userErrors {
        code
      }
    }
    escalating: createRole(input: $escalating) {
      userErrors {
        code
      }
    }
    fine: createRole(input: $fine) {
      userErrors {
        code
      }
    }
  }
`);
const DELETE_ROLE = graphql(`
  mutation AuditDenialsDeleteRole($input: DeleteInput!) {
    deleteRole(input: $input) {
      deletedId
      userErrors {
        code
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);

afterAll(() => server?.close());

const denied = (realmId: string) =>
  server.db.prisma.auditEvent.findMany({ where: { realmId, outcome: 'denied' }, orderBy: { id: 'asc' } });
const everything = () => server.db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } });

/** Runs `call` and returns the audit rows it wrote (in any realm). */
async function auditWrittenBy<R>(call: () => Promise<GraphQLResult<R>>) {
  const before = new Set((await everything()).map((event) => event.id));
  const result = await call();
  const written = (await everything()).filter((event) => !before.has(event.id));
  return { result, written };
}

describe('authorization denials are audited', () => {
  it('a denied query writes exactly one denied row: actor, realm, request id, field and missing scopes', async () => {
    const token = await server.token(server.admin, 'tenants:read');
    const { result, written } = await auditWrittenBy(() => server.graphql(USERS_TOTAL, {}, token));
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['users:read'] });
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      realmId: server.admin.realmId,
      action: 'authorization.denied',
      outcome: 'denied',
      actorType: 'application',
      actorId: server.admin.clientId,
      targetType: 'Operation',
      targetId: null,
      requestId: result.headers.get('x-request-id'),
      changes: { operation: 'query', fields: ['Query.users'], missingScopes: ['users:read'] },
    });
  });

  it('one request refused at many places writes one row, naming the fields by schema coordinate', async () => {
    for (const email of ['first-denied@example.com', 'second-denied@example.com']) {
      const created = await server.graphql(CREATE_USER, { input: { email } }, await server.token());
      expect(created.data?.createUser.userErrors).toEqual([]);
    }
    const token = await server.token(server.admin, 'users:read');
    const { result, written } = await auditWrittenBy(() => server.graphql(USERS_WITH_AUDIT, {}, token));
    expect(result.errors!.length).toBeGreaterThan(0);
    expect(result.errors!.every((error) => error.extensions?.code === 'FORBIDDEN')).toBe(true);
    expect(written).toHaveLength(1);
    const changes = written[0]!.changes as { operation: string; fields: string[]; missingScopes: string[] };
    expect(changes.operation).toBe('query');
    expect(changes.missingScopes).toEqual(['audit:read']);
    expect(changes.fields.length).toBeGreaterThan(0);
    expect(changes.fields.every((field) => field.startsWith('AuditEvent.'))).toBe(true);
  });

  it('a denied mutation writes exactly one denied row and nothing else', async () => {
    const token = await server.token(server.admin, 'users:read');
    const { result, written } = await auditWrittenBy(() =>
      server.graphql(CREATE_TENANT, { input: { name: 'Refused', slug: 'refused' } }, token),
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['tenants:write'] });
    expect(await server.db.prisma.tenant.count({ where: { slug: 'refused' } })).toBe(0);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      realmId: server.admin.realmId,
      action: 'authorization.denied',
      outcome: 'denied',
      actorId: server.admin.clientId,
      requestId: result.headers.get('x-request-id'),
      changes: { operation: 'mutation', fields: ['Mutation.createTenant'], missingScopes: ['tenants:write'] },
    });
  });

  it('a conditional requirement (roleIds needs users:roles) is refused before anything runs, and audited', async () => {
    const token = await server.token(server.admin, 'users:write');
    const { result, written } = await auditWrittenBy(() =>
      server.graphql(CREATE_USER, { input: { email: 'conditional@example.com', roleIds: [] } }, token),
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['users:roles'] });
    expect(await server.db.prisma.user.count({ where: { email: 'conditional@example.com' } })).toBe(0);
    expect(written).toHaveLength(1);
    expect(written[0]!.changes).toEqual({
      operation: 'mutation',
      fields: ['Mutation.createUser'],
      missingScopes: ['users:roles'],
    });
  });

  it('a request without a token (UNAUTHENTICATED) has no actor or realm and writes nothing', async () => {
    const { result, written } = await auditWrittenBy(() => server.graphql(USERS_TOTAL, {}, null));
    expect(result.status).toBe(401);
    expect(written).toEqual([]);
  });

  it('an allowed request writes no denied row', async () => {
    const token = await server.token(server.admin, 'users:read');
    const { result, written } = await auditWrittenBy(() => server.graphql(USERS_TOTAL, {}, token));
    expect(result.errors).toBeUndefined();
    expect(written).toEqual([]);
  });

  it('a flood of 100 denials writes at most the limit per caller, and other callers are still audited', async () => {
    const flooder: Credentials = await server.createRealm('denial-flood');
    const token = await server.token(flooder, 'realm:read');
    for (let i = 0; i < 100; i += 1) {
      const result = await server.graphql(USERS_TOTAL, {}, token);
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const rows = await denied(flooder.realmId);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(DENIAL_AUDIT_LIMIT.failures);

    // The flood's limit is its own: another caller's denial is still written.
    const other = await server.token(server.admin, 'realm:read');
    const { written } = await auditWrittenBy(() => server.graphql(TENANTS_TOTAL, {}, other));
    expect(written).toHaveLength(1);
    expect(written[0]!.actorId).toBe(server.admin.clientId);
  });
});

describe('refused grants (FORBIDDEN_GRANT) are audited like FORBIDDEN', () => {
  it('a role carrying a management scope the caller lacks: one denied row, nothing else written', async () => {
    const { scopes } = await managementScopes(server, server.admin.realmId);
    const token = await server.token(server.admin, 'roles:read roles:write');
    const { result, written } = await auditWrittenBy(() =>
      server.graphql(
        CREATE_ROLE,
        { input: { name: 'Escalation', scopeIds: [scopes['users:write']!, scopes['audit:read']!] } },
        token,
      ),
    );
    expect(result.data?.createRole).toEqual({ role: null, userErrors: [{ code: 'FORBIDDEN_GRANT' }] });
    expect(await server.db.prisma.role.count({ where: { name: 'Escalation' } })).toBe(0);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      realmId: server.admin.realmId,
      action: 'authorization.denied',
      outcome: 'denied',
      actorType: 'application',
      actorId: server.admin.clientId,
      targetType: 'Operation',
      targetId: null,
      requestId: result.headers.get('x-request-id'),
    });
    expect(written[0]!.changes).toEqual({
      operation: 'mutation',
      fields: ['Mutation.createRole'],
      missingScopes: ['audit:read', 'users:write'],
    });
  });

  it('a role given to a user: one denied row; an allowed grant writes none', async () => {
    const user = await makeUser(server, server.admin.realmId);
    const token = await server.token(server.admin, 'users:write users:roles');
    const adminRole = await adminRoleId(server, server.admin.realmId);
    const refusedGrant = await auditWrittenBy(() =>
      server.graphql(ASSIGN_ROLES, { input: { userId: user.globalId, roleIds: [adminRole] } }, token),
    );
    expect(refusedGrant.result.data?.assignUserRoles.userErrors).toEqual([{ code: 'FORBIDDEN_GRANT' }]);
    expect(await server.db.prisma.userRole.count({ where: { userId: user.id } })).toBe(0);
    expect(refusedGrant.written).toHaveLength(1);
    expect(refusedGrant.written[0]).toMatchObject({ action: 'authorization.denied', outcome: 'denied' });
    const changes = refusedGrant.written[0]!.changes as { fields: string[]; missingScopes: string[] };
    expect(changes.fields).toEqual(['Mutation.assignUserRoles']);
    expect(changes.missingScopes).toContain('realm:write');

    const harmless = await server.graphql(CREATE_ROLE, { input: { name: 'Harmless grant' } });
    const allowed = await auditWrittenBy(() =>
      server.graphql(
        ASSIGN_ROLES,
        { input: { userId: user.globalId, roleIds: [harmless.data!.createRole.role!.id] } },
        token,
      ),
    );
    expect(allowed.result.data?.assignUserRoles.userErrors).toEqual([]);
    expect(allowed.written.map((event) => event.outcome)).toEqual(['success']);
  });

  it('in a request of several mutations, the row names only the mutation whose grant was refused', async () => {
    const { scopes } = await managementScopes(server, server.admin.realmId);
    const token = await server.token(server.admin, 'roles:read roles:write');
    const missingRole = Buffer.from(`Role:${'0'.repeat(8)}-0000-4000-8000-${'1'.repeat(12)}`).toString('base64url');
    const { result, written } = await auditWrittenBy(() =>
      server.graphql(
        DELETE_AND_CREATE_ROLES,
        {
          missing: { id: missingRole },
          escalating: { name: 'Grant escalation', scopeIds: [scopes['audit:read']!] },
          fine: { name: 'Grant neighbour' },
        },
        token,
      ),
    );
    expect(result.data).toEqual({
      deleteRole: { userErrors: [{ code: 'NOT_FOUND' }] },
      escalating: { userErrors: [{ code: 'FORBIDDEN_GRANT' }] },
      fine: { userErrors: [] },
    });
    const denials = written.filter((event) => event.outcome === 'denied');
    expect(denials).toHaveLength(1);
    expect(denials[0]!.changes).toEqual({
      operation: 'mutation',
      fields: ['Mutation.createRole'],
      missingScopes: ['audit:read'],
    });
    expect(written.filter((event) => event.action === 'role.created')).toHaveLength(1);
  });

  it('other refusals returned as data (NOT_FOUND) write no denied row', async () => {
    const token = await server.token(server.admin, 'roles:read roles:write');
    const { result, written } = await auditWrittenBy(() =>
      server.graphql(
        DELETE_ROLE,
        { input: { id: Buffer.from(`Role:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url') } },
        token,
      ),
    );
    expect(result.data?.deleteRole.userErrors).toEqual([{ code: 'NOT_FOUND' }]);
    expect(written).toEqual([]);
  });
});
