import { randomUUID } from 'node:crypto';
import type { VariablesOf } from '@graphql-typed-document-node/core';
import { buildSchema } from 'graphql';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { AUDIT_ACTIONS } from '../../src/modules/audit/audit.actions.ts';
import { graphql } from '../helpers/documents.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let other: Credentials;
let otherToken: string;
let roleId: string;
let resourceId: string;
let startedAt: Date;

const EVENTS = graphql(`
  query AuditAuditEvents($first: Int, $after: String, $last: Int, $before: String, $filter: AuditEventFilter) {
    auditEvents(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          id
          createdAt
          at
          action
          outcome
          actorType
          actorId
          targetType
          targetGlobalId
          target {
            id
            __typename
          }
          targetId
          changes
          requestId
          ipAddress
        }
      }
    }
  }
`);
const NODE = graphql(`
  query AuditAuditNode($id: ID!) {
    node(id: $id) {
      id
      ... on AuditEvent {
        action
      }
    }
  }
`);
const TOTAL = graphql(`
  query AuditAuditTotal {
    auditEvents {
      totalCount
    }
  }
`);
const CREATE_ROLE = graphql(`
  mutation AuditAuditCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      role {
        id
      }
    }
  }
`);
const DELETE_ROLE = graphql(`
  mutation AuditAuditDeleteRole($input: DeleteInput!) {
    deleteRole(input: $input) {
      deletedId
      userErrors {
        code
      }
    }
  }
`);
const TARGETS = graphql(`
  query AuditAuditTargets($filter: AuditEventFilter) {
    auditEvents(filter: $filter) {
      nodes {
        action
        targetGlobalId
        target {
          id
          ... on Role {
            name
          }
        }
      }
    }
  }
`);
const UPDATE_ROLE = graphql(`
  mutation AuditAuditUpdateRole($input: UpdateRoleInput!) {
    updateRole(input: $input) {
      role {
        id
      }
    }
  }
`);
const CREATE_RESOURCE = graphql(`
  mutation AuditAuditCreateResource($input: CreateResourceInput!) {
    createResource(input: $input) {
      resource {
        id
      }
    }
  }
`);
const ADD_SCOPE = graphql(`
  mutation AuditAuditAddScope($input: AddResourceScopeInput!) {
    addResourceScope(input: $input) {
      scope {
        id
      }
    }
  }
`);

async function events(variables: VariablesOf<typeof EVENTS> = {}, token?: string) {
  const connection = payloadOf(await server.graphql(EVENTS, { first: 100, ...variables }, token));
  return { ...connection, nodes: connection.edges.map((e) => e.node) };
}

