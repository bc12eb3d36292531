import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let realmA: Credentials;
let realmB: Credentials;
let tokenA: string;
let tokenB: string;
let usersOfA: string[];
let usersOfB: string[];

const USER = graphql(`
  query GraphqlIsolationUser($id: ID!) {
    user(id: $id) {
      id
      email
    }
  }
`);
const NODE = graphql(`
  query GraphqlIsolationNode($id: ID!) {
    node(id: $id) {
      id
      ... on User {
        email
      }
    }
  }
`);
const NODES = graphql(`
  query GraphqlIsolationNodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
      ... on User {
        email
      }
    }
  }
`);
const NODE_ID = graphql(`
  query GraphqlIsolationNodeId($id: ID!) {
    node(id: $id) {
      id
    }
  }
`);
const USERS = graphql(`
  query GraphqlIsolationUsers {
    users(first: 100) {
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
const REALM = graphql(`
  query GraphqlIsolationRealm {
    realm {
      id
      name
    }
    viewer {
      realm {
        id
        name
      }
    }
  }
`);
const UPDATE_SETTINGS = graphql(`
  mutation GraphqlIsolationUpdateSettings {
    updateRealmSettings(input: { patch: { accessTokenTtlSeconds: 1200 } }) {
      realm {
        id
        settings {
          accessTokenTtlSeconds
        }
      }
      userErrors {
        code
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  realmA = server.admin;
  realmB = await server.createRealm('tenant-b');
  const create = async (realmId: string, email: string) =>
    encodeGlobalId(
      'User',
      (await server.db.prisma.user.create({ data: { realmId, email, name: email.split('@')[0]! } })).id,
    );
  usersOfA = [];
  for (const name of ['alice', 'arthur', 'anna']) usersOfA.push(await create(realmA.realmId, `${name}@a.example`));
  // The same email in both realms: uniqueness is per realm.
  usersOfB = [await create(realmB.realmId, 'bob@b.example'), await create(realmB.realmId, 'alice@a.example')];
  tokenA = await server.token(realmA);
  tokenB = await server.token(realmB);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const missingUserId = () => encodeGlobalId('User', randomUUID());

describe('realm isolation', () => {
  it("user(id) of another realm's user is null, exactly like a missing id", async () => {
    const foreign = await server.graphql(USER, { id: usersOfA[0]! }, tokenB);
    const missing = await server.graphql(USER, { id: missingUserId() }, tokenB);
    expect(foreign.status).toBe(200);
    expect(foreign.errors).toBeUndefined();
    expect(foreign.data).toEqual({ user: null });
    expect({ status: foreign.status, data: foreign.data, errors: foreign.errors }).toEqual({
      status: missing.status,
      data: missing.data,
      errors: missing.errors,
    });
    // Control: the owner sees it.
    const own = await server.graphql(USER, { id: usersOfA[0]! }, tokenA);
    expect(own.data?.user).toEqual({ id: usersOfA[0], email: 'alice@a.example' });
  });

  it('users lists and counts only the caller’s realm', async () => {
    const a = await server.graphql(USERS, {}, tokenA);
    const b = await server.graphql(USERS, {}, tokenB);
    expect(a.data?.users.totalCount).toBe(3);
    expect(b.data?.users.totalCount).toBe(2);
    expect(a.data?.users.edges.map((e) => e.node.id).sort()).toEqual([...usersOfA].sort());
    expect(b.data?.users.edges.map((e) => e.node.id).sort()).toEqual([...usersOfB].sort());
  });

  it("node(id) of another realm's user is null, exactly like a missing id", async () => {
    const foreign = await server.graphql(NODE, { id: usersOfA[1]! }, tokenB);
    const missing = await server.graphql(NODE, { id: missingUserId() }, tokenB);
    expect(foreign.errors).toBeUndefined();
    expect(foreign.data).toEqual({ node: null });
    expect([foreign.status, foreign.data, foreign.errors]).toEqual([missing.status, missing.data, missing.errors]);
    const own = await server.graphql(NODE, { id: usersOfA[1]! }, tokenA);
    expect(own.data?.node).toEqual({ id: usersOfA[1], email: 'arthur@a.example' });
  });

  it("nodes(ids) gives null for each of another realm's objects, like missing ids", async () => {
    const mixed = await server.graphql(NODES, { ids: [usersOfB[0]!, usersOfA[2]!, missingUserId()] }, tokenB);
    expect(mixed.errors).toBeUndefined();
    expect(mixed.data?.nodes).toEqual([{ id: usersOfB[0], email: 'bob@b.example' }, null, null]);
  });

  it("node(id) of another realm's Realm and Application is null", async () => {
    const realmOfA = encodeGlobalId('Realm', realmA.realmId);
    const appOfA = encodeGlobalId(
      'Application',
      (await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: realmA.clientId } })).id,
    );
    for (const id of [realmOfA, appOfA]) {
      const foreign = await server.graphql(NODE_ID, { id }, tokenB);
      expect(foreign.errors, id).toBeUndefined();
      expect(foreign.data, id).toEqual({ node: null });
    }
    const ownRealm = await server.graphql(NODE_ID, { id: encodeGlobalId('Realm', realmB.realmId) }, tokenB);
    expect(ownRealm.data?.node).toEqual({ id: encodeGlobalId('Realm', realmB.realmId) });
  });

  it('realm returns only the caller’s realm', async () => {
    const a = await server.graphql(REALM, {}, tokenA);
    const b = await server.graphql(REALM, {}, tokenB);
    expect(a.data?.realm).toEqual({ id: encodeGlobalId('Realm', realmA.realmId), name: 'default' });
    expect(b.data?.realm).toEqual({ id: encodeGlobalId('Realm', realmB.realmId), name: 'tenant-b' });
    expect(a.data?.viewer.realm).toEqual(a.data?.realm);
    expect(b.data?.viewer.realm).toEqual(b.data?.realm);
  });

  it("a realm B mutation leaves realm A's settings alone", async () => {
    const before = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realmA.realmId } });
    const result = await server.graphql(UPDATE_SETTINGS, {}, tokenB);
    expect(result.data?.updateRealmSettings.realm!.id).toBe(encodeGlobalId('Realm', realmB.realmId));
    const after = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realmA.realmId } });
    expect(after).toEqual(before);
    expect(
      (await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realmB.realmId } })).accessTokenTtlSeconds,
    ).toBe(1200);
    const auditsOfA = await server.db.prisma.auditEvent.count({
      where: { realmId: realmA.realmId, action: 'realm.settings_updated' },
    });
    expect(auditsOfA).toBe(0);
  });
});
