/**
 * The system realm (`roster bootstrap --system`): its callers list, create and delete realms
 * through GraphQL, and see nothing inside them; no other realm's caller can do any of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../src/identity/bootstrap.ts';
import { graphql } from '../helpers/documents.ts';
import { makeUser, requestToken } from '../helpers/fixtures.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
let system: Credentials;
let systemToken: string;

const REALMS = graphql(`
  query SystemRealms {
    realms {
      id
      name
      displayName
      system
      userCount
      createdAt
    }
  }
`);
const CREATE = graphql(`
  mutation SystemCreateRealm($input: CreateRealmInput!) {
    createRealm(input: $input) {
      realm {
        name
        displayName
        system
        userCount
      }
      adminClient {
        clientId
        clientSecret
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);
const DELETE = graphql(`
  mutation SystemDeleteRealm($input: DeleteRealmInput!) {
    deleteRealm(input: $input) {
      deletedRealm {
        name
        userCount
      }
      userErrors {
        field
        code
      }
    }
  }
`);
const USERS = graphql(`
  query SystemUsers {
    users(first: 100) {
      nodes {
        email
      }
    }
  }
`);
const AUDIT = graphql(`
  query SystemAudit($filter: AuditEventFilter) {
    auditEvents(filter: $filter) {
      nodes {
        action
        actorId
        targetGlobalId
        changes
      }
    }
  }
`);

beforeAll(async () => {
  server = await startTestServer();
  const created = await createAdminClient(server.db.prisma, { system: true });
  system = {
    realmId: created.realmId,
    realmName: created.realmName,
    clientId: created.clientId,
    clientSecret: created.clientSecret!,
  };
  systemToken = await server.token(system);
  await makeUser(server, server.admin.realmId, { email: 'inside-default@example.com', status: 'ACTIVE' });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe('the system realm', () => {
  it('is made once, named system by default, and its admin client holds the realms scopes', async () => {
    expect(system.realmName).toBe('system');
    const token = await requestToken(server, system, 'realms:read realms:write users:read');
    expect(token.status).toBe(200);
    expect(String(token.body.scope).split(' ').sort()).toEqual(['realms:read', 'realms:write', 'users:read']);
    await expect(createAdminClient(server.db.prisma, { realmName: 'other-system', system: true })).rejects.toThrow(
      /The system realm is "system"/,
    );
    await expect(createAdminClient(server.db.prisma, { realmName: 'default', system: true })).rejects.toThrow(
      /The system realm is "system"/,
    );
    const again = await createAdminClient(server.db.prisma, { system: true });
    expect(again).toMatchObject({ realmId: system.realmId, created: true });
    expect(await server.db.prisma.realm.count({ where: { system: true } })).toBe(1);
  });

  it('lists every realm with its number of users, and nothing inside them', async () => {
    const result = await server.graphql(REALMS, {}, systemToken);
    expect(result.errors).toBeUndefined();
    const byName = new Map(result.data!.realms.map((realm) => [realm.name, realm]));
    expect(byName.get('default')).toMatchObject({ system: false, userCount: 1 });
    expect(byName.get('system')).toMatchObject({ system: true, userCount: 0 });
    // A system token reads its own realm only: the users of default stay out of reach.
    const users = await server.graphql(USERS, {}, systemToken);
    expect(users.data?.users.nodes).toEqual([]);
  });

  it('creates a realm whose admin client works at once, audited in both realms', async () => {
    const result = await server.graphql(CREATE, { input: { name: 'acme', displayName: 'Acme Corp' } }, systemToken);
    expect(result.data?.createRealm).toMatchObject({
      realm: { name: 'acme', displayName: 'Acme Corp', system: false, userCount: 0 },
      userErrors: [],
    });
    const client = result.data!.createRealm.adminClient!;
    const acme = { realmId: '', realmName: 'acme', clientId: client.clientId, clientSecret: client.clientSecret };
    const token = await requestToken(server, acme);
    expect(token.status).toBe(200);
    expect(String(token.body.scope).split(' ')).toContain('users:write');
    expect(String(token.body.scope).split(' ')).not.toContain('realms:read');
    const own = await server.graphql(AUDIT, { filter: { actions: ['realm.created'] } }, systemToken);
    expect(own.data?.auditEvents.nodes).toContainEqual(
      expect.objectContaining({
        action: 'realm.created',
        actorId: system.clientId,
        changes: expect.objectContaining({ name: 'acme', adminClientId: client.clientId }),
      }),
    );
    const theirs = await server.graphql(
      AUDIT,
      { filter: { actions: ['realm.created'] } },
      String(token.body.access_token),
    );
    expect(theirs.data?.auditEvents.nodes).toEqual([expect.objectContaining({ actorId: system.clientId })]);
  });

  it('refuses bad and taken names, changing nothing', async () => {
    await expectUnchanged(server, async () => {
      for (const name of ['Not A Label', '-dash', 'x'.repeat(64), 'acme', '01890a5d-ac96-774b-bcce-b302099a8057']) {
        const result = await server.graphql(CREATE, { input: { name } }, systemToken);
        expect(result.errors, name).toBeUndefined();
        expect(result.data?.createRealm.realm, name).toBeNull();
        expect(result.data?.createRealm.adminClient, name).toBeNull();
        expect(result.data?.createRealm.userErrors[0]?.field, name).toEqual(['input', 'name']);
      }
      const huge = await server.graphql(
        CREATE,
        { input: { name: 'big', displayName: 'x'.repeat(100_000) } },
        systemToken,
      );
      expect(huge.errors).toBeUndefined();
      expect(huge.data?.createRealm).toMatchObject({
        realm: null,
        adminClient: null,
        userErrors: [{ field: ['input', 'displayName'], code: 'TOO_LONG' }],
      });
    });
  });

  it('creates one realm from two concurrent requests for one name', async () => {
    const results = await Promise.all(
      [1, 2].map(() => server.graphql(CREATE, { input: { name: 'twice' } }, systemToken)),
    );
    const payloads = results.map((result) => result.data!.createRealm);
    expect(payloads.filter((payload) => payload.realm).length).toBe(1);
    expect(payloads.flatMap((payload) => payload.userErrors.map((error) => error.code))).toEqual(['TAKEN']);
    expect(await server.db.prisma.realm.count({ where: { name: 'twice' } })).toBe(1);
  });

  it('deletes a realm with everything in it, but never the system realm', async () => {
    const kept = await server.graphql(DELETE, { input: { name: 'system' } }, systemToken);
    expect(kept.data?.deleteRealm).toEqual({
      deletedRealm: null,
      userErrors: [{ field: ['input', 'name'], code: 'INVALID_STATE' }],
    });
    const missing = await server.graphql(DELETE, { input: { name: 'no-such-realm' } }, systemToken);
    expect(missing.data?.deleteRealm.userErrors[0]?.code).toBe('NOT_FOUND');

    const acme = await server.db.prisma.realm.findUniqueOrThrow({ where: { name: 'acme' } });
    await makeUser(server, acme.id, { email: 'ann@acme.example', status: 'ACTIVE' });
    const deleted = await server.graphql(DELETE, { input: { name: 'acme' } }, systemToken);
    expect(deleted.data?.deleteRealm).toEqual({ deletedRealm: { name: 'acme', userCount: 1 }, userErrors: [] });
    expect(await server.db.prisma.user.count({ where: { realmId: acme.id } })).toBe(0);
    const audit = await server.graphql(AUDIT, { filter: { actions: ['realm.deleted'] } }, systemToken);
    expect(audit.data?.auditEvents.nodes).toEqual([
      expect.objectContaining({ actorId: system.clientId, changes: { name: 'acme', users: 1 } }),
    ]);
  });
});

describe('any other realm', () => {
  it('cannot get the realms scopes, nor list, create or delete realms with all it has', async () => {
    const response = await fetch(`${server.url}/oauth2/default/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${server.admin.clientId}:${server.admin.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=realms%3Aread',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_scope');

    const token = await server.token();
    await expectUnchanged(server, async () => {
      const list = await server.graphql(REALMS, {}, token);
      expect(list.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['realms:read'] });
      const create = await server.graphql(CREATE, { input: { name: 'sneaky' } }, token);
      expect(create.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['realms:write'] });
      const remove = await server.graphql(DELETE, { input: { name: 'system' } }, token);
      expect(remove.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', missingScopes: ['realms:write'] });
    });
  });
});
