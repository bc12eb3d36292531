import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import { expectUnchanged } from '../helpers/state.ts';
import { startTestServer, type GraphQLResult, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let userId: string;

const USERS = graphql(`
  query AuthScopesUsers {
    users(first: 5) {
      totalCount
      edges {
        node {
          id
          email
        }
      }
    }
  }
`);
const UPDATE_SETTINGS = graphql(`
  mutation AuthScopesUpdateSettings($ttl: Int!) {
    updateRealmSettings(input: { patch: { accessTokenTtlSeconds: $ttl } }) {
      realm {
        settings {
          accessTokenTtlSeconds
        }
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const UPDATE_SETTINGS_ERRORS_ONLY = graphql(`
  mutation AuthScopesUpdateSettingsErrorsOnly($ttl: Int!) {
    updateRealmSettings(input: { patch: { accessTokenTtlSeconds: $ttl } }) {
      userErrors {
        code
      }
    }
  }
`);
const VIEWER_CLIENT = graphql(`
  query AuthScopesViewerClient {
    viewer {
      clientId
    }
  }
`);
const VIEWER = graphql(`
  query AuthScopesViewer {
    viewer {
      clientId
      scopes
    }
  }
`);
const USER_ID = graphql(`
  query AuthScopesUserId($id: ID!) {
    user(id: $id) {
      id
    }
  }
`);
const USER_EMAIL = graphql(`
  query AuthScopesUserEmail($id: ID!) {
    user(id: $id) {
      email
    }
  }
`);
const NODE_ID = graphql(`
  query AuthScopesNodeId($id: ID!) {
    node(id: $id) {
      id
    }
  }
`);
const NODE_USER_EMAIL = graphql(`
  query AuthScopesNodeUserEmail($id: ID!) {
    node(id: $id) {
      id
      ... on User {
        email
      }
    }
  }
`);
const NODES_USER_EMAIL = graphql(`
  query AuthScopesNodesUserEmail($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
      ... on User {
        email
      }
    }
  }
`);
const REALM_ID = graphql(`
  query AuthScopesRealmId {
    realm {
      id
    }
  }
`);
const REALM_SETTINGS = graphql(`
  query AuthScopesRealmSettings {
    realm {
      settings {
        accessTokenTtlSeconds
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  const user = await server.db.prisma.user.create({
    data: { realmId: server.admin.realmId, email: 'ada@example.com', name: 'Ada Lovelace' },
  });
  userId = encodeGlobalId('User', user.id);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

async function realmState() {
  const realm = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } });
  const audits = await server.db.prisma.auditEvent.count({
    where: { realmId: server.admin.realmId, action: 'realm.settings_updated' },
  });
  return { ttl: realm.accessTokenTtlSeconds, updatedAt: realm.updatedAt.toISOString(), audits };
}

describe('no token', () => {
  it('users: UNAUTHENTICATED with HTTP 401, a Bearer challenge and no data (like an invalid token)', async () => {
    const result = await server.graphql(USERS, {}, null);
    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toBe('Bearer');
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.errors?.[0]?.path).toEqual(['users']);
    expect(result.data?.users ?? null).toBeNull();
  });

  it('viewer, user, node, realm: UNAUTHENTICATED', async () => {
    const requests: Record<string, () => Promise<GraphQLResult<unknown>>> = {
      viewer: () => server.graphql(VIEWER_CLIENT, {}, null),
      user: () => server.graphql(USER_ID, { id: userId }, null),
      node: () => server.graphql(NODE_ID, { id: userId }, null),
      realm: () => server.graphql(REALM_ID, {}, null),
    };
    for (const [field, request] of Object.entries(requests)) {
      const result = await request();
      expect(result.status, field).toBe(401);
      expect(result.errors?.[0]?.extensions?.code, field).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(result.data ?? null), field).not.toContain('ada@example.com');
    }
  });

  it('updateRealmSettings: UNAUTHENTICATED and nothing changes', async () => {
    const before = await realmState();
    const result = await expectUnchanged(server, () => server.graphql(UPDATE_SETTINGS, { ttl: 900 }, null));
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.data ?? null).toBeNull();
    expect(await realmState()).toEqual(before);
  });
});