beforeAll(async () => {
  server = await startTestServer();
  other = await server.createRealm('other');
  otherToken = await server.token(other);
  startedAt = new Date();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const role = payloadOf(await server.graphql(CREATE_ROLE, { input: { name: 'Audited' } }));
  roleId = role.role!.id;
  await server.graphql(UPDATE_ROLE, { input: { id: roleId, patch: { description: 'Now described.' } } });
  const resource = payloadOf(
    await server.graphql(CREATE_RESOURCE, {
      input: { name: 'Audited API', indicator: 'https://audited.example.com' },
    }),
  );
  resourceId = resource.resource!.id;
  await server.graphql(ADD_SCOPE, { input: { resourceId, name: 'audited:read' } });
  await server.graphql(UPDATE_ROLE, { input: { id: roleId, patch: { name: 'Audited role' } } });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('auditEvents', () => {
  it('lists the realm’s events newest first with everything recorded', async () => {
    const { nodes, totalCount } = await events();
    expect(totalCount).toBe(await server.db.prisma.auditEvent.count({ where: { realmId: server.admin.realmId } }));
    expect(nodes.slice(0, 4).map((e) => e.action)).toEqual([
      'role.updated',
      'resource.scope_added',
      'resource.created',
      'role.updated',
    ]);
    const sorted = [...nodes].sort((a, b) =>
      a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
    );
    expect(nodes.map((n) => n.id)).toEqual(sorted.map((n) => n.id));
    expect(nodes[0]).toMatchObject({
      action: 'role.updated',
      outcome: 'SUCCESS',
      actorType: 'APPLICATION',
      actorId: server.admin.clientId,
      targetType: 'Role',
      targetGlobalId: roleId,
      target: { id: roleId, __typename: 'Role' },
      targetId: rawId(roleId),
      changes: { name: { before: 'Audited', after: 'Audited role' } },
      requestId: expect.any(String),
    });
    // The realm's creation by Roster itself is the oldest.
    expect(nodes.at(-1)).toMatchObject({ action: 'realm.created', actorType: 'SYSTEM', actorId: 'system' });
    // The deprecated names answer as before.
    expect(nodes.every((n) => n.at === n.createdAt)).toBe(true);
  });

  it('paginates forward and backward over the same order', async () => {
    const all = (await events()).nodes.map((n) => n.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await events({ first: 3, after });
      seen.push(...page.nodes.map((n) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
    const last = await events({ first: null, last: 2 });
    expect(last.nodes.map((n) => n.id)).toEqual(all.slice(-2));
    const before = await events({ first: null, last: 2, before: last.pageInfo.startCursor });
    expect(before.nodes.map((n) => n.id)).toEqual(all.slice(-4, -2));
  });

  it('filters by action, with `noun.*` prefixes', async () => {
    const updated = await events({ filter: { actions: ['role.updated'] } });
    expect(updated.totalCount).toBe(2);
    expect(updated.nodes.every((n) => n.action === 'role.updated')).toBe(true);
    const resources = await events({ filter: { actions: ['resource.*'] } });
    expect(new Set(resources.nodes.map((n) => n.action))).toEqual(
      new Set(['resource.created', 'resource.scope_added']),
    );
    expect(resources.totalCount).toBe(resources.nodes.length);
    const mixed = await events({ filter: { actions: ['role.created', 'resource.scope_added'] } });
    expect(mixed.nodes.map((n) => n.action).sort()).toEqual(['resource.scope_added', 'role.created', 'role.created']);
    const none = await events({ filter: { actions: ['nothing.happened'] } });
    expect(none.totalCount).toBe(0);
    const empty = await events({ filter: { actions: [] } });
    expect(empty.totalCount).toBe((await events()).totalCount);
  });

  it('filters by actor', async () => {
    const mine = await events({ filter: { actorId: server.admin.clientId } });
    expect(mine.nodes.length).toBeGreaterThanOrEqual(5);
    expect(mine.nodes.every((n) => n.actorId === server.admin.clientId)).toBe(true);
    const system = await events({ filter: { actorId: 'system' } });
    expect(system.nodes.every((n) => n.actorId === 'system')).toBe(true);
    expect(system.totalCount + mine.totalCount).toBe((await events()).totalCount);
  });

  it('filters by target, given as a global id or as the stored raw id', async () => {
    const byGlobal = await events({ filter: { targetId: roleId } });
    expect(byGlobal.nodes.map((n) => n.action)).toEqual(['role.updated', 'role.updated', 'role.created']);
    const byRaw = await events({ filter: { targetId: rawId(roleId) } });
    expect(byRaw.nodes).toEqual(byGlobal.nodes);
    const unknown = await events({ filter: { targetId: encodeGlobalId('Role', randomUUID()) } });
    expect(unknown.totalCount).toBe(0);
    const garbage = await events({ filter: { targetId: 'no such target' } });
    expect(garbage.totalCount).toBe(0);
  });

  it('filters by time range (after inclusive, before exclusive) and combines conditions', async () => {
    const all = (await events()).nodes;
    const since = await events({ filter: { after: startedAt.toISOString() } });
    expect(since.nodes.map((n) => n.action).sort()).toEqual([
      'resource.created',
      'resource.scope_added',
      'role.created',
      'role.updated',
      'role.updated',
    ]);
    const until = await events({ filter: { before: startedAt.toISOString() } });
    expect(until.totalCount + since.totalCount).toBe(all.length);
    const at = all[0]!.at;
    const exact = await events({ filter: { after: at, before: new Date(new Date(at).getTime() + 1).toISOString() } });
    expect(exact.nodes.map((n) => n.id)).toContain(all[0]!.id);
    const combined = await events({
      filter: { actions: ['role.*'], targetId: roleId, after: startedAt.toISOString(), actorId: server.admin.clientId },
    });
    expect(combined.totalCount).toBe(3);
  });

  it('refuses more than 50 actions', async () => {
    const result = await server.graphql(EVENTS, {
      filter: { actions: Array.from({ length: 51 }, (_, i) => `a.b${i}`) },
    });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses an empty time range and over-long values, naming the filter field', async () => {
    const at = new Date().toISOString();
    const cases: [VariablesOf<typeof EVENTS>['filter'], string][] = [
      [{ after: at, before: at }, 'filter.before'],
      [{ after: at, before: new Date(Date.parse(at) - 60_000).toISOString() }, 'filter.before'],
      [{ actorId: 'a'.repeat(201) }, 'filter.actorId'],
      [{ targetId: 'r'.repeat(201) }, 'filter.targetId'],
      [{ actions: ['user.created', `user.${'x'.repeat(200)}`] }, 'filter.actions'],
    ];
    for (const [filter, argument] of cases) {
      const result = await server.graphql(EVENTS, { filter });
      expect(result.errors?.[0]?.extensions, JSON.stringify(filter)).toMatchObject({
        code: 'BAD_USER_INPUT',
        argument,
      });
      expect(result.data).toBeNull();
    }
    // A range of one millisecond is not empty (events() fails on any error).
    await events({ filter: { after: at, before: new Date(Date.parse(at) + 1).toISOString() } });
  });

  it('shows only the caller’s realm; node(id) of another realm’s event is null', async () => {
    const mine = (await events()).nodes;
    const theirs = await events({}, otherToken);
    expect(theirs.nodes.some((n) => mine.some((m) => m.id === n.id))).toBe(false);
    const targeted = await events({ filter: { targetId: roleId } }, otherToken);
    expect(targeted.totalCount).toBe(0);
    const node = await server.graphql(NODE, { id: mine[0]!.id }, otherToken);
    expect(node.data).toEqual({ node: null });
    const own = await server.graphql(NODE, { id: mine[0]!.id });
    expect(own.data).toEqual({ node: { id: mine[0]!.id, action: mine[0]!.action } });
  });

  it('names its target as an object: a global id also after deletion, the object while it exists', async () => {
    const created = await server.graphql(CREATE_ROLE, { input: { name: 'Short-lived' } });
    const id = created.data!.createRole.role!.id;
    const live = await server.graphql(TARGETS, { filter: { targetId: id } });
    expect(live.data?.auditEvents.nodes).toEqual([
      { action: 'role.created', targetGlobalId: id, target: { id, name: 'Short-lived' } },
    ]);
    const deleted = await server.graphql(DELETE_ROLE, { input: { id } });
    expect(deleted.data?.deleteRole).toEqual({ deletedId: id, userErrors: [] });
    const gone = await server.graphql(TARGETS, { filter: { targetId: id } });
    expect(gone.errors).toBeUndefined();
    expect(gone.data?.auditEvents.nodes).toEqual([
      { action: 'role.deleted', targetGlobalId: id, target: null },
      { action: 'role.created', targetGlobalId: id, target: null },
    ]);
    // A denial's target is an operation, not an object of the API.
    const denial = await server.graphql(TARGETS, { filter: { actions: ['authorization.denied'] } });
    expect(denial.data?.auditEvents.nodes.every((n) => n.targetGlobalId === null && n.target === null)).toBe(true);
  });

  it('shows a target only to a caller with its type’s scope', async () => {
    const token = await server.token(server.admin, 'audit:read');
    const result = await server.graphql(TARGETS, { filter: { targetId: roleId } }, token);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['roles:read'] });
    const ids = await server.graphql(
      graphql(`
        query AuditAuditTargetIds($filter: AuditEventFilter) {
          auditEvents(filter: $filter) {
            nodes {
              targetGlobalId
            }
          }
        }
      `),
      { filter: { targetId: roleId } },
      token,
    );
    expect(ids.errors).toBeUndefined();
    expect(ids.data?.auditEvents.nodes.every((n) => n.targetGlobalId === roleId)).toBe(true);
  });

  it('needs audit:read', async () => {
    const token = await server.token(server.admin, 'roles:read roles:write');
    const result = await server.graphql(TOTAL, {}, token);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['audit:read'] });
  });

  it('lists every action it records, by name, with its meaning; only with audit:read', async () => {
    const ACTIONS = graphql(`
      query AuditAuditActions {
        auditActions {
          name
          description
        }
      }
    `);
    const listed = payloadOf(await server.graphql(ACTIONS, {}, await server.token(server.admin, 'audit:read')));
    expect(Object.fromEntries(listed.map((action) => [action.name, action.description]))).toEqual(AUDIT_ACTIONS);
    expect(listed.map((action) => action.name)).toEqual(Object.keys(AUDIT_ACTIONS).sort((a, b) => a.localeCompare(b)));
    const refused = await server.graphql(ACTIONS, {}, await server.token(server.admin, 'roles:read users:read'));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['audit:read'] });
    expect(refused.data).toBeNull();
  });

  it('is immutable through the API: no mutation takes or changes audit events', async () => {
    const schema = buildSchema(await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const mutations = Object.values(schema.getMutationType()!.getFields());
    expect(mutations.filter((m) => /audit/i.test(m.name))).toEqual([]);
    for (const mutation of mutations) {
      const input = mutation.args.find((a) => a.name === 'input');
      expect(String(input?.type ?? '')).not.toMatch(/Audit/);
    }
  });
});