describe('scopes', () => {
  it('a realm:read-only token gets FORBIDDEN on users, naming the missing scope', async () => {
    const token = await server.token(undefined, 'realm:read');
    const result = await server.graphql(USERS, {}, token);
    expect(result.status).toBe(200);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.extensions?.missingScopes).toEqual(['users:read']);
    expect(result.errors?.[0]?.path).toEqual(['users']);
    expect(result.data?.users ?? null).toBeNull();

    const user = await server.graphql(USER_EMAIL, { id: userId }, token);
    expect(user.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(user.errors?.[0]?.extensions?.missingScopes).toEqual(['users:read']);
    expect(user.data?.user ?? null).toBeNull();
  });

  it('the right scope works', async () => {
    const token = await server.token(undefined, 'users:read');
    const result = await server.graphql(USERS, {}, token);
    expect(result.errors).toBeUndefined();
    expect(result.data?.users.totalCount).toBe(1);
    expect(result.data?.users.edges[0]!.node).toEqual({ id: userId, email: 'ada@example.com' });
    const user = await server.graphql(USER_EMAIL, { id: userId }, token);
    expect(user.data?.user).toEqual({ email: 'ada@example.com' });
  });

  it('updateRealmSettings with a realm:read-only token: FORBIDDEN and the settings unchanged', async () => {
    const token = await server.token(undefined, 'realm:read');
    const before = await realmState();
    const result = await expectUnchanged(server, () => server.graphql(UPDATE_SETTINGS, { ttl: 900 }, token));
    expect(result.status).toBe(200);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.extensions?.missingScopes).toEqual(['realm:write']);
    expect(result.data ?? null).toBeNull();
    expect(await realmState()).toEqual(before);

    const read = await server.graphql(REALM_SETTINGS, {}, token);
    expect(read.data?.realm.settings.accessTokenTtlSeconds).toBe(before.ttl);
  });

  it('realm:write alone is enough to change settings (control)', async () => {
    const token = await server.token(undefined, 'realm:write');
    const before = await realmState();
    const result = await server.graphql(UPDATE_SETTINGS_ERRORS_ONLY, { ttl: before.ttl + 60 }, token);
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateRealmSettings.userErrors).toEqual([]);
    expect((await realmState()).ttl).toBe(before.ttl + 60);
  });

  it('viewer works with any token, whatever its scopes', async () => {
    for (const scope of ['realm:read', 'users:read', 'audit:read', undefined]) {
      const token = await server.token(undefined, scope);
      const result = await server.graphql(VIEWER, {}, token);
      expect(result.errors, String(scope)).toBeUndefined();
      expect(result.data?.viewer.clientId).toBe(server.admin.clientId);
      if (scope) expect(result.data?.viewer.scopes).toEqual([scope]);
    }
  });

  it('node(id) of a User with a token lacking users:read: FORBIDDEN on the node', async () => {
    const token = await server.token(undefined, 'realm:read');
    const result = await server.graphql(NODE_USER_EMAIL, { id: userId }, token);
    expect(result.status).toBe(200);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.extensions?.missingScopes).toEqual(['users:read']);
    expect(result.errors?.[0]?.path?.[0]).toBe('node');
    expect(result.data?.node ?? null).toBeNull();
    expect(JSON.stringify(result)).not.toContain('ada@example.com');

    const nodes = await server.graphql(NODES_USER_EMAIL, { ids: [userId] }, token);
    expect(nodes.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(nodes)).not.toContain('ada@example.com');

    const allowed = await server.graphql(NODE_USER_EMAIL, { id: userId }, await server.token(undefined, 'users:read'));
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data?.node).toEqual({ id: userId, email: 'ada@example.com' });
  });
});
